/* fuzz_mat.c -- sae_mat_read (src/images.c, libmatio) on arbitrary bytes:
 * the IMAGES variable of a .mat file, what sae.data.mat reads for UFLDL's
 * IMAGES.mat. */
#include "data.h"
#include "error.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  gsl_matrix **imgs = NULL;
  size_t n = 0;
  sae_error e = {0, ""};
  int rc = sae_mat_read(fuzz_file(data, size), "IMAGES", &imgs, &n, &e);
  if (rc == 0 && (!imgs || n == 0)) abort();
  if (rc != 0 && (imgs || !e.msg[0])) abort();
  sae_images_free(imgs, n);
  return 0;
}
