/* gradcheck.c -- analytic gradients against GSL's central differences.
 *
 * Each partial derivative dJ/dv is estimated by gsl_deriv_central (a 5-point
 * rule with GSL's own step refinement from an initial step h) and compared
 * with backward()'s value over the whole vector with UFLDL's measure
 * ||g_num - g|| / ||g_num + g||.  Only parameters an optimiser moves are
 * checked (NOGRAD tensors, learned by update(), are not gradients of J). */
#include <math.h>
#include <stdlib.h>
#include <gsl/gsl_deriv.h>
#include <gsl/gsl_randist.h>
#include "gradcheck.h"
#include "registry.h"

/* Initial step for gsl_deriv_central: GSL scales it down itself; entries are
 * O(1) in every check, so 1e-4 balances truncation (h^4) and round-off. */
#define GC_STEP 1e-3

typedef struct gc_fn {
  sae_model *m;
  const sae_batch *b;
  const gsl_matrix *probe;
  double *v; /* the entry being varied */
  int failed;
  sae_error *e;
} gc_fn;

static double gc_cost(double v, void *params) {
  gc_fn *f = params;
  double saved = *f->v, cost = 0;
  *f->v = v;
  int rc = sae_model_forward(f->m, f->b, &cost, f->e);
  if (!rc && f->probe) {
    const gsl_matrix *y = sae_model_output(f->m, sae_model_last_node(f->m));
    for (size_t i = 0; i < y->size1; i++)
      for (size_t j = 0; j < y->size2; j++)
        cost += gsl_matrix_get(f->probe, i, j) * gsl_matrix_get(y, i, j);
  }
  if (rc) f->failed = rc;
  *f->v = saved;
  return cost;
}

typedef struct gc_acc {
  double diff2, sum2, max_abs, worst;
  size_t n;
} gc_acc;

static void gc_add(gc_acc *a, double num, double ana, size_t where) {
  double d = num - ana, s = num + ana;
  a->diff2 += d * d;
  a->sum2 += s * s;
  if (fabs(d) > a->max_abs) {
    a->max_abs = fabs(d);
    a->worst = (double)where;
  }
  a->n++;
}

/* Numerical derivative of J at entry v, compared with ana. */
static int gc_entry(gc_fn *f, double *v, double ana, size_t where, gc_acc *a) {
  gsl_function F = {gc_cost, f};
  double num, abserr;
  f->v = v;
  gsl_deriv_central(&F, *v, GC_STEP, &num, &abserr);
  if (f->failed) return f->failed;
  gc_add(a, num, ana, where);
  return 0;
}

static void gc_finish(const gc_acc *a, double tol, sae_gradcheck_result *r) {
  r->rel_error = a->sum2 > 0 ? sqrt(a->diff2 / a->sum2) : sqrt(a->diff2);
  r->max_abs_err = a->max_abs;
  r->worst_index = a->worst;
  r->n_checked = a->n;
  r->tol = tol;
  r->passed = isfinite(r->rel_error) && r->rel_error < tol;
}

static double model_tol(const sae_model *m) {
  for (size_t i = 0; i < sae_model_nodes(m); i++)
    if (sae_model_node(m, i)->type->flags & SAE_TYPE_NONSMOOTH) return SAE_GRADCHECK_TOL_NONSMOOTH;
  return SAE_GRADCHECK_TOL_SMOOTH;
}

/* Checks theta (and the input when dx is given; x must then be writable). */
static int gc_run(sae_model *m, const sae_batch *b, const gsl_matrix *probe, gsl_matrix *x,
                  gsl_matrix *dx, double tol, sae_gradcheck_result *r, sae_error *e) {
  double cost;
  int rc = sae_model_eval_probe(m, b, probe, dx, &cost, e);
  if (rc) return rc;
  gsl_vector *theta = sae_model_theta(m);
  gsl_vector *g = gsl_vector_alloc(theta->size ? theta->size : 1);
  if (!g) return sae_error_set(e, SAE_ENOMEM, "out of memory");
  if (theta->size) gsl_vector_memcpy(g, sae_model_grad(m));
  const signed char *dir = sae_model_direction(m);
  gc_fn f = {m, b, probe, NULL, 0, e};
  gc_acc a = {0, 0, 0, 0, 0};
  for (size_t i = 0; i < theta->size && !rc; i++)
    if (dir[i]) rc = gc_entry(&f, gsl_vector_ptr(theta, i), gsl_vector_get(g, i), i, &a);
  if (x && dx)
    for (size_t i = 0; i < x->size1 && !rc; i++)
      for (size_t j = 0; j < x->size2 && !rc; j++)
        rc = gc_entry(&f, gsl_matrix_ptr(x, i, j), gsl_matrix_get(dx, i, j),
                      theta->size + i * x->size2 + j, &a);
  gsl_vector_free(g);
  if (!rc) gc_finish(&a, tol, r);
  return rc;
}

int sae_gradcheck_model(sae_model *m, const sae_batch *b, sae_gradcheck_result *r, sae_error *e) {
  return gc_run(m, b, NULL, NULL, NULL, model_tol(m), r, e);
}

static void fill_uniform(gsl_matrix *a, gsl_rng *rng, double lo, double hi) {
  for (size_t i = 0; i < a->size1; i++)
    for (size_t j = 0; j < a->size2; j++)
      gsl_matrix_set(a, i, j, lo + (hi - lo) * gsl_rng_uniform(rng));
}

