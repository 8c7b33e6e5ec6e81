/* ksparse_ref.h -- the dense-masked twin of plugins/topk.c's "ksparse" kernels (tests only).
 *
 * The same k-sparse autoencoder (Makhzani & Frey, ICLR 2014, section 2) with
 * full dense products and a 0/1 mask M instead of loops over the support:
 *
 *   Z  = 1 b + x W^T          M_ij = [j is among the kk largest of Z_i, ties to lower j]
 *   Zs = Z .* M               Y    = 1 b' + Zs D
 *   dZ = (dy D^T) .* M        grad b' += 1^T dy     grad D += Zs^T dy
 *   grad W += dZ^T x          grad b  += 1^T dZ     dx     += dZ W
 *
 * W and D (D = W tied, V untied) are n_hid x n_in as the plugin stores them;
 * x, Y, dy, dx are m x n_in; Z, M, Zs, dZ are m x n_hid; b 1 x n_hid; b' 1 x n_in.
 * Tied: pass the same matrix as gW and gD (both accumulate). */
#ifndef KSPARSE_REF_H
#define KSPARSE_REF_H

#include <gsl/gsl_matrix.h>

void ksparse_ref_encode(const gsl_matrix *x, const gsl_matrix *W, const gsl_matrix *b,
                        gsl_matrix *Z);
/* By counting, per entry, the entries ahead of it: O(m n_hid^2), independent
 * of the plugin's heap. */
void ksparse_ref_mask(const gsl_matrix *Z, size_t kk, gsl_matrix *M);
void ksparse_ref_decode(const gsl_matrix *Z, const gsl_matrix *M, const gsl_matrix *D,
                        const gsl_matrix *b_dec, gsl_matrix *Zs, gsl_matrix *Y);
void ksparse_ref_backward(const gsl_matrix *x, const gsl_matrix *Zs, const gsl_matrix *M,
                          const gsl_matrix *W, const gsl_matrix *D, const gsl_matrix *dy,
                          gsl_matrix *dZ, gsl_matrix *gW, gsl_matrix *gb, gsl_matrix *gD,
                          gsl_matrix *gb_dec, gsl_matrix *dx);

#endif
