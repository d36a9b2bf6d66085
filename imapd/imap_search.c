/*
 * imap_search.c - a SEARCH program (RFC 3501 6.4.4 and 9, RFC 4731
 * RETURN, RFC 7162 MODSEQ, RFC 5032 OLDER/YOUNGER) read from the
 * tokenizer's arguments into a tree of keys, and the answer written
 * ("* SEARCH" or "* ESEARCH").
 *
 * Runs in imapd's mail process, as the mail user; the program is the
 * client's and may be hostile. Every key is checked against the grammar
 * here, once: a program that parses is one evaluation can trust (dates
 * valid, numbers in range, sets well formed, needles valid UTF-8 and
 * already case-folded). Size is bounded before anything is allocated
 * for a key (IMAP_SEARCH_KEYS), depth by IMAP_SEARCH_DEPTH, so that
 * "OR OR OR ... " or "NOT NOT ..." chains cannot exhaust the stack here
 * or in imap_search_match.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_body.h"
#include "imap_search_int.h"
#include "keywords.h"
#include "utf8.h"

struct sparse {
	struct imap_search	*s;
	char			*err;
	size_t			 errsz;
};

static int
bad(struct sparse *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
bad(struct sparse *p, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(p->err, p->errsz, fmt, ap);
	va_end(ap);
	return -1;
}

static void
node_free(struct imap_snode *n)
{
	struct imap_snode *next;

	/* Siblings iteratively (an AND may have thousands), kids by
	 * recursion (bounded by IMAP_SEARCH_DEPTH). */
	for (; n != NULL; n = next) {
		next = n->next;
		node_free(n->kids);
		free(n->str);
		free(n->text);
		free(n->set);
		imap_seqset_free(&n->rs);
		free(n);
	}
}

void
imap_search_free(struct imap_search *s)
{
	if (s == NULL)
		return;
	node_free(s->root);
	free(s);
}

static struct imap_snode *
node_new(struct sparse *p, enum imap_skind kind)
{
	struct imap_snode *n;

	if (p->s->nkeys >= IMAP_SEARCH_KEYS) {
		bad(p, "Search program too large (over %d keys)",
		    IMAP_SEARCH_KEYS);
		return NULL;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL) {
		bad(p, "Out of memory");
		return NULL;
	}
	p->s->nkeys++;
	n->kind = kind;
	return n;
}

/* A string argument (astring: atom, quoted or literal). */
static int
take_string(struct sparse *p, const struct imap_arg *a, const char *key,
    const char **s, size_t *len)
{
	if (a == NULL)
		return bad(p, "Missing argument to %s", key);
	if (a->type == IMAP_ARG_LIST || imap_arg_astring(a, s, len) == -1)
		return bad(p, "%s needs a string", key);
	return 0;
}

/* The folded needle of a text key: valid UTF-8 only (RFC 3501 6.4.4). */
static int
take_text(struct sparse *p, struct imap_snode *n, const struct imap_arg *a,
    const char *key)
{
	struct buf	 b;
	const char	*s;
	size_t		 len;

	if (take_string(p, a, key, &s, &len) == -1)
		return -1;
	if (!utf8_valid(s, len))
		return bad(p, "%s: the string is not valid UTF-8", key);
	buf_init(&b, 0);
	if (imap_search_fold(s, len, &b) == -1 || buf_cstr(&b) == -1) {
		buf_free(&b);
		return bad(p, "Out of memory");
	}
	n->text = b.data != NULL ? b.data : strdup("");
	n->textlen = b.len;
	if (n->text == NULL)
		return bad(p, "Out of memory");
	return 0;
}

static int
take_number(struct sparse *p, const struct imap_arg *a, const char *key,
    uint64_t *v)
{
	uint32_t u;

	if (a == NULL)
		return bad(p, "Missing argument to %s", key);
	if (imap_arg_number(a, &u) == -1)
		return bad(p, "%s needs a number (0 to 4294967295)", key);
	*v = u;
	return 0;
}

