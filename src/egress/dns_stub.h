/* SPDX-License-Identifier: Apache-2.0 */
/* dns_stub.h - the answer of the egress proxy's DNS stub to one UDP query
 * from a sandbox.  The stub never asks anyone else: it answers from the
 * egress rules alone, so that a lookup cannot carry data out of the
 * sandbox.  An allowed name gets a synthetic address (198.18.0.1), every
 * other name NXDOMAIN.  Pure: no sockets, no DNS.  See docs/egress.md. */
#ifndef AIRLOCK_DNS_STUB_H
#define AIRLOCK_DNS_STUB_H

#include <stddef.h>
#include <stdint.h>

#include "egress_rules.h"

/* An answer buffer must hold at least this (the classic UDP DNS size; every
 * answer of the stub fits in it). */
#define AL_DNS_ANSWER_MIN 512

/* The question name as text: at most 255 bytes on the wire, each label
 * byte escaped to at most 4 characters ("\DDD"), plus the NUL. */
#define AL_DNS_NAME_TEXT 1024

/* the address every allowed name resolves to (benchmarking range,
 * unroutable in the sandbox and forbidden by al_addr_forbidden) */
#define AL_DNS_SYNTHETIC_A                                                                                             \
  { 198, 18, 0, 1 }
#define AL_DNS_TTL 60

/* verdicts, for logging */
#define AL_DNS_MALFORMED (-1) /* dropped, FORMERR or NOTIMP */
#define AL_DNS_DENY 0         /* NXDOMAIN or REFUSED */
#define AL_DNS_ALLOW 1        /* NOERROR: an A record, or no data for other types */

/* DNS response codes used */
#define AL_DNS_NOERROR 0
#define AL_DNS_FORMERR 1
#define AL_DNS_NXDOMAIN 3
#define AL_DNS_NOTIMP 4
#define AL_DNS_REFUSED 5

typedef struct {
  /* the name as normalised when it is a valid host name, else as received
   * with every byte other than a letter, digit or '-' escaped as "\DDD"
   * (so printable and unambiguous); "" when no name was read */
  char name[AL_DNS_NAME_TEXT];
  uint16_t qtype; /* 0 when the question was not read */
  int verdict;    /* AL_DNS_ALLOW, AL_DNS_DENY or AL_DNS_MALFORMED */
  int rcode;      /* the answer's RCODE, -1 when the packet is dropped */
  char reason[128];
} al_dns_info;

/* Build the answer to one UDP query of len bytes into out (outcap bytes, at
 * least AL_DNS_ANSWER_MIN).  Returns the answer's length (12 to
 * AL_DNS_ANSWER_MIN), or 0 when the packet is to be dropped: shorter than a
 * header, a response rather than a query, or outcap too small.  A header
 * that is not one plain query gets NOTIMP (opcode) or FORMERR (counts);
 * a question that is malformed (compression pointer, label over 63 bytes,
 * name over 255 bytes, truncated, bytes after it without an additional
 * record) gets FORMERR; a class other than IN gets REFUSED; a name that is
 * not a valid host name, or that al_egress_name_allowed refuses, gets
 * NXDOMAIN; an allowed name gets NOERROR with one A record (TTL 60,
 * 198.18.0.1) for type A and no record for any other type.  info (may be
 * NULL) says what was asked and decided, for the log. */
size_t al_dns_answer(const uint8_t *query, size_t len, const al_egress_ruleset *rs, uint8_t *out, size_t outcap,
                     al_dns_info *info);

#endif
