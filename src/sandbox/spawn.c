/* spawn.c - starting a command inside a sandbox, for the one-shot init and
 * for the agent alike: every signal back to its default and unblocked, PATH
 * looked up in the command's own environment, scripts without "#!" run by
 * /bin/sh as execvp would.  Normally posix_spawn (vfork-style: no copy of
 * the spawner's page tables).  When memory is capped by RLIMIT_AS (degraded
 * mode, no memory cgroup) the cap must hold for the command but not for the
 * spawner, which may need address space of its own: then fork, set the
 * limit in the child, exec. */
#define _GNU_SOURCE
#include "plan.h"
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int spawn_capped(pid_t *pid, const int *fds, const char *cwd, bool new_session, rlim_t as_limit,
                        char *const argv[], char *const envp[]) {
  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) < 0)
    return errno;
  pid_t child = fork();
  if (child < 0) {
    int e = errno;
    close(err_pipe[0]), close(err_pipe[1]);
    return e;
  }
  if (child == 0) {
    sigset_t none;
    sigemptyset(&none);
    for (int s = 1; s < NSIG; s++)
      signal(s, SIG_DFL);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int i = 0; fds && i < 3; i++)
      if (dup2(fds[i], i) < 0)
        goto fail;
    if ((cwd && chdir(cwd) < 0) || (new_session && setsid() < 0))
      goto fail;
    struct rlimit rl = {as_limit, as_limit};
    if (setrlimit(RLIMIT_AS, &rl) < 0)
      goto fail;
    environ = (char **)envp;
    execvp(argv[0], argv); /* falls back to /bin/sh for scripts without #! */
  fail:;
    int e = errno;
    ssize_t w = write(err_pipe[1], &e, sizeof(e));
    (void)w;
    _exit(127);
  }
  close(err_pipe[1]);
  int e = 0;
  ssize_t r;
  do
    r = read(err_pipe[0], &e, sizeof(e));
  while (r < 0 && errno == EINTR);
  close(err_pipe[0]);
  if (r == (ssize_t)sizeof(e)) { /* exec failed: the child has exited */
    al_child_wait(child, NULL, 0);
    return e;
  }
  *pid = child;
  return 0;
}

int al_spawn(pid_t *pid, const int *fds, const char *cwd, bool new_session, rlim_t as_limit, char *const argv[],
             char *const envp[]) {
  if (as_limit)
    return spawn_capped(pid, fds, cwd, new_session, as_limit, argv, envp);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  for (int i = 0; fds && i < 3; i++)
    posix_spawn_file_actions_adddup2(&fa, fds[i], i);
  if (cwd)
    posix_spawn_file_actions_addchdir_np(&fa, cwd);
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
  int e = posix_spawnp(pid, argv[0], &fa, &attr, argv, envp);
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
      e = posix_spawn(pid, "/bin/sh", &fa, &attr, sh, envp);
      free(sh);
    }
  }
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  return e;
}
