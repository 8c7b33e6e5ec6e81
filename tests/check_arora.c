/* check_arora.c -- plugins/arora.c: threshold decoding and the Hebbian dictionary update.
 *
 * core:   forward, backward and update on a 2-example, 3-input, 2-atom case
 *         computed by hand below (bare rule and renormalised); init() and
 *         project() give unit atoms; W is NOGRAD; a dense decoder tied to W
 *         (its own W is n_in x n_hid, the atoms as columns) reconstructs z W.
 * limits: tau = 0 keeps everything, and a kept unit that is exactly 0 still
 *         passes dy (the mask comes from ws, not from z != 0); no active unit
 *         leaves W alone; eta = 0; renorm = 0 makes project() a no-op.
 * errors: tau < 0 (at creation and after build), bad n_hid, shapes the plugin
 *         sees, eta < 0 or not finite, W tied transposed, an atom of norm 0,
 *         a non-finite input.
 * Environment: SAE_TEST_PLUGIN_DIR (make check sets it). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_rng.h>
#include "model.h"
#include "registry.h"
#include "test_plugins.h"

#define TOL 1e-12

static sae_registry *reg;

static gsl_matrix *from_array(size_t r, size_t c, const double *a) {
  gsl_matrix *A = gsl_matrix_alloc(r, c);
  memcpy(A->data, a, r * c * sizeof *a);
  return A;
}

static void assert_matrix_eq(const gsl_matrix *A, const gsl_matrix *B, double tol, const char *what) {
  ck_assert_uint_eq(A->size1, B->size1);
  ck_assert_uint_eq(A->size2, B->size2);
  for (size_t i = 0; i < A->size1; i++)
    for (size_t j = 0; j < A->size2; j++)
      ck_assert_msg(fabs(gsl_matrix_get(A, i, j) - gsl_matrix_get(B, i, j)) <= tol,
                    "%s[%zu][%zu]: %.17g vs %.17g", what, i, j, gsl_matrix_get(A, i, j),
                    gsl_matrix_get(B, i, j));
}

/* A one-node arora model on n_in inputs with n_hp overrides, built. */
static sae_model *one_node(size_t n_in, size_t n_hp, const char *const *hn, const double *hv,
                           gsl_rng *rng) {
  sae_error e = {0, ""};
  sae_model *m = sae_model_alloc(n_in);
  ck_assert_int_eq(sae_model_add(m, test_type("arora"), "code", NULL, NULL, NULL, n_hp, hn, hv, &e), 0);
  ck_assert_msg(sae_model_build(m, rng, &e) == 0, "%s", e.msg);
  return m;
}

static gsl_matrix *W_of(sae_model *m, size_t node) {
  gsl_matrix *W;
  sae_error e = {0, ""};
  ck_assert_msg(sae_model_tensor(m, node, "W", &W, &e) == 0, "%s", e.msg);
  return W;
}

