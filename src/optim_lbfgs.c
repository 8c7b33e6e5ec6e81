/* optim_lbfgs.c -- full-batch L-BFGS through liblbfgs's loop (see optim_lbfgs.h).
 *
 * The loop (lbfgs_loop.c, liblbfgs 1.10's own with its state in the open)
 * drives and calls back:
 *   lb_evaluate(x)   copy x -> theta; J, g = sae_model_eval(b); g_i = 0 where
 *                    direction_i = 0; count the evaluation
 *   lb_progress(k)   an iteration was accepted: record (k, J, ||g||, step,
 *                    evaluations, seconds), keep x as the last accepted
 *                    iterate, print a line if verbose
 *   lb_boundary(st)  the state after the update: every save_every
 *                    iterations, hand it to opts.save (a checkpoint)
 * An error inside a callback cannot unwind through liblbfgs.  It is kept in
 * the run's context; that evaluation and every later one return J = 0 and
 * g = 0 at once (so the line search ends within an evaluation or two), and
 * the next progress call cancels the run.  Whatever liblbfgs returns then,
 * the kept error wins.
 *
 * Why the last accepted iterate (and its cost) is kept here and not read
 * from liblbfgs's x and fx: what they hold after a failed line search
 * varies with the version and the line search (Debian's 1.10 restores x but
 * reports the last trial's cost; upstream's later main loop does not
 * restore x after More-Thuente).  One extra vector of n doubles makes the
 * result the same everywhere: theta and final_cost always belong together.
 *
 * Memory: the variables, the kept iterate and the history arrays are
 * allocated once before lbfgs() runs; the history grows (doubling) only
 * when max_iter is 0 (no limit) and the run outlives the first guess. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "optim_lbfgs.h"

_Static_assert(sizeof(lbfgsfloatval_t) == sizeof(double),
               "liblbfgs built with LBFGS_FLOAT != 64: saelab copies doubles");

typedef struct lb_run {
  sae_model *m;
  const sae_batch *b;
  const sae_lbfgs_opts *o;
  sae_lbfgs_history *h;
  gsl_vector *theta, *grad;
  const signed char *dir;
  double *x_best; /* last accepted iterate */
  sae_lbfgs_state st; /* the loop's state (lbfgs_loop.h) */
  double t0;      /* monotonic seconds at the start */
  int rc;         /* first error inside a callback, 0 if none */
  sae_error err;
} lb_run;

static double lb_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void lb_copy_in(gsl_vector *v, const double *x) {
  if (v->stride == 1) memcpy(v->data, x, v->size * sizeof *x);
  else
    for (size_t i = 0; i < v->size; i++) v->data[i * v->stride] = x[i];
}

static void lb_copy_out(double *x, const gsl_vector *v) {
  if (v->stride == 1) memcpy(x, v->data, v->size * sizeof *x);
  else
    for (size_t i = 0; i < v->size; i++) x[i] = v->data[i * v->stride];
}

static lbfgsfloatval_t lb_evaluate(void *instance, const lbfgsfloatval_t *x, lbfgsfloatval_t *g,
                                   const int n, const lbfgsfloatval_t step) {
  lb_run *r = instance;
  (void)step;
  if (r->rc) { /* an earlier evaluation failed: make liblbfgs give up cheaply */
    memset(g, 0, (size_t)n * sizeof *g);
    return 0.0;
  }
  lb_copy_in(r->theta, x);
  double cost = NAN;
  r->h->n_evals++;
  int rc = sae_model_eval(r->m, r->b, &cost, &r->err);
  const double *gr = r->grad->data;
  const size_t s = r->grad->stride;
  double bad = 0.0; /* sum of g * 0: 0 while all finite (the copy's own pass) */
  for (size_t i = 0; !rc && i < (size_t)n; i++) {
    g[i] = r->dir[i] ? gr[i * s] : 0.0;
    bad += g[i] * 0.0;
  }
  if (!rc && (!isfinite(cost) || bad != 0.0)) {
    sae_error where = {0, ""};
    if (sae_model_find_nonfinite(r->m, &where))
      rc = sae_error_set(&r->err, SAE_ENUMERIC, "L-BFGS: iteration %zu, evaluation %zu: %s "
                         "(check the data's scale and the initialisation)", r->h->n + 1,
                         r->h->n_evals, where.msg);
    else
      rc = sae_error_set(&r->err, SAE_ENUMERIC,
                         "L-BFGS: cost is %g at evaluation %zu: the model overflowed "
                         "(check the data's scale and the initialisation)", cost, r->h->n_evals);
  }
  if (rc) {
    r->rc = rc;
    memset(g, 0, (size_t)n * sizeof *g);
    return 0.0;
  }
  if (r->h->n_evals == 1) r->h->initial_cost = cost;
  return cost;
}

