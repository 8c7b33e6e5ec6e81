/* check_latinh.c -- plugins/latinh.c: lateral inhibition's argmin code and its
 * envelope gradient, and the host's handling of SAE_TYPE_ARGMIN.
 *
 * core:   forward's code is sae_sparse_code's on the same problem and its
 *         cost the mean energy; the type's own-energy check (z* held fixed)
 *         passes with S fixed and learned, signed and non-negative, and
 *         catches a wrong gradient (grad S doubled by hand); the model check
 *         (inference re-run at every point: the envelope theorem itself)
 *         passes at 5000 iterations and its error at the default 200 is
 *         printed; project() keeps atoms unit and a learned S symmetric,
 *         non-negative, zero-diagonal, rows summing to s_row; a latinh model
 *         alone counts as having a cost.
 * errors: S negative, asymmetric, with a diagonal; a step above 1/L (the
 *         message names L); dy != 0 in backward; a loss or penalty downstream
 *         of the code, directly or through a decoder, refused at build.
 * Environment: SAE_TEST_PLUGIN_DIR (make check sets it). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_rng.h>
#include <saelab/sparse.h>
#include "gradcheck.h"
#include "model.h"
#include "registry.h"
#include "test_plugins.h"

static sae_registry *reg;

static gsl_rng *seeded(unsigned long s) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, s);
  return r;
}

static gsl_matrix *uniform(gsl_rng *r, size_t rows, size_t cols) {
  gsl_matrix *a = gsl_matrix_alloc(rows, cols);
  for (size_t i = 0; i < rows * cols; i++) a->data[i] = 0.1 + 0.8 * gsl_rng_uniform(r);
  return a;
}

/* A one-node latinh model on n_in inputs with n_hp overrides, built. */
static sae_model *one_node(size_t n_in, size_t n_hp, const char *const *hn, const double *hv,
                           gsl_rng *rng) {
  sae_error e = {0, ""};
  sae_model *m = sae_model_alloc(n_in);
  ck_assert_int_eq(sae_model_add(m, test_type("latinh"), "code", NULL, NULL, NULL, n_hp, hn, hv, &e), 0);
  ck_assert_msg(sae_model_build(m, rng, &e) == 0, "%s", e.msg);
  return m;
}

static gsl_matrix *tensor(sae_model *m, const char *name) {
  gsl_matrix *v;
  sae_error e = {0, ""};
  ck_assert_msg(sae_model_tensor(m, 0, name, &v, &e) == 0, "%s", e.msg);
  return v;
}

/* An S with a few positive symmetric entries. */
static void some_inhibition(gsl_matrix *S) {
  gsl_matrix_set_zero(S);
  for (size_t i = 0; i + 2 < S->size1; i += 2) {
    gsl_matrix_set(S, i, i + 1, 0.3);
    gsl_matrix_set(S, i + 1, i, 0.3);
    gsl_matrix_set(S, i, i + 2, 0.1);
    gsl_matrix_set(S, i + 2, i, 0.1);
  }
}

START_TEST(test_forward_is_the_shared_inference) {
  gsl_rng *rng = seeded(7);
  const char *hn[] = {"lambda", "iters"};
  const double hv[] = {0.05, 300};
  sae_model *m = one_node(6, 2, hn, hv, rng);
  gsl_matrix *S = tensor(m, "S"), *D = tensor(m, "D");
  some_inhibition(S);
  gsl_matrix *X = uniform(rng, 5, 6), *Z = gsl_matrix_alloc(5, 8);
  sae_batch b = {5, X, X, NULL, SAE_MODE_TRAIN, NULL, NULL};
  sae_error e = {0, ""};
  double cost = 0;
  ck_assert_msg(sae_model_forward(m, &b, &cost, &e) == 0, "%s", e.msg);
  const gsl_matrix *y = sae_model_output(m, 0);
  sae_sc_problem p = {D, S, 0.05, 1};
  sae_sc_opts o = {300, 1e-6, 1, 0, 0};
  double *ws = malloc(sae_sc_ws_size(5, 8) * sizeof *ws);
  ck_assert_int_eq(sae_sparse_code(&p, X, Z, &o, ws, NULL, NULL, NULL), 0);
  size_t nnz = 0;
  for (size_t i = 0; i < 5; i++)
    for (size_t j = 0; j < 8; j++) {
      ck_assert_double_eq_tol(gsl_matrix_get(y, i, j), gsl_matrix_get(Z, i, j), 1e-15);
      nnz += gsl_matrix_get(Z, i, j) != 0;
    }
  ck_assert_uint_gt(nnz, 0); /* the case is not trivial */
  double *scratch = malloc(5 * 6 * sizeof *scratch);
  ck_assert_double_eq_tol(cost, sae_sc_energy(&p, X, Z, scratch) / 5, 1e-12);
  free(scratch);
  free(ws);
  gsl_matrix_free(Z);
  gsl_matrix_free(X);
  sae_model_free(m);
  gsl_rng_free(rng);
}
END_TEST

