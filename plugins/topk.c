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
 *    OpenMP threads when libgomp will not spin for long (sae_omp_threads); every
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
  int threads; /* for the support kernels: sae_omp_threads(), at the first forward; 0 before */
  size_t kk;   /* units kept by the last forward; 0: no forward yet */
  size_t m;    /* its examples */
  sae_mode mode;
  int dense;   /* its path (the ws layout backward reads) */
} ks_state;

/* The workspace of a batch of m examples keeping kk units (see the top of the file). */
typedef struct ks_ws {
  double *Z;       /* m x h: Z (dense path: Z_S after forward) */
  double *dz;      /* sparse: m x kk, dz_i on S_i; dense: m x h, dZ */
  uint32_t *S;     /* m x kk: S_i ascending */
  uint32_t *pair;  /* m kk: pairs p = i kk + s grouped by unit j = S[p] (sparse backward) */
  uint32_t *start; /* h + 1: unit j's pairs are pair[start[j] .. start[j+1]) */
} ks_ws;

static ks_ws ks_layout(const sae_node *nd, size_t m, size_t kk) {
  const size_t h = (size_t)nd->hp[KS_N_HID];
  ks_ws w;
  w.Z = nd->ws;
  w.dz = nd->ws + m * h;
  w.S = (uint32_t *)(nd->ws + 2 * m * h);
  w.pair = w.S + m * kk;
  w.start = w.pair + m * kk;
  return w;
}

static int ks_tied(const sae_node *nd) { return nd->hp[KS_TIED] != 0; }
static size_t ks_usage(const sae_node *nd) { return ks_tied(nd) ? KS_V : KS_V + 1; }

/* ---- ksparse: row kernels ------------------------------------------------------
 * The build uses plain -O2 for the baseline x86-64: each kernel is compiled
 * three times (AVX-512, AVX2, baseline) and the loader picks the best this CPU
 * runs (GCC's target_clones, an ifunc).  `omp simd` vectorises the loops at
 * -O2 (the reduction in ks_dot sums in lanes: a fixed order for a given
 * machine, whatever the thread count). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define KS_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define KS_CLONES
#endif
#ifdef _OPENMP
#include <omp.h>
#define KS_PRAGMA(x) _Pragma(#x)
#else
#define KS_PRAGMA(x)
#endif

/* y += a u */
KS_CLONES static void ks_axpy(size_t n, double a, const double *restrict u, double *restrict y) {
  KS_PRAGMA(omp simd)
  for (size_t t = 0; t < n; t++) y[t] += a * u[t];
}

/* y += a u + c v */
KS_CLONES static void ks_axpy2(size_t n, double a, const double *restrict u, double c,
                               const double *restrict v, double *restrict y) {
  KS_PRAGMA(omp simd)
  for (size_t t = 0; t < n; t++) y[t] += a * u[t] + c * v[t];
}

/* The first writes into a gradient row (grad_write, plugin.h): y = 0 + ...,
 * the very sum the add makes into a zeroed row (0.0 + -0.0 is +0.0: a bare
 * store would keep the -0.0 of a zero pixel times a negative dz). */
/* y = 0 + u */
KS_CLONES static void ks_set(size_t n, const double *restrict u, double *restrict y) {
  KS_PRAGMA(omp simd)
  for (size_t t = 0; t < n; t++) y[t] = 0.0 + u[t];
}

/* y = 0 + a u */
KS_CLONES static void ks_set1(size_t n, double a, const double *restrict u, double *restrict y) {
  KS_PRAGMA(omp simd)
  for (size_t t = 0; t < n; t++) y[t] = 0.0 + a * u[t];
}

/* y = 0 + (a u + c v) */
KS_CLONES static void ks_set2(size_t n, double a, const double *restrict u, double c,
                              const double *restrict v, double *restrict y) {
  KS_PRAGMA(omp simd)
  for (size_t t = 0; t < n; t++) y[t] = 0.0 + (a * u[t] + c * v[t]);
}

/* u . v */
KS_CLONES static double ks_dot(size_t n, const double *restrict u, const double *restrict v) {
  double d = 0.0;
  KS_PRAGMA(omp simd reduction(+:d))
  for (size_t t = 0; t < n; t++) d += u[t] * v[t];
  return d;
}

/* y += u */
KS_CLONES static void ks_add(size_t n, const double *restrict u, double *restrict y) {
  KS_PRAGMA(omp simd)
  for (size_t t = 0; t < n; t++) y[t] += u[t];
}

