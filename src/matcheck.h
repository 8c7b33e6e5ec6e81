/* matcheck.h -- a MAT file's structure checked before libmatio reads it.
 *
 * matio (1.5.23, Debian 12) allocates what a file's headers say before it
 * reads the data: a MAT 4 header's name length, a MAT 5 element's byte
 * count, an array's dimensions.  A few hundred bytes could ask for
 * gigabytes.  sae_mat_check walks the file first and refuses it unless
 * every size fits in the file:
 *   MAT 4: each variable's header, name and mrows x ncols elements;
 *   MAT 5: each element's byte count within the file or the element around
 *     it (miCOMPRESSED variables inflated, in a stream, to check the same
 *     inside); each array's number of elements at most its bytes (an element
 *     takes at least one byte; sparse arrays excepted, stored by nnz);
 *   MAT 7.3 (HDF5): left to matio and HDF5.
 * Used by sae_mat_read (images.c) and sae_model_load (modelfile.c). */
#ifndef SAE_MATCHECK_H
#define SAE_MATCHECK_H

#include "error.h"

/* 0 when the structure fits; SAE_EIO (cannot open or read) or SAE_EDATA,
 * with one line starting with path. */
int sae_mat_check(const char *path, sae_error *e);

#endif
