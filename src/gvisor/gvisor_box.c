/* SPDX-License-Identifier: Apache-2.0 */
/* gvisor_box.c - the node's persistent sandboxes under gVisor.
 *
 * The box API (box.h) and the agent protocol (agent_proto.h) stay as they
 * are: instead of an init cloned into namespaces, the box's process is a
 * supervisor forked on the host, inside the sandbox's cgroups, which
 *   - starts `runsc run` (attached: the sandbox dies with it) on a bundle
 *     whose init only waits, with pipes of its own as stdio;
 *   - answers AL_AGENT_EXEC requests with `runsc exec --process JSON`, the
 *     request's three descriptors (the node's own pipes) as its stdio, and
 *     replies AL_MSG_EXEC_STARTED / AL_MSG_EXEC_EXIT like agent.c;
 *   - forwards AL_AGENT_SIGNAL to that runsc exec, which passes it on;
 *   - refuses AL_AGENT_EXEC_PTY (no pty under gVisor in this build).
 * Killing the supervisor (al_box_kill, the node's end) kills runsc and with
 * it the sandbox; al_launch_cleanup kills what is left in the cgroups and
 * removes the bundle (al_launch.backend_dir). */
#define _GNU_SOURCE
#include "agent_proto.h"
#include "box.h"
#include "clock.h"
#include "error.h"
#include "fdpass.h"
#include "gvisor.h"
#include "trace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *const runsc_env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL};

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
    _exit(0); /* the node is gone: end the sandbox (runsc dies with us) */
}

/* fork + exec runsc with fds as stdio (NULL: /dev/null is never given: a
 * pipe of ours), dying with the supervisor */
static pid_t spawn_runsc(al_gvisor_sandbox *g, char **argv, const int fds[3]) {
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid != 0)
    return pid;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent)
    _exit(125);
  for (int i = 0; i < 3; i++)
    if (dup2(fds[i], i) < 0)
      _exit(125);
  syscall(SYS_close_range, 3, ~0U, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  execve(g->runsc, argv, runsc_env);
  _exit(127);
}

static void handle_exec(al_gvisor_sandbox *g, const al_agent_req *req, char *payload, const int fds[3]) {
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
  char **env = al_env_merge(g->plan.envp, extra, req->envc);
  char *json = env ? al_gvisor_process_json(&g->plan, &g->ids, argv, env, cwd[0] ? cwd : g->plan.cwd) : NULL;
  char file[64];
  snprintf(file, sizeof(file), "exec-%llu.json", (unsigned long long)req->exec_id);
  int fd = json ? openat(g->dirfd, file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644) : -1;
  size_t len = json ? strlen(json) : 0;
  bool written = fd >= 0 && write(fd, json, len) == (ssize_t)len;
  if (fd >= 0)
    close(fd);
  free(json);
  free(env);
  free(argv);
  free(extra);
  if (!written) {
    reply(AL_MSG_EXEC_ERROR, req->exec_id, ENOMEM, NULL, "isolation gvisor: cannot write the exec's process");
    reply(AL_MSG_EXEC_EXIT, req->exec_id, W_EXITCODE(AIRLOCK_EXIT_SETUP, 0), NULL, NULL);
    return;
  }
  char path[PATH_MAX + 80];
  snprintf(path, sizeof(path), "%s/%s", g->dir, file);
  char *rargv[24];
  int argc = al_gvisor_runsc_argv(g, rargv, "exec");
  rargv[argc++] = "--process";
  rargv[argc++] = path;
  rargv[argc++] = g->id;
  rargv[argc] = NULL;
  pid_t pid = spawn_runsc(g, rargv, fds);
  if (pid < 0) {
    reply(AL_MSG_EXEC_ERROR, req->exec_id, errno, NULL, "isolation gvisor: cannot start runsc exec");
    reply(AL_MSG_EXEC_EXIT, req->exec_id, W_EXITCODE(AIRLOCK_EXIT_SETUP, 0), NULL, NULL);
    return;
  }
  execs[n_execs++] = (running_exec){req->exec_id, pid};
  reply(AL_MSG_EXEC_STARTED, req->exec_id, pid, NULL, NULL);
}

