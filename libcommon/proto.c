/*
 * proto.c - encoders and decoders for every internal message.
 *
 * Runs in every daemon. Decoders are the trust boundary between a less
 * privileged sender and its receiver: each field is bounds-checked by the
 * ipc reader, and a payload with bytes left over is rejected.
 */
#include <stdlib.h>
#include <string.h>

#include "proto.h"

static int
str_fits(const char *s, size_t max)
{
	return strlen(s) < max;
}

int
proto_enc_q_err(struct ipc_msg *m, uint32_t status, const char *text)
{
	if (!str_fits(text, PROTO_TEXT_MAX))
		return -1;
	return (ipc_put_u32(m, status) == -1 || ipc_put_str(m, text) == -1) ?
	    -1 : 0;
}

int
proto_dec_q_err(const struct ipc_msg *m, struct q_err *e)
{
	struct ipc_reader r;

	ipc_reader_init(&r, m);
	ipc_get_u32(&r, &e->status);
	ipc_get_str(&r, e->text, sizeof(e->text));
	return ipc_reader_end(&r);
}

int
proto_enc_q_file(struct ipc_msg *m, const char *qid, int fd)
{
	m->fd = fd;
	return ipc_put_str(m, qid);
}

int
proto_dec_q_file(const struct ipc_msg *m, char qid[QID_LEN + 1])
{
	struct ipc_reader r;

	ipc_reader_init(&r, m);
	ipc_get_str(&r, qid, QID_LEN + 1);
	if (ipc_reader_end(&r) == -1 || !qid_valid(qid) || m->fd == -1)
		return -1;
	return 0;
}

int
proto_enc_q_commit(struct ipc_msg *m, const struct q_commit *c)
{
	uint32_t i;

	if (ipc_put_u64(m, c->size) == -1 || ipc_put_str(m, c->sender) == -1 ||
	    ipc_put_str(m, c->client) == -1 || ipc_put_str(m, c->helo) == -1 ||
	    ipc_put_u32(m, c->body) == -1 || ipc_put_u32(m, c->smtputf8) == -1 ||
	    ipc_put_u32(m, c->ret) == -1 || ipc_put_str(m, c->envid) == -1 ||
	    ipc_put_u32(m, c->nrcpt) == -1)
		return -1;
	for (i = 0; i < c->nrcpt; i++) {
		const char *o = c->orcpt != NULL && c->orcpt[i] != NULL ?
		    c->orcpt[i] : "";

		if (ipc_put_str(m, c->rcpt[i]) == -1 ||
		    ipc_put_u32(m, c->notify != NULL ? c->notify[i] : 0) == -1 ||
		    ipc_put_str(m, o) == -1)
			return -1;
	}
	return ipc_put_str(m, c->auth);
}

void
proto_q_commit_free(struct q_commit *c)
{
	uint32_t i;

	if (c->rcpt != NULL)
		for (i = 0; i < c->nrcpt; i++)
			free(c->rcpt[i]);
	if (c->orcpt != NULL)
		for (i = 0; i < c->nrcpt; i++)
			free(c->orcpt[i]);
	free(c->rcpt);
	free(c->orcpt);
	free(c->notify);
	c->rcpt = NULL;
	c->orcpt = NULL;
	c->notify = NULL;
	c->nrcpt = 0;
}

