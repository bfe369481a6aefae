/* SPDX-License-Identifier: Apache-2.0 */
/* main.c - airlock's command-line entry: dispatches to subcommands.  All real
 * work is in libairlock; this file only parses and prints.  Built twice: as
 * `airlock` (run, gc: nothing but libc to load, because launch time counts)
 * and as `airlock-node` (node, token, secret, audit, sandbox ...), which
 * `airlock` hands those commands to.  `exec` is in both. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "airlock/airlock.h"
#include "cli.h"
#include "node_bin.h"

static void usage(FILE *out) {
  fprintf(out, "usage: airlock COMMAND [OPTIONS]\n"
               "\n"
               "commands:\n"
               "  run [OPTIONS] -- CMD [ARG...]   run CMD in a fresh sandbox\n"
               "  exec [OPTIONS] -- CMD [ARG...]  run CMD on an airlock node\n"
               "  sandbox create|ls|inspect|rm    persistent sandboxes of a node ('ps' and 'rm ID...' too)\n"
               "  cp SRC DST                      copy files between the host and ID:/workspace/PATH\n"
               "  shell [ID]                      an interactive shell in a sandbox of a node\n"
               "  logs ID                         a sandbox's execs from the node's audit trail\n"
               "  gc                              remove what killed runs left behind\n"
               "  policy check [OPTIONS] -- CMD   what an autonomy policy would do with CMD\n"
               "  changes list|show|diff|apply|discard  changesets of --workspace-mode changes\n"
               "  node [OPTIONS]                  serve the node API (docs/api.md)\n"
               "  token create|list|revoke        manage the node's tokens (tenants)\n"
               "  secret set|list|rm|get|rotate-key manage the node's encrypted secrets\n"
               "  proxy --listen ADDR:PORT        run the egress proxy on its own\n"
               "  audit [verify|prune|head|redact] read and check the node's audit trail\n"
               "  approvals list|show|approve|reject  answer requests waiting for a human\n"
               "  mcp [--node URL] [--keep]       serve sandboxes to an agent as an MCP server on stdio\n"
               "  image import|ls|inspect|rm|gc  container images pinned by digest (OCI layouts)\n"
               "  ssh-gate --config FILE          authorized_keys forced command: SSH commands run in sandboxes\n"
               "  oci [GLOBAL] create|start|run|exec|state|kill|delete|list|features  the OCI runtime (airlock-oci)\n"
               "  completion bash|zsh             the shell completion script\n"
               "  version                         print the version\n"
               "\n"
               "'airlock run --help' lists the sandbox options, 'airlock exec --help' the node ones.\n");
}

#ifdef AIRLOCK_NODE_COMMANDS
/* docker's `ps` and `rm`: `airlock sandbox ls|rm` with the same arguments */
static int sandbox_alias(const char *sub, int argc, char **argv) {
  char **args = calloc((size_t)argc + 2, sizeof(char *));
  if (args == NULL)
    return cli_fail(argv[1], NULL, AIRLOCK_EXIT_SETUP, "out of memory");
  args[0] = (char *)"sandbox";
  args[1] = (char *)sub;
  for (int i = 2; i < argc; i++)
    args[i] = argv[i];
  int code = cli_sandbox(argc, args);
  free(args);
  return code;
}

