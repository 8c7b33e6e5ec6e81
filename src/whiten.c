/* whiten.c -- Olshausen's whitening filter and variance scaling.
 *
 * Olshausen & Field (1997), "Sparse coding with an overcomplete basis set",
 * Vision Research 37(23), section 3 and its figure 4; sparsenet's
 * make-your-own-images recipe (MATLAB):
 *   [fx fy] = meshgrid(-N/2:N/2-1, -N/2:N/2-1);  rho = sqrt(fx.^2 + fy.^2);
 *   f_0 = 0.4 * N;  filt = rho .* exp(-(rho / f_0).^4);
 *   imagew = real(ifft2(fft2(image) .* fftshift(filt)));
 *   IMAGES = sqrt(0.1) * IMAGES / sqrt(mean(var(IMAGES)));
 * rho rises with frequency, flattening the ~1/f amplitude spectrum of
 * natural images; exp(-(rho/f_0)^4) rolls off near the Nyquist frequency
 * to keep noise and sampling artifacts down.
 *
 * The 2-D DFT of the rows x cols image is done as 1-D GSL mixed-radix
 * transforms (any length) over every row, then over every column, of one
 * complex buffer.  fftshift(filt) means DFT index k has frequency k for
 * k < ceil(N/2) and k - N above: [-N/2, N/2) for even N. */
#include <math.h>
#include <stdlib.h>
#include <gsl/gsl_fft_complex.h>
#include "data.h"

/* The signed frequency (cycles per image) of DFT index k of a length-n axis. */
static double wh_freq(size_t k, size_t n) {
  return k < (n + 1) / 2 ? (double)k : (double)k - (double)n;
}

/* In-place 2-D DFT of z (rows x cols complex, row-major, packed); GSL wants
 * a wavetable and a workspace of each transform's own length. */
static int wh_fft2(double *z, size_t rows, size_t cols, gsl_fft_direction dir,
                   const gsl_fft_complex_wavetable *wr, gsl_fft_complex_workspace *wsr,
                   const gsl_fft_complex_wavetable *wc, gsl_fft_complex_workspace *wsc) {
  int rc = 0;
  for (size_t r = 0; r < rows && !rc; r++)
    rc = gsl_fft_complex_transform(z + 2 * r * cols, 1, cols, wc, wsc, dir);
  for (size_t c = 0; c < cols && !rc; c++)
    rc = gsl_fft_complex_transform(z + 2 * c, cols, rows, wr, wsr, dir);
  return rc;
}

int sae_whiten(gsl_matrix *img, double f0_fraction, sae_error *e) {
  size_t rows = img->size1, cols = img->size2;
  if (!(f0_fraction > 0) || !isfinite(f0_fraction))
    return sae_error_set(e, SAE_EHPARAM, "whiten: f0_fraction = %g must be > 0", f0_fraction);
  if (rows > SIZE_MAX / 2 / sizeof(double) / cols)
    return sae_error_set(e, SAE_ENOMEM, "whiten: image %zu x %zu too large", rows, cols);
  int rc = 0;
  double *z = malloc(2 * rows * cols * sizeof *z);
  gsl_fft_complex_wavetable *wr = gsl_fft_complex_wavetable_alloc(rows);
  gsl_fft_complex_wavetable *wc = cols == rows ? wr : gsl_fft_complex_wavetable_alloc(cols);
  gsl_fft_complex_workspace *wsr = gsl_fft_complex_workspace_alloc(rows);
  gsl_fft_complex_workspace *wsc = cols == rows ? wsr : gsl_fft_complex_workspace_alloc(cols);
  if (!z || !wr || !wc || !wsr || !wsc) {
    rc = sae_error_set(e, SAE_ENOMEM, "whiten: out of memory for a %zu x %zu image", rows, cols);
    goto done;
  }
  for (size_t r = 0; r < rows; r++)
    for (size_t c = 0; c < cols; c++) {
      z[2 * (r * cols + c)] = gsl_matrix_get(img, r, c);
      z[2 * (r * cols + c) + 1] = 0;
    }
  if ((rc = wh_fft2(z, rows, cols, gsl_fft_forward, wr, wsr, wc, wsc))) goto fft_failed;
  double f0 = f0_fraction * sqrt((double)rows * (double)cols);
  for (size_t r = 0; r < rows; r++) {
    double fy = wh_freq(r, rows);
    for (size_t c = 0; c < cols; c++) {
      double fx = wh_freq(c, cols), f = sqrt(fx * fx + fy * fy), q = f / f0;
      double g = f * exp(-(q * q) * (q * q));
      z[2 * (r * cols + c)] *= g;
      z[2 * (r * cols + c) + 1] *= g;
    }
  }
  if ((rc = wh_fft2(z, rows, cols, gsl_fft_backward, wr, wsr, wc, wsc))) goto fft_failed;
  /* backward is unnormalised: inverse = backward / (rows * cols) */
  double scale = 1.0 / ((double)rows * (double)cols);
  for (size_t r = 0; r < rows; r++)
    for (size_t c = 0; c < cols; c++) gsl_matrix_set(img, r, c, scale * z[2 * (r * cols + c)]);
  goto done;
fft_failed:
  rc = sae_error_set(e, rc, "whiten: FFT of a %zu x %zu image failed: %s", rows, cols,
                     sae_strerror(rc));
done:
  free(z);
  if (wsc && wsc != wsr) gsl_fft_complex_workspace_free(wsc);
  if (wsr) gsl_fft_complex_workspace_free(wsr);
  if (wc && wc != wr) gsl_fft_complex_wavetable_free(wc);
  if (wr) gsl_fft_complex_wavetable_free(wr);
  return rc;
}

/* Population variance of one image about its own mean (two passes). */
static double wh_variance(const gsl_matrix *a) {
  double s = 0, ss = 0, n = (double)(a->size1 * a->size2);
  for (size_t r = 0; r < a->size1; r++)
    for (size_t c = 0; c < a->size2; c++) s += gsl_matrix_get(a, r, c);
  double mean = s / n;
  for (size_t r = 0; r < a->size1; r++)
    for (size_t c = 0; c < a->size2; c++) {
      double d = gsl_matrix_get(a, r, c) - mean;
      ss += d * d;
    }
  return ss / n;
}

int sae_images_scale_variance(gsl_matrix **imgs, size_t n, double target) {
  if (n == 0 || !(target > 0) || !isfinite(target)) return SAE_EDATA;
  double v = 0;
  int varies = 0; /* a constant image's computed variance may be a rounding residue */
  for (size_t k = 0; k < n; k++) {
    double lo, hi;
    gsl_matrix_minmax(imgs[k], &lo, &hi);
    varies |= lo != hi;
    v += wh_variance(imgs[k]);
  }
  v /= (double)n;
  if (!varies || !(v > 0) || !isfinite(v)) return SAE_EDATA;
  double s = sqrt(target / v);
  for (size_t k = 0; k < n; k++) gsl_matrix_scale(imgs[k], s);
  return 0;
}
