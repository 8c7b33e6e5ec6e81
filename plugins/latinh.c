/* latinh.c -- structured sparse coding via lateral inhibition.
 *
 * Gregor, Szlam & LeCun, "Structured sparse coding via lateral inhibition",
 * NIPS 2011, eq. 2, and LeCun's lecture on it.  Per example x (a row of the
 * node's input, n values) the code is the argmin, found inside forward, of
 *
 *   E(x, z) = 1/2 ||x - z D||^2 + lambda ||z||_1 + |z|^T S |z|
 *
 *   D  K x n   the dictionary, atom j = row j (units as rows, plugin.h)
 *   S  K x K   the inhibition: symmetric, non-negative, zero diagonal.
 *              S_ij > 0 makes units i and j costly together; S_ij = 0 lets
 *              them co-activate.
 *
 * Inference is <saelab/sparse.h>'s sae_sparse_code (ISTA/FISTA, the
 * inhibition as the adaptive threshold lambda + 2 (S|z|)_i), not a copy of
 * it.  forward: y = Z* (m x K), cost += (1/m) sum_i E(x_i, z_i*).
 *
 * backward, by the envelope theorem (at z* = argmin_z E, d(min_z E)/dtheta =
 * dE/dtheta with z* held fixed; nothing is differentiated through the
 * argmin):
 *   grad D += -(1/m) Z^T (X - Z D)
 *   grad S += (1/m) |Z|^T |Z|            (when S is learned)
 *   dx     += (1/m) (X - Z D)
 * and dy must be 0 (SAE_ETYPE otherwise): the type is SAE_TYPE_ARGMIN, so the
 * host refuses a loss or penalty downstream of it at build, and its type
 * gradient check holds z* fixed (SAE_MODE_ENERGY, where forward only
 * evaluates E at the y it left).  The envelope gradient is exact only at the
 * exact minimiser: with finite iters it is an approximation that the model
 * gradient check (which re-runs inference) measures; tests/check_latinh.c
 * does at large and at the default iteration counts.
 *
 * S is a hyper-parameter (learn_S = 0: NOGRAD, set by the caller, checked at
 * every forward: non-negative, symmetric, zero diagonal) or learned
 * (learn_S = 1: ASCENT, the lecture's min over D, max over S).  Since
 * dE/dS = |Z|^T |Z| >= 0, ascent alone grows S without bound; project()
 * keeps it symmetric, non-negative, zero-diagonal, with every ROW summing to
 * s_row.  Why per row and not a fixed total: E is linear in S, and the
 * maximum of a linear function over {S >= 0, sum S = c} is a vertex, all the
 * budget on the single most co-active pair; a per-row budget gives every
 * unit the same inhibition to spend, so every unit keeps inhibiting its own
 * most co-active partners.  The rows are brought to s_row by symmetric
 * Sinkhorn scaling (row and column i times sqrt(s_row / rowsum_i), unit by
 * unit, swept until every row is within 1e-9 of s_row, at most 200 sweeps): a rescaling onto the constraint set, not the Euclidean
 * projection.  A row that is all zero stays zero.
 *
 * D is descended (unit-norm atoms after every step: project(), and init()).
 *
 * Workspace: sae_sc_ws_size(m, K) = K^2 + 2K (ws_fixed) + 5 m K, then the
 * residual X - Z D (m n): ws_per_example = 5K + n.  No state.
 *
 * Defaults are small for the registry-wide gradient check (6 inputs, 5
 * examples): n_hid = 8.  Pass n_hid = 256 for patches.
 */
#include <math.h>
#include <string.h>
#include <gsl/gsl_blas.h>
#include <saelab/plugin.h>
#include <saelab/sparse.h>

enum { LI_N_HID, LI_LAMBDA, LI_ITERS, LI_TOL, LI_FISTA, LI_STEP, LI_NONNEG, LI_LEARN_S, LI_S_ROW };
enum { LI_D, LI_S }; /* tensor indices */

