/*
 * saelab/sparse.h -- sparse-coding inference shared by every type and the
 * runtime: shrinkage, unit norms and norm bounds, the Lipschitz constant of a
 * dictionary, and ISTA/FISTA.
 * Installed beside <saelab/plugin.h>; header-only (static inline) so a plugin
 * needs nothing but GSL to link, and there is one copy of the source.
 *
 * The problem, per example x (a row of X, n values), for a code z (K values):
 *
 *   E(z) = 1/2 ||x - z D||^2 + lambda sum_i |z_i| + |z|^T S |z|
 *
 *   D  K x n   the dictionary, one atom per ROW (units as rows, plugin.h)
 *   S  K x K   lateral inhibition (Gregor, Szlam & LeCun, NIPS 2011, eq. 2):
 *              symmetric, non-negative, zero diagonal; NULL for none
 *   nonneg     1: z >= 0 (the ReLU shrink of DrSAE and of non-negative
 *              sparse coding); 0: signed z (soft threshold)
 *
 * ISTA (Daubechies, Defrise & De Mol 2004; Beck & Teboulle 2009, eq. 1.4),
 * with step eta <= 1/L, L = ||D D^T||_2 (the largest eigenvalue of the Gram
 * matrix G = D D^T):
 *
 *   z <- h_{eta theta(y)} ( y - eta (y G - x D^T) )
 *   theta_i(y) = lambda + 2 (S |y|)_i      the inhibition as an adaptive
 *                                          threshold (GSL NIPS 2011, sec. 3)
 *   h_t(v) = sign(v) max(|v| - t, 0)       signed;  max(v - t, 0) non-negative
 *
 * where y = z (ISTA) or FISTA's extrapolated point (Beck & Teboulle 2009,
 * eq. 4.1-4.3): t_{k+1} = (1 + sqrt(1 + 4 t_k^2)) / 2,
 * y = z_k + ((t_k - 1) / t_{k+1}) (z_k - z_{k-1}).  For S = 0 the energy is
 * convex and both converge to its minimum (FISTA as O(1/k^2)); with S the
 * energy is not convex and they find a fixed point of the update.  With
 * nonneg and S, |z| = z and theta's 2 S z is the gradient of z^T S z: the
 * same update is then proximal gradient on the smooth part plus lambda |z|,
 * whose Lipschitz constant is ||G + 2 S||_2 (sae_sc_check_step asks for it).
 *
 * LISTA (Gregor & LeCun, ICML 2010, eq. 3) is this iteration with learned
 * matrices: ISTA is z <- h_{eta lambda}(x W_e^T + z S_l^T) with
 * W_e = eta D (K x n, encoder rows), S_l = I - eta G (K x K);
 * sae_sc_ista_matrices writes them, so a LISTA node starts from ISTA exactly.
 *
 * Memory: nothing here allocates; the caller gives a workspace of
 * sae_sc_ws_size(m, K) doubles (the host's nd->ws for a plugin).  The
 * signed problem with S takes a second m x K x K product per iteration for
 * its thresholds, 2 |Y| S.  Work per
 * iteration: one m x K x K product (y G) and O(m K) element work; K x K x n
 * once for G.  All batched: BLAS 3, never a loop over examples.
 */
#ifndef SAELAB_SPARSE_H
#define SAELAB_SPARSE_H

#include <math.h>
#include <stddef.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_matrix.h>
#include <saelab/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- shrinkage ------------------------------------------------------------- */

/* h_t(v): the proximal operator of t|v| (signed) or of t|v| + [v < 0] inf. */
static inline double sae_shrink(double v, double t, int nonneg) {
  if (nonneg) return v > t ? v - t : 0.0;
  return v > t ? v - t : v < -t ? v + t : 0.0;
}

/* Its derivative in v (0 or 1; at the kink |v| = t, 0): for backward passes. */
static inline double sae_shrink_grad(double v, double t, int nonneg) {
  if (nonneg) return v > t ? 1.0 : 0.0;
  return (v > t || v < -t) ? 1.0 : 0.0;
}

/* Z <- h_t(Z) in place, one threshold t for every entry. */
static inline void sae_shrink_matrix(gsl_matrix *Z, double t, int nonneg) {
  for (size_t i = 0; i < Z->size1; i++) {
    double *z = gsl_matrix_ptr(Z, i, 0);
    for (size_t j = 0; j < Z->size2; j++) z[j] = sae_shrink(z[j], t, nonneg);
  }
}

/* ---- norms of units ---------------------------------------------------------- */

/* Rows of W (one unit, atom or filter each) to unit norm: dictionaries
 * (arora, latinh).  Returns 0, or -1 with *bad = the index of a row whose
 * norm is 0 or not finite (it has no direction to keep; nothing after it is
 * touched). */
