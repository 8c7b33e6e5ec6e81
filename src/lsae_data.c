/* lsae_data.c -- Lua bindings of the data readers and image preprocessing (data.h).
 *
 *   local X, rows, cols = sae.data.idx_images(path [, n])  -- m x rows*cols, in [0, 1]
 *   local y = sae.data.idx_labels(path [, n])              -- {5, 0, 4, ...} raw values
 *   local img = sae.data.image_f32be(path, 512, 512)       -- Olshausen's raw images
 *   local img = sae.data.png(path)                         -- grey, in [0, 1]
 *   local imgs = sae.data.mat("IMAGES.mat", "IMAGES")      -- {img1, ..., imgn}
 *   local w = sae.data.whiten(img [, f0_fraction = 0.4])   -- a new matrix
 *   sae.data.scale_variance(imgs [, target = 0.1])         -- in place, returns imgs
 *   local X = sae.data.patches(imgs, 8, 10000)             -- run's seeded generator
 *   sae.data.normalize_patches(X)                          -- in place, returns X
 *
 * Memory: a reader writes straight into an empty sae.matrix userdata pushed
 * before it runs (the lsae_matrix of lsae.h, owner = 1), so the matrix is
 * never copied and never unowned.  Arrays of images and label buffers come
 * back in a "box" userdata whose __gc frees what has not been handed over to
 * Lua yet; temporary arrays of matrix pointers are userdata too.  So a Lua
 * error at any point leaks nothing.  Every error is one line.
 *
 * lsae_open_data adds these functions to the module table ("sae.core");
 * lua/sae/data.lua and init.lua present them as sae.data.*.  It needs the
 * matrix metatable: call it after lsae_open_matrix. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "data.h"
#include "lsae.h"

#define LSAE_DATA_BOX "sae.data.box"

/* C results waiting to be handed to Lua. */
typedef struct data_box {
  unsigned char *bytes; /* labels */
  gsl_matrix **imgs;    /* an array of n matrices; entries handed over are NULL */
  size_t n;
} data_box;

static int box_gc(lua_State *L) {
  data_box *b = luaL_checkudata(L, 1, LSAE_DATA_BOX);
  free(b->bytes);
  sae_images_free(b->imgs, b->n);
  b->bytes = NULL;
  b->imgs = NULL;
  b->n = 0;
  return 0;
}

static data_box *push_box(lua_State *L) {
  data_box *b = lua_newuserdatauv(L, sizeof *b, 0);
  b->bytes = NULL;
  b->imgs = NULL;
  b->n = 0;
  luaL_setmetatable(L, LSAE_DATA_BOX);
  return b;
}

/* An empty owning sae.matrix: a reader stores its result in ->a. */
static lsae_matrix *push_empty_matrix(lua_State *L) {
  lsae_matrix *m = lua_newuserdatauv(L, sizeof *m, 1);
  m->a = NULL;
  m->owner = 1; /* __gc frees a once it is set */
  memset(&m->view, 0, sizeof m->view);
  luaL_setmetatable(L, LSAE_MATRIX);
  return m;
}

/* The array of matrices at arg as a temporary C array, owned by a userdata
 * left on the top of the stack. */
static gsl_matrix **check_images(lua_State *L, int arg, size_t *n) {
  luaL_checktype(L, arg, LUA_TTABLE);
  lua_Unsigned len = lua_rawlen(L, arg);
  luaL_argcheck(L, len >= 1, arg, "an array of at least one matrix expected");
  luaL_argcheck(L, len <= SIZE_MAX / sizeof(gsl_matrix *), arg, "too many matrices");
  gsl_matrix **v = lua_newuserdatauv(L, (size_t)len * sizeof *v, 0);
  for (lua_Unsigned i = 0; i < len; i++) {
    lua_rawgeti(L, arg, (lua_Integer)i + 1);
    if (!(v[i] = lsae_testmatrix(L, -1)))
      luaL_error(L, "argument #%d: entry %d is %s, not a matrix (or a closed one)", arg,
                 (int)i + 1, luaL_typename(L, -1));
    lua_pop(L, 1); /* the table keeps it alive */
  }
  *n = (size_t)len;
  return v;
}

static size_t check_count(lua_State *L, int arg, const char *what) {
  lua_Integer v = luaL_checkinteger(L, arg);
  luaL_argcheck(L, v >= 1, arg, what);
  return (size_t)v;
}

/* idx_images(path [, n]) -> X, rows, cols */
static int l_idx_images(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_Integer lim = luaL_optinteger(L, 2, 0);
  luaL_argcheck(L, lim >= 0, 2, "the number of images must be >= 0 (0: all)");
  lsae_matrix *m = push_empty_matrix(L);
  size_t rows, cols;
  sae_error e = {0, ""};
  int rc = sae_idx_read_images(path, (size_t)lim, &m->a, &rows, &cols, &e);
  if (rc) return lsae_fail(L, rc, &e);
  lua_pushinteger(L, (lua_Integer)rows);
  lua_pushinteger(L, (lua_Integer)cols);
  return 3;
}

