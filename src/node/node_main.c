/* SPDX-License-Identifier: Apache-2.0 */
/* node_main.c - the node's life: prepare the state directory (refusing one
 * that others can read), open the token store and the state database
 * (recovering from a crash), check that sandboxes can be made with every
 * limit (fail closed), listen, keep the pool warm, tell systemd or a ready
 * file when serving, and on SIGTERM stop accepting, kill every sandbox and
 * exit once the kernel has confirmed they are gone. */
#define _GNU_SOURCE
#include "isolation.h"
#include "node.h"
#include "clock.h"
#include "cgroup.h"
#include "cleanup.h"
#include "error.h"
#include "statedir.h"
#include "tokens.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int airlock_node_run(al_node_config *cfg, airlock_error **err);

/* systemd's notification protocol: one datagram to $NOTIFY_SOCKET (nothing
 * when the node does not run under a Type=notify unit) */
static void sd_notify_msg(const char *msg) {
  const char *path = getenv("NOTIFY_SOCKET");
  if (!path || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
    return;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  memcpy(sa.sun_path, path, strlen(path));
  if (sa.sun_path[0] == '@')
    sa.sun_path[0] = '\0';
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return;
  sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
         (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path)));
  close(fd);
}

/* WatchdogSec= of the unit, for this process: 0 when there is none.  The
 * node answers from its once-a-second tick, so a watchdog shorter than 2 s
 * is not kept. */
static int64_t watchdog_usec(void) {
  const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
  if (!usec || (pid && strtol(pid, NULL, 10) != (long)getpid()))
    return 0;
  long long v = strtoll(usec, NULL, 10);
  return v > 0 ? (int64_t)v : 0;
}

/* STATUS= for systemctl status: what the node holds now; sent when it changes */
static void notify_status(al_node *n, const char *extra) {
  static char last[160];
  char msg[sizeof(last)];
  snprintf(msg, sizeof(msg), "STATUS=%s%lld sandbox(es), %lld exec(s) running%s%s", n->stopping ? "stopping: " : "",
           (long long)n->n_sboxes, (long long)n->running, extra ? "\n" : "", extra ? extra : "");
  if (strcmp(msg, last) == 0 && !extra)
    return;
  snprintf(last, sizeof(last), "%s", msg);
  sd_notify_msg(msg);
}

static void notify_ready(al_node *n) {
  if (n->cfg->ready_file) {
    int fd = open(n->cfg->ready_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
      dprintf(fd, "%d\n", (int)getpid());
      close(fd);
    }
  }
  char extra[64];
  snprintf(extra, sizeof(extra), "READY=1\nMAINPID=%d", (int)getpid());
  notify_status(n, extra);
}

static void on_tick(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  al_node *n = arg;
  al_node_sbox_tick(n);
  /* the watchdog is fed from the loop itself: a node stuck in a handler
   * misses it and systemd restarts it */
  if (watchdog_usec() >= 2000000)
    sd_notify_msg("WATCHDOG=1");
  notify_status(n, NULL);
  if (n->stopping && n->sboxes == NULL)
    event_base_loopexit(n->base, NULL);
}

static void on_stop(evutil_socket_t sig, short what, void *arg) {
  (void)what;
  al_node *n = arg;
  if (n->stopping) {
    event_base_loopexit(n->base, NULL);
    return;
  }
  al_logf(AL_LOG_INFO, "%s: stopping; killing %lld sandbox(es)", strsignal((int)sig), (long long)n->n_sboxes);
  n->stopping = true;
  notify_status(n, "STOPPING=1");
  al_node_openclaw_stop(n); /* no new invokes; running ones die with their sandboxes */
  al_node_policy_drain(n);
  for (al_sbox *sb = n->sboxes; sb; sb = sb->next)
    al_node_sbox_destroy(n, sb);
  if (!n->sboxes)
    event_base_loopexit(n->base, NULL);
}

/* One sandbox with the default spec, made and destroyed before serving: if
 * a limit cannot be applied this fails here, not on the first request. */
