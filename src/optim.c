/* optim.c -- minibatch SGD with momentum, one step at a time (see optim.h).
 *
 * Per step: one forward+backward (the model's cost and gradient), then for
 * every parameter i with direction d_i (+1 descend, -1 ascend, 0 skip):
 *     v_i <- mu v_i - eta d_i g_i ,   theta_i <- theta_i + v_i
 * (Rumelhart, Hinton & Williams, Nature 1986, eq. 9), then the nodes' own
 * non-gradient updates with the same eta, then their projections.
 *
 * A per-parameter learning-rate factor c_i (sae_sgd_scale, 1 by default:
 * DrSAE divides each matrix's rate by the times it repeats in the unrolled
 * net) multiplies d_i, so the step is v_i <- mu v_i - eta c_i d_i g_i.
 *
 * The directions are fixed when the model is built, so sae_sgd_alloc cuts the
 * parameter vector once (again after each sae_sgd_scale) into runs of equal
 * c d != 0; the step is then a plain
 * loop per run, no branch per element, in blocks of 8 doubles (GCC's vector
 * extensions; compiled for AVX-512, AVX2 and the baseline, the loader picks).
 * The arithmetic per element is the scalar loop's, so results are the same
 * bits on every machine.  A step reads theta, v, g and writes theta, v: for
 * the 785k parameters of a 784-1000 k-sparse autoencoder about 31 MB.
 *
 * The fused step (plugin.h, sae_step; issue 14): a node whose type is
 * flagged SAE_TYPE_FUSED_STEP is offered, per tensor it owns whose
 * parameters share one c d != 0, the step's mu, eta c d and velocity, and
 * may step the tensor itself row by row inside its backward, while each
 * gradient row is still in cache (ksparse: W and V, 2 x 6.3 MB of v read
 * and written instead of a separate 31 MB pass).  It uses this file's
 * kernel (sae_step_row, <saelab/elementwise.h>), so the same bits; the pass
 * below then steps the runs minus the ranges the nodes report done, and
 * their sums of theta * 0 join the non-finite check.  model.c withdraws the
 * offers on a non-finite cost or with a regularizer (sae_model_eval_step).
 * A backward that fails after a node stepped leaves those tensors stepped;
 * a failed step stops the run either way (resume from the last checkpoint).
 *
 * Precision 32 (sae_sgd_precision): the step runs on float copies of
 * theta and v (the model's theta32, and v32 here) with the model's float32
 * pass (sae_model_eval_f32): the same runs, the same arithmetic in float,
 * half the bytes.  The double theta and v stay the canonical ones: the
 * float copy is loaded from them at the first step after a sync, and
 * sae_sgd_sync writes it back (a float -> double -> float round trip is
 * exact, so a sync changes nothing unless theta was written meanwhile, which
 * is exactly when a reload is wanted).  doc/design.md says why not float
 * products on double master weights: the step and the other passes are
 * bound by memory, and they stay double there. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "optim.h"
#include "saelab/elementwise.h"

typedef struct sgd_run {
  size_t off, len; /* parameters [off, off + len) */
  double d;        /* their direction: +1 descend, -1 ascend */
} sgd_run;

/* A node's tensors that can be offered the fused step: per tensor the one
 * rate factor c d of its parameters (0: not offered), and where they lie. */
typedef struct sgd_offer {
  double cd[SAE_MAX_TENSORS];
  size_t off[SAE_MAX_TENSORS], len[SAE_MAX_TENSORS];
} sgd_offer;

struct sae_sgd {
  sae_model *m; /* not owned */
  gsl_vector *v;
  double eta, mu;
  double *scale; /* c_i, one per parameter (1 unless sae_sgd_scale changed it) */
  sgd_run *run;  /* the parameters with c d != 0, in runs of equal c d */
  size_t n_run;
  int precision;         /* 64, or 32: steps on the float copy */
  gsl_vector_float *v32; /* precision 32: the velocity's float copy */
  int stale;             /* precision 32: 1 until the float copy is loaded from theta, v */
  /* The fused step (plugin.h, sae_step), per node: */
  int fuse;           /* 1 (default): offer it; 0: withdrawn (sae_sgd_fuse) */
  size_t n_node;
  sgd_offer *offer;   /* n_node: what each node can be offered */
  sae_step *fstep;    /* n_node: the offers of the step in flight */
  sae_step **fptr;    /* n_node: &fstep[i], or NULL (nothing to offer node i) */
  sgd_run *done;      /* n_node * SAE_MAX_TENSORS: the ranges the nodes stepped, sorted */
  sgd_run *todo;      /* n_run + n_node * SAE_MAX_TENSORS: the runs minus those ranges */
  size_t fused;       /* parameters the nodes stepped in the last step */
};

