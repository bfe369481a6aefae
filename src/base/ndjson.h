/* SPDX-License-Identifier: Apache-2.0 */
/* ndjson.h - reassembles newline-delimited records from a byte stream that
 * arrives in arbitrary pieces (curl write callbacks split and merge HTTP
 * chunks at will).  Complete lines are handed out as they appear; only the
 * unfinished tail is copied, and a line may not grow past a fixed cap, so a
 * peer that never sends '\n' cannot make us buffer without bound. */
#ifndef AIRLOCK_NDJSON_H
#define AIRLOCK_NDJSON_H

#include <stdbool.h>
#include <stddef.h>

#include "airlock/airlock.h"

/* Called once per complete line, in order.  line is not NUL-terminated and
 * excludes the '\n' and a '\r' before it; blank lines are skipped.  Return 0
 * to go on, -1 (with *err set) to stop the stream. */
typedef int (*al_ndjson_line_fn)(void *ctx, const char *line, size_t len, airlock_error **err);

typedef struct al_ndjson {
  char *buf; /* the unfinished line carried over between feeds */
  size_t len;
  size_t cap;
  size_t max_line; /* longest accepted line: bytes before the '\n' (a '\r' counts) */
  bool failed;     /* a feed failed: later feeds and finish refuse */
} al_ndjson;

void al_ndjson_init(al_ndjson *nd, size_t max_line);
void al_ndjson_clear(al_ndjson *nd);
/* Add len bytes; fn runs for every line they complete.  -1 when a line is
 * longer than max_line, memory runs out, or fn fails. */
int al_ndjson_feed(al_ndjson *nd, const char *data, size_t len, al_ndjson_line_fn fn, void *ctx, airlock_error **err);
/* End of stream: an unterminated last line is handed to fn as a line. */
int al_ndjson_finish(al_ndjson *nd, al_ndjson_line_fn fn, void *ctx, airlock_error **err);
/* Bytes of an unfinished line still held. */
size_t al_ndjson_pending(const al_ndjson *nd);

#endif