static void read_request(al_gvisor_sandbox *g) {
  int fds[3] = {-1, -1, -1};
  size_t nfds = 0;
  int flags = 0;
  ssize_t n = al_recv_fds(sock, request_buf, sizeof(request_buf), fds, 3, &nfds, 0, &flags);
  if (n <= 0)
    _exit(0); /* the node is gone: end the sandbox */
  al_agent_req req;
  if ((size_t)n >= sizeof(req) && !(flags & MSG_TRUNC)) {
    memcpy(&req, request_buf, sizeof(req));
    if (req.kind == AL_AGENT_EXEC && nfds == 3 && req.payload_len == (size_t)n - sizeof(req)) {
      handle_exec(g, &req, request_buf + sizeof(req), fds);
    } else if (req.kind == AL_AGENT_EXEC_PTY) {
      reply(AL_MSG_EXEC_ERROR, req.exec_id, ENOTSUP, NULL, "a pty: not available with --isolation gvisor");
      reply(AL_MSG_EXEC_EXIT, req.exec_id, W_EXITCODE(AIRLOCK_EXIT_SETUP, 0), NULL, NULL);
    } else if (req.kind == AL_AGENT_SIGNAL && req.signo > 0 && req.signo < NSIG) {
      for (int i = 0; i < n_execs; i++)
        if (execs[i].exec_id == req.exec_id)
          kill(execs[i].pid, req.signo); /* runsc exec passes it on */
    }
  }
  for (size_t i = 0; i < nfds; i++)
    close(fds[i]);
}

static void remove_exec_file(al_gvisor_sandbox *g, uint64_t exec_id) {
  char file[64];
  snprintf(file, sizeof(file), "exec-%llu.json", (unsigned long long)exec_id);
  unlinkat(g->dirfd, file, 0);
}

/* What the node looks programs up in when it binds an approval (node_binding.c
 * takes the descriptor that comes with AL_MSG_READY): the sandbox's files
 * as its command sees them, not the host's.  As root, in a mount namespace
 * of the supervisor's own: DIR/view is the bundle's skeleton root with the
 * system trees, /etc entries and user mounts bound read-only onto it, as
 * config.json mounts them for gVisor.  Rootless (no mount namespace of our
 * own), the skeleton alone: programs are then not found, never the host's.
 * Returns an O_PATH descriptor or -1. */
