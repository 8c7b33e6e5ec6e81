/* gradcheck.c -- analytic gradients against GSL's central differences.
 *
 * Each partial derivative dJ/dv is estimated by gsl_deriv_central (a 5-point
 * rule with GSL's own step refinement from an initial step h) and compared
 * with backward()'s value over the whole vector with UFLDL's measure
 * ||g_num - g|| / ||g_num + g||.  Only parameters an optimiser moves are
 * checked (NOGRAD tensors, learned by update(), are not gradients of J).
 *
 * Why a type's check has two parts.  A penalty or loss copies x to y, so a
 * check of J = sum(R .* y) + cost with a random R sees dJ/dx = R + dcost/dx,
 * and R dominates: a factor-2 bug in a penalty's own gradient at lambda 1e-7
 * moved the measure by 4e-9, under the 1e-6 of a NONSMOOTH type.  So the
 * cost term is checked alone (dy = 0: J = cost), measured against its own
 * gradient, whatever lambda scales it by (the measure is scale-free), and the
 * output alone (J = sum(R .* y)).  The output's analytic gradient is
 * backward(R) - backward(0): backward is affine in dy for any type that
 * obeys the chain rule, and one that does not fails one of the two parts.
 * This needs no knowledge of which hyper-parameter weighs the cost (choosing
 * a lambda that makes a term dominate would), and it loses nothing unless the
 * cost's gradient exceeds the output's by ~1e6, where the subtraction's
 * rounding reaches the smooth tolerance.
 *
 * An argmin type (SAE_TYPE_ARGMIN: lateral inhibition's code z* = argmin_z
 * E(x, z; theta)) is checked on its own energy alone, at the code held fixed:
 * the analytic side runs inference once (TRAIN) and backward(dy = 0), the
 * numeric side evaluates E(x, z*; theta +- h) in SAE_MODE_ENERGY, which keeps
 * z*.  That is what backward claims (the envelope theorem: d(min_z E)/dtheta =
 * dE/dtheta at z*), exactly, whatever the inner iterations; whether z* is
 * close enough to the minimum for the claim to hold of E* = min_z E is the
 * model check's job (sae_gradcheck_model re-runs inference at every point).
 * The output part does not apply: nothing backpropagates through an argmin. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_deriv.h>
#include <gsl/gsl_randist.h>
#include "gradcheck.h"
#include "registry.h"

/* Initial step for gsl_deriv_central: GSL scales it down itself; entries are
 * O(1) in every check, so 1e-3 balances truncation (h^4) and round-off. */
#define GC_STEP 1e-3

enum { PART_COST, PART_OUTPUT, N_PARTS };
static const char *const part_name[N_PARTS] = {"cost", "output"};

typedef struct gc_fn {
  sae_model *m;
  const sae_batch *b; /* the numeric side's batch (SAE_MODE_ENERGY for an argmin type) */
  const gsl_matrix *probe; /* R (PART_OUTPUT) */
  int part;
  double *v; /* the entry being varied */
  int failed;
  sae_error *e;
} gc_fn;

/* J of the part at v: the model's cost, or sum(R .* y) without it. */
static double gc_cost(double v, void *params) {
  gc_fn *f = params;
  double saved = *f->v, cost = 0;
  *f->v = v;
  int rc = sae_model_forward(f->m, f->b, &cost, f->e);
  if (!rc && f->part == PART_OUTPUT) {
    const gsl_matrix *y = sae_model_output(f->m, sae_model_last_node(f->m));
    cost = 0;
    for (size_t i = 0; i < y->size1; i++)
      for (size_t j = 0; j < y->size2; j++)
        cost += gsl_matrix_get(f->probe, i, j) * gsl_matrix_get(y, i, j);
  }
  if (rc) f->failed = rc;
  *f->v = saved;
  return cost;
}

/* One part's measure and its worst entry (largest |num - ana|). */
typedef struct gc_acc {
  double diff2, sum2, max_abs, worst_num, worst_ana;
  size_t worst, n;
} gc_acc;

