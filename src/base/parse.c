/* SPDX-License-Identifier: Apache-2.0 */
/* parse.c - the small text parsers shared by the config file and the
 * command line: sizes ("512m") and bind specs ("SRC:DST[:ro|rw]").  Both
 * reject anything they do not fully understand instead of guessing. */
#define _GNU_SOURCE
#include "error.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <strings.h>

/* Plain decimal: digits with at most one '.', nothing else (no sign, no
 * exponent, no hex, no spaces: strtod accepts all of those). */
int airlock_parse_decimal(const char *text, double *out) {
  size_t digits = strspn(text, "0123456789");
  const char *p = text + digits;
  if (*p == '.') {
    size_t frac = strspn(p + 1, "0123456789");
    digits += frac;
    p += 1 + frac;
  }
  if (digits == 0 || *p != '\0' || digits > 30)
    return -1;
  *out = strtod(text, NULL);
  return 0;
}

int airlock_parse_size(const char *text, int64_t *out, airlock_error **err) {
  if (text == NULL || *text == '\0')
    return al_err(err, 0, "empty size");
  size_t numlen = strspn(text, "0123456789.");
  if (numlen == 0 || numlen > 30)
    return al_err(err, 0, "invalid size '%s': expected a number with an optional k, m, g or t suffix", text);
  char number[32];
  memcpy(number, text, numlen);
  number[numlen] = '\0';
  double value;
  if (airlock_parse_decimal(number, &value) < 0)
    return al_err(err, 0, "invalid size '%s': expected a number with an optional k, m, g or t suffix", text);
  const char *unit = text + numlen;
  int64_t mult = 1;
  if (*unit != '\0') {
    switch (tolower((unsigned char)*unit)) {
    case 'b': mult = 1; break;
    case 'k': mult = 1LL << 10; break;
    case 'm': mult = 1LL << 20; break;
    case 'g': mult = 1LL << 30; break;
    case 't': mult = 1LL << 40; break;
    default: return al_err(err, 0, "invalid size '%s': unknown unit '%s'", text, unit);
    }
    const char *rest = unit + 1;
    /* accept "512m", "512mb", "512MiB" */
    if (mult != 1 && (strcasecmp(rest, "b") == 0 || strcasecmp(rest, "ib") == 0))
      rest += strlen(rest);
    if (*rest != '\0')
      return al_err(err, 0, "invalid size '%s': trailing '%s'", text, rest);
  }
  if (strchr(number, '.') == NULL) {
    /* integers are parsed exactly, not through a double */
    errno = 0;
    long long n = strtoll(number, NULL, 10);
    if (errno == ERANGE || n > INT64_MAX / mult)
      return al_err(err, 0, "size '%s' is too large", text);
    *out = (int64_t)n * mult;
    return 0;
  }
  double bytes = value * (double)mult;
  if (bytes >= 9.2e18)
    return al_err(err, 0, "size '%s' is too large", text);
  if (bytes != (double)(int64_t)bytes)
    return al_err(err, 0, "invalid size '%s': not a whole number of bytes", text);
  *out = (int64_t)bytes;
  return 0;
}

int airlock_parse_bind(const char *text, airlock_bind *out, airlock_error **err) {
  if (text == NULL || *text == '\0')
    return al_err(err, 0, "empty bind: expected SRC:DST[:ro|rw]");
  char *copy = strdup(text);
  if (copy == NULL)
    return al_err(err, ENOMEM, "bind");
  char *parts[4] = {0};
  int n = 0;
  char *save = NULL;
  for (char *tok = strtok_r(copy, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
    if (n == 3) {
      free(copy);
      return al_err(err, 0, "invalid bind '%s': expected SRC:DST[:ro|rw] (paths may not contain ':')", text);
    }
    parts[n++] = tok;
  }
  /* strtok_r drops empty fields, so count the colons to catch "a::b" */
  int colons = 0;
  for (const char *c = text; *c; c++)
    colons += *c == ':';
  if (n < 2 || colons != n - 1) {
    free(copy);
    return al_err(err, 0, "invalid bind '%s': expected SRC:DST[:ro|rw]", text);
  }
  bool writable = false;
  if (n == 3) {
    if (strcmp(parts[2], "rw") == 0)
      writable = true;
    else if (strcmp(parts[2], "ro") != 0) {
      int r = al_err(err, 0, "invalid bind '%s': access must be 'ro' or 'rw', not '%s'", text, parts[2]);
      free(copy);
      return r;
    }
  }
  out->src = strdup(parts[0]);
  out->dst = strdup(parts[1]);
  out->writable = writable;
  free(copy);
  if (out->src == NULL || out->dst == NULL) {
    free(out->src);
    free(out->dst);
    return al_err(err, ENOMEM, "bind");
  }
  return 0;
}
