/*
 * saelab/plugin.h -- the plugin ABI: the one header a saelab plugin includes.
 *
 * A plugin is a shared object exporting one function,
 *
 *     const sae_plugin *saelab_plugin(uint32_t host_abi);
 *
 * that returns a pointer to a `static const` descriptor (or NULL to decline a
 * host ABI it does not support).  The descriptor lists the *types* the plugin
 * provides: layers, activations, penalties, losses and regularizers.  A model
 * is a list of *nodes*, each an instance of a type, built and owned by the host.
 *
 * Conventions, for every type:
 *   - Matrices hold one example per ROW: a batch x is m x n_in.
 *   - Weights store one unit per ROW: a layer's W is n_out x n_in, row j the
 *     weights of unit j (its filter, or a dictionary atom), so y = x W^T + b.
 *     A filter grid draws the rows of any type's W as they are; a tied
 *     decoder (W2 = W1^T) uses the encoder's W transposed (trans[], below).
 *   - The host owns all memory.  Parameters of the whole model live in one
 *     contiguous block, their gradients in a second block of the same layout;
 *     a node sees its tensors as gsl_matrix views into them (param[i],
 *     grad[i]).  Workspace (ws) and state are allocated by the host from the
 *     sizes the type declares.  Nothing is allocated in forward/backward.
 *   - Gradients ACCUMULATE: backward adds into dx and into grad[i]; the host
 *     zeroes them first.  (Tied and shared weights, and branches, need that.)
 *     Except the first writer, which may write instead: of a dx, through
 *     backward_write; of its gradients, when its type is flagged
 *     SAE_TYPE_GRAD_WRITE and the host sets sae_node.grad_write.
 *   - Functions return 0 on success, or an error code (SAE_E*, or a GSL code)
 *     after writing a one-line reason into nd->msg.  They never print and never
 *     exit.
 *   - Randomness comes only from nd->rng, the host's seeded generator.
 *   - No globals: everything a node needs is in sae_node.
 *
 * The ABI grows by appending fields: the descriptor records sizeof(sae_plugin)
 * and sizeof(sae_type) as the plugin saw them; the host reads no field beyond.
 * Any other change bumps SAE_PLUGIN_ABI.  doc/design.md maps every planned
 * method (KL, L1, top-k, Arora, LISTA/DrSAE, group sparsity, lateral
 * inhibition, TopK/BatchTopK) onto this header; doc/plugin-guide.md is the
 * tutorial.
 */
#ifndef SAELAB_PLUGIN_H
#define SAELAB_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_matrix_float.h>
#include <gsl/gsl_rng.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SAE_PLUGIN_ABI 1u
#define SAE_PLUGIN_SYMBOL "saelab_plugin"
#define SAE_MAX_TENSORS 8
#define SAE_MSG_SIZE 256

/* Error codes.  0 is success; GSL's codes (1..1024) pass through unchanged;
 * saelab's own start above GSL's reserved range. */
enum {
  SAE_OK = 0,
  SAE_EHPARAM = 1025, /* a hyper-parameter is unknown or out of range */
  SAE_ESHAPE,         /* matrix shapes do not fit together */
  SAE_ETYPE,          /* unknown type, or a type used where it cannot be */
  SAE_EPLUGIN,        /* a plugin was refused */
  SAE_EDATA,          /* the data (file or values) is not what was expected */
  SAE_EIO,            /* reading or writing a file failed */
  SAE_ENOMEM,         /* out of memory */
  SAE_ESTATE,         /* called at the wrong time (e.g. before build) */
  SAE_ENUMERIC,       /* a non-finite value appeared */
  SAE_ELABELS         /* the type needs labels and the batch has none */
};

/* What a type is, for people (`saelab plugins`) and for the host. */
typedef enum sae_kind {
  SAE_KIND_LAYER = 1,  /* y = f(x; theta): dense, recurrent encoders, ...  */
  SAE_KIND_ACTIVATION, /* y = f(x) elementwise or per example: sigmoid, top-k */
  SAE_KIND_PENALTY,    /* y = x; cost += P(x): KL, L1, group sparsity */
  SAE_KIND_LOSS,       /* y = x; cost += L(x, target or labels) */
  SAE_KIND_REGULARIZER /* cost += R(W) over every tensor flagged DECAY */
} sae_kind;

