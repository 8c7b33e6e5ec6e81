/* check_topk.c -- plugins/topk.c: the "topk" activation and the fused "ksparse" layer.
 *
 * core:   top-k by hand (ties, negative values), EVAL keeps floor(alpha k),
 *         backward masks; ksparse forward and backward equal the dense-masked
 *         twin (tests/ksparse_ref.c) to 1e-12, tied and untied, TRAIN and EVAL,
 *         on both paths (dense = 0 support kernels, dense = 1 BLAS); the two
 *         paths agree with each other on a batch big enough for 2 threads, and
 *         the support path gives the same bits on 1 thread and on 2; ties
 *         in the selection (sorted-array and heap methods); usage counts by
 *         hand; the fused SGD step against the step withdrawn, bit for bit.
 * limits: k = n (keeps everything), a kept unit that is exactly 0, one example.
 * errors: k > width, alpha k > width, k <= 0 at model creation, retune refused
 *         with the old value kept, FIXED n_hid, non-finite input, a NaN
 *         stepped in by the fused step.
 * Environment: SAE_TEST_PLUGIN_DIR (make check sets it). */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_randist.h>
#include "model.h"
#include "registry.h"
#include "test_plugins.h"
#include "ksparse_ref.h"
#include "optim.h"

#define TOL 1e-12
static sae_registry *reg;

static gsl_matrix *from_array(size_t r, size_t c, const double *a) {
  gsl_matrix *A = gsl_matrix_alloc(r, c);
  memcpy(A->data, a, r * c * sizeof *a);
  return A;
}

