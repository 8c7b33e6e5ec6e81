/* main.c -- the saelab command line (only this file exits, like lua.c).
 *
 *   saelab run SCRIPT.lua|- [--out DIR] [--seed N] [-v] [name=value ...]
 *   saelab repl [-v]
 *   saelab plugins
 *   saelab gradcheck TYPE [--seed N] [name=value ...] | saelab gradcheck --all
 *   saelab version
 *   saelab --help
 *
 * A run writes into DIR.tmp.PID and renames it to DIR (default
 * results/<script name>/) only when the script and its report succeeded, so a
 * failed run leaves no report that looks complete. */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <gsl/gsl_rng.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include "cmdline.h"
#include "config.h"
#include "fetch.h"
#include "gradcheck.h"
#include "lsae.h"
#include "paths.h"
#include "registry.h"
#include "version.h"

static const char *progname = "saelab";

static void usage(FILE *f) {
  fprintf(f,
          "usage: saelab COMMAND ...\n"
          "  saelab run SCRIPT.lua|- [--out DIR] [--seed N] [-v] [name=value ...]\n"
          "      run an experiment (- reads it from stdin); name=value pairs reach\n"
          "      the script (sae.arg); the report goes to DIR (default\n"
          "      results/<script name>/, results/stdin/ for -)\n"
          "  saelab repl [-v]            an interactive Lua prompt with sae loaded\n"
          "  saelab plugins              list every plugin type and its hyper-parameters\n"
          "  saelab gradcheck TYPE [--seed N] [name=value ...]\n"
          "  saelab gradcheck --all      check every type's gradient numerically\n"
          "  saelab fetch mnist|fashion-mnist [--dir DIR]\n"
          "      download and verify a data set into DIR/NAME (default $SAELAB_DATA,\n"
          "      else $XDG_DATA_HOME/saelab, else ~/.local/share/saelab)\n"
          "  saelab version              versions, and the library serving cblas_dgemm\n"
          "  saelab --help\n"
          "environment: SAELAB_PLUGIN_PATH (plugin directories, ':'-separated, searched\n"
          "before %s), SAELAB_LUA_PATH (Lua helpers, default %s)\n",
          sae_paths_plugin_dir(), sae_paths_lua_dir());
}

__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: ", progname);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return EXIT_FAILURE;
}

/* The registry of this program's search (paths.h); *search (if given)
 * receives the search path, which the caller frees. NULL when out of memory. */
static sae_registry *load_plugins(char **search) {
  char *dirs = sae_paths_plugin_search();
  sae_registry *reg = dirs ? sae_registry_alloc() : NULL;
  if (!reg) {
    free(dirs);
    return NULL;
  }
  sae_registry_load_path(reg, dirs);
  if (search) *search = dirs;
  else free(dirs);
  for (size_t i = 0; i < sae_registry_warnings(reg); i++)
    fprintf(stderr, "%s: warning: %s\n", progname, sae_registry_warning(reg, i));
  return reg;
}

/* ---- plugins, version, gradcheck ------------------------------------------ */

static int cmd_plugins(void) {
  sae_registry *reg = load_plugins(NULL);
  if (!reg) return fail("out of memory");
  size_t n = sae_registry_count(reg);
  if (n == 0)
    fprintf(stderr, "%s: no plugins found (searched $SAELAB_PLUGIN_PATH and %s)\n", progname,
            sae_paths_plugin_dir());
  for (size_t i = 0; i < n; i++) {
    const sae_plugin *p;
    const char *origin;
    const sae_type *t = sae_registry_type(reg, i, &p, &origin);
    printf("%s  (%s; plugin %s %s, from %s)\n", t->name, sae_kind_name(t->kind), p->name,
           p->version ? p->version : "", origin);
    if (t->summary && t->summary[0]) printf("    %s\n", t->summary);
    if (t->citation && t->citation[0]) printf("    cite: %s\n", t->citation);
    for (size_t j = 0; j < sae_type_hparam_count(t); j++) {
      const sae_hparam *h = &t->hparams[j];
      printf("    %-12s default %-8g range [%g, %g]%s  %s\n", h->name, h->def, h->min, h->max,
             (h->flags & SAE_HP_INT) ? " integer" : "", h->doc ? h->doc : "");
    }
  }
  sae_registry_free(reg);
  return EXIT_SUCCESS;
}

