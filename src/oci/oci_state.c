/* SPDX-License-Identifier: Apache-2.0 */
/* oci_state.c - a container's state directory (ROOT/ID: state.json, a copy
 * of config.json, the start socket), its status, the uid leases, hooks, and
 * the commands that only read or end a container: state, list, kill,
 * delete, features. */
#define _GNU_SOURCE
#include "oci_priv.h"
#include "cleanup.h"
#include "error.h"
#include "identity.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

char *al_oci_dir(const al_oci_global *g, const char *id, airlock_error **err) {
  size_t n = id ? strlen(id) : 0;
  if (n == 0 || n > 1024 || strcmp(id, ".") == 0 || strcmp(id, "..") == 0) {
    al_err(err, 0, "invalid container id '%s'", id ? id : "");
    return NULL;
  }
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)id[i]) && !strchr("_+-.", id[i])) {
      al_err(err, 0, "invalid character '%c' in container ID '%s' (letters, digits, '_', '+', '-' and '.' only)",
             id[i], id);
      return NULL;
    }
  char *d = NULL;
  if (asprintf(&d, "%s/%s", g->root ? g->root : AL_OCI_DEFAULT_ROOT, id) < 0) {
    al_err(err, ENOMEM, "state directory");
    return NULL;
  }
  return d;
}

char *al_oci_read_file(const char *path, size_t *len, airlock_error **err) {
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    al_err(err, errno, "%s", path);
    return NULL;
  }
  if (st.st_size > (64 << 20)) {
    al_err(err, EFBIG, "%s", path);
    return NULL;
  }
  char *buf = malloc((size_t)st.st_size + 1);
  size_t off = 0;
  while (buf && off < (size_t)st.st_size) {
    ssize_t r = read(fd, buf + off, (size_t)st.st_size - off);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    off += (size_t)r;
  }
  if (!buf) {
    al_err(err, ENOMEM, "%s", path);
    return NULL;
  }
  buf[off] = '\0';
  if (len)
    *len = off;
  return buf;
}