static inline int sae_rows_unit(gsl_matrix *W, size_t *bad) {
  for (size_t j = 0; j < W->size1; j++) {
    gsl_vector_view r = gsl_matrix_row(W, j);
    const double norm = gsl_blas_dnrm2(&r.vector);
    if (!(norm > 0) || !isfinite(norm)) {
      *bad = j;
      return -1;
    }
    gsl_blas_dscal(1.0 / norm, &r.vector);
  }
  return 0;
}

/* Rows (cols = 0) or columns (cols = 1) of W longer than c scaled back onto
 * the ball of radius c, the others left alone: a max-norm constraint
 * (DrSAE's bounds on E, D and C; dense's max_norm). */
static inline void sae_norm_bound(gsl_matrix *W, int cols, double c) {
  const size_t n = cols ? W->size2 : W->size1;
  for (size_t j = 0; j < n; j++) {
    gsl_vector_view v = cols ? gsl_matrix_column(W, j) : gsl_matrix_row(W, j);
    const double s = gsl_blas_dnrm2(&v.vector);
    if (s > c) gsl_blas_dscal(c / s, &v.vector);
  }
}

/* ---- the dictionary ----------------------------------------------------------- */

/* The largest eigenvalue of a symmetric positive semi-definite A (K x K) by
 * power iteration from a fixed start, iters steps (deterministic; the start
 * v_j = 1 + 0.3 sin(j + 1) rather than all ones, which a dictionary of
 * zero-mean atoms can leave orthogonal to the top eigenvector),
 * scratch v and w of K doubles each.  Returns an estimate from below that
 * converges to ||A||_2; the caller adds a margin (sae_sc_lipschitz does). */
static inline double sae_sym_norm2(const gsl_matrix *A, size_t iters, double *v, double *w) {
  const size_t K = A->size1;
  gsl_vector_view vv = gsl_vector_view_array(v, K), wv = gsl_vector_view_array(w, K);
  for (size_t j = 0; j < K; j++) v[j] = 1.0 + 0.3 * sin((double)j + 1.0);
  gsl_vector_scale(&vv.vector, 1.0 / gsl_blas_dnrm2(&vv.vector));
  double lambda = 0.0;
  for (size_t it = 0; it < iters; it++) {
    gsl_blas_dsymv(CblasUpper, 1.0, A, &vv.vector, 0.0, &wv.vector);
    const double nw = gsl_blas_dnrm2(&wv.vector);
    if (!(nw > 0)) return 0.0; /* A v = 0: A is zero on the start vector */
    lambda = nw;               /* ||A v|| with ||v|| = 1 */
    gsl_vector_memcpy(&vv.vector, &wv.vector);
    gsl_vector_scale(&vv.vector, 1.0 / nw);
  }
  return lambda;
}

/* G = D D^T + 2 S (S may be NULL), K x K: the Hessian of the smooth part. */
static inline int sae_sc_gram(const gsl_matrix *D, const gsl_matrix *S, gsl_matrix *G) {
  int rc = gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, D, D, 0.0, G);
  if (rc) return rc;
  if (S) {
    for (size_t i = 0; i < G->size1; i++)
      for (size_t j = 0; j < G->size2; j++)
        *gsl_matrix_ptr(G, i, j) += 2.0 * gsl_matrix_get(S, i, j);
  }
  return 0;
}

/* L = ||G||_2 of G = D D^T (+ 2 S), with a 1 % margin over the power
 * iteration's estimate (which approaches from below); scratch 2 K doubles.
 * The step 1/L is then safe for ISTA and FISTA. */
static inline double sae_sc_lipschitz(const gsl_matrix *G, double *scratch) {
  return 1.01 * sae_sym_norm2(G, 100, scratch, scratch + G->size1);
}

/* ---- ISTA / FISTA ------------------------------------------------------------------ */

typedef struct sae_sc_problem {
  const gsl_matrix *D; /* K x n, atoms as rows */
  const gsl_matrix *S; /* K x K inhibition (symmetric, >= 0, zero diagonal) or NULL */
  double lambda;       /* >= 0 */
  int nonneg;          /* 1: z >= 0 */
} sae_sc_problem;

typedef struct sae_sc_opts {
  size_t max_iter; /* iterations at most (>= 1) */
  double tol;      /* stop when max_ij |z_new - z_old| <= tol max(1, max |z|); 0: never */
  int fista;       /* 1: FISTA's momentum; 0: plain ISTA */
  double eta;      /* step; <= 0: 1/L computed here (sae_sc_lipschitz of G) */
  int warm;        /* 1: start from the Z given; 0: from Z = 0 */
} sae_sc_opts;

