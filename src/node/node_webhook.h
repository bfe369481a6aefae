/* SPDX-License-Identifier: Apache-2.0 */
/* node_webhook.h - signed webhook notifications: the node tells an
 * operator's endpoint that something happened (a command waits for a human
 * approval, say), so that it can be bridged to a chat or a pager.  Delivery
 * runs on a worker thread of its own, so the node's event loop never waits
 * on a slow or dead receiver.  Wire format and verification: docs/node.md,
 * "Webhook notifications". */
#ifndef AIRLOCK_NODE_WEBHOOK_H
#define AIRLOCK_NODE_WEBHOOK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "airlock/airlock.h"

/* Events waiting for delivery; when full the oldest is dropped (counted). */
#define AL_WEBHOOK_QUEUE_MAX 1000
/* What al_webhook_stop() grants queued and in-flight events. */
#define AL_WEBHOOK_STOP_GRACE_MS 2000
/* Shortest secret accepted (bytes). */
#define AL_WEBHOOK_SECRET_MIN 16

typedef struct al_webhook al_webhook;

typedef struct {
  const char *url;             /* https://..., or http:// to a loopback host */
  const unsigned char *secret; /* HMAC key, copied; at least 16 bytes */
  size_t secret_len;
  int64_t timeout_ms;  /* per attempt (connect and exchange); <= 0: 5000 */
  int max_attempts;    /* <= 0: 4 */
  const char *ca_file; /* optional PEM bundle instead of the system store */
} al_webhook_config;

/* Checks the config (the URL: http:// only to 127.0.0.0/8, [::1] or
 * localhost, else https://), loads libcurl and starts the worker. */
int al_webhook_start(const al_webhook_config *cfg, al_webhook **out, airlock_error **err);

/* Queues one event.  Steals payload (NULL is sent as null); the JSON body
 * is built here, so the caller may keep using objects shared with it.
 * Never blocks on the network: it takes the queue's lock for a moment.
 * event_type is 1 to 64 of [A-Za-z0-9._-]; another is counted as failed.
 * NULL w: the payload is released and nothing else happens. */
void al_webhook_send(al_webhook *w, const char *event_type, json_t *payload);

typedef struct {
  uint64_t delivered; /* a 2xx answer */
  uint64_t failed;    /* refused (3xx, 4xx but 429), attempts exhausted, or malformed */
  uint64_t dropped;   /* pushed out of a full queue, or still queued when the stop's grace ran out */
} al_webhook_stats;
void al_webhook_stats_get(al_webhook *w, al_webhook_stats *out);

/* Gives queued events up to AL_WEBHOOK_STOP_GRACE_MS, aborts what is left,
 * joins the worker and frees everything.  NULL is fine. */
void al_webhook_stop(al_webhook *w);

/* out_hex = lowercase hex of HMAC-SHA256(secret, "<t>.<body>"), the v1
 * value of X-Airlock-Signature.  0, or -1 if OpenSSL failed. */
int al_webhook_sign(const unsigned char *secret, size_t len, int64_t t, const char *body, char out_hex[65]);

/* Reads a webhook secret file: a regular file (symbolic links are
 * followed) owned by the effective uid, with no group or other permission
 * bits, of at most 4096 bytes; trailing newlines (\n, \r) are stripped and
 * at least 16 bytes must remain.  *secret is malloc'd (free it with
 * al_webhook_secret_free, which wipes it). */
int al_webhook_secret_load(const char *path, unsigned char **secret, size_t *len, airlock_error **err);
void al_webhook_secret_free(unsigned char *secret, size_t len);

#endif