/* A one-node model of type name on n_in inputs with n_hp overrides, built. */
static sae_model *one_node(const char *name, size_t n_in, size_t n_hp, const char *const *hn,
                           const double *hv, gsl_rng *rng) {
  sae_error e = {0, ""};
  sae_model *m = sae_model_alloc(n_in);
  ck_assert_int_eq(sae_model_add(m, test_type(name), "node", NULL, NULL, NULL, n_hp, hn, hv, &e), 0);
  ck_assert_msg(sae_model_build(m, rng, &e) == 0, "%s", e.msg);
  return m;
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

/* ---- topk by hand ------------------------------------------------------------- */

/* Row 0: 0.7 twice (j = 0, 2) competing for the second place behind 2.385.
 * Row 1: all negative; -0.5 twice (j = 0, 3) behind -0.25. */
static const double X25[] = {0.7, -1.25, 0.7, 2.385, -0.3,
                             -0.5, -0.25, -2.0, -0.5, -3.1};
static const double P25[] = {1.5, -2.25, 0.375, 3.0, -0.8,
                             -1.1, 0.45, 2.2, -0.6, 1.7};

START_TEST(test_topk_by_hand) {
  static const double want_train[] = {0.7, 0, 0, 2.385, 0,  -0.5, -0.25, 0, 0, 0};
  static const double want_dx[] = {1.5, 0, 0, 3.0, 0,  -1.1, 0.45, 0, 0, 0};
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  const char *hn[] = {"k"};
  double hv[] = {2};
  sae_model *m = one_node("topk", 5, 1, hn, hv, rng);
  gsl_matrix *x = from_array(2, 5, X25), *P = from_array(2, 5, P25);
  gsl_matrix *want = from_array(2, 5, want_train), *wdx = from_array(2, 5, want_dx);
  gsl_matrix *dx = gsl_matrix_alloc(2, 5);
  sae_batch b = {2, x, NULL, NULL, SAE_MODE_TRAIN, NULL, NULL};
  sae_error e = {0, ""};
  double cost;
  ck_assert_msg(sae_model_eval_probe(m, &b, P, dx, &cost, &e) == 0, "%s", e.msg);
  assert_matrix_eq(sae_model_output(m, 0), want, 0.0, "y");
  assert_matrix_eq(dx, wdx, 0.0, "dx");
  ck_assert_double_eq_tol(cost, 0.7 * 1.5 + 2.385 * 3.0 + 0.5 * 1.1 - 0.25 * 0.45, 1e-15);
  gsl_matrix_free(x);
  gsl_matrix_free(P);
  gsl_matrix_free(want);
  gsl_matrix_free(wdx);
  gsl_matrix_free(dx);
  sae_model_free(m);
  gsl_rng_free(rng);
}
END_TEST

START_TEST(test_topk_eval_alpha) {
  /* k = 2, alpha = 1.5: EVAL keeps 3 (both tied entries of each row now). */
  static const double want_eval[] = {0.7, 0, 0.7, 2.385, 0,  -0.5, -0.25, 0, -0.5, 0};
  static const double want_dx[] = {1.5, 0, 0.375, 3.0, 0,  -1.1, 0.45, 0, -0.6, 0};
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  const char *hn[] = {"k", "alpha"};
  double hv[] = {2, 1.5};
  sae_model *m = one_node("topk", 5, 2, hn, hv, rng);
  gsl_matrix *x = from_array(2, 5, X25), *P = from_array(2, 5, P25);
  gsl_matrix *want = from_array(2, 5, want_eval), *wdx = from_array(2, 5, want_dx);
  gsl_matrix *dx = gsl_matrix_alloc(2, 5);
  sae_batch b = {2, x, NULL, NULL, SAE_MODE_EVAL, NULL, NULL};
  sae_error e = {0, ""};
  const gsl_matrix *out;
  ck_assert_msg(sae_model_encode(m, &b, 0, &out, &e) == 0, "%s", e.msg);
  assert_matrix_eq(out, want, 0.0, "y (encode)");
  double cost;
  ck_assert_msg(sae_model_eval_probe(m, &b, P, dx, &cost, &e) == 0, "%s", e.msg);
  assert_matrix_eq(dx, wdx, 0.0, "dx (EVAL)");
  gsl_matrix_free(x);
  gsl_matrix_free(P);
  gsl_matrix_free(want);
  gsl_matrix_free(wdx);
  gsl_matrix_free(dx);
  sae_model_free(m);
  gsl_rng_free(rng);
}
END_TEST

/* ---- ksparse against the dense-masked twin ------------------------------------- */

enum { KM = 7, KN = 13, KH = 11, KK = 3 };

/* A tensor of node 0 and its gradient (same offset in the gradient block). */
static gsl_matrix tensor_of(sae_model *m, const char *name, int grad) {
  gsl_matrix *v;
  sae_error e = {0, ""};
  ck_assert_msg(sae_model_tensor(m, 0, name, &v, &e) == 0, "%s", e.msg);
  gsl_matrix g = *v;
  if (grad) g.data = sae_model_grad(m)->data + (v->data - sae_model_theta(m)->data);
  return g;
}

/* The workspace of a batch (plugins/topk.c, ksparse_layout): Z m x h, then dz
 * (sparse: m x kk; dense: dZ, m x h), then S (m x kk, 32-bit) at 2 m h doubles. */
static const uint32_t *ws_support(const sae_node *nd, size_t m, size_t h) {
  return (const uint32_t *)(nd->ws + 2 * m * h);
}

static void ksparse_vs_twin(int tied, sae_mode mode, double alpha, unsigned long seed, int dense) {
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, seed);
  const char *hn[] = {"n_hid", "k", "alpha", "init_scale", "tied", "dense"};
  double hv[] = {KH, KK, alpha, 0.5, tied, dense};
  sae_model *m = one_node("ksparse", KN, 6, hn, hv, rng);
  const size_t kk = mode == SAE_MODE_EVAL ? (size_t)floor(alpha * KK + 1e-6) : KK;

  /* Non-zero biases so every term is exercised. */
  gsl_matrix b = tensor_of(m, "b", 0), bd = tensor_of(m, "b_dec", 0);
  for (size_t j = 0; j < KH; j++) gsl_matrix_set(&b, 0, j, gsl_ran_gaussian(rng, 0.3));
  for (size_t j = 0; j < KN; j++) gsl_matrix_set(&bd, 0, j, gsl_ran_gaussian(rng, 0.3));
  gsl_matrix W = tensor_of(m, "W", 0), D = tensor_of(m, tied ? "W" : "V", 0);

  gsl_matrix *x = gsl_matrix_alloc(KM, KN), *R = gsl_matrix_alloc(KM, KN);
  gsl_matrix *dx = gsl_matrix_alloc(KM, KN);
  for (size_t i = 0; i < KM * KN; i++) {
    x->data[i] = gsl_rng_uniform(rng) * 2 - 1;
    R->data[i] = gsl_ran_gaussian(rng, 1.0);
  }
  sae_batch bt = {KM, x, NULL, NULL, mode};
  sae_error e = {0, ""};
  double cost;
  ck_assert_msg(sae_model_eval_probe(m, &bt, R, dx, &cost, &e) == 0, "%s", e.msg);

  /* The twin, on the same parameters.  Its gradients start at zero. */
  gsl_matrix *Z = gsl_matrix_alloc(KM, KH), *M = gsl_matrix_alloc(KM, KH);
  gsl_matrix *Zs = gsl_matrix_alloc(KM, KH), *dZ = gsl_matrix_alloc(KM, KH);
  gsl_matrix *Y = gsl_matrix_alloc(KM, KN), *rdx = gsl_matrix_calloc(KM, KN);
  gsl_matrix *gW = gsl_matrix_calloc(KH, KN), *gV = gsl_matrix_calloc(KH, KN);
  gsl_matrix *gb = gsl_matrix_calloc(1, KH), *gbd = gsl_matrix_calloc(1, KN);
  ksparse_ref_encode(x, &W, &b, Z);
  ksparse_ref_mask(Z, kk, M);
  ksparse_ref_decode(Z, M, &D, &bd, Zs, Y);
  ksparse_ref_backward(x, Zs, M, &W, &D, R, dZ, gW, gb, tied ? gW : gV, gbd, rdx);

  assert_matrix_eq(sae_model_output(m, 0), Y, TOL, "y");
  assert_matrix_eq(dx, rdx, TOL, "dx");
  gsl_matrix g;
  g = tensor_of(m, "W", 1);
  assert_matrix_eq(&g, gW, TOL, "grad W");
  g = tensor_of(m, "b", 1);
  assert_matrix_eq(&g, gb, TOL, "grad b");
  g = tensor_of(m, "b_dec", 1);
  assert_matrix_eq(&g, gbd, TOL, "grad b_dec");
  if (!tied) {
    g = tensor_of(m, "V", 1);
    assert_matrix_eq(&g, gV, TOL, "grad V");
  }
  /* The support and dz the node kept in ws: ascending indices, kk per example. */
  const sae_node *nd = sae_model_node(m, 0);
  ck_assert_uint_eq(nd->ws_per_example, 3 * KH + (KH + 2) / 2);
  const uint32_t *Sall = ws_support(nd, KM, KH);
  for (size_t i = 0; i < KM; i++) {
    const uint32_t *S = Sall + i * kk;
    size_t nnz = 0;
    for (size_t j = 0; j < KH; j++) nnz += gsl_matrix_get(M, i, j) != 0;
    ck_assert_uint_eq(nnz, kk);
    for (size_t s = 0; s < kk; s++) {
      size_t j = S[s];
      ck_assert(s == 0 || S[s] > S[s - 1]);
      ck_assert(gsl_matrix_get(M, i, j) == 1.0);
      const double dz = dense ? nd->ws[KM * KH + i * KH + j] : nd->ws[KM * KH + i * kk + s];
      ck_assert_double_eq_tol(dz, gsl_matrix_get(dZ, i, j), TOL);
    }
  }
  gsl_matrix *mats[] = {x, R, dx, Z, M, Zs, dZ, Y, rdx, gW, gV, gb, gbd};
  for (size_t i = 0; i < sizeof mats / sizeof *mats; i++) gsl_matrix_free(mats[i]);
  sae_model_free(m);
  gsl_rng_free(rng);
}

/* _i: 0 the support-only kernels, 1 the dense-masked path (dense = 1). */
START_TEST(test_ksparse_twin_tied) { ksparse_vs_twin(1, SAE_MODE_TRAIN, 1, 2385, _i); }
END_TEST
START_TEST(test_ksparse_twin_untied) { ksparse_vs_twin(0, SAE_MODE_TRAIN, 1, 4711, _i); }
END_TEST
START_TEST(test_ksparse_twin_eval) { /* alpha = 2.5: floor(7.5) = 7 of 11 */
  ksparse_vs_twin(1, SAE_MODE_EVAL, 2.5, 31, _i);
  ksparse_vs_twin(0, SAE_MODE_EVAL, 2.5, 32, _i);
}
END_TEST

