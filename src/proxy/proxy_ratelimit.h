/* SPDX-License-Identifier: Apache-2.0 */
/* proxy_ratelimit.h - token buckets for the egress proxy's request rates:
 * one for the whole sandbox and one per destination host, so a runaway
 * agent cannot hammer an API (or the proxy) and is told when to come back
 * (429 with Retry-After).  Pure: time is passed in, for tests. */
#ifndef AIRLOCK_PROXY_RATELIMIT_H
#define AIRLOCK_PROXY_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  double rate;  /* tokens per second; 0 = unlimited */
  double burst; /* bucket size */
  double tokens;
  int64_t last_us;
} al_bucket;

void al_bucket_init(al_bucket *b, double per_minute, double burst);
/* Take one token at time now_us.  true when allowed; otherwise false and
 * *retry_after_s is how many whole seconds until a token is there. */
bool al_bucket_take(al_bucket *b, int64_t now_us, unsigned *retry_after_s);

/* Per-host buckets, at most cap hosts (the least recently used one is
 * dropped, which can only make the limit looser for a host not seen for a
 * while, never stricter). */
typedef struct al_host_buckets al_host_buckets;
al_host_buckets *al_host_buckets_new(size_t cap, double per_minute, double burst);
void al_host_buckets_free(al_host_buckets *hb);
bool al_host_buckets_take(al_host_buckets *hb, const char *host, int64_t now_us, unsigned *retry_after_s);

#endif