/* The type check (own energy at z* fixed) at several settings. */
START_TEST(test_type_gradcheck_own_energy) {
  const char *hn[] = {"learn_S", "nonneg", "lambda"};
  const double settings[][3] = {{0, 1, 0.1}, {1, 1, 0.1}, {1, 0, 0.1}, {1, 1, 1e-7}};
  for (size_t k = 0; k < sizeof settings / sizeof *settings; k++) {
    gsl_rng *rng = seeded(11 + k);
    sae_gradcheck_result r;
    sae_error e = {0, ""};
    ck_assert_msg(sae_gradcheck_type(test_type("latinh"), 3, hn, settings[k], rng, &r, &e) == 0,
                  "%s", e.msg);
    ck_assert_msg(r.passed, "setting %zu: %s (rel %g)", k, r.message, r.rel_error);
    ck_assert(isnan(r.output_rel_error)); /* no output part through an argmin */
    ck_assert_uint_eq(r.n_checked, 8 * 6 + (settings[k][0] ? 64 : 0) + 5 * 6);
    gsl_rng_free(rng);
  }
}
END_TEST

/* The model check re-runs inference at every point: it measures whether the
 * envelope gradient is the gradient of min_z E.  Converged: it is. */
START_TEST(test_envelope_at_large_iters) {
  const size_t counts[] = {5000, 200};
  for (size_t c = 0; c < 2; c++) {
    gsl_rng *rng = seeded(3);
    const char *hn[] = {"lambda", "iters", "tol", "learn_S", "s_row"};
    const double hv[] = {0.05, (double)counts[c], 0, 1, 0.3};
    sae_model *m = one_node(6, 5, hn, hv, rng);
    gsl_matrix *X = uniform(rng, 5, 6);
    sae_batch b = {5, X, X, NULL, SAE_MODE_TRAIN, NULL, NULL};
    sae_error e = {0, ""};
    sae_gradcheck_result r;
    ck_assert_msg(sae_gradcheck_model_tol(m, &b, 1e-6, &r, &e) == 0, "%s", e.msg);
    printf("latinh envelope gradient vs min_z E at %zu iterations: relative error %.3g (%s)\n",
           counts[c], r.rel_error, r.message);
    if (c == 0) ck_assert_msg(r.passed, "%s", r.message);
    gsl_matrix_free(X);
    sae_model_free(m);
    gsl_rng_free(rng);
  }
}
END_TEST

/* grad S = (1/m) |Z|^T |Z|, by hand for one entry. */
START_TEST(test_grad_S_by_hand) {
  gsl_rng *rng = seeded(5);
  const char *hn[] = {"learn_S"};
  const double hv[] = {1};
  sae_model *m = one_node(6, 1, hn, hv, rng);
  gsl_matrix *X = uniform(rng, 5, 6);
  sae_batch b = {5, X, X, NULL, SAE_MODE_TRAIN, NULL, NULL};
  sae_error e = {0, ""};
  double cost;
  ck_assert_int_eq(sae_model_eval(m, &b, &cost, &e), 0);
  const gsl_matrix *Z = sae_model_output(m, 0);
  /* numeric dE/dS_01 at Z fixed vs the gradient block */
  const sae_node *nd = sae_model_node(m, 0);
  double g = gsl_matrix_get(&nd->grad[1], 0, 1);
  ck_assert_double_eq_tol(g, gsl_matrix_get(Z, 0, 0) * gsl_matrix_get(Z, 0, 1) / 5 +
                                 gsl_matrix_get(Z, 1, 0) * gsl_matrix_get(Z, 1, 1) / 5 +
                                 gsl_matrix_get(Z, 2, 0) * gsl_matrix_get(Z, 2, 1) / 5 +
                                 gsl_matrix_get(Z, 3, 0) * gsl_matrix_get(Z, 3, 1) / 5 +
                                 gsl_matrix_get(Z, 4, 0) * gsl_matrix_get(Z, 4, 1) / 5,
                          1e-14);
  gsl_matrix_free(X);
  sae_model_free(m);
  gsl_rng_free(rng);
}
END_TEST

