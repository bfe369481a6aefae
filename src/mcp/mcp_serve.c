/* SPDX-License-Identifier: Apache-2.0 */
/* mcp_serve.c - `airlock mcp` around the message handler: newline-delimited
 * JSON-RPC on stdin and stdout, the end of the session (stdin's end of file
 * or SIGTERM, SIGINT, SIGHUP read from a signalfd, so no thread is
 * interrupted), and the local node a session without --node starts: a child
 * `airlock node` on a unix socket in a temporary state directory with a
 * token made for it, stopped and removed with the session. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "cleanup.h"
#include "clock.h"
#include "error.h"
#include "mcp_priv.h"
#include "ndjson.h"

/* Longest message accepted: a write_file of 16 MiB in base64 fits. */
#define MAX_MESSAGE (32u << 20)

/* --- the local node ------------------------------------------------------ */

typedef struct local_node {
  char *dir; /* temporary directory: state/, the node's log */
  char *node;
  char *token;
  pid_t pid;
} local_node;

/* Runs node_binary with args, stdout into *out (when out), stderr into log_fd. */
static pid_t spawn(const char *bin, char *const *args, int out_fd, int log_fd, bool keep_running) {
  pid_t pid = fork();
  if (pid != 0)
    return pid;
  if (keep_running)
    prctl(PR_SET_PDEATHSIG, SIGTERM); /* the node does not outlive a killed server */
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out_fd >= 0 ? out_fd : log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
    _exit(125);
  execv(bin, args);
  _exit(127);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  remove(path);
  return 0;
}

