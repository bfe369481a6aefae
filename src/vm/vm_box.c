/* SPDX-License-Identifier: Apache-2.0 */
/* vm_box.c - al_vm_box_start (vm.h): a node sandbox whose "init" is
 * airlock-vm-agent (vm_agent.c), started here with the node's end of a
 * SOCK_SEQPACKET pair on its descriptor 3, so that box.c's calls and the
 * node's event loop (the socket, the pidfd) work on it as on a namespaced
 * sandbox. */
#define _GNU_SOURCE
#include "box.h"
#include "vm.h"

#include "error.h"
#include "node_bin.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef AIRLOCK_LIBEXECDIR
#define AIRLOCK_LIBEXECDIR "/usr/libexec/airlock"
#endif

int al_vm_box_start(struct al_box *b, const airlock_spec *spec, airlock_error **err) {
  memset(b, 0, sizeof(*b));
  al_launch *l = &b->launch;
  l->pid = -1;
  l->pidfd = l->sock = l->msg_fd = l->ws_upper = l->upper_root = -1;
  l->cg.v2_dir_fd = -1;
  for (int c = 0; c < AL_CTRL_COUNT; c++)
    l->cg.join_fd[c] = -1;
  al_egress_init(&l->egress);
  airlock_spec check = *spec;
  check.pty = AIRLOCK_PTY_AUTO; /* the node's execs ask for their pty one by one (refused) */
  if (al_vm_spec_check(&check, err) < 0)
    return -1;
  char path[PATH_MAX];
  if (al_helper_binary_path("airlock-vm-agent", AIRLOCK_LIBEXECDIR, path, sizeof(path), err) < 0)
    return -1;

  char *argv[24];
  int argc = 0;
  char mem[32], cpus[32], pids[32];
  argv[argc++] = path;
  /* the node's workspace descriptor (opened below the tenant's root) is
   * handed down as descriptor 4 and never looked up by name */
  bool ws_fd = spec->workspace_fd >= 0 && !spec->workspace_none;
  if (ws_fd) {
    argv[argc++] = spec->workspace_rw ? "--workspace-fd" : "--workspace-fd-ro";
    argv[argc++] = "4";
  } else if (spec->workspace && !spec->workspace_none) {
    argv[argc++] = spec->workspace_rw ? "--workspace" : "--workspace-ro";
    argv[argc++] = spec->workspace;
  }
  if (spec->output) {
    argv[argc++] = "--output";
    argv[argc++] = spec->output;
  }
  snprintf(mem, sizeof(mem), "%lld", (long long)spec->memory_bytes);
  snprintf(cpus, sizeof(cpus), "%g", spec->cpus);
  snprintf(pids, sizeof(pids), "%lld", (long long)spec->pids);
  argv[argc++] = "--memory";
  argv[argc++] = mem;
  argv[argc++] = "--cpus";
  argv[argc++] = cpus;
  argv[argc++] = "--pids";
  argv[argc++] = pids;
  if (spec->state_dir) {
    argv[argc++] = "--state-dir";
    argv[argc++] = spec->state_dir;
  }
  if (spec->allow_degraded)
    argv[argc++] = "--allow-tcg";
  /* --network proxy: the proxy's socket directory as descriptor 5 and its
   * owner.lock as 6, held by the agent for the sandbox's life */
  al_vm_egress ve;
  al_vm_egress_init(&ve);
  bool net = spec->network == AIRLOCK_NETWORK_PROXY;
  if (net) {
    if (al_vm_egress_start(&ve, spec, err) < 0)
      return -1;
    argv[argc++] = "--net-dir-fd";
    argv[argc++] = "5";
  }
  argv[argc] = NULL;

  int pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
    al_vm_egress_stop(&ve);
    return al_err(err, errno, "socketpair");
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getppid() != parent)
      _exit(127);
    int null = open("/dev/null", O_RDWR);
    int s = fcntl(pair[1], F_DUPFD, 10);
    int w = ws_fd ? fcntl(spec->workspace_fd, F_DUPFD, 10) : -1;
    int nd = net ? fcntl(ve.dir_fd, F_DUPFD, 10) : -1, nl = net ? fcntl(ve.lock_fd, F_DUPFD, 10) : -1;
    dup2(null, 0);
    dup2(null, 1);
    dup2(s, 3);
    if (w >= 0)
      dup2(w, 4);
    if (net && (nd < 0 || nl < 0 || dup2(nd, 5) < 0 || dup2(nl, 6) < 0))
      _exit(127);
    syscall(SYS_close_range, net ? 7 : ws_fd ? 5 : 4, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execv(path, argv);
    _exit(127);
  }
  int e = errno;
  close(pair[1]);
  if (pid < 0) {
    close(pair[0]);
    al_vm_egress_stop(&ve);
    return al_err(err, e, "cannot start %s", path);
  }
  if (net) {
    /* the proxy and the directory go with the box: al_launch_cleanup stops
     * the one and removes the other once the agent is gone */
    l->egress = ve.proxy;
    al_egress_init(&ve.proxy);
    l->backend_dir = ve.dir;
    ve.dir = NULL;
    al_vm_egress_stop(&ve); /* closes our copies of the descriptors */
  }
  l->pid = pid;
  l->sock = pair[0];
  l->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  l->start_ms = 0;
  return 0;
}
