/* SPDX-License-Identifier: Apache-2.0 */
/* node_state.c - what the node must still know after a crash: which execs
 * were running (marked "interrupted" at the next start) and which sandboxes
 * existed (their node-made workspaces are removed).  SQLite in WAL mode with
 * synchronous=NORMAL: a record may be lost in a power cut, which only makes
 * an "interrupted" mark go missing; an exec never waits for a disk flush.
 * Starts are committed at once (recovery needs them); ends are grouped into
 * one transaction per 100 ms.  The table keeps the last 100000 execs, and
 * no command: nothing here reads one back. */
#define _GNU_SOURCE
#include "node.h"
#include "cleanup.h"
#include "clock.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <event2/event.h>
#include <stdbool.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct al_state {
  sqlite3 *db;
  sqlite3_stmt *exec_start, *exec_end, *sandbox;
  bool in_tx;           /* records since the last commit */
  struct event *commit; /* commits every COMMIT_MS: one transaction, not one per record */
  unsigned commits;
} al_state;

#define COMMIT_MS 100
#define KEEP_EXECS 100000

static void on_commit(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  al_state *s = arg;
  if (!s->in_tx)
    return;
  sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
  s->in_tx = false;
  if (++s->commits % 600 == 0) /* about once a minute under load: keep the table bounded */
    sqlite3_exec(s->db, "DELETE FROM execs WHERE rowid < (SELECT max(rowid) FROM execs) - 100000", NULL, NULL, NULL);
}

/* open the running transaction if there is none; the timer commits it */
static void begin(al_node *n, al_state *s) {
  if (s->in_tx)
    return;
  if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
    return;
  s->in_tx = true;
  if (!s->commit && n->base)
    s->commit = evtimer_new(n->base, on_commit, s);
  if (s->commit) {
    struct timeval tv = {0, COMMIT_MS * 1000};
    evtimer_add(s->commit, &tv);
  } else {
    on_commit(-1, 0, s); /* no event loop yet: commit now */
  }
}