int al_oci_write_file(const char *path, const char *text, airlock_error **err) {
  _cleanup_free_ char *tmp = NULL;
  if (asprintf(&tmp, "%s.tmp%d", path, (int)getpid()) < 0)
    return al_err(err, ENOMEM, "%s", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return al_err(err, errno, "%s", path);
  size_t n = strlen(text);
  ssize_t w = write(fd, text, n);
  if (close(fd) < 0 || w != (ssize_t)n || rename(tmp, path) < 0) {
    int e = errno;
    unlink(tmp);
    return al_err(err, e ? e : EIO, "%s", path);
  }
  return 0;
}

int al_oci_open_parent(const char *path, const char **name) {
  const char *slash = strrchr(path, '/');
  *name = slash ? slash + 1 : path;
  if (!slash)
    return open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  char dir[PATH_MAX];
  snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
  return open(slash == path ? "/" : dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

int al_oci_write_file_at(int dirfd, const char *name, const char *text, airlock_error **err) {
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof(tmp), ".%s.tmp%d", name, (int)getpid());
  int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return al_err(err, errno, "%s", name);
  size_t n = strlen(text);
  ssize_t w = write(fd, text, n);
  if (close(fd) < 0 || w != (ssize_t)n || renameat(dirfd, tmp, dirfd, name) < 0) {
    int e = errno;
    unlinkat(dirfd, tmp, 0);
    return al_err(err, e ? e : EIO, "%s", name);
  }
  return 0;
}

unsigned long long al_oci_starttime(pid_t pid) {
  char p[64], buf[1024];
  snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
  _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  char *s = strrchr(buf, ')');
  if (!s || s[1] == '\0' || s[2] == '\0')
    return 0;
  char state = s[2];
  if (state == 'Z' || state == 'X')
    return 0; /* exited: as good as gone */
  /* fields after ')': 3 is state; starttime is field 22 */
  int field = 3;
  for (char *t = s + 2; *t; t++) {
    if (*t == ' ') {
      field++;
      if (field == 22)
        return strtoull(t + 1, NULL, 10);
    }
  }
  return 0;
}

bool al_oci_alive(pid_t pid, unsigned long long starttime) {
  if (pid <= 0)
    return false;
  unsigned long long now = al_oci_starttime(pid);
  return now != 0 && now == starttime;
}

const char *al_oci_status(const char *dir, const al_oci_state *s) {
  if (!al_oci_alive(s->pid, s->starttime))
    return "stopped";
  char p[PATH_MAX + 64];
  snprintf(p, sizeof(p), "%s/start.sock", dir);
  return access(p, F_OK) == 0 ? "created" : "running";
}

static const char *const ctrl_names[AL_CTRL_COUNT] = {"memory", "pids", "cpu"};

int al_oci_state_save(const char *dir, const al_oci_state *s, airlock_error **err) {
  json_t *cg = json_object();
  for (int c = 0; c < AL_CTRL_COUNT; c++)
    if (s->cgroups[c])
      json_object_set_new(cg, ctrl_names[c], json_pack("{s:s,s:i}", "path", s->cgroups[c], "version", s->cg_version[c]));
  json_t *ann = s->annotations ? json_incref(s->annotations) : json_object();
  json_t *doc = json_pack("{s:s,s:i,s:I,s:s,s:s,s:o,s:o,s:i,s:I,s:I}", "id", s->id, "pid", (int)s->pid, "starttime",
                          (json_int_t)s->starttime, "bundle", s->bundle, "created", s->created, "annotations",
                          ann, "cgroups", cg, "slot", s->slot, "host_uid",
                          (json_int_t)s->host_uid, "host_gid", (json_int_t)s->host_gid);
  if (!doc)
    return al_err(err, ENOMEM, "state.json");
  if (s->devices_cg)
    json_object_set_new(doc, "devices_cgroup", json_string(s->devices_cg));
  char *text = json_dumps(doc, JSON_COMPACT);
  json_decref(doc);
  if (!text)
    return al_err(err, ENOMEM, "state.json");
  char p[PATH_MAX + 64];
  snprintf(p, sizeof(p), "%s/state.json", dir);
  int rc = al_oci_write_file(p, text, err);
  free(text);
  return rc;
}

int al_oci_state_load(const al_oci_global *g, const char *id, al_oci_state *s, airlock_error **err) {
  memset(s, 0, sizeof(*s));
  s->slot = -1;
  _cleanup_free_ char *dir = al_oci_dir(g, id, err);
  if (!dir)
    return -1;
  char p[PATH_MAX + 64];
  snprintf(p, sizeof(p), "%s/state.json", dir);
  json_error_t je;
  json_t *doc = json_load_file(p, 0, &je);
  if (!doc) {
    if (access(p, F_OK) < 0 && errno == ENOENT)
      return al_err(err, 0, "container %s does not exist", id);
    return al_err(err, 0, "%s: %s", p, je.text);
  }
  const char *bundle = json_string_value(json_object_get(doc, "bundle"));
  const char *created = json_string_value(json_object_get(doc, "created"));
  s->id = strdup(id);
  s->pid = (pid_t)json_integer_value(json_object_get(doc, "pid"));
  s->starttime = (unsigned long long)json_integer_value(json_object_get(doc, "starttime"));
  s->bundle = strdup(bundle ? bundle : "");
  s->created = strdup(created ? created : "");
  s->annotations = json_incref(json_object_get(doc, "annotations"));
  s->slot = (int)json_integer_value(json_object_get(doc, "slot"));
  s->host_uid = (uint32_t)json_integer_value(json_object_get(doc, "host_uid"));
  s->host_gid = (uint32_t)json_integer_value(json_object_get(doc, "host_gid"));
  const char *dcg = json_string_value(json_object_get(doc, "devices_cgroup"));
  s->devices_cg = dcg ? strdup(dcg) : NULL;
  json_t *cg = json_object_get(doc, "cgroups");
  for (int c = 0; c < AL_CTRL_COUNT; c++) {
    json_t *e = json_object_get(cg, ctrl_names[c]);
    const char *path = json_string_value(json_object_get(e, "path"));
    if (path) {
      s->cgroups[c] = strdup(path);
      s->cg_version[c] = (int)json_integer_value(json_object_get(e, "version"));
    }
  }
  json_decref(doc);
  if (!s->id || !s->bundle || !s->created) {
    al_oci_state_free(s);
    return al_err(err, ENOMEM, "state.json");
  }
  return 0;
}

void al_oci_state_free(al_oci_state *s) {
  free(s->id);
  free(s->bundle);
  free(s->created);
  if (s->annotations)
    json_decref(s->annotations);
  for (int c = 0; c < AL_CTRL_COUNT; c++)
    free(s->cgroups[c]);
  free(s->devices_cg);
  memset(s, 0, sizeof(*s));
  s->slot = -1;
}

char *al_oci_state_doc(const al_oci_state *s, const char *status) {
  json_t *ann = s->annotations ? json_incref(s->annotations) : json_object();
  json_t *doc = json_pack("{s:s,s:s,s:s,s:i,s:s,s:s,s:o,s:s}", "ociVersion", AL_OCI_VERSION, "id", s->id, "status",
                          status, "pid", strcmp(status, "stopped") == 0 ? 0 : (int)s->pid, "bundle", s->bundle,
                          "created", s->created, "annotations", ann, "owner", "");
  if (!doc)
    return NULL;
  char path[PATH_MAX + 64];
  snprintf(path, sizeof(path), "%s/rootfs", s->bundle);
  char *text = json_dumps(doc, JSON_INDENT(2));
  json_decref(doc);
  return text;
}

char *al_oci_state_json(const al_oci_global *g, const char *id, airlock_error **err) {
  al_oci_state s;
  if (al_oci_state_load(g, id, &s, err) < 0)
    return NULL;
  _cleanup_free_ char *dir = al_oci_dir(g, id, err);
  char *doc = dir ? al_oci_state_doc(&s, al_oci_status(dir, &s)) : NULL;
  al_oci_state_free(&s);
  if (!doc && !*err)
    al_err(err, ENOMEM, "state");
  return doc;
}

int al_oci_list(const al_oci_global *g, bool as_json, bool quiet, airlock_error **err) {
  const char *root = g->root ? g->root : AL_OCI_DEFAULT_ROOT;
  DIR *d = opendir(root);
  json_t *arr = json_array();
  if (!as_json && !quiet)
    printf("%-24s %-8s %-10s %-40s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    al_oci_state s;
    airlock_error *local = NULL;
    if (al_oci_state_load(g, e->d_name, &s, &local) < 0) {
      airlock_error_free(&local);
      continue;
    }
    char dir[PATH_MAX + 300];
    snprintf(dir, sizeof(dir), "%s/%s", root, e->d_name);
    const char *st = al_oci_status(dir, &s);
    int pid = strcmp(st, "stopped") == 0 ? 0 : (int)s.pid;
    if (as_json)
      json_array_append_new(arr, json_pack("{s:s,s:i,s:s,s:s,s:s,s:s}", "id", s.id, "pid", pid, "status", st, "bundle",
                                           s.bundle, "created", s.created, "owner", "root"));
    else if (quiet)
      printf("%s\n", s.id);
    else
      printf("%-24s %-8d %-10s %-40s %s\n", s.id, pid, st, s.bundle, s.created);
    al_oci_state_free(&s);
  }
  if (d)
    closedir(d);
  if (as_json) {
    char *t = json_dumps(arr, JSON_COMPACT);
    printf("%s\n", t ? t : "[]");
    free(t);
  }
  json_decref(arr);
  (void)err;
  return 0;
}

/* ---- uid leases ---- */

static int lease_dir(airlock_error **err) {
  if (mkdir("/run/airlock", 0755) < 0 && errno != EEXIST)
    return al_err(err, errno, "mkdir /run/airlock");
  if (mkdir(AL_OCI_LEASE_DIR, 0700) < 0 && errno != EEXIST)
    return al_err(err, errno, "mkdir " AL_OCI_LEASE_DIR);
  int fd = open(AL_OCI_LEASE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0 || st.st_uid != 0 || (st.st_mode & 022)) {
    if (fd >= 0)
      close(fd);
    return al_err(err, 0, AL_OCI_LEASE_DIR " must be a directory of root's that only root may write");
  }
  return fd;
}

/* in use: the marker names a live process, or a state directory that still
 * holds a state.json, or it is being written right now (under a minute old) */
static bool slot_in_use(int dfd, const char *name) {
  _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return false;
  char buf[PATH_MAX + 64];
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  struct stat st;
  if (n < 0 || fstat(fd, &st) < 0)
    return true;
  buf[n] = '\0';
  if (time(NULL) - st.st_mtime < 60)
    return true;
  int pid = 0;
  unsigned long long start = 0;
  char dir[PATH_MAX];
  if (sscanf(buf, "%d %llu %4095[^\n]", &pid, &start, dir) != 3)
    return false;
  if (al_oci_alive(pid, start))
    return true;
  char p[PATH_MAX + 16];
  snprintf(p, sizeof(p), "%s/state.json", dir);
  return access(p, F_OK) == 0;
}

int al_oci_lease(const char *dir, uint32_t *uid, uint32_t *gid, int *slot, airlock_error **err) {
  al_id_range r;
  if (al_id_range_load_named(AL_OCI_ID_RANGE_NAME, AL_OCI_ID_RANGE_DEFAULT_START, AL_OCI_ID_RANGE_DEFAULT_COUNT,
                             "/etc/subuid", "/etc/subgid", "/etc/passwd", &r, err) < 0)
    return -1;
  _cleanup_close_ int dfd = lease_dir(err);
  if (dfd < 0)
    return -1;
  if (flock(dfd, LOCK_EX) < 0)
    return al_err(err, errno, "lock " AL_OCI_LEASE_DIR);
  uint32_t first = 0;
  if (getrandom(&first, sizeof(first), GRND_NONBLOCK) != (ssize_t)sizeof(first))
    first = (uint32_t)getpid();
  for (uint32_t i = 0; i < r.count; i++) {
    uint32_t s = (first + i) % r.count;
    char name[16];
    snprintf(name, sizeof(name), "%u", s);
    if (slot_in_use(dfd, name))
      continue;
    char text[PATH_MAX + 64];
    snprintf(text, sizeof(text), "%d %llu %s\n", (int)getpid(), al_oci_starttime(getpid()), dir);
    int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
      return al_err(err, errno, AL_OCI_LEASE_DIR "/%s", name);
    ssize_t w = write(fd, text, strlen(text));
    close(fd);
    if (w != (ssize_t)strlen(text))
      return al_err(err, EIO, AL_OCI_LEASE_DIR "/%s", name);
    *uid = r.uid_start + s;
    *gid = r.gid_start + s;
    *slot = (int)s;
    return 0; /* flock goes with dfd */
  }
  return al_err(err, EBUSY, "every container uid of %u-%u is in use", r.uid_start, r.uid_start + r.count - 1);
}

void al_oci_lease_set_pid(int slot, const char *dir, pid_t pid, unsigned long long starttime) {
  if (slot < 0)
    return;
  char p[64], text[PATH_MAX + 64];
  snprintf(p, sizeof(p), AL_OCI_LEASE_DIR "/%d", slot);
  snprintf(text, sizeof(text), "%d %llu %s\n", (int)pid, starttime, dir);
  airlock_error *e = NULL;
  al_oci_write_file(p, text, &e);
  airlock_error_free(&e);
}

void al_oci_lease_release(int slot) {
  if (slot < 0)
    return;
  char p[64];
  snprintf(p, sizeof(p), AL_OCI_LEASE_DIR "/%d", slot);
  unlink(p);
}

/* ---- hooks ---- */

int al_oci_run_hooks(const al_oci_config *c, int kind, const char *state_doc, airlock_error **err) {
  static const char *const names[AL_OCI_HOOK_KINDS] = {"prestart", "createRuntime", "poststart", "poststop"};
  for (size_t i = 0; i < c->n_hooks[kind]; i++) {
    const al_oci_hook *h = &c->hooks[kind][i];
    int in[2];
    if (pipe2(in, O_CLOEXEC) < 0)
      return al_err(err, errno, "hooks.%s[%zu]: pipe", names[kind], i);
    pid_t pid = fork();
    if (pid < 0) {
      close(in[0]);
      close(in[1]);
      return al_err(err, errno, "hooks.%s[%zu]: fork", names[kind], i);
    }
    if (pid == 0) {
      dup2(in[0], 0);
      dup2(2, 1); /* the runtime's stdout may be the caller's protocol */
      char *const noargs[] = {h->path, NULL};
      extern char **environ;
      /* without env of its own a hook inherits the runtime's, as crun and runc */
      execve(h->path, h->args && h->args[0] ? h->args : noargs, h->env ? h->env : environ);
      _exit(127);
    }
    close(in[0]);
    signal(SIGPIPE, SIG_IGN);
    ssize_t w = write(in[1], state_doc, strlen(state_doc));
    (void)w;
    close(in[1]);
    int st = 0;
    int waited_ms = 0;
    for (;;) {
      pid_t r = waitpid(pid, &st, h->timeout > 0 ? WNOHANG : 0);
      if (r == pid)
        break;
      if (r < 0 && errno != EINTR)
        break;
      if (h->timeout > 0 && waited_ms >= h->timeout * 1000) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        return al_err(err, 0, "hooks.%s[%zu] (%s) timed out after %d s", names[kind], i, h->path, h->timeout);
      }
      if (r == 0) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
        waited_ms += 10;
      }
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      char msg[512];
      snprintf(msg, sizeof(msg), "hooks.%s[%zu] (%s): %s hook failed with %s %d", names[kind], i, h->path,
               names[kind], WIFEXITED(st) ? "exit code" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
      /* poststop: every hook runs, a failure is a warning (runtime spec) */
      if (kind == AL_OCI_HOOK_POSTSTOP) {
        fprintf(stderr, "airlock-oci: warning: %s\n", msg);
        continue;
      }
      return al_err(err, 0, "%s", msg);
    }
  }
  return 0;
}

/* ---- exec helpers ---- */

int al_oci_find_exec(const char *arg0, char *const env[], char *out, size_t outlen) {
  if (strchr(arg0, '/')) {
    if (access(arg0, X_OK) < 0)
      return errno;
    snprintf(out, outlen, "%s", arg0);
    return 0;
  }
  const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (char *const *e = env; e && *e; e++)
    if (strncmp(*e, "PATH=", 5) == 0)
      path = *e + 5;
  int last = ENOENT;
  for (const char *p = path; p;) {
    const char *end = strchr(p, ':');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    char cand[PATH_MAX];
    snprintf(cand, sizeof(cand), "%.*s%s%s", (int)n, p, n ? "/" : "", arg0);
    struct stat st;
    if (stat(cand, &st) == 0 && S_ISREG(st.st_mode)) {
      if (access(cand, X_OK) == 0) {
        snprintf(out, outlen, "%s", cand);
        return 0;
      }
      last = EACCES;
    }
    p = end ? end + 1 : NULL;
  }
  return last;
}

int al_oci_pty(int *master, int *slave, unsigned short rows, unsigned short cols) {
  /* the container's own devpts instance only: /dev is the container's to
   * change, a mount point is not */
  int m = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW);
  if (m < 0)
    return -errno;
  struct stat st;
  if (fstat(m, &st) < 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 5 || minor(st.st_rdev) != 2) {
    close(m);
    return -ENOTTY;
  }
  int unlock = 0;
  if (ioctl(m, TIOCSPTLCK, &unlock) < 0) {
    int e = errno;
    close(m);
    return -e;
  }
  int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (s < 0) {
    int e = errno;
    close(m);
    return -e;
  }
  if (rows && cols) {
    struct winsize ws = {.ws_row = rows, .ws_col = cols};
    ioctl(m, TIOCSWINSZ, &ws);
  }
  *master = m;
  *slave = s;
  return 0;
}

