/*
 * smtp_data.c - the DATA byte state machine: end-of-data detection, dot
 * unstuffing, line end conversion, bare CR replacement and the per-line
 * and NUL checks.
 *
 * Runs in the smtpd session child, unprivileged, and in sendmail -bs as
 * the local user. Its input is the client's message text, hostile by
 * assumption. It is a pure function
 * of its state and the bytes fed, byte by byte, so chunk boundaries
 * cannot change its answer (tests/unit/test_smtp_data.c proves it at
 * every split). It keeps no line: a line of any length streams through
 * in the caller's buffer, so line_max is a policy, not a memory bound.
 *
 * Only <CRLF>.<CRLF> ends the message, where the first CRLF may be the
 * 354 reply's. A bare LF ends a line for storage (the spool keeps LF
 * line ends) but is not a line start that "." may follow: "\n.\n",
 * "\n.\r\n", "\r.\r" and "\r\n.\n" are message text. A server that is
 * more lenient than the MTA it relays to lets a client smuggle a second
 * message past it (CVE-2023-51764, "SMTP smuggling").
 *
 * A bare CR (a CR not followed by LF) is stored as a space, as
 * sendmail 8.18 does when told to keep such mail ("u2"). RFC 5322 2.3
 * forbids it in a message, and kept raw it is a line end to some
 * readers and not to others: "x\r.\r\n" is a lone dot to a lenient
 * POP3 or SMTP client further on. As a line end instead, the common
 * real case, "\r\r\n" from a mailer that converted line ends twice,
 * would put an empty line into the header and end it early; refused,
 * that same mail would be lost. A space keeps the text and its size.
 */
#include <string.h>

#include "smtp_data.h"

void
smtp_data_init(struct smtp_data *d)
{
	memset(d, 0, sizeof(*d));
	d->state = SMTP_DATA_BOL;
}

int
smtp_data_done(const struct smtp_data *d)
{
	return d->state == SMTP_DATA_END;
}

size_t
smtp_data_feed(struct smtp_data *d, const unsigned char *in, size_t len,
    unsigned char *out, size_t *outlen)
{
	size_t	i, o = 0;

	for (i = 0; i < len && d->state != SMTP_DATA_END; i++) {
		unsigned char c = in[i];

		d->received++;
		if (++d->linelen > d->line_max && d->line_max != 0)
			d->long_line = 1;
		if (c == '\0')
			d->nul = 1;

		switch (d->state) {
		case SMTP_DATA_DOT_CR:
			if (c == '\n') {
				d->state = SMTP_DATA_END;
				/* The final ".\r\n" is not part of the message. */
				d->received -= 3;
				continue;
			}
			/* The dot was stuffing; the CR was a bare CR. */
			d->received--;	/* RFC 1870: stuffing is not counted */
			out[o++] = ' ';
			d->state = SMTP_DATA_MID;
			if (c == '\r') {
				d->state = SMTP_DATA_CR;
				continue;
			}
			break;
		case SMTP_DATA_DOT:
			if (c == '\r') {
				d->state = SMTP_DATA_DOT_CR;
				continue;
			}
			/* A stuffed line: its first dot goes, c is read as text. */
			d->received--;
			d->state = SMTP_DATA_MID;
			break;
		case SMTP_DATA_CR:
			if (c == '\n') {
				out[o++] = '\n';
				d->state = SMTP_DATA_BOL;
				d->linelen = 0;
				continue;
			}
			out[o++] = ' ';		/* a bare CR: see the top */
			d->state = SMTP_DATA_MID;
			if (c == '\r') {
				d->state = SMTP_DATA_CR;
				continue;
			}
			break;
		case SMTP_DATA_BOL:
			if (c == '.') {
				d->state = SMTP_DATA_DOT;
				continue;
			}
			d->state = SMTP_DATA_MID;
			break;
		case SMTP_DATA_MID:
		case SMTP_DATA_END:
			break;
		}

		/* SMTP_DATA_MID: ordinary text. */
		if (c == '\r') {
			d->state = SMTP_DATA_CR;
			continue;
		}
		out[o++] = c;
		if (c == '\n')
			d->linelen = 0;	/* a line end, but not a line start */
	}
	*outlen = o;
	return i;
}
