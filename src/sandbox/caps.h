/* SPDX-License-Identifier: Apache-2.0 */
/* caps.h - leaving every privilege behind before the command runs. */
#ifndef AIRLOCK_CAPS_H
#define AIRLOCK_CAPS_H

/* Drop all capability sets (bounding, ambient, inheritable, effective,
 * permitted), lock securebits so uid 0 inside gains nothing on exec, and set
 * no_new_privs.  Returns 0 or -errno.  Safe after fork. */
int al_drop_privileges(void);

#endif
