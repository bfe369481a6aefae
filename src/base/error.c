/* SPDX-License-Identifier: Apache-2.0 */
/* error.c - the single error type of libairlock (see error.h). */
#define _GNU_SOURCE
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a failure carries when even its message cannot be allocated: every
 * failure reaches the user with a message, so callers never need a
 * fallback text.  Shared and never freed (airlock_error_free knows it). */
static airlock_error out_of_memory = {.errnum = ENOMEM, .msg = (char *)"out of memory"};

int al_err(airlock_error **err, int errnum, const char *fmt, ...) {
  if (err == NULL || *err != NULL)
    return -1;
  airlock_error *e = calloc(1, sizeof(*e));
  if (e == NULL) {
    *err = &out_of_memory;
    return -1;
  }
  char *base = NULL;
  va_list ap;
  va_start(ap, fmt);
  int n = vasprintf(&base, fmt, ap);
  va_end(ap);
  if (n < 0)
    base = NULL;
  if (base != NULL && errnum != 0) {
    char *full = NULL;
    if (asprintf(&full, "%s: %s", base, strerror(errnum)) >= 0) {
      free(base);
      base = full;
    }
  }
  if (base == NULL) {
    free(e);
    *err = &out_of_memory;
    return -1;
  }
  e->errnum = errnum;
  e->msg = base;
  *err = e;
  return -1;
}

int al_err_prefix(airlock_error **err, const char *fmt, ...) {
  if (err == NULL || *err == NULL || *err == &out_of_memory)
    return -1;
  char *ctx = NULL;
  va_list ap;
  va_start(ap, fmt);
  int n = vasprintf(&ctx, fmt, ap);
  va_end(ap);
  if (n < 0)
    return -1;
  char *full = NULL;
  if (asprintf(&full, "%s: %s", ctx, (*err)->msg ? (*err)->msg : "") >= 0) {
    free((*err)->msg);
    (*err)->msg = full;
  }
  free(ctx);
  return -1;
}

void airlock_error_free(airlock_error **err) {
  if (err == NULL || *err == NULL)
    return;
  if (*err == &out_of_memory) {
    *err = NULL;
    return;
  }
  free((*err)->msg);
  free(*err);
  *err = NULL;
}
