/* lsae_checkpoint.c -- checkpoint files as data (the format: lsae_checkpoint.h).
 *
 *   core.internal.checkpoint_encode(state) -> bytes | nil, message
 *   core.internal.checkpoint_decode(bytes) -> state | nil, message
 *
 * (internal: the public names are sae.checkpoint.encode / decode, which
 * raise at the script's line; these return the message)
 * lua/sae/checkpoint.lua reads and writes the files (write_file: path.tmp,
 * then rename) and turns the messages into errors at the script's line. */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include "lsae_checkpoint.h"

#define OLD_HEADER "-- saelab checkpoint 1"
#define HEADER_LEN (sizeof SAE_CKPT_HEADER - 1)
/* The fewest bytes a table entry takes: an integer key and a boolean. */
#define MIN_ENTRY 10

/* ---- decoding ------------------------------------------------------------ */

typedef struct ck_reader {
  const unsigned char *buf;
  size_t n, pos;
  char *err;
  size_t errlen;
} ck_reader;

static int ck_fail(ck_reader *r, size_t at, const char *fmt, ...) {
  int len = snprintf(r->err, r->errlen, "damaged checkpoint at byte %zu: ", at);
  if (len >= 0 && (size_t)len < r->errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err + len, r->errlen - (size_t)len, fmt, ap);
    va_end(ap);
  }
  return 1;
}

static uint64_t ck_u64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

/* 8 bytes at r->pos into *v, or an error naming what they were for. */
static int ck_read8(ck_reader *r, const char *what, uint64_t *v) {
  if (r->n - r->pos < 8)
    return ck_fail(r, r->pos, "%s needs 8 bytes, %zu left (truncated file)", what, r->n - r->pos);
  *v = ck_u64(r->buf + r->pos);
  r->pos += 8;
  return 0;
}

static const char *ck_tag_name(int tag) {
  switch (tag) {
  case 'T': return "table";
  case 'I': return "integer";
  case 'F': return "float";
  case 'S': return "string";
  case 't': case 'f': return "boolean";
  default: return NULL;
  }
}

/* The key at idx as one printable line: a number as Lua writes it, a string
 * quoted with its control and non-ASCII bytes escaped, cut after 40 bytes
 * (a key read from a damaged file may hold anything). */
static void ck_key_text(lua_State *L, int idx, char *out, size_t size) {
  if (lua_isinteger(L, idx)) {
    snprintf(out, size, "%lld", (long long)lua_tointeger(L, idx));
    return;
  }
  if (lua_type(L, idx) == LUA_TNUMBER) {
    snprintf(out, size, "%.17g", (double)lua_tonumber(L, idx));
    return;
  }
  size_t len, o = 0;
  const unsigned char *k = (const unsigned char *)lua_tolstring(L, idx, &len);
  out[o++] = '"';
  for (size_t i = 0; i < len && i < 40 && o + 8 < size; i++) {
    const unsigned char c = k[i];
    if (c == '\n') o += (size_t)snprintf(out + o, size - o, "\\n");
    else if (c == 0) o += (size_t)snprintf(out + o, size - o, "\\0");
    else if (c == '"' || c == '\\') o += (size_t)snprintf(out + o, size - o, "\\%c", c);
    else if (c < 0x20 || c >= 0x7f) o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
    else out[o++] = (char)c;
  }
  snprintf(out + o, size - o, len > 40 ? "\"..." : "\"");
}

