/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_egress_rules.c - libFuzzer target for the egress proxy's host and
 * rule handling (egress_rules.c).  The input is split on newlines into an
 * allow rule, a deny rule and hosts; each piece is a C string in a buffer of
 * exactly its size.  Checked: a normalised name is canonical (normalising it
 * again gives itself, lower-case LDH labels, never an IP literal); a parsed
 * IP literal printed and parsed again is the same address; a host and its
 * normalised form get the same decision; a name allowed at some port is
 * allowed by al_egress_name_allowed; a deny rule that admits a host always
 * denies it; the forbidden check runs on any 16 bytes. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "egress_rules.h"

static char *piece(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (s == NULL)
    abort();
  if (size)
    memcpy(s, data, size);
  s[size] = '\0';
  return s;
}

static void check_name(const char *s) {
  char out[AL_HOST_MAX];
  airlock_error *err = NULL;
  int r = al_host_normalise(s, out, sizeof(out), &err);
  if (r != 0) {
    if (r != -1 || err == NULL || err->msg == NULL)
      abort();
    airlock_error_free(&err);
    return;
  }
  if (err != NULL)
    abort();
  size_t n = strlen(out);
  if (n == 0 || n > 253 || out[0] == '.' || out[n - 1] == '.' || out[0] == '-')
    abort();
  for (size_t i = 0; i < n; i++)
    if (!((out[i] >= 'a' && out[i] <= 'z') || (out[i] >= '0' && out[i] <= '9') || out[i] == '-' || out[i] == '.'))
      abort();
  if (al_ip_parse(out, NULL) != AL_IP_NOT)
    abort();
  char again[AL_HOST_MAX];
  if (al_host_normalise(out, again, sizeof(again), &err) != 0 || strcmp(out, again) != 0)
    abort();
}

static void check_ip(const char *s) {
  al_ip ip;
  al_ip_kind k = al_ip_parse(s, &ip);
  if (k != AL_IP_V4 && k != AL_IP_V6)
    return;
  char buf[INET6_ADDRSTRLEN + 2];
  if (inet_ntop(ip.family, ip.addr, buf + 1, INET6_ADDRSTRLEN) == NULL)
    abort();
  al_ip back;
  if (al_ip_parse(buf + 1, &back) != k || memcmp(back.addr, ip.addr, 16) != 0)
    abort();
  char why[128];
  (void)al_ip_forbidden(&ip, why, sizeof(why));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *pieces[4] = {0};
  int n = 0;
  size_t start = 0;
  for (size_t i = 0; i <= size && n < 4; i++) {
    if (i == size || data[i] == '\n') {
      pieces[n++] = piece(data + start, i - start);
      start = i + 1;
    }
  }
  uint16_t port = size >= 2 ? (uint16_t)(data[0] << 8 | data[size - 1]) : 443;

  al_egress_ruleset *allow = al_egress_ruleset_new();
  al_egress_ruleset *deny = al_egress_ruleset_new();
  if (allow == NULL || deny == NULL)
    abort();
  airlock_error *err = NULL;
  if (n > 0 && al_egress_ruleset_add(allow, AL_EGRESS_ALLOW, pieces[0], &err) != 0)
    airlock_error_free(&err);
  if (n > 1) {
    if (al_egress_ruleset_add(allow, AL_EGRESS_DENY, pieces[1], &err) != 0)
      airlock_error_free(&err);
    else if (al_egress_ruleset_add(deny, AL_EGRESS_ALLOW, pieces[1], &err) != 0)
      abort(); /* the same text is valid whatever its verdict */
  }
  for (int i = 0; i < n; i++) {
    const char *host = pieces[i];
    check_name(host);
    check_ip(host);
    char reason[300];
    al_egress_verdict v = al_egress_decide(allow, host, port, reason, sizeof(reason));
    if (reason[0] == '\0')
      abort();
    char norm[AL_HOST_MAX];
    if (al_ip_parse(host, NULL) == AL_IP_NOT && al_host_normalise(host, norm, sizeof(norm), &err) == 0 &&
        al_egress_decide(allow, norm, port, NULL, 0) != v)
      abort();
    airlock_error_free(&err);
    /* a name allowed at some port is a name the DNS stub answers for */
    if (v == AL_EGRESS_ALLOW && al_ip_parse(host, NULL) == AL_IP_NOT && !al_egress_name_allowed(allow, host))
      abort();
    /* a host that the second rule matches (as an allow rule alone) is
     * denied when that rule is a deny rule, whatever the first allows */
    if (n > 1 && al_egress_decide(deny, host, port, NULL, 0) == AL_EGRESS_ALLOW && v != AL_EGRESS_DENY)
      abort();
  }
  if (size >= 16) {
    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
    memcpy(&s6.sin6_addr, data, 16);
    char why[128];
    (void)al_addr_forbidden((struct sockaddr *)&s6, why, sizeof(why));
    struct sockaddr_in s4 = {.sin_family = AF_INET};
    memcpy(&s4.sin_addr, data, 4);
    (void)al_addr_forbidden((struct sockaddr *)&s4, why, sizeof(why));
  }
  al_egress_ruleset_free(allow);
  al_egress_ruleset_free(deny);
  for (int i = 0; i < n; i++)
    free(pieces[i]);
  return 0;
}
