/* SPDX-License-Identifier: Apache-2.0 */
/* run_vm.c - `airlock run --isolation vm`: the spec run in a QEMU microvm
 * (src/vm, docs/vm.md) instead of namespaces.  What the vm backend cannot
 * honour yet is refused here, by name, rather than dropped. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "airlock/airlock.h"
#include "cli.h"
#include "vm.h"

int cli_run_vm(airlock_spec *spec, FILE *report, const char *report_path) {
  airlock_error *err = NULL;
  if (al_vm_spec_check(spec, &err) < 0) {
    if (report) {
      fclose(report);
      unlink(report_path);
    }
    return cli_fail_error("run", NULL, AIRLOCK_EXIT_SETUP, &err);
  }
  al_vm_request req;
  al_vm_info info;
  al_vm_exec_result res;
  int rc = al_vm_run_spec(spec, &req, &info, &res, &err);
  if (rc < 0) {
    if (report) {
      fclose(report);
      unlink(report_path);
    }
    return cli_fail_error("run", NULL, AIRLOCK_EXIT_SETUP, &err);
  }
  if (res.timed_out)
    fprintf(stderr, "airlock: timed out after %.3gs; VM killed\n", spec->timeout_sec);
  if (res.oom_killed)
    fprintf(stderr, "airlock: out of memory: QEMU's cgroup (%lld bytes) hit its limit; VM killed\n",
            (long long)info.cgroup_memory);
  if (strcmp(info.probe.accel, "tcg") == 0 && isatty(STDERR_FILENO))
    fprintf(stderr, "airlock: degraded: software emulation (TCG): %s\n", info.probe.why_not_kvm);
  int code = res.exit_code;
  if (report) {
    char *json = al_vm_report_json(spec, &req, &info, &res);
    bool written = json && fprintf(report, "%s\n", json) >= 0;
    if (fclose(report) != 0 || !written)
      code = cli_fail("run", NULL, AIRLOCK_EXIT_SETUP, "cannot write report '%s'", report_path);
    free(json);
  }
  return code;
}
