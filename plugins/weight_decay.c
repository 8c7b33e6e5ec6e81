/* weight_decay.c -- L2 weight decay on every tensor flagged SAE_TENSOR_DECAY.
 *
 * Ng, CS294A Lecture notes "Sparse autoencoder" (2011), section 2, the weight
 * decay term of J(W,b):  (lambda/2) sum_l sum_i sum_j (W_ji^(l))^2.
 * The host calls regularize() once per tensor flagged DECAY (the W of each
 * dense layer, never the biases), anywhere in the model.
 *
 *   cost                                  gradient
 *   cost += (lambda/2) sum_ij w_ij^2      dw += lambda w     (dw NULL: cost only)
 *
 * Shapes: w and dw are r x c, whatever the tensor's shape (a tied tensor is
 * seen once, in its stored layout).  Not divided by m: as in the notes, the
 * data term is the batch mean and the decay is not.
 * Hyper-parameters: lambda >= 0.  No tensors, no state, no workspace.
 */
#include <gsl/gsl_blas.h>
#include <saelab/plugin.h>

enum { WD_LAMBDA };

static const sae_hparam wd_hparams[] = {
  {"lambda", 1e-4, 0.0, 1e6, 0, "lambda, the weight decay parameter"},
  {NULL, 0, 0, 0, 0, NULL}
};

static int wd_setup(sae_node *nd) {
  nd->n_out = nd->n_in;
  nd->n_tensors = 0;
  nd->ws_per_example = 0;
  return SAE_OK;
}

static int wd_regularize(sae_node *nd, const gsl_matrix *w, gsl_matrix *dw, double *cost) {
  const double lambda = nd->hp[WD_LAMBDA];
  if (dw && (dw->size1 != w->size1 || dw->size2 != w->size2))
    return SAE_FAIL(nd, SAE_ESHAPE, "l2: w is %zu x %zu but dw is %zu x %zu", w->size1,
                    w->size2, dw->size1, dw->size2);
  double sum = 0.0;
  for (size_t i = 0; i < w->size1; i++) {
    gsl_vector_const_view wi = gsl_matrix_const_row(w, i);
    double s;
    gsl_blas_ddot(&wi.vector, &wi.vector, &s);
    sum += s;
    if (dw) {
      gsl_vector_view dwi = gsl_matrix_row(dw, i);
      gsl_blas_daxpy(lambda, &wi.vector, &dwi.vector);
    }
  }
  *cost += 0.5 * lambda * sum;
  return SAE_OK;
}

static const sae_type wd_l2 = {
  .name = "l2",
  .kind = SAE_KIND_REGULARIZER,
  .summary = "cost += lambda/2 sum w^2 over tensors flagged DECAY",
  .citation = "Ng, CS294A Sparse autoencoder notes (2011), section 2, J(W,b) weight decay term",
  .hparams = wd_hparams,
  .setup = wd_setup,
  .regularize = wd_regularize,
};

static const sae_type *const wd_types[] = {&wd_l2, NULL};

static const sae_plugin wd_plugin = {
  SAE_PLUGIN_HEADER,
  .name = "weight_decay",
  .version = "1.0",
  .summary = "L2 weight decay",
  .types = wd_types,
};

const sae_plugin *saelab_plugin(uint32_t host_abi);
const sae_plugin *saelab_plugin(uint32_t host_abi) {
  return host_abi == SAE_PLUGIN_ABI ? &wd_plugin : NULL;
}
