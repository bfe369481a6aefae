/* SPDX-License-Identifier: Apache-2.0 */
/* curl_dl.h - libcurl, loaded when the first node client is opened rather
 * than linked.  libcurl pulls in some thirty shared libraries (TLS, Kerberos,
 * LDAP, ...) whose loading and constructors would otherwise be paid by every
 * `airlock run` launch, which never talks HTTP; the client and the node's
 * webhook sender use it.
 * Options are set through it with the SETOPT_* macros below, and the ones
 * the client and the webhook sender share with al_curl_setopt_common(). */
#ifndef AIRLOCK_CURL_DL_H
#define AIRLOCK_CURL_DL_H

#include <curl/curl.h>
#include <stdbool.h>

#include "airlock/airlock.h"

/* The libcurl functions the client calls, with libcurl's signatures. */
typedef struct al_curl_api {
  CURLcode (*global_init)(long flags);
  void (*global_cleanup)(void);
  CURL *(*easy_init)(void);
  void (*easy_cleanup)(CURL *curl);
  CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
  CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
  CURLcode (*easy_perform)(CURL *curl);
  const char *(*easy_strerror)(CURLcode code);
  char *(*easy_escape)(CURL *curl, const char *string, int length);
  void (*free)(void *p);
  struct curl_slist *(*slist_append)(struct curl_slist *list, const char *string);
  void (*slist_free_all)(struct curl_slist *list);
  CURLU *(*url)(void);
  void (*url_cleanup)(CURLU *handle);
  CURLUcode (*url_set)(CURLU *handle, CURLUPart what, const char *part, unsigned int flags);
  CURLUcode (*url_get)(const CURLU *handle, CURLUPart what, char **part, unsigned int flags);
  time_t (*getdate)(const char *p, const time_t *unused);
  curl_version_info_data *(*version_info)(CURLversion stamp);
  /* the multi interface: the webhook worker (node_webhook.c) waits on a
   * transfer in slices, to give up on time when the node stops */
  CURLM *(*multi_init)(void);
  CURLMcode (*multi_cleanup)(CURLM *multi);
  CURLMcode (*multi_add_handle)(CURLM *multi, CURL *curl);
  CURLMcode (*multi_remove_handle)(CURLM *multi, CURL *curl);
  CURLMcode (*multi_perform)(CURLM *multi, int *running);
  CURLMcode (*multi_poll)(CURLM *multi, struct curl_waitfd *extra, unsigned int n, int timeout_ms, int *numfds);
  CURLMsg *(*multi_info_read)(CURLM *multi, int *msgs_left);
} al_curl_api;

/* Loads libcurl (libcurl.so.4, else libcurl-gnutls.so.4) once per process
 * and checks that it is new enough; NULL with *err when it cannot be used.
 * Thread-safe; the library stays loaded. */
const al_curl_api *al_curl_load(airlock_error **err);
/* The loaded library, for code that runs only once al_curl_load() has
 * succeeded (anything holding an open client). */
const al_curl_api *al_curl(void);

/* "cannot set up the WHO (OPTION): libcurl's reason" into *err; returns -1. */
int al_curl_setopt_failed(airlock_error **err, const char *who, const char *option, CURLcode rc);

/* libcurl reads an option's value with va_arg as the type its number
 * implies.  Called through a pointer, curl's own type checks
 * (curl/typecheck-gcc.h) do not apply, so these check at compile time that
 * the option is of the kind the macro is for, and convert the value to it.
 * On failure the calling function, which has an airlock_error **err, returns
 * al_curl_setopt_failed(err, SETOPT_WHO, ...): the file using them defines
 * SETOPT_WHO, what its messages say is being set up. */
#define SETOPT_(h, opt, type, lo, hi, val)                                                                             \
  do {                                                                                                                 \
    _Static_assert((opt) >= (lo) && (opt) < (hi), #opt " is not a " #type " option");                                  \
    type v_ = (val);                                                                                                   \
    CURLcode rc_ = al_curl()->easy_setopt((h), (opt), v_);                                                             \
    if (rc_ != CURLE_OK)                                                                                               \
      return al_curl_setopt_failed(err, SETOPT_WHO, #opt, rc_);                                                        \
  } while (0)
#define SETOPT_LONG(h, opt, val) SETOPT_(h, opt, long, CURLOPTTYPE_LONG, CURLOPTTYPE_OBJECTPOINT, val)
#define SETOPT_PTR(h, opt, val) SETOPT_(h, opt, const void *, CURLOPTTYPE_OBJECTPOINT, CURLOPTTYPE_FUNCTIONPOINT, val)
#define SETOPT_FN(h, opt, val) SETOPT_(h, opt, curl_write_callback, CURLOPTTYPE_FUNCTIONPOINT, CURLOPTTYPE_OFF_T, val)
#define SETOPT_OFF(h, opt, val) SETOPT_(h, opt, curl_off_t, CURLOPTTYPE_OFF_T, CURLOPTTYPE_BLOB, val)

/* What the node client and the webhook sender set up the same way, with
 * their own values. */
typedef struct al_curl_common {
  const char *who;       /* for messages, as SETOPT_WHO: "HTTP client" */
  char *errbuf;          /* CURL_ERROR_SIZE bytes: libcurl's message for a failed transfer */
  const char *protocols; /* CURLOPT_PROTOCOLS_STR: "http,https", "https", ... */
  const char *user_agent;
  long connect_timeout_ms;
  bool tls;            /* an https:// destination */
  const char *ca_file; /* with tls: the trust store instead of the system's; NULL = the system's */
} al_curl_common;

/* Sets on h: the error buffer; no signals (no process-wide signal changes,
 * which a thread must not make either; sockets use MSG_NOSIGNAL); only the
 * given protocols; no redirects (a redirect is a refusal, never a new
 * destination); the connect timeout and the user agent.  Then with tls: the
 * peer's certificate and host name verified, TLS 1.2 or newer, the CA file;
 * without: no proxy, whatever http_proxy says (loopback stays loopback).
 * 0, or -1 with *err naming the option that failed. */
int al_curl_setopt_common(CURL *h, const al_curl_common *o, airlock_error **err);

/* Cleanup attributes for what libcurl allocates. */
static inline void al_curl_url_cleanup(CURLU **u) {
  if (*u)
    al_curl()->url_cleanup(*u);
}
static inline void al_curl_str_cleanup(char **p) {
  if (*p)
    al_curl()->free(*p);
}
#define _cleanup_curl_url_ __attribute__((cleanup(al_curl_url_cleanup)))
#define _cleanup_curl_str_ __attribute__((cleanup(al_curl_str_cleanup)))

/* Whether a URL's host part is a numeric loopback address (127.0.0.0/8 or
 * [::1]): where plain http:// may go. */
bool al_curl_host_is_loopback(const char *host);

#endif