static const char schema[] =
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS execs(id TEXT PRIMARY KEY, tenant TEXT, sandbox TEXT, state TEXT,"
    " started_ms INTEGER, ended_ms INTEGER, exit_code INTEGER, timed_out INTEGER, oom_killed INTEGER);"
    "CREATE TABLE IF NOT EXISTS sandboxes(id TEXT PRIMARY KEY, tenant TEXT, state TEXT, workspace TEXT,"
    " node_owned INTEGER, updated_ms INTEGER);"
    "CREATE TABLE IF NOT EXISTS snapshots(id TEXT PRIMARY KEY, tenant TEXT, sandbox TEXT, name TEXT,"
    " created_ms INTEGER, bytes INTEGER, files INTEGER);";

/* Before this version every exec's raw argv was kept in execs.argv, a
 * column nothing read: it is dropped, with secure_delete on so that the
 * freed pages are zeroed, the file rebuilt (VACUUM) and the WAL checkpointed
 * and truncated, so that no byte of an old command stays on disk. */
static int migrate(sqlite3 *db, airlock_error **err) {
  sqlite3_stmt *st = NULL;
  bool has_argv = false;
  if (sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info('execs') WHERE name='argv'", -1, &st, NULL) == SQLITE_OK)
    has_argv = sqlite3_step(st) == SQLITE_ROW;
  sqlite3_finalize(st);
  if (!has_argv)
    return 0;
  char *msg = NULL;
  if (sqlite3_exec(db,
                   "PRAGMA secure_delete=ON; UPDATE execs SET argv=NULL; ALTER TABLE execs DROP COLUMN argv; VACUUM;"
                   " PRAGMA wal_checkpoint(TRUNCATE);",
                   NULL, NULL, &msg) != SQLITE_OK) {
    al_err(err, 0, "node.db: cannot remove the commands kept by an older version: %s", msg ? msg : "?");
    sqlite3_free(msg);
    return -1;
  }
  al_logf(AL_LOG_INFO, "node.db: the raw commands an older version kept were removed");
  return 0;
}

/* execs and sandboxes of a previous run that did not end cleanly; their
 * node-made workspaces are removed below the node's workspaces directory
 * (never by a path from the database) */
static void recover(al_node *n, al_state *s) {
  int changed = 0;
  sqlite3_exec(s->db, "UPDATE execs SET state='interrupted' WHERE state='running'", NULL, NULL, NULL);
  changed = sqlite3_changes(s->db);
  if (changed)
    al_logf(AL_LOG_INFO, "%d exec(s) of the previous run marked interrupted", changed);
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(s->db, "SELECT workspace FROM sandboxes WHERE state!='destroyed' AND node_owned=1", -1, &st,
                         NULL) == SQLITE_OK) {
    while (sqlite3_step(st) == SQLITE_ROW) {
      const char *ws = (const char *)sqlite3_column_text(st, 0);
      const char *slash = ws ? strrchr(ws, '/') : NULL;
      size_t dl = n->ws_dir ? strlen(n->ws_dir) : 0;
      if (!slash || n->ws_dir_fd < 0 || (size_t)(slash - ws) != dl || strncmp(ws, n->ws_dir, dl) != 0 ||
          strncmp(slash + 1, "ws_", 3) != 0)
        continue; /* not one of this state directory's */
      _cleanup_error_ airlock_error *err = NULL;
      al_fs_workspace_unmount(n->ws_dir_fd, slash + 1); /* the quota tmpfs of a node that crashed */
      if (al_fs_remove_tree(n->ws_dir_fd, n->ws_dir, slash + 1, &err) < 0)
        al_logf(AL_LOG_INFO, "%s", err->msg);
    }
    sqlite3_finalize(st);
  }
  sqlite3_exec(s->db, "UPDATE sandboxes SET state='lost' WHERE state!='destroyed'", NULL, NULL, NULL);
}

int al_state_open(al_node *n, airlock_error **err) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/node.db", n->cfg->state_dir);
  _cleanup_free_ al_state *s = calloc(1, sizeof(*s));
  if (!s)
    return al_err(err, ENOMEM, "cannot open %s", path);
  /* made (or checked) here, on a descriptor: a regular file of ours, mode
   * 0600, before SQLite opens it (its -wal and -shm files take that mode).
   * Closed before SQLite opens the file: closing any descriptor of it would
   * drop SQLite's POSIX locks. */
  int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    al_err(err, errno, "cannot open %s", path);
    if (fd >= 0)
      close(fd);
    return -1;
  }
  int rc = 0;
  if (!S_ISREG(st.st_mode) || st.st_uid != geteuid())
    rc = al_err(err, 0, "%s is not a regular file of uid %u", path, (unsigned)geteuid());
  else if ((st.st_mode & 07777) != 0600 && fchmod(fd, 0600) < 0)
    rc = al_err(err, errno, "chmod 0600 %s", path);
  close(fd);
  if (rc < 0)
    return -1;
  if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW, NULL) !=
      SQLITE_OK) {
    al_err(err, 0, "cannot open %s: %s", path, sqlite3_errmsg(s->db));
    sqlite3_close(s->db);
    return -1;
  }
  sqlite3_busy_timeout(s->db, 2000);
  char *msg = NULL;
  if (sqlite3_exec(s->db, "PRAGMA secure_delete=ON;", NULL, NULL, NULL) != SQLITE_OK || migrate(s->db, err) < 0) {
    sqlite3_close(s->db);
    return -1;
  }
  if (sqlite3_exec(s->db, schema, NULL, NULL, &msg) != SQLITE_OK ||
      sqlite3_prepare_v2(
          s->db, "INSERT OR REPLACE INTO execs(id,tenant,sandbox,state,started_ms) VALUES(?,?,?,'running',?)",
          -1, &s->exec_start, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(s->db,
                         "UPDATE execs SET state=?, ended_ms=?, exit_code=?, timed_out=?, oom_killed=? WHERE id=?", -1,
                         &s->exec_end, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(
          s->db,
          "INSERT OR REPLACE INTO sandboxes(id,tenant,state,workspace,node_owned,updated_ms) VALUES(?,?,?,?,?,?)", -1,
          &s->sandbox, NULL) != SQLITE_OK) {
    al_err(err, 0, "cannot prepare %s: %s", path, msg ? msg : sqlite3_errmsg(s->db));
    sqlite3_free(msg);
    sqlite3_finalize(s->exec_start); /* those prepared: sqlite3_close keeps a database with statements open */
    sqlite3_finalize(s->exec_end);
    sqlite3_finalize(s->sandbox);
    sqlite3_close(s->db);
    return -1;
  }
  recover(n, s);
  n->state = AL_STEAL(s);
  return 0;
}

void al_state_close(al_node *n) {
  al_state *s = n->state;
  if (!s)
    return;
  on_commit(-1, 0, s);
  if (s->commit)
    event_free(s->commit);
  sqlite3_finalize(s->exec_start);
  sqlite3_finalize(s->exec_end);
  sqlite3_finalize(s->sandbox);
  sqlite3_close(s->db);
  free(s);
  n->state = NULL;
}

void al_state_exec_started(al_node *n, const al_exec *e) {
  al_state *s = n->state;
  if (!s)
    return;
  /* no command here: the audit trail keeps it, redacted */
  begin(n, s);
  sqlite3_stmt *st = s->exec_start;
  sqlite3_bind_text(st, 1, e->id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, e->tenant->name, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, e->sandbox_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 4, al_wall_ms());
  sqlite3_step(st);
  sqlite3_reset(st);
  /* a start must be on disk before a crash can interrupt it: commit now
   * (a WAL append; synchronous=NORMAL does not wait for the disk) */
  on_commit(-1, 0, s);
}

void al_state_exec_finished(al_node *n, const al_exec *e) {
  al_state *s = n->state;
  if (!s || !e->start_ms)
    return;
  begin(n, s);
  sqlite3_stmt *st = s->exec_end;
  sqlite3_bind_text(st, 1, e->interrupted ? "interrupted" : "exited", -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, al_wall_ms());
  sqlite3_bind_int(st, 3, al_exec_exit_code(e));
  sqlite3_bind_int(st, 4, e->timed_out);
  sqlite3_bind_int(st, 5, e->oom_killed);
  sqlite3_bind_text(st, 6, e->id, -1, SQLITE_STATIC);
  sqlite3_step(st);
  sqlite3_reset(st);
}

json_t *al_state_exec_lookup(al_node *n, const char *tenant, const char *id) {
  al_state *s = n->state;
  if (s)
    on_commit(-1, 0, s); /* see our own latest records */
  sqlite3_stmt *st = NULL;
  json_t *o = NULL;
  if (!s || sqlite3_prepare_v2(s->db,
                               "SELECT state, sandbox, started_ms, ended_ms, exit_code, timed_out, oom_killed "
                               "FROM execs WHERE id=? AND tenant=?",
                               -1, &st, NULL) != SQLITE_OK)
    return NULL;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, tenant, -1, SQLITE_STATIC);
  if (sqlite3_step(st) == SQLITE_ROW) {
    const char *state = (const char *)sqlite3_column_text(st, 0);
    o = json_pack("{s:s,s:s,s:I}", "exec_id", id, "state", state ? state : "unknown", "started_at_ms",
                  (json_int_t)sqlite3_column_int64(st, 2));
    const char *sandbox = (const char *)sqlite3_column_text(st, 1);
    if (sandbox && sandbox[0])
      json_object_set_new(o, "sandbox", json_string(sandbox));
    if (state && strcmp(state, "exited") == 0) {
      json_object_set_new(o, "exit_code", json_integer(sqlite3_column_int(st, 4)));
      json_object_set_new(o, "timed_out", json_boolean(sqlite3_column_int(st, 5)));
      json_object_set_new(o, "oom_killed", json_boolean(sqlite3_column_int(st, 6)));
      json_object_set_new(o, "ended_at_ms", json_integer(sqlite3_column_int64(st, 3)));
    }
  }
  sqlite3_finalize(st);
  return o;
}

