/* lsae_sparse.c -- Lua bindings of the sparse-coding inference (saelab/sparse.h):
 *
 *   local Z, info = sae.sparse_code(D, X, {lambda = 0.1, fista = true})
 *   local We, Sl = sae.ista_matrices(D, info.eta)        -- LISTA's start
 *
 * D is K x n (one atom per row), X m x n (one example per row), Z m x K.
 * Options of sae.sparse_code: lambda (0.1), nonneg (false), S (a K x K
 * inhibition matrix, symmetric, >= 0, zero diagonal; default none), max_iter
 * (1000), tol (1e-6; 0: run every iteration), fista (true), eta (the step;
 * default 1/L), Z (a matrix to warm-start from and write into; default a new
 * one).  info = {iters, eta, energy (summed over the rows)}.  The same
 * routine the plugins run: the numbers agree with theirs to the last bit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <saelab/sparse.h>
#include "lsae.h"

/* A buffer of n doubles owned by a userdata left on the stack (freed by
 * Lua's collector, so an error cannot leak it). */
static double *sparse_scratch(lua_State *L, size_t n) {
  if (n > ((size_t)-1) / sizeof(double)) luaL_error(L, "sae.sparse_code: out of memory");
  return lua_newuserdatauv(L, n * sizeof(double), 0);
}

static double opt_num(lua_State *L, int opt, const char *key, double def) {
  lua_getfield(L, opt, key);
  double v = def;
  if (!lua_isnil(L, -1)) {
    int isnum;
    v = lua_tonumberx(L, -1, &isnum);
    if (!isnum) luaL_error(L, "sae.sparse_code: %s must be a number, got %s", key, luaL_typename(L, -1));
  }
  lua_pop(L, 1);
  return v;
}

static int opt_bool(lua_State *L, int opt, const char *key, int def) {
  lua_getfield(L, opt, key);
  int v = lua_isnil(L, -1) ? def : lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

/* sae.sparse_code(D, X [, opts]) -> Z, info */
static int l_sparse_code(lua_State *L) {
  static const char *const keys[] = {"lambda", "nonneg", "S", "max_iter", "tol", "fista",
                                     "eta", "Z", NULL};
  gsl_matrix *D = lsae_checkmatrix(L, 1), *X = lsae_checkmatrix(L, 2);
  lua_settop(L, 3);
  if (lua_isnil(L, 3)) {
    lua_newtable(L);
    lua_replace(L, 3);
  }
  luaL_checktype(L, 3, LUA_TTABLE);
  lsae_check_options(L, 3, "sae.sparse_code", keys);
  const size_t K = D->size1, m = X->size1;
  if (X->size2 != D->size2)
    return luaL_error(L, "sae.sparse_code: X is %d x %d, D %d x %d: X needs as many columns as "
                      "D (one atom per row)", (int)m, (int)X->size2, (int)K, (int)D->size2);
  sae_sc_problem p = {D, NULL, opt_num(L, 3, "lambda", 0.1), opt_bool(L, 3, "nonneg", 0)};
  const double max_iter = opt_num(L, 3, "max_iter", 1000);
  if (!(max_iter >= 1) || max_iter != floor(max_iter) || max_iter > 1e12)
    return luaL_error(L, "sae.sparse_code: max_iter = %f must be a whole number >= 1", max_iter);
  sae_sc_opts o = {(size_t)max_iter, opt_num(L, 3, "tol", 1e-6), opt_bool(L, 3, "fista", 1),
                   opt_num(L, 3, "eta", 0), 0};
  if (!(o.tol >= 0)) return luaL_error(L, "sae.sparse_code: tol = %f must be >= 0", o.tol);
  lua_getfield(L, 3, "eta");
  if (!lua_isnil(L, -1) && !(o.eta > 0))
    return luaL_error(L, "sae.sparse_code: eta = %f must be > 0 (or absent: 1/L)", o.eta);
  lua_pop(L, 1);
  lua_getfield(L, 3, "S"); /* kept on the stack: the matrix stays alive */
  if (!lua_isnil(L, -1)) {
    gsl_matrix *S = lsae_testmatrix(L, -1);
    if (!S) return luaL_error(L, "sae.sparse_code: S must be a matrix, got %s", luaL_typename(L, -1));
    if (S->size1 != K || S->size2 != K)
      return luaL_error(L, "sae.sparse_code: S is %d x %d, expected %d x %d (K x K, K = D's rows)",
                        (int)S->size1, (int)S->size2, (int)K, (int)K);
    for (size_t i = 0; i < K; i++)
      for (size_t j = 0; j < K; j++) {
        const double s = gsl_matrix_get(S, i, j);
        if (!(s >= 0) || (i == j && s != 0) || s != gsl_matrix_get(S, j, i))
          return luaL_error(L, "sae.sparse_code: S[%d][%d] = %f: S must be symmetric, "
                            "non-negative, with a zero diagonal", (int)i + 1, (int)j + 1, s);
      }
    p.S = S;
  }
  lua_getfield(L, 3, "Z");
  gsl_matrix *Z;
  if (!lua_isnil(L, -1)) {
    Z = lsae_testmatrix(L, -1);
    if (!Z) return luaL_error(L, "sae.sparse_code: Z must be a matrix, got %s", luaL_typename(L, -1));
    if (Z->size1 != m || Z->size2 != K)
      return luaL_error(L, "sae.sparse_code: Z is %d x %d, expected %d x %d (m x K)",
                        (int)Z->size1, (int)Z->size2, (int)m, (int)K);
    o.warm = 1;
  } else {
    lua_pop(L, 1);
    Z = lsae_newmatrix(L, m, K);
  }
  const int zidx = lua_gettop(L);
  double *ws = sparse_scratch(L, sae_sc_ws_size(m, K));
  size_t iters = 0;
  double eta = 0;
  char msg[SAE_MSG_SIZE] = "";
  int rc = sae_sparse_code(&p, X, Z, &o, ws, &iters, &eta, msg);
  if (rc) {
    sae_error e;
    sae_error_set(&e, rc, "%s", msg[0] ? msg : sae_strerror(rc));
    return lsae_fail(L, rc, &e);
  }
  double *res = sparse_scratch(L, m * X->size2);
  const double energy = sae_sc_energy(&p, X, Z, res);
  lua_pushvalue(L, zidx);
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, (lua_Integer)iters);
  lua_setfield(L, -2, "iters");
  lua_pushnumber(L, eta);
  lua_setfield(L, -2, "eta");
  lua_pushnumber(L, energy);
  lua_setfield(L, -2, "energy");
  return 2;
}

/* sae.ista_matrices(D, eta) -> We (K x n), Sl (K x K): LISTA's start from
 * ISTA, We = eta D, Sl = I - eta D D^T. */
static int l_ista_matrices(lua_State *L) {
  gsl_matrix *D = lsae_checkmatrix(L, 1);
  const double eta = luaL_checknumber(L, 2);
  if (!(eta > 0)) return luaL_error(L, "sae.ista_matrices: eta = %f must be > 0", eta);
  gsl_matrix *We = lsae_newmatrix(L, D->size1, D->size2);
  gsl_matrix *Sl = lsae_newmatrix(L, D->size1, D->size1);
  int rc = sae_sc_ista_matrices(D, eta, We, Sl);
  if (rc) return lsae_fail(L, rc, NULL);
  return 2;
}

static const luaL_Reg sparse_funcs[] = {
  {"sparse_code", l_sparse_code},
  {"ista_matrices", l_ista_matrices},
  {NULL, NULL}};

void lsae_open_sparse(lua_State *L) { luaL_setfuncs(L, sparse_funcs, 0); }
