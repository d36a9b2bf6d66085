/*
 * envelope.c - reading and writing queue envelope records.
 *
 * Runs in queued (read-write) and the CLI (read-only). A record is one
 * "key value" line per field, recipients one line each with tab-separated
 * fields, closed by "end". Values are escaped (\xHH for control bytes,
 * tab, backslash and DEL) so that text chosen by a remote server, such as
 * a failure reason, can never start a line of its own: that is the class
 * of bug behind CVE-2020-8794.
 *
 * Version 2 adds the header keys body, smtputf8, ret (always written) and
 * envid, auth (written when set), and five recipient fields between final
 * and reason: notify, dsn_sent, dsn_orcpt, mta, diag (12 fields in all).
 * A record's first line is its version, so the parser knows the recipient
 * format before the first recipient; a version 1 record (7 fields, no v2
 * keys) still reads, its new fields at their defaults.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "envelope.h"

void
env_init(struct envelope *e)
{
	memset(e, 0, sizeof(*e));
}

void
env_free(struct envelope *e)
{
	size_t i;

	for (i = 0; i < e->nrcpt; i++) {
		free(e->rcpt[i].addr);
		free(e->rcpt[i].orcpt);
		free(e->rcpt[i].reason);
		free(e->rcpt[i].dsn_orcpt);
		free(e->rcpt[i].mta);
		free(e->rcpt[i].diag);
	}
	free(e->rcpt);
	free(e->envid);
	free(e->auth);
	free(e->sender);
	free(e->origin);
	free(e->client);
	free(e->helo);
	env_init(e);
}

int
env_add_rcpt(struct envelope *e, const char *addr, const char *orcpt, int final)
{
	struct env_rcpt *nr, *r;

	if ((nr = reallocarray(e->rcpt, e->nrcpt + 1, sizeof(*nr))) == NULL)
		return -1;
	e->rcpt = nr;
	r = &e->rcpt[e->nrcpt];
	memset(r, 0, sizeof(*r));
	r->addr = strdup(addr);
	r->orcpt = strdup(orcpt ? orcpt : addr);
	if (r->addr == NULL || r->orcpt == NULL) {
		free(r->addr);
		free(r->orcpt);
		return -1;
	}
	r->final = final;
	r->state = RCPT_PENDING;
	e->nrcpt++;
	return 0;
}

void
env_del_rcpt(struct envelope *e, size_t i)
{
	free(e->rcpt[i].addr);
	free(e->rcpt[i].orcpt);
	free(e->rcpt[i].reason);
	free(e->rcpt[i].dsn_orcpt);
	free(e->rcpt[i].mta);
	free(e->rcpt[i].diag);
	memmove(&e->rcpt[i], &e->rcpt[i + 1],
	    (e->nrcpt - i - 1) * sizeof(e->rcpt[0]));
	e->nrcpt--;
}

int
env_set_str(char **dst, const char *s)
{
	char *n = NULL;

	if (s != NULL && (n = strdup(s)) == NULL)
		return -1;
	free(*dst);
	*dst = n;
	return 0;
}

int
env_set_reason(struct env_rcpt *r, const char *why)
{
	return env_set_str(&r->reason, why);
}

static const char *notify_words[] = { "never", "success", "failure", "delay" };
#define NNOTIFY (sizeof(notify_words) / sizeof(notify_words[0]))

void
env_notify_str(unsigned notify, char *out, size_t outlen)
{
	size_t i;

	if (outlen == 0)
		return;
	out[0] = '\0';
	for (i = 0; i < NNOTIFY; i++) {
		if (!(notify & (1u << i)))
			continue;
		if (out[0] != '\0')
			strlcat(out, ",", outlen);
		strlcat(out, notify_words[i], outlen);
	}
}

int
env_notify_parse(const char *s, size_t len, unsigned *out)
{
	const char	*p = s, *end = s + len;
	unsigned	 v = 0;
	size_t		 i;

	if (len == 0)
		return -1;
	while (p <= end) {
		const char	*c = memchr(p, ',', (size_t)(end - p));
		size_t		 wl = c ? (size_t)(c - p) : (size_t)(end - p);

		for (i = 0; i < NNOTIFY; i++)
			if (strlen(notify_words[i]) == wl &&
			    strncasecmp(notify_words[i], p, wl) == 0)
				break;
		if (i == NNOTIFY || (v & (1u << i)))
			return -1;
		v |= 1u << i;
		if (c == NULL)
			break;
		p = c + 1;
	}
	if ((v & ENV_NOTIFY_NEVER) && v != ENV_NOTIFY_NEVER)
		return -1;
	*out = v;
	return 0;
}

static const char *body_names[] = { "7bit", "8bitmime" };
static const char *ret_names[] = { "none", "full", "hdrs" };

static const char *state_names[] = { "pending", "deferred", "done", "failed",
    "bounced" };
#define NSTATES (sizeof(state_names) / sizeof(state_names[0]))

const char *
env_state_name(enum rcpt_state s)
{
	return (unsigned)s < NSTATES ? state_names[s] : "?";
}

int
env_all_final(const struct envelope *e)
{
	size_t i;

	for (i = 0; i < e->nrcpt; i++)
		if (e->rcpt[i].state == RCPT_PENDING ||
		    e->rcpt[i].state == RCPT_DEFERRED)
			return 0;
	return 1;
}

static int
put_escaped(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		int rc;

		if (c < 0x20 || c == 0x7f || c == '\\')
			rc = buf_printf(b, "\\x%02x", c);
		else
			rc = buf_append(b, s, 1);
		if (rc == -1)
			return -1;
	}
	return 0;
}

static int
put_kv(struct buf *b, const char *k, const char *v)
{
	if (buf_printf(b, "%s ", k) == -1 || put_escaped(b, v ? v : "") == -1)
		return -1;
	return buf_puts(b, "\n");
}

int
env_write(const struct envelope *e, struct buf *b)
{
	size_t i;

	if (buf_printf(b, "version %d\n", ENV_VERSION) == -1 ||
	    put_kv(b, "id", e->id) == -1 ||
	    buf_printf(b, "created %" PRId64 "\n", e->created) == -1 ||
	    put_kv(b, "sender", e->sender) == -1 ||
	    put_kv(b, "origin", e->origin) == -1 ||
	    put_kv(b, "client", e->client) == -1 ||
	    put_kv(b, "helo", e->helo) == -1 ||
	    buf_printf(b, "bounce %d\n", e->is_bounce ? 1 : 0) == -1)
		return -1;
	if (buf_printf(b, "body %s\nsmtputf8 %d\nret %s\n",
	    body_names[e->body == ENV_BODY_8BITMIME],
	    e->smtputf8 ? 1 : 0,
	    ret_names[e->ret == ENV_RET_FULL ? 1 : e->ret == ENV_RET_HDRS ?
	    2 : 0]) == -1)
		return -1;
	if (e->envid != NULL && put_kv(b, "envid", e->envid) == -1)
		return -1;
	if (e->auth != NULL && put_kv(b, "auth", e->auth) == -1)
		return -1;
	if (e->held > 0 && buf_printf(b, "held %" PRId64 "\n", e->held) == -1)
		return -1;
	if (e->requeued > 0 &&
	    buf_printf(b, "requeued %" PRId64 "\n", e->requeued) == -1)
		return -1;
	for (i = 0; i < e->nrcpt; i++) {
		const struct env_rcpt *r = &e->rcpt[i];
		char notify[ENV_NOTIFY_STRLEN];

		env_notify_str(r->notify & ENV_NOTIFY_MASK, notify,
		    sizeof(notify));
		if (buf_puts(b, "rcpt ") == -1 || put_escaped(b, r->addr) == -1 ||
		    buf_puts(b, "\t") == -1 || put_escaped(b, r->orcpt) == -1 ||
		    buf_printf(b, "\t%s\t%" PRIu32 "\t%" PRId64 "\t%d\t%s\t%u\t",
		    env_state_name(r->state), r->tries, r->next_try,
		    r->final, notify, r->dsn_sent & ENV_DSN_SENT_MASK) == -1 ||
		    put_escaped(b, r->dsn_orcpt ? r->dsn_orcpt : "") == -1 ||
		    buf_puts(b, "\t") == -1 ||
		    put_escaped(b, r->mta ? r->mta : "") == -1 ||
		    buf_puts(b, "\t") == -1 ||
		    put_escaped(b, r->diag ? r->diag : "") == -1 ||
		    buf_puts(b, "\t") == -1 ||
		    put_escaped(b, r->reason ? r->reason : "") == -1 ||
		    buf_puts(b, "\n") == -1)
			return -1;
	}
	return buf_puts(b, "end\n");
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return (c | 0x20) - 'a' + 10;
}

/* Unescapes s[0..len) into a new string; -1 on a malformed escape. */
static char *
unescape(const char *s, size_t len)
{
	char	*out, *o;
	size_t	 i;

	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0, o = out; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f) {
			free(out);
			return NULL;
		}
		if (c == '\\') {
			unsigned v;
			if (i + 3 >= len || s[i + 1] != 'x' ||
			    !isxdigit((unsigned char)s[i + 2]) ||
			    !isxdigit((unsigned char)s[i + 3]))
				goto bad;
			/* Not sscanf: it would look for a NUL past len. */
			v = (unsigned)hexval(s[i + 2]) << 4 |
			    (unsigned)hexval(s[i + 3]);
			if (v == 0)
				goto bad;	/* no NUL inside values */
			*o++ = (char)v;
			i += 3;
			continue;
		}
		*o++ = (char)c;
	}
	*o = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

