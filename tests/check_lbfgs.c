/* check_lbfgs.c -- full-batch L-BFGS (optim_lbfgs.c): the least-squares
 * solution against GSL's closed form, softmax regression, stopping rules,
 * the history, and every refusal and error path. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_multifit.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include "model.h"
#include "optim_lbfgs.h"
#include "registry.h"

static sae_registry *reg;
static gsl_rng *rng;

static void setup(void) {
  sae_error_init();
  reg = sae_registry_alloc();
  ck_assert_ptr_nonnull(reg);
  const char *dir = getenv("SAE_TEST_PLUGIN_DIR");
  ck_assert_msg(dir != NULL, "SAE_TEST_PLUGIN_DIR is not set");
  sae_registry_load_path(reg, dir);
  rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, 2385);
}

static void teardown(void) {
  gsl_rng_free(rng);
  sae_registry_free(reg);
}

static const sae_type *T(const char *name) {
  const sae_type *t = sae_registry_find(reg, name);
  ck_assert_msg(t != NULL, "type %s not registered (is its plugin built?)", name);
  return t;
}

static void add(sae_model *m, const sae_type *t, const char *hp, double v) {
  sae_error e = {0, ""};
  const char *names[1] = {hp};
  double values[1] = {v};
  ck_assert_msg(sae_model_add(m, t, NULL, NULL, NULL, NULL, hp ? 1 : 0, names, values, &e) == 0,
                "%s", e.msg);
}

static void build(sae_model *m) {
  sae_error e = {0, ""};
  ck_assert_msg(sae_model_build(m, rng, &e) == 0, "%s", e.msg);
}

static sae_lbfgs_opts opts(int max_iter, double epsilon) {
  sae_lbfgs_opts o;
  sae_lbfgs_opts_default(&o);
  o.max_iter = max_iter;
  o.epsilon = epsilon;
  return o;
}

/* ---- least squares: y = x W^T + b against gsl_multifit_linear ----------------- */

enum { LS_M = 40, LS_P = 4, LS_K = 2 };

typedef struct ls_problem {
  gsl_matrix *x, *t; /* LS_M x LS_P inputs, LS_M x LS_K targets */
  sae_model *m;      /* dense(n_out = LS_K) + squared_error */
} ls_problem;

/* Column j of x scaled by scale^j: scale 1 is well conditioned. */
static ls_problem ls_make(double scale) {
  ls_problem p = {gsl_matrix_alloc(LS_M, LS_P), gsl_matrix_alloc(LS_M, LS_K), NULL};
  for (size_t i = 0; i < LS_M; i++) {
    for (size_t j = 0; j < LS_P; j++)
      gsl_matrix_set(p.x, i, j, pow(scale, (double)j) * gsl_ran_gaussian(rng, 1.0));
    for (size_t k = 0; k < LS_K; k++) {
      double y = 0.385 * (double)k - 1.25;
      for (size_t j = 0; j < LS_P; j++)
        y += (0.75 - 0.5 * (double)j + 0.3 * (double)k) * gsl_matrix_get(p.x, i, j) /
             pow(scale, (double)j);
      gsl_matrix_set(p.t, i, k, y + 0.1 * gsl_ran_gaussian(rng, 1.0));
    }
  }
  p.m = sae_model_alloc(LS_P);
  add(p.m, T("dense"), "n_out", LS_K);
  add(p.m, T("squared_error"), NULL, 0);
  build(p.m);
  return p;
}

static void ls_free(ls_problem *p) {
  sae_model_free(p->m);
  gsl_matrix_free(p->x);
  gsl_matrix_free(p->t);
}