static int probe(al_node *n, airlock_error **err) {
  al_box b;
  if (al_isolation_box_start(&b, &n->cfg->sandbox, err) < 0)
    return al_err_prefix(err, "cannot make sandboxes with the configured limits");
  if (b.info.degraded_note)
    n->degraded = strdup(b.info.degraded_note);
  /* wait for the agent: a failure inside the sandbox's own setup (a bad
   * cwd, an unusable image) must stop the node here too */
  int rc = -1;
  for (int64_t deadline = al_monotonic_ms() + 10000; al_monotonic_ms() < deadline && rc < 0;) {
    struct pollfd pfd = {al_box_sock(&b), POLLIN, 0};
    poll(&pfd, 1, 100);
    al_status_msg m;
    int r;
    while (rc < 0 && (r = al_box_read(&b, &m)) > 0) {
      if (m.kind == AL_MSG_READY)
        rc = 0;
      else if (m.kind == AL_MSG_SETUP_ERROR)
        rc = al_err(err, 0, "a test sandbox failed to start: %s", m.text);
    }
    if (rc < 0 && *err)
      break;
    if (r < 0 && rc < 0) {
      rc = al_err(err, 0, "a test sandbox ended during setup");
      break;
    }
  }
  if (rc < 0 && !*err)
    al_err(err, 0, "a test sandbox did not become ready within 10 s");
  al_box_kill(&b);
  al_box_free(&b);
  return rc;
}

int airlock_node_run(al_node_config *cfg, airlock_error **err) {
  al_log_setup(cfg->log_format, cfg->log_level);
  if (al_node_config_finish(cfg, err) < 0)
    return -1;
  if (al_state_dir_prepare(cfg->state_dir, true, err) < 0)
    return -1;
  al_node n;
  memset(&n, 0, sizeof(n));
  n.recorder_fd = n.recorder_pid = -1;
  n.ws_root_fd = n.ws_dir_fd = n.snap_dir_fd = -1;
  n.cfg = cfg;
  /* the layers below call up only through these (node.h) */
  n.sbox_events = (al_sbox_events){.agent_msg = al_node_exec_agent_msg,
                                   .ready = al_node_exec_sandbox_ready,
                                   .died = al_node_exec_sandbox_died,
                                   .forget = al_node_exec_forget_sandbox};
  n.exec_resume = al_node_exec_start;
  int rc = -1;
  /* one node per state directory: a second would recover (and undo) the
   * first one's live state */
  char lock_path[4096];
  snprintf(lock_path, sizeof(lock_path), "%s/node.lock", cfg->state_dir);
  _cleanup_close_ int lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) < 0) {
    int e = errno;
    return al_err(err, e == EWOULDBLOCK ? 0 : e, e == EWOULDBLOCK ? "another airlock node is running on %s" : "lock %s",
                  e == EWOULDBLOCK ? cfg->state_dir : lock_path);
  }
  signal(SIGPIPE, SIG_IGN);
  al_cgroup_gc();
  /* the directories the node works in, opened once: tenants' workspaces
   * are opened below workspace_root's descriptor, node-made ones are made
   * and removed below the workspaces directory's (node_fs.c) */
  if (cfg->workspace_root &&
      al_fs_open_root("workspace_root", cfg->workspace_root, &n.ws_root_fd, &cfg->workspace_root, err) < 0)
    return -1;
  if (asprintf(&n.ws_dir, "%s.workspaces", cfg->state_dir) < 0) {
    n.ws_dir = NULL;
    al_err(err, ENOMEM, "the workspaces directory");
  }
  if (!n.ws_dir || al_fs_workspaces_open(n.ws_dir, &n.ws_dir_fd, err) < 0 ||
      al_token_store_open(cfg->state_dir, true, &n.tokens, err) < 0) {
    if (n.ws_root_fd >= 0)
      close(n.ws_root_fd);
    if (n.ws_dir_fd >= 0)
      close(n.ws_dir_fd);
    free(n.ws_dir);
    return -1;
  }
  if (al_state_open(&n, err) < 0 || al_node_snapshots_start(&n, err) < 0)
    goto out;
  if (probe(&n, err) < 0)
    goto out;
  if (!(n.base = event_base_new())) {
    al_err(err, 0, "cannot create the event loop");
    goto out;
  }
  if (al_node_audit_start(&n, err) < 0 || al_node_policy_start(&n, err) < 0)
    goto out;
  if (al_node_http_start(&n, err) < 0 || al_node_openclaw_start(&n, err) < 0)
    goto out;
  n.ev_sigterm = evsignal_new(n.base, SIGTERM, on_stop, &n);
  n.ev_sigint = evsignal_new(n.base, SIGINT, on_stop, &n);
  event_add(n.ev_sigterm, NULL);
  event_add(n.ev_sigint, NULL);
  n.ev_tick = event_new(n.base, -1, EV_PERSIST, on_tick, &n);
  struct timeval second = {1, 0};
  event_add(n.ev_tick, &second);
  al_node_pool_fill(&n);
  {
    char listening[1024] = "";
    for (size_t i = 0, off = 0; i < cfg->n_listen && off < sizeof(listening); i++)
      off += (size_t)snprintf(listening + off, sizeof(listening) - off, " %s", cfg->listen[i]);
    al_logf(AL_LOG_INFO, "serving on%s%s%s", listening, n.degraded ? "; degraded: " : "", n.degraded ? n.degraded : "");
  }
  notify_ready(&n);
  event_base_dispatch(n.base);
  rc = 0;
