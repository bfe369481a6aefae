/* seccomp_filter.h - the syscall filter, compiled once in the launcher and
 * installed by the sandbox's init as raw BPF (no library work in the child). */
#ifndef AIRLOCK_SECCOMP_FILTER_H
#define AIRLOCK_SECCOMP_FILTER_H

#include "airlock/airlock.h"
#include <linux/filter.h>

typedef struct al_bpf {
  struct sock_filter *insns;
  unsigned short len;
} al_bpf;

int al_seccomp_compile(al_bpf *out, airlock_error **err);
/* async-signal-safe: only prctl/seccomp syscalls */
int al_seccomp_install(const al_bpf *bpf);
void al_bpf_free(al_bpf *bpf);

#endif
