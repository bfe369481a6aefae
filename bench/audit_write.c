/* SPDX-License-Identifier: Apache-2.0 */
/* audit_write.c - durable write throughput of the audit trail (built as
 * audit-bench; not installed, not a test).  Every case commits with
 * synchronous=FULL (an fsync of the WAL) and rewrites audit.head (another
 * fsync), in a fresh state directory each:
 *
 *   1. al_audit_append, one record per commit;
 *   2. al_audit_append_many, 100 records per commit;
 *   3. the writer thread (group commit) fed by 4 producer threads that
 *      submit as fast as they can, then one flush (the total stays within
 *      the writer's queue of 100000, beyond which it drops records);
 *   4. the same at a steady 10000 records/s for 3 s, about 3 times what a
 *      node at its measured exec rate would write.
 *
 * Prints records/s and the median and p99 commit latency per batch, plus
 * the disk's own fsync latency for scale.  Records are shaped like the
 * node's exec.result (about 480 bytes of JSON).  Target (issue 4): at least
 * 5000 records/s durable.
 *
 * usage: audit-bench [-d DIR] [-n WRITER_RECORDS] [-t SINGLE_SECONDS] */
#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"

#define PRODUCERS 4
#define BATCH 100

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static json_t *make_record(int i) {
  char exec_id[32], tenant[16];
  snprintf(exec_id, sizeof(exec_id), "ex_%012x", (unsigned)i * 2654435761u);
  snprintf(tenant, sizeof(tenant), "tenant-%02d", i % 16);
  json_t *rec = json_pack(
      "{s:s, s:s, s:s, s:s, s:[s, s, s], s:s, s:[s, s, s, s], s:[s, s], s:[], s:s, s:s, s:i, s:i, s:I, s:I, s:i,"
      " s:n, s:i}",
      "kind", "exec.result", "tenant", tenant, "sandbox", "sb_3f9a2c1e", "exec_id", exec_id, "argv", "sh", "-c",
      "cd /workspace && npm test 2>&1 | tail -50", "cwd", "/workspace", "env_keys", "CI", "HOME", "NODE_ENV", "PATH",
      "actions", "code_exec", "file_read", "dangerous", "decision", "allow", "rule", "default", "exit_code",
      i % 3 == 0 ? 1 : 0, "duration_ms", 1000 + i % 5000, "cpu_user_us", (json_int_t)1523000 + i, "cpu_sys_us",
      (json_int_t)210000 + i, "max_rss_kb", 187340, "kill_reason", "output_bytes", 10234 + i % 1000);
  if (rec == NULL) {
    fprintf(stderr, "audit-bench: out of memory\n");
    exit(1);
  }
  return rec;
}

/* --- latencies ----------------------------------------------------------------- */

typedef struct {
  uint64_t *ns;
  size_t n, cap;
  pthread_mutex_t mu;
} samples;

static void sample(samples *s, uint64_t ns) {
  pthread_mutex_lock(&s->mu);
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 1024;
    s->ns = realloc(s->ns, s->cap * sizeof(*s->ns));
    if (s->ns == NULL)
      exit(1);
  }
  s->ns[s->n++] = ns;
  pthread_mutex_unlock(&s->mu);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static double pct_ms(samples *s, double p) {
  if (s->n == 0)
    return 0;
  qsort(s->ns, s->n, sizeof(*s->ns), cmp_u64);
  size_t i = (size_t)(p * (double)(s->n - 1) + 0.5);
  return (double)s->ns[i] / 1e6;
}

static void report(const char *name, size_t records, uint64_t elapsed_ns, samples *s) {
  double secs = (double)elapsed_ns / 1e9;
  printf("%-32s %9zu %8.2f %11.0f %8zu %10.1f %10.2f %10.2f\n", name, records, secs, (double)records / secs, s->n,
         (double)records / (double)(s->n ? s->n : 1), pct_ms(s, 0.5), pct_ms(s, 0.99));
}

static void die(const char *what, airlock_error **err) {
  fprintf(stderr, "audit-bench: %s: %s\n", what, *err ? (*err)->msg : "?");
  exit(1);
}

static char *subdir(const char *base, const char *name) {
  char *dir = NULL;
  if (asprintf(&dir, "%s/%s", base, name) < 0)
    exit(1);
  return dir;
}