/* ---- ksparse: selection ---------------------------------------------------------- */

/* 1 if every z[0..n) is finite (z * 0 is 0 for finite z, NaN otherwise). */
KS_CLONES static int ks_finite(size_t n, const double *restrict z) {
  double acc = 0.0;
  KS_PRAGMA(omp simd reduction(+:acc))
  for (size_t t = 0; t < n; t++) acc += z[t] * 0.0;
  return acc == 0.0;
}

static void ks_sift(const double *v, uint32_t *hp, size_t kk, size_t p) {
  for (;;) {
    size_t l = 2 * p + 1, r = l + 1, w = p;
    if (l < kk && tk_ahead(v, hp[w], hp[l])) w = l;
    if (r < kk && tk_ahead(v, hp[w], hp[r])) w = r;
    if (w == p) return;
    uint32_t t = hp[p];
    hp[p] = hp[w];
    hp[w] = t;
    p = w;
  }
}

static int ks_cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

/* Up to this many kept units, selection keeps them in a sorted array;
 * beyond, in a heap (tk_select's method). */
#define KS_SORTED_MAX 128

/* S[0..kk) = the kk units of z[0..h) ahead of all others, ascending; v is
 * scratch for kk doubles.  Returns 0, or j+1 if z[j] is not finite.
 *
 * One scan; every unit already kept has a lower index than the one scanned,
 * so a tie never displaces it and one comparison with thr, the value of the
 * unit furthest behind, decides.  For values in random order about
 * kk ln(h / kk) units enter (92 for 25 of 1000).  Up to KS_SORTED_MAX kept
 * units S and v hold them sorted (best first) and an entry shifts the worse
 * ones down: a predictable loop, where a heap's sift mispredicts a branch at
 * every level. */
static size_t ks_select(const double *z, size_t h, size_t kk, uint32_t *S, double *v) {
  if (!ks_finite(h, z))
    for (size_t j = 0; j < h; j++)
      if (!isfinite(z[j])) return j + 1;
  if (kk == h) {
    for (size_t s = 0; s < kk; s++) S[s] = (uint32_t)s;
    return 0;
  }
  if (kk <= KS_SORTED_MAX) {
    for (size_t j = 0; j < kk; j++) { /* insertion sort of the first kk */
      size_t p = j;
      for (; p > 0 && v[p - 1] < z[j]; p--) v[p] = v[p - 1], S[p] = S[p - 1];
      v[p] = z[j], S[p] = (uint32_t)j;
    }
    double thr = v[kk - 1];
    for (size_t j = kk; j < h; j++) {
      if (!(z[j] > thr)) continue;
      size_t p = kk - 1;
      for (; p > 0 && v[p - 1] < z[j]; p--) v[p] = v[p - 1], S[p] = S[p - 1];
      v[p] = z[j], S[p] = (uint32_t)j;
      thr = v[kk - 1];
    }
    for (size_t s = 1; s < kk; s++) { /* ascending indices */
      uint32_t u = S[s];
      size_t t = s;
      for (; t > 0 && S[t - 1] > u; t--) S[t] = S[t - 1];
      S[t] = u;
    }
    return 0;
  }
  for (size_t s = 0; s < kk; s++) S[s] = (uint32_t)s; /* a heap, the root furthest behind */
  for (size_t p = kk / 2; p-- > 0;) ks_sift(z, S, kk, p);
  double thr = z[S[0]];
  for (size_t j = kk; j < h; j++)
    if (z[j] > thr) {
      S[0] = (uint32_t)j;
      ks_sift(z, S, kk, 0);
      thr = z[S[0]];
    }
  qsort(S, kk, sizeof *S, ks_cmp_u32);
  return 0;
}

/* Zero row z[0..h) outside the ascending support S[0..kk). */
static void ks_mask_row(double *z, size_t h, const uint32_t *S, size_t kk) {
  size_t s = 0;
  for (size_t j = 0; j < h; j++) {
    if (s < kk && S[s] == j) {
      s++;
      continue;
    }
    z[j] = 0.0;
  }
}


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

/* Every row of the m x n matrix at A (row stride lda) = v. */
static void ks_fill_rows(double *A, size_t m, size_t n, size_t lda, const double *v) {
  for (size_t i = 0; i < m; i++) memcpy(A + i * lda, v, n * sizeof *v);
}

