/* loss.c -- reconstruction losses: squared error and binary cross-entropy.
 *
 * A loss node takes the model's output x (its reconstruction x_hat) and the
 * batch's target t (x itself for an autoencoder), passes x through and adds
 * the loss to the cost.  Shapes: x, y, dy, dx and t are all m x n (m examples,
 * one per row; n = n_in = n_out).
 *
 * squared_error -- Ng, CS294A Lecture notes "Sparse autoencoder" (2011),
 * section 2, J(W,b) = 1/m sum_i 1/2 ||h_{W,b}(x^(i)) - y^(i)||^2:
 *
 *   forward                              backward
 *   y    = x                             dx += dy + (x - t) / m
 *   cost += 1/(2m) sum_ij (x_ij - t_ij)^2
 *
 * With mean = 0 the 1/m is dropped: the error is summed over the examples, as
 * in the PDP simulators of Rumelhart, Hinton & Williams (1986), so learning
 * rates from that literature keep their meaning.
 *
 * cross_entropy -- binary cross-entropy of sigmoid outputs x in (0,1) against
 * targets t in [0,1] (Bishop, Pattern Recognition and Machine Learning, 2006,
 * section 5.2, eq. 5.21).  eps clamps x into [eps, 1-eps] before the log so a
 * saturated unit gives a finite cost; where the clamp is active the cost does
 * not depend on x, so the gradient there is 0 (the gradient check agrees).
 *
 *   forward                              backward
 *   p    = clamp(x, eps, 1 - eps)        dx += dy + (p - t) / (m p (1 - p))
 *   y    = x                                         (0 where the clamp is active)
 *   cost += -1/m sum_ij [t log p + (1-t) log(1-p)]
 *
 * Terms with weight 0 (t = 0 or t = 1) are skipped, so eps = 0 with binary
 * targets still gives 0 log 0 = 0.  Hyper-parameters: mean (squared_error), eps (cross_entropy).
 * No tensors, no state.
 *
 * Both types are SAE_TYPE_PASSTHROUGH (plugin.h): y is x itself, so forward
 * copies nothing, and dy is dx, so backward adds only the loss's own term
 * (the "dy +" in the tables above is the host's, or already in dx).
 * squared_error's passes run over saelab/elementwise.h's spans and threads;
 * its sum is per example (one double of workspace per example), then over
 * the examples in order: the same cost on any thread count.
 *
 * squared_error has a float32 path too (forward_f32, backward_f32: sae.sgd's
 * precision = 32): x, t and dx in float, the differences taken in float,
 * their squares summed in double (a sum of 100k terms in float would lose
 * the cost's last digits for nothing: the pass is bound by memory).
 */
#include <math.h>
#include <gsl/gsl_matrix.h>
#include <saelab/elementwise.h>
#include <saelab/plugin.h>

enum { SE_MEAN };  /* squared_error's hyper-parameters */
enum { CE_EPS }; /* cross_entropy's hyper-parameters */

static const sae_hparam se_hparams[] = {
  {"mean", 1, 0, 1, SAE_HP_INT,
   "1: average over the batch (the 1/m above); 0: sum over examples, as the PDP simulators did"},
  {NULL, 0, 0, 0, 0, NULL}
};

static const sae_hparam ce_hparams[] = {
  {"eps", 1e-12, 0.0, 1e-3, 0, "clamp x into [eps, 1-eps] before the log (finite cost)"},
  {NULL, 0, 0, 0, 0, NULL}
};

static int loss_setup(sae_node *nd) {
  nd->n_out = nd->n_in;
  nd->n_tensors = 0;
  nd->ws_per_example = 1; /* squared_error: the sum of each example */
  return SAE_OK;
}

/* The target of the batch in flight, checked against x (m x n_in). */
static int loss_target(sae_node *nd, const gsl_matrix *x, const gsl_matrix **t) {
  const char *name = nd->type ? nd->type->name : "loss";
  const size_t m = x->size1;
  if (x->size2 != nd->n_in)
    return SAE_FAIL(nd, SAE_ESHAPE, "%s: x is %zu x %zu, expected %zu x %zu", name, m, x->size2,
                    m, nd->n_in);
  if (!nd->batch || !nd->batch->target)
    return SAE_FAIL(nd, SAE_ESHAPE, "%s: no target in the batch (expected %zu x %zu)", name, m,
                    nd->n_in);
  *t = nd->batch->target;
  if ((*t)->size1 != m || (*t)->size2 != nd->n_in)
    return SAE_FAIL(nd, SAE_ESHAPE, "%s: target is %zu x %zu, expected %zu x %zu", name,
                    (*t)->size1, (*t)->size2, m, nd->n_in);
  return SAE_OK;
}

