/* membw.c -- how fast this machine streams the passes outside the products.
 *
 *   bench/membw [repeats]      (run by `make bench` and `make bench-peers`;
 *                               never by make check)
 *
 * The floor under everything a training step does besides its GEMMs is
 * memory traffic: the momentum SGD step alone reads theta, v and the gradient
 * and writes theta and v, 5 x 6.27 MB per batch for a 784-1000 layer in
 * double.  This program times that very pass, with saelab's own kernel,
 *     v <- mu v - c g ;   theta <- theta + v    (sae_step_row, <saelab/elementwise.h>)
 * over arrays of one 784-1000 weight matrix each (the size that recurs per
 * batch: it may stay in the 32 MB L3) and over arrays 8 times larger (beyond
 * the L3: DRAM), in double and in float, on one thread and on every OpenMP
 * thread (OMP_NUM_THREADS; the passes' threads in saelab).  It prints the
 * bytes moved per second (reads + writes, 5 n sizeof(real) per pass, not
 * counting write-allocate) and the time of one pass, which is the step's
 * floor per batch at that size.
 *
 * Each case: one warm-up pass (first touch), then `repeats` timed runs
 * (default 5) of at least 0.2 s each; the best counts.  The load average is
 * printed before and after (the 2 cores are shared). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bench_clock.h"
#include "saelab/elementwise.h"
#ifdef _OPENMP
#include <omp.h>
#else
static int omp_get_max_threads(void) { return 1; }
static int omp_get_thread_num(void) { return 0; }
static int omp_get_num_threads(void) { return 1; }
#endif

/* The step over one span: saelab's own row kernel (sae_step_row, the one
 * src/optim.c's pass and ksparse's fused step call, with its non-finite
 * check), cloned for AVX-512, AVX2 and the baseline as they are. */
SAE_EW_CLONES_V4 static double span_d(size_t n, double mu, double c, double *th, double *v,
                                      const double *g) {
  return sae_step_row(n, mu, c, th, v, g);
}
SAE_EW_CLONES_V4 static float span_f(size_t n, float mu, float c, float *th, float *v,
                                     const float *g) {
  return sae_step_row_f32(n, mu, c, th, v, g);
}

/* The step over [0, n) on nt threads, each a contiguous span. */
static void step(size_t n, int fp32, void *th, void *v, const void *g, int nt) {
  _Pragma("omp parallel num_threads(nt)")
  {
    const size_t t = (size_t)omp_get_thread_num(), T = (size_t)omp_get_num_threads();
    const size_t a = n * t / T, b = n * (t + 1) / T;
    /* the check's sum is 0 here (finite values): dropped */
    if (fp32)
      (void)span_f(b - a, 0.9f, 1e-2f, (float *)th + a, (float *)v + a, (const float *)g + a);
    else
      (void)span_d(b - a, 0.9, 1e-2, (double *)th + a, (double *)v + a, (const double *)g + a);
  }
  (void)nt;
}

typedef struct result {
  double gbs, ms; /* bytes moved per second / 1e9; milliseconds per pass */
} result;

static result run(size_t n, int fp32, int nt, int repeats) {
  const size_t es = fp32 ? sizeof(float) : sizeof(double);
  void *th = malloc(n * es), *v = malloc(n * es), *g = malloc(n * es);
  result r = {0, 0};
  if (!th || !v || !g) {
    free(th), free(v), free(g);
    return r;
  }
  for (size_t i = 0; i < n; i++) { /* first touch, values that stay finite */
    if (fp32) {
      ((float *)th)[i] = 0.01f, ((float *)v)[i] = 0.0f, ((float *)g)[i] = 1e-3f;
    } else {
      ((double *)th)[i] = 0.01, ((double *)v)[i] = 0.0, ((double *)g)[i] = 1e-3;
    }
  }
  double best = 1e30;
  for (int rep = -1; rep < repeats; rep++) {
    long calls = 0;
    const double t0 = now();
    double t;
    do {
      step(n, fp32, th, v, g, nt);
      calls++;
      t = now() - t0;
    } while (rep >= 0 && t < 0.2);
    if (rep >= 0 && t / (double)calls < best) best = t / (double)calls;
  }
  r.ms = 1e3 * best;
  r.gbs = 5.0 * (double)(n * es) / best / 1e9;
  free(th), free(v), free(g);
  return r;
}

int main(int argc, char **argv) {
  const int repeats = argc > 1 ? atoi(argv[1]) : 5;
  if (repeats < 1) {
    fprintf(stderr, "membw: repeats must be a positive integer, not '%s'\n", argv[1]);
    return 1;
  }
  const size_t w = 784 * 1000; /* one 784-1000 weight matrix */
  const int nmax = omp_get_max_threads();
  print_load("before");
  printf("OpenMP threads: %d (OMP_NUM_THREADS=%s, OMP_WAIT_POLICY=%s)\n", nmax,
         getenv("OMP_NUM_THREADS") ? getenv("OMP_NUM_THREADS") : "(unset)",
         getenv("OMP_WAIT_POLICY") ? getenv("OMP_WAIT_POLICY") : "(unset)");
  printf("%-8s %-6s %8s %7s %12s %10s\n", "size", "dtype", "threads", "MB/arr", "GB/s moved",
         "ms/pass");
  const size_t sizes[2] = {w, 8 * w};
  for (int s = 0; s < 2; s++)
    for (int fp32 = 0; fp32 < 2; fp32++)
      for (int nt = 1; nt <= nmax; nt = nt == nmax ? nmax + 1 : nmax) {
        const result r = run(sizes[s], fp32, nt, repeats);
        if (r.ms == 0) {
          fprintf(stderr, "membw: out of memory\n");
          return 1;
        }
        const double mb = (double)sizes[s] * (fp32 ? 4 : 8) / 1e6;
        printf("%-8s %-6s %8d %7.2f %12.1f %10.3f\n", s ? "8 x W" : "W", fp32 ? "fp32" : "fp64",
               nt, mb, r.gbs, r.ms);
        printf("membw size=%s dtype=%s threads=%d gbs=%.2f ms=%.4f\n", s ? "8W" : "W",
               fp32 ? "fp32" : "fp64", nt, r.gbs, r.ms);
      }
  print_load("after");
  return 0;
}
