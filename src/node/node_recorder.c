/* SPDX-License-Identifier: Apache-2.0 */
/* node_recorder.c - the node's recorder: a child process that writes the
 * audit trail and delivers the approval webhook, so that the node itself
 * stays single-threaded.
 *
 * Why a process and not threads: sandboxes are made with a raw clone3(),
 * which, unlike glibc's fork(), does not take malloc's locks first.  If a
 * thread of the node (the audit writer committing a batch, libcurl sending a
 * webhook) held an allocator lock at that instant, the sandbox's init would
 * inherit it locked and hang at its first allocation: an exec that never
 * starts.  The recorder is made with fork() before any sandbox and runs the
 * threaded audit writer (audit.h) and webhook sender (node_webhook.h) where
 * no clone3() ever happens.
 *
 * The node sends frames on a socketpair: a 4-byte length and a type byte,
 * then the payload (a record's JSON, or an event type and its JSON).  Only
 * FLUSH and STATS are answered; the node waits for those answers, which the
 * recorder gives after the audit writer's group commit. */
#define _GNU_SOURCE
#include "node.h"
#include "child.h"
#include "clock.h"
#include "audit.h"
#include "cleanup.h"
#include "error.h"
#include "redact.h"
#include "node_webhook.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

enum { FRAME_AUDIT = 1, FRAME_WEBHOOK, FRAME_FLUSH, FRAME_STATS, FRAME_READY };

#define FRAME_MAX (16u << 20) /* a record is far smaller; anything larger is a bug */
#define STATS_EVERY_MS 100    /* how stale the backlog figure may be */

static int write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

static int read_all(int fd, void *buf, size_t len) {
  char *p = buf;
  while (len) {
    ssize_t r = read(fd, p, len);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return -1;
    p += r;
    len -= (size_t)r;
  }
  return 0;
}

static int send_frame(int fd, uint8_t type, const void *a, size_t alen, const void *b, size_t blen) {
  uint32_t len = (uint32_t)(alen + blen);
  char head[5];
  memcpy(head, &len, 4);
  head[4] = (char)type;
  if (write_all(fd, head, 5) < 0 || (alen && write_all(fd, a, alen) < 0) || (blen && write_all(fd, b, blen) < 0))
    return -1;
  return 0;
}

/* a frame, its payload malloc'd and NUL-terminated; -1 at EOF or on error */
static int recv_frame(int fd, uint8_t *type, char **payload, uint32_t *len) {
  char head[5];
  if (read_all(fd, head, 5) < 0)
    return -1;
  memcpy(len, head, 4);
  *type = (uint8_t)head[4];
  if (*len > FRAME_MAX || !(*payload = malloc(*len + 1)))
    return -1;
  if (read_all(fd, *payload, *len) < 0) {
    free(*payload);
    return -1;
  }
  (*payload)[*len] = '\0';
  return 0;
}

/* --- the recorder process ------------------------------------------------ */

typedef struct {
  const char *state_dir;
  bool audit;
  const char *webhook_url;
  unsigned char *secret;
  size_t secret_len;
} recorder_cfg;

static void ready(int fd, int rc, const char *msg) {
  send_frame(fd, FRAME_READY, &rc, sizeof(rc), msg, msg ? strlen(msg) : 0);
}

static __attribute__((noreturn)) void recorder_main(int fd, const recorder_cfg *rc) {
  prctl(PR_SET_NAME, "airlock-record");
  /* the node's signals are the node's: a SIGTERM to the group must not cut
   * the trail short; the recorder ends when the node closes its socket */
  signal(SIGTERM, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  airlock_error *err = NULL;
  al_audit_writer *w = NULL;
  al_webhook *wh = NULL;
  if (rc->audit && al_audit_writer_start(rc->state_dir, &w, &err) < 0) {
    ready(fd, -1, err->msg);
    _exit(1);
  }
  if (rc->webhook_url) {
    al_webhook_config wc = {.url = rc->webhook_url, .secret = rc->secret, .secret_len = rc->secret_len};
    int r = al_webhook_start(&wc, &wh, &err);
    al_webhook_secret_free(rc->secret, rc->secret_len);
    if (r < 0) {
      al_err_prefix(&err, "approvalGating.webhook");
      ready(fd, -1, err->msg);
      _exit(1);
    }
  }
  ready(fd, 0, NULL);
  uint8_t type;
  char *payload;
  uint32_t len;
  while (recv_frame(fd, &type, &payload, &len) == 0) {
    if (type == FRAME_AUDIT && w) {
      json_t *rec = json_loadb(payload, len, 0, NULL);
      if (rec)
        al_audit_writer_submit(w, rec);
    } else if (type == FRAME_WEBHOOK && wh) {
      size_t tlen = strnlen(payload, len);
      json_t *data = tlen < len ? json_loadb(payload + tlen + 1, len - tlen - 1, 0, NULL) : NULL;
      if (data)
        al_webhook_send(wh, payload, data);
    } else if (type == FRAME_FLUSH) {
      int r = w ? al_audit_writer_flush(w) : 0;
      send_frame(fd, FRAME_FLUSH, &r, sizeof(r), NULL, 0);
    } else if (type == FRAME_STATS) {
      al_audit_writer_stats st = {0};
      if (w)
        al_audit_writer_stats_get(w, &st);
      send_frame(fd, FRAME_STATS, &st, sizeof(st), NULL, 0);
    }
    free(payload);
  }
  /* the node is gone or stopping: everything it sent is written first */
  al_webhook_stop(wh);
  al_audit_writer_stop(w);
  _exit(0);
}

/* --- the node's side ------------------------------------------------------ */

int al_recorder_start(al_node *n, airlock_error **err) {
  n->recorder_fd = -1;
  n->recorder_pid = -1;
  bool audit = n->cfg->audit_enabled;
  const al_policy *pol = &n->cfg->policy;
  if (!audit && !pol->webhook_url)
    return 0;
  recorder_cfg rc = {.state_dir = n->cfg->state_dir, .audit = audit, .webhook_url = pol->webhook_url};
  /* the secret is read here, so that a bad file stops the node with its own message */
  if (pol->webhook_url && al_webhook_secret_load(pol->webhook_secret_file, &rc.secret, &rc.secret_len, err) < 0)
    return al_err_prefix(err, "approvalGating.webhook.secretFile");
  if (rc.secret)
    al_redact_add_known(rc.secret, rc.secret_len); /* the node's own secret: never in a record */
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
    al_webhook_secret_free(rc.secret, rc.secret_len);
    return al_err(err, errno, "recorder socket");
  }
  fflush(NULL);
  pid_t pid = fork(); /* glibc's fork: the child's allocator is consistent */
  if (pid < 0) {
    al_webhook_secret_free(rc.secret, rc.secret_len);
    close(sv[0]);
    close(sv[1]);
    return al_err(err, errno, "cannot start the recorder process");
  }
  if (pid == 0) {
    /* nothing of the node's but this socket and stdio */
    if (dup2(sv[1], 3) < 0)
      _exit(1);
    close_range(4, ~0U, 0);
    recorder_main(3, &rc);
  }
  al_webhook_secret_free(rc.secret, rc.secret_len);
  close(sv[1]);
  n->recorder_fd = sv[0];
  n->recorder_pid = pid;
  uint8_t type = 0;
  char *payload = NULL;
  uint32_t len = 0;
  int r = -1;
  if (recv_frame(n->recorder_fd, &type, &payload, &len) < 0 || type != FRAME_READY || len < sizeof(int)) {
    al_err(err, 0, "the recorder process did not start");
  } else {
    memcpy(&r, payload, sizeof(r));
    if (r < 0)
      al_err(err, 0, "%s", payload + sizeof(int));
  }
  free(payload);
  if (r < 0) {
    al_recorder_stop(n);
    return -1;
  }
  return 0;
}

