/*
 * cmd_auth.c - postern auth limits: the SMTP AUTH accounts nearest
 * their outbound limits (auth_messages_per_day, auth_recipients_per_
 * hour), as authd counts them; and
 * postern auth test ADDRESS [--password-stdin]: a login
 * check through the same path as a POP3 login (doveadm auth test): the
 * password goes to authd on private/auth.sock as A_AUTH, and authd
 * answers as it answers pop3d (the password map, the lock, the one hash
 * check, the cache of good logins).
 *
 * Runs as root (auth.sock is root's, 0600), or as the user who runs a
 * development suite. The password is read once, from the terminal with
 * echo off or one line of standard input, kept only in buffers that are
 * wiped, and never printed. Unlike pop3d, no failure pacing applies: the
 * administrator is not a guesser, and the request carries no client
 * address, which authd paces by nothing. The verdict is the exit status: 0 accepted, 1 refused,
 * EX_TEMPFAIL when the maps cannot be read.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fsutil.h"
#include "ipc.h"
#include "passwd.h"
#include "proto.h"
#include "text.h"

/* A connection to authd, or -1 with the error said. */
static int
auth_connect(struct cli *c)
{
	char	dir[PATH_MAX];
	int	fd, saved;

	if (fs_path(dir, sizeof(dir), c->conf.spool_directory, "private") ==
	    -1 || (fd = cli_connect(dir, "auth.sock")) == -1) {
		saved = errno;
		cli_err(c, "cannot reach the auth service at "
		    "%s/private/auth.sock: %s%s", c->conf.spool_directory,
		    strerror(saved), saved == EACCES ? " (run as root)" :
		    saved == ENOENT || saved == ECONNREFUSED ?
		    " (is postern running?)" : "");
		return -1;
	}
	return fd;
}

/* "12/1000 (1%)", or "12" when there is no limit. */
static void
usage_str(char *out, size_t outsz, uint32_t used, uint32_t limit)
{
	if (limit == 0)
		snprintf(out, outsz, "%u", used);
	else
		snprintf(out, outsz, "%u/%u (%u%%)", used, limit,
		    (unsigned)((uint64_t)used * 100 / limit));
}

static int
auth_limits(struct cli *c)
{
	struct a_rate_list	*l;
	struct ipc_conn		 conn;
	struct ipc_msg		 m;
	char			 safe[ADDR_MAX + 1], msgs[64], rcpts[64];
	uint32_t		 i;
	int			 fd, rc;

	if ((fd = auth_connect(c)) == -1)
		return EX_UNAVAILABLE;
	ipc_conn_init(&conn, fd, IPC_MAX_PAYLOAD);
	ipc_msg_init(&m, A_RATE_LIST, 1);
	rc = ipc_send_wait(&conn, &m, PROTO_TIMEOUT_MS);
	ipc_msg_free(&m);
	if (rc == -1 || ipc_recv_wait(&conn, &m, PROTO_TIMEOUT_MS) == -1) {
		cli_err(c, "no answer from the auth service: %s",
		    strerror(errno));
		ipc_conn_close(&conn);
		return EX_TEMPFAIL;
	}
	ipc_conn_close(&conn);
	if ((l = malloc(sizeof(*l))) == NULL) {
		ipc_msg_free(&m);
		cli_err(c, "out of memory");
		return EX_TEMPFAIL;
	}
	rc = m.type == A_RATE_LIST_REPLY ? proto_dec_a_rate_list(&m, l) : -1;
	ipc_msg_free(&m);
	if (rc == -1) {
		free(l);
		cli_err(c, "malformed answer from the auth service");
		return EX_PROTOCOL;
	}
	printf("%-40s %-22s %s\n", "ACCOUNT", "MESSAGES/24H", "RECIPIENTS/1H");
	for (i = 0; i < l->n; i++) {
		(void)text_sanitize(safe, sizeof(safe), l->e[i].user, '?', 0);
		usage_str(msgs, sizeof(msgs), l->e[i].messages,
		    l->messages_limit);
		usage_str(rcpts, sizeof(rcpts), l->e[i].recipients,
		    l->recipients_limit);
		printf("%-40s %-22s %s\n", safe, msgs, rcpts);
	}
	if (l->accounts > l->n)
		printf("(%u more accounts, further from their limits)\n",
		    l->accounts - l->n);
	free(l);
	return 0;
}

