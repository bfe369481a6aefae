/* SPDX-License-Identifier: Apache-2.0 */
/* secret_files.c - see secret_files.h.  The store needs libsodium and
 * SQLite, which the airlock binary does not load, so each value comes from
 * `airlock-node secret get NAME --reveal --state-dir DIR` with its stdout on
 * a pipe: never a file, an argument or an environment variable.  It is read
 * straight into the buffer the plan keeps, which is wiped once the sandbox's
 * init has its copy (launch.c) and freed with the plan. */
#define _GNU_SOURCE
#include "secret_files.h"
#include "clock.h"
#include "cleanup.h"
#include "error.h"
#include "node_bin.h"
#include "secret_name.h"
#include "statedir.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FETCH_TIMEOUT_MS 30000

/* the helper's own complaint, one printable line without its prefix */
static const char *reason(char *msg, size_t len) {
  msg[len] = '\0';
  char *nl = strchr(msg, '\n');
  if (nl)
    *nl = '\0';
  for (char *c = msg; *c; c++)
    if (!isprint((unsigned char)*c))
      *c = '?';
  static const char prefix[] = "airlock secret get: ";
  return strncmp(msg, prefix, sizeof(prefix) - 1) == 0 ? msg + sizeof(prefix) - 1 : msg;
}

/* Read the value (stdout) and the complaint (stderr) until both end. */
static int drain(int out, int errfd, unsigned char *buf, size_t cap, size_t *len, char *msg, size_t msg_cap,
                 size_t *msg_len) {
  struct pollfd fds[2] = {{out, POLLIN, 0}, {errfd, POLLIN, 0}};
  int64_t deadline = al_monotonic_ms() + FETCH_TIMEOUT_MS;
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    int64_t left = deadline - al_monotonic_ms();
    if (left <= 0)
      return -1;
    int n = poll(fds, 2, (int)left);
    if (n < 0 && errno != EINTR)
      return -1;
    for (int i = 0; n > 0 && i < 2; i++) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      char discard[512];
      ssize_t got;
      if (i == 0)
        got = *len < cap ? read(out, buf + *len, cap - *len) : 0; /* more than a value can be: stop */
      else
        got = *msg_len < msg_cap ? read(errfd, msg + *msg_len, msg_cap - *msg_len)
                                 : read(errfd, discard, sizeof(discard));
      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0) {
        fds[i].fd = -1;
        continue;
      }
      if (i == 0)
        *len += (size_t)got;
      else if (*msg_len < msg_cap)
        *msg_len += (size_t)got;
    }
  }
  return 0;
}

static int fetch_one(const char *bin, const char *dir, const char *name, al_secret_file *out, airlock_error **err) {
  int outp[2] = {-1, -1}, errp[2] = {-1, -1};
  if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
    int e = errno;
    al_closep(&outp[0]);
    al_closep(&outp[1]);
    return al_err(err, e, "secret '%s': pipe", name);
  }
  char *argv[] = {(char *)bin, "secret", "get", (char *)name, "--reveal", "--state-dir", (char *)dir, NULL};
  int fds[3] = {-1, outp[1], errp[1]};
  pid_t pid = al_helper_spawn(bin, argv, fds, 3, err);
  close(outp[1]);
  close(errp[1]);
  _cleanup_close_ int rd = outp[0];
  _cleanup_close_ int rerr = errp[0];
  if (pid < 0)
    return al_err_prefix(err, "secret '%s'", name);

  size_t cap = AL_SECRET_VALUE_MAX + 1, len = 0, msg_len = 0;
  unsigned char *buf = malloc(cap);
  char msg[512];
  int drained = buf ? drain(rd, rerr, buf, cap, &len, msg, sizeof(msg) - 1, &msg_len) : -1;
  bool killed = false;
  if (drained < 0)
    kill(pid, SIGKILL);
  int st = al_child_wait_or_kill(pid, 5000, &killed);
  int rc = 0;
  if (buf == NULL)
    rc = al_err(err, ENOMEM, "secret '%s'", name);
  else if (drained < 0 || killed)
    rc = al_err(err, 0, "secret '%s': %s secret get did not finish", name, bin);
  else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    rc = msg_len > 0 ? al_err(err, 0, "secret '%s': %s", name, reason(msg, msg_len))
                     : al_err(err, 0, "secret '%s': %s secret get failed (status %d)", name, bin, st);
  else if (len > AL_SECRET_VALUE_MAX)
    rc = al_err(err, 0, "secret '%s' is larger than %d bytes", name, AL_SECRET_VALUE_MAX);
  if (rc < 0) {
    if (buf)
      explicit_bzero(buf, cap);
    free(buf);
    return -1;
  }
  out->name = name;
  out->value = buf;
  out->len = len;
  return 0;
}

int al_secret_files_fetch(al_plan *p, const airlock_spec *spec, airlock_error **err) {
  if (spec->n_secrets == 0)
    return 0;
  char bin[PATH_MAX];
  if (al_node_binary_path(bin, sizeof(bin), err) < 0)
    return al_err_prefix(err, "secrets");
  _cleanup_free_ char *dir = al_state_dir_or_default(spec->state_dir, err);
  if (dir == NULL)
    return al_err_prefix(err, "secrets");
  p->secrets = calloc(spec->n_secrets, sizeof(*p->secrets));
  if (p->secrets == NULL)
    return al_err(err, ENOMEM, "secrets");
  for (size_t i = 0; i < spec->n_secrets; i++) {
    if (fetch_one(bin, dir, spec->secrets[i], &p->secrets[i], err) < 0)
      return -1;
    p->n_secrets = i + 1;
  }
  return 0;
}
