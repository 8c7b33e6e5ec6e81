/* lista.c -- learned ISTA (LISTA) and the discriminative recurrent sparse
 * auto-encoder's encoder (DrSAE), unrolled T times inside one node, and the
 * per-example L2 normalisation DrSAE's classifier reads.
 *
 * Gregor & LeCun, "Learning Fast Approximations of Sparse Coding", ICML 2010,
 * section 3, eq. 3 and Fig. 1 (LISTA); Rolfe & LeCun, "Discriminative
 * Recurrent Sparse Auto-Encoders", ICLR 2013 (arXiv 1301.3775), section 2,
 * eq. 1 (DrSAE: z^{t+1} = max(0, E x + S z^t - b)).  With one example per
 * ROW and one unit per ROW of every weight (plugin.h):
 *
 *   B   = x We^T                          We  n_hid x n_in   (the paper's E)
 *   Z^0 = 0
 *   V^t = B + Z^{t-1} Sl^T                Sl  n_hid x n_hid  (the paper's S)
 *   Z^t = h_b(V^t),  t = 1..T             b   1 x n_hid      (per-unit threshold)
 *   y   = Z^T
 *
 * h_b is the shrinkage of <saelab/sparse.h> with threshold b_j for unit j:
 * shrink = 1 (default, DrSAE) max(0, v - b_j); shrink = 0 (LISTA) the soft
 * threshold sign(v) max(|v| - b_j, 0) (meant for b_j >= 0: a negative b_j makes
 * it jump at v = 0; nothing clamps b, since project() stays the max-norm
 * bound alone, design.md 8.5).  ISTA on a dictionary D (K x n, atoms
 * as rows) with step eta and weight lambda is the special case We = eta D,
 * Sl = I - eta D D^T, b = eta lambda (sae_sc_ista_matrices).
 *
 * Backward is backpropagation through time inside the node (dy = dJ/dZ^T):
 *
 *   dZ = dy,  dB = 0
 *   for t = T..1:
 *     D^t      = dZ .* h'(V^t)                    (1 on the active set: Z^t != 0)
 *     grad b_j -= sum_i D^t_ij g(V^t_ij)          (g = 1 relu-shrink, sign(z) soft)
 *     dB      += D^t
 *     if t > 1:  dZ = D^t Sl
 *   grad Sl += sum_{t>1} D^t^T Z^{t-1}            (one product over the stacked t)
 *   grad We += dB^T x,   dx += dB We
 *
 * Shapes (m examples, K = n_hid):  x, dx  m x n_in;  y, dy, Z^t, D^t  m x K.
 * ws, planar for the batch (ws_per_example = (2T + 1) K; lista_ws): B = x We^T
 * (D^1 in backward), the codes Z^1..Z^{T-1} forward keeps for backward, D^2..D^T,
 * dZ and dB (m x K each).  Nothing is allocated in forward or backward.
 * Cost per batch: forward 2 m n_in K + 2 (T-1) m K^2; backward about twice.
 *
 * Tensors: We (DECAY), Sl, b.  They are read as stored, so they cannot be tied
 * transposed to another node's (share works).  project(): with max_norm > 0
 * every row of We longer than max_norm is scaled back to it (DrSAE bounds
 * the rows of E by 1.25/(T-1), section 3).
 *
 * Initial values: We ~ N(0, 1/n_in) (x We^T of order |x|), Sl ~ N(0, 0.09/K)
 * (spectral radius about 0.3: the recurrence contracts), b_j ~ U(0, 0.2)
 * (init(), from nd->rng; non-negative, so the soft threshold is continuous).
 * A random contraction rather than ISTA on a random dictionary: ISTA's
 * inactive units sit just below their thresholds at every step, so most
 * central differences would cross kinks (the check now measures those again
 * at a finer step, gradcheck.c, but a start with few of them keeps the check
 * at its first step for nearly every entry).  To start
 * from ISTA on a learned dictionary D use sae.lista_init (lua/sae/models.lua):
 * We = eta D, Sl = I - eta D D^T, b = eta lambda, eta = 1/L (sparse.h).
 *
 * Defaults: T = 11 (the paper's DrSAE), n_hid = 25 so the registry-wide
 * gradient check (6 inputs) runs in a second; pass n_hid = 400 for MNIST.
 *
 * "l2norm" (ACTIVATION, smooth): y_i = x_i / s_i, s_i = sqrt(eps + ||x_i||^2)
 * per example (DrSAE's classifier reads z / ||z||, section 2).
 *   backward  dx_i += (dy_i - y_i (y_i . dy_i)) / s_i
 * ws: s_i, one double per example.  eps keeps an all-zero code finite.
 */
