/*
 * fuzz_proto.c - fuzz target: every decoder of internal frames, the
 * libcommon/proto.c proto_dec_* family, the login layer's parent <->
 * login process frames (libcommon/login_msg.c) and the ipc stream
 * framer (ipc_conn_next).
 *
 * A decoder is the trust boundary between a less privileged sender (a
 * compromised smtpd, login child or delivery agent) and its receiver.
 * The first input byte picks the decoder, the second whether the frame
 * carries a descriptor, the rest is the payload. Beyond "no crash" and
 * "no leak" (a refused frame frees what the decoder allocated), a frame
 * that decodes must encode back to the very same bytes: there is one
 * encoding of each message, so nothing in a frame goes unchecked.
 */
#include <string.h>

#include "fuzz.h"
#include "ipc.h"
#include "login.h"
#include "login_msg.h"
#include "proto.h"

/* Never opened or closed: the decoders only look at whether it is -1. */
#define FUZZ_FD	1000

enum fuzz_dec {
	F_Q_ERR, F_Q_FILE, F_Q_COMMIT, F_Q_OK, F_Q_CTL_ENTRY, F_Q_CTL_DELETE,
	F_R_CHECK, F_R_CHECK_REPLY, F_R_EXPAND, F_R_EXPANSION, F_A_AUTH,
	F_A_AUTH_REPLY, F_D_HELLO, F_D_JOB, F_D_RESULT, F_P_LOGIN, F_P_FAIL,
	F_IPC_STREAM, F_Q_CTL_OP, F_Q_CTL_DONE, F_Q_CTL_FLUSH, F_D_RJOB,
	F_D_RRESULT, F_R_ROUTE, F_R_ROUTE_REPLY, F_NDEC
};

static void
same_bytes(const struct ipc_msg *in, struct ipc_msg *out, int rc)
{
	FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(out->body.len == in->body.len);
	FUZZ_CHECK(in->body.len == 0 ||
	    memcmp(out->body.data, in->body.data, in->body.len) == 0);
}

