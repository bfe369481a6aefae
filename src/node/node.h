/* SPDX-License-Identifier: Apache-2.0 */
/* node.h - shared types of the node daemon (`airlock node`): a libevent
 * HTTP server that runs commands for gateways in sandboxes (box.h).  The
 * node holds no agent secrets: a sandbox's environment is built from the
 * request alone, and tokens are stored hashed. */
#ifndef AIRLOCK_NODE_H
#define AIRLOCK_NODE_H

#include "airlock/airlock.h"
#include "approvals.h"
#include "box.h"
#include "classify.h"
#include "node_log.h"
#include "policy.h"

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>

struct al_token_store;
struct ssl_ctx_st;

typedef struct al_node_limits {
  int64_t max_concurrent_execs;
  int64_t max_memory_bytes;
  int64_t max_disk_bytes; /* a sandbox's --disk, which also caps a node-made workspace (its tmpfs) */
  double max_cpus;
  int64_t max_timeout_ms;
  int64_t max_snapshots;      /* a tenant's snapshots, "created" ones not counted (0: none allowed) */
  int64_t max_snapshot_bytes; /* bytes of regular files in all of a tenant's snapshots */
  int64_t max_snapshot_files; /* entries (files, directories, links) in all of them */
} al_node_limits;

typedef struct al_node_config {
  char **listen; /* "unix:PATH" or "tcp:HOST:PORT" */
  size_t n_listen;
  char *state_dir;
  char *tls_cert, *tls_key, *tls_client_ca;
  bool insecure_plaintext;
  bool has_isolation; /* node config key "isolation": every sandbox's backend, the per-agent ones too */
  airlock_isolation isolation;
  char *ready_file;
  char *workspace_root; /* requested workspaces must be below it */
  airlock_spec sandbox; /* defaults for every sandbox */
  /* an openclaw.json in "sandbox": each agent of agents.list with a sandbox
   * of its own gets the defaults with that block over them, for the
   * OpenClaw sandboxes of that agent */
  struct al_agent_sandbox {
    char *agent_id;
    airlock_spec spec;
    char *scope; /* the agent's own sandbox.scope, NULL when it has none */
  } * agent_sandboxes;
  size_t n_agent_sandboxes;
  char *openclaw_json_scope; /* agents.defaults.sandbox.scope */
  al_node_limits node_max;   /* whole node */
  al_node_limits tenant_max; /* each tenant, unless its token says otherwise */
  int64_t max_sandboxes;
  int64_t pool_size; /* ready one-shot sandboxes kept warm */
  int64_t idle_timeout_s, max_age_s;
  int64_t max_output_bytes;
  int64_t max_body_bytes;
  int64_t io_timeout_s;                    /* slow or half-open clients */
  int64_t max_unauthenticated_connections; /* connections that have shown no token yet, whole node */
  int64_t max_connections_per_peer;        /* all connections of one IP address, or of one uid on a unix socket */
  uint32_t sandbox_host_uid;               /* owner of node-made workspaces when root */
  bool ui_enabled;                         /* the web UI under /ui/ (node_ui.c) */
  al_policy policy;                        /* "autonomy" and "approvalGating" */
  char **catalogue_files;                  /* "catalogue": extra dangerous-action files */
  size_t n_catalogue_files;
  char **redaction_files; /* "audit.redaction": extra redaction registry files */
  size_t n_redaction_files;
  bool audit_enabled;           /* "audit.enabled", default true */
  int64_t audit_retention_days; /* "audit.retentionDays", default 90 */
  char *openclaw_gateway;       /* "openclaw.gateway": ws://HOST:PORT[/PATH] or wss://; NULL: no OpenClaw */
  char *openclaw_setup_code;    /* "openclaw.setupCode": a node-profile setup code, used once */
  char *openclaw_token;         /* "openclaw.token": the gateway's shared token, for a first pairing */
  char *openclaw_name;          /* "openclaw.name": display name, default the host name */
  char *openclaw_scope;         /* "openclaw.scope": one sandbox per "session" (default), "agent", or "shared" */
  char *openclaw_ca;            /* "openclaw.ca": CA file for a wss:// gateway; NULL: the system's store */
  al_log_format log_format;     /* "log.format", --log-format (node_log.h) */
  al_log_level log_level;       /* "log.level", --log-level; default info */
  int64_t metrics_tenant_series; /* "metrics.tenant_series": tenants with series of their own (0: none) */
} al_node_config;

void al_node_config_init(al_node_config *c);
void al_node_config_clear(al_node_config *c);
int al_node_config_load(al_node_config *c, const char *path, airlock_error **err);
int al_node_config_finish(al_node_config *c, airlock_error **err);

