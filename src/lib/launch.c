/* launch.c - airlock_run(): the launcher side of a sandbox.
 *
 * One clone3 creates the child in new user, pid, mount, network, ipc and
 * uts namespaces (and, on pure cgroup v2 hosts, directly inside its cgroup
 * and cgroup namespace).  The child waits on a pipe while the launcher
 * writes its id maps and cgroup membership, then builds and enters the
 * sandbox without exec'ing any helper (sandbox_init.c).  The launcher waits
 * on the child's pidfd with the wall-clock timeout, forwards signals, and
 * on timeout kills the sandbox's init, which takes the whole pid namespace
 * with it.  Limits that cannot be applied are refused unless the caller
 * allowed degraded mode; every limit's mechanism goes into the result. */
#define _GNU_SOURCE
#include "cgroup.h"
#include "cleanup.h"
#include "error.h"
#include "plan.h"
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

static void set_limit(airlock_result *r, airlock_limit_kind k, const char *name, int64_t value, const char *unit,
                      const char *mechanism, bool degraded) {
  r->limits[k] = (airlock_limit_report){name, value, unit, mechanism, degraded};
}

static const char *cg_mechanism(int version) {
  return version == 2 ? "cgroup2" : version == 1 ? "cgroup1" : NULL;
}

static void append_note(char **note, const char *text) {
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
                  "cannot apply the %s limit: %s. Run as root, run inside a delegated cgroup, or pass "
                  "--allow-degraded to accept rlimit fallbacks",
                  names[c], cg->why_missing[c] ? cg->why_missing[c] : "no usable cgroup");
  }
  const char *mem = cg_mechanism(cg->version[AL_CTRL_MEMORY]);
  if (!mem) {
    /* nearest fallback: address-space cap (stricter than RSS) */
    if (p->n_rlimits < AL_MAX_RLIMITS)
      p->rlimits[p->n_rlimits++] = (al_rlimit){RLIMIT_AS, (rlim_t)spec->memory_bytes};
    append_note(&r->degraded_note, "memory: no cgroup, RLIMIT_AS caps address space instead (no OOM report)");
  }
  if (mem && cg->swap_uncapped && host_has_swap())
    append_note(&r->degraded_note, "memory: the kernel does not account swap, so only RAM is capped");
  set_limit(r, AIRLOCK_LIMIT_MEMORY, "memory", spec->memory_bytes, "bytes", mem ? mem : "rlimit", !mem);
  const char *pids = cg_mechanism(cg->version[AL_CTRL_PIDS]);
  if (!pids) {
    if (p->n_rlimits < AL_MAX_RLIMITS)
      p->rlimits[p->n_rlimits++] = (al_rlimit){RLIMIT_NPROC, (rlim_t)spec->pids};
    append_note(&r->degraded_note, "pids: no cgroup, RLIMIT_NPROC of the sandbox user instead");
  }
  set_limit(r, AIRLOCK_LIMIT_PIDS, "pids", spec->pids, "count", pids ? pids : "rlimit", !pids);
  const char *cpu = cg_mechanism(cg->version[AL_CTRL_CPU]);
  if (!cpu)
    append_note(&r->degraded_note, "cpus: no cgroup, CPU share not limited (CPU time is still capped by rlimit)");
  set_limit(r, AIRLOCK_LIMIT_CPUS, "cpus", (int64_t)(spec->cpus * 1000 + 0.5), "millicpus", cpu ? cpu : "none",
            !cpu);
  set_limit(r, AIRLOCK_LIMIT_TIMEOUT, "timeout", (int64_t)(spec->timeout_sec * 1000 + 0.5), "ms", "timer", false);
  set_limit(r, AIRLOCK_LIMIT_DISK, "disk", spec->disk_bytes, "bytes", "tmpfs", false);
  for (int i = 0; i < p->n_rlimits; i++) {
    switch (p->rlimits[i].resource) {
    case RLIMIT_CPU:
      set_limit(r, AIRLOCK_LIMIT_CPU_TIME, "cpu_time", (int64_t)p->rlimits[i].value, "seconds", "rlimit", false);
      break;
    case RLIMIT_FSIZE:
      set_limit(r, AIRLOCK_LIMIT_FILE_SIZE, "file_size", (int64_t)p->rlimits[i].value, "bytes", "rlimit", false);
      break;
    case RLIMIT_NOFILE:
      set_limit(r, AIRLOCK_LIMIT_OPEN_FILES, "open_files", (int64_t)p->rlimits[i].value, "count", "rlimit", false);
      break;
    case RLIMIT_CORE:
      set_limit(r, AIRLOCK_LIMIT_CORE, "core", 0, "bytes", "rlimit", false);
      break;
    default:
      break;
    }
  }
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
  struct iovec iov = {&m, sizeof(m)};
  union {
    char buf[CMSG_SPACE(sizeof(fds))];
    struct cmsghdr align;
  } control;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  if (n > 0) {
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
    memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)n);
  }
  return sendmsg(sock, &msg, MSG_NOSIGNAL) == (ssize_t)sizeof(m) ? 0 : -1;
}

