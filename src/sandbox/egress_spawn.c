/* SPDX-License-Identifier: Apache-2.0 */
/* egress_spawn.c - see egress_spawn.h.  The proxy runs outside the sandbox,
 * as the launcher's user, in its own session (terminal signals reach only
 * the launcher, which ends everything in order) and with
 * PR_SET_PDEATHSIG(SIGKILL), so it cannot outlive a launcher that is
 * killed.  Its descriptors: 0 and 1 /dev/null (the sandbox's stdin and
 * stdout are the command's), 2 the launcher's stderr, 3 the control socket,
 * 4 a sealed memfd holding the network settings as JSON.
 *
 * AIRLOCK_PROXY_BIN, when set, is run instead of airlock-node: for the test
 * suite's stand-in proxy only (tests/cli/proxy_stub.py). */
#define _GNU_SOURCE
#include "egress_spawn.h"
#include "clock.h"
#include "cleanup.h"
#include "error.h"
#include "fdpass.h"
#include "network.h"
#include "node_bin.h"
#include "statedir.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ANSWER_MAX 16384 /* "ok\n" and a CA certificate with 32 long names in its constraints */
#define PEM_BEGIN "-----BEGIN CERTIFICATE-----\n"
#define PEM_END "-----END CERTIFICATE-----\n"

void al_egress_init(al_egress *e) {
  e->pid = -1;
  e->ctl = -1;
  e->ca_pem = NULL;
}

/* The settings as a sealed memfd: the proxy reads it from offset 0 and
 * nobody can change it under it. */
static int settings_fd(const char *text, airlock_error **err) {
  _cleanup_close_ int fd = memfd_create("airlock-egress-config", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0)
    return al_err(err, errno, "egress proxy: memfd");
  size_t len = strlen(text), off = 0;
  while (off < len) {
    ssize_t n = write(fd, text + off, len - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return al_err(err, errno, "egress proxy: writing its settings");
    off += (size_t)n;
  }
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0 ||
      lseek(fd, 0, SEEK_SET) < 0)
    return al_err(err, errno, "egress proxy: sealing its settings");
  return AL_STEAL_FD(fd);
}

static void printable(char *s) {
  for (; *s; s++)
    if (!isprint((unsigned char)*s))
      *s = '?';
}

/* A signal that would end the run arrived while the caller blocks it
 * (airlock_run() reads them through a signalfd once the sandbox runs). */
