/*
 * imap_parse.c - the IMAP tokenizer: one command, as imap_reader
 * assembled it (lines and literals), into its tag, its name and a tree
 * of arguments (RFC 3501 9: atom, quoted, literal, parenthesised list).
 *
 * Runs in imapd's pre-login and mail processes, never as root; the
 * bytes are the client's and nothing in them is trusted. Bounds: the
 * argument pool and the string arena are sized from the command before
 * tokenizing (each token takes at least one byte of a line, so neither
 * can overflow; the pool is capped at IMAP_PARSE_ARGS), lists nest at
 * most IMAP_PARSE_DEPTH deep (the recursion is bounded by it), and every
 * byte is looked at a constant number of times.
 *
 * Refused, and why: CR, LF and other CTLs outside literals (a line has
 * been cut at its LF already, so one left inside is a smuggling attempt
 * or garbage); NUL anywhere, literals included (RFC 3501 CHAR8 is
 * %x01-ff; literal8 is not offered); 8-bit bytes in atoms (CHAR is
 * 7-bit) but not in quoted strings, which clients use for UTF-8 search
 * strings; backslash escapes other than \\ and \" (RFC 3501 quoted);
 * a "{N}" anywhere but at the end of a line, where the reader saw it.
 * Runs of spaces are taken as one (Dovecot does the same; some clients
 * send "( ".
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "imap_parse.h"

struct tok {
	const struct imap_cmd	*cmd;
	struct imap_request	*req;
	size_t			 pos;
	size_t			 end;		/* of the current line part */
	size_t			 nextlit;
};

void
imap_request_init(struct imap_request *req)
{
	memset(req, 0, sizeof(*req));
}

void
imap_request_free(struct imap_request *req)
{
	if (req->str != NULL)
		explicit_bzero(req->str, req->strcap);
	free(req->str);
	free(req->pool);
	memset(req, 0, sizeof(*req));
}

static int
fail(struct tok *t, const char *why)
{
	strlcpy(t->req->err, why, sizeof(t->req->err));
	return -1;
}

static void
part_end(struct tok *t)
{
	t->end = t->nextlit < t->cmd->nlit ?
	    t->cmd->lit[t->nextlit].off : t->cmd->len;
}

static struct imap_arg *
new_arg(struct tok *t)
{
	struct imap_arg *a;

	if (t->req->npool == t->req->poolcap)
		return NULL;
	a = &t->req->pool[t->req->npool++];
	memset(a, 0, sizeof(*a));
	return a;
}

/* The arena was sized so that this cannot run out (see the header). */
static char *
str_add(struct tok *t, const char *p, size_t len)
{
	char *s = t->req->str + t->req->nstr;

	memcpy(s, p, len);
	s[len] = '\0';
	t->req->nstr += len + 1;
	return s;
}

static int
atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '(' && c != ')' && c != '{' &&
	    c != '"';
}

static int
tok_atom(struct tok *t, struct imap_arg *a)
{
	const char	*b = t->cmd->buf;
	size_t		 start = t->pos;
	unsigned char	 c;

	while (t->pos < t->end) {
		c = (unsigned char)b[t->pos];
		if (c == '[') {
			/* BODY[HEADER.FIELDS (A B)]: spaces and parens inside. */
			for (t->pos++; t->pos < t->end && b[t->pos] != ']';
			    t->pos++) {
				c = (unsigned char)b[t->pos];
				if (c < 0x20 || c >= 0x7f)
					return fail(t, "Invalid character in "
					    "section");
			}
			if (t->pos == t->end)
				return fail(t, "Missing ]");
			t->pos++;
			continue;
		}
		if (!atom_char(c))
			break;
		t->pos++;
	}
	if (t->pos < t->end) {
		c = (unsigned char)b[t->pos];
		if (c != ' ' && c != '(' && c != ')' && c != '{' && c != '"')
			return fail(t, c >= 0x80 ? "8-bit character in atom" :
			    "Invalid character in command");
	}
	a->type = IMAP_ARG_ATOM;
	a->len = t->pos - start;
	a->s = str_add(t, b + start, a->len);
	return 0;
}

static int
tok_quoted(struct tok *t, struct imap_arg *a)
{
	const char	*b = t->cmd->buf;
	char		*s = t->req->str + t->req->nstr;
	size_t		 n = 0;
	unsigned char	 c;

	for (t->pos++; t->pos < t->end; t->pos++) {
		c = (unsigned char)b[t->pos];
		if (c == '"')
			break;
		if (c == '\r' || c == '\n' || c == '\0')
			return fail(t, "Invalid character in quoted string");
		if (c == '\\') {
			if (t->pos + 1 >= t->end || (b[t->pos + 1] != '\\' &&
			    b[t->pos + 1] != '"'))
				return fail(t, "Invalid escape in quoted "
				    "string");
			c = (unsigned char)b[++t->pos];
		}
		s[n++] = (char)c;
	}
	if (t->pos == t->end)
		return fail(t, "Missing \" at the end of a quoted string");
	t->pos++;
	s[n] = '\0';
	t->req->nstr += n + 1;
	a->type = IMAP_ARG_QUOTED;
	a->s = s;
	a->len = n;
	return 0;
}