/* y, dy and dx have x's shape. */
static int loss_same(sae_node *nd, const gsl_matrix *x, const gsl_matrix *a, const char *a_name) {
  if (a->size1 != x->size1 || a->size2 != x->size2)
    return SAE_FAIL(nd, SAE_ESHAPE, "%s: x is %zu x %zu but %s is %zu x %zu",
                    nd->type ? nd->type->name : "loss", x->size1, x->size2, a_name, a->size1,
                    a->size2);
  return SAE_OK;
}

/* ---- squared_error ---------------------------------------------------------- */

/* sum_j (x_j - t_j)^2 over one example, in 8 interleaved partial sums (a
 * fixed order, which a vector unit runs 8 wide instead of one add at a time) */
SAE_EW_CLONES static double se_row(size_t n, const double *restrict x, const double *restrict t) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0}, sum = 0.0;
  size_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (size_t k = 0; k < 8; k++) {
      const double d = x[j + k] - t[j + k];
      acc[k] += d * d;
    }
  for (; j < n; j++) sum += (x[j] - t[j]) * (x[j] - t[j]);
  for (size_t k = 0; k < 8; k++) sum += acc[k];
  return sum;
}

/* The cost from the per-example sums of squares (either precision's):
 * 1/2 their sum, over the batch when mean = 1, summed in example order. */
static double se_total(const sae_node *nd, const double *row, size_t m) {
  double sum = 0.0;
  for (size_t i = 0; i < m; i++) sum += row[i];
  const double scale = nd->hp[SE_MEAN] != 0 ? (double)m : 1.0;
  return sum / (2.0 * scale);
}

static int se_forward(sae_node *nd, const gsl_matrix *x, gsl_matrix *y, double *cost) {
  const size_t m = x->size1, n = x->size2;
  const gsl_matrix *t;
  int rc = loss_target(nd, x, &t);
  if (rc || (rc = loss_same(nd, x, y, "y"))) return rc;
  double *row = nd->ws; /* m: the sum of each example */
  const int nt = sae_ew_threads(m * n);
  (void)nt;
  SAE_EW_PRAGMA(omp parallel for if(nt > 1) num_threads(nt) schedule(static))
  for (size_t i = 0; i < m; i++) row[i] = se_row(n, x->data + i * x->tda, t->data + i * t->tda);
  *cost += se_total(nd, row, m);
  return SAE_OK;
}

/* dx += (x - t) inv, or dx = (backward_write); inv = 1/m or 1 (a product:
 * a division per element costs more than the rest of the pass) */
SAE_EW_CLONES static void se_bwd_span(size_t n, const double *restrict x,
                                      const double *restrict t, double inv, double *restrict dx,
                                      int write) {
  SAE_EW_STORE(write, n, j, dx, (x[j] - t[j]) * inv);
}

/* Elements of dJ/dx a fused span holds on the stack (4 KB): in L1 when the
 * activation's kernel reads them back. */
#define SE_CHUNK ((size_t)512)

/* The activation before the loss, in the same pass (plugin.h, sae_act_fuse):
 * g = (x - t) inv, as se_bwd_span writes it, then the activation's kernel
 * from g into its dx.  The activation's dy is never written. */
static void se_bwd_fused(sae_act_fuse *af, const gsl_matrix *x, const gsl_matrix *t, double inv) {
  gsl_matrix *da = af->dx;
  const size_t tdas[3] = {x->tda, t->tda, da->tda};
  const sae_ew_plan p = sae_ew_plan_for(x->size1, x->size2, tdas, 3);
  const int nt = sae_ew_threads(p.total);
  (void)nt;
  SAE_EW_PRAGMA(omp parallel for if(nt > 1) num_threads(nt) schedule(static))
  for (size_t s = 0; s < p.count; s++) {
    const size_t len = sae_ew_len(&p, s);
    const double *xs = x->data + sae_ew_off(&p, s, x->tda), *ts = t->data + sae_ew_off(&p, s, t->tda);
    double *ds = da->data + sae_ew_off(&p, s, da->tda), g[SE_CHUNK];
    for (size_t o = 0; o < len; o += SE_CHUNK) {
      const size_t n = len - o < SE_CHUNK ? len - o : SE_CHUNK;
      se_bwd_span(n, xs + o, ts + o, inv, g, 1);
      af->span(n, xs + o, g, ds + o, af->write);
    }
  }
  af->taken = 1;
}