/* Hyper-parameter table entry; a type lists them {NULL}-terminated. */
#define SAE_HP_INT 0x1u   /* must be a whole number */
#define SAE_HP_FIXED 0x2u /* shapes depend on it: settable only at creation */
typedef struct sae_hparam {
  const char *name;
  double def, min, max; /* default and closed range [min, max] */
  unsigned flags;       /* SAE_HP_* */
  const char *doc;      /* one line, with the paper's symbol where it has one */
} sae_hparam;

/* How the host initialises a tensor before the type's own init() (if any). */
typedef enum sae_init {
  SAE_INIT_ZERO = 0,
  SAE_INIT_UNIFORM, /* U(-scale, +scale) */
  SAE_INIT_NORMAL,  /* N(0, scale^2) */
  SAE_INIT_CONST    /* every entry = scale */
} sae_init;

#define SAE_TENSOR_DECAY 0x1u  /* regularizers (weight decay) apply to it */
#define SAE_TENSOR_ASCENT 0x2u /* optimisers climb its gradient (lateral inhibition's S) */
#define SAE_TENSOR_NOGRAD 0x4u /* learned by the type's update(), not by optimisers */
#define SAE_TENSOR_INIT_BY_COL 0x8u /* the host draws the initial values column by column
                                       (dense: the order of its former n_in x n_out layout,
                                       so seeded runs keep their numbers) */

typedef struct sae_tensor_spec {
  const char *name; /* "W", "b", ...: tie/share refer to it by name */
  size_t rows, cols;
  sae_init init;
  double scale;
  unsigned flags; /* SAE_TENSOR_* */
} sae_tensor_spec;

typedef enum sae_mode {
  SAE_MODE_TRAIN = 0, /* training: e.g. top-k keeps k */
  SAE_MODE_EVAL = 1,  /* encoding for features: e.g. top-k keeps alpha*k */
  SAE_MODE_ENERGY = 2 /* only for SAE_TYPE_ARGMIN nodes, from the gradient check: forward
                         keeps y as the previous forward left it (the code z*, held fixed)
                         and only adds its energy E(x, z*; theta) to *cost */
} sae_mode;

/* The batch in flight; the host sets nd->batch before forward/backward/update. */
typedef struct sae_batch {
  size_t m;                 /* examples (rows) */
  const gsl_matrix *x;      /* m x n_data: the model's input */
  const gsl_matrix *target; /* m x n: what losses compare with (x for an autoencoder); may be NULL */
  const size_t *labels;     /* m class labels in 0..n_classes-1, or NULL */
  sae_mode mode;
  /* Appended (ABI 1 grows): the same batch in float32, set by the host for
   * the float32 calls (forward_f32, backward_f32, update_f32; not to be
   * read by the others, whose batch may not set them): x32 m x n_data,
   * target32 m x n or NULL.  x and target stay valid beside them. */
  const gsl_matrix_float *x32;
  const gsl_matrix_float *target32;
} sae_batch;

struct sae_type;

