/* penalty_group.c -- group sparsity: the L2 norm of pooled groups of units,
 * summed (group lasso, topographic maps).
 *
 * Hyvarinen & Hoyer, "A two-layer sparse coding model learns simple and
 * complex cell receptive fields and topography from natural images", Vision
 * Research 41 (2001), eq. 4 (the square root of locally pooled energies);
 * Kavukcuoglu, Ranzato, Fergus & LeCun, "Learning invariant features through
 * topographic filter maps", CVPR 2009, eq. 3 (sum_i sqrt(sum_j w_j z_j^2),
 * Gaussian window weights w); UFLDL, exercise "Sparse Coding" (topographic
 * variant: lambda sum sqrt(V s.^2 + eps), V the grouping matrix).
 *
 * The grouping is a matrix G (n_groups x n, entries w_gj >= 0: row g the
 * weights of group g over the n units), held as a NOGRAD tensor "G" that
 * init() fills from the hyper-parameters and that Lua may overwrite with any
 * grouping (net:param(node, "G"):copy(M), or sae.models.set_groups).  Then
 * forward and backward are two dense products each (O(m n n_groups) by BLAS):
 *
 *   forward                                  backward
 *   Q = x .^ 2           (m x n)             R = 1 ./ sqrt(eps + S)   (m x n_groups)
 *   S = Q G^T            (m x n_groups)      T = R G                  (m x n)
 *   y = x                                    dx += dy + (lambda/m) x .* T
 *   cost += (lambda/m) sum_ig sqrt(eps + S_ig)
 *
 * since d/dx_ij sqrt(eps + S_ig) = w_gj x_ij / sqrt(eps + S_ig).  Why dense
 * products and not index lists per group: a 3x3 window over 121 units is 9
 * nonzeros of 121 per row, so lists would do 13x fewer flops, but the products
 * are one BLAS call each (dgemm runs at tens of GFLOP/s here, a gather loop at
 * about one), take any grouping Lua gives without a second code path, and
 * stay far below the dense encoder's cost (n_groups <= n_units).
 *
 * The built-in groupings, on units laid out row-major on a grid of `width`
 * columns and n / width rows (width 0: the most square grid, width the
 * smallest divisor of n that is >= sqrt(n)):
 *   tile = 0: one s x s window per position (s = size) -- topographic:
 *             wrap = 1: at every unit, on a torus (n groups);
 *             wrap = 0: only windows inside the grid ((H-s+1)(W-s+1) groups);
 *   tile = 1: disjoint s x s blocks (group lasso; size 1: one group per unit,
 *             the smoothed L1 of plain sparse coding);
 *   groups > 0: that many groups, G zero until Lua fills it.
 * sigma > 0 weighs the window by exp(-d^2 / (2 sigma^2)), d the distance of
 * the unit from the window's centre (Kavukcuoglu et al.); 0: box windows.
 *
 * Shapes: x, y, dy, dx m x n; G n_groups x n.  Workspace: Q and S, kept from
 * forward for backward (n + n_groups doubles per example).  No state.
 */
#include <math.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_matrix.h>
#include <saelab/plugin.h>

enum { GR_LAMBDA, GR_EPS, GR_WIDTH, GR_SIZE, GR_TILE, GR_WRAP, GR_SIGMA, GR_GROUPS };

static const sae_hparam group_hparams[] = {
  [GR_LAMBDA] = {"lambda", 1, 0, 1e6, 0, "weight lambda of the penalty"},
  [GR_EPS] = {"eps", 1e-5, 1e-12, 1e3, 0,
              "epsilon inside each root (UFLDL's 1e-5): keeps the cost smooth at z = 0"},
  [GR_WIDTH] = {"width", 0, 0, 65536, SAE_HP_INT | SAE_HP_FIXED,
                "columns of the unit grid; 0: the most square grid"},
  [GR_SIZE] = {"size", 2, 1, 63, SAE_HP_INT | SAE_HP_FIXED, "side s of the s x s windows"},
  [GR_TILE] = {"tile", 0, 0, 1, SAE_HP_INT | SAE_HP_FIXED,
               "0: an overlapping window per position (topographic); 1: disjoint blocks"},
  [GR_WRAP] = {"wrap", 1, 0, 1, SAE_HP_INT | SAE_HP_FIXED,
               "1: the grid is a torus (windows wrap around its edges)"},
  [GR_SIGMA] = {"sigma", 0, 0, 1e3, SAE_HP_FIXED,
                "0: box windows; > 0: Gaussian weights exp(-d^2/(2 sigma^2)) from the centre"},
  [GR_GROUPS] = {"groups", 0, 0, 1e6, SAE_HP_INT | SAE_HP_FIXED,
                 "0: groups from the grid; > 0: that many groups, G given from Lua"},
  {NULL, 0, 0, 0, 0, NULL}
};

