/* SPDX-License-Identifier: Apache-2.0 */
/* client_priv.h - what the node client's files share: the client itself and
 * one HTTP exchange on its connection.  client.c owns the connection and the
 * mapping of HTTP failures to errors; client_exec.c builds execs on top. */
#ifndef AIRLOCK_CLIENT_PRIV_H
#define AIRLOCK_CLIENT_PRIV_H

#include <curl/curl.h>

#include "airlock/client.h"

struct airlock_client {
  CURL *curl;        /* kept for the client's life: its connection stays open */
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

/* "/v1/sandboxes/<id, percent-escaped>"; NULL with *err for an empty id. */
char *al_client_sandbox_path(airlock_client *c, const char *id, airlock_error **err);

/* Copy of a message from the node with control characters (C0, DEL, and C1
 * in UTF-8) replaced by '?', so a node cannot write terminal escapes or extra
 * lines through our error output. */
char *al_client_clean_text(const char *s, size_t len);

#endif
