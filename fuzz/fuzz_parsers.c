/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_parsers.c - libFuzzer target for the small text parsers.
 *
 * The input is split on its first NUL or newline; each piece (a C string in a
 * buffer of exactly its size, so ASan sees any over-read) is fed to
 * airlock_parse_size, airlock_parse_bind and al_check_mount_target.  Accepted
 * values are checked against properties that must always hold. */
#define _GNU_SOURCE
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pathpolicy.h"

static void check_result(int r, const airlock_error *err) {
  if (r == 0 && err != NULL)
    abort();
  if (r != 0 && (r != -1 || err == NULL || err->msg == NULL || err->msg[0] == '\0'))
    abort();
}

static void fuzz_size(const char *s) {
  int64_t out = -1;
  airlock_error *err = NULL;
  int r = airlock_parse_size(s, &out, &err);
  check_result(r, err);
  if (r == 0) {
    if (out < 0)
      abort();
    /* a plain decimal number of bytes (exactly representable) is itself */
    size_t n = strlen(s);
    if (n > 0 && n <= 15 && strspn(s, "0123456789") == n && out != strtoll(s, NULL, 10))
      abort();
  }
  airlock_error_free(&err);
}

/* Independent check of what al_check_mount_target promises for accepted
 * targets: absolute, not "/", no empty, "." or ".." components, no trailing
 * slash, not on or under a system path. */
static void check_clean_target(const char *dst) {
  static const char *const system[] = {"usr",    "bin", "sbin", "lib", "lib32", "lib64",
                                       "libx32", "etc", "proc", "dev", "sys",   "run"};
  size_t len = strlen(dst);
  if (len < 2 || dst[0] != '/' || dst[len - 1] == '/' || len >= PATH_MAX / 2)
    abort();
  const char *p = dst + 1;
  int first = 1;
  while (*p) {
    size_t c = strcspn(p, "/");
    if (c == 0 || (c == 1 && p[0] == '.') || (c == 2 && p[0] == '.' && p[1] == '.'))
      abort();
    if (first) {
      for (size_t i = 0; i < sizeof(system) / sizeof(system[0]); i++)
        if (strlen(system[i]) == c && memcmp(system[i], p, c) == 0)
          abort();
      first = 0;
    }
    p += c;
    if (*p == '/')
      p++;
  }
}

static void fuzz_target(const char *s) {
  airlock_error *err = NULL;
  int r = al_check_mount_target("bind", s, &err);
  check_result(r, err);
  if (r == 0)
    check_clean_target(s);
  airlock_error_free(&err);
}

static void fuzz_bind(const char *s) {
  airlock_bind b = {0};
  airlock_error *err = NULL;
  int r = airlock_parse_bind(s, &b, &err);
  check_result(r, err);
  if (r == 0) {
    if (b.src == NULL || b.dst == NULL || b.src[0] == '\0' || b.dst[0] == '\0' || strchr(b.src, ':') ||
        strchr(b.dst, ':'))
      abort();
    /* printing the bind back and parsing it again gives the same bind */
    char *again = NULL;
    if (asprintf(&again, "%s:%s:%s", b.src, b.dst, b.writable ? "rw" : "ro") < 0)
      abort();
    airlock_bind b2 = {0};
    if (airlock_parse_bind(again, &b2, &err) != 0 || strcmp(b.src, b2.src) != 0 || strcmp(b.dst, b2.dst) != 0 ||
        b.writable != b2.writable)
      abort();
    free(again);
    free(b2.src);
    free(b2.dst);
    fuzz_target(b.dst);
    free(b.src);
    free(b.dst);
  } else if (b.src != NULL || b.dst != NULL) {
    abort(); /* nothing is handed out on failure */
  }
  airlock_error_free(&err);
}

static char *piece(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (s == NULL)
    abort();
  if (size)
    memcpy(s, data, size);
  s[size] = '\0';
  return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t cut = 0;
  while (cut < size && data[cut] != '\0' && data[cut] != '\n')
    cut++;
  char *pieces[2] = {piece(data, cut), NULL};
  int n = 1;
  if (cut < size)
    pieces[n++] = piece(data + cut + 1, size - cut - 1);
  for (int i = 0; i < n; i++) {
    fuzz_size(pieces[i]);
    fuzz_bind(pieces[i]);
    fuzz_target(pieces[i]);
    free(pieces[i]);
  }
  return 0;
}
