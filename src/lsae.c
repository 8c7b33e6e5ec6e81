/* lsae.c -- the module "sae.core": assembly, the runtime's shared state
 * (registry, seeded generator) and small utilities.  lua/sae/init.lua builds
 * the user-facing `sae` table on top of it.  saelab preloads lsae_open_core
 * after lsae_setup; a plain Lua loads it through lsae_module.c instead. */
#include <limits.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <lualib.h>
#include "fetch.h"
#include "gradcheck.h"
#include "lsae.h"
#include "lsae_checkpoint.h"
#include "version.h"

static const char KEY_REGISTRY = 'r'; /* addresses used as Lua registry keys */
static const char KEY_RNG = 'g';

int lsae_fail(lua_State *L, int code, const sae_error *e) {
  if (e && e->msg[0]) return luaL_error(L, "%s", e->msg);
  return luaL_error(L, "%s", sae_strerror(code));
}

/* The generator lives in a userdata so Lua's collector frees it. */
typedef struct lsae_rng_box {
  gsl_rng *r;
} lsae_rng_box;

static int rng_gc(lua_State *L) {
  lsae_rng_box *box = lua_touserdata(L, 1);
  gsl_rng_free(box->r);
  box->r = NULL;
  return 0;
}

void lsae_setup(lua_State *L, sae_registry *reg, unsigned long seed) {
  sae_error_init(); /* GSL must not abort the process on an allocation failure */
  lua_pushlightuserdata(L, reg);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_REGISTRY);
  lsae_rng_box *box = lua_newuserdatauv(L, sizeof *box, 0);
  box->r = NULL;
  lua_newtable(L);
  lua_pushcfunction(L, rng_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  box->r = gsl_rng_alloc(gsl_rng_mt19937);
  if (!box->r) luaL_error(L, "out of memory allocating the generator");
  gsl_rng_set(box->r, seed);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_RNG);
}

sae_registry *lsae_registry(lua_State *L) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_REGISTRY);
  sae_registry *r = lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (!r) luaL_error(L, "no plugin registry: the runtime did not load plugins");
  return r;
}

gsl_rng *lsae_rng(lua_State *L) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_RNG);
  lsae_rng_box *box = lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (!box || !box->r) luaL_error(L, "no random generator: lsae_setup was not called");
  return box->r;
}

/* sae.seed(n): restart the run's generator. */
static int l_seed(lua_State *L) {
  lua_Integer s = luaL_checkinteger(L, 1);
  luaL_argcheck(L, s >= 0, 1, "seed must be >= 0");
  gsl_rng_set(lsae_rng(L), (unsigned long)s);
  return 0;
}

/* sae.rng_state(): the run's generator as a string (its name, a NUL, its
 * state bytes); sae.rng_restore(s) puts such a state back, so a resumed run
 * draws what the uninterrupted one would have. */
static int l_rng_state(lua_State *L) {
  gsl_rng *r = lsae_rng(L);
  lua_pushstring(L, gsl_rng_name(r));
  lua_pushlstring(L, "", 1);
  lua_pushlstring(L, gsl_rng_state(r), gsl_rng_size(r));
  lua_concat(L, 3);
  return 1;
}

static int l_rng_restore(lua_State *L) {
  gsl_rng *r = lsae_rng(L);
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  const char *name = gsl_rng_name(r);
  const size_t head = strlen(name) + 1;
  if (len < head || memcmp(s, name, head) != 0)
    return luaL_error(L, "rng_restore: not a state of the %s generator", name);
  if (len - head != gsl_rng_size(r))
    return luaL_error(L, "rng_restore: %s state is %d bytes, got %d", name, (int)gsl_rng_size(r),
                      (int)(len - head));
  memcpy(gsl_rng_state(r), s + head, len - head);
  return 0;
}

/* sae.clock(): wall-clock seconds (monotonic), for timing. */
static int l_clock(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec);
  return 1;
}

/* sae.maxrss(): the peak resident set of this process so far, in bytes
 * (getrusage's ru_maxrss, which Linux gives in KiB). */
static int l_maxrss(lua_State *L) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return luaL_error(L, "getrusage failed");
  lua_pushinteger(L, (lua_Integer)ru.ru_maxrss * 1024);
  return 1;
}

void lsae_set_versions(lua_State *L) {
  lua_pushstring(L, sae_version());
  lua_setfield(L, -2, "version");
  lua_pushstring(L, sae_gsl_version());
  lua_setfield(L, -2, "gsl");
  lua_pushstring(L, LUA_RELEASE);
  lua_setfield(L, -2, "lua");
  lua_pushstring(L, sae_cblas_library());
  lua_setfield(L, -2, "cblas");
  lua_pushstring(L, sae_blas_core());
  lua_setfield(L, -2, "blas_core");
  lua_pushinteger(L, sae_blas_threads());
  lua_setfield(L, -2, "blas_threads");
}

