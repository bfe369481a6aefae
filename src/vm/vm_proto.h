/* SPDX-License-Identifier: Apache-2.0 */
/* vm_proto.h - the control channel between airlock and the agent inside a
 * microVM (--isolation vm).
 *
 * The node's persistent-sandbox agent protocol (sandbox/agent_proto.h) is
 * one SOCK_SEQPACKET message per request with the command's stdio passed as
 * SCM_RIGHTS descriptors.  Descriptors cannot cross a VM boundary and a
 * virtio-serial port is a byte stream, so here every message is a frame:
 * a 16-byte header (al_vm_frame_hdr) and len bytes of payload.  The payloads
 * are the node's own messages where one exists: an exec is an al_agent_req
 * and its argv/env/cwd strings exactly as agent.c reads them, a signal is an
 * al_agent_req with signo, and every status (started, error, exit with its
 * usage) is an al_status_msg (sandbox/plan.h).  What the descriptors did is
 * carried by data frames: STDIN host->guest, STDOUT/STDERR guest->host.
 *
 * Both ends share the architecture (x86-64 guest on an x86-64 host), so the
 * integers are native-endian.  Every frame is untrusted on both sides: the
 * guest's output is the sandboxed command's, and the host side is checked
 * anyway (fuzz/fuzz_vm_proto.c runs both parsers). */
#ifndef AIRLOCK_VM_PROTO_H
#define AIRLOCK_VM_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "agent_proto.h"

#define AL_VM_MAGIC 0xA1F0u

enum al_vm_kind {
  /* host -> guest */
  AL_VM_EXEC = 1,      /* al_agent_req (kind AL_AGENT_EXEC) + argv, env, cwd strings */
  AL_VM_STDIN = 2,     /* bytes for the running command's stdin */
  AL_VM_STDIN_EOF = 3, /* no payload: close its stdin */
  AL_VM_SIGNAL = 4,    /* al_agent_req (kind AL_AGENT_SIGNAL, signo): to the command's process group */
  AL_VM_SHUTDOWN = 5,  /* no payload: sync and power off */
  AL_VM_PUT_FILE = 6,  /* bytes appended to the guest file exec_id names (enum al_vm_file), before any exec */
  /* guest -> host */
  AL_VM_READY = 16,  /* payload: the guest kernel's release (uname -r), not NUL-terminated */
  AL_VM_STDOUT = 17, /* bytes the command wrote to stdout */
  AL_VM_STDERR = 18, /* bytes the command wrote to stderr */
  AL_VM_STATUS = 19, /* al_status_msg: AL_MSG_EXEC_STARTED, AL_MSG_EXEC_ERROR, AL_MSG_EXEC_EXIT */
  /* the airlock.net port (vm_net.h), id = the connection or query */
  AL_VM_NET_OPEN = 32,  /* guest -> host, no payload: a connection to the proxy */
  AL_VM_NET_DATA = 33,  /* either way: bytes of a connection (within the window) */
  AL_VM_NET_ACK = 34,   /* either way: uint32_t, bytes of the connection written out since the last ACK */
  AL_VM_NET_EOF = 35,   /* either way, no payload: the sender's side will send no more */
  AL_VM_NET_CLOSE = 36, /* either way, no payload: the connection is gone (reset, refused) */
  AL_VM_NET_DNS = 37,   /* a DNS message: a query guest -> host, its answer host -> guest */
};

/* The files the host may give the guest (AL_VM_PUT_FILE): --network
 * proxy's trust store, so that TLS through the proxy verifies */
enum al_vm_file {
  AL_VM_FILE_SYSTEM_CA = 1, /* /etc/ssl/certs/ca-certificates.crt: the host's bundle (+ the proxy's CA) */
  AL_VM_FILE_CA_BUNDLE = 2, /* /run/airlock/ca-certificates.crt: the same, for inspected hosts */
  AL_VM_FILE_CA_CERT = 3,   /* /run/airlock/egress-ca.crt: the proxy's CA alone */
};

typedef struct al_vm_frame_hdr {
  uint16_t magic; /* AL_VM_MAGIC */
  uint16_t kind;  /* enum al_vm_kind */
  uint32_t len;   /* payload bytes after the header */
  uint64_t exec_id;
} al_vm_frame_hdr;

/* The largest payload: an exec request as big as the node allows */
#define AL_VM_MAX_PAYLOAD (sizeof(al_agent_req) + AL_AGENT_MAX_PAYLOAD)
/* data frames are cut at this size */
#define AL_VM_DATA_CHUNK 32768

typedef struct al_vm_frame {
  uint16_t kind;
  uint64_t exec_id;
  const uint8_t *payload; /* points into the buffer given to al_vm_frame_next */
  uint32_t len;
} al_vm_frame;

/* The first complete frame at buf[0..len): returns the bytes it takes
 * (header and payload) with *out filled in, 0 when more bytes are needed,
 * -1 when the bytes cannot be a frame (bad magic, unknown kind, a length
 * above AL_VM_MAX_PAYLOAD or wrong for its kind): the stream is then
 * unusable and the peer must be dropped. */
long al_vm_frame_next(const uint8_t *buf, size_t len, al_vm_frame *out);

/* Write the header for (kind, exec_id, len) into hdr. */
void al_vm_frame_header(al_vm_frame_hdr *hdr, uint16_t kind, uint64_t exec_id, uint32_t len);

/* An exec frame's payload split into argv (argc strings), env (envc
 * strings) and cwd, as agent.c splits a node request.  The strings are
 * copied into one allocation: *argv, *env point into it, free(*argv) frees
 * everything (argv[0] pointer array first).  -1 when malformed (short,
 * unterminated, argc 0, counts beyond the payload, bytes after cwd). */
int al_vm_exec_parse(const uint8_t *payload, size_t len, char ***argv, char ***env, char **cwd);

/* Build an exec payload (al_agent_req + strings) into a malloc'd buffer;
 * NULL when it would be larger than AL_VM_MAX_PAYLOAD or memory runs out. */
uint8_t *al_vm_exec_build(char *const *argv, char *const *env, const char *cwd, uint32_t *len);

#endif
