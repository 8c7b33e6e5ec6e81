/* check_elementwise.c -- <saelab/elementwise.h>: every fast kernel against a
 * plain twin.
 *   sigmoid:  sae_sigmoid (glibc's vector exp when the build has libmvec and
 *             the CPU AVX2) against sae_sigmoid_ref (libm's exp): within
 *             4 ulp (the bound the header derives: libmvec's exp within 4 ulp
 *             of libm's, divided down by 1 + e), equal at the limits (0, 1,
 *             NaN), and an element's value independent of where it sits;
 *             the sigmoid type's forward is sae_sigmoid's, element for element.
 *   sums:     sae_col_sums equals the plain loop down each column exactly (the
 *             same order), on one thread and on every core, narrow, wide
 *             (several chunks of accumulators) and strided; squared_error's
 *             and kl's costs equal plain-loop
 *             twins within the recursive-summation bound.
 *   spans:    every element of a contiguous or strided matrix in exactly one span. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_rng.h>
#include <saelab/elementwise.h>
#include "model.h"
#include "test_plugins.h"

static sae_registry *reg;

/* Distance in ulp between two finite doubles of one sign (or both zero). */
static double ulps(double a, double b) {
  if (a == b) return 0;
  int64_t ia, ib;
  memcpy(&ia, &a, sizeof ia);
  memcpy(&ib, &b, sizeof ib);
  return (double)(ia > ib ? ia - ib : ib - ia);
}

START_TEST(test_sigmoid_path) {
#ifdef SAE_EW_MVEC
  /* the comparisons below test the vector path wherever it can run */
  __builtin_cpu_init();
  ck_assert_int_eq(sae_ew_avx2(), __builtin_cpu_supports("avx2") ? 1 : 0);
#endif
}
END_TEST

START_TEST(test_sigmoid_twin) {
  enum { N = 4096 };
  static double x[N], fast[N], ref[N];
  double worst = 0;
  size_t total = 0;
  /* [-750, 750]: exp(-x) from overflow (sigmoid 0) to underflow (sigmoid 1) */
  for (double start = -750.0; start < 750.0; start += N * 0.0123) {
    for (size_t j = 0; j < N; j++) x[j] = start + 0.0123 * (double)j + 1e-7 * (double)(j % 7);
    sae_sigmoid(N, x, fast);
    sae_sigmoid_ref(N, x, ref);
    for (size_t j = 0; j < N; j++) {
      const double u = ulps(fast[j], ref[j]);
      ck_assert_msg(u <= 4, "sigmoid(%.17g): %.17g, libm twin %.17g (%g ulp)", x[j], fast[j],
                    ref[j], u);
      if (u > worst) worst = u;
    }
    total += N;
  }
  ck_assert_uint_gt(total, 100000);
  const double special[] = {NAN, INFINITY, -INFINITY, 0.0, -0.0, 1e-300, -1e-300, 710, -710,
                            745.2, -745.2, 36.8, 40, -40, DBL_MIN, 4.9e-324};
  const size_t ns = sizeof special / sizeof *special;
  double f[16], r[16];
  sae_sigmoid(ns, special, f);
  sae_sigmoid_ref(ns, special, r);
  ck_assert(isnan(f[0]) && isnan(r[0]));
  ck_assert_double_eq(f[1], 1.0);
  ck_assert_double_eq(f[2], 0.0);
  for (size_t j = 1; j < ns; j++)
    ck_assert_msg(ulps(f[j], r[j]) <= 4, "sigmoid(%g): %.17g, twin %.17g", special[j], f[j], r[j]);
}
END_TEST

/* The tail of a call goes through the same exp as a full vector: a value is
 * the same at every offset and in calls of every length. */
START_TEST(test_sigmoid_position) {
  const double v = -0.7316;
  double x[9], y[9], once;
  sae_sigmoid(1, &v, &once);
  for (size_t n = 1; n <= 9; n++)
    for (size_t at = 0; at < n; at++) {
      for (size_t j = 0; j < n; j++) x[j] = 0.25 * (double)j;
      x[at] = v;
      sae_sigmoid(n, x, y);
      ck_assert_msg(y[at] == once, "length %zu, offset %zu: %.17g, alone %.17g", n, at, y[at],
                    once);
    }
}
END_TEST

