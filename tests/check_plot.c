/* check_plot.c -- the gnuplot pipe: figures drawn, failures reported, nothing
 * half-written left on disk.
 *
 * TCase "core" needs gnuplot with pngcairo; without it only "errors" runs and
 * the program exits 77 (automake's "skipped") once those pass. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkdtemp, setenv, strdup under -std=c11 */
#endif
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plot.h"

static char dir[] = "/tmp/check_plot-XXXXXX";

static void setup(void) {
  strcpy(dir, "/tmp/check_plot-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  unsetenv("SAELAB_GNUPLOT");
}

static void teardown(void) {
  DIR *d = opendir(dir);
  struct dirent *de;
  char path[512];
  while (d && (de = readdir(d))) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    remove(path);
  }
  if (d) closedir(d);
  rmdir(dir);
  unsetenv("SAELAB_GNUPLOT");
}

/* Number of entries in dir besides . and .. */
static int dir_entries(void) {
  DIR *d = opendir(dir);
  struct dirent *de;
  int n = 0;
  ck_assert_ptr_nonnull(d);
  while ((de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) n++;
  closedir(d);
  return n;
}

static void assert_png(const char *path) {
  static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  unsigned char buf[8];
  char tmp[512];
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "%s was not written", path);
  ck_assert_uint_eq(fread(buf, 1, 8, f), 8);
  fclose(f);
  ck_assert_msg(memcmp(buf, sig, 8) == 0, "%s does not start with the PNG signature", path);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  ck_assert_msg(access(tmp, F_OK) != 0, "%s left behind", tmp);
}

/* Two series, one with x and awkward titles, on a log scale. */
static const double xs1[] = {0.5, 1.5, 2.5, 3.5, 4.5, 5.5};
static const double ys1[] = {2.385, 1.172, 0.61, 0.334, 0.2051, 0.1498};
static const double ys2[] = {2.5, 1.9, NAN, 0.71, 0.52, 0.47};

static void draw_lines(const char *path, sae_error *e, int *rc) {
  sae_plot_series s[2] = {
      {.title = "train 'it''s' \"quoted\" cost_1", .x = xs1, .y = ys1, .n = 6},
      {.title = "test\nset output '/tmp/evil'", .x = NULL, .y = ys2, .n = 6},
  };
  sae_plot_opts o = {.title = "Cost (KL, beta = 3)", .xlabel = "epoch", .ylabel = "J",
                     .logy = 1, .width = 480, .height = 360};
  *rc = sae_plot_lines(path, s, 2, &o, e);
}

START_TEST(test_lines) {
  char path[512];
  sae_error e = {0};
  int rc;
  snprintf(path, sizeof path, "%s/cost.png", dir);
  draw_lines(path, &e, &rc);
  ck_assert_msg(rc == 0, "sae_plot_lines: %s", e.msg);
  assert_png(path);
  ck_assert_int_eq(dir_entries(), 1);
}
END_TEST

START_TEST(test_heatmap) {
  char path[512];
  sae_error e = {0};
  gsl_matrix *a = gsl_matrix_alloc(7, 5), *b = gsl_matrix_alloc(30, 45);
  for (size_t i = 0; i < a->size1; i++)
    for (size_t j = 0; j < a->size2; j++)
      gsl_matrix_set(a, i, j, sin(2.385 * (double)(i * a->size2 + j)));
  for (size_t i = 0; i < b->size1; i++)
    for (size_t j = 0; j < b->size2; j++)
      gsl_matrix_set(b, i, j, 0.1 + (double)(i * j));
  sae_plot_opts o = {.title = "W1 (signed)", .xlabel = "input", .ylabel = "hidden unit"};

  snprintf(path, sizeof path, "%s/w1.png", dir);
  int rc = sae_plot_heatmap(path, a, &o, &e);
  ck_assert_msg(rc == 0, "sae_plot_heatmap: %s", e.msg);
  assert_png(path);

  snprintf(path, sizeof path, "%s/big.png", dir);
  rc = sae_plot_heatmap(path, b, NULL, &e); /* no options; large axes */
  ck_assert_msg(rc == 0, "sae_plot_heatmap: %s", e.msg);
  assert_png(path);

  gsl_matrix_set_all(a, 2.385); /* constant: a degenerate colour range */
  snprintf(path, sizeof path, "%s/const.png", dir);
  rc = sae_plot_heatmap(path, a, NULL, &e);
  ck_assert_msg(rc == 0, "sae_plot_heatmap: %s", e.msg);
  assert_png(path);
  ck_assert_int_eq(dir_entries(), 3);
  gsl_matrix_free(a);
  gsl_matrix_free(b);
}
END_TEST

