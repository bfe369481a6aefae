/* SPDX-License-Identifier: Apache-2.0 */
/* statedir.h - where the node keeps its state (the token database) and the
 * check that nobody but the node's user can read or change it. */
#ifndef AIRLOCK_STATEDIR_H
#define AIRLOCK_STATEDIR_H

#include <stdbool.h>

#include "airlock/airlock.h"

/* The default state directory: $AIRLOCK_STATE_DIR (when set and absolute),
 * else /var/lib/airlock for root, otherwise $XDG_STATE_HOME/airlock (when
 * set and absolute) or $HOME/.local/state/airlock.  malloc'd; NULL when
 * there is no HOME either (or out of memory). */
char *al_default_state_dir(void);
/* Where airlock's config files are looked for by default: /etc/airlock for
 * root, otherwise $XDG_CONFIG_HOME/airlock (when set and absolute) or
 * $HOME/.config/airlock.  malloc'd; NULL without HOME. */
char *al_default_config_dir(void);
/* given (copied) when not NULL, else the default; NULL with *err saying why */
char *al_state_dir_or_default(const char *given, airlock_error **err);

/* Make sure dir is a private directory of the effective user: a directory
 * (symlinks followed), owned by geteuid(), no group or other permission bits.
 * With create, a missing dir (and missing parents) is made with mode 0700;
 * an existing one is never chmod'ed, only refused.  The error names the path
 * and, for a permission problem, the mode found. */
int al_state_dir_prepare(const char *dir, bool create, airlock_error **err);

#endif
