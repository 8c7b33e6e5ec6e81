/* check_f32.c -- the float32 training path: every float kernel against its
 * double twin, the host's float pass, and the float SGD step.
 *
 * core:   ksparse forward_f32 / backward_f32 (write 0 and 1, grad_write on
 *         NaN-filled gradients) / update_f32 against the double kernels, tied
 *         and untied, support and dense paths (_i), at 100 -> 300, k = 25,
 *         m = 64; squared_error forward_f32 / backward_f32 against the double
 *         ones; a float SGD step (with momentum) against the double step;
 *         sync: theta = (double)theta32 exactly, a no-op twice, a theta
 *         written after a sync is what the next step starts from; the fused
 *         float step (ksparse steps W, V in backward_f32) against the step
 *         withdrawn, bit for bit, tied and untied, 1 and 2 threads.
 * errors: precision 16, a node with no float32 path, a double backward
 *         after a float forward, a diverging float step (SAE_ENUMERIC), a NaN
 *         stepped in by the fused float step (the same error as unfused).
 *
 * Tolerance.  Inputs, weights and products are rounded to float (unit
 * roundoff u = 2^-24, 6e-8); a dot product of n terms has a relative error
 * bound of about n u and a typical one of sqrt(n) u, and the gradient sums
 * add m = 64 examples more.  With n = 100 (encoder), 300 (the dense twin's
 * products) and m = 64 the typical error is 1e-6 of the largest entry;
 * TOL32 = 2e-5 leaves a factor 20 and is still 1e4 below what a broken term
 * gives (an error of O(1) relative).  Errors are measured normwise: |a - b|
 * <= TOL32 max|b| per tensor (an entry near zero by cancellation has no
 * relative accuracy to check).  The data are continuous random numbers, so
 * the top-k supports of the two precisions agree (checked), which they need
 * not on near-ties.
 * Environment: SAE_TEST_PLUGIN_DIR (make check sets it). */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include "model.h"
#include "optim.h"
#include "registry.h"
#include "test_plugins.h"

#define TOL32 2e-5
enum { FM = 64, FN = 100, FH = 300, FK = 25 };

/* max |a - b| <= tol max |b| over n entries of a (float or double) and b. */
static void assert_close32(const float *a32, const double *a64, const double *b, size_t n,
                           double tol, const char *what) {
  double big = 0, err = 0;
  size_t at = 0;
  for (size_t i = 0; i < n; i++) {
    const double a = a32 ? (double)a32[i] : a64[i], d = fabs(a - b[i]);
    big = fmax(big, fabs(b[i]));
    if (!(d <= err)) err = d, at = i; /* NaN counts */
  }
  ck_assert_msg(big > 0, "%s: all zero", what);
  ck_assert_msg(err <= tol * big, "%s: max error %g at %zu (%.9g vs %.9g), %g of max %g", what,
                err, at, a32 ? (double)a32[at] : a64[at], b[at], err / big, big);
}

static gsl_matrix_float *to_float(const gsl_matrix *a) {
  gsl_matrix_float *f = gsl_matrix_float_alloc(a->size1, a->size2);
  for (size_t i = 0; i < a->size1 * a->size2; i++) f->data[i] = (float)a->data[i];
  return f;
}

static sae_model *ksparse_model(int tied, int dense, int with_loss, gsl_rng *rng) {
  const char *hn[] = {"n_hid", "k", "init_scale", "tied", "dense"};
  double hv[] = {FH, FK, 0.1, tied, dense};
  sae_error e = {0, ""};
  sae_model *m = sae_model_alloc(FN);
  ck_assert_int_eq(sae_model_add(m, test_type("ksparse"), "ks", NULL, NULL, NULL, 5, hn, hv, &e), 0);
  if (with_loss)
    ck_assert_int_eq(sae_model_add(m, test_type("squared_error"), "se", NULL, NULL, NULL, 0, NULL,
                                   NULL, &e), 0);
  ck_assert_msg(sae_model_build(m, rng, &e) == 0, "%s", e.msg);
  /* non-zero biases: every term counts */
  gsl_matrix *b, *bd;
  ck_assert_int_eq(sae_model_tensor(m, 0, "b", &b, &e), 0);
  ck_assert_int_eq(sae_model_tensor(m, 0, "b_dec", &bd, &e), 0);
  for (size_t j = 0; j < FH; j++) gsl_matrix_set(b, 0, j, gsl_ran_gaussian(rng, 0.2));
  for (size_t j = 0; j < FN; j++) gsl_matrix_set(bd, 0, j, gsl_ran_gaussian(rng, 0.2));
  return m;
}

