/* SPDX-License-Identifier: Apache-2.0 */
/* node_load.c - load generator for the node API (bench/node_exec.sh):
 * C threads, each with its own airlock_client (one warm keep-alive
 * connection per thread), each running execs back to back, every exec timed
 * with CLOCK_MONOTONIC around airlock_client_exec().
 *
 *   node-load --node unix:/path/node.sock [--token TOKEN] [--sandbox ID]
 *             [--concurrency C] [--requests N | --seconds S] [--warmup W]
 *             [--argv ARG]... [--timeout-ms MS] [--label TEXT]
 *             [--json] [--raw FILE]
 *
 * --sandbox ID  run in that persistent sandbox (POST /v1/sandboxes/ID/exec);
 *               without it every exec is a one-shot POST /v1/exec
 * --requests N  timed execs in all, shared by the threads (default 1000);
 *               --seconds S runs for S seconds instead
 * --warmup W    untimed execs per thread first (default 3): they open the
 *               connection, so the timed part measures warm connections
 * --argv ARG    the command, one --argv per word (default: true); anything
 *               after "--" is appended too
 * --token       else $AIRLOCK_TOKEN
 * --json        one JSON object instead of text
 * --raw FILE    every timed latency, ns, one per line (failures too,
 *               marked with a trailing " fail")
 *
 * A failure is an exec the client reports as failed (refused, 429, 5xx,
 * connection or protocol error) or one whose command did not succeed
 * (non-zero exit, signal, node-side error).  Percentiles are over the
 * successful execs; throughput is successful execs over the wall time from
 * the moment all threads start their timed execs to the moment the last
 * one ends.  This is a benchmark, not a test: the exit status is 0 when
 * the run happened, whatever the numbers or failures (1: it could not run,
 * 2: bad usage). */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "airlock/client.h"

#define MAX_ERRORS 8
#define SLOWEST 5

typedef struct {
  int64_t ns;
  int64_t at_ns; /* start, from the common start */
  int thread;
  bool ok;
} sample;

typedef struct worker worker;

typedef struct {
  const char *node, *token, *sandbox;
  char **argv;
  int concurrency;
  int64_t requests; /* 0: by time */
  double seconds;
  int warmup;
  int64_t timeout_ms;
  pthread_barrier_t ready;
  atomic_int_fast64_t next;
  int64_t start_ns, deadline_ns;
  pthread_mutex_t lock;
  struct {
    char *msg;
    int64_t count;
  } errors[MAX_ERRORS];
  int64_t other_errors;
  worker *workers;
} run;

struct worker {
  run *r;
  int id;
  airlock_client *client;
  sample *s;
  size_t n, cap;
  int64_t ok, failed, warmup_failed;
  int64_t *node_wall_ms; /* the node's own wall_ms of each successful exec */
  size_t n_wall, cap_wall;
  int64_t end_ns;
};

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void note_error(run *r, const char *msg) {
  /* distinct messages are counted; the first MAX_ERRORS are kept */
  char text[240];
  snprintf(text, sizeof(text), "%s", msg);
  pthread_mutex_lock(&r->lock);
  int i;
  for (i = 0; i < MAX_ERRORS && r->errors[i].msg; i++)
    if (strcmp(r->errors[i].msg, text) == 0)
      break;
  if (i == MAX_ERRORS) {
    r->other_errors++;
  } else {
    if (!r->errors[i].msg)
      r->errors[i].msg = strdup(text);
    r->errors[i].count++;
  }
  pthread_mutex_unlock(&r->lock);
}

static void grow(void **p, size_t *cap, size_t need, size_t size) {
  if (need <= *cap)
    return;
  size_t c = *cap ? *cap * 2 : 1024;
  while (c < need)
    c *= 2;
  void *q = realloc(*p, c * size);
  if (!q) {
    fprintf(stderr, "node-load: out of memory\n");
    exit(1);
  }
  *p = q;
  *cap = c;
}

