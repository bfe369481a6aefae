/* SPDX-License-Identifier: Apache-2.0 */
/* cli.h - subcommands of the airlock command-line front end. */
#ifndef AIRLOCK_CLI_H
#define AIRLOCK_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
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
int cli_sandbox(int argc, char **argv);
int cli_cp(int argc, char **argv);
int cli_shell(int argc, char **argv);
int cli_logs(int argc, char **argv);
int cli_ssh_gate(int argc, char **argv);
int cli_image(int argc, char **argv);
/* policy_cmd.c: `airlock run --policy`: 0 to go on, else the exit code;
 * a readonly policy also makes the workspace and binds read-only */
int cli_policy_gate_run(const char *policy_path, airlock_spec *spec);
void cli_usage_run(FILE *out);
/* run_placement.c: as root on a systemd host outside a delegated cgroup,
 * move into a transient scope with Delegate=yes (the report says what
 * happened), through `airlock-node run-scope` (run_scope.c) */
void cli_run_enter_scope(void);
int cli_run_scope(int argc, char **argv);
/* run_vm.c: `airlock run --isolation vm` (report: opened by run, closed here) */
int cli_run_vm(airlock_spec *spec, FILE *report, const char *report_path);
/* cli_util.c: every failure is one line "airlock CMD[ SUB]: message" on
 * stderr, printed here and nowhere else; each returns code. */
#define CLI_EXIT_OK 0
/* One rule for every subcommand (docs/cli.md#exit-codes-of-every-command):
 * airlock's own failures, bad usage as much as a refused or unreachable
 * node, are 125, the code `airlock run` has always used for them; only
 * `policy check` and `audit verify` keep codes that report a finding. */
#define CLI_EXIT_FAILED AIRLOCK_EXIT_SETUP
#define CLI_EXIT_USAGE AIRLOCK_EXIT_SETUP
/* `airlock exec --approval poll`: the command waits for a human (EX_TEMPFAIL) */
#define CLI_EXIT_APPROVAL_PENDING 75
int cli_fail(const char *cmd, const char *sub, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int cli_vfail(const char *cmd, const char *sub, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
/* the error's message; frees *err */
int cli_fail_error(const char *cmd, const char *sub, int code, airlock_error **err);
/* getopt's complaint (needs ':' first in the optstring), as a usage failure */
int cli_bad_option(const char *cmd, const char *sub, int opt, char **argv);
/* --format table|json, beside --json, in the commands that print lists:
 * 0 with *json set, or the usage exit code after saying why */
#define CLI_OPT_FORMAT 1100
#define CLI_FORMAT_OPTION {"format", required_argument, 0, CLI_OPT_FORMAT}
int cli_format_json(const char *cmd, const char *sub, const char *arg, bool *json);
/* The state directory of a command that works on the node's state: the
 * --state-dir value (refused when empty) or the default.  0 with *dir set
 * (free it), or the exit code after saying why. */
int cli_state_dir(const char *cmd, const char *sub, const char *flag, char **dir);
/* node_conn.c: the node a client command talks to by default (AIRLOCK_NODE,
 * else the default socket of `airlock node`), or NULL after telling why
 * there is none (cmd names the subcommand in messages) */
char *cli_default_node(const char *cmd);
/* The options every client command takes, and their long names. */
enum { CLI_OPT_NODE = 1000, CLI_OPT_TOKEN, CLI_OPT_TLS_CA, CLI_OPT_TLS_CERT, CLI_OPT_TLS_KEY };
#define CLI_CONN_OPTIONS                                                                                               \
  {"node", required_argument, 0, CLI_OPT_NODE}, {"token", required_argument, 0, CLI_OPT_TOKEN},                        \
      {"tls-ca", required_argument, 0, CLI_OPT_TLS_CA}, {"tls-cert", required_argument, 0, CLI_OPT_TLS_CERT},          \
      {"tls-key", required_argument, 0, CLI_OPT_TLS_KEY}
#define CLI_CONN_USAGE                                                                                                 \
  "  --node NODE       unix:PATH, https://HOST:PORT or http://127.0.0.1:PORT (default: AIRLOCK_NODE,\n"             \
  "                    else the socket 'airlock node' listens on by default)\n"                                      \
  "  --token TOKEN     node token; better in AIRLOCK_TOKEN (arguments are visible in ps)\n"                          \
  "  --tls-ca FILE  --tls-cert FILE  --tls-key FILE   TLS to an https:// node, as for 'airlock exec'\n"
typedef struct cli_conn {
  const char *node;
  const char *token;
  airlock_client_tls tls;
  char *node_alloc;
} cli_conn;
/* 1 when opt was one of CLI_CONN_OPTIONS (and is now in c), else 0 */
int cli_conn_option(cli_conn *c, int opt, const char *arg);
/* the token and node checked, defaulted and opened; 0, or 125 after saying why */
int cli_conn_open(const char *cmd, cli_conn *c, airlock_client **out);
void cli_conn_clear(cli_conn *c);
void cli_usage_exec(FILE *out);
/* exec_pty.c: `airlock exec --pty`, the caller's side of the command's
 * terminal.  start sets req's pty fields and puts the caller's terminal in
 * raw mode; call started from req->on_started; end gives the modes back. */
typedef struct cli_pty cli_pty;
int cli_exec_pty_start(cli_pty **p, const char *node, const char *token, const airlock_client_tls *tls,
                       airlock_exec_request *req, airlock_error **err);
void cli_exec_pty_started(cli_pty *p, const char *exec_id);
void cli_exec_pty_end(cli_pty **p);
/* exec_stdin.c: `airlock exec -i` without a terminal: stdin relayed to a
 * stdin_open exec as it comes, by a thread with its own connection; call
 * started from req->on_started; end stops it (after the exit record) */
typedef struct cli_stdin cli_stdin;
int cli_exec_stdin_start(cli_stdin **s, const char *node, const char *token, const airlock_client_tls *tls,
                         airlock_error **err);
void cli_exec_stdin_started(cli_stdin *s, const char *exec_id);
void cli_exec_stdin_end(cli_stdin **s);
/* exec_approval.c: a 202 from the node (res->approval_id) said on stderr at
 * once; then wait: 0 once approved, else the exit code after saying why */
void cli_approval_announce(const airlock_exec_result *res, bool poll_mode);
int cli_approval_wait(airlock_client *client, const char *id, int64_t expires_at_ms);
/* sandbox_cmd.c: an id the node could have handed out (letters, digits, _) */
bool cli_valid_sandbox_id(const char *id);
/* snapshot_cmd.c: `airlock sandbox snapshot|snapshots|restore|reset|fork|snapshot-rm` */
int cli_sandbox_snapshot(const char *sub, int argc, char **argv);
/* the option tables and short flags behind the shell completions (completion_cmd.c) */
extern const struct option cli_run_options[], cli_exec_options[], cli_sandbox_options[], cli_logs_options[],
    cli_cp_options[], cli_shell_options[];
extern const char cli_run_short[], cli_exec_short[], cli_sandbox_short[], cli_logs_short[], cli_cp_short[],
    cli_shell_short[];
int cli_completion(int argc, char **argv);

#endif
