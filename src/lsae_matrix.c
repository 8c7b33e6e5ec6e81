/* lsae_matrix.c -- the matrix userdata "sae.matrix": a gsl_matrix (double) seen from Lua.
 *
 * A matrix either owns its gsl_matrix (owner = 1, freed by __gc/__close) or
 * is a view into another matrix or a model's parameter block (owner = 0);
 * a view keeps its parent alive through user value 1.  Views are always
 * made of the ROOT that owns the data (a view of a view points at the
 * root), so "is my data still there?" is one look at the parent: a view of
 * a closed matrix is refused like a closed matrix.
 *
 * Lua side (indices 1-based; every matrix is at least 1 x 1):
 *   sae.matrix(r, c [, fill])   sae.matrix{{1,2},{3,4}}   sae.zeros(r, c)
 *   sae.ones(r, c)   sae.eye(n)   sae.onehot(n)   sae.ismatrix(v)
 *   sae.rand(r, c [, {dist = "uniform"|"normal", a = 0, b = 1, mean = 0, sigma = 1}])
 *   m:shape() rows() cols() get(i,j) set(i,j,v) row(i) rowrange(i,j) col(j)
 *   m:totable() copy([B]) t() fill(v) scale(s) add(B) sub(B) axpy(alpha,B)
 *   m:select(idx) hadamard(B) sum() mean() min() max() norm() dot(B)
 *   m:rowsum() colmean() argmax() threshold(t) map(name) equal(B [,tol])
 *   m:format([fmt]) isfinite()
 *   #m  m+B  m-B  m*B (product)  s*m  m*s  -m  m==B  tostring(m)  local m <close>
 *
 * Only whole-matrix operations cross the boundary: there are no per-element
 * Lua callbacks (map takes the name of a built-in function).
 *
 * Every error is one line "what: problem", e.g.
 *   "matrix:add: shapes 3x4 and 4x3 differ". */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_randist.h>
#include "lsae.h"

#define MAT_SHOW 10 /* __tostring shows at most this many rows and columns */

/* luaL_error with C's printf formats (lua_pushfstring knows no %zu, %g,
 * %lld); the message is one line, prefixed by the caller's position. */
