/* SPDX-License-Identifier: Apache-2.0 */
/* launch.c - the launcher side of a sandbox, shared by airlock_run() (one
 * command, blocking: run.c) and the node's persistent sandboxes (box.c).
 *
 * One clone3 creates the child in new user, pid, mount, network, ipc and
 * uts namespaces (and, on pure cgroup v2 hosts, directly inside its cgroup
 * and cgroup namespace).  The child waits on a socket while the launcher
 * writes its id maps and makes its cgroups, then builds and enters the
 * sandbox without exec'ing any helper (sandbox_init.c).  The same socket
 * then carries the child's status messages.  Limits that cannot be applied
 * are refused unless the caller allowed degraded mode; every limit's
 * mechanism goes into the result.  In proxy mode the egress proxy is
 * started (and has accepted its settings) before the clone, and the
 * sandbox's listening sockets are passed on to it as soon as init sends
 * them; when it inspects hosts, the CA certificate it answered with goes
 * into the plan (the sandbox's trust store).  Values of --secret are
 * fetched before the clone too.  What the command gets as stdin, stdout and
 * stderr is decided before the clone as well (stdio_relay.c): never a
 * terminal of the caller's. */
#define _GNU_SOURCE
#include "cgroup.h"
#include "child.h"
#include "clock.h"
#include "cleanup.h"
#include "error.h"
#include "launch.h"
#include "fdpass.h"
#include "network.h"
#include "plan.h"
#include "secret_files.h"
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int write_proc_file(pid_t pid, const char *file, const char *content, airlock_error **err) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
  _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return al_err(err, errno, "open %s", path);
  size_t n = strlen(content);
  if (write(fd, content, n) != (ssize_t)n)
    return al_err(err, errno, "write %s", path);
  return 0;
}

static int write_id_maps(pid_t pid, const al_plan *p, airlock_error **err) {
  char map[64];
  if (!p->drop_groups && write_proc_file(pid, "setgroups", "deny", err) < 0)
    return al_err_prefix(err, "user namespace");
  snprintf(map, sizeof(map), "%u %u 1\n", p->inside_uid, p->host_uid);
  if (write_proc_file(pid, "uid_map", map, err) < 0)
    return al_err_prefix(err, "user namespace");
  snprintf(map, sizeof(map), "%u %u 1\n", p->inside_gid, p->host_gid);
  if (write_proc_file(pid, "gid_map", map, err) < 0)
    return al_err_prefix(err, "user namespace");
  return 0;
}

/* The kernel charges a user namespace, and every per-user counter of what
 * runs in it (inotify instances, user namespaces, message queues, pending
 * signals), to the effective uid that creates it.  So as root the clone is
 * made with the sandbox's own uid and gid as effective ids: a sandbox
 * exhausting its counters exhausts its own, never root's.  SECBIT_NO_SETUID_
 * FIXUP keeps the capabilities that clone3 into a cgroup needs; raw
 * syscalls change only this (single) thread, and the previous ids and bits
 * come back right after the clone. */
typedef struct {
  bool active;
  int securebits;
  int dumpable;
} clone_identity;

static int clone_identity_enter(const al_plan *p, clone_identity *ci, airlock_error **err) {
  ci->active = false;
  if (p->lease.lock_fd < 0)
    return 0; /* rootless, or degraded to the workspace owner */
  ci->securebits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
  ci->dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
  if (ci->securebits < 0 ||
      prctl(PR_SET_SECUREBITS, (unsigned long)ci->securebits | SECBIT_NO_SETUID_FIXUP, 0, 0, 0) < 0)
    return al_err(err, errno, "sandbox identity: securebits");
  if (syscall(SYS_setresgid, -1, p->host_gid, -1) < 0 || syscall(SYS_setresuid, -1, p->host_uid, -1) < 0) {
    int e = errno;
    syscall(SYS_setresgid, -1, 0, -1);
    prctl(PR_SET_SECUREBITS, (unsigned long)ci->securebits, 0, 0, 0);
    return al_err(err, e, "sandbox identity: becoming uid %u for the clone", (unsigned)p->host_uid);
  }
  ci->active = true;
  return 0;
}

