/* SPDX-License-Identifier: Apache-2.0 */
/* plan.h - everything the sandbox's init needs, computed by the launcher
 * before clone so that the child only makes syscalls: resolved host paths,
 * file contents for /etc, the environment, the compiled seccomp program. */
#ifndef AIRLOCK_PLAN_H
#define AIRLOCK_PLAN_H

#include "airlock/airlock.h"
#include "identity.h"
#include "seccomp_filter.h"

#include <spawn.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <termios.h>

typedef enum { AL_ENTRY_DIR, AL_ENTRY_FILE, AL_ENTRY_SYMLINK } al_entry_type;

/* a host path placed into the new root */
typedef struct al_mount_entry {
  char *host_path; /* canonical host path (binds) or plain host path */
  char *target;    /* absolute path inside the sandbox */
  al_entry_type type;
  char *link_target; /* for symlinks: recreated, not mounted */
  bool writable;
  char *content; /* small /etc files are copied, not mounted (cheaper) */
  size_t content_len;
  /* user-named sources (workspace, output, binds, sockets): opened once by
   * the launcher; as root it hands a finished detached tree to the child,
   * rootless the child must find the very inode the launcher checked */
  int tree_fd; /* -1 when none */
  dev_t src_dev;
  ino_t src_ino;
  uid_t src_uid; /* its owner on disk, as judged: a write-back's file system ids as root */
  gid_t src_gid;
  bool socket; /* bound by name (--bind-socket): never masked */
} al_mount_entry;

/* A read-write directory of a one-shot run mounted as an overlay: its
 * upper layer is "u<slot>" on the upper tmpfs, written back through host_fd */
#define AL_MAX_OVERLAID 32
typedef struct al_overlaid {
  int user_index; /* in user[] */
  int host_fd;    /* O_PATH of the host directory judged by the plan (its own descriptor) */
} al_overlaid;

typedef struct al_rlimit {
  int resource;
  rlim_t value;
} al_rlimit;

/* what every sandbox gets as HOME and PATH (the node's approval binding
 * resolves commands the same way) */
#define AL_SANDBOX_HOME "/home/sandbox"
#define AL_SANDBOX_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#define AL_MAX_RLIMITS 8
#define AL_MAX_WRITABLE 32
#define AL_MAX_SECRETS 32

/* a secret written to /run/secrets/NAME (secret_files.c); the value is
 * wiped in the launcher once init has its copy, and in init once written */
typedef struct al_secret_file {
  const char *name; /* the spec's */
  unsigned char *value;
  size_t len;
} al_secret_file;

/* What the command gets as stdin, stdout and stderr (decided by the
 * launcher, stdio_relay.c; put in place by init): a terminal of the caller's
 * never enters the sandbox. */
typedef enum {
  AL_STDIO_PASS = 0, /* the caller's descriptor, which is not a terminal */
  AL_STDIO_PTY,      /* the slave side of a pty opened inside (the launcher relays the master) */
  AL_STDIO_NULL,     /* /dev/null */
  AL_STDIO_PIPE,     /* a pipe whose other end the launcher copies to the caller's terminal */
} al_stdio_kind;

typedef struct al_stdio {
  al_stdio_kind kind[3];
  int pipe_fd[3];   /* AL_STDIO_PIPE: the end init puts in place; -1 otherwise */
  bool pty;         /* some kind is AL_STDIO_PTY */
  bool set_termios; /* the caller's terminal modes, copied to the new pty */
  struct termios termios;
  struct winsize winsize; /* the caller's window size (0 x 0 when unknown) */
} al_stdio;

typedef struct al_plan {
  const airlock_spec *spec;
  const char *root_base; /* existing dir where the root tmpfs is mounted */

  al_mount_entry *system; /* /usr, /bin, ..., or the image's top level */
  size_t n_system;
  al_mount_entry *etc; /* host /etc entries bound read-only */
  size_t n_etc;
  al_mount_entry *user; /* workspace, output, --bind */
  size_t n_user;
  bool generate_etc; /* false with --image: its /etc is used */
  char *passwd, *group, *hosts, *hostname;
  bool egress;     /* proxy mode: resolv.conf, DNS in nsswitch, init makes the proxy's sockets */
  char *egress_ca; /* inspected hosts: the proxy's CA certificate (PEM), for AL_EGRESS_CA_CERT */
  char *ca_bundle; /* ... and the host's trust store with it, for AL_EGRESS_CA_BUNDLE */
  size_t ca_bundle_len;
  al_secret_file *secrets;
  size_t n_secrets;

  char **argv; /* copy: the caller's argv memory is wiped in the child */
  char **envp;
  const char *cwd;
  const char *home;

  uid_t inside_uid;
  gid_t inside_gid;
  uid_t host_uid;
  gid_t host_gid;
  bool drop_groups;     /* setgroups(0) possible (launcher is root) */
  al_id_lease lease;    /* root: the sandbox's own host uid/gid; init keeps the lock */
  const char *identity; /* "allocated", "caller" or "workspace-owner" (the report's) */
  bool idmapped;        /* user mounts are idmapped trees made by the launcher */

  /* A read-write workspace of a one-shot run becomes an overlay (rootfs.c):
   * the host directory read-only below, the upper layer on a tmpfs of its
   * own sized by the quota; init hands that layer to the launcher, which
   * writes it back or saves it (workspace_end.c) through its host_fd.  The
   * output and read-write directory binds become overlays too, their upper
   * layers on the same tmpfs (one cap for all), written back live: ovl[]
   * lists every such directory, the workspace first. */
  int ws_index;       /* in user[]: the read-write workspace; -1 none */
  bool overlay_writes; /* set by the launcher: mount ovl[] as overlays */
  al_overlaid ovl[AL_MAX_OVERLAID];
  size_t n_ovl;
  int64_t ws_quota_bytes, ws_quota_inodes;
  char ws_opts[96]; /* the upper tmpfs's size, nr_inodes and mode */

  al_rlimit rlimits[AL_MAX_RLIMITS];
  int n_rlimits;
  rlim_t command_as_limit;                   /* degraded memory cap: for commands, not for init */
  const char *writable[AL_MAX_WRITABLE + 1]; /* for Landlock, NULL-terminated */
  int landlock_abi;
  al_bpf seccomp;
  char scratch_opts[64]; /* tmpfs size and nr_inodes of the shared writable space */

  al_stdio stdio;    /* the command's stdin, stdout, stderr */
  bool in_cgroup_ns; /* clone3 already created the cgroup namespace */
  bool agent;        /* serve exec requests (agent.c) instead of running argv */
  int sync_fd;       /* socket: "go", then the cgroup fds; EOF = launcher died */
  int status_fd;     /* the same socket: the child sends al_status_msg on it */
} al_plan;

