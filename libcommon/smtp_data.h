/*
 * smtp_data.h - the SMTP DATA byte state machine (end of data, dot
 * unstuffing, line ends, bare CR, line length and NUL flags). Pure;
 * shared by smtpd's sessions and sendmail -bs.
 */
#ifndef POSTERN_SMTP_DATA_H
#define POSTERN_SMTP_DATA_H

#include <stddef.h>
#include <stdint.h>

/*
 * DATA (smtp_data.c): finds the end of the message, undoes dot stuffing
 * and stores a bare CR as a space, one byte at a time so that chunk
 * boundaries never matter.
 */
enum smtp_data_state {
	SMTP_DATA_BOL = 0,	/* after CRLF (or the 354): a proper line start */
	SMTP_DATA_MID,		/* inside a line, or after a bare LF */
	SMTP_DATA_CR,		/* a CR not yet known to end the line */
	SMTP_DATA_DOT,		/* "." at a proper line start */
	SMTP_DATA_DOT_CR,	/* ".\r" at a proper line start */
	SMTP_DATA_END,		/* "\r\n.\r\n" seen */
};

struct smtp_data {
	enum smtp_data_state state;
	uint64_t	received;	/* message size as RFC 1870 counts it */
	uint64_t	line_max;	/* octets a line may have with its CRLF;
					   0 (smtp_data_init's): no limit */
	uint64_t	linelen;	/* octets of the current line so far */
	int		long_line;	/* some line passed line_max */
	int		nul;		/* a NUL byte was seen */
};

/* Output of one feed is at most its input plus this. */
#define SMTP_DATA_SLACK	2

void	smtp_data_init(struct smtp_data *);
/*
 * Consumes up to len bytes of in, stopping right after the end of data
 * (the bytes after it are the next commands). Writes the bytes to store
 * (LF line ends, unstuffed, a bare CR as a space) to out, which holds
 * len + SMTP_DATA_SLACK; *outlen is how many. Returns the bytes consumed.
 */
size_t	smtp_data_feed(struct smtp_data *, const unsigned char *in, size_t len,
	    unsigned char *out, size_t *outlen);
int	smtp_data_done(const struct smtp_data *);

#endif
