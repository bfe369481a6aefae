/* SPDX-License-Identifier: Apache-2.0 */
/* plan.c - turning a validated spec into a launch plan (see plan.h).
 * All path resolution, policy checks and string building happen here, in the
 * launcher, where errors can still be reported cleanly and nothing exists
 * yet that would need undoing. */
#define _GNU_SOURCE
#include "plan.h"
#include "cleanup.h"
#include "error.h"
#include "identity.h"
#include "landlock.h"
#include "network.h"
#include "pathpolicy.h"
#include "usermount.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SANDBOX_HOME AL_SANDBOX_HOME
#define NOBODY 65534
#define SANDBOX_PATH AL_SANDBOX_PATH

/* Host top-level entries that make a usable system. */
static const char *const host_system[] = {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"};
/* Host /etc entries a program may need (dynamic linker, certificates,
 * Debian's alternatives symlinks, time zone).  Nothing with secrets. */
static const char *const host_etc[] = {
    "ld.so.cache", "ssl", "alternatives", "localtime", "os-release", "protocols", "services", "profile",
};
#define MAX_COPIED_FILE (256 * 1024)

/* Read a small regular file so the child can write a copy instead of
 * mounting it; leaves the entry a mount when the file is large. */
static void copy_content(al_mount_entry *e) {
  _cleanup_close_ int fd = open(e->host_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0 || st.st_size > MAX_COPIED_FILE)
    return;
  char *buf = malloc((size_t)st.st_size + 1);
  if (!buf)
    return;
  ssize_t n = read(fd, buf, (size_t)st.st_size);
  if (n != st.st_size) {
    free(buf);
    return;
  }
  e->content = buf;
  e->content_len = (size_t)n;
}

/* image top-level entries that airlock provides itself */
static const char *const image_skip[] = {"proc", "dev", "sys", "tmp", "run", "workspace", "output", "home"};

/* An entry of host (looked at as name relative to dirfd: AT_FDCWD and the
 * host path for the host's system trees, the image's descriptor and the
 * entry's name for --image).  For an image the child must find exactly the
 * inode seen here (rootfs.c), as for user-named sources. */
static int add_entry_at(al_mount_entry **arr, size_t *n, int dirfd, const char *name, const char *host,
                        const char *target, bool verify, airlock_error **err) {
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return 0; /* optional entry missing on this host */
  al_mount_entry e = {.tree_fd = -1};
  if (verify && (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))) {
    e.src_dev = st.st_dev;
    e.src_ino = st.st_ino;
  }
  if (S_ISLNK(st.st_mode)) {
    char buf[4096];
    ssize_t len = readlinkat(dirfd, name, buf, sizeof(buf) - 1);
    if (len < 0)
      return 0;
    buf[len] = '\0';
    e.type = AL_ENTRY_SYMLINK;
    e.link_target = strdup(buf);
  } else if (S_ISDIR(st.st_mode)) {
    e.type = AL_ENTRY_DIR;
  } else if (S_ISREG(st.st_mode)) {
    e.type = AL_ENTRY_FILE;
  } else {
    return 0; /* devices, sockets, fifos are never copied from a tree */
  }
  e.host_path = strdup(host);
  e.target = strdup(target);
  al_mount_entry *grown = realloc(*arr, (*n + 1) * sizeof(*grown));
  if (grown)
    *arr = grown;
  if (!grown || !e.host_path || !e.target) {
    free(e.host_path);
    free(e.target);
    free(e.link_target);
    return al_err(err, ENOMEM, "plan");
  }
  (*arr)[(*n)++] = e;
  return 0;
}

static int add_entry(al_mount_entry **arr, size_t *n, const char *host, const char *target, airlock_error **err) {
  return add_entry_at(arr, n, AT_FDCWD, host, host, target, false, err);
}

/* A user-named source: opened once, judged on the descriptor (pathpolicy.c),
 * kept open in hp[] until the trees are made.  given_fd >= 0 is a descriptor
 * the caller opened and checked itself (the node). */
