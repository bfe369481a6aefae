/* SPDX-License-Identifier: Apache-2.0 */
/* vm_proto.c - see vm_proto.h.  libc only: it is linked into the static
 * guest agent as well as into airlock. */
#include "vm_proto.h"
#include "vm_net.h"

#include <stdlib.h>
#include <string.h>

#include "plan.h"

static int kind_ok(uint16_t kind, uint32_t len) {
  switch (kind) {
  case AL_VM_EXEC: return len >= sizeof(al_agent_req);
  case AL_VM_SIGNAL: return len == sizeof(al_agent_req);
  case AL_VM_STATUS: return len == sizeof(al_status_msg);
  case AL_VM_STDIN_EOF:
  case AL_VM_SHUTDOWN: return len == 0;
  case AL_VM_PUT_FILE:
  case AL_VM_STDIN:
  case AL_VM_STDOUT:
  case AL_VM_STDERR: return len <= AL_VM_DATA_CHUNK;
  case AL_VM_READY: return len <= 256;
  case AL_VM_NET_OPEN:
  case AL_VM_NET_EOF:
  case AL_VM_NET_CLOSE: return len == 0;
  case AL_VM_NET_DATA: return len > 0 && len <= AL_VM_DATA_CHUNK;
  case AL_VM_NET_ACK: return len == sizeof(uint32_t);
  case AL_VM_NET_DNS: return len > 0 && len <= AL_VM_NET_DNS_MAX;
  default: return 0;
  }
}

long al_vm_frame_next(const uint8_t *buf, size_t len, al_vm_frame *out) {
  al_vm_frame_hdr h;
  if (len < sizeof(h))
    return 0;
  memcpy(&h, buf, sizeof(h));
  if (h.magic != AL_VM_MAGIC || h.len > AL_VM_MAX_PAYLOAD || !kind_ok(h.kind, h.len))
    return -1;
  if (len - sizeof(h) < h.len)
    return 0;
  out->kind = h.kind;
  out->exec_id = h.exec_id;
  out->len = h.len;
  out->payload = buf + sizeof(h);
  return (long)(sizeof(h) + h.len);
}

void al_vm_frame_header(al_vm_frame_hdr *hdr, uint16_t kind, uint64_t exec_id, uint32_t len) {
  memset(hdr, 0, sizeof(*hdr));
  hdr->magic = AL_VM_MAGIC;
  hdr->kind = kind;
  hdr->len = len;
  hdr->exec_id = exec_id;
}

/* count bytes of count NUL-terminated strings from p; -1 when they run past end */
static long strings_span(const char *p, const char *end, uint32_t count) {
  const char *start = p;
  for (uint32_t i = 0; i < count; i++) {
    const char *nul = memchr(p, '\0', (size_t)(end - p));
    if (!nul)
      return -1;
    p = nul + 1;
  }
  return p - start;
}

int al_vm_exec_parse(const uint8_t *payload, size_t len, char ***argv_out, char ***env_out, char **cwd_out) {
  al_agent_req req;
  if (len < sizeof(req))
    return -1;
  memcpy(&req, payload, sizeof(req));
  size_t plen = len - sizeof(req);
  /* every string takes at least its NUL: counts beyond the payload are lies */
  if (req.kind != AL_AGENT_EXEC || req.payload_len != plen || req.argc == 0 || req.argc > plen ||
      req.envc > plen - req.argc)
    return -1;
  const char *s = (const char *)payload + sizeof(req), *end = s + plen;
  long a = strings_span(s, end, req.argc);
  long e = a < 0 ? -1 : strings_span(s + a, end, req.envc);
  /* cwd: the rest, one string ending at the payload's last byte */
  if (a < 0 || e < 0 || s + a + e >= end || end[-1] != '\0' ||
      memchr(s + a + e, '\0', (size_t)(end - (s + a + e))) != end - 1)
    return -1;
  size_t ptrs = (size_t)req.argc + 1 + req.envc + 1;
  char **block = malloc(ptrs * sizeof(char *) + plen);
  if (!block)
    return -1;
  char *copy = (char *)(block + ptrs);
  memcpy(copy, s, plen);
  char **argv = block, **env = block + req.argc + 1;
  char *p = copy;
  for (uint32_t i = 0; i < req.argc; i++, p += strlen(p) + 1)
    argv[i] = p;
  argv[req.argc] = NULL;
  for (uint32_t i = 0; i < req.envc; i++, p += strlen(p) + 1)
    env[i] = p;
  env[req.envc] = NULL;
  *argv_out = argv;
  *env_out = env;
  *cwd_out = p;
  return 0;
}

uint8_t *al_vm_exec_build(char *const *argv, char *const *env, const char *cwd, uint32_t *len_out) {
  size_t n = 0;
  uint32_t argc = 0, envc = 0;
  for (; argv && argv[argc]; argc++)
    n += strlen(argv[argc]) + 1;
  for (; env && env[envc]; envc++)
    n += strlen(env[envc]) + 1;
  n += strlen(cwd ? cwd : "") + 1;
  if (argc == 0 || n > AL_AGENT_MAX_PAYLOAD)
    return NULL;
  uint8_t *buf = malloc(sizeof(al_agent_req) + n);
  if (!buf)
    return NULL;
  al_agent_req req = {.kind = AL_AGENT_EXEC, .argc = argc, .envc = envc, .payload_len = (uint32_t)n};
  memcpy(buf, &req, sizeof(req));
  char *p = (char *)buf + sizeof(req);
  for (uint32_t i = 0; i < argc; i++)
    p = stpcpy(p, argv[i]) + 1;
  for (uint32_t i = 0; i < envc; i++)
    p = stpcpy(p, env[i]) + 1;
  strcpy(p, cwd ? cwd : "");
  *len_out = (uint32_t)(sizeof(req) + n);
  return buf;
}
