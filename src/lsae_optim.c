/* lsae_optim.c -- Lua bindings of the full-batch optimisers: L-BFGS.
 *
 *   local h = sae.lbfgs(net, X, {max_iter = 400, labels = y})
 *   print(h.status, #h.cost, h.cost[#h.cost], h.n_evals, h.total_seconds)
 *
 * Options: max_iter (400; 0 = no limit), m (history, 6), epsilon (1e-5:
 * converged when |g| <= epsilon max(1, |theta|)), delta and past (stop when
 * the cost fell by less than the fraction delta over `past` iterations; past 0
 * = off), verbose (a line per iteration; default: when stdout is a terminal),
 * and the batch's target, labels (1-based) and mode, as net:eval takes them.
 * An unknown option is an error (a misspelt max_iter would otherwise be
 * ignored), and so is a model with no loss node (nothing to minimise).  Returns the history: per iteration k = 1..n the arrays iter,
 * cost, gnorm, step, evals, seconds; and status, total_seconds, n_evals,
 * initial_cost, final_cost.  The model's parameters hold the result.
 *
 * This is core.internal.lbfgs; sae.lbfgs (lua/sae/trainer.lua) wraps it with
 * checkpoint files and passes the two options that only it uses:
 *   on_save = function(state, hist), save_every = N   after every N-th
 *       iteration: the loop's state (lbfgs_loop.h) as a table of numbers
 *       and native-double strings (x, g, d: n; s, y: m*n; ys: m; pf: past),
 *       and the history so far; an error it raises stops the run
 *   resume = state   such a table: go on from it (every size checked) */

#include <limits.h>
#include <string.h>
#include <unistd.h>
#include "lsae.h"
#include "optim_lbfgs.h"

#define LSAE_LBFGS_HISTORY "sae.lbfgs_history"

/* The history's arrays belong to a userdata, so a Lua error (bad option,
 * memory while building the result) cannot leak them. */
typedef struct lsae_history {
  sae_lbfgs_history h;
} lsae_history;

static int history_gc(lua_State *L) {
  lsae_history *box = luaL_checkudata(L, 1, LSAE_LBFGS_HISTORY);
  sae_lbfgs_history_free(&box->h);
  return 0;
}

/* A built model at arg.  lsae.h's contract for view parents: the model
 * userdata's first field is its sae_model * (NULL once closed). */
static sae_model *optim_check_model(lua_State *L, int arg) {
  sae_model **box = luaL_checkudata(L, arg, LSAE_MODEL);
  if (!*box) luaL_error(L, "model used after it was closed");
  if (!sae_model_theta(*box)) luaL_error(L, "the model is not built: call net:build() first");
  return *box;
}

static const char *const lbfgs_keys[] = {"max_iter", "m", "epsilon", "delta", "past",
                                         "verbose", "target", "labels", "mode",
                                         "on_save", "save_every", "resume", NULL};

#define LSAE_LBFGS_STATE "sae.lbfgs_state"

/* A state to resume from belongs to a userdata too. */
static int state_gc(lua_State *L) {
  sae_lbfgs_state *st = luaL_checkudata(L, 1, LSAE_LBFGS_STATE);
  sae_lbfgs_state_free(st);
  return 0;
}

static void opt_int(lua_State *L, int opt, const char *key, int *dst) {
  lua_getfield(L, opt, key);
  if (!lua_isnil(L, -1)) {
    int isint;
    lua_Integer v = lua_tointegerx(L, -1, &isint);
    if (!isint || v < INT_MIN || v > INT_MAX)
      luaL_error(L, "lbfgs: %s must be a whole number, got %s", key, luaL_tolstring(L, -1, NULL));
    *dst = (int)v;
  }
  lua_pop(L, 1);
}

static void opt_number(lua_State *L, int opt, const char *key, double *dst) {
  lua_getfield(L, opt, key);
  if (!lua_isnil(L, -1)) {
    int isnum;
    lua_Number v = lua_tonumberx(L, -1, &isnum);
    if (!isnum) luaL_error(L, "lbfgs: %s must be a number, got %s", key, luaL_typename(L, -1));
    *dst = (double)v;
  }
  lua_pop(L, 1);
}