static int add_user_mount(al_plan *p, al_host_path *hp, const char *what, const char *src, int given_fd,
                          const char *dst, bool writable, bool socket, airlock_error **err) {
  if (al_host_path_open(what, src, given_fd, hp, err) < 0)
    return -1;
  if (socket) {
    if (!S_ISSOCK(hp->st.st_mode))
      return al_err(err, 0, "%s '%s' is not a unix socket", what, src);
  } else if (strcmp(what, "bind source") != 0 && !S_ISDIR(hp->st.st_mode)) {
    return al_err(err, 0, "%s '%s' is not a directory", what, src);
  } else if (al_check_mount_source(what, src, hp, writable, p->spec->allow_writable_system, err) < 0) {
    return -1;
  }
  al_mount_entry e = {.type = S_ISDIR(hp->st.st_mode) ? AL_ENTRY_DIR : AL_ENTRY_FILE,
                      .writable = writable,
                      .tree_fd = -1,
                      .src_dev = hp->st.st_dev,
                      .src_ino = hp->st.st_ino,
                      .src_uid = hp->st.st_uid,
                      .src_gid = hp->st.st_gid,
                      .socket = socket};
  e.host_path = strdup(hp->real);
  e.target = strdup(dst);
  al_mount_entry *grown = realloc(p->user, (p->n_user + 1) * sizeof(*grown));
  if (grown)
    p->user = grown;
  if (!grown || !e.host_path || !e.target) {
    free(e.host_path);
    free(e.target);
    return al_err(err, ENOMEM, "plan");
  }
  p->user[p->n_user++] = e;
  return 0;
}

/* The sandbox's identity on the host.  An unprivileged caller can only map
 * itself.  Root leases a uid/gid pair of airlock's range for this sandbox
 * alone: never host root, never a user's, never another sandbox's. */
static int choose_identity(al_plan *p, airlock_error **err) {
  p->lease.lock_fd = -1;
  if (geteuid() != 0) {
    p->host_uid = geteuid();
    p->host_gid = getegid();
    p->identity = "caller";
    return 0;
  }
  p->drop_groups = true;
  static al_id_range range; /* read once per process: the node launches many */
  static bool have_range;
  if (!have_range && al_id_range_load("/etc/subuid", "/etc/subgid", "/etc/passwd", &range, err) < 0)
    return -1;
  have_range = true;
  if (al_id_lease_take(AL_ID_LOCK_FILE, &range, &p->lease, err) < 0)
    return -1;
  p->host_uid = p->lease.uid;
  p->host_gid = p->lease.gid;
  p->identity = "allocated";
  return 0;
}

/* As root: each user source becomes a detached tree, idmapped from its owner
 * on disk to the sandbox's uid where the sandbox must own files (writable
 * mounts, and read-only ones not owned by root).  A file system that cannot
 * be idmapped is refused unless degraded mode is allowed; then the sandbox
 * runs as the owner of the writable sources (never root), as before
 * idmapped mounts, and the report says so.  Read-only sources of root's are
 * not mapped: the sandbox reads them as others may. */
