/* registry.c -- load plugins with dlopen and keep every type they provide.
 *
 * After Redis's moduleLoad and Lua's loadlib.c: dlopen(RTLD_NOW | RTLD_LOCAL),
 * look up the one exported function, call it with this host's ABI, check the
 * descriptor, and refuse anything doubtful with one line, then dlclose and go
 * on.  Handles are dlclosed last, in sae_registry_free.
 *
 * The descriptor may come from a plugin built against an older header of the
 * same ABI (smaller sae_plugin / sae_type; the ABI grows by appending).  We
 * never read beyond the sizes the plugin declared: each descriptor and each
 * type is copied into a host-sized struct whose tail is zeroed (NULL
 * functions = "not provided"), and everything the host hands out points at
 * those copies.  So model.c and friends may read every field of sae_type.
 *
 * A search works like PATH: the first directory holding a file of a given
 * name (dense.so) wins, and a same-named file further along the search is
 * skipped silently, so a build tree's plugins can stand in front of an
 * installed copy.  Two different files declaring the same plugin or type name
 * are still refused: that is a conflict, not a shadowed copy. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "registry.h"

#ifndef SAE_PLUGIN_DIR
#define SAE_PLUGIN_DIR "/usr/local/lib/saelab"
#endif

/* The smallest descriptors this host accepts: everything ABI 1 defined. */
#define REG_PLUGIN_MIN (offsetof(sae_plugin, types) + sizeof(const sae_type *const *))
#define REG_TYPE_MIN (offsetof(sae_type, project) + sizeof(int (*)(sae_node *)))

typedef struct reg_plugin {
  sae_plugin desc; /* host-sized copy of the plugin's descriptor */
  sae_type *types; /* host-sized copies of its types */
  size_t n_types;
  char *origin;    /* as given, for messages */
  char *real;      /* realpath of the file, or NULL when linked in */
  void *handle;    /* dlopen handle, or NULL */
} reg_plugin;

struct sae_registry {
  reg_plugin **plugin; /* load order; each allocated alone so pointers stay put */
  size_t n_plugin, cap_plugin;
  const sae_type **type; /* load order; point into plugin[i]->types */
  size_t *type_owner;    /* index into plugin[] */
  size_t n_type, cap_type;
  char **warning;
  size_t n_warning, cap_warning;
  char **claimed; /* file names a search has met: later same-named files are skipped */
  size_t n_claimed, cap_claimed;
};

/* Grows *v (elements of size sz) to hold at least n; 0 or SAE_ENOMEM. */
static int reg_reserve(void **v, size_t *cap, size_t n, size_t sz) {
  if (n <= *cap) return 0;
  size_t c = *cap ? 2 * *cap : 8;
  while (c < n) c *= 2;
  void *p = realloc(*v, c * sz);
  if (!p) return SAE_ENOMEM;
  *v = p;
  *cap = c;
  return 0;
}

static char *reg_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

static const char *reg_basename(const char *path) {
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

sae_registry *sae_registry_alloc(void) {
  return calloc(1, sizeof(sae_registry));
}

static void reg_plugin_free(reg_plugin *pl) {
  if (!pl) return;
  free(pl->types);
  free(pl->origin);
  free(pl->real);
  free(pl);
}

void sae_registry_free(sae_registry *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n_warning; i++) free(r->warning[i]);
  free(r->warning);
  for (size_t i = 0; i < r->n_claimed; i++) free(r->claimed[i]);
  free(r->claimed);
  free(r->type);
  free(r->type_owner);
  /* Handles last, newest first: nothing may point into a plugin after this. */
  for (size_t i = r->n_plugin; i-- > 0;) {
    void *h = r->plugin[i]->handle;
    reg_plugin_free(r->plugin[i]);
    if (h) dlclose(h);
  }
  free(r->plugin);
  free(r);
}

/* ---- checking a descriptor ------------------------------------------------ */

static const reg_plugin *reg_owner_of_type(const sae_registry *r, const char *name) {
  for (size_t i = 0; i < r->n_type; i++)
    if (strcmp(r->type[i]->name, name) == 0) return r->plugin[r->type_owner[i]];
  return NULL;
}

