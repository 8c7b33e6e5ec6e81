/* arora.c -- neurally plausible sparse coding: threshold decoding and a Hebbian dictionary step.
 *
 * Arora, Ge, Ma & Moitra, "Simple, Efficient, and Neural Algorithms for Sparse
 * Coding", COLT 2015 (PMLR 40:113-149; arXiv 1503.00778), the "neurally
 * plausible update rule" (Algorithm 2 of the arXiv version, as the issue and
 * secondary sources number it).  The paper's generative model: y = A* x*, A*
 * n x m with unit, incoherent columns, x* k-sparse with |x*_i| >= C on its
 * support.  From an A^0 that is (delta, 2)-near to A* the rule alternates
 *
 *   decode   x^(i) = threshold_{C/2}((A^s)^T y^(i))        for each of p samples
 *   update   g^s   = (1/p) sum_i (A^s x^(i) - y^(i)) sgn(x^(i))^T
 *            A^{s+1} = A^s - eta g^s
 *
 * i.e. A += (eta/p) sum_i (y - A x) sgn(x)^T: the residual times the sign of
 * each active unit, a Hebbian product of the error and the post-synaptic
 * spike.  threshold_t(v) keeps the entries with |v_j| >= t and zeroes the rest.
 *
 * SOURCE CAVEAT.  The paper's own text of the algorithm could not be
 * retrieved while this file was written (the searchable stores held only its
 * abstract and introduction).  The two lines above follow, and agree with, a
 * reading note of the paper in a public repository ("[AGMM15]", its
 * "Version 1"), two public implementations (a Python one that says it
 * implements "Algorithm 2", and utils/neural_sparse_coding.m of the
 * double-sparse-coding code of Nguyen, Wong & Hegde, with eta = m/k and
 * unit-norm columns), and the statement.  The note writes the update
 * with (y - A x) AND "A - eta g", a sign slip that its own restatement of
 * Lemma 11 contradicts (E g_i = p_i q_i (lambda_i A_i - A*_i + ...) needs g
 * built from A x - y); we use the descent direction, the equation.
 * Not implemented: the paper's unbiased variant (its Theorem 3 algorithm,
 * which removes the systematic error the simple rule converges to), the
 * Olshausen-Field variant with its projection onto the delta-ball, and the
 * SVD initialisation.
 *
 * In saelab's layout (one example per ROW; the paper writes columns) the data
 * y is our node input x (m x n_in), the code x is our output z (m x n_hid),
 * and the dictionary is stored as W = A^T, n_hid x n_in: row j is atom A_j.
 *
 *   forward                                  backward
 *   V = x W^T             (m x n_hid, dgemm)  dx += (dy .* M) W      (dx != NULL)
 *   M = [|V| >= tau]      (the mask)          grad W: left alone (W is NOGRAD)
 *   z = V .* M            cost += 0
 *
 *   update(eta), after a forward on the same batch (m rows):
 *   R_i  = x_i - sum_{j: z_ij != 0} z_ij W_j        residual, with the OLD W, all i first
 *   W_j += (eta/m) sum_{i: z_ij != 0} sgn(z_ij) R_i  the batch mean of (y - A x) sgn(x)^T
 *   W_j /= ||W_j||                                  for every j, when renorm = 1
 *
 *   init():    every row of W to unit norm (after the host's N(0, 1/n_in) draw).
 *   project(): the same normalisation when renorm = 1 (a no-op when 0).
 *
 * tau is the paper's C/2.  The update and the residual walk the support only
 * (O(m nnz n_in), nnz the active units per example), which is also what makes
 * the rule "neural": each atom sees only its own unit's spike and the shared
 * residual.  Renormalising the atoms is not part of the rule as stated (the
 * analysis keeps columns near unit norm through the contraction); it is the
 * usual practical safeguard, on by default, renorm = 0 gives the bare rule.
 *
 * W is flagged SAE_TENSOR_NOGRAD: optimisers leave it alone and the gradient
 * check does not look at it.  backward exists so that a model containing the
 * node still evaluates (a monitoring decoder and a loss after it): dx passes
 * through the mask, dJ/dx = (dy .* M) W, which the registry-wide gradient
 * check verifies.  A monitoring decoder reconstructs with the same atoms by
 * `tie`: a dense node (n_out = n_in, bias = 0) stores its W as n_in x n_hid
 * (a row per output unit), the transpose of this W, so tie (not share) makes
 * y = z W^T = z A^T with this W read transposed.
 *
 * Shapes (m examples):  x, dx  m x n_in      W  n_hid x n_in (row j = atom A_j)
 *                       z, dy  m x n_hid
 * ws, per example (ws_per_example = n_hid + n_in):
 *   [0, n_hid)            V_i, the pre-threshold correlations (forward writes; backward
 *                         reads the mask from it, not from z != 0: with tau = 0 a kept
 *                         unit may be exactly 0)
 *   [n_hid, n_hid + n_in) R_i, the residual (update writes, then reads)
 * No state.  Hyper-parameters: n_hid (FIXED), tau >= 0 (retunable), renorm.
 *
 * Defaults are small for the registry-wide gradient check (6 inputs in
 * (0.1, 0.9)): n_hid = 8 unit atoms give correlations of order 1, and
 * tau = 0.5 is the paper's C/2 for C = 1.
 */
