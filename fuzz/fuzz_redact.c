/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_redact.c - libFuzzer target for the audit trail's redaction
 * (redact.c), which reads whatever an agent put in argv.  Input: TEXT, then
 * NUL-separated argv elements.  Checked: a result always comes back; a
 * changed string says [REDACTED]; redacting the result again changes
 * nothing; argv keeps its length and is valid UTF-8 for JSON. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"

#define MAX_ARGS 64

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  airlock_error *err = NULL;
  /* an operator pattern with a group, as a node config would add */
  if (al_redact_add_pattern("(?i)internal-([a-z0-9]+)", &err) < 0)
    abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *buf = malloc(size + 1);
  memcpy(buf, data, size);
  buf[size] = '\0';

  char *once = al_redact_string(buf);
  if (once == NULL)
    abort();
  if (strcmp(once, buf) != 0 && strstr(once, AL_REDACTED) == NULL)
    abort();
  char *twice = al_redact_string(once);
  if (twice == NULL || strcmp(once, twice) != 0)
    abort();
  free(once);
  free(twice);

  char *args[MAX_ARGS + 1];
  size_t argc = 0;
  for (size_t off = strlen(buf) + 1; off <= size && argc < MAX_ARGS; off += strlen(buf + off) + 1)
    args[argc++] = buf + off;
  args[argc] = NULL;
  json_t *out = al_redact_argv(args);
  if (out == NULL || json_array_size(out) != argc)
    abort();
  char *text = json_dumps(out, JSON_COMPACT);
  if (text == NULL)
    abort(); /* every element is valid UTF-8 */
  free(text);
  json_decref(out);
  free(buf);
  return 0;
}
