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
 * initial_cost, final_cost.  The model's parameters hold the result. */
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
                                         "verbose", "target", "labels", "mode", NULL};

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
  lua_createtable(L, 0, 11);
  set_array_size(L, "iter", h->iter, h->n);
  set_array_double(L, "cost", h->cost, h->n);
  set_array_double(L, "gnorm", h->gnorm, h->n);
  set_array_double(L, "step", h->step, h->n);
  set_array_size(L, "evals", h->evals, h->n);
  set_array_double(L, "seconds", h->seconds, h->n);
  lua_pushstring(L, h->status);
  lua_setfield(L, -2, "status");
  lua_pushnumber(L, h->total_seconds);
  lua_setfield(L, -2, "total_seconds");
  lua_pushinteger(L, (lua_Integer)h->n_evals);
  lua_setfield(L, -2, "n_evals");
  lua_pushnumber(L, h->initial_cost);
  lua_setfield(L, -2, "initial_cost");
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
  luaL_setfuncs(L, optim_funcs, 0);
}
