/* model.c -- nodes wired in order over one parameter block (see model.h).
 *
 * Memory: theta and grad are single gsl_vectors; every node's tensors are
 * gsl_matrix views into them (a tied or shared tensor is a view into the
 * owner's range, so its gradient accumulates in one place).  Per-node
 * outputs y and output-gradients dy are m_max x n_out matrices grown only
 * when a larger batch arrives; each call works on views of their first m
 * rows.  Nothing is allocated while a batch of a size already seen runs.
 * A SAE_TYPE_PASSTHROUGH node fed by another node has no y and dy of its
 * own: they are views of its input's (aliased), so a loss or penalty costs
 * no copy of its input and no pass over its dy.
 *
 * Float32 training (sae_model_eval_f32) runs the same plan -- one forward
 * loop and one backward loop, deciding the same first writers and zeroing
 * the same blocks -- with a second executor: float buffers (y32, dy32, the
 * float copies of theta and its gradient) and the types' *_f32 functions.
 * The loops take the precision as an argument; only run_forward and
 * run_backward, and the zeroing helpers, look at it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include "model.h"
#include "registry.h"

#define NO_NODE (-2) /* "input" is -1: the model's own input */
/* theta, its gradient (doubles) and the direction (a signed char) of each parameter */
#define BUILD_BYTES_PER_PARAM (2 * sizeof(double) + 1)

typedef struct node_rec {
  sae_node nd;   /* what the plugin sees */
  char *name;
  int input;     /* index of the node feeding this one, -1: model input */
  int tie, share;
  int tie_tensor;                 /* tensor index in the tied node */
  char *tie_tname;                /* "W" from "enc.W", or NULL */
  double *hp;                     /* hyper-parameter values, type order */
  size_t off[SAE_MAX_TENSORS];    /* own tensors: offset in theta */
  int alias[SAE_MAX_TENSORS];     /* 1: a view into another node's tensor */
  size_t gslot[SAE_MAX_TENSORS];  /* its gradient's slot in gfresh: owner * SAE_MAX_TENSORS + k */
  gsl_matrix *ybuf, *dybuf;       /* m_max x n_out; NULL when aliased */
  gsl_matrix y, dy;               /* views of the first m rows */
  int aliased;                    /* 1: y and dy are the input node's (PASSTHROUGH) */
  gsl_matrix_float *ybuf32, *dybuf32; /* float32 training: m_max32 x n_out; NULL when aliased */
  gsl_matrix_float y32, dy32;         /* views of their first m rows */
} node_rec;

struct sae_model {
  size_t n_in;
  size_t n, cap;
  node_rec *node;
  int built;
  gsl_vector *theta, *grad;
  signed char *dir;
  size_t m_max;
  gsl_rng *rng; /* not owned */
  int cost_node; /* the first node whose cost term made the last forward's cost non-finite, or -1 */
  char *fresh;   /* n: during backward, 1 while node i's dy holds nothing, not even zeros */
  char *gfresh;  /* n * SAE_MAX_TENSORS: during backward, 1 while a gradient tensor (slot
                    owner * SAE_MAX_TENSORS + k) holds nothing, not even zeros */
  char *fused;   /* n: during backward, 1 once node i's backward ran inside the loss after it
                    (sae_act_fuse) */
  int no_act_fuse; /* 1: never offer sae_act_fuse (sae_model_fuse; tests) */
  /* float32 training (sae_model_f32_alloc): NULL until then */
  gsl_vector_float *theta32, *grad32;
  size_t m_max32;                    /* rows of the float buffers below and of ybuf32 */
  gsl_matrix_float *xbuf32, *tbuf32; /* the batch's x and target, converted */
  gsl_matrix_float x32, t32;         /* views of their first m rows */
  sae_batch batch32;                 /* the batch of the last eval_f32 (nodes point at it) */
  int last_f32;                      /* 1: the last forward ran in float32 */
};

static int is_reg(const node_rec *r) { return r->nd.type->kind == SAE_KIND_REGULARIZER; }
static int is_cost(const node_rec *r) {
  return r->nd.type->kind == SAE_KIND_LOSS || r->nd.type->kind == SAE_KIND_PENALTY;
}
/* Its output is its input (SAE_TYPE_PASSTHROUGH, checked at build). */
static int is_pass(const node_rec *r) { return (r->nd.type->flags & SAE_TYPE_PASSTHROUGH) != 0; }
/* Its output is an argmin with its own energy as cost (SAE_TYPE_ARGMIN). */
static int is_argmin(const node_rec *r) { return (r->nd.type->flags & SAE_TYPE_ARGMIN) != 0; }

/* A loss or penalty fed, through any chain of nodes, by an argmin code would
 * send a gradient into the argmin, which its backward cannot give (it would
 * need implicit differentiation): refused at build, naming both nodes. */
static int check_argmin_downstream(const sae_model *m, sae_error *e) {
  for (size_t i = 0; i < m->n; i++) {
    const node_rec *r = &m->node[i];
    if (!is_cost(r)) continue;
    for (int j = r->input; j >= 0; j = m->node[j].input)
      if (is_argmin(&m->node[j]))
        return sae_error_set(e, SAE_ETYPE,
                             "%s (%s) is downstream of %s (%s), whose code is an argmin: no loss "
                             "or penalty may train through it (it has its own energy; "
                             "reconstruct outside the model)",
                             r->name, r->nd.type->name, m->node[j].name, m->node[j].nd.type->name);
  }
  return 0;
}

sae_model *sae_model_alloc(size_t n_in) {
  if (n_in == 0) return NULL;
  sae_model *m = calloc(1, sizeof *m);
  if (m) {
    m->n_in = n_in;
    m->cost_node = -1;
  }
  return m;
}

void sae_model_free(sae_model *m) {
  if (!m) return;
  for (size_t i = 0; i < m->n; i++) {
    node_rec *r = &m->node[i];
    free(r->name);
    free(r->tie_tname);
    free(r->hp);
    free(r->nd.state);
    free(r->nd.ws);
    gsl_matrix_free(r->ybuf);
    gsl_matrix_free(r->dybuf);
    gsl_matrix_float_free(r->ybuf32);
    gsl_matrix_float_free(r->dybuf32);
  }
  gsl_vector_float_free(m->theta32);
  gsl_vector_float_free(m->grad32);
  gsl_matrix_float_free(m->xbuf32);
  gsl_matrix_float_free(m->tbuf32);
  free(m->node);
  free(m->fresh);
  free(m->fused);
  free(m->gfresh);
  gsl_vector_free(m->theta);
  gsl_vector_free(m->grad);
  free(m->dir);
  free(m);
}

int sae_model_find(const sae_model *m, const char *name) {
  for (size_t i = 0; i < m->n; i++)
    if (strcmp(m->node[i].name, name) == 0) return (int)i;
  return -1;
}

/* The node feeding a new one by default: the last non-regularizer, or -1. */
static int last_flow_node(const sae_model *m) {
  for (size_t i = m->n; i-- > 0;)
    if (!is_reg(&m->node[i])) return (int)i;
  return -1;
}

static int resolve(const sae_model *m, const char *what, const char *ref, int *idx,
                   sae_error *e) {
  if (strcmp(ref, "input") == 0 && strcmp(what, "input") == 0) {
    *idx = -1;
    return 0;
  }
  int j = sae_model_find(m, ref);
  if (j < 0)
    return sae_error_set(e, SAE_ETYPE, "%s = \"%s\": no earlier node has that name", what, ref);
  if (is_reg(&m->node[j]))
    return sae_error_set(e, SAE_ETYPE, "%s = \"%s\": a regularizer has no output", what, ref);
  *idx = j;
  return 0;
}

static int check_hp(const sae_type *t, const sae_hparam *h, double v, sae_error *e) {
  if (!isfinite(v) || v < h->min || v > h->max)
    return sae_error_set(e, SAE_EHPARAM, "%s: %s = %g is outside [%g, %g] (%s)", t->name,
                         h->name, v, h->min, h->max, h->doc ? h->doc : "");
  if ((h->flags & SAE_HP_INT) && v != floor(v))
    return sae_error_set(e, SAE_EHPARAM, "%s: %s = %g must be a whole number", t->name,
                         h->name, v);
  return 0;
}

