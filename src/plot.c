/* plot.c -- figures through a pipe to gnuplot (PNG via the pngcairo terminal).
 *
 * One figure = one gnuplot process:
 *
 *   popen("'/usr/bin/gnuplot' >/dev/null 2>'$TMPDIR/saelab-gnuplot-XXXXXX'", "w")
 *     set terminal pngcairo size W,H noenhanced
 *     set output 'PATH.tmp.PID.N'   (atomic_write.h's temporary file, released to gnuplot)
 *     ... settings ...
 *     plot '-' ...          data inline, each block ended by a line "e"
 *   pclose -> exit status 0 and a whole PNG (it ends with the IEND chunk:
 *   gnuplot exits 0 after a failed write on a full disk) -> fsync, rename over PATH
 *
 * Anything else removes the temporary file and returns SAE_EIO with one line, which
 * quotes gnuplot's first complaint (its stderr goes to a temporary file, so
 * nothing is printed on the caller's terminal).
 *
 * The program is "gnuplot" looked up on PATH, or the program named by the
 * environment variable SAELAB_GNUPLOT (a name looked up on PATH, or a path);
 * it is resolved on every call, so the override always takes effect.
 *
 * Strings given to gnuplot (titles, labels, the output name) are written as
 * single-quoted gnuplot strings, in which nothing is special but the quote
 * itself (see plot_put_string); newlines become spaces; the terminal is `noenhanced`, so
 * "cost_train" is drawn as written, not with a subscript.
 *
 * SIGPIPE: if gnuplot dies before reading all the data, writing to the pipe
 * raises SIGPIPE, whose default action kills the process.  The writes are
 * done with SIGPIPE blocked; a SIGPIPE raised meanwhile is consumed before
 * the old mask is restored, and the failure is reported from gnuplot's exit
 * status instead.  (Single-threaded use is assumed, as in the rest of saelab.)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* popen, mkstemp, sigtimedwait under -std=c11 */
#endif
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "atomic_write.h"
#include "plot.h"

#define PLOT_WIDTH 640
#define PLOT_HEIGHT 480
#define PLOT_MAX_PIXELS 20000 /* per side: anything larger is surely a mistake */
#define PLOT_CMD_SIZE (3 * PATH_MAX + 64)

/* ---- finding the program -------------------------------------------- */

/* The program name asked for: SAELAB_GNUPLOT if set and non-empty, else "gnuplot". */
static const char *plot_program_name(void) {
  const char *p = getenv("SAELAB_GNUPLOT");
  return p && *p ? p : "gnuplot";
}

static int plot_is_executable(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Resolve the program to an executable path in buf; 0 on success. */
static int plot_find_program(char *buf, size_t size, sae_error *e) {
  const char *name = plot_program_name();
  int overridden = getenv("SAELAB_GNUPLOT") && *getenv("SAELAB_GNUPLOT");

  if (strchr(name, '/')) {
    if (strlen(name) < size && plot_is_executable(name)) {
      strcpy(buf, name);
      return 0;
    }
  } else {
    const char *path = getenv("PATH");
    if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *dir = path;; ) {
      const char *end = strchr(dir, ':');
      size_t len = end ? (size_t)(end - dir) : strlen(dir);
      int n = len ? snprintf(buf, size, "%.*s/%s", (int)len, dir, name)
                  : snprintf(buf, size, "./%s", name); /* empty entry: "." */
      if (n > 0 && (size_t)n < size && plot_is_executable(buf)) return 0;
      if (!end) break;
      dir = end + 1;
    }
  }
  if (overridden)
    return sae_error_set(e, SAE_EIO,
                         "gnuplot not found: SAELAB_GNUPLOT=%s is not an executable "
                         "program (unset it to use gnuplot from PATH)", name);
  return sae_error_set(e, SAE_EIO,
                       "gnuplot not found on PATH: install the Debian package gnuplot-nox");
}

