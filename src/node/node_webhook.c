/* SPDX-License-Identifier: Apache-2.0 */
/* node_webhook.c - signed webhook notifications (node_webhook.h).  It owns
 * the bounded event queue, the one worker thread that drains it with a
 * libcurl easy handle (loaded through curl_dl.h), the retry policy, the
 * HMAC signature of every attempt, and the checks on the URL and on the
 * secret file.  The node's event loop only formats an event and queues it:
 * a slow, dead or hostile receiver costs it nothing but queue space.
 *
 * What never leaves this file: the secret (wiped when freed, never
 * printed) and the URL's path and query, which for Slack, Discord and the
 * like are credentials themselves; log lines name only the host. */
#define _GNU_SOURCE
#include "node_webhook.h"
#include "node_log.h"
#include "clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "cleanup.h"
#include "curl_dl.h"
#include "error.h"

#define DEFAULT_TIMEOUT_MS 5000
#define MAX_TIMEOUT_MS 600000
#define DEFAULT_ATTEMPTS 4
#define MAX_ATTEMPTS 20
#define FIRST_BACKOFF_MS 500 /* then doubled: 0.5 s, 1 s, 2 s, ... */
#define MAX_BACKOFF_MS 30000
#define MAX_BODY (1u << 20) /* an event is a notification, not a transfer */
#define TYPE_MAX 64
#define SECRET_FILE_MAX 4096
#define POLL_SLICE_MS 200 /* how often a transfer looks at the stop deadline */

typedef struct {
  char type[TYPE_MAX + 1];
  char id[40]; /* "evt_" and 32 hex digits */
  char *body;  /* the whole JSON body, built by al_webhook_send */
} wh_event;

struct al_webhook {
  char *url;
  char *host; /* for log lines: never the path or the query */
  bool plain_http;
  unsigned char *secret;
  size_t secret_len;
  int64_t timeout_ms;
  int max_attempts;
  CURL *curl;
  CURLM *multi;     /* keeps the connection between deliveries */
  bool curl_global; /* curl_global_init() to undo */
  char errbuf[CURL_ERROR_SIZE];
  pthread_t thread;
  bool thread_started;

  /* shared with the worker, under mu */
  pthread_mutex_t mu;
  pthread_cond_t cv; /* CLOCK_MONOTONIC: an event queued, or stop */
  wh_event *queue;   /* ring of AL_WEBHOOK_QUEUE_MAX */
  size_t head, count;
  bool overflow_logged; /* until the queue next drains */
  bool stopping;
  int64_t deadline_ms; /* monotonic; set with stopping */
  al_webhook_stats stats;
};

/* --- signature ----------------------------------------------------------- */

static void mac_ctx_freep(EVP_MAC_CTX **c) { EVP_MAC_CTX_free(*c); }
static void mac_freep(EVP_MAC **m) { EVP_MAC_free(*m); }

int al_webhook_sign(const unsigned char *secret, size_t len, int64_t t, const char *body, char out_hex[65]) {
  static const unsigned char empty[1];
  out_hex[0] = '\0';
  char prefix[32];
  int plen = snprintf(prefix, sizeof(prefix), "%lld.", (long long)t);
  __attribute__((cleanup(mac_freep))) EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  __attribute__((cleanup(mac_ctx_freep))) EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
  if (ctx == NULL)
    return -1;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  unsigned char md[32];
  size_t mdlen = 0;
  if (EVP_MAC_init(ctx, len ? secret : empty, len, params) != 1 ||
      EVP_MAC_update(ctx, (const unsigned char *)prefix, (size_t)plen) != 1 ||
      EVP_MAC_update(ctx, (const unsigned char *)body, strlen(body)) != 1 ||
      EVP_MAC_final(ctx, md, &mdlen, sizeof(md)) != 1 || mdlen != sizeof(md))
    return -1;
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < sizeof(md); i++) {
    out_hex[2 * i] = hex[md[i] >> 4];
    out_hex[2 * i + 1] = hex[md[i] & 15];
  }
  out_hex[64] = '\0';
  return 0;
}

/* --- the secret file ----------------------------------------------------- */

void al_webhook_secret_free(unsigned char *secret, size_t len) {
  if (secret == NULL)
    return;
  explicit_bzero(secret, len);
  free(secret);
}

