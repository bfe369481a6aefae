/* SPDX-License-Identifier: Apache-2.0 */
/* approvals.c - the approval queue and remembered answers in SQLite (see
 * approvals.h).  WAL with synchronous=FULL: an answer that was acknowledged
 * to an approver must not come back as "pending" after a power cut.  The
 * request context is kept as JSON text; the columns are what the state
 * machine and the listing need. */
#define _GNU_SOURCE
#include "approvals.h"
#include "sqlite_store.h"
#include "cleanup.h"
#include "error.h"
#include "statedir.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

struct al_approvals {
  sqlite3 *db;
};

static const char schema[] =
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS approvals ("
    " id TEXT PRIMARY KEY, tenant TEXT NOT NULL, sandbox TEXT NOT NULL DEFAULT '',"
    " binding TEXT NOT NULL, created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL,"
    " state TEXT NOT NULL DEFAULT 'pending', context TEXT NOT NULL,"
    " answered_by TEXT, answered_ms INTEGER, answer_reason TEXT, always INTEGER NOT NULL DEFAULT 0,"
    " used_ms INTEGER);"
    "CREATE INDEX IF NOT EXISTS approvals_pending ON approvals(state, expires_ms);"
    "CREATE TABLE IF NOT EXISTS always_rules ("
    " tenant TEXT NOT NULL, binding TEXT NOT NULL, approver TEXT NOT NULL, approval_id TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL, PRIMARY KEY (tenant, binding));";

void al_approvals_close(al_approvals *s) {
  if (!s)
    return;
  sqlite3_close_v2(s->db);
  free(s);
}

int al_approvals_open(const char *state_dir, al_approvals **out, airlock_error **err) {
  *out = NULL;
  if (al_state_dir_prepare(state_dir, true, err) < 0)
    return -1;
  _cleanup_free_ char *path = NULL;
  if (asprintf(&path, "%s/approvals.db", state_dir) < 0)
    return al_err(err, ENOMEM, "approvals database");
  if (al_sqlite_check_file("approvals database", path, true, NULL, err) < 0)
    return -1;
  al_approvals *s = calloc(1, sizeof(*s));
  if (!s)
    return al_err(err, ENOMEM, "approvals database");
  if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK ||
      sqlite3_busy_timeout(s->db, 2000) != SQLITE_OK || sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
    al_err(err, 0, "approvals database %s: %s", path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
    al_approvals_close(s);
    return -1;
  }
  *out = s;
  return 0;
}

static sqlite3_stmt *prep(al_approvals *s, const char *sql) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
    return NULL;
  return st;
}

static void text(sqlite3_stmt *st, int i, const char *v) { sqlite3_bind_text(st, i, v ? v : "", -1, SQLITE_TRANSIENT); }

int al_approvals_create(al_approvals *s, const char *tenant, const char *sandbox, const char *binding, int64_t now_ms,
                        int64_t expires_ms, json_t *context, char id[AL_APPROVAL_ID_LEN + 1], airlock_error **err) {
  unsigned char rnd[8];
  if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
    return al_err(err, errno, "approval id");
  int n = snprintf(id, AL_APPROVAL_ID_LEN + 1, "ap_");
  for (size_t i = 0; i < sizeof(rnd); i++)
    n += snprintf(id + n, (size_t)(AL_APPROVAL_ID_LEN + 1 - n), "%02x", rnd[i]);
  _cleanup_free_ char *ctx = json_dumps(context, JSON_COMPACT | JSON_SORT_KEYS);
  _cleanup_stmt_ sqlite3_stmt *st =
      prep(s, "INSERT INTO approvals (id, tenant, sandbox, binding, created_ms, expires_ms, context)"
              " VALUES (?,?,?,?,?,?,?)");
  if (!st || !ctx)
    return al_err(err, 0, "approvals database: %s", sqlite3_errmsg(s->db));
  text(st, 1, id);
  text(st, 2, tenant);
  text(st, 3, sandbox);
  text(st, 4, binding);
  sqlite3_bind_int64(st, 5, now_ms);
  sqlite3_bind_int64(st, 6, expires_ms);
  text(st, 7, ctx);
  if (sqlite3_step(st) != SQLITE_DONE)
    return al_err(err, 0, "approvals database: %s", sqlite3_errmsg(s->db));
  return 0;
}

#define COLUMNS                                                                                                        \
  "id, tenant, sandbox, created_ms, expires_ms, state, context, answered_by, answered_ms, answer_reason, always"