/* The fused SGD step (appended, ABI 1 grows): a momentum step that a backward
 * flagged SAE_TYPE_FUSED_STEP may apply itself, row by row, right after a
 * row's gradient is complete and still in cache, instead of the optimiser's
 * separate pass over theta, v and the gradient (31 MB per batch in fp64 for
 * a 784-1000 layer).  The host (sae_sgd_step) offers it through nd->step;
 * a node that takes it, for a tensor t with c[t] != 0, applies to every row
 * of t, once that row's gradient is final,
 *     v <- mu v - c[t] g ;   theta <- theta + v ;   bad += theta * 0
 * with sae_step_row (double: backward, over param[t], grad[t] and v[t]) or
 * sae_step_row_f32 (float: backward_f32, over param32[t], grad32[t], v32[t]
 * and (float) mu, (float) c[t]) of <saelab/elementwise.h>: the optimiser's
 * own kernels, so the same bits.  It then sets done[t] = 1 and the optimiser
 * skips t.  All rows or none: done[t] = 1 promises every row was stepped.
 * grad[t] is still written in full.  A node that leaves done[t] at 0 (a
 * plugin built against an older header never sees the field) has its tensor
 * stepped by the optimiser as before.  Offered only (model.c, optim.c) when
 * the node's grad_write is 1 (no other node adds to its gradients or reads
 * its tensors), the cost is finite, no regularizer adds to the gradient after
 * backward, and, per tensor, the node owns it (not a tie or share of
 * another's), its rows are contiguous and all its parameters have one rate
 * factor c d != 0.  A node must not take it when it reads a stepped tensor
 * after stepping it (ksparse: not when dx is wanted, dx reads W after the
 * sweep). */
typedef struct sae_step {
  double mu;                  /* momentum */
  double c[SAE_MAX_TENSORS];  /* eta * rate scale * direction; 0: not offered, the optimiser steps it */
  double *v[SAE_MAX_TENSORS]; /* fp64 step: the velocity of tensor t, rows x cols, contiguous;
                                 NULL in a float32 step */
  float *v32[SAE_MAX_TENSORS]; /* float32 step (backward_f32): the same in float; NULL in fp64 */
  int done[SAE_MAX_TENSORS];  /* backward sets 1 for each tensor it stepped (the host zeroes) */
  double bad;                 /* backward adds its sums of theta * 0 (the host zeroes) */
} sae_step;

/* The activation before a loss (appended, ABI 1 grows): what a backward
 * flagged SAE_TYPE_FUSED_ACT needs to run, in its own pass, the backward of
 * the activation node that feeds it, instead of writing dJ/dx (the
 * activation's dy) for the activation's backward to read back.  The host
 * (model.c) offers it through nd->act only in a double backward_write (the
 * node is the first writer of its dx), when its input is an activation
 * whose type has backward_span, that no other node reads, whose own input
 * gradient is wanted.  A node that takes it computes, for each element, the
 * g its backward_write would have written into dx, and runs
 *     span(n, x + o, g + o, dx + o, write)
 * over its elements -- the activation's backward, its y being this node's
 * x -- in spans of any length; writes nothing into its own dx; and sets
 * taken = 1.  The host then skips the activation's backward.  Same bits as
 * the two passes: g is the same double either way.  A node that leaves taken
 * at 0 has written its dx, and the activation's backward runs as before. */
typedef struct sae_act_fuse {
  void (*span)(size_t n, const double *y, const double *dy, double *dx, int write);
  gsl_matrix *dx; /* the activation's dx: m x n, like x */
  int write;      /* 1: write dx (its first writer); 0: add into it */
  int taken;      /* backward sets 1 when it took the offer (the host zeroes) */
} sae_act_fuse;

/* One instance of a type inside a model.  The host fills it; the plugin reads
 * it and writes only where a field says so. */
