/* SPDX-License-Identifier: Apache-2.0 */
/* gvisor_bundle.c - the plan of a sandbox as an OCI bundle for runsc.
 *
 * dir/rootfs is a skeleton that runsc mounts read-only as the root: the
 * mount points, the symbolic links of the system entries (bin -> usr/bin),
 * and the generated /etc files (passwd, group, hosts, hostname,
 * nsswitch.conf, and the small host files the plan copied).  Everything
 * else is a mount of dir/config.json: the system trees and larger /etc
 * entries read-only, the workspace, /output and --bind as the plan decided,
 * tmpfs for /tmp and HOME sized by --disk, gVisor's own /proc and /dev.
 * Host paths are the plan's canonical ones, checked by the bind guard. */
#define _GNU_SOURCE
#include "cleanup.h"
#include "error.h"
#include "gvisor.h"
#include "network.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* mkdir -p of an absolute target below rootfd; the last component is a
 * directory, or an empty file when file is set (a file bind mount's point) */
static int make_point(int rootfd, const char *target, bool file, airlock_error **err) {
  char path[4096];
  snprintf(path, sizeof(path), "%s", target + (target[0] == '/'));
  if (path[0] == '\0')
    return 0;
  for (char *p = path;; p++) {
    bool last = *p == '\0';
    if (*p == '/' || last) {
      char saved = *p;
      *p = '\0';
      if (last && file) {
        int fd = openat(rootfd, path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST)
          return al_err(err, errno, "gvisor bundle: mount point %s", target);
        if (fd >= 0)
          close(fd);
      } else if (mkdirat(rootfd, path, 0755) < 0 && errno != EEXIST) {
        return al_err(err, errno, "gvisor bundle: mount point %s", target);
      }
      *p = saved;
      if (last)
        break;
    }
  }
  return 0;
}

static int write_at(int rootfd, const char *name, const char *content, size_t len, airlock_error **err) {
  _cleanup_close_ int fd = openat(rootfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, content, len) != (ssize_t)len)
    return al_err(err, errno, "gvisor bundle: write /%s", name);
  return 0;
}

static json_t *bind_mount(const char *dst, const char *src, bool writable, bool noexec) {
  json_t *opts = json_pack("[s, s, s, s]", "rbind", writable ? "rw" : "ro", "nosuid", "nodev");
  if (noexec)
    json_array_append_new(opts, json_string("noexec"));
  return json_pack("{s:s, s:s, s:s, s:o}", "destination", dst, "type", "bind", "source", src, "options", opts);
}

static json_t *tmpfs_mount(const char *dst, const char *mode, int64_t size, bool exec, const al_gvisor_ids *owner) {
  char size_opt[48];
  snprintf(size_opt, sizeof(size_opt), "size=%lld", (long long)size);
  json_t *opts = json_pack("[s, s, s, s]", "nosuid", "nodev", mode, size_opt);
  if (owner) {
    char id[32];
    snprintf(id, sizeof(id), "uid=%u", (unsigned)owner->inside_uid);
    json_array_append_new(opts, json_string(id));
    snprintf(id, sizeof(id), "gid=%u", (unsigned)owner->inside_gid);
    json_array_append_new(opts, json_string(id));
  }
  if (!exec)
    json_array_append_new(opts, json_string("noexec"));
  return json_pack("{s:s, s:s, s:s, s:o}", "destination", dst, "type", "tmpfs", "source", "tmpfs", "options", opts);
}

static json_t *id_mapping(uint32_t inside, uint32_t host) {
  return json_pack("{s:I, s:I, s:I}", "containerID", (json_int_t)inside, "hostID", (json_int_t)host, "size",
                   (json_int_t)1);
}

static void add_entries(json_t *mounts, const al_mount_entry *e, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (e[i].type == AL_ENTRY_SYMLINK || e[i].content)
      continue; /* in the skeleton */
    json_array_append_new(mounts, bind_mount(e[i].target, e[i].host_path, false, false));
  }
}

