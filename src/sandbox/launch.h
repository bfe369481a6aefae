/* SPDX-License-Identifier: Apache-2.0 */
/* launch.h - starting a sandbox and collecting it: the part shared by the
 * one-shot airlock_run() and the node's persistent sandboxes. */
#ifndef AIRLOCK_LAUNCH_H
#define AIRLOCK_LAUNCH_H

#include "cgroup.h"
#include "egress_spawn.h"
#include "plan.h"
#include "stdio_relay.h"

#include <sys/resource.h>

typedef struct al_launch {
  al_plan plan;
  al_cgroup cg;
  pid_t pid; /* the sandbox's init, as seen from the launcher */
  int pidfd; /* readable when init has exited */
  int sock;  /* control socket: status messages in, requests out */
  int64_t start_ms;
  bool released;
  al_egress egress; /* proxy mode: the sandbox's egress proxy */
  al_relay *relay;  /* the caller's terminal relayed to the command's (stdio_relay.c); NULL = none */
  int upper_root;        /* the tmpfs of the overlays' upper layers (AL_MSG_WORKSPACE); -1 = none */
  uint32_t ovl_degraded; /* bit k: plan.ovl[k] could not be an overlay and is a plain bind (allow_degraded) */
  int ws_upper;          /* the workspace's upper directory on it; -1 = none */
  bool ws_degraded;      /* the workspace could not be an overlay and is a plain bind (allow_degraded) */
  char *backend_dir; /* another backend's (gvisor) directory: its processes in cg are killed and it is
                        removed by al_launch_cleanup; NULL = none */
  int msg_fd;       /* a descriptor that came with the last message read (AL_MSG_PTY, a pty exec's
                       AL_MSG_EXEC_STARTED): take it with AL_STEAL_FD before the next read, which closes it */
} al_launch;

/* Validate, plan, clone, write id maps, make and hand over cgroups.  With
 * agent set the init serves exec requests (agent.c) instead of running
 * spec->argv.  Fills r's limits and isolation fields.  On failure nothing is
 * left behind. */
int al_launch_start(al_launch *l, const airlock_spec *spec, bool agent, airlock_result *r, airlock_error **err);
/* Non-blocking read of one status message: 1 got one, 0 none yet, -1 the
 * socket is closed.  The egress sockets (AL_MSG_EGRESS_FDS) are passed on
 * to the proxy here; if that fails, init is killed and the message becomes
 * a setup error.  A pty master (AL_MSG_PTY, AL_MSG_EXEC_STARTED) is left in
 * l->msg_fd; any other descriptor is closed. */
int al_launch_read_msg(al_launch *l, al_status_msg *m);
/* Wait for init to exit (blocking; call when the pidfd is readable or after
 * SIGKILL). */
int al_launch_reap(al_launch *l, int *wstatus, struct rusage *ru);
/* Kill (if still alive), reap, stop the egress proxy, give the caller's
 * terminal its modes back, remove cgroups, free the plan. */
void al_launch_cleanup(al_launch *l);

void al_append_note(char **note, const char *text);
/* the report's entry of one limit */
void al_result_set_limit(airlock_result *r, airlock_limit_kind k, const char *name, int64_t value, const char *unit,
                         const char *mechanism, bool degraded);
/* "cgroup2", "cgroup1" or NULL for a controller's version (0 = none) */
const char *al_cgroup_mechanism(int version);
/* the limits every backend reports alike: timeout, disk and the plan's
 * rlimits (CPU time, file size, open files, core) */
void al_result_plan_limits(airlock_result *r, const airlock_spec *spec, const al_plan *p);
/* rm -rf of a directory of airlock's own (no link followed, no other mount entered) */
void al_remove_tree(const char *dir);
/* airlock_run() of --isolation namespaces (run.c); src/isolation/ dispatches */
int al_run_namespaces(const airlock_spec *spec, airlock_result *r, airlock_error **err);
/* "Linux 6.18.0-..." of the host (report.c) */
const char *al_host_kernel(void);
/* workspace_end.c: after the sandbox is gone, the workspace's changes are
 * written back onto the host (live) or saved as a changeset (changes);
 * fills r->workspace.  ran: the command ran (no setup error). */
void al_workspace_end(al_launch *l, airlock_result *r, bool ran);
/* before the clone: changes mode needs a usable state directory */
int al_workspace_check(const al_plan *p, airlock_error **err);
/* backends without the overlays (gvisor, vm): the report's workspace and
 * writable_mounts with this mechanism, and a degraded note naming them */
void al_result_unbounded_mounts(airlock_result *r, const al_plan *p, const char *mechanism);
/* airlock_spec_validate, optionally without requiring a command */
int al_spec_check(const airlock_spec *spec, bool need_command, airlock_error **err);

#endif