/* The runs of equal non-zero c_i dir_i over [0, n); run may be NULL (count only). */
static size_t sgd_runs(const signed char *dir, const double *scale, size_t n, sgd_run *run) {
  size_t k = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    const double d = scale[i] * dir[i];
    while (j < n && scale[j] * dir[j] == d) j++;
    if (d != 0) {
      if (run) run[k] = (sgd_run){i, j - i, d};
      k++;
    }
    i = j;
  }
  return k;
}

/* Which tensors can be offered the fused step (plugin.h, sae_step): those a
 * SAE_TYPE_FUSED_STEP node owns (not a tie or share of another's), with
 * contiguous rows and one c d != 0 over all their parameters. */
static void sgd_offers(sae_sgd *s) {
  const gsl_vector *theta = sae_model_theta(s->m);
  const signed char *dir = sae_model_direction(s->m);
  for (size_t i = 0; i < s->n_node; i++) {
    const sae_node *nd = sae_model_node(s->m, i);
    sgd_offer *o = &s->offer[i];
    int any = 0;
    for (size_t t = 0; t < SAE_MAX_TENSORS; t++) o->cd[t] = 0.0;
    for (size_t t = 0; (nd->type->flags & SAE_TYPE_FUSED_STEP) && t < nd->n_tensors; t++) {
      const gsl_matrix *p = &nd->param[t];
      const size_t off = (size_t)(p->data - theta->data), len = p->size1 * p->size2;
      if (sae_model_tensor_is_alias(s->m, i, t) || len == 0 || p->tda != p->size2) continue;
      const double cd = s->scale[off] * dir[off];
      size_t q = off;
      while (q < off + len && s->scale[q] * dir[q] == cd) q++;
      if (q < off + len || cd == 0) continue;
      o->cd[t] = cd;
      o->off[t] = off;
      o->len[t] = len;
      any = 1;
    }
    s->fptr[i] = any ? &s->fstep[i] : NULL;
  }
}

/* Cut the runs again (after the scales changed); allocation outside steps. */
static int sgd_recut(sae_sgd *s) {
  const gsl_vector *theta = sae_model_theta(s->m);
  const signed char *dir = sae_model_direction(s->m);
  const size_t n_run = sgd_runs(dir, s->scale, theta->size, NULL);
  sgd_run *run = realloc(s->run, (n_run ? n_run : 1) * sizeof *run);
  if (!run) return SAE_ENOMEM;
  s->run = run;
  sgd_run *todo = realloc(s->todo, (n_run + s->n_node * SAE_MAX_TENSORS + 1) * sizeof *todo);
  if (!todo) return SAE_ENOMEM;
  s->todo = todo;
  s->n_run = sgd_runs(dir, s->scale, theta->size, s->run);
  sgd_offers(s);
  return 0;
}

/* The offers of one step (NULL when withdrawn): mu, eta c d and the
 * velocity (v, or v32 at precision 32) per offered tensor; done and bad
 * zeroed. */
static sae_step *const *sgd_offers_fill(sae_sgd *s, int f32) {
  if (!s->fuse) return NULL;
  for (size_t i = 0; i < s->n_node; i++) {
    if (!s->fptr[i]) continue;
    const sgd_offer *o = &s->offer[i];
    sae_step *f = &s->fstep[i];
    f->mu = s->mu;
    f->bad = 0.0;
    for (size_t t = 0; t < SAE_MAX_TENSORS; t++) {
      const int on = o->cd[t] != 0;
      f->c[t] = on ? s->eta * o->cd[t] : 0.0; /* the pass's eta * u->d: the same double */
      f->v[t] = on && !f32 ? s->v->data + o->off[t] : NULL;
      f->v32[t] = on && f32 ? s->v32->data + o->off[t] : NULL;
      f->done[t] = 0;
    }
  }
  return s->fptr;
}

/* After the eval: the runs minus the ranges the nodes stepped, into todo
 * (returns their count), *bad the nodes' sums of theta * 0, s->fused what
 * they stepped.  A done range lies inside one run (its c d is one value). */
