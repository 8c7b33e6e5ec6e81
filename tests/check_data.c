/* check_data.c -- the data readers and image preprocessing (src/idx.c,
 * images.c, whiten.c, patches.c) and their Lua bindings (src/lsae_data.c).
 *
 * Every fixture is small and written by the test itself into a mkdtemp
 * directory: IDX image and label files (plain, gzipped, gzipped twice,
 * truncated, with trailing bytes, the wrong magic), PNGs written with libpng
 * (8-bit grey, 8-bit RGB, 16-bit grey, grey + alpha, 2-bit palette,
 * truncated, corrupt),
 * .mat files written with matio, raw big-endian float32 images.
 *
 * core:   values read back exactly; whitening of sinusoids scales each by
 *         the filter's gain at its frequency; patches come from where the
 *         seeded draws say; normalisation against hand-computed values;
 *         the Lua functions; Olshausen's image0 when SAE_OLSHAUSEN_DIR (or
 *         ../shared/data/ufldl/olshausen_trainset) has it (skipped otherwise).
 * limits: limits larger than the file, 1-pixel images, odd and non-square
 *         whitening, a patch as large as the image, clipping in normalisation.
 * errors: every error condition, each a one-line message naming the file,
 *         what was expected and what was found. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkdtemp, setenv under -std=c11 */
#endif
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <gsl/gsl_statistics_double.h>
#include <lualib.h>
#include <matio.h>
#include <png.h>
#include <zlib.h>
#include "data.h"
#include "lsae.h"

static char dir[] = "/tmp/check_data-XXXXXX";
static char pathbuf[8][512];
static int pathnext;

/* dir/name (a few live at once). */
static const char *fx(const char *name) {
  char *p = pathbuf[pathnext++ % 8];
  snprintf(p, 512, "%s/%s", dir, name);
  return p;
}

static void write_bytes(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(p, 1, n, f), n);
  ck_assert_int_eq(fclose(f), 0);
}

static void write_gz(const char *path, const void *p, size_t n) {
  gzFile g = gzopen(path, "wb");
  ck_assert_ptr_nonnull(g);
  ck_assert_int_eq(gzwrite(g, p, (unsigned)n), (int)n);
  ck_assert_int_eq(gzclose(g), Z_OK);
}

static unsigned char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  rewind(f);
  unsigned char *p = malloc(*n ? *n : 1);
  ck_assert_uint_eq(fread(p, 1, *n, f), *n);
  fclose(f);
  return p;
}

static void put_be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

/* The IDX fixtures: 3 images of 2 x 3, 5 labels. */
enum { IMG_N = 3, IMG_R = 2, IMG_C = 3, IMG_BYTES = 16 + IMG_N * IMG_R * IMG_C };
static unsigned char img_file[IMG_BYTES];
static const unsigned char lab_values[5] = {7, 2, 1, 0, 9};
static unsigned char lab_file[8 + 5];

static unsigned char pixel(size_t i, size_t j) { return (unsigned char)((i * 97 + j * 41 + 3) % 256); }

static void make_idx(void) {
  put_be32(img_file, 0x00000803);
  put_be32(img_file + 4, IMG_N);
  put_be32(img_file + 8, IMG_R);
  put_be32(img_file + 12, IMG_C);
  for (size_t i = 0; i < IMG_N; i++)
    for (size_t j = 0; j < IMG_R * IMG_C; j++) img_file[16 + i * IMG_R * IMG_C + j] = pixel(i, j);
  put_be32(lab_file, 0x00000801);
  put_be32(lab_file + 4, 5);
  memcpy(lab_file + 8, lab_values, 5);
  write_bytes(fx("img"), img_file, IMG_BYTES);
  write_gz(fx("img.gz"), img_file, IMG_BYTES);
  write_bytes(fx("lab"), lab_file, sizeof lab_file);
  write_gz(fx("lab.gz"), lab_file, sizeof lab_file);
  write_bytes(fx("img.short"), img_file, 26);
  write_gz(fx("img.short.gz"), img_file, 26);
  write_bytes(fx("lab.short"), lab_file, 10);
  write_bytes(fx("hdr.short"), img_file, 10);
  write_bytes(fx("tiny"), img_file, 3);
  unsigned char longer[IMG_BYTES + 5];
  memcpy(longer, img_file, IMG_BYTES);
  memset(longer + IMG_BYTES, 0xab, 5);
  write_bytes(fx("img.long"), longer, sizeof longer);
  size_t n;
  unsigned char *gz = slurp(fx("img.gz"), &n);
  write_gz(fx("img.gz.gz"), gz, n);       /* gzipped twice: one layer left after gzread */
  write_bytes(fx("img.gz.cut"), gz, n / 2); /* a gzip stream cut in the middle */
  free(gz);
  unsigned char zero_n[16];
  memcpy(zero_n, img_file, 16);
  put_be32(zero_n + 4, 0);
  write_bytes(fx("img.empty"), zero_n, 16);
  unsigned char ndim2[16];
  memcpy(ndim2, img_file, 16);
  put_be32(ndim2, 0x00000802);
  write_bytes(fx("img.ndim2"), ndim2, 16);
}

/* PNG fixtures, written with libpng. */
static const png_color palette[4] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};

static void write_png(const char *path, unsigned w, unsigned h, int color, int depth,
                      const unsigned char *data, size_t rowbytes) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png_create_info_struct(png);
  ck_assert_ptr_nonnull(info);
  if (setjmp(png_jmpbuf(png))) ck_abort_msg("libpng failed writing %s", path);
  png_init_io(png, f);
  png_set_IHDR(png, info, w, h, depth, color, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_PLTE(png, info, palette, 4);
  png_write_info(png, info);
  for (unsigned r = 0; r < h; r++) png_write_row(png, data + r * rowbytes);
  png_write_end(png, NULL);
  png_destroy_write_struct(&png, &info);
  fclose(f);
}

static const unsigned char grey8[2][3] = {{0, 17, 255}, {128, 201, 64}};
static const unsigned char rgb8[2][2][3] = {{{255, 0, 0}, {0, 255, 0}}, {{0, 0, 255}, {10, 200, 77}}};
static const unsigned char grey16[1][4] = {{0x12, 0x34, 0xff, 0xfe}}; /* 2 pixels */
static const unsigned char ga8[1][4] = {{90, 0, 180, 255}};           /* grey, alpha x 2 */

