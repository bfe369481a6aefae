/* SPDX-License-Identifier: Apache-2.0 */
/* node_job.c - long file work of one request (copying a snapshot, a
 * restore) on a thread of its own, so that the event loop goes on answering
 * every other tenant while it runs (a copy of a large tree takes seconds).
 * The work sees only what its job holds (descriptors duplicated for it,
 * copies of names), never the node's shared state; when it ends, the thread
 * writes one byte to a pipe the loop watches and the loop runs the job's
 * finish on its own thread.  A client that goes away meanwhile is noticed
 * (the connection's close callback), so the finish never answers a freed
 * request.  The node's stop waits for running jobs. */
#define _GNU_SOURCE
#include "node.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

static void *run(void *arg) {
  al_node_job *j = arg;
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL); /* the node's signals are the loop's */
  j->work(j);
  char one = 1;
  ssize_t w;
  do
    w = write(j->pipe[1], &one, 1);
  while (w < 0 && errno == EINTR);
  return NULL;
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

static void end(al_node_job *j) {
  pthread_join(j->thread, NULL);
  event_free(j->ev);
  close(j->pipe[0]);
  close(j->pipe[1]);
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
  if (pipe2(j->pipe, O_CLOEXEC) < 0)
    return al_err(err, errno, "a job's pipe");
  j->ev = event_new(n->base, j->pipe[0], EV_READ, on_done, j);
  int rc = j->ev ? event_add(j->ev, NULL) : -1;
  if (rc == 0)
    rc = pthread_create(&j->thread, NULL, run, j) == 0 ? 0 : -1;
  if (rc < 0) {
    if (j->ev)
      event_free(j->ev);
    close(j->pipe[0]);
    close(j->pipe[1]);
    return al_err(err, EAGAIN, "cannot start a job's thread");
  }
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
