/*
 * test_proto.c - libcommon/proto: the one encoder and decoder for every
 * internal message. Each pair must round trip; each decoder is the trust
 * boundary with a less privileged sender, so every truncation of a valid
 * payload, every extra byte, every out-of-range count, kind, status or
 * verdict, and every missing descriptor must be refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto.h"

#define QID "0123456789ABCDEF"

static int
devnull(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	assert_true(fd != -1);
	return fd;
}

/* dst = src's first len payload bytes (and a copy of its fd), then extra. */
static void
msg_variant(const struct ipc_msg *src, size_t len, const char *extra,
    size_t extralen, struct ipc_msg *dst)
{
	ipc_msg_init(dst, src->type, src->id);
	if (src->fd != -1)
		assert_true((dst->fd = dup(src->fd)) != -1);
	assert_int_equal(buf_append(&dst->body, src->body.data, len), 0);
	assert_int_equal(buf_append(&dst->body, extra, extralen), 0);
}

/* Decoder wrappers: 0 or -1, with any allocation freed. */
typedef int (*decode_fn)(const struct ipc_msg *);

static int
dec_q_err(const struct ipc_msg *m)
{
	struct q_err e;

	return proto_dec_q_err(m, &e);
}

static int
dec_q_file(const struct ipc_msg *m)
{
	char qid[QID_LEN + 1];

	return proto_dec_q_file(m, qid);
}

static int
dec_q_commit(const struct ipc_msg *m)
{
	struct q_commit c;

	if (proto_dec_q_commit(m, &c, 100) == -1)
		return -1;
	proto_q_commit_free(&c);
	return 0;
}

static int
dec_q_ok(const struct ipc_msg *m)
{
	char qid[QID_LEN + 1];

	return proto_dec_q_ok(m, qid);
}

static int
dec_q_ctl_entry(const struct ipc_msg *m)
{
	char		*t;
	uint64_t	 sz;

	if (proto_dec_q_ctl_entry(m, &t, &sz) == -1) {
		assert_null(t);
		return -1;
	}
	free(t);
	return 0;
}

static int
dec_q_ctl_delete(const struct ipc_msg *m)
{
	char qid[QID_LEN + 1];

	return proto_dec_q_ctl_delete(m, qid);
}

static int
dec_r_check(const struct ipc_msg *m)
{
	char a[ADDR_MAX + 1];

	return proto_dec_r_check(m, a, sizeof(a));
}

static int
dec_r_check_reply(const struct ipc_msg *m)
{
	uint32_t	v;
	char		t[PROTO_TEXT_MAX];

	return proto_dec_r_check_reply(m, &v, t, sizeof(t));
}

static int
dec_r_expand(const struct ipc_msg *m)
{
	char a[ADDR_MAX + 1];

	return proto_dec_r_expand(m, a, sizeof(a));
}

static int
dec_r_expansion(const struct ipc_msg *m)
{
	struct r_expansion x;

	if (proto_dec_r_expansion(m, &x) == -1) {
		assert_null(x.t);
		return -1;
	}
	proto_r_expansion_free(&x);
	return 0;
}

static int
dec_a_auth(const struct ipc_msg *m)
{
	struct a_auth a;

	return proto_dec_a_auth(m, &a);
}

static int
dec_a_auth_reply(const struct ipc_msg *m)
{
	struct a_auth_reply a;

	return proto_dec_a_auth_reply(m, &a);
}

static int
dec_d_hello(const struct ipc_msg *m)
{
	uint32_t t;

	return proto_dec_d_hello(m, &t);
}

static int
dec_d_job(const struct ipc_msg *m)
{
	struct d_job j;

	return proto_dec_d_job(m, &j);
}

static int
dec_d_result(const struct ipc_msg *m)
{
	struct d_result d;

	return proto_dec_d_result(m, &d);
}

static int
dec_d_rjob(const struct ipc_msg *m)
{
	struct d_rjob	j;
	int		rc = proto_dec_d_rjob(m, &j);

	proto_d_rjob_free(&j);
	return rc;
}

static int
dec_d_rresult(const struct ipc_msg *m)
{
	struct d_rresult	d;
	int			rc = proto_dec_d_rresult(m, &d);

	proto_d_rresult_free(&d);
	return rc;
}

/*
 * The message decodes whole; every shorter prefix fails; one byte more
 * (of several kinds) fails.
 */
static void
assert_strict(const struct ipc_msg *m, decode_fn dec, const char *name)
{
	struct ipc_msg	v;
	size_t		len;

	if (dec(m) != 0)
		fail_msg("%s: the valid message does not decode", name);
	for (len = 0; len < m->body.len; len++) {
		msg_variant(m, len, NULL, 0, &v);
		if (dec(&v) != -1)
			fail_msg("%s: truncated to %zu of %zu bytes decodes",
			    name, len, m->body.len);
		ipc_msg_free(&v);
	}
	msg_variant(m, m->body.len, "\0", 1, &v);
	if (dec(&v) != -1)
		fail_msg("%s: an extra NUL byte decodes", name);
	ipc_msg_free(&v);
	msg_variant(m, m->body.len, "\0\0\0\0", 4, &v);
	if (dec(&v) != -1)
		fail_msg("%s: an extra u32 decodes", name);
	ipc_msg_free(&v);
}

/* A Q_COMMIT's fields up to the count: size, sender, client, helo, DSN. */
static void
put_commit_head(struct ipc_msg *m, const char *helo)
{
	assert_int_equal(ipc_put_u64(m, 10), 0);
	assert_int_equal(ipc_put_str(m, "a@x"), 0);
	assert_int_equal(ipc_put_str(m, "c"), 0);
	assert_int_equal(ipc_put_str(m, helo), 0);
	assert_int_equal(ipc_put_u32(m, ENV_BODY_7BIT), 0);
	assert_int_equal(ipc_put_u32(m, 0), 0);
	assert_int_equal(ipc_put_u32(m, ENV_RET_NONE), 0);
	assert_int_equal(ipc_put_str(m, ""), 0);
}

static void
commit_sample(struct q_commit *c, char **rcpt, uint32_t n)
{
	memset(c, 0, sizeof(*c));
	c->size = 123456789012ULL;
	strlcpy(c->sender, "alice@example.org", sizeof(c->sender));
	strlcpy(c->client, "192.0.2.1", sizeof(c->client));
	strlcpy(c->helo, "mx.example.org", sizeof(c->helo));
	c->nrcpt = n;
	c->rcpt = rcpt;
}

static void
test_q_err_round_trips_and_is_strict(void **state)
{
	struct ipc_msg	m;
	struct q_err	e;

	ipc_msg_init(&m, Q_ERR, 3);
	assert_int_equal(proto_enc_q_err(&m, ST_PERM, "5.3.4 too big"), 0);
	assert_int_equal(proto_dec_q_err(&m, &e), 0);
	assert_int_equal(e.status, ST_PERM);
	assert_string_equal(e.text, "5.3.4 too big");
	assert_strict(&m, dec_q_err, "q_err");
	ipc_msg_free(&m);
}

