/* fuzz_png.c -- sae_image_read_png (src/images.c, libpng) on arbitrary bytes. */
#include "data.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  gsl_matrix *img = NULL;
  sae_error e = {0, ""};
  int rc = sae_image_read_png(fuzz_file(data, size), &img, &e);
  if (rc == 0 && !img) abort();
  if (rc != 0 && (img || !e.msg[0])) abort();
  gsl_matrix_free(img);
  return 0;
}
