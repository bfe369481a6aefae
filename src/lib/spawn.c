/* spawn.c - starting a command inside a sandbox, for the one-shot init and
 * for the agent alike: posix_spawn (vfork-style, no copy of the spawner's
 * page tables), every signal back to its default and unblocked, PATH looked
 * up in the command's own environment, and scripts without "#!" run by
 * /bin/sh as execvp would. */
#define _GNU_SOURCE
#include "plan.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>

extern char **environ;

int al_spawn(pid_t *pid, const posix_spawn_file_actions_t *fa, bool new_session, char *const argv[],
             char *const envp[]) {
  posix_spawnattr_t attr;
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_init(&attr);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
                                      (new_session ? POSIX_SPAWN_SETSID : 0));
  environ = (char **)envp; /* posix_spawnp looks PATH up in the current environment */
  int e = posix_spawnp(pid, argv[0], fa, &attr, argv, envp);
  if (e == ENOEXEC) {
    size_t argc = 0;
    while (argv[argc])
      argc++;
    char **sh = calloc(argc + 2, sizeof(char *));
    if (!sh) {
      e = ENOMEM;
    } else {
      sh[0] = (char *)"/bin/sh";
      for (size_t i = 0; i < argc; i++)
        sh[i + 1] = argv[i];
      e = posix_spawn(pid, "/bin/sh", fa, &attr, sh, envp);
      free(sh);
    }
  }
  posix_spawnattr_destroy(&attr);
  return e;
}
