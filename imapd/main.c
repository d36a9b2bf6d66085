/*
 * main.c - imapd: IMAP4rev1 on the shared login layer (libcommon/login.h).
 *
 *	imapd [-c CONFIG] [-f] -s imap:FD [-s imap:FD ...] [-s imaps:FD ...]
 *
 * Started by master as root, and stays root: the parent chroots and
 * drops the processes it starts for each client and never reads from a
 * client itself. It starts itself again as the login process of a
 * connection ("-l ...", imap_login.c) and as the mail process of a
 * logged-in session ("-m ...", imap_mail.c). Here is what makes the
 * layer's machinery IMAP: the settings, the fixed lines, the two halves.
 */
#include "imapd.h"
#include "login.h"

static void
imap_limits(const struct conf *cf, struct login_limits *lim)
{
	lim->max_sessions = cf->imap_max_sessions;
	lim->client_connection_limit = cf->imap_client_connection_limit;
	lim->user_session_limit = cf->imap_user_session_limit;
	lim->login_timeout = cf->imap_login_timeout;
	/*
	 * One idle read; before the login the login deadline caps it
	 * (login_read_timeout), after it this is the TLS relay's wait, so
	 * it must be the logged-in session's (RFC 3501 5.4: 30 minutes,
	 * and IDLE sends nothing for that long).
	 */
	lim->timeout = cf->imap_timeout;
}

static const struct login_service imap_service = {
	.ident = "imapd",
	.socket_name = "imap",
	.tls_socket_name = "imaps",
	.proto = "imap",
	.post_binary = "imapd-mail",
	.limits = imap_limits,
	.line_busy = "* BYE [UNAVAILABLE] Too many connections\r\n",
	.line_addr_busy = "* BYE [UNAVAILABLE] Too many connections from "
	    "your address\r\n",
	.line_full = "* BYE [UNAVAILABLE] Server full; closing the oldest "
	    "connection that has not logged in\r\n",
	.line_no_session = "* BYE [UNAVAILABLE] Cannot start a session; try "
	    "later\r\n",
	.line_idle = "* BYE Disconnected for inactivity.\r\n",
	.line_late = "* BYE [UNAVAILABLE] Too long without logging in\r\n",
	.line_gone = "* BYE [UNAVAILABLE] Server shutting down\r\n",
	.login_run = imap_login_run,
	.post_run = imap_mail_run,
};

int
main(int argc, char *argv[])
{
	return login_daemon_main(&imap_service, argc, argv);
}
