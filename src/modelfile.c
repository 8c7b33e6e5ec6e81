/* modelfile.c -- a built model on disk as one MAT 5 file (see modelfile.h).
 *
 * Why MAT 5: scipy.io.loadmat, Octave and MATLAB read it without HDF5 (MAT
 * 7.3 is HDF5, which scipy reads only through h5py), and libmatio is already
 * a dependency (IMAGES.mat).  Every variable is zlib-compressed (MAT 5's
 * miCOMPRESSED, what MATLAB's -v7 writes).
 *
 * The file holds, in this order:
 *   saelab_model   a 1 x N char array: the architecture, as text (below);
 *   <node>_<tensor> one real double matrix per learned tensor, rows x cols
 *                  as saelab holds it (MAT is column-major, so the data are
 *                  written transposed from saelab's row-major storage and
 *                  scipy sees the same rows x cols).  Tied and shared tensors
 *                  are stored once, with the node that owns them.  Names are
 *                  made MATLAB identifiers: bytes outside [A-Za-z0-9_] become
 *                  '_', a name not starting with a letter gets an 'n', at
 *                  most 63 characters, a clash gets _2, _3, ...; the text
 *                  records which variable holds which tensor.
 * The description goes first so that a file cut short keeps it and the
 * message can say which tensors are missing.
 *
 * The description (format 1): lines ending in '\n', fields separated by one
 * space, no other whitespace.  Strings are double-quoted; inside, the bytes
 * 0x20..0x7e other than '"' and '%' stand for themselves and every other
 * byte is %XX (hex).  Numbers: node references and sizes are decimal
 * integers; hyper-parameters are %.17g in the C locale (every double comes
 * back bit for bit).  Node references count from 1; 0 is the model's input.
 *
 *   saelab_model 1
 *   saelab "0.1"                          the saelab that wrote it (information)
 *   n_in 64
 *   nodes 5
 *   node "enc" "dense"                    per node, in order: name and type,
 *   input 0                               the node it reads (- for a regularizer),
 *   tie -                                 or: tie 1 "W" / tie 1 "" (whole node)
 *   share -                               or: share 1
 *   plugin "dense" "1.0" "/abs/dense.so" "<sha256 of that file>"   ("" "" if linked in)
 *   hp "n_out" 25                         every hyper-parameter, current value
 *   tensor "W" 64 25 "enc_W" "<sha256>"   stored: its variable and the sha256 of
 *                                         its data (column-major little-endian doubles)
 *   tensor "W" 25 64 -                    a tied or shared tensor: not stored
 *   ...
 *   end
 *
 * Reading executes nothing: the text goes through the strict parser below
 * (no Lua, no eval), and every size is checked before anything is allocated
 * from it: the text is at most MF_TEXT_MAX bytes; "nodes N" must fit the
 * text's length; every tensor's shape must be the one the current type's
 * setup() gives for the saved hyper-parameters (a dry setup on a copy of the
 * node, before the model allocates its parameters) and the shape of its MAT
 * variable; stored data may not exceed what the file could hold at deflate's
 * best ratio.  matio fills a cut-short compressed variable with zeros
 * without a word, so each tensor's sha256 is checked after reading.
 *
 * Plugins: each node records the name, version, file and sha256 of the
 * plugin that provided its type.  sae_model_load refuses a type whose plugin
 * now has another name or version (unless SAE_LOAD_ANY_PLUGIN): the same type
 * name in a changed plugin may read the same tensors differently (dense 1.0
 * stored W as n_in x n_out, dense 2.0 as n_out x n_in; a square W would load
 * without a shape error and compute nonsense), and a plugin's version is
 * where its author says so.  The sha256 is compared only when asked
 * (SAE_LOAD_SAME_FILE): every build of a plugin has its own bytes, so a
 * default that demanded the same file would refuse every model a colleague
 * sends.  A type no plugin provides is refused either way. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* newlocale, uselocale, strtod_l */
#endif
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <matio.h>
#include "fetch.h"
#include "matcheck.h"
#include "modelfile.h"
#include "version.h"
#include "atomic_write.h"

#define MF_VAR "saelab_model"
#define MF_TEXT_MAX ((size_t)1 << 20) /* a longer description is refused unread */
#define MF_STR_MAX 4096               /* longest string field (a plugin's path) */
#define MF_MAX_HP 64                  /* hyper-parameters per node */
#define MF_NODE_MIN_BYTES 52          /* the shortest node: node/input/tie/share/plugin lines */
#define MF_NUM_MAX 40                 /* characters of one number */
#define MF_NAME_MAX 63                /* MATLAB's namelengthmax */
#define MF_DEFLATE_RATIO 1032         /* deflate's largest expansion on inflating */
#define MF_NONE (-2)                  /* no input (a regularizer): model.c's NO_NODE */

/* ---- small helpers --------------------------------------------------------- */

/* Numbers in the C locale whatever the script set (os.setlocale): a decimal
 * comma would make the text unreadable elsewhere. */
typedef struct mf_locale {
  locale_t c, old;
} mf_locale;

static int mf_locale_enter(mf_locale *l) {
  l->c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
  if (l->c == (locale_t)0) return -1;
  l->old = uselocale(l->c);
  return 0;
}

static void mf_locale_leave(mf_locale *l) {
  uselocale(l->old);
  freelocale(l->c);
}

/* A growable text; oom stays set after the first failure. */
typedef struct mf_buf {
  char *s;
  size_t n, cap;
  int oom;
} mf_buf;

static void mf_printf(mf_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mf_printf(mf_buf *b, const char *fmt, ...) {
  if (b->oom) return;
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (k < 0) {
    b->oom = 1;
    return;
  }
  if (b->n + (size_t)k + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->n + (size_t)k + 1) cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
      b->oom = 1;
      return;
    }
    b->s = s;
    b->cap = cap;
  }
  va_start(ap, fmt);
  vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
  va_end(ap);
  b->n += (size_t)k;
}

static int mf_plain(unsigned char c) { return c >= 0x20 && c <= 0x7e && c != '"' && c != '%'; }

/* " str" quoted, other bytes as %XX. */
static void mf_put_str(mf_buf *b, const char *s) {
  mf_printf(b, " \"");
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (mf_plain(*p)) mf_printf(b, "%c", *p);
    else mf_printf(b, "%%%02X", *p);
  }
  mf_printf(b, "\"");
}

/* The sha256 of n doubles as little-endian bytes (what the description
 * records, whatever this host's byte order). */
static void mf_sha_doubles(double *v, size_t n, char hex[65]) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  for (size_t i = 0; i < n; i++) {
    unsigned char *b = (unsigned char *)&v[i];
    for (int k = 0; k < 4; k++) { unsigned char t = b[k]; b[k] = b[7 - k]; b[7 - k] = t; }
  }
  sae_fetch_sha256(v, n * sizeof *v, hex);
  for (size_t i = 0; i < n; i++) {
    unsigned char *b = (unsigned char *)&v[i];
    for (int k = 0; k < 4; k++) { unsigned char t = b[k]; b[k] = b[7 - k]; b[7 - k] = t; }
  }
#else
  sae_fetch_sha256(v, n * sizeof *v, hex);
