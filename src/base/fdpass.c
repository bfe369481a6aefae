/* SPDX-License-Identifier: Apache-2.0 */
/* fdpass.c - one sendmsg and one recvmsg with SCM_RIGHTS (see fdpass.h). */
#include "fdpass.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

ssize_t al_send_fds(int sock, const void *data, size_t len, const int *fds, size_t n) {
  if (n > AL_FDPASS_MAX) {
    errno = EINVAL;
    return -1;
  }
  struct iovec iov = {(void *)data, len};
  union {
    char buf[CMSG_SPACE(AL_FDPASS_MAX * sizeof(int))];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof(control));
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  if (n > 0) {
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE(n * sizeof(int));
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(n * sizeof(int));
    memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
  }
  ssize_t r;
  do
    r = sendmsg(sock, &msg, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return r;
}

ssize_t al_recv_fds(int sock, void *data, size_t len, int *fds, size_t max_fds, size_t *n_fds, int recv_flags,
                    int *msg_flags) {
  *n_fds = 0;
  if (max_fds > AL_FDPASS_MAX) {
    errno = EINVAL;
    return -1;
  }
  struct iovec iov = {data, len};
  union {
    char buf[CMSG_SPACE(AL_FDPASS_MAX * sizeof(int))];
    struct cmsghdr align;
  } control;
  struct msghdr msg;
  ssize_t r;
  do {
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof(control.buf);
    r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | recv_flags);
  } while (r < 0 && errno == EINTR);
  if (msg_flags)
    *msg_flags = r < 0 ? 0 : msg.msg_flags;
  if (r < 0)
    return r;
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
      continue;
    size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
      if (*n_fds < max_fds)
        fds[(*n_fds)++] = fd;
      else
        close(fd);
    }
  }
  return r;
}