static void clone_identity_leave(clone_identity *ci) {
  if (!ci->active)
    return;
  /* back to root; failing here would leave a launcher with the wrong ids */
  if (syscall(SYS_setresuid, -1, 0, -1) < 0 || syscall(SYS_setresgid, -1, 0, -1) < 0)
    abort();
  prctl(PR_SET_SECUREBITS, (unsigned long)ci->securebits, 0, 0, 0);
  if (ci->dumpable > 0)
    prctl(PR_SET_DUMPABLE, ci->dumpable, 0, 0, 0); /* changing the euid cleared it */
  ci->active = false;
}

/* vm.memfd_noexec = 2 in the sandbox's pid namespace: memfds are then
 * sealed non-executable unless asked otherwise, and MFD_EXEC is refused, so
 * code written to memory cannot be exec'd past the noexec mounts.  The
 * sysctl acts on the writer's pid namespace and procfs lets only the host's
 * root write it, so as root the launcher points its children's pid
 * namespace at the sandbox's (setns on init's pidfd), makes one vfork child
 * there to write it, and points it back, before init gets its cgroups.
 * Rootless, init falls back to a seccomp filter that refuses unsealed
 * memfds (sandbox_init.c).  Best effort: init checks the value either way. */
static void set_memfd_noexec(const al_launch *l) {
  static int own_pidns = -1;
  if (geteuid() != 0 || l->pidfd < 0)
    return;
  if (own_pidns < 0 && (own_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC)) < 0)
    return;
  if (setns(l->pidfd, CLONE_NEWPID) < 0)
    return;
  pid_t writer = vfork();
  if (writer == 0) {
    int fd = open("/proc/sys/vm/memfd_noexec", O_WRONLY | O_CLOEXEC);
    _exit(fd >= 0 && write(fd, "2", 1) == 1 ? 0 : 1);
  }
  if (setns(own_pidns, CLONE_NEWPID) < 0)
    abort(); /* later children must never be born in a sandbox */
  if (writer > 0)
    al_child_wait(writer, NULL, 0);
}

void al_result_set_limit(airlock_result *r, airlock_limit_kind k, const char *name, int64_t value, const char *unit,
                         const char *mechanism, bool degraded) {
  r->limits[k] = (airlock_limit_report){name, value, unit, mechanism, degraded};
}

const char *al_cgroup_mechanism(int version) { return version == 2 ? "cgroup2" : version == 1 ? "cgroup1" : NULL; }

void al_result_plan_limits(airlock_result *r, const airlock_spec *spec, const al_plan *p) {
  al_result_set_limit(r, AIRLOCK_LIMIT_TIMEOUT, "timeout", (int64_t)(spec->timeout_sec * 1000 + 0.5), "ms", "timer",
                      false);
  al_result_set_limit(r, AIRLOCK_LIMIT_DISK, "disk", spec->disk_bytes, "bytes", "tmpfs", false);
  for (int i = 0; i < p->n_rlimits; i++) {
    switch (p->rlimits[i].resource) {
    case RLIMIT_CPU:
      al_result_set_limit(r, AIRLOCK_LIMIT_CPU_TIME, "cpu_time", (int64_t)p->rlimits[i].value, "seconds", "rlimit",
                          false);
      break;
    case RLIMIT_FSIZE:
      al_result_set_limit(r, AIRLOCK_LIMIT_FILE_SIZE, "file_size", (int64_t)p->rlimits[i].value, "bytes", "rlimit",
                          false);
      break;
    case RLIMIT_NOFILE:
      al_result_set_limit(r, AIRLOCK_LIMIT_OPEN_FILES, "open_files", (int64_t)p->rlimits[i].value, "count", "rlimit",
                          false);
      break;
    case RLIMIT_CORE: al_result_set_limit(r, AIRLOCK_LIMIT_CORE, "core", 0, "bytes", "rlimit", false); break;
    default: break;
    }
  }
}

