/*
 * pipe.c - the pipe transport: an alias's "|command" run with the
 * message on its standard input, as Postfix's local(8) does.
 *
 * Two processes. deliverd (mail_user) forks a command runner at start,
 * while still root, when allow_alias_commands is on; the runner drops at
 * once to default_privs (never root, never mail_user: a command must not
 * be able to read the mail store) and from then on only takes jobs from
 * its deliverd over a socketpair and answers each. deliverd trusts the
 * runner's answers no more than a frame decode (a bad frame ends the
 * runner, and deliverd then exits so that master starts both afresh);
 * the runner trusts its deliverd, which is more privileged.
 *
 * A command is never given to a shell. cmdline_split turns it into an
 * argument vector (its rules, and why shell syntax is refused, are in
 * libcommon/cmdline.h) and the runner calls execve with it and an
 * environment made here (nothing inherited): the variables Postfix's
 * local(8) gives a command. The command runs in a process group of its
 * own, with NO_NEW_PRIVS inherited from deliverd (a set-id program runs
 * without its privileges), and is killed with its whole group when it
 * overruns command_time_limit or when deliverd goes away. What it prints
 * (stdout and stderr) is kept up to PIPE_OUTPUT_MAX bytes, the rest read
 * and dropped so the command never blocks on a full pipe, and becomes
 * part of the bounce or deferral text.
 *
 * Exit status (sysexits, as Postfix): 0 delivered; 75 (EX_TEMPFAIL)
 * deferred, 4.3.0; any other status bounced, 5.3.0; a signal, the time
 * limit, or a command that could not be started deferred (4.3.0 /
 * 4.3.5): the administrator can fix those, and the queue keeps the mail.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "cmdline.h"
#include "conf.h"
#include "deliverd.h"
#include "ipc.h"
#include "log.h"
#include "priv.h"
#include "proc.h"

/* The job frame on the runner's socketpair (ours alone). */
#define PIPE_JOB		0x5001
#define PIPE_FRAME_MAX		(16 * 1024)
/* What a command may take beyond its limit to be killed and reaped. */
#define PIPE_ANSWER_MARGIN_MS	10000
#define PIPE_PATH		"/usr/bin:/bin"
#define PIPE_ENV_MAX		16
#define PIPE_ARGBUF		8192
#define PIPE_CHUNK		65536
#define PIPE_OBUF		16384

static struct ipc_conn	pipe_conn = { .fd = -1 };	/* deliverd's end */
static pid_t		pipe_pid = -1;

/* ---- the runner: one command ---- */

struct pipe_run {
	const struct d_job	*j;
	int			 msgfd;
	const char		*home;
	struct pipe_params	 par;
	int			 parent;	/* deliverd's end: EOF ends us */
	struct d_result		*res;
};

static void
pipe_status(struct d_result *res, uint32_t status, const char *text)
{
	res->status = status;
	strlcpy(res->text, text, sizeof(res->text));
}

static uint64_t
pipe_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * The command's output as one line of a DSN: printable ASCII, each run
 * of anything else one space, at most outsz - 1 bytes.
 */