static int
parse_i64(const char *s, size_t len, int64_t *out, int64_t min, int64_t max)
{
	char	 tmp[32], *end;
	long long v;

	/* A NUL would end the copy early and hide the bytes after it. */
	if (len == 0 || len >= sizeof(tmp) || memchr(s, '\0', len) != NULL)
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	errno = 0;
	v = strtoll(tmp, &end, 10);
	if (errno || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* An optional text field: empty is NULL. */
static int
opt_field(const char *s, size_t len, char **out)
{
	if (len == 0)
		return 0;
	return (*out = unescape(s, len)) == NULL ? -1 : 0;
}

#define RCPT_FIELDS_V1	7
#define RCPT_FIELDS_V2	12

static int
parse_rcpt(struct envelope *e, int version, const char *v, size_t vlen)
{
	const char	*f[RCPT_FIELDS_V2];
	size_t		 fl[RCPT_FIELDS_V2], n = 0, want, i;
	const char	*p = v, *end = v + vlen;
	struct env_rcpt	*r;
	int64_t		 x;
	char		*addr, *orcpt, notify[ENV_NOTIFY_STRLEN];

	want = version == 1 ? RCPT_FIELDS_V1 : RCPT_FIELDS_V2;
	while (n < want) {
		const char *t = memchr(p, '\t', (size_t)(end - p));
		f[n] = p;
		fl[n] = t ? (size_t)(t - p) : (size_t)(end - p);
		n++;
		if (t == NULL)
			break;
		p = t + 1;
	}
	/* The reason is the last field: a tab after it is one field too many. */
	if (n != want || memchr(f[n - 1], '\t', (size_t)(end - f[n - 1])) != NULL)
		return -1;
	if ((addr = unescape(f[0], fl[0])) == NULL)
		return -1;
	if ((orcpt = unescape(f[1], fl[1])) == NULL) {
		free(addr);
		return -1;
	}
	if (env_add_rcpt(e, addr, orcpt, 0) == -1) {
		free(addr);
		free(orcpt);
		return -1;
	}
	free(addr);
	free(orcpt);
	r = &e->rcpt[e->nrcpt - 1];
	for (i = 0; i < NSTATES; i++)
		if (fl[2] == strlen(state_names[i]) &&
		    memcmp(f[2], state_names[i], fl[2]) == 0)
			break;
	if (i == NSTATES)
		return -1;
	r->state = (enum rcpt_state)i;
	if (parse_i64(f[3], fl[3], &x, 0, UINT32_MAX) == -1)
		return -1;
	r->tries = (uint32_t)x;
	if (parse_i64(f[4], fl[4], &r->next_try, 0, INT64_MAX) == -1)
		return -1;
	if (parse_i64(f[5], fl[5], &x, 0, ENV_FINAL_COMMAND) == -1)
		return -1;
	r->final = (int)x;
	if (version >= 2) {
		/* Only the form the writer makes: one spelling per value. */
		if (fl[6] > 0) {
			if (env_notify_parse(f[6], fl[6], &r->notify) == -1)
				return -1;
			env_notify_str(r->notify, notify, sizeof(notify));
			if (strlen(notify) != fl[6] ||
			    memcmp(notify, f[6], fl[6]) != 0)
				return -1;
		}
		if (fl[7] != 1 || parse_i64(f[7], fl[7], &x, 0,
		    ENV_DSN_SENT_MASK) == -1)
			return -1;
		r->dsn_sent = (unsigned)x;
		if (opt_field(f[8], fl[8], &r->dsn_orcpt) == -1 ||
		    opt_field(f[9], fl[9], &r->mta) == -1 ||
		    opt_field(f[10], fl[10], &r->diag) == -1)
			return -1;
	}
	if (opt_field(f[n - 1], fl[n - 1], &r->reason) == -1)
		return -1;
	return 0;
}

/* Index of name in names[0..n), or -1; the whole value must match. */
static int
word_index(const char *v, size_t vlen, const char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(names[i]) == vlen && memcmp(names[i], v, vlen) == 0)
			return (int)i;
	return -1;
}

enum env_key {
	K_VERSION, K_ID, K_CREATED, K_SENDER, K_ORIGIN, K_CLIENT, K_HELO,
	K_BOUNCE, K_HELD, K_REQUEUED, K_BODY, K_SMTPUTF8, K_RET, K_ENVID,
	K_AUTH, K_NKEYS
};

static const struct {
	const char	*name;
	int		 since;		/* the first version that has it */
	int		 required;
} env_keys[K_NKEYS] = {
	[K_VERSION] = { "version", 1, 1 },
	[K_ID] = { "id", 1, 1 },
	[K_CREATED] = { "created", 1, 1 },
	[K_SENDER] = { "sender", 1, 1 },
	[K_ORIGIN] = { "origin", 1, 1 },
	[K_CLIENT] = { "client", 1, 1 },
	[K_HELO] = { "helo", 1, 1 },
	[K_BOUNCE] = { "bounce", 1, 1 },
	[K_HELD] = { "held", 1, 0 },
	[K_REQUEUED] = { "requeued", 1, 0 },
	[K_BODY] = { "body", 2, 1 },
	[K_SMTPUTF8] = { "smtputf8", 2, 1 },
	[K_RET] = { "ret", 2, 1 },
	[K_ENVID] = { "envid", 2, 0 },
	[K_AUTH] = { "auth", 2, 0 },
};

#define SETERR(...) do { snprintf(err, errlen, __VA_ARGS__); goto fail; } \
	while (0)

int
env_parse(const char *text, size_t len, struct envelope *e, char *err,
    size_t errlen)
{
	unsigned	 seen = 0;
	const char	*p = text, *end = text + len;
	int		 lineno = 0, ended = 0, version = 0, w;
	size_t		 i;
	int64_t		 x;

	env_init(e);
	if (len > ENV_MAX_SIZE) {
		snprintf(err, errlen, "envelope larger than %d bytes",
		    ENV_MAX_SIZE);
		return -1;
	}
	while (p < end) {
		const char	*nl = memchr(p, '\n', (size_t)(end - p));
		const char	*sp, *v;
		size_t		 ll, kl, vlen;
		char		**dst = NULL;

		lineno++;
		if (nl == NULL)
			SETERR("line %d: unterminated", lineno);
		if (ended)
			SETERR("line %d: data after end", lineno);
		ll = (size_t)(nl - p);
		/*
		 * The version comes first: it says which keys exist and how
		 * many fields a recipient line has.
		 */
		if (lineno == 1 && (ll < 8 || memcmp(p, "version ", 8) != 0))
			SETERR("line 1: the version must come first");
		if (ll == 3 && memcmp(p, "end", 3) == 0) {
			ended = 1;
			p = nl + 1;
			continue;
		}
		if ((sp = memchr(p, ' ', ll)) == NULL)
			SETERR("line %d: no value", lineno);
		kl = (size_t)(sp - p);
		v = sp + 1;
		vlen = ll - kl - 1;
		if (kl == 4 && memcmp(p, "rcpt", 4) == 0) {
			if (parse_rcpt(e, version, v, vlen) == -1)
				SETERR("line %d: bad recipient", lineno);
			p = nl + 1;
			continue;
		}
		for (i = 0; i < K_NKEYS; i++)
			if (strlen(env_keys[i].name) == kl &&
			    memcmp(env_keys[i].name, p, kl) == 0)
				break;
		if (i == K_NKEYS || (version > 0 && env_keys[i].since > version))
			SETERR("line %d: unknown key", lineno);
		if (seen & (1u << i))
			SETERR("line %d: repeated key %s", lineno,
			    env_keys[i].name);
		seen |= 1u << i;
		switch ((enum env_key)i) {
		case K_VERSION:
			if (parse_i64(v, vlen, &x, 1, 1000) == -1 ||
			    x > ENV_VERSION)
				SETERR("line %d: unsupported version", lineno);
			version = (int)x;
			break;
		case K_ID:
			if (vlen != QID_LEN)
				SETERR("line %d: bad id", lineno);
			memcpy(e->id, v, QID_LEN);
			e->id[QID_LEN] = '\0';
			if (!qid_valid(e->id))
				SETERR("line %d: bad id", lineno);
			break;
		case K_CREATED:
			if (parse_i64(v, vlen, &e->created, 0, INT64_MAX) == -1)
				SETERR("line %d: bad time", lineno);
			break;
		case K_HELD:
		case K_REQUEUED:
			/* Optional; a 0 is never written, so it is refused. */
			if (parse_i64(v, vlen, i == K_HELD ? &e->held :
			    &e->requeued, 1, INT64_MAX) == -1)
				SETERR("line %d: bad time", lineno);
			break;
		case K_BOUNCE:
		case K_SMTPUTF8:
			if (vlen != 1 || parse_i64(v, vlen, &x, 0, 1) == -1)
				SETERR("line %d: bad flag", lineno);
			*(i == K_BOUNCE ? &e->is_bounce : &e->smtputf8) = (int)x;
			break;
		case K_BODY:
			if ((w = word_index(v, vlen, body_names, 2)) == -1)
				SETERR("line %d: bad body type", lineno);
			e->body = w;
			break;
		case K_RET:
			if ((w = word_index(v, vlen, ret_names, 3)) == -1)
				SETERR("line %d: bad ret", lineno);
			e->ret = w;
			break;
		default:
			dst = i == K_SENDER ? &e->sender : i == K_ORIGIN ?
			    &e->origin : i == K_CLIENT ? &e->client :
			    i == K_HELO ? &e->helo : i == K_ENVID ? &e->envid :
			    &e->auth;
			if ((*dst = unescape(v, vlen)) == NULL)
				SETERR("line %d: bad value", lineno);
		}
		p = nl + 1;
	}
	if (!ended)
		SETERR("no end marker (truncated)");
	for (i = 0; i < K_NKEYS; i++)
		if (env_keys[i].required && env_keys[i].since <= version &&
		    !(seen & (1u << i)))
			SETERR("a required key is missing: %s",
			    env_keys[i].name);
	return 0;
fail:
	env_free(e);
	return -1;
}
