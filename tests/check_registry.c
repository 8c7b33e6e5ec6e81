/* check_registry.c -- the plugin registry: loading, lookup, and every refusal.
 *
 * Environment (set by `make check`):
 *   SAE_TEST_PLUGIN_DIR   the built plugins (plugins/.libs): dense.so,
 *                         activation.so, loss.so, ... : however many there are
 *                         (adding a plugin needs no edit here), holding at least
 *                         the known types below
 *   SAE_TEST_FIXTURE_DIR  the built fixtures (tests/fixtures/.libs): bad_abi.so,
 *                         no_symbol.so, declines.so, small_size.so, dup_type.so,
 *                         buggy.so
 * TCases: core (what loads and how it is found), errors (what is refused, with
 * which one-line message, and that the rest still loads). */
#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "registry.h"

/* Types the tests lean on, grouped by plugin file in byte order, each
 * plugin's in its descriptor's order.  More may be built: a new plugin is
 * one Makefile.am line, and these tests count the files they find. */
static const struct {
  const char *type, *plugin;
} known[] = {{"sigmoid", "activation"}, {"tanh", "activation"},  {"relu", "activation"},
             {"identity", "activation"}, {"arora", "arora"},     {"dense", "dense"},
             {"squared_error", "loss"},  {"cross_entropy", "loss"}, {"kl", "penalty_kl"},
             {"l1", "penalty_l1"},       {"softmax", "softmax"},  {"topk", "topk"},
             {"ksparse", "topk"},        {"l2", "weight_decay"}};
#define N_KNOWN (sizeof known / sizeof known[0])
#define N_BUGGY_TYPES 4 /* tests/fixtures/buggy.c: buggy_sigmoid, buggy_l1, buggy_kl, buggy_gain */

static const char *env_dir(const char *var) {
  const char *d = getenv(var);
  ck_assert_msg(d && *d, "%s is not set (make check sets it)", var);
  return d;
}

static const char *plugin_dir(void) { return env_dir("SAE_TEST_PLUGIN_DIR"); }
static const char *fixture_dir(void) { return env_dir("SAE_TEST_FIXTURE_DIR"); }

/* dir/name into buf. */
static const char *join(char *buf, size_t n, const char *dir, const char *name) {
  ck_assert_int_lt(snprintf(buf, n, "%s/%s", dir, name), (int)n);
  return buf;
}

static int is_so(const struct dirent *d) {
  size_t n = strlen(d->d_name);
  return n > 3 && strcmp(d->d_name + n - 3, ".so") == 0;
}

/* How many *.so files dir holds: the plugins a scan of it must load. */
static size_t n_so(const char *dir) {
  struct dirent **list;
  int n = scandir(dir, &list, is_so, NULL);
  ck_assert_int_ge(n, 0);
  for (int i = 0; i < n; i++) free(list[i]);
  free(list);
  return (size_t)n;
}

/* The build tree's plugins, at least one per known plugin name. */
static size_t n_plugins(void) {
  size_t n = n_so(plugin_dir());
  ck_assert_uint_ge(n, 9);
  return n;
}

/* The number of types the build tree's plugins provide. */
static size_t n_types(void);

/* A registry holding every plugin of the build tree. */
static sae_registry *loaded(void) {
  sae_registry *r = sae_registry_alloc();
  ck_assert_ptr_nonnull(r);
  ck_assert_uint_eq(sae_registry_load_path(r, plugin_dir()), n_plugins());
  ck_assert_uint_eq(sae_registry_warnings(r), 0);
  return r;
}

static size_t n_types(void) {
  sae_registry *r = sae_registry_alloc();
  sae_registry_load_path(r, plugin_dir());
  size_t n = sae_registry_count(r);
  sae_registry_free(r);
  ck_assert_uint_ge(n, N_KNOWN);
  return n;
}

/* Index of type `name` in load order, or the count if absent. */
static size_t index_of(const sae_registry *r, const char *name) {
  size_t i = 0;
  for (const sae_type *t; (t = sae_registry_type(r, i, NULL, NULL)); i++)
    if (strcmp(t->name, name) == 0) break;
  return i;
}