void
pipe_output_text(const char *in, size_t inlen, char *out, size_t outsz)
{
	size_t	i, n = 0;
	int	space = 1;

	if (outsz == 0)
		return;
	for (i = 0; i < inlen && n + 1 < outsz; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c > 0x20 && c < 0x7f) {
			out[n++] = (char)c;
			space = 0;
		} else if (!space) {
			out[n++] = ' ';
			space = 1;
		}
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

/*
 * The variables of Postfix's local(8) for a command, for the argument
 * vector's $NAME and for the environment. RECIPIENT is the address the
 * alias was delivered for (lowercased, as in Delivered-To); USER is its
 * local part without the extension that follows recipient_delimiter.
 */
struct pipe_vars {
	char	recipient[ADDR_MAX + 1];
	char	local[ADDR_MAX + 1];
	char	user[ADDR_MAX + 1];
	char	extension[ADDR_MAX + 1];
	char	domain[ADDR_MAX + 1];
	struct cmdline_var v[11];
	size_t	n;
};

static void
pipe_vars_init(struct pipe_vars *pv, const struct d_job *j, const char *delim,
    const char *home)
{
	char	*at, *ext;
	size_t	 i;

	memset(pv, 0, sizeof(*pv));
	strlcpy(pv->recipient, j->orcpt, sizeof(pv->recipient));
	addr_lower(pv->recipient);
	strlcpy(pv->local, pv->recipient, sizeof(pv->local));
	if ((at = strrchr(pv->local, '@')) != NULL) {
		strlcpy(pv->domain, at + 1, sizeof(pv->domain));
		*at = '\0';
	}
	strlcpy(pv->user, pv->local, sizeof(pv->user));
	/* The first delimiter starts the extension, as in Postfix. */
	if (delim[0] != '\0' && (ext = strpbrk(pv->user, delim)) != NULL &&
	    ext != pv->user) {
		strlcpy(pv->extension, ext + 1, sizeof(pv->extension));
		*ext = '\0';
	}
	i = 0;
	pv->v[i].name = "SENDER";		pv->v[i++].value = j->sender;
	pv->v[i].name = "RECIPIENT";		pv->v[i++].value = pv->recipient;
	pv->v[i].name = "ORIGINAL_RECIPIENT";	pv->v[i++].value = pv->recipient;
	pv->v[i].name = "LOCAL";		pv->v[i++].value = pv->local;
	pv->v[i].name = "USER";			pv->v[i++].value = pv->user;
	pv->v[i].name = "LOGNAME";		pv->v[i++].value = pv->user;
	pv->v[i].name = "EXTENSION";		pv->v[i++].value = pv->extension;
	pv->v[i].name = "DOMAIN";		pv->v[i++].value = pv->domain;
	pv->v[i].name = "HOME";			pv->v[i++].value = home;
	pv->v[i].name = "SHELL";		pv->v[i++].value = "/bin/sh";
	pv->v[i].name = "PATH";			pv->v[i++].value = PIPE_PATH;
	pv->n = i;
}

/* "NAME=value" strings into store, pointers into envp (NULL-ended). */
static int
pipe_envp(const struct pipe_vars *pv, char **envp, size_t envmax,
    struct buf *store, size_t *offs)
{
	const char	*tz = getenv("TZ");
	size_t		 i, n = 0;

	for (i = 0; i < pv->n && n + 3 < envmax; i++) {
		offs[n++] = store->len;
		if (buf_printf(store, "%s=%s", pv->v[i].name,
		    pv->v[i].value) == -1 || buf_append(store, "", 1) == -1)
			return -1;
	}
	offs[n++] = store->len;
	if (buf_puts(store, "LANG=C") == -1 || buf_append(store, "", 1) == -1)
		return -1;
	if (tz != NULL) {
		offs[n++] = store->len;
		if (buf_printf(store, "TZ=%s", tz) == -1 ||
		    buf_append(store, "", 1) == -1)
			return -1;
	}
	/* Pointers only now: the buffer may have moved while it grew. */
	for (i = 0; i < n; i++)
		envp[i] = store->data + offs[i];
	envp[n] = NULL;
	return 0;
}

/* In the child: never returns. errfd reports a failed exec's errno. */
static void
pipe_child(char **argv, char **envp, int in, int out, int errfd)
{
	char	 path[PATH_MAX];
	const char *dir, *next;
	int	 err = ENOENT, keep[1];
	size_t	 dl;

	(void)setsid();		/* a group of its own: the timeout kills all */
	if (dup2(in, 0) == -1 || dup2(out, 1) == -1 || dup2(out, 2) == -1)
		goto fail;
	keep[0] = errfd;
	if (proc_exec_prepare(keep, 1) == -1 ||
	    fcntl(errfd, F_SETFD, FD_CLOEXEC) == -1)
		goto fail;
	umask(077);
	if (chdir("/") == -1)
		goto fail;
	if (strchr(argv[0], '/') != NULL) {
		execve(argv[0], argv, envp);
		err = errno;
	} else {
		for (dir = PIPE_PATH; *dir != '\0'; dir = next) {
			next = strchr(dir, ':');
			dl = next ? (size_t)(next - dir) : strlen(dir);
			next = next ? next + 1 : dir + dl;
			if (snprintf(path, sizeof(path), "%.*s/%s", (int)dl,
			    dir, argv[0]) >= (int)sizeof(path))
				continue;
			execve(path, argv, envp);
			if (errno != ENOENT)
				err = errno;
		}
	}
	if (write(errfd, &err, sizeof(err)) == -1)
		_exit(126);
	_exit(127);
fail:
	err = errno;
	if (write(errfd, &err, sizeof(err)) == -1)
		_exit(126);
	_exit(127);
}

static void
pipe_kill(pid_t pid)
{
	int status;

	(void)kill(-pid, SIGKILL);
	(void)kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
}

/*
 * Feeds the command the envelope lines and the message, collects its
 * output, waits for it within the limit. Fills r->res.
 */
static void
pipe_execute(struct pipe_run *r, char **argv, char **envp, const char *dto)
{
	/* The output's share of a reply text: the rest says what happened. */
	char		 out[PIPE_OUTPUT_MAX], text[PROTO_TEXT_MAX / 2];
	/* Two buffers: output read meanwhile must not clobber unsent input. */
	char		 chunk[PIPE_CHUNK], obuf[PIPE_OBUF], stamp[64];
	struct buf	 head;
	struct pollfd	 pfd[4];
	struct tm	 tm;
	time_t		 now;
	uint64_t	 deadline, t, sent = 0, total;
	size_t		 outlen = 0, headoff = 0, chunklen = 0, chunkoff = 0;
	ssize_t		 n;
	pid_t		 pid = -1;
	int		 in[2] = { -1, -1 }, op[2] = { -1, -1 },
			 ep[2] = { -1, -1 }, pidfd = -1, status = 0,
			 exited = 0, eof = 0, err, saved;

	/* What local(8) puts before a piped message: From_, Return-Path, Delivered-To. */
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%a %b %e %H:%M:%S %Y", &tm);
	buf_init(&head, 4 * ADDR_MAX);
	if (buf_printf(&head, "From %s  %s\nReturn-Path: <%s>\n"
	    "Delivered-To: %s\n", r->j->sender[0] ? r->j->sender :
	    "MAILER-DAEMON", stamp, r->j->sender, dto) == -1) {
		buf_free(&head);
		pipe_status(r->res, ST_TEMP, "4.3.0 out of memory");
		return;
	}
	total = head.len + r->j->size;

	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(op, O_CLOEXEC) == -1 ||
	    pipe2(ep, O_CLOEXEC) == -1) {
		saved = errno;
		log_warn("%s: pipe", r->j->qid);
		snprintf(text, sizeof(text), "4.3.0 %s", strerror(saved));
		pipe_status(r->res, ST_TEMP, text);
		goto out;
	}
	if ((pid = fork()) == -1) {
		saved = errno;
		log_warn("%s: fork", r->j->qid);
		snprintf(text, sizeof(text), "4.3.0 %s", strerror(saved));
		pipe_status(r->res, ST_TEMP, text);
		goto out;
	}
	if (pid == 0)
		pipe_child(argv, envp, in[0], op[1], ep[1]);
	close(in[0]);
	close(op[1]);
	close(ep[1]);
	in[0] = op[1] = ep[1] = -1;
	/* Empty at the exec (close-on-exec); the errno if it failed. */
	while ((n = read(ep[0], &err, sizeof(err))) == -1 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof(err)) {
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
		pid = -1;	/* reaped: its number is free for others */
		snprintf(text, sizeof(text), "4.3.5 cannot run %s: %s",
		    argv[0], strerror(err));
		log_warnx("%s: %s", r->j->qid, text + 6);
		pipe_status(r->res, ST_TEMP, text);
		goto out;
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd == -1) {
		saved = errno;
		log_warn("%s: pidfd_open", r->j->qid);
		pipe_kill(pid);
		snprintf(text, sizeof(text), "4.3.0 %s", strerror(saved));
		pipe_status(r->res, ST_TEMP, text);
		goto out;
	}
	(void)fcntl(in[1], F_SETFL, O_NONBLOCK);
	(void)fcntl(op[0], F_SETFL, O_NONBLOCK);

	deadline = pipe_now_ms() + (uint64_t)r->par.limit * 1000;
	while (!exited || !eof) {
		int nfds = 0, ifd = -1, ofd = -1, xfd, pi;

		if ((t = pipe_now_ms()) >= deadline) {
			pipe_kill(pid);
			pid = -1;
			pipe_output_text(out, outlen, text, sizeof(text));
			snprintf(r->res->text, sizeof(r->res->text), "4.3.0 "
			    "command exceeded command_time_limit (%llds) and "
			    "was killed%s%s", (long long)r->par.limit,
			    text[0] ? ": " : "", text);
			r->res->status = ST_TEMP;
			goto out;
		}
		pfd[nfds].fd = r->parent;
		pfd[nfds++].events = POLLIN;
		xfd = nfds;
		pfd[nfds].fd = pidfd;
		pfd[nfds++].events = exited ? 0 : POLLIN;
		if (in[1] != -1) {
			ifd = nfds;
			pfd[nfds].fd = in[1];
			pfd[nfds++].events = POLLOUT;
		}
		if (!eof) {
			ofd = nfds;
			pfd[nfds].fd = op[0];
			pfd[nfds++].events = POLLIN;
		}
		pi = poll(pfd, (nfds_t)nfds, (int)(deadline - t > INT_MAX ?
		    INT_MAX : deadline - t));
		if (pi == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[0].revents != 0) {
			/* deliverd is gone or stopping: so is the command. */
			log_warnx("%s: deliverd went away; killing the command",
			    r->j->qid);
			pipe_kill(pid);
			_exit(0);
		}
		if (ofd != -1 && pfd[ofd].revents != 0) {
			for (;;) {
				n = read(op[0], obuf, sizeof(obuf));
				if (n > 0) {
					size_t keep = (size_t)n;

					if (keep > sizeof(out) - outlen)
						keep = sizeof(out) - outlen;
					memcpy(out + outlen, obuf, keep);
					outlen += keep;
					continue;
				}
				if (n == 0 || errno != EINTR) {
					if (n == 0 || errno != EAGAIN)
						eof = 1;
					break;
				}
			}
		}
		if (ifd != -1 && pfd[ifd].revents != 0) {
			/* Header first, then the message in chunks. */
			for (;;) {
				const char	*p;
				size_t		 len;

				if (headoff < head.len) {
					p = head.data + headoff;
					len = head.len - headoff;
				} else {
					if (chunkoff == chunklen) {
						uint64_t done = sent - head.len;
						uint64_t left = r->j->size -
						    done;

						if (left == 0)
							break;
						n = pread(r->msgfd, chunk,
						    left < sizeof(chunk) ?
						    (size_t)left :
						    sizeof(chunk),
						    (off_t)(r->j->offset + done));
						if (n <= 0) {
							saved = n == 0 ? EIO :
							    errno;
							log_warnx("%s: read the "
							    "queue file: %s",
							    r->j->qid,
							    strerror(saved));
							pipe_kill(pid);
							pid = -1;
							pipe_status(r->res,
							    ST_TEMP, "4.3.0 "
							    "queue file "
							    "unreadable");
							goto out;
						}
						chunklen = (size_t)n;
						chunkoff = 0;
					}
					p = chunk + chunkoff;
					len = chunklen - chunkoff;
				}
				n = write(in[1], p, len);
				if (n == -1) {
					if (errno == EINTR)
						continue;
					if (errno == EAGAIN)
						break;
					/* It stopped reading: its exit decides. */
					sent = total;
					break;
				}
				sent += (uint64_t)n;
				if (headoff < head.len)
					headoff += (size_t)n;
				else
					chunkoff += (size_t)n;
			}
			if (sent >= total) {
				close(in[1]);
				in[1] = -1;
			}
		}
		if (!exited && pfd[xfd].revents != 0) {
			siginfo_t si;

			memset(&si, 0, sizeof(si));
			if (waitid(P_PID, (id_t)pid, &si, WEXITED) == -1) {
				if (errno == EINTR)
					continue;
				fatal("waitid");
			}
			exited = 1;
			status = si.si_code == CLD_EXITED ? si.si_status :
			    -si.si_status;
			pid = -1;
			/* Output its children still hold is not waited for. */
			if (!eof) {
				while ((n = read(op[0], obuf,
				    sizeof(obuf))) > 0) {
					size_t keep = (size_t)n;

					if (keep > sizeof(out) - outlen)
						keep = sizeof(out) - outlen;
					memcpy(out + outlen, obuf, keep);
					outlen += keep;
				}
				eof = 1;
			}
		}
	}

	pipe_output_text(out, outlen, text, sizeof(text));
	if (status == 0)
		pipe_status(r->res, ST_OK, "2.0.0 delivered to command");
	else if (status == 75) {
		snprintf(r->res->text, sizeof(r->res->text), "4.3.0 command "
		    "failed temporarily (exit status 75)%s%s",
		    text[0] ? ": " : "", text);
		r->res->status = ST_TEMP;
	} else if (status > 0) {
		snprintf(r->res->text, sizeof(r->res->text), "5.3.0 command "
		    "failed (exit status %d)%s%s", status,
		    text[0] ? ": " : "", text);
		r->res->status = ST_PERM;
	} else {
		snprintf(r->res->text, sizeof(r->res->text), "4.3.0 command "
		    "killed by signal %d%s%s", -status,
		    text[0] ? ": " : "", text);
		r->res->status = ST_TEMP;
	}
out:
	if (pid > 0)
		pipe_kill(pid);
	buf_free(&head);
	if (pidfd != -1)
		close(pidfd);
	if (in[0] != -1)
		close(in[0]);
	if (in[1] != -1)
		close(in[1]);
	if (op[0] != -1)
		close(op[0]);
	if (op[1] != -1)
		close(op[1]);
	if (ep[0] != -1)
		close(ep[0]);
	if (ep[1] != -1)
		close(ep[1]);
}

