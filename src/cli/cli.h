/* cli.h - subcommands of the airlock command-line front end. */
#ifndef AIRLOCK_CLI_H
#define AIRLOCK_CLI_H

int cli_run(int argc, char **argv);
int cli_gc(int argc, char **argv);
int cli_node(int argc, char **argv);
int cli_token(int argc, char **argv);
int cli_audit(int argc, char **argv);
int cli_exec(int argc, char **argv);
void cli_usage_run(FILE *out);
void cli_usage_exec(FILE *out);

#endif
