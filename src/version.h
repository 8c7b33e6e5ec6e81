/* version.h -- what this saelab is built from, for `saelab version` and run records. */
#ifndef SAE_VERSION_H
#define SAE_VERSION_H

const char *sae_version(void);       /* PACKAGE_VERSION */
const char *sae_gsl_version(void);   /* GSL's run-time version */
/* The shared object that really serves cblas_dgemm (found with dladdr), e.g.
 * "/usr/lib/x86_64-linux-gnu/libopenblas.so.0"; "unknown" if dladdr fails. */
const char *sae_cblas_library(void);
/* OpenBLAS's core in use (openblas_get_corename), or "" if not OpenBLAS. */
const char *sae_blas_core(void);
/* OpenBLAS's threads (openblas_get_num_threads), or 0 if not OpenBLAS. */
int sae_blas_threads(void);
/* OpenBLAS's threading (openblas_get_parallel): 0 none, 1 its own pthreads,
 * 2 OpenMP; -1 if not OpenBLAS. */
int sae_blas_parallel(void);

#endif
