/* check_lsae_matrix.c -- the sae.matrix userdata (src/lsae_matrix.c), driven from Lua.
 *
 * core:   constructors, views, in-place and new-matrix operations, a product
 *         checked against hand-computed values, seeded rand, the C API
 *         (lsae_newmatrix, lsae_pushview, lsae_checkmatrix, lsae_testmatrix).
 * limits: 1x1 matrices, large values, printing of large matrices, sizes
 *         whose byte count overflows.
 * errors: every bad input must raise a one-line Lua error naming the problem
 *         (never crash), and leave the state usable. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>
#include <lualib.h>
#include "lsae.h"

static lua_State *L;

/* A fresh state with a global `sae` holding the matrix functions. */
static lua_State *new_state(unsigned long seed) {
  lua_State *S = luaL_newstate();
  ck_assert_ptr_nonnull(S);
  luaL_openlibs(S);
  lsae_setup(S, NULL, seed);
  lua_newtable(S);
  lsae_open_matrix(S);
  lua_setglobal(S, "sae");
  return S;
}

static void setup(void) {
  sae_error_init();
  L = new_state(42);
}

static void teardown(void) {
  lua_close(L);
  L = NULL;
}

/* Run a chunk that must succeed; leaves its results on the stack. */
static void run(const char *code) {
  if (luaL_loadstring(L, code) != LUA_OK || lua_pcall(L, 0, LUA_MULTRET, 0) != LUA_OK)
    ck_abort_msg("Lua error in {%s}: %s", code, lua_tostring(L, -1));
}

static double num(const char *expr) {
  char code[1024];
  double v;
  snprintf(code, sizeof code, "return %s", expr);
  run(code);
  ck_assert_msg(lua_type(L, -1) == LUA_TNUMBER, "{%s} is a %s, not a number", expr,
                luaL_typename(L, -1));
  v = lua_tonumber(L, -1);
  lua_settop(L, 0);
  return v;
}

static int truth(const char *expr) {
  char code[1024];
  int v;
  snprintf(code, sizeof code, "return %s", expr);
  run(code);
  ck_assert_msg(lua_type(L, -1) == LUA_TBOOLEAN, "{%s} is a %s, not a boolean", expr,
                luaL_typename(L, -1));
  v = lua_toboolean(L, -1);
  lua_settop(L, 0);
  return v;
}

static void check_str(const char *expr, const char *want) {
  char code[1024];
  snprintf(code, sizeof code, "return %s", expr);
  run(code);
  ck_assert_msg(lua_type(L, -1) == LUA_TSTRING, "{%s} is not a string", expr);
  ck_assert_str_eq(lua_tostring(L, -1), want);
  lua_settop(L, 0);
}

/* The chunk must raise a one-line error containing needle; the state stays usable. */
static void fails(const char *code, const char *needle) {
  const char *msg;
  int st = luaL_loadstring(L, code);
  ck_assert_msg(st == LUA_OK, "syntax error in test: %s", lua_tostring(L, -1));
  st = lua_pcall(L, 0, 0, 0);
  ck_assert_msg(st == LUA_ERRRUN, "{%s} did not fail (status %d)", code, st);
  msg = lua_tostring(L, -1);
  ck_assert_msg(msg != NULL, "{%s}: error is not a string", code);
  ck_assert_msg(strstr(msg, needle) != NULL, "{%s}: error '%s' lacks '%s'", code, msg, needle);
  ck_assert_msg(strchr(msg, '\n') == NULL, "{%s}: error '%s' is not one line", code, msg);
  lua_settop(L, 0);
  ck_assert(num("sae.ones(2, 2):sum()") == 4.0);
}

#define EQ(expr, want) ck_assert_double_eq_tol(num(expr), (want), 1e-12)

/* ---- core ---------------------------------------------------------------- */

