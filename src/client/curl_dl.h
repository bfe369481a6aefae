/* curl_dl.h - libcurl, loaded when the first node client is opened rather
 * than linked.  libcurl pulls in some thirty shared libraries (TLS, Kerberos,
 * LDAP, ...) whose loading and constructors would otherwise be paid by every
 * `airlock run` launch, which never talks HTTP; the client is the only user. */
#ifndef AIRLOCK_CURL_DL_H
#define AIRLOCK_CURL_DL_H

#include <curl/curl.h>

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

#endif
