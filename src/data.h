/* data.h -- data readers and image preprocessing for the UFLDL sparse
 * autoencoder reproduction (Ng, "Sparse autoencoder", CS294A lecture notes,
 * and its exercise: sampleIMAGES.m, normalizeData).
 *
 *   idx.c      MNIST / Fashion-MNIST IDX files, plain or gzipped
 *   images.c   Olshausen's raw big-endian float32 images, PNG, MATLAB .mat
 *   whiten.c   Olshausen's whitening filter f exp(-(f/f0)^4), variance scaling
 *   patches.c  random patches (sampleIMAGES) and UFLDL's normalizeData
 *
 * Shapes: an image is a rows x cols gsl_matrix, row 0 at the top.  A data
 * set is an m x n_in matrix, one example per row; an image example is
 * flattened row-major (pixel (r, c) at column r * cols + c).
 *
 * Every function returns 0 or a status (SAE_EIO, SAE_EDATA, SAE_ESHAPE,
 * SAE_ENOMEM, ...) and writes one line into e naming the file, what was
 * expected, what was found and, where known, a hint.  Nothing here prints.
 * Readers allocate their results (the caller frees them with
 * gsl_matrix_free, free, or sae_images_free); on failure nothing is returned
 * and nothing leaks. */
#ifndef SAE_DATA_H
#define SAE_DATA_H

#include <stddef.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_rng.h>
#include "error.h"

/* ---- idx.c ------------------------------------------------------------- */

/* IDX images (magic 0x00000803: unsigned bytes, 3-D n x rows x cols), read
 * through zlib so a .gz file is decompressed transparently.  limit > 0 reads
 * only the first min(limit, n) images; the whole file is still checked: its
 * (decompressed) length must be exactly 16 + n * rows * cols bytes.
 * *X: m x (rows * cols), pixel values / 255, in [0, 1]. */
int sae_idx_read_images(const char *path, size_t limit, gsl_matrix **X, size_t *rows,
                        size_t *cols, sae_error *e);

/* IDX labels (magic 0x00000801: unsigned bytes, 1-D n), length exactly
 * 8 + n bytes.  *labels: the raw values (0..9 for MNIST), *n of them. */
int sae_idx_read_labels(const char *path, size_t limit, unsigned char **labels, size_t *n,
                        sae_error *e);

/* ---- images.c ---------------------------------------------------------- */

/* A rows x cols matrix, or NULL (out of memory, an empty or overflowing
 * size).  Unlike gsl_matrix_alloc it leaks nothing when the block fails. */
gsl_matrix *sae_data_matrix_alloc(size_t rows, size_t cols);

/* Free n matrices and the array holding them; NULL is a no-op. */
void sae_images_free(gsl_matrix **imgs, size_t n);

/* Olshausen's raw images: rows * cols big-endian IEEE-754 float32, row-major,
 * no header; the file is exactly rows * cols * 4 bytes and every value finite. */
int sae_image_read_f32be(const char *path, size_t rows, size_t cols, gsl_matrix **img,
                         sae_error *e);

/* A PNG (1..16-bit, grey, palette or colour, any alpha, interlaced or not)
 * as grey values in [0, 1]: colour becomes luma by ITU-R BT.601,
 * Y = 0.299 R + 0.587 G + 0.114 B (on the stored values, no gamma
 * correction); alpha and tRNS are dropped. */
int sae_image_read_png(const char *path, gsl_matrix **img, sae_error *e);

/* Variable varname of a MATLAB file (v4, v5, v7 compressed; v7.3 if matio
 * has HDF5): a real double or single array rows x cols (n = 1) or
 * rows x cols x n, stored column-major as MATLAB does, becomes n matrices
 * rows x cols: (*imgs)[k](r, c) = V(r+1, c+1, k+1). */
int sae_mat_read(const char *path, const char *varname, gsl_matrix ***imgs, size_t *n,
                 sae_error *e);

/* ---- whiten.c ---------------------------------------------------------- */

/* Olshausen's whitening, in place (Olshausen & Field 1997, sparsenet's
 * make-your-own-images recipe):
 *   I_w = Re F^-1[ F[I] . f exp(-(f/f0)^4) ],  f = sqrt(fx^2 + fy^2),
 * fx, fy the DFT frequencies in cycles per image, over [-N/2, N/2) for an
 * even side N (over [-(N-1)/2, (N-1)/2] for an odd one), each dimension its
 * own; f0 = f0_fraction * N (0.4 in the recipe), with N = sqrt(rows * cols)
 * for a non-square image.  The filter kills the mean (f = 0). */
int sae_whiten(gsl_matrix *img, double f0_fraction, sae_error *e);

/* Scale all n images by one common factor sqrt(target / v), v the mean over
 * images of each image's variance (population, about its own mean), so the
 * mean image variance becomes target (0.1 in the recipe).  SAE_EDATA
 * (nothing changed) when target <= 0, n == 0, every image is constant, or
 * v is not finite. */
int sae_images_scale_variance(gsl_matrix **imgs, size_t n, double target);

/* ---- patches.c --------------------------------------------------------- */

/* n random size x size patches (UFLDL sampleIMAGES): for each patch an image
 * uniformly, then a top-left corner uniformly among the positions where the
 * patch fits.  out is n x (size * size), patch row-major:
 * out(i, r * size + c) = img(r0 + r, c0 + c).  Draws 3 numbers per patch from
 * rng, in that order.  Errors name images from 1. */
int sae_patches_sample(gsl_matrix *const *imgs, size_t n_imgs, size_t size, size_t n,
                       gsl_rng *rng, gsl_matrix *out, sae_error *e);

/* UFLDL normalizeData, in place: subtract each row's mean; pstd = 3 sigma,
 * sigma the population standard deviation of all entries; clip to
 * [-pstd, pstd], divide by pstd, map to [0.1, 0.9] by (x + 1) * 0.4 + 0.1.
 * (UFLDL's MATLAB std divides by N - 1.)  If every entry is 0 after the
 * centring, every entry becomes 0.5. */
void sae_patches_normalize_ufldl(gsl_matrix *X);

#endif
