/* model.h -- a model: nodes (instances of registered types) wired in order.
 *
 * Node i reads the output of an earlier node (by default i-1; -1 is the
 * model's input x) so a classifier branch can hang off the code while the
 * decoder goes on.  The host owns every buffer: one contiguous parameter
 * block theta, one gradient block of the same layout, per-node outputs and
 * output-gradients sized for the largest batch seen (grown outside the loops).
 *
 * Life cycle (GSL's alloc / set / iterate / free shape):
 *   sae_model_alloc -> sae_model_add ... -> sae_model_build -> eval/step... -> free
 * Tied weights: `tie` names an earlier node whose tensor of the same name this
 * node uses transposed (a decoder W2 = W1^T); `share` uses it as it is
 * (unrolled recurrent encoders). */
#ifndef SAE_MODEL_H
#define SAE_MODEL_H

#include <stddef.h>
#include <gsl/gsl_vector.h>
#include <gsl/gsl_vector_float.h>
#include <gsl/gsl_rng.h>
#include "error.h"

typedef struct sae_model sae_model;

sae_model *sae_model_alloc(size_t n_in);
void sae_model_free(sae_model *m); /* NULL is a no-op */
/* on = 0: backward never offers a loss the activation before it
 * (plugin.h, sae_act_fuse): each runs its own pass.  The same bits either
 * way; for the tests that compare the two.  On by default. */
void sae_model_fuse(sae_model *m, int on);
/* Activations whose backward ran inside the loss after them in the last
 * double backward pass. */
size_t sae_model_act_fused(const sae_model *m);

/* Append a node of type t.  name may be NULL (then "<type><index>"); input
 * names an earlier node (NULL: the previous one; "input": the model input);
 * tie/share name an earlier node (NULL: none).  hp: n_hp (name, value) pairs
 * overriding the type's defaults, each checked against its range. */
int sae_model_add(sae_model *m, const sae_type *t, const char *name,
                  const char *input, const char *tie, const char *share,
                  size_t n_hp, const char *const *hp_names, const double *hp_values,
                  sae_error *e);

/* Set up every node, allocate theta and its gradient, tie, and initialise
 * from the tensor specs with rng (kept: nodes draw from it later). */
int sae_model_build(sae_model *m, gsl_rng *rng, sae_error *e);

size_t sae_model_n_in(const sae_model *m);
size_t sae_model_nodes(const sae_model *m);
const sae_node *sae_model_node(const sae_model *m, size_t i);
const char *sae_model_node_name(const sae_model *m, size_t i);
int sae_model_node_input(const sae_model *m, size_t i); /* -1: model input */
/* Node i's tie: the tied node's index, or -1 for none; *tensor (may be NULL)
 * gets the tensor name given after the dot ("enc.W"), or NULL. */
int sae_model_node_tie(const sae_model *m, size_t i, const char **tensor);
int sae_model_node_share(const sae_model *m, size_t i); /* -1: none */
/* 1 if tensor j of node i (after build) is a view of an earlier node's tensor
 * (tie or share): stored once, with its owner. */
int sae_model_tensor_is_alias(const sae_model *m, size_t i, size_t j);
int sae_model_find(const sae_model *m, const char *name); /* -1 if none */
size_t sae_model_out_node(const sae_model *m);  /* last layer/activation node */
size_t sae_model_last_node(const sae_model *m); /* last node that is not a regularizer */
/* Bytes of the model's own buffers: parameters, gradient, every node's outputs,
 * output-gradients and workspace, and the float32 copies (they grow with the
 * largest batch seen).  The Lua binding reports their growth to the collector. */
size_t sae_model_heap_bytes(const sae_model *m);
/* 1 when some node adds to the cost (a loss, penalty or regularizer): without
 * one the cost is 0 whatever theta is, and an optimiser has nothing to do. */
int sae_model_has_cost(const sae_model *m);

/* The parameter block and its gradient (views owned by the model). */
gsl_vector *sae_model_theta(sae_model *m);
gsl_vector *sae_model_grad(sae_model *m);
/* Tensor j of node i as a view into theta (not a tied alias's own copy). */
int sae_model_tensor(sae_model *m, size_t i, const char *tname, gsl_matrix **view,
                     sae_error *e);

/* Change a hyper-parameter of node i after build (not SAE_HP_FIXED ones). */
int sae_model_set_hp(sae_model *m, size_t i, const char *name, double v, sae_error *e);
double sae_model_get_hp(const sae_model *m, size_t i, const char *name, int *found);

/* Forward over the batch: every node's output and the total cost (losses,
 * penalties and regularizers).  Outputs stay valid until the next call. */
int sae_model_forward(sae_model *m, const sae_batch *b, double *cost, sae_error *e);

/* Forward then backward: cost and gradient (grad block zeroed first). */
int sae_model_eval(sae_model *m, const sae_batch *b, double *cost, sae_error *e);

/* sae_model_eval, offering node i the fused SGD step steps[i] (plugin.h,
 * sae_step; steps has sae_model_nodes(m) entries, NULL for no offer).  The
 * host passes it on only to a node whose type is flagged
 * SAE_TYPE_FUSED_STEP and whose grad_write is 1, and to none when the cost
 * is not finite or the model has a regularizer.  A node that takes it sets
 * steps[i]->done[t] for the tensors it stepped and adds to its bad; the
 * caller zeroes both first. */
