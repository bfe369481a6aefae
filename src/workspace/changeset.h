/* SPDX-License-Identifier: Apache-2.0 */
/* changeset.h - what a sandbox changed in its workspace, as a list of
 * operations on paths relative to the workspace root: read from an overlay
 * upper layer (scan.c), kept on disk as a changeset (store.c, manifest.c)
 * and written onto the host directory through its descriptor (apply.c). */
#ifndef AIRLOCK_CHANGESET_H
#define AIRLOCK_CHANGESET_H

#include "airlock/airlock.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum {
  AL_WS_FILE = 'F',    /* a regular file with new content (added or modified) */
  AL_WS_DIR = 'D',     /* a directory that is new, or replaces a non-directory */
  AL_WS_OPAQUE = 'O',  /* a directory whose host contents are all replaced (overlay opaque dir) */
  AL_WS_SYMLINK = 'L', /* a symbolic link, recreated as a link (never followed) */
  AL_WS_DELETE = 'X',  /* removed (an overlay whiteout) */
  AL_WS_CHMOD = 'C',   /* only the permission bits changed */
  AL_WS_LINK = 'H',    /* a hard link to the file of the entry at target (which comes first) */
} al_ws_op;

/* what the host had at a path when the changeset was taken */
typedef enum {
  AL_BASE_ABSENT = '-',
  AL_BASE_FILE = 'f',
  AL_BASE_DIR = 'd',
  AL_BASE_LINK = 'l',
  AL_BASE_OTHER = 'o',
} al_ws_base_type;

/* dangerous content (show, diff and the report flag it) */
#define AL_WS_FLAG_HOOK 0x1     /* .git/hooks/ or .git/config */
#define AL_WS_FLAG_CI 0x2       /* .github/workflows/, .gitlab-ci.yml */
#define AL_WS_FLAG_ENVRC 0x4    /* .envrc */
#define AL_WS_FLAG_SETID 0x8    /* a setuid or setgid bit (stripped when applied) */
#define AL_WS_FLAG_OUTSIDE 0x10 /* a symlink pointing outside the workspace */

typedef struct al_ws_entry {
  char op;         /* al_ws_op */
  char *path;      /* relative, '/'-separated, no '.', '..' or empty component */
  uint32_t mode;   /* permission bits as the sandbox left them (setuid/setgid kept here, stripped on apply) */
  uint64_t size;   /* AL_WS_FILE */
  uint8_t sha[32]; /* AL_WS_FILE: the new content */
  char *target;    /* AL_WS_SYMLINK: the link's text; AL_WS_LINK: the path linked to */
  /* the host's copy when the changeset was taken (seen through the overlay's lower layer) */
  char base_type; /* al_ws_base_type */
  uint32_t base_mode;
  uint64_t base_size;
  int64_t base_mtime;
  uint8_t base_sha[32]; /* AL_BASE_FILE */
  char *base_target;    /* AL_BASE_LINK */
  unsigned flags;       /* AL_WS_FLAG_* */
  /* scan only, not saved: the upper inode of a file with hard links, and
   * the bytes it occupies (holes are not copied) */
  uint64_t ino, alloc;
} al_ws_entry;

typedef struct al_changeset {
  char id[64];
  int64_t created;   /* unix seconds */
  char *workspace;   /* the host path, for display only */
  uint64_t dev, ino; /* the host directory: re-opened and checked against these */
  al_ws_entry *e;
  size_t n, cap;
  size_t skipped;     /* entries of the upper layer refused (devices, fifos, sockets, too deep) */
  char *skipped_note; /* the first of them, named */
} al_changeset;

void al_changeset_free(al_changeset *cs);
/* append a zeroed entry (path copied); NULL when out of memory */
al_ws_entry *al_changeset_add(al_changeset *cs, char op, const char *path);
/* set the AL_WS_FLAG_* of an entry from its path, mode and target */
unsigned al_ws_danger(const al_ws_entry *e);
/* a readable list of flags ("git hook, setuid"); "" when none */
const char *al_ws_danger_text(unsigned flags, char *buf, size_t len);
/* whether path is a clean relative path (no '.', '..' or empty component, no NUL, < 4096) */
bool al_ws_path_ok(const char *path);

