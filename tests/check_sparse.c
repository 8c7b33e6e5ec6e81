/* check_sparse.c -- <saelab/sparse.h>: shrinkage, the Lipschitz constant,
 * ISTA/FISTA against the optimality conditions of the problem they solve,
 * and every refusal.
 *
 * The reference is not another solver but the KKT conditions of
 * E(z) = 1/2 ||x - z D||^2 + lambda |z|_1 (+ z^T S z for z >= 0): with
 * g = z (D D^T + 2 S) - x D^T the gradient of the smooth part,
 *   signed:   g_i = -lambda sign(z_i) where z_i != 0, |g_i| <= lambda where 0;
 *   nonneg:   g_i = -lambda where z_i > 0,            g_i >= -lambda where 0.
 * A code that meets them to 1e-9 is the minimum (convex case) or a
 * stationary point (with S), whoever computed it. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <saelab/sparse.h>

enum { M = 7, N = 12, K = 20 }; /* overcomplete: K > n */

static gsl_matrix *randn(gsl_rng *r, size_t rows, size_t cols, double sigma) {
  gsl_matrix *a = gsl_matrix_alloc(rows, cols);
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < cols; j++) gsl_matrix_set(a, i, j, gsl_ran_gaussian(r, sigma));
  return a;
}

/* Unit-norm atoms, as sparse coding keeps them. */
static void unit_rows(gsl_matrix *D) {
  for (size_t i = 0; i < D->size1; i++) {
    gsl_vector_view d = gsl_matrix_row(D, i);
    gsl_vector_scale(&d.vector, 1.0 / gsl_blas_dnrm2(&d.vector));
  }
}

/* A symmetric, non-negative, zero-diagonal S. */
static gsl_matrix *inhibition(gsl_rng *r, double scale) {
  gsl_matrix *S = gsl_matrix_calloc(K, K);
  for (size_t i = 0; i < K; i++)
    for (size_t j = i + 1; j < K; j++) {
      double v = gsl_rng_uniform(r) < 0.3 ? scale * gsl_rng_uniform(r) : 0.0;
      gsl_matrix_set(S, i, j, v);
      gsl_matrix_set(S, j, i, v);
    }
  return S;
}

/* The largest violation of the KKT conditions above, over every entry. */
static double kkt_violation(const sae_sc_problem *p, const gsl_matrix *X, const gsl_matrix *Z) {
  gsl_matrix *G = gsl_matrix_alloc(K, K), *g = gsl_matrix_alloc(X->size1, K);
  ck_assert_int_eq(sae_sc_gram(p->D, p->S, G), 0);
  gsl_blas_dgemm(CblasNoTrans, CblasTrans, -1.0, X, p->D, 0.0, g);
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, Z, G, 1.0, g);
  double worst = 0.0;
  for (size_t i = 0; i < X->size1; i++)
    for (size_t j = 0; j < K; j++) {
      const double z = gsl_matrix_get(Z, i, j), gi = gsl_matrix_get(g, i, j), l = p->lambda;
      double v;
      if (p->nonneg) {
        ck_assert_msg(z >= 0, "negative code %g", z);
        v = z > 0 ? fabs(gi + l) : fmax(0.0, -l - gi);
      } else {
        v = z != 0 ? fabs(gi + l * (z > 0 ? 1 : -1)) : fmax(0.0, fabs(gi) - l);
      }
      if (v > worst) worst = v;
    }
  gsl_matrix_free(G);
  gsl_matrix_free(g);
  return worst;
}

static double *workspace(size_t m) { return malloc(sae_sc_ws_size(m, K) * sizeof(double)); }

START_TEST(test_shrink) {
  ck_assert_double_eq_tol(sae_shrink(2.385, 0.5, 0), 1.885, 1e-15);
  ck_assert_double_eq_tol(sae_shrink(-2.385, 0.5, 0), -1.885, 1e-15);
  ck_assert_double_eq(sae_shrink(0.4, 0.5, 0), 0.0);
  ck_assert_double_eq(sae_shrink(-2.385, 0.5, 1), 0.0);
  ck_assert_double_eq_tol(sae_shrink(2.385, 0.5, 1), 1.885, 1e-15);
  ck_assert_double_eq(sae_shrink_grad(-2.385, 0.5, 0), 1.0);
  ck_assert_double_eq(sae_shrink_grad(-2.385, 0.5, 1), 0.0);
  ck_assert_double_eq(sae_shrink_grad(0.5, 0.5, 0), 0.0);
}
END_TEST

