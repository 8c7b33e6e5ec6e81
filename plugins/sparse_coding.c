/* sparse_coding.c -- sparse coding as a model: the batch's codes as a learned
 * tensor (`code`), and a dictionary solved in closed form (`atoms`).
 *
 * Olshausen & Field, Nature 381 (1996); UFLDL, exercise "Sparse Coding"
 * (Ng et al.), whose objective over a batch of m patches x_i (rows) is
 *
 *   J(A, Z) = 1/m sum_i ||z_i A - x_i||^2 + lambda sum_i P(z_i) + gamma ||A||_F^2
 *
 * minimised alternately: the codes Z by L-BFGS with A fixed, then A in closed
 * form with Z fixed.  As a saelab model (the penalty P is any penalty node,
 * `l1` or `group`):
 *
 *   code (y = Z) -> group (P) -> atoms (y = z A) -> squared_error (target x)
 *
 * Z is the only tensor optimisers move (sae.lbfgs over the model is the
 * codes' inference); A and the scratch "gram" are NOGRAD, and atoms' update()
 * (net:update) replaces A by the minimiser over A.  saelab's squared error is
 * 1/(2m) sum ||.||^2, so the model's cost is J/2 when atoms' gamma is UFLDL's
 * gamma and the penalty's lambda is UFLDL's lambda times m/2 (UFLDL sums the
 * sparsity over the batch, saelab's penalties average it).
 *
 * code -- LAYER; hps n_out (K), m (rows of Z).  The input x is ignored except
 * for its number of rows m' <= m: y = the first m' rows of Z.
 *   forward: y = Z[1..m']        backward: grad Z[1..m'] += dy   (dx: nothing)
 *
 * atoms -- LAYER; hps n_out (n, the data's width), gamma.  Tensors A (K x n,
 * one atom per row, NOGRAD) and gram (K x K, NOGRAD: update()'s workspace,
 * since plugins allocate nothing).
 *   forward:  y = x A,  cost += gamma/2 ||A||_F^2      backward: dx += dy A^T
 *   update:   A = (x^T x + gamma m I)^{-1} x^T t     (t = the batch's target,
 *             else its input), the zero of the cost's gradient in A:
 *             1/m x^T (x A - t) + gamma A = 0.  eta is not used (closed form).
 */
#include <math.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <saelab/plugin.h>

enum { CODE_N_OUT, CODE_M };

static const sae_hparam code_hparams[] = {
  [CODE_N_OUT] = {"n_out", 5, 1, 1e6, SAE_HP_INT | SAE_HP_FIXED, "code width K (features)"},
  [CODE_M] = {"m", 16, 1, 1e7, SAE_HP_INT | SAE_HP_FIXED,
              "rows of Z: the largest batch; a batch of m' rows uses the first m'"},
  {NULL, 0, 0, 0, 0, NULL}
};

static int code_setup(sae_node *nd) {
  nd->n_out = (size_t)nd->hp[CODE_N_OUT];
  nd->n_tensors = 1;
  nd->tensor[0] = (sae_tensor_spec){"Z", (size_t)nd->hp[CODE_M], nd->n_out, SAE_INIT_UNIFORM, 0.5, 0};
  nd->ws_per_example = 0;
  return SAE_OK;
}

static int code_rows(sae_node *nd, size_t m, const gsl_matrix *a, const char *a_name) {
  if (m == 0 || m > nd->param[0].size1)
    return SAE_FAIL(nd, SAE_ESHAPE, "code: a batch of %zu rows, Z holds %zu (hyper-parameter m)", m,
                    nd->param[0].size1);
  if (a->size1 != m || a->size2 != nd->n_out)
    return SAE_FAIL(nd, SAE_ESHAPE, "code: %s is %zu x %zu, expected %zu x %zu", a_name, a->size1,
                    a->size2, m, nd->n_out);
  return SAE_OK;
}

static int code_forward(sae_node *nd, const gsl_matrix *x, gsl_matrix *y, double *cost) {
  (void)cost;
  int rc = code_rows(nd, x->size1, y, "y");
  if (rc) return rc;
  gsl_matrix_const_view Z = gsl_matrix_const_submatrix(&nd->param[0], 0, 0, x->size1, nd->n_out);
  gsl_matrix_memcpy(y, &Z.matrix);
  return SAE_OK;
}

static int code_backward(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y,
                         const gsl_matrix *dy, gsl_matrix *dx) {
  (void)y;
  (void)dx; /* y does not depend on x */
  int rc = code_rows(nd, x->size1, dy, "dy");
  if (rc) return rc;
  gsl_matrix_view dZ = gsl_matrix_submatrix(&nd->grad[0], 0, 0, x->size1, nd->n_out);
  gsl_matrix_add(&dZ.matrix, dy);
  return SAE_OK;
}

enum { AT_N_OUT, AT_GAMMA };

static const sae_hparam atoms_hparams[] = {
  [AT_N_OUT] = {"n_out", 5, 1, 1e6, SAE_HP_INT | SAE_HP_FIXED, "output width n (pixels)"},
  [AT_GAMMA] = {"gamma", 1e-2, 0, 1e6, 0, "weight gamma of gamma/2 ||A||^2 (UFLDL's gamma)"},
  {NULL, 0, 0, 0, 0, NULL}
};