START_TEST(test_available) {
  ck_assert_int_eq(sae_plot_available(), 1);
  ck_assert_int_eq(sae_plot_available(), 1); /* cached */
}
END_TEST

/* ---- errors -------------------------------------------------------------- */

START_TEST(test_missing_program) {
  char path[512];
  sae_error e = {0};
  int rc;
  setenv("SAELAB_GNUPLOT", "/nonexistent", 1);
  ck_assert_int_eq(sae_plot_available(), 0); /* the override is honoured, cache or not */
  snprintf(path, sizeof path, "%s/cost.png", dir);
  draw_lines(path, &e, &rc);
  ck_assert_int_eq(rc, SAE_EIO);
  ck_assert_int_eq(e.code, SAE_EIO);
  ck_assert_msg(strstr(e.msg, "gnuplot") != NULL, "message: %s", e.msg);
  ck_assert_ptr_null(strchr(e.msg, '\n'));
  ck_assert_int_eq(dir_entries(), 0);

  gsl_matrix *a = gsl_matrix_alloc(3, 4);
  gsl_matrix_set_all(a, 2.385);
  snprintf(path, sizeof path, "%s/w1.png", dir);
  rc = sae_plot_heatmap(path, a, NULL, &e);
  gsl_matrix_free(a);
  ck_assert_int_eq(rc, SAE_EIO);
  ck_assert_msg(strstr(e.msg, "gnuplot") != NULL, "message: %s", e.msg);
  ck_assert_int_eq(dir_entries(), 0);
}
END_TEST

START_TEST(test_missing_on_path) {
  char path[512];
  sae_error e = {0};
  int rc;
  char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
  setenv("PATH", dir, 1); /* an empty directory: no gnuplot there */
  snprintf(path, sizeof path, "%s/cost.png", dir);
  draw_lines(path, &e, &rc);
  if (old) setenv("PATH", old, 1);
  free(old);
  ck_assert_int_eq(rc, SAE_EIO);
  ck_assert_str_eq(e.msg, "gnuplot not found on PATH: install the Debian package gnuplot-nox");
  ck_assert_int_eq(dir_entries(), 0);
}
END_TEST

/* A "gnuplot" that fails: the exit status is reported, the tmp file removed. */
START_TEST(test_program_fails) {
  char path[512];
  sae_error e = {0};
  int rc;
  setenv("SAELAB_GNUPLOT", "false", 1);
  snprintf(path, sizeof path, "%s/cost.png", dir);
  draw_lines(path, &e, &rc);
  ck_assert_int_eq(rc, SAE_EIO);
  ck_assert_msg(strstr(e.msg, "gnuplot failed (exit 1) drawing cost.png") == e.msg,
                "message: %s", e.msg);
  ck_assert_int_eq(dir_entries(), 0);
}
END_TEST

/* A "gnuplot" that exits 0 without reading: the writes hit a closed pipe
 * (SIGPIPE must not kill us; the matrix is larger than a pipe buffer) and no
 * image is produced. */
