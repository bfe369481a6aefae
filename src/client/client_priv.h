/* SPDX-License-Identifier: Apache-2.0 */
/* client_priv.h - what the node client's files share: the client itself and
 * one HTTP exchange on its connection.  client.c owns the connection and the
 * mapping of HTTP failures to errors; client_exec.c builds execs on top. */
#ifndef AIRLOCK_CLIENT_PRIV_H
#define AIRLOCK_CLIENT_PRIV_H

#include <curl/curl.h>

#include "airlock/client.h"

struct airlock_client {
  CURL *curl;        /* kept for the client's life: its connection stays open; NULL for a unix socket */
  char *unix_path;   /* unix:PATH nodes: client_unix.c's transport, no libcurl */
  int unix_fd;       /* its kept-alive connection, -1 when none */
  char *node;        /* as given, for messages */
  char *base_url;    /* "http://localhost" for unix sockets, else scheme://host[:port] */
  char *auth_header; /* "Authorization: Bearer ...", NULL without a token */
  char errbuf[CURL_ERROR_SIZE];
};

/* Receives the body of a 2xx answer as it arrives (else it is buffered into
 * al_client_response.body).  Return -1 with *err set to abort the transfer. */
typedef struct al_client_sink {
  int (*write)(void *ctx, const char *data, size_t len, airlock_error **err);
  void *ctx;
} al_client_sink;

typedef struct al_client_response {
  long status;        /* 0 when no answer arrived */
  long retry_after_s; /* -1 when absent */
  char *error_code;   /* error.code of a 4xx/5xx answer */
  char *body;         /* NUL-terminated; not filled for what went to a sink */
  size_t body_len;
} al_client_response;

void al_client_response_clear(al_client_response *resp);

/* One request.  content_type applies when body is non-NULL.  Returns 0 on a
 * 2xx answer; -1 with *err for transport failures, 4xx/5xx (the message is
 * built from the node's JSON error) and sink failures.  resp is filled as far
 * as the exchange went. */
int al_client_perform(airlock_client *c, const char *method, const char *path, const char *content_type,
                      const void *body, size_t body_len, const al_client_sink *sink, al_client_response *resp,
                      airlock_error **err);

/* One exchange in progress, shared by both transports: what the body
 * callbacks fill. */
typedef struct al_client_transfer {
  airlock_client *c;
  const al_client_sink *sink;
  al_client_response *resp;
  size_t body_cap;
  bool status_known;
  bool body_overflow; /* a 2xx body went over the limit */
  airlock_error *sink_err;
} al_client_transfer;

/* A piece of the answer's body (resp->status already set): to the sink, or
 * buffered; false to abort the exchange. */
bool al_client_body(al_client_transfer *t, const char *data, size_t n);
/* The value of a Retry-After header: seconds, -1 when unreadable. */
long al_client_retry_after(const char *v, size_t n);
/* After the exchange: the sink's error, an overflow, or the node's 4xx/5xx
 * as *err; 0 for a 2xx. */
int al_client_finish(airlock_client *c, al_client_transfer *t, const char *method, const char *path,
                     airlock_error **err);
/* client_unix.c: one request over c->unix_path (see there). */
int al_client_unix_perform(airlock_client *c, const char *method, const char *path, const char *content_type,
                           const void *body, size_t body_len, al_client_transfer *t, airlock_error **err);
void al_client_unix_close(airlock_client *c);

/* "/v1/sandboxes/<id, percent-escaped>"; NULL with *err for an empty id. */
char *al_client_sandbox_path(airlock_client *c, const char *id, airlock_error **err);

/* Copy of a message from the node with control characters (C0, DEL, and C1
 * in UTF-8) replaced by '?', so a node cannot write terminal escapes or extra
 * lines through our error output. */
char *al_client_clean_text(const char *s, size_t len);

#endif
