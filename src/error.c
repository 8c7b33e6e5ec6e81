/* error.c -- status codes and error messages. */
#include <stdio.h>
#include <gsl/gsl_errno.h>
#include "error.h"

int sae_error_set(sae_error *e, int code, const char *fmt, ...) {
  if (e) {
    va_list ap;
    va_start(ap, fmt);
    e->code = code;
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
  }
  return code;
}

const char *sae_strerror(int code) {
  switch (code) {
  case SAE_OK: return "success";
  case SAE_EHPARAM: return "bad hyper-parameter";
  case SAE_ESHAPE: return "shape mismatch";
  case SAE_ETYPE: return "unknown or misused type";
  case SAE_EPLUGIN: return "plugin refused";
  case SAE_EDATA: return "bad data";
  case SAE_EIO: return "input/output error";
  case SAE_ENOMEM: return "out of memory";
  case SAE_ESTATE: return "called at the wrong time";
  case SAE_ENUMERIC: return "non-finite value";
  case SAE_ELABELS: return "labels needed";
  default: return gsl_strerror(code);
  }
}

void sae_error_init(void) {
  /* GSL's default handler aborts; saelab checks every return code instead. */
  gsl_set_error_handler_off();
}