/* Checks one type (already copied to host size); 0 or SAE_EPLUGIN with e set. */
static int reg_check_type(const sae_registry *r, const sae_type *t, size_t idx,
                          const sae_type *earlier, size_t n_earlier,
                          const char *origin, sae_error *e) {
  if (!t->name)
    return sae_error_set(e, SAE_EPLUGIN, "%s: type #%zu has no name", origin, idx);
  if (t->kind < SAE_KIND_LAYER || t->kind > SAE_KIND_REGULARIZER)
    return sae_error_set(e, SAE_EPLUGIN, "%s: type \"%s\" has unknown kind %d",
                         origin, t->name, (int)t->kind);
  if (!t->setup)
    return sae_error_set(e, SAE_EPLUGIN, "%s: type \"%s\" has no setup()", origin, t->name);
  if (t->kind == SAE_KIND_REGULARIZER) {
    if (!t->regularize)
      return sae_error_set(e, SAE_EPLUGIN, "%s: type \"%s\" (regularizer) has no regularize()",
                           origin, t->name);
  } else if (!t->forward || !t->backward) {
    return sae_error_set(e, SAE_EPLUGIN, "%s: type \"%s\" (%s) has no %s()", origin, t->name,
                         sae_kind_name(t->kind), t->forward ? "backward" : "forward");
  }
  for (const sae_hparam *h = t->hparams; h && h->name; h++) {
    if (!(h->min <= h->def && h->def <= h->max))
      return sae_error_set(e, SAE_EPLUGIN,
                           "%s: type \"%s\": hyper-parameter \"%s\" default %g outside [%g, %g]",
                           origin, t->name, h->name, h->def, h->min, h->max);
    for (const sae_hparam *g = t->hparams; g < h; g++)
      if (strcmp(g->name, h->name) == 0)
        return sae_error_set(e, SAE_EPLUGIN, "%s: type \"%s\": hyper-parameter \"%s\" listed twice",
                             origin, t->name, h->name);
  }
  for (size_t j = 0; j < n_earlier; j++)
    if (strcmp(earlier[j].name, t->name) == 0)
      return sae_error_set(e, SAE_EPLUGIN, "%s: type \"%s\" listed twice", origin, t->name);
  const reg_plugin *prev = reg_owner_of_type(r, t->name);
  if (prev)
    return sae_error_set(e, SAE_EPLUGIN, "%s: type \"%s\" already provided by %s (%s)", origin,
                         t->name, reg_basename(prev->origin), prev->origin);
  return 0;
}