static int atoms_setup(sae_node *nd) {
  const size_t K = nd->n_in, n = (size_t)nd->hp[AT_N_OUT];
  if (K < 1) return SAE_FAIL(nd, SAE_ESHAPE, "atoms: input width is 0");
  nd->n_out = n;
  nd->n_tensors = 2;
  nd->tensor[0] = (sae_tensor_spec){"A", K, n, SAE_INIT_UNIFORM, 0.5, SAE_TENSOR_NOGRAD};
  nd->tensor[1] = (sae_tensor_spec){"gram", K, K, SAE_INIT_ZERO, 0.0, SAE_TENSOR_NOGRAD};
  nd->ws_per_example = 0;
  return SAE_OK;
}

static int atoms_shape(sae_node *nd, const gsl_matrix *x, const gsl_matrix *a, const char *a_name) {
  if (x->size2 != nd->n_in)
    return SAE_FAIL(nd, SAE_ESHAPE, "atoms: x is %zu x %zu, expected m x %zu", x->size1, x->size2,
                    nd->n_in);
  if (a->size1 != x->size1 || a->size2 != nd->n_out)
    return SAE_FAIL(nd, SAE_ESHAPE, "atoms: %s is %zu x %zu, expected %zu x %zu", a_name, a->size1,
                    a->size2, x->size1, nd->n_out);
  return SAE_OK;
}

static int atoms_forward(sae_node *nd, const gsl_matrix *x, gsl_matrix *y, double *cost) {
  int rc = atoms_shape(nd, x, y, "y");
  if (rc) return rc;
  const gsl_matrix *A = &nd->param[0];
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, x, A, 0.0, y);
  double ss = 0.0;
  for (size_t k = 0; k < A->size1; k++)
    for (size_t j = 0; j < A->size2; j++) ss += gsl_matrix_get(A, k, j) * gsl_matrix_get(A, k, j);
  *cost += 0.5 * nd->hp[AT_GAMMA] * ss;
  return SAE_OK;
}

static int atoms_backward(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y,
                          const gsl_matrix *dy, gsl_matrix *dx) {
  (void)y;
  if (!dx) return SAE_OK;
  int rc = atoms_shape(nd, x, dy, "dy");
  if (rc) return rc;
  gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, dy, &nd->param[0], 1.0, dx);
  return SAE_OK;
}

static int atoms_update(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y, double eta) {
  (void)eta;
  const sae_batch *b = nd->batch;
  const gsl_matrix *t = b && b->target ? b->target : b ? b->x : NULL;
  int rc = atoms_shape(nd, x, y, "y");
  if (rc) return rc;
  if (!t || t->size1 != x->size1 || t->size2 != nd->n_out)
    return SAE_FAIL(nd, SAE_ESHAPE, "atoms: update needs a target of %zu x %zu", x->size1,
                    nd->n_out);
  gsl_matrix *A = &nd->param[0], *gram = &nd->param[1];
  const double reg = nd->hp[AT_GAMMA] * (double)x->size1;
  gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, x, x, 0.0, gram);
  for (size_t k = 0; k < gram->size1; k++) *gsl_matrix_ptr(gram, k, k) += reg;
  if (gsl_linalg_cholesky_decomp1(gram))
    return SAE_FAIL(nd, SAE_ENUMERIC,
                    "atoms: x^T x + gamma m I is not positive definite (gamma = 0 and codes "
                    "of rank < %zu?)", gram->size1);
  gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, x, t, 0.0, A); /* A = x^T t, then solve */
  gsl_blas_dtrsm(CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, 1.0, gram, A);
  gsl_blas_dtrsm(CblasLeft, CblasLower, CblasTrans, CblasNonUnit, 1.0, gram, A);
  return SAE_OK;
}

static const sae_type code_type = {
  .name = "code",
  .kind = SAE_KIND_LAYER,
  .summary = "y = Z: the batch's codes as a learned tensor (x only gives the batch size)",
  .citation = "UFLDL, exercise Sparse Coding (features as optimised variables)",
  .hparams = code_hparams,
  .setup = code_setup,
  .forward = code_forward,
  .backward = code_backward,
};

static const sae_type atoms_type = {
  .name = "atoms",
  .kind = SAE_KIND_LAYER,
  .summary = "y = x A, cost += gamma/2 ||A||^2; update(): A solved in closed form",
  .citation = "UFLDL, exercise Sparse Coding (closed-form basis)",
  .hparams = atoms_hparams,
  .setup = atoms_setup,
  .forward = atoms_forward,
  .backward = atoms_backward,
  .update = atoms_update,
};

static const sae_type *const sc_types[] = {&code_type, &atoms_type, NULL};

static const sae_plugin sc_plugin = {
  SAE_PLUGIN_HEADER,
  .name = "sparse_coding",
  .version = "1.0",
  .summary = "sparse coding as a model: codes as parameters, closed-form dictionary",
  .types = sc_types,
};

const sae_plugin *saelab_plugin(uint32_t host_abi);
const sae_plugin *saelab_plugin(uint32_t host_abi) {
  return host_abi == SAE_PLUGIN_ABI ? &sc_plugin : NULL;
}