static void
test_text_encoders_refuse_text_that_the_decoder_could_not_hold(void **state)
{
	struct ipc_msg		m;
	struct d_result		d;
	struct r_expansion	x = { 0 };
	char			t[PROTO_TEXT_MAX + 1];

	memset(t, 't', PROTO_TEXT_MAX);
	t[PROTO_TEXT_MAX] = '\0';
	ipc_msg_init(&m, Q_ERR, 0);
	assert_int_equal(proto_enc_q_err(&m, ST_TEMP, t), -1);
	assert_int_equal(proto_enc_r_check_reply(&m, R_LOCAL_OK, t), -1);
	d.status = ST_OK;
	memcpy(d.text, t, PROTO_TEXT_MAX - 1);
	d.text[PROTO_TEXT_MAX - 1] = '\0';
	ipc_msg_free(&m);
	/* the longest text that fits round trips */
	ipc_msg_init(&m, D_RESULT, 0);
	assert_int_equal(proto_enc_d_result(&m, &d), 0);
	{
		struct d_result back;
		assert_int_equal(proto_dec_d_result(&m, &back), 0);
		assert_int_equal(strlen(back.text), PROTO_TEXT_MAX - 1);
	}
	ipc_msg_free(&m);
	ipc_msg_init(&m, R_EXPAND_REPLY, 0);
	memcpy(x.text, t, PROTO_TEXT_MAX - 1);
	x.text[PROTO_TEXT_MAX - 1] = '\0';
	assert_int_equal(proto_enc_r_expansion(&m, &x), 0);
	ipc_msg_free(&m);
}

static void
test_q_err_text_longer_than_the_buffer_is_refused(void **state)
{
	struct ipc_msg	m;
	struct q_err	e;
	char		t[PROTO_TEXT_MAX + 1];

	memset(t, 'x', PROTO_TEXT_MAX);
	t[PROTO_TEXT_MAX] = '\0';
	ipc_msg_init(&m, Q_ERR, 0);
	assert_int_equal(ipc_put_u32(&m, ST_TEMP), 0);
	assert_int_equal(ipc_put_str(&m, t), 0);
	assert_int_equal(proto_dec_q_err(&m, &e), -1);
	ipc_msg_free(&m);
}

static void
test_q_file_round_trips_and_needs_fd_and_valid_qid(void **state)
{
	struct ipc_msg	m;
	char		qid[QID_LEN + 1];

	ipc_msg_init(&m, Q_FILE, 1);
	assert_int_equal(proto_enc_q_file(&m, QID, devnull()), 0);
	assert_true(m.fd != -1);
	assert_int_equal(proto_dec_q_file(&m, qid), 0);
	assert_string_equal(qid, QID);
	assert_strict(&m, dec_q_file, "q_file");
	/* the same payload without its descriptor */
	close(m.fd);
	m.fd = -1;
	assert_int_equal(proto_dec_q_file(&m, qid), -1);
	ipc_msg_free(&m);

	ipc_msg_init(&m, Q_FILE, 1);
	assert_int_equal(proto_enc_q_file(&m, "0123456789abcdef", devnull()), 0);
	assert_int_equal(proto_dec_q_file(&m, qid), -1);
	ipc_msg_free(&m);
	ipc_msg_init(&m, Q_FILE, 1);
	assert_int_equal(proto_enc_q_file(&m, "../../x", devnull()), 0);
	assert_int_equal(proto_dec_q_file(&m, qid), -1);
	ipc_msg_free(&m);
}

static void
test_q_commit_round_trips_and_is_strict(void **state)
{
	char		*rcpt[] = { "bob@example.net", "\"c d\"@example.com",
	    "e@[192.0.2.9]" };
	char		*orcpt[] = { "rfc822;Bob@Example.NET", NULL, "" };
	uint32_t	 notify[] = { ENV_NOTIFY_NEVER, 0,
	    ENV_NOTIFY_SUCCESS | ENV_NOTIFY_DELAY };
	struct q_commit	c, back;
	struct ipc_msg	m;
	uint32_t	i;

	commit_sample(&c, rcpt, 3);
	c.body = ENV_BODY_8BITMIME;
	c.smtputf8 = 1;
	c.ret = ENV_RET_HDRS;
	strlcpy(c.envid, "QQ 1+2", sizeof(c.envid));
	c.notify = notify;
	c.orcpt = orcpt;
	ipc_msg_init(&m, Q_COMMIT, 5);
	assert_int_equal(proto_enc_q_commit(&m, &c), 0);
	assert_int_equal(proto_dec_q_commit(&m, &back, 3), 0);
	assert_int_equal(back.body, ENV_BODY_8BITMIME);
	assert_int_equal(back.smtputf8, 1);
	assert_int_equal(back.ret, ENV_RET_HDRS);
	assert_string_equal(back.envid, "QQ 1+2");
	assert_string_equal(back.orcpt[0], orcpt[0]);
	assert_string_equal(back.orcpt[1], "");
	assert_string_equal(back.orcpt[2], "");
	for (i = 0; i < 3; i++)
		assert_int_equal(back.notify[i], notify[i]);
	assert_true(back.size == c.size);
	assert_string_equal(back.sender, c.sender);
	assert_string_equal(back.client, c.client);
	assert_string_equal(back.helo, c.helo);
	assert_int_equal(back.nrcpt, 3);
	for (i = 0; i < 3; i++)
		assert_string_equal(back.rcpt[i], rcpt[i]);
	proto_q_commit_free(&back);
	assert_null(back.rcpt);
	assert_strict(&m, dec_q_commit, "q_commit");
	ipc_msg_free(&m);
}

static void
test_q_commit_with_null_sender_round_trips(void **state)
{
	char		*rcpt[] = { "postmaster@example.org" };
	struct q_commit	c, back;
	struct ipc_msg	m;

	commit_sample(&c, rcpt, 1);
	c.sender[0] = '\0';
	ipc_msg_init(&m, Q_COMMIT, 5);
	assert_int_equal(proto_enc_q_commit(&m, &c), 0);
	assert_int_equal(proto_dec_q_commit(&m, &back, 1), 0);
	assert_string_equal(back.sender, "");
	proto_q_commit_free(&back);
	ipc_msg_free(&m);
}

static void
test_q_commit_without_recipients_is_refused(void **state)
{
	struct q_commit	c, back;
	struct ipc_msg	m;

	commit_sample(&c, NULL, 0);
	ipc_msg_init(&m, Q_COMMIT, 5);
	assert_int_equal(proto_enc_q_commit(&m, &c), 0);
	assert_int_equal(proto_dec_q_commit(&m, &back, 100), -1);
	assert_null(back.rcpt);
	ipc_msg_free(&m);
}

