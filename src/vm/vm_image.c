/* SPDX-License-Identifier: Apache-2.0 */
/* vm_image.c - what a guest boots: the kernel as an ELF with its PVH entry
 * (QEMU's microvm starts it directly, without the bzImage's decompressor,
 * which costs seconds under TCG) and a cpio initramfs holding the static
 * agent as /init, the virtio/9p modules of that kernel and a minimal /etc.
 * Both are built at first use and cached under STATE/vm/, named by a hash
 * of the kernel (path, size, mtime), the agent binary and the mtime of
 * /etc/ld.so.cache, so an upgrade of any builds them again. */
#define _GNU_SOURCE
#include "vm.h"

#include "error.h"
#include "node_bin.h"
#include "sha256.h"
#include "statedir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef AIRLOCK_LIBEXECDIR
#define AIRLOCK_LIBEXECDIR "/usr/libexec/airlock"
#endif

/* the modules the agent needs, by name; their dependencies are added from
 * modules.dep, and built-in ones are skipped */
static const char *const wanted_modules[] = {"virtio_mmio", "virtio_console", "9pnet_virtio", "9p", NULL};

/* ---- cpio (newc) ---- */

typedef struct {
  FILE *f;
  unsigned ino;
  int failed;
} cpio;

static void cpio_pad(cpio *c) {
  long pos = ftell(c->f);
  while (pos > 0 && pos % 4) {
    fputc(0, c->f);
    pos++;
  }
}

static void cpio_entry(cpio *c, const char *name, unsigned mode, unsigned rmaj, unsigned rmin, const void *data,
                       size_t size) {
  size_t nlen = strlen(name) + 1;
  if (fprintf(c->f, "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X", ++c->ino, mode, 0u, 0u, 1u, 0u,
              size, 0u, 0u, rmaj, rmin, nlen, 0u) < 0)
    c->failed = 1;
  fwrite(name, 1, nlen, c->f);
  cpio_pad(c);
  if (size && fwrite(data, 1, size, c->f) != size)
    c->failed = 1;
  cpio_pad(c);
}

static int cpio_file(cpio *c, const char *name, unsigned mode, const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  char *data = malloc((size_t)st.st_size + 1);
  size_t got = 0;
  while (data && got < (size_t)st.st_size) {
    ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  close(fd);
  if (!data || got != (size_t)st.st_size) {
    free(data);
    return -1;
  }
  cpio_entry(c, name, 0100000 | mode, 0, 0, data, got);
  free(data);
  return 0;
}

static void cpio_text(cpio *c, const char *name, const char *text) {
  cpio_entry(c, name, 0100644, 0, 0, text, strlen(text));
}

/* ---- modules ---- */

typedef struct {
  char *paths[64]; /* relative to /lib/modules/REL, in load order */
  int n;
} module_list;

static char *dep_line(const char *deps, const char *name) {
  /* a line "kernel/.../NAME.ko: dep dep" */
  char key[128];
  int klen = snprintf(key, sizeof(key), "/%s.ko:", name);
  for (const char *p = deps; p && *p;) {
    const char *eol = strchr(p, '\n');
    size_t len = eol ? (size_t)(eol - p) : strlen(p);
    const char *colon = memchr(p, ':', len);
    if (colon && (size_t)(colon - p + 1) >= (size_t)klen && memcmp(colon + 1 - klen, key, (size_t)klen) == 0)
      return strndup(p, len);
    p = eol ? eol + 1 : NULL;
  }
  return NULL;
}

static int list_add(module_list *l, const char *rel) {
  for (int i = 0; i < l->n; i++)
    if (strcmp(l->paths[i], rel) == 0)
      return 0;
  if (l->n >= 64)
    return -1;
  l->paths[l->n++] = strdup(rel);
  return 0;
}

/* a module's dependencies first (modules.dep lists the deepest last) */
static int add_module(module_list *l, const char *deps, const char *rel) {
  const char *base = strrchr(rel, '/');
  char name[128];
  snprintf(name, sizeof(name), "%s", base ? base + 1 : rel);
  name[strcspn(name, ".")] = '\0';
  char *line = dep_line(deps, name);
  if (!line)
    return -1;
  char *colon = strchr(line, ':');
  *colon = '\0';
  char *list[32];
  int n = 0;
  for (char *t = strtok(colon + 1, " "); t && n < 32; t = strtok(NULL, " "))
    list[n++] = t;
  int rc = 0;
  for (int i = n - 1; i >= 0 && rc == 0; i--)
    rc = add_module(l, deps, list[i]);
  if (rc == 0)
    rc = list_add(l, line);
  free(line);
  return rc;
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "re");
  if (!f)
    return NULL;
  char *buf = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&buf, &len);
  char chunk[65536];
  size_t n;
  while (m && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
    fwrite(chunk, 1, n, m);
  fclose(f);
  if (m)
    fclose(m);
  return buf;
}

