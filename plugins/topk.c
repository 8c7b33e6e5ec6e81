/* topk.c -- k-sparse coding: the top-k activation and the fused k-sparse autoencoder.
 *
 * Makhzani & Frey, "k-Sparse Autoencoders", ICLR 2014 (arXiv 1312.5663),
 * section 2 and Algorithm 1.  With one example per ROW (the paper writes
 * columns, z = W^T x + b):
 *
 *   z   = x W + b                 encoder (linear)
 *   S   = supp_k(z)               the k largest entries of z, per example
 *   x^  = z_S W^T + b'            decoder, tied (W^T) in the paper
 *   training:  backpropagate only through the units in S   (Algorithm 1, step 3)
 *   encoding:  keep alpha k units, supp_{alpha k}(z)        (Algorithm 1, "Sparse encoding";
 *                                                            alpha = 3 on MNIST, section 4)
 * Ties between equal values go to the LOWER index (deterministic support).
 *
 * Two types:
 *
 * 1. "topk" (ACTIVATION, NONSMOOTH): the selection alone, to compose with
 *    "dense" layers.  x, y, dy, dx are m x n (n = n_in = n_out).
 *      forward   y_ij = x_ij [j in S_i], else 0
 *      backward  dx_ij += dy_ij [j in S_i]   (mask from ws, not from y != 0:
 *                                             a kept unit may be exactly 0)
 *    ws: per example a 0/1 mask of the n units (ws_per_example = n_in).  The
 *    selection uses the example's row of y as scratch before writing it.
 *
 * 2. "ksparse" (LAYER, NONSMOOTH): the whole autoencoder body in one node, so
 *    the decoder and all weight gradients run on the support, O(m k n_in),
 *    instead of O(m n_hid n_in) (doc/design.md section 8.3: the fused node the
 *    design deferred; issue 4 asks for it).  y = x^, n_out = n_in.
 *      forward                                backward (dy = dJ/dx^)
 *      Z   = x W + 1 b        (dgemm, dense)  grad b' += 1^T dy
 *      S_i = supp_k(Z_i)                      dz_ij   = dy_i . D_j          j in S_i
 *      y_i = b' + sum_{j in S_i} z_ij D_j     grad D_j += z_ij dy_i         j in S_i (decoder)
 *                                             grad W_j += dz_ij x_i         j in S_i (encoder)
 *                                             grad b_j += dz_ij
 *                                             dx_i    += sum_j dz_ij W_j    (dx != NULL)
 *    where W_j is hidden unit j's filter (a row of the stored W, below) and D
 *    is the decoder: D = W when tied (the paper), D = V when tied = 0.
 *
 *    LAYOUT.  W is STORED TRANSPOSED, n_hid x n_in: row j is unit j's filter,
 *    the paper's column W_{:,j}.  Every support loop then walks one contiguous
 *    row of n_in doubles (W_j, D_j, grad W_j, x_i, dy_i), and the encoder is
 *    still one dgemm: Z = x W_stored^T.  V (untied) is n_hid x n_in as well:
 *    row j is the atom unit j writes.  A filter grid shows the rows of W.
 *    Because of this layout W cannot be tied (transposed) to another node's
 *    tensor; `share` with another ksparse node works.
 *
 *    Shapes (m examples):  x, y, dy, dx  m x n_in     W, V  n_hid x n_in
 *                          Z             m x n_hid    b     1 x n_hid
 *                          S_i           kk indices   b'    1 x n_in ("b_dec")
 *    ws, per example (ws_per_example = 3 n_hid doubles):
 *      [0, n_hid)         Z_i, the full pre-activation (the dgemm writes here)
 *      [n_hid, 2 n_hid)   S_i: the kk kept indices, ascending, as doubles
 *      [2 n_hid, 3 n_hid) dz_i on S_i (backward writes; first kk entries)
 *    sized for kk = n_hid so a retuned k never needs a larger ws.
 *    state: kk, the number of units the last forward kept (k in TRAIN,
 *    floor(alpha k) in EVAL), so backward uses the same support.
 *
 *    Cost per batch: encoder 2 m n_in n_hid (BLAS); selection O(m n_hid log kk);
 *    decoder 2 m kk n_in; backward about 8 m kk n_in (6 when dx is NULL).
 *
 * Defaults are small so the registry-wide gradient check (6 inputs, inputs in
 * (0.1, 0.9), steps of 1e-3 that must not change the support) runs on them:
 * k = 3, and for ksparse init_scale < 0 meaning sigma = 1/sqrt(n_in), which
 * keeps z of order 1 at any width.  For the paper's MNIST runs pass k = 25
 * (10, 40), n_hid = 1000 and init_scale = 0.01.
 *
 * A floor(alpha k) that lands a rounding error below a whole number
 * (alpha = 2.3, k = 100 gives 229.99999999999997) is taken as that number:
 * TOPK_FLOOR_SLACK below.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_blas.h>
#include <saelab/plugin.h>

/* floor(alpha k + TOPK_FLOOR_SLACK): alpha k is at most 1e9 here, where a
 * double's rounding error is below 1e-7, so 1e-6 absorbs it and never lifts a
 * true fraction (alpha is given to far fewer digits) over a whole number. */
