/* SPDX-License-Identifier: Apache-2.0 */
/* seccomp_program.c - the built-in seccomp programs (generated at build time
 * from the rules in seccomp_filter.c) and their installation in the child. */
#define _GNU_SOURCE
#include "seccomp_filter.h"

#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "seccomp_program.h"

void al_seccomp_builtin(al_bpf *out) {
  out->insns = (struct sock_filter *)al_seccomp_program;
  out->len = (unsigned short)(sizeof(al_seccomp_program) / sizeof(al_seccomp_program[0]));
  out->owned = false;
}

void al_seccomp_builtin_memfd_seal_required(al_bpf *out) {
  out->insns = (struct sock_filter *)al_seccomp_program_memfd_seal_required;
  out->len = (unsigned short)(sizeof(al_seccomp_program_memfd_seal_required) /
                              sizeof(al_seccomp_program_memfd_seal_required[0]));
  out->owned = false;
}

int al_seccomp_install(const al_bpf *bpf) {
  struct sock_fprog prog = {.len = bpf->len, .filter = bpf->insns};
  return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}