#include <math.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_randist.h>
#include <saelab/plugin.h>
#include <saelab/sparse.h>

/* The gradient-check fixture (tests/fixtures, Makefile.am) compiles this file
 * with LISTA_PLANTED_BUG: a type "buggy_lista" whose backward drops the
 * recurrence's gradient dZ = D^t Sl at the last step t = T, the bug a BPTT
 * most easily has.  (At t = 2 of 11 it changes the gradient by 1e-7 only:
 * the default Sl contracts, so the first steps weigh little in Z^T.)  One source, so the fixture cannot drift from the real type. */
#ifdef LISTA_PLANTED_BUG
#define LISTA_NAME "buggy_lista"
#else
#define LISTA_NAME "lista"
#endif

enum { LI_N_HID, LI_T, LI_SHRINK, LI_E_MAX_NORM };

/* Initial weights (see the header): Sl's entries N(0, (LI_S_GAIN^2 / K)), so
 * its spectral radius is about LI_S_GAIN and the recurrence contracts; the
 * thresholds b_j ~ U(0, LI_B_MAX). */
#define LI_S_GAIN 0.3
#define LI_B_MAX 0.2
enum { LI_WE, LI_SL, LI_B }; /* tensor indices */

static const sae_hparam lista_hparams[] = {
  [LI_N_HID] = {"n_hid", 25, 1, 1 << 24, SAE_HP_INT | SAE_HP_FIXED, "code width K"},
  [LI_T] = {"T", 11, 1, 100, SAE_HP_INT | SAE_HP_FIXED,
            "unrolled iterations (the workspace holds all T)"},
  [LI_SHRINK] = {"shrink", 1, 0, 1, SAE_HP_INT,
                 "1: max(0, v - b) (DrSAE, non-negative); 0: soft threshold (LISTA)"},
  [LI_E_MAX_NORM] = {"max_norm", 0, 0, 1e9, 0,
                     "project(): rows of We at most this long (DrSAE: 1.25/(T-1)); 0: no bound"},
  {NULL, 0, 0, 0, 0, NULL}
};

static int lista_setup(sae_node *nd) {
  const size_t K = (size_t)nd->hp[LI_N_HID], T = (size_t)nd->hp[LI_T];
  if (nd->n_in < 1) return SAE_FAIL(nd, SAE_ESHAPE, LISTA_NAME ": input width is 0");
  nd->n_out = K;
  nd->n_tensors = 3;
  nd->ws_per_example = (2 * T + 1) * K; /* lista_ws */
  nd->tensor[LI_WE] = (sae_tensor_spec){"We", K, nd->n_in, SAE_INIT_NORMAL,
                                        1.0 / sqrt((double)nd->n_in), SAE_TENSOR_DECAY};
  nd->tensor[LI_SL] = (sae_tensor_spec){"Sl", K, K, SAE_INIT_NORMAL, LI_S_GAIN / sqrt((double)K), 0};
  nd->tensor[LI_B] = (sae_tensor_spec){"b", 1, K, SAE_INIT_ZERO, 0.0, 0};
  return SAE_OK;
}

static int lista_init(sae_node *nd) {
  if (nd->trans[LI_WE] || nd->trans[LI_SL])
    return SAE_FAIL(nd, SAE_ESHAPE, LISTA_NAME ": We and Sl cannot be tied transposed (share them)");
  gsl_matrix *b = &nd->param[LI_B];
  for (size_t j = 0; j < b->size2; j++) gsl_matrix_set(b, 0, j, LI_B_MAX * gsl_rng_uniform(nd->rng));
  return SAE_OK;
}

