/* SPDX-License-Identifier: Apache-2.0 */
/* node_files.c - the files API of a sandbox's workspace, served from the
 * host side.  The node may run as root and the workspace is the agent's
 * playground, so every path is resolved with openat2(RESOLVE_BENEATH) from
 * the descriptor of the workspace that the node opened when it made the
 * sandbox (never from its name): "..", absolute paths and symlinks that lead
 * out are refused by the kernel itself, atomically, whatever the sandbox does
 * to the tree meanwhile.  A sandbox can also plant FIFOs, sockets and links
 * where a client expects files: every open is O_NONBLOCK | O_NOFOLLOW and is
 * judged by fstat on the descriptor, so only regular files are read or
 * written and nothing can make the node wait.  Files the node writes get the
 * workspace's owner. */
#define _GNU_SOURCE
#include "node.h"
#include "cleanup.h"

#include <dirent.h>
#include <sys/queue.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* never blocks (a FIFO), never follows a final symbolic link; O_PATH opens
 * nothing (stat), so there a final link that stays inside is followed, and
 * openat2 refuses O_NONBLOCK with it anyway */
static int open_beneath(int root, const char *path, int flags) {
  uint64_t extra = O_CLOEXEC | ((flags & O_PATH) ? 0 : O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  struct open_how how = {.flags = (uint64_t)flags | extra, .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
  return (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
}

/* a name in a directory opened beneath the workspace: not followed if it is
 * a link, and a FIFO does not make the open wait */
static int open_in(int dir, const char *name, int flags) {
  return openat(dir, name, flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0644);
}

static const char *type_of(mode_t m) {
  return S_ISREG(m) ? "file" : S_ISDIR(m) ? "dir" : S_ISLNK(m) ? "symlink" : "other";
}

/* what a special file is, for messages */
static const char *kind_of(mode_t m) {
  return S_ISDIR(m)    ? "a directory"
         : S_ISLNK(m)  ? "a symbolic link"
         : S_ISFIFO(m) ? "a FIFO"
         : S_ISSOCK(m) ? "a socket"
         : S_ISCHR(m)  ? "a character device"
         : S_ISBLK(m)  ? "a block device"
                       : "not a regular file";
}

static json_t *stat_json(const char *name, const struct stat *st) {
  return json_pack("{s:s,s:s,s:I,s:i,s:I}", "name", name, "type", type_of(st->st_mode), "size", (json_int_t)st->st_size,
                   "mode", (int)(st->st_mode & 07777), "mtime", (json_int_t)st->st_mtime);
}

/* "a/b/c" -> parent fd of "a/b" and name "c"; -1 with errno */
static int open_parent(int root, char *path, char **name) {
  char *slash = strrchr(path, '/');
  if (!slash) {
    *name = path;
    return fcntl(root, F_DUPFD_CLOEXEC, 0);
  }
  *slash = '\0';
  *name = slash + 1;
  return open_beneath(root, path, O_PATH | O_DIRECTORY);
}

static void reply_errno(al_node *n, struct evhttp_request *req, const char *path, int e) {
  if (e == EXDEV || e == ELOOP)
    al_node_reply_error(n, req, 400, "bad_request", "path '%s' leads outside the workspace or through a symlink", path);
  else if (e == ENOENT || e == ENOTDIR)
    al_node_reply_error(n, req, 404, "not_found", "no such file '%s'", path);
  else if (e == EISDIR || e == ENOTEMPTY || e == EEXIST)
    al_node_reply_error(n, req, 409, "conflict", "'%s': %s", path, strerror(e));
  else if (e == ENOSPC || e == EDQUOT) /* the workspace's quota (its tmpfs) is full */
    al_node_reply_error(n, req, 507, "insufficient_storage", "'%s': %s (the workspace's quota)", path, strerror(e));
  else
    al_node_reply_error(n, req, 500, "internal", "'%s': %s", path, strerror(e));
}

/* an open of name in dir failed with e, or what it opened is not a regular
 * file: name what is there when it is a special file (a FIFO with no reader
 * fails with ENXIO, a socket with ENXIO or EOPNOTSUPP) */
static void reply_not_regular(al_node *n, struct evhttp_request *req, int dir, const char *name, const char *shown,
                              const struct stat *st_in, int e) {
  struct stat st;
  if (st_in)
    st = *st_in;
  else if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISREG(st.st_mode))
    return reply_errno(n, req, shown, e);
  if ((S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode)) && e != 0)
    return reply_errno(n, req, shown, e); /* EISDIR, ELOOP: as documented */
  al_node_reply_error(n, req, 409, "conflict", "'%s' is %s: the files API reads and writes only regular files", shown,
                      kind_of(st.st_mode));
}

void al_node_handle_files(al_node *n, al_sbox *sb, struct evhttp_request *req) {
  int root = sb->ws_fd;
  if (root < 0) {
    al_node_reply_error(n, req, 404, "not_found", "sandbox '%s' has no workspace", sb->id);
    return;
  }
  struct evkeyvalq q;
  TAILQ_INIT(&q);
  const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
  if (!query || evhttp_parse_query_str(query, &q) < 0) {
    al_node_reply_error(n, req, 400, "bad_request", "query parameter 'path' is required");
    return;
  }
  const char *raw = evhttp_find_header(&q, "path");
  const char *raw_op = evhttp_find_header(&q, "op");
  _cleanup_free_ char *path = raw ? strdup(raw) : NULL;
  _cleanup_free_ char *shown = raw ? strdup(raw) : NULL;
  _cleanup_free_ char *op = raw_op ? strdup(raw_op) : NULL;
  evhttp_clear_headers(&q);
  if (op && strcmp(op, "list") != 0 && strcmp(op, "stat") != 0) {
    al_node_reply_error(n, req, 400, "bad_request", "'op' must be 'list' or 'stat'");
    return;
  }
  if (!path || path[0] == '\0' || path[0] == '/' || strlen(path) > 4000) {
    al_node_reply_error(n, req, 400, "bad_request", "'path' must be a non-empty path relative to /workspace");
    return;
  }
  for (char *c = path; (c = strstr(c, "..")) != NULL; c += 2)
    if ((c == path || c[-1] == '/') && (c[2] == '/' || c[2] == '\0')) {
      al_node_reply_error(n, req, 400, "bad_request", "'path' may not contain '..' components");
      return;
    }
  struct stat wst;
  if (fstat(root, &wst) < 0) {
    al_node_reply_error(n, req, 500, "internal", "workspace unavailable: %s", strerror(errno));
    return;
  }
  enum evhttp_cmd_type m = evhttp_request_get_command(req);
  if (m == EVHTTP_REQ_GET || m == EVHTTP_REQ_PUT || m == EVHTTP_REQ_DELETE) {
    al_action act = m == EVHTTP_REQ_PUT      ? AL_ACTION_FILE_WRITE
                    : m == EVHTTP_REQ_DELETE ? AL_ACTION_FILE_DELETE
                                             : AL_ACTION_FILE_READ;
    if (al_node_policy_files(n, sb->tenant, sb, act, shown, req) < 0)
      return;
  }
  if (m == EVHTTP_REQ_GET && op && strcmp(op, "list") == 0) {
    _cleanup_close_ int fd = open_beneath(root, path, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
      return reply_errno(n, req, shown, errno);
    _cleanup_closedir_ DIR *d = fdopendir(fd);
    if (d)
      fd = -1; /* the DIR's now */
    json_t *entries = json_array();
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
      struct stat st;
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
          fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      json_array_append_new(entries, stat_json(e->d_name, &st));
    }
    al_node_reply_json(req, 200, json_pack("{s:o}", "entries", entries));
  } else if (m == EVHTTP_REQ_GET && op && strcmp(op, "stat") == 0) {
    _cleanup_close_ int fd = open_beneath(root, path, O_PATH);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
      return reply_errno(n, req, shown, errno);
    char *base = strrchr(path, '/');
    al_node_reply_json(req, 200, stat_json(base ? base + 1 : path, &st));
  } else if (m == EVHTTP_REQ_GET && !op) {
    char *name;
    _cleanup_close_ int dir = open_parent(root, path, &name);
    if (dir < 0)
      return reply_errno(n, req, shown, errno);
    _cleanup_close_ int fd = open_in(dir, name, O_RDONLY);
    struct stat st;
    if (fd < 0)
      return reply_not_regular(n, req, dir, name, shown, NULL, errno);
    if (fstat(fd, &st) < 0)
      return reply_errno(n, req, shown, errno);
    if (S_ISDIR(st.st_mode)) {
      al_node_reply_error(n, req, 400, "bad_request", "'%s' is a directory, not a regular file (op=list lists it)",
                          shown);
      return;
    }
    if (!S_ISREG(st.st_mode))
      return reply_not_regular(n, req, dir, name, shown, &st, 0);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    /* sent with sendfile where the connection allows it; never mapped (a
     * sandbox may truncate the file meanwhile, which would fault a mapping) */
    struct evbuffer_file_segment *seg =
        evbuffer_file_segment_new(fd, 0, st.st_size, EVBUF_FS_CLOSE_ON_FREE | EVBUF_FS_DISABLE_MMAP);
    if (!seg) {
      al_node_reply_error(n, req, 500, "internal", "'%s': cannot read it", shown);
      return;
    }
    fd = -1; /* the segment's now */
    struct evbuffer *buf = evbuffer_new();
    if (!buf || evbuffer_add_file_segment(buf, seg, 0, st.st_size) < 0) {
      evbuffer_file_segment_free(seg);
      if (buf)
        evbuffer_free(buf);
      al_node_reply_error(n, req, 500, "internal", "'%s': cannot send it", shown);
      return;
    }
    evbuffer_file_segment_free(seg); /* buf holds its own reference */
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/octet-stream");
    evhttp_send_reply(req, 200, "OK", buf);
    evbuffer_free(buf);
  } else if (m == EVHTTP_REQ_PUT && !op) {
    char *name;
    _cleanup_close_ int parent = open_parent(root, path, &name);
    if (parent < 0)
      return reply_errno(n, req, shown, errno);
    _cleanup_close_ int dir = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
      return reply_errno(n, req, shown, errno);
    /* no O_TRUNC before the type is known: a FIFO, socket or device is
     * refused without a byte written */
    _cleanup_close_ int fd = open_in(dir, name, O_WRONLY | O_CREAT);
    struct stat st;
    if (fd < 0)
      return reply_not_regular(n, req, dir, name, shown, NULL, errno);
    if (fstat(fd, &st) < 0)
      return reply_errno(n, req, shown, errno);
    if (!S_ISREG(st.st_mode))
      return reply_not_regular(n, req, dir, name, shown, &st, 0);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    int rc = ftruncate(fd, 0);
    while (rc == 0 && evbuffer_get_length(in) > 0)
      rc = evbuffer_write(in, fd) >= 0 ? 0 : -1;
    if (rc == 0 && geteuid() == 0)
      rc = fchown(fd, wst.st_uid, wst.st_gid);
    if (rc < 0)
      return reply_errno(n, req, shown, errno);
    evhttp_send_reply(req, 204, "No Content", NULL);
  } else if (m == EVHTTP_REQ_DELETE && !op) {
    char *name;
    _cleanup_close_ int parent = open_parent(root, path, &name);
    _cleanup_close_ int dir = parent < 0 ? -1 : openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
      return reply_errno(n, req, shown, errno);
    if (unlinkat(dir, name, 0) < 0 && (errno != EISDIR || unlinkat(dir, name, AT_REMOVEDIR) < 0))
      return reply_errno(n, req, shown, errno);
    evhttp_send_reply(req, 204, "No Content", NULL);
  } else {
    al_node_reply_error(n, req, 405, "method_not_allowed", "use GET (op=list|stat), PUT or DELETE");
  }
}