static void set_array_size(lua_State *L, const char *key, const size_t *a, size_t n) {
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushinteger(L, (lua_Integer)a[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, key);
}

static void set_array_double(lua_State *L, const char *key, const double *a, size_t n) {
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushnumber(L, a[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, key);
}

/* [-0, +1, m] */
static void push_history(lua_State *L, const sae_lbfgs_history *h) {
  lua_createtable(L, 0, 11);
  set_array_size(L, "iter", h->iter, h->n);
  set_array_double(L, "cost", h->cost, h->n);
  set_array_double(L, "gnorm", h->gnorm, h->n);
  set_array_double(L, "step", h->step, h->n);
  set_array_size(L, "evals", h->evals, h->n);
  set_array_double(L, "seconds", h->seconds, h->n);
  lua_pushinteger(L, (lua_Integer)h->n_evals);
  lua_setfield(L, -2, "n_evals");
  lua_pushnumber(L, h->initial_cost);
  lua_setfield(L, -2, "initial_cost");
}

static void set_doubles(lua_State *L, const char *key, const double *a, size_t n) {
  lua_pushlstring(L, (const char *)a, n * sizeof *a);
  lua_setfield(L, -2, key);
}

static void set_int(lua_State *L, const char *key, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, key);
}

/* The loop's state as a table (what `resume` reads back).  [-0, +1, m] */
static void push_state(lua_State *L, const sae_lbfgs_state *st, const sae_lbfgs_history *h) {
  const size_t n = (size_t)st->n, m = (size_t)st->m;
  lua_createtable(L, 0, 16);
  set_int(L, "n", st->n);
  set_int(L, "m", st->m);
  set_int(L, "past", st->past);
  set_int(L, "k", st->k);
  set_int(L, "end", st->end);
  set_int(L, "n_evals", (lua_Integer)h->n_evals);
  lua_pushnumber(L, st->fx);
  lua_setfield(L, -2, "fx");
  lua_pushnumber(L, st->step);
  lua_setfield(L, -2, "step");
  lua_pushnumber(L, h->initial_cost);
  lua_setfield(L, -2, "initial_cost");
  set_doubles(L, "x", st->x, n);
  set_doubles(L, "g", st->g, n);
  set_doubles(L, "d", st->d, n);
  set_doubles(L, "s", st->s, m * n);
  set_doubles(L, "y", st->y, m * n);
  set_doubles(L, "ys", st->ys, m);
  set_doubles(L, "pf", st->pf, st->past > 0 ? (size_t)st->past : 0);
}

/* Under lua_pcall: on_save(state, hist).  Upvalue-free: args are the state,
 * the history (light userdata) and the function. */
static int save_call(lua_State *L) {
  const sae_lbfgs_state *st = lua_touserdata(L, 1);
  const sae_lbfgs_history *h = lua_touserdata(L, 2);
  lua_pushvalue(L, 3);
  push_state(L, st, h);
  push_history(L, h);
  lua_call(L, 2, 0);
  return 0;
}

typedef struct save_ctx {
  lua_State *L;
  int fn; /* stack index of on_save */
} save_ctx;

/* opts.save: the Lua function, protected (a Lua error must not unwind
 * through the loop, which holds memory). */
static int lbfgs_save(void *ctx, const sae_lbfgs_state *st, const sae_lbfgs_history *h,
                      sae_error *e) {
  save_ctx *c = ctx;
  lua_State *L = c->L;
  if (!lua_checkstack(L, 8)) return sae_error_set(e, SAE_ENOMEM, "L-BFGS: out of Lua stack");
  lua_pushcfunction(L, save_call);
  lua_pushlightuserdata(L, (void *)st);
  lua_pushlightuserdata(L, (void *)h);
  lua_pushvalue(L, c->fn);
  if (lua_pcall(L, 3, 0, 0) != LUA_OK) {
    int rc = sae_error_set(e, SAE_EIO, "%s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "error saving");
    lua_pop(L, 1);
    return rc;
  }
  return 0;
}

static lua_Integer state_int(lua_State *L, int t, const char *key, lua_Integer lo, lua_Integer hi) {
  lua_getfield(L, t, key);
  int isint;
  lua_Integer v = lua_tointegerx(L, -1, &isint);
  if (!isint || v < lo || v > hi)
    luaL_error(L, "lbfgs: resume: %s must be a whole number in [%I, %I]", key, lo, hi);
  lua_pop(L, 1);
  return v;
}

static double state_number(lua_State *L, int t, const char *key) {
  lua_getfield(L, t, key);
  if (lua_type(L, -1) != LUA_TNUMBER) luaL_error(L, "lbfgs: resume: %s must be a number", key);
  double v = (double)lua_tonumber(L, -1);
  lua_pop(L, 1);
  return v;
}

static void state_doubles(lua_State *L, int t, const char *key, double *dst, size_t n) {
  lua_getfield(L, t, key);
  size_t len;
  const char *s = lua_tolstring(L, -1, &len);
  if (lua_type(L, -1) != LUA_TSTRING || len != n * sizeof *dst)
    luaL_error(L, "lbfgs: resume: %s must be %I doubles as bytes", key, (lua_Integer)n);
  if (n) memcpy(dst, s, len);
  lua_pop(L, 1);
}

/* opts.resume read into a new state userdata (pushed), its sizes those of
 * this model and these options, checked before anything is allocated. */
static sae_lbfgs_state *read_resume(lua_State *L, int t, const sae_model *m,
                                    const sae_lbfgs_opts *o) {
  luaL_checktype(L, t, LUA_TTABLE);
  const size_t n = sae_model_theta((sae_model *)m)->size;
  if (n > INT_MAX)
    luaL_error(L, "lbfgs: %I parameters; liblbfgs counts them in an int", (lua_Integer)n);
  if (o->m < 1 || o->past < 0) luaL_error(L, "lbfgs: m = %d, past = %d out of range", o->m, o->past);
  state_int(L, t, "n", (lua_Integer)n, (lua_Integer)n);
  state_int(L, t, "m", o->m, o->m);
  state_int(L, t, "past", o->past, o->past);
  sae_lbfgs_state *st = lua_newuserdatauv(L, sizeof *st, 0);
  memset(st, 0, sizeof *st);
  luaL_setmetatable(L, LSAE_LBFGS_STATE);
  if (sae_lbfgs_state_alloc(st, (int)n, o->m, o->past)) luaL_error(L, "lbfgs: out of memory");
  st->k = (int)state_int(L, t, "k", 1, INT_MAX);
  st->end = (int)state_int(L, t, "end", 0, o->m - 1);
  st->fx = state_number(L, t, "fx");
  st->step = state_number(L, t, "step");
  const size_t um = (size_t)o->m;
  state_doubles(L, t, "x", st->x, n);
  state_doubles(L, t, "g", st->g, n);
  state_doubles(L, t, "d", st->d, n);
  state_doubles(L, t, "s", st->s, um * n);
  state_doubles(L, t, "y", st->y, um * n);
  state_doubles(L, t, "ys", st->ys, um);
  state_doubles(L, t, "pf", st->pf, (size_t)o->past);
  return st;
}

/* sae.lbfgs(net, X [, opts]) -> history */
static int l_lbfgs(lua_State *L) {
  sae_model *m = optim_check_model(L, 1);
  lsae_check_has_cost(L, m);
  sae_lbfgs_opts o;
  sae_lbfgs_opts_default(&o);
  o.verbose = isatty(STDOUT_FILENO);
  lua_settop(L, 3);
  if (!lua_isnil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    lsae_check_options(L, 3, "lbfgs", lbfgs_keys);
    opt_int(L, 3, "max_iter", &o.max_iter);
    opt_int(L, 3, "m", &o.m);
    opt_number(L, 3, "epsilon", &o.epsilon);
    opt_number(L, 3, "delta", &o.delta);
    opt_int(L, 3, "past", &o.past);
    lua_getfield(L, 3, "verbose");
    if (!lua_isnil(L, -1)) o.verbose = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  save_ctx sc = {L, 0};
  if (!lua_isnil(L, 3)) {
    opt_int(L, 3, "save_every", &o.save_every);
    lua_getfield(L, 3, "on_save"); /* stays on the stack for the run */
    if (!lua_isnil(L, -1)) {
      luaL_checktype(L, -1, LUA_TFUNCTION);
      sc.fn = lua_gettop(L);
      o.save = lbfgs_save;
      o.save_ctx = &sc;
    }
    lua_getfield(L, 3, "resume");
    if (!lua_isnil(L, -1)) {
      const int t = lua_gettop(L);
      o.resume = read_resume(L, t, m, &o); /* its userdata stays on the stack */
      o.resume_evals = (size_t)state_int(L, t, "n_evals", 1, LUA_MAXINTEGER);
      o.resume_initial_cost = state_number(L, t, "initial_cost");
    }
  }
  sae_batch b;
  lsae_read_batch(L, 2, 3, &b); /* may leave the labels' buffer on the stack: keep it */
  lsae_history *box = lua_newuserdatauv(L, sizeof *box, 0);
  memset(box, 0, sizeof *box);
  luaL_setmetatable(L, LSAE_LBFGS_HISTORY);
  const int hidx = lua_gettop(L);
  sae_error e = {0, ""};
  int rc = sae_lbfgs_run(m, &b, &o, &box->h, &e);
  if (rc) return lsae_fail(L, rc, &e);
  const sae_lbfgs_history *h = &box->h;
  push_history(L, h);
  lua_pushstring(L, h->status);
  lua_setfield(L, -2, "status");
  lua_pushnumber(L, h->total_seconds);
  lua_setfield(L, -2, "total_seconds");
  lua_pushnumber(L, h->final_cost);
  lua_setfield(L, -2, "final_cost");
  sae_lbfgs_history_free(&box->h); /* early: the table holds everything now */
  lua_remove(L, hidx);
  return 1;
}

static const luaL_Reg optim_funcs[] = {{"lbfgs", l_lbfgs}, {NULL, NULL}};

void lsae_open_optim(lua_State *L) {
  luaL_newmetatable(L, LSAE_LBFGS_HISTORY);
  lua_pushcfunction(L, history_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, history_gc);
  lua_setfield(L, -2, "__close");
  lua_pop(L, 1);
  luaL_newmetatable(L, LSAE_LBFGS_STATE);
  lua_pushcfunction(L, state_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  lsae_internal_funcs(L, optim_funcs); /* sae.lbfgs is lua/sae/trainer.lua's */
}
