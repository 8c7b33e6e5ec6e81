/* fuzz_idx_images.c -- sae_idx_read_images (src/idx.c) on arbitrary bytes.
 * The whole input is the file (plain or gzipped); its length mod 3 picks the
 * limit (0 = every image, 1, 2), so the early-stop path is fuzzed too. */
#include "data.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  gsl_matrix *X = NULL;
  size_t rows = 0, cols = 0;
  sae_error e = {0, ""};
  int rc = sae_idx_read_images(fuzz_file(data, size), size % 3, &X, &rows, &cols, &e);
  if (rc == 0 && (!X || X->size2 != rows * cols)) abort();
  if (rc != 0 && (X || !e.msg[0])) abort(); /* an error says why and returns nothing */
  gsl_matrix_free(X);
  return 0;
}
