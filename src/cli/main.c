/* main.c - airlock's command-line entry: dispatches to subcommands.  All real
 * work is in libairlock; this file only parses and prints. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "airlock/airlock.h"
#include "cli.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: airlock COMMAND [OPTIONS]\n"
          "\n"
          "commands:\n"
          "  run [OPTIONS] -- CMD [ARG...]   run CMD in a fresh sandbox\n"
          "  exec [OPTIONS] -- CMD [ARG...]  run CMD on an airlock node\n"
          "  gc                              remove what killed runs left behind\n"
          "  version                         print the version\n"
          "\n"
          "'airlock run --help' lists the sandbox options, 'airlock exec --help' the node ones.\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return AIRLOCK_EXIT_SETUP;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "run") == 0)
    return cli_run(argc - 1, argv + 1);
  if (strcmp(cmd, "exec") == 0)
    return cli_exec(argc - 1, argv + 1);
  if (strcmp(cmd, "gc") == 0)
    return cli_gc(argc - 1, argv + 1);
  if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
    printf("airlock %s\n", AIRLOCK_VERSION);
    return 0;
  }
  if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
    usage(stdout);
    return 0;
  }
  fprintf(stderr, "airlock: unknown command '%s'\n", cmd);
  usage(stderr);
  return AIRLOCK_EXIT_SETUP;
}