typedef struct sae_node {
  /* Set by the host before setup(); read-only for the plugin. */
  const struct sae_type *type;
  const double *hp; /* hyper-parameter values, in the order of type->hparams */
  size_t n_in;      /* input width (columns of x) */

  /* Written by setup(). */
  size_t n_out;                             /* output width (= n_in for penalties and losses) */
  size_t n_tensors;                         /* learned tensors, at most SAE_MAX_TENSORS */
  sae_tensor_spec tensor[SAE_MAX_TENSORS];  /* their shapes, init and flags */
  size_t ws_per_example;                    /* doubles of workspace per example */

  /* Set by the host after setup(); the plugin computes into them. */
  gsl_matrix param[SAE_MAX_TENSORS]; /* views into the model's parameter block */
  gsl_matrix grad[SAE_MAX_TENSORS];  /* views into the gradient block, same shapes */
  int trans[SAE_MAX_TENSORS];        /* 1: param[i] is tied to another node's tensor
                                        and stored transposed (rows/cols swapped) */
  void *state;                       /* type->state_size bytes, zeroed; kept across calls */
  double *ws;                        /* m_max * ws_per_example doubles, scratch */
  gsl_rng *rng;                      /* the host's seeded generator */
  const sae_batch *batch;            /* the batch in flight (forward, backward, update) */
  char msg[SAE_MSG_SIZE];            /* why the last call failed (plugin writes) */

  /* Appended (ABI 1 grows): written by setup(), 0 by default.  Doubles of
   * workspace that do not grow with the batch (a K x K Gram matrix): the
   * host allocates ws as m_max * ws_per_example + ws_fixed doubles.  A plugin
   * that sets it needs a host that has the field (this header's). */
  size_t ws_fixed;

  /* Appended (ABI 1 grows): set by the host before each backward, read-only
   * for the plugin, 0 unless the type is flagged SAE_TYPE_GRAD_WRITE.  1: the
   * node is the first writer, in backward order, of every one of its
   * gradients grad[i] (i < n_tensors; own, tied or shared), and the host has
   * NOT zeroed them: backward (or backward_write) must WRITE every entry of
   * each, as if adding to zeros -- 0.0 + v, so a -0.0 term gives +0.0 as the
   * add would -- with rows no term reaches set to zero.  0: they hold zeros
   * or other nodes' terms: add, as always.  Later writers of a tied or
   * shared tensor get 0 and add.  Saves the host's pass over the gradient
   * block (6.3 MB per batch for a 784-1000 layer). */
  int grad_write;

  /* Appended (ABI 1 grows): the float32 twins of param[] and grad[], views
   * into the float32 copies of the parameter and gradient blocks, the same
   * shapes and the same aliasing (tied, transposed, shared) as param and
   * grad.  Set by the host only once something trains in float32
   * (sae.sgd's precision = 32); before that their data is NULL.  The
   * float32 calls read and write these, never param and grad; the host
   * copies between the two (the optimiser's sync).  A float32 call may use
   * ws as raw scratch: it has ws_per_example * sizeof(double) bytes per
   * example, enough for the same count of floats. */
  gsl_matrix_float param32[SAE_MAX_TENSORS];
  gsl_matrix_float grad32[SAE_MAX_TENSORS];

  /* Appended (ABI 1 grows): the fused SGD step offered to this backward
   * (or backward_f32), or NULL.  Set by the host just before the call, only
   * for a type flagged SAE_TYPE_FUSED_STEP whose grad_write is 1, inside an
   * SGD step; NULL again after it.  The plugin writes done[] and bad only.
   * See sae_step. */
  sae_step *step;

  /* Appended (ABI 1 grows): the activation before this node, offered to its
   * backward_write (sae_act_fuse), or NULL.  Set by the host just before the
   * call, only for a type flagged SAE_TYPE_FUSED_ACT; NULL again after it.
   * The plugin writes taken only. */
  sae_act_fuse *act;
} sae_node;

#define SAE_TYPE_NONSMOOTH 0x1u /* kinks (relu, |x|, top-k): gradient check at 1e-6, not 1e-9 */
#define SAE_TYPE_LABELS 0x2u    /* needs batch->labels (classifier branch) */
#define SAE_TYPE_TARGET 0x4u    /* needs batch->target (a reconstruction loss) */
/* The output is an argmin z* = argmin_z E(x, z; theta) found inside forward,
 * which adds E(x, z*) to the cost; backward gives the envelope gradient
 * dE/dtheta at z* held fixed and refuses a non-zero dy (nothing may
 * backpropagate through the argmin).  The host then: refuses, at build, a
 * loss or penalty downstream of the node; checks the type's gradient on its
 * own energy at a fixed code (SAE_MODE_ENERGY), not through the argmin; counts
 * the node as a cost (a model of it alone trains).  Lateral inhibition. */
