/* fuzz_model.c -- sae_model_load (src/modelfile.c), the reader behind
 * sae.load, on arbitrary bytes.  The plugins' types are linked in (the
 * Makefile compiles plugins/NAME.c with saelab_plugin renamed
 * fuzz_plugin_NAME), so the fuzzed hyper-parameters and shapes reach the
 * plugins' setup() under the sanitizers too.  topk is left out: OpenMP. */
#include <gsl/gsl_rng.h>
#include "error.h"
#include "fuzz.h"
#include "modelfile.h"

#define PLUGINS(X) X(dense) X(activation) X(loss) X(weight_decay) X(penalty_l1) \
  X(penalty_kl) X(softmax) X(arora) X(penalty_group) X(sparse_coding) X(latinh) X(lista)
#define DECLARE(name) const sae_plugin *fuzz_plugin_##name(uint32_t host_abi);
PLUGINS(DECLARE)

static sae_registry *reg;
static gsl_rng *rng;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  sae_error_init();
  sae_error e = {0, ""};
  reg = sae_registry_alloc();
  rng = gsl_rng_alloc(gsl_rng_mt19937);
  if (!reg || !rng) abort();
#define ADD(name)                                                                  \
  if (sae_registry_add(reg, fuzz_plugin_##name(SAE_PLUGIN_ABI), #name, NULL, &e)) { \
    fprintf(stderr, "fuzz_model: %s\n", e.msg);                                    \
    abort();                                                                       \
  }
  PLUGINS(ADD)
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sae_model *m = NULL;
  sae_error e = {0, ""};
  gsl_rng_set(rng, 1);
  int rc = sae_model_load(fuzz_file(data, size), reg, rng, 0, &m, &e);
  if (rc == 0 && !m) abort();
  if (rc != 0 && (m || !e.msg[0])) abort();
  sae_model_free(m);
  return 0;
}
