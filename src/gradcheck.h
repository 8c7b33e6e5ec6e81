/* gradcheck.h -- backward() against GSL's central differences (gsl_deriv_central).
 *
 * The measure is UFLDL's: ||g_num - g|| / ||g_num + g|| over the entries of
 * one part of a check, which must stay below 1e-9 for smooth types and 1e-6
 * for SAE_TYPE_NONSMOOTH ones (or the tolerance the caller gives a model
 * check).  A type's check has two parts, each measured against its OWN scale
 * (see sae_gradcheck_type), so a small cost term is not swamped by the output. */
#ifndef SAE_GRADCHECK_H
#define SAE_GRADCHECK_H

#include <gsl/gsl_rng.h>
#include "model.h"

#define SAE_GRADCHECK_TOL_SMOOTH 1e-9
#define SAE_GRADCHECK_TOL_NONSMOOTH 1e-6

/* The entry with the largest |g_num - g| of the worst part. */
typedef struct sae_gradcheck_entry {
  char node[64];    /* node name (a type check: the type's name) */
  char tensor[32];  /* tensor name, "x" for the input, "w" for a regularizer's matrix */
  size_t row, col;  /* 0-based */
  double analytic;  /* backward()'s value */
  double numeric;   /* central differences' */
  double rel;       /* |numeric - analytic| / max(|numeric|, |analytic|); 0 when both are 0 */
} sae_gradcheck_entry;

typedef struct sae_gradcheck_result {
  double rel_error;        /* the worst part's ||g_num - g|| / ||g_num + g|| */
  double max_abs_err;      /* its largest |g_num_i - g_i| */
  double worst_index;      /* where, as a flat index (theta, then the input), for Lua */
  size_t n_checked;        /* entries checked (each in every part) */
  size_t n_kinks;          /* entries whose first difference step straddled a kink and
                              were measured at a finer step (gradcheck.c, gc_entry) */
  double tol;              /* the tolerance that applies */
  int passed;              /* every part finite and below tol */
  double cost_rel_error;   /* J = the cost alone (a type: its own term, dy = 0) */
  double output_rel_error; /* a type: J = sum(R .* y) alone; NAN for models and regularizers */
  const char *part;        /* the worst part: "cost" or "output" (static string) */
  sae_gradcheck_entry worst;
  char message[320];       /* one line, rows and columns counted from 1:
                              "l1 (own cost): grad x[4,1] analytic 0.0004 numeric 0.0002 (rel 0.5)" */
} sae_gradcheck_result;

/* Check the gradient of the model's cost over theta (and nothing else) on b,
 * at the default tolerance (1e-6 if any node is NONSMOOTH, else 1e-9). */
int sae_gradcheck_model(sae_model *m, const sae_batch *b, sae_gradcheck_result *r,
                        sae_error *e);
/* The same at tolerance tol (> 0; 0 for the default). */
int sae_gradcheck_model_tol(sae_model *m, const sae_batch *b, double tol,
                            sae_gradcheck_result *r, sae_error *e);

/* Check one type at the given hyper-parameters (n_hp pairs over the defaults)
 * on small random data drawn from rng (inputs and targets in (0.1, 0.9),
 * labels in 0..n_out-1), as a one-node model named after the type, over
 * dtheta and dx, in two parts that must both pass:
 *   cost    J = the node's own cost term alone (dy = 0);
 *   output  J = sum(R .* y), R random, the cost term removed: backward's
 *           value is backward(dy = R) - backward(dy = 0).
 * A regularizer is checked on a random 4 x 5 matrix w through regularize()
 * (the cost part alone). */
int sae_gradcheck_type(const sae_type *t, size_t n_hp, const char *const *hp_names,
                       const double *hp_values, gsl_rng *rng,
                       sae_gradcheck_result *r, sae_error *e);

#endif