/* Room for one more iteration in the history (grows only when max_iter = 0). */
static int lb_reserve(lb_run *r) {
  sae_lbfgs_history *h = r->h;
  if (h->n < h->cap) return 0;
  size_t cap = h->cap ? 2 * h->cap : 64;
  size_t *iter = realloc(h->iter, cap * sizeof *iter);
  if (iter) h->iter = iter;
  size_t *evals = realloc(h->evals, cap * sizeof *evals);
  if (evals) h->evals = evals;
  double *d[4] = {h->cost, h->gnorm, h->step, h->seconds};
  int ok = iter && evals;
  for (int k = 0; k < 4; k++) {
    double *p = realloc(d[k], cap * sizeof *p);
    if (p) d[k] = p;
    else ok = 0;
  }
  h->cost = d[0], h->gnorm = d[1], h->step = d[2], h->seconds = d[3];
  if (!ok)
    return sae_error_set(&r->err, SAE_ENOMEM, "L-BFGS: out of memory for the history (%zu iterations)",
                         cap);
  h->cap = cap;
  return 0;
}

static int lb_progress(void *instance, const lbfgsfloatval_t *x, const lbfgsfloatval_t *g,
                       const lbfgsfloatval_t fx, const lbfgsfloatval_t xnorm,
                       const lbfgsfloatval_t gnorm, const lbfgsfloatval_t step, int n, int k,
                       int ls) {
  lb_run *r = instance;
  sae_lbfgs_history *h = r->h;
  (void)g, (void)xnorm, (void)ls;
  if (r->rc) return LBFGSERR_CANCELED; /* negative: never mistaken for LBFGS_STOP */
  int rc = lb_reserve(r);
  if (rc) {
    r->rc = rc;
    return LBFGSERR_CANCELED;
  }
  memcpy(r->x_best, x, (size_t)n * sizeof *x);
  const double t = lb_now() - r->t0;
  h->iter[h->n] = (size_t)k;
  h->cost[h->n] = fx;
  h->gnorm[h->n] = gnorm;
  h->step[h->n] = step;
  h->evals[h->n] = h->n_evals;
  h->seconds[h->n] = t;
  h->n++;
  h->final_cost = fx;
  if (r->o->verbose) {
    fprintf(r->o->stream ? r->o->stream : stdout,
            "iter %4d  cost %.6e  |g| %.3e  step %.3g  evals %zu  %.1fs\n", k, fx, gnorm, step,
            h->n_evals, t);
    fflush(r->o->stream ? r->o->stream : stdout);
  }
  return 0;
}

static int lb_boundary(void *instance, const sae_lbfgs_state *st) {
  lb_run *r = instance;
  const int done = st->k - 1;
  if (r->rc || !r->o->save || r->o->save_every <= 0 || done % r->o->save_every != 0) return 0;
  int rc = r->o->save(r->o->save_ctx, st, r->h, &r->err);
  if (rc) {
    r->rc = rc;
    return LBFGSERR_CANCELED;
  }
  return 0;
}

