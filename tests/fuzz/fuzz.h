/* fuzz.h -- what the libFuzzer harnesses of tests/fuzz/ share.
 *
 * The loaders take a path, so each input is written to one memfd (no disk,
 * nothing left behind) and the loader opens /proc/self/fd/N: a fresh open
 * file description each time, as for a real file (fstat says regular). */
#ifndef SAE_FUZZ_H
#define SAE_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LeakSanitizer's suppressions, built in.  libmatio 1.5.23 (Debian 12)
 * leaks the zlib stream it copies with inflateCopy when a compressed
 * variable is corrupt (about 40 KB a file, inside matio, whose frames have
 * no symbols; nothing of ours is on the stack).  Reported in doc/design.md;
 * every other leak still fails a run. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:inflateCopy\n"; }

/* The path of a file holding exactly data[0..size). */
static inline const char *fuzz_file(const uint8_t *data, size_t size) {
  static int fd = -1;
  static char path[64];
  if (fd < 0) {
    fd = memfd_create("saelab-fuzz", 0);
    if (fd < 0) {
      perror("memfd_create");
      abort();
    }
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  }
  if (ftruncate(fd, 0) || (size && pwrite(fd, data, size, 0) != (ssize_t)size)) {
    perror("fuzz_file");
    abort();
  }
  return path;
}

#endif