/* Doubles of workspace sae_sparse_code needs for m examples and K atoms:
 * G (K x K); eta x D^T, y, z_old, |y| and 2 |y| S (m x K each); 2 K scratch. */
static inline size_t sae_sc_ws_size(size_t m, size_t K) { return K * K + 5 * m * K + 2 * K; }

/* Codes Z (m x K) of the rows of X (m x n) under problem p.  ws: at least
 * sae_sc_ws_size(m, K) doubles.  *iters (may be NULL) receives the
 * iterations run, *eta_used (may be NULL) the step.  Returns 0, SAE_ESHAPE
 * (shapes do not fit), SAE_EHPARAM (lambda < 0, max_iter 0, or a step above
 * 1/L: the message in msg, which may be NULL, names L), or a GSL code. */
static inline int sae_sparse_code(const sae_sc_problem *p, const gsl_matrix *X, gsl_matrix *Z,
                                  const sae_sc_opts *o, double *ws, size_t *iters,
                                  double *eta_used, char *msg) {
  const gsl_matrix *D = p->D;
  const size_t K = D->size1, n = D->size2, m = X->size1;
  if (X->size2 != n || Z->size1 != m || Z->size2 != K ||
      (p->S && (p->S->size1 != K || p->S->size2 != K))) {
    if (msg)
      snprintf(msg, SAE_MSG_SIZE, "sparse code: X is %zu x %zu, Z %zu x %zu, D %zu x %zu%s: "
               "expected m x n, m x K, K x n and S K x K", m, X->size2, Z->size1, Z->size2, K, n,
               p->S ? " with S" : "");
    return SAE_ESHAPE;
  }
  if (!(p->lambda >= 0) || o->max_iter < 1) {
    if (msg)
      snprintf(msg, SAE_MSG_SIZE, "sparse code: lambda = %g must be >= 0 and max_iter = %zu >= 1",
               p->lambda, o->max_iter);
    return SAE_EHPARAM;
  }
  gsl_matrix_view G = gsl_matrix_view_array(ws, K, K);
  gsl_matrix_view B = gsl_matrix_view_array(ws + K * K, m, K);         /* x D^T */
  gsl_matrix_view Y = gsl_matrix_view_array(ws + K * K + m * K, m, K); /* extrapolated point */
  gsl_matrix_view Zo = gsl_matrix_view_array(ws + K * K + 2 * m * K, m, K); /* previous z */
  gsl_matrix_view A = gsl_matrix_view_array(ws + K * K + 3 * m * K, m, K);  /* |y| */
  gsl_matrix_view T = gsl_matrix_view_array(ws + K * K + 4 * m * K, m, K);  /* 2 |y| S */
  double *scratch = ws + K * K + 5 * m * K;
  int rc = sae_sc_gram(D, p->nonneg ? p->S : NULL, &G.matrix);
  if (rc) return rc;
  const double L = sae_sc_lipschitz(&G.matrix, scratch); /* signed: S acts as a threshold only */
  double eta = o->eta > 0 ? o->eta : (L > 0 ? 1.0 / L : 1.0);
  if (o->eta > 0 && L > 0 && o->eta > 1.0 / L * 1.01) {
    if (msg)
      snprintf(msg, SAE_MSG_SIZE, "sparse code: step eta = %g is above 1/L = %g "
               "(L = %g, the largest eigenvalue of D D^T%s): it may diverge", o->eta, 1.0 / L, L,
               p->S && p->nonneg ? " + 2 S" : "");
    return SAE_EHPARAM;
  }
  if (eta_used) *eta_used = eta;
  /* B = eta x D^T: the update's constant term, scaled once */
  if ((rc = gsl_blas_dgemm(CblasNoTrans, CblasTrans, eta, X, D, 0.0, &B.matrix))) return rc;
  if (!o->warm) gsl_matrix_set_zero(Z);
  gsl_matrix_memcpy(&Y.matrix, Z);
  double t = 1.0;
  size_t it = 0;
  while (it < o->max_iter) {
    it++;
    gsl_matrix_memcpy(&Zo.matrix, Z);
    /* Z = y - eta (y G - x D^T) = y + B - eta y G, one dgemm */
    gsl_matrix_memcpy(Z, &Y.matrix);
    gsl_matrix_add(Z, &B.matrix);
    if ((rc = gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, -eta, &Y.matrix, &G.matrix, 1.0, Z)))
      return rc;
    if (p->S && !p->nonneg) {
      /* theta(y) = lambda + 2 S |y|: T = 2 |Y| S (S symmetric), one dsymm */
      for (size_t i = 0; i < m; i++) {
        const double *y = gsl_matrix_const_ptr(&Y.matrix, i, 0);
        double *a = gsl_matrix_ptr(&A.matrix, i, 0);
        for (size_t j = 0; j < K; j++) a[j] = fabs(y[j]);
      }
      if ((rc = gsl_blas_dsymm(CblasRight, CblasUpper, 2.0, p->S, &A.matrix, 0.0, &T.matrix)))
        return rc;
      for (size_t i = 0; i < m; i++) {
        double *z = gsl_matrix_ptr(Z, i, 0);
        const double *th = gsl_matrix_const_ptr(&T.matrix, i, 0);
        for (size_t j = 0; j < K; j++) z[j] = sae_shrink(z[j], eta * (p->lambda + th[j]), 0);
      }
    } else {
      sae_shrink_matrix(Z, eta * p->lambda, p->nonneg);
    }
    /* convergence: the largest change against the largest code */
    double dmax = 0.0, zmax = 0.0;
    for (size_t i = 0; i < m; i++) {
      const double *z = gsl_matrix_const_ptr(Z, i, 0), *zo = gsl_matrix_const_ptr(&Zo.matrix, i, 0);
      for (size_t j = 0; j < K; j++) {
        const double d = fabs(z[j] - zo[j]), a = fabs(z[j]);
        if (d > dmax) dmax = d;
        if (a > zmax) zmax = a;
      }
    }
    if (o->tol > 0 && dmax <= o->tol * (zmax > 1 ? zmax : 1)) break;
    /* the next point: y = z (ISTA) or z + ((t - 1) / t') (z - z_old) (FISTA) */
    gsl_matrix_memcpy(&Y.matrix, Z);
    if (o->fista) {
      const double t1 = 0.5 * (1.0 + sqrt(1.0 + 4.0 * t * t)), c = (t - 1.0) / t1;
      t = t1;
      if (c != 0.0) {
        gsl_matrix_sub(&Zo.matrix, Z); /* z_old - z */
        gsl_matrix_scale(&Zo.matrix, -c);
        gsl_matrix_add(&Y.matrix, &Zo.matrix);
      }
    }
  }
  if (iters) *iters = it;
  return 0;
}

