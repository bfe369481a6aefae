/* SPDX-License-Identifier: Apache-2.0 */
/* airlock.h - public API of libairlock: describe a sandbox, run a command in
 * it, read back what happened.  Front ends (the CLI, the node daemon) are thin
 * wrappers around airlock_run(); everything that isolates or limits lives in
 * the library so every front end gets the same guarantees. */
#ifndef AIRLOCK_AIRLOCK_H
#define AIRLOCK_AIRLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AIRLOCK_VERSION "0.1.0"

/* What libairlock.so exports: the functions of this header and client.h,
 * nothing else (the library is built with hidden visibility and the
 * version script src/libairlock.map; tests/install checks both agree). */
#ifndef AIRLOCK_API
#define AIRLOCK_API __attribute__((visibility("default")))
#endif

/* Exit codes used by front ends, following timeout(1) and docker run. */
#define AIRLOCK_EXIT_TIMEOUT 124
#define AIRLOCK_EXIT_SETUP 125
#define AIRLOCK_EXIT_NOT_EXECUTABLE 126
#define AIRLOCK_EXIT_NOT_FOUND 127
#define AIRLOCK_EXIT_OOM 137

/* The one error type: an errno (0 when not from a syscall) and a message
 * that is already fit to show a user ("cannot mount /proc: Permission
 * denied").  Functions that fail return -1 and set *err. */
typedef struct airlock_error {
  int errnum;
  char *msg;
} airlock_error;

AIRLOCK_API void airlock_error_free(airlock_error **err);

typedef enum {
  AIRLOCK_NETWORK_NONE = 0,  /* loopback only */
  AIRLOCK_NETWORK_PROXY = 1, /* loopback only, plus an egress proxy outside the sandbox serving
                                127.0.0.1:3128 (HTTP proxy) and 127.0.0.1:53 (DNS) inside it */
} airlock_network;

/* Which kernel the command talks to (docs/isolation.md).  Namespaces: the
 * host's, behind namespaces, seccomp and Landlock (the default).  gVisor: a
 * user-space kernel (runsc) between the command and the host's.  vm: a
 * guest kernel in a microVM (not in every build: refused when missing). */
typedef enum {
  AIRLOCK_ISOLATION_NAMESPACES = 0,
  AIRLOCK_ISOLATION_GVISOR = 1,
  AIRLOCK_ISOLATION_VM = 2,
} airlock_isolation;

/* The command's terminal.  The caller's own terminal is never handed to
 * the sandbox: a stdin, stdout or stderr that is a terminal is replaced,
 * by the slave side of a pseudo-terminal the sandbox opened in its own
 * devpts (airlock relays it to the caller's terminal) or, with
 * AIRLOCK_PTY_NEVER, by /dev/null (stdin) or a pipe (stdout, stderr).
 * Descriptors that are not terminals are passed as they are. */
typedef enum {
  AIRLOCK_PTY_AUTO = 0,   /* a pty when stdin, stdout or stderr is a terminal; for those only */
  AIRLOCK_PTY_ALWAYS = 1, /* a pty for stdin and stdout (and a terminal stderr) even without a terminal */
  AIRLOCK_PTY_NEVER = 2,  /* no pty */
} airlock_pty_mode;

/* What happens to a read-write workspace's changes (docs/cli.md): written
 * back onto the host directory when the command ends, or kept as a
 * changeset that `airlock changes apply` writes later. */
typedef enum { AIRLOCK_WORKSPACE_LIVE = 0, AIRLOCK_WORKSPACE_CHANGES } airlock_workspace_mode;

typedef struct airlock_bind {
  char *src; /* host path, as given */
  char *dst; /* absolute path inside the sandbox */
  bool writable;
} airlock_bind;

/* Everything that describes one sandbox.  Fill with airlock_spec_init(),
 * then a config file and/or flags; airlock_spec_validate() checks it. */
