/*
 * saelab/elementwise.h -- elementwise passes shared by the types: how many
 * threads a pass gets, how a matrix is cut into spans for them, a vectorised
 * sigmoid and its plain libm twin, column sums that do not depend on the
 * thread count, and the momentum SGD step on a row (the optimiser's and a
 * fused step's one kernel).
 * Installed beside <saelab/plugin.h>; header-only (static inline), like
 * <saelab/sparse.h>: one copy of the source, nothing to link but what the
 * plugin opts into:
 *   - compiled with OpenMP (-fopenmp), the passes run on several threads
 *     (sae_omp_threads); without it they run on one and the pragmas vanish;
 *   - compiled with -DSAE_USE_LIBMVEC and linked with -lmvec (glibc's vector
 *     math library), sae_sigmoid uses glibc's AVX2 exp, _ZGVdN4v_exp, on a
 *     CPU that has AVX2; otherwise, and on other CPUs, the scalar exp.
 *
 * Determinism.  Every function here gives, for one input on one machine, the
 * same numbers whatever the thread count: maps are per element (and
 * sae_sigmoid sends EVERY element through the same exp, the last partial
 * vector padded, so an element's value does not depend on where it sits),
 * and sums run in a fixed order (sae_col_sums: each column down the rows, in
 * row order, however the columns are split over threads).
 *
 * Accuracy of sae_sigmoid against sae_sigmoid_ref (1 / (1 + exp(-x)) with
 * libm's exp).  glibc documents libmvec's functions to at most 4 ulp (glibc
 * manual, "Known Maximum Errors in Math Functions"); over [-745, 710] its
 * _ZGVdN4v_exp was within 3 ulp of the scalar exp on this project's build
 * machine.  1 + e then divides that relative error by (1 + e) / e >= 1, and
 * the sum and the quotient round the same way in both: the sigmoids differ by
 * at most 4 ulp (tests/check_elementwise.c checks exactly that, on a grid
 * and at the limits: 0 and 1 where exp under- or overflows, NaN in, NaN out).
 */
#ifndef SAELAB_ELEMENTWISE_H
#define SAELAB_ELEMENTWISE_H

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_matrix.h>

#ifdef _OPENMP
#include <omp.h>
#define SAE_EW_PRAGMA(x) _Pragma(#x)
#else
#define SAE_EW_PRAGMA(x)
#endif

#if defined(SAE_USE_LIBMVEC) && defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SAE_EW_MVEC 1
#include <immintrin.h>
#endif

/* A span kernel compiled for AVX2 and for baseline x86-64, the loader picking
 * what the CPU runs (GCC's target_clones, an ifunc; as plugins/topk.c).  The
 * build is -std=c11, so no clone contracts a * b + c into an FMA: every clone
 * computes the same numbers. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define SAE_EW_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define SAE_EW_CLONES
#endif

/* The same with an AVX-512 clone as well: the row kernels of ksparse
 * (plugins/ksparse_kernels.h) and of the SGD step (sae_step_row's callers:
 * src/optim.c, and bench/membw.c timing it), one set of clones for all. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define SAE_EW_CLONES_V4 \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SAE_EW_CLONES_V4
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- threads -------------------------------------------------------------------
 * OpenMP threads for a pass, or 1.  libgomp's threads, when a parallel region
 * ends, spin (by default up to 300000 rounds, milliseconds here) before they
 * sleep, and OpenBLAS's threads do the same after a dgemm: on 2 cores the two
 * pools take turns stealing the core the other one needs (bench/README.md:
 * a k-sparse epoch took 3x longer on 2 threads than on 1).  So the passes use
 * omp_get_max_threads() threads only when libgomp has been told not to spin
 * for long (OMP_WAIT_POLICY=passive, or GOMP_SPINCOUNT set); otherwise one.
 * The saelab program sets OMP_WAIT_POLICY=passive and OMP_NUM_THREADS to
 * OpenBLAS's count where the user set neither (src/main.c, omp_defaults), so
 * under it the passes use every core by default; a host that sets nothing
 * (the C tests, another program) gets one.  Read once per plugin. */
static inline int sae_omp_threads(void) {
#ifdef _OPENMP
  static int cached; /* 0: not read yet */
  int nt = cached;
  if (!nt) {
    const char *wp = getenv("OMP_WAIT_POLICY"), *sc = getenv("GOMP_SPINCOUNT");
    const int passive = wp && (strcmp(wp, "passive") == 0 || strcmp(wp, "PASSIVE") == 0);
    nt = passive || (sc && *sc) ? omp_get_max_threads() : 1;
    cached = nt < 1 ? 1 : nt;
  }
  return nt < 1 ? 1 : nt;
#else
  return 1;
#endif
}

/* A pass over fewer elements than this stays on one thread: waking a second
 * thread costs microseconds (tens when it sleeps), a pass of 2^15 doubles
 * takes about as long. */
#define SAE_EW_PAR_MIN ((size_t)1 << 15)

