/* penalty_l1.c -- the L1 sparsity penalty on a layer's activations.
 *
 * A penalty node sits after the layer whose output it makes sparse; it passes
 * its input through unchanged and adds lambda times the mean L1 norm to the
 * cost (Lee, Battle, Raina & Ng, "Efficient sparse coding algorithms",
 * NIPS 2006, eq. 1, the sum_j |s_j| term; averaged over the batch here).
 *
 *   forward                                backward
 *   y    = x                               dx += dy + (lambda/m) sign(x)
 *   cost += (lambda/m) sum_ij |x_ij|       (sign(0) = 0: a kink, so NONSMOOTH)
 *
 * The type is SAE_TYPE_PASSTHROUGH (saelab/plugin.h): the host makes y the
 * very matrix x and dy the very matrix dx, so forward copies nothing and
 * backward adds only (lambda/m) sign(x) (the dy above is already in dx).
 *
 * Shapes: x, y, dy, dx are m x n (m examples, one per row; n = n_in = n_out).
 * Hyper-parameters: lambda >= 0.  No tensors, no state, no workspace.
 */
#include <math.h>
#include <saelab/plugin.h>

enum { L1_LAMBDA }; /* indices into nd->hp, in the order of l1_hparams */

static const sae_hparam l1_hparams[] = {
  {"lambda", 1e-3, 0.0, 1e6, 0, "lambda, the weight of the penalty"},
  {NULL, 0, 0, 0, 0, NULL}
};

static int l1_setup(sae_node *nd) {
  nd->n_out = nd->n_in;
  nd->n_tensors = 0;
  nd->ws_per_example = 0;
  return SAE_OK;
}

static int l1_forward(sae_node *nd, const gsl_matrix *x, gsl_matrix *y, double *cost) {
  const size_t m = x->size1;
  const double lambda = nd->hp[L1_LAMBDA];
  if (y->size1 != m || y->size2 != x->size2)
    return SAE_FAIL(nd, SAE_ESHAPE, "l1: x is %zu x %zu but y is %zu x %zu",
                    m, x->size2, y->size1, y->size2);
  double sum = 0.0;
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < x->size2; j++)
      sum += fabs(gsl_matrix_get(x, i, j));
  *cost += lambda / (double)m * sum;
  return SAE_OK;
}

static int l1_backward(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y,
                       const gsl_matrix *dy, gsl_matrix *dx) {
  const size_t m = x->size1;
  const double c = nd->hp[L1_LAMBDA] / (double)m;
  (void)y;
  (void)dy;
  if (!dx) return SAE_OK;
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < x->size2; j++) {
      const double xij = gsl_matrix_get(x, i, j);
      const double sign = (xij > 0) - (xij < 0);
      *gsl_matrix_ptr(dx, i, j) += c * sign; /* PASSTHROUGH: dy is already in dx */
    }
  return SAE_OK;
}

static const sae_type l1_type = {
  .name = "l1",
  .kind = SAE_KIND_PENALTY,
  .summary = "y = x; cost += lambda/m sum |x| (L1 sparsity)",
  .citation = "Lee, Battle, Raina & Ng, Efficient sparse coding algorithms, NIPS 2006, eq. 1",
  .hparams = l1_hparams,
  .flags = SAE_TYPE_NONSMOOTH | SAE_TYPE_PASSTHROUGH, /* y is x, dy is dx (plugin.h) */
  .setup = l1_setup,
  .forward = l1_forward,
  .backward = l1_backward,
};

static const sae_type *const l1_types[] = {&l1_type, NULL};

static const sae_plugin l1_plugin = {
  SAE_PLUGIN_HEADER,
  .name = "penalty_l1",
  .version = "1.0",
  .summary = "L1 sparsity penalty",
  .types = l1_types,
};

const sae_plugin *saelab_plugin(uint32_t host_abi);
const sae_plugin *saelab_plugin(uint32_t host_abi) {
  return host_abi == SAE_PLUGIN_ABI ? &l1_plugin : NULL;
}