static int unknown_hp(const sae_type *t, const char *name, sae_error *e) {
  char known[256] = "";
  size_t n = sae_type_hparam_count(t), len = 0;
  for (size_t i = 0; i < n && len < sizeof known; i++)
    len += (size_t)snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "",
                            t->hparams[i].name);
  return sae_error_set(e, SAE_EHPARAM, "%s: unknown hyper-parameter '%s' (known: %s)", t->name,
                       name, n ? known : "none");
}

int sae_model_add(sae_model *m, const sae_type *t, const char *name, const char *input,
                  const char *tie, const char *share, size_t n_hp,
                  const char *const *hp_names, const double *hp_values, sae_error *e) {
  if (m->built) return sae_error_set(e, SAE_ESTATE, "cannot add a node after build()");
  char auto_name[64];
  if (!name) {
    snprintf(auto_name, sizeof auto_name, "%s_%zu", t->name, m->n + 1);
    name = auto_name;
  }
  if (sae_model_find(m, name) >= 0)
    return sae_error_set(e, SAE_ETYPE, "a node named \"%s\" already exists", name);
  if (t->kind == SAE_KIND_REGULARIZER && (input || tie || share))
    return sae_error_set(e, SAE_ETYPE, "%s: a regularizer takes no input, tie or share", t->name);

  int in = last_flow_node(m), ti = -1, sh = -1, rc;
  if (input && (rc = resolve(m, "input", input, &in, e))) return rc;
  char *tname = NULL;
  if (tie) {
    const char *dot = strchr(tie, '.');
    char node_part[128];
    snprintf(node_part, sizeof node_part, "%.*s", dot ? (int)(dot - tie) : (int)strlen(tie), tie);
    if ((rc = resolve(m, "tie", node_part, &ti, e))) return rc;
    if (dot && !(tname = strdup(dot + 1)))
      return sae_error_set(e, SAE_ENOMEM, "out of memory");
  }
  if (share && (rc = resolve(m, "share", share, &sh, e))) {
    free(tname);
    return rc;
  }

  size_t nh = sae_type_hparam_count(t);
  double *hp = malloc((nh ? nh : 1) * sizeof *hp);
  if (!hp) {
    free(tname);
    return sae_error_set(e, SAE_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < nh; i++) hp[i] = t->hparams[i].def;
  for (size_t k = 0; k < n_hp; k++) {
    int j = sae_type_hparam_index(t, hp_names[k]);
    rc = j < 0 ? unknown_hp(t, hp_names[k], e) : check_hp(t, &t->hparams[j], hp_values[k], e);
    if (rc) {
      free(hp);
      free(tname);
      return rc;
    }
    hp[j] = hp_values[k];
  }

  if (m->n == m->cap) {
    size_t cap = m->cap ? 2 * m->cap : 8;
    node_rec *nn = realloc(m->node, cap * sizeof *nn);
    if (!nn) {
      free(hp);
      free(tname);
      return sae_error_set(e, SAE_ENOMEM, "out of memory");
    }
    m->node = nn;
    m->cap = cap;
  }
  node_rec *r = &m->node[m->n];
  memset(r, 0, sizeof *r);
  if (!(r->name = strdup(name))) {
    free(hp);
    free(tname);
    return sae_error_set(e, SAE_ENOMEM, "out of memory");
  }
  r->nd.type = t;
  r->nd.hp = r->hp = hp;
  r->input = t->kind == SAE_KIND_REGULARIZER ? NO_NODE : in;
  r->tie = ti;
  r->tie_tname = tname;
  r->share = sh;
  m->n++;
  return 0;
}

static int find_tensor(const sae_node *nd, const char *name) {
  for (size_t j = 0; j < nd->n_tensors; j++)
    if (strcmp(nd->tensor[j].name, name) == 0) return (int)j;
  return -1;
}

/* Point tensor j of r at tensor k of owner o (transposed when trans). */
static void alias_tensor(sae_model *m, node_rec *r, size_t j, const node_rec *o, size_t k,
                         int trans) {
  const sae_tensor_spec *s = &o->nd.tensor[k];
  r->nd.param[j] = gsl_matrix_view_array(m->theta->data + o->off[k], s->rows, s->cols).matrix;
  r->nd.grad[j] = gsl_matrix_view_array(m->grad->data + o->off[k], s->rows, s->cols).matrix;
  r->nd.trans[j] = trans;
  r->alias[j] = 1;
  r->off[j] = o->off[k];
  r->gslot[j] = (size_t)(o - m->node) * SAE_MAX_TENSORS + k;
}

/* Decide, before allocation, which tensors of r alias another node's. */
static int plan_aliases(const sae_model *m, node_rec *r, sae_error *e) {
  if (r->tie >= 0) {
    const node_rec *o = &m->node[r->tie];
    int j = 0, k = 0;
    if (r->tie_tname) {
      j = find_tensor(&r->nd, r->tie_tname);
      k = find_tensor(&o->nd, r->tie_tname);
      if (j < 0 || k < 0)
        return sae_error_set(e, SAE_ETYPE, "%s: tie = \"%s.%s\": no tensor named %s in both nodes",
                             r->name, o->name, r->tie_tname, r->tie_tname);
    } else if (r->nd.n_tensors == 0 || o->nd.n_tensors == 0) {
      return sae_error_set(e, SAE_ETYPE, "%s: tie = \"%s\": both nodes need learned tensors",
                           r->name, o->name);
    }
    const sae_tensor_spec *a = &r->nd.tensor[j], *b = &o->nd.tensor[k];
    if (o->alias[k])
      return sae_error_set(e, SAE_ETYPE, "%s: tie to %s.%s, itself tied: tie to its owner",
                           r->name, o->name, b->name);
    if (a->rows != b->cols || a->cols != b->rows)
      return sae_error_set(e, SAE_ESHAPE,
                           "%s: tie = \"%s\": %s is %zux%zu, the transpose of %s.%s (%zux%zu) is %zux%zu",
                           r->name, o->name, a->name, a->rows, a->cols, o->name, b->name,
                           b->rows, b->cols, b->cols, b->rows);
    r->alias[j] = 1;
    r->off[j] = (size_t)k; /* remembered until views are made */
    r->nd.trans[j] = 1;
  }
  if (r->share >= 0) {
    const node_rec *o = &m->node[r->share];
    size_t matched = 0;
    for (size_t j = 0; j < r->nd.n_tensors; j++) {
      int k = find_tensor(&o->nd, r->nd.tensor[j].name);
      if (k < 0 || r->alias[j]) continue;
      const sae_tensor_spec *a = &r->nd.tensor[j], *b = &o->nd.tensor[k];
      if (a->rows != b->rows || a->cols != b->cols || o->alias[k])
        return sae_error_set(e, SAE_ESHAPE, "%s: share = \"%s\": %s is %zux%zu there, %zux%zu here",
                             r->name, o->name, a->name, b->rows, b->cols, a->rows, a->cols);
      r->alias[j] = 1;
      r->off[j] = (size_t)k;
      r->nd.trans[j] = 0;
      matched++;
    }
    if (!matched)
      return sae_error_set(e, SAE_ETYPE, "%s: share = \"%s\": no tensor names in common",
                           r->name, o->name);
  }
  return 0;
}

/* Draws in row-major order, or column by column when the spec asks
 * (SAE_TENSOR_INIT_BY_COL): the order decides which entry gets which draw. */
static void init_tensor(gsl_matrix *w, const sae_tensor_spec *s, gsl_rng *rng) {
  const int by_col = (s->flags & SAE_TENSOR_INIT_BY_COL) != 0;
  const size_t outer = by_col ? w->size2 : w->size1, inner = by_col ? w->size1 : w->size2;
  for (size_t a = 0; a < outer; a++)
    for (size_t b = 0; b < inner; b++) {
      const size_t i = by_col ? b : a, j = by_col ? a : b;
      double v = 0;
      switch (s->init) {
      case SAE_INIT_ZERO: v = 0; break;
      case SAE_INIT_UNIFORM: v = s->scale * (2 * gsl_rng_uniform(rng) - 1); break;
      case SAE_INIT_NORMAL: v = gsl_ran_gaussian(rng, s->scale); break;
      case SAE_INIT_CONST: v = s->scale; break;
      }
      gsl_matrix_set(w, i, j, v);
    }
}

int sae_model_build(sae_model *m, gsl_rng *rng, sae_error *e) {
  if (m->built) return sae_error_set(e, SAE_ESTATE, "build() called twice");
  if (m->n == 0) return sae_error_set(e, SAE_ESTATE, "the model has no nodes: add some first");
  int rc = check_argmin_downstream(m, e);
  if (rc) return rc;
  size_t total = 0, biggest = 0, most = 0; /* most: the parameters of node biggest */
  for (size_t i = 0; i < m->n; i++) {
    node_rec *r = &m->node[i];
    sae_node *nd = &r->nd;
    nd->n_in = is_reg(r) ? 0 : r->input < 0 ? m->n_in : m->node[r->input].nd.n_out;
    nd->rng = rng;
    nd->msg[0] = '\0';
    if ((rc = nd->type->setup(nd)))
      return sae_error_set(e, rc, "%s (%s): %s", r->name, nd->type->name,
                           nd->msg[0] ? nd->msg : sae_strerror(rc));
    if (nd->n_tensors > SAE_MAX_TENSORS || (!is_reg(r) && nd->n_out == 0))
      return sae_error_set(e, SAE_ETYPE, "%s (%s): setup gave %zu tensors and n_out %zu",
                           r->name, nd->type->name, nd->n_tensors, nd->n_out);
    if (is_pass(r) && (!is_cost(r) || nd->n_out != nd->n_in))
      return sae_error_set(e, SAE_ETYPE, "%s (%s): flagged PASSTHROUGH but %s", r->name,
                           nd->type->name, is_cost(r) ? "n_out differs from n_in"
                                                      : "not a penalty or loss");
    r->aliased = is_pass(r) && r->input >= 0;
    if ((rc = plan_aliases(m, r, e))) return rc;
    size_t own = 0;
    for (size_t j = 0; j < nd->n_tensors; j++) {
      if (r->alias[j]) continue;
      const sae_tensor_spec *t = &nd->tensor[j];
      size_t count;
      /* Sizes that wrap (n_out * n_in * 8 past 2^64) are refused, not
       * allocated short: theta, its gradient and the directions take
       * BUILD_BYTES_PER_PARAM bytes a parameter. */
      if (__builtin_mul_overflow(t->rows, t->cols, &count) ||
          __builtin_add_overflow(own, count, &own) ||
          __builtin_add_overflow(total, count, &total) || total > SIZE_MAX / BUILD_BYTES_PER_PARAM)
        return sae_error_set(e, SAE_ENOMEM,
                             "the parameters of '%s' (%s: %zu x %zu) need more than 2^64 bytes "
                             "(the size overflows)", r->name, t->name, t->rows, t->cols);
      r->off[j] = total - count;
    }
    if (own > most) {
      most = own;
      biggest = i;
    }
    if (nd->type->state_size && !(nd->state = calloc(1, nd->type->state_size)))
      return sae_error_set(e, SAE_ENOMEM, "cannot allocate %zu bytes for the state of '%s' "
                           "(out of memory)", nd->type->state_size, r->name);
  }
  size_t alloc = total ? total : 1;
  if (!(m->theta = gsl_vector_calloc(alloc)) || !(m->grad = gsl_vector_calloc(alloc)) ||
      !(m->dir = calloc(alloc, 1)) || !(m->fresh = calloc(m->n, 1)) ||
      !(m->fused = calloc(m->n, 1)) || !(m->gfresh = calloc(m->n, SAE_MAX_TENSORS))) {
    gsl_vector_free(m->theta);
    gsl_vector_free(m->grad);
    free(m->dir);
    free(m->fresh);
    free(m->fused); /* gfresh is the last: it failed */
    m->dir = NULL;
    m->fresh = m->fused = NULL;
    m->theta = m->grad = NULL; /* unbuilt again: nothing half-made stays */
    if (most == total)
      return sae_error_set(e, SAE_ENOMEM, "cannot allocate %zu bytes for the parameters of '%s' "
                           "(%zu, with their gradient; out of memory)",
                           alloc * BUILD_BYTES_PER_PARAM, m->node[biggest].name, total);
    return sae_error_set(e, SAE_ENOMEM, "cannot allocate %zu bytes for the parameters (%zu, with "
                         "their gradient; %zu of them in '%s'; out of memory)",
                         alloc * BUILD_BYTES_PER_PARAM, total, most, m->node[biggest].name);
  }
  if (!total) m->theta->size = m->grad->size = 0; /* a model with no parameters */

  for (size_t i = 0; i < m->n; i++) {
    node_rec *r = &m->node[i];
    sae_node *nd = &r->nd;
    for (size_t j = 0; j < nd->n_tensors; j++) {
      if (r->alias[j]) {
        const node_rec *o = &m->node[r->tie >= 0 && nd->trans[j] ? r->tie : r->share];
        alias_tensor(m, r, j, o, r->off[j], nd->trans[j]);
        continue;
      }
      const sae_tensor_spec *s = &nd->tensor[j];
      nd->param[j] = gsl_matrix_view_array(m->theta->data + r->off[j], s->rows, s->cols).matrix;
      nd->grad[j] = gsl_matrix_view_array(m->grad->data + r->off[j], s->rows, s->cols).matrix;
      r->gslot[j] = i * SAE_MAX_TENSORS + j;
      init_tensor(&nd->param[j], s, rng);
      signed char d = (s->flags & SAE_TENSOR_NOGRAD) ? 0 : (s->flags & SAE_TENSOR_ASCENT) ? -1 : 1;
      memset(m->dir + r->off[j], d, s->rows * s->cols);
    }
  }
  for (size_t i = 0; i < m->n; i++) {
    sae_node *nd = &m->node[i].nd;
    if (nd->type->init && (rc = nd->type->init(nd)))
      return sae_error_set(e, rc, "%s (%s) init: %s", m->node[i].name, nd->type->name, nd->msg);
  }
  m->rng = rng;
  m->built = 1;
  return 0;
}

static size_t mat_bytes(const gsl_matrix *a) { return a ? a->size1 * a->size2 * sizeof(double) : 0; }
static size_t matf_bytes(const gsl_matrix_float *a) {
  return a ? a->size1 * a->size2 * sizeof(float) : 0;
}

size_t sae_model_heap_bytes(const sae_model *m) {
  size_t b = 0;
  if (m->theta) b += 2 * m->theta->size * sizeof(double); /* theta and grad */
  if (m->theta32) b += 2 * m->theta32->size * sizeof(float);
  b += matf_bytes(m->xbuf32) + matf_bytes(m->tbuf32);
  for (size_t i = 0; i < m->n; i++) {
    const node_rec *r = &m->node[i];
    b += mat_bytes(r->ybuf) + mat_bytes(r->dybuf) + matf_bytes(r->ybuf32) + matf_bytes(r->dybuf32);
    if (r->nd.ws) b += (m->m_max * r->nd.ws_per_example + r->nd.ws_fixed) * sizeof(double);
  }
  return b;
}

/* Grow per-node buffers to hold batches of mb rows (outside the hot loop:
 * only when a larger batch than ever before arrives), and set the views. */
static int reserve(sae_model *m, size_t mb, sae_error *e) {
  if (mb > m->m_max) {
    for (size_t i = 0; i < m->n; i++) {
      node_rec *r = &m->node[i];
      if (is_reg(r)) continue;
      /* y and dy (mb x n_out each) and the workspace, sizes checked for
       * wrapping before anything is allocated */
      size_t ny, nws, bytes;
      if (__builtin_mul_overflow(mb, r->nd.n_out, &ny) ||
          __builtin_mul_overflow(mb, r->nd.ws_per_example, &nws) ||
          __builtin_add_overflow(nws, r->nd.ws_fixed, &nws) ||
          __builtin_mul_overflow(ny, 2, &bytes) || __builtin_add_overflow(bytes, nws, &bytes) ||
          __builtin_mul_overflow(bytes, sizeof(double), &bytes))
        return sae_error_set(e, SAE_ENOMEM, "the outputs and workspace of '%s' for a batch of "
                             "%zu rows need more than 2^64 bytes (the size overflows)",
                             r->name, mb);
      gsl_matrix *y = NULL, *dy = NULL;
      double *ws = NULL;
      if (!r->aliased) {
        y = gsl_matrix_alloc(mb, r->nd.n_out);
        dy = y ? gsl_matrix_alloc(mb, r->nd.n_out) : NULL;
      }
      if ((!r->aliased && (!y || !dy)) || (nws && !(ws = malloc(nws * sizeof *ws)))) {
        gsl_matrix_free(y);
        gsl_matrix_free(dy);
        return sae_error_set(e, SAE_ENOMEM, "cannot allocate %zu bytes for the outputs and "
                             "workspace of '%s' for a batch of %zu rows (out of memory)",
                             bytes, r->name, mb);
      }
      gsl_matrix_free(r->ybuf);
      gsl_matrix_free(r->dybuf);
      free(r->nd.ws);
      r->ybuf = y;
      r->dybuf = dy;
      r->nd.ws = ws;
    }
    m->m_max = mb;
  }
  for (size_t i = 0; i < m->n; i++) {
    node_rec *r = &m->node[i];
    if (is_reg(r)) continue;
    if (r->aliased) { /* the input node's, set above (inputs come first) */
      r->y = m->node[r->input].y;
      r->dy = m->node[r->input].dy;
      continue;
    }
    r->y = gsl_matrix_submatrix(r->ybuf, 0, 0, mb, r->nd.n_out).matrix;
    r->dy = gsl_matrix_submatrix(r->dybuf, 0, 0, mb, r->nd.n_out).matrix;
  }
  return 0;
}

static int node_fail(const node_rec *r, int rc, const char *what, sae_error *e) {
  return sae_error_set(e, rc, "%s (%s) %s: %s", r->name, r->nd.type->name, what,
                       r->nd.msg[0] ? r->nd.msg : sae_strerror(rc));
}

static int check_batch(const sae_model *m, const sae_batch *b, sae_error *e) {
  if (!m->built) return sae_error_set(e, SAE_ESTATE, "the model is not built: call build() first");
  if (!b->x || b->m == 0 || b->x->size1 != b->m)
    return sae_error_set(e, SAE_ESHAPE, "empty batch or x rows differ from m");
  if (b->x->size2 != m->n_in)
    return sae_error_set(e, SAE_ESHAPE, "input has %zu columns, the model expects %zu",
                         b->x->size2, m->n_in);
  if (b->target && b->target->size1 != b->m)
    return sae_error_set(e, SAE_ESHAPE, "target has %zu rows, input has %zu", b->target->size1,
                         b->m);
  return 0;
}

static int needs_ok(const node_rec *r, const sae_batch *b, sae_error *e) {
  unsigned f = r->nd.type->flags;
  if ((f & SAE_TYPE_LABELS) && !b->labels)
    return sae_error_set(e, SAE_ELABELS, "%s (%s) needs labels: pass labels = {...}", r->name,
                         r->nd.type->name);
  if ((f & SAE_TYPE_TARGET) && !b->target)
    return sae_error_set(e, SAE_ESHAPE, "%s (%s) needs a target", r->name, r->nd.type->name);
  return 0;
}

static int regularize(sae_model *m, int with_grad, double *cost, sae_error *e) {
  for (size_t i = 0; i < m->n; i++) {
    node_rec *g = &m->node[i];
    if (!is_reg(g)) continue;
    for (size_t k = 0; k < m->n; k++) {
      node_rec *r = &m->node[k];
      for (size_t j = 0; j < r->nd.n_tensors; j++) {
        if (r->alias[j] || !(r->nd.tensor[j].flags & SAE_TENSOR_DECAY)) continue;
        double c = 0;
        int rc = g->nd.type->regularize(&g->nd, &r->nd.param[j], with_grad ? &r->nd.grad[j] : NULL, &c);
        if (rc) return node_fail(g, rc, "regularize", e);
        *cost += c;
        if (!with_grad && !isfinite(*cost) && m->cost_node < 0) m->cost_node = (int)i;
      }
    }
  }
  return 0;
}

/* The forward executor: node r on its input (the model's, or the feeding
 * node's output) in the pass's precision.  A PASSTHROUGH node reading the
 * model input gets the copy it does not make. */
static int run_forward(sae_model *m, node_rec *r, const sae_batch *b, int f32, double *c) {
  if (f32) {
    const gsl_matrix_float *x = r->input < 0 ? b->x32 : &m->node[r->input].y32;
    if (is_pass(r) && !r->aliased) gsl_matrix_float_memcpy(&r->y32, x);
    return r->nd.type->forward_f32(&r->nd, x, &r->y32, c);
  }
  const gsl_matrix *x = r->input < 0 ? b->x : &m->node[r->input].y;
  if (is_pass(r) && !r->aliased) gsl_matrix_memcpy(&r->y, x);
  return r->nd.type->forward(&r->nd, x, &r->y, c);
}

/* Forward through nodes 0..upto (in float32 when f32: buffers reserved and
 * b->x32 set by the caller; no regularizer, sae_model_f32_check refused
 * them). */
static int forward_to(sae_model *m, const sae_batch *b, size_t upto, int f32, double *cost,
                      sae_error *e) {
  int rc;
  if (!f32 && ((rc = check_batch(m, b, e)) || (rc = reserve(m, b->m, e)))) return rc;
  double c = 0;
  m->cost_node = -1;
  m->last_f32 = f32;
  for (size_t i = 0; i <= upto && i < m->n; i++) {
    node_rec *r = &m->node[i];
    if (is_reg(r)) continue;
    if ((rc = needs_ok(r, b, e))) return rc;
    r->nd.batch = b;
    r->nd.msg[0] = '\0';
    if ((rc = run_forward(m, r, b, f32, &c))) return node_fail(r, rc, "forward", e);
    if (!isfinite(c) && m->cost_node < 0) m->cost_node = (int)i; /* one test per node */
  }
  if (!f32 && upto + 1 >= m->n && (rc = regularize(m, 0, &c, e))) return rc;
  *cost = c;
  return 0;
}

int sae_model_forward(sae_model *m, const sae_batch *b, double *cost, sae_error *e) {
  return forward_to(m, b, m->n ? m->n - 1 : 0, 0, cost, e);
}

int sae_model_encode(sae_model *m, const sae_batch *b, size_t upto, const gsl_matrix **out,
                     sae_error *e) {
  if (upto >= m->n || is_reg(&m->node[upto]))
    return sae_error_set(e, SAE_ETYPE, "encode: node %zu has no output", upto + 1);
  sae_batch eb = *b;
  eb.mode = SAE_MODE_EVAL;
  double c;
  int rc = forward_to(m, &eb, upto, 0, &c, e);
  if (!rc) *out = &m->node[upto].y;
  return rc;
}

/* a = 0: one memset per row, or one for the whole matrix when its rows are
 * contiguous (gsl_matrix_set_zero stores element by element). */
static void zero_matrix(gsl_matrix *a) {
  if (a->size1 == 0 || a->size2 == 0) return;
  if (a->tda == a->size2) {
    memset(a->data, 0, a->size1 * a->size2 * sizeof *a->data);
    return;
  }
  for (size_t i = 0; i < a->size1; i++) memset(a->data + i * a->tda, 0, a->size2 * sizeof *a->data);
}

/* The same for a float matrix. */
static void zero_matrix_float(gsl_matrix_float *a) {
  if (a->size1 == 0 || a->size2 == 0) return;
  if (a->tda == a->size2) {
    memset(a->data, 0, a->size1 * a->size2 * sizeof *a->data);
    return;
  }
  for (size_t i = 0; i < a->size1; i++) memset(a->data + i * a->tda, 0, a->size2 * sizeof *a->data);
}

/* The zeroing executors: node s's dy, and tensor j's gradient of nd, in the
 * pass's precision. */
static void zero_dy(node_rec *r, int f32) {
  if (f32) zero_matrix_float(&r->dy32);
  else zero_matrix(&r->dy);
}

static void zero_grad(sae_node *nd, size_t j, int f32) {
  if (f32) zero_matrix_float(&nd->grad32[j]);
  else zero_matrix(&nd->grad[j]);
}

/* Before node r's backward: whether it WRITES its gradients (plugin.h,
 * grad_write): its type can (SAE_TYPE_GRAD_WRITE) and it is the first writer,
 * in backward order, of every one of its gradient tensors (own or tied or
 * shared: gfresh).  Otherwise the fresh ones among them are zeroed here and
 * it adds.  Either way they hold something afterwards.  For a 784-1000
 * ksparse layer this saves a memset of 6.3 MB per batch (measured on the
 * ksp branch: about 5 % of a training step). */
static int grads_first_writer(sae_model *m, node_rec *r, int f32) {
  sae_node *nd = &r->nd;
  int write = (nd->type->flags & SAE_TYPE_GRAD_WRITE) && nd->n_tensors > 0;
  for (size_t j = 0; j < nd->n_tensors && write; j++) write = m->gfresh[r->gslot[j]];
  for (size_t j = 0; j < nd->n_tensors; j++) {
    if (!write && m->gfresh[r->gslot[j]]) zero_grad(nd, j, f32);
    m->gfresh[r->gslot[j]] = 0;
  }
  return write;
}

/* The node whose buffer holds node i's dy (an aliased node's is its input's). */
static size_t store(const sae_model *m, size_t i) {
  while (m->node[i].aliased) i = (size_t)m->node[i].input;
  return i;
}

/* The backward executor: node r in the pass's precision.  write: r is the
 * first writer of its dx (the host did not zero it). */
static int run_backward(sae_model *m, node_rec *r, const sae_batch *b, gsl_matrix *dx_in,
                        int write, int f32) {
  if (f32) {
    const gsl_matrix_float *x = r->input < 0 ? b->x32 : &m->node[r->input].y32;
    gsl_matrix_float *dx = r->input < 0 ? NULL : &m->node[r->input].dy32;
    if (is_pass(r) && !r->aliased && dx) gsl_matrix_float_add(dx, &r->dy32);
    return r->nd.type->backward_f32(&r->nd, x, &r->y32, &r->dy32, dx, write);
  }
  const gsl_matrix *x = r->input < 0 ? b->x : &m->node[r->input].y;
  gsl_matrix *dx = r->input < 0 ? dx_in : &m->node[r->input].dy;
  /* PASSTHROUGH adds only its own term: the host passes dy on when dy is not dx */
  if (is_pass(r) && !r->aliased && dx) gsl_matrix_add(dx, &r->dy);
  return write ? r->nd.type->backward_write(&r->nd, x, &r->y, &r->dy, dx)
               : r->nd.type->backward(&r->nd, x, &r->y, &r->dy, dx);
}

/* The fused SGD step offered to node r's backward (plugin.h, sae_step):
 * st (the optimiser's offer, NULL for none) when its type takes one and it
 * writes its gradients -- grad_write: no other node adds to them after it,
 * nor, sharing its tensors, reads them stepped. */
static sae_step *step_offer(const node_rec *r, sae_step *st) {
  return st && r->nd.grad_write && (r->nd.type->flags & SAE_TYPE_FUSED_STEP) ? st : NULL;
}

/* The activation before node r, offered to r's backward_write (plugin.h,
 * sae_act_fuse) in af, or NULL: double only; r's type takes it, r writes its
 * dx (write), its input a is an activation with backward_span, not aliased,
 * with no tensors, whose dy no other node adds to, and whose own dx is wanted
 * (dx_in for the model input).  af->write is a's: it writes its dx when
 * nothing has yet (a has backward_write), adds into dx_in (zeroed). */
static sae_act_fuse *act_offer(const sae_model *m, const node_rec *r, int write,
                               gsl_matrix *dx_in, int f32, sae_act_fuse *af) {
  if (f32 || m->no_act_fuse || !write || r->input < 0 ||
      !(r->nd.type->flags & SAE_TYPE_FUSED_ACT) || !r->nd.type->backward_write)
    return NULL;
  const size_t ai = (size_t)r->input;
  const node_rec *a = &m->node[ai];
  if (a->nd.type->kind != SAE_KIND_ACTIVATION || !a->nd.type->backward_span || a->aliased ||
      a->nd.n_tensors != 0 || !a->nd.type->backward_write)
    return NULL;
  for (size_t j = 0; j < m->n; j++) /* r alone adds into a's dy */
    if (j != (size_t)(r - m->node) && !is_reg(&m->node[j]) && m->node[j].input >= 0 &&
        store(m, (size_t)m->node[j].input) == ai)
      return NULL;
  if (a->input < 0) {
    if (!dx_in) return NULL;
    *af = (sae_act_fuse){a->nd.type->backward_span, dx_in, 0, 0};
  } else {
    node_rec *src = &m->node[a->input];
    *af = (sae_act_fuse){a->nd.type->backward_span, &src->dy,
                         m->fresh[store(m, (size_t)a->input)], 0};
  }
  return af;
}

/* Backward over every node after a forward in the same precision: the plan
 * (who writes first, what the host zeroes) for both.  probe (double only):
 * the last node's dy; dx_in (double only): dJ/dx of the model input; steps
 * (NULL, or one offer per node, NULL for none): the fused SGD step. */
static int backward_pass(sae_model *m, const sae_batch *b, const gsl_matrix *probe,
                         gsl_matrix *dx_in, sae_step *const *steps, int f32, sae_error *e) {
  int rc, last = last_flow_node(m);
  /* The gradient block is not zeroed up front: each tensor's gradient (a
   * tied or shared one is its owner's slot) is fresh (gfresh) until its
   * first writer in backward order, which writes it when its type can
   * (grad_write), else the host zeroes it just before (grads_first_writer). */
  for (size_t i = 0; i < m->n; i++)
    for (size_t j = 0; j < m->node[i].nd.n_tensors; j++)
      if (!m->node[i].alias[j]) m->gfresh[m->node[i].gslot[j]] = 1; /* own: gslot is i, j */
  /* No dy is zeroed up front.  Node i's dy (an aliased node's is its
   * input's: store()) is "fresh" until something is written into it: its
   * first writer in backward order WRITES it when its type has
   * backward_write (in float32 every type has: backward_f32's write), else
   * the host zeroes it just before; a dy nobody wrote is zeroed before its
   * node reads it. */
  for (size_t i = 0; i < m->n; i++) m->fresh[i] = !is_reg(&m->node[i]) && !m->node[i].aliased;
  memset(m->fused, 0, m->n);
  if (probe) {
    gsl_matrix_memcpy(&m->node[last].dy, probe);
    m->fresh[store(m, (size_t)last)] = 0;
  }
  for (size_t i = m->n; i-- > 0;) {
    node_rec *r = &m->node[i];
    if (is_reg(r) || m->fused[i]) continue; /* fused: its backward ran in the loss after it */
    if (!r->aliased && m->fresh[i]) { /* nothing flowed back into it: dy = 0 */
      zero_dy(r, f32);
      m->fresh[i] = 0;
    }
    int write = 0;
    if (r->input >= 0) {
      const size_t s = store(m, (size_t)r->input);
      if (m->fresh[s] && !(write = f32 || r->nd.type->backward_write != NULL))
        zero_dy(&m->node[s], f32);
      m->fresh[s] = 0;
    }
    r->nd.grad_write = grads_first_writer(m, r, f32);
    r->nd.step = step_offer(r, steps ? steps[i] : NULL);
    sae_act_fuse af;
    const sae_act_fuse *offered = r->nd.act = act_offer(m, r, write, dx_in, f32, &af);
    r->nd.msg[0] = '\0';
    rc = run_backward(m, r, b, dx_in, write, f32);
    r->nd.step = NULL;
    r->nd.act = NULL;
    if (rc) return node_fail(r, rc, "backward", e);
    if (offered && af.taken) { /* the activation's backward ran: its dx is written */
      const node_rec *a = &m->node[r->input];
      m->fused[r->input] = 1;
      if (a->input >= 0) m->fresh[store(m, (size_t)a->input)] = 0;
    }
  }
  for (size_t i = 0; i < m->n; i++) /* a regularizer's own tensors, if any: no backward */
    for (size_t j = 0; j < m->node[i].nd.n_tensors; j++)
      if (m->gfresh[m->node[i].gslot[j]]) zero_grad(&m->node[i].nd, j, f32);
  if (f32) return 0; /* no regularizer: sae_model_f32_check */
  double unused = 0;
  return regularize(m, 1, &unused, e);
}

int sae_model_eval_probe(sae_model *m, const sae_batch *b, const gsl_matrix *probe,
                         gsl_matrix *dx_in, double *cost, sae_error *e) {
  int rc = sae_model_forward(m, b, cost, e);
  if (rc) return rc;
  int last = last_flow_node(m);
  if (probe) {
    const gsl_matrix *y = &m->node[last].y;
    if (probe->size1 != y->size1 || probe->size2 != y->size2)
      return sae_error_set(e, SAE_ESHAPE, "probe is %zux%zu, the output %zux%zu", probe->size1,
                           probe->size2, y->size1, y->size2);
    for (size_t i = 0; i < y->size1; i++)
      for (size_t j = 0; j < y->size2; j++)
        *cost += gsl_matrix_get(probe, i, j) * gsl_matrix_get(y, i, j);
  }
  if (dx_in) {
    if (dx_in->size1 != b->m || dx_in->size2 != m->n_in)
      return sae_error_set(e, SAE_ESHAPE, "dx is %zux%zu, the input %zux%zu", dx_in->size1,
                           dx_in->size2, b->m, m->n_in);
    gsl_matrix_set_zero(dx_in);
  }
  return backward_pass(m, b, probe, dx_in, NULL, 0, e);
}

void sae_model_fuse(sae_model *m, int on) { m->no_act_fuse = !on; }

size_t sae_model_act_fused(const sae_model *m) {
  size_t k = 0;
  for (size_t i = 0; m->fused && i < m->n; i++) k += m->fused[i] != 0;
  return k;
}

int sae_model_eval(sae_model *m, const sae_batch *b, double *cost, sae_error *e) {
  return sae_model_eval_probe(m, b, NULL, NULL, cost, e);
}

static int has_regularizer(const sae_model *m) {
  for (size_t i = 0; i < m->n; i++)
    if (is_reg(&m->node[i])) return 1;
  return 0;
}

int sae_model_eval_step(sae_model *m, const sae_batch *b, sae_step *const *steps, double *cost,
                        sae_error *e) {
  int rc = sae_model_forward(m, b, cost, e);
  if (rc) return rc;
  /* No fused step on a non-finite cost (the optimiser then refuses the step
   * untaken) nor with a regularizer (it adds to the gradient after backward). */
  if (!isfinite(*cost) || has_regularizer(m)) steps = NULL;
  return backward_pass(m, b, NULL, NULL, steps, 0, e);
}

int sae_model_decode(sae_model *m, size_t from, const gsl_matrix *z, const gsl_matrix **out,
                     sae_error *e) {
  int rc;
  if (!m->built) return sae_error_set(e, SAE_ESTATE, "the model is not built: call build() first");
  if (from >= m->n || is_reg(&m->node[from]))
    return sae_error_set(e, SAE_ETYPE, "decode: node %zu has no output", from + 1);
  if (z->size2 != m->node[from].nd.n_out)
    return sae_error_set(e, SAE_ESHAPE, "decode: code has %zu columns, %s gives %zu", z->size2,
                         m->node[from].name, m->node[from].nd.n_out);
  if ((rc = reserve(m, z->size1, e))) return rc;
  sae_batch b = {z->size1, NULL, NULL, NULL, SAE_MODE_EVAL, NULL, NULL};
  /* src[i]: where node i's output is in this pass, for the nodes that depend
   * on from (z for from itself; a PASSTHROUGH node's is its input's) */
  const gsl_matrix **src = calloc(m->n, sizeof *src);
  if (!src) return sae_error_set(e, SAE_ENOMEM, "out of memory");
  src[from] = z;
  const gsl_matrix *last = NULL;
  for (size_t i = from + 1; i < m->n && !rc; i++) {
    node_rec *r = &m->node[i];
    if (is_reg(r) || r->input < 0 || !src[r->input]) continue;
    const gsl_matrix *x = src[r->input];
    src[i] = is_pass(r) ? x : &r->y;
    if (r->nd.type->kind == SAE_KIND_LOSS) continue; /* no target when decoding */
    double c = 0; /* penalties run (they pass x on); their cost is not wanted */
    /* y: its own, or for PASSTHROUGH x itself (forward does not write it) */
    gsl_matrix *y = is_pass(r) ? (gsl_matrix *)x : &r->y;
    r->nd.batch = &b;
    r->nd.msg[0] = '\0';
    if ((rc = r->nd.type->forward(&r->nd, x, y, &c))) rc = node_fail(r, rc, "decode", e);
    if (!is_cost(r)) last = &r->y;
  }
  free(src);
  if (rc) return rc;
  if (!last) return sae_error_set(e, SAE_ETYPE, "decode: no layer depends on %s", m->node[from].name);
  *out = last;
  return 0;
}

int sae_model_update(sae_model *m, const sae_batch *b, double eta, int *n_updated,
                     sae_error *e) {
  int count = 0, rc;
  for (size_t i = 0; i < m->n; i++) {
    node_rec *r = &m->node[i];
    if (is_reg(r) || !r->nd.type->update) continue;
    const gsl_matrix *x = r->input < 0 ? b->x : &m->node[r->input].y;
    r->nd.batch = b;
    r->nd.msg[0] = '\0';
    if ((rc = r->nd.type->update(&r->nd, x, &r->y, eta))) return node_fail(r, rc, "update", e);
    count++;
  }
  if (n_updated) *n_updated = count;
  return 0;
}

int sae_model_project(sae_model *m, sae_error *e) {
  int rc;
  for (size_t i = 0; i < m->n; i++) {
    node_rec *r = &m->node[i];
    if (!r->nd.type->project) continue;
    r->nd.msg[0] = '\0';
    if ((rc = r->nd.type->project(&r->nd))) return node_fail(r, rc, "project", e);
  }
  return 0;
}

int sae_model_set_hp(sae_model *m, size_t i, const char *name, double v, sae_error *e) {
  if (i >= m->n) return sae_error_set(e, SAE_ETYPE, "no node %zu", i + 1);
  node_rec *r = &m->node[i];
  const sae_type *t = r->nd.type;
  int j = sae_type_hparam_index(t, name), rc;
  if (j < 0) return unknown_hp(t, name, e);
  if ((rc = check_hp(t, &t->hparams[j], v, e))) return rc;
  if (m->built && (t->hparams[j].flags & SAE_HP_FIXED))
    return sae_error_set(e, SAE_EHPARAM, "%s: %s fixes shapes and cannot change after build()",
                         r->name, name);
  double old = r->hp[j];
  r->hp[j] = v;
  if (m->built && t->retune && (rc = t->retune(&r->nd))) {
    r->hp[j] = old;
    return node_fail(r, rc, "retune", e);
  }
  return 0;
}

double sae_model_get_hp(const sae_model *m, size_t i, const char *name, int *found) {
  int j = i < m->n ? sae_type_hparam_index(m->node[i].nd.type, name) : -1;
  if (found) *found = j >= 0;
  return j >= 0 ? m->node[i].hp[j] : NAN;
}

int sae_model_tensor(sae_model *m, size_t i, const char *tname, gsl_matrix **view, sae_error *e) {
  if (!m->built) return sae_error_set(e, SAE_ESTATE, "the model is not built: call build() first");
  if (i >= m->n) return sae_error_set(e, SAE_ETYPE, "no node %zu", i + 1);
  int j = find_tensor(&m->node[i].nd, tname);
  if (j < 0)
    return sae_error_set(e, SAE_ETYPE, "%s (%s) has no tensor named \"%s\"", m->node[i].name,
                         m->node[i].nd.type->name, tname);
  *view = &m->node[i].nd.param[j];
  return 0;
}

size_t sae_model_n_in(const sae_model *m) { return m->n_in; }
size_t sae_model_nodes(const sae_model *m) { return m->n; }
const sae_node *sae_model_node(const sae_model *m, size_t i) { return &m->node[i].nd; }
const char *sae_model_node_name(const sae_model *m, size_t i) { return m->node[i].name; }
int sae_model_node_input(const sae_model *m, size_t i) { return m->node[i].input; }
int sae_model_node_tie(const sae_model *m, size_t i, const char **tensor) {
  if (tensor) *tensor = m->node[i].tie_tname;
  return m->node[i].tie;
}
int sae_model_node_share(const sae_model *m, size_t i) { return m->node[i].share; }
int sae_model_tensor_is_alias(const sae_model *m, size_t i, size_t j) {
  return i < m->n && j < m->node[i].nd.n_tensors && m->node[i].alias[j];
}
gsl_vector *sae_model_theta(sae_model *m) { return m->theta; }
gsl_vector *sae_model_grad(sae_model *m) { return m->grad; }
const signed char *sae_model_direction(const sae_model *m) { return m->dir; }
const gsl_matrix *sae_model_output(const sae_model *m, size_t i) {
  return i < m->n && m->m_max ? &m->node[i].y : NULL;
}

size_t sae_model_out_node(const sae_model *m) {
  for (size_t i = m->n; i-- > 0;) {
    sae_kind k = m->node[i].nd.type->kind;
    if (k == SAE_KIND_LAYER || k == SAE_KIND_ACTIVATION) return i;
  }
  return 0;
}

int sae_model_has_cost(const sae_model *m) {
  for (size_t i = 0; i < m->n; i++)
    if (is_cost(&m->node[i]) || is_reg(&m->node[i]) || is_argmin(&m->node[i])) return 1;
  return 0;
}

size_t sae_model_last_node(const sae_model *m) {
  int i = last_flow_node(m);
  return i < 0 ? 0 : (size_t)i;
}

/* ---- float32 training (model.h) ---------------------------------------------------- */

int sae_type_has_f32(const sae_type *t) {
  return t->kind != SAE_KIND_REGULARIZER && t->forward_f32 && t->backward_f32 &&
         (!t->update || t->update_f32) && !t->project;
}

int sae_model_f32_check(const sae_model *m, sae_error *e) {
  for (size_t i = 0; i < m->n; i++)
    if (!sae_type_has_f32(m->node[i].nd.type))
      return sae_error_set(e, SAE_ETYPE, "node '%s' (type '%s') has no float32 path",
                           m->node[i].name, m->node[i].nd.type->name);
  return 0;
}

int sae_model_f32_alloc(sae_model *m, sae_error *e) {
  int rc;
  if (!m->built) return sae_error_set(e, SAE_ESTATE, "the model is not built: call build() first");
  if ((rc = sae_model_f32_check(m, e))) return rc;
  if (m->theta32) return 0;
  const size_t n = m->theta->size;
  if (!(m->theta32 = gsl_vector_float_calloc(n ? n : 1)) ||
      !(m->grad32 = gsl_vector_float_calloc(n ? n : 1))) {
    gsl_vector_float_free(m->theta32);
    m->theta32 = NULL;
    return sae_error_set(e, SAE_ENOMEM, "cannot allocate %zu bytes for the float32 copy of the "
                         "%zu parameters and their gradient (out of memory)",
                         2 * n * sizeof(float), n);
  }
  m->theta32->size = m->grad32->size = n;
  /* The float views: the same offsets and shapes as the double ones (an
   * alias's off[] and shape are its owner's, set by alias_tensor). */
  for (size_t i = 0; i < m->n; i++) {
    sae_node *nd = &m->node[i].nd;
    for (size_t j = 0; j < nd->n_tensors; j++) {
      const size_t off = m->node[i].off[j], r = nd->param[j].size1, c = nd->param[j].size2;
      nd->param32[j] = gsl_matrix_float_view_array(m->theta32->data + off, r, c).matrix;
      nd->grad32[j] = gsl_matrix_float_view_array(m->grad32->data + off, r, c).matrix;
    }
  }
  return 0;
}

gsl_vector_float *sae_model_theta32(sae_model *m) { return m->theta32; }
gsl_vector_float *sae_model_grad32(sae_model *m) { return m->grad32; }

void sae_model_f32_load(sae_model *m) {
  for (size_t i = 0; m->theta32 && i < m->theta->size; i++)
    m->theta32->data[i] = (float)m->theta->data[i];
}

void sae_model_f32_store(sae_model *m) {
  for (size_t i = 0; m->theta32 && i < m->theta->size; i++)
    m->theta->data[i] = (double)m->theta32->data[i];
}

/* The float buffers for batches of mb rows (and the double ones: ws is
 * shared), grown outside the hot loop as reserve() does. */
static int reserve32(sae_model *m, size_t mb, sae_error *e) {
  int rc = reserve(m, mb, e);
  if (rc) return rc;
  if (mb > m->m_max32) {
    gsl_matrix_float *x = gsl_matrix_float_alloc(mb, m->n_in);
    gsl_matrix_float *t = NULL;
    size_t nt = 0; /* the widest target a loss compares with: its input width */
    for (size_t i = 0; i < m->n; i++)
      if (m->node[i].nd.type->flags & SAE_TYPE_TARGET && m->node[i].nd.n_in > nt)
        nt = m->node[i].nd.n_in;
    if (x && nt && !(t = gsl_matrix_float_alloc(mb, nt))) {
      gsl_matrix_float_free(x);
      x = NULL;
    }
    if (!x) return sae_error_set(e, SAE_ENOMEM, "cannot allocate the float32 copy of a batch "
                                 "of %zu rows (out of memory)", mb);
    gsl_matrix_float_free(m->xbuf32);
    gsl_matrix_float_free(m->tbuf32);
    m->xbuf32 = x;
    m->tbuf32 = t;
    for (size_t i = 0; i < m->n; i++) {
      node_rec *r = &m->node[i];
      if (is_reg(r) || r->aliased) continue;
      gsl_matrix_float *y = gsl_matrix_float_alloc(mb, r->nd.n_out);
      gsl_matrix_float *dy = y ? gsl_matrix_float_alloc(mb, r->nd.n_out) : NULL;
      if (!dy) {
        gsl_matrix_float_free(y);
        return sae_error_set(e, SAE_ENOMEM, "cannot allocate the float32 outputs of '%s' for a "
                             "batch of %zu rows (out of memory)", r->name, mb);
      }
      gsl_matrix_float_free(r->ybuf32);
      gsl_matrix_float_free(r->dybuf32);
      r->ybuf32 = y;
      r->dybuf32 = dy;
    }
    m->m_max32 = mb;
  }
  m->x32 = gsl_matrix_float_submatrix(m->xbuf32, 0, 0, mb, m->n_in).matrix;
  for (size_t i = 0; i < m->n; i++) {
    node_rec *r = &m->node[i];
    if (is_reg(r)) continue;
    if (r->aliased) { /* the input node's, set above (inputs come first) */
      r->y32 = m->node[r->input].y32;
      r->dy32 = m->node[r->input].dy32;
      continue;
    }
    r->y32 = gsl_matrix_float_submatrix(r->ybuf32, 0, 0, mb, r->nd.n_out).matrix;
    r->dy32 = gsl_matrix_float_submatrix(r->dybuf32, 0, 0, mb, r->nd.n_out).matrix;
  }
  return 0;
}

/* out = (float)a, element by element (a's shape is out's). */
static void to_float(const gsl_matrix *a, gsl_matrix_float *out) {
  for (size_t i = 0; i < a->size1; i++) {
    const double *ai = a->data + i * a->tda;
    float *oi = out->data + i * out->tda;
    for (size_t j = 0; j < a->size2; j++) oi[j] = (float)ai[j];
  }
}

int sae_model_eval_f32(sae_model *m, const sae_batch *b, double *cost, sae_error *e) {
  return sae_model_eval_f32_step(m, b, NULL, cost, e);
}

int sae_model_eval_f32_step(sae_model *m, const sae_batch *b, sae_step *const *steps,
                            double *cost, sae_error *e) {
  int rc;
  if ((rc = check_batch(m, b, e))) return rc;
  if (!m->theta32)
    return sae_error_set(e, SAE_ESTATE, "float32 evaluation before sae_model_f32_alloc");
  if ((rc = reserve32(m, b->m, e))) return rc;
  /* b's own x32 and target32 are not read: callers fill sae_batch field by
   * field, and one written before the fields existed leaves them garbage */
  sae_batch *fb = &m->batch32;
  *fb = *b;
  to_float(b->x, &m->x32);
  fb->x32 = &m->x32;
  fb->target32 = NULL;
  if (b->target) {
    if (b->target == b->x) { /* an autoencoder: the same numbers, converted once */
      fb->target32 = fb->x32;
    } else if (m->tbuf32) { /* without it no node reads a target: none is converted */
      if (b->target->size2 > m->tbuf32->size2)
        return sae_error_set(e, SAE_ESHAPE, "target has %zu columns, no loss compares with as "
                             "many", b->target->size2);
      m->t32 = gsl_matrix_float_submatrix(m->tbuf32, 0, 0, b->m, b->target->size2).matrix;
      to_float(b->target, &m->t32);
      fb->target32 = &m->t32;
    }
  }
  if ((rc = forward_to(m, fb, m->n - 1, 1, cost, e))) return rc;
  /* no regularizer here (sae_model_f32_check); a non-finite cost: no fused step */
  return backward_pass(m, fb, NULL, NULL, isfinite(*cost) ? steps : NULL, 1, e);
}

int sae_model_update_f32(sae_model *m, double eta, int *n_updated, sae_error *e) {
  int count = 0, rc;
  const sae_batch *b = &m->batch32;
  for (size_t i = 0; i < m->n; i++) {
    node_rec *r = &m->node[i];
    if (is_reg(r) || !r->nd.type->update) continue;
    const gsl_matrix_float *x = r->input < 0 ? b->x32 : &m->node[r->input].y32;
    r->nd.batch = b;
    r->nd.msg[0] = '\0';
    if ((rc = r->nd.type->update_f32(&r->nd, x, &r->y32, eta))) return node_fail(r, rc, "update", e);
    count++;
  }
  if (n_updated) *n_updated = count;
  return 0;
}

const gsl_matrix_float *sae_model_output32(const sae_model *m, size_t i) {
  return i < m->n && m->m_max32 ? &m->node[i].y32 : NULL;
}

/* ---- finding a non-finite number (only once something is known to be) ---- */

static const char *nf_name(double v) { return isnan(v) ? "NaN" : v > 0 ? "Inf" : "-Inf"; }

/* A matrix of either precision, for the search below (after a float32
 * step the float buffers hold the numbers). */
typedef struct nf_mat {
  const double *d;
  const float *f;
  size_t size1, size2, tda;
} nf_mat;

static nf_mat nf_of(const gsl_matrix *a) { return (nf_mat){a->data, NULL, a->size1, a->size2, a->tda}; }
static nf_mat nf_of32(const gsl_matrix_float *a) {
  return (nf_mat){NULL, a->data, a->size1, a->size2, a->tda};
}
static double nf_get(nf_mat a, size_t i, size_t j) {
  return a.d ? a.d[i * a.tda + j] : (double)a.f[i * a.tda + j];
}

/* The first non-finite entry of a, row-major: 1 and (*r, *c), else 0. */
static int nf_find(nf_mat a, size_t *r, size_t *c) {
  for (size_t i = 0; i < a.size1; i++)
    for (size_t j = 0; j < a.size2; j++)
      if (!isfinite(nf_get(a, i, j))) {
        *r = i;
        *c = j;
        return 1;
      }
  return 0;
}

int sae_model_find_nonfinite(const sae_model *m, sae_error *e) {
  size_t r, c;
  if (!m->built) return 0;
  const int f32 = m->last_f32; /* search the buffers of the last pass */
  /* The data first: a NaN in X is no node's doing.  nd.batch is the batch
   * of the last forward, which the caller (a step) still holds. */
  for (size_t i = 0; m->m_max && i < m->n; i++) {
    const node_rec *n = &m->node[i];
    if (n->input >= 0 || !n->nd.batch || !n->nd.batch->x) continue;
    const nf_mat x = f32 ? nf_of32(n->nd.batch->x32) : nf_of(n->nd.batch->x);
    if (nf_find(x, &r, &c))
      return sae_error_set(e, SAE_ENUMERIC, "the input has %s (row %zu, column %zu)",
                           nf_name(nf_get(x, r, c)), r + 1, c + 1);
    break;
  }
  /* Outputs in forward order: the first node that produced one (the nodes
   * after it only pass it on). */
  for (size_t i = 0; m->m_max && i < m->n; i++) {
    const node_rec *n = &m->node[i];
    if (is_reg(n)) continue;
    const nf_mat y = f32 ? nf_of32(&n->y32) : nf_of(&n->y);
    if (nf_find(y, &r, &c))
      return sae_error_set(e, SAE_ENUMERIC, "node '%s' output has %s (row %zu, column %zu)",
                           n->name, nf_name(nf_get(y, r, c)), r + 1, c + 1);
  }
  if (m->cost_node >= 0)
    return sae_error_set(e, SAE_ENUMERIC, "node '%s' (%s) made the cost non-finite",
                         m->node[m->cost_node].name, m->node[m->cost_node].nd.type->name);
  /* Gradients in backward order (last node first): where backward first
   * produced one.  Owned tensors only (a tie's gradient is its owner's);
   * NOGRAD tensors are never stepped, so theirs does no harm. */
  for (size_t i = m->n; i-- > 0;) {
    const node_rec *n = &m->node[i];
    for (size_t j = 0; j < n->nd.n_tensors; j++) {
      if (n->alias[j] || (n->nd.tensor[j].flags & SAE_TENSOR_NOGRAD)) continue;
      const nf_mat g = f32 ? nf_of32(&n->nd.grad32[j]) : nf_of(&n->nd.grad[j]);
      if (nf_find(g, &r, &c))
        return sae_error_set(e, SAE_ENUMERIC, "gradient of '%s.%s' has %s (row %zu, column %zu)",
                             n->name, n->nd.tensor[j].name, nf_name(nf_get(g, r, c)), r + 1,
                             c + 1);
    }
  }
  /* Finite gradients, yet a step overflowed a parameter. */
  for (size_t i = 0; i < m->n; i++) {
    const node_rec *n = &m->node[i];
    for (size_t j = 0; j < n->nd.n_tensors; j++) {
      if (n->alias[j]) continue;
      const nf_mat p = f32 ? nf_of32(&n->nd.param32[j]) : nf_of(&n->nd.param[j]);
      if (nf_find(p, &r, &c))
        return sae_error_set(e, SAE_ENUMERIC, "parameter '%s.%s' is %s (row %zu, column %zu)",
                             n->name, n->nd.tensor[j].name, nf_name(nf_get(p, r, c)), r + 1,
                             c + 1);
    }
  }
  return 0;
}
