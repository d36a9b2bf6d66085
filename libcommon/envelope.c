/*
 * envelope.c - reading and writing queue envelope records.
 *
 * Runs in queued (read-write) and the CLI (read-only). A record is one
 * "key value" line per field, recipients one line each with tab-separated
 * fields, closed by "end". Values are escaped (\xHH for control bytes,
 * tab, backslash and DEL) so that text chosen by a remote server, such as
 * a failure reason, can never start a line of its own: that is the class
 * of bug behind CVE-2020-8794.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	}
	free(e->rcpt);
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
	memmove(&e->rcpt[i], &e->rcpt[i + 1],
	    (e->nrcpt - i - 1) * sizeof(e->rcpt[0]));
	e->nrcpt--;
}

int
env_set_reason(struct env_rcpt *r, const char *why)
{
	char *n = NULL;

	if (why != NULL && (n = strdup(why)) == NULL)
		return -1;
	free(r->reason);
	r->reason = n;
	return 0;
}

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
	if (e->held > 0 && buf_printf(b, "held %" PRId64 "\n", e->held) == -1)
		return -1;
	if (e->requeued > 0 &&
	    buf_printf(b, "requeued %" PRId64 "\n", e->requeued) == -1)
		return -1;
	for (i = 0; i < e->nrcpt; i++) {
		const struct env_rcpt *r = &e->rcpt[i];

		if (buf_puts(b, "rcpt ") == -1 || put_escaped(b, r->addr) == -1 ||
		    buf_puts(b, "\t") == -1 || put_escaped(b, r->orcpt) == -1 ||
		    buf_printf(b, "\t%s\t%" PRIu32 "\t%" PRId64 "\t%d\t",
		    env_state_name(r->state), r->tries, r->next_try,
		    r->final) == -1 ||
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

static int
parse_rcpt(struct envelope *e, const char *v, size_t vlen)
{
	const char	*f[7];
	size_t		 fl[7], n = 0, i;
	const char	*p = v, *end = v + vlen;
	struct env_rcpt	*r;
	int64_t		 x;
	char		*addr, *orcpt;

	while (n < 7) {
		const char *t = memchr(p, '\t', (size_t)(end - p));
		f[n] = p;
		fl[n] = t ? (size_t)(t - p) : (size_t)(end - p);
		n++;
		if (t == NULL)
			break;
		p = t + 1;
	}
	/* The reason is the last field: a tab after it is an eighth field. */
	if (n != 7 || memchr(f[6], '\t', (size_t)(end - f[6])) != NULL)
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
	if (fl[6] > 0 && (r->reason = unescape(f[6], fl[6])) == NULL)
		return -1;
	return 0;
}

int
env_parse(const char *text, size_t len, struct envelope *e, char *err,
    size_t errlen)
{
	static const char *singles[] = { "version", "id", "created", "sender",
	    "origin", "client", "helo", "bounce", "held", "requeued" };
	unsigned	 seen = 0;
	const char	*p = text, *end = text + len;
	int		 lineno = 0, ended = 0;
	size_t		 i;

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
		if (nl == NULL) {
			snprintf(err, errlen, "line %d: unterminated", lineno);
			goto fail;
		}
		if (ended) {
			snprintf(err, errlen, "line %d: data after end", lineno);
			goto fail;
		}
		ll = (size_t)(nl - p);
		if (ll == 3 && memcmp(p, "end", 3) == 0) {
			ended = 1;
			p = nl + 1;
			continue;
		}
		if ((sp = memchr(p, ' ', ll)) == NULL) {
			snprintf(err, errlen, "line %d: no value", lineno);
			goto fail;
		}
		kl = (size_t)(sp - p);
		v = sp + 1;
		vlen = ll - kl - 1;

		if (kl == 4 && memcmp(p, "rcpt", 4) == 0) {
			if (parse_rcpt(e, v, vlen) == -1) {
				snprintf(err, errlen, "line %d: bad recipient",
				    lineno);
				goto fail;
			}
			p = nl + 1;
			continue;
		}
		for (i = 0; i < sizeof(singles) / sizeof(singles[0]); i++)
			if (strlen(singles[i]) == kl &&
			    memcmp(singles[i], p, kl) == 0)
				break;
		if (i == sizeof(singles) / sizeof(singles[0])) {
			snprintf(err, errlen, "line %d: unknown key", lineno);
			goto fail;
		}
		if (seen & (1u << i)) {
			snprintf(err, errlen, "line %d: repeated key %s",
			    lineno, singles[i]);
			goto fail;
		}
		seen |= 1u << i;
		switch (i) {
		case 0: {
			int64_t ver;
			if (parse_i64(v, vlen, &ver, 1, 1000) == -1 ||
			    ver != ENV_VERSION) {
				snprintf(err, errlen, "line %d: unsupported "
				    "version", lineno);
				goto fail;
			}
			break;
		}
		case 1:
			if (vlen != QID_LEN) {
				snprintf(err, errlen, "line %d: bad id", lineno);
				goto fail;
			}
			memcpy(e->id, v, QID_LEN);
			e->id[QID_LEN] = '\0';
			if (!qid_valid(e->id)) {
				snprintf(err, errlen, "line %d: bad id", lineno);
				goto fail;
			}
			break;
		case 2:
			if (parse_i64(v, vlen, &e->created, 0, INT64_MAX) == -1) {
				snprintf(err, errlen, "line %d: bad time",
				    lineno);
				goto fail;
			}
			break;
		case 8:
		case 9:
			/* Optional; a 0 is never written, so it is refused. */
			if (parse_i64(v, vlen, i == 8 ? &e->held : &e->requeued,
			    1, INT64_MAX) == -1) {
				snprintf(err, errlen, "line %d: bad time",
				    lineno);
				goto fail;
			}
			break;
		case 7: {
			int64_t b;
			if (parse_i64(v, vlen, &b, 0, 1) == -1) {
				snprintf(err, errlen, "line %d: bad flag",
				    lineno);
				goto fail;
			}
			e->is_bounce = (int)b;
			break;
		}
		default:
			dst = i == 3 ? &e->sender : i == 4 ? &e->origin :
			    i == 5 ? &e->client : &e->helo;
			if ((*dst = unescape(v, vlen)) == NULL) {
				snprintf(err, errlen, "line %d: bad value",
				    lineno);
				goto fail;
			}
		}
		p = nl + 1;
	}
	if (!ended) {
		snprintf(err, errlen, "no end marker (truncated)");
		goto fail;
	}
	/* The first eight keys are required; held and requeued are not. */
	if ((seen & 0xff) != 0xff) {
		snprintf(err, errlen, "a required key is missing");
		goto fail;
	}
	return 0;
fail:
	env_free(e);
	return -1;
}
