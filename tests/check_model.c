/* check_model.c -- models (model.c) and SGD (optim.c): wiring, shapes,
 * hand-computed values, ties, batches of changing size, errors. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_rng.h>
#include "model.h"
#include "optim.h"
#include "registry.h"

static sae_registry *reg;
static gsl_rng *rng;

static void setup(void) {
  sae_error_init();
  reg = sae_registry_alloc();
  ck_assert_ptr_nonnull(reg);
  const char *dir = getenv("SAE_TEST_PLUGIN_DIR");
  ck_assert_msg(dir != NULL, "SAE_TEST_PLUGIN_DIR is not set");
  ck_assert_uint_ge(sae_registry_load_path(reg, dir), 4);
  rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, 2385);
}

static void teardown(void) {
  gsl_rng_free(rng);
  sae_registry_free(reg);
}

static const sae_type *T(const char *name) {
  const sae_type *t = sae_registry_find(reg, name);
  ck_assert_msg(t != NULL, "type %s not registered", name);
  return t;
}

static int add(sae_model *m, const char *type, const char *name, const char *hp, double v,
               sae_error *e) {
  const char *names[1] = {hp};
  double values[1] = {v};
  return sae_model_add(m, T(type), name, NULL, NULL, NULL, hp ? 1 : 0, names, values, e);
}

/* 8-3-8 with optional tied decoder and weight decay. */
static sae_model *encoder(int tied, int decay, sae_error *e) {
  sae_model *m = sae_model_alloc(8);
  ck_assert_int_eq(add(m, "dense", "enc", "n_out", 3, e), 0);
  ck_assert_int_eq(add(m, "sigmoid", "code", NULL, 0, e), 0);
  const char *names[1] = {"n_out"};
  double values[1] = {8};
  ck_assert_int_eq(sae_model_add(m, T("dense"), "dec", NULL, tied ? "enc" : NULL, NULL, 1, names,
                                 values, e), 0);
  ck_assert_int_eq(add(m, "sigmoid", "out", NULL, 0, e), 0);
  ck_assert_int_eq(add(m, "squared_error", NULL, NULL, 0, e), 0);
  if (decay) ck_assert_int_eq(add(m, "l2", NULL, "lambda", 1e-3, e), 0);
  ck_assert_msg(sae_model_build(m, rng, e) == 0, "%s", e->msg);
  return m;
}

START_TEST(test_param_counts) {
  sae_error e = {0, ""};
  sae_model *m = encoder(0, 0, &e);
  ck_assert_uint_eq(sae_model_theta(m)->size, 8 * 3 + 3 + 3 * 8 + 8);
  sae_model_free(m);
  m = encoder(1, 1, &e);
  ck_assert_uint_eq(sae_model_theta(m)->size, 8 * 3 + 3 + 8); /* W2 = W1^T */
  ck_assert_int_eq(sae_model_node(m, 2)->trans[0], 1);
  ck_assert_ptr_eq(sae_model_node(m, 2)->param[0].data, sae_model_node(m, 0)->param[0].data);
  sae_model_free(m);
}
END_TEST

/* A 2-input, 1-output linear model, by hand:
 * x = [1 2; 3 4], W = [0.5; -0.25], b = 0.1 -> y = [0.1; 0.6]
 * t = [0.3; 0.2]: cost = 1/(2*2) (0.04 + 0.16) = 0.05
 * dW = x^T (y - t) / 2 = [0.5; 0.6], db = 0.1 */
START_TEST(test_hand_values) {
  sae_error e = {0, ""};
  sae_model *m = sae_model_alloc(2);
  ck_assert_int_eq(add(m, "dense", NULL, "n_out", 1, &e), 0);
  ck_assert_int_eq(add(m, "squared_error", NULL, NULL, 0, &e), 0);
  ck_assert_int_eq(sae_model_build(m, rng, &e), 0);
  gsl_vector *th = sae_model_theta(m);
  ck_assert_uint_eq(th->size, 3);
  gsl_vector_set(th, 0, 0.5);
  gsl_vector_set(th, 1, -0.25);
  gsl_vector_set(th, 2, 0.1);
  double xd[] = {1, 2, 3, 4}, td[] = {0.3, 0.2};
  gsl_matrix_view x = gsl_matrix_view_array(xd, 2, 2), t = gsl_matrix_view_array(td, 2, 1);
  sae_batch b = {2, &x.matrix, &t.matrix, NULL, SAE_MODE_TRAIN, NULL, NULL};
  double cost;
  ck_assert_int_eq(sae_model_eval(m, &b, &cost, &e), 0);
  ck_assert_double_eq_tol(cost, 0.05, 1e-15);
  gsl_vector *g = sae_model_grad(m);
  ck_assert_double_eq_tol(gsl_vector_get(g, 0), 0.5, 1e-15);
  ck_assert_double_eq_tol(gsl_vector_get(g, 1), 0.6, 1e-15);
  ck_assert_double_eq_tol(gsl_vector_get(g, 2), 0.1, 1e-15);
  sae_model_free(m);
}
END_TEST

