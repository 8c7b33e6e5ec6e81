/* display.c -- a mosaic of small images (see display.h).
 *
 * UFLDL's display_network.m (sparse autoencoder exercise), for A with one
 * image per row:
 *
 *   A     <- A - mean(A(:))                       (SAE_DISPLAY_EACH only)
 *   tile k = reshape(A(k,:), h, w) / max|A(k,:)|   (SAE_DISPLAY_EACH only)
 *   background and borders = -1                    (min(A) for SAE_DISPLAY_NONE)
 *
 * Differences from display_network.m: pixels are read row by row (saelab's
 * matrices are row-major; display_network reshapes column by column), tiles
 * need not be square, and there is no border around the outside. */
#include <math.h>
#include <stdint.h>
#include "display.h"

int sae_display_grid(const gsl_matrix *A, size_t h, size_t w, size_t cols, int normalize,
                     gsl_matrix **mosaic, sae_error *e) {
  if (mosaic) *mosaic = NULL;
  if (!mosaic) return sae_error_set(e, SAE_EDATA, "display: no place for the mosaic");
  if (!A || A->size1 == 0 || A->size2 == 0)
    return sae_error_set(e, SAE_EDATA, "display: no images (empty matrix)");
  if (h == 0 || w == 0 || h > A->size2 / w || h * w != A->size2)
    return sae_error_set(e, SAE_ESHAPE,
                         "display: images of %zu x %zu pixels need %zu columns, the matrix has "
                         "%zu (one image per row, as a W holds one unit per row)",
                         h, w, h && w && h <= SIZE_MAX / w ? h * w : 0, A->size2);
  if (normalize != SAE_DISPLAY_EACH && normalize != SAE_DISPLAY_NONE)
    return sae_error_set(e, SAE_EHPARAM, "display: normalize = %d is neither EACH nor NONE",
                         normalize);

  const size_t n = A->size1;
  if (cols == 0) {
    cols = (size_t)ceil(sqrt((double)n));
    while (cols * cols < n) cols++; /* sqrt rounding, for very large n */
  }
  if (cols > n) cols = n;
  const size_t rows_t = (n + cols - 1) / cols;
  const size_t H = rows_t * h + rows_t - 1, W = cols * w + cols - 1;

  /* Global mean (EACH) or minimum (NONE), over finite values. */
  double mean = 0.0, lo = INFINITY;
  size_t n_finite = 0;
  for (size_t k = 0; k < n; k++) {
    const double *a = A->data + k * A->tda;
    for (size_t p = 0; p < A->size2; p++)
      if (isfinite(a[p])) {
        mean += a[p];
        if (a[p] < lo) lo = a[p];
        n_finite++;
      }
  }
  mean = n_finite ? mean / (double)n_finite : 0.0;
  const double background = normalize == SAE_DISPLAY_EACH ? -1.0 : isfinite(lo) ? lo : 0.0;

  gsl_matrix *M = gsl_matrix_alloc(H, W);
  if (!M) return sae_error_set(e, SAE_ENOMEM, "display: out of memory for a %zu x %zu mosaic",
                               H, W);
  gsl_matrix_set_all(M, background);

  for (size_t k = 0; k < n; k++) {
    const double *a = A->data + k * A->tda;
    double shift = 0.0, scale = 1.0;
    if (normalize == SAE_DISPLAY_EACH) {
      double amax = 0.0;
      for (size_t p = 0; p < A->size2; p++)
        if (isfinite(a[p]) && fabs(a[p] - mean) > amax) amax = fabs(a[p] - mean);
      shift = mean;
      scale = amax > 0.0 ? 1.0 / amax : 1.0; /* a constant image: all 0 */
    }
    const size_t r0 = (k / cols) * (h + 1), c0 = (k % cols) * (w + 1);
    for (size_t r = 0; r < h; r++) {
      double *out = M->data + (r0 + r) * M->tda + c0;
      const double *in = a + r * w;
      for (size_t c = 0; c < w; c++) out[c] = (in[c] - shift) * scale;
    }
  }
  *mosaic = M;
  return SAE_OK;
}
