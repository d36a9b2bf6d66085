/*
 * pop3_cmd.c - the one POP3 command parser: keyword and arguments,
 * message numbers (the SASL PLAIN response is libcommon/sasl.c's).
 *
 * Runs in the login process (unprivileged, chrooted in an empty directory)
 * and in the mail process (the mail-store uid, confined to one user's
 * directory). Its input is the network: lines are already bounded by
 * netio, and nothing here allocates.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "pop3d.h"

static const struct {
	const char	*name;
	enum pop3_verb	 verb;
} pop3_verbs[] = {
	{ "USER", POP3_CMD_USER }, { "PASS", POP3_CMD_PASS },
	{ "APOP", POP3_CMD_APOP }, { "AUTH", POP3_CMD_AUTH },
	{ "CAPA", POP3_CMD_CAPA }, { "STLS", POP3_CMD_STLS },
	{ "QUIT", POP3_CMD_QUIT }, { "STAT", POP3_CMD_STAT },
	{ "LIST", POP3_CMD_LIST }, { "UIDL", POP3_CMD_UIDL },
	{ "RETR", POP3_CMD_RETR }, { "TOP", POP3_CMD_TOP },
	{ "DELE", POP3_CMD_DELE }, { "RSET", POP3_CMD_RSET },
	{ "NOOP", POP3_CMD_NOOP }, { "LAST", POP3_CMD_LAST },
};

void
pop3_cmd_parse(const char *line, size_t len, struct pop3_cmd *c)
{
	size_t	kw, i;

	c->verb = POP3_CMD_UNKNOWN;
	c->name = "";
	c->arg = "";
	if (memchr(line, '\0', len) != NULL) {
		c->verb = POP3_CMD_NUL;
		return;
	}
	if (len == 0) {
		c->verb = POP3_CMD_EMPTY;
		return;
	}
	for (kw = 0; kw < len && line[kw] != ' '; kw++)
		;
	/* RFC 1939: keywords are three or four characters. */
	if (kw < 3 || kw > 4)
		return;
	for (i = 0; i < sizeof(pop3_verbs) / sizeof(pop3_verbs[0]); i++) {
		if (strlen(pop3_verbs[i].name) == kw &&
		    strncasecmp(line, pop3_verbs[i].name, kw) == 0) {
			c->verb = pop3_verbs[i].verb;
			c->name = pop3_verbs[i].name;
			c->arg = kw < len ? line + kw + 1 : line + kw;
			return;
		}
	}
}

int
pop3_cmd_words(const char *arg, char *words, size_t wsz, const char **v,
    int max)
{
	char	*p;
	int	 n = 0;

	if (strlcpy(words, arg, wsz) >= wsz)
		return -1;
	if (words[0] == '\0')
		return 0;
	p = words;
	for (;;) {
		char *sp = strchr(p, ' ');

		if (sp == p || *p == '\0' || n == max)
			return -1;	/* empty word, trailing space, too many */
		v[n++] = p;
		if (sp == NULL)
			return n;
		*sp = '\0';
		p = sp + 1;
	}
}

static int
parse_u32(const char *s, uint32_t *out, uint32_t min, uint32_t max)
{
	uint64_t v = 0;
	size_t	 i;

	if (s[0] == '\0')
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int
pop3_parse_msgnum(const char *s, uint32_t *n)
{
	return parse_u32(s, n, 1, POP3_MESSAGES_MAX);
}

int
pop3_parse_count(const char *s, uint32_t *n)
{
	return parse_u32(s, n, 0, UINT32_MAX);
}