static int merr(lua_State *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int merr(lua_State *L, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return luaL_error(L, "%s", msg);
}

/* ---- the userdata ---------------------------------------------------- */

/* The live gsl_matrix of the userdata at idx, or NULL when idx is not a
 * matrix, was closed, or is a view of a matrix that was closed. */
static gsl_matrix *mat_live(lua_State *L, int idx, int *closed) {
  lsae_matrix *m = luaL_testudata(L, idx, LSAE_MATRIX);
  if (closed) *closed = 0;
  if (!m) return NULL;
  if (m->a && !m->owner) {
    /* The parent is a matrix or a model: either way its first field is the
     * pointer its __close frees and sets to NULL (see lsae_pushview). */
    lua_getiuservalue(L, idx, 1);
    void *const *p = lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (p && !*p) {
      if (closed) *closed = 2;
      return NULL;
    }
  }
  if (!m->a && closed) *closed = 1;
  return m->a;
}

/* Empty userdata with the metatable: nothing to free yet. */
static lsae_matrix *mat_push_empty(lua_State *L) {
  lsae_matrix *m = lua_newuserdatauv(L, sizeof *m, 1);
  m->a = NULL;
  m->owner = 0;
  memset(&m->view, 0, sizeof m->view);
  luaL_setmetatable(L, LSAE_MATRIX);
  return m;
}

gsl_matrix *lsae_newmatrix(lua_State *L, size_t rows, size_t cols) {
  lsae_matrix *m = mat_push_empty(L);
  gsl_block *b;
  if (rows == 0 || cols == 0)
    merr(L, "sae.matrix: a matrix is at least 1x1, not %zux%zu", rows, cols);
  if (rows > SIZE_MAX / sizeof(double) / cols)
    merr(L, "out of memory allocating %zu x %zu matrix", rows, cols);
  /* Not gsl_matrix_calloc: when its block allocation fails it leaks the
   * matrix header (GSL 2.7).  The block comes first, then a header that owns it. */
  b = gsl_block_calloc(rows * cols);
  if (!b) merr(L, "out of memory allocating %zu x %zu matrix", rows, cols);
  m->a = gsl_matrix_alloc_from_block(b, 0, rows, cols, cols);
  if (!m->a) {
    gsl_block_free(b);
    merr(L, "out of memory allocating %zu x %zu matrix", rows, cols);
  }
  m->a->owner = 1; /* gsl_matrix_free frees the block too */
  m->owner = 1;
  lsae_gc_external(L, rows * cols * sizeof(double)); /* m is on the stack: safe */
  return m->a;
}

gsl_matrix *lsae_pushview(lua_State *L, gsl_matrix v, int parent) {
  lsae_matrix *m, *p;
  parent = lua_absindex(L, parent);
  m = mat_push_empty(L);
  m->view = v;
  m->view.owner = 0;
  m->a = &m->view;
  /* A view of a matrix view hangs on the root that owns the data. */
  p = luaL_testudata(L, parent, LSAE_MATRIX);
  if (p && !p->owner) lua_getiuservalue(L, parent, 1);
  else lua_pushvalue(L, parent);
  lua_setiuservalue(L, -2, 1);
  return m->a;
}

gsl_matrix *lsae_checkmatrix(lua_State *L, int arg) {
  int closed;
  gsl_matrix *a = mat_live(L, arg, &closed);
  if (a) return a;
  if (closed == 1) luaL_argerror(L, arg, "matrix is closed");
  if (closed == 2) luaL_argerror(L, arg, "view of a closed matrix");
  luaL_typeerror(L, arg, LSAE_MATRIX);
  return NULL;
}

gsl_matrix *lsae_testmatrix(lua_State *L, int arg) { return mat_live(L, arg, NULL); }

/* __gc and __close: idempotent.  A closed view lets go of its parent. */
static int l_matrix_free(lua_State *L) {
  lsae_matrix *m = luaL_checkudata(L, 1, LSAE_MATRIX);
  if (m->a && m->owner) gsl_matrix_free(m->a);
  m->a = NULL;
  m->owner = 0;
  lua_pushnil(L);
  lua_setiuservalue(L, 1, 1);
  return 0;
}

/* ---- argument helpers (messages name the function and the argument) -- */

/* fn is "matrix:name" for methods (arg 1 is self), "matrix OP" for
 * metamethods (operands), "sae.name" for module functions. */
static void argname(char *buf, size_t n, const char *fn, int arg) {
  if (strncmp(fn, "matrix:", 7) == 0) {
    if (arg == 1) snprintf(buf, n, "self");
    else snprintf(buf, n, "argument %d", arg - 1);
  } else if (strncmp(fn, "matrix ", 7) == 0) {
    snprintf(buf, n, "operand %d", arg);
  } else {
    snprintf(buf, n, "argument %d", arg);
  }
}

/* "a number", "nil", "missing", ... for messages. */
static const char *tdesc(lua_State *L, int idx) {
  switch (lua_type(L, idx)) {
  case LUA_TNONE: return "missing";
  case LUA_TNIL: return "nil";
  case LUA_TBOOLEAN: return "a boolean";
  case LUA_TNUMBER: return "a number";
  case LUA_TSTRING: return "a string";
  case LUA_TTABLE: return "a table";
  case LUA_TFUNCTION: return "a function";
  case LUA_TTHREAD: return "a thread";
  default: return "a userdata";
  }
}

static gsl_matrix *checkm(lua_State *L, int arg, const char *fn) {
  int closed;
  char what[32];
  gsl_matrix *a = mat_live(L, arg, &closed);
  if (a) return a;
  argname(what, sizeof what, fn, arg);
  if (closed == 1) merr(L, "%s: %s is a closed matrix", fn, what);
  if (closed == 2) merr(L, "%s: %s is a view of a closed matrix", fn, what);
  merr(L, "%s: %s is %s, not a matrix", fn, what, tdesc(L, arg));
  return NULL;
}

static lua_Number checknum(lua_State *L, int arg, const char *fn, const char *name) {
  if (lua_type(L, arg) != LUA_TNUMBER)
    merr(L, "%s: %s is %s, not a number", fn, name, tdesc(L, arg));
  return lua_tonumber(L, arg);
}

static lua_Integer checkint(lua_State *L, int arg, const char *fn, const char *name) {
  int ok;
  lua_Integer k;
  if (lua_type(L, arg) != LUA_TNUMBER)
    merr(L, "%s: %s is %s, not a number", fn, name, tdesc(L, arg));
  k = lua_tointegerx(L, arg, &ok);
  if (!ok) merr(L, "%s: %s %g is not a whole number", fn, name, lua_tonumber(L, arg));
  return k;
}

/* A dimension: a whole number >= 1. */
static size_t checkdim(lua_State *L, int arg, const char *fn, const char *name) {
  lua_Integer k = checkint(L, arg, fn, name);
  if (k < 1) merr(L, "%s: %s must be at least 1, got %lld", fn, name, (long long)k);
  return (size_t)k;
}

/* A 1-based index in 1..n; returns it 0-based. */
static size_t checkindex(lua_State *L, int arg, size_t n, const char *fn, const char *name) {
  lua_Integer k = checkint(L, arg, fn, name);
  if (k < 1 || (lua_Unsigned)k > n)
    merr(L, "%s: %s %lld out of range 1..%zu", fn, name, (long long)k, n);
  return (size_t)(k - 1);
}

static const char *shp(char *buf, size_t n, const gsl_matrix *a) {
  snprintf(buf, n, "%zux%zu", a->size1, a->size2);
  return buf;
}

static void sameshape(lua_State *L, const gsl_matrix *a, const gsl_matrix *b, const char *fn) {
  char s1[48], s2[48];
  if (a->size1 != b->size1 || a->size2 != b->size2)
    merr(L, "%s: shapes %s and %s differ", fn, shp(s1, sizeof s1, a), shp(s2, sizeof s2, b));
}

#define ROW(a, i) ((a)->data + (i) * (a)->tda)

/* b, or a fresh copy of it (pushed) when b overlaps dst in memory other than
 * element for element: keeps in-place ops right for overlapping views. */
static const gsl_matrix *unalias(lua_State *L, const gsl_matrix *dst, const gsl_matrix *b) {
  uintptr_t ds = (uintptr_t)dst->data, bs = (uintptr_t)b->data;
  uintptr_t de = (uintptr_t)(ROW(dst, dst->size1 - 1) + dst->size2);
  uintptr_t be = (uintptr_t)(ROW(b, b->size1 - 1) + b->size2);
  gsl_matrix *c;
  if (ds >= be || bs >= de) return b;
  if (dst->data == b->data && dst->tda == b->tda) return b;
  c = lsae_newmatrix(L, b->size1, b->size2);
  gsl_matrix_memcpy(c, b);
  return c;
}

static gsl_matrix *pushcopy(lua_State *L, const gsl_matrix *a) {
  gsl_matrix *c = lsae_newmatrix(L, a->size1, a->size2);
  gsl_matrix_memcpy(c, a);
  return c;
}

/* ---- constructors (module functions) --------------------------------- */

static void fill_all(gsl_matrix *a, double v) { gsl_matrix_set_all(a, v); }

/* sae.matrix{{1,2},{3,4}}: a table of rows. */
static int matrix_from_table(lua_State *L) {
  const char *fn = "sae.matrix";
  lua_Integer r = (lua_Integer)lua_rawlen(L, 1), c, i, j, ci;
  gsl_matrix *a;
  if (r < 1) merr(L, "%s: the table has no rows (a matrix is at least 1x1)", fn);
  if (lua_geti(L, 1, 1) != LUA_TTABLE)
    merr(L, "%s: row 1 is %s, not a table", fn, tdesc(L, -1));
  c = (lua_Integer)lua_rawlen(L, -1);
  lua_pop(L, 1);
  if (c < 1) merr(L, "%s: row 1 is empty (a matrix is at least 1x1)", fn);
  a = lsae_newmatrix(L, (size_t)r, (size_t)c); /* owned by the userdata from here */
  for (i = 1; i <= r; i++) {
    double *p = ROW(a, (size_t)(i - 1));
    if (lua_geti(L, 1, i) != LUA_TTABLE)
      merr(L, "%s: row %lld is %s, not a table", fn, (long long)i, tdesc(L, -1));
    ci = (lua_Integer)lua_rawlen(L, -1);
    if (ci != c)
      merr(L, "%s: ragged table: row %lld has %lld entries, row 1 has %lld", fn,
                 (long long)i, (long long)ci, (long long)c);
    for (j = 1; j <= c; j++) {
      if (lua_geti(L, -1, j) != LUA_TNUMBER)
        merr(L, "%s: entry at row %lld, col %lld is %s, not a number", fn,
                   (long long)i, (long long)j, tdesc(L, -1));
      p[j - 1] = lua_tonumber(L, -1);
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  return 1;
}

/* sae.matrix(rows, cols [, fill]) or sae.matrix(table) */
static int l_matrix_new(lua_State *L) {
  const char *fn = "sae.matrix";
  size_t r, c;
  double v = 0;
  gsl_matrix *a;
  if (lua_type(L, 1) == LUA_TTABLE) {
    lua_settop(L, 1);
    return matrix_from_table(L);
  }
  r = checkdim(L, 1, fn, "rows");
  c = checkdim(L, 2, fn, "cols");
  if (!lua_isnoneornil(L, 3)) v = checknum(L, 3, fn, "fill");
  a = lsae_newmatrix(L, r, c);
  if (v != 0) fill_all(a, v);
  return 1;
}

static int l_zeros(lua_State *L) {
  size_t r = checkdim(L, 1, "sae.zeros", "rows"), c = checkdim(L, 2, "sae.zeros", "cols");
  lsae_newmatrix(L, r, c);
  return 1;
}

static int l_ones(lua_State *L) {
  size_t r = checkdim(L, 1, "sae.ones", "rows"), c = checkdim(L, 2, "sae.ones", "cols");
  fill_all(lsae_newmatrix(L, r, c), 1.0);
  return 1;
}

static int eye(lua_State *L, const char *fn) {
  size_t n = checkdim(L, 1, fn, "n");
  gsl_matrix_set_identity(lsae_newmatrix(L, n, n));
  return 1;
}

static int l_eye(lua_State *L) { return eye(L, "sae.eye"); }

/* The n one-hot patterns as rows: the n-log2(n)-n encoder problem's data. */
static int l_onehot(lua_State *L) { return eye(L, "sae.onehot"); }

/* sae.rand(r, c [, {dist, a, b, mean, sigma}]), drawn row by row from the
 * run's seeded generator; any other option is an error naming these. */
static int l_rand(lua_State *L) {
  const char *fn = "sae.rand";
  static const char *const keys[] = {"dist", "a", "b", "mean", "sigma", NULL};
  size_t r = checkdim(L, 1, fn, "rows"), c = checkdim(L, 2, fn, "cols"), i, j;
  int normal = 0, given[5] = {0, 0, 0, 0, 0};
  double lo = 0, hi = 1, mean = 0, sigma = 1;
  gsl_matrix *a;
  gsl_rng *rng;
  if (!lua_isnoneornil(L, 3)) {
    if (!lua_istable(L, 3))
      merr(L, "%s: argument 3 is %s, not an options table", fn, tdesc(L, 3));
    lsae_check_options(L, 3, fn, keys);
    lua_pushnil(L);
    while (lua_next(L, 3)) {
      int k;
      const char *key = lua_tostring(L, -2); /* a known name: checked above */
      for (k = 0; strcmp(keys[k], key) != 0; k++)
        ;
      given[k] = 1;
      if (k == 0) {
        const char *d = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
        if (strcmp(d, "normal") == 0) normal = 1;
        else if (strcmp(d, "uniform") != 0)
          merr(L, "%s: dist must be \"uniform\" or \"normal\", got '%s'", fn,
                     lua_type(L, -1) == LUA_TSTRING ? d : tdesc(L, -1));
      } else {
        double v = checknum(L, -1, fn, keys[k]);
        if (!gsl_finite(v)) merr(L, "%s: %s = %g is not finite", fn, keys[k], v);
        if (k == 1) lo = v;
        else if (k == 2) hi = v;
        else if (k == 3) mean = v;
        else sigma = v;
      }
      lua_pop(L, 1);
    }
    if (normal && (given[1] || given[2]))
      merr(L, "%s: a and b apply to dist=\"uniform\"; normal takes mean and sigma", fn);
    if (!normal && (given[3] || given[4]))
      merr(L, "%s: mean and sigma apply to dist=\"normal\"; uniform takes a and b", fn);
    if (lo > hi) merr(L, "%s: a = %g is greater than b = %g", fn, lo, hi);
    if (sigma < 0) merr(L, "%s: sigma = %g is negative", fn, sigma);
  }
  rng = lsae_rng(L);
  a = lsae_newmatrix(L, r, c);
  for (i = 0; i < r; i++) {
    double *p = ROW(a, i);
    for (j = 0; j < c; j++)
      p[j] = normal ? mean + gsl_ran_gaussian(rng, sigma) : lo + (hi - lo) * gsl_rng_uniform(rng);
  }
  return 1;
}

static int l_ismatrix(lua_State *L) {
  lua_pushboolean(L, luaL_testudata(L, 1, LSAE_MATRIX) != NULL);
  return 1;
}

/* ---- shape, elements, views ------------------------------------------ */

static int l_matrix_shape(lua_State *L) {
  gsl_matrix *a = checkm(L, 1, "matrix:shape");
  lua_pushinteger(L, (lua_Integer)a->size1);
  lua_pushinteger(L, (lua_Integer)a->size2);
  return 2;
}

static int l_matrix_rows(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)checkm(L, 1, "matrix:rows")->size1);
  return 1;
}

static int l_matrix_cols(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)checkm(L, 1, "matrix:cols")->size2);
  return 1;
}