static void
pipe_run_job(struct pipe_run *r)
{
	struct pipe_vars pv;
	struct buf	 envstore;
	char		*argv[CMDLINE_ARGS_MAX + 1], *envp[PIPE_ENV_MAX + 1];
	char		 words[PIPE_ARGBUF], err[256];
	size_t		 offs[PIPE_ENV_MAX + 1];

	pipe_vars_init(&pv, r->j, r->par.delim, r->home);
	if (cmdline_split(r->j->rcpt + 1, pv.v, pv.n, argv,
	    CMDLINE_ARGS_MAX + 1, words, sizeof(words), err,
	    sizeof(err)) == -1) {
		log_warnx("%s: alias command for %s refused: %s", r->j->qid,
		    pv.recipient, err);
		snprintf(r->res->text, sizeof(r->res->text), "4.3.5 alias "
		    "command refused: %s", err);
		r->res->status = ST_TEMP;
		return;
	}
	buf_init(&envstore, PIPE_ARGBUF);
	if (pipe_envp(&pv, envp, PIPE_ENV_MAX + 1, &envstore, offs) == -1) {
		buf_free(&envstore);
		pipe_status(r->res, ST_TEMP, "4.3.0 out of memory");
		return;
	}
	pipe_execute(r, argv, envp, pv.recipient);
	buf_free(&envstore);
}

