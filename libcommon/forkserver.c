/*
 * forkserver.c - session processes forked from a ready template
 * (forkserver.h says why and what it gives up).
 *
 * Runs in two places. The pool half runs in the listener (root): it
 * starts templates, asks the current one for sessions, retires it by
 * count, age or a crashed session, and hears the ends of sessions. The
 * serving half runs in the template (root, unchrooted, like the
 * listener: each session chroots and drops privileges itself); it reads
 * only the listener's requests, never a client's byte.
 *
 * The protocol, one SOCK_SEQPACKET pair per template, one record per
 * message (struct fs_msg): the template says READY once it is loaded;
 * SPAWN carries the session's descriptors and payload, answered by
 * SPAWNED (the pid) or FAILED (fork's errno) before anything else the
 * template says; ENDED reports a session's wait status; RETIRE makes the
 * template report the ends it has reaped and leave. A template's
 * sessions outlive it: orphans go to the listener (a subreaper), which
 * reaps them itself.
 */
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deadline.h"
#include "forkserver.h"
#include "log.h"
#include "sock.h"

_Static_assert(FORKSERVER_FDS_MAX <= SOCK_FDS_MAX,
    "a request's descriptors travel in one sock_send_fds");

/* A template answers a SPAWN within this, or it is taken for stuck. */
#define FS_REPLY_MS	2000

enum fs_type {
	FS_READY = 1,
	FS_SPAWN,
	FS_SPAWNED,
	FS_FAILED,
	FS_ENDED,
	FS_RETIRE,
};

struct fs_hdr {
	uint32_t	type;
	int32_t		pid;
	int32_t		status;		/* wait status, or errno */
	uint32_t	len;		/* payload bytes */
};

struct fs_msg {
	struct fs_hdr	h;
	unsigned char	payload[FORKSERVER_PAYLOAD_MAX];
};

static time_t
fs_now(void)
{
	return (time_t)(deadline_now_ms() / 1000);
}

static int
fs_send(int ctl, enum fs_type type, pid_t pid, int status, int flags)
{
	struct fs_hdr	h;

	memset(&h, 0, sizeof(h));
	h.type = type;
	h.pid = pid;
	h.status = status;
	return send(ctl, &h, sizeof(h), MSG_NOSIGNAL | flags) ==
	    (ssize_t)sizeof(h) ? 0 : -1;
}

/* ---- the listener's half ---- */

static void	fs_start(struct forkserver_pool *);

static void
fs_clear(struct forkserver *fs)
{
	memset(fs, 0, sizeof(*fs));
	fs->ctl = -1;
	fs->pid = -1;
}

