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

typedef struct sgd_run {
  size_t off, len; /* parameters [off, off + len) */
  double d;        /* their direction: +1 descend, -1 ascend */
} sgd_run;

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

/* Cut the runs again (after the scales changed); allocation outside steps. */
static int sgd_recut(sae_sgd *s) {
  const gsl_vector *theta = sae_model_theta(s->m);
  const signed char *dir = sae_model_direction(s->m);
  const size_t n_run = sgd_runs(dir, s->scale, theta->size, NULL);
  sgd_run *run = realloc(s->run, (n_run ? n_run : 1) * sizeof *run);
  if (!run) return SAE_ENOMEM;
  s->run = run;
  s->n_run = sgd_runs(dir, s->scale, theta->size, s->run);
  return 0;
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define SGD_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SGD_CLONES
#endif

/* v <- mu v - c g, th <- th + v over n entries (c = eta d).  Returns the
 * sum of th * 0 over the new th: exactly 0 while every entry is finite, NaN
 * once one is not (a NaN or Inf gradient reaches th through v, and so does
 * an overflow).  The check rides on the step's own pass: one multiply-add
 * per vector in a loop bound by memory, instead of a second pass over g
 * (for 785k parameters, 6.3 MB more to read per step).
 *
 * `omp simd` (-fopenmp-simd: no OpenMP runtime) lets the reduction run in
 * lanes; only bad's sum is reordered, and a sum of zeros is 0, and NaN with
 * any NaN, in any order.  v and th are per element, and ISO C (-std=c11)
 * contracts no a * b - c * d into an FMA: the same bits as a plain loop.
 * (GCC's 64-byte vector extensions did the same arithmetic, but on AVX2
 * through stack spills: 1.5x slower on one 784-1000 matrix, bench/membw's
 * size.) */
SGD_CLONES static double sgd_momentum(size_t n, double mu, double c, double *restrict th,
                                      double *restrict v, const double *restrict g) {
  double bad = 0.0;
#pragma omp simd reduction(+ : bad)
  for (size_t i = 0; i < n; i++) {
    v[i] = mu * v[i] - c * g[i];
    th[i] += v[i];
    bad += th[i] * 0.0;
  }
  return bad;
}

/* The float twin of sgd_momentum: the same operations in the same order,
 * in float. */
SGD_CLONES static float sgd_momentum_f32(size_t n, float mu, float c, float *restrict th,
                                         float *restrict v, const float *restrict g) {
  float bad = 0.0f;
#pragma omp simd reduction(+ : bad)
  for (size_t i = 0; i < n; i++) {
    v[i] = mu * v[i] - c * g[i];
    th[i] += v[i];
    bad += th[i] * 0.0f;
  }
  return bad;
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
  if (sgd_recut(s)) {
    sae_sgd_free(s);
    return NULL;
  }
  s->eta = 0.1;
  s->precision = 64;
  return s;
}

void sae_sgd_free(sae_sgd *s) {
  if (!s) return;
  gsl_vector_free(s->v);
  gsl_vector_float_free(s->v32);
  free(s->scale);
  free(s->run);
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
  int rc = sae_model_eval_f32(s->m, b, cost, e);
  if (rc) return rc;
  if (!isfinite(*cost)) return sgd_nonfinite(s, "the cost", *cost, e);
  float *th = sae_model_theta32(s->m)->data, *gr = sae_model_grad32(s->m)->data;
  float *v = s->v32->data;
  const float mu = (float)s->mu;
  float bad = 0.0f;
  for (size_t r = 0; r < s->n_run; r++) {
    const sgd_run *u = &s->run[r];
    bad += sgd_momentum_f32(u->len, mu, (float)(s->eta * u->d), th + u->off, v + u->off,
                            gr + u->off);
  }
  if (bad != 0.0f) return sgd_nonfinite(s, "a parameter", bad, e);
  return sae_model_update_f32(s->m, s->eta, NULL, e); /* no project: sae_model_f32_check */
}

int sae_sgd_step(sae_sgd *s, const sae_batch *b, double *cost, sae_error *e) {
  if (s->precision == 32) return sgd_step_f32(s, b, cost, e);
  int rc = sae_model_eval(s->m, b, cost, e);
  if (rc) return rc;
  if (!isfinite(*cost)) return sgd_nonfinite(s, "the cost", *cost, e);
  gsl_vector *theta = sae_model_theta(s->m), *g = sae_model_grad(s->m);
  double *th = theta->data, *gr = g->data, *v = s->v->data;
  const double eta = s->eta, mu = s->mu;
  double bad = 0.0;
  for (size_t r = 0; r < s->n_run; r++) {
    const sgd_run *u = &s->run[r];
    bad += sgd_momentum(u->len, mu, eta * u->d, th + u->off, v + u->off, gr + u->off);
  }
  /* The step has been taken: theta holds it (the run stops here; resume
   * from the last checkpoint, which the failed step never reached). */
  if (bad != 0.0) return sgd_nonfinite(s, "a parameter", bad, e);
  if ((rc = sae_model_update(s->m, b, eta, NULL, e))) return rc;
  return sae_model_project(s->m, e);
}
