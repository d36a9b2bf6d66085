/*
 * fuzz_pop3_stuff.c - fuzz target: pop3d's RETR/TOP filter
 * (pop3d/pop3_stuff.c: LF -> CRLF, dot-stuffing, the TOP cut) and the
 * size LIST announces for the same bytes (libcommon/maildir.c,
 * maildir_vsize_*).
 *
 * The input is a stored message: text anyone who can send mail chose.
 * The first byte seeds the chunking and the TOP line count. Checked:
 *   - chunk boundaries change nothing;
 *   - no feed writes more than twice its input plus POP3_STUFF_SLACK;
 *   - the response body never holds a "." line, so the client cannot
 *     be made to see the end of the message early, and ends in CRLF;
 *   - RETR sends exactly the announced size plus the stuffing dots;
 *   - TOP sends a prefix of RETR, cut at a line end.
 */
#include <string.h>

#include "fuzz.h"
#include "maildir.h"
#include "pop3d.h"

struct stuff_run {
	unsigned char	*out;
	size_t		 outlen;
};

static void
stuff_run(struct stuff_run *r, const unsigned char *in, size_t len,
    unsigned seed, int top, uint32_t lines)
{
	struct pop3_stuff s;
	unsigned char	*tmp;
	size_t		 off = 0, chunk, n, olen;

	if (top)
		pop3_stuff_init_top(&s, lines);
	else
		pop3_stuff_init(&s);
	r->outlen = 0;
	FUZZ_CHECK((tmp = malloc(2 * len + POP3_STUFF_SLACK)) != NULL);
	while (off < len && !s.done) {
		if (seed == 0)
			chunk = len - off;
		else {
			seed = seed * 1103515245u + 12345u;
			chunk = 1 + (seed >> 16) % 5;
			if (chunk > len - off)
				chunk = len - off;
		}
		n = pop3_stuff_feed(&s, in + off, chunk, tmp, &olen);
		FUZZ_CHECK(n <= chunk);
		FUZZ_CHECK(olen <= 2 * chunk + POP3_STUFF_SLACK);
		FUZZ_CHECK(n == chunk || s.done);
		memcpy(r->out + r->outlen, tmp, olen);
		r->outlen += olen;
		off += n;
	}
	r->outlen += pop3_stuff_end(&s, r->out + r->outlen);
	free(tmp);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stuff_run	 whole, cut, top;
	struct maildir_vsize	 v;
	const unsigned char	*in;
	unsigned char		*framed;
	size_t			 len, i, dots;
	uint32_t		 lines;

	if (size == 0)
		return 0;
	in = data + 1;
	len = size - 1;
	lines = data[0] >> 2;
	FUZZ_CHECK((whole.out = malloc(2 * len + 2)) != NULL);
	FUZZ_CHECK((cut.out = malloc(2 * len + 2)) != NULL);
	FUZZ_CHECK((top.out = malloc(2 * len + 2)) != NULL);
	stuff_run(&whole, in, len, 0, 0, 0);
	stuff_run(&cut, in, len, data[0] | 1u, 0, 0);
	FUZZ_CHECK(whole.outlen == cut.outlen &&
	    memcmp(whole.out, cut.out, whole.outlen) == 0);

	/* After "+OK ...\r\n": no "\r\n.\r\n" before our own terminator. */
	FUZZ_CHECK((framed = malloc(whole.outlen + 2)) != NULL);
	memcpy(framed, "\r\n", 2);
	memcpy(framed + 2, whole.out, whole.outlen);
	for (i = 0; i + 5 <= whole.outlen + 2; i++)
		FUZZ_CHECK(memcmp(framed + i, "\r\n.\r\n", 5) != 0);
	free(framed);
	FUZZ_CHECK(whole.outlen == 0 || (whole.outlen >= 2 &&
	    memcmp(whole.out + whole.outlen - 2, "\r\n", 2) == 0));
	for (i = 0; i < whole.outlen; i++)
		if (whole.out[i] == '\n')
			FUZZ_CHECK(i > 0 && whole.out[i - 1] == '\r');

	/* LIST's size: the same bytes, stuffing dots not counted. */
	maildir_vsize_init(&v);
	maildir_vsize_feed(&v, in, len / 2);
	maildir_vsize_feed(&v, in + len / 2, len - len / 2);
	for (i = 0, dots = 0; i < len; i++)
		if (in[i] == '.' && (i == 0 || in[i - 1] == '\n'))
			dots++;
	FUZZ_CHECK(maildir_vsize_end(&v) + dots == whole.outlen);

	stuff_run(&top, in, len, data[0] & 2 ? 0 : data[0] | 1u, 1, lines);
	FUZZ_CHECK(top.outlen <= whole.outlen &&
	    memcmp(top.out, whole.out, top.outlen) == 0);
	FUZZ_CHECK(top.outlen == 0 || memcmp(top.out + top.outlen - 2,
	    "\r\n", 2) == 0);
	free(whole.out);
	free(cut.out);
	free(top.out);
	return 0;
}