/* The power iteration's L against GSL's eigenvalues of D D^T. */
START_TEST(test_lipschitz) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_matrix *D = randn(r, K, N, 1.0), *G = gsl_matrix_alloc(K, K), *Gc = gsl_matrix_alloc(K, K);
  ck_assert_int_eq(sae_sc_gram(D, NULL, G), 0);
  gsl_matrix_memcpy(Gc, G);
  gsl_vector *ev = gsl_vector_alloc(K);
  gsl_eigen_symm_workspace *w = gsl_eigen_symm_alloc(K);
  gsl_eigen_symm(Gc, ev, w);
  const double top = gsl_vector_max(ev);
  double scratch[2 * K];
  const double L = sae_sc_lipschitz(G, scratch);
  ck_assert_msg(L >= top && L <= 1.0101 * top, "L %.10g, largest eigenvalue %.10g", L, top);
  gsl_eigen_symm_free(w);
  gsl_vector_free(ev);
  gsl_matrix_free(Gc);
  gsl_matrix_free(G);
  gsl_matrix_free(D);
  gsl_rng_free(r);
}
END_TEST

/* ISTA and FISTA, signed and non-negative, reach the minimum (KKT to 1e-9);
 * after 50 iterations FISTA is far closer to it; ISTA's energy never rises. */
START_TEST(test_converges_to_kkt) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_matrix *D = randn(r, K, N, 1.0), *X = randn(r, M, N, 1.0), *Z = gsl_matrix_alloc(M, K);
  unit_rows(D);
  double *ws = workspace(M), *res = malloc(M * N * sizeof(double));
  for (int nonneg = 0; nonneg <= 1; nonneg++) {
    sae_sc_problem p = {D, NULL, 0.2385, nonneg};
    size_t it_fista = 0, it_ista = 0;
    sae_sc_opts o = {100000, 1e-13, 1, 0, 0};
    ck_assert_int_eq(sae_sparse_code(&p, X, Z, &o, ws, &it_fista, NULL, NULL), 0);
    double v = kkt_violation(&p, X, Z);
    ck_assert_msg(v < 1e-9, "FISTA nonneg=%d: KKT violated by %g after %zu iterations", nonneg,
                  v, it_fista);
    const double e_fista = sae_sc_energy(&p, X, Z, res);
    o.fista = 0;
    ck_assert_int_eq(sae_sparse_code(&p, X, Z, &o, ws, &it_ista, NULL, NULL), 0);
    v = kkt_violation(&p, X, Z);
    ck_assert_msg(v < 1e-9, "ISTA nonneg=%d: KKT violated by %g", nonneg, v);
    ck_assert_double_eq_tol(sae_sc_energy(&p, X, Z, res), e_fista, 1e-10 * fabs(e_fista));
    double gap[2];
    for (int f = 0; f <= 1; f++) {
      sae_sc_opts o50 = {50, 0, f, 0, 0};
      ck_assert_int_eq(sae_sparse_code(&p, X, Z, &o50, ws, NULL, NULL, NULL), 0);
      gap[f] = sae_sc_energy(&p, X, Z, res) - e_fista;
    }
    ck_assert_msg(gap[1] < 0.1 * gap[0], "after 50 iterations: FISTA %g above the minimum, "
                  "ISTA %g", gap[1], gap[0]);
    /* ISTA is a descent method at step 1/L: energy after k+1 steps <= after k */
    double prev = INFINITY;
    for (size_t k = 1; k <= 30; k++) {
      sae_sc_opts ok = {k, 0, 0, 0, 0};
      ck_assert_int_eq(sae_sparse_code(&p, X, Z, &ok, ws, NULL, NULL, NULL), 0);
      const double e = sae_sc_energy(&p, X, Z, res);
      ck_assert_msg(e <= prev + 1e-12, "ISTA energy rose at step %zu: %g > %g", k, e, prev);
      prev = e;
    }
  }
  free(res);
  free(ws);
  gsl_matrix_free(Z);
  gsl_matrix_free(X);
  gsl_matrix_free(D);
  gsl_rng_free(r);
}
END_TEST