static int make_user_trees(al_plan *p, al_host_path *hp, airlock_error **err) {
  if (strcmp(p->identity, "caller") == 0)
    return 0; /* rootless: the child clones what it re-finds (rootfs.c) */
  struct {
    uid_t uid;
    gid_t gid;
    int fd;
  } ns[8];
  size_t n_ns = 0;
  int rc = 0;
  bool unsupported = false;
  for (size_t i = 0; i < p->n_user && rc == 0; i++) {
    al_mount_entry *e = &p->user[i];
    int userns = -1;
    /* a socket bound by name is mapped whoever owns it: connect() needs its
     * owner's write permission, and that one inode is what was asked for */
    if (e->socket || e->writable || hp[i].st.st_uid != 0) {
      for (size_t k = 0; k < n_ns && userns < 0; k++)
        if (ns[k].uid == hp[i].st.st_uid && ns[k].gid == hp[i].st.st_gid)
          userns = ns[k].fd;
      if (userns < 0 && n_ns == AL_ARRAY_SIZE(ns)) {
        rc = al_err(err, 0, "workspace, output and binds have more than %zu different owners", AL_ARRAY_SIZE(ns));
        break;
      }
      if (userns < 0) {
        userns = al_idmap_userns(hp[i].st.st_uid, hp[i].st.st_gid, p->host_uid, p->host_gid, err);
        if (userns < 0) {
          rc = -1;
          break;
        }
        ns[n_ns++] = (typeof(ns[0])){hp[i].st.st_uid, hp[i].st.st_gid, userns};
      }
    }
    const char *what = strcmp(e->target, "/workspace") == 0 ? "workspace"
                       : strcmp(e->target, "/output") == 0  ? "output"
                                                            : "bind";
    e->tree_fd = al_user_tree(&hp[i], what, e->writable, userns, &unsupported, err);
    if (e->tree_fd < 0)
      rc = -1;
  }
  for (size_t k = 0; k < n_ns; k++)
    close(ns[k].fd);
  if (rc == 0) {
    p->idmapped = n_ns > 0;
    return 0;
  }
  if (!unsupported || !p->spec->allow_degraded)
    return unsupported ? al_err_prefix(err,
                                       "%s; pass --allow-degraded to run the sandbox as the owner of its "
                                       "writable mounts instead",
                                       "refusing to run")
                       : -1;
  /* degraded: no idmapping; the sandbox is the owner of what it writes */
  uid_t owner = 0;
  gid_t group = 0;
  bool have_owner = false;
  for (size_t i = 0; i < p->n_user; i++) {
    if (p->user[i].tree_fd >= 0)
      close(p->user[i].tree_fd);
    p->user[i].tree_fd = -1;
    if (!p->user[i].writable || p->user[i].socket)
      continue;
    if (have_owner && hp[i].st.st_uid != owner)
      return al_err(err, 0, "degraded mode: writable mounts owned by uids %u and %u cannot both be the sandbox's",
                    (unsigned)owner, (unsigned)hp[i].st.st_uid);
    owner = hp[i].st.st_uid;
    group = hp[i].st.st_gid;
    have_owner = true;
  }
  if (have_owner && owner == 0)
    return al_err(err, 0, "degraded mode: the writable mounts belong to root, and a sandbox never runs as host root");
  airlock_error_free(err);
  if (have_owner) {
    al_id_lease_release(&p->lease);
    p->host_uid = owner;
    p->host_gid = group;
    p->identity = "workspace-owner";
  }
  for (size_t i = 0; i < p->n_user; i++) {
    bool ignored;
    if ((p->user[i].tree_fd = al_user_tree(&hp[i], "mount", p->user[i].writable, -1, &ignored, err)) < 0)
      return -1;
  }
  return 0;
}

static void add_writable(al_plan *p, const char *path) {
  size_t n = 0;
  while (p->writable[n])
    n++;
  if (n < AL_MAX_WRITABLE)
    p->writable[n] = path;
}