static void verify_all(const char *dir, size_t want) {
  airlock_error *err = NULL;
  al_audit *a = NULL;
  al_audit_verify_result r;
  if (al_audit_open(dir, false, &a, &err) < 0)
    die("open for verify", &err);
  int rc = al_audit_verify(a, &r, &err);
  al_audit_close(a);
  if (rc != 0 || r.checked != want) {
    fprintf(stderr, "audit-bench: %s: verify gave %d, %" PRIu64 " records of %zu: %s\n", dir, rc, r.checked, want,
            rc < 0 && err ? err->msg : r.problem);
    exit(1);
  }
}

/* --- cases ----------------------------------------------------------------------- */

static void case_single(const char *base, double max_secs) {
  char *dir = subdir(base, "single");
  airlock_error *err = NULL;
  al_audit *a = NULL;
  if (al_audit_open(dir, true, &a, &err) < 0)
    die("open", &err);
  samples s = {.mu = PTHREAD_MUTEX_INITIALIZER};
  size_t n = 0;
  uint64_t start = now_ns(), limit = (uint64_t)(max_secs * 1e9);
  while (now_ns() - start < limit && n < 100000) {
    json_t *rec = make_record((int)n);
    uint64_t t0 = now_ns();
    if (al_audit_append(a, rec, &err) < 0)
      die("append", &err);
    sample(&s, now_ns() - t0);
    json_decref(rec);
    n++;
  }
  uint64_t elapsed = now_ns() - start;
  al_audit_close(a);
  report("append, 1 record per commit", n, elapsed, &s);
  verify_all(dir, n);
  free(s.ns);
  free(dir);
}

static void case_batches(const char *base, size_t total) {
  char *dir = subdir(base, "batch");
  airlock_error *err = NULL;
  al_audit *a = NULL;
  if (al_audit_open(dir, true, &a, &err) < 0)
    die("open", &err);
  samples s = {.mu = PTHREAD_MUTEX_INITIALIZER};
  json_t *recs[BATCH];
  uint64_t start = now_ns();
  for (size_t done = 0; done < total; done += BATCH) {
    for (size_t i = 0; i < BATCH; i++)
      recs[i] = make_record((int)(done + i));
    uint64_t t0 = now_ns();
    if (al_audit_append_many(a, recs, BATCH, &err) < 0)
      die("append_many", &err);
    sample(&s, now_ns() - t0);
    for (size_t i = 0; i < BATCH; i++)
      json_decref(recs[i]);
  }
  uint64_t elapsed = now_ns() - start;
  al_audit_close(a);
  report("append_many, 100 per commit", total, elapsed, &s);
  verify_all(dir, total);
  free(s.ns);
  free(dir);
}

typedef struct {
  al_audit_writer *w;
  size_t n;
  int id;
  double rate; /* records/s of this producer; 0 = as fast as it can */
} producer;

static void *produce(void *arg) {
  producer *p = arg;
  uint64_t start = now_ns();
  for (size_t i = 0; i < p->n; i++) {
    if (p->rate > 0) {
      uint64_t due = start + (uint64_t)((double)i * 1e9 / p->rate), now = now_ns();
      if (due > now)
        nanosleep(&(struct timespec){.tv_sec = (time_t)((due - now) / 1000000000u),
                                     .tv_nsec = (long)((due - now) % 1000000000u)},
                  NULL);
    }
    al_audit_writer_submit(p->w, make_record((int)(i * PRODUCERS + (size_t)p->id)));
  }
  return NULL;
}

static void on_batch(size_t n, uint64_t commit_ns, bool ok, void *ud) {
  (void)n;
  if (!ok) {
    fprintf(stderr, "audit-bench: a writer batch failed\n");
    exit(1);
  }
  sample(ud, commit_ns);
}

