/* fuzz_args.c -- the command line of `saelab run` and `saelab gradcheck`
 * (src/cmdline.c) on arbitrary bytes: the input, split at '\0' bytes, is
 * argv (at most 64 arguments).  Then, as main.c's push_run_info does, each
 * name=value of run goes into a Lua table and each value through the
 * conversion sae.arg applies (Lua's tonumber). */
#include <string.h>
#include <lauxlib.h>
#include <lua.h>
#include "cmdline.h"
#include "fuzz.h"

#define MAX_ARGS 64

static lua_State *L;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!L && !(L = luaL_newstate())) abort();
  /* argv: copies, each its own allocation so a read past an end is caught. */
  char *argv[MAX_ARGS + 1], *copy[MAX_ARGS + 1];
  int argc = 0;
  for (size_t i = 0; i <= size && argc < MAX_ARGS;) {
    const uint8_t *z = memchr(data + i, '\0', size - i);
    size_t n = z ? (size_t)(z - (data + i)) : size - i;
    if (!(argv[argc] = malloc(n + 1))) abort();
    memcpy(argv[argc], data + i, n);
    argv[argc][n] = '\0';
    copy[argc] = argv[argc];
    argc++;
    i += n + 1;
  }
  argv[argc] = NULL;

  sae_error e = {0, ""};
  sae_cmdline_run o;
  int rc = sae_cmdline_parse_run(argc, argv, &o, &e);
  if (rc && (o.args || !e.msg[0])) abort();
  if (!rc) {
    if (!o.script) abort();
    lua_newtable(L);
    for (int i = 0; i < o.n_args; i++) {
      if (!sae_cmdline_is_assignment(o.args[i])) abort();
      size_t name_len;
      const char *value = sae_cmdline_split(o.args[i], &name_len);
      lua_pushlstring(L, o.args[i], name_len);
      lua_pushstring(L, value);
      lua_settable(L, -3);
      lua_stringtonumber(L, value) ? lua_pop(L, 1) : (void)0;
    }
    lua_pop(L, 1);
    sae_cmdline_run_free(&o);
  }
  lua_gc(L, LUA_GCCOLLECT);

  sae_cmdline_gradcheck g; /* cuts argv's name=value at '=' */
  rc = sae_cmdline_parse_gradcheck(argc, argv, &g, &e);
  if (!rc && (g.n_hp > SAE_CMDLINE_MAX_HP || (!g.type && !g.all))) abort();
  for (int i = 0; i < argc; i++) free(copy[i]);
  return 0;
}