static int build_env(al_plan *p, const airlock_spec *spec, airlock_error **err) {
  const char *term = getenv("TERM");
  bool term_ok = term && *term && strlen(term) < 64;
  for (const char *c = term; term_ok && *c; c++)
    term_ok = isalnum((unsigned char)*c) || *c == '-' || *c == '.' || *c == '_';
  char term_kv[80];
  snprintf(term_kv, sizeof(term_kv), "TERM=%s", term_ok ? term : "dumb");
  /* proxy mode: every common spelling points at the proxy; a --env of the
   * same name wins, like for the other base variables */
  const char *base[4 + AL_EGRESS_ENV_COUNT] = {"PATH=" SANDBOX_PATH, "HOME=" SANDBOX_HOME, "LANG=C.UTF-8",
                                                         term_kv};
  size_t n_base = 4;
  for (size_t i = 0; p->egress && al_egress_env[i]; i++)
    base[n_base++] = al_egress_env[i];
  size_t cap = n_base + spec->n_env + 1;
  p->envp = calloc(cap, sizeof(char *));
  if (!p->envp)
    return al_err(err, ENOMEM, "env");
  size_t n = 0;
  for (size_t i = 0; i < n_base; i++) {
    size_t key = strcspn(base[i], "=") + 1;
    bool overridden = false;
    for (size_t j = 0; j < spec->n_env; j++)
      overridden = overridden || strncmp(spec->env[j], base[i], key) == 0;
    if (!overridden)
      p->envp[n++] = strdup(base[i]);
  }
  for (size_t j = 0; j < spec->n_env; j++)
    p->envp[n++] = strdup(spec->env[j]);
  for (size_t i = 0; i < n; i++)
    if (!p->envp[i])
      return al_err(err, ENOMEM, "env");
  return 0;
}

/* The host's trust store, where the common distributions keep it. */
int al_plan_trust_egress_ca(al_plan *p, const char *pem, airlock_error **err) {
  size_t host_len = 0, pem_len = strlen(pem);
  _cleanup_free_ char *host = al_read_host_ca_bundle(&host_len, err);
  if (!host)
    return -1;
  p->egress_ca = strdup(pem);
  p->ca_bundle = malloc(host_len + pem_len + 2);
  if (!p->egress_ca || !p->ca_bundle)
    return al_err(err, ENOMEM, "plan");
  memcpy(p->ca_bundle, host, host_len);
  if (host_len && host[host_len - 1] != '\n')
    p->ca_bundle[host_len++] = '\n';
  memcpy(p->ca_bundle + host_len, pem, pem_len);
  p->ca_bundle_len = host_len + pem_len;
  /* the trust-store variables (network.h); a --env of the same name wins */
  size_t n = 0;
  while (p->envp && p->envp[n])
    n++;
  char **grown = realloc(p->envp, (n + AL_EGRESS_CA_ENV_COUNT + 1) * sizeof(char *));
  if (!grown)
    return al_err(err, ENOMEM, "env");
  p->envp = grown;
  for (size_t i = 0; al_egress_ca_env[i]; i++) {
    size_t key = strcspn(al_egress_ca_env[i], "=") + 1;
    bool given = false;
    for (size_t j = 0; j < p->spec->n_env && !given; j++)
      given = strncmp(p->spec->env[j], al_egress_ca_env[i], key) == 0;
    if (given)
      continue;
    p->envp[n] = strdup(al_egress_ca_env[i]);
    if (!p->envp[n])
      return al_err(err, ENOMEM, "env");
    p->envp[++n] = NULL;
  }
  p->envp[n] = NULL;
  return 0;
}

