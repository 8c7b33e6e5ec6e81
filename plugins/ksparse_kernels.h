/* ksparse_kernels.h -- the kernels of plugins/topk.c's "ksparse" type, written once
 * over a real type and included twice by topk.c: for double (forward,
 * backward, update: the fp64 path) and for float (forward_f32, backward_f32,
 * update_f32: sae.sgd's precision = 32).  The math, shapes, workspace and
 * kernels are described at the top of topk.c; nothing here depends on the
 * type but the names below, so the double instance is the code it was
 * before the float one existed (the same bits: tests/check_topk.c, and the
 * fp64 runs compared before and after).
 *
 * The includer defines:
 *   REAL            double or float
 *   KS_FN(name)     name with the instance's suffix (name_f64, name_f32)
 *   MAT, MAT_VIEW, MAT_VIEW_ARRAY   gsl_matrix(_float), its view and view_array
 *   GEMM            gsl_blas_dgemm or gsl_blas_sgemm
 *   KS_PARAM, KS_GRAD   the node's tensor views: param, grad or param32, grad32
 *   KS_F32          0 or 1 (recorded in the state: backward and update refuse
 *                   the other precision's forward, whose ws layout differs)
 *   KS_STEP_ROW     sae_step_row or sae_step_row_f32 (<saelab/elementwise.h>:
 *                   the optimiser's own kernel, for the fused SGD step)
 *   KS_STEP_V       v or v32: the fused step's velocities (plugin.h, sae_step)
 * and gets, all static: KS_FN(ksparse_forward), KS_FN(ksparse_backward) (with
 * the write flag of backward_f32), KS_FN(ksparse_update).  It undefines
 * the names above at its end, so the next inclusion defines them afresh.
 *
 * In float the top-k selection compares float values: on a near-tie it may
 * keep another unit than the double run would (doc/design.md). */

/* Unit a is ahead of unit b: larger value, ties to the lower index (tk_ahead's rule). */
static inline int KS_FN(tk_ahead)(const REAL *v, size_t a, size_t b) {
  return v[a] > v[b] || (v[a] == v[b] && a < b);
}

/* The workspace of a batch of m examples keeping kk units (see the top of the file). */
typedef struct KS_FN(ks_ws) {
  REAL *Z;       /* m x h: Z (dense path: Z_S after forward) */
  REAL *dz;      /* sparse: m x kk, dz_i on S_i; dense: m x h, dZ */
  uint32_t *S;     /* m x kk: S_i ascending */
  uint32_t *pair;  /* m kk: pairs p = i kk + s grouped by unit j = S[p] (sparse backward) */
  uint32_t *start; /* h + 1: unit j's pairs are pair[start[j] .. start[j+1]) */
} KS_FN(ks_ws);

static KS_FN(ks_ws) KS_FN(ks_layout)(const sae_node *nd, size_t m, size_t kk) {
  const size_t h = (size_t)nd->hp[KS_N_HID];
  KS_FN(ks_ws) w;
  w.Z = (REAL *)nd->ws; /* ws is doubles: the same bytes hold as many floats */
  w.dz = w.Z + m * h;
  w.S = (uint32_t *)(w.Z + 2 * m * h);
  w.pair = w.S + m * kk;
  w.start = w.pair + m * kk;
  return w;
}


/* y += a u */
SAE_EW_CLONES_V4 static void KS_FN(ks_axpy)(size_t n, REAL a, const REAL *restrict u,
                                            REAL *restrict y) {
  KS_PRAGMA(omp simd)
  for (size_t t = 0; t < n; t++) y[t] += a * u[t];
}

/* y += a u + c v */
SAE_EW_CLONES_V4 static void KS_FN(ks_axpy2)(size_t n, REAL a, const REAL *restrict u, REAL c,
                                             const REAL *restrict v, REAL *restrict y) {
  KS_PRAGMA(omp simd)
  for (size_t t = 0; t < n; t++) y[t] += a * u[t] + c * v[t];
}

/* The first writes into a gradient row (grad_write, plugin.h): y = 0 + ...,
 * the very sum the add makes into a zeroed row (0 + -0 is +0: a bare
 * store would keep the -0.0 of a zero pixel times a negative dz). */
