/* SPDX-License-Identifier: Apache-2.0 */
/* report.c - the machine-readable result of a run: exit, timing, peaks and,
 * for every limit, the value applied and the mechanism that applied it, so
 * a caller can tell a cgroup-enforced limit from a degraded fallback. */
#define _GNU_SOURCE
#include "error.h"

#include <jansson.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

void airlock_result_clear(airlock_result *r) {
  free(r->degraded_note);
  free(r->egress_json);
  for (char **s = r->sockets_allowed; s && *s; s++)
    free(*s);
  free(r->sockets_allowed);
  free(r->workspace.changeset);
  free(r->workspace.error);
  free(r->kernel);
  for (size_t i = 0; i < r->n_mounts; i++) {
    free(r->mounts[i].target);
    free(r->mounts[i].changeset);
    free(r->mounts[i].error);
  }
  free(r->mounts);
  memset(r, 0, sizeof(*r));
}

/* "Linux 6.18.0-..." of the host, read once */
const char *al_host_kernel(void) {
  static char text[160];
  if (!text[0]) {
    struct utsname u;
    if (uname(&u) == 0)
      snprintf(text, sizeof(text), "%.64s %.64s", u.sysname, u.release);
    else
      snprintf(text, sizeof(text), "unknown");
  }
  return text;
}

/* another backend's isolation object: what it is and which network (the
 * backend's own fields are added by the caller through r->kernel) */
static json_t *al_report_isolation(const airlock_result *r) {
  return json_pack("{s:b, s:i, s:b, s:b, s:s}", "seccomp", r->seccomp, "landlock_abi", r->landlock_abi,
                   "no_new_privs", 1, "capabilities_dropped", 1, "network",
                   r->network == AIRLOCK_NETWORK_PROXY ? "proxy" : "none");
}

char *airlock_result_to_json(const airlock_result *r) {
  json_t *limits = json_object();
  for (int i = 0; i < AIRLOCK_LIMIT_COUNT; i++) {
    const airlock_limit_report *l = &r->limits[i];
    if (l->name == NULL)
      continue;
    json_object_set_new(limits, l->name,
                        json_pack("{s:I, s:s, s:s, s:b}", "value", (json_int_t)l->value, "unit", l->unit, "mechanism",
                                  l->mechanism, "degraded", l->degraded));
  }
  json_t *isolation = r->isolation != AIRLOCK_ISOLATION_NAMESPACES ? al_report_isolation(r) : json_pack("{s:[s,s,s,s,s,s,s], s:b, s:i, s:b, s:b, s:s}", "namespaces", "user", "pid", "mount", "network", "ipc",
                "uts", "cgroup", "seccomp", r->seccomp, "landlock_abi", r->landlock_abi, "no_new_privs", 1,
                "capabilities_dropped", 1, "network", r->network == AIRLOCK_NETWORK_PROXY ? "proxy" : "none");
  json_t *root = json_pack("{s:i, s:i, s:b, s:b, s:b, s:I, s:I, s:I, s:I, s:o, s:o}", "exit_code", r->exit_code,
                           "signal", r->signal, "timed_out", r->timed_out, "oom_killed", r->oom_killed, "exec_failed",
                           r->exec_failed, "wall_ms", (json_int_t)r->wall_ms, "cpu_user_ms", (json_int_t)r->cpu_user_ms,
                           "cpu_sys_ms", (json_int_t)r->cpu_sys_ms, "max_rss_kb", (json_int_t)r->max_rss_kb, "limits",
                           limits, "isolation", isolation);
  if (root == NULL)
    return NULL;
  json_object_set_new(isolation, "level", json_string(airlock_isolation_name(r->isolation)));
  json_object_set_new(isolation, "kernel", json_string(r->kernel ? r->kernel : al_host_kernel()));
  json_object_set_new(root, "killed_by_signal", json_boolean(r->killed_by_signal));
  json_object_set_new(root, "cgroup_placement", r->cgroup_placement ? json_string(r->cgroup_placement) : json_null());
  json_object_set_new(root, "degraded", r->degraded_note ? json_string(r->degraded_note) : json_null());
  /* who the sandbox was on the host, and which host sockets it could reach */
  json_t *sockets = json_array();
  for (char **s = r->sockets_allowed; s && *s; s++)
    json_array_append_new(sockets, json_string(*s));
  json_object_set_new(root, "identity",
                      json_pack("{s:s, s:I, s:I, s:b, s:I, s:o}", "mode", r->identity ? r->identity : "unknown",
                                "host_uid", (json_int_t)r->host_uid, "host_gid", (json_int_t)r->host_gid, "idmapped",
                                r->idmapped, "sockets_masked", (json_int_t)r->sockets_masked, "sockets_allowed",
                                sockets));
  if (r->workspace.present) {
    const char *id = r->workspace.changeset;
    json_object_set_new(
        root, "workspace",
        json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "mode", r->workspace.mode, "mechanism",
                  r->workspace.mechanism, "quota_bytes", (json_int_t)r->workspace.quota_bytes, "quota_inodes",
                  (json_int_t)r->workspace.quota_inodes, "written_bytes", (json_int_t)r->workspace.written_bytes,
                  "written_files", (json_int_t)r->workspace.written_files, "deleted", (json_int_t)r->workspace.deleted,
                  "skipped", (json_int_t)r->workspace.skipped, "changeset", id ? json_string(id) : json_null(), "error",
                  r->workspace.error ? json_string(r->workspace.error) : json_null()));
    if (id)
      json_object_set_new(root, "changeset", json_string(id));
  }
  if (r->n_mounts) {
    json_t *mounts = json_array();
    for (size_t i = 0; i < r->n_mounts; i++) {
      const struct airlock_mount_report *m = &r->mounts[i];
      json_array_append_new(
          mounts, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:o, s:o}", "target", m->target ? m->target : "",
                            "mechanism", m->mechanism ? m->mechanism : "", "written_bytes",
                            (json_int_t)m->written_bytes, "written_files", (json_int_t)m->written_files, "deleted",
                            (json_int_t)m->deleted, "skipped", (json_int_t)m->skipped, "changeset",
                            m->changeset ? json_string(m->changeset) : json_null(), "error",
                            m->error ? json_string(m->error) : json_null()));
    }
    json_object_set_new(root, "writable_mounts", mounts);
  }
  json_t *egress = r->egress_json ? json_loads(r->egress_json, 0, NULL) : NULL;
  if (egress)
    json_object_set_new(root, "egress", egress);
  char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(root);
  return text;
}