/* The energy E summed over the rows of X, for codes Z (monitoring and tests);
 * scratch: m x n doubles (the residual). */
static inline double sae_sc_energy(const sae_sc_problem *p, const gsl_matrix *X,
                                   const gsl_matrix *Z, double *scratch) {
  const size_t m = X->size1, n = X->size2, K = p->D->size1;
  gsl_matrix_view R = gsl_matrix_view_array(scratch, m, n);
  gsl_matrix_memcpy(&R.matrix, X);
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, -1.0, Z, p->D, 1.0, &R.matrix); /* x - z D */
  double e = 0.0;
  for (size_t i = 0; i < m; i++) {
    const double *r = gsl_matrix_const_ptr(&R.matrix, i, 0), *z = gsl_matrix_const_ptr(Z, i, 0);
    for (size_t j = 0; j < n; j++) e += 0.5 * r[j] * r[j];
    for (size_t j = 0; j < K; j++) e += p->lambda * fabs(z[j]);
    if (p->S) /* over the active pairs only: O(L0^2) a row, not O(K^2) (codes are sparse) */
      for (size_t j = 0; j < K; j++) {
        if (z[j] == 0.0) continue;
        const double *Sj = gsl_matrix_const_ptr(p->S, j, 0);
        double acc = 0.0;
        for (size_t l = 0; l < K; l++)
          if (z[l] != 0.0) acc += Sj[l] * fabs(z[l]);
        e += fabs(z[j]) * acc;
      }
  }
  return e;
}

/* LISTA's start from ISTA (Gregor & LeCun 2010, eq. 3): We = eta D (K x n),
 * Sl = I - eta D D^T (K x K), and the threshold eta lambda. */
static inline int sae_sc_ista_matrices(const gsl_matrix *D, double eta, gsl_matrix *We,
                                       gsl_matrix *Sl) {
  const size_t K = D->size1;
  if (We->size1 != K || We->size2 != D->size2 || Sl->size1 != K || Sl->size2 != K)
    return SAE_ESHAPE;
  gsl_matrix_memcpy(We, D);
  gsl_matrix_scale(We, eta);
  gsl_matrix_set_identity(Sl);
  return gsl_blas_dgemm(CblasNoTrans, CblasTrans, -eta, D, D, 1.0, Sl);
}

#ifdef __cplusplus
}
#endif
#endif /* SAELAB_SPARSE_H */
