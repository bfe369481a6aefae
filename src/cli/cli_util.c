/* SPDX-License-Identifier: Apache-2.0 */
/* cli_util.c - how every subcommand fails: one line on stderr naming the
 * command, getopt's errors in that form instead of its own two lines, and
 * the --state-dir prologue of the commands that work on the node's state. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statedir.h"

#include "cli.h"

int cli_vfail(const char *cmd, const char *sub, int code, const char *fmt, va_list ap) {
  fprintf(stderr, "airlock%s%s%s%s: ", cmd ? " " : "", cmd ? cmd : "", sub ? " " : "", sub ? sub : "");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  return code;
}

int cli_fail(const char *cmd, const char *sub, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  cli_vfail(cmd, sub, code, fmt, ap);
  va_end(ap);
  return code;
}

int cli_fail_error(const char *cmd, const char *sub, int code, airlock_error **err) {
  cli_fail(cmd, sub, code, "%s", (*err)->msg);
  airlock_error_free(err);
  return code;
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

int cli_format_json(const char *cmd, const char *sub, const char *arg, bool *json) {
  if (strcmp(arg, "table") != 0 && strcmp(arg, "json") != 0)
    return cli_fail(cmd, sub, CLI_EXIT_USAGE, "--format must be 'table' or 'json', not '%s'", arg);
  *json = strcmp(arg, "json") == 0;
  return 0;
}

int cli_state_dir(const char *cmd, const char *sub, const char *flag, char **dir) {
  if (flag != NULL && flag[0] == '\0')
    return cli_fail(cmd, sub, CLI_EXIT_USAGE, "--state-dir must not be empty");
  *dir = flag ? strdup(flag) : al_default_state_dir();
  if (*dir == NULL)
    return cli_fail(cmd, sub, CLI_EXIT_FAILED, "%s",
                    flag ? "out of memory" : "no default state directory (HOME is not set): use --state-dir DIR");
  return 0;
}
