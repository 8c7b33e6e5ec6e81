/* activation.c -- elementwise nonlinearities: sigmoid, tanh, relu, identity.
 *
 * Ng, CS294A Lecture notes "Sparse autoencoder" (2011), section 2:
 * a = f(z) with f the sigmoid (or tanh); the derivative written through the
 * output, f'(z) = f(z)(1 - f(z)) for the sigmoid and 1 - f(z)^2 for tanh
 * (section 2, after eq. "delta^(nl)").  ReLU: Nair & Hinton, ICML 2010.
 *
 *   type       forward                     backward (dx += ...)
 *   sigmoid    y = 1 / (1 + exp(-x))       dy * y * (1 - y)
 *   tanh       y = tanh(x)                 dy * (1 - y^2)
 *   relu       y = max(x, 0)               dy * [y > 0]     (kink at 0: NONSMOOTH)
 *   identity   y = x                       dy
 *
 * Shapes: x, y, dy, dx are m x n (m examples, one per row; n = n_in = n_out).
 * Backward reads only y.  No hyper-parameters, tensors, state or workspace.
 */
#include <math.h>
#include <gsl/gsl_matrix.h>
#include <saelab/plugin.h>

static int act_setup(sae_node *nd) {
  nd->n_out = nd->n_in;
  nd->n_tensors = 0;
  nd->ws_per_example = 0;
  return SAE_OK;
}

/* Elementwise: a and b (x and y, or y and dy, or y and dx) have one shape. */
static int act_check(sae_node *nd, const gsl_matrix *a, const gsl_matrix *b) {
  const char *name = nd->type ? nd->type->name : "activation";
  if (a->size1 != b->size1 || a->size2 != b->size2)
    return SAE_FAIL(nd, SAE_ESHAPE, "%s: shapes %zu x %zu and %zu x %zu differ", name, a->size1,
                    a->size2, b->size1, b->size2);
  return SAE_OK;
}

static int sigmoid_forward(sae_node *nd, const gsl_matrix *x, gsl_matrix *y, double *cost) {
  const size_t m = x->size1, n = x->size2;
  (void)cost;
  if (act_check(nd, x, y)) return SAE_ESHAPE;
  for (size_t i = 0; i < m; i++) {
    const double *xi = x->data + i * x->tda;
    double *yi = y->data + i * y->tda;
    for (size_t j = 0; j < n; j++) yi[j] = 1.0 / (1.0 + exp(-xi[j]));
  }
  return SAE_OK;
}

static int sigmoid_backward(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y,
                            const gsl_matrix *dy, gsl_matrix *dx) {
  const size_t m = x->size1, n = y->size2;
  if (!dx) return SAE_OK;
  if (act_check(nd, y, dy) || act_check(nd, y, dx)) return SAE_ESHAPE;
  for (size_t i = 0; i < m; i++) {
    const double *yi = y->data + i * y->tda, *dyi = dy->data + i * dy->tda;
    double *dxi = dx->data + i * dx->tda;
    for (size_t j = 0; j < n; j++) dxi[j] += dyi[j] * yi[j] * (1.0 - yi[j]);
  }
  return SAE_OK;
}

static int tanh_forward(sae_node *nd, const gsl_matrix *x, gsl_matrix *y, double *cost) {
  const size_t m = x->size1, n = x->size2;
  (void)cost;
  if (act_check(nd, x, y)) return SAE_ESHAPE;
  for (size_t i = 0; i < m; i++) {
    const double *xi = x->data + i * x->tda;
    double *yi = y->data + i * y->tda;
    for (size_t j = 0; j < n; j++) yi[j] = tanh(xi[j]);
  }
  return SAE_OK;
}

static int tanh_backward(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y,
                         const gsl_matrix *dy, gsl_matrix *dx) {
  const size_t m = x->size1, n = y->size2;
  if (!dx) return SAE_OK;
  if (act_check(nd, y, dy) || act_check(nd, y, dx)) return SAE_ESHAPE;
  for (size_t i = 0; i < m; i++) {
    const double *yi = y->data + i * y->tda, *dyi = dy->data + i * dy->tda;
    double *dxi = dx->data + i * dx->tda;
    for (size_t j = 0; j < n; j++) dxi[j] += dyi[j] * (1.0 - yi[j] * yi[j]);
  }
  return SAE_OK;
}