static int
take_date(struct sparse *p, const struct imap_arg *a, const char *key,
    time_t *t)
{
	if (a == NULL)
		return bad(p, "Missing argument to %s", key);
	if (imap_arg_date(a, t) == -1)
		return bad(p, "%s needs a date (d-Mon-yyyy)", key);
	return 0;
}

static int
take_set(struct sparse *p, struct imap_snode *n, const struct imap_arg *a,
    const char *key)
{
	const char	*s;
	size_t		 len;

	if (a == NULL)
		return bad(p, "Missing argument to %s", key);
	if (imap_arg_seqset(a, &s, &len) == -1)
		return bad(p, "Invalid sequence set in %s", key);
	/* Read once now so that a set too large is BAD here, not later. */
	if (imap_seqset_parse(&n->rs, s, len, UINT32_MAX,
	    IMAP_SEQSET_MAX) == -1)
		return bad(p, "Invalid sequence set in %s", key);
	n->rs_star = UINT32_MAX;
	n->rs_ok = 1;
	if ((n->set = strndup(s, len)) == NULL)
		return bad(p, "Out of memory");
	n->setlen = len;
	return 0;
}

static const struct {
	const char	*name;
	enum imap_skind	 kind;
	uint32_t	 flag;
} simple_keys[] = {
	{ "ALL", IMAP_SK_ALL, 0 },
	{ "ANSWERED", IMAP_SK_FLAG, KEYWORDS_REPLIED },
	{ "DELETED", IMAP_SK_FLAG, KEYWORDS_TRASHED },
	{ "DRAFT", IMAP_SK_FLAG, KEYWORDS_DRAFT },
	{ "FLAGGED", IMAP_SK_FLAG, KEYWORDS_FLAGGED },
	{ "SEEN", IMAP_SK_FLAG, KEYWORDS_SEEN },
	{ "UNANSWERED", IMAP_SK_UNFLAG, KEYWORDS_REPLIED },
	{ "UNDELETED", IMAP_SK_UNFLAG, KEYWORDS_TRASHED },
	{ "UNDRAFT", IMAP_SK_UNFLAG, KEYWORDS_DRAFT },
	{ "UNFLAGGED", IMAP_SK_UNFLAG, KEYWORDS_FLAGGED },
	{ "UNSEEN", IMAP_SK_UNFLAG, KEYWORDS_SEEN },
	{ "RECENT", IMAP_SK_RECENT, 0 },
};

static const struct {
	const char	*name;
	enum imap_skind	 kind;
} date_keys[] = {
	{ "BEFORE", IMAP_SK_BEFORE }, { "ON", IMAP_SK_ON },
	{ "SINCE", IMAP_SK_SINCE }, { "SENTBEFORE", IMAP_SK_SENTBEFORE },
	{ "SENTON", IMAP_SK_SENTON }, { "SENTSINCE", IMAP_SK_SENTSINCE },
};

static const struct {
	const char	*name;
	const char	*field;		/* NULL: not a header key */
	enum imap_skind	 kind;
} text_keys[] = {
	{ "BCC", "Bcc", IMAP_SK_HEADER }, { "CC", "Cc", IMAP_SK_HEADER },
	{ "FROM", "From", IMAP_SK_HEADER }, { "TO", "To", IMAP_SK_HEADER },
	{ "SUBJECT", "Subject", IMAP_SK_HEADER },
	{ "BODY", NULL, IMAP_SK_BODY }, { "TEXT", NULL, IMAP_SK_TEXT },
};

static int parse_key(struct sparse *, const struct imap_arg **,
    struct imap_snode **, int);

/* Keys from *a until the end of the list into a new AND (a group). */
static int
parse_group(struct sparse *p, const struct imap_arg *a,
    struct imap_snode **out, int depth)
{
	struct imap_snode	*g, *k, **tail;
	int			 rc;

	if ((g = node_new(p, IMAP_SK_AND)) == NULL)
		return -1;
	*out = g;
	tail = &g->kids;
	if (a == NULL)
		return bad(p, "Empty search key list");
	while (a != NULL) {
		/* A key made before its error is linked so that it is freed. */
		rc = parse_key(p, &a, &k, depth + 1);
		if (k != NULL) {
			*tail = k;
			tail = &k->next;
			g->needs_msg |= k->needs_msg;
		}
		if (rc == -1)
			return -1;
	}
	return 0;
}

