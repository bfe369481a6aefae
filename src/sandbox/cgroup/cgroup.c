/* SPDX-License-Identifier: Apache-2.0 */
/* cgroup.c - finding where each controller lives and creating one cgroup per
 * sandbox under the caller's own cgroup (so the host's limits on the caller
 * still apply on top).  What differs between versions is behind
 * cgroup_backend.h (cgroup_v1.c, cgroup_v2.c).
 *
 * Hybrid hosts (v1 controllers plus a v2 mount with few or no controllers)
 * are handled per controller: memory may be v1 while something else is v2.
 * crun and runsc refuse such hosts; real servers still run them. */
#define _GNU_SOURCE
#include "cgroup.h"
#include "cgroup_backend.h"
#include "clock.h"
#include "cleanup.h"
#include "error.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static const char *const controller_names[AL_CTRL_COUNT] = {"memory", "pids", "cpu"};

typedef struct {
  char *v1_mount[AL_CTRL_COUNT];
  char *v1_own[AL_CTRL_COUNT];
  char *v2_mount;
  char *v2_own;
  char v2_controllers[256];
} hierarchy_map;

static bool list_has(const char *list, const char *word, char sep) {
  size_t n = strlen(word);
  for (const char *p = list; p && *p;) {
    const char *end = strchr(p, sep);
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len == n && strncmp(p, word, n) == 0)
      return true;
    p = end ? end + 1 : NULL;
  }
  return false;
}

/* Read /proc/self/mountinfo and /proc/self/cgroup into a map. */
static void discover_now(hierarchy_map *m) {
  memset(m, 0, sizeof(*m));
  _cleanup_fclose_ FILE *mi = fopen("/proc/self/mountinfo", "re");
  char *line = NULL;
  size_t cap = 0;
  while (mi && getline(&line, &cap, mi) > 0) {
    /* ... mountpoint ... - fstype source superopts */
    char *sep = strstr(line, " - ");
    if (!sep)
      continue;
    char fstype[32], source[64], superopts[512];
    if (sscanf(sep + 3, "%31s %63s %511s", fstype, source, superopts) != 3)
      continue;
    char mnt[4096];
    if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
      continue;
    if (strcmp(fstype, "cgroup2") == 0 && m->v2_mount == NULL) {
      m->v2_mount = strdup(mnt);
    } else if (strcmp(fstype, "cgroup") == 0) {
      for (int c = 0; c < AL_CTRL_COUNT; c++)
        if (m->v1_mount[c] == NULL && list_has(superopts, controller_names[c], ','))
          m->v1_mount[c] = strdup(mnt);
    }
  }
  _cleanup_fclose_ FILE *cg = fopen("/proc/self/cgroup", "re");
  while (cg && getline(&line, &cap, cg) > 0) {
    line[strcspn(line, "\n")] = '\0';
    char *c1 = strchr(line, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2)
      continue;
    *c1 = '\0'; /* "ID:CONTROLLERS:PATH": line is the ID alone */
    *c2 = '\0';
    const char *ctrls = c1 + 1, *path = c2 + 1;
    if (strcmp(line, "0") == 0 && *ctrls == '\0') {
      free(m->v2_own);
      m->v2_own = strdup(path);
    } else {
      for (int c = 0; c < AL_CTRL_COUNT; c++)
        if (list_has(ctrls, controller_names[c], ','))
          m->v1_own[c] = strdup(path);
    }
  }
  free(line);
  if (m->v2_mount) {
    char p[4096];
    snprintf(p, sizeof(p), "%s/cgroup.controllers", m->v2_mount);
    _cleanup_fclose_ FILE *f = fopen(p, "re");
    if (f && fgets(m->v2_controllers, sizeof(m->v2_controllers), f))
      m->v2_controllers[strcspn(m->v2_controllers, "\n")] = '\0';
  }
}

static void map_free(hierarchy_map *m) {
  for (int c = 0; c < AL_CTRL_COUNT; c++) {
    free(m->v1_mount[c]);
    free(m->v1_own[c]);
  }
  free(m->v2_mount);
  free(m->v2_own);
  memset(m, 0, sizeof(*m));
}

static bool delegated_by_systemd(const char *dir);

static void facts_of(const hierarchy_map *m, al_cgroup_facts *f) {
  memset(f, 0, sizeof(*f));
  f->root = geteuid() == 0;
  f->pure_v2 = m->v2_mount != NULL && m->v2_own != NULL;
  for (int c = 0; c < AL_CTRL_COUNT; c++)
    f->pure_v2 = f->pure_v2 && m->v1_mount[c] == NULL;
  if (m->v2_mount && m->v2_own && strcmp(m->v2_own, "/") != 0) {
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s%s", m->v2_mount, m->v2_own);
    f->own_delegated = delegated_by_systemd(dir);
  }
}