/* The two paths of ksparse on one batch big enough to run the kernels on both
 * threads (64 x 40 inputs, 50 units, k = 8): support-only and dense-masked
 * agree to 1e-12 relative, tied (_i = 0) and untied (_i = 1), y, dx and every
 * gradient; and the support-only path gives the same bits on one thread and
 * on two (the sums run in a fixed order). */
/* Run node 0 (ksparse) of m on nt OpenMP threads: ks_state's first field
 * (topk.c), which its first forward fills from sae_omp_threads() when 0.
 * Set here because sae_omp_threads reads the environment once per process
 * and caches it: a setenv between models does not reach it. */
static void ks_threads(sae_model *m, int nt) { *(int *)sae_model_node(m, 0)->state = nt; }

static void run_path(int dense, int tied, int threads, gsl_matrix *x, gsl_matrix *R,
                     gsl_matrix *dx, gsl_vector **grad, gsl_matrix **y) {
  enum { PN = 40, PH = 50 };
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, 97);
  const char *hn[] = {"n_hid", "k", "alpha", "init_scale", "tied", "dense"};
  double hv[] = {PH, 8, 1, 0.3, tied, dense};
  sae_model *m = one_node("ksparse", PN, 6, hn, hv, rng);
  ks_threads(m, threads);
  gsl_matrix b = tensor_of(m, "b", 0), bd = tensor_of(m, "b_dec", 0);
  for (size_t j = 0; j < PH; j++) gsl_matrix_set(&b, 0, j, 0.1 * sin(2.385 * (double)j));
  for (size_t j = 0; j < PN; j++) gsl_matrix_set(&bd, 0, j, 0.2 * cos(1.5 * (double)j));
  sae_batch bt = {x->size1, x, NULL, NULL, SAE_MODE_TRAIN, NULL, NULL};
  sae_error e = {0, ""};
  double cost;
  ck_assert_msg(sae_model_eval_probe(m, &bt, R, dx, &cost, &e) == 0, "%s", e.msg);
  *grad = gsl_vector_alloc(sae_model_grad(m)->size);
  gsl_vector_memcpy(*grad, sae_model_grad(m));
  *y = gsl_matrix_alloc(x->size1, PN);
  gsl_matrix_memcpy(*y, sae_model_output(m, 0));
  sae_model_free(m);
  gsl_rng_free(rng);
}

static void assert_close_rel(const double *a, const double *b, size_t n, double tol,
                             const char *what) {
  for (size_t i = 0; i < n; i++)
    ck_assert_msg(fabs(a[i] - b[i]) <= tol * fmax(1.0, fabs(b[i])), "%s[%zu]: %.17g vs %.17g",
                  what, i, a[i], b[i]);
}

START_TEST(test_ksparse_paths_agree) {
  enum { PM = 64, PN = 40 };
  const int tied = _i == 0;
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, 4242);
  gsl_matrix *x = gsl_matrix_alloc(PM, PN), *R = gsl_matrix_alloc(PM, PN);
  for (size_t i = 0; i < PM * PN; i++) {
    x->data[i] = gsl_rng_uniform(rng);
    R->data[i] = gsl_ran_gaussian(rng, 1.0);
  }
  gsl_matrix *dx[3], *y[3];
  gsl_vector *g[3];
  /* sparse, dense, sparse again on 2 threads (before, a GOMP_SPINCOUNT set
   * here never reached the plugin: sae_omp_threads had cached 1 by then) */
  for (int r = 0; r < 3; r++) {
    dx[r] = gsl_matrix_alloc(PM, PN);
    run_path(r == 1, tied, r == 2 ? 2 : 1, x, R, dx[r], &g[r], &y[r]);
  }
  assert_close_rel(y[0]->data, y[1]->data, PM * PN, TOL, "y sparse vs dense");
  assert_close_rel(dx[0]->data, dx[1]->data, PM * PN, TOL, "dx sparse vs dense");
  assert_close_rel(g[0]->data, g[1]->data, g[0]->size, TOL, "grad sparse vs dense");
  ck_assert(memcmp(y[0]->data, y[2]->data, PM * PN * sizeof(double)) == 0);
  ck_assert(memcmp(dx[0]->data, dx[2]->data, PM * PN * sizeof(double)) == 0);
  ck_assert(memcmp(g[0]->data, g[2]->data, g[0]->size * sizeof(double)) == 0);
  for (int r = 0; r < 3; r++) {
    gsl_matrix_free(dx[r]);
    gsl_matrix_free(y[r]);
    gsl_vector_free(g[r]);
  }
  gsl_matrix_free(x);
  gsl_matrix_free(R);
  gsl_rng_free(rng);
}
END_TEST

/* grad_write (plugin.h): a ksparse node that is the first writer of its
 * gradients writes them, the host leaves them unzeroed.  (1) The written
 * gradient has the same bits as the plugin's add into a zeroed block (its
 * backward called again with grad_write = 0), with a third of x exactly 0
 * so that -0.0 terms (0 times a negative dz) occur: written as 0 + v they
 * are +0.0, as the add makes them.  (2) A gradient block full of NaN before
 * the eval gives the same bits (every entry written: units off every support
 * get zero rows).  (3) W (and all) shared by a second node "b" reading the
 * input: b, first in backward order, writes; a, whose output nothing reads,
 * finds them written and adds (zeros): the same bits again, NaN-filled
 * before.  _i: bit 0 the dense twin, bit 1 untied. */
