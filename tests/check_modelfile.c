/* check_modelfile.c -- model files (modelfile.c): round trips in C (ties by
 * tensor, shares, node names that are not MATLAB names), and every refusal:
 * files that are not MAT files, a foreign MAT file, a description broken in
 * each way the parser checks, a missing type, a changed plugin, a tensor
 * whose data or recorded sum changed, saves that cannot complete.
 * (tests/lua/modelfile.lua cuts a file at every length and has the other
 * readers' view of the weights.) */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gsl/gsl_rng.h>
#include <matio.h>
#include "model.h"
#include "modelfile.h"
#include "registry.h"

static sae_registry *reg;
static gsl_rng *rng;
static char dir[256];
#define MAX_FILES 64
static char files[MAX_FILES][512];
static size_t n_files;

static void setup(void) {
  sae_error_init();
  reg = sae_registry_alloc();
  ck_assert_ptr_nonnull(reg);
  const char *pd = getenv("SAE_TEST_PLUGIN_DIR");
  ck_assert_msg(pd != NULL, "SAE_TEST_PLUGIN_DIR is not set");
  ck_assert_uint_ge(sae_registry_load_path(reg, pd), 4);
  rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, 2385);
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/check_modelfile.XXXXXX", tmp && *tmp ? tmp : "/tmp");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  n_files = 0;
}

static void teardown(void) {
  for (size_t i = n_files; i-- > 0;) {
    if (remove(files[i]) && errno != ENOENT) fprintf(stderr, "cannot remove %s\n", files[i]);
  }
  rmdir(dir);
  gsl_rng_free(rng);
  sae_registry_free(reg);
}

/* A path in the scratch directory, removed by teardown. */
static const char *scratch(const char *name) {
  ck_assert_uint_lt(n_files, MAX_FILES);
  snprintf(files[n_files], sizeof files[0], "%s/%s", dir, name);
  return files[n_files++];
}

/* Temporary files of name (atomic_write.h's name.tmp.PID.N) left in the scratch directory. */
static int tmp_files(const char *name) {
  char prefix[256];
  int n = 0;
  snprintf(prefix, sizeof prefix, "%s.tmp", name);
  DIR *d = opendir(dir);
  struct dirent *de;
  while (d && (de = readdir(d))) n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
  if (d) closedir(d);
  return n;
}

static const sae_type *T(const char *name) {
  const sae_type *t = sae_registry_find(reg, name);
  ck_assert_msg(t != NULL, "type %s not registered", name);
  return t;
}

static void add(sae_model *m, const char *type, const char *name, const char *tie,
                const char *share, const char *hp, double v) {
  const char *names[1] = {hp};
  double values[1] = {v};
  sae_error e = {0, ""};
  int rc = sae_model_add(m, T(type), name, NULL, tie, share, hp ? 1 : 0, names, values, &e);
  ck_assert_msg(rc == 0, "%s", e.msg);
}

/* 6-4-6 with a tied decoder, KL and weight decay (node names as in the
 * mutations below). */
static sae_model *small_model(void) {
  sae_model *m = sae_model_alloc(6);
  add(m, "dense", "enc", NULL, NULL, "n_out", 4);
  add(m, "sigmoid", "code", NULL, NULL, NULL, 0);
  add(m, "kl", "kl", NULL, NULL, "beta", 2.385);
  add(m, "dense", "dec", "enc", NULL, "n_out", 6);
  add(m, "sigmoid", "out", NULL, NULL, NULL, 0);
  add(m, "squared_error", "loss", NULL, NULL, NULL, 0);
  add(m, "l2", "decay", NULL, NULL, "lambda", 1e-3);
  sae_error e = {0, ""};
  ck_assert_msg(sae_model_build(m, rng, &e) == 0, "%s", e.msg);
  return m;
}

