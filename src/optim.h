/* optim.h -- optimisers as steps the caller drives (GSL's alloc/set/iterate).
 *
 * SGD with momentum (Rumelhart, Hinton & Williams 1986, eq. 9):
 *   v <- mu v - eta * dir .* g,   theta <- theta + v
 * where dir is +1 (descend), -1 (SAE_TENSOR_ASCENT) or 0 (NOGRAD, tied
 * duplicates); then every node's non-gradient update() with eta and project().
 * The learning-rate schedule, epochs, shuffling and stopping live in Lua
 * (lua/sae/trainer.lua): the caller drives the loop. */
#ifndef SAE_OPTIM_H
#define SAE_OPTIM_H

#include "model.h"

typedef struct sae_sgd sae_sgd;

sae_sgd *sae_sgd_alloc(sae_model *m); /* velocity zeroed */
void sae_sgd_free(sae_sgd *s);        /* NULL is a no-op */
int sae_sgd_set(sae_sgd *s, double eta, double mu, sae_error *e);
/* Learning-rate factor c >= 0 for parameters [off, off + len) of theta (a
 * tensor's entries): their step is eta c dir g.  1 for all at alloc; 0
 * freezes them.  SAE_EHPARAM for a bad c, SAE_ESHAPE outside theta. */
int sae_sgd_scale(sae_sgd *s, size_t off, size_t len, double c, sae_error *e);
double sae_sgd_scale_at(const sae_sgd *s, size_t i); /* c of parameter i */
double sae_sgd_eta(const sae_sgd *s);
double sae_sgd_mu(const sae_sgd *s);
/* The velocity v, one entry per parameter (theta's layout): saved and put
 * back by checkpoints so a resumed run steps as the uninterrupted one. */
gsl_vector *sae_sgd_velocity(sae_sgd *s);
/* 64 (the default) or 32: train on float copies of theta and v (optim.c,
 * doc/design.md).  32 needs every node to have a float32 path
 * (sae_model_f32_check's SAE_ETYPE otherwise); SAE_EHPARAM for other bits.
 * Syncs first, and leaves the float copy to load at the next step. */
int sae_sgd_precision(sae_sgd *s, int bits, sae_error *e);
int sae_sgd_get_precision(const sae_sgd *s);
/* Precision 32: theta = (double)theta32 and v = (double)v32, if a step ran
 * since the last sync; the next step loads the float copy afresh from
 * theta and v.  A no-op at precision 64.  Call it before reading or writing
 * theta or the velocity (sae.train does at every epoch's end). */
void sae_sgd_sync(sae_sgd *s);
/* The fused step (plugin.h, sae_step): on = 1 (the default) offers it to
 * the nodes that can take it, 0 withdraws it (every parameter stepped by
 * the optimiser's own pass: the same bits, for tests and benchmarks). */
void sae_sgd_fuse(sae_sgd *s, int on);
/* Parameters the nodes stepped themselves in the last step (0: none). */
size_t sae_sgd_fused(const sae_sgd *s);
/* One step on batch b; *cost is the cost before the step. */
int sae_sgd_step(sae_sgd *s, const sae_batch *b, double *cost, sae_error *e);

#endif
