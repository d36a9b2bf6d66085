/*
 * main.c - pop3d: POP3 on the shared login layer (libcommon/login.h).
 *
 *	pop3d [-c CONFIG] [-f] -s pop3:FD [-s pop3:FD ...] [-s pop3s:FD ...]
 *
 * Started by master as root, and stays root: the parent must chroot and
 * setuid the processes it starts for each client (the parent itself
 * never reads from a client). It starts itself again as the login
 * process of a connection ("-l ...", pop3_login.c) and as the mail
 * process of a logged-in session ("-m ...", pop3_mail.c). Here is what
 * makes the layer's machinery POP3: the settings, the fixed lines, and
 * the two halves of the protocol.
 */
#include "login.h"
#include "pop3d.h"

static void
pop3_limits(const struct conf *cf, struct login_limits *lim)
{
	lim->max_sessions = cf->pop3_max_sessions;
	lim->client_connection_limit = cf->pop3_client_connection_limit;
	lim->login_timeout = cf->pop3_login_timeout;
	lim->timeout = cf->pop3_timeout;
}

static const struct login_service pop3_service = {
	.ident = "pop3d",
	.post_binary = "pop3d-mail",
	.socket_name = "pop3",
	.tls_socket_name = "pop3s",
	.proto = "pop3",
	.limits = pop3_limits,
	.line_busy = "-ERR [SYS/TEMP] too many connections\r\n",
	.line_addr_busy = "-ERR [SYS/TEMP] too many connections from your "
	    "address\r\n",
	.line_full = "-ERR [SYS/TEMP] server full; closing the oldest "
	    "connection that has not logged in\r\n",
	.line_no_session = "-ERR [SYS/TEMP] cannot start a session; try "
	    "later\r\n",
	.line_idle = "-ERR autologout; idle for too long\r\n",
	.line_late = "-ERR [SYS/TEMP] too long without logging in\r\n",
	.line_gone = "-ERR [SYS/TEMP] server shutting down\r\n",
	.login_run = pop3_login_run,
	.post_run = pop3_mail_run,
};

int
main(int argc, char *argv[])
{
	return login_daemon_main(&pop3_service, argc, argv);
}
