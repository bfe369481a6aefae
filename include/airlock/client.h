/* SPDX-License-Identifier: Apache-2.0 */
/* client.h - C client of the airlock node API (docs/api.md): run commands on
 * an `airlock node` over its unix socket, over TLS, or over plain HTTP on
 * loopback.  One client keeps one HTTP connection open between calls, so a
 * series of execs pays for the connection (and the TLS handshake) once.
 *
 * A client is not thread-safe: use one client per thread.  The output
 * callback of airlock_client_exec() runs on the calling thread, inside the
 * call.  Part of libairlock; libcurl (libcurl.so.4, 7.85 or newer) is loaded
 * when the first client is opened, so programs that never open one do not
 * load it. */
#ifndef AIRLOCK_CLIENT_H
#define AIRLOCK_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "airlock/airlock.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct airlock_client airlock_client;

/* TLS settings for an https:// node; every field may be NULL. */
typedef struct airlock_client_tls {
  const char *ca_file;   /* PEM bundle that must have signed the node's certificate; NULL = system store */
  const char *cert_file; /* client certificate (PEM) for mutual TLS */
  const char *key_file;  /* its private key (PEM); NULL = in cert_file */
} airlock_client_tls;

/* node is one of
 *   unix:/path/to/node.sock     HTTP over a unix socket
 *   https://host:port           TLS, the node's certificate and name verified
 *   http://127.0.0.1:port       plain HTTP, loopback addresses only
 *   http://[::1]:port           (127.0.0.0/8 or ::1; other hosts are refused)
 * token (may be NULL for unauthenticated routes) is sent as
 * "Authorization: Bearer TOKEN".  tls is only accepted for https:// nodes.
 * Opening does not connect: the first request does.  Close with
 * airlock_client_close(). */
AIRLOCK_API int airlock_client_open(const char *node, const char *token, const airlock_client_tls *tls,
                                    airlock_client **out, airlock_error **err);
/* Closes the connection and frees the client; sets *c to NULL.  NULL is fine. */
AIRLOCK_API void airlock_client_close(airlock_client **c);

/* Limits for a fresh sandbox; 0 leaves a field to the node's default and
 * out of the request. */
typedef struct airlock_exec_limits {
  int64_t memory_bytes;
  double cpus;
  int64_t pids;
  int64_t disk_bytes;
} airlock_exec_limits;

/* One command.  Zero-initialize, then set argv or command (exactly one). */
typedef struct airlock_exec_request {
  char *const *argv;      /* NULL-terminated program and arguments */
  const char *command;    /* or a shell string, run as /bin/sh -c command */
  const char *sandbox_id; /* run in this persistent sandbox; NULL = a fresh one */
  const char *cwd;        /* absolute directory inside; NULL = node default */
  char *const *env;       /* n_env "K=V" strings; a later K replaces an earlier one */
  size_t n_env;
  const void *stdin_data; /* standard input; sent whenever non-NULL, even with stdin_len 0 */
  size_t stdin_len;
  int64_t timeout_ms; /* wall-clock limit; 0 = node default (30 s) */
  airlock_exec_limits limits;
  int64_t max_output_bytes;  /* cap on captured stdout+stderr without streaming; 0 = node default */
  bool detach_on_disconnect; /* streaming only (refused without on_output): keep running if this client goes away */
  /* streaming only: run the command on a pty of its own inside the sandbox (its controlling terminal, job
     control works).  Its output (stdout and stderr at once) comes to on_output as fd 1; input and window
     size changes go through airlock_client_exec_input() / _resize() with the exec's id (on_started).
     Refused with stdin_data. */
  bool pty;
  unsigned rows, cols; /* pty: the initial window size; 0 = the kernel's default */
  /* streaming only, without pty and stdin_data: the command's stdin is a pipe left open; its bytes go
     through airlock_client_exec_input() and its end through airlock_client_exec_input_eof() as they come
     (for input that arrives while the command runs, as over SSH without a terminal) */
  bool stdin_open;
  /* streaming: called once, from inside airlock_client_exec(), with the exec's id as soon as the node has
     accepted it (before output); ctx is airlock_client_exec()'s.  May be NULL. */
  void (*on_started)(void *ctx, const char *exec_id);
  /* when the node's policy asks a human: false waits inside the call until the answer ("wait"); true answers
     at once ("poll"): the call fails with res->http_status 202 and res->approval_id / approval_rule set */
  bool approval_poll;
  const char *approval_id; /* an approved "ap_..." given back with the exact request it was asked for */
} airlock_exec_request;

