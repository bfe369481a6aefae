/* SPDX-License-Identifier: Apache-2.0 */
/* vm.h - --isolation vm: a command runs in a QEMU microvm guest, under a
 * second kernel (docs/vm.md).
 *
 * al_vm_probe says what this host can do (QEMU, a guest kernel, KVM or only
 * TCG emulation).  al_vm_boot starts a guest and waits for its agent;
 * al_vm_exec runs one command in it (several, one after another, in a warm
 * VM); al_vm_stop powers it off.  al_vm_run is the three for one command,
 * which is what `airlock run --isolation vm` does.  libc and jansson only,
 * like the rest of libairlock. */
#ifndef AIRLOCK_VM_H
#define AIRLOCK_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "airlock/airlock.h"
#include "egress_spawn.h"

#include <sys/types.h>

typedef struct al_vm_probe_info {
  char qemu[512];           /* qemu-system-x86_64 found ("" = none) */
  char kernel[512];         /* the guest kernel image ("" = none) */
  char kernel_release[128]; /* its release, e.g. 6.1.0-57-amd64 (the name of its /lib/modules) */
  char accel[8];            /* "kvm" or "tcg" */
  char why_not_kvm[256];    /* when accel is tcg: why */
  uint64_t tsc_khz;         /* the host's TSC rate, measured: what a TCG guest is told its TSC runs at */
} al_vm_probe_info;

/* Fill *info.  -1 with *err when no VM can run at all (no QEMU, no kernel);
 * a host with TCG only is not an error here (info->accel says so). */
int al_vm_probe(al_vm_probe_info *info, airlock_error **err);

typedef struct al_vm_request {
  const char *workspace; /* host directory shared at /workspace (NULL: none) */
  int workspace_fd;      /* or that directory as a descriptor (an O_PATH one will do; -1: none): used instead
                            of the name, which is never looked up again; initialise it, 0 is a descriptor */
  bool workspace_rw;
  const char *output;       /* host directory shared read-write at /output (NULL: none) */
  int64_t memory_bytes;     /* guest RAM (0: 512 MiB) */
  double cpus;              /* vCPUs: rounded up, at least 1 */
  bool allow_tcg;           /* accept software emulation (--allow-degraded) */
  const char *state_dir;    /* where the kernel and initramfs are cached (NULL: the default) */
  double boot_timeout_sec;  /* 0: 60 */
  int64_t pids;             /* QEMU's cgroup: processes and threads (0: 256) */
  bool verbose;             /* the guest's console on stderr */
  bool net;                 /* --network proxy: the proxy's sockets are in net_dir_fd (vm_egress.c) */
  int net_dir_fd;
} al_vm_request;

typedef struct al_vm_info {
  al_vm_probe_info probe;
  char guest_release[128]; /* uname -r inside, as the agent reported it */
  int64_t boot_ms;         /* QEMU spawned to the agent ready */
  long qemu_uid;           /* the uid QEMU ran as */
  bool qemu_sandboxed;     /* -sandbox on (QEMU's own seccomp filter) */
  const char *share_model; /* the 9p shares' security_model: "none", or "mapped-xattr" when QEMU is root */
  char cgroup[64];         /* the controllers of QEMU's own cgroup ("memory,pids,cpu"; "" = none could be made) */
  int64_t cgroup_memory;   /* its memory limit: the guest's RAM + QEMU's overhead (0 = none) */
} al_vm_info;

typedef struct al_vm al_vm;

al_vm *al_vm_boot(const al_vm_request *req, al_vm_info *info, airlock_error **err);

typedef struct al_vm_exec_result {
  int exit_code; /* as airlock reports it: the code, 128+signal, 124 on timeout */
  int signal;
  bool timed_out;
  bool oom_killed; /* QEMU's cgroup ran out of memory: the VM was killed (exit 137) */
  bool exec_failed;
  int64_t wall_ms, cpu_user_ms, cpu_sys_ms, max_rss_kb;
} al_vm_exec_result;

/* Run argv in the guest with env ("K=V", added to the guest's small base
 * environment) in cwd (NULL: /workspace, else /), its stdio relayed from
 * and to the host descriptors in_fd (-1: empty stdin), out_fd and err_fd.
 * timeout_sec > 0: the command is killed when it is over (kill_vm: by
 * killing the whole VM, which is then unusable; else by SIGKILL to its
 * process group inside).  -1 with *err when the VM failed. */
/* One more descriptor al_vm_exec watches while the command runs (the
 * node's socket, for the agent bridge): when it is readable, ready() is
 * called; it returns 0 (nothing to do), a signal number for the command's
 * process group, or -1 to give up (the VM is killed, al_vm_exec fails). */
typedef struct al_vm_watch {
  int fd;
  int (*ready)(void *arg);
  void *arg;
} al_vm_watch;

int al_vm_exec(al_vm *vm, char *const *argv, char *const *env, const char *cwd, int in_fd, int out_fd, int err_fd,
               double timeout_sec, bool kill_vm, const al_vm_watch *watch, al_vm_exec_result *res,
               airlock_error **err);

