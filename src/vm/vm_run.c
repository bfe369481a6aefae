/* SPDX-License-Identifier: Apache-2.0 */
/* vm_run.c - the spec-level entries of --isolation vm: what a spec may ask
 * of the vm backend, one command of a spec with its egress proxy, the
 * report `airlock run` writes, and airlock_run()'s contract (spec in,
 * airlock_result out, nothing left behind) for a dispatch that picks the
 * backend by spec->isolation. */
#define _GNU_SOURCE
#include "vm.h"

#include "error.h"
#include "agent_proto.h"
#include "launch.h"
#include "network.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int al_vm_spec_check(const airlock_spec *spec, airlock_error **err) {
  const char *no = NULL;
  if (spec->image)
    no = "--image";
  else if (spec->n_binds)
    no = "--bind";
  else if (spec->n_sockets)
    no = "--bind-socket";
  else if (spec->n_secrets)
    no = "--secret";
  else if (spec->workspace_mode != AIRLOCK_WORKSPACE_LIVE)
    no = "--workspace-mode changes";
  else if (spec->pty == AIRLOCK_PTY_ALWAYS)
    no = "--pty";
  return no ? al_err(err, 0, "--isolation vm does not support %s yet", no) : 0;
}

void al_vm_request_from_spec(const airlock_spec *spec, al_vm_request *req) {
  *req = (al_vm_request){
      .workspace = spec->workspace_none ? NULL : spec->workspace,
      .workspace_fd = spec->workspace_none ? -1 : spec->workspace_fd,
      .net_dir_fd = -1,
      .workspace_rw = spec->workspace_rw,
      .output = spec->output,
      .memory_bytes = spec->memory_bytes,
      .cpus = spec->cpus,
      .pids = spec->pids,
      .allow_tcg = spec->allow_degraded,
      .state_dir = spec->state_dir,
      .verbose = getenv("AIRLOCK_VM_CONSOLE") != NULL,
  };
}

void al_vm_kernel_text(const al_vm_info *info, char *buf, size_t len) {
  snprintf(buf, len, "Linux %s (QEMU microvm guest, %s)",
           info->guest_release[0] ? info->guest_release : info->probe.kernel_release,
           strcmp(info->probe.accel, "kvm") == 0 ? "KVM" : "TCG emulation");
}

static void limit(airlock_result *r, airlock_limit_kind k, const char *name, int64_t value, const char *unit,
                  const char *mechanism) {
  r->limits[k] = (airlock_limit_report){.name = name, .value = value, .unit = unit, .mechanism = mechanism};
}

int al_vm_run_spec(const airlock_spec *spec, al_vm_request *req, al_vm_info *info, al_vm_exec_result *res,
                   airlock_error **err) {
  memset(info, 0, sizeof(*info));
  memset(res, 0, sizeof(*res));
  al_vm_request_from_spec(spec, req);
  bool proxy = spec->network == AIRLOCK_NETWORK_PROXY;
  al_vm_egress egress;
  al_vm_egress_init(&egress);
  if (proxy && al_vm_egress_start(&egress, spec, err) < 0)
    return -1;
  /* -e only, nothing of the caller's environment; the proxy's variables,
   * and with inspected hosts the trust store's, unless a -e names them */
  char **env = al_env_merge(proxy ? al_vm_proxy_env(egress.proxy.ca_pem != NULL) : NULL, spec->env, spec->n_env);
  if (!env) {
    al_vm_egress_stop(&egress);
    return al_err(err, ENOMEM, "env");
  }
  req->net = proxy;
  req->net_dir_fd = egress.dir_fd;
  int rc = al_vm_run(req, spec->argv, env, spec->cwd, spec->timeout_sec, info, res, err);
  al_vm_egress_stop(&egress);
  req->net_dir_fd = -1;
  free(env);
  return rc;
}

