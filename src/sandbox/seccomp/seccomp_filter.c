/* SPDX-License-Identifier: Apache-2.0 */
/* seccomp_filter.c - which syscalls a sandboxed process may not make.
 *
 * Default allow with a deny list (EPERM), like Docker's profile inverted:
 * agents run arbitrary toolchains, so an allow list breaks real workloads,
 * while the deny list covers the kernel surfaces that sandbox escapes and
 * container CVEs have used (namespaces, mounts, ptrace, keyrings, bpf,
 * io_uring, userfaultfd, terminal injection, exotic socket families,
 * executable memfds).
 * Foreign ABIs (x32, i386) are killed: their syscall numbers bypass
 * per-number rules.  This file holds the rules; the build turns them into a
 * BPF program once (tools/seccomp_gen.c, seccomp_program.c), in two variants
 * that differ only in how memfd_create is judged (see al_seccomp_compile). */
#define _GNU_SOURCE
#include "seccomp_filter.h"
#include "cleanup.h"
#include "error.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
/* Linux 6.3 (linux/memfd.h); Debian 12's headers predate them */
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#define X32_SYSCALL_BIT 0x40000000

static const char *const denied_syscalls[] = {
    /* filesystems and namespaces */
    "mount",
    "umount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "open_by_handle_at",
    "name_to_handle_at",
    /* other processes' memory */
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "process_madvise",
    "pidfd_getfd",
    /* the kernel itself */
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "lookup_dcookie",
    "quotactl",
    "quotactl_fd",
    "nfsservctl",
    "vhangup",
    "iopl",
    "ioperm",
    "uselib",
    "_sysctl",
    "sysfs",
    "ustat",
    /* keyrings */
    "keyctl",
    "add_key",
    "request_key",
    /* host administration */
    "swapon",
    "swapoff",
    "reboot",
    "acct",
    "syslog",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "sethostname",
    "setdomainname",
    "create_module",
    "get_kernel_syms",
    "query_module",
    /* NUMA placement of other processes' memory (as Docker's profile) */
    "move_pages",
    "migrate_pages",
    "mbind",
    "set_mempolicy",
    "fanotify_init",
};

/* Syscalls newer than the libseccomp the filter may be built with (Debian 12
 * has 2.5.4, which knows none of these): denied by number when the name does
 * not resolve.  From 424 on every architecture shares one syscall table
 * except alpha, mips and ia64, so the numbers hold for the architectures
 * accepted in add_new() below. */
static const struct {
  const char *name;
  int nr;
} denied_new_syscalls[] = {
    {"statmount", 457},      /* 6.8: a mount's source, options and path by id */
    {"listmount", 458},      /* 6.8: every mount id in a namespace */
    {"open_tree_attr", 467}, /* 6.15: open_tree with mount attributes */
};

static const unsigned long namespace_flags[] = {
    CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP, CLONE_NEWTIME,
};

/* libseccomp's SCMP_An() macros leave fields implicit, which clang warns about */
static struct scmp_arg_cmp arg_cmp(unsigned int arg, enum scmp_compare op, scmp_datum_t a, scmp_datum_t b) {
  struct scmp_arg_cmp c = {.arg = arg, .op = op, .datum_a = a, .datum_b = b};
  return c;
}

static void release_ctx(scmp_filter_ctx *c) {
  if (*c)
    seccomp_release(*c);
}

static int add(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n, const struct scmp_arg_cmp *cmp,
               airlock_error **err) {
  int nr = seccomp_syscall_resolve_name(name);
  if (nr == __NR_SCMP_ERROR)
    return 0; /* not on this architecture */
  int r = seccomp_rule_add_array(ctx, action, nr, n, cmp);
  if (r < 0)
    return al_err(err, -r, "seccomp rule for %s", name);
  return 0;
}

/* A syscall this libseccomp may not know by name: never skipped silently,
 * since a name that does not resolve would leave it allowed. */
static int add_new(scmp_filter_ctx ctx, uint32_t action, const char *name, int nr, airlock_error **err) {
  int known = seccomp_syscall_resolve_name(name);
  if (known == __NR_SCMP_ERROR) {
    uint32_t arch = seccomp_arch_native();
    if (arch != SCMP_ARCH_X86_64 && arch != SCMP_ARCH_AARCH64)
      return al_err(err, 0, "seccomp: this libseccomp does not know %s; add its number for this architecture", name);
    known = nr;
  }
  int r = seccomp_rule_add_array(ctx, action, known, 0, NULL);
  if (r < 0)
    return al_err(err, -r, "seccomp rule for %s", name);
  return 0;
}

