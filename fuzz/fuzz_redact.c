/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_redact.c - libFuzzer target for redaction (redact.h), which reads
 * whatever an agent put in argv or a shell string with the shell reader and
 * the registry.  Input: TEXT, then NUL-separated argv elements.  Checked: a
 * result always comes back; a changed string says [REDACTED], an unchanged
 * one is the input byte for byte (never longer); redacting the result again
 * changes nothing (text, `sh -c` strings, argv elements); argv keeps its
 * length and is valid UTF-8 for JSON; text derived from argv (an error
 * quoting it) comes back redacted, stable too. */
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
  free(twice);

  /* the text as a shell string: the same properties */
  char *sh[] = {"/bin/sh", "-c", buf, NULL};
  json_t *shout = al_redact_argv(sh);
  if (shout == NULL || json_array_size(shout) != 3)
    abort();
  const char *script = json_string_value(json_array_get(shout, 2));
  if (strstr(script, AL_REDACTED) == NULL && strstr(script, "\xef\xbf\xbd") == NULL && strcmp(script, buf) != 0)
    abort(); /* nothing redacted, no bad UTF-8 replaced: the input itself */
  char *sh2[] = {"/bin/sh", "-c", (char *)script, NULL};
  json_t *again = al_redact_argv(sh2);
  if (again == NULL || strcmp(json_string_value(json_array_get(again, 2)), script) != 0)
    abort();
  json_decref(again);
  json_decref(shout);

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
  for (size_t i = 0; i < argc; i++) {
    const char *el = json_string_value(json_array_get(out, i));
    if (strcmp(el, args[i]) != 0 && strstr(el, AL_REDACTED) == NULL && strstr(el, "\xef\xbf\xbd") == NULL)
      abort(); /* changed without a mark or a replaced byte */
  }
  json_decref(out);

  /* the text as an error message quoting argv */
  char *derived = al_redact_derived(args, once);
  if (derived == NULL)
    abort();
  char *derived2 = al_redact_derived(args, derived);
  if (derived2 == NULL || strcmp(derived, derived2) != 0)
    abort();
  free(derived);
  free(derived2);
  free(once);
  free(buf);
  return 0;
}
