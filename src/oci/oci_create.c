/* SPDX-License-Identifier: Apache-2.0 */
/* oci_create.c - create, start, run and exec.
 *
 * create: the runtime process clones the container's first process into
 * new mount, pid, network, ipc and uts namespaces (those the bundle asks
 * for; a mount namespace always), as runc does with no user namespace yet.
 * That process joins the container's cgroups, builds the root
 * (oci_rootfs.c) with the host's root privileges, then creates a user
 * namespace owned by the container's leased host uid; the runtime writes its
 * id maps (container root -> the leased uid, never host uid 0), and the
 * process becomes the container's user, gives up every capability, sets
 * no_new_privs and (read-only roots) Landlock, reports ready and blocks in
 * accept() on ROOT/ID/start.sock.  The runtime writes state.json and the
 * pid file and exits: the process is reparented to the caller's subreaper
 * (conmon) or init, as runc's is.  start connects to the socket: the
 * process installs airlock's seccomp deny list and the bundle's profile on
 * top and execs; a failure to exec comes back to start on that connection.
 * The namespaces stay owned by the host's user namespace, so the
 * capabilities a container could regain in its own user namespace cover
 * nothing it can mount, configure or set.
 *
 * exec joins the namespaces of the container's process (the user namespace
 * last), its cgroups, and applies the same lockdown. */
#define _GNU_SOURCE
#include "oci_priv.h"
#include "caps.h"
#include "cleanup.h"
#include "error.h"
#include "fdpass.h"
#include "landlock.h"
#include "seccomp_filter.h"

#include <dirent.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/sched.h>
#include <linux/securebits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int al_oci_build_rootfs(const al_oci_config *c, const char *rootfs, const char *bundle, uid_t uid, gid_t gid,
                        int *pty_master, int *pty_slave, char *errbuf, size_t errlen);

/* runtime <-> container process, one SOCK_SEQPACKET message each */
typedef struct {
  char kind; /* 'g' go, 'u' user namespace made, 'm' maps written, 'r' ready, 'e' error */
  char text[400];
} sync_msg;

typedef struct {
  const al_oci_config *c;
  const char *rootfs, *bundle;
  int sync;
  int listen_fd;
  int console_fd; /* connected console socket; -1 none */
  int ns_fd[AL_OCI_NS_COUNT];
  int cg_fd[AL_CTRL_COUNT];
  int dev_fd; /* the device cgroup's tasks file; -1 none */
  uid_t owner_uid; /* host uid that owns the user namespace: what container uid of the process maps to */
  gid_t owner_gid;
  void *bpf;
  unsigned short bpf_len;
  int preserve_fds;
  int listen_fds; /* LISTEN_FDS of the runtime's environment */
} init_ctx;

__attribute__((noreturn, format(printf, 2, 3))) static void child_fail(int sync, const char *fmt, ...) {
  sync_msg m = {.kind = 'e'};
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(m.text, sizeof(m.text), fmt, ap);
  va_end(ap);
  ssize_t w = send(sync, &m, sizeof(m), MSG_NOSIGNAL);
  (void)w;
  _exit(1);
}

static char child_wait(int sync) {
  sync_msg m;
  ssize_t n;
  do
    n = recv(sync, &m, sizeof(m), 0);
  while (n < 0 && errno == EINTR);
  if (n < 1)
    _exit(1); /* the runtime gave up on us */
  return m.kind;
}

static void child_send(int sync, char kind) {
  sync_msg m = {.kind = kind};
  if (send(sync, &m, sizeof(m), MSG_NOSIGNAL) < 0)
    _exit(1);
}

/* memfds sealed non-executable in this pid namespace (airlock's rule,
 * src/sandbox/sandbox_init.c): the sysctl acts on the writer's pid namespace */
static bool seal_memfds(bool own_pidns) {
  if (!own_pidns)
    return false;
  int fd = open("/proc/sys/vm/memfd_noexec", O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  bool ok = write(fd, "2", 1) == 1;
  close(fd);
  return ok;
}

/* what Landlock leaves writable with a read-only root: the mounts that are
 * not read-only (and /dev); a writable root needs no file rule */
static const char **landlock_paths(const al_oci_config *c) {
  if (!c->root_readonly)
    return NULL;
  const char **v = calloc(c->n_mounts + 3, sizeof(char *));
  if (!v)
    return NULL;
  size_t n = 0;
  v[n++] = "/dev";
  for (size_t i = 0; i < c->n_mounts; i++)
    if (!(c->mounts[i].flags & MS_RDONLY) && strcmp(c->mounts[i].type, "sysfs") != 0)
      v[n++] = c->mounts[i].dest;
  return v;
}

/* the lockdown every process of a container gets, before its seccomp */
static int lockdown(const al_oci_config *c, char *why, size_t len) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
    snprintf(why, len, "no_new_privs: %s", strerror(errno));
    return -1;
  }
  const char **paths = landlock_paths(c);
  int abi = al_landlock_abi();
  if (paths && abi > 0) {
    int rc = al_landlock_restrict_scoped(paths, abi, false);
    free(paths);
    if (rc < 0) {
      snprintf(why, len, "landlock: %s", strerror(-rc));
      return -1;
    }
  } else {
    free(paths);
  }
  int rc = al_drop_privileges();
  if (rc < 0) {
    snprintf(why, len, "dropping capabilities: %s", strerror(-rc));
    return -1;
  }
  return 0;
}

static int install_seccomp(bool sealed, const void *bpf, unsigned short bpf_len) {
  al_bpf own;
  if (sealed)
    al_seccomp_builtin(&own);
  else
    al_seccomp_builtin_memfd_seal_required(&own);
  if (al_seccomp_install(&own) < 0)
    return -1;
  if (bpf) {
    al_bpf theirs = {.insns = (struct sock_filter *)bpf, .len = bpf_len, .owned = false};
    if (al_seccomp_install(&theirs) < 0)
      return -1;
  }
  return 0;
}