/* Append s to the shell command in single quotes ('\'' for a quote). */
static int plot_shell_quote(char *cmd, size_t size, const char *s) {
  size_t n = strlen(cmd);
  if (n + 1 >= size) return -1;
  cmd[n++] = '\'';
  for (; *s; s++) {
    if (*s == '\'') {
      if (n + 4 >= size) return -1;
      memcpy(cmd + n, "'\\''", 4);
      n += 4;
    } else {
      if (n + 1 >= size) return -1;
      cmd[n++] = *s;
    }
  }
  if (n + 2 > size) return -1;
  cmd[n++] = '\'';
  cmd[n] = '\0';
  return 0;
}

/* ---- availability ------------------------------------------------------ */

/* The cache remembers which program it probed: changing SAELAB_GNUPLOT
 * (tests do) probes again. */
static char plot_probed[PATH_MAX];
static int plot_probed_ok = -1;

int sae_plot_available(void) {
  char prog[PATH_MAX], cmd[PLOT_CMD_SIZE] = "";
  const char *name = plot_program_name();

  if (plot_probed_ok >= 0 && strcmp(plot_probed, name) == 0) return plot_probed_ok;
  int ok = 0;
  if (plot_find_program(prog, sizeof prog, NULL) == 0 &&
      plot_shell_quote(cmd, sizeof cmd, prog) == 0 &&
      strlen(cmd) + 64 < sizeof cmd) {
    strcat(cmd, " -e 'set terminal pngcairo' </dev/null >/dev/null 2>&1");
    int status = system(cmd);
    ok = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  if (strlen(name) < sizeof plot_probed) {
    strcpy(plot_probed, name);
    plot_probed_ok = ok;
  }
  return ok;
}

/* ---- one gnuplot session ------------------------------------------------ */

typedef struct plot_session {
  FILE *f;                 /* the pipe to gnuplot */
  sae_atomic_file out;     /* gnuplot's output: out.tmp, renamed over path */
  char errlog[PATH_MAX];   /* gnuplot's stderr */
  const char *path;        /* the final name */
  sigset_t oldmask;
  int sigpipe_pending;     /* SIGPIPE was already pending before we blocked it */
} plot_session;

static const char *plot_basename(const char *path) {
  const char *s = strrchr(path, '/');
  return s && s[1] ? s + 1 : path;
}

/* Write s as a gnuplot string expression.  Single-quoted strings are taken
 * literally (double-quoted ones run `commands` in backquotes); a quote is
 * spliced in as 'it'."'".'s', since gnuplot 5.4 misreads runs of doubled
 * quotes ('a''''b'). */
static void plot_put_string(FILE *f, const char *s) {
  fputc('\'', f);
  for (; s && *s; s++) {
    if (*s == '\'') fputs("'.\"'\".'", f);
    else if (*s == '\n' || *s == '\r' || *s == '\t') fputc(' ', f);
    else fputc(*s, f);
  }
  fputc('\'', f);
}

static void plot_put_number(FILE *f, double v) {
  if (isfinite(v)) fprintf(f, "%.9g", v);
  else fputs("NaN", f); /* gnuplot leaves the point out */
}

/* Start gnuplot writing to path.tmp; 0 on success. */
static int plot_begin(plot_session *s, const char *path, const sae_plot_opts *o,
                      sae_error *e) {
  char prog[PATH_MAX], cmd[PLOT_CMD_SIZE] = "";
  int width = o && o->width ? o->width : PLOT_WIDTH;
  int height = o && o->height ? o->height : PLOT_HEIGHT;

  memset(s, 0, sizeof *s);
  s->out.fd = -1;
  s->path = path;
  if (!path || !*path) return sae_error_set(e, SAE_EIO, "plot: no output path given");
  if (width < 1 || height < 1 || width > PLOT_MAX_PIXELS || height > PLOT_MAX_PIXELS)
    return sae_error_set(e, SAE_EHPARAM, "plot size %d x %d pixels out of range (1..%d)",
                         width, height, PLOT_MAX_PIXELS);

  int rc = plot_find_program(prog, sizeof prog, e);
  if (rc) return rc;

  const char *tmpdir = getenv("TMPDIR");
  if (!tmpdir || !*tmpdir) tmpdir = "/tmp";
  if (snprintf(s->errlog, sizeof s->errlog, "%s/saelab-gnuplot-XXXXXX", tmpdir) >=
      (int)sizeof s->errlog)
    return sae_error_set(e, SAE_EIO, "plot: TMPDIR too long: %s", tmpdir);
  int fd = mkstemp(s->errlog);
  if (fd < 0) {
    int err = errno;
    s->errlog[0] = '\0';
    return sae_error_set(e, SAE_EIO, "plot: cannot create a temporary file in %s: %s",
                         tmpdir, strerror(err));
  }
  close(fd);

  /* 'prog' >/dev/null 2>'errlog' */
  int too_long = plot_shell_quote(cmd, sizeof cmd, prog) != 0 || strlen(cmd) + 16 >= sizeof cmd;
  if (!too_long) {
    strcat(cmd, " >/dev/null 2>");
    too_long = plot_shell_quote(cmd, sizeof cmd, s->errlog) != 0;
  }
  if (too_long) {
    remove(s->errlog);
    s->errlog[0] = '\0';
    return sae_error_set(e, SAE_EIO, "plot: command line too long for %s", prog);
  }

  if ((rc = sae_atomic_open(&s->out, path, e)) || (rc = sae_atomic_release(&s->out, e))) {
    remove(s->errlog);
    s->errlog[0] = '\0';
    return rc;
  }

  /* Block SIGPIPE for the whole session; see the header comment. */
  sigset_t pipe_set, pending;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigpending(&pending);
  s->sigpipe_pending = sigismember(&pending, SIGPIPE);
  sigprocmask(SIG_BLOCK, &pipe_set, &s->oldmask);

  fflush(NULL); /* the child must not inherit unflushed stdio buffers */
  s->f = popen(cmd, "w");
  if (!s->f) {
    int err = errno;
    sigprocmask(SIG_SETMASK, &s->oldmask, NULL);
    remove(s->errlog);
    s->errlog[0] = '\0';
    sae_atomic_abort(&s->out);
    return sae_error_set(e, SAE_EIO, "plot: cannot start %s: %s", prog, strerror(err));
  }

  fprintf(s->f, "set terminal pngcairo size %d,%d noenhanced\n", width, height);
  fputs("set output ", s->f);
  plot_put_string(s->f, s->out.tmp);
  fputc('\n', s->f);
  if (o && o->title) {
    fputs("set title ", s->f);
    plot_put_string(s->f, o->title);
    fputc('\n', s->f);
  }
  if (o && o->xlabel) {
    fputs("set xlabel ", s->f);
    plot_put_string(s->f, o->xlabel);
    fputc('\n', s->f);
  }
  if (o && o->ylabel) {
    fputs("set ylabel ", s->f);
    plot_put_string(s->f, o->ylabel);
    fputc('\n', s->f);
  }
  return 0;
}

/* gnuplot's complaint, one line, into buf (may be empty).  gnuplot echoes
 * the offending command and a caret, then "line N: message"; that line is
 * wanted, else the first other non-blank line. */
static void plot_read_errlog(const char *errlog, char *buf, size_t size) {
  char line[512];
  buf[0] = '\0';
  FILE *f = errlog[0] ? fopen(errlog, "r") : NULL;
  if (!f) return;
  while (fgets(line, sizeof line, f)) {
    char *p = line;
    while (*p == ' ' || *p == '\t') p++;
    size_t n = strlen(p);
    while (n && (p[n - 1] == '\n' || p[n - 1] == '\r' || p[n - 1] == ' ')) p[--n] = '\0';
    if (!n || strcmp(p, "^") == 0 || strncmp(p, "gnuplot>", 8) == 0) continue;
    if (strncmp(p, "line ", 5) == 0) {
      snprintf(buf, size, "%s", p);
      break;
    }
    if (!buf[0]) snprintf(buf, size, "%s", p);
  }
  fclose(f);
}

/* 1 when the file ends with PNG's IEND chunk (length 0, "IEND", its CRC):
 * gnuplot exits 0 even when writing its image failed part way. */
static int plot_png_whole(const char *path) {
  static const unsigned char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
  unsigned char tail[12];
  FILE *f = fopen(path, "rb");
  int ok = f && fseek(f, -12L, SEEK_END) == 0 && fread(tail, 1, 12, f) == 12 &&
           memcmp(tail, iend, 12) == 0;
  if (f) fclose(f);
  return ok;
}

/* Why gnuplot's write stopped, as its errno would have said: the file-size
 * limit reached, else a full file system, else unknown. */
static const char *plot_short_reason(const char *path, size_t size) {
  struct rlimit rl;
  struct statvfs vfs;
  if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && size >= rl.rlim_cur)
    return strerror(EFBIG);
  if (statvfs(path, &vfs) == 0 && vfs.f_bavail == 0) return strerror(ENOSPC);
  return "an unknown write error";
}