static double cost_on(sae_model *m) {
  gsl_matrix *x = gsl_matrix_alloc(5, sae_model_n_in(m));
  for (size_t i = 0; i < x->size1; i++)
    for (size_t j = 0; j < x->size2; j++) gsl_matrix_set(x, i, j, 0.1 + 0.13 * (double)((i * 7 + j * 3) % 8));
  sae_batch b = {x->size1, x, x, NULL, SAE_MODE_TRAIN, NULL, NULL};
  double c;
  sae_error e = {0, ""};
  ck_assert_msg(sae_model_eval(m, &b, &c, &e) == 0, "%s", e.msg);
  gsl_matrix_free(x);
  return c;
}

static void assert_same(sae_model *a, sae_model *b) {
  gsl_vector *ta = sae_model_theta(a), *tb = sae_model_theta(b);
  ck_assert_uint_eq(ta->size, tb->size);
  ck_assert(memcmp(ta->data, tb->data, ta->size * sizeof(double)) == 0);
  ck_assert(cost_on(a) == cost_on(b));
}

static sae_model *load_ok(const char *path, const sae_registry *r, unsigned flags) {
  sae_model *m = NULL;
  sae_error e = {0, ""};
  int rc = sae_model_load(path, r, rng, flags, &m, &e);
  ck_assert_msg(rc == 0, "load %s: %s", path, e.msg);
  ck_assert_ptr_nonnull(m);
  return m;
}

/* sae_model_load must fail with code and a message containing want. */
static void load_fails(const char *path, const sae_registry *r, unsigned flags, int code,
                       const char *want) {
  sae_model *m = (sae_model *)&m; /* must come back NULL */
  sae_error e = {0, ""};
  int rc = sae_model_load(path, r, rng, flags, &m, &e);
  ck_assert_msg(rc == code, "%s: code %d (%s), expected %d", path, rc, e.msg, code);
  ck_assert_ptr_null(m);
  ck_assert_msg(strstr(e.msg, want) != NULL, "message '%s' lacks '%s'", e.msg, want);
  ck_assert_msg(strncmp(e.msg, path, strlen(path)) == 0, "message '%s' does not start with the path",
                e.msg);
  ck_assert_msg(strchr(e.msg, '\n') == NULL, "message '%s' has more than one line", e.msg);
}

static void save_ok(sae_model *m, const char *path) {
  sae_error e = {0, ""};
  ck_assert_msg(sae_model_save(m, reg, path, &e) == 0, "%s", e.msg);
}

/* The description of a saved file (a new allocation). */
static char *read_text(const char *path) {
  mat_t *mat = Mat_Open(path, MAT_ACC_RDONLY);
  ck_assert_ptr_nonnull(mat);
  matvar_t *v = Mat_VarRead(mat, "saelab_model");
  ck_assert_ptr_nonnull(v);
  size_t n = v->dims[1];
  char *s = malloc(n + 1);
  ck_assert_ptr_nonnull(s);
  ck_assert_int_eq(v->data_type, MAT_T_UINT16);
  for (size_t i = 0; i < n; i++) s[i] = (char)((const mat_uint16_t *)v->data)[i];
  s[n] = '\0';
  Mat_VarFree(v);
  Mat_Close(mat);
  return s;
}

/* dst: src's variables with the description replaced by text and, if
 * var_name is given, that variable's first entry changed. */
