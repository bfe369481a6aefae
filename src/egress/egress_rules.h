/* SPDX-License-Identifier: Apache-2.0 */
/* egress_rules.h - the decisions of the egress proxy that need no network:
 * what a host string means (a name, normalised to IDNA A-labels, or an IP
 * literal in any encoding a resolver or browser would accept), whether the
 * operator's rules let a sandbox reach HOST:PORT, and whether an address the
 * proxy is about to connect to is one a sandbox must never reach (loopback,
 * private, link-local and cloud metadata, and IPv6 forms embedding those).
 * All functions are pure: no DNS, no sockets.  See docs/egress.md. */
#ifndef AIRLOCK_EGRESS_RULES_H
#define AIRLOCK_EGRESS_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "airlock/airlock.h"

/* A normalised name is at most 253 characters (plus the NUL). */
#define AL_HOST_MAX 254

/* Normalise a host name: reject empty input, bytes that are not letters,
 * digits, '-', '.' or UTF-8 (so '%', '@', '_', whitespace and control
 * characters are refused before IDNA could drop them), remove one trailing
 * dot, apply UTS#46 (non-transitional, STD3) with libidn2 to A-labels, then
 * check the result: lower-case letters, digits and '-' only, labels of 1-63
 * characters not starting or ending with '-', 253 characters at most.  A
 * name whose last label is numeric (an IP literal such as 127.0.0.1 or
 * 0x7f.1, also when spelt with full-width digits) is refused: IP literals
 * go through al_ip_parse instead.  0 and out filled, or -1 and *err. */
int al_host_normalise(const char *in, char *out, size_t outlen, airlock_error **err);

/* An IPv4 (family AF_INET, addr[0..3]) or IPv6 (AF_INET6) address. */
typedef struct {
  int family;
  uint8_t addr[16];
} al_ip;

typedef enum {
  AL_IP_NOT = 0,  /* not an IP literal: a name (to normalise) */
  AL_IP_V4 = 1,   /* an IPv4 literal */
  AL_IP_V6 = 2,   /* an IPv6 literal */
  AL_IP_BAD = -1, /* looks like an IP literal but is invalid (a number out
                     of range, an IPv6 zone id, ...): refuse it */
} al_ip_kind;

/* Classify and parse a host string as curl, browsers (WHATWG URL) and glibc
 * inet_aton read it: one trailing dot ignored; IPv4 as 1 to 4 parts, each
 * decimal, octal (leading 0) or hex (0x), the last part filling the
 * remaining bytes (2130706433, 0x7f000001, 0177.0.0.1, 127.1, 0x7f.1);
 * IPv6 with or without brackets (zone ids "%eth0" are AL_IP_BAD).  A string
 * whose last label is a number is an IPv4 literal or AL_IP_BAD, never a
 * name.  ip may be NULL. */
al_ip_kind al_ip_parse(const char *host, al_ip *ip);

/* Whether ip must never be connected to from a sandbox; on true a short
 * reason ("loopback 127.0.0.1", "IPv4 embedded in 6to4 2002::/16: private
 * 10.0.0.0/8", ...) is written to why (if not NULL). */
bool al_ip_forbidden(const al_ip *ip, char *why, size_t whylen);
/* The same for an AF_INET or AF_INET6 socket address (any other family is
 * forbidden). */
bool al_addr_forbidden(const struct sockaddr *sa, char *why, size_t whylen);

typedef enum { AL_EGRESS_DENY = 0, AL_EGRESS_ALLOW = 1 } al_egress_verdict;

/* A list of allow and deny rules.  A rule is HOST[:PORT]:
 *   HOST  a name ("api.example.com", IDNA allowed), "*.SUFFIX" (names
 *         strictly under SUFFIX, not SUFFIX itself), "*" (any name, but
 *         no IP literal), an IPv4 literal or
 *         CIDR ("10.0.0.0/8"), or a bracketed IPv6 literal or CIDR
 *         ("[2001:db8::/32]");
 *   PORT  a number 1-65535, or "*" for any port; no port means 80 and 443.
 * Name rules match names only, IP rules match IP literals only (an
 * IPv4-mapped IPv6 literal counts as its IPv4 address, and deny rules on an
 * IPv4 address also cover its NAT64, IPv4-compatible and IPv4-translated
 * IPv6 forms). */
typedef struct al_egress_ruleset al_egress_ruleset;

al_egress_ruleset *al_egress_ruleset_new(void); /* NULL when out of memory */
void al_egress_ruleset_free(al_egress_ruleset *rs);
/* Parse and append one rule; -1 and *err when it is invalid. */
int al_egress_ruleset_add(al_egress_ruleset *rs, al_egress_verdict verdict, const char *rule, airlock_error **err);
size_t al_egress_ruleset_count(const al_egress_ruleset *rs);

/* Decide whether the sandbox may reach host:port.  A deny rule that
 * matches wins over any allow rule; no matching rule means deny; a host
 * that is neither a valid name nor a valid IP literal is denied.  The
 * reason names the deciding rule ("allowed by rule 'api.example.com:443'",
 * "denied by rule '*.evil.com'", "no rule allows example.org:443",
 * "invalid host: ..."); reason may be NULL. */
al_egress_verdict al_egress_decide(const al_egress_ruleset *rs, const char *host, uint16_t port, char *reason,
                                   size_t reasonlen);

/* Whether some port exists at which al_egress_decide would allow the name:
 * an allow rule matches it and it is not denied at every port that rule
 * covers.  For the DNS stub, which answers for allowed names only.  The
 * name is normalised again (al_host_normalise is idempotent); an invalid
 * name or an IP literal is never allowed. */
bool al_egress_name_allowed(const al_egress_ruleset *rs, const char *normalised_name);

#endif