int
proto_dec_q_commit(const struct ipc_msg *m, struct q_commit *c,
    uint32_t max_rcpt)
{
	struct ipc_reader	r;
	uint32_t		i, n;
	int			bad = 0;

	memset(c, 0, sizeof(*c));
	ipc_reader_init(&r, m);
	ipc_get_u64(&r, &c->size);
	ipc_get_str(&r, c->sender, sizeof(c->sender));
	ipc_get_str(&r, c->client, sizeof(c->client));
	ipc_get_str(&r, c->helo, sizeof(c->helo));
	ipc_get_u32(&r, &c->body);
	ipc_get_u32(&r, &c->smtputf8);
	ipc_get_u32(&r, &c->ret);
	ipc_get_str(&r, c->envid, sizeof(c->envid));
	if (ipc_get_u32(&r, &n) == -1 || n == 0 || n > max_rcpt)
		return -1;
	if (c->body > ENV_BODY_8BITMIME || c->smtputf8 > 1 ||
	    c->ret > ENV_RET_HDRS ||
	    (c->envid[0] != '\0' && !env_envid_valid(c->envid)))
		return -1;
	if ((c->rcpt = calloc(n, sizeof(char *))) == NULL ||
	    (c->orcpt = calloc(n, sizeof(char *))) == NULL ||
	    (c->notify = calloc(n, sizeof(uint32_t))) == NULL) {
		free(c->rcpt);
		free(c->orcpt);
		c->rcpt = c->orcpt = NULL;
		return -1;
	}
	c->nrcpt = n;
	for (i = 0; i < n && !bad; i++) {
		if (ipc_get_strdup(&r, &c->rcpt[i], ADDR_MAX) == -1 ||
		    ipc_get_u32(&r, &c->notify[i]) == -1 ||
		    ipc_get_strdup(&r, &c->orcpt[i], ENV_ORCPT_MAX) == -1)
			break;
		bad = !env_notify_valid(c->notify[i]) ||
		    (c->orcpt[i][0] != '\0' && !env_orcpt_valid(c->orcpt[i]));
	}
	if (!bad)
		ipc_get_str(&r, c->auth, sizeof(c->auth));
	if (bad || ipc_reader_end(&r) == -1) {
		proto_q_commit_free(c);
		return -1;
	}
	return 0;
}

int
proto_enc_q_ok(struct ipc_msg *m, const char *qid)
{
	return ipc_put_str(m, qid);
}

int
proto_dec_q_ok(const struct ipc_msg *m, char qid[QID_LEN + 1])
{
	struct ipc_reader r;

	ipc_reader_init(&r, m);
	ipc_get_str(&r, qid, QID_LEN + 1);
	return ipc_reader_end(&r);
}

int
proto_enc_q_ctl_entry(struct ipc_msg *m, const char *envtext, uint64_t size)
{
	return (ipc_put_u64(m, size) == -1 || ipc_put_str(m, envtext) == -1) ?
	    -1 : 0;
}

int
proto_dec_q_ctl_entry(const struct ipc_msg *m, char **envtext, uint64_t *size)
{
	struct ipc_reader r;

	*envtext = NULL;
	ipc_reader_init(&r, m);
	ipc_get_u64(&r, size);
	ipc_get_strdup(&r, envtext, IPC_MAX_PAYLOAD);
	if (ipc_reader_end(&r) == -1) {
		free(*envtext);
		*envtext = NULL;
		return -1;
	}
	return 0;
}

int
proto_enc_q_ctl_delete(struct ipc_msg *m, const char *qid)
{
	return ipc_put_str(m, qid);
}

int
proto_dec_q_ctl_delete(const struct ipc_msg *m, char qid[QID_LEN + 1])
{
	if (proto_dec_q_ok(m, qid) == -1 || !qid_valid(qid))
		return -1;
	return 0;
}

int
proto_enc_q_ctl_flush(struct ipc_msg *m, const char *domain)
{
	if (domain == NULL || domain[0] == '\0')
		return 0;
	if (!str_fits(domain, Q_CTL_DOMAIN_MAX + 1))
		return -1;
	return ipc_put_str(m, domain);
}

int
proto_dec_q_ctl_flush(const struct ipc_msg *m, char domain[Q_CTL_DOMAIN_MAX + 1])
{
	struct ipc_reader r;

	domain[0] = '\0';
	if (m->body.len == 0)
		return 0;
	ipc_reader_init(&r, m);
	ipc_get_str(&r, domain, Q_CTL_DOMAIN_MAX + 1);
	if (ipc_reader_end(&r) == -1 || domain[0] == '\0')
		return -1;
	return 0;
}

void
proto_q_ctl_ids_free(struct q_ctl_ids *ids)
{
	free(ids->id);
	ids->id = NULL;
	ids->n = 0;
}

static int
put_ids(struct ipc_msg *m, const struct q_ctl_ids *ids)
{
	uint32_t i;

	if (ids->n > Q_CTL_OP_MAX || ipc_put_u32(m, ids->n) == -1)
		return -1;
	for (i = 0; i < ids->n; i++)
		if (ipc_put_str(m, ids->id[i]) == -1)
			return -1;
	return 0;
}