static void make_png(void) {
  write_png(fx("grey8.png"), 3, 2, PNG_COLOR_TYPE_GRAY, 8, &grey8[0][0], 3);
  write_png(fx("rgb8.png"), 2, 2, PNG_COLOR_TYPE_RGB, 8, &rgb8[0][0][0], 6);
  write_png(fx("grey16.png"), 2, 1, PNG_COLOR_TYPE_GRAY, 16, &grey16[0][0], 4);
  write_png(fx("ga8.png"), 2, 1, PNG_COLOR_TYPE_GRAY_ALPHA, 8, &ga8[0][0], 4);
  const unsigned char pal2[1] = {0x1b}; /* 2-bit indices 0, 1, 2, 3 */
  write_png(fx("pal2.png"), 4, 1, PNG_COLOR_TYPE_PALETTE, 2, pal2, 1);
  size_t n;
  unsigned char *p = slurp(fx("grey8.png"), &n);
  write_bytes(fx("cut.png"), p, n - 20); /* IDAT incomplete, no IEND */
  write_bytes(fx("sig.png"), p, 5);
  /* A bit flipped inside IDAT's data: the CRC check fails. */
  unsigned char *idat = memmem(p, n, "IDAT", 4);
  ck_assert_ptr_nonnull(idat);
  idat[6] ^= 0x40;
  write_bytes(fx("crc.png"), p, n);
  free(p);
  write_bytes(fx("text.png"), "hello, not a png\n", 17);
}

/* .mat fixtures: IMAGES 2 x 3 x 2 double (column-major), a 2 x 2 single, an int8. */
static double mat_value(size_t r, size_t c, size_t k) { return 2.385 * (double)(r + 1) - 0.5 * (double)c + 10.0 * (double)k; }

static void make_mat(void) {
  mat_t *mat = Mat_CreateVer(fx("images.mat"), NULL, MAT_FT_MAT5);
  ck_assert_ptr_nonnull(mat);
  double d[2 * 3 * 2];
  for (size_t k = 0; k < 2; k++)
    for (size_t c = 0; c < 3; c++)
      for (size_t r = 0; r < 2; r++) d[r + 2 * (c + 3 * k)] = mat_value(r, c, k);
  size_t dims3[3] = {2, 3, 2}, dims2[2] = {2, 2};
  matvar_t *v = Mat_VarCreate("IMAGES", MAT_C_DOUBLE, MAT_T_DOUBLE, 3, dims3, d, 0);
  ck_assert_ptr_nonnull(v);
  ck_assert_int_eq(Mat_VarWrite(mat, v, MAT_COMPRESSION_NONE), 0);
  Mat_VarFree(v);
  float s[4] = {1.25f, -2.5f, 3.75f, 0.125f}; /* column-major: (0,0) (1,0) (0,1) (1,1) */
  v = Mat_VarCreate("a", MAT_C_SINGLE, MAT_T_SINGLE, 2, dims2, s, 0);
  ck_assert_int_eq(Mat_VarWrite(mat, v, MAT_COMPRESSION_ZLIB), 0);
  Mat_VarFree(v);
  signed char i8[4] = {1, 2, 3, 4};
  v = Mat_VarCreate("b", MAT_C_INT8, MAT_T_INT8, 2, dims2, i8, 0);
  ck_assert_int_eq(Mat_VarWrite(mat, v, MAT_COMPRESSION_NONE), 0);
  Mat_VarFree(v);
  Mat_Close(mat);
}

/* f32be fixtures: a 3 x 4 image, one with a NaN. */
static float f32_value(size_t r, size_t c) { return (float)(0.1 * (double)r - 0.37 * (double)c + 2.385); }

static void write_f32be(const char *path, size_t rows, size_t cols, int nan_at) {
  unsigned char *b = malloc(rows * cols * 4);
  for (size_t r = 0; r < rows; r++)
    for (size_t c = 0; c < cols; c++) {
      float v = (int)(r * cols + c) == nan_at ? NAN : f32_value(r, c);
      uint32_t u;
      memcpy(&u, &v, 4);
      put_be32(b + 4 * (r * cols + c), u);
    }
  write_bytes(path, b, rows * cols * 4);
  free(b);
}

static void setup(void) {
  sae_error_init();
  strcpy(dir, "/tmp/check_data-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  make_idx();
  make_png();
  make_mat();
  write_f32be(fx("img.f32"), 3, 4, -1);
  write_f32be(fx("nan.f32"), 3, 4, 6);
}

static void teardown(void) {
  DIR *d = opendir(dir);
  struct dirent *de;
  char path[600];
  while (d && (de = readdir(d))) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    remove(path);
  }
  if (d) closedir(d);
  rmdir(dir);
}

/* The error is code and one line containing every one of the parts. */
static void assert_error(int rc, const sae_error *e, int code, const char *part1,
                         const char *part2) {
  ck_assert_msg(rc == code, "status %d (%s), %d expected", rc, e->msg, code);
  ck_assert_msg(e->code == code, "e->code %d, %d expected", e->code, code);
  ck_assert_msg(strchr(e->msg, '\n') == NULL, "not one line: %s", e->msg);
  ck_assert_msg(strstr(e->msg, part1), "\"%s\" not in: %s", part1, e->msg);
  ck_assert_msg(!part2 || strstr(e->msg, part2), "\"%s\" not in: %s", part2, e->msg);
}

/* ---- IDX ---------------------------------------------------------------- */

static void check_images(const gsl_matrix *X, size_t m) {
  ck_assert_uint_eq(X->size1, m);
  ck_assert_uint_eq(X->size2, IMG_R * IMG_C);
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < IMG_R * IMG_C; j++)
      ck_assert_double_eq(gsl_matrix_get(X, i, j), pixel(i, j) / 255.0);
}

START_TEST(test_idx_images) {
  static const char *names[] = {"img", "img.gz"};
  for (int t = 0; t < 2; t++) {
    gsl_matrix *X = NULL;
    size_t r = 0, c = 0;
    sae_error e = {0, ""};
    ck_assert_int_eq(sae_idx_read_images(fx(names[t]), 0, &X, &r, &c, &e), 0);
    ck_assert_uint_eq(r, IMG_R);
    ck_assert_uint_eq(c, IMG_C);
    check_images(X, IMG_N);
    gsl_matrix_free(X);
    ck_assert_int_eq(sae_idx_read_images(fx(names[t]), 2, &X, &r, &c, &e), 0);
    check_images(X, 2);
    gsl_matrix_free(X);
  }
}
END_TEST

