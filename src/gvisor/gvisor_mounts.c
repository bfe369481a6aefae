/* SPDX-License-Identifier: Apache-2.0 */
/* gvisor_mounts.c - the workspace, output and binds of a gVisor sandbox
 * started by root.
 *
 * runsc's gofer opens a bind's source by its path after it has entered
 * gVisor's user namespace, as the leased uid gVisor's root maps to.  A
 * workspace below a directory that uid cannot search (/root/project, a
 * 0700 state directory) then failed with runsc's "waiting for sandbox to
 * start: EOF", and the path was looked up again after the plan had judged
 * it.  So, as root, the launcher clones each source's mount tree from the
 * path the plan judged, checks that it is the very inode the plan judged,
 * and the process that starts runsc attaches the clones at dir/mnt/<i> in
 * a mount namespace of its own (runsc and its gofer inherit it); config.json
 * names those places, which only root controls.  Rootless, runsc runs as
 * the caller, who reaches their own paths, and nothing changes. */
#define _GNU_SOURCE
#include "cleanup.h"
#include "error.h"
#include "gvisor.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

static int open_tree_of(const char *path) {
  return (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
}

int al_gvisor_user_trees_open(al_gvisor_sandbox *g, airlock_error **err) {
  const al_plan *p = &g->plan;
  if (!g->root || p->n_user == 0)
    return 0;
  g->user_tree = calloc(p->n_user, sizeof(int));
  g->user_dst = calloc(p->n_user, sizeof(char *));
  if (!g->user_tree || !g->user_dst)
    return al_err(err, ENOMEM, "isolation gvisor");
  for (size_t i = 0; i < p->n_user; i++)
    g->user_tree[i] = -1;
  g->n_user_tree = p->n_user;
  if (mkdirat(g->dirfd, "mnt", 0755) < 0 || fchmodat(g->dirfd, "mnt", 0755, 0) < 0)
    return al_err(err, errno, "isolation gvisor: mkdir %s/mnt", g->dir);
  if (asprintf(&g->user_src_dir, "%s/mnt", g->dir) < 0) {
    g->user_src_dir = NULL;
    return al_err(err, ENOMEM, "isolation gvisor");
  }
  for (size_t i = 0; i < p->n_user; i++) {
    const al_mount_entry *e = &p->user[i];
    char name[32];
    snprintf(name, sizeof(name), "mnt/%zu", i);
    if (asprintf(&g->user_dst[i], "%s/%zu", g->user_src_dir, i) < 0) {
      g->user_dst[i] = NULL;
      return al_err(err, ENOMEM, "isolation gvisor");
    }
    int made = e->type == AL_ENTRY_DIR ? mkdirat(g->dirfd, name, 0755)
                                       : openat(g->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (made < 0)
      return al_err(err, errno, "isolation gvisor: the mount point %s/%s", g->dir, name);
    if (e->type != AL_ENTRY_DIR)
      close(made);
    int t = open_tree_of(e->host_path);
    struct stat st;
    if (t < 0 || fstat(t, &st) < 0) {
      int errnum = errno;
      if (t >= 0)
        close(t);
      return al_err(err, errnum, "isolation gvisor: %s", e->host_path);
    }
    g->user_tree[i] = t;
    if (st.st_dev != e->src_dev || st.st_ino != e->src_ino)
      return al_err(err, 0, "isolation gvisor: %s was replaced after it was checked; nothing was run",
                    e->host_path);
  }
  g->ids.user_src_dir = g->user_src_dir;
  return 0;
}

int al_gvisor_user_trees_attach(const al_gvisor_sandbox *g) {
  if (g->n_user_tree == 0)
    return 0;
  /* syscalls only: a forked child of a caller that may have threads */
  if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return -1;
  for (size_t i = 0; i < g->n_user_tree; i++)
    if (syscall(SYS_move_mount, g->user_tree[i], "", AT_FDCWD, g->user_dst[i], MOVE_MOUNT_F_EMPTY_PATH) < 0)
      return -1;
  return 0;
}

void al_gvisor_user_trees_close(al_gvisor_sandbox *g) {
  for (size_t i = 0; i < g->n_user_tree; i++) {
    if (g->user_tree && g->user_tree[i] >= 0)
      close(g->user_tree[i]);
    if (g->user_dst)
      free(g->user_dst[i]);
  }
  free(g->user_tree);
  free(g->user_dst);
  free(g->user_src_dir);
  g->user_tree = NULL;
  g->user_dst = NULL;
  g->user_src_dir = NULL;
  g->ids.user_src_dir = NULL;
  g->n_user_tree = 0;
}