#define SAE_TYPE_ARGMIN 0x8u
/* The output IS the input (opt-in, for penalties and losses, n_out = n_in):
 * the host gives the node no y and dy of its own but makes y the very matrix
 * x and dy the very matrix dx.  So forward must not write y (it only adds
 * its cost), and backward ADDS ONLY the node's own term dcost/dx into dx and
 * never reads dy (the gradient flowing through, dy, is already in dx: it is
 * the same memory).  Where the host cannot alias (the node reads the model's
 * input; decoding) it copies x into y before forward and adds dy into dx
 * before backward itself, so the type sees one contract.  Saves a copy of x
 * per forward and a pass over dy per backward.  A type without the flag keeps
 * the contract of forward and backward below (y = a copy of x, dx += dy +
 * dcost/dx).  Needs a host that knows the flag (this header's). */
#define SAE_TYPE_PASSTHROUGH 0x10u
/* backward honours nd->grad_write (above): the first writer of its gradients
 * writes them, the host does not zero them (ksparse).  Reading the field
 * needs a host that has it (this header's). */
#define SAE_TYPE_GRAD_WRITE 0x20u
/* backward (and backward_f32) may apply the SGD step itself when the host
 * sets nd->step (sae_step, above).  Needs a host that has the field (this
 * header's); an older host never offers it. */
#define SAE_TYPE_FUSED_STEP 0x40u
/* backward_write may run the backward of the activation before it when the
 * host sets nd->act (sae_act_fuse, above).  Needs a host that has the field
 * (this header's). */
#define SAE_TYPE_FUSED_ACT 0x80u