static void wipe_file_buf(unsigned char (*b)[SECRET_FILE_MAX + 1]) { explicit_bzero(*b, sizeof(*b)); }

int al_webhook_secret_load(const char *path, unsigned char **secret, size_t *len, airlock_error **err) {
  *secret = NULL;
  *len = 0;
  /* O_NONBLOCK: a FIFO planted at the path must not hang the node */
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    return al_err(err, errno, "webhook secret file %s", path);
  struct stat st;
  if (fstat(fd, &st) < 0)
    return al_err(err, errno, "webhook secret file %s", path);
  if (!S_ISREG(st.st_mode))
    return al_err(err, 0, "webhook secret file %s is not a regular file (mode %06o)", path, (unsigned)st.st_mode);
  uid_t euid = geteuid();
  if (st.st_uid != euid)
    return al_err(err, 0, "webhook secret file %s is owned by uid %u, not by uid %u that airlock runs as", path,
                  (unsigned)st.st_uid, (unsigned)euid);
  if (st.st_mode & 077)
    return al_err(err, 0, "webhook secret file %s has mode %04o: group and others must have no access (chmod 600 %s)",
                  path, (unsigned)(st.st_mode & 07777), path);
  __attribute__((cleanup(wipe_file_buf))) unsigned char buf[SECRET_FILE_MAX + 1];
  size_t n = 0;
  while (n < sizeof(buf)) {
    ssize_t r = read(fd, buf + n, sizeof(buf) - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return al_err(err, errno, "cannot read webhook secret file %s", path);
    if (r == 0)
      break;
    n += (size_t)r;
  }
  if (n > SECRET_FILE_MAX)
    return al_err(err, 0, "webhook secret file %s is larger than %d bytes", path, SECRET_FILE_MAX);
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
    n--;
  if (n < AL_WEBHOOK_SECRET_MIN)
    return al_err(err, 0, "webhook secret file %s holds %zu bytes; at least %d are needed", path, n,
                  AL_WEBHOOK_SECRET_MIN);
  if ((*secret = malloc(n)) == NULL)
    return al_err(err, ENOMEM, "webhook secret file %s", path);
  memcpy(*secret, buf, n);
  *len = n;
  return 0;
}

/* --- the URL ------------------------------------------------------------- */

/* Error messages quote the host, never the URL: its path may be a token. */
static int check_url(al_webhook *w, const char *url, airlock_error **err) {
  _cleanup_curl_url_ CURLU *u = al_curl()->url();
  if (u == NULL)
    return al_err(err, ENOMEM, "webhook URL");
  _cleanup_curl_str_ char *scheme = NULL;
  _cleanup_curl_str_ char *host = NULL;
  if (al_curl()->url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
      al_curl()->url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      al_curl()->url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0')
    return al_err(err, 0, "the webhook URL is not a valid http(s) URL with a host");
  if (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0)
    return al_err(err, 0, "the webhook URL must be https:// (it is %s://)", scheme);
  w->plain_http = strcmp(scheme, "http") == 0;
  /* libcurl resolves localhost to loopback itself, never through DNS */
  if (w->plain_http && strcasecmp(host, "localhost") != 0 && !al_curl_host_is_loopback(host))
    return al_err(err, 0,
                  "webhook URL to host '%s': plain http:// is only for loopback (127.0.0.1, [::1], localhost); "
                  "use https://",
                  host);
  if ((w->url = strdup(url)) == NULL || (w->host = strdup(host)) == NULL)
    return al_err(err, ENOMEM, "webhook URL");
  return 0;
}

/* --- the easy handle ----------------------------------------------------- */

static size_t discard_body(char *data, size_t size, size_t nmemb, void *ctx) {
  (void)data, (void)ctx;
  return size * nmemb;
}

#define SETOPT_WHO "webhook's HTTP client" /* in curl_dl.h's SETOPT_* messages */

static int configure(al_webhook *w, const char *ca_file, airlock_error **err) {
  CURL *h = w->curl;
  al_curl_common common = {.who = SETOPT_WHO,
                           .errbuf = w->errbuf,
                           .protocols = w->plain_http ? "http" : "https",
                           .user_agent = "airlock/" AIRLOCK_VERSION,
                           .connect_timeout_ms = (long)w->timeout_ms,
                           .tls = !w->plain_http,
                           .ca_file = ca_file};
  SETOPT_PTR(h, CURLOPT_URL, w->url);
  if (al_curl_setopt_common(h, &common, err) < 0)
    return -1;
  SETOPT_FN(h, CURLOPT_WRITEFUNCTION, discard_body);
  SETOPT_LONG(h, CURLOPT_TIMEOUT_MS, (long)w->timeout_ms);
  return 0;
}

/* --- delivery (the worker thread) ---------------------------------------- */

typedef enum { ATTEMPT_OK, ATTEMPT_RETRY, ATTEMPT_FAIL, ATTEMPT_STOPPED } attempt_result;

/* Errors that another attempt cannot fix (a certificate that does not
 * verify, a URL libcurl cannot use); everything else, such as a refused
 * connection, a reset or a timeout, is worth another try. */
static bool permanent(CURLcode rc) {
  switch (rc) {
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_URL_MALFORMAT:
  case CURLE_NOT_BUILT_IN:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_BAD_FUNCTION_ARGUMENT:
  case CURLE_UNKNOWN_OPTION: return true;
  default: return false;
  }
}

/* one printable line, whatever a library put into the text */
static void clean_line(char *s) {
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
    s[--n] = '\0';
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f)
      *s = '?';
}

static bool stop_due(al_webhook *w, int64_t *left_ms) {
  pthread_mutex_lock(&w->mu);
  bool stopping = w->stopping;
  int64_t deadline = w->deadline_ms;
  pthread_mutex_unlock(&w->mu);
  int64_t left = stopping ? deadline - al_monotonic_ms() : INT64_MAX;
  if (left_ms)
    *left_ms = left;
  return left <= 0;
}

static void slist_freep(struct curl_slist **l) {
  if (*l)
    al_curl()->slist_free_all(*l);
}

static void forget_request(al_webhook *w) {
  al_curl()->easy_setopt(w->curl, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
  al_curl()->easy_setopt(w->curl, CURLOPT_POSTFIELDS, (const char *)NULL);
}

static attempt_result attempt(al_webhook *w, const wh_event *ev, char *reason, size_t reason_len) {
  const al_curl_api *c = al_curl();
  char sig[65];
  int64_t t = (int64_t)time(NULL); /* per attempt: a retry is signed afresh */
  if (al_webhook_sign(w->secret, w->secret_len, t, ev->body, sig) < 0) {
    snprintf(reason, reason_len, "cannot compute the HMAC signature");
    return ATTEMPT_FAIL;
  }
  char h_event[32 + TYPE_MAX], h_id[64], h_sig[128];
  snprintf(h_event, sizeof(h_event), "X-Airlock-Event: %s", ev->type);
  snprintf(h_id, sizeof(h_id), "X-Airlock-Delivery: %s", ev->id);
  snprintf(h_sig, sizeof(h_sig), "X-Airlock-Signature: t=%lld,v1=%s", (long long)t, sig);
  const char *lines[] = {"Content-Type: application/json", h_event, h_id, h_sig,
                         "Expect:" /* no 100-continue round trip */};
  __attribute__((cleanup(slist_freep))) struct curl_slist *headers = NULL;
  for (size_t i = 0; i < AL_ARRAY_SIZE(lines); i++) {
    struct curl_slist *next = c->slist_append(headers, lines[i]);
    if (next == NULL) {
      snprintf(reason, reason_len, "out of memory");
      return ATTEMPT_RETRY;
    }
    headers = next;
  }
  /* the handle points at headers and body only for this attempt */
  if (c->easy_setopt(w->curl, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
      c->easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(ev->body)) != CURLE_OK ||
      c->easy_setopt(w->curl, CURLOPT_POSTFIELDS, ev->body) != CURLE_OK) {
    forget_request(w);
    snprintf(reason, reason_len, "cannot set up the request");
    return ATTEMPT_FAIL;
  }
  w->errbuf[0] = '\0';
  if (c->multi_add_handle(w->multi, w->curl) != CURLM_OK) {
    forget_request(w);
    snprintf(reason, reason_len, "cannot start the request");
    return ATTEMPT_RETRY;
  }
  bool stopped = false, done = false;
  CURLcode rc = CURLE_OK;
  while (!done) {
    int running = 0;
    if (c->multi_perform(w->multi, &running) != CURLM_OK) {
      rc = CURLE_FAILED_INIT;
      break;
    }
    int left_msgs = 0;
    for (CURLMsg *m; (m = c->multi_info_read(w->multi, &left_msgs)) != NULL;)
      if (m->msg == CURLMSG_DONE && m->easy_handle == w->curl) {
        rc = m->data.result;
        done = true;
      }
    if (done || running == 0)
      break;
    int64_t left = 0;
    if (stop_due(w, &left)) {
      stopped = true;
      break;
    }
    c->multi_poll(w->multi, NULL, 0, (int)(left < POLL_SLICE_MS ? left : POLL_SLICE_MS), NULL);
  }
  long status = 0;
  if (!stopped && rc == CURLE_OK)
    c->easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status);
  c->multi_remove_handle(w->multi, w->curl); /* the connection stays in the multi's cache */
  forget_request(w);

  if (stopped) {
    snprintf(reason, reason_len, "abandoned: the node is stopping");
    return ATTEMPT_STOPPED;
  }
  if (rc != CURLE_OK) {
    clean_line(w->errbuf);
    snprintf(reason, reason_len, "%s", w->errbuf[0] ? w->errbuf : c->easy_strerror(rc));
    return permanent(rc) ? ATTEMPT_FAIL : ATTEMPT_RETRY;
  }
  if (status >= 200 && status < 300)
    return ATTEMPT_OK;
  if (status >= 300 && status < 400) {
    snprintf(reason, reason_len, "HTTP %ld (redirects are not followed)", status);
    return ATTEMPT_FAIL;
  }
  snprintf(reason, reason_len, "HTTP %ld", status);
  return status == 429 || status >= 500 || status < 100 ? ATTEMPT_RETRY : ATTEMPT_FAIL;
}

/* Waits ms unless the stop's deadline comes first; false if it does (or
 * would: waiting past it is pointless). */
static bool backoff(al_webhook *w, int64_t ms) {
  int64_t wake = al_monotonic_ms() + ms;
  bool ok = true;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    if (w->stopping && w->deadline_ms <= wake) {
      ok = false;
      break;
    }
    int64_t now = al_monotonic_ms();
    if (now >= wake)
      break;
    struct timespec ts = {.tv_sec = wake / 1000, .tv_nsec = (wake % 1000) * 1000000};
    pthread_cond_timedwait(&w->cv, &w->mu, &ts);
  }
  pthread_mutex_unlock(&w->mu);
  return ok;
}

