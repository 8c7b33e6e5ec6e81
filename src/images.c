/* images.c -- images from disk: Olshausen's raw float32, PNG, MATLAB .mat.
 *
 * Olshausen's sparsenet images (and UFLDL's IMAGES.mat, the same ten
 * whitened 512 x 512 natural images): each image a file of rows * cols
 * big-endian IEEE-754 float32, row-major, no header.
 *
 * PNG through libpng: errors longjmp back to the setjmp in sae_image_read_png;
 * every object that handler frees is a volatile pointer set to NULL before
 * the setjmp, so an error at any point frees exactly what was allocated.
 *
 * .mat through libmatio; MATLAB stores arrays column-major:
 * V(r, c, k) (0-based) is element r + rows * (c + cols * k). */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <matio.h>
#include <png.h>
#include "data.h"
#include "matcheck.h"

gsl_matrix *sae_data_matrix_alloc(size_t rows, size_t cols) {
  if (rows == 0 || cols == 0 || rows > SIZE_MAX / sizeof(double) / cols) return NULL;
  /* Not gsl_matrix_alloc: when its block allocation fails it leaks the
   * matrix header (GSL 2.7).  The block first, then a header owning it. */
  gsl_block *b = gsl_block_alloc(rows * cols);
  if (!b) return NULL;
  gsl_matrix *m = gsl_matrix_alloc_from_block(b, 0, rows, cols, cols);
  if (!m) {
    gsl_block_free(b);
    return NULL;
  }
  m->owner = 1; /* gsl_matrix_free frees the block too */
  return m;
}

void sae_images_free(gsl_matrix **imgs, size_t n) {
  if (!imgs) return;
  for (size_t k = 0; k < n; k++) gsl_matrix_free(imgs[k]);
  free(imgs);
}

/* ---- raw big-endian float32 ------------------------------------------- */

int sae_image_read_f32be(const char *path, size_t rows, size_t cols, gsl_matrix **img,
                         sae_error *e) {
  int rc = 0;
  unsigned char *buf = NULL;
  gsl_matrix *x = NULL;
  *img = NULL;
  if (rows == 0 || cols == 0 || rows > SIZE_MAX / 4 / cols)
    return sae_error_set(e, SAE_ESHAPE, "%s: image size %zu x %zu is empty or too large", path,
                         rows, cols);
  size_t expected = rows * cols * 4;
  FILE *f = fopen(path, "rb");
  if (!f) return sae_error_set(e, SAE_EIO, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size != expected) {
    rc = sae_error_set(e, SAE_EDATA, "%s: %zu bytes expected (%zu x %zu float32), %lld found%s",
                       path, expected, rows, cols, (long long)st.st_size,
                       (size_t)st.st_size < expected ? ": truncated or a smaller image?"
                                                     : ": a header, or a larger image?");
    goto done;
  }
  if (!(buf = malloc(cols * 4)) || !(x = sae_data_matrix_alloc(rows, cols))) {
    rc = sae_error_set(e, SAE_ENOMEM, "%s: out of memory for a %zu x %zu image", path, rows,
                       cols);
    goto done;
  }
  for (size_t r = 0; r < rows; r++) {
    size_t k = fread(buf, 4, cols, f);
    if (k < cols) {
      rc = ferror(f) ? sae_error_set(e, SAE_EIO, "%s: read failed: %s", path, strerror(errno))
                     : sae_error_set(e, SAE_EDATA, "%s: truncated: %zu bytes expected, %zu "
                                     "found", path, expected, (r * cols + k) * 4);
      goto done;
    }
    double *row = gsl_matrix_ptr(x, r, 0);
    for (size_t c = 0; c < cols; c++) {
      const unsigned char *p = buf + 4 * c;
      uint32_t u = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
      float v;
      memcpy(&v, &u, sizeof v);
      if (!isfinite(v)) {
        rc = sae_error_set(e, SAE_EDATA, "%s: value at row %zu, col %zu is %g, not finite: "
                           "is the file really big-endian float32?", path, r + 1, c + 1,
                           (double)v);
        goto done;
      }
      row[c] = v;
    }
  }
  if (fgetc(f) != EOF) {
    rc = sae_error_set(e, SAE_EDATA, "%s: %zu bytes expected (%zu x %zu float32), found more",
                       path, expected, rows, cols);
    goto done;
  }
  *img = x;
  x = NULL;
done:
  gsl_matrix_free(x);
  free(buf);
  fclose(f);
  return rc;
}

/* ---- PNG ---------------------------------------------------------------- */

