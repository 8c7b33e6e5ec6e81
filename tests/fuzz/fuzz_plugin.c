/* fuzz_plugin.c -- the registry's copy-in of a plugin descriptor
 * (sae_registry_add in src/registry.c, what sae_registry_load_file calls on
 * the pointer saelab_plugin returned after dlsym) with fields and size
 * fields from the input.
 *
 * The input is read as a stream of choices (zeros once it runs out): the
 * ABI, size and type_size (right, too small, zero, larger than the host's,
 * or any 32-bit value), the names (NULL, empty, a duplicate of a registered
 * plugin or type, or up to 15 bytes from the input), up to 4 types with
 * kinds, function pointers and hyper-parameter tables (NaN and reversed
 * ranges included).  Each descriptor lives in a heap block of exactly the
 * size it declares (capped at the host's size + 64), so ASan catches a read
 * past what a plugin built with that size would have: the host must copy at
 * most that many bytes and zero the rest.  A registry that accepts the
 * descriptor is then queried as `saelab plugins` would. */
#include <math.h>
#include <stddef.h>
#include <string.h>
#include "fuzz.h"
#include "registry.h"

typedef struct stream {
  const uint8_t *p;
  size_t n;
} stream;

static uint8_t next(stream *s) {
  if (!s->n) return 0;
  s->n--;
  return *s->p++;
}

static uint32_t next32(stream *s) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v = v << 8 | next(s);
  return v;
}

static double next_double(stream *s) {
  uint8_t b = next(s);
  switch (b % 8) {
  case 0: return 0;
  case 1: return 1;
  case 2: return -1;
  case 3: return NAN;
  case 4: return INFINITY;
  case 5: return -INFINITY;
  default: {
    uint64_t u = (uint64_t)next32(s) << 32 | next32(s);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
  }
  }
}

/* Everything one input allocates, freed after the registry. */
#define MAX_BLOCKS 64
typedef struct arena {
  void *block[MAX_BLOCKS];
  int n;
} arena;

static void *arena_alloc(arena *a, size_t n) {
  if (a->n == MAX_BLOCKS) return NULL;
  void *p = calloc(1, n ? n : 1);
  if (!p) abort();
  return a->block[a->n++] = p;
}

static const char *next_str(stream *s, arena *a, const char *dup) {
  uint8_t b = next(s);
  switch (b % 4) {
  case 0: return NULL;
  case 1: return "";
  case 2: return dup;
  default: {
    size_t len = next(s) % 16;
    char *str = arena_alloc(a, len + 1);
    if (!str) return NULL;
    for (size_t i = 0; i < len; i++) str[i] = (char)next(s);
    return str;
  }
  }
}

/* A declared size: the host's, a little off, an ABI-1 minimum, 0, or any. */
static uint32_t next_size(stream *s, size_t host, size_t min) {
  uint8_t b = next(s);
  switch (b % 8) {
  case 0: case 1: case 2: return (uint32_t)host;
  case 3: return (uint32_t)min;
  case 4: return (uint32_t)(min - 1);
  case 5: return (uint32_t)(host + 8 * (1 + b / 8 % 8));
  case 6: return b / 8;
  default: return next32(s);
  }
}

/* The plugin's block for a struct it says has `declared` bytes: the first
 * declared bytes of full (and junk beyond the host's struct). */
static void *declared_block(arena *a, const void *full, size_t host, uint32_t declared,
                            size_t header) {
  size_t n = declared > host + 64 ? host + 64 : declared;
  if (n < header) n = header; /* the fixed fields are always there */
  unsigned char *b = arena_alloc(a, n);
  if (!b) return NULL;
  memcpy(b, full, n < host ? n : host);
  for (size_t i = host; i < n; i++) b[i] = 0xa5;
  return b;
}

static int f_setup(sae_node *nd) { (void)nd; return 0; }
static int f_forward(sae_node *nd, const gsl_matrix *x, gsl_matrix *y, double *cost) {
  (void)nd, (void)x, (void)y, (void)cost;
  return 0;
}
static int f_backward(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y,
                      const gsl_matrix *dy, gsl_matrix *dx) {
  (void)nd, (void)x, (void)y, (void)dy, (void)dx;
  return 0;
}
static int f_regularize(sae_node *nd, const gsl_matrix *w, gsl_matrix *dw, double *cost) {
  (void)nd, (void)w, (void)dw, (void)cost;
  return 0;
}

