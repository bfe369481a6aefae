/* SPDX-License-Identifier: Apache-2.0 */
/* vm_probe.c - what this host can do for --isolation vm: QEMU on PATH, a
 * guest kernel (the newest /boot/vmlinuz-* whose modules are installed, or
 * AIRLOCK_VM_KERNEL), KVM or only TCG emulation (and why), and the TSC
 * rate a TCG guest is told so that it skips a calibration that hangs. */
#define _GNU_SOURCE
#include "vm.h"

#include "error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static bool find_on_path(const char *name, char *out, size_t len) {
  const char *path = getenv("PATH");
  char buf[4096];
  snprintf(buf, sizeof(buf), "%s:/usr/bin:/usr/local/bin", path && *path ? path : "/usr/bin");
  for (char *save = NULL, *dir = strtok_r(buf, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
    if (dir[0] != '/')
      continue;
    snprintf(out, len, "%s/%s", dir, name);
    if (access(out, X_OK) == 0)
      return true;
  }
  out[0] = '\0';
  return false;
}

static bool has_modules(const char *release) {
  char p[PATH_MAX];
  snprintf(p, sizeof(p), "/lib/modules/%s/modules.dep", release);
  return access(p, R_OK) == 0;
}

static int by_version(const struct dirent **a, const struct dirent **b) {
  return -strverscmp((*a)->d_name, (*b)->d_name); /* newest first */
}

static int only_vmlinuz(const struct dirent *d) { return strncmp(d->d_name, "vmlinuz-", 8) == 0; }

static void find_kernel(al_vm_probe_info *info) {
  const char *given = getenv("AIRLOCK_VM_KERNEL");
  if (given && *given) {
    snprintf(info->kernel, sizeof(info->kernel), "%s", given);
    const char *rel = getenv("AIRLOCK_VM_KERNEL_RELEASE");
    const char *base = strrchr(given, '/');
    base = base ? base + 1 : given;
    snprintf(info->kernel_release, sizeof(info->kernel_release), "%s",
             rel && *rel ? rel : (strncmp(base, "vmlinuz-", 8) == 0 ? base + 8 : base));
    return;
  }
  struct utsname u;
  if (uname(&u) == 0 && has_modules(u.release)) {
    snprintf(info->kernel, sizeof(info->kernel), "/boot/vmlinuz-%s", u.release);
    if (access(info->kernel, R_OK) == 0) {
      snprintf(info->kernel_release, sizeof(info->kernel_release), "%s", u.release);
      return;
    }
  }
  struct dirent **names = NULL;
  int n = scandir("/boot", &names, only_vmlinuz, by_version);
  info->kernel[0] = '\0';
  for (int i = 0; i < n; i++) {
    const char *rel = names[i]->d_name + 8;
    if (!info->kernel[0] && has_modules(rel)) {
      snprintf(info->kernel, sizeof(info->kernel), "/boot/%s", names[i]->d_name);
      snprintf(info->kernel_release, sizeof(info->kernel_release), "%s", rel);
    }
    free(names[i]);
  }
  free(names);
}

static bool cpu_flag(const char *flag) {
  FILE *f = fopen("/proc/cpuinfo", "re");
  char line[8192];
  bool found = false;
  while (f && !found && fgets(line, sizeof(line), f)) {
    if (strncmp(line, "flags", 5) != 0)
      continue;
    size_t fl = strlen(flag);
    for (char *p = strstr(line, flag); p && !found; p = strstr(p + 1, flag))
      found = p[-1] == ' ' && (p[fl] == ' ' || p[fl] == '\n');
    break;
  }
  if (f)
    fclose(f);
  return found;
}

/* The host's TSC rate, measured: rdtsc against CLOCK_MONOTONIC_RAW over
 * 10 ms (within about 0.1%).  "cpu MHz" in /proc/cpuinfo is the current
 * clock on a host that scales its frequency, not the TSC's; it is the
 * fallback where rdtsc is not x86's. */
static uint64_t host_tsc_khz(void) {
#if defined(__x86_64__) || defined(__i386__)
  struct timespec a, b;
  unsigned lo, hi;
  clock_gettime(CLOCK_MONOTONIC_RAW, &a);
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  uint64_t c0 = ((uint64_t)hi << 32) | lo;
  struct timespec ten = {0, 10 * 1000 * 1000};
  nanosleep(&ten, NULL);
  clock_gettime(CLOCK_MONOTONIC_RAW, &b);
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  uint64_t c1 = ((uint64_t)hi << 32) | lo;
  int64_t ns = (int64_t)(b.tv_sec - a.tv_sec) * 1000000000 + (b.tv_nsec - a.tv_nsec);
  if (ns > 0 && c1 > c0) {
    uint64_t khz = (uint64_t)((double)(c1 - c0) * 1e6 / (double)ns + 0.5);
    if (khz > 100000 && khz < 20000000)
      return khz;
  }
#endif
  FILE *f = fopen("/proc/cpuinfo", "re");
  char line[512];
  double mhz = 0;
  while (f && fgets(line, sizeof(line), f))
    if (sscanf(line, "cpu MHz : %lf", &mhz) == 1 || sscanf(line, "cpu MHz\t: %lf", &mhz) == 1)
      break;
  if (f)
    fclose(f);
  return mhz > 100 ? (uint64_t)(mhz * 1000) : 2000000;
}

int al_vm_probe(al_vm_probe_info *info, airlock_error **err) {
  memset(info, 0, sizeof(*info));
  const char *q = getenv("AIRLOCK_QEMU");
  if (q && *q)
    snprintf(info->qemu, sizeof(info->qemu), "%s", q);
  else
    find_on_path("qemu-system-x86_64", info->qemu, sizeof(info->qemu));
  find_kernel(info);
  info->tsc_khz = host_tsc_khz();
  bool vmx = cpu_flag("vmx") || cpu_flag("svm");
  int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  int kvm_errno = errno;
  if (kvm >= 0)
    close(kvm);
  const char *force = getenv("AIRLOCK_VM_ACCEL");
  if (kvm >= 0 && vmx && !(force && strcmp(force, "tcg") == 0)) {
    snprintf(info->accel, sizeof(info->accel), "kvm");
  } else {
    snprintf(info->accel, sizeof(info->accel), "tcg");
    if (force && strcmp(force, "tcg") == 0)
      snprintf(info->why_not_kvm, sizeof(info->why_not_kvm), "AIRLOCK_VM_ACCEL=tcg");
    else if (kvm < 0)
      snprintf(info->why_not_kvm, sizeof(info->why_not_kvm), "/dev/kvm: %s", strerror(kvm_errno));
    else if (access("/sys/module/kvm_pvm", F_OK) == 0)
      snprintf(info->why_not_kvm, sizeof(info->why_not_kvm),
               "/dev/kvm is PVM (kvm_pvm, no VMX/SVM in /proc/cpuinfo): it runs only PVM-built guest kernels");
    else
      snprintf(info->why_not_kvm, sizeof(info->why_not_kvm), "no VMX or SVM in /proc/cpuinfo");
  }
  if (!info->qemu[0])
    return al_err(err, 0, "--isolation vm needs qemu-system-x86_64 (Debian/Ubuntu: apt-get install qemu-system-x86)");
  if (!info->kernel[0])
    return al_err(err, 0,
                  "--isolation vm needs a guest kernel with its modules: /boot/vmlinuz-RELEASE and "
                  "/lib/modules/RELEASE (Debian: apt-get install linux-image-amd64; Ubuntu: linux-image-generic), "
                  "or AIRLOCK_VM_KERNEL");
  return 0;
}
