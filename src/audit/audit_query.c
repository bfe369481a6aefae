/* SPDX-License-Identifier: Apache-2.0 */
/* audit_query.c - reading the audit trail back (al_audit_query): the
 * filters of al_audit_filter as one SQL statement over the filter columns,
 * records handed to a callback in seq order (or newest first).  It only
 * reads; the columns it filters on are written by audit_trail.c. */
#define _GNU_SOURCE
#include "audit_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"

/* text as it appears inside the JSON body, LIKE wildcards escaped with '\' */
static char *like_pattern(const char *text) {
  json_auto_t *js = json_string(text);
  _cleanup_free_ char *enc = js ? json_dumps(js, JSON_ENCODE_ANY) : NULL;
  const char *src = text;
  size_t len = strlen(text);
  if (enc != NULL && strlen(enc) >= 2) { /* strip the quotes */
    src = enc + 1;
    len = strlen(enc) - 2;
  }
  char *out = malloc(2 * len + 3), *p = out;
  if (out == NULL)
    return NULL;
  *p++ = '%';
  for (size_t i = 0; i < len; i++) {
    if (src[i] == '%' || src[i] == '_' || src[i] == '\\')
      *p++ = '\\';
    *p++ = src[i];
  }
  *p++ = '%';
  *p = '\0';
  return out;
}

int al_audit_query(al_audit *a, const al_audit_filter *f, int (*cb)(json_t *rec, void *ud), void *ud,
                   airlock_error **err) {
  al_audit_filter none = {0};
  if (f == NULL)
    f = &none;
  char sql[640] = "SELECT seq, body FROM records WHERE 1";
#define COND(c) strcat(sql, " AND " c)
  if (f->since_ms)
    COND("ts_ms >= ?");
  if (f->until_ms)
    COND("ts_ms < ?");
  if (f->tenant)
    COND("tenant = ?");
  if (f->action)
    COND("instr(actions, ',' || ? || ',') > 0");
  if (f->decision)
    COND("decision = ?");
  if (f->kind)
    COND("kind = ?");
  if (f->has_exit)
    COND("exit_code = ?");
  if (f->text)
    COND("body LIKE ? ESCAPE '\\'");
#undef COND
  strcat(sql, f->newest_first ? " ORDER BY seq DESC" : " ORDER BY seq");
  if (f->limit)
    strcat(sql, " LIMIT ?");

  _cleanup_free_ char *pattern = NULL;
  if (f->text && (pattern = like_pattern(f->text)) == NULL)
    return al_err(err, ENOMEM, "audit query");
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(a->db, sql, -1, &st, NULL) != SQLITE_OK)
    return db_err(err, a->db, "cannot query");
  int i = 1, rc = SQLITE_OK;
  if (f->since_ms)
    rc |= sqlite3_bind_int64(st, i++, f->since_ms);
  if (f->until_ms)
    rc |= sqlite3_bind_int64(st, i++, f->until_ms);
  if (f->tenant)
    rc |= sqlite3_bind_text(st, i++, f->tenant, -1, SQLITE_STATIC);
  if (f->action)
    rc |= sqlite3_bind_text(st, i++, f->action, -1, SQLITE_STATIC);
  if (f->decision)
    rc |= sqlite3_bind_text(st, i++, f->decision, -1, SQLITE_STATIC);
  if (f->kind)
    rc |= sqlite3_bind_text(st, i++, f->kind, -1, SQLITE_STATIC);
  if (f->has_exit)
    rc |= sqlite3_bind_int64(st, i++, f->exit_code);
  if (f->text)
    rc |= sqlite3_bind_text(st, i++, pattern, -1, SQLITE_STATIC);
  if (f->limit)
    rc |= sqlite3_bind_int64(st, i++, f->limit > INT64_MAX ? INT64_MAX : (sqlite3_int64)f->limit);
  if (rc != SQLITE_OK)
    return db_err(err, a->db, "cannot query");

  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *body = (const char *)sqlite3_column_text(st, 1);
    json_error_t jerr;
    json_auto_t *rec = body ? json_loadb(body, (size_t)sqlite3_column_bytes(st, 1), 0, &jerr) : NULL;
    if (!json_is_object(rec))
      return al_err(err, 0, "audit database %s: record %lld is not a JSON object (run 'airlock audit verify')",
                    a->db_path, (long long)sqlite3_column_int64(st, 0));
    int r = cb(rec, ud);
    if (r > 0)
      return 0;
    if (r < 0)
      return al_err(err, 0, "audit query stopped");
  }
  if (rc != SQLITE_DONE)
    return db_err(err, a->db, "cannot query");
  return 0;
}
