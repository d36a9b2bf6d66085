/*
 * main.c - deliverd, the local delivery agent: a synchronous worker that
 * takes one job at a time from queued and writes it into a Maildir, or
 * pipes it into an alias's command.
 *
 * Started by master (several copies) as root; it reads postern.conf and
 * drops to mail_user, the owner of the mail store, before it talks to
 * anyone. It connects to queued's private/deliver.sock (queued is the
 * more privileged side of that socket and is trusted to frame jobs, but a
 * frame that does not decode still closes the connection) and serves jobs
 * until SIGTERM. Alias commands go to a runner process forked before the
 * privilege drop (pipe.c). A job is never abandoned halfway: SIGTERM is only looked
 * at between jobs, and a broken connection just means reconnecting, since
 * queued retries any job whose result it did not receive.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "agent_life.h"
#include "conf.h"
#include "deliverd.h"
#include "fsutil.h"
#include "ipc.h"
#include "daemon.h"
#include "log.h"
#include "maildir.h"
#include "priv.h"
#include "proto.h"
#include "sock.h"

#define DL_RECONNECT_MS	200
/* A job frame holds four short strings. */
#define DL_FRAME_MAX	(16 * 1024)

static struct conf	 dl_conf;
static struct agent_life dl_life;
static int		 dl_restart;	/* the command runner failed */

/* Connects to queued, retrying until it answers or we are told to stop. */
static int
dl_connect(void)
{
	char private[PATH_MAX];

	if (fs_path(private, sizeof(private), dl_conf.spool_directory,
	    "private") == -1)
		fatalx("spool_directory too long");
	return agent_life_connect(&dl_life, private, "deliver.sock",
	    DL_RECONNECT_MS);
}

/*
 * A command: logged for the recipient it ran for (Postfix logs the
 * alias's address), the command itself in the text.
 */
static void
dl_command(const struct d_job *j, int fd, struct d_result *res)
{
	struct log_delivery	 ld;
	char			 to[ADDR_MAX + 1];
	char			 text[PROTO_TEXT_MAX + ADDR_MAX + 16];

	memset(&ld, 0, sizeof(ld));
	ld.handoff_us = log_now_us();
	strlcpy(to, j->orcpt, sizeof(to));
	addr_lower(to);
	if (pipe_deliver(&dl_conf, j, fd, res) == -1)
		dl_restart = 1;
	ld.done_us = log_now_us();
	ld.qid = j->qid;
	ld.to = to;
	ld.relay = "local";
	ld.arrival_us = (int64_t)j->arrival_us;
	ld.active_us = (int64_t)j->active_us;
	ld.status = res->status == ST_OK ? "sent" : res->status == ST_TEMP ?
	    "deferred" : "bounced";
	snprintf(text, sizeof(text), "%s%s%s", res->text,
	    res->status == ST_OK ? ": " : "; command: ", j->rcpt + 1);
	ld.text = text;
	log_delivery(&ld);
}

static void
dl_job(const struct d_job *j, int fd, struct d_result *res)
{
	struct log_delivery	 ld;
	char			 where[PATH_MAX + MAILDIR_NAME_MAX];
	char			 text[PROTO_TEXT_MAX + sizeof(where)];

	if (j->kind == R_KIND_COMMAND) {
		dl_command(j, fd, res);
		return;
	}
	memset(&ld, 0, sizeof(ld));
	ld.handoff_us = log_now_us();
	local_deliver(dl_conf.mail_store, j, fd, res, where, sizeof(where));
	ld.done_us = log_now_us();
	ld.qid = j->qid;
	ld.to = j->rcpt;
	ld.orig_to = j->orcpt;
	ld.relay = "local";
	ld.arrival_us = (int64_t)j->arrival_us;
	ld.active_us = (int64_t)j->active_us;
	if (res->status == ST_OK) {
		snprintf(text, sizeof(text), "2.0.0 delivered to maildir %s",
		    where);
		ld.status = "sent";
	} else {
		strlcpy(text, res->text, sizeof(text));
		ld.status = res->status == ST_TEMP ? "deferred" : "bounced";
	}
	ld.text = text;
	log_delivery(&ld);
}