typedef struct pngr_ctx {
  FILE *f;
  char msg[256];
} pngr_ctx;

static void pngr_error(png_structp png, png_const_charp msg) {
  pngr_ctx *ctx = png_get_error_ptr(png);
  snprintf(ctx->msg, sizeof ctx->msg, "%s", msg);
  png_longjmp(png, 1);
}

static void pngr_warning(png_structp png, png_const_charp msg) {
  (void)png; /* nothing here prints */
  (void)msg;
}

static void pngr_read(png_structp png, png_bytep data, size_t len) {
  pngr_ctx *ctx = png_get_io_ptr(png);
  if (fread(data, 1, len, ctx->f) != len)
    png_error(png, ferror(ctx->f) ? "read failed" : "the file ends early: truncated?");
}

int sae_image_read_png(const char *path, gsl_matrix **img, sae_error *e) {
  pngr_ctx ctx = {NULL, ""};
  unsigned char sig[8];
  int rc;
  *img = NULL;
  if (!(ctx.f = fopen(path, "rb")))
    return sae_error_set(e, SAE_EIO, "%s: cannot open: %s", path, strerror(errno));
  size_t k = fread(sig, 1, sizeof sig, ctx.f);
  if (k < sizeof sig || png_sig_cmp(sig, 0, sizeof sig)) {
    fclose(ctx.f);
    return sae_error_set(e, SAE_EDATA, "%s: not a PNG file (no PNG signature in the first 8 "
                         "bytes)", path);
  }
  /* Everything the error handler frees: volatile, NULL before setjmp. */
  png_structp volatile png = NULL;
  png_infop volatile info = NULL;
  unsigned char *volatile pix = NULL;
  png_bytep *volatile rowp = NULL;
  gsl_matrix *volatile x = NULL;
  png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, pngr_error, pngr_warning);
  if (!png || !(info = png_create_info_struct(png))) {
    rc = sae_error_set(e, SAE_ENOMEM, "%s: out of memory", path);
    goto done;
  }
  if (setjmp(png_jmpbuf(png))) {
    rc = sae_error_set(e, SAE_EDATA, "%s: corrupt or truncated PNG: %s", path, ctx.msg);
    goto done;
  }
  png_set_read_fn(png, &ctx, pngr_read);
  png_set_sig_bytes(png, sizeof sig);
  png_read_info(png, info);
  png_set_palette_to_rgb(png);
  png_set_expand_gray_1_2_4_to_8(png);
  png_set_strip_alpha(png); /* alpha channels; tRNS is never expanded */
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  size_t w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  size_t ch = png_get_channels(png, info), depth = png_get_bit_depth(png, info);
  size_t rowbytes = png_get_rowbytes(png, info);
  if ((ch != 1 && ch != 3) || (depth != 8 && depth != 16) || rowbytes != w * ch * depth / 8) {
    rc = sae_error_set(e, SAE_EDATA, "%s: unsupported PNG layout (%zu channels of %zu bits "
                       "after expansion)", path, ch, depth);
    goto done;
  }
  if (h > SIZE_MAX / rowbytes || !(pix = malloc(h * rowbytes)) ||
      !(rowp = malloc(h * sizeof *rowp)) || !(x = sae_data_matrix_alloc(h, w))) {
    rc = sae_error_set(e, SAE_ENOMEM, "%s: out of memory for a %zu x %zu image", path, h, w);
    goto done;
  }
  for (size_t r = 0; r < h; r++) rowp[r] = pix + r * rowbytes;
  png_read_image(png, rowp);
  png_read_end(png, NULL);
  double top = depth == 16 ? 65535.0 : 255.0;
  for (size_t r = 0; r < h; r++) {
    const unsigned char *p = rowp[r];
    double *out = gsl_matrix_ptr(x, r, 0);
    for (size_t c = 0; c < w; c++) {
      double v[3];
      for (size_t j = 0; j < ch; j++, p += depth / 8)
        v[j] = (depth == 16 ? (unsigned)p[0] << 8 | p[1] : p[0]) / top;
      out[c] = ch == 1 ? v[0] : 0.299 * v[0] + 0.587 * v[1] + 0.114 * v[2];
    }
  }
  *img = x;
  x = NULL;
  rc = 0;
done:
  if (png) {
    png_structp p = png;
    png_infop i = info;
    png_destroy_read_struct(&p, i ? &i : NULL, NULL);
  }
  free(pix);
  free(rowp);
  gsl_matrix_free(x);
  fclose(ctx.f);
  return rc;
}

