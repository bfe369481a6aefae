/* SPDX-License-Identifier: Apache-2.0 */
/* sandbox_init.c - the first process of a sandbox (pid 1 of its pid
 * namespace).  It builds the root, locks itself down, then spawns the
 * command (or, for the node, serves exec requests: agent.c) and stays behind as a minimal init: it forwards signals, reaps
 * orphans, and reports the command's status.  When it exits the kernel kills
 * everything left in the namespace, which is what makes "nothing outlives
 * the sandbox" hold against daemons, double forks and setsid.  The same
 * lockdown (seccomp, Landlock, no capabilities) applies to init itself, so
 * the command gains nothing by attacking it.  In proxy mode init also makes
 * the egress proxy's listening sockets in the sandbox's network namespace
 * and sends them out to the launcher before it locks down.  A terminal of
 * the caller's is never kept: init drops it first thing, and a command that
 * is to have a terminal gets a pty of the sandbox's own devpts, whose master
 * goes to the launcher (stdio_relay.c). */
#define _GNU_SOURCE
#include "caps.h"
#include "cgroup.h"
#include "fdpass.h"
#include "landlock.h"
#include "network.h"
#include "plan.h"
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/securebits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <spawn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int status_fd = -1;
static volatile pid_t command_pid = -1;

static void send_msg(al_msg_kind kind, int value, const char *text) {
  al_status_msg m = {.kind = kind, .value = value};
  if (text)
    snprintf(m.text, sizeof(m.text), "%s", text);
  ssize_t w;
  do
    w = write(status_fd, &m, sizeof(m));
  while (w < 0 && errno == EINTR);
}

__attribute__((noreturn)) static void setup_failed(const char *what, int errnum) {
  char buf[240];
  if (errnum)
    snprintf(buf, sizeof(buf), "%s: %s", what, strerror(errnum));
  else
    snprintf(buf, sizeof(buf), "%s", what);
  send_msg(AL_MSG_SETUP_ERROR, errnum, buf);
  _exit(AIRLOCK_EXIT_SETUP);
}

static void forward_signal(int sig) {
  if (command_pid > 0)
    kill(command_pid, sig);
}

static int loopback_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return -1;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
  int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
  if (rc == 0) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    rc = ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  close(s);
  return rc;
}

/* Proxy mode: the proxy's listening sockets are made here, in the
 * sandbox's network namespace, while init may still bind port 53; they go to
 * the launcher (which passes them to the proxy outside) and init keeps no
 * copy, so nothing in the sandbox holds them.  Connecting to them is the only
 * way out: there is no other interface and no route. */
static int bound_socket(int type, int port) {
  int s = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (s < 0)
    return -1;
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || (type == SOCK_STREAM && listen(s, 128) < 0)) {
    int e = errno;
    close(s);
    errno = e;
    return -1;
  }
  return s;
}

static void hand_over_egress_sockets(void) {
  int fds[2];
  if ((fds[0] = bound_socket(SOCK_STREAM, AL_EGRESS_HTTP_PORT)) < 0)
    setup_failed("egress proxy listener " AL_EGRESS_HTTP_ADDR, errno);
  if ((fds[1] = bound_socket(SOCK_DGRAM, AL_EGRESS_DNS_PORT)) < 0)
    setup_failed("egress DNS socket " AL_EGRESS_DNS_ADDR " (udp)", errno);
  al_status_msg m = {.kind = AL_MSG_EGRESS_FDS};
  ssize_t n = al_send_fds(status_fd, &m, sizeof(m), fds, 2);
  int e = errno;
  close(fds[0]);
  close(fds[1]);
  if (n != (ssize_t)sizeof(m))
    setup_failed("handing the egress sockets to the launcher", e);
}

/* Receive the cgroup files from the launcher (it makes the cgroups while we
 * build the root), join them, then hide the host's cgroup tree. */
