/* SPDX-License-Identifier: Apache-2.0 */
/* stdio_relay.c - see stdio_relay.h.  Why: a descriptor of the caller's
 * terminal inside the sandbox lets the command change that terminal's line
 * discipline (TIOCSETD), its modes (TCSETS) or inject input into it, and
 * the damage outlives the sandbox.  So no such descriptor goes in at all:
 * the command's terminal is a pty of the sandbox's own devpts (init opens
 * it and sends the master up the status socket), and this file is the
 * launcher's end, `docker run -t` style: raw mode on the caller's terminal,
 * bytes both ways, window size on start and on SIGWINCH, modes back on
 * every ending.  Without any terminal nothing here runs beyond three
 * isatty() calls. */
#define _GNU_SOURCE
#include "stdio_relay.h"
#include "clock.h"
#include "error.h"
#include "term.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#define OUT_BUF 65536
#define IN_BUF 4096
#define WRITE_CHUNK 4096  /* after POLLOUT a pipe takes this much without blocking */
#define FINISH_MS 2000    /* the sandbox's last output, at most this long */
#define BACKGROUND_MS 200 /* `fg` of a running job sends no SIGCONT: how soon raw mode follows it */

typedef struct chan {
  int src, dst; /* -1 when not (yet) there */
  bool eof;     /* src ended */
  bool dead;    /* dst failed: what comes is read and dropped */
  size_t off, len, cap;
  char *buf;
} chan;

struct al_relay {
  int term;             /* the caller's terminal: the first of 0, 1, 2 that is one; -1 for none */
  bool keyboard;        /* stdin is that terminal: read in raw mode */
  bool raw;             /* the terminal is in raw mode now */
  struct termios saved; /* its modes before */
  int master;           /* the pty's master; -1 until init sends it */
  bool background;      /* not in the terminal's foreground: the keyboard is not read, the modes are
                              left alone, and the foreground is looked for every BACKGROUND_MS */
  bool done;            /* the sandbox is gone: the keyboard is not read any more */
  bool veof_sent;
  chan in;     /* stdin -> master */
  chan out[2]; /* master or the stdout pipe -> its terminal; the stderr pipe -> 2 */
  struct {
    chan *c;
    bool read;
  } slot[AL_RELAY_MAX_POLL];
  int n_slots;
};

static void chan_init(chan *c, int src, int dst, char *buf, size_t cap) {
  *c = (chan){.src = src, .dst = dst, .buf = buf, .cap = cap};
}