/* sae.versions(): {version, gsl, lua, cblas, blas_core, blas_threads}. */
static int l_versions(lua_State *L) {
  lua_newtable(L);
  lsae_set_versions(L);
  return 1;
}

void lsae_push_gradcheck(lua_State *L, const sae_gradcheck_result *r) {
  lua_newtable(L);
  lua_pushnumber(L, r->rel_error);
  lua_setfield(L, -2, "rel_error");
  lua_pushnumber(L, r->max_abs_err);
  lua_setfield(L, -2, "max_abs_err");
  lua_pushnumber(L, r->tol);
  lua_setfield(L, -2, "tol");
  lua_pushinteger(L, (lua_Integer)r->n_checked);
  lua_setfield(L, -2, "n");
  lua_pushinteger(L, (lua_Integer)r->n_kinks);
  lua_setfield(L, -2, "kinks");
  lua_pushinteger(L, (lua_Integer)r->worst_index + 1);
  lua_setfield(L, -2, "worst");
  lua_pushboolean(L, r->passed);
  lua_setfield(L, -2, "passed");
  lua_pushnumber(L, r->cost_rel_error);
  lua_setfield(L, -2, "cost_rel_error");
  if (!isnan(r->output_rel_error)) { /* nil: the check had no output part */
    lua_pushnumber(L, r->output_rel_error);
    lua_setfield(L, -2, "output_rel_error");
  }
  lua_pushstring(L, r->part);
  lua_setfield(L, -2, "part");
  lua_pushstring(L, r->message);
  lua_setfield(L, -2, "message");
  const sae_gradcheck_entry *w = &r->worst;
  lua_createtable(L, 0, 7);
  lua_pushstring(L, w->node);
  lua_setfield(L, -2, "node");
  lua_pushstring(L, w->tensor);
  lua_setfield(L, -2, "tensor");
  lua_pushinteger(L, (lua_Integer)w->row + 1);
  lua_setfield(L, -2, "row");
  lua_pushinteger(L, (lua_Integer)w->col + 1);
  lua_setfield(L, -2, "col");
  lua_pushnumber(L, w->analytic);
  lua_setfield(L, -2, "analytic");
  lua_pushnumber(L, w->numeric);
  lua_setfield(L, -2, "numeric");
  lua_pushnumber(L, w->rel);
  lua_setfield(L, -2, "rel");
  lua_setfield(L, -2, "where");
}

static void push_type(lua_State *L, const sae_type *t, const sae_plugin *p, const char *origin) {
  lua_newtable(L);
  lua_pushstring(L, t->name);
  lua_setfield(L, -2, "name");
  lua_pushstring(L, sae_kind_name(t->kind));
  lua_setfield(L, -2, "kind");
  lua_pushstring(L, t->summary ? t->summary : "");
  lua_setfield(L, -2, "summary");
  lua_pushstring(L, t->citation ? t->citation : "");
  lua_setfield(L, -2, "citation");
  lua_pushstring(L, p->name);
  lua_setfield(L, -2, "plugin");
  lua_pushstring(L, p->version ? p->version : "");
  lua_setfield(L, -2, "version");
  lua_pushstring(L, origin ? origin : "");
  lua_setfield(L, -2, "file");
  lua_newtable(L);
  size_t n = sae_type_hparam_count(t);
  for (size_t i = 0; i < n; i++) {
    const sae_hparam *h = &t->hparams[i];
    lua_newtable(L);
    lua_pushstring(L, h->name);
    lua_setfield(L, -2, "name");
    lua_pushnumber(L, h->def);
    lua_setfield(L, -2, "default");
    lua_pushnumber(L, h->min);
    lua_setfield(L, -2, "min");
    lua_pushnumber(L, h->max);
    lua_setfield(L, -2, "max");
    lua_pushboolean(L, (h->flags & SAE_HP_INT) != 0);
    lua_setfield(L, -2, "integer");
    lua_pushstring(L, h->doc ? h->doc : "");
    lua_setfield(L, -2, "doc");
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "hparams");
}