static void join_cgroups(al_plan *p) {
  int fds[AL_CTRL_COUNT];
  al_cgroup_msg m = {0};
  size_t n = 0;
  ssize_t r = al_recv_fds(p->sync_fd, &m, sizeof(m), fds, AL_CTRL_COUNT, &n, 0, NULL);
  if (r != (ssize_t)sizeof(m) || m.tag != 'c' || m.n_fallbacks > AL_MAX_FALLBACKS) {
    for (size_t i = 0; i < n; i++)
      close(fds[i]);
    _exit(AIRLOCK_EXIT_SETUP); /* the launcher gave up on us */
  }
  for (int i = 0; i < m.n_fallbacks && p->n_rlimits < AL_MAX_RLIMITS; i++)
    p->rlimits[p->n_rlimits++] = m.fallbacks[i];
  int rc = al_cgroup_join_self(fds, (int)n);
  for (size_t i = 0; i < n; i++)
    close(fds[i]);
  if (rc < 0)
    setup_failed("joining the sandbox cgroup", -rc);
  if (!p->in_cgroup_ns && unshare(CLONE_NEWCGROUP) < 0)
    setup_failed("cgroup namespace", errno);
}

/* Become the sandbox user, keeping capabilities until the root is built. */
static void set_ids(const al_plan *p) {
  if (prctl(PR_SET_SECUREBITS, SECBIT_NO_SETUID_FIXUP, 0, 0, 0) < 0)
    setup_failed("securebits", errno);
  if (p->drop_groups && setgroups(0, NULL) < 0)
    setup_failed("setgroups", errno);
  if (setresgid(p->inside_gid, p->inside_gid, p->inside_gid) < 0)
    setup_failed("setresgid", errno);
  if (setresuid(p->inside_uid, p->inside_uid, p->inside_uid) < 0)
    setup_failed("setresuid", errno);
}

/* Whether memfd_create without MFD_NOEXEC_SEAL makes a sealed, non-executable
 * memfd in this pid namespace: vm.memfd_noexec (Linux 6.3+, per pid
 * namespace, never below the parent's) is 1 or 2.  A root launcher has set
 * it to 2 already (launch.c); init tries too, but procfs lets only the
 * host's root uid write sysctls, whatever capabilities are held in a user
 * namespace, so rootless the value stays the host's.  The sysctl acts on
 * the writer's pid namespace whichever procfs is used, so the host's /proc,
 * still mounted here, will do.  When this returns false, init installs the
 * seccomp variant that refuses unsealed memfds instead (seccomp_filter.c). */
