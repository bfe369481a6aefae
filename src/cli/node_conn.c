/* SPDX-License-Identifier: Apache-2.0 */
/* node_conn.c - how the client subcommands (exec, sandbox, cp, shell, logs,
 * approvals) reach a node: --node, else AIRLOCK_NODE, else the socket that
 * `airlock node` listens on by default as the same user; the token from
 * --token or AIRLOCK_TOKEN. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "statedir.h"

/* The same order as the node's own default listen address (node_config.c):
 * root's socket, the runtime directory's, else the state directory's. */
char *cli_default_node(const char *cmd) {
  char *node = NULL;
  const char *env = getenv("AIRLOCK_NODE");
  if (env != NULL && *env != '\0')
    return strdup(env);
  if (geteuid() == 0)
    return strdup("unix:/run/airlock/node.sock");
  const char *dir = getenv("XDG_RUNTIME_DIR");
  if (dir != NULL && dir[0] == '/')
    return asprintf(&node, "unix:%s/airlock/node.sock", dir) < 0 ? NULL : node;
  char *state = al_default_state_dir();
  if (state == NULL) {
    cli_fail(cmd, NULL, AIRLOCK_EXIT_SETUP,
             "no --node given, and neither AIRLOCK_NODE, XDG_RUNTIME_DIR nor a state directory to find the "
             "node's socket in: give --node unix:PATH or https://HOST:PORT");
    return NULL;
  }
  int r = asprintf(&node, "unix:%s/node.sock", state);
  free(state);
  return r < 0 ? NULL : node;
}

int cli_conn_option(cli_conn *c, int opt, const char *arg) {
  switch (opt) {
  case CLI_OPT_NODE: c->node = arg; return 1;
  case CLI_OPT_TOKEN: c->token = arg; return 1;
  case CLI_OPT_TLS_CA: c->tls.ca_file = arg; return 1;
  case CLI_OPT_TLS_CERT: c->tls.cert_file = arg; return 1;
  case CLI_OPT_TLS_KEY: c->tls.key_file = arg; return 1;
  default: return 0;
  }
}

int cli_conn_open(const char *cmd, cli_conn *c, airlock_client **out) {
  airlock_error *err = NULL;
  if (c->token == NULL)
    c->token = getenv("AIRLOCK_TOKEN");
  if (c->token == NULL || *c->token == '\0')
    return cli_fail(cmd, NULL, AIRLOCK_EXIT_SETUP,
                    "no token: set AIRLOCK_TOKEN or give --token (tokens come from 'airlock token create')");
  if (c->node == NULL && (c->node = c->node_alloc = cli_default_node(cmd)) == NULL)
    return AIRLOCK_EXIT_SETUP;
  if (airlock_client_open(c->node, c->token, &c->tls, out, &err) < 0)
    return cli_fail_error(cmd, NULL, AIRLOCK_EXIT_SETUP, &err);
  return 0;
}

void cli_conn_clear(cli_conn *c) {
  free(c->node_alloc);
  c->node_alloc = NULL;
}
