/* plan.c - turning a validated spec into a launch plan (see plan.h).
 * All path resolution, policy checks and string building happen here, in the
 * launcher, where errors can still be reported cleanly and nothing exists
 * yet that would need undoing. */
#define _GNU_SOURCE
#include "plan.h"
#include "cleanup.h"
#include "error.h"
#include "landlock.h"
#include "network.h"
#include "pathpolicy.h"

#include <ctype.h>
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

static int add_entry(al_mount_entry **arr, size_t *n, const char *host, const char *target, airlock_error **err) {
  struct stat st;
  if (lstat(host, &st) < 0)
    return 0; /* optional entry missing on this host */
  al_mount_entry e = {0};
  if (S_ISLNK(st.st_mode)) {
    char buf[4096];
    ssize_t len = readlink(host, buf, sizeof(buf) - 1);
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

static int add_user_mount(al_plan *p, const char *what, const char *src, const char *dst, bool writable,
                          airlock_error **err) {
  _cleanup_free_ char *real = NULL;
  if (al_resolve_mount_source(what, src, &real, err) < 0)
    return -1;
  size_t before = p->n_user;
  if (add_entry(&p->user, &p->n_user, real, dst, err) < 0)
    return -1;
  if (p->n_user == before || p->user[before].type == AL_ENTRY_SYMLINK)
    return al_err(err, 0, "%s '%s' is neither a directory nor a regular file", what, src);
  p->user[before].writable = writable;
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
  const char *base[] = {"PATH=" SANDBOX_PATH, "HOME=" SANDBOX_HOME, "LANG=C.UTF-8", term_kv,
                        "HTTP_PROXY=" AL_EGRESS_PROXY_URL, "HTTPS_PROXY=" AL_EGRESS_PROXY_URL,
                        "ALL_PROXY=" AL_EGRESS_PROXY_URL, "http_proxy=" AL_EGRESS_PROXY_URL,
                        "https_proxy=" AL_EGRESS_PROXY_URL, "all_proxy=" AL_EGRESS_PROXY_URL,
                        "NO_PROXY=" AL_EGRESS_NO_PROXY, "no_proxy=" AL_EGRESS_NO_PROXY};
  size_t n_base = p->egress ? AL_ARRAY_SIZE(base) : 4;
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

/* Which host uid the sandbox user becomes.  An unprivileged caller can only
 * map itself.  Root maps the sandbox to the owner of the workspace (so the
 * agent can write it) or to nobody, never to host root by default. */
static void choose_host_ids(al_plan *p, const airlock_spec *spec) {
  if (geteuid() != 0) {
    p->host_uid = geteuid();
    p->host_gid = getegid();
    return;
  }
  p->drop_groups = true;
  p->host_uid = NOBODY;
  p->host_gid = NOBODY;
  const char *owner_of = spec->workspace && !spec->workspace_none ? spec->workspace : spec->output;
  struct stat st;
  if (owner_of && stat(owner_of, &st) == 0) {
    p->host_uid = st.st_uid;
    p->host_gid = st.st_gid;
  }
}

int al_plan_build(al_plan *p, const airlock_spec *spec, airlock_error **err) {
  memset(p, 0, sizeof(*p));
  p->spec = spec;
  p->sync_fd = p->status_fd = -1;
  p->inside_uid = spec->uid;
  p->inside_gid = spec->uid;
  choose_host_ids(p, spec);

  static const char *const bases[] = {"/tmp", "/mnt", "/run", "/var/tmp"};
  struct stat st;
  for (size_t i = 0; i < AL_ARRAY_SIZE(bases) && !p->root_base; i++)
    if (stat(bases[i], &st) == 0 && S_ISDIR(st.st_mode))
      p->root_base = bases[i];
  if (!p->root_base)
    return al_err(err, 0, "none of /tmp, /mnt, /run, /var/tmp exists to assemble the sandbox root on");

  if (spec->image) {
    _cleanup_free_ char *img = realpath(spec->image, NULL);
    if (!img)
      return al_err(err, errno, "image '%s'", spec->image);
    _cleanup_closedir_ DIR *d = opendir(img);
    if (!d)
      return al_err(err, errno, "image '%s'", img);
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
      snprintf(host, sizeof(host), "%s/%s", img, e->d_name);
      snprintf(target, sizeof(target), "/%s", e->d_name);
      if (add_entry(&p->system, &p->n_system, host, target, err) < 0)
        return -1;
    }
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
  if (workspace && add_user_mount(p, "workspace", workspace, "/workspace", spec->workspace_rw, err) < 0)
    return -1;
  if (spec->output && add_user_mount(p, "output", spec->output, "/output", true, err) < 0)
    return -1;
  for (size_t i = 0; i < spec->n_binds; i++) {
    if (al_check_mount_target("bind", spec->binds[i].dst, err) < 0 ||
        add_user_mount(p, "bind source", spec->binds[i].src, spec->binds[i].dst, spec->binds[i].writable, err) < 0)
      return -1;
  }

  const char *hostname = spec->hostname ? spec->hostname : "airlock";
  const char *uname = spec->uid == 0 ? "root" : "sandbox";
  if (asprintf(&p->passwd,
               "root:x:0:0:root:%s:/bin/sh\n%s%s:x:%u:%u:airlock sandbox:%s:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
               spec->uid == 0 ? SANDBOX_HOME : "/root", spec->uid == 0 ? "#" : "", uname, spec->uid, spec->uid,
               SANDBOX_HOME) < 0 ||
      asprintf(&p->group, "root:x:0:\n%s%s:x:%u:\nnogroup:x:65534:\n", spec->uid == 0 ? "#" : "", uname,
               spec->uid) < 0 ||
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
  p->cwd = spec->cwd ? spec->cwd : workspace ? "/workspace" : SANDBOX_HOME;

  snprintf(p->scratch_opts, sizeof(p->scratch_opts), "%lld", (long long)spec->disk_bytes);

  /* rlimits that always apply */
  /* a backstop behind the wall-clock timer: the timeout's CPU seconds
   * (truncated) plus two */
  rlim_t cpu_seconds = (rlim_t)(spec->timeout_sec * (spec->cpus > 1 ? spec->cpus : 1)) + 2;
  p->rlimits[p->n_rlimits++] = (al_rlimit){RLIMIT_CORE, 0};
  p->rlimits[p->n_rlimits++] = (al_rlimit){RLIMIT_NOFILE, (rlim_t)spec->nofile};
  /* a little above the scratch cap so tmpfs reports ENOSPC first; it also
   * bounds each file written to the (host-backed) workspace */
  p->rlimits[p->n_rlimits++] = (al_rlimit){RLIMIT_FSIZE, (rlim_t)spec->disk_bytes + (1 << 20)};
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
      free(lists[l][i].host_path);
      free(lists[l][i].target);
      free(lists[l][i].link_target);
      free(lists[l][i].content);
    }
    free(lists[l]);
  }
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
  memset(p, 0, sizeof(*p));
}