static const sae_hparam latinh_hparams[] = {
  {"n_hid", 8, 1, 1e5, SAE_HP_INT | SAE_HP_FIXED, "atoms K (rows of D)"},
  {"lambda", 0.1, 0, 1e3, 0, "L1 weight lambda (paper: lambda)"},
  {"iters", 200, 1, 1e6, SAE_HP_INT, "ISTA/FISTA iterations at most"},
  {"tol", 1e-6, 0, 1, 0,
   "stop when max |z_new - z_old| <= tol max(1, max |z|); 0: always run iters"},
  {"fista", 1, 0, 1, SAE_HP_INT, "1: FISTA's momentum; 0: plain ISTA"},
  {"step", 0, 0, 1e6, 0,
   "ISTA step eta; 0: 1/L, L = ||D D^T + 2S||_2 (nonneg) or ||D D^T||_2; above 1/L refused"},
  {"nonneg", 1, 0, 1, SAE_HP_INT, "1: codes z >= 0 (|z| = z); 0: signed codes"},
  {"learn_S", 0, 0, 1, SAE_HP_INT | SAE_HP_FIXED,
   "0: S is a hyper-parameter (NOGRAD, set by the caller); 1: learned by ascent (ASCENT)"},
  {"s_row", 1, 0, 1e6, 0, "learned S: every row sums to s_row after project()"},
  {NULL, 0, 0, 0, 0, NULL}
};

static size_t K_of(const sae_node *nd) { return (size_t)nd->hp[LI_N_HID]; }

static int latinh_setup(sae_node *nd) {
  if (nd->n_in < 1) return SAE_FAIL(nd, SAE_ESHAPE, "latinh: input width is 0");
  const size_t K = K_of(nd), n = nd->n_in;
  nd->n_out = K;
  nd->n_tensors = 2;
  nd->ws_per_example = 5 * K + n;
  nd->ws_fixed = K * K + 2 * K;
  nd->tensor[LI_D] = (sae_tensor_spec){"D", K, n, SAE_INIT_NORMAL, 1.0 / sqrt((double)n), 0};
  nd->tensor[LI_S] = (sae_tensor_spec){
    "S", K, K, SAE_INIT_ZERO, 0, nd->hp[LI_LEARN_S] != 0 ? SAE_TENSOR_ASCENT : SAE_TENSOR_NOGRAD};
  return SAE_OK;
}

static int unit_atoms(sae_node *nd, const char *who) {
  size_t j;
  if (sae_rows_unit(&nd->param[LI_D], &j) == 0) return SAE_OK;
  gsl_vector_view bad = gsl_matrix_row(&nd->param[LI_D], j);
  return SAE_FAIL(nd, SAE_ENUMERIC, "latinh %s: atom %zu has norm %g: cannot normalise it", who,
                  j + 1, gsl_blas_dnrm2(&bad.vector));
}

/* Learned S onto the constraints: (S + S^T)/2, clamped at 0, zero diagonal,
 * rows scaled symmetrically to s_row (see the top). */
static int project_S(sae_node *nd) {
  gsl_matrix *S = &nd->param[LI_S];
  const size_t K = S->size1;
  const double budget = nd->hp[LI_S_ROW];
  for (size_t i = 0; i < K; i++) {
    gsl_matrix_set(S, i, i, 0.0);
    for (size_t j = i + 1; j < K; j++) {
      double v = 0.5 * (gsl_matrix_get(S, i, j) + gsl_matrix_get(S, j, i));
      if (!isfinite(v))
        return SAE_FAIL(nd, SAE_ENUMERIC, "latinh project: S[%zu,%zu] = %g is not finite", i + 1,
                        j + 1, v);
      v = v > 0 ? v : 0.0;
      gsl_matrix_set(S, i, j, v);
      gsl_matrix_set(S, j, i, v);
    }
  }
  /* Symmetric Sinkhorn, one unit at a time (no scratch): scaling row and
   * column i by sqrt(s_row / rowsum_i) sets row i's sum to about s_row. */
  for (int sweep = 0; sweep < 200; sweep++) {
    double worst = 0.0;
    for (size_t i = 0; i < K; i++) {
      gsl_vector_view r = gsl_matrix_row(S, i), c = gsl_matrix_column(S, i);
      const double sum = gsl_blas_dasum(&r.vector);
      if (!(sum > 0)) continue;
      if (fabs(sum - budget) > worst) worst = fabs(sum - budget);
      const double a = sqrt(budget / sum);
      gsl_blas_dscal(a, &r.vector);
      gsl_blas_dscal(a, &c.vector);
    }
    if (worst <= 1e-9 * (budget > 1 ? budget : 1)) break;
  }
  return SAE_OK;
}

