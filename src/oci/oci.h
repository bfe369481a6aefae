/* SPDX-License-Identifier: Apache-2.0 */
/* oci.h - airlock as an OCI runtime (docs/oci.md): a bundle's config.json
 * mapped onto airlock's sandbox pieces (cgroups, the seccomp deny list,
 * Landlock, capabilities, a leased host uid), driven through runc's command
 * line by src/cli/oci_cmd.c.  Each container's state lives in ROOT/ID/. */
#ifndef AIRLOCK_OCI_H
#define AIRLOCK_OCI_H

#include "airlock/airlock.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define AL_OCI_DEFAULT_ROOT "/run/airlock-oci"
#define AL_OCI_VERSION "1.0.2"

typedef struct al_oci_mount {
  char *dest;   /* absolute, inside the container */
  char *type;   /* "bind", "tmpfs", "proc", ... (bind when the options say so) */
  char *source; /* host path for binds (bundle-relative ones made absolute) */
  unsigned long flags;      /* MS_RDONLY, MS_NOSUID, ... */
  unsigned long clear;      /* flags the options turn off (rw, suid, dev, exec) */
  bool bind, recursive;     /* bind / rbind */
  bool copyup;              /* tmpcopyup: a tmpfs starts with a copy of what it covers */
  char *data;               /* the file system's own options, comma-joined */
} al_oci_mount;

typedef struct al_oci_idmap {
  uint32_t container, host, size;
} al_oci_idmap;

#define AL_OCI_MAX_IDMAPS 5
#define AL_OCI_MAX_RLIMITS 16

typedef struct al_oci_rlimit {
  int resource;
  uint64_t soft, hard;
} al_oci_rlimit;

typedef struct al_oci_process {
  char **args; /* NULL-terminated */
  char **env;  /* NULL-terminated */
  char *cwd;
  uint32_t uid, gid;
  uint32_t *add_gids;
  size_t n_add_gids;
  bool has_umask;
  uint32_t umask;
  bool terminal;
  unsigned short rows, cols; /* consoleSize; 0 = unset */
  al_oci_rlimit rlimits[AL_OCI_MAX_RLIMITS];
  size_t n_rlimits;
  bool no_new_privs; /* informational: airlock always sets it */
  bool has_oom_score_adj;
  int oom_score_adj;
  /* scheduler: SCHED_OTHER, SCHED_BATCH or SCHED_IDLE with a nice value of
   * 0 or more (real-time policies and raised priorities are refused) */
  bool has_sched;
  int sched_policy, sched_nice;
  /* ioPriority: best-effort or idle (IOPRIO_CLASS_RT is refused) */
  bool has_ioprio;
  int ioprio; /* class << 13 | level */
} al_oci_process;

typedef struct al_oci_hook {
  char *path;
  char **args; /* NULL-terminated; may be NULL */
  char **env;  /* NULL-terminated; may be NULL */
  int timeout; /* seconds, 0 = none */
} al_oci_hook;

enum { AL_OCI_HOOK_PRESTART, AL_OCI_HOOK_CREATE_RUNTIME, AL_OCI_HOOK_POSTSTART, AL_OCI_HOOK_POSTSTOP, AL_OCI_HOOK_KINDS };

typedef struct al_oci_device {
  char *path;
  char type; /* 'c' or 'b' */
  unsigned major, minor;
  uint32_t mode; /* permission bits; 0 = the host node's */
} al_oci_device;

/* linux.resources.devices: the device cgroup's rules, in order */
typedef struct al_oci_devrule {
  bool allow;
  char type;            /* 'a', 'c' or 'b' */
  long major, minor;    /* -1 = any */
  char access[4];       /* some of "rwm" */
} al_oci_devrule;

/* which namespaces: bits of CLONE_NEW*; a path joins an existing one */
enum { AL_OCI_NS_PID, AL_OCI_NS_NET, AL_OCI_NS_IPC, AL_OCI_NS_UTS, AL_OCI_NS_MNT, AL_OCI_NS_USER, AL_OCI_NS_CGROUP,
       AL_OCI_NS_COUNT };