/* One value (a key when is_key) pushed onto L.  [-0, +(0|1), m] */
static int ck_value(lua_State *L, ck_reader *r, int depth, int is_key) {
  const size_t at = r->pos;
  if (at >= r->n) return ck_fail(r, at, "a %s expected, the file ends (truncated file)",
                                 is_key ? "key" : "value");
  const int tag = r->buf[r->pos++];
  const char *name = ck_tag_name(tag);
  if (!name) return ck_fail(r, at, "unknown tag 0x%02x", (unsigned)tag);
  if (is_key && tag != 'I' && tag != 'F' && tag != 'S')
    return ck_fail(r, at, "a %s key (keys are numbers or strings)", name);
  uint64_t v;
  switch (tag) {
  case 't': case 'f':
    lua_pushboolean(L, tag == 't');
    return 0;
  case 'I':
    if (ck_read8(r, "an integer", &v)) return 1;
    lua_pushinteger(L, (lua_Integer)(int64_t)v);
    return 0;
  case 'F': {
    if (ck_read8(r, "a float", &v)) return 1;
    double d;
    memcpy(&d, &v, sizeof d);
    if (is_key && isnan(d)) return ck_fail(r, at, "a NaN key");
    lua_pushnumber(L, d);
    return 0;
  }
  case 'S':
    if (ck_read8(r, "a string's length", &v)) return 1;
    if (v > r->n - r->pos)
      return ck_fail(r, at + 1, "string length %llu exceeds the %zu bytes left",
                     (unsigned long long)v, r->n - r->pos);
    lua_pushlstring(L, (const char *)r->buf + r->pos, (size_t)v);
    r->pos += (size_t)v;
    return 0;
  default: break; /* 'T' */
  }
  if (depth >= SAE_CKPT_MAX_DEPTH)
    return ck_fail(r, at, "tables nested deeper than %d", SAE_CKPT_MAX_DEPTH);
  if (ck_read8(r, "a table's count", &v)) return 1;
  const size_t left = r->n - r->pos;
  if (v > left / MIN_ENTRY)
    return ck_fail(r, at + 1, "table of %llu entries exceeds the %zu bytes left "
                   "(an entry takes at least %d)", (unsigned long long)v, left, MIN_ENTRY);
  if (!lua_checkstack(L, 4)) return ck_fail(r, at, "out of Lua stack space");
  lua_createtable(L, 0, v > INT_MAX ? INT_MAX : (int)v); /* v <= n / 10: bounded by the file */
  const int t = lua_gettop(L);
  for (uint64_t i = 0; i < v; i++) {
    const size_t kat = r->pos;
    if (ck_value(L, r, depth + 1, 1)) goto fail;
    lua_pushvalue(L, -1);
    if (lua_rawget(L, t) != LUA_TNIL) { /* 2 and 2.0 are one key too */
      char key[200];
      ck_key_text(L, -2, key, sizeof key);
      ck_fail(r, kat, "duplicate key %s", key);
      goto fail;
    }
    lua_pop(L, 1);
    if (ck_value(L, r, depth + 1, 0)) goto fail;
    lua_rawset(L, t);
  }
  return 0;
fail:
  lua_settop(L, t - 1);
  return 1;
}

int sae_ckpt_decode(lua_State *L, const unsigned char *buf, size_t n, char *err, size_t errlen) {
  ck_reader r = {.buf = buf, .n = n, .pos = 0, .err = err, .errlen = errlen};
  const size_t old = sizeof OLD_HEADER - 1;
  if (n >= old && memcmp(buf, OLD_HEADER, old) == 0) {
    snprintf(err, errlen, "an old saelab checkpoint (format 1, a Lua chunk that reading "
                          "would run): this saelab reads only data; delete it to start afresh "
                          "(or convert it with the saelab that wrote it)");
    return 1;
  }
  if (n < HEADER_LEN || memcmp(buf, SAE_CKPT_HEADER, HEADER_LEN) != 0) {
    const size_t pre = sizeof "saelab checkpoint " - 1;
    if (n >= pre && memcmp(buf, SAE_CKPT_HEADER, pre) == 0)
      snprintf(err, errlen, "a saelab checkpoint of another format version (this saelab "
                            "reads \"saelab checkpoint 2\"; a newer one wrote it?)");
    else
      snprintf(err, errlen, "not a saelab checkpoint (no \"saelab checkpoint 2\" header)");
    return 1;
  }
  r.pos = HEADER_LEN;
  if (r.pos < n && buf[r.pos] != 'T')
    return ck_fail(&r, r.pos, "the top value is a %s, not a table",
                   ck_tag_name(buf[r.pos]) ? ck_tag_name(buf[r.pos]) : "unknown tag");
  const int top = lua_gettop(L);
  if (ck_value(L, &r, 0, 0)) return 1;
  if (r.pos != n) {
    lua_settop(L, top);
    return ck_fail(&r, r.pos, "%zu bytes after the end of the checkpoint", n - r.pos);
  }
  return 0;
}

/* ---- encoding ------------------------------------------------------------ */

#define CK_BUF "sae.checkpoint_buffer"