void al_state_sandbox(al_node *n, const al_sbox *sb, const char *state) {
  al_state *s = n->state;
  if (!s)
    return;
  begin(n, s);
  sqlite3_stmt *st = s->sandbox;
  sqlite3_bind_text(st, 1, sb->id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, sb->tenant ? sb->tenant->name : "", -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, state, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, sb->owned_workspace ? sb->owned_workspace : (sb->workspace ? sb->workspace : ""), -1,
                    SQLITE_STATIC);
  sqlite3_bind_int(st, 5, sb->owned_workspace != NULL);
  sqlite3_bind_int64(st, 6, al_wall_ms());
  sqlite3_step(st);
  sqlite3_reset(st);
  on_commit(-1, 0, s); /* sandboxes are few, and recovery needs them: commit now */
}

/* snapshots (node_snapshot.c): few, and each one's files are already on
 * disk when it is recorded, so every change is committed at once */
void al_state_snapshot_put(al_node *n, const al_snap *sn) {
  al_state *s = n->state;
  sqlite3_stmt *st = NULL;
  if (!s || sqlite3_prepare_v2(s->db,
                               "INSERT OR REPLACE INTO snapshots(id,tenant,sandbox,name,created_ms,bytes,files)"
                               " VALUES(?,?,?,?,?,?,?)",
                               -1, &st, NULL) != SQLITE_OK)
    return;
  begin(n, s);
  sqlite3_bind_text(st, 1, sn->id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, sn->tenant, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, sn->sandbox, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, sn->name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 5, sn->created_ms);
  sqlite3_bind_int64(st, 6, sn->bytes);
  sqlite3_bind_int64(st, 7, sn->files);
  sqlite3_step(st);
  sqlite3_finalize(st);
  on_commit(-1, 0, s);
}