static void write_with(const char *src, const char *dst, const char *text, const char *var_name) {
  mat_t *in = Mat_Open(src, MAT_ACC_RDONLY), *out = Mat_CreateVer(dst, NULL, MAT_FT_MAT5);
  ck_assert_ptr_nonnull(in);
  ck_assert_ptr_nonnull(out);
  matvar_t *v;
  while ((v = Mat_VarReadNext(in)) != NULL) {
    if (strcmp(v->name, "saelab_model") == 0) {
      size_t n = strlen(text), dims[2] = {1, n};
      mat_uint16_t *u = malloc((n ? n : 1) * sizeof *u);
      ck_assert_ptr_nonnull(u);
      for (size_t i = 0; i < n; i++) u[i] = (unsigned char)text[i];
      matvar_t *t = Mat_VarCreate("saelab_model", MAT_C_CHAR, MAT_T_UINT16, 2, dims, u, 0);
      ck_assert_int_eq(Mat_VarWrite(out, t, MAT_COMPRESSION_ZLIB), 0);
      Mat_VarFree(t);
      free(u);
    } else {
      if (var_name && strcmp(v->name, var_name) == 0) ((double *)v->data)[0] += 0.5;
      ck_assert_int_eq(Mat_VarWrite(out, v, MAT_COMPRESSION_ZLIB), 0);
    }
    Mat_VarFree(v);
  }
  Mat_Close(in);
  Mat_Close(out);
}

/* text with the first `old` replaced by `new` (a new allocation). */
static char *replace(const char *text, const char *old, const char *new) {
  const char *at = strstr(text, old);
  ck_assert_msg(at != NULL, "'%s' is not in the description", old);
  size_t n = strlen(text) - strlen(old) + strlen(new);
  char *s = malloc(n + 1);
  ck_assert_ptr_nonnull(s);
  snprintf(s, n + 1, "%.*s%s%s", (int)(at - text), text, new, at + strlen(old));
  return s;
}

START_TEST(test_round_trip) {
  sae_model *m = small_model();
  const char *p = scratch("small.mat");
  save_ok(m, p);
  struct stat st;
  ck_assert_int_eq(stat(p, &st), 0);
  ck_assert_int_eq(tmp_files("small.mat"), 0);
  sae_model *b = load_ok(p, reg, 0);
  assert_same(m, b);
  ck_assert(sae_model_tensor_is_alias(b, 3, 0)); /* dec's W is enc's again */
  int found;
  ck_assert(sae_model_get_hp(b, 2, "beta", &found) == 2.385 && found);
  char *text = read_text(p);
  ck_assert_ptr_nonnull(strstr(text, "tie 1 \"\"\n"));
  ck_assert_ptr_nonnull(strstr(text, "input -\n")); /* the regularizer */
  free(text);
  sae_model_free(b);
  sae_model_free(m);
}
END_TEST

/* Node names that are not MATLAB names become valid, distinct variables;
 * a tie by tensor name and a share come back. */
START_TEST(test_names_tie_share) {
  sae_model *m = sae_model_alloc(4);
  add(m, "dense", "a.b", NULL, NULL, "n_out", 4);
  add(m, "dense", "a_b", NULL, NULL, "n_out", 4);
  add(m, "dense", "1st \"layer\" %\xc3\xa9", NULL, "a_b", "n_out", 4);
  add(m, "dense", "dec", "a_b.W", NULL, "n_out", 4);
  add(m, "squared_error", NULL, NULL, NULL, NULL, 0);
  sae_error e = {0, ""};
  ck_assert_msg(sae_model_build(m, rng, &e) == 0, "%s", e.msg);
  const char *p = scratch("names.mat");
  save_ok(m, p);
  mat_t *mat = Mat_Open(p, MAT_ACC_RDONLY);
  ck_assert_ptr_nonnull(mat);
  const char *want[] = {"a_b_W", "a_b_b", "a_b_W_2", "a_b_b_2", "dec_b"};
  for (size_t i = 0; i < 5; i++) {
    matvar_t *v = Mat_VarReadInfo(mat, want[i]);
    ck_assert_msg(v != NULL, "no variable %s", want[i]);
    Mat_VarFree(v);
  }
  matvar_t *v = Mat_VarReadInfo(mat, "n1st__layer____W"); /* shared: not stored */
  ck_assert_ptr_null(v);
  Mat_Close(mat);
  char *text = read_text(p);
  ck_assert_ptr_nonnull(strstr(text, "node \"1st %22layer%22 %25%C3%A9\" \"dense\"\n"));
  ck_assert_ptr_nonnull(strstr(text, "share 2\n"));
  ck_assert_ptr_nonnull(strstr(text, "tie 2 \"W\"\n"));
  free(text);
  sae_model *b = load_ok(p, reg, 0);
  assert_same(m, b);
  ck_assert_str_eq(sae_model_node_name(b, 2), "1st \"layer\" %\xc3\xa9");
  ck_assert_int_eq(sae_model_node_share(b, 2), 1);
  const char *tt;
  ck_assert_int_eq(sae_model_node_tie(b, 3, &tt), 1);
  ck_assert_str_eq(tt, "W");
  sae_model_free(b);
  sae_model_free(m);
}
END_TEST