static int
tok_literal(struct tok *t, struct imap_arg *a)
{
	const struct imap_cmd	*cmd = t->cmd;
	const struct imap_lit	*l;
	size_t			 i;
	uint64_t		 n = 0;

	/*
	 * The reader saw an announcement at the end of this line part; it
	 * must be this whole token: "{" digits ["+"] "}" and nothing else.
	 */
	for (i = t->pos + 1; i < t->end && i - t->pos <= 10 &&
	    cmd->buf[i] >= '0' && cmd->buf[i] <= '9'; i++)
		n = n * 10 + (uint64_t)(cmd->buf[i] - '0');
	if (i == t->pos + 1)
		return fail(t, "Invalid literal");
	if (i < t->end && cmd->buf[i] == '+')
		i++;
	if (t->nextlit >= cmd->nlit || i + 1 != t->end || cmd->buf[i] != '}')
		return fail(t, "Invalid literal");
	l = &cmd->lit[t->nextlit];
	if (l->len != n)
		return fail(t, "Invalid literal");
	if (memchr(cmd->buf + l->off, '\0', l->len) != NULL)
		return fail(t, "NUL in literal");
	a->type = IMAP_ARG_LITERAL;
	a->s = cmd->buf + l->off;
	a->len = l->len;
	t->pos = l->off + l->len + 1;	/* the NUL the reader put after it */
	t->nextlit++;
	part_end(t);
	return 0;
}

static int
tok_list(struct tok *t, int depth, struct imap_arg **first, size_t *count)
{
	const char	*b = t->cmd->buf;
	struct imap_arg	*a, *prev = NULL;
	int		 sep = 1;
	unsigned char	 c;

	*first = NULL;
	*count = 0;
	for (;;) {
		if (t->pos >= t->end) {
			if (depth > 0)
				return fail(t, "Missing )");
			return 0;
		}
		c = (unsigned char)b[t->pos];
		if (c == ' ') {
			t->pos++;
			sep = 1;
			continue;
		}
		if (c == ')') {
			if (depth == 0)
				return fail(t, "Unexpected )");
			t->pos++;
			return 0;
		}
		if (!sep)
			return fail(t, "Missing space between arguments");
		if ((a = new_arg(t)) == NULL)
			return fail(t, "Too many arguments");
		if (c == '(') {
			if (depth + 1 > IMAP_PARSE_DEPTH)
				return fail(t, "Lists nested too deep");
			t->pos++;
			a->type = IMAP_ARG_LIST;
			if (tok_list(t, depth + 1, &a->list, &a->n) == -1)
				return -1;
		} else if (c == '"') {
			if (tok_quoted(t, a) == -1)
				return -1;
		} else if (c == '{') {
			if (tok_literal(t, a) == -1)
				return -1;
		} else if (tok_atom(t, a) == -1)
			return -1;
		if (prev != NULL)
			prev->next = a;
		else
			*first = a;
		prev = a;
		(*count)++;
		sep = 0;
	}
}

static int
tag_char(unsigned char c)
{
	return atom_char(c) && c != '%' && c != '*' && c != '\\' && c != '+';
}

static int
arenas(struct imap_request *req, const struct imap_cmd *cmd)
{
	size_t	lines = cmd->len, i, need;

	for (i = 0; i < cmd->nlit; i++)
		lines -= cmd->lit[i].len + 1;
	need = lines + 2;
	if (req->strcap < need) {
		if (req->str != NULL)
			explicit_bzero(req->str, req->strcap);
		free(req->str);
		req->strcap = 0;
		if ((req->str = malloc(need)) == NULL)
			return -1;
		req->strcap = need;
	} else if (req->str != NULL)
		explicit_bzero(req->str, req->nstr);
	need = lines + 1 < IMAP_PARSE_ARGS ? lines + 1 : IMAP_PARSE_ARGS;
	if (req->poolcap < need) {
		free(req->pool);
		req->poolcap = 0;
		if ((req->pool = calloc(need, sizeof(*req->pool))) == NULL)
			return -1;
		req->poolcap = need;
	}
	req->nstr = req->npool = 0;
	return 0;
}

int
imap_parse(struct imap_request *req, const struct imap_cmd *cmd)
{
	struct tok	 t;
	struct imap_arg	*name;
	size_t		 i, n;

	req->tag = NULL;
	req->name[0] = '\0';
	req->uid = 0;
	req->args = NULL;
	req->nargs = 0;
	req->err[0] = '\0';
	memset(&t, 0, sizeof(t));
	t.cmd = cmd;
	t.req = req;
	if (cmd->buf == NULL || cmd->len == 0)
		return fail(&t, "Empty command");
	if (arenas(req, cmd) == -1)
		return fail(&t, "Out of memory");
	part_end(&t);

	for (n = 0; n < t.end && tag_char((unsigned char)cmd->buf[n]); n++)
		;
	if (n == 0 || n > IMAP_TAG_MAX || (n < t.end && cmd->buf[n] != ' '))
		return fail(&t, "Invalid tag");
	req->tag = str_add(&t, cmd->buf, n);
	t.pos = n + 1;
	if (n == t.end)
		return fail(&t, "Missing command");
	if (tok_list(&t, 0, &req->args, &req->nargs) == -1)
		return -1;

	for (i = 0; i < 2; i++) {
		name = req->args;
		if (name == NULL)
			return fail(&t, "Missing command");
		if (name->type != IMAP_ARG_ATOM || name->len > IMAP_NAME_MAX)
			return fail(&t, "Invalid command");
		for (n = 0; n < name->len; n++) {
			if (!isalnum((unsigned char)name->s[n]) &&
			    name->s[n] != '-' && name->s[n] != '_')
				return fail(&t, "Invalid command");
			req->name[n] = (char)toupper((unsigned char)name->s[n]);
		}
		req->name[n] = '\0';
		req->args = name->next;
		req->nargs--;
		if (strcmp(req->name, "UID") != 0 || req->uid)
			break;
		req->uid = 1;
	}
	return 0;
}

const struct imap_arg *
imap_req_arg(const struct imap_request *req, size_t i)
{
	const struct imap_arg *a = req->args;

	while (a != NULL && i-- > 0)
		a = a->next;
	return a;
}
