/*
 * smtp_cmd.c - the SMTP command parser: verbs, MAIL FROM and RCPT TO
 * paths and their ESMTP parameters (SIZE, BODY, SMTPUTF8, and RFC 3461's
 * RET, ENVID, NOTIFY, ORCPT with their xtext).
 *
 * Runs in the smtpd session child, unprivileged and (normally) chrooted,
 * and in sendmail -bs, as the local user who runs it. Every byte here
 * comes from the client and is trusted for nothing: the line reader
 * (netio) has already bounded the line to SMTP_LINE_MAX, and
 * each path is copied only after its length is checked. The address
 * itself is judged by the one address parser, addr_parse(). 8-bit bytes
 * in a path need SMTPUTF8 on the MAIL command (without it they are a
 * syntax error, as before SMTPUTF8 existed), and with it they must be
 * well-formed UTF-8 (utf8_valid): an overlong "@" or a cut-short
 * sequence would read differently to each later decoder.
 *
 * Pure functions, no I/O: tests/unit/test_smtp_cmd.c drives them.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "smtp_cmd.h"
#include "utf8.h"

static const struct {
	const char	*name;
	enum smtp_verb	 verb;
} smtp_verbs[] = {
	{ "HELO", SMTP_CMD_HELO },
	{ "EHLO", SMTP_CMD_EHLO },
	{ "MAIL", SMTP_CMD_MAIL },
	{ "RCPT", SMTP_CMD_RCPT },
	{ "DATA", SMTP_CMD_DATA },
	{ "RSET", SMTP_CMD_RSET },
	{ "NOOP", SMTP_CMD_NOOP },
	{ "VRFY", SMTP_CMD_VRFY },
	{ "HELP", SMTP_CMD_HELP },
	{ "QUIT", SMTP_CMD_QUIT },
	{ "STARTTLS", SMTP_CMD_STARTTLS },
	{ "AUTH", SMTP_CMD_AUTH },
};

void
smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd)
{
	size_t	vlen, i;

	cmd->verb = SMTP_CMD_UNKNOWN;
	cmd->arg = "";
	/*
	 * A NUL would cut the line short for every C string function that
	 * follows, hiding the rest of it from our checks: refuse the line.
	 */
	if (memchr(line, '\0', len) != NULL) {
		cmd->verb = SMTP_CMD_NUL;
		return;
	}
	for (vlen = 0; vlen < len && line[vlen] != ' ' && line[vlen] != '\t';
	    vlen++)
		;
	for (i = 0; i < sizeof(smtp_verbs) / sizeof(smtp_verbs[0]); i++) {
		if (strlen(smtp_verbs[i].name) == vlen &&
		    strncasecmp(line, smtp_verbs[i].name, vlen) == 0) {
			cmd->verb = smtp_verbs[i].verb;
			break;
		}
	}
	if (cmd->verb == SMTP_CMD_UNKNOWN)
		return;
	while (vlen < len && (line[vlen] == ' ' || line[vlen] == '\t'))
		vlen++;
	cmd->arg = line + vlen;
}

/*
 * Copies what is between '<' and the matching '>' into raw. A quoted
 * local part may hold '>' (and escaped quotes), so quotes are followed.
 */
static int
path_extract(const char *p, char *raw, size_t rawsz, const char **endp)
{
	size_t	n = 0;
	int	quoted = 0;

	if (*p++ != '<')
		return -1;
	for (;; p++) {
		if (*p == '\0')
			return -1;
		if (!quoted && *p == '>')
			break;
		if (*p == '"')
			quoted = !quoted;
		else if (quoted && *p == '\\') {
			if (n + 1 >= rawsz || p[1] == '\0')
				return -1;
			raw[n++] = *p++;
		}
		if (n + 1 >= rawsz)
			return -1;
		raw[n++] = *p;
	}
	raw[n] = '\0';
	*endp = p + 1;
	return 0;
}

