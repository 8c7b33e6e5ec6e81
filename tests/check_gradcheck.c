/* check_gradcheck.c -- the registry-wide gradient check: every type any
 * plugin on the test plugin path registers is checked against GSL's central
 * differences at its default hyper-parameters (one Check test per type, so
 * a new plugin is covered the moment it is built), a planted gradient bug
 * must fail, and whole models (tied, with weight decay) pass. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_rng.h>
#include "gradcheck.h"
#include "registry.h"
#include "test_plugins.h"

static sae_registry *reg; /* built once in main, read by every test */

static gsl_rng *seeded(unsigned long seed) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, seed);
  return r;
}

/* One test per registered type: _i indexes the registry. */
START_TEST(test_type_gradient) {
  const sae_plugin *p;
  const char *origin;
  const sae_type *t = sae_registry_type(reg, (size_t)_i, &p, &origin);
  gsl_rng *rng = seeded(2385 + (unsigned long)_i);
  sae_gradcheck_result r;
  sae_error e = {0, ""};
  int rc = sae_gradcheck_type(t, 0, NULL, NULL, rng, &r, &e);
  gsl_rng_free(rng);
  ck_assert_msg(rc == 0, "%s (%s): %s", t->name, origin, e.msg);
  ck_assert_msg(r.passed, "%s (%s): relative error %.3g >= %.0e over %zu entries", t->name,
                origin, r.rel_error, r.tol, r.n_checked);
  ck_assert_uint_gt(r.n_checked, 0);
}
END_TEST

/* The fixture plugin "buggy" has a sigmoid whose backward forgets (1 - y). */
START_TEST(test_planted_bug_fails) {
  sae_registry *fx = sae_registry_alloc();
  const char *dir = getenv("SAE_TEST_FIXTURE_DIR");
  ck_assert_ptr_nonnull(dir);
  char path[4096];
  snprintf(path, sizeof path, "%s/buggy.so", dir);
  sae_error e = {0, ""};
  ck_assert_msg(sae_registry_load_file(fx, path, &e) == 0, "%s", e.msg);
  const sae_type *t = sae_registry_find(fx, "buggy_sigmoid");
  ck_assert_ptr_nonnull(t);
  gsl_rng *rng = seeded(2385);
  sae_gradcheck_result r;
  ck_assert_int_eq(sae_gradcheck_type(t, 0, NULL, NULL, rng, &r, &e), 0);
  ck_assert_msg(!r.passed && r.rel_error > 1e-3, "planted bug not caught: %.3g", r.rel_error);
  gsl_rng_free(rng);
  sae_registry_free(fx);
}
END_TEST

/* A hyper-parameter override reaches the check, and a wrong one is refused. */
START_TEST(test_type_overrides) {
  const sae_type *t = sae_registry_find(reg, "dense");
  ck_assert_ptr_nonnull(t);
  const char *names[] = {"n_out"};
  double values[] = {9};
  gsl_rng *rng = seeded(7);
  sae_gradcheck_result r;
  sae_error e = {0, ""};
  ck_assert_int_eq(sae_gradcheck_type(t, 1, names, values, rng, &r, &e), 0);
  ck_assert(r.passed);
  ck_assert_uint_eq(r.n_checked, 6 * 9 + 9 + 5 * 6); /* W, b and the input */
  const char *bad[] = {"n_outt"};
  ck_assert_int_eq(sae_gradcheck_type(t, 1, bad, values, rng, &r, &e), SAE_EHPARAM);
  gsl_rng_free(rng);
}
END_TEST

/* Whole model: tied 6-4-6 sigmoid autoencoder with cross-entropy and weight decay. */
START_TEST(test_model_tied) {
  gsl_rng *rng = seeded(99);
  sae_error e = {0, ""};
  sae_model *m = sae_model_alloc(6);
  const char *n_out[] = {"n_out"}, *lambda[] = {"lambda"};
  double four[] = {4}, six[] = {6}, lam[] = {0.03};
  ck_assert_int_eq(sae_model_add(m, sae_registry_find(reg, "dense"), "enc", NULL, NULL, NULL, 1, n_out, four, &e), 0);
  ck_assert_int_eq(sae_model_add(m, sae_registry_find(reg, "sigmoid"), "code", NULL, NULL, NULL, 0, NULL, NULL, &e), 0);
  ck_assert_int_eq(sae_model_add(m, sae_registry_find(reg, "dense"), "dec", NULL, "enc", NULL, 1, n_out, six, &e), 0);
  ck_assert_int_eq(sae_model_add(m, sae_registry_find(reg, "sigmoid"), NULL, NULL, NULL, NULL, 0, NULL, NULL, &e), 0);
  ck_assert_int_eq(sae_model_add(m, sae_registry_find(reg, "cross_entropy"), NULL, NULL, NULL, NULL, 0, NULL, NULL, &e), 0);
  ck_assert_int_eq(sae_model_add(m, sae_registry_find(reg, "l2"), NULL, NULL, NULL, NULL, 1, lambda, lam, &e), 0);
  ck_assert_msg(sae_model_build(m, rng, &e) == 0, "%s", e.msg);
  gsl_matrix *x = gsl_matrix_alloc(7, 6);
  for (size_t i = 0; i < 7; i++)
    for (size_t j = 0; j < 6; j++) gsl_matrix_set(x, i, j, 0.1 + 0.8 * gsl_rng_uniform(rng));
  sae_batch b = {7, x, x, NULL, SAE_MODE_TRAIN};
  sae_gradcheck_result r;
  ck_assert_msg(sae_gradcheck_model(m, &b, &r, &e) == 0, "%s", e.msg);
  ck_assert_msg(r.passed, "tied model: relative error %.3g", r.rel_error);
  ck_assert_uint_eq(r.n_checked, 6 * 4 + 4 + 6);
  gsl_matrix_free(x);
  sae_model_free(m);
  gsl_rng_free(rng);
}
END_TEST

int main(void) {
  sae_error_init();
  /* the core plugins alone give 9 types */
  if (!(reg = test_plugins("gradcheck", 9))) return EXIT_FAILURE;
  const size_t n = sae_registry_count(reg);
  Suite *s = suite_create("gradcheck");
  TCase *core = tcase_create("core"), *errors = tcase_create("errors");
  tcase_set_timeout(core, 60);
  tcase_add_loop_test(core, test_type_gradient, 0, (int)n);
  tcase_add_test(core, test_type_overrides);
  tcase_add_test(core, test_model_tied);
  tcase_add_test(errors, test_planted_bug_fails);
  suite_add_tcase(s, core);
  suite_add_tcase(s, errors);
  return test_run(s, reg);
}