#endif
}

/* The sha256 of the plugin file providing t, or "" if it was linked in. */
static int mf_plugin_sha(const char *file, char hex[65]) {
  hex[0] = '\0';
  return file ? sae_fetch_file_sha256(file, hex) : 0;
}

/* A valid, unused MATLAB name for node_tensor into out (MF_NAME_MAX + 1). */
static void mf_varname(const char *node, const char *tensor, char (*used)[MF_NAME_MAX + 1],
                       size_t n_used, char out[MF_NAME_MAX + 1]) {
  char base[MF_NAME_MAX + 1];
  size_t n = 0;
  if (!((*node >= 'a' && *node <= 'z') || (*node >= 'A' && *node <= 'Z'))) base[n++] = 'n';
  for (int part = 0; part < 2; part++) {
    const char *s = part ? tensor : node;
    if (part && n < MF_NAME_MAX) base[n++] = '_';
    for (; *s && n < MF_NAME_MAX; s++) {
      unsigned char c = (unsigned char)*s;
      int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      base[n++] = ok ? (char)c : '_';
    }
  }
  base[n] = '\0';
  for (unsigned k = 1;; k++) {
    if (k == 1) {
      memcpy(out, base, n + 1);
    } else {
      char suffix[16];
      int sl = snprintf(suffix, sizeof suffix, "_%u", k);
      size_t keep = n + (size_t)sl > MF_NAME_MAX ? MF_NAME_MAX - (size_t)sl : n;
      memcpy(out, base, keep);
      memcpy(out + keep, suffix, (size_t)sl + 1);
    }
    int clash = strcmp(out, MF_VAR) == 0;
    for (size_t i = 0; i < n_used && !clash; i++) clash = strcmp(used[i], out) == 0;
    if (!clash) return;
  }
}

/* ---- save -------------------------------------------------------------------- */

/* A stored tensor: its column-major copy in the scratch block, its sum. */
typedef struct mf_out {
  size_t off, rows, cols;
  char sha[65];
} mf_out;

/* The description of m into b (format at the top); 0, or SAE_EIO when a
 * plugin file cannot be read for its sum.  Run in the C locale. */
static int mf_describe(const sae_model *m, const sae_registry *reg, char (*var)[MF_NAME_MAX + 1],
                       const mf_out *outs, mf_buf *b, sae_error *e) {
  mf_printf(b, "saelab_model %d\nsaelab", SAE_MODELFILE_VERSION);
  mf_put_str(b, sae_version());
  mf_printf(b, "\nn_in %zu\nnodes %zu\n", sae_model_n_in(m), sae_model_nodes(m));
  size_t k = 0;
  for (size_t i = 0; i < sae_model_nodes(m); i++) {
    const sae_node *nd = sae_model_node(m, i);
    const sae_type *t = nd->type;
    mf_printf(b, "node");
    mf_put_str(b, sae_model_node_name(m, i));
    mf_put_str(b, t->name);
    int in = sae_model_node_input(m, i);
    if (in == MF_NONE) mf_printf(b, "\ninput -\n");
    else mf_printf(b, "\ninput %d\n", in + 1);
    const char *tt;
    int tie = sae_model_node_tie(m, i, &tt), share = sae_model_node_share(m, i);
    if (tie < 0) {
      mf_printf(b, "tie -\n");
    } else {
      mf_printf(b, "tie %d", tie + 1);
      mf_put_str(b, tt ? tt : "");
      mf_printf(b, "\n");
    }
    if (share < 0) mf_printf(b, "share -\n");
    else mf_printf(b, "share %d\n", share + 1);
    const sae_plugin *owner;
    const char *file = sae_registry_type_file(reg, t, &owner);
    char sha[65];
    if (mf_plugin_sha(file, sha))
      return sae_error_set(e, SAE_EIO, "cannot read plugin %s (for its sha256): %s", file,
                           strerror(errno));
    mf_printf(b, "plugin");
    mf_put_str(b, owner && owner->name ? owner->name : "");
    mf_put_str(b, owner && owner->version ? owner->version : "");
    mf_put_str(b, file ? file : "");
    mf_put_str(b, sha);
    mf_printf(b, "\n");
    for (size_t h = 0; h < sae_type_hparam_count(t); h++) {
      mf_printf(b, "hp");
      mf_put_str(b, t->hparams[h].name);
      mf_printf(b, " %.17g\n", nd->hp[h]);
    }
    for (size_t j = 0; j < nd->n_tensors; j++) {
      mf_printf(b, "tensor");
      mf_put_str(b, nd->tensor[j].name);
      mf_printf(b, " %zu %zu", nd->tensor[j].rows, nd->tensor[j].cols); /* its own shape, not its owner's */
      if (sae_model_tensor_is_alias(m, i, j)) {
        mf_printf(b, " -\n");
      } else {
        mf_put_str(b, var[k]);
        mf_put_str(b, outs[k].sha);
        mf_printf(b, "\n");
        k++;
      }
    }
  }
  mf_printf(b, "end\n");
  return 0;
}

/* matio reports a failed write as a bare status, fwrite's errno still set:
 * one line naming the file (and the variable) with strerror when known. */
static int mf_write_failed(sae_error *e, const char *path, const char *var) {
  int err = errno;
  return sae_error_set(e, SAE_EIO, "cannot write %s%s%s%s: %s", path, var ? " (variable " : "",
                       var ? var : "", var ? ")" : "", err ? strerror(err) : "matio failed");
}

/* matio (1.5.x) does not check its own fwrite and fclose: a full disk or
 * a file-size limit gives a short file and a success status.  So the file
 * is read back whole and compared with what was written (a model is saved
 * rarely; reading it back costs about what writing did).  0 if it matches. */
static int mf_verify(const char *tmp, const mf_buf *text, char (*var)[MF_NAME_MAX + 1],
                     const mf_out *outs, size_t n_out, const double *block) {
  mat_t *mat = Mat_Open(tmp, MAT_ACC_RDONLY);
  if (!mat) return -1;
  int bad = 0;
  matvar_t *v = Mat_VarRead(mat, MF_VAR);
  if (!v || v->rank != 2 || v->dims[1] != text->n || v->data_type != MAT_T_UINT16 || !v->data)
    bad = 1;
  for (size_t i = 0; !bad && i < text->n; i++)
    bad = ((const mat_uint16_t *)v->data)[i] != (unsigned char)text->s[i];
  Mat_VarFree(v);
  for (size_t k = 0; k < n_out && !bad; k++) {
    v = Mat_VarRead(mat, var[k]);
    bad = !v || v->rank != 2 || v->dims[0] != outs[k].rows || v->dims[1] != outs[k].cols ||
          v->data_type != MAT_T_DOUBLE || (outs[k].rows * outs[k].cols > 0 && !v->data) ||
          memcmp(v->data, block + outs[k].off, outs[k].rows * outs[k].cols * sizeof *block);
    Mat_VarFree(v);
  }
  Mat_Close(mat);
  return bad ? -1 : 0;
}