static void gc_add(gc_acc *a, double num, double ana, size_t where) {
  double d = num - ana, s = num + ana;
  a->diff2 += d * d;
  a->sum2 += s * s;
  if (fabs(d) > a->max_abs || a->n == 0) {
    a->max_abs = fabs(d);
    a->worst = where;
    a->worst_num = num;
    a->worst_ana = ana;
  }
  a->n++;
}

static double gc_rel(const gc_acc *a) {
  return a->sum2 > 0 ? sqrt(a->diff2 / a->sum2) : sqrt(a->diff2);
}

/* Numerical derivative of the part's J at entry v, compared with ana.
 *
 * Kinks.  A piecewise-smooth J (a shrink, a ReLU, T = 11 of them in lista)
 * has kinks, and one that falls within the step of v spoils the difference
 * quotient whatever the gradient.  Where the entry disagrees with ana by
 * more than tol, the estimate is repeated at steps 100 and 10^4 times
 * smaller: if the first two estimates disagree with each other, the larger
 * step straddled a kink and the smaller one's estimate is used (and the next
 * pair decides the same way).  The choice compares the estimates with each
 * other, never with ana: a wrong gradient gives estimates that agree with
 * each other at every step and still fails.  Such entries are counted
 * (kinks) and reported.  Only for a model with a NONSMOOTH node (kinks !=
 * NULL): a smooth J has none, and at its 1e-9 tolerance the finer steps'
 * round-off would only add error. */
static int gc_entry(gc_fn *f, int part, double *v, double ana, double tol, size_t where,
                    gc_acc *a, size_t *kinks) {
  gsl_function F = {gc_cost, f};
  double num, abserr;
  f->part = part;
  f->v = v;
  gsl_deriv_central(&F, *v, GC_STEP, &num, &abserr);
  if (f->failed) return f->failed;
  if (kinks && fabs(num - ana) > tol * (fabs(num) + fabs(ana))) {
    double h = GC_STEP;
    for (int k = 0; k < 2; k++) {
      double finer;
      h *= 1e-2;
      gsl_deriv_central(&F, *v, h, &finer, &abserr);
      if (f->failed) return f->failed;
      /* the finer step's round-off, about eps |J| / h, bounds agreement */
      if (fabs(finer - num) <= tol * (fabs(finer) + fabs(num)) + abserr) break;
      num = finer;
      if (k == 0) (*kinks)++;
    }
  }
  gc_add(a, num, ana, where);
  return 0;
}

/* The result from the parts' accumulators (n_parts of them); the caller then
 * names the worst entry's place (gc_name). */
static void gc_finish(const gc_acc *acc, int n_parts, double tol, sae_gradcheck_result *r) {
  int worst = 0;
  double rel[N_PARTS];
  for (int p = 0; p < n_parts; p++) {
    rel[p] = gc_rel(&acc[p]);
    if (!(rel[p] <= rel[worst])) worst = p; /* NaN counts as worst */
  }
  const gc_acc *a = &acc[worst];
  r->rel_error = rel[worst];
  r->max_abs_err = a->max_abs;
  r->worst_index = (double)a->worst;
  r->n_checked = acc[0].n;
  r->n_kinks = 0;
  r->tol = tol;
  r->passed = 1;
  for (int p = 0; p < n_parts; p++) r->passed &= isfinite(rel[p]) && rel[p] < tol;
  r->cost_rel_error = rel[PART_COST];
  r->output_rel_error = n_parts > PART_OUTPUT ? rel[PART_OUTPUT] : NAN;
  r->part = part_name[worst];
  memset(&r->worst, 0, sizeof r->worst);
  r->worst.analytic = a->worst_ana;
  r->worst.numeric = a->worst_num;
  double scale = fmax(fabs(a->worst_num), fabs(a->worst_ana));
  r->worst.rel = scale > 0 ? a->max_abs / scale : 0;
  r->message[0] = '\0';
}

/* Names the worst entry and writes the one-line message; label follows the
 * node's name ("" or " (own cost)"). */
