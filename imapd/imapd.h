/*
 * imapd.h - imapd's private interfaces between its files: the two halves
 * of the protocol on the login layer (imap_login.c before login,
 * imap_mail.c after), and the capability list both announce.
 *
 * Only imapd's own files and its unit tests include this header.
 */
#ifndef POSTERN_IMAPD_H
#define POSTERN_IMAPD_H

#include <stddef.h>

#include "buf.h"
#include "netio.h"

/* Bad commands (unknown, wrong state, bad arguments) before we close. */
#define IMAP_ERRORS_MAX		20
/* Literals before login: a user name or a password, nothing bigger. */
#define IMAP_LOGIN_LITERAL_MAX	4096
#define IMAP_LOGIN_LINE_MAX	8192

/* What the capability list depends on. */
enum imap_cap_state {
	IMAP_CAP_PRELOGIN,	/* not authenticated */
	IMAP_CAP_AUTH,		/* logged in */
};

/*
 * The capability atoms, space-separated, without "CAPABILITY" (RFC 3501
 * 7.2.1): logins says whether AUTH=PLAIN is offered (else LOGINDISABLED),
 * starttls whether STARTTLS is.
 */
void	imap_capability(struct buf *, enum imap_cap_state, int logins,
	    int starttls);

struct login_sess;
struct login_env;

void	imap_login_run(struct login_sess *) __attribute__((__noreturn__));
void	imap_mail_run(const struct login_env *, int client, const char *user,
	    const char *ip, const unsigned char *state, size_t statelen,
	    const unsigned char *left, size_t leftlen)
	    __attribute__((__noreturn__));

#endif