/* Every id must be a valid queue id: nothing else reaches a path. */
static int
get_ids(struct ipc_reader *r, struct q_ctl_ids *ids)
{
	uint32_t i, n;

	ids->n = 0;
	ids->id = NULL;
	if (ipc_get_u32(r, &n) == -1 || n > Q_CTL_OP_MAX)
		return -1;
	if (n > 0 && (ids->id = calloc(n, sizeof(*ids->id))) == NULL)
		return -1;
	ids->n = n;
	for (i = 0; i < n; i++)
		if (ipc_get_str(r, ids->id[i], QID_LEN + 1) == -1 ||
		    !qid_valid(ids->id[i])) {
			proto_q_ctl_ids_free(ids);
			return -1;
		}
	return 0;
}

int
proto_enc_q_ctl_op(struct ipc_msg *m, uint32_t op, const struct q_ctl_ids *ids)
{
	if (ipc_put_u32(m, op) == -1)
		return -1;
	return put_ids(m, ids);
}

int
proto_dec_q_ctl_op(const struct ipc_msg *m, uint32_t *op,
    struct q_ctl_ids *ids)
{
	struct ipc_reader r;

	ids->n = 0;
	ids->id = NULL;
	ipc_reader_init(&r, m);
	if (ipc_get_u32(&r, op) == -1 || *op < Q_OP_DELETE ||
	    *op > Q_OP_FLUSH || get_ids(&r, ids) == -1)
		return -1;
	if (ipc_reader_end(&r) == -1) {
		proto_q_ctl_ids_free(ids);
		return -1;
	}
	return 0;
}

int
proto_enc_q_ctl_done(struct ipc_msg *m, uint32_t ndone,
    const struct q_ctl_ids *missing)
{
	if (ipc_put_u32(m, ndone) == -1)
		return -1;
	return put_ids(m, missing);
}

int
proto_dec_q_ctl_done(const struct ipc_msg *m, uint32_t *ndone,
    struct q_ctl_ids *missing)
{
	struct ipc_reader r;

	missing->n = 0;
	missing->id = NULL;
	ipc_reader_init(&r, m);
	if (ipc_get_u32(&r, ndone) == -1 || get_ids(&r, missing) == -1)
		return -1;
	if (ipc_reader_end(&r) == -1) {
		proto_q_ctl_ids_free(missing);
		return -1;
	}
	return 0;
}

int
proto_enc_r_check(struct ipc_msg *m, const char *addr)
{
	return ipc_put_str(m, addr);
}

int
proto_dec_r_check(const struct ipc_msg *m, char *addr, size_t sz)
{
	struct ipc_reader r;

	ipc_reader_init(&r, m);
	ipc_get_str(&r, addr, sz);
	return ipc_reader_end(&r);
}

int
proto_enc_r_check_reply(struct ipc_msg *m, uint32_t verdict, const char *text)
{
	return proto_enc_q_err(m, verdict, text);
}

int
proto_dec_r_check_reply(const struct ipc_msg *m, uint32_t *verdict,
    char *text, size_t sz)
{
	struct ipc_reader r;

	ipc_reader_init(&r, m);
	ipc_get_u32(&r, verdict);
	ipc_get_str(&r, text, sz);
	if (ipc_reader_end(&r) == -1 || *verdict > R_TEMPFAIL)
		return -1;
	return 0;
}

int
proto_enc_r_expand(struct ipc_msg *m, const char *addr)
{
	return ipc_put_str(m, addr);
}

int
proto_dec_r_expand(const struct ipc_msg *m, char *addr, size_t sz)
{
	return proto_dec_r_check(m, addr, sz);
}

int
proto_enc_r_expansion(struct ipc_msg *m, const struct r_expansion *x)
{
	uint32_t i;

	if (proto_enc_q_err(m, x->status, x->text) == -1 ||
	    ipc_put_u32(m, x->n) == -1)
		return -1;
	for (i = 0; i < x->n; i++)
		if (ipc_put_u32(m, x->t[i].kind) == -1 ||
		    ipc_put_str(m, x->t[i].addr) == -1 ||
		    ipc_put_str(m, x->t[i].detail) == -1)
			return -1;
	return 0;
}

void
proto_r_expansion_free(struct r_expansion *x)
{
	free(x->t);
	x->t = NULL;
	x->n = 0;
}