int al_seccomp_compile(al_bpf *out, bool memfd_seal_required, airlock_error **err) {
  memset(out, 0, sizeof(*out));
  __attribute__((cleanup(release_ctx))) scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == NULL)
    return al_err(err, 0, "seccomp_init failed");
  /* only the native ABI; anything else is killed (x32 below) */
  if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) < 0 ||
      seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) < 0 ||
      /* a binary tree of syscall numbers instead of a linear chain: every
       * syscall the sandbox makes pays for this filter */
      seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) < 0)
    return al_err(err, 0, "seccomp attributes");
  const uint32_t eperm = SCMP_ACT_ERRNO(EPERM);
  for (size_t i = 0; i < AL_ARRAY_SIZE(denied_syscalls); i++)
    if (add(ctx, eperm, denied_syscalls[i], 0, NULL, err) < 0)
      return -1;
  for (size_t i = 0; i < AL_ARRAY_SIZE(denied_new_syscalls); i++)
    if (add_new(ctx, eperm, denied_new_syscalls[i].name, denied_new_syscalls[i].nr, err) < 0)
      return -1;

  /* clone with any namespace flag; clone3 passes flags in memory that BPF
   * cannot read, so it reports ENOSYS and libc falls back to clone. */
  for (size_t i = 0; i < AL_ARRAY_SIZE(namespace_flags); i++) {
    struct scmp_arg_cmp c = arg_cmp(0, SCMP_CMP_MASKED_EQ, namespace_flags[i], namespace_flags[i]);
    if (add(ctx, eperm, "clone", 1, &c, err) < 0)
      return -1;
  }
  if (add(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL, err) < 0)
    return -1;

  /* terminals: keystroke injection into a terminal shared with the caller
   * (TIOCSTI, TIOCLINUX's paste and console commands), redirecting the
   * console (TIOCCONS), and line disciplines (TIOCSETD: n_gsm, n_hdlc and
   * the like are old sources of kernel bugs).  The kernel takes the request
   * as an unsigned int, so only its low 32 bits are compared: high bits set
   * by the caller do not change the command and do not slip through. */
  const unsigned long tty_cmds[] = {TIOCSTI, TIOCLINUX, TIOCCONS, TIOCSETD};
  for (size_t i = 0; i < AL_ARRAY_SIZE(tty_cmds); i++) {
    struct scmp_arg_cmp c = arg_cmp(1, SCMP_CMP_MASKED_EQ, 0xffffffffUL, tty_cmds[i]);
    if (add(ctx, eperm, "ioctl", 1, &c, err) < 0)
      return -1;
  }

  /* Executable memfds would run code despite noexec /tmp (memfd_create, then
   * execve("/proc/self/fd/N")).  MFD_EXEC is refused as vm.memfd_noexec=2
   * refuses it.  A memfd made without MFD_NOEXEC_SEAL is executable unless
   * the pid namespace's vm.memfd_noexec is 1 or 2, which only the host's
   * root can set (sandbox_init.c); where it is not, the second variant
   * refuses such calls with ENOSYS, so libraries take their path for
   * kernels without memfd (a file in /dev/shm or /tmp, both noexec). */
  {
    struct scmp_arg_cmp c = arg_cmp(1, SCMP_CMP_MASKED_EQ, MFD_EXEC, MFD_EXEC);
    if (add(ctx, SCMP_ACT_ERRNO(EACCES), "memfd_create", 1, &c, err) < 0)
      return -1;
  }
  if (memfd_seal_required) {
    struct scmp_arg_cmp c = arg_cmp(1, SCMP_CMP_MASKED_EQ, MFD_EXEC | MFD_NOEXEC_SEAL, 0);
    if (add(ctx, SCMP_ACT_ERRNO(ENOSYS), "memfd_create", 1, &c, err) < 0)
      return -1;
  }

  /* socket families: only unix, inet and inet6 */
  for (int fam = 0; fam < AF_INET6; fam++) {
    if (fam == AF_UNIX || fam == AF_INET)
      continue;
    struct scmp_arg_cmp c = arg_cmp(0, SCMP_CMP_EQ, (scmp_datum_t)fam, 0);
    if (add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), "socket", 1, &c, err) < 0)
      return -1;
  }
  {
    struct scmp_arg_cmp c = arg_cmp(0, SCMP_CMP_GT, (scmp_datum_t)AF_INET6, 0);
    if (add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), "socket", 1, &c, err) < 0)
      return -1;
  }
  /* socketpair creates its sockets through the family's code before asking
   * whether the family can pair them (only unix can), so netlink, packet,
   * vsock or xdp would be reached through it: only AF_UNIX */
  {
    struct scmp_arg_cmp c = arg_cmp(0, SCMP_CMP_NE, (scmp_datum_t)AF_UNIX, 0);
    if (add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), "socketpair", 1, &c, err) < 0)
      return -1;
  }

  /* personality: only the default Linux personality (no ASLR switch-off,
   * no READ_IMPLIES_EXEC).  libseccomp cannot express "0 or 0xffffffff" in
   * a default-allow filter, so the query form is refused as well. */
  {
    struct scmp_arg_cmp c = arg_cmp(0, SCMP_CMP_NE, 0, 0);
    if (add(ctx, eperm, "personality", 1, &c, err) < 0)
      return -1;
  }

  /* export as BPF through a memfd */
  _cleanup_close_ int fd = memfd_create("airlock-seccomp", MFD_CLOEXEC);
  if (fd < 0)
    return al_err(err, errno, "memfd_create");
  int r = seccomp_export_bpf(ctx, fd);
  if (r < 0)
    return al_err(err, -r, "seccomp_export_bpf");
  off_t size = lseek(fd, 0, SEEK_END);
  if (size <= 0 || size % sizeof(struct sock_filter) != 0 || size / sizeof(struct sock_filter) > 0xffff)
    return al_err(err, 0, "seccomp export produced %lld bytes", (long long)size);
  out->insns = malloc((size_t)size);
  if (out->insns == NULL)
    return al_err(err, ENOMEM, "seccomp");
  if (pread(fd, out->insns, (size_t)size, 0) != size) {
    al_bpf_free(out);
    return al_err(err, errno, "reading seccomp program");
  }
  out->len = (unsigned short)(size / sizeof(struct sock_filter));
  out->owned = true;
  return 0;
}