static void fill(gsl_matrix *a, gsl_rng *r) {
  for (size_t i = 0; i < a->size1; i++)
    for (size_t j = 0; j < a->size2; j++) gsl_matrix_set(a, i, j, gsl_rng_uniform(r));
}

/* Buffers grow with the batch; a small batch after a big one gives the
 * same numbers as before. */
START_TEST(test_batch_sizes) {
  sae_error e = {0, ""};
  sae_model *m = encoder(0, 1, &e);
  gsl_matrix *x3 = gsl_matrix_alloc(3, 8), *x50 = gsl_matrix_alloc(50, 8);
  fill(x3, rng);
  fill(x50, rng);
  sae_batch b3 = {3, x3, x3, NULL, SAE_MODE_TRAIN, NULL, NULL}, b50 = {50, x50, x50, NULL, SAE_MODE_TRAIN, NULL, NULL};
  double c1, c2, c50;
  ck_assert_int_eq(sae_model_eval(m, &b3, &c1, &e), 0);
  ck_assert_int_eq(sae_model_eval(m, &b50, &c50, &e), 0);
  ck_assert_int_eq(sae_model_eval(m, &b3, &c2, &e), 0);
  ck_assert_double_eq(c1, c2);
  ck_assert(c50 > 0);
  gsl_matrix_free(x3);
  gsl_matrix_free(x50);
  sae_model_free(m);
}
END_TEST

/* The host zeroes each gradient tensor just before its first writer in
 * backward order (model.c, gfresh), not the block up front: a gradient block
 * full of NaN before an eval gives the same bits as a zeroed one, with the
 * decoder tied to the encoder (two writers of W) and weight decay (added
 * after backward). */
START_TEST(test_grad_unzeroed) {
  sae_error e = {0, ""};
  sae_model *m = encoder(_i, 1, &e);
  gsl_matrix *x = gsl_matrix_alloc(5, 8);
  fill(x, rng);
  sae_batch b = {5, x, x, NULL, SAE_MODE_TRAIN, NULL, NULL};
  double c;
  gsl_vector *g = sae_model_grad(m), *g0 = gsl_vector_alloc(g->size);
  gsl_vector_set_zero(g);
  ck_assert_int_eq(sae_model_eval(m, &b, &c, &e), 0);
  gsl_vector_memcpy(g0, g);
  gsl_vector_set_all(g, NAN);
  ck_assert_int_eq(sae_model_eval(m, &b, &c, &e), 0);
  ck_assert(memcmp(g->data, g0->data, g->size * sizeof *g->data) == 0);
  gsl_vector_free(g0);
  gsl_matrix_free(x);
  sae_model_free(m);
}
END_TEST

/* The activation before a loss runs inside the loss's pass (plugin.h,
 * sae_act_fuse): cost, gradient and dJ/dx bit for bit as in two passes, and
 * n_fused activations were fused (none with sae_model_fuse(m, 0)). */