int sae_registry_add(sae_registry *r, const sae_plugin *p, const char *origin,
                     void *handle, sae_error *e) {
  if (!origin) origin = "(linked in)";
  if (!r) return sae_error_set(e, SAE_ESTATE, "%s: no registry", origin);
  if (!p)
    return sae_error_set(e, SAE_EPLUGIN, "%s: descriptor declined ABI %u (returned NULL)",
                         origin, SAE_PLUGIN_ABI);
  if (p->abi != SAE_PLUGIN_ABI)
    return sae_error_set(e, SAE_EPLUGIN, "%s: built for ABI %u, this is ABI %u", origin,
                         (unsigned)p->abi, SAE_PLUGIN_ABI);
  if (p->size < REG_PLUGIN_MIN)
    return sae_error_set(e, SAE_EPLUGIN,
                         "%s: descriptor size %u smaller than %zu (sae_plugin of ABI %u)",
                         origin, (unsigned)p->size, (size_t)REG_PLUGIN_MIN, SAE_PLUGIN_ABI);
  if (p->type_size < REG_TYPE_MIN)
    return sae_error_set(e, SAE_EPLUGIN,
                         "%s: type size %u smaller than %zu (sae_type of ABI %u)", origin,
                         (unsigned)p->type_size, (size_t)REG_TYPE_MIN, SAE_PLUGIN_ABI);
  if (!p->name || !*p->name)
    return sae_error_set(e, SAE_EPLUGIN, "%s: descriptor has no plugin name", origin);
  if (!p->types)
    return sae_error_set(e, SAE_EPLUGIN, "%s: plugin \"%s\" has no type list", origin, p->name);
  for (size_t i = 0; i < r->n_plugin; i++)
    if (strcmp(r->plugin[i]->desc.name, p->name) == 0)
      return sae_error_set(e, SAE_EPLUGIN, "%s: plugin \"%s\" already loaded from %s", origin,
                           p->name, r->plugin[i]->origin);

  size_t n = 0;
  while (p->types[n]) n++;
  reg_plugin *pl = calloc(1, sizeof *pl);
  if (!pl) return sae_error_set(e, SAE_ENOMEM, "%s: out of memory", origin);
  memcpy(&pl->desc, p, p->size < sizeof pl->desc ? p->size : sizeof pl->desc);
  pl->types = calloc(n ? n : 1, sizeof(sae_type));
  pl->origin = reg_strdup(origin);
  if (!pl->types || !pl->origin) {
    reg_plugin_free(pl);
    return sae_error_set(e, SAE_ENOMEM, "%s: out of memory", origin);
  }
  size_t tsz = p->type_size < sizeof(sae_type) ? p->type_size : sizeof(sae_type);
  for (size_t i = 0; i < n; i++) {
    memcpy(&pl->types[i], p->types[i], tsz); /* tail stays zero: NULL = not provided */
    int rc = reg_check_type(r, &pl->types[i], i, pl->types, i, origin, e);
    if (rc) {
      reg_plugin_free(pl);
      return rc;
    }
  }
  pl->n_types = n;
  if (reg_reserve((void **)&r->plugin, &r->cap_plugin, r->n_plugin + 1, sizeof *r->plugin) ||
      reg_reserve((void **)&r->type, &r->cap_type, r->n_type + n, sizeof *r->type)) {
    reg_plugin_free(pl);
    return sae_error_set(e, SAE_ENOMEM, "%s: out of memory", origin);
  }
  size_t cap = r->cap_type;
  size_t *own = realloc(r->type_owner, cap * sizeof *own);
  if (!own) {
    reg_plugin_free(pl);
    return sae_error_set(e, SAE_ENOMEM, "%s: out of memory", origin);
  }
  r->type_owner = own;
  pl->handle = handle; /* only now: on refusal the caller still owns it */
  for (size_t i = 0; i < n; i++) {
    r->type[r->n_type] = &pl->types[i];
    r->type_owner[r->n_type] = r->n_plugin;
    r->n_type++;
  }
  r->plugin[r->n_plugin++] = pl;
  return 0;
}

/* ---- loading files --------------------------------------------------------- */

int sae_registry_load_file(sae_registry *r, const char *path, sae_error *e) {
  if (!r || !path) return sae_error_set(e, SAE_ESTATE, "load_file: no registry or no path");
  char real[PATH_MAX];
  if (!realpath(path, real))
    return sae_error_set(e, SAE_EPLUGIN, "%s: cannot load: %s", path, strerror(errno));
  for (size_t i = 0; i < r->n_plugin; i++)
    if (r->plugin[i]->real && strcmp(r->plugin[i]->real, real) == 0) return 0; /* already in */

  /* A bare name would make dlopen search the library path; we mean the file. */
  char local[PATH_MAX];
  const char *open_as = path;
  if (!strchr(path, '/')) {
    if (snprintf(local, sizeof local, "./%s", path) >= (int)sizeof local)
      return sae_error_set(e, SAE_EPLUGIN, "%s: cannot load: path too long", path);
    open_as = local;
  }
  dlerror();
  void *h = dlopen(open_as, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *why = dlerror();
    if (!why) why = "unknown dlopen error";
    size_t n = strlen(open_as); /* glibc starts with "path: "; say it once */
    if (strncmp(why, open_as, n) == 0 && strncmp(why + n, ": ", 2) == 0) why += n + 2;
    return sae_error_set(e, SAE_EPLUGIN, "%s: cannot load: %s", path, why);
  }
  dlerror();
  void *sym = dlsym(h, SAE_PLUGIN_SYMBOL);
  if (!sym) {
    dlclose(h);
    return sae_error_set(e, SAE_EPLUGIN, "%s: not a saelab plugin (no %s symbol)", path,
                         SAE_PLUGIN_SYMBOL);
  }
  sae_plugin_fn fn;
  memcpy(&fn, &sym, sizeof fn); /* POSIX: object pointer to function pointer */
  int rc = sae_registry_add(r, fn(SAE_PLUGIN_ABI), path, h, e);
  if (rc) {
    dlclose(h);
    return rc;
  }
  reg_plugin *pl = r->plugin[r->n_plugin - 1];
  pl->real = reg_strdup(real); /* NULL if out of memory: only the reload check weakens */
  return 0;
}

