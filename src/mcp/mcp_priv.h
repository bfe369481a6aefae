/* SPDX-License-Identifier: Apache-2.0 */
/* mcp_priv.h - what the MCP server's files share: the session (its lock,
 * its sandboxes, the tool calls in flight, the requests it sent the client)
 * and one tool call.  mcp_rpc.c owns the JSON-RPC side, mcp_tools.c the
 * tools' descriptions and argument checks, mcp_calls.c what a call does on
 * the node, mcp_serve.c stdio, signals and the local node. */
#ifndef AIRLOCK_MCP_PRIV_H
#define AIRLOCK_MCP_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "mcp.h"

/* JSON-RPC error codes */
#define MCP_PARSE_ERROR (-32700)
#define MCP_INVALID_REQUEST (-32600)
#define MCP_METHOD_NOT_FOUND (-32601)
#define MCP_INVALID_PARAMS (-32602)
#define MCP_INTERNAL_ERROR (-32603)

/* Output of a command kept for its result (stdout and stderr together);
 * the rest streams as progress but is dropped from the result. */
#define MCP_RESULT_OUTPUT_MAX 200000
/* Largest file read_file returns. */
#define MCP_READ_MAX (8u << 20)
/* Tool calls running at once in one session. */
#define MCP_MAX_CALLS 16

typedef enum mcp_tool {
  MCP_TOOL_RUN,
  MCP_TOOL_READ_FILE,
  MCP_TOOL_WRITE_FILE,
  MCP_TOOL_LIST_FILES,
  MCP_TOOL_DELETE_FILE,
  MCP_TOOL_CREATE_SANDBOX,
  MCP_TOOL_DESTROY_SANDBOX,
} mcp_tool;

typedef struct mcp_call {
  al_mcp *m;
  json_t *id;             /* the tools/call request's id */
  json_t *progress_token; /* params._meta.progressToken, NULL when none */
  mcp_tool tool;
  json_t *args; /* checked by mcp_tools_check() */
  pthread_t thread;
  bool started; /* the thread exists (join it) */
  /* under m->lock */
  char *exec_id;
  bool cancelled;
  bool done;
  struct mcp_call *next;
} mcp_call;

/* A request this server sent the client (elicitation/create). */
typedef struct mcp_pending {
  int64_t id;
  json_t *answer; /* the whole response message once it came */
  struct mcp_pending *next;
} mcp_pending;

struct al_mcp {
  pthread_mutex_t lock; /* everything below but write/ctx and the options */
  pthread_mutex_t out_lock;
  pthread_mutex_t sandbox_lock; /* held while the session's sandbox is made */
  pthread_cond_t cond;          /* an answer arrived, or the session closes */
  al_mcp_write_fn write;
  void *ctx;
  bool have_node;
  char *node, *token, *ca_file, *approver_token;
  bool keep;
  /* the client */
  bool initialized;
  bool elicitation;
  char protocol[16];
  /* sandboxes */
  char *sandbox;        /* the session's own, made at initialize or on first use */
  json_t *sandbox_info; /* the node's object for it (limits) */
  char **made;          /* made by create_sandbox, destroyed with the session */
  size_t n_made;
  mcp_call *calls;
  size_t n_calls;
  mcp_pending *pending;
  int64_t next_request_id;
  bool closing;
};

/* mcp_rpc.c: messages out (each one line through m->write) */
void mcp_send(al_mcp *m, json_t *msg); /* steals msg */
void mcp_send_result(al_mcp *m, json_t *id, json_t *result);
void mcp_send_error(al_mcp *m, json_t *id, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Sends a request to the client for call and waits for its answer until
 * deadline_ms (wall clock, 0 = none), the call's cancel or the session's
 * end.  The response message, or NULL. */
json_t *mcp_request(al_mcp *m, mcp_call *call, const char *method, json_t *params, int64_t deadline_ms);

/* mcp_tools.c */
json_t *mcp_tools_list(al_mcp *m);
/* Checks params of tools/call: sets *tool and *args (a new reference), or
 * returns -1 with why (naming the field) for a -32602 answer. */
int mcp_tools_check(json_t *params, mcp_tool *tool, json_t **args, char *why, size_t why_len);
/* "path" of a files tool as the node's files API takes it (relative to /workspace) */
const char *mcp_workspace_path(const char *path);

/* mcp_calls.c */
json_t *mcp_tool_text(bool is_error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Runs a call (on its thread); the result, or NULL when it was cancelled. */
json_t *mcp_call_run(mcp_call *call);
int mcp_open_client(al_mcp *m, const char *token, airlock_client **c, airlock_error **err);
/* The session's sandbox id (made on first use); NULL with *err. */
char *mcp_session_sandbox(al_mcp *m, airlock_error **err);
/* DELETE /v1/execs/{id} on a client of its own. */
void mcp_cancel_exec(al_mcp *m, const char *exec_id);
void mcp_destroy_sandboxes(al_mcp *m);

#endif