void al_oci_relay(int master) {
  struct termios saved;
  bool raw = isatty(0) && tcgetattr(0, &saved) == 0;
  if (raw) {
    struct termios t = saved;
    cfmakeraw(&t);
    tcsetattr(0, TCSANOW, &t);
    struct winsize ws;
    if (ioctl(0, TIOCGWINSZ, &ws) == 0)
      ioctl(master, TIOCSWINSZ, &ws);
  }
  bool in_open = true;
  char buf[8192];
  for (;;) {
    struct pollfd p[2] = {{.fd = master, .events = POLLIN}, {.fd = in_open ? 0 : -1, .events = POLLIN}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = read(master, buf, sizeof(buf));
      if (n <= 0)
        break;
      for (ssize_t off = 0; off < n;) {
        ssize_t w = write(1, buf + off, (size_t)(n - off));
        if (w <= 0)
          break;
        off += w;
      }
    }
    if (in_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t n = read(0, buf, sizeof(buf));
      if (n <= 0) {
        in_open = false;
        char eof = 4; /* ^D: the end of input, as a terminal would say it */
        if (write(master, &eof, 1) < 0) {
        }
      } else if (write(master, buf, (size_t)n) < 0) {
        break;
      }
    }
  }
  if (raw)
    tcsetattr(0, TCSANOW, &saved);
}