/* sae.types(): every registered type, in load order. */
static int l_types(lua_State *L) {
  sae_registry *reg = lsae_registry(L);
  lua_newtable(L);
  for (size_t i = 0; i < sae_registry_count(reg); i++) {
    const sae_plugin *p;
    const char *origin;
    const sae_type *t = sae_registry_type(reg, i, &p, &origin);
    push_type(L, t, p, origin);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

int lsae_read_hparams(lua_State *L, int idx, const char *const *skip, lsae_hp *hp) {
  hp->n = 0;
  if (lua_isnoneornil(L, idx)) return 0;
  luaL_checktype(L, idx, LUA_TTABLE);
  idx = lua_absindex(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) != LUA_TSTRING)
      return luaL_error(L, "hyper-parameters: keys must be names, found a %s",
                        luaL_typename(L, -2));
    const char *k = lua_tostring(L, -2);
    int skipped = 0;
    for (size_t s = 0; skip && skip[s]; s++)
      if (strcmp(k, skip[s]) == 0) skipped = 1;
    if (!skipped) {
      if (hp->n == LSAE_MAX_HP) return luaL_error(L, "hyper-parameters: more than %d", LSAE_MAX_HP);
      int isnum;
      double v;
      if (lua_type(L, -1) == LUA_TBOOLEAN) {
        v = lua_toboolean(L, -1);
        isnum = 1;
      } else {
        v = lua_tonumberx(L, -1, &isnum);
      }
      if (!isnum || lua_type(L, -1) == LUA_TSTRING)
        return luaL_error(L, "hyper-parameter '%s' must be a number, got %s", k,
                          luaL_typename(L, -1));
      hp->name[hp->n] = k; /* the key stays alive in the table */
      hp->value[hp->n++] = v;
    }
    lua_pop(L, 1);
  }
  return 0;
}

/* sae.gradcheck_type(name [, hparams]) -> the table of lsae_push_gradcheck */
static int l_gradcheck_type(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  const sae_type *t = sae_registry_find(lsae_registry(L), name);
  if (!t) return luaL_error(L, "unknown type '%s' (saelab plugins lists them)", name);
  lua_settop(L, 2); /* the hyper-parameters (or nil) at 2, scratch above */
  lsae_hp *hp = lua_newuserdatauv(L, sizeof *hp, 0);
  lsae_read_hparams(L, 2, NULL, hp);
  sae_gradcheck_result r;
  sae_error e = {0, ""};
  int rc = sae_gradcheck_type(t, hp->n, hp->name, hp->value, lsae_rng(L), &r, &e);
  if (rc) return lsae_fail(L, rc, &e);
  lsae_push_gradcheck(L, &r);
  return 1;
}

