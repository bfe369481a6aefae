/* gc_cmd.c - `airlock gc`: remove leftovers of killed runs. */
#define _GNU_SOURCE
#include <stdio.h>

#include "airlock/airlock.h"
#include "cli.h"

int cli_gc(int argc, char **argv) {
  (void)argv;
  if (argc > 1) {
    fprintf(stderr, "airlock gc: takes no arguments\n");
    return AIRLOCK_EXIT_SETUP;
  }
  unsigned removed = 0;
  airlock_error *err = NULL;
  if (airlock_gc(&removed, &err) < 0) {
    fprintf(stderr, "airlock gc: %s\n", err->msg);
    airlock_error_free(&err);
    return 1;
  }
  printf("removed %u leftover cgroup%s\n", removed, removed == 1 ? "" : "s");
  return 0;
}
