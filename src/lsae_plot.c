/* lsae_plot.c -- Lua bindings for figures (plot.h) and the two file helpers
 * the report layer needs.
 *
 *   core.plot_available()                  -> boolean
 *   core.plot_lines(path, series, opts)    -> true | nil, message
 *       series: { {y = {numbers} | vector matrix, x = {numbers}?, title = string?}, ... }
 *       opts:   {title, xlabel, ylabel, logy = boolean, width, height}  (optional)
 *   core.plot_heatmap(path, M, opts)       -> true | nil, message
 *   core.plot_grid(path, A, opts)          -> true | nil, message
 *       A: one h x w image per row (filters: an encoder's W, n_hid x n_in)
 *       opts: {h, w (default: square images), cols (0: ceil(sqrt(n))),
 *              normalize = "each" (default) | "none", title, width, height}
 *       the mosaic of display.h drawn as a grey image (sae_plot_heatmap, image)
 *   core.write_file(path, string)          -> true | nil, message  (atomic_write.h)
 *   core.mkdir(path)                       -> true | nil, message  (0755; fine if it exists)
 *
 * Bad arguments raise an error (an option or series field not listed above
 * among them, naming the known ones); a failure to draw or write returns nil and a
 * message, and the Lua layer (sae.report) decides what to do with it.
 *
 * plot_lines copies the series into ONE buffer owned by a Lua userdata
 * (lua_newuserdatauv), sized in a first pass that validates everything: an
 * error raised at any point leaks nothing, and no C memory is held while Lua
 * can raise. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* popen, mkstemp, sigtimedwait under -std=c11 */
#endif
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "atomic_write.h"
#include "lsae.h"
#include "display.h"
#include "plot.h"

/* Return nil, message (the "fail softly" convention of io.open). */
static int l_plot_softfail(lua_State *L, const char *msg) {
  luaL_pushfail(L);
  lua_pushstring(L, msg);
  return 2;
}

/* A figure's failure: nil, message, and true when the image file itself
 * could not be written (full disk, file-size limit: sae_plot_write_failed),
 * which the report treats as an error, not as a figure skipped. */
static int l_plot_fail(lua_State *L, int rc, const sae_error *e) {
  luaL_pushfail(L);
  lua_pushstring(L, e->msg[0] ? e->msg : sae_strerror(rc));
  lua_pushboolean(L, sae_plot_write_failed(e));
  return 3;
}

static int l_plot_available(lua_State *L) {
  lua_pushboolean(L, sae_plot_available());
  return 1;
}

/* ---- options ------------------------------------------------------------- */

static const char *const plot_opt_names[] = {"title", "xlabel", "ylabel", "logy",
                                             "width", "height", NULL};

static int plot_opt_pixels(lua_State *L, int arg, const char *name) {
  int v = 0;
  if (lua_getfield(L, arg, name) != LUA_TNIL) {
    int isint;
    lua_Integer n = lua_tointegerx(L, -1, &isint);
    if (!isint || lua_type(L, -1) != LUA_TNUMBER || n < 16 || n > 20000)
      return luaL_argerror(L, arg,
                           lua_pushfstring(L, "opts.%s must be an integer in 16..20000", name));
    v = (int)n;
  }
  lua_pop(L, 1);
  return v;
}

/* Optional string field; the value stays on the stack (so the pointer stays
 * valid) until the binding returns: one slot per call, nil or not. */
static const char *plot_opt_string(lua_State *L, int arg, const char *name) {
  int t = lua_getfield(L, arg, name);
  if (t == LUA_TNIL) return NULL;
  if (t != LUA_TSTRING)
    luaL_argerror(L, arg, lua_pushfstring(L, "opts.%s must be a string, got %s", name,
                                          luaL_typename(L, -1)));
  return lua_tostring(L, -1);
}

/* Read opts at arg (absent or nil: defaults) into o; rejects unknown keys,
 * so a misspelt option is not silently ignored. */
