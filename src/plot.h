/* plot.h -- figures through a pipe to gnuplot (PNG via the pngcairo terminal).
 *
 * Without gnuplot on PATH every call returns SAE_EIO with a message saying
 * so; callers (the Lua layer) warn once and carry on without the figure. */
#ifndef SAE_PLOT_H
#define SAE_PLOT_H

#include <stddef.h>
#include <gsl/gsl_matrix.h>
#include "error.h"

/* 1 when a gnuplot with the pngcairo terminal can be run. Cached. */
int sae_plot_available(void);

typedef struct sae_plot_series {
  const char *title;
  const double *x; /* NULL: 1..n */
  const double *y;
  size_t n;
} sae_plot_series;

typedef struct sae_plot_opts {
  const char *title, *xlabel, *ylabel;
  int logy;          /* log scale on y */
  int width, height; /* pixels; 0: 640 x 480 (image: derived from the matrix) */
  /* Heatmap only.  image = 1: show the matrix as a picture (a filter mosaic,
   * display.h): grey palette (low black, high white), square pixels drawn one
   * rectangle each (`with image pixels`, no smoothing), no axes, tics, key or
   * colour bar, no margins but the title's.  A width/height left at 0 is
   * derived from the matrix: an integer number of pixels per entry (the most
   * that keeps the longer side <= 1200 px, between 1 and 8). */
  int image;
  double cbmin, cbmax; /* cbmin < cbmax: this colour range, else the data's */
} sae_plot_opts;

/* Line plot of one or more series into a PNG at path (written to a temporary
 * name, then renamed). */
int sae_plot_lines(const char *path, const sae_plot_series *s, size_t n_series,
                   const sae_plot_opts *o, sae_error *e);

/* Heatmap of a matrix (row 1 at the top), colour bar, optional axis labels;
 * or, with o->image, the matrix as a grey picture (see sae_plot_opts). */
int sae_plot_heatmap(const char *path, const gsl_matrix *a, const sae_plot_opts *o,
                     sae_error *e);

/* 1 when the failure in e was writing the image file itself (a full disk,
 * the file-size limit, an unwritable directory: the message starts "cannot
 * write PATH:", "cannot create" or "cannot rename"), not gnuplot's drawing; the previous file is then intact
 * and no temporary file remains, as for every failure. */
int sae_plot_write_failed(const sae_error *e);

#endif