START_TEST(test_not_models) {
  load_fails("/etc/passwd", reg, 0, SAE_EDATA, "not a MAT file");
  /* Found by tests/fuzz/fuzz_model: anything but MAT 5 went to matio's MAT 4
   * reader, which malloc'ed a header's namlen (1.3 GB for this 292-byte
   * file) before reading it.  Now refused before matio sees it. */
  char regress[1024];
  const char *top = getenv("top_srcdir");
  snprintf(regress, sizeof regress, "%s/tests/fuzz/regress/mat-v4-namlen", top ? top : ".");
  load_fails(regress, reg, 0, SAE_EDATA, "not a MAT file of version 5 (no MAT 5 header)");
  load_fails(dir, reg, 0, SAE_EIO, "not a regular file");
  const char *none = scratch("none.mat");
  load_fails(none, reg, 0, SAE_EIO, "cannot open");
  const char *empty = scratch("empty.mat");
  FILE *f = fopen(empty, "wb");
  ck_assert_ptr_nonnull(f);
  fclose(f);
  load_fails(empty, reg, 0, SAE_EDATA, "empty or cut short");

  /* a MAT 5 file with other variables */
  const char *foreign = scratch("foreign.mat");
  mat_t *mat = Mat_CreateVer(foreign, NULL, MAT_FT_MAT5);
  ck_assert_ptr_nonnull(mat);
  double x[6] = {1, 2, 3, 4, 5, 6};
  size_t dims[2] = {2, 3};
  matvar_t *v = Mat_VarCreate("IMAGES", MAT_C_DOUBLE, MAT_T_DOUBLE, 2, dims, x, 0);
  ck_assert_int_eq(Mat_VarWrite(mat, v, MAT_COMPRESSION_ZLIB), 0);
  Mat_VarFree(v);
  Mat_Close(mat);
  load_fails(foreign, reg, 0, SAE_EDATA, "no saelab_model variable: a MAT file, but not a saelab "
             "model, or cut short (variables: IMAGES)");

  /* saelab_model that is not text */
  const char *dbl = scratch("double.mat");
  mat = Mat_CreateVer(dbl, NULL, MAT_FT_MAT5);
  v = Mat_VarCreate("saelab_model", MAT_C_DOUBLE, MAT_T_DOUBLE, 2, dims, x, 0);
  ck_assert_int_eq(Mat_VarWrite(mat, v, MAT_COMPRESSION_NONE), 0);
  Mat_VarFree(v);
  Mat_Close(mat);
  load_fails(dbl, reg, 0, SAE_EDATA, "is not a 1 x N char array");
}
END_TEST

