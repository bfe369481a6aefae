/* SPDX-License-Identifier: Apache-2.0 */
/* agent_msg.c - the pieces of the agent protocol (agent_proto.h) that every
 * agent shares: the namespaces sandbox's init (agent.c), gVisor's
 * supervisor (gvisor_box.c) and the VM's guest init (vm_guest.c, a static
 * binary that compiles this file in).  libc only. */
#define _GNU_SOURCE
#include "agent_proto.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void al_status_fill(al_status_msg *m, int kind, uint64_t exec_id, int value, const struct rusage *ru,
                    const char *text) {
  memset(m, 0, sizeof(*m));
  m->kind = kind;
  m->value = value;
  m->exec_id = exec_id;
  if (ru) {
    m->user_us = (int64_t)ru->ru_utime.tv_sec * 1000000 + ru->ru_utime.tv_usec;
    m->sys_us = (int64_t)ru->ru_stime.tv_sec * 1000000 + ru->ru_stime.tv_usec;
    m->max_rss_kb = ru->ru_maxrss;
  }
  if (text)
    snprintf(m->text, sizeof(m->text), "%s", text);
}

char **al_agent_take_strings(char **p, char *end, uint32_t count) {
  char **v = calloc(count + 1, sizeof(char *));
  if (!v)
    return NULL;
  for (uint32_t i = 0; i < count; i++) {
    char *nul = *p < end ? memchr(*p, '\0', (size_t)(end - *p)) : NULL;
    if (!nul) {
      free(v);
      return NULL;
    }
    v[i] = *p;
    *p = nul + 1;
  }
  return v;
}

char **al_env_merge(char *const *base, char *const *extra, size_t n_extra) {
  size_t n_base = 0;
  while (base && base[n_base])
    n_base++;
  char **env = calloc(n_base + n_extra + 1, sizeof(char *));
  if (!env)
    return NULL;
  size_t n = 0;
  for (size_t i = 0; i < n_base; i++) {
    size_t key = strcspn(base[i], "=") + 1;
    bool overridden = false;
    for (size_t j = 0; j < n_extra && !overridden; j++)
      overridden = strncmp(extra[j], base[i], key) == 0;
    if (!overridden)
      env[n++] = base[i];
  }
  for (size_t j = 0; j < n_extra; j++)
    env[n++] = extra[j];
  return env;
}