static void
test_q_commit_above_max_rcpt_is_refused_and_at_max_accepted(void **state)
{
	char		*rcpt[] = { "a@x", "b@x", "c@x", "d@x" };
	struct q_commit	c, back;
	struct ipc_msg	m;

	commit_sample(&c, rcpt, 4);
	ipc_msg_init(&m, Q_COMMIT, 5);
	assert_int_equal(proto_enc_q_commit(&m, &c), 0);
	assert_int_equal(proto_dec_q_commit(&m, &back, 3), -1);
	assert_null(back.rcpt);
	assert_int_equal(proto_dec_q_commit(&m, &back, 4), 0);
	assert_int_equal(back.nrcpt, 4);
	proto_q_commit_free(&back);
	ipc_msg_free(&m);
}

static void
test_q_commit_count_without_the_recipients_behind_it_is_refused(void **state)
{
	struct q_commit	back;
	struct ipc_msg	m;

	ipc_msg_init(&m, Q_COMMIT, 5);
	put_commit_head(&m, "h");
	assert_int_equal(ipc_put_u32(&m, 100000), 0);
	assert_int_equal(proto_dec_q_commit(&m, &back, 100000), -1);
	assert_null(back.rcpt);
	ipc_msg_free(&m);
}

static void
test_q_commit_fields_longer_than_their_limits_are_refused(void **state)
{
	char		 longaddr[ADDR_MAX + 2], longhelo[300];
	char		*rcpt[] = { longaddr };
	struct q_commit	 back;
	struct ipc_msg	 m;

	memset(longaddr, 'a', sizeof(longaddr) - 1);
	longaddr[sizeof(longaddr) - 1] = '\0';		/* ADDR_MAX + 1 bytes */
	memset(longhelo, 'h', sizeof(longhelo) - 1);
	longhelo[sizeof(longhelo) - 1] = '\0';

	/* a recipient one byte over ADDR_MAX */
	ipc_msg_init(&m, Q_COMMIT, 5);
	put_commit_head(&m, "h");
	assert_int_equal(ipc_put_u32(&m, 1), 0);
	assert_int_equal(ipc_put_str(&m, rcpt[0]), 0);
	assert_int_equal(ipc_put_u32(&m, 0), 0);
	assert_int_equal(ipc_put_str(&m, ""), 0);
	assert_int_equal(proto_dec_q_commit(&m, &back, 10), -1);
	assert_null(back.rcpt);
	ipc_msg_free(&m);

	/* a HELO name longer than its buffer */
	ipc_msg_init(&m, Q_COMMIT, 5);
	put_commit_head(&m, longhelo);
	assert_int_equal(ipc_put_u32(&m, 1), 0);
	assert_int_equal(ipc_put_str(&m, "b@x"), 0);
	assert_int_equal(ipc_put_u32(&m, 0), 0);
	assert_int_equal(ipc_put_str(&m, ""), 0);
	assert_int_equal(proto_dec_q_commit(&m, &back, 10), -1);
	ipc_msg_free(&m);
}

/* One commit with a single DSN value changed; NULL for "unchanged". */
static int
dec_commit_with(uint32_t body, uint32_t utf8, uint32_t ret, const char *envid,
    uint32_t notify, const char *orcpt)
{
	char		*rcpt[] = { "b@x" };
	char		*orc[] = { (char *)orcpt };
	struct q_commit	 c, back;
	struct ipc_msg	 m;
	int		 rc;

	commit_sample(&c, rcpt, 1);
	c.body = body;
	c.smtputf8 = utf8;
	c.ret = ret;
	strlcpy(c.envid, envid, sizeof(c.envid));
	c.notify = &notify;
	c.orcpt = orc;
	ipc_msg_init(&m, Q_COMMIT, 5);
	assert_int_equal(proto_enc_q_commit(&m, &c), 0);
	rc = proto_dec_q_commit(&m, &back, 10);
	if (rc == 0)
		proto_q_commit_free(&back);
	else
		assert_null(back.rcpt);
	ipc_msg_free(&m);
	return rc;
}

static void
test_q_commit_refuses_dsn_values_smtpd_would_not_take(void **state)
{
	char	longid[ENV_ENVID_MAX + 2], longorcpt[ENV_ORCPT_MAX + 2];

	(void)state;
	memset(longid, 'i', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	memset(longorcpt, 'o', sizeof(longorcpt) - 1);
	memcpy(longorcpt, "rfc822;", 7);
	longorcpt[sizeof(longorcpt) - 1] = '\0';
	assert_int_equal(dec_commit_with(1, 1, 2, "id", ENV_NOTIFY_FAILURE,
	    "rfc822;a@b"), 0);
	assert_int_equal(dec_commit_with(2, 0, 0, "", 0, ""), -1);
	assert_int_equal(dec_commit_with(0, 2, 0, "", 0, ""), -1);
	assert_int_equal(dec_commit_with(0, 0, 3, "", 0, ""), -1);
	assert_int_equal(dec_commit_with(0, 0, 0, "a\tb", 0, ""), -1);
	assert_int_equal(dec_commit_with(0, 0, 0, "a\x7f", 0, ""), -1);
	assert_int_equal(dec_commit_with(0, 0, 0, "\xc3\xa9", 0, ""), -1);
	/* longid does not fit the field: the encoder cuts it, so by hand */
	assert_int_equal(dec_commit_with(0, 0, 0, "", 0x10, ""), -1);
	assert_int_equal(dec_commit_with(0, 0, 0, "", ENV_NOTIFY_NEVER |
	    ENV_NOTIFY_FAILURE, ""), -1);
	assert_int_equal(dec_commit_with(0, 0, 0, "", 0, "a@b"), -1);
	assert_int_equal(dec_commit_with(0, 0, 0, "", 0, ";a@b"), -1);
	assert_int_equal(dec_commit_with(0, 0, 0, "", 0, "rfc822;"), -1);
	assert_int_equal(dec_commit_with(0, 0, 0, "", 0, "rfc 822;a@b"), -1);
	assert_int_equal(dec_commit_with(0, 0, 0, "", 0, "rfc822;a\r\nb"),
	    -1);
	assert_int_equal(dec_commit_with(0, 0, 0, "", 0, longorcpt), -1);
	longorcpt[ENV_ORCPT_MAX] = '\0';
	assert_int_equal(dec_commit_with(0, 0, 0, "", 0, longorcpt), 0);
	{
		struct q_commit	back;
		struct ipc_msg	m;

		ipc_msg_init(&m, Q_COMMIT, 5);
		assert_int_equal(ipc_put_u64(&m, 10), 0);
		assert_int_equal(ipc_put_str(&m, "a@x"), 0);
		assert_int_equal(ipc_put_str(&m, "c"), 0);
		assert_int_equal(ipc_put_str(&m, "h"), 0);
		assert_int_equal(ipc_put_u32(&m, 0), 0);
		assert_int_equal(ipc_put_u32(&m, 0), 0);
		assert_int_equal(ipc_put_u32(&m, 0), 0);
		assert_int_equal(ipc_put_str(&m, longid), 0);
		assert_int_equal(ipc_put_u32(&m, 1), 0);
		assert_int_equal(ipc_put_str(&m, "b@x"), 0);
		assert_int_equal(ipc_put_u32(&m, 0), 0);
		assert_int_equal(ipc_put_str(&m, ""), 0);
		assert_int_equal(proto_dec_q_commit(&m, &back, 10), -1);
		ipc_msg_free(&m);
	}
}

static void
test_q_ok_and_q_ctl_delete_round_trip(void **state)
{
	struct ipc_msg	m;
	char		qid[QID_LEN + 1];

	ipc_msg_init(&m, Q_OK, 1);
	assert_int_equal(proto_enc_q_ok(&m, QID), 0);
	assert_int_equal(proto_dec_q_ok(&m, qid), 0);
	assert_string_equal(qid, QID);
	assert_strict(&m, dec_q_ok, "q_ok");
	ipc_msg_free(&m);

	ipc_msg_init(&m, Q_CTL_DELETE, 1);
	assert_int_equal(proto_enc_q_ctl_delete(&m, QID), 0);
	assert_int_equal(proto_dec_q_ctl_delete(&m, qid), 0);
	assert_string_equal(qid, QID);
	assert_strict(&m, dec_q_ctl_delete, "q_ctl_delete");
	ipc_msg_free(&m);
}

static void
test_q_ctl_delete_refuses_an_invalid_qid(void **state)
{
	static const char *bad[] = { "", "0123456789abcdef", "../queue/x",
	    "0123456789ABCDE" };
	struct ipc_msg	m;
	char		qid[QID_LEN + 1];
	size_t		i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ipc_msg_init(&m, Q_CTL_DELETE, 1);
		assert_int_equal(proto_enc_q_ctl_delete(&m, bad[i]), 0);
		assert_int_equal(proto_dec_q_ctl_delete(&m, qid), -1);
		ipc_msg_free(&m);
	}
	ipc_msg_init(&m, Q_CTL_DELETE, 1);
	assert_int_equal(proto_enc_q_ctl_delete(&m, QID "0"), 0);
	assert_int_equal(proto_dec_q_ctl_delete(&m, qid), -1);
	ipc_msg_free(&m);
}