/* Each check of the parser and of the rebuild, provoked by one change. */
START_TEST(test_bad_descriptions) {
  sae_model *m = small_model();
  const char *good = scratch("good.mat"), *bad = scratch("bad.mat");
  save_ok(m, good);
  sae_model_free(m);
  char *text = read_text(good);
  static const struct {
    const char *old, *new, *want;
    int code;
  } cases[] = {
    {"saelab_model 1\n", "saelab_model 2\n", "line 1: format 2; this saelab reads format 1", SAE_EDATA},
    {"saelab_model 1\n", "saelab_model  1\n", "line 1: format version: a whole number expected", SAE_EDATA},
    {"saelab_model 1\n", "saelab_modelx 1\n", "does not start with", SAE_EDATA},
    {"n_in 6\n", "n_in 06\n", "line 3: n_in: a whole number expected", SAE_EDATA},
    {"n_in 6\n", "n_in 0\n", "n_in must be at least 1", SAE_EDATA},
    {"n_in 6\n", "n_in 6\r\n", "holds byte 0x0d (only printable ASCII and newlines", SAE_EDATA},
    {"n_in 6\n", "n_in 6 \n", "line 3: expected the end of the line, found a space", SAE_EDATA},
    {"n_in 6\n", "n_in 6x\n", "line 3: n_in: a whole number expected, found 'x'", SAE_EDATA},
    {"plugin \"dense\" \"2.0\"", "plugin \"dense\" \"1.0\"",
     "node enc: type 'dense' now comes from plugin dense 2.0, saved with dense 1.0", SAE_EPLUGIN},
    {"n_in 6\n", "n_in 7\n", "node enc: tensor 1 is W 4x7, the file has W 4x6", SAE_EDATA},
    {"nodes 7\n", "nodes 99999\n", "nodes (bounded by the text's length): larger than", SAE_EDATA},
    {"nodes 7\n", "nodes 6\n", "expected 'end', found 'node'", SAE_EDATA},
    {"nodes 7\n", "nodes 0\n", "the model has no nodes", SAE_EDATA},
    {"input 1\n", "input 2\n", "line 18: input: node 2 does not come before this one (2)", SAE_EDATA},
    {"tie 1 \"\"\n", "tie 0 \"\"\n", "tie: node 0 (the input) cannot be tie", SAE_EDATA},
    {"tie 1 \"\"\n", "tie 1\n", "a field is missing", SAE_EDATA},
    {"node \"enc\"", "node \"en%00c\"", "a NUL byte (%00) is not allowed", SAE_EDATA},
    {"node \"enc\"", "node \"en%zzc\"", "must be followed by two hex digits", SAE_EDATA},
    {"node \"enc\"", "node \"en\tc\"", "holds byte 0x09", SAE_EDATA},
    {"node \"enc\"", "node \"en\nc\"", "line 5: node name: byte 0x0a must be written %0A", SAE_EDATA},
    {"node \"enc\"", "node \"enc", "a space or the end of the line must follow", SAE_EDATA},
    {"node \"enc\"", "node enc", "node name: a quoted string expected, found 'enc'", SAE_EDATA},
    {"hp \"rho\"", "hp \"beta\"", "hyper-parameter beta listed twice", SAE_EDATA},
    {"hp \"beta\" 2.3849999999999998\n", "hp \"beta\" inf\n", "beta: a finite number expected, found 'inf'", SAE_EDATA},
    {"hp \"beta\" 2.3849999999999998\n", "hp \"beta\" 1e999\n", "a finite number expected", SAE_EDATA},
    {"hp \"beta\" 2.3849999999999998\n", "hp \"beta\" 2.385.1\n", "a finite number expected", SAE_EDATA},
    {"hp \"beta\" 2.3849999999999998\n", "hp \"beta\" -1\n", "beta = -1 is outside", SAE_EHPARAM},
    {"hp \"n_out\" 4\n", "hp \"n_out\" 4.5\n", "must be a whole number", SAE_EHPARAM},
    {"hp \"n_out\" 4\n", "hp \"n_out\" 5\n", "node enc: tensor 1 is W 5x6, the file has W 4x6", SAE_EDATA},
    {"hp \"n_out\" 4\n", "hp \"n_outt\" 4\n", "unknown hyper-parameter 'n_outt'", SAE_EHPARAM},
    {"\"sigmoid\"", "\"sigmoidx\"", "no loaded plugin provides type 'sigmoidx'", SAE_ETYPE},
    {"\"enc_W\"", "\"1bad\"", "variable \"1bad\" is not a valid MAT variable name", SAE_EDATA},
    {"\"enc_W\"", "\"dec_b\"", "variable dec_b is not a real double 4x6 matrix", SAE_EDATA},
    {"\"enc_W\"", "\"zz_W\"", "variable zz_W (node enc, tensor W) is missing", SAE_EDATA},
    {"tensor \"W\" 4 6 \"enc_W\"", "tensor \"W\" 4 6 -\ntensor \"W\" 4 6 \"enc_W\"",
     "tensor \"W\" listed twice", SAE_EDATA},
    {"tensor \"W\" 6 4 -\n", "tensor \"W\" 6 4 -\ntensor \"V\" 6 4 -\n",
     "node dec (dense) has 2 tensors, the file lists 3", SAE_EDATA},
    {"end\n", "end\nmore\n", "text after 'end'", SAE_EDATA},
    {"end\n", "", "expected 'end', found the end of the text", SAE_EDATA},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *t = replace(text, cases[i].old, cases[i].new);
    write_with(good, bad, t, NULL);
    free(t);
    load_fails(bad, reg, 0, cases[i].code, cases[i].want);
  }

  /* a recorded sum that is not the data's, and data that is not the sum's */
  char *t = strdup(text), *at = strstr(t, "\"enc_W\" \"");
  ck_assert_ptr_nonnull(at);
  at += 9;
  *at = *at == '0' ? '1' : '0';
  write_with(good, bad, t, NULL);
  load_fails(bad, reg, 0, SAE_EDATA, "variable enc_W: sha256");
  free(t);
  write_with(good, bad, text, "dec_b");
  load_fails(bad, reg, 0, SAE_EDATA, "variable dec_b: sha256");
  /* the unchanged text rewritten by matio loads (the rewriting is not the cause) */
  write_with(good, bad, text, NULL);
  sae_model_free(load_ok(bad, reg, 0));

  /* a description over the size limit is refused before it is read */
  size_t big = ((size_t)1 << 20) + 1;
  char *huge = malloc(big + 1);
  ck_assert_ptr_nonnull(huge);
  memset(huge, ' ', big);
  huge[big] = '\0';
  write_with(good, bad, huge, NULL);
  free(huge);
  load_fails(bad, reg, 0, SAE_EDATA, "is not a 1 x N char array of at most 1048576 bytes");
  free(text);
}
END_TEST