int
cli_cmd_auth(struct cli *c, int argc, char **argv)
{
	struct a_auth		a;
	struct a_auth_reply	ar;
	struct ipc_conn		conn;
	struct ipc_msg		m;
	char			safe[ADDR_MAX + 1];
	const char		*user = NULL;
	int			i, from_stdin = 0, fd, rc;

	if (argc == 2 && strcmp(argv[1], "limits") == 0)
		return auth_limits(c);
	for (i = 2; argc >= 2 && strcmp(argv[1], "test") == 0 && i < argc;
	    i++) {
		if (strcmp(argv[i], "--password-stdin") == 0 && !from_stdin)
			from_stdin = 1;
		else if (argv[i][0] != '-' && user == NULL)
			user = argv[i];
		else {
			user = NULL;
			break;
		}
	}
	if (user == NULL) {
		cli_err(c, "usage: postern auth test ADDRESS "
		    "[--password-stdin] | postern auth limits");
		return EX_USAGE;
	}
	memset(&a, 0, sizeof(a));
	/* No client address: the console is paced by nothing. */
	strlcpy(a.proto, "admin", sizeof(a.proto));
	if (strlcpy(a.user, user, sizeof(a.user)) >= sizeof(a.user)) {
		cli_err(c, "the address is too long");
		return EX_DATAERR;
	}
	if (cli_password_ask(c, from_stdin, a.password,
	    sizeof(a.password)) == -1) {
		explicit_bzero(&a, sizeof(a));
		return EX_DATAERR;
	}
	if ((fd = auth_connect(c)) == -1) {
		explicit_bzero(&a, sizeof(a));
		return EX_UNAVAILABLE;
	}
	ipc_conn_init(&conn, fd, 4096);
	ipc_msg_init(&m, A_AUTH, 1);
	rc = proto_enc_a_auth(&m, &a);
	explicit_bzero(&a.password, sizeof(a.password));
	if (rc == -1 || ipc_send_wait(&conn, &m, PROTO_TIMEOUT_MS) == -1) {
		cli_err(c, "sending to the auth service: %s", strerror(errno));
		if (m.body.data != NULL)
			explicit_bzero(m.body.data, m.body.cap);
		ipc_msg_free(&m);
		ipc_conn_close(&conn);
		return EX_TEMPFAIL;
	}
	if (m.body.data != NULL)
		explicit_bzero(m.body.data, m.body.cap);
	ipc_msg_free(&m);
	if (ipc_recv_wait(&conn, &m, PROTO_TIMEOUT_MS) == -1) {
		cli_err(c, "no answer from the auth service: %s",
		    strerror(errno));
		ipc_conn_close(&conn);
		return EX_TEMPFAIL;
	}
	rc = m.type == A_AUTH_REPLY ? proto_dec_a_auth_reply(&m, &ar) : -1;
	ipc_msg_free(&m);
	ipc_conn_close(&conn);
	(void)text_sanitize(safe, sizeof(safe), a.user, '?', 0);
	if (rc == -1) {
		cli_err(c, "malformed answer from the auth service");
		return EX_PROTOCOL;
	}
	switch (ar.verdict) {
	case A_AUTH_OK:
		(void)text_sanitize(safe, sizeof(safe), ar.user, '?', 0);
		printf("postern: auth succeeded: user=%s\n", safe);
		return 0;
	case A_AUTH_FAIL:
		/* As pop3d: no word on which part was wrong (the log says). */
		printf("postern: auth failed: user=%s (unknown user, wrong "
		    "password, no password set, or locked)\n", safe);
		return 1;
	default:
		cli_err(c, "auth temporarily failed for %s: the maps cannot "
		    "be read (see the log)", safe);
		return EX_TEMPFAIL;
	}
}
