/* SPDX-License-Identifier: Apache-2.0 */
/* vm_host.c - the host side of --isolation vm (the probe is vm_probe.c):
 * QEMU started as airlock's child (unprivileged where it can be, with no new
 * privileges and QEMU's own seccomp sandbox), the control channel to the
 * guest agent over a virtio-serial port on a socketpair airlock made, and
 * the timeout, which kills the VM.
 *
 * QEMU gets only descriptors airlock made: the two socketpair ends (the
 * agent's channel and the serial console, which also takes QEMU's stderr),
 * the kernel and initramfs opened read-only (passed as /proc/self/fd/N so
 * that a QEMU running as another uid needs no access to the cache
 * directory), /dev/null as stdin and stdout, and with --network proxy a
 * third socketpair end for the airlock.net port.  No NIC: -nodefaults and
 * -nic none. */
#define _GNU_SOURCE
#include "vm.h"
#include "vm_net.h"
#include "vm_proto.h"

#include "cgroup.h"
#include "child.h"
#include "clock.h"
#include "error.h"
#include "network.h"
#include "plan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- the VM ---- */

/* QEMU's memory beyond the guest's RAM: TCG's code cache (AL_VM_TB_MB),
 * the process itself, 9p and virtio buffers */
#define AL_VM_TB_MB "128"
#define AL_VM_QEMU_OVERHEAD (320LL << 20)

#define CONSOLE_KEEP 4096

struct al_vm {
  pid_t qemu;
  int ctl, con;
  uint8_t *buf; /* frames not yet complete */
  size_t len;
  char console[CONSOLE_KEEP + 1]; /* the console's last bytes, for errors */
  size_t console_len;
  bool verbose, dead;
  uint64_t next_id;
  al_cgroup cg; /* QEMU's own: the guest's RAM plus QEMU's, pids, CPU share */
  bool has_cg;
  pid_t relay; /* --network proxy: the host's end of airlock.net (vm_net.h), or 0 */
};

static void console_read(al_vm *vm) {
  char b[4096];
  ssize_t n = read(vm->con, b, sizeof(b));
  if (n <= 0) {
    if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
      close(vm->con);
      vm->con = -1;
    }
    return;
  }
  if (vm->verbose)
    (void)!write(STDERR_FILENO, b, (size_t)n);
  if ((size_t)n >= CONSOLE_KEEP) {
    memcpy(vm->console, b + n - CONSOLE_KEEP, CONSOLE_KEEP);
    vm->console_len = CONSOLE_KEEP;
  } else {
    size_t keep = vm->console_len + (size_t)n > CONSOLE_KEEP ? CONSOLE_KEEP - (size_t)n : vm->console_len;
    memmove(vm->console, vm->console + vm->console_len - keep, keep);
    memcpy(vm->console + keep, b, (size_t)n);
    vm->console_len = keep + (size_t)n;
  }
  vm->console[vm->console_len] = '\0';
}

static int vm_fail(al_vm *vm, airlock_error **err, const char *what) {
  /* the console's tail says why, most of the time */
  const char *tail = vm->console;
  for (int lines = 0, i = (int)vm->console_len - 1; i > 0; i--)
    if (vm->console[i] == '\n' && ++lines == 6) {
      tail = vm->console + i + 1;
      break;
    }
  return al_err(err, 0, "%s%s%s", what, *tail ? "; the guest's console ends with:\n" : "", tail);
}

static int send_frame(al_vm *vm, uint16_t kind, uint64_t id, const void *payload, uint32_t len) {
  al_vm_frame_hdr h;
  al_vm_frame_header(&h, kind, id, len);
  const uint8_t *parts[2] = {(const uint8_t *)&h, payload};
  size_t lens[2] = {sizeof(h), len};
  for (int i = 0; i < 2; i++) {
    size_t off = 0;
    while (off < lens[i]) {
      ssize_t w = send(vm->ctl, parts[i] + off, lens[i] - off, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return -1;
      off += (size_t)w;
    }
  }
  return 0;
}

/* --network proxy: the guest's trust store, from the files vm_egress.c
 * wrote in the proxy's directory, in data-sized pieces */
static int send_file(al_vm *vm, int dir, const char *name, uint64_t id1, uint64_t id2) {
  int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? 0 : -1;
  static uint8_t buf[AL_VM_DATA_CHUNK];
  ssize_t n;
  int rc = 0;
  while (rc == 0 && ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)))
    if (n > 0 && (send_frame(vm, AL_VM_PUT_FILE, id1, buf, (uint32_t)n) < 0 ||
                  (id2 && send_frame(vm, AL_VM_PUT_FILE, id2, buf, (uint32_t)n) < 0)))
      rc = -1;
  if (n < 0)
    rc = -1;
  close(fd);
  return rc;
}