/* Non-negative codes with lateral inhibition: z^T S z is smooth there, and
 * the fixed point meets the KKT conditions with G = D D^T + 2 S.  Inhibited
 * pairs co-activate less than without S. */
START_TEST(test_inhibition_nonneg) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_matrix *D = randn(r, K, N, 1.0), *X = randn(r, M, N, 1.0), *Z = gsl_matrix_alloc(M, K);
  gsl_matrix *Z0 = gsl_matrix_alloc(M, K), *S = inhibition(r, 0.5);
  unit_rows(D);
  double *ws = workspace(M);
  sae_sc_problem p0 = {D, NULL, 0.05, 1}, p = {D, S, 0.05, 1};
  sae_sc_opts o = {100000, 1e-13, 0, 0, 0};
  ck_assert_int_eq(sae_sparse_code(&p0, X, Z0, &o, ws, NULL, NULL, NULL), 0);
  ck_assert_int_eq(sae_sparse_code(&p, X, Z, &o, ws, NULL, NULL, NULL), 0);
  double v = kkt_violation(&p, X, Z);
  ck_assert_msg(v < 1e-9, "KKT violated by %g", v);
  double both0 = 0, both = 0; /* sum over inhibited pairs of z_i z_j */
  for (size_t i = 0; i < M; i++)
    for (size_t a = 0; a < K; a++)
      for (size_t b = a + 1; b < K; b++)
        if (gsl_matrix_get(S, a, b) > 0) {
          both0 += gsl_matrix_get(Z0, i, a) * gsl_matrix_get(Z0, i, b);
          both += gsl_matrix_get(Z, i, a) * gsl_matrix_get(Z, i, b);
        }
  ck_assert_msg(both < 0.5 * both0, "inhibited co-activation %g, without S %g", both, both0);
  free(ws);
  gsl_matrix_free(S);
  gsl_matrix_free(Z0);
  gsl_matrix_free(Z);
  gsl_matrix_free(X);
  gsl_matrix_free(D);
  gsl_rng_free(r);
}
END_TEST

/* Signed codes with inhibition: the threshold lambda + 2 (S|z|)_i.  At the
 * fixed point, z_i != 0 has g_i = -(lambda + 2 (S|z|)_i) sign(z_i). */
START_TEST(test_inhibition_signed_fixed_point) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_matrix *D = randn(r, K, N, 1.0), *X = randn(r, M, N, 1.0), *Z = gsl_matrix_alloc(M, K);
  gsl_matrix *S = inhibition(r, 0.2), *G = gsl_matrix_alloc(K, K), *g = gsl_matrix_alloc(M, K);
  unit_rows(D);
  double *ws = workspace(M);
  sae_sc_problem p = {D, S, 0.05, 0};
  sae_sc_opts o = {200000, 1e-14, 0, 0, 0};
  size_t it;
  ck_assert_int_eq(sae_sparse_code(&p, X, Z, &o, ws, &it, NULL, NULL), 0);
  ck_assert_uint_lt(it, 200000);
  sae_sc_gram(D, NULL, G);
  gsl_blas_dgemm(CblasNoTrans, CblasTrans, -1.0, X, D, 0.0, g);
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, Z, G, 1.0, g);
  double worst = 0;
  for (size_t i = 0; i < M; i++)
    for (size_t j = 0; j < K; j++) {
      double th = p.lambda;
      for (size_t l = 0; l < K; l++) th += 2 * gsl_matrix_get(S, j, l) * fabs(gsl_matrix_get(Z, i, l));
      const double z = gsl_matrix_get(Z, i, j), gi = gsl_matrix_get(g, i, j);
      const double v = z != 0 ? fabs(gi + th * (z > 0 ? 1 : -1)) : fmax(0.0, fabs(gi) - th);
      worst = fmax(worst, v);
    }
  ck_assert_msg(worst < 1e-9, "fixed point violated by %g", worst);
  free(ws);
  gsl_matrix_free(g);
  gsl_matrix_free(G);
  gsl_matrix_free(S);
  gsl_matrix_free(Z);
  gsl_matrix_free(X);
  gsl_matrix_free(D);
  gsl_rng_free(r);
}
END_TEST

