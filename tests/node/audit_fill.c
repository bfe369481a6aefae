/* SPDX-License-Identifier: Apache-2.0 */
/* audit_fill.c - test helper for tests/node/audit_cli.sh: appends the JSON
 * objects read from stdin (one per line) to STATE_DIR's audit trail in one
 * transaction, through the library as the node would, and prints the new
 * head.  Not installed.
 *
 *   audit-fill STATE_DIR < records.jsonl */
#define _GNU_SOURCE
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "audit.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: audit-fill STATE_DIR < records.jsonl\n");
    return 2;
  }
  json_t **recs = NULL;
  size_t n = 0, cap = 0;
  char *line = NULL;
  size_t len = 0;
  int rc = 1;
  while (getline(&line, &len, stdin) > 0) {
    json_error_t jerr;
    json_t *rec = json_loads(line, 0, &jerr);
    if (rec == NULL) {
      fprintf(stderr, "audit-fill: line %zu: %s\n", n + 1, jerr.text);
      goto out;
    }
    if (n == cap) {
      cap = cap ? cap * 2 : 64;
      recs = reallocarray(recs, cap, sizeof(*recs));
      if (recs == NULL)
        goto out;
    }
    recs[n++] = rec;
  }
  airlock_error *err = NULL;
  al_audit *a = NULL;
  uint64_t seq;
  char hash[65];
  if (al_audit_open(argv[1], true, &a, &err) < 0 || al_audit_append_many(a, recs, n, &err) < 0 ||
      al_audit_head(a, &seq, hash, &err) < 0) {
    fprintf(stderr, "audit-fill: %s\n", err->msg);
    airlock_error_free(&err);
  } else {
    printf("%" PRIu64 ":%s\n", seq, hash);
    rc = 0;
  }
  al_audit_close(a);
out:
  for (size_t i = 0; i < n; i++)
    json_decref(recs[i]);
  free(recs);
  free(line);
  return rc;
}
