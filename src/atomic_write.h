/* atomic_write.h -- a file written whole or not at all (every file saelab writes).
 *
 *   sae_atomic_file a;
 *   if ((rc = sae_atomic_open(&a, "out/report.md", e))) return rc;   -- out/report.md.tmp.PID.N
 *   if ((rc = sae_atomic_write(&a, text, len, e))) return rc;       -- write(2), every byte
 *   return sae_atomic_commit(&a, e);                                  -- fsync, close, rename
 *
 * The temporary file sits beside the target (same directory, so rename(2) is
 * atomic: a reader, or a run killed at any moment, sees the previous file or
 * the new one, never a part).  write, fsync and close are all checked: a full
 * disk or a quota often shows only at close (NFS) or fsync (delayed
 * allocation).  On any failure the helper removes the temporary file itself,
 * leaves the target untouched and returns SAE_EIO with one line naming the
 * target and strerror: "cannot write out/report.md: File too large" (or
 * "cannot create ...", "cannot rename a temporary file over ...").
 * After a failed call the helper has cleaned up: the caller returns the
 * error (abort stays harmless); a caller giving up for its own reasons calls
 * sae_atomic_abort.
 *
 * A writer that needs a file name rather than a descriptor (matio, a gnuplot
 * child) calls sae_atomic_release after open and writes a.tmp by name, then
 * checks its own status and commits (the file is reopened to be fsynced) or
 * aborts. */
#ifndef SAE_ATOMIC_WRITE_H
#define SAE_ATOMIC_WRITE_H

#include <stddef.h>
#include "error.h"

typedef struct sae_atomic_file {
  char *path; /* the target (a copy) */
  char *tmp;  /* the temporary file beside it; NULL once committed or aborted */
  int fd;     /* open on tmp for writing; -1 after release */
} sae_atomic_file;

/* Create a new temporary file for path (mode 0666 less the umask, as fopen's). */
int sae_atomic_open(sae_atomic_file *a, const char *path, sae_error *e);
/* Append n bytes (retrying short writes and EINTR). */
int sae_atomic_write(sae_atomic_file *a, const void *buf, size_t n, sae_error *e);
/* Close the descriptor (checked) so that another writer fills a->tmp by name. */
int sae_atomic_release(sae_atomic_file *a, sae_error *e);
/* fsync, close and rename a->tmp over the target. */
int sae_atomic_commit(sae_atomic_file *a, sae_error *e);
/* Remove the temporary file and free; idempotent, and a no-op after commit. */
void sae_atomic_abort(sae_atomic_file *a);

/* The whole of buf[0..n) to path, atomically: open, write, commit. */
int sae_atomic_write_file(const char *path, const void *buf, size_t n, sae_error *e);

#endif