static int set_ids(uid_t uid, gid_t gid, const uint32_t *groups, size_t n) {
  gid_t g[64] = {0};
  size_t k = 0;
  for (size_t i = 0; i < n && k < 64; i++)
    g[k++] = groups[i];
  if (setgroups(k, g) < 0 && !(k == 0 && errno == EPERM))
    return -1;
  if (setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
    return -1;
  return 0;
}

static int apply_rlimits(const al_oci_process *p, char *why, size_t len) {
  for (size_t i = 0; i < p->n_rlimits; i++) {
    struct rlimit rl = {p->rlimits[i].soft, p->rlimits[i].hard};
    if (setrlimit(p->rlimits[i].resource, &rl) < 0) {
      snprintf(why, len, "process.rlimits[%zu]: %s (raising a hard limit needs CAP_SYS_RESOURCE)", i, strerror(errno));
      return -1;
    }
  }
  return 0;
}

/* the master with its name as data, as runc sends it */
/* process.scheduler and process.ioPriority (the parser let only
 * non-real-time ones through) */
/* linux.sysctl (net.* keys of the container's own network namespace, as
 * oci_config.c checked): written while the process still has the host's
 * root privileges, through the procfs it inherited (a /proc/sys/net file
 * acts on the network namespace of whoever opens it), before the container's
 * /proc exists and its /proc/sys is made read-only. */
static int apply_sysctl(const al_oci_config *c, char *why, size_t len) {
  const char *k;
  json_t *x;
  json_object_foreach(c->sysctl, k, x) {
    char path[160];
    int n = snprintf(path, sizeof(path), "/proc/sys/%s", k);
    if (n < 0 || (size_t)n >= sizeof(path))
      return snprintf(why, len, "linux.sysctl \"%.100s\": name too long", k), -1;
    for (char *p = path + strlen("/proc/sys/"); *p; p++)
      if (*p == '.')
        *p = '/';
    const char *val = json_string_value(x);
    int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    ssize_t w = fd < 0 ? -1 : write(fd, val, strlen(val));
    int e = errno;
    if (fd >= 0)
      close(fd);
    if (w != (ssize_t)strlen(val))
      return snprintf(why, len, "linux.sysctl \"%.100s\": %s", k, w < 0 ? strerror(e) : "short write"), -1;
  }
  return 0;
}

/* why args[0] cannot be exec'd, in runc's words: Docker and Podman read the
 * exit code out of them ("executable file not found", "no such file or
 * directory": 127; "permission denied": 126), lower case as Go prints them */
static const char *exec_failure(const char *arg0, int e, char *buf, size_t len) {
  char reason[128];
  snprintf(reason, sizeof(reason), "%s", strerror(e));
  reason[0] = (char)tolower((unsigned char)reason[0]);
  if (e == ENOENT && !strchr(arg0, '/'))
    snprintf(buf, len, "exec: \"%s\": executable file not found in $PATH", arg0);
  else if (e == ENOENT)
    snprintf(buf, len, "exec: \"%s\": stat %s: %s", arg0, arg0, reason);
  else
    snprintf(buf, len, "exec: \"%s\": %s", arg0, reason);
  return buf;
}

static int apply_sched(const al_oci_process *p, char *why, size_t len) {
  if (p->has_sched) {
    struct {
      uint32_t size, policy;
      uint64_t flags;
      int32_t nice;
      uint32_t priority;
      uint64_t runtime, deadline, period;
    } attr = {.size = 48, .policy = (uint32_t)p->sched_policy, .nice = p->sched_nice};
    if (syscall(SYS_sched_setattr, 0, &attr, 0) < 0) {
      snprintf(why, len, "process.scheduler: %s", strerror(errno));
      return -1;
    }
  }
  if (p->has_ioprio && syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, p->ioprio) < 0) {
    snprintf(why, len, "process.ioPriority: %s", strerror(errno));
    return -1;
  }
  return 0;
}

static void send_master(int console, int master) {
  static const char name[] = "/dev/ptmx";
  al_send_fds(console, name, sizeof(name) - 1, &master, 1);
}

static void take_terminal(int slave) {
  setsid();
  ioctl(slave, TIOCSCTTY, 0);
  dup2(slave, 0);
  dup2(slave, 1);
  dup2(slave, 2);
  if (slave > 2)
    close(slave);
}

__attribute__((noreturn)) static void container_init(init_ctx *x) {
  const al_oci_config *c = x->c;
  int sync = x->sync;
  for (int k = 0; k < AL_OCI_NS_COUNT; k++)
    if (x->ns_fd[k] >= 0 && setns(x->ns_fd[k], 0) < 0)
      child_fail(sync, "linux.namespaces: joining %s: %s", c->ns_path[k], strerror(errno));
  if (child_wait(sync) != 'g')
    _exit(1);
  for (int k = 0; k < AL_CTRL_COUNT; k++)
    if (x->cg_fd[k] >= 0 && write(x->cg_fd[k], "0", 1) != 1)
      child_fail(sync, "joining the container's cgroup: %s", strerror(errno));
  if (x->dev_fd >= 0 && write(x->dev_fd, "0", 1) != 1)
    child_fail(sync, "joining the container's device cgroup: %s", strerror(errno));
  if (c->ns[AL_OCI_NS_CGROUP] && unshare(CLONE_NEWCGROUP) < 0)
    child_fail(sync, "cgroup namespace: %s", strerror(errno));
  bool own_pidns = c->ns[AL_OCI_NS_PID] && !c->ns_path[AL_OCI_NS_PID];
  bool sealed = seal_memfds(own_pidns);
  char why[300];
  if (c->proc.has_oom_score_adj) {
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    char v[16];
    int n = snprintf(v, sizeof(v), "%d", c->proc.oom_score_adj);
    if (fd < 0 || write(fd, v, (size_t)n) != n)
      child_fail(sync, "process.oomScoreAdj: %s", strerror(errno));
    close(fd);
  }
  if (apply_rlimits(&c->proc, why, sizeof(why)) < 0)
    child_fail(sync, "%s", why);
  if (apply_sched(&c->proc, why, sizeof(why)) < 0)
    child_fail(sync, "%s", why);
  if (c->sysctl && apply_sysctl(c, why, sizeof(why)) < 0)
    child_fail(sync, "%s", why);
  int master = -1, slave = -1;
  if (al_oci_build_rootfs(c, x->rootfs, x->bundle, x->owner_uid, x->owner_gid, c->proc.terminal ? &master : NULL, &slave, why, sizeof(why)) < 0)
    child_fail(sync, "%s", why);
  if (c->ns[AL_OCI_NS_UTS] && c->hostname && *c->hostname && sethostname(c->hostname, strlen(c->hostname)) < 0)
    child_fail(sync, "hostname: %s", strerror(errno));
  if (c->ns[AL_OCI_NS_UTS] && c->domainname && *c->domainname &&
      setdomainname(c->domainname, strlen(c->domainname)) < 0)
    child_fail(sync, "domainname: %s", strerror(errno));

  /* the user namespace, owned by the container's host uid (the kernel
   * charges it to that uid, never to root) */
  if (prctl(PR_SET_SECUREBITS, SECBIT_NO_SETUID_FIXUP, 0, 0, 0) < 0 ||
      syscall(SYS_setresuid, -1, x->owner_uid, -1) < 0)
    child_fail(sync, "user namespace owner: %s", strerror(errno));
  if (unshare(CLONE_NEWUSER) < 0)
    child_fail(sync, "user namespace: %s", strerror(errno));
  child_send(sync, 'u');
  if (child_wait(sync) != 'm')
    _exit(1);
  if (set_ids(c->proc.uid, c->proc.gid, c->proc.add_gids, c->proc.n_add_gids) < 0)
    child_fail(sync, "process.user: %s", strerror(errno));
  if (c->proc.has_umask)
    umask(c->proc.umask);
  else
    umask(022);
  if (chdir(c->proc.cwd) < 0)
    child_fail(sync, "process.cwd %s: %s", c->proc.cwd, strerror(errno));
  char **env = al_oci_env_home(c->proc.env, c->proc.uid);
  if (x->listen_fds > 0) { /* socket activation, as runc: the fds follow, LISTEN_PID is the process */
    size_t k = 0;
    while (env[k])
      k++;
    char **more = calloc(k + 3, sizeof(char *));
    if (more) {
      memcpy(more, env, k * sizeof(char *));
      if (asprintf(&more[k], "LISTEN_FDS=%d", x->listen_fds) > 0 && asprintf(&more[k + 1], "LISTEN_PID=1") > 0)
        env = more;
    }
  }
  char exe[PATH_MAX];
  int e = al_oci_find_exec(c->proc.args[0], env, exe, sizeof(exe));
  if (e != 0) {
    char why_exec[PATH_MAX + 64];
    child_fail(sync, "%s", exec_failure(c->proc.args[0], e, why_exec, sizeof(why_exec)));
  }
  if (master >= 0) {
    take_terminal(slave);
    if (x->console_fd >= 0) {
      send_master(x->console_fd, master);
      close(x->console_fd);
    }
    close(master);
  } else {
    setsid();
  }
  if (lockdown(c, why, sizeof(why)) < 0)
    child_fail(sync, "%s", why);
  child_send(sync, 'r');
  close(sync);

  /* blocked until start */
  int conn;
  do
    conn = accept4(x->listen_fd, NULL, NULL, SOCK_CLOEXEC);
  while (conn < 0 && errno == EINTR);
  if (conn < 0)
    _exit(1);
  close(x->listen_fd);
  if (install_seccomp(sealed, x->bpf, x->bpf_len) < 0) {
    dprintf(conn, "seccomp: %s", strerror(errno));
    _exit(1);
  }
  /* nothing of the runtime's crosses exec but stdio and LISTEN_FDS */
  syscall(SYS_close_range, 3 + x->preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC);
  execve(exe, c->proc.args, env);
  dprintf(conn, "exec %s: %s", exe, strerror(errno));
  _exit(127);
}