START_TEST(test_ksparse_grad_write) {
  enum { GM = 6, GN = 9, GH = 30 };
  const int dense = _i & 1, tied = !(_i & 2);
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, 2385);
  const char *hn[] = {"n_hid", "k", "alpha", "init_scale", "tied", "dense"};
  double hv[] = {GH, 2, 1, 0.4, tied, dense};
  sae_model *m = one_node("ksparse", GN, 6, hn, hv, rng);
  gsl_matrix *x = gsl_matrix_alloc(GM, GN), *R = gsl_matrix_alloc(GM, GN);
  for (size_t i = 0; i < GM * GN; i++) {
    x->data[i] = i % 3 == 0 ? 0.0 : gsl_rng_uniform(rng);
    R->data[i] = gsl_ran_gaussian(rng, 1.0);
  }
  gsl_matrix b = tensor_of(m, "b", 0);
  for (size_t j = 0; j < GH; j++) gsl_matrix_set(&b, 0, j, 0.1 * sin(2.385 * (double)j));
  sae_batch bt = {GM, x, NULL, NULL, SAE_MODE_TRAIN, NULL, NULL};
  sae_error e = {0, ""};
  double cost;
  gsl_vector *g = sae_model_grad(m), *g1 = gsl_vector_alloc(g->size);
  ck_assert_msg(sae_model_eval_probe(m, &bt, R, NULL, &cost, &e) == 0, "%s", e.msg);
  ck_assert_int_eq(sae_model_node(m, 0)->grad_write, 1);
  gsl_vector_memcpy(g1, g);

  /* (1) the add path by hand, on the forward just made (ksparse reads no y) */
  sae_node *nd = (sae_node *)sae_model_node(m, 0); /* the model's own node */
  gsl_vector_set_zero(g);
  nd->grad_write = 0;
  ck_assert_msg(nd->type->backward(nd, x, R, R, NULL) == 0, "%s", nd->msg);
  ck_assert_msg(memcmp(g->data, g1->data, g->size * sizeof *g->data) == 0, "write vs add");

  /* (2) */
  gsl_vector_set_all(g, NAN);
  ck_assert_msg(sae_model_eval_probe(m, &bt, R, NULL, &cost, &e) == 0, "%s", e.msg);
  ck_assert_msg(memcmp(g->data, g1->data, g->size * sizeof *g->data) == 0, "NaN-filled");

  /* (3) the same parameters, shared */
  sae_model *m2 = sae_model_alloc(GN);
  ck_assert_int_eq(sae_model_add(m2, test_type("ksparse"), "a", NULL, NULL, NULL, 6, hn, hv, &e), 0);
  ck_assert_int_eq(sae_model_add(m2, test_type("ksparse"), "b", "input", NULL, "a", 6, hn, hv, &e), 0);
  ck_assert_msg(sae_model_build(m2, rng, &e) == 0, "%s", e.msg);
  ck_assert_uint_eq(sae_model_theta(m2)->size, sae_model_theta(m)->size);
  gsl_vector_memcpy(sae_model_theta(m2), sae_model_theta(m));
  gsl_vector_set_all(sae_model_grad(m2), NAN);
  ck_assert_msg(sae_model_eval_probe(m2, &bt, R, NULL, &cost, &e) == 0, "%s", e.msg);
  ck_assert_int_eq(sae_model_node(m2, 1)->grad_write, 1);
  ck_assert_int_eq(sae_model_node(m2, 0)->grad_write, 0);
  ck_assert_msg(memcmp(sae_model_grad(m2)->data, g1->data, g1->size * sizeof *g1->data) == 0,
                "shared");
  sae_model_free(m2);
  gsl_vector_free(g1);
  gsl_matrix_free(x);
  gsl_matrix_free(R);
  sae_model_free(m);
  gsl_rng_free(rng);
}
END_TEST

/* After a forward on x = 0 (so z = b in each of the first `rows` rows): every
 * row's kept set is the twin's (ties to the lower index), kk units. */
static void assert_twin_support(sae_model *m, size_t rows, size_t kk, const char *what) {
  gsl_matrix b = tensor_of(m, "b", 0);
  const size_t h = b.size2;
  gsl_matrix *Z = gsl_matrix_alloc(rows, h), *M = gsl_matrix_alloc(rows, h);
  gsl_vector_view brow = gsl_matrix_row(&b, 0);
  for (size_t i = 0; i < rows; i++) gsl_matrix_set_row(Z, i, &brow.vector);
  ksparse_ref_mask(Z, kk, M);
  const uint32_t *S = ws_support(sae_model_node(m, 0), rows, h);
  for (size_t i = 0; i < rows; i++) {
    size_t s = 0;
    for (size_t j = 0; j < h; j++)
      if (gsl_matrix_get(M, i, j) != 0) {
        ck_assert_msg(s < kk && S[i * kk + s] == j, "%s, row %zu: kept unit %zu is %u, the twin's %zu",
                      what, i, s, s < kk ? S[i * kk + s] : 0u, j);
        s++;
      }
    ck_assert_uint_eq(s, kk);
  }
  gsl_matrix_free(Z);
  gsl_matrix_free(M);
}

/* ---- the fused SGD step ------------------------------------------------------------ */

enum { FSM = 48, FSN = 100, FSH = 60, FSK = 5 }; /* 240 pairs x 100: past KS_PARALLEL_MIN */

/* ksparse (k = 5 of 60) + squared_error (+ l2 when decay), built from seed
 * 2385, on `threads` OpenMP threads (ks_threads). */
static sae_model *fused_model(int tied, int decay, int threads) {
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, 2385);
  const char *hn[] = {"n_hid", "k", "init_scale", "tied"};
  double hv[] = {FSH, FSK, 0.1, tied};
  const char *wn[] = {"lambda"};
  double wv[] = {0.01};
  sae_error e = {0, ""};
  sae_model *m = sae_model_alloc(FSN);
  ck_assert_int_eq(sae_model_add(m, test_type("ksparse"), "ks", NULL, NULL, NULL, 4, hn, hv, &e), 0);
  ck_assert_int_eq(sae_model_add(m, test_type("squared_error"), "loss", NULL, NULL, NULL, 0, NULL,
                                 NULL, &e), 0);
  if (decay)
    ck_assert_msg(sae_model_add(m, test_type("l2"), "wd", NULL, NULL, NULL, 1, wn, wv, &e) == 0,
                  "%s", e.msg);
  ck_assert_msg(sae_model_build(m, rng, &e) == 0, "%s", e.msg);
  gsl_matrix b = tensor_of(m, "b", 0);
  for (size_t j = 0; j < FSH; j++) gsl_matrix_set(&b, 0, j, 0.1 * sin(2.385 * (double)j));
  ks_threads(m, threads);
  gsl_rng_free(rng);
  return m;
}

/* An optimiser for m: eta 0.05, mu 0.9, V's rate halved (its own c), the
 * fused step offered or withdrawn, and a velocity of non-zero values (the
 * same for every call), so that every row's step moves theta, even a dead
 * unit's (its gradient row is 0). */