static int
dec_q_ctl_op(const struct ipc_msg *m)
{
	struct q_ctl_ids	ids;
	uint32_t		op;
	int			rc = proto_dec_q_ctl_op(m, &op, &ids);

	proto_q_ctl_ids_free(&ids);
	return rc;
}

static int
dec_q_ctl_done(const struct ipc_msg *m)
{
	struct q_ctl_ids	ids;
	uint32_t		n;
	int			rc = proto_dec_q_ctl_done(m, &n, &ids);

	proto_q_ctl_ids_free(&ids);
	return rc;
}

static void
test_q_ctl_op_and_done_round_trip_and_are_strict(void **state)
{
	char			 two[2][QID_LEN + 1] = { QID, "FEDCBA9876543210" };
	struct q_ctl_ids	 in = { 2, two }, out;
	struct ipc_msg		 m;
	uint32_t		 op, n;

	(void)state;
	ipc_msg_init(&m, Q_CTL_OP, 1);
	assert_int_equal(proto_enc_q_ctl_op(&m, Q_OP_HOLD, &in), 0);
	assert_int_equal(proto_dec_q_ctl_op(&m, &op, &out), 0);
	assert_int_equal(op, Q_OP_HOLD);
	assert_int_equal(out.n, 2);
	assert_string_equal(out.id[1], "FEDCBA9876543210");
	proto_q_ctl_ids_free(&out);
	assert_strict(&m, dec_q_ctl_op, "q_ctl_op");
	ipc_msg_free(&m);

	ipc_msg_init(&m, Q_CTL_DONE, 1);
	assert_int_equal(proto_enc_q_ctl_done(&m, 7, &in), 0);
	assert_int_equal(proto_dec_q_ctl_done(&m, &n, &out), 0);
	assert_int_equal(n, 7);
	assert_int_equal(out.n, 2);
	proto_q_ctl_ids_free(&out);
	assert_strict(&m, dec_q_ctl_done, "q_ctl_done");
	ipc_msg_free(&m);
}

static void
test_q_ctl_op_refuses_bad_ids_unknown_ops_and_too_many(void **state)
{
	char			 bad[1][QID_LEN + 1] = { "../queue/.key" };
	char			 low[1][QID_LEN + 1] = { "0123456789abcdef" };
	struct q_ctl_ids	 ids = { 1, bad }, out;
	struct ipc_msg		 m;
	uint32_t		 op, i;

	(void)state;
	ipc_msg_init(&m, Q_CTL_OP, 1);
	assert_int_equal(proto_enc_q_ctl_op(&m, Q_OP_DELETE, &ids), 0);
	assert_int_equal(proto_dec_q_ctl_op(&m, &op, &out), -1);
	ipc_msg_free(&m);
	ids.id = low;
	ipc_msg_init(&m, Q_CTL_OP, 1);
	assert_int_equal(proto_enc_q_ctl_op(&m, Q_OP_DELETE, &ids), 0);
	assert_int_equal(proto_dec_q_ctl_op(&m, &op, &out), -1);
	ipc_msg_free(&m);
	/* Unknown operations. */
	ids.n = 0;
	for (op = 0; op < 8; op += 6) {
		ipc_msg_init(&m, Q_CTL_OP, 1);
		assert_int_equal(proto_enc_q_ctl_op(&m, op, &ids), 0);
		assert_int_equal(proto_dec_q_ctl_op(&m, &i, &out), -1);
		ipc_msg_free(&m);
	}
	/* A count above Q_CTL_OP_MAX is refused before anything is allocated. */
	ipc_msg_init(&m, Q_CTL_OP, 1);
	assert_int_equal(ipc_put_u32(&m, Q_OP_HOLD), 0);
	assert_int_equal(ipc_put_u32(&m, Q_CTL_OP_MAX + 1), 0);
	assert_int_equal(proto_dec_q_ctl_op(&m, &op, &out), -1);
	ipc_msg_free(&m);
	ipc_msg_init(&m, Q_CTL_OP, 1);
	assert_int_equal(ipc_put_u32(&m, Q_OP_HOLD), 0);
	assert_int_equal(ipc_put_u32(&m, 0xffffffffu), 0);
	assert_int_equal(proto_dec_q_ctl_op(&m, &op, &out), -1);
	ipc_msg_free(&m);
}

