/* topk.c -- k-sparse coding: the top-k activation and the fused k-sparse autoencoder.
 *
 * Makhzani & Frey, "k-Sparse Autoencoders", ICLR 2014 (arXiv 1312.5663),
 * section 2 and Algorithm 1.  With one example per ROW and one unit per ROW
 * of W (the paper writes columns, z = W^T x + b, its W n_in x n_hid; ours is
 * that W transposed, n_hid x n_in, as every saelab type stores weights):
 *
 *   z   = x W^T + b               encoder (linear)
 *   S   = supp_k(z)               the k largest entries of z, per example
 *   x^  = z_S W + b'              decoder, tied (the encoder's W) in the paper
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
 *      Z   = x W^T + 1 b      (dgemm, dense)  grad b' += 1^T dy
 *      S_i = supp_k(Z_i)                      dz_ij   = dy_i . D_j          j in S_i
 *      y_i = b' + sum_{j in S_i} z_ij D_j     grad D_j += z_ij dy_i         j in S_i (decoder)
 *                                             grad W_j += dz_ij x_i         j in S_i (encoder)
 *                                             grad b_j += dz_ij
 *                                             dx_i    += sum_j dz_ij W_j    (dx != NULL)
 *    where W_j is hidden unit j's filter (a row of the stored W, below) and D
 *    is the decoder: D = W when tied (the paper), D = V when tied = 0.
 *
 *    LAYOUT.  W is stored n_hid x n_in, one unit per row as every type's
 *    (plugin.h): row j is unit j's filter, the paper's column W_{:,j}.  Every
 *    support loop then walks one contiguous row of n_in doubles (W_j, D_j,
 *    grad W_j, x_i, dy_i), and the encoder is one dgemm: Z = x W^T.  V
 *    (untied) is n_hid x n_in as well: row j is the atom unit j writes.  A
 *    filter grid shows the rows of W.  The kernels read W as stored, so it
 *    cannot be tied (transposed) to another node's tensor; `share` with
 *    another ksparse node, or with a dense encoder of the same n_hid x n_in,
 *    works.
 *
 *    Shapes (m examples):  x, y, dy, dx  m x n_in     W, V  n_hid x n_in
 *                          Z             m x n_hid    b     1 x n_hid
 *                          S_i           kk indices   b'    1 x n_in ("b_dec")
 *    Tensors, in this order: W, b, b_dec, V (tied = 0 only), usage.
 *    usage (1 x n_hid, NOGRAD, zero at build) is no gradient: update(), which
 *    the SGD step calls after its gradient step on the same batch, adds to
 *    usage_j the number of examples whose TRAIN support held unit j.  An
 *    experiment zeroes it at an epoch's start; units still at 0 are dead.
 *
 *    Hyper-parameter dense (0/1, retunable): 1 runs the dense-masked twin
 *    through BLAS -- Z_S = Z .* M (zeros off the support), y = 1 b' + Z_S D,
 *    dZ = (dy D^T) .* M, grad D += Z_S^T dy, grad W += dZ^T x, dx += dZ W, all
 *    dgemms, O(m n_hid n_in) -- for benchmarks to compare with.  Both paths
 *    agree to 1e-12 (tests/check_topk.c).
 *
 *    ws, PLANAR for the batch of m (sized ws_per_example = 3 n_hid +
 *    ceil((n_hid + 1) / 2) doubles per example, enough for kk = n_hid, so a
 *    retuned k never needs a larger ws):
 *      ws[0, m h)             Z, m x h (the dgemm writes here; dense: Z_S after forward)
 *      ws[m h, 2 m h)         sparse: dz, m x kk (dz_i on S_i); dense: dZ, m x h.
 *                             forward uses dz_i's row as scratch for the selection
 *      ws + 2 m h, as uint32: S, m x kk (S_i ascending); then (sparse backward)
 *                             the m kk pairs p = i kk + s grouped by unit
 *                             j = S[p], ascending i within a unit, and
 *                             start[0..h]: unit j's pairs are [start[j], start[j+1])
 *    state: kk, m, mode and path of the last forward (backward and update use
 *    the same support), and the thread count.
 *
 *    Kernels.  Selection: one scan per example, the kept units in a sorted
 *    array (ks_select).  Sparse path, per example: y_i = b' + sum z_ij D_j;
 *    backward in one sweep per UNIT j over its pairs: dz_ij = dy_i . D_j, grad
 *    b_j, grad D_j, grad W_j (D_j read once, each gradient row read and
 *    written once per batch, the examples summed in ascending order; when the
 *    host asks, grad_write, the first pair writes instead of adding, so the
 *    host need not zero the gradient block); dx per example.  Examples and units are split over
 *    OpenMP threads when libgomp will not spin for long (sae_omp_threads: by
 *    default under the saelab program, which sets passive waits); every
 *    sum runs in a fixed order, so the result does not depend on the number
 *    of threads.  Row loops are `omp simd`, compiled for AVX-512, AVX2 and
 *    baseline x86-64 (target_clones); the lane order of ks_dot's sum depends
 *    on which one the CPU runs.
 *
 *    Cost per batch: encoder 2 m n_in n_hid (BLAS); selection O(m n_hid) plus
 *    about kk ln(n_hid / kk) entries of O(kk) each; decoder 2 m kk n_in;
 *    backward about 8 m kk n_in (6 when dx is NULL).
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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_blas.h>
#include <saelab/elementwise.h>
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
  size_t kk = tk_kept(k, alpha, &(sae_batch){0, NULL, NULL, NULL, SAE_MODE_EVAL, NULL, NULL});
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

enum { KS_N_HID, KS_K, KS_ALPHA, KS_INIT_SCALE, KS_TIED, KS_DENSE };
enum { KS_W, KS_B, KS_B_DEC, KS_V }; /* V only when tied = 0; usage comes last (ks_usage) */