/* "@one.example,@two.example:" - checked, then ignored (RFC 5321 C). */
static int
route_skip(const char *raw, const char **mailbox)
{
	const char	*p = raw, *e;
	char		 dom[ADDR_DOMAIN_MAX + 1];
	size_t		 n;

	for (;;) {
		if (*p != '@')
			return -1;
		p++;
		for (e = p; *e != '\0' && *e != ',' && *e != ':'; e++)
			;
		n = (size_t)(e - p);
		if (n == 0 || n >= sizeof(dom))
			return -1;
		memcpy(dom, p, n);
		dom[n] = '\0';
		if (!addr_valid_domain(dom))
			return -1;
		if (*e == ':') {
			*mailbox = e + 1;
			return 0;
		}
		if (*e != ',')
			return -1;
		p = e + 1;
	}
}

static int
has_8bit(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

/*
 * raw is the path without brackets. Fills out->addr, or flags the
 * postmaster special case (RFC 5321 4.5.1: no domain needed).
 */
static int
path_address(const char *raw, int allow_null, int allow_postmaster, int utf8,
    struct smtp_path *out)
{
	struct mailaddr	 ma;
	const char	*mailbox = raw;

	if (raw[0] == '\0') {
		if (!allow_null)
			return -1;
		out->addr[0] = '\0';
		return 0;
	}
	if (raw[0] == '@' && route_skip(raw, &mailbox) == -1)
		return -1;
	if (allow_postmaster && strcasecmp(mailbox, "postmaster") == 0) {
		out->postmaster = 1;
		strlcpy(out->addr, "postmaster", sizeof(out->addr));
		return 0;
	}
	/*
	 * addr_parse lets 8-bit bytes through in the domain part even
	 * without its utf8 flag, so the SMTPUTF8 rule is enforced here.
	 */
	if (!utf8 && has_8bit(mailbox))
		return -1;
	if (addr_parse(mailbox, &ma, utf8) == -1)
		return -1;
	if (addr_format(&ma, out->addr, sizeof(out->addr)) == -1)
		return -1;
	return 0;
}

static void
param_name(struct smtp_path *out, const char *kw, size_t kwlen)
{
	if (kwlen >= sizeof(out->param))
		kwlen = sizeof(out->param) - 1;
	memcpy(out->param, kw, kwlen);
	out->param[kwlen] = '\0';
}

static int
xdigit_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return (c | 0x20) - 'a' + 10;
}

static int
size_parse(const char *v, size_t vlen, uint64_t *out)
{
	uint64_t n = 0;
	size_t	 i;

	if (vlen == 0)
		return -1;
	for (i = 0; i < vlen; i++) {
		if (!isdigit((unsigned char)v[i]))
			return -1;
		/* Clamp rather than fail: a huge SIZE is "too big" (552). */
		if (n > (UINT64_MAX - 9) / 10)
			n = UINT64_MAX;
		else
			n = n * 10 + (uint64_t)(v[i] - '0');
	}
	*out = n;
	return 0;
}

int
smtp_xtext_decode(const char *in, size_t len, char *out, size_t outsz)
{
	size_t	i, n = 0;
	int	c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)in[i];
		if (c == '+') {
			if (len - i < 3 || !isxdigit((unsigned char)in[i + 1]) ||
			    !isxdigit((unsigned char)in[i + 2]))
				return -1;
			c = (xdigit_val(in[i + 1]) << 4) | xdigit_val(in[i + 2]);
			i += 2;
			if (c < 0x20 || c > 0x7e)
				return -1;
		} else if (c < '!' || c > '~' || c == '=')
			return -1;
		if (n + 1 >= outsz)
			return -1;
		out[n++] = (char)c;
	}
	if (outsz == 0)
		return -1;
	out[n] = '\0';
	return (int)n;
}