#define TOPK_FLOOR_SLACK 1e-6

/* ---- selection, shared ------------------------------------------------------- */

/* Unit a is ahead of unit b: larger value, ties to the lower index. */
static inline int tk_ahead(const double *v, size_t a, size_t b) {
  return v[a] > v[b] || (v[a] == v[b] && a < b);
}

/* Restore the heap below p: h[0..kk) holds indices into v, the unit furthest
 * BEHIND at the root (so the root is the one to evict). */
static void tk_sift(const double *v, double *h, size_t kk, size_t p) {
  for (;;) {
    size_t l = 2 * p + 1, r = l + 1, w = p;
    if (l < kk && tk_ahead(v, (size_t)h[w], (size_t)h[l])) w = l;
    if (r < kk && tk_ahead(v, (size_t)h[w], (size_t)h[r])) w = r;
    if (w == p) return;
    double t = h[p];
    h[p] = h[w];
    h[w] = t;
    p = w;
  }
}

static int tk_cmp_index(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* idx[0..kk) = the kk units of v[0..n) ahead of all others (a min-heap of kk:
 * O(n log kk)), ascending when sorted.  Returns 0, or j+1 if v[j] is not finite. */
static size_t tk_select(const double *v, size_t n, size_t kk, double *idx, int sorted) {
  for (size_t j = 0; j < n; j++)
    if (!isfinite(v[j])) return j + 1;
  for (size_t s = 0; s < kk; s++) idx[s] = (double)s;
  if (kk == n) return 0;
  for (size_t p = kk / 2; p-- > 0;) tk_sift(v, idx, kk, p);
  for (size_t j = kk; j < n; j++)
    if (tk_ahead(v, j, (size_t)idx[0])) {
      idx[0] = (double)j;
      tk_sift(v, idx, kk, 0);
    }
  if (sorted) qsort(idx, kk, sizeof *idx, tk_cmp_index);
  return 0;
}

/* Units kept: k in TRAIN, floor(alpha k) in EVAL. */
static size_t tk_kept(double k, double alpha, const sae_batch *b) {
  if (b && b->mode == SAE_MODE_EVAL) return (size_t)floor(alpha * k + TOPK_FLOOR_SLACK);
  return (size_t)k;
}

/* k <= n and floor(alpha k) <= n, else SAE_EHPARAM naming the parameter. */
static int tk_check(sae_node *nd, const char *who, double k, double alpha, size_t n,
                    const char *n_name) {
  if (k < 1 || k != floor(k))
    return SAE_FAIL(nd, SAE_EHPARAM, "%s: k = %g must be a whole number >= 1", who, k);
  if (k > (double)n)
    return SAE_FAIL(nd, SAE_EHPARAM, "%s: k = %g is larger than %s %zu", who, k, n_name, n);
  size_t kk = tk_kept(k, alpha, &(sae_batch){0, NULL, NULL, NULL, SAE_MODE_EVAL});
  if (kk > n)
    return SAE_FAIL(nd, SAE_EHPARAM,
                    "%s: alpha = %g keeps floor(alpha*k) = %zu units in EVAL, more than %s %zu:"
                    " lower alpha", who, alpha, kk, n_name, n);
  return SAE_OK;
}

/* ---- topk: the activation ---------------------------------------------------- */

enum { TOPK_K, TOPK_ALPHA };

static const sae_hparam topk_hparams[] = {
  {"k", 3, 1, 1e6, SAE_HP_INT,
   "units kept per example in TRAIN (paper: 25 of 1000; default 3 fits the 6-input check)"},
  {"alpha", 1, 1, 1000, 0, "EVAL (encoding) keeps floor(alpha k) units (paper: alpha = 3)"},
  {NULL, 0, 0, 0, 0, NULL}
};

static int topk_retune(sae_node *nd) {
  return tk_check(nd, "topk", nd->hp[TOPK_K], nd->hp[TOPK_ALPHA], nd->n_in, "the input width");
}

static int topk_setup(sae_node *nd) {
  if (nd->n_in < 1) return SAE_FAIL(nd, SAE_ESHAPE, "topk: input width is 0");
  int rc = topk_retune(nd);
  if (rc) return rc;
  nd->n_out = nd->n_in;
  nd->n_tensors = 0;
  nd->ws_per_example = nd->n_in; /* the 0/1 support mask */
  return SAE_OK;
}

static int topk_shape(sae_node *nd, const gsl_matrix *x, const gsl_matrix *a, const char *name) {
  if (x->size2 != nd->n_in || a->size1 != x->size1 || a->size2 != nd->n_in)
    return SAE_FAIL(nd, SAE_ESHAPE, "topk: x is %zu x %zu, %s %zu x %zu; expected m x %zu", x->size1,
                    x->size2, name, a->size1, a->size2, nd->n_in);
  return SAE_OK;
}

static int topk_forward(sae_node *nd, const gsl_matrix *x, gsl_matrix *y, double *cost) {
  const size_t m = x->size1, n = nd->n_in;
  const size_t kk = tk_kept(nd->hp[TOPK_K], nd->hp[TOPK_ALPHA], nd->batch);
  int rc = topk_shape(nd, x, y, "y");
  (void)cost;
  if (rc) return rc;
  if (kk > n) return SAE_FAIL(nd, SAE_EHPARAM, "topk: keeps %zu of %zu units", kk, n);
  for (size_t i = 0; i < m; i++) {
    const double *xi = x->data + i * x->tda;
    double *yi = y->data + i * y->tda, *mask = nd->ws + i * n;
    size_t bad = tk_select(xi, n, kk, yi, 0); /* yi: scratch for the indices */
    if (bad)
      return SAE_FAIL(nd, SAE_ENUMERIC, "topk: x[%zu][%zu] = %g is not finite", i + 1, bad,
                      xi[bad - 1]);
    memset(mask, 0, n * sizeof *mask);
    for (size_t s = 0; s < kk; s++) mask[(size_t)yi[s]] = 1.0;
    for (size_t j = 0; j < n; j++) yi[j] = mask[j] != 0.0 ? xi[j] : 0.0;
  }
  return SAE_OK;
}

static int topk_backward(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y,
                         const gsl_matrix *dy, gsl_matrix *dx) {
  const size_t m = x->size1, n = nd->n_in;
  int rc;
  (void)y;
  if (!dx) return SAE_OK;
  if ((rc = topk_shape(nd, x, dy, "dy")) || (rc = topk_shape(nd, x, dx, "dx"))) return rc;
  for (size_t i = 0; i < m; i++) {
    const double *dyi = dy->data + i * dy->tda, *mask = nd->ws + i * n;
    double *dxi = dx->data + i * dx->tda;
    for (size_t j = 0; j < n; j++)
      if (mask[j] != 0.0) dxi[j] += dyi[j];
  }
  return SAE_OK;
}

static const sae_type topk_type = {
  .name = "topk",
  .kind = SAE_KIND_ACTIVATION,
  .summary = "keep the k largest entries of each example (EVAL: alpha k), zero the rest",
  .citation = "Makhzani & Frey, k-Sparse Autoencoders, ICLR 2014 (arXiv 1312.5663), "
              "section 2, Algorithm 1",
  .hparams = topk_hparams,
  .flags = SAE_TYPE_NONSMOOTH,
  .setup = topk_setup,
  .retune = topk_retune,
  .forward = topk_forward,
  .backward = topk_backward,
};

/* ---- ksparse: encoder, top-k and decoder in one node -------------------------- */

enum { KS_N_HID, KS_K, KS_ALPHA, KS_INIT_SCALE, KS_TIED };
enum { KS_W, KS_B, KS_B_DEC, KS_V }; /* tensor indices; V only when tied = 0 */

static const sae_hparam ksparse_hparams[] = {
  {"n_hid", 100, 1, 1e6, SAE_HP_INT | SAE_HP_FIXED, "hidden units (paper: 1000 on MNIST)"},
  {"k", 3, 1, 1e6, SAE_HP_INT,
   "units kept per example in TRAIN (paper: 25 of 1000; default 3 fits the 6-input check)"},
  {"alpha", 1, 1, 1000, 0, "EVAL (encoding) keeps floor(alpha k) units (paper: alpha = 3)"},
  {"init_scale", -1, -1, 1e3, SAE_HP_FIXED,
   "sigma of N(0, sigma^2) for W (and V); paper: 0.01; < 0: 1/sqrt(n_in)"},
  {"tied", 1, 0, 1, SAE_HP_INT | SAE_HP_FIXED, "1: decoder W^T (paper); 0: own decoder V"},
  {NULL, 0, 0, 0, 0, NULL}
};

typedef struct ks_state {
  size_t kk; /* units kept by the last forward; 0: no forward yet */
} ks_state;

static int ksparse_retune(sae_node *nd) {
  return tk_check(nd, "ksparse", nd->hp[KS_K], nd->hp[KS_ALPHA], (size_t)nd->hp[KS_N_HID],
                  "n_hid =");
}

static int ksparse_setup(sae_node *nd) {
  const double n_hid = nd->hp[KS_N_HID], scale = nd->hp[KS_INIT_SCALE];
  if (n_hid < 1 || n_hid != floor(n_hid))
    return SAE_FAIL(nd, SAE_EHPARAM, "ksparse: n_hid = %g must be a whole number >= 1", n_hid);
  if (nd->n_in < 1) return SAE_FAIL(nd, SAE_ESHAPE, "ksparse: input width is 0");
  int rc = ksparse_retune(nd);
  if (rc) return rc;
  const size_t h = (size_t)n_hid, n = nd->n_in;
  const double sigma = scale < 0 ? 1.0 / sqrt((double)n) : scale;
  nd->n_out = n;
  nd->n_tensors = nd->hp[KS_TIED] != 0 ? 3 : 4;
  nd->ws_per_example = 3 * h;
  nd->tensor[KS_W] = (sae_tensor_spec){"W", h, n, SAE_INIT_NORMAL, sigma, SAE_TENSOR_DECAY};
  nd->tensor[KS_B] = (sae_tensor_spec){"b", 1, h, SAE_INIT_ZERO, 0.0, 0};
  nd->tensor[KS_B_DEC] = (sae_tensor_spec){"b_dec", 1, n, SAE_INIT_ZERO, 0.0, 0};
  nd->tensor[KS_V] = (sae_tensor_spec){"V", h, n, SAE_INIT_NORMAL, sigma, SAE_TENSOR_DECAY};
  return SAE_OK;
}

static int ksparse_shape(sae_node *nd, const gsl_matrix *x, const gsl_matrix *a, const char *name) {
  if (x->size2 != nd->n_in || a->size1 != x->size1 || a->size2 != nd->n_in)
    return SAE_FAIL(nd, SAE_ESHAPE, "ksparse: x is %zu x %zu, %s %zu x %zu; expected m x %zu",
                    x->size1, x->size2, name, a->size1, a->size2, nd->n_in);
  for (size_t t = 0; t < nd->n_tensors; t++)
    if (nd->trans[t])
      return SAE_FAIL(nd, SAE_ETYPE,
                      "ksparse: %s is tied transposed; ksparse stores W as n_hid x n_in "
                      "(row j = unit j's filter): use share, not tie", nd->tensor[t].name);
  return SAE_OK;
}

static int ksparse_forward(sae_node *nd, const gsl_matrix *x, gsl_matrix *y, double *cost) {
  const size_t m = x->size1, n = nd->n_in, h = (size_t)nd->hp[KS_N_HID], wpe = 3 * h;
  const size_t kk = tk_kept(nd->hp[KS_K], nd->hp[KS_ALPHA], nd->batch);
  const gsl_matrix *W = &nd->param[KS_W];
  const gsl_matrix *D = &nd->param[nd->n_tensors > KS_V ? KS_V : KS_W];
  const double *b = nd->param[KS_B].data, *b_dec = nd->param[KS_B_DEC].data;
  ks_state *st = nd->state;
  int rc = ksparse_shape(nd, x, y, "y");
  (void)cost;
  if (rc) return rc;
  if (kk > h) return SAE_FAIL(nd, SAE_EHPARAM, "ksparse: keeps %zu of n_hid = %zu units", kk, h);
  st->kk = 0;

  /* Z = 1 b + x W^T (W stored n_hid x n_in), into the first n_hid of each ws row. */
  gsl_matrix_view Z = gsl_matrix_view_array_with_tda(nd->ws, m, h, wpe);
  for (size_t i = 0; i < m; i++) memcpy(nd->ws + i * wpe, b, h * sizeof *b);
  if ((rc = gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, x, W, 1.0, &Z.matrix)))
    return SAE_FAIL(nd, rc, "ksparse: x W: shapes do not fit");

  for (size_t i = 0; i < m; i++) {
    const double *z = nd->ws + i * wpe;
    double *S = nd->ws + i * wpe + h;
    double *restrict yi = y->data + i * y->tda;
    size_t bad = tk_select(z, h, kk, S, 1);
    if (bad)
      return SAE_FAIL(nd, SAE_ENUMERIC, "ksparse: z[%zu][%zu] = %g is not finite", i + 1, bad,
                      z[bad - 1]);
    memcpy(yi, b_dec, n * sizeof *yi); /* y_i = b' + sum_{j in S_i} z_ij D_j */
    for (size_t s = 0; s < kk; s++) {
      const size_t j = (size_t)S[s];
      const double a = z[j];
      const double *restrict Dj = D->data + j * D->tda;
      for (size_t t = 0; t < n; t++) yi[t] += a * Dj[t];
    }
  }
  st->kk = kk;
  return SAE_OK;
}

