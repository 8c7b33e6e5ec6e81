/* idx.c -- IDX files (LeCun et al., MNIST; Xiao et al., Fashion-MNIST).
 *
 * Format (all integers big-endian):
 *   magic  u32  0x0000TTDD: TT the element type (0x08 unsigned byte), DD the
 *               number of dimensions
 *   dims   DD x u32
 *   data   prod(dims) elements, row-major
 * Images: magic 0x00000803, dims n, rows, cols.  Labels: 0x00000801, dim n.
 *
 * Read through zlib's gzread, which passes a plain file through unchanged,
 * so "train-images-idx3-ubyte" and "train-images-idx3-ubyte.gz" both work.
 * The whole (decompressed) file is always read to its end so that a
 * truncated file or trailing bytes are reported, even with a limit. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include "data.h"

#define IDX_IMAGES 0x00000803u
#define IDX_LABELS 0x00000801u
#define IDX_CHUNK 65536

/* Read up to len bytes; returns the count, or -1 with e set (corrupt gzip). */
static long idx_read(gzFile f, const char *path, void *buf, size_t len, sae_error *e) {
  size_t got = 0;
  while (got < len) {
    size_t want = len - got > IDX_CHUNK ? IDX_CHUNK : len - got;
    int k = gzread(f, (unsigned char *)buf + got, (unsigned)want);
    if (k < 0) {
      int zerr;
      const char *msg = gzerror(f, &zerr);
      sae_error_set(e, SAE_EIO, "%s: read failed: %s%s", path,
                    zerr == Z_ERRNO ? strerror(errno) : msg,
                    zerr == Z_DATA_ERROR ? " (corrupt gzip data)" : "");
      return -1;
    }
    if (k == 0) break;
    got += (size_t)k;
  }
  return (long)got;
}

/* Read to the end, counting the bytes; -1 on a read error. */
static int idx_count_rest(gzFile f, const char *path, size_t *count, sae_error *e) {
  unsigned char buf[IDX_CHUNK];
  long k;
  *count = 0;
  while ((k = idx_read(f, path, buf, sizeof buf, e)) > 0) *count += (size_t)k;
  return k < 0 ? -1 : 0;
}

/* Read up to want bytes into a buffer grown as the data arrive (doubling
 * from 64 KiB), so a header that lies about its sizes costs no more memory
 * than the file really holds.  *got < want when the file ends early. */
static int idx_read_grow(gzFile f, const char *path, size_t want, unsigned char **out,
                         size_t *got, sae_error *e) {
  unsigned char *buf = NULL;
  size_t cap = 0, n = 0;
  *out = NULL;
  *got = 0;
  while (n < want) {
    if (n == cap) {
      size_t c = cap ? (cap > (SIZE_MAX >> 1) ? SIZE_MAX : 2 * cap) : IDX_CHUNK;
      if (c > want) c = want;
      unsigned char *b = realloc(buf, c);
      if (!b) {
        free(buf);
        return sae_error_set(e, SAE_ENOMEM, "%s: out of memory after %zu bytes", path, n);
      }
      buf = b;
      cap = c;
    }
    size_t ask = cap - n;
    long k = idx_read(f, path, buf + n, ask, e);
    if (k < 0) {
      free(buf);
      return SAE_EIO;
    }
    n += (size_t)k;
    if ((size_t)k < ask) break; /* the file ended */
  }
  *out = buf;
  *got = n;
  return 0;
}

static uint32_t idx_be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* zlib's buffers: 128 KiB in (and twice that out) for MNIST's 47 MB, no
 * more than the file for a small one (fresh pages cost more than reading a
 * short file: the label files, tests, the fuzzer's inputs). */
static gzFile idx_open(const char *path, sae_error *e) {
  unsigned size = 1u << 17;
  struct stat st;
  if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < (off_t)size)
    size = st.st_size < 8192 ? 8192 : (unsigned)st.st_size;
  errno = 0;
  gzFile f = gzopen(path, "rb");
  if (!f)
    sae_error_set(e, SAE_EIO, "%s: cannot open: %s", path,
                  errno ? strerror(errno) : "out of memory");
  else gzbuffer(f, size);
  return f;
}

