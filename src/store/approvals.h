/* SPDX-License-Identifier: Apache-2.0 */
/* approvals.h - the queue of requests waiting for a human, and the answers
 * remembered with "approve always".  SQLite (STATE_DIR/approvals.db), so a
 * pending request survives a restart of the node and an answer given while
 * the caller polls is not lost.  Every state change is one conditional
 * UPDATE: two approvers answering at once, or an answer racing the
 * timeout, leave exactly one winner.
 *
 * An approval is bound to a request by a binding hash (argv, cwd,
 * environment, the executable's and the script's hashes, stdin): using it
 * for anything else fails, and "always" remembers that hash for the tenant. */
#ifndef AIRLOCK_APPROVALS_H
#define AIRLOCK_APPROVALS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "airlock/airlock.h"

typedef struct al_approvals al_approvals;

#define AL_APPROVAL_ID_LEN 19 /* "ap_" + 16 hex digits */

int al_approvals_open(const char *state_dir, al_approvals **out, airlock_error **err);
void al_approvals_close(al_approvals *s);

/* A new pending approval.  context is the request as an approver sees it
 * (argv, command, cwd, env_keys, actions, dangerous, rule, exe, exe_sha256,
 * script, script_sha256); it is stored as given (borrowed). */
int al_approvals_create(al_approvals *s, const char *tenant, const char *sandbox, const char *binding, int64_t now_ms,
                        int64_t expires_ms, json_t *context, char id[AL_APPROVAL_ID_LEN + 1], airlock_error **err);

/* How many approvals of the tenant (NULL: of every tenant) are pending (-1
 * on a database error). */
int64_t al_approvals_pending_count(al_approvals *s, const char *tenant);

/* The approval as the API shows it (context fields plus approval_id, state,
 * tenant, sandbox, created_at_ms, expires_at_ms and the answer), or NULL. */
json_t *al_approvals_get(al_approvals *s, const char *id);
/* Newest first; tenant NULL = every tenant. */
json_t *al_approvals_list(al_approvals *s, const char *tenant, bool pending_only, size_t limit);

typedef enum {
  AL_ANSWER_OK,
  AL_ANSWER_NOT_FOUND,
  AL_ANSWER_ALREADY, /* answered before (or used) */
  AL_ANSWER_EXPIRED, /* its time ran out first */
  AL_ANSWER_ERROR,
} al_answer_result;

/* Approve or reject a pending approval.  always (with approve) also
 * remembers the binding for the tenant, in the same transaction.  Past its
 * expiry a pending approval is marked expired and AL_ANSWER_EXPIRED. */
al_answer_result al_approvals_answer(al_approvals *s, const char *id, const char *approver, bool approve, bool always,
                                     const char *reason, int64_t now_ms);

/* Apply the default action to pending approvals whose time has run out:
 * they become "expired" (defaultAction reject) or "approved" by "timeout"
 * (defaultAction approve).  *ids (malloc'd, each malloc'd) names them. */
int al_approvals_expire(al_approvals *s, int64_t now_ms, bool default_approve, char ***ids, size_t *n);
/* The earliest expiry among pending approvals, or 0 when there are none. */
int64_t al_approvals_next_expiry(al_approvals *s);

/* Take an approved approval for the request it was given for: it must be
 * approved, unused, of the same tenant and sandbox, and bound to the same
 * hash.  It becomes "used" (one approval, one run).  0 on success, -1 with
 * the reason in why. */
int al_approvals_consume(al_approvals *s, const char *id, const char *tenant, const char *sandbox, const char *binding,
                         int64_t now_ms, char *why, size_t whylen);

/* true when an "approve always" answer covers this binding for the tenant;
 * by (if not NULL) is who gave it. */
bool al_approvals_always(al_approvals *s, const char *tenant, const char *binding, char *by, size_t bylen);

#endif