static int give_trust_store(al_vm *vm, int dir) {
  bool inspected = faccessat(dir, AL_VM_NET_CA_CERT, F_OK, 0) == 0;
  if (send_file(vm, dir, AL_VM_NET_CA_BUNDLE, AL_VM_FILE_SYSTEM_CA, inspected ? AL_VM_FILE_CA_BUNDLE : 0) < 0)
    return -1;
  return inspected ? send_file(vm, dir, AL_VM_NET_CA_CERT, AL_VM_FILE_CA_CERT, 0) : 0;
}

static int write_all(int fd, const void *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return -1;
    p = (const char *)p + w;
    n -= (size_t)w;
  }
  return 0;
}

/* read what the control socket has; 0 on EOF (QEMU is gone) */
static ssize_t ctl_read(al_vm *vm) {
  size_t cap = sizeof(al_vm_frame_hdr) + AL_VM_MAX_PAYLOAD;
  ssize_t n = read(vm->ctl, vm->buf + vm->len, cap - vm->len);
  if (n > 0)
    vm->len += (size_t)n;
  return n < 0 && (errno == EINTR || errno == EAGAIN) ? 1 : n;
}

static void consume(al_vm *vm, size_t used) {
  memmove(vm->buf, vm->buf + used, vm->len - used);
  vm->len -= used;
}

/* the child: unprivileged where possible, then QEMU */
__attribute__((noreturn)) static void qemu_child(char **argv, const int fds[6], const int *cg_fds, int n_cg, uid_t uid,
                                                gid_t gid, pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (getppid() != parent)
    _exit(127);
  int cg = al_cgroup_join_self(cg_fds, n_cg);
  if (cg < 0) {
    dprintf(fds[1], "airlock: cannot join QEMU's cgroup: %s\n", strerror(-cg));
    _exit(127);
  }
  setsid();
  int null = open("/dev/null", O_RDWR);
  /* fds: ctl, con, kernel, initrd, the workspace (or -1), the network
   * port (or -1) -> 3 to 8 (dup'd above 10 first so that none is
   * overwritten) */
  int tmp[6];
  for (int i = 0; i < 6; i++)
    tmp[i] = fds[i] >= 0 ? fcntl(fds[i], F_DUPFD, 10) : -1;
  dup2(null, 0);
  dup2(null, 1);
  dup2(tmp[1], 2);
  for (int i = 0; i < 6; i++)
    if (tmp[i] >= 0)
      dup2(tmp[i], 3 + i);
  syscall(SYS_close_range, 9, ~0U, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  if (getuid() == 0 && uid != 0) {
    if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0) {
      dprintf(2, "airlock: cannot drop QEMU to uid %u: %s\n", (unsigned)uid, strerror(errno));
      _exit(127);
    }
    /* a change of credentials clears the parent-death signal: again */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getppid() != parent)
      _exit(127);
  }
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  if (chdir("/") < 0)
    _exit(127);
  execv(argv[0], argv);
  dprintf(2, "airlock: cannot execute %s: %s\n", argv[0], strerror(errno));
  _exit(127);
}

/* who QEMU runs as: the caller when not root; as root, the owner of the
 * shared directories (so files written there are theirs), or nobody when
 * nothing is shared; root only when a shared directory is root's */
static int stat_share(const al_vm_request *req, int which, struct stat *st) {
  if (which == 0 && req->workspace_fd >= 0)
    return fstat(req->workspace_fd, st);
  const char *dir = which == 0 ? req->workspace : req->output;
  return dir ? stat(dir, st) : -1;
}