/* An honest plugin registered first, so names can collide with it. */
static const sae_type base_type = {
    .name = "base_t", .kind = SAE_KIND_LAYER, .setup = f_setup,
    .forward = f_forward, .backward = f_backward};
static const sae_type *const base_types[] = {&base_type, NULL};
static const sae_plugin base_plugin = {SAE_PLUGIN_ABI, sizeof(sae_plugin), sizeof(sae_type),
                                       "base", "1.0", "the fixture", base_types};

#define TYPE_HEADER 0 /* a type has no fixed leading fields */
#define PLUGIN_HEADER (offsetof(sae_plugin, type_size) + sizeof(uint32_t))
#define TYPE_MIN (offsetof(sae_type, project) + sizeof(int (*)(sae_node *)))
#define PLUGIN_MIN (offsetof(sae_plugin, types) + sizeof(void *))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  stream s = {data, size};
  arena a = {{0}, 0};
  sae_error e = {0, ""};
  sae_registry *r = sae_registry_alloc();
  if (!r || sae_registry_add(r, &base_plugin, "base", NULL, &e)) abort();

  sae_plugin p;
  memset(&p, 0, sizeof p);
  uint8_t b = next(&s);
  p.abi = b < 224 ? SAE_PLUGIN_ABI : next32(&s);
  p.size = next_size(&s, sizeof(sae_plugin), PLUGIN_MIN);
  p.type_size = next_size(&s, sizeof(sae_type), TYPE_MIN);
  p.name = next_str(&s, &a, "base");
  p.version = next_str(&s, &a, "1.0");
  p.summary = next_str(&s, &a, NULL);
  size_t n_types = next(&s) % 6; /* 5: no list at all */
  if (n_types < 5) {
    const sae_type **list = arena_alloc(&a, (n_types + 1) * sizeof *list);
    for (size_t i = 0; list && i < n_types; i++) {
      sae_type t;
      memset(&t, 0, sizeof t);
      t.name = next_str(&s, &a, "base_t");
      t.kind = (sae_kind)((int)(next(&s) % 8) - 1);
      t.summary = next_str(&s, &a, NULL);
      t.citation = next_str(&s, &a, NULL);
      uint8_t fn = next(&s);
      t.setup = fn & 1 ? f_setup : NULL;
      t.forward = fn & 2 ? f_forward : NULL;
      t.backward = fn & 4 ? f_backward : NULL;
      t.regularize = fn & 8 ? f_regularize : NULL;
      t.flags = next(&s);
      t.state_size = next(&s);
      size_t n_hp = next(&s) % 5; /* 4: no table */
      if (n_hp < 4) {
        sae_hparam *hp = arena_alloc(&a, (n_hp + 1) * sizeof *hp);
        for (size_t j = 0; hp && j < n_hp; j++) {
          hp[j].name = next_str(&s, &a, "n_out");
          if (!hp[j].name) hp[j].name = "x"; /* NULL would end the table */
          hp[j].def = next_double(&s);
          hp[j].min = next_double(&s);
          hp[j].max = next_double(&s);
          hp[j].flags = next(&s);
          hp[j].doc = next_str(&s, &a, NULL);
        }
        t.hparams = hp;
      }
      list[i] = declared_block(&a, &t, sizeof t, p.type_size, TYPE_HEADER);
      if (!list[i]) break; /* out of blocks: the list ends here */
    }
    p.types = list;
  }
  const sae_plugin *pp = declared_block(&a, &p, sizeof p, p.size, PLUGIN_HEADER);
  if (pp && next(&s) % 16 == 0) pp = NULL; /* a plugin that declines */

  int rc = sae_registry_add(r, pp, "fuzz.so", NULL, &e);
  if (rc && !e.msg[0]) abort();
  /* What `saelab plugins` and sae.types() read of every type. */
  for (size_t i = 0; i < sae_registry_count(r); i++) {
    const sae_plugin *owner;
    const char *origin;
    const sae_type *t = sae_registry_type(r, i, &owner, &origin);
    if (!t || !t->name || !t->setup || sae_registry_find(r, t->name) != t) abort();
    volatile size_t sum = strlen(owner->name) + strlen(origin) + strlen(sae_kind_name(t->kind));
    for (size_t j = 0; j < sae_type_hparam_count(t); j++)
      sum += strlen(t->hparams[j].name) + (size_t)sae_type_hparam_index(t, t->hparams[j].name);
    (void)sum;
  }
  sae_registry_free(r);
  for (int i = 0; i < a.n; i++) free(a.block[i]);
  return 0;
}