/* The header: magic and ndim dimensions; checks the magic. */
static int idx_read_header(gzFile f, const char *path, uint32_t want, unsigned ndim,
                           uint32_t *dims, sae_error *e) {
  unsigned char h[16];
  size_t hlen = 4 + 4 * (size_t)ndim;
  long k = idx_read(f, path, h, hlen, e);
  if (k < 0) return SAE_EIO;
  if (k < 4)
    return sae_error_set(e, SAE_EDATA, "%s: truncated: IDX header of %zu bytes expected, "
                         "%ld found", path, hlen, k);
  uint32_t magic = idx_be32(h);
  if (magic != want) {
    const char *hint = "not an IDX file of unsigned bytes";
    if (h[0] == 0x1f && h[1] == 0x8b) hint = "is the file still gzipped?";
    else if (want == IDX_IMAGES && magic == IDX_LABELS) hint = "this is a label file";
    else if (want == IDX_LABELS && magic == IDX_IMAGES) hint = "this is an image file";
    else if (h[0] == 0 && h[1] == 0 && h[2] == 0x08) hint = "wrong number of dimensions";
    return sae_error_set(e, SAE_EDATA, "%s: IDX magic 0x%08x expected, got 0x%08x: %s", path,
                         (unsigned)want, (unsigned)magic, hint);
  }
  if ((size_t)k < hlen)
    return sae_error_set(e, SAE_EDATA, "%s: truncated: IDX header of %zu bytes expected, "
                         "%ld found", path, hlen, k);
  for (unsigned d = 0; d < ndim; d++) dims[d] = idx_be32(h + 4 + 4 * d);
  return 0;
}

/* The file's length against the header's: every byte read so far (done)
 * plus the rest of the file must be expected. */
static int idx_check_length(gzFile f, const char *path, size_t expected, size_t done,
                            sae_error *e) {
  size_t rest;
  if (idx_count_rest(f, path, &rest, e)) return SAE_EIO;
  size_t found = done + rest;
  if (found < expected) {
    int zerr;
    gzerror(f, &zerr);
    return sae_error_set(e, SAE_EDATA, "%s: truncated: %zu bytes expected, %zu found%s", path,
                         expected, found,
                         gzdirect(f) ? ""
                         : zerr == Z_BUF_ERROR ? " (decompressed; the gzip stream ends early)"
                                               : " (decompressed)");
  }
  if (found > expected)
    return sae_error_set(e, SAE_EDATA, "%s: %zu bytes expected, %zu found: %zu bytes of "
                         "trailing garbage after the data", path, expected, found,
                         found - expected);
  return 0;
}

int sae_idx_read_images(const char *path, size_t limit, gsl_matrix **X, size_t *rows,
                        size_t *cols, sae_error *e) {
  uint32_t dims[3];
  unsigned char *buf = NULL;
  gsl_matrix *x = NULL;
  int rc;
  *X = NULL;
  gzFile f = idx_open(path, e);
  if (!f) return SAE_EIO;
  if ((rc = idx_read_header(f, path, IDX_IMAGES, 3, dims, e))) goto done;
  size_t n = dims[0], r = dims[1], c = dims[2], d = r * c; /* u32 * u32 fits size_t */
  if (n == 0 || r == 0 || c == 0) {
    rc = sae_error_set(e, SAE_EDATA, "%s: dimensions %zu x %zu x %zu: an empty image set",
                       path, n, r, c);
    goto done;
  }
  if (n > (SIZE_MAX - 16) / d) {
    rc = sae_error_set(e, SAE_EDATA, "%s: dimensions %zu x %zu x %zu are too large", path, n,
                       r, c);
    goto done;
  }
  size_t expected = 16 + n * d, m = limit && limit < n ? limit : n, got;
  /* The bytes first, the matrix (8 bytes a pixel) only once the file's
   * length has matched the header's. */
  if ((rc = idx_read_grow(f, path, m * d, &buf, &got, e))) goto done;
  if ((rc = idx_check_length(f, path, expected, 16 + got, e))) goto done;
  if (!(x = sae_data_matrix_alloc(m, d))) {
    rc = sae_error_set(e, SAE_ENOMEM, "%s: out of memory for %zu images of %zu x %zu", path,
                       m, r, c);
    goto done;
  }
  for (size_t i = 0; i < m; i++) {
    double *row = gsl_matrix_ptr(x, i, 0);
    for (size_t j = 0; j < d; j++) row[j] = buf[i * d + j] / 255.0;
  }
  *X = x;
  x = NULL;
  *rows = r;
  *cols = c;
done:
  gsl_matrix_free(x);
  free(buf);
  gzclose(f);
  return rc;
}

int sae_idx_read_labels(const char *path, size_t limit, unsigned char **labels, size_t *n,
                        sae_error *e) {
  uint32_t dims[1];
  unsigned char *lab = NULL;
  int rc;
  *labels = NULL;
  gzFile f = idx_open(path, e);
  if (!f) return SAE_EIO;
  if ((rc = idx_read_header(f, path, IDX_LABELS, 1, dims, e))) goto done;
  size_t total = dims[0], m = limit && limit < total ? limit : total;
  if (total == 0) {
    rc = sae_error_set(e, SAE_EDATA, "%s: no labels (the header says 0)", path);
    goto done;
  }
  size_t got;
  if ((rc = idx_read_grow(f, path, m, &lab, &got, e))) goto done;
  if ((rc = idx_check_length(f, path, 8 + total, 8 + got, e))) goto done;
  *labels = lab;
  lab = NULL;
  *n = m;
done:
  free(lab);
  gzclose(f);
  return rc;
}
