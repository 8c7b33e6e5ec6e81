/* paths.c -- the installed program or the build tree's (see paths.h).
 *
 * SAE_BUILDDIR and SAE_SRCDIR are the configured abs_top_builddir and
 * abs_top_srcdir (Makefile.am passes them to this file only).  The binary
 * carries them once installed too, but there its directory is $(bindir),
 * never the build tree, so it never uses them. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "paths.h"

#ifndef SAE_PLUGIN_DIR
#define SAE_PLUGIN_DIR "/usr/local/lib/saelab"
#endif
#ifndef SAE_LUA_DIR
#define SAE_LUA_DIR "/usr/local/share/saelab/lua"
#endif

/* 1 if the directories a and b are the same one (both exist). */
static int paths_same_dir(const char *a, const char *b) {
  char ra[PATH_MAX], rb[PATH_MAX];
  return realpath(a, ra) && realpath(b, rb) && strcmp(ra, rb) == 0;
}

int sae_paths_build_tree(void) {
#if defined(SAE_BUILDDIR) && defined(SAE_SRCDIR)
  static int known = 0, answer = 0;
  if (known) return answer;
  known = 1;
  char exe[PATH_MAX], libs[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return answer; /* no /proc: behave as installed */
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  if (!slash) return answer;
  *slash = '\0';
  snprintf(libs, sizeof libs, "%s/.libs", SAE_BUILDDIR);
  answer = paths_same_dir(exe, SAE_BUILDDIR) || paths_same_dir(exe, libs);
  return answer;
#else
  return 0;
#endif
}

const char *sae_paths_plugin_dir(void) {
#ifdef SAE_BUILDDIR
  if (sae_paths_build_tree()) return SAE_BUILDDIR "/plugins/.libs";
#endif
  return SAE_PLUGIN_DIR;
}

char *sae_paths_plugin_search(void) {
  const char *env = getenv("SAELAB_PLUGIN_PATH");
  const char *dir = sae_paths_plugin_dir();
  if (!env) env = "";
  size_t n = strlen(env) + 1 + strlen(dir) + 1;
  char *s = malloc(n);
  if (s) snprintf(s, n, "%s%s%s", env, env[0] ? ":" : "", dir);
  return s;
}

const char *sae_paths_lua_dir(void) {
  const char *env = getenv("SAELAB_LUA_PATH");
  if (env && env[0]) return env;
#ifdef SAE_SRCDIR
  if (sae_paths_build_tree()) return SAE_SRCDIR "/lua";
#endif
  return SAE_LUA_DIR;
}