static bool stop_signal_pending(void) {
  sigset_t pending;
  if (sigpending(&pending) < 0)
    return false;
  static const int stops[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
  for (size_t i = 0; i < AL_ARRAY_SIZE(stops); i++)
    if (sigismember(&pending, stops[i]) == 1)
      return true;
  return false;
}

/* What follows "ok\n": exactly one PEM certificate (the launcher has no
 * X.509 parser; this makes sure that nothing else, a key least of all,
 * reaches the sandbox's trust store).  0 and e->ca_pem, or -1. */
static int take_ca(al_egress *e, const char *pem, airlock_error **err) {
  size_t n = strlen(pem), b = strlen(PEM_BEGIN), t = strlen(PEM_END);
  bool ok = n > b + t && strncmp(pem, PEM_BEGIN, b) == 0 && strcmp(pem + n - t, PEM_END) == 0 &&
            strstr(pem + b, "-----") == pem + n - t;
  for (size_t i = b; ok && i < n - t; i++)
    ok = isalnum((unsigned char)pem[i]) || pem[i] == '+' || pem[i] == '/' || pem[i] == '=' || pem[i] == '\n';
  if (!ok)
    return al_err(err, 0, "egress proxy: its answer holds something other than one CA certificate");
  if (!(e->ca_pem = strdup(pem)))
    return al_err(err, ENOMEM, "egress proxy");
  return 0;
}

/* Wait for "ok", "ok\nCERT" or "error: TEXT". */
static int await_answer(al_egress *e, bool *hung, airlock_error **err) {
  int64_t deadline = al_monotonic_ms() + AL_EGRESS_START_TIMEOUT_MS;
  char buf[ANSWER_MAX + 1];
  ssize_t n;
  for (;;) {
    int64_t left = deadline - al_monotonic_ms();
    if (left <= 0) {
      *hung = true;
      return al_err(err, 0, "egress proxy: no answer within %d s", AL_EGRESS_START_TIMEOUT_MS / 1000);
    }
    if (stop_signal_pending()) {
      *hung = true;
      return al_err(err, EINTR, "egress proxy: interrupted while waiting for its answer");
    }
    struct pollfd p = {e->ctl, POLLIN, 0};
    int r = poll(&p, 1, left > 100 ? 100 : (int)left);
    if (r < 0 && errno != EINTR)
      return al_err(err, errno, "egress proxy: waiting for its answer");
    if (r <= 0)
      continue;
    n = recv(e->ctl, buf, ANSWER_MAX, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    break;
  }
  if (n < 0)
    return al_err(err, errno, "egress proxy: reading its answer");
  if (n == 0) {
    bool killed;
    int st = al_child_wait_or_kill(e->pid, AL_EGRESS_STOP_TIMEOUT_MS, &killed);
    e->pid = -1;
    if (WIFEXITED(st))
      return al_err(err, 0, "egress proxy: exited without answering (exit status %d)", WEXITSTATUS(st));
    return al_err(err, 0, "egress proxy: ended without answering (signal %d)", WTERMSIG(st));
  }
  buf[n] = '\0';
  if (strncmp(buf, "ok\n", 3) == 0 && n > 3)
    return take_ca(e, buf + 3, err);
  if (n > 0 && buf[n - 1] == '\n')
    buf[--n] = '\0';
  if (strcmp(buf, "ok") == 0)
    return 0;
  printable(buf);
  if (strncmp(buf, "error: ", 7) == 0)
    return al_err(err, 0, "egress proxy: %s", buf + 7);
  return al_err(err, 0, "egress proxy: unexpected answer '%.80s'", buf);
}

int al_egress_start(al_egress *e, const airlock_spec *spec, const char *name, airlock_error **err) {
  al_egress_init(e);
  _cleanup_free_ char *settings = al_network_proxy_config(spec, err);
  if (settings == NULL)
    return al_err_prefix(err, "egress proxy");
  _cleanup_free_ char *dir = al_state_dir_or_default(spec->state_dir, err);
  if (dir == NULL)
    return al_err_prefix(err, "egress proxy");
  char bin[PATH_MAX];
  const char *stand_in = getenv("AIRLOCK_PROXY_BIN"); /* tests only */
  if (stand_in && *stand_in)
    snprintf(bin, sizeof(bin), "%s", stand_in);
  else if (al_node_binary_path(bin, sizeof(bin), err) < 0)
    return al_err_prefix(err, "egress proxy");
  _cleanup_close_ int config = settings_fd(settings, err);
  if (config < 0)
    return -1;
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
    return al_err(err, errno, "egress proxy: socketpair");
  /* the CA of inspected hosts outlives the run by an hour at most */
  char validity[32];
  snprintf(validity, sizeof(validity), "%lld", (long long)spec->timeout_sec + 3601);
  char *argv[16] = {bin,           "proxy", "--control-fd",  "3",      "--config-fd", "4", "--sandbox", (char *)name,
                    "--state-dir", dir,     "--ca-validity", validity, NULL};
  if (spec->egress_log_fd >= 0) {
    argv[12] = "--log-fd";
    argv[13] = "5";
  } else if (spec->egress_log) {
    argv[12] = "--log";
    argv[13] = spec->egress_log;
  }
  int fds[6] = {-1, -1, STDERR_FILENO, pair[1], config, spec->egress_log_fd};
  e->pid = al_helper_spawn(bin, argv, fds, spec->egress_log_fd >= 0 ? 6 : 5, err);
  close(pair[1]);
  e->ctl = pair[0];
  if (e->pid < 0) {
    al_egress_stop(e, NULL);
    return al_err_prefix(err, "egress proxy");
  }
  bool hung = false;
  if (await_answer(e, &hung, err) < 0) {
    if (e->pid > 0 && hung)
      kill(e->pid, SIGKILL); /* no last records to wait for */
    al_egress_stop(e, NULL);
    return -1;
  }
  return 0;
}

int al_egress_hand_over(al_egress *e, const int fds[2], airlock_error **err) {
  if (e->ctl < 0)
    return al_err(err, 0, "egress proxy: not running");
  ssize_t n = al_send_fds(e->ctl, "fds", 3, fds, 2);
  if (n != 3)
    return al_err(err, errno, "egress proxy: handing over the sandbox's sockets");
  return 0;
}

void al_egress_stop(al_egress *e, al_egress_end *end) {
  al_egress_end local = {0};
  if (e->pid > 0) {
    int st;
    pid_t w;
    w = al_child_wait(e->pid, &st, WNOHANG);
    if (w == e->pid) {
      local.early = true;
      local.status = st;
      e->pid = -1;
    }
  }
  if (e->ctl >= 0)
    close(e->ctl); /* end of file: the proxy finishes its records and exits */
  e->ctl = -1;
  if (e->pid > 0)
    local.status = al_child_wait_or_kill(e->pid, AL_EGRESS_STOP_TIMEOUT_MS, &local.killed);
  e->pid = -1;
  free(e->ca_pem);
  e->ca_pem = NULL;
  if (end)
    *end = local;
}