/* Threads for an elementwise pass over n elements. */
static inline int sae_ew_threads(size_t n) {
  return n < SAE_EW_PAR_MIN ? 1 : sae_omp_threads();
}

/* ---- spans -----------------------------------------------------------------------
 * A pass over m x n matrices cut into spans for the threads.  When every
 * operand's rows are contiguous (tda == n, the host's outputs are) the block
 * is one array of m n elements, cut into spans of SAE_EW_SPAN (a row of 25
 * would leave a vector unit idle); otherwise a span is a row.  Span s starts
 * at row sp.row(s), column sp.col(s) of every operand and has sae_ew_len(s)
 * elements. */
#define SAE_EW_SPAN ((size_t)4096)

typedef struct sae_ew_plan {
  size_t count; /* spans */
  size_t len;   /* elements of a full span */
  size_t total; /* elements in all (m n) */
  int flat;     /* 1: spans of the flat block; 0: rows */
} sae_ew_plan;

/* The plan for m x n operands; tdas[0..k) are their row strides. */
static inline sae_ew_plan sae_ew_plan_for(size_t m, size_t n, const size_t *tdas, size_t k) {
  sae_ew_plan p = {m, n, m * n, 0};
  int flat = 1;
  for (size_t i = 0; i < k; i++) flat &= tdas[i] == n;
  if (flat && m > 1) {
    p.flat = 1;
    p.len = SAE_EW_SPAN;
    p.count = (p.total + SAE_EW_SPAN - 1) / SAE_EW_SPAN;
  }
  return p;
}

/* Offset of span s's first element in an operand of row stride tda. */
static inline size_t sae_ew_off(const sae_ew_plan *p, size_t s, size_t tda) {
  return p->flat ? s * p->len : s * tda;
}

/* Elements in span s. */
static inline size_t sae_ew_len(const sae_ew_plan *p, size_t s) {
  if (!p->flat) return p->len;
  const size_t start = s * p->len;
  return p->total - start < p->len ? p->total - start : p->len;
}

/* ---- write or add ------------------------------------------------------------------
 * out[j] = v (write) or out[j] += v (add), for j in [0, n), v an expression of
 * the index j: the two ways a backward pass stores its result (plugin.h:
 * backward adds into dx, backward_write writes it).  One branch per span,
 * outside the loops, so each loop vectorises. */
#define SAE_EW_STORE(write, n, j, out, v)                       \
  do {                                                          \
    if (write) {                                                \
      SAE_EW_PRAGMA(omp simd)                                   \
      for (size_t j = 0; j < (n); j++) (out)[j] = (v);          \
    } else {                                                    \
      SAE_EW_PRAGMA(omp simd)                                   \
      for (size_t j = 0; j < (n); j++) (out)[j] += (v);         \
    }                                                           \
  } while (0)

/* ---- sigmoid ---------------------------------------------------------------------- */

/* y = 1 / (1 + exp(-x)) with libm's exp: the reference (the twin the tests
 * compare sae_sigmoid with, and the path on CPUs without AVX2). */
static inline void sae_sigmoid_ref(size_t n, const double *x, double *y) {
  for (size_t j = 0; j < n; j++) y[j] = 1.0 / (1.0 + exp(-x[j]));
}

#ifdef SAE_EW_MVEC
/* glibc's libmvec: exp of 4 doubles, AVX2 calling convention (the vector ABI
 * the compiler's simd clones use; glibc's math-vector.h declares it only
 * under -ffast-math, which this project does not use). */
__m256d _ZGVdN4v_exp(__m256d);

__attribute__((target("avx2"))) static inline void sae_sigmoid_avx2(size_t n, const double *x,
                                                                   double *y) {
  const __m256d one = _mm256_set1_pd(1.0), zero = _mm256_setzero_pd();
  size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const __m256d e = _ZGVdN4v_exp(_mm256_sub_pd(zero, _mm256_loadu_pd(x + j)));
    _mm256_storeu_pd(y + j, _mm256_div_pd(one, _mm256_add_pd(one, e)));
  }
  if (j < n) { /* the tail through the same exp, padded with zeros */
    double in[4] = {0, 0, 0, 0}, out[4];
    memcpy(in, x + j, (n - j) * sizeof *x);
    const __m256d e = _ZGVdN4v_exp(_mm256_sub_pd(zero, _mm256_loadu_pd(in)));
    _mm256_storeu_pd(out, _mm256_div_pd(one, _mm256_add_pd(one, e)));
    memcpy(y + j, out, (n - j) * sizeof *y);
  }
}

/* 1 when this CPU runs the AVX2 path (checked once per plugin). */
static inline int sae_ew_avx2(void) {
  static int cached = -1;
  if (cached < 0) {
    __builtin_cpu_init();
    cached = __builtin_cpu_supports("avx2") ? 1 : 0;
  }
  return cached;
}
#endif

/* y = 1 / (1 + exp(-x)) over n elements: vector exp where available (see the
 * top of the file for its accuracy), else sae_sigmoid_ref. */
