/* cmdline.c -- run's and gradcheck's arguments (see cmdline.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cmdline.h"

int sae_cmdline_seed(const char *s, unsigned long *seed) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s || *end || s[0] == '-' || v > 0xffffffffULL) return -1;
  *seed = (unsigned long)v;
  return 0;
}

int sae_cmdline_is_assignment(const char *s) {
  const char *eq = strchr(s, '=');
  if (!eq || eq == s) return 0;
  for (const char *p = s; p < eq; p++)
    if (!(*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
          (p > s && *p >= '0' && *p <= '9')))
      return 0;
  return 1;
}

const char *sae_cmdline_split(const char *s, size_t *name_len) {
  const char *eq = strchr(s, '=');
  *name_len = (size_t)(eq - s);
  return eq + 1;
}

void sae_cmdline_run_free(sae_cmdline_run *o) {
  free(o->args);
  o->args = NULL;
  o->n_args = 0;
}

int sae_cmdline_parse_run(int argc, char **argv, sae_cmdline_run *o, sae_error *e) {
  memset(o, 0, sizeof *o);
  o->seed = SAE_CMDLINE_SEED;
  if (!(o->args = calloc((size_t)argc + 1, sizeof *o->args)))
    return sae_error_set(e, SAE_ENOMEM, "run: out of memory");
  int rc = 0;
  for (int i = 0; i < argc && !rc; i++) {
    if (strcmp(argv[i], "--out") == 0) {
      if (i + 1 >= argc) rc = sae_error_set(e, SAE_EDATA, "run: --out needs a directory");
      else o->out = argv[++i];
    } else if (strcmp(argv[i], "--seed") == 0) {
      if (i + 1 >= argc || sae_cmdline_seed(argv[++i], &o->seed))
        rc = sae_error_set(e, SAE_EDATA, "run: --seed needs a whole number in [0, 2^32)");
    } else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
      o->verbose = 1;
    } else if (sae_cmdline_is_assignment(argv[i])) {
      o->args[o->n_args++] = argv[i];
    } else if (!o->script && strcmp(argv[i], "-") == 0) {
      o->script = "stdin"; /* the report's name for it: results/stdin/ */
      o->from_stdin = 1;
    } else if (!o->script && argv[i][0] != '-') {
      o->script = argv[i];
    } else {
      rc = sae_error_set(e, SAE_EDATA,
                         "run: unexpected argument '%s' (script arguments are name=value)",
                         argv[i]);
    }
  }
  if (!rc && !o->script)
    rc = sae_error_set(e, SAE_EDATA, "run: name a script: saelab run SCRIPT.lua (or - for stdin)");
  if (rc) sae_cmdline_run_free(o);
  return rc;
}

int sae_cmdline_parse_gradcheck(int argc, char **argv, sae_cmdline_gradcheck *o,
                                sae_error *e) {
  memset(o, 0, sizeof *o);
  o->seed = SAE_CMDLINE_SEED;
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--all") == 0) {
      o->all = 1;
    } else if (strcmp(argv[i], "--seed") == 0) {
      if (i + 1 >= argc || sae_cmdline_seed(argv[++i], &o->seed))
        return sae_error_set(e, SAE_EDATA, "gradcheck: --seed needs a whole number in [0, 2^32)");
    } else if (sae_cmdline_is_assignment(argv[i])) {
      char *eq = strchr(argv[i], '='), *end;
      if (o->n_hp == SAE_CMDLINE_MAX_HP)
        return sae_error_set(e, SAE_EDATA, "gradcheck: too many hyper-parameters");
      *eq = '\0';
      o->values[o->n_hp] = strtod(eq + 1, &end);
      if (end == eq + 1 || *end)
        return sae_error_set(e, SAE_EDATA, "gradcheck: %s must be a number, got '%s'", argv[i],
                             eq + 1);
      o->names[o->n_hp++] = argv[i];
    } else if (!o->type && argv[i][0] != '-') {
      o->type = argv[i];
    } else {
      return sae_error_set(e, SAE_EDATA, "gradcheck: unexpected argument '%s'", argv[i]);
    }
  }
  if (!o->type && !o->all)
    return sae_error_set(e, SAE_EDATA,
                         "gradcheck: name a type (saelab plugins lists them) or --all");
  return 0;
}