START_TEST(test_least_squares_closed_form) {
  ls_problem p = ls_make(1.0);
  sae_batch b = {LS_M, p.x, p.t, NULL, SAE_MODE_TRAIN, NULL, NULL};
  sae_lbfgs_opts o = opts(200, 1e-10);
  sae_lbfgs_history h = {0};
  sae_error e = {0, ""};
  ck_assert_msg(sae_lbfgs_run(p.m, &b, &o, &h, &e) == 0, "%s", e.msg);
  ck_assert_msg(strncmp(h.status, "converged", 9) == 0 ||
                strncmp(h.status, "line search failed", 18) == 0, "status: %s", h.status);

  /* Closed form, one output column at a time: design [1 x], coefficients (b_k, W_k.):
   * output k's weights are row k of W. */
  gsl_matrix *X = gsl_matrix_alloc(LS_M, LS_P + 1), *cov = gsl_matrix_alloc(LS_P + 1, LS_P + 1);
  gsl_vector *c = gsl_vector_alloc(LS_P + 1);
  gsl_multifit_linear_workspace *w = gsl_multifit_linear_alloc(LS_M, LS_P + 1);
  for (size_t i = 0; i < LS_M; i++) {
    gsl_matrix_set(X, i, 0, 1.0);
    for (size_t j = 0; j < LS_P; j++) gsl_matrix_set(X, i, j + 1, gsl_matrix_get(p.x, i, j));
  }
  gsl_matrix *W, *bias;
  ck_assert_int_eq(sae_model_tensor(p.m, 0, "W", &W, &e), 0);
  ck_assert_int_eq(sae_model_tensor(p.m, 0, "b", &bias, &e), 0);
  double worst = 0;
  for (size_t k = 0; k < LS_K; k++) {
    double chisq;
    gsl_vector_const_view tk = gsl_matrix_const_column(p.t, k);
    ck_assert_int_eq(gsl_multifit_linear(X, &tk.vector, c, cov, &chisq, w), 0);
    worst = fmax(worst, fabs(gsl_matrix_get(bias, 0, k) - gsl_vector_get(c, 0)));
    for (size_t j = 0; j < LS_P; j++)
      worst = fmax(worst, fabs(gsl_matrix_get(W, k, j) - gsl_vector_get(c, j + 1)));
  }
  ck_assert_msg(worst < 1e-6, "largest |theta - closed form| = %g (%s after %zu iterations)", worst,
                h.status, h.n);
  gsl_multifit_linear_free(w);
  gsl_vector_free(c);
  gsl_matrix_free(cov);
  gsl_matrix_free(X);
  sae_lbfgs_history_free(&h);
  ls_free(&p);
}
END_TEST

/* theta on return is the last accepted iterate: its cost is final_cost. */
START_TEST(test_theta_is_final_iterate) {
  ls_problem p = ls_make(1.0);
  sae_batch b = {LS_M, p.x, p.t, NULL, SAE_MODE_TRAIN, NULL, NULL};
  sae_lbfgs_opts o = opts(0, 0.0); /* no limit, no gradient test: runs into the line search's end */
  sae_lbfgs_history h = {0};
  sae_error e = {0, ""};
  ck_assert_msg(sae_lbfgs_run(p.m, &b, &o, &h, &e) == 0, "%s", e.msg);
  ck_assert_msg(strncmp(h.status, "line search failed", 18) == 0 ||
                strncmp(h.status, "converged", 9) == 0, "status: %s", h.status);
  double cost;
  ck_assert_int_eq(sae_model_eval(p.m, &b, &cost, &e), 0);
  ck_assert_double_eq(cost, h.final_cost);
  ck_assert_double_eq(h.final_cost, h.cost[h.n - 1]);
  sae_lbfgs_history_free(&h);
  ls_free(&p);
}
END_TEST

/* ---- softmax regression on three separable clusters ---------------------------- */

enum { SM_M = 30, SM_K = 3 };

typedef struct sm_problem {
  gsl_matrix *x;
  size_t labels[SM_M];
  sae_model *m; /* dense(n_out = 3) + softmax */
} sm_problem;

static sm_problem sm_make(void) {
  static const double centre[SM_K][2] = {{3.0, 0.0}, {-3.0, 0.5}, {0.25, 3.5}};
  sm_problem p = {gsl_matrix_alloc(SM_M, 2), {0}, NULL};
  for (size_t i = 0; i < SM_M; i++) {
    p.labels[i] = i % SM_K;
    for (size_t j = 0; j < 2; j++)
      gsl_matrix_set(p.x, i, j, centre[i % SM_K][j] + 0.5 * gsl_ran_gaussian(rng, 1.0));
  }
  p.m = sae_model_alloc(2);
  add(p.m, T("dense"), "n_out", SM_K);
  add(p.m, T("softmax"), NULL, 0);
  build(p.m);
  return p;
}