void sae_lbfgs_opts_default(sae_lbfgs_opts *o) {
  lbfgs_parameter_t p;
  lbfgs_parameter_init(&p);
  o->max_iter = 400;
  o->m = p.m;
  o->epsilon = p.epsilon;
  o->delta = p.delta;
  o->past = p.past;
  o->verbose = 0;
  o->stream = NULL;
  o->save_every = 0;
  o->save = NULL;
  o->save_ctx = NULL;
  o->resume = NULL;
  o->resume_evals = 0;
  o->resume_initial_cost = NAN;
}

void sae_lbfgs_history_free(sae_lbfgs_history *h) {
  if (!h) return;
  free(h->iter);
  free(h->cost);
  free(h->gnorm);
  free(h->step);
  free(h->evals);
  free(h->seconds);
  memset(h, 0, sizeof *h);
}

/* liblbfgs's return code as the history's status; 0 for the codes that end
 * a run normally, else an error code for the caller. */
static int lb_status(int code, sae_lbfgs_history *h, sae_error *e) {
  const char *s = NULL, *why = NULL;
  switch (code) {
  case LBFGS_SUCCESS: s = "converged"; break;
  case LBFGS_STOP: s = "stopped: cost decrease < delta"; break;
  case LBFGS_ALREADY_MINIMIZED: s = "converged: the start already satisfies |g| <= epsilon"; break;
  case LBFGSERR_MAXIMUMITERATION: s = "max iterations reached"; break;
  /* The line search found no acceptable step: near a minimum this is the
   * usual end in double precision; elsewhere the gradient is suspect (run
   * the gradient check).  Not an error: theta is the last accepted point. */
  case LBFGSERR_ROUNDING_ERROR: why = "rounding errors prevent further progress"; break;
  case LBFGSERR_MINIMUMSTEP: why = "the step became smaller than the minimum"; break;
  case LBFGSERR_MAXIMUMSTEP: why = "the step became larger than the maximum"; break;
  case LBFGSERR_MAXIMUMLINESEARCH: why = "maximum evaluations in one line search"; break;
  case LBFGSERR_WIDTHTOOSMALL: why = "the interval of uncertainty became too small"; break;
  case LBFGSERR_OUTOFINTERVAL: why = "the step went out of the interval of uncertainty"; break;
  case LBFGSERR_INCORRECT_TMINMAX: why = "the interval of uncertainty became too small"; break;
  case LBFGSERR_INCREASEGRADIENT: why = "the search direction increases the cost (check the gradient)"; break;
  case LBFGSERR_INVALIDPARAMETERS: why = "a negative line-search step"; break;
  default: break;
  }
  h->code = code;
  if (s || why) {
    if (s) snprintf(h->status, sizeof h->status, "%s", s);
    else snprintf(h->status, sizeof h->status, "line search failed: %s", why);
    return 0;
  }
  int rc;
  switch (code) {
  case LBFGSERR_OUTOFMEMORY: rc = sae_error_set(e, SAE_ENOMEM, "L-BFGS: out of memory"); break;
  case LBFGSERR_INVALID_N_SSE:
  case LBFGSERR_INVALID_X_SSE:
    rc = sae_error_set(e, SAE_ESHAPE, "L-BFGS: liblbfgs was built with SSE and refuses this "
                                      "parameter count or alignment (code %d)", code);
    break;
  default:
    if (code >= LBFGSERR_INVALID_N && code <= LBFGSERR_INVALID_ORTHANTWISE_END)
      rc = sae_error_set(e, SAE_EHPARAM, "L-BFGS: liblbfgs refused its parameters (code %d)", code);
    else
      rc = sae_error_set(e, SAE_ENUMERIC, "L-BFGS: liblbfgs failed with code %d", code);
  }
  snprintf(h->status, sizeof h->status, "%s", e ? e->msg : sae_strerror(rc));
  return rc;
}