START_TEST(test_idx_labels) {
  static const char *names[] = {"lab", "lab.gz"};
  for (int t = 0; t < 2; t++) {
    unsigned char *lab = NULL;
    size_t n = 0;
    sae_error e = {0, ""};
    ck_assert_int_eq(sae_idx_read_labels(fx(names[t]), 0, &lab, &n, &e), 0);
    ck_assert_uint_eq(n, 5);
    ck_assert_mem_eq(lab, lab_values, 5);
    free(lab);
    ck_assert_int_eq(sae_idx_read_labels(fx(names[t]), 3, &lab, &n, &e), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_mem_eq(lab, lab_values, 3);
    free(lab);
  }
}
END_TEST

START_TEST(test_idx_limit_beyond) {
  gsl_matrix *X = NULL;
  size_t r, c, n;
  unsigned char *lab;
  sae_error e = {0, ""};
  ck_assert_int_eq(sae_idx_read_images(fx("img.gz"), 1000, &X, &r, &c, &e), 0);
  check_images(X, IMG_N);
  gsl_matrix_free(X);
  ck_assert_int_eq(sae_idx_read_labels(fx("lab"), 6, &lab, &n, &e), 0);
  ck_assert_uint_eq(n, 5);
  free(lab);
}
END_TEST

START_TEST(test_idx_errors) {
  gsl_matrix *X = (gsl_matrix *)&X; /* must come back NULL */
  size_t r, c, n;
  unsigned char *lab = (unsigned char *)&lab;
  sae_error e = {0, ""};
  int rc = sae_idx_read_images(fx("img.short"), 0, &X, &r, &c, &e);
  assert_error(rc, &e, SAE_EDATA, "img.short: truncated: 34 bytes expected, 26 found", NULL);
  ck_assert_ptr_null(X);
  /* A limit does not hide a truncated file. */
  rc = sae_idx_read_images(fx("img.short"), 1, &X, &r, &c, &e);
  assert_error(rc, &e, SAE_EDATA, "truncated: 34 bytes expected, 26 found", NULL);
  rc = sae_idx_read_images(fx("img.short.gz"), 0, &X, &r, &c, &e);
  assert_error(rc, &e, SAE_EDATA, "truncated: 34 bytes expected, 26 found (decompressed)", NULL);
  rc = sae_idx_read_images(fx("img.long"), 0, &X, &r, &c, &e);
  assert_error(rc, &e, SAE_EDATA, "34 bytes expected, 39 found", "trailing garbage");
  rc = sae_idx_read_images(fx("img.gz.gz"), 0, &X, &r, &c, &e);
  assert_error(rc, &e, SAE_EDATA, "IDX magic 0x00000803 expected, got 0x1f8b08",
               "is the file still gzipped?");
  rc = sae_idx_read_images(fx("lab"), 0, &X, &r, &c, &e);
  assert_error(rc, &e, SAE_EDATA, "got 0x00000801: this is a label file", NULL);
  rc = sae_idx_read_labels(fx("img"), 0, &lab, &n, &e);
  assert_error(rc, &e, SAE_EDATA, "IDX magic 0x00000801 expected, got 0x00000803", "image file");
  ck_assert_ptr_null(lab);
  rc = sae_idx_read_images(fx("img.ndim2"), 0, &X, &r, &c, &e);
  assert_error(rc, &e, SAE_EDATA, "got 0x00000802", "dimensions");
  rc = sae_idx_read_images(fx("hdr.short"), 0, &X, &r, &c, &e);
  assert_error(rc, &e, SAE_EDATA, "truncated: IDX header of 16 bytes expected, 10 found", NULL);
  rc = sae_idx_read_images(fx("tiny"), 0, &X, &r, &c, &e);
  assert_error(rc, &e, SAE_EDATA, "tiny: truncated", NULL);
  rc = sae_idx_read_images(fx("img.empty"), 0, &X, &r, &c, &e);
  assert_error(rc, &e, SAE_EDATA, "empty", NULL);
  rc = sae_idx_read_labels(fx("lab.short"), 0, &lab, &n, &e);
  assert_error(rc, &e, SAE_EDATA, "lab.short: truncated: 13 bytes expected, 10 found", NULL);
  rc = sae_idx_read_images(fx("img.gz.cut"), 0, &X, &r, &c, &e);
  ck_assert_msg(rc == SAE_EDATA || rc == SAE_EIO, "status %d: %s", rc, e.msg);
  ck_assert_msg(strstr(e.msg, "img.gz.cut: ") && !strchr(e.msg, '\n'), "%s", e.msg);
  rc = sae_idx_read_images(fx("missing"), 0, &X, &r, &c, &e);
  assert_error(rc, &e, SAE_EIO, "missing: cannot open: No such file", NULL);
  ck_assert_ptr_null(X);
}
END_TEST

/* ---- inputs the fuzzers found (tests/fuzz/regress/) ---------------------- */

/* tests/fuzz/regress/NAME, from the source tree. */
static const char *regress(const char *name) {
  static char p[1024];
  const char *top = getenv("top_srcdir");
  snprintf(p, sizeof p, "%s/tests/fuzz/regress/%s", top ? top : ".", name);
  return p;
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* Address space limited to what the process has plus 256 MiB, so a reader
 * that believes a header's size (gigabytes for a 20-byte file) fails
 * instead of allocating it.  Not under ASan, whose shadow memory needs a
 * vast address space (ASan refuses huge allocations itself). */
static void limit_memory(void) {
#ifndef UNDER_ASAN
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  unsigned long kb = 0;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmSize: %lu kB", &kb) == 1) break;
  if (f) fclose(f);
  ck_assert_uint_gt(kb, 0);
  struct rlimit rl;
  ck_assert_int_eq(getrlimit(RLIMIT_AS, &rl), 0);
  rl.rlim_cur = (rlim_t)(kb + 256 * 1024) * 1024;
  ck_assert_int_eq(setrlimit(RLIMIT_AS, &rl), 0);
#endif
}

/* A header claiming 2^31 x 65535 x 28 images (the file has 20 bytes), and one
 * claiming 2^32 - 1 labels: the readers allocated the header's size before
 * reading (gigabytes; out of memory, or ASan's refusal).  Now they read the
 * file first and say it is truncated. */
START_TEST(test_idx_fuzz_sizes) {
  gsl_matrix *X = NULL;
  unsigned char *lab = NULL;
  size_t r, c, n;
  sae_error e = {0, ""};
  limit_memory();
  int rc = sae_idx_read_images(regress("idx_images-huge-dims"), 0, &X, &r, &c, &e);
  assert_error(rc, &e, SAE_EDATA, "truncated: 3940469287157776 bytes expected, 36 found", NULL);
  ck_assert_ptr_null(X);
  rc = sae_idx_read_labels(regress("idx_labels-huge-count"), 0, &lab, &n, &e);
  assert_error(rc, &e, SAE_EDATA, "truncated: 4294967303 bytes expected, 12 found", NULL);
  ck_assert_ptr_null(lab);
}
END_TEST

/* Sizes in .mat headers that matio believed (tests/fuzz/fuzz_mat).
 * Not MAT 5, so matio read it as MAT 4 and malloc'ed the first variable's
 * namlen (1.3 GB) from a 292-byte file.  The MAT 4 headers are checked
 * first (here imagf is neither 0 nor 1), and their sizes against the file. */
START_TEST(test_mat_fuzz_sizes) {
  gsl_matrix **imgs = NULL;
  size_t n = 0;
  sae_error e = {0, ""};
  limit_memory();
  int rc = sae_mat_read(regress("mat-v4-namlen"), "IMAGES", &imgs, &n, &e);
  assert_error(rc, &e, SAE_EDATA, "no MAT 5 header; as MAT 4, variable 1 at byte 0 has a bad "
               "header", NULL);
  ck_assert_ptr_null(imgs);
  /* A sane MAT 4 header whose sizes lie: 100000 x 100000 doubles in 59 bytes. */
  int32_t h[5] = {0, 100000, 100000, 0, 7};
  unsigned char buf[59];
  double v[4] = {1, 2, 3, 4};
  memcpy(buf, h, 20);
  memcpy(buf + 20, "IMAGES", 7);
  memcpy(buf + 27, v, 32);
  write_bytes(fx("v4.lie"), buf, sizeof buf);
  rc = sae_mat_read(fx("v4.lie"), "IMAGES", &imgs, &n, &e);
  assert_error(rc, &e, SAE_EDATA, "as MAT 4, variable 1 at byte 0 needs 80000000027 bytes "
               "(100000 x 100000), the file has 59 left", NULL);
  /* MAT 5 whose dimensions element claims 2.6 GB inside an 88-byte array:
   * matio malloc'ed it (5.3 GB with its copy). */
  rc = sae_mat_read(regress("mat-v5-dims-nbytes"), "IMAGES", &imgs, &n, &e);
  assert_error(rc, &e, SAE_EDATA, "not a valid MAT file: an element larger than its array "
               "(variable at byte 128)", NULL);
  /* MAT 5's "IM" but version 0x0000: matio reads that as MAT 4 (name length
   * "MATL", 1.3 GB); so does the check now. */
  rc = sae_mat_read(regress("mat-version0-v4"), "IMAGES", &imgs, &n, &e);
  assert_error(rc, &e, SAE_EDATA, "as MAT 4, variable 1 at byte 0 needs 1280590209 bytes",
               "the file has 270 left");
  /* An array flags element of 24 bytes: matio reads 16 whatever the tag says,
   * so its dimensions came from the flags' padding (111 GB). */
  rc = sae_mat_read(regress("mat-flags-nbytes"), "IMAGES", &imgs, &n, &e);
  assert_error(rc, &e, SAE_EDATA, "not a valid MAT file: bad array flags (variable at byte 128)",
               NULL);
}
END_TEST

/* ---- f32be, PNG, .mat ------------------------------------------------- */

START_TEST(test_f32be) {
  gsl_matrix *img = NULL;
  sae_error e = {0, ""};
  ck_assert_int_eq(sae_image_read_f32be(fx("img.f32"), 3, 4, &img, &e), 0);
  ck_assert_uint_eq(img->size1, 3);
  ck_assert_uint_eq(img->size2, 4);
  for (size_t r = 0; r < 3; r++)
    for (size_t c = 0; c < 4; c++) ck_assert_double_eq(gsl_matrix_get(img, r, c), f32_value(r, c));
  gsl_matrix_free(img);
  /* The same 48 bytes seen as 4 x 3 or 12 x 1 are fine too. */
  ck_assert_int_eq(sae_image_read_f32be(fx("img.f32"), 12, 1, &img, &e), 0);
  ck_assert_double_eq(gsl_matrix_get(img, 5, 0), f32_value(1, 1));
  gsl_matrix_free(img);
}
END_TEST

START_TEST(test_f32be_errors) {
  gsl_matrix *img = NULL;
  sae_error e = {0, ""};
  int rc = sae_image_read_f32be(fx("img.f32"), 4, 4, &img, &e);
  assert_error(rc, &e, SAE_EDATA, "img.f32: 64 bytes expected (4 x 4 float32), 48 found",
               "truncated");
  rc = sae_image_read_f32be(fx("img.f32"), 2, 4, &img, &e);
  assert_error(rc, &e, SAE_EDATA, "32 bytes expected (2 x 4 float32), 48 found", "header");
  rc = sae_image_read_f32be(fx("nan.f32"), 3, 4, &img, &e);
  assert_error(rc, &e, SAE_EDATA, "nan.f32: value at row 2, col 3 is nan, not finite",
               "big-endian");
  rc = sae_image_read_f32be(fx("img.f32"), 0, 4, &img, &e);
  assert_error(rc, &e, SAE_ESHAPE, "0 x 4", NULL);
  rc = sae_image_read_f32be(fx("missing"), 3, 4, &img, &e);
  assert_error(rc, &e, SAE_EIO, "cannot open", NULL);
  ck_assert_ptr_null(img);
}
END_TEST

START_TEST(test_png) {
  gsl_matrix *img = NULL;
  sae_error e = {0, ""};
  ck_assert_int_eq(sae_image_read_png(fx("grey8.png"), &img, &e), 0);
  ck_assert_uint_eq(img->size1, 2);
  ck_assert_uint_eq(img->size2, 3);
  for (size_t r = 0; r < 2; r++)
    for (size_t c = 0; c < 3; c++) ck_assert_double_eq(gsl_matrix_get(img, r, c), grey8[r][c] / 255.0);
  gsl_matrix_free(img);
  ck_assert_int_eq(sae_image_read_png(fx("rgb8.png"), &img, &e), 0);
  ck_assert_uint_eq(img->size1, 2);
  ck_assert_uint_eq(img->size2, 2);
  ck_assert_double_eq_tol(gsl_matrix_get(img, 0, 0), 0.299, 1e-15);
  ck_assert_double_eq_tol(gsl_matrix_get(img, 0, 1), 0.587, 1e-15);
  ck_assert_double_eq_tol(gsl_matrix_get(img, 1, 0), 0.114, 1e-15);
  ck_assert_double_eq_tol(gsl_matrix_get(img, 1, 1), (0.299 * 10 + 0.587 * 200 + 0.114 * 77) / 255,
                          1e-15);
  gsl_matrix_free(img);
  ck_assert_int_eq(sae_image_read_png(fx("grey16.png"), &img, &e), 0);
  ck_assert_uint_eq(img->size1, 1);
  ck_assert_uint_eq(img->size2, 2);
  ck_assert_double_eq(gsl_matrix_get(img, 0, 0), 0x1234 / 65535.0);
  ck_assert_double_eq(gsl_matrix_get(img, 0, 1), 0xfffe / 65535.0);
  gsl_matrix_free(img);
  ck_assert_int_eq(sae_image_read_png(fx("ga8.png"), &img, &e), 0); /* alpha dropped */
  ck_assert_double_eq(gsl_matrix_get(img, 0, 0), 90 / 255.0);
  ck_assert_double_eq(gsl_matrix_get(img, 0, 1), 180 / 255.0);
  gsl_matrix_free(img);
  ck_assert_int_eq(sae_image_read_png(fx("pal2.png"), &img, &e), 0); /* palette, 2 bits */
  ck_assert_uint_eq(img->size2, 4);
  ck_assert_double_eq_tol(gsl_matrix_get(img, 0, 0), 0.299, 1e-15);
  ck_assert_double_eq_tol(gsl_matrix_get(img, 0, 1), 0.587, 1e-15);
  ck_assert_double_eq_tol(gsl_matrix_get(img, 0, 2), 0.114, 1e-15);
  ck_assert_double_eq_tol(gsl_matrix_get(img, 0, 3), 1.0, 1e-15);
  gsl_matrix_free(img);
}
END_TEST

START_TEST(test_png_errors) {
  gsl_matrix *img = NULL;
  sae_error e = {0, ""};
  int rc = sae_image_read_png(fx("cut.png"), &img, &e);
  assert_error(rc, &e, SAE_EDATA, "cut.png: corrupt or truncated PNG", NULL);
  rc = sae_image_read_png(fx("crc.png"), &img, &e);
  assert_error(rc, &e, SAE_EDATA, "crc.png: corrupt or truncated PNG", NULL);
  rc = sae_image_read_png(fx("sig.png"), &img, &e);
  assert_error(rc, &e, SAE_EDATA, "sig.png: not a PNG file", NULL);
  rc = sae_image_read_png(fx("text.png"), &img, &e);
  assert_error(rc, &e, SAE_EDATA, "text.png: not a PNG file", NULL);
  rc = sae_image_read_png(fx("missing.png"), &img, &e);
  assert_error(rc, &e, SAE_EIO, "missing.png: cannot open", NULL);
  ck_assert_ptr_null(img);
}
END_TEST

START_TEST(test_mat) {
  gsl_matrix **imgs = NULL;
  size_t n = 0;
  sae_error e = {0, ""};
  ck_assert_int_eq(sae_mat_read(fx("images.mat"), "IMAGES", &imgs, &n, &e), 0);
  ck_assert_uint_eq(n, 2);
  for (size_t k = 0; k < 2; k++) {
    ck_assert_uint_eq(imgs[k]->size1, 2);
    ck_assert_uint_eq(imgs[k]->size2, 3);
    for (size_t r = 0; r < 2; r++)
      for (size_t c = 0; c < 3; c++)
        ck_assert_double_eq(gsl_matrix_get(imgs[k], r, c), mat_value(r, c, k));
  }
  sae_images_free(imgs, n);
  ck_assert_int_eq(sae_mat_read(fx("images.mat"), "a", &imgs, &n, &e), 0);
  ck_assert_uint_eq(n, 1);
  ck_assert_double_eq(gsl_matrix_get(imgs[0], 0, 1), 3.75);
  ck_assert_double_eq(gsl_matrix_get(imgs[0], 1, 0), -2.5);
  sae_images_free(imgs, n);
  sae_images_free(NULL, 3);
}
END_TEST

START_TEST(test_mat_errors) {
  gsl_matrix **imgs = NULL;
  size_t n = 0;
  sae_error e = {0, ""};
  int rc = sae_mat_read(fx("images.mat"), "B", &imgs, &n, &e);
  assert_error(rc, &e, SAE_EDATA, "images.mat: no variable 'B' (found: IMAGES, a, b)", NULL);
  rc = sae_mat_read(fx("images.mat"), "b", &imgs, &n, &e);
  assert_error(rc, &e, SAE_EDATA, "variable 'b' is int8, a double or single array expected",
               NULL);
  rc = sae_mat_read(fx("img.f32"), "IMAGES", &imgs, &n, &e);
  assert_error(rc, &e, SAE_EDATA, "img.f32: not a MATLAB .mat file", NULL);
  rc = sae_mat_read(fx("missing.mat"), "IMAGES", &imgs, &n, &e);
  assert_error(rc, &e, SAE_EIO, "missing.mat: cannot open", NULL);
  ck_assert_ptr_null(imgs);
}
END_TEST

/* ---- whitening ------------------------------------------------------------ */

static double gain(double f, double f0) { return f * exp(-pow(f / f0, 4)); }

/* img(r, c) = sum_j a_j cos(2 pi (kx_j c / cols + ky_j r / rows) + phase_j) */
static void fill_waves(gsl_matrix *img, int nw, const double *a, const double *kx,
                       const double *ky, double scale_by_gain, double f0) {
  size_t R = img->size1, C = img->size2;
  for (size_t r = 0; r < R; r++)
    for (size_t c = 0; c < C; c++) {
      double v = 0;
      for (int j = 0; j < nw; j++) {
        double g = scale_by_gain ? gain(hypot(kx[j], ky[j]), f0) : 1;
        v += g * a[j] * cos(2 * M_PI * (kx[j] * (double)c / (double)C + ky[j] * (double)r / (double)R) + 0.3 * j);
      }
      gsl_matrix_set(img, r, c, v);
    }
}

static double max_abs_diff(const gsl_matrix *a, const gsl_matrix *b) {
  double m = 0;
  for (size_t r = 0; r < a->size1; r++)
    for (size_t c = 0; c < a->size2; c++)
      m = fmax(m, fabs(gsl_matrix_get(a, r, c) - gsl_matrix_get(b, r, c)));
  return m;
}

/* Each sinusoid comes out multiplied by the filter's gain at its radial
 * frequency: 1/f-like spectra are flattened, high frequencies rolled off. */
static void check_waves(size_t R, size_t C, double frac, int nw, const double *a,
                        const double *kx, const double *ky) {
  gsl_matrix *img = gsl_matrix_alloc(R, C), *want = gsl_matrix_alloc(R, C);
  double f0 = frac * sqrt((double)R * (double)C);
  fill_waves(img, nw, a, kx, ky, 0, f0);
  fill_waves(want, nw, a, kx, ky, 1, f0);
  sae_error e = {0, ""};
  ck_assert_int_eq(sae_whiten(img, frac, &e), 0);
  double d = max_abs_diff(img, want);
  ck_assert_msg(d < 1e-10, "%zux%zu: whitened differs from the expected by %g", R, C, d);
  gsl_matrix_free(img);
  gsl_matrix_free(want);
}

START_TEST(test_whiten_waves) {
  /* 1/f amplitudes at f = 2, 5, 7.07 (a 1/f spectrum): whitening gives
   * nearly equal amplitudes below f0, each exactly gain(f) / f. */
  const double a[] = {1 / 2.0, 1 / 5.0, 1 / hypot(5, 5)};
  const double kx[] = {2, 3, 5}, ky[] = {0, 4, -5};
  check_waves(16, 16, 0.4, 3, a, kx, ky);
  check_waves(16, 16, 0.25, 3, a, kx, ky);
  const double b[] = {2.385};
  const double bx[] = {0}, by[] = {0};
  check_waves(16, 16, 0.4, 1, b, bx, by); /* a constant image whitens to 0 */
}
END_TEST

START_TEST(test_whiten_constant) {
  gsl_matrix *img = gsl_matrix_alloc(10, 10);
  gsl_matrix_set_all(img, 2.385);
  sae_error e = {0, ""};
  ck_assert_int_eq(sae_whiten(img, 0.4, &e), 0);
  ck_assert_double_le(gsl_matrix_max(img), 1e-12);
  ck_assert_double_ge(gsl_matrix_min(img), -1e-12);
  gsl_matrix_free(img);
}
END_TEST

START_TEST(test_whiten_shapes) {
  const double a[] = {1.5, -0.75};
  const double kx[] = {2, 3}, ky[] = {1, -3}; /* |k| within every side's band: no aliasing */
  check_waves(8, 12, 0.4, 2, a, kx, ky); /* non-square: each dimension its own frequencies */
  check_waves(9, 7, 0.4, 2, a, kx, ky);  /* odd sides: [-(N-1)/2, (N-1)/2] */
  const double one[] = {1}, ox[] = {1}, oy[] = {0};
  check_waves(1, 6, 0.4, 1, one, ox, oy); /* one row */
  gsl_matrix *img = gsl_matrix_alloc(1, 1);
  gsl_matrix_set(img, 0, 0, 2.385);
  sae_error e = {0, ""};
  ck_assert_int_eq(sae_whiten(img, 0.4, &e), 0);
  ck_assert_double_eq(gsl_matrix_get(img, 0, 0), 0);
  gsl_matrix_free(img);
}
END_TEST

START_TEST(test_whiten_errors) {
  gsl_matrix *img = gsl_matrix_alloc(4, 4);
  gsl_matrix_set_all(img, 1.5);
  sae_error e = {0, ""};
  assert_error(sae_whiten(img, 0, &e), &e, SAE_EHPARAM, "f0_fraction = 0 must be > 0", NULL);
  assert_error(sae_whiten(img, NAN, &e), &e, SAE_EHPARAM, "f0_fraction", NULL);
  ck_assert_double_eq(gsl_matrix_get(img, 2, 3), 1.5); /* untouched */
  gsl_matrix_free(img);
}
END_TEST

START_TEST(test_scale_variance) {
  gsl_matrix *imgs[2] = {gsl_matrix_alloc(3, 4), gsl_matrix_alloc(2, 2)};
  for (size_t i = 0; i < 12; i++) imgs[0]->data[i] = 2.385 * (double)(i % 5) - 1.0;
  for (size_t i = 0; i < 4; i++) imgs[1]->data[i] = 0.3 * (double)(i * i);
  double v0 = gsl_stats_variance(imgs[0]->data, 1, 12) * 11 / 12;
  double v1 = gsl_stats_variance(imgs[1]->data, 1, 4) * 3 / 4;
  ck_assert_int_eq(sae_images_scale_variance(imgs, 2, 0.1), 0);
  double w0 = gsl_stats_variance(imgs[0]->data, 1, 12) * 11 / 12;
  double w1 = gsl_stats_variance(imgs[1]->data, 1, 4) * 3 / 4;
  ck_assert_double_eq_tol((w0 + w1) / 2, 0.1, 1e-14);
  ck_assert_double_eq_tol(w0 / w1, v0 / v1, 1e-12); /* one common factor */
  /* constant images cannot be scaled */
  gsl_matrix_set_all(imgs[0], 2.385);
  gsl_matrix_set_all(imgs[1], -1);
  ck_assert_int_eq(sae_images_scale_variance(imgs, 2, 0.1), SAE_EDATA);
  ck_assert_double_eq(gsl_matrix_get(imgs[0], 1, 1), 2.385);
  ck_assert_int_eq(sae_images_scale_variance(imgs, 2, 0), SAE_EDATA);
  ck_assert_int_eq(sae_images_scale_variance(imgs, 0, 0.1), SAE_EDATA);
  gsl_matrix_free(imgs[0]);
  gsl_matrix_free(imgs[1]);
}
END_TEST

/* ---- patches -------------------------------------------------------------- */

static void make_patch_images(gsl_matrix *imgs[2]) {
  imgs[0] = gsl_matrix_alloc(5, 6);
  imgs[1] = gsl_matrix_alloc(4, 4);
  for (size_t k = 0; k < 2; k++)
    for (size_t r = 0; r < imgs[k]->size1; r++)
      for (size_t c = 0; c < imgs[k]->size2; c++)
        gsl_matrix_set(imgs[k], r, c, 100.0 * (double)k + 10.0 * (double)r + (double)c);
}

START_TEST(test_patches) {
  gsl_matrix *imgs[2];
  make_patch_images(imgs);
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937), *ref = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, 42);
  gsl_rng_set(ref, 42);
  gsl_matrix *X = gsl_matrix_alloc(200, 9), *Y = gsl_matrix_alloc(200, 9);
  sae_error e = {0, ""};
  ck_assert_int_eq(sae_patches_sample(imgs, 2, 3, 200, rng, X, &e), 0);
  int seen[2] = {0, 0};
  for (size_t i = 0; i < 200; i++) {
    size_t k = gsl_rng_uniform_int(ref, 2);
    size_t r0 = gsl_rng_uniform_int(ref, imgs[k]->size1 - 2);
    size_t c0 = gsl_rng_uniform_int(ref, imgs[k]->size2 - 2);
    seen[k]++;
    for (size_t r = 0; r < 3; r++)
      for (size_t c = 0; c < 3; c++)
        ck_assert_double_eq(gsl_matrix_get(X, i, r * 3 + c),
                            gsl_matrix_get(imgs[k], r0 + r, c0 + c));
  }
  ck_assert_int_gt(seen[0], 60);
  ck_assert_int_gt(seen[1], 60);
  /* the same seed, the same patches; another seed, others */
  gsl_rng_set(rng, 42);
  ck_assert_int_eq(sae_patches_sample(imgs, 2, 3, 200, rng, Y, &e), 0);
  ck_assert(gsl_matrix_equal(X, Y));
  gsl_rng_set(rng, 43);
  ck_assert_int_eq(sae_patches_sample(imgs, 2, 3, 200, rng, Y, &e), 0);
  ck_assert(!gsl_matrix_equal(X, Y));
  gsl_matrix_free(X);
  gsl_matrix_free(Y);
  gsl_rng_free(rng);
  gsl_rng_free(ref);
  gsl_matrix_free(imgs[0]);
  gsl_matrix_free(imgs[1]);
}
END_TEST

