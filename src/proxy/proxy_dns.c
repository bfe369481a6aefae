/* SPDX-License-Identifier: Apache-2.0 */
/* proxy_dns.c - serving the sandbox's resolver address (127.0.0.1:53 in
 * its namespace) with the answers of dns_stub.c.  Nothing is ever sent
 * upstream: the answer comes from the rules alone, so a query cannot carry
 * data out however its name is spelt.  Each query is one log record. */
#include "proxy.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns_stub.h"
#include "error.h"

static void dns_readable(evutil_socket_t fd, short what, void *arg) {
  (void)what;
  al_proxy *px = arg;
  /* a bounded batch per wake-up, so a flood of queries cannot starve the
   * HTTP side of the loop */
  for (int i = 0; i < 64; i++) {
    uint8_t q[1500], a[AL_DNS_ANSWER_MIN];
    struct sockaddr_storage from;
    socklen_t flen = sizeof(from);
    ssize_t n = recvfrom(fd, q, sizeof(q), MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
    if (n < 0)
      return;
    al_dns_info info;
    size_t alen = al_dns_answer(q, (size_t)n, px->cfg.rules, a, sizeof(a), &info);
    if (alen > 0) {
      ssize_t w = sendto(fd, a, alen, MSG_DONTWAIT, (struct sockaddr *)&from, flen);
      (void)w;
    }
    char qtype[16];
    snprintf(qtype, sizeof(qtype), "%s", info.qtype == 1 ? "A" : info.qtype == 28 ? "AAAA" : "");
    if (!qtype[0] && info.qtype)
      snprintf(qtype, sizeof(qtype), "TYPE%u", info.qtype);
    al_proxy_record rec = {.kind = "dns",
                           .host = info.name,
                           .qtype = qtype,
                           .verdict = info.verdict == AL_DNS_ALLOW ? "allow" : "deny",
                           .reason = info.reason};
    al_proxy_log(px, &rec);
  }
}

int al_proxy_dns_fd(al_proxy *px, int fd, airlock_error **err) {
  evutil_make_socket_nonblocking(fd);
  px->dns_event = event_new(px->base, fd, EV_READ | EV_PERSIST, dns_readable, px);
  if (!px->dns_event || event_add(px->dns_event, NULL) < 0)
    return al_err(err, 0, "cannot serve the DNS stub's socket");
  px->dns_fd = fd;
  return 0;
}

void al_proxy_dns_stop(al_proxy *px) {
  if (px->dns_event) {
    event_free(px->dns_event);
    px->dns_event = NULL;
  }
  if (px->dns_fd >= 0) {
    close(px->dns_fd);
    px->dns_fd = -1;
  }
}