static void
test_q_ctl_flush_carries_an_optional_domain(void **state)
{
	struct ipc_msg	m;
	char		dom[Q_CTL_DOMAIN_MAX + 1];
	char		big[Q_CTL_DOMAIN_MAX + 2];

	(void)state;
	ipc_msg_init(&m, Q_CTL_FLUSH, 1);
	assert_int_equal(proto_enc_q_ctl_flush(&m, NULL), 0);
	assert_int_equal(proto_dec_q_ctl_flush(&m, dom), 0);
	assert_string_equal(dom, "");
	ipc_msg_free(&m);
	ipc_msg_init(&m, Q_CTL_FLUSH, 1);
	assert_int_equal(proto_enc_q_ctl_flush(&m, "example.net"), 0);
	assert_int_equal(proto_dec_q_ctl_flush(&m, dom), 0);
	assert_string_equal(dom, "example.net");
	ipc_msg_free(&m);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ipc_msg_init(&m, Q_CTL_FLUSH, 1);
	assert_int_equal(proto_enc_q_ctl_flush(&m, big), -1);
	ipc_msg_free(&m);
	ipc_msg_init(&m, Q_CTL_FLUSH, 1);
	assert_int_equal(ipc_put_str(&m, big), 0);
	assert_int_equal(proto_dec_q_ctl_flush(&m, dom), -1);
	ipc_msg_free(&m);
}

static void
test_q_ctl_entry_round_trips_and_is_strict(void **state)
{
	static const char env[] = "version 1\nid " QID "\nend\n";
	struct ipc_msg	 m;
	char		*t = NULL;
	uint64_t	 sz = 0;

	ipc_msg_init(&m, Q_CTL_ENTRY, 1);
	assert_int_equal(proto_enc_q_ctl_entry(&m, env, 4096), 0);
	assert_int_equal(proto_dec_q_ctl_entry(&m, &t, &sz), 0);
	assert_string_equal(t, env);
	assert_int_equal(sz, 4096);
	free(t);
	assert_strict(&m, dec_q_ctl_entry, "q_ctl_entry");
	ipc_msg_free(&m);
}

static void
test_r_check_and_r_expand_round_trip(void **state)
{
	struct ipc_msg	m;
	char		a[ADDR_MAX + 1], small[4];

	ipc_msg_init(&m, R_CHECK, 1);
	assert_int_equal(proto_enc_r_check(&m, "user@example.org"), 0);
	assert_int_equal(proto_dec_r_check(&m, a, sizeof(a)), 0);
	assert_string_equal(a, "user@example.org");
	assert_int_equal(proto_dec_r_check(&m, small, sizeof(small)), -1);
	assert_strict(&m, dec_r_check, "r_check");
	ipc_msg_free(&m);

	ipc_msg_init(&m, R_EXPAND, 1);
	assert_int_equal(proto_enc_r_expand(&m, "list@example.org"), 0);
	assert_int_equal(proto_dec_r_expand(&m, a, sizeof(a)), 0);
	assert_string_equal(a, "list@example.org");
	assert_strict(&m, dec_r_expand, "r_expand");
	ipc_msg_free(&m);
}

/* A_AUTH carries the protocol and the client address before the user. */
static void
test_a_auth_round_trips_and_is_strict(void **state)
{
	struct a_auth	a, b;
	struct ipc_msg	m;

	(void)state;
	memset(&a, 0, sizeof(a));
	strlcpy(a.proto, "pop3", sizeof(a.proto));
	strlcpy(a.client, "2001:db8::1", sizeof(a.client));
	strlcpy(a.user, "bob@example.org", sizeof(a.user));
	strlcpy(a.password, "s3cret", sizeof(a.password));
	ipc_msg_init(&m, A_AUTH, 1);
	assert_int_equal(proto_enc_a_auth(&m, &a), 0);
	assert_int_equal(proto_dec_a_auth(&m, &b), 0);
	assert_string_equal(b.proto, "pop3");
	assert_string_equal(b.client, "2001:db8::1");
	assert_string_equal(b.user, "bob@example.org");
	assert_string_equal(b.password, "s3cret");
	assert_strict(&m, dec_a_auth, "a_auth");
	ipc_msg_free(&m);
	/* A protocol name longer than the field is refused, not cut. */
	memset(&m, 0, sizeof(m));
	ipc_msg_init(&m, A_AUTH, 1);
	assert_int_equal(ipc_put_str(&m, "a-protocol-name-too-long"), 0);
	assert_int_equal(ipc_put_str(&m, ""), 0);
	assert_int_equal(ipc_put_str(&m, "bob"), 0);
	assert_int_equal(ipc_put_str(&m, "pw"), 0);
	assert_int_equal(proto_dec_a_auth(&m, &b), -1);
	ipc_msg_free(&m);
}

static void
test_a_auth_reply_knows_the_limit_verdict_and_no_more(void **state)
{
	struct a_auth_reply	a, b;
	struct ipc_msg		m;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.verdict = A_AUTH_LIMIT;
	ipc_msg_init(&m, A_AUTH_REPLY, 1);
	assert_int_equal(proto_enc_a_auth_reply(&m, &a), 0);
	assert_int_equal(proto_dec_a_auth_reply(&m, &b), 0);
	assert_int_equal(b.verdict, A_AUTH_LIMIT);
	assert_strict(&m, dec_a_auth_reply, "a_auth_reply");
	ipc_msg_free(&m);
	a.verdict = A_AUTH_LIMIT + 1;
	ipc_msg_init(&m, A_AUTH_REPLY, 1);
	assert_int_equal(proto_enc_a_auth_reply(&m, &a), 0);
	assert_int_equal(proto_dec_a_auth_reply(&m, &b), -1);
	ipc_msg_free(&m);
}

static void
test_r_check_reply_round_trips_and_refuses_unknown_verdict(void **state)
{
	struct ipc_msg	m;
	uint32_t	v;
	char		t[PROTO_TEXT_MAX];

	ipc_msg_init(&m, R_CHECK_REPLY, 1);
	assert_int_equal(proto_enc_r_check_reply(&m, R_TEMPFAIL,
	    "4.3.0 maps unreadable"), 0);
	assert_int_equal(proto_dec_r_check_reply(&m, &v, t, sizeof(t)), 0);
	assert_int_equal(v, R_TEMPFAIL);
	assert_string_equal(t, "4.3.0 maps unreadable");
	assert_strict(&m, dec_r_check_reply, "r_check_reply");
	ipc_msg_free(&m);

	ipc_msg_init(&m, R_CHECK_REPLY, 1);
	assert_int_equal(proto_enc_r_check_reply(&m, R_TEMPFAIL + 1, ""), 0);
	assert_int_equal(proto_dec_r_check_reply(&m, &v, t, sizeof(t)), -1);
	ipc_msg_free(&m);
}

