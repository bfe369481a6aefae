/* SPDX-License-Identifier: Apache-2.0 */
/* sqlite_store.h - what airlock's SQLite stores (tokens.db, audit.db,
 * approvals.db) share: the database file is checked before SQLite opens it
 * (a regular file of ours, born 0600 whatever the umask, refused when others
 * could read it), errors name the store and the file, statements are
 * finalized when they go out of scope, and an error path never leaves a
 * transaction open. */
#ifndef AIRLOCK_SQLITE_STORE_H
#define AIRLOCK_SQLITE_STORE_H

#include <sqlite3.h>
#include <stdbool.h>

#include "airlock/airlock.h"

void al_sqlite_finalizep(sqlite3_stmt **st);
#define _cleanup_stmt_ __attribute__((cleanup(al_sqlite_finalizep)))

/* store names the database in messages ("token database").  With create a
 * missing file is made (0600); *created (may be NULL) tells whether it was. */
int al_sqlite_check_file(const char *store, const char *path, bool create, bool *created, airlock_error **err);
/* "STORE FILE: DOING: sqlite's message"; returns -1 */
int al_sqlite_err(airlock_error **err, sqlite3 *db, const char *store, const char *doing);
int al_sqlite_exec(sqlite3 *db, const char *store, const char *sql, airlock_error **err);
void al_sqlite_rollback_if_open(sqlite3 *db);
/* Create the schema of a new database (user_version 0) in one transaction
 * and set user_version; refuse a newer version than this airlock knows. */
int al_sqlite_ensure_schema(sqlite3 *db, const char *store, const char *schema_sql, int version, airlock_error **err);

#endif
