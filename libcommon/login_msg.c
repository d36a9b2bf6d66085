/*
 * login_msg.c - the frames between a login daemon's parent and a login
 * process: LOGIN_MSG_AUTH (login process -> parent: the credentials,
 * how the session travels, the protocol's state for the post-login
 * process, and the client's input not yet processed) and LOGIN_MSG_FAIL
 * (parent -> login process: why the login failed).
 *
 * The encoder runs in the login process, the decoder in the root parent,
 * which trusts the login process for nothing: it parses network input
 * and may be under the client's control. Every field is bounded and the
 * frame must be consumed exactly, as libcommon/ipc.h reads every frame.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "login.h"
#include "login_msg.h"
#include "netio.h"

/* Raw bytes (NULs included): length, then the bytes. */
static int
put_bytes(struct ipc_msg *m, const unsigned char *p, size_t n, size_t max)
{
	if (n > max || ipc_put_u32(m, (uint32_t)n) == -1)
		return -1;
	return buf_append(&m->body, p, n);
}

static int
get_bytes(struct ipc_reader *r, unsigned char **out, size_t *outlen,
    size_t max)
{
	uint32_t n;

	*out = NULL;
	*outlen = 0;
	if (ipc_get_u32(r, &n) == -1)
		return -1;
	if (n > max || n > r->left) {
		r->failed = 1;
		return -1;
	}
	if ((*out = malloc(n > 0 ? n : 1)) == NULL) {
		r->failed = 1;
		return -1;
	}
	memcpy(*out, r->p, n);
	r->p += n;
	r->left -= n;
	*outlen = n;
	return 0;
}

int
login_enc_auth(struct ipc_msg *m, const struct login_msg_auth *a)
{
	if (ipc_put_u32(m, a->mech) == -1 ||
	    ipc_put_u32(m, a->transport) == -1 ||
	    ipc_put_str(m, a->user) == -1 || ipc_put_str(m, a->pass) == -1 ||
	    put_bytes(m, a->state, a->statelen, LOGIN_STATE_MAX) == -1 ||
	    put_bytes(m, a->left, a->leftlen, NETIO_INBUF) == -1)
		return -1;
	return 0;
}

int
login_dec_auth(const struct ipc_msg *m, struct login_msg_auth *a)
{
	struct ipc_reader r;

	memset(a, 0, sizeof(*a));
	ipc_reader_init(&r, m);
	ipc_get_u32(&r, &a->mech);
	ipc_get_u32(&r, &a->transport);
	ipc_get_str(&r, a->user, sizeof(a->user));
	ipc_get_str(&r, a->pass, sizeof(a->pass));
	get_bytes(&r, &a->state, &a->statelen, LOGIN_STATE_MAX);
	get_bytes(&r, &a->left, &a->leftlen, NETIO_INBUF);
	if (ipc_reader_end(&r) == -1 || a->mech > LOGIN_MECH_SASL_PLAIN ||
	    a->transport > LOGIN_TRANSPORT_TLS || a->user[0] == '\0') {
		login_msg_auth_clear(a);
		return -1;
	}
	return 0;
}

void
login_msg_auth_clear(struct login_msg_auth *a)
{
	if (a->state != NULL) {
		explicit_bzero(a->state, a->statelen);
		free(a->state);
	}
	if (a->left != NULL) {
		explicit_bzero(a->left, a->leftlen);
		free(a->left);
	}
	explicit_bzero(a, sizeof(*a));
}

int
login_enc_fail(struct ipc_msg *m, uint32_t why)
{
	return ipc_put_u32(m, why);
}

int
login_dec_fail(const struct ipc_msg *m, uint32_t *why)
{
	struct ipc_reader r;

	ipc_reader_init(&r, m);
	ipc_get_u32(&r, why);
	if (ipc_reader_end(&r) == -1 || (*why > LOGIN_FAIL_TEMP &&
	    *why != LOGIN_FAIL_USER_BUSY))
		return -1;
	return 0;
}