/* One search-key at *a (advanced past it). */
static int
parse_key(struct sparse *p, const struct imap_arg **ap,
    struct imap_snode **out, int depth)
{
	const struct imap_arg	*a = *ap;
	struct imap_snode	*n;
	const char		*key, *s;
	size_t			 i, len;
	uint64_t		 v;

	*out = NULL;
	if (depth > IMAP_SEARCH_DEPTH)
		return bad(p, "Search program nested too deeply (over %d)",
		    IMAP_SEARCH_DEPTH);
	if (a->type == IMAP_ARG_LIST) {
		*ap = a->next;
		return parse_group(p, a->list, out, depth);
	}
	if (a->type != IMAP_ARG_ATOM)
		return bad(p, "Search key expected, not a string");
	key = a->s;
	*ap = a->next;
	if ((key[0] >= '0' && key[0] <= '9') || key[0] == '*') {
		if ((*out = n = node_new(p, IMAP_SK_SEQ)) == NULL)
			return -1;
		return take_set(p, n, a, "a sequence set");
	}
	for (i = 0; i < sizeof(simple_keys) / sizeof(simple_keys[0]); i++)
		if (strcasecmp(key, simple_keys[i].name) == 0) {
			if ((*out = n = node_new(p, simple_keys[i].kind)) ==
			    NULL)
				return -1;
			n->flag = simple_keys[i].flag;
			return 0;
		}
	for (i = 0; i < sizeof(date_keys) / sizeof(date_keys[0]); i++)
		if (strcasecmp(key, date_keys[i].name) == 0) {
			if ((*out = n = node_new(p, date_keys[i].kind)) ==
			    NULL)
				return -1;
			n->needs_msg = n->kind >= IMAP_SK_SENTBEFORE ?
			    IMAP_NEEDS_HEADER : 0;
			*ap = a->next != NULL ? a->next->next : NULL;
			return take_date(p, a->next, date_keys[i].name,
			    &n->date);
		}
	for (i = 0; i < sizeof(text_keys) / sizeof(text_keys[0]); i++)
		if (strcasecmp(key, text_keys[i].name) == 0) {
			if ((*out = n = node_new(p, text_keys[i].kind)) ==
			    NULL)
				return -1;
			n->needs_msg = text_keys[i].field != NULL ?
			    IMAP_NEEDS_HEADER : IMAP_NEEDS_WHOLE;
			if (text_keys[i].field != NULL &&
			    (n->str = strdup(text_keys[i].field)) == NULL)
				return bad(p, "Out of memory");
			*ap = a->next != NULL ? a->next->next : NULL;
			return take_text(p, n, a->next, text_keys[i].name);
		}
	if (strcasecmp(key, "NEW") == 0 || strcasecmp(key, "OLD") == 0) {
		/* NEW is RECENT UNSEEN, OLD is NOT RECENT (6.4.4). */
		if ((*out = n = node_new(p, key[0] == 'N' || key[0] == 'n' ?
		    IMAP_SK_AND : IMAP_SK_NOT)) == NULL ||
		    (n->kids = node_new(p, IMAP_SK_RECENT)) == NULL)
			return -1;
		if (n->kind == IMAP_SK_AND) {
			if ((n->kids->next = node_new(p, IMAP_SK_UNFLAG)) ==
			    NULL)
				return -1;
			n->kids->next->flag = KEYWORDS_SEEN;
		}
		return 0;
	}
	if (strcasecmp(key, "NOT") == 0 || strcasecmp(key, "OR") == 0) {
		int or = key[0] == 'O' || key[0] == 'o';

		if ((*out = n = node_new(p, or ? IMAP_SK_OR : IMAP_SK_NOT)) ==
		    NULL)
			return -1;
		if (*ap == NULL)
			return bad(p, "Missing search key after %s",
			    or ? "OR" : "NOT");
		if (parse_key(p, ap, &n->kids, depth + 1) == -1)
			return -1;
		n->needs_msg = n->kids->needs_msg;
		if (!or)
			return 0;
		if (*ap == NULL)
			return bad(p, "Missing second search key after OR");
		if (parse_key(p, ap, &n->kids->next, depth + 1) == -1)
			return -1;
		n->needs_msg |= n->kids->next->needs_msg;
		return 0;
	}
	if (strcasecmp(key, "KEYWORD") == 0 ||
	    strcasecmp(key, "UNKEYWORD") == 0) {
		if ((*out = n = node_new(p, key[0] == 'K' || key[0] == 'k' ?
		    IMAP_SK_KEYWORD : IMAP_SK_UNKEYWORD)) == NULL)
			return -1;
		*ap = a->next != NULL ? a->next->next : NULL;
		if (a->next == NULL)
			return bad(p, "Missing argument to %s", key);
		if (a->next->type != IMAP_ARG_ATOM ||
		    a->next->len > KEYWORDS_NAME_MAX ||
		    (!keywords_name_ok(a->next->s) && a->next->s[0] != '\\'))
			return bad(p, "%s needs a flag keyword", key);
		if ((n->str = strdup(a->next->s)) == NULL)
			return bad(p, "Out of memory");
		return 0;
	}
	if (strcasecmp(key, "LARGER") == 0 || strcasecmp(key, "SMALLER") == 0 ||
	    strcasecmp(key, "OLDER") == 0 || strcasecmp(key, "YOUNGER") == 0) {
		enum imap_skind kind = strcasecmp(key, "LARGER") == 0 ?
		    IMAP_SK_LARGER : strcasecmp(key, "SMALLER") == 0 ?
		    IMAP_SK_SMALLER : strcasecmp(key, "OLDER") == 0 ?
		    IMAP_SK_OLDER : IMAP_SK_YOUNGER;

		if ((*out = n = node_new(p, kind)) == NULL)
			return -1;
		*ap = a->next != NULL ? a->next->next : NULL;
		if (take_number(p, a->next, key, &n->num) == -1)
			return -1;
		if ((kind == IMAP_SK_OLDER || kind == IMAP_SK_YOUNGER) &&
		    n->num == 0)
			return bad(p, "%s needs a number above 0", key);
		return 0;
	}
	if (strcasecmp(key, "UID") == 0) {
		if ((*out = n = node_new(p, IMAP_SK_UID)) == NULL)
			return -1;
		*ap = a->next != NULL ? a->next->next : NULL;
		return take_set(p, n, a->next, "UID");
	}
	if (strcasecmp(key, "HEADER") == 0) {
		if ((*out = n = node_new(p, IMAP_SK_HEADER)) == NULL)
			return -1;
		n->needs_msg = IMAP_NEEDS_HEADER;
		if (take_string(p, a->next, "HEADER", &s, &len) == -1)
			return -1;
		if (len == 0 || len > 256 || memchr(s, ':', len) != NULL)
			return bad(p, "HEADER needs a field name");
		for (i = 0; i < len; i++)
			if ((unsigned char)s[i] <= ' ' ||
			    (unsigned char)s[i] >= 0x7f)
				return bad(p, "HEADER needs a field name");
		if ((n->str = strndup(s, len)) == NULL)
			return bad(p, "Out of memory");
		*ap = a->next->next != NULL ? a->next->next->next : NULL;
		return take_text(p, n, a->next->next, "HEADER");
	}
	if (strcasecmp(key, "MODSEQ") == 0) {
		/*
		 * MODSEQ ["/flags/<flag>" ("priv" / "shared" / "all")] n:
		 * one MODSEQ per message is kept, so the entry is checked
		 * and then answers as the message's (RFC 7162 3.1.5 lets a
		 * server without per-flag MODSEQs do so).
		 */
		if ((*out = n = node_new(p, IMAP_SK_MODSEQ)) == NULL)
			return -1;
		p->s->modseq = 1;
		a = a->next;
		if (a != NULL && a->type == IMAP_ARG_QUOTED) {
			if (a->len < 8 || strncasecmp(a->s, "/flags/", 7) != 0)
				return bad(p, "MODSEQ: bad entry name");
			a = a->next;
			if (!imap_arg_is(a, "priv") && !imap_arg_is(a, "shared")
			    && !imap_arg_is(a, "all"))
				return bad(p, "MODSEQ: entry type must be "
				    "priv, shared or all");
			a = a->next;
		}
		if (a == NULL || imap_arg_modseq(a, &v, 1) == -1)
			return bad(p, "MODSEQ needs a mod-sequence value");
		n->num = v;
		*ap = a->next;
		return 0;
	}
	return bad(p, "Unknown search key %.40s", key);
}