START_TEST(test_patches_whole_image) {
  gsl_matrix *imgs[2];
  make_patch_images(imgs);
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_matrix *X = gsl_matrix_alloc(3, 16);
  sae_error e = {0, ""};
  ck_assert_int_eq(sae_patches_sample(&imgs[1], 1, 4, 3, rng, X, &e), 0);
  for (size_t i = 0; i < 3; i++)
    for (size_t j = 0; j < 16; j++) ck_assert_double_eq(gsl_matrix_get(X, i, j), imgs[1]->data[j]);
  gsl_matrix_free(X);
  X = gsl_matrix_alloc(1, 1);
  ck_assert_int_eq(sae_patches_sample(imgs, 2, 1, 1, rng, X, &e), 0);
  gsl_matrix_free(X);
  gsl_rng_free(rng);
  gsl_matrix_free(imgs[0]);
  gsl_matrix_free(imgs[1]);
}
END_TEST

START_TEST(test_patches_errors) {
  gsl_matrix *imgs[2];
  make_patch_images(imgs);
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_matrix *X = gsl_matrix_alloc(4, 25), *Z = gsl_matrix_alloc(4, 24);
  sae_error e = {0, ""};
  assert_error(sae_patches_sample(imgs, 2, 5, 4, rng, X, &e), &e, SAE_ESHAPE,
               "patch 5x5 larger than image 2 (4x4)", NULL);
  assert_error(sae_patches_sample(imgs, 2, 5, 4, rng, Z, &e), &e, SAE_ESHAPE,
               "output is 4x24, 4x25 expected", NULL);
  assert_error(sae_patches_sample(imgs, 2, 5, 3, rng, X, &e), &e, SAE_ESHAPE, "3x25 expected",
               NULL);
  assert_error(sae_patches_sample(imgs, 0, 5, 4, rng, X, &e), &e, SAE_EDATA, "no images", NULL);
  assert_error(sae_patches_sample(imgs, 2, 0, 4, rng, X, &e), &e, SAE_ESHAPE, ">= 1", NULL);
  gsl_matrix_free(X);
  gsl_matrix_free(Z);
  gsl_rng_free(rng);
  gsl_matrix_free(imgs[0]);
  gsl_matrix_free(imgs[1]);
}
END_TEST