/* y = 0 + u */
SAE_EW_CLONES_V4 static void KS_FN(ks_set)(size_t n, const REAL *restrict u, REAL *restrict y) {
  KS_PRAGMA(omp simd)
  for (size_t t = 0; t < n; t++) y[t] = (REAL)0 + u[t];
}

/* y = 0 + a u */
SAE_EW_CLONES_V4 static void KS_FN(ks_set1)(size_t n, REAL a, const REAL *restrict u,
                                            REAL *restrict y) {
  KS_PRAGMA(omp simd)
  for (size_t t = 0; t < n; t++) y[t] = (REAL)0 + a * u[t];
}

/* y = 0 + (a u + c v) */
SAE_EW_CLONES_V4 static void KS_FN(ks_set2)(size_t n, REAL a, const REAL *restrict u, REAL c,
                                            const REAL *restrict v, REAL *restrict y) {
  KS_PRAGMA(omp simd)
  for (size_t t = 0; t < n; t++) y[t] = (REAL)0 + (a * u[t] + c * v[t]);
}

/* The fused SGD step on one row (plugin.h, sae_step): the optimiser's kernel
 * itself, cloned here for AVX-512, AVX2 and the baseline as the optimiser's
 * is; the arithmetic per element does not depend on the clone (no FMA
 * contraction under -std=c11), so the same bits as the optimiser's pass.
 * Returns the row's sum of th * 0. */
SAE_EW_CLONES_V4 static REAL KS_FN(ks_step_row)(size_t n, REAL mu, REAL c, REAL *th, REAL *v,
                                                const REAL *g) {
  return KS_STEP_ROW(n, mu, c, th, v, g);
}

/* u . v */
SAE_EW_CLONES_V4 static REAL KS_FN(ks_dot)(size_t n, const REAL *restrict u,
                                           const REAL *restrict v) {
  REAL d = 0;
  KS_PRAGMA(omp simd reduction(+:d))
  for (size_t t = 0; t < n; t++) d += u[t] * v[t];
  return d;
}

/* y += u */
SAE_EW_CLONES_V4 static void KS_FN(ks_add)(size_t n, const REAL *restrict u, REAL *restrict y) {
  KS_PRAGMA(omp simd)
  for (size_t t = 0; t < n; t++) y[t] += u[t];
}

/* ---- ksparse: selection ---------------------------------------------------------- */

/* 1 if every z[0..n) is finite (z * 0 is 0 for finite z, NaN otherwise). */
SAE_EW_CLONES_V4 static int KS_FN(ks_finite)(size_t n, const REAL *restrict z) {
  REAL acc = 0;
  KS_PRAGMA(omp simd reduction(+:acc))
  for (size_t t = 0; t < n; t++) acc += z[t] * (REAL)0;
  return acc == 0.0;
}

static void KS_FN(ks_sift)(const REAL *v, uint32_t *hp, size_t kk, size_t p) {
  for (;;) {
    size_t l = 2 * p + 1, r = l + 1, w = p;
    if (l < kk && KS_FN(tk_ahead)(v, hp[w], hp[l])) w = l;
    if (r < kk && KS_FN(tk_ahead)(v, hp[w], hp[r])) w = r;
    if (w == p) return;
    uint32_t t = hp[p];
    hp[p] = hp[w];
    hp[w] = t;
    p = w;
  }
}


/* S[0..kk) = the kk units of z[0..h) ahead of all others, ascending; v is
 * scratch for kk values.  Returns 0, or j+1 if z[j] is not finite.
 *
 * One scan; every unit already kept has a lower index than the one scanned,
 * so a tie never displaces it and one comparison with thr, the value of the
 * unit furthest behind, decides.  For values in random order about
 * kk ln(h / kk) units enter (92 for 25 of 1000; fewer behind the block
 * bound below).  Up to KS_SORTED_MAX kept
 * units S and v hold them sorted (best first) and an entry shifts the worse
 * ones down: a predictable loop, where a heap's sift mispredicts a branch at
 * every level. */