static int ksparse_forward(sae_node *nd, const gsl_matrix *x, gsl_matrix *y, double *cost) {
  const size_t m = x->size1, n = nd->n_in, h = (size_t)nd->hp[KS_N_HID];
  const size_t kk = tk_kept(nd->hp[KS_K], nd->hp[KS_ALPHA], nd->batch);
  const int dense = nd->hp[KS_DENSE] != 0;
  const gsl_matrix *W = &nd->param[KS_W], *D = &nd->param[ks_tied(nd) ? KS_W : KS_V];
  const double *b = nd->param[KS_B].data, *b_dec = nd->param[KS_B_DEC].data;
  ks_state *st = nd->state;
  int rc = ksparse_shape(nd, x, y, "y");
  (void)cost;
  if (rc) return rc;
  if (kk > h) return SAE_FAIL(nd, SAE_EHPARAM, "ksparse: keeps %zu of n_hid = %zu units", kk, h);
  if ((double)m * (double)kk >= 4294967295.0)
    return SAE_FAIL(nd, SAE_ESHAPE, "ksparse: %zu examples x %zu units kept: over 2^32 pairs, "
                    "split the batch", m, kk);
  st->kk = 0;
  /* the policy every elementwise pass shares (saelab/elementwise.h):
   * omp_get_max_threads() only when libgomp will not spin for long, else 1 */
  if (!st->threads) st->threads = sae_omp_threads();
  const ks_ws w = ks_layout(nd, m, kk);

  /* Z = 1 b + x W^T (W stored n_hid x n_in): one dgemm. */
  gsl_matrix_view Z = gsl_matrix_view_array(w.Z, m, h);
  ks_fill_rows(w.Z, m, h, h, b);
  if ((rc = gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, x, W, 1.0, &Z.matrix)))
    return SAE_FAIL(nd, rc, "ksparse: x W^T: shapes do not fit");

  /* S_i = supp_kk(Z_i) and (sparse) y_i = b' + sum_{j in S_i} z_ij D_j, per example. */
  size_t bad_i = m, bad_j = 0;
  const int nt = st->threads, par = nt > 1 && m > 1 && m * (h + (dense ? 0 : kk * n)) >= KS_PARALLEL_MIN;
  (void)par, (void)nt;
  KS_PRAGMA(omp parallel for schedule(static) if(par) num_threads(nt))
  for (size_t i = 0; i < m; i++) {
    const double *z = w.Z + i * h;
    const uint32_t *S = w.S + i * kk;
    /* scratch for kk values: dz's row, unused until backward */
    size_t bad = ks_select(z, h, kk, w.S + i * kk, w.dz + i * kk);
    if (bad) {
      KS_PRAGMA(omp critical(ks_bad))
      if (i < bad_i) bad_i = i, bad_j = bad;
      continue;
    }
    if (dense) continue;
    double *yi = y->data + i * y->tda;
    memcpy(yi, b_dec, n * sizeof *yi);
    for (size_t s = 0; s < kk; s++) ks_axpy(n, z[S[s]], D->data + S[s] * D->tda, yi);
  }
  if (bad_i < m)
    return SAE_FAIL(nd, SAE_ENUMERIC, "ksparse: z[%zu][%zu] = %g is not finite", bad_i + 1,
                    bad_j, w.Z[bad_i * h + bad_j - 1]);

  if (dense) { /* Z_S = Z .* M in place, y = 1 b' + Z_S D: the twin's dgemm */
    for (size_t i = 0; i < m; i++) ks_mask_row(w.Z + i * h, h, w.S + i * kk, kk);
    ks_fill_rows(y->data, m, n, y->tda, b_dec);
    if ((rc = gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, &Z.matrix, D, 1.0, y)))
      return SAE_FAIL(nd, rc, "ksparse: Z_S D: shapes do not fit");
  }
  st->kk = kk;
  st->m = m;
  st->mode = nd->batch ? nd->batch->mode : SAE_MODE_TRAIN;
  st->dense = dense;
  return SAE_OK;
}