int al_stdio_prepare(al_stdio *s, airlock_pty_mode mode, bool agent, al_relay **relay, airlock_error **err) {
  *relay = NULL;
  memset(s, 0, sizeof(*s));
  s->pipe_fd[0] = s->pipe_fd[1] = s->pipe_fd[2] = -1;
  bool term[3];
  int first = -1;
  for (int i = 0; i < 3; i++) {
    term[i] = isatty(i);
    if (term[i] && first < 0)
      first = i;
  }
  if (first < 0 && (agent || mode != AIRLOCK_PTY_ALWAYS))
    return 0; /* every descriptor as it is: what a launch without a terminal always did */
  if (agent || mode == AIRLOCK_PTY_NEVER) {
    for (int i = 0; i < 3; i++)
      s->kind[i] = !term[i] ? AL_STDIO_PASS : i == 0 || agent ? AL_STDIO_NULL : AL_STDIO_PIPE;
    if (agent || (s->kind[1] != AL_STDIO_PIPE && s->kind[2] != AL_STDIO_PIPE))
      return 0;
  } else {
    for (int i = 0; i < 3; i++)
      s->kind[i] = term[i] ? AL_STDIO_PTY : AL_STDIO_PASS;
    if (mode == AIRLOCK_PTY_ALWAYS)
      s->kind[0] = s->kind[1] = AL_STDIO_PTY;
    s->pty = true;
  }

  al_relay *r = calloc(1, sizeof(*r) + 2 * OUT_BUF + IN_BUF);
  if (r == NULL)
    return al_err(err, ENOMEM, "terminal relay");
  char *mem = (char *)(r + 1);
  r->term = first;
  r->master = -1;
  chan_init(&r->in, -1, -1, mem + 2 * OUT_BUF, IN_BUF);
  chan_init(&r->out[0], -1, -1, mem, OUT_BUF);
  chan_init(&r->out[1], -1, -1, mem + OUT_BUF, OUT_BUF);
  if (s->pty) {
    r->keyboard = term[0];
    if (s->kind[0] == AL_STDIO_PTY)
      r->in.src = 0; /* its destination, the master, comes later */
    /* the pty's output goes to the caller's stdout, else stderr, else the
     * terminal that is stdin */
    r->out[0].dst = s->kind[1] == AL_STDIO_PTY ? 1 : s->kind[2] == AL_STDIO_PTY ? 2 : 0;
    /* the new terminal starts with the caller's modes, as script(1) does,
     * but only from the foreground: in the background the shell may have
     * the terminal in its line editor's modes at this very moment (no
     * ICANON, no ICRNL), so the kernel's defaults are the better start */
    if (first >= 0 && al_term_foreground(first) && tcgetattr(first, &s->termios) == 0)
      s->set_termios = true;
    if (first >= 0 && ioctl(first, TIOCGWINSZ, &s->winsize) < 0)
      memset(&s->winsize, 0, sizeof(s->winsize));
  } else {
    for (int i = 1; i < 3; i++) {
      if (s->kind[i] != AL_STDIO_PIPE)
        continue;
      int p[2];
      if (pipe2(p, O_CLOEXEC) < 0) {
        int e = errno;
        al_relay_free(&r);
        al_stdio_cloned(s);
        return al_err(err, e, "pipe for the command's %s", i == 1 ? "stdout" : "stderr");
      }
      fcntl(p[0], F_SETFL, O_NONBLOCK);
      s->pipe_fd[i] = p[1];
      r->out[i - 1].src = p[0];
      r->out[i - 1].dst = i;
    }
  }
  *relay = r;
  return 0;
}

void al_stdio_cloned(al_stdio *s) {
  for (int i = 0; i < 3; i++)
    if (s->kind[i] == AL_STDIO_PIPE && s->pipe_fd[i] >= 0) { /* a zeroed plan holds none */
      close(s->pipe_fd[i]);
      s->pipe_fd[i] = -1;
    }
}

static void restore(al_relay *r) {
  if (!r->raw)
    return;
  al_term_set(r->term, &r->saved);
  r->raw = false;
}

/* Raw mode only in the foreground: a background airlock leaves the
 * terminal to the shell and does not read it until it is in the foreground
 * (continued by SIGCONT, or found there by al_relay_poll_fds). */
static void enter_raw(al_relay *r) {
  if (!r->keyboard || r->raw || r->master < 0)
    return;
  r->background = !al_term_foreground(r->term);
  if (r->background)
    return;
  r->raw = al_term_raw(r->term, &r->saved) == 0;
}