/* The planar blocks of ws for a batch of m (m x K each).  Z^1..Z^{T-1}
 * (Z^T is y) and D^2..D^T are stacks: block t of one lines up with block t of
 * the other, so grad Sl = sum_t D^t^T Z^{t-1} is ONE product of
 * ((T-1) m x K)^T by ((T-1) m x K) after the loop, not T-1 products with an
 * inner dimension of m (the batch, 50 for DrSAE), which ran at a fraction of
 * the dgemm peak and wrote the K x K gradient T-1 times. */
typedef struct lista_ws {
  size_t T, m;
  double *B;  /* x We^T (forward); D^1 (backward) */
  double *Z;  /* Z^1..Z^{T-1}: forward's codes, kept for backward */
  double *D;  /* D^2..D^T */
  double *dZ, *dB;
} lista_ws;

static void lista_views(sae_node *nd, size_t m, lista_ws *w) {
  const size_t K = nd->n_out, T = (size_t)nd->hp[LI_T], blk = m * K;
  w->T = T;
  w->m = m;
  w->B = nd->ws;
  w->Z = w->B + blk;
  w->D = w->Z + (T - 1) * blk;
  w->dZ = w->D + (T - 1) * blk;
  w->dB = w->dZ + blk;
}

static gsl_matrix_view lista_block(double *p, size_t rows, size_t K) {
  return gsl_matrix_view_array(p, rows, K);
}

/* Z = h_b(Z) in place, per-unit thresholds. */
static void lista_shrink(gsl_matrix *Z, const gsl_matrix *b, int nonneg) {
  const double *th = b->data;
  for (size_t i = 0; i < Z->size1; i++) {
    double *z = gsl_matrix_ptr(Z, i, 0);
    for (size_t j = 0; j < Z->size2; j++) z[j] = sae_shrink(z[j], th[j], nonneg);
  }
}

static int lista_forward(sae_node *nd, const gsl_matrix *x, gsl_matrix *y, double *cost) {
  const size_t m = x->size1, K = nd->n_out;
  const gsl_matrix *We = &nd->param[LI_WE], *Sl = &nd->param[LI_SL], *b = &nd->param[LI_B];
  const int nonneg = nd->hp[LI_SHRINK] != 0;
  (void)cost;
  if (x->size2 != nd->n_in || y->size1 != m || y->size2 != K)
    return SAE_FAIL(nd, SAE_ESHAPE, LISTA_NAME ": x is %zu x %zu, y %zu x %zu; expected m x %zu, m x %zu",
                    m, x->size2, y->size1, y->size2, nd->n_in, K);
  if (nd->trans[LI_WE] || nd->trans[LI_SL])
    return SAE_FAIL(nd, SAE_ESHAPE, LISTA_NAME ": We and Sl cannot be tied transposed (share them)");
  lista_ws w;
  lista_views(nd, m, &w);
  gsl_matrix_view B = lista_block(w.B, m, K);
  int rc = gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, x, We, 0.0, &B.matrix);
  if (rc) return SAE_FAIL(nd, rc, LISTA_NAME ": x We^T failed");
  /* Z^t = h_b(B + Z^{t-1} Sl^T), computed in place in its block (y for t = T) */
  gsl_matrix_view Zt[2]; /* Z^t and Z^{t-1}, alternately */
  for (size_t t = 1; t <= w.T; t++) {
    gsl_matrix_view *cur = &Zt[t % 2], *prev = &Zt[(t - 1) % 2];
    *cur = lista_block(w.Z + (t - 1) * m * K, m, K); /* (t = T: not used, y is) */
    gsl_matrix *z = t == w.T ? y : &cur->matrix;
    gsl_matrix_memcpy(z, &B.matrix);
    if (t > 1 && (rc = gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, &prev->matrix, Sl, 1.0, z)))
      return SAE_FAIL(nd, rc, LISTA_NAME ": Z Sl^T failed");
    lista_shrink(z, b, nonneg);
  }
  return SAE_OK;
}

