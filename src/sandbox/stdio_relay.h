/* SPDX-License-Identifier: Apache-2.0 */
/* stdio_relay.h - the caller's terminal never enters the sandbox.  Before
 * the clone the launcher decides what the command's stdin, stdout and
 * stderr are (al_plan.stdio); a terminal among them is replaced by the
 * slave of a pty that init opens in the sandbox's own devpts, or (no pty)
 * by /dev/null or a pipe.  While the sandbox runs, the launcher relays
 * bytes between the caller's terminal and the pty's master (or the pipes),
 * with the terminal in raw mode, and gives the terminal its modes back on
 * every ending. */
#ifndef AIRLOCK_STDIO_RELAY_H
#define AIRLOCK_STDIO_RELAY_H

#include "plan.h"

#include <poll.h>
#include <signal.h>

typedef struct al_relay al_relay;

/* the most descriptors al_relay_poll_fds adds to a poll set */
#define AL_RELAY_MAX_POLL 6

/* Fill *s from mode and which of the launcher's descriptors 0, 1, 2 are
 * terminals (agent: terminals become /dev/null, nothing is relayed); make
 * the pipes.  *relay is NULL when there is nothing to relay: no terminal,
 * the usual case, which costs three isatty() calls. */
int al_stdio_prepare(al_stdio *s, airlock_pty_mode mode, bool agent, al_relay **relay, airlock_error **err);
/* after the clone: the launcher's copies of the pipe ends init uses */
void al_stdio_cloned(al_stdio *s);

/* The pty's master, sent by init just before it starts the command: the
 * relay takes it (and puts the caller's terminal in raw mode when it reads
 * the keyboard and airlock is in the terminal's foreground). */
void al_relay_attach_pty(al_relay *r, int master);
/* Append the descriptors to poll (at most AL_RELAY_MAX_POLL); returns how
 * many.  Raw mode starts here once a background airlock finds itself in the
 * foreground (`fg` of a job that was not stopped sends no SIGCONT). */
int al_relay_poll_fds(al_relay *r, struct pollfd *fds);
/* How long the poll may wait at most for the relay's sake (-1: no limit):
 * in the background it looks for the foreground now and then. */
int al_relay_timeout_ms(const al_relay *r);
/* Move bytes after a poll over the set al_relay_poll_fds made. */
void al_relay_io(al_relay *r, const struct pollfd *fds, int n);
/* The signals the relay handles while it runs: SIGWINCH (window size to the
 * pty), SIGTSTP (modes back, then stop), SIGCONT (raw again), SIGTTIN and
 * SIGTTOU (blocked: a background airlock must not stop on its terminal),
 * SIGPIPE (a closed output is dropped, not fatal). */
void al_relay_signals(sigset_t *set);
void al_relay_signal(al_relay *r, int signo);
/* The sandbox is gone: copy what its output still holds (for at most 2 s)
 * and give the terminal its modes back. */
void al_relay_finish(al_relay *r);
/* Modes back (if still raw), descriptors closed, *r freed and NULL. */
void al_relay_free(al_relay **r);

#endif
