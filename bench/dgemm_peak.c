/* dgemm_peak.c -- this machine's dgemm speed, through cblas_dgemm as saelab
 * links it (GSL's CBLAS symbols resolved to OpenBLAS by link order; the
 * library really serving the call is printed, from dladdr).
 *
 *   bench/dgemm_peak [repeats] [ufldl]   (run by `make bench`; never by make check)
 *
 * Shapes: C (M x N) = op(A) (M x K) op(B) (K x N), 2 M N K flops per call.
 *   square      n = 2000                                   -> the "peak"
 *   UFLDL 784-196 on m = 10000 examples (one example per row and one unit
 *   per row of W, as dense.c: W1 n_hid x n_in, W2 n_in x n_hid):
 *     fwd enc   X W1^T      M = m,     K = n_in,  N = n_hid  (B transposed)
 *     fwd dec   H W2^T      M = m,     K = n_hid, N = n_in   (B transposed)
 *     bwd gW2   dY^T H      M = n_in,  K = m,     N = n_hid  (A transposed)
 *     bwd dH    dY W2       M = m,     K = n_in,  N = n_hid
 *     bwd gW1   dH^T X      M = n_hid, K = m,     N = n_in   (A transposed)
 *   the same five for 64-25 (patches of 8 x 8, 25 hidden units).
 *
 * Each shape: one warm-up call, then `repeats` timed runs (default 5); a run
 * repeats the call until it has taken at least 0.2 s; the best run counts.
 * All buffers are allocated and written once before timing (a fresh page
 * costs 10-18 us on first touch here: see STYLE.md), beta = 1 as in dense.c.
 *
 * The square case runs first and last (the cores are shared: see the load
 * averages printed); the better of the two is the peak.  The last line,
 * SAELAB_DGEMM_PEAK=<that GFLOP/s>, is for
 * bench/ufldl_eval.lua (make bench passes it on); SAELAB_PRODUCTS_784_196=
 * and SAELAB_PRODUCTS_64_25= (seconds of each evaluation's five products)
 * are for bench/peers/run.sh.  With "ufldl", only those ten shapes run. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr, RTLD_DEFAULT */
#endif
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <gsl/gsl_cblas.h>
#include "bench_clock.h"

typedef struct shape {
  const char *name;
  int ta, tb; /* 1: op = transpose */
  size_t M, N, K;
} shape;

static double *fill(size_t n, double v) {
  double *p = malloc(n * sizeof *p);
  if (!p) {
    fprintf(stderr, "dgemm_peak: out of memory for %zu doubles\n", n);
    exit(1);
  }
  for (size_t i = 0; i < n; i++) p[i] = v * (double)((i * 2654435761u) % 1000) / 1000.0;
  return p;
}

static void call(const shape *s, const double *A, const double *B, double *C) {
  /* Row-major; A is stored M x K (or K x M when transposed), B K x N (or N x K). */
  const int lda = s->ta ? (int)s->M : (int)s->K, ldb = s->tb ? (int)s->K : (int)s->N;
  cblas_dgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans,
              s->tb ? CblasTrans : CblasNoTrans, (int)s->M, (int)s->N, (int)s->K, 1.0, A, lda,
              B, ldb, 1e-3, C, (int)s->N); /* beta != 0 reads C, as dense.c's accumulation */
}

/* Best GFLOP/s over `repeats` runs of at least 0.2 s each. */
static double bench(const shape *s, int repeats, double *best_call) {
  double *A = fill(s->M * s->K, 1.0), *B = fill(s->K * s->N, 0.5), *C = fill(s->M * s->N, 0.0);
  const double flops = 2.0 * (double)s->M * (double)s->N * (double)s->K;
  double best = 1e300;
  call(s, A, B, C); /* warm-up: threads started, caches and pages touched */
  for (int r = 0; r < repeats; r++) {
    long n = 0;
    double t0 = now(), t;
    do {
      call(s, A, B, C);
      n++;
    } while ((t = now() - t0) < 0.2);
    if (t / (double)n < best) best = t / (double)n;
  }
  free(A);
  free(B);
  free(C);
  *best_call = best;
  return flops / best / 1e9;
}