/* The support S (m x kk) of the last forward, from ws (topk.c's layout: Z
 * and dz, m h values each, of the precision that ran, then S). */
static const uint32_t *support(const sae_model *m, int f32) {
  const sae_node *nd = sae_model_node(m, 0);
  return f32 ? (const uint32_t *)((const float *)nd->ws + 2 * FM * FH)
             : (const uint32_t *)(nd->ws + 2 * FM * FH);
}

/* ---- ksparse ------------------------------------------------------------------ */

/* _i: bit 0 dense, bit 1 untied. */
START_TEST(test_ksparse_f32) {
  const int dense = _i & 1, tied = !(_i & 2);
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, 2385 + (unsigned long)_i);
  sae_model *m = ksparse_model(tied, dense, 0, rng);
  gsl_matrix *x = gsl_matrix_alloc(FM, FN), *R = gsl_matrix_alloc(FM, FN);
  gsl_matrix *dx = gsl_matrix_alloc(FM, FN);
  for (size_t i = 0; i < FM * FN; i++) {
    x->data[i] = gsl_rng_uniform(rng);
    R->data[i] = gsl_ran_gaussian(rng, 1.0);
  }
  sae_batch b = {FM, x, NULL, NULL, SAE_MODE_TRAIN, NULL, NULL};
  sae_error e = {0, ""};
  double cost;
  /* the double twin: y, dx and the gradients of sum(R .* y); usage counts */
  ck_assert_msg(sae_model_eval_probe(m, &b, R, dx, &cost, &e) == 0, "%s", e.msg);
  gsl_vector *g64 = gsl_vector_alloc(sae_model_grad(m)->size);
  gsl_vector_memcpy(g64, sae_model_grad(m));
  gsl_matrix *y64 = gsl_matrix_alloc(FM, FN);
  gsl_matrix_memcpy(y64, sae_model_output(m, 0));
  uint32_t *S64 = malloc(FM * FK * sizeof *S64);
  memcpy(S64, support(m, 0), FM * FK * sizeof *S64);
  ck_assert_msg(sae_model_update(m, &b, 0.1, NULL, &e) == 0, "%s", e.msg);

  /* float: forward through the host (its dy is 0: no loss), then the kernel
   * by hand with dy = R */
  ck_assert_msg(sae_model_f32_alloc(m, &e) == 0, "%s", e.msg);
  sae_model_f32_load(m);
  ck_assert_msg(sae_model_eval_f32(m, &b, &cost, &e) == 0, "%s", e.msg);
  ck_assert(memcmp(support(m, 1), S64, FM * FK * sizeof *S64) == 0); /* the same units kept */
  const gsl_matrix_float *y32 = sae_model_output32(m, 0);
  assert_close32(y32->data, NULL, y64->data, FM * FN, TOL32, "y");

  sae_node *nd = (sae_node *)sae_model_node(m, 0); /* the model's own node */
  gsl_matrix_float *x32 = to_float(x), *R32 = to_float(R), *dx32 = gsl_matrix_float_alloc(FM, FN);
  gsl_vector_float *g32 = sae_model_grad32(m);
  const size_t np = g32->size;
  /* write = 1, grad_write: every entry of dx and the gradients written (NaN before) */
  gsl_vector_float_set_all(g32, NAN);
  gsl_matrix_float_set_all(dx32, NAN);
  nd->grad_write = 1;
  ck_assert_msg(nd->type->backward_f32(nd, x32, y32, R32, dx32, 1) == 0, "%s", nd->msg);
  /* usage's gradient is 0 in both; compare all */
  assert_close32(g32->data, NULL, g64->data, np, TOL32, "gradient");
  assert_close32(dx32->data, NULL, dx->data, FM * FN, TOL32, "dx");
  /* write = 0 and grad_write = 0 onto zeros: the same bits (the adds into
   * zeros are the writes' sums) */
  float *gw = malloc(np * sizeof *gw), *dxw = malloc(FM * FN * sizeof *dxw);
  memcpy(gw, g32->data, np * sizeof *gw);
  memcpy(dxw, dx32->data, FM * FN * sizeof *dxw);
  gsl_vector_float_set_zero(g32);
  gsl_matrix_float_set_zero(dx32);
  nd->grad_write = 0;
  ck_assert_msg(nd->type->backward_f32(nd, x32, y32, R32, dx32, 0) == 0, "%s", nd->msg);
  ck_assert_msg(memcmp(g32->data, gw, np * sizeof *gw) == 0, "gradient: write vs add");
  ck_assert_msg(memcmp(dx32->data, dxw, FM * FN * sizeof *dxw) == 0, "dx: write vs add");

  /* update_f32: the same counts as the double update (the supports agree) */
  gsl_matrix *u64;
  ck_assert_int_eq(sae_model_tensor(m, 0, "usage", &u64, &e), 0);
  const size_t uoff = (size_t)(u64->data - sae_model_theta(m)->data);
  float *u32 = sae_model_theta32(m)->data + uoff; /* loaded after the double update: its counts */
  for (size_t j = 0; j < FH; j++) u32[j] = 0;
  ck_assert_msg(sae_model_update_f32(m, 0.1, NULL, &e) == 0, "%s", e.msg);
  for (size_t j = 0; j < FH; j++) ck_assert_double_eq((double)u32[j], gsl_matrix_get(u64, 0, j));

  /* the double backward refuses the float forward's ws */
  ck_assert_int_eq(nd->type->backward(nd, x, y64, R, NULL), SAE_ESTATE);
  ck_assert_msg(strstr(nd->msg, "float64 after a forward in float32") != NULL, "%s", nd->msg);

  free(gw);
  free(dxw);
  free(S64);
  gsl_matrix_float_free(x32);
  gsl_matrix_float_free(R32);
  gsl_matrix_float_free(dx32);
  gsl_vector_free(g64);
  gsl_matrix_free(y64);
  gsl_matrix_free(x);
  gsl_matrix_free(R);
  gsl_matrix_free(dx);
  sae_model_free(m);
  gsl_rng_free(rng);
}
END_TEST