/* The dense-masked backward (dense = 1): every product a dgemm, as the twin. */
static int ksparse_backward_dense(sae_node *nd, const gsl_matrix *x, const gsl_matrix *dy,
                                  gsl_matrix *dx, const ks_ws *w, size_t kk) {
  const size_t m = x->size1, h = (size_t)nd->hp[KS_N_HID];
  const int tied = ks_tied(nd);
  const gsl_matrix *W = &nd->param[KS_W], *D = &nd->param[tied ? KS_W : KS_V];
  gsl_matrix *gW = &nd->grad[KS_W], *gD = &nd->grad[tied ? KS_W : KS_V];
  double *gb = nd->grad[KS_B].data;
  gsl_matrix_view Zs = gsl_matrix_view_array(w->Z, m, h), dZ = gsl_matrix_view_array(w->dz, m, h);
  int rc;
  if ((rc = gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, dy, D, 0.0, &dZ.matrix)))
    return SAE_FAIL(nd, rc, "ksparse: dy D^T: shapes do not fit");
  for (size_t i = 0; i < m; i++) {
    double *dzi = w->dz + i * h;
    ks_mask_row(dzi, h, w->S + i * kk, kk);
    for (size_t j = 0; j < h; j++) gb[j] += dzi[j];
  }
  if ((rc = gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, &Zs.matrix, dy, 1.0, gD)) ||
      (rc = gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, &dZ.matrix, x, 1.0, gW)) ||
      (dx && (rc = gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, &dZ.matrix, W, 1.0, dx))))
    return SAE_FAIL(nd, rc, "ksparse: backward dgemm: shapes do not fit");
  return SAE_OK;
}

static int ksparse_backward(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y,
                            const gsl_matrix *dy, gsl_matrix *dx) {
  const size_t m = x->size1, n = nd->n_in, h = (size_t)nd->hp[KS_N_HID];
  const int tied = ks_tied(nd);
  const gsl_matrix *W = &nd->param[KS_W], *D = &nd->param[tied ? KS_W : KS_V];
  gsl_matrix *gW = &nd->grad[KS_W], *gD = &nd->grad[tied ? KS_W : KS_V];
  double *gb = nd->grad[KS_B].data, *gb_dec = nd->grad[KS_B_DEC].data;
  const ks_state *st = nd->state;
  const size_t kk = st->kk;
  int rc;
  (void)y;
  if ((rc = ksparse_shape(nd, x, dy, "dy")) || (dx && (rc = ksparse_shape(nd, x, dx, "dx"))))
    return rc;
  if (kk == 0) return SAE_FAIL(nd, SAE_ESTATE, "ksparse: backward before a forward");
  if (m != st->m)
    return SAE_FAIL(nd, SAE_ESTATE, "ksparse: backward on %zu examples, the forward had %zu", m,
                    st->m);
  const ks_ws w = ks_layout(nd, m, kk);
  /* grad_write (plugin.h): the host left our gradients unzeroed: write them.
   * The dense twin zeroes them itself and adds; usage's gradient is 0. */
  const int gwrite = nd->grad_write;
  if (gwrite) {
    gsl_matrix *gu = &nd->grad[ks_usage(nd)];
    memset(gu->data, 0, gu->size2 * sizeof *gu->data);
    if (st->dense)
      for (size_t t = 0; t < nd->n_tensors; t++) {
        gsl_matrix *g = &nd->grad[t];
        for (size_t r = 0; r < g->size1; r++)
          memset(g->data + r * g->tda, 0, g->size2 * sizeof *g->data);
      }
  }

  /* grad b' += 1^T dy (written: the first row stored as 0 + dy_1, then the same sums) */
  const size_t i0 = gwrite && !st->dense && m > 0 ? 1 : 0;
  if (i0) ks_set(n, dy->data, gb_dec);
  else if (gwrite && !st->dense) memset(gb_dec, 0, n * sizeof *gb_dec); /* m = 0 */
  for (size_t i = i0; i < m; i++) ks_add(n, dy->data + i * dy->tda, gb_dec);
  if (st->dense) return ksparse_backward_dense(nd, x, dy, dx, &w, kk);

  const size_t np = m * kk;
  const int nt = st->threads, par = nt > 1 && m > 1 && np * n >= KS_PARALLEL_MIN;
  (void)par, (void)nt;
  KS_PRAGMA(omp parallel if(par) num_threads(nt))
  {
    /* Group the pairs by unit (a counting sort, stable: ascending i within a unit). */
    KS_PRAGMA(omp single)
    {
      memset(w.start, 0, (h + 1) * sizeof *w.start);
      for (size_t p = 0; p < np; p++) w.start[w.S[p] + 1]++;
      for (size_t j = 0; j < h; j++) w.start[j + 1] += w.start[j];
      for (size_t p = 0; p < np; p++) w.pair[w.start[w.S[p]]++] = (uint32_t)p;
      for (size_t j = h; j > 0; j--) w.start[j] = w.start[j - 1]; /* back to the beginnings */
      w.start[0] = 0;
    }
    /* One sweep over the units: per unit j, its examples in ascending order
     * (the same order whatever the number of threads), dz_ij = dy_i . D_j,
     * grad b_j += dz_ij, grad D_j += z_ij dy_i, grad W_j += dz_ij x_i.  D_j is
     * read once per batch and stays in L1 for its pairs (read per example
     * instead, the kk rows of each example came from L3: 3200 row reads, 20
     * MB, for a batch of 128 at k = 25); each gradient row is written by one
     * thread, once.  dz_ij is the same ks_dot of the same rows as per
     * example, so the same bits.  grad_write: the unit's first pair writes
     * (0 + its terms), a unit with no pair gets zero rows; the rest adds: the
     * same sums in the same order as into zeroed rows. */
    KS_PRAGMA(omp for schedule(dynamic, 16))
    for (size_t j = 0; j < h; j++) {
      double gbj = gwrite ? 0.0 : gb[j];
      const double *Dj = D->data + j * D->tda;
      double *gWj = gW->data + j * gW->tda, *gDj = gD->data + j * gD->tda;
      uint32_t q = w.start[j];
      if (gwrite && q == w.start[j + 1]) {
        memset(gWj, 0, n * sizeof *gWj);
        if (!tied) memset(gDj, 0, n * sizeof *gDj);
      }
      for (int first = gwrite; q < w.start[j + 1]; q++, first = 0) {
        const size_t p = w.pair[q], i = p / kk;
        const double *xi = x->data + i * x->tda, *dyi = dy->data + i * dy->tda;
        const double a = w.Z[i * h + j], d = w.dz[p] = ks_dot(n, dyi, Dj);
        gbj += d;
        if (tied) { /* decoder z_ij dy_i and encoder dz_ij x_i land on the same row */
          if (first) ks_set2(n, a, dyi, d, xi, gWj);
          else ks_axpy2(n, a, dyi, d, xi, gWj);
        } else if (first) {
          ks_set1(n, a, dyi, gDj);
          ks_set1(n, d, xi, gWj);
        } else {
          ks_axpy(n, a, dyi, gDj);
          ks_axpy(n, d, xi, gWj);
        }
      }
      gb[j] = gbj;
    }
    /* dx_i += sum_{j in S_i} dz_ij W_j, per example (after the sweep's barrier: dz). */
    if (dx) {
      KS_PRAGMA(omp for schedule(static))
      for (size_t i = 0; i < m; i++) {
        double *dxi = dx->data + i * dx->tda;
        for (size_t s = 0; s < kk; s++) {
          const size_t p = i * kk + s;
          ks_axpy(n, w.dz[p], W->data + w.S[p] * W->tda, dxi);
        }
      }
    }
  }
  return SAE_OK;
}

