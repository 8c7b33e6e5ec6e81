/* dense.c -- the fully connected (affine) layer.
 *
 * Ng, CS294A Lecture notes "Sparse autoencoder" (2011), section 2:
 * z^(l+1) = W^(l) a^(l) + b^(l), written here with one example per row.  W
 * is the notes' W^(l), n_out x n_in: one unit per ROW (plugin.h), row j unit
 * j's weights, so a filter grid draws W as it is.
 *
 *   forward                         backward
 *   y = x W^T + 1 b                 grad W += dy^T x
 *                                   grad b += 1^T dy   (column sums of dy)
 *                                   dx     += dy W     (when dx != NULL)
 *
 * Shapes (m examples):  x, dx  m x n_in      W  n_out x n_in
 *                       y, dy  m x n_out     b  1 x n_out   (1: m ones)
 *
 * Tied weights (a decoder W2 = W1^T): when nd->trans[0] is 1 the host hands
 * param[0] and grad[0] as the encoder stores them, Ws = W^T (n_in x n_out:
 * a row per encoder unit), so
 *   y = x Ws + 1 b,   grad Ws += x^T dy,   dx += dy Ws^T.
 * Gradients accumulate: the tied encoder adds its own dy^T x to the same block.
 *
 * Initialisation: W ~ U(-r, r) with, by default, the rule of UFLDL's
 * initializeParameters.m, r = sqrt(6 / (n_in + n_out + 1)) (after Glorot &
 * Bengio, "Understanding the difficulty of training deep feedforward neural
 * networks", AISTATS 2010, eq. 16); b = 0.  W is flagged DECAY, b is not
 * (CS294A section 2: weight decay does not apply to the bias terms).  W is
 * also flagged INIT_BY_COL: the host draws it input by input, the order of
 * dense's former n_in x n_out layout, so a seed gives the same initial
 * weights (and the same runs) as before the layout changed.
 *
 * Hyper-parameters: n_out (FIXED), init_scale (< 0: the rule above; else r),
 * bias (1: include b, 0: y = x W^T; FIXED), max_norm and norm_axis (project(),
 * below).  No state, no workspace.
 */
#include <math.h>
#include <gsl/gsl_blas.h>
#include <string.h>
#include <saelab/elementwise.h>
#include <saelab/plugin.h>
#include <saelab/sparse.h>

enum { DENSE_N_OUT, DENSE_INIT_SCALE, DENSE_BIAS, DENSE_MAX_NORM, DENSE_NORM_AXIS };
enum { DENSE_W, DENSE_B }; /* tensor indices */

static const sae_hparam dense_hparams[] = {
  {"n_out", 5, 1, 1e6, SAE_HP_INT | SAE_HP_FIXED, "output width (hidden units s_{l+1})"},
  {"init_scale", -1, -1, 1e3, SAE_HP_FIXED,
   "half-width r of U(-r, r) for W; < 0: r = sqrt(6/(n_in+n_out+1))"},
  {"bias", 1, 0, 1, SAE_HP_INT | SAE_HP_FIXED, "1: y = x W^T + b; 0: y = x W^T"},
  {"max_norm", 0, 0, 1e9, 0,
   "project(): rows (norm_axis 0) or columns (1) of W at most this long; 0: no bound"},
  {"norm_axis", 0, 0, 1, SAE_HP_INT,
   "0: bound each unit's weights (rows: a classifier's); 1: each input's (columns: "
   "a decoder's atoms)"},
  {NULL, 0, 0, 0, 0, NULL}
};

static int dense_setup(sae_node *nd) {
  const double n_out = nd->hp[DENSE_N_OUT], scale = nd->hp[DENSE_INIT_SCALE];
  if (n_out < 1 || n_out != floor(n_out))
    return SAE_FAIL(nd, SAE_EHPARAM, "dense: n_out = %g must be a whole number >= 1", n_out);
  if (nd->n_in < 1)
    return SAE_FAIL(nd, SAE_ESHAPE, "dense: input width is 0");
  nd->n_out = (size_t)n_out;
  nd->n_tensors = nd->hp[DENSE_BIAS] != 0 ? 2 : 1;
  nd->ws_per_example = 0;
  nd->tensor[DENSE_W] = (sae_tensor_spec){
    "W", nd->n_out, nd->n_in, SAE_INIT_UNIFORM,
    scale < 0 ? sqrt(6.0 / (double)(nd->n_in + nd->n_out + 1)) : scale,
    SAE_TENSOR_DECAY | SAE_TENSOR_INIT_BY_COL};
  nd->tensor[DENSE_B] = (sae_tensor_spec){"b", 1, nd->n_out, SAE_INIT_ZERO, 0.0, 0};
  return SAE_OK;
}

/* y_i = b, one example's row (a loop, not a memcpy call per short row) */
SAE_EW_CLONES static void dense_bias_row(size_t n, const double *restrict b, double *restrict yi) {
  SAE_EW_PRAGMA(omp simd)
  for (size_t j = 0; j < n; j++) yi[j] = b[j];
}