/* ---- the hand-computed case ----------------------------------------------------
 *
 * n_in = 3, n_hid = 2, m = 2, tau = 0.5.  Atoms (rows of W = A^T), unit norm:
 *   W_1 = (0.6, 0.8, 0)        W_2 = (0, 0.6, -0.8)
 * Data (rows):
 *   x_1 = (1.5, 2.0, 0.5)      x_2 = (-0.5, 0.3, 1.2)
 * Correlations V = x W^T:
 *   V_11 = 0.9 + 1.6       =  2.5     V_12 = 1.2 - 0.4    =  0.8
 *   V_21 = -0.3 + 0.24     = -0.06    V_22 = 0.18 - 0.96  = -0.78
 * Threshold at 0.5 (|V| >= tau kept): z = [[2.5, 0.8], [0, -0.78]].
 * Residuals R_i = x_i - z_i W:
 *   R_1 = (1.5, 2.0, 0.5) - 2.5 (0.6, 0.8, 0) - 0.8 (0, 0.6, -0.8)
 *       = (1.5, 2.0, 0.5) - (1.5, 2.0, 0) - (0, 0.48, -0.64)   = (0, -0.48, 1.14)
 *   R_2 = (-0.5, 0.3, 1.2) + 0.78 (0, 0.6, -0.8)
 *       = (-0.5, 0.3 + 0.468, 1.2 - 0.624)                     = (-0.5, 0.768, 0.576)
 * Update with eta = 0.4, so eta/m = 0.2:
 *   W_1 += 0.2 (sgn(2.5) R_1)                 = (0, -0.096, 0.228)
 *        -> (0.6, 0.704, 0.228)
 *   W_2 += 0.2 (sgn(0.8) R_1 + sgn(-0.78) R_2) = 0.2 (0.5, -1.248, 0.564) = (0.1, -0.2496, 0.1128)
 *        -> (0.1, 0.3504, -0.6872)
 * Renormalised: ||W_1||^2 = 0.36 + 0.495616 + 0.051984 = 0.9076,
 *               ||W_2||^2 = 0.01 + 0.12278016 + 0.47224384 = 0.605024.
 * Backward with dy = P = [[1.5, -2.0], [0.7, 3.0]] (unit 1 of example 2 is off):
 *   dx_1 = 1.5 W_1 - 2.0 W_2 = (0.9, 1.2, 0) - (0, 1.2, -1.6) = (0.9, 0, 1.6)
 *   dx_2 = 3.0 W_2                                             = (0, 1.8, -2.4)
 *   J    = sum P .* z = 3.75 - 1.6 - 2.34                      = -0.19 */
static const double HW[] = {0.6, 0.8, 0.0, 0.0, 0.6, -0.8};
static const double HX[] = {1.5, 2.0, 0.5, -0.5, 0.3, 1.2};
static const double HZ[] = {2.5, 0.8, 0.0, -0.78};
static const double HP[] = {1.5, -2.0, 0.7, 3.0};
static const double HDX[] = {0.9, 0.0, 1.6, 0.0, 1.8, -2.4};
static const double HW_BARE[] = {0.6, 0.704, 0.228, 0.1, 0.3504, -0.6872};

static sae_model *hand_model(double renorm, gsl_rng *rng) {
  const char *hn[] = {"n_hid", "tau", "renorm"};
  double hv[] = {2, 0.5, renorm};
  sae_model *m = one_node(3, 3, hn, hv, rng);
  gsl_matrix *W = W_of(m, 0);
  memcpy(W->data, HW, sizeof HW); /* W is 2 x 3 and contiguous */
  return m;
}

START_TEST(test_forward_backward_by_hand) {
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  sae_model *m = hand_model(1, rng);
  gsl_matrix *x = from_array(2, 3, HX), *P = from_array(2, 2, HP);
  gsl_matrix *wz = from_array(2, 2, HZ), *wdx = from_array(2, 3, HDX);
  gsl_matrix *dx = gsl_matrix_alloc(2, 3);
  sae_batch b = {2, x, NULL, NULL, SAE_MODE_TRAIN, NULL, NULL};
  sae_error e = {0, ""};
  double cost;
  ck_assert_msg(sae_model_eval_probe(m, &b, P, dx, &cost, &e) == 0, "%s", e.msg);
  assert_matrix_eq(sae_model_output(m, 0), wz, TOL, "z");
  assert_matrix_eq(dx, wdx, TOL, "dx");
  ck_assert_double_eq_tol(cost, -0.19, TOL);
  /* W is NOGRAD: backward leaves its gradient alone, and no optimiser moves it. */
  const signed char *dir = sae_model_direction(m);
  for (size_t i = 0; i < 6; i++) {
    ck_assert_int_eq(dir[i], 0);
    ck_assert(gsl_vector_get(sae_model_grad(m), i) == 0.0);
  }
  gsl_matrix *mats[] = {x, P, wz, wdx, dx};
  for (size_t i = 0; i < 5; i++) gsl_matrix_free(mats[i]);
  sae_model_free(m);
  gsl_rng_free(rng);
}
END_TEST