static void gc_name(sae_gradcheck_result *r, const char *node, const char *tensor, size_t row,
                    size_t col, const char *label) {
  sae_gradcheck_entry *w = &r->worst;
  snprintf(w->node, sizeof w->node, "%s", node);
  snprintf(w->tensor, sizeof w->tensor, "%s", tensor);
  w->row = row;
  w->col = col;
  if (r->n_checked == 0)
    snprintf(r->message, sizeof r->message, "%s: no entries to check", node);
  else
    snprintf(r->message, sizeof r->message,
             "%s%s: grad %s[%zu,%zu] analytic %.3g numeric %.3g (rel %.2g)", node, label, tensor,
             row + 1, col + 1, w->analytic, w->numeric, w->rel);
}

/* Names flat entry k (theta, then the input's m x n_in entries) of m. */
static void gc_locate(sae_model *m, size_t k, const char *label, sae_gradcheck_result *r) {
  const gsl_vector *theta = sae_model_theta(m);
  if (k >= theta->size) {
    size_t n_in = sae_model_n_in(m), xi = k - theta->size;
    const char *node = sae_model_nodes(m) == 1 ? sae_model_node_name(m, 0) : "input";
    gc_name(r, node, "x", xi / n_in, xi % n_in, label);
    return;
  }
  /* Owners come before the nodes tied or shared to them: the first view
   * holding k is the tensor's own name. */
  for (size_t i = 0; i < sae_model_nodes(m); i++) {
    const sae_node *nd = sae_model_node(m, i);
    for (size_t j = 0; j < nd->n_tensors; j++) {
      const gsl_matrix *t = &nd->param[j];
      size_t off = (size_t)(t->data - theta->data);
      if (k >= off && k < off + t->size1 * t->tda) {
        gc_name(r, sae_model_node_name(m, i), nd->tensor[j].name, (k - off) / t->tda,
                (k - off) % t->tda, label);
        return;
      }
    }
  }
  gc_name(r, "?", "theta", 0, k, label);
}

static int has_kinks(const sae_model *m) {
  for (size_t i = 0; i < sae_model_nodes(m); i++)
    if (sae_model_node(m, i)->type->flags & SAE_TYPE_NONSMOOTH) return 1;
  return 0;
}

static double model_tol(const sae_model *m) {
  return has_kinks(m) ? SAE_GRADCHECK_TOL_NONSMOOTH : SAE_GRADCHECK_TOL_SMOOTH;
}

/* Checks theta, and the input when x is given (then writable, and b->x).
 * probe NULL: one part, J = the model's cost.  Otherwise the two parts of a
 * type check (see the top of the file). */
