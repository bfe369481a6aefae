/* cli_util.c - messages shared by the subcommands that manage the node's
 * state (token, audit): one line on stderr naming the command, and getopt's
 * errors in that form instead of its own two lines. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statedir.h"

#include "cli.h"

int cli_fail(const char *cmd, const char *sub, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "airlock %s%s%s: ", cmd, sub ? " " : "", sub ? sub : "");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  return code;
}

int cli_fail_error(const char *cmd, const char *sub, airlock_error **err) {
  cli_fail(cmd, sub, CLI_EXIT_FAILED, "%s", (*err)->msg);
  airlock_error_free(err);
  return CLI_EXIT_FAILED;
}

/* needs ':' first in the optstring */
int cli_bad_option(const char *cmd, const char *sub, int opt, char **argv) {
  if (opt == ':')
    return cli_fail(cmd, sub, CLI_EXIT_USAGE, "option '%s' needs a value (see 'airlock %s --help')", argv[optind - 1],
                    cmd);
  if (optopt > 0 && optopt < 256)
    return cli_fail(cmd, sub, CLI_EXIT_USAGE, "unknown option '-%c' (see 'airlock %s --help')", optopt, cmd);
  return cli_fail(cmd, sub, CLI_EXIT_USAGE, "unknown option '%s' (see 'airlock %s --help')", argv[optind - 1], cmd);
}

char *cli_state_dir(const char *cmd, const char *sub, const char *flag) {
  char *dir = flag ? strdup(flag) : al_default_state_dir();
  if (dir == NULL)
    cli_fail(cmd, sub, CLI_EXIT_FAILED, "%s",
             flag ? "out of memory" : "no default state directory (HOME is not set): use --state-dir DIR");
  return dir;
}