static void qemu_identity(const al_vm_request *req, uid_t *uid, gid_t *gid) {
  *uid = getuid();
  *gid = getgid();
  if (geteuid() != 0)
    return;
  *uid = 65534;
  *gid = 65534;
  for (int i = 0; i < 2; i++) {
    struct stat st;
    if (stat_share(req, i, &st) == 0) {
      *uid = st.st_uid;
      *gid = st.st_gid;
      if (st.st_uid == 0)
        return;
    }
  }
}

#define ARG(...)                                                                                                     \
  do {                                                                                                               \
    if (argc < (int)(sizeof(argv) / sizeof(argv[0])) - 1)                                                            \
      argv[argc++] = strdup(__VA_ARGS__);                                                                            \
  } while (0)

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...) {
  char *s = NULL;
  va_list ap;
  va_start(ap, f);
  if (vasprintf(&s, f, ap) < 0)
    s = NULL;
  va_end(ap);
  return s;
}

/* a path QEMU's -fsdev takes: no commas (QEMU's option syntax) */
static int share_ok(const al_vm_request *req, int which, const char *dir, airlock_error **err) {
  struct stat st;
  if (stat_share(req, which, &st) < 0)
    return al_err(err, errno, "cannot share '%s' with the VM", dir);
  if (!S_ISDIR(st.st_mode))
    return al_err(err, ENOTDIR, "cannot share '%s' with the VM", dir);
  if (strchr(dir, ','))
    return al_err(err, EINVAL, "cannot share '%s' with the VM: QEMU's options cannot name a path with a comma", dir);
  return 0;
}

