/* softmax.c -- softmax regression's loss: the cross-entropy of class labels.
 *
 * UFLDL tutorial, "Softmax Regression" (Ng et al., 2011): with K classes and
 * parameters theta_1..theta_K,
 *
 *   J(theta) = -1/m sum_i log( exp(theta_{y_i}^T x_i) / sum_j exp(theta_j^T x_i) )
 *              + lambda/2 sum theta^2
 *
 * Here the node receives the logits x_ij = theta_j^T a_i from a dense layer
 * before it (n_out = K; its W is theta, K x n_in, row j = theta_j, one class
 * per row as every type stores units) and computes the first term; the weight decay term is
 * the l2 regularizer node.  The prediction is argmax_j x_ij, so the node
 * passes the logits through unchanged.
 *
 *   forward                                     backward
 *   p_ij = exp(x_ij - c_i) / sum_k exp(x_ik - c_i)   (c_i = max_k x_ik, for stability)
 *   y    = x                                    dx_ij += dy_ij + (p_ij - [j = l_i]) / m
 *   cost += -1/m sum_i log p_{i,l_i}
 *         = -1/m sum_i (x_{i,l_i} - c_i - log sum_k exp(x_ik - c_i))
 *
 * (UFLDL's gradient, -1/m sum_i a_i ([y_i = j] - p_ij), is what the dense
 * layer before makes of dx.)  Labels l_i are batch->labels, 0-based, in
 * 0..K-1; the node needs them (SAE_TYPE_LABELS: the host refuses a batch
 * without).  A label >= K is SAE_EDATA; messages count examples and classes
 * from 1, as Lua does.
 *
 * Shapes (m examples, K = n_in = n_out classes):
 *   x, y, dy, dx   m x K          labels   m          p   m x K in ws
 * ws_per_example = K: forward keeps p, one row per example, for backward.
 * No hyper-parameters, no tensors, no state.
 */
#include <math.h>
#include <gsl/gsl_matrix.h>
#include <saelab/plugin.h>

static int sm_setup(sae_node *nd) {
  if (nd->n_in < 2)
    return SAE_FAIL(nd, SAE_ESHAPE, "softmax: %zu class(es): it needs K >= 2 logits", nd->n_in);
  nd->n_out = nd->n_in;
  nd->n_tensors = 0;
  nd->ws_per_example = nd->n_in; /* p, m x K */
  return SAE_OK;
}

static int sm_shape(sae_node *nd, const gsl_matrix *x, const gsl_matrix *a, const char *a_name) {
  if (x->size2 != nd->n_in)
    return SAE_FAIL(nd, SAE_ESHAPE, "softmax: x is %zu x %zu, expected m x %zu", x->size1,
                    x->size2, nd->n_in);
  if (a->size1 != x->size1 || a->size2 != x->size2)
    return SAE_FAIL(nd, SAE_ESHAPE, "softmax: x is %zu x %zu but %s is %zu x %zu", x->size1,
                    x->size2, a_name, a->size1, a->size2);
  return SAE_OK;
}

/* The labels of the batch in flight, each checked against K. */
static int sm_labels(sae_node *nd, size_t m, const size_t **labels) {
  const size_t K = nd->n_in;
  if (!nd->batch || !nd->batch->labels)
    return SAE_FAIL(nd, SAE_ELABELS, "softmax: the batch has no labels");
  const size_t *l = nd->batch->labels;
  for (size_t i = 0; i < m; i++)
    if (l[i] >= K)
      return SAE_FAIL(nd, SAE_EDATA,
                      "softmax: example %zu has class %zu, but the node has K = %zu classes "
                      "(1..%zu)", i + 1, l[i] + 1, K, K);
  *labels = l;
  return SAE_OK;
}

static int sm_forward(sae_node *nd, const gsl_matrix *x, gsl_matrix *y, double *cost) {
  const size_t m = x->size1, K = x->size2;
  const size_t *l;
  int rc = sm_shape(nd, x, y, "y");
  if (rc || (rc = sm_labels(nd, m, &l))) return rc;
  double sum_logp = 0.0;
  for (size_t i = 0; i < m; i++) {
    const double *xi = x->data + i * x->tda;
    double *pi = nd->ws + i * K;
    double c = xi[0];
    for (size_t j = 1; j < K; j++) c = fmax(c, xi[j]);
    double z = 0.0; /* sum_k exp(x_ik - c) >= 1 */
    for (size_t j = 0; j < K; j++) z += (pi[j] = exp(xi[j] - c));
    for (size_t j = 0; j < K; j++) pi[j] /= z;
    sum_logp += xi[l[i]] - c - log(z);
  }
  *cost += -sum_logp / (double)m;
  return SAE_OK;
}

static int sm_backward(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y,
                       const gsl_matrix *dy, gsl_matrix *dx) {
  const size_t m = x->size1, K = x->size2;
  const size_t *l;
  (void)y;
  if (!dx) return SAE_OK;
  int rc = sm_shape(nd, x, dy, "dy");
  if (rc || (rc = sm_shape(nd, x, dx, "dx")) || (rc = sm_labels(nd, m, &l))) return rc;
  const double inv_m = 1.0 / (double)m;
  for (size_t i = 0; i < m; i++) {
    const double *pi = nd->ws + i * K; /* PASSTHROUGH: dy is already in dx */
    double *dxi = dx->data + i * dx->tda;
    for (size_t j = 0; j < K; j++) dxi[j] += pi[j] * inv_m;
    dxi[l[i]] -= inv_m; /* the one-hot term */
  }
  return SAE_OK;
}

static const sae_type softmax_type = {
  .name = "softmax",
  .kind = SAE_KIND_LOSS,
  .summary = "y = x (logits); cost += -1/m sum_i log softmax(x_i)_{label_i}",
  .citation = "UFLDL tutorial, Softmax Regression (Ng et al., 2011), cost J(theta)",
  .hparams = NULL,
  .flags = SAE_TYPE_LABELS | SAE_TYPE_PASSTHROUGH, /* y is x, dy is dx (plugin.h) */
  .setup = sm_setup,
  .forward = sm_forward,
  .backward = sm_backward,
};

static const sae_type *const softmax_types[] = {&softmax_type, NULL};

static const sae_plugin softmax_plugin = {
  SAE_PLUGIN_HEADER,
  .name = "softmax",
  .version = "1.0",
  .summary = "softmax (multinomial logistic) loss over class labels",
  .types = softmax_types,
};

const sae_plugin *saelab_plugin(uint32_t host_abi);
const sae_plugin *saelab_plugin(uint32_t host_abi) {
  return host_abi == SAE_PLUGIN_ABI ? &softmax_plugin : NULL;
}