typedef struct al_tenant {
  char name[65];
  al_node_limits max;
  int64_t running;
  bool own_series;           /* one of the first metrics.tenant_series tenants with an exec */
  uint64_t execs_by_outcome[6]; /* as al_metrics.execs_by_outcome */
  int snap_jobs;                /* its snapshots being taken by a job: one at a time (quota) */
  struct al_tenant *next;
} al_tenant;

struct al_exec;
struct al_node;

typedef struct al_sbox {
  char id[32];
  al_tenant *tenant; /* NULL for pool sandboxes not yet handed out */
  al_box box;
  airlock_spec spec;
  bool ready, dying, one_shot, started;
  struct event *ev_sock, *ev_death;
  int64_t created_ms, last_used_ms, idle_timeout_ms, max_age_ms; /* monotonic */
  int64_t created_wall_ms;
  json_t *labels;
  char *owned_workspace; /* node-made workspace (its path), deleted with the sandbox */
  char *workspace;       /* host path of /workspace, if any: for messages and records only */
  int ws_fd;             /* the workspace the node opened and the sandbox mounted: the files API works
                               below this descriptor, never by name (-1 = none) */
  int root_fd; /* O_PATH of the sandbox's "/", sent by its agent with READY (-1 = not yet): approvals
                        bind the files seen through it */
  int running;
  long long oom_seen;                /* OOM kills already attributed to execs */
  struct al_exec *waiting;           /* execs queued until the agent is ready */
  struct evhttp_request *create_req; /* POST /v1/sandboxes answered at ready */
  char *setup_error;                 /* what the sandbox said when its setup failed */
  int egress_fd;                     /* network proxy: read end of the proxy's records pipe, -1 = none */
  struct event *ev_egress;
  struct evbuffer *egress_in;
  char fork_snap[32]; /* a fork: the snapshot whose scratch is copied in at ready ("" = none) */
  bool fork_temp;     /* that snapshot was taken for the fork alone: removed after */
  int jobs;           /* snapshots or restores of it running in their processes (node_job.c) */
  bool restoring;     /* one of them replaces its files: execs wait (409) */
  bool death_pending; /* it died while jobs ran: cleaned up when the last one ends */
  struct al_node *node;
  struct al_sbox *next;
} al_sbox;

/* a snapshot of a persistent sandbox (node_snapshot.c): its files are in
 * STATE_DIR/snapshots/ID/{workspace,tmp,home}, its record in node.db */
typedef struct al_snap {
  char id[32];
  char tenant[65];
  char sandbox[32]; /* the sandbox it was taken of (it may be gone) */
  char name[65];    /* unique per sandbox; "@created" is the one taken at creation */
  int64_t created_ms, bytes, files;
  struct al_snap *next;
} al_snap;

typedef struct al_exec_params {
  char **argv;
  char **env; /* "K=V" */
  char *cwd;
  char *stdin_data;
  size_t stdin_len;
  int64_t timeout_ms;
  bool has_timeout; /* asked for: checked against the maxima, never lowered */
  int64_t memory_bytes, pids, disk_bytes;
  double cpus;
  bool has_limits;
  bool has_isolation; /* "isolation": one-shot only, a fresh sandbox of that backend */
  airlock_isolation isolation;
  bool stream, detach;
  bool pty;           /* on a pty of the sandbox's own: input through POST /v1/execs/{id}/input */
  bool stdin_open;    /* stdin a pipe left open: input and its end through POST /v1/execs/{id}/input */
  int64_t rows, cols; /* its window size (0: the kernel's default) */
  int64_t max_output;
  bool approval_poll;                       /* "approval": "poll": answer 202 with the pending id */
  char approval_id[AL_APPROVAL_ID_LEN + 1]; /* a granted approval, given back */
  char exec_id[32];                         /* assigned by the policy gate, kept by the exec */
  bool policy_done;                         /* the gate has passed it */
  char decision[20];                        /* the gate's: allow, approved, ... (for the log) */
  /* an exec with no HTTP request (req NULL): called once it is done, before
   * the records (node_openclaw_run.c) */
  void (*on_done)(struct al_exec *e, void *owner);
  void *owner;
} al_exec_params;

typedef enum { AL_EXEC_WAITING, AL_EXEC_RUNNING, AL_EXEC_DONE } al_exec_state;

