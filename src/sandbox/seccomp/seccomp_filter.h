/* seccomp_filter.h - the syscall filter.  Its rules are compiled with
 * libseccomp at build time (tools/seccomp_gen) into a BPF program that the
 * sandbox's init installs as it is: no filter compilation on the launch path. */
#ifndef AIRLOCK_SECCOMP_FILTER_H
#define AIRLOCK_SECCOMP_FILTER_H

#include "airlock/airlock.h"
#include <stdbool.h>
#include <stdlib.h>
#include <linux/filter.h>

typedef struct al_bpf {
  struct sock_filter *insns;
  unsigned short len;
  bool owned; /* false for the built-in program */
} al_bpf;

/* Compile the rules now (used by the generator and by tests). */
int al_seccomp_compile(al_bpf *out, airlock_error **err);
/* The program generated from the same rules at build time. */
void al_seccomp_builtin(al_bpf *out);
/* async-signal-safe: only prctl/seccomp syscalls */
int al_seccomp_install(const al_bpf *bpf);
static inline void al_bpf_free(al_bpf *bpf) {
  if (bpf->owned)
    free(bpf->insns);
  bpf->insns = NULL;
  bpf->len = 0;
}

#endif