/* the OCI process: argv, env, cwd, the user, no capability, the rlimits */
static json_t *process_obj(const al_plan *p, const al_gvisor_ids *ids, char *const *argv, char *const *envp,
                           const char *cwd, bool first) {
  const airlock_spec *spec = p->spec;
  json_t *args = json_array();
  for (char *const *a = argv; a && *a; a++)
    json_array_append_new(args, json_string(*a));
  json_t *env = json_array();
  for (char *const *e = envp; e && *e; e++)
    json_array_append_new(env, json_string(*e));
  /* the limits runsc passes on to the sentry's processes; memory, pids and
   * cpu are airlock's cgroups around runsc */
  json_t *rlimits = json_array();
  for (int i = 0; i < p->n_rlimits; i++) {
    const char *name = NULL;
    switch (p->rlimits[i].resource) {
    case RLIMIT_CORE: name = "RLIMIT_CORE"; break;
    case RLIMIT_NOFILE: name = "RLIMIT_NOFILE"; break;
    case RLIMIT_FSIZE: name = "RLIMIT_FSIZE"; break;
    case RLIMIT_CPU: name = "RLIMIT_CPU"; break;
    default: break;
    }
    if (name)
      json_array_append_new(rlimits, json_pack("{s:s, s:I, s:I}", "type", name, "hard",
                                               (json_int_t)p->rlimits[i].value, "soft",
                                               (json_int_t)p->rlimits[i].value));
  }
  /* processes: gVisor counts the sandbox's tasks itself (airlock's pids
   * cgroup holds runsc's own threads, which are not the command's) */
  json_array_append_new(rlimits, json_pack("{s:s, s:I, s:I}", "type", "RLIMIT_NPROC", "hard", (json_int_t)spec->pids,
                                           "soft", (json_int_t)spec->pids));
  if (ids->as_limit > 0)
    json_array_append_new(rlimits, json_pack("{s:s, s:I, s:I}", "type", "RLIMIT_AS", "hard",
                                             (json_int_t)ids->as_limit, "soft", (json_int_t)ids->as_limit));
  /* no capability at all, in any set: root of gVisor's namespace included.
   * The one exception: the egress relay, the first process, has it in its
   * effective and permitted sets only (the bounding set stays empty, so no
   * exec can get it back) to bind port 53, and drops it before the command
   * starts */
  json_t *caps = first && ids->relay_path
                     ? json_pack("{s:[], s:[s], s:[], s:[s], s:[]}", "bounding", "effective",
                                 "CAP_NET_BIND_SERVICE", "inheritable", "permitted", "CAP_NET_BIND_SERVICE",
                                 "ambient")
                     : json_pack("{s:[], s:[], s:[], s:[], s:[]}", "bounding", "effective", "inheritable",
                                 "permitted", "ambient");
  return json_pack("{s:b, s:{s:I, s:I}, s:o, s:o, s:s, s:o, s:b, s:o}", "terminal", 0, "user", "uid",
                (json_int_t)ids->inside_uid, "gid", (json_int_t)ids->inside_gid, "args", args, "env", env, "cwd",
                cwd, "capabilities", caps, "noNewPrivileges", 1, "rlimits", rlimits);

}

char *al_gvisor_process_json(const al_plan *p, const al_gvisor_ids *ids, char *const *argv, char *const *envp,
                             const char *cwd) {
  json_t *o = process_obj(p, ids, argv, envp, cwd, false);
  char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  return text;
}

char *al_gvisor_config_json(const al_plan *p, const al_gvisor_ids *ids, const char *rootfs) {
  const airlock_spec *spec = p->spec;
  json_t *process = process_obj(p, ids, p->argv, p->envp, p->cwd, true);
  json_t *mounts = json_array();
  json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:[s,s,s]}", "destination", "/proc", "type", "proc",
                                          "source", "proc", "options", "nosuid", "nodev", "noexec"));
  /* gVisor's own /sys is synthetic, but nothing needs it: an empty,
   * read-only tmpfs in its place, as under namespaces (no /sys) */
  json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:[s,s,s,s,s]}", "destination", "/sys", "type", "tmpfs",
                                          "source", "tmpfs", "options", "ro", "nosuid", "nodev", "noexec", "size=4k"));
  add_entries(mounts, p->system, p->n_system);
  if (p->generate_etc)
    add_entries(mounts, p->etc, p->n_etc);
  json_array_append_new(mounts, tmpfs_mount("/tmp", "mode=1777", spec->disk_bytes, spec->tmp_exec, NULL));
  json_array_append_new(mounts, tmpfs_mount("/dev/shm", "mode=1777", spec->disk_bytes, spec->tmp_exec, NULL));
  json_array_append_new(mounts, tmpfs_mount(p->home, "mode=0700", spec->disk_bytes, spec->tmp_exec, ids));
  for (size_t i = 0; i < p->n_user; i++) {
    char src[PATH_MAX + 32];
    if (ids->user_src_dir)
      snprintf(src, sizeof(src), "%s/%zu", ids->user_src_dir, i);
    json_array_append_new(mounts, bind_mount(p->user[i].target, ids->user_src_dir ? src : p->user[i].host_path,
                                             p->user[i].writable, false));
  }
  if (ids->relay_path) { /* --network proxy: gvisor_egress.c */
    json_array_append_new(mounts, bind_mount(AL_GVISOR_RELAY, ids->relay_path, false, false));
    json_array_append_new(mounts, bind_mount(AL_GVISOR_NET_DIR, ids->net_dir, false, true));
  }
  if (ids->ca_store_path) /* after /etc's mounts: the store with the proxy's CA over the system's */
    json_array_append_new(mounts, bind_mount(AL_SYSTEM_CA_BUNDLE, ids->ca_store_path, false, true));

  json_t *namespaces = json_pack("[{s:s}, {s:s}, {s:s}, {s:s}, {s:s}]", "type", "pid", "type", "network", "type",
                                 "ipc", "type", "uts", "type", "mount");
  json_t *linux_ = json_pack("{s:o}", "namespaces", namespaces);
  if (ids->userns) {
    json_array_append_new(namespaces, json_pack("{s:s}", "type", "user"));
    json_t *uids = json_array(), *gids = json_array();
    if (ids->inside_uid != 0) {
      json_array_append_new(uids, id_mapping(0, ids->root_host_uid));
      json_array_append_new(gids, id_mapping(0, ids->root_host_gid));
    }
    json_array_append_new(uids, id_mapping(ids->inside_uid, ids->inside_host_uid));
    json_array_append_new(gids, id_mapping(ids->inside_gid, ids->inside_host_gid));
    json_object_set_new(linux_, "uidMappings", uids);
    json_object_set_new(linux_, "gidMappings", gids);
  }
  json_t *root = json_pack("{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:o}", "ociVersion", "1.0.2", "process", process,
                           "root", "path", rootfs, "readonly", 1, "hostname", p->hostname, "mounts", mounts, "linux",
                           linux_);
  if (root == NULL)
    return NULL;
  char *text = json_dumps(root, JSON_COMPACT);
  json_decref(root);
  return text;
}