static int latinh_init(sae_node *nd) {
  if (nd->hp[LI_LEARN_S] != 0) { /* learned S starts uniform: every pair inhibited alike */
    const size_t K = K_of(nd);
    gsl_matrix *S = &nd->param[LI_S];
    gsl_matrix_set_all(S, K > 1 ? nd->hp[LI_S_ROW] / (double)(K - 1) : 0.0);
    for (size_t i = 0; i < K; i++) gsl_matrix_set(S, i, i, 0.0);
  }
  return unit_atoms(nd, "init");
}

static int latinh_project(sae_node *nd) {
  int rc = unit_atoms(nd, "project");
  if (rc || nd->hp[LI_LEARN_S] == 0) return rc;
  return project_S(nd);
}

/* A fixed S must be what the energy assumes. */
static int check_S(sae_node *nd) {
  const gsl_matrix *S = &nd->param[LI_S];
  const size_t K = S->size1;
  for (size_t i = 0; i < K; i++)
    for (size_t j = 0; j < K; j++) {
      const double v = gsl_matrix_get(S, i, j), w = gsl_matrix_get(S, j, i);
      if (!(v >= 0) || !isfinite(v))
        return SAE_FAIL(nd, SAE_EDATA, "latinh: S[%zu,%zu] = %g: inhibition must be finite and >= 0",
                        i + 1, j + 1, v);
      if (i == j && v != 0)
        return SAE_FAIL(nd, SAE_EDATA, "latinh: S[%zu,%zu] = %g: the diagonal must be 0", i + 1,
                        j + 1, v);
      if (fabs(v - w) > 1e-12 * (1 + fabs(v)))
        return SAE_FAIL(nd, SAE_EDATA, "latinh: S[%zu,%zu] = %g but S[%zu,%zu] = %g: S must be "
                        "symmetric", i + 1, j + 1, v, j + 1, i + 1, w);
    }
  return SAE_OK;
}

static int shapes(sae_node *nd, const gsl_matrix *x, const gsl_matrix *a, size_t width,
                  const char *name) {
  if (x->size2 != nd->n_in || a->size1 != x->size1 || a->size2 != width)
    return SAE_FAIL(nd, SAE_ESHAPE, "latinh: x is %zu x %zu, %s %zu x %zu; expected m x %zu, m x %zu",
                    x->size1, x->size2, name, a->size1, a->size2, nd->n_in, width);
  if (nd->trans[LI_D] || nd->trans[LI_S])
    return SAE_FAIL(nd, SAE_ETYPE, "latinh: D or S is tied transposed; latinh stores D as "
                    "n_hid x n_in (row j = atom j): use share, not tie");
  return SAE_OK;
}

static sae_sc_problem problem(const sae_node *nd) {
  return (sae_sc_problem){&nd->param[LI_D], &nd->param[LI_S], nd->hp[LI_LAMBDA],
                          nd->hp[LI_NONNEG] != 0};
}

static int latinh_forward(sae_node *nd, const gsl_matrix *x, gsl_matrix *y, double *cost) {
  const size_t m = x->size1, K = K_of(nd);
  int rc = shapes(nd, x, y, K, "y");
  if (rc) return rc;
  const sae_sc_problem p = problem(nd);
  const int energy_only = nd->batch && nd->batch->mode == SAE_MODE_ENERGY;
  if (!energy_only) {
    /* A learned S is kept valid by project(); the gradient check moves its
     * entries one at a time (asymmetric), which the energy is defined for. */
    if (nd->hp[LI_LEARN_S] == 0 && (rc = check_S(nd))) return rc;
    const sae_sc_opts o = {(size_t)nd->hp[LI_ITERS], nd->hp[LI_TOL], nd->hp[LI_FISTA] != 0,
                           nd->hp[LI_STEP], 0};
    nd->msg[0] = '\0';
    rc = sae_sparse_code(&p, x, y, &o, nd->ws, NULL, NULL, nd->msg);
    if (rc) { /* the kernel's "sparse code: ..." becomes "latinh: ..." */
      char why[SAE_MSG_SIZE - 16]; /* room for "latinh: " */
      const char *rest = strncmp(nd->msg, "sparse code: ", 13) ? nd->msg : nd->msg + 13;
      snprintf(why, sizeof why, "%.*s", (int)sizeof why - 1, rest[0] ? rest : "inference failed");
      return SAE_FAIL(nd, rc, "latinh: %s", why);
    }
  }
  if (cost && m) {
    const double e = sae_sc_energy(&p, x, y, nd->ws);
    if (!isfinite(e)) return SAE_FAIL(nd, SAE_ENUMERIC, "latinh: energy %g is not finite", e);
    *cost += e / (double)m;
  }
  return SAE_OK;
}