/* Serves one connection; returns when it breaks or we must stop. */
static void
dl_serve(int fd)
{
	struct ipc_conn	 c;
	struct ipc_msg	 m, r;
	struct d_job	 j;
	struct d_result	 res;

	ipc_conn_init(&c, fd, DL_FRAME_MAX);
	ipc_msg_init(&m, D_HELLO, 0);
	if (proto_enc_d_hello(&m, D_TRANSPORT_LOCAL) == -1 ||
	    ipc_send_wait(&c, &m, PROTO_TIMEOUT_MS) == -1) {
		log_warn("send D_HELLO");
		ipc_msg_free(&m);
		ipc_conn_close(&c);
		return;
	}
	ipc_msg_free(&m);

	while (!dl_life.terminate) {
		/* Idle: a signal may end us here, and only here. */
		if (c.in.len < IPC_HDR_LEN && !c.eof && !agent_life_wait(&dl_life, c.fd, -1))
			continue;
		if (ipc_recv_wait(&c, &m, PROTO_TIMEOUT_MS) == -1) {
			if (errno == EPIPE)
				log_warnx("queued closed the connection");
			else
				log_warn("receive from queued");
			break;
		}
		/* queued is stopping: wait for it (or our SIGTERM) quietly. */
		if (m.type == D_BYE && m.body.len == 0 && m.fd == -1) {
			log_debug("queued is stopping");
			ipc_msg_free(&m);
			break;
		}
		memset(&j, 0, sizeof(j));
		if (m.type != D_JOB || proto_dec_d_job(&m, &j) == -1) {
			log_warnx("malformed frame (type %u) from queued; "
			    "reconnecting", m.type);
			ipc_msg_free(&m);
			break;
		}
		memset(&res, 0, sizeof(res));
		dl_job(&j, m.fd, &res);
		ipc_msg_init(&r, D_RESULT, m.id);
		ipc_msg_free(&m);	/* closes the message descriptor */
		if (proto_enc_d_result(&r, &res) == -1 ||
		    ipc_send_wait(&c, &r, PROTO_TIMEOUT_MS) == -1) {
			/* queued treats a lost result as a retry: no loss. */
			log_warn("%s: send result to queued", j.qid);
			ipc_msg_free(&r);
			break;
		}
		ipc_msg_free(&r);
		if (dl_restart)
			break;
	}
	ipc_conn_close(&c);
}

int
main(int argc, char *argv[])
{
	static const char *const names[] = { NULL };
	struct daemon_args	args;
	struct priv_user	u;
	int			fd;

	daemon_init("deliverd", names, argc, argv, &args, &dl_conf);
	if (priv_lookup(dl_conf.mail_user, &u) == -1)
		fatal("user %s", dl_conf.mail_user);
	/* The runner needs root to become default_privs: before the drop. */
	pipe_start(&dl_conf);
	priv_drop(&u, NULL);
	/* Mail is private: only mail_user (and imapd as mail_user) reads it. */
	umask(077);
	/* Signals are read between jobs, never in the middle of one. */
	agent_life_init(&dl_life, &dl_conf, args.confpath, NULL);

	log_info("started as %s, mail store %s", u.name, dl_conf.mail_store);
	while (!dl_life.terminate && !dl_restart) {
		if ((fd = dl_connect()) == -1)
			break;
		dl_serve(fd);
		if (!dl_life.terminate && !dl_restart)
			(void)agent_life_wait(&dl_life, -1, DL_RECONNECT_MS);
	}
	conf_free(&dl_conf);
	if (dl_restart) {
		/* Only a new deliverd, started as root, can make a runner. */
		log_warnx("exiting to be restarted with a new command runner");
		return 1;
	}
	log_info("terminating");
	return 0;
}