static void fuse_same(sae_model *m, size_t rows, int want_dx, size_t n_fused) {
  sae_error e = {0, ""};
  const size_t n = sae_model_n_in(m);
  gsl_matrix *x = gsl_matrix_alloc(rows, n), *dx[2] = {NULL, NULL};
  for (size_t i = 0; i < rows * n; i++) x->data[i] = 0.1 + 0.8 * gsl_rng_uniform(rng);
  sae_batch b = {rows, x, x, NULL, SAE_MODE_TRAIN, NULL, NULL};
  gsl_vector *g = sae_model_grad(m), *gs[2];
  double c[2];
  for (int on = 0; on < 2; on++) {
    if (want_dx) dx[on] = gsl_matrix_alloc(rows, n);
    sae_model_fuse(m, on);
    gsl_vector_set_all(g, NAN);
    ck_assert_msg(sae_model_eval_probe(m, &b, NULL, dx[on], &c[on], &e) == 0, "%s", e.msg);
    ck_assert_uint_eq(sae_model_act_fused(m), on ? n_fused : 0);
    gs[on] = gsl_vector_alloc(g->size);
    gsl_vector_memcpy(gs[on], g);
  }
  ck_assert(memcmp(&c[0], &c[1], sizeof c[0]) == 0);
  ck_assert(memcmp(gs[0]->data, gs[1]->data, g->size * sizeof *g->data) == 0);
  if (want_dx) ck_assert(memcmp(dx[0]->data, dx[1]->data, rows * n * sizeof(double)) == 0);
  for (int on = 0; on < 2; on++) {
    gsl_vector_free(gs[on]);
    gsl_matrix_free(dx[on]);
  }
  gsl_matrix_free(x);
}

START_TEST(test_act_fuse) {
  sae_error e = {0, ""};
  /* UFLDL's: the output sigmoid fuses into squared_error, the code's (read
   * by kl and the decoder) does not; 3000 x 40, above the one-thread limit */
  sae_model *m = sae_model_alloc(40);
  ck_assert_int_eq(add(m, "dense", "enc", "n_out", 20, &e), 0);
  ck_assert_int_eq(add(m, "sigmoid", "code", NULL, 0, &e), 0);
  ck_assert_int_eq(add(m, "kl", NULL, NULL, 0, &e), 0);
  ck_assert_int_eq(add(m, "dense", "dec", "n_out", 40, &e), 0);
  ck_assert_int_eq(add(m, "sigmoid", "out", NULL, 0, &e), 0);
  ck_assert_int_eq(add(m, "squared_error", NULL, NULL, 0, &e), 0);
  ck_assert_int_eq(add(m, "l2", NULL, "lambda", 1e-4, &e), 0);
  ck_assert_msg(sae_model_build(m, rng, &e) == 0, "%s", e.msg);
  fuse_same(m, 3000, 1, 1);
  fuse_same(m, 7, 0, 1);
  sae_model_free(m);
  /* the layer's dy written first by a node after the loss (l1 on h, in
   * backward order before it): the fused pass adds into it */
  m = sae_model_alloc(40);
  ck_assert_int_eq(add(m, "dense", "h", "n_out", 40, &e), 0);
  ck_assert_int_eq(add(m, "sigmoid", NULL, NULL, 0, &e), 0);
  ck_assert_int_eq(add(m, "squared_error", NULL, NULL, 0, &e), 0);
  ck_assert_int_eq(sae_model_add(m, T("l1"), NULL, "h", NULL, NULL, 0, NULL, NULL, &e), 0);
  ck_assert_msg(sae_model_build(m, rng, &e) == 0, "%s", e.msg);
  fuse_same(m, 200, 1, 1);
  sae_model_free(m);
  /* an activation another node also reads is not fused: here l1 adds into
   * its dy after the loss (backward order), before its backward */
  m = sae_model_alloc(40);
  ck_assert_int_eq(add(m, "dense", NULL, "n_out", 40, &e), 0);
  ck_assert_int_eq(add(m, "sigmoid", "a", NULL, 0, &e), 0);
  ck_assert_int_eq(add(m, "l1", NULL, NULL, 0, &e), 0);
  ck_assert_int_eq(sae_model_add(m, T("squared_error"), NULL, "a", NULL, NULL, 0, NULL, NULL, &e),
                   0);
  ck_assert_msg(sae_model_build(m, rng, &e) == 0, "%s", e.msg);
  fuse_same(m, 200, 1, 0);
  sae_model_free(m);
  /* every activation type, after a layer and on the model input (its dx is
   * then dJ/dx of the input, which the host zeroed: added into) */
  const char *acts[] = {"sigmoid", "tanh", "relu", "identity"};
  for (size_t k = 0; k < 4; k++) {
    m = sae_model_alloc(40);
    ck_assert_int_eq(add(m, "dense", NULL, "n_out", 40, &e), 0);
    ck_assert_int_eq(add(m, acts[k], NULL, NULL, 0, &e), 0);
    ck_assert_int_eq(add(m, "squared_error", NULL, NULL, 0, &e), 0);
    ck_assert_msg(sae_model_build(m, rng, &e) == 0, "%s", e.msg);
    fuse_same(m, 1500, 1, 1);
    sae_model_free(m);
    m = sae_model_alloc(40);
    ck_assert_int_eq(add(m, acts[k], NULL, NULL, 0, &e), 0);
    ck_assert_int_eq(add(m, "squared_error", NULL, NULL, 0, &e), 0);
    ck_assert_msg(sae_model_build(m, rng, &e) == 0, "%s", e.msg);
    fuse_same(m, 1500, 1, 1);
    fuse_same(m, 1500, 0, 0); /* no input gradient wanted: nothing to fuse into */
    sae_model_free(m);
  }
}
END_TEST

