/* bench_clock.h -- what the benchmark programs share: a monotonic clock and
 * the load average they print before and after (the cores are shared, so a
 * figure means something only beside the load it was measured under). */
#ifndef SAELAB_BENCH_CLOCK_H
#define SAELAB_BENCH_CLOCK_H
#include <stdio.h>
#include <string.h>
#include <time.h>

static inline double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The 1-minute load average: other work on the 2 cores makes numbers noisy. */
static inline void print_load(const char *when) {
  char buf[128] = "?";
  FILE *f = fopen("/proc/loadavg", "r");
  if (f) {
    if (!fgets(buf, sizeof buf, f)) buf[0] = '\0';
    fclose(f);
  }
  buf[strcspn(buf, " ")] = '\0';
  printf("load average (1 min) %s: %s\n", when, buf);
}
#endif