/* The trailer after the D_JOB payload: the delimiters, then the limit. */
#define PIPE_TRAILER_DELIM	8

int
pipe_params_init(struct pipe_params *par, const struct conf *c)
{
	const char	*p;
	size_t		 n = 0;

	memset(par, 0, sizeof(*par));
	par->limit = c->command_time_limit;
	/* conf.c allows only these; each is kept once. */
	for (p = c->recipient_delimiter; *p != '\0'; p++) {
		if (strchr(PIPE_DELIMS, *p) == NULL)
			return -1;
		if (memchr(par->delim, *p, n) == NULL)
			par->delim[n++] = *p;
	}
	return 0;
}

int
pipe_enc_job(struct ipc_msg *m, const struct d_job *j, int fd,
    const struct pipe_params *par)
{
	char d[PIPE_TRAILER_DELIM];

	memset(d, 0, sizeof(d));
	memcpy(d, par->delim, strlen(par->delim));
	if (proto_enc_d_job(m, j, fd) == -1 ||
	    buf_append(&m->body, d, sizeof(d)) == -1 ||
	    ipc_put_u64(m, (uint64_t)par->limit) == -1)
		return -1;
	return 0;
}

/*
 * The runner's frame is a D_JOB's payload with a trailer: the trailer is
 * taken off the end and the rest goes to proto.c's one D_JOB decoder, so
 * the two never disagree about a job's fields.
 */
