/* version.c -- versions and the CBLAS really in use.
 *
 * gsl.pc hard-wires -lgslcblas and libgsl.so depends on it, so which library
 * serves cblas_dgemm depends on link order: ask the dynamic linker instead of
 * trusting the build. */
#include <dlfcn.h>
#include <gsl/gsl_cblas.h>
#include <gsl/gsl_version.h>
#include "config.h"
#include "version.h"

const char *sae_version(void) { return PACKAGE_VERSION; }
const char *sae_gsl_version(void) { return gsl_version; }

const char *sae_cblas_library(void) {
  Dl_info info;
  /* Take the address through a volatile pointer so it resolves at run time. */
  void *volatile fn = (void *)cblas_dgemm;
  if (dladdr(fn, &info) && info.dli_fname) return info.dli_fname;
  return "unknown";
}

const char *sae_blas_core(void) {
  char *(*corename)(void) = (char *(*)(void))dlsym(RTLD_DEFAULT, "openblas_get_corename");
  return corename ? corename() : "";
}

int sae_blas_threads(void) {
  int (*threads)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "openblas_get_num_threads");
  return threads ? threads() : 0;
}

int sae_blas_parallel(void) {
  int (*parallel)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "openblas_get_parallel");
  return parallel ? parallel() : -1;
}