static int l_matrix_len(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)checkm(L, 1, "matrix #")->size1);
  return 1;
}

static int l_matrix_get(lua_State *L) {
  const char *fn = "matrix:get";
  gsl_matrix *a = checkm(L, 1, fn);
  size_t i = checkindex(L, 2, a->size1, fn, "row");
  size_t j = checkindex(L, 3, a->size2, fn, "col");
  lua_pushnumber(L, ROW(a, i)[j]);
  return 1;
}

static int l_matrix_set(lua_State *L) {
  const char *fn = "matrix:set";
  gsl_matrix *a = checkm(L, 1, fn);
  size_t i = checkindex(L, 2, a->size1, fn, "row");
  size_t j = checkindex(L, 3, a->size2, fn, "col");
  ROW(a, i)[j] = checknum(L, 4, fn, "value");
  lua_settop(L, 1);
  return 1;
}

/* row(i): a live 1 x cols view. */
static int l_matrix_row(lua_State *L) {
  const char *fn = "matrix:row";
  gsl_matrix *a = checkm(L, 1, fn);
  size_t i = checkindex(L, 2, a->size1, fn, "row");
  lsae_pushview(L, gsl_matrix_submatrix(a, i, 0, 1, a->size2).matrix, 1);
  return 1;
}

/* rowrange(i, j): a live view of rows i..j. */
static int l_matrix_rowrange(lua_State *L) {
  const char *fn = "matrix:rowrange";
  gsl_matrix *a = checkm(L, 1, fn);
  size_t i = checkindex(L, 2, a->size1, fn, "first row");
  size_t j = checkindex(L, 3, a->size1, fn, "last row");
  if (j < i) merr(L, "%s: last row %zu is before first row %zu", fn, j + 1, i + 1);
  lsae_pushview(L, gsl_matrix_submatrix(a, i, 0, j - i + 1, a->size2).matrix, 1);
  return 1;
}