/* ---- squared_error -------------------------------------------------------------- */

/* A model of squared_error alone (it reads the model input: the host copies
 * x into y and passes dy on), target t != x.  Cost and dx against the
 * double path; write = 1 on NaN, write = 0 adding to D: D + the written
 * values, the same float sums. */
START_TEST(test_se_f32) {
  enum { SM = 37, SN = 300 };
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, 4711);
  sae_error e = {0, ""};
  sae_model *m = sae_model_alloc(SN);
  ck_assert_int_eq(sae_model_add(m, test_type("squared_error"), "se", NULL, NULL, NULL, 0, NULL,
                                 NULL, &e), 0);
  ck_assert_msg(sae_model_build(m, rng, &e) == 0, "%s", e.msg);
  gsl_matrix *x = gsl_matrix_alloc(SM, SN), *t = gsl_matrix_alloc(SM, SN);
  gsl_matrix *dx = gsl_matrix_alloc(SM, SN);
  for (size_t i = 0; i < SM * SN; i++) {
    x->data[i] = gsl_rng_uniform(rng);
    t->data[i] = gsl_rng_uniform(rng);
  }
  sae_batch b = {SM, x, t, NULL, SAE_MODE_TRAIN, NULL, NULL};
  double c64, c32;
  ck_assert_msg(sae_model_eval_probe(m, &b, NULL, dx, &c64, &e) == 0, "%s", e.msg);
  ck_assert_msg(sae_model_f32_alloc(m, &e) == 0, "%s", e.msg);
  ck_assert_msg(sae_model_eval_f32(m, &b, &c32, &e) == 0, "%s", e.msg);
  ck_assert_msg(fabs(c32 - c64) <= TOL32 * c64, "cost %.17g vs %.17g", c32, c64);

  sae_node *nd = (sae_node *)sae_model_node(m, 0);
  gsl_matrix_float *x32 = to_float(x), *dy32 = gsl_matrix_float_calloc(SM, SN);
  gsl_matrix_float *dx32 = gsl_matrix_float_alloc(SM, SN), *D = gsl_matrix_float_alloc(SM, SN);
  gsl_matrix_float_set_all(dx32, NAN);
  ck_assert_msg(nd->type->backward_f32(nd, x32, x32, dy32, dx32, 1) == 0, "%s", nd->msg);
  assert_close32(dx32->data, NULL, dx->data, SM * SN, TOL32, "dx");
  for (size_t i = 0; i < SM * SN; i++) D->data[i] = (float)gsl_ran_gaussian(rng, 1.0);
  gsl_matrix_float *want = gsl_matrix_float_alloc(SM, SN);
  for (size_t i = 0; i < SM * SN; i++) want->data[i] = D->data[i] + dx32->data[i];
  ck_assert_msg(nd->type->backward_f32(nd, x32, x32, dy32, D, 0) == 0, "%s", nd->msg);
  ck_assert(memcmp(D->data, want->data, SM * SN * sizeof(float)) == 0);

  gsl_matrix_float *mats[] = {x32, dy32, dx32, D, want};
  for (size_t i = 0; i < 5; i++) gsl_matrix_float_free(mats[i]);
  gsl_matrix_free(x);
  gsl_matrix_free(t);
  gsl_matrix_free(dx);
  sae_model_free(m);
  gsl_rng_free(rng);
}
END_TEST