static sae_sgd *fused_sgd(sae_model *m, int fuse) {
  sae_error e = {0, ""};
  sae_sgd *s = sae_sgd_alloc(m);
  ck_assert_ptr_nonnull(s);
  ck_assert_int_eq(sae_sgd_set(s, 0.05, 0.9, &e), 0);
  gsl_vector *v = sae_sgd_velocity(s);
  for (size_t i = 0; i < v->size; i++) v->data[i] = 1e-3 * cos(2.385 * (double)i);
  gsl_matrix *V;
  if (sae_model_tensor(m, 0, "V", &V, &e) == 0) {
    const size_t off = (size_t)(V->data - sae_model_theta(m)->data);
    ck_assert_int_eq(sae_sgd_scale(s, off, V->size1 * V->size2, 0.5, &e), 0);
  }
  sae_sgd_fuse(s, fuse);
  return s;
}

/* The fused SGD step (plugin.h, sae_step): three sae_sgd_steps of ksparse +
 * loss with the step offered (ksparse steps W, and V, inside its backward
 * sweep) against the same model stepped with the offer withdrawn (the
 * optimiser's pass over every parameter): cost, theta (usage too: the
 * dead-unit counts), velocity and gradient the same bits after each step;
 * the nodes stepped W (and V) and nothing else.  _i: bit 0 untied, bit 1 on
 * 2 OpenMP threads; 4: tied with weight decay, where the offer is withdrawn
 * (the regularizer adds to the gradient after backward). */
START_TEST(test_ksparse_fused_step) {
  const int tied = !(_i & 1), threads = _i & 2 ? 2 : 1, decay = _i == 4;
  sae_model *net[2];
  sae_sgd *opt[2];
  for (int r = 0; r < 2; r++) {
    net[r] = fused_model(tied, decay, threads);
    opt[r] = fused_sgd(net[r], r == 0);
  }
  gsl_matrix *x = gsl_matrix_alloc(FSM, FSN);
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, 11);
  for (size_t i = 0; i < FSM * FSN; i++) x->data[i] = gsl_rng_uniform(rng);
  gsl_rng_free(rng);
  sae_batch bt = {FSM, x, x, NULL, SAE_MODE_TRAIN, NULL, NULL};
  sae_error e = {0, ""};
  const size_t np = sae_model_theta(net[0])->size;
  for (int step = 0; step < 3; step++) {
    double c[2];
    for (int r = 0; r < 2; r++) ck_assert_msg(sae_sgd_step(opt[r], &bt, &c[r], &e) == 0, "%s", e.msg);
    ck_assert_uint_eq(sae_sgd_fused(opt[0]), decay ? 0 : (tied ? 1 : 2) * FSH * FSN);
    ck_assert_uint_eq(sae_sgd_fused(opt[1]), 0);
    ck_assert(c[0] == c[1]);
    ck_assert_msg(memcmp(sae_model_theta(net[0])->data, sae_model_theta(net[1])->data,
                         np * sizeof(double)) == 0, "theta, step %d", step);
    ck_assert_msg(memcmp(sae_sgd_velocity(opt[0])->data, sae_sgd_velocity(opt[1])->data,
                         np * sizeof(double)) == 0, "velocity, step %d", step);
    ck_assert_msg(memcmp(sae_model_grad(net[0])->data, sae_model_grad(net[1])->data,
                         np * sizeof(double)) == 0, "gradient, step %d", step);
  }
  gsl_matrix u = tensor_of(net[0], "usage", 0);
  double total = 0;
  for (size_t j = 0; j < FSH; j++) total += gsl_matrix_get(&u, 0, j);
  ck_assert_double_eq(total, 3.0 * FSM * FSK); /* every TRAIN pair of the 3 steps counted */
  for (int r = 0; r < 2; r++) {
    sae_sgd_free(opt[r]);
    sae_model_free(net[r]);
  }
  gsl_matrix_free(x);
}
END_TEST

/* A NaN reaching a parameter through the fused step stops training as it
 * did through the optimiser's pass: a NaN planted in the velocity of W's row
 * 4 (so theta's row 4 becomes NaN inside ksparse's backward) gives the same
 * SAE_ENUMERIC and message, naming the parameter, with the step offered and
 * withdrawn.  _i: untied. */
START_TEST(test_ksparse_fused_nonfinite) {
  char msg[2][SAE_MSG_SIZE];
  gsl_matrix *x = gsl_matrix_alloc(FSM, FSN);
  for (size_t i = 0; i < FSM * FSN; i++) x->data[i] = 0.5 + 0.4 * sin(2.385 * (double)i);
  sae_batch bt = {FSM, x, x, NULL, SAE_MODE_TRAIN, NULL, NULL};
  for (int r = 0; r < 2; r++) {
    sae_model *m = fused_model(!_i, 0, 1);
    sae_sgd *s = fused_sgd(m, r == 0);
    sae_error e = {0, ""};
    gsl_matrix W = tensor_of(m, "W", 0);
    const size_t off = (size_t)(W.data - sae_model_theta(m)->data);
    sae_sgd_velocity(s)->data[off + 3 * FSN + 7] = NAN;
    double c;
    ck_assert_int_eq(sae_sgd_step(s, &bt, &c, &e), SAE_ENUMERIC);
    ck_assert_uint_eq(sae_sgd_fused(s), r == 0 ? (_i ? 2 : 1) * FSH * FSN : 0);
    ck_assert_msg(isnan(gsl_matrix_get(&W, 3, 7)), "theta not stepped");
    snprintf(msg[r], sizeof msg[r], "%s", e.msg);
    sae_sgd_free(s);
    sae_model_free(m);
  }
  ck_assert_str_eq(msg[0], msg[1]);
  ck_assert_msg(strstr(msg[0], "ks.W") && strstr(msg[0], "NaN"), "%s", msg[0]);
  gsl_matrix_free(x);
}
END_TEST

/* Ties, many of them: z = b
 * (x = 0) takes 11 distinct values over 200 units; the kept set is the twin's
 * (ties to the lower index), in TRAIN (k = 7) and EVAL (alpha k = 21). */