typedef struct al_exec {
  char id[32];
  uint64_t num;
  al_tenant *tenant;
  al_sbox *sbox;       /* NULL once the sandbox is gone */
  char sandbox_id[32]; /* kept for the record; "" for one-shot */
  al_exec_params p;
  al_exec_state state;
  struct evhttp_request *req; /* NULL once answered or the client left */
  struct event *ev_out, *ev_err, *ev_in, *ev_timer, *ev_drain;
  unsigned char carry[2][4]; /* partial UTF-8 sequence per stream */
  size_t carry_len[2];
  bool paused;               /* output reading paused: slow client */
  int out_fd, err_fd, in_fd; /* the node's ends */
  int child_fds[3];          /* handed to the agent, then closed */
  size_t stdin_off;
  struct evbuffer *tty_in; /* a pty or stdin_open exec's input, waiting for room in the terminal or pipe */
  bool in_eof;             /* stdin_open: close the pipe once tty_in is written */
  struct evbuffer *out_buf, *err_buf;
  size_t captured;
  bool truncated, exited, out_eof, err_eof, timed_out, oom_killed, cancelled, interrupted;
  int wait_status, exec_errno;
  char *error;
  int64_t start_ms, end_ms, user_us, sys_us, max_rss_kb;
  struct al_node *node;
  struct al_exec *next;      /* in node->execs */
  struct al_exec *wait_next; /* in sbox->waiting */
} al_exec;

/* What a sandbox tells the execs that use it: node_sandbox.c calls these,
 * node_exec.c answers, and node_main.c connects the two before any sandbox
 * exists, so that the sandboxes (below) call nothing of the execs (above). */
typedef struct al_sbox_events {
  void (*agent_msg)(struct al_node *n, al_sbox *sb, const al_status_msg *m); /* an exec's exit or failure */
  void (*ready)(struct al_node *n, al_sbox *sb);  /* the agent is ready: hand it the execs that waited */
  void (*died)(struct al_node *n, al_sbox *sb);   /* the sandbox is gone: end its execs */
  void (*forget)(struct al_node *n, al_sbox *sb); /* it is being freed: its execs keep only its id */
} al_sbox_events;

/* a parked request whose approval came (node_policy.c) goes on as an exec
 * (node_exec.c); node_main.c sets it */
typedef void al_exec_resume_fn(struct al_node *n, al_tenant *t, al_sbox *sb, al_exec_params *p,
                               struct evhttp_request *req);

#define AL_NODE_REJECTED_CODES 9
/* evhttp's limit on a request's line and headers; the gate answers 431 above it */
#define AL_NODE_MAX_HEAD_BYTES 8192
#define AL_NODE_LATENCY_BUCKETS 20
#define AL_NODE_APPROVAL_OUTCOMES 4 /* approved, rejected, expired, timeout_approved */
#define AL_NODE_APPROVAL_BUCKETS 14
#define AL_NODE_EGRESS_VERDICTS 3 /* allow, deny, other */
#define AL_NODE_EGRESS_REASONS 5  /* rule, no_rule, invalid, limit, other */
typedef struct al_metrics {
  uint64_t approval_buckets[AL_NODE_APPROVAL_OUTCOMES][AL_NODE_APPROVAL_BUCKETS];
  double approval_sum[AL_NODE_APPROVAL_OUTCOMES];
  uint64_t approval_count[AL_NODE_APPROVAL_OUTCOMES];
  uint64_t egress[AL_NODE_EGRESS_VERDICTS][AL_NODE_EGRESS_REASONS];
  int64_t tenant_series; /* tenants given series of their own so far */
  uint64_t execs_by_outcome[6]; /* ok, failed, timeout, oom, cancelled, error */
  uint64_t latency_buckets[AL_NODE_LATENCY_BUCKETS];
  double latency_sum;
  uint64_t latency_count;
  uint64_t limit_kills[3];                   /* timeout, oom, cancel */
  uint64_t rejected[AL_NODE_REJECTED_CODES]; /* by status: al_node_rejected_codes */
} al_metrics;

/* long file work of one request in a child process of its own
 * (node_job.c): work runs there, touches only what the job holds and leaves
 * its result in out (out_len bytes of plain data, sent back to the same
 * place in the node); finish runs on the loop afterwards (req is NULL when
 * the client has gone or the node stops; failed when the child died before
 * sending out) and frees the job */
typedef struct al_node_job {
  struct al_node *n;
  void (*work)(struct al_node_job *j);
  void (*finish)(struct al_node_job *j);
  void *out;
  size_t out_len;
  bool failed;
  struct evhttp_request *req;
  pid_t pid;
  int pipe[2];
  struct event *ev;
  struct al_node_job *next;
} al_node_job;

