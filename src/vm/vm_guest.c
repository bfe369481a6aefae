/* SPDX-License-Identifier: Apache-2.0 */
/* vm_guest.c - airlock-vm-init: pid 1 of an --isolation vm guest.
 *
 * Built static (it is the only program in the initramfs besides the kernel
 * modules it loads).  It mounts the guest's own proc, sys, dev and scratch
 * tmpfs, loads the virtio and 9p modules listed in /modules/order, mounts
 * the host's /usr read-only over 9p (tag "usr": the programs a command
 * needs; nothing else of the host's filesystem is shared), the workspace
 * (tag "ws", read-write or read-only as the kernel command line says) and
 * the output directory (tag "out"), then serves the framed protocol of
 * vm_proto.h on the virtio-serial port named airlock.ctl: one command at a
 * time, its stdin, stdout and stderr carried as data frames, its exit
 * status and usage as the node agent's al_status_msg.  When the host closes
 * the port, or asks, the guest powers off.
 *
 * Commands run as the guest's root: the boundary is the VM (a second
 * kernel), and the shares are enforced on the host side by QEMU (the /usr
 * export is readonly=on there, whatever the guest does). */
#define _GNU_SOURCE
#include "agent_proto.h"
#include "plan.h"
#include "vm_net.h"
#include "vm_proto.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int port = -1;
static uint8_t inbuf[sizeof(al_vm_frame_hdr) + AL_VM_MAX_PAYLOAD];
static size_t inlen;

static char *base_env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
                           "LANG=C.UTF-8", "USER=root", "LOGNAME=root", "HOSTNAME=airlock", NULL};

static void say(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "airlock-vm-init: ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

__attribute__((noreturn)) static void power_off(void) {
  sync();
  reboot(RB_POWER_OFF);
  _exit(0);
}

static void send_frame(uint16_t kind, uint64_t exec_id, const void *payload, uint32_t len) {
  al_vm_frame_hdr h;
  al_vm_frame_header(&h, kind, exec_id, len);
  struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)payload, len}};
  int n = 2;
  struct iovec *v = iov;
  while (n > 0) {
    ssize_t w = writev(port, v, n);
    if (w < 0 && (errno == EINTR || errno == EAGAIN)) {
      struct pollfd p = {port, POLLOUT, 0};
      poll(&p, 1, 1000);
      continue;
    }
    if (w < 0)
      power_off(); /* the host is gone */
    while (n > 0 && (size_t)w >= v->iov_len) {
      w -= (ssize_t)v->iov_len;
      v++;
      n--;
    }
    if (n > 0) {
      v->iov_base = (char *)v->iov_base + w;
      v->iov_len -= (size_t)w;
    }
  }
}

static void send_status(int kind, uint64_t exec_id, int value, const struct rusage *ru, const char *text) {
  al_status_msg m;
  al_status_fill(&m, kind, exec_id, value, ru, text);
  send_frame(AL_VM_STATUS, exec_id, &m, sizeof(m));
}

/* ---- set-up ---- */

static void must_mount(const char *src, const char *dst, const char *type, unsigned long flags, const char *data) {
  mkdir(dst, 0755);
  if (mount(src, dst, type, flags, data) < 0)
    say("cannot mount %s on %s: %s", type, dst, strerror(errno));
}

static void load_modules(void) {
  FILE *f = fopen("/modules/order", "re");
  if (!f)
    return;
  char line[256];
  while (fgets(line, sizeof(line), f)) {
    line[strcspn(line, "\n")] = '\0';
    if (!line[0])
      continue;
    char path[300];
    snprintf(path, sizeof(path), "/modules/%s", line);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST))
      say("cannot load module %s: %s", line, strerror(errno));
    if (fd >= 0)
      close(fd);
  }
  fclose(f);
}

/* the value of airlock.KEY= on the kernel command line, "" when absent */
static void cmdline_value(const char *key, char *out, size_t len) {
  out[0] = '\0';
  char buf[4096];
  int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
  if (fd >= 0)
    close(fd);
  if (n <= 0)
    return;
  buf[n] = '\0';
  size_t klen = strlen(key);
  for (char *tok = strtok(buf, " \n"); tok; tok = strtok(NULL, " \n"))
    if (strncmp(tok, key, klen) == 0 && tok[klen] == '=')
      snprintf(out, len, "%s", tok + klen + 1);
}

static void loopback_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
  if (s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
    ifr.ifr_flags |= IFF_UP;
    ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  if (s >= 0)
    close(s);
}