/* Finish: close the pipe, check, rename.  Always cleans up. */
static int plot_end(plot_session *s, int write_failed, sae_error *e) {
  int rc = 0, status;
  char why[256];

  fputs("unset output\n", s->f);
  if (fflush(s->f) != 0 || ferror(s->f)) write_failed = 1;
  status = pclose(s->f);
  s->f = NULL;

  /* Consume a SIGPIPE raised by our writes, then restore the mask. */
  if (!s->sigpipe_pending) {
    sigset_t pipe_set, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE)) {
      struct timespec zero = {0, 0};
      while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR) {}
    }
  }
  sigprocmask(SIG_SETMASK, &s->oldmask, NULL);

  plot_read_errlog(s->errlog, why, sizeof why);
  const char *sep = why[0] ? ": " : "";
  const char *name = plot_basename(s->path);
  struct stat st;

  if (status == -1) {
    rc = sae_error_set(e, SAE_EIO, "gnuplot failed (cannot wait for it) drawing %s", name);
  } else if (WIFSIGNALED(status)) {
    rc = sae_error_set(e, SAE_EIO, "gnuplot failed (killed by signal %d) drawing %s%s%s",
                       WTERMSIG(status), name, sep, why);
  } else if (WEXITSTATUS(status) != 0) {
    rc = sae_error_set(e, SAE_EIO, "gnuplot failed (exit %d) drawing %s%s%s",
                       WEXITSTATUS(status), name, sep, why);
  } else if (write_failed) {
    rc = sae_error_set(e, SAE_EIO,
                       "gnuplot failed (stopped reading its input) drawing %s%s%s",
                       name, sep, why);
  } else if (stat(s->out.tmp, &st) != 0 || st.st_size == 0) {
    rc = sae_error_set(e, SAE_EIO, "gnuplot failed (wrote no image) drawing %s%s%s",
                       name, sep, why[0] ? why : "is the pngcairo terminal available?");
  } else if (!plot_png_whole(s->out.tmp)) {
    rc = sae_error_set(e, SAE_EIO, "cannot write %s: %s (gnuplot's image is cut short)",
                       s->path, plot_short_reason(s->out.tmp, (size_t)st.st_size));
  }
  if (rc) sae_atomic_abort(&s->out);
  else rc = sae_atomic_commit(&s->out, e);
  if (s->errlog[0]) remove(s->errlog);
  return rc;
}

