/* SPDX-License-Identifier: Apache-2.0 */
/* oci_priv.h - what the files of src/oci share. */
#ifndef AIRLOCK_OCI_PRIV_H
#define AIRLOCK_OCI_PRIV_H

#include "oci.h"
#include "cgroup.h"

#include <stdbool.h>
#include <sys/types.h>

/* OCI containers lease their host uid and gid from a range of their own
 * ("airlock-oci" in /etc/subuid and /etc/subgid, else this default, just
 * above airlock's sandboxes' range): a container has no long-lived airlock
 * process to hold a lock, so its lease is a marker file (oci_state.c). */
#define AL_OCI_ID_RANGE_NAME "airlock-oci"
#define AL_OCI_ID_RANGE_DEFAULT_START 1610678272u /* 0x60010000 */
#define AL_OCI_ID_RANGE_DEFAULT_COUNT 65536u
#define AL_OCI_LEASE_DIR "/run/airlock/oci-ids"

/* What state.json keeps of one container */
typedef struct al_oci_state {
  char *id;
  pid_t pid;
  unsigned long long starttime; /* field 22 of /proc/PID/stat: guards against pid reuse */
  char *bundle;
  char *created; /* RFC 3339 */
  json_t *annotations;
  char *cgroups[AL_CTRL_COUNT];
  int cg_version[AL_CTRL_COUNT];
  char *devices_cg; /* the v1 device cgroup; NULL = none */
  int slot;      /* the uid lease's slot, -1 = the bundle's own mappings */
  uint32_t host_uid, host_gid;
} al_oci_state;

/* ROOT/ID, after checking ID; caller frees */
char *al_oci_dir(const al_oci_global *g, const char *id, airlock_error **err);
int al_oci_state_load(const al_oci_global *g, const char *id, al_oci_state *s, airlock_error **err);
int al_oci_state_save(const char *dir, const al_oci_state *s, airlock_error **err);
void al_oci_state_free(al_oci_state *s);
/* "created", "running" or "stopped" */
const char *al_oci_status(const char *dir, const al_oci_state *s);
unsigned long long al_oci_starttime(pid_t pid);
bool al_oci_alive(pid_t pid, unsigned long long starttime);
char *al_oci_state_doc(const al_oci_state *s, const char *status);

/* leases (oci_state.c) */
int al_oci_lease(const char *dir, uint32_t *uid, uint32_t *gid, int *slot, airlock_error **err);
void al_oci_lease_set_pid(int slot, const char *dir, pid_t pid, unsigned long long starttime);
void al_oci_lease_release(int slot);

/* hooks (oci_state.c): run every hook of kind with the state on stdin */
int al_oci_run_hooks(const al_oci_config *c, int kind, const char *state_doc, airlock_error **err);

/* write text to path atomically (pid files) */
int al_oci_write_file(const char *path, const char *text, airlock_error **err);

/* the same below a directory opened before joining a mount namespace:
 * the directory of path (O_PATH) and its last component */
int al_oci_open_parent(const char *path, const char **name);
int al_oci_write_file_at(int dirfd, const char *name, const char *text, airlock_error **err);

/* a file into memory (config.json) */
char *al_oci_read_file(const char *path, size_t *len, airlock_error **err);

/* the executable args[0] in the current root, as execvpe would find it
 * with the PATH of env; 0, or an errno with *out unset */
int al_oci_find_exec(const char *arg0, char *const env[], char *out, size_t outlen);

void al_oci_remove_dir(const char *dir);
char **al_oci_env_home(char **env, uid_t uid);

/* relay a pty master to stdin/stdout until the master hangs up (run and
 * exec in the foreground with a terminal and no --console-socket) */
void al_oci_relay(int master);
/* open a new pty in the current root's /dev/pts: 0, or -errno */
int al_oci_pty(int *master, int *slave, unsigned short rows, unsigned short cols);

#endif
