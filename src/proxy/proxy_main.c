/* SPDX-License-Identifier: Apache-2.0 */
/* proxy_main.c - one egress proxy process: assemble its configuration (a
 * config file's network object or the launcher's JSON, plus flags), check
 * it and load the secrets its routes inject before serving anything, then
 * serve.  Standalone (`airlock proxy --listen`) it binds its own sockets;
 * for a sandbox it receives the listening sockets that the sandbox's init
 * created inside its network namespace over the launcher's control socket
 * and lives exactly as long as that socket.  When an allow entry inspects,
 * it makes its CA first and tells the launcher the certificate in its
 * answer ("ok" and the PEM), so that the sandbox can trust it; the CA's key
 * stays in this process.  It is not dumpable (it holds keys the sandbox
 * must never see) and, once serving, Landlock forbids it every file system
 * access. */
#define _GNU_SOURCE
#include "proxy.h"
#include "fdpass.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/listener.h>

#include "cleanup.h"
#include "error.h"
#include "landlock.h"

#if defined(__SANITIZE_ADDRESS__)
#define AL_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AL_UNDER_ASAN 1
#endif
#endif

static json_t *read_fd_json(int fd, airlock_error **err) {
  size_t cap = 0, len = 0;
  _cleanup_free_ char *buf = NULL;
  for (;;) {
    if (len == cap) {
      if (cap >= (1u << 20)) {
        al_err(err, 0, "network configuration over 1 MiB");
        return NULL;
      }
      size_t grown = cap ? cap * 2 : 4096;
      char *t = realloc(buf, grown); /* buf stays ours if it fails */
      if (!t) {
        al_err(err, ENOMEM, "out of memory");
        return NULL;
      }
      buf = t;
      cap = grown;
    }
    ssize_t n = read(fd, buf + len, cap - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      al_err(err, errno, "read the network configuration");
      return NULL;
    }
    if (n == 0)
      break;
    len += (size_t)n;
  }
  json_error_t je;
  json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
  if (!j)
    al_err(err, 0, "network configuration: %s (line %d)", je.text, je.line);
  return j;
}

/* The flags' values after the config's in the array at key (made when
 * missing).  Not checked as UTF-8 here: the rules parser refuses a value
 * that is not a host, and names it. */
static int append_flags(json_t *net, const char *key, const char **v, size_t n, airlock_error **err) {
  json_t *arr = json_object_get(net, key);
  if (!arr && json_object_set_new(net, key, arr = json_array()) < 0)
    return al_err(err, ENOMEM, "out of memory");
  for (size_t k = 0; json_is_array(arr) && k < n; k++)
    if (json_array_append_new(arr, json_string_nocheck(v[k])) < 0)
      return al_err(err, ENOMEM, "out of memory");
  return 0;
}

static json_t *assemble(const al_proxy_options *o, airlock_error **err) {
  _cleanup_json_ json_t *net = NULL;
  if (o->config_fd >= 0) {
    net = read_fd_json(o->config_fd, err);
    close(o->config_fd);
  } else if (o->config_path) {
    json_error_t je;
    _cleanup_json_ json_t *file = json_load_file(o->config_path, JSON_REJECT_DUPLICATES, &je);
    if (!file) {
      al_err(err, 0, "config '%s': %s (line %d)", o->config_path, je.text, je.line);
      return NULL;
    }
    json_t *n = json_object_get(file, "network");
    if (json_is_object(n))
      net = json_incref(n);
    else if (!n || (json_is_string(n) && strcmp(json_string_value(n), "proxy") == 0))
      net = json_object();
    else
      al_err(err, 0, "config '%s': key 'network' must be an object or \"proxy\"", o->config_path);
  } else {
    net = json_object();
  }
  if (!net) {
    al_err(err, ENOMEM, "out of memory"); /* unless a reason was given above */
    return NULL;
  }
  if (!json_is_object(net)) {
    al_err(err, 0, "config key 'network' must be an object");
    return NULL;
  }
  struct {
    const char *key;
    const char **v;
    size_t n;
  } lists[] = {{"allow", o->allow, o->n_allow},
               {"deny", o->deny, o->n_deny},
               {"allowAddresses", o->allow_addresses, o->n_allow_addresses}};
  for (size_t i = 0; i < 3; i++)
    if (lists[i].n && append_flags(net, lists[i].key, lists[i].v, lists[i].n, err) < 0)
      return NULL;
  if (o->resolver && json_object_set_new(net, "resolver", json_string_nocheck(o->resolver)) < 0) {
    al_err(err, ENOMEM, "out of memory");
    return NULL;
  }
  return AL_STEAL(net);
}