static int cmd_version(void) {
  printf("saelab %s\n", sae_version());
  printf("GSL %s\n", sae_gsl_version());
  printf("%s\n", LUA_RELEASE);
  const char *core = sae_blas_core();
  printf("cblas_dgemm from %s%s%s%s\n", sae_cblas_library(), core[0] ? " (OpenBLAS core " : "",
         core, core[0] ? ")" : "");
  printf("plugins: $SAELAB_PLUGIN_PATH, then %s%s\n", sae_paths_plugin_dir(),
         sae_paths_build_tree() ? " (the build tree's)" : "");
  printf("Lua modules: %s\n", sae_paths_lua_dir());
  return EXIT_SUCCESS;
}

static int check_one(const sae_type *t, size_t n_hp, const char *const *names,
                     const double *values, unsigned long seed) {
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  if (!rng) return fail("out of memory");
  gsl_rng_set(rng, seed);
  sae_gradcheck_result r;
  sae_error e = {0, ""};
  int rc = sae_gradcheck_type(t, n_hp, names, values, rng, &r, &e);
  gsl_rng_free(rng);
  if (rc) return fail("gradcheck %s: %s", t->name, e.msg);
  /* The parts' errors separately: a cost term's is not diluted by the output's. */
  char parts[64] = "";
  if (!isnan(r.output_rel_error))
    snprintf(parts, sizeof parts, "own cost %.3g, output %.3g; ", r.cost_rel_error,
             r.output_rel_error);
  char kinks[80] = "";
  if (r.n_kinks)
    snprintf(kinks, sizeof kinks, " (%zu measured at a finer step past a kink)", r.n_kinks);
  printf("%-16s relative error %.3g (%stolerance %.0e) over %zu entries%s: %s\n", t->name,
         r.rel_error, parts, r.tol, r.n_checked, kinks, r.passed ? "ok" : "FAILED");
  if (!r.passed) printf("    worst: %s\n", r.message);
  return r.passed ? EXIT_SUCCESS : EXIT_FAILURE;
}

static int cmd_gradcheck(int argc, char **argv) {
  sae_cmdline_gradcheck o;
  sae_error e = {0, ""};
  if (sae_cmdline_parse_gradcheck(argc, argv, &o, &e)) return fail("%s", e.msg);
  const char *tname = o.type;
  int all = o.all;
  unsigned long seed = o.seed;
  const char *const *names = o.names;
  const double *values = o.values;
  size_t n_hp = o.n_hp;
  sae_registry *reg = load_plugins(NULL);
  if (!reg) return fail("out of memory");
  int status = EXIT_SUCCESS;
  if (all) {
    if (sae_registry_count(reg) == 0) status = fail("gradcheck: no plugins found");
    for (size_t i = 0; i < sae_registry_count(reg); i++)
      if (check_one(sae_registry_type(reg, i, NULL, NULL), n_hp, names, values, seed))
        status = EXIT_FAILURE;
  } else {
    const sae_type *t = sae_registry_find(reg, tname);
    status = t ? check_one(t, n_hp, names, values, seed)
               : fail("gradcheck: unknown type '%s' (saelab plugins lists them)", tname);
  }
  sae_registry_free(reg);
  return status;
}

/* ---- fetch ------------------------------------------------------------------ */

/* Progress on stderr; on success the data set's directory on stdout. */
static int cmd_fetch(int argc, char **argv) {
  const char *dataset = NULL, *dir = NULL;
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--dir") == 0) {
      if (i + 1 >= argc) return fail("fetch: --dir needs a directory");
      dir = argv[++i];
    } else if (!dataset && argv[i][0] != '-') {
      dataset = argv[i];
    } else {
      return fail("fetch: unexpected argument '%s'", argv[i]);
    }
  }
  if (!dataset) return fail("fetch: name a data set: saelab fetch mnist|fashion-mnist [--dir DIR]");
  char base[PATH_MAX];
  if (!dir && !(dir = sae_data_dir(base, sizeof base)))
    return fail("fetch: no data directory: set SAELAB_DATA or HOME, or give --dir DIR");
  sae_error e = {0, ""};
  if (sae_fetch(dataset, dir, stderr, &e)) return fail("%s", e.msg);
  printf("%s/%s\n", dir, dataset);
  return EXIT_SUCCESS;
}

