/* SPDX-License-Identifier: Apache-2.0 */
/* node_metrics.c - /v1/health (liveness, readiness, what is degraded) and
 * /metrics in the Prometheus text format.  Both are unauthenticated and hold
 * only node-wide counts, never tenant names or commands. */
#define _GNU_SOURCE
#include "node.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <sys/wait.h>

static const char *const outcomes[] = {"ok", "failed", "timeout", "oom", "cancelled", "error"};
static const double buckets[] = {0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5};

void al_node_metrics_exec_done(al_node *n, const al_exec *e) {
  al_metrics *m = &n->metrics;
  int o = e->error && !e->exec_errno                                        ? 5
          : e->timed_out                                                    ? 2
          : e->oom_killed                                                   ? 3
          : e->cancelled                                                    ? 4
          : (WIFEXITED(e->wait_status) && WEXITSTATUS(e->wait_status) == 0) ? 0
                                                                            : 1;
  m->execs_by_outcome[o]++;
  if (e->timed_out)
    m->limit_kills[0]++;
  if (e->oom_killed)
    m->limit_kills[1]++;
  if (e->cancelled)
    m->limit_kills[2]++;
  if (e->start_ms) {
    double s = (double)(e->end_ms - e->start_ms) / 1000.0;
    for (size_t i = 0; i < sizeof(buckets) / sizeof(buckets[0]); i++)
      if (s <= buckets[i])
        m->latency_buckets[i]++;
    m->latency_sum += s;
    m->latency_count++;
  }
}

void al_node_handle_metrics(al_node *n, struct evhttp_request *req) {
  al_metrics *m = &n->metrics;
  struct evbuffer *b = evbuffer_new();
  evbuffer_add_printf(b,
                      "# HELP airlock_execs_total Execs finished, by outcome.\n# TYPE airlock_execs_total counter\n");
  for (size_t i = 0; i < 6; i++)
    evbuffer_add_printf(b, "airlock_execs_total{outcome=\"%s\"} %llu\n", outcomes[i],
                        (unsigned long long)m->execs_by_outcome[i]);
  evbuffer_add_printf(b, "# HELP airlock_exec_duration_seconds Wall time of execs.\n"
                         "# TYPE airlock_exec_duration_seconds histogram\n");
  for (size_t i = 0; i < sizeof(buckets) / sizeof(buckets[0]); i++)
    evbuffer_add_printf(b, "airlock_exec_duration_seconds_bucket{le=\"%g\"} %llu\n", buckets[i],
                        (unsigned long long)m->latency_buckets[i]);
  evbuffer_add_printf(b, "airlock_exec_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                      (unsigned long long)m->latency_count);
  evbuffer_add_printf(b, "airlock_exec_duration_seconds_sum %f\nairlock_exec_duration_seconds_count %llu\n",
                      m->latency_sum, (unsigned long long)m->latency_count);
  int64_t active = 0, pool = 0;
  for (al_sbox *sb = n->sboxes; sb; sb = sb->next) {
    if (!sb->one_shot)
      active++;
    else if (!sb->tenant)
      pool++;
  }
  evbuffer_add_printf(b,
                      "# HELP airlock_sandboxes_active Persistent sandboxes.\n# TYPE airlock_sandboxes_active gauge\n"
                      "airlock_sandboxes_active %lld\n",
                      (long long)active);
  evbuffer_add_printf(b,
                      "# HELP airlock_pool_ready Warm one-shot sandboxes.\n# TYPE airlock_pool_ready gauge\n"
                      "airlock_pool_ready %lld\n",
                      (long long)pool);
  evbuffer_add_printf(b,
                      "# HELP airlock_execs_running Execs running now.\n# TYPE airlock_execs_running gauge\n"
                      "airlock_execs_running %lld\n",
                      (long long)n->running);
  evbuffer_add_printf(b,
                      "# HELP airlock_connections_unauthenticated Connections that have not shown a token yet "
                      "(max_unauthenticated_connections).\n# TYPE airlock_connections_unauthenticated gauge\n"
                      "airlock_connections_unauthenticated %lld\n",
                      (long long)al_node_gate_unauthenticated(n));
  evbuffer_add_printf(
      b,
      "# HELP airlock_limit_kills_total Execs ended by a limit.\n# TYPE airlock_limit_kills_total counter\n"
      "airlock_limit_kills_total{reason=\"timeout\"} %llu\n"
      "airlock_limit_kills_total{reason=\"oom\"} %llu\n"
      "airlock_limit_kills_total{reason=\"cancel\"} %llu\n",
      (unsigned long long)m->limit_kills[0], (unsigned long long)m->limit_kills[1],
      (unsigned long long)m->limit_kills[2]);
  evbuffer_add_printf(b, "# HELP airlock_requests_rejected_total Requests answered with an error.\n"
                         "# TYPE airlock_requests_rejected_total counter\n");
  for (size_t i = 0; i < AL_NODE_REJECTED_CODES; i++)
    evbuffer_add_printf(b, "airlock_requests_rejected_total{code=\"%d\"} %llu\n", al_node_rejected_codes[i],
                        (unsigned long long)m->rejected[i]);
  al_node_openclaw_metrics(n, b);
  evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain; version=0.0.4");
  evhttp_send_reply(req, 200, "OK", b);
  evbuffer_free(b);
}

void al_node_handle_health(al_node *n, struct evhttp_request *req) {
  int64_t active = 0, pool_ready = 0;
  for (al_sbox *sb = n->sboxes; sb; sb = sb->next) {
    if (!sb->one_shot)
      active++;
    else if (!sb->tenant && sb->ready)
      pool_ready++;
  }
  json_t *degraded = json_array();
  if (n->degraded)
    json_array_append_new(degraded, json_string(n->degraded));
  json_t *h = json_pack("{s:s,s:b,s:s,s:o,s:I,s:I,s:{s:I,s:I}}", "status", n->stopping ? "stopping" : "ok", "ready",
                        !n->stopping, "version", AIRLOCK_VERSION, "degraded", degraded, "sandboxes", (json_int_t)active,
                        "execs_running", (json_int_t)n->running, "pool", "ready", (json_int_t)pool_ready, "target",
                        (json_int_t)n->cfg->pool_size);
  json_t *oc = al_node_openclaw_health(n);
  if (h && oc)
    json_object_set_new(h, "openclaw", oc);
  al_node_reply_json(req, 200, h);
}