START_TEST(test_normalize) {
  /* By hand: row means 13/12 and -0.8; centred rows (5/12, -10/3, 35/12)
   * and (1.1, 1.7, -2.8); population sd sqrt(31.7316667 / 6) = 2.2996980;
   * pstd = 6.8990941; nothing clipped (6 entries cannot reach 3 sd). */
  double v[] = {1.5, -2.25, 4.0, 0.3, 0.9, -3.6};
  const double want[] = {0.52415776088883, 0.30673791288936003, 0.66910432622181,
                         0.5637764887465112, 0.5985636644264264, 0.33765984682706246};
  gsl_matrix_view X = gsl_matrix_view_array(v, 2, 3);
  sae_patches_normalize_ufldl(&X.matrix);
  for (size_t i = 0; i < 6; i++) ck_assert_double_eq_tol(v[i], want[i], 1e-14);
}
END_TEST

START_TEST(test_normalize_limits) {
  /* One row of eleven 0s and a 12: centred -1 and 11, sd sqrt(11); 11 is
   * beyond 3 sd and clips to 0.9; -1 becomes (1 - 1/(3 sqrt 11)) 0.4 + 0.1. */
  double v[12] = {0};
  v[7] = 12;
  gsl_matrix_view X = gsl_matrix_view_array(v, 1, 12);
  sae_patches_normalize_ufldl(&X.matrix);
  ck_assert_double_eq_tol(v[7], 0.9, 1e-15);
  ck_assert_double_eq_tol(v[0], (1 - 1 / (3 * sqrt(11))) * 0.4 + 0.1, 1e-15);
  /* constant rows: all 0.5 */
  double w[4] = {2.385, 2.385, -1, -1};
  X = gsl_matrix_view_array(w, 2, 2);
  sae_patches_normalize_ufldl(&X.matrix);
  for (size_t i = 0; i < 4; i++) ck_assert_double_eq(w[i], 0.5);
}
END_TEST