static void
test_r_expansion_round_trips_and_is_strict(void **state)
{
	struct r_target		t[3];
	struct r_expansion	x, back;
	struct ipc_msg		m;

	memset(t, 0, sizeof(t));
	t[0].kind = R_KIND_MAILBOX;
	strlcpy(t[0].addr, "alice@example.org", sizeof(t[0].addr));
	t[1].kind = R_KIND_REMOTE;
	strlcpy(t[1].addr, "bob@elsewhere.example", sizeof(t[1].addr));
	t[2].kind = R_KIND_MAILBOX;
	strlcpy(t[2].addr, "carol@example.org", sizeof(t[2].addr));
	strlcpy(t[2].detail, "lists", sizeof(t[2].detail));
	memset(&x, 0, sizeof(x));
	x.status = ST_OK;
	strlcpy(x.text, "expanded", sizeof(x.text));
	x.n = 3;
	x.t = t;
	ipc_msg_init(&m, R_EXPAND_REPLY, 2);
	assert_int_equal(proto_enc_r_expansion(&m, &x), 0);
	assert_int_equal(proto_dec_r_expansion(&m, &back), 0);
	assert_int_equal(back.status, ST_OK);
	assert_string_equal(back.text, "expanded");
	assert_int_equal(back.n, 3);
	assert_int_equal(back.t[1].kind, R_KIND_REMOTE);
	assert_string_equal(back.t[1].addr, "bob@elsewhere.example");
	assert_string_equal(back.t[2].addr, "carol@example.org");
	/* The plus-address detail travels with its mailbox. */
	assert_string_equal(back.t[2].detail, "lists");
	assert_string_equal(back.t[0].detail, "");
	proto_r_expansion_free(&back);
	assert_null(back.t);
	assert_strict(&m, dec_r_expansion, "r_expansion");
	ipc_msg_free(&m);

	/* a failed expansion carries no targets */
	x.status = ST_PERM;
	x.n = 0;
	ipc_msg_init(&m, R_EXPAND_REPLY, 2);
	assert_int_equal(proto_enc_r_expansion(&m, &x), 0);
	assert_int_equal(proto_dec_r_expansion(&m, &back), 0);
	assert_int_equal(back.n, 0);
	assert_null(back.t);
	ipc_msg_free(&m);
}

static void
test_r_expansion_refuses_unknown_kind(void **state)
{
	struct r_target		t[2];
	struct r_expansion	x, back;
	struct ipc_msg		m;
	uint32_t		bad[] = { R_KIND_COMMAND + 1, UINT32_MAX };
	size_t			i;

	for (i = 0; i < 2; i++) {
		memset(t, 0, sizeof(t));
		strlcpy(t[0].addr, "a@x", sizeof(t[0].addr));
		strlcpy(t[1].addr, "b@x", sizeof(t[1].addr));
		t[1].kind = bad[i];
		memset(&x, 0, sizeof(x));
		x.n = 2;
		x.t = t;
		ipc_msg_init(&m, R_EXPAND_REPLY, 2);
		assert_int_equal(proto_enc_r_expansion(&m, &x), 0);
		assert_int_equal(proto_dec_r_expansion(&m, &back), -1);
		assert_null(back.t);
		ipc_msg_free(&m);
	}
}

static void
test_r_expansion_refuses_unknown_status(void **state)
{
	struct r_expansion	x, back;
	struct ipc_msg		m;

	memset(&x, 0, sizeof(x));
	x.status = ST_PERM + 1;
	ipc_msg_init(&m, R_EXPAND_REPLY, 2);
	assert_int_equal(proto_enc_r_expansion(&m, &x), 0);
	assert_int_equal(proto_dec_r_expansion(&m, &back), -1);
	ipc_msg_free(&m);
}

static void
test_r_expansion_takes_r_expand_max_targets_not_one_more(void **state)
{
	struct r_target		*t;
	struct r_expansion	 x, back;
	struct ipc_msg		 m;
	uint32_t		 i;

	assert_non_null(t = calloc(R_EXPAND_MAX + 1, sizeof(*t)));
	for (i = 0; i <= R_EXPAND_MAX; i++)
		snprintf(t[i].addr, sizeof(t[i].addr), "u%u@example.org", i);
	memset(&x, 0, sizeof(x));
	x.t = t;
	x.n = R_EXPAND_MAX;
	ipc_msg_init(&m, R_EXPAND_REPLY, 2);
	assert_int_equal(proto_enc_r_expansion(&m, &x), 0);
	assert_int_equal(proto_dec_r_expansion(&m, &back), 0);
	assert_int_equal(back.n, R_EXPAND_MAX);
	assert_string_equal(back.t[R_EXPAND_MAX - 1].addr, "u999@example.org");
	proto_r_expansion_free(&back);
	ipc_msg_free(&m);

	x.n = R_EXPAND_MAX + 1;
	ipc_msg_init(&m, R_EXPAND_REPLY, 2);
	assert_int_equal(proto_enc_r_expansion(&m, &x), 0);
	assert_int_equal(proto_dec_r_expansion(&m, &back), -1);
	assert_null(back.t);
	ipc_msg_free(&m);

	/* a count far above the limit, with nothing behind it */
	ipc_msg_init(&m, R_EXPAND_REPLY, 2);
	assert_int_equal(ipc_put_u32(&m, ST_OK), 0);
	assert_int_equal(ipc_put_str(&m, ""), 0);
	assert_int_equal(ipc_put_u32(&m, UINT32_MAX), 0);
	assert_int_equal(proto_dec_r_expansion(&m, &back), -1);
	assert_null(back.t);
	ipc_msg_free(&m);
	free(t);
}

static void
test_d_hello_round_trips_and_is_strict(void **state)
{
	struct ipc_msg	m;
	uint32_t	tr;

	ipc_msg_init(&m, D_HELLO, 0);
	assert_int_equal(proto_enc_d_hello(&m, D_TRANSPORT_LOCAL), 0);
	assert_int_equal(proto_dec_d_hello(&m, &tr), 0);
	assert_int_equal(tr, D_TRANSPORT_LOCAL);
	assert_strict(&m, dec_d_hello, "d_hello");
	ipc_msg_free(&m);
}

static void
test_d_job_round_trips_and_needs_fd_and_valid_qid(void **state)
{
	struct d_job	j, back;
	struct ipc_msg	m;

	memset(&j, 0, sizeof(j));
	strlcpy(j.qid, QID, sizeof(j.qid));
	strlcpy(j.sender, "", sizeof(j.sender));
	strlcpy(j.rcpt, "bob@example.org", sizeof(j.rcpt));
	strlcpy(j.orcpt, "Bob@Example.ORG", sizeof(j.orcpt));
	j.offset = 32;
	j.size = 4096;
	j.arrival_us = 1796205528123456ULL;
	j.active_us = 1796205528193456ULL;
	ipc_msg_init(&m, D_JOB, 8);
	assert_int_equal(proto_enc_d_job(&m, &j, devnull()), 0);
	assert_int_equal(proto_dec_d_job(&m, &back), 0);
	/* The log line's delays start from these. */
	assert_true(back.arrival_us == j.arrival_us);
	assert_true(back.active_us == j.active_us);
	assert_string_equal(back.qid, QID);
	assert_string_equal(back.sender, "");
	assert_string_equal(back.rcpt, "bob@example.org");
	assert_string_equal(back.orcpt, "Bob@Example.ORG");
	assert_int_equal(back.offset, 32);
	assert_int_equal(back.size, 4096);
	assert_strict(&m, dec_d_job, "d_job");
	close(m.fd);
	m.fd = -1;
	assert_int_equal(proto_dec_d_job(&m, &back), -1);
	ipc_msg_free(&m);

	strlcpy(j.qid, "not-a-queue-id", sizeof(j.qid));
	ipc_msg_init(&m, D_JOB, 8);
	assert_int_equal(proto_enc_d_job(&m, &j, devnull()), 0);
	assert_int_equal(proto_dec_d_job(&m, &back), -1);
	ipc_msg_free(&m);

	/* A range that overflows a file offset is refused. */
	strlcpy(j.qid, QID, sizeof(j.qid));
	j.offset = (uint64_t)INT64_MAX;
	j.size = 2;
	ipc_msg_init(&m, D_JOB, 8);
	assert_int_equal(proto_enc_d_job(&m, &j, devnull()), 0);
	assert_int_equal(proto_dec_d_job(&m, &back), -1);
	ipc_msg_free(&m);
}