/* Same seed, same initial parameters; another seed, others. */
START_TEST(test_seeded_init) {
  sae_error e = {0, ""};
  gsl_rng_set(rng, 11);
  sae_model *a = encoder(0, 0, &e);
  gsl_rng_set(rng, 11);
  sae_model *b = encoder(0, 0, &e);
  gsl_rng_set(rng, 12);
  sae_model *c = encoder(0, 0, &e);
  ck_assert(gsl_vector_equal(sae_model_theta(a), sae_model_theta(b)));
  ck_assert(!gsl_vector_equal(sae_model_theta(a), sae_model_theta(c)));
  sae_model_free(a);
  sae_model_free(b);
  sae_model_free(c);
}
END_TEST

/* dense's W (n_out x n_in, a row per unit) is drawn column by column
 * (SAE_TENSOR_INIT_BY_COL): draw k = i n_out + j lands in W[j][i], where the
 * former n_in x n_out layout had it at [i][j], so a seed keeps its weights. */
START_TEST(test_dense_init_order) {
  sae_error e = {0, ""};
  sae_model *m = sae_model_alloc(3);
  ck_assert_int_eq(add(m, "dense", "enc", "n_out", 2, &e), 0);
  gsl_rng_set(rng, 2385);
  ck_assert_int_eq(sae_model_build(m, rng, &e), 0);
  gsl_matrix *W;
  ck_assert_int_eq(sae_model_tensor(m, 0, "W", &W, &e), 0);
  ck_assert_uint_eq(W->size1, 2);
  ck_assert_uint_eq(W->size2, 3);
  const double r = sqrt(6.0 / (3 + 2 + 1));
  gsl_rng *ref = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(ref, 2385);
  for (size_t i = 0; i < 3; i++)
    for (size_t j = 0; j < 2; j++)
      ck_assert_double_eq(gsl_matrix_get(W, j, i), r * (2 * gsl_rng_uniform(ref) - 1));
  gsl_rng_free(ref);
  sae_model_free(m);
}
END_TEST

/* encode then decode reproduces forward's output. */
START_TEST(test_encode_decode) {
  sae_error e = {0, ""};
  sae_model *m = encoder(1, 0, &e);
  gsl_matrix *x = gsl_matrix_alloc(4, 8), *z = gsl_matrix_alloc(4, 3), *y = gsl_matrix_alloc(4, 8);
  fill(x, rng);
  sae_batch b = {4, x, x, NULL, SAE_MODE_TRAIN, NULL, NULL};
  double cost;
  ck_assert_int_eq(sae_model_forward(m, &b, &cost, &e), 0);
  gsl_matrix_memcpy(y, sae_model_output(m, 3));
  const gsl_matrix *out;
  ck_assert_int_eq(sae_model_encode(m, &b, 1, &out, &e), 0);
  gsl_matrix_memcpy(z, out);
  ck_assert_int_eq(sae_model_decode(m, 1, z, &out, &e), 0);
  for (size_t i = 0; i < 4; i++)
    for (size_t j = 0; j < 8; j++)
      ck_assert_double_eq_tol(gsl_matrix_get(out, i, j), gsl_matrix_get(y, i, j), 1e-15);
  gsl_matrix_free(x);
  gsl_matrix_free(z);
  gsl_matrix_free(y);
  sae_model_free(m);
}
END_TEST

