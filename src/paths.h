/* paths.h -- where this saelab program finds its plugins and Lua modules.
 *
 * The installed program searches $SAELAB_PLUGIN_PATH, then the installed
 * plugin directory, and takes its Lua modules from $SAELAB_LUA_PATH, else the
 * installed ones.  The program of an uninstalled build tree (found through
 * /proc/self/exe: its directory is the configured builddir, or builddir/.libs
 * under libtool) uses that tree's plugins/.libs and srcdir/lua in their
 * place, so `./saelab` runs its own code with no environment variables and
 * never mixes in an installed, possibly older copy. */
#ifndef SAE_PATHS_H
#define SAE_PATHS_H

/* 1 if the running program is the uninstalled build tree's. */
int sae_paths_build_tree(void);

/* The directory searched after $SAELAB_PLUGIN_PATH. */
const char *sae_paths_plugin_dir(void);

/* The whole plugin search, "$SAELAB_PLUGIN_PATH:plugin_dir" (malloc'd; NULL
 * when out of memory). */
char *sae_paths_plugin_search(void);

/* The Lua modules' directory: $SAELAB_LUA_PATH if set and not empty, else
 * the build tree's srcdir/lua or the installed one. */
const char *sae_paths_lua_dir(void);

#endif