typedef struct al_node {
  al_node_config *cfg;
  unsigned char binding_key[32]; /* HMAC key of approval bindings (STATE_DIR/binding.key, node_binding.c) */
  struct event_base *base;
  struct evhttp *http_plain, *http_tls;
  struct ssl_ctx_st *ssl;
  struct al_token_store *tokens;
  struct al_state *state;
  al_tenant *tenants;
  al_sbox *sboxes;
  al_node_job *jobs; /* running (node_job.c) */
  bool jobs_stopping; /* al_node_jobs_wait: the node stops, finishes only clean up */
  al_exec *execs;
  int64_t running;
  uint64_t next_num;
  int64_t n_sboxes;        /* alive, not counting those being torn down */
  int64_t n_finished;      /* finished execs kept for GET */
  struct event *ev_refill; /* pool refill, deferred off the request path */
  al_metrics metrics;
  char *degraded;          /* notes from a probe sandbox at start */
  al_catalogue *catalogue; /* dangerous patterns, when a policy is on */
  al_approvals *approvals;
  struct al_parked *parked;    /* requests waiting for an approver */
  struct event *ev_expiry;     /* the next approval timeout */
  struct al_audit *audit_read; /* queries of GET /v1/audit, retention */
  int recorder_fd;             /* the recorder process (node_recorder.c) */
  int recorder_pid;
  uint64_t recorder_sent;
  int64_t recorder_stats_ms;
  uint64_t recorder_backlog;
  uint64_t recorder_written, recorder_lost; /* the audit writer's, as of recorder_stats_ms */
  int64_t recorder_oldest_ms;               /* how long its oldest waiting record has waited */
  struct event *ev_tick, *ev_sigterm, *ev_sigint;
  bool stopping;
  struct al_ui *ui;           /* web UI sessions; NULL until the first login */
  int ws_root_fd;             /* workspace_root, opened once at start without following links (-1 = none) */
  int ws_dir_fd;              /* STATE_DIR.workspaces, where node-made workspaces are made and removed */
  char *ws_dir;               /* its path, for messages and records */
  struct al_gate *gate;       /* connections: authentication before bodies, caps (node_gate.c) */
  al_sbox_events sbox_events; /* set by node_main.c */
  al_exec_resume_fn *exec_resume;
  struct al_openclaw *openclaw; /* the OpenClaw gateway connection, when configured */
  al_snap *snaps;               /* every tenant's snapshots */
  int snap_dir_fd;              /* STATE_DIR/snapshots, mode 0700 (-1 = none) */
} al_node;

/* node_http.c: listeners, authentication, routing */
int al_node_http_start(al_node *n, airlock_error **err);
void al_node_http_stop(al_node *n);

/* node_gate.c: each connection's request heads before evhttp parses them
 * (authentication before bodies, connection caps, bounded buffers) */
/* watch the bufferevent evhttp gets for a connection (the socket's, or TLS
 * over it) and return it; NULL (bev freed) when out of memory */
struct bufferevent *al_node_gate_attach(al_node *n, struct bufferevent *bev);
/* first thing for every request: 0 to go on; -1 after answering the refusal
 * the gate decided for this connection */
int al_node_gate_request(al_node *n, struct evhttp_request *req);
/* the request's token was good: its connection no longer counts as one
 * that has not authenticated */
void al_node_gate_authenticated(al_node *n, struct evhttp_request *req, const char *tenant);
/* the exec a request asked for and the policy's decision, for the
 * request's log line (req NULL: nothing) */
void al_node_gate_note_exec(al_node *n, struct evhttp_request *req, const char *exec_id, const char *decision);
int64_t al_node_gate_unauthenticated(const al_node *n);
void al_node_gate_stop(al_node *n); /* before the event loop is freed */
void al_node_gate_free(al_node *n); /* after */

