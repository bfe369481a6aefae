/* SPDX-License-Identifier: Apache-2.0 */
/* node_metrics.c - /v1/health (liveness, readiness, what is degraded) and
 * /metrics in the Prometheus text format.  Both are unauthenticated and hold
 * node-wide counts, never commands, and tenants' names only when the node
 * config asks for per-tenant series (metrics.tenant_series).  An
 * exec's end is counted here and logged here, with the same outcome. */
#define _GNU_SOURCE
#include "node.h"

#include <dirent.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const outcomes[] = {"ok", "failed", "timeout", "oom", "cancelled", "error"};
/* agent commands run from milliseconds to hours: buckets up to 4 h */
static const double buckets[] = {0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                 5,     30,    60,    300,  900,   1800, 3600, 7200, 14400};
_Static_assert(sizeof(buckets) / sizeof(buckets[0]) <= AL_NODE_LATENCY_BUCKETS, "al_metrics.latency_buckets is too small");

/* process_* metrics as Prometheus' client libraries name them, from /proc */
static void process_metrics(struct evbuffer *b) {
  long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
  unsigned long long utime = 0, stime = 0, start = 0, vsize = 0;
  long long rss = 0;
  FILE *f = fopen("/proc/self/stat", "re");
  char buf[1024];
  size_t len = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
  if (f)
    fclose(f);
  buf[len] = '\0';
  /* the fields after the command name, which may hold spaces and parentheses */
  char *p = strrchr(buf, ')');
  if (!p || sscanf(p + 2,
                   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu %llu %lld",
                   &utime, &stime, &start, &vsize, &rss) != 5 || tick <= 0)
    return;
  double boot = 0;
  f = fopen("/proc/stat", "re");
  char line[256];
  while (f && fgets(line, sizeof(line), f))
    if (sscanf(line, "btime %lf", &boot) == 1)
      break;
  if (f)
    fclose(f);
  int fds = 0;
  DIR *d = opendir("/proc/self/fd");
  for (struct dirent *e; d && (e = readdir(d));)
    fds += e->d_name[0] != '.';
  if (d)
    closedir(d);
  struct rlimit rl = {0};
  getrlimit(RLIMIT_NOFILE, &rl);
  evbuffer_add_printf(b,
                      "# HELP process_cpu_seconds_total User and system CPU time of the node process.\n"
                      "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %.2f\n"
                      "# HELP process_resident_memory_bytes Resident memory of the node process.\n"
                      "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %lld\n"
                      "# HELP process_virtual_memory_bytes Virtual memory of the node process.\n"
                      "# TYPE process_virtual_memory_bytes gauge\nprocess_virtual_memory_bytes %llu\n"
                      "# HELP process_start_time_seconds Start of the node process, Unix time.\n"
                      "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %.2f\n"
                      "# HELP process_open_fds Open file descriptors of the node process.\n"
                      "# TYPE process_open_fds gauge\nprocess_open_fds %d\n"
                      "# HELP process_max_fds RLIMIT_NOFILE of the node process.\n# TYPE process_max_fds gauge\nprocess_max_fds %llu\n",
                      (double)(utime + stime) / (double)tick, rss * (long long)page, vsize,
                      boot + (double)start / (double)tick, fds - 1 /* the directory's own */,
                      (unsigned long long)rl.rlim_cur);
}