static void plot_check_opts(lua_State *L, int arg, const char *fname, sae_plot_opts *o) {
  memset(o, 0, sizeof *o);
  if (lua_isnoneornil(L, arg)) return;
  luaL_checktype(L, arg, LUA_TTABLE);
  lsae_check_options(L, arg, fname, plot_opt_names);
  o->title = plot_opt_string(L, arg, "title");
  o->xlabel = plot_opt_string(L, arg, "xlabel");
  o->ylabel = plot_opt_string(L, arg, "ylabel");
  int t = lua_getfield(L, arg, "logy");
  if (t != LUA_TNIL && t != LUA_TBOOLEAN)
    luaL_argerror(L, arg, lua_pushfstring(L, "opts.logy must be a boolean, got %s",
                                          luaL_typename(L, -1)));
  o->logy = lua_toboolean(L, -1);
  lua_pop(L, 1);
  o->width = plot_opt_pixels(L, arg, "width");
  o->height = plot_opt_pixels(L, arg, "height");
}

/* ---- plot_lines ------------------------------------------------------------ */

/* Length of a series' y (the value at the stack top): a table of numbers or
 * a vector matrix.  Raises on anything else. */
static size_t plot_y_length(lua_State *L, int arg, lua_Integer k) {
  gsl_matrix *a = lsae_testmatrix(L, -1);
  if (a) {
    if (a->size1 != 1 && a->size2 != 1)
      luaL_argerror(L, arg, lua_pushfstring(L, "series %I: y must be a vector, got a %I x %I "
                                               "matrix", k, (lua_Integer)a->size1,
                                            (lua_Integer)a->size2));
    return a->size1 * a->size2;
  }
  if (!lua_istable(L, -1))
    luaL_argerror(L, arg, lua_pushfstring(L, "series %I: y must be a table of numbers or a "
                                             "vector, got %s", k, luaL_typename(L, -1)));
  return (size_t)luaL_len(L, -1);
}

/* Copy the numbers of the table at the stack top into v[0..n-1]. */
static void plot_copy_numbers(lua_State *L, int arg, lua_Integer k, const char *field,
                              double *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (lua_geti(L, -1, (lua_Integer)i + 1) != LUA_TNUMBER)
      luaL_argerror(L, arg, lua_pushfstring(L, "series %I: %s[%I] must be a number, got %s",
                                            k, field, (lua_Integer)i + 1,
                                            luaL_typename(L, -1)));
    v[i] = lua_tonumber(L, -1);
    lua_pop(L, 1);
  }
}