/* ---- MATLAB .mat --------------------------------------------------------- */

/* "a, b, c" (at most len bytes) naming the variables of mat. */
static void matr_names(mat_t *mat, char *buf, size_t len) {
  size_t n = 0, used = 0;
  char **dir = Mat_GetDir(mat, &n); /* owned by mat */
  buf[0] = '\0';
  for (size_t i = 0; dir && i < n && used < len; i++)
    used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", dir[i]);
  if (n == 0) snprintf(buf, len, "none");
}

static const char *matr_class_name(enum matio_classes c) {
  switch (c) {
  case MAT_C_CELL: return "a cell array";
  case MAT_C_STRUCT: return "a struct";
  case MAT_C_CHAR: return "a char array";
  case MAT_C_SPARSE: return "a sparse matrix";
  case MAT_C_INT8: return "int8";
  case MAT_C_UINT8: return "uint8";
  case MAT_C_INT16: return "int16";
  case MAT_C_UINT16: return "uint16";
  case MAT_C_INT32: return "int32";
  case MAT_C_UINT32: return "uint32";
  case MAT_C_INT64: return "int64";
  case MAT_C_UINT64: return "uint64";
  default: return "of an unsupported class";
  }
}

int sae_mat_read(const char *path, const char *varname, gsl_matrix ***imgs, size_t *n,
                 sae_error *e) {
  int rc = 0;
  matvar_t *v = NULL;
  gsl_matrix **out = NULL;
  size_t k = 0, nk = 0;
  *imgs = NULL;
  if ((rc = sae_mat_check(path, e))) return rc; /* also says why a file cannot be opened */
  mat_t *mat = Mat_Open(path, MAT_ACC_RDONLY);
  if (!mat)
    return sae_error_set(e, SAE_EDATA, "%s: not a MATLAB .mat file (v4, v5, v7 or v7.3)", path);
  if (!(v = Mat_VarReadInfo(mat, varname))) {
    char names[256];
    matr_names(mat, names, sizeof names);
    rc = sae_error_set(e, SAE_EDATA, "%s: no variable '%s' (found: %s)", path, varname, names);
    goto done;
  }
  int is_double = v->class_type == MAT_C_DOUBLE, is_single = v->class_type == MAT_C_SINGLE;
  if (!is_double && !is_single) {
    rc = sae_error_set(e, SAE_EDATA, "%s: variable '%s' is %s, a double or single array "
                       "expected", path, varname, matr_class_name(v->class_type));
    goto done;
  }
  if (v->isComplex || (v->rank != 2 && v->rank != 3)) {
    rc = sae_error_set(e, SAE_EDATA, "%s: variable '%s' is %s%d-D, a real 2-D or 3-D array "
                       "(rows x cols x n) expected", path, varname,
                       v->isComplex ? "complex and " : "", v->rank);
    goto done;
  }
  size_t rows = v->dims[0], cols = v->dims[1];
  nk = v->rank == 3 ? v->dims[2] : 1;
  if (rows == 0 || cols == 0 || nk == 0) {
    rc = sae_error_set(e, SAE_EDATA, "%s: variable '%s' is empty (%zu x %zu x %zu)", path,
                       varname, rows, cols, nk);
    goto done;
  }
  Mat_VarFree(v);
  if (!(v = Mat_VarRead(mat, varname)) || !v->data) {
    rc = sae_error_set(e, SAE_EDATA, "%s: variable '%s' could not be read: corrupt file?",
                       path, varname);
    goto done;
  }
  if (!(out = calloc(nk, sizeof *out))) {
    rc = sae_error_set(e, SAE_ENOMEM, "%s: out of memory", path);
    goto done;
  }
  for (k = 0; k < nk; k++) {
    if (!(out[k] = sae_data_matrix_alloc(rows, cols))) {
      rc = sae_error_set(e, SAE_ENOMEM, "%s: out of memory for %zu images of %zu x %zu", path,
                         nk, rows, cols);
      goto done;
    }
    size_t base = rows * cols * k;
    for (size_t c = 0; c < cols; c++)
      for (size_t r = 0; r < rows; r++) {
        size_t i = base + r + rows * c;
        double val = is_double ? ((const double *)v->data)[i] : ((const float *)v->data)[i];
        gsl_matrix_set(out[k], r, c, val);
      }
  }
  *imgs = out;
  *n = nk;
  out = NULL;
done:
  sae_images_free(out, nk);
  Mat_VarFree(v);
  Mat_Close(mat);
  return rc;
}