/* The bytes being written, owned by a userdata (freed by its __gc even when
 * Lua raises midway). */
typedef struct ck_buf {
  unsigned char *p;
  size_t n, cap;
} ck_buf;

static int ck_buf_gc(lua_State *L) {
  ck_buf *b = luaL_checkudata(L, 1, CK_BUF);
  free(b->p);
  b->p = NULL;
  b->n = b->cap = 0;
  return 0;
}

typedef struct ck_writer {
  lua_State *L;
  ck_buf *b;
  char *err;
  size_t errlen;
} ck_writer;

static int ck_put(ck_writer *w, const void *p, size_t len) {
  ck_buf *b = w->b;
  if (len > b->cap - b->n) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->n < len) {
      if (cap > SIZE_MAX / 2) {
        snprintf(w->err, w->errlen, "the checkpoint is too large");
        return 1;
      }
      cap *= 2;
    }
    unsigned char *q = realloc(b->p, cap);
    if (!q) {
      snprintf(w->err, w->errlen, "out of memory for a checkpoint of %zu bytes", cap);
      return 1;
    }
    b->p = q, b->cap = cap;
  }
  memcpy(b->p + b->n, p, len);
  b->n += len;
  return 0;
}

static int ck_put_tagged(ck_writer *w, int tag, uint64_t v) {
  unsigned char s[9];
  s[0] = (unsigned char)tag;
  for (int i = 0; i < 8; i++) s[1 + i] = (unsigned char)(v >> (8 * i));
  return ck_put(w, s, sizeof s);
}

/* A table's key, for sorting: numbers ascending (an integer before an equal
 * float, though Lua keeps no float key with an integer value), then strings
 * bytewise. */
typedef struct ck_key {
  int kind; /* 0 integer, 1 float, 2 string */
  lua_Integer i;
  double d;
  const char *s;
  size_t len;
} ck_key;

static int ck_key_cmp(const void *pa, const void *pb) {
  const ck_key *a = pa, *b = pb;
  if ((a->kind == 2) != (b->kind == 2)) return a->kind == 2 ? 1 : -1;
  if (a->kind == 2) {
    int c = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);
    if (c) return c;
    return (a->len > b->len) - (a->len < b->len);
  }
  if (a->kind == 0 && b->kind == 0) return (a->i > b->i) - (a->i < b->i);
  const double x = a->kind ? a->d : (double)a->i, y = b->kind ? b->d : (double)b->i;
  if (x != y) return x < y ? -1 : 1;
  return a->kind - b->kind;
}

static int ck_put_value(ck_writer *w, int idx, int depth);

static int ck_put_key(ck_writer *w, const ck_key *k) {
  if (k->kind == 0) return ck_put_tagged(w, 'I', (uint64_t)k->i);
  if (k->kind == 1) {
    uint64_t bits;
    memcpy(&bits, &k->d, sizeof bits);
    return ck_put_tagged(w, 'F', bits);
  }
  return ck_put_tagged(w, 'S', k->len) || ck_put(w, k->s, k->len);
}

static int ck_put_table(ck_writer *w, int t, int depth) {
  lua_State *L = w->L;
  if (depth >= SAE_CKPT_MAX_DEPTH) {
    snprintf(w->err, w->errlen, "tables nested deeper than %d (a cycle?)", SAE_CKPT_MAX_DEPTH);
    return 1;
  }
  if (!lua_checkstack(L, 6)) {
    snprintf(w->err, w->errlen, "out of Lua stack space");
    return 1;
  }
  size_t count = 0;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    count++;
    lua_pop(L, 1);
  }
  /* The keys' array belongs to a userdata (on the stack until the table is
   * written): a memory error in Lua leaks nothing.  Their strings stay
   * valid: the table holds them and is not changed. */
  ck_key *keys = lua_newuserdatauv(L, count ? count * sizeof *keys : 1, 0);
  const int kidx = lua_gettop(L);
  size_t i = 0;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    lua_pop(L, 1);
    ck_key *k = &keys[i++];
    memset(k, 0, sizeof *k);
    const int kt = lua_type(L, -1);
    if (kt == LUA_TNUMBER && lua_isinteger(L, -1)) {
      k->kind = 0, k->i = lua_tointeger(L, -1);
    } else if (kt == LUA_TNUMBER) {
      k->kind = 1, k->d = (double)lua_tonumber(L, -1);
    } else if (kt == LUA_TSTRING) {
      k->kind = 2, k->s = lua_tolstring(L, -1, &k->len); /* a string already: no conversion */
    } else {
      snprintf(w->err, w->errlen, "a %s key cannot be saved", lua_typename(L, kt));
      lua_settop(L, kidx - 1);
      return 1;
    }
  }
  qsort(keys, count, sizeof *keys, ck_key_cmp);
  int rc = ck_put_tagged(w, 'T', count);
  for (i = 0; !rc && i < count; i++) {
    rc = ck_put_key(w, &keys[i]);
    if (rc) break;
    if (keys[i].kind == 0) lua_pushinteger(L, keys[i].i);
    else if (keys[i].kind == 1) lua_pushnumber(L, keys[i].d);
    else lua_pushlstring(L, keys[i].s, keys[i].len);
    lua_rawget(L, t);
    rc = ck_put_value(w, lua_gettop(L), depth + 1);
    lua_pop(L, 1);
  }
  lua_settop(L, kidx - 1);
  return rc;
}

