/* lsae_module.c -- "sae.core" as a Lua C module (sae/core.so), so that
 * `require "sae"` works from the standard lua5.4 interpreter.
 *
 * Under saelab, main.c installs the runtime's state (plugin registry, seeded
 * generator) with lsae_setup before anything requires "sae.core".  A plain
 * interpreter has no such host, so the module installs the state itself:
 * plugins from the same search as saelab's (sae_registry_open_default), and a
 * generator seeded 0 (sae.seed(n) restarts it).  The registry belongs to a
 * userdata whose __gc frees it when the state closes.  It is created before
 * any model, and Lua finalizes in reverse order of creation, so every model
 * is gone before the plugins' code is dlclosed. */
#include <stdio.h>
#include "lsae.h"

static const char KEY_OWNER = 'o'; /* the registry's owning userdata */

typedef struct module_registry {
  sae_registry *r;
} module_registry;

static int registry_gc(lua_State *L) {
  module_registry *box = lua_touserdata(L, 1);
  sae_registry_free(box->r);
  box->r = NULL;
  return 0;
}

/* [-0, +0, m] */
static void module_setup(lua_State *L) {
  module_registry *box = lua_newuserdatauv(L, sizeof *box, 0);
  box->r = NULL; /* empty first: an error below leaks nothing */
  lua_newtable(L);
  lua_pushcfunction(L, registry_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_OWNER); /* anchored until lua_close */
  box->r = sae_registry_open_default(stderr, "sae");
  if (!box->r) luaL_error(L, "out of memory loading the plugins");
  if (sae_registry_count(box->r) == 0)
    fprintf(stderr, "sae: warning: no plugins found (searched $SAELAB_PLUGIN_PATH and %s)\n",
            SAE_PLUGIN_DIR);
  lsae_setup(L, box->r, 0);
}

int luaopen_sae_core(lua_State *L);

int luaopen_sae_core(lua_State *L) {
  module_setup(L);
  return lsae_open_core(L);
}
