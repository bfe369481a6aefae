/* SPDX-License-Identifier: Apache-2.0 */
/* audit.h - the node's tamper-evident audit trail: one record per exec
 * request, result, approval and file operation, kept in STATE_DIR/audit.db
 * (SQLite, WAL, synchronous=FULL) and chained by SHA-256 so that an edit,
 * deletion, insertion or reordering is found by al_audit_verify().
 *
 * Chain: hash_n = SHA-256(hex(hash_{n-1}) || decimal(n) || body_n), written
 * as 64 lowercase hex digits; hash_0 is 64 '0's (or, after a prune, the
 * anchor: the hash of the last pruned record).  body_n is the record as
 * json_dumps(JSON_SORT_KEYS | JSON_COMPACT) with "seq" and "ts_ms" in it.
 * After every commit the newest seq and hash are also written (atomically)
 * to STATE_DIR/audit.head, so deleting the newest records is found too.
 * Someone who can write both files can still rewrite history consistently:
 * copy al_audit_head() somewhere else and check it later with
 * al_audit_verify_expect() (`airlock audit head`, `verify --expect-head`).
 *
 * A handle is for one thread at a time; several handles, in one or several
 * processes, may append to the same database (each append reads the head
 * inside its write transaction).  The writer (al_audit_writer_*) owns its
 * own handle and thread. */
#ifndef AIRLOCK_AUDIT_H
#define AIRLOCK_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "airlock/airlock.h"

#define AL_AUDIT_DB_FILE "audit.db"
#define AL_AUDIT_HEAD_FILE "audit.head"
#define AL_AUDIT_HASH_HEX 64

typedef struct al_audit al_audit;

/* Open STATE_DIR/audit.db.  The state dir must pass al_state_dir_prepare();
 * the database must be a regular 0600 file of the effective user.  With
 * create, a missing dir, database and head file are made; without it a
 * missing database fails with errnum ENOENT. */
int al_audit_open(const char *state_dir, bool create, al_audit **out, airlock_error **err);
void al_audit_close(al_audit *a);

/* rec: a JSON object (borrowed; "seq" is set on it, and "ts_ms" unless the
 * caller set it to an integer >= 0).  "kind" must be a non-empty string.
 * The filter columns are taken from "tenant", "decision" (strings),
 * "actions" (array of strings) and "exit_code" (integer) when they have
 * those types.  Committed durably (fsync) on return; then audit.head is
 * rewritten. */
int al_audit_append(al_audit *a, json_t *rec, airlock_error **err);
/* The same for n records in one transaction (all or none). */
int al_audit_append_many(al_audit *a, json_t *const *recs, size_t n, airlock_error **err);

/* --- background writer for the node's event loop ---------------------------
 * submit() only queues; a thread commits whatever is queued as one
 * transaction (one fsync) per batch of at most 4096 records.  A record that
 * cannot be stored (not an object, no "kind", a queue of 100000 records
 * already waiting, or a batch that still fails after 3 tries) is dropped
 * and counted in lost. */
typedef struct al_audit_writer al_audit_writer;
typedef struct {
  uint64_t submitted, written, lost, batches;
  /* how long the oldest record not yet committed has waited (0: none);
   * the whole batch being committed counts from its first record */
  int64_t oldest_wait_ms;
} al_audit_writer_stats;

int al_audit_writer_start(const char *state_dir, al_audit_writer **out, airlock_error **err);
/* Steals the reference; ts_ms is set here (submit time) when absent.
 * Thread-safe. */
void al_audit_writer_submit(al_audit_writer *w, json_t *rec);
/* Blocks until everything submitted before the call is committed (or
 * lost).  0: nothing was lost since the previous flush; -1: some was. */
int al_audit_writer_flush(al_audit_writer *w);
void al_audit_writer_stats_get(al_audit_writer *w, al_audit_writer_stats *out);
/* fn is called on the writer thread after each batch with its size, the
 * time its commit took (transaction, fsync, head file; retries included)
 * and whether it was stored: for metrics and audit-bench.  Set it before
 * the first submit. */
void al_audit_writer_observe(al_audit_writer *w, void (*fn)(size_t n, uint64_t commit_ns, bool ok, void *ud), void *ud);
/* Flushes, joins, frees; NULL ok. */
void al_audit_writer_stop(al_audit_writer *w);

/* --- queries ---------------------------------------------------------------- */

/* Every field is optional (0 / NULL / false = no condition).  since_ms is
 * inclusive, until_ms exclusive (Unix epoch milliseconds).  tenant, action,
 * decision and kind match exactly (action: any element of "actions"); text
 * is a case-insensitive (ASCII) substring of the record's JSON, matched the
 * way it is written there (a '"' in text matches the escaped \" of the
 * body).  limit 0 = no limit; with newest_first the newest come first (so
 * limit keeps the newest). */
typedef struct {
  int64_t since_ms, until_ms; /* 0 = unset */
  const char *tenant, *action, *decision, *kind, *text;
  bool has_exit;
  int exit_code;
  size_t limit; /* 0 = no limit */
  bool newest_first;
} al_audit_filter;