/* idx_labels(path [, n]) -> {label, ...} (raw values) */
static int l_idx_labels(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_Integer lim = luaL_optinteger(L, 2, 0);
  luaL_argcheck(L, lim >= 0, 2, "the number of labels must be >= 0 (0: all)");
  data_box *b = push_box(L);
  sae_error e = {0, ""};
  int rc = sae_idx_read_labels(path, (size_t)lim, &b->bytes, &b->n, &e);
  if (rc) return lsae_fail(L, rc, &e);
  lua_createtable(L, (int)(b->n < INT32_MAX ? b->n : 0), 0);
  for (size_t i = 0; i < b->n; i++) {
    lua_pushinteger(L, b->bytes[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

/* image_f32be(path, rows, cols) -> img */
static int l_image_f32be(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t rows = check_count(L, 2, "rows must be >= 1");
  size_t cols = check_count(L, 3, "cols must be >= 1");
  lsae_matrix *m = push_empty_matrix(L);
  sae_error e = {0, ""};
  int rc = sae_image_read_f32be(path, rows, cols, &m->a, &e);
  if (rc) return lsae_fail(L, rc, &e);
  return 1;
}

/* png(path) -> img */
static int l_png(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lsae_matrix *m = push_empty_matrix(L);
  sae_error e = {0, ""};
  int rc = sae_image_read_png(path, &m->a, &e);
  if (rc) return lsae_fail(L, rc, &e);
  return 1;
}

/* mat(path, var) -> {img, ...} */
static int l_mat(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  const char *var = luaL_checkstring(L, 2);
  data_box *b = push_box(L);
  sae_error e = {0, ""};
  int rc = sae_mat_read(path, var, &b->imgs, &b->n, &e);
  if (rc) return lsae_fail(L, rc, &e);
  lua_createtable(L, (int)(b->n < INT32_MAX ? b->n : 0), 0);
  for (size_t k = 0; k < b->n; k++) {
    lsae_matrix *m = push_empty_matrix(L);
    m->a = b->imgs[k]; /* handed over: the box no longer frees it */
    b->imgs[k] = NULL;
    lua_rawseti(L, -2, (lua_Integer)k + 1);
  }
  return 1;
}

/* whiten(img [, f0_fraction = 0.4]) -> a new whitened matrix */
static int l_whiten(lua_State *L) {
  const gsl_matrix *img = lsae_checkmatrix(L, 1);
  double f0 = luaL_optnumber(L, 2, 0.4);
  luaL_argcheck(L, f0 > 0, 2, "f0_fraction must be > 0");
  gsl_matrix *w = lsae_newmatrix(L, img->size1, img->size2);
  gsl_matrix_memcpy(w, img);
  sae_error e = {0, ""};
  int rc = sae_whiten(w, f0, &e);
  if (rc) return lsae_fail(L, rc, &e);
  return 1;
}

/* scale_variance(imgs [, target = 0.1]) -> imgs (scaled in place) */
static int l_scale_variance(lua_State *L) {
  double target = luaL_optnumber(L, 2, 0.1);
  luaL_argcheck(L, target > 0, 2, "the target variance must be > 0");
  size_t n;
  gsl_matrix **v = check_images(L, 1, &n);
  if (sae_images_scale_variance(v, n, target))
    return luaL_error(L, "scale_variance: the images' mean variance is 0 or not finite: "
                      "nothing to scale");
  lua_settop(L, 1);
  return 1;
}

/* patches(imgs, size, n) -> X (n x size*size, patches row-major) */
static int l_patches(lua_State *L) {
  size_t n_imgs;
  gsl_matrix **v = check_images(L, 1, &n_imgs);
  size_t size = check_count(L, 2, "the patch size must be >= 1");
  size_t n = check_count(L, 3, "the number of patches must be >= 1");
  luaL_argcheck(L, size <= 65535, 2, "the patch size is too large");
  gsl_rng *rng = lsae_rng(L);
  gsl_matrix *X = lsae_newmatrix(L, n, size * size);
  sae_error e = {0, ""};
  int rc = sae_patches_sample(v, n_imgs, size, n, rng, X, &e);
  if (rc) return lsae_fail(L, rc, &e);
  return 1;
}

/* normalize_patches(X) -> X (UFLDL normalizeData, in place) */
static int l_normalize_patches(lua_State *L) {
  sae_patches_normalize_ufldl(lsae_checkmatrix(L, 1));
  lua_settop(L, 1);
  return 1;
}

static const luaL_Reg data_funcs[] = {
    {"idx_images", l_idx_images},
    {"idx_labels", l_idx_labels},
    {"image_f32be", l_image_f32be},
    {"png", l_png},
    {"mat", l_mat},
    {"whiten", l_whiten},
    {"scale_variance", l_scale_variance},
    {"patches", l_patches},
    {"normalize_patches", l_normalize_patches},
    {NULL, NULL},
};

void lsae_open_data(lua_State *L) {
  if (luaL_newmetatable(L, LSAE_DATA_BOX)) {
    lua_pushcfunction(L, box_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, box_gc);
    lua_setfield(L, -2, "__close");
  }
  lua_pop(L, 1);
  luaL_setfuncs(L, data_funcs, 0);
}