static bool deliver(al_webhook *w, const wh_event *ev) {
  char reason[CURL_ERROR_SIZE + 64] = "";
  for (int n = 1;; n++) {
    attempt_result r = attempt(w, ev, reason, sizeof(reason));
    if (r == ATTEMPT_OK)
      return true;
    if (r == ATTEMPT_RETRY && n < w->max_attempts) {
      int64_t ms = FIRST_BACKOFF_MS;
      for (int i = 1; i < n && ms < MAX_BACKOFF_MS; i++)
        ms *= 2;
      if (backoff(w, ms < MAX_BACKOFF_MS ? ms : MAX_BACKOFF_MS))
        continue;
      snprintf(reason + strlen(reason), sizeof(reason) - strlen(reason), "; then abandoned: the node is stopping");
    }
    al_logf(AL_LOG_WARN, "webhook to %s: event %s (%s) not delivered after %d attempt%s: %s", w->host,
            ev->id, ev->type, n, n == 1 ? "" : "s", reason);
    return false;
  }
}

static void *worker(void *arg) {
  al_webhook *w = arg;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (w->count == 0 && !w->stopping)
      pthread_cond_wait(&w->cv, &w->mu);
    if (w->count == 0 || (w->stopping && al_monotonic_ms() >= w->deadline_ms))
      break;
    wh_event ev = w->queue[w->head];
    w->queue[w->head].body = NULL;
    w->head = (w->head + 1) % AL_WEBHOOK_QUEUE_MAX;
    if (--w->count == 0)
      w->overflow_logged = false;
    pthread_mutex_unlock(&w->mu);
    bool ok = deliver(w, &ev);
    free(ev.body);
    pthread_mutex_lock(&w->mu);
    if (ok)
      w->stats.delivered++;
    else
      w->stats.failed++;
  }
  size_t left = w->count;
  for (; w->count > 0; w->count--) {
    free(w->queue[w->head].body);
    w->queue[w->head].body = NULL;
    w->head = (w->head + 1) % AL_WEBHOOK_QUEUE_MAX;
  }
  w->stats.dropped += left;
  pthread_mutex_unlock(&w->mu);
  if (left)
    al_logf(AL_LOG_WARN, "webhook to %s: %zu queued event(s) dropped: the node is stopping", w->host, left);
  return NULL;
}