/* The grid: W columns, H rows (W * H = n). */
static size_t gr_width(const sae_node *nd) {
  size_t w = (size_t)nd->hp[GR_WIDTH], n = nd->n_in;
  if (w) return w;
  for (w = 1; w * w < n; w++) {
  }
  while (n % w) w++;
  return w;
}

/* Number of groups the hyper-parameters give; checks them against n. */
static int gr_count(sae_node *nd, size_t *n_groups) {
  const size_t n = nd->n_in, W = gr_width(nd), s = (size_t)nd->hp[GR_SIZE];
  if (nd->hp[GR_GROUPS] > 0) {
    *n_groups = (size_t)nd->hp[GR_GROUPS];
    return SAE_OK;
  }
  if (n % W)
    return SAE_FAIL(nd, SAE_EHPARAM, "group: width %zu does not tile the %zu units (%zu %% %zu = %zu)",
                    W, n, n, W, n % W);
  const size_t H = n / W;
  if (s > W || s > H)
    return SAE_FAIL(nd, SAE_EHPARAM, "group: size %zu is larger than the %zu x %zu grid of units", s,
                    H, W);
  if (nd->hp[GR_TILE] > 0) {
    if (H % s || W % s)
      return SAE_FAIL(nd, SAE_EHPARAM,
                      "group: tile = 1 needs size %zu to divide both sides of the %zu x %zu grid",
                      s, H, W);
    *n_groups = (H / s) * (W / s);
  } else {
    *n_groups = nd->hp[GR_WRAP] > 0 ? n : (H - s + 1) * (W - s + 1);
  }
  return SAE_OK;
}

static int group_setup(sae_node *nd) {
  size_t n_groups;
  if (nd->n_in < 1) return SAE_FAIL(nd, SAE_ESHAPE, "group: input width is 0");
  int rc = gr_count(nd, &n_groups);
  if (rc) return rc;
  nd->n_out = nd->n_in;
  nd->n_tensors = 1;
  nd->tensor[0] = (sae_tensor_spec){"G", n_groups, nd->n_in, SAE_INIT_ZERO, 0.0, SAE_TENSOR_NOGRAD};
  nd->ws_per_example = nd->n_in + n_groups; /* Q, then S */
  return SAE_OK;
}

/* Window weight of the unit at offset (dr, dc) from the window's corner. */
static double gr_weight(double sigma, size_t s, size_t dr, size_t dc) {
  if (sigma <= 0) return 1.0;
  const double c = 0.5 * (double)(s - 1), a = (double)dr - c, b = (double)dc - c;
  return exp(-(a * a + b * b) / (2.0 * sigma * sigma));
}

/* Fills G from the grid hyper-parameters (nothing for explicit groups). */
static int group_init(sae_node *nd) {
  gsl_matrix *G = &nd->param[0];
  const size_t n = nd->n_in, W = gr_width(nd), H = n / W, s = (size_t)nd->hp[GR_SIZE];
  const double sigma = nd->hp[GR_SIGMA];
  gsl_matrix_set_zero(G);
  if (nd->hp[GR_GROUPS] > 0) return SAE_OK;
  const int tile = nd->hp[GR_TILE] > 0, wrap = nd->hp[GR_WRAP] > 0;
  /* the window corners, row-major: blocks step by s, windows by 1 */
  const size_t step = tile ? s : 1;
  const size_t nr = tile ? H / s : wrap ? H : H - s + 1, nc = tile ? W / s : wrap ? W : W - s + 1;
  size_t g = 0;
  for (size_t r0 = 0; r0 < nr; r0++)
    for (size_t c0 = 0; c0 < nc; c0++, g++)
      for (size_t dr = 0; dr < s; dr++)
        for (size_t dc = 0; dc < s; dc++) {
          const size_t r = (r0 * step + dr) % H, c = (c0 * step + dc) % W;
          gsl_matrix_set(G, g, r * W + c, gr_weight(sigma, s, dr, dc));
        }
  return SAE_OK;
}

static int gr_shape(sae_node *nd, const gsl_matrix *x, const gsl_matrix *a, const char *a_name) {
  if (x->size2 != nd->n_in)
    return SAE_FAIL(nd, SAE_ESHAPE, "group: x is %zu x %zu, expected m x %zu", x->size1, x->size2,
                    nd->n_in);
  if (a->size1 != x->size1 || a->size2 != x->size2)
    return SAE_FAIL(nd, SAE_ESHAPE, "group: x is %zu x %zu but %s is %zu x %zu", x->size1,
                    x->size2, a_name, a->size1, a->size2);
  if (x->size1 == 0) return SAE_FAIL(nd, SAE_ESHAPE, "group: empty batch (m = 0)");
  return SAE_OK;
}