static void sm_free(sm_problem *p) {
  sae_model_free(p->m);
  gsl_matrix_free(p->x);
}

START_TEST(test_softmax_cost_drops) {
  sm_problem p = sm_make();
  sae_batch b = {SM_M, p.x, NULL, p.labels, SAE_MODE_TRAIN, NULL, NULL};
  sae_lbfgs_opts o = opts(50, 1e-5);
  sae_lbfgs_history h = {0};
  sae_error e = {0, ""};
  ck_assert_msg(sae_lbfgs_run(p.m, &b, &o, &h, &e) == 0, "%s", e.msg);
  ck_assert_uint_ge(h.n, 1);
  ck_assert_msg(h.final_cost < 0.05 * h.initial_cost, "cost %g -> %g", h.initial_cost,
                h.final_cost);
  /* Every point classified: argmax of the logits is its label. */
  double cost;
  ck_assert_int_eq(sae_model_forward(p.m, &b, &cost, &e), 0);
  const gsl_matrix *z = sae_model_output(p.m, 0);
  for (size_t i = 0; i < SM_M; i++) {
    gsl_vector_const_view zi = gsl_matrix_const_row(z, i);
    ck_assert_uint_eq(gsl_vector_max_index(&zi.vector), p.labels[i]);
  }
  sae_lbfgs_history_free(&h);
  sm_free(&p);
}
END_TEST

START_TEST(test_max_iter) {
  sm_problem p = sm_make();
  sae_batch b = {SM_M, p.x, NULL, p.labels, SAE_MODE_TRAIN, NULL, NULL};
  sae_lbfgs_opts o = opts(3, 0.0);
  sae_lbfgs_history h = {0};
  sae_error e = {0, ""};
  ck_assert_msg(sae_lbfgs_run(p.m, &b, &o, &h, &e) == 0, "%s", e.msg);
  ck_assert_uint_eq(h.n, 3);
  ck_assert_str_eq(h.status, "max iterations reached");
  sae_lbfgs_history_free(&h);
  sm_free(&p);
}
END_TEST

/* Arrays of length n = iterations; k counts 1..n; evaluations grow by at
 * least one per iteration after the first; time and cost move one way. */
START_TEST(test_history_consistent) {
  sm_problem p = sm_make();
  sae_batch b = {SM_M, p.x, NULL, p.labels, SAE_MODE_TRAIN, NULL, NULL};
  sae_lbfgs_opts o = opts(25, 0.0);
  sae_lbfgs_history h = {0};
  sae_error e = {0, ""};
  ck_assert_msg(sae_lbfgs_run(p.m, &b, &o, &h, &e) == 0, "%s", e.msg);
  ck_assert_uint_ge(h.n, 2);
  ck_assert_uint_le(h.n, 25);
  for (size_t k = 0; k < h.n; k++) {
    ck_assert_uint_eq(h.iter[k], k + 1);
    ck_assert_uint_ge(h.evals[k], k + 2); /* the start, then >= 1 per iteration */
    ck_assert(h.gnorm[k] >= 0 && h.step[k] > 0 && isfinite(h.cost[k]));
    if (k) {
      ck_assert_uint_gt(h.evals[k], h.evals[k - 1]);
      ck_assert(h.seconds[k] >= h.seconds[k - 1]);
      ck_assert_msg(h.cost[k] <= h.cost[k - 1], "cost rose at iteration %zu", k + 1);
    }
  }
  ck_assert(h.cost[0] <= h.initial_cost);
  ck_assert_uint_ge(h.n_evals, h.evals[h.n - 1]);
  ck_assert(h.total_seconds >= h.seconds[h.n - 1]);
  ck_assert_double_eq(h.final_cost, h.cost[h.n - 1]);
  sae_lbfgs_history_free(&h);
  sae_lbfgs_history_free(&h); /* freed twice: zeroed, no-op */
  sae_lbfgs_history_free(NULL);
  sm_free(&p);
}
END_TEST