/* ---- run ------------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void rm_tree(const char *path) { nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* mkdir -p of the directory part of path. */
static int mkdir_parents(const char *path) {
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
    errno = ENAMETOOLONG;
    return -1;
  }
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(buf, 0755) && errno != EEXIST) return -1;
    *p = '/';
  }
  return 0;
}

/* Message handler: give errors raised in C (which carry no position) the
 * script's file:line, and a traceback with -v. */
static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (!msg) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  /* The first Lua frame's position, unless the message already names a
   * frame on the stack: error(msg, 2) in a helper names the script's line,
   * which the helper's own position must not precede. */
  lua_Debug ar;
  char first[LUA_IDSIZE] = "";
  int first_line = 0;
  for (int level = 1; lua_getstack(L, level, &ar); level++) {
    lua_getinfo(L, "Sl", &ar);
    if (ar.currentline <= 0) continue;
    size_t n = strlen(ar.short_src);
    if (strncmp(msg, ar.short_src, n) == 0 && msg[n] == ':') {
      first_line = 0;
      break;
    }
    if (!first_line) {
      snprintf(first, sizeof first, "%s", ar.short_src);
      first_line = ar.currentline;
    }
  }
  if (first_line) msg = lua_pushfstring(L, "%s:%d: %s", first, first_line, msg);
  lua_pushboolean(L, 1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, (void *)msghandler); /* mark: an error was handled */
  lua_getfield(L, LUA_REGISTRYINDEX, "saelab.verbose");
  int verbose = lua_toboolean(L, -1);
  lua_pop(L, 1);
  if (verbose) luaL_traceback(L, L, msg, 1);
  else lua_pushstring(L, msg);
  return 1;
}

static int docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  int status = lua_pcall(L, narg, nres, base);
  lua_remove(L, base);
  return status;
}

typedef struct run_opts {
  const char *script, *out;
  const char *plugin_search; /* the plugin search path, ':'-separated */
  unsigned long seed;
  int verbose;
  int n_args;
  char **args;        /* name=value */
  const char *source; /* the script read from stdin (`saelab run -`), else NULL */
  size_t source_len;
} run_opts;

static void set_package_path(lua_State *L) {
  const char *dir = sae_paths_lua_dir();
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "path");
  lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", dir, dir, lua_tostring(L, -1));
  lua_setfield(L, -3, "path");
  lua_pop(L, 1);
  lua_getfield(L, -1, "preload");
  lua_pushcfunction(L, lsae_open_core);
  lua_setfield(L, -2, "sae.core");
  lua_pop(L, 2);
}

/* run.plugin_path = the search's directories in order; run.plugins = one
 * {name, version, file, sha256} per plugin loaded, so a report says which
 * code ran; run.lua_path = the Lua modules' directory. */
static void push_plugin_record(lua_State *L, const char *search, const sae_registry *reg) {
  lua_newtable(L);
  lua_Integer k = 0;
  for (const char *s = search; s && *s;) {
    const char *end = strchr(s, ':');
    size_t n = end ? (size_t)(end - s) : strlen(s);
    if (n > 0) {
      lua_pushlstring(L, s, n);
      lua_rawseti(L, -2, ++k);
    }
    s = end ? end + 1 : s + n;
  }
  lua_setfield(L, -2, "plugin_path");
  lua_newtable(L);
  for (size_t i = 0; i < sae_registry_plugins(reg); i++) {
    const char *file = NULL;
    const sae_plugin *p = sae_registry_plugin(reg, i, &file);
    char hex[65];
    lua_createtable(L, 0, 4);
    lua_pushstring(L, p->name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, p->version ? p->version : "");
    lua_setfield(L, -2, "version");
    if (file) {
      lua_pushstring(L, file);
      lua_setfield(L, -2, "file");
      if (sae_fetch_file_sha256(file, hex) != 0)
        luaL_error(L, "%s: cannot read to record its sha256: %s", file, strerror(errno));
      lua_pushstring(L, hex);
      lua_setfield(L, -2, "sha256");
    }
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "plugins");
  lua_pushstring(L, sae_paths_lua_dir());
  lua_setfield(L, -2, "lua_path");
}

