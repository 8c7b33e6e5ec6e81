/* penalty_kl.c -- the KL-divergence sparsity penalty of the sparse autoencoder.
 *
 * Ng, CS294A Lecture notes "Sparse autoencoder" (2011), section 3, "Sparsity
 * penalty" (also UFLDL, "Autoencoders and sparsity").  The node sits after
 * the hidden activations a^(2) (a sigmoid: x must lie in (0,1)); rho_hat_j is
 * the average activation of hidden unit j over the batch, pushed towards the
 * target sparsity rho:
 *
 *   forward                                     backward
 *   rho_hat_j = 1/m sum_i x_ij                  rho_hat recomputed from x (below)
 *   y = x                                       dx_ij += dy_ij + (beta/m) *
 *   cost += beta sum_j KL(rho || rho_hat_j)            (-rho/rho_hat_j + (1-rho)/(1-rho_hat_j))
 *
 *   KL(rho || rho_hat) = rho log(rho/rho_hat) + (1-rho) log((1-rho)/(1-rho_hat))
 *
 * The notes write the backward term into delta^(2) (their eq. for delta_i^(2)
 * with the sparsity term); with one example per row and the cost averaged as
 * J_sparse = J + beta sum_j KL, d/dx_ij of beta KL(rho || rho_hat_j) is the
 * term above, the 1/m coming from d rho_hat_j / d x_ij.
 *
 * Shapes (m examples, n = n_in = n_out hidden units):
 *   x, y, dy, dx   m x n          rho_hat   1 x n (not stored)
 *
 * Why rho_hat is recomputed in backward instead of kept: it is n doubles per
 * BATCH, and the host offers only ws_per_example doubles per EXAMPLE
 * (m * ws_per_example in all) and a state of a fixed size per type.  One
 * double per example is not enough when n > m (25 hidden units, batch of 10),
 * and ws_per_example = n would waste m times what is needed.  Recomputing is
 * one pass over x, O(m n): the same order as copying x into y, and nothing
 * next to the dense layers' O(m n n_in) products.
 *
 * rho_hat_j outside (0,1) makes the logs undefined: SAE_EDATA, naming the
 * unit (counted from 1, as Lua does) and hinting at the missing sigmoid.
 *
 * Hyper-parameters: rho (target mean activation, the notes' rho = 0.05, UFLDL's
 * exercise 0.01), beta (weight of the penalty, the notes' beta = 3).
 * No tensors, no state, no workspace.
 */
#include <math.h>
#include <gsl/gsl_matrix.h>
#include <saelab/plugin.h>

enum { KL_RHO, KL_BETA };

static const sae_hparam kl_hparams[] = {
  {"rho", 0.01, 1e-6, 1.0 - 1e-6, 0, "target mean activation rho of each hidden unit"},
  {"beta", 3, 0, 1e6, 0, "weight beta of the sparsity penalty"},
  {NULL, 0, 0, 0, 0, NULL}
};

static int kl_setup(sae_node *nd) {
  if (nd->n_in < 1) return SAE_FAIL(nd, SAE_ESHAPE, "kl: input width is 0");
  nd->n_out = nd->n_in;
  nd->n_tensors = 0;
  nd->ws_per_example = 0; /* rho_hat is per batch: recomputed, see the header */
  return SAE_OK;
}

static int kl_shape(sae_node *nd, const gsl_matrix *x, const gsl_matrix *a, const char *a_name) {
  if (x->size2 != nd->n_in)
    return SAE_FAIL(nd, SAE_ESHAPE, "kl: x is %zu x %zu, expected m x %zu", x->size1, x->size2,
                    nd->n_in);
  if (a->size1 != x->size1 || a->size2 != x->size2)
    return SAE_FAIL(nd, SAE_ESHAPE, "kl: x is %zu x %zu but %s is %zu x %zu", x->size1, x->size2,
                    a_name, a->size1, a->size2);
  return SAE_OK;
}