static void pass_window_size(al_relay *r) {
  struct winsize ws;
  if (r->term >= 0 && r->master >= 0 && ioctl(r->term, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
    ioctl(r->master, TIOCSWINSZ, &ws);
}

void al_relay_attach_pty(al_relay *r, int master) {
  if (r == NULL || r->master >= 0 || r->out[0].src >= 0) {
    close(master); /* not asked for, or a second one */
    return;
  }
  fcntl(master, F_SETFL, O_NONBLOCK);
  r->master = master;
  r->out[0].src = master;
  if (r->in.src >= 0)
    r->in.dst = master;
  enter_raw(r);
  pass_window_size(r); /* it may have changed since the plan was made */
}

static void add_slot(al_relay *r, struct pollfd *fds, int fd, short events, chan *c, bool read) {
  fds[r->n_slots] = (struct pollfd){fd, events, 0};
  r->slot[r->n_slots].c = c;
  r->slot[r->n_slots].read = read;
  r->n_slots++;
}

/* a channel reads while its buffer is empty and writes until it is */
static void chan_poll(al_relay *r, struct pollfd *fds, chan *c, bool may_read) {
  if (c->len == 0 && c->src >= 0 && !c->eof && may_read)
    add_slot(r, fds, c->src, POLLIN, c, true);
  else if (c->len > 0 && c->dst >= 0)
    add_slot(r, fds, c->dst, POLLOUT, c, false);
}

int al_relay_poll_fds(al_relay *r, struct pollfd *fds) {
  r->n_slots = 0;
  if (r->background && !r->done)
    enter_raw(r);
  chan_poll(r, fds, &r->in, r->in.dst >= 0 && !r->background && !r->done);
  chan_poll(r, fds, &r->out[0], true);
  chan_poll(r, fds, &r->out[1], true);
  return r->n_slots;
}

/* stdin that is not a terminal (--pty) ended: in canonical mode the
 * terminal's end-of-file character is what makes the command's read see it */
static void send_eof(al_relay *r) {
  struct termios t;
  if (r->veof_sent || r->keyboard || r->master < 0 || tcgetattr(r->master, &t) < 0 || !(t.c_lflag & ICANON))
    return;
  r->veof_sent = true;
  r->in.buf[0] = (char)t.c_cc[VEOF];
  r->in.off = 0;
  r->in.len = 1;
}

static void chan_read(al_relay *r, chan *c) {
  ssize_t n = read(c->src, c->buf, c->cap);
  if (n > 0) {
    c->off = 0;
    c->len = c->dead ? 0 : (size_t)n;
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n < 0 && errno == EIO && c == &r->in && r->keyboard) {
    r->background = true; /* read from the background (SIGTTIN is blocked): wait for the foreground */
    return;
  }
  c->eof = true; /* end of file, or EIO: the pty's slave is closed everywhere */
  if (c == &r->in)
    send_eof(r);
}

static void chan_write(chan *c) {
  size_t n = c->len - c->off;
  ssize_t w = write(c->dst, c->buf + c->off, n < WRITE_CHUNK ? n : WRITE_CHUNK);
  if (w < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (w <= 0) {
    c->dead = true; /* a closed pipe, a hung-up terminal: drop the rest */
    c->len = c->off = 0;
    return;
  }
  c->off += (size_t)w;
  if (c->off == c->len)
    c->off = c->len = 0;
}

void al_relay_io(al_relay *r, const struct pollfd *fds, int n) {
  for (int i = 0; i < n && i < r->n_slots; i++) {
    if (!fds[i].revents)
      continue;
    if (r->slot[i].read)
      chan_read(r, r->slot[i].c);
    else
      chan_write(r->slot[i].c);
  }
}

int al_relay_timeout_ms(const al_relay *r) { return r->background && !r->done ? BACKGROUND_MS : -1; }

void al_relay_signals(sigset_t *set) {
  static const int sigs[] = {SIGWINCH, SIGTSTP, SIGCONT, SIGTTIN, SIGTTOU, SIGPIPE};
  for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
    sigaddset(set, sigs[i]);
}

void al_relay_signal(al_relay *r, int signo) {
  if (r == NULL)
    return;
  switch (signo) {
  case SIGWINCH: pass_window_size(r); break;
  case SIGTSTP:
    /* stop as the default action would, with the modes given back first */
    restore(r);
    kill(getpid(), SIGSTOP);
    break;
  case SIGCONT:
    enter_raw(r);
    pass_window_size(r);
    break;
  default: break; /* SIGTTIN, SIGTTOU, SIGPIPE: nothing to do */
  }
}

void al_relay_finish(al_relay *r) {
  if (r == NULL)
    return;
  /* init is reaped, so every process of the sandbox is gone and every
   * holder of the pty's slave or of the pipes with it: read to the end */
  int64_t deadline = al_monotonic_ms() + FINISH_MS;
  r->done = true;
  for (;;) {
    struct pollfd fds[AL_RELAY_MAX_POLL];
    int n = al_relay_poll_fds(r, fds);
    int64_t left = deadline - al_monotonic_ms();
    if (n == 0 || left <= 0)
      break;
    if (poll(fds, (nfds_t)n, (int)left) < 0 && errno != EINTR)
      break;
    al_relay_io(r, fds, n);
  }
  restore(r);
}

void al_relay_free(al_relay **rp) {
  al_relay *r = *rp;
  if (r == NULL)
    return;
  restore(r);
  if (r->master >= 0)
    close(r->master);
  for (int i = 0; i < 2; i++)
    if (r->out[i].src >= 0 && r->out[i].src != r->master)
      close(r->out[i].src);
  free(r);
  *rp = NULL;
}