/* ---- the runtime's side ---- */

static int recv_msg(int sock, sync_msg *m, int timeout_ms, airlock_error **err) {
  struct pollfd p = {.fd = sock, .events = POLLIN};
  int r;
  do
    r = poll(&p, 1, timeout_ms);
  while (r < 0 && errno == EINTR);
  if (r == 0)
    return al_err(err, ETIMEDOUT, "the container's process did not answer");
  ssize_t n = recv(sock, m, sizeof(*m), 0);
  if (n < 1)
    return al_err(err, 0, "the container's process died while being set up");
  m->text[sizeof(m->text) - 1] = '\0';
  if (m->kind == 'e')
    return al_err(err, 0, "%s", m->text);
  return 0;
}

static int write_map(pid_t pid, const char *file, const al_oci_idmap *maps, size_t n, uint32_t inside,
                     uint32_t host, airlock_error **err) {
  char text[512] = "";
  size_t off = 0;
  if (n == 0)
    snprintf(text, sizeof(text), "%u %u 1\n", inside, host);
  for (size_t i = 0; i < n && off < sizeof(text); i++)
    off += (size_t)snprintf(text + off, sizeof(text) - off, "%u %u %u\n", maps[i].container, maps[i].host,
                            maps[i].size);
  char p[64];
  snprintf(p, sizeof(p), "/proc/%d/%s", (int)pid, file);
  _cleanup_close_ int fd = open(p, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
    return al_err(err, errno, "user namespace: writing %s", file);
  return 0;
}

static bool mapped(const al_oci_idmap *maps, size_t n, uint32_t id, uint32_t *host) {
  for (size_t i = 0; i < n; i++)
    if (id >= maps[i].container && id - maps[i].container < maps[i].size) {
      if (host)
        *host = maps[i].host + (id - maps[i].container);
      return true;
    }
  return false;
}

static char *iso_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char buf[64], *out = NULL;
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  if (asprintf(&out, "%s.%09ldZ", buf, ts.tv_nsec) < 0)
    return NULL;
  return out;
}

static int unix_connect(const char *path, airlock_error **err) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(a.sun_path))
    return al_err(err, ENAMETOOLONG, "%s", path);
  snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
    int e = errno;
    if (s >= 0)
      close(s);
    return al_err(err, e, "connect %s", path);
  }
  return s;
}

/* a unix socket path below a directory, however long: through /proc/self/fd */
static void fd_path(char *buf, size_t len, int dirfd, const char *name) {
  snprintf(buf, len, "/proc/self/fd/%d/%s", dirfd, name);
}

static int mkdir_p(const char *path, mode_t mode) {
  char buf[PATH_MAX];
  snprintf(buf, sizeof(buf), "%s", path);
  for (char *p = buf + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return -1;
      *p = '/';
    }
  return mkdir(buf, mode) < 0 && errno != EEXIST ? -1 : 0;
}

/* The v1 device cgroup (the host's devices hierarchy, beside the caller's
 * own: OWN/airlock-oci/ID): the bundle's linux.resources.devices rules in
 * order, then the nodes every container gets (as runc adds them).  On a
 * host without a v1 devices hierarchy (pure cgroup v2, where it takes an
 * eBPF program) there is none: *dir stays NULL.  The container's process
 * joins through *join_fd. */