/* What systemd gave this process (al_cgroup_set_scope), and the report's
 * text, made with the layout. */
static char *scope_unit, *scope_refusal;
static char placement_text[4096 + 256];

/* The layout does not change while we run: read it once per process (after
 * a transient scope, if the process asked for one). */
static hierarchy_map cached_map;
static pthread_once_t cached_once = PTHREAD_ONCE_INIT;
static void discover_once(void) {
  discover_now(&cached_map);
  al_cgroup_facts f;
  facts_of(&cached_map, &f);
  al_cgroup_describe_placement(placement_text, sizeof(placement_text), &f, cached_map.v2_mount, cached_map.v2_own,
                               scope_unit, scope_refusal);
}
static const hierarchy_map *discover(void) {
  pthread_once(&cached_once, discover_once);
  return &cached_map;
}

void al_cgroup_read_facts(al_cgroup_facts *f) {
  hierarchy_map m;
  discover_now(&m);
  facts_of(&m, f);
  map_free(&m);
}

bool al_cgroup_scope_wanted(const al_cgroup_facts *f) {
  return f->root && f->pure_v2 && f->systemd_booted && !f->own_delegated;
}

int al_cgroup_scope_name(char *buf, size_t size, long pid) {
  int n = snprintf(buf, size, "airlock-run-%ld.scope", pid);
  return n < 0 || (size_t)n >= size ? -1 : 0;
}

void al_cgroup_set_scope(const char *unit, const char *refusal) {
  free(scope_unit);
  free(scope_refusal);
  scope_unit = unit ? strdup(unit) : NULL;
  scope_refusal = refusal ? strdup(refusal) : NULL;
}

const char *al_cgroup_placement(void) {
  discover();
  return placement_text;
}

int al_cgroup_describe_placement(char *buf, size_t size, const al_cgroup_facts *f, const char *v2_mount,
                                 const char *v2_own, const char *scope_unit_name, const char *scope_refusal_text) {
  int n;
  bool v2 = v2_mount && v2_own;
  const char *own = v2 && strcmp(v2_own, "/") != 0 ? v2_own : "";
  if (!f->root || !f->pure_v2)
    n = v2 && f->pure_v2 ? snprintf(buf, size, "below the caller's cgroup %s%s", v2_mount, own)
                         : snprintf(buf, size, "below the caller's cgroups (cgroup v1 controllers)");
  else if (scope_unit_name)
    n = snprintf(buf, size, "systemd transient scope %s (%s%s)", scope_unit_name, v2_mount, own);
  else if (f->own_delegated)
    n = snprintf(buf, size, "delegated cgroup %s%s", v2_mount, own);
  else if (scope_refusal_text)
    n = snprintf(buf, size, "own sub-tree %s/airlock (no systemd transient scope: %s)", v2_mount, scope_refusal_text);
  else
    n = snprintf(buf, size, "own sub-tree %s/airlock", v2_mount);
  return n < 0 || (size_t)n >= size ? -1 : 0;
}

bool al_cgroup_all_v2(void) {
  const hierarchy_map *m = discover();
  for (int c = 0; c < AL_CTRL_COUNT; c++)
    if (m->v1_mount[c] || !m->v2_mount || !m->v2_own || !list_has(m->v2_controllers, controller_names[c], ' '))
      return false;
  return true;
}

/* Whether systemd delegated the v2 cgroup dir (Delegate=yes): it marks such
 * cgroups with the extended attribute trusted.delegate (user.delegate for
 * a user manager's) set to "1". */
static bool delegated_by_systemd(const char *dir) {
  char v[8];
  ssize_t n = getxattr(dir, "trusted.delegate", v, sizeof(v));
  if (n <= 0)
    n = getxattr(dir, "user.delegate", v, sizeof(v));
  return n > 0 && v[0] == '1';
}

/* The parent directory for sandboxes of one hierarchy: "<mount><own>/airlock",
 * below the caller's own cgroup, so that the limits and accounting of the
 * caller's unit cover its sandboxes.  On v2 as root outside a delegated
 * cgroup (a unit without Delegate=yes, a login shell) we go to the top
 * ("<mount>/airlock"): systemd owns the rest of the tree there.  In a
 * delegated cgroup, and always rootless, below our own (prepare_parent
 * moves our processes into a leaf first). */