/* ---- the SGD step ---------------------------------------------------------------- */

/* One step with momentum from the same theta and velocity, at 64 and 32:
 * the change of theta and the new velocity agree (a step skipped or
 * mis-scaled would not: the step is compared, not theta). */
START_TEST(test_sgd_f32) {
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, 97);
  sae_model *m = ksparse_model(_i == 0, 0, 1, rng);
  gsl_matrix *x = gsl_matrix_alloc(FM, FN);
  for (size_t i = 0; i < FM * FN; i++) x->data[i] = gsl_rng_uniform(rng);
  sae_batch b = {FM, x, x, NULL, SAE_MODE_TRAIN, NULL, NULL};
  sae_error e = {0, ""};
  gsl_vector *theta = sae_model_theta(m);
  const size_t n = theta->size;
  gsl_vector *th0 = gsl_vector_alloc(n), *v0 = gsl_vector_alloc(n);
  gsl_vector_memcpy(th0, theta);
  for (size_t i = 0; i < n; i++) v0->data[i] = gsl_ran_gaussian(rng, 0.05); /* mu v counts */

  double c64, c32;
  sae_sgd *s = sae_sgd_alloc(m);
  ck_assert_int_eq(sae_sgd_set(s, 0.3, 0.9, &e), 0);
  gsl_vector_memcpy(sae_sgd_velocity(s), v0);
  ck_assert_msg(sae_sgd_step(s, &b, &c64, &e) == 0, "%s", e.msg);
  gsl_vector *d64 = gsl_vector_alloc(n), *v64 = gsl_vector_alloc(n);
  gsl_vector_memcpy(d64, theta);
  gsl_vector_sub(d64, th0);
  gsl_vector_memcpy(v64, sae_sgd_velocity(s));

  gsl_vector_memcpy(theta, th0);
  gsl_vector_memcpy(sae_sgd_velocity(s), v0);
  ck_assert_msg(sae_sgd_precision(s, 32, &e) == 0, "%s", e.msg);
  ck_assert_msg(sae_sgd_step(s, &b, &c32, &e) == 0, "%s", e.msg);
  ck_assert_msg(fabs(c32 - c64) <= TOL32 * c64, "cost %.17g vs %.17g", c32, c64);
  /* before the sync theta is untouched: the step ran on the float copy */
  ck_assert(memcmp(theta->data, th0->data, n * sizeof(double)) == 0);
  sae_sgd_sync(s);
  const float *t32 = sae_model_theta32(m)->data;
  for (size_t i = 0; i < n; i++) ck_assert(theta->data[i] == (double)t32[i]);
  gsl_vector *d32 = gsl_vector_alloc(n);
  for (size_t i = 0; i < n; i++) d32->data[i] = theta->data[i] - (double)(float)th0->data[i];
  /* usage (NOGRAD, the last FH parameters) changes by counts: exact; the
   * rest by the step, whose largest entries it would otherwise dwarf */
  for (size_t i = n - FH; i < n; i++) ck_assert_double_eq(d32->data[i], d64->data[i]);
  assert_close32(NULL, d32->data, d64->data, n - FH, TOL32, "step");
  assert_close32(NULL, sae_sgd_velocity(s)->data, v64->data, n - FH, TOL32, "velocity");

  /* a second sync with no step between: nothing changes; a theta written
   * after the sync is where the next step starts */
  gsl_vector_memcpy(d32, theta);
  sae_sgd_sync(s);
  ck_assert(memcmp(theta->data, d32->data, n * sizeof(double)) == 0);
  theta->data[0] = 2.385;
  ck_assert_int_eq(sae_sgd_set(s, 1e-6, 0, &e), 0); /* a step too small to move it far */
  ck_assert_msg(sae_sgd_step(s, &b, &c32, &e) == 0, "%s", e.msg);
  sae_sgd_sync(s);
  ck_assert_msg(fabs(theta->data[0] - 2.385) < 1e-3, "theta[0] = %g: the write was lost",
                theta->data[0]);

  sae_sgd_free(s);
  gsl_vector *vs[] = {th0, v0, d64, v64, d32};
  for (size_t i = 0; i < 5; i++) gsl_vector_free(vs[i]);
  gsl_matrix_free(x);
  sae_model_free(m);
  gsl_rng_free(rng);
}
END_TEST