static int skeleton_entries(int rootfd, const al_mount_entry *e, size_t n, airlock_error **err) {
  for (size_t i = 0; i < n; i++) {
    const char *rel = e[i].target + 1;
    if (e[i].type == AL_ENTRY_SYMLINK) {
      char parent[4096];
      snprintf(parent, sizeof(parent), "%s", e[i].target);
      char *slash = strrchr(parent, '/');
      if (slash && slash != parent) {
        *slash = '\0';
        if (make_point(rootfd, parent, false, err) < 0)
          return -1;
      }
      if (symlinkat(e[i].link_target, rootfd, rel) < 0 && errno != EEXIST)
        return al_err(err, errno, "gvisor bundle: symlink %s", e[i].target);
    } else if (e[i].content) {
      if (write_at(rootfd, rel, e[i].content, e[i].content_len, err) < 0)
        return -1;
    } else if (make_point(rootfd, e[i].target, e[i].type == AL_ENTRY_FILE, err) < 0) {
      return -1;
    }
  }
  return 0;
}

/* --secret: /run/secrets/NAME in the skeleton root, 0400 and the
 * command's own (as root: chowned to the host uid the command maps to,
 * which gVisor's gofer may read), the directory 0500.  The plan's copies
 * are wiped here; the files are overwritten and removed with the bundle. */