/* ---- limits ---------------------------------------------------------------------- */

/* A start that already passes the gradient test: no iteration, theta unchanged. */
START_TEST(test_already_minimal) {
  ls_problem p = ls_make(1.0);
  sae_batch b = {LS_M, p.x, p.t, NULL, SAE_MODE_TRAIN, NULL, NULL};
  gsl_vector *before = gsl_vector_alloc(sae_model_theta(p.m)->size);
  gsl_vector_memcpy(before, sae_model_theta(p.m));
  sae_lbfgs_opts o = opts(10, 1e6);
  sae_lbfgs_history h = {0};
  sae_error e = {0, ""};
  ck_assert_msg(sae_lbfgs_run(p.m, &b, &o, &h, &e) == 0, "%s", e.msg);
  ck_assert_uint_eq(h.n, 0);
  ck_assert_uint_eq(h.n_evals, 1);
  ck_assert_ptr_nonnull(strstr(h.status, "converged"));
  ck_assert(gsl_vector_equal(before, sae_model_theta(p.m)));
  ck_assert_double_eq(h.final_cost, h.initial_cost);
  gsl_vector_free(before);
  sae_lbfgs_history_free(&h);
  ls_free(&p);
}
END_TEST

/* The delta test: past = 1, a 10% decrease required. */
START_TEST(test_delta_stop) {
  ls_problem p = ls_make(1.0);
  sae_batch b = {LS_M, p.x, p.t, NULL, SAE_MODE_TRAIN, NULL, NULL};
  sae_lbfgs_opts o = opts(100, 0.0);
  o.past = 1;
  o.delta = 0.1;
  sae_lbfgs_history h = {0};
  sae_error e = {0, ""};
  ck_assert_msg(sae_lbfgs_run(p.m, &b, &o, &h, &e) == 0, "%s", e.msg);
  ck_assert_str_eq(h.status, "stopped: cost decrease < delta");
  ck_assert_uint_lt(h.n, 100);
  sae_lbfgs_history_free(&h);
  ls_free(&p);
}
END_TEST

/* No iteration limit on an ill-conditioned problem with a history of 1: the
 * history outgrows its first allocation (64) and keeps every iteration. */
START_TEST(test_unlimited_grows) {
  ls_problem p = ls_make(8.0);
  sae_batch b = {LS_M, p.x, p.t, NULL, SAE_MODE_TRAIN, NULL, NULL};
  sae_lbfgs_opts o = opts(0, 1e-12);
  o.m = 1;
  sae_lbfgs_history h = {0};
  sae_error e = {0, ""};
  ck_assert_msg(sae_lbfgs_run(p.m, &b, &o, &h, &e) == 0, "%s", e.msg);
  ck_assert_msg(h.n > 64, "only %zu iterations (%s): the growth path was not taken", h.n, h.status);
  ck_assert_uint_eq(h.iter[h.n - 1], h.n);
  sae_lbfgs_history_free(&h);
  ls_free(&p);
}
END_TEST

/* NULL options and history: the defaults, nothing kept. */
START_TEST(test_null_opts_history) {
  ls_problem p = ls_make(1.0);
  sae_batch b = {LS_M, p.x, p.t, NULL, SAE_MODE_TRAIN, NULL, NULL};
  sae_error e = {0, ""};
  double before, after;
  ck_assert_int_eq(sae_model_eval(p.m, &b, &before, &e), 0);
  ck_assert_msg(sae_lbfgs_run(p.m, &b, NULL, NULL, &e) == 0, "%s", e.msg);
  ck_assert_int_eq(sae_model_eval(p.m, &b, &after, &e), 0);
  ck_assert(after < before);
  sae_lbfgs_opts o;
  sae_lbfgs_opts_default(&o);
  ck_assert_int_eq(o.max_iter, 400);
  ck_assert_int_eq(o.m, 6);
  ck_assert_double_eq(o.epsilon, 1e-5);
  ck_assert_int_eq(o.past, 0);
  ck_assert_int_eq(o.verbose, 0);
  ls_free(&p);
}
END_TEST

