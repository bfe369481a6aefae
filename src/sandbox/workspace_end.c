/* SPDX-License-Identifier: Apache-2.0 */
/* workspace_end.c - the end of a one-shot run with a read-write workspace:
 * the overlay's upper layer, which init handed over, is read once the
 * sandbox and all its processes are gone (nothing can change it any more)
 * and either written back onto the host directory through the descriptor
 * the plan opened (live) or saved as a changeset in the state directory
 * (changes), both through src/workspace/.  A write-back that fails keeps
 * the changes as a changeset, so nothing the command wrote is lost. */
#define _GNU_SOURCE
#include "changeset.h"
#include "cleanup.h"
#include "error.h"
#include "launch.h"
#include "statedir.h"
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int open_upper(void *ctx, size_t index, const al_ws_entry *e) {
  (void)index;
  return al_ws_open_upper(*(int *)ctx, e->path, O_RDONLY);
}

static int save(al_launch *l, al_changeset *cs, airlock_result *r, airlock_error **err) {
  const airlock_spec *spec = l->plan.spec;
  struct stat st;
  if (fstat(l->plan.ws_host_fd, &st) < 0)
    return al_err(err, errno, "workspace");
  al_ws_new_id(cs->id);
  cs->created = (int64_t)time(NULL);
  cs->dev = (uint64_t)st.st_dev;
  cs->ino = (uint64_t)st.st_ino;
  cs->workspace = strdup(l->plan.user[l->plan.ws_index].host_path);
  _cleanup_free_ char *dir = al_state_dir_or_default(spec->state_dir, err);
  if (!dir || !cs->workspace || al_ws_save(l->ws_upper, cs, dir, err) < 0)
    return -1;
  r->workspace.changeset = strdup(cs->id);
  fprintf(stderr, "airlock: changeset %s\n", cs->id);
  return 0;
}

int al_workspace_check(const al_plan *p, airlock_error **err) {
  if (!p->ws_overlay || p->spec->workspace_mode != AIRLOCK_WORKSPACE_CHANGES)
    return 0;
  _cleanup_free_ char *dir = al_state_dir_or_default(p->spec->state_dir, err);
  if (!dir || al_state_dir_prepare(dir, true, err) < 0)
    return al_err_prefix(err, "--workspace-mode changes keeps changesets in the state directory");
  return 0;
}

void al_workspace_end(al_launch *l, airlock_result *r, bool ran) {
  const al_plan *p = &l->plan;
  if (!p->ws_overlay)
    return;
  r->workspace.present = true;
  r->workspace.mode = p->spec->workspace_mode == AIRLOCK_WORKSPACE_CHANGES ? "changes" : "live";
  r->workspace.quota_bytes = p->ws_quota_bytes;
  r->workspace.quota_inodes = p->ws_quota_inodes;
  if (l->ws_degraded || l->ws_upper < 0) {
    r->workspace.mechanism = "bind (degraded)";
    if (ran)
      al_append_note(&r->degraded_note, "workspace: no overlay could be mounted, so writes went straight to the host "
                                        "directory, bounded per file only");
    return;
  }
  r->workspace.mechanism = "overlay+tmpfs";
  if (!ran)
    return;
  _cleanup_error_ airlock_error *err = NULL;
  al_changeset cs = {0};
  int rc = al_ws_scan(l->ws_upper, p->ws_host_fd, &cs, &err);
  al_trace_step("launcher", "workspace scanned");
  r->workspace.skipped = cs.skipped;
  if (rc == 0 && cs.skipped)
    fprintf(stderr, "airlock: workspace: %zu entr%s refused (devices, fifos, sockets or too deep), first %s\n",
            cs.skipped, cs.skipped == 1 ? "y" : "ies", cs.skipped_note ? cs.skipped_note : "?");
  if (rc == 0 && p->spec->workspace_mode == AIRLOCK_WORKSPACE_CHANGES) {
    rc = save(l, &cs, r, &err);
  } else if (rc == 0 && al_ws_host_cost(&cs) > (uint64_t)p->ws_quota_bytes + (1u << 20)) {
    /* Directories and long links take no tmpfs space but a block each on
     * the host: a tree of them would cost the host more than the quota.
     * Kept as a changeset instead, which stores file data only. */
    char msg[160];
    snprintf(msg, sizeof(msg), "writing back would take about %llu bytes on the host, more than the quota",
             (unsigned long long)al_ws_host_cost(&cs));
    fprintf(stderr, "airlock: workspace: %s\n", msg);
    r->workspace.error = strdup(msg);
    if (save(l, &cs, r, &err) == 0)
      fprintf(stderr, "airlock: the workspace's changes are kept as changeset %s ('airlock changes apply')\n", cs.id);
    rc = 0;
  } else if (rc == 0) {
    _cleanup_close_ int host = openat(p->ws_host_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    al_ws_stats st = {0};
    rc = host < 0 ? al_err(&err, errno, "workspace") : 0;
    if (rc == 0)
      rc = al_ws_apply(&cs, NULL, host, p->ws_uid, p->ws_gid, open_upper, &l->ws_upper, &st, &err);
    r->workspace.written_bytes = st.bytes;
    r->workspace.written_files = st.files + st.links + st.dirs;
    r->workspace.deleted = st.deleted;
    if (rc < 0) { /* keep what was not written as a changeset */
      _cleanup_error_ airlock_error *save_err = NULL;
      fprintf(stderr, "airlock: workspace write-back failed: %s\n", err->msg);
      r->workspace.error = strdup(err->msg);
      if (save(l, &cs, r, &save_err) == 0)
        fprintf(stderr, "airlock: the workspace's changes are kept as changeset %s ('airlock changes apply')\n", cs.id);
      al_changeset_free(&cs);
      return;
    }
  }
  al_trace_step("launcher", "workspace written back or saved");
  if (rc < 0) {
    fprintf(stderr, "airlock: workspace: %s\n", err->msg);
    r->workspace.error = strdup(err->msg);
  }
  al_changeset_free(&cs);
}
