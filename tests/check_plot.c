/* check_plot.c -- the gnuplot pipe: figures drawn, failures reported, nothing
 * half-written left on disk; and the filter mosaic of display.h (TCase
 * "display", no gnuplot needed).
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

#include "display.h"
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
  /* no temporary file beside it (atomic_write.h names them PATH.tmp.PID.N) */
  const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  snprintf(tmp, sizeof tmp, "%s.tmp", base);
  DIR *d = opendir(dir);
  struct dirent *de;
  while (d && (de = readdir(d)))
    ck_assert_msg(strncmp(de->d_name, tmp, strlen(tmp)) != 0, "%s left behind", de->d_name);
  if (d) closedir(d);
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

/* Width and height from a PNG's IHDR chunk (bytes 16..23, big-endian). */
static void png_size(const char *path, unsigned *w, unsigned *h) {
  unsigned char b[24];
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fread(b, 1, 24, f), 24);
  fclose(f);
  *w = (unsigned)b[16] << 24 | (unsigned)b[17] << 16 | (unsigned)b[18] << 8 | b[19];
  *h = (unsigned)b[20] << 24 | (unsigned)b[21] << 16 | (unsigned)b[22] << 8 | b[23];
}

/* A mosaic in grey image mode; the size follows the matrix when not given. */
START_TEST(test_grid_image) {
  char path[512];
  sae_error e = {0};
  unsigned w, h;
  gsl_matrix *a = gsl_matrix_alloc(5, 12), *mosaic = NULL;
  for (size_t k = 0; k < a->size1; k++)
    for (size_t p = 0; p < a->size2; p++)
      gsl_matrix_set(a, k, p, sin(2.385 * (double)(k + 1) * (double)(p + 1)));
  ck_assert_int_eq(sae_display_grid(a, 3, 4, 0, SAE_DISPLAY_EACH, &mosaic, &e), 0);
  ck_assert_uint_eq(mosaic->size1, 7);  /* 2 rows of 3-pixel tiles, 1 border */
  ck_assert_uint_eq(mosaic->size2, 14); /* 3 columns of 4-pixel tiles, 2 borders */

  sae_plot_opts o = {.image = 1, .cbmin = -1, .cbmax = 1};
  snprintf(path, sizeof path, "%s/filters.png", dir);
  int rc = sae_plot_heatmap(path, mosaic, &o, &e);
  ck_assert_msg(rc == 0, "sae_plot_heatmap (image): %s", e.msg);
  assert_png(path);
  png_size(path, &w, &h);
  ck_assert_uint_eq(w, 14 * 8); /* 8 px per entry: the most allowed */
  ck_assert_uint_eq(h, 7 * 8);

  o.title = "Filters 'W1'";
  snprintf(path, sizeof path, "%s/titled.png", dir);
  rc = sae_plot_heatmap(path, mosaic, &o, &e);
  ck_assert_msg(rc == 0, "sae_plot_heatmap (image, title): %s", e.msg);
  assert_png(path);
  png_size(path, &w, &h);
  ck_assert_uint_eq(w, 14 * 8);
  ck_assert_uint_gt(h, 7 * 8); /* room for the title */

  gsl_matrix *big = gsl_matrix_alloc(405, 405); /* 196 filters of 28 x 28 */
  gsl_matrix_set_all(big, 0.5);
  sae_plot_opts ob = {.image = 1};
  snprintf(path, sizeof path, "%s/big.png", dir);
  rc = sae_plot_heatmap(path, big, &ob, &e);
  ck_assert_msg(rc == 0, "sae_plot_heatmap (image, constant): %s", e.msg);
  png_size(path, &w, &h);
  ck_assert_uint_eq(w, 405 * 2); /* 1200 / 405 -> 2 px per entry */
  ck_assert_uint_eq(h, 405 * 2);
  ck_assert_int_eq(dir_entries(), 3);
  gsl_matrix_free(big);
  gsl_matrix_free(mosaic);
  gsl_matrix_free(a);
}
END_TEST

/* ---- display: the mosaic ---------------------------------------------------- */

/* SAE_DISPLAY_NONE, 3 images of 2 x 3 in 2 columns: every entry by hand.
 * Image k, pixel (r, c) = 10 k + 3 r + c + 0.385, except image 0 pixel 0 =
 * -2.385, the minimum, which the borders and the empty 4th slot take. */
