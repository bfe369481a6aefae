/* SPDX-License-Identifier: Apache-2.0 */
/* run_placement.c - before `airlock run` makes any cgroup: as root on a
 * pure cgroup v2 host booted with systemd, outside a delegated cgroup (a
 * login shell's session scope, a unit without Delegate=yes), it has
 * `airlock-node run-scope` (run_scope.c) ask systemd for a transient scope
 * with Delegate=yes holding this process.  Once it is in, the cgroup code
 * sees a delegated cgroup and nests there, as it does in the node's unit.
 * When that fails the run goes on at the top of the tree, where it went
 * before there were scopes, and the report's cgroup_placement says why
 * (al_cgroup_set_scope).  The cgroup layout is read once per process, so
 * this comes before anything reads it. */
#define _GNU_SOURCE
#include "cgroup.h"
#include "child.h"
#include "cli.h"
#include "error.h"
#include "node_bin.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define HELPER_TIMEOUT_MS 20000 /* the helper gives systemd 15 s */

/* what sd_booted(3) checks, without linking libsystemd into `airlock` */
static bool systemd_booted(void) {
  struct stat st;
  return lstat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
}

/* Run `airlock-node run-scope`; 0, or -1 with its one-line reason. */
static int ask_for_scope(char *why, size_t why_len) {
  char path[PATH_MAX];
  airlock_error *err = NULL;
  if (al_node_binary_path(path, sizeof(path), &err) < 0) {
    snprintf(why, why_len, "%s", err && err->msg ? err->msg : "airlock-node not found");
    airlock_error_free(&err);
    return -1;
  }
  int errp[2];
  if (pipe2(errp, O_CLOEXEC) < 0) {
    snprintf(why, why_len, "pipe: %s", strerror(errno));
    return -1;
  }
  char *argv[] = {(char *)"airlock-node", (char *)"run-scope", NULL};
  int fds[3] = {-1, -1, errp[1]};
  pid_t pid = al_helper_spawn(path, argv, fds, 3, &err);
  close(errp[1]);
  if (pid < 0) {
    snprintf(why, why_len, "%s", err && err->msg ? err->msg : "cannot start airlock-node run-scope");
    airlock_error_free(&err);
    close(errp[0]);
    return -1;
  }
  /* its stderr (one line) until it closes, then its status */
  char msg[512];
  size_t got = 0;
  struct pollfd pfd = {.fd = errp[0], .events = POLLIN};
  while (poll(&pfd, 1, HELPER_TIMEOUT_MS) > 0) {
    ssize_t n = read(errp[0], msg + got, sizeof(msg) - 1 - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0 || (got += (size_t)n) == sizeof(msg) - 1)
      break;
  }
  close(errp[0]);
  msg[got] = '\0';
  msg[strcspn(msg, "\n")] = '\0';
  bool killed = false;
  int status = al_child_wait_or_kill(pid, 2000, &killed); /* its stderr closed: it is ending */
  if (!killed && WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return 0;
  static const char prefix[] = "airlock run-scope: ";
  const char *reason = strncmp(msg, prefix, sizeof(prefix) - 1) == 0 ? msg + sizeof(prefix) - 1 : msg;
  if (killed)
    snprintf(why, why_len, "%.300s run-scope did not finish in time", path);
  else if (*reason)
    snprintf(why, why_len, "%s", reason);
  else
    snprintf(why, why_len, "%.300s run-scope failed (status %d)", path, status);
  return -1;
}

void cli_run_enter_scope(void) {
  al_cgroup_facts facts;
  al_cgroup_read_facts(&facts);
  facts.systemd_booted = systemd_booted();
  if (!al_cgroup_scope_wanted(&facts))
    return;
  char unit[64], why[600];
  if (al_cgroup_scope_name(unit, sizeof(unit), (long)getpid()) < 0)
    return;
  if (ask_for_scope(why, sizeof(why)) < 0) {
    al_cgroup_set_scope(NULL, why);
    return;
  }
  /* systemd said "done": the process must now be in a delegated cgroup */
  al_cgroup_read_facts(&facts);
  if (!facts.own_delegated) {
    al_cgroup_set_scope(NULL, "systemd started the scope but this process is not in a delegated cgroup");
    return;
  }
  al_cgroup_set_scope(unit, NULL);
}
