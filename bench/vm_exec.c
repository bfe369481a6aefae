/* SPDX-License-Identifier: Apache-2.0 */
/* vm_exec.c - vm-exec: commands run one after another in ONE warm microVM
 * (src/vm: al_vm_boot, al_vm_exec, al_vm_stop), for bench/vm.sh (the exec
 * round trip once the VM is up) and tests/vm (several execs share the
 * guest).  Not installed.
 *
 *   vm-exec [--runs N] [--quiet] [--workspace DIR] [--timeout S] -- CMD ARG... [--then CMD ARG...]...
 *
 * Each command runs N times (default 1) with its stdout and stderr on ours
 * (--quiet: /dev/null); stdin is empty.  On stderr at the end, one JSON
 * line: {"boot_ms", "accel", "runs", "commands": [{"exec_ms": {"min",
 * "median", "p90"}, "exit_code": its last run's}, ...]}.  Exit: 0, or 1 when
 * the VM failed.  Emulation (TCG) is accepted: a benchmark tool. */
#define _GNU_SOURCE
#include "clock.h"
#include "vm.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  int runs = 1;
  bool quiet = false;
  double timeout = 0;
  al_vm_request req = {.allow_tcg = true, .workspace_rw = true, .workspace_fd = -1};
  int i = 1;
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
      runs = atoi(argv[++i]);
    else if (strcmp(argv[i], "--quiet") == 0)
      quiet = true;
    else if (strcmp(argv[i], "--workspace") == 0 && i + 1 < argc)
      req.workspace = argv[++i];
    else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
      timeout = atof(argv[++i]);
    else {
      fprintf(stderr, "usage: vm-exec [--runs N] [--quiet] [--workspace DIR] [--timeout S] -- CMD... [--then CMD...]\n");
      return 2;
    }
  }
  if (i + 1 >= argc || runs < 1) {
    fprintf(stderr, "vm-exec: no command\n");
    return 2;
  }
  /* split the commands at --then */
  char **cmds[64];
  int ncmds = 0;
  cmds[ncmds++] = argv + i + 1;
  for (int j = i + 1; j < argc && ncmds < 64; j++)
    if (strcmp(argv[j], "--then") == 0) {
      argv[j] = NULL;
      cmds[ncmds++] = argv + j + 1;
    }
  int out = quiet ? open("/dev/null", O_WRONLY) : STDOUT_FILENO;
  int err = quiet ? out : STDERR_FILENO;
  al_vm_info info;
  airlock_error *e = NULL;
  al_vm *vm = al_vm_boot(&req, &info, &e);
  if (!vm) {
    fprintf(stderr, "vm-exec: %s\n", e ? e->msg : "boot failed");
    return 1;
  }
  double *ms = calloc((size_t)runs * (size_t)ncmds, sizeof(double));
  int codes[64] = {0};
  int n = 0;
  for (int c = 0; c < ncmds; c++)
    for (int r = 0; r < runs; r++) {
      al_vm_exec_result res;
      int64_t t0 = al_monotonic_us();
      if (al_vm_exec(vm, cmds[c], NULL, NULL, -1, out, err, timeout, false, NULL, &res, &e) < 0) {
        fprintf(stderr, "vm-exec: %s\n", e ? e->msg : "exec failed");
        al_vm_stop(vm);
        return 1;
      }
      ms[n++] = (double)(al_monotonic_us() - t0) / 1000.0;
      codes[c] = res.exit_code;
    }
  al_vm_stop(vm);
  fprintf(stderr, "{\"boot_ms\": %lld, \"accel\": \"%s\", \"runs\": %d, \"commands\": [", (long long)info.boot_ms,
          info.probe.accel, runs);
  for (int c = 0; c < ncmds; c++) {
    double *m = ms + (size_t)c * (size_t)runs;
    qsort(m, (size_t)runs, sizeof(double), cmp);
    fprintf(stderr, "%s{\"exec_ms\": {\"min\": %.2f, \"median\": %.2f, \"p90\": %.2f}, \"exit_code\": %d}", c ? ", " : "",
            m[0], m[runs / 2], m[(runs * 9) / 10 < runs ? (runs * 9) / 10 : runs - 1], codes[c]);
  }
  fprintf(stderr, "]}\n");
  free(ms);
  return 0;
}
