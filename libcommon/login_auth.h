/*
 * login_auth.h - the root parents' client of authd's credential checks
 * (A_AUTH over <spool>/private/auth.sock): login daemons' parents now,
 * smtpd's listener for SMTP AUTH next.
 */
#ifndef POSTERN_LOGIN_AUTH_H
#define POSTERN_LOGIN_AUTH_H

#include <stdint.h>

struct evloop;
struct login_auth;
struct login_authreq;

/* verdict is an a_auth_verdict; user the canonical address on A_AUTH_OK. */
typedef void (*login_auth_cb)(void *arg, uint32_t verdict, const char *user);

/* proto names the protocol to authd ("pop3", "imap", "smtp"). */
struct login_auth *login_auth_new(struct evloop *, const char *private_dir,
	    const char *proto);
void	login_auth_free(struct login_auth *);
/*
 * Asks authd about user/pass from client address ip (accept(2)'s). NULL
 * when authd cannot be reached: treat as A_AUTH_TEMPFAIL.
 */
struct login_authreq *login_auth_start(struct login_auth *, const char *ip,
	    const char *user, const char *pass, login_auth_cb, void *arg);
/* The callback will not run. */
void	login_auth_cancel(struct login_auth *, struct login_authreq *);

#endif