int sae_model_eval_step(sae_model *m, const sae_batch *b, sae_step *const *steps, double *cost,
                        sae_error *e);

/* eval with two extras for gradient checks: probe (NULL or shaped like the
 * last node's output) adds sum(probe .* y) to the cost, and dx (NULL or
 * m x n_in) receives dJ/dx of the model input. */
int sae_model_eval_probe(sae_model *m, const sae_batch *b, const gsl_matrix *probe,
                         gsl_matrix *dx, double *cost, sae_error *e);

/* Forward in EVAL mode through nodes 0..upto only (what they need), without
 * losses after it: the code of an autoencoder.  *out is node upto's output. */
int sae_model_encode(sae_model *m, const sae_batch *b, size_t upto,
                     const gsl_matrix **out, sae_error *e);

/* Output of node i after the last forward (m rows; view owned by the model). */
const gsl_matrix *sae_model_output(const sae_model *m, size_t i);

/* Run the nodes after node `from` that depend on it, with z standing for its
 * output, in EVAL mode, skipping losses; the result is the output of the last
 * such layer/activation (written to *out, a view owned by the model). */
int sae_model_decode(sae_model *m, size_t from, const gsl_matrix *z,
                     const gsl_matrix **out, sae_error *e);

/* Non-gradient learning rules (type->update) of every node that has one,
 * after a forward on the same batch b; *n_updated counts them. */
int sae_model_update(sae_model *m, const sae_batch *b, double eta, int *n_updated,
                     sae_error *e);
/* Every node's project() (norm constraints), after an optimiser step. */
int sae_model_project(sae_model *m, sae_error *e);

/* After a step found a non-finite cost or gradient (its batch still alive):
 * the first non-finite number, as SAE_ENUMERIC and one line: the input
 * ("the input has NaN (row 2, column 5)"), then node outputs in forward order
 * ("node 'enc' output has NaN (row 4, column 12)", 1-based: example, unit),
 * else the node whose cost term is ("node 'kl' (kl) made the cost
 * non-finite"), else parameter gradients in backward order ("gradient of
 * 'enc.W' has Inf (row 1, column 3)"), else parameters ("parameter 'enc.W'
 * is Inf ..."): the place where it first appeared.  0 if all are finite.
 * One pass over outputs, gradients and parameters: call it only when the
 * cheap test (the cost, the step's reduction) has failed. */
int sae_model_find_nonfinite(const sae_model *m, sae_error *e);

/* ---- float32 training (sae.sgd's precision = 32; doc/design.md) ----
 * The double theta stays the model's parameters (eval, encode, gradient
 * checks, checkpoints); training in float32 runs on a float copy, theta32,
 * with its gradient grad32, both in theta's layout, and float outputs and
 * output-gradients per node.  Nothing of it exists until sae_model_f32_alloc. */

/* 0 if every node's type has a float32 path (plugin.h: forward_f32 and
 * backward_f32, update_f32 if it has update, no project; no regularizer),
 * else SAE_ETYPE and "node 'ks' (type 'kl') has no float32 path". */
int sae_model_f32_check(const sae_model *m, sae_error *e);
/* 1 if type t has a float32 path (the test sae_model_f32_check makes). */
int sae_type_has_f32(const sae_type *t);
/* Check, then allocate theta32 and grad32 and point every node's param32
 * and grad32 at them (same aliasing as param, grad).  Idempotent. */
int sae_model_f32_alloc(sae_model *m, sae_error *e);
/* NULL before sae_model_f32_alloc. */
gsl_vector_float *sae_model_theta32(sae_model *m);
gsl_vector_float *sae_model_grad32(sae_model *m);
/* theta32 = (float)theta, and theta = (double)theta32 (exact). */
void sae_model_f32_load(sae_model *m);
void sae_model_f32_store(sae_model *m);
/* sae_model_eval in float32 over theta32: b's x (and target) converted to
 * float into buffers of the model (b->x32 and b->target32 are not read: the
 * host sets them in its own copy of the batch, which the nodes see), every
 * node's forward_f32 then backward_f32, the same plan as the double pass
 * (PASSTHROUGH aliasing, first writers of dy and of gradients); the
 * gradient lands in grad32.  Every node's float output stays readable
 * (sae_model_output32) until the next call. */
int sae_model_eval_f32(sae_model *m, const sae_batch *b, double *cost, sae_error *e);
/* sae_model_eval_f32 with the fused step's offers, as sae_model_eval_step
 * (their velocities in v32, float). */
int sae_model_eval_f32_step(sae_model *m, const sae_batch *b, sae_step *const *steps,
                            double *cost, sae_error *e);
/* sae_model_update over update_f32, on the batch of the last eval_f32. */
int sae_model_update_f32(sae_model *m, double eta, int *n_updated, sae_error *e);
const gsl_matrix_float *sae_model_output32(const sae_model *m, size_t i);

/* Per parameter: +1 descend, -1 ascend (SAE_TENSOR_ASCENT), 0 leave alone
 * (SAE_TENSOR_NOGRAD, and a tied alias's duplicate). Length nparams. */
const signed char *sae_model_direction(const sae_model *m);

#endif
