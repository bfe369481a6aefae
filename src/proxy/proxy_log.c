/* SPDX-License-Identifier: Apache-2.0 */
/* proxy_log.c - one JSON line per decision of the egress proxy: what the
 * sandbox asked for, what was decided and why, and how much went through.
 * Headers, paths and bodies are never written, so neither a secret the
 * proxy injects nor one the sandbox sends can reach the log.  The line is
 * written and flushed at once: the log is the operator's record of what
 * left the machine. */
#include "proxy.h"

#include <string.h>
#include <sys/time.h>
#include <time.h>

static void set_str(json_t *o, const char *k, const char *v) {
  if (v && *v)
    json_object_set_new(o, k, json_string(v));
}

void al_proxy_log(al_proxy *px, const al_proxy_record *rec) {
  if (!px->log)
    return;
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  char when[40];
  size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(when + n, sizeof(when) - n, ".%03ldZ", (long)(tv.tv_usec / 1000));
  json_t *o = json_object();
  if (!o)
    return;
  set_str(o, "time", when);
  set_str(o, "sandbox", px->sandbox);
  set_str(o, "kind", rec->kind);
  set_str(o, "method", rec->method);
  set_str(o, "host", rec->host);
  if (rec->port)
    json_object_set_new(o, "port", json_integer(rec->port));
  set_str(o, "qtype", rec->qtype);
  set_str(o, "sni", rec->sni);
  set_str(o, "address", rec->address);
  set_str(o, "route", rec->route);
  set_str(o, "verdict", rec->verdict);
  if (rec->status)
    json_object_set_new(o, "status", json_integer(rec->status));
  set_str(o, "reason", rec->reason);
  if (strcmp(rec->kind, "dns") != 0) {
    json_object_set_new(o, "bytes_up", json_integer((json_int_t)rec->bytes_up));
    json_object_set_new(o, "bytes_down", json_integer((json_int_t)rec->bytes_down));
    json_object_set_new(o, "duration_ms", json_real((double)(rec->duration_us / 10) / 100.0));
  }
  char *line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(6));
  json_decref(o);
  if (line) {
    fprintf(px->log, "%s\n", line);
    fflush(px->log);
    free(line);
  }
}
