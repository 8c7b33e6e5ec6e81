/* display.h -- tile many small images (learned filters, image patches) into
 * one mosaic, as UFLDL's display_network.m does, for sae_plot_heatmap's grey
 * image mode.
 *
 * A holds one image per ROW: n_items x (h*w), each row an h x w image stored
 * row by row (pixel (r, c) of item k is A[k, r*w + c]).  Every type's W
 * holds one unit per row (saelab/plugin.h): an encoder's W is A as it is.
 *
 * The mosaic has rows_t x cols tiles, rows_t = ceil(n_items / cols), with a
 * 1-pixel border BETWEEN tiles (none around the outside):
 *
 *   size  rows_t*h + (rows_t - 1)  x  cols*w + (cols - 1)
 *   tile k (0-based) at row (k / cols)*(h + 1), column (k % cols)*(w + 1)
 *
 * Borders and the empty slots after the last item hold the display's
 * minimum, so they draw black on a grey palette (display_network's -1
 * background). */
#ifndef SAE_DISPLAY_H
#define SAE_DISPLAY_H

#include <stddef.h>
#include <gsl/gsl_matrix.h>
#include "error.h"

typedef enum sae_display_norm {
  /* As display_network.m: subtract the mean of all of A, then divide each
   * image by its own largest |value| (an all-zero image stays 0).  Values
   * land in [-1, 1]; borders are -1. */
  SAE_DISPLAY_EACH = 0,
  /* Values as they are; borders are min(A) over its finite values. */
  SAE_DISPLAY_NONE = 1
} sae_display_norm;

/* Build the mosaic of A's rows (see above) into a new matrix *mosaic (the
 * caller frees it with gsl_matrix_free).  cols = 0: ceil(sqrt(n_items));
 * cols larger than n_items is taken as n_items.  Errors: SAE_EDATA (A NULL
 * or empty), SAE_ESHAPE (h*w != A->size2, or h or w is 0), SAE_EHPARAM (an
 * unknown normalize), SAE_ENOMEM.  On error *mosaic is NULL. */
int sae_display_grid(const gsl_matrix *A, size_t h, size_t w, size_t cols, int normalize,
                     gsl_matrix **mosaic, sae_error *e);

#endif