static int lista_backward(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y,
                          const gsl_matrix *dy, gsl_matrix *dx) {
  const size_t m = x->size1, K = nd->n_out;
  const gsl_matrix *We = &nd->param[LI_WE], *Sl = &nd->param[LI_SL];
  gsl_matrix *gWe = &nd->grad[LI_WE], *gSl = &nd->grad[LI_SL];
  double *gb = nd->grad[LI_B].data;
  const int nonneg = nd->hp[LI_SHRINK] != 0;
  int rc;
  if (dy->size1 != m || dy->size2 != K)
    return SAE_FAIL(nd, SAE_ESHAPE, LISTA_NAME ": dy is %zu x %zu, expected %zu x %zu", dy->size1,
                    dy->size2, m, K);
  lista_ws w;
  lista_views(nd, m, &w);
  gsl_matrix_view dZv = lista_block(w.dZ, m, K), dBv = lista_block(w.dB, m, K);
  gsl_matrix *dZ = &dZv.matrix;
  gsl_matrix_memcpy(dZ, dy);
  gsl_matrix_set_zero(&dBv.matrix);
  for (size_t t = w.T; t >= 1; t--) {
    /* D^t = dZ .* h'(V^t) and grad b -= D^t .* g(V^t), read off Z^t = h_b(V^t):
     * h' is 1 exactly where z != 0 (v - b != 0 iff v != b in floating point),
     * and g, the sign of v on the active set, is the sign of z there.  dB +=
     * D^t in the same sweep. */
    const double *zt = t == w.T ? y->data : w.Z + (t - 1) * m * K;
    double *dt = t == 1 ? w.B : w.D + (t - 2) * m * K;
    for (size_t i = 0; i < m; i++) {
      const double *z = zt + i * K, *dz = gsl_matrix_const_ptr(dZ, i, 0);
      double *d = dt + i * K, *db = w.dB + i * K;
      for (size_t j = 0; j < K; j++) {
        d[j] = z[j] != 0.0 ? dz[j] : 0.0;
        gb[j] -= nonneg || z[j] > 0 ? d[j] : -d[j];
        db[j] += d[j];
      }
    }
    if (t == 1) break;
#ifdef LISTA_PLANTED_BUG
    if (t == w.T) { /* planted: the recurrence's gradient into Z^{T-1} dropped */
      gsl_matrix_set_zero(dZ);
      continue;
    }
#endif
    gsl_matrix_view Dt = lista_block(dt, m, K);
    if ((rc = gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, &Dt.matrix, Sl, 0.0, dZ)))
      return SAE_FAIL(nd, rc, LISTA_NAME ": D Sl failed");
  }
  if (w.T > 1) { /* grad Sl += [D^2; ..; D^T]^T [Z^1; ..; Z^{T-1}] */
    gsl_matrix_view Ds = lista_block(w.D, (w.T - 1) * m, K), Zs = lista_block(w.Z, (w.T - 1) * m, K);
    if ((rc = gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, &Ds.matrix, &Zs.matrix, 1.0, gSl)))
      return SAE_FAIL(nd, rc, LISTA_NAME ": grad Sl failed");
  }
  if ((rc = gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, &dBv.matrix, x, 1.0, gWe)))
    return SAE_FAIL(nd, rc, LISTA_NAME ": grad We failed");
  if (dx && (rc = gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, &dBv.matrix, We, 1.0, dx)))
    return SAE_FAIL(nd, rc, LISTA_NAME ": dx failed");
  return SAE_OK;
}

/* Rows of We longer than max_norm scaled back onto the ball. */
static int lista_project(sae_node *nd) {
  const double c = nd->hp[LI_E_MAX_NORM];
  if (!(c > 0)) return SAE_OK;
  sae_norm_bound(&nd->param[LI_WE], 0, c);
  return SAE_OK;
}