static int ksparse_backward(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y,
                            const gsl_matrix *dy, gsl_matrix *dx) {
  const size_t m = x->size1, n = nd->n_in, h = (size_t)nd->hp[KS_N_HID], wpe = 3 * h;
  const int tied = nd->n_tensors <= KS_V;
  const gsl_matrix *W = &nd->param[KS_W], *D = &nd->param[tied ? KS_W : KS_V];
  gsl_matrix *gW = &nd->grad[KS_W], *gD = &nd->grad[tied ? KS_W : KS_V];
  double *restrict gb = nd->grad[KS_B].data, *restrict gb_dec = nd->grad[KS_B_DEC].data;
  const ks_state *st = nd->state;
  const size_t kk = st->kk;
  int rc;
  (void)y;
  if ((rc = ksparse_shape(nd, x, dy, "dy")) || (dx && (rc = ksparse_shape(nd, x, dx, "dx"))))
    return rc;
  if (kk == 0) return SAE_FAIL(nd, SAE_ESTATE, "ksparse: backward before a forward");

  for (size_t i = 0; i < m; i++) {
    const double *restrict xi = x->data + i * x->tda;
    const double *restrict dyi = dy->data + i * dy->tda;
    const double *z = nd->ws + i * wpe, *S = nd->ws + i * wpe + h;
    double *dz = nd->ws + i * wpe + 2 * h;
    double *restrict dxi = dx ? dx->data + i * dx->tda : NULL;
    for (size_t t = 0; t < n; t++) gb_dec[t] += dyi[t]; /* grad b' += 1^T dy */
    for (size_t s = 0; s < kk; s++) {
      const size_t j = (size_t)S[s];
      const double a = z[j];
      const double *restrict Dj = D->data + j * D->tda;
      double d = 0.0; /* dz_ij = dy_i . D_j */
      for (size_t t = 0; t < n; t++) d += dyi[t] * Dj[t];
      dz[s] = d;
      gb[j] += d;
      double *restrict gWj = gW->data + j * gW->tda;
      if (tied) { /* decoder z_ij dy_i and encoder dz_ij x_i land on the same row */
        for (size_t t = 0; t < n; t++) gWj[t] += a * dyi[t] + d * xi[t];
      } else {
        double *restrict gDj = gD->data + j * gD->tda;
        for (size_t t = 0; t < n; t++) gDj[t] += a * dyi[t];
        for (size_t t = 0; t < n; t++) gWj[t] += d * xi[t];
      }
      if (dxi) { /* dx_i += dz_ij W_j */
        const double *restrict Wj = W->data + j * W->tda;
        for (size_t t = 0; t < n; t++) dxi[t] += d * Wj[t];
      }
    }
  }
  return SAE_OK;
}