/* ---- the figures -------------------------------------------------------- */

int sae_plot_lines(const char *path, const sae_plot_series *s, size_t n_series,
                   const sae_plot_opts *o, sae_error *e) {
  plot_session ses;

  if (!s || n_series == 0) return sae_error_set(e, SAE_EDATA, "plot: no series to draw");
  for (size_t k = 0; k < n_series; k++)
    if (!s[k].y || s[k].n == 0)
      return sae_error_set(e, SAE_EDATA, "plot: series %zu%s%s%s has no points", k + 1,
                           s[k].title ? " (" : "", s[k].title ? s[k].title : "",
                           s[k].title ? ")" : "");

  int rc = plot_begin(&ses, path, o, e);
  if (rc) return rc;
  FILE *f = ses.f;

  fputs("set grid\nset key top right\n", f);
  if (o && o->logy) fputs("set logscale y\n", f);
  fputs("plot ", f);
  for (size_t k = 0; k < n_series; k++) {
    fputs(k ? ", '-' using 1:2 with lines lw 1.5 " : "'-' using 1:2 with lines lw 1.5 ", f);
    if (s[k].title && *s[k].title) {
      fputs("title ", f);
      plot_put_string(f, s[k].title);
    } else {
      fputs("notitle", f);
    }
  }
  fputc('\n', f);

  int write_failed = 0;
  for (size_t k = 0; k < n_series && !write_failed; k++) {
    for (size_t i = 0; i < s[k].n; i++) {
      plot_put_number(f, s[k].x ? s[k].x[i] : (double)(i + 1));
      fputc(' ', f);
      plot_put_number(f, s[k].y[i]);
      if (fputc('\n', f) == EOF) {
        write_failed = 1;
        break;
      }
    }
    if (fputs("e\n", f) == EOF) write_failed = 1;
  }
  return plot_end(&ses, write_failed, e);
}

