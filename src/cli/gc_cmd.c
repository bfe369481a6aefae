/* SPDX-License-Identifier: Apache-2.0 */
/* gc_cmd.c - `airlock gc`: remove leftovers of killed runs (airlock_gc). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "airlock/airlock.h"
#include "cli.h"
#include "vm.h"

int cli_gc(int argc, char **argv) {
  const char *state_dir = NULL;
  if (argc == 3 && strcmp(argv[1], "--state-dir") == 0)
    state_dir = argv[2];
  else if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    printf("usage: airlock gc [--state-dir DIR]\n\n"
           "Remove what killed runs left behind: empty cgroups, gVisor bundles, the egress sockets of\n"
           "--isolation vm runs, and cached VM kernels and initramfs files that are not current.\n\n"
           "  --state-dir DIR   also the VM cache of this state directory (the default one always)\n");
    return 0;
  } else if (argc > 1)
    return cli_fail("gc", NULL, AIRLOCK_EXIT_SETUP, "unknown argument '%s' (usage: airlock gc [--state-dir DIR])",
                    argv[1]);
  unsigned removed = 0;
  airlock_error *err = NULL;
  if (airlock_gc(&removed, &err) < 0)
    return cli_fail_error("gc", NULL, CLI_EXIT_FAILED, &err);
  if (state_dir)
    removed += al_vm_gc(state_dir);
  printf("removed %u leftover%s (empty cgroups, gVisor bundles, VM sockets and old VM images)\n", removed,
         removed == 1 ? "" : "s");
  return 0;
}