/* Below this many multiply-adds a parallel region costs more than it saves
 * (waking the second thread is a few microseconds). */
#define KS_PARALLEL_MIN 20000

static const sae_hparam ksparse_hparams[] = {
  {"n_hid", 100, 1, 1e6, SAE_HP_INT | SAE_HP_FIXED, "hidden units (paper: 1000 on MNIST)"},
  {"k", 3, 1, 1e6, SAE_HP_INT,
   "units kept per example in TRAIN (paper: 25 of 1000; default 3 fits the 6-input check)"},
  {"alpha", 1, 1, 1000, 0, "EVAL (encoding) keeps floor(alpha k) units (paper: alpha = 3)"},
  {"init_scale", -1, -1, 1e3, SAE_HP_FIXED,
   "sigma of N(0, sigma^2) for W (and V); paper: 0.01; < 0: 1/sqrt(n_in)"},
  {"tied", 1, 0, 1, SAE_HP_INT | SAE_HP_FIXED, "1: decoder W^T (paper); 0: own decoder V"},
  {"dense", 0, 0, 1, SAE_HP_INT,
   "1: dense-masked path, Z_S with zeros and every product a dgemm (the benchmark's twin); "
   "0: support-only kernels"},
  {NULL, 0, 0, 0, 0, NULL}
};

typedef struct ks_state {
  int threads; /* for the support kernels: sae_omp_threads(), at the first forward; 0 before
                  (first field: tests/check_topk.c sets it to compare 1 and 2 threads) */
  size_t kk;   /* units kept by the last forward; 0: no forward yet */
  size_t m;    /* its examples */
  sae_mode mode;
  int dense;   /* its path (the ws layout backward reads) */
  int f32;     /* 1: it ran in float32 (forward_f32): ws holds floats */
} ks_state;


static int ks_tied(const sae_node *nd) { return nd->hp[KS_TIED] != 0; }
static size_t ks_usage(const sae_node *nd) { return ks_tied(nd) ? KS_V : KS_V + 1; }

/* ---- ksparse: row kernels ------------------------------------------------------
 * The build uses plain -O2 for the baseline x86-64: each kernel is compiled
 * three times (AVX-512, AVX2, baseline) and the loader picks the best this CPU
 * runs (GCC's target_clones, an ifunc: SAE_EW_CLONES_V4 of <saelab/elementwise.h>,
 * as the SGD step's).  `omp simd` vectorises the loops at
 * -O2 (the reduction in ks_dot sums in lanes: a fixed order for a given
 * machine, whatever the thread count). */
#ifdef _OPENMP
#include <omp.h>
#define KS_PRAGMA(x) _Pragma(#x)
#else
#define KS_PRAGMA(x)
#endif

static int ks_cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

/* Up to this many kept units, selection keeps them in a sorted array;
 * beyond, in a heap (tk_select's method). */
#define KS_SORTED_MAX 128
#define KS_BLOCK_MIN 8 /* ks_select: blocks of at least 8 units bound the kk-th value */