typedef struct airlock_spec {
  char **argv;      /* command, NULL-terminated; borrowed */
  char *cwd;        /* working directory inside; default /workspace or HOME */
  char *image;      /* read-only root directory; NULL = host /usr etc. */
  bool image_require_signature; /* an image of the store runs only when its signature verifies with
                                   image_trusted_keys (checked again at each start); a directory is refused */
  char **image_trusted_keys;    /* public key files (minisign, or PEM ECDSA P-256 for cosign-style) */
  size_t n_image_trusted_keys;
  char *workspace;  /* host dir mounted at /workspace */
  int workspace_fd; /* an O_PATH descriptor of that dir which the caller opened and checked itself
                           (the node, below a tenant's root): used instead of opening workspace; -1 = none */
  bool workspace_rw;
  bool workspace_none;                   /* config said workspaceAccess "none": mount no workspace */
  int64_t workspace_quota_bytes;         /* cap on what a read-write workspace may gain; 0 = disk_bytes */
  airlock_workspace_mode workspace_mode; /* live (default) or changes */
  char *output;                          /* host dir mounted rw at /output */
  airlock_bind *binds;
  size_t n_binds;
  char **env; /* "K=V" strings given by the user */
  size_t n_env;
  uint32_t uid; /* uid and gid inside: 1001 or 0 */
  char *hostname;

  int64_t memory_bytes; /* memory + swap */
  double cpus;
  int64_t pids;
  double timeout_sec;
  int64_t disk_bytes; /* all writable tmpfs space together */
  int64_t nofile;
  bool tmp_exec;
  bool allow_degraded;        /* accept rlimit fallbacks where cgroups are missing, and a workspace that cannot
                           be idmapped (the sandbox then runs as the workspace's owner) */
  bool allow_writable_system; /* a writable workspace, output or bind may be a directory of root's or of a
                           system uid, or under /usr, /etc, /var, /opt, /srv, /boot, /lib*, /bin, /sbin */
  airlock_bind *sockets;      /* host unix sockets bound by name (src: socket, dst: path inside); every other
                           socket in a mounted tree is masked */
  size_t n_sockets;
  airlock_network network;
  char *network_json; /* proxy mode: settings handed to the egress proxy, a JSON object (the
                           config's "network" object, rules of airlock_spec_add_egress_rule()
                           appended to its allow/deny); NULL = none */
  char *egress_log;   /* proxy mode: file for the proxy's JSON-lines records; NULL = stderr */
  int egress_log_fd;  /* proxy mode: a descriptor for those records instead (the node's pipe); -1 = none */
  char **secrets;     /* names in the secret store, each written to /run/secrets/NAME */
  size_t n_secrets;
  char *state_dir;      /* the secret store's state directory; NULL = the default one */
  airlock_pty_mode pty; /* airlock_run(): the command's terminal (default auto) */
  airlock_isolation isolation; /* the backend (default namespaces) */
  char *runsc;                 /* gvisor: the runsc binary; NULL = "runsc" on PATH */
} airlock_spec;

AIRLOCK_API void airlock_spec_init(airlock_spec *spec);
/* "live" or "changes" */
AIRLOCK_API int airlock_parse_workspace_mode(const char *s, airlock_workspace_mode *mode, airlock_error **err);
/* "namespaces", "gvisor" or "vm" (vm parses everywhere; airlock_run()
 * refuses it where the build has no vm backend) */
AIRLOCK_API int airlock_parse_isolation(const char *s, airlock_isolation *isolation, airlock_error **err);
AIRLOCK_API const char *airlock_isolation_name(airlock_isolation isolation);
AIRLOCK_API void airlock_spec_clear(airlock_spec *spec);
AIRLOCK_API int airlock_spec_validate(const airlock_spec *spec, airlock_error **err);
/* Append a copy of "K=V" (replacing an earlier K) / take ownership of a bind. */
AIRLOCK_API int airlock_spec_add_env(airlock_spec *spec, const char *kv, airlock_error **err);
AIRLOCK_API int airlock_spec_add_bind(airlock_spec *spec, airlock_bind *bind, airlock_error **err);
/* Take ownership of a host unix socket to bind by name (src, dst; writable is ignored). */
AIRLOCK_API int airlock_spec_add_socket(airlock_spec *spec, airlock_bind *sock, airlock_error **err);
/* Replace a string field with a copy of value. */
AIRLOCK_API int airlock_spec_set_string(char **field, const char *value, airlock_error **err);
/* Append an allow (or deny) rule for the egress proxy to spec->network_json. */
AIRLOCK_API int airlock_spec_add_egress_rule(airlock_spec *spec, bool deny, const char *rule, airlock_error **err);
/* Append the name of a secret to place at /run/secrets/NAME. */
AIRLOCK_API int airlock_spec_add_secret(airlock_spec *spec, const char *name, airlock_error **err);

/* Load JSON config (airlock keys and the OpenClaw "sandbox" block) into spec. */
AIRLOCK_API int airlock_spec_load_json(airlock_spec *spec, const char *text, size_t len, airlock_error **err);
AIRLOCK_API int airlock_spec_load_file(airlock_spec *spec, const char *path, airlock_error **err);
/* The same for an openclaw.json and one of its agents: agents.defaults.sandbox,
 * then agents.list[id == agent_id].sandbox over it (key by key, docker.*
 * within docker).  agent_id NULL: the defaults only.  An agent the file does
 * not list, or a file that is not an openclaw.json, is an error. */
AIRLOCK_API int airlock_spec_load_json_agent(airlock_spec *spec, const char *text, size_t len, const char *agent_id,
                                             airlock_error **err);
AIRLOCK_API int airlock_spec_load_file_agent(airlock_spec *spec, const char *path, const char *agent_id,
                                             airlock_error **err);