static int resolve_modules(const char *release, module_list *l, airlock_error **err) {
  char path[PATH_MAX];
  snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep", release);
  char *deps = slurp(path);
  if (!deps)
    return al_err(err, errno, "cannot read %s (the guest kernel's modules; install its linux-image package)", path);
  snprintf(path, sizeof(path), "/lib/modules/%s/modules.builtin", release);
  char *builtin = slurp(path);
  int rc = 0;
  for (int i = 0; wanted_modules[i] && rc == 0; i++) {
    if (add_module(l, deps, wanted_modules[i]) == 0)
      continue;
    char key[128];
    snprintf(key, sizeof(key), "/%s.ko\n", wanted_modules[i]);
    if (!builtin || !strstr(builtin, key))
      rc = al_err(err, 0, "kernel %s has no module %s (it needs virtio-mmio, virtio-console and 9p)", release,
                  wanted_modules[i]);
  }
  free(deps);
  free(builtin);
  return rc;
}

/* ---- the kernel ---- */

static int is_elf(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  unsigned char m[4] = {0};
  ssize_t n = fd >= 0 ? read(fd, m, 4) : -1;
  if (fd >= 0)
    close(fd);
  return n == 4 && memcmp(m, "\177ELF", 4) == 0;
}

/* the vmlinux inside a bzImage, uncompressed by xz, zstd, gzip or lz4 into out */
static int extract_vmlinux(const char *bz, const char *out) {
  int fd = open(bz, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0 || st.st_size > (256 << 20)) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  unsigned char *data = malloc((size_t)st.st_size);
  if (!data || read(fd, data, (size_t)st.st_size) != st.st_size) {
    free(data);
    close(fd);
    return -1;
  }
  static const struct {
    const char *magic;
    size_t len;
    const char *tool;
  } formats[] = {{"\xfd" "7zXZ\0", 6, "xz"},
                 {"\x28\xb5\x2f\xfd", 4, "zstd"},
                 {"\x1f\x8b\x08", 3, "gzip"},
                 {"\x02\x21\x4c\x18", 4, "lz4"}}; /* Ubuntu's kernels: the legacy lz4 frame */
  int rc = -1;
  for (size_t f = 0; f < sizeof(formats) / sizeof(formats[0]) && rc < 0; f++) {
    unsigned char *hit = memmem(data, (size_t)st.st_size, formats[f].magic, formats[f].len);
    if (!hit)
      continue;
    int o = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (o < 0)
      break;
    pid_t pid = fork();
    if (pid == 0) {
      lseek(fd, hit - data, SEEK_SET);
      dup2(fd, 0);
      dup2(o, 1);
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 2);
      execlp(formats[f].tool, formats[f].tool, "-dcq", (char *)NULL);
      _exit(127);
    }
    close(o);
    int status;
    if (pid > 0)
      waitpid(pid, &status, 0);
    /* trailing bytes after the stream make the tools complain: judge the output */
    if (pid > 0 && is_elf(out))
      rc = 0;
  }
  free(data);
  close(fd);
  return rc;
}

static int write_atomically(const char *path, int (*fill)(const char *tmp, void *arg), void *arg) {
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
  if (fill(tmp, arg) < 0 || rename(tmp, path) < 0) {
    unlink(tmp);
    return -1;
  }
  return 0;
}

static int fill_kernel(const char *tmp, void *arg) { return extract_vmlinux((const char *)arg, tmp); }

typedef struct {
  const char *agent, *release;
  module_list *mods;
} initrd_args;

