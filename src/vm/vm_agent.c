/* SPDX-License-Identifier: Apache-2.0 */
/* vm_agent.c - airlock-vm-agent: a node's persistent sandbox in a microVM.
 *
 * Started by al_vm_box_start (vm_box.c) with the node's SOCK_SEQPACKET
 * socket on descriptor 3, it plays the part that agent.c (pid 1 of a
 * namespaced sandbox) plays: it boots the VM, answers AL_MSG_READY (or
 * AL_MSG_SETUP_ERROR with the reason), then serves the node's requests
 * (agent_proto.h): each exec, with its three descriptors, is relayed to
 * the guest agent over the VM's control channel (its stdin read from the
 * node's pipe, its output written to the node's pipes) and answered with
 * AL_MSG_EXEC_STARTED and AL_MSG_EXEC_EXIT and the guest's usage; a signal
 * goes to the running exec's process group in the guest.  One exec at a
 * time (a second one is refused with EBUSY); no pty execs.  End of file
 * on the socket ends the VM and this process.
 *
 *   airlock-vm-agent [--workspace[-ro] DIR | --workspace-fd[-ro] N] [--output DIR] [--memory BYTES]
 *                    [--cpus N] [--pids N] [--state-dir DIR] [--allow-tcg] [--net-dir-fd N]
 *   (socket on fd 3; with --net-dir-fd the egress proxy's socket directory,
 *   vm_egress.c, whose owner.lock the node hands over as fd 6 and this
 *   process holds for the sandbox's life) */
#define _GNU_SOURCE
#include "agent_proto.h"
#include "fdpass.h"
#include "network.h"
#include "plan.h"
#include "vm.h"
#include "vm_net.h"
#include "vm_proto.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int sock = 3;
static uint64_t running_id;
static char buf[sizeof(al_agent_req) + AL_AGENT_MAX_PAYLOAD];
static bool proxy_env;    /* --network proxy: every exec gets the proxy's variables */
static bool proxy_ca_env; /* and, with inspected hosts, the trust store's */

static void reply(int kind, uint64_t id, int value, const al_vm_exec_result *r, const char *text) {
  al_status_msg m;
  memset(&m, 0, sizeof(m));
  m.kind = kind;
  m.value = value;
  m.exec_id = id;
  if (r) {
    m.user_us = r->cpu_user_ms * 1000;
    m.sys_us = r->cpu_sys_ms * 1000;
    m.max_rss_kb = r->max_rss_kb;
  }
  if (text)
    snprintf(m.text, sizeof(m.text), "%s", text);
  if (send(sock, &m, sizeof(m), MSG_NOSIGNAL) < 0)
    _exit(0); /* the node is gone */
}

static void refuse(uint64_t id, int e, const char *text) {
  reply(AL_MSG_EXEC_ERROR, id, e, NULL, text);
  reply(AL_MSG_EXEC_EXIT, id, W_EXITCODE(AIRLOCK_EXIT_SETUP, 0), NULL, NULL);
}

/* a request that came while an exec runs: a signal for it, or a refusal */
static int on_request(void *arg) {
  (void)arg;
  int fds[3] = {-1, -1, -1};
  size_t nfds = 0;
  int flags = 0;
  ssize_t n = al_recv_fds(sock, buf, sizeof(buf), fds, 3, &nfds, MSG_DONTWAIT, &flags);
  if (n == 0)
    return -1; /* the node is gone: end the VM */
  int sig = 0;
  al_agent_req req;
  if (n >= (ssize_t)sizeof(req)) {
    memcpy(&req, buf, sizeof(req));
    if (req.kind == AL_AGENT_SIGNAL && req.exec_id == running_id && req.signo > 0 && req.signo < NSIG)
      sig = req.signo;
    else if (req.kind == AL_AGENT_EXEC || req.kind == AL_AGENT_EXEC_PTY)
      refuse(req.exec_id, EBUSY, "a vm sandbox runs one exec at a time");
  }
  for (size_t i = 0; i < nfds; i++)
    close(fds[i]);
  return sig;
}