/* manifest.c: the changeset's text form (format in docs/cli.md).  Parsing
 * checks every field and path; the result is what was written or an error. */
char *al_changeset_format(const al_changeset *cs);
int al_changeset_parse(const char *text, size_t len, al_changeset *cs, airlock_error **err);

/* scan.c: read an overlay upper layer (upper_fd, a directory) against the
 * host directory it covers (host_fd, O_PATH or O_RDONLY).  Nothing is
 * followed, refused entries are counted in cs->skipped. */
int al_ws_scan(int upper_fd, int host_fd, al_changeset *cs, airlock_error **err);

/* apply.c: write entries onto the host directory host_fd through fd-relative
 * calls only.  Content comes from open_content (an fd to read, or -1 with
 * errno).  As root, host changes are made with owner_uid/gid as file system
 * ids (what the sandbox could do through its idmapped mount, no more);
 * rootless as the caller.  select (may be NULL) chooses entries. */
typedef int (*al_ws_open_fn)(void *ctx, size_t index, const al_ws_entry *e);
typedef struct al_ws_stats {
  uint64_t bytes, files, deleted, dirs, links, chmods;
} al_ws_stats;
int al_ws_apply(const al_changeset *cs, const bool *select, int host_fd, uid_t owner_uid, gid_t owner_gid,
                al_ws_open_fn open_content, void *ctx, al_ws_stats *st, airlock_error **err);
/* the content of entry e of an upper layer, opened below upper_fd without following links */
int al_ws_open_upper(int upper_fd, const char *path, int flags);
/* open the directory at path below root (creating missing ones with create);
 * every component opened O_NOFOLLOW on the same file system.  -1 with errno. */
int al_ws_open_dir(int root, const char *path, bool create, uid_t uid, gid_t gid);
/* remove name below dir (a whole tree), never following a link or leaving the file system */
int al_ws_rm_tree(int dir, const char *name);

/* what writing a scanned cs onto an ext4-like host would take, in bytes: allocated
 * file data and a block per directory and per long symlink */
uint64_t al_ws_host_cost(const al_changeset *cs);
/* copy in to out keeping holes (SEEK_DATA/SEEK_HOLE), so a sparse file
 * costs the host no more than it cost the upper layer; *copied: data bytes */
int al_ws_copy(int in, int out, uint64_t *copied);

/* the selected entries whose host copy now differs from the base recorded:
 * *count of them; the first AL_WS_CONFLICTS_NAMED are named, comma
 * separated, then "and N more" (malloc'd, "" when none) */
#define AL_WS_CONFLICTS_NAMED 20
char *al_ws_conflicts(const al_changeset *cs, const bool *select, int host_fd, size_t *count);

/* store.c: changesets under STATE/changesets/ID */
int al_ws_save(int upper_fd, const al_changeset *cs, const char *state_dir, airlock_error **err);
int al_ws_load(const char *state_dir, const char *id, al_changeset *cs, airlock_error **err);
int al_ws_open_content(const char *state_dir, const char *id); /* the files/ dir of a changeset */
int al_ws_discard(const char *state_dir, const char *id, airlock_error **err);
/* ids, oldest first (NULL-terminated, malloc'd) */
char **al_ws_list(const char *state_dir, airlock_error **err);
bool al_ws_id_ok(const char *id);
void al_ws_new_id(char out[64]);

/* diff.c: a unified diff of a and b (3 lines of context) appended to *out */
int al_ws_diff(const char *a, size_t alen, const char *b, size_t blen, const char *aname, const char *bname, char **out,
               size_t *outlen);
bool al_ws_is_binary(const char *p, size_t len);

#endif
