/* fuzz_checkpoint.c -- libFuzzer harness for the checkpoint decoder
 * (src/lsae_checkpoint.c): any bytes must decode or be refused with one
 * line, never crash, hang or allocate beyond what the bytes justify.  A
 * file that decodes must encode again, and that encoding must decode and
 * encode to the same bytes (the format is canonical after one round).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I src \
 *     tests/fuzz/fuzz_checkpoint.c src/lsae_checkpoint.c \
 *     $(pkg-config --cflags --libs lua5.4) -o fz_ck
 *   ./fz_ck -runs=1000000 tests/fuzz/corpus/checkpoint
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include <lualib.h>
#include "lsae_checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

/* Under lua_pcall, so a Lua memory error is an error, not a panic. */
static int fz_run(lua_State *L) {
  const uint8_t *d = lua_touserdata(L, 1);
  size_t n = (size_t)lua_tointeger(L, 2);
  char err[256];
  err[0] = '\0';
  if (sae_ckpt_decode(L, d, n, err, sizeof err)) {
    if (!err[0] || memchr(err, '\n', strlen(err))) abort(); /* one line, always */
    return 0;
  }
  if (!lua_istable(L, -1)) abort();
  if (sae_ckpt_encode(L, -1, err, sizeof err)) abort(); /* what was read can be written */
  size_t n1;
  const char *b1 = lua_tolstring(L, -1, &n1);
  if (sae_ckpt_decode(L, (const unsigned char *)b1, n1, err, sizeof err)) abort();
  if (sae_ckpt_encode(L, -1, err, sizeof err)) abort();
  size_t n2;
  const char *b2 = lua_tolstring(L, -1, &n2);
  if (n1 != n2 || memcmp(b1, b2, n1) != 0) abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
  lua_State *L = luaL_newstate();
  if (!L) return 0;
  lua_pushcfunction(L, fz_run);
  lua_pushlightuserdata(L, (void *)d);
  lua_pushinteger(L, (lua_Integer)n);
  lua_pcall(L, 2, 0, 0);
  lua_close(L);
  return 0;
}