static void reg_warn(sae_registry *r, const char *msg) {
  if (reg_reserve((void **)&r->warning, &r->cap_warning, r->n_warning + 1, sizeof *r->warning))
    return;
  char *s = reg_strdup(msg);
  if (s) r->warning[r->n_warning++] = s;
}

static int reg_is_so(const struct dirent *d) {
  size_t n = strlen(d->d_name);
  return n > 3 && strcmp(d->d_name + n - 3, ".so") == 0;
}

/* Byte order, not the locale's: the same load order everywhere. */
static int reg_bytesort(const struct dirent **a, const struct dirent **b) {
  return strcmp((*a)->d_name, (*b)->d_name);
}

/* 1 if an earlier directory of a search already had a file of this name;
 * else claims the name for this one and returns 0.  Out of memory, the name
 * goes unclaimed: a later copy would then be refused with a warning. */
static int reg_shadowed(sae_registry *r, const char *name) {
  for (size_t i = 0; i < r->n_claimed; i++)
    if (strcmp(r->claimed[i], name) == 0) return 1;
  if (reg_reserve((void **)&r->claimed, &r->cap_claimed, r->n_claimed + 1, sizeof *r->claimed))
    return 0;
  char *s = reg_strdup(name);
  if (s) r->claimed[r->n_claimed++] = s;
  return 0;
}

/* Loads the *.so of one directory, but for the names an earlier directory
 * had; returns how many plugins it added. */
static size_t reg_scan_dir(sae_registry *r, const char *dir) {
  struct dirent **list;
  int n = scandir(dir, &list, reg_is_so, reg_bytesort);
  if (n < 0) return 0; /* a missing directory on the path is not an error */
  size_t loaded = 0;
  for (int i = 0; i < n; i++) {
    char path[PATH_MAX];
    struct stat st;
    sae_error e = {0, ""};
    if (snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name) < (int)sizeof path &&
        stat(path, &st) == 0 && S_ISREG(st.st_mode) && !reg_shadowed(r, list[i]->d_name)) {
      size_t before = r->n_plugin;
      if (sae_registry_load_file(r, path, &e))
        reg_warn(r, e.msg);
      else if (r->n_plugin > before)
        loaded++;
    }
    free(list[i]);
  }
  free(list);
  return loaded;
}

size_t sae_registry_load_path(sae_registry *r, const char *dirs) {
  if (!r || !dirs) return 0;
  char *copy = reg_strdup(dirs);
  if (!copy) return 0;
  char **seen = NULL; /* realpaths of the directories scanned in this call */
  size_t n_seen = 0, cap_seen = 0, loaded = 0;
  for (char *s = copy, *next; s; s = next) {
    next = strchr(s, ':');
    if (next) *next++ = '\0';
    if (!*s) continue;
    char real[PATH_MAX];
    if (!realpath(s, real)) continue;
    int dup = 0;
    for (size_t i = 0; i < n_seen && !dup; i++) dup = strcmp(seen[i], real) == 0;
    if (dup) continue;
    char *keep = reg_strdup(real);
    if (keep && reg_reserve((void **)&seen, &cap_seen, n_seen + 1, sizeof *seen) == 0)
      seen[n_seen++] = keep;
    else
      free(keep);
    /* Strip trailing slashes so messages read dir/file.so. */
    size_t len = strlen(s);
    while (len > 1 && s[len - 1] == '/') s[--len] = '\0';
    loaded += reg_scan_dir(r, s);
  }
  for (size_t i = 0; i < n_seen; i++) free(seen[i]);
  free(seen);
  free(copy);
  return loaded;
}