void
forkserver_pool_init(struct forkserver_pool *p, forkserver_exec_fn exec,
    forkserver_ended_fn ended, forkserver_lost_fn lost, void *arg)
{
	memset(p, 0, sizeof(*p));
	fs_clear(&p->cur);
	p->exec = exec;
	p->ended = ended;
	p->lost = lost;
	p->arg = arg;
	/* Without it a dead template's sessions would go to init, unseen. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1) {
		log_warn("prctl(PR_SET_CHILD_SUBREAPER): sessions are exec'd "
		    "one by one");
		p->stopped = 1;
	}
	fs_start(p);
}

static void
fs_start(struct forkserver_pool *p)
{
	int	sv[2];
	pid_t	pid;
	time_t	now = fs_now();

	if (p->cur.pid != -1 || p->stopped || now < p->next_start)
		return;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("session template: socketpair");
		p->next_start = now + 1;
		return;
	}
	if ((pid = fork()) == -1) {
		log_warn("session template: fork");
		close(sv[0]);
		close(sv[1]);
		p->next_start = now + 1;
		return;
	}
	if (pid == 0) {
		close(sv[0]);
		p->exec(p->arg, sv[1]);
		_exit(127);
	}
	close(sv[1]);
	fs_clear(&p->cur);
	p->fds_epoch++;
	p->cur.ctl = sv[0];
	p->cur.pid = pid;
	p->cur.gen = ++p->gen;
	p->cur.started = now;
}

/* No more messages from fs; it stays listed until the listener reaps it. */
static void
fs_close(struct forkserver_pool *p, struct forkserver *fs)
{
	if (fs->ctl != -1) {
		close(fs->ctl);
		p->fds_epoch++;
	}
	fs->ctl = -1;
	fs->ready = 0;
}

/*
 * The current template joins the old ones, which are listed until the
 * listener reaps them: only then are all their sessions its children,
 * and p->lost can tell a running one from one that ended unreported.
 */
static void
fs_demote(struct forkserver_pool *p)
{
	if (p->cur.pid == -1)
		return;
	if (p->nold == FORKSERVER_OLD_MAX) {
		/* Templates leave within milliseconds: not seen, but kept safe. */
		log_warnx("session template %ld: %d others not reaped yet; "
		    "killing it (its sessions' ends may go uncounted)",
		    (long)p->cur.pid, FORKSERVER_OLD_MAX);
		(void)kill(p->cur.pid, SIGKILL);
		fs_close(p, &p->cur);
	} else
		p->old[p->nold++] = p->cur;
	fs_clear(&p->cur);
}

/*
 * One message from fs, waiting at most ms (0: only what is there).
 * READY and ENDED are handled here. Returns the type; 0 when the
 * template closed after reading all we sent; FS_UNREAD when it went
 * with something we sent unread (a request it never saw); -1 when
 * nothing came. After 0 or FS_UNREAD, fs is closed.
 */
#define FS_UNREAD	(-2)

static int
fs_read(struct forkserver_pool *p, struct forkserver *fs, struct fs_hdr *out,
    int ms)
{
	struct fs_hdr	h;
	ssize_t		n;
	uint64_t	end = deadline_in_ms((uint64_t)ms);
	int		bad;

	for (;;) {
		n = recv(fs->ctl, &h, sizeof(h), MSG_DONTWAIT);
		if (n != -1 || (errno != EAGAIN && errno != EINTR))
			break;
		/* Signals (the listener's SIGCHLD) are waited through. */
		if (ms == 0 || deadline_poll(fs->ctl, POLLIN, end) != 0)
			return -1;
	}
	bad = n > 0 && (n != (ssize_t)sizeof(h) || (h.type != FS_READY &&
	    h.type != FS_SPAWNED && h.type != FS_FAILED &&
	    h.type != FS_ENDED));
	if (bad) {
		log_warnx("session template %ld: a bad message; killing it",
		    (long)fs->pid);
		(void)kill(fs->pid, SIGKILL);
	} else if (n == -1 && errno != ECONNRESET)
		log_warn("session template %ld", (long)fs->pid);
	if (n <= 0 || bad) {
		fs_close(p, fs);
		return n == -1 && errno == ECONNRESET ? FS_UNREAD : 0;
	}
	if (h.type == FS_READY) {
		fs->ready = fs->ever_ready = 1;
		p->failures = 0;
	} else if (h.type == FS_ENDED)
		p->ended(p->arg, fs->gen, (pid_t)h.pid, (int)h.status);
	*out = h;
	return (int)h.type;
}

static void
fs_drain(struct forkserver_pool *p, struct forkserver *fs)
{
	struct fs_hdr	h;

	while (fs->ctl != -1 && fs_read(p, fs, &h, 0) > 0)
		;
}

/* The current template reports what it reaped and goes; a new one starts. */
static void
fs_retire(struct forkserver_pool *p)
{
	struct forkserver	*fs = &p->cur;

	if (fs->pid == -1)
		return;
	if (fs->ctl != -1 && fs_send(fs->ctl, FS_RETIRE, 0, 0,
	    MSG_DONTWAIT) == -1) {
		/* Cannot be told: killed, and reaped as any template is. */
		(void)kill(fs->pid, SIGKILL);
		fs_close(p, fs);
	}
	fs->ready = 0;
	fs_demote(p);
	fs_start(p);
}

static pid_t
fs_spawn(struct forkserver_pool *p, const int *fds, size_t nfds,
    const void *payload, size_t len, unsigned *gen)
{
	struct forkserver	*fs = &p->cur;
	struct fs_msg		 m;
	struct fs_hdr		 h;
	int			 t;

	if (len > sizeof(m.payload) || nfds > FORKSERVER_FDS_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (fs->pid != -1 && (fs->spawned >= FORKSERVER_MAX_SPAWNS ||
	    fs_now() - fs->started >= FORKSERVER_MAX_AGE))
		fs_retire(p);
	fs_start(p);
	if (fs->ctl != -1 && !fs->ready)
		fs_drain(p, fs);
	if (fs->ctl == -1 || !fs->ready) {
		errno = EAGAIN;
		return -1;
	}
	memset(&m.h, 0, sizeof(m.h));
	m.h.type = FS_SPAWN;
	m.h.len = (uint32_t)len;
	memcpy(m.payload, payload, len);
	if (sock_send_fds(fs->ctl, &m, sizeof(m.h) + len, fds, nfds,
	    MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)(sizeof(m.h) + len)) {
		/* Not delivered: the caller may start the session otherwise. */
		if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN)
			fs_close(p, fs);
		errno = EAGAIN;
		return -1;
	}
	for (;;) {
		t = fs_read(p, fs, &h, FS_REPLY_MS);
		if (t == FS_SPAWNED && h.pid > 0) {
			fs->spawned++;
			*gen = fs->gen;
			if (fs->spawned >= FORKSERVER_MAX_SPAWNS) {
				log_debug("session template %ld forked %u "
				    "sessions: replaced", (long)fs->pid,
				    fs->spawned);
				fs_retire(p);
			}
			return (pid_t)h.pid;
		}
		if (t == FS_FAILED) {
			errno = h.status > 0 ? h.status : EAGAIN;
			return -1;
		}
		if (t == FS_ENDED || t == FS_READY)
			continue;
		if (t == FS_UNREAD) {
			/* Gone before it read the request: nothing forked. */
			errno = EAGAIN;
			return -1;
		}
		if (t == -1) {
			log_warnx("session template %ld did not answer; "
			    "replacing it", (long)fs->pid);
			(void)kill(fs->pid, SIGKILL);
			fs_close(p, fs);
		}
		/* It read the request and went: it may have forked. */
		errno = EIO;
		return -1;
	}
}

pid_t
forkserver_pool_spawn(struct forkserver_pool *p, const int *fds, size_t nfds,
    const void *payload, size_t len, unsigned *gen)
{
	pid_t	pid;
	int	saved;

	/* An end reported meanwhile may retire the template: afterwards. */
	p->in_spawn = 1;
	pid = fs_spawn(p, fds, nfds, payload, len, gen);
	saved = errno;
	p->in_spawn = 0;
	if (p->crashed_gen != 0) {
		forkserver_pool_crashed(p, p->crashed_gen);
		p->crashed_gen = 0;
	}
	errno = saved;
	return pid;
}

void
forkserver_pool_crashed(struct forkserver_pool *p, unsigned gen)
{
	if (p->in_spawn) {
		p->crashed_gen = gen;
		return;
	}
	if (p->cur.pid != -1 && p->cur.gen == gen) {
		log_warnx("a session of template %ld died by a signal: a fresh "
		    "template (new address-space layout) takes over",
		    (long)p->cur.pid);
		fs_retire(p);
	}
}

void
forkserver_pool_drain(struct forkserver_pool *p)
{
	struct pollfd	pfd[1 + FORKSERVER_OLD_MAX];
	size_t		i, n;

	n = forkserver_pool_pollfds(p, pfd);
	for (i = 0; i < n; i++)
		pfd[i].revents = POLLIN;
	forkserver_pool_events(p, pfd, n);
}

void
forkserver_pool_renew(struct forkserver_pool *p)
{
	if (p->in_spawn || p->cur.pid == -1)
		return;
	fs_retire(p);
}

int
forkserver_pool_reporting(const struct forkserver_pool *p, unsigned gen)
{
	size_t	k;

	if (p->cur.gen == gen && p->cur.ctl != -1)
		return 1;
	for (k = 0; k < p->nold; k++)
		if (p->old[k].gen == gen && p->old[k].ctl != -1)
			return 1;
	return 0;
}

int
forkserver_pool_timeout(struct forkserver_pool *p)
{
	time_t	now;

	fs_start(p);
	if (p->cur.pid != -1 || p->stopped)
		return -1;
	now = fs_now();
	return p->next_start > now ? (int)(p->next_start - now) * 1000 : 0;
}

size_t
forkserver_pool_nfds(const struct forkserver_pool *p)
{
	return 1 + p->nold;
}

size_t
forkserver_pool_pollfds(const struct forkserver_pool *p, struct pollfd *pfd)
{
	size_t	k, n = 0;

	if (p->cur.ctl != -1) {
		pfd[n].fd = p->cur.ctl;
		pfd[n++].events = POLLIN;
	}
	for (k = 0; k < p->nold; k++)
		if (p->old[k].ctl != -1) {
			pfd[n].fd = p->old[k].ctl;
			pfd[n++].events = POLLIN;
		}
	return n;
}

/* The template with this pid, wherever it is listed; NULL: none. */
static struct forkserver *
fs_find(struct forkserver_pool *p, pid_t pid)
{
	size_t	k;

	if (pid == -1)
		return NULL;
	if (p->cur.pid == pid)
		return &p->cur;
	for (k = 0; k < p->nold; k++)
		if (p->old[k].pid == pid)
			return &p->old[k];
	return NULL;
}

void
forkserver_pool_events(struct forkserver_pool *p, const struct pollfd *pfd,
    size_t n)
{
	struct forkserver	*fs;
	size_t			 i, k;
	pid_t			 pid;

	for (i = 0; i < n; i++) {
		if (pfd[i].revents == 0)
			continue;
		/* Found again each time: a report may retire or start one. */
		pid = -1;
		if (p->cur.ctl == pfd[i].fd)
			pid = p->cur.pid;
		for (k = 0; pid == -1 && k < p->nold; k++)
			if (p->old[k].ctl == pfd[i].fd)
				pid = p->old[k].pid;
		if ((fs = fs_find(p, pid)) != NULL)
			fs_drain(p, fs);
	}
}

int
forkserver_pool_reaped(struct forkserver_pool *p, pid_t pid, int status)
{
	struct forkserver	*fs;
	unsigned		 gen;
	size_t			 k;

	if ((fs = fs_find(p, pid)) == NULL)
		return 0;
	/* What it said before it went; a report may move it in the lists. */
	fs_drain(p, fs);
	if ((fs = fs_find(p, pid)) == NULL)
		return 1;
	fs_close(p, fs);
	gen = fs->gen;
	if (fs == &p->cur) {
		/* Not retired, so not expected to go: slower each time it
		 * never became ready, up to a minute between tries. */
		if (fs->ever_ready)
			p->failures = 0;
		else if (p->failures < 6)
			p->failures++;
		fs_clear(&p->cur);
		p->next_start = p->failures == 0 ? 0 :
		    fs_now() + ((time_t)1 << p->failures);
		if (WIFSIGNALED(status))
			log_warnx("session template %ld killed by signal %d",
			    (long)pid, WTERMSIG(status));
		else
			log_warnx("session template %ld exited with %d",
			    (long)pid, WEXITSTATUS(status));
	} else {
		k = (size_t)(fs - p->old);
		memmove(&p->old[k], &p->old[k + 1],
		    (p->nold - k - 1) * sizeof(p->old[0]));
		p->nold--;
	}
	/* Its sessions are the listener's children now. */
	p->lost(p->arg, gen);
	fs_start(p);
	return 1;
}

void
forkserver_pool_stop(struct forkserver_pool *p)
{
	size_t	k;

	fs_close(p, &p->cur);
	for (k = 0; k < p->nold; k++)
		fs_close(p, &p->old[k]);
	p->stopped = 1;
}

/* ---- the template's half ---- */

/* The wait status waitpid would give for what waitid saw. */
static int
fs_wait_status(const siginfo_t *si)
{
	if (si->si_code == CLD_EXITED)
		return (si->si_status & 0xff) << 8;
	return (si->si_status & 0x7f) | (si->si_code == CLD_DUMPED ? 0x80 : 0);
}

/*
 * Reports every session that ended; -1 when the listener is gone. Each
 * is reported before it is reaped: a session's process is gone from the
 * process table only once the listener can have heard of its end, which
 * a listener that drains its templates' reports before counting its
 * sessions (forkserver_pool_drain) turns into an exact count.
 */
static int
fs_reap(int ctl)
{
	siginfo_t	si;
	pid_t		pid;

	for (;;) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == -1 ||
		    (pid = si.si_pid) == 0)
			return 0;
		if (fs_send(ctl, FS_ENDED, pid, fs_wait_status(&si), 0) == -1)
			return -1;
		(void)waitpid(pid, NULL, 0);
	}
}

