/* test_plugins.h -- what the plugin test suites share: the build's plugins
 * and running a suite.
 *
 *   sae_registry *reg = test_plugins("topk", 1);   NULL: said why on stderr
 *   ...build the suite...
 *   return test_run(s, reg);                        frees both
 *
 * Environment: SAE_TEST_PLUGIN_DIR, the built plugins (make check sets it). */
#ifndef SAE_TEST_PLUGINS_H
#define SAE_TEST_PLUGINS_H

#include <check.h>
#include <stddef.h>
#include "registry.h"

/* The plugins of SAE_TEST_PLUGIN_DIR, after printing any loader warnings;
 * NULL (with a line on stderr naming the suite) when the variable is unset
 * or fewer than min_types types load. */
sae_registry *test_plugins(const char *suite, size_t min_types);

/* Runs s, frees the runner and reg; EXIT_SUCCESS when no test failed. */
int test_run(Suite *s, sae_registry *reg);

#endif
