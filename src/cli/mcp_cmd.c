/* SPDX-License-Identifier: Apache-2.0 */
/* mcp_cmd.c - `airlock mcp`: flags and environment into the MCP server's
 * options (src/mcp/); the server itself speaks on stdin and stdout, so
 * nothing here prints to stdout. */
#define _GNU_SOURCE
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "mcp.h"

enum { OPT_NODE = 256, OPT_KEEP, OPT_HELP };

static const struct option options[] = {
    {"node", required_argument, 0, OPT_NODE},
    {"keep", no_argument, 0, OPT_KEEP},
    {"help", no_argument, 0, OPT_HELP},
    {0, 0, 0, 0},
};

static void usage(FILE *out) {
  fprintf(out, "usage: airlock mcp [--node NODE] [--keep]\n"
               "\n"
               "Serves the Model Context Protocol on stdin/stdout: tools that run commands and read and\n"
               "write files in a sandbox of an airlock node, one sandbox per session (docs/mcp.md).\n"
               "\n"
               "  --node NODE   unix:PATH or https://HOST:PORT of a running node; without it a local\n"
               "                node is started for the session (root only) and stopped at its end\n"
               "  --keep        leave the session's sandboxes on the node when the session ends\n"
               "\n"
               "environment:\n"
               "  AIRLOCK_TOKEN           the node token (with --node)\n"
               "  AIRLOCK_CA_FILE         CA bundle that signed an https node's certificate\n"
               "  AIRLOCK_APPROVER_TOKEN  an approver's token: approvals the user answers in the MCP\n"
               "                          client (elicitation) are given to the node with it\n");
}

int cli_mcp(int argc, char **argv) {
  al_mcp_options o = {0};
  int opt;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, ":", options, NULL)) != -1) {
    switch (opt) {
    case OPT_NODE: o.node = optarg; break;
    case OPT_KEEP: o.keep = true; break;
    case OPT_HELP: usage(stdout); return 0;
    default: return cli_bad_option("mcp", NULL, opt, argv);
    }
  }
  if (optind < argc)
    return cli_fail("mcp", NULL, CLI_EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
  o.token = getenv("AIRLOCK_TOKEN");
  o.ca_file = getenv("AIRLOCK_CA_FILE");
  o.approver_token = getenv("AIRLOCK_APPROVER_TOKEN");
  if (o.approver_token && o.approver_token[0] == '\0')
    o.approver_token = NULL;
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    self[n] = '\0';
    o.node_binary = self;
  }
  airlock_error *err = NULL;
  if (al_mcp_serve(&o, &err) < 0)
    return cli_fail_error("mcp", NULL, AIRLOCK_EXIT_SETUP, &err);
  return 0;
}