static void stop(al_proxy *px, const char *why) {
  al_proxy_close_all(px, why);
  al_proxy_dns_stop(px);
  event_base_loopexit(px->base, NULL);
}

static void on_signal(evutil_socket_t sig, short what, void *arg) {
  (void)what;
  stop(arg, sig == SIGTERM ? "proxy stopped (SIGTERM)" : "proxy stopped (SIGINT)");
}

/* The launcher sends "fds" with [http listener, dns socket]; EOF means the
 * sandbox is gone. */
static void on_control(evutil_socket_t fd, short what, void *arg) {
  (void)what;
  al_proxy *px = arg;
  char buf[16];
  int fds[2] = {-1, -1};
  size_t got = 0;
  ssize_t n = al_recv_fds(fd, buf, sizeof(buf), fds, 2, &got, MSG_DONTWAIT, NULL);
  if (n < 0 && errno == EAGAIN)
    return;
  if (n <= 0) {
    stop(px, "sandbox ended");
    return;
  }
  _cleanup_error_ airlock_error *err = NULL;
  if (n != 3 || memcmp(buf, "fds", 3) != 0 || got < 1 || px->listener)
    al_err(&err, 0, "expected one \"fds\" message with the HTTP listener (and the DNS socket)");
  else if (al_proxy_listen_fd(px, fds[0], &err) == 0)
    fds[0] = -1; /* the listener's now */
  if (!err && got > 1 && al_proxy_dns_fd(px, fds[1], &err) == 0)
    fds[1] = -1; /* px->dns_fd's now */
  if (err) {
    fprintf(stderr, "airlock proxy: bad message from the launcher: %s\n", err->msg);
    for (size_t i = 0; i < 2; i++)
      if (fds[i] >= 0)
        close(fds[i]);
    stop(px, "launcher protocol error");
  }
}

static int bind_socket(const char *addr, int type, airlock_error **err) {
  struct sockaddr_storage ss;
  int len = sizeof(ss);
  if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &len) < 0)
    return al_err(err, 0, "'%s' is not ADDR:PORT", addr);
  _cleanup_close_ int fd = socket(ss.ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  int one = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
      bind(fd, (struct sockaddr *)&ss, (socklen_t)len) < 0 || (type == SOCK_STREAM && listen(fd, 512) < 0))
    return al_err(err, errno, "cannot listen on %s", addr);
  return AL_STEAL_FD(fd);
}

static void send_control(int fd, const char *text) {
  ssize_t n = send(fd, text, strlen(text), MSG_NOSIGNAL);
  (void)n;
}

/* Standalone: the CA certificate (public) where --ca-cert says, for the
 * clients to trust. */
static int write_ca_cert(const char *path, const char *pem, airlock_error **err) {
  if (!pem)
    return al_err(err, 0, "--ca-cert: no allow entry has \"inspect\": true, so there is no CA");
  _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  size_t len = strlen(pem);
  if (fd < 0 || write(fd, pem, len) != (ssize_t)len)
    return al_err(err, errno, "cannot write --ca-cert '%s'", path);
  return 0;
}