int al_plan_build(al_plan *p, const airlock_spec *spec, airlock_error **err) {
  memset(p, 0, sizeof(*p));
  p->spec = spec;
  p->sync_fd = p->status_fd = -1;
  p->ws_index = -1;
  p->inside_uid = spec->uid;
  p->inside_gid = spec->uid;
  if (choose_identity(p, err) < 0)
    return -1;

  static const char *const bases[] = {"/tmp", "/mnt", "/run", "/var/tmp"};
  struct stat st;
  for (size_t i = 0; i < AL_ARRAY_SIZE(bases) && !p->root_base; i++)
    if (stat(bases[i], &st) == 0 && S_ISDIR(st.st_mode))
      p->root_base = bases[i];
  if (!p->root_base)
    return al_err(err, 0, "none of /tmp, /mnt, /run, /var/tmp exists to assemble the sandbox root on");

  if (spec->image) {
    /* opened once like every user-named source; its entries are read
     * through that descriptor and re-found by inode in the child */
    al_host_path img;
    if (al_host_path_open("image", spec->image, -1, &img, err) < 0)
      return -1;
    if (!S_ISDIR(img.st.st_mode) || al_check_mount_source("image", spec->image, &img, false, false, err) < 0) {
      if (!S_ISDIR(img.st.st_mode))
        al_err(err, 0, "image '%s' is not a directory", spec->image);
      al_host_path_close(&img);
      return -1;
    }
    int dfd = openat(img.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    _cleanup_closedir_ DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
      if (dfd >= 0)
        close(dfd);
      al_err(err, errno, "image '%s'", img.real);
      al_host_path_close(&img);
      return -1;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
        continue;
      bool skip = false;
      for (size_t i = 0; i < AL_ARRAY_SIZE(image_skip); i++)
        skip = skip || strcmp(e->d_name, image_skip[i]) == 0;
      if (skip)
        continue;
      char host[4096], target[512];
      snprintf(host, sizeof(host), "%s/%s", img.real, e->d_name);
      snprintf(target, sizeof(target), "/%s", e->d_name);
      if (add_entry_at(&p->system, &p->n_system, dirfd(d), e->d_name, host, target, true, err) < 0) {
        al_host_path_close(&img);
        return -1;
      }
    }
    al_host_path_close(&img);
  } else {
    p->generate_etc = true;
    for (size_t i = 0; i < AL_ARRAY_SIZE(host_system); i++) {
      char host[64], target[64];
      snprintf(host, sizeof(host), "/%s", host_system[i]);
      snprintf(target, sizeof(target), "/%s", host_system[i]);
      if (add_entry(&p->system, &p->n_system, host, target, err) < 0)
        return -1;
    }
    for (size_t i = 0; i < AL_ARRAY_SIZE(host_etc); i++) {
      char host[128], target[128];
      snprintf(host, sizeof(host), "/etc/%s", host_etc[i]);
      snprintf(target, sizeof(target), "/etc/%s", host_etc[i]);
      if (add_entry(&p->etc, &p->n_etc, host, target, err) < 0)
        return -1;
      if (p->n_etc && p->etc[p->n_etc - 1].type == AL_ENTRY_FILE && p->etc[p->n_etc - 1].content == NULL &&
          strcmp(p->etc[p->n_etc - 1].target, target) == 0)
        copy_content(&p->etc[p->n_etc - 1]);
    }
  }

  const char *workspace = spec->workspace_none ? NULL : spec->workspace;
  bool has_workspace = !spec->workspace_none && (spec->workspace || spec->workspace_fd >= 0);
  size_t n_sources = 2 + spec->n_binds + spec->n_sockets;
  al_host_path *hp = calloc(n_sources, sizeof(*hp));
  if (hp == NULL)
    return al_err(err, ENOMEM, "plan");
  for (size_t i = 0; i < n_sources; i++)
    hp[i].fd = -1;
  int rc = 0;
  if (has_workspace)
    rc = add_user_mount(p, &hp[p->n_user], "workspace", workspace ? workspace : "(given)", spec->workspace_fd,
                        "/workspace", spec->workspace_rw, false, err);
  if (rc == 0 && spec->output)
    rc = add_user_mount(p, &hp[p->n_user], "output", spec->output, -1, "/output", true, false, err);
  for (size_t i = 0; rc == 0 && i < spec->n_binds; i++) {
    if (al_check_mount_target("bind", spec->binds[i].dst, err) < 0)
      rc = -1;
    else
      rc = add_user_mount(p, &hp[p->n_user], "bind source", spec->binds[i].src, -1, spec->binds[i].dst,
                          spec->binds[i].writable, false, err);
  }
  for (size_t i = 0; rc == 0 && i < spec->n_sockets; i++) {
    if (al_check_mount_target("socket", spec->sockets[i].dst, err) < 0)
      rc = -1;
    else
      rc =
          add_user_mount(p, &hp[p->n_user], "socket", spec->sockets[i].src, -1, spec->sockets[i].dst, false, true, err);
  }
  if (rc == 0)
    rc = make_user_trees(p, hp, err);
  if (rc == 0 && has_workspace && spec->workspace_rw)
    p->ws_index = 0;
  /* every read-write directory: the workspace (first), the output, rw
   * binds; the write-back's way to each is the descriptor judged above */
  for (size_t i = 0; rc == 0 && i < p->n_user; i++) {
    if (!p->user[i].writable || p->user[i].type != AL_ENTRY_DIR || p->user[i].socket)
      continue;
    if (p->n_ovl == AL_MAX_OVERLAID) {
      rc = al_err(err, 0, "more than %d read-write directories (workspace, output and binds)", AL_MAX_OVERLAID);
      break;
    }
    al_overlaid *o = &p->ovl[p->n_ovl];
    *o = (al_overlaid){.user_index = (int)i};
    if ((o->host_fd = fcntl(hp[i].fd, F_DUPFD_CLOEXEC, 3)) < 0)
      rc = al_err(err, errno, "%s", p->user[i].target);
    else
      p->n_ovl++;
  }
  for (size_t i = 0; i < n_sources; i++)
    al_host_path_close(&hp[i]);
  free(hp);
  if (rc < 0)
    return -1;

  const char *hostname = spec->hostname ? spec->hostname : "airlock";
  const char *uname = spec->uid == 0 ? "root" : "sandbox";
  if (asprintf(&p->passwd,
               "root:x:0:0:root:%s:/bin/sh\n%s%s:x:%u:%u:airlock "
               "sandbox:%s:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
               spec->uid == 0 ? SANDBOX_HOME : "/root", spec->uid == 0 ? "#" : "", uname, spec->uid, spec->uid,
               SANDBOX_HOME) < 0 ||
      asprintf(&p->group, "root:x:0:\n%s%s:x:%u:\nnogroup:x:65534:\n", spec->uid == 0 ? "#" : "", uname, spec->uid) <
          0 ||
      asprintf(&p->hosts, "127.0.0.1\tlocalhost %s\n::1\tlocalhost ip6-localhost ip6-loopback\n", hostname) < 0 ||
      asprintf(&p->hostname, "%s", hostname) < 0)
    return al_err(err, ENOMEM, "plan");

  p->egress = spec->network == AIRLOCK_NETWORK_PROXY;
  if (build_env(p, spec, err) < 0)
    return -1;
  size_t argc = 0;
  while (spec->argv && spec->argv[argc])
    argc++;
  p->argv = calloc(argc + 1, sizeof(char *));
  if (!p->argv)
    return al_err(err, ENOMEM, "argv");
  for (size_t i = 0; i < argc; i++)
    if ((p->argv[i] = strdup(spec->argv[i])) == NULL)
      return al_err(err, ENOMEM, "argv");
  p->home = SANDBOX_HOME;
  p->cwd = spec->cwd ? spec->cwd : has_workspace ? "/workspace" : SANDBOX_HOME;

  /* The root tmpfs (rootfs.c): --disk bytes, and one inode per 4 KiB of
   * them, but at least 1024 (the root's own entries take about 40).  Empty
   * files, directories, links and sockets take no space, only inodes, each
   * about 1.2 KiB of kernel memory that --disk does not see; tmpfs's own
   * default allows half the host's RAM pages.  One inode per page is the
   * most files --disk could hold if none were empty, so it costs real
   * workloads nothing and bounds that memory to about 30% of --disk. */
  long long inodes = spec->disk_bytes / 4096 > 1024 ? spec->disk_bytes / 4096 : 1024;
  snprintf(p->scratch_opts, sizeof(p->scratch_opts), "size=%lld,nr_inodes=%lld", (long long)spec->disk_bytes, inodes);

  /* The workspace's upper layer: its own tmpfs, so the quota holds apart
   * from --disk; inodes as for the root tmpfs (one per 4 KiB, at least 1024) */
  p->ws_quota_bytes = spec->workspace_quota_bytes ? spec->workspace_quota_bytes : spec->disk_bytes;
  p->ws_quota_inodes = p->ws_quota_bytes / 4096 > 1024 ? p->ws_quota_bytes / 4096 : 1024;
  snprintf(p->ws_opts, sizeof(p->ws_opts), "size=%lld,nr_inodes=%lld,mode=0700", (long long)p->ws_quota_bytes,
           (long long)p->ws_quota_inodes);
  int64_t biggest = p->ws_quota_bytes > spec->disk_bytes ? p->ws_quota_bytes : spec->disk_bytes;

  /* rlimits that always apply */
  /* a backstop behind the wall-clock timer: the timeout's CPU seconds
   * (truncated) plus two */
  rlim_t cpu_seconds = (rlim_t)(spec->timeout_sec * (spec->cpus > 1 ? spec->cpus : 1)) + 2;
  p->rlimits[p->n_rlimits++] = (al_rlimit){RLIMIT_CORE, 0};
  p->rlimits[p->n_rlimits++] = (al_rlimit){RLIMIT_NOFILE, (rlim_t)spec->nofile};
  /* a little above the larger tmpfs cap so tmpfs reports ENOSPC first; it
   * also bounds each file written to a host-backed mount (output, binds) */
  p->rlimits[p->n_rlimits++] = (al_rlimit){RLIMIT_FSIZE, (rlim_t)biggest + (1 << 20)};
  p->rlimits[p->n_rlimits++] = (al_rlimit){RLIMIT_CPU, cpu_seconds};

  /* Landlock: writes only below these */
  /* /dev holds only the device nodes, pts and shm; its own mount is read-only */
  static const char *const always_writable[] = {"/tmp", "/dev", SANDBOX_HOME};
  for (size_t i = 0; i < AL_ARRAY_SIZE(always_writable); i++)
    add_writable(p, always_writable[i]);
  for (size_t i = 0; i < p->n_user; i++)
    if (p->user[i].writable)
      add_writable(p, p->user[i].target);
  p->landlock_abi = al_landlock_abi();
  return 0;
}

