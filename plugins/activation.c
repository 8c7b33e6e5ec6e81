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
 *
 * Speed: the sigmoid's exp is glibc's vector exp where the build has libmvec
 * (saelab/elementwise.h: within 4 ulp of libm's, checked by
 * tests/check_elementwise.c); every pass is split over OpenMP threads under
 * the policy of sae_ew_threads.
 */
#include <math.h>
#include <string.h>
#include <gsl/gsl_matrix.h>
#include <saelab/elementwise.h>
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

/* ---- passes --------------------------------------------------------------------
 * Every map runs over spans of its operands (saelab/elementwise.h: the flat
 * block in chunks when rows are contiguous, else rows), split over threads
 * when sae_ew_threads allows.  Results are per element: the same on any
 * thread count.  A span kernel gets (n, a, b, out, write): forward
 * (n, x, NULL, y, 1), backward (n, y, dy, dx, 0: dx +=) and backward_write
 * (n, y, dy, dx, 1: dx =, the host's dx being unwritten). */
typedef void (*act_span_fn)(size_t n, const double *restrict a, const double *restrict b,
                            double *restrict out, int write);

static void act_pass(act_span_fn f, const gsl_matrix *a, const gsl_matrix *b, gsl_matrix *out,
                     int write) {
  const size_t tdas[3] = {a->tda, out->tda, b ? b->tda : out->tda};
  const sae_ew_plan p = sae_ew_plan_for(out->size1, out->size2, tdas, 3);
  const int nt = sae_ew_threads(p.total);
  (void)nt;
  SAE_EW_PRAGMA(omp parallel for if(nt > 1) num_threads(nt) schedule(static))
  for (size_t s = 0; s < p.count; s++)
    f(sae_ew_len(&p, s), a->data + sae_ew_off(&p, s, a->tda),
      b ? b->data + sae_ew_off(&p, s, b->tda) : NULL, out->data + sae_ew_off(&p, s, out->tda),
      write);
}

static void sigmoid_fwd_span(size_t n, const double *restrict x, const double *restrict unused,
                             double *restrict y, int write) {
  (void)unused;
  (void)write;
  sae_sigmoid(n, x, y);
}

SAE_EW_CLONES static void sigmoid_bwd_span(size_t n, const double *restrict y, const double *restrict dy,
                             double *restrict dx, int write) {
  SAE_EW_STORE(write, n, j, dx, dy[j] * y[j] * (1.0 - y[j]));
}

static void tanh_fwd_span(size_t n, const double *restrict x, const double *restrict unused,
                          double *restrict y, int write) {
  (void)unused;
  (void)write;
  for (size_t j = 0; j < n; j++) y[j] = tanh(x[j]);
}

SAE_EW_CLONES static void tanh_bwd_span(size_t n, const double *restrict y, const double *restrict dy,
                          double *restrict dx, int write) {
  SAE_EW_STORE(write, n, j, dx, dy[j] * (1.0 - y[j] * y[j]));
}

SAE_EW_CLONES static void relu_fwd_span(size_t n, const double *restrict x, const double *restrict unused,
                          double *restrict y, int write) {
  (void)unused;
  (void)write;
  SAE_EW_PRAGMA(omp simd)
  for (size_t j = 0; j < n; j++) y[j] = x[j] > 0.0 ? x[j] : 0.0;
}

SAE_EW_CLONES static void relu_bwd_span(size_t n, const double *restrict y, const double *restrict dy,
                          double *restrict dx, int write) {
  SAE_EW_STORE(write, n, j, dx, y[j] > 0.0 ? dy[j] : 0.0);
}

static void identity_fwd_span(size_t n, const double *restrict x, const double *restrict unused,
                              double *restrict y, int write) {
  (void)unused;
  (void)write;
  memcpy(y, x, n * sizeof *y);
}

SAE_EW_CLONES static void identity_bwd_span(size_t n, const double *restrict y, const double *restrict dy,
                              double *restrict dx, int write) {
  (void)y;
  SAE_EW_STORE(write, n, j, dx, dy[j]);
}

static int act_forward(sae_node *nd, const gsl_matrix *x, gsl_matrix *y, act_span_fn f) {
  if (act_check(nd, x, y)) return SAE_ESHAPE;
  act_pass(f, x, NULL, y, 1);
  return SAE_OK;
}

static int act_backward(sae_node *nd, const gsl_matrix *y, const gsl_matrix *dy, gsl_matrix *dx,
                        act_span_fn f, int write) {
  if (!dx) return SAE_OK;
  if (act_check(nd, y, dy) || act_check(nd, y, dx)) return SAE_ESHAPE;
  act_pass(f, y, dy, dx, write);
  return SAE_OK;
}

#define ACT_FUNCS(name)                                                                         \
  static int name##_forward(sae_node *nd, const gsl_matrix *x, gsl_matrix *y, double *cost) {  \
    (void)cost;                                                                                 \
    return act_forward(nd, x, y, name##_fwd_span);                                              \
  }                                                                                             \
  static int name##_backward(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y,           \
                             const gsl_matrix *dy, gsl_matrix *dx) {                            \
    (void)x;                                                                                    \
    return act_backward(nd, y, dy, dx, name##_bwd_span, 0);                                     \
  }                                                                                             \
  static int name##_backward_write(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y,     \
                                   const gsl_matrix *dy, gsl_matrix *dx) {                      \
    (void)x;                                                                                    \
    return act_backward(nd, y, dy, dx, name##_bwd_span, 1);                                     \
  }
ACT_FUNCS(sigmoid)
ACT_FUNCS(tanh)
ACT_FUNCS(relu)
ACT_FUNCS(identity)

static const sae_type act_sigmoid = {
  .name = "sigmoid",
  .kind = SAE_KIND_ACTIVATION,
  .summary = "y = 1/(1+exp(-x))",
  .citation = "Ng, CS294A Sparse autoencoder notes (2011), section 2",
  .flags = 0,
  .setup = act_setup,
  .forward = sigmoid_forward,
  .backward = sigmoid_backward,
  .backward_write = sigmoid_backward_write,
  .backward_span = sigmoid_bwd_span,
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
  .backward_write = tanh_backward_write,
  .backward_span = tanh_bwd_span,
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
  .backward_write = relu_backward_write,
  .backward_span = relu_bwd_span,
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
  .backward_write = identity_backward_write,
  .backward_span = identity_bwd_span,
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
