/* SPDX-License-Identifier: Apache-2.0 */
/* run.c - al_run_namespaces(), airlock_run() of the default backend: one command in a fresh sandbox, blocking.  Waits on
 * the sandbox's pidfd with the wall-clock timeout, forwards SIGINT, SIGTERM,
 * SIGHUP and SIGQUIT (a second one kills the sandbox), and on timeout kills
 * the sandbox's init, which takes the whole pid namespace with it.  The same
 * loop relays the caller's terminal to the command's pty when there is one
 * (stdio_relay.c), and the terminal gets its modes back before
 * airlock_run() returns, however the run ended.  An egress proxy is stopped
 * once the sandbox has been reaped. */
#define _GNU_SOURCE
#include "cleanup.h"
#include "clock.h"
#include "error.h"
#include "launch.h"
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const int forwarded_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

static bool is_forwarded(int sig) {
  for (size_t i = 0; i < AL_ARRAY_SIZE(forwarded_signals); i++)
    if (forwarded_signals[i] == sig)
      return true;
  return false;
}

typedef struct {
  sigset_t old_mask;
  int sfd;
  bool relay; /* the relay's signals are blocked too */
} signal_guard;

static void signal_guard_begin(signal_guard *g) {
  sigset_t set;
  sigemptyset(&set);
  for (size_t i = 0; i < AL_ARRAY_SIZE(forwarded_signals); i++)
    sigaddset(&set, forwarded_signals[i]);
  sigprocmask(SIG_BLOCK, &set, &g->old_mask);
  g->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* With a relay, the signals it handles are read from the signalfd too. */
static void signal_guard_relay(signal_guard *g) {
  sigset_t set;
  sigemptyset(&set);
  for (size_t i = 0; i < AL_ARRAY_SIZE(forwarded_signals); i++)
    sigaddset(&set, forwarded_signals[i]);
  al_relay_signals(&set);
  sigprocmask(SIG_BLOCK, &set, NULL);
  g->relay = true;
  if (g->sfd >= 0)
    signalfd(g->sfd, &set, 0);
}

static void signal_guard_end(signal_guard *g) {
  if (g->sfd >= 0)
    close(g->sfd);
  /* a write to a closed output may have left a SIGPIPE pending: not ours
   * to deliver after the mask is back */
  sigset_t pipe_sig;
  sigemptyset(&pipe_sig);
  sigaddset(&pipe_sig, SIGPIPE);
  struct timespec zero = {0, 0};
  if (g->relay && !sigismember(&g->old_mask, SIGPIPE))
    while (sigtimedwait(&pipe_sig, NULL, &zero) == SIGPIPE)
      ;
  sigprocmask(SIG_SETMASK, &g->old_mask, NULL);
}

typedef struct {
  int exit_status;
  bool got_exit;
  char setup_error[256];
  char exec_error[sizeof(((al_status_msg *)0)->text)]; /* shown once the terminal has its modes back */
} run_state;

static void drain_status(al_launch *l, airlock_result *r, run_state *st) {
  al_status_msg m;
  while (al_launch_read_msg(l, &m) > 0) {
    switch (m.kind) {
    case AL_MSG_SETUP_ERROR: snprintf(st->setup_error, sizeof(st->setup_error), "%s", m.text); break;
    case AL_MSG_EXEC_ERROR:
      r->exec_failed = true;
      snprintf(st->exec_error, sizeof(st->exec_error), "%s", m.text);
      break;
    case AL_MSG_PTY: al_relay_attach_pty(l->relay, AL_STEAL_FD(l->msg_fd)); break;
    case AL_MSG_EXIT:
      st->exit_status = m.value;
      st->got_exit = true;
      break;
    case AL_MSG_SOCKETS_MASKED: r->sockets_masked = (unsigned)m.value; break;
    case AL_MSG_WORKSPACE:
      if (l->msg_fd >= 0 && l->upper_root < 0) {
        l->upper_root = AL_STEAL_FD(l->msg_fd);
        l->ovl_degraded = (uint32_t)m.value;
        /* the workspace, when read-write, is ovl[0] (plan.c) */
        l->ws_degraded = l->plan.ws_index >= 0 && (l->ovl_degraded & 1u);
        if (l->plan.ws_index >= 0 && !l->ws_degraded)
          l->ws_upper = openat(l->upper_root, "u0", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      }
      break;
    default: break;
    }
  }
}

int al_run_namespaces(const airlock_spec *spec, airlock_result *r, airlock_error **err) {
  al_trace_init();
  memset(r, 0, sizeof(*r));
  signal_guard sig = {.sfd = -1};
  signal_guard_begin(&sig);
  al_launch l;
  if (al_launch_start(&l, spec, false, r, err) < 0) {
    signal_guard_end(&sig);
    return -1;
  }
  if (l.relay)
    signal_guard_relay(&sig);

  /* wait for the sandbox, its timeout, or a signal to forward */
  int64_t deadline = l.start_ms + (int64_t)(spec->timeout_sec * 1000 + 0.5);
  run_state st = {0};
  int sigcount = 0;
  for (;;) {
    struct pollfd fds[3 + AL_RELAY_MAX_POLL] = {{l.pidfd, POLLIN, 0}, {sig.sfd, POLLIN, 0}, {l.sock, POLLIN, 0}};
    int nfds = 3 + (l.relay ? al_relay_poll_fds(l.relay, fds + 3) : 0);
    int64_t left = deadline - al_monotonic_ms();
    if (left <= 0) {
      r->timed_out = true;
      kill(l.pid, SIGKILL);
      break;
    }
    int wait_ms = left > 1000000 ? 1000000 : (int)left;
    int relay_ms = l.relay ? al_relay_timeout_ms(l.relay) : -1;
    int n = poll(fds, (nfds_t)nfds, relay_ms >= 0 && relay_ms < wait_ms ? relay_ms : wait_ms);
    if (n < 0 && errno != EINTR)
      break;
    if (n > 0 && l.relay)
      al_relay_io(l.relay, fds + 3, nfds - 3);
    if (fds[2].revents & POLLIN)
      drain_status(&l, r, &st);
    if (fds[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sig.sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (!is_forwarded((int)si.ssi_signo)) {
          al_relay_signal(l.relay, (int)si.ssi_signo);
          continue;
        }
        /* first signal is passed on; a second one ends the sandbox */
        kill(l.pid, ++sigcount == 1 ? (int)si.ssi_signo : SIGKILL);
      }
    }
    if (fds[0].revents & POLLIN)
      break;
  }

  int wstatus = 0;
  struct rusage ru;
  al_launch_reap(&l, &wstatus, &ru);
  r->wall_ms = al_monotonic_ms() - l.start_ms;
  al_trace_step("launcher", "sandbox reaped");
  drain_status(&l, r, &st);
  if (l.relay) {
    al_relay_finish(l.relay); /* the last output, and the terminal's modes back */
    al_trace_step("launcher", "terminal relay ended");
  }
  if (st.exec_error[0])
    fprintf(stderr, "airlock: %s\n", st.exec_error);
  if (l.egress.pid > 0) {
    /* the sandbox is gone: the proxy writes its last records and exits */
    al_egress_end end;
    al_egress_stop(&l.egress, &end);
    if (end.early)
      fprintf(stderr, "airlock: egress proxy ended during the run (%s %d); connections to it were refused\n",
              WIFEXITED(end.status) ? "exit status" : "signal",
              WIFEXITED(end.status) ? WEXITSTATUS(end.status) : WTERMSIG(end.status));
    else if (end.killed)
      fprintf(stderr, "airlock: egress proxy did not exit within %d s of the sandbox's end; killed\n",
              AL_EGRESS_STOP_TIMEOUT_MS / 1000);
    al_trace_step("launcher", "egress proxy stopped");
  }
  /* the sandbox and all its processes are gone: its workspace changes go
   * to the host or into a changeset now */
  al_workspace_end(&l, r, !st.setup_error[0]);
  int rc = 0;
  if (st.setup_error[0]) {
    al_err(err, 0, "sandbox setup failed: %s", st.setup_error);
    rc = -1;
  } else {
    r->cpu_user_ms = (int64_t)ru.ru_utime.tv_sec * 1000 + ru.ru_utime.tv_usec / 1000;
    r->cpu_sys_ms = (int64_t)ru.ru_stime.tv_sec * 1000 + ru.ru_stime.tv_usec / 1000;
    r->max_rss_kb = ru.ru_maxrss;
    r->oom_killed = al_cgroup_oom_killed(&l.cg);
    if (st.got_exit && WIFSIGNALED(st.exit_status))
      r->signal = WTERMSIG(st.exit_status);
    if (r->timed_out) {
      r->exit_code = AIRLOCK_EXIT_TIMEOUT;
      r->signal = SIGKILL;
    } else if (r->oom_killed &&
               (!st.got_exit || (WIFSIGNALED(st.exit_status) && WTERMSIG(st.exit_status) == SIGKILL))) {
      /* the command itself was killed and the cgroup saw an OOM kill; an
       * OOM-killed helper of a command that still exited keeps its code */
      r->exit_code = AIRLOCK_EXIT_OOM;
    } else if (st.got_exit) {
      r->exit_code = WIFEXITED(st.exit_status) ? WEXITSTATUS(st.exit_status) : 128 + WTERMSIG(st.exit_status);
    } else {
      /* init died without a report: the second signal, or a kill from outside */
      r->killed_by_signal = sigcount >= 2;
      r->signal = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0;
      r->exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    }
  }
  al_launch_cleanup(&l);
  signal_guard_end(&sig);
  al_trace_step("launcher", "cleaned up");
  return rc;
}