/* sae.randperm(n) -> a random permutation of 1..n from the run's generator */
static int l_randperm(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n >= 1, 1, "n must be >= 1");
  size_t *p = lua_newuserdatauv(L, (size_t)n * sizeof *p, 0);
  for (size_t i = 0; i < (size_t)n; i++) p[i] = i + 1;
  gsl_ran_shuffle(lsae_rng(L), p, (size_t)n, sizeof *p);
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < (size_t)n; i++) {
    lua_pushinteger(L, (lua_Integer)p[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

/* sae.gather(src, idx, dst): dst row i <- src row idx[i] (dst preallocated,
 * so a training loop shuffles without allocating). */
static int l_gather(lua_State *L) {
  const gsl_matrix *src = lsae_checkmatrix(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  gsl_matrix *dst = lsae_checkmatrix(L, 3);
  size_t n = (size_t)lua_rawlen(L, 2);
  if (dst->size1 != n || dst->size2 != src->size2)
    return luaL_error(L, "gather: destination is %dx%d, expected %dx%d", (int)dst->size1,
                      (int)dst->size2, (int)n, (int)src->size2);
  for (size_t i = 0; i < n; i++) {
    lua_rawgeti(L, 2, (lua_Integer)i + 1);
    int isint;
    lua_Integer r = lua_tointegerx(L, -1, &isint);
    lua_pop(L, 1);
    if (!isint || r < 1 || (size_t)r > src->size1)
      return luaL_error(L, "gather: index %d is not a row of a %d-row matrix", (int)i + 1,
                        (int)src->size1);
    /* a row of a gsl_matrix is contiguous: one memcpy (gsl_matrix_set_row
     * copies element by element, 2 % of a float32 k-sparse epoch) */
    memcpy(dst->data + i * dst->tda, src->data + ((size_t)r - 1) * src->tda,
           src->size2 * sizeof *dst->data);
  }
  return 0;
}

/* Option tables: one refusal for every binding and Lua helper (lbfgs had it
 * first).  Pushes "fname: unknown option 'k' (known: a, b, ...)" and returns
 * 1 for the first key of the table at idx that is not a string in keys
 * (NULL-terminated); returns 0, pushing nothing, when every key is known.
 * [-0, +(0|1), m] */
static int options_bad_key(lua_State *L, int idx, const char *fname, const char *const *keys) {
  idx = lua_absindex(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1); /* the value */
    int known = 0;
    if (lua_type(L, -1) == LUA_TSTRING)
      for (const char *const *k = keys; *k && !known; k++) known = strcmp(lua_tostring(L, -1), *k) == 0;
    if (!known) {
      const char *key = luaL_tolstring(L, -1, NULL); /* a copy: lua_next's key stays as it is */
      luaL_Buffer b;
      luaL_buffinit(L, &b);
      luaL_addstring(&b, fname);
      luaL_addstring(&b, ": unknown option '");
      luaL_addstring(&b, key);
      luaL_addstring(&b, "' (known: ");
      for (const char *const *k = keys; *k; k++) {
        if (k != keys) luaL_addstring(&b, ", ");
        luaL_addstring(&b, *k);
      }
      luaL_addstring(&b, ")");
      luaL_pushresult(&b);
      lua_replace(L, -3); /* over the key; drop the key's copy */
      lua_pop(L, 1);
      return 1;
    }
  }
  return 0;
}

void lsae_check_options(lua_State *L, int idx, const char *fname, const char *const *keys) {
  if (options_bad_key(L, idx, fname, keys)) {
    luaL_where(L, 1);
    lua_insert(L, -2);
    lua_concat(L, 2);
    lua_error(L);
  }
}

/* sae.check_options(opts, fname, {"key", ...} [, level]) -> opts: the same
 * refusal for the pure-Lua helpers (sae.train, sae.report...).  nil opts
 * gives a new empty table.  The error is raised at `level` as Lua's error()
 * counts from the helper that calls this (default 2: the helper's caller, so
 * a script's typo names the script's line). */
static int l_check_options(lua_State *L) {
  const char *fname = luaL_checkstring(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  int level = (int)luaL_optinteger(L, 4, 2);
  lua_settop(L, 3);
  if (lua_isnil(L, 1)) {
    lua_newtable(L);
    return 1;
  }
  if (!lua_istable(L, 1)) {
    luaL_where(L, level);
    lua_pushfstring(L, "%s: options must be a table, got %s", fname, luaL_typename(L, 1));
    lua_concat(L, 2);
    return lua_error(L);
  }
  lua_Integer n = luaL_len(L, 3);
  const char **keys = lua_newuserdatauv(L, (size_t)(n + 1) * sizeof *keys, 0);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, 3, i); /* the strings stay alive in the table at 3 */
    keys[i - 1] = luaL_checkstring(L, -1);
    lua_pop(L, 1);
  }
  keys[n] = NULL;
  if (options_bad_key(L, 1, fname, keys)) {
    luaL_where(L, level);
    lua_insert(L, -2);
    lua_concat(L, 2);
    return lua_error(L);
  }
  lua_settop(L, 1);
  return 1;
}

/* sae.data.dir(): where data sets live ($SAELAB_DATA, else XDG's data dir). */
static int l_data_dir(lua_State *L) {
  char buf[4096];
  const char *d = sae_data_dir(buf, sizeof buf);
  if (!d) return luaL_error(L, "no data directory: set SAELAB_DATA or HOME");
  lua_pushstring(L, d);
  return 1;
}

static const luaL_Reg util_funcs[] = {
  {"data_dir", l_data_dir},
  {"randperm", l_randperm},
  {"gather", l_gather},
  {"seed", l_seed},
  {"check_options", l_check_options},
  {"rng_state", l_rng_state},
  {"rng_restore", l_rng_restore},
  {"clock", l_clock},
  {"maxrss", l_maxrss},
  {"versions", l_versions},
  {"types", l_types},
  {"gradcheck_type", l_gradcheck_type},
  {NULL, NULL}};

/* A matrix or a model keeps its numbers outside Lua's heap, so the collector
 * paces itself on the few bytes of their userdata and never sees the rest: a
 * loop that makes a 400 MB encoding per pass and drops it grows without
 * bound (a three-k k-sparse run reached 19.6 GB in its classifier phase
 * before the kernel killed it).  LUA_GCSTEP with a size (in KB) adds that
 * much to the collector's debt, as an allocation inside the heap would, and
 * runs the step it owes. */
void lsae_gc_external(lua_State *L, size_t bytes) {
  const size_t kb = bytes >> 10;
  if (kb) lua_gc(L, LUA_GCSTEP, kb > INT_MAX ? INT_MAX : (int)kb);
}

void lsae_open_util(lua_State *L) { luaL_setfuncs(L, util_funcs, 0); }

void lsae_internal_funcs(lua_State *L, const luaL_Reg *funcs) {
  if (lua_getfield(L, -1, "internal") != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "internal");
  }
  luaL_setfuncs(L, funcs, 0);
  lua_pop(L, 1);
}

int lsae_open_core(lua_State *L) {
  lua_newtable(L);
  lua_newtable(L);
  lua_setfield(L, -2, "internal");
  lsae_open_util(L);
  lsae_open_matrix(L);
  lsae_open_data(L); /* after the matrix metatable exists */
  lsae_open_model(L);
  lsae_open_modelfile(L); /* after the model metatable exists */
  lsae_open_optim(L);
  lsae_open_sparse(L);
  lsae_open_plot(L);
  lua_getfield(L, -1, "internal"); /* made above */
  lsae_open_checkpoint(L);
  lua_pop(L, 1);
  return 1;
}