static int devices_cgroup(const char *id, const al_oci_config *c, char **dir, int *join_fd, airlock_error **err) {
  *dir = NULL;
  *join_fd = -1;
  char mnt[PATH_MAX] = "", own[PATH_MAX] = "", line[4096];
  FILE *f = fopen("/proc/self/mountinfo", "re");
  while (f && fgets(line, sizeof(line), f)) {
    char *sep = strstr(line, " - ");
    char fstype[32], src[64], opts[512], point[PATH_MAX];
    if (sep && sscanf(sep + 3, "%31s %63s %511s", fstype, src, opts) == 3 && strcmp(fstype, "cgroup") == 0 &&
        (strstr(opts, ",devices") || strncmp(opts, "devices", 7) == 0) &&
        sscanf(line, "%*s %*s %*s %*s %4095s", point) == 1) {
      snprintf(mnt, sizeof(mnt), "%s", point);
      break;
    }
  }
  if (f)
    fclose(f);
  f = fopen("/proc/self/cgroup", "re");
  while (f && fgets(line, sizeof(line), f)) {
    char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;
    if (!b)
      continue;
    *b = '\0';
    if (strstr(a + 1, "devices")) {
      b[1 + strcspn(b + 1, "\n")] = '\0';
      snprintf(own, sizeof(own), "%s", strcmp(b + 1, "/") == 0 ? "" : b + 1);
      break;
    }
  }
  if (f)
    fclose(f);
  if (!mnt[0])
    return 0;
  char base[PATH_MAX * 2], path[PATH_MAX * 2 + 1100];
  snprintf(base, sizeof(base), "%s%s/airlock-oci", mnt, own);
  snprintf(path, sizeof(path), "%s/%s", base, id);
  /* those of containers nobody deleted: an empty cgroup goes, one with
   * processes is busy and stays */
  DIR *old = opendir(base);
  struct dirent *e;
  while (old && (e = readdir(old)) != NULL)
    if (e->d_type == DT_DIR && e->d_name[0] != '.')
      unlinkat(dirfd(old), e->d_name, AT_REMOVEDIR);
  if (old)
    closedir(old);
  if ((mkdir(base, 0755) < 0 && errno != EEXIST) || (rmdir(path) < 0 && errno != ENOENT) || mkdir(path, 0755) < 0)
    return al_err(err, errno, "device cgroup %s", path);
  *dir = strdup(path);
  char file[sizeof(path) + 32];
  int rc = 0;
  for (size_t i = 0; i < c->n_devrules && rc == 0; i++) {
    const al_oci_devrule *r = &c->devrules[i];
    char rule[64], ma[16], mi[16];
    snprintf(ma, sizeof(ma), r->major < 0 ? "*" : "%ld", r->major);
    snprintf(mi, sizeof(mi), r->minor < 0 ? "*" : "%ld", r->minor);
    if (r->type == 'a')
      snprintf(rule, sizeof(rule), "a");
    else
      snprintf(rule, sizeof(rule), "%c %s:%s %s", r->type, ma, mi, r->access);
    snprintf(file, sizeof(file), "%s/devices.%s", path, r->allow ? "allow" : "deny");
    int fd = open(file, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, rule, strlen(rule)) != (ssize_t)strlen(rule))
      rc = al_err(err, errno, "config.json: linux.resources.devices[%zu]: %s", i, rule);
    if (fd >= 0)
      close(fd);
  }
  static const char *const defaults[] = {"c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
                                         "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm"};
  snprintf(file, sizeof(file), "%s/devices.allow", path);
  for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]) && rc == 0; i++) {
    int fd = open(file, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, defaults[i], strlen(defaults[i])) != (ssize_t)strlen(defaults[i]))
      rc = al_err(err, errno, "device cgroup: %s", defaults[i]);
    if (fd >= 0)
      close(fd);
  }
  for (size_t i = 0; i < c->n_devices && rc == 0; i++) { /* linux.devices nodes are allowed too */
    char rule[64];
    snprintf(rule, sizeof(rule), "%c %u:%u rwm", c->devices[i].type, c->devices[i].major, c->devices[i].minor);
    int fd = open(file, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, rule, strlen(rule)) != (ssize_t)strlen(rule))
      rc = al_err(err, errno, "config.json: linux.devices[%zu]: device cgroup", i);
    if (fd >= 0)
      close(fd);
  }
  snprintf(file, sizeof(file), "%s/tasks", path);
  if (rc == 0 && (*join_fd = open(file, O_WRONLY | O_CLOEXEC)) < 0)
    rc = al_err(err, errno, "%s", file);
  if (rc < 0) {
    rmdir(path);
    free(*dir);
    *dir = NULL;
  }
  return rc;
}

typedef struct created {
  pid_t pid;
  int relay_sock; /* run with a terminal and no --console-socket: where the master arrives */
} created;

