/* SPDX-License-Identifier: Apache-2.0 */
/* tls_sni.h - reading the server name out of a TLS ClientHello as it
 * arrives, so that the egress proxy can decide on a CONNECT tunnel's real
 * destination before it forwards a byte.  The reader takes arbitrary
 * chunks (a record split across TCP segments, a ClientHello split across
 * several handshake records), checks every length against its container,
 * caps the total it will buffer, and refuses what cannot be judged: ECH,
 * no SNI, several names.  It keeps every byte it was fed (al_sni_raw) so
 * the proxy forwards them unchanged once it has decided.  Pure: no I/O. */
#ifndef AIRLOCK_TLS_SNI_H
#define AIRLOCK_TLS_SNI_H

#include <stddef.h>
#include <stdint.h>

#include "egress_rules.h"

#define AL_SNI_DEFAULT_CAP (16 * 1024)

typedef enum {
  AL_SNI_NEED_MORE = 0,             /* feed more bytes */
  AL_SNI_DONE = 1,                  /* al_sni_host() is the server name */
  AL_SNI_ERR_NOT_TLS = -1,          /* the first record is not a TLS handshake record */
  AL_SNI_ERR_NOT_CLIENT_HELLO = -2, /* a handshake message other than ClientHello */
  AL_SNI_ERR_MALFORMED = -3,        /* a length that does not fit its container, a
                                     non-handshake record inside the hello, a
                                     duplicate extension, ... */
  AL_SNI_ERR_NO_SNI = -4,           /* no server_name extension (or no host_name) */
  AL_SNI_ERR_SEVERAL_NAMES = -5,    /* more than one host_name */
  AL_SNI_ERR_ECH = -6,              /* encrypted_client_hello (0xfe0d, drafts
                                     0xfe08-0xfe0c) or ESNI (0xffce) present */
  AL_SNI_ERR_BAD_NAME = -7,         /* the host_name is not a valid host name, or
                                     is an IP literal (RFC 6066 forbids them) */
  AL_SNI_ERR_OVERSIZED = -8,        /* the hello would exceed the cap */
  AL_SNI_ERR_NOMEM = -9,
} al_sni_status;

typedef struct al_sni_reader al_sni_reader;

/* cap: the most bytes buffered before a decision (0: AL_SNI_DEFAULT_CAP).
 * NULL when out of memory. */
al_sni_reader *al_sni_reader_new(size_t cap);
void al_sni_reader_free(al_sni_reader *r);

/* Feed the next len bytes.  Returns NEED_MORE until the ClientHello is
 * complete, then DONE or an error; once it has returned DONE or an error,
 * further calls return the same status and keep nothing.  The chunk that
 * completes the hello is kept whole, bytes after the hello included. */
al_sni_status al_sni_feed(al_sni_reader *r, const void *data, size_t len);

/* The normalised server name (lower case, A-labels) after DONE, else NULL. */
const char *al_sni_host(const al_sni_reader *r);
/* Every byte fed so far (until the final status), to forward unchanged. */
const uint8_t *al_sni_raw(const al_sni_reader *r, size_t *len);
/* A fixed English description of a status. */
const char *al_sni_strerror(al_sni_status st);

#endif