/* Forward, then the update with eta = 0.4; returns the model. */
static sae_model *hand_update(double renorm, gsl_rng *rng) {
  sae_model *m = hand_model(renorm, rng);
  gsl_matrix *x = from_array(2, 3, HX);
  sae_batch b = {2, x, NULL, NULL, SAE_MODE_TRAIN, NULL, NULL};
  sae_error e = {0, ""};
  double cost;
  int n_updated = -1;
  ck_assert_msg(sae_model_forward(m, &b, &cost, &e) == 0, "%s", e.msg);
  ck_assert_msg(sae_model_update(m, &b, 0.4, &n_updated, &e) == 0, "%s", e.msg);
  ck_assert_int_eq(n_updated, 1);
  gsl_matrix_free(x);
  return m;
}

START_TEST(test_update_bare_by_hand) {
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  sae_model *m = hand_update(0, rng);
  gsl_matrix *want = from_array(2, 3, HW_BARE);
  assert_matrix_eq(W_of(m, 0), want, TOL, "W after the bare rule");
  gsl_matrix_free(want);
  sae_model_free(m);
  gsl_rng_free(rng);
}
END_TEST

START_TEST(test_update_renorm_by_hand) {
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  sae_model *m = hand_update(1, rng);
  gsl_matrix *want = from_array(2, 3, HW_BARE);
  gsl_vector_view w1 = gsl_matrix_row(want, 0), w2 = gsl_matrix_row(want, 1);
  gsl_vector_scale(&w1.vector, 1.0 / sqrt(0.9076));
  gsl_vector_scale(&w2.vector, 1.0 / sqrt(0.605024));
  assert_matrix_eq(W_of(m, 0), want, TOL, "W after the renormalised rule");
  gsl_matrix_free(want);
  sae_model_free(m);
  gsl_rng_free(rng);
}
END_TEST

static void assert_unit_rows(const gsl_matrix *W, double tol) {
  for (size_t j = 0; j < W->size1; j++) {
    gsl_vector_const_view r = gsl_matrix_const_row(W, j);
    ck_assert_double_eq_tol(gsl_blas_dnrm2(&r.vector), 1.0, tol);
  }
}

START_TEST(test_init_and_project_unit_norm) {
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, 2385);
  const char *hn[] = {"n_hid"};
  double hv[] = {7};
  sae_model *m = one_node(5, 1, hn, hv, rng);
  gsl_matrix *W = W_of(m, 0);
  ck_assert_uint_eq(W->size1, 7);
  ck_assert_uint_eq(W->size2, 5);
  assert_unit_rows(W, 1e-14);
  /* Perturb (as the experiment writes a perturbed ground truth), then project. */
  for (size_t j = 0; j < 7; j++) {
    gsl_vector_view r = gsl_matrix_row(W, j);
    gsl_vector_scale(&r.vector, 0.5 + j);
  }
  sae_error e = {0, ""};
  ck_assert_msg(sae_model_project(m, &e) == 0, "%s", e.msg);
  assert_unit_rows(W, 1e-14);
  sae_model_free(m);
  gsl_rng_free(rng);
}
END_TEST

/* The monitoring decoder: a dense node tied to W reconstructs x^ = z W.  Tied,
 * not shared: a dense decoder's own W is n_in x n_hid (a row per output), the
 * transpose of arora's n_hid x n_in (a row per atom). */
