/* SPDX-License-Identifier: Apache-2.0 */
/* gvisor_relay.c - airlock-gvisor-relay, the first process of a gVisor
 * sandbox in network mode proxy.
 *
 * Under namespaces the sandbox's init makes the egress proxy's listening
 * sockets in the sandbox's network namespace and hands them to the proxy,
 * which accepts on them from the host.  Sockets of gVisor's netstack are
 * not host sockets, so that cannot work here.  Instead this relay, started
 * by runsc as the sandbox's pid 1, listens where the proxy would
 * (127.0.0.1:3128 and 127.0.0.1:53 inside gVisor's loopback-only netstack)
 * and carries each TCP connection over a host unix stream socket, and each
 * DNS query over a unix seqpacket connection, to the proxy, which listens
 * on those sockets in a directory of the bundle (runsc --host-uds=open lets
 * the sandbox connect to them, and to nothing else: there is no NIC).  The
 * proxy then decides exactly as it does for a namespaced sandbox.
 *
 * The relay binds port 53 with the one capability runsc gives the first
 * process for that (CAP_NET_BIND_SERVICE), then drops every capability
 * from all sets before it starts the command as its child.  It forwards
 * signals to the command and exits with the command's status (128+N for a
 * signal), so the run's exit code is the command's.  The command runs as
 * the same user and can kill the relay: it then only loses its network.
 *
 * Usage: airlock-gvisor-relay SOCKDIR [CMD ARG...]; without CMD it serves
 * until SIGTERM (a persistent sandbox's idle first process).  A static
 * executable, libc only: it runs inside the sandbox's root, where the host's
 * libraries are, but needs none of them. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define HTTP_PORT 3128
#define DNS_PORT 53
#define MAX_PAIRS 256
#define BUF_SIZE 65536
#define DNS_PENDING 64

typedef struct {
  int fd;
  char buf[BUF_SIZE]; /* bytes read from the other side, not yet written here */
  size_t len;
  int eof;            /* the other side will send no more: shut down our write side once drained */
} side;

typedef struct {
  side a, b; /* a: the sandbox's client (TCP), b: the proxy (unix) */
} pair;

static pair *pairs[MAX_PAIRS];
static char sockdir[108];
static pid_t child = -1;

static void die(const char *what) {
  fprintf(stderr, "airlock-gvisor-relay: %s: %s\n", what, strerror(errno));
  exit(125);
}

static int loopback_socket(int type, int port) {
  int s = socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  int one = 1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
      bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || (type == SOCK_STREAM && listen(s, 128) < 0))
    return -1;
  return s;
}

static int proxy_socket(int type, const char *name) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  if ((size_t)snprintf(a.sun_path, sizeof(a.sun_path), "%s/%s", sockdir, name) >= sizeof(a.sun_path))
    return -1;
  int s = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  if (s < 0)
    return -1;
  if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
    close(s);
    return -1;
  }
  fcntl(s, F_SETFL, O_NONBLOCK);
  return s;
}

/* every capability out of every set, so the command inherits none.  runsc
 * gives the relay an empty bounding set (dropping from it would need
 * CAP_SETPCAP): checked, so that no exec can regain what is dropped here. */
static void drop_capabilities(void) {
  for (int c = 0; c <= 63; c++)
    if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) > 0 && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
      errno = EPERM;
      die("a capability is left in the bounding set");
    }
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct d[2];
  memset(d, 0, sizeof(d));
  if (syscall(SYS_capset, &h, d) < 0)
    die("dropping capabilities");
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    die("no_new_privs");
}

static void pair_free(int i) {
  close(pairs[i]->a.fd);
  close(pairs[i]->b.fd);
  free(pairs[i]);
  pairs[i] = NULL;
}