/* ORCPT=addr-type;xtext: the type an atom, the address not empty. */
static int
orcpt_parse(const char *v, size_t vlen, char *out, size_t outsz)
{
	const char	*semi = memchr(v, ';', vlen);
	size_t		 tl, i;
	int		 n;

	if (semi == NULL || vlen > ENV_ORCPT_MAX)
		return -1;
	tl = (size_t)(semi - v);
	if (tl == 0 || tl > 32 || tl + 1 >= outsz)
		return -1;
	for (i = 0; i < tl; i++)
		if (!isalnum((unsigned char)v[i]) && v[i] != '-')
			return -1;
	memcpy(out, v, tl + 1);
	n = smtp_xtext_decode(semi + 1, vlen - tl - 1, out + tl + 1,
	    outsz - tl - 1);
	return n <= 0 ? -1 : 0;
}

static int
kw_is(const char *kw, size_t kwlen, const char *name)
{
	return strlen(name) == kwlen && strncasecmp(kw, name, kwlen) == 0;
}

/* A known parameter with a bad value: 501, naming it and why. */
static enum smtp_perr
bad_param(struct smtp_path *out, const char *why)
{
	out->why = why;
	return SMTP_PERR_PARAM_SYNTAX;
}

/*
 * ESMTP parameters: SP-separated "keyword[=value]". MAIL knows SIZE,
 * BODY, SMTPUTF8, RET and ENVID; RCPT knows NOTIFY and ORCPT. A keyword
 * given twice is a syntax error (RFC 5321 4.1.2 does not allow it, and
 * which one would win is a guess); one we do not know is 555 (RFC 5321
 * 4.1.1.11), one we know with a bad value 501 5.5.4 (RFC 3461 4).
 */
static enum smtp_perr
params_parse(const char *p, int is_mail, struct smtp_path *out)
{
	const char	*kw, *eq, *v, *e;
	size_t		 kwlen, vlen;
	int		 seen_body = 0, seen_ret = 0, seen_orcpt = 0;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return SMTP_PERR_OK;
		for (e = p; *e != '\0' && *e != ' ' && *e != '\t'; e++)
			;
		kw = p;
		if ((eq = memchr(p, '=', (size_t)(e - p))) != NULL) {
			kwlen = (size_t)(eq - p);
			v = eq + 1;
			vlen = (size_t)(e - v);
		} else {
			kwlen = (size_t)(e - p);
			v = NULL;
			vlen = 0;
		}
		param_name(out, kw, kwlen);
		p = e;
		if (!is_mail) {
			if (kw_is(kw, kwlen, "NOTIFY")) {
				if (out->notify != 0)
					return bad_param(out, "given twice");
				if (v == NULL || env_notify_parse(v, vlen,
				    &out->notify) == -1) {
					out->notify = 0;
					return bad_param(out, "NEVER, or a "
					    "list of SUCCESS, FAILURE, DELAY");
				}
			} else if (kw_is(kw, kwlen, "ORCPT")) {
				if (seen_orcpt)
					return bad_param(out, "given twice");
				seen_orcpt = 1;
				if (v == NULL || orcpt_parse(v, vlen,
				    out->orcpt, sizeof(out->orcpt)) == -1) {
					out->orcpt[0] = '\0';
					return bad_param(out, "addr-type;xtext "
					    "expected");
				}
			} else
				return SMTP_PERR_PARAM;
			continue;
		}
		if (kw_is(kw, kwlen, "SIZE")) {
			if (out->has_size || v == NULL ||
			    size_parse(v, vlen, &out->size) == -1)
				return SMTP_PERR_PARAM_SYNTAX;
			out->has_size = 1;
		} else if (kw_is(kw, kwlen, "BODY")) {
			if (seen_body || v == NULL)
				return SMTP_PERR_PARAM_SYNTAX;
			seen_body = 1;
			if (vlen == 4 && strncasecmp(v, "7BIT", 4) == 0)
				out->body = SMTP_BODY_7BIT;
			else if (vlen == 8 && strncasecmp(v, "8BITMIME", 8) == 0)
				out->body = SMTP_BODY_8BITMIME;
			else
				return SMTP_PERR_PARAM_SYNTAX;
		} else if (kw_is(kw, kwlen, "SMTPUTF8")) {
			if (out->smtputf8 || v != NULL)
				return SMTP_PERR_PARAM_SYNTAX;
			out->smtputf8 = 1;
		} else if (kw_is(kw, kwlen, "RET")) {
			if (seen_ret)
				return bad_param(out, "given twice");
			seen_ret = 1;
			if (v != NULL && vlen == 4 &&
			    strncasecmp(v, "FULL", 4) == 0)
				out->ret = ENV_RET_FULL;
			else if (v != NULL && vlen == 4 &&
			    strncasecmp(v, "HDRS", 4) == 0)
				out->ret = ENV_RET_HDRS;
			else
				return bad_param(out, "FULL or HDRS expected");
		} else if (kw_is(kw, kwlen, "ENVID")) {
			if (out->has_envid)
				return bad_param(out, "given twice");
			out->has_envid = 1;
			if (v == NULL || vlen == 0 || smtp_xtext_decode(v, vlen,
			    out->envid, sizeof(out->envid)) == -1) {
				out->envid[0] = '\0';
				return bad_param(out, "xtext of at most 100 "
				    "printable characters expected");
			}
		} else
			return SMTP_PERR_PARAM;
	}
}

