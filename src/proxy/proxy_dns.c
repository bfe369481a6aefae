/* SPDX-License-Identifier: Apache-2.0 */
/* proxy_dns.c - serving the sandbox's resolver address (127.0.0.1:53 in
 * its namespace) with the answers of dns_stub.c.  Nothing is ever sent
 * upstream: the answer comes from the rules alone, so a query cannot carry
 * data out however its name is spelt.  Each query is one log record.
 *
 * Under --isolation gvisor the queries arrive from the sandbox's relay
 * (src/gvisor/gvisor_relay.c) on a unix seqpacket listener instead: one
 * query per message, each answered in order on the same connection, with
 * one byte when the stub gives no answer so that the relay's queue of
 * waiting clients stays aligned. */
#define _GNU_SOURCE
#include "proxy.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns_stub.h"
#include "error.h"

/* answer one query into a (returns its length, 0 for none) and log it */
static size_t answer_query(al_proxy *px, const uint8_t *q, size_t n, uint8_t *a, size_t acap) {
  al_dns_info info;
  size_t alen = al_dns_answer(q, n, px->cfg.rules, a, acap, &info);
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
  return alen;
}

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
    size_t alen = answer_query(px, q, (size_t)n, a, sizeof(a));
    if (alen > 0) {
      ssize_t w = sendto(fd, a, alen, MSG_DONTWAIT, (struct sockaddr *)&from, flen);
      (void)w;
    }
  }
}

static void conn_close(al_proxy *px, evutil_socket_t fd) {
  for (int i = 0; i < AL_PROXY_DNS_CONNS; i++)
    if (px->dns_conns[i] && event_get_fd(px->dns_conns[i]) == fd) {
      event_free(px->dns_conns[i]);
      px->dns_conns[i] = NULL;
    }
  close(fd);
}

static void conn_readable(evutil_socket_t fd, short what, void *arg) {
  (void)what;
  al_proxy *px = arg;
  for (int i = 0; i < 64; i++) {
    uint8_t q[1500], a[AL_DNS_ANSWER_MIN];
    ssize_t n = recv(fd, q, sizeof(q), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      return;
    if (n <= 0) {
      conn_close(px, fd);
      return;
    }
    size_t alen = answer_query(px, q, (size_t)n, a, sizeof(a));
    static const uint8_t none = 0;
    if (send(fd, alen > 0 ? a : &none, alen > 0 ? alen : 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno != EAGAIN) {
      conn_close(px, fd);
      return;
    }
  }
}

static void listener_readable(evutil_socket_t fd, short what, void *arg) {
  (void)what;
  al_proxy *px = arg;
  int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (c < 0)
    return;
  for (int i = 0; i < AL_PROXY_DNS_CONNS; i++)
    if (!px->dns_conns[i]) {
      px->dns_conns[i] = event_new(px->base, c, EV_READ | EV_PERSIST, conn_readable, px);
      if (px->dns_conns[i] && event_add(px->dns_conns[i], NULL) == 0)
        return;
      if (px->dns_conns[i])
        event_free(px->dns_conns[i]);
      px->dns_conns[i] = NULL;
      break;
    }
  close(c); /* more relays than one sandbox has: refused */
}

int al_proxy_dns_fd(al_proxy *px, int fd, airlock_error **err) {
  evutil_make_socket_nonblocking(fd);
  int type = 0;
  socklen_t len = sizeof(type);
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
    return al_err(err, errno, "the DNS stub's socket");
  px->dns_event = event_new(px->base, fd, EV_READ | EV_PERSIST,
                            type == SOCK_SEQPACKET ? listener_readable : dns_readable, px);
  if (!px->dns_event || event_add(px->dns_event, NULL) < 0)
    return al_err(err, 0, "cannot serve the DNS stub's socket");
  px->dns_fd = fd;
  return 0;
}

void al_proxy_dns_stop(al_proxy *px) {
  for (int i = 0; i < AL_PROXY_DNS_CONNS; i++)
    if (px->dns_conns[i]) {
      evutil_socket_t fd = event_get_fd(px->dns_conns[i]);
      event_free(px->dns_conns[i]);
      px->dns_conns[i] = NULL;
      close(fd);
    }
  if (px->dns_event) {
    event_free(px->dns_event);
    px->dns_event = NULL;
  }
  if (px->dns_fd >= 0) {
    close(px->dns_fd);
    px->dns_fd = -1;
  }
}
