/* SPDX-License-Identifier: Apache-2.0 */
/* curl_dl.c - loading libcurl at run time, and the options every easy
 * handle gets (see curl_dl.h). */
#define _GNU_SOURCE
#include "curl_dl.h"

#include <dlfcn.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

/* CURLOPT_PROTOCOLS_STR is the newest option the client uses. */
#define MIN_VERSION 0x075500
#define MIN_VERSION_TEXT "7.85.0"

static const char *const sonames[] = {"libcurl.so.4", "libcurl-gnutls.so.4"};

static al_curl_api api;
static const al_curl_api *loaded;
static char load_error[512];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static int resolve(void *lib, const char *soname) {
  struct {
    void *slot;
    const char *name;
  } syms[] = {
      {&api.global_init, "curl_global_init"},
      {&api.global_cleanup, "curl_global_cleanup"},
      {&api.easy_init, "curl_easy_init"},
      {&api.easy_cleanup, "curl_easy_cleanup"},
      {&api.easy_setopt, "curl_easy_setopt"},
      {&api.easy_getinfo, "curl_easy_getinfo"},
      {&api.easy_perform, "curl_easy_perform"},
      {&api.easy_strerror, "curl_easy_strerror"},
      {&api.easy_escape, "curl_easy_escape"},
      {&api.free, "curl_free"},
      {&api.slist_append, "curl_slist_append"},
      {&api.slist_free_all, "curl_slist_free_all"},
      {&api.url, "curl_url"},
      {&api.url_cleanup, "curl_url_cleanup"},
      {&api.url_set, "curl_url_set"},
      {&api.url_get, "curl_url_get"},
      {&api.getdate, "curl_getdate"},
      {&api.version_info, "curl_version_info"},
      {&api.multi_init, "curl_multi_init"},
      {&api.multi_cleanup, "curl_multi_cleanup"},
      {&api.multi_add_handle, "curl_multi_add_handle"},
      {&api.multi_remove_handle, "curl_multi_remove_handle"},
      {&api.multi_perform, "curl_multi_perform"},
      {&api.multi_poll, "curl_multi_poll"},
      {&api.multi_info_read, "curl_multi_info_read"},
  };
  for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
    void *fn = dlsym(lib, syms[i].name);
    if (fn == NULL) {
      snprintf(load_error, sizeof(load_error), "%s has no %s: libcurl %s or newer is needed", soname, syms[i].name,
               MIN_VERSION_TEXT);
      return -1;
    }
    /* POSIX guarantees that a function's address survives a trip through void * */
    memcpy(syms[i].slot, &fn, sizeof(fn));
  }
  return 0;
}

static void load(void) {
  void *lib = NULL;
  const char *soname = NULL;
  for (size_t i = 0; i < sizeof(sonames) / sizeof(sonames[0]) && lib == NULL; i++) {
    soname = sonames[i];
    lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL && i == 0) /* the first name's reason is the one to show */
      snprintf(load_error, sizeof(load_error), "cannot load libcurl, needed to talk to a node (%s)", dlerror());
  }
  if (lib == NULL)
    return;
  if (resolve(lib, soname) < 0)
    return;
  const curl_version_info_data *v = api.version_info(CURLVERSION_NOW);
  if (v == NULL || v->version_num < MIN_VERSION) {
    snprintf(load_error, sizeof(load_error), "%s is libcurl %s; %s or newer is needed", soname,
             v && v->version ? v->version : "(unknown)", MIN_VERSION_TEXT);
    return;
  }
  loaded = &api; /* never dlclose()d: handles and global state live in it */
}

const al_curl_api *al_curl_load(airlock_error **err) {
  pthread_once(&once, load);
  if (loaded == NULL)
    al_err(err, 0, "%s", load_error);
  return loaded;
}

const al_curl_api *al_curl(void) { return loaded; }

int al_curl_setopt_failed(airlock_error **err, const char *who, const char *option, CURLcode rc) {
  return al_err(err, 0, "cannot set up the %s (%s): %s", who, option, al_curl()->easy_strerror(rc));
}

#define SETOPT_WHO o->who
int al_curl_setopt_common(CURL *h, const al_curl_common *o, airlock_error **err) {
  SETOPT_PTR(h, CURLOPT_ERRORBUFFER, o->errbuf);
  SETOPT_LONG(h, CURLOPT_NOSIGNAL, 1L);
  SETOPT_PTR(h, CURLOPT_PROTOCOLS_STR, o->protocols);
  SETOPT_LONG(h, CURLOPT_FOLLOWLOCATION, 0L);
  SETOPT_LONG(h, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
  SETOPT_PTR(h, CURLOPT_USERAGENT, o->user_agent);
  if (!o->tls) {
    SETOPT_PTR(h, CURLOPT_PROXY, "");
    return 0;
  }
  SETOPT_LONG(h, CURLOPT_SSL_VERIFYPEER, 1L);
  SETOPT_LONG(h, CURLOPT_SSL_VERIFYHOST, 2L);
  SETOPT_LONG(h, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
  if (o->ca_file)
    SETOPT_PTR(h, CURLOPT_CAINFO, o->ca_file);
  return 0;
}
#undef SETOPT_WHO

bool al_curl_host_is_loopback(const char *host) {
  unsigned char addr[16];
  if (inet_pton(AF_INET, host, addr) == 1)
    return addr[0] == 127;
  size_t n = strlen(host);
  if (n < 3 || host[0] != '[' || host[n - 1] != ']' || n - 2 >= 64)
    return false;
  char inner[64];
  memcpy(inner, host + 1, n - 2);
  inner[n - 2] = '\0';
  return inet_pton(AF_INET6, inner, addr) == 1 && memcmp(addr, &in6addr_loopback, 16) == 0;
}
