/* SPDX-License-Identifier: Apache-2.0 */
/* gvisor.h - the gVisor backend (--isolation gvisor): the command runs under
 * runsc, gVisor's user-space kernel, with the same root, workspace, output,
 * binds, environment, limits, timeout and exit codes as under namespaces.
 *
 * airlock plans the sandbox as for namespaces (plan.c: the bind guard, the
 * host paths, the generated /etc, the environment), writes it as an OCI
 * bundle (gvisor_bundle.c: a read-only skeleton root, bind mounts through
 * gVisor's gofer, tmpfs scratch space, config.json made with jansson), and
 * runs `runsc run` on it (gvisor_run.c) with:
 *   - stdin, stdout and stderr on pipes airlock made and relays: runsc
 *     changes the owner of the descriptors it is given as stdio, so it never
 *     gets one of the caller's;
 *   - --ignore-cgroups, inside airlock's own cgroups (cgroup.c: memory, pids
 *     and cpu on whatever hierarchy carries them, hybrid hosts included),
 *     which hold every process of runsc: the timeout kills them all;
 *   - --network=none (gVisor's netstack, loopback only);
 *   - as root, a user namespace that maps the sandbox's uid to the
 *     writable workspace's owner (or a uid leased from airlock's range)
 *     and gVisor's root to a leased uid, never to host root;
 *     rootless, --rootless (the caller is root of gVisor's namespace, with
 *     no capabilities).
 */
#ifndef AIRLOCK_GVISOR_H
#define AIRLOCK_GVISOR_H

#include "airlock/airlock.h"
#include "cgroup.h"
#include "egress_spawn.h"
#include "identity.h"
#include "plan.h"

#include <limits.h>

#include <stdbool.h>
#include <sys/types.h>

/* Find the runsc to use: configured (a path) or "runsc" on PATH (absolute
 * entries only).  path gets an absolute path to an executable regular file.
 * Fails closed, saying how to install it. */
int al_gvisor_find_runsc(const char *configured, char *path, size_t len, airlock_error **err);

/* The bundle's identity: who the command is inside and how gVisor's user
 * namespace maps to the host (root only; rootless: runsc --rootless maps
 * the caller to 0). */
typedef struct al_gvisor_ids {
  uid_t inside_uid; /* the command's uid and gid inside gVisor */
  gid_t inside_gid;
  bool userns;            /* write a user namespace with the mappings below */
  uid_t root_host_uid;    /* gVisor's root (its gofer) on the host: a leased uid */
  gid_t root_host_gid;
  uid_t inside_host_uid;  /* the command's uid on the host: the writable workspace's owner or a leased uid */
  gid_t inside_host_gid;
  int64_t as_limit; /* no memory cgroup (degraded): RLIMIT_AS of the command inside gVisor; 0 = none */
  /* --network proxy: the relay (gvisor_relay.c) on the host, mounted at
   * AL_GVISOR_RELAY, and the bundle's directory of the proxy's unix
   * sockets, mounted at AL_GVISOR_NET_DIR; NULL otherwise */
  const char *relay_path;
  const char *net_dir;
  /* inspected hosts: the bundle's trust store with the proxy's CA, mounted
   * over the system store as under namespaces; NULL otherwise */
  const char *ca_store_path;
  /* as root: the workspace, output and binds are dir/mnt/<i>, where the
   * process that starts runsc attaches them (gvisor_mounts.c); NULL: their
   * host paths (rootless) */
  const char *user_src_dir;
} al_gvisor_ids;

#define AL_GVISOR_RELAY "/run/airlock-egress/relay"
#define AL_GVISOR_NET_DIR "/run/airlock-egress/net"

/* Write the OCI bundle for plan under dir (an empty directory of ours):
 * dir/rootfs (mount points, the generated /etc, symbolic links of the
 * system entries) and dir/config.json.  Returns 0 or -1 with *err. */
int al_gvisor_write_bundle(const al_plan *plan, const al_gvisor_ids *ids, int bundle_dir_fd, const char *dir,
                           airlock_error **err);
/* overwrite the --secret files of the bundle (before it is removed) */
void al_gvisor_wipe_secrets(int bundle_dirfd, const al_plan *plan);
/* The config.json text alone (for the fuzzer and the tests): malloc'd. */
char *al_gvisor_config_json(const al_plan *plan, const al_gvisor_ids *ids, const char *rootfs);

/* The OCI process of one exec in a running sandbox (runsc exec --process). */
char *al_gvisor_process_json(const al_plan *plan, const al_gvisor_ids *ids, char *const *argv, char *const *envp,
                             const char *cwd);

/* What a gVisor sandbox holds on the host while it lives (one-shot or the
 * node's persistent one): the plan, ids, cgroups, the bundle directory. */