START_TEST(test_tied_decoder) {
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  sae_error e = {0, ""};
  sae_model *m = sae_model_alloc(3);
  const char *ah[] = {"n_hid", "tau"}, *dh[] = {"n_out", "bias"};
  double av[] = {2, 0.5}, dv[] = {3, 0};
  ck_assert_int_eq(sae_model_add(m, test_type("arora"), "code", NULL, NULL, NULL, 2, ah, av, &e), 0);
  ck_assert_int_eq(sae_model_add(m, test_type("dense"), "dec", NULL, "code", NULL, 2, dh, dv, &e), 0);
  ck_assert_int_eq(sae_model_add(m, test_type("squared_error"), NULL, NULL, NULL, NULL, 0, NULL, NULL, &e), 0);
  ck_assert_msg(sae_model_build(m, rng, &e) == 0, "%s", e.msg);
  ck_assert_uint_eq(sae_model_theta(m)->size, 6); /* one W; the decoder's slot aliases it */
  memcpy(W_of(m, 0)->data, HW, sizeof HW);
  gsl_matrix *x = from_array(2, 3, HX);
  sae_batch b = {2, x, x, NULL, SAE_MODE_TRAIN, NULL, NULL};
  double cost;
  ck_assert_msg(sae_model_forward(m, &b, &cost, &e) == 0, "%s", e.msg);
  /* x^_1 = x_1 - R_1 = (1.5, 2.48, -0.64); x^_2 = x_2 - R_2 = (0, -0.468, 0.624) */
  static const double want[] = {1.5, 2.48, -0.64, 0.0, -0.468, 0.624};
  gsl_matrix *wx = from_array(2, 3, want);
  assert_matrix_eq(sae_model_output(m, 1), wx, TOL, "x^");
  /* cost = 1/(2m) sum ||R_i||^2 = (0.2304 + 1.2996 + 0.25 + 0.589824 + 0.331776) / 4 */
  ck_assert_double_eq_tol(cost, (0.2304 + 1.2996 + 0.25 + 0.589824 + 0.331776) / 4, TOL);
  gsl_matrix_free(wx);
  gsl_matrix_free(x);
  sae_model_free(m);
  gsl_rng_free(rng);
}
END_TEST

/* ---- limits ------------------------------------------------------------------- */

START_TEST(test_tau_zero_keeps_exact_zero) {
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  const char *hn[] = {"n_hid", "tau"};
  double hv[] = {2, 0};
  sae_model *m = one_node(3, 2, hn, hv, rng);
  memcpy(W_of(m, 0)->data, HW, sizeof HW);
  static const double X1[] = {0.0, 0.0, 0.5}; /* V = (0, -0.4): unit 1 exactly 0, kept */
  static const double P1[] = {2.385, 1.25};
  static const double DX1[] = {2.385 * 0.6, 2.385 * 0.8 + 1.25 * 0.6, 1.25 * -0.8};
  gsl_matrix *x = from_array(1, 3, X1), *P = from_array(1, 2, P1), *wdx = from_array(1, 3, DX1);
  gsl_matrix *dx = gsl_matrix_alloc(1, 3);
  sae_batch b = {1, x, NULL, NULL, SAE_MODE_TRAIN, NULL, NULL};
  sae_error e = {0, ""};
  double cost;
  ck_assert_msg(sae_model_eval_probe(m, &b, P, dx, &cost, &e) == 0, "%s", e.msg);
  ck_assert(gsl_matrix_get(sae_model_output(m, 0), 0, 0) == 0.0);
  ck_assert_double_eq_tol(gsl_matrix_get(sae_model_output(m, 0), 0, 1), -0.4, TOL);
  assert_matrix_eq(dx, wdx, TOL, "dx");
  gsl_matrix *mats[] = {x, P, wdx, dx};
  for (size_t i = 0; i < 4; i++) gsl_matrix_free(mats[i]);
  sae_model_free(m);
  gsl_rng_free(rng);
}
END_TEST

/* Nothing above the threshold: z = 0, no atom moves (renorm = 0: bit for bit);
 * eta = 0 moves nothing either; renorm = 0 makes project() a no-op. */
