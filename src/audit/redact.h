/* SPDX-License-Identifier: Apache-2.0 */
/* redact.h - taking secrets out of everything the node keeps: an exec's
 * argv, command strings, error messages and any free text derived from
 * them.  Commands are read with the shell reader (argv or `sh -c` strings
 * alike), secrets are found by the tool's registry of secret-bearing
 * options, by the name next to them, by shape and by value (the secrets
 * airlock knows), and each is replaced whole with "[REDACTED]"; the rest
 * stays, so the record still says what ran.  docs/audit.md lists the rules.
 *
 * Found: KEY=VALUE, --KEY=VALUE and "--KEY VALUE" (next argv element) where
 * KEY names a secret (password, passwd, pwd, secret, token, api key, auth,
 * credential, private key, access key, bearer, passphrase; case-insensitive,
 * as a whole word or the end of one: DB_PASSWORD, apiKey, X-Api-Key, but not
 * author or max_tokens); "KEY": "VALUE" in JSON and "KEY: VALUE" headers;
 * Authorization and Cookie headers; userinfo passwords in URLs; curl's
 * -u/--user USER:PASS; PEM private key blocks; and these token shapes: AWS
 * AKIA/ASIA keys, GitHub gh?_ and github_pat_ tokens, sk-... (OpenAI,
 * Anthropic), Slack xox?-, Google AIza..., JWTs, airlock's node_tok_.  For
 * mysql-like tools only --password=VALUE counts (their -p and --password
 * take no separate value).  Also by where data goes (echo/printf piped
 * into a tool that reads a secret on stdin or written to a secret file,
 * here-documents likewise, printf's output, sed replacements) and in code
 * strings (name = 'x', setters, SQL PASSWORD 'x', expect's send).  Best
 * effort: a secret that looks like nothing (a bare positional argument)
 * stays. */
#ifndef AIRLOCK_REDACT_H
#define AIRLOCK_REDACT_H

#include <jansson.h>
#include <stddef.h>

#include "airlock/airlock.h"

#define AL_REDACTED "[REDACTED]"
/* Raised when the rules find secrets they did not before: a node redacts
 * the records of an audit trail written with an older version again at
 * start (al_audit_redact_existing).  1: the redactor before this number
 * existed; 2: pipes into tools that read a secret, secret files, printf,
 * sed, code strings; 3: the token shapes, secret names, tools and flows
 * found by the third and fourth held-out corpora (base64 after NAME=,
 * unknown Authorization schemes, XML and key=/value= settings, kubectl
 * --from-literal, more than 20 tools' secret options). */
#define AL_REDACTION_VERSION 3

/* A new JSON array of the redacted elements of the NULL-terminated argv
 * (NULL itself gives []); invalid UTF-8 becomes U+FFFD.  NULL when out of
 * memory. */
json_t *al_redact_argv(char *const argv[]);
/* s redacted, malloc'd (bytes kept as they are otherwise); NULL when out of
 * memory. */
char *al_redact_string(const char *s);

/* argv redacted, as strings (NULL-terminated, malloc'd, free each and the
 * array); NULL when out of memory. */
char **al_redact_argv_strings(char *const argv[]);
/* text derived from argv (an error message quoting it): the secrets found
 * in argv are hidden wherever they appear in text, then text is redacted
 * like a command string.  malloc'd; NULL when out of memory or text is NULL. */
char *al_redact_derived(char *const argv[], const char *text);

/* A secret value airlock knows (the secret store's values, the node's own
 * tokens): hidden by exact match everywhere.  Values shorter than 6 bytes
 * are ignored (they would hide ordinary words).  -1 when out of memory. */
int al_redact_add_known(const void *value, size_t len);
void al_redact_clear_known(void);

/* Merge a registry file (the format of data/redaction.json) into the
 * built-in one. */
int al_redact_registry_add_file(const char *path, airlock_error **err);

/* Add a POSIX extended regular expression whose matches (or, when it has
 * one, whose first parenthesised group) are redacted too; a leading "(?i)"
 * makes it case-insensitive.  Meant for setup: thread-safe, but redactions
 * running at the same time may or may not see the new pattern. */
int al_redact_add_pattern(const char *posix_ere, airlock_error **err);
/* Forget every added pattern (tests). */
void al_redact_clear_patterns(void);

#endif