out:
  al_node_jobs_wait(&n);     /* copies in their processes end before their sandboxes go */
  al_node_openclaw_stop(&n); /* before the execs end: their callbacks point into it */
  /* anything still alive dies with us (sandboxes also have PDEATHSIG) */
  for (al_sbox *sb = n.sboxes; sb; sb = sb->next)
    al_box_kill(&sb->box);
  while (n.sboxes) {
    al_sbox *sb = n.sboxes;
    event_del(sb->ev_sock);
    al_node_exec_sandbox_died(&n, sb);
    n.sboxes = sb->next;
    al_box_free(&sb->box);
    if (sb->ws_fd >= 0)
      close(sb->ws_fd);
    if (sb->owned_workspace) /* its files go at the next start (recovery); its tmpfs's memory now */
      al_fs_workspace_unmount(n.ws_dir_fd, strrchr(sb->owned_workspace, '/') + 1);
    free(sb->workspace);
    free(sb->owned_workspace);
    if (sb->labels)
      json_decref(sb->labels);
    if (sb->ev_sock)
      event_free(sb->ev_sock);
    if (sb->ev_death)
      event_free(sb->ev_death);
    free(sb);
  }
  while (n.execs) {
    al_exec *e = n.execs;
    n.execs = e->next;
    al_node_exec_free(e);
  }
  while (n.tenants) {
    al_tenant *t = n.tenants;
    n.tenants = t->next;
    free(t);
  }
  al_node_policy_stop(&n);
  al_node_http_stop(&n);
  al_node_gate_stop(&n);
  al_node_ui_free(&n);
  al_node_audit_stop(&n); /* after the last record: execs above may have ended */
  if (n.ev_tick)
    event_free(n.ev_tick);
  if (n.ev_refill)
    event_free(n.ev_refill);
  if (n.ev_sigterm)
    event_free(n.ev_sigterm);
  if (n.ev_sigint)
    event_free(n.ev_sigint);
  if (n.base)
    event_base_free(n.base); /* finalizes the last connections' bufferevents */
  al_node_gate_free(&n);
  al_node_snapshots_stop(&n);
  al_state_close(&n);
  al_token_store_close(n.tokens);
  if (n.ws_root_fd >= 0)
    close(n.ws_root_fd);
  if (n.ws_dir_fd >= 0)
    close(n.ws_dir_fd);
  free(n.ws_dir);
  free(n.degraded);
  if (cfg->ready_file)
    unlink(cfg->ready_file);
  return rc; /* lock_fd is closed here: the directory is free for the next node */
}
