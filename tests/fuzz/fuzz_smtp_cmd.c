/*
 * fuzz_smtp_cmd.c - fuzz target: smtpd's command line parser and the
 * MAIL FROM / RCPT TO / VRFY paths (libcommon/smtp_cmd.c), and through them
 * the one address parser (libcommon/addr.c).
 *
 * The input is what a client sends: it is cut into lines as smtpd's line
 * reader cuts them (at LF, one CR before it dropped, longer than
 * SMTP_LINE_MAX with its CRLF refused), and each line is parsed as the
 * session parses it. Beyond "no crash", it checks that every address the
 * parsers accept is one addr_parse accepts again unchanged.
 */
#include <string.h>

#include "addr.h"
#include "fuzz.h"
#include "smtp_cmd.h"

/* An accepted address formats and parses back to itself. */
static void
check_addr(const char *s, int utf8)
{
	struct mailaddr	a, b;
	char		out[ADDR_MAX + 1], out2[ADDR_MAX + 1];

	if (addr_parse(s, &a, utf8) == -1)
		return;
	FUZZ_CHECK(strlen(a.local) <= ADDR_LOCAL_MAX);
	FUZZ_CHECK(strlen(a.domain) <= ADDR_DOMAIN_MAX);
	FUZZ_CHECK(addr_valid_domain(a.domain));
	FUZZ_CHECK(addr_format(&a, out, sizeof(out)) == 0);
	FUZZ_CHECK(addr_parse(out, &b, utf8) == 0);
	FUZZ_CHECK(strcmp(a.local, b.local) == 0);
	FUZZ_CHECK(strcmp(a.domain, b.domain) == 0);
	FUZZ_CHECK(addr_format(&b, out2, sizeof(out2)) == 0);
	FUZZ_CHECK(strcmp(out, out2) == 0);
	/* Without SMTPUTF8 an accepted address is 7-bit. */
	if (!utf8)
		for (const char *p = out; *p != '\0'; p++)
			FUZZ_CHECK((unsigned char)*p < 0x80);
	(void)addr_is_store_safe(a.local);
	(void)addr_is_store_safe(a.domain);
}

static void
check_path(const struct smtp_path *p, enum smtp_perr pe, int utf8)
{
	FUZZ_CHECK(pe == SMTP_PERR_OK || pe == SMTP_PERR_SYNTAX ||
	    pe == SMTP_PERR_PARAM || pe == SMTP_PERR_PARAM_SYNTAX ||
	    pe == SMTP_PERR_UTF8);
	FUZZ_CHECK(memchr(p->addr, '\0', sizeof(p->addr)) != NULL);
	FUZZ_CHECK(memchr(p->param, '\0', sizeof(p->param)) != NULL);
	if (pe != SMTP_PERR_OK)
		return;
	/* What smtpd accepts, queued's Q_COMMIT decoder accepts too. */
	FUZZ_CHECK(!p->has_envid || env_envid_valid(p->envid));
	FUZZ_CHECK(p->orcpt[0] == '\0' || env_orcpt_valid(p->orcpt));
	FUZZ_CHECK(env_notify_valid(p->notify));
	FUZZ_CHECK(p->ret >= ENV_RET_NONE && p->ret <= ENV_RET_HDRS);
	if (p->postmaster) {
		FUZZ_CHECK(strcmp(p->addr, "postmaster") == 0);
		return;
	}
	if (p->addr[0] != '\0') {
		struct mailaddr a;

		FUZZ_CHECK(addr_parse(p->addr, &a, utf8) == 0);
		check_addr(p->addr, utf8);
	}
}

static void
one_line(const char *line, size_t len, int *utf8)
{
	struct smtp_cmd		 cmd;
	struct smtp_path	 p;
	enum smtp_perr		 pe;
	char			 path[SMTP_LINE_MAX + 8];

	smtp_cmd_parse(line, len, &cmd);
	FUZZ_CHECK(cmd.arg != NULL);
	if (cmd.verb == SMTP_CMD_NUL) {
		FUZZ_CHECK(memchr(line, '\0', len) != NULL);
		return;
	}
	if (cmd.verb != SMTP_CMD_UNKNOWN)
		FUZZ_CHECK(cmd.arg >= line && cmd.arg <= line + len);
	switch (cmd.verb) {
	case SMTP_CMD_MAIL:
		pe = smtp_parse_mail(cmd.arg, &p);
		check_path(&p, pe, p.smtputf8);
		if (pe == SMTP_PERR_OK)
			*utf8 = p.smtputf8;
		break;
	case SMTP_CMD_RCPT:
		pe = smtp_parse_rcpt(cmd.arg, *utf8, &p);
		check_path(&p, pe, *utf8);
		break;
	case SMTP_CMD_VRFY:
		/* As smtp_session.c's cmd_vrfy builds it. */
		if (cmd.arg[0] == '\0')
			break;
		snprintf(path, sizeof(path), cmd.arg[0] == '<' ? "TO:%s" :
		    "TO:<%s>", cmd.arg);
		pe = smtp_parse_rcpt(path, 0, &p);
		check_path(&p, pe, 0);
		break;
	case SMTP_CMD_HELO:
	case SMTP_CMD_EHLO:
		(void)addr_valid_domain(cmd.arg);
		break;
	default:
		break;
	}
	/* The bare address parser on the whole argument, both modes. */
	check_addr(cmd.arg, 0);
	check_addr(cmd.arg, 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		 line[SMTP_LINE_MAX];
	const uint8_t	*p = data, *end = data + size, *lf;
	size_t		 n;
	int		 utf8 = 0;

	while (p < end) {
		lf = memchr(p, '\n', (size_t)(end - p));
		n = lf != NULL ? (size_t)(lf - p) : (size_t)(end - p);
		if (lf != NULL && n > 0 && p[n - 1] == '\r')
			n--;
		/* netio_getline: the limit counts the CRLF. */
		if (n <= SMTP_LINE_MAX - 2) {
			memcpy(line, p, n);
			line[n] = '\0';
			one_line(line, n, &utf8);
		}
		if (lf == NULL)
			break;
		p = lf + 1;
	}
	return 0;
}