static inline void sae_sigmoid(size_t n, const double *x, double *y) {
#ifdef SAE_EW_MVEC
  if (sae_ew_avx2()) {
    sae_sigmoid_avx2(n, x, y);
    return;
  }
#endif
  sae_sigmoid_ref(n, x, y);
}

/* ---- column sums -------------------------------------------------------------------
 * s[j] += sum_i a_ij, each column summed down the rows in row order (the
 * order of a loop of daxpy over rows): the same numbers on any thread count.
 * The rows are read in order; threads take contiguous ranges of columns,
 * whole cache lines of a each.  Each thread sums into its own accumulators
 * (SAE_EW_COLS columns at a time, on its stack) and stores them into s once:
 * s need not be aligned, and two threads adding into the cache line their
 * ranges share, row after row, made 2 threads 3x slower than 1 (false
 * sharing: 0.32 against 0.12 ms for 10000 x 64). */
#define SAE_EW_COLS ((size_t)256)

SAE_EW_CLONES static void sae_col_sums_range(const gsl_matrix *a, double *restrict s, size_t j0,
                                             size_t j1) {
  const size_t m = a->size1, tda = a->tda;
  double acc[SAE_EW_COLS];
  for (size_t c0 = j0; c0 < j1; c0 += SAE_EW_COLS) {
    const size_t w = j1 - c0 < SAE_EW_COLS ? j1 - c0 : SAE_EW_COLS;
    for (size_t j = 0; j < w; j++) acc[j] = s[c0 + j];
    for (size_t i = 0; i < m; i++) {
      const double *restrict ai = a->data + i * tda + c0;
      SAE_EW_PRAGMA(omp simd)
      for (size_t j = 0; j < w; j++) acc[j] += ai[j];
    }
    for (size_t j = 0; j < w; j++) s[c0 + j] = acc[j];
  }
}

static inline void sae_col_sums(const gsl_matrix *a, double *s) {
  const size_t n = a->size2, nb = (n + 7) / 8; /* blocks of 8 columns: 64 bytes */
  const int nt = nb > 1 ? sae_ew_threads(a->size1 * n) : 1;
  if (nt <= 1) {
    sae_col_sums_range(a, s, 0, n);
    return;
  }
  (void)nb;
  SAE_EW_PRAGMA(omp parallel num_threads(nt))
  {
    size_t t = 0, T = 1;
#ifdef _OPENMP
    t = (size_t)omp_get_thread_num();
    T = (size_t)omp_get_num_threads();
#endif
    const size_t j0 = 8 * (nb * t / T), j1 = 8 * (nb * (t + 1) / T);
    sae_col_sums_range(a, s, j0, j1 < n ? j1 : n);
  }
}

/* ---- the momentum SGD step ----------------------------------------------------------
 * v <- mu v - c g,  th <- th + v  over n entries (c = eta x rate scale x
 * direction; Rumelhart, Hinton & Williams 1986, eq. 9).  Returns the sum of
 * th * 0 over the new th: exactly 0 while every entry is finite, NaN once one
 * is not (a NaN or Inf gradient reaches th through v, and so does an
 * overflow): the non-finite check rides on the step's own pass.
 *
 * ONE kernel per precision for every caller: the optimiser's pass over the
 * parameter block (src/optim.c) and a fused step inside a backward
 * (plugin.h, sae_step: ksparse steps each row of W right after its gradient
 * row).  Both compile it with -std=c11, so no caller contracts mu v - c g
 * into an FMA: every element gets the same two products, difference and sum
 * whatever the vector width or the clone, and the fused step has the bits of
 * the optimiser's.  Only bad's sum runs in lanes (0 or NaN either way).
 * An `omp simd` loop: compiled with -fopenmp or -fopenmp-simd it vectorises
 * without -ffast-math despite bad's reduction (the pragma also says th, v
 * and g do not overlap: no restrict, the header is also C++); a caller
 * compiled with target_clones gets AVX-512 or AVX2 code.  (GCC's 64-byte
 * vector extensions did the same arithmetic through stack spills on AVX2,
 * 1.5x slower.) */
static inline double sae_step_row(size_t n, double mu, double c, double *th, double *v,
                                  const double *g) {
  double bad = 0.0;
#pragma omp simd reduction(+ : bad)
  for (size_t i = 0; i < n; i++) {
    v[i] = mu * v[i] - c * g[i];
    th[i] += v[i];
    bad += th[i] * 0.0;
  }
  return bad;
}

/* The float twin (sae.sgd's precision = 32): the same operations in the same
 * order, in float. */
static inline float sae_step_row_f32(size_t n, float mu, float c, float *th, float *v,
                                     const float *g) {
  float bad = 0.0f;
#pragma omp simd reduction(+ : bad)
  for (size_t i = 0; i < n; i++) {
    v[i] = mu * v[i] - c * g[i];
    th[i] += v[i];
    bad += th[i] * 0.0f;
  }
  return bad;
}

#ifdef __cplusplus
}
#endif
#endif /* SAELAB_ELEMENTWISE_H */
