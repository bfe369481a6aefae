/* SPDX-License-Identifier: Apache-2.0 */
/* node_job.c - long file work of one request (copying a snapshot, a
 * restore, removing a snapshot's files) in a child process of its own, so
 * that the event loop goes on answering every other tenant while it runs (a
 * copy of a large tree takes seconds).  A process, not a thread: the node
 * starts sandboxes with clone3, whose child would inherit any lock another
 * thread held at that moment (malloc's among them) and could hang on it.
 * The child is a fork of the node: it does the work through what its job
 * holds (descriptors duplicated for it, copies of names), writes the job's
 * result bytes (j->out, plain data) to a pipe and exits; the loop reads
 * them into the same place and runs the job's finish.  A client that goes
 * away meanwhile is noticed (the connection's close callback), so the
 * finish never answers a freed request.  The node's stop waits for running
 * jobs. */
#define _GNU_SOURCE
#include "node.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noreturn)) static void child(al_node_job *j) {
  /* the node's handlers (libevent's signal pipe) are not this process's */
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  close(j->pipe[0]);
  j->work(j);
  const char *p = j->out;
  size_t left = j->out_len;
  while (left > 0) {
    ssize_t w = write(j->pipe[1], p, left);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      _exit(1);
    p += w;
    left -= (size_t)w;
  }
  _exit(0);
}

static void client_gone(struct evhttp_connection *conn, void *arg) {
  (void)conn;
  al_node_job *j = arg;
  j->req = NULL;
}

static void unlink_job(al_node *n, al_node_job *j) {
  for (al_node_job **p = &n->jobs; *p; p = &(*p)->next)
    if (*p == j) {
      *p = j->next;
      break;
    }
}

/* read the child's result (blocking: it has ended or is about to), reap it */
static void end(al_node_job *j) {
  size_t got = 0;
  char *p = j->out;
  while (got < j->out_len) {
    ssize_t r = read(j->pipe[0], p + got, j->out_len - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    got += (size_t)r;
  }
  j->failed = got != j->out_len; /* the child died before it said how the work went */
  int status;
  while (waitpid(j->pid, &status, 0) < 0 && errno == EINTR)
    ;
  event_free(j->ev);
  close(j->pipe[0]);
  unlink_job(j->n, j);
  if (j->req)
    evhttp_connection_set_closecb(evhttp_request_get_connection(j->req), NULL, NULL);
}

static void on_done(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  al_node_job *j = arg;
  end(j);
  j->finish(j); /* may free j */
}

int al_node_job_start(al_node *n, al_node_job *j, struct evhttp_request *req, airlock_error **err) {
  j->n = n;
  j->req = req;
  j->failed = false;
  if (pipe2(j->pipe, O_CLOEXEC) < 0)
    return al_err(err, errno, "a job's pipe");
  /* readable when the child has written its result or has ended */
  j->ev = event_new(n->base, j->pipe[0], EV_READ, on_done, j);
  if (!j->ev || event_add(j->ev, NULL) < 0 || (j->pid = fork()) < 0) {
    int e = errno;
    if (j->ev)
      event_free(j->ev);
    close(j->pipe[0]);
    close(j->pipe[1]);
    return al_err(err, e ? e : EAGAIN, "cannot start a job's process");
  }
  if (j->pid == 0)
    child(j);
  close(j->pipe[1]);
  if (req)
    evhttp_connection_set_closecb(evhttp_request_get_connection(req), client_gone, j);
  j->next = n->jobs;
  n->jobs = j;
  return 0;
}

void al_node_jobs_wait(al_node *n) {
  n->jobs_stopping = true;
  while (n->jobs) {
    al_node_job *j = n->jobs;
    end(j);
    j->req = NULL; /* the node is stopping: nobody to answer */
    j->finish(j);
  }
}
