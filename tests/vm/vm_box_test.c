/* SPDX-License-Identifier: Apache-2.0 */
/* vm_box_test.c - a node persistent sandbox in a microVM, driven the way
 * the node drives one (box.h over al_vm_box_start: the agent protocol with
 * SCM_RIGHTS stdio pipes): several execs in one VM keep its state, stdin,
 * stdout, exit codes, env, a signal to a running exec, a pty exec refused,
 * a second exec while one runs refused (EBUSY), and the end.
 * usage: vm_box_test WORKSPACE   (run by tests/vm/vm_test.sh; TCG accepted)
 * With VM_BOX_BENCH=N it times N execs of /bin/true instead (bench/vm.sh). */
#define _GNU_SOURCE
#include "box.h"
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int fails;
#define CHECK(what, cond)                                                                                            \
  do {                                                                                                               \
    if (cond)                                                                                                        \
      printf("ok   box: %s\n", what);                                                                                \
    else {                                                                                                           \
      printf("FAIL box: %s\n", what);                                                                                \
      fails++;                                                                                                       \
    }                                                                                                                \
  } while (0)

static al_box box;

/* the next status message, waiting up to ms */
static int next_msg(al_status_msg *m, int ms) {
  for (;;) {
    int r = al_box_read(&box, m);
    if (r != 0)
      return r;
    struct pollfd p = {al_box_sock(&box), POLLIN, 0};
    if (poll(&p, 1, ms) <= 0)
      return 0;
  }
}

typedef struct {
  char out[4096];
  int status; /* wait status; -1 none */
  bool error;
} outcome;

/* start argv as exec id; *out_fd, *in_fd: our ends */
static int start(uint64_t id, char *const *argv, char *const *env, int *in_fd, int *out_fd) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
    return -1;
  int fds[3] = {in[0], out[1], out[1]};
  airlock_error *e = NULL;
  int rc = al_box_exec(&box, id, argv, env, NULL, fds, 0, 0, &e);
  if (rc < 0)
    fprintf(stderr, "al_box_exec: %s\n", e->msg);
  close(in[0]);
  close(out[1]);
  *in_fd = in[1];
  *out_fd = out[0];
  return rc;
}

/* collect output and the exit of exec id */
static void finish(uint64_t id, int out_fd, outcome *o) {
  size_t len = 0;
  o->status = -1;
  o->error = false;
  bool eof = false;
  while (!eof || o->status < 0) {
    struct pollfd p[2] = {{al_box_sock(&box), POLLIN, 0}, {eof ? -1 : out_fd, POLLIN, 0}};
    if (poll(p, 2, 60000) <= 0)
      break;
    if (p[1].revents) {
      ssize_t n = read(out_fd, o->out + len, sizeof(o->out) - 1 - len);
      if (n <= 0)
        eof = true;
      else
        len += (size_t)n;
    }
    al_status_msg m;
    while (p[0].revents && al_box_read(&box, &m) > 0) {
      if (m.exec_id != id)
        continue;
      if (m.kind == AL_MSG_EXEC_ERROR)
        o->error = true;
      if (m.kind == AL_MSG_EXEC_EXIT)
        o->status = m.value;
    }
  }
  o->out[len] = '\0';
  close(out_fd);
}

