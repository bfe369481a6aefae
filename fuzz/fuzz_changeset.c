/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_changeset.c - libFuzzer target for what `airlock changes` reads back
 * from a state directory: the changeset manifest parser, and the diff of
 * two texts.  A manifest that parses must format and parse again to the
 * same entries, every path in it must be a clean relative path, and a
 * failure must carry a message.  The input is also split in two and diffed
 * (the diff must succeed and be empty exactly when both halves are equal). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "changeset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  al_changeset cs;
  airlock_error *err = NULL;
  if (al_changeset_parse((const char *)data, size, &cs, &err) == 0) {
    if (err)
      abort();
    char *text = al_changeset_format(&cs);
    al_changeset again;
    if (!text || al_changeset_parse(text, strlen(text), &again, &err) != 0 || again.n != cs.n)
      abort();
    for (size_t i = 0; i < cs.n; i++)
      if (!al_ws_path_ok(cs.e[i].path) || strcmp(cs.e[i].path, again.e[i].path) != 0 || cs.e[i].op != again.e[i].op)
        abort();
    free(text);
    al_changeset_free(&again);
    al_changeset_free(&cs);
  } else if (!err || !err->msg || !err->msg[0]) {
    abort();
  }
  airlock_error_free(&err);

  size_t half = size / 2;
  char *out = NULL;
  size_t outlen = 0;
  if (al_ws_diff((const char *)data, half, (const char *)data + half, size - half, "a", "b", &out, &outlen) != 0)
    abort();
  bool same = half == size - half && memcmp(data, data + half, half) == 0;
  if (same != (outlen == 0))
    abort();
  free(out);
  return 0;
}