void al_append_note(char **note, const char *text) {
  char *joined = NULL;
  if (asprintf(&joined, "%s%s%s", *note ? *note : "", *note ? "; " : "", text) >= 0) {
    free(*note);
    *note = joined;
  }
}

static bool host_has_swap(void) {
  _cleanup_fclose_ FILE *f = fopen("/proc/swaps", "re");
  char line[256];
  int lines = 0;
  while (f && fgets(line, sizeof(line), f))
    lines++;
  return lines > 1; /* a header, then one line per swap area */
}

/* Decide, per limit, how it is applied; refuse or fall back to rlimits. */
static int resolve_limits(const airlock_spec *spec, const al_cgroup *cg, al_plan *p, airlock_result *r,
                          airlock_error **err) {
  const char *names[AL_CTRL_COUNT] = {"memory", "pids", "cpus"};
  for (int c = 0; c < AL_CTRL_COUNT; c++) {
    if (cg->version[c] != 0 || spec->allow_degraded)
      continue;
    return al_err(err, 0,
                  "cannot apply the %s limit: %s. " AL_CGROUP_DELEGATION_HINT ", or pass "
                  "--allow-degraded to accept rlimit fallbacks",
                  names[c], cg->why_missing[c] ? cg->why_missing[c] : "no usable cgroup");
  }
  const char *mem = al_cgroup_mechanism(cg->version[AL_CTRL_MEMORY]);
  if (!mem) {
    /* nearest fallback: address-space cap (stricter than RSS) */
    if (p->n_rlimits < AL_MAX_RLIMITS)
      p->rlimits[p->n_rlimits++] = (al_rlimit){RLIMIT_AS, (rlim_t)spec->memory_bytes};
    al_append_note(&r->degraded_note,
                   "memory: no cgroup, RLIMIT_AS caps address space instead (no OOM report); files in /tmp, "
                   "/dev/shm and HOME are capped by --disk, not --memory; kernel memory (socket and pipe buffers, "
                   "page tables, other kernel objects) is not capped");
  }
  if (mem && cg->swap_uncapped && host_has_swap())
    al_append_note(&r->degraded_note, "memory: the kernel does not account swap, so only RAM is capped");
  al_result_set_limit(r, AIRLOCK_LIMIT_MEMORY, "memory", spec->memory_bytes, "bytes", mem ? mem : "rlimit", !mem);
  const char *pids = al_cgroup_mechanism(cg->version[AL_CTRL_PIDS]);
  if (!pids) {
    if (p->n_rlimits < AL_MAX_RLIMITS)
      p->rlimits[p->n_rlimits++] = (al_rlimit){RLIMIT_NPROC, (rlim_t)spec->pids};
    al_append_note(&r->degraded_note, "pids: no cgroup, RLIMIT_NPROC of the sandbox user instead");
  }
  al_result_set_limit(r, AIRLOCK_LIMIT_PIDS, "pids", spec->pids, "count", pids ? pids : "rlimit", !pids);
  const char *cpu = al_cgroup_mechanism(cg->version[AL_CTRL_CPU]);
  if (!cpu)
    al_append_note(&r->degraded_note, "cpus: no cgroup, CPU share not limited (CPU time is still capped by rlimit)");
  al_result_set_limit(r, AIRLOCK_LIMIT_CPUS, "cpus", (int64_t)(spec->cpus * 1000 + 0.5), "millicpus",
                      cpu ? cpu : "none", !cpu);
  al_result_plan_limits(r, spec, p);
  return 0;
}

/* Pass the cgroup membership files to the child (see al_cgroup_join_self),
 * with the rlimits that stand in for controllers that could not be used. */