/* HOME for a process whose environment has none: its user's in the
 * container's /etc/passwd, else "/" (as runc).  Returns env itself, or a
 * new array (the old one's strings are shared). */
char **al_oci_env_home(char **env, uid_t uid) {
  for (char **e = env; e && *e; e++)
    if (strncmp(*e, "HOME=", 5) == 0)
      return env;
  char home[PATH_MAX] = "/";
  FILE *f = fopen("/etc/passwd", "re");
  char line[1024];
  while (f && fgets(line, sizeof(line), f)) {
    char *fields[7] = {0};
    int n = 0;
    for (char *p = line, *save = NULL; n < 7 && (fields[n] = strtok_r(p, ":\n", &save)) != NULL; p = NULL)
      n++;
    if (n >= 6 && strtoul(fields[2], NULL, 10) == uid) {
      snprintf(home, sizeof(home), "%s", fields[5]);
      break;
    }
  }
  if (f)
    fclose(f);
  size_t k = 0;
  while (env && env[k])
    k++;
  char **out = calloc(k + 2, sizeof(char *));
  char *h = NULL;
  if (!out || asprintf(&h, "HOME=%s", home) < 0) {
    free(out);
    return env;
  }
  for (size_t i = 0; i < k; i++)
    out[i] = env[i];
  out[k] = h;
  return out;
}