int
proto_dec_r_expansion(const struct ipc_msg *m, struct r_expansion *x)
{
	struct ipc_reader	r;
	uint32_t		i;

	memset(x, 0, sizeof(*x));
	ipc_reader_init(&r, m);
	ipc_get_u32(&r, &x->status);
	ipc_get_str(&r, x->text, sizeof(x->text));
	if (ipc_get_u32(&r, &x->n) == -1 || x->n > R_EXPAND_MAX ||
	    x->status > ST_PERM)
		return -1;
	if (x->n > 0 && (x->t = calloc(x->n, sizeof(*x->t))) == NULL)
		return -1;
	for (i = 0; i < x->n; i++) {
		ipc_get_u32(&r, &x->t[i].kind);
		ipc_get_str(&r, x->t[i].addr, sizeof(x->t[i].addr));
		ipc_get_str(&r, x->t[i].detail, sizeof(x->t[i].detail));
		if (x->t[i].kind > R_KIND_COMMAND)
			r.failed = 1;
	}
	if (ipc_reader_end(&r) == -1) {
		proto_r_expansion_free(x);
		return -1;
	}
	return 0;
}

int
proto_enc_a_auth(struct ipc_msg *m, const struct a_auth *a)
{
	return (ipc_put_str(m, a->proto) == -1 ||
	    ipc_put_str(m, a->client) == -1 ||
	    ipc_put_str(m, a->user) == -1 ||
	    ipc_put_str(m, a->password) == -1) ? -1 : 0;
}

int
proto_dec_a_auth(const struct ipc_msg *m, struct a_auth *a)
{
	struct ipc_reader r;

	ipc_reader_init(&r, m);
	ipc_get_str(&r, a->proto, sizeof(a->proto));
	ipc_get_str(&r, a->client, sizeof(a->client));
	ipc_get_str(&r, a->user, sizeof(a->user));
	ipc_get_str(&r, a->password, sizeof(a->password));
	return ipc_reader_end(&r);
}

int
proto_enc_a_auth_reply(struct ipc_msg *m, const struct a_auth_reply *a)
{
	return (ipc_put_u32(m, a->verdict) == -1 ||
	    ipc_put_str(m, a->user) == -1) ? -1 : 0;
}

int
proto_dec_a_auth_reply(const struct ipc_msg *m, struct a_auth_reply *a)
{
	struct ipc_reader r;

	ipc_reader_init(&r, m);
	ipc_get_u32(&r, &a->verdict);
	ipc_get_str(&r, a->user, sizeof(a->user));
	if (ipc_reader_end(&r) == -1 || a->verdict > A_AUTH_LIMIT)
		return -1;
	return 0;
}

int
proto_enc_a_bind(struct ipc_msg *m, const struct a_bind *b)
{
	return (ipc_put_str(m, b->proto) == -1 ||
	    ipc_put_str(m, b->client) == -1) ? -1 : 0;
}

int
proto_dec_a_bind(const struct ipc_msg *m, struct a_bind *b)
{
	struct ipc_reader r;

	ipc_reader_init(&r, m);
	ipc_get_str(&r, b->proto, sizeof(b->proto));
	ipc_get_str(&r, b->client, sizeof(b->client));
	return ipc_reader_end(&r);
}

int
proto_enc_a_rate(struct ipc_msg *m, const struct a_rate *a)
{
	return (ipc_put_u32(m, a->op) == -1 ||
	    ipc_put_u32(m, a->n) == -1) ? -1 : 0;
}

int
proto_dec_a_rate(const struct ipc_msg *m, struct a_rate *a)
{
	struct ipc_reader r;

	ipc_reader_init(&r, m);
	ipc_get_u32(&r, &a->op);
	ipc_get_u32(&r, &a->n);
	if (ipc_reader_end(&r) == -1 || a->op > A_RATE_SENT)
		return -1;
	return 0;
}

int
proto_enc_a_rate_reply(struct ipc_msg *m, const struct a_rate_reply *a)
{
	return (ipc_put_u32(m, a->verdict) == -1 ||
	    ipc_put_u32(m, a->which) == -1 ||
	    ipc_put_u32(m, a->used) == -1 ||
	    ipc_put_u32(m, a->limit) == -1) ? -1 : 0;
}