static int se_bwd(sae_node *nd, const gsl_matrix *x, const gsl_matrix *dy, gsl_matrix *dx,
                  int write) {
  const size_t m = x->size1;
  const gsl_matrix *t;
  if (!dx) return SAE_OK;
  int rc = loss_target(nd, x, &t);
  if (rc || (rc = loss_same(nd, x, dy, "dy")) || (rc = loss_same(nd, x, dx, "dx"))) return rc;
  const double scale = nd->hp[SE_MEAN] != 0 ? (double)m : 1.0;
  if (write && nd->act) {
    if ((rc = loss_same(nd, x, nd->act->dx, "the activation's dx"))) return rc;
    se_bwd_fused(nd->act, x, t, 1.0 / scale);
    return SAE_OK;
  }
  const size_t tdas[3] = {x->tda, t->tda, dx->tda};
  const sae_ew_plan p = sae_ew_plan_for(m, x->size2, tdas, 3);
  const int nt = sae_ew_threads(p.total);
  (void)nt;
  SAE_EW_PRAGMA(omp parallel for if(nt > 1) num_threads(nt) schedule(static))
  for (size_t s = 0; s < p.count; s++)
    se_bwd_span(sae_ew_len(&p, s), x->data + sae_ew_off(&p, s, x->tda),
                t->data + sae_ew_off(&p, s, t->tda), 1.0 / scale,
                dx->data + sae_ew_off(&p, s, dx->tda),
                write);
  return SAE_OK;
}

static int se_backward(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y,
                       const gsl_matrix *dy, gsl_matrix *dx) {
  (void)y;
  return se_bwd(nd, x, dy, dx, 0);
}

static int se_backward_write(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y,
                             const gsl_matrix *dy, gsl_matrix *dx) {
  (void)y;
  return se_bwd(nd, x, dy, dx, 1);
}

/* ---- squared_error in float32 ------------------------------------------------- */

/* The float target of the batch in flight, checked against x. */
static int loss_target_f32(sae_node *nd, const gsl_matrix_float *x, const gsl_matrix_float **t) {
  const size_t m = x->size1;
  if (x->size2 != nd->n_in)
    return SAE_FAIL(nd, SAE_ESHAPE, "squared_error: x is %zu x %zu, expected %zu x %zu", m,
                    x->size2, m, nd->n_in);
  if (!nd->batch || !nd->batch->target32)
    return SAE_FAIL(nd, SAE_ESHAPE, "squared_error: no float32 target in the batch "
                    "(expected %zu x %zu)", m, nd->n_in);
  *t = nd->batch->target32;
  if ((*t)->size1 != m || (*t)->size2 != nd->n_in)
    return SAE_FAIL(nd, SAE_ESHAPE, "squared_error: target is %zu x %zu, expected %zu x %zu",
                    (*t)->size1, (*t)->size2, m, nd->n_in);
  return SAE_OK;
}

static int loss_same_f32(sae_node *nd, const gsl_matrix_float *x, const gsl_matrix_float *a,
                         const char *a_name) {
  if (a->size1 != x->size1 || a->size2 != x->size2)
    return SAE_FAIL(nd, SAE_ESHAPE, "squared_error: x is %zu x %zu but %s is %zu x %zu",
                    x->size1, x->size2, a_name, a->size1, a->size2);
  return SAE_OK;
}

/* se_row in float: d = x - t in float, d^2 summed in double (8 partial sums). */
SAE_EW_CLONES static double se_row_f32(size_t n, const float *restrict x,
                                       const float *restrict t) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0}, sum = 0.0;
  size_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (size_t k = 0; k < 8; k++) {
      const double d = (double)(x[j + k] - t[j + k]);
      acc[k] += d * d;
    }
  for (; j < n; j++) {
    const double d = (double)(x[j] - t[j]);
    sum += d * d;
  }
  for (size_t k = 0; k < 8; k++) sum += acc[k];
  return sum;
}

static int se_forward_f32(sae_node *nd, const gsl_matrix_float *x, gsl_matrix_float *y,
                          double *cost) {
  const size_t m = x->size1, n = x->size2;
  const gsl_matrix_float *t;
  int rc = loss_target_f32(nd, x, &t);
  if (rc || (rc = loss_same_f32(nd, x, y, "y"))) return rc;
  double *row = nd->ws; /* m: the sum of each example */
  const int nt = sae_ew_threads(m * n);
  (void)nt;
  SAE_EW_PRAGMA(omp parallel for if(nt > 1) num_threads(nt) schedule(static))
  for (size_t i = 0; i < m; i++)
    row[i] = se_row_f32(n, x->data + i * x->tda, t->data + i * t->tda);
  *cost += se_total(nd, row, m);
  return SAE_OK;
}

/* se_bwd_span in float */
SAE_EW_CLONES static void se_bwd_span_f32(size_t n, const float *restrict x,
                                          const float *restrict t, float inv,
                                          float *restrict dx, int write) {
  SAE_EW_STORE(write, n, j, dx, (x[j] - t[j]) * inv);
}