/* A regularizer: R(w) over a random matrix, through regularize() alone. */
typedef struct gc_reg {
  sae_node *nd;
  gsl_matrix *w;
  double *v;
  int failed;
} gc_reg;

static double gc_reg_cost(double v, void *params) {
  gc_reg *f = params;
  double saved = *f->v, c = 0;
  *f->v = v;
  int rc = f->nd->type->regularize(f->nd, f->w, NULL, &c);
  if (rc) f->failed = rc;
  *f->v = saved;
  return c;
}

static int gc_regularizer(const sae_type *t, const double *hp, gsl_rng *rng,
                          sae_gradcheck_result *r, sae_error *e) {
  sae_node nd = {0};
  nd.type = t;
  nd.hp = hp;
  nd.rng = rng;
  int rc = t->setup(&nd);
  if (rc) return sae_error_set(e, rc, "%s setup: %s", t->name, nd.msg);
  gsl_matrix *w = gsl_matrix_alloc(4, 5), *dw = gsl_matrix_calloc(4, 5);
  if (!w || !dw) {
    gsl_matrix_free(w);
    gsl_matrix_free(dw);
    return sae_error_set(e, SAE_ENOMEM, "out of memory");
  }
  fill_uniform(w, rng, -0.9, 0.9);
  double c = 0;
  if ((rc = t->regularize(&nd, w, dw, &c))) {
    sae_error_set(e, rc, "%s regularize: %s", t->name, nd.msg);
  } else {
    gc_reg f = {&nd, w, NULL, 0};
    gsl_function F = {gc_reg_cost, &f};
    gc_acc a = {0, 0, 0, 0, 0};
    for (size_t i = 0; i < w->size1 * w->size2 && !f.failed; i++) {
      double num, abserr;
      f.v = w->data + i;
      gsl_deriv_central(&F, *f.v, GC_STEP, &num, &abserr);
      gc_add(&a, num, dw->data[i], i);
    }
    rc = f.failed;
    if (rc) sae_error_set(e, rc, "%s regularize: %s", t->name, nd.msg);
    else gc_finish(&a, (t->flags & SAE_TYPE_NONSMOOTH) ? SAE_GRADCHECK_TOL_NONSMOOTH
                                                        : SAE_GRADCHECK_TOL_SMOOTH, r);
  }
  gsl_matrix_free(w);
  gsl_matrix_free(dw);
  return rc;
}

int sae_gradcheck_type(const sae_type *t, size_t n_hp, const char *const *hp_names,
                       const double *hp_values, gsl_rng *rng, sae_gradcheck_result *r,
                       sae_error *e) {
  enum { N_IN = 6, M = 5 };
  int rc;
  if (t->kind == SAE_KIND_REGULARIZER) {
    size_t nh = sae_type_hparam_count(t);
    double *hp = malloc((nh ? nh : 1) * sizeof *hp);
    if (!hp) return sae_error_set(e, SAE_ENOMEM, "out of memory");
    for (size_t i = 0; i < nh; i++) hp[i] = t->hparams[i].def;
    rc = 0;
    for (size_t k = 0; k < n_hp && !rc; k++) {
      int j = sae_type_hparam_index(t, hp_names[k]);
      if (j < 0) rc = sae_error_set(e, SAE_EHPARAM, "%s: unknown hyper-parameter '%s'", t->name, hp_names[k]);
      else hp[j] = hp_values[k];
    }
    if (!rc) rc = gc_regularizer(t, hp, rng, r, e);
    free(hp);
    return rc;
  }
  sae_model *m = sae_model_alloc(N_IN);
  gsl_matrix *x = gsl_matrix_alloc(M, N_IN), *target = gsl_matrix_alloc(M, N_IN);
  gsl_matrix *dx = gsl_matrix_alloc(M, N_IN), *probe = NULL;
  size_t labels[M];
  if (!m || !x || !target || !dx) {
    rc = sae_error_set(e, SAE_ENOMEM, "out of memory");
    goto done;
  }
  if ((rc = sae_model_add(m, t, NULL, NULL, NULL, NULL, n_hp, hp_names, hp_values, e)) ||
      (rc = sae_model_build(m, rng, e)))
    goto done;
  /* Inputs and targets inside (0.1, 0.9): valid for every type (KL needs
   * activations in (0,1), cross-entropy targets too) and away from kinks at 0. */
  fill_uniform(x, rng, 0.1, 0.9);
  fill_uniform(target, rng, 0.1, 0.9);
  for (size_t i = 0; i < M; i++) labels[i] = gsl_rng_uniform_int(rng, N_IN);
  size_t n_out = sae_model_node(m, 0)->n_out;
  if (!(probe = gsl_matrix_alloc(M, n_out))) {
    rc = sae_error_set(e, SAE_ENOMEM, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < M; i++)
    for (size_t j = 0; j < n_out; j++) gsl_matrix_set(probe, i, j, gsl_ran_gaussian(rng, 1.0));
  sae_batch b = {M, x, target, labels, SAE_MODE_TRAIN};
  rc = gc_run(m, &b, probe, x, dx, model_tol(m), r, e);
done:
  gsl_matrix_free(probe);
  gsl_matrix_free(dx);
  gsl_matrix_free(target);
  gsl_matrix_free(x);
  sae_model_free(m);
  return rc;
}