static size_t sgd_todo(sae_sgd *s, double *bad) {
  size_t n_done = 0;
  *bad = 0.0;
  s->fused = 0;
  for (size_t i = 0; s->fuse && i < s->n_node; i++) {
    if (!s->fptr[i]) continue;
    const sgd_offer *o = &s->offer[i];
    *bad += s->fstep[i].bad;
    for (size_t t = 0; t < SAE_MAX_TENSORS; t++) {
      if (!s->fstep[i].done[t] || o->cd[t] == 0) continue;
      size_t p = n_done++; /* insertion: a few ranges */
      for (; p > 0 && s->done[p - 1].off > o->off[t]; p--) s->done[p] = s->done[p - 1];
      s->done[p] = (sgd_run){o->off[t], o->len[t], o->cd[t]};
      s->fused += o->len[t];
    }
  }
  size_t k = 0;
  for (size_t r = 0; r < s->n_run; r++) {
    const sgd_run *u = &s->run[r];
    size_t a = u->off;
    const size_t end = u->off + u->len;
    for (size_t q = 0; q < n_done && a < end; q++) {
      const size_t d0 = s->done[q].off, d1 = d0 + s->done[q].len;
      if (d1 <= a || d0 >= end) continue;
      if (d0 > a) s->todo[k++] = (sgd_run){a, d0 - a, u->d};
      a = d1;
    }
    if (a < end) s->todo[k++] = (sgd_run){a, end - a, u->d};
  }
  return k;
}


/* v <- mu v - c g, th <- th + v over n entries (c = eta d), returning the
 * sum of th * 0 (0 while all are finite): sae_step_row, the one kernel a
 * fused step uses too (<saelab/elementwise.h>: an `omp simd` loop, built
 * here with -fopenmp-simd), compiled here for AVX-512, AVX2 and the
 * baseline.  The check rides on the step's own pass: one multiply-add per
 * vector in a loop bound by memory, instead of a second pass over g (for
 * 785k parameters, 6.3 MB more to read per step). */
SAE_EW_CLONES_V4 static double sgd_momentum(size_t n, double mu, double c, double *th, double *v,
                                            const double *g) {
  return sae_step_row(n, mu, c, th, v, g);
}

/* The float twin: sae_step_row_f32. */
SAE_EW_CLONES_V4 static float sgd_momentum_f32(size_t n, float mu, float c, float *th, float *v,
                                               const float *g) {
  return sae_step_row_f32(n, mu, c, th, v, g);
}

sae_sgd *sae_sgd_alloc(sae_model *m) {
  gsl_vector *theta = sae_model_theta(m);
  if (!theta) return NULL; /* not built */
  sae_sgd *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->m = m;
  if (!(s->v = gsl_vector_calloc(theta->size ? theta->size : 1)) ||
      !(s->scale = malloc((theta->size ? theta->size : 1) * sizeof *s->scale))) {
    sae_sgd_free(s);
    return NULL;
  }
  for (size_t i = 0; i < theta->size; i++) s->scale[i] = 1.0;
  s->n_node = sae_model_nodes(m);
  const size_t nn = s->n_node ? s->n_node : 1;
  if (!(s->offer = calloc(nn, sizeof *s->offer)) || !(s->fstep = calloc(nn, sizeof *s->fstep)) ||
      !(s->fptr = calloc(nn, sizeof *s->fptr)) ||
      !(s->done = calloc(nn * SAE_MAX_TENSORS, sizeof *s->done)) || sgd_recut(s)) {
    sae_sgd_free(s);
    return NULL;
  }
  s->eta = 0.1;
  s->precision = 64;
  s->fuse = 1;
  return s;
}

void sae_sgd_free(sae_sgd *s) {
  if (!s) return;
  gsl_vector_free(s->v);
  gsl_vector_float_free(s->v32);
  free(s->scale);
  free(s->run);
  free(s->offer);
  free(s->fstep);
  free(s->fptr);
  free(s->done);
  free(s->todo);
  free(s);
}

int sae_sgd_set(sae_sgd *s, double eta, double mu, sae_error *e) {
  if (!(eta > 0) || !isfinite(eta))
    return sae_error_set(e, SAE_EHPARAM, "sgd: learning rate %g must be > 0", eta);
  if (!(mu >= 0 && mu < 1))
    return sae_error_set(e, SAE_EHPARAM, "sgd: momentum %g must be in [0, 1)", mu);
  s->eta = eta;
  s->mu = mu;
  return 0;
}

int sae_sgd_scale(sae_sgd *s, size_t off, size_t len, double c, sae_error *e) {
  const size_t n = sae_model_theta(s->m)->size;
  if (!(c >= 0) || !isfinite(c))
    return sae_error_set(e, SAE_EHPARAM, "sgd: learning-rate scale %g must be a number >= 0", c);
  if (off > n || len > n - off)
    return sae_error_set(e, SAE_ESHAPE, "sgd: parameters [%zu, %zu) lie outside the %zu of the model",
                         off, off + len, n);
  for (size_t i = off; i < off + len; i++) s->scale[i] = c;
  return sgd_recut(s) ? sae_error_set(e, SAE_ENOMEM, "out of memory") : 0;
}

double sae_sgd_scale_at(const sae_sgd *s, size_t i) { return s->scale[i]; }

