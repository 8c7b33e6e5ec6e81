/* lbfgs_loop.h -- liblbfgs 1.10's L-BFGS loop with its state in the open.
 *
 * liblbfgs's lbfgs() keeps everything that carries from one iteration to
 * the next (the curvature pairs, the iteration count, the next direction
 * and step, the past costs of the delta test) in locals it frees on return,
 * so a run killed after hours starts again from nothing.  This is the same
 * loop (L-BFGS with the More-Thuente line search, liblbfgs's default; no
 * OWL-QN, no backtracking searches), copied from liblbfgs 1.10 (MIT
 * licence, Naoaki Okazaki, after Jorge Nocedal's Fortran) with one change:
 * that state lives in a sae_lbfgs_state the caller owns, is shown to a
 * callback at the end of every iteration, and a run may start from a saved
 * one.  A run continued from a state saved after iteration k computes,
 * operation for operation, what the uninterrupted run computed after k.
 *
 * The numerical core knows nothing about Lua; optim_lbfgs.c drives it. */
#ifndef SAE_LBFGS_LOOP_H
#define SAE_LBFGS_LOOP_H

#include <stddef.h>
#include <lbfgs.h> /* lbfgs_parameter_t, the callbacks' types, the LBFGS* codes */

typedef struct sae_lbfgs_state {
  int n, m, past;   /* variables, curvature pairs kept, delta test's period (0: off) */
  int k;            /* iterations done + 1 once started; 0: not started (evaluate x first) */
  int end;          /* the ring's next slot, in [0, m) */
  double fx, step;  /* f(x); the next line search's first step */
  double *x, *g, *d;   /* [n]: the iterate, its gradient, the next direction */
  double *s, *y;       /* [m * n]: the pairs s_j = x_{j+1} - x_j, y_j = g_{j+1} - g_j */
  double *ys;          /* [m]: y_j . s_j */
  double *pf;          /* [past]: costs of the last `past` iterations; NULL when past = 0 */
} sae_lbfgs_state;

/* Allocate (zeroed) a state for n variables; 0 or LBFGSERR_OUTOFMEMORY.  A
 * failed alloc frees what it made; free(NULL-state) is a no-op. */
int sae_lbfgs_state_alloc(sae_lbfgs_state *st, int n, int m, int past);
void sae_lbfgs_state_free(sae_lbfgs_state *st);

/* Called after each iteration's update, the state complete for the next
 * one: a copy of it now continues the run exactly.  Nonzero stops the run
 * and is returned. */
typedef int (*sae_lbfgs_boundary_t)(void *instance, const sae_lbfgs_state *st);

/* liblbfgs's lbfgs() on st: when st->k is 0, st->x is the start (evaluated
 * first, as lbfgs() does); otherwise the run goes on from the state.  The
 * parameters' m and past must be st's; only the More-Thuente line search.
 * Returns liblbfgs's codes; st->x and st->fx end as lbfgs() leaves x and fx. */
int sae_lbfgs_loop(sae_lbfgs_state *st, lbfgs_evaluate_t proc_evaluate,
                   lbfgs_progress_t proc_progress, sae_lbfgs_boundary_t boundary, void *instance,
                   const lbfgs_parameter_t *param);

#endif