int
proto_dec_a_rate_reply(const struct ipc_msg *m, struct a_rate_reply *a)
{
	struct ipc_reader r;

	ipc_reader_init(&r, m);
	ipc_get_u32(&r, &a->verdict);
	ipc_get_u32(&r, &a->which);
	ipc_get_u32(&r, &a->used);
	ipc_get_u32(&r, &a->limit);
	if (ipc_reader_end(&r) == -1 || a->verdict > A_RATE_TEMPFAIL ||
	    a->which > A_RATE_RECIPIENTS)
		return -1;
	return 0;
}

int
proto_enc_a_rate_list(struct ipc_msg *m, const struct a_rate_list *l)
{
	uint32_t i;

	if (l->n > A_RATE_LIST_MAX || ipc_put_u32(m, l->messages_limit) == -1 ||
	    ipc_put_u32(m, l->recipients_limit) == -1 ||
	    ipc_put_u32(m, l->accounts) == -1 || ipc_put_u32(m, l->n) == -1)
		return -1;
	for (i = 0; i < l->n; i++)
		if (ipc_put_str(m, l->e[i].user) == -1 ||
		    ipc_put_u32(m, l->e[i].messages) == -1 ||
		    ipc_put_u32(m, l->e[i].recipients) == -1)
			return -1;
	return 0;
}

int
proto_dec_a_rate_list(const struct ipc_msg *m, struct a_rate_list *l)
{
	struct ipc_reader	r;
	uint32_t		i;

	ipc_reader_init(&r, m);
	ipc_get_u32(&r, &l->messages_limit);
	ipc_get_u32(&r, &l->recipients_limit);
	ipc_get_u32(&r, &l->accounts);
	if (ipc_get_u32(&r, &l->n) == -1 || l->n > A_RATE_LIST_MAX)
		return -1;
	for (i = 0; i < l->n; i++) {
		ipc_get_str(&r, l->e[i].user, sizeof(l->e[i].user));
		ipc_get_u32(&r, &l->e[i].messages);
		ipc_get_u32(&r, &l->e[i].recipients);
	}
	return ipc_reader_end(&r);
}

int
proto_enc_r_owner(struct ipc_msg *m, const char *addr, const char *login)
{
	return (ipc_put_str(m, addr) == -1 ||
	    ipc_put_str(m, login) == -1) ? -1 : 0;
}

int
proto_dec_r_owner(const struct ipc_msg *m, char *addr, size_t addrsz,
    char *login, size_t loginsz)
{
	struct ipc_reader r;

	ipc_reader_init(&r, m);
	ipc_get_str(&r, addr, addrsz);
	ipc_get_str(&r, login, loginsz);
	return ipc_reader_end(&r);
}

int
proto_enc_r_owner_reply(struct ipc_msg *m, uint32_t verdict)
{
	return ipc_put_u32(m, verdict);
}

int
proto_dec_r_owner_reply(const struct ipc_msg *m, uint32_t *verdict)
{
	struct ipc_reader r;

	ipc_reader_init(&r, m);
	ipc_get_u32(&r, verdict);
	if (ipc_reader_end(&r) == -1 || *verdict > R_OWNER_TEMPFAIL)
		return -1;
	return 0;
}

int
proto_enc_d_hello(struct ipc_msg *m, uint32_t transport)
{
	return ipc_put_u32(m, transport);
}

int
proto_dec_d_hello(const struct ipc_msg *m, uint32_t *transport)
{
	struct ipc_reader r;

	ipc_reader_init(&r, m);
	ipc_get_u32(&r, transport);
	return ipc_reader_end(&r);
}

int
proto_enc_d_job(struct ipc_msg *m, const struct d_job *j, int fd)
{
	m->fd = fd;
	if (ipc_put_str(m, j->qid) == -1 || ipc_put_str(m, j->sender) == -1 ||
	    ipc_put_str(m, j->rcpt) == -1 || ipc_put_str(m, j->orcpt) == -1 ||
	    ipc_put_u64(m, j->offset) == -1 || ipc_put_u64(m, j->size) == -1 ||
	    ipc_put_u64(m, j->arrival_us) == -1 ||
	    ipc_put_u64(m, j->active_us) == -1 ||
	    ipc_put_u32(m, j->kind) == -1)
		return -1;
	return 0;
}

