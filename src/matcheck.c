/* matcheck.c -- see matcheck.h.  The MAT 5 layout (MathWorks, "MAT-File
 * Format", 2019): a 128-byte header (text, subsystem offset, version 0x0100,
 * endian indicator "IM" as written by the machine, so "MI" means swap), then
 * data elements: an 8-byte tag (type u32, nbytes u32) and nbytes of data
 * padded to 8, or a small element (nbytes << 16 | type, then up to 4 bytes)
 * of 8 bytes in all.  miMATRIX (14) holds sub-elements: array flags, dims,
 * name, then the parts of its class; miCOMPRESSED (15) holds a zlib stream
 * of one element.  MAT 4: per variable 5 int32 (type MOPT, mrows, ncols,
 * imagf, namlen), the name, the data. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include "matcheck.h"

#define MC_MATRIX 14
#define MC_COMPRESSED 15
#define MC_DEPTH 16 /* cells and structs within each other */
#define MC_SPARSE 5 /* mxSPARSE_CLASS */

/* A sequential source: the file, or a zlib stream inflating part of it. */
typedef struct mc_src {
  FILE *f;
  int swap;
  z_stream *z;
  uint64_t z_in_left; /* compressed bytes of the element not yet fed */
  unsigned char in[16384];
} mc_src;

/* Read n bytes; 0, or -1 when the source ends first (or is corrupt). */
static int mc_read(mc_src *s, void *buf, size_t n) {
  if (!s->z) return fread(buf, 1, n, s->f) == n ? 0 : -1;
  s->z->next_out = buf;
  s->z->avail_out = (uInt)n;
  while (s->z->avail_out) {
    if (!s->z->avail_in && s->z_in_left) {
      size_t k = s->z_in_left < sizeof s->in ? (size_t)s->z_in_left : sizeof s->in;
      if (fread(s->in, 1, k, s->f) != k) return -1;
      s->z_in_left -= k;
      s->z->next_in = s->in;
      s->z->avail_in = (uInt)k;
    }
    int rc = inflate(s->z, Z_NO_FLUSH);
    if (rc == Z_STREAM_END && s->z->avail_out) return -1;
    if (rc != Z_OK && rc != Z_STREAM_END) return -1;
    if (rc == Z_OK && !s->z->avail_in && !s->z_in_left && s->z->avail_out) return -1;
  }
  return 0;
}

static int mc_skip(mc_src *s, uint64_t n) {
  unsigned char buf[4096];
  if (!s->z) {
    /* The caller checked n against the file's size. */
    return fseeko(s->f, (off_t)n, SEEK_CUR) ? -1 : 0;
  }
  while (n) {
    size_t k = n < sizeof buf ? (size_t)n : sizeof buf;
    if (mc_read(s, buf, k)) return -1;
    n -= k;
  }
  return 0;
}

