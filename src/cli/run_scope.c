/* SPDX-License-Identifier: Apache-2.0 */
/* run_scope.c - `airlock-node run-scope`, the helper `airlock run` starts
 * (run_placement.c) as root on a pure cgroup v2 host booted with systemd,
 * outside a delegated cgroup: it asks systemd for a transient scope
 * airlock-run-PPID.scope with Delegate=yes holding its parent, what
 * `systemd-run --scope -p Delegate=yes` does, and waits for the job.  The
 * parent's sandboxes' cgroups then nest below a unit systemd knows and
 * accounts for, instead of at the top of the tree where systemd does not
 * expect foreign cgroups; systemd removes the scope once its processes are
 * gone (CollectMode=inactive-or-failed).
 *
 * A helper, not code in `airlock`: that binary stays libc-only
 * (tests/cli/ldd_check.sh), and sd-bus comes with libsystemd, which
 * airlock-node links for the journal already.  It moves only its own
 * parent.  Exit 0 when the scope runs; else 125 and the reason on stderr,
 * which `airlock run` puts in its report before going on at the top. */
#define _GNU_SOURCE
#include "cgroup.h"
#include "cleanup.h"
#include "cli.h"
#include "error.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define SCOPE_TIMEOUT_US (15ULL * 1000 * 1000) /* a busy systemd; the run waits no longer */

static void bus_unref(sd_bus **b) { sd_bus_flush_close_unref(*b); }
static void msg_unref(sd_bus_message **m) { sd_bus_message_unref(*m); }
static void slot_unref(sd_bus_slot **s) { sd_bus_slot_unref(*s); }

/* JobRemoved may come before StartTransientUnit's reply names the job: the
 * handler keeps the result of every job it sees until the path is known. */
typedef struct {
  char path[8][256];
  char result[8][32];
  unsigned n;
} jobs_seen;

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
  (void)error;
  jobs_seen *seen = userdata;
  uint32_t id;
  const char *path, *unit, *result;
  if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
    return 0;
  unsigned i = seen->n < 8 ? seen->n++ : 7; /* a flood of others' jobs: keep the newest */
  snprintf(seen->path[i], sizeof(seen->path[i]), "%s", path);
  snprintf(seen->result[i], sizeof(seen->result[i]), "%s", result);
  return 0;
}

static const char *job_result(const jobs_seen *seen, const char *path) {
  for (unsigned i = 0; i < seen->n && i < 8; i++)
    if (strcmp(seen->path[i], path) == 0)
      return seen->result[i];
  return NULL;
}

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* systemd's own socket first, as systemctl does as root: it needs no D-Bus
 * daemon (a minimal system has none); then the system bus.  *direct: the
 * private socket, where messages carry no sender to match on. */
static int open_manager_bus(sd_bus **out, bool *direct, airlock_error **err) {
  sd_bus *bus = NULL;
  *direct = true;
  if (sd_bus_new(&bus) >= 0 && sd_bus_set_address(bus, "unix:path=/run/systemd/private") >= 0 &&
      sd_bus_start(bus) >= 0) {
    *out = bus;
    return 0;
  }
  sd_bus_unref(bus);
  *direct = false;
  int r = sd_bus_open_system(out);
  if (r < 0)
    return al_err(err, -r, "cannot reach systemd (neither /run/systemd/private nor the system bus)");
  return 0;
}

/* StartTransientUnit(unit, "fail", [PIDs, Delegate, CollectMode,
 * Description], []) and wait for its job to be removed with result "done" */
