/* SPDX-License-Identifier: Apache-2.0 */
/* cli.h - subcommands of the airlock command-line front end. */
#ifndef AIRLOCK_CLI_H
#define AIRLOCK_CLI_H

#include <stdarg.h>
#include <stdio.h>

#include "airlock/airlock.h"
#include "airlock/client.h"

int cli_run(int argc, char **argv);
int cli_gc(int argc, char **argv);
int cli_node(int argc, char **argv);
int cli_token(int argc, char **argv);
int cli_secret(int argc, char **argv);
int cli_proxy(int argc, char **argv);
int cli_audit(int argc, char **argv);
int cli_exec(int argc, char **argv);
int cli_approvals(int argc, char **argv);
int cli_policy(int argc, char **argv);
int cli_changes(int argc, char **argv);
int cli_mcp(int argc, char **argv);
int cli_ssh_gate(int argc, char **argv);
int cli_image(int argc, char **argv);
/* policy_cmd.c: `airlock run --policy`: 0 to go on, else the exit code;
 * a readonly policy also makes the workspace and binds read-only */
int cli_policy_gate_run(const char *policy_path, airlock_spec *spec);
void cli_usage_run(FILE *out);
/* cli_util.c: every failure is one line "airlock CMD[ SUB]: message" on
 * stderr, printed here and nowhere else; each returns code. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAILED 1
#define CLI_EXIT_USAGE 2
int cli_fail(const char *cmd, const char *sub, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int cli_vfail(const char *cmd, const char *sub, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
/* the error's message; frees *err */
int cli_fail_error(const char *cmd, const char *sub, int code, airlock_error **err);
/* getopt's complaint (needs ':' first in the optstring), as a usage failure */
int cli_bad_option(const char *cmd, const char *sub, int opt, char **argv);
/* The state directory of a command that works on the node's state: the
 * --state-dir value (refused when empty) or the default.  0 with *dir set
 * (free it), or the exit code after saying why. */
int cli_state_dir(const char *cmd, const char *sub, const char *flag, char **dir);
/* node_conn.c: the node a client command talks to by default, or NULL
 * after telling why there is none (cmd names the subcommand in messages) */
char *cli_default_node(const char *cmd);
void cli_usage_exec(FILE *out);
/* exec_pty.c: `airlock exec --pty`, the caller's side of the command's
 * terminal.  start sets req's pty fields and puts the caller's terminal in
 * raw mode; call started from req->on_started; end gives the modes back. */
typedef struct cli_pty cli_pty;
int cli_exec_pty_start(cli_pty **p, const char *node, const char *token, const airlock_client_tls *tls,
                       airlock_exec_request *req, airlock_error **err);
void cli_exec_pty_started(cli_pty *p, const char *exec_id);
void cli_exec_pty_end(cli_pty **p);

#endif
