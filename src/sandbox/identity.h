/* SPDX-License-Identifier: Apache-2.0 */
/* identity.h - which host uid and gid a sandbox runs as.
 *
 * A sandbox started by root never runs as host root, as the owner of its
 * workspace or as another sandbox: it leases a uid/gid pair of its own from
 * a range reserved for airlock, held by a lock on one byte of a lock file.
 * The sandbox's init inherits the lock's open file description, so the pair
 * is free again only when the launcher has let go *and* every process of the
 * sandbox is gone; a node restart does not free the uids of sandboxes still
 * alive.  Rootless callers keep their own uid, the only one they may map. */
#ifndef AIRLOCK_IDENTITY_H
#define AIRLOCK_IDENTITY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "airlock/airlock.h"

/* The default range, used when /etc/subuid and /etc/subgid have no entry for
 * the user "airlock": inside the block systemd leaves to containers
 * (524288-1879048191), below 2^31 (tools that read uids as signed), and not
 * at a 64k boundary systemd-nspawn would pick. */
#define AL_ID_RANGE_DEFAULT_START 1610612736u /* 0x60000000 */
#define AL_ID_RANGE_DEFAULT_COUNT 65536u
#define AL_ID_RANGE_NAME "airlock"
#define AL_ID_LOCK_FILE "/run/airlock/ids.lock"

typedef struct al_id_range {
  uint32_t uid_start, gid_start, count;
  bool from_subid; /* read from /etc/subuid and /etc/subgid */
} al_id_range;

/* The range: "airlock:START:COUNT" in subuid and subgid when both have one
 * (the smaller count is used), else the default.  Refused when it would
 * include uid or gid 0, overflow, or hold the uid of a user in passwd (may
 * be NULL: not checked).  Paths are parameters for the tests. */
int al_id_range_load(const char *subuid, const char *subgid, const char *passwd, al_id_range *r, airlock_error **err);
/* The same for another name and default range (airlock-oci's containers:
 * "airlock-oci", AL_OCI_ID_RANGE_DEFAULT_START in src/oci). */
int al_id_range_load_named(const char *range_name, uint32_t default_start, uint32_t default_count, const char *subuid,
                           const char *subgid, const char *passwd, al_id_range *r, airlock_error **err);

typedef struct al_id_lease {
  uid_t uid;
  gid_t gid;
  int lock_fd; /* -1 when nothing is held */
} al_id_lease;

/* Lease a free pair of the range through lock_path (created 0600 when
 * missing; must be a regular file of root's that nobody else may write).
 * The search starts at a random offset.  Fails, naming the range, when every
 * pair is taken. */
int al_id_lease_take(const char *lock_path, const al_id_range *r, al_id_lease *out, airlock_error **err);
/* Let go of the launcher's hold (the sandbox's init may still hold it). */
void al_id_lease_release(al_id_lease *l);

#endif
