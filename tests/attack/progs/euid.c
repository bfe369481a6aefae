/* SPDX-License-Identifier: Apache-2.0 */
/* euid.c - prints the real and effective uid; made setuid-root by the
 * attack suite to show that setuid bits give nothing inside a sandbox. */
#include <stdio.h>
#include <unistd.h>

int main(void) {
  printf("ruid=%d euid=%d\n", (int)getuid(), (int)geteuid());
  return 0;
}