/* Full-batch SGD on the 8 one-hot patterns lowers the cost; and a momentum
 * step is, element by element and to the bit, v <- mu v - eta g, theta <-
 * theta + v (checked at the second step, v != 0: the vector body and the
 * tail of optim.c's loop, 59 parameters; tests/check_f32.c has the float
 * step). */
START_TEST(test_sgd_descends) {
  sae_error e = {0, ""};
  sae_model *m = encoder(0, 0, &e);
  gsl_matrix *x = gsl_matrix_alloc(8, 8);
  gsl_matrix_set_identity(x);
  sae_batch b = {8, x, x, NULL, SAE_MODE_TRAIN, NULL, NULL};
  sae_sgd *s = sae_sgd_alloc(m);
  const double eta = 0.5, mu = 0.9;
  ck_assert_int_eq(sae_sgd_set(s, eta, mu, &e), 0);
  const gsl_vector *th = sae_model_theta(m), *v = sae_sgd_velocity(s);
  const size_t n = th->size;
  ck_assert_uint_eq(n % 8 != 0, 1);
  gsl_vector *th0 = gsl_vector_alloc(n), *v0 = gsl_vector_alloc(n), *g = gsl_vector_alloc(n);
  double first = 0, cost = 0;
  for (int it = 0; it < 200; it++) {
    if (it == 1) {
      gsl_vector_memcpy(th0, th);
      gsl_vector_memcpy(v0, v);
      ck_assert_int_eq(sae_model_eval(m, &b, &cost, &e), 0); /* the gradient the step sees */
      gsl_vector_memcpy(g, sae_model_grad(m));
    }
    ck_assert_int_eq(sae_sgd_step(s, &b, &cost, &e), 0);
    if (it == 0) first = cost;
    for (size_t i = 0; it == 1 && i < n; i++) {
      const double vi = mu * v0->data[i] - eta * g->data[i], ti = th0->data[i] + vi;
      ck_assert_msg(v->data[i] == vi && th->data[i] == ti,
                    "parameter %zu: v %.17g (want %.17g), theta %.17g (want %.17g)", i, v->data[i],
                    vi, th->data[i], ti);
    }
  }
  ck_assert_msg(cost < 0.5 * first, "cost %g after 200 steps, %g at first", cost, first);
  gsl_vector_free(th0);
  gsl_vector_free(v0);
  gsl_vector_free(g);
  sae_sgd_free(s);
  gsl_matrix_free(x);
  sae_model_free(m);
}
END_TEST

/* Which models have a cost to minimise: a loss, a penalty or a regularizer;
 * not an encoder alone (the optimisers' bindings refuse those). */