START_TEST(test_project_constraints) {
  gsl_rng *rng = seeded(9);
  const char *hn[] = {"learn_S", "s_row", "n_hid"};
  const double hv[] = {1, 0.7, 10};
  sae_model *m = one_node(6, 3, hn, hv, rng);
  gsl_matrix *S = tensor(m, "S"), *D = tensor(m, "D");
  for (size_t i = 0; i < 10; i++) /* an arbitrary, invalid S and scaled atoms */
    for (size_t j = 0; j < 10; j++) gsl_matrix_set(S, i, j, gsl_rng_uniform(rng) - 0.2);
  gsl_matrix_scale(D, 3.0);
  sae_error e = {0, ""};
  ck_assert_msg(sae_model_project(m, &e) == 0, "%s", e.msg);
  for (size_t i = 0; i < 10; i++) {
    gsl_vector_view d = gsl_matrix_row(D, i);
    ck_assert_double_eq_tol(gsl_blas_dnrm2(&d.vector), 1.0, 1e-12);
    double sum = 0;
    ck_assert_double_eq(gsl_matrix_get(S, i, i), 0.0);
    for (size_t j = 0; j < 10; j++) {
      ck_assert(gsl_matrix_get(S, i, j) >= 0);
      ck_assert_double_eq_tol(gsl_matrix_get(S, i, j), gsl_matrix_get(S, j, i), 1e-15);
      sum += gsl_matrix_get(S, i, j);
    }
    ck_assert_double_eq_tol(sum, 0.7, 1e-8);
  }
  ck_assert(sae_model_has_cost(m)); /* the energy is the cost: it trains alone */
  sae_model_free(m);
  gsl_rng_free(rng);
}
END_TEST

/* forward's refusal, its one-line message containing want. */
static void forward_refuses(sae_model *m, int code, const char *want) {
  gsl_rng *rng = seeded(1);
  gsl_matrix *X = uniform(rng, 3, 6);
  sae_batch b = {3, X, X, NULL, SAE_MODE_TRAIN, NULL, NULL};
  sae_error e = {0, ""};
  double cost;
  ck_assert_int_eq(sae_model_forward(m, &b, &cost, &e), code);
  ASSERT_MSG_HAS(e, want);
  ck_assert(strchr(e.msg, '\n') == NULL);
  gsl_matrix_free(X);
  gsl_rng_free(rng);
}

START_TEST(test_bad_S) {
  gsl_rng *rng = seeded(2);
  sae_model *m = one_node(6, 0, NULL, NULL, rng);
  gsl_matrix *S = tensor(m, "S");
  gsl_matrix_set(S, 1, 2, -0.5);
  gsl_matrix_set(S, 2, 1, -0.5);
  forward_refuses(m, SAE_EDATA, "S[2,3] = -0.5: inhibition must be finite and >= 0");
  gsl_matrix_set(S, 1, 2, 0.5);
  gsl_matrix_set(S, 2, 1, 0.25);
  forward_refuses(m, SAE_EDATA, "S must be symmetric");
  gsl_matrix_set(S, 2, 1, 0.5);
  gsl_matrix_set(S, 3, 3, 1);
  forward_refuses(m, SAE_EDATA, "the diagonal must be 0");
  sae_model_free(m);
  gsl_rng_free(rng);
}
END_TEST