/* verbose: one line per iteration in the documented format, then a summary. */
START_TEST(test_verbose_lines) {
  sm_problem p = sm_make();
  sae_batch b = {SM_M, p.x, NULL, p.labels, SAE_MODE_TRAIN, NULL, NULL};
  sae_lbfgs_opts o = opts(4, 0.0);
  char *buf = NULL;
  size_t len = 0;
  o.verbose = 1;
  o.stream = open_memstream(&buf, &len);
  ck_assert_ptr_nonnull(o.stream);
  sae_lbfgs_history h = {0};
  sae_error e = {0, ""};
  ck_assert_msg(sae_lbfgs_run(p.m, &b, &o, &h, &e) == 0, "%s", e.msg);
  fclose(o.stream);
  int lines = 0;
  for (char *s = buf; (s = strstr(s, "iter ")) != NULL; s++) lines++;
  ck_assert_int_eq(lines, 4);
  ck_assert_ptr_nonnull(strstr(buf, "iter    1  cost "));
  ck_assert_ptr_nonnull(strstr(buf, "  |g| "));
  ck_assert_ptr_nonnull(strstr(buf, "L-BFGS: max iterations reached after 4 iterations"));
  free(buf);
  sae_lbfgs_history_free(&h);
  sm_free(&p);
}
END_TEST

/* ---- errors ---------------------------------------------------------------------- */

/* Test-local types (not plugins): a penalty with a parameter learned by
 * ascent, one with a projection, one that fails on its fourth forward. */
static int tl_setup(sae_node *nd) {
  nd->n_out = nd->n_in;
  nd->n_tensors = 1;
  nd->ws_per_example = 0;
  nd->tensor[0] = (sae_tensor_spec){"S", 1, 1, SAE_INIT_CONST, 0.5,
                                    nd->type->name[0] == 'a' ? SAE_TENSOR_ASCENT : 0};
  return SAE_OK;
}

/* y = x; cost += S sum(x) / m */
static int tl_forward(sae_node *nd, const gsl_matrix *x, gsl_matrix *y, double *cost) {
  gsl_matrix_memcpy(y, x);
  double s = 0;
  for (size_t i = 0; i < x->size1; i++)
    for (size_t j = 0; j < x->size2; j++) s += gsl_matrix_get(x, i, j);
  *cost += gsl_matrix_get(&nd->param[0], 0, 0) * s / (double)x->size1;
  if (nd->state && ++*(int *)nd->state > 3)
    return SAE_FAIL(nd, SAE_EDATA, "fail_late: planted failure at forward %d", *(int *)nd->state);
  return SAE_OK;
}

static int tl_backward(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y,
                       const gsl_matrix *dy, gsl_matrix *dx) {
  (void)y;
  double s = 0;
  const double S = gsl_matrix_get(&nd->param[0], 0, 0), m = (double)x->size1;
  for (size_t i = 0; i < x->size1; i++)
    for (size_t j = 0; j < x->size2; j++) {
      s += gsl_matrix_get(x, i, j);
      if (dx) gsl_matrix_set(dx, i, j, gsl_matrix_get(dx, i, j) + gsl_matrix_get(dy, i, j) + S / m);
    }
  gsl_matrix_set(&nd->grad[0], 0, 0, gsl_matrix_get(&nd->grad[0], 0, 0) + s / m);
  return SAE_OK;
}

static int tl_project(sae_node *nd) {
  gsl_matrix_set(&nd->param[0], 0, 0, fmin(1.0, gsl_matrix_get(&nd->param[0], 0, 0)));
  return SAE_OK;
}

static const sae_type ascent_type = {
  .name = "ascent_pen", .kind = SAE_KIND_PENALTY, .summary = "test", .citation = "",
  .setup = tl_setup, .forward = tl_forward, .backward = tl_backward};