static void
test_d_job_kind_is_a_mailbox_or_a_piped_command(void **state)
{
	struct d_job	j, back;
	struct ipc_msg	m;
	uint32_t	bad[] = { R_KIND_REMOTE, R_KIND_COMMAND + 1 };
	size_t		i;

	memset(&j, 0, sizeof(j));
	strlcpy(j.qid, QID, sizeof(j.qid));
	strlcpy(j.rcpt, "|/usr/bin/procmail -a $EXTENSION", sizeof(j.rcpt));
	strlcpy(j.orcpt, "list@example.org", sizeof(j.orcpt));
	j.kind = R_KIND_COMMAND;
	ipc_msg_init(&m, D_JOB, 8);
	assert_int_equal(proto_enc_d_job(&m, &j, devnull()), 0);
	assert_int_equal(proto_dec_d_job(&m, &back), 0);
	assert_int_equal(back.kind, R_KIND_COMMAND);
	assert_string_equal(back.rcpt, "|/usr/bin/procmail -a $EXTENSION");
	ipc_msg_free(&m);

	/* A command job must name a command: a mailbox is never run. */
	strlcpy(j.rcpt, "bob@example.org", sizeof(j.rcpt));
	ipc_msg_init(&m, D_JOB, 8);
	assert_int_equal(proto_enc_d_job(&m, &j, devnull()), 0);
	assert_int_equal(proto_dec_d_job(&m, &back), -1);
	ipc_msg_free(&m);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j.kind = bad[i];
		ipc_msg_init(&m, D_JOB, 8);
		assert_int_equal(proto_enc_d_job(&m, &j, devnull()), 0);
		assert_int_equal(proto_dec_d_job(&m, &back), -1);
		ipc_msg_free(&m);
	}
}

static void
test_d_result_round_trips_and_refuses_unknown_status(void **state)
{
	struct d_result	d, back;
	struct ipc_msg	m;

	d.status = ST_TEMP;
	strlcpy(d.text, "4.2.2 mailbox full", sizeof(d.text));
	ipc_msg_init(&m, D_RESULT, 8);
	assert_int_equal(proto_enc_d_result(&m, &d), 0);
	assert_int_equal(proto_dec_d_result(&m, &back), 0);
	assert_int_equal(back.status, ST_TEMP);
	assert_string_equal(back.text, "4.2.2 mailbox full");
	assert_strict(&m, dec_d_result, "d_result");
	ipc_msg_free(&m);

	d.status = ST_PERM + 1;
	ipc_msg_init(&m, D_RESULT, 8);
	assert_int_equal(proto_enc_d_result(&m, &d), 0);
	assert_int_equal(proto_dec_d_result(&m, &back), -1);
	ipc_msg_free(&m);
}

static void
rjob_sample(struct d_rjob *j, struct d_rrcpt *rc, uint32_t n)
{
	uint32_t i;

	memset(j, 0, sizeof(*j));
	memset(rc, 0, n * sizeof(*rc));
	strlcpy(j->qid, QID, sizeof(j->qid));
	strlcpy(j->sender, "alice@example.org", sizeof(j->sender));
	strlcpy(j->nexthop, "example.net", sizeof(j->nexthop));
	strlcpy(j->envid, "QQ314159", sizeof(j->envid));
	j->offset = 96;
	j->size = 4096;
	j->arrival_us = 1796205528123456ULL;
	j->active_us = 1796205528193456ULL;
	j->flags = D_RJOB_8BITMIME;
	j->ret = 2;
	for (i = 0; i < n; i++) {
		snprintf(rc[i].addr, sizeof(rc[i].addr), "u%u@example.net", i);
		snprintf(rc[i].orcpt, sizeof(rc[i].orcpt), "U%u@example.org",
		    i);
		snprintf(rc[i].dsn_orcpt, sizeof(rc[i].dsn_orcpt),
		    "rfc822;U%u@example.org", i);
		rc[i].notify = i % 16;
	}
	j->nrcpt = n;
	j->rcpt = rc;
}

static void
test_d_rjob_round_trips_and_is_strict(void **state)
{
	struct d_rrcpt	rc[3];
	struct d_rjob	j, back;
	struct ipc_msg	m;

	rjob_sample(&j, rc, 3);
	ipc_msg_init(&m, D_RJOB, 8);
	assert_int_equal(proto_enc_d_rjob(&m, &j, devnull()), 0);
	assert_int_equal(proto_dec_d_rjob(&m, &back), 0);
	assert_string_equal(back.qid, QID);
	assert_string_equal(back.sender, "alice@example.org");
	assert_string_equal(back.nexthop, "example.net");
	assert_string_equal(back.envid, "QQ314159");
	assert_true(back.offset == 96 && back.size == 4096);
	assert_true(back.arrival_us == j.arrival_us &&
	    back.active_us == j.active_us);
	assert_int_equal(back.flags, D_RJOB_8BITMIME);
	assert_int_equal(back.ret, 2);
	assert_int_equal(back.nrcpt, 3);
	assert_string_equal(back.rcpt[2].addr, "u2@example.net");
	assert_string_equal(back.rcpt[2].orcpt, "U2@example.org");
	assert_string_equal(back.rcpt[2].dsn_orcpt, "rfc822;U2@example.org");
	assert_int_equal(back.rcpt[2].notify, 2);
	proto_d_rjob_free(&back);
	assert_strict(&m, dec_d_rjob, "d_rjob");
	close(m.fd);
	m.fd = -1;
	assert_int_equal(proto_dec_d_rjob(&m, &back), -1);
	ipc_msg_free(&m);
}