static const sae_type lista_type = {
  .name = LISTA_NAME,
  .kind = SAE_KIND_LAYER,
  .summary = "T unrolled shrinkage iterations z = h_b(x We^T + z Sl^T), shared weights, BPTT",
  .citation = "Gregor & LeCun, ICML 2010, sec. 3, eq. 3; Rolfe & LeCun, ICLR 2013 "
              "(arXiv 1301.3775), sec. 2, eq. 1",
  .hparams = lista_hparams,
  .flags = SAE_TYPE_NONSMOOTH,
  .setup = lista_setup,
  .init = lista_init,
  .forward = lista_forward,
  .backward = lista_backward,
  .project = lista_project,
};

#ifndef LISTA_PLANTED_BUG /* the fixture provides buggy_lista alone */
/* ---- l2norm ------------------------------------------------------------------ */

enum { L2N_EPS };

static const sae_hparam l2norm_hparams[] = {
  [L2N_EPS] = {"eps", 1e-8, 1e-12, 1, 0, "s = sqrt(eps + ||x||^2): an all-zero row stays finite"},
  {NULL, 0, 0, 0, 0, NULL}
};

static int l2norm_setup(sae_node *nd) {
  nd->n_out = nd->n_in;
  nd->n_tensors = 0;
  nd->ws_per_example = 1; /* s_i */
  return SAE_OK;
}

static int l2norm_forward(sae_node *nd, const gsl_matrix *x, gsl_matrix *y, double *cost) {
  const size_t m = x->size1, n = x->size2;
  (void)cost;
  if (n != nd->n_in || y->size1 != m || y->size2 != n)
    return SAE_FAIL(nd, SAE_ESHAPE, "l2norm: x is %zu x %zu, y %zu x %zu; expected m x %zu both",
                    m, n, y->size1, y->size2, nd->n_in);
  for (size_t i = 0; i < m; i++) {
    const double *xi = gsl_matrix_const_ptr(x, i, 0);
    double *yi = gsl_matrix_ptr(y, i, 0), q = nd->hp[L2N_EPS];
    for (size_t j = 0; j < n; j++) q += xi[j] * xi[j];
    const double s = sqrt(q);
    nd->ws[i] = s;
    for (size_t j = 0; j < n; j++) yi[j] = xi[j] / s;
  }
  return SAE_OK;
}

static int l2norm_backward(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y,
                           const gsl_matrix *dy, gsl_matrix *dx) {
  const size_t m = x->size1, n = x->size2;
  if (!dx) return SAE_OK;
  for (size_t i = 0; i < m; i++) {
    const double *yi = gsl_matrix_const_ptr(y, i, 0), *di = gsl_matrix_const_ptr(dy, i, 0);
    double *gi = gsl_matrix_ptr(dx, i, 0), c = 0.0;
    for (size_t j = 0; j < n; j++) c += yi[j] * di[j];
    for (size_t j = 0; j < n; j++) gi[j] += (di[j] - yi[j] * c) / nd->ws[i];
  }
  return SAE_OK;
}

static const sae_type l2norm_type = {
  .name = "l2norm",
  .kind = SAE_KIND_ACTIVATION,
  .summary = "y = x / sqrt(eps + ||x||^2) per example",
  .citation = "Rolfe & LeCun, ICLR 2013 (arXiv 1301.3775), sec. 2: the classifier reads z/||z||",
  .hparams = l2norm_hparams,
  .setup = l2norm_setup,
  .forward = l2norm_forward,
  .backward = l2norm_backward,
};

#endif

#ifdef LISTA_PLANTED_BUG
static const sae_type *const lista_types[] = {&lista_type, NULL};
#define LISTA_PLUGIN "buggy_lista"
#else
static const sae_type *const lista_types[] = {&lista_type, &l2norm_type, NULL};
#define LISTA_PLUGIN "lista"
#endif

static const sae_plugin lista_plugin = {
  SAE_PLUGIN_HEADER,
  .name = LISTA_PLUGIN,
  .version = "1.0",
  .summary = "LISTA / DrSAE recurrent encoder, and z/||z||",
  .types = lista_types,
};

const sae_plugin *saelab_plugin(uint32_t host_abi);
const sae_plugin *saelab_plugin(uint32_t host_abi) {
  return host_abi == SAE_PLUGIN_ABI ? &lista_plugin : NULL;
}