/* A grouping from Lua may be anything: weights must be finite and >= 0, or
 * the root could go negative.  O(n_groups n), next to forward's O(m n_groups n). */
static int gr_check_G(sae_node *nd) {
  const gsl_matrix *G = &nd->param[0];
  for (size_t g = 0; g < G->size1; g++)
    for (size_t j = 0; j < G->size2; j++) {
      const double w = gsl_matrix_get(G, g, j);
      if (!(w >= 0) || !isfinite(w))
        return SAE_FAIL(nd, SAE_EDATA, "group: G[%zu,%zu] = %g: group weights must be >= 0", g + 1,
                        j + 1, w);
    }
  return SAE_OK;
}

static int group_forward(sae_node *nd, const gsl_matrix *x, gsl_matrix *y, double *cost) {
  const size_t m = x->size1, n = nd->n_in, ng = nd->param[0].size1;
  const double lambda = nd->hp[GR_LAMBDA], eps = nd->hp[GR_EPS];
  int rc = gr_shape(nd, x, y, "y");
  if (rc || (rc = gr_check_G(nd))) return rc;
  gsl_matrix_view Q = gsl_matrix_view_array(nd->ws, m, n);
  gsl_matrix_view S = gsl_matrix_view_array(nd->ws + m * n, m, ng);
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++) {
      const double v = gsl_matrix_get(x, i, j);
      gsl_matrix_set(&Q.matrix, i, j, v * v);
    }
  gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, &Q.matrix, &nd->param[0], 0.0, &S.matrix);
  double sum = 0.0;
  for (size_t k = 0; k < m * ng; k++) sum += sqrt(eps + S.matrix.data[k]);
  *cost += lambda / (double)m * sum;
  return SAE_OK;
}

static int group_backward(sae_node *nd, const gsl_matrix *x, const gsl_matrix *y,
                          const gsl_matrix *dy, gsl_matrix *dx) {
  const size_t m = x->size1, n = nd->n_in, ng = nd->param[0].size1;
  const double c = nd->hp[GR_LAMBDA] / (double)m, eps = nd->hp[GR_EPS];
  int rc;
  (void)y;
  if (!dx) return SAE_OK;
  if ((rc = gr_shape(nd, x, dy, "dy")) || (rc = gr_shape(nd, x, dx, "dx"))) return rc;
  /* S from forward becomes R; Q's space takes T = R G */
  gsl_matrix_view T = gsl_matrix_view_array(nd->ws, m, n);
  gsl_matrix_view R = gsl_matrix_view_array(nd->ws + m * n, m, ng);
  for (size_t k = 0; k < m * ng; k++) R.matrix.data[k] = 1.0 / sqrt(eps + R.matrix.data[k]);
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, &R.matrix, &nd->param[0], 0.0, &T.matrix);
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++)
      *gsl_matrix_ptr(dx, i, j) += /* PASSTHROUGH: dy is already in dx */
          c * gsl_matrix_get(x, i, j) * gsl_matrix_get(&T.matrix, i, j);
  return SAE_OK;
}

static const sae_type group_type = {
  .name = "group",
  .kind = SAE_KIND_PENALTY,
  .summary = "y = x; cost += lambda/m sum_i sum_g sqrt(eps + sum_j G_gj x_ij^2) (group sparsity)",
  .citation = "Hyvarinen & Hoyer, Vision Research 41 (2001), eq. 4; Kavukcuoglu et al., "
              "CVPR 2009, eq. 3",
  .hparams = group_hparams,
  .flags = SAE_TYPE_PASSTHROUGH, /* y is x, dy is dx (plugin.h) */
  .setup = group_setup,
  .init = group_init,
  .forward = group_forward,
  .backward = group_backward,
};

static const sae_type *const group_types[] = {&group_type, NULL};

static const sae_plugin group_plugin = {
  SAE_PLUGIN_HEADER,
  .name = "penalty_group",
  .version = "1.0",
  .summary = "group sparsity: disjoint blocks, topographic windows, explicit groups",
  .types = group_types,
};

const sae_plugin *saelab_plugin(uint32_t host_abi);
const sae_plugin *saelab_plugin(uint32_t host_abi) {
  return host_abi == SAE_PLUGIN_ABI ? &group_plugin : NULL;
}