/* core.run = {script, out, seed, args, version, cblas, plugins, ...}: what
 * the report layer records. */
static int push_run_info(lua_State *L) {
  const run_opts *o = lua_touserdata(L, 1);
  const char *tmp = lua_tostring(L, 2);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "sae.core");
  lua_call(L, 1, 1);
  lua_newtable(L);
  lua_pushstring(L, o->script);
  lua_setfield(L, -2, "script");
  if (o->source) { /* the report keeps it: the script exists nowhere else */
    lua_pushlstring(L, o->source, o->source_len);
    lua_setfield(L, -2, "source");
  }
  lua_pushstring(L, tmp);
  lua_setfield(L, -2, "out");
  lua_pushstring(L, o->out);
  lua_setfield(L, -2, "final_out");
  lua_pushinteger(L, (lua_Integer)o->seed);
  lua_setfield(L, -2, "seed");
  lua_newtable(L);
  for (int i = 0; i < o->n_args; i++) {
    size_t name_len;
    const char *value = sae_cmdline_split(o->args[i], &name_len);
    lua_pushlstring(L, o->args[i], name_len);
    lua_pushstring(L, value);
    lua_settable(L, -3);
  }
  lua_setfield(L, -2, "args");
  lsae_set_versions(L);
  push_plugin_record(L, o->plugin_search, lua_touserdata(L, 3));
  lua_pushinteger(L, (lua_Integer)time(NULL));
  lua_setfield(L, -2, "started");
  lua_setfield(L, -2, "run");
  return 0;
}

/* lsae_setup under the message handler: it may raise. */
static int setup_runtime(lua_State *L) {
  lsae_setup(L, lua_touserdata(L, 1), (unsigned long)lua_tointeger(L, 2));
  return 0;
}

/* The state every command that runs Lua starts from (run, repl): standard
 * libraries, the Lua helpers on package.path, "sae.core" preloaded, the
 * runtime's registry and seeded generator installed.  NULL after one line. */
static lua_State *new_state(int verbose, sae_registry *reg, unsigned long seed) {
  lua_State *L = luaL_newstate();
  if (!L) {
    fail("cannot create a Lua state: out of memory");
    return NULL;
  }
  luaL_openlibs(L);
  lua_pushboolean(L, verbose);
  lua_setfield(L, LUA_REGISTRYINDEX, "saelab.verbose");
  set_package_path(L);
  lua_pushcfunction(L, setup_runtime);
  lua_pushlightuserdata(L, reg);
  lua_pushinteger(L, (lua_Integer)seed);
  if (docall(L, 2, 0) != LUA_OK) {
    fail("%s", lua_tostring(L, -1));
    lua_close(L);
    return NULL;
  }
  return L;
}

/* Everything that runs Lua, under one state; returns 0 or prints one line. */
static int run_script(const run_opts *o, const char *tmp, sae_registry *reg) {
  lua_State *L = new_state(o->verbose, reg, o->seed);
  if (!L) return EXIT_FAILURE;
  lua_pushcfunction(L, push_run_info);
  lua_pushlightuserdata(L, (void *)o);
  lua_pushstring(L, tmp);
  lua_pushlightuserdata(L, reg);
  int status = docall(L, 3, 0);
  if (status == LUA_OK) {
    /* "=stdin": messages read stdin:LINE:, as lua.c's do */
    status = o->source ? luaL_loadbuffer(L, o->source, o->source_len, "=stdin")
                       : luaL_loadfile(L, o->script);
    if (status == LUA_OK) {
      lua_pushstring(L, o->script);
      status = docall(L, 1, 0);
    }
  }
  if (status == LUA_OK) {
    lua_getglobal(L, "require");
    lua_pushliteral(L, "sae");
    status = docall(L, 1, 1);
    if (status == LUA_OK) {
      lua_getfield(L, -1, "finish");
      lua_remove(L, -2);
      status = docall(L, 0, 0);
    }
  }
  int rc = EXIT_SUCCESS;
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    rc = fail("%s", msg ? msg : "(error without a message)");
  }
  lua_close(L);
  return rc;
}