#include <math.h>
#include <gsl/gsl_blas.h>
#include <saelab/plugin.h>
#include <saelab/sparse.h>

enum { AR_N_HID, AR_TAU, AR_RENORM };
enum { AR_W }; /* tensor index */

static const sae_hparam arora_hparams[] = {
  {"n_hid", 8, 1, 1e6, SAE_HP_INT | SAE_HP_FIXED, "atoms m (columns of A; the paper's m > n)"},
  {"tau", 0.5, 0, 1e6, 0, "decoding threshold C/2: keep |<A_j, y>| >= tau (paper: C/2)"},
  {"renorm", 1, 0, 1, SAE_HP_INT,
   "1: atoms back to unit norm after each update and in project(); 0: the bare rule"},
  {NULL, 0, 0, 0, 0, NULL}
};

static int arora_setup(sae_node *nd) {
  const double n_hid = nd->hp[AR_N_HID];
  if (n_hid < 1 || n_hid != floor(n_hid))
    return SAE_FAIL(nd, SAE_EHPARAM, "arora: n_hid = %g must be a whole number >= 1", n_hid);
  if (nd->n_in < 1) return SAE_FAIL(nd, SAE_ESHAPE, "arora: input width is 0");
  const size_t h = (size_t)n_hid, n = nd->n_in;
  nd->n_out = h;
  nd->n_tensors = 1;
  nd->ws_per_example = h + n;
  nd->tensor[AR_W] = (sae_tensor_spec){"W", h, n, SAE_INIT_NORMAL, 1.0 / sqrt((double)n),
                                       SAE_TENSOR_NOGRAD};
  return SAE_OK;
}

/* Every row of W to unit norm.  A row of norm 0 (or not finite) has no
 * direction to keep: SAE_ENUMERIC, naming it. */
static int arora_normalise(sae_node *nd, const char *who) {
  size_t j;
  if (sae_rows_unit(&nd->param[AR_W], &j) == 0) return SAE_OK;
  gsl_vector_view bad = gsl_matrix_row(&nd->param[AR_W], j);
  return SAE_FAIL(nd, SAE_ENUMERIC, "arora %s: atom %zu has norm %g: cannot normalise it", who,
                  j + 1, gsl_blas_dnrm2(&bad.vector));
}

static int arora_init(sae_node *nd) { return arora_normalise(nd, "init"); }

static int arora_project(sae_node *nd) {
  return nd->hp[AR_RENORM] != 0 ? arora_normalise(nd, "project") : SAE_OK;
}

/* x is m x n_in and a (y, dy or dx) m x width; W not tied transposed. */
static int arora_shape(sae_node *nd, const gsl_matrix *x, const gsl_matrix *a, size_t width,
                       const char *name) {
  if (x->size2 != nd->n_in || a->size1 != x->size1 || a->size2 != width)
    return SAE_FAIL(nd, SAE_ESHAPE, "arora: x is %zu x %zu, %s %zu x %zu; expected m x %zu, m x %zu",
                    x->size1, x->size2, name, a->size1, a->size2, nd->n_in, width);
  if (nd->trans[AR_W])
    return SAE_FAIL(nd, SAE_ETYPE,
                    "arora: W is tied transposed; arora stores W = A^T as n_hid x n_in "
                    "(row j = atom j): use share, not tie");
  return SAE_OK;
}

static int arora_forward(sae_node *nd, const gsl_matrix *x, gsl_matrix *y, double *cost) {
  const size_t m = x->size1, h = nd->n_out, wpe = nd->ws_per_example;
  const double tau = nd->hp[AR_TAU];
  int rc = arora_shape(nd, x, y, h, "y");
  (void)cost;
  if (rc) return rc;
  /* V = x W^T into the first n_hid doubles of each ws row. */
  gsl_matrix_view V = gsl_matrix_view_array_with_tda(nd->ws, m, h, wpe);
  if ((rc = gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, x, &nd->param[AR_W], 0.0, &V.matrix)))
    return SAE_FAIL(nd, rc, "arora: x W^T: shapes do not fit");
  for (size_t i = 0; i < m; i++) {
    const double *Vi = nd->ws + i * wpe;
    double *zi = y->data + i * y->tda;
    for (size_t j = 0; j < h; j++) {
      if (!isfinite(Vi[j]))
        return SAE_FAIL(nd, SAE_ENUMERIC, "arora: <A_%zu, x_%zu> = %g is not finite", j + 1, i + 1,
                        Vi[j]);
      zi[j] = fabs(Vi[j]) >= tau ? Vi[j] : 0.0;
    }
  }
  return SAE_OK;
}