int main(int argc, char **argv) {
  int repeats = argc > 1 ? atoi(argv[1]) : 5;
  if (repeats < 1) repeats = 1;
  /* "ufldl": only the UFLDL evaluations' products (bench/peers/run.sh times
   * them right before each evaluation, as the machine's speed drifts) */
  const int ufldl_only = argc > 2 && strcmp(argv[2], "ufldl") == 0;
  if (argc > 2 && !ufldl_only) {
    fprintf(stderr, "dgemm_peak: unknown argument '%s' (usage: dgemm_peak [repeats] [ufldl])\n",
            argv[2]);
    return 2;
  }

  Dl_info info;
  const char *lib = dladdr((void *)cblas_dgemm, &info) && info.dli_fname ? info.dli_fname : "?";
  char *(*corename)(void) = (char *(*)(void))dlsym(RTLD_DEFAULT, "openblas_get_corename");
  int (*threads)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "openblas_get_num_threads");
  const char *ct = getenv("OPENBLAS_CORETYPE");
  if (ct && !*ct) ct = NULL; /* set but empty: OpenBLAS ignores it */
  const char *nt = getenv("OPENBLAS_NUM_THREADS");

  printf("cblas_dgemm from %s\n", lib);
  printf("OpenBLAS core: %s; threads: %d\n", corename ? corename() : "(not OpenBLAS)",
         threads ? threads() : 1);
  printf("OPENBLAS_CORETYPE=%s (%s); OPENBLAS_NUM_THREADS=%s\n", ct ? ct : "(unset)",
         ct ? "kernels forced to that core" : "OpenBLAS picks the kernels for this CPU",
         nt ? nt : "(unset)");
  printf("best of %d runs (each >= 0.2 s) after a warm-up; double precision, row-major\n",
         repeats);
  print_load("before");
  putchar('\n');

  const size_t m = 10000;
  const shape shapes[] = {
    {"square n=2000", 0, 0, 2000, 2000, 2000},
    {"784-196 fwd enc  X W1^T", 0, 1, m, 196, 784},
    {"784-196 fwd dec  H W2^T", 0, 1, m, 784, 196},
    {"784-196 bwd gW2  dY^T H", 1, 0, 784, 196, m},
    {"784-196 bwd dH   dY W2", 0, 0, m, 196, 784},
    {"784-196 bwd gW1  dH^T X", 1, 0, 196, 784, m},
    {"64-25 fwd enc    X W1^T", 0, 1, m, 25, 64},
    {"64-25 fwd dec    H W2^T", 0, 1, m, 64, 25},
    {"64-25 bwd gW2    dY^T H", 1, 0, 64, 25, m},
    {"64-25 bwd dH     dY W2", 0, 0, m, 25, 64},
    {"64-25 bwd gW1    dH^T X", 1, 0, 25, 64, m},
    {"square n=2000 (again)", 0, 0, 2000, 2000, 2000},
  };
  const size_t n_shapes = sizeof shapes / sizeof shapes[0];
  double peak = 0, t_784 = 0, f_784 = 0, t_64 = 0, f_64 = 0;

  printf("%-26s %6s %6s %6s %10s %9s\n", "shape", "M", "N", "K", "ms/call", "GFLOP/s");
  for (size_t i = ufldl_only ? 1 : 0; i < (ufldl_only ? 11 : n_shapes); i++) {
    const shape *s = &shapes[i];
    double t, g = bench(s, repeats, &t);
    printf("%-26s %6zu %6zu %6zu %10.3f %9.1f\n", s->name, s->M, s->N, s->K, 1e3 * t, g);
    fflush(stdout);
    if ((i == 0 || i == n_shapes - 1) && g > peak) peak = g;
    const double fl = 2.0 * (double)s->M * (double)s->N * (double)s->K;
    if (i >= 1 && i <= 5) t_784 += t, f_784 += fl;
    if (i >= 6 && i <= 10) t_64 += t, f_64 += fl;
  }
  printf("\n784-196: the five dgemms of one evaluation: %.1f ms, %.1f GFLOP/s\n", 1e3 * t_784,
         f_784 / t_784 / 1e9);
  printf("64-25:   the five dgemms of one evaluation: %.2f ms, %.1f GFLOP/s\n", 1e3 * t_64,
         f_64 / t_64 / 1e9);
  print_load("after");
  printf("SAELAB_PRODUCTS_784_196=%.6g\nSAELAB_PRODUCTS_64_25=%.6g\n", t_784, t_64);
  if (!ufldl_only) printf("SAELAB_DGEMM_PEAK=%.1f\n", peak);
  return 0;
}