static enum smtp_perr
path_parse(const char *arg, const char *prefix, int is_mail, int utf8,
    struct smtp_path *out)
{
	char		 raw[SMTP_LINE_MAX];
	const char	*p, *end;
	size_t		 plen = strlen(prefix);
	enum smtp_perr	 pe;

	memset(out, 0, sizeof(*out));
	if (strncasecmp(arg, prefix, plen) != 0)
		return SMTP_PERR_SYNTAX;
	/* "MAIL FROM: <a@b>": common, and harmless to accept. */
	for (p = arg + plen; *p == ' ' || *p == '\t'; p++)
		;
	if (path_extract(p, raw, sizeof(raw), &end) == -1)
		return SMTP_PERR_SYNTAX;
	/* Nothing may stick to the '>': "<a@b>junk" is not a path. */
	if (*end != '\0' && *end != ' ' && *end != '\t')
		return SMTP_PERR_SYNTAX;
	if ((pe = params_parse(end, is_mail, out)) != SMTP_PERR_OK)
		return pe;
	if (is_mail)
		utf8 = out->smtputf8;
	if (utf8 && !utf8_valid(raw, strlen(raw)))
		return SMTP_PERR_UTF8;
	if (path_address(raw, is_mail, !is_mail, utf8, out) == -1)
		return SMTP_PERR_SYNTAX;
	return SMTP_PERR_OK;
}

enum smtp_perr
smtp_parse_mail(const char *arg, struct smtp_path *out)
{
	return path_parse(arg, "FROM:", 1, 0, out);
}

enum smtp_perr
smtp_parse_rcpt(const char *arg, int utf8, struct smtp_path *out)
{
	return path_parse(arg, "TO:", 0, utf8, out);
}

void
smtp_perr_reply(enum smtp_perr rc, const struct smtp_path *p,
    const char *syntax_reply, char *out, size_t outsz)
{
	switch (rc) {
	case SMTP_PERR_OK:
	case SMTP_PERR_SYNTAX:
		snprintf(out, outsz, "%s", syntax_reply);
		break;
	case SMTP_PERR_PARAM:
		snprintf(out, outsz, "555 5.5.4 Unsupported option: %s",
		    p->param);
		break;
	case SMTP_PERR_PARAM_SYNTAX:
		if (p->why != NULL)
			snprintf(out, outsz, "501 5.5.4 Bad %s parameter "
			    "syntax: %s", p->param, p->why);
		else
			snprintf(out, outsz, "501 5.5.4 Bad %s parameter "
			    "syntax", p->param);
		break;
	case SMTP_PERR_UTF8:
		/*
		 * Postfix's words and code (5.5.2: syntax). 553 5.6.7 is RFC
		 * 6531's answer for an address a server will not take, not
		 * for bytes that are no address at all.
		 */
		snprintf(out, outsz, "501 5.5.2 Error: bad UTF-8 syntax");
		break;
	}
}