size_t sae_registry_load_default(sae_registry *r) {
  if (!r) return 0;
  const char *env = getenv("SAELAB_PLUGIN_PATH");
  if (!env) env = "";
  size_t n = strlen(env) + 1 + sizeof SAE_PLUGIN_DIR;
  char *path = malloc(n);
  if (!path) return 0;
  snprintf(path, n, "%s:%s", env, SAE_PLUGIN_DIR);
  size_t loaded = sae_registry_load_path(r, path);
  free(path);
  return loaded;
}

sae_registry *sae_registry_open_default(FILE *warn, const char *prog) {
  sae_registry *r = sae_registry_alloc();
  if (!r) return NULL;
  sae_registry_load_default(r);
  for (size_t i = 0; warn && i < sae_registry_warnings(r); i++)
    fprintf(warn, "%s: warning: %s\n", prog, sae_registry_warning(r, i));
  return r;
}

/* ---- queries ---------------------------------------------------------------- */

size_t sae_registry_warnings(const sae_registry *r) {
  return r ? r->n_warning : 0;
}

const char *sae_registry_warning(const sae_registry *r, size_t i) {
  return r && i < r->n_warning ? r->warning[i] : NULL;
}

size_t sae_registry_plugins(const sae_registry *r) {
  return r ? r->n_plugin : 0;
}

const sae_plugin *sae_registry_plugin(const sae_registry *r, size_t i, const char **file) {
  if (!r || i >= r->n_plugin) return NULL;
  if (file) *file = r->plugin[i]->real;
  return &r->plugin[i]->desc;
}

size_t sae_registry_count(const sae_registry *r) {
  return r ? r->n_type : 0;
}

const sae_type *sae_registry_type(const sae_registry *r, size_t i,
                                  const sae_plugin **owner, const char **origin) {
  if (!r || i >= r->n_type) return NULL;
  const reg_plugin *pl = r->plugin[r->type_owner[i]];
  if (owner) *owner = &pl->desc;
  if (origin) *origin = pl->origin;
  return r->type[i];
}

const sae_type *sae_registry_find(const sae_registry *r, const char *name) {
  if (!r || !name) return NULL;
  for (size_t i = 0; i < r->n_type; i++)
    if (strcmp(r->type[i]->name, name) == 0) return r->type[i];
  return NULL;
}

const char *sae_registry_type_file(const sae_registry *r, const sae_type *t,
                                   const sae_plugin **owner) {
  if (owner) *owner = NULL;
  for (size_t i = 0; r && i < r->n_type; i++)
    if (r->type[i] == t) {
      const reg_plugin *pl = r->plugin[r->type_owner[i]];
      if (owner) *owner = &pl->desc;
      return pl->real;
    }
  return NULL;
}

int sae_type_hparam_index(const sae_type *t, const char *name) {
  if (!t || !name || !t->hparams) return -1;
  for (int i = 0; t->hparams[i].name; i++)
    if (strcmp(t->hparams[i].name, name) == 0) return i;
  return -1;
}

size_t sae_type_hparam_count(const sae_type *t) {
  size_t n = 0;
  if (t && t->hparams)
    while (t->hparams[n].name) n++;
  return n;
}

const char *sae_kind_name(sae_kind k) {
  switch (k) {
  case SAE_KIND_LAYER: return "layer";
  case SAE_KIND_ACTIVATION: return "activation";
  case SAE_KIND_PENALTY: return "penalty";
  case SAE_KIND_LOSS: return "loss";
  case SAE_KIND_REGULARIZER: return "regularizer";
  }
  return "unknown";
}