int
pipe_dec_job(struct ipc_msg *m, struct d_job *j, struct pipe_params *par)
{
	char		d[PIPE_TRAILER_DELIM];
	uint64_t	l;
	size_t		n;

	if (m->body.len < sizeof(l) + sizeof(d))
		return -1;
	m->body.len -= sizeof(l);
	memcpy(&l, m->body.data + m->body.len, sizeof(l));
	m->body.len -= sizeof(d);
	memcpy(d, m->body.data + m->body.len, sizeof(d));
	memset(par, 0, sizeof(*par));
	n = strnlen(d, sizeof(d));
	if (n > PIPE_DELIM_MAX || strspn(d, PIPE_DELIMS) != n)
		return -1;
	memcpy(par->delim, d, n);
	if (proto_dec_d_job(m, j) == -1 || j->kind != R_KIND_COMMAND ||
	    l == 0 || l > INT_MAX / 1000)
		return -1;
	par->limit = (time_t)l;
	return 0;
}

/* The runner's life: jobs in, results out, until deliverd goes. */
static void
pipe_runner(int fd, const char *home)
{
	struct ipc_conn	 c;
	struct ipc_msg	 m, rm;
	struct d_job	 j;
	struct d_result	 res;
	struct pipe_run	 r;

	ipc_conn_init(&c, fd, PIPE_FRAME_MAX);
	for (;;) {
		if (ipc_recv_wait(&c, &m, -1) == -1)
			break;		/* deliverd is gone */
		memset(&j, 0, sizeof(j));
		memset(&r, 0, sizeof(r));
		memset(&res, 0, sizeof(res));
		if (m.type != PIPE_JOB || pipe_dec_job(&m, &j, &r.par) == -1) {
			log_warnx("command runner: malformed job from "
			    "deliverd");
			ipc_msg_free(&m);
			break;
		}
		r.j = &j;
		r.msgfd = m.fd;
		r.home = home;
		r.parent = fd;
		r.res = &res;
		pipe_run_job(&r);
		ipc_msg_init(&rm, D_RESULT, m.id);
		ipc_msg_free(&m);
		if (proto_enc_d_result(&rm, &res) == -1 ||
		    ipc_send_wait(&c, &rm, PROTO_TIMEOUT_MS) == -1) {
			ipc_msg_free(&rm);
			break;
		}
		ipc_msg_free(&rm);
	}
	ipc_conn_close(&c);
	_exit(0);
}

