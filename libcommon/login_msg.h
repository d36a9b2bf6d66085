/*
 * login_msg.h - the frames between a login daemon's root parent and its
 * login processes, over the socketpair the parent makes for each
 * connection (not a socket of proto.h's table: it lives and dies with
 * one connection).
 */
#ifndef POSTERN_LOGIN_MSG_H
#define POSTERN_LOGIN_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "ipc.h"
#include "proto.h"

enum login_msg_type {
	/* login process -> parent: credentials; -> LOGIN_MSG_FAIL or its end */
	LOGIN_MSG_AUTH = 200,
	LOGIN_MSG_FAIL,		/* parent -> login process: not logged in */
	/*
	 * parent -> login process of a TLS session: logged in; relay
	 * between the client and the socketpair end passed with it.
	 */
	LOGIN_MSG_PROXY,
	/*
	 * login process -> parent, empty: plaintext stops here (STLS); the
	 * parent echoes it once it will write nothing more to the client.
	 */
	LOGIN_MSG_TLS,
};

struct login_msg_auth {
	uint32_t	 mech;		/* an enum login_mech */
	uint32_t	 transport;	/* an enum login_transport */
	char		 user[ADDR_MAX + 1];
	char		 pass[A_AUTH_SECRET_MAX + 1];
	unsigned char	*state;		/* for the post-login process */
	size_t		 statelen;
	unsigned char	*left;		/* client bytes after the command */
	size_t		 leftlen;
};

int	login_enc_auth(struct ipc_msg *, const struct login_msg_auth *);
/*
 * Allocates a->state and a->left; login_msg_auth_clear wipes and frees.
 * Refuses unknown mechanisms and transports, an empty user, and state
 * or input over their limits.
 */
int	login_dec_auth(const struct ipc_msg *, struct login_msg_auth *);
void	login_msg_auth_clear(struct login_msg_auth *);
/* why is an enum login_fail other than LOGIN_FAIL_TOOLONG. */
int	login_enc_fail(struct ipc_msg *, uint32_t why);
int	login_dec_fail(const struct ipc_msg *, uint32_t *why);

#endif