static char *base_dir(const char *mount, const char *own, bool v2) {
  char *p = NULL;
  if (v2 && geteuid() == 0) {
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s%s", mount, own);
    if (strcmp(own, "/") == 0 || !delegated_by_systemd(dir))
      own = "";
  }
  if (asprintf(&p, "%s%s/airlock", mount, strcmp(own, "/") == 0 ? "" : own) < 0)
    return NULL;
  return p;
}

static char *unique_name(void) {
  int64_t ns = al_monotonic_ns();
  char *n = NULL;
  if (asprintf(&n, "%d.%lx", (int)getpid(), (unsigned long)((ns % 1000000000) ^ (ns / 1000000000) << 20)) < 0)
    return NULL;
  return n;
}

static int make_dir(const char *p, airlock_error **err) {
  if (mkdir(p, 0755) < 0 && errno != EEXIST)
    return al_err(err, errno, "mkdir %s", p);
  return 0;
}

static unsigned gc_base(const char *base);

int al_cgroup_create(al_cgroup *cg, const airlock_spec *spec, airlock_error **err) {
  memset(cg, 0, sizeof(*cg));
  cg->v2_dir_fd = -1;
  for (int c = 0; c < AL_CTRL_COUNT; c++)
    cg->join_fd[c] = -1;
  const hierarchy_map *m = discover();
  _cleanup_free_ char *name = unique_name();
  char *v2_dir = NULL; /* shared by every v2 controller */
  int rc = 0;
  for (int c = 0; c < AL_CTRL_COUNT && rc == 0; c++) {
    airlock_error *local = NULL;
    const char *ctrl = controller_names[c];
    if (m->v1_mount[c] && m->v1_own[c]) {
      _cleanup_free_ char *base = base_dir(m->v1_mount[c], m->v1_own[c], false);
      char *dir = NULL;
      if (base)
        gc_base(base);
      if (base && make_dir(base, &local) == 0 && asprintf(&dir, "%s/%s", base, name) >= 0 &&
          make_dir(dir, &local) == 0) {
        cg->path[c] = dir;
        cg->version[c] = 1;
        if (al_cgroup_v1_backend.write_limits(dir, (al_controller)c, spec, &cg->swap_uncapped, err) < 0)
          rc = -1;
      } else {
        free(dir);
      }
    } else if (m->v2_mount && m->v2_own && list_has(m->v2_controllers, ctrl, ' ')) {
      if (v2_dir == NULL) {
        _cleanup_free_ char *base = base_dir(m->v2_mount, m->v2_own, true);
        if (base)
          gc_base(base);
        if (base && al_cgroup_v2_backend.prepare_parent(base, &local) == 0 &&
            asprintf(&v2_dir, "%s/%s", base, name) >= 0 && make_dir(v2_dir, &local) < 0) {
          free(v2_dir);
          v2_dir = NULL;
        }
      }
      if (v2_dir) {
        cg->path[c] = strdup(v2_dir);
        cg->version[c] = 2;
        if (al_cgroup_v2_backend.write_limits(v2_dir, (al_controller)c, spec, &cg->swap_uncapped, err) < 0)
          rc = -1;
      }
    } else {
      airlock_error *e = NULL;
      al_err(&e, 0, "no %s controller is mounted (neither cgroup v1 nor v2)", ctrl);
      local = e;
    }
    if (cg->version[c] == 0) {
      cg->why_missing[c] = local && local->msg ? strdup(local->msg) : strdup("unavailable");
    }
    airlock_error_free(&local);
  }
  free(v2_dir);
  if (rc < 0) {
    al_cgroup_destroy(cg);
    return -1;
  }
  /* clone3(CLONE_INTO_CGROUP) needs one v2 directory that holds every limit */
  bool all_v2 = true;
  for (int c = 0; c < AL_CTRL_COUNT; c++)
    all_v2 = all_v2 && cg->version[c] == 2;
  if (all_v2) {
    cg->v2_dir_fd = open(cg->path[0], O_DIRECTORY | O_PATH | O_CLOEXEC);
    if (cg->v2_dir_fd >= 0)
      return 0;
  }
  /* Otherwise the child joins by itself.  A thread moving itself through v1
   * "tasks" skips the global threadgroup lock, whose RCU sync made a write
   * of another pid to cgroup.procs cost up to 20 ms here. */
  for (int c = 0; c < AL_CTRL_COUNT; c++) {
    if (cg->path[c] == NULL)
      continue;
    bool dup = false; /* v2 controllers share a directory: join once */
    for (int d = 0; d < c; d++)
      dup = dup || (cg->path[d] && strcmp(cg->path[d], cg->path[c]) == 0);
    if (dup)
      continue;
    char p[4096];
    snprintf(p, sizeof(p), "%s/%s", cg->path[c], cg->version[c] == 1 ? "tasks" : "cgroup.procs");
    cg->join_fd[c] = open(p, O_WRONLY | O_CLOEXEC);
    if (cg->join_fd[c] < 0) {
      al_err(err, errno, "open %s", p);
      al_cgroup_destroy(cg);
      return -1;
    }
  }
  return 0;
}