/* A 37 x 29 view with row stride 31 (not contiguous), and a contiguous one. */
static gsl_matrix *filled(size_t m, size_t tda, gsl_rng *rng) {
  gsl_matrix *a = gsl_matrix_alloc(m, tda);
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < tda; j++) gsl_matrix_set(a, i, j, gsl_rng_uniform(rng) - 0.3);
  return a;
}

/* sae_col_sums of the m x n view of an m x tda block against the plain loop,
 * bit for bit, from nonzero starting sums. */
static void check_col_sums(size_t m, size_t n, size_t tda, gsl_rng *rng) {
  gsl_matrix *a = filled(m, tda, rng);
  gsl_matrix_view v = gsl_matrix_submatrix(a, 0, 0, m, n);
  double *s = malloc(n * sizeof *s), *plain = malloc(n * sizeof *plain);
  for (size_t j = 0; j < n; j++) s[j] = plain[j] = 0.5 * (double)j;
  sae_col_sums(&v.matrix, s);
  for (size_t j = 0; j < n; j++) {
    for (size_t i = 0; i < m; i++) plain[j] += gsl_matrix_get(a, i, j);
    ck_assert_msg(s[j] == plain[j], "%zu x %zu (tda %zu) column %zu: %.17g, plain %.17g", m, n,
                  tda, j, s[j], plain[j]);
  }
  free(s);
  free(plain);
  gsl_matrix_free(a);
}

START_TEST(test_col_sums) {
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  const size_t widths[] = {1, 7, 8, 9, 29, 31};
  for (size_t w = 0; w < sizeof widths / sizeof *widths; w++) check_col_sums(37, widths[w], 31, rng);
  /* wider than one chunk of accumulators (SAE_EW_COLS), strided */
  check_col_sums(37, 600, 611, rng);
  check_col_sums(5, SAE_EW_COLS, SAE_EW_COLS, rng);
  check_col_sums(5, SAE_EW_COLS + 1, SAE_EW_COLS + 1, rng);
  /* above SAE_EW_PAR_MIN elements: the threads' column ranges (main sets
   * passive waits, so the pass takes every core) */
  check_col_sums(2000, 25, 25, rng);
  check_col_sums(2000, 64, 64, rng);
  check_col_sums(100, 700, 700, rng);
  check_col_sums(60, 600, 611, rng);
  gsl_rng_free(rng);
}
END_TEST

START_TEST(test_spans) {
  const size_t shapes[][3] = {{1, 5, 5}, {3, 5, 5}, {3, 5, 8}, {2000, 25, 25}, {7, 4096, 4096},
                              {9, 4097, 4100}};
  for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
    const size_t m = shapes[k][0], n = shapes[k][1], tda = shapes[k][2];
    const size_t tdas[2] = {tda, tda};
    const sae_ew_plan p = sae_ew_plan_for(m, n, tdas, 2);
    ck_assert_int_eq(p.flat, tda == n && m > 1);
    unsigned char *seen = calloc(m * tda, 1);
    for (size_t s = 0; s < p.count; s++)
      for (size_t j = 0; j < sae_ew_len(&p, s); j++) seen[sae_ew_off(&p, s, tda) + j]++;
    for (size_t i = 0; i < m; i++)
      for (size_t j = 0; j < tda; j++)
        ck_assert_msg(seen[i * tda + j] == (j < n), "%zu x %zu (tda %zu): [%zu,%zu] seen %d", m,
                      n, tda, i, j, seen[i * tda + j]);
    free(seen);
  }
}
END_TEST

/* The sigmoid type's forward, through the host, against the libm twin. */
START_TEST(test_sigmoid_type) {
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  sae_error e = {0, ""};
  sae_model *mod = sae_model_alloc(33);
  ck_assert_int_eq(sae_model_add(mod, test_type("sigmoid"), NULL, NULL, NULL, NULL, 0, NULL, NULL, &e), 0);
  ck_assert_msg(sae_model_build(mod, rng, &e) == 0, "%s", e.msg);
  gsl_matrix *x = filled(50, 33, rng);
  gsl_matrix_scale(x, 60.0);
  sae_batch b = {50, x, NULL, NULL, SAE_MODE_TRAIN, NULL, NULL};
  double cost;
  ck_assert_msg(sae_model_forward(mod, &b, &cost, &e) == 0, "%s", e.msg);
  const gsl_matrix *y = sae_model_output(mod, 0);
  for (size_t i = 0; i < 50; i++) {
    double ref[33];
    sae_sigmoid_ref(33, x->data + i * x->tda, ref);
    for (size_t j = 0; j < 33; j++)
      ck_assert_msg(ulps(gsl_matrix_get(y, i, j), ref[j]) <= 4, "sigmoid(%g): %.17g, twin %.17g",
                    gsl_matrix_get(x, i, j), gsl_matrix_get(y, i, j), ref[j]);
  }
  gsl_matrix_free(x);
  sae_model_free(mod);
  gsl_rng_free(rng);
}
END_TEST