static int lb_check(sae_model *m, const sae_lbfgs_opts *o, sae_error *e) {
  gsl_vector *theta = sae_model_theta(m);
  if (!theta) return sae_error_set(e, SAE_ESTATE, "L-BFGS: the model is not built: call build() first");
  if (theta->size == 0) return sae_error_set(e, SAE_ESHAPE, "L-BFGS: the model has no parameters");
  if (theta->size > INT_MAX)
    return sae_error_set(e, SAE_ESHAPE, "L-BFGS: %zu parameters; liblbfgs counts them in an int",
                         theta->size);
  if (o->max_iter < 0)
    return sae_error_set(e, SAE_EHPARAM, "L-BFGS: max_iter = %d must be >= 0 (0: no limit)", o->max_iter);
  if (o->m < 1) return sae_error_set(e, SAE_EHPARAM, "L-BFGS: m = %d must be >= 1", o->m);
  if (!(o->epsilon >= 0) || !isfinite(o->epsilon))
    return sae_error_set(e, SAE_EHPARAM, "L-BFGS: epsilon = %g must be >= 0", o->epsilon);
  if (!(o->delta >= 0) || !isfinite(o->delta))
    return sae_error_set(e, SAE_EHPARAM, "L-BFGS: delta = %g must be >= 0", o->delta);
  if (o->past < 0)
    return sae_error_set(e, SAE_EHPARAM, "L-BFGS: past = %d must be >= 0 (0: no delta test)", o->past);
  if (o->save_every < 0)
    return sae_error_set(e, SAE_EHPARAM, "L-BFGS: save_every = %d must be >= 0", o->save_every);
  const sae_lbfgs_state *rs = o->resume;
  if (rs && ((size_t)rs->n != theta->size || rs->k < 1))
    return sae_error_set(e, SAE_ESHAPE, "L-BFGS: the state to resume holds %d parameters at "
                         "iteration %d; the model has %zu", rs->n, rs->k, theta->size);
  if (rs && (rs->m != o->m || rs->past != o->past || rs->end < 0 || rs->end >= rs->m))
    return sae_error_set(e, SAE_EHPARAM, "L-BFGS: the state to resume was saved with m = %d, "
                         "past = %d; this run has m = %d, past = %d", rs->m, rs->past, o->m, o->past);
  const signed char *dir = sae_model_direction(m);
  for (size_t i = 0; i < theta->size; i++)
    if (dir[i] < 0)
      return sae_error_set(e, SAE_ETYPE,
                           "L-BFGS minimises: the model has parameters learned by ascent "
                           "(parameter %zu); train it with sae.sgd", i + 1);
  /* A type whose constraint is optional says so by a hyper-parameter named
   * max_norm, 0 when off (dense, lista: doc/design.md 8.5); such a node with
   * max_norm = 0 projects nothing and L-BFGS may train it. */
  for (size_t i = 0; i < sae_model_nodes(m); i++) {
    int has_bound = 0;
    const double bound = sae_model_get_hp(m, i, "max_norm", &has_bound);
    if (sae_model_node(m, i)->type->project && !(has_bound && bound == 0))
      return sae_error_set(e, SAE_ETYPE,
                           "L-BFGS: node %s (%s) projects its parameters after every step; "
                           "L-BFGS assumes no constraints: train it with sae.sgd",
                           sae_model_node_name(m, i), sae_model_node(m, i)->type->name);
  }
  return 0;
}

