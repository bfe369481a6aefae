/* SPDX-License-Identifier: Apache-2.0 */
/* cgroup.h - resource limits through cgroups, whatever the host has: pure
 * v2, pure v1, or hybrid (v1 controllers beside a v2 mount).  Each
 * controller is placed on the hierarchy that actually carries it. */
#ifndef AIRLOCK_CGROUP_H
#define AIRLOCK_CGROUP_H

#include "airlock/airlock.h"
#include <stdbool.h>

typedef enum { AL_CTRL_MEMORY, AL_CTRL_PIDS, AL_CTRL_CPU, AL_CTRL_COUNT } al_controller;

typedef struct al_cgroup {
  char *path[AL_CTRL_COUNT];  /* created directory per controller, NULL if none */
  int version[AL_CTRL_COUNT]; /* 1 or 2; 0 when the controller is unavailable */
  char *why_missing[AL_CTRL_COUNT];
  int v2_dir_fd;              /* open when every controller is on v2: CLONE_INTO_CGROUP */
  int join_fd[AL_CTRL_COUNT]; /* otherwise: files the child writes "0" to (see al_cgroup_join_self) */
  bool swap_uncapped;         /* the kernel does not account swap: only RAM is capped */
} al_cgroup;

/* Remove leftovers of dead launchers, then create the sandbox's cgroups and write the limits.  Controllers that cannot
 * be used are left with version 0 and a reason; the caller decides whether
 * that is fatal (it is, unless the user allowed degraded mode). */
int al_cgroup_create(al_cgroup *cg, const airlock_spec *spec, airlock_error **err);

/* What a user without a usable cgroup can do, for refusals: as root, or in
 * a cgroup delegated to the caller (with systemd, a scope of the user's
 * manager with Delegate=yes; airlock then nests below it). */
#define AL_CGROUP_DELEGATION_HINT                                                                                    \
  "Run as root, or inside a cgroup delegated to you (with systemd: systemd-run --user --scope -p Delegate=yes "    \
  "airlock run ...)"
/* True when memory, pids and cpu are all on cgroup v2: then the cgroup is
 * made before clone and the child is born in it (CLONE_INTO_CGROUP). */
bool al_cgroup_all_v2(void);
/* Move the calling (single-threaded) process into the cgroups whose "tasks"
 * or "cgroup.procs" files are open as fds[]; called by the sandbox child.
 * Async-signal-safe.  Returns 0 or -errno. */
int al_cgroup_join_self(const int *fds, int n);
bool al_cgroup_oom_killed(const al_cgroup *cg);
void al_cgroup_destroy(al_cgroup *cg);
/* SIGKILL every process in the cgroups until they are empty (at most 1 s):
 * for backends whose processes are not one pid namespace (gVisor's runsc) */
void al_cgroup_kill_all(const al_cgroup *cg);
/* Remove empty cgroups left by launchers that no longer exist. */
unsigned al_cgroup_gc(void);

/* Where sandboxes' cgroups go, as facts about the caller (see base_dir in
 * cgroup.c): rootless and on v1 below the caller's own cgroup; as root on
 * v2 below the caller's cgroup when systemd delegated it, else at the top
 * of the tree, where systemd does not expect foreign cgroups.  A root
 * `airlock run` on a pure v2 host booted with systemd asks systemd for a
 * transient scope with Delegate=yes first, which makes it a delegated one. */
typedef struct al_cgroup_facts {
  bool root;           /* effective uid 0 */
  bool pure_v2;        /* cgroup2 is mounted and no controller is on a v1 hierarchy */
  bool systemd_booted; /* sd_booted(): systemd is PID 1 */
  bool own_delegated;  /* the caller's v2 cgroup carries systemd's delegation mark */
} al_cgroup_facts;
/* The facts of the calling process now (not the cached layout); the caller
 * fills systemd_booted, which takes libsystemd. */
void al_cgroup_read_facts(al_cgroup_facts *f);
/* Whether a transient scope should be asked for: root, pure v2, systemd
 * booted and not already in a delegated cgroup. */
bool al_cgroup_scope_wanted(const al_cgroup_facts *f);
/* "airlock-run-PID.scope" into buf; -1 when it does not fit. */
int al_cgroup_scope_name(char *buf, size_t size, long pid);
/* What the caller got from systemd, before the first sandbox of the process
 * (the layout is read once): the scope it is now in, or why there is none
 * (unit NULL).  Both copied. */
void al_cgroup_set_scope(const char *unit, const char *refusal);
/* The report's "cgroup_placement", e.g. "systemd transient scope
 * airlock-run-123.scope (/sys/fs/cgroup/system.slice/airlock-run-123.scope)",
 * "delegated cgroup /sys/fs/cgroup/..." or "own sub-tree /sys/fs/cgroup/airlock". */
const char *al_cgroup_placement(void);
/* The text itself, from the facts and the layout (pure, for tests). */
int al_cgroup_describe_placement(char *buf, size_t size, const al_cgroup_facts *f, const char *v2_mount,
                                 const char *v2_own, const char *scope_unit, const char *scope_refusal);

#endif