/* A registry without the plugin of one node's type. */
START_TEST(test_missing_type) {
  sae_model *m = small_model();
  const char *p = scratch("m.mat");
  save_ok(m, p);
  sae_model_free(m);
  sae_registry *part = sae_registry_alloc();
  char so[1024];
  sae_error e = {0, ""};
  for (const char *const *n = (const char *const[]){"dense", "activation", "loss", "weight_decay", NULL};
       *n; n++) {
    snprintf(so, sizeof so, "%s/%s.so", getenv("SAE_TEST_PLUGIN_DIR"), *n);
    ck_assert_msg(sae_registry_load_file(part, so, &e) == 0, "%s", e.msg);
  }
  load_fails(p, part, 0, SAE_ETYPE, "node kl: no loaded plugin provides type 'kl' (saved from "
             "plugin penalty_kl, ");
  load_fails(p, part, SAE_LOAD_ANY_PLUGIN, SAE_ETYPE, "no loaded plugin provides type 'kl'");
  sae_registry_free(part);
}
END_TEST

static void copy_file(const char *src, const char *dst, const char *extra) {
  FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
  ck_assert_ptr_nonnull(in);
  ck_assert_ptr_nonnull(out);
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, in)) > 0) ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
  if (extra) fputs(extra, out);
  fclose(in);
  ck_assert_int_eq(fclose(out), 0);
}

/* The same type from a plugin file with another sha256 but the same version:
 * loads by default (a colleague's build), refused when the file must be the
 * same (SAE_LOAD_SAME_FILE).  Another version is test_bad_descriptions'. */