START_TEST(test_ksparse_ties) {
  enum { TH = 200 };
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  const char *hn[] = {"n_hid", "k", "alpha"};
  gsl_matrix *x = gsl_matrix_calloc(2, 3);
  for (int run = 0; run < 4; run++) {
    /* kk = 7, 21 (sorted array), 50 and 150 (past KS_SORTED_MAX: the heap) */
    const int eval = run % 2, big = run / 2;
    const size_t kk = (big ? 50 : 7) * (eval ? 3 : 1);
    double hv[] = {TH, big ? 50 : 7, 3};
    sae_model *m = one_node("ksparse", 3, 3, hn, hv, rng);
    gsl_matrix b = tensor_of(m, "b", 0);
    for (size_t j = 0; j < TH; j++) gsl_matrix_set(&b, 0, j, 0.25 * (double)((j * 37) % 11));
    sae_batch bt = {2, x, x, NULL, eval ? SAE_MODE_EVAL : SAE_MODE_TRAIN, NULL, NULL};
    sae_error e = {0, ""};
    double cost;
    ck_assert_msg(sae_model_forward(m, &bt, &cost, &e) == 0, "%s", e.msg);
    assert_twin_support(m, 2, kk, "ties");
    sae_model_free(m);
  }
  gsl_matrix_free(x);
  gsl_rng_free(rng);
}
END_TEST

/* The selection's block bound (ks_select: the least of kk block maxima, units
 * below it skipped): the twin's kept set for orders that defeat the bound or
 * tie at it -- ascending, descending, all equal, three values, every block's
 * maximum equal, a spike per block, random with duplicates -- at n_hid = 1000
 * with kk = 25 (blocks of 40), 75 (EVAL, alpha 3: blocks of 13), 100 (blocks
 * of 10) and 5 (blocks of 200). */
START_TEST(test_ksparse_select_bound) {
  enum { TH = 1000, NPAT = 7 };
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  const char *hn[] = {"n_hid", "k", "alpha"};
  gsl_matrix *x = gsl_matrix_calloc(1, 3);
  const struct { double k; int eval; } cfg[] = {{25, 0}, {25, 1}, {100, 0}, {5, 0}};
  for (size_t c = 0; c < sizeof cfg / sizeof *cfg; c++)
    for (int pat = 0; pat < NPAT; pat++) {
      const size_t kk = (size_t)cfg[c].k * (cfg[c].eval ? 3 : 1);
      double hv[] = {TH, cfg[c].k, 3};
      sae_model *m = one_node("ksparse", 3, 3, hn, hv, rng);
      gsl_matrix b = tensor_of(m, "b", 0);
      for (size_t j = 0; j < TH; j++) {
        double z = 0;
        switch (pat) {
        case 0: z = (double)j; break;                   /* ascending: the bound is low */
        case 1: z = -(double)j; break;                  /* descending */
        case 2: z = 0.5; break;                         /* all tied */
        case 3: z = (double)((j * 7) % 3); break;       /* three values */
        case 4: z = j % 10 == 9 ? 1.0 : 0.0; break;     /* every block's maximum 1: ties at the bound */
        case 5: z = j % 40 == 17 ? 2.0 + 1e-3 * (double)j : -1.0; break; /* a spike per block of 40 */
        default: z = floor(8 * gsl_rng_uniform(rng)); break; /* random, many duplicates */
        }
        gsl_matrix_set(&b, 0, j, z);
      }
      sae_batch bt = {1, x, x, NULL, cfg[c].eval ? SAE_MODE_EVAL : SAE_MODE_TRAIN, NULL, NULL};
      sae_error e = {0, ""};
      double cost;
      ck_assert_msg(sae_model_forward(m, &bt, &cost, &e) == 0, "%s", e.msg);
      char what[64];
      snprintf(what, sizeof what, "k %g%s, pattern %d", cfg[c].k, cfg[c].eval ? " (EVAL)" : "", pat);
      assert_twin_support(m, 1, kk, what);
      sae_model_free(m);
    }
  gsl_matrix_free(x);
  gsl_rng_free(rng);
}
END_TEST

/* usage (NOGRAD) counts, per unit, the examples whose TRAIN support held it;
 * the SGD step's update() adds them, its gradient step leaves usage alone.
 * By hand: filters e1, e2, e3, (1,1,1)/2 and b = 0, so z_i = (x_i, sum x_i / 2):
 *   x_0 = (0.9, 0.2, 0.1)   z = (0.9, 0.2, 0.1, 0.6)     S = {0, 3}
 *   x_1 = (0.1, 0.8, 0.3)   z = (0.1, 0.8, 0.3, 0.6)     S = {1, 3}
 *   x_2 = (0.3, 0.2, 0.95)  z = (0.3, 0.2, 0.95, 0.725)  S = {2, 3}
 * usage = (1, 1, 1, 3) after one step, twice that after two (margins >= 0.3,
 * far above what a step of 1e-3 moves). */
START_TEST(test_ksparse_usage) {
  static const double xa[] = {0.9, 0.2, 0.1, 0.1, 0.8, 0.3, 0.3, 0.2, 0.95};
  static const double Wa[] = {1, 0, 0, 0, 1, 0, 0, 0, 1, 0.5, 0.5, 0.5};
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  sae_error e = {0, ""};
  const char *hn[] = {"n_hid", "k", "tied"};
  for (int tied = 0; tied <= 1; tied++) {
    double hv[] = {4, 2, tied};
    sae_model *m = sae_model_alloc(3);
    ck_assert_int_eq(sae_model_add(m, test_type("ksparse"), "ks", NULL, NULL, NULL, 3, hn, hv, &e), 0);
    ck_assert_int_eq(sae_model_add(m, test_type("squared_error"), "se", NULL, NULL, NULL, 0, NULL,
                                   NULL, &e), 0);
    ck_assert_msg(sae_model_build(m, rng, &e) == 0, "%s", e.msg);
    gsl_matrix W = tensor_of(m, "W", 0), u = tensor_of(m, "usage", 0);
    memcpy(W.data, Wa, sizeof Wa);
    ck_assert_uint_eq(u.size1, 1);
    ck_assert_uint_eq(u.size2, 4);
    /* usage is the last tensor of the node: after W, b, b_dec (and V). */
    ck_assert_ptr_eq(u.data + 4, sae_model_theta(m)->data + sae_model_theta(m)->size);
    gsl_matrix *x = from_array(3, 3, xa);
    sae_batch b = {3, x, x, NULL, SAE_MODE_TRAIN, NULL, NULL};
    sae_sgd *opt = sae_sgd_alloc(m);
    ck_assert_int_eq(sae_sgd_set(opt, 1e-3, 0.9, &e), 0);
    double cost, want[] = {1, 1, 1, 3};
    for (int step = 1; step <= 2; step++) {
      ck_assert_msg(sae_sgd_step(opt, &b, &cost, &e) == 0, "%s", e.msg);
      for (size_t j = 0; j < 4; j++) ck_assert_double_eq(gsl_matrix_get(&u, 0, j), step * want[j]);
    }
    /* After an EVAL forward the TRAIN support is gone: update refuses. */
    b.mode = SAE_MODE_EVAL;
    ck_assert_int_eq(sae_model_forward(m, &b, &cost, &e), 0);
    ck_assert_int_eq(sae_model_update(m, &b, 0.1, NULL, &e), SAE_ESTATE);
    ASSERT_MSG_HAS(e, "EVAL");
    sae_sgd_free(opt);
    gsl_matrix_free(x);
    sae_model_free(m);
  }
  gsl_rng_free(rng);
}
END_TEST

