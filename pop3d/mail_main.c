/*
 * mail_main.c - pop3d-mail: the mail process of a logged-in POP3
 * session ("-m ...", pop3_mail.c), as its own binary. pop3d's parent
 * execs it instead of itself (libcommon/login_postmain.c): it links no
 * login machinery and no OpenSSL, so an idle session does not carry
 * their relocated tables. pop3d -m does the same work, with them.
 */
#include "pop3d.h"
#include "login.h"

static const struct login_service pop3_mail_service = {
	.ident = "pop3d",
	.proto = "pop3",
	.post_run = pop3_mail_run,
};

int
main(int argc, char *argv[])
{
	login_post_daemon_main(&pop3_mail_service, argc, argv);
}