static const char *base_of(const char *path) {
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

/* ---- core --------------------------------------------------------------------- */

START_TEST(test_load_and_find) {
  sae_registry *r = loaded();
  ck_assert_uint_eq(sae_registry_count(r), n_types());

  const sae_type *t = sae_registry_find(r, "dense");
  ck_assert_ptr_nonnull(t);
  ck_assert_str_eq(t->name, "dense");
  ck_assert_int_eq(t->kind, SAE_KIND_LAYER);
  ck_assert_ptr_nonnull(t->setup);
  ck_assert_ptr_nonnull(t->forward);
  ck_assert_ptr_nonnull(t->backward);
  ck_assert_int_eq(sae_registry_find(r, "relu")->flags & SAE_TYPE_NONSMOOTH, SAE_TYPE_NONSMOOTH);
  ck_assert_int_eq(sae_registry_find(r, "l1")->kind, SAE_KIND_PENALTY);
  ck_assert_int_eq(sae_registry_find(r, "l2")->kind, SAE_KIND_REGULARIZER);
  ck_assert_ptr_nonnull(sae_registry_find(r, "l2")->regularize);
  ck_assert_int_eq(sae_registry_find(r, "cross_entropy")->flags & SAE_TYPE_TARGET,
                   SAE_TYPE_TARGET);
  ck_assert_ptr_null(sae_registry_find(r, "no_such_type"));
  ck_assert_ptr_null(sae_registry_find(r, NULL));
  sae_registry_free(r);
}
END_TEST

START_TEST(test_load_order) {
  /* Files in byte order, types in descriptor order; every known type there. */
  sae_registry *r = loaded();
  size_t n = sae_registry_count(r);
  for (size_t k = 0; k < N_KNOWN; k++) {
    size_t i = index_of(r, known[k].type);
    ck_assert_msg(i < n, "type %s not loaded", known[k].type);
    const sae_plugin *owner = NULL;
    const char *origin = NULL;
    const sae_type *t = sae_registry_type(r, i, &owner, &origin);
    ck_assert_str_eq(owner->name, known[k].plugin);
    ck_assert_uint_eq(owner->abi, SAE_PLUGIN_ABI);
    ck_assert_ptr_nonnull(strstr(origin, known[k].plugin));
    ck_assert_ptr_eq(sae_registry_find(r, known[k].type), t);
    if (k > 0) /* later in the list, later in load order */
      ck_assert_msg(index_of(r, known[k - 1].type) < i, "%s loaded before %s", known[k].type,
                    known[k - 1].type);
  }
  for (size_t i = 1; i < n; i++) {
    const char *a, *b;
    sae_registry_type(r, i - 1, NULL, &a);
    sae_registry_type(r, i, NULL, &b);
    ck_assert_msg(strcmp(base_of(a), base_of(b)) <= 0, "%s loaded before %s", a, b);
  }
  ck_assert_ptr_null(sae_registry_type(r, n, NULL, NULL));
  /* Every plugin names its file, once. */
  ck_assert_uint_eq(sae_registry_plugins(r), n_plugins());
  for (size_t i = 0; i < sae_registry_plugins(r); i++) {
    const char *file = NULL;
    ck_assert_ptr_nonnull(sae_registry_plugin(r, i, &file));
    ck_assert_ptr_nonnull(file);
    ck_assert_msg(file[0] == '/', "not a real path: %s", file);
  }
  ck_assert_ptr_null(sae_registry_plugin(r, sae_registry_plugins(r), NULL));
  sae_registry_free(r);
}
END_TEST

START_TEST(test_hparam_index) {
  sae_registry *r = loaded();
  const sae_type *dense = sae_registry_find(r, "dense");
  ck_assert_uint_eq(sae_type_hparam_count(dense), 5);
  ck_assert_int_eq(sae_type_hparam_index(dense, "n_out"), 0);
  ck_assert_int_eq(sae_type_hparam_index(dense, "init_scale"), 1);
  ck_assert_int_eq(sae_type_hparam_index(dense, "bias"), 2);
  ck_assert_int_eq(sae_type_hparam_index(dense, "max_norm"), 3);
  ck_assert_int_eq(sae_type_hparam_index(dense, "norm_axis"), 4);
  ck_assert_int_eq(sae_type_hparam_index(dense, "lambda"), -1);
  ck_assert_int_eq(sae_type_hparam_index(dense, NULL), -1);
  const sae_type *l1 = sae_registry_find(r, "l1");
  ck_assert_int_eq(sae_type_hparam_index(l1, "lambda"), 0);
  ck_assert_double_eq_tol(l1->hparams[0].def, 1e-3, 1e-15);
  const sae_type *sig = sae_registry_find(r, "sigmoid");
  ck_assert_uint_eq(sae_type_hparam_count(sig), 0);
  ck_assert_int_eq(sae_type_hparam_index(sig, "lambda"), -1);
  ck_assert_int_eq(sae_type_hparam_index(NULL, "lambda"), -1);
  ck_assert_uint_eq(sae_type_hparam_count(NULL), 0);
  sae_registry_free(r);
}
END_TEST

START_TEST(test_kind_names) {
  ck_assert_str_eq(sae_kind_name(SAE_KIND_LAYER), "layer");
  ck_assert_str_eq(sae_kind_name(SAE_KIND_ACTIVATION), "activation");
  ck_assert_str_eq(sae_kind_name(SAE_KIND_PENALTY), "penalty");
  ck_assert_str_eq(sae_kind_name(SAE_KIND_LOSS), "loss");
  ck_assert_str_eq(sae_kind_name(SAE_KIND_REGULARIZER), "regularizer");
  ck_assert_str_eq(sae_kind_name((sae_kind)99), "unknown");
}
END_TEST

START_TEST(test_path_dedup) {
  /* The same directory three ways, empty entries, a missing directory: one scan. */
  char path[3 * PATH_MAX];
  const char *d = plugin_dir();
  snprintf(path, sizeof path, "::%s:%s/:/nonexistent/saelab-dir::%s/.", d, d, d);
  sae_registry *r = sae_registry_alloc();
  ck_assert_uint_eq(sae_registry_load_path(r, path), n_plugins());
  ck_assert_uint_eq(sae_registry_warnings(r), 0);
  size_t n = sae_registry_count(r);
  ck_assert_uint_eq(n, n_types());
  /* A second scan finds only files already loaded: skipped silently. */
  ck_assert_uint_eq(sae_registry_load_path(r, d), 0);
  ck_assert_uint_eq(sae_registry_warnings(r), 0);
  ck_assert_uint_eq(sae_registry_count(r), n);
  /* So is one file loaded again by name. */
  char file[PATH_MAX];
  sae_error e = {0, ""};
  ck_assert_int_eq(sae_registry_load_file(r, join(file, sizeof file, d, "dense.so"), &e), 0);
  ck_assert_uint_eq(sae_registry_count(r), n);
  ck_assert_uint_eq(sae_registry_load_path(r, ""), 0);
  ck_assert_uint_eq(sae_registry_load_path(r, ":::"), 0);
  sae_registry_free(r);
}
END_TEST

START_TEST(test_load_default) {
  char path[2 * PATH_MAX];
  snprintf(path, sizeof path, "/nonexistent/saelab-dir:%s", plugin_dir());
  ck_assert_int_eq(setenv("SAELAB_PLUGIN_PATH", path, 1), 0);
  sae_registry *r = sae_registry_alloc();
  ck_assert_uint_ge(sae_registry_load_default(r), n_plugins());
  ck_assert_ptr_nonnull(sae_registry_find(r, "dense"));
  ck_assert_ptr_nonnull(sae_registry_find(r, "l1"));
  sae_registry_free(r);
}
END_TEST

START_TEST(test_free_null) {
  sae_registry_free(NULL);
  ck_assert_uint_eq(sae_registry_count(NULL), 0);
  ck_assert_uint_eq(sae_registry_warnings(NULL), 0);
  ck_assert_ptr_null(sae_registry_warning(NULL, 0));
  ck_assert_ptr_null(sae_registry_find(NULL, "dense"));
  sae_registry *r = sae_registry_alloc();
  ck_assert_uint_eq(sae_registry_count(r), 0);
  ck_assert_ptr_null(sae_registry_warning(r, 0));
  sae_registry_free(r);
}
END_TEST

/* ---- errors ------------------------------------------------------------------- */

/* Loads fixture `name` into r, expects refusal with a message containing want. */
static void refused(sae_registry *r, const char *name, const char *want) {
  char file[PATH_MAX];
  sae_error e = {0, ""};
  size_t before = sae_registry_count(r);
  join(file, sizeof file, fixture_dir(), name);
  ck_assert_int_eq(sae_registry_load_file(r, file, &e), SAE_EPLUGIN);
  ck_assert_int_eq(e.code, SAE_EPLUGIN);
  ck_assert_msg(strstr(e.msg, want) != NULL, "%s: expected \"%s\" in \"%s\"", name, want, e.msg);
  ck_assert_msg(strncmp(e.msg, file, strlen(file)) == 0, "message should start with the file: %s",
                e.msg);
  ck_assert_ptr_null(strchr(e.msg, '\n'));
  ck_assert_uint_eq(sae_registry_count(r), before);
}

START_TEST(test_fixture_messages) {
  sae_registry *r = loaded();
  size_t n = sae_registry_count(r);
  refused(r, "bad_abi.so", "bad_abi.so: built for ABI 99, this is ABI 1");
  refused(r, "no_symbol.so", "no_symbol.so: not a saelab plugin (no saelab_plugin symbol)");
  refused(r, "declines.so", "declines.so: descriptor declined ABI 1 (returned NULL)");
  refused(r, "small_size.so", "small_size.so: descriptor size 8 smaller than ");
  refused(r, "dup_type.so", "dup_type.so: type \"sigmoid\" already provided by activation.so (");
  /* The planted-bug plugin is valid: it loads, and the gradient check is what catches it. */
  char file[PATH_MAX];
  sae_error e = {0, ""};
  join(file, sizeof file, fixture_dir(), "buggy.so");
  ck_assert_int_eq(sae_registry_load_file(r, file, &e), 0);
  ck_assert_ptr_nonnull(sae_registry_find(r, "buggy_sigmoid"));
  ck_assert_uint_eq(sae_registry_count(r), n + N_BUGGY_TYPES);
  sae_registry_free(r);
}
END_TEST

START_TEST(test_scan_keeps_going) {
  /* Plugins, then fixtures: five refusals become warnings, in file order. */
  static const char *const want[] = {"bad_abi.so: built for ABI 99",
                                     "declines.so: descriptor declined ABI 1",
                                     "dup_type.so: type \"sigmoid\" already provided",
                                     "no_symbol.so: not a saelab plugin",
                                     "small_size.so: descriptor size 8"};
  char path[2 * PATH_MAX];
  snprintf(path, sizeof path, "%s:%s", plugin_dir(), fixture_dir());
  sae_registry *r = sae_registry_alloc();
  /* + buggy, buggy_lista (lista.c with its planted BPTT bug: one type),
   * legacy (two types, in a descriptor of the older sae_type size) and
   * nan_emitter (one type) */
  ck_assert_uint_eq(sae_registry_load_path(r, path), n_plugins() + 4);
  ck_assert_uint_eq(sae_registry_count(r), n_types() + N_BUGGY_TYPES + 4);
  ck_assert_uint_eq(sae_registry_warnings(r), 5);
  for (size_t i = 0; i < 5; i++)
    ck_assert_msg(strstr(sae_registry_warning(r, i), want[i]) != NULL,
                  "warning %zu: expected \"%s\" in \"%s\"", i, want[i], sae_registry_warning(r, i));
  ck_assert_ptr_null(sae_registry_warning(r, 5));
  sae_registry_free(r);
}
END_TEST

START_TEST(test_junk_so) {
  char dir[] = "/tmp/check_registry.XXXXXX", file[PATH_MAX];
  ck_assert_ptr_nonnull(mkdtemp(dir));
  FILE *f = fopen(join(file, sizeof file, dir, "junk.so"), "w");
  ck_assert_ptr_nonnull(f);
  fputs("this is not a shared object\n", f);
  fclose(f);
  sae_registry *r = loaded();
  ck_assert_uint_eq(sae_registry_load_path(r, dir), 0);
  ck_assert_uint_eq(sae_registry_warnings(r), 1);
  const char *w = sae_registry_warning(r, 0);
  ck_assert_msg(strncmp(w, file, strlen(file)) == 0, "unexpected: %s", w);
  ck_assert_ptr_nonnull(strstr(w, "junk.so: cannot load: "));
  ck_assert_uint_eq(sae_registry_count(r), n_types());
  sae_error e = {0, ""};
  join(file, sizeof file, dir, "missing.so");
  ck_assert_int_eq(sae_registry_load_file(r, file, &e), SAE_EPLUGIN);
  ck_assert_ptr_nonnull(strstr(e.msg, "missing.so: cannot load: "));
  sae_registry_free(r);
  join(file, sizeof file, dir, "junk.so");
  unlink(file);
  rmdir(dir);
}
END_TEST

/* Descriptors built here, added directly: each check of sae_registry_add. */
static int ok_setup(sae_node *nd) {
  nd->n_out = nd->n_in;
  return SAE_OK;
}
static int ok_forward(sae_node *nd, const gsl_matrix *x, gsl_matrix *y, double *cost) {
  (void)nd, (void)cost;
  return gsl_matrix_memcpy(y, x);
}
static int ok_backward(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y,
                       const gsl_matrix *dy, gsl_matrix *dx) {
  (void)nd, (void)x, (void)y;
  return dx ? gsl_matrix_add(dx, dy) : SAE_OK;
}
static int ok_regularize(sae_node *nd, const gsl_matrix *w, gsl_matrix *dw, double *cost) {
  (void)nd, (void)w, (void)dw, (void)cost;
  return SAE_OK;
}

static const sae_hparam bad_default[] = {{"rho", 2.385, 0.0, 1.0, 0, "out of range"},
                                         {NULL, 0, 0, 0, 0, NULL}};
static const sae_hparam twice[] = {{"rho", 0.05, 0.0, 1.0, 0, ""},
                                   {"rho", 0.05, 0.0, 1.0, 0, ""},
                                   {NULL, 0, 0, 0, 0, NULL}};

static const sae_type t_good = {.name = "t_good", .kind = SAE_KIND_ACTIVATION, .setup = ok_setup,
                                .forward = ok_forward, .backward = ok_backward};
static const sae_type t_noname = {.kind = SAE_KIND_ACTIVATION, .setup = ok_setup,
                                  .forward = ok_forward, .backward = ok_backward};
static const sae_type t_nosetup = {.name = "t_nosetup", .kind = SAE_KIND_LAYER,
                                   .forward = ok_forward, .backward = ok_backward};
static const sae_type t_noback = {.name = "t_noback", .kind = SAE_KIND_LAYER, .setup = ok_setup,
                                  .forward = ok_forward};
static const sae_type t_nofwd = {.name = "t_nofwd", .kind = SAE_KIND_LOSS, .setup = ok_setup,
                                 .backward = ok_backward};
static const sae_type t_noreg = {.name = "t_noreg", .kind = SAE_KIND_REGULARIZER,
                                 .setup = ok_setup};
static const sae_type t_reg = {.name = "t_reg", .kind = SAE_KIND_REGULARIZER, .setup = ok_setup,
                               .regularize = ok_regularize};
static const sae_type t_badkind = {.name = "t_badkind", .kind = (sae_kind)42,
                                   .setup = ok_setup, .forward = ok_forward,
                                   .backward = ok_backward};
static const sae_type t_baddef = {.name = "t_baddef", .kind = SAE_KIND_PENALTY,
                                  .hparams = bad_default, .setup = ok_setup,
                                  .forward = ok_forward, .backward = ok_backward};
static const sae_type t_twice = {.name = "t_twice", .kind = SAE_KIND_PENALTY, .hparams = twice,
                                 .setup = ok_setup, .forward = ok_forward,
                                 .backward = ok_backward};

/* One plugin per bad type; the good type rides along to show nothing is half-added. */
#define ONE(var, pname, bad)                                                         \
  static const sae_type *const var##_types[] = {&t_good, &bad, NULL};                \
  static const sae_plugin var = {SAE_PLUGIN_HEADER, .name = pname, .version = "1",   \
                                 .summary = "", .types = var##_types}
ONE(p_noname, "p_noname", t_noname);
ONE(p_nosetup, "p_nosetup", t_nosetup);
ONE(p_noback, "p_noback", t_noback);
ONE(p_nofwd, "p_nofwd", t_nofwd);
ONE(p_noreg, "p_noreg", t_noreg);
ONE(p_badkind, "p_badkind", t_badkind);
ONE(p_baddef, "p_baddef", t_baddef);
ONE(p_twice, "p_twice", t_twice);
ONE(p_dup_in_self, "p_dup_in_self", t_good);

static const sae_type *const good_types[] = {&t_good, &t_reg, NULL};
static const sae_plugin p_good = {SAE_PLUGIN_HEADER, .name = "p_good", .version = "1",
                                  .summary = "", .types = good_types};
static const sae_type *const reg_types[] = {&t_reg, NULL};
static const sae_plugin p_same_name = {SAE_PLUGIN_HEADER, .name = "p_good", .version = "2",
                                       .summary = "", .types = reg_types};
static const sae_plugin p_small_type = {SAE_PLUGIN_ABI, (uint32_t)sizeof(sae_plugin),
                                        (uint32_t)offsetof(sae_type, update), .name = "p_st",
                                        .version = "1", .summary = "", .types = good_types};
static const sae_plugin p_noplugname = {SAE_PLUGIN_HEADER, .name = NULL, .version = "1",
                                        .summary = "", .types = good_types};

static void add_refused(sae_registry *r, const sae_plugin *p, const char *want) {
  sae_error e = {0, ""};
  size_t before = sae_registry_count(r);
  ck_assert_int_eq(sae_registry_add(r, p, "here.so", NULL, &e), SAE_EPLUGIN);
  ck_assert_msg(strstr(e.msg, want) != NULL, "expected \"%s\" in \"%s\"", want, e.msg);
  ck_assert_msg(strncmp(e.msg, "here.so: ", 9) == 0, "no origin: %s", e.msg);
  ck_assert_uint_eq(sae_registry_count(r), before);
}

START_TEST(test_add_refusals) {
  sae_registry *r = sae_registry_alloc();
  add_refused(r, NULL, "descriptor declined ABI 1 (returned NULL)");
  add_refused(r, &p_noname, "type #1 has no name");
  add_refused(r, &p_nosetup, "type \"t_nosetup\" has no setup()");
  add_refused(r, &p_noback, "type \"t_noback\" (layer) has no backward()");
  add_refused(r, &p_nofwd, "type \"t_nofwd\" (loss) has no forward()");
  add_refused(r, &p_noreg, "type \"t_noreg\" (regularizer) has no regularize()");
  add_refused(r, &p_badkind, "type \"t_badkind\" has unknown kind 42");
  add_refused(r, &p_baddef, "hyper-parameter \"rho\" default 2.385 outside [0, 1]");
  add_refused(r, &p_twice, "hyper-parameter \"rho\" listed twice");
  add_refused(r, &p_dup_in_self, "type \"t_good\" listed twice");
  add_refused(r, &p_small_type, "type size ");
  add_refused(r, &p_noplugname, "no plugin name");
  ck_assert_ptr_null(sae_registry_find(r, "t_good")); /* nothing was half-added */

  sae_error e = {0, ""};
  ck_assert_int_eq(sae_registry_add(r, &p_good, "linked-in", NULL, &e), 0);
  ck_assert_uint_eq(sae_registry_count(r), 2);
  add_refused(r, &p_same_name, "plugin \"p_good\" already loaded from linked-in");
  ck_assert_uint_eq(sae_registry_count(r), 2);
  ck_assert_ptr_nonnull(sae_registry_find(r, "t_reg"));
  sae_registry_free(r);
}
END_TEST

START_TEST(test_duplicate_plugin_file) {
  /* A copy of dense.so under another name: same plugin name, refused. */
  char dir[] = "/tmp/check_registry.XXXXXX", src[PATH_MAX], dst[PATH_MAX], cmd[3 * PATH_MAX];
  ck_assert_ptr_nonnull(mkdtemp(dir));
  join(src, sizeof src, plugin_dir(), "dense.so");
  join(dst, sizeof dst, dir, "dense_copy.so");
  snprintf(cmd, sizeof cmd, "cp '%s' '%s'", src, dst);
  ck_assert_int_eq(system(cmd), 0);
  sae_registry *r = loaded();
  sae_error e = {0, ""};
  ck_assert_int_eq(sae_registry_load_file(r, dst, &e), SAE_EPLUGIN);
  ck_assert_ptr_nonnull(strstr(e.msg, "dense_copy.so: plugin \"dense\" already loaded from "));
  ck_assert_uint_eq(sae_registry_count(r), n_types());
  sae_registry_free(r);
  unlink(dst);
  rmdir(dir);
}
END_TEST

/* mkdtemp under /tmp into buf (PATH_MAX). */
static char *temp_dir(char *buf) {
  snprintf(buf, PATH_MAX, "/tmp/check_registry.XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(buf));
  return buf;
}

/* cp a dir's file (or glob) into another dir. */
static void copy(const char *from_dir, const char *what, const char *to_dir) {
  char cmd[3 * PATH_MAX];
  snprintf(cmd, sizeof cmd, "cp %s/%s '%s'/", from_dir, what, to_dir);
  ck_assert_int_eq(system(cmd), 0);
}

static void remove_dir(const char *dir) {
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  ck_assert_int_eq(system(cmd), 0);
}

/* The origin of type `name` starts with dir. */
static void from_dir(const sae_registry *r, const char *name, const char *dir) {
  const char *origin = NULL;
  size_t i = index_of(r, name);
  ck_assert_ptr_nonnull(sae_registry_type(r, i, NULL, &origin));
  ck_assert_msg(strncmp(origin, dir, strlen(dir)) == 0 && origin[strlen(dir)] == '/',
                "%s came from %s, expected %s", name, origin, dir);
}

START_TEST(test_first_dir_wins) {
  /* Like PATH: two directories each with a dense.so (a build tree and an
   * installed copy), the first one's loads and the second is skipped without
   * a warning, whichever comes first. */
  char a[PATH_MAX], b[PATH_MAX], path[2 * PATH_MAX + 2];
  temp_dir(a);
  temp_dir(b);
  copy(plugin_dir(), "dense.so", a);
  copy(plugin_dir(), "dense.so", b);
  for (int flip = 0; flip < 2; flip++) {
    const char *first = flip ? b : a, *second = flip ? a : b;
    snprintf(path, sizeof path, "%s:%s", first, second);
    sae_registry *r = sae_registry_alloc();
    ck_assert_uint_eq(sae_registry_load_path(r, path), 1);
    ck_assert_uint_eq(sae_registry_warnings(r), 0);
    ck_assert_uint_eq(sae_registry_plugins(r), 1);
    from_dir(r, "dense", first);
    /* A later search of the second directory alone: skipped too. */
    ck_assert_uint_eq(sae_registry_load_path(r, second), 0);
    ck_assert_uint_eq(sae_registry_warnings(r), 0);
    sae_registry_free(r);
  }
  /* The whole build tree in front of a partial copy: the copy adds nothing. */
  snprintf(path, sizeof path, "%s:%s", plugin_dir(), b);
  sae_registry *r = sae_registry_alloc();
  ck_assert_uint_eq(sae_registry_load_path(r, path), n_plugins());
  ck_assert_uint_eq(sae_registry_warnings(r), 0);
  from_dir(r, "dense", plugin_dir());
  sae_registry_free(r);
  remove_dir(a);
  remove_dir(b);
}
END_TEST

START_TEST(test_same_type_other_file) {
  /* Two different files with the same plugin inside, in one search: not a
   * shadowed copy but a conflict, refused with a warning. */
  char a[PATH_MAX], b[PATH_MAX], path[2 * PATH_MAX + 2], cmd[3 * PATH_MAX];
  temp_dir(a);
  temp_dir(b);
  copy(plugin_dir(), "dense.so", a);
  snprintf(cmd, sizeof cmd, "cp '%s/dense.so' '%s/dense2.so'", plugin_dir(), b);
  ck_assert_int_eq(system(cmd), 0);
  snprintf(path, sizeof path, "%s:%s", a, b);
  sae_registry *r = sae_registry_alloc();
  ck_assert_uint_eq(sae_registry_load_path(r, path), 1);
  ck_assert_uint_eq(sae_registry_warnings(r), 1);
  ck_assert_ptr_nonnull(strstr(sae_registry_warning(r, 0),
                               "dense2.so: plugin \"dense\" already loaded from "));
  from_dir(r, "dense", a);
  sae_registry_free(r);
  remove_dir(a);
  remove_dir(b);
}
END_TEST

START_TEST(test_extra_plugin_counted) {
  /* The plugins plus one more (a new plugin is one Makefile.am line): the
   * counts follow the files, and every known type is still there. */
  char d[PATH_MAX];
  temp_dir(d);
  copy(plugin_dir(), "*.so", d);
  copy(fixture_dir(), "buggy.so", d);
  ck_assert_uint_eq(n_so(d), n_plugins() + 1);
  sae_registry *r = sae_registry_alloc();
  ck_assert_uint_eq(sae_registry_load_path(r, d), n_so(d));
  ck_assert_uint_eq(sae_registry_warnings(r), 0);
  ck_assert_uint_eq(sae_registry_count(r), n_types() + N_BUGGY_TYPES);
  ck_assert_ptr_nonnull(sae_registry_find(r, "buggy_sigmoid"));
  for (size_t k = 0; k < N_KNOWN; k++) from_dir(r, known[k].type, d);
  sae_registry_free(r);
  remove_dir(d);
}
END_TEST

static Suite *registry_suite(void) {
  Suite *s = suite_create("registry");
  TCase *core = tcase_create("core");
  tcase_add_test(core, test_load_and_find);
  tcase_add_test(core, test_load_order);
  tcase_add_test(core, test_hparam_index);
  tcase_add_test(core, test_kind_names);
  tcase_add_test(core, test_path_dedup);
  tcase_add_test(core, test_load_default);
  tcase_add_test(core, test_free_null);
  tcase_add_test(core, test_first_dir_wins);
  tcase_add_test(core, test_extra_plugin_counted);
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("errors");
  tcase_add_test(errors, test_fixture_messages);
  tcase_add_test(errors, test_scan_keeps_going);
  tcase_add_test(errors, test_junk_so);
  tcase_add_test(errors, test_add_refusals);
  tcase_add_test(errors, test_duplicate_plugin_file);
  tcase_add_test(errors, test_same_type_other_file);
  suite_add_tcase(s, errors);
  return s;
}

int main(void) {
  sae_error_init();
  SRunner *sr = srunner_create(registry_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed != 0;
}