int al_vm_airlock_run(const airlock_spec *spec, airlock_result *r, al_vm_info *info_out, airlock_error **err) {
  memset(r, 0, sizeof(*r));
  if (al_vm_spec_check(spec, err) < 0)
    return -1;
  al_vm_request req;
  al_vm_request_from_spec(spec, &req);
  /* 9p writes the host directories themselves: nothing bounds them */
  bool ws_rw = (req.workspace || req.workspace_fd >= 0) && req.workspace_rw;
  if ((ws_rw || req.output) && !spec->allow_degraded)
    return al_err(err, 0,
                  "isolation vm: writes to %s cannot be bounded (9p writes the host directory directly; "
                  "--isolation namespaces bounds them with an overlay); --allow-degraded accepts that",
                  ws_rw ? "/workspace" : "/output");
  al_vm_info info;
  al_vm_exec_result res;
  int rc = al_vm_run_spec(spec, &req, &info, &res, err);
  if (info_out)
    *info_out = info;
  if (rc < 0)
    return -1;
  r->exit_code = res.exit_code;
  r->signal = res.signal;
  r->timed_out = res.timed_out;
  r->oom_killed = res.oom_killed;
  r->exec_failed = res.exec_failed;
  r->wall_ms = res.wall_ms;
  r->cpu_user_ms = res.cpu_user_ms;
  r->cpu_sys_ms = res.cpu_sys_ms;
  r->max_rss_kb = res.max_rss_kb;
  r->network = spec->network;
  if (spec->network == AIRLOCK_NETWORK_PROXY)
    r->egress_json = al_network_report(spec);
  r->identity = "vm";
  r->host_uid = r->host_gid = (uint32_t)info.qemu_uid;
  int64_t mem = req.memory_bytes > 0 ? req.memory_bytes : 512LL << 20;
  int vcpus = req.cpus > 1 ? (int)req.cpus + ((double)(int)req.cpus < req.cpus) : 1;
  limit(r, AIRLOCK_LIMIT_MEMORY, "memory", mem, "bytes", "vm-ram");
  limit(r, AIRLOCK_LIMIT_CPUS, "cpus", (int64_t)vcpus * 1000, "milli-cpus", "vm-vcpus");
  if (info.cgroup[0])
    limit(r, AIRLOCK_LIMIT_PIDS, "pids", req.pids > 0 ? req.pids : 256, "count", "cgroup (QEMU)");
  limit(r, AIRLOCK_LIMIT_TIMEOUT, "timeout", (int64_t)(spec->timeout_sec * 1000), "ms", "vm-kill");
  if (strcmp(info.probe.accel, "tcg") == 0) {
    char note[320];
    snprintf(note, sizeof(note), "software emulation (TCG): %s", info.probe.why_not_kvm);
    al_append_note(&r->degraded_note, note);
  }
  if (ws_rw) {
    r->workspace.present = true;
    r->workspace.mode = "live";
    r->workspace.mechanism = "9p (unbounded)";
    al_append_note(&r->degraded_note, "/workspace: writes go straight to the host directory, bounded per file only");
  }
  if (req.output && (r->mounts = calloc(1, sizeof(*r->mounts))) != NULL) {
    r->mounts[0] = (struct airlock_mount_report){.target = strdup("/output"), .mechanism = "9p (unbounded)"};
    r->n_mounts = 1;
    al_append_note(&r->degraded_note, "/output: writes go straight to the host directory, bounded per file only");
  }
  return 0;
}

char *al_vm_report_json(const airlock_spec *spec, const al_vm_request *req, const al_vm_info *info,
                        const al_vm_exec_result *res) {
  bool proxy = spec->network == AIRLOCK_NETWORK_PROXY;
  const al_vm_probe_info *p = &info->probe;
  int64_t mem = req->memory_bytes > 0 ? req->memory_bytes : 512LL << 20;
  int smp = req->cpus > 1 ? (int)req->cpus + ((double)(int)req->cpus < req->cpus) : 1;
  json_t *limits = json_pack("{s:{s:I, s:s, s:s, s:b}, s:{s:i, s:s, s:s, s:b}}", "memory", "value", (json_int_t)mem,
                             "unit", "bytes", "mechanism", "vm-ram", "degraded", 0, "cpus", "value", smp, "unit",
                             "vcpus", "mechanism", "vm-vcpus", "degraded", 0);
  bool tcg = strcmp(p->accel, "tcg") == 0;
  json_t *isolation = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:s, s:I, s:b, s:b, s:s, s:s}", "kind", "vm", "vmm",
                                "qemu microvm", "accel", p->accel, "kernel", p->kernel, "kernel_release",
                                info->guest_release[0] ? info->guest_release : p->kernel_release, "why_not_kvm",
                                tcg ? p->why_not_kvm : NULL, "network", proxy ? "proxy" : "none", "qemu_uid", (json_int_t)info->qemu_uid,
                                "qemu_seccomp", info->qemu_sandboxed, "guest_aslr", !tcg, "root", "initramfs + host /usr read-only (9p)",
                                "workspace",
                                req->workspace || req->workspace_fd >= 0
                                    ? (req->workspace_rw ? "9p read-write" : "9p read-only")
                                    : "none");
  json_object_set_new(isolation, "qemu_cgroup",
                      info->cgroup[0] ? json_pack("{s:s, s:I}", "controllers", info->cgroup, "memory_bytes",
                                                  (json_int_t)info->cgroup_memory)
                                      : json_null());
  json_object_set_new(isolation, "share_security_model", json_string(info->share_model ? info->share_model : "none"));
  json_t *root = json_pack("{s:i, s:i, s:b, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "exit_code",
                           res->exit_code, "signal", res->signal, "timed_out", res->timed_out, "oom_killed", res->oom_killed,
                           "exec_failed", res->exec_failed, "wall_ms", (json_int_t)res->wall_ms, "boot_ms",
                           (json_int_t)info->boot_ms, "cpu_user_ms", (json_int_t)res->cpu_user_ms, "cpu_sys_ms",
                           (json_int_t)res->cpu_sys_ms, "max_rss_kb", (json_int_t)res->max_rss_kb, "limits", limits,
                           "isolation", isolation);
  if (!root)
    return NULL;
  if (proxy) {
    char *egress = al_network_report(spec);
    json_t *e = egress ? json_loads(egress, 0, NULL) : NULL;
    free(egress);
    if (e)
      json_object_set_new(root, "egress", e);
  }
  json_object_set_new(root, "degraded",
                      tcg ? json_sprintf("software emulation (TCG): %s", p->why_not_kvm) : json_null());
  char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(root);
  return text;
}