static int node_command(int argc, char **argv) {
  const char *cmd = argv[1];
  if (strcmp(cmd, "ps") == 0)
    return sandbox_alias("ls", argc, argv);
  if (strcmp(cmd, "rm") == 0)
    return sandbox_alias("rm", argc, argv);
  if (strcmp(cmd, "node") == 0)
    return cli_node(argc - 1, argv + 1);
  if (strcmp(cmd, "token") == 0)
    return cli_token(argc - 1, argv + 1);
  if (strcmp(cmd, "secret") == 0)
    return cli_secret(argc - 1, argv + 1);
  if (strcmp(cmd, "proxy") == 0)
    return cli_proxy(argc - 1, argv + 1);
  if (strcmp(cmd, "audit") == 0)
    return cli_audit(argc - 1, argv + 1);
  if (strcmp(cmd, "approvals") == 0)
    return cli_approvals(argc - 1, argv + 1);
  if (strcmp(cmd, "mcp") == 0)
    return cli_mcp(argc - 1, argv + 1);
  if (strcmp(cmd, "sandbox") == 0)
    return cli_sandbox(argc - 1, argv + 1);
  if (strcmp(cmd, "cp") == 0)
    return cli_cp(argc - 1, argv + 1);
  if (strcmp(cmd, "shell") == 0)
    return cli_shell(argc - 1, argv + 1);
  if (strcmp(cmd, "logs") == 0)
    return cli_logs(argc - 1, argv + 1);
  if (strcmp(cmd, "ssh-gate") == 0)
    return cli_ssh_gate(argc - 1, argv + 1);
  if (strcmp(cmd, "image") == 0)
    return cli_image(argc - 1, argv + 1);
  if (strcmp(cmd, "completion") == 0)
    return cli_completion(argc - 1, argv + 1);
  return cli_exec(argc - 1, argv + 1);
}
#else
/* run the same command with the airlock-node binary installed beside us */
static int node_command(int argc, char **argv) {
  (void)argc;
  char path[PATH_MAX];
  airlock_error *err = NULL;
  if (al_node_binary_path(path, sizeof(path), &err) < 0)
    return cli_fail_error(NULL, NULL, AIRLOCK_EXIT_SETUP, &err);
  execv(path, argv);
  return cli_fail(NULL, NULL, AIRLOCK_EXIT_SETUP, "'%s' needs %s: %s", argv[1], path, strerror(errno));
}
#endif

/* `airlock oci ...`: the airlock-oci binary installed beside us */
static int oci_command(int argc, char **argv) {
  (void)argc;
  char path[PATH_MAX];
  airlock_error *err = NULL;
  if (al_node_binary_path(path, sizeof(path), &err) < 0)
    return cli_fail_error(NULL, NULL, AIRLOCK_EXIT_SETUP, &err);
  char *slash = strrchr(path, '/');
  if (!slash || (size_t)(slash - path) + sizeof("/airlock-oci") > sizeof(path))
    return cli_fail("oci", NULL, AIRLOCK_EXIT_SETUP, "cannot find airlock-oci");
  memcpy(slash, "/airlock-oci", sizeof("/airlock-oci"));
  argv[1] = (char *)"airlock-oci";
  execv(path, argv + 1);
  return cli_fail("oci", NULL, AIRLOCK_EXIT_SETUP, "needs %s: %s", path, strerror(errno));
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return AIRLOCK_EXIT_SETUP;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "run") == 0)
    return cli_run(argc - 1, argv + 1);
  if (strcmp(cmd, "oci") == 0)
    return oci_command(argc, argv);
  if (strcmp(cmd, "gc") == 0)
    return cli_gc(argc - 1, argv + 1);
  if (strcmp(cmd, "policy") == 0)
    return cli_policy(argc - 1, argv + 1);
  if (strcmp(cmd, "changes") == 0)
    return cli_changes(argc - 1, argv + 1);
  /* exec is what agents call per command: served here, so that it loads
   * no library of the node's (libcurl only for a TCP node, at run time) */
  if (strcmp(cmd, "exec") == 0)
    return cli_exec(argc - 1, argv + 1);
  if (strcmp(cmd, "node") == 0 || strcmp(cmd, "token") == 0 || strcmp(cmd, "secret") == 0 ||
      strcmp(cmd, "audit") == 0 || strcmp(cmd, "proxy") == 0 || strcmp(cmd, "exec") == 0 ||
      strcmp(cmd, "approvals") == 0 || strcmp(cmd, "mcp") == 0 || strcmp(cmd, "sandbox") == 0 ||
      strcmp(cmd, "cp") == 0 || strcmp(cmd, "shell") == 0 || strcmp(cmd, "logs") == 0 ||
      strcmp(cmd, "ssh-gate") == 0 || strcmp(cmd, "ps") == 0 || strcmp(cmd, "rm") == 0 ||
      strcmp(cmd, "completion") == 0 || strcmp(cmd, "image") == 0)
    return node_command(argc, argv);
#ifdef AIRLOCK_NODE_COMMANDS
  if (strcmp(cmd, "run-scope") == 0) /* airlock run's helper (run_scope.c), not a command of airlock's */
    return cli_run_scope(argc - 1, argv + 1);
#endif
  if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
    printf("airlock %s\n", AIRLOCK_VERSION);
    return 0;
  }
  if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
    usage(stdout);
    return 0;
  }
  cli_fail(NULL, NULL, AIRLOCK_EXIT_SETUP, "unknown command '%s'", cmd);
  usage(stderr);
  return AIRLOCK_EXIT_SETUP;
}