/* RETURN (opts): RFC 4731 3.1; "()" means ALL. */
static int
parse_return(struct sparse *p, const struct imap_arg *a)
{
	const struct imap_arg	*o;
	unsigned		 ret = 0;

	if (a == NULL || a->type != IMAP_ARG_LIST)
		return bad(p, "RETURN needs a list of options");
	for (o = a->list; o != NULL; o = o->next) {
		if (imap_arg_is(o, "MIN"))
			ret |= IMAP_SEARCH_RET_MIN;
		else if (imap_arg_is(o, "MAX"))
			ret |= IMAP_SEARCH_RET_MAX;
		else if (imap_arg_is(o, "ALL"))
			ret |= IMAP_SEARCH_RET_ALL;
		else if (imap_arg_is(o, "COUNT"))
			ret |= IMAP_SEARCH_RET_COUNT;
		else
			return bad(p, "Unknown RETURN option %.40s",
			    o->type == IMAP_ARG_LIST ? "(...)" : o->s);
	}
	p->s->ret = ret != 0 ? ret : IMAP_SEARCH_RET_ALL;
	return 0;
}

int
imap_search_parse(const struct imap_arg *args, int uid_cmd,
    struct imap_search **out, char *err, size_t errsz)
{
	struct sparse		 p;
	struct imap_search	*s;
	struct imap_snode	*k, **tail;
	const struct imap_arg	*a = args;
	const char		*cs;
	size_t			 cslen;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errsz, "Out of memory");
		return -1;
	}
	p.s = s;
	p.err = err;
	p.errsz = errsz;
	s->uid = uid_cmd;
	if ((s->root = node_new(&p, IMAP_SK_AND)) == NULL)
		goto fail;
	if (imap_arg_is(a, "RETURN")) {
		if (parse_return(&p, a->next) == -1)
			goto fail;
		a = a->next->next;
	}
	if (imap_arg_is(a, "CHARSET")) {
		a = a->next;
		if (a == NULL || a->type == IMAP_ARG_LIST ||
		    imap_arg_astring(a, &cs, &cslen) == -1) {
			bad(&p, "CHARSET needs a charset name");
			goto fail;
		}
		if (strcasecmp(cs, "UTF-8") != 0 &&
		    strcasecmp(cs, "US-ASCII") != 0) {
			snprintf(err, errsz, "[BADCHARSET (UTF-8 US-ASCII)] "
			    "Unsupported charset");
			imap_search_free(s);
			return -2;
		}
		a = a->next;
	}
	if (a == NULL) {
		bad(&p, "Missing search program");
		goto fail;
	}
	tail = &s->root->kids;
	while (a != NULL) {
		if (parse_key(&p, &a, &k, 1) == -1) {
			node_free(k);
			goto fail;
		}
		*tail = k;
		tail = &k->next;
		s->root->needs_msg |= k->needs_msg;
	}
	s->needs_msg = s->root->needs_msg;
	*out = s;
	return 0;