static json_t *row_json(sqlite3_stmt *st) {
  json_t *o = json_loads((const char *)sqlite3_column_text(st, 6), 0, NULL);
  if (!json_is_object(o)) {
    json_decref(o);
    o = json_object();
  }
  json_object_set_new(o, "approval_id", json_string((const char *)sqlite3_column_text(st, 0)));
  json_object_set_new(o, "tenant", json_string((const char *)sqlite3_column_text(st, 1)));
  const char *sb = (const char *)sqlite3_column_text(st, 2);
  if (sb && *sb)
    json_object_set_new(o, "sandbox", json_string(sb));
  json_object_set_new(o, "created_at_ms", json_integer(sqlite3_column_int64(st, 3)));
  json_object_set_new(o, "expires_at_ms", json_integer(sqlite3_column_int64(st, 4)));
  json_object_set_new(o, "state", json_string((const char *)sqlite3_column_text(st, 5)));
  if (sqlite3_column_type(st, 7) != SQLITE_NULL) {
    json_object_set_new(o, "answered_by", json_string((const char *)sqlite3_column_text(st, 7)));
    json_object_set_new(o, "answered_at_ms", json_integer(sqlite3_column_int64(st, 8)));
  }
  if (sqlite3_column_type(st, 9) != SQLITE_NULL)
    json_object_set_new(o, "answer_reason", json_string((const char *)sqlite3_column_text(st, 9)));
  json_object_set_new(o, "always", json_boolean(sqlite3_column_int(st, 10)));
  return o;
}

int64_t al_approvals_pending_count(al_approvals *s, const char *tenant) {
  _cleanup_stmt_ sqlite3_stmt *st =
      prep(s, tenant ? "SELECT count(*) FROM approvals WHERE tenant = ? AND state = 'pending'"
                     : "SELECT count(*) FROM approvals WHERE state = 'pending'");
  if (!st)
    return -1;
  if (tenant)
    text(st, 1, tenant);
  return sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
}

json_t *al_approvals_get(al_approvals *s, const char *id) {
  _cleanup_stmt_ sqlite3_stmt *st = prep(s, "SELECT " COLUMNS " FROM approvals WHERE id = ?");
  if (!st)
    return NULL;
  text(st, 1, id);
  return sqlite3_step(st) == SQLITE_ROW ? row_json(st) : NULL;
}

json_t *al_approvals_list(al_approvals *s, const char *tenant, bool pending_only, size_t limit) {
  _cleanup_stmt_ sqlite3_stmt *st =
      prep(s, "SELECT " COLUMNS " FROM approvals WHERE (?1 IS NULL OR tenant = ?1) AND (?2 = 0 OR state = 'pending')"
              " ORDER BY created_ms DESC, rowid DESC LIMIT ?3");
  if (!st)
    return NULL;
  if (tenant)
    text(st, 1, tenant);
  sqlite3_bind_int(st, 2, pending_only);
  sqlite3_bind_int64(st, 3, limit ? (int64_t)limit : -1);
  json_t *arr = json_array();
  while (sqlite3_step(st) == SQLITE_ROW)
    json_array_append_new(arr, row_json(st));
  return arr;
}

static al_answer_result why_not_pending(al_approvals *s, const char *id) {
  _cleanup_stmt_ sqlite3_stmt *st = prep(s, "SELECT state FROM approvals WHERE id = ?");
  if (!st)
    return AL_ANSWER_ERROR;
  text(st, 1, id);
  if (sqlite3_step(st) != SQLITE_ROW)
    return AL_ANSWER_NOT_FOUND;
  return strcmp((const char *)sqlite3_column_text(st, 0), "expired") == 0 ? AL_ANSWER_EXPIRED : AL_ANSWER_ALREADY;
}

al_answer_result al_approvals_answer(al_approvals *s, const char *id, const char *approver, bool approve, bool always,
                                     const char *reason, int64_t now_ms) {
  if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    return AL_ANSWER_ERROR;
  al_answer_result res = AL_ANSWER_ERROR;
  {
    /* late: the timeout has won, whether or not its timer has fired yet */
    _cleanup_stmt_ sqlite3_stmt *late =
        prep(s, "UPDATE approvals SET state = 'expired' WHERE id = ? AND state = 'pending' AND expires_ms <= ?");
    if (!late)
      goto out;
    text(late, 1, id);
    sqlite3_bind_int64(late, 2, now_ms);
    if (sqlite3_step(late) != SQLITE_DONE)
      goto out;
    _cleanup_stmt_ sqlite3_stmt *st =
        prep(s, "UPDATE approvals SET state = ?, answered_by = ?, answered_ms = ?, answer_reason = ?, always = ?"
                " WHERE id = ? AND state = 'pending'");
    if (!st)
      goto out;
    text(st, 1, approve ? "approved" : "rejected");
    text(st, 2, approver);
    sqlite3_bind_int64(st, 3, now_ms);
    if (reason && *reason)
      text(st, 4, reason);
    else
      sqlite3_bind_null(st, 4);
    sqlite3_bind_int(st, 5, approve && always);
    text(st, 6, id);
    if (sqlite3_step(st) != SQLITE_DONE)
      goto out;
    if (sqlite3_changes(s->db) == 0) {
      res = why_not_pending(s, id);
      goto out;
    }
    if (approve && always) {
      _cleanup_stmt_ sqlite3_stmt *rule =
          prep(s, "INSERT OR REPLACE INTO always_rules (tenant, binding, approver, approval_id, created_ms)"
                  " SELECT tenant, binding, ?, id, ? FROM approvals WHERE id = ?");
      if (!rule)
        goto out;
      text(rule, 1, approver);
      sqlite3_bind_int64(rule, 2, now_ms);
      text(rule, 3, id);
      if (sqlite3_step(rule) != SQLITE_DONE)
        goto out;
    }
    res = AL_ANSWER_OK;
  }
out:
  /* an expiry found on the way is kept even when the answer is refused */
  if (res == AL_ANSWER_ERROR)
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  else if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    res = AL_ANSWER_ERROR;
  }
  return res;
}

