/* SPDX-License-Identifier: Apache-2.0 */
/* proxy_ca.h - the certificate authority of one egress proxy's inspected
 * tunnels.  Made when the proxy starts, in its memory only: an EC P-256 key
 * pair and a self-signed CA certificate valid for as long as the sandbox
 * may run, limited by name constraints to the inspected hosts.  Only the
 * certificate leaves the proxy (the launcher puts it into the sandbox's
 * trust store); the key never does.  For each inspected host the proxy
 * presents a leaf certificate issued here on first use.  Pure: OpenSSL, no
 * I/O, so the issuance parameters are unit-tested (tests/unit/test_proxy_ca.c). */
#ifndef AIRLOCK_PROXY_CA_H
#define AIRLOCK_PROXY_CA_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "airlock/airlock.h"

/* notBefore lies this far before the moment of issue, so a clock stepped
 * back a little does not make a fresh certificate "not yet valid" */
#define AL_PROXY_CA_SKEW_S 300
/* leaf certificates kept, one per host; the oldest is replaced */
#define AL_PROXY_CA_LEAVES 64

typedef struct al_proxy_ca al_proxy_ca;

/* A new CA at time now (Unix seconds), valid until now + validity_s:
 * basicConstraints CA:TRUE with pathlen 0 and keyUsage keyCertSign and
 * cRLSign (both critical), a subject naming label (the sandbox), and, when
 * n_permitted > 0, critical name constraints permitting those DNS names
 * (each with its subdomains) and excluding every IPv4 and IPv6 address.
 * Also makes the one P-256 key pair all its leaf certificates carry. */
al_proxy_ca *al_proxy_ca_new(const char *label, const char *const *permitted, size_t n_permitted, int64_t now,
                             int64_t validity_s, airlock_error **err);
void al_proxy_ca_free(al_proxy_ca *ca);

/* The CA certificate (no key) as PEM, malloc'd. */
char *al_proxy_ca_pem(const al_proxy_ca *ca, airlock_error **err);
/* Borrowed: the CA certificate, and the key of every leaf. */
X509 *al_proxy_ca_cert(const al_proxy_ca *ca);
EVP_PKEY *al_proxy_ca_leaf_key(const al_proxy_ca *ca);

/* The leaf certificate for host (a normalised name: lower-case letters,
 * digits, '-' and '.'), issued at now on first use and kept: a random
 * 16-byte serial, CN and subjectAltName DNS:host, serverAuth only, CA:FALSE,
 * digitalSignature, valid from now - AL_PROXY_CA_SKEW_S until the CA's own
 * end, signed ECDSA with SHA-256.  Borrowed until a later call replaces it
 * (SSL_use_certificate takes its own reference). */
X509 *al_proxy_ca_leaf(al_proxy_ca *ca, const char *host, int64_t now, airlock_error **err);

#endif