/* squared_error's and kl's costs against plain loops.  Both sum N
 * non-negative terms (kl: its n per-unit terms are the same expression, only
 * rho_hat is a column sum in the same order); any two orders of such a sum
 * differ relatively by at most 2 (N - 1) DBL_EPSILON (recursive summation,
 * Higham, Accuracy and Stability of Numerical Algorithms, 2002, eq. 4.4). */
START_TEST(test_cost_twins) {
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  sae_error e = {0, ""};
  const size_t m = 53, n = 19;
  gsl_matrix *x = filled(m, n, rng), *t = filled(m, n, rng);
  gsl_matrix_add_constant(x, 0.35); /* in (0.05, 1.05) */
  gsl_matrix_scale(x, 0.9);         /* in (0,1) for kl */
  sae_batch b = {m, x, t, NULL, SAE_MODE_TRAIN, NULL, NULL};

  sae_model *se = sae_model_alloc(n);
  ck_assert_int_eq(sae_model_add(se, test_type("squared_error"), NULL, NULL, NULL, NULL, 0, NULL, NULL, &e), 0);
  ck_assert_msg(sae_model_build(se, rng, &e) == 0, "%s", e.msg);
  double cost = 0, plain = 0;
  ck_assert_msg(sae_model_forward(se, &b, &cost, &e) == 0, "%s", e.msg);
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++) {
      const double d = gsl_matrix_get(x, i, j) - gsl_matrix_get(t, i, j);
      plain += d * d;
    }
  plain /= 2.0 * (double)m;
  ck_assert_double_le(fabs(cost - plain), 2.0 * (double)(m * n - 1) * DBL_EPSILON * plain);
  sae_model_free(se);

  sae_model *kl = sae_model_alloc(n);
  const char *rho[] = {"rho"};
  const double r = 0.2;
  ck_assert_int_eq(sae_model_add(kl, test_type("kl"), NULL, NULL, NULL, NULL, 1, rho, &r, &e), 0);
  ck_assert_msg(sae_model_build(kl, rng, &e) == 0, "%s", e.msg);
  ck_assert_msg(sae_model_forward(kl, &b, &cost, &e) == 0, "%s", e.msg);
  plain = 0;
  for (size_t j = 0; j < n; j++) {
    double rh = 0;
    for (size_t i = 0; i < m; i++) rh += gsl_matrix_get(x, i, j);
    rh /= (double)m;
    plain += r * log(r / rh) + (1 - r) * (log1p(-r) - log1p(-rh)); /* kl's expression */
  }
  plain *= 3; /* beta's default */
  ck_assert_double_le(fabs(cost - plain), 2.0 * (double)(n - 1) * DBL_EPSILON * plain + 1e-15);
  sae_model_free(kl);
  gsl_matrix_free(x);
  gsl_matrix_free(t);
  gsl_rng_free(rng);
}
END_TEST

int main(void) {
  sae_error_init();
  /* The passes take omp_get_max_threads() only under passive waits
   * (sae_omp_threads, read at the first pass): so the threaded paths run. */
  setenv("OMP_WAIT_POLICY", "passive", 1);
  if (!(reg = test_plugins("elementwise", 9))) return EXIT_FAILURE;
  Suite *s = suite_create("elementwise");
  TCase *core = tcase_create("core");
  tcase_set_timeout(core, 60);
  tcase_add_test(core, test_sigmoid_path);
  tcase_add_test(core, test_sigmoid_twin);
  tcase_add_test(core, test_sigmoid_position);
  tcase_add_test(core, test_col_sums);
  tcase_add_test(core, test_spans);
  tcase_add_test(core, test_sigmoid_type);
  tcase_add_test(core, test_cost_twins);
  suite_add_tcase(s, core);
  return test_run(s, reg);
}