static int binding_view(al_gvisor_sandbox *g) {
  int rootfs = openat(g->dirfd, "rootfs", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (rootfs < 0 || !g->root || unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return rootfs;
  char view[PATH_MAX + 16], src[PATH_MAX + 16], dst[PATH_MAX + 600];
  snprintf(view, sizeof(view), "%s/view", g->dir);
  snprintf(src, sizeof(src), "%s/rootfs", g->dir);
  if (mkdir(view, 0755) < 0 || mount(src, view, NULL, MS_BIND, NULL) < 0)
    return rootfs;
  const al_mount_entry *lists[] = {g->plan.system, g->plan.generate_etc ? g->plan.etc : NULL, g->plan.user};
  size_t counts[] = {g->plan.n_system, g->plan.generate_etc ? g->plan.n_etc : 0, g->plan.n_user};
  for (int l = 0; l < 3; l++)
    for (size_t i = 0; i < counts[l]; i++) {
      const al_mount_entry *e = &lists[l][i];
      if (e->type == AL_ENTRY_SYMLINK || e->content)
        continue;
      snprintf(dst, sizeof(dst), "%s%s", view, e->target);
      if (mount(e->host_path, dst, NULL, MS_BIND | MS_REC, NULL) < 0 ||
          mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0) {
        umount2(view, MNT_DETACH);
        return rootfs; /* the skeleton: not found, rather than a half view */
      }
    }
  int fd = open(view, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return rootfs;
  close(rootfs);
  return fd;
}

/* the supervisor: never returns */
__attribute__((noreturn)) static void supervise(al_gvisor_sandbox *g, int init_pipe_r, pid_t init) {
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  for (;;) {
    struct pollfd pfd[3] = {{sock, POLLIN, 0}, {sfd, POLLIN, 0}, {init_pipe_r, POLLIN, 0}};
    if (poll(pfd, 3, -1) < 0 && errno != EINTR)
      _exit(1);
    if (pfd[2].revents) { /* the init writes nothing; drop whatever comes */
      char buf[4096];
      if (read(init_pipe_r, buf, sizeof(buf)) <= 0) {
        close(init_pipe_r);
        init_pipe_r = -1;
      }
    }
    if (pfd[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof(si)) > 0)
        ;
      int st;
      struct rusage ru;
      pid_t pid;
      while ((pid = wait4(-1, &st, WNOHANG, &ru)) > 0) {
        if (pid == init)
          _exit(0); /* the sandbox is gone: so is the box (the node sees our pidfd) */
        for (int i = 0; i < n_execs; i++)
          if (execs[i].pid == pid) {
            remove_exec_file(g, execs[i].exec_id);
            reply(AL_MSG_EXEC_EXIT, execs[i].exec_id, st, &ru, NULL);
            execs[i] = execs[--n_execs];
            break;
          }
      }
    }
    if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
      read_request(g);
  }
}

/* close every descriptor but those in keep[] */
static void close_all_but(const int *keep, int n) {
  DIR *d = opendir("/proc/self/fd");
  if (!d)
    return;
  int self = dirfd(d);
  struct dirent *e;
  int fds[1024];
  int nf = 0;
  while ((e = readdir(d)) != NULL && nf < 1024) {
    int fd = atoi(e->d_name);
    if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd < 3 || fd == self)
      continue;
    bool kept = false;
    for (int i = 0; i < n; i++)
      kept = kept || keep[i] == fd;
    if (!kept)
      fds[nf++] = fd;
  }
  closedir(d);
  for (int i = 0; i < nf; i++)
    close(fds[i]);
}

int al_gvisor_box_start(al_box *b, const airlock_spec *spec, airlock_error **err) {
  memset(b, 0, sizeof(*b));
  al_launch *l = &b->launch;
  l->cg.v2_dir_fd = -1;
  for (int c = 0; c < AL_CTRL_COUNT; c++)
    l->cg.join_fd[c] = -1;
  l->pid = -1;
  l->pidfd = -1;
  l->sock = -1;
  l->msg_fd = -1;
  l->ws_upper = l->upper_root = -1;
  l->plan.lease.lock_fd = -1;
  al_egress_init(&l->egress);
  al_gvisor_sandbox *g = calloc(1, sizeof(*g));
  if (g == NULL)
    return al_err(err, ENOMEM, "isolation gvisor");
  int pair[2] = {-1, -1};
  if (al_gvisor_prepare(g, spec, true, &b->info, err) < 0)
    goto fail;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
    al_err(err, errno, "socketpair");
    goto fail;
  }
  l->start_ms = al_monotonic_ms();
  pid_t node = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    al_err(err, errno, "isolation gvisor: fork");
    goto fail;
  }
  if (pid == 0) {
    /* the supervisor */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != node)
      _exit(125);
    if (al_cgroup_join_self(g->join, g->n_join) < 0)
      _exit(125);
    sock = pair[0];
    if (al_gvisor_user_trees_attach(g) < 0) {
      reply(AL_MSG_SETUP_ERROR, 0, errno, NULL, "isolation gvisor: cannot attach the workspace, output or binds");
      _exit(125);
    }
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int i = 0; i < 3 && null >= 0; i++)
      dup2(null, i);
    int keep[] = {sock, g->dirfd, g->plan.lease.lock_fd, g->second.lock_fd, g->lock_fd};
    close_all_but(keep, 5);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_SETMASK, &chld, NULL); /* read through a signalfd */
    int io[2];
    if (pipe2(io, O_CLOEXEC) < 0)
      _exit(125);
    char pidfile[PATH_MAX + 16];
    snprintf(pidfile, sizeof(pidfile), "%s/init.pid", g->dir);
    char *rargv[24];
    int argc = al_gvisor_runsc_argv(g, rargv, "run");
    rargv[argc++] = "--bundle";
    rargv[argc++] = g->dir;
    rargv[argc++] = "--pid-file";
    rargv[argc++] = pidfile;
    rargv[argc++] = g->id;
    rargv[argc] = NULL;
    int init_fds[3] = {io[0], io[1], io[1]};
    pid_t init = spawn_runsc(g, rargv, init_fds);
    close(io[1]);
    if (init < 0) {
      reply(AL_MSG_SETUP_ERROR, 0, errno, NULL, "isolation gvisor: cannot start runsc");
      _exit(125);
    }
    /* ready once runsc has written the init's pid */
    struct stat st;
    int64_t deadline = al_monotonic_ms() + 20000;
    while (stat(pidfile, &st) < 0 || st.st_size == 0) {
      int status;
      if (waitpid(init, &status, WNOHANG) == init || al_monotonic_ms() > deadline) {
        char text[200] = "isolation gvisor: runsc did not start the sandbox";
        char buf[4096];
        ssize_t n = read(io[0], buf, sizeof(buf) - 1);
        if (n > 0) {
          buf[n] = '\0';
          char *msg = strstr(buf, "running container: ");
          char *nl = msg ? strchr(msg, '\n') : NULL;
          if (nl)
            *nl = '\0';
          if (msg)
            snprintf(text, sizeof(text), "isolation gvisor: %.170s", msg);
        }
        kill(init, SIGKILL);
        reply(AL_MSG_SETUP_ERROR, 0, 0, NULL, text);
        _exit(125);
      }
      struct timespec ts = {0, 2 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
    fcntl(io[0], F_SETFL, O_NONBLOCK);
    int view = binding_view(g);
    al_status_msg ready = {.kind = AL_MSG_READY};
    if (view < 0 ? send(sock, &ready, sizeof(ready), MSG_NOSIGNAL) < 0
                 : al_send_fds(sock, &ready, sizeof(ready), &view, 1) < 0)
      _exit(0);
    if (view >= 0)
      close(view);
    supervise(g, io[0], init);
  }
  /* the node: the box's process is the supervisor; the plan, cgroups and
   * bundle directory pass to the launch, which ends them (launch.c) */
  close(pair[0]);
  l->sock = pair[1];
  l->pid = pid;
  l->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  l->released = true;
  l->plan = g->plan;
  g->have_plan = false;
  l->cg = g->cg;
  memset(&g->cg, 0, sizeof(g->cg));
  g->cg.v2_dir_fd = -1;
  for (int c = 0; c < AL_CTRL_COUNT; c++)
    g->cg.join_fd[c] = -1;
  l->backend_dir = g->dir;
  g->dir = NULL;
  l->egress = g->egress; /* --network proxy: the launch stops it with the sandbox */
  al_egress_init(&g->egress);
  al_id_lease_release(&g->second); /* the supervisor holds its own copy */
  al_gvisor_release(g);
  free(g);
  char *kernel = NULL;
  if (asprintf(&kernel, "gVisor (runsc, platform ptrace) above host %s", al_host_kernel()) >= 0)
    b->info.kernel = kernel;
  al_trace_step("launcher", "gvisor box started");
  return 0;

fail:
  if (pair[0] >= 0)
    close(pair[0]);
  if (pair[1] >= 0)
    close(pair[1]);
  al_gvisor_release(g);
  free(g);
  airlock_result_clear(&b->info);
  return -1;
}
