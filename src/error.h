/* error.h -- saelab's status codes and the one-line error carried back to the caller.
 *
 * Library functions return 0 or a code (GSL's, or SAE_* from saelab/plugin.h)
 * and, when they take an sae_error *, write one line saying what is wrong
 * (file, line, field, expected vs found, a hint).  Nothing here prints. */
#ifndef SAE_ERROR_H
#define SAE_ERROR_H

#include <stdarg.h>
#include "saelab/plugin.h"

#define SAE_ERRMSG_SIZE 512

typedef struct sae_error {
  int code;
  char msg[SAE_ERRMSG_SIZE];
} sae_error;

/* Record code and a formatted message in e (e may be NULL); returns code. */
int sae_error_set(sae_error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A short name for a code: saelab's own, else GSL's gsl_strerror. */
const char *sae_strerror(int code);

/* Turn GSL's aborting error handler off (call once at start-up). */
void sae_error_init(void);

#endif