fail:
	imap_search_free(s);
	return -1;
}

int
imap_search_needs_modseq(const struct imap_search *s)
{
	return s->modseq;
}

int
imap_search_needs_msg(const struct imap_search *s)
{
	return s->needs_msg;
}

unsigned
imap_search_return(const struct imap_search *s)
{
	return s->ret;
}

void
imap_search_result_init(struct imap_search_result *r)
{
	memset(r, 0, sizeof(*r));
}

void
imap_search_result_free(struct imap_search_result *r)
{
	free(r->v);
	memset(r, 0, sizeof(*r));
}

int
imap_search_result_add(struct imap_search_result *r, uint32_t num,
    uint64_t modseq)
{
	uint32_t	*v;
	size_t		 cap;

	if (r->n > 0 && num <= r->v[r->n - 1]) {
		errno = EINVAL;
		return -1;
	}
	if (r->n == r->cap) {
		cap = r->cap == 0 ? 64 : r->cap * 2;
		if ((v = reallocarray(r->v, cap, sizeof(*v))) == NULL)
			return -1;
		r->v = v;
		r->cap = cap;
	}
	if (r->n == 0)
		r->modseq_first = modseq;
	r->v[r->n++] = num;
	r->modseq_last = modseq;
	if (modseq > r->modseq_max)
		r->modseq_max = modseq;
	return 0;
}