/* ---- Olshausen's image0 ------------------------------------------------------ */

START_TEST(test_olshausen) {
  const char *d = getenv("SAE_OLSHAUSEN_DIR");
  char path[1024];
  snprintf(path, sizeof path, "%s/image0", d && *d ? d : "../shared/data/ufldl/olshausen_trainset");
  if (access(path, R_OK) != 0) return; /* the data is not on this machine */
  gsl_matrix *img = NULL;
  sae_error e = {0, ""};
  ck_assert_msg(sae_image_read_f32be(path, 512, 512, &img, &e) == 0, "%s", e.msg);
  ck_assert_uint_eq(img->size1, 512);
  ck_assert_uint_eq(img->size2, 512);
  double mean = gsl_stats_mean(img->data, 1, 512 * 512);
  double sd = gsl_stats_sd_with_fixed_mean(img->data, 1, 512 * 512, mean);
  ck_assert_double_eq_tol(sd, 0.3153, 1e-3);
  gsl_matrix_free(img);
}
END_TEST

/* ---- the Lua bindings --------------------------------------------------------- */

static lua_State *L;

/* A fresh state with a global `sae` holding the utility, matrix and data functions
 * (sae.*), and DIR the fixtures' directory. */
static void lua_open_state(void) {
  L = luaL_newstate();
  ck_assert_ptr_nonnull(L);
  luaL_openlibs(L);
  lsae_setup(L, NULL, 42);
  lua_newtable(L);
  lsae_open_util(L); /* sae.seed */
  lsae_open_matrix(L);
  lsae_open_data(L);
  lua_setglobal(L, "sae");
  lua_pushstring(L, dir);
  lua_setglobal(L, "DIR");
}