static void lost(al_node *n) {
  if (n->recorder_fd >= 0)
    al_logf(AL_LOG_ERROR, "the recorder process is gone; audit records and webhooks are not written");
  if (n->recorder_fd >= 0)
    close(n->recorder_fd);
  n->recorder_fd = -1;
}

bool al_recorder_audit_on(const al_node *n) { return n->cfg->audit_enabled && n->recorder_fd >= 0; }

void al_recorder_audit(al_node *n, json_t *rec) {
  if (n->recorder_fd >= 0 && n->cfg->audit_enabled) {
    /* the event's time, not the time the recorder reads it */
    if (!json_object_get(rec, "ts_ms"))
      json_object_set_new(rec, "ts_ms", json_integer(al_wall_ms()));
    char *text = json_dumps(rec, JSON_COMPACT);
    if (text && send_frame(n->recorder_fd, FRAME_AUDIT, text, strlen(text), NULL, 0) < 0)
      lost(n);
    else if (text)
      n->recorder_sent++;
    free(text);
  }
  json_decref(rec);
}

void al_recorder_webhook(al_node *n, const char *type, json_t *payload) {
  if (n->recorder_fd >= 0 && n->cfg->policy.webhook_url && payload) {
    char *text = json_dumps(payload, JSON_COMPACT);
    if (text && send_frame(n->recorder_fd, FRAME_WEBHOOK, type, strlen(type) + 1, text, strlen(text)) < 0)
      lost(n);
    free(text);
  }
  json_decref(payload);
}

int al_recorder_flush(al_node *n) {
  if (n->recorder_fd < 0)
    return n->cfg->audit_enabled ? -1 : 0;
  uint8_t type;
  char *payload = NULL;
  uint32_t len;
  int r = -1;
  if (send_frame(n->recorder_fd, FRAME_FLUSH, NULL, 0, NULL, 0) < 0 ||
      recv_frame(n->recorder_fd, &type, &payload, &len) < 0 || type != FRAME_FLUSH || len != sizeof(int))
    lost(n);
  else
    memcpy(&r, payload, sizeof(r));
  free(payload);
  return r;
}

uint64_t al_recorder_backlog(al_node *n) {
  if (n->recorder_fd < 0 || !n->cfg->audit_enabled)
    return 0;
  int64_t now = al_monotonic_ms();
  if (now - n->recorder_stats_ms < STATS_EVERY_MS)
    return n->recorder_backlog;
  n->recorder_stats_ms = now;
  uint8_t type;
  char *payload = NULL;
  uint32_t len;
  al_audit_writer_stats st;
  if (send_frame(n->recorder_fd, FRAME_STATS, NULL, 0, NULL, 0) < 0 ||
      recv_frame(n->recorder_fd, &type, &payload, &len) < 0 || type != FRAME_STATS || len != sizeof(st)) {
    lost(n);
  } else {
    memcpy(&st, payload, sizeof(st));
    n->recorder_backlog = st.submitted - st.written - st.lost;
    n->recorder_written = st.written;
    n->recorder_lost = st.lost;
    n->recorder_oldest_ms = st.oldest_wait_ms;
  }
  free(payload);
  return n->recorder_backlog;
}

void al_recorder_stop(al_node *n) {
  if (n->recorder_fd >= 0)
    close(n->recorder_fd); /* EOF: the recorder writes what it has and exits */
  n->recorder_fd = -1;
  if (n->recorder_pid > 0)
    al_child_wait(n->recorder_pid, NULL, 0);
  n->recorder_pid = -1;
}