int al_cgroup_join_self(const int *fds, int n) {
  for (int i = 0; i < n; i++)
    if (write(fds[i], "0", 1) != 1)
      return -errno;
  return 0;
}

bool al_cgroup_oom_killed(const al_cgroup *cg) {
  const char *dir = cg->path[AL_CTRL_MEMORY];
  if (dir == NULL)
    return false;
  const al_cgroup_backend *b = cg->version[AL_CTRL_MEMORY] == 2 ? &al_cgroup_v2_backend : &al_cgroup_v1_backend;
  return b->oom_killed(dir);
}

static void remove_dir_patiently(const char *dir) {
  /* the kernel may need a moment to drop exiting tasks from the cgroup */
  for (int i = 0; i < 200; i++) {
    if (rmdir(dir) == 0 || errno == ENOENT)
      return;
    if (errno != EBUSY)
      return;
    struct timespec ts = {0, 500000};
    nanosleep(&ts, NULL);
  }
}

void al_cgroup_destroy(al_cgroup *cg) {
  for (int c = 0; c < AL_CTRL_COUNT; c++) {
    if (cg->path[c]) {
      bool dup = false;
      for (int d = 0; d < c; d++)
        dup = dup || (cg->path[d] && strcmp(cg->path[d], cg->path[c]) == 0);
      if (!dup)
        remove_dir_patiently(cg->path[c]);
    }
  }
  for (int c = 0; c < AL_CTRL_COUNT; c++) {
    free(cg->path[c]);
    free(cg->why_missing[c]);
    cg->path[c] = cg->why_missing[c] = NULL;
  }
  if (cg->v2_dir_fd >= 0)
    close(cg->v2_dir_fd);
  cg->v2_dir_fd = -1;
  for (int c = 0; c < AL_CTRL_COUNT; c++) {
    if (cg->join_fd[c] >= 0)
      close(cg->join_fd[c]);
    cg->join_fd[c] = -1;
  }
}

static unsigned gc_base(const char *base) {
  _cleanup_closedir_ DIR *d = opendir(base);
  if (!d)
    return 0;
  unsigned removed = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_type != DT_DIR || e->d_name[0] == '.')
      continue;
    char *dot = NULL;
    long pid = strtol(e->d_name, &dot, 10);
    if (pid <= 0 || dot == NULL || *dot != '.')
      continue;
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
      continue; /* its launcher is alive */
    char p[4096];
    snprintf(p, sizeof(p), "%s/%s", base, e->d_name);
    if (rmdir(p) == 0)
      removed++;
  }
  return removed;
}

unsigned al_cgroup_gc(void) {
  const hierarchy_map *m = discover();
  unsigned removed = 0;
  for (int c = 0; c < AL_CTRL_COUNT; c++) {
    if (m->v1_mount[c] && m->v1_own[c]) {
      _cleanup_free_ char *base = base_dir(m->v1_mount[c], m->v1_own[c], false);
      if (base)
        removed += gc_base(base);
    }
  }
  if (m->v2_mount && m->v2_own) {
    _cleanup_free_ char *base = base_dir(m->v2_mount, m->v2_own, true);
    if (base)
      removed += gc_base(base);
  }
  return removed;
}

/* SIGKILL every process of the sandbox's cgroups (runsc, its gofer and
 * sandbox, the ptrace stubs), until they are empty or 1 s has passed */
void al_cgroup_kill_all(const al_cgroup *cg) {
  int64_t until = al_monotonic_ms() + 1000;
  for (;;) {
    bool any = false;
    for (int c = 0; c < AL_CTRL_COUNT; c++) {
      if (!cg->path[c])
        continue;
      char file[PATH_MAX];
      snprintf(file, sizeof(file), "%s/cgroup.procs", cg->path[c]);
      _cleanup_fclose_ FILE *f = fopen(file, "re");
      int pid;
      while (f && fscanf(f, "%d", &pid) == 1) {
        any = true;
        kill(pid, SIGKILL);
      }
    }
    if (!any || al_monotonic_ms() > until)
      return;
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
}

