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
 *   x, y, dy, dx   m x n          rho_hat   1 x n (ws_fixed)
 *
 * rho_hat is recomputed in backward (the contract guarantees the same x as
 * forward, but a recount costs one pass over x, next to nothing beside the
 * dense layers' O(m n n_in) products, and keeps backward independent).  It
 * lives in n doubles of fixed workspace (ws_fixed), summed column by column
 * down the rows in row order (sae_col_sums, saelab/elementwise.h: the same
 * numbers on any thread count), and backward adds the per-unit term to each
 * row of dx: row-major passes, split over threads.
 *
 * SAE_TYPE_PASSTHROUGH (plugin.h): y is x and dy is dx, so forward copies
 * nothing and backward adds only the penalty's term (the dy_ij above is
 * already in dx).
 *
 * rho_hat_j outside (0,1) makes the logs undefined: SAE_EDATA, naming the
 * unit (counted from 1, as Lua does) and hinting at the missing sigmoid.
 *
 * Hyper-parameters: rho (target mean activation, the notes' rho = 0.05, UFLDL's
 * exercise 0.01), beta (weight of the penalty, the notes' beta = 3).
 * No tensors, no state; n doubles of fixed workspace.
 */
#include <math.h>
#include <gsl/gsl_matrix.h>
#include <saelab/elementwise.h>
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
  nd->ws_per_example = 0;
  nd->ws_fixed = nd->n_in; /* rho_hat (then backward's per-unit term): per batch */
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

/* rh[j] = rho_hat_j = 1/m sum_i x_ij, for every unit j. */
static void kl_rho_hat(const gsl_matrix *x, double *rh) {
  const size_t n = x->size2;
  for (size_t j = 0; j < n; j++) rh[j] = 0.0;
  sae_col_sums(x, rh);
  for (size_t j = 0; j < n; j++) rh[j] /= (double)x->size1;
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
  double *rh = nd->ws, kl = 0.0;
  kl_rho_hat(x, rh);
  for (size_t j = 0; j < n; j++) {
    const double rho_hat = rh[j];
    if ((rc = kl_check(nd, j, rho_hat))) return rc;
    kl += rho * log(rho / rho_hat) + (1.0 - rho) * (log1p(-rho) - log1p(-rho_hat));
  }
  *cost += beta * kl;
  return SAE_OK;
}

/* dxi = s (write) or dxi += s: one example's row */
SAE_EW_CLONES static void kl_row(size_t n, const double *restrict s, double *restrict dxi,
                                 int write) {
  SAE_EW_STORE(write, n, j, dxi, s[j]);
}

/* dx += the term (backward), or dx = the term (backward_write) */
static int kl_bwd(sae_node *nd, const gsl_matrix *x, const gsl_matrix *dy, gsl_matrix *dx,
                  int write) {
  const size_t m = x->size1, n = x->size2;
  const double rho = nd->hp[KL_RHO], beta = nd->hp[KL_BETA];
  int rc;
  if (!dx) return SAE_OK;
  if ((rc = kl_shape(nd, x, dy, "dy")) || (rc = kl_shape(nd, x, dx, "dx"))) return rc;
  if (m == 0) return SAE_FAIL(nd, SAE_ESHAPE, "kl: empty batch (m = 0)");
  double *s = nd->ws; /* rho_hat_j, then the term s_j */
  kl_rho_hat(x, s);
  for (size_t j = 0; j < n; j++) {
    const double rho_hat = s[j];
    if ((rc = kl_check(nd, j, rho_hat))) return rc;
    /* d/dx_ij beta KL(rho || rho_hat_j), the same for every example i */
    s[j] = (beta / (double)m) * (-rho / rho_hat + (1.0 - rho) / (1.0 - rho_hat));
  }
  const int nt = sae_ew_threads(m * n);
  (void)nt;
  SAE_EW_PRAGMA(omp parallel for if(nt > 1) num_threads(nt) schedule(static))
  for (size_t i = 0; i < m; i++) kl_row(n, s, dx->data + i * dx->tda, write);
  return SAE_OK;
}

static int kl_backward(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y,
                       const gsl_matrix *dy, gsl_matrix *dx) {
  (void)y;
  return kl_bwd(nd, x, dy, dx, 0);
}

static int kl_backward_write(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y,
                             const gsl_matrix *dy, gsl_matrix *dx) {
  (void)y;
  return kl_bwd(nd, x, dy, dx, 1);
}

static const sae_type kl_type = {
  .name = "kl",
  .kind = SAE_KIND_PENALTY,
  .summary = "y = x; cost += beta sum_j KL(rho || rho_hat_j), rho_hat = batch mean of x",
  .citation = "Ng, CS294A Sparse autoencoder notes (2011), section 3, sparsity penalty",
  .hparams = kl_hparams,
  .flags = SAE_TYPE_PASSTHROUGH,
  .setup = kl_setup,
  .forward = kl_forward,
  .backward = kl_backward,
  .backward_write = kl_backward_write,
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
