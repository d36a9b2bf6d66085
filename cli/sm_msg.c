/*
 * sm_msg.c - reading the message and building the header that sendmail
 * queues (cli_core).
 *
 * Runs in sendmail, as the invoking user, unprivileged. The message text
 * is the caller's and untrusted: it is capped at message_size_limit while
 * it is read, never after. Line ends become LF and a bare CR (one not
 * right before the LF) a space, the rule smtpd's DATA follows
 * (libcommon/smtp_data.c says why). The header fields added here follow what
 * Postfix's cleanup adds to a local submission, so that mail from cron
 * and web applications is well formed when it leaves the host.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "sendmail.h"

void
sm_input_init(struct sm_input *in, size_t limit, int ignore_dots)
{
	memset(in, 0, sizeof(*in));
	buf_init(&in->msg, limit);
	/* One more for the CR that a CRLF line carries until it is cut. */
	buf_init(&in->line, limit + 1);
	in->limit = limit;
	in->ignore_dots = ignore_dots;
	in->first = 1;
}

void
sm_input_free(struct sm_input *in)
{
	buf_free(&in->msg);
	buf_free(&in->line);
}

/* One complete line (without its LF) into the message. */
static int
sm_input_line(struct sm_input *in, int had_lf)
{
	struct buf	*l = &in->line;
	int		 first = in->first;
	char		*cr;

	in->first = 0;
	if (had_lf && l->len > 0 && l->data[l->len - 1] == '\r')
		l->len--;
	while (l->len > 0 && (cr = memchr(l->data, '\r', l->len)) != NULL)
		*cr = ' ';
	if (!in->ignore_dots && l->len == 1 && l->data[0] == '.') {
		in->done = 1;
		buf_reset(l);
		return 1;
	}
	/* An mbox "From " line is not a header field: Postfix drops it too. */
	if (first && l->len >= 5 && memcmp(l->data, "From ", 5) == 0) {
		buf_reset(l);
		return 0;
	}
	if (in->msg.len + l->len + 1 > in->limit) {
		errno = E2BIG;
		return -1;
	}
	if (buf_append(&in->msg, l->data, l->len) == -1 ||
	    buf_append(&in->msg, "\n", 1) == -1)
		return -1;
	buf_reset(l);
	return 0;
}

int
sm_input_feed(struct sm_input *in, const char *p, size_t n)
{
	const char	*nl;
	size_t		 take;
	int		 r;

	if (in->done)
		return 1;
	while (n > 0) {
		nl = memchr(p, '\n', n);
		take = nl ? (size_t)(nl - p) : n;
		if (in->msg.len + in->line.len + take > in->limit + 1) {
			errno = E2BIG;
			return -1;
		}
		if (buf_append(&in->line, p, take) == -1)
			return -1;
		if (nl == NULL)
			break;
		if ((r = sm_input_line(in, 1)) != 0)
			return r;
		p += take + 1;
		n -= take + 1;
	}
	return 0;
}

int
sm_input_finish(struct sm_input *in)
{
	if (in->done || in->line.len == 0)
		return 0;
	return sm_input_line(in, 0) == -1 ? -1 : 0;
}

int
sm_addr_complete(const char *in, const char *domain, char *out,
    size_t outsz)
{
	size_t	len = strlen(in);
	int	n;

	if (len >= 2 && in[0] == '<' && in[len - 1] == '>') {
		in++;
		len -= 2;
	}
	if (len == 0) {
		if (outsz == 0)
			return -1;
		out[0] = '\0';
		return 0;
	}
	if (memchr(in, '@', len) != NULL)
		n = snprintf(out, outsz, "%.*s", (int)len, in);
	else
		n = snprintf(out, outsz, "%.*s@%s", (int)len, in, domain);
	return (n < 0 || (size_t)n >= outsz) ? -1 : 0;
}

static int
sm_collect(struct mailhdr *h, const char *const *names,
    struct mailhdr_addrs *out, char *err, size_t errlen)
{
	char	why[128];
	size_t	i, j;