START_TEST(test_grid_none) {
  sae_error e = {0};
  gsl_matrix *a = gsl_matrix_alloc(3, 6), *M = NULL;
  for (size_t k = 0; k < 3; k++)
    for (size_t p = 0; p < 6; p++) gsl_matrix_set(a, k, p, 10.0 * k + p + 0.385);
  gsl_matrix_set(a, 0, 0, -2.385);
  ck_assert_int_eq(sae_display_grid(a, 2, 3, 2, SAE_DISPLAY_NONE, &M, &e), 0);
  ck_assert_uint_eq(M->size1, 5); /* 2 * 2 + 1 */
  ck_assert_uint_eq(M->size2, 7); /* 2 * 3 + 1 */
  const double B = -2.385, x = 0.385;
  const double want[5][7] = {
      {B, 1 + x, 2 + x, B, 10 + x, 11 + x, 12 + x},
      {3 + x, 4 + x, 5 + x, B, 13 + x, 14 + x, 15 + x},
      {B, B, B, B, B, B, B},
      {20 + x, 21 + x, 22 + x, B, B, B, B},
      {23 + x, 24 + x, 25 + x, B, B, B, B},
  };
  for (size_t i = 0; i < 5; i++)
    for (size_t j = 0; j < 7; j++)
      ck_assert_msg(gsl_matrix_get(M, i, j) == want[i][j], "M[%zu][%zu] = %g, want %g", i, j,
                    gsl_matrix_get(M, i, j), want[i][j]);
  gsl_matrix_free(M);
  gsl_matrix_free(a);
}
END_TEST

/* SAE_DISPLAY_EACH, as display_network.m: A = [1 3; 2 -4] as two 1 x 2
 * images; global mean 0.5; image 1: [0.5 2.5] / 2.5 = [0.2 1], image 2:
 * [1.5 -4.5] / 4.5 = [1/3 -1]; border -1.  Default cols = ceil(sqrt(2)) = 2. */
START_TEST(test_grid_each) {
  sae_error e = {0};
  gsl_matrix *a = gsl_matrix_alloc(2, 2), *M = NULL;
  gsl_matrix_set(a, 0, 0, 1);
  gsl_matrix_set(a, 0, 1, 3);
  gsl_matrix_set(a, 1, 0, 2);
  gsl_matrix_set(a, 1, 1, -4);
  ck_assert_int_eq(sae_display_grid(a, 1, 2, 0, SAE_DISPLAY_EACH, &M, &e), 0);
  ck_assert_uint_eq(M->size1, 1);
  ck_assert_uint_eq(M->size2, 5);
  const double want[5] = {0.2, 1.0, -1.0, 1.0 / 3.0, -1.0};
  for (size_t j = 0; j < 5; j++)
    ck_assert_double_eq_tol(gsl_matrix_get(M, 0, j), want[j], 1e-15);
  gsl_matrix_free(M);

  /* A constant image (equal to the mean) stays 0 instead of 0/0. */
  gsl_matrix_set_all(a, 2.385);
  ck_assert_int_eq(sae_display_grid(a, 1, 2, 0, SAE_DISPLAY_EACH, &M, &e), 0);
  const double flat[5] = {0, 0, -1, 0, 0};
  for (size_t j = 0; j < 5; j++) ck_assert_double_eq(gsl_matrix_get(M, 0, j), flat[j]);
  gsl_matrix_free(M);
  gsl_matrix_free(a);
}
END_TEST

/* Per-tile contrast: two images with very different scales both reach |1|. */
START_TEST(test_grid_each_per_tile) {
  sae_error e = {0};
  gsl_matrix *a = gsl_matrix_alloc(2, 4), *M = NULL;
  for (size_t p = 0; p < 4; p++) {
    gsl_matrix_set(a, 0, p, 1e-3 * ((double)p - 1.5));  /* tiny, mean 0 */
    gsl_matrix_set(a, 1, p, 2.385 * ((double)p - 1.5)); /* large, mean 0 */
  }
  ck_assert_int_eq(sae_display_grid(a, 2, 2, 1, SAE_DISPLAY_EACH, &M, &e), 0);
  ck_assert_uint_eq(M->size1, 5); /* one column: 2 + 1 + 2 rows */
  ck_assert_uint_eq(M->size2, 2);
  for (size_t t = 0; t < 2; t++) { /* both tiles: -1, -1/3, 1/3, 1 */
    ck_assert_double_eq_tol(gsl_matrix_get(M, 3 * t, 0), -1.0, 1e-12);
    ck_assert_double_eq_tol(gsl_matrix_get(M, 3 * t, 1), -1.0 / 3.0, 1e-12);
    ck_assert_double_eq_tol(gsl_matrix_get(M, 3 * t + 1, 0), 1.0 / 3.0, 1e-12);
    ck_assert_double_eq_tol(gsl_matrix_get(M, 3 * t + 1, 1), 1.0, 1e-12);
  }
  ck_assert_double_eq(gsl_matrix_get(M, 2, 0), -1.0);
  ck_assert_double_eq(gsl_matrix_get(M, 2, 1), -1.0);
  gsl_matrix_free(M);
  gsl_matrix_free(a);
}
END_TEST

