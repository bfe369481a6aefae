/* SPDX-License-Identifier: Apache-2.0 */
/* vm_egress.c - the host's side of --network proxy under --isolation vm.
 *
 * The egress proxy is the one every backend uses (egress_spawn.c), with
 * the same rules, log and report.  It is handed two unix listeners in a
 * directory of its own, STATE/vm/net-XXXXXX (mode 0711 below the 0700
 * STATE/vm: no other user reaches it), and a relay process, a child of
 * airlock, carries the guest's connections and queries from the
 * airlock.net port to them (vm_net.c).  The relay reads what the guest
 * writes, so as root it runs as QEMU's uid, with no new privileges, and
 * reaches the sockets through a descriptor of their directory.
 *
 * The directory also holds the guest's trust store (the host's bundle,
 * with the proxy's CA after it when it inspects hosts), which vm_host.c
 * hands the guest at boot.  Each directory holds owner.lock,
 * locked while its sandbox lives, so that `airlock gc` removes only those
 * of killed launchers (al_vm_gc). */
#define _GNU_SOURCE
#include "vm.h"
#include "vm_net.h"

#include "cleanup.h"
#include "error.h"
#include "launch.h"
#include "network.h"
#include "statedir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LOCK_NAME "owner.lock"
/* everything a socket directory may hold */
static const char *const dir_files[] = {AL_VM_NET_HTTP_SOCK, AL_VM_NET_DNS_SOCK, AL_VM_NET_CA_BUNDLE, AL_VM_NET_CA_CERT,
                                        LOCK_NAME};

pid_t al_vm_net_relay_start(int port, int sock_dir, uid_t uid, gid_t gid) {
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid != 0)
    return pid;
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (getppid() != parent)
    _exit(127);
  int p = fcntl(port, F_DUPFD_CLOEXEC, 10), d = fcntl(sock_dir, F_DUPFD_CLOEXEC, 10);
  if (p < 0 || d < 0 || dup3(p, 3, O_CLOEXEC) < 0 || dup3(d, 4, O_CLOEXEC) < 0)
    _exit(127);
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    dup2(null, 0);
    dup2(null, 1);
  }
  syscall(SYS_close_range, 5, ~0U, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  if (getuid() == 0 && uid != 0) {
    if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
      _exit(127);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getppid() != parent)
      _exit(127);
  }
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  _exit(al_vm_net_serve_host(3, 4) < 0 ? 1 : 0);
}