static size_t KS_FN(ks_select)(const REAL *z, size_t h, size_t kk, uint32_t *S, REAL *v) {
  if (!KS_FN(ks_finite)(h, z))
    for (size_t j = 0; j < h; j++)
      if (!isfinite(z[j])) return j + 1;
  if (kk == h) {
    for (size_t s = 0; s < kk; s++) S[s] = (uint32_t)s;
    return 0;
  }
  if (kk <= KS_SORTED_MAX) {
    /* First a lower bound of the kk-th value: the least of the maxima of kk
     * blocks.  The blocks' maxima are kk units at or above it, so the kk
     * best are all at or above it, and a unit below it is below all of them:
     * the scan can skip it and keep the same set.  Only the units at or
     * above the bound enter the sorted fill, and its last value starts the
     * scan's threshold far higher than the first kk units' would: for
     * values in random order about 3.7 kk units reach the insertions (93 of
     * 1000 at kk = 25) instead of all of them, and a vectorised max per
     * block is cheaper than the shifts it saves (the selection was 6 % of a
     * float32 k-sparse epoch).  Blocks of fewer than KS_BLOCK_MIN units
     * would bound little: then every unit enters, as before. */
    REAL lo = -INFINITY;
    const size_t bs = h / kk;
    if (bs >= KS_BLOCK_MIN) {
      lo = INFINITY;
      for (size_t b = 0; b < kk; b++) {
        const size_t a = b * bs, e = b + 1 < kk ? a + bs : h;
        REAL mx = z[a];
        KS_PRAGMA(omp simd reduction(max:mx))
        for (size_t j = a + 1; j < e; j++) mx = z[j] > mx ? z[j] : mx;
        if (mx < lo) lo = mx;
      }
    }
    size_t j0 = 0;
    for (size_t f = 0; f < kk; j0++) { /* insertion sort of the first kk at or above lo */
      if (z[j0] < lo) continue;
      size_t p = f++;
      for (; p > 0 && v[p - 1] < z[j0]; p--) v[p] = v[p - 1], S[p] = S[p - 1];
      v[p] = z[j0], S[p] = (uint32_t)j0;
    }
    REAL thr = v[kk - 1];
    for (size_t j = j0; j < h; j++) {
      if (!(z[j] > thr)) continue;
      size_t p = kk - 1;
      for (; p > 0 && v[p - 1] < z[j]; p--) v[p] = v[p - 1], S[p] = S[p - 1];
      v[p] = z[j], S[p] = (uint32_t)j;
      thr = v[kk - 1];
    }
    for (size_t s = 1; s < kk; s++) { /* ascending indices */
      uint32_t u = S[s];
      size_t t = s;
      for (; t > 0 && S[t - 1] > u; t--) S[t] = S[t - 1];
      S[t] = u;
    }
    return 0;
  }
  for (size_t s = 0; s < kk; s++) S[s] = (uint32_t)s; /* a heap, the root furthest behind */
  for (size_t p = kk / 2; p-- > 0;) KS_FN(ks_sift)(z, S, kk, p);
  REAL thr = z[S[0]];
  for (size_t j = kk; j < h; j++)
    if (z[j] > thr) {
      S[0] = (uint32_t)j;
      KS_FN(ks_sift)(z, S, kk, 0);
      thr = z[S[0]];
    }
  qsort(S, kk, sizeof *S, ks_cmp_u32);
  return 0;
}

/* Zero row z[0..h) outside the ascending support S[0..kk). */
static void KS_FN(ks_mask_row)(REAL *z, size_t h, const uint32_t *S, size_t kk) {
  size_t s = 0;
  for (size_t j = 0; j < h; j++) {
    if (s < kk && S[s] == j) {
      s++;
      continue;
    }
    z[j] = 0.0;
  }
}


/* Every row of the m x n matrix at A (row stride lda) = v. */
static void KS_FN(ks_fill_rows)(REAL *A, size_t m, size_t n, size_t lda, const REAL *v) {
  for (size_t i = 0; i < m; i++) memcpy(A + i * lda, v, n * sizeof *v);
}