/* ---- kill, delete ---- */

static const struct {
  const char *name;
  int sig;
} signals[] = {{"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT},   {"ILL", SIGILL},     {"TRAP", SIGTRAP},
               {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},     {"FPE", SIGFPE},     {"KILL", SIGKILL},
               {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},     {"USR2", SIGUSR2},   {"PIPE", SIGPIPE},   {"ALRM", SIGALRM},
               {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CONT", SIGCONT},   {"STOP", SIGSTOP},
               {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},   {"URG", SIGURG},     {"XCPU", SIGXCPU},
               {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},   {"WINCH", SIGWINCH}, {"IO", SIGIO},
               {"POLL", SIGPOLL}, {"PWR", SIGPWR},       {"SYS", SIGSYS}};

int al_oci_signal(const char *name) {
  if (!name || !*name)
    return -1;
  char *end = NULL;
  long n = strtol(name, &end, 10);
  if (*end == '\0')
    return n > 0 && n < 65 ? (int)n : -1;
  const char *s = strncasecmp(name, "SIG", 3) == 0 ? name + 3 : name;
  for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
    if (strcasecmp(signals[i].name, s) == 0)
      return signals[i].sig;
  if (strncasecmp(s, "RTMIN", 5) == 0 || strncasecmp(s, "RTMAX", 5) == 0) {
    long off = s[5] ? strtol(s + 5, &end, 10) : 0;
    if (*end != '\0' && s[5])
      return -1;
    int v = strncasecmp(s, "RTMIN", 5) == 0 ? SIGRTMIN + (int)off : SIGRTMAX + (int)off;
    return v >= SIGRTMIN && v <= SIGRTMAX ? v : -1;
  }
  return -1;
}

static int signal_pid(pid_t pid, unsigned long long start, int sig) {
  int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pfd < 0)
    return -errno;
  /* the pidfd pins the process: check it is still the one we started */
  int rc = 0;
  if (start == 0 || al_oci_alive(pid, start))
    rc = syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0) < 0 ? -errno : 0;
  else
    rc = -ESRCH;
  close(pfd);
  return rc;
}