/* The fused step in float32 (plugin.h, sae_step: backward_f32 steps W, and
 * V, in theta32 and v32 with sae_step_row_f32): a model and optimiser at
 * precision 32 with the step offered, and their twin from the same seed
 * with it withdrawn (sgd_momentum_f32 over every parameter).  `threads`:
 * ksparse's thread count (ks_state's first field, topk.c), the velocity
 * non-zero so that every row's step shows. */
static void fused_pair(int tied, int threads, sae_model *m[2], sae_sgd *s[2]) {
  sae_error e = {0, ""};
  for (int r = 0; r < 2; r++) {
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 2385);
    m[r] = ksparse_model(tied, 0, 1, rng);
    gsl_rng_free(rng);
    *(int *)sae_model_node(m[r], 0)->state = threads;
    s[r] = sae_sgd_alloc(m[r]);
    ck_assert_int_eq(sae_sgd_set(s[r], 0.05, 0.9, &e), 0);
    gsl_vector *v = sae_sgd_velocity(s[r]);
    for (size_t i = 0; i < v->size; i++) v->data[i] = 1e-3 * cos(2.385 * (double)i);
    ck_assert_msg(sae_sgd_precision(s[r], 32, &e) == 0, "%s", e.msg);
    sae_sgd_fuse(s[r], r == 0);
  }
}

static void fused_free(sae_model *m[2], sae_sgd *s[2]) {
  for (int r = 0; r < 2; r++) {
    sae_sgd_free(s[r]);
    sae_model_free(m[r]);
  }
}

/* Three float steps, fused against withdrawn: cost, theta32, v32 and grad32
 * the same bits after each, the nodes stepped W (and V) only, and the
 * synced doubles equal.  _i: bit 0 untied, bit 1 on 2 OpenMP threads. */
START_TEST(test_sgd_f32_fused) {
  const int tied = !(_i & 1), threads = _i & 2 ? 2 : 1;
  sae_model *m[2];
  sae_sgd *s[2];
  fused_pair(tied, threads, m, s);
  gsl_matrix *x = gsl_matrix_alloc(FM, FN);
  for (size_t i = 0; i < FM * FN; i++) x->data[i] = 0.5 + 0.45 * sin(1.7 * (double)i);
  sae_batch b = {FM, x, x, NULL, SAE_MODE_TRAIN, NULL, NULL};
  sae_error e = {0, ""};
  const size_t n = sae_model_theta(m[0])->size;
  for (int step = 0; step < 3; step++) {
    double c[2];
    for (int r = 0; r < 2; r++) ck_assert_msg(sae_sgd_step(s[r], &b, &c[r], &e) == 0, "%s", e.msg);
    ck_assert_uint_eq(sae_sgd_fused(s[0]), (tied ? 1 : 2) * FH * FN);
    ck_assert_uint_eq(sae_sgd_fused(s[1]), 0);
    ck_assert(c[0] == c[1]);
    ck_assert_msg(memcmp(sae_model_theta32(m[0])->data, sae_model_theta32(m[1])->data,
                         n * sizeof(float)) == 0, "theta32, step %d", step);
    ck_assert_msg(memcmp(sae_model_grad32(m[0])->data, sae_model_grad32(m[1])->data,
                         n * sizeof(float)) == 0, "grad32, step %d", step);
  }
  for (int r = 0; r < 2; r++) sae_sgd_sync(s[r]); /* v32 is private: compare v after the sync */
  ck_assert(memcmp(sae_model_theta(m[0])->data, sae_model_theta(m[1])->data, n * sizeof(double)) == 0);
  ck_assert(memcmp(sae_sgd_velocity(s[0])->data, sae_sgd_velocity(s[1])->data,
                   n * sizeof(double)) == 0);
  fused_free(m, s);
  gsl_matrix_free(x);
}
END_TEST