static const sae_type projected_type = {
  .name = "projected_pen", .kind = SAE_KIND_PENALTY, .summary = "test", .citation = "",
  .setup = tl_setup, .forward = tl_forward, .backward = tl_backward, .project = tl_project};
static const sae_type fail_late_type = {
  .name = "fail_late", .kind = SAE_KIND_PENALTY, .summary = "test", .citation = "",
  .state_size = sizeof(int), .setup = tl_setup, .forward = tl_forward, .backward = tl_backward};

/* dense(3) + the given penalty + dense(4) + squared_error on 4 inputs. */
static sae_model *with_penalty(const sae_type *t) {
  sae_model *m = sae_model_alloc(4);
  add(m, T("dense"), "n_out", 3);
  add(m, t, NULL, 0);
  add(m, T("dense"), "n_out", 4);
  add(m, T("squared_error"), NULL, 0);
  build(m);
  return m;
}

static gsl_matrix *random_x(size_t m, size_t n) {
  gsl_matrix *x = gsl_matrix_alloc(m, n);
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++) gsl_matrix_set(x, i, j, gsl_rng_uniform(rng) - 0.5);
  return x;
}

START_TEST(test_refuses_ascent_and_project) {
  gsl_matrix *x = random_x(10, 4);
  sae_batch b = {10, x, x, NULL, SAE_MODE_TRAIN, NULL, NULL};
  const sae_type *types[2] = {&ascent_type, &projected_type};
  const char *words[2] = {"L-BFGS minimises: the model has parameters learned by ascent",
                          "projects its parameters"};
  for (int k = 0; k < 2; k++) {
    sae_model *m = with_penalty(types[k]);
    sae_lbfgs_history h = {0};
    sae_error e = {0, ""};
    ck_assert_int_eq(sae_lbfgs_run(m, &b, NULL, &h, &e), SAE_ETYPE);
    ck_assert_msg(strstr(e.msg, words[k]) != NULL, "message: %s", e.msg);
    ck_assert_str_eq(h.status, e.msg);
    ck_assert_uint_eq(h.n_evals, 0); /* refused before any evaluation */
    sae_lbfgs_history_free(&h);
    sae_model_free(m);
  }
  gsl_matrix_free(x);
}
END_TEST

START_TEST(test_bad_options_and_state) {
  ls_problem p = ls_make(1.0);
  sae_batch b = {LS_M, p.x, p.t, NULL, SAE_MODE_TRAIN, NULL, NULL};
  sae_error e = {0, ""};
  sae_lbfgs_opts o;
  struct { int field; double v; const char *word; } bad[] = {
    {0, -1, "max_iter"}, {1, 0, "m = 0"}, {2, -1e-3, "epsilon"}, {3, -1, "delta"},
    {4, -2, "past"}, {2, NAN, "epsilon"}};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    sae_lbfgs_opts_default(&o);
    switch (bad[k].field) {
    case 0: o.max_iter = (int)bad[k].v; break;
    case 1: o.m = (int)bad[k].v; break;
    case 2: o.epsilon = bad[k].v; break;
    case 3: o.delta = bad[k].v; break;
    default: o.past = (int)bad[k].v; break;
    }
    ck_assert_int_eq(sae_lbfgs_run(p.m, &b, &o, NULL, &e), SAE_EHPARAM);
    ck_assert_msg(strstr(e.msg, bad[k].word) != NULL, "message: %s", e.msg);
  }
  /* not built */
  sae_model *nb = sae_model_alloc(LS_P);
  add(nb, T("dense"), "n_out", 1);
  ck_assert_int_eq(sae_lbfgs_run(nb, &b, NULL, NULL, &e), SAE_ESTATE);
  ck_assert_ptr_nonnull(strstr(e.msg, "not built"));
  sae_model_free(nb);
  ls_free(&p);
}
END_TEST