static int write_file_at(int dir, const char *name, const char *a, size_t alen, const char *b, size_t blen) {
  _cleanup_close_ int fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  const char *parts[2] = {a, b};
  size_t lens[2] = {alen, blen};
  for (int i = 0; i < 2 && fd >= 0; i++)
    for (size_t off = 0; off < lens[i];) {
      ssize_t n = write(fd, parts[i] + off, lens[i] - off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return -1;
      off += (size_t)n;
    }
  return fd >= 0 ? 0 : -1;
}

/* The guest's trust store (vm_host.c gives it to the guest at boot): the
 * host's bundle, which TLS through a CONNECT tunnel needs; with inspected
 * hosts also the proxy's CA, after it and alone */
static int write_trust_files(al_vm_egress *e, airlock_error **err) {
  size_t host_len = 0;
  _cleanup_free_ char *host = al_read_host_ca_bundle(&host_len, err);
  if (!host)
    return -1;
  const char *ca = e->proxy.ca_pem;
  bool nl = host_len && host[host_len - 1] != '\n';
  _cleanup_free_ char *tail = NULL;
  if (ca && asprintf(&tail, "%s%s", nl ? "\n" : "", ca) < 0)
    return al_err(err, ENOMEM, "isolation vm");
  if (write_file_at(e->dir_fd, AL_VM_NET_CA_BUNDLE, host, host_len, tail, tail ? strlen(tail) : 0) < 0 ||
      (ca && write_file_at(e->dir_fd, AL_VM_NET_CA_CERT, ca, strlen(ca), NULL, 0) < 0))
    return al_err(err, errno, "isolation vm: cannot write the guest's trust store in %s", e->dir);
  return 0;
}

void al_vm_egress_init(al_vm_egress *e) {
  memset(e, 0, sizeof(*e));
  al_egress_init(&e->proxy);
  e->dir_fd = e->lock_fd = -1;
}

int al_vm_egress_start(al_vm_egress *e, const airlock_spec *spec, airlock_error **err) {
  al_vm_egress_init(e);
  _cleanup_free_ char *state = al_state_dir_or_default(spec->state_dir, err);
  if (!state || al_state_dir_prepare(state, true, err) < 0)
    return -1;
  char vmdir[PATH_MAX];
  if ((size_t)snprintf(vmdir, sizeof(vmdir), "%s/vm", state) >= sizeof(vmdir))
    return al_err(err, ENAMETOOLONG, "isolation vm: the state directory's path is too long");
  if (mkdir(vmdir, 0700) < 0 && errno != EEXIST)
    return al_err(err, errno, "isolation vm: cannot create %s", vmdir);
  if (asprintf(&e->dir, "%s/net-XXXXXX", vmdir) < 0) {
    e->dir = NULL;
    return al_err(err, ENOMEM, "isolation vm");
  }
  if (!mkdtemp(e->dir)) {
    int errnum = errno;
    free(e->dir);
    e->dir = NULL;
    return al_err(err, errnum, "isolation vm: cannot create the proxy's socket directory in %s", vmdir);
  }
  e->dir_fd = open(e->dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int lock = -1;
  if (e->dir_fd < 0 || chmod(e->dir, 0711) < 0 ||
      (lock = openat(e->dir_fd, LOCK_NAME, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 ||
      flock(lock, LOCK_EX | LOCK_NB) < 0) {
    if (lock >= 0)
      close(lock);
    al_err(err, errno, "isolation vm: cannot prepare %s", e->dir);
    al_vm_egress_stop(e);
    return -1;
  }
  e->lock_fd = lock;

  if (al_egress_start(&e->proxy, spec, "airlock", err) < 0) {
    al_vm_egress_stop(e);
    return -1;
  }
  if (write_trust_files(e, err) < 0) {
    al_vm_egress_stop(e);
    return -1;
  }
  int fds[2] = {-1, -1};
  fds[0] = al_egress_unix_listener(e->dir, AL_VM_NET_HTTP_SOCK, SOCK_STREAM, "isolation vm", err);
  if (fds[0] >= 0)
    fds[1] = al_egress_unix_listener(e->dir, AL_VM_NET_DNS_SOCK, SOCK_SEQPACKET, "isolation vm", err);
  int rc = fds[1] >= 0 ? al_egress_hand_over(&e->proxy, fds, err) : -1;
  for (int i = 0; i < 2; i++)
    if (fds[i] >= 0)
      close(fds[i]);
  if (rc < 0) {
    al_vm_egress_stop(e);
    return -1;
  }
  return 0;
}

void al_vm_egress_stop(al_vm_egress *e) {
  al_egress_stop(&e->proxy, NULL);
  if (e->dir) {
    char path[PATH_MAX];
    for (size_t i = 0; i < AL_ARRAY_SIZE(dir_files); i++) {
      snprintf(path, sizeof(path), "%s/%s", e->dir, dir_files[i]);
      unlink(path);
    }
    rmdir(e->dir);
    free(e->dir);
    e->dir = NULL;
  }
  if (e->dir_fd >= 0)
    close(e->dir_fd);
  if (e->lock_fd >= 0)
    close(e->lock_fd);
  e->dir_fd = e->lock_fd = -1;
}

unsigned al_vm_net_gc(const char *state_dir) {
  airlock_error *err = NULL;
  _cleanup_free_ char *state = al_state_dir_or_default(state_dir, &err);
  airlock_error_free(&err);
  if (!state)
    return 0;
  char vmdir[PATH_MAX];
  snprintf(vmdir, sizeof(vmdir), "%s/vm", state);
  _cleanup_close_ int base = open(vmdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int scan = base >= 0 ? dup(base) : -1;
  DIR *d = scan >= 0 ? fdopendir(scan) : NULL;
  if (!d) {
    if (scan >= 0)
      close(scan);
    return 0;
  }
  unsigned removed = 0;
  for (struct dirent *ent; (ent = readdir(d)) != NULL;) {
    if (strncmp(ent->d_name, "net-", 4) != 0 || strlen(ent->d_name) != 10)
      continue;
    _cleanup_close_ int dir = openat(base, ent->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    _cleanup_close_ int lock = dir >= 0 ? openat(dir, LOCK_NAME, O_RDWR | O_NOFOLLOW | O_CLOEXEC) : -1;
    if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0)
      continue; /* in use, or not made by this version */
    for (size_t i = 0; i < AL_ARRAY_SIZE(dir_files); i++)
      unlinkat(dir, dir_files[i], 0);
    if (unlinkat(base, ent->d_name, AT_REMOVEDIR) == 0)
      removed++;
  }
  closedir(d);
  return removed;
}

unsigned al_vm_gc(const char *state_dir) { return al_vm_net_gc(state_dir) + al_vm_image_gc(state_dir); }

char *const *al_vm_proxy_env(bool inspected) {
  static const char *all[AL_EGRESS_ENV_COUNT + AL_EGRESS_CA_ENV_COUNT + 1];
  size_t n = 0;
  for (size_t i = 0; al_egress_env[i]; i++)
    all[n++] = al_egress_env[i];
  for (size_t i = 0; inspected && al_egress_ca_env[i]; i++)
    all[n++] = al_egress_ca_env[i];
  all[n] = NULL;
  return (char *const *)all;
}