static int l_plot_lines(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  sae_plot_opts o;
  lua_settop(L, 3);
  plot_check_opts(L, 3, "sae.plot_lines", &o); /* leaves the option strings on the stack */

  lua_Integer n_series = luaL_len(L, 2);
  if (n_series < 1) return luaL_argerror(L, 2, "no series to draw (an array of {y = ...})");

  /* Pass 1: validate, and size the buffer. */
  size_t n_points = 0, n_chars = 0;
  for (lua_Integer k = 1; k <= n_series; k++) {
    if (lua_geti(L, 2, k) != LUA_TTABLE)
      return luaL_argerror(L, 2, lua_pushfstring(L, "series %I must be a table {y = ...}, "
                                                    "got %s", k, luaL_typename(L, -1)));
    static const char *const series_keys[] = {"y", "x", "title", NULL};
    lua_pushfstring(L, "sae.plot_lines: series %I", k);
    lsae_check_options(L, -2, lua_tostring(L, -1), series_keys);
    lua_pop(L, 1);
    if (lua_getfield(L, -1, "y") == LUA_TNIL)
      return luaL_argerror(L, 2, lua_pushfstring(L, "series %I has no y", k));
    size_t n = plot_y_length(L, 2, k);
    if (n == 0) return luaL_argerror(L, 2, lua_pushfstring(L, "series %I: y is empty", k));
    lua_pop(L, 1);
    int t = lua_getfield(L, -1, "x");
    if (t != LUA_TNIL) {
      if (t != LUA_TTABLE)
        return luaL_argerror(L, 2, lua_pushfstring(L, "series %I: x must be a table of "
                                                      "numbers, got %s", k,
                                                   luaL_typename(L, -1)));
      if ((size_t)luaL_len(L, -1) != n)
        return luaL_argerror(L, 2, lua_pushfstring(L, "series %I: x has %I values, y has %I",
                                                   k, luaL_len(L, -1), (lua_Integer)n));
    }
    lua_pop(L, 1);
    t = lua_getfield(L, -1, "title");
    if (t != LUA_TNIL && t != LUA_TSTRING)
      return luaL_argerror(L, 2, lua_pushfstring(L, "series %I: title must be a string, "
                                                    "got %s", k, luaL_typename(L, -1)));
    if (t == LUA_TSTRING) n_chars += lua_rawlen(L, -1) + 1;
    lua_pop(L, 2);
    n_points += 2 * n; /* room for y and x */
  }

  /* One buffer: the series array, then the numbers, then the titles. */
  size_t head = (size_t)n_series * sizeof(sae_plot_series);
  sae_plot_series *s = lua_newuserdatauv(L, head + n_points * sizeof(double) + n_chars, 0);
  double *v = (double *)((char *)s + head);
  char *chars = (char *)(v + n_points);

  /* Pass 2: copy. */
  for (lua_Integer k = 1; k <= n_series; k++) {
    sae_plot_series *sk = &s[k - 1];
    lua_geti(L, 2, k);
    lua_getfield(L, -1, "y");
    gsl_matrix *a = lsae_testmatrix(L, -1);
    size_t n = a ? a->size1 * a->size2 : (size_t)luaL_len(L, -1);
    sk->n = n;
    sk->y = v;
    if (a) {
      for (size_t i = 0; i < n; i++)
        v[i] = a->size1 == 1 ? gsl_matrix_get(a, 0, i) : gsl_matrix_get(a, i, 0);
    } else {
      plot_copy_numbers(L, 2, k, "y", v, n);
    }
    v += n;
    lua_pop(L, 1);
    sk->x = NULL;
    if (lua_getfield(L, -1, "x") != LUA_TNIL) {
      plot_copy_numbers(L, 2, k, "x", v, n);
      sk->x = v;
    }
    v += n;
    lua_pop(L, 1);
    sk->title = NULL;
    if (lua_getfield(L, -1, "title") == LUA_TSTRING) {
      size_t len;
      const char *title = lua_tolstring(L, -1, &len);
      memcpy(chars, title, len + 1);
      sk->title = chars;
      chars += len + 1;
    }
    lua_pop(L, 2);
  }

  sae_error e = {0};
  int rc = sae_plot_lines(path, s, (size_t)n_series, &o, &e);
  if (rc) return l_plot_fail(L, rc, &e);
  lua_pushboolean(L, 1);
  return 1;
}

static int l_plot_heatmap(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  gsl_matrix *a = lsae_checkmatrix(L, 2);
  sae_plot_opts o;
  lua_settop(L, 3);
  plot_check_opts(L, 3, "sae.plot_heatmap", &o); /* leaves the option strings on the stack */
  if (a->size1 == 0 || a->size2 == 0) return luaL_argerror(L, 2, "empty matrix");
  sae_error e = {0};
  int rc = sae_plot_heatmap(path, a, &o, &e);
  if (rc) return l_plot_fail(L, rc, &e);
  lua_pushboolean(L, 1);
  return 1;
}

/* ---- plot_grid ------------------------------------------------------------ */

static const char *const grid_opt_names[] = {"h", "w", "cols", "normalize", "title",
                                             "width", "height", NULL};

/* Optional integer field >= min (0 when absent). */
static size_t grid_opt_size(lua_State *L, int arg, const char *name, lua_Integer min) {
  lua_Integer v = 0;
  if (lua_getfield(L, arg, name) != LUA_TNIL) {
    int isint;
    v = lua_tointegerx(L, -1, &isint);
    if (!isint || lua_type(L, -1) != LUA_TNUMBER || v < min || v > 1000000)
      luaL_argerror(L, arg, lua_pushfstring(L, "opts.%s must be an integer in %I..1000000",
                                            name, min));
  }
  lua_pop(L, 1);
  return (size_t)v;
}