typedef struct al_gvisor_sandbox {
  al_plan plan;
  bool have_plan;
  bool root; /* started by root (else runsc --rootless) */
  al_gvisor_ids ids;
  al_cgroup cg;
  al_id_lease second; /* root without a writable mount: the command's own leased uid */
  char runsc[PATH_MAX];
  char *dir; /* the bundle: config.json, rootfs/, state/ (runsc --root) */
  int dirfd;
  char id[64];
  char state_flag[PATH_MAX + 16];
  int join[AL_CTRL_COUNT + 1]; /* what a child writes "0" to, to enter the cgroups */
  int n_join;
  int v2_procs;
  al_egress egress; /* --network proxy: the sandbox's egress proxy (pid -1: none) */
  char relay[PATH_MAX];
  char *net_dir; /* dir/net: the proxy's unix sockets */
  char *ca_store_path;
  int lock_fd; /* dir/owner.lock, locked while the bundle is in use (gvisor_gc.c) */
  /* gvisor_mounts.c: */
  int *user_tree;     /* as root: plan.user[i]'s tree, cloned from the judged inode */
  char **user_dst;    /* and where it is attached: dir/mnt/<i> */
  size_t n_user_tree; /* 0 rootless */
  char *user_src_dir; /* dir/mnt */
} al_gvisor_sandbox;

/* gvisor_mounts.c, as root (no-ops rootless): clone the user mounts' trees
 * from the judged inodes and make their places in the bundle (before the
 * bundle is written); attach them in a new mount namespace of the calling
 * process (a child about to start runsc: syscalls only, -1 on failure);
 * close them */
int al_gvisor_user_trees_open(al_gvisor_sandbox *g, airlock_error **err);
int al_gvisor_user_trees_attach(const al_gvisor_sandbox *g);
void al_gvisor_user_trees_close(al_gvisor_sandbox *g);

/* gvisor_gc.c: make dir/owner.lock and lock it (flock, held through the
 * returned descriptor and its copies); the bundles of killed launchers,
 * with their --secret files overwritten, removed by al_gvisor_gc() (for
 * `airlock gc`), which returns how many */
int al_gvisor_bundle_lock(int bundle_dirfd, airlock_error **err);
unsigned al_gvisor_gc(void);

/* --network proxy (gvisor_egress.c): start the sandbox's egress proxy,
 * make its unix listeners in dir/net and hand them to it, and put the relay
 * in front of the command (g->plan.argv); ids get the relay's mounts.  No-op
 * in other network modes. */
int al_gvisor_egress_prepare(al_gvisor_sandbox *g, const airlock_spec *spec, airlock_result *r, airlock_error **err);

/* Check, plan, map ids, make cgroups (limits into r) and write the bundle.
 * agent: the sandbox's command is an idle init; execs come with runsc exec.
 * On failure call al_gvisor_release all the same. */
int al_gvisor_prepare(al_gvisor_sandbox *g, const airlock_spec *spec, bool agent, airlock_result *r,
                      airlock_error **err);
/* argv[] = runsc and its global flags, then subcommand; returns argc (argv
 * must have room for 12 more) */
int al_gvisor_runsc_argv(al_gvisor_sandbox *g, char **argv, const char *subcommand);
/* send signo to the sandbox's init (runsc kill); 0 or -1 */
int al_gvisor_signal(al_gvisor_sandbox *g, int signo);
/* SIGKILL every process in the sandbox's cgroups */
void al_gvisor_kill(const al_gvisor_sandbox *g);
/* kill what is left, remove the bundle, the cgroups, the leases, the plan */
void al_gvisor_release(al_gvisor_sandbox *g);

/* A persistent sandbox under gVisor for the node (gvisor_box.c): the box
 * API of box.h works on it unchanged (exec, signal, read, kill, free). */
struct al_box;
int al_gvisor_box_start(struct al_box *b, const airlock_spec *spec, airlock_error **err);

/* The tail of what runsc's stderr carried (the command's stderr and then
 * runsc's own error, if any): the last 511 bytes, NUL-terminated. */
typedef struct al_gvisor_tail {
  char text[512];
  size_t len;
} al_gvisor_tail;
void al_gvisor_tail_append(al_gvisor_tail *t, const char *buf, size_t n);
/* runsc exited 128: its error line ("running container: ...") if the tail
 * has one: *code 127 (not found), 126 (not executable) or 125 (anything
 * else), *message points into t (cut at the line's end).  Untrusted input:
 * the command writes the same stream (fuzz/fuzz_gvisor.c). */
bool al_gvisor_runsc_error(al_gvisor_tail *t, int *code, const char **message);

/* One command under gVisor, blocking: the contract of airlock_run(). */
int al_gvisor_run(const airlock_spec *spec, airlock_result *r, airlock_error **err);

#endif