/* Parsers shared by config and flags. */
AIRLOCK_API int airlock_parse_size(const char *text, int64_t *out, airlock_error **err);
AIRLOCK_API int airlock_parse_bind(const char *text, airlock_bind *out, airlock_error **err);
/* Digits with at most one '.'; returns -1 for anything else. */
AIRLOCK_API int airlock_parse_decimal(const char *text, double *out);

typedef enum {
  AIRLOCK_LIMIT_MEMORY,
  AIRLOCK_LIMIT_CPUS,
  AIRLOCK_LIMIT_PIDS,
  AIRLOCK_LIMIT_TIMEOUT,
  AIRLOCK_LIMIT_DISK,
  AIRLOCK_LIMIT_CPU_TIME,
  AIRLOCK_LIMIT_FILE_SIZE,
  AIRLOCK_LIMIT_OPEN_FILES,
  AIRLOCK_LIMIT_CORE,
  AIRLOCK_LIMIT_COUNT
} airlock_limit_kind;

/* How one limit was applied.  mechanism is "cgroup2", "cgroup1", "rlimit",
 * "tmpfs", "timer" or "none" (only possible with allow_degraded). */
typedef struct airlock_limit_report {
  const char *name;
  int64_t value; /* bytes, count, milli-cpus or milliseconds */
  const char *unit;
  const char *mechanism;
  bool degraded;
} airlock_limit_report;

typedef struct airlock_result {
  int exit_code; /* what the front end should exit with */
  int signal;    /* signal that ended the command, 0 if it exited */
  bool timed_out;
  bool oom_killed;
  bool exec_failed;      /* command could not be executed (exit 126/127) */
  bool killed_by_signal; /* ended by a repeated signal to the launcher */
  int64_t wall_ms;
  int64_t cpu_user_ms;
  int64_t cpu_sys_ms;
  int64_t max_rss_kb;
  airlock_limit_report limits[AIRLOCK_LIMIT_COUNT];
  int landlock_abi; /* 0 when the kernel has no Landlock */
  bool seccomp;
  char *degraded_note; /* human readable, NULL when nothing degraded */
  airlock_network network;
  char *egress_json; /* proxy mode: the report's "egress" object (JSON text); NULL otherwise */
  /* who the sandbox is on the host: "allocated" (a uid of airlock's range, leased for this sandbox),
     "caller" (rootless: the caller's own uid) or "workspace-owner" (degraded: no idmapped mount) */
  const char *identity;
  uint32_t host_uid, host_gid;
  bool idmapped;           /* workspace, output and binds are idmapped mounts */
  unsigned sockets_masked; /* unix sockets found in mounted trees and made unreachable */
  char **sockets_allowed;  /* host sockets bound by name (--bind-socket), NULL-terminated; NULL = none */
  /* a read-write workspace: how its writes were bounded and what became of them */
  struct {
    bool present;
    const char *mode;      /* "live" or "changes" */
    const char *mechanism; /* "overlay+tmpfs" or "bind (degraded)" */
    int64_t quota_bytes, quota_inodes;
    uint64_t written_bytes, written_files, deleted, skipped;
    char *changeset; /* changes mode: the id of the saved changeset */
    char *error;     /* the write-back or the save failed: why */
  } workspace;
  airlock_isolation isolation; /* the backend that ran the command */
  char *kernel;                /* the kernel the command saw, e.g. "gVisor 4.4.0 (runsc 0.0~20221219.0,
                                  platform ptrace) on Linux 6.18.0"; NULL = the host's */
  /* the output and read-write directory binds: bounded with the workspace's
   * quota (one cap for all) and written back when the sandbox is gone */
  struct airlock_mount_report {
    char *target;          /* inside the sandbox, e.g. "/output" */
    const char *mechanism; /* "overlay+tmpfs" or "bind (degraded)" */
    uint64_t written_bytes, written_files, deleted, skipped;
    char *changeset; /* the write-back failed or would cost the host more than the quota: kept as this changeset */
    char *error;     /* why */
  } *mounts;
  size_t n_mounts;
  /* where the sandbox's cgroups were made, e.g. "systemd transient scope airlock-run-123.scope (...)",
     "delegated cgroup ...", "own sub-tree /sys/fs/cgroup/airlock"; static, NULL when unknown */
  const char *cgroup_placement;
} airlock_result;

AIRLOCK_API void airlock_result_clear(airlock_result *result);
/* JSON text of the report; caller frees. */
AIRLOCK_API char *airlock_result_to_json(const airlock_result *result);

/* Run spec->argv in a fresh sandbox; returns when it and everything it
 * started are gone.  -1 means the sandbox could not be set up (nothing ran). */
AIRLOCK_API int airlock_run(const airlock_spec *spec, airlock_result *result, airlock_error **err);

/* Remove what killed launchers left behind (empty cgroups, the bundles of
 * gVisor sandboxes with their secret files overwritten). */
AIRLOCK_API int airlock_gc(unsigned *removed, airlock_error **err);

#ifdef __cplusplus
}
#endif
#endif
