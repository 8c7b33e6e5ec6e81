/* gradcheck.h -- backward() against GSL's central differences (gsl_deriv_central).
 *
 * The measure is UFLDL's: ||g_num - g|| / ||g_num + g|| over all the entries
 * checked (parameters, and for a single type also the input), which must stay
 * below 1e-9 for smooth types and 1e-6 for SAE_TYPE_NONSMOOTH ones. */
#ifndef SAE_GRADCHECK_H
#define SAE_GRADCHECK_H

#include <gsl/gsl_rng.h>
#include "model.h"

#define SAE_GRADCHECK_TOL_SMOOTH 1e-9
#define SAE_GRADCHECK_TOL_NONSMOOTH 1e-6

typedef struct sae_gradcheck_result {
  double rel_error;   /* ||g_num - g|| / ||g_num + g|| */
  double max_abs_err; /* largest |g_num_i - g_i| */
  double worst_index; /* where (as a double, for Lua) */
  size_t n_checked;
  double tol;         /* the tolerance that applies */
  int passed;
} sae_gradcheck_result;

/* Check the gradient of the model's cost over theta (and nothing else) on b. */
int sae_gradcheck_model(sae_model *m, const sae_batch *b, sae_gradcheck_result *r,
                        sae_error *e);

/* Check one type at the given hyper-parameters (n_hp pairs over the defaults)
 * on small random data drawn from rng (inputs and targets in (0.1, 0.9),
 * labels in 0..n_out-1): a one-node model with cost J = sum(R .* y) + the
 * node's own cost, R random, checking dJ/dtheta and dJ/dx; a regularizer is
 * checked on a random matrix through regularize(). */
int sae_gradcheck_type(const sae_type *t, size_t n_hp, const char *const *hp_names,
                       const double *hp_values, gsl_rng *rng,
                       sae_gradcheck_result *r, sae_error *e);

#endif