START_TEST(test_program_stops_reading) {
  char path[512];
  sae_error e = {0};
  gsl_matrix *a = gsl_matrix_alloc(300, 300);
  gsl_matrix_set_all(a, 2.385);
  setenv("SAELAB_GNUPLOT", "true", 1);
  snprintf(path, sizeof path, "%s/w1.png", dir);
  int rc = sae_plot_heatmap(path, a, NULL, &e);
  gsl_matrix_free(a);
  ck_assert_int_eq(rc, SAE_EIO);
  ck_assert_msg(strstr(e.msg, "gnuplot failed") == e.msg, "message: %s", e.msg);
  ck_assert_int_eq(dir_entries(), 0);
}
END_TEST

/* gnuplot itself refuses the data: its complaint is quoted in the message. */
START_TEST(test_gnuplot_complains) {
  char path[512];
  sae_error e = {0};
  double y[3] = {NAN, NAN, NAN};
  sae_plot_series s = {.title = "diverged", .y = y, .n = 3};
  snprintf(path, sizeof path, "%s/cost.png", dir);
  int rc = sae_plot_lines(path, &s, 1, NULL, &e);
  ck_assert_int_eq(rc, SAE_EIO);
  ck_assert_msg(strstr(e.msg, "gnuplot failed (exit 1) drawing cost.png: ") == e.msg,
                "message: %s", e.msg);
  ck_assert_msg(strstr(e.msg, "undefined") != NULL, "message: %s", e.msg);
  ck_assert_int_eq(dir_entries(), 0);
}
END_TEST

START_TEST(test_bad_directory) {
  sae_error e = {0};
  int rc;
  draw_lines("/nonexistent-dir/cost.png", &e, &rc);
  ck_assert_int_eq(rc, SAE_EIO);
  ck_assert_msg(strstr(e.msg, "cost.png") != NULL, "message: %s", e.msg);
}
END_TEST

START_TEST(test_bad_arguments) {
  char path[512];
  sae_error e = {0};
  double y[2] = {1, 2};
  sae_plot_series s[2] = {{.title = "a", .y = y, .n = 2}, {.title = "empty", .y = y, .n = 0}};
  sae_plot_opts o = {.width = -3};
  snprintf(path, sizeof path, "%s/cost.png", dir);
  ck_assert_int_eq(sae_plot_lines(path, s, 0, NULL, &e), SAE_EDATA);
  ck_assert_int_eq(sae_plot_lines(path, s, 2, NULL, &e), SAE_EDATA);
  ck_assert_msg(strstr(e.msg, "series 2 (empty)") != NULL, "message: %s", e.msg);
  ck_assert_int_eq(sae_plot_lines(path, s, 1, &o, &e), SAE_EHPARAM);
  ck_assert_int_eq(sae_plot_lines(NULL, s, 1, NULL, &e), SAE_EIO);
  gsl_matrix *a = gsl_matrix_alloc(1, 1);
  gsl_matrix_view v = gsl_matrix_submatrix(a, 0, 0, 1, 1);
  v.matrix.size2 = 0;
  ck_assert_int_eq(sae_plot_heatmap(path, &v.matrix, NULL, &e), SAE_EDATA);
  gsl_matrix_free(a);
  ck_assert_int_eq(dir_entries(), 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("plot");
  int available = sae_plot_available();
  TCase *tc;

  if (available) {
    tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_available);
    tcase_add_test(tc, test_lines);
    tcase_add_test(tc, test_heatmap);
    suite_add_tcase(s, tc);
  }

  tc = tcase_create("errors");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, test_missing_program);
  tcase_add_test(tc, test_missing_on_path);
  tcase_add_test(tc, test_program_fails);
  tcase_add_test(tc, test_program_stops_reading);
  if (available) {
    tcase_add_test(tc, test_gnuplot_complains);
    tcase_add_test(tc, test_bad_directory);
  }
  tcase_add_test(tc, test_bad_arguments);
  suite_add_tcase(s, tc);

  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  if (failed) return EXIT_FAILURE;
  if (!available) {
    fprintf(stderr, "check_plot: gnuplot with pngcairo not available: drawing tests skipped\n");
    return 77;
  }
  return EXIT_SUCCESS;
}
