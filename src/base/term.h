/* SPDX-License-Identifier: Apache-2.0 */
/* term.h - the caller's terminal around a relay to a sandbox's pty (the
 * launcher's for `airlock run`, the client's for `airlock exec --pty`):
 * raw mode only in the foreground, and the modes given back even from the
 * background. */
#ifndef AIRLOCK_TERM_H
#define AIRLOCK_TERM_H

#include <stdbool.h>
#include <termios.h>

/* fd is a terminal whose foreground process group is ours */
bool al_term_foreground(int fd);
/* Save fd's modes in *saved, then make it raw (no echo, no line editing, no
 * signals from keys, no output processing; reads return each byte).
 * Returns 0, or -1 with nothing changed. */
int al_term_raw(int fd, struct termios *saved);
/* tcsetattr(TCSANOW) with SIGTTOU blocked: a background process would be
 * stopped by it otherwise. */
void al_term_set(int fd, const struct termios *modes);

#endif
