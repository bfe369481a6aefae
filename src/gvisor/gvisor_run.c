/* SPDX-License-Identifier: Apache-2.0 */
/* gvisor_run.c - airlock_run() under gVisor: plan, bundle, cgroups, then
 * `runsc run` with pipes of airlock's own as its stdio, relayed to the
 * caller's descriptors; the wall-clock timeout, forwarded signals, and
 * the result mapped to airlock's exit codes and report.  See gvisor.h. */
#define _GNU_SOURCE
#include "cgroup.h"
#include "cleanup.h"
#include "child.h"
#include "clock.h"
#include "error.h"
#include "gvisor.h"
#include "network.h"
#include "identity.h"
#include "launch.h"
#include "secret_files.h"
#include "trace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RUNSC_PLATFORM "ptrace"
/* after runsc has exited, how long the relay still copies what its pipes hold */
#define DRAIN_MS 2000
/* the pids cgroup holds runsc, its gofer and its sentry: Go runtimes that
 * start with 40 to 80 threads between them, and with the ptrace platform
 * host tasks for the command's processes (stub processes and the sentry
 * threads that trace them: at 4 per process a fork bomb under --pids 256
 * still exhausted the cgroup and ended the sentry).  The command's own
 * processes are counted by gVisor (RLIMIT_NPROC in config.json): the cgroup
 * is 8 x --pids + this, so that gVisor refuses the fork before the host
 * refuses gVisor a thread */
#define RUNSC_THREADS 192