START_TEST(test_no_step) {
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  const char *hn[] = {"n_hid", "tau", "renorm"};
  double hv[] = {2, 100, 0};
  sae_model *m = one_node(3, 3, hn, hv, rng);
  gsl_matrix *W = W_of(m, 0);
  memcpy(W->data, HW, sizeof HW);
  gsl_matrix *x = from_array(2, 3, HX), *w0 = from_array(2, 3, HW);
  sae_batch b = {2, x, NULL, NULL, SAE_MODE_TRAIN, NULL, NULL};
  sae_error e = {0, ""};
  double cost;
  int n;
  ck_assert_int_eq(sae_model_forward(m, &b, &cost, &e), 0);
  ck_assert_int_eq(sae_model_update(m, &b, 0.4, &n, &e), 0);
  assert_matrix_eq(W, w0, 0.0, "W, no active unit");
  ck_assert_int_eq(sae_model_set_hp(m, 0, "tau", 0.5, &e), 0);
  ck_assert_int_eq(sae_model_forward(m, &b, &cost, &e), 0);
  ck_assert_int_eq(sae_model_update(m, &b, 0.0, &n, &e), 0);
  assert_matrix_eq(W, w0, 0.0, "W, eta = 0");
  gsl_matrix_scale(W, 2.0);
  ck_assert_int_eq(sae_model_project(m, &e), 0);
  gsl_matrix_scale(w0, 2.0);
  assert_matrix_eq(W, w0, 0.0, "W, project with renorm = 0");
  gsl_matrix_free(x);
  gsl_matrix_free(w0);
  sae_model_free(m);
  gsl_rng_free(rng);
}
END_TEST

/* ---- errors ------------------------------------------------------------------- */

START_TEST(test_bad_hparams) {
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  sae_error e = {0, ""};
  sae_model *m = sae_model_alloc(3);
  const char *tau[] = {"tau"}, *nh[] = {"n_hid"};
  double neg[] = {-0.5}, zero[] = {0}, frac[] = {2.5};
  ck_assert_int_eq(sae_model_add(m, test_type("arora"), NULL, NULL, NULL, NULL, 1, tau, neg, &e),
                   SAE_EHPARAM);
  ASSERT_MSG_HAS(e, "tau = -0.5 is outside");
  ck_assert_int_eq(sae_model_add(m, test_type("arora"), NULL, NULL, NULL, NULL, 1, nh, zero, &e),
                   SAE_EHPARAM);
  ck_assert_int_eq(sae_model_add(m, test_type("arora"), NULL, NULL, NULL, NULL, 1, nh, frac, &e),
                   SAE_EHPARAM);
  ASSERT_MSG_HAS(e, "whole number");
  sae_model_free(m);
  /* after build: tau is retunable, but not below 0; n_hid is FIXED */
  m = one_node(3, 0, NULL, NULL, rng);
  ck_assert_int_eq(sae_model_set_hp(m, 0, "tau", -1, &e), SAE_EHPARAM);
  ck_assert_int_eq(sae_model_set_hp(m, 0, "tau", 0.25, &e), 0);
  ck_assert_int_eq(sae_model_set_hp(m, 0, "n_hid", 3, &e), SAE_EHPARAM);
  sae_model_free(m);
  gsl_rng_free(rng);
}
END_TEST