/* ---- limits ------------------------------------------------------------------- */

START_TEST(test_topk_keep_all_and_zero) {
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  const char *hn[] = {"k"};
  double five[] = {5}, two[] = {2};
  sae_model *m = one_node("topk", 5, 1, hn, five, rng);
  gsl_matrix *x = from_array(2, 5, X25), *P = from_array(2, 5, P25);
  gsl_matrix *dx = gsl_matrix_alloc(2, 5);
  sae_batch b = {2, x, NULL, NULL, SAE_MODE_TRAIN, NULL, NULL};
  sae_error e = {0, ""};
  double cost;
  ck_assert_int_eq(sae_model_eval_probe(m, &b, P, dx, &cost, &e), 0);
  assert_matrix_eq(sae_model_output(m, 0), x, 0.0, "y (k = n)");
  assert_matrix_eq(dx, P, 0.0, "dx (k = n)");
  sae_model_free(m);

  /* One example whose second-largest entry is exactly 0: kept, so its gradient flows. */
  static const double x1[] = {0.0, -1.5, 3.25, -0.125, -2.0};
  gsl_matrix *x0 = from_array(1, 5, x1);
  gsl_matrix_view P0 = gsl_matrix_submatrix(P, 0, 0, 1, 5);
  gsl_matrix_view d0 = gsl_matrix_submatrix(dx, 0, 0, 1, 5);
  m = one_node("topk", 5, 1, hn, two, rng);
  sae_batch b1 = {1, x0, NULL, NULL, SAE_MODE_TRAIN, NULL, NULL};
  ck_assert_int_eq(sae_model_eval_probe(m, &b1, &P0.matrix, &d0.matrix, &cost, &e), 0);
  ck_assert_double_eq(gsl_matrix_get(dx, 0, 0), 1.5);
  ck_assert_double_eq(gsl_matrix_get(dx, 0, 2), 0.375);
  ck_assert_double_eq(gsl_matrix_get(dx, 0, 1) + gsl_matrix_get(dx, 0, 3) + gsl_matrix_get(dx, 0, 4), 0.0);
  gsl_matrix_free(x0);
  gsl_matrix_free(x);
  gsl_matrix_free(P);
  gsl_matrix_free(dx);
  sae_model_free(m);
  gsl_rng_free(rng);
}
END_TEST

START_TEST(test_ksparse_keep_all) {
  /* k = n_hid: every unit kept, the node is a plain linear autoencoder; still the twin. */
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, 5);
  const char *hn[] = {"n_hid", "k"};
  double hv[] = {4, 4};
  sae_model *m = one_node("ksparse", 3, 2, hn, hv, rng);
  static const double xa[] = {0.25, -0.5, 1.125};
  gsl_matrix *x = from_array(1, 3, xa), *Z = gsl_matrix_alloc(1, 4), *M = gsl_matrix_alloc(1, 4);
  gsl_matrix *Zs = gsl_matrix_alloc(1, 4), *Y = gsl_matrix_alloc(1, 3);
  gsl_matrix W = tensor_of(m, "W", 0), b = tensor_of(m, "b", 0), bd = tensor_of(m, "b_dec", 0);
  sae_batch bt = {1, x, NULL, NULL, SAE_MODE_TRAIN, NULL, NULL};
  sae_error e = {0, ""};
  double cost;
  ck_assert_int_eq(sae_model_forward(m, &bt, &cost, &e), 0);
  ksparse_ref_encode(x, &W, &b, Z);
  ksparse_ref_mask(Z, 4, M);
  ksparse_ref_decode(Z, M, &W, &bd, Zs, Y);
  assert_matrix_eq(sae_model_output(m, 0), Y, TOL, "y (k = n_hid)");
  gsl_matrix_free(x);
  gsl_matrix_free(Z);
  gsl_matrix_free(M);
  gsl_matrix_free(Zs);
  gsl_matrix_free(Y);
  sae_model_free(m);
  gsl_rng_free(rng);
}
END_TEST

/* ---- errors ------------------------------------------------------------------- */

/* Add then build; returns the code of whichever failed (0: both passed). */
static int try_build(const char *type, size_t n_in, size_t n_hp, const char *const *hn,
                     const double *hv, sae_error *e) {
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  sae_model *m = sae_model_alloc(n_in);
  int rc = sae_model_add(m, test_type(type), NULL, NULL, NULL, NULL, n_hp, hn, hv, e);
  if (!rc) rc = sae_model_build(m, rng, e);
  sae_model_free(m);
  gsl_rng_free(rng);
  return rc;
}


START_TEST(test_errors_at_creation) {
  sae_error e = {0, ""};
  const char *k_[] = {"k"}, *ka[] = {"k", "alpha"}, *hk[] = {"n_hid", "k"};
  const char *hka[] = {"n_hid", "k", "alpha"};
  double v40[] = {40}, v0[] = {0}, vneg[] = {-3}, v10a[] = {10, 3.5};
  double h30k40[] = {30, 40}, h20k12a[] = {20, 12, 2.5};

  ck_assert_int_eq(try_build("topk", 30, 1, k_, v40, &e), SAE_EHPARAM);
  ASSERT_MSG_HAS(e, "k = 40 is larger than the input width 30");
  ck_assert_int_eq(try_build("topk", 30, 2, ka, v10a, &e), SAE_EHPARAM);
  ASSERT_MSG_HAS(e, "alpha = 3.5");
  ASSERT_MSG_HAS(e, "35");
  ck_assert_int_eq(try_build("topk", 30, 1, k_, v0, &e), SAE_EHPARAM);
  ASSERT_MSG_HAS(e, "k = 0");

  ck_assert_int_eq(try_build("ksparse", 13, 2, hk, h30k40, &e), SAE_EHPARAM);
  ASSERT_MSG_HAS(e, "k = 40 is larger than n_hid = 30");
  ck_assert_int_eq(try_build("ksparse", 13, 3, hka, h20k12a, &e), SAE_EHPARAM);
  ASSERT_MSG_HAS(e, "alpha = 2.5");
  ASSERT_MSG_HAS(e, "n_hid = 20");
  ck_assert_int_eq(try_build("ksparse", 13, 1, k_, v0, &e), SAE_EHPARAM);
  ASSERT_MSG_HAS(e, "k = 0");
  ck_assert_int_eq(try_build("ksparse", 13, 1, k_, vneg, &e), SAE_EHPARAM);
  ASSERT_MSG_HAS(e, "k = -3");
}
END_TEST