static int write_secrets(int rootfd, const al_plan *p, const al_gvisor_ids *ids, airlock_error **err) {
  if (p->n_secrets == 0)
    return 0;
  if (make_point(rootfd, "/run/secrets", false, err) < 0)
    return -1;
  _cleanup_close_ int dir = openat(rootfd, "run/secrets", O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir < 0)
    return al_err(err, errno, "gvisor bundle: /run/secrets");
  for (size_t i = 0; i < p->n_secrets; i++) {
    const al_secret_file *f = &p->secrets[i];
    _cleanup_close_ int fd = openat(dir, f->name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0400);
    size_t off = 0;
    while (fd >= 0 && off < f->len) {
      ssize_t w = write(fd, f->value + off, f->len - off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        break;
      off += (size_t)w;
    }
    if (fd < 0 || off < f->len || (ids->userns && fchown(fd, ids->inside_host_uid, ids->inside_host_gid) < 0))
      return al_err(err, errno, "gvisor bundle: write /run/secrets/%s", f->name);
  }
  if (fchmod(dir, 0500) < 0 || (ids->userns && fchown(dir, ids->inside_host_uid, ids->inside_host_gid) < 0))
    return al_err(err, errno, "gvisor bundle: /run/secrets");
  return 0;
}

/* overwrite the secret files before the bundle is removed */
void al_gvisor_wipe_secrets(int bundle_dirfd, const al_plan *p) {
  _cleanup_close_ int dir = openat(bundle_dirfd, "rootfs/run/secrets", O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  for (size_t i = 0; dir >= 0 && i < p->n_secrets; i++) {
    struct stat st;
    _cleanup_close_ int fd = openat(dir, p->secrets[i].name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
      continue;
    static const char zeros[4096];
    for (off_t off = 0; off < st.st_size;) {
      size_t n = (size_t)(st.st_size - off) < sizeof(zeros) ? (size_t)(st.st_size - off) : sizeof(zeros);
      ssize_t w = pwrite(fd, zeros, n, off);
      if (w <= 0)
        break;
      off += w;
    }
    fsync(fd);
  }
  if (dir >= 0)
    fchmod(dir, 0700); /* rootless, its files cannot be removed from a 0500 directory */
}

int al_gvisor_write_bundle(const al_plan *p, const al_gvisor_ids *ids, int dirfd, const char *dir,
                           airlock_error **err) {
  if (mkdirat(dirfd, "rootfs", 0755) < 0)
    return al_err(err, errno, "gvisor bundle: mkdir %s/rootfs", dir);
  _cleanup_close_ int rootfd = openat(dirfd, "rootfs", O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (rootfd < 0)
    return al_err(err, errno, "gvisor bundle: open %s/rootfs", dir);
  static const char *const points[] = {"/proc", "/dev", "/sys", "/tmp", "/dev/shm", "/var"};
  for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++)
    if (make_point(rootfd, points[i], false, err) < 0)
      return -1;
  if (symlinkat("../tmp", rootfd, "var/tmp") < 0 && errno != EEXIST)
    return al_err(err, errno, "gvisor bundle: symlink /var/tmp");
  if (make_point(rootfd, p->home, false, err) < 0 || skeleton_entries(rootfd, p->system, p->n_system, err) < 0)
    return -1;
  if (p->generate_etc) {
    if (make_point(rootfd, "/etc", false, err) < 0)
      return -1;
    /* the plan's passwd names spec->uid; rootless the command is gVisor's root */
    char passwd[512], group[256];
    if (ids->inside_uid == p->inside_uid) {
      snprintf(passwd, sizeof(passwd), "%s", p->passwd);
      snprintf(group, sizeof(group), "%s", p->group);
    } else {
      snprintf(passwd, sizeof(passwd),
               "root:x:0:0:root:%s:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n", p->home);
      snprintf(group, sizeof(group), "root:x:0:\nnogroup:x:65534:\n");
    }
    const char *nss = p->egress ? "passwd: files\ngroup: files\nhosts: files dns\n"
                                : "passwd: files\ngroup: files\nhosts: files\n";
    if (write_at(rootfd, "etc/passwd", passwd, strlen(passwd), err) < 0 ||
        write_at(rootfd, "etc/group", group, strlen(group), err) < 0 ||
        write_at(rootfd, "etc/hosts", p->hosts, strlen(p->hosts), err) < 0 ||
        write_at(rootfd, "etc/hostname", p->hostname, strlen(p->hostname), err) < 0 ||
        write_at(rootfd, "etc/nsswitch.conf", nss, strlen(nss), err) < 0 ||
        skeleton_entries(rootfd, p->etc, p->n_etc, err) < 0)
      return -1;
    /* proxy mode: names are answered by the proxy's DNS stub, through the relay */
    static const char resolv[] = "nameserver " AL_EGRESS_HOST "\n";
    if (p->egress && write_at(rootfd, "etc/resolv.conf", resolv, sizeof(resolv) - 1, err) < 0)
      return -1;
  }
  if (ids->relay_path && (make_point(rootfd, AL_GVISOR_RELAY, true, err) < 0 ||
                          make_point(rootfd, AL_GVISOR_NET_DIR, false, err) < 0))
    return -1;
  if (p->egress_ca && (make_point(rootfd, AL_EGRESS_CA_DIR, false, err) < 0 ||
                       write_at(rootfd, &AL_EGRESS_CA_CERT[1], p->egress_ca, strlen(p->egress_ca), err) < 0 ||
                       write_at(rootfd, &AL_EGRESS_CA_BUNDLE[1], p->ca_bundle, p->ca_bundle_len, err) < 0))
    return -1;
  if (write_secrets(rootfd, p, ids, err) < 0)
    return -1;
  for (size_t i = 0; i < p->n_user; i++) {
    struct stat st;
    bool file = stat(p->user[i].host_path, &st) == 0 && !S_ISDIR(st.st_mode);
    if (make_point(rootfd, p->user[i].target, file, err) < 0)
      return -1;
  }
  _cleanup_free_ char *json = al_gvisor_config_json(p, ids, "rootfs");
  if (json == NULL)
    return al_err(err, ENOMEM, "gvisor bundle: config.json");
  _cleanup_close_ int fd = openat(dirfd, "config.json", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  size_t len = strlen(json);
  if (fd < 0 || write(fd, json, len) != (ssize_t)len)
    return al_err(err, errno, "gvisor bundle: write %s/config.json", dir);
  return 0;
}
