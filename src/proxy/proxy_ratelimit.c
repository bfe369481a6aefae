/* SPDX-License-Identifier: Apache-2.0 */
/* proxy_ratelimit.c - token buckets (see proxy_ratelimit.h).  The per-host
 * table is a small array searched linearly: a sandbox talks to a handful of
 * hosts, and the cap bounds what a flood of names can make it hold. */
#include "proxy_ratelimit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void al_bucket_init(al_bucket *b, double per_minute, double burst) {
  b->rate = per_minute > 0 ? per_minute / 60.0 : 0;
  b->burst = burst >= 1 ? burst : 1;
  b->tokens = b->burst;
  b->last_us = -1;
}

bool al_bucket_take(al_bucket *b, int64_t now_us, unsigned *retry_after_s) {
  if (b->rate <= 0)
    return true;
  if (b->last_us >= 0 && now_us > b->last_us)
    b->tokens = fmin(b->burst, b->tokens + (double)(now_us - b->last_us) / 1e6 * b->rate);
  b->last_us = now_us;
  if (b->tokens >= 1.0) {
    b->tokens -= 1.0;
    return true;
  }
  if (retry_after_s) {
    double s = ceil((1.0 - b->tokens) / b->rate);
    *retry_after_s = s < 1 ? 1 : (unsigned)s;
  }
  return false;
}

typedef struct {
  char *host;
  al_bucket bucket;
  int64_t used_us;
} host_entry;

struct al_host_buckets {
  host_entry *e;
  size_t n, cap;
  double per_minute, burst;
};

al_host_buckets *al_host_buckets_new(size_t cap, double per_minute, double burst) {
  al_host_buckets *hb = calloc(1, sizeof(*hb));
  if (!hb || !(hb->e = calloc(cap ? cap : 1, sizeof(host_entry)))) {
    free(hb);
    return NULL;
  }
  hb->cap = cap ? cap : 1;
  hb->per_minute = per_minute;
  hb->burst = burst;
  return hb;
}

void al_host_buckets_free(al_host_buckets *hb) {
  if (!hb)
    return;
  for (size_t i = 0; i < hb->n; i++)
    free(hb->e[i].host);
  free(hb->e);
  free(hb);
}

bool al_host_buckets_take(al_host_buckets *hb, const char *host, int64_t now_us, unsigned *retry_after_s) {
  if (hb->per_minute <= 0)
    return true;
  host_entry *slot = NULL;
  for (size_t i = 0; i < hb->n && !slot; i++)
    if (strcmp(hb->e[i].host, host) == 0)
      slot = &hb->e[i];
  if (!slot) {
    char *copy = strdup(host);
    if (!copy)
      return false; /* out of memory: refuse rather than not count */
    if (hb->n < hb->cap) {
      slot = &hb->e[hb->n++];
    } else {
      slot = &hb->e[0];
      for (size_t i = 1; i < hb->n; i++)
        if (hb->e[i].used_us < slot->used_us)
          slot = &hb->e[i];
      free(slot->host);
    }
    slot->host = copy;
    al_bucket_init(&slot->bucket, hb->per_minute, hb->burst);
  }
  slot->used_us = now_us;
  return al_bucket_take(&slot->bucket, now_us, retry_after_s);
}