/* The whole of f into a new buffer (*buf, *len bytes, freed by the caller);
 * -1 with errno on a read error or out of memory. */
static int read_all(FILE *f, char **buf, size_t *len) {
  char *b = NULL;
  size_t n = 0, cap = 0, got;
  do {
    if (n == cap) {
      char *grown = realloc(b, cap = cap ? 2 * cap : 8192);
      if (!grown) {
        free(b);
        errno = ENOMEM;
        return -1;
      }
      b = grown;
    }
    got = fread(b + n, 1, cap - n, f);
    n += got;
  } while (got > 0);
  if (ferror(f)) {
    int err = errno;
    free(b);
    errno = err ? err : EIO;
    return -1;
  }
  *buf = b;
  *len = n;
  return 0;
}

static int cmd_run(int argc, char **argv) {
  run_opts o = {NULL, NULL, NULL, SAE_CMDLINE_SEED, 0, 0, NULL, NULL, 0};
  sae_cmdline_run cl;
  sae_error e = {0, ""};
  if (sae_cmdline_parse_run(argc, argv, &cl, &e)) return fail("%s", e.msg);
  char **args = cl.args; /* freed below */
  o.script = cl.script;
  o.out = cl.out;
  o.seed = cl.seed;
  o.verbose = cl.verbose;
  o.n_args = cl.n_args;
  o.args = cl.args;
  int rc = EXIT_SUCCESS, from_stdin = cl.from_stdin;
  char *source = NULL;
  if (rc == EXIT_SUCCESS && from_stdin) {
    if (read_all(stdin, &source, &o.source_len))
      rc = fail("cannot read the script from stdin: %s", strerror(errno));
    o.source = source;
  } else if (rc == EXIT_SUCCESS) {
    FILE *f = fopen(o.script, "r");
    if (!f) rc = fail("cannot read %s: %s", o.script, strerror(errno));
    else fclose(f);
  }
  if (rc != EXIT_SUCCESS) {
    free(source);
    free(args);
    return rc;
  }

  char out[PATH_MAX], tmp[PATH_MAX + 32], old[PATH_MAX + 32];
  if (o.out) {
    snprintf(out, sizeof out, "%s", o.out);
  } else {
    const char *base = strrchr(o.script, '/');
    base = base ? base + 1 : o.script;
    size_t len = strlen(base);
    if (len > 4 && strcmp(base + len - 4, ".lua") == 0) len -= 4;
    snprintf(out, sizeof out, "results/%.*s", (int)len, base);
  }
  for (size_t n = strlen(out); n > 1 && out[n - 1] == '/'; n--) out[n - 1] = '\0';
  o.out = out;
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", out, (long)getpid());
  snprintf(old, sizeof old, "%s.old.%ld", out, (long)getpid());
  if (mkdir_parents(tmp) || mkdir(tmp, 0755)) {
    rc = fail("cannot create %s: %s", tmp, strerror(errno));
    free(source);
    free(args);
    return rc;
  }

  char *search = NULL;
  sae_registry *reg = load_plugins(&search);
  o.plugin_search = search;
  rc = reg ? run_script(&o, tmp, reg) : fail("out of memory");
  sae_registry_free(reg); /* after lua_close: models use the plugins' code */
  free(search);

  if (rc == EXIT_SUCCESS) {
    struct stat st;
    int had_old = stat(out, &st) == 0;
    if (had_old && rename(out, old)) {
      rc = fail("cannot replace %s: %s", out, strerror(errno));
    } else if (rename(tmp, out)) {
      rc = fail("cannot rename the run into %s: %s", out, strerror(errno));
      if (had_old) rename(old, out);
    } else if (had_old) {
      rm_tree(old);
    }
  }
  if (rc != EXIT_SUCCESS) rm_tree(tmp);
  else fprintf(stderr, "%s: report in %s/report.md\n", progname, out);
  free(source);
  free(args);
  return rc;
}

/* ---- repl: lua.c's interactive loop, with sae loaded --------------------- */

/* One line of stdin, without its newline, onto the stack; 0 at end of input.
 * Prompts only on a terminal, so piped input gives just the results. */