/* One LISTA step with the ISTA matrices is one ISTA step from zero... and
 * from any point: z' = h(x We^T + z Sl^T) = h(z + eta (x D^T - z D D^T)). */
START_TEST(test_ista_matrices) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_matrix *D = randn(r, K, N, 1.0), *X = randn(r, M, N, 1.0), *Z = gsl_matrix_alloc(M, K);
  gsl_matrix *We = gsl_matrix_alloc(K, N), *Sl = gsl_matrix_alloc(K, K);
  gsl_matrix *Zl = gsl_matrix_alloc(M, K), *Zl2 = gsl_matrix_alloc(M, K);
  double *ws = workspace(M), eta;
  sae_sc_problem p = {D, NULL, 0.3, 1};
  sae_sc_opts o = {2, 0, 0, 0, 0}; /* two ISTA steps from zero */
  ck_assert_int_eq(sae_sparse_code(&p, X, Z, &o, ws, NULL, &eta, NULL), 0);
  ck_assert_int_eq(sae_sc_ista_matrices(D, eta, We, Sl), 0);
  gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, X, We, 0.0, Zl); /* step 1 from 0 */
  sae_shrink_matrix(Zl, eta * p.lambda, 1);
  gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, X, We, 0.0, Zl2); /* step 2 */
  gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, Zl, Sl, 1.0, Zl2);
  sae_shrink_matrix(Zl2, eta * p.lambda, 1);
  for (size_t i = 0; i < M; i++)
    for (size_t j = 0; j < K; j++)
      ck_assert_double_eq_tol(gsl_matrix_get(Zl2, i, j), gsl_matrix_get(Z, i, j), 1e-12);
  ck_assert_int_eq(sae_sc_ista_matrices(D, eta, Sl, We), SAE_ESHAPE);
  free(ws);
  gsl_matrix_free(Zl2);
  gsl_matrix_free(Zl);
  gsl_matrix_free(Sl);
  gsl_matrix_free(We);
  gsl_matrix_free(Z);
  gsl_matrix_free(X);
  gsl_matrix_free(D);
  gsl_rng_free(r);
}
END_TEST

/* Warm start from the solution: the first step changes nothing. */
START_TEST(test_warm_start) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_matrix *D = randn(r, K, N, 1.0), *X = randn(r, M, N, 1.0), *Z = gsl_matrix_alloc(M, K);
  unit_rows(D);
  double *ws = workspace(M);
  sae_sc_problem p = {D, NULL, 0.2385, 0};
  sae_sc_opts o = {100000, 1e-14, 1, 0, 0};
  ck_assert_int_eq(sae_sparse_code(&p, X, Z, &o, ws, NULL, NULL, NULL), 0);
  size_t it;
  sae_sc_opts w = {100, 1e-9, 1, 0, 1};
  ck_assert_int_eq(sae_sparse_code(&p, X, Z, &w, ws, &it, NULL, NULL), 0);
  ck_assert_uint_eq(it, 1);
  free(ws);
  gsl_matrix_free(Z);
  gsl_matrix_free(X);
  gsl_matrix_free(D);
  gsl_rng_free(r);
}
END_TEST