int sae_lbfgs_run(sae_model *m, const sae_batch *b, const sae_lbfgs_opts *o,
                  sae_lbfgs_history *h, sae_error *e) {
  sae_lbfgs_opts def;
  sae_lbfgs_history own;
  if (!o) {
    sae_lbfgs_opts_default(&def);
    o = &def;
  }
  if (!h) h = &own;
  memset(h, 0, sizeof *h);
  h->initial_cost = h->final_cost = NAN;
  int rc = lb_check(m, o, e);
  if (rc) {
    snprintf(h->status, sizeof h->status, "%s", e ? e->msg : sae_strerror(rc));
    if (h == &own) sae_lbfgs_history_free(h);
    return rc;
  }
  lb_run r = {.m = m, .b = b, .o = o, .h = h, .theta = sae_model_theta(m),
              .grad = sae_model_grad(m), .dir = sae_model_direction(m), .t0 = lb_now()};
  const int n = (int)r.theta->size;
  r.x_best = malloc((size_t)n * sizeof *r.x_best);
  if (sae_lbfgs_state_alloc(&r.st, n, o->m, o->past) || !r.x_best) {
    rc = sae_error_set(e, SAE_ENOMEM, "L-BFGS: out of memory for %d parameters", n);
    goto done;
  }
  if (o->max_iter > 0) { /* the whole history up front: nothing grows during the run */
    const size_t want = (size_t)o->max_iter;
    if (!(h->iter = malloc(want * sizeof *h->iter)) || !(h->evals = malloc(want * sizeof *h->evals)) ||
        !(h->cost = malloc(want * sizeof *h->cost)) || !(h->gnorm = malloc(want * sizeof *h->gnorm)) ||
        !(h->step = malloc(want * sizeof *h->step)) || !(h->seconds = malloc(want * sizeof *h->seconds))) {
      rc = sae_error_set(e, SAE_ENOMEM, "L-BFGS: out of memory for the history (%zu iterations)", want);
      goto done;
    }
    h->cap = want;
  }
  double *x = r.st.x;
  if (o->resume) { /* the saved state, whole; its x is theta */
    const sae_lbfgs_state *rs = o->resume;
    const size_t un = (size_t)n, um = (size_t)o->m;
    r.st.k = rs->k, r.st.end = rs->end, r.st.fx = rs->fx, r.st.step = rs->step;
    memcpy(r.st.x, rs->x, un * sizeof *x);
    memcpy(r.st.g, rs->g, un * sizeof *x);
    memcpy(r.st.d, rs->d, un * sizeof *x);
    memcpy(r.st.s, rs->s, um * un * sizeof *x);
    memcpy(r.st.y, rs->y, um * un * sizeof *x);
    memcpy(r.st.ys, rs->ys, um * sizeof *x);
    if (o->past > 0) memcpy(r.st.pf, rs->pf, (size_t)o->past * sizeof *x);
    lb_copy_in(r.theta, x);
    h->n_evals = o->resume_evals;
    h->initial_cost = o->resume_initial_cost;
    h->final_cost = rs->fx;
  } else {
    lb_copy_out(x, r.theta);
  }
  memcpy(r.x_best, x, (size_t)n * sizeof *x);

  lbfgs_parameter_t p;
  lbfgs_parameter_init(&p);
  p.m = o->m;
  p.epsilon = o->epsilon;
  p.delta = o->delta;
  p.past = o->past;
  p.max_iterations = o->max_iter;
  int code = sae_lbfgs_loop(&r.st, lb_evaluate, lb_progress, lb_boundary, &r, &p);

  lb_copy_in(r.theta, r.x_best); /* the last accepted iterate, see the header */
  if (h->n == 0 && !o->resume) h->final_cost = h->initial_cost;
  if (r.rc) {
    rc = r.rc;
    h->code = code;
    if (e) *e = r.err;
    snprintf(h->status, sizeof h->status, "%s", r.err.msg);
  } else {
    rc = lb_status(code, h, e);
  }
done:
  h->total_seconds = lb_now() - r.t0;
  if (o->verbose && !rc)
    fprintf(o->stream ? o->stream : stdout, "L-BFGS: %s after %zu iterations, %zu evaluations, %.1fs\n",
            h->status, h->n, h->n_evals, h->total_seconds);
  sae_lbfgs_state_free(&r.st);
  free(r.x_best);
  if (h == &own) sae_lbfgs_history_free(h);
  return rc;
}