static int send_cgroups(int sock, const al_cgroup *cg, const al_plan *plan, int first_fallback) {
  int fds[AL_CTRL_COUNT];
  int n = 0;
  for (int c = 0; c < AL_CTRL_COUNT; c++)
    if (cg->join_fd[c] >= 0)
      fds[n++] = cg->join_fd[c];
  al_cgroup_msg m = {.tag = 'c'};
  for (int i = first_fallback; i < plan->n_rlimits && m.n_fallbacks < AL_MAX_FALLBACKS; i++)
    m.fallbacks[m.n_fallbacks++] = plan->rlimits[i];
  return al_send_fds(sock, &m, sizeof(m), fds, (size_t)n) == (ssize_t)sizeof(m) ? 0 : -1;
}

int al_launch_start(al_launch *l, const airlock_spec *spec, bool agent, airlock_result *r, airlock_error **err) {
  memset(l, 0, sizeof(*l));
  l->cg.v2_dir_fd = -1;
  for (int c = 0; c < AL_CTRL_COUNT; c++)
    l->cg.join_fd[c] = -1;
  l->pid = -1;
  l->pidfd = -1;
  l->sock = -1;
  l->msg_fd = -1;
  l->ws_upper = -1;
  l->upper_root = -1;
  al_egress_init(&l->egress);
  int pair[2] = {-1, -1};

  if (al_spec_check(spec, !agent, err) < 0)
    return -1;
  if (agent && spec->n_secrets > 0) /* the node holds no agent secrets */
    return al_err(err, 0, "secrets as files: not available for node sandboxes");
  al_trace_step("launcher", "validated");
  if (al_plan_build(&l->plan, spec, err) < 0)
    goto fail;
  l->plan.agent = agent;
  /* one-shot runs: writes to the read-write workspace, output and binds
   * are bounded by overlays and written back at the end (workspace_end.c);
   * the node's persistent sandboxes keep the plain bind */
  l->plan.overlay_writes = !agent && l->plan.n_ovl > 0;
  if (al_workspace_check(&l->plan, err) < 0)
    goto fail;
  if (al_secret_files_fetch(&l->plan, spec, err) < 0)
    goto fail;
  /* the proxy accepts its settings before anything of the sandbox exists */
  if (l->plan.egress) {
    if (al_egress_start(&l->egress, spec, l->plan.hostname, err) < 0)
      goto fail;
    /* inspected hosts: the sandbox trusts the CA the proxy has just made */
    if (l->egress.ca_pem && al_plan_trust_egress_ca(&l->plan, l->egress.ca_pem, err) < 0)
      goto fail;
    al_trace_step("launcher", "egress proxy ready");
  }
  if (agent) { /* a node's own terminal type means nothing to remote commands */
    bool given = false;
    for (size_t i = 0; i < spec->n_env; i++)
      given = given || strncmp(spec->env[i], "TERM=", 5) == 0;
    for (char **e = l->plan.envp; e && *e && !given; e++)
      if (strncmp(*e, "TERM=", 5) == 0) {
        char *dumb = strdup("TERM=dumb");
        if (dumb) {
          free(*e);
          *e = dumb;
        }
      }
  }
  al_seccomp_builtin(&l->plan.seccomp);
  if (al_stdio_prepare(&l->plan.stdio, spec->pty, agent, &l->relay, err) < 0)
    goto fail;
  al_trace_step("launcher", "planned");
  /* On pure v2 the child is born in its cgroup, so make it first.  Elsewhere
   * the cgroups are made while the child builds its root (2 cores: that
   * work is off the critical path) and handed to it before it locks down. */
  bool cgroup_first = al_cgroup_all_v2();
  if (cgroup_first && (al_cgroup_create(&l->cg, spec, err) < 0 || resolve_limits(spec, &l->cg, &l->plan, r, err) < 0))
    goto fail;
  r->landlock_abi = l->plan.landlock_abi;
  r->seccomp = true;
  r->identity = l->plan.identity;
  r->host_uid = l->plan.host_uid;
  r->host_gid = l->plan.host_gid;
  r->idmapped = l->plan.idmapped;
  if (spec->n_sockets > 0 && (r->sockets_allowed = calloc(spec->n_sockets + 1, sizeof(char *))) != NULL)
    for (size_t i = 0, k = 0; i < l->plan.n_user; i++)
      if (l->plan.user[i].socket)
        r->sockets_allowed[k++] = strdup(l->plan.user[i].host_path);
  if (strcmp(l->plan.identity, "workspace-owner") == 0)
    al_append_note(&r->degraded_note, "identity: the workspace's file system cannot be idmapped, so the sandbox runs "
                                      "as the owner of its writable mounts");
  if (l->plan.landlock_abi == 0)
    al_append_note(&r->degraded_note, "landlock: this kernel has none; writes are confined by read-only mounts only");

  /* one socket: "go" and the cgroups go down, status messages come up */
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
    al_err(err, errno, "socketpair");
    goto fail;
  }
  l->plan.sync_fd = pair[0];
  l->plan.status_fd = pair[0];
  l->sock = pair[1];

  struct clone_args args;
  memset(&args, 0, sizeof(args));
  args.flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_PIDFD;
  args.pidfd = (uint64_t)(uintptr_t)&l->pidfd;
  args.exit_signal = SIGCHLD;
  if (l->cg.v2_dir_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP | CLONE_NEWCGROUP;
    args.cgroup = (uint64_t)l->cg.v2_dir_fd;
    l->plan.in_cgroup_ns = true;
  }
  l->start_ms = al_monotonic_ms();
  clone_identity ci;
  if (clone_identity_enter(&l->plan, &ci, err) < 0)
    goto fail;
  l->pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
  if (l->pid != 0)
    clone_identity_leave(&ci);
  if (l->pid < 0) {
    int e = errno;
    al_err(err, e, "cannot create namespaces (clone3)%s",
           e == EPERM || e == ENOSPC || e == EACCES
               ? "; unprivileged user namespaces may be disabled (sysctl kernel.unprivileged_userns_clone, "
                 "user.max_user_namespaces, or an AppArmor restriction)"
               : "");
    goto fail;
  }
  if (l->pid == 0) {
    close(pair[1]);
    if (l->egress.ctl >= 0)
      close(l->egress.ctl);
    al_sandbox_main(&l->plan);
  }
  al_trace_step("launcher", "cloned");
  close(pair[0]);
  pair[0] = -1;
  al_stdio_cloned(&l->plan.stdio);
  al_plan_wipe_secrets(&l->plan); /* init has its own copy now */

  int first_fallback = l->plan.n_rlimits; /* rlimits added by resolve_limits from here on */
  if (write_id_maps(l->pid, &l->plan, err) < 0)
    goto failed_child;
  if (write(l->sock, "g", 1) != 1) {
    al_err(err, errno, "start sandbox");
    goto failed_child;
  }
  if (!cgroup_first && (al_cgroup_create(&l->cg, spec, err) < 0 || resolve_limits(spec, &l->cg, &l->plan, r, err) < 0))
    goto failed_child;
  /* while init builds its root; it reads the value only after the cgroups
   * below have arrived */
  set_memfd_noexec(l);
  if (send_cgroups(l->sock, &l->cg, &l->plan, first_fallback) < 0) {
    al_err(err, errno, "hand cgroups to the sandbox");
    goto failed_child;
  }
  l->released = true;
  al_trace_step("launcher", "cgroups made and handed over");
  r->network = spec->network;
  if (l->plan.egress)
    r->egress_json = al_network_report(spec);
  return 0;