static int relu_forward(sae_node *nd, const gsl_matrix *x, gsl_matrix *y, double *cost) {
  const size_t m = x->size1, n = x->size2;
  (void)cost;
  if (act_check(nd, x, y)) return SAE_ESHAPE;
  for (size_t i = 0; i < m; i++) {
    const double *xi = x->data + i * x->tda;
    double *yi = y->data + i * y->tda;
    for (size_t j = 0; j < n; j++) yi[j] = xi[j] > 0.0 ? xi[j] : 0.0;
  }
  return SAE_OK;
}

static int relu_backward(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y,
                         const gsl_matrix *dy, gsl_matrix *dx) {
  const size_t m = x->size1, n = y->size2;
  if (!dx) return SAE_OK;
  if (act_check(nd, y, dy) || act_check(nd, y, dx)) return SAE_ESHAPE;
  for (size_t i = 0; i < m; i++) {
    const double *yi = y->data + i * y->tda, *dyi = dy->data + i * dy->tda;
    double *dxi = dx->data + i * dx->tda;
    for (size_t j = 0; j < n; j++) dxi[j] += yi[j] > 0.0 ? dyi[j] : 0.0;
  }
  return SAE_OK;
}

static int identity_forward(sae_node *nd, const gsl_matrix *x, gsl_matrix *y, double *cost) {
  const size_t m = x->size1, n = x->size2;
  (void)cost;
  if (act_check(nd, x, y)) return SAE_ESHAPE;
  for (size_t i = 0; i < m; i++) {
    const double *xi = x->data + i * x->tda;
    double *yi = y->data + i * y->tda;
    for (size_t j = 0; j < n; j++) yi[j] = xi[j];
  }
  return SAE_OK;
}

static int identity_backward(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y,
                             const gsl_matrix *dy, gsl_matrix *dx) {
  const size_t m = x->size1, n = y->size2;
  if (!dx) return SAE_OK;
  if (act_check(nd, y, dy) || act_check(nd, y, dx)) return SAE_ESHAPE;
  for (size_t i = 0; i < m; i++) {
    const double *dyi = dy->data + i * dy->tda;
    double *dxi = dx->data + i * dx->tda;
    for (size_t j = 0; j < n; j++) dxi[j] += dyi[j];
  }
  return SAE_OK;
}

static const sae_type act_sigmoid = {
  .name = "sigmoid",
  .kind = SAE_KIND_ACTIVATION,
  .summary = "y = 1/(1+exp(-x))",
  .citation = "Ng, CS294A Sparse autoencoder notes (2011), section 2",
  .flags = 0,
  .setup = act_setup,
  .forward = sigmoid_forward,
  .backward = sigmoid_backward,
};

static const sae_type act_tanh = {
  .name = "tanh",
  .kind = SAE_KIND_ACTIVATION,
  .summary = "y = tanh(x)",
  .citation = "Ng, CS294A Sparse autoencoder notes (2011), section 2",
  .flags = 0,
  .setup = act_setup,
  .forward = tanh_forward,
  .backward = tanh_backward,
};

static const sae_type act_relu = {
  .name = "relu",
  .kind = SAE_KIND_ACTIVATION,
  .summary = "y = max(x, 0)",
  .citation = "Nair & Hinton, Rectified linear units improve RBMs, ICML 2010",
  .flags = SAE_TYPE_NONSMOOTH,
  .setup = act_setup,
  .forward = relu_forward,
  .backward = relu_backward,
};

static const sae_type act_identity = {
  .name = "identity",
  .kind = SAE_KIND_ACTIVATION,
  .summary = "y = x",
  .citation = "",
  .flags = 0,
  .setup = act_setup,
  .forward = identity_forward,
  .backward = identity_backward,
};

static const sae_type *const act_types[] = {&act_sigmoid, &act_tanh, &act_relu, &act_identity,
                                            NULL};

static const sae_plugin act_plugin = {
  SAE_PLUGIN_HEADER,
  .name = "activation",
  .version = "1.0",
  .summary = "elementwise nonlinearities",
  .types = act_types,
};

const sae_plugin *saelab_plugin(uint32_t host_abi);
const sae_plugin *saelab_plugin(uint32_t host_abi) {
  return host_abi == SAE_PLUGIN_ABI ? &act_plugin : NULL;
}
