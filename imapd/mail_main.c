/*
 * mail_main.c - imapd-mail: the mail process of a logged-in IMAP
 * session ("-m ...", imap_mail.c), as its own binary. imapd's parent
 * execs it instead of itself (libcommon/login_postmain.c): it links no
 * login machinery and no OpenSSL, so an idle session does not carry
 * their relocated tables. imapd -m does the same work, with them.
 */
#include "imapd.h"
#include "login.h"

static const struct login_service imap_mail_service = {
	.ident = "imapd",
	.proto = "imap",
	.post_run = imap_mail_run,
};

int
main(int argc, char *argv[])
{
	login_post_daemon_main(&imap_mail_service, argc, argv);
}