/* Tile counts: default columns ceil(sqrt(n)); cols > n means n; one image. */
START_TEST(test_grid_layout) {
  sae_error e = {0};
  gsl_matrix *a = gsl_matrix_alloc(5, 4), *M = NULL;
  gsl_matrix_set_all(a, 2.385);
  ck_assert_int_eq(sae_display_grid(a, 2, 2, 0, SAE_DISPLAY_NONE, &M, &e), 0);
  ck_assert_uint_eq(M->size1, 2 * 2 + 1); /* 3 columns, 2 rows */
  ck_assert_uint_eq(M->size2, 3 * 2 + 2);
  gsl_matrix_free(M);
  ck_assert_int_eq(sae_display_grid(a, 2, 2, 9, SAE_DISPLAY_NONE, &M, &e), 0);
  ck_assert_uint_eq(M->size1, 2);
  ck_assert_uint_eq(M->size2, 5 * 2 + 4);
  gsl_matrix_free(M);
  gsl_matrix_view one = gsl_matrix_submatrix(a, 0, 0, 1, 4);
  ck_assert_int_eq(sae_display_grid(&one.matrix, 4, 1, 0, SAE_DISPLAY_NONE, &M, &e), 0);
  ck_assert_uint_eq(M->size1, 4); /* the image itself, no border */
  ck_assert_uint_eq(M->size2, 1);
  gsl_matrix_free(M);
  gsl_matrix_free(a);
}
END_TEST

START_TEST(test_grid_errors) {
  sae_error e = {0};
  gsl_matrix *a = gsl_matrix_alloc(3, 6), *M = a; /* M must come back NULL */
  gsl_matrix_set_all(a, 2.385);
  ck_assert_int_eq(sae_display_grid(a, 2, 2, 0, SAE_DISPLAY_EACH, &M, &e), SAE_ESHAPE);
  ck_assert_ptr_null(M);
  ck_assert_msg(strstr(e.msg, "2 x 2 pixels need 4 columns, the matrix has 6") != NULL,
                "message: %s", e.msg);
  ck_assert_int_eq(sae_display_grid(a, 0, 6, 0, SAE_DISPLAY_EACH, &M, &e), SAE_ESHAPE);
  ck_assert_int_eq(sae_display_grid(a, 6, 0, 0, SAE_DISPLAY_EACH, &M, &e), SAE_ESHAPE);
  ck_assert_int_eq(sae_display_grid(a, (size_t)1 << 62, 4, 0, SAE_DISPLAY_EACH, &M, &e),
                   SAE_ESHAPE); /* h * w overflows */
  ck_assert_int_eq(sae_display_grid(a, 2, 3, 0, 7, &M, &e), SAE_EHPARAM);
  ck_assert_int_eq(sae_display_grid(NULL, 2, 3, 0, SAE_DISPLAY_EACH, &M, &e), SAE_EDATA);
  ck_assert_int_eq(sae_display_grid(a, 2, 3, 0, SAE_DISPLAY_EACH, NULL, &e), SAE_EDATA);
  ck_assert_ptr_null(M);
  gsl_matrix_free(a);
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
    tcase_add_test(tc, test_grid_image);
    suite_add_tcase(s, tc);
  }

  tc = tcase_create("display");
  tcase_add_test(tc, test_grid_none);
  tcase_add_test(tc, test_grid_each);
  tcase_add_test(tc, test_grid_each_per_tile);
  tcase_add_test(tc, test_grid_layout);
  tcase_add_test(tc, test_grid_errors);
  suite_add_tcase(s, tc);

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