int al_approvals_expire(al_approvals *s, int64_t now_ms, bool default_approve, char ***ids, size_t *n) {
  *ids = NULL;
  *n = 0;
  _cleanup_stmt_ sqlite3_stmt *st =
      prep(s, default_approve ? "UPDATE approvals SET state = 'approved', answered_by = 'timeout', answered_ms = ?1"
                                " WHERE state = 'pending' AND expires_ms <= ?1 RETURNING id"
                              : "UPDATE approvals SET state = 'expired', answered_ms = ?1"
                                " WHERE state = 'pending' AND expires_ms <= ?1 RETURNING id");
  if (!st)
    return -1;
  sqlite3_bind_int64(st, 1, now_ms);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    char **grown = realloc(*ids, (*n + 1) * sizeof(char *));
    if (grown == NULL)
      return -1;
    *ids = grown;
    if (((*ids)[*n] = strdup((const char *)sqlite3_column_text(st, 0))) == NULL)
      return -1;
    (*n)++;
  }
  return rc == SQLITE_DONE ? 0 : -1;
}

int64_t al_approvals_next_expiry(al_approvals *s) {
  _cleanup_stmt_ sqlite3_stmt *st = prep(s, "SELECT min(expires_ms) FROM approvals WHERE state = 'pending'");
  if (!st || sqlite3_step(st) != SQLITE_ROW || sqlite3_column_type(st, 0) == SQLITE_NULL)
    return 0;
  return sqlite3_column_int64(st, 0);
}

int al_approvals_consume(al_approvals *s, const char *id, const char *tenant, const char *sandbox, const char *binding,
                         int64_t now_ms, char *why, size_t whylen) {
  _cleanup_stmt_ sqlite3_stmt *get = prep(s, "SELECT tenant, sandbox, binding, state FROM approvals WHERE id = ?");
  if (!get) {
    snprintf(why, whylen, "approvals database: %s", sqlite3_errmsg(s->db));
    return -1;
  }
  text(get, 1, id);
  if (sqlite3_step(get) != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(get, 0), tenant) != 0) {
    snprintf(why, whylen, "no approval '%s'", id);
    return -1;
  }
  const char *state = (const char *)sqlite3_column_text(get, 3);
  if (strcmp(state, "approved") != 0) {
    snprintf(why, whylen, "approval '%s' is %s, not approved", id, state);
    return -1;
  }
  if (strcmp((const char *)sqlite3_column_text(get, 1), sandbox ? sandbox : "") != 0) {
    snprintf(why, whylen, "approval '%s' was given for another sandbox", id);
    return -1;
  }
  if (strcmp((const char *)sqlite3_column_text(get, 2), binding) != 0) {
    snprintf(why, whylen,
             "approval '%s' was given for a different request (argv, cwd, environment, stdin, or the executable or "
             "script changed since); a new approval is needed",
             id);
    return -1;
  }
  _cleanup_stmt_ sqlite3_stmt *use =
      prep(s, "UPDATE approvals SET state = 'used', used_ms = ? WHERE id = ? AND state = 'approved'");
  if (!use) {
    snprintf(why, whylen, "approvals database: %s", sqlite3_errmsg(s->db));
    return -1;
  }
  sqlite3_bind_int64(use, 1, now_ms);
  text(use, 2, id);
  if (sqlite3_step(use) != SQLITE_DONE || sqlite3_changes(s->db) != 1) {
    snprintf(why, whylen, "approval '%s' was used already", id);
    return -1;
  }
  return 0;
}

bool al_approvals_always(al_approvals *s, const char *tenant, const char *binding, char *by, size_t bylen) {
  _cleanup_stmt_ sqlite3_stmt *st = prep(s, "SELECT approver FROM always_rules WHERE tenant = ? AND binding = ?");
  if (!st)
    return false;
  text(st, 1, tenant);
  text(st, 2, binding);
  if (sqlite3_step(st) != SQLITE_ROW)
    return false;
  if (by)
    snprintf(by, bylen, "%s", (const char *)sqlite3_column_text(st, 0));
  return true;
}
