/* SPDX-License-Identifier: Apache-2.0 */
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

/* Compile the rules now (used by the generator and by tests).  With
 * memfd_seal_required, memfd_create without MFD_NOEXEC_SEAL is refused too:
 * for a pid namespace whose vm.memfd_noexec is 0, where such a memfd could
 * be executed. */
int al_seccomp_compile(al_bpf *out, bool memfd_seal_required, airlock_error **err);
/* The programs generated from the same rules at build time: the first for a
 * pid namespace whose kernel seals memfds (vm.memfd_noexec 1 or 2), the
 * second for one where the filter must. */
void al_seccomp_builtin(al_bpf *out);
void al_seccomp_builtin_memfd_seal_required(al_bpf *out);
/* async-signal-safe: only prctl/seccomp syscalls */
int al_seccomp_install(const al_bpf *bpf);
static inline void al_bpf_free(al_bpf *bpf) {
  if (bpf->owned)
    free(bpf->insns);
  bpf->insns = NULL;
  bpf->len = 0;
}

#endif
