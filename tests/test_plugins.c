/* test_plugins.c -- the plugin test suites' shared start and end (see test_plugins.h). */
#include <stdio.h>
#include <stdlib.h>
#include "test_plugins.h"

static sae_registry *loaded; /* what test_plugins returned, for test_type */

sae_registry *test_plugins(const char *suite, size_t min_types) {
  const char *dir = getenv("SAE_TEST_PLUGIN_DIR");
  if (!dir) {
    fprintf(stderr, "check_%s: SAE_TEST_PLUGIN_DIR is not set\n", suite);
    return NULL;
  }
  sae_registry *reg = sae_registry_alloc();
  if (!reg) {
    fprintf(stderr, "check_%s: out of memory\n", suite);
    return NULL;
  }
  sae_registry_load_path(reg, dir);
  for (size_t i = 0; i < sae_registry_warnings(reg); i++)
    fprintf(stderr, "check_%s: warning: %s\n", suite, sae_registry_warning(reg, i));
  const size_t n = sae_registry_count(reg);
  if (n < min_types) {
    fprintf(stderr, "check_%s: only %zu types found in %s (want %zu)\n", suite, n, dir, min_types);
    sae_registry_free(reg);
    return NULL;
  }
  return loaded = reg;
}

const sae_type *test_type(const char *name) {
  const sae_type *t = loaded ? sae_registry_find(loaded, name) : NULL;
  ck_assert_msg(t != NULL, "type %s not registered", name);
  return t;
}

int test_run(Suite *s, sae_registry *reg) {
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  const int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  sae_registry_free(reg);
  if (reg == loaded) loaded = NULL;
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