int sae_sgd_precision(sae_sgd *s, int bits, sae_error *e) {
  int rc;
  if (bits != 32 && bits != 64)
    return sae_error_set(e, SAE_EHPARAM, "precision must be 32 or 64 (got %d)", bits);
  sae_sgd_sync(s); /* whatever the float copy holds is theta's now */
  if (bits == 32) {
    if ((rc = sae_model_f32_alloc(s->m, e))) return rc;
    if (!s->v32 && !(s->v32 = gsl_vector_float_calloc(s->v->size)))
      return sae_error_set(e, SAE_ENOMEM, "cannot allocate %zu bytes for the float32 velocity "
                           "(out of memory)", s->v->size * sizeof(float));
  }
  s->precision = bits;
  s->stale = 1;
  return 0;
}

int sae_sgd_get_precision(const sae_sgd *s) { return s->precision; }

void sae_sgd_sync(sae_sgd *s) {
  if (s->precision != 32 || s->stale) return;
  sae_model_f32_store(s->m);
  for (size_t i = 0; i < s->v->size; i++) s->v->data[i] = (double)s->v32->data[i];
  s->stale = 1;
}

void sae_sgd_fuse(sae_sgd *s, int on) { s->fuse = on != 0; }
size_t sae_sgd_fused(const sae_sgd *s) { return s->fused; }

double sae_sgd_eta(const sae_sgd *s) { return s->eta; }
double sae_sgd_mu(const sae_sgd *s) { return s->mu; }
gsl_vector *sae_sgd_velocity(sae_sgd *s) { return s->v; }

/* The first non-finite number, named (sae_model_find_nonfinite), with why. */
static int sgd_nonfinite(sae_sgd *s, const char *what, double value, sae_error *e) {
  sae_error where = {0, ""};
  if (sae_model_find_nonfinite(s->m, &where))
    return sae_error_set(e, SAE_ENUMERIC, "%s: training diverged? (lower the learning rate)",
                         where.msg);
  return sae_error_set(e, SAE_ENUMERIC, "%s is %g: training diverged (lower the learning rate)",
                       what, value);
}

/* The float32 step: load the float copy if a sync (or creation) left it
 * stale, then sae_sgd_step's arithmetic in float over theta32 and v32. */
static int sgd_step_f32(sae_sgd *s, const sae_batch *b, double *cost, sae_error *e) {
  if (s->stale) {
    sae_model_f32_load(s->m);
    for (size_t i = 0; i < s->v->size; i++) s->v32->data[i] = (float)s->v->data[i];
    s->stale = 0;
  }
  int rc = sae_model_eval_f32_step(s->m, b, sgd_offers_fill(s, 1), cost, e);
  if (rc) return rc;
  if (!isfinite(*cost)) return sgd_nonfinite(s, "the cost", *cost, e);
  float *th = sae_model_theta32(s->m)->data, *gr = sae_model_grad32(s->m)->data;
  float *v = s->v32->data;
  const float mu = (float)s->mu;
  double fbad;
  const size_t n_todo = sgd_todo(s, &fbad);
  float bad = (float)fbad;
  for (size_t r = 0; r < n_todo; r++) {
    const sgd_run *u = &s->todo[r];
    bad += sgd_momentum_f32(u->len, mu, (float)(s->eta * u->d), th + u->off, v + u->off,
                            gr + u->off);
  }
  if (bad != 0.0f) return sgd_nonfinite(s, "a parameter", bad, e);
  return sae_model_update_f32(s->m, s->eta, NULL, e); /* no project: sae_model_f32_check */
}

int sae_sgd_step(sae_sgd *s, const sae_batch *b, double *cost, sae_error *e) {
  if (s->precision == 32) return sgd_step_f32(s, b, cost, e);
  int rc = sae_model_eval_step(s->m, b, sgd_offers_fill(s, 0), cost, e);
  if (rc) return rc;
  if (!isfinite(*cost)) return sgd_nonfinite(s, "the cost", *cost, e);
  gsl_vector *theta = sae_model_theta(s->m), *g = sae_model_grad(s->m);
  double *th = theta->data, *gr = g->data, *v = s->v->data;
  const double eta = s->eta, mu = s->mu;
  double bad;
  const size_t n_todo = sgd_todo(s, &bad); /* the nodes' sums of th * 0 first */
  for (size_t r = 0; r < n_todo; r++) {
    const sgd_run *u = &s->todo[r];
    bad += sgd_momentum(u->len, mu, eta * u->d, th + u->off, v + u->off, gr + u->off);
  }
  /* The step has been taken: theta holds it (the run stops here; resume
   * from the last checkpoint, which the failed step never reached). */
  if (bad != 0.0) return sgd_nonfinite(s, "a parameter", bad, e);
  if ((rc = sae_model_update(s->m, b, eta, NULL, e))) return rc;
  return sae_model_project(s->m, e);
}
