/* optim_lbfgs.h -- full-batch L-BFGS over a model's parameter block (liblbfgs).
 *
 * Limited-memory BFGS (Nocedal, "Updating quasi-Newton matrices with limited
 * storage", Math. Comp. 35, 1980; Liu & Nocedal, Math. Prog. 45, 1989) with
 * the More-Thuente line search, as implemented by Naoaki Okazaki's liblbfgs
 * (Debian liblbfgs-dev).  This is how UFLDL's exercises train the sparse
 * autoencoder and softmax regression (minFunc, 'lbfgs', maxIter 400): the
 * cost and gradient of the WHOLE data set at every evaluation.
 *
 * One call runs the whole minimisation.  That departs from the house rule
 * "the caller drives the loop" (optim.h's SGD is a step): liblbfgs has no
 * step API, only lbfgs(), which calls back for every evaluation and every
 * iteration.  The callbacks stay inside optim_lbfgs.c; what a caller would
 * have done per iteration (watch the cost, plot it) it does afterwards with
 * the history, and stopping rules are the options below.  The loop itself is
 * liblbfgs 1.10's, copied into lbfgs_loop.c with its state in the open, so
 * that a run can be saved after any iteration (opts.save) and go on from the
 * saved state (opts.resume) with the uninterrupted run's numbers.
 *
 * What is minimised: the model's cost J(theta) on batch b (sae_model_eval),
 * over the parameters whose sae_model_direction() is +1.  Entries with
 * direction 0 (NOGRAD tensors, tied duplicates) get gradient 0 and keep
 * their values.  Refused with SAE_ETYPE, before anything is evaluated:
 *   - a parameter learned by ascent (direction -1, SAE_TENSOR_ASCENT: a
 *     min-max problem is not a minimisation);
 *   - a node with project() (a norm constraint after every step: L-BFGS's
 *     line search and curvature pairs assume an unconstrained problem).
 * Non-gradient update() rules are not run.
 *
 * On return theta holds the last iterate liblbfgs accepted (the start if
 * none), whatever the status; the model's outputs and gradient block are
 * those of the last evaluation, which may be a rejected line-search trial:
 * call sae_model_eval again if they are needed. */
#ifndef SAE_OPTIM_LBFGS_H
#define SAE_OPTIM_LBFGS_H

#include <stdio.h>
#include "lbfgs_loop.h"
#include "model.h"

struct sae_lbfgs_history;
/* Called after every save_every-th iteration with the loop's state (after
 * the update: st->k - 1 iterations done) and the history so far; nonzero
 * (with e set) stops the run with that error. */
typedef int (*sae_lbfgs_save_fn)(void *ctx, const sae_lbfgs_state *st,
                                 const struct sae_lbfgs_history *h, sae_error *e);

typedef struct sae_lbfgs_opts {
  int max_iter;   /* iterations at most; 0: no limit (liblbfgs's max_iterations) */
  int m;          /* curvature pairs kept (history), >= 1; liblbfgs's default 6
                     (minFunc, used by UFLDL, keeps 100) */
  double epsilon; /* converged when ||g|| <= epsilon * max(1, ||theta||) */
  double delta;   /* stop when (J_{k-past} - J_k) / J_k < delta ... */
  int past;       /* ... measured over `past` iterations; 0: no such test */
  int verbose;    /* 1: one progress line per iteration, and a final one, to stream */
  FILE *stream;   /* NULL: stdout */
  /* Checkpoints: save(save_ctx, ...) every save_every iterations (0: never). */
  int save_every;
  sae_lbfgs_save_fn save;
  void *save_ctx;
  /* Resume: NULL, or a state save was given (k >= 1; n, m and past those of
   * this model and these options, else SAE_ESHAPE / SAE_EHPARAM): its x
   * becomes theta and the run goes on from it; the history restarts empty,
   * its evaluation count and initial cost from these two. */
  const sae_lbfgs_state *resume;
  size_t resume_evals;
  double resume_initial_cost;
} sae_lbfgs_opts;

/* max_iter 400 (UFLDL's exercises), and liblbfgs's own defaults for the rest:
 * m 6, epsilon 1e-5, delta 1e-5 with past 0 (off); verbose 0, stream NULL;
 * no checkpoints, no resume. */
void sae_lbfgs_opts_default(sae_lbfgs_opts *o);

/* Per accepted iteration k = 1..n (arrays of length n), and the run's totals. */
typedef struct sae_lbfgs_history {
  size_t n;           /* iterations completed */
  size_t *iter;       /* k */
  double *cost;       /* J after iteration k */
  double *gnorm;      /* ||g|| after iteration k */
  double *step;       /* the line-search step taken */
  size_t *evals;      /* cost+gradient evaluations so far (>= k + 1) */
  double *seconds;    /* wall-clock seconds since the run started */
  double initial_cost; /* J at the start (NAN if the first evaluation failed) */
  double final_cost;   /* J at the returned theta */
  size_t n_evals;      /* evaluations in all, rejected line-search trials included */
  double total_seconds;
  int code;            /* liblbfgs's return code (LBFGS_SUCCESS, LBFGSERR_*) */
  char status[SAE_ERRMSG_SIZE]; /* "converged", "stopped: cost decrease < delta",
                          "max iterations reached", "line search failed: ...",
                          or why the run failed */
  size_t cap;          /* allocated length of the arrays (private) */
} sae_lbfgs_history;

/* Frees the arrays and zeroes *h (the struct itself is the caller's);
 * NULL is a no-op. */
void sae_lbfgs_history_free(sae_lbfgs_history *h);

/* Minimise the model's cost on b from the current theta.  o NULL: defaults.
 * h (may be NULL) is overwritten, not freed, with a history allocated here:
 * pass a zeroed or freed one, and free it with sae_lbfgs_history_free
 * whatever the return code (a failed run keeps the iterations it made).
 *
 * Returns 0 when the run ended normally, whatever the status: converged,
 * delta test, max_iter, or a line search that found no better point (the
 * usual end near a minimum at double precision).  Errors: SAE_ESTATE (not
 * built), SAE_ESHAPE (no parameters, or more than INT_MAX), SAE_EHPARAM (an
 * option out of range), SAE_ETYPE (ascent or projected parameters), the
 * model's own error from an evaluation, SAE_ENUMERIC (a non-finite cost or
 * gradient), SAE_ENOMEM. */
int sae_lbfgs_run(sae_model *m, const sae_batch *b, const sae_lbfgs_opts *o,
                  sae_lbfgs_history *h, sae_error *e);

#endif