/* cb gets each matching record (borrowed: json_incref to keep it) in seq
 * order; it returns 0 to go on, 1 to stop (al_audit_query returns 0), -1 to
 * abort (al_audit_query returns -1 with an error). */
int al_audit_query(al_audit *a, const al_audit_filter *f, int (*cb)(json_t *rec, void *ud), void *ud,
                   airlock_error **err);

/* --- verification ---------------------------------------------------------- */

typedef enum {
  AL_AUDIT_INTACT = 0,
  AL_AUDIT_HASH_MISMATCH, /* the record's content or hash was changed, or it does not chain to the one before */
  AL_AUDIT_MISSING,       /* a gap in seq: bad_seq is the first missing record */
  AL_AUDIT_SEQ_MISMATCH,  /* the row holds another record's body: moved, swapped or shifted */
  AL_AUDIT_INSERTED,      /* a row where none can be: at or before the start of the chain */
  AL_AUDIT_MALFORMED,     /* the body is not a JSON object with an integer "seq" */
  AL_AUDIT_COLUMNS,       /* the filter columns disagree with the body (a record hidden from queries) */
  AL_AUDIT_TRUNCATED,     /* newest records missing: the head file (or expected head) is beyond the last record */
  AL_AUDIT_HEAD_MISMATCH, /* the record at the head file's (or expected) seq has another hash */
  AL_AUDIT_HEAD_MISSING,  /* records exist but audit.head is missing or unreadable */
  AL_AUDIT_ANCHOR,        /* the retention anchor is not where the newest prune record says */
} al_audit_problem;

typedef struct {
  uint64_t checked, first_seq, last_seq, bad_seq;
  char problem[256];
  char head_hash[65];     /* hash of last_seq (or of the anchor when no record is left) */
  al_audit_problem kind;  /* AL_AUDIT_INTACT when intact */
  uint64_t anchor_seq;    /* last pruned record; 0 = nothing pruned */
  uint64_t head_file_seq; /* what audit.head says (it may lag behind last_seq by a commit in flight) */
} al_audit_verify_result;

/* 0 intact, 1 tampered (r->kind, r->bad_seq and r->problem say which record
 * and how), -1 error.  Walks every record in seq order from the anchor,
 * then checks the anchor against the newest prune record and the last
 * record against audit.head. */
int al_audit_verify(al_audit *a, al_audit_verify_result *r, airlock_error **err);
/* The same, and record expect_seq must exist in the chain with hash
 * expect_hash (a head copied elsewhere earlier).  An expect_seq older than
 * the anchor cannot be checked any more: -1 with an error. */
int al_audit_verify_expect(al_audit *a, uint64_t expect_seq, const char *expect_hash, al_audit_verify_result *r,
                           airlock_error **err);

/* --- retention and head ---------------------------------------------------- */

/* Delete the records with ts_ms < older_than_ms (an absolute time, Unix
 * epoch ms) from the old end, stopping at the first newer one, in one
 * transaction that also moves the anchor (meta table) and appends a record
 * {"kind":"prune","through_seq":N,"through_hash":H,"removed":K}.  Refuses
 * (-1) when the trail does not verify: pruning must not launder tampering.
 * *removed may be NULL; nothing to remove appends nothing. */
int al_audit_prune(al_audit *a, int64_t older_than_ms, uint64_t *removed, airlock_error **err);
/* The newest record's seq and hash (0 and the anchor's or the all-zero hash
 * when there is none). */
int al_audit_head(al_audit *a, uint64_t *seq, char hash_hex[65], airlock_error **err);

/* --- redaction of existing records ------------------------------------------ */

typedef struct {
  int64_t version_before;     /* the redaction the trail was last redacted with (0: never) */
  uint64_t checked, changed;  /* records read, records whose body changed */
  uint64_t from_seq;          /* the first changed record: the chain is re-hashed from here */
  uint64_t record_seq;        /* the "audit.redacted" record appended (0: none, nothing changed) */
  uint64_t old_head_seq;      /* the head before */
  char old_head[65];
} al_audit_redact_result;

/* Records stored by an older redaction (or with force, all) redacted
 * again with the current one (redact.h, AL_REDACTION_VERSION): argv and
 * the free-text fields (error, reason, rule, ...).  When a record changes,
 * the chain is re-hashed from it on and a record {"kind":"audit.redacted",
 * "from_seq":F,"changed":K,"old_head":"SEQ:HASH","redaction":V} appended,
 * in one transaction; then the WAL is checkpointed and truncated and the
 * file rebuilt with secure_delete on.  Refuses (-1) a trail that does not
 * verify: re-hashing must not launder tampering.  The node runs it at
 * start; `airlock audit redact` with force. */
int al_audit_redact_existing(al_audit *a, bool force, al_audit_redact_result *r, airlock_error **err);

/* "SEQ:HASH" (64 hex digits, either case) -> seq, lowercase hash; -1 when
 * malformed. */
int al_audit_parse_head(const char *s, uint64_t *seq, char hash_hex[65]);
/* STATE_DIR/audit.head: 1 read, 0 no such file, -1 error (unreadable or
 * malformed). */
int al_audit_read_head_file(const char *state_dir, uint64_t *seq, char hash_hex[65], airlock_error **err);

#endif