START_TEST(test_constructors) {
  run("A = sae.matrix{{2.385, -2.25, 0.5}, {3.1, 0.75, -1.2}}");
  ck_assert(truth("sae.ismatrix(A) and not sae.ismatrix({}) and not sae.ismatrix(nil)"));
  run("r, c = A:shape()");
  EQ("r", 2); EQ("c", 3);
  EQ("A:rows()", 2); EQ("A:cols()", 3); EQ("#A", 2);
  EQ("A:get(1, 1)", 2.385); EQ("A:get(2, 3)", -1.2);
  EQ("sae.matrix(3, 4):sum()", 0); EQ("sae.matrix(3, 4, 2.385):sum()", 12 * 2.385);
  EQ("sae.zeros(2, 5):norm()", 0); EQ("sae.ones(2, 5):sum()", 10);
  EQ("sae.eye(5):sum()", 5); EQ("sae.eye(5):get(4, 4)", 1); EQ("sae.eye(5):get(4, 5)", 0);
  ck_assert(truth("sae.onehot(8) == sae.eye(8)"));
  ck_assert(truth("sae.matrix(A:totable()) == A"));
  EQ("A:totable()[2][2]", 0.75);
}
END_TEST

/* A (2x3) times B (3x2), by hand:
 *   C11 = 2.385*0.9 + (-2.25)(-1.1) + 0.5*4.2    = 2.1465 + 2.475 + 2.1   =  6.7215
 *   C12 = 2.385*2.0 + (-2.25)(0.3)  + 0.5*(-0.7) = 4.77   - 0.675 - 0.35  =  3.745
 *   C21 = 3.1*0.9   + 0.75*(-1.1)   + (-1.2)*4.2 = 2.79   - 0.825 - 5.04  = -3.075
 *   C22 = 3.1*2.0   + 0.75*0.3      + (-1.2)(-0.7) = 6.2  + 0.225 + 0.84  =  7.265 */
START_TEST(test_product) {
  gsl_matrix *C;
  run("A = sae.matrix{{2.385, -2.25, 0.5}, {3.1, 0.75, -1.2}}"
      " B = sae.matrix{{0.9, 2.0}, {-1.1, 0.3}, {4.2, -0.7}}"
      " return A * B");
  C = lsae_checkmatrix(L, -1);
  ck_assert_uint_eq(C->size1, 2);
  ck_assert_uint_eq(C->size2, 2);
  ck_assert_double_eq_tol(gsl_matrix_get(C, 0, 0), 6.7215, 1e-12);
  ck_assert_double_eq_tol(gsl_matrix_get(C, 0, 1), 3.745, 1e-12);
  ck_assert_double_eq_tol(gsl_matrix_get(C, 1, 0), -3.075, 1e-12);
  ck_assert_double_eq_tol(gsl_matrix_get(C, 1, 1), 7.265, 1e-12);
  lua_settop(L, 0);
  /* (AB)^T = B^T A^T; scalar products; a product of views */
  ck_assert(truth("(A * B):t():equal(B:t() * A:t(), 1e-12)"));
  ck_assert(truth("(2.5 * A) == A:copy():scale(2.5) and A * 2.5 == 2.5 * A"));
  EQ("(A:row(2) * B:col(1)):get(1, 1)", -3.075);
}
END_TEST

START_TEST(test_inplace) {
  run("A = sae.matrix{{2.385, -2.25, 0.5}, {3.1, 0.75, -1.2}} M = sae.zeros(2, 3)");
  ck_assert(truth("M:fill(2) == M and M:scale(0.5) == M and M:add(A) == M and M:sub(A) == M"));
  ck_assert(truth("M:equal(sae.ones(2, 3), 1e-15)"));
  ck_assert(truth("M:axpy(-2, A) == M"));
  EQ("M:get(2, 1)", 1 - 2 * 3.1);
  run("M:set(1, 2, -7.25)");
  EQ("M:get(1, 2)", -7.25);
  ck_assert(truth("(A + A) == 2 * A and (A - A):norm() == 0 and (-A + A):sum() == 0"));
}
END_TEST