static int dense_forward(sae_node *nd, const gsl_matrix *x, gsl_matrix *y, double *cost) {
  const size_t m = x->size1;
  const gsl_matrix *W = &nd->param[DENSE_W];
  const CBLAS_TRANSPOSE_t tW = nd->trans[DENSE_W] ? CblasNoTrans : CblasTrans;
  double beta = 0.0;
  (void)cost;
  if (y->size1 != m || y->size2 != nd->n_out || x->size2 != nd->n_in)
    return SAE_FAIL(nd, SAE_ESHAPE, "dense: x is %zu x %zu, y %zu x %zu; expected m x %zu, m x %zu",
                    m, x->size2, y->size1, y->size2, nd->n_in, nd->n_out);
  if (nd->n_tensors > DENSE_B) { /* y = 1 b, then y += x W^T */
    const double *b = nd->param[DENSE_B].data;
    const size_t n = nd->n_out;
    const int nt = sae_ew_threads(m * n);
    (void)nt;
    SAE_EW_PRAGMA(omp parallel for if(nt > 1) num_threads(nt) schedule(static))
    for (size_t i = 0; i < m; i++) dense_bias_row(n, b, y->data + i * y->tda);
    beta = 1.0;
  }
  int rc = gsl_blas_dgemm(CblasNoTrans, tW, 1.0, x, W, beta, y);
  return rc ? SAE_FAIL(nd, rc, "dense: x W^T: shapes do not fit") : SAE_OK;
}

/* dx_beta: 1 adds dy W into dx (backward), 0 writes it (backward_write:
 * BLAS does not read C when beta is 0) */
static int dense_bwd(sae_node *nd, const gsl_matrix *x, const gsl_matrix *dy, gsl_matrix *dx,
                     double dx_beta) {
  const size_t m = x->size1;
  const gsl_matrix *W = &nd->param[DENSE_W];
  gsl_matrix *gW = &nd->grad[DENSE_W];
  int rc;
  if (dy->size1 != m || dy->size2 != nd->n_out)
    return SAE_FAIL(nd, SAE_ESHAPE, "dense: dy is %zu x %zu, expected %zu x %zu",
                    dy->size1, dy->size2, m, nd->n_out);
  if (nd->trans[DENSE_W]) /* grad Ws += x^T dy  (n_in x n_out) */
    rc = gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, x, dy, 1.0, gW);
  else                    /* grad W  += dy^T x  (n_out x n_in) */
    rc = gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, dy, x, 1.0, gW);
  if (rc) return SAE_FAIL(nd, rc, "dense: grad W: shapes do not fit");
  if (nd->n_tensors > DENSE_B) /* grad b += column sums of dy, in row order */
    sae_col_sums(dy, nd->grad[DENSE_B].data);
  if (dx) { /* dx += dy W, or dy Ws^T when tied */
    rc = gsl_blas_dgemm(CblasNoTrans, nd->trans[DENSE_W] ? CblasTrans : CblasNoTrans,
                        1.0, dy, W, dx_beta, dx);
    if (rc) return SAE_FAIL(nd, rc, "dense: dx: shapes do not fit");
  }
  return SAE_OK;
}

static int dense_backward(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y,
                          const gsl_matrix *dy, gsl_matrix *dx) {
  (void)y;
  return dense_bwd(nd, x, dy, dx, 1.0);
}

static int dense_backward_write(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y,
                                const gsl_matrix *dy, gsl_matrix *dx) {
  (void)y;
  return dense_bwd(nd, x, dy, dx, 0.0);
}

/* project(): the max-norm constraint (Srebro & Shraibman, COLT 2005; DrSAE,
 * Rolfe & LeCun 2013, sec. 3: decoder columns <= 1, classifier rows <= 5):
 * every row (norm_axis 0) or column (1) of W longer than max_norm is scaled
 * back onto the ball.  A tied W is stored transposed (trans), so the axes swap. */
static int dense_project(sae_node *nd) {
  const double c = nd->hp[DENSE_MAX_NORM];
  if (!(c > 0)) return SAE_OK;
  gsl_matrix *W = &nd->param[DENSE_W];
  const int cols = (nd->hp[DENSE_NORM_AXIS] != 0) != (nd->trans[DENSE_W] != 0);
  sae_norm_bound(W, cols, c);
  return SAE_OK;
}

static const sae_type dense_type = {
  .name = "dense",
  .kind = SAE_KIND_LAYER,
  .summary = "affine layer y = x W^T + b (W: a row per unit)",
  .citation = "Ng, CS294A Sparse autoencoder notes (2011), section 2; "
              "init: Glorot & Bengio, AISTATS 2010, eq. 16",
  .hparams = dense_hparams,
  .flags = 0,
  .setup = dense_setup,
  .forward = dense_forward,
  .backward = dense_backward,
  .backward_write = dense_backward_write,
  .project = dense_project,
};

static const sae_type *const dense_types[] = {&dense_type, NULL};

static const sae_plugin dense_plugin = {
  SAE_PLUGIN_HEADER,
  .name = "dense",
  .version = "2.0", /* 2.0: W is n_out x n_in, one unit per row (1.0: n_in x n_out).
                       max_norm and norm_axis came later without a new version: their
                       defaults are the old behaviour, so saved models mean the same */
  .summary = "fully connected layer",
  .types = dense_types,
};

const sae_plugin *saelab_plugin(uint32_t host_abi);
const sae_plugin *saelab_plugin(uint32_t host_abi) {
  return host_abi == SAE_PLUGIN_ABI ? &dense_plugin : NULL;
}