typedef struct al_oci_config {
  json_t *json; /* the parsed document; every char * below points into it or is owned (see free) */
  char *oci_version;
  al_oci_process proc;
  char *root_path; /* absolute after al_oci_config_resolve */
  bool root_readonly;
  char *hostname, *domainname;
  al_oci_mount *mounts;
  size_t n_mounts;
  bool ns[AL_OCI_NS_COUNT];
  char *ns_path[AL_OCI_NS_COUNT];
  al_oci_idmap uid_map[AL_OCI_MAX_IDMAPS], gid_map[AL_OCI_MAX_IDMAPS];
  size_t n_uid_map, n_gid_map;
  int64_t memory_limit; /* bytes; 0 = unset */
  int64_t pids_limit;   /* 0 = unset */
  double cpus;          /* quota / period; 0 = unset */
  char *cgroups_path;
  json_t *seccomp; /* borrowed from json; NULL = none */
  char **masked, **readonly_paths;
  size_t n_masked, n_readonly;
  al_oci_device *devices;
  size_t n_devices;
  al_oci_devrule *devrules;
  size_t n_devrules;
  al_oci_hook *hooks[AL_OCI_HOOK_KINDS];
  size_t n_hooks[AL_OCI_HOOK_KINDS];
  char *propagation; /* rootfsPropagation */
  json_t *sysctl;    /* linux.sysctl, net.* keys only (checked); borrowed from json; NULL = none */
} al_oci_config;

/* Parse a config.json text.  Every field airlock cannot honour is refused
 * with an error naming it ("config.json: linux.intelRdt is not supported").
 * Pure: no file system access (the fuzz target calls it). */
int al_oci_config_parse(const char *text, size_t len, al_oci_config *cfg, airlock_error **err);
/* The "process" object alone (exec --process FILE); what names it in errors */
int al_oci_process_parse(json_t *obj, const char *what, al_oci_process *p, airlock_error **err);
void al_oci_process_free(al_oci_process *p);
void al_oci_config_free(al_oci_config *cfg);

/* oci_seccomp.c: compile linux.seccomp with libseccomp into a BPF program
 * (malloc'd sock_filter array, *len instructions).  Errors name the field. */
int al_oci_seccomp_compile(json_t *seccomp, void **insns, unsigned short *len, airlock_error **err);

/* The runtime's global options */
typedef struct al_oci_global {
  const char *root;      /* state directory; default AL_OCI_DEFAULT_ROOT */
  const char *log;       /* --log FILE; NULL = stderr */
  bool log_json;         /* --log-format json */
  bool debug;
  bool systemd_cgroup;   /* --systemd-cgroup: cgroupsPath "slice:prefix:name" is mapped (docs/oci.md) */
} al_oci_global;

typedef struct al_oci_create_opts {
  const char *bundle;         /* default "." */
  const char *config;         /* default BUNDLE/config.json */
  const char *pid_file;
  const char *console_socket;
  int preserve_fds;
} al_oci_create_opts;

/* create: the container's process is set up in its namespaces and waits
 * for start.  Returns 0, or -1 with *err (nothing is left behind then). */
int al_oci_create(const al_oci_global *g, const char *id, const al_oci_create_opts *o, airlock_error **err);
int al_oci_start(const al_oci_global *g, const char *id, airlock_error **err);
/* run: create + start; without detach waits and returns the exit code (>=0) */
/* keep: leave the stopped container for delete (run --keep) */
int al_oci_run(const al_oci_global *g, const char *id, const al_oci_create_opts *o, bool detach, bool keep,
               airlock_error **err);
int al_oci_kill(const al_oci_global *g, const char *id, int sig, bool all, airlock_error **err);
int al_oci_delete(const al_oci_global *g, const char *id, bool force, airlock_error **err);
/* state: runc's JSON for one container (caller frees) */
char *al_oci_state_json(const al_oci_global *g, const char *id, airlock_error **err);
/* ps: the container's processes (host pids), a JSON array or ps -ef lines */
int al_oci_ps(const al_oci_global *g, const char *id, bool json, airlock_error **err);
/* list: every container of the root; JSON array, a table, or (quiet) ids */
int al_oci_list(const al_oci_global *g, bool json, bool quiet, airlock_error **err);

typedef struct al_oci_exec_opts {
  const char *process_file; /* --process */
  char **argv;              /* or these */
  const char *cwd;
  char **env;
  size_t n_env;
  bool tty;
  bool has_user;
  uint32_t uid, gid;
  const char *pid_file;
  const char *console_socket;
  bool detach;
  int preserve_fds;
} al_oci_exec_opts;
/* exec: returns the process's exit code (>= 0), or -1 with *err */
int al_oci_exec(const al_oci_global *g, const char *id, const al_oci_exec_opts *o, airlock_error **err);

/* features: runc's `features` JSON (caller frees) */
char *al_oci_features_json(void);

/* signal name ("KILL", "SIGTERM", "9") to number; -1 when unknown */
int al_oci_signal(const char *name);

#endif
