/* atomic_write.c -- temporary file, checked writes, fsync, rename (see atomic_write.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "atomic_write.h"

/* Fail: remove the temporary file, free, and say why, naming the target. */
static int aw_fail(sae_atomic_file *a, int err, const char *what, sae_error *e) {
  char path[SAE_ERRMSG_SIZE];
  snprintf(path, sizeof path, "%s", a->path ? a->path : "(a file)");
  sae_atomic_abort(a);
  return sae_error_set(e, err == ENOMEM ? SAE_ENOMEM : SAE_EIO, "cannot %s%s: %s", what, path,
                       strerror(err ? err : EIO));
}

int sae_atomic_open(sae_atomic_file *a, const char *path, sae_error *e) {
  static unsigned serial; /* single-threaded, as the rest of saelab */
  a->path = NULL;
  a->tmp = NULL;
  a->fd = -1;
  if (!path || !*path) return sae_error_set(e, SAE_EIO, "cannot write a file with no name");
  size_t n = strlen(path) + 48;
  if (!(a->path = strdup(path)) || !(a->tmp = malloc(n))) return aw_fail(a, ENOMEM, "write ", e);
  /* A name of our own (pid, serial), created exclusively: two writers of
   * one target never share a temporary file, and the mode is the umask's. */
  for (int tries = 0; a->fd < 0; tries++) {
    snprintf(a->tmp, n, "%s.tmp.%ld.%u", path, (long)getpid(), serial++);
    a->fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (a->fd < 0 && (errno != EEXIST || tries > 100)) {
      int err = errno;
      free(a->tmp); /* nothing was created: nothing to remove */
      a->tmp = NULL;
      return aw_fail(a, err, "create ", e);
    }
  }
  return 0;
}

int sae_atomic_write(sae_atomic_file *a, const void *buf, size_t n, sae_error *e) {
  if (!a->tmp) return sae_error_set(e, SAE_ESTATE, "write to a file already closed");
  const char *p = buf;
  while (n > 0) {
    ssize_t w = write(a->fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return aw_fail(a, w < 0 ? errno : ENOSPC, "write ", e);
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int sae_atomic_release(sae_atomic_file *a, sae_error *e) {
  if (!a->tmp) return sae_error_set(e, SAE_ESTATE, "release of a file already closed");
  int fd = a->fd;
  a->fd = -1;
  if (fd >= 0 && close(fd) != 0) return aw_fail(a, errno, "write ", e);
  return 0;
}

int sae_atomic_commit(sae_atomic_file *a, sae_error *e) {
  if (!a->tmp) return sae_error_set(e, SAE_ESTATE, "commit of a file already closed");
  /* A released file is reopened: its writer closed it, fsync needs a descriptor. */
  if (a->fd < 0 && (a->fd = open(a->tmp, O_RDONLY | O_CLOEXEC)) < 0)
    return aw_fail(a, errno, "write ", e);
  /* fsync before rename: after a crash the target is the old file or the
   * whole new one, never a renamed file whose blocks never reached the disk. */
  if (fsync(a->fd) != 0) return aw_fail(a, errno, "write ", e);
  int fd = a->fd;
  a->fd = -1;
  if (close(fd) != 0) return aw_fail(a, errno, "write ", e);
  if (rename(a->tmp, a->path) != 0) return aw_fail(a, errno, "rename a temporary file over ", e);
  free(a->tmp);
  a->tmp = NULL;
  sae_atomic_abort(a); /* frees path */
  return 0;
}

void sae_atomic_abort(sae_atomic_file *a) {
  if (a->fd >= 0) close(a->fd);
  a->fd = -1;
  if (a->tmp) remove(a->tmp);
  free(a->tmp);
  free(a->path);
  a->tmp = a->path = NULL;
}

int sae_atomic_write_file(const char *path, const void *buf, size_t n, sae_error *e) {
  sae_atomic_file a;
  int rc = sae_atomic_open(&a, path, e);
  if (!rc) rc = sae_atomic_write(&a, buf, n, e);
  if (!rc) rc = sae_atomic_commit(&a, e);
  return rc;
}
