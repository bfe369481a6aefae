/* SPDX-License-Identifier: Apache-2.0 */
/* openclaw.h - the OpenClaw node protocol (version 4) as pure functions:
 * parsing the gateway's frames (untrusted: fuzzed by fuzz/fuzz_openclaw.c),
 * building the node's frames, the Ed25519 device identity and its v3
 * signature, the stored device token, setup codes, and the system.run,
 * system.run.prepare and system.which handlers minus their I/O.  The wire
 * format is described in docs/openclaw.md. */
#ifndef AIRLOCK_OPENCLAW_H
#define AIRLOCK_OPENCLAW_H

#include "airlock/airlock.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OC_PROTOCOL 4
#define OC_OUTPUT_CAP 200000   /* stdout + stderr, head kept */
#define OC_FINISHED_TAIL 20000 /* exec.finished output, tail kept */
#define OC_TRUNCATED "\n... (truncated)"
#define OC_MAX_FRAME (32u << 20)

/* ---- frames (oc_frame.c) ---- */
typedef enum { OC_FRAME_REQ, OC_FRAME_RES, OC_FRAME_EVENT } oc_frame_type;
typedef struct oc_frame {
  oc_frame_type type;
  const char *id;   /* req, res */
  const char *name; /* req: method, event: event */
  bool ok;          /* res */
  json_t *payload;  /* req: params, res: payload or error, event: payload; borrowed from root; may be NULL */
  json_t *root;
} oc_frame;
int oc_frame_parse(const char *text, size_t len, oc_frame *f, airlock_error **err);
void oc_frame_clear(oc_frame *f);

typedef struct oc_invoke {
  char *id, *node_id, *command;
  json_t *params; /* the parsed paramsJSON, an object */
  int64_t timeout_ms;
} oc_invoke;
/* event node.invoke.request; err names what is wrong */
int oc_invoke_parse(const json_t *payload, oc_invoke *inv, airlock_error **err);
void oc_invoke_clear(oc_invoke *inv);
/* event node.invoke.cancel: the invoke id, or NULL */
const char *oc_cancel_id(const json_t *payload);
/* event connect.challenge */
int oc_challenge_parse(const json_t *payload, const char **nonce, int64_t *ts, airlock_error **err);

/* {"type":"req","id":ID,"method":M,"params":P} as text; steals params */
char *oc_req_text(const char *id, const char *method, json_t *params);
/* node.invoke.result params; steals payload */
json_t *oc_result_ok(const char *invoke_id, const char *node_id, json_t *payload);
json_t *oc_result_error(const char *invoke_id, const char *node_id, const char *code, const char *message);
/* node.event params; steals payload */
json_t *oc_node_event(const char *event, json_t *payload);

/* ---- identity and pairing (oc_identity.c) ---- */
typedef struct oc_identity {
  unsigned char pk[32], sk[64];
  char id[65];      /* hex sha256 of pk */
  char pub_b64[48]; /* base64url, no padding */
} oc_identity;
/* DIR/openclaw-device.json: made once (0600), then loaded */
int oc_identity_load(const char *dir, oc_identity *id, airlock_error **err);
/* DIR/openclaw-auth.json: the device token the gateway issued; *token NULL when none */
int oc_token_load(const char *dir, char **token, airlock_error **err);
int oc_token_save(const char *dir, const char *token, airlock_error **err);
/* a setup code: base64url JSON {url, bootstrapToken, expiresAtMs} */
int oc_setup_code_decode(const char *code, char **url, char **bootstrap, int64_t *expires_ms, airlock_error **err);
char *oc_b64url(const unsigned char *data, size_t len);
/* v3|id|node-host|node|node||signedAt|token|nonce|linux|linux */
char *oc_auth_payload(const char *device_id, int64_t signed_at, const char *token, const char *nonce);
char *oc_sign(const oc_identity *id, const char *payload);
typedef enum { OC_AUTH_TOKEN, OC_AUTH_BOOTSTRAP } oc_auth_kind;
json_t *oc_connect_params(const oc_identity *id, const char *name, const char *instance, oc_auth_kind kind,
                          const char *token, const char *nonce, int64_t ts);

/* ---- system.run and friends (oc_run.c) ---- */
typedef struct oc_run {
  char **argv; /* NULL-terminated */
  char *raw_command, *cwd, *run_id, *session_key, *agent_id;
  char **env;         /* accepted overrides, "K=V", NULL-terminated; NULL when none */
  int64_t timeout_ms; /* 0: none given */
  bool suppress_notify;
  /* set by the gateway only from a real exec.approval record */
  bool approved;
  char *approval_decision; /* "allow-once", "allow-always"; NULL: none */
  char *approval_source;   /* "auto-review", "ask-fallback"; NULL: none */
  json_t *plan;            /* systemRunPlan as sent (a reference); NULL: none */
} oc_run;
/* params of system.run or system.run.prepare.  On a refusal *code is set
 * ("INVALID_REQUEST") and err carries the message the official host gives. */
int oc_run_parse(const json_t *params, oc_run *r, const char **code, airlock_error **err);
void oc_run_clear(oc_run *r);
/* formatExecCommand: args joined by spaces, quoted when they hold
 * whitespace or '"', the empty string as "" */
char *oc_format_command(char *const *argv);
/* the inline script of `sh -c X` style argv, or NULL */
const char *oc_shell_payload(char *const *argv);
/* the sandbox's cwd for a requested one: /workspace and below kept,
 * relative paths below /workspace, anything else /workspace */
char *oc_sandbox_cwd(const char *cwd);
/* what the node's policy asks of the gateway for a command (execPolicy):
 * run it, have the gateway's approvers approve it first, or refuse it */
typedef enum { OC_EXEC_RUN, OC_EXEC_ASK, OC_EXEC_DENY } oc_exec_policy;
/* the prepare result for r, with plan.cwd = cwd */
json_t *oc_prepare_result(const oc_run *r, const char *cwd, oc_exec_policy policy);
/* whether a system.run carries a human's approval bound to this very
 * command: approved with allow-once/allow-always, and a systemRunPlan whose
 * argv, cwd, agentId and sessionKey are the request's.  On false, why says
 * what is missing or differs. */
bool oc_run_human_approved(const oc_run *r, char *why, size_t len);
/* system.which {bins:[...]}: look each one up in the colon list path with exists() */
json_t *oc_which_result(const json_t *params, const char *path, bool (*exists)(const char *file), airlock_error **err);
/* the system.run result; truncated adds OC_TRUNCATED as the official host does */
typedef struct oc_outcome {
  bool has_exit;
  int exit_code;
  bool timed_out;
  const char *stdout_text, *stderr_text;
  size_t stdout_len, stderr_len;
  bool truncated;
  const char *error; /* NULL: none */
} oc_outcome;
json_t *oc_run_result(const oc_outcome *o);
json_t *oc_exec_finished(const oc_run *r, const oc_outcome *o);
/* the sandbox key for a scope ("session", "agent", "shared") */
char *oc_scope_key(const char *scope, const oc_run *r);

#endif