START_TEST(test_views) {
  run("V = sae.matrix{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}} r = V:row(2) r:fill(0)");
  EQ("V:sum()", 30);
  EQ("r:rows()", 1); EQ("r:cols()", 3);
  run("c = V:col(3) c:scale(10)");
  EQ("c:rows()", 3); EQ("c:cols()", 1);
  EQ("V:get(1, 3)", 30); EQ("V:get(3, 3)", 90);
  run("rr = V:rowrange(2, 3)");
  EQ("rr:rows()", 2); EQ("rr:get(2, 1)", 7);
  run("rr:row(2):set(1, 2, -8)");
  EQ("V:get(3, 2)", -8);
  /* a view keeps its parent alive */
  run("w = sae.matrix{{1.5, 2.5}, {3.5, 4.5}}:row(2) collectgarbage() collectgarbage()");
  EQ("w:sum()", 8);
  /* overlapping in-place add uses the old values */
  run("W = sae.matrix{{1}, {2}, {3}} W:rowrange(2, 3):add(W:rowrange(1, 2))");
  ck_assert(truth("W == sae.matrix{{1}, {3}, {5}}"));
  /* select copies rows */
  run("S = V:select{3, 1, 3} S:set(1, 1, -1)");
  EQ("S:rows()", 3); EQ("S:get(2, 1)", 1); EQ("S:get(3, 1)", 7); EQ("V:get(3, 1)", 7);
}
END_TEST

START_TEST(test_reductions) {
  run("R = sae.matrix{{1.5, -2}, {4, 0.25}}");
  EQ("R:sum()", 3.75); EQ("R:mean()", 0.9375); EQ("R:min()", -2); EQ("R:max()", 4);
  EQ("R:norm()", sqrt(2.25 + 4 + 16 + 0.0625));
  EQ("R:dot(R:t())", 2.25 - 8 - 8 + 0.0625);
  ck_assert(truth("R:rowsum() == sae.matrix{{-0.5}, {4.25}}"));
  ck_assert(truth("R:colmean() == sae.matrix{{2.75, -0.875}}"));
  EQ("R:argmax()[1]", 1); EQ("R:argmax()[2]", 1); EQ("#R:argmax()", 2);
  ck_assert(truth("R:hadamard(R) == R:map('square')"));
  ck_assert(truth("R:threshold(0.5) == sae.matrix{{1, 0}, {1, 0}}"));
  ck_assert(truth("R:isfinite() and R:equal(R) and not R:equal(R:t())"));
  ck_assert(truth("R:equal(R + sae.matrix(2, 2, 1e-9), 1e-8)"));
}
END_TEST

START_TEST(test_map) {
  EQ("sae.matrix{{0}}:map('sigmoid'):get(1, 1)", 0.5);
  EQ("sae.matrix{{2.385}}:map('sigmoid'):get(1, 1)", 1 / (1 + exp(-2.385)));
  EQ("sae.matrix{{-2.385}}:map('tanh'):get(1, 1)", tanh(-2.385));
  EQ("sae.matrix{{2.385}}:map('exp'):get(1, 1)", exp(2.385));
  EQ("sae.matrix{{2.385}}:map('log'):get(1, 1)", log(2.385));
  EQ("sae.matrix{{-2.385}}:map('abs'):get(1, 1)", 2.385);
  EQ("sae.matrix{{2.385}}:map('sqrt'):get(1, 1)", sqrt(2.385));
  EQ("sae.matrix{{2.385}}:map('square'):get(1, 1)", 2.385 * 2.385);
  ck_assert(truth("sae.matrix{{2.5, -2.5, 2.385}}:map('round') == sae.matrix{{3, -3, 2}}"));
}
END_TEST

START_TEST(test_format) {
  check_str("sae.matrix{{1, -2.5}, {10, 0}}:format()", " 1.0000 -2.5000\n10.0000  0.0000");
  check_str("sae.matrix{{2.385, 1}}:format('%.2f')", "2.38 1.00");
  check_str("tostring(sae.matrix{{2.385}})", "2.3850");
}
END_TEST

