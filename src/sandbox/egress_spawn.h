/* SPDX-License-Identifier: Apache-2.0 */
/* egress_spawn.h - the egress proxy of one sandbox: `airlock-node proxy`,
 * started by the launcher before the sandbox, handed the sandbox's
 * listening sockets, stopped after it.  The protocol on the control socket
 * (SOCK_SEQPACKET, one message per packet):
 *
 *   proxy -> launcher   "ok", "ok\nCERT" or "error: TEXT", once, within 10 s
 *                       of start; CERT is the PEM certificate of the CA of
 *                       inspected hosts (never its key), for the sandbox's
 *                       trust store
 *   launcher -> proxy   "fds" with SCM_RIGHTS [HTTP listener, DNS UDP socket]
 *   launcher closes     the sandbox ended: the proxy writes its last records
 *                       and exits, within 2 s or it is killed */
#ifndef AIRLOCK_EGRESS_SPAWN_H
#define AIRLOCK_EGRESS_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

#include "airlock/airlock.h"

#define AL_EGRESS_START_TIMEOUT_MS 10000
#define AL_EGRESS_STOP_TIMEOUT_MS 2000

typedef struct al_egress {
  pid_t pid;    /* -1: no proxy */
  int ctl;      /* the launcher's end of the control socket */
  char *ca_pem; /* the CA certificate of inspected hosts, or NULL when none is inspected */
} al_egress;

typedef struct al_egress_end {
  bool early;  /* it had exited before the launcher closed the control socket */
  bool killed; /* it did not exit within AL_EGRESS_STOP_TIMEOUT_MS and was killed */
  int status;  /* wait status */
} al_egress_end;

void al_egress_init(al_egress *e);
/* Start the proxy for the sandbox called name with spec's network settings
 * and wait for its answer (e->ca_pem from it).  Fails, with nothing left
 * running, when it reports an error, exits or does not answer in time. */
int al_egress_start(al_egress *e, const airlock_spec *spec, const char *name, airlock_error **err);
/* Pass the sandbox's sockets (fds[0] the HTTP listener, fds[1] the DNS
 * socket) to the proxy.  The caller still closes its copies. */
int al_egress_hand_over(al_egress *e, const int fds[2], airlock_error **err);
/* Close the control socket, wait for the proxy, kill it if it lingers;
 * free e->ca_pem.  No-op when there is none; end may be NULL. */
void al_egress_stop(al_egress *e, al_egress_end *end);

#endif