int al_gvisor_find_runsc(const char *configured, char *path, size_t len, airlock_error **err) {
  const char *name = configured && *configured ? configured : "runsc";
  struct stat st;
  if (strchr(name, '/')) {
    if (name[0] != '/')
      return al_err(err, 0, "isolation gvisor: runsc path '%s' must be absolute", name);
    if (stat(name, &st) < 0 || !S_ISREG(st.st_mode) || access(name, X_OK) < 0)
      return al_err(err, errno ? errno : ENOENT, "isolation gvisor: runsc '%s' is not an executable file", name);
    snprintf(path, len, "%s", name);
    return 0;
  }
  const char *env = getenv("PATH");
  _cleanup_free_ char *search =
      strdup(env && *env ? env : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  if (search == NULL)
    return al_err(err, ENOMEM, "PATH");
  char *save = NULL;
  for (char *dir = strtok_r(search, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
    if (dir[0] != '/')
      continue; /* a relative PATH entry could be anything the caller's cwd holds */
    char cand[PATH_MAX];
    snprintf(cand, sizeof(cand), "%s/%s", dir, name);
    if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
      snprintf(path, len, "%s", cand);
      return 0;
    }
  }
  return al_err(err, ENOENT,
                "isolation gvisor: runsc not found on PATH; install gVisor (Debian/Ubuntu: apt-get install runsc) "
                "or name it with --runsc PATH (config key \"runsc\")");
}

/* ---- the things gVisor cannot do (yet) for airlock, refused clearly ---- */
static int refuse_unsupported(const airlock_spec *spec, airlock_error **err) {
  const char *what = NULL;
  if (spec->n_sockets > 0)
    what = "--bind-socket";
  else if (spec->workspace_mode == AIRLOCK_WORKSPACE_CHANGES && spec->workspace_rw &&
           (spec->workspace || spec->workspace_fd >= 0) && !spec->workspace_none)
    what = "--workspace-mode changes (it needs the overlay of --isolation namespaces)";
  else if (spec->pty == AIRLOCK_PTY_ALWAYS)
    what = "--pty (under gVisor the command's stdio are pipes)";
  if (what)
    return al_err(err, 0, "%s: not available with --isolation gvisor", what);
  return 0;
}

/* ---- limits: airlock's cgroups around runsc ---- */

static int resolve_limits(const airlock_spec *spec, const al_cgroup *cg, const al_plan *p, airlock_result *r,
                          airlock_error **err) {
  const char *names[AL_CTRL_COUNT] = {"memory", "pids", "cpus"};
  for (int c = 0; c < AL_CTRL_COUNT; c++)
    if (cg->version[c] == 0 && !spec->allow_degraded)
      return al_err(err, 0,
                    "cannot apply the %s limit: %s. " AL_CGROUP_DELEGATION_HINT ", or pass "
                    "--allow-degraded (under gVisor nothing stands in for a missing cgroup)",
                    names[c], cg->why_missing[c] ? cg->why_missing[c] : "no usable cgroup");
  const char *mem = al_cgroup_mechanism(cg->version[AL_CTRL_MEMORY]);
  const char *pids = al_cgroup_mechanism(cg->version[AL_CTRL_PIDS]);
  const char *cpu = al_cgroup_mechanism(cg->version[AL_CTRL_CPU]);
  /* an rlimit on runsc's processes would cap the sentry and gofer (Go
   * runtimes), not the command: with no cgroup the limit is not applied */
  if (!mem)
    al_append_note(&r->degraded_note, "memory: no cgroup; RLIMIT_AS caps the command's address space inside gVisor "
                                      "(no OOM report; gVisor's own memory is not capped)");
  if (!pids)
    al_append_note(&r->degraded_note, "pids: no cgroup around runsc's own threads (the command's processes are "
                                      "still limited by gVisor)");
  if (!cpu)
    al_append_note(&r->degraded_note, "cpus: no cgroup; CPU share not limited");
  al_result_set_limit(r, AIRLOCK_LIMIT_MEMORY, "memory", spec->memory_bytes, "bytes", mem ? mem : "rlimit", !mem);
  /* gVisor enforces RLIMIT_NPROC on the sandbox's tasks: the limit holds
   * with or without the cgroup (which also has runsc's threads in it) */
  al_result_set_limit(r, AIRLOCK_LIMIT_PIDS, "pids", spec->pids, "count", "rlimit", false);
  al_result_set_limit(r, AIRLOCK_LIMIT_CPUS, "cpus", (int64_t)(spec->cpus * 1000 + 0.5), "millicpus",
                      cpu ? cpu : "none", !cpu);
  al_result_plan_limits(r, spec, p);
  return 0;
}

/* ---- the relay: caller's stdin -> runsc's, runsc's stdout/stderr -> caller's ---- */
typedef struct {
  int in_w, out_r, err_r; /* our ends; -1 when closed */
  bool in_eof;            /* the caller's stdin ended (or is not readable) */
  char in_buf[65536];
  size_t in_len, in_off;
  bool out_dead[3]; /* a write to the caller's descriptor failed: drop the rest */
  al_gvisor_tail tail;
} relay;

static void copy_out(relay *rl, int *from, int to) {
  char buf[65536];
  for (;;) {
    ssize_t n = read(*from, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      return;
    if (n <= 0) {
      close(*from);
      *from = -1;
      return;
    }
    if (to == 2) /* runsc's own last words come on its stderr */
      al_gvisor_tail_append(&rl->tail, buf, (size_t)n);
    for (ssize_t off = 0; off < n && !rl->out_dead[to];) {
      ssize_t w = write(to, buf + off, (size_t)(n - off));
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0) {
        rl->out_dead[to] = true;
        break;
      }
      off += w;
    }
  }
}

static void pump_in(relay *rl, short in_revents, short w_revents) {
  if (rl->in_w < 0)
    return;
  if (rl->in_len == 0 && !rl->in_eof && (in_revents & (POLLIN | POLLHUP | POLLERR))) {
    ssize_t n = read(0, rl->in_buf, sizeof(rl->in_buf));
    if (n > 0) {
      rl->in_len = (size_t)n;
      rl->in_off = 0;
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
      rl->in_eof = true;
    }
  }
  if (rl->in_len > 0 && (w_revents & POLLOUT || in_revents)) {
    ssize_t w = write(rl->in_w, rl->in_buf + rl->in_off, rl->in_len);
    if (w > 0) {
      rl->in_off += (size_t)w;
      rl->in_len -= (size_t)w;
    } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
      rl->in_eof = true; /* the command closed its stdin */
      rl->in_len = 0;
    }
  }
  if ((w_revents & (POLLERR | POLLHUP)) || (rl->in_eof && rl->in_len == 0)) {
    close(rl->in_w);
    rl->in_w = -1;
  }
}