static int create_container(const al_oci_global *g, const char *id, const al_oci_create_opts *o, bool want_relay,
                            created *out, airlock_error **err) {
  out->pid = -1;
  out->relay_sock = -1;
  if (geteuid() != 0)
    return al_err(err, EPERM, "airlock-oci needs root (rootless containers are not supported yet; docs/oci.md)");
  _cleanup_free_ char *dir = al_oci_dir(g, id, err);
  if (!dir)
    return -1;
  char bundle[PATH_MAX], cfgpath[PATH_MAX], rootfs[PATH_MAX];
  if (!realpath(o->bundle ? o->bundle : ".", bundle))
    return al_err(err, errno, "bundle %s", o->bundle ? o->bundle : ".");
  if (o->config)
    snprintf(cfgpath, sizeof(cfgpath), "%s%s%s", o->config[0] == '/' ? "" : bundle, o->config[0] == '/' ? "" : "/",
             o->config);
  else
    snprintf(cfgpath, sizeof(cfgpath), "%s/config.json", bundle);
  size_t len = 0;
  _cleanup_free_ char *text = al_oci_read_file(cfgpath, &len, err);
  if (!text)
    return -1;
  al_oci_config c;
  if (al_oci_config_parse(text, len, &c, err) < 0) {
    al_oci_config_free(&c);
    return -1;
  }
  int rc = -1;
  void *bpf = NULL;
  unsigned short bpf_len = 0;
  int listen_fd = -1, console_fd = -1, dirfd = -1, pair[2] = {-1, -1}, relay_pair[2] = {-1, -1};
  int ns_fd[AL_OCI_NS_COUNT];
  for (int k = 0; k < AL_OCI_NS_COUNT; k++)
    ns_fd[k] = -1;
  al_cgroup cg;
  memset(&cg, 0, sizeof(cg));
  cg.v2_dir_fd = -1;
  for (int k = 0; k < AL_CTRL_COUNT; k++)
    cg.join_fd[k] = -1;
  bool made_dir = false, have_cg = false;
  char *dev_cg = NULL;
  int dev_fd = -1;
  int slot = -1;
  uint32_t host_uid = 0, host_gid = 0;
  pid_t pid = -1;
  al_oci_state st;
  memset(&st, 0, sizeof(st));

  char rp[PATH_MAX];
  snprintf(rp, sizeof(rp), "%s%s%s", c.root_path[0] == '/' ? "" : bundle, c.root_path[0] == '/' ? "" : "/",
           c.root_path);
  if (!realpath(rp, rootfs)) {
    al_err(err, errno, "config.json: root.path %s", rp);
    goto out;
  }
  if (strcmp(rootfs, "/") == 0) {
    al_err(err, 0, "config.json: root.path may not be the host's /");
    goto out;
  }
  if (c.seccomp && al_oci_seccomp_compile(c.seccomp, &bpf, &bpf_len, err) < 0)
    goto out;
  if (c.proc.terminal && !o->console_socket && !want_relay) {
    al_err(err, 0, "process.terminal is set but no --console-socket was given");
    goto out;
  }
  /* identity: the bundle's own mappings (never host id 0: the parser
   * refused those), else a leased pair */
  if (c.n_uid_map) {
    if (!mapped(c.uid_map, c.n_uid_map, c.proc.uid, &host_uid) ||
        !mapped(c.gid_map, c.n_gid_map, c.proc.gid, &host_gid)) {
      al_err(err, 0, "config.json: process.user: uid %u or gid %u is not mapped by linux.uidMappings/gidMappings",
             c.proc.uid, c.proc.gid);
      goto out;
    }
    for (size_t i = 0; i < c.proc.n_add_gids; i++)
      if (!mapped(c.gid_map, c.n_gid_map, c.proc.add_gids[i], NULL)) {
        al_err(err, 0, "config.json: process.user.additionalGids: gid %u is not mapped", c.proc.add_gids[i]);
        goto out;
      }
  } else {
    for (size_t i = 0; i < c.proc.n_add_gids; i++)
      if (c.proc.add_gids[i] != c.proc.gid) {
        al_err(err, 0,
               "config.json: process.user.additionalGids: gid %u is not mapped (airlock maps one uid and one gid "
               "to the container's own host ids unless linux.uidMappings and gidMappings are given)",
               c.proc.add_gids[i]);
        goto out;
      }
  }
  const char *root = g->root ? g->root : AL_OCI_DEFAULT_ROOT;
  if (mkdir_p(root, 0700) < 0) {
    al_err(err, errno, "state root %s", root);
    goto out;
  }
  if (mkdir(dir, 0700) < 0) {
    al_err(err, errno == EEXIST ? 0 : errno, errno == EEXIST ? "container %s already exists" : "mkdir %s",
           errno == EEXIST ? id : dir);
    goto out;
  }
  made_dir = true;
  dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  char p[PATH_MAX + 64];
  snprintf(p, sizeof(p), "%s/config.json", dir);
  if (dirfd < 0 || al_oci_write_file(p, text, err) < 0)
    goto out;
  if (!c.n_uid_map) {
    if (al_oci_lease(dir, &host_uid, &host_gid, &slot, err) < 0)
      goto out;
  }
  /* limits: the bundle's, else airlock's defaults */
  airlock_spec spec;
  airlock_spec_init(&spec);
  if (c.memory_limit > 0)
    spec.memory_bytes = c.memory_limit;
  if (c.pids_limit > 0)
    spec.pids = c.pids_limit;
  if (c.cpus > 0) {
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    spec.cpus = c.cpus > (double)ncpu ? (double)ncpu : c.cpus;
  }
  if (spec.memory_bytes < (4LL << 20)) {
    al_err(err, 0, "config.json: linux.resources.memory.limit: at least 4 MiB");
    goto out;
  }
  if (al_cgroup_create(&cg, &spec, err) < 0)
    goto out;
  have_cg = true;
  static const char *const names[AL_CTRL_COUNT] = {"memory", "pids", "cpu"};
  bool asked[AL_CTRL_COUNT] = {c.memory_limit > 0, c.pids_limit > 0, c.cpus > 0};
  for (int k = 0; k < AL_CTRL_COUNT; k++)
    if (cg.version[k] == 0 && asked[k]) {
      al_err(err, 0, "config.json: linux.resources: the %s limit cannot be applied: %s", names[k],
             cg.why_missing[k] ? cg.why_missing[k] : "no cgroup");
      goto out;
    }
  if (devices_cgroup(id, &c, &dev_cg, &dev_fd, err) < 0)
    goto out;
  /* the start socket */
  listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  fd_path(sa.sun_path, sizeof(sa.sun_path), dirfd, "start.sock");
  if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(listen_fd, 4) < 0) {
    al_err(err, errno, "start socket in %s", dir);
    goto out;
  }
  if (c.proc.terminal) {
    if (o->console_socket) {
      if ((console_fd = unix_connect(o->console_socket, err)) < 0) {
        al_err_prefix(err, "--console-socket");
        goto out;
      }
    } else {
      if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, relay_pair) < 0) {
        al_err(err, errno, "socketpair");
        goto out;
      }
      console_fd = relay_pair[1];
    }
  }
  for (int k = 0; k < AL_OCI_NS_COUNT; k++)
    if (c.ns_path[k] && (ns_fd[k] = open(c.ns_path[k], O_RDONLY | O_CLOEXEC)) < 0) {
      al_err(err, errno, "config.json: linux.namespaces: %s", c.ns_path[k]);
      goto out;
    }
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
    al_err(err, errno, "socketpair");
    goto out;
  }
  struct clone_args args;
  memset(&args, 0, sizeof(args));
  args.flags = CLONE_NEWNS;
  if (c.ns[AL_OCI_NS_PID])
    args.flags |= CLONE_NEWPID;
  if (c.ns[AL_OCI_NS_NET] && !c.ns_path[AL_OCI_NS_NET])
    args.flags |= CLONE_NEWNET;
  if (c.ns[AL_OCI_NS_IPC] && !c.ns_path[AL_OCI_NS_IPC])
    args.flags |= CLONE_NEWIPC;
  if (c.ns[AL_OCI_NS_UTS] && !c.ns_path[AL_OCI_NS_UTS])
    args.flags |= CLONE_NEWUTS;
  args.exit_signal = SIGCHLD;
  init_ctx x = {.c = &c,
                .rootfs = rootfs,
                .bundle = bundle,
                .sync = pair[1],
                .listen_fd = listen_fd,
                .console_fd = console_fd,
                .owner_uid = host_uid,
                .owner_gid = host_gid,
                .bpf = bpf,
                .bpf_len = bpf_len,
                .preserve_fds = o->preserve_fds};
  const char *lf = getenv("LISTEN_FDS");
  if (lf && atoi(lf) > 0 && atoi(lf) < 1000) {
    x.listen_fds = atoi(lf);
    if (x.preserve_fds < x.listen_fds)
      x.preserve_fds = x.listen_fds;
  }
  memcpy(x.ns_fd, ns_fd, sizeof(ns_fd));
  memcpy(x.cg_fd, cg.join_fd, sizeof(x.cg_fd));
  x.dev_fd = dev_fd;
  if (cg.v2_dir_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = (uint64_t)cg.v2_dir_fd;
  }
  pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
  if (pid < 0) {
    al_err(err, errno, "cannot create the container's namespaces (clone3)");
    goto out;
  }
  if (pid == 0) {
    close(pair[0]);
    if (relay_pair[0] >= 0)
      close(relay_pair[0]);
    container_init(&x);
  }
  close(pair[1]);
  pair[1] = -1;
  sync_msg m = {.kind = 'g'};
  if (send(pair[0], &m, sizeof(m), MSG_NOSIGNAL) < 0) {
    al_err(err, errno, "starting the container's process");
    goto out;
  }
  if (recv_msg(pair[0], &m, 30000, err) < 0)
    goto out;
  if (m.kind != 'u') {
    al_err(err, 0, "the container's process is out of step");
    goto out;
  }
  if (write_map(pid, "uid_map", c.uid_map, c.n_uid_map, c.proc.uid, host_uid, err) < 0 ||
      write_map(pid, "gid_map", c.gid_map, c.n_gid_map, c.proc.gid, host_gid, err) < 0)
    goto out;
  m.kind = 'm';
  if (send(pair[0], &m, sizeof(m), MSG_NOSIGNAL) < 0 || recv_msg(pair[0], &m, 30000, err) < 0)
    goto out;
  if (m.kind != 'r') {
    al_err(err, 0, "the container's process is out of step");
    goto out;
  }
  /* state */
  st.id = (char *)id;
  st.pid = pid;
  st.starttime = al_oci_starttime(pid);
  st.bundle = bundle;
  st.created = iso_now();
  st.annotations = json_object_get(c.json, "annotations");
  for (int k = 0; k < AL_CTRL_COUNT; k++) {
    st.cgroups[k] = cg.path[k];
    st.cg_version[k] = cg.version[k];
  }
  st.devices_cg = dev_cg;
  st.slot = slot;
  st.host_uid = host_uid;
  st.host_gid = host_gid;
  if (al_oci_state_save(dir, &st, err) < 0)
    goto out;
  al_oci_lease_set_pid(slot, dir, pid, st.starttime);
  if (o->pid_file) {
    char num[32];
    snprintf(num, sizeof(num), "%d", (int)pid);
    if (al_oci_write_file(o->pid_file, num, err) < 0) {
      al_err_prefix(err, "--pid-file");
      goto out;
    }
  }
  if (c.n_hooks[AL_OCI_HOOK_PRESTART] || c.n_hooks[AL_OCI_HOOK_CREATE_RUNTIME]) {
    char *doc = al_oci_state_doc(&st, "created");
    int hr = doc ? 0 : al_err(err, ENOMEM, "hooks");
    if (hr == 0)
      hr = al_oci_run_hooks(&c, AL_OCI_HOOK_PRESTART, doc, err);
    if (hr == 0)
      hr = al_oci_run_hooks(&c, AL_OCI_HOOK_CREATE_RUNTIME, doc, err);
    free(doc);
    if (hr < 0)
      goto out;
  }
  out->pid = pid;
  if (relay_pair[0] >= 0) {
    out->relay_sock = relay_pair[0];
    relay_pair[0] = -1;
  }
  rc = 0;
