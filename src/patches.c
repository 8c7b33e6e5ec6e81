/* patches.c -- random image patches and UFLDL's normalisation.
 *
 * UFLDL sparse autoencoder exercise, sampleIMAGES.m: 10000 patches of 8 x 8
 * from the ten 512 x 512 IMAGES, each from a random image at a random
 * position; then normalizeData:
 *   patches = bsxfun(@minus, patches, mean(patches));   % remove DC per patch
 *   pstd = 3 * std(patches(:));                         % truncate to +/-3 sd
 *   patches = max(min(patches, pstd), -pstd) / pstd;    % now in [-1, 1]
 *   patches = (patches + 1) * 0.4 + 0.1;                % [0.1, 0.9] for sigmoids
 * MATLAB holds one patch per column; here one patch per row (m x n_in), so
 * "the patch mean" is a row mean. */
#include <math.h>
#include <stdint.h>
#include "data.h"

int sae_patches_sample(gsl_matrix *const *imgs, size_t n_imgs, size_t size, size_t n,
                       gsl_rng *rng, gsl_matrix *out, sae_error *e) {
  if (n_imgs == 0) return sae_error_set(e, SAE_EDATA, "patches: no images to sample from");
  if (size == 0) return sae_error_set(e, SAE_ESHAPE, "patches: the patch size must be >= 1");
  if (size > SIZE_MAX / size || out->size1 != n || out->size2 != size * size)
    return sae_error_set(e, SAE_ESHAPE, "patches: output is %zux%zu, %zux%zu expected (n x "
                         "size*size)", out->size1, out->size2, n, size * size);
  for (size_t k = 0; k < n_imgs; k++)
    if (size > imgs[k]->size1 || size > imgs[k]->size2)
      return sae_error_set(e, SAE_ESHAPE, "patch %zux%zu larger than image %zu (%zux%zu)", size,
                           size, k + 1, imgs[k]->size1, imgs[k]->size2);
  for (size_t i = 0; i < n; i++) {
    const gsl_matrix *img = imgs[gsl_rng_uniform_int(rng, n_imgs)];
    size_t r0 = gsl_rng_uniform_int(rng, img->size1 - size + 1);
    size_t c0 = gsl_rng_uniform_int(rng, img->size2 - size + 1);
    double *dst = gsl_matrix_ptr(out, i, 0);
    for (size_t r = 0; r < size; r++) {
      const double *src = gsl_matrix_const_ptr(img, r0 + r, c0);
      for (size_t c = 0; c < size; c++) dst[r * size + c] = src[c];
    }
  }
  return 0;
}

void sae_patches_normalize_ufldl(gsl_matrix *X) {
  size_t m = X->size1, d = X->size2;
  double ss = 0;
  for (size_t i = 0; i < m; i++) {
    double *x = gsl_matrix_ptr(X, i, 0), mean = 0;
    for (size_t j = 0; j < d; j++) mean += x[j];
    mean /= (double)d;
    for (size_t j = 0; j < d; j++) {
      x[j] -= mean;
      ss += x[j] * x[j]; /* every row now has mean 0: so has the whole matrix */
    }
  }
  double pstd = 3 * sqrt(ss / ((double)m * (double)d));
  for (size_t i = 0; i < m; i++) {
    double *x = gsl_matrix_ptr(X, i, 0);
    for (size_t j = 0; j < d; j++) {
      double v = pstd > 0 ? fmax(fmin(x[j], pstd), -pstd) / pstd : 0;
      x[j] = (v + 1) * 0.4 + 0.1;
    }
  }
}