static int mf_write(const char *tmp, const char *path, const mf_buf *text, char (*var)[MF_NAME_MAX + 1],
                    const mf_out *outs, size_t n_out, double *block, sae_error *e) {
  mat_t *mat = Mat_CreateVer(tmp, "saelab model (MAT 5): sae.load(path) in saelab, "
                                  "scipy.io.loadmat(path) in Python", MAT_FT_MAT5);
  if (!mat)
    return sae_error_set(e, SAE_EIO, "cannot write %s: %s", path,
                         errno ? strerror(errno) : "matio refused");
  /* Characters as UTF-16 code units, as MATLAB writes them: matio 1.5.23
   * writes a compressed 8-bit char array with a matrix tag counting two
   * bytes a character, which readers that trust the tag read past. */
  int rc = 0;
  mat_uint16_t *u = malloc((text->n ? text->n : 1) * sizeof *u);
  if (!u) {
    Mat_Close(mat);
    return sae_error_set(e, SAE_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < text->n; i++) u[i] = (unsigned char)text->s[i];
  size_t dims[2] = {1, text->n};
  matvar_t *v = Mat_VarCreate(MF_VAR, MAT_C_CHAR, MAT_T_UINT16, 2, dims, u, MAT_F_DONT_COPY_DATA);
  errno = 0;
  if (!v || Mat_VarWrite(mat, v, MAT_COMPRESSION_ZLIB))
    rc = mf_write_failed(e, path, MF_VAR);
  int werr = errno; /* the first fwrite failure, which matio does not report */
  Mat_VarFree(v);
  free(u);
  for (size_t k = 0; k < n_out && !rc; k++) {
    size_t d[2] = {outs[k].rows, outs[k].cols};
    v = Mat_VarCreate(var[k], MAT_C_DOUBLE, MAT_T_DOUBLE, 2, d, block + outs[k].off,
                      MAT_F_DONT_COPY_DATA);
    errno = 0;
    if (!v || Mat_VarWrite(mat, v, MAT_COMPRESSION_ZLIB))
      rc = mf_write_failed(e, path, var[k]);
    if (!werr) werr = errno;
    Mat_VarFree(v);
  }
  errno = 0;
  if (Mat_Close(mat) && !rc) rc = mf_write_failed(e, path, NULL);
  if (!werr) werr = errno;
  if (!rc && mf_verify(tmp, text, var, outs, n_out, block)) {
    errno = werr;
    rc = mf_write_failed(e, path, NULL);
  }
  return rc;
}

int sae_model_save(sae_model *m, const sae_registry *reg, const char *path, sae_error *e) {
  gsl_vector *theta = sae_model_theta(m);
  if (!theta) return sae_error_set(e, SAE_ESTATE, "save %s: the model is not built", path);
  size_t n_out = 0, total = 0;
  for (size_t i = 0; i < sae_model_nodes(m); i++)
    for (size_t j = 0; j < sae_model_node(m, i)->n_tensors; j++)
      if (!sae_model_tensor_is_alias(m, i, j)) {
        const gsl_matrix *w = &sae_model_node(m, i)->param[j];
        n_out++;
        total += w->size1 * w->size2;
      }
  mf_out *outs = calloc(n_out ? n_out : 1, sizeof *outs);
  char (*var)[MF_NAME_MAX + 1] = calloc(n_out ? n_out : 1, sizeof *var);
  double *block = malloc((total ? total : 1) * sizeof *block);
  mf_buf text = {NULL, 0, 0, 0};
  mf_locale loc;
  int rc = 0, in_c = 0;
  if (!outs || !var || !block) {
    rc = sae_error_set(e, SAE_ENOMEM, "save %s: out of memory", path);
    goto done;
  }
  /* Column-major copies of the owned tensors, their names and sums. */
  size_t k = 0, off = 0;
  for (size_t i = 0; i < sae_model_nodes(m); i++) {
    const sae_node *nd = sae_model_node(m, i);
    for (size_t j = 0; j < nd->n_tensors; j++) {
      if (sae_model_tensor_is_alias(m, i, j)) continue;
      const gsl_matrix *w = &nd->param[j];
      mf_out *o = &outs[k];
      *o = (mf_out){off, w->size1, w->size2, ""};
      for (size_t c = 0; c < w->size2; c++)
        for (size_t r = 0; r < w->size1; r++) block[off + r + c * w->size1] = gsl_matrix_get(w, r, c);
      mf_sha_doubles(block + off, w->size1 * w->size2, o->sha);
      mf_varname(sae_model_node_name(m, i), nd->tensor[j].name, var, k, var[k]);
      off += w->size1 * w->size2;
      k++;
    }
  }
  if (mf_locale_enter(&loc)) {
    rc = sae_error_set(e, SAE_ENOMEM, "save %s: cannot make the C locale", path);
    goto done;
  }
  in_c = 1;
  rc = mf_describe(m, reg, var, outs, &text, e);
  mf_locale_leave(&loc);
  in_c = 0;
  if (rc) {
    char why[SAE_ERRMSG_SIZE];
    snprintf(why, sizeof why, "%s", e ? e->msg : "");
    rc = sae_error_set(e, rc, "save %s: %s", path, why);
    goto done;
  }
  if (text.oom) {
    rc = sae_error_set(e, SAE_ENOMEM, "save %s: out of memory", path);
    goto done;
  }

  /* matio writes by name: the helper's temporary file, released to it,
   * then committed (fsync, rename) only if every write and the close worked. */
  sae_atomic_file af;
  if ((rc = sae_atomic_open(&af, path, e)) || (rc = sae_atomic_release(&af, e))) goto done;
  errno = 0;
  rc = mf_write(af.tmp, path, &text, var, outs, n_out, block, e);
  if (rc) sae_atomic_abort(&af);
  else rc = sae_atomic_commit(&af, e);
done:
  if (in_c) mf_locale_leave(&loc);
  free(text.s);
  free(block);
  free(var);
  free(outs);
  return rc;
}

/* ---- the description's parser ------------------------------------------------- */

typedef struct mf_tensor {
  char *name;
  size_t rows, cols;
  char *var; /* NULL: a tied or shared tensor, stored with its owner */
  char sha[65];
} mf_tensor;

typedef struct mf_node {
  char *name, *type;
  int input;        /* MF_NONE, -1 (the model's input) or an earlier node, 0-based */
  int tie, share;   /* -1 or an earlier node, 0-based */
  char *tie_tensor; /* "" when the whole node is tied */
  char *plugin, *plugin_version, *plugin_file;
  char plugin_sha[65];
  size_t n_hp;
  char *hp_name[MF_MAX_HP];
  double hp[MF_MAX_HP];
  size_t n_tensors;
  mf_tensor tensor[SAE_MAX_TENSORS];
} mf_node;

typedef struct mf_desc {
  size_t n_in, n_nodes;
  char *saelab;
  mf_node *node;
} mf_desc;

static void mf_desc_free(mf_desc *d) {
  for (size_t i = 0; d->node && i < d->n_nodes; i++) {
    mf_node *n = &d->node[i];
    free(n->name);
    free(n->type);
    free(n->tie_tensor);
    free(n->plugin);
    free(n->plugin_version);
    free(n->plugin_file);
    for (size_t h = 0; h < n->n_hp; h++) free(n->hp_name[h]);
    for (size_t j = 0; j < n->n_tensors; j++) {
      free(n->tensor[j].name);
      free(n->tensor[j].var);
    }
  }
  free(d->node);
  free(d->saelab);
}

typedef struct mf_parse {
  const char *p, *end;
  size_t line;
  const char *path;
  locale_t c;
  sae_error *e;
} mf_parse;

static int mf_bad(mf_parse *P, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int mf_bad(mf_parse *P, const char *fmt, ...) {
  char why[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  return sae_error_set(P->e, SAE_EDATA, "%s: %s line %zu: %s", P->path, MF_VAR, P->line, why);
}

static int mf_at_end_of_field(const mf_parse *P) {
  return P->p == P->end || *P->p == ' ' || *P->p == '\n';
}

/* What stands at the cursor, for messages: the rest of the field in
 * quotes (shortened), or what is there instead of a field. */
static const char *mf_here(const mf_parse *P, char buf[24]) {
  size_t n = 0;
  buf[n++] = '\'';
  for (const char *q = P->p; q < P->end && *q != ' ' && *q != '\n' && n < 21; q++) buf[n++] = *q;
  buf[n++] = '\'';
  buf[n] = '\0';
  if (n > 2) return buf;
  return P->p == P->end ? "the end of the text" : *P->p == ' ' ? "a space" : "the end of the line";
}

static int mf_is_word(const mf_parse *P, const char *w) {
  size_t n = strlen(w);
  return (size_t)(P->end - P->p) > n && memcmp(P->p, w, n) == 0 &&
         (P->p[n] == ' ' || P->p[n] == '\n');
}

static int mf_word(mf_parse *P, const char *w) {
  char buf[24];
  if (!mf_is_word(P, w)) return mf_bad(P, "expected '%s', found %s", w, mf_here(P, buf));
  P->p += strlen(w);
  return 0;
}

static int mf_space(mf_parse *P) {
  if (P->p < P->end && *P->p == ' ') {
    P->p++;
    return 0;
  }
  return mf_bad(P, "a field is missing");
}

static int mf_eol(mf_parse *P) {
  char buf[24];
  if (P->p < P->end && *P->p == '\n') {
    P->p++;
    P->line++;
    return 0;
  }
  return mf_bad(P, "expected the end of the line, found %s", mf_here(P, buf));
}

/* A decimal integer in [0, max]: digits only, no leading zero. */
static int mf_uint(mf_parse *P, size_t max, const char *what, size_t *v) {
  const char *s = P->p;
  size_t x = 0;
  char buf[24];
  if (s == P->end || *s < '0' || *s > '9' || (*s == '0' && s + 1 < P->end && s[1] >= '0' && s[1] <= '9'))
    return mf_bad(P, "%s: a whole number expected, found %s", what, mf_here(P, buf));
  for (; s < P->end && *s >= '0' && *s <= '9'; s++) {
    size_t d = (size_t)(*s - '0');
    if (x > (SIZE_MAX - d) / 10 || 10 * x + d > max)
      return mf_bad(P, "%s: larger than %zu", what, max);
    x = 10 * x + d;
  }
  P->p = s;
  if (!mf_at_end_of_field(P))
    return mf_bad(P, "%s: a whole number expected, found %s", what, mf_here(P, buf));
  *v = x;
  return 0;
}

/* A node reference on the line of node `cur` (0-based): "-" -> none_value,
 * "0" -> -1 (the model's input) if allow_input, "k" (1 <= k <= cur) -> k-1. */
static int mf_ref(mf_parse *P, size_t cur, int allow_input, int none_value, const char *what,
                  int *v) {
  if (P->p < P->end && *P->p == '-') {
    P->p++;
    if (!mf_at_end_of_field(P)) return mf_bad(P, "%s: '-' or a node number expected", what);
    *v = none_value;
    return 0;
  }
  size_t k;
  int rc = mf_uint(P, INT_MAX, what, &k);
  if (rc) return rc;
  if (k > cur) return mf_bad(P, "%s: node %zu does not come before this one (%zu)", what, k, cur + 1);
  if (k == 0 && !allow_input) return mf_bad(P, "%s: node 0 (the input) cannot be %s", what, what);
  *v = (int)k - 1;
  return 0;
}

static int mf_hexval(char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A quoted string, decoded into a new allocation (its length checked first). */
static int mf_str(mf_parse *P, const char *what, char **out) {
  char buf[24];
  if (P->p == P->end || *P->p != '"')
    return mf_bad(P, "%s: a quoted string expected, found %s", what, mf_here(P, buf));
  const char *s = P->p + 1;
  size_t n = 0;
  for (const char *q = s;; n++) {
    if (q == P->end) return mf_bad(P, "%s: the string is not closed", what);
    unsigned char c = (unsigned char)*q;
    if (c == '"') break;
    if (c == '%') {
      int hi = q + 2 < P->end ? mf_hexval(q[1]) : -1, lo = hi >= 0 ? mf_hexval(q[2]) : -1;
      if (lo < 0) return mf_bad(P, "%s: '%%' must be followed by two hex digits", what);
      if (hi == 0 && lo == 0) return mf_bad(P, "%s: a NUL byte (%%00) is not allowed", what);
      q += 3;
    } else if (mf_plain(c)) {
      q++;
    } else {
      return mf_bad(P, "%s: byte 0x%02x must be written %%%02X", what, c, c);
    }
    if (n >= MF_STR_MAX) return mf_bad(P, "%s: longer than %d bytes", what, MF_STR_MAX);
  }
  char *d = malloc(n + 1);
  if (!d) return sae_error_set(P->e, SAE_ENOMEM, "%s: out of memory", P->path);
  size_t i = 0;
  while (*s != '"') {
    if (*s == '%') {
      d[i++] = (char)(mf_hexval(s[1]) * 16 + mf_hexval(s[2]));
      s += 3;
    } else {
      d[i++] = *s++;
    }
  }
  d[i] = '\0';
  P->p = s + 1;
  if (!mf_at_end_of_field(P)) {
    free(d);
    return mf_bad(P, "%s: a space or the end of the line must follow the string", what);
  }
  *out = d;
  return 0;
}

/* A quoted sha256: "" (allow_empty) or 64 lower-case hex digits. */
static int mf_sha(mf_parse *P, int allow_empty, const char *what, char out[65]) {
  char *s;
  int rc = mf_str(P, what, &s);
  if (rc) return rc;
  size_t n = strlen(s), ok = n == 64 || (allow_empty && n == 0);
  for (size_t i = 0; ok && i < n; i++) ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
  if (ok) memcpy(out, s, n + 1);
  free(s);
  return ok ? 0 : mf_bad(P, "%s: a sha256 (64 lower-case hex digits) expected", what);
}

/* A finite number as %.17g writes it, read in the C locale: the whole
 * field must be the number (digits, sign, point, exponent: no inf, nan or
 * hex). */
static int mf_num(mf_parse *P, const char *what, double *v) {
  char buf[MF_NUM_MAX + 1];
  size_t n = 0;
  int ok = 1;
  for (const char *q = P->p; q < P->end && *q != ' ' && *q != '\n'; q++, n++)
    ok = ok && n < MF_NUM_MAX && *q && strchr("0123456789+-.eE", *q);
  if (!ok || n == 0) {
    char h[24];
    return mf_bad(P, "%s: a finite number expected, found %s", what, mf_here(P, h));
  }
  memcpy(buf, P->p, n);
  buf[n] = '\0';
  char *endp;
  double x = strtod_l(buf, &endp, P->c);
  if (endp != buf + n || !isfinite(x)) {
    char h[24];
    return mf_bad(P, "%s: a finite number expected, found %s", what, mf_here(P, h));
  }
  P->p += n;
  *v = x;
  return 0;
}

static int mf_valid_varname(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > MF_NAME_MAX || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
    return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '_'))
      return 0;
  return 1;
}

static int mf_parse_tensor(mf_parse *P, mf_node *n) {
  int rc;
  if (n->n_tensors == SAE_MAX_TENSORS)
    return mf_bad(P, "node %s: more than %d tensors", n->name, SAE_MAX_TENSORS);
  mf_tensor *t = &n->tensor[n->n_tensors];
  if ((rc = mf_word(P, "tensor")) || (rc = mf_space(P)) || (rc = mf_str(P, "tensor name", &t->name)))
    return rc;
  n->n_tensors++; /* from here on t->name is the node's to free */
  for (size_t j = 0; j + 1 < n->n_tensors; j++)
    if (strcmp(n->tensor[j].name, t->name) == 0)
      return mf_bad(P, "node %s: tensor \"%s\" listed twice", n->name, t->name);
  if ((rc = mf_space(P)) || (rc = mf_uint(P, INT_MAX, "rows", &t->rows)) || (rc = mf_space(P)) ||
      (rc = mf_uint(P, INT_MAX, "cols", &t->cols)) || (rc = mf_space(P)))
    return rc;
  if (P->p < P->end && *P->p == '-') {
    P->p++;
    return mf_eol(P);
  }
  if ((rc = mf_str(P, "variable", &t->var))) return rc;
  if (!mf_valid_varname(t->var) || strcmp(t->var, MF_VAR) == 0)
    return mf_bad(P, "variable \"%s\" is not a valid MAT variable name", t->var);
  if ((rc = mf_space(P)) || (rc = mf_sha(P, 0, "tensor sha256", t->sha))) return rc;
  return mf_eol(P);
}

static int mf_parse_node(mf_parse *P, size_t cur, mf_node *n) {
  int rc;
  if ((rc = mf_word(P, "node")) || (rc = mf_space(P)) || (rc = mf_str(P, "node name", &n->name)) ||
      (rc = mf_space(P)) || (rc = mf_str(P, "type", &n->type)) || (rc = mf_eol(P)))
    return rc;
  if ((rc = mf_word(P, "input")) || (rc = mf_space(P)) ||
      (rc = mf_ref(P, cur, 1, MF_NONE, "input", &n->input)) || (rc = mf_eol(P)))
    return rc;
  if ((rc = mf_word(P, "tie")) || (rc = mf_space(P)) || (rc = mf_ref(P, cur, 0, -1, "tie", &n->tie)))
    return rc;
  if (n->tie >= 0 && ((rc = mf_space(P)) || (rc = mf_str(P, "tied tensor", &n->tie_tensor))))
    return rc;
  if ((rc = mf_eol(P)) || (rc = mf_word(P, "share")) || (rc = mf_space(P)) ||
      (rc = mf_ref(P, cur, 0, -1, "share", &n->share)) || (rc = mf_eol(P)))
    return rc;
  if ((rc = mf_word(P, "plugin")) || (rc = mf_space(P)) || (rc = mf_str(P, "plugin", &n->plugin)) ||
      (rc = mf_space(P)) || (rc = mf_str(P, "plugin version", &n->plugin_version)) ||
      (rc = mf_space(P)) || (rc = mf_str(P, "plugin file", &n->plugin_file)) ||
      (rc = mf_space(P)) || (rc = mf_sha(P, 1, "plugin sha256", n->plugin_sha)) || (rc = mf_eol(P)))
    return rc;
  while (mf_is_word(P, "hp")) {
    if (n->n_hp == MF_MAX_HP)
      return mf_bad(P, "node %s: more than %d hyper-parameters", n->name, MF_MAX_HP);
    char **name = &n->hp_name[n->n_hp];
    if ((rc = mf_word(P, "hp")) || (rc = mf_space(P)) || (rc = mf_str(P, "hyper-parameter", name)))
      return rc;
    n->n_hp++;
    for (size_t h = 0; h + 1 < n->n_hp; h++)
      if (strcmp(n->hp_name[h], *name) == 0)
        return mf_bad(P, "node %s: hyper-parameter %s listed twice", n->name, *name);
    if ((rc = mf_space(P)) || (rc = mf_num(P, *name, &n->hp[n->n_hp - 1])) || (rc = mf_eol(P)))
      return rc;
  }
  while (mf_is_word(P, "tensor"))
    if ((rc = mf_parse_tensor(P, n))) return rc;
  return 0;
}

static int mf_parse_text(const char *text, size_t len, const char *path, locale_t c, mf_desc *d,
                         sae_error *e) {
  mf_parse P = {text, text + len, 1, path, c, e};
  size_t version;
  int rc;
  if (!mf_is_word(&P, MF_VAR))
    return sae_error_set(e, SAE_EDATA, "%s: %s does not start with '%s N'", path, MF_VAR, MF_VAR);
  if ((rc = mf_word(&P, MF_VAR)) || (rc = mf_space(&P)) ||
      (rc = mf_uint(&P, 1000000, "format version", &version)))
    return rc;
  if (version != SAE_MODELFILE_VERSION)
    return mf_bad(&P, "format %zu; this saelab reads format %d (a newer saelab wrote it?)", version,
                  SAE_MODELFILE_VERSION);
  if ((rc = mf_eol(&P)) || (rc = mf_word(&P, "saelab")) || (rc = mf_space(&P)) ||
      (rc = mf_str(&P, "saelab version", &d->saelab)) || (rc = mf_eol(&P)) ||
      (rc = mf_word(&P, "n_in")) || (rc = mf_space(&P)) ||
      (rc = mf_uint(&P, INT_MAX, "n_in", &d->n_in)) || (rc = mf_eol(&P)))
    return rc;
  if (d->n_in == 0) return mf_bad(&P, "n_in must be at least 1");
  size_t n_nodes;
  if ((rc = mf_word(&P, "nodes")) || (rc = mf_space(&P)) ||
      (rc = mf_uint(&P, len / MF_NODE_MIN_BYTES, "nodes (bounded by the text's length)", &n_nodes)) ||
      (rc = mf_eol(&P)))
    return rc;
  if (n_nodes == 0) return mf_bad(&P, "the model has no nodes");
  if (!(d->node = calloc(n_nodes, sizeof *d->node)))
    return sae_error_set(e, SAE_ENOMEM, "%s: out of memory for %zu nodes", path, n_nodes);
  for (size_t i = 0; i < n_nodes; i++) {
    d->n_nodes = i + 1; /* what mf_desc_free must look at */
    if ((rc = mf_parse_node(&P, i, &d->node[i]))) return rc;
  }
  if ((rc = mf_word(&P, "end")) || (rc = mf_eol(&P))) return rc;
  if (P.p != P.end) return mf_bad(&P, "text after 'end'");
  return 0;
}

/* ---- load ------------------------------------------------------------------------ */

/* "a, b, c" naming the variables of mat (at most len bytes). */
static void mf_names(mat_t *mat, char *buf, size_t len) {
  size_t n = 0, used = 0;
  char **dir = Mat_GetDir(mat, &n); /* owned by mat */
  buf[0] = '\0';
  for (size_t i = 0; dir && i < n && used < len; i++)
    used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", dir[i]);
  if (!dir || n == 0) snprintf(buf, len, "none");
}

/* The top-level data elements must end exactly at the end of the file:
 * matio reads a cut-short compressed variable without a word (zeros, or a
 * stream without its checksum), so a file cut short is caught here, from
 * the element tags alone (MAT 5: 8-byte tags, 4-byte small elements,
 * uncompressed elements padded to 8 bytes). */
static int mf_check_extent(const char *path, off_t size, sae_error *e) {
  FILE *f = fopen(path, "rb");
  if (!f) return sae_error_set(e, SAE_EIO, "%s: cannot open: %s", path, strerror(errno));
  unsigned char h[8];
  int rc = 0, big = 0;
  off_t pos = 128;
  if (fseeko(f, 126, SEEK_SET) || fread(h, 1, 2, f) != 2) {
    rc = sae_error_set(e, SAE_EDATA, "%s: cannot read the MAT header", path);
  } else {
    big = h[0] == 'M' && h[1] == 'I';
  }
  while (!rc && pos < size) {
    if (size - pos < 8) {
      rc = sae_error_set(e, SAE_EDATA, "%s: cut short: %lld stray bytes after the last variable",
                         path, (long long)(size - pos));
      break;
    }
    if (fseeko(f, pos, SEEK_SET) || fread(h, 1, 8, f) != 8) {
      rc = sae_error_set(e, SAE_EIO, "%s: cannot read at byte %lld", path, (long long)pos);
      break;
    }
    unsigned long w0 = big ? (unsigned long)h[0] << 24 | (unsigned long)h[1] << 16 | h[2] << 8 | h[3]
                           : (unsigned long)h[3] << 24 | (unsigned long)h[2] << 16 | h[1] << 8 | h[0];
    unsigned long w1 = big ? (unsigned long)h[4] << 24 | (unsigned long)h[5] << 16 | h[6] << 8 | h[7]
                           : (unsigned long)h[7] << 24 | (unsigned long)h[6] << 16 | h[5] << 8 | h[4];
    off_t n;
    if (w0 >> 16) n = 0; /* a small element: its data sits in the tag's second word */
    else n = (off_t)w1 + (w0 == 15 ? 0 : (off_t)(-w1 & 7)); /* 15: miCOMPRESSED, unpadded */
    if (n > size - pos - 8)
      rc = sae_error_set(e, SAE_EDATA, "%s: cut short: a variable at byte %lld needs %lld bytes, "
                         "the file ends after %lld", path, (long long)pos, (long long)n,
                         (long long)(size - pos - 8));
    pos += 8 + n;
  }
  fclose(f);
  return rc;
}

/* The description's bytes (a new allocation of *len + 1, '\0'-terminated). */
static int mf_read_text(mat_t *mat, const char *path, char **out, size_t *len, sae_error *e) {
  matvar_t *v = Mat_VarReadInfo(mat, MF_VAR);
  if (!v) {
    char names[200];
    mf_names(mat, names, sizeof names);
    return sae_error_set(e, SAE_EDATA,
                         "%s: no %s variable: a MAT file, but not a saelab model, or cut short "
                         "(variables: %s)", path, MF_VAR, names);
  }
  int ok = v->class_type == MAT_C_CHAR && v->rank == 2 && v->dims[0] == 1 && v->dims[1] >= 1 &&
           v->dims[1] <= MF_TEXT_MAX;
  size_t n = ok ? v->dims[1] : 0;
  Mat_VarFree(v);
  if (!ok)
    return sae_error_set(e, SAE_EDATA, "%s: %s is not a 1 x N char array of at most %zu bytes",
                         path, MF_VAR, MF_TEXT_MAX);
  v = Mat_VarRead(mat, MF_VAR);
  int rc = 0;
  char *s = malloc(n + 1);
  if (!s) {
    rc = sae_error_set(e, SAE_ENOMEM, "%s: out of memory", path);
  } else if (!v || !v->data || v->rank != 2 || v->dims[0] != 1 || v->dims[1] != n) {
    rc = sae_error_set(e, SAE_EDATA, "%s: %s cannot be read: the file is damaged or cut short",
                       path, MF_VAR);
  } else if ((v->data_type == MAT_T_UINT8 || v->data_type == MAT_T_INT8 ||
              v->data_type == MAT_T_UTF8) && v->nbytes == n) {
    memcpy(s, v->data, n);
  } else if ((v->data_type == MAT_T_UINT16 || v->data_type == MAT_T_UTF16) && v->nbytes == 2 * n) {
    const mat_uint16_t *u = v->data; /* Octave and MATLAB save char as UTF-16 */
    for (size_t i = 0; i < n && !rc; i++) {
      if (u[i] > 0x7e)
        rc = sae_error_set(e, SAE_EDATA, "%s: %s holds a non-ASCII character", path, MF_VAR);
      s[i] = (char)u[i];
    }
  } else {
    rc = sae_error_set(e, SAE_EDATA, "%s: %s has an unexpected encoding (matio type %d)", path,
                       MF_VAR, v ? (int)v->data_type : -1);
  }
  Mat_VarFree(v);
  for (size_t i = 0; !rc && i < n; i++)
    if (s[i] != '\n' && (s[i] < 0x20 || s[i] > 0x7e))
      rc = sae_error_set(e, SAE_EDATA, "%s: %s holds byte 0x%02x (only printable ASCII and "
                         "newlines belong there): damaged?", path, MF_VAR, (unsigned char)s[i]);
  if (rc) {
    free(s);
    return rc;
  }
  s[n] = '\0';
  *out = s;
  *len = n;
  return 0;
}

/* Prefix e's message with "path: node NAME: ". */
static int mf_wrap(sae_error *e, int rc, const char *path, const char *node) {
  char why[SAE_ERRMSG_SIZE];
  snprintf(why, sizeof why, "%s", e ? e->msg : "");
  return sae_error_set(e, rc, "%s: node %s: %s", path, node, why);
}

/* The current type of each node, its plugin checked against the file. */
static int mf_check_types(const mf_desc *d, const sae_registry *reg, const char *path,
                          unsigned flags, const sae_type **types, sae_error *e) {
  for (size_t i = 0; i < d->n_nodes; i++) {
    const mf_node *n = &d->node[i];
    const sae_type *t = sae_registry_find(reg, n->type);
    if (!t)
      return sae_error_set(e, SAE_ETYPE, "%s: node %s: no loaded plugin provides type '%s' "
                           "(saved from plugin %s, %s)", path, n->name, n->type,
                           *n->plugin ? n->plugin : "?", *n->plugin_file ? n->plugin_file : "linked in");
    types[i] = t;
    if (flags & SAE_LOAD_ANY_PLUGIN) continue;
    const sae_plugin *pl = NULL;
    const char *file = sae_registry_type_file(reg, t, &pl);
    const char *pname = pl && pl->name ? pl->name : "", *pver = pl && pl->version ? pl->version : "";
    if (strcmp(pname, n->plugin) != 0 || strcmp(pver, n->plugin_version) != 0)
      return sae_error_set(e, SAE_EPLUGIN,
                           "%s: node %s: type '%s' now comes from plugin %s %s, saved with %s %s: "
                           "its tensors may mean something else (sae.load(path, {check_plugins = "
                           "false}) loads anyway)", path, n->name, n->type, pname, pver,
                           n->plugin, n->plugin_version);
    if (!(flags & SAE_LOAD_SAME_FILE)) continue;
    char sha[65];
    if (mf_plugin_sha(file, sha))
      return sae_error_set(e, SAE_EIO, "%s: node %s: cannot read plugin %s: %s", path, n->name,
                           file, strerror(errno));
    if (strcmp(sha, n->plugin_sha) != 0)
      return sae_error_set(e, SAE_EPLUGIN,
                           "%s: node %s: type '%s' now comes from %s (sha256 %.12s), saved with "
                           "%s (sha256 %.12s), and check_plugins = \"sha256\" asks for the same "
                           "file", path, n->name,
                           n->type, file ? file : "a linked-in plugin", *sha ? sha : "none",
                           *n->plugin_file ? n->plugin_file : "a linked-in plugin",
                           *n->plugin_sha ? n->plugin_sha : "none");
  }
  return 0;
}

/* Add the nodes as saved; the wiring model.c made must be the saved one. */
static int mf_add_nodes(sae_model *m, const mf_desc *d, const sae_type **types, const char *path,
                        sae_error *e) {
  int last_flow = -1; /* model.c's default input: the last node that is not a regularizer */
  for (size_t i = 0; i < d->n_nodes; i++) {
    const mf_node *n = &d->node[i];
    const char *input = NULL, *share = NULL;
    char *tie = NULL;
    if (n->input != MF_NONE && n->input != last_flow)
      input = n->input < 0 ? "input" : d->node[n->input].name;
    if (n->share >= 0) share = d->node[n->share].name;
    if (n->tie >= 0) {
      const char *tn = d->node[n->tie].name;
      size_t len = strlen(tn) + strlen(n->tie_tensor) + 2;
      if (!(tie = malloc(len))) return sae_error_set(e, SAE_ENOMEM, "%s: out of memory", path);
      snprintf(tie, len, *n->tie_tensor ? "%s.%s" : "%s", tn, n->tie_tensor);
    }
    int rc = sae_model_add(m, types[i], n->name, input, tie, share, n->n_hp,
                           (const char *const *)n->hp_name, n->hp, e);
    free(tie);
    if (rc) return mf_wrap(e, rc, path, n->name);
    const char *tt;
    int got_tie = sae_model_node_tie(m, i, &tt);
    if (sae_model_node_input(m, i) != n->input || got_tie != n->tie ||
        sae_model_node_share(m, i) != n->share ||
        (n->tie >= 0 && strcmp(tt ? tt : "", n->tie_tensor) != 0))
      return sae_error_set(e, SAE_EDATA, "%s: node %s: its input, tie or share cannot be rebuilt "
                           "from the node names (a name with a '.' or named \"input\"?)", path,
                           n->name);
    if (types[i]->kind != SAE_KIND_REGULARIZER) last_flow = (int)i;
  }
  return 0;
}

/* Each node's setup() on a copy, before the model allocates anything: the
 * shapes the saved hyper-parameters give must be the saved ones, and the
 * stored data may not be more than the file could hold. */
static int mf_dry_setup(const sae_model *m, const mf_desc *d, off_t file_size, const char *path,
                        size_t *max_stored, sae_error *e) {
  size_t *n_out = calloc(d->n_nodes, sizeof *n_out);
  if (!n_out) return sae_error_set(e, SAE_ENOMEM, "%s: out of memory", path);
  double stored_bytes = 0;
  int rc = 0;
  *max_stored = 0;
  for (size_t i = 0; i < d->n_nodes && !rc; i++) {
    const mf_node *n = &d->node[i];
    sae_node nd = *sae_model_node(m, i);
    int in = sae_model_node_input(m, i);
    nd.n_in = in == MF_NONE ? 0 : in < 0 ? d->n_in : n_out[in];
    nd.msg[0] = '\0';
    if ((rc = nd.type->setup(&nd))) {
      rc = sae_error_set(e, rc, "%s: node %s (%s): %s", path, n->name, n->type,
                         nd.msg[0] ? nd.msg : sae_strerror(rc));
      break;
    }
    n_out[i] = nd.n_out;
    if (nd.n_tensors != n->n_tensors) {
      rc = sae_error_set(e, SAE_EDATA, "%s: node %s (%s) has %zu tensors, the file lists %zu",
                         path, n->name, n->type, nd.n_tensors, n->n_tensors);
      break;
    }
    for (size_t j = 0; j < nd.n_tensors && !rc; j++) {
      const sae_tensor_spec *s = &nd.tensor[j];
      const mf_tensor *t = &n->tensor[j];
      if (strcmp(s->name, t->name) != 0 || s->rows != t->rows || s->cols != t->cols)
        rc = sae_error_set(e, SAE_EDATA, "%s: node %s: tensor %zu is %s %zux%zu, the file has "
                           "%s %zux%zu", path, n->name, j + 1, s->name, s->rows, s->cols,
                           t->name, t->rows, t->cols);
      else if (t->var) {
        stored_bytes += 8.0 * (double)t->rows * (double)t->cols;
        if (t->rows * t->cols > *max_stored) *max_stored = t->rows * t->cols;
      }
    }
  }
  if (!rc && stored_bytes > (double)MF_DEFLATE_RATIO * (double)file_size + 65536.0)
    rc = sae_error_set(e, SAE_EDATA, "%s: the tensors need %.0f bytes, more than a file of %lld "
                       "bytes can hold: damaged", path, stored_bytes, (long long)file_size);
  /* A tied or shared tensor is a view of a stored one: no larger. */
  for (size_t i = 0; i < d->n_nodes && !rc; i++)
    for (size_t j = 0; j < d->node[i].n_tensors && !rc; j++) {
      const mf_tensor *t = &d->node[i].tensor[j];
      if (!t->var && t->rows * t->cols > *max_stored)
        rc = sae_error_set(e, SAE_EDATA, "%s: node %s: tied tensor %s (%zux%zu) is larger than "
                           "every stored tensor", path, d->node[i].name, t->name, t->rows, t->cols);
    }
  free(n_out);
  return rc;
}

/* Every stored tensor's variable is there, real double, of the saved shape. */
static int mf_check_vars(mat_t *mat, const mf_desc *d, const char *path, sae_error *e) {
  for (size_t i = 0; i < d->n_nodes; i++)
    for (size_t j = 0; j < d->node[i].n_tensors; j++) {
      const mf_tensor *t = &d->node[i].tensor[j];
      if (!t->var) continue;
      matvar_t *v = Mat_VarReadInfo(mat, t->var);
      if (!v)
        return sae_error_set(e, SAE_EDATA, "%s: variable %s (node %s, tensor %s) is missing: "
                             "the file is cut short?", path, t->var, d->node[i].name, t->name);
      int ok = v->class_type == MAT_C_DOUBLE && !v->isComplex && v->rank == 2 &&
               v->dims[0] == t->rows && v->dims[1] == t->cols;
      Mat_VarFree(v);
      if (!ok)
        return sae_error_set(e, SAE_EDATA, "%s: variable %s is not a real double %zux%zu matrix",
                             path, t->var, t->rows, t->cols);
    }
  return 0;
}

/* After build: the same tensors are stored, then their data copied in. */
static int mf_fill(mat_t *mat, sae_model *m, const mf_desc *d, size_t max_stored, const char *path,
                   sae_error *e) {
  double *buf = malloc((max_stored ? max_stored : 1) * sizeof *buf);
  if (!buf) return sae_error_set(e, SAE_ENOMEM, "%s: out of memory", path);
  int rc = 0;
  for (size_t i = 0; i < d->n_nodes && !rc; i++) {
    const mf_node *n = &d->node[i];
    for (size_t j = 0; j < n->n_tensors && !rc; j++) {
      const mf_tensor *t = &n->tensor[j];
      if ((t->var == NULL) != (sae_model_tensor_is_alias(m, i, j) != 0)) {
        rc = sae_error_set(e, SAE_EDATA, "%s: node %s: tensor %s is %s in the file but not in "
                           "the rebuilt model", path, n->name, t->name, t->var ? "stored" : "tied");
        break;
      }
      if (!t->var) continue;
      matvar_t *v = Mat_VarReadInfo(mat, t->var);
      int start[2] = {0, 0}, stride[2] = {1, 1}, edge[2] = {(int)t->rows, (int)t->cols};
      char sha[65];
      if (!v || v->dims[0] != t->rows || v->dims[1] != t->cols ||
          Mat_VarReadData(mat, v, buf, start, stride, edge)) {
        rc = sae_error_set(e, SAE_EDATA, "%s: variable %s cannot be read: damaged or cut short",
                           path, t->var);
      } else {
        mf_sha_doubles(buf, t->rows * t->cols, sha);
        if (strcmp(sha, t->sha) != 0)
          rc = sae_error_set(e, SAE_EDATA, "%s: variable %s: sha256 %.12s, the file recorded "
                             "%.12s: damaged or cut short", path, t->var, sha, t->sha);
      }
      Mat_VarFree(v);
      if (rc) break;
      gsl_matrix *w;
      if ((rc = sae_model_tensor(m, i, t->name, &w, e))) break;
      for (size_t c = 0; c < t->cols; c++)
        for (size_t r = 0; r < t->rows; r++) gsl_matrix_set(w, r, c, buf[r + c * t->rows]);
    }
  }
  free(buf);
  return rc;
}

int sae_model_load(const char *path, const sae_registry *reg, gsl_rng *rng, unsigned flags,
                   sae_model **out, sae_error *e) {
  *out = NULL;
  struct stat st;
  FILE *probe = fopen(path, "rb"); /* Mat_Open does not say why it failed */
  if (!probe) return sae_error_set(e, SAE_EIO, "%s: cannot open: %s", path, strerror(errno));
  int is_file = fstat(fileno(probe), &st) == 0 && S_ISREG(st.st_mode);
  fclose(probe);
  if (!is_file) return sae_error_set(e, SAE_EIO, "%s: not a regular file", path);
  if (st.st_size < 128)
    return sae_error_set(e, SAE_EDATA, "%s: %lld bytes, not a saelab model (a MAT 5 file has a "
                         "128-byte header): empty or cut short", path, (long long)st.st_size);
  /* The MAT 5 header before matio: given anything else, Mat_Open tries MAT 4,
   * whose reader allocates what a header says before reading it. */
  unsigned char h[128];
  probe = fopen(path, "rb");
  int is_mat5 = probe && fread(h, 1, sizeof h, probe) == sizeof h &&
                ((h[126] == 'I' && h[127] == 'M' && h[124] == 0x00 && h[125] == 0x01) ||
                 (h[126] == 'M' && h[127] == 'I' && h[124] == 0x01 && h[125] == 0x00));
  if (probe) fclose(probe);
  if (!is_mat5)
    return sae_error_set(e, SAE_EDATA, "%s: not a MAT file of version 5 (no MAT 5 header): a "
                         "saelab model is a MAT 5 file written by net:save", path);
  int rc = sae_mat_check(path, e); /* sizes that matio would allocate unread */
  if (rc) return rc;
  mat_t *mat = Mat_Open(path, MAT_ACC_RDONLY);
  if (!mat)
    return sae_error_set(e, SAE_EDATA, "%s: not a MAT file (a saelab model is a MAT 5 file "
                         "written by net:save)", path);
  char *text = NULL;
  size_t len = 0;
  mf_desc d = {0, 0, NULL, NULL};
  const sae_type **types = NULL;
  sae_model *m = NULL;
  mf_locale loc;
  size_t max_stored = 0;
  if (Mat_GetVersion(mat) != MAT_FT_MAT5) {
    rc = sae_error_set(e, SAE_EDATA, "%s: a MAT file of version 0x%04x, not a saelab model "
                       "(net:save writes MAT 5)", path, (unsigned)Mat_GetVersion(mat));
    goto done;
  }
  if ((rc = mf_check_extent(path, st.st_size, e)) || (rc = mf_read_text(mat, path, &text, &len, e)))
    goto done;
  if (mf_locale_enter(&loc)) {
    rc = sae_error_set(e, SAE_ENOMEM, "%s: cannot make the C locale", path);
    goto done;
  }
  rc = mf_parse_text(text, len, path, loc.c, &d, e);
  mf_locale_leave(&loc);
  if (rc) goto done;
  if (!(types = calloc(d.n_nodes, sizeof *types)) || !(m = sae_model_alloc(d.n_in))) {
    rc = sae_error_set(e, SAE_ENOMEM, "%s: out of memory", path);
    goto done;
  }
  if ((rc = mf_check_types(&d, reg, path, flags, types, e)) ||
      (rc = mf_add_nodes(m, &d, types, path, e)) ||
      (rc = mf_dry_setup(m, &d, st.st_size, path, &max_stored, e)) ||
      (rc = mf_check_vars(mat, &d, path, e)))
    goto done;
  if ((rc = sae_model_build(m, rng, e))) {
    char why[SAE_ERRMSG_SIZE];
    snprintf(why, sizeof why, "%s", e ? e->msg : "");
    rc = sae_error_set(e, rc, "%s: %s", path, why);
    goto done;
  }
  if ((rc = mf_fill(mat, m, &d, max_stored, path, e))) goto done;
  *out = m;
  m = NULL;
done:
  sae_model_free(m);
  free(types);
  mf_desc_free(&d);
  free(text);
  Mat_Close(mat);
  return rc;
}