static void
test_d_rjob_refuses_bad_counts_flags_and_fields(void **state)
{
	static struct d_rrcpt	rc[D_RJOB_RCPT_MAX + 1];
	struct d_rjob		j, back;
	struct ipc_msg		m;
	int			k;

	for (k = 0; k < 8; k++) {
		rjob_sample(&j, rc, 1);
		switch (k) {
		case 0: j.nrcpt = 0; break;
		case 1: rjob_sample(&j, rc, D_RJOB_RCPT_MAX + 1); break;
		case 2: j.flags = 0x4; break;
		case 3: j.ret = 3; break;
		case 4: j.nexthop[0] = '\0'; break;
		case 5: strlcpy(j.qid, "nope", sizeof(j.qid)); break;
		case 6: rc[0].notify = 0x10; break;
		case 7: rc[0].addr[0] = '\0'; break;
		}
		ipc_msg_init(&m, D_RJOB, 8);
		assert_int_equal(proto_enc_d_rjob(&m, &j, devnull()), 0);
		if (proto_dec_d_rjob(&m, &back) != -1)
			fail_msg("case %d decodes", k);
		ipc_msg_free(&m);
	}
	/* The most a job may carry is accepted. */
	rjob_sample(&j, rc, D_RJOB_RCPT_MAX);
	ipc_msg_init(&m, D_RJOB, 8);
	assert_int_equal(proto_enc_d_rjob(&m, &j, devnull()), 0);
	assert_int_equal(proto_dec_d_rjob(&m, &back), 0);
	assert_int_equal(back.nrcpt, D_RJOB_RCPT_MAX);
	proto_d_rjob_free(&back);
	ipc_msg_free(&m);
}

static void
test_d_rresult_round_trips_and_is_strict(void **state)
{
	struct d_rrcpt_result	r[2];
	struct d_rresult	d = { 2, r }, back;
	struct ipc_msg		m;

	memset(r, 0, sizeof(r));
	r[0].status = ST_OK;
	strlcpy(r[0].text, "2.0.0 sent (250 ok)", sizeof(r[0].text));
	strlcpy(r[0].mta, "mx.example.net", sizeof(r[0].mta));
	r[1].status = ST_PERM;
	strlcpy(r[1].text, "host mx.example.net[192.0.2.7] said: 550 5.1.1 "
	    "no such user (in reply to RCPT TO command)", sizeof(r[1].text));
	strlcpy(r[1].mta, "mx.example.net", sizeof(r[1].mta));
	strlcpy(r[1].diag, "550 5.1.1 no such user", sizeof(r[1].diag));
	ipc_msg_init(&m, D_RRESULT, 8);
	assert_int_equal(proto_enc_d_rresult(&m, &d), 0);
	assert_int_equal(proto_dec_d_rresult(&m, &back), 0);
	assert_int_equal(back.nrcpt, 2);
	assert_int_equal(back.r[1].status, ST_PERM);
	assert_string_equal(back.r[1].diag, "550 5.1.1 no such user");
	assert_string_equal(back.r[0].mta, "mx.example.net");
	proto_d_rresult_free(&back);
	assert_strict(&m, dec_d_rresult, "d_rresult");
	ipc_msg_free(&m);

	r[1].status = ST_PERM + 1;
	ipc_msg_init(&m, D_RRESULT, 8);
	assert_int_equal(proto_enc_d_rresult(&m, &d), 0);
	assert_int_equal(proto_dec_d_rresult(&m, &back), -1);
	ipc_msg_free(&m);
}

static void
test_decoders_refuse_an_empty_payload(void **state)
{
	static const decode_fn decs[] = { dec_q_err, dec_q_file, dec_q_commit,
	    dec_q_ok, dec_q_ctl_entry, dec_q_ctl_delete, dec_r_check,
	    dec_r_check_reply, dec_r_expand, dec_r_expansion, dec_d_hello,
	    dec_d_job, dec_d_result, dec_d_rjob, dec_d_rresult };
	struct ipc_msg	m;
	size_t		i;

	ipc_msg_init(&m, 0, 0);
	m.fd = devnull();
	for (i = 0; i < sizeof(decs) / sizeof(decs[0]); i++)
		if (decs[i](&m) != -1)
			fail_msg("decoder %zu accepts an empty payload", i);
	ipc_msg_free(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_q_err_round_trips_and_is_strict),
		cmocka_unit_test(test_text_encoders_refuse_text_that_the_decoder_could_not_hold),
		cmocka_unit_test(test_q_err_text_longer_than_the_buffer_is_refused),
		cmocka_unit_test(test_q_file_round_trips_and_needs_fd_and_valid_qid),
		cmocka_unit_test(test_q_commit_round_trips_and_is_strict),
		cmocka_unit_test(test_q_commit_with_null_sender_round_trips),
		cmocka_unit_test(test_q_commit_without_recipients_is_refused),
		cmocka_unit_test(test_q_commit_above_max_rcpt_is_refused_and_at_max_accepted),
		cmocka_unit_test(test_q_commit_count_without_the_recipients_behind_it_is_refused),
		cmocka_unit_test(test_q_commit_fields_longer_than_their_limits_are_refused),
		cmocka_unit_test(test_q_commit_refuses_dsn_values_smtpd_would_not_take),
		cmocka_unit_test(test_q_ok_and_q_ctl_delete_round_trip),
		cmocka_unit_test(test_q_ctl_delete_refuses_an_invalid_qid),
		cmocka_unit_test(test_q_ctl_entry_round_trips_and_is_strict),
		cmocka_unit_test(test_q_ctl_op_and_done_round_trip_and_are_strict),
		cmocka_unit_test(test_q_ctl_op_refuses_bad_ids_unknown_ops_and_too_many),
		cmocka_unit_test(test_q_ctl_flush_carries_an_optional_domain),
		cmocka_unit_test(test_r_check_and_r_expand_round_trip),
		cmocka_unit_test(test_r_check_reply_round_trips_and_refuses_unknown_verdict),
		cmocka_unit_test(test_a_auth_round_trips_and_is_strict),
		cmocka_unit_test(
		    test_a_auth_reply_knows_the_limit_verdict_and_no_more),
		cmocka_unit_test(test_r_expansion_round_trips_and_is_strict),
		cmocka_unit_test(test_r_expansion_refuses_unknown_kind),
		cmocka_unit_test(test_r_expansion_refuses_unknown_status),
		cmocka_unit_test(test_r_expansion_takes_r_expand_max_targets_not_one_more),
		cmocka_unit_test(test_d_hello_round_trips_and_is_strict),
		cmocka_unit_test(test_d_job_round_trips_and_needs_fd_and_valid_qid),
		cmocka_unit_test(test_d_job_kind_is_a_mailbox_or_a_piped_command),
		cmocka_unit_test(test_d_result_round_trips_and_refuses_unknown_status),
		cmocka_unit_test(test_d_rjob_round_trips_and_is_strict),
		cmocka_unit_test(test_d_rjob_refuses_bad_counts_flags_and_fields),
		cmocka_unit_test(test_d_rresult_round_trips_and_is_strict),
		cmocka_unit_test(test_decoders_refuse_an_empty_payload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