static int arora_backward(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y,
                          const gsl_matrix *dy, gsl_matrix *dx) {
  const size_t m = x->size1, h = nd->n_out, n = nd->n_in, wpe = nd->ws_per_example;
  const double tau = nd->hp[AR_TAU];
  const gsl_matrix *W = &nd->param[AR_W];
  int rc;
  (void)y;
  if (!dx) return SAE_OK;
  if ((rc = arora_shape(nd, x, dy, h, "dy")) || (rc = arora_shape(nd, x, dx, n, "dx"))) return rc;
  for (size_t i = 0; i < m; i++) { /* dx_i += sum_{j in M_i} dy_ij W_j */
    const double *Vi = nd->ws + i * wpe, *dyi = dy->data + i * dy->tda;
    gsl_vector_view dxi = gsl_matrix_row(dx, i);
    for (size_t j = 0; j < h; j++)
      if (fabs(Vi[j]) >= tau && dyi[j] != 0.0) {
        gsl_vector_const_view Wj = gsl_matrix_const_row(W, j);
        gsl_blas_daxpy(dyi[j], &Wj.vector, &dxi.vector);
      }
  }
  return SAE_OK;
}

static int arora_update(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y, double eta) {
  const size_t m = x->size1, h = nd->n_out, n = nd->n_in, wpe = nd->ws_per_example;
  gsl_matrix *W = &nd->param[AR_W];
  int rc = arora_shape(nd, x, y, h, "z");
  if (rc) return rc;
  if (!isfinite(eta) || eta < 0)
    return SAE_FAIL(nd, SAE_EHPARAM, "arora: step size eta = %g must be finite and >= 0", eta);
  if (m == 0) return SAE_OK;
  /* R_i = x_i - z_i W, every residual from the dictionary the codes were decoded with. */
  for (size_t i = 0; i < m; i++) {
    gsl_vector_view Ri = gsl_vector_view_array(nd->ws + i * wpe + h, n);
    gsl_vector_const_view xi = gsl_matrix_const_row(x, i);
    const double *zi = y->data + i * y->tda;
    gsl_vector_memcpy(&Ri.vector, &xi.vector);
    for (size_t j = 0; j < h; j++)
      if (zi[j] != 0.0) {
        gsl_vector_const_view Wj = gsl_matrix_const_row(W, j);
        gsl_blas_daxpy(-zi[j], &Wj.vector, &Ri.vector);
      }
  }
  /* W_j += (eta/m) sgn(z_ij) R_i over the active units. */
  const double step = eta / (double)m;
  for (size_t i = 0; i < m; i++) {
    gsl_vector_const_view Ri = gsl_vector_const_view_array(nd->ws + i * wpe + h, n);
    const double *zi = y->data + i * y->tda;
    for (size_t j = 0; j < h; j++)
      if (zi[j] != 0.0) {
        gsl_vector_view Wj = gsl_matrix_row(W, j);
        gsl_blas_daxpy(zi[j] > 0 ? step : -step, &Ri.vector, &Wj.vector);
      }
  }
  return nd->hp[AR_RENORM] != 0 ? arora_normalise(nd, "update") : SAE_OK;
}

static const sae_type arora_type = {
  .name = "arora",
  .kind = SAE_KIND_LAYER,
  .summary = "z = threshold_tau(x W^T); update(): W += eta/m sgn(z)^T (x - z W), atoms renormalised",
  .citation = "Arora, Ge, Ma & Moitra, Simple, Efficient, and Neural Algorithms for Sparse "
              "Coding, COLT 2015 (arXiv 1503.00778), neurally plausible update rule (Algorithm 2)",
  .hparams = arora_hparams,
  .flags = SAE_TYPE_NONSMOOTH,
  .setup = arora_setup,
  .init = arora_init,
  .forward = arora_forward,
  .backward = arora_backward,
  .update = arora_update,
  .project = arora_project,
};

static const sae_type *const arora_types[] = {&arora_type, NULL};

static const sae_plugin arora_plugin = {
  SAE_PLUGIN_HEADER,
  .name = "arora",
  .version = "1.0",
  .summary = "neurally plausible sparse coding (threshold decoding, Hebbian dictionary update)",
  .types = arora_types,
};

const sae_plugin *saelab_plugin(uint32_t host_abi);
const sae_plugin *saelab_plugin(uint32_t host_abi) {
  return host_abi == SAE_PLUGIN_ABI ? &arora_plugin : NULL;
}