out:
  if (rc < 0) {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
    }
    if (have_cg)
      al_cgroup_destroy(&cg);
    if (dev_cg)
      rmdir(dev_cg);
    if (made_dir)
      al_oci_remove_dir(dir);
    al_oci_lease_release(slot);
  } else {
    /* the cgroups outlive this process: only our descriptors go */
    for (int k = 0; k < AL_CTRL_COUNT; k++) {
      if (cg.join_fd[k] >= 0)
        close(cg.join_fd[k]);
      free(cg.path[k]);
      free(cg.why_missing[k]);
    }
    if (cg.v2_dir_fd >= 0)
      close(cg.v2_dir_fd);
  }
  free(st.created);
  free(dev_cg);
  if (dev_fd >= 0)
    close(dev_fd);
  for (int k = 0; k < AL_OCI_NS_COUNT; k++)
    if (ns_fd[k] >= 0)
      close(ns_fd[k]);
  int fds[] = {listen_fd, console_fd, dirfd, pair[0], pair[1], relay_pair[0]};
  for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
    if (fds[i] >= 0 && fds[i] != relay_pair[1])
      close(fds[i]);
  if (relay_pair[1] >= 0)
    close(relay_pair[1]);
  free(bpf);
  al_oci_config_free(&c);
  return rc;
}

int al_oci_create(const al_oci_global *g, const char *id, const al_oci_create_opts *o, airlock_error **err) {
  created cr;
  return create_container(g, id, o, false, &cr, err);
}

static int run_hooks_from_copy(const char *dir, const al_oci_state *s, int kind, const char *status,
                               airlock_error **err) {
  char p[PATH_MAX + 64];
  snprintf(p, sizeof(p), "%s/config.json", dir);
  size_t len = 0;
  char *text = al_oci_read_file(p, &len, err);
  if (!text)
    return -1;
  al_oci_config c;
  int rc = al_oci_config_parse(text, len, &c, err);
  if (rc == 0 && c.n_hooks[kind]) {
    char *doc = al_oci_state_doc(s, status);
    rc = doc ? al_oci_run_hooks(&c, kind, doc, err) : al_err(err, ENOMEM, "hooks");
    free(doc);
  }
  al_oci_config_free(&c);
  free(text);
  return rc;
}

int al_oci_start(const al_oci_global *g, const char *id, airlock_error **err) {
  al_oci_state s;
  if (al_oci_state_load(g, id, &s, err) < 0)
    return -1;
  _cleanup_free_ char *dir = al_oci_dir(g, id, err);
  int rc = -1;
  int dfd = -1, sock = -1;
  const char *status = dir ? al_oci_status(dir, &s) : "stopped";
  if (strcmp(status, "created") != 0) {
    al_err(err, 0, "cannot start container %s: it is %s, not created", id, status);
    goto done;
  }
  dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  fd_path(sa.sun_path, sizeof(sa.sun_path), dfd, "start.sock");
  sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0 || connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    al_err(err, errno, "cannot start container %s", id);
    goto done;
  }
  char p[PATH_MAX + 64];
  snprintf(p, sizeof(p), "%s/start.sock", dir);
  unlink(p);
  char msg[512];
  size_t off = 0;
  for (;;) {
    ssize_t n = read(sock, msg + off, sizeof(msg) - 1 - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0 || (off += (size_t)n) >= sizeof(msg) - 1)
      break;
  }
  msg[off] = '\0';
  if (off > 0) {
    al_err(err, 0, "container %s: %s", id, msg);
    goto done;
  }
  /* a failing poststart hook fails start and takes the container down, as crun */
  if (run_hooks_from_copy(dir, &s, AL_OCI_HOOK_POSTSTART, "running", err) < 0) {
    airlock_error *local = NULL;
    al_oci_delete(g, id, true, &local);
    airlock_error_free(&local);
    goto done;
  }
  rc = 0;
done:
  if (sock >= 0)
    close(sock);
  if (dfd >= 0)
    close(dfd);
  al_oci_state_free(&s);
  return rc;
}

static volatile pid_t forward_to = -1;
static void forward(int sig) {
  if (forward_to > 0)
    kill(forward_to, sig);
}