START_TEST(test_changed_plugin) {
  sae_model *m = small_model();
  const char *p = scratch("m.mat");
  save_ok(m, p);
  sae_registry *other = sae_registry_alloc();
  const char *names[] = {"dense", "activation", "loss", "weight_decay", "penalty_kl"};
  sae_error e = {0, ""};
  for (size_t i = 0; i < 5; i++) {
    char src[1024], name[64];
    snprintf(src, sizeof src, "%s/%s.so", getenv("SAE_TEST_PLUGIN_DIR"), names[i]);
    snprintf(name, sizeof name, "%s.so", names[i]);
    const char *dst = scratch(name);
    /* bytes after the end of the ELF file: it still loads, its sum differs */
    copy_file(src, dst, i == 0 ? "rebuilt" : NULL);
    ck_assert_msg(sae_registry_load_file(other, dst, &e) == 0, "%s", e.msg);
  }
  load_fails(p, other, SAE_LOAD_SAME_FILE, SAE_EPLUGIN, "node enc: type 'dense' now comes from ");
  load_fails(p, other, SAE_LOAD_SAME_FILE, SAE_EPLUGIN, "asks for the same file");
  sae_model *b = load_ok(p, other, 0);
  assert_same(m, b);
  sae_model_free(b);
  b = load_ok(p, other, SAE_LOAD_ANY_PLUGIN);
  assert_same(m, b);
  sae_model_free(b);
  sae_model_free(m);
  sae_registry_free(other);
}
END_TEST

START_TEST(test_save_errors) {
  sae_error e = {0, ""};
  sae_model *u = sae_model_alloc(3);
  add(u, "dense", NULL, NULL, NULL, NULL, 0);
  const char *p = scratch("unbuilt.mat");
  ck_assert_int_eq(sae_model_save(u, reg, p, &e), SAE_ESTATE);
  ck_assert_ptr_nonnull(strstr(e.msg, "not built"));
  ck_assert_int_ne(access(p, F_OK), 0);
  sae_model_free(u);

  sae_model *m = small_model();
  ck_assert_int_eq(sae_model_save(m, reg, "/nonexistent/dir/m.mat", &e), SAE_EIO);
  ck_assert_ptr_nonnull(strstr(e.msg, "cannot create /nonexistent/dir/m.mat: "));
  /* the rename fails (a directory is in the way): nothing is left behind */
  const char *d = scratch("adir");
  ck_assert_int_eq(mkdir(d, 0700), 0);
  ck_assert_int_eq(sae_model_save(m, reg, d, &e), SAE_EIO);
  ck_assert_ptr_nonnull(strstr(e.msg, "cannot rename"));
  ck_assert_int_eq(tmp_files("adir"), 0);
  /* an existing model file is replaced whole */
  const char *f = scratch("m.mat");
  save_ok(m, f);
  sae_model *other = small_model();
  save_ok(other, f);
  sae_model *b = load_ok(f, reg, 0);
  assert_same(other, b);
  sae_model_free(b);
  sae_model_free(other);
  sae_model_free(m);
}
END_TEST

static Suite *modelfile_suite(void) {
  Suite *s = suite_create("modelfile");
  TCase *core = tcase_create("core"), *errors = tcase_create("errors");
  tcase_add_checked_fixture(core, setup, teardown);
  tcase_add_checked_fixture(errors, setup, teardown);
  tcase_set_timeout(errors, 60);
  tcase_add_test(core, test_round_trip);
  tcase_add_test(core, test_names_tie_share);
  tcase_add_test(errors, test_not_models);
  tcase_add_test(errors, test_bad_descriptions);
  tcase_add_test(errors, test_missing_type);
  tcase_add_test(errors, test_changed_plugin);
  tcase_add_test(errors, test_save_errors);
  suite_add_tcase(s, core);
  suite_add_tcase(s, errors);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(modelfile_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
