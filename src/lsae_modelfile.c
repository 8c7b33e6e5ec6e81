/* lsae_modelfile.c -- Lua bindings of model files (modelfile.h):
 *
 *   net:save("model.mat")                        -> net  (path.tmp, then renamed)
 *   local net = sae.load("model.mat")            -> a built model, tensors as saved
 *   local net = sae.load("model.mat", {check_plugins = false})
 *
 * check_plugins: "version" (the default) refuses a node whose type now comes
 * from a plugin of another name or version than at save; "sha256" also
 * demands the very file saved with; false checks nothing (see modelfile.c
 * for why the default is the version). */
#include <string.h>
#include "lsae.h"
#include "modelfile.h"

/* net:save(path) -> net */
static int l_save(lua_State *L) {
  sae_model *m = lsae_checkmodel(L, 1);
  const char *path = luaL_checkstring(L, 2);
  sae_error e = {0, ""};
  int rc = sae_model_save(m, lsae_registry(L), path, &e);
  if (rc) return lsae_fail(L, rc, &e);
  lua_settop(L, 1);
  return 1;
}

/* sae.load(path [, {check_plugins = "version" | "sha256" | false}]) -> net */
static int l_load(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  static const char *const keys[] = {"check_plugins", NULL};
  unsigned flags = 0;
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    lsae_check_options(L, 2, "sae.load", keys);
    lua_getfield(L, 2, "check_plugins");
    if (lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1))
      flags |= SAE_LOAD_ANY_PLUGIN;
    else if (lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "sha256") == 0)
      flags |= SAE_LOAD_SAME_FILE;
    else if (!lua_isnil(L, -1) &&
             !(lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "version") == 0))
      return luaL_error(L, "sae.load: check_plugins must be \"version\" (the default), "
                        "\"sha256\" or false, got %s", luaL_tolstring(L, -1, NULL));
    lua_pop(L, 1);
  }
  sae_model **slot = lsae_newmodel(L); /* empty: nothing leaks if the load fails */
  sae_error e = {0, ""};
  int rc = sae_model_load(path, lsae_registry(L), lsae_rng(L), flags, slot, &e);
  if (rc) return lsae_fail(L, rc, &e);
  return 1;
}

void lsae_open_modelfile(lua_State *L) {
  luaL_getmetatable(L, LSAE_MODEL);
  lua_getfield(L, -1, "__index");
  lua_pushcfunction(L, l_save);
  lua_setfield(L, -2, "save");
  lua_pop(L, 2);
  lua_pushcfunction(L, l_load);
  lua_setfield(L, -2, "load");
}