void al_state_snapshot_delete(al_node *n, const char *id) {
  al_state *s = n->state;
  sqlite3_stmt *st = NULL;
  if (!s || sqlite3_prepare_v2(s->db, "DELETE FROM snapshots WHERE id=?", -1, &st, NULL) != SQLITE_OK)
    return;
  begin(n, s);
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  sqlite3_step(st);
  sqlite3_finalize(st);
  on_commit(-1, 0, s);
}

int al_state_snapshots_load(al_node *n, void (*each)(al_node *n, const al_snap *sn)) {
  al_state *s = n->state;
  sqlite3_stmt *st = NULL;
  if (!s || sqlite3_prepare_v2(s->db, "SELECT id,tenant,sandbox,name,created_ms,bytes,files FROM snapshots", -1, &st,
                               NULL) != SQLITE_OK)
    return -1;
  while (sqlite3_step(st) == SQLITE_ROW) {
    al_snap sn = {0};
    const char *f[4];
    for (int i = 0; i < 4; i++)
      f[i] = (const char *)sqlite3_column_text(st, i);
    if (!f[0] || !f[1] || !f[2] || !f[3])
      continue;
    snprintf(sn.id, sizeof(sn.id), "%s", f[0]);
    snprintf(sn.tenant, sizeof(sn.tenant), "%s", f[1]);
    snprintf(sn.sandbox, sizeof(sn.sandbox), "%s", f[2]);
    snprintf(sn.name, sizeof(sn.name), "%s", f[3]);
    sn.created_ms = sqlite3_column_int64(st, 4);
    sn.bytes = sqlite3_column_int64(st, 5);
    sn.files = sqlite3_column_int64(st, 6);
    each(n, &sn);
  }
  sqlite3_finalize(st);
  return 0;
}
