/* cmdline.h -- the arguments of `saelab run` and `saelab gradcheck`, parsed
 * apart from main.c so that tests/fuzz/fuzz_args.c reaches the very code the
 * program runs (no Lua here: main.c turns the result into core.run.args).
 *
 *   saelab run SCRIPT.lua|- [--out DIR] [--seed N] [-v] [name=value ...]
 *   saelab gradcheck TYPE|--all [--seed N] [name=value ...]
 *
 * name is a Lua identifier; value is everything after the first '='. */
#ifndef SAE_CMDLINE_H
#define SAE_CMDLINE_H

#include <stddef.h>
#include "error.h"

#define SAE_CMDLINE_SEED 1 /* the seed when --seed is not given */
#define SAE_CMDLINE_MAX_HP 64 /* name=value pairs of gradcheck (LSAE_MAX_HP) */

/* A seed: a decimal whole number in [0, 2^32), nothing else; 0 or -1. */
int sae_cmdline_seed(const char *s, unsigned long *seed);

/* 1 if s is name=value with name a Lua identifier, else 0. */
int sae_cmdline_is_assignment(const char *s);

/* For an s that sae_cmdline_is_assignment accepts: *name_len is the length
 * of the name, the value follows the '=' (returned). */
const char *sae_cmdline_split(const char *s, size_t *name_len);

typedef struct sae_cmdline_run {
  const char *script; /* the path, or "stdin" for - (from_stdin set) */
  const char *out;    /* --out, or NULL */
  unsigned long seed;
  int verbose, from_stdin;
  int n_args;
  char **args; /* name=value, pointing into argv; allocated (sae_cmdline_run_free) */
} sae_cmdline_run;

/* Parse run's arguments (those after "run"); 0, or SAE_EDATA / SAE_ENOMEM with
 * e's message starting "run: ".  On failure nothing is left to free. */
int sae_cmdline_parse_run(int argc, char **argv, sae_cmdline_run *o, sae_error *e);
void sae_cmdline_run_free(sae_cmdline_run *o);

typedef struct sae_cmdline_gradcheck {
  const char *type; /* NULL with all */
  int all;
  unsigned long seed;
  size_t n_hp;
  const char *names[SAE_CMDLINE_MAX_HP]; /* point into argv: the '=' is overwritten with '\0' */
  double values[SAE_CMDLINE_MAX_HP];
} sae_cmdline_gradcheck;

/* Parse gradcheck's arguments (argv's name=value strings are cut at '=');
 * 0 or SAE_EDATA with e's message starting "gradcheck: ". */
int sae_cmdline_parse_gradcheck(int argc, char **argv, sae_cmdline_gradcheck *o, sae_error *e);

#endif