static void local_node_stop(local_node *ln) {
  if (ln->pid > 0) {
    kill(ln->pid, SIGTERM);
    bool killed = false;
    al_child_wait_or_kill(ln->pid, 15000, &killed);
    ln->pid = 0;
  }
  if (ln->dir)
    nftw(ln->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  free(ln->dir);
  free(ln->node);
  free(ln->token);
  memset(ln, 0, sizeof(*ln));
}

static int local_node_start(const char *bin, local_node *ln, airlock_error **err) {
  if (geteuid() != 0)
    return al_err(err, 0,
                  "without --node, airlock mcp starts a node of its own, which needs root (its sandboxes get cgroup "
                  "limits and host uids of their own); run it as root, or give --node unix:PATH or "
                  "https://HOST:PORT of a running node with its token in AIRLOCK_TOKEN");
  if (bin == NULL)
    return al_err(err, 0, "cannot find the airlock-node binary to start a local node");
  char tmpl[] = "/tmp/airlock-mcp.XXXXXX";
  if (mkdtemp(tmpl) == NULL)
    return al_err(err, errno, "mkdtemp");
  ln->dir = strdup(tmpl);
  /* node-made workspaces live beside the state directory: the sandbox's uid must reach them */
  _cleanup_free_ char *state = NULL, *log = NULL, *ready = NULL, *listen = NULL, *tokfile = NULL;
  if (chmod(tmpl, 0755) < 0 || asprintf(&state, "%s/state", tmpl) < 0 || mkdir(state, 0700) < 0 ||
      asprintf(&log, "%s/node.log", tmpl) < 0 || asprintf(&ready, "%s/ready", state) < 0 ||
      asprintf(&listen, "unix:%s/node.sock", state) < 0 || asprintf(&tokfile, "%s/token", tmpl) < 0)
    return al_err(err, errno, "preparing %s", tmpl);
  _cleanup_close_ int log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  _cleanup_close_ int tok_fd = open(tokfile, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (log_fd < 0 || tok_fd < 0)
    return al_err(err, errno, "creating %s", log_fd < 0 ? log : tokfile);

  char *token_args[] = {(char *)bin, "token", "create", "--name", "mcp", "--state-dir", state, NULL};
  int status = 0;
  pid_t pid = spawn(bin, token_args, tok_fd, log_fd, false);
  if (pid < 0 || al_child_wait(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return al_err(err, 0, "airlock token create failed for the local node (see %s)", log);
  char buf[256] = "";
  ssize_t n = pread(tok_fd, buf, sizeof(buf) - 1, 0);
  buf[n > 0 ? n : 0] = '\0';
  buf[strcspn(buf, "\r\n")] = '\0';
  if (buf[0] == '\0')
    return al_err(err, 0, "airlock token create printed no token");
  ln->token = strdup(buf);
  unlink(tokfile);

  char *node_args[] = {(char *)bin,    "node", "--state-dir", state, "--listen", listen,
                       "--ready-file", ready,  "--pool",      "0",   NULL};
  ln->pid = spawn(bin, node_args, -1, log_fd, true);
  if (ln->pid < 0)
    return al_err(err, errno, "fork");
  for (int64_t until = al_monotonic_ms() + 30000; al_monotonic_ms() < until;) {
    if (access(ready, F_OK) == 0) {
      ln->node = strdup(listen);
      fprintf(stderr, "airlock mcp: started a local node on %s (log %s)\n", listen, log);
      return 0;
    }
    if (waitpid(ln->pid, &status, WNOHANG) == ln->pid) {
      ln->pid = 0;
      return al_err(err, 0, "the local node exited during its start (its log: %s)", log);
    }
    usleep(20000);
  }
  return al_err(err, 0, "the local node did not become ready within 30 s (its log: %s)", log);
}

/* --- stdio --------------------------------------------------------------- */

static void write_stdout(void *ctx, const char *line, size_t len) {
  (void)ctx;
  struct iovec parts[2] = {{(void *)line, len}, {"\n", 1}};
  size_t left = len + 1;
  int i = 0;
  while (left > 0) {
    ssize_t w = writev(1, parts + i, 2 - i);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return; /* the client went away: stdin's end comes next */
    }
    left -= (size_t)w;
    while (w > 0 && (size_t)w >= parts[i].iov_len) {
      w -= (ssize_t)parts[i].iov_len;
      i++;
    }
    if (i < 2) {
      parts[i].iov_base = (char *)parts[i].iov_base + w;
      parts[i].iov_len -= (size_t)w;
    }
  }
}

static int on_line(void *ctx, const char *line, size_t len, airlock_error **err) {
  (void)err;
  al_mcp_handle(ctx, line, len);
  return 0;
}

static void mcp_freep(al_mcp **m) { al_mcp_free(m); }

int al_mcp_serve(const al_mcp_options *given, airlock_error **err) {
  /* signals arrive through a descriptor; threads started later inherit the mask */
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0)
    return al_err(err, 0, "cannot block signals");
  signal(SIGPIPE, SIG_IGN);
  _cleanup_close_ int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
  if (sfd < 0)
    return al_err(err, errno, "signalfd");

  al_mcp_options o = *given;
  local_node ln = {0};
  if (o.node == NULL) {
    if (local_node_start(o.node_binary, &ln, err) < 0) {
      local_node_stop(&ln);
      return -1;
    }
    o.node = ln.node;
    o.token = ln.token;
    o.approver_token = NULL;
  } else if (o.token == NULL || o.token[0] == '\0') {
    return al_err(err, 0, "--node needs the node's token in AIRLOCK_TOKEN");
  }

  int rc = 0;
  {
    __attribute__((cleanup(mcp_freep))) al_mcp *m = al_mcp_new(&o, write_stdout, NULL);
    if (m == NULL) {
      local_node_stop(&ln);
      return al_err(err, ENOMEM, "session");
    }
    al_ndjson lines;
    al_ndjson_init(&lines, MAX_MESSAGE);
    char buf[65536];
    for (;;) {
      struct pollfd p[2] = {{0, POLLIN, 0}, {sfd, POLLIN, 0}};
      if (poll(p, 2, -1) < 0) {
        if (errno == EINTR)
          continue;
        rc = al_err(err, errno, "poll");
        break;
      }
      if (p[1].revents & POLLIN) {
        struct signalfd_siginfo si;
        if (read(sfd, &si, sizeof(si)) == sizeof(si))
          fprintf(stderr, "airlock mcp: %s: ending the session\n", strsignal((int)si.ssi_signo));
        break;
      }
      if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      ssize_t n = read(0, buf, sizeof(buf));
      if (n < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      _cleanup_error_ airlock_error *lerr = NULL;
      if (n <= 0) {
        al_ndjson_finish(&lines, on_line, m, &lerr);
        break;
      }
      if (al_ndjson_feed(&lines, buf, (size_t)n, on_line, m, &lerr) < 0) {
        /* the framing is lost: say so and end */
        mcp_send_error(m, NULL, MCP_PARSE_ERROR, "parse error: %s", lerr ? lerr->msg : "bad message");
        break;
      }
    }
    al_ndjson_clear(&lines);
  }
  local_node_stop(&ln);
  return rc;
}