static int repl_push_line(lua_State *L, int first, char **buf, size_t *cap) {
  if (isatty(STDIN_FILENO)) {
    fputs(first ? "> " : ">> ", stdout);
    fflush(stdout);
  }
  ssize_t n = getline(buf, cap, stdin);
  if (n < 0) return 0;
  if (n > 0 && (*buf)[n - 1] == '\n') n--;
  lua_pushlstring(L, *buf, (size_t)n);
  return 1;
}

/* A syntax error at the end of the chunk (message at the top): more lines
 * may complete it. */
static int repl_incomplete(lua_State *L, int status) {
  static const char mark[] = "<eof>";
  size_t len;
  const char *msg = lua_tolstring(L, -1, &len);
  return status == LUA_ERRSYNTAX && len >= sizeof mark - 1 &&
         strcmp(msg + len - (sizeof mark - 1), mark) == 0;
}

/* lua.c's loadline: the line as an expression ("return LINE;"), whose values
 * are printed; else as a statement, reading lines while it is incomplete.
 * Leaves the chunk or an error message alone on the stack and returns the
 * status, or -1 at the end of input. */
static int repl_load(lua_State *L, char **buf, size_t *cap) {
  lua_settop(L, 0);
  if (!repl_push_line(L, 1, buf, cap)) return -1;
  const char *ret = lua_pushfstring(L, "return %s;", lua_tostring(L, 1));
  int status = luaL_loadbuffer(L, ret, strlen(ret), "=stdin");
  if (status == LUA_OK) {
    lua_remove(L, 2); /* "return ..." */
  } else {
    lua_pop(L, 2); /* the message and "return ..." */
    for (;;) {
      size_t len;
      const char *chunk = lua_tolstring(L, 1, &len);
      status = luaL_loadbuffer(L, chunk, len, "=stdin");
      /* at the end of input, the incomplete chunk's error stands */
      if (!repl_incomplete(L, status) || !repl_push_line(L, 0, buf, cap)) break;
      lua_remove(L, -2); /* the message */
      lua_pushliteral(L, "\n");
      lua_insert(L, -2);
      lua_concat(L, 3); /* chunk .. "\n" .. line, at 1 */
    }
  }
  lua_remove(L, 1); /* the line */
  return status;
}

/* Print the values on the stack with the global print (the user may change it). */
static void repl_print(lua_State *L) {
  int n = lua_gettop(L);
  if (n == 0) return;
  luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
  lua_getglobal(L, "print");
  lua_insert(L, 1);
  if (lua_pcall(L, n, 0, 0) != LUA_OK)
    fprintf(stderr, "error calling 'print' (%s)\n", lua_tostring(L, -1));
}

/* saelab repl [-v]: the state of `saelab run` (plugins, helpers), `sae` a
 * global as `lua5.4 -l sae` would make it, the generator seeded 0 as in a
 * plain lua5.4's require "sae".  An error prints one line (its traceback
 * with -v) and the loop goes on, as in lua.c; end of input ends it. */
static int cmd_repl(int argc, char **argv) {
  int verbose = 0;
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) verbose = 1;
    else return fail("repl: unexpected argument '%s'", argv[i]);
  }
  sae_registry *reg = load_plugins(NULL);
  if (!reg) return fail("out of memory");
  lua_State *L = new_state(verbose, reg, 0);
  int rc = L ? EXIT_SUCCESS : EXIT_FAILURE;
  if (L) {
    lua_getglobal(L, "require");
    lua_pushliteral(L, "sae");
    if (docall(L, 1, 1) != LUA_OK) {
      rc = fail("%s", lua_tostring(L, -1));
    } else {
      lua_setglobal(L, "sae");
      if (isatty(STDIN_FILENO))
        printf("saelab %s, %s: sae is loaded; Ctrl-D exits\n", sae_version(), LUA_RELEASE);
      char *buf = NULL;
      size_t cap = 0;
      int status;
      while ((status = repl_load(L, &buf, &cap)) != -1) {
        if (status == LUA_OK) status = docall(L, 0, LUA_MULTRET);
        if (status == LUA_OK) repl_print(L);
        else fprintf(stderr, "%s\n", lua_tostring(L, -1)); /* no prefix, as lua.c */
      }
      free(buf);
      if (isatty(STDIN_FILENO)) fputc('\n', stdout);
    }
    lua_close(L);
  }
  sae_registry_free(reg); /* after lua_close: models use the plugins' code */
  return rc;
}