static int start_scope(const char *unit, pid_t pid, airlock_error **err) {
  __attribute__((cleanup(bus_unref))) sd_bus *bus = NULL;
  __attribute__((cleanup(msg_unref))) sd_bus_message *call = NULL;
  __attribute__((cleanup(msg_unref))) sd_bus_message *reply = NULL;
  __attribute__((cleanup(slot_unref))) sd_bus_slot *match = NULL;
  sd_bus_error berr = SD_BUS_ERROR_NULL;
  jobs_seen seen = {.n = 0};
  bool direct = false;
  if (open_manager_bus(&bus, &direct, err) < 0)
    return -1;
  int r = sd_bus_match_signal(bus, &match, direct ? NULL : "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                              "org.freedesktop.systemd1.Manager", "JobRemoved", on_job_removed, &seen);
  if (r < 0)
    return al_err(err, -r, "cannot watch systemd's jobs");
  char description[64];
  snprintf(description, sizeof(description), "airlock run (pid %ld)", (long)pid);
  r = sd_bus_message_new_method_call(bus, &call, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                     "org.freedesktop.systemd1.Manager", "StartTransientUnit");
  if (r >= 0)
    r = sd_bus_message_append(call, "ss", unit, "fail");
  if (r >= 0)
    r = sd_bus_message_open_container(call, 'a', "(sv)");
  if (r >= 0)
    r = sd_bus_message_append(call, "(sv)(sv)(sv)(sv)", "PIDs", "au", 1, (uint32_t)pid, "Delegate", "b", 1,
                              "CollectMode", "s", "inactive-or-failed", "Description", "s", description);
  if (r >= 0)
    r = sd_bus_message_close_container(call);
  if (r >= 0)
    r = sd_bus_message_append(call, "a(sa(sv))", 0);
  if (r < 0)
    return al_err(err, -r, "cannot build the StartTransientUnit call");
  r = sd_bus_call(bus, call, SCOPE_TIMEOUT_US, &berr, &reply);
  if (r < 0) {
    if (berr.message)
      al_err(err, 0, "systemd refused the scope %s: %s", unit, berr.message);
    else
      al_err(err, -r, "systemd refused the scope %s", unit);
    sd_bus_error_free(&berr);
    return -1;
  }
  const char *job;
  if ((r = sd_bus_message_read(reply, "o", &job)) < 0)
    return al_err(err, -r, "systemd's answer to StartTransientUnit names no job");
  char job_path[256];
  snprintf(job_path, sizeof(job_path), "%s", job);
  uint64_t until = now_us() + SCOPE_TIMEOUT_US;
  const char *result;
  while ((result = job_result(&seen, job_path)) == NULL) {
    r = sd_bus_process(bus, NULL);
    if (r < 0)
      return al_err(err, -r, "lost the system bus while waiting for %s", unit);
    if (r > 0)
      continue;
    uint64_t t = now_us();
    if (t >= until)
      return al_err(err, ETIMEDOUT, "systemd did not start %s in %llu s", unit,
                    (unsigned long long)(SCOPE_TIMEOUT_US / 1000000));
    if ((r = sd_bus_wait(bus, until - t)) < 0)
      return al_err(err, -r, "waiting for systemd to start %s", unit);
  }
  if (strcmp(result, "done") != 0)
    return al_err(err, 0, "systemd's job for %s ended with \"%s\", not \"done\"", unit, result);
  return 0;
}

int cli_run_scope(int argc, char **argv) {
  if (argc > 1)
    return cli_fail("run-scope", NULL, CLI_EXIT_USAGE,
                    "no arguments: it moves its parent (airlock run) into a transient scope");
  (void)argv;
  pid_t parent = getppid();
  if (parent <= 1)
    return cli_fail("run-scope", NULL, CLI_EXIT_FAILED, "no parent to move (started by airlock run only)");
  char unit[64];
  if (al_cgroup_scope_name(unit, sizeof(unit), (long)parent) < 0)
    return cli_fail("run-scope", NULL, CLI_EXIT_FAILED, "unit name too long");
  airlock_error *err = NULL;
  if (start_scope(unit, parent, &err) < 0)
    return cli_fail_error("run-scope", NULL, CLI_EXIT_FAILED, &err);
  return CLI_EXIT_OK;
}