static int se_backward_f32(sae_node *nd, const gsl_matrix_float *x, const gsl_matrix_float *y,
                           const gsl_matrix_float *dy, gsl_matrix_float *dx, int write) {
  const size_t m = x->size1;
  const gsl_matrix_float *t;
  (void)y;
  if (!dx) return SAE_OK;
  int rc = loss_target_f32(nd, x, &t);
  if (rc || (rc = loss_same_f32(nd, x, dy, "dy")) || (rc = loss_same_f32(nd, x, dx, "dx")))
    return rc;
  const double scale = nd->hp[SE_MEAN] != 0 ? (double)m : 1.0;
  const size_t tdas[3] = {x->tda, t->tda, dx->tda};
  const sae_ew_plan p = sae_ew_plan_for(m, x->size2, tdas, 3);
  const int nt = sae_ew_threads(p.total);
  (void)nt;
  SAE_EW_PRAGMA(omp parallel for if(nt > 1) num_threads(nt) schedule(static))
  for (size_t s = 0; s < p.count; s++)
    se_bwd_span_f32(sae_ew_len(&p, s), x->data + sae_ew_off(&p, s, x->tda),
                    t->data + sae_ew_off(&p, s, t->tda), (float)(1.0 / scale),
                    dx->data + sae_ew_off(&p, s, dx->tda), write);
  return SAE_OK;
}

/* ---- cross_entropy ---------------------------------------------------------- */

static int ce_forward(sae_node *nd, const gsl_matrix *x, gsl_matrix *y, double *cost) {
  const size_t m = x->size1, n = x->size2;
  const double eps = nd->hp[CE_EPS];
  const gsl_matrix *t;
  int rc = loss_target(nd, x, &t);
  if (rc || (rc = loss_same(nd, x, y, "y"))) return rc;
  double sum = 0.0;
  for (size_t i = 0; i < m; i++) {
    const double *xi = x->data + i * x->tda, *ti = t->data + i * t->tda;
    for (size_t j = 0; j < n; j++) {
      const double p = fmin(fmax(xi[j], eps), 1.0 - eps);
      if (ti[j] != 0.0) sum += ti[j] * log(p);
      if (ti[j] != 1.0) sum += (1.0 - ti[j]) * log1p(-p);
    }
  }
  *cost += -sum / (double)m;
  return SAE_OK;
}

static int ce_backward(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y,
                       const gsl_matrix *dy, gsl_matrix *dx) {
  const size_t m = x->size1, n = x->size2;
  const double eps = nd->hp[CE_EPS];
  const gsl_matrix *t;
  (void)y;
  if (!dx) return SAE_OK;
  int rc = loss_target(nd, x, &t);
  if (rc || (rc = loss_same(nd, x, dy, "dy")) || (rc = loss_same(nd, x, dx, "dx"))) return rc;
  for (size_t i = 0; i < m; i++) {
    const double *xi = x->data + i * x->tda, *ti = t->data + i * t->tda;
    double *dxi = dx->data + i * dx->tda;
    for (size_t j = 0; j < n; j++) {
      const double p = xi[j];
      const int clamped = p < eps || p > 1.0 - eps || p <= 0.0 || p >= 1.0;
      dxi[j] += clamped ? 0.0 : (p - ti[j]) / ((double)m * p * (1.0 - p));
    }
  }
  return SAE_OK;
}

static const sae_type loss_se = {
  .name = "squared_error",
  .kind = SAE_KIND_LOSS,
  .summary = "y = x; cost += 1/(2m) sum ||x - t||^2",
  .citation = "Ng, CS294A Sparse autoencoder notes (2011), section 2, J(W,b)",
  .hparams = se_hparams,
  .flags = SAE_TYPE_TARGET | SAE_TYPE_PASSTHROUGH | SAE_TYPE_FUSED_ACT,
  .setup = loss_setup,
  .forward = se_forward,
  .backward = se_backward,
  .backward_write = se_backward_write,
  .forward_f32 = se_forward_f32,
  .backward_f32 = se_backward_f32,
};

static const sae_type loss_ce = {
  .name = "cross_entropy",
  .kind = SAE_KIND_LOSS,
  .summary = "y = x; cost += -1/m sum [t log x + (1-t) log(1-x)], x in (0,1)",
  .citation = "Bishop, Pattern Recognition and Machine Learning (2006), section 5.2, eq. 5.21",
  .hparams = ce_hparams,
  .flags = SAE_TYPE_TARGET | SAE_TYPE_PASSTHROUGH,
  .setup = loss_setup,
  .forward = ce_forward,
  .backward = ce_backward,
};

static const sae_type *const loss_types[] = {&loss_se, &loss_ce, NULL};

static const sae_plugin loss_plugin = {
  SAE_PLUGIN_HEADER,
  .name = "loss",
  .version = "1.0",
  .summary = "reconstruction losses",
  .types = loss_types,
};

const sae_plugin *saelab_plugin(uint32_t host_abi);
const sae_plugin *saelab_plugin(uint32_t host_abi) {
  return host_abi == SAE_PLUGIN_ABI ? &loss_plugin : NULL;
}