static int KS_FN(ksparse_forward)(sae_node *nd, const MAT *x, MAT *y, double *cost) {
  const size_t m = x->size1, n = nd->n_in, h = (size_t)nd->hp[KS_N_HID];
  const size_t kk = tk_kept(nd->hp[KS_K], nd->hp[KS_ALPHA], nd->batch);
  const int dense = nd->hp[KS_DENSE] != 0;
  const MAT *W = &nd->KS_PARAM[KS_W], *D = &nd->KS_PARAM[ks_tied(nd) ? KS_W : KS_V];
  const REAL *b = nd->KS_PARAM[KS_B].data, *b_dec = nd->KS_PARAM[KS_B_DEC].data;
  ks_state *st = nd->state;
  int rc = KS_SHAPE(nd, x, y, "y");
  (void)cost;
  if (rc) return rc;
  if (kk > h) return SAE_FAIL(nd, SAE_EHPARAM, "ksparse: keeps %zu of n_hid = %zu units", kk, h);
  if ((double)m * (double)kk >= 4294967295.0)
    return SAE_FAIL(nd, SAE_ESHAPE, "ksparse: %zu examples x %zu units kept: over 2^32 pairs, "
                    "split the batch", m, kk);
  st->kk = 0;
  /* the policy every elementwise pass shares (saelab/elementwise.h):
   * omp_get_max_threads() only when libgomp will not spin for long, else 1 */
  if (!st->threads) st->threads = sae_omp_threads();
  const KS_FN(ks_ws) w = KS_FN(ks_layout)(nd, m, kk);

  /* Z = 1 b + x W^T (W stored n_hid x n_in): one dgemm. */
  MAT_VIEW Z = MAT_VIEW_ARRAY(w.Z, m, h);
  KS_FN(ks_fill_rows)(w.Z, m, h, h, b);
  if ((rc = GEMM(CblasNoTrans, CblasTrans, 1.0, x, W, 1.0, &Z.matrix)))
    return SAE_FAIL(nd, rc, "ksparse: x W^T: shapes do not fit");

  /* S_i = supp_kk(Z_i) and (sparse) y_i = b' + sum_{j in S_i} z_ij D_j, per example. */
  size_t bad_i = m, bad_j = 0;
  const int nt = st->threads, par = nt > 1 && m > 1 && m * (h + (dense ? 0 : kk * n)) >= KS_PARALLEL_MIN;
  (void)par, (void)nt;
  KS_PRAGMA(omp parallel for schedule(static) if(par) num_threads(nt))
  for (size_t i = 0; i < m; i++) {
    const REAL *z = w.Z + i * h;
    const uint32_t *S = w.S + i * kk;
    /* scratch for kk values: dz's row, unused until backward */
    size_t bad = KS_FN(ks_select)(z, h, kk, w.S + i * kk, w.dz + i * kk);
    if (bad) {
      KS_PRAGMA(omp critical(ks_bad))
      if (i < bad_i) bad_i = i, bad_j = bad;
      continue;
    }
    if (dense) continue;
    REAL *yi = y->data + i * y->tda;
    memcpy(yi, b_dec, n * sizeof *yi);
    for (size_t s = 0; s < kk; s++) KS_FN(ks_axpy)(n, z[S[s]], D->data + S[s] * D->tda, yi);
  }
  if (bad_i < m)
    return SAE_FAIL(nd, SAE_ENUMERIC, "ksparse: z[%zu][%zu] = %g is not finite", bad_i + 1,
                    bad_j, w.Z[bad_i * h + bad_j - 1]);

  if (dense) { /* Z_S = Z .* M in place, y = 1 b' + Z_S D: the twin's dgemm */
    for (size_t i = 0; i < m; i++) KS_FN(ks_mask_row)(w.Z + i * h, h, w.S + i * kk, kk);
    KS_FN(ks_fill_rows)(y->data, m, n, y->tda, b_dec);
    if ((rc = GEMM(CblasNoTrans, CblasNoTrans, 1.0, &Z.matrix, D, 1.0, y)))
      return SAE_FAIL(nd, rc, "ksparse: Z_S D: shapes do not fit");
  }
  st->kk = kk;
  st->m = m;
  st->mode = nd->batch ? nd->batch->mode : SAE_MODE_TRAIN;
  st->dense = dense;
  st->f32 = KS_F32;
  return SAE_OK;
}