/* What happened, shaped like airlock_result.  Zeroed by airlock_client_exec()
 * before anything else; release with airlock_exec_result_clear(). */
typedef struct airlock_exec_result {
  int exit_code; /* as `airlock run`: 124 timeout, 137 OOM, 126/127 not executable / not found */
  int signal;    /* signal that ended the command, 0 if it exited */
  bool timed_out;
  bool oom_killed;
  bool truncated; /* captured output went over max_output_bytes */
  bool success;
  int64_t wall_ms;
  int64_t cpu_user_ms;
  int64_t cpu_sys_ms;
  int64_t max_rss_kb;
  char *exec_id;     /* "ex_...", NULL if the node did not say */
  char *error;       /* the node's "error" text of the result, NULL when null */
  char *stdout_data; /* without streaming: captured output, NUL-terminated */
  size_t stdout_len; /*   (the lengths exclude the NUL; data may hold NULs) */
  char *stderr_data;
  size_t stderr_len;
  long http_status;               /* status of the node's answer; 0 when none arrived */
  char *http_error_code;          /* error.code of a 4xx/5xx answer ("over_capacity", ...) */
  long retry_after_s;             /* Retry-After of the answer (429), in seconds; -1 when absent */
  char *approval_id;              /* approval_poll: the pending approval ("ap_..."), NULL when none was asked */
  char *approval_rule;            /*   and the rule that asked for it */
  int64_t approval_expires_at_ms; /* its deadline, Unix epoch milliseconds; 0 when unknown */
} airlock_exec_result;

AIRLOCK_API void airlock_exec_result_clear(airlock_exec_result *res);

/* Streamed output: fd is 1 (stdout) or 2 (stderr); data is not
 * NUL-terminated and may hold NULs.  Calls come in the order the node sent
 * them.  Return 0 to go on; anything else disconnects, which kills the
 * command unless detach_on_disconnect was set, and makes the exec fail. */
typedef int (*airlock_output_fn)(void *ctx, int fd, const char *data, size_t len);

/* POST /v1/exec (or /v1/sandboxes/{id}/exec).  With on_output the output is
 * streamed to it as it is produced; without, it is captured into
 * res->stdout_data / stderr_data.  Returns 0 when the command ran, whatever
 * its exit code (see res); -1 with *err when it did not: the node refused
 * (res->http_status, http_error_code and retry_after_s say how; the message
 * reads "node refused the request (429 over_capacity): ..."), could not be
 * reached, or broke the protocol, or (approval_poll) the command waits for an
 * approval (res->http_status 202, res->approval_id).  res is filled as far as known either way. */
AIRLOCK_API int airlock_client_exec(airlock_client *c, const airlock_exec_request *req, airlock_output_fn on_output,
                                    void *ctx, airlock_exec_result *res, airlock_error **err);

/* POST /v1/execs/{id}/input: len bytes for the terminal of a running pty
 * exec, as if typed (a terminal's end of file is its VEOF character, ^D),
 * or for the stdin pipe of a stdin_open exec.
 * Use another client than the one streaming the exec: that one is busy
 * inside airlock_client_exec().  409 when the exec has ended or has no pty,
 * 429 when a megabyte of input is still unread. */
AIRLOCK_API int airlock_client_exec_input(airlock_client *c, const char *exec_id, const void *data, size_t len,
                                          airlock_error **err);