/* every process of the container: its pids cgroup (or any other) */
static int signal_all(const al_oci_state *s, int sig) {
  int n = 0;
  for (int c = 0; c < AL_CTRL_COUNT; c++) {
    if (!s->cgroups[c])
      continue;
    char p[PATH_MAX + 64];
    snprintf(p, sizeof(p), "%s/cgroup.procs", s->cgroups[c]);
    FILE *f = fopen(p, "re");
    if (!f)
      continue;
    int pid;
    while (fscanf(f, "%d", &pid) == 1)
      if (kill(pid, sig) == 0)
        n++;
    fclose(f);
    break; /* one hierarchy holds them all */
  }
  return n;
}

int al_oci_kill(const al_oci_global *g, const char *id, int sig, bool all, airlock_error **err) {
  al_oci_state s;
  if (al_oci_state_load(g, id, &s, err) < 0)
    return -1;
  int rc = 0;
  if (!al_oci_alive(s.pid, s.starttime)) {
    if (all)
      signal_all(&s, sig);
    else
      rc = al_err(err, 0, "container %s is not running", id);
  } else {
    if (all)
      signal_all(&s, sig);
    int r = signal_pid(s.pid, s.starttime, sig);
    if (r < 0 && r != -ESRCH)
      rc = al_err(err, -r, "kill container %s", id);
  }
  al_oci_state_free(&s);
  return rc;
}

static void rm_tree(int dfd) {
  DIR *d = fdopendir(dfd);
  if (!d)
    return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    if (e->d_type == DT_DIR) {
      int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub >= 0)
        rm_tree(sub);
      unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
    } else {
      unlinkat(dirfd(d), e->d_name, 0);
    }
  }
  closedir(d);
}