static void run(uint64_t id, char *const *argv, char *const *env, const char *input, outcome *o) {
  int in, out;
  if (start(id, argv, env, &in, &out) < 0) {
    o->status = -1;
    return;
  }
  if (input)
    (void)!write(in, input, strlen(input));
  close(in);
  finish(id, out, o);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: vm_box_test WORKSPACE\n");
    return 2;
  }
  airlock_spec spec;
  airlock_spec_init(&spec);
  airlock_error *e = NULL;
  /* as the node gives it: a descriptor opened below the tenant's root, and
   * a name that must not be looked up again (here one that does not exist) */
  airlock_spec_set_string(&spec.workspace, "/nonexistent/by-name", &e);
  spec.workspace_fd = open(argv[1], O_PATH | O_DIRECTORY | O_CLOEXEC);
  spec.workspace_rw = true;
  spec.allow_degraded = true;
  if (al_vm_box_start(&box, &spec, &e) < 0) {
    printf("FAIL box: start: %s\n", e->msg);
    return 1;
  }
  al_status_msg m;
  int r = next_msg(&m, 90000);
  CHECK("the VM's agent answers READY", r > 0 && m.kind == AL_MSG_READY);
  if (!(r > 0 && m.kind == AL_MSG_READY)) {
    if (r > 0)
      printf("     %s\n", m.text);
    return 1;
  }
  outcome o;
  const char *bench = getenv("VM_BOX_BENCH"); /* bench/vm.sh: N execs of /bin/true, the median round trip */
  if (bench && atoi(bench) > 0) {
    int n = atoi(bench);
    double *ms = calloc((size_t)n, sizeof(double));
    for (int i = 0; i < n; i++) {
      struct timespec a, b;
      clock_gettime(CLOCK_MONOTONIC, &a);
      run(100 + (uint64_t)i, (char *[]){"/bin/true", NULL}, NULL, NULL, &o);
      clock_gettime(CLOCK_MONOTONIC, &b);
      ms[i] = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    }
    for (int i = 1; i < n; i++) /* insertion sort: n is small */
      for (int j = i; j > 0 && ms[j] < ms[j - 1]; j--) {
        double t = ms[j];
        ms[j] = ms[j - 1];
        ms[j - 1] = t;
      }
    printf("{\"box_exec_ms\": {\"median\": %.2f, \"p90\": %.2f, \"runs\": %d}}\n", ms[n / 2], ms[n * 9 / 10], n);
    free(ms);
    al_box_kill(&box);
    al_box_free(&box);
    return 0;
  }
  run(1, (char *[]){"sh", "-c", "echo one > /tmp/state; echo first > /workspace/box.txt; echo hi", NULL}, NULL, NULL,
      &o);
  CHECK("exec 1: output and exit 0", strcmp(o.out, "hi\n") == 0 && o.status == 0);
  run(2, (char *[]){"cat", "/tmp/state", NULL}, NULL, NULL, &o);
  CHECK("exec 2: the guest's /tmp kept exec 1's file (one VM)", strcmp(o.out, "one\n") == 0 && o.status == 0);
  run(3, (char *[]){"sh", "-c", "read x; echo got:$x:$A; exit 5", NULL}, (char *[]){"A=envvar", NULL}, "abc\n", &o);
  CHECK("exec 3: stdin, env, exit 5", strcmp(o.out, "got:abc:envvar\n") == 0 && WIFEXITED(o.status) &&
                                           WEXITSTATUS(o.status) == 5);
  run(4, (char *[]){"no-such-command", NULL}, NULL, NULL, &o);
  CHECK("exec 4: not found is 127", WIFEXITED(o.status) && WEXITSTATUS(o.status) == 127);

  run(8, (char *[]){"sh", "-c", "(while :; do date +%s%N > /tmp/bg; sleep 0.2; done) >/dev/null 2>&1 &", NULL}, NULL,
      NULL, &o);
  run(9, (char *[]){"sh", "-c", "a=$(cat /tmp/bg); sleep 1; b=$(cat /tmp/bg); [ \"$a\" != \"$b\" ] && echo alive", NULL},
      NULL, NULL, &o);
  CHECK("exec 9: a background process of exec 8 still runs", strcmp(o.out, "alive\n") == 0);

  /* a running exec: a second one is refused, a signal kills it */
  int in, out;
  start(5, (char *[]){"sleep", "60", NULL}, NULL, &in, &out);
  usleep(500 * 1000);
  outcome busy;
  run(6, (char *[]){"true", NULL}, NULL, NULL, &busy);
  CHECK("exec 6 while 5 runs: refused (exit 125)", busy.error && WIFEXITED(busy.status) &&
                                                        WEXITSTATUS(busy.status) == 125);
  al_box_signal(&box, 5, SIGKILL);
  close(in);
  finish(5, out, &o);
  CHECK("exec 5: SIGKILL through the node's signal request", WIFSIGNALED(o.status) && WTERMSIG(o.status) == SIGKILL);

  /* a pty exec: refused */
  airlock_error *pe = NULL;
  al_box_exec(&box, 7, (char *[]){"true", NULL}, NULL, NULL, NULL, 24, 80, &pe);
  bool refused = false;
  while (next_msg(&m, 30000) > 0)
    if (m.exec_id == 7 && m.kind == AL_MSG_EXEC_EXIT) {
      refused = WIFEXITED(m.value) && WEXITSTATUS(m.value) == 125;
      break;
    }
  CHECK("exec 7 (pty): refused", refused);

  char path[4096], text[64] = "";
  snprintf(path, sizeof(path), "%s/box.txt", argv[1]);
  FILE *f = fopen(path, "r");
  if (f) {
    (void)!fgets(text, sizeof(text), f);
    fclose(f);
  }
  CHECK("the workspace (shared by its descriptor) write reached the host", strcmp(text, "first\n") == 0);

  al_box_kill(&box);
  struct pollfd p = {al_box_pidfd(&box), POLLIN, 0};
  CHECK("the sandbox ends when killed", poll(&p, 1, 10000) == 1);
  al_box_free(&box);
  airlock_spec_clear(&spec);
  return fails ? 1 : 0;
}
