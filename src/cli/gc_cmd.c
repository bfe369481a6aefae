/* SPDX-License-Identifier: Apache-2.0 */
/* gc_cmd.c - `airlock gc`: remove leftovers of killed runs (airlock_gc). */
#define _GNU_SOURCE
#include <stdio.h>

#include "airlock/airlock.h"
#include "cli.h"

int cli_gc(int argc, char **argv) {
  (void)argv;
  if (argc > 1)
    return cli_fail("gc", NULL, AIRLOCK_EXIT_SETUP, "takes no arguments");
  unsigned removed = 0;
  airlock_error *err = NULL;
  if (airlock_gc(&removed, &err) < 0)
    return cli_fail_error("gc", NULL, CLI_EXIT_FAILED, &err);
  printf("removed %u leftover%s (empty cgroups, gVisor bundles)\n", removed, removed == 1 ? "" : "s");
  return 0;
}