/* The dense-masked backward (dense = 1): every product a dgemm, as the twin. */
static int KS_FN(ksparse_backward_dense)(sae_node *nd, const MAT *x, const MAT *dy,
                                  MAT *dx, const KS_FN(ks_ws) *w, size_t kk) {
  const size_t m = x->size1, h = (size_t)nd->hp[KS_N_HID];
  const int tied = ks_tied(nd);
  const MAT *W = &nd->KS_PARAM[KS_W], *D = &nd->KS_PARAM[tied ? KS_W : KS_V];
  MAT *gW = &nd->KS_GRAD[KS_W], *gD = &nd->KS_GRAD[tied ? KS_W : KS_V];
  REAL *gb = nd->KS_GRAD[KS_B].data;
  MAT_VIEW Zs = MAT_VIEW_ARRAY(w->Z, m, h), dZ = MAT_VIEW_ARRAY(w->dz, m, h);
  int rc;
  if ((rc = GEMM(CblasNoTrans, CblasTrans, 1.0, dy, D, 0.0, &dZ.matrix)))
    return SAE_FAIL(nd, rc, "ksparse: dy D^T: shapes do not fit");
  for (size_t i = 0; i < m; i++) {
    REAL *dzi = w->dz + i * h;
    KS_FN(ks_mask_row)(dzi, h, w->S + i * kk, kk);
    for (size_t j = 0; j < h; j++) gb[j] += dzi[j];
  }
  if ((rc = GEMM(CblasTrans, CblasNoTrans, 1.0, &Zs.matrix, dy, 1.0, gD)) ||
      (rc = GEMM(CblasTrans, CblasNoTrans, 1.0, &dZ.matrix, x, 1.0, gW)) ||
      (dx && (rc = GEMM(CblasNoTrans, CblasNoTrans, 1.0, &dZ.matrix, W, 1.0, dx))))
    return SAE_FAIL(nd, rc, "ksparse: backward dgemm: shapes do not fit");
  return SAE_OK;
}

/* write (backward_f32's flag; 0 for the double backward): dx is written,
 * not added to -- zeroed here, then the same sums. */
