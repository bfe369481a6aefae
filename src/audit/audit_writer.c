/* SPDX-License-Identifier: Apache-2.0 */
/* audit_writer.c - the group-commit writer (al_audit_writer_*): the node
 * submits records without waiting, and one thread with its own handle
 * commits whatever is queued as one transaction per batch, since every
 * commit costs an fsync (WAL, synchronous=FULL). */
#define _GNU_SOURCE
#include "audit_priv.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "error.h"

#define WRITER_MAX_QUEUE 100000
#define WRITER_MAX_BATCH 4096
#define WRITER_TRIES 3
/* Group commit: records that arrive within this window share one
 * transaction.  An fsync (and the head file's) per record would make every
 * exec pay for a journal commit that the rest of the node's disk writes
 * queue behind; a flush, a stop or a full batch ends the wait early. */
#define WRITER_GATHER_MS 50 /* node.db groups exec ends by 100 ms */
#define WRITER_GATHER_MAX 1024

struct al_audit_writer {
  al_audit *a; /* used by the thread only, once started */
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t work, progress;
  json_t **queue;
  size_t queued, cap;
  bool stopping;
  unsigned flush_waiters; /* someone waits in al_audit_writer_flush: commit now */
  /* submitted = done + queued + in flight; done = written + lost */
  uint64_t submitted, done, written, lost, lost_seen, batches;
  /* monotonic submit time of the first record queued, and of the first of
   * the batch being committed (0: none), for the writer's lag */
  int64_t queue_first_ns, inflight_first_ns;
  void (*observe)(size_t n, uint64_t commit_ns, bool ok, void *ud);
  void *observe_ud;
};

static void commit_batch(al_audit_writer *w, json_t **recs, size_t n) {
  bool ok = false;
  uint64_t start = (uint64_t)al_monotonic_ns();
  for (int attempt = 0; attempt < WRITER_TRIES && !ok; attempt++) {
    if (attempt > 0)
      nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
    airlock_error *err = NULL;
    ok = al_audit_append_many(w->a, recs, n, &err) == 0;
    airlock_error_free(&err);
  }
  if (w->observe != NULL)
    w->observe(n, (uint64_t)al_monotonic_ns() - start, ok, w->observe_ud);
  for (size_t i = 0; i < n; i++)
    json_decref(recs[i]);
  pthread_mutex_lock(&w->mu);
  w->done += n;
  if (ok)
    w->written += n;
  else
    w->lost += n;
  w->batches++;
  pthread_cond_broadcast(&w->progress);
  pthread_mutex_unlock(&w->mu);
}

static void *writer_main(void *arg) {
  al_audit_writer *w = arg;
  json_t **batch = NULL;
  size_t batch_cap = 0;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (w->queued == 0 && !w->stopping)
      pthread_cond_wait(&w->work, &w->mu);
    if (w->queued == 0)
      break; /* stopping, and everything is written */
    if (!w->stopping && w->flush_waiters == 0 && w->queued < WRITER_GATHER_MAX) {
      struct timespec until;
      clock_gettime(CLOCK_REALTIME, &until);
      until.tv_nsec += WRITER_GATHER_MS * 1000000L;
      if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
      }
      while (!w->stopping && w->flush_waiters == 0 && w->queued < WRITER_GATHER_MAX &&
             pthread_cond_timedwait(&w->work, &w->mu, &until) == 0) {
      }
    }
    /* take the whole queue (swap buffers): whatever came in while the last
     * batch was committing goes into the next transaction together */
    json_t **q = w->queue;
    size_t n = w->queued, qcap = w->cap;
    w->queue = batch;
    w->cap = batch_cap;
    w->queued = 0;
    w->inflight_first_ns = w->queue_first_ns;
    w->queue_first_ns = 0;
    batch = q;
    batch_cap = qcap;
    pthread_mutex_unlock(&w->mu);
    for (size_t off = 0; off < n; off += WRITER_MAX_BATCH)
      commit_batch(w, batch + off, n - off < WRITER_MAX_BATCH ? n - off : WRITER_MAX_BATCH);
    pthread_mutex_lock(&w->mu);
    w->inflight_first_ns = 0;
  }
  pthread_mutex_unlock(&w->mu);
  free(batch);
  return NULL;
}

