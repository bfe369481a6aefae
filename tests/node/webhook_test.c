/* SPDX-License-Identifier: Apache-2.0 */
/* webhook_test.c - driver for tests/node/webhook_test.sh: starts a webhook
 * (node_webhook.h) from the command line, queues events, waits for their
 * outcome, stops it and prints the counters as one JSON line.  The checks
 * themselves are in the script and in the receiver it talks to
 * (webhook_receiver.py), which verifies every signature on its own.
 *
 * usage:
 *   webhook-test --url URL --secret-file FILE [--ca-file FILE]
 *                [--timeout-ms N] [--attempts N] [--type TYPE]
 *                [--payload JSON] [--count N] [--first-payload JSON]
 *                [--pause-ms N] [--wait-ms N] [--no-wait]
 *     Queues --first-payload (if given), sleeps --pause-ms, then queues
 *     --count copies of --payload (default {}), each with "seq": i added;
 *     waits until every event is delivered, failed or dropped (at most
 *     --wait-ms, default 30000; --no-wait: not at all), then stops.  Prints
 *     {"delivered":N,"failed":N,"dropped":N,"dropped_after_send":N,"stop_ms":N}.
 *     Exit 0, or 2 when the secret file or the config is refused (the
 *     reason on stderr).
 *   webhook-test --sign T BODY --secret-file FILE
 *     Prints al_webhook_sign()'s hex for timestamp T and BODY. */
#define _GNU_SOURCE
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "node_webhook.h"

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) < 0) {
  }
}

static json_t *parse_json(const char *text, const char *what) {
  json_error_t e;
  json_t *j = json_loads(text, JSON_DECODE_ANY, &e);
  if (j == NULL) {
    fprintf(stderr, "webhook-test: %s is not JSON: %s\n", what, e.text);
    exit(2);
  }
  return j;
}

int main(int argc, char **argv) {
  al_webhook_config cfg = {0};
  const char *secret_file = NULL, *type = "approval.requested", *payload_text = "{}", *first_text = NULL;
  const char *sign_t = NULL;
  long count = 1, pause_ms = 0, wait_ms = 30000;
  bool wait = true;
  static const struct option opts[] = {
      {"url", required_argument, NULL, 'u'},           {"secret-file", required_argument, NULL, 's'},
      {"ca-file", required_argument, NULL, 'c'},       {"timeout-ms", required_argument, NULL, 't'},
      {"attempts", required_argument, NULL, 'a'},      {"type", required_argument, NULL, 'y'},
      {"payload", required_argument, NULL, 'p'},       {"count", required_argument, NULL, 'n'},
      {"first-payload", required_argument, NULL, 'f'}, {"pause-ms", required_argument, NULL, 'P'},
      {"wait-ms", required_argument, NULL, 'w'},       {"no-wait", no_argument, NULL, 'W'},
      {"sign", required_argument, NULL, 'S'},          {NULL, 0, NULL, 0},
  };
  for (int o; (o = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
    switch (o) {
    case 'u': cfg.url = optarg; break;
    case 's': secret_file = optarg; break;
    case 'c': cfg.ca_file = optarg; break;
    case 't': cfg.timeout_ms = strtoll(optarg, NULL, 10); break;
    case 'a': cfg.max_attempts = atoi(optarg); break;
    case 'y': type = optarg; break;
    case 'p': payload_text = optarg; break;
    case 'n': count = strtol(optarg, NULL, 10); break;
    case 'f': first_text = optarg; break;
    case 'P': pause_ms = strtol(optarg, NULL, 10); break;
    case 'w': wait_ms = strtol(optarg, NULL, 10); break;
    case 'W': wait = false; break;
    case 'S': sign_t = optarg; break;
    default: fprintf(stderr, "webhook-test: bad arguments (see the comment at the top of webhook_test.c)\n"); return 2;
    }
  }
  if (secret_file == NULL) {
    fprintf(stderr, "webhook-test: --secret-file is required\n");
    return 2;
  }
  unsigned char *secret = NULL;
  size_t secret_len = 0;
  airlock_error *err = NULL;
  if (al_webhook_secret_load(secret_file, &secret, &secret_len, &err) < 0) {
    fprintf(stderr, "webhook-test: %s\n", err->msg);
    airlock_error_free(&err);
    return 2;
  }

  if (sign_t) {
    if (optind >= argc) {
      fprintf(stderr, "webhook-test: --sign T needs a BODY\n");
      return 2;
    }
    char hex[65];
    int rc = al_webhook_sign(secret, secret_len, strtoll(sign_t, NULL, 10), argv[optind], hex);
    al_webhook_secret_free(secret, secret_len);
    if (rc < 0)
      return 1;
    printf("%s\n", hex);
    return 0;
  }

  cfg.secret = secret;
  cfg.secret_len = secret_len;
  al_webhook *w = NULL;
  int rc = al_webhook_start(&cfg, &w, &err);
  al_webhook_secret_free(secret, secret_len); /* the webhook keeps its own copy */
  if (rc < 0) {
    fprintf(stderr, "webhook-test: %s\n", err->msg);
    airlock_error_free(&err);
    return 2;
  }

  long total = count;
  if (first_text) {
    al_webhook_send(w, type, parse_json(first_text, "--first-payload"));
    total++;
    sleep_ms(pause_ms);
  }
  json_t *proto = parse_json(payload_text, "--payload");
  for (long i = 0; i < count; i++) {
    json_t *p = json_is_object(proto) ? json_deep_copy(proto) : json_incref(proto);
    if (json_is_object(p))
      json_object_set_new(p, "seq", json_integer(i));
    al_webhook_send(w, type, p);
  }
  json_decref(proto);
  al_webhook_stats st;
  al_webhook_stats_get(w, &st);
  uint64_t dropped_after_send = st.dropped;

  int64_t until = mono_ms() + wait_ms;
  while (wait && mono_ms() < until) {
    al_webhook_stats_get(w, &st);
    if (st.delivered + st.failed + st.dropped >= (uint64_t)total)
      break;
    sleep_ms(20);
  }
  al_webhook_stats_get(w, &st);
  int64_t t0 = mono_ms();
  al_webhook_stop(w);
  int64_t stop_ms = mono_ms() - t0;
  printf("{\"delivered\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"dropped\":%" PRIu64 ",\"dropped_after_send\":%" PRIu64
         ",\"stop_ms\":%" PRId64 "}\n",
         st.delivered, st.failed, st.dropped, dropped_after_send, stop_ms);
  return 0;
}