void al_oci_remove_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0)
    rm_tree(fd);
  rmdir(dir);
}

static void rmdir_patiently(const char *dir) {
  for (int i = 0; i < 200; i++) {
    if (rmdir(dir) == 0 || errno != EBUSY)
      return;
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
  }
}

/* A v1 freezer cgroup that holds the process (someone paused it there)
 * would keep SIGKILL pending for ever: delete --force thaws it. */
static void thaw(pid_t pid) {
  char p[64], line[4096], path[PATH_MAX] = "", mnt[PATH_MAX] = "";
  snprintf(p, sizeof(p), "/proc/%d/cgroup", (int)pid);
  FILE *f = fopen(p, "re");
  while (f && fgets(line, sizeof(line), f)) {
    char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;
    if (b && strncmp(a + 1, "freezer:", 8) == 0) {
      b[1 + strcspn(b + 1, "\n")] = '\0';
      snprintf(path, sizeof(path), "%s", b + 1);
    }
  }
  if (f)
    fclose(f);
  f = fopen("/proc/self/mountinfo", "re");
  while (f && path[0] && fgets(line, sizeof(line), f)) {
    char *sep = strstr(line, " - ");
    char fstype[32], src[64], opts[512], point[PATH_MAX];
    if (sep && sscanf(sep + 3, "%31s %63s %511s", fstype, src, opts) == 3 && strcmp(fstype, "cgroup") == 0 &&
        strstr(opts, "freezer") && sscanf(line, "%*s %*s %*s %*s %4095s", point) == 1)
      snprintf(mnt, sizeof(mnt), "%s", point);
  }
  if (f)
    fclose(f);
  if (!path[0] || !mnt[0] || strcmp(path, "/") == 0)
    return;
  char state[PATH_MAX * 2 + 32];
  snprintf(state, sizeof(state), "%s%s/freezer.state", mnt, path);
  int fd = open(state, O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (write(fd, "THAWED", 6) != 6) {
    }
    close(fd);
  }
}

int al_oci_delete(const al_oci_global *g, const char *id, bool force, airlock_error **err) {
  al_oci_state s;
  if (al_oci_state_load(g, id, &s, err) < 0) {
    /* --force of a container that is not there: nothing to do, as runc */
    char *dir = force ? al_oci_dir(g, id, NULL) : NULL;
    char p[PATH_MAX + 64];
    if (dir)
      snprintf(p, sizeof(p), "%s/state.json", dir);
    bool gone = dir && access(p, F_OK) < 0 && errno == ENOENT;
    if (gone)
      al_oci_remove_dir(dir); /* a create that died half-way */
    free(dir);
    if (gone) {
      airlock_error_free(err);
      return 0;
    }
    return -1;
  }
  _cleanup_free_ char *dir = al_oci_dir(g, id, err);
  if (!dir) {
    al_oci_state_free(&s);
    return -1;
  }
  const char *st = al_oci_status(dir, &s);
  if (strcmp(st, "running") == 0 && !force) {
    al_oci_state_free(&s);
    return al_err(err, 0, "cannot delete container %s that is not stopped: running (use --force)", id);
  }
  if (strcmp(st, "stopped") != 0) {
    signal_pid(s.pid, s.starttime, SIGKILL);
    thaw(s.pid);
    for (int i = 0; i < 400 && al_oci_alive(s.pid, s.starttime); i++) {
      struct timespec ts = {0, 5000000};
      nanosleep(&ts, NULL);
    }
  }
  /* processes that outlived init (no pid namespace): the cgroup knows them */
  for (int round = 0; round < 50 && signal_all(&s, SIGKILL) > 0; round++) {
    struct timespec ts = {0, 10000000};
    nanosleep(&ts, NULL);
  }
  for (int c = 0; c < AL_CTRL_COUNT; c++) {
    bool dup = false;
    for (int d = 0; d < c; d++)
      dup = dup || (s.cgroups[d] && s.cgroups[c] && strcmp(s.cgroups[d], s.cgroups[c]) == 0);
    if (s.cgroups[c] && !dup)
      rmdir_patiently(s.cgroups[c]);
  }
  if (s.devices_cg)
    rmdir_patiently(s.devices_cg);
  /* poststop hooks, from the copy of config.json taken at create */
  char p[PATH_MAX + 64];
  snprintf(p, sizeof(p), "%s/config.json", dir);
  size_t len = 0;
  airlock_error *local = NULL;
  char *text = al_oci_read_file(p, &len, &local);
  airlock_error_free(&local);
  if (text) {
    al_oci_config c;
    if (al_oci_config_parse(text, len, &c, &local) == 0 && c.n_hooks[AL_OCI_HOOK_POSTSTOP] > 0) {
      char *doc = al_oci_state_doc(&s, "stopped");
      if (doc)
        al_oci_run_hooks(&c, AL_OCI_HOOK_POSTSTOP, doc, &local); /* failures are warnings */
      free(doc);
    }
    airlock_error_free(&local);
    al_oci_config_free(&c);
    free(text);
  }
  al_oci_remove_dir(dir);
  al_oci_lease_release(s.slot);
  al_oci_state_free(&s);
  return 0;
}

