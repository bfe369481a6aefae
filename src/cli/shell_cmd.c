/* SPDX-License-Identifier: Apache-2.0 */
/* shell_cmd.c - `airlock shell [ID]`: an interactive shell on a terminal of
 * its own in a persistent sandbox, which is `airlock exec --pty --sandbox
 * ID` of bash (sh when the sandbox has no bash).  Without an ID a new
 * sandbox is made for the session and removed when the shell ends, unless
 * --keep. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/client.h"
#include "cli.h"

enum { OPT_KEEP = 256 };

const struct option cli_shell_options[] = {
    CLI_CONN_OPTIONS,
    {"keep", no_argument, 0, OPT_KEEP},
    {"env", required_argument, 0, 'e'},
    {"cwd", required_argument, 0, 'w'},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};
const char cli_shell_short[] = ":he:w:";

static void usage(FILE *out) {
  fprintf(out, "usage: airlock shell [OPTIONS] [ID]\n"
               "\n"
               "An interactive shell (bash, else sh) on a terminal of its own in sandbox ID, as\n"
               "'airlock exec --pty --sandbox ID'.  Without ID: in a new sandbox, removed when the shell\n"
               "ends unless --keep.\n"
               "  --keep            keep the new sandbox (its id is printed on stderr)\n"
               "  -e, --env K=V     environment variable; repeatable\n"
               "  -w, --cwd DIR     working directory (default /workspace)\n" CLI_CONN_USAGE
               "exit: the shell's code; 125 when the sandbox could not be made or reached.\n");
}

#define SHELL_COMMAND "if command -v bash >/dev/null 2>&1; then exec bash -i; else exec sh -i; fi"

int cli_shell(int argc, char **argv) {
  cli_conn conn = {0};
  bool keep = false;
  /* the exec's own arguments: at most 2 per flag given, plus ours */
  char **xargv = calloc((size_t)argc * 2 + 16, sizeof(char *));
  int xargc = 0, opt, code = AIRLOCK_EXIT_SETUP;
  char *id = NULL;
  airlock_client *client = NULL;
  if (xargv == NULL)
    return cli_fail("shell", NULL, AIRLOCK_EXIT_SETUP, "out of memory");
  xargv[xargc++] = (char *)"exec";
  optind = 0;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, cli_shell_short, cli_shell_options, NULL)) != -1) {
    if (opt == 'h') {
      usage(stdout);
      code = 0;
      goto out;
    }
    if (opt == '?' || opt == ':') {
      code = cli_bad_option("shell", NULL, opt, argv);
      goto out;
    }
    if (cli_conn_option(&conn, opt, optarg))
      continue;
    if (opt == OPT_KEEP) {
      keep = true;
      continue;
    }
    xargv[xargc++] = opt == 'e' ? (char *)"--env" : (char *)"--cwd";
    xargv[xargc++] = optarg;
  }
  if (argc - optind > 1) {
    cli_fail("shell", NULL, AIRLOCK_EXIT_SETUP, "one sandbox at a time: airlock shell [ID]");
    goto out;
  }
  if (argc - optind == 1 && !cli_valid_sandbox_id(argv[optind])) {
    cli_fail("shell", NULL, AIRLOCK_EXIT_SETUP, "'%s' is not a sandbox id (sb_ and 16 hex digits)", argv[optind]);
    goto out;
  }
  if (argc - optind == 1 && keep) {
    cli_fail("shell", NULL, AIRLOCK_EXIT_SETUP, "--keep is for the sandbox a shell without ID makes");
    goto out;
  }
  if ((code = cli_conn_open("shell", &conn, &client)) != 0)
    goto out;
  code = AIRLOCK_EXIT_SETUP;
  bool made = argc - optind == 0;
  if (made) {
    airlock_error *err = NULL;
    if (airlock_client_sandbox_create(client, NULL, &id, &err) < 0) {
      code = cli_fail_error("shell", NULL, AIRLOCK_EXIT_SETUP, &err);
      goto out;
    }
    fprintf(stderr, "airlock shell: sandbox %s%s\n", id, keep ? " (kept after the shell)" : " (removed after the shell)");
  } else if ((id = strdup(argv[optind])) == NULL) {
    goto out;
  }
  xargv[xargc++] = (char *)"--node";
  xargv[xargc++] = (char *)conn.node;
  xargv[xargc++] = (char *)"--token";
  xargv[xargc++] = (char *)conn.token;
  const char *tls_flags[] = {"--tls-ca", "--tls-cert", "--tls-key"};
  const char *tls_files[] = {conn.tls.ca_file, conn.tls.cert_file, conn.tls.key_file};
  for (int i = 0; i < 3; i++)
    if (tls_files[i]) {
      xargv[xargc++] = (char *)tls_flags[i];
      xargv[xargc++] = (char *)tls_files[i];
    }
  xargv[xargc++] = (char *)"--pty";
  xargv[xargc++] = (char *)"--sandbox";
  xargv[xargc++] = id;
  xargv[xargc++] = (char *)"--shell";
  xargv[xargc++] = (char *)"--";
  xargv[xargc++] = (char *)SHELL_COMMAND;
  code = cli_exec(xargc, xargv);
  if (made && !keep) {
    airlock_error *err = NULL;
    if (airlock_client_sandbox_destroy(client, id, &err) < 0) {
      cli_fail("shell", NULL, AIRLOCK_EXIT_SETUP, "could not remove sandbox %s: %s", id, err->msg);
      airlock_error_free(&err);
      code = code ? code : AIRLOCK_EXIT_SETUP;
    }
  }
out:
  airlock_client_close(&client);
  cli_conn_clear(&conn);
  free(id);
  free(xargv);
  return code;
}