/* one exec; true when it ran and succeeded.  why gets the reason otherwise. */
static bool one_exec(worker *w, int64_t *node_wall, char *why, size_t whylen) {
  run *r = w->r;
  airlock_exec_request req = {.argv = r->argv, .sandbox_id = r->sandbox, .timeout_ms = r->timeout_ms};
  airlock_exec_result res;
  airlock_error *err = NULL;
  bool ok = false;
  if (airlock_client_exec(w->client, &req, NULL, NULL, &res, &err) < 0) {
    snprintf(why, whylen, "%s", err && err->msg ? err->msg : "exec failed");
  } else if (res.exit_code != 0 || res.signal != 0 || !res.success) {
    snprintf(why, whylen, "exit_code=%d signal=%d%s%s%s%s", res.exit_code, res.signal,
             res.timed_out ? " timed_out" : "", res.oom_killed ? " oom_killed" : "", res.error ? " error: " : "",
             res.error ? res.error : "");
  } else {
    ok = true;
    *node_wall = res.wall_ms;
  }
  airlock_error_free(&err);
  airlock_exec_result_clear(&res);
  return ok;
}

static void *work(void *arg) {
  worker *w = arg;
  run *r = w->r;
  char why[512];
  int64_t wall;
  for (int i = 0; i < r->warmup; i++)
    if (!one_exec(w, &wall, why, sizeof(why))) {
      w->warmup_failed++;
      note_error(r, why);
    }
  pthread_barrier_wait(&r->ready); /* all connections are open */
  pthread_barrier_wait(&r->ready); /* main has taken the start time */
  for (;;) {
    if (r->requests) {
      if (atomic_fetch_add(&r->next, 1) >= r->requests)
        break;
    } else if (now_ns() >= r->deadline_ns) {
      break;
    }
    int64_t t0 = now_ns();
    bool ok = one_exec(w, &wall, why, sizeof(why));
    int64_t t1 = now_ns();
    grow((void **)&w->s, &w->cap, w->n + 1, sizeof(sample));
    w->s[w->n++] = (sample){t1 - t0, t0 - r->start_ns, w->id, ok};
    if (ok) {
      w->ok++;
      grow((void **)&w->node_wall_ms, &w->cap_wall, w->n_wall + 1, sizeof(int64_t));
      w->node_wall_ms[w->n_wall++] = wall;
    } else {
      w->failed++;
      note_error(r, why);
    }
  }
  w->end_ns = now_ns();
  return NULL;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static int cmp_sample_desc(const void *a, const void *b) {
  int64_t x = ((const sample *)a)->ns, y = ((const sample *)b)->ns;
  return x > y ? -1 : x < y;
}

/* percentile p of sorted v, linear interpolation between closest ranks (as bench/launch.sh) */
static double pct(const int64_t *v, size_t n, double p) {
  if (n == 0)
    return 0;
  double i = (double)(n - 1) * p / 100.0;
  size_t lo = (size_t)i, hi = lo + 1 < n ? lo + 1 : n - 1;
  return (double)v[lo] + (double)(v[hi] - v[lo]) * (i - (double)lo);
}

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c < 0x20)
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

static void usage(FILE *f) {
  fprintf(f, "usage: node-load --node NODE [--token TOKEN] [--sandbox ID] [--concurrency C]\n"
             "                 [--requests N | --seconds S] [--warmup W] [--argv ARG]... [--timeout-ms MS]\n"
             "                 [--label TEXT] [--json] [--raw FILE] [-- ARG...]\n"
             "NODE: unix:/path/node.sock, https://host:port or http://127.0.0.1:port;\n"
             "TOKEN defaults to $AIRLOCK_TOKEN; without --sandbox each exec is a one-shot /v1/exec.\n");
}

static bool parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out) {
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi)
    return false;
  *out = v;
  return true;
}