static void serve_exec(al_vm *vm, const al_agent_req *req, const int fds[3]) {
  char **argv, **env, *cwd, **env_to_free = NULL;
  if (al_vm_exec_parse((const uint8_t *)buf, sizeof(*req) + req->payload_len, &argv, &env, &cwd) < 0) {
    refuse(req->exec_id, EINVAL, "malformed exec request");
    return;
  }
  if (proxy_env) { /* the proxy's variables unless the exec's own name them */
    size_t n = 0;
    while (env[n])
      n++;
    char **merged = al_env_merge(al_vm_proxy_env(proxy_ca_env), env, n);
    if (!merged) {
      free(argv);
      refuse(req->exec_id, ENOMEM, "out of memory");
      return;
    }
    env_to_free = merged;
    env = merged;
  }
  running_id = req->exec_id;
  reply(AL_MSG_EXEC_STARTED, req->exec_id, 0, NULL, NULL);
  al_vm_watch w = {.fd = sock, .ready = on_request, .arg = NULL};
  al_vm_exec_result r;
  airlock_error *e = NULL;
  int rc = al_vm_exec(vm, argv, env, cwd[0] ? cwd : NULL, fds[0], fds[1], fds[2], 0, false, &w, &r, &e);
  free(argv);
  free(env_to_free);
  if (rc < 0) {
    dprintf(fds[2], "airlock: %s\n", e ? e->msg : "the VM failed");
    reply(AL_MSG_EXEC_EXIT, req->exec_id, SIGKILL, NULL, NULL); /* as if killed: the VM died */
    airlock_error_free(&e);
    al_vm_stop(vm);
    _exit(1); /* the VM is gone: so is the sandbox */
  }
  int status = r.signal ? r.signal : W_EXITCODE(r.exit_code & 0xff, 0);
  reply(AL_MSG_EXEC_EXIT, req->exec_id, status, &r, NULL);
  running_id = 0;
}

int main(int argc, char **argv) {
  al_vm_request q = {.workspace_fd = -1, .net_dir_fd = -1};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--allow-tcg") == 0)
      q.allow_tcg = true;
    else if (!v) {
      fprintf(stderr, "airlock-vm-agent: %s needs a value\n", a);
      return 2;
    } else if (strcmp(a, "--workspace") == 0 || strcmp(a, "--workspace-ro") == 0) {
      q.workspace = v;
      q.workspace_rw = strcmp(a, "--workspace") == 0;
      i++;
    } else if (strcmp(a, "--workspace-fd") == 0 || strcmp(a, "--workspace-fd-ro") == 0) {
      q.workspace_fd = atoi(v);
      q.workspace_rw = strcmp(a, "--workspace-fd") == 0;
      i++;
    } else if (strcmp(a, "--output") == 0) {
      q.output = v;
      i++;
    } else if (strcmp(a, "--memory") == 0) {
      q.memory_bytes = atoll(v);
      i++;
    } else if (strcmp(a, "--cpus") == 0) {
      q.cpus = atof(v);
      i++;
    } else if (strcmp(a, "--pids") == 0) {
      q.pids = atoll(v);
      i++;
    } else if (strcmp(a, "--state-dir") == 0) {
      q.state_dir = v;
      i++;
    } else if (strcmp(a, "--net-dir-fd") == 0) {
      q.net = true;
      q.net_dir_fd = atoi(v);
      i++;
    } else {
      fprintf(stderr, "airlock-vm-agent: unknown option %s (started by the node, not by hand)\n", a);
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  proxy_env = q.net;
  proxy_ca_env = q.net && faccessat(q.net_dir_fd, AL_VM_NET_CA_CERT, F_OK, 0) == 0;
  al_vm_info info;
  airlock_error *e = NULL;
  al_vm *vm = al_vm_boot(&q, &info, &e);
  if (!vm) {
    al_status_msg m;
    memset(&m, 0, sizeof(m));
    m.kind = AL_MSG_SETUP_ERROR;
    m.value = e ? e->errnum : 0;
    snprintf(m.text, sizeof(m.text), "%s", e ? e->msg : "the VM did not start");
    send(sock, &m, sizeof(m), MSG_NOSIGNAL);
    return AIRLOCK_EXIT_SETUP;
  }
  reply(AL_MSG_READY, 0, 0, NULL, NULL);
  for (;;) {
    int fds[3] = {-1, -1, -1};
    size_t nfds = 0;
    int flags = 0;
    ssize_t n = al_recv_fds(sock, buf, sizeof(buf), fds, 3, &nfds, 0, &flags);
    if (n <= 0 && !(n < 0 && errno == EINTR))
      break; /* the node is gone: end the VM */
    al_agent_req req;
    if (n >= (ssize_t)sizeof(req) && !(flags & MSG_TRUNC)) {
      memcpy(&req, buf, sizeof(req));
      if (req.kind == AL_AGENT_EXEC && nfds == 3 && req.payload_len == (size_t)n - sizeof(req))
        serve_exec(vm, &req, fds);
      else if (req.kind == AL_AGENT_EXEC_PTY)
        refuse(req.exec_id, ENOTSUP, "no terminal in a vm sandbox yet");
      else if (req.kind == AL_AGENT_EXEC)
        refuse(req.exec_id, EINVAL, "malformed exec request");
      /* a signal with nothing running: nothing to do */
    }
    for (size_t i = 0; i < nfds; i++)
      close(fds[i]);
  }
  al_vm_stop(vm);
  return 0;
}