static uint32_t mc_u32(const mc_src *s, const unsigned char *p) {
  return s->swap ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
                 : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* One element's tag: its type, data bytes and whole size (tag + padded data). */
static int mc_tag(mc_src *s, uint32_t *type, uint32_t *nbytes, uint64_t *total,
                  unsigned char small[4]) {
  unsigned char t[8];
  if (mc_read(s, t, 8)) return -1;
  uint32_t w0 = mc_u32(s, t), w1 = mc_u32(s, t + 4);
  if (w0 >> 16) { /* small element: data in the tag's second word */
    *type = w0 & 0xffff;
    *nbytes = w0 >> 16;
    *total = 8;
    memcpy(small, t + 4, 4);
    return *nbytes <= 4 ? 0 : -1;
  }
  *type = w0;
  *nbytes = w1;
  *total = 8 + (uint64_t)w1 + (w0 == MC_COMPRESSED ? 0 : (-(uint64_t)w1 & 7));
  return 0;
}

typedef struct mc_ctx {
  const char *path;
  sae_error *e;
} mc_ctx;

static int mc_bad(mc_ctx *c, uint64_t at, const char *what) {
  return sae_error_set(c->e, SAE_EDATA, "%s: not a valid MAT file: %s (variable at byte %llu)",
                       c->path, what, (unsigned long long)at);
}

/* The sub-elements of a miMATRIX of nbytes; at names the variable. */
static int mc_matrix(mc_ctx *c, mc_src *s, uint64_t nbytes, uint64_t at, int depth) {
  if (depth > MC_DEPTH) return mc_bad(c, at, "arrays nested too deep");
  if (nbytes == 0) return 0; /* an empty cell or struct field */
  uint64_t left = nbytes, elements = 1;
  unsigned cls = 0;
  for (int k = 0; left > 0; k++) {
    uint32_t type, n;
    uint64_t total;
    unsigned char small[4];
    if (left < 8 || mc_tag(s, &type, &n, &total, small))
      return mc_bad(c, at, "an array's element is cut short");
    int last = total > left && 8 + (uint64_t)n <= left; /* its padding may be missing */
    if (total > left && !last) return mc_bad(c, at, "an element larger than its array");
    /* matio reads an array's first 16 bytes as the flags element and the
     * next tag as the dimensions, whatever their tags say: anything else is
     * refused, or the walk and matio would read different sizes. */
    if (k == 0) { /* array flags: class, and nzmax for a sparse array */
      unsigned char f[8];
      if (type != 6 || n != 8 || total != 16) return mc_bad(c, at, "bad array flags");
      if (mc_read(s, f, 8)) return mc_bad(c, at, "cut short");
      cls = mc_u32(s, f) & 0xff;
      if (cls == MC_SPARSE && mc_u32(s, f + 4) > nbytes)
        return mc_bad(c, at, "a sparse array's nzmax larger than the data");
    } else if (k == 1) { /* dimensions: int32 each, at least 2 */
      if (type != 5 || total == 8 || n % 4 || n < 8 || n > 4 * 64)
        return mc_bad(c, at, "bad dimensions");
      unsigned char d[4 * 64];
      if (mc_read(s, d, n) || mc_skip(s, last ? 0 : total - 8 - n))
        return mc_bad(c, at, "cut short");
      for (uint32_t i = 0; i < n; i += 4) {
        uint64_t v = mc_u32(s, d + i);
        if (v >> 31) return mc_bad(c, at, "a negative dimension");
        elements = v && elements > UINT64_MAX / v ? UINT64_MAX : elements * v;
      }
      /* Each element takes at least a byte of this array (sparse arrays
       * store their nonzeros only); matio allocates from the product. */
      if (cls != MC_SPARSE && elements > nbytes)
        return mc_bad(c, at, "dimensions larger than the data");
    } else if (type == MC_MATRIX) { /* a cell's or a struct field's array */
      if (mc_matrix(c, s, n, at, depth + 1)) return SAE_EDATA;
      if (!last && mc_skip(s, total - 8 - n)) return mc_bad(c, at, "cut short");
    } else if (total > 8 && mc_skip(s, last ? n : total - 8)) {
      return mc_bad(c, at, "cut short");
    }
    left -= last ? left : total;
  }
  return 0;
}

static int mc_check_v5(mc_ctx *c, FILE *f, uint64_t size, int swap) {
  mc_src s = {f, swap, NULL, 0, {0}};
  uint64_t pos = 128;
  while (pos < size) {
    uint32_t type, n;
    uint64_t total;
    unsigned char small[4];
    if (fseeko(f, (off_t)pos, SEEK_SET) || size - pos < 8 || mc_tag(&s, &type, &n, &total, small))
      return mc_bad(c, pos, "stray bytes after the last variable");
    if (total - 8 > size - pos - 8) {
      /* The last element's padding may be missing at the end of the file. */
      if (8 + (uint64_t)n > size - pos) return mc_bad(c, pos, "a variable larger than the file");
      total = size - pos;
    }
    if (type == MC_MATRIX) {
      if (mc_matrix(c, &s, n, pos, 0)) return SAE_EDATA;
    } else if (type == MC_COMPRESSED) {
      z_stream z;
      memset(&z, 0, sizeof z);
      if (inflateInit(&z) != Z_OK)
        return sae_error_set(c->e, SAE_ENOMEM, "%s: out of memory", c->path);
      mc_src zs = {f, swap, &z, n, {0}};
      uint32_t t2, n2;
      uint64_t total2;
      int rc = mc_tag(&zs, &t2, &n2, &total2, small) ? mc_bad(c, pos, "a corrupt compressed variable")
               : t2 != MC_MATRIX                     ? 0 /* matio skips what is not an array */
                                                     : mc_matrix(c, &zs, n2, pos, 0);
      inflateEnd(&z);
      if (rc) return rc;
    }
    pos += total;
  }
  return 0;
}

static int mc_check_v4(mc_ctx *c, FILE *f, uint64_t size) {
  uint64_t pos = 0;
  static const unsigned elsize[] = {8, 4, 4, 2, 2, 1};
  for (unsigned k = 1; pos < size; k++) {
    int32_t w[5];
    if (size - pos < 20 || fseeko(f, (off_t)pos, SEEK_SET) || fread(w, 4, 5, f) != 5)
      return sae_error_set(c->e, SAE_EDATA, "%s: not a MATLAB .mat file (no MAT 5 header; as "
                           "MAT 4, variable %u at byte %llu has no 20-byte header)", c->path, k,
                           (unsigned long long)pos);
    /* MOPT's M gives the byte order; like matio, swap when the type is out of range. */
    if (w[0] < 0 || w[0] > 4052)
      for (int i = 0; i < 5; i++) w[i] = (int32_t)__builtin_bswap32((uint32_t)w[i]);
    int p = w[0] / 10 % 10;
    if (w[0] < 0 || w[0] > 4052 || w[0] % 10 > 2 || p > 5 || w[0] / 100 % 10 != 0 || w[1] < 0 ||
        w[2] < 0 || (w[3] != 0 && w[3] != 1) || w[4] < 1)
      return sae_error_set(c->e, SAE_EDATA, "%s: not a MATLAB .mat file (no MAT 5 header; as "
                           "MAT 4, variable %u at byte %llu has a bad header)", c->path, k,
                           (unsigned long long)pos);
    uint64_t need = 20 + (uint64_t)w[4] +
                    (uint64_t)w[1] * (uint64_t)w[2] * elsize[p] * (w[3] ? 2u : 1u);
    if (need > size - pos)
      return sae_error_set(c->e, SAE_EDATA, "%s: as MAT 4, variable %u at byte %llu needs %llu "
                           "bytes (%d x %d), the file has %llu left: truncated or not a .mat file",
                           c->path, k, (unsigned long long)pos, (unsigned long long)need, w[1],
                           w[2], (unsigned long long)(size - pos));
    pos += need;
  }
  return 0;
}

int sae_mat_check(const char *path, sae_error *e) {
  mc_ctx c = {path, e};
  FILE *f = fopen(path, "rb");
  if (!f) return sae_error_set(e, SAE_EIO, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  unsigned char h[128];
  int rc = 0;
  if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
    fclose(f);
    return sae_error_set(e, SAE_EIO, "%s: not a regular file", path);
  }
  uint64_t size = (uint64_t)st.st_size;
  /* As matio decides: the endian indicator and version 0x0100 (MAT 5) or
   * 0x0200 (7.3, HDF5: left to matio), in the file's byte order; anything
   * else, even with the indicator, it reads as MAT 4. */
  int marker = size >= 128 && fread(h, 1, 128, f) == 128 &&
               ((h[126] == 'I' && h[127] == 'M') || (h[126] == 'M' && h[127] == 'I'));
  unsigned version = !marker ? 0 : h[126] == 'I' ? (unsigned)h[125] << 8 | h[124]
                                                 : (unsigned)h[124] << 8 | h[125];
  if (version == 0x0100) rc = mc_check_v5(&c, f, size, h[126] == 'M');
  else if (version != 0x0200) rc = mc_check_v4(&c, f, size);
  fclose(f);
  return rc;
}