static int KS_FN(ksparse_backward)(sae_node *nd, const MAT *x, const MAT *y,
                                   const MAT *dy, MAT *dx, int write) {
  const size_t m = x->size1, n = nd->n_in, h = (size_t)nd->hp[KS_N_HID];
  const int tied = ks_tied(nd);
  const MAT *W = &nd->KS_PARAM[KS_W], *D = &nd->KS_PARAM[tied ? KS_W : KS_V];
  MAT *gW = &nd->KS_GRAD[KS_W], *gD = &nd->KS_GRAD[tied ? KS_W : KS_V];
  REAL *gb = nd->KS_GRAD[KS_B].data, *gb_dec = nd->KS_GRAD[KS_B_DEC].data;
  const ks_state *st = nd->state;
  const size_t kk = st->kk;
  int rc;
  (void)y;
  if ((rc = KS_SHAPE(nd, x, dy, "dy")) || (dx && (rc = KS_SHAPE(nd, x, dx, "dx"))))
    return rc;
  if (kk == 0) return SAE_FAIL(nd, SAE_ESTATE, "ksparse: backward before a forward");
  if (m != st->m)
    return SAE_FAIL(nd, SAE_ESTATE, "ksparse: backward on %zu examples, the forward had %zu", m,
                    st->m);
  if (st->f32 != KS_F32)
    return SAE_FAIL(nd, SAE_ESTATE, "ksparse: backward in %s after a forward in %s",
                    KS_F32 ? "float32" : "float64", KS_F32 ? "float64" : "float32");
  if (write && dx)
    for (size_t i = 0; i < m; i++) memset(dx->data + i * dx->tda, 0, n * sizeof *dx->data);
  const KS_FN(ks_ws) w = KS_FN(ks_layout)(nd, m, kk);
  /* grad_write (plugin.h): the host left our gradients unzeroed: write them.
   * The dense twin zeroes them itself and adds; usage's gradient is 0. */
  const int gwrite = nd->grad_write;
  if (gwrite) {
    MAT *gu = &nd->KS_GRAD[ks_usage(nd)];
    memset(gu->data, 0, gu->size2 * sizeof *gu->data);
    if (st->dense)
      for (size_t t = 0; t < nd->n_tensors; t++) {
        MAT *g = &nd->KS_GRAD[t];
        for (size_t r = 0; r < g->size1; r++)
          memset(g->data + r * g->tda, 0, g->size2 * sizeof *g->data);
      }
  }

  /* grad b' += 1^T dy (written: the first row stored as 0 + dy_1, then the same sums) */
  const size_t i0 = gwrite && !st->dense && m > 0 ? 1 : 0;
  if (i0) KS_FN(ks_set)(n, dy->data, gb_dec);
  else if (gwrite && !st->dense) memset(gb_dec, 0, n * sizeof *gb_dec); /* m = 0 */
  for (size_t i = i0; i < m; i++) KS_FN(ks_add)(n, dy->data + i * dy->tda, gb_dec);
  if (st->dense) return KS_FN(ksparse_backward_dense)(nd, x, dy, dx, &w, kk);

  /* The fused SGD step (plugin.h, sae_step), offered with grad_write: row j
   * of W (and of V) is stepped right after its gradient row is final, while
   * both are in L1, instead of in the optimiser's pass over the whole block
   * (which reads them back from memory).  v is the tensor's velocity, NULL
   * when that tensor is not offered.  Not with dx: dx reads W after the sweep. */
  sae_step *fs = nd->step && gwrite && !dx ? nd->step : NULL;
  REAL *vW = fs ? fs->KS_STEP_V[KS_W] : NULL, *vD = fs && !tied ? fs->KS_STEP_V[KS_V] : NULL;
  const REAL mu = fs ? (REAL)fs->mu : 0, cW = vW ? (REAL)fs->c[KS_W] : 0;
  const REAL cD = vD ? (REAL)fs->c[KS_V] : 0;
  REAL *Wm = nd->KS_PARAM[KS_W].data, *Vm = tied ? NULL : nd->KS_PARAM[KS_V].data;
  REAL bad = 0;

  const size_t np = m * kk;
  const int nt = st->threads, par = nt > 1 && m > 1 && np * n >= KS_PARALLEL_MIN;
  (void)par, (void)nt;
  KS_PRAGMA(omp parallel if(par) num_threads(nt))
  {
    /* Group the pairs by unit (a counting sort, stable: ascending i within a unit). */
    KS_PRAGMA(omp single)
    {
      memset(w.start, 0, (h + 1) * sizeof *w.start);
      for (size_t p = 0; p < np; p++) w.start[w.S[p] + 1]++;
      for (size_t j = 0; j < h; j++) w.start[j + 1] += w.start[j];
      for (size_t p = 0; p < np; p++) w.pair[w.start[w.S[p]]++] = (uint32_t)p;
      for (size_t j = h; j > 0; j--) w.start[j] = w.start[j - 1]; /* back to the beginnings */
      w.start[0] = 0;
    }
    /* One sweep over the units: per unit j, its examples in ascending order
     * (the same order whatever the number of threads), dz_ij = dy_i . D_j,
     * grad b_j += dz_ij, grad D_j += z_ij dy_i, grad W_j += dz_ij x_i.  D_j is
     * read once per batch and stays in L1 for its pairs (read per example
     * instead, the kk rows of each example came from L3: 3200 row reads, 20
     * MB, for a batch of 128 at k = 25); each gradient row is written by one
     * thread, once.  dz_ij is the same KS_FN(ks_dot) of the same rows as per
     * example, so the same bits.  grad_write: the unit's first pair writes
     * (0 + its terms), a unit with no pair gets zero rows; the rest adds: the
     * same sums in the same order as into zeroed rows.  Then the fused step
     * on unit j's rows (no later pair reads them), its own rows only: threads
     * never share one. */
    KS_PRAGMA(omp for schedule(dynamic, 16) reduction(+:bad))
    for (size_t j = 0; j < h; j++) {
      REAL gbj = gwrite ? (REAL)0 : gb[j];
      const REAL *Dj = D->data + j * D->tda;
      REAL *gWj = gW->data + j * gW->tda, *gDj = gD->data + j * gD->tda;
      uint32_t q = w.start[j];
      if (gwrite && q == w.start[j + 1]) {
        memset(gWj, 0, n * sizeof *gWj);
        if (!tied) memset(gDj, 0, n * sizeof *gDj);
      }
      for (int first = gwrite; q < w.start[j + 1]; q++, first = 0) {
        const size_t p = w.pair[q], i = p / kk;
        const REAL *xi = x->data + i * x->tda, *dyi = dy->data + i * dy->tda;
        const REAL a = w.Z[i * h + j], d = KS_FN(ks_dot)(n, dyi, Dj);
        /* kept for dx only: the pairs of one example are spread over the
         * threads' units, so these stores land in cache lines the other
         * thread writes too */
        if (dx) w.dz[p] = d;
        gbj += d;
        if (tied) { /* decoder z_ij dy_i and encoder dz_ij x_i land on the same row */
          if (first) KS_FN(ks_set2)(n, a, dyi, d, xi, gWj);
          else KS_FN(ks_axpy2)(n, a, dyi, d, xi, gWj);
        } else if (first) {
          KS_FN(ks_set1)(n, a, dyi, gDj);
          KS_FN(ks_set1)(n, d, xi, gWj);
        } else {
          KS_FN(ks_axpy)(n, a, dyi, gDj);
          KS_FN(ks_axpy)(n, d, xi, gWj);
        }
      }
      gb[j] = gbj;
      if (vW) bad += KS_FN(ks_step_row)(n, mu, cW, Wm + j * n, vW + j * n, gWj);
      if (vD) bad += KS_FN(ks_step_row)(n, mu, cD, Vm + j * n, vD + j * n, gDj);
    }
    /* dx_i += sum_{j in S_i} dz_ij W_j, per example (after the sweep's barrier: dz). */
    if (dx) {
      KS_PRAGMA(omp for schedule(static))
      for (size_t i = 0; i < m; i++) {
        REAL *dxi = dx->data + i * dx->tda;
        for (size_t s = 0; s < kk; s++) {
          const size_t p = i * kk + s;
          KS_FN(ks_axpy)(n, w.dz[p], W->data + w.S[p] * W->tda, dxi);
        }
      }
    }
  }
  if (fs) { /* every row stepped: the optimiser skips these tensors */
    fs->done[KS_W] |= vW != NULL;
    if (!tied) fs->done[KS_V] |= vD != NULL;
    fs->bad += (double)bad;
  }
  return SAE_OK;
}