/* Unit rows, and the max-norm ball by rows or by columns; a zero row named. */
START_TEST(test_norms) {
  double a[] = {3, 4, 0.6, 0.8, 0, 2.385};
  gsl_matrix_view W = gsl_matrix_view_array(a, 3, 2);
  sae_norm_bound(&W.matrix, 0, 1.0); /* rows: 5 -> 1, 1 stays, 2.385 -> 1 */
  ck_assert_double_eq_tol(a[0], 0.6, 1e-15);
  ck_assert_double_eq_tol(a[1], 0.8, 1e-15);
  ck_assert_double_eq(a[2], 0.6);
  ck_assert_double_eq_tol(a[5], 1.0, 1e-15);
  double b[] = {3, 0, 4, 0.5};
  gsl_matrix_view V = gsl_matrix_view_array(b, 2, 2);
  sae_norm_bound(&V.matrix, 1, 2.0); /* columns: (3, 4) -> (1.2, 1.6); (0, 0.5) stays */
  ck_assert_double_eq_tol(b[0], 1.2, 1e-15);
  ck_assert_double_eq_tol(b[2], 1.6, 1e-15);
  ck_assert_double_eq(b[3], 0.5);
  double c[] = {0, 2.385, 1, 1, 0, 0};
  gsl_matrix_view U = gsl_matrix_view_array(c, 3, 2);
  size_t bad = 99;
  ck_assert_int_eq(sae_rows_unit(&U.matrix, &bad), -1);
  ck_assert_uint_eq(bad, 2);
  ck_assert_double_eq(c[1], 1.0);
  ck_assert_double_eq_tol(c[2], 1 / sqrt(2.0), 1e-15);
}
END_TEST

START_TEST(test_refusals) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_matrix *D = randn(r, K, N, 1.0), *X = randn(r, M, N, 1.0), *Z = gsl_matrix_alloc(M, K);
  gsl_matrix *Zbad = gsl_matrix_alloc(M, K + 1), *Sbad = gsl_matrix_calloc(K, K + 1);
  double *ws = malloc(sae_sc_ws_size(M, K + 1) * sizeof(double));
  char msg[SAE_MSG_SIZE];
  sae_sc_problem p = {D, NULL, 0.1, 0};
  sae_sc_opts o = {10, 0, 1, 0, 0};
  ck_assert_int_eq(sae_sparse_code(&p, X, Zbad, &o, ws, NULL, NULL, msg), SAE_ESHAPE);
  ck_assert_ptr_nonnull(strstr(msg, "Z 7 x 21"));
  sae_sc_problem ps = {D, Sbad, 0.1, 0};
  ck_assert_int_eq(sae_sparse_code(&ps, X, Z, &o, ws, NULL, NULL, msg), SAE_ESHAPE);
  sae_sc_problem pl = {D, NULL, -0.1, 0};
  ck_assert_int_eq(sae_sparse_code(&pl, X, Z, &o, ws, NULL, NULL, msg), SAE_EHPARAM);
  ck_assert_ptr_nonnull(strstr(msg, "lambda = -0.1"));
  sae_sc_opts o0 = {0, 0, 1, 0, 0};
  ck_assert_int_eq(sae_sparse_code(&p, X, Z, &o0, ws, NULL, NULL, msg), SAE_EHPARAM);
  /* a step twice 1/L: refused, naming L */
  double eta;
  ck_assert_int_eq(sae_sparse_code(&p, X, Z, &o, ws, NULL, &eta, msg), 0);
  sae_sc_opts big = {10, 0, 1, 2.0 * eta * 1.01, 0};
  ck_assert_int_eq(sae_sparse_code(&p, X, Z, &big, ws, NULL, NULL, msg), SAE_EHPARAM);
  ck_assert_msg(strstr(msg, "is above 1/L") && strstr(msg, "(L = "), "%s", msg);
  free(ws);
  gsl_matrix_free(Sbad);
  gsl_matrix_free(Zbad);
  gsl_matrix_free(Z);
  gsl_matrix_free(X);
  gsl_matrix_free(D);
  gsl_rng_free(r);
}
END_TEST

int main(void) {
  gsl_set_error_handler_off();
  Suite *s = suite_create("sparse");
  TCase *core = tcase_create("core"), *limits = tcase_create("limits");
  TCase *errors = tcase_create("errors");
  tcase_set_timeout(core, 60);
  tcase_add_test(core, test_shrink);
  tcase_add_test(core, test_lipschitz);
  tcase_add_test(core, test_converges_to_kkt);
  tcase_add_test(core, test_inhibition_nonneg);
  tcase_add_test(core, test_inhibition_signed_fixed_point);
  tcase_add_test(core, test_ista_matrices);
  tcase_add_test(core, test_norms);
  tcase_add_test(limits, test_warm_start);
  tcase_add_test(errors, test_refusals);
  suite_add_tcase(s, core);
  suite_add_tcase(s, limits);
  suite_add_tcase(s, errors);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
