/* SPDX-License-Identifier: Apache-2.0 */
/* node_bin.h - the airlock-node binary installed beside airlock: where it
 * is, and starting it as a helper of the launcher (the egress proxy, the
 * secret store) with exactly the file descriptors it is meant to have. */
#ifndef AIRLOCK_NODE_BIN_H
#define AIRLOCK_NODE_BIN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "airlock/airlock.h"
#include "child.h"

/* DIR/airlock-node, DIR being the directory of /proc/self/exe. */
int al_node_binary_path(char *buf, size_t len, airlock_error **err);

/* A helper program airlock runs (airlock-vm-init, airlock-vm-agent,
 * airlock-gvisor-relay): DIR/name beside /proc/self/exe (a build tree, or
 * an install with everything in one directory), else libexec_dir/name.
 * Fails naming both places when neither holds an executable. */
int al_helper_binary_path(const char *name, const char *libexec_dir, char *buf, size_t len, airlock_error **err);

/* Start path with argv.  In the child, fds[i] becomes descriptor i for
 * i < n (-1: /dev/null) and every other descriptor is closed; it gets a new
 * session (no terminal signals: the launcher decides when it ends), the
 * default signal mask and dispositions, and SIGKILL when the calling thread
 * dies (PR_SET_PDEATHSIG).  Returns the pid, or -1 with *err naming path
 * when it could not be started (exec failures included). */
pid_t al_helper_spawn(const char *path, char *const argv[], const int *fds, int n, airlock_error **err);

#endif