static int fill_initrd(const char *tmp, void *arg) {
  initrd_args *a = arg;
  cpio c = {.f = fopen(tmp, "we")};
  if (!c.f)
    return -1;
  static const char *const dirs[] = {"dev", "proc", "sys", "tmp", "run", "usr", "workspace", "output", "etc", "root",
                                     "modules", "mnt", "var", "var/tmp", NULL};
  for (int i = 0; dirs[i]; i++)
    cpio_entry(&c, dirs[i], 040755, 0, 0, NULL, 0);
  static const char *const links[][2] = {{"bin", "usr/bin"}, {"sbin", "usr/sbin"}, {"lib", "usr/lib"},
                                         {"lib64", "usr/lib64"}};
  for (int i = 0; i < 4; i++)
    cpio_entry(&c, links[i][0], 0120777, 0, 0, links[i][1], strlen(links[i][1]));
  cpio_entry(&c, "dev/console", 020600, 5, 1, NULL, 0);
  cpio_entry(&c, "dev/null", 020666, 1, 3, NULL, 0);
  cpio_text(&c, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
  cpio_text(&c, "etc/group", "root:x:0:\nnogroup:x:65534:\n");
  cpio_text(&c, "etc/hosts", "127.0.0.1 localhost airlock\n::1 localhost\n");
  cpio_text(&c, "etc/hostname", "airlock\n");
  cpio_text(&c, "etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files\n");
  /* the host's list of its libraries under /usr: without it the dynamic
   * loader probes every hwcaps directory, each miss a 9p round trip (about
   * 30 ms more per exec under TCG); nothing in it is private */
  cpio_file(&c, "etc/ld.so.cache", 0644, "/etc/ld.so.cache");
  int rc = cpio_file(&c, "init", 0755, a->agent);
  char order[4096] = "";
  for (int i = 0; i < a->mods->n && rc == 0; i++) {
    char src[PATH_MAX], dst[256];
    const char *base = strrchr(a->mods->paths[i], '/');
    base = base ? base + 1 : a->mods->paths[i];
    snprintf(src, sizeof(src), "/lib/modules/%s/%s", a->release, a->mods->paths[i]);
    snprintf(dst, sizeof(dst), "modules/%s", base);
    rc = cpio_file(&c, dst, 0644, src);
    strncat(order, base, sizeof(order) - strlen(order) - 2);
    strcat(order, "\n");
  }
  cpio_text(&c, "modules/order", order);
  cpio_entry(&c, "TRAILER!!!", 0, 0, 0, NULL, 0);
  if (fclose(c.f) != 0 || c.failed)
    rc = -1;
  return rc;
}

/* the cache's directory (made) and the keys of the current kernel and
 * initramfs: the kernel by path, size and mtime; the agent by content */
static int image_keys(const al_vm_probe_info *probe, const char *state_dir, bool create, char *dir, size_t dir_len,
                      char *agent, size_t agent_len, char khex[65], char ihex[65], airlock_error **err) {
  if (al_helper_binary_path("airlock-vm-init", AIRLOCK_LIBEXECDIR, agent, agent_len, err) < 0)
    return -1;
  char *state = al_state_dir_or_default(state_dir, err);
  if (!state)
    return -1;
  snprintf(dir, dir_len, "%s/vm", state);
  int rc = create ? al_state_dir_prepare(state, true, err) : 0;
  free(state);
  if (rc < 0)
    return -1;
  if (create && mkdir(dir, 0700) < 0 && errno != EEXIST)
    return al_err(err, errno, "cannot create %s", dir);

  struct stat ks;
  if (stat(probe->kernel, &ks) < 0)
    return al_err(err, errno, "guest kernel %s", probe->kernel);
  al_sha256 h;
  uint8_t sum[32], agent_sum[32];
  al_sha256_init(&h);
  char kid[PATH_MAX + 64];
  int kidlen = snprintf(kid, sizeof(kid), "%s\n%lld\n%lld\n", probe->kernel, (long long)ks.st_size,
                        (long long)ks.st_mtime);
  al_sha256_update(&h, kid, (size_t)kidlen);
  al_sha256_final(&h, sum);
  al_sha256_hex(sum, khex);
  int afd = open(agent, O_RDONLY | O_CLOEXEC);
  uint64_t asize;
  if (afd < 0 || al_sha256_fd(afd, agent_sum, &asize) < 0) {
    if (afd >= 0)
      close(afd);
    return al_err(err, errno, "cannot read the guest agent %s", agent);
  }
  close(afd);
  al_sha256_init(&h);
  al_sha256_update(&h, sum, 32);
  al_sha256_update(&h, agent_sum, 32);
  struct stat lc;
  if (stat("/etc/ld.so.cache", &lc) == 0) /* ldconfig ran: a new copy */
    al_sha256_update(&h, &lc.st_mtime, sizeof(lc.st_mtime));
  al_sha256_final(&h, sum);
  al_sha256_hex(sum, ihex);
  khex[16] = ihex[16] = '\0';
  return 0;
}

int al_vm_image_prepare(const al_vm_probe_info *probe, const char *state_dir, char *kernel_out, size_t kernel_len,
                        char *initrd_out, size_t initrd_len, airlock_error **err) {
  char agent[PATH_MAX], dir[PATH_MAX], khex[65], ihex[65];
  if (image_keys(probe, state_dir, true, dir, sizeof(dir), agent, sizeof(agent), khex, ihex, err) < 0)
    return -1;
  int rc = 0;
  if (is_elf(probe->kernel)) {
    snprintf(kernel_out, kernel_len, "%s", probe->kernel);
  } else {
    snprintf(kernel_out, kernel_len, "%s/vmlinux-%s", dir, khex);
    if (!is_elf(kernel_out) && write_atomically(kernel_out, fill_kernel, (void *)probe->kernel) < 0)
      snprintf(kernel_out, kernel_len, "%s", probe->kernel); /* no xz/zstd/gzip: the bzImage boots, slower */
  }
  snprintf(initrd_out, initrd_len, "%s/initrd-%s.cpio", dir, ihex);
  if (access(initrd_out, R_OK) == 0)
    return 0;
  module_list mods = {.n = 0};
  if (resolve_modules(probe->kernel_release, &mods, err) < 0)
    rc = -1;
  initrd_args a = {agent, probe->kernel_release, &mods};
  if (rc == 0 && write_atomically(initrd_out, fill_initrd, &a) < 0)
    rc = al_err(err, errno, "cannot build the guest's initramfs %s", initrd_out);
  for (int i = 0; i < mods.n; i++)
    free(mods.paths[i]);
  return rc;
}

/* vmlinux-<16 hex> or initrd-<16 hex>.cpio: a cache entry (not a .tmp) */
static bool cache_entry(const char *name, char key[17]) {
  const char *k = strncmp(name, "vmlinux-", 8) == 0 ? name + 8 : strncmp(name, "initrd-", 7) == 0 ? name + 7 : NULL;
  if (!k || strspn(k, "0123456789abcdef") != 16 || strcmp(k + 16, name[0] == 'v' ? "" : ".cpio") != 0)
    return false;
  memcpy(key, k, 16);
  key[16] = '\0';
  return true;
}

unsigned al_vm_image_gc(const char *state_dir) {
  al_vm_probe_info probe;
  airlock_error *err = NULL;
  char agent[PATH_MAX], dir[PATH_MAX], khex[65], ihex[65];
  /* only when the current names are known: otherwise everything would look old */
  if (al_vm_probe(&probe, &err) < 0 ||
      image_keys(&probe, state_dir, false, dir, sizeof(dir), agent, sizeof(agent), khex, ihex, &err) < 0) {
    airlock_error_free(&err);
    return 0;
  }
  int base = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = base >= 0 ? fdopendir(base) : NULL;
  if (!d) {
    if (base >= 0)
      close(base);
    return 0;
  }
  unsigned removed = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    char key[17];
    if (!cache_entry(e->d_name, key) || strcmp(key, e->d_name[0] == 'v' ? khex : ihex) == 0)
      continue;
    /* a VM booted from it keeps its open descriptor: removing is safe */
    if (unlinkat(dirfd(d), e->d_name, 0) == 0)
      removed++;
  }
  closedir(d);
  return removed;
}