static int ck_put_value(ck_writer *w, int idx, int depth) {
  lua_State *L = w->L;
  switch (lua_type(L, idx)) {
  case LUA_TBOOLEAN: {
    unsigned char c = lua_toboolean(L, idx) ? 't' : 'f';
    return ck_put(w, &c, 1);
  }
  case LUA_TNUMBER:
    if (lua_isinteger(L, idx)) return ck_put_tagged(w, 'I', (uint64_t)lua_tointeger(L, idx));
    else {
      double d = (double)lua_tonumber(L, idx);
      uint64_t bits;
      memcpy(&bits, &d, sizeof bits);
      return ck_put_tagged(w, 'F', bits);
    }
  case LUA_TSTRING: {
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    return ck_put_tagged(w, 'S', len) || ck_put(w, s, len);
  }
  case LUA_TTABLE: return ck_put_table(w, idx, depth);
  default:
    snprintf(w->err, w->errlen, "a %s value cannot be saved", luaL_typename(L, idx));
    return 1;
  }
}

int sae_ckpt_encode(lua_State *L, int idx, char *err, size_t errlen) {
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) != LUA_TTABLE) {
    snprintf(err, errlen, "the state must be a table, got %s", luaL_typename(L, idx));
    return 1;
  }
  ck_buf *b = lua_newuserdatauv(L, sizeof *b, 0);
  memset(b, 0, sizeof *b);
  if (luaL_newmetatable(L, CK_BUF)) {
    lua_pushcfunction(L, ck_buf_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  ck_writer w = {.L = L, .b = b, .err = err, .errlen = errlen};
  int rc = ck_put(&w, SAE_CKPT_HEADER, HEADER_LEN) || ck_put_value(&w, idx, 0);
  if (!rc) lua_pushlstring(L, (const char *)b->p, b->n);
  free(b->p); /* early: a checkpoint may be tens of MB; __gc sees NULL */
  b->p = NULL;
  b->n = b->cap = 0;
  if (!rc) lua_remove(L, -2);
  else lua_pop(L, 1);
  return rc;
}

/* ---- the bindings ---------------------------------------------------------- */

/* checkpoint_encode(state) -> bytes | nil, message */
static int l_checkpoint_encode(lua_State *L) {
  char err[256];
  lua_settop(L, 1);
  if (sae_ckpt_encode(L, 1, err, sizeof err)) {
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
  }
  return 1;
}

/* checkpoint_decode(bytes) -> state | nil, message */
static int l_checkpoint_decode(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  char err[256];
  if (sae_ckpt_decode(L, (const unsigned char *)s, n, err, sizeof err)) {
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
  }
  return 1;
}

static const luaL_Reg checkpoint_funcs[] = {
    {"checkpoint_encode", l_checkpoint_encode},
    {"checkpoint_decode", l_checkpoint_decode},
    {NULL, NULL},
};

/* Into the table on top of the stack (core.internal).  [-0, +0, m] */
void lsae_open_checkpoint(lua_State *L) { luaL_setfuncs(L, checkpoint_funcs, 0); }