/* node_reply.c: what every request handler shares (calls no other node file) */
void al_node_reply_error(al_node *n, struct evhttp_request *req, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void al_node_reply_json(struct evhttp_request *req, int status, json_t *body); /* steals body */
/* CSP, nosniff, no framing, no referrer, no caching */
void al_node_security_headers(struct evhttp_request *req);
/* from a connection's close callback: the request a handler still held.
 * libevent detaches a request whose reply was not finished from the dying
 * connection and leaves it to its handler; one still attached is freed
 * with its connection. */
void al_node_request_abandon(struct evhttp_request *req);
/* the statuses counted in al_metrics.rejected, in its order: 400, 401, 403, 404, 405, 413, 429, 431, 500 */
extern const int al_node_rejected_codes[AL_NODE_REJECTED_CODES];
void al_node_metrics_rejected(al_node *n, int status);
/* the request's body ("" when empty) and its length */
const char *al_node_body(struct evhttp_request *req, size_t *len);
/* the tenant of a token's name, made at its first request; the token's limits over the node's tenant_max */
al_tenant *al_node_tenant(al_node *n, const char *name, const al_node_limits *token_limits);

/* node_request.c: bodies from untrusted clients (fuzzed) */
int al_exec_params_parse(const char *body, size_t len, al_exec_params *p, char *err, size_t errlen);
void al_exec_params_clear(al_exec_params *p);
typedef struct al_sandbox_params {
  char *workspace;
  bool workspace_ro;
  int64_t memory_bytes, pids, disk_bytes;
  double cpus;
  bool has_limits;
  bool has_isolation; /* "isolation": the sandbox's backend */
  airlock_isolation isolation;
  json_t *labels;
  int64_t idle_timeout_s, max_age_s;
  char *fork_sandbox, *fork_snapshot; /* "fork_from": {"sandbox", "snapshot"} */
  bool fork;
} al_sandbox_params;
int al_sandbox_params_parse(const char *body, size_t len, al_sandbox_params *p, char *err, size_t errlen);
void al_sandbox_params_clear(al_sandbox_params *p);
/* a snapshot name: 1 to 64 of letters, digits, '.', '_', '-', not starting
 * with '.' or '-'; or the reserved "@created" */
bool al_snapshot_name_ok(const char *s);
/* route a path: returns the route kind and copies the {id} part */
typedef enum {
  AL_API_NONE,
  AL_API_HEALTH,
  AL_API_METRICS,
  AL_API_EXEC,
  AL_API_SANDBOXES,
  AL_API_SANDBOX,
  AL_API_SANDBOX_EXEC,
  AL_API_SANDBOX_FILES,
  AL_API_EXEC_ONE,
  AL_API_EXEC_SIGNAL,
  AL_API_EXEC_INPUT,
  AL_API_WHOAMI,
  AL_API_UI, /* "/", "/ui" and everything under "/ui/": node_ui.c */
  AL_API_APPROVALS,
  AL_API_APPROVAL,
  AL_API_APPROVAL_APPROVE,
  AL_API_APPROVAL_REJECT,
  AL_API_AUDIT,
  AL_API_SANDBOX_SNAPSHOTS, /* /v1/sandboxes/{id}/snapshots */
  AL_API_SANDBOX_SNAPSHOT,  /* /v1/sandboxes/{id}/snapshots/{name} */
  AL_API_SANDBOX_RESTORE,   /* /v1/sandboxes/{id}/restore */
  AL_API_SANDBOX_RESET,     /* /v1/sandboxes/{id}/reset */
  AL_API_SNAPSHOTS,         /* /v1/snapshots: all of the tenant's */
  AL_API_SNAPSHOT,          /* /v1/snapshots/{id} */
} al_api_route;
al_api_route al_api_route_parse(const char *path, char *id, size_t idlen);
/* A request head as the connection gate (node_gate.c) reads it before
 * evhttp sees it: only what decides whether its body may be read.  Strict:
 * what evhttp might read differently (two Content-Length headers, both
 * Content-Length and Transfer-Encoding, continuation lines in the headers
 * read here) is refused. */
#define AL_HTTP_HEAD_COOKIES 8
typedef struct al_http_head {
  size_t len; /* bytes up to and including the empty line */
  char method[16];
  char path[64];             /* the target up to '?' */
  bool path_truncated;       /* it did not fit: it is no path compared here */
  int64_t content_length;    /* -1: no Content-Length */
  bool transfer_encoding;    /* any Transfer-Encoding: a body of unknown length */
  const char *authorization; /* the first Authorization value (trimmed, not NUL-terminated), or NULL */
  size_t authorization_len;
  struct {
    const char *value;
    size_t len;
  } cookies[AL_HTTP_HEAD_COOKIES]; /* Cookie header values */
  size_t n_cookies;
} al_http_head;
/* 1: buf holds a complete head (h filled; pointers into buf); 0: not yet;
 * -1: malformed, *why says how */
int al_http_head_parse(const char *buf, size_t len, al_http_head *h, const char **why);
int al_signal_parse(json_t *v);
/* the body of POST /v1/execs/{id}/input: bytes for the terminal (*data,
 * malloc'd, may be NULL with *len 0) and/or a window size (*rows and *cols,
 * 0 when not given) */
typedef struct al_exec_input {
  char *data;
  size_t len;
  int64_t rows, cols;
  bool eof; /* "eof": true, the end of a stdin_open exec's input */
} al_exec_input;
int al_exec_input_parse(const char *body, size_t len, al_exec_input *in, char *err, size_t errlen);
/* The next value of cookie NAME in a Cookie header, from *cursor on: a
 * pointer into the header (not NUL-terminated) and *len, or NULL when there
 * is no further one.  *cursor moves past what was read. */
const char *al_cookie_next(const char **cursor, const char *name, size_t *len);

/* node_exec.c */
void al_node_exec_start(al_node *n, al_tenant *t, al_sbox *sb, al_exec_params *p, struct evhttp_request *req);
void al_node_exec_agent_msg(al_node *n, al_sbox *sb, const al_status_msg *m);
void al_node_exec_sandbox_died(al_node *n, al_sbox *sb);
/* the sandbox's agent is ready: hand it the execs that waited */
void al_node_exec_sandbox_ready(al_node *n, al_sbox *sb);
al_exec *al_node_exec_find(al_node *n, al_tenant *t, const char *id);
json_t *al_exec_result_json(const al_exec *e, bool with_output);
void al_node_exec_signal(al_node *n, al_exec *e, int signo);
/* POST /v1/execs/{id}/input: input and window size of a pty exec */
void al_node_exec_input(al_node *n, al_exec *e, struct evhttp_request *req);
void al_node_exec_gc(al_node *n);
void al_node_exec_free(al_exec *e);
/* the sandbox is being freed: execs keep only its id */
void al_node_exec_forget_sandbox(al_node *n, al_sbox *sb);

/* the exit code an API client sees: 124 timeout, 137 OOM, 128+N signal
 * (here, so that the state and audit records need nothing of node_exec.c) */
static inline int al_exec_exit_code(const al_exec *e) {
  if (e->timed_out)
    return AIRLOCK_EXIT_TIMEOUT;
  if (e->oom_killed)
    return AIRLOCK_EXIT_OOM;
  if (WIFEXITED(e->wait_status))
    return WEXITSTATUS(e->wait_status);
  return 128 + WTERMSIG(e->wait_status);
}

/* node_sandbox.c */
al_sbox *al_node_sbox_create(al_node *n, al_tenant *t, const airlock_spec *spec, bool one_shot, airlock_error **err);
al_sbox *al_node_sbox_find(al_node *n, al_tenant *t, const char *id);
/* a job on sb has ended: when sb died meanwhile, its clean-up runs now */
void al_node_sbox_job_done(al_node *n, al_sbox *sb);
/* node_job.c */
int al_node_job_start(al_node *n, al_node_job *j, struct evhttp_request *req, airlock_error **err);
void al_node_jobs_wait(al_node *n);
al_sbox *al_node_pool_take(al_node *n, al_tenant *t);
void al_node_pool_fill(al_node *n);
void al_node_pool_refill_soon(al_node *n);
void al_node_sbox_destroy(al_node *n, al_sbox *sb);
void al_node_sbox_tick(al_node *n);
json_t *al_sbox_json(const al_sbox *sb);
void al_node_handle_sandboxes(al_node *n, al_tenant *t, struct evhttp_request *req, al_api_route route, const char *id);

/* node_fs.c: host directories, on descriptors only (a leaf) */
/* open a directory that the node names (workspace_root) once, following no
 * link in any component; *canonical gets the kernel's name for it */
int al_fs_open_root(const char *what, const char *path, int *fd_out, char **canonical, airlock_error **err);
/* A tenant's workspace: `requested` is absolute (below ROOT/TENANT/, compared
 * as a string) or relative to ROOT/TENANT; the rest is opened O_PATH below
 * the tenant's directory with openat2(RESOLVE_BENEATH, no links).  0 with
 * *fd_out, *name (the kernel's name for it, malloc'd: for messages) and *st;
 * else the HTTP status (403, 500) with the reason in why. */
int al_fs_tenant_workspace(int root_fd, const char *root, const char *tenant, const char *requested, int *fd_out,
                           char **name, struct stat *st, char *why, size_t len);
/* STATE_DIR.workspaces: made mode 0711 if missing, opened without following
 * its last component, owned by the node's uid */
int al_fs_workspaces_open(const char *path, int *fd_out, airlock_error **err);
/* a new directory NAME in dir_fd (path: its name, for messages), mode 0700,
 * given to owner:owner when the node is root, on the descriptor returned;
 * with quota_bytes > 0 (root only) a tmpfs of that size mounted on it, and
 * the descriptor is its root */
int al_fs_workspace_make(int dir_fd, const char *path, const char *name, uint32_t owner, int64_t quota_bytes,
                         int *fd_out, airlock_error **err);
/* detach what is mounted on NAME in dir_fd (a quota tmpfs), by descriptor;
 * 0 when nothing is (or NAME is gone) */
int al_fs_workspace_unmount(int dir_fd, const char *name);
/* remove NAME in dir_fd and everything below it, never following a link and
 * never opening anything but directories (FIFOs are unlinked, not opened) */
int al_fs_remove_tree(int dir_fd, const char *path, const char *name, airlock_error **err);

/* node_tree.c: copying and emptying trees on descriptors (snapshots) */
typedef struct al_tree_copy {
  const char *what; /* for messages */
  bool keep_owners; /* chown what is made (the node is root) */
  uid_t map_from_uid, map_to_uid; /* an owner given another uid on the way ((uid_t)-1: none) */
  gid_t map_from_gid, map_to_gid;
  int64_t max_bytes, max_files; /* 0: no limit; over it, EFBIG */
  int64_t bytes, files, skipped; /* counted while copying */
} al_tree_copy;
/* copy what is in src_dir into dst_dir (both directories, O_PATH allowed) */
int al_tree_copy_into(al_tree_copy *c, int src_dir, int dst_dir, airlock_error **err);
/* remove everything in dir_fd but the entry keep (NULL: none), never following a link */
int al_tree_empty(int dir_fd, const char *what, const char *keep, airlock_error **err);
/* A replacement in two steps, so that a failure in the first changes
 * nothing: stage makes the directory STAGE in dst_dir (as dst_dir's owner)
 * and copies src_dir (-1: nothing) into it; commit then empties dst_dir but
 * STAGE, moves STAGE's entries up (rename: the same file system) and
 * removes it; unstage removes STAGE after a failed stage. */
int al_tree_stage(al_tree_copy *c, int src_dir, int dst_dir, const char *stage, airlock_error **err);
int al_tree_commit(int dst_dir, const char *stage, const char *what, airlock_error **err);
void al_tree_unstage(int dst_dir, const char *stage);
/* NAME in dir_fd opened as a directory without following a link (made 0700 first when make) */
int al_tree_open_dir(int dir_fd, const char *name, bool make, airlock_error **err);

/* node_snapshot.c: snapshots, restore, reset and fork of persistent sandboxes */
int al_node_snapshots_start(al_node *n, airlock_error **err);
void al_node_snapshots_stop(al_node *n);
/* a persistent sandbox's agent is ready: a fork's scratch is copied in and
 * the "@created" snapshot taken; -1 (with *err) when that failed */
int al_node_snapshots_sandbox_ready(al_node *n, al_sbox *sb, airlock_error **err);
/* the sandbox ends: its "@created" snapshot goes; with all, every snapshot of it */
void al_node_snapshots_sandbox_gone(al_node *n, al_sbox *sb, bool all);
/* POST /v1/sandboxes with "fork_from": fill the new node-made workspace
 * ws_fd from the source; the status to answer (0 ok) with the reason in why */
int al_node_snapshots_fork_prepare(al_node *n, al_tenant *t, const char *sandbox, const char *snapshot, int ws_fd,
                                   char *snap_id, bool *temp, char *why, size_t len);
/* a fork's own snapshot (temp) when its sandbox could not be made */
void al_node_snapshot_drop_temp(al_node *n, const char *id, bool temp);
void al_node_handle_snapshots(al_node *n, al_tenant *t, struct evhttp_request *req, al_api_route route,
                              const char *id, const char *path);

/* node_files.c */
void al_node_handle_files(al_node *n, al_sbox *sb, struct evhttp_request *req);

/* node_metrics.c */
void al_node_metrics_exec_done(al_node *n, const al_exec *e);
/* an approval settled: outcome is an index of AL_NODE_APPROVAL_OUTCOMES; ap
 * as al_approvals_get gives it (its created_at_ms) */
void al_node_metrics_approval(al_node *n, int outcome, const json_t *ap, int64_t now_ms);
/* an egress proxy's record (a JSON object), by verdict and kind of reason */
void al_node_metrics_egress(al_node *n, const json_t *rec);
void al_node_handle_metrics(al_node *n, struct evhttp_request *req);
void al_node_handle_health(al_node *n, struct evhttp_request *req);

/* node_state.c: durable record of execs and sandboxes (SQLite) */
int al_state_open(al_node *n, airlock_error **err);
void al_state_close(al_node *n);
void al_state_exec_started(al_node *n, const al_exec *e);
void al_state_exec_finished(al_node *n, const al_exec *e);
void al_state_sandbox(al_node *n, const al_sbox *sb, const char *state);
void al_state_snapshot_put(al_node *n, const al_snap *sn);
void al_state_snapshot_delete(al_node *n, const char *id);
int al_state_snapshots_load(al_node *n, void (*each)(al_node *n, const al_snap *sn));
/* an exec known only from the state database (e.g. from before a restart) */
json_t *al_state_exec_lookup(al_node *n, const char *tenant, const char *id);

/* node_ui.c: the web UI's files, its sessions (a cookie for the bearer
 * token, with CSRF checks) and GET /v1/whoami */
void al_node_ui_handle(al_node *n, struct evhttp_request *req, const char *path);
bool al_node_ui_has_session_cookie(struct evhttp_request *req);
/* whether the Cookie headers in headers name a live session (the gate's
 * check before a body; the token behind it is checked per request) */
bool al_node_ui_session_live(al_node *n, struct evkeyvalq *headers);
/* the tenant of the request's session, or NULL after answering 401/403/500 */
al_tenant *al_node_ui_authenticate(al_node *n, struct evhttp_request *req);
void al_node_handle_whoami(al_node *n, al_tenant *t, struct evhttp_request *req);
void al_node_ui_free(al_node *n);

/* whether a tenant may answer approvals (approvalGating.approvers) */
bool al_node_is_approver(al_node *n, const char *tenant);
/* node_binding.c: what an approval is bound to */
typedef struct al_binding {
  char exe[1024], exe_sha256[65];
  char script[1024], script_sha256[65];
  char cwd[4096]; /* the effective working directory */
  char hash[65];
} al_binding;
int al_node_binding(al_node *n, al_sbox *sb, const al_exec_params *p, al_binding *b);
/* the node's binding key: read from STATE_DIR/binding.key, or made there
 * (0600) on the first start */
int al_node_binding_key_load(al_node *n, airlock_error **err);

/* node_policy.c: the policy gate in front of every exec, and approvals */
int al_node_policy_start(al_node *n, airlock_error **err);
/* answer the requests still waiting (the node is stopping) */
void al_node_policy_drain(al_node *n);
void al_node_policy_stop(al_node *n);
/* true: run it now; false: the request was answered (403, 202) or parked
 * until an approver answers (p is then taken over or cleared) */
bool al_node_policy_gate(al_node *n, al_tenant *t, al_sbox *sb, al_exec_params *p, struct evhttp_request *req);
/* apply defaultAction to approvals whose time ran out (the timer does it too) */
void al_node_approvals_expire(al_node *n);
/* an approval was answered or expired: resume or refuse what waits on it */
void al_node_approval_settled(al_node *n, const char *id);
/* the files API: 0 to go on, -1 after answering 403 */
int al_node_policy_files(al_node *n, al_tenant *t, al_sbox *sb, al_action action, const char *path,
                         struct evhttp_request *req);
void al_node_handle_approvals(al_node *n, al_tenant *t, struct evhttp_request *req, al_api_route route, const char *id);

/* node_recorder.c: the child process that writes the audit trail and sends
 * webhooks, so the node itself has no threads when it clones sandboxes */
int al_recorder_start(al_node *n, airlock_error **err);
void al_recorder_stop(al_node *n);
bool al_recorder_audit_on(const al_node *n);
/* node_egress.c: a sandbox's egress proxy records, into the audit trail */
int al_node_egress_prepare(al_sbox *sb, int *write_end, airlock_error **err);
void al_node_egress_started(al_node *n, al_sbox *sb, int write_end);
void al_node_egress_finish(al_node *n, al_sbox *sb);
void al_recorder_audit(al_node *n, json_t *rec);                         /* steals */
void al_recorder_webhook(al_node *n, const char *type, json_t *payload); /* steals */
int al_recorder_flush(al_node *n);        /* audit records sent so far are durable; 0 ok */
uint64_t al_recorder_backlog(al_node *n); /* records not yet durable (at most 100 ms old) */

/* node_audit.c: the audit trail's records */
int al_node_audit_start(al_node *n, airlock_error **err);
void al_node_audit_stop(al_node *n);
void al_node_audit(al_node *n, json_t *rec); /* steals rec; no-op when the trail is off */
json_t *al_node_audit_base(const char *kind, const al_tenant *t, const char *sandbox, const al_exec_params *p);
void al_node_audit_exec_result(al_node *n, const al_exec *e);
void al_node_handle_audit(al_node *n, al_tenant *t, struct evhttp_request *req);
void al_node_notify(al_node *n, const char *type, json_t *payload); /* the approval webhook; steals */

/* node_openclaw.c: the node as an OpenClaw node (docs/openclaw.md): one
 * WebSocket to the gateway in the node's event loop */
int al_node_openclaw_start(al_node *n, airlock_error **err);
void al_node_openclaw_stop(al_node *n);
struct evbuffer;
void al_node_openclaw_metrics(al_node *n, struct evbuffer *b);
json_t *al_node_openclaw_health(al_node *n); /* NULL when not configured */
/* node_sandbox.c: a persistent sandbox with a node-made workspace and the
 * node's default limits and expiry, for callers other than the HTTP API */
/* base: the spec to start from (NULL: the node's sandbox defaults) */
al_sbox *al_node_sbox_create_owned(al_node *n, al_tenant *t, const airlock_spec *base, const char *label,
                                   airlock_error **err);
/* the sandbox spec of an OpenClaw agent: its own (openclaw.json's
 * agents.list[].sandbox over the defaults) or the node's defaults */
const airlock_spec *al_node_agent_spec(const al_node_config *c, const char *agent_id);
/* the OpenClaw scope of an agent's runs: openclaw.scope (--openclaw-scope)
 * when the operator gave one, else the agent's own sandbox.scope of the
 * openclaw.json, else its agents.defaults.sandbox.scope, else "session" */
const char *al_node_openclaw_scope(const al_node_config *c, const char *agent_id);

#endif