/* the virtio-serial port called name, once its node exists */
static int open_port(const char *want) {
  for (int tries = 0; tries < 1000; tries++) {
    DIR *d = opendir("/sys/class/virtio-ports");
    struct dirent *e;
    while (d && (e = readdir(d))) {
      if (e->d_name[0] == '.')
        continue;
      char path[300], name[64] = "";
      snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", e->d_name);
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      ssize_t n = fd >= 0 ? read(fd, name, sizeof(name) - 1) : -1;
      if (fd >= 0)
        close(fd);
      name[n > 0 ? n : 0] = '\0';
      name[strcspn(name, "\n")] = '\0';
      if (strcmp(name, want) != 0)
        continue;
      snprintf(path, sizeof(path), "/dev/%s", e->d_name);
      int p = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
      if (p >= 0) {
        closedir(d);
        return p;
      }
    }
    if (d)
      closedir(d);
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return -1;
}

static void setup(void) {
  must_mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  must_mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  must_mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
  must_mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "ptmxmode=0666,mode=0620");
  must_mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
  must_mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
  must_mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
  load_modules();
  must_mount("usr", "/usr", "9p", MS_RDONLY | MS_NOSUID | MS_NODEV,
             "trans=virtio,version=9p2000.L,msize=262144,cache=loose");
  char ws[8], out[8];
  cmdline_value("airlock.ws", ws, sizeof(ws));
  cmdline_value("airlock.out", out, sizeof(out));
  if (strcmp(ws, "rw") == 0 || strcmp(ws, "ro") == 0)
    must_mount("ws", "/workspace", "9p", MS_NOSUID | MS_NODEV | (strcmp(ws, "ro") == 0 ? MS_RDONLY : 0),
               "trans=virtio,version=9p2000.L,msize=262144,cache=mmap");
  if (strcmp(out, "rw") == 0)
    must_mount("out", "/output", "9p", MS_NOSUID | MS_NODEV, "trans=virtio,version=9p2000.L,msize=262144,cache=mmap");
  if (sethostname("airlock", 7) < 0)
    say("cannot set the hostname: %s", strerror(errno));
  loopback_up();
}

static void write_text(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
    say("cannot write %s: %s", path, strerror(errno));
  if (fd >= 0)
    close(fd);
}

/* --network proxy (airlock.net=proxy): the proxy where a namespaced
 * sandbox has it, 127.0.0.1:3128 and :53, served by a child that carries
 * each connection and query over the airlock.net port (vm_net.h) */