static const sae_type ksparse_type = {
  .name = "ksparse",
  .kind = SAE_KIND_LAYER,
  .summary = "k-sparse autoencoder body: z = x W + b, keep top k, x^ = z_S W^T + b' (y = x^)",
  .citation = "Makhzani & Frey, k-Sparse Autoencoders, ICLR 2014 (arXiv 1312.5663), "
              "section 2, Algorithm 1; init N(0, 0.01^2) section 4",
  .hparams = ksparse_hparams,
  .flags = SAE_TYPE_NONSMOOTH,
  .state_size = sizeof(ks_state),
  .setup = ksparse_setup,
  .retune = ksparse_retune,
  .forward = ksparse_forward,
  .backward = ksparse_backward,
};

static const sae_type *const topk_types[] = {&topk_type, &ksparse_type, NULL};

static const sae_plugin topk_plugin = {
  SAE_PLUGIN_HEADER,
  .name = "topk",
  .version = "1.0",
  .summary = "k-sparse coding: top-k activation and the fused k-sparse autoencoder",
  .types = topk_types,
};

const sae_plugin *saelab_plugin(uint32_t host_abi);
const sae_plugin *saelab_plugin(uint32_t host_abi) {
  return host_abi == SAE_PLUGIN_ABI ? &topk_plugin : NULL;
}