/* --- the caller's side --------------------------------------------------- */

static bool type_ok(const char *t) {
  size_t n = t ? strlen(t) : 0;
  if (n == 0 || n > TYPE_MAX)
    return false;
  return strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static void count_failed(al_webhook *w) {
  pthread_mutex_lock(&w->mu);
  w->stats.failed++;
  pthread_mutex_unlock(&w->mu);
}

void al_webhook_send(al_webhook *w, const char *event_type, json_t *payload) {
  if (w == NULL) {
    json_decref(payload);
    return;
  }
  if (!type_ok(event_type)) {
    json_decref(payload);
    al_logf(AL_LOG_WARN, "webhook to %s: event not sent: its type is not 1 to %d of [A-Za-z0-9._-]", w->host,
            TYPE_MAX);
    count_failed(w);
    return;
  }
  wh_event ev = {0};
  snprintf(ev.type, sizeof(ev.type), "%s", event_type);
  unsigned char r[16];
  if (RAND_bytes(r, sizeof(r)) != 1) {
    json_decref(payload);
    al_logf(AL_LOG_WARN, "webhook to %s: event not sent: no random bytes for its id", w->host);
    count_failed(w);
    return;
  }
  memcpy(ev.id, "evt_", 4);
  for (size_t i = 0; i < sizeof(r); i++)
    snprintf(ev.id + 4 + 2 * i, 3, "%02x", r[i]);

  json_auto_t *data = payload ? payload : json_null();
  json_auto_t *env = json_object();
  /* json_object_set_new() takes the value even when it fails */
  if (env == NULL || json_object_set_new(env, "type", json_string(ev.type)) < 0 ||
      json_object_set_new(env, "id", json_string(ev.id)) < 0 ||
      json_object_set_new(env, "created_at_ms", json_integer((json_int_t)al_wall_ms())) < 0 ||
      json_object_set_new(env, "data", AL_STEAL(data)) < 0) {
    count_failed(w);
    return;
  }
  ev.body = json_dumps(env, JSON_COMPACT);
  if (ev.body == NULL || strlen(ev.body) > MAX_BODY) {
    al_logf(AL_LOG_WARN, "webhook to %s: event %s (%s) not sent: %s", w->host, ev.id, ev.type,
            ev.body ? "its body is over 1 MiB" : "its payload cannot be encoded as JSON");
    free(ev.body);
    count_failed(w);
    return;
  }

  char *dropped_body = NULL;
  bool log_overflow = false;
  pthread_mutex_lock(&w->mu);
  if (w->count == AL_WEBHOOK_QUEUE_MAX) { /* drop the oldest: the newest is the most relevant */
    dropped_body = w->queue[w->head].body;
    w->queue[w->head].body = NULL;
    w->head = (w->head + 1) % AL_WEBHOOK_QUEUE_MAX;
    w->count--;
    w->stats.dropped++;
    log_overflow = !w->overflow_logged;
    w->overflow_logged = true;
  }
  w->queue[(w->head + w->count) % AL_WEBHOOK_QUEUE_MAX] = ev;
  w->count++;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  free(dropped_body);
  if (log_overflow)
    al_logf(AL_LOG_WARN,
            "webhook to %s: %d events queued; dropping the oldest (the receiver is slow or down)",
            w->host, AL_WEBHOOK_QUEUE_MAX);
}

void al_webhook_stats_get(al_webhook *w, al_webhook_stats *out) {
  memset(out, 0, sizeof(*out));
  if (w == NULL)
    return;
  pthread_mutex_lock(&w->mu);
  *out = w->stats;
  pthread_mutex_unlock(&w->mu);
}

/* --- start and stop ------------------------------------------------------ */

static void release(al_webhook *w) {
  if (w->queue) {
    for (size_t i = 0; i < AL_WEBHOOK_QUEUE_MAX; i++)
      free(w->queue[i].body);
    free(w->queue);
  }
  if (w->multi)
    al_curl()->multi_cleanup(w->multi);
  if (w->curl)
    al_curl()->easy_cleanup(w->curl);
  if (w->curl_global)
    al_curl()->global_cleanup();
  al_webhook_secret_free(w->secret, w->secret_len);
  free(w->url);
  free(w->host);
  pthread_cond_destroy(&w->cv);
  pthread_mutex_destroy(&w->mu);
  free(w);
}

void al_webhook_stop(al_webhook *w) {
  if (w == NULL)
    return;
  if (w->thread_started) {
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    w->deadline_ms = al_monotonic_ms() + AL_WEBHOOK_STOP_GRACE_MS;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
  }
  release(w);
}

static void webhook_stopp(al_webhook **w) { al_webhook_stop(*w); }

int al_webhook_start(const al_webhook_config *cfg, al_webhook **out, airlock_error **err) {
  *out = NULL;
  if (cfg == NULL || cfg->url == NULL || cfg->url[0] == '\0')
    return al_err(err, 0, "no webhook URL");
  if (cfg->secret == NULL || cfg->secret_len < AL_WEBHOOK_SECRET_MIN)
    return al_err(err, 0, "the webhook secret must be at least %d bytes", AL_WEBHOOK_SECRET_MIN);
  int64_t timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
  int attempts = cfg->max_attempts > 0 ? cfg->max_attempts : DEFAULT_ATTEMPTS;
  if (timeout_ms > MAX_TIMEOUT_MS)
    return al_err(err, 0, "webhook timeout %lld ms is above the maximum of %d", (long long)timeout_ms, MAX_TIMEOUT_MS);
  if (attempts > MAX_ATTEMPTS)
    return al_err(err, 0, "webhook max_attempts %d is above the maximum of %d", attempts, MAX_ATTEMPTS);
  if (al_curl_load(err) == NULL)
    return al_err_prefix(err, "webhook");

  al_webhook *raw = calloc(1, sizeof(*raw));
  if (raw == NULL)
    return al_err(err, ENOMEM, "cannot allocate the webhook");
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&raw->cv, &ca);
  pthread_condattr_destroy(&ca);
  pthread_mutex_init(&raw->mu, NULL);
  __attribute__((cleanup(webhook_stopp))) al_webhook *w = raw;
  w->timeout_ms = timeout_ms;
  w->max_attempts = attempts;

  if (check_url(w, cfg->url, err) < 0)
    return -1;
  if (cfg->ca_file && w->plain_http)
    return al_err(err, 0, "a webhook CA file was given but the URL to host '%s' is not https://", w->host);
  if (cfg->ca_file && access(cfg->ca_file, R_OK) < 0)
    return al_err(err, errno, "webhook CA file %s", cfg->ca_file);
  if ((w->secret = malloc(cfg->secret_len)) == NULL ||
      (w->queue = calloc(AL_WEBHOOK_QUEUE_MAX, sizeof(wh_event))) == NULL)
    return al_err(err, ENOMEM, "cannot allocate the webhook");
  memcpy(w->secret, cfg->secret, cfg->secret_len);
  w->secret_len = cfg->secret_len;

  CURLcode rc = al_curl()->global_init(CURL_GLOBAL_DEFAULT); /* reference counted */
  if (rc != CURLE_OK)
    return al_err(err, 0, "cannot initialize libcurl: %s", al_curl()->easy_strerror(rc));
  w->curl_global = true;
  if ((w->curl = al_curl()->easy_init()) == NULL || (w->multi = al_curl()->multi_init()) == NULL)
    return al_err(err, 0, "cannot initialize libcurl for the webhook");
  if (configure(w, cfg->ca_file, err) < 0)
    return -1;

  /* the worker takes no signal: the node's event loop handles them */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int e = pthread_create(&w->thread, NULL, worker, w);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (e != 0)
    return al_err(err, e, "cannot start the webhook thread");
  w->thread_started = true;
  pthread_setname_np(w->thread, "airlock-webhook");
  *out = AL_STEAL(w);
  return 0;
}