static bool memfd_noexec_set(void) {
  int fd = open("/proc/sys/vm/memfd_noexec", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false; /* an older kernel: every memfd is executable */
  char c = '0';
  ssize_t n = read(fd, &c, 1);
  close(fd);
  return n == 1 && (c == '1' || c == '2');
}

static bool memfds_sealed_by_kernel(void) {
  if (memfd_noexec_set())
    return true;
  int fd = open("/proc/sys/vm/memfd_noexec", O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  ssize_t w = write(fd, "2", 1);
  close(fd);
  return w == 1 && memfd_noexec_set();
}

/* First thing in init: a descriptor of the caller's terminal is replaced
 * (stdio_relay.c decided which, and by what) before the sandbox exists, so
 * nothing in it ever holds one, init included. */
static void place_stdio(const al_plan *p) {
  int null = -1;
  for (int i = 0; i < 3; i++) {
    int fd = p->stdio.kind[i] == AL_STDIO_PIPE ? p->stdio.pipe_fd[i] : -1;
    if (p->stdio.kind[i] == AL_STDIO_NULL || p->stdio.kind[i] == AL_STDIO_PTY) {
      if (null < 0 && (null = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
        setup_failed("stdio: /dev/null", errno);
      fd = null;
    }
    if (fd >= 0 && dup2(fd, i) < 0)
      setup_failed("stdio", errno);
  }
  if (null > 2)
    close(null);
}

/* The command's own terminal: a new pty in the sandbox's devpts with the
 * caller's modes and window size; the master goes to the launcher, which
 * relays it to the caller's terminal, and init keeps no copy. */
static void open_command_pty(const al_plan *p, char *tty, size_t len) {
  int master = -1;
  const al_stdio *s = &p->stdio;
  int e = al_pty_open(&master, tty, len, s->set_termios ? &s->termios : NULL, &s->winsize);
  if (e != 0)
    setup_failed("the command's terminal: /dev/pts/ptmx", e);
  al_status_msg m = {.kind = AL_MSG_PTY, .value = atoi(tty + strlen("/dev/pts/"))};
  ssize_t n = al_send_fds(status_fd, &m, sizeof(m), &master, 1);
  e = errno;
  close(master);
  if (n != (ssize_t)sizeof(m))
    setup_failed("handing the terminal to the launcher", e);
}

/* Start the command (spawn.c).  Init itself has no controlling terminal, so
 * the command has none either, unless it is to have a pty: then it is a
 * session of its own whose controlling terminal is the pty's slave. */
static pid_t spawn_command(const al_plan *p) {
  pid_t pid = -1;
  char tty[32] = "";
  al_spawn_opts o = {.as_limit = p->command_as_limit};
  if (p->stdio.pty) {
    open_command_pty(p, tty, sizeof(tty));
    o.tty = tty;
    for (int i = 0; i < 3; i++)
      if (p->stdio.kind[i] == AL_STDIO_PTY)
        o.tty_fds |= 1u << i;
  }
  int e = al_spawn(&pid, &o, p->argv, p->envp);
  if (e == 0)
    return pid;
  char buf[240];
  snprintf(buf, sizeof(buf), "cannot execute '%s': %s", p->argv[0], strerror(e));
  send_msg(AL_MSG_EXEC_ERROR, e, buf);
  int code = e == ENOENT ? AIRLOCK_EXIT_NOT_FOUND : AIRLOCK_EXIT_NOT_EXECUTABLE;
  send_msg(AL_MSG_EXIT, W_EXITCODE(code, 0), NULL);
  _exit(code);
}

/* The child is a copy of the launcher: its argv and environment strings are
 * the caller's and would show in /proc/1/cmdline and /proc/1/environ.  Wipe
 * them (the kernel reads those files straight from this memory). */
static void scrub_inherited_strings(void) {
  int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  char buf[2048];
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0)
    return;
  buf[n] = '\0';
  /* fields after the parenthesised command name; field[k-1] holds field k
   * of proc(5): arg_start is 48, env_end is 51 */
  char *p = strrchr(buf, ')');
  if (!p)
    return;
  unsigned long field[52] = {0};
  int idx = 3;
  for (char *tok = strtok(p + 2, " "); tok && idx < 52; tok = strtok(NULL, " "), idx++)
    field[idx - 1] = strtoul(tok, NULL, 10);
  unsigned long arg_start = field[47], arg_end = field[48], env_start = field[49], env_end = field[50];
  if (arg_start && arg_end > arg_start) {
    memset((void *)arg_start, 0, arg_end - arg_start);
    const char name[] = "airlock-init";
    if (arg_end - arg_start > sizeof(name))
      memcpy((void *)arg_start, name, sizeof(name));
  }
  if (env_start && env_end > env_start)
    memset((void *)env_start, 0, env_end - env_start);
}

void al_sandbox_main(al_plan *p) {
  status_fd = p->status_fd;
  place_stdio(p);
  scrub_inherited_strings();
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);

  /* wait until the launcher has written our id maps and cgroups */
  char go;
  ssize_t r;
  do
    r = read(p->sync_fd, &go, 1);
  while (r < 0 && errno == EINTR);
  if (r != 1)
    _exit(AIRLOCK_EXIT_SETUP); /* launcher is gone */

  al_trace_step("init", "released");
  set_ids(p);
  /* the parent-death signal is reset by setresuid, so arm it only now and
   * then check that the launcher did not die in between */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
    setup_failed("parent death signal", errno);
  /* nobody inside may read init's memory (a copy of the launcher's) */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    setup_failed("dumpable", errno);
  struct pollfd pfd = {.fd = p->sync_fd, .events = POLLIN};
  if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLHUP | POLLERR)))
    _exit(AIRLOCK_EXIT_SETUP);

  char errbuf[200];
  errbuf[0] = '\0';
  unsigned masked = 0;
  int upper_root = -1;
  uint32_t degraded = 0;
  int built = al_rootfs_build(p, &masked, &upper_root, &degraded, errbuf, sizeof(errbuf));
  al_plan_wipe_secrets(p); /* written to /run/secrets (or not at all): init's copy goes */
  if (built < 0)
    setup_failed(errbuf, 0);
  al_trace_step("init", "root built");
  if (masked)
    send_msg(AL_MSG_SOCKETS_MASKED, (int)masked, NULL);
  if (upper_root >= 0) { /* the launcher writes them back or saves them when the sandbox is gone */
    al_status_msg m = {.kind = AL_MSG_WORKSPACE, .value = (int32_t)degraded};
    ssize_t n = al_send_fds(status_fd, &m, sizeof(m), &upper_root, 1);
    int e = errno;
    close(upper_root);
    if (n != (ssize_t)sizeof(m))
      setup_failed("handing the overlays' upper layers to the launcher", e);
  }
  join_cgroups(p);
  al_trace_step("init", "cgroups joined");
  /* a root launcher has set it by the time the cgroups arrive (launch.c) */
  if (!memfds_sealed_by_kernel())
    al_seccomp_builtin_memfd_seal_required(&p->seccomp);
  if (sethostname(p->hostname, strlen(p->hostname)) < 0)
    setup_failed("sethostname", errno);
  if (loopback_up() < 0)
    setup_failed("bring up loopback", errno);
  if (p->egress)
    hand_over_egress_sockets();
  if (chdir(p->cwd) < 0) {
    char buf[200];
    snprintf(buf, sizeof(buf), "working directory %s", p->cwd);
    setup_failed(buf, errno);
  }

  /* a new session: no controlling terminal to inject keystrokes into */
  if (setsid() < 0)
    setup_failed("setsid", errno);
  for (int i = 0; i < p->n_rlimits; i++) {
    if (p->rlimits[i].resource == RLIMIT_AS) { /* for the commands only: spawn.c */
      p->command_as_limit = p->rlimits[i].value;
      continue;
    }
    struct rlimit rl = {p->rlimits[i].value, p->rlimits[i].value};
    if (setrlimit(p->rlimits[i].resource, &rl) < 0)
      setup_failed("setrlimit", errno);
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    setup_failed("no_new_privs", errno);
  if (p->landlock_abi > 0) {
    int rc = al_landlock_restrict(p->writable, p->landlock_abi);
    if (rc < 0)
      setup_failed("landlock", -rc);
  }
  int rc = al_drop_privileges();
  if (rc < 0)
    setup_failed("dropping capabilities", -rc);
  if (al_seccomp_install(&p->seccomp) < 0)
    setup_failed("seccomp", errno);
  al_trace_step("init", "locked down");

  /* nothing inherited survives except stdio, our report socket and the lock
   * that keeps our host uid leased while we live (identity.c) */
  int keep = p->status_fd;
  if (p->lease.lock_fd >= 0 && p->lease.lock_fd != keep + 1) {
    if (dup3(p->lease.lock_fd, keep + 1, O_CLOEXEC) < 0)
      setup_failed("keeping the uid lease", errno);
  }
  if (keep > 3)
    syscall(SYS_close_range, 3, keep - 1, 0);
  syscall(SYS_close_range, keep + (p->lease.lock_fd >= 0 ? 2 : 1), ~0U, 0);
  fcntl(keep, F_SETFD, FD_CLOEXEC);

  if (p->agent)
    al_agent_main(p);

  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = forward_signal;
  sigemptyset(&sa.sa_mask);
  int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT};
  for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
    sigaction(forwarded[i], &sa, NULL);

  pid_t child = spawn_command(p);
  command_pid = child;
  al_trace_step("init", "command spawned");

  /* reap everything; report when the command itself ends */
  for (;;) {
    int st;
    pid_t w = waitpid(-1, &st, 0);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      send_msg(AL_MSG_EXIT, 0, NULL);
      _exit(0);
    }
    if (w == child) {
      al_trace_step("init", "command exited");
      send_msg(AL_MSG_EXIT, st, NULL);
      _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    }
  }
}