START_TEST(test_has_cost) {
  sae_error e = {0, ""};
  sae_model *m = encoder(0, 0, &e);
  ck_assert_int_eq(sae_model_has_cost(m), 1);
  sae_model_free(m);
  const char *kinds[] = {NULL, "kl", "l2", "l1"};
  for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
    m = sae_model_alloc(4);
    ck_assert_int_eq(add(m, "dense", "enc", "n_out", 3, &e), 0);
    ck_assert_int_eq(add(m, "sigmoid", "code", NULL, 0, &e), 0);
    if (kinds[k]) ck_assert_msg(add(m, kinds[k], NULL, NULL, 0, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(sae_model_has_cost(m), kinds[k] != NULL);
    sae_model_free(m);
  }
}
END_TEST

START_TEST(test_free_null) {
  sae_model_free(NULL);
  sae_sgd_free(NULL);
  ck_assert_ptr_null(sae_model_alloc(0));
}
END_TEST

START_TEST(test_hparam_errors) {
  sae_error e = {0, ""};
  sae_model *m = sae_model_alloc(4);
  ck_assert_int_eq(add(m, "dense", NULL, "nout", 3, &e), SAE_EHPARAM);
  ck_assert_ptr_nonnull(strstr(e.msg, "unknown hyper-parameter 'nout'"));
  ck_assert_ptr_nonnull(strstr(e.msg, "n_out"));
  ck_assert_int_eq(add(m, "dense", NULL, "n_out", 0, &e), SAE_EHPARAM);
  ck_assert_ptr_nonnull(strstr(e.msg, "n_out = 0 is outside"));
  ck_assert_int_eq(add(m, "dense", NULL, "n_out", 2.5, &e), SAE_EHPARAM);
  ck_assert_ptr_nonnull(strstr(e.msg, "whole number"));
  ck_assert_int_eq(add(m, "dense", NULL, "n_out", NAN, &e), SAE_EHPARAM);
  ck_assert_uint_eq(sae_model_nodes(m), 0);
  ck_assert_int_eq(add(m, "dense", "a", "n_out", 3, &e), 0);
  ck_assert_int_eq(add(m, "sigmoid", "a", NULL, 0, &e), SAE_ETYPE);
  ck_assert_ptr_nonnull(strstr(e.msg, "already exists"));
  ck_assert_int_eq(sae_model_add(m, T("sigmoid"), NULL, "nosuch", NULL, NULL, 0, NULL, NULL, &e),
                   SAE_ETYPE);
  ck_assert_ptr_nonnull(strstr(e.msg, "nosuch"));
  sae_model_free(m);
}
END_TEST

START_TEST(test_state_errors) {
  sae_error e = {0, ""};
  sae_model *m = sae_model_alloc(4);
  ck_assert_int_eq(sae_model_build(m, rng, &e), SAE_ESTATE);
  ck_assert_int_eq(add(m, "dense", "a", "n_out", 3, &e), 0);
  gsl_matrix *x = gsl_matrix_calloc(2, 4);
  sae_batch b = {2, x, x, NULL, SAE_MODE_TRAIN, NULL, NULL};
  double cost;
  ck_assert_int_eq(sae_model_forward(m, &b, &cost, &e), SAE_ESTATE);
  ck_assert_int_eq(sae_model_build(m, rng, &e), 0);
  ck_assert_int_eq(sae_model_build(m, rng, &e), SAE_ESTATE);
  ck_assert_int_eq(add(m, "sigmoid", NULL, NULL, 0, &e), SAE_ESTATE);
  ck_assert_int_eq(sae_model_set_hp(m, 0, "n_out", 4, &e), SAE_EHPARAM);
  ck_assert_ptr_nonnull(strstr(e.msg, "cannot change after build"));
  gsl_matrix_free(x);
  sae_model_free(m);
}
END_TEST

START_TEST(test_shape_errors) {
  sae_error e = {0, ""};
  sae_model *m = encoder(0, 0, &e);
  gsl_matrix *x = gsl_matrix_calloc(2, 7), *x8 = gsl_matrix_calloc(2, 8), *t = gsl_matrix_calloc(3, 8);
  sae_batch b = {2, x, x, NULL, SAE_MODE_TRAIN, NULL, NULL};
  double cost;
  ck_assert_int_eq(sae_model_forward(m, &b, &cost, &e), SAE_ESHAPE);
  ck_assert_ptr_nonnull(strstr(e.msg, "input has 7 columns, the model expects 8"));
  sae_batch bt = {2, x8, t, NULL, SAE_MODE_TRAIN, NULL, NULL};
  ck_assert_int_eq(sae_model_forward(m, &bt, &cost, &e), SAE_ESHAPE);
  sae_batch nt = {2, x8, NULL, NULL, SAE_MODE_TRAIN, NULL, NULL};
  ck_assert_int_eq(sae_model_forward(m, &nt, &cost, &e), SAE_ESHAPE);
  ck_assert_ptr_nonnull(strstr(e.msg, "needs a target"));
  const gsl_matrix *out;
  ck_assert_int_eq(sae_model_decode(m, 1, x, &out, &e), SAE_ESHAPE);
  gsl_matrix_free(x);
  gsl_matrix_free(x8);
  gsl_matrix_free(t);
  sae_model_free(m);

  /* a tie whose transpose does not fit: enc 8x3, dec 3x4 */
  m = sae_model_alloc(8);
  ck_assert_int_eq(add(m, "dense", "enc", "n_out", 3, &e), 0);
  const char *names[1] = {"n_out"};
  double values[1] = {4};
  ck_assert_int_eq(sae_model_add(m, T("dense"), "dec", NULL, "enc", NULL, 1, names, values, &e), 0);
  ck_assert_int_eq(sae_model_build(m, rng, &e), SAE_ESHAPE);
  ck_assert_ptr_nonnull(strstr(e.msg, "transpose"));
  sae_model_free(m);
}
END_TEST

/* Sizes that wrap are refused with one line, before anything is allocated:
 * n_in * n_out past 2^64, n_in * n_out * 17 bytes (theta, gradient,
 * direction) past 2^64 though the count fits, and a batch whose outputs
 * (m * n_out doubles) wrap at the first forward. */
START_TEST(test_size_overflow) {
  sae_error e = {0, ""};
  sae_model *m = sae_model_alloc((size_t)1 << 62);
  ck_assert_int_eq(add(m, "dense", "enc", "n_out", 1e6, &e), 0);
  ck_assert_int_eq(sae_model_build(m, rng, &e), SAE_ENOMEM);
  ck_assert_msg(strstr(e.msg, "'enc'") && strstr(e.msg, "overflows"), "%s", e.msg);
  ck_assert_ptr_null(sae_model_theta(m));
  sae_model_free(m);

  m = sae_model_alloc((size_t)1 << 40); /* 2^40 * 10^6 fits in 64 bits, 17 times that does not */
  ck_assert_int_eq(add(m, "dense", "enc", "n_out", 1e6, &e), 0);
  ck_assert_int_eq(sae_model_build(m, rng, &e), SAE_ENOMEM);
  ck_assert_msg(strstr(e.msg, "overflows"), "%s", e.msg);
  sae_model_free(m);

  m = sae_model_alloc(4);
  ck_assert_int_eq(add(m, "dense", "enc", "n_out", 1e6, &e), 0);
  ck_assert_msg(sae_model_build(m, rng, &e) == 0, "%s", e.msg);
  double data[4] = {2.385, 1, 2, 3};
  /* a batch of 2^50 rows that is never read: the sizes are refused first */
  gsl_matrix huge = {(size_t)1 << 50, 4, 0, data, NULL, 0};
  sae_batch b = {huge.size1, &huge, NULL, NULL, SAE_MODE_TRAIN, NULL, NULL};
  double cost;
  ck_assert_int_eq(sae_model_forward(m, &b, &cost, &e), SAE_ENOMEM);
  ck_assert_msg(strstr(e.msg, "'enc'") && strstr(e.msg, "overflows"), "%s", e.msg);
  sae_model_free(m);
}
END_TEST

START_TEST(test_sgd_errors) {
  sae_error e = {0, ""};
  sae_model *m = encoder(0, 0, &e);
  sae_sgd *s = sae_sgd_alloc(m);
  ck_assert_int_eq(sae_sgd_set(s, 0, 0, &e), SAE_EHPARAM);
  ck_assert_int_eq(sae_sgd_set(s, 0.1, 1.0, &e), SAE_EHPARAM);
  ck_assert_int_eq(sae_sgd_set(s, -1, 0, &e), SAE_EHPARAM);
  ck_assert_int_eq(sae_sgd_set(s, NAN, 0, &e), SAE_EHPARAM);
  sae_sgd_free(s);
  sae_model_free(m);
}
END_TEST

static Suite *model_suite(void) {
  Suite *s = suite_create("model");
  TCase *core = tcase_create("core"), *limits = tcase_create("limits"), *errors = tcase_create("errors");
  tcase_add_checked_fixture(core, setup, teardown);
  tcase_add_checked_fixture(limits, setup, teardown);
  tcase_add_checked_fixture(errors, setup, teardown);
  tcase_add_test(core, test_param_counts);
  tcase_add_test(core, test_hand_values);
  tcase_add_loop_test(core, test_grad_unzeroed, 0, 2);
  tcase_add_test(core, test_encode_decode);
  tcase_add_test(core, test_sgd_descends);
  tcase_add_test(core, test_act_fuse);
  tcase_add_test(limits, test_batch_sizes);
  tcase_add_test(limits, test_seeded_init);
  tcase_add_test(limits, test_dense_init_order);
  tcase_add_test(limits, test_free_null);
  tcase_add_test(limits, test_has_cost);
  tcase_add_test(errors, test_hparam_errors);
  tcase_add_test(errors, test_state_errors);
  tcase_add_test(errors, test_shape_errors);
  tcase_add_test(errors, test_sgd_errors);
  tcase_add_test(errors, test_size_overflow);
  suite_add_tcase(s, core);
  suite_add_tcase(s, limits);
  suite_add_tcase(s, errors);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(model_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
