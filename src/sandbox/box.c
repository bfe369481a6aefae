/* SPDX-License-Identifier: Apache-2.0 */
/* box.c - see box.h.  A thin layer over launch.c and the agent protocol. */
#define _GNU_SOURCE
#include "box.h"
#include "cgroup_file.h"
#include "fdpass.h"
#include "agent_proto.h"
#include "error.h"
#include "cleanup.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

int al_box_start(al_box *b, const airlock_spec *spec, airlock_error **err) {
  memset(b, 0, sizeof(*b));
  return al_launch_start(&b->launch, spec, true, &b->info, err);
}

int al_box_sock(const al_box *b) { return b->launch.sock; }
int al_box_pidfd(const al_box *b) { return b->launch.pidfd; }

static int append_strings(char *buf, size_t cap, size_t *len, char *const *v, uint32_t *count) {
  for (size_t i = 0; v && v[i]; i++) {
    size_t n = strlen(v[i]) + 1;
    if (*len + n > cap)
      return -1;
    memcpy(buf + *len, v[i], n);
    *len += n;
    (*count)++;
  }
  return 0;
}

int al_box_exec(al_box *b, uint64_t exec_id, char *const *argv, char *const *env, const char *cwd, const int fds[3],
                unsigned rows, unsigned cols, airlock_error **err) {
  static char buf[sizeof(al_agent_req) + AL_AGENT_MAX_PAYLOAD];
  al_agent_req req = {.kind = fds ? AL_AGENT_EXEC : AL_AGENT_EXEC_PTY, .exec_id = exec_id};
  if (!fds) {
    req.rows = (uint16_t)(rows > 0xffff ? 0xffff : rows);
    req.cols = (uint16_t)(cols > 0xffff ? 0xffff : cols);
  }
  size_t len = 0;
  char *payload = buf + sizeof(req);
  const char *dir = cwd ? cwd : "";
  if (append_strings(payload, AL_AGENT_MAX_PAYLOAD, &len, argv, &req.argc) < 0 ||
      append_strings(payload, AL_AGENT_MAX_PAYLOAD, &len, env, &req.envc) < 0 ||
      len + strlen(dir) + 1 > AL_AGENT_MAX_PAYLOAD)
    return al_err(err, 0, "command, environment and cwd together exceed %d bytes", AL_AGENT_MAX_PAYLOAD);
  if (req.argc == 0)
    return al_err(err, 0, "no command given");
  memcpy(payload + len, dir, strlen(dir) + 1);
  len += strlen(dir) + 1;
  req.payload_len = (uint32_t)len;
  memcpy(buf, &req, sizeof(req));
  size_t total = sizeof(req) + len;
  ssize_t n = al_send_fds(b->launch.sock, buf, total, fds, fds ? 3 : 0);
  if (n != (ssize_t)total)
    return al_err(err, errno, "sending the exec to the sandbox");
  return 0;
}

int al_box_signal(al_box *b, uint64_t exec_id, int signo) {
  al_agent_req req = {.kind = AL_AGENT_SIGNAL, .exec_id = exec_id, .signo = signo};
  ssize_t n = send(b->launch.sock, &req, sizeof(req), MSG_NOSIGNAL | MSG_DONTWAIT);
  return n == (ssize_t)sizeof(req) ? 0 : -1;
}

int al_box_read(al_box *b, al_status_msg *m) { return al_launch_read_msg(&b->launch, m); }

int al_box_take_fd(al_box *b) { return AL_STEAL_FD(b->launch.msg_fd); }

long long al_box_oom_kills(const al_box *b) {
  const al_cgroup *cg = &b->launch.cg;
  const char *dir = cg->path[AL_CTRL_MEMORY];
  long long n = 0;
  if (dir == NULL)
    return 0;
  if (cg->version[AL_CTRL_MEMORY] == 2)
    al_cgroup_read_keyed_counter(dir, "memory.events", "oom_kill", &n);
  else
    al_cgroup_read_keyed_counter(dir, "memory.oom_control", "oom_kill", &n);
  return n;
}

void al_box_kill(al_box *b) {
  if (b->launch.pidfd >= 0)
    syscall(SYS_pidfd_send_signal, b->launch.pidfd, SIGKILL, NULL, 0);
  else if (b->launch.pid > 0)
    kill(b->launch.pid, SIGKILL);
}

void al_box_free(al_box *b) {
  al_launch_cleanup(&b->launch);
  airlock_result_clear(&b->info);
}