failed_child:
  /* the child's own reason, if it sent one, beats the launcher's view of it
   * (a broken pipe to a child that had already failed says nothing) */
  kill(l->pid, SIGKILL);
  {
    al_status_msg m;
    fcntl(l->sock, F_SETFL, O_NONBLOCK);
    while (al_launch_read_msg(l, &m) > 0)
      if (m.kind == AL_MSG_SETUP_ERROR) {
        airlock_error_free(err);
        al_err(err, 0, "sandbox setup failed: %s", m.text);
      }
  }
fail:
  if (pair[0] >= 0)
    close(pair[0]);
  al_launch_cleanup(l);
  return -1;
}

/* Init's egress sockets go straight on to the proxy; the launcher keeps no
 * copy.  A pty's master waits in l->msg_fd for the caller of
 * al_launch_read_msg.  Any other descriptor that came with a message is
 * dropped. */
static void take_fds(al_launch *l, al_status_msg *m, const int fds[2], size_t n, int flags, bool whole) {
  if (whole && n == 1 && !(flags & MSG_CTRUNC) &&
      (m->kind == AL_MSG_PTY || m->kind == AL_MSG_EXEC_STARTED || m->kind == AL_MSG_WORKSPACE ||
       m->kind == AL_MSG_READY)) {
    if (l->msg_fd >= 0)
      close(l->msg_fd); /* one not taken by the caller */
    l->msg_fd = fds[0];
    return;
  }
  if (!whole || m->kind != AL_MSG_EGRESS_FDS) {
    for (size_t i = 0; i < n; i++)
      close(fds[i]);
    return;
  }
  airlock_error *err = NULL;
  int rc = n == 2 && !(flags & MSG_CTRUNC) ? al_egress_hand_over(&l->egress, fds, &err)
                                           : al_err(&err, 0, "egress proxy: the sandbox's sockets did not arrive");
  for (size_t i = 0; i < n; i++)
    close(fds[i]);
  if (rc < 0) {
    /* the sandbox must not run without its proxy */
    if (l->pid > 0)
      kill(l->pid, SIGKILL);
    m->kind = AL_MSG_SETUP_ERROR;
    m->value = err->errnum;
    snprintf(m->text, sizeof(m->text), "%s", err->msg);
    airlock_error_free(&err);
  }
}