/* usage_j += #{i : j in S_i}, the TRAIN support of the last forward (the SGD
 * step calls it after its gradient step, on the same batch; eta unused).
 * Experiments zero usage at an epoch's start and count units left at 0 as dead. */
static int ksparse_update(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y, double eta) {
  const ks_state *st = nd->state;
  double *usage = nd->param[ks_usage(nd)].data;
  (void)y;
  (void)eta;
  if (st->kk == 0) return SAE_FAIL(nd, SAE_ESTATE, "ksparse: update before a forward");
  if (st->mode != SAE_MODE_TRAIN)
    return SAE_FAIL(nd, SAE_ESTATE,
                    "ksparse: update after an EVAL forward: usage counts the TRAIN support");
  if (x->size1 != st->m)
    return SAE_FAIL(nd, SAE_ESTATE, "ksparse: update on %zu examples, the forward had %zu",
                    x->size1, st->m);
  const ks_ws w = ks_layout(nd, st->m, st->kk);
  for (size_t p = 0; p < st->m * st->kk; p++) usage[w.S[p]] += 1.0;
  return SAE_OK;
}

static const sae_type ksparse_type = {
  .name = "ksparse",
  .kind = SAE_KIND_LAYER,
  .summary = "k-sparse autoencoder body: z = x W^T + b, keep top k, x^ = z_S W + b' (y = x^)",
  .citation = "Makhzani & Frey, k-Sparse Autoencoders, ICLR 2014 (arXiv 1312.5663), "
              "section 2, Algorithm 1; init N(0, 0.01^2) section 4",
  .hparams = ksparse_hparams,
  .flags = SAE_TYPE_NONSMOOTH | SAE_TYPE_GRAD_WRITE,
  .state_size = sizeof(ks_state),
  .setup = ksparse_setup,
  .retune = ksparse_retune,
  .forward = ksparse_forward,
  .backward = ksparse_backward,
  .update = ksparse_update,
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
