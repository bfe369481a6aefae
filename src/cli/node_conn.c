/* SPDX-License-Identifier: Apache-2.0 */
/* node_conn.c - where client subcommands (exec, approvals) find the node
 * when no --node is given: the socket `airlock node` listens on by default. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

char *cli_default_node(const char *cmd) {
  char *node = NULL;
  if (geteuid() == 0)
    return strdup("unix:/run/airlock/node.sock");
  const char *dir = getenv("XDG_RUNTIME_DIR");
  if (dir == NULL || dir[0] != '/') {
    fprintf(stderr,
            "airlock %s: no --node given and XDG_RUNTIME_DIR is not set: give --node unix:PATH or "
            "https://HOST:PORT\n",
            cmd);
    return NULL;
  }
  if (asprintf(&node, "unix:%s/airlock/node.sock", dir) < 0)
    return NULL;
  return node;
}