START_TEST(test_retune) {
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  sae_error e = {0, ""};
  int found;
  /* topk on 5 inputs, k = 2: k = 6 refused (k kept), k = 4 taken and used. */
  const char *hn[] = {"k"};
  double two[] = {2};
  sae_model *m = one_node("topk", 5, 1, hn, two, rng);
  ck_assert_int_eq(sae_model_set_hp(m, 0, "k", 6, &e), SAE_EHPARAM);
  ASSERT_MSG_HAS(e, "k = 6 is larger than the input width 5");
  ck_assert_double_eq(sae_model_get_hp(m, 0, "k", &found), 2);
  ck_assert_int_eq(sae_model_set_hp(m, 0, "alpha", 3, &e), SAE_EHPARAM); /* 6 > 5 */
  ck_assert_double_eq(sae_model_get_hp(m, 0, "alpha", &found), 1);
  ck_assert_int_eq(sae_model_set_hp(m, 0, "k", 4, &e), 0);
  gsl_matrix *x = from_array(2, 5, X25);
  sae_batch b = {2, x, NULL, NULL, SAE_MODE_TRAIN, NULL, NULL};
  double cost;
  ck_assert_int_eq(sae_model_forward(m, &b, &cost, &e), 0);
  const gsl_matrix *y = sae_model_output(m, 0);
  for (size_t i = 0; i < 2; i++) {
    size_t nnz = 0;
    for (size_t j = 0; j < 5; j++) nnz += gsl_matrix_get(y, i, j) != 0;
    ck_assert_uint_eq(nnz, 4);
  }
  sae_model_free(m);

  /* ksparse n_hid = 11, k = 3: k = 12 refused, alpha*k > 11 refused, n_hid is FIXED. */
  const char *hk[] = {"n_hid", "k"};
  double v[] = {11, 3};
  m = one_node("ksparse", 13, 2, hk, v, rng);
  ck_assert_int_eq(sae_model_set_hp(m, 0, "k", 12, &e), SAE_EHPARAM);
  ASSERT_MSG_HAS(e, "k = 12 is larger than n_hid = 11");
  ck_assert_double_eq(sae_model_get_hp(m, 0, "k", &found), 3);
  ck_assert_int_eq(sae_model_set_hp(m, 0, "alpha", 4, &e), SAE_EHPARAM);
  ASSERT_MSG_HAS(e, "alpha = 4");
  ck_assert_double_eq(sae_model_get_hp(m, 0, "alpha", &found), 1);
  ck_assert_int_eq(sae_model_set_hp(m, 0, "n_hid", 20, &e), SAE_EHPARAM);
  ck_assert_int_eq(sae_model_set_hp(m, 0, "k", 0, &e), SAE_EHPARAM);
  ck_assert_int_eq(sae_model_set_hp(m, 0, "k", 11, &e), 0);
  ck_assert_double_eq(sae_model_get_hp(m, 0, "k", &found), 11);
  sae_model_free(m);
  gsl_matrix_free(x);
  gsl_rng_free(rng);
}
END_TEST

START_TEST(test_nonfinite_input) {
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  const char *hn[] = {"k"};
  double two[] = {2};
  sae_model *m = one_node("topk", 5, 1, hn, two, rng);
  gsl_matrix *x = from_array(2, 5, X25);
  gsl_matrix_set(x, 1, 3, NAN);
  sae_batch b = {2, x, NULL, NULL, SAE_MODE_TRAIN, NULL, NULL};
  sae_error e = {0, ""};
  double cost;
  ck_assert_int_eq(sae_model_forward(m, &b, &cost, &e), SAE_ENUMERIC);
  ASSERT_MSG_HAS(e, "x[2][4]");
  gsl_matrix_free(x);
  sae_model_free(m);
  gsl_rng_free(rng);
}
END_TEST

int main(void) {
  sae_error_init();
  if (!(reg = test_plugins("topk", 1))) return EXIT_FAILURE;
  Suite *s = suite_create("topk");
  TCase *core = tcase_create("core"), *limits = tcase_create("limits");
  TCase *errors = tcase_create("errors");
  tcase_add_test(core, test_topk_by_hand);
  tcase_add_test(core, test_topk_eval_alpha);
  tcase_add_test(core, test_ksparse_select_bound);
  tcase_add_loop_test(core, test_ksparse_twin_tied, 0, 2);
  tcase_add_loop_test(core, test_ksparse_twin_untied, 0, 2);
  tcase_add_loop_test(core, test_ksparse_twin_eval, 0, 2);
  tcase_add_loop_test(core, test_ksparse_paths_agree, 0, 2);
  tcase_add_test(core, test_ksparse_usage);
  tcase_add_loop_test(core, test_ksparse_grad_write, 0, 4);
  tcase_add_loop_test(core, test_ksparse_fused_step, 0, 5);
  tcase_add_test(core, test_ksparse_ties);
  tcase_add_test(limits, test_topk_keep_all_and_zero);
  tcase_add_test(limits, test_ksparse_keep_all);
  tcase_add_test(errors, test_errors_at_creation);
  tcase_add_test(errors, test_retune);
  tcase_add_test(errors, test_nonfinite_input);
  tcase_add_loop_test(errors, test_ksparse_fused_nonfinite, 0, 2);
  suite_add_tcase(s, core);
  suite_add_tcase(s, limits);
  suite_add_tcase(s, errors);
  return test_run(s, reg);
}