/*
 * Who commands run as: default_privs, refused if it is root (priv_lookup
 * refuses uid 0) or mail_user (it would reach every mailbox). Without
 * root (development, tests) everything runs as the invoking user.
 */
int
pipe_user(const char *name, const char *mail_user, struct priv_user *u,
    char *home, size_t homesz, char *err, size_t errlen)
{
	struct priv_user	 mu;
	struct passwd		*pw;

	if (priv_lookup(name, u) == -1) {
		snprintf(err, errlen, "default_privs %s: %s", name,
		    errno == EPERM ? "is root" : errno == ENOENT ?
		    "no such user" : strerror(errno));
		return -1;
	}
	if (priv_is_root()) {
		if (u->uid == 0) {
			snprintf(err, errlen, "default_privs %s is root", name);
			return -1;
		}
		if (priv_lookup(mail_user, &mu) == 0 && mu.uid == u->uid) {
			snprintf(err, errlen, "default_privs %s is mail_user: "
			    "a command would reach every mailbox", name);
			return -1;
		}
	}
	pw = getpwuid(u->uid);
	strlcpy(home, pw != NULL && pw->pw_dir[0] == '/' ? pw->pw_dir : "/",
	    homesz);
	return 0;
}

void
pipe_start(const struct conf *c)
{
	struct priv_user	u;
	char			home[PATH_MAX], err[256];
	int			sv[2];
	pid_t			pid;

	if (!c->allow_alias_commands)
		return;
	if (pipe_user(c->default_privs, c->mail_user, &u, home, sizeof(home),
	    err, sizeof(err)) == -1) {
		log_errx("%s: alias commands will be deferred", err);
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("socketpair for the command runner");
		return;
	}
	if ((pid = fork()) == -1) {
		log_warn("fork the command runner");
		close(sv[0]);
		close(sv[1]);
		return;
	}
	if (pid == 0) {
		/*
		 * deliverd holds nothing else yet but the log's socket, which
		 * must stay: closed, its number could be reused and syslog
		 * would write into the next pipe. The command itself gets
		 * only what pipe_child hands it.
		 */
		close(sv[0]);
		(void)prctl(PR_SET_NAME, "deliverd-pipe", 0, 0, 0);
		signal(SIGPIPE, SIG_IGN);
		priv_drop(&u, NULL);
		pipe_runner(sv[1], home);
	}
	close(sv[1]);
	ipc_conn_init(&pipe_conn, sv[0], PIPE_FRAME_MAX);
	pipe_pid = pid;
	log_info("alias commands run as %s (pid %ld)", u.name, (long)pid);
}

