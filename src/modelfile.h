/* modelfile.h -- a built model to and from a MAT 5 file (libmatio): the
 * architecture and every learned tensor, so sae.load rebuilds the model and
 * scipy.io.loadmat or Octave open its weights.  The format is described at
 * the top of modelfile.c. */
#ifndef SAE_MODELFILE_H
#define SAE_MODELFILE_H

#include <gsl/gsl_rng.h>
#include "error.h"
#include "model.h"
#include "registry.h"

#define SAE_MODELFILE_VERSION 1 /* the "saelab_model N" line this code writes and reads */
/* sae_model_load's flags.  By default each node's type must come from a
 * plugin of the saved name and version; a plugin's author bumps its version
 * when a type's tensors change meaning (dense 2.0: W became n_out x n_in).
 * The file itself may differ: a colleague's build of the same version. */
#define SAE_LOAD_ANY_PLUGIN 0x1u /* compare nothing (a plugin known to be equivalent) */
#define SAE_LOAD_SAME_FILE 0x2u  /* also the plugin file's sha256 (the exact build saved with) */

/* Write the built model m to path (MAT 5, zlib-compressed variables): first
 * to path.tmp, renamed over path once complete, removed on failure.  reg is
 * the registry m's types came from (for the plugins' files and sha256).
 * Returns 0, SAE_ESTATE (not built), SAE_EIO (cannot write or rename; the
 * message names the file) or SAE_ENOMEM. */
int sae_model_save(sae_model *m, const sae_registry *reg, const char *path, sae_error *e);

/* Rebuild the model saved in path from the types of reg: add its nodes with
 * the saved hyper-parameters and wiring, build it with rng (which advances as
 * a build's initialisation would), then copy the saved tensors in, every
 * shape and sha256 checked.  Unless flags has SAE_LOAD_ANY_PLUGIN, every
 * node's type must come from a plugin of the name and version recorded at
 * save (and with SAE_LOAD_SAME_FILE, from a file of the recorded sha256).
 * Nothing in the file is executed.  On success *out is the model (the
 * caller frees it); on failure *out is NULL and the one-line message starts
 * with path: SAE_EIO (cannot open), SAE_EDATA (not a MAT 5 file, no
 * saelab_model variable, a malformed description, a missing, misshapen or
 * damaged tensor, the file cut short), SAE_ETYPE (a type no plugin
 * provides), SAE_EPLUGIN (another plugin name or version, or sha256 with SAE_LOAD_SAME_FILE), or what adding the
 * nodes or building refused (SAE_EHPARAM, SAE_ESHAPE, SAE_ENOMEM). */
int sae_model_load(const char *path, const sae_registry *reg, gsl_rng *rng, unsigned flags,
                   sae_model **out, sae_error *e);

#endif