/* ---- runsc's last words ---- */
void al_gvisor_tail_append(al_gvisor_tail *t, const char *buf, size_t n) {
  size_t keep = sizeof(t->text) - 1;
  if (n >= keep) {
    memcpy(t->text, buf + n - keep, keep);
    t->len = keep;
  } else {
    if (t->len + n > keep) {
      size_t drop = t->len + n - keep;
      memmove(t->text, t->text + drop, t->len - drop);
      t->len -= drop;
    }
    memcpy(t->text + t->len, buf, n);
    t->len += n;
  }
  t->text[t->len] = '\0';
}

bool al_gvisor_runsc_error(al_gvisor_tail *t, int *code, const char **message) {
  /* the last "running container: " line: a command may print the words too,
   * but then runsc's own line, printed after the command has ended, is last */
  char *msg = NULL;
  for (char *p = t->text; (p = memmem(p, t->len - (size_t)(p - t->text), "running container: ", 19)) != NULL; p++)
    msg = p;
  if (msg == NULL)
    return false;
  char *nl = memchr(msg, '\n', t->len - (size_t)(msg - t->text));
  if (nl)
    *nl = '\0';
  *message = msg + 19;
  bool load = strstr(msg, "failed to load") || strstr(msg, "error finding executable");
  if (load && strstr(msg, "no such file or directory"))
    *code = AIRLOCK_EXIT_NOT_FOUND;
  else if (load || strstr(msg, "permission denied"))
    *code = AIRLOCK_EXIT_NOT_EXECUTABLE;
  else
    *code = AIRLOCK_EXIT_SETUP;
  return true;
}

/* ---- the run ---- */
static const int forwarded_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

static bool on_tmpfs(const char *path) {
  struct statfs sf;
  return statfs(path, &sf) == 0 && sf.f_type == TMPFS_MAGIC;
}

/* The bundle's directory: /run/airlock as root, $XDG_RUNTIME_DIR (or /tmp)
 * rootless.  With --secret it must be a tmpfs (the secret files sit in it
 * while the sandbox runs): else /dev/shm, else refused. */
static char *make_dir(bool need_tmpfs, airlock_error **err) {
  char tmpl[PATH_MAX];
  const char *base;
  if (geteuid() == 0) {
    if (mkdir("/run/airlock", 0755) < 0 && errno != EEXIST) {
      al_err(err, errno, "isolation gvisor: mkdir /run/airlock");
      return NULL;
    }
    base = "/run/airlock";
  } else {
    base = getenv("XDG_RUNTIME_DIR");
    struct stat st;
    if (!base || base[0] != '/' || stat(base, &st) < 0 || st.st_uid != geteuid())
      base = "/tmp";
  }
  if (need_tmpfs && !on_tmpfs(base))
    base = "/dev/shm";
  if (need_tmpfs && !on_tmpfs(base)) {
    al_err(err, 0,
           "--secret with --isolation gvisor: no tmpfs for the secret files (/run, $XDG_RUNTIME_DIR, /dev/shm)");
    return NULL;
  }
  snprintf(tmpl, sizeof(tmpl), "%s/%sgvisor-XXXXXX", base, strcmp(base, "/run/airlock") == 0 ? "" : "airlock-");
  if (mkdtemp(tmpl) == NULL) {
    al_err(err, errno, "isolation gvisor: bundle directory");
    return NULL;
  }
  /* the gofer (a leased uid as root) must reach the root inside it */
  chmod(tmpl, 0711);
  return strdup(tmpl);
}

/* A mount whose target lies inside another user mount (a --bind at
 * /workspace/x) is placed by gVisor inside that tree: refuse it when the
 * way there on the host passes a symbolic link (one the sandbox or anyone
 * may have planted), as namespaces refuses it (rootfs.c). */
