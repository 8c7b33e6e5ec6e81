/* ksparse_ref.c -- the dense-masked twin of the "ksparse" kernels (see ksparse_ref.h). */
#include <gsl/gsl_blas.h>
#include "ksparse_ref.h"

/* Every row of A = the row vector r (1 x cols). */
static void ref_rows(gsl_matrix *A, const gsl_matrix *r) {
  for (size_t i = 0; i < A->size1; i++)
    for (size_t j = 0; j < A->size2; j++) gsl_matrix_set(A, i, j, gsl_matrix_get(r, 0, j));
}

/* r (1 x cols) += column sums of A. */
static void ref_colsum(const gsl_matrix *A, gsl_matrix *r) {
  for (size_t i = 0; i < A->size1; i++)
    for (size_t j = 0; j < A->size2; j++)
      gsl_matrix_set(r, 0, j, gsl_matrix_get(r, 0, j) + gsl_matrix_get(A, i, j));
}

void ksparse_ref_encode(const gsl_matrix *x, const gsl_matrix *W, const gsl_matrix *b,
                        gsl_matrix *Z) {
  ref_rows(Z, b);
  gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, x, W, 1.0, Z);
}

void ksparse_ref_mask(const gsl_matrix *Z, size_t kk, gsl_matrix *M) {
  for (size_t i = 0; i < Z->size1; i++)
    for (size_t j = 0; j < Z->size2; j++) {
      const double v = gsl_matrix_get(Z, i, j);
      size_t ahead = 0;
      for (size_t l = 0; l < Z->size2; l++) {
        const double u = gsl_matrix_get(Z, i, l);
        ahead += u > v || (u == v && l < j);
      }
      gsl_matrix_set(M, i, j, ahead < kk ? 1.0 : 0.0);
    }
}

void ksparse_ref_decode(const gsl_matrix *Z, const gsl_matrix *M, const gsl_matrix *D,
                        const gsl_matrix *b_dec, gsl_matrix *Zs, gsl_matrix *Y) {
  gsl_matrix_memcpy(Zs, Z);
  gsl_matrix_mul_elements(Zs, M);
  ref_rows(Y, b_dec);
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, Zs, D, 1.0, Y);
}

void ksparse_ref_backward(const gsl_matrix *x, const gsl_matrix *Zs, const gsl_matrix *M,
                          const gsl_matrix *W, const gsl_matrix *D, const gsl_matrix *dy,
                          gsl_matrix *dZ, gsl_matrix *gW, gsl_matrix *gb, gsl_matrix *gD,
                          gsl_matrix *gb_dec, gsl_matrix *dx) {
  ref_colsum(dy, gb_dec);
  gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, dy, D, 0.0, dZ);
  gsl_matrix_mul_elements(dZ, M);
  gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, Zs, dy, 1.0, gD);
  gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, dZ, x, 1.0, gW);
  ref_colsum(dZ, gb);
  if (dx) gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, dZ, W, 1.0, dx);
}
