/* SPDX-License-Identifier: Apache-2.0 */
/* spawn.c - starting a command inside a sandbox, for the one-shot init and
 * for the agent alike: every signal back to its default and unblocked, PATH
 * looked up in the command's own environment, scripts without "#!" run by
 * /bin/sh as execvp would.  Normally posix_spawn (vfork-style: no copy of
 * the spawner's page tables).  When memory is capped by RLIMIT_AS (degraded
 * mode, no memory cgroup) the cap must hold for the command but not for the
 * spawner, which may need address space of its own: then fork, set the
 * limit in the child, exec.  A command on a pty is started in a new session
 * and opens the slave by path, which makes it the session's controlling
 * terminal (job control works); the pty itself comes from al_pty_open(),
 * in the sandbox's own devpts instance. */
#define _GNU_SOURCE
#include "plan.h"
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int spawn_capped(pid_t *pid, const al_spawn_opts *o, char *const argv[], char *const envp[]) {
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
    for (int i = 0; o->fds && i < 3; i++)
      if (dup2(o->fds[i], i) < 0)
        goto fail;
    if ((o->cwd && chdir(o->cwd) < 0) || ((o->new_session || o->tty) && setsid() < 0))
      goto fail;
    if (o->tty) {
      int t = open(o->tty, O_RDWR); /* a session leader without a terminal: this one becomes it */
      if (t < 0 || ioctl(t, TIOCSCTTY, 0) < 0)
        goto fail;
      for (int i = 0; i < 3; i++)
        if ((o->tty_fds & (1u << i)) && dup2(t, i) < 0)
          goto fail;
      if (t > 2)
        close(t);
    }
    struct rlimit rl = {o->as_limit, o->as_limit};
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

int al_spawn(pid_t *pid, const al_spawn_opts *o, char *const argv[], char *const envp[]) {
  if (o->as_limit)
    return spawn_capped(pid, o, argv, envp);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  for (int i = 0; o->fds && i < 3; i++)
    posix_spawn_file_actions_adddup2(&fa, o->fds[i], i);
  if (o->tty) {
    /* glibc runs file actions after setsid: opening the slave without
     * O_NOCTTY in a session leader makes it the controlling terminal */
    int first = -1;
    for (int i = 0; i < 3; i++) {
      if (!(o->tty_fds & (1u << i)))
        continue;
      if (first < 0)
        posix_spawn_file_actions_addopen(&fa, first = i, o->tty, O_RDWR, 0);
      else
        posix_spawn_file_actions_adddup2(&fa, first, i);
    }
  }
  if (o->cwd)
    posix_spawn_file_actions_addchdir_np(&fa, o->cwd);
  posix_spawnattr_t attr;
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_init(&attr);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
                                      (o->new_session || o->tty ? POSIX_SPAWN_SETSID : 0));
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

int al_pty_open(int *master, char *tty, size_t ttylen, const struct termios *modes, const struct winsize *ws) {
  /* the sandbox's devpts (newinstance, rootfs.c): no pty of the host's is
   * reachable from it */
  int m = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0)
    return errno;
  int unlock = 0;
  unsigned n = 0;
  if (ioctl(m, TIOCSPTLCK, &unlock) < 0 || ioctl(m, TIOCGPTN, &n) < 0 || (modes && tcsetattr(m, TCSANOW, modes) < 0) ||
      (ws && ws->ws_row && ioctl(m, TIOCSWINSZ, ws) < 0)) {
    int e = errno;
    close(m);
    return e;
  }
  snprintf(tty, ttylen, "/dev/pts/%u", n);
  *master = m;
  return 0;
}
