/* test_plugins.h -- what the plugin test suites share: the build's plugins
 * and running a suite.
 *
 *   sae_registry *reg = test_plugins("topk", 1);   NULL: said why on stderr
 *   ...build the suite; tests find types with test_type("ksparse")...
 *   return test_run(s, reg);                        frees both
 *
 * Environment: SAE_TEST_PLUGIN_DIR, the built plugins (make check sets it). */
#ifndef SAE_TEST_PLUGINS_H
#define SAE_TEST_PLUGINS_H

#include <check.h>
#include <stddef.h>
#include <string.h>
#include "registry.h"

/* The plugins of SAE_TEST_PLUGIN_DIR, after printing any loader warnings;
 * NULL (with a line on stderr naming the suite) when the variable is unset
 * or fewer than min_types types load. */
sae_registry *test_plugins(const char *suite, size_t min_types);

/* Type `name` of the registry test_plugins returned; fails the test when no
 * plugin provides it. */
const sae_type *test_type(const char *name);

/* The one-line message of an sae_error (or a plugin's node) holds s. */
#define ASSERT_MSG_HAS(e, s) \
  ck_assert_msg(strstr((e).msg, (s)) != NULL, "message '%s' lacks '%s'", (e).msg, (s))

/* Runs s, frees the runner and reg; EXIT_SUCCESS when no test failed. */
int test_run(Suite *s, sae_registry *reg);

#endif