/* ALL's sequence-set: "2:4,7,10:12". */
static int
write_set(const struct imap_search_result *r, struct buf *out)
{
	size_t	i, j;

	for (i = 0; i < r->n; i = j + 1) {
		for (j = i; j + 1 < r->n && r->v[j + 1] == r->v[j] + 1; j++)
			;
		if (buf_printf(out, "%s%" PRIu32, i > 0 ? "," : "",
		    r->v[i]) == -1)
			return -1;
		if (j > i && buf_printf(out, ":%" PRIu32, r->v[j]) == -1)
			return -1;
	}
	return 0;
}

int
imap_search_result_write(const struct imap_search *s,
    const struct imap_search_result *r, const char *tag, struct buf *out)
{
	uint64_t	modseq = 0;
	size_t		i;

	if (s->ret == 0) {
		if (buf_puts(out, "* SEARCH") == -1)
			return -1;
		for (i = 0; i < r->n; i++)
			if (buf_printf(out, " %" PRIu32, r->v[i]) == -1)
				return -1;
		if (s->modseq && r->n > 0 && buf_printf(out,
		    " (MODSEQ %" PRIu64 ")", r->modseq_max) == -1)
			return -1;
		return buf_puts(out, "\r\n");
	}
	if (buf_puts(out, "* ESEARCH (TAG ") == -1 ||
	    imap_append_string(out, tag, strlen(tag)) == -1 ||
	    buf_puts(out, s->uid ? ") UID" : ")") == -1)
		return -1;
	if (r->n > 0 && (s->ret & IMAP_SEARCH_RET_MIN) &&
	    buf_printf(out, " MIN %" PRIu32, r->v[0]) == -1)
		return -1;
	if (r->n > 0 && (s->ret & IMAP_SEARCH_RET_MAX) &&
	    buf_printf(out, " MAX %" PRIu32, r->v[r->n - 1]) == -1)
		return -1;
	if ((s->ret & IMAP_SEARCH_RET_COUNT) &&
	    buf_printf(out, " COUNT %zu", r->n) == -1)
		return -1;
	if (r->n > 0 && (s->ret & IMAP_SEARCH_RET_ALL) &&
	    (buf_puts(out, " ALL ") == -1 || write_set(r, out) == -1))
		return -1;
	/*
	 * RFC 7162 3.1.5 with RFC 4731: the highest MODSEQ of the messages
	 * reported; MIN and MAX alone report just those two.
	 */
	if (s->modseq && r->n > 0) {
		if (s->ret & (IMAP_SEARCH_RET_ALL | IMAP_SEARCH_RET_COUNT))
			modseq = r->modseq_max;
		else {
			if (s->ret & IMAP_SEARCH_RET_MIN)
				modseq = r->modseq_first;
			if ((s->ret & IMAP_SEARCH_RET_MAX) &&
			    r->modseq_last > modseq)
				modseq = r->modseq_last;
		}
		if (buf_printf(out, " MODSEQ %" PRIu64, modseq) == -1)
			return -1;
	}
	return buf_puts(out, "\r\n");
}