/* col(j): a live rows x 1 view. */
static int l_matrix_col(lua_State *L) {
  const char *fn = "matrix:col";
  gsl_matrix *a = checkm(L, 1, fn);
  size_t j = checkindex(L, 2, a->size2, fn, "col");
  lsae_pushview(L, gsl_matrix_submatrix(a, 0, j, a->size1, 1).matrix, 1);
  return 1;
}

static int l_matrix_totable(lua_State *L) {
  gsl_matrix *a = checkm(L, 1, "matrix:totable");
  size_t i, j;
  lua_createtable(L, (int)a->size1, 0);
  for (i = 0; i < a->size1; i++) {
    const double *p = ROW(a, i);
    lua_createtable(L, (int)a->size2, 0);
    for (j = 0; j < a->size2; j++) {
      lua_pushnumber(L, p[j]);
      lua_rawseti(L, -2, (lua_Integer)j + 1);
    }
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

/* m:tobytes(): the entries row by row as native doubles, in a string (a
 * checkpoint's payload); m:frombytes(s) copies such a string back into m,
 * which must have exactly as many entries, and returns m. */
static int l_matrix_tobytes(lua_State *L) {
  gsl_matrix *a = checkm(L, 1, "matrix:tobytes");
  luaL_Buffer b;
  luaL_buffinitsize(L, &b, a->size1 * a->size2 * sizeof(double));
  for (size_t i = 0; i < a->size1; i++)
    luaL_addlstring(&b, (const char *)ROW(a, i), a->size2 * sizeof(double));
  luaL_pushresult(&b);
  return 1;
}

static int l_matrix_frombytes(lua_State *L) {
  const char *fn = "matrix:frombytes";
  gsl_matrix *a = checkm(L, 1, fn);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  const size_t row = a->size2 * sizeof(double);
  if (len != a->size1 * row)
    merr(L, "%s: %zu bytes are not the %zux%zu matrix's %zu", fn, len, a->size1, a->size2,
         a->size1 * row);
  for (size_t i = 0; i < a->size1; i++) memcpy(ROW(a, i), s + i * row, row);
  lua_settop(L, 1);
  return 1;
}

/* m:copy() is a new matrix; m:copy(B) copies B into m (same shape: a
 * parameter view, a row range) and returns m. */
static int l_matrix_copy(lua_State *L) {
  const char *fn = "matrix:copy";
  gsl_matrix *a = checkm(L, 1, fn);
  if (lua_isnoneornil(L, 2)) {
    pushcopy(L, a);
    return 1;
  }
  gsl_matrix *b = checkm(L, 2, fn);
  if (a->size1 != b->size1 || a->size2 != b->size2)
    merr(L, "%s: shapes %zux%zu and %zux%zu differ", fn, a->size1, a->size2, b->size1, b->size2);
  gsl_matrix_memcpy(a, b);
  lua_settop(L, 1);
  return 1;
}

static int l_matrix_t(lua_State *L) {
  gsl_matrix *a = checkm(L, 1, "matrix:t");
  gsl_matrix_transpose_memcpy(lsae_newmatrix(L, a->size2, a->size1), a);
  return 1;
}

/* select(idx): rows idx[1], idx[2], ... as a new matrix (minibatches, shuffles). */
static int l_matrix_select(lua_State *L) {
  const char *fn = "matrix:select";
  gsl_matrix *a = checkm(L, 1, fn), *c;
  lua_Integer n, k;
  if (!lua_istable(L, 2))
    merr(L, "%s: argument 1 is %s, not a table of row numbers", fn, tdesc(L, 2));
  n = (lua_Integer)lua_rawlen(L, 2);
  if (n < 1) merr(L, "%s: the index table is empty (a matrix is at least 1x1)", fn);
  lua_settop(L, 2);
  c = lsae_newmatrix(L, (size_t)n, a->size2);
  for (k = 1; k <= n; k++) {
    int ok;
    lua_Integer i;
    int t = lua_geti(L, 2, k);
    i = lua_tointegerx(L, -1, &ok);
    if (t != LUA_TNUMBER)
      merr(L, "%s: idx[%lld] is %s, not a row number", fn, (long long)k, tdesc(L, -1));
    if (!ok) merr(L, "%s: idx[%lld] = %g is not a whole number", fn, (long long)k, lua_tonumber(L, -1));
    if (i < 1 || (lua_Unsigned)i > a->size1)
      merr(L, "%s: idx[%lld] = %lld out of range 1..%zu", fn, (long long)k,
                 (long long)i, a->size1);
    lua_pop(L, 1);
    memcpy(ROW(c, (size_t)(k - 1)), ROW(a, (size_t)(i - 1)), a->size2 * sizeof(double));
  }
  return 1;
}

/* ---- in-place arithmetic (each returns self) ------------------------- */

static int l_matrix_fill(lua_State *L) {
  gsl_matrix *a = checkm(L, 1, "matrix:fill");
  fill_all(a, checknum(L, 2, "matrix:fill", "value"));
  lua_settop(L, 1);
  return 1;
}

static int l_matrix_scale(lua_State *L) {
  gsl_matrix *a = checkm(L, 1, "matrix:scale");
  gsl_matrix_scale(a, checknum(L, 2, "matrix:scale", "s"));
  lua_settop(L, 1);
  return 1;
}

/* self += alpha * B */
static int axpy(lua_State *L, const char *fn, double alpha, int barg) {
  gsl_matrix *a = checkm(L, 1, fn);
  const gsl_matrix *b = checkm(L, barg, fn);
  size_t i, j;
  sameshape(L, a, b, fn);
  b = unalias(L, a, b);
  for (i = 0; i < a->size1; i++) {
    double *p = ROW(a, i);
    const double *q = ROW(b, i);
    for (j = 0; j < a->size2; j++) p[j] += alpha * q[j];
  }
  lua_settop(L, 1);
  return 1;
}

static int l_matrix_add(lua_State *L) { return axpy(L, "matrix:add", 1.0, 2); }
static int l_matrix_sub(lua_State *L) { return axpy(L, "matrix:sub", -1.0, 2); }
static int l_matrix_axpy(lua_State *L) {
  double alpha = checknum(L, 2, "matrix:axpy", "alpha");
  return axpy(L, "matrix:axpy", alpha, 3);
}

/* ---- new matrices from old -------------------------------------------- */

static int l_matrix_hadamard(lua_State *L) {
  const char *fn = "matrix:hadamard";
  gsl_matrix *a = checkm(L, 1, fn), *b = checkm(L, 2, fn);
  sameshape(L, a, b, fn);
  gsl_matrix_mul_elements(pushcopy(L, a), b);
  return 1;
}

static int l_matrix_rowsum(lua_State *L) {
  gsl_matrix *a = checkm(L, 1, "matrix:rowsum"), *c = lsae_newmatrix(L, a->size1, 1);
  size_t i, j;
  for (i = 0; i < a->size1; i++) {
    const double *p = ROW(a, i);
    double s = 0;
    for (j = 0; j < a->size2; j++) s += p[j];
    gsl_matrix_set(c, i, 0, s);
  }
  return 1;
}

static int l_matrix_colmean(lua_State *L) {
  gsl_matrix *a = checkm(L, 1, "matrix:colmean"), *c = lsae_newmatrix(L, 1, a->size2);
  size_t i, j;
  for (i = 0; i < a->size1; i++) {
    const double *p = ROW(a, i);
    for (j = 0; j < a->size2; j++) c->data[j] += p[j];
  }
  gsl_matrix_scale(c, 1.0 / (double)a->size1);
  return 1;
}

static int l_matrix_threshold(lua_State *L) {
  gsl_matrix *a = checkm(L, 1, "matrix:threshold"), *c;
  double t = checknum(L, 2, "matrix:threshold", "t");
  size_t i, j;
  c = lsae_newmatrix(L, a->size1, a->size2);
  for (i = 0; i < a->size1; i++)
    for (j = 0; j < a->size2; j++) ROW(c, i)[j] = ROW(a, i)[j] > t ? 1.0 : 0.0;
  return 1;
}

static double f_sigmoid(double x) {
  /* written so neither branch overflows */
  return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
}
static double f_square(double x) { return x * x; }

static const struct {
  const char *name;
  double (*f)(double);
} map_fn[] = {{"sigmoid", f_sigmoid}, {"tanh", tanh}, {"exp", exp},     {"log", log},
              {"abs", fabs},         {"sqrt", sqrt}, {"square", f_square}, {"round", round},
              {NULL, NULL}};

static int l_matrix_map(lua_State *L) {
  const char *fn = "matrix:map";
  gsl_matrix *a = checkm(L, 1, fn), *c;
  const char *name;
  double (*f)(double) = NULL;
  size_t i, j, k;
  if (lua_type(L, 2) != LUA_TSTRING)
    merr(L, "%s: argument 1 is %s, not a function name", fn, tdesc(L, 2));
  name = lua_tostring(L, 2);
  for (k = 0; map_fn[k].name; k++)
    if (strcmp(map_fn[k].name, name) == 0) f = map_fn[k].f;
  if (!f)
    merr(L, "%s: unknown function '%s' (sigmoid, tanh, exp, log, abs, sqrt, square, round)",
               fn, name);
  c = lsae_newmatrix(L, a->size1, a->size2);
  for (i = 0; i < a->size1; i++)
    for (j = 0; j < a->size2; j++) ROW(c, i)[j] = f(ROW(a, i)[j]);
  return 1;
}

/* ---- reductions -------------------------------------------------------- */

static double msum(const gsl_matrix *a) {
  double s = 0;
  size_t i, j;
  for (i = 0; i < a->size1; i++)
    for (j = 0; j < a->size2; j++) s += ROW(a, i)[j];
  return s;
}

static int l_matrix_sum(lua_State *L) {
  lua_pushnumber(L, msum(checkm(L, 1, "matrix:sum")));
  return 1;
}

static int l_matrix_mean(lua_State *L) {
  gsl_matrix *a = checkm(L, 1, "matrix:mean");
  lua_pushnumber(L, msum(a) / ((double)a->size1 * (double)a->size2));
  return 1;
}

/* min and max; NaN if any entry is NaN. */
static double mextreme(const gsl_matrix *a, int want_max) {
  double e = ROW(a, 0)[0];
  size_t i, j;
  for (i = 0; i < a->size1; i++)
    for (j = 0; j < a->size2; j++) {
      double x = ROW(a, i)[j];
      if (isnan(x)) return x;
      if (want_max ? x > e : x < e) e = x;
    }
  return e;
}

static int l_matrix_min(lua_State *L) {
  lua_pushnumber(L, mextreme(checkm(L, 1, "matrix:min"), 0));
  return 1;
}

static int l_matrix_max(lua_State *L) {
  lua_pushnumber(L, mextreme(checkm(L, 1, "matrix:max"), 1));
  return 1;
}

/* Frobenius norm: row norms from BLAS, combined with hypot (no overflow). */
static int l_matrix_norm(lua_State *L) {
  gsl_matrix *a = checkm(L, 1, "matrix:norm");
  double s = 0;
  size_t i;
  for (i = 0; i < a->size1; i++) {
    gsl_vector_view r = gsl_matrix_row(a, i);
    s = hypot(s, gsl_blas_dnrm2(&r.vector));
  }
  if (isinf(s)) { /* some dnrm2 kernels (and valgrind's 64-bit x87) square unscaled */
    double amax = 0, t = 0;
    for (i = 0; i < a->size1; i++)
      for (size_t j = 0; j < a->size2; j++) amax = fmax(amax, fabs(gsl_matrix_get(a, i, j)));
    if (isfinite(amax)) {
      for (i = 0; i < a->size1; i++)
        for (size_t j = 0; j < a->size2; j++) t += pow(gsl_matrix_get(a, i, j) / amax, 2);
      s = amax * sqrt(t);
    }
  }
  lua_pushnumber(L, s);
  return 1;
}

/* dot(B) = sum_ij A_ij B_ij */
static int l_matrix_dot(lua_State *L) {
  const char *fn = "matrix:dot";
  gsl_matrix *a = checkm(L, 1, fn), *b = checkm(L, 2, fn);
  double s = 0, d;
  size_t i;
  sameshape(L, a, b, fn);
  for (i = 0; i < a->size1; i++) {
    gsl_vector_view ra = gsl_matrix_row(a, i), rb = gsl_matrix_row(b, i);
    gsl_blas_ddot(&ra.vector, &rb.vector, &d);
    s += d;
  }
  lua_pushnumber(L, s);
  return 1;
}

/* argmax(): per row, the 1-based column of its (first) maximum. */
static int l_matrix_argmax(lua_State *L) {
  gsl_matrix *a = checkm(L, 1, "matrix:argmax");
  size_t i, j;
  lua_createtable(L, (int)a->size1, 0);
  for (i = 0; i < a->size1; i++) {
    const double *p = ROW(a, i);
    size_t best = 0;
    for (j = 1; j < a->size2; j++)
      if (p[j] > p[best]) best = j;
    lua_pushinteger(L, (lua_Integer)best + 1);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

static int l_matrix_isfinite(lua_State *L) {
  gsl_matrix *a = checkm(L, 1, "matrix:isfinite");
  size_t i, j;
  for (i = 0; i < a->size1; i++)
    for (j = 0; j < a->size2; j++)
      if (!gsl_finite(ROW(a, i)[j])) {
        lua_pushboolean(L, 0);
        return 1;
      }
  lua_pushboolean(L, 1);
  return 1;
}

/* equal(B [, tol = 0]): same shape and |a_ij - b_ij| <= tol everywhere. */
static int l_matrix_equal(lua_State *L) {
  const char *fn = "matrix:equal";
  gsl_matrix *a = checkm(L, 1, fn), *b = checkm(L, 2, fn);
  double tol = lua_isnoneornil(L, 3) ? 0.0 : checknum(L, 3, fn, "tol");
  size_t i, j;
  if (!(tol >= 0)) merr(L, "%s: tol = %g must be >= 0", fn, tol);
  if (a->size1 != b->size1 || a->size2 != b->size2) {
    lua_pushboolean(L, 0);
    return 1;
  }
  for (i = 0; i < a->size1; i++)
    for (j = 0; j < a->size2; j++)
      if (!(fabs(ROW(a, i)[j] - ROW(b, i)[j]) <= tol)) {
        lua_pushboolean(L, 0);
        return 1;
      }
  lua_pushboolean(L, 1);
  return 1;
}

/* ---- text -------------------------------------------------------------- */

/* A format for one double: one %[flags][width][.prec](f|e|g|...) conversion,
 * any other text with %% only; width and precision at most 2 digits, so an
 * entry fits in FMT_ENTRY bytes. */
#define FMT_ENTRY 512
static int fmt_ok(const char *f) {
  int conv = 0;
  if (strlen(f) > 32) return 0;
  while (*f) {
    int d;
    if (*f++ != '%') continue;
    if (*f == '%') {
      f++;
      continue;
    }
    if (conv++) return 0;
    while (*f && strchr("-+ #0", *f)) f++;
    for (d = 0; *f >= '0' && *f <= '9'; f++) d++;
    if (d > 2) return 0;
    if (*f == '.') {
      f++;
      for (d = 0; *f >= '0' && *f <= '9'; f++) d++;
      if (d > 2) return 0;
    }
    if (!*f || !strchr("eEfFgGaA", *f)) return 0;
    f++;
  }
  return conv == 1;
}

/* Rows on lines, entries right-aligned to one width; at most maxr rows and
 * maxc columns, "..." marking what was left out.  Leaves a string pushed. */
static void format_matrix(lua_State *L, const gsl_matrix *a, const char *fmt, size_t maxr,
                          size_t maxc, const char *header) {
  char buf[FMT_ENTRY];
  size_t nr = a->size1 < maxr ? a->size1 : maxr, nc = a->size2 < maxc ? a->size2 : maxc;
  size_t i, j, w = 0;
  luaL_Buffer b;
  for (i = 0; i < nr; i++)
    for (j = 0; j < nc; j++) {
      int n = snprintf(buf, sizeof buf, fmt, ROW(a, i)[j]);
      if (n > 0 && (size_t)n > w) w = (size_t)n;
    }
  luaL_buffinit(L, &b);
  if (header) luaL_addstring(&b, header);
  for (i = 0; i < nr; i++) {
    if (i) luaL_addchar(&b, '\n');
    for (j = 0; j < nc; j++) {
      int n = snprintf(buf, sizeof buf, fmt, ROW(a, i)[j]);
      size_t k;
      if (n < 0) n = 0;
      if (j) luaL_addchar(&b, ' ');
      for (k = (size_t)n; k < w; k++) luaL_addchar(&b, ' ');
      luaL_addstring(&b, buf);
    }
    if (nc < a->size2) luaL_addstring(&b, " ...");
  }
  if (nr < a->size1) luaL_addstring(&b, "\n...");
  luaL_pushresult(&b);
}

static int l_matrix_format(lua_State *L) {
  const char *fn = "matrix:format";
  gsl_matrix *a = checkm(L, 1, fn);
  const char *fmt = "%.4f";
  if (!lua_isnoneornil(L, 2)) {
    if (lua_type(L, 2) != LUA_TSTRING)
      merr(L, "%s: argument 1 is %s, not a format string", fn, tdesc(L, 2));
    fmt = lua_tostring(L, 2);
    if (!fmt_ok(fmt))
      merr(L, "%s: bad format '%s' (one %%f, %%e or %%g conversion, e.g. \"%%.4f\")", fn,
                 fmt);
  }
  format_matrix(L, a, fmt, a->size1, a->size2, NULL);
  return 1;
}

static int l_matrix_tostring(lua_State *L) {
  int closed;
  gsl_matrix *a = mat_live(L, 1, &closed);
  char header[96];
  if (!a) {
    lua_pushstring(L, closed == 2 ? "sae.matrix (view of a closed matrix)" : "sae.matrix (closed)");
    return 1;
  }
  if (a->size1 <= MAT_SHOW && a->size2 <= MAT_SHOW) {
    format_matrix(L, a, "%.4f", MAT_SHOW, MAT_SHOW, NULL);
  } else {
    snprintf(header, sizeof header, "sae.matrix %zux%zu\n", a->size1, a->size2);
    format_matrix(L, a, "%.4f", MAT_SHOW, MAT_SHOW, header);
  }
  return 1;
}

/* ---- operators --------------------------------------------------------- */

static int binop(lua_State *L, const char *fn, double sign) {
  gsl_matrix *a = checkm(L, 1, fn), *b = checkm(L, 2, fn), *c;
  sameshape(L, a, b, fn);
  c = pushcopy(L, a);
  if (sign > 0) gsl_matrix_add(c, b);
  else gsl_matrix_sub(c, b);
  return 1;
}

static int l_matrix_addop(lua_State *L) { return binop(L, "matrix +", 1.0); }
static int l_matrix_subop(lua_State *L) { return binop(L, "matrix -", -1.0); }

/* A*B (matrix product, inner dimensions must agree), s*A, A*s. */
static int l_matrix_mul(lua_State *L) {
  const char *fn = "matrix *";
  gsl_matrix *a, *b, *c;
  char s1[48], s2[48];
  if (lua_type(L, 1) == LUA_TNUMBER || lua_type(L, 2) == LUA_TNUMBER) {
    int m = lua_type(L, 1) == LUA_TNUMBER ? 2 : 1;
    double s = lua_tonumber(L, 3 - m);
    gsl_matrix_scale(pushcopy(L, checkm(L, m, fn)), s);
    return 1;
  }
  a = checkm(L, 1, fn);
  b = checkm(L, 2, fn);
  if (a->size2 != b->size1)
    merr(L, "%s: inner dimensions differ: %s times %s", fn, shp(s1, sizeof s1, a),
               shp(s2, sizeof s2, b));
  c = lsae_newmatrix(L, a->size1, b->size2);
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, a, b, 0.0, c);
  return 1;
}

static int l_matrix_unm(lua_State *L) {
  gsl_matrix_scale(pushcopy(L, checkm(L, 1, "matrix -")), -1.0);
  return 1;
}

/* A == B: same shape and the same entries. */
static int l_matrix_eq(lua_State *L) {
  gsl_matrix *a = checkm(L, 1, "matrix =="), *b = checkm(L, 2, "matrix ==");
  lua_pushboolean(L, a->size1 == b->size1 && a->size2 == b->size2 && gsl_matrix_equal(a, b));
  return 1;
}

/* ---- registration ------------------------------------------------------ */

static const luaL_Reg matrix_methods[] = {
    {"shape", l_matrix_shape},       {"rows", l_matrix_rows},         {"cols", l_matrix_cols},
    {"get", l_matrix_get},           {"set", l_matrix_set},           {"row", l_matrix_row},
    {"rowrange", l_matrix_rowrange}, {"col", l_matrix_col},           {"totable", l_matrix_totable},
    {"tobytes", l_matrix_tobytes},   {"frombytes", l_matrix_frombytes},
    {"copy", l_matrix_copy},         {"t", l_matrix_t},               {"fill", l_matrix_fill},
    {"scale", l_matrix_scale},       {"add", l_matrix_add},           {"sub", l_matrix_sub},
    {"axpy", l_matrix_axpy},         {"select", l_matrix_select},     {"hadamard", l_matrix_hadamard},
    {"sum", l_matrix_sum},           {"mean", l_matrix_mean},         {"min", l_matrix_min},
    {"max", l_matrix_max},           {"norm", l_matrix_norm},         {"dot", l_matrix_dot},
    {"rowsum", l_matrix_rowsum},     {"colmean", l_matrix_colmean},   {"argmax", l_matrix_argmax},
    {"threshold", l_matrix_threshold}, {"map", l_matrix_map},         {"equal", l_matrix_equal},
    {"format", l_matrix_format},     {"isfinite", l_matrix_isfinite}, {NULL, NULL}};

static const luaL_Reg matrix_meta[] = {
    {"__gc", l_matrix_free},        {"__close", l_matrix_free}, {"__tostring", l_matrix_tostring},
    {"__len", l_matrix_len},        {"__add", l_matrix_addop},  {"__sub", l_matrix_subop},
    {"__mul", l_matrix_mul},        {"__unm", l_matrix_unm},    {"__eq", l_matrix_eq},
    {NULL, NULL}};

static const luaL_Reg matrix_module[] = {
    {"matrix", l_matrix_new}, {"zeros", l_zeros},   {"ones", l_ones},
    {"eye", l_eye},           {"onehot", l_onehot}, {"rand", l_rand},
    {"ismatrix", l_ismatrix}, {NULL, NULL}};

void lsae_open_matrix(lua_State *L) {
  luaL_newmetatable(L, LSAE_MATRIX); /* also sets __name */
  luaL_setfuncs(L, matrix_meta, 0);
  luaL_newlib(L, matrix_methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_setfuncs(L, matrix_module, 0);
}
