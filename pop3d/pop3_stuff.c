/*
 * pop3_stuff.c - turns a Maildir file (LF line ends, as deliverd writes
 * them, or CRLF from other tools) into a POP3 multi-line response body:
 * CRLF line ends and byte-stuffed dots (RFC 1939 3), optionally cut
 * after the header and n body lines (TOP).
 *
 * A bare CR (one not followed by LF) goes out as a space, as smtpd
 * stores it (libcommon/smtp_data.c says why). smtpd no longer stores one,
 * but a file delivered before, or put into the Maildir by another
 * program, may hold one; sent raw, "x\r.\r\n" is a lone dot to a
 * client that takes a CR as a line end, which would end the response
 * early and read the rest of the message as the server's replies. A
 * space is one octet, as the CR was, so LIST's sizes stay exact.
 *
 * Runs in the mail process. Its input is message text, which anyone who
 * can send mail chose: the filter is a byte-at-a-time state machine with
 * bounded output, so no chunking or content changes what it produces.
 * The sizes LIST reports are computed by the same rules
 * (maildir_vsize_*), so that a client receives exactly what it was told.
 */
#include <string.h>

#include "pop3d.h"

void
pop3_stuff_init(struct pop3_stuff *s)
{
	memset(s, 0, sizeof(*s));
	s->bol = 1;
}

void
pop3_stuff_init_top(struct pop3_stuff *s, uint32_t lines)
{
	pop3_stuff_init(s);
	s->limited = 1;
	s->lines = lines;
	/* TOP n 0 of a message: the header and the blank line only. */
}

size_t
pop3_stuff_feed(struct pop3_stuff *s, const unsigned char *in, size_t len,
    unsigned char *out, size_t *outlen)
{
	size_t	i, o = 0;

	for (i = 0; i < len && !s->done; i++) {
		unsigned char c = in[i];

		if (s->limited && s->in_body && s->bol &&
		    s->body_lines >= s->lines) {
			s->done = 1;
			break;
		}
		s->any = 1;
		if (s->cr) {
			/* The CR before c: a line end only if c is LF. */
			s->cr = 0;
			if (c != '\n') {
				out[o++] = ' ';
				s->bol = 0;
				s->nonblank = 1;
			}
		}
		if (c == '\n') {
			out[o++] = '\r';
			out[o++] = '\n';
			if (s->in_body)
				s->body_lines++;
			else if (!s->nonblank)
				s->in_body = 1;	/* the blank line ends the header */
			s->bol = 1;
			s->nonblank = 0;
			continue;
		}
		if (c == '\r') {
			s->cr = 1;	/* held until the next byte tells */
			continue;
		}
		if (s->bol && c == '.')
			out[o++] = '.';
		out[o++] = c;
		s->bol = 0;
		s->nonblank = 1;
	}
	if (s->limited && s->in_body && s->bol && s->body_lines >= s->lines)
		s->done = 1;
	*outlen = o;
	return i;
}

size_t
pop3_stuff_end(struct pop3_stuff *s, unsigned char *out)
{
	size_t o = 0;

	if (s->done)
		return 0;
	if (s->cr) {
		/* The message ends in a bare CR. */
		s->cr = 0;
		s->bol = 0;
		out[o++] = ' ';
	}
	if (s->bol)
		return o;
	/* A last line without LF: the terminator needs a line end first. */
	s->bol = 1;
	out[o++] = '\r';
	out[o++] = '\n';
	return o;
}