static int latinh_backward(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y,
                           const gsl_matrix *dy, gsl_matrix *dx) {
  const size_t m = x->size1, K = K_of(nd), n = nd->n_in;
  int rc;
  if ((rc = shapes(nd, x, y, K, "z")) || (rc = shapes(nd, x, dy, K, "dy")) ||
      (dx && (rc = shapes(nd, x, dx, n, "dx"))))
    return rc;
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < K; j++)
      if (gsl_matrix_get(dy, i, j) != 0.0)
        return SAE_FAIL(nd, SAE_ETYPE, "latinh: its code is an argmin; nothing downstream may "
                        "train through it (dy[%zu,%zu] = %g)", i + 1, j + 1,
                        gsl_matrix_get(dy, i, j));
  if (m == 0) return SAE_OK;
  const double s = 1.0 / (double)m;
  /* R = X - Z D, then the three envelope terms */
  gsl_matrix_view R = gsl_matrix_view_array(nd->ws, m, n);
  gsl_matrix_memcpy(&R.matrix, x);
  if ((rc = gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, -1.0, y, &nd->param[LI_D], 1.0, &R.matrix)))
    return SAE_FAIL(nd, rc, "latinh: Z D: shapes do not fit");
  if ((rc = gsl_blas_dgemm(CblasTrans, CblasNoTrans, -s, y, &R.matrix, 1.0, &nd->grad[LI_D])))
    return SAE_FAIL(nd, rc, "latinh: Z^T R: shapes do not fit");
  if (dx)
    for (size_t i = 0; i < m; i++)
      for (size_t j = 0; j < n; j++) *gsl_matrix_ptr(dx, i, j) += s * gsl_matrix_get(&R.matrix, i, j);
  if (nd->hp[LI_LEARN_S] != 0) {
    /* |Z| into the residual's place (m K <= the 5 m K + m n workspace) */
    gsl_matrix_view A = gsl_matrix_view_array(nd->ws, m, K);
    for (size_t i = 0; i < m; i++)
      for (size_t j = 0; j < K; j++) gsl_matrix_set(&A.matrix, i, j, fabs(gsl_matrix_get(y, i, j)));
    if ((rc = gsl_blas_dgemm(CblasTrans, CblasNoTrans, s, &A.matrix, &A.matrix, 1.0,
                             &nd->grad[LI_S])))
      return SAE_FAIL(nd, rc, "latinh: |Z|^T |Z|: shapes do not fit");
  }
  return SAE_OK;
}

static const sae_type latinh_type = {
  .name = "latinh",
  .kind = SAE_KIND_LAYER,
  .summary = "z = argmin_z 1/2||x - z D||^2 + lambda|z|_1 + |z|^T S |z| (ISTA/FISTA); "
             "cost += E(x, z); envelope gradient for D and S",
  .citation = "Gregor, Szlam & LeCun, Structured sparse coding via lateral inhibition, NIPS 2011, eq. 2",
  .hparams = latinh_hparams,
  .flags = SAE_TYPE_NONSMOOTH | SAE_TYPE_ARGMIN,
  .setup = latinh_setup,
  .init = latinh_init,
  .forward = latinh_forward,
  .backward = latinh_backward,
  .project = latinh_project,
};

static const sae_type *const latinh_types[] = {&latinh_type, NULL};

static const sae_plugin latinh_plugin = {
  SAE_PLUGIN_HEADER,
  .name = "latinh",
  .version = "1.0",
  .summary = "structured sparse coding via lateral inhibition (argmin code, envelope gradient)",
  .types = latinh_types,
};

const sae_plugin *saelab_plugin(uint32_t host_abi);
const sae_plugin *saelab_plugin(uint32_t host_abi) {
  return host_abi == SAE_PLUGIN_ABI ? &latinh_plugin : NULL;
}