void al_node_metrics_exec_done(al_node *n, const al_exec *e) {
  al_metrics *m = &n->metrics;
  int o = e->error && !e->exec_errno                                        ? 5
          : e->timed_out                                                    ? 2
          : e->oom_killed                                                   ? 3
          : e->cancelled                                                    ? 4
          : (WIFEXITED(e->wait_status) && WEXITSTATUS(e->wait_status) == 0) ? 0
                                                                            : 1;
  m->execs_by_outcome[o]++;
  if (e->tenant) {
    /* series of its own for the first metrics.tenant_series tenants that
     * run something; the others are counted together as "other" (a tenant
     * named "other" too: its name is that label's) */
    if (!e->tenant->own_series && m->tenant_series < n->cfg->metrics_tenant_series &&
        strcmp(e->tenant->name, "other") != 0) {
      e->tenant->own_series = true;
      m->tenant_series++;
    }
    e->tenant->execs_by_outcome[o]++;
  }
  int code = WIFEXITED(e->wait_status) ? WEXITSTATUS(e->wait_status) : -1;
  int sig = WIFSIGNALED(e->wait_status) ? WTERMSIG(e->wait_status) : 0;
  const char *kill = e->timed_out ? "timeout" : e->oom_killed ? "oom" : e->cancelled ? "cancel" : NULL;
  /* ids and numbers only: the command and its output are the audit trail's */
  al_log_fields(AL_LOG_INFO, "exec end", AL_LOG_STR("tenant", e->tenant ? e->tenant->name : NULL),
                AL_LOG_STR("sandbox", e->sandbox_id), AL_LOG_STR("exec", e->id), AL_LOG_STR("decision", e->p.decision),
                AL_LOG_STR("outcome", outcomes[o]), AL_LOG_INT("exit", o == 5 ? -1 : code),
                AL_LOG_INT("signal", sig), AL_LOG_INT("duration_ms", e->start_ms ? e->end_ms - e->start_ms : 0),
                AL_LOG_STR("kill_reason", kill));
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

static const char *const approval_outcomes[AL_NODE_APPROVAL_OUTCOMES] = {"approved", "rejected", "expired",
                                                                         "timeout_approved"};
/* an approver may answer in seconds or the next morning: up to a day */
static const double approval_buckets[AL_NODE_APPROVAL_BUCKETS] = {1,   5,    15,   30,    60,    120,   300,
                                                                  600, 1800, 3600, 7200, 14400, 43200, 86400};

void al_node_metrics_approval(al_node *n, int outcome, const json_t *ap, int64_t now_ms) {
  al_metrics *m = &n->metrics;
  json_t *created = json_object_get(ap, "created_at_ms");
  if (outcome < 0 || outcome >= AL_NODE_APPROVAL_OUTCOMES || !json_is_integer(created))
    return;
  int64_t ms = now_ms - json_integer_value(created);
  double s = ms > 0 ? (double)ms / 1000.0 : 0;
  for (size_t i = 0; i < AL_NODE_APPROVAL_BUCKETS; i++)
    if (s <= approval_buckets[i])
      m->approval_buckets[outcome][i]++;
  m->approval_sum[outcome] += s;
  m->approval_count[outcome]++;
}

static const char *const egress_verdicts[AL_NODE_EGRESS_VERDICTS] = {"allow", "deny", "other"};
static const char *const egress_reasons[AL_NODE_EGRESS_REASONS] = {"rule", "no_rule", "invalid", "limit", "other"};

/* The proxy's reasons are sentences that name rules and hosts: only their
 * kind becomes a label, so that the series stay a fixed few. */
void al_node_metrics_egress(al_node *n, const json_t *rec) {
  const char *verdict = json_string_value(json_object_get(rec, "verdict"));
  const char *reason = json_string_value(json_object_get(rec, "reason"));
  int v = verdict && strcmp(verdict, "allow") == 0 ? 0 : verdict && strcmp(verdict, "deny") == 0 ? 1 : 2;
  int r = 4;
  if (reason && (strncmp(reason, "allowed by rule", 15) == 0 || strncmp(reason, "denied by rule", 14) == 0))
    r = 0;
  else if (reason && strncmp(reason, "no rule allows", 14) == 0)
    r = 1;
  else if (reason && (strstr(reason, "invalid") || strstr(reason, "malformed")))
    r = 2;
  else if (reason && strstr(reason, "limits."))
    r = 3;
  n->metrics.egress[v][r]++;
}

/* what was added to the first metrics: approvals, egress, the audit
 * writer, sandboxes by kind and state */
static void more_metrics(al_node *n, struct evbuffer *b) {
  al_metrics *m = &n->metrics;
  int64_t pending = n->approvals ? al_approvals_pending_count(n->approvals, NULL) : 0;
  evbuffer_add_printf(b,
                      "# HELP airlock_approvals_pending Approvals waiting for an approver.\n"
                      "# TYPE airlock_approvals_pending gauge\nairlock_approvals_pending %lld\n",
                      (long long)(pending > 0 ? pending : 0));
  evbuffer_add_printf(b, "# HELP airlock_approval_latency_seconds Time from an approval's request to its decision.\n"
                         "# TYPE airlock_approval_latency_seconds histogram\n");
  for (int o = 0; o < AL_NODE_APPROVAL_OUTCOMES; o++) {
    for (size_t i = 0; i < AL_NODE_APPROVAL_BUCKETS; i++)
      evbuffer_add_printf(b, "airlock_approval_latency_seconds_bucket{outcome=\"%s\",le=\"%g\"} %llu\n",
                          approval_outcomes[o], approval_buckets[i], (unsigned long long)m->approval_buckets[o][i]);
    evbuffer_add_printf(b,
                        "airlock_approval_latency_seconds_bucket{outcome=\"%s\",le=\"+Inf\"} %llu\n"
                        "airlock_approval_latency_seconds_sum{outcome=\"%s\"} %f\n"
                        "airlock_approval_latency_seconds_count{outcome=\"%s\"} %llu\n",
                        approval_outcomes[o], (unsigned long long)m->approval_count[o], approval_outcomes[o],
                        m->approval_sum[o], approval_outcomes[o], (unsigned long long)m->approval_count[o]);
  }
  evbuffer_add_printf(b, "# HELP airlock_egress_decisions_total Egress proxy records of node sandboxes, by verdict "
                         "and kind of reason.\n# TYPE airlock_egress_decisions_total counter\n");
  for (int v = 0; v < AL_NODE_EGRESS_VERDICTS; v++)
    for (int r = 0; r < AL_NODE_EGRESS_REASONS; r++)
      evbuffer_add_printf(b, "airlock_egress_decisions_total{verdict=\"%s\",reason=\"%s\"} %llu\n",
                          egress_verdicts[v], egress_reasons[r], (unsigned long long)m->egress[v][r]);
  uint64_t queued = al_recorder_backlog(n); /* refreshes the writer's figures (at most 100 ms old) */
  bool audit = al_recorder_audit_on(n);
  evbuffer_add_printf(
      b,
      "# HELP airlock_audit_queue_records Audit records waiting to be committed.\n"
      "# TYPE airlock_audit_queue_records gauge\nairlock_audit_queue_records %llu\n"
      "# HELP airlock_audit_lag_seconds How long the oldest waiting audit record has waited.\n"
      "# TYPE airlock_audit_lag_seconds gauge\nairlock_audit_lag_seconds %.3f\n"
      "# HELP airlock_audit_records_written_total Audit records committed by the writer.\n"
      "# TYPE airlock_audit_records_written_total counter\nairlock_audit_records_written_total %llu\n"
      "# HELP airlock_audit_records_lost_total Audit records the writer could not store.\n"
      "# TYPE airlock_audit_records_lost_total counter\nairlock_audit_records_lost_total %llu\n"
      "# HELP airlock_audit_writer_up Whether the audit writer process is there (0 also when the trail is off).\n"
      "# TYPE airlock_audit_writer_up gauge\nairlock_audit_writer_up %d\n",
      (unsigned long long)queued, audit ? (double)n->recorder_oldest_ms / 1000.0 : 0.0,
      (unsigned long long)n->recorder_written, (unsigned long long)n->recorder_lost, audit);
  static const char *const kinds[] = {"persistent", "pool", "one_shot"};
  static const char *const states[] = {"starting", "idle", "busy", "stopping"};
  int64_t count[3][4] = {{0}};
  for (al_sbox *sb = n->sboxes; sb; sb = sb->next) {
    int k = !sb->one_shot ? 0 : !sb->tenant ? 1 : 2;
    int st = sb->dying ? 3 : !sb->ready ? 0 : sb->running > 0 ? 2 : 1;
    count[k][st]++;
  }
  evbuffer_add_printf(b, "# HELP airlock_sandboxes Sandboxes, by kind and state.\n# TYPE airlock_sandboxes gauge\n");
  for (int k = 0; k < 3; k++)
    for (int st = 0; st < 4; st++)
      evbuffer_add_printf(b, "airlock_sandboxes{kind=\"%s\",state=\"%s\"} %lld\n", kinds[k], states[st],
                          (long long)count[k][st]);
}

/* a tenant's name as a label value: \\, \" and \n escaped (the exposition
 * format's three) */
static void label_value(struct evbuffer *b, const char *s) {
  for (; *s; s++) {
    if (*s == '\\' || *s == '"')
      evbuffer_add_printf(b, "\\%c", *s);
    else if (*s == '\n')
      evbuffer_add(b, "\\n", 2);
    else
      evbuffer_add(b, s, 1);
  }
}

/* Per-tenant series only when the node config asks (metrics.tenant_series):
 * /metrics needs no token, and tenants' names are not for whoever reaches
 * it.  Bounded: that many tenants, first come, and "other" for the rest. */
static void tenant_metrics(al_node *n, struct evbuffer *b) {
  if (n->cfg->metrics_tenant_series <= 0)
    return;
  uint64_t other[6] = {0};
  int64_t other_running = 0;
  evbuffer_add_printf(b, "# HELP airlock_tenant_execs_total Execs finished, by tenant (metrics.tenant_series of them, "
                         "then \"other\") and outcome.\n# TYPE airlock_tenant_execs_total counter\n");
  for (al_tenant *t = n->tenants; t; t = t->next) {
    if (!t->own_series) {
      for (size_t i = 0; i < 6; i++)
        other[i] += t->execs_by_outcome[i];
      continue;
    }
    for (size_t i = 0; i < 6; i++) {
      evbuffer_add_printf(b, "airlock_tenant_execs_total{tenant=\"");
      label_value(b, t->name);
      evbuffer_add_printf(b, "\",outcome=\"%s\"} %llu\n", outcomes[i], (unsigned long long)t->execs_by_outcome[i]);
    }
  }
  for (size_t i = 0; i < 6; i++)
    evbuffer_add_printf(b, "airlock_tenant_execs_total{tenant=\"other\",outcome=\"%s\"} %llu\n", outcomes[i],
                        (unsigned long long)other[i]);
  evbuffer_add_printf(b, "# HELP airlock_tenant_execs_running Execs running now, by tenant.\n"
                         "# TYPE airlock_tenant_execs_running gauge\n");
  for (al_tenant *t = n->tenants; t; t = t->next) {
    if (!t->own_series) {
      other_running += t->running;
      continue;
    }
    evbuffer_add_printf(b, "airlock_tenant_execs_running{tenant=\"");
    label_value(b, t->name);
    evbuffer_add_printf(b, "\"} %lld\n", (long long)t->running);
  }
  evbuffer_add_printf(b, "airlock_tenant_execs_running{tenant=\"other\"} %lld\n", (long long)other_running);
}

void al_node_handle_metrics(al_node *n, struct evhttp_request *req) {
  al_metrics *m = &n->metrics;
  struct evbuffer *b = evbuffer_new();
  evbuffer_add_printf(b,
                      "# HELP airlock_build_info The node's version.\n# TYPE airlock_build_info gauge\n"
                      "airlock_build_info{version=\"%s\"} 1\n",
                      AIRLOCK_VERSION);
  process_metrics(b);
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
  more_metrics(n, b);
  tenant_metrics(n, b);
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
