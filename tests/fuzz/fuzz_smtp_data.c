/*
 * fuzz_smtp_data.c - fuzz target: smtpd's DATA state machine
 * (libcommon/smtp_data.c): end-of-data detection, dot unstuffing, the
 * per-line length and NUL flags.
 *
 * The first input byte seeds how the rest is cut into chunks; the rest
 * is what the client sends after the 354. Checked, beyond "no crash":
 *   - chunk boundaries change nothing (whole input vs. the cut one);
 *   - no feed writes more than its input plus SMTP_DATA_SLACK;
 *   - the message ends exactly at the first <CRLF>.<CRLF> (the 354's
 *     CRLF counting as the first), never elsewhere: the smuggling rule;
 *   - the size, long-line and NUL flags match a plain re-count;
 *   - for text whose every line ends in CRLF (no bare CR or LF, whose
 *     treatment is policy), what is stored is the lines with LF ends
 *     and one leading dot removed, as RFC 5321 4.5.2 says.
 */
#include <string.h>

#include "fuzz.h"
#include "smtp_data.h"

struct data_run {
	struct smtp_data d;
	unsigned char	*out;
	size_t		 outlen;
	size_t		 consumed;
};

/* Feeds in[0..len) in chunks whose sizes come from seed; 0: one piece. */
static void
data_run(struct data_run *r, const unsigned char *in, size_t len,
    unsigned seed, uint64_t line_max)
{
	unsigned char	*tmp;
	size_t		 off = 0, chunk, n, olen;

	smtp_data_init(&r->d);
	r->d.line_max = line_max;
	r->outlen = 0;
	r->consumed = 0;
	FUZZ_CHECK((tmp = malloc(len + SMTP_DATA_SLACK)) != NULL);
	while (off < len && !smtp_data_done(&r->d)) {
		if (seed == 0)
			chunk = len - off;
		else {
			seed = seed * 1103515245u + 12345u;
			chunk = 1 + (seed >> 16) % 7;
			if (chunk > len - off)
				chunk = len - off;
		}
		n = smtp_data_feed(&r->d, in + off, chunk, tmp, &olen);
		FUZZ_CHECK(n <= chunk);
		FUZZ_CHECK(olen <= chunk + SMTP_DATA_SLACK);
		/* Only the end of data stops a feed early. */
		FUZZ_CHECK(n == chunk || smtp_data_done(&r->d));
		memcpy(r->out + r->outlen, tmp, olen);
		r->outlen += olen;
		off += n;
	}
	r->consumed = off;
	free(tmp);
}

/* Where the message ends: the bytes up to and including ".\r\n", or 0. */
static size_t
ref_end(const unsigned char *in, size_t len)
{
	size_t i;

	if (len >= 3 && memcmp(in, ".\r\n", 3) == 0)
		return 3;
	for (i = 0; i + 5 <= len; i++)
		if (memcmp(in + i, "\r\n.\r\n", 5) == 0)
			return i + 5;
	return 0;
}

static int
clean_crlf(const unsigned char *in, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (in[i] == '\r' && (i + 1 == len || in[i + 1] != '\n'))
			return 0;
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
			return 0;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct data_run	 whole, cut;
	const unsigned char *in;
	size_t		 len, end, i, seg, body, stuffed, o;
	unsigned char	*ref;
	int		 long_line = 0;
	uint64_t	 line_max;

	if (size == 0)
		return 0;
	in = data + 1;
	len = size - 1;
	/* smtpd_max_line_length: none (the default), or 16 to 1024. */
	line_max = (data[0] & 0x40) ? 0 : 16 + (uint64_t)(data[0] & 0x3f) * 16;
	FUZZ_CHECK((whole.out = malloc(len + SMTP_DATA_SLACK)) != NULL);
	FUZZ_CHECK((cut.out = malloc(len + SMTP_DATA_SLACK)) != NULL);
	data_run(&whole, in, len, 0, line_max);
	data_run(&cut, in, len, data[0] | 1u, line_max);

	FUZZ_CHECK(whole.consumed == cut.consumed);
	FUZZ_CHECK(smtp_data_done(&whole.d) == smtp_data_done(&cut.d));
	FUZZ_CHECK(whole.d.received == cut.d.received);
	FUZZ_CHECK(whole.d.long_line == cut.d.long_line);
	FUZZ_CHECK(whole.d.nul == cut.d.nul);
	FUZZ_CHECK(whole.outlen == cut.outlen);
	FUZZ_CHECK(memcmp(whole.out, cut.out, whole.outlen) == 0);

	end = ref_end(in, len);
	FUZZ_CHECK(smtp_data_done(&whole.d) == (end != 0));
	FUZZ_CHECK(whole.consumed == (end != 0 ? end : len));
	FUZZ_CHECK(whole.d.nul ==
	    (memchr(in, '\0', whole.consumed) != NULL));
	for (i = 0, seg = 0; i < whole.consumed; i++) {
		if (++seg > line_max && line_max != 0)
			long_line = 1;
		if (in[i] == '\n')
			seg = 0;
	}
	FUZZ_CHECK(whole.d.long_line == long_line);

	if (end == 0 || !clean_crlf(in, end)) {
		free(whole.out);
		free(cut.out);
		return 0;
	}
	/*
	 * CRLF text up to the end: each line loses one leading dot and its
	 * CR. body is the message without the final ".\r\n".
	 */
	body = end - 3;
	FUZZ_CHECK((ref = malloc(body + 1)) != NULL);
	for (i = 0, o = 0, stuffed = 0; i < body; ) {
		if (in[i] == '.') {
			i++;
			stuffed++;
		}
		while (in[i] != '\r')
			ref[o++] = in[i++];
		ref[o++] = '\n';
		i += 2;
	}
	FUZZ_CHECK(whole.outlen == o);
	FUZZ_CHECK(memcmp(whole.out, ref, o) == 0);
	/* RFC 1870: CRLF counts two, stuffing dots do not count. */
	FUZZ_CHECK(whole.d.received == body - stuffed);
	free(ref);
	free(whole.out);
	free(cut.out);
	return 0;
}