static int gc_run(sae_model *m, const sae_batch *b, const sae_batch *nb, const gsl_matrix *probe,
                  gsl_matrix *x, double tol, sae_gradcheck_result *r, sae_error *e) {
  gsl_vector *theta = sae_model_theta(m);
  const size_t np = theta->size, n_parts = probe ? N_PARTS : 1;
  gsl_vector *g[N_PARTS] = {NULL, NULL};
  gsl_matrix *dx[N_PARTS] = {NULL, NULL};
  double cost;
  int rc = 0;
  for (size_t p = 0; p < n_parts && !rc; p++) {
    if (!(g[p] = gsl_vector_alloc(np ? np : 1)) ||
        (x && !(dx[p] = gsl_matrix_alloc(x->size1, x->size2))))
      rc = sae_error_set(e, SAE_ENOMEM, "out of memory");
    /* part 0: backward(dy = 0); part 1: backward(R), less part 0 below */
    else if (!(rc = sae_model_eval_probe(m, b, p ? probe : NULL, dx[p], &cost, e)) && np)
      gsl_vector_memcpy(g[p], sae_model_grad(m));
  }
  if (!rc && probe) {
    if (np) gsl_vector_sub(g[PART_OUTPUT], g[PART_COST]);
    if (x) gsl_matrix_sub(dx[PART_OUTPUT], dx[PART_COST]);
  }
  const signed char *dir = sae_model_direction(m);
  gc_fn f = {m, nb, probe, PART_COST, NULL, 0, e};
  gc_acc acc[N_PARTS];
  memset(acc, 0, sizeof acc);
  size_t kinks = 0;
  const int refine = has_kinks(m); /* a smooth J has no kink to step past */
  for (size_t i = 0; i < np && !rc; i++)
    for (size_t p = 0; p < n_parts && !rc && dir[i]; p++)
      rc = gc_entry(&f, (int)p, gsl_vector_ptr(theta, i), gsl_vector_get(g[p], i), tol, i,
                    &acc[p], refine ? &kinks : NULL);
  for (size_t i = 0; x && i < x->size1 && !rc; i++)
    for (size_t j = 0; j < x->size2 && !rc; j++)
      for (size_t p = 0; p < n_parts && !rc; p++)
        rc = gc_entry(&f, (int)p, gsl_matrix_ptr(x, i, j), gsl_matrix_get(dx[p], i, j), tol,
                      np + i * x->size2 + j, &acc[p], refine ? &kinks : NULL);
  if (!rc) {
    gc_finish(acc, (int)n_parts, tol, r);
    const char *label = !probe ? "" : strcmp(r->part, "cost") == 0 ? " (own cost)" : " (output)";
    gc_locate(m, (size_t)r->worst_index, label, r);
    r->n_kinks = kinks;
  }
  for (size_t p = 0; p < N_PARTS; p++) {
    gsl_vector_free(g[p]);
    gsl_matrix_free(dx[p]);
  }
  return rc;
}

int sae_gradcheck_model_tol(sae_model *m, const sae_batch *b, double tol,
                            sae_gradcheck_result *r, sae_error *e) {
  if (!(tol >= 0) || !isfinite(tol))
    return sae_error_set(e, SAE_EHPARAM, "gradcheck: tol must be a finite number > 0, got %g", tol);
  return gc_run(m, b, b, NULL, NULL, tol > 0 ? tol : model_tol(m), r, e);
}

int sae_gradcheck_model(sae_model *m, const sae_batch *b, sae_gradcheck_result *r, sae_error *e) {
  return sae_gradcheck_model_tol(m, b, 0, r, e);
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
    gc_acc a;
    memset(&a, 0, sizeof a);
    for (size_t i = 0; i < w->size1 * w->size2 && !f.failed; i++) {
      double num, abserr;
      f.v = w->data + i;
      gsl_deriv_central(&F, *f.v, GC_STEP, &num, &abserr);
      gc_add(&a, num, dw->data[i], i);
    }
    rc = f.failed;
    if (rc) {
      sae_error_set(e, rc, "%s regularize: %s", t->name, nd.msg);
    } else {
      gc_finish(&a, 1, (t->flags & SAE_TYPE_NONSMOOTH) ? SAE_GRADCHECK_TOL_NONSMOOTH
                                                        : SAE_GRADCHECK_TOL_SMOOTH, r);
      gc_name(r, t->name, "w", a.worst / w->size2, a.worst % w->size2, "");
    }
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
  gsl_matrix *probe = NULL;
  size_t labels[M];
  if (!m || !x || !target) {
    rc = sae_error_set(e, SAE_ENOMEM, "out of memory");
    goto done;
  }
  /* The node is named after its type: the failure message names the type. */
  if ((rc = sae_model_add(m, t, t->name, NULL, NULL, NULL, n_hp, hp_names, hp_values, e)) ||
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
  sae_batch b = {M, x, target, labels, SAE_MODE_TRAIN, NULL, NULL};
  if (t->flags & SAE_TYPE_ARGMIN) { /* its own energy at z* held fixed: see the top */
    sae_batch nb = b;
    nb.mode = SAE_MODE_ENERGY;
    rc = gc_run(m, &b, &nb, NULL, x, model_tol(m), r, e);
  } else {
    rc = gc_run(m, &b, &b, probe, x, model_tol(m), r, e);
  }
done:
  gsl_matrix_free(probe);
  gsl_matrix_free(target);
  gsl_matrix_free(x);
  sae_model_free(m);
  return rc;
}