/* A node driven by hand, so the plugin's own checks are reached. */
START_TEST(test_plugin_checks) {
  const sae_type *t = test_type("arora");
  double hp[] = {2, 0.5, 0};
  double Wd[6], ws[2 * 5];
  memcpy(Wd, HW, sizeof HW);
  sae_node nd;
  memset(&nd, 0, sizeof nd);
  nd.type = t;
  nd.hp = hp;
  nd.n_in = 3;
  ck_assert_int_eq(t->setup(&nd), 0);
  ck_assert_uint_eq(nd.n_out, 2);
  ck_assert_uint_eq(nd.ws_per_example, 5);
  ck_assert_int_eq(nd.tensor[0].flags, SAE_TENSOR_NOGRAD);
  nd.param[0] = gsl_matrix_view_array(Wd, 2, 3).matrix;
  nd.ws = ws;
  gsl_matrix *x = from_array(2, 3, HX), *y = gsl_matrix_alloc(2, 2), *y3 = gsl_matrix_alloc(2, 3);
  double cost = 0;
  ck_assert_int_eq(t->forward(&nd, x, y3, &cost), SAE_ESHAPE);
  ck_assert_msg(strstr(nd.msg, "arora: x is 2 x 3, y 2 x 3") != NULL, "%s", nd.msg);
  ck_assert_int_eq(t->forward(&nd, x, y, &cost), 0);
  ck_assert_int_eq(t->update(&nd, x, y3, 0.4), SAE_ESHAPE);
  ck_assert_int_eq(t->update(&nd, x, y, -0.1), SAE_EHPARAM);
  ck_assert_msg(strstr(nd.msg, "eta = -0.1") != NULL, "%s", nd.msg);
  ck_assert_int_eq(t->update(&nd, x, y, NAN), SAE_EHPARAM);
  ck_assert_int_eq(t->update(&nd, x, y, INFINITY), SAE_EHPARAM);
  gsl_matrix *w0 = from_array(2, 3, HW);
  gsl_matrix_view W = gsl_matrix_view_array(Wd, 2, 3);
  assert_matrix_eq(&W.matrix, w0, 0.0, "W after refused updates");
  /* an atom of norm 0 cannot be normalised */
  hp[2] = 1;
  Wd[3] = Wd[4] = Wd[5] = 0.0;
  ck_assert_int_eq(t->project(&nd), SAE_ENUMERIC);
  ck_assert_msg(strstr(nd.msg, "atom 2 has norm 0") != NULL, "%s", nd.msg);
  /* a non-finite input */
  gsl_matrix_set(x, 1, 2, NAN);
  ck_assert_int_eq(t->forward(&nd, x, y, &cost), SAE_ENUMERIC);
  gsl_matrix_free(x);
  gsl_matrix_free(y);
  gsl_matrix_free(y3);
  gsl_matrix_free(w0);
}
END_TEST

/* Shapes the host refuses, and W tied transposed (arora stores A^T: share, not tie). */
START_TEST(test_model_errors) {
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  sae_error e = {0, ""};
  sae_model *m = one_node(3, 0, NULL, NULL, rng);
  gsl_matrix *x4 = gsl_matrix_calloc(2, 4);
  sae_batch b = {2, x4, NULL, NULL, SAE_MODE_TRAIN, NULL, NULL};
  double cost;
  ck_assert_int_eq(sae_model_forward(m, &b, &cost, &e), SAE_ESHAPE);
  sae_model_free(m);

  m = sae_model_alloc(3);
  const char *dn[] = {"n_out"}, *an[] = {"n_hid"};
  double three[] = {3};
  ck_assert_int_eq(sae_model_add(m, test_type("dense"), "enc", NULL, NULL, NULL, 1, dn, three, &e), 0);
  ck_assert_int_eq(sae_model_add(m, test_type("arora"), "code", NULL, "enc", NULL, 1, an, three, &e), 0);
  ck_assert_msg(sae_model_build(m, rng, &e) == 0, "%s", e.msg);
  gsl_matrix *x = from_array(2, 3, HX);
  b.x = x;
  ck_assert_int_eq(sae_model_forward(m, &b, &cost, &e), SAE_ETYPE);
  ASSERT_MSG_HAS(e, "use share, not tie");
  gsl_matrix_free(x);
  gsl_matrix_free(x4);
  sae_model_free(m);
  gsl_rng_free(rng);
}
END_TEST

int main(void) {
  sae_error_init();
  if (!(reg = test_plugins("arora", 1))) return EXIT_FAILURE;
  Suite *s = suite_create("arora");
  TCase *core = tcase_create("core"), *limits = tcase_create("limits");
  TCase *errors = tcase_create("errors");
  tcase_add_test(core, test_forward_backward_by_hand);
  tcase_add_test(core, test_update_bare_by_hand);
  tcase_add_test(core, test_update_renorm_by_hand);
  tcase_add_test(core, test_init_and_project_unit_norm);
  tcase_add_test(core, test_tied_decoder);
  tcase_add_test(limits, test_tau_zero_keeps_exact_zero);
  tcase_add_test(limits, test_no_step);
  tcase_add_test(errors, test_bad_hparams);
  tcase_add_test(errors, test_plugin_checks);
  tcase_add_test(errors, test_model_errors);
  suite_add_tcase(s, core);
  suite_add_tcase(s, limits);
  suite_add_tcase(s, errors);
  return test_run(s, reg);
}
