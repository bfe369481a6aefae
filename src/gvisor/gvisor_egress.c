/* SPDX-License-Identifier: Apache-2.0 */
/* gvisor_egress.c - --network proxy under gVisor.
 *
 * The egress proxy is the same process as under namespaces (egress_spawn.c,
 * `airlock-node proxy`), with the same rules, log and report.  What differs
 * is how the sandbox reaches it: gVisor's netstack has no host sockets, so
 * airlock makes two unix listeners in the bundle (dir/net/http.sock, stream,
 * for HTTP and CONNECT; dir/net/dns.sock, seqpacket, for the DNS stub),
 * hands them to the proxy exactly as init hands over its sockets under
 * namespaces, and starts the command behind airlock-gvisor-relay, which
 * listens on 127.0.0.1:3128 and :53 inside gVisor and carries every
 * connection and query to those sockets.  runsc gets --host-uds=open (the
 * sandbox may connect to host unix sockets it can see, and it sees only
 * these two) and still --network=none: there is no NIC, so nothing but the
 * proxy is reachable. */
#define _GNU_SOURCE
#include "cleanup.h"
#include "error.h"
#include "gvisor.h"
#include "network.h"
#include "node_bin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef AIRLOCK_LIBEXECDIR
#define AIRLOCK_LIBEXECDIR "/usr/libexec/airlock"
#endif

int al_gvisor_egress_prepare(al_gvisor_sandbox *g, const airlock_spec *spec, airlock_result *r, airlock_error **err) {
  if (!g->plan.egress)
    return 0;
  if (al_helper_binary_path("airlock-gvisor-relay", AIRLOCK_LIBEXECDIR, g->relay, sizeof(g->relay), err) < 0)
    return -1;
  if (al_egress_start(&g->egress, spec, g->plan.hostname, err) < 0)
    return -1;
  if (g->egress.ca_pem && al_plan_trust_egress_ca(&g->plan, g->egress.ca_pem, err) < 0)
    return -1;
  if (asprintf(&g->net_dir, "%s/net", g->dir) < 0) {
    g->net_dir = NULL;
    return al_err(err, ENOMEM, "isolation gvisor");
  }
  if (mkdirat(g->dirfd, "net", 0755) < 0 || fchmodat(g->dirfd, "net", 0755, 0) < 0)
    return al_err(err, errno, "isolation gvisor: mkdir %s", g->net_dir);
  int fds[2] = {-1, -1};
  /* connected to by gVisor's gofer, which runs as a leased uid (root) or
   * the caller (rootless); the directory is the bundle's, reachable only
   * through its random name */
  fds[0] = al_egress_unix_listener(g->net_dir, "http.sock", SOCK_STREAM, "isolation gvisor", err);
  if (fds[0] >= 0)
    fds[1] = al_egress_unix_listener(g->net_dir, "dns.sock", SOCK_SEQPACKET, "isolation gvisor", err);
  int rc = fds[1] >= 0 ? al_egress_hand_over(&g->egress, fds, err) : -1;
  for (int i = 0; i < 2; i++)
    if (fds[i] >= 0)
      close(fds[i]);
  if (rc < 0)
    return -1;

  /* the relay first: AL_GVISOR_RELAY AL_GVISOR_NET_DIR [the command] */
  size_t n = 0;
  while (g->plan.argv && g->plan.argv[n])
    n++;
  char **argv = calloc(n + 3, sizeof(char *));
  if (!argv || !(argv[0] = strdup(AL_GVISOR_RELAY)) || !(argv[1] = strdup(AL_GVISOR_NET_DIR))) {
    if (argv)
      free(argv[0]);
    free(argv);
    return al_err(err, ENOMEM, "isolation gvisor");
  }
  for (size_t i = 0; i < n; i++)
    argv[i + 2] = g->plan.argv[i];
  free(g->plan.argv);
  g->plan.argv = argv;
  if (g->egress.ca_pem && g->plan.generate_etc) {
    struct stat st;
    if (stat(AL_SYSTEM_CA_BUNDLE, &st) == 0 && S_ISREG(st.st_mode) &&
        asprintf(&g->ca_store_path, "%s/rootfs%s", g->dir, AL_EGRESS_CA_BUNDLE) < 0) {
      g->ca_store_path = NULL;
      return al_err(err, ENOMEM, "isolation gvisor");
    }
    g->ids.ca_store_path = g->ca_store_path;
  }
  g->ids.relay_path = g->relay;
  g->ids.net_dir = g->net_dir;
  r->network = AIRLOCK_NETWORK_PROXY;
  return 0;
}