/* The end of a stdin_open exec's input: its stdin pipe is closed once the
 * bytes before it are written. */
AIRLOCK_API int airlock_client_exec_input_eof(airlock_client *c, const char *exec_id, airlock_error **err);
/* The same request with a new window size: the command gets SIGWINCH. */
AIRLOCK_API int airlock_client_exec_resize(airlock_client *c, const char *exec_id, unsigned rows, unsigned cols,
                                           airlock_error **err);

/* POST /v1/sandboxes with json_body (NULL = "{}", every field defaulted);
 * *id_out gets the new sandbox's id (caller frees). */
AIRLOCK_API int airlock_client_sandbox_create(airlock_client *c, const char *json_body, char **id_out,
                                              airlock_error **err);
/* DELETE /v1/sandboxes/{id}. */
AIRLOCK_API int airlock_client_sandbox_destroy(airlock_client *c, const char *id, airlock_error **err);

/* Snapshots of a persistent sandbox (docs/api.md "Snapshots").  Names are
 * 1 to 64 letters, digits, '.', '_', '-' (checked before anything is sent);
 * "@created" is the snapshot taken when the sandbox became ready.
 * POST /v1/sandboxes/{id}/snapshots: *json_out gets the node's answer
 * ({"id","name","sandbox","created_ms","bytes","files"}; caller frees). */
AIRLOCK_API int airlock_client_snapshot_create(airlock_client *c, const char *sandbox_id, const char *name,
                                               char **json_out, airlock_error **err);
/* GET /v1/sandboxes/{id}/snapshots, or with sandbox_id NULL every snapshot
 * of the token's tenant (GET /v1/snapshots): {"snapshots": [...]} */
AIRLOCK_API int airlock_client_snapshot_list(airlock_client *c, const char *sandbox_id, char **json_out,
                                             airlock_error **err);
/* DELETE /v1/sandboxes/{id}/snapshots/{name}, or with sandbox_id NULL
 * DELETE /v1/snapshots/{snapshot id} */
AIRLOCK_API int airlock_client_snapshot_delete(airlock_client *c, const char *sandbox_id, const char *snapshot,
                                               airlock_error **err);
/* POST /v1/sandboxes/{id}/restore {"snapshot": name or id}; with snapshot
 * NULL, POST /v1/sandboxes/{id}/reset (back to "@created").  409 while an
 * exec runs in the sandbox. */
AIRLOCK_API int airlock_client_sandbox_restore(airlock_client *c, const char *sandbox_id, const char *snapshot,
                                               airlock_error **err);
/* POST /v1/sandboxes {"fork_from": {"sandbox": sandbox_id, "snapshot":
 * snapshot}}: a new sandbox from a snapshot (by name with sandbox_id, by id
 * without) or from sandbox_id's current state (snapshot NULL).  extra_json
 * (NULL or an object) adds the other fields of a creation (limits, labels).
 * *id_out gets the new sandbox's id (caller frees). */
AIRLOCK_API int airlock_client_sandbox_fork(airlock_client *c, const char *sandbox_id, const char *snapshot,
                                            const char *extra_json, char **id_out, airlock_error **err);

/* Any request: method "GET", "POST", "PUT", "DELETE" or "PATCH"; path
 * starts with "/" and is sent as given (escape query values yourself).
 * A body (may be NULL) goes as application/json, or application/octet-stream
 * with PUT.  *status gets the HTTP status (0 when no answer arrived) and
 * *resp the answer's body, NUL-terminated, resp_len excluding the NUL
 * (status, resp and resp_len may be NULL; free *resp).  Returns 0 on 2xx;
 * -1 with *err otherwise, *status and *resp still filled. */
AIRLOCK_API int airlock_client_request(airlock_client *c, const char *method, const char *path, const void *body,
                                       size_t body_len, long *status, char **resp, size_t *resp_len,
                                       airlock_error **err);

#ifdef __cplusplus
}
#endif
#endif
