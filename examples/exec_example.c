/* SPDX-License-Identifier: Apache-2.0 */
/* exec_example.c - the node client in a few lines: run `echo hello` on a
 * node and print the result, then stream the output of a second command
 * record by record, then use a persistent sandbox.  Every request goes over
 * the same kept-alive connection.
 *
 *   exec-example unix:/run/airlock/node.sock "$AIRLOCK_TOKEN"
 *   exec-example https://node.example:7443 TOKEN [CA_FILE] */
#include <stdio.h>
#include <stdlib.h>

#include "airlock/client.h"

static int print_record(void *ctx, int fd, const char *data, size_t len) {
  (void)ctx;
  printf("[%s] %.*s", fd == 1 ? "stdout" : "stderr", (int)len, data);
  if (len == 0 || data[len - 1] != '\n')
    putchar('\n');
  fflush(stdout);
  return 0; /* non-zero would disconnect and kill the command */
}

static void print_result(const airlock_exec_result *r) {
  printf("exec_id=%s exit_code=%d signal=%d timed_out=%d oom_killed=%d truncated=%d success=%d\n",
         r->exec_id ? r->exec_id : "-", r->exit_code, r->signal, r->timed_out, r->oom_killed, r->truncated, r->success);
  printf("wall_ms=%lld cpu_user_ms=%lld cpu_sys_ms=%lld max_rss_kb=%lld error=%s\n", (long long)r->wall_ms,
         (long long)r->cpu_user_ms, (long long)r->cpu_sys_ms, (long long)r->max_rss_kb, r->error ? r->error : "null");
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 4) {
    fprintf(stderr, "usage: %s NODE TOKEN [TLS_CA_FILE]\n", argv[0]);
    return 2;
  }
  airlock_client_tls tls = {.ca_file = argc > 3 ? argv[3] : NULL};
  airlock_client *client = NULL;
  airlock_error *err = NULL;
  if (airlock_client_open(argv[1], argv[2], &tls, &client, &err) < 0) {
    fprintf(stderr, "open: %s\n", err->msg);
    airlock_error_free(&err);
    return 1;
  }
  int status = 0;

  /* 1: captured output */
  char *echo_argv[] = {"echo", "hello", NULL};
  airlock_exec_request req = {.argv = echo_argv, .timeout_ms = 10000};
  airlock_exec_result res;
  if (airlock_client_exec(client, &req, NULL, NULL, &res, &err) < 0) {
    fprintf(stderr, "exec: %s\n", err->msg);
    airlock_error_free(&err);
    status = 1;
  } else {
    printf("stdout=%.*s", (int)res.stdout_len, res.stdout_data ? res.stdout_data : "");
    printf("stderr=%.*s\n", (int)res.stderr_len, res.stderr_data ? res.stderr_data : "");
    print_result(&res);
  }
  airlock_exec_result_clear(&res);

  /* 2: streamed output, one callback per record */
  char *sh_argv[] = {"sh", "-c", "echo out; echo err >&2", NULL};
  airlock_exec_request sreq = {.argv = sh_argv};
  if (airlock_client_exec(client, &sreq, print_record, NULL, &res, &err) < 0) {
    fprintf(stderr, "streaming exec: %s\n", err->msg);
    airlock_error_free(&err);
    status = 1;
  } else {
    print_result(&res);
  }
  airlock_exec_result_clear(&res);

  /* 3: a persistent sandbox: files one exec writes (in the default working
   * directory, /workspace) are there for the next */
  char *sandbox = NULL;
  if (airlock_client_sandbox_create(client, "{\"labels\": {\"by\": \"exec-example\"}}", &sandbox, &err) < 0) {
    fprintf(stderr, "%s\n", err->msg);
    airlock_error_free(&err);
    status = 1;
  } else {
    printf("sandbox %s created\n", sandbox);
    airlock_exec_request wreq = {.command = "echo kept > note", .sandbox_id = sandbox};
    airlock_exec_request rreq = {.command = "cat note", .sandbox_id = sandbox};
    if (airlock_client_exec(client, &wreq, NULL, NULL, &res, &err) == 0) {
      airlock_exec_result_clear(&res);
      if (airlock_client_exec(client, &rreq, NULL, NULL, &res, &err) == 0)
        printf("in sandbox: exit_code=%d stdout=%.*s", res.exit_code, (int)res.stdout_len,
               res.stdout_data ? res.stdout_data : "");
    }
    airlock_exec_result_clear(&res);
    if (err) {
      fprintf(stderr, "exec in sandbox: %s\n", err->msg);
      airlock_error_free(&err);
      status = 1;
    }
    if (airlock_client_sandbox_destroy(client, sandbox, &err) < 0) {
      fprintf(stderr, "%s\n", err->msg);
      airlock_error_free(&err);
      status = 1;
    } else {
      printf("sandbox %s destroyed\n", sandbox);
    }
    free(sandbox);
  }

  airlock_client_close(&client);
  return status;
}