static const int forwarded_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

typedef struct {
  sigset_t old_mask;
  int sfd;
} signal_guard;

static void signal_guard_begin(signal_guard *g) {
  sigset_t set;
  sigemptyset(&set);
  for (size_t i = 0; i < AL_ARRAY_SIZE(forwarded_signals); i++)
    sigaddset(&set, forwarded_signals[i]);
  sigprocmask(SIG_BLOCK, &set, &g->old_mask);
  g->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void signal_guard_end(signal_guard *g) {
  if (g->sfd >= 0)
    close(g->sfd);
  sigprocmask(SIG_SETMASK, &g->old_mask, NULL);
}

/* Read every pending status message from the sandbox. */
static void drain_status(int fd, airlock_result *r, int *exit_status, bool *got_exit, char *setup_error,
                         size_t setup_len) {
  al_status_msg m;
  ssize_t n;
  while ((n = read(fd, &m, sizeof(m))) == (ssize_t)sizeof(m)) {
    m.text[sizeof(m.text) - 1] = '\0';
    switch (m.kind) {
    case AL_MSG_SETUP_ERROR:
      snprintf(setup_error, setup_len, "%s", m.text);
      break;
    case AL_MSG_EXEC_ERROR:
      r->exec_failed = true;
      fprintf(stderr, "airlock: %s\n", m.text);
      break;
    case AL_MSG_EXIT:
      *exit_status = m.value;
      *got_exit = true;
      break;
    default:
      break;
    }
  }
}

int airlock_run(const airlock_spec *spec, airlock_result *r, airlock_error **err) {
  al_trace_init();
  memset(r, 0, sizeof(*r));
  if (airlock_spec_validate(spec, err) < 0)
    return -1;
  al_trace_step("launcher", "validated");

  al_plan plan;
  al_cgroup cg = {.v2_dir_fd = -1};
  int rc = -1;
  int sync_pipe[2] = {-1, -1}, status_pipe[2] = {-1, -1};
  _cleanup_close_ int pidfd = -1;
  pid_t pid = -1;
  signal_guard sig = {.sfd = -1};
  bool signals_blocked = false;

  if (al_plan_build(&plan, spec, err) < 0)
    goto out;
  al_seccomp_builtin(&plan.seccomp);
  al_trace_step("launcher", "planned");
  /* On pure v2 the child is born in its cgroup, so make it first.  Elsewhere
   * the cgroups are made while the child builds its root (2 cores: that
   * work is off the critical path) and handed to it before it locks down. */
  bool cgroup_first = al_cgroup_all_v2();
  if (cgroup_first && (al_cgroup_create(&cg, spec, err) < 0 || resolve_limits(spec, &cg, &plan, r, err) < 0))
    goto out;
  r->landlock_abi = plan.landlock_abi;
  r->seccomp = true;
  if (plan.landlock_abi == 0)
    append_note(&r->degraded_note, "landlock: this kernel has none; writes are confined by read-only mounts only");

  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync_pipe) < 0 || pipe2(status_pipe, O_CLOEXEC) < 0) {
    al_err(err, errno, "pipe");
    goto out;
  }
  plan.sync_fd = sync_pipe[0];
  plan.status_fd = status_pipe[1];

  signal_guard_begin(&sig);
  signals_blocked = true;

  struct clone_args args;
  memset(&args, 0, sizeof(args));
  args.flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_PIDFD;
  args.pidfd = (uint64_t)(uintptr_t)&pidfd;
  args.exit_signal = SIGCHLD;
  if (cg.v2_dir_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP | CLONE_NEWCGROUP;
    args.cgroup = (uint64_t)cg.v2_dir_fd;
    plan.in_cgroup_ns = true;
  }
  int64_t start = now_ms();
  pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
  if (pid < 0) {
    int e = errno;
    al_err(err, e, "cannot create namespaces (clone3)%s",
           e == EPERM || e == ENOSPC || e == EACCES
               ? "; unprivileged user namespaces may be disabled (sysctl kernel.unprivileged_userns_clone, "
                 "user.max_user_namespaces, or an AppArmor restriction)"
               : "");
    goto out;
  }
  if (pid == 0) {
    close(sync_pipe[1]);
    close(status_pipe[0]);
    al_sandbox_main(&plan);
  }
  al_trace_step("launcher", "cloned");
  close(sync_pipe[0]);
  sync_pipe[0] = -1;
  close(status_pipe[1]);
  status_pipe[1] = -1;

  bool released = false;
  int first_fallback = plan.n_rlimits; /* rlimits added by resolve_limits from here on */
  if (cgroup_first)
    first_fallback = plan.n_rlimits; /* already inherited by the child */
  if (write_id_maps(pid, &plan, err) < 0) {
    kill(pid, SIGKILL);
  } else if (write(sync_pipe[1], "g", 1) != 1) {
    al_err(err, errno, "start sandbox");
    kill(pid, SIGKILL);
  } else if (!cgroup_first &&
             (al_cgroup_create(&cg, spec, err) < 0 || resolve_limits(spec, &cg, &plan, r, err) < 0)) {
    kill(pid, SIGKILL);
  } else if (send_cgroups(sync_pipe[1], &cg, &plan, first_fallback) < 0) {
    al_err(err, errno, "hand cgroups to the sandbox");
    kill(pid, SIGKILL);
  } else {
    released = true;
    al_trace_step("launcher", "cgroups made and handed over");
  }

  /* wait for the sandbox, its timeout, or a signal to forward */
  int64_t deadline = start + (int64_t)(spec->timeout_sec * 1000 + 0.5);
  int exit_status = 0;
  bool got_exit = false;
  char setup_error[256] = "";
  int sigcount = 0;
  fcntl(status_pipe[0], F_SETFL, O_NONBLOCK);
  while (released) {
    struct pollfd fds[3] = {{pidfd, POLLIN, 0}, {sig.sfd, POLLIN, 0}, {status_pipe[0], POLLIN, 0}};
    int64_t left = deadline - now_ms();
    if (left <= 0) {
      r->timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    int n = poll(fds, 3, left > 1000000 ? 1000000 : (int)left);
    if (n < 0 && errno != EINTR)
      break;
    if (fds[2].revents & POLLIN)
      drain_status(status_pipe[0], r, &exit_status, &got_exit, setup_error, sizeof(setup_error));
    if (fds[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sig.sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        /* first signal is passed on; a second one ends the sandbox */
        kill(pid, ++sigcount == 1 ? (int)si.ssi_signo : SIGKILL);
      }
    }
    if (fds[0].revents & POLLIN)
      break;
  }

  int wstatus = 0;
  struct rusage ru;
  memset(&ru, 0, sizeof(ru));
  while (wait4(pid, &wstatus, 0, &ru) < 0 && errno == EINTR)
    ;
  r->wall_ms = now_ms() - start;
  al_trace_step("launcher", "sandbox reaped");
  pid = -1;
  drain_status(status_pipe[0], r, &exit_status, &got_exit, setup_error, sizeof(setup_error));

  if (setup_error[0]) {
    /* the child's own reason beats the launcher's view of it (a broken
     * pipe to a child that had already failed says nothing) */
    airlock_error_free(err);
    al_err(err, 0, "sandbox setup failed: %s", setup_error);
    goto out;
  }
  if (!released)
    goto out; /* err already set */
  r->cpu_user_ms = (int64_t)ru.ru_utime.tv_sec * 1000 + ru.ru_utime.tv_usec / 1000;
  r->cpu_sys_ms = (int64_t)ru.ru_stime.tv_sec * 1000 + ru.ru_stime.tv_usec / 1000;
  r->max_rss_kb = ru.ru_maxrss;
  r->oom_killed = al_cgroup_oom_killed(&cg);
  if (got_exit && WIFSIGNALED(exit_status))
    r->signal = WTERMSIG(exit_status);
  if (r->timed_out) {
    r->exit_code = AIRLOCK_EXIT_TIMEOUT;
    r->signal = SIGKILL;
  } else if (r->oom_killed && (!got_exit || (WIFSIGNALED(exit_status) && WTERMSIG(exit_status) == SIGKILL))) {
    /* the command itself was killed and the cgroup saw an OOM kill; an
     * OOM-killed helper of a command that still exited keeps its code */
    r->exit_code = AIRLOCK_EXIT_OOM;
  } else if (got_exit) {
    r->exit_code = WIFEXITED(exit_status) ? WEXITSTATUS(exit_status) : 128 + WTERMSIG(exit_status);
  } else {
    /* init died without a report: killed from outside (a second signal) */
    r->killed_by_signal = true;
    r->signal = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0;
    r->exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  }
  rc = 0;

out:
  if (pid > 0) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
  }
  if (signals_blocked)
    signal_guard_end(&sig);
  for (int i = 0; i < 2; i++) {
    if (sync_pipe[i] >= 0)
      close(sync_pipe[i]);
    if (status_pipe[i] >= 0)
      close(status_pipe[i]);
  }
  al_cgroup_destroy(&cg);
  al_plan_free(&plan);
  al_trace_step("launcher", "cleaned up");
  return rc;
}