typedef struct sae_type {
  const char *name;     /* unique over all plugins: "dense", "kl", "topk" */
  sae_kind kind;
  const char *summary;  /* one line, what it computes */
  const char *citation; /* paper, section, equation; "" when none */
  const sae_hparam *hparams; /* {NULL}-terminated table, or NULL for none */
  unsigned flags;            /* SAE_TYPE_* */
  size_t state_size;         /* bytes of per-node state, host-allocated and zeroed */

  /* Required.  Host calls once when the model is built, with hp and n_in set.
   * Validates the hyper-parameters against n_in, sets n_out, the tensors and
   * ws_per_example.  No allocation. */
  int (*setup)(sae_node *nd);

  /* Optional.  Host calls after a hyper-parameter not flagged FIXED changed
   * (a k schedule, a beta sweep).  Returns SAE_EHPARAM if the new value does
   * not fit this node (k > n_in). */
  int (*retune)(sae_node *nd);

  /* Optional.  Host calls once after it initialised every tensor from its
   * spec; for inits a spec cannot say (unit-norm rows, a perturbed
   * ground-truth dictionary).  Draws only from nd->rng. */
  int (*init)(sae_node *nd);

  /* Layers, activations, penalties, losses: required.
   * x is m x n_in, y is m x n_out (written in full; penalties and losses copy
   * x, or, flagged SAE_TYPE_PASSTHROUGH, leave y alone: it is x).  Adds this node's term to *cost (penalties, losses; 0 for plain
   * layers).  May keep what backward needs in nd->ws. */
  int (*forward)(sae_node *nd, const gsl_matrix *x, gsl_matrix *y, double *cost);

  /* Layers, activations, penalties, losses: required.  Called after forward on
   * the same batch, with the same x and y.  dy = dJ/dy (m x n_out).  ADDS
   * dJ/dx into dx (m x n_in; NULL when nobody needs it, e.g. the first layer)
   * and dJ/dtheta into grad[i].  (SAE_TYPE_PASSTHROUGH: dy is dx, and only
   * the node's own term is added.) */
  int (*backward)(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y,
                  const gsl_matrix *dy, gsl_matrix *dx);

  /* Regularizers: required (and forward/backward NULL).  Host calls it once
   * per tensor flagged SAE_TENSOR_DECAY, anywhere in the model.  Adds R(w) to
   * *cost and dR/dw into dw (dw NULL: cost only). */
  int (*regularize)(sae_node *nd, const gsl_matrix *w, gsl_matrix *dw, double *cost);

  /* Optional: a learning rule that is not gradient descent (Arora et al.'s
   * Hebbian update).  Host's trainer calls it after forward on a batch, with
   * the node's x and y and a step size eta; it changes param[i] of tensors
   * flagged SAE_TENSOR_NOGRAD directly. */
  int (*update)(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y, double eta);

  /* Optional: called after every parameter change an optimiser made
   * (norm constraints: DrSAE's unit-norm decoder columns). */
  int (*project)(sae_node *nd);

  /* Appended (ABI 1 grows; a host or plugin of an older header sees NULL).
   * Optional: backward, except that it WRITES dJ/dx into dx (every entry,
   * dx = ...) instead of adding to it; grad[i] still accumulate (unless
   * nd->grad_write: SAE_TYPE_GRAD_WRITE).  The host
   * calls it instead of backward when nothing has been written into dx yet in
   * this backward pass (the node is dx's first writer), and then does not
   * zero dx first: a pass over dx saved, and a read of it.  dx is never NULL
   * here.  For a PASSTHROUGH type dy is dx and holds nothing yet: it writes
   * its own term alone.  Without it the host zeroes dx and calls backward. */
  int (*backward_write)(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y,
                        const gsl_matrix *dy, gsl_matrix *dx);

  /* Appended (ABI 1 grows; NULL from a plugin of an older header): the
   * float32 path, for training with sae.sgd's precision = 32.  A type has
   * one when forward_f32 and backward_f32 are set, and update_f32 too if it
   * has update, and it has no project (the optimiser refuses a model with a
   * node that has none).  They are the contracts of forward, backward,
   * backward_write and update above, in float32 matrices over param32 and
   * grad32 (sae_node), with batch->x32 and batch->target32: PASSTHROUGH,
   * grad_write and the state's meaning are the same.  write = 1: dx is
   * written, not added to (backward_write's contract; dx never NULL then);
   * 0: backward's.  Costs are summed into a double.  The host calls them
   * only while it trains in float32; forward (not forward_f32) runs for
   * eval, encode and the gradient checks, on the double parameters. */
  int (*forward_f32)(sae_node *nd, const gsl_matrix_float *x, gsl_matrix_float *y,
                     double *cost);
  int (*backward_f32)(sae_node *nd, const gsl_matrix_float *x, const gsl_matrix_float *y,
                      const gsl_matrix_float *dy, gsl_matrix_float *dx, int write);
  int (*update_f32)(sae_node *nd, const gsl_matrix_float *x, const gsl_matrix_float *y,
                    double eta);

  /* Appended (ABI 1 grows; NULL from a plugin of an older header), optional,
   * activations: the backward as a kernel over n contiguous elements,
   * dx[j] = dy[j] phi'(x_j) written from y[j] (write = 1) or added into
   * dx[j] (0); y, dy and dx do not overlap.  The very arithmetic of
   * backward and backward_write, element for element.  The host hands it to
   * the loss after the activation (sae_act_fuse). */
  void (*backward_span)(size_t n, const double *y, const double *dy, double *dx, int write);
} sae_type;

typedef struct sae_plugin {
  uint32_t abi;       /* SAE_PLUGIN_ABI as the plugin was built */
  uint32_t size;      /* sizeof(sae_plugin) as the plugin was built */
  uint32_t type_size; /* sizeof(sae_type) as the plugin was built */
  const char *name;   /* unique plugin name */
  const char *version;
  const char *summary;
  const sae_type *const *types; /* NULL-terminated */
} sae_plugin;

/* Fill in the size fields of a descriptor. */
#define SAE_PLUGIN_HEADER SAE_PLUGIN_ABI, (uint32_t)sizeof(sae_plugin), (uint32_t)sizeof(sae_type)

typedef const sae_plugin *(*sae_plugin_fn)(uint32_t host_abi);

/* Writes a one-line reason into nd->msg and returns code; for plugins. */
#include <stdio.h>
#define SAE_FAIL(nd, code, ...) \
  (snprintf((nd)->msg, SAE_MSG_SIZE, __VA_ARGS__), (code))

#ifdef __cplusplus
}
#endif
#endif /* SAELAB_PLUGIN_H */