static int l_plot_grid(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  gsl_matrix *a = lsae_checkmatrix(L, 2);
  lua_settop(L, 3);
  if (a->size1 == 0 || a->size2 == 0) return luaL_argerror(L, 2, "empty matrix");

  /* Everything that may raise happens before the mosaic is allocated. */
  sae_plot_opts o;
  memset(&o, 0, sizeof o);
  size_t h = 0, w = 0, cols = 0;
  int norm = SAE_DISPLAY_EACH;
  if (!lua_isnil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    lsae_check_options(L, 3, "sae.plot_grid", grid_opt_names);
    h = grid_opt_size(L, 3, "h", 1);
    w = grid_opt_size(L, 3, "w", 1);
    cols = grid_opt_size(L, 3, "cols", 0);
    const char *ns = plot_opt_string(L, 3, "normalize");
    if (ns && strcmp(ns, "each") == 0) norm = SAE_DISPLAY_EACH;
    else if (ns && strcmp(ns, "none") == 0) norm = SAE_DISPLAY_NONE;
    else if (ns)
      return luaL_argerror(L, 3, lua_pushfstring(L, "opts.normalize must be \"each\" or "
                                                    "\"none\", got \"%s\"", ns));
    o.title = plot_opt_string(L, 3, "title");
    o.width = plot_opt_pixels(L, 3, "width");
    o.height = plot_opt_pixels(L, 3, "height");
  }
  /* Missing sides: square images, or the other side from the one given. */
  size_t d = a->size2;
  if (!h && !w) {
    size_t s = (size_t)llround(sqrt((double)d));
    if (s * s != d)
      return luaL_argerror(L, 3, lua_pushfstring(L, "images of %I pixels are not square: "
                                                    "give opts.h and opts.w", (lua_Integer)d));
    h = w = s;
  } else if (!h) {
    h = d / w;
  } else if (!w) {
    w = d / h;
  }
  if (h * w != d)
    return luaL_argerror(L, 3, lua_pushfstring(L, "images of %I x %I pixels need %I columns, "
                                                  "the matrix has %I (one image per row, as a "
                                                  "W holds one unit per row)",
                                               (lua_Integer)h, (lua_Integer)w,
                                               (lua_Integer)(h * w), (lua_Integer)d));
  o.image = 1;
  if (norm == SAE_DISPLAY_EACH) { /* display_network's imagesc(array, [-1 1]) */
    o.cbmin = -1.0;
    o.cbmax = 1.0;
  }

  /* No Lua call may raise from here until the mosaic is freed. */
  gsl_matrix *mosaic = NULL;
  sae_error e = {0};
  int rc = sae_display_grid(a, h, w, cols, norm, &mosaic, &e);
  if (!rc) rc = sae_plot_heatmap(path, mosaic, &o, &e);
  gsl_matrix_free(mosaic);
  if (rc) return l_plot_fail(L, rc, &e);
  lua_pushboolean(L, 1);
  return 1;
}

/* ---- files --------------------------------------------------------------- */

/* write_file(path, s): the whole of s, atomically (atomic_write.h): a
 * temporary file beside path, checked, fsynced and renamed over it; on any
 * failure path is left as it was and nothing else remains. */
static int l_write_file(lua_State *L) {
  size_t len;
  const char *path = luaL_checkstring(L, 1);
  const char *s = luaL_checklstring(L, 2, &len);
  sae_error e = {0, ""};
  if (sae_atomic_write_file(path, s, len, &e)) return l_plot_softfail(L, e.msg);
  lua_pushboolean(L, 1);
  return 1;
}

static int l_mkdir(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  struct stat st;
  char msg[512];
  if (mkdir(path, 0755) != 0) {
    int err = errno;
    if (err != EEXIST || stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
      snprintf(msg, sizeof msg, "cannot create directory %s: %s", path,
               err == EEXIST ? "a file of that name exists" : strerror(err));
      return l_plot_softfail(L, msg);
    }
  }
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg plot_funcs[] = {
    {"plot_available", l_plot_available},
    {"plot_lines", l_plot_lines},
    {"plot_heatmap", l_plot_heatmap},
    {"plot_grid", l_plot_grid},
    {"write_file", l_write_file},
    {"mkdir", l_mkdir},
    {NULL, NULL},
};

void lsae_open_plot(lua_State *L) {
  luaL_setfuncs(L, plot_funcs, 0);
}