static int
pipe_has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

int
pipe_deliver(const struct conf *c, const struct d_job *j, int fd,
    struct d_result *res)
{
	struct ipc_msg		 m;
	struct pipe_params	 par;
	char			 rcpt[ADDR_MAX + 1];
	int			 ms, ok;

	if (!c->allow_alias_commands) {
		/* Turned off by a reload: what is queued waits, never runs. */
		pipe_status(res, ST_TEMP, "4.3.5 alias commands are off "
		    "(allow_alias_commands = no)");
		return 0;
	}
	if (pipe_conn.fd == -1) {
		/* default_privs was refused, or commands were turned on by a
		 * reload: the runner is made only at start. */
		pipe_status(res, ST_TEMP, "4.3.5 alias commands cannot run "
		    "until the suite restarts (see deliverd's log)");
		return 0;
	}
	/* Both become header lines for the command: no line breaks. */
	if (pipe_has_ctl(j->sender) || pipe_has_ctl(j->orcpt)) {
		pipe_status(res, ST_PERM, "5.1.7 bad address for a command");
		return 0;
	}
	strlcpy(rcpt, j->orcpt, sizeof(rcpt));
	addr_lower(rcpt);
	/* The Delivered-To the command gets: a message carrying it loops. */
	if (local_loop(fd, j, rcpt, res) == -1)
		return 0;

	ipc_msg_init(&m, PIPE_JOB, 1);
	ms = c->command_time_limit > (INT_MAX - PIPE_ANSWER_MARGIN_MS) / 1000 ?
	    INT_MAX : (int)c->command_time_limit * 1000 +
	    PIPE_ANSWER_MARGIN_MS;
	/* The descriptor stays queued's: the runner gets a copy. */
	ok = pipe_params_init(&par, c) == 0 &&
	    pipe_enc_job(&m, j, dup(fd), &par) == 0 &&
	    m.fd != -1 && ipc_send_wait(&pipe_conn, &m, PROTO_TIMEOUT_MS) == 0;
	ipc_msg_free(&m);
	if (ok) {
		ok = ipc_recv_wait(&pipe_conn, &m, ms) == 0;
		if (ok) {
			ok = m.type == D_RESULT && m.id == 1 &&
			    proto_dec_d_result(&m, res) == 0;
			ipc_msg_free(&m);
		}
	}
	if (ok)
		return 0;
	log_warnx("%s: the command runner failed; deliverd restarts",
	    j->qid);
	pipe_status(res, ST_TEMP, "4.3.0 command runner failed");
	(void)kill(pipe_pid, SIGKILL);
	ipc_conn_close(&pipe_conn);
	return -1;
}