static void start_net(void) {
  char mode[16];
  cmdline_value("airlock.net", mode, sizeof(mode));
  if (strcmp(mode, "proxy") != 0)
    return;
  write_text("/etc/resolv.conf", "nameserver 127.0.0.1\n");
  write_text("/etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files dns\n");
  int net = open_port(AL_VM_NET_PORT_NAME);
  struct sockaddr_in http = {.sin_family = AF_INET, .sin_port = htons(3128), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  struct sockaddr_in dns = {.sin_family = AF_INET, .sin_port = htons(53), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int one = 1;
  int hl = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int ds = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (net < 0 || hl < 0 || ds < 0 || setsockopt(hl, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
      bind(hl, (struct sockaddr *)&http, sizeof(http)) < 0 || listen(hl, 128) < 0 ||
      bind(ds, (struct sockaddr *)&dns, sizeof(dns)) < 0) {
    /* the host waits for READY: say why there is no network, and power off
     * rather than run a command that was promised the proxy */
    say("cannot set up the proxy's sockets: %s", strerror(errno));
    power_off();
  }
  pid_t pid = fork();
  if (pid == 0) {
    al_vm_net_serve_guest(net, hl, ds);
    say("the network relay ended");
    _exit(1);
  }
  if (pid < 0) {
    say("cannot start the network relay: %s", strerror(errno));
    power_off();
  }
  close(net);
  close(hl);
  close(ds);
}

/* ---- the running command ---- */

typedef struct {
  bool busy, exited;
  uint64_t id;
  pid_t pid;
  int in, out, err; /* our ends of its stdio pipes, -1 once closed */
  int status, forced;
  struct rusage ru;
  uint8_t *inq; /* stdin bytes not yet written */
  size_t inq_len, inq_cap;
  bool in_eof;
  struct timespec exited_at;
} command;

static command cmd = {.in = -1, .out = -1, .err = -1};

static char **merge_env(char **extra) {
  size_t ne = 0;
  while (extra[ne])
    ne++;
  return al_env_merge(base_env, extra, ne);
}

static void fail_exec(uint64_t id, int e, const char *text, int code) {
  send_status(AL_MSG_EXEC_ERROR, id, e, NULL, text);
  send_status(AL_MSG_EXEC_EXIT, id, W_EXITCODE(code, 0), NULL, NULL);
}

static void start(uint64_t id, const uint8_t *payload, uint32_t len) {
  char **argv, **extra, *cwd;
  if (cmd.busy) {
    fail_exec(id, EBUSY, "a command is already running in this VM", AIRLOCK_EXIT_SETUP);
    return;
  }
  if (al_vm_exec_parse(payload, len, &argv, &extra, &cwd) < 0) {
    fail_exec(id, EINVAL, "malformed exec request", AIRLOCK_EXIT_SETUP);
    return;
  }
  char **env = merge_env(extra);
  int pin[2], pout[2], perr[2], pexec[2];
  if (!env || pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0 ||
      pipe2(pexec, O_CLOEXEC) < 0) {
    fail_exec(id, errno, "cannot set up the command's stdio", AIRLOCK_EXIT_SETUP);
    free(env);
    free(argv);
    return;
  }
  const char *dir = cwd[0] ? cwd : (access("/workspace", F_OK) == 0 ? "/workspace" : "/");
  pid_t pid = fork();
  if (pid == 0) {
    setsid();
    dup2(pin[0], 0);
    dup2(pout[1], 1);
    dup2(perr[1], 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int e = 0;
    if (chdir(dir) < 0)
      e = errno;
    if (e == 0) {
      environ = env; /* execvp searches the command's own PATH */
      execvp(argv[0], argv);
      e = errno;
    }
    (void)!write(pexec[1], &e, sizeof(e));
    _exit(e == ENOENT ? AIRLOCK_EXIT_NOT_FOUND : AIRLOCK_EXIT_NOT_EXECUTABLE);
  }
  int e = pid < 0 ? errno : 0;
  close(pin[0]);
  close(pout[1]);
  close(perr[1]);
  close(pexec[1]);
  if (pid > 0 && read(pexec[0], &e, sizeof(e)) != sizeof(e))
    e = 0; /* EOF: exec succeeded */
  close(pexec[0]);
  cmd = (command){.busy = true, .id = id, .pid = pid, .in = pin[1], .out = pout[0], .err = perr[0]};
  fcntl(cmd.in, F_SETFL, O_NONBLOCK);
  if (e != 0) {
    char text[200];
    snprintf(text, sizeof(text), "cannot execute '%s'%s%s: %s", argv[0], cwd[0] ? " in " : "", cwd, strerror(e));
    send_status(AL_MSG_EXEC_ERROR, id, e, NULL, text);
    if (pid < 0) {
      cmd.exited = true;
      cmd.status = W_EXITCODE(AIRLOCK_EXIT_SETUP, 0);
    }
  } else {
    send_status(AL_MSG_EXEC_STARTED, id, pid, NULL, NULL);
  }
  free(env);
  free(argv);
}

static void close_fd(int *fd) {
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

static void stdin_flush(void) {
  while (cmd.in >= 0 && cmd.inq_len > 0) {
    ssize_t w = write(cmd.in, cmd.inq, cmd.inq_len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && errno == EAGAIN)
      return;
    if (w < 0) { /* the command closed its stdin: drop the rest */
      cmd.inq_len = 0;
      close_fd(&cmd.in);
      break;
    }
    memmove(cmd.inq, cmd.inq + w, cmd.inq_len - (size_t)w);
    cmd.inq_len -= (size_t)w;
  }
  if (cmd.in_eof && cmd.inq_len == 0)
    close_fd(&cmd.in);
}

/* AL_VM_PUT_FILE: a piece of one of the few files the host may give,
 * before the first command */
static bool commands_started;
static void put_file(uint64_t id, const uint8_t *data, uint32_t len) {
  static const char *const paths[] = {NULL, "/etc/ssl/certs/ca-certificates.crt", "/run/airlock/ca-certificates.crt",
                                      "/run/airlock/egress-ca.crt"};
  if (commands_started || id == 0 || id >= sizeof(paths) / sizeof(paths[0]))
    return;
  const char *path = paths[id];
  char dir[64];
  snprintf(dir, sizeof(dir), "%s", path);
  for (char *p = strchr(dir + 1, '/'); p; p = strchr(p + 1, '/')) {
    *p = '\0';
    mkdir(dir, 0755);
    *p = '/';
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, data, len) != (ssize_t)len)
    say("cannot write %s: %s", path, strerror(errno));
  if (fd >= 0)
    close(fd);
}

static void handle(const al_vm_frame *f) {
  switch (f->kind) {
  case AL_VM_EXEC:
    commands_started = true;
    start(f->exec_id, f->payload, f->len);
    break;
  case AL_VM_PUT_FILE: put_file(f->exec_id, f->payload, f->len); break;
  case AL_VM_STDIN:
    if (!cmd.busy || f->exec_id != cmd.id || cmd.in < 0 || cmd.in_eof)
      break;
    if (cmd.inq_len + f->len > cmd.inq_cap) {
      size_t cap = (cmd.inq_len + f->len) * 2;
      uint8_t *q = realloc(cmd.inq, cap);
      if (!q)
        break;
      cmd.inq = q;
      cmd.inq_cap = cap;
    }
    memcpy(cmd.inq + cmd.inq_len, f->payload, f->len);
    cmd.inq_len += f->len;
    stdin_flush();
    break;
  case AL_VM_STDIN_EOF:
    if (cmd.busy && f->exec_id == cmd.id) {
      cmd.in_eof = true;
      stdin_flush();
    }
    break;
  case AL_VM_SIGNAL: {
    al_agent_req req;
    memcpy(&req, f->payload, sizeof(req));
    if (cmd.busy && f->exec_id == cmd.id && cmd.pid > 0 && !cmd.exited && req.signo > 0 && req.signo < NSIG)
      kill(-cmd.pid, req.signo);
    break;
  }
  case AL_VM_SHUTDOWN: power_off();
  default: break; /* guest->host kinds: ignored */
  }
}

static void read_port(void) {
  ssize_t n = read(port, inbuf + inlen, sizeof(inbuf) - inlen);
  if (n == 0)
    power_off(); /* the host closed the channel */
  if (n < 0)
    return;
  inlen += (size_t)n;
  size_t off = 0;
  for (;;) {
    al_vm_frame f;
    long used = al_vm_frame_next(inbuf + off, inlen - off, &f);
    if (used < 0) {
      say("malformed frame from the host: powering off");
      power_off();
    }
    if (used == 0)
      break;
    handle(&f);
    off += (size_t)used;
  }
  memmove(inbuf, inbuf + off, inlen - off);
  inlen -= off;
}

static void pump(int *fd, uint16_t kind) {
  static uint8_t buf[AL_VM_DATA_CHUNK];
  ssize_t n = read(*fd, buf, sizeof(buf));
  if (n > 0)
    send_frame(kind, cmd.id, buf, (uint32_t)n);
  else if (n == 0 || errno != EINTR)
    close_fd(fd);
}

static void reap(void) {
  int st;
  struct rusage ru;
  pid_t pid;
  while ((pid = wait4(-1, &st, WNOHANG, &ru)) > 0) {
    if (cmd.busy && !cmd.exited && pid == cmd.pid) {
      cmd.exited = true;
      cmd.status = st;
      cmd.ru = ru;
      clock_gettime(CLOCK_MONOTONIC, &cmd.exited_at);
      /* what it left running in the background stays, as in a namespaced
       * node sandbox (the VM ends with the sandbox) */
    }
  }
}

static long ms_since(const struct timespec *t) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

static void finish_if_done(void) {
  if (!cmd.busy || !cmd.exited)
    return;
  /* its output first; a background process that holds the pipes open
   * gets 200 ms, then loses them */
  if ((cmd.out >= 0 || cmd.err >= 0) && ms_since(&cmd.exited_at) < 200)
    return;
  close_fd(&cmd.out);
  close_fd(&cmd.err);
  close_fd(&cmd.in);
  /* what it wrote through a shared mapping reaches the host before the
   * host hears of the exit: the host may kill the VM right after */
  sync();
  send_status(AL_MSG_EXEC_EXIT, cmd.id, cmd.status, &cmd.ru, NULL);
  free(cmd.inq);
  cmd = (command){.in = -1, .out = -1, .err = -1};
}

int main(void) {
  if (getpid() != 1) {
    fprintf(stderr, "airlock-vm-init: the init of an airlock microVM guest, not a program to run\n");
    return 2;
  }
  setup();
  start_net();
  port = open_port("airlock.ctl");
  if (port < 0) {
    say("no virtio-serial port named airlock.ctl");
    power_off();
  }
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigaddset(&chld, SIGPIPE);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  sigdelset(&chld, SIGPIPE);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  struct utsname u;
  uname(&u);
  send_frame(AL_VM_READY, 0, u.release, (uint32_t)strnlen(u.release, sizeof(u.release)));
  for (;;) {
    struct pollfd p[5] = {{port, POLLIN, 0}, {sfd, POLLIN, 0}, {cmd.out, POLLIN, 0}, {cmd.err, POLLIN, 0},
                          {cmd.inq_len > 0 ? cmd.in : -1, POLLOUT, 0}};
    int timeout = cmd.busy && cmd.exited ? 20 : -1;
    if (poll(p, 5, timeout) < 0 && errno != EINTR)
      power_off();
    if (p[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof(si)) > 0)
        ;
      reap();
    }
    if (p[2].revents)
      pump(&cmd.out, AL_VM_STDOUT);
    if (p[3].revents)
      pump(&cmd.err, AL_VM_STDERR);
    if (p[4].revents)
      stdin_flush();
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
      read_port();
    finish_if_done();
  }
}