static int check_nested_targets(const al_plan *p, airlock_error **err) {
  for (size_t i = 0; i < p->n_user; i++) {
    for (size_t j = 0; j < p->n_user; j++) {
      size_t n = strlen(p->user[j].target);
      if (i == j || strncmp(p->user[i].target, p->user[j].target, n) != 0 || p->user[i].target[n] != '/')
        continue;
      char rel[4096];
      snprintf(rel, sizeof(rel), "%s", p->user[i].target + n + 1);
      int dir = open(p->user[j].host_path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      char *save = NULL;
      for (char *c = strtok_r(rel, "/", &save); c && dir >= 0; c = strtok_r(NULL, "/", &save)) {
        struct stat st;
        if (fstatat(dir, c, &st, AT_SYMLINK_NOFOLLOW) < 0)
          break; /* not there yet: gVisor makes the mount point */
        if (S_ISLNK(st.st_mode)) {
          close(dir);
          return al_err(err, 0, "isolation gvisor: mount target '%s' goes through the symbolic link '%s' inside '%s'",
                        p->user[i].target, c, p->user[j].target);
        }
        int next = openat(dir, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        close(dir);
        dir = next;
      }
      if (dir >= 0)
        close(dir);
    }
  }
  return 0;
}

/* the first writable user mount's owner: whose files the command writes */
static bool writable_owner(const al_plan *p, uid_t *uid, gid_t *gid) {
  for (size_t i = 0; i < p->n_user; i++) /* the workspace is user[0] */
    if (p->user[i].writable) {
      *uid = p->user[i].src_uid;
      *gid = p->user[i].src_gid;
      return true;
    }
  return false;
}

int al_gvisor_prepare(al_gvisor_sandbox *g, const airlock_spec *spec, bool agent, airlock_result *r,
                      airlock_error **err) {
  memset(g, 0, sizeof(*g));
  g->cg.v2_dir_fd = -1;
  for (int c = 0; c < AL_CTRL_COUNT; c++)
    g->cg.join_fd[c] = -1;
  g->second.lock_fd = -1;
  g->dirfd = -1;
  g->lock_fd = -1;
  g->v2_procs = -1;
  al_egress_init(&g->egress);
  r->isolation = AIRLOCK_ISOLATION_GVISOR;
  if (al_spec_check(spec, !agent, err) < 0 || refuse_unsupported(spec, err) < 0)
    return -1;
  if (agent && spec->n_secrets > 0) /* the node holds no agent secrets */
    return al_err(err, 0, "secrets as files: not available for node sandboxes");
  if (al_gvisor_find_runsc(spec->runsc, g->runsc, sizeof(g->runsc), err) < 0)
    return -1;
  if (al_plan_build(&g->plan, spec, err) < 0) {
    al_plan_free(&g->plan);
    return -1;
  }
  g->have_plan = true;
  if (check_nested_targets(&g->plan, err) < 0)
    return -1;
  /* runsc's gofer writes the host directories themselves: nothing bounds
   * what a command writes there (namespaces puts an overlay in between) */
  if (!agent && g->plan.n_ovl > 0 && !spec->allow_degraded)
    return al_err(err, 0,
                  "isolation gvisor: writes to %s cannot be bounded (runsc's gofer writes the host directory "
                  "directly; --isolation namespaces bounds them with an overlay); --allow-degraded accepts that",
                  g->plan.user[g->plan.ovl[0].user_index].target);
  al_trace_step("launcher", "planned");

  /* who the command is, inside and on the host */
  al_gvisor_ids *ids = &g->ids;
  g->root = geteuid() == 0;
  if (g->root) {
    ids->userns = true;
    ids->inside_uid = spec->uid;
    ids->inside_gid = spec->uid;
    ids->root_host_uid = g->plan.host_uid; /* the plan's lease */
    ids->root_host_gid = g->plan.host_gid;
    uid_t ou;
    gid_t og;
    if (writable_owner(&g->plan, &ou, &og)) {
      if (ou == 0 || og == 0)
        return al_err(err, 0,
                      "isolation gvisor: a writable mount owned by root cannot be mapped into gVisor; "
                      "give the workspace to another user");
      ids->inside_host_uid = ou;
      ids->inside_host_gid = og;
      r->identity = "workspace-owner";
    } else {
      al_id_range range;
      if (al_id_range_load("/etc/subuid", "/etc/subgid", "/etc/passwd", &range, err) < 0 ||
          al_id_lease_take(AL_ID_LOCK_FILE, &range, &g->second, err) < 0)
        return -1;
      ids->inside_host_uid = g->second.uid;
      ids->inside_host_gid = g->second.gid;
      r->identity = "allocated";
    }
    if (ids->inside_uid == 0) { /* one mapping: gVisor's root is the command */
      ids->root_host_uid = ids->inside_host_uid;
      ids->root_host_gid = ids->inside_host_gid;
    }
    r->host_uid = ids->inside_host_uid;
    r->host_gid = ids->inside_host_gid;
  } else {
    /* runsc --rootless maps the caller to gVisor's root and nothing else:
     * the command is that root, with no capability */
    ids->inside_uid = 0;
    ids->inside_gid = 0;
    r->identity = "caller";
    r->host_uid = geteuid();
    r->host_gid = getegid();
  }
  r->idmapped = g->root;
  r->seccomp = true; /* runsc's own filter on the sentry */
  r->network = AIRLOCK_NETWORK_NONE;

  airlock_spec cg_spec = *spec; /* shallow: only read by al_cgroup_create */
  cg_spec.pids = 8 * spec->pids + RUNSC_THREADS;
  if (al_cgroup_create(&g->cg, &cg_spec, err) < 0 || resolve_limits(spec, &g->cg, &g->plan, r, err) < 0)
    return -1;
  if (g->cg.version[AL_CTRL_MEMORY] == 0)
    ids->as_limit = spec->memory_bytes;
  for (int c = 0; c < AL_CTRL_COUNT; c++)
    if (g->cg.join_fd[c] >= 0)
      g->join[g->n_join++] = g->cg.join_fd[c];
  if (g->cg.v2_dir_fd >= 0 && (g->v2_procs = openat(g->cg.v2_dir_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC)) >= 0)
    g->join[g->n_join++] = g->v2_procs;
  al_trace_step("launcher", "cgroups made");

  if ((g->dir = make_dir(spec->n_secrets > 0, err)) == NULL)
    return -1;
  if ((g->dirfd = open(g->dir, O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0)
    return al_err(err, errno, "isolation gvisor: open %s", g->dir);
  if ((g->lock_fd = al_gvisor_bundle_lock(g->dirfd, err)) < 0)
    return -1;
  if (agent) { /* the sandbox's init only waits; execs come with runsc exec */
    for (char **a = g->plan.argv; a && *a; a++)
      free(*a);
    free(g->plan.argv);
    g->plan.argv = calloc(4, sizeof(char *));
    if (!g->plan.argv || !(g->plan.argv[0] = strdup("/bin/sh")) || !(g->plan.argv[1] = strdup("-c")) ||
        !(g->plan.argv[2] = strdup("trap 'exit 0' TERM; while :; do sleep 3600; done")))
      return al_err(err, ENOMEM, "isolation gvisor");
  }
  if (al_gvisor_egress_prepare(g, spec, r, err) < 0)
    return -1;
  if (g->plan.egress)
    al_trace_step("launcher", "egress proxy ready");
  if (spec->n_secrets > 0 && al_secret_files_fetch(&g->plan, spec, err) < 0)
    return -1;
  if (al_gvisor_user_trees_open(g, err) < 0)
    return -1;
  int written = al_gvisor_write_bundle(&g->plan, ids, g->dirfd, g->dir, err);
  al_plan_wipe_secrets(&g->plan);
  if (written < 0)
    return -1;
  if (mkdirat(g->dirfd, "state", 0711) < 0)
    return al_err(err, errno, "isolation gvisor: mkdir %s/state", g->dir);
  snprintf(g->id, sizeof(g->id), "airlock-%d-%lld", (int)getpid(), (long long)al_monotonic_ns());
  snprintf(g->state_flag, sizeof(g->state_flag), "--root=%s/state", g->dir);
  al_trace_step("launcher", "bundle written");
  return 0;
}

int al_gvisor_runsc_argv(al_gvisor_sandbox *g, char **argv, const char *subcommand) {
  int argc = 0;
  argv[argc++] = g->runsc;
  argv[argc++] = g->state_flag;
  argv[argc++] = "--platform=" RUNSC_PLATFORM;
  argv[argc++] = "--network=none";
  argv[argc++] = "--ignore-cgroups";
  /* the mounts are the sandbox's alone while it runs: gVisor may cache them */
  argv[argc++] = "--file-access-mounts=exclusive";
  if (!g->root)
    argv[argc++] = "--rootless";
  if (g->ids.relay_path) /* the egress relay reaches the proxy's two sockets (gvisor_egress.c) */
    argv[argc++] = "--host-uds=open";
  argv[argc++] = (char *)subcommand;
  argv[argc] = NULL;
  return argc;
}

/* `runsc kill ID SIGNO` (runsc run does not pass signals on), on a pipe of
 * ours as its stdio; waits for it, at most 5 s */
int al_gvisor_signal(al_gvisor_sandbox *g, int signo) {
  char sig[16];
  snprintf(sig, sizeof(sig), "%d", signo);
  char *argv[24];
  int argc = al_gvisor_runsc_argv(g, argv, "kill");
  argv[argc++] = g->id;
  argv[argc++] = sig;
  argv[argc] = NULL;
  int io[2];
  if (pipe2(io, O_CLOEXEC) < 0)
    return -1;
  char *envp[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL};
  pid_t pid = fork();
  if (pid == 0) {
    if (dup2(io[0], 0) < 0 || dup2(io[1], 1) < 0 || dup2(io[1], 2) < 0)
      _exit(125);
    syscall(SYS_close_range, 3, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(g->runsc, argv, envp);
    _exit(127);
  }
  close(io[0]);
  close(io[1]);
  if (pid < 0)
    return -1;
  bool killed = false;
  int st = al_child_wait_or_kill(pid, 5000, &killed);
  return !killed && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

void al_gvisor_kill(const al_gvisor_sandbox *g) { al_cgroup_kill_all(&g->cg); }

void al_gvisor_release(al_gvisor_sandbox *g) {
  al_cgroup_kill_all(&g->cg);
  al_gvisor_user_trees_close(g);
  al_egress_stop(&g->egress, NULL);
  free(g->net_dir);
  g->net_dir = NULL;
  free(g->ca_store_path);
  g->ca_store_path = NULL;
  if (g->v2_procs >= 0)
    close(g->v2_procs);
  g->v2_procs = -1;
  if (g->dirfd >= 0 && g->have_plan && g->plan.n_secrets > 0)
    al_gvisor_wipe_secrets(g->dirfd, &g->plan);
  if (g->dirfd >= 0)
    close(g->dirfd);
  g->dirfd = -1;
  if (g->dir) {
    al_remove_tree(g->dir);
    free(g->dir);
    g->dir = NULL;
  }
  if (g->lock_fd >= 0) /* after the tree: gc never sees it unlocked */
    close(g->lock_fd);
  g->lock_fd = -1;
  al_cgroup_destroy(&g->cg);
  al_id_lease_release(&g->second);
  if (g->have_plan)
    al_plan_free(&g->plan);
  g->have_plan = false;
}

int al_gvisor_run(const airlock_spec *spec, airlock_result *r, airlock_error **err) {
  al_trace_init();
  memset(r, 0, sizeof(*r));
  int rc = -1;
  al_gvisor_sandbox g;
  pid_t pid = -1;
  int pidfd = -1, sfd = -1;
  int pipes[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
  relay rl = {.in_w = -1, .out_r = -1, .err_r = -1};
  sigset_t old_mask, set;
  sigemptyset(&set);
  for (size_t i = 0; i < AL_ARRAY_SIZE(forwarded_signals); i++)
    sigaddset(&set, forwarded_signals[i]);
  sigaddset(&set, SIGPIPE);
  sigprocmask(SIG_BLOCK, &set, &old_mask);
  if (al_gvisor_prepare(&g, spec, false, r, err) < 0)
    goto out;
  al_plan *pl = &g.plan;
  al_cgroup *cgp = &g.cg;

  for (int i = 0; i < 3; i++)
    if (pipe2(pipes[i], O_CLOEXEC) < 0) {
      al_err(err, errno, "isolation gvisor: pipe");
      goto out;
    }

  char *argv[16];
  int argc = al_gvisor_runsc_argv(&g, argv, "run");
  argv[argc++] = "--bundle";
  argv[argc++] = g.dir;
  argv[argc++] = g.id;
  argv[argc] = NULL;
  /* runsc gets nothing of the caller's environment */
  char *envp[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL};

  int64_t start = al_monotonic_ms();
  pid_t parent = getpid();
  pid = fork();
  if (pid < 0) {
    al_err(err, errno, "isolation gvisor: fork");
    goto out;
  }
  if (pid == 0) {
    /* async-signal-safe only: the caller may have threads */
    setsid();
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(125);
    if (al_cgroup_join_self(g.join, g.n_join) < 0)
      _exit(125);
    for (int i = 0; i < 3; i++)
      if (dup2(pipes[i][i == 0 ? 0 : 1], i) < 0)
        _exit(125);
    if (al_gvisor_user_trees_attach(&g) < 0) {
      static const char msg[] = "airlock: isolation gvisor: cannot attach the workspace, output or binds\n";
      if (write(2, msg, sizeof(msg) - 1) < 0)
        _exit(125);
      _exit(125);
    }
    syscall(SYS_close_range, 3, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(g.runsc, argv, envp);
    _exit(127);
  }
  al_trace_step("launcher", "runsc started");
  close(pipes[0][0]);
  close(pipes[1][1]);
  close(pipes[2][1]);
  pipes[0][0] = pipes[1][1] = pipes[2][1] = -1;
  rl.in_w = pipes[0][1];
  rl.out_r = pipes[1][0];
  rl.err_r = pipes[2][0];
  pipes[0][1] = pipes[1][0] = pipes[2][0] = -1;
  fcntl(rl.in_w, F_SETFL, O_NONBLOCK);
  fcntl(rl.out_r, F_SETFL, O_NONBLOCK);
  fcntl(rl.err_r, F_SETFL, O_NONBLOCK);
  rl.in_eof = fcntl(0, F_GETFD) < 0;
  for (int i = 1; i < 3; i++)
    rl.out_dead[i] = fcntl(i, F_GETFD) < 0;
  pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  sigset_t fwd;
  sigemptyset(&fwd);
  for (size_t i = 0; i < AL_ARRAY_SIZE(forwarded_signals); i++)
    sigaddset(&fwd, forwarded_signals[i]);
  sfd = signalfd(-1, &fwd, SFD_CLOEXEC | SFD_NONBLOCK);

  int64_t deadline = start + (int64_t)(spec->timeout_sec * 1000 + 0.5);
  int64_t drain_until = -1;
  int sigcount = 0;
  bool exited = false;
  for (;;) {
    int64_t now = al_monotonic_ms();
    if (!exited && now >= deadline) {
      r->timed_out = true;
      al_cgroup_kill_all(cgp);
      kill(pid, SIGKILL);
    }
    if (exited && (now >= drain_until || (rl.out_r < 0 && rl.err_r < 0)))
      break;
    struct pollfd fds[6] = {{pidfd, POLLIN, 0},
                            {sfd, POLLIN, 0},
                            {rl.out_r, POLLIN, 0},
                            {rl.err_r, POLLIN, 0},
                            {rl.in_w >= 0 && rl.in_len == 0 && !rl.in_eof ? 0 : -1, POLLIN, 0},
                            {rl.in_w >= 0 && rl.in_len > 0 ? rl.in_w : -1, POLLOUT, 0}};
    if (exited)
      fds[0].fd = -1;
    int64_t left = (exited ? drain_until : deadline) - now;
    int n = poll(fds, 6, left > 1000000 ? 1000000 : left < 0 ? 0 : (int)left);
    if (n < 0 && errno != EINTR)
      break;
    if (n <= 0)
      continue;
    if (fds[2].revents)
      copy_out(&rl, &rl.out_r, 1);
    if (fds[3].revents)
      copy_out(&rl, &rl.err_r, 2);
    if (fds[4].revents || fds[5].revents)
      pump_in(&rl, fds[4].revents, fds[5].revents);
    if (fds[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        /* the first goes to the command (runsc kill); a second one ends it all */
        if (++sigcount == 1) {
          al_gvisor_signal(&g, (int)si.ssi_signo);
        } else {
          r->killed_by_signal = true;
          al_cgroup_kill_all(cgp);
          kill(pid, SIGKILL);
        }
      }
    }
    if (!exited && (fds[0].revents & POLLIN)) {
      exited = true;
      drain_until = al_monotonic_ms() + DRAIN_MS;
      if (rl.in_w >= 0) {
        close(rl.in_w);
        rl.in_w = -1;
      }
    }
  }
  if (!exited)
    kill(pid, SIGKILL);
  int wstatus = 0;
  struct rusage ru;
  memset(&ru, 0, sizeof(ru));
  while (wait4(pid, &wstatus, 0, &ru) < 0 && errno == EINTR)
    ;
  pid = -1;
  r->wall_ms = al_monotonic_ms() - start;
  al_trace_step("launcher", "runsc reaped");
  /* runsc's sandbox and gofer die with it (--attached); the cgroup makes sure */
  al_cgroup_kill_all(cgp);
  r->oom_killed = al_cgroup_oom_killed(cgp);
  r->cpu_user_ms = (int64_t)ru.ru_utime.tv_sec * 1000 + ru.ru_utime.tv_usec / 1000;
  r->cpu_sys_ms = (int64_t)ru.ru_stime.tv_sec * 1000 + ru.ru_stime.tv_usec / 1000;
  r->max_rss_kb = ru.ru_maxrss;
  int code = AIRLOCK_EXIT_SETUP;
  const char *runsc_error = NULL;
  bool runsc_failed =
      WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 128 && al_gvisor_runsc_error(&rl.tail, &code, &runsc_error);
  if (r->timed_out) {
    r->exit_code = AIRLOCK_EXIT_TIMEOUT;
    r->signal = SIGKILL;
  } else if (r->oom_killed && !(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) < 128)) {
    r->exit_code = AIRLOCK_EXIT_OOM;
    r->signal = SIGKILL;
  } else if (runsc_failed && code != AIRLOCK_EXIT_SETUP) {
    /* runsc could not start the command: its own words, airlock's codes */
    r->exit_code = code;
    r->exec_failed = true;
  } else if (runsc_failed) {
    al_err(err, 0, "isolation gvisor: runsc failed: %s", runsc_error);
    goto out;
  } else if (WIFEXITED(wstatus)) {
    r->exit_code = WEXITSTATUS(wstatus);
    if (r->exit_code > 128 && r->exit_code < 160)
      r->signal = r->exit_code - 128; /* runsc reports a command's signal as 128+N */
  } else {
    r->signal = WTERMSIG(wstatus);
    r->exit_code = 128 + r->signal;
  }
  if (pl->egress)
    r->egress_json = al_network_report(spec);
  al_result_unbounded_mounts(r, pl, "bind (gVisor gofer, unbounded)");
  {
    char *kernel = NULL;
    if (asprintf(&kernel, "gVisor (runsc %s, platform %s) above host %s", g.runsc, RUNSC_PLATFORM, al_host_kernel()) >=
        0)
      r->kernel = kernel;
  }
  rc = 0;

out:
  if (pid > 0) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
  }
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 2; j++)
      if (pipes[i][j] >= 0)
        close(pipes[i][j]);
  if (rl.in_w >= 0)
    close(rl.in_w);
  if (rl.out_r >= 0)
    close(rl.out_r);
  if (rl.err_r >= 0)
    close(rl.err_r);
  if (pidfd >= 0)
    close(pidfd);
  if (sfd >= 0)
    close(sfd);
  al_gvisor_release(&g);

  /* a write to a closed output may have left a SIGPIPE pending */
  sigset_t pipe_sig;
  sigemptyset(&pipe_sig);
  sigaddset(&pipe_sig, SIGPIPE);
  struct timespec zero = {0, 0};
  if (!sigismember(&old_mask, SIGPIPE))
    while (sigtimedwait(&pipe_sig, NULL, &zero) == SIGPIPE)
      ;
  sigprocmask(SIG_SETMASK, &old_mask, NULL);
  al_trace_step("launcher", "cleaned up");
  return rc;
}
