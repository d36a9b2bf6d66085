/*
 * pop3_msg.c - the frames between pop3d's parent and a login child:
 * P_LOGIN (child -> parent: the credentials and the client's input not
 * yet processed) and P_FAIL (parent -> child: why the login failed).
 *
 * The encoder runs in the login child, the decoder in the root parent,
 * which trusts the child for nothing: the child parses network input
 * and may be under the client's control. Every field is bounded and the
 * frame must be consumed exactly, as libcommon/ipc.h reads every frame.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pop3d.h"

/* Client input is raw bytes (NULs included): length, then the bytes. */
static int
put_bytes(struct ipc_msg *m, const unsigned char *p, size_t n)
{
	if (n > NETIO_INBUF || ipc_put_u32(m, (uint32_t)n) == -1)
		return -1;
	return buf_append(&m->body, p, n);
}

static int
get_bytes(struct ipc_reader *r, unsigned char **out, size_t *outlen)
{
	uint32_t n;

	*out = NULL;
	*outlen = 0;
	if (ipc_get_u32(r, &n) == -1)
		return -1;
	if (n > NETIO_INBUF || n > r->left) {
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
pop3_enc_login(struct ipc_msg *m, const struct pop3_login *l)
{
	if (ipc_put_u32(m, l->mech) == -1 || ipc_put_str(m, l->user) == -1 ||
	    ipc_put_str(m, l->pass) == -1 ||
	    put_bytes(m, l->left, l->leftlen) == -1)
		return -1;
	return 0;
}

int
pop3_dec_login(const struct ipc_msg *m, struct pop3_login *l)
{
	struct ipc_reader r;

	memset(l, 0, sizeof(*l));
	ipc_reader_init(&r, m);
	ipc_get_u32(&r, &l->mech);
	ipc_get_str(&r, l->user, sizeof(l->user));
	ipc_get_str(&r, l->pass, sizeof(l->pass));
	get_bytes(&r, &l->left, &l->leftlen);
	if (ipc_reader_end(&r) == -1 || l->mech > POP3_MECH_PLAIN ||
	    l->user[0] == '\0') {
		pop3_login_clear(l);
		return -1;
	}
	return 0;
}

void
pop3_login_clear(struct pop3_login *l)
{
	if (l->left != NULL) {
		explicit_bzero(l->left, l->leftlen);
		free(l->left);
	}
	explicit_bzero(l, sizeof(*l));
}

int
pop3_enc_fail(struct ipc_msg *m, uint32_t why)
{
	return ipc_put_u32(m, why);
}

int
pop3_dec_fail(const struct ipc_msg *m, uint32_t *why)
{
	struct ipc_reader r;

	ipc_reader_init(&r, m);
	ipc_get_u32(&r, why);
	if (ipc_reader_end(&r) == -1 || *why > POP3_FAIL_TEMP)
		return -1;
	return 0;
}