/* ---- ksparse: the type ------------------------------------------------------------ */

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
  const int tied = ks_tied(nd);
  nd->n_out = n;
  nd->n_tensors = tied ? 4 : 5;
  /* Z, dz (dense: dZ): 2 h; S, the pairs and start (h + 1), 32 bits each, with
   * kk <= h: at most h + (h + 1) / 2 more (ks_layout). */
  nd->ws_per_example = 3 * h + (h + 2) / 2;
  nd->tensor[KS_W] = (sae_tensor_spec){"W", h, n, SAE_INIT_NORMAL, sigma, SAE_TENSOR_DECAY};
  nd->tensor[KS_B] = (sae_tensor_spec){"b", 1, h, SAE_INIT_ZERO, 0.0, 0};
  nd->tensor[KS_B_DEC] = (sae_tensor_spec){"b_dec", 1, n, SAE_INIT_ZERO, 0.0, 0};
  if (!tied)
    nd->tensor[KS_V] = (sae_tensor_spec){"V", h, n, SAE_INIT_NORMAL, sigma, SAE_TENSOR_DECAY};
  nd->tensor[ks_usage(nd)] =
    (sae_tensor_spec){"usage", 1, h, SAE_INIT_ZERO, 0.0, SAE_TENSOR_NOGRAD};
  return SAE_OK;
}

/* x is m x n_in (xr x xc) and so is a (ar x ac), in either precision. */
static int ksparse_shape(sae_node *nd, size_t xr, size_t xc, size_t ar, size_t ac,
                         const char *name) {
  if (xc != nd->n_in || ar != xr || ac != nd->n_in)
    return SAE_FAIL(nd, SAE_ESHAPE, "ksparse: x is %zu x %zu, %s %zu x %zu; expected m x %zu",
                    xr, xc, name, ar, ac, nd->n_in);
  for (size_t t = 0; t < nd->n_tensors; t++)
    if (nd->trans[t])
      return SAE_FAIL(nd, SAE_ETYPE,
                      "ksparse: %s is tied transposed; ksparse stores W as n_hid x n_in "
                      "(row j = unit j's filter): use share, not tie", nd->tensor[t].name);
  return SAE_OK;
}


#define KS_SHAPE(nd, x, a, name) \
  ksparse_shape(nd, (x)->size1, (x)->size2, (a)->size1, (a)->size2, name)

/* The kernels, once in source, twice in the object: double then float. */
#define KS_CAT_(a, b) a##b
#define KS_CAT(a, b) KS_CAT_(a, b)
#define REAL double
#define KS_FN(name) KS_CAT(name, _f64)
#define MAT gsl_matrix
#define MAT_VIEW gsl_matrix_view
#define MAT_VIEW_ARRAY gsl_matrix_view_array
#define GEMM gsl_blas_dgemm
#define KS_PARAM param
#define KS_GRAD grad
#define KS_F32 0
#define KS_STEP_ROW sae_step_row
#define KS_STEP_V v
#include "ksparse_kernels.h"
#define REAL float
#define KS_FN(name) KS_CAT(name, _f32)
#define MAT gsl_matrix_float
#define MAT_VIEW gsl_matrix_float_view
#define MAT_VIEW_ARRAY gsl_matrix_float_view_array
#define GEMM gsl_blas_sgemm
#define KS_PARAM param32
#define KS_GRAD grad32
#define KS_F32 1
#define KS_STEP_ROW sae_step_row_f32
#define KS_STEP_V v32
#include "ksparse_kernels.h"

/* backward: the double kernel, adding into dx (no backward_write: the host
 * zeroes a fresh dx, as before the float path). */
static int ksparse_backward(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y,
                            const gsl_matrix *dy, gsl_matrix *dx) {
  return ksparse_backward_f64(nd, x, y, dy, dx, 0);
}

static const sae_type ksparse_type = {
  .name = "ksparse",
  .kind = SAE_KIND_LAYER,
  .summary = "k-sparse autoencoder body: z = x W^T + b, keep top k, x^ = z_S W + b' (y = x^)",
  .citation = "Makhzani & Frey, k-Sparse Autoencoders, ICLR 2014 (arXiv 1312.5663), "
              "section 2, Algorithm 1; init N(0, 0.01^2) section 4",
  .hparams = ksparse_hparams,
  .flags = SAE_TYPE_NONSMOOTH | SAE_TYPE_GRAD_WRITE | SAE_TYPE_FUSED_STEP,
  .state_size = sizeof(ks_state),
  .setup = ksparse_setup,
  .retune = ksparse_retune,
  .forward = ksparse_forward_f64,
  .backward = ksparse_backward,
  .update = ksparse_update_f64,
  .forward_f32 = ksparse_forward_f32,
  .backward_f32 = ksparse_backward_f32,
  .update_f32 = ksparse_update_f32,
};

static const sae_type *const topk_types[] = {&topk_type, &ksparse_type, NULL};

static const sae_plugin topk_plugin = {
  SAE_PLUGIN_HEADER,
  .name = "topk",
  .version = "1.1",
  .summary = "k-sparse coding: top-k activation and the fused k-sparse autoencoder",
  .types = topk_types,
};

const sae_plugin *saelab_plugin(uint32_t host_abi);
const sae_plugin *saelab_plugin(uint32_t host_abi) {
  return host_abi == SAE_PLUGIN_ABI ? &topk_plugin : NULL;
}
