/* SPDX-License-Identifier: Apache-2.0 */
/* redact_filter.c - the audit trail's redactor as a filter, for measuring it
 * on corpora (tests/redact/evaluate.py): each input line is a JSON string
 * holding one shell command; each output line is a JSON object with that
 * command redacted as the node records it, an argv ["/bin/sh", "-c", CMD]
 * ("argv") and as text ("text"). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"

int main(void) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, stdin)) > 0) {
    json_t *in = json_loadb(line, (size_t)n, JSON_DECODE_ANY, NULL);
    if (!json_is_string(in)) {
      fprintf(stderr, "redact_filter: each line must be a JSON string\n");
      return 2;
    }
    char *argv[] = {"/bin/sh", "-c", (char *)json_string_value(in), NULL};
    json_t *out = json_pack("{s:o,s:s}", "argv", al_redact_argv(argv), "text", "");
    char *text = al_redact_string(json_string_value(in));
    json_object_set_new(out, "text", json_string(text ? text : ""));
    free(text);
    char *dump = json_dumps(out, JSON_COMPACT);
    printf("%s\n", dump);
    free(dump);
    json_decref(out);
    json_decref(in);
  }
  free(line);
  return 0;
}