/* Same seed, same draws; another seed, other draws. */
START_TEST(test_rand_seed) {
  double u1, u2, n1, n2, u3;
  u1 = num("sae.rand(4, 5):sum()");
  n1 = num("sae.rand(4, 5, {dist = 'normal', mean = 1, sigma = 2.385}):sum()");
  lua_close(L);
  L = new_state(42);
  u2 = num("sae.rand(4, 5):sum()");
  n2 = num("sae.rand(4, 5, {dist = 'normal', mean = 1, sigma = 2.385}):sum()");
  lua_close(L);
  L = new_state(43);
  u3 = num("sae.rand(4, 5):sum()");
  ck_assert_double_eq(u1, u2);
  ck_assert_double_eq(n1, n2);
  ck_assert(u1 != u3);
  run("U = sae.rand(100, 100, {a = -0.5, b = 2})");
  ck_assert(truth("U:min() >= -0.5 and U:max() < 2"));
  ck_assert_double_eq_tol(num("U:mean()"), 0.75, 0.03);
  run("N = sae.rand(100, 100, {dist = 'normal', mean = 3, sigma = 0.5})");
  ck_assert_double_eq_tol(num("N:mean()"), 3, 0.02);
}
END_TEST

/* The C side: lsae_newmatrix, lsae_pushview, lsae_checkmatrix, lsae_testmatrix. */
START_TEST(test_c_api) {
  gsl_matrix *a = lsae_newmatrix(L, 3, 2), *v;
  ck_assert_uint_eq(a->size1, 3);
  ck_assert_uint_eq(a->size2, 2);
  ck_assert_double_eq(gsl_matrix_get(a, 2, 1), 0);
  gsl_matrix_set(a, 2, 1, 2.385);
  v = lsae_pushview(L, gsl_matrix_submatrix(a, 1, 0, 2, 2).matrix, -1);
  ck_assert_double_eq(gsl_matrix_get(v, 1, 1), 2.385);
  ck_assert_ptr_eq(lsae_testmatrix(L, -1), v);
  ck_assert_ptr_eq(lsae_checkmatrix(L, -2), a);
  lua_setglobal(L, "v");
  lua_pop(L, 1); /* only the view holds the parent now */
  lua_gc(L, LUA_GCCOLLECT);
  lua_gc(L, LUA_GCCOLLECT);
  EQ("v:get(2, 2)", 2.385);
  lua_pushinteger(L, 3);
  ck_assert_ptr_null(lsae_testmatrix(L, -1));
  lua_pop(L, 1);
}
END_TEST

/* ---- limits -------------------------------------------------------------- */

START_TEST(test_one_by_one) {
  run("X = sae.matrix{{2.385}}");
  EQ("(X * X):get(1, 1)", 2.385 * 2.385);
  EQ("X:t():get(1, 1)", 2.385);
  EQ("X:select{1, 1}:rows()", 2);
  EQ("X:argmax()[1]", 1);
  EQ("X:rowsum():get(1, 1)", 2.385); EQ("X:colmean():get(1, 1)", 2.385);
  EQ("X:row(1):col(1):get(1, 1)", 2.385);
  EQ("X:rowrange(1, 1):get(1, 1)", 2.385);
}
END_TEST

START_TEST(test_extremes) {
  EQ("sae.matrix(2, 2, 1e200):norm() / 1e200", 2); /* no overflow in the norm */
  EQ("sae.matrix{{-1000, 1000}}:map('sigmoid'):sum()", 1);
  ck_assert(truth("sae.matrix{{-1000, 1000}}:map('sigmoid'):isfinite()"));
  ck_assert(!truth("sae.matrix{{1, 0/0}}:isfinite()"));
  ck_assert(!truth("sae.matrix{{1, 1/0}}:isfinite()"));
  ck_assert(!truth("sae.matrix{{0}}:map('log'):isfinite()"));
  ck_assert(!truth("sae.matrix{{0/0}} == sae.matrix{{0/0}}"));
}
END_TEST

START_TEST(test_large) {
  /* the product against a plain triple loop, at a size where BLAS blocks */
  run("P = sae.rand(61, 47, {dist = 'normal'}) Q = sae.rand(47, 33) PQ = P * Q "
      "err = 0 "
      "for i = 1, 61 do for j = 1, 33 do local s = 0 "
      "  for k = 1, 47 do s = s + P:get(i, k) * Q:get(k, j) end "
      "  err = math.max(err, math.abs(s - PQ:get(i, j))) end end");
  ck_assert(num("err") < 1e-12);
  /* printing a large matrix shows 10 rows and 10 columns and says so */
  run("s = tostring(sae.zeros(1000, 784))");
  ck_assert(truth("s:find('1000x784', 1, true) ~= nil"));
  EQ("select(2, s:gsub('\\n', ''))", 11);
  ck_assert(truth("#s < 1200"));
}
END_TEST