int al_oci_ps(const al_oci_global *g, const char *id, bool as_json, airlock_error **err) {
  al_oci_state s;
  if (al_oci_state_load(g, id, &s, err) < 0)
    return -1;
  json_t *pids = json_array();
  for (int c = 0; c < AL_CTRL_COUNT && json_array_size(pids) == 0; c++) {
    if (!s.cgroups[c])
      continue;
    char p[PATH_MAX + 64];
    snprintf(p, sizeof(p), "%s/cgroup.procs", s.cgroups[c]);
    FILE *f = fopen(p, "re");
    int pid;
    while (f && fscanf(f, "%d", &pid) == 1)
      json_array_append_new(pids, json_integer(pid));
    if (f)
      fclose(f);
  }
  al_oci_state_free(&s);
  if (as_json) {
    char *t = json_dumps(pids, JSON_COMPACT);
    printf("%s\n", t ? t : "[]");
    free(t);
  } else {
    printf("%-8s %s\n", "PID", "CMD");
    size_t i;
    json_t *v;
    json_array_foreach(pids, i, v) {
      char p[64], cmd[512] = "";
      snprintf(p, sizeof(p), "/proc/%d/cmdline", (int)json_integer_value(v));
      int fd = open(p, O_RDONLY | O_CLOEXEC);
      ssize_t n = fd < 0 ? 0 : read(fd, cmd, sizeof(cmd) - 1);
      if (fd >= 0)
        close(fd);
      for (ssize_t k = 0; k < n - 1; k++)
        if (cmd[k] == '\0')
          cmd[k] = ' ';
      cmd[n > 0 ? n : 0] = '\0';
      printf("%-8d %s\n", (int)json_integer_value(v), cmd);
    }
  }
  json_decref(pids);
  return 0;
}

char *al_oci_features_json(void) {
  json_t *doc = json_pack(
      "{s:s,s:s,s:[s,s,s,s],s:[s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s],"
      "s:{s:[s,s,s,s,s,s,s],s:[],s:{s:b,s:b,s:b,s:b,s:b},s:{s:b,s:[s,s,s,s,s,s,s,s],s:[s,s,s,s,s,s,s],"
      "s:[s,s,s]},s:{s:b},s:{s:b}},s:{s:s,s:s,s:s}}",
      "ociVersionMin", "1.0.0", "ociVersionMax", AL_OCI_VERSION, "hooks", "prestart", "createRuntime", "poststart",
      "poststop", "mountOptions", "bind", "rbind", "ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec",
      "sync", "async", "noatime", "atime", "relatime", "norelatime", "strictatime", "nodiratime", "diratime",
      "dirsync", "private", "rprivate", "slave", "rslave", "linux", "namespaces", "pid", "network", "ipc", "uts",
      "mount", "user", "cgroup", "capabilities", "cgroup", "v1", 1, "v2", 1, "systemd", 0, "systemdUser", 0, "rdma",
      0, "seccomp", "enabled", 1, "actions", "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL",
      "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP", "SCMP_ACT_LOG", "SCMP_ACT_TRACE",
      "operators", "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
      "SCMP_CMP_MASKED_EQ", "archs", "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "apparmor", "enabled",
      0, "selinux", "enabled", 0, "annotations", "io.github.airlock.runtime", "airlock-oci",
      "io.github.airlock.capabilities", "all dropped", "io.github.airlock.host-uid", "leased, never 0");
  if (!doc)
    return NULL;
  char *t = json_dumps(doc, JSON_INDENT(4));
  json_decref(doc);
  return t;
}
