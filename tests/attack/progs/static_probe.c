/* SPDX-License-Identifier: Apache-2.0 */
/* static_probe.c - a statically linked probe for --image runs: the image
 * holds nothing but this binary, so it must not need the host's libraries.
 * Prints what of the host it can see and whether the image is writable. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  printf("host-usr=%s\n", access("/usr/bin", F_OK) == 0 ? "visible" : "absent");
  printf("host-etc-shadow=%s\n", access("/etc/shadow", F_OK) == 0 ? "visible" : "absent");
  int fd = open("/bin/written-by-sandbox", O_WRONLY | O_CREAT, 0644);
  printf("image-write=%s\n", fd >= 0 ? "allowed" : strerror(errno));
  fd = open("/tmp/scratch", O_WRONLY | O_CREAT, 0644);
  printf("tmp-write=%s\n", fd >= 0 ? "allowed" : strerror(errno));
  return 0;
}