START_TEST(test_step_above_one_over_L) {
  gsl_rng *rng = seeded(4);
  const char *hn[] = {"step"};
  const double hv[] = {10};
  sae_model *m = one_node(6, 1, hn, hv, rng);
  forward_refuses(m, SAE_EHPARAM, "latinh: step eta = 10 is above 1/L");
  forward_refuses(m, SAE_EHPARAM, "(L = ");
  sae_model_free(m);
  gsl_rng_free(rng);
}
END_TEST

START_TEST(test_dy_refused) {
  gsl_rng *rng = seeded(6);
  sae_model *m = one_node(6, 0, NULL, NULL, rng);
  gsl_matrix *X = uniform(rng, 3, 6), *P = gsl_matrix_calloc(3, 8);
  gsl_matrix_set(P, 1, 2, 1.0);
  sae_batch b = {3, X, X, NULL, SAE_MODE_TRAIN, NULL, NULL};
  sae_error e = {0, ""};
  double cost;
  ck_assert_int_eq(sae_model_eval_probe(m, &b, P, NULL, &cost, &e), SAE_ETYPE);
  ASSERT_MSG_HAS(e, "its code is an argmin; nothing downstream may train through it");
  gsl_matrix_free(P);
  gsl_matrix_free(X);
  sae_model_free(m);
  gsl_rng_free(rng);
}
END_TEST

/* A loss or penalty anywhere downstream of the code is refused at build. */
START_TEST(test_loss_downstream_refused) {
  const char *chains[][3] = {{"squared_error", NULL, NULL},
                             {"dense", "squared_error", NULL},
                             {"l1", NULL, NULL},
                             {"dense", "sigmoid", "squared_error"}};
  for (size_t c = 0; c < sizeof chains / sizeof *chains; c++) {
    gsl_rng *rng = seeded(8);
    sae_error e = {0, ""};
    sae_model *m = sae_model_alloc(6);
    ck_assert_int_eq(sae_model_add(m, test_type("latinh"), "code", NULL, NULL, NULL, 0, NULL, NULL, &e), 0);
    const char *nh[] = {"n_out"};
    const double six[] = {6};
    for (size_t k = 0; k < 3 && chains[c][k]; k++) {
      int dense = strcmp(chains[c][k], "dense") == 0;
      ck_assert_int_eq(sae_model_add(m, test_type(chains[c][k]), NULL, NULL, NULL, NULL,
                                     dense, nh, six, &e), 0);
    }
    ck_assert_int_eq(sae_model_build(m, rng, &e), SAE_ETYPE);
    ASSERT_MSG_HAS(e, "is downstream of code (latinh), whose code is an argmin");
    sae_model_free(m);
    gsl_rng_free(rng);
  }
  /* a decoder without a loss is fine (reconstructions for monitoring) */
  gsl_rng *rng = seeded(8);
  sae_error e = {0, ""};
  sae_model *m = sae_model_alloc(6);
  const char *nh[] = {"n_out"};
  const double six[] = {6};
  ck_assert_int_eq(sae_model_add(m, test_type("latinh"), "code", NULL, NULL, NULL, 0, NULL, NULL, &e), 0);
  ck_assert_int_eq(sae_model_add(m, test_type("dense"), NULL, NULL, NULL, NULL, 1, nh, six, &e), 0);
  ck_assert_msg(sae_model_build(m, rng, &e) == 0, "%s", e.msg);
  sae_model_free(m);
  gsl_rng_free(rng);
}
END_TEST

int main(void) {
  sae_error_init();
  if (!(reg = test_plugins("latinh", 1))) return EXIT_FAILURE;
  Suite *s = suite_create("latinh");
  TCase *core = tcase_create("core"), *errors = tcase_create("errors");
  tcase_set_timeout(core, 120);
  tcase_add_test(core, test_forward_is_the_shared_inference);
  tcase_add_test(core, test_type_gradcheck_own_energy);
  tcase_add_test(core, test_envelope_at_large_iters);
  tcase_add_test(core, test_grad_S_by_hand);
  tcase_add_test(core, test_project_constraints);
  tcase_add_test(errors, test_bad_S);
  tcase_add_test(errors, test_step_above_one_over_L);
  tcase_add_test(errors, test_dy_refused);
  tcase_add_test(errors, test_loss_downstream_refused);
  suite_add_tcase(s, core);
  suite_add_tcase(s, errors);
  return test_run(s, reg);
}