/* End the VM (QEMU killed: the agent synced after every exec) and free
 * everything; NULL is fine. */
void al_vm_stop(al_vm *vm);

/* boot + exec + stop for one command: the timeout kills the VM */
int al_vm_run(const al_vm_request *req, char *const *argv, char *const *env, const char *cwd, double timeout_sec,
              al_vm_info *info, al_vm_exec_result *res, airlock_error **err);

/* The report of a run (JSON text, malloc'd) in the shape of
 * airlock_result_to_json's, with isolation {"kind": "vm", ...} and, with
 * --network proxy, spec's "egress" object. */
char *al_vm_report_json(const airlock_spec *spec, const al_vm_request *req, const al_vm_info *info,
                        const al_vm_exec_result *res);

/* Spec level (vm_run.c).  What a spec may ask of the vm backend: -1 with
 * "--isolation vm does not support X yet" for what it cannot honour
 * (image, binds, sockets, secrets, changes mode, pty). */
int al_vm_spec_check(const airlock_spec *spec, airlock_error **err);
void al_vm_request_from_spec(const airlock_spec *spec, al_vm_request *req);
/* One command of spec in a VM with the caller's stdio (al_vm_run) and,
 * with --network proxy, its egress proxy; req is filled from spec. */
int al_vm_run_spec(const airlock_spec *spec, al_vm_request *req, al_vm_info *info, al_vm_exec_result *res,
                   airlock_error **err);
/* "Linux 6.1.0-57-amd64 (QEMU microvm guest, TCG emulation)" */
void al_vm_kernel_text(const al_vm_info *info, char *buf, size_t len);
/* airlock_run()'s contract for spec->isolation vm: the command in a VM with
 * the caller's stdio, r filled (limits with the vm's mechanisms, the
 * degraded note when emulated); info_out (may be NULL) gets what ran. */
int al_vm_airlock_run(const airlock_spec *spec, airlock_result *r, al_vm_info *info_out, airlock_error **err);

/* --network proxy (vm_egress.c): the egress proxy and the directory of
 * its two listeners, which al_vm_request's net_dir_fd names */
typedef struct al_vm_egress {
  al_egress proxy;
  char *dir;   /* STATE/vm/net-XXXXXX */
  int dir_fd;  /* O_PATH */
  int lock_fd; /* its owner.lock, held while the sandbox lives */
} al_vm_egress;
void al_vm_egress_init(al_vm_egress *e);
/* Start the proxy for spec (its network settings), hand it the listeners
 * and write the guest's trust store beside them; -1 with *err (nothing
 * left) when it cannot. */
int al_vm_egress_start(al_vm_egress *e, const airlock_spec *spec, airlock_error **err);
/* Stop the proxy and remove the directory; idempotent */
void al_vm_egress_stop(al_vm_egress *e);
/* A command's base environment under --network proxy: the proxy's
 * variables, and with inspected hosts the trust store's (static storage,
 * NULL-terminated) */
char *const *al_vm_proxy_env(bool inspected);
/* The host's end of the airlock.net port: a child serving port with the
 * sockets in sock_dir, as uid/gid when airlock is root; its pid or -1. */
pid_t al_vm_net_relay_start(int port, int sock_dir, uid_t uid, gid_t gid);
/* `airlock gc`: remove the socket directories of killed launchers in
 * STATE/vm; how many */
unsigned al_vm_net_gc(const char *state_dir);
/* `airlock gc`: remove the cached kernels and initramfs files in STATE/vm
 * that are not the current ones (older kernels, older airlock-vm-init);
 * nothing when the current ones cannot be named (no QEMU, no kernel) */
unsigned al_vm_image_gc(const char *state_dir);
/* both; state_dir NULL: the default */
unsigned al_vm_gc(const char *state_dir);

/* A persistent sandbox of the node in a VM (vm_box.c): b is set up as
 * al_box_start would (box.h: al_box_exec, _read, _signal, _kill, _free
 * work on it unchanged), but its "init" is airlock-vm-agent, a host
 * process that boots the VM from spec (workspace, output, memory, cpus,
 * pids, state_dir; allow_degraded accepts TCG) and serves the node's
 * agent protocol (agent_proto.h, SCM_RIGHTS stdio) by relaying each exec
 * to the guest.  One exec at a time; no pty execs. */
struct al_box;
int al_vm_box_start(struct al_box *b, const airlock_spec *spec, airlock_error **err);

/* image side (vm_image.c): the uncompressed kernel (PVH entry) and the
 * initramfs with the agent and modules, built once and cached in
 * STATE/vm/; paths written to kernel_out and initrd_out */
int al_vm_image_prepare(const al_vm_probe_info *probe, const char *state_dir, char *kernel_out, size_t kernel_len,
                        char *initrd_out, size_t initrd_len, airlock_error **err);

#endif
