/* cli.h - subcommands of the airlock command-line front end. */
#ifndef AIRLOCK_CLI_H
#define AIRLOCK_CLI_H

#include <stdio.h>

#include "airlock/airlock.h"

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
/* policy_cmd.c: `airlock run --policy`: 0 to go on, else the exit code;
 * a readonly policy also makes the workspace and binds read-only */
int cli_policy_gate_run(const char *policy_path, airlock_spec *spec);
void cli_usage_run(FILE *out);
/* cli_util.c: "airlock CMD [SUB]: message" on stderr; return code */
#define CLI_EXIT_FAILED 1
#define CLI_EXIT_USAGE 2
int cli_fail(const char *cmd, const char *sub, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int cli_fail_error(const char *cmd, const char *sub, airlock_error **err); /* frees *err */
int cli_bad_option(const char *cmd, const char *sub, int opt, char **argv);
/* --state-dir's value, or the default state directory; NULL after saying why */
char *cli_state_dir(const char *cmd, const char *sub, const char *flag);
/* node_conn.c: the node a client command talks to by default, or NULL
 * after telling why there is none (cmd names the subcommand in messages) */
char *cli_default_node(const char *cmd);
void cli_usage_exec(FILE *out);

#endif