static void lua_close_state(void) {
  lua_close(L);
  L = NULL;
}

static void run(const char *code) {
  if (luaL_loadstring(L, code) != LUA_OK || lua_pcall(L, 0, 0, 0) != LUA_OK)
    ck_abort_msg("Lua error in {%s}: %s", code, lua_tostring(L, -1));
}

/* code must raise one line containing want. */
static void run_error(const char *code, const char *want) {
  ck_assert_int_eq(luaL_loadstring(L, code), LUA_OK);
  ck_assert_msg(lua_pcall(L, 0, 0, 0) != LUA_OK, "{%s} did not fail", code);
  const char *msg = lua_tostring(L, -1);
  ck_assert_msg(msg && strstr(msg, want), "{%s}: \"%s\" not in: %s", code, want, msg);
  ck_assert_msg(!strchr(msg, '\n'), "not one line: %s", msg);
  lua_pop(L, 1);
}

START_TEST(test_lua) {
  lua_open_state();
  run("local X, r, c = sae.idx_images(DIR .. '/img.gz')\n"
      "assert(X:rows() == 3 and X:cols() == 6 and r == 2 and c == 3)\n"
      "assert(X:get(2, 4) == ((1 * 97 + 3 * 41 + 3) % 256) / 255)\n"
      "X = sae.idx_images(DIR .. '/img', 2); assert(X:rows() == 2)\n"
      "local y = sae.idx_labels(DIR .. '/lab')\n"
      "assert(#y == 5 and y[1] == 7 and y[5] == 9 and math.type(y[1]) == 'integer')\n"
      "assert(#sae.idx_labels(DIR .. '/lab.gz', 2) == 2)\n"
      "local img = sae.image_f32be(DIR .. '/img.f32', 3, 4)\n"
      "assert(img:rows() == 3 and img:cols() == 4)\n"
      "local g = sae.png(DIR .. '/grey8.png')\n"
      "assert(g:rows() == 2 and g:cols() == 3 and g:get(1, 3) == 1)\n"
      "local imgs = sae.mat(DIR .. '/images.mat', 'IMAGES')\n"
      "assert(#imgs == 2 and imgs[2]:rows() == 2 and imgs[2]:cols() == 3)\n"
      "assert(math.abs(imgs[2]:get(2, 3) - (2.385 * 2 - 1 + 10)) < 1e-12)\n"
      "local before = imgs[1]:copy()\n"
      "local w = sae.whiten(imgs[1])\n"
      "assert(imgs[1]:equal(before) and not w:equal(before))\n"
      "assert(sae.whiten(imgs[1], 0.3):rows() == 2)\n"
      "assert(sae.scale_variance(imgs, 0.1) == imgs)\n"
      "local P = sae.patches(imgs, 2, 7)\n"
      "assert(P:rows() == 7 and P:cols() == 4)\n"
      "assert(sae.normalize_patches(P) == P)\n"
      "assert(P:min() >= 0.1 - 1e-12 and P:max() <= 0.9 + 1e-12)\n");
  /* the run's generator: the same seed, the same patches */
  run("local imgs = sae.mat(DIR .. '/images.mat', 'IMAGES')\n"
      "sae.seed(7); local A = sae.patches(imgs, 2, 20)\n"
      "sae.seed(7); local B = sae.patches(imgs, 2, 20)\n"
      "assert(A:equal(B))\n");
  /* a view (non-contiguous) as an image */
  run("local m = sae.matrix(6, 6, 2.385)\n"
      "local v = m:rowrange(2, 5)\n"
      "local w = sae.whiten(v)\n"
      "assert(w:rows() == 4 and math.abs(w:max()) < 1e-12)\n"
      "sae.scale_variance({sae.matrix{{1, 2}, {3, 4.5}}}, 0.1)\n");
  lua_close_state();
}
END_TEST