int main(int argc, char **argv) {
  run r;
  memset(&r, 0, sizeof(r));
  r.concurrency = 1;
  r.warmup = 3;
  r.timeout_ms = 10000;
  r.token = getenv("AIRLOCK_TOKEN");
  const char *label = NULL, *raw = NULL;
  bool json = false, by_requests = false, by_time = false;
  int64_t requests = 1000;
  char **cmd = calloc((size_t)argc + 1, sizeof(char *));
  int n_cmd = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    int64_t x;
#define NEED_VALUE                                                                                                     \
  do {                                                                                                                 \
    if (!v) {                                                                                                          \
      fprintf(stderr, "node-load: %s needs a value\n", a);                                                             \
      return 2;                                                                                                        \
    }                                                                                                                  \
    i++;                                                                                                               \
  } while (0)
    if (strcmp(a, "--") == 0) {
      while (++i < argc)
        cmd[n_cmd++] = argv[i];
    } else if (strcmp(a, "--node") == 0) {
      NEED_VALUE;
      r.node = v;
    } else if (strcmp(a, "--token") == 0) {
      NEED_VALUE;
      r.token = v;
    } else if (strcmp(a, "--sandbox") == 0) {
      NEED_VALUE;
      r.sandbox = v;
    } else if (strcmp(a, "--argv") == 0) {
      NEED_VALUE;
      cmd[n_cmd++] = (char *)v;
    } else if (strcmp(a, "--label") == 0) {
      NEED_VALUE;
      label = v;
    } else if (strcmp(a, "--raw") == 0) {
      NEED_VALUE;
      raw = v;
    } else if (strcmp(a, "--json") == 0) {
      json = true;
    } else if (strcmp(a, "--concurrency") == 0) {
      NEED_VALUE;
      if (!parse_i64(v, 1, 4096, &x)) {
        fprintf(stderr, "node-load: --concurrency must be 1 to 4096, not '%s'\n", v);
        return 2;
      }
      r.concurrency = (int)x;
    } else if (strcmp(a, "--requests") == 0) {
      NEED_VALUE;
      if (!parse_i64(v, 1, INT64_C(1) << 40, &requests)) {
        fprintf(stderr, "node-load: --requests must be a positive number, not '%s'\n", v);
        return 2;
      }
      by_requests = true;
    } else if (strcmp(a, "--seconds") == 0) {
      NEED_VALUE;
      char *end = NULL;
      r.seconds = strtod(v, &end);
      if (end == v || *end || !(r.seconds > 0) || r.seconds > 86400) {
        fprintf(stderr, "node-load: --seconds must be a positive number, not '%s'\n", v);
        return 2;
      }
      by_time = true;
    } else if (strcmp(a, "--warmup") == 0) {
      NEED_VALUE;
      if (!parse_i64(v, 0, 1000000, &x)) {
        fprintf(stderr, "node-load: --warmup must be 0 or more, not '%s'\n", v);
        return 2;
      }
      r.warmup = (int)x;
    } else if (strcmp(a, "--timeout-ms") == 0) {
      NEED_VALUE;
      if (!parse_i64(v, 1, INT64_C(7) * 86400 * 1000, &r.timeout_ms)) {
        fprintf(stderr, "node-load: --timeout-ms must be a positive number, not '%s'\n", v);
        return 2;
      }
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      return 0;
    } else {
      fprintf(stderr, "node-load: unknown argument '%s'\n", a);
      usage(stderr);
      return 2;
    }
#undef NEED_VALUE
  }
  if (!r.node) {
    fprintf(stderr, "node-load: --node is required\n");
    usage(stderr);
    return 2;
  }
  if (by_requests && by_time) {
    fprintf(stderr, "node-load: give --requests or --seconds, not both\n");
    return 2;
  }
  if (n_cmd == 0)
    cmd[n_cmd++] = "true";
  cmd[n_cmd] = NULL;
  r.argv = cmd;
  r.requests = by_time ? 0 : requests;
  pthread_mutex_init(&r.lock, NULL);
  atomic_init(&r.next, 0);

  /* clients are opened here, one per thread; each connects on its first exec */
  r.workers = calloc((size_t)r.concurrency, sizeof(worker));
  for (int i = 0; i < r.concurrency; i++) {
    worker *w = &r.workers[i];
    w->r = &r;
    w->id = i;
    airlock_error *err = NULL;
    if (airlock_client_open(r.node, r.token, NULL, &w->client, &err) < 0) {
      fprintf(stderr, "node-load: cannot open a client for %s: %s\n", r.node, err ? err->msg : "?");
      return 1;
    }
  }
  pthread_barrier_init(&r.ready, NULL, (unsigned)r.concurrency + 1);
  pthread_t *th = calloc((size_t)r.concurrency, sizeof(pthread_t));
  for (int i = 0; i < r.concurrency; i++) {
    int e = pthread_create(&th[i], NULL, work, &r.workers[i]);
    if (e != 0) {
      fprintf(stderr, "node-load: pthread_create: %s\n", strerror(e));
      return 1;
    }
  }
  pthread_barrier_wait(&r.ready);
  r.start_ns = now_ns();
  r.deadline_ns = r.start_ns + (int64_t)(r.seconds * 1e9);
  pthread_barrier_wait(&r.ready);
  int64_t end_ns = r.start_ns;
  for (int i = 0; i < r.concurrency; i++) {
    pthread_join(th[i], NULL);
    if (r.workers[i].end_ns > end_ns)
      end_ns = r.workers[i].end_ns;
  }

  /* gather */
  int64_t ok = 0, failed = 0, warmup_failed = 0;
  size_t n_all = 0, n_wall = 0;
  for (int i = 0; i < r.concurrency; i++) {
    ok += r.workers[i].ok;
    failed += r.workers[i].failed;
    warmup_failed += r.workers[i].warmup_failed;
    n_all += r.workers[i].n;
    n_wall += r.workers[i].n_wall;
  }
  sample *all = calloc(n_all + 1, sizeof(sample));
  int64_t *lat = calloc((size_t)ok + 1, sizeof(int64_t));
  int64_t *walls = calloc(n_wall + 1, sizeof(int64_t));
  size_t k = 0, kl = 0, kw = 0;
  double sum = 0;
  for (int i = 0; i < r.concurrency; i++) {
    worker *w = &r.workers[i];
    for (size_t j = 0; j < w->n; j++) {
      all[k++] = w->s[j];
      if (w->s[j].ok) {
        lat[kl++] = w->s[j].ns;
        sum += (double)w->s[j].ns;
      }
    }
    for (size_t j = 0; j < w->n_wall; j++)
      walls[kw++] = w->node_wall_ms[j];
  }
  qsort(lat, kl, sizeof(int64_t), cmp_i64);
  qsort(walls, kw, sizeof(int64_t), cmp_i64);
  if (raw) {
    FILE *f = fopen(raw, "w");
    if (!f) {
      fprintf(stderr, "node-load: %s: %s\n", raw, strerror(errno));
    } else {
      for (size_t j = 0; j < k; j++)
        fprintf(f, "%" PRId64 "%s\n", all[j].ns, all[j].ok ? "" : " fail");
      fclose(f);
    }
  }
  qsort(all, k, sizeof(sample), cmp_sample_desc);
  double elapsed = (double)(end_ns - r.start_ns) / 1e9;
  double ms = 1e6;
  double p50 = pct(lat, kl, 50) / ms, p90 = pct(lat, kl, 90) / ms, p99 = pct(lat, kl, 99) / ms;
  double mx = kl ? (double)lat[kl - 1] / ms : 0, mean = kl ? sum / (double)kl / ms : 0;
  double tput = elapsed > 0 ? (double)ok / elapsed : 0;
  int64_t over10 = 0;
  for (size_t j = 0; j < kl; j++)
    over10 += lat[j] > 10 * 1000000;
  const char *mode = r.sandbox ? "sandbox" : "oneshot";

  if (json) {
    printf("{\"label\":");
    json_str(stdout, label ? label : mode);
    printf(",\"mode\":\"%s\",\"sandbox\":", mode);
    if (r.sandbox)
      json_str(stdout, r.sandbox);
    else
      printf("null");
    printf(",\"argv\":[");
    for (int i = 0; i < n_cmd; i++) {
      if (i)
        putchar(',');
      json_str(stdout, cmd[i]);
    }
    printf("],\"concurrency\":%d,\"warmup_per_thread\":%d,\"requests\":%" PRId64 ",\"seconds\":%g", r.concurrency,
           r.warmup, r.requests, r.seconds);
    printf(",\"execs\":%zu,\"ok\":%" PRId64 ",\"failures\":%" PRId64 ",\"warmup_failures\":%" PRId64, k, ok, failed,
           warmup_failed);
    printf(",\"elapsed_s\":%.6f,\"execs_per_s\":%.1f", elapsed, tput);
    if (kl) {
      printf(",\"p50_ms\":%.4f,\"p90_ms\":%.4f,\"p99_ms\":%.4f,\"max_ms\":%.4f,\"mean_ms\":%.4f", p50, p90, p99, mx,
             mean);
      printf(",\"min_ms\":%.4f", (double)lat[0] / ms);
    } else { /* no successful exec: no latency */
      printf(",\"p50_ms\":null,\"p90_ms\":null,\"p99_ms\":null,\"max_ms\":null,\"mean_ms\":null,\"min_ms\":null");
    }
    printf(",\"over_10ms\":%" PRId64, over10);
    printf(",\"node_wall_ms_p50\":%.1f,\"node_wall_ms_p99\":%.1f,\"node_wall_ms_max\":%" PRId64, pct(walls, kw, 50),
           pct(walls, kw, 99), kw ? walls[kw - 1] : 0);
    printf(",\"slowest\":[");
    for (size_t j = 0; j < k && j < SLOWEST; j++)
      printf("%s{\"ms\":%.3f,\"at_s\":%.3f,\"thread\":%d,\"ok\":%s}", j ? "," : "", (double)all[j].ns / ms,
             (double)all[j].at_ns / 1e9, all[j].thread, all[j].ok ? "true" : "false");
    printf("],\"errors\":[");
    for (int i = 0; i < MAX_ERRORS && r.errors[i].msg; i++) {
      printf("%s{\"count\":%" PRId64 ",\"message\":", i ? "," : "", r.errors[i].count);
      json_str(stdout, r.errors[i].msg);
      putchar('}');
    }
    printf("],\"other_errors\":%" PRId64 "}\n", r.other_errors);
  } else {
    printf("node-load: %s, %s%s, argv:", label ? label : mode, r.sandbox ? "sandbox " : "one-shot /v1/exec",
           r.sandbox ? r.sandbox : "");
    for (int i = 0; i < n_cmd; i++)
      printf(" %s", cmd[i]);
    printf("\n  concurrency %d, %zu timed execs (after %d warm-up per thread) in %.3f s\n", r.concurrency, k, r.warmup,
           elapsed);
    printf("  ok %" PRId64 "  failures %" PRId64 "  (warm-up failures %" PRId64 ")\n", ok, failed, warmup_failed);
    printf("  throughput %.1f execs/s\n", tput);
    if (kl)
      printf("  latency ms: p50 %.3f  p90 %.3f  p99 %.3f  max %.3f  mean %.3f  (>10 ms: %" PRId64 ")\n", p50, p90, p99,
             mx, mean, over10);
    else
      printf("  latency ms: n/a (no successful exec)\n");
    printf("  node wall_ms: p50 %.1f  p99 %.1f  max %" PRId64 "\n", pct(walls, kw, 50), pct(walls, kw, 99),
           kw ? walls[kw - 1] : 0);
    printf("  slowest:");
    for (size_t j = 0; j < k && j < SLOWEST; j++)
      printf(" %.2f ms (t=%.3fs, thread %d%s)", (double)all[j].ns / ms, (double)all[j].at_ns / 1e9, all[j].thread,
             all[j].ok ? "" : ", failed");
    printf("\n");
    for (int i = 0; i < MAX_ERRORS && r.errors[i].msg; i++)
      printf("  error x%" PRId64 ": %s\n", r.errors[i].count, r.errors[i].msg);
    if (r.other_errors)
      printf("  %" PRId64 " more errors with other messages\n", r.other_errors);
  }

  for (int i = 0; i < r.concurrency; i++) {
    airlock_client_close(&r.workers[i].client);
    free(r.workers[i].s);
    free(r.workers[i].node_wall_ms);
  }
  for (int i = 0; i < MAX_ERRORS; i++)
    free(r.errors[i].msg);
  free(r.workers);
  free(th);
  free(all);
  free(lat);
  free(walls);
  free(cmd);
  pthread_barrier_destroy(&r.ready);
  pthread_mutex_destroy(&r.lock);
  return 0;
}