static void
fuzz_stream(const uint8_t *data, size_t size)
{
	struct ipc_conn	c;
	struct ipc_msg	m;
	int		r;

	ipc_conn_init(&c, -1, IPC_MAX_PAYLOAD);
	if (buf_append(&c.in, data, size) == -1) {
		ipc_conn_close(&c);
		return;
	}
	while ((r = ipc_conn_next(&c, &m)) == 1) {
		FUZZ_CHECK(m.fd == -1);	/* no descriptor came with it */
		ipc_msg_free(&m);
	}
	FUZZ_CHECK(r == 0 || r == -1);
	ipc_conn_close(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_msg	 in, out;
	unsigned	 which;
	char		 qid[QID_LEN + 1], addr[ADDR_MAX + 1];
	char		 text[PROTO_TEXT_MAX], *envtext;
	uint32_t	 u;
	uint64_t	 size64;
	int		 rc;

	if (size < 2)
		return 0;
	which = data[0] % F_NDEC;
	if (which == F_IPC_STREAM) {
		fuzz_stream(data + 1, size - 1);
		return 0;
	}
	ipc_msg_init(&in, 0, 0);
	ipc_msg_init(&out, 0, 0);
	in.fd = (data[1] & 1) ? FUZZ_FD : -1;
	if (buf_append(&in.body, data + 2, size - 2) == -1)
		goto done;

	switch (which) {
	case F_Q_ERR: {
		struct q_err e;

		if (proto_dec_q_err(&in, &e) == 0)
			same_bytes(&in, &out,
			    proto_enc_q_err(&out, e.status, e.text));
		break;
	}
	case F_Q_FILE:
		if (proto_dec_q_file(&in, qid) == 0) {
			FUZZ_CHECK(qid_valid(qid) && in.fd != -1);
			same_bytes(&in, &out, proto_enc_q_file(&out, qid, -1));
		}
		break;
	case F_Q_COMMIT: {
		struct q_commit c;
		uint32_t i;

		if (proto_dec_q_commit(&in, &c, 100) == 0) {
			FUZZ_CHECK(c.nrcpt >= 1 && c.nrcpt <= 100);
			for (i = 0; i < c.nrcpt; i++)
				FUZZ_CHECK(c.rcpt[i] != NULL &&
				    strlen(c.rcpt[i]) <= ADDR_MAX);
			same_bytes(&in, &out, proto_enc_q_commit(&out, &c));
			proto_q_commit_free(&c);
		} else
			FUZZ_CHECK(c.rcpt == NULL);
		break;
	}
	case F_Q_OK:
		if (proto_dec_q_ok(&in, qid) == 0)
			same_bytes(&in, &out, proto_enc_q_ok(&out, qid));
		break;
	case F_Q_CTL_ENTRY:
		if (proto_dec_q_ctl_entry(&in, &envtext, &size64) == 0) {
			same_bytes(&in, &out,
			    proto_enc_q_ctl_entry(&out, envtext, size64));
			free(envtext);
		} else
			FUZZ_CHECK(envtext == NULL);
		break;
	case F_Q_CTL_DELETE:
		if (proto_dec_q_ctl_delete(&in, qid) == 0) {
			FUZZ_CHECK(qid_valid(qid));
			same_bytes(&in, &out, proto_enc_q_ctl_delete(&out, qid));
		}
		break;
	case F_Q_CTL_OP:
	case F_Q_CTL_DONE: {
		struct q_ctl_ids	ids;
		uint32_t		i;

		rc = which == F_Q_CTL_OP ? proto_dec_q_ctl_op(&in, &u, &ids) :
		    proto_dec_q_ctl_done(&in, &u, &ids);
		if (rc == 0) {
			FUZZ_CHECK(ids.n <= Q_CTL_OP_MAX);
			for (i = 0; i < ids.n; i++)
				FUZZ_CHECK(qid_valid(ids.id[i]));
			same_bytes(&in, &out, which == F_Q_CTL_OP ?
			    proto_enc_q_ctl_op(&out, u, &ids) :
			    proto_enc_q_ctl_done(&out, u, &ids));
		} else
			FUZZ_CHECK(ids.id == NULL);
		proto_q_ctl_ids_free(&ids);
		break;
	}
	case F_Q_CTL_FLUSH:
		if (proto_dec_q_ctl_flush(&in, text) == 0)
			same_bytes(&in, &out, proto_enc_q_ctl_flush(&out, text));
		break;
	case F_R_CHECK:
		if (proto_dec_r_check(&in, addr, sizeof(addr)) == 0)
			same_bytes(&in, &out, proto_enc_r_check(&out, addr));
		break;
	case F_R_CHECK_REPLY:
		if (proto_dec_r_check_reply(&in, &u, text, sizeof(text)) == 0) {
			FUZZ_CHECK(u <= R_TEMPFAIL);
			same_bytes(&in, &out,
			    proto_enc_r_check_reply(&out, u, text));
		}
		break;
	case F_R_EXPAND:
		if (proto_dec_r_expand(&in, addr, sizeof(addr)) == 0)
			same_bytes(&in, &out, proto_enc_r_expand(&out, addr));
		break;
	case F_R_EXPANSION: {
		struct r_expansion x;

		if (proto_dec_r_expansion(&in, &x) == 0) {
			FUZZ_CHECK(x.n <= R_EXPAND_MAX && x.status <= ST_PERM);
			FUZZ_CHECK(x.n == 0 || x.t != NULL);
			same_bytes(&in, &out, proto_enc_r_expansion(&out, &x));
			proto_r_expansion_free(&x);
		} else
			FUZZ_CHECK(x.t == NULL);
		break;
	}
	case F_A_AUTH: {
		struct a_auth a;

		if (proto_dec_a_auth(&in, &a) == 0)
			same_bytes(&in, &out, proto_enc_a_auth(&out, &a));
		break;
	}
	case F_A_AUTH_REPLY: {
		struct a_auth_reply a;

		if (proto_dec_a_auth_reply(&in, &a) == 0) {
			FUZZ_CHECK(a.verdict <= A_AUTH_LIMIT);
			same_bytes(&in, &out, proto_enc_a_auth_reply(&out, &a));
		}
		break;
	}
	case F_D_HELLO:
		if (proto_dec_d_hello(&in, &u) == 0)
			same_bytes(&in, &out, proto_enc_d_hello(&out, u));
		break;
	case F_D_JOB: {
		struct d_job j;

		if (proto_dec_d_job(&in, &j) == 0) {
			FUZZ_CHECK(qid_valid(j.qid) && in.fd != -1);
			FUZZ_CHECK(j.offset <= INT64_MAX &&
			    j.size <= INT64_MAX - j.offset);
			/* Only a "|command" is ever a command job. */
			FUZZ_CHECK(j.kind == R_KIND_MAILBOX ||
			    (j.kind == R_KIND_COMMAND && j.rcpt[0] == '|'));
			same_bytes(&in, &out, proto_enc_d_job(&out, &j, -1));
		}
		break;
	}
	case F_D_RESULT: {
		struct d_result d;

		if (proto_dec_d_result(&in, &d) == 0) {
			FUZZ_CHECK(d.status <= ST_PERM);
			same_bytes(&in, &out, proto_enc_d_result(&out, &d));
		}
		break;
	}
	case F_D_RJOB: {
		struct d_rjob j;

		if (proto_dec_d_rjob(&in, &j) == 0) {
			FUZZ_CHECK(qid_valid(j.qid) && in.fd != -1);
			FUZZ_CHECK(j.nrcpt >= 1 && j.nrcpt <= D_RJOB_RCPT_MAX &&
			    j.rcpt != NULL && j.nexthop[0] != '\0');
			FUZZ_CHECK(j.offset <= INT64_MAX &&
			    j.size <= INT64_MAX - j.offset);
			same_bytes(&in, &out, proto_enc_d_rjob(&out, &j, -1));
		} else
			FUZZ_CHECK(j.rcpt == NULL);
		proto_d_rjob_free(&j);
		break;
	}
	case F_D_RRESULT: {
		struct d_rresult d;
		uint32_t i;

		if (proto_dec_d_rresult(&in, &d) == 0) {
			FUZZ_CHECK(d.nrcpt >= 1 && d.nrcpt <= D_RJOB_RCPT_MAX);
			for (i = 0; i < d.nrcpt; i++)
				FUZZ_CHECK(d.r[i].status <= ST_PERM);
			same_bytes(&in, &out, proto_enc_d_rresult(&out, &d));
		} else
			FUZZ_CHECK(d.r == NULL);
		proto_d_rresult_free(&d);
		break;
	}
	case F_R_ROUTE: {
		char domain[R_HOST_MAX + 1];

		if (proto_dec_r_route(&in, domain) == 0) {
			FUZZ_CHECK(proto_hostname_ok(domain));
			same_bytes(&in, &out, proto_enc_r_route(&out, domain));
		}
		break;
	}
	case F_R_ROUTE_REPLY: {
		static struct r_route rt;
		uint32_t i;

		if (proto_dec_r_route_reply(&in, &rt) == 0) {
			FUZZ_CHECK(rt.n <= R_ROUTE_HOPS_MAX &&
			    rt.status <= ST_PERM);
			for (i = 0; i < rt.n; i++)
				FUZZ_CHECK(proto_hostname_ok(rt.hop[i].host) &&
				    (rt.hop[i].family == 4 ||
				    rt.hop[i].family == 6));
			same_bytes(&in, &out, proto_enc_r_route_reply(&out, &rt));
		}
		break;
	}
	case F_P_LOGIN: {
		struct login_msg_auth l;

		if (login_dec_auth(&in, &l) == 0) {
			FUZZ_CHECK(l.mech <= LOGIN_MECH_SASL_PLAIN &&
			    l.transport <= LOGIN_TRANSPORT_TLS &&
			    l.user[0] != '\0');
			FUZZ_CHECK(l.left != NULL && l.leftlen <= NETIO_INBUF);
			FUZZ_CHECK(l.state != NULL &&
			    l.statelen <= LOGIN_STATE_MAX);
			same_bytes(&in, &out, login_enc_auth(&out, &l));
			login_msg_auth_clear(&l);
		} else
			FUZZ_CHECK(l.left == NULL && l.state == NULL);
		break;
	}
	case F_P_FAIL:
		if (login_dec_fail(&in, &u) == 0) {
			/* What the parent may send: login_msg.h. */
			FUZZ_CHECK(u <= LOGIN_FAIL_TEMP ||
			    u == LOGIN_FAIL_USER_BUSY);
			same_bytes(&in, &out, login_enc_fail(&out, u));
		}
		break;
	default:
		break;
	}
done:
	rc = 0;
	/* FUZZ_FD is not ours to close. */
	in.fd = -1;
	out.fd = -1;
	ipc_msg_free(&in);
	ipc_msg_free(&out);
	return rc;
}