/* ---- errors ---------------------------------------------------------------------- */

START_TEST(test_errors) {
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, 5);
  sae_error e = {0, ""};
  /* a node without a float32 path, named with its type */
  sae_model *m = sae_model_alloc(6);
  const char *hn[] = {"n_out"};
  double hv[] = {3};
  ck_assert_int_eq(sae_model_add(m, test_type("dense"), "enc", NULL, NULL, NULL, 1, hn, hv, &e), 0);
  ck_assert_int_eq(sae_model_add(m, test_type("squared_error"), "se", NULL, NULL, NULL, 0, NULL,
                                 NULL, &e), 0);
  ck_assert_msg(sae_model_build(m, rng, &e) == 0, "%s", e.msg);
  sae_sgd *s = sae_sgd_alloc(m);
  ck_assert_int_eq(sae_sgd_precision(s, 16, &e), SAE_EHPARAM);
  ASSERT_MSG_HAS(e, "precision must be 32 or 64 (got 16)");
  ck_assert_int_eq(sae_sgd_precision(s, 32, &e), SAE_ETYPE);
  ASSERT_MSG_HAS(e, "node 'enc' (type 'dense') has no float32 path");
  ck_assert_int_eq(sae_sgd_get_precision(s), 64);
  ck_assert_ptr_null(sae_model_theta32(m));
  sae_sgd_free(s);
  sae_model_free(m);

  /* a float step that diverges: SAE_ENUMERIC, not a crash */
  m = ksparse_model(1, 0, 1, rng);
  gsl_matrix *x = gsl_matrix_alloc(FM, FN);
  for (size_t i = 0; i < FM * FN; i++) x->data[i] = gsl_rng_uniform(rng);
  sae_batch b = {FM, x, x, NULL, SAE_MODE_TRAIN, NULL, NULL};
  s = sae_sgd_alloc(m);
  ck_assert_int_eq(sae_sgd_set(s, 1e37, 0, &e), 0);
  ck_assert_int_eq(sae_sgd_precision(s, 32, &e), 0);
  int rc = 0;
  double c;
  for (int k = 0; k < 4 && !rc; k++) rc = sae_sgd_step(s, &b, &c, &e);
  ck_assert_int_eq(rc, SAE_ENUMERIC);
  sae_sgd_free(s);
  sae_model_free(m);

  /* a NaN stepped into W's row 4 by the fused float step (planted in the
   * velocity, loaded into v32 at the first step): the same error and message
   * as through the optimiser's pass */
  sae_model *mm[2];
  sae_sgd *ss[2];
  char msg[2][SAE_MSG_SIZE];
  fused_pair(0, 1, mm, ss);
  for (int r = 0; r < 2; r++) {
    gsl_matrix *W;
    ck_assert_int_eq(sae_model_tensor(mm[r], 0, "W", &W, &e), 0);
    sae_sgd_velocity(ss[r])->data[(size_t)(W->data - sae_model_theta(mm[r])->data) + 3 * FN + 7] = NAN;
    ck_assert_int_eq(sae_sgd_step(ss[r], &b, &c, &e), SAE_ENUMERIC);
    ck_assert_uint_eq(sae_sgd_fused(ss[r]), r == 0 ? 2 * FH * FN : 0);
    snprintf(msg[r], sizeof msg[r], "%s", e.msg);
  }
  ck_assert_str_eq(msg[0], msg[1]);
  ck_assert_msg(strstr(msg[0], "ks.W") && strstr(msg[0], "NaN"), "%s", msg[0]);
  fused_free(mm, ss);
  gsl_matrix_free(x);
  gsl_rng_free(rng);
}
END_TEST

int main(void) {
  sae_error_init();
  sae_registry *r = test_plugins("f32", 1);
  if (!r) return EXIT_FAILURE;
  Suite *s = suite_create("f32");
  TCase *core = tcase_create("core"), *errors = tcase_create("errors");
  tcase_set_timeout(core, 60);
  tcase_add_loop_test(core, test_ksparse_f32, 0, 4);
  tcase_add_test(core, test_se_f32);
  tcase_add_loop_test(core, test_sgd_f32, 0, 2);
  tcase_add_loop_test(core, test_sgd_f32_fused, 0, 4);
  tcase_add_test(errors, test_errors);
  suite_add_tcase(s, core);
  suite_add_tcase(s, errors);
  return test_run(s, r);
}
