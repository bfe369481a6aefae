/* SPDX-License-Identifier: Apache-2.0 */
/* proxy_record.c - how a connection through the proxy ends: its one JSON
 * record (written once, with what is known then), a refusal the client can
 * read (a status and an X-Airlock-Egress header saying why, or a TLS alert
 * after a 200; inside an inspected tunnel the status goes in the sandbox's
 * TLS), and the release of all it holds; every stage ends here. */
#include "proxy_conn.h"
#include "clock.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

static const char *kind_name(const al_proxy_conn *c) {
  return c->kind == AL_PK_CONNECT ? "connect" : c->kind == AL_PK_ROUTE ? "route" : "http";
}

/* The connection's one record, with what is known of it now. */
static void record_once(al_proxy_conn *c, const char *verdict) {
  if (c->logged)
    return;
  al_proxy_record rec = {.kind = kind_name(c),
                         .method = c->method,
                         .host = c->host,
                         .port = c->port,
                         .sni = c->sni,
                         .address = c->address,
                         .route = c->route ? c->route->path : NULL,
                         .verdict = verdict,
                         .status = c->status,
                         .reason = c->reason,
                         .bytes_up = c->bytes_up,
                         .bytes_down = c->bytes_down,
                         .duration_us = al_monotonic_us() - c->start_us};
  al_proxy_log(c->px, &rec);
  c->logged = true;
}

void al_conn_finish(al_proxy_conn *c, const char *verdict, const char *fmt, ...) {
  if (!c->logged) {
    if (fmt) {
      /* an allowed connection keeps the rule that allowed it in front */
      size_t keep = strcmp(verdict, "allow") == 0 && c->reason[0] ? strlen(c->reason) : 0;
      if (keep && keep + 2 < sizeof(c->reason)) {
        memcpy(c->reason + keep, "; ", 3);
        keep += 2;
      } else {
        keep = 0;
      }
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(c->reason + keep, sizeof(c->reason) - keep, fmt, ap);
      va_end(ap);
    }
    record_once(c, verdict);
  }
  al_proxy *px = c->px;
  al_upstream_cancel(c);
  al_splice_free(c);
  if (c->client)
    bufferevent_free(c->client);
  if (c->upstream)
    bufferevent_free(c->upstream);
  if (c->timer)
    event_free(c->timer);
  if (c->step)
    event_free(c->step);
  al_sni_reader_free(c->sni_reader);
  al_inspect_free(c);
  if (c->have_req)
    al_http_req_clear(&c->req);
  if (c->prev)
    c->prev->next = c->next;
  else
    px->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  px->n_conns--;
  free(c);
}

static void closing_written(struct bufferevent *bev, void *arg) {
  (void)bev;
  al_proxy_conn *c = arg;
  if (c->ins)
    al_inspect_close(c); /* in the sandbox's TLS: close_notify, and the socket flushed */
  else
    al_conn_finish(c, c->verdict ? c->verdict : "deny", NULL);
}

static void closing_event(struct bufferevent *bev, short what, void *arg) {
  (void)bev;
  al_proxy_conn *c = arg;
  if (what & BEV_EVENT_CONNECTED)
    return; /* an inspected tunnel's handshake ended: the answer goes out now */
  al_conn_finish(c, c->verdict ? c->verdict : "deny", NULL);
}

static const char *status_text(int st) {
  switch (st) {
  case 400: return "Bad Request";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 408: return "Request Timeout";
  case 429: return "Too Many Requests";
  case 414: return "URI Too Long";
  case 421: return "Misdirected Request";
  case 431: return "Request Header Fields Too Large";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  case 505: return "HTTP Version Not Supported";
  default: return "Error";
  }
}

void al_conn_refuse(al_proxy_conn *c, int status, unsigned retry_after, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
  va_end(ap);
  c->status = status;
  c->verdict = "deny";
  /* the reason goes into a header: keep it one line of visible ASCII */
  char safe[sizeof(c->reason)];
  size_t j = 0;
  for (size_t i = 0; c->reason[i] && j + 1 < sizeof(safe); i++) {
    unsigned char ch = (unsigned char)c->reason[i];
    safe[j++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
  }
  safe[j] = '\0';
  if (c->stage == AL_ST_HELLO)
    c->status = 200; /* what the client got before the alert */
  record_once(c, "deny");
  al_upstream_cancel(c);
  if (c->upstream) {
    bufferevent_free(c->upstream);
    c->upstream = NULL;
  }
  if (!c->client || c->closing) {
    al_conn_finish(c, "deny", NULL);
    return;
  }
  c->closing = true;
  if (c->relaying) { /* the answer has begun: nothing more can be said */
    al_conn_finish(c, "deny", NULL);
    return;
  }
  struct evbuffer *out = bufferevent_get_output(c->client);
  if (c->stage == AL_ST_HELLO) {
    /* the 200 has gone out and the client speaks TLS: a fatal
     * access_denied alert is what it can understand */
    static const unsigned char alert[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x31};
    evbuffer_add(out, alert, sizeof(alert));
  } else {
    evbuffer_add_printf(out,
                        "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nX-Airlock-Egress: %s\r\n"
                        "Connection: close\r\n",
                        status, status_text(status), safe);
    if (retry_after)
      evbuffer_add_printf(out, "Retry-After: %u\r\n", retry_after);
    evbuffer_add_printf(out, "Content-Length: %zu\r\n\r\nairlock egress: %s\n", strlen(safe) + 16, safe);
  }
  bufferevent_disable(c->client, EV_READ);
  bufferevent_setcb(c->client, NULL, closing_written, closing_event, c);
  bufferevent_enable(c->client, EV_WRITE);
  /* a TLS filter (an inspected tunnel) may have taken it all already, and
   * then says nothing more */
  if (c->ins && evbuffer_get_length(out) == 0)
    al_inspect_close(c);
}