int al_launch_read_msg(al_launch *l, al_status_msg *m) {
  if (l->msg_fd >= 0) { /* not taken: nobody wanted it */
    close(l->msg_fd);
    l->msg_fd = -1;
  }
  int fds[2] = {-1, -1};
  size_t n_fds = 0;
  int flags = 0;
  ssize_t n = al_recv_fds(l->sock, m, sizeof(*m), fds, 2, &n_fds, MSG_DONTWAIT, &flags);
  if (n >= 0 && (n_fds > 0 || (flags & MSG_CTRUNC)))
    take_fds(l, m, fds, n_fds, flags, n == (ssize_t)sizeof(*m));
  if (n == (ssize_t)sizeof(*m)) {
    m->text[sizeof(m->text) - 1] = '\0';
    return 1;
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    return 0;
  return -1; /* closed, or a message of the wrong size */
}

int al_launch_reap(al_launch *l, int *wstatus, struct rusage *ru) {
  if (l->pid <= 0)
    return -1;
  int st = 0;
  struct rusage local;
  memset(&local, 0, sizeof(local));
  pid_t w;
  while ((w = wait4(l->pid, &st, 0, &local)) < 0 && errno == EINTR)
    ;
  l->pid = -1;
  if (wstatus)
    *wstatus = st;
  if (ru)
    *ru = local;
  return w < 0 ? -1 : 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  if (flag == FTW_DP)
    rmdir(path);
  else
    unlink(path);
  return 0;
}

void al_remove_tree(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT); }

void al_launch_cleanup(al_launch *l) {
  al_child_cleanup(&l->pid);
  if (l->backend_dir) {
    al_cgroup_kill_all(&l->cg);
    al_remove_tree(l->backend_dir);
    free(l->backend_dir);
    l->backend_dir = NULL;
  }
  if (l->pidfd >= 0)
    close(l->pidfd);
  if (l->sock >= 0)
    close(l->sock);
  if (l->msg_fd >= 0)
    close(l->msg_fd);
  if (l->ws_upper >= 0)
    close(l->ws_upper);
  if (l->upper_root >= 0)
    close(l->upper_root);
  l->pidfd = l->sock = l->msg_fd = l->ws_upper = l->upper_root = -1;
  al_relay_free(&l->relay);
  al_stdio_cloned(&l->plan.stdio); /* pipe ends a failed launch did not hand over */
  al_egress_stop(&l->egress, NULL);
  al_cgroup_destroy(&l->cg);
  al_plan_free(&l->plan);
}