/* The model's own error on the first evaluation: passed through, theta unchanged. */
START_TEST(test_model_error_passes_through) {
  ls_problem p = ls_make(1.0);
  sae_batch b = {LS_M, p.x, NULL, NULL, SAE_MODE_TRAIN, NULL, NULL}; /* squared_error needs a target */
  gsl_vector *before = gsl_vector_alloc(sae_model_theta(p.m)->size);
  gsl_vector_memcpy(before, sae_model_theta(p.m));
  sae_lbfgs_history h = {0};
  sae_error e = {0, ""};
  ck_assert_int_eq(sae_lbfgs_run(p.m, &b, NULL, &h, &e), SAE_ESHAPE);
  ck_assert_msg(strstr(e.msg, "needs a target") != NULL, "message: %s", e.msg);
  ck_assert_ptr_nonnull(strstr(h.status, "needs a target"));
  ck_assert_uint_eq(h.n, 0);
  ck_assert_uint_eq(h.n_evals, 1);
  ck_assert(gsl_vector_equal(before, sae_model_theta(p.m)));
  gsl_vector_free(before);
  sae_lbfgs_history_free(&h);
  ls_free(&p);
}
END_TEST

/* A failure in the middle of the run: the error wins over liblbfgs's code,
 * the iterations made are kept. */
START_TEST(test_error_mid_run) {
  gsl_matrix *x = random_x(10, 4);
  sae_batch b = {10, x, x, NULL, SAE_MODE_TRAIN, NULL, NULL};
  sae_model *m = with_penalty(&fail_late_type);
  sae_lbfgs_history h = {0};
  sae_error e = {0, ""};
  sae_lbfgs_opts o = opts(100, 0.0);
  ck_assert_int_eq(sae_lbfgs_run(m, &b, &o, &h, &e), SAE_EDATA);
  ck_assert_msg(strstr(e.msg, "planted failure at forward 4") != NULL, "message: %s", e.msg);
  ck_assert_uint_ge(h.n, 1);
  ck_assert_uint_le(h.n, 2);
  ck_assert_uint_eq(h.n_evals, 4);
  ck_assert_double_eq(h.final_cost, h.cost[h.n - 1]);
  sae_lbfgs_history_free(&h);
  sae_model_free(m);
  gsl_matrix_free(x);
}
END_TEST

/* A non-finite cost (NaN in the data) is SAE_ENUMERIC, naming the entry. */
START_TEST(test_nonfinite_cost) {
  ls_problem p = ls_make(1.0);
  gsl_matrix_set(p.x, 7, 2, NAN);
  sae_batch b = {LS_M, p.x, p.t, NULL, SAE_MODE_TRAIN, NULL, NULL};
  sae_error e = {0, ""};
  ck_assert_int_eq(sae_lbfgs_run(p.m, &b, NULL, NULL, &e), SAE_ENUMERIC);
  ck_assert_msg(strstr(e.msg, "evaluation 1: the input has NaN (row 8, column 3)") != NULL,
                "message: %s", e.msg);
  ls_free(&p);
}
END_TEST

static Suite *lbfgs_suite(void) {
  Suite *s = suite_create("lbfgs");
  TCase *core = tcase_create("core"), *limits = tcase_create("limits"),
        *errors = tcase_create("errors");
  TCase *all[3] = {core, limits, errors};
  for (int k = 0; k < 3; k++) {
    tcase_add_checked_fixture(all[k], setup, teardown);
    tcase_set_timeout(all[k], 30);
    suite_add_tcase(s, all[k]);
  }
  tcase_add_test(core, test_least_squares_closed_form);
  tcase_add_test(core, test_theta_is_final_iterate);
  tcase_add_test(core, test_softmax_cost_drops);
  tcase_add_test(core, test_max_iter);
  tcase_add_test(core, test_history_consistent);
  tcase_add_test(limits, test_already_minimal);
  tcase_add_test(limits, test_delta_stop);
  tcase_add_test(limits, test_unlimited_grows);
  tcase_add_test(limits, test_null_opts_history);
  tcase_add_test(limits, test_verbose_lines);
  tcase_add_test(errors, test_refuses_ascent_and_project);
  tcase_add_test(errors, test_bad_options_and_state);
  tcase_add_test(errors, test_model_error_passes_through);
  tcase_add_test(errors, test_error_mid_run);
  tcase_add_test(errors, test_nonfinite_cost);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(lbfgs_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
