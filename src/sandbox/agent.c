/* SPDX-License-Identifier: Apache-2.0 */
/* agent.c - pid 1 of a persistent sandbox: serves exec requests from the
 * node instead of running one command.
 *
 * The agent is fully locked down (the same seccomp, Landlock, capability and
 * uid state as any command) before it reads its first request, so a request
 * can only ask for what a command could do anyway.  Each exec is spawned in
 * a new session (its process group is the unit for signals and cancel),
 * with the stdio descriptors the node passed, or on a pty of the sandbox's
 * own devpts whose master goes back to the node (a pty exec: the command is
 * the session leader of its terminal, so job control works and the node
 * never hands anything of its own terminal in); the agent reaps everything
 * (it is pid 1) and reports each exec's exit with its resource usage.  When
 * the node goes away (EOF on the socket) the agent exits, and the kernel
 * kills everything left in the sandbox with it. */
#define _GNU_SOURCE
#include "agent_proto.h"
#include "fdpass.h"
#include "plan.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
  uint64_t exec_id;
  pid_t pid;
} running_exec;

static running_exec execs[AL_AGENT_MAX_EXECS];
static int n_execs;
static int sock = -1;
static char request_buf[sizeof(al_agent_req) + AL_AGENT_MAX_PAYLOAD];

static void reply(al_msg_kind kind, uint64_t exec_id, int value, const struct rusage *ru, const char *text) {
  al_status_msg m;
  al_status_fill(&m, kind, exec_id, value, ru, text);
  ssize_t w;
  do
    w = send(sock, &m, sizeof(m), MSG_NOSIGNAL);
  while (w < 0 && errno == EINTR);
  if (w < 0)
    _exit(0); /* the node is gone: end the sandbox */
}

/* AL_MSG_EXEC_STARTED with the pty's master, when there is one */
static void reply_fd(al_msg_kind kind, uint64_t exec_id, int value, int fd) {
  if (fd < 0) {
    reply(kind, exec_id, value, NULL, NULL);
    return;
  }
  al_status_msg m = {.kind = kind, .value = value, .exec_id = exec_id};
  if (al_send_fds(sock, &m, sizeof(m), &fd, 1) < 0)
    _exit(0); /* the node is gone: end the sandbox */
}

static void handle_exec(const al_plan *plan, const al_agent_req *req, char *payload, const int fds[3]) {
  char *p = payload, *end = payload + req->payload_len;
  char **argv = req->argc > 0 ? al_agent_take_strings(&p, end, req->argc) : NULL;
  char **extra = argv ? al_agent_take_strings(&p, end, req->envc) : NULL;
  char *cwd = extra ? p : NULL;
  if (!argv || !extra || !cwd || !memchr(cwd, '\0', (size_t)(end - cwd)) || n_execs >= AL_AGENT_MAX_EXECS) {
    reply(AL_MSG_EXEC_ERROR, req->exec_id, EINVAL, NULL, "malformed exec request");
    reply(AL_MSG_EXEC_EXIT, req->exec_id, W_EXITCODE(AIRLOCK_EXIT_SETUP, 0), NULL, NULL);
    free(argv);
    free(extra);
    return;
  }
  char **env = al_env_merge(plan->envp, extra, req->envc);
  pid_t pid = -1;
  int master = -1;
  char tty[32];
  al_spawn_opts o = {
      .fds = fds, .cwd = cwd[0] ? cwd : plan->cwd, .new_session = true, .as_limit = plan->command_as_limit};
  int e = env ? 0 : ENOMEM;
  const char *what = "cannot execute";
  if (e == 0 && req->kind == AL_AGENT_EXEC_PTY) {
    struct winsize ws = {.ws_row = req->rows, .ws_col = req->cols};
    e = al_pty_open(&master, tty, sizeof(tty), NULL, &ws);
    what = e ? "no terminal (/dev/pts/ptmx) for" : what;
    o.fds = NULL;
    o.tty = tty;
    o.tty_fds = 7;
  }
  if (e == 0)
    e = al_spawn(&pid, &o, argv, env);
  if (e != 0) {
    char text[200];
    snprintf(text, sizeof(text), "%s '%s': %s", what, argv[0], strerror(e));
    reply(AL_MSG_EXEC_ERROR, req->exec_id, e, NULL, text);
    int code = e == ENOENT ? AIRLOCK_EXIT_NOT_FOUND : AIRLOCK_EXIT_NOT_EXECUTABLE;
    reply(AL_MSG_EXEC_EXIT, req->exec_id, W_EXITCODE(code, 0), NULL, NULL);
  } else {
    execs[n_execs++] = (running_exec){req->exec_id, pid};
    reply_fd(AL_MSG_EXEC_STARTED, req->exec_id, pid, master);
  }
  if (master >= 0)
    close(master); /* the node holds the pty now: nothing in here keeps its master */
  free(env);
  free(argv);
  free(extra);
}

static void handle_signal(const al_agent_req *req) {
  for (int i = 0; i < n_execs; i++)
    if (execs[i].exec_id == req->exec_id)
      kill(-execs[i].pid, req->signo); /* its session's process group */
}

static void read_request(const al_plan *plan) {
  int fds[3] = {-1, -1, -1};
  size_t nfds = 0;
  int flags = 0;
  ssize_t n = al_recv_fds(sock, request_buf, sizeof(request_buf), fds, 3, &nfds, 0, &flags);
  if (n <= 0)
    _exit(0); /* the node is gone: end the sandbox */
  al_agent_req req;
  if ((size_t)n >= sizeof(req) && !(flags & MSG_TRUNC)) {
    memcpy(&req, request_buf, sizeof(req));
    if (((req.kind == AL_AGENT_EXEC && nfds == 3) || (req.kind == AL_AGENT_EXEC_PTY && nfds == 0)) &&
        req.payload_len == (size_t)n - sizeof(req))
      handle_exec(plan, &req, request_buf + sizeof(req), fds);
    else if (req.kind == AL_AGENT_SIGNAL && req.signo > 0 && req.signo < NSIG)
      handle_signal(&req);
  }
  for (size_t i = 0; i < nfds; i++)
    close(fds[i]);
}

static void reap(void) {
  int st;
  struct rusage ru;
  pid_t pid;
  while ((pid = wait4(-1, &st, WNOHANG, &ru)) > 0) {
    for (int i = 0; i < n_execs; i++) {
      if (execs[i].pid == pid) {
        reply(AL_MSG_EXEC_EXIT, execs[i].exec_id, st, &ru, NULL);
        execs[i] = execs[--n_execs];
        break;
      }
    }
  }
}

void al_agent_main(al_plan *plan) {
  sock = plan->status_fd;
  /* the node's own stdio must not be reachable from the sandbox */
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int i = 0; i < 3 && null >= 0; i++)
    dup2(null, i);
  if (null > 2)
    close(null);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  /* the sandbox's root goes with READY: the node looks up the programs an
   * approval binds through it.  /proc/PID/root would need ptrace access to
   * this non-dumpable init, which a rootless node does not have. */
  int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  reply_fd(AL_MSG_READY, 0, 0, root);
  if (root >= 0)
    close(root);
  for (;;) {
    struct pollfd pfd[2] = {{sock, POLLIN, 0}, {sfd, POLLIN, 0}};
    if (poll(pfd, 2, -1) < 0 && errno != EINTR)
      _exit(1);
    if (pfd[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof(si)) > 0)
        ;
      reap();
    }
    if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
      read_request(plan);
  }
}
