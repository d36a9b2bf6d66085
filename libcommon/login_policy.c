/*
 * login_policy.c - the plaintext-login policy of every login daemon
 * (plaintext_auth_networks; Dovecot's disable_plaintext_auth, with the
 * networks it treats as secure made configurable): a password may
 * travel without TLS only from a client in those networks. pop3d calls
 * it for USER, PASS and AUTH and for what CAPA offers; imapd will for
 * LOGIN, AUTHENTICATE and LOGINDISABLED.
 *
 * Two halves, each in the process that really knows its part. The root
 * parent matches the address it took from accept(2) against the
 * configuration it hands its login processes (login_plaintext_net), and
 * passes the verdict in the -l argument, which the client cannot touch.
 * The login process (login_user, chrooted, holding the client socket)
 * adds the TLS state it has itself negotiated (login_plaintext_ok).
 * Nothing the client says, no name it gives and no command it sends,
 * enters the decision. Refusals are logged here, once, with the
 * client's address and the command's name, never its arguments.
 */
#include <sys/socket.h>

#include "cidr.h"
#include "log.h"
#include "login.h"

int
login_plaintext_net(const struct conf *conf, const struct sockaddr *sa)
{
	return cidr_match_list(conf->plaintext_auth_networks.v,
	    conf->plaintext_auth_networks.n, sa);
}

int
login_plaintext_ok(const struct login_sess *s)
{
	return s->transport == LOGIN_TRANSPORT_TLS || s->plain_net;
}

int
login_plaintext_check(struct login_sess *s, const char *cmd)
{
	if (login_plaintext_ok(s))
		return 0;
	log_info("plaintext login refused: client=[%s]: %s without TLS, "
	    "not from plaintext_auth_networks", s->ip, cmd);
	return -1;
}