al_vm *al_vm_boot(const al_vm_request *req, al_vm_info *info, airlock_error **err) {
  memset(info, 0, sizeof(*info));
  if (al_vm_probe(&info->probe, err) < 0)
    return NULL;
  al_vm_probe_info *p = &info->probe;
  if (strcmp(p->accel, "tcg") == 0 && !req->allow_tcg) {
    al_err(err, 0,
           "--isolation vm: this host cannot run VMs fast (%s): only QEMU's software emulation (TCG) is left, "
           "about 2-3 s a boot and much slower code; pass --allow-degraded to accept emulation",
           p->why_not_kvm);
    return NULL;
  }
  /* a workspace given as a descriptor (the node's, opened below a tenant's
   * root) is shared as QEMU's descriptor 7: never looked up by name again */
  bool has_ws = req->workspace || req->workspace_fd >= 0;
  const char *ws = req->workspace_fd >= 0 ? "/proc/self/fd/7" : req->workspace;
  if ((has_ws && share_ok(req, 0, ws, err) < 0) || (req->output && share_ok(req, 1, req->output, err) < 0))
    return NULL;
  char kernel[PATH_MAX], initrd[PATH_MAX];
  if (al_vm_image_prepare(p, req->state_dir, kernel, sizeof(kernel), initrd, sizeof(initrd), err) < 0)
    return NULL;

  al_vm *vm = calloc(1, sizeof(*vm));
  if (!vm || !(vm->buf = malloc(sizeof(al_vm_frame_hdr) + AL_VM_MAX_PAYLOAD))) {
    free(vm);
    al_err(err, ENOMEM, "VM");
    return NULL;
  }
  vm->qemu = -1;
  vm->ctl = vm->con = -1;
  vm->verbose = req->verbose;
  vm->next_id = 1;
  int ctl[2] = {-1, -1}, con[2] = {-1, -1}, net[2] = {-1, -1};
  int kfd = open(kernel, O_RDONLY | O_CLOEXEC), ifd = open(initrd, O_RDONLY | O_CLOEXEC);
  if (kfd < 0 || ifd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) < 0 ||
      socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, con) < 0 ||
      (req->net && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, net) < 0)) {
    al_err(err, errno, "cannot set up the VM (%s, %s)", kernel, initrd);
    goto fail;
  }

  int64_t mem_mb = (req->memory_bytes > 0 ? req->memory_bytes : 512LL << 20) >> 20;
  if (mem_mb < 128)
    mem_mb = 128;
  int smp = req->cpus > 1 ? (int)req->cpus + ((double)(int)req->cpus < req->cpus) : 1;
  bool kvm = strcmp(p->accel, "kvm") == 0;
  /* The TSC: under TCG the guest's rdtsc is the host's, so it runs at
   * the host's rate; telling the kernel (tsc_early_khz, and lpj for its
   * delay loop: Debian's kernels have HZ=250) skips the calibration that
   * hangs 40-50% of TCG boots.  Under KVM the guest learns its TSC rate
   * from KVM, and nothing is passed.  norandmaps under TCG only: TCG keys its
   * translated code by virtual address, so with ASLR every exec translates
   * ld.so and libc again (an exec of /bin/true: 35 ms instead of 10);
   * the price is no ASLR between the programs inside the guest. */
  uint64_t lpj = p->tsc_khz * 1000 / 250;
  uid_t uid;
  gid_t gid;
  qemu_identity(req, &uid, &gid);
  /* A QEMU that stays root (a shared directory of root's) must not let the
   * guest create host files as root as they are: with security_model=none
   * the guest's mknod, chown and chmod u+s would become a device node or a
   * setuid-root file in the host directory.  mapped-xattr keeps the
   * guest's owners, modes and special files in xattrs; the host sees
   * plain files of root's (0600, directories 0700). */
  const char *model = uid == 0 ? "mapped-xattr" : "none";
  info->share_model = model;
  char *argv[64] = {0};
  int argc = 0;
  ARG(p->qemu);
  ARG("-M");
  ARG("microvm");
  ARG("-accel");
  ARG(kvm ? "kvm" : "tcg,tb-size=" AL_VM_TB_MB); /* TCG's code cache: 1 GiB by default */
  ARG("-cpu");
  ARG(kvm ? "host" : "max");
  ARG("-m");
  argv[argc++] = fmt("%lld", (long long)mem_mb);
  ARG("-smp");
  argv[argc++] = fmt("%d", smp);
  ARG("-nodefaults");
  ARG("-no-user-config");
  ARG("-display");
  ARG("none");
  ARG("-no-reboot");
  ARG("-nic");
  ARG("none");
  ARG("-kernel");
  ARG("/proc/self/fd/5");
  ARG("-initrd");
  ARG("/proc/self/fd/6");
  ARG("-append");
  char tsc[96] = "";
  if (!kvm)
    snprintf(tsc, sizeof(tsc), " tsc_early_khz=%llu tsc=reliable lpj=%llu norandmaps", (unsigned long long)p->tsc_khz,
             (unsigned long long)lpj);
  argv[argc++] =
      fmt("console=ttyS0 quiet%s panic=-1 reboot=t random.trust_cpu=on airlock.ws=%s airlock.out=%s airlock.net=%s", tsc,
          has_ws ? (req->workspace_rw ? "rw" : "ro") : "none", req->output ? "rw" : "none",
          req->net ? "proxy" : "none");
  ARG("-chardev");
  ARG("socket,id=con,fd=4");
  ARG("-serial");
  ARG("chardev:con");
  ARG("-device");
  ARG("virtio-serial-device");
  ARG("-chardev");
  ARG("socket,id=ctl,fd=3");
  ARG("-device");
  ARG("virtserialport,chardev=ctl,name=airlock.ctl");
  if (req->net) {
    ARG("-chardev");
    ARG("socket,id=net,fd=8");
    ARG("-device");
    ARG("virtserialport,chardev=net,name=" AL_VM_NET_PORT_NAME);
  }
  ARG("-fsdev");
  ARG("local,id=usr,path=/usr,security_model=none,readonly=on");
  ARG("-device");
  ARG("virtio-9p-device,fsdev=usr,mount_tag=usr");
  if (has_ws) {
    ARG("-fsdev");
    argv[argc++] = fmt("local,id=ws,path=%s,security_model=%s%s", ws, model,
                       req->workspace_rw ? "" : ",readonly=on");
    ARG("-device");
    ARG("virtio-9p-device,fsdev=ws,mount_tag=ws");
  }
  if (req->output) {
    ARG("-fsdev");
    argv[argc++] = fmt("local,id=out,path=%s,security_model=%s", req->output, model);
    ARG("-device");
    ARG("virtio-9p-device,fsdev=out,mount_tag=out");
  }
  ARG("-sandbox");
  ARG("on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
  argv[argc] = NULL;
  for (int i = 0; i < argc; i++)
    if (!argv[i]) {
      al_err(err, ENOMEM, "QEMU's arguments");
      goto fail_argv;
    }

  info->qemu_uid = (long)uid;
  info->qemu_sandboxed = true;
  int64_t t0 = al_monotonic_ms();
  /* QEMU's cgroup: what it may use in all (the guest's RAM, QEMU's own
   * memory and TCG's code cache), processes and threads, CPU share */
  airlock_spec cs;
  airlock_spec_init(&cs);
  cs.memory_bytes = (mem_mb << 20) + AL_VM_QEMU_OVERHEAD;
  cs.pids = req->pids > 0 ? req->pids : 256;
  cs.cpus = req->cpus > 0 ? req->cpus : 1.0;
  airlock_error *cg_err = NULL;
  int cg_fds[AL_CTRL_COUNT], n_cg = 0;
  if (al_cgroup_create(&vm->cg, &cs, &cg_err) == 0) {
    vm->has_cg = true;
    if (vm->cg.v2_dir_fd >= 0) {
      int f = openat(vm->cg.v2_dir_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
      if (f >= 0)
        cg_fds[n_cg++] = f;
    }
    for (int c = 0; c < AL_CTRL_COUNT; c++)
      if (vm->cg.join_fd[c] >= 0)
        cg_fds[n_cg++] = vm->cg.join_fd[c];
    static const char *const names[AL_CTRL_COUNT] = {"memory", "pids", "cpu"};
    for (int c = 0; c < AL_CTRL_COUNT; c++) {
      if (vm->cg.version[c] && strlen(info->cgroup) + 16 < sizeof(info->cgroup))
        snprintf(info->cgroup + strlen(info->cgroup), sizeof(info->cgroup) - strlen(info->cgroup), "%s%s",
                 info->cgroup[0] ? "," : "", names[c]);
    }
    info->cgroup_memory = vm->cg.version[AL_CTRL_MEMORY] ? cs.memory_bytes : 0;
  }
  airlock_error_free(&cg_err);
  airlock_spec_clear(&cs);
  int fds[6] = {ctl[1], con[1], kfd, ifd, req->workspace_fd, net[1]};
  pid_t parent = getpid();
  vm->qemu = fork();
  if (vm->qemu == 0)
    qemu_child(argv, fds, cg_fds, n_cg, uid, gid, parent);
  if (vm->has_cg && vm->cg.v2_dir_fd >= 0 && n_cg > 0)
    close(cg_fds[0]);
  if (vm->qemu < 0) {
    al_err(err, errno, "cannot start QEMU");
    goto fail_argv;
  }
  for (int i = 0; i < argc; i++)
    free(argv[i]);
  close(ctl[1]);
  close(con[1]);
  close(kfd);
  close(ifd);
  ctl[1] = con[1] = kfd = ifd = -1;
  vm->ctl = ctl[0];
  vm->con = con[0];
  if (req->net) {
    close(net[1]);
    vm->relay = al_vm_net_relay_start(net[0], req->net_dir_fd, uid, gid);
    close(net[0]);
    net[0] = net[1] = -1;
    if (vm->relay < 0) {
      vm->relay = 0;
      al_err(err, errno, "cannot start the VM's network relay");
      goto fail_vm;
    }
  }

  /* wait for the agent's READY */
  double limit = req->boot_timeout_sec > 0 ? req->boot_timeout_sec : 60;
  int64_t deadline = t0 + (int64_t)(limit * 1000);
  for (;;) {
    al_vm_frame f;
    long used = al_vm_frame_next(vm->buf, vm->len, &f);
    if (used < 0) {
      vm_fail(vm, err, "the VM's agent sent a malformed frame while booting");
      goto fail_vm;
    }
    if (used > 0) {
      if (f.kind == AL_VM_READY) {
        snprintf(info->guest_release, sizeof(info->guest_release), "%.*s", (int)f.len, (const char *)f.payload);
        consume(vm, (size_t)used);
        break;
      }
      consume(vm, (size_t)used);
      continue;
    }
    int64_t left = deadline - al_monotonic_ms();
    if (left <= 0) {
      vm_fail(vm, err, "the VM did not come up in time");
      goto fail_vm;
    }
    struct pollfd pf[2] = {{vm->ctl, POLLIN, 0}, {vm->con, POLLIN, 0}};
    if (poll(pf, 2, (int)left) < 0 && errno != EINTR) {
      al_err(err, errno, "poll");
      goto fail_vm;
    }
    if (pf[1].revents)
      console_read(vm);
    if (pf[0].revents && ctl_read(vm) <= 0) {
      while (vm->con >= 0)
        console_read(vm);
      vm_fail(vm, err, "QEMU exited before the VM's agent was ready");
      goto fail_vm;
    }
  }
  if (req->net && give_trust_store(vm, req->net_dir_fd) < 0) {
    vm_fail(vm, err, "cannot give the VM its trust store");
    goto fail_vm;
  }
  info->boot_ms = al_monotonic_ms() - t0;
  return vm;

fail_argv:
  for (int i = 0; i < argc; i++)
    free(argv[i]);
fail:
  for (int i = 0; i < 2; i++) {
    if (ctl[i] >= 0)
      close(ctl[i]);
    if (con[i] >= 0)
      close(con[i]);
    if (net[i] >= 0)
      close(net[i]);
  }
  if (kfd >= 0)
    close(kfd);
  if (ifd >= 0)
    close(ifd);
  free(vm->buf);
  free(vm);
  return NULL;
fail_vm:
  vm->dead = true;
  al_vm_stop(vm);
  return NULL;
}

static void kill_vm(al_vm *vm) {
  if (vm->qemu > 0)
    al_child_kill(vm->qemu, NULL);
  if (vm->has_cg)
    al_cgroup_destroy(&vm->cg);
  vm->qemu = -1;
  vm->dead = true;
}

int al_vm_exec(al_vm *vm, char *const *argv, char *const *env, const char *cwd, int in_fd, int out_fd, int err_fd,
               double timeout_sec, bool kill_vm_on_timeout, const al_vm_watch *watch, al_vm_exec_result *res,
               airlock_error **err) {
  memset(res, 0, sizeof(*res));
  if (vm->dead)
    return al_err(err, 0, "the VM is gone");
  uint32_t plen;
  uint8_t *payload = al_vm_exec_build(argv, env, cwd, &plen);
  if (!payload)
    return al_err(err, E2BIG, "the command, its environment and cwd are too large for one exec request");
  uint64_t id = vm->next_id++;
  int64_t t0 = al_monotonic_ms();
  int rc = send_frame(vm, AL_VM_EXEC, id, payload, plen);
  free(payload);
  if (rc == 0 && in_fd < 0)
    rc = send_frame(vm, AL_VM_STDIN_EOF, id, NULL, 0);
  if (rc < 0) {
    kill_vm(vm);
    return vm_fail(vm, err, "the VM's control channel failed");
  }
  int64_t deadline = timeout_sec > 0 ? t0 + (int64_t)(timeout_sec * 1000) : INT64_MAX;
  bool signalled = false;
  for (;;) {
    al_vm_frame f;
    long used = al_vm_frame_next(vm->buf, vm->len, &f);
    if (used < 0) {
      kill_vm(vm);
      return al_err(err, 0, "the VM's agent sent a malformed frame: VM killed");
    }
    if (used > 0) {
      bool done = false;
      if (f.exec_id == id && f.kind == AL_VM_STDOUT)
        (void)write_all(out_fd, f.payload, f.len);
      else if (f.exec_id == id && f.kind == AL_VM_STDERR)
        (void)write_all(err_fd, f.payload, f.len);
      else if (f.exec_id == id && f.kind == AL_VM_STATUS) {
        al_status_msg m;
        memcpy(&m, f.payload, sizeof(m));
        m.text[sizeof(m.text) - 1] = '\0';
        if (m.kind == AL_MSG_EXEC_ERROR) {
          res->exec_failed = true;
          dprintf(err_fd, "airlock: %s\n", m.text);
        } else if (m.kind == AL_MSG_EXEC_EXIT) {
          int st = m.value;
          res->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
          res->signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
          res->cpu_user_ms = m.user_us / 1000;
          res->cpu_sys_ms = m.sys_us / 1000;
          res->max_rss_kb = m.max_rss_kb;
          done = true;
        }
      }
      consume(vm, (size_t)used);
      if (done)
        break;
      continue;
    }
    int64_t now = al_monotonic_ms();
    if (now >= deadline && !signalled) {
      res->timed_out = true;
      if (kill_vm_on_timeout) {
        kill_vm(vm);
        break;
      }
      al_agent_req req = {.kind = AL_AGENT_SIGNAL, .signo = SIGKILL};
      send_frame(vm, AL_VM_SIGNAL, id, &req, sizeof(req));
      signalled = true;
    }
    int wait_ms = deadline == INT64_MAX || signalled ? -1 : (int)(deadline - now);
    struct pollfd pf[4] = {{vm->ctl, POLLIN, 0}, {vm->con, POLLIN, 0}, {in_fd, POLLIN, 0}, {watch ? watch->fd : -1, POLLIN, 0}};
    if (poll(pf, 4, wait_ms) < 0 && errno != EINTR)
      return al_err(err, errno, "poll");
    if (pf[3].revents) {
      int sig = watch->ready(watch->arg);
      if (sig < 0) {
        kill_vm(vm);
        return al_err(err, 0, "given up while the command ran: VM killed");
      }
      if (sig > 0) {
        al_agent_req req = {.kind = AL_AGENT_SIGNAL, .signo = sig};
        send_frame(vm, AL_VM_SIGNAL, id, &req, sizeof(req));
      }
    }
    if (pf[1].revents)
      console_read(vm);
    if (pf[2].revents) {
      static uint8_t chunk[AL_VM_DATA_CHUNK];
      ssize_t n = read(in_fd, chunk, sizeof(chunk));
      if (n > 0)
        rc = send_frame(vm, AL_VM_STDIN, id, chunk, (uint32_t)n);
      else if (n == 0 || errno != EINTR) {
        rc = send_frame(vm, AL_VM_STDIN_EOF, id, NULL, 0);
        in_fd = -1;
      }
    }
    if (pf[0].revents && ctl_read(vm) <= 0) {
      while (vm->con >= 0)
        console_read(vm);
      kill_vm(vm);
      if (vm->has_cg && al_cgroup_oom_killed(&vm->cg)) {
        res->oom_killed = true;
        res->exit_code = AIRLOCK_EXIT_OOM;
        res->signal = SIGKILL;
        break;
      }
      return vm_fail(vm, err, "QEMU exited while the command ran");
    }
  }
  res->wall_ms = al_monotonic_ms() - t0;
  if (res->timed_out)
    res->exit_code = AIRLOCK_EXIT_TIMEOUT;
  return 0;
}

void al_vm_stop(al_vm *vm) {
  if (!vm)
    return;
  /* No orderly power-off (it takes about 600 ms under TCG): the agent
   * synced before it reported the last exit, the guest's own filesystems
   * are tmpfs, and the shares are written through by QEMU as the guest
   * writes, so nothing is lost when QEMU is killed. */
  if (vm->ctl >= 0)
    close(vm->ctl);
  if (vm->qemu > 0)
    al_child_kill(vm->qemu, NULL);
  if (vm->relay > 0)
    al_child_kill(vm->relay, NULL);
  if (vm->has_cg)
    al_cgroup_destroy(&vm->cg);
  if (vm->con >= 0)
    close(vm->con);
  free(vm->buf);
  free(vm);
}

int al_vm_run(const al_vm_request *req, char *const *argv, char *const *env, const char *cwd, double timeout_sec,
              al_vm_info *info, al_vm_exec_result *res, airlock_error **err) {
  memset(res, 0, sizeof(*res));
  al_vm *vm = al_vm_boot(req, info, err);
  if (!vm)
    return -1;
  int rc = al_vm_exec(vm, argv, env, cwd, STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, timeout_sec, true, NULL, res, err);
  al_vm_stop(vm);
  return rc;
}