int al_plan_build(al_plan *plan, const airlock_spec *spec, airlock_error **err);
/* Proxy mode with inspected hosts: have the sandbox trust the proxy's CA
 * (its certificate, pem): the CA alone and the host's trust store with it
 * under AL_EGRESS_CA_DIR, the bundle also over AL_SYSTEM_CA_BUNDLE, and the
 * variables common TLS clients read pointing at them. */
int al_plan_trust_egress_ca(al_plan *plan, const char *pem, airlock_error **err);
void al_plan_free(al_plan *plan);
/* overwrite the secret values (the plan keeps their buffers) */
void al_plan_wipe_secrets(al_plan *plan);

/* launcher -> child, with SCM_RIGHTS cgroup fds: rlimits standing in for
 * cgroup controllers that turned out to be unusable (degraded mode) */
#define AL_MAX_FALLBACKS 4
typedef struct al_cgroup_msg {
  char tag; /* 'c' */
  uint8_t n_fallbacks;
  al_rlimit fallbacks[AL_MAX_FALLBACKS];
} al_cgroup_msg;

/* child -> launcher messages; each fits in PIPE_BUF so writes are atomic */
typedef enum {
  AL_MSG_SETUP_ERROR = 1,
  AL_MSG_EXEC_ERROR = 2,     /* exec_id, errno, text */
  AL_MSG_EXIT = 3,           /* one-shot: wait status of the command */
  AL_MSG_READY = 4,          /* agent: ready for exec requests; SCM_RIGHTS [O_PATH of the sandbox's root] */
  AL_MSG_EXEC_STARTED = 5,   /* agent: exec_id, pid inside the sandbox; a pty exec's master as SCM_RIGHTS */
  AL_MSG_EXEC_EXIT = 6,      /* agent: exec_id, wait status, usage */
  AL_MSG_EGRESS_FDS = 7,     /* proxy mode: SCM_RIGHTS [listening TCP 127.0.0.1:3128, UDP 127.0.0.1:53] */
  AL_MSG_SOCKETS_MASKED = 8, /* value: host unix sockets found in mounted trees and masked */
  AL_MSG_PTY = 9,            /* one-shot: SCM_RIGHTS [the master of the command's pty]; value: its number */
  AL_MSG_WORKSPACE = 10,     /* value: bit k set = ovl[k] degraded to a bind; SCM_RIGHTS [the upper tmpfs's root]
                                unless every one is */
} al_msg_kind;
typedef struct al_status_msg {
  int32_t kind;
  int32_t value; /* errno, pid or wait status, by kind */
  uint64_t exec_id;
  int64_t user_us, sys_us, max_rss_kb;
  char text[224];
} al_status_msg;

/* child side (sandbox_init.c, rootfs.c, agent.c) */
__attribute__((noreturn)) void al_sandbox_main(al_plan *plan);
__attribute__((noreturn)) void al_agent_main(al_plan *plan);
/* how a command is started inside the sandbox (spawn.c) */
typedef struct al_spawn_opts {
  const int *fds;  /* become its stdin, stdout and stderr; NULL = inherit */
  const char *cwd; /* NULL = inherit */
  bool new_session;
  const char *tty;  /* a pty slave ("/dev/pts/N"): opened after setsid (new_session is implied), so it
                           becomes the controlling terminal, on the descriptors of tty_fds */
  unsigned tty_fds; /* bit i: descriptor i is the tty */
  rlim_t as_limit;  /* non-zero caps its address space */
} al_spawn_opts;
/* spawn a command inside the sandbox (spawn.c).  Returns 0 or an errno. */
int al_spawn(pid_t *pid, const al_spawn_opts *o, char *const argv[], char *const envp[]);
/* open a new pty in the sandbox's own devpts (spawn.c): *master (close-on-
 * exec), its slave's path in tty, with the given modes and window size
 * (either may be NULL).  Allocates nothing.  Returns 0 or an errno. */
int al_pty_open(int *master, char *tty, size_t ttylen, const struct termios *modes, const struct winsize *ws);
/* 0, or -1 with errbuf; *sockets_masked counts the sockets made unreachable */
/* *upper_root: the root of the tmpfs holding the upper layers of ovl[]
 * ("u<slot>"; -1 when none); bit k of *degraded: ovl[k] could not be an
 * overlay and is a plain bind (allow_degraded) */
int al_rootfs_build(const al_plan *plan, unsigned *sockets_masked, int *upper_root, uint32_t *degraded, char *errbuf,
                    size_t errlen);

#endif
