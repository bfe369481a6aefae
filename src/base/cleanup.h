/* SPDX-License-Identifier: Apache-2.0 */
/* cleanup.h - scope-bound release of resources, as systemd and crun do it:
 * a variable declared with one of these attributes is released when it goes
 * out of scope, so early returns on error cannot leak. */
#ifndef AIRLOCK_CLEANUP_H
#define AIRLOCK_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <errno.h>
#include <dirent.h>

static inline void al_freep(void *p) { free(*(void **)p); }
static inline void al_closep(int *fd) {
  if (*fd >= 0) {
    int saved = errno;
    close(*fd);
    errno = saved;
  }
}
static inline void al_fclosep(FILE **f) {
  if (*f)
    fclose(*f);
}
static inline void al_closedirp(DIR **d) {
  if (*d)
    closedir(*d);
}

#define _cleanup_free_ __attribute__((cleanup(al_freep)))
#define _cleanup_close_ __attribute__((cleanup(al_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(al_fclosep)))
#define _cleanup_closedir_ __attribute__((cleanup(al_closedirp)))

/* Hand ownership out of a cleanup variable. */
#define AL_STEAL(p)                                                                                                    \
  ({                                                                                                                   \
    __typeof__(p) _tmp = (p);                                                                                          \
    (p) = (__typeof__(p))0;                                                                                            \
    _tmp;                                                                                                              \
  })
#define AL_STEAL_FD(fd)                                                                                                \
  ({                                                                                                                   \
    int _tmp = (fd);                                                                                                   \
    (fd) = -1;                                                                                                         \
    _tmp;                                                                                                              \
  })

#define AL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
