/*
 * fuzz_pop3_cmd.c - fuzz target: pop3d's command parser, argument words,
 * message numbers and the AUTH PLAIN response (base64, then the SASL
 * PLAIN fields) of pop3d/pop3_cmd.c, driven as pop3_login.c and
 * pop3_mail.c drive them.
 *
 * The input is what a client sends, cut into lines as netio cuts them.
 * Beyond "no crash": words join back to the argument, numbers are the
 * digits they were written with, accepted base64 is canonical (it encodes
 * back to the same text), and an accepted PLAIN response is exactly
 * "[authcid] NUL authcid NUL passwd" with no further NUL (RFC 4616).
 */
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "pop3d.h"
#include "proto.h"
#include "sasl.h"

static void
b64_encode(const unsigned char *in, size_t len, char *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t	i;
	char	*o = out;

	for (i = 0; i + 3 <= len; i += 3) {
		*o++ = tab[in[i] >> 2];
		*o++ = tab[(in[i] & 3) << 4 | in[i + 1] >> 4];
		*o++ = tab[(in[i + 1] & 0xf) << 2 | in[i + 2] >> 6];
		*o++ = tab[in[i + 2] & 0x3f];
	}
	if (len - i == 1) {
		*o++ = tab[in[i] >> 2];
		*o++ = tab[(in[i] & 3) << 4];
		*o++ = '=';
		*o++ = '=';
	} else if (len - i == 2) {
		*o++ = tab[in[i] >> 2];
		*o++ = tab[(in[i] & 3) << 4 | in[i + 1] >> 4];
		*o++ = tab[(in[i + 1] & 0xf) << 2];
		*o++ = '=';
	}
	*o = '\0';
}

/* As pop3_login.c's auth_plain. */
static void
auth_plain(const char *resp)
{
	unsigned char	dec[POP3_LINE_MAX];
	char		user[ADDR_MAX + 1], pass[A_AUTH_SECRET_MAX + 1];
	char		back[POP3_LINE_MAX * 2];
	size_t		declen, ulen;

	if (strcmp(resp, "*") == 0)
		return;
	if (sasl_base64_decode(resp, dec, sizeof(dec), &declen) == -1)
		return;
	FUZZ_CHECK(declen <= sizeof(dec));
	if (strcmp(resp, "=") == 0)
		FUZZ_CHECK(declen == 0);
	else {
		b64_encode(dec, declen, back);
		FUZZ_CHECK(strcmp(back, resp) == 0);
	}
	if (sasl_plain(dec, declen, user, sizeof(user), pass,
	    sizeof(pass)) == -1)
		return;
	ulen = strlen(user);
	FUZZ_CHECK(ulen > 0);
	/* authzid is empty or the authcid; the rest is the password. */
	FUZZ_CHECK(declen == 2 + ulen + strlen(pass) ||
	    declen == 2 + 2 * ulen + strlen(pass));
}

static void
check_words(const char *arg, int max)
{
	char		 words[POP3_LINE_MAX], join[POP3_LINE_MAX];
	const char	*v[2];
	int		 n, i;

	n = pop3_cmd_words(arg, words, sizeof(words), v, max);
	FUZZ_CHECK(n >= -1 && n <= max);
	if (n == -1)
		return;
	join[0] = '\0';
	for (i = 0; i < n; i++) {
		FUZZ_CHECK(v[i][0] != '\0' && strchr(v[i], ' ') == NULL);
		if (i > 0)
			strlcat(join, " ", sizeof(join));
		strlcat(join, v[i], sizeof(join));
	}
	FUZZ_CHECK(strcmp(join, arg) == 0);
}

static void
check_number(const char *s)
{
	uint32_t	n;
	char		*end;
	unsigned long long v;

	if (pop3_parse_msgnum(s, &n) == 0) {
		FUZZ_CHECK(n >= 1 && n <= POP3_MESSAGES_MAX);
		v = strtoull(s, &end, 10);
		FUZZ_CHECK(*end == '\0' && v == n && s[0] >= '0' &&
		    s[0] <= '9');
	}
	if (pop3_parse_count(s, &n) == 0) {
		v = strtoull(s, &end, 10);
		FUZZ_CHECK(*end == '\0' && v == n && s[0] >= '0' &&
		    s[0] <= '9');
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		 line[POP3_LINE_MAX], words[POP3_LINE_MAX];
	const char	*v[2];
	const uint8_t	*p = data, *end = data + size, *lf;
	struct pop3_cmd	 c;
	size_t		 n;
	int		 nw, want_plain = 0;

	while (p < end) {
		lf = memchr(p, '\n', (size_t)(end - p));
		n = lf != NULL ? (size_t)(lf - p) : (size_t)(end - p);
		if (lf != NULL && n > 0 && p[n - 1] == '\r')
			n--;
		if (n > POP3_LINE_MAX - 2)
			goto next;
		memcpy(line, p, n);
		line[n] = '\0';
		if (want_plain) {
			/* The line after "AUTH PLAIN" is its response. */
			want_plain = 0;
			if (memchr(line, '\0', n) == NULL)
				auth_plain(line);
			goto next;
		}
		pop3_cmd_parse(line, n, &c);
		FUZZ_CHECK(c.name != NULL && c.arg != NULL);
		if (c.verb == POP3_CMD_NUL) {
			FUZZ_CHECK(memchr(line, '\0', n) != NULL);
			goto next;
		}
		if (c.verb == POP3_CMD_EMPTY)
			FUZZ_CHECK(n == 0);
		if (c.verb > POP3_CMD_NUL) {
			FUZZ_CHECK(strlen(c.name) == 3 || strlen(c.name) == 4);
			FUZZ_CHECK(strncasecmp(line, c.name,
			    strlen(c.name)) == 0);
			FUZZ_CHECK(c.arg >= line && c.arg <= line + n);
		}
		switch (c.verb) {
		case POP3_CMD_AUTH:
			nw = pop3_cmd_words(c.arg, words, sizeof(words), v, 2);
			if (nw >= 1 && strcasecmp(v[0], "PLAIN") == 0) {
				if (nw == 2)
					auth_plain(v[1]);
				else
					want_plain = 1;
			}
			break;
		case POP3_CMD_LIST:
		case POP3_CMD_UIDL:
		case POP3_CMD_RETR:
		case POP3_CMD_DELE:
			check_words(c.arg, 1);
			if (pop3_cmd_words(c.arg, words, sizeof(words), v,
			    1) == 1)
				check_number(v[0]);
			break;
		case POP3_CMD_TOP:
			check_words(c.arg, 2);
			if (pop3_cmd_words(c.arg, words, sizeof(words), v,
			    2) == 2) {
				check_number(v[0]);
				check_number(v[1]);
			}
			break;
		default:
			check_words(c.arg, 2);
			break;
		}
		/* Any argument as an AUTH PLAIN response, too. */
		auth_plain(c.arg);
next:
		if (lf == NULL)
			break;
		p = lf + 1;
	}
	return 0;
}
