/* SPDX-License-Identifier: Apache-2.0 */
/* mcp.h - `airlock mcp`: a Model Context Protocol server on stdio whose
 * tools run commands and move files in airlock sandboxes on a node, through
 * the node client (include/airlock/client.h).  al_mcp_serve() is the whole
 * server; al_mcp_new()/al_mcp_handle() are its message handler without
 * stdio, which the fuzzer drives. */
#ifndef AIRLOCK_MCP_H
#define AIRLOCK_MCP_H

#include <stdbool.h>
#include <stddef.h>

#include "airlock/client.h"

typedef struct al_mcp_options {
  const char *node;           /* unix:PATH or https://...; NULL = start a local node (root only) */
  const char *token;          /* the node token (AIRLOCK_TOKEN) */
  const char *ca_file;        /* AIRLOCK_CA_FILE, for https nodes */
  const char *approver_token; /* AIRLOCK_APPROVER_TOKEN: answers approvals the user gave through elicitation */
  const char *node_binary;    /* airlock-node, to start the local node with */
  bool keep;                  /* leave the session's sandboxes when the session ends */
} al_mcp_options;

/* Serves MCP on stdin/stdout until stdin ends or SIGTERM/SIGINT/SIGHUP
 * arrives, then destroys the session's sandboxes (unless keep) and stops a
 * local node.  Diagnostics go to stderr.  0, or -1 with *err when the
 * server could not start. */
int al_mcp_serve(const al_mcp_options *o, airlock_error **err);

/* The message handler alone.  write gets every outgoing JSON-RPC message
 * (one line without its '\n'), from any thread, one call at a time.  With
 * o == NULL there is no node: tools/call validates its arguments and answers
 * a tool error, synchronously (no thread is started). */
typedef struct al_mcp al_mcp;
typedef void (*al_mcp_write_fn)(void *ctx, const char *line, size_t len);
al_mcp *al_mcp_new(const al_mcp_options *o, al_mcp_write_fn write, void *ctx);
/* One incoming line (a JSON-RPC message), len bytes, not NUL-terminated. */
void al_mcp_handle(al_mcp *m, const char *line, size_t len);
/* Cancels running tool calls, waits for them, destroys the sandboxes the
 * session made (unless keep) and frees; *m becomes NULL.  NULL is fine. */
void al_mcp_free(al_mcp **m);

#endif