/* rho_hat_j = 1/m sum_i x_ij (one column of x). */
static double kl_rho_hat(const gsl_matrix *x, size_t j) {
  const size_t m = x->size1;
  double s = 0.0;
  for (size_t i = 0; i < m; i++) s += x->data[i * x->tda + j];
  return s / (double)m;
}

/* rho_hat_j must lie in (0,1) for the logs and the quotients. */
static int kl_check(sae_node *nd, size_t j, double rho_hat) {
  if (!(rho_hat > 0.0 && rho_hat < 1.0))
    return SAE_FAIL(nd, SAE_EDATA,
                    "kl: rho_hat_%zu = %g is outside (0,1): put a sigmoid before kl", j + 1,
                    rho_hat);
  return SAE_OK;
}

static int kl_forward(sae_node *nd, const gsl_matrix *x, gsl_matrix *y, double *cost) {
  const size_t n = x->size2;
  const double rho = nd->hp[KL_RHO], beta = nd->hp[KL_BETA];
  int rc = kl_shape(nd, x, y, "y");
  if (rc) return rc;
  if (x->size1 == 0) return SAE_FAIL(nd, SAE_ESHAPE, "kl: empty batch (m = 0)");
  gsl_matrix_memcpy(y, x);
  double kl = 0.0;
  for (size_t j = 0; j < n; j++) {
    const double rho_hat = kl_rho_hat(x, j);
    if ((rc = kl_check(nd, j, rho_hat))) return rc;
    kl += rho * log(rho / rho_hat) + (1.0 - rho) * (log1p(-rho) - log1p(-rho_hat));
  }
  *cost += beta * kl;
  return SAE_OK;
}

static int kl_backward(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y,
                       const gsl_matrix *dy, gsl_matrix *dx) {
  const size_t m = x->size1, n = x->size2;
  const double rho = nd->hp[KL_RHO], beta = nd->hp[KL_BETA];
  int rc;
  (void)y;
  if (!dx) return SAE_OK;
  if ((rc = kl_shape(nd, x, dy, "dy")) || (rc = kl_shape(nd, x, dx, "dx"))) return rc;
  if (m == 0) return SAE_FAIL(nd, SAE_ESHAPE, "kl: empty batch (m = 0)");
  for (size_t j = 0; j < n; j++) {
    const double rho_hat = kl_rho_hat(x, j);
    if ((rc = kl_check(nd, j, rho_hat))) return rc;
    /* d/dx_ij beta KL(rho || rho_hat_j), the same for every example i */
    const double s = (beta / (double)m) * (-rho / rho_hat + (1.0 - rho) / (1.0 - rho_hat));
    for (size_t i = 0; i < m; i++) dx->data[i * dx->tda + j] += dy->data[i * dy->tda + j] + s;
  }
  return SAE_OK;
}

static const sae_type kl_type = {
  .name = "kl",
  .kind = SAE_KIND_PENALTY,
  .summary = "y = x; cost += beta sum_j KL(rho || rho_hat_j), rho_hat = batch mean of x",
  .citation = "Ng, CS294A Sparse autoencoder notes (2011), section 3, sparsity penalty",
  .hparams = kl_hparams,
  .flags = 0,
  .setup = kl_setup,
  .forward = kl_forward,
  .backward = kl_backward,
};

static const sae_type *const kl_types[] = {&kl_type, NULL};

static const sae_plugin kl_plugin = {
  SAE_PLUGIN_HEADER,
  .name = "penalty_kl",
  .version = "1.0",
  .summary = "KL-divergence sparsity penalty",
  .types = kl_types,
};

const sae_plugin *saelab_plugin(uint32_t host_abi);
const sae_plugin *saelab_plugin(uint32_t host_abi) {
  return host_abi == SAE_PLUGIN_ABI ? &kl_plugin : NULL;
}