static void case_writer(const char *base, const char *name, size_t total, double rate) {
  char *dir = subdir(base, rate > 0 ? "writer-paced" : "writer");
  airlock_error *err = NULL;
  al_audit_writer *w = NULL;
  if (al_audit_writer_start(dir, &w, &err) < 0)
    die("writer start", &err);
  samples s = {.mu = PTHREAD_MUTEX_INITIALIZER};
  al_audit_writer_observe(w, on_batch, &s);
  pthread_t t[PRODUCERS];
  producer p[PRODUCERS];
  uint64_t start = now_ns();
  for (int i = 0; i < PRODUCERS; i++) {
    p[i] = (producer){w, total / PRODUCERS, i, rate / PRODUCERS};
    pthread_create(&t[i], NULL, produce, &p[i]);
  }
  for (int i = 0; i < PRODUCERS; i++)
    pthread_join(t[i], NULL);
  uint64_t submitted = now_ns();
  int flushed = al_audit_writer_flush(w);
  uint64_t elapsed = now_ns() - start;
  al_audit_writer_stats st;
  al_audit_writer_stats_get(w, &st);
  al_audit_writer_stop(w);
  if (flushed != 0 || st.lost > 0) {
    fprintf(stderr, "audit-bench: the writer lost %" PRIu64 " records\n", st.lost);
    exit(1);
  }
  report(name, (size_t)st.written, elapsed, &s);
  printf("  (producers done after %.2f s; %" PRIu64 " batches)\n", (double)(submitted - start) / 1e9, st.batches);
  verify_all(dir, (size_t)st.written);
  free(s.ns);
  free(dir);
}

/* the disk's own durable-write latency, for scale */
static void fsync_baseline(const char *base) {
  char *path = subdir(base, "fsync-probe");
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return;
  samples s = {.mu = PTHREAD_MUTEX_INITIALIZER};
  char block[4096];
  memset(block, 'x', sizeof(block));
  for (int i = 0; i < 100; i++) {
    uint64_t t0 = now_ns();
    if (pwrite(fd, block, sizeof(block), (off_t)i * 4096) != (ssize_t)sizeof(block) || fdatasync(fd) != 0)
      break;
    sample(&s, now_ns() - t0);
  }
  close(fd);
  unlink(path);
  printf("disk: 4 KiB pwrite + fdatasync, median %.2f ms, p99 %.2f ms (%zu samples)\n", pct_ms(&s, 0.5),
         pct_ms(&s, 0.99), s.n);
  free(s.ns);
  free(path);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

int main(int argc, char **argv) {
  const char *base_arg = NULL;
  size_t writer_records = 100000;
  double single_secs = 5;
  int opt;
  while ((opt = getopt(argc, argv, "d:n:t:")) != -1) {
    switch (opt) {
    case 'd': base_arg = optarg; break;
    case 'n': writer_records = strtoul(optarg, NULL, 10); break;
    case 't': single_secs = strtod(optarg, NULL); break;
    default: fprintf(stderr, "usage: audit-bench [-d DIR] [-n WRITER_RECORDS] [-t SINGLE_SECONDS]\n"); return 2;
    }
  }
  writer_records -= writer_records % (PRODUCERS * BATCH);
  if (writer_records == 0 || writer_records > 100000 || !(single_secs > 0)) {
    fprintf(stderr, "audit-bench: -n must be from %d to 100000 (the writer's queue) and -t above 0\n",
            PRODUCERS * BATCH);
    return 2;
  }
  char base[256];
  if (base_arg != NULL) {
    snprintf(base, sizeof(base), "%s/audit-bench.XXXXXX", base_arg);
  } else {
    const char *tmp = getenv("TMPDIR");
    snprintf(base, sizeof(base), "%s/audit-bench.XXXXXX", tmp && *tmp ? tmp : "/var/tmp");
  }
  if (mkdtemp(base) == NULL) {
    perror("audit-bench: mkdtemp");
    return 1;
  }
  json_t *sample_rec = make_record(1);
  json_object_set_new(sample_rec, "seq", json_integer(123456));
  json_object_set_new(sample_rec, "ts_ms", json_integer(1795000000000));
  char *body = json_dumps(sample_rec, JSON_SORT_KEYS | JSON_COMPACT);
  printf("audit-bench: state dirs under %s; record body %zu bytes (exec.result)\n", base, strlen(body));
  free(body);
  json_decref(sample_rec);
  fsync_baseline(base);
  printf("%-32s %9s %8s %11s %8s %10s %10s %10s\n", "case", "records", "seconds", "records/s", "commits", "per commit",
         "p50 ms", "p99 ms");
  case_single(base, single_secs);
  case_batches(base, writer_records / 4);
  case_writer(base, "writer, 4 producer threads", writer_records, 0);
  case_writer(base, "writer, 4 producers, 10000/s", 30000, 10000);
  if (nftw(base, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
    fprintf(stderr, "audit-bench: could not remove %s\n", base);
  return 0;
}
