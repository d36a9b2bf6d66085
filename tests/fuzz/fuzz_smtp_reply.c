/*
 * fuzz_smtp_reply.c - fuzz target: what deliverd's SMTP client reads
 * from a remote server (deliverd/smtp_reply.c: replies, EHLO keywords)
 * and what it sends as message text (the stuffer).
 *
 * Replies come from any server an MX record names. Beyond "no crash":
 * a reply stays within its bounds, and its one-line form has no control
 * byte. The stuffed text, whatever the input and its chunking, has
 * every CR followed by LF and every LF preceded by CR, no line longer
 * than the limit (plus the stuffed dot), and no line that is a lone
 * "." before the end: nothing in a message can end the data early.
 */
#include <string.h>

#include "fuzz.h"
#include "remote.h"

static char out[4 * 4096 + 16];

static void
check_stuffed(const char *s, size_t n, size_t line_max)
{
	size_t i, col = 0;

	FUZZ_CHECK(n >= 3 && memcmp(s + n - 3, ".\r\n", 3) == 0);
	FUZZ_CHECK(n == 3 || !(s[0] == '.' && s[1] == '\r'));
	for (i = 0; i < n; i++) {
		if (s[i] == '\r') {
			FUZZ_CHECK(i + 1 < n && s[i + 1] == '\n');
			continue;
		}
		if (s[i] == '\n') {
			FUZZ_CHECK(i > 0 && s[i - 1] == '\r');
			/* A lone "." line only at the very end. */
			if (i + 4 < n)
				FUZZ_CHECK(!(s[i + 1] == '.' && s[i + 2] == '\r'));
			col = 0;
			continue;
		}
		col++;
		FUZZ_CHECK(line_max == 0 || col <= line_max);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_reply r;
	struct smtp_ext e;
	struct smtp_stuffer st;
	char line[SMTP_REPLY_TEXT_MAX + 16];
	const char *p = (const char *)data, *end = p + size, *nl;
	size_t o = 0, chunk, i, line_max;

	/* The replies: one per run of lines up to a final one. */
	smtp_reply_init(&r);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (smtp_reply_feed(&r, p, len) != SMTP_REPLY_MORE) {
			FUZZ_CHECK(r.nlines <= SMTP_REPLY_LINES_MAX);
			FUZZ_CHECK(r.textlen <= sizeof(r.text));
			smtp_ext_parse(&r, &e);
			smtp_reply_str(&r, line, sizeof(line));
			for (i = 0; line[i] != '\0'; i++)
				FUZZ_CHECK((unsigned char)line[i] >= 0x20 &&
				    (unsigned char)line[i] < 0x7f);
			smtp_reply_init(&r);
		}
		p += len + (nl != NULL);
	}
	/* The same bytes as message text, in chunks the first byte picks. */
	if (size == 0 || size > 4096)
		return 0;
	chunk = (size_t)data[0] % 7 + 1;
	line_max = (size_t)data[0] % 3 == 0 ? 0 : (size_t)data[0] % 40 + 2;
	smtp_stuffer_init(&st, line_max);
	for (i = 0; i < size; i += chunk) {
		size_t k = size - i < chunk ? size - i : chunk;

		o += smtp_stuff(&st, (const char *)data + i, k, out + o, 4 * k);
	}
	o += smtp_stuff_end(&st, out + o, 16);
	check_stuffed(out, o, line_max ? line_max : 0);
	return 0;
}
