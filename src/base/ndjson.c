/* SPDX-License-Identifier: Apache-2.0 */
/* ndjson.c - line reassembly for NDJSON streams (see ndjson.h).  Lines that
 * arrive whole inside one piece are passed straight from the caller's buffer;
 * only a line split across pieces is copied into nd->buf. */
#define _GNU_SOURCE
#include "ndjson.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

void al_ndjson_init(al_ndjson *nd, size_t max_line) {
  memset(nd, 0, sizeof(*nd));
  nd->max_line = max_line;
}

void al_ndjson_clear(al_ndjson *nd) {
  free(nd->buf);
  nd->buf = NULL;
  nd->len = nd->cap = 0;
}

size_t al_ndjson_pending(const al_ndjson *nd) { return nd->len; }

static int too_long(al_ndjson *nd, airlock_error **err) {
  nd->failed = true;
  return al_err(err, 0, "stream line longer than %zu bytes", nd->max_line);
}

/* Hand out one line, trimmed of a final '\r'; blank lines are skipped. */
static int emit(al_ndjson *nd, const char *line, size_t len, al_ndjson_line_fn fn, void *ctx, airlock_error **err) {
  if (len > 0 && line[len - 1] == '\r')
    len--;
  size_t i = 0;
  while (i < len && (line[i] == ' ' || line[i] == '\t'))
    i++;
  if (i == len)
    return 0;
  if (fn(ctx, line, len, err) < 0) {
    nd->failed = true;
    return -1;
  }
  return 0;
}

static int append(al_ndjson *nd, const char *data, size_t len, airlock_error **err) {
  if (len > nd->max_line - nd->len) /* nd->len <= max_line always holds */
    return too_long(nd, err);
  if (nd->len + len > nd->cap) {
    size_t cap = nd->cap ? nd->cap : 256;
    while (cap < nd->len + len)
      cap = cap > nd->max_line / 2 ? nd->max_line : cap * 2;
    char *p = realloc(nd->buf, cap);
    if (p == NULL) {
      nd->failed = true;
      return al_err(err, ENOMEM, "cannot buffer a stream line of %zu bytes", nd->len + len);
    }
    nd->buf = p;
    nd->cap = cap;
  }
  memcpy(nd->buf + nd->len, data, len);
  nd->len += len;
  return 0;
}

int al_ndjson_feed(al_ndjson *nd, const char *data, size_t len, al_ndjson_line_fn fn, void *ctx, airlock_error **err) {
  if (nd->failed)
    return al_err(err, 0, "stream already failed");
  while (len > 0) {
    const char *nl = memchr(data, '\n', len);
    if (nl == NULL)
      return append(nd, data, len, err);
    size_t n = (size_t)(nl - data);
    if (nd->len == 0) {
      if (n > nd->max_line)
        return too_long(nd, err);
      if (emit(nd, data, n, fn, ctx, err) < 0)
        return -1;
    } else {
      if (append(nd, data, n, err) < 0)
        return -1;
      size_t whole = nd->len;
      nd->len = 0; /* buf is kept for the next split line */
      if (emit(nd, nd->buf, whole, fn, ctx, err) < 0)
        return -1;
    }
    data = nl + 1;
    len -= n + 1;
  }
  return 0;
}

int al_ndjson_finish(al_ndjson *nd, al_ndjson_line_fn fn, void *ctx, airlock_error **err) {
  if (nd->failed)
    return al_err(err, 0, "stream already failed");
  size_t n = nd->len;
  nd->len = 0;
  return n ? emit(nd, nd->buf, n, fn, ctx, err) : 0;
}