void al_plan_wipe_secrets(al_plan *p) {
  for (size_t i = 0; i < p->n_secrets; i++)
    if (p->secrets[i].value)
      explicit_bzero(p->secrets[i].value, p->secrets[i].len);
}

void al_plan_free(al_plan *p) {
  al_plan_wipe_secrets(p);
  for (size_t i = 0; i < p->n_secrets; i++)
    free(p->secrets[i].value);
  free(p->secrets);
  al_mount_entry *lists[] = {p->system, p->etc, p->user};
  size_t counts[] = {p->n_system, p->n_etc, p->n_user};
  for (int l = 0; l < 3; l++) {
    for (size_t i = 0; i < counts[l]; i++) {
      if (lists[l][i].tree_fd >= 0)
        close(lists[l][i].tree_fd);
      free(lists[l][i].host_path);
      free(lists[l][i].target);
      free(lists[l][i].link_target);
      free(lists[l][i].content);
    }
    free(lists[l]);
  }
  free(p->egress_ca);
  free(p->ca_bundle);
  free(p->passwd);
  free(p->group);
  free(p->hosts);
  free(p->hostname);
  for (char **e = p->envp; e && *e; e++)
    free(*e);
  free(p->envp);
  for (char **a = p->argv; a && *a; a++)
    free(*a);
  free(p->argv);
  al_bpf_free(&p->seccomp);
  al_id_lease_release(&p->lease);
  for (size_t i = 0; i < p->n_ovl; i++)
    close(p->ovl[i].host_fd);
  memset(p, 0, sizeof(*p));
  p->lease.lock_fd = -1;
}