int
proto_dec_d_job(const struct ipc_msg *m, struct d_job *j)
{
	struct ipc_reader r;

	ipc_reader_init(&r, m);
	ipc_get_str(&r, j->qid, sizeof(j->qid));
	ipc_get_str(&r, j->sender, sizeof(j->sender));
	ipc_get_str(&r, j->rcpt, sizeof(j->rcpt));
	ipc_get_str(&r, j->orcpt, sizeof(j->orcpt));
	ipc_get_u64(&r, &j->offset);
	ipc_get_u64(&r, &j->size);
	ipc_get_u64(&r, &j->arrival_us);
	ipc_get_u64(&r, &j->active_us);
	ipc_get_u32(&r, &j->kind);
	if (ipc_reader_end(&r) == -1 || m->fd == -1 || !qid_valid(j->qid) ||
	    (j->kind != R_KIND_MAILBOX && j->kind != R_KIND_COMMAND) ||
	    (j->kind == R_KIND_COMMAND && j->rcpt[0] != '|') ||
	    j->offset > INT64_MAX || j->size > INT64_MAX - j->offset ||
	    j->arrival_us > INT64_MAX || j->active_us > INT64_MAX)
		return -1;
	return 0;
}

int
proto_enc_d_result(struct ipc_msg *m, const struct d_result *d)
{
	return proto_enc_q_err(m, d->status, d->text);
}

int
proto_dec_d_result(const struct ipc_msg *m, struct d_result *d)
{
	struct q_err e;

	if (proto_dec_q_err(m, &e) == -1 || e.status > ST_PERM)
		return -1;
	d->status = e.status;
	memcpy(d->text, e.text, sizeof(d->text));
	return 0;
}

int
proto_enc_d_rjob(struct ipc_msg *m, const struct d_rjob *j, int fd)
{
	uint32_t i;

	m->fd = fd;
	if (ipc_put_str(m, j->qid) == -1 || ipc_put_str(m, j->sender) == -1 ||
	    ipc_put_str(m, j->nexthop) == -1 ||
	    ipc_put_u64(m, j->offset) == -1 || ipc_put_u64(m, j->size) == -1 ||
	    ipc_put_u64(m, j->arrival_us) == -1 ||
	    ipc_put_u64(m, j->active_us) == -1 ||
	    ipc_put_u32(m, j->flags) == -1 || ipc_put_u32(m, j->ret) == -1 ||
	    ipc_put_str(m, j->envid) == -1 || ipc_put_u32(m, j->nrcpt) == -1)
		return -1;
	for (i = 0; i < j->nrcpt; i++)
		if (ipc_put_str(m, j->rcpt[i].addr) == -1 ||
		    ipc_put_str(m, j->rcpt[i].orcpt) == -1 ||
		    ipc_put_str(m, j->rcpt[i].dsn_orcpt) == -1 ||
		    ipc_put_u32(m, j->rcpt[i].notify) == -1)
			return -1;
	return 0;
}

void
proto_d_rjob_free(struct d_rjob *j)
{
	free(j->rcpt);
	j->rcpt = NULL;
	j->nrcpt = 0;
}

int
proto_dec_d_rjob(const struct ipc_msg *m, struct d_rjob *j)
{
	struct ipc_reader	r;
	uint32_t		i;

	memset(j, 0, sizeof(*j));
	ipc_reader_init(&r, m);
	ipc_get_str(&r, j->qid, sizeof(j->qid));
	ipc_get_str(&r, j->sender, sizeof(j->sender));
	ipc_get_str(&r, j->nexthop, sizeof(j->nexthop));
	ipc_get_u64(&r, &j->offset);
	ipc_get_u64(&r, &j->size);
	ipc_get_u64(&r, &j->arrival_us);
	ipc_get_u64(&r, &j->active_us);
	ipc_get_u32(&r, &j->flags);
	ipc_get_u32(&r, &j->ret);
	ipc_get_str(&r, j->envid, sizeof(j->envid));
	if (ipc_get_u32(&r, &j->nrcpt) == -1 || j->nrcpt == 0 ||
	    j->nrcpt > D_RJOB_RCPT_MAX)
		return -1;
	if ((j->rcpt = calloc(j->nrcpt, sizeof(*j->rcpt))) == NULL)
		return -1;
	for (i = 0; i < j->nrcpt; i++) {
		ipc_get_str(&r, j->rcpt[i].addr, sizeof(j->rcpt[i].addr));
		ipc_get_str(&r, j->rcpt[i].orcpt, sizeof(j->rcpt[i].orcpt));
		ipc_get_str(&r, j->rcpt[i].dsn_orcpt,
		    sizeof(j->rcpt[i].dsn_orcpt));
		ipc_get_u32(&r, &j->rcpt[i].notify);
		if (j->rcpt[i].addr[0] == '\0' || j->rcpt[i].notify > 0xf)
			r.failed = 1;
	}
	if (ipc_reader_end(&r) == -1 || m->fd == -1 || !qid_valid(j->qid) ||
	    j->nexthop[0] == '\0' ||
	    (j->flags & ~(uint32_t)(D_RJOB_8BITMIME | D_RJOB_SMTPUTF8)) != 0 ||
	    j->ret > 2 || j->offset > INT64_MAX ||
	    j->size > INT64_MAX - j->offset ||
	    j->arrival_us > INT64_MAX || j->active_us > INT64_MAX) {
		proto_d_rjob_free(j);
		return -1;
	}
	return 0;
}