int al_audit_writer_start(const char *state_dir, al_audit_writer **out, airlock_error **err) {
  *out = NULL;
  al_audit_writer *w = calloc(1, sizeof(*w));
  if (w == NULL)
    return al_err(err, ENOMEM, "audit writer");
  if (al_audit_open(state_dir, true, &w->a, err) < 0) {
    free(w);
    return -1;
  }
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->work, NULL);
  pthread_cond_init(&w->progress, NULL);
  int rc = pthread_create(&w->thread, NULL, writer_main, w);
  if (rc != 0) {
    al_audit_close(w->a);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->work);
    pthread_cond_destroy(&w->progress);
    free(w);
    return al_err(err, rc, "cannot start the audit writer thread");
  }
  *out = w;
  return 0;
}

void al_audit_writer_submit(al_audit_writer *w, json_t *rec) {
  if (rec == NULL)
    return;
  json_t *kind = json_object_get(rec, "kind");
  json_t *ts = json_object_get(rec, "ts_ms");
  bool valid = json_is_object(rec) && json_is_string(kind) && json_string_length(kind) > 0 &&
               (ts == NULL || (json_is_integer(ts) && json_integer_value(ts) >= 0));
  /* the time the event happened, not the time the batch was committed */
  if (valid && ts == NULL && json_object_set_new(rec, "ts_ms", json_integer((json_int_t)al_wall_ms())) < 0)
    valid = false;
  pthread_mutex_lock(&w->mu);
  w->submitted++;
  if (valid && w->queued == w->cap && w->cap < WRITER_MAX_QUEUE) {
    size_t ncap = w->cap ? w->cap * 2 : 256;
    json_t **grown = reallocarray(w->queue, ncap, sizeof(*grown));
    if (grown != NULL) {
      w->queue = grown;
      w->cap = ncap;
    }
  }
  if (valid && w->queued < w->cap && w->queued < WRITER_MAX_QUEUE) {
    if (w->queued == 0)
      w->queue_first_ns = al_monotonic_ns();
    w->queue[w->queued++] = rec;
    rec = NULL;
    if (w->queued == 1 || w->queued == WRITER_GATHER_MAX)
      pthread_cond_signal(&w->work);
  } else {
    w->done++;
    w->lost++;
  }
  pthread_mutex_unlock(&w->mu);
  json_decref(rec);
}

int al_audit_writer_flush(al_audit_writer *w) {
  pthread_mutex_lock(&w->mu);
  uint64_t target = w->submitted;
  w->flush_waiters++;
  pthread_cond_signal(&w->work); /* no gathering while someone waits */
  while (w->done < target)
    pthread_cond_wait(&w->progress, &w->mu);
  w->flush_waiters--;
  int rc = w->lost > w->lost_seen ? -1 : 0;
  w->lost_seen = w->lost;
  pthread_mutex_unlock(&w->mu);
  return rc;
}

void al_audit_writer_stats_get(al_audit_writer *w, al_audit_writer_stats *out) {
  pthread_mutex_lock(&w->mu);
  out->submitted = w->submitted;
  out->written = w->written;
  out->lost = w->lost;
  out->batches = w->batches;
  int64_t first = w->inflight_first_ns ? w->inflight_first_ns : w->queue_first_ns;
  out->oldest_wait_ms = first ? (al_monotonic_ns() - first) / 1000000 : 0;
  pthread_mutex_unlock(&w->mu);
}

void al_audit_writer_observe(al_audit_writer *w, void (*fn)(size_t n, uint64_t commit_ns, bool ok, void *ud),
                             void *ud) {
  pthread_mutex_lock(&w->mu); /* the thread reads them after taking a batch under this lock */
  w->observe = fn;
  w->observe_ud = ud;
  pthread_mutex_unlock(&w->mu);
}

void al_audit_writer_stop(al_audit_writer *w) {
  if (w == NULL)
    return;
  pthread_mutex_lock(&w->mu);
  w->stopping = true;
  pthread_cond_signal(&w->work);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->thread, NULL); /* the thread drains the queue first */
  al_audit_close(w->a);
  free(w->queue);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->work);
  pthread_cond_destroy(&w->progress);
  free(w);
}