static void accept_client(int listener) {
  int c = accept4(listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (c < 0)
    return;
  int slot = -1;
  for (int i = 0; i < MAX_PAIRS && slot < 0; i++)
    if (!pairs[i])
      slot = i;
  int up = slot >= 0 ? proxy_socket(SOCK_STREAM, "http.sock") : -1;
  pair *p = up >= 0 ? calloc(1, sizeof(*p)) : NULL;
  if (!p) {
    if (up >= 0)
      close(up);
    close(c); /* the client sees a reset, as from a proxy at its limit */
    return;
  }
  p->a.fd = c;
  p->b.fd = up;
  pairs[slot] = p;
}

/* read from `from` into `to`'s buffer; write `to`'s buffer out */
static void pump(side *from, side *to, short rev_from) {
  if ((rev_from & (POLLIN | POLLHUP | POLLERR)) && !to->eof && to->len < sizeof(to->buf)) {
    ssize_t n = read(from->fd, to->buf + to->len, sizeof(to->buf) - to->len);
    if (n > 0)
      to->len += (size_t)n;
    else if (n == 0 || (errno != EAGAIN && errno != EINTR))
      to->eof = 1;
  }
  if (to->len > 0) {
    ssize_t n = send(to->fd, to->buf, to->len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      memmove(to->buf, to->buf + n, to->len - (size_t)n);
      to->len -= (size_t)n;
    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
      to->len = 0;
      to->eof = 2; /* broken */
    }
  }
  if (to->eof == 1 && to->len == 0) {
    shutdown(to->fd, SHUT_WR);
    to->eof = 3; /* shut */
  }
}

/* DNS: queries in arrival order on one seqpacket connection; the proxy
 * answers every query in order (one byte when it has no answer),
 * so the answer at the head belongs to the oldest client address */
typedef struct {
  int udp, conn;
  struct sockaddr_in from[DNS_PENDING];
  int head, count;
} dns_relay;

static void dns_query(dns_relay *d) {
  unsigned char q[1500];
  struct sockaddr_in from;
  socklen_t flen = sizeof(from);
  ssize_t n = recvfrom(d->udp, q, sizeof(q), MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
  if (n <= 0 || d->count == DNS_PENDING)
    return;
  if (d->conn < 0)
    d->conn = proxy_socket(SOCK_SEQPACKET, "dns.sock");
  if (d->conn < 0 || send(d->conn, q, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)
    return; /* the resolver retries */
  d->from[(d->head + d->count) % DNS_PENDING] = from;
  d->count++;
}

static void dns_answer(dns_relay *d) {
  unsigned char a[1500];
  ssize_t n = recv(d->conn, a, sizeof(a), MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0 || d->count == 0) { /* the proxy went away (0 is its end, never a message) */
    close(d->conn);
    d->conn = -1;
    d->count = 0;
    return;
  }
  struct sockaddr_in to = d->from[d->head];
  d->head = (d->head + 1) % DNS_PENDING;
  d->count--;
  if (n > 1) /* one byte: the proxy has no answer for that query */
    sendto(d->udp, a, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to));
}

static void start_command(char **argv, const sigset_t *old) {
  child = fork();
  if (child < 0)
    die("fork");
  if (child > 0)
    return;
  sigprocmask(SIG_SETMASK, old, NULL);
  execvp(argv[0], argv);
  int e = errno;
  fprintf(stderr, "airlock: cannot execute '%s': %s\n", argv[0], strerror(e));
  _exit(e == ENOENT ? 127 : 126);
}

/* pid 1 reaps every orphan; the command's end is the relay's */
static void reap(void) {
  int st;
  pid_t p;
  while ((p = waitpid(-1, &st, WNOHANG)) > 0)
    if (p == child)
      exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

int main(int argc, char **argv) {
  if (argc < 2 || strlen(argv[1]) + 16 > sizeof(sockdir)) {
    fprintf(stderr, "usage: airlock-gvisor-relay SOCKDIR [CMD ARG...]\n");
    return 125;
  }
  snprintf(sockdir, sizeof(sockdir), "%s", argv[1]);
  signal(SIGPIPE, SIG_IGN);
  int http = loopback_socket(SOCK_STREAM, HTTP_PORT);
  if (http < 0)
    die("listening on 127.0.0.1:3128");
  dns_relay d = {.udp = loopback_socket(SOCK_DGRAM, DNS_PORT), .conn = -1};
  if (d.udp < 0)
    die("binding 127.0.0.1:53 (udp)");
  drop_capabilities();

  sigset_t fwd, old;
  sigemptyset(&fwd);
  int sigs[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGWINCH, SIGCONT, SIGTSTP};
  for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
    sigaddset(&fwd, sigs[i]);
  sigprocmask(SIG_BLOCK, &fwd, &old);
  int sfd = signalfd(-1, &fwd, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0)
    die("signalfd");
  if (argc > 2)
    start_command(argv + 2, &old);

  for (;;) {
    struct pollfd pf[3 + 2 * MAX_PAIRS];
    int idx[MAX_PAIRS];
    nfds_t n = 0;
    pf[n++] = (struct pollfd){sfd, POLLIN, 0};
    pf[n++] = (struct pollfd){http, POLLIN, 0};
    pf[n++] = (struct pollfd){d.udp, POLLIN, 0};
    struct pollfd dns_pf = {d.conn, POLLIN, 0};
    int np = 0;
    for (int i = 0; i < MAX_PAIRS; i++) {
      pair *p = pairs[i];
      if (!p)
        continue;
      idx[np++] = i;
      /* read a side while the other side's buffer has room; write while ours holds bytes */
      pf[n++] = (struct pollfd){p->a.fd, (short)((!p->b.eof && p->b.len < BUF_SIZE ? POLLIN : 0) |
                                                 (p->a.len ? POLLOUT : 0)), 0};
      pf[n++] = (struct pollfd){p->b.fd, (short)((!p->a.eof && p->a.len < BUF_SIZE ? POLLIN : 0) |
                                                 (p->b.len ? POLLOUT : 0)), 0};
    }
    struct pollfd all[3 + 2 * MAX_PAIRS + 1];
    memcpy(all, pf, n * sizeof(pf[0]));
    all[n] = dns_pf;
    if (poll(all, n + (d.conn >= 0), -1) < 0 && errno != EINTR)
      die("poll");
    if (all[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGCHLD)
          reap();
        else if (child > 0)
          kill(child, (int)si.ssi_signo);
        else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
          return 0; /* idle: a persistent sandbox ends */
      }
    }
    if (all[1].revents & POLLIN)
      accept_client(http);
    if (all[2].revents & POLLIN)
      dns_query(&d);
    if (d.conn >= 0 && all[n].revents)
      dns_answer(&d);
    for (int k = 0; k < np; k++) {
      int i = idx[k];
      pair *p = pairs[i];
      short ra = all[3 + 2 * k].revents, rb = all[3 + 2 * k + 1].revents;
      pump(&p->a, &p->b, ra); /* client -> proxy */
      pump(&p->b, &p->a, rb); /* proxy -> client */
      int done = (p->a.eof >= 2 && p->b.eof >= 2) || p->a.eof == 2 || p->b.eof == 2 ||
                 ((ra | rb) & (POLLNVAL | POLLERR));
      if (done)
        pair_free(i);
    }
  }
}