int
proto_enc_d_rresult(struct ipc_msg *m, const struct d_rresult *d)
{
	uint32_t i;

	if (ipc_put_u32(m, d->nrcpt) == -1)
		return -1;
	for (i = 0; i < d->nrcpt; i++)
		if (ipc_put_u32(m, d->r[i].status) == -1 ||
		    ipc_put_str(m, d->r[i].text) == -1 ||
		    ipc_put_str(m, d->r[i].mta) == -1 ||
		    ipc_put_str(m, d->r[i].diag) == -1)
			return -1;
	return 0;
}

void
proto_d_rresult_free(struct d_rresult *d)
{
	free(d->r);
	d->r = NULL;
	d->nrcpt = 0;
}

int
proto_dec_d_rresult(const struct ipc_msg *m, struct d_rresult *d)
{
	struct ipc_reader	r;
	uint32_t		i;

	memset(d, 0, sizeof(*d));
	ipc_reader_init(&r, m);
	if (ipc_get_u32(&r, &d->nrcpt) == -1 || d->nrcpt == 0 ||
	    d->nrcpt > D_RJOB_RCPT_MAX)
		return -1;
	if ((d->r = calloc(d->nrcpt, sizeof(*d->r))) == NULL)
		return -1;
	for (i = 0; i < d->nrcpt; i++) {
		ipc_get_u32(&r, &d->r[i].status);
		ipc_get_str(&r, d->r[i].text, sizeof(d->r[i].text));
		ipc_get_str(&r, d->r[i].mta, sizeof(d->r[i].mta));
		ipc_get_str(&r, d->r[i].diag, sizeof(d->r[i].diag));
		if (d->r[i].status > ST_PERM)
			r.failed = 1;
	}
	if (ipc_reader_end(&r) == -1) {
		proto_d_rresult_free(d);
		return -1;
	}
	return 0;
}

int
proto_hostname_ok(const char *s)
{
	size_t		n = 0, label = 0;
	unsigned char	c;

	for (; (c = (unsigned char)*s) != '\0'; s++, n++) {
		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_') ||
		    ++label > 63)
			return 0;
	}
	return n > 0 && n <= R_HOST_MAX;
}

int
proto_enc_r_route(struct ipc_msg *m, const char *domain)
{
	if (!proto_hostname_ok(domain))
		return -1;
	return ipc_put_str(m, domain);
}

int
proto_dec_r_route(const struct ipc_msg *m, char domain[R_HOST_MAX + 1])
{
	struct ipc_reader r;

	ipc_reader_init(&r, m);
	ipc_get_str(&r, domain, R_HOST_MAX + 1);
	if (ipc_reader_end(&r) == -1 || m->fd != -1 ||
	    !proto_hostname_ok(domain))
		return -1;
	return 0;
}

/* An address as 1 (IPv4) or 4 (IPv6) words of its bytes, as they lie. */
static size_t
hop_words(uint32_t family)
{
	return family == 4 ? 1 : family == 6 ? 4 : 0;
}