	for (i = 0; i < h->n; i++) {
		if (h->f[i].deleted)
			continue;
		for (j = 0; names[j] != NULL; j++)
			if (strcasecmp(h->f[i].name, names[j]) == 0)
				break;
		if (names[j] == NULL)
			continue;
		if (mailhdr_addrlist(h->f[i].value, out, why,
		    sizeof(why)) == -1) {
			snprintf(err, errlen, "%s header: %s", names[j], why);
			return -1;
		}
	}
	return 0;
}

int
sm_header_recipients(struct mailhdr *h, struct mailhdr_addrs *out,
    char *err, size_t errlen)
{
	static const char *const resent[] = { "Resent-To", "Resent-Cc",
	    "Resent-Bcc", NULL };
	static const char *const plain[] = { "To", "Cc", "Bcc", NULL };

	if (mailhdr_find(h, "Resent-To") != NULL ||
	    mailhdr_find(h, "Resent-Cc") != NULL ||
	    mailhdr_find(h, "Resent-Bcc") != NULL)
		return sm_collect(h, resent, out, err, errlen);
	return sm_collect(h, plain, out, err, errlen);
}

/* The display name for From:, as a quoted string without control bytes. */
static int
sm_put_fullname(struct buf *out, const char *name)
{
	const unsigned char	*p;
	size_t			 n = 0;

	if (buf_append(out, "\"", 1) == -1)
		return -1;
	for (p = (const unsigned char *)name; *p != '\0' && n < 200; p++, n++) {
		if (*p < 0x20 || *p == 0x7f)
			continue;
		if ((*p == '"' || *p == '\\') && buf_append(out, "\\", 1) == -1)
			return -1;
		if (buf_append(out, p, 1) == -1)
			return -1;
	}
	return buf_append(out, "\" ", 2);
}

int
sm_header_build(struct mailhdr *h, const char *msg,
    const struct sm_stamp *s, struct buf *out)
{
	struct tm	 lt, gt;
	char		 date[64], stamp[32];

	if (localtime_r(&s->now, &lt) == NULL || gmtime_r(&s->now, &gt) == NULL)
		return -1;
	/* No setlocale() in sendmail: day and month names stay English. */
	if (strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &lt) == 0 ||
	    strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &gt) == 0)
		return -1;
	/*
	 * No Received line of our own: queued writes one from the socket's
	 * credentials, which the caller cannot forge; one from here would
	 * only cost the message a hop.
	 */
	/* Bcc is the one header whose whole point is not to be delivered. */
	mailhdr_delete(h, "Bcc");
	mailhdr_delete(h, "Resent-Bcc");
	if (mailhdr_write(h, msg, out) == -1)
		return -1;
	if (mailhdr_find(h, "Date") == NULL &&
	    buf_printf(out, "Date: %s\n", date) == -1)
		return -1;
	if (mailhdr_find(h, "Message-ID") == NULL &&
	    buf_printf(out, "Message-ID: <%s.%s@%s>\n", stamp, s->qid,
	    s->myhostname) == -1)
		return -1;
	if (mailhdr_find(h, "From") == NULL) {
		if (buf_puts(out, "From: ") == -1)
			return -1;
		if (s->sender[0] == '\0') {
			if (buf_printf(out, "MAILER-DAEMON@%s\n",
			    s->myhostname) == -1)
				return -1;
		} else {
			if (s->fullname != NULL && s->fullname[0] != '\0' &&
			    sm_put_fullname(out, s->fullname) == -1)
				return -1;
			if (buf_printf(out, s->fullname != NULL &&
			    s->fullname[0] != '\0' ? "<%s>\n" : "%s\n",
			    s->sender) == -1)
				return -1;
		}
	}
	return buf_puts(out, "\n");
}

void
sm_fullname(const char *opt, char *out, size_t outsz)
{
	struct passwd	*pw;
	char		*comma;

	if (opt != NULL) {
		strlcpy(out, opt, outsz);
		return;
	}
	out[0] = '\0';
	/* The GECOS full name is the first comma-separated field. */
	if ((pw = getpwuid(getuid())) != NULL && pw->pw_gecos != NULL) {
		strlcpy(out, pw->pw_gecos, outsz);
		if ((comma = strchr(out, ',')) != NULL)
			*comma = '\0';
	}
}