START_TEST(test_lua_errors) {
  lua_open_state();
  run_error("sae.idx_images(DIR .. '/img.short')", "truncated: 34 bytes expected, 26 found");
  run_error("sae.idx_images(DIR .. '/img.gz.gz')", "is the file still gzipped?");
  run_error("sae.idx_images(DIR .. '/img', -1)", "must be >= 0");
  run_error("sae.idx_labels(DIR .. '/img')", "IDX magic 0x00000801 expected");
  run_error("sae.image_f32be(DIR .. '/img.f32', 4, 4)", "64 bytes expected");
  run_error("sae.image_f32be(DIR .. '/img.f32', 0, 4)", "rows must be >= 1");
  run_error("sae.png(DIR .. '/cut.png')", "corrupt or truncated PNG");
  run_error("sae.mat(DIR .. '/images.mat', 'B')", "no variable 'B' (found: IMAGES, a, b)");
  run_error("sae.mat(DIR .. '/text.png', 'B')", "not a MATLAB .mat file");
  run_error("sae.whiten(sae.matrix(4, 4), 0)", "f0_fraction must be > 0");
  run_error("sae.whiten(42)", "bad argument #1");
  run_error("sae.patches({sae.matrix(4, 4), sae.matrix(3, 5)}, 4, 2)",
            "patch 4x4 larger than image 2 (3x5)");
  run_error("sae.patches({sae.matrix(4, 4), 'x'}, 2, 2)", "entry 2 is string, not a matrix");
  run_error("sae.patches({}, 2, 2)", "at least one matrix");
  run_error("sae.patches({sae.matrix(4, 4)}, 2, 0)", "number of patches must be >= 1");
  run_error("sae.scale_variance({sae.matrix(3, 3, 1)}, 0.1)", "mean variance is 0");
  run_error("sae.scale_variance({sae.matrix(3, 3, 1)}, -1)", "must be > 0");
  run_error("local m = sae.matrix(2, 2); getmetatable(m).__close(m); sae.normalize_patches(m)", "closed");
  /* the state is still usable, and the boxes of failed calls are collected */
  lua_gc(L, LUA_GCCOLLECT);
  run("assert(#sae.idx_labels(DIR .. '/lab') == 5)");
  lua_close_state();
}
END_TEST

static Suite *data_suite(void) {
  Suite *s = suite_create("data");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_idx_images);
  tcase_add_test(tc, test_idx_labels);
  tcase_add_test(tc, test_f32be);
  tcase_add_test(tc, test_png);
  tcase_add_test(tc, test_mat);
  tcase_add_test(tc, test_whiten_waves);
  tcase_add_test(tc, test_whiten_constant);
  tcase_add_test(tc, test_scale_variance);
  tcase_add_test(tc, test_patches);
  tcase_add_test(tc, test_normalize);
  tcase_add_test(tc, test_olshausen);
  tcase_add_test(tc, test_lua);
  tcase_set_timeout(tc, 60);
  suite_add_tcase(s, tc);
  tc = tcase_create("limits");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_idx_limit_beyond);
  tcase_add_test(tc, test_whiten_shapes);
  tcase_add_test(tc, test_patches_whole_image);
  tcase_add_test(tc, test_normalize_limits);
  suite_add_tcase(s, tc);
  tc = tcase_create("errors");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_idx_errors);
  tcase_add_test(tc, test_idx_fuzz_sizes);
  tcase_add_test(tc, test_mat_fuzz_sizes);
  tcase_add_test(tc, test_f32be_errors);
  tcase_add_test(tc, test_png_errors);
  tcase_add_test(tc, test_mat_errors);
  tcase_add_test(tc, test_whiten_errors);
  tcase_add_test(tc, test_patches_errors);
  tcase_add_test(tc, test_lua_errors);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(data_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