START_TEST(test_size_overflow) {
  fails("return sae.matrix(2^40, 2^40)", "out of memory allocating 1099511627776 x 1099511627776 matrix");
  fails("return sae.zeros(2^62, 4)", "out of memory");
}
END_TEST

/* ---- errors -------------------------------------------------------------- */

START_TEST(test_err_shapes) {
  run("A = sae.zeros(3, 4) B = sae.zeros(4, 3)");
  fails("A:add(B)", "matrix:add: shapes 3x4 and 4x3 differ");
  fails("A:sub(B)", "matrix:sub: shapes 3x4 and 4x3 differ");
  fails("A:axpy(2, B)", "matrix:axpy: shapes 3x4 and 4x3 differ");
  fails("A:hadamard(B)", "matrix:hadamard: shapes 3x4 and 4x3 differ");
  fails("A:dot(B)", "matrix:dot: shapes 3x4 and 4x3 differ");
  fails("return A + B", "matrix +: shapes 3x4 and 4x3 differ");
  fails("return A - B", "matrix -: shapes 3x4 and 4x3 differ");
  fails("return A * A", "matrix *: inner dimensions differ: 3x4 times 3x4");
}
END_TEST

START_TEST(test_err_index) {
  run("A = sae.zeros(3, 4)");
  fails("A:get(0, 1)", "matrix:get: row 0 out of range 1..3");
  fails("A:get(4, 1)", "matrix:get: row 4 out of range 1..3");
  fails("A:get(1, 0)", "matrix:get: col 0 out of range 1..4");
  fails("A:get(1, 5)", "matrix:get: col 5 out of range 1..4");
  fails("A:set(4, 1, 2.385)", "matrix:set: row 4 out of range 1..3");
  fails("A:set(1, 1, 'x')", "matrix:set: value is a string, not a number");
  fails("A:get(1.5, 1)", "row 1.5 is not a whole number");
  fails("A:row(0)", "matrix:row: row 0 out of range 1..3");
  fails("A:row(4)", "matrix:row: row 4 out of range 1..3");
  fails("A:col(5)", "matrix:col: col 5 out of range 1..4");
  fails("A:rowrange(0, 2)", "out of range 1..3");
  fails("A:rowrange(2, 4)", "out of range 1..3");
  fails("A:rowrange(3, 2)", "last row 2 is before first row 3");
  fails("A:select{1, 0}", "matrix:select: idx[2] = 0 out of range 1..3");
  fails("A:select{4}", "matrix:select: idx[1] = 4 out of range 1..3");
  fails("A:select{1, 'x'}", "idx[2] is a string");
  fails("A:select{}", "empty");
  fails("A:select(2)", "not a table of row numbers");
}
END_TEST

START_TEST(test_err_tables) {
  fails("sae.matrix{{1, 2}, {3}}", "ragged table: row 2 has 1 entries, row 1 has 2");
  fails("sae.matrix{{1, 2}, {3, 'x'}}", "entry at row 2, col 2 is a string, not a number");
  fails("sae.matrix{{1, 2}, {3, true}}", "row 2, col 2 is a boolean");
  fails("sae.matrix{{1, 2}, 3}", "row 2 is a number, not a table");
  fails("sae.matrix{1, 2}", "row 1 is a number, not a table");
  fails("sae.matrix{}", "no rows");
  fails("sae.matrix{{}}", "row 1 is empty");
}
END_TEST