static int wait_code(pid_t pid) {
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  forward_to = -1; /* gone: a signal now is for us (its default action) */
  int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
  for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
    signal(sigs[i], SIG_DFL);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int al_oci_run(const al_oci_global *g, const char *id, const al_oci_create_opts *o, bool detach, bool keep,
               airlock_error **err) {
  created cr;
  if (create_container(g, id, o, !detach, &cr, err) < 0)
    return -1;
  int master = -1;
  if (cr.relay_sock >= 0) {
    char b[64];
    size_t n = 0;
    al_recv_fds(cr.relay_sock, b, sizeof(b), &master, 1, &n, 0, NULL);
    close(cr.relay_sock);
  }
  if (al_oci_start(g, id, err) < 0) {
    if (master >= 0)
      close(master);
    airlock_error *local = NULL;
    al_oci_delete(g, id, true, &local);
    airlock_error_free(&local);
    return -1;
  }
  if (detach)
    return 0;
  forward_to = cr.pid;
  struct sigaction sa = {.sa_handler = forward};
  sigemptyset(&sa.sa_mask);
  int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
  for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
    sigaction(sigs[i], &sa, NULL);
  if (master >= 0) {
    al_oci_relay(master);
    close(master);
  }
  int code = wait_code(cr.pid);
  airlock_error *local = NULL;
  if (!keep)
    al_oci_delete(g, id, true, &local);
  airlock_error_free(&local);
  return code;
}

/* ---- exec ---- */

static int exec_process(const al_oci_exec_opts *o, const al_oci_config *c, al_oci_process *p, airlock_error **err) {
  if (o->process_file) {
    size_t len = 0;
    _cleanup_free_ char *text = al_oci_read_file(o->process_file, &len, err);
    if (!text)
      return -1;
    json_error_t je;
    json_t *doc = json_loadb(text, len, 0, &je);
    if (!doc)
      return al_err(err, 0, "--process %s: line %d: %s", o->process_file, je.line, je.text);
    int rc = al_oci_process_parse(doc, "process", p, err);
    if (rc == 0) { /* the strings live in doc: copy what we keep */
      for (char **a = p->args; a && *a; a++)
        *a = strdup(*a);
      for (char **e = p->env; e && *e; e++)
        *e = strdup(*e);
      p->cwd = strdup(p->cwd);
    }
    json_decref(doc);
    if (rc < 0) {
      al_oci_process_free(p); /* its strings lived in doc */
      al_err_prefix(err, "--process %s", o->process_file);
    }
    return rc;
  }
  memset(p, 0, sizeof(*p));
  size_t n = 0;
  while (o->argv[n])
    n++;
  size_t ne = 0;
  while (c->proc.env[ne])
    ne++;
  p->args = calloc(n + 1, sizeof(char *));
  p->env = calloc(ne + o->n_env + 1, sizeof(char *));
  if (!p->args || !p->env)
    return al_err(err, ENOMEM, "exec");
  for (size_t i = 0; i < n; i++)
    p->args[i] = strdup(o->argv[i]);
  size_t k = 0;
  for (size_t i = 0; i < ne; i++) {
    const char *eq = strchr(c->proc.env[i], '=');
    bool overridden = false;
    for (size_t j = 0; j < o->n_env && eq; j++)
      overridden = overridden || (strncmp(o->env[j], c->proc.env[i], (size_t)(eq - c->proc.env[i]) + 1) == 0);
    if (!overridden)
      p->env[k++] = strdup(c->proc.env[i]);
  }
  for (size_t j = 0; j < o->n_env; j++)
    p->env[k++] = strdup(o->env[j]);
  p->cwd = strdup(o->cwd ? o->cwd : c->proc.cwd);
  p->uid = o->has_user ? o->uid : c->proc.uid;
  p->gid = o->has_user ? o->gid : c->proc.gid;
  p->terminal = o->tty;
  p->umask = c->proc.umask;
  p->has_umask = c->proc.has_umask;
  memcpy(p->rlimits, c->proc.rlimits, sizeof(p->rlimits));
  p->n_rlimits = c->proc.n_rlimits;
  if (!c->proc.n_add_gids || o->has_user)
    return 0;
  p->add_gids = calloc(c->proc.n_add_gids, sizeof(uint32_t));
  if (p->add_gids) {
    memcpy(p->add_gids, c->proc.add_gids, c->proc.n_add_gids * sizeof(uint32_t));
    p->n_add_gids = c->proc.n_add_gids;
  }
  return 0;
}

static void free_exec_process(al_oci_process *p, bool owned_strings) {
  if (owned_strings) {
    for (char **a = p->args; a && *a; a++)
      free(*a);
    for (char **e = p->env; e && *e; e++)
      free(*e);
    free(p->cwd);
  }
  al_oci_process_free(p);
}

static const struct {
  const char *name;
  int flag;
} ns_files[] = {{"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
                {"net", CLONE_NEWNET},       {"pid", CLONE_NEWPID}, {"mnt", CLONE_NEWNS}};

int al_oci_exec(const al_oci_global *g, const char *id, const al_oci_exec_opts *o, airlock_error **err) {
  al_oci_state s;
  if (al_oci_state_load(g, id, &s, err) < 0)
    return -1;
  _cleanup_free_ char *dir = al_oci_dir(g, id, err);
  int rc = -1;
  al_oci_config c;
  memset(&c, 0, sizeof(c));
  al_oci_process p;
  memset(&p, 0, sizeof(p));
  char *text = NULL;
  void *bpf = NULL;
  unsigned short bpf_len = 0;
  int fds[8], nfds = 0, userfd = -1, console = -1, errpipe[2] = {-1, -1}, relay[2] = {-1, -1}, piddir = -1,
      own_pidns = -1, own_mntns = -1;
  const char *pidname = NULL;
  const char *status = dir ? al_oci_status(dir, &s) : "stopped";
  if (strcmp(status, "stopped") == 0) {
    al_err(err, 0, "cannot exec in container %s: it is stopped", id);
    goto out;
  }
  char path[PATH_MAX + 64];
  snprintf(path, sizeof(path), "%s/config.json", dir);
  size_t len = 0;
  if (!(text = al_oci_read_file(path, &len, err)) || al_oci_config_parse(text, len, &c, err) < 0)
    goto out;
  if (exec_process(o, &c, &p, err) < 0)
    goto out;
  if (c.seccomp && al_oci_seccomp_compile(c.seccomp, &bpf, &bpf_len, err) < 0)
    goto out;
  if (p.terminal && !o->console_socket && o->detach) {
    al_err(err, 0, "a terminal for a detached exec needs --console-socket");
    goto out;
  }
  if (p.terminal) {
    if (o->console_socket) {
      if ((console = unix_connect(o->console_socket, err)) < 0)
        goto out;
    } else if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, relay) < 0) {
      al_err(err, errno, "socketpair");
      goto out;
    } else {
      console = relay[1];
    }
  }
  if (o->pid_file && (piddir = al_oci_open_parent(o->pid_file, &pidname)) < 0) {
    al_err(err, errno, "--pid-file %s", o->pid_file);
    goto out;
  }
  /* the namespaces, opened while the container's process is pinned */
  int pidfd = (int)syscall(SYS_pidfd_open, s.pid, 0);
  if (pidfd < 0 || !al_oci_alive(s.pid, s.starttime)) {
    if (pidfd >= 0)
      close(pidfd);
    al_err(err, 0, "cannot exec in container %s: its process is gone", id);
    goto out;
  }
  for (size_t i = 0; i < sizeof(ns_files) / sizeof(ns_files[0]); i++) {
    char a[64], b[64];
    struct stat sa, sb;
    snprintf(a, sizeof(a), "/proc/%d/ns/%s", (int)s.pid, ns_files[i].name);
    snprintf(b, sizeof(b), "/proc/self/ns/%s", ns_files[i].name);
    if (stat(a, &sa) < 0 || (stat(b, &sb) == 0 && sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev))
      continue;
    int f = open(a, O_RDONLY | O_CLOEXEC);
    if (f >= 0)
      fds[nfds++] = f;
  }
  char up[64];
  snprintf(up, sizeof(up), "/proc/%d/ns/user", (int)s.pid);
  userfd = open(up, O_RDONLY | O_CLOEXEC);
  close(pidfd);
  if (userfd < 0) {
    al_err(err, errno, "cannot exec in container %s", id);
    goto out;
  }
  /* the cgroups, then the namespaces (the process's own children are born
   * in the pid namespace) */
  for (int k = 0; k < AL_CTRL_COUNT; k++) {
    if (!s.cgroups[k])
      continue;
    char cp[PATH_MAX + 64];
    snprintf(cp, sizeof(cp), "%s/cgroup.procs", s.cgroups[k]);
    int fd = open(cp, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "0", 1) != 1) {
      al_err(err, errno, "joining the container's cgroup %s", s.cgroups[k]);
      if (fd >= 0)
        close(fd);
      goto out;
    }
    close(fd);
  }
  if (s.devices_cg) {
    char cp[PATH_MAX + 64];
    snprintf(cp, sizeof(cp), "%s/cgroup.procs", s.devices_cg);
    int fd = open(cp, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "0", 1) != 1) {
      al_err(err, errno, "joining the container's device cgroup");
      if (fd >= 0)
        close(fd);
      goto out;
    }
    close(fd);
  }
  if (pipe2(errpipe, O_CLOEXEC) < 0) {
    al_err(err, errno, "pipe");
    goto out;
  }
  char why[300];
  if (apply_rlimits(&p, why, sizeof(why)) < 0 || apply_sched(&p, why, sizeof(why)) < 0) {
    al_err(err, 0, "%s", why);
    goto out;
  }
  /* the pid namespace only for the child: the runtime's own later
   * children (a sanitizer's tracer, hooks) stay in the host's */
  own_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
  own_mntns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
  for (int i = 0; i < nfds; i++)
    if (setns(fds[i], 0) < 0) {
      al_err(err, errno, "joining the container's namespaces");
      goto out;
    }
  pid_t child = fork();
  if (child > 0 && own_pidns >= 0)
    setns(own_pidns, CLONE_NEWPID);
  if (child > 0 && own_mntns >= 0) /* and the host's files (/proc) again */
    setns(own_mntns, CLONE_NEWNS);
  if (child < 0) {
    al_err(err, errno, "fork");
    goto out;
  }
  if (child == 0) {
    close(errpipe[0]);
    int ep = errpipe[1];
    if (relay[0] >= 0)
      close(relay[0]);
    int master = -1, slave = -1;
    if (setns(userfd, CLONE_NEWUSER) < 0) {
      dprintf(ep, "joining the user namespace: %s", strerror(errno));
      _exit(1);
    }
    if (set_ids(p.uid, p.gid, p.add_gids, p.n_add_gids) < 0) {
      dprintf(ep, "user %u:%u is not mapped in the container (%s)", p.uid, p.gid, strerror(errno));
      _exit(1);
    }
    /* the terminal is opened as the container's user, not as host root */
    if (p.terminal) {
      int e = al_oci_pty(&master, &slave, p.rows, p.cols);
      if (e < 0) {
        dprintf(ep, "terminal: %s", strerror(-e));
        _exit(1);
      }
    }
    umask(p.has_umask ? p.umask : 022);
    if (chdir(p.cwd) < 0) {
      dprintf(ep, "cwd %s: %s", p.cwd, strerror(errno));
      _exit(1);
    }
    char **env = al_oci_env_home(p.env, p.uid);
    char exe[PATH_MAX];
    int e = al_oci_find_exec(p.args[0], env, exe, sizeof(exe));
    if (e != 0) {
      char why_exec[PATH_MAX + 64];
      dprintf(ep, "%s", exec_failure(p.args[0], e, why_exec, sizeof(why_exec)));
      _exit(e == ENOENT ? 127 : 126);
    }
    if (master >= 0) {
      take_terminal(slave);
      send_master(console, master);
      close(master);
      close(console);
    } else {
      setsid();
    }
    if (lockdown(&c, why, sizeof(why)) < 0) {
      dprintf(ep, "%s", why);
      _exit(1);
    }
    /* the pid namespace's sysctl was set by the container's first process */
    int fd = open("/proc/sys/vm/memfd_noexec", O_RDONLY | O_CLOEXEC);
    char v = '0';
    if (fd >= 0) {
      if (read(fd, &v, 1) != 1)
        v = '0';
      close(fd);
    }
    if (install_seccomp(v == '1' || v == '2', bpf, bpf_len) < 0) {
      dprintf(ep, "seccomp: %s", strerror(errno));
      _exit(1);
    }
    syscall(SYS_close_range, 3 + o->preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC);
    fcntl(ep, F_SETFD, FD_CLOEXEC);
    execve(exe, p.args, env);
    dprintf(ep, "exec %s: %s", exe, strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }
  close(errpipe[1]);
  errpipe[1] = -1;
  int master = -1;
  if (relay[0] >= 0) {
    close(relay[1]);
    console = relay[1] = -1;
    char b[64];
    size_t n = 0;
    struct pollfd pf[2] = {{.fd = relay[0], .events = POLLIN}, {.fd = errpipe[0], .events = POLLIN}};
    if (poll(pf, 2, 30000) > 0 && (pf[0].revents & POLLIN))
      al_recv_fds(relay[0], b, sizeof(b), &master, 1, &n, 0, NULL);
  }
  char msg[400];
  size_t off = 0;
  for (;;) {
    ssize_t n = read(errpipe[0], msg + off, sizeof(msg) - 1 - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0 || (off += (size_t)n) >= sizeof(msg) - 1)
      break;
  }
  msg[off] = '\0';
  if (off > 0) {
    int code = wait_code(child);
    al_err(err, 0, "%s", msg);
    if (master >= 0)
      close(master);
    rc = -1;
    (void)code;
    goto out;
  }
  if (o->pid_file) {
    char num[32];
    snprintf(num, sizeof(num), "%d", (int)child);
    if (al_oci_write_file_at(piddir, pidname, num, err) < 0) {
      kill(child, SIGKILL);
      goto out;
    }
  }
  if (o->detach) {
    rc = 0;
    goto out;
  }
  forward_to = child;
  struct sigaction sa = {.sa_handler = forward};
  sigemptyset(&sa.sa_mask);
  int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
  for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
    sigaction(sigs[i], &sa, NULL);
  if (master >= 0) {
    al_oci_relay(master);
    close(master);
  }
  rc = wait_code(child);
out:
  for (int i = 0; i < nfds; i++)
    close(fds[i]);
  if (piddir >= 0)
    close(piddir);
  if (own_pidns >= 0)
    close(own_pidns);
  if (own_mntns >= 0)
    close(own_mntns);
  int more[] = {userfd, console, errpipe[0], errpipe[1], relay[0], relay[1]};
  for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
    if (more[i] >= 0 && !(i == 5 && more[i] == console))
      close(more[i]);
  free(bpf);
  free_exec_process(&p, true);
  al_oci_config_free(&c);
  free(text);
  al_oci_state_free(&s);
  return rc;
}
