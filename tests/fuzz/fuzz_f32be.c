/* fuzz_f32be.c -- sae_image_read_f32be (src/images.c): Olshausen's raw
 * big-endian float32 images.  The first two input bytes are the image size
 * the caller asks for (rows = 1 + b0 % 16, cols = 1 + b1 % 16); the rest is
 * the file. */
#include "data.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  size_t rows = 1 + data[0] % 16, cols = 1 + data[1] % 16;
  gsl_matrix *img = NULL;
  sae_error e = {0, ""};
  int rc = sae_image_read_f32be(fuzz_file(data + 2, size - 2), rows, cols, &img, &e);
  if (rc == 0 && (!img || img->size1 != rows || img->size2 != cols)) abort();
  if (rc != 0 && (img || !e.msg[0])) abort();
  gsl_matrix_free(img);
  return 0;
}