START_TEST(test_err_args) {
  run("A = sae.zeros(2, 2)");
  fails("sae.matrix(0, 3)", "sae.matrix: rows must be at least 1, got 0");
  fails("sae.matrix(3, -1)", "sae.matrix: cols must be at least 1, got -1");
  fails("sae.matrix(2, 2, 'x')", "fill is a string");
  fails("sae.zeros('a', 2)", "sae.zeros: rows is a string, not a number");
  fails("sae.ones(2)", "sae.ones: cols is missing, not a number");
  fails("sae.eye(0)", "sae.eye: n must be at least 1");
  fails("sae.onehot(2.5)", "sae.onehot: n 2.5 is not a whole number");
  fails("A:map('cube')", "matrix:map: unknown function 'cube'");
  fails("A:map()", "matrix:map: argument 1 is missing, not a function name");
  fails("A:add(3)", "matrix:add: argument 1 is a number, not a matrix");
  fails("A.get(3, 1, 1)", "matrix:get: self is a number, not a matrix");
  fails("return A + 1", "matrix +: operand 2 is a number, not a matrix");
  fails("return A * 'x'", "matrix *: operand 2 is a string, not a matrix");
  fails("A:format('%s')", "matrix:format: bad format '%s'");
  fails("A:format('%.4f %.4f')", "bad format");
  fails("A:format('%999f')", "bad format");
  fails("A:equal(A, -1)", "tol = -1 must be >= 0");
  fails("sae.rand(2, 2, {dist = 'cauchy'})", "sae.rand: dist must be \"uniform\" or \"normal\"");
  fails("sae.rand(2, 2, {sgima = 1})", "sae.rand: unknown option 'sgima'");
  fails("sae.rand(2, 2, {a = 2, b = 1})", "a = 2 is greater than b = 1");
  fails("sae.rand(2, 2, {dist = 'normal', sigma = -1})", "sigma = -1 is negative");
  fails("sae.rand(2, 2, {dist = 'normal', a = 0})", "apply to dist=\"uniform\"");
  fails("sae.rand(2, 2, 'normal')", "not an options table");
}
END_TEST

START_TEST(test_err_closed) {
  run("do local X <close> = sae.matrix{{1, 2}, {3, 4}} K, V, C = X, X:row(1), X:col(2) end");
  fails("K:sum()", "matrix:sum: self is a closed matrix");
  fails("K:get(1, 1)", "matrix:get: self is a closed matrix");
  fails("return K + K", "matrix +: operand 1 is a closed matrix");
  fails("return #K", "closed matrix");
  fails("sae.ones(2, 2):add(K)", "matrix:add: argument 1 is a closed matrix");
  fails("V:sum()", "matrix:sum: self is a view of a closed matrix");
  fails("C:fill(1)", "view of a closed matrix");
  check_str("tostring(K)", "sae.matrix (closed)");
  ck_assert(truth("sae.ismatrix(K)"));
  /* closing twice, and collecting a closed matrix, are harmless */
  run("getmetatable(K).__close(K) K = nil V = nil C = nil collectgarbage()");
  /* a closed view is refused too, and its parent lives on */
  run("P = sae.ones(2, 2) do local R <close> = P:row(1) Rv = R end");
  fails("Rv:sum()", "self is a closed matrix");
  EQ("P:sum()", 4);
}
END_TEST

static Suite *matrix_suite(void) {
  Suite *s = suite_create("lsae_matrix");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_constructors);
  tcase_add_test(tc, test_product);
  tcase_add_test(tc, test_inplace);
  tcase_add_test(tc, test_views);
  tcase_add_test(tc, test_reductions);
  tcase_add_test(tc, test_map);
  tcase_add_test(tc, test_format);
  tcase_add_test(tc, test_rand_seed);
  tcase_add_test(tc, test_c_api);
  suite_add_tcase(s, tc);

  tc = tcase_create("limits");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_one_by_one);
  tcase_add_test(tc, test_extremes);
  tcase_add_test(tc, test_large);
  tcase_add_test(tc, test_size_overflow);
  suite_add_tcase(s, tc);

  tc = tcase_create("errors");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_err_shapes);
  tcase_add_test(tc, test_err_index);
  tcase_add_test(tc, test_err_tables);
  tcase_add_test(tc, test_err_args);
  tcase_add_test(tc, test_err_closed);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(matrix_suite());
  int failed;
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