int
proto_enc_r_route_reply(struct ipc_msg *m, const struct r_route *rt)
{
	uint32_t	i, w;
	size_t		k;

	if (rt->status > ST_PERM || rt->n > R_ROUTE_HOPS_MAX ||
	    (rt->status == ST_OK) != (rt->n > 0) ||
	    !str_fits(rt->dsn, sizeof(rt->dsn)) ||
	    !str_fits(rt->text, PROTO_TEXT_MAX) ||
	    ipc_put_u32(m, rt->status) == -1 || ipc_put_str(m, rt->dsn) == -1 ||
	    ipc_put_str(m, rt->text) == -1 ||
	    ipc_put_u32(m, rt->implicit) == -1 || ipc_put_u32(m, rt->n) == -1)
		return -1;
	for (i = 0; i < rt->n; i++) {
		const struct r_hop *h = &rt->hop[i];

		if (!proto_hostname_ok(h->host) || h->pref > 0xffff ||
		    hop_words(h->family) == 0 ||
		    ipc_put_str(m, h->host) == -1 ||
		    ipc_put_u32(m, h->pref) == -1 ||
		    ipc_put_u32(m, h->family) == -1)
			return -1;
		for (k = 0; k < hop_words(h->family); k++) {
			memcpy(&w, h->addr + 4 * k, 4);
			if (ipc_put_u32(m, w) == -1)
				return -1;
		}
		if (h->dane > R_DANE_FAIL || h->ntlsa > R_TLSA_MAX ||
		    (h->dane == R_DANE_TLSA) != (h->ntlsa > 0) ||
		    ipc_put_u32(m, h->dane) == -1 ||
		    ipc_put_u32(m, h->ntlsa) == -1)
			return -1;
		for (k = 0; k < h->ntlsa; k++) {
			const struct r_tlsa *t = &h->tlsa[k];

			if (t->usage > 255 || t->selector > 255 ||
			    t->mtype > 255 || t->len > R_TLSA_DATA_MAX ||
			    ipc_put_u32(m, t->usage | t->selector << 8 |
			    t->mtype << 16) == -1 ||
			    ipc_put_bytes(m, t->data, t->len) == -1)
				return -1;
		}
	}
	return 0;
}

int
proto_dec_r_route_reply(const struct ipc_msg *m, struct r_route *rt)
{
	struct ipc_reader	r;
	uint32_t		i, w;
	size_t			k;

	memset(rt, 0, sizeof(*rt));
	ipc_reader_init(&r, m);
	ipc_get_u32(&r, &rt->status);
	ipc_get_str(&r, rt->dsn, sizeof(rt->dsn));
	ipc_get_str(&r, rt->text, sizeof(rt->text));
	ipc_get_u32(&r, &rt->implicit);
	if (ipc_get_u32(&r, &rt->n) == -1 || rt->n > R_ROUTE_HOPS_MAX ||
	    rt->status > ST_PERM || rt->implicit > 1 ||
	    (rt->status == ST_OK) != (rt->n > 0))
		return -1;
	for (i = 0; i < rt->n; i++) {
		struct r_hop *h = &rt->hop[i];

		ipc_get_str(&r, h->host, sizeof(h->host));
		ipc_get_u32(&r, &h->pref);
		if (ipc_get_u32(&r, &h->family) == -1 ||
		    hop_words(h->family) == 0 || h->pref > 0xffff ||
		    !proto_hostname_ok(h->host))
			return -1;
		for (k = 0; k < hop_words(h->family); k++) {
			if (ipc_get_u32(&r, &w) == -1)
				return -1;
			memcpy(h->addr + 4 * k, &w, 4);
		}
		ipc_get_u32(&r, &h->dane);
		if (ipc_get_u32(&r, &h->ntlsa) == -1 ||
		    h->dane > R_DANE_FAIL || h->ntlsa > R_TLSA_MAX ||
		    (h->dane == R_DANE_TLSA) != (h->ntlsa > 0))
			return -1;
		for (k = 0; k < h->ntlsa; k++) {
			struct r_tlsa	*t = &h->tlsa[k];
			size_t		 n;

			if (ipc_get_u32(&r, &w) == -1 || w > 0xffffff ||
			    ipc_get_bytes(&r, t->data, sizeof(t->data),
			    &n) == -1)
				return -1;
			t->usage = w & 0xff;
			t->selector = (w >> 8) & 0xff;
			t->mtype = w >> 16;
			t->len = (uint32_t)n;
		}
	}
	return ipc_reader_end(&r) == -1 || m->fd != -1 ? -1 : 0;
}
