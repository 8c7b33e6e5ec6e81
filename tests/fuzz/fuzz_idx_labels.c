/* fuzz_idx_labels.c -- sae_idx_read_labels (src/idx.c) on arbitrary bytes.
 * The whole input is the file; its length mod 3 picks the limit. */
#include "data.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  unsigned char *labels = NULL;
  size_t n = 0;
  sae_error e = {0, ""};
  int rc = sae_idx_read_labels(fuzz_file(data, size), size % 3, &labels, &n, &e);
  if (rc == 0 && (!labels || n == 0)) abort();
  if (rc != 0 && (labels || !e.msg[0])) abort();
  free(labels);
  return 0;
}