int al_proxy_serve(const al_proxy_options *o, airlock_error **err) {
  prctl(PR_SET_DUMPABLE, 0);
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  signal(SIGPIPE, SIG_IGN);
  al_proxy px;
  memset(&px, 0, sizeof(px));
  px.dns_fd = -1;
  px.sandbox = o->sandbox;
  int rc = -1;
  struct event *sig_term = NULL, *sig_int = NULL, *control = NULL;
  _cleanup_json_ json_t *net = assemble(o, err);
  _cleanup_free_ char *ca_pem = NULL; /* inspected hosts: the CA certificate */
  if (!net || al_proxy_config_parse(&px.cfg, net, err) < 0 ||
      al_proxy_config_load_secrets(&px.cfg, o->state_dir, err) < 0 ||
      al_proxy_inspect_init(&px, o->ca_validity_s, &ca_pem, err) < 0)
    goto out;
  px.log = stderr;
  if (o->log_fd >= 0) {
    if (!(px.log = fdopen(o->log_fd, "a"))) {
      al_err(err, errno, "cannot write records to descriptor %d", o->log_fd);
      goto out;
    }
  } else if (o->log_path && strcmp(o->log_path, "-") != 0) {
    _cleanup_close_ int lfd = open(o->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (lfd < 0 || !(px.log = fdopen(lfd, "a"))) {
      al_err(err, errno, "cannot open the egress log '%s'", o->log_path);
      goto out;
    }
    lfd = -1; /* px.log's now */
  }
  if (!(px.base = event_base_new())) {
    al_err(err, 0, "cannot create an event loop");
    goto out;
  }
  px.dns = evdns_base_new(px.base, px.cfg.resolver ? 0 : EVDNS_BASE_INITIALIZE_NAMESERVERS);
  if (!px.dns || (px.cfg.resolver && evdns_base_nameserver_ip_add(px.dns, px.cfg.resolver) != 0)) {
    al_err(err, 0, "cannot set up the resolver%s%s", px.cfg.resolver ? " " : "",
           px.cfg.resolver ? px.cfg.resolver : "");
    goto out;
  }
  evdns_base_set_option(px.dns, "timeout:", "3");
  evdns_base_set_option(px.dns, "attempts:", "2");
  if ((px.cfg.n_routes || px.cfg.n_inspect) && al_proxy_tls_init(&px, err) < 0)
    goto out;
  al_bucket_init(&px.bucket, px.cfg.rate_per_minute, px.cfg.rate_burst);
  if (!(px.host_buckets = al_host_buckets_new(1024, px.cfg.host_rate_per_minute, px.cfg.host_rate_burst))) {
    al_err(err, ENOMEM, "out of memory");
    goto out;
  }
  sig_term = evsignal_new(px.base, SIGTERM, on_signal, &px);
  sig_int = evsignal_new(px.base, SIGINT, on_signal, &px);
  if (!sig_term || !sig_int || evsignal_add(sig_term, NULL) < 0 || evsignal_add(sig_int, NULL) < 0) {
    al_err(err, 0, "cannot handle signals");
    goto out;
  }
  if (o->control_fd >= 0) {
    control = event_new(px.base, o->control_fd, EV_READ | EV_PERSIST, on_control, &px);
    if (!control || event_add(control, NULL) < 0) {
      al_err(err, 0, "cannot watch the control socket");
      goto out;
    }
    if (ca_pem) { /* "ok", a newline, the certificate: one message */
      _cleanup_free_ char *answer = NULL;
      if (asprintf(&answer, "ok\n%s", ca_pem) < 0) {
        al_err(err, ENOMEM, "out of memory");
        goto out;
      }
      send_control(o->control_fd, answer);
    } else {
      send_control(o->control_fd, "ok");
    }
  } else {
    if (o->ca_cert_path && write_ca_cert(o->ca_cert_path, ca_pem, err) < 0)
      goto out;
    _cleanup_close_ int fd = bind_socket(o->listen, SOCK_STREAM, err);
    if (fd < 0 || al_proxy_listen_fd(&px, fd, err) < 0)
      goto out;
    fd = -1; /* the listener's now */
    if (o->dns_listen) {
      _cleanup_close_ int dfd = bind_socket(o->dns_listen, SOCK_DGRAM, err);
      if (dfd < 0 || al_proxy_dns_fd(&px, dfd, err) < 0)
        goto out;
      dfd = -1; /* px.dns_fd's now */
    }
    if (o->ready_file) {
      FILE *f = fopen(o->ready_file, "w");
      if (!f) {
        al_err(err, errno, "cannot write --ready-file '%s'", o->ready_file);
        goto out;
      }
      fprintf(f, "%d\n", (int)getpid());
      fclose(f);
    }
  }
  /* everything it needs is open (log, CA bundle, resolv.conf, secrets):
   * from here a bug in the proxy cannot read or write a file (where the
   * kernel has Landlock; without it this is a no-op) */
#ifndef AL_UNDER_ASAN
  (void)al_landlock_no_fs(al_landlock_abi());
#endif /* under ASan, LeakSanitizer must read /proc at exit */
  event_base_dispatch(px.base);
  rc = 0;
out:
  if (rc < 0 && o->control_fd >= 0 && err) {
    char msg[1024];
    snprintf(msg, sizeof(msg), "error: %s", (*err)->msg);
    send_control(o->control_fd, msg);
  }
  if (px.base)
    al_proxy_close_all(&px, "proxy stopped");
  al_proxy_dns_stop(&px);
  if (control)
    event_free(control);
  if (sig_term)
    event_free(sig_term);
  if (sig_int)
    event_free(sig_int);
  if (px.dns)
    evdns_base_free(px.dns, 0);
  if (px.tls)
    SSL_CTX_free(px.tls);
  al_proxy_inspect_free(&px);
  al_host_buckets_free(px.host_buckets);
  if (px.base)
    event_base_free(px.base);
  if (px.log && px.log != stderr)
    fclose(px.log);
  al_proxy_config_free(&px.cfg);
  return rc;
}
