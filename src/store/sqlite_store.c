/* SPDX-License-Identifier: Apache-2.0 */
/* sqlite_store.c - the checks and error helpers shared by airlock's SQLite
 * stores (see sqlite_store.h). */
#define _GNU_SOURCE
#include "sqlite_store.h"
#include "cleanup.h"
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

void al_sqlite_finalizep(sqlite3_stmt **st) { sqlite3_finalize(*st); /* harmless on NULL */ }

int al_sqlite_check_file(const char *store, const char *path, bool create, bool *created, airlock_error **err) {
  if (created)
    *created = false;
  _cleanup_close_ int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && create) {
    fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_CREAT | O_EXCL, 0600);
    if (fd >= 0 && created)
      *created = true;
    else if (fd < 0 && errno == EEXIST) /* made by another process just now */
      fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  }
  if (fd < 0)
    return al_err(err, errno, "%s %s", store, path);
  struct stat st;
  if (fstat(fd, &st) < 0)
    return al_err(err, errno, "%s %s", store, path);
  if (!S_ISREG(st.st_mode))
    return al_err(err, 0, "%s %s is not a regular file", store, path);
  if (st.st_uid != geteuid())
    return al_err(err, 0, "%s %s is owned by uid %u, not by uid %u that airlock runs as", store, path,
                  (unsigned)st.st_uid, (unsigned)geteuid());
  if (st.st_mode & 077)
    return al_err(err, 0, "%s %s has mode %04o: group and others must have no access (chmod 600 %s)", store, path,
                  (unsigned)(st.st_mode & 07777), path);
  return 0;
}

int al_sqlite_err(airlock_error **err, sqlite3 *db, const char *store, const char *doing) {
  return al_err(err, 0, "%s %s: %s: %s", store, sqlite3_db_filename(db, "main"), doing, sqlite3_errmsg(db));
}

int al_sqlite_exec(sqlite3 *db, const char *store, const char *sql, airlock_error **err) {
  if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return al_sqlite_err(err, db, store, sql);
  return 0;
}

void al_sqlite_rollback_if_open(sqlite3 *db) {
  if (!sqlite3_get_autocommit(db))
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int al_sqlite_ensure_schema(sqlite3 *db, const char *store, const char *schema_sql, int version, airlock_error **err) {
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
    return al_sqlite_err(err, db, store, "cannot read the schema version");
  int have = sqlite3_column_int(st, 0);
  if (have == version)
    return 0;
  if (have > version)
    return al_err(err, 0, "%s %s has schema version %d; this airlock knows only up to %d", store,
                  sqlite3_db_filename(db, "main"), have, version);
  /* version 0: a new file (CREATE ... IF NOT EXISTS covers a race with
   * another process doing the same) */
  _cleanup_free_ char *sql = NULL;
  if (asprintf(&sql, "%s PRAGMA user_version = %d;", schema_sql, version) < 0)
    return al_err(err, ENOMEM, "%s", store);
  if (al_sqlite_exec(db, store, "BEGIN IMMEDIATE", err) < 0)
    return -1;
  if (al_sqlite_exec(db, store, sql, err) < 0 || al_sqlite_exec(db, store, "COMMIT", err) < 0) {
    al_sqlite_rollback_if_open(db);
    return -1;
  }
  return 0;
}