/* OpenMP's defaults for the plugins' passes (selection, the sparse decoder
 * and backward, the elementwise maps), set before the first plugin brings
 * libgomp in (dlopen: it reads its environment then), and only where the user
 * set nothing.  The passes run between OpenBLAS's products on the same cores:
 * with libgomp's default wait policy its threads spin for up to 300000 rounds
 * after each pass, against OpenBLAS's threads, and an epoch took 3x longer;
 * passive, they sleep at once (sae_omp_threads then lets the passes take
 * omp_get_max_threads()).  As many threads as OpenBLAS has, so
 * OPENBLAS_NUM_THREADS=1 (several runs side by side) makes the whole run
 * single-threaded.  The numbers do not depend on the count (the passes cut
 * their sums alike on any: tests/elementwise-threads.test). */
static void omp_defaults(void) {
  if (!getenv("OMP_WAIT_POLICY") && !getenv("GOMP_SPINCOUNT"))
    setenv("OMP_WAIT_POLICY", "passive", 1);
  const int n = sae_blas_threads();
  if (!getenv("OMP_NUM_THREADS") && n > 0) {
    char buf[16];
    snprintf(buf, sizeof buf, "%d", n);
    setenv("OMP_NUM_THREADS", buf, 1);
  }
}

/* OpenBLAS's threads (its pthreads build, Debian's default), after each
 * product, spin in sched_yield for 2^OPENBLAS_THREAD_TIMEOUT cycles (28 by
 * default: about 0.1 s) before they sleep.  Here the plugins' passes run
 * between the products on the same cores, and that spinning thread takes a
 * share of the core the pass's second thread needs: 19 % of a k-sparse
 * training's perf samples were the scheduler's, and the 64-25 UFLDL
 * evaluation's sigmoid and loss passes took 1.5x as long (doc/design.md,
 * section 8.3).  With 4, OpenBLAS's least, they sleep at once and the next
 * product wakes them (microseconds).  OpenBLAS reads the variable when it
 * loads, before main, so where the user did not set it the program sets it
 * and runs itself again, once, with the same arguments.  Not under valgrind
 * (the new image would run outside it); if the exec fails, the run goes on
 * with OpenBLAS's default. */
static void blas_defaults(char **argv) {
  if (sae_blas_parallel() != 1 || sae_blas_threads() < 2) return;
  if (getenv("OPENBLAS_THREAD_TIMEOUT")) return;
  const char *pre = getenv("LD_PRELOAD");
  if (pre && strstr(pre, "vgpreload")) return;
  setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1);
  execv("/proc/self/exe", argv);
  unsetenv("OPENBLAS_THREAD_TIMEOUT"); /* not in effect: say so to the script */
}

int main(int argc, char **argv) {
  sae_error_init();
  omp_defaults();
  blas_defaults(argv);
  /* A write past the file-size limit (ulimit -f, RLIMIT_FSIZE) raises
   * SIGXFSZ, whose default action kills the process with no word of which
   * file.  Ignored, write() fails with EFBIG instead and the writer
   * (atomic_write.c) reports the file and keeps the previous one, as for a
   * full disk.  Children (gnuplot) inherit the disposition. */
  signal(SIGXFSZ, SIG_IGN);
  /* Progress lines of long runs reach a pipe or a log file as they are
   * printed (`saelab run exp.lua | tee log`), not when the buffer fills. */
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2) {
    usage(stderr);
    return EXIT_FAILURE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
    usage(stdout);
    return EXIT_SUCCESS;
  }
  if (strcmp(cmd, "run") == 0) return cmd_run(argc - 2, argv + 2);
  if (strcmp(cmd, "repl") == 0) return cmd_repl(argc - 2, argv + 2);
  if (strcmp(cmd, "plugins") == 0) return cmd_plugins();
  if (strcmp(cmd, "gradcheck") == 0) return cmd_gradcheck(argc - 2, argv + 2);
  if (strcmp(cmd, "fetch") == 0) return cmd_fetch(argc - 2, argv + 2);
  if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) return cmd_version();
  fail("unknown command '%s' (saelab --help lists them)%s", cmd, "");
  return EXIT_FAILURE;
}