/* usage_j += #{i : j in S_i}, the TRAIN support of the last forward (the SGD
 * step calls it after its gradient step, on the same batch; eta unused).
 * Experiments zero usage at an epoch's start and count units left at 0 as dead. */
static int KS_FN(ksparse_update)(sae_node *nd, const MAT *x, const MAT *y, double eta) {
  const ks_state *st = nd->state;
  REAL *usage = nd->KS_PARAM[ks_usage(nd)].data;
  (void)y;
  (void)eta;
  if (st->kk == 0) return SAE_FAIL(nd, SAE_ESTATE, "ksparse: update before a forward");
  if (st->mode != SAE_MODE_TRAIN)
    return SAE_FAIL(nd, SAE_ESTATE,
                    "ksparse: update after an EVAL forward: usage counts the TRAIN support");
  if (x->size1 != st->m)
    return SAE_FAIL(nd, SAE_ESTATE, "ksparse: update on %zu examples, the forward had %zu",
                    x->size1, st->m);
  if (st->f32 != KS_F32)
    return SAE_FAIL(nd, SAE_ESTATE, "ksparse: update in %s after a forward in %s",
                    KS_F32 ? "float32" : "float64", KS_F32 ? "float64" : "float32");
  const KS_FN(ks_ws) w = KS_FN(ks_layout)(nd, st->m, st->kk);
  for (size_t p = 0; p < st->m * st->kk; p++) usage[w.S[p]] += 1.0;
  return SAE_OK;
}

/* The instance's parameters end with it (see the top). */
#undef REAL
#undef KS_FN
#undef MAT
#undef MAT_VIEW
#undef MAT_VIEW_ARRAY
#undef GEMM
#undef KS_PARAM
#undef KS_GRAD
#undef KS_F32
#undef KS_STEP_ROW
#undef KS_STEP_V