/* Tick step for an axis of n cells: 1 up to 20 cells, else a 1-2-5 step
 * giving at most about 10 ticks. */
static size_t plot_tick_step(size_t n) {
  if (n <= 20) return 1;
  size_t step = 1;
  for (;;) {
    if (n / step <= 10) return step;
    if (n / (2 * step) <= 10) return 2 * step;
    if (n / (5 * step) <= 10) return 5 * step;
    step *= 10;
  }
}

/* Image mode: pixels per matrix entry (the most that keeps the longer side
 * within PLOT_IMAGE_SIDE, between 1 and PLOT_IMAGE_MAX_SCALE) and the height
 * given to the title above the picture. */
#define PLOT_IMAGE_SIDE 1200
#define PLOT_IMAGE_MAX_SCALE 8
#define PLOT_IMAGE_TITLE 40

static size_t plot_image_scale(size_t m, size_t n) {
  size_t side = m > n ? m : n, scale = PLOT_IMAGE_SIDE / side;
  if (scale < 1) scale = 1;
  if (scale > PLOT_IMAGE_MAX_SCALE) scale = PLOT_IMAGE_MAX_SCALE;
  return scale;
}

int sae_plot_heatmap(const char *path, const gsl_matrix *a, const sae_plot_opts *o,
                     sae_error *e) {
  plot_session ses;

  if (!a || a->size1 == 0 || a->size2 == 0)
    return sae_error_set(e, SAE_EDATA, "plot: empty matrix");

  /* A signed matrix gets a diverging palette centred on 0 (blue - white -
   * red); a one-signed one gets gnuplot's default (black - blue - red - yellow);
   * an image gets grey. */
  double lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < a->size1; i++)
    for (size_t j = 0; j < a->size2; j++) {
      double v = gsl_matrix_get(a, i, j);
      if (isfinite(v)) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }

  size_t m = a->size1, n = a->size2;
  const int image = o && o->image;
  sae_plot_opts io;
  if (image) { /* the size follows the matrix, unless given */
    size_t scale = plot_image_scale(m, n);
    size_t title = o->title && *o->title ? PLOT_IMAGE_TITLE : 0;
    io = *o;
    if (!io.width) io.width = n * scale > PLOT_MAX_PIXELS ? PLOT_MAX_PIXELS : (int)(n * scale);
    if (!io.height)
      io.height = m * scale + title > PLOT_MAX_PIXELS ? PLOT_MAX_PIXELS
                                                      : (int)(m * scale + title);
    o = &io;
  }

  int rc = plot_begin(&ses, path, o, e);
  if (rc) return rc;
  FILE *f = ses.f;
  const int fixed_range = o && o->cbmin < o->cbmax;

  if (image) {
    double top = o->title && *o->title ? 1.0 - (double)PLOT_IMAGE_TITLE / o->height : 1.0;
    fputs("unset key\nunset tics\nunset border\nunset colorbox\nunset xlabel\nunset ylabel\n",
          f);
    fputs("set palette grey\nset size ratio -1\n", f);
    fprintf(f, "set lmargin at screen 0\nset rmargin at screen 1\n"
               "set bmargin at screen 0\nset tmargin at screen %.6f\n", top > 0.5 ? top : 0.5);
    fprintf(f, "set xrange [-0.5:%zu.5]\nset yrange [%zu.5:-0.5]\n", n - 1, m - 1);
    if (fixed_range)
      fprintf(f, "set cbrange [%.9g:%.9g]\n", o->cbmin, o->cbmax);
    else if (isfinite(lo) && lo == hi)
      fprintf(f, "set cbrange [%.9g:%.9g]\n", lo - 0.5, hi + 0.5); /* constant matrix */
    else if (isfinite(lo))
      fprintf(f, "set cbrange [%.9g:%.9g]\n", lo, hi);
    fputs("plot '-' matrix with image\n", f);
  } else {
    size_t xstep = plot_tick_step(n), ystep = plot_tick_step(m);
    fprintf(f, "unset key\nset tics out nomirror\nset size ratio -1\n");
    fprintf(f, "set xrange [0.5:%zu.5]\nset yrange [%zu.5:0.5]\n", n, m); /* row 1 on top */
    fprintf(f, "set xtics %zu\nset ytics %zu\n", xstep, ystep);
    if (xstep > 1) fputs("set xtics add (1)\n", f);
    if (ystep > 1) fputs("set ytics add (1)\n", f);
    fputs("set colorbox\n", f);
    if (lo < 0 && hi > 0) {
      double r = fmax(-lo, hi);
      fputs("set palette defined (-1 '#2166ac', 0 '#f7f7f7', 1 '#b2182b')\n", f);
      if (!fixed_range) fprintf(f, "set cbrange [%.9g:%.9g]\n", -r, r);
    } else if (isfinite(lo) && lo == hi && !fixed_range) {
      fprintf(f, "set cbrange [%.9g:%.9g]\n", lo - 0.5, hi + 0.5); /* constant matrix */
    }
    if (fixed_range) fprintf(f, "set cbrange [%.9g:%.9g]\n", o->cbmin, o->cbmax);
    fputs("plot '-' using ($1+1):($2+1):3 matrix with image\n", f);
  }

  int write_failed = 0;
  for (size_t i = 0; i < m && !write_failed; i++) {
    for (size_t j = 0; j < n; j++) {
      if (j) fputc(' ', f);
      plot_put_number(f, gsl_matrix_get(a, i, j));
    }
    if (fputc('\n', f) == EOF) write_failed = 1;
  }
  if (fputs("e\n", f) == EOF) write_failed = 1;
  return plot_end(&ses, write_failed, e);
}

int sae_plot_write_failed(const sae_error *e) {
  /* atomic_write.c's failures and plot_end's cut-short image say so */
  return e && (strncmp(e->msg, "cannot write ", 13) == 0 ||
               strncmp(e->msg, "cannot create ", 14) == 0 ||
               strncmp(e->msg, "cannot rename ", 14) == 0);
}
