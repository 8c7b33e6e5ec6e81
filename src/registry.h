/* registry.h -- every type the runtime knows, from the plugins it loaded.
 *
 * Plugins are found in each directory of SAELAB_PLUGIN_PATH (':'-separated),
 * then in the installed plugin directory.  As with PATH, the first directory
 * holding a file of a given name wins and same-named files in later
 * directories are skipped without a warning.  A file that is not a valid plugin
 * (not loadable, no saelab_plugin symbol, NULL descriptor, other ABI, too-small
 * descriptor, duplicate plugin or type name) is refused with one line kept in
 * the registry's warnings; the rest still loads.  Handles are dlclosed by
 * sae_registry_free, which must come after every model using the types. */
#ifndef SAE_REGISTRY_H
#define SAE_REGISTRY_H

#include <stddef.h>
#include <stdio.h>
#include "error.h"

typedef struct sae_registry sae_registry;

sae_registry *sae_registry_alloc(void);
void sae_registry_free(sae_registry *r); /* NULL is a no-op */

/* Adds a descriptor (from a loaded .so, or linked in); origin names it in
 * messages; handle (may be NULL) is dlclosed with the registry. On refusal
 * returns SAE_EPLUGIN, e says why, and the registry is unchanged (the caller
 * still owns handle). */
int sae_registry_add(sae_registry *r, const sae_plugin *p, const char *origin,
                     void *handle, sae_error *e);

/* dlopen one file and add its descriptor (dlclose on refusal). */
int sae_registry_load_file(sae_registry *r, const char *path, sae_error *e);

/* Load every *.so in each directory of a ':'-separated list, in order; a file
 * whose name an earlier directory (of this or an earlier search) already had
 * is skipped silently.  Refusals become warnings (sae_registry_warning) and
 * do not stop the scan. Returns the number of plugins loaded. */
size_t sae_registry_load_path(sae_registry *r, const char *dirs);

/* The default search: $SAELAB_PLUGIN_PATH, then SAE_PLUGIN_DIR. */
size_t sae_registry_load_default(sae_registry *r);

/* The runtime's registry, for every host (saelab's commands, the Lua module
 * sae/core.so): a new registry with the default search done, each refusal
 * written to warn (NULL: none) as "prog: warning: ...".  NULL when out of
 * memory; free with sae_registry_free. */
sae_registry *sae_registry_open_default(FILE *warn, const char *prog);

size_t sae_registry_warnings(const sae_registry *r);
const char *sae_registry_warning(const sae_registry *r, size_t i);

/* Plugins, in load order; *file (may be NULL) is set to the loaded file's
 * real path, or NULL for a descriptor added with sae_registry_add. */
size_t sae_registry_plugins(const sae_registry *r);
const sae_plugin *sae_registry_plugin(const sae_registry *r, size_t i, const char **file);

/* Types, in load order. */
size_t sae_registry_count(const sae_registry *r);
const sae_type *sae_registry_type(const sae_registry *r, size_t i,
                                  const sae_plugin **owner, const char **origin);
const sae_type *sae_registry_find(const sae_registry *r, const char *name);
/* The plugin that provides t (a pointer the registry handed out) and the
 * real path of its file: NULL when t is not in r or was linked in (or out of
 * memory at load); *owner (may be NULL) gets the descriptor or NULL. */
const char *sae_registry_type_file(const sae_registry *r, const sae_type *t,
                                   const sae_plugin **owner);

/* Index of hyper-parameter `name` in t->hparams, or -1. */
int sae_type_hparam_index(const sae_type *t, const char *name);
size_t sae_type_hparam_count(const sae_type *t);
const char *sae_kind_name(sae_kind k);

#endif