void
forkserver_serve(int ctl, forkserver_child_fn child, void *arg)
{
	struct signalfd_siginfo	 si;
	struct pollfd		 pfd[2];
	struct fs_msg		 m;
	sigset_t		 mask;
	int			 fds[FORKSERVER_FDS_MAX];
	size_t			 nfds, i;
	ssize_t			 n;
	pid_t			 pid;
	int			 sfd, saved;

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1 ||
	    (sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		fatal("session template: signalfd");
	/* Stopped by its listener (ctl closing), never by a signal. */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	if (fs_send(ctl, FS_READY, 0, 0, 0) == -1)
		_exit(0);
	for (;;) {
		pfd[0].fd = ctl;
		pfd[0].events = POLLIN;
		pfd[1].fd = sfd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("session template: poll");
		}
		if (pfd[1].revents & POLLIN) {
			while (read(sfd, &si, sizeof(si)) > 0)
				;
			if (fs_reap(ctl) == -1)
				_exit(0);
		}
		if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = sock_recv_fds(ctl, &m, sizeof(m), fds, FORKSERVER_FDS_MAX,
		    &nfds, MSG_DONTWAIT);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n == 0)
			_exit(0);	/* the listener is gone */
		if (n < (ssize_t)sizeof(m.h) || (m.h.type != FS_SPAWN &&
		    m.h.type != FS_RETIRE) || m.h.len != (size_t)n -
		    sizeof(m.h)) {
			log_warnx("session template: a bad request");
			_exit(1);
		}
		if (m.h.type == FS_RETIRE) {
			for (i = 0; i < nfds; i++)
				close(fds[i]);
			(void)fs_reap(ctl);
			_exit(0);
		}
		if ((pid = fork()) == 0) {
			close(ctl);
			close(sfd);
			sigemptyset(&mask);
			(void)sigprocmask(SIG_SETMASK, &mask, NULL);
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			signal(SIGHUP, SIG_DFL);
			child(arg, fds, nfds, m.payload, m.h.len);
			_exit(1);
		}
		saved = errno;
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		/* The next session must not find this client's address. */
		explicit_bzero(&m, sizeof(m));
		if ((pid == -1 ? fs_send(ctl, FS_FAILED, 0, saved, 0) :
		    fs_send(ctl, FS_SPAWNED, pid, 0, 0)) == -1)
			_exit(0);
	}
}
