/*
 * fuzz_imap_body.c - fuzz target: imapd's imap_body (ENVELOPE, BODY,
 * BODYSTRUCTURE, BODY[section]<partial>) over random messages.
 *
 * The first 8 input bytes choose four sections (part numbers, the text
 * kind, a partial); the rest is the message. Beyond "no crash": every
 * output is one well-formed IMAP value (parentheses balanced, quoted
 * strings closed, every literal's length the bytes that follow it, only
 * NIL, numbers, strings and lists; no NUL anywhere); RFC822.SIZE is
 * the CRLF size; each section's literal is complete and no longer than
 * what it can hold.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "imap_body.h"

/* One IMAP value at s[*i]; its end in *i. */
static void
check_value(const char *s, size_t n, size_t *i, unsigned depth)
{
	size_t	len;

	FUZZ_CHECK(*i < n && depth < 200);
	if (s[*i] == '(') {
		(*i)++;
		FUZZ_CHECK(*i < n);
		while (s[*i] != ')') {
			check_value(s, n, i, depth + 1);
			FUZZ_CHECK(*i < n);
			if (s[*i] == ' ') {
				(*i)++;
				FUZZ_CHECK(*i < n && s[*i] != ')');
			} else
				FUZZ_CHECK(s[*i] == ')' || s[*i] == '(');
		}
		(*i)++;
		return;
	}
	if (s[*i] == '"') {
		for ((*i)++; *i < n && s[*i] != '"'; (*i)++) {
			FUZZ_CHECK(s[*i] != '\r' && s[*i] != '\n' &&
			    s[*i] != '\0' && (unsigned char)s[*i] < 0x80);
			if (s[*i] == '\\') {
				(*i)++;
				FUZZ_CHECK(*i < n &&
				    (s[*i] == '"' || s[*i] == '\\'));
			}
		}
		FUZZ_CHECK(*i < n);
		(*i)++;
		return;
	}
	if (s[*i] == '{') {
		len = 0;
		for ((*i)++; *i < n && s[*i] >= '0' && s[*i] <= '9'; (*i)++)
			len = len * 10 + (size_t)(s[*i] - '0');
		FUZZ_CHECK(*i + 3 <= n && memcmp(s + *i, "}\r\n", 3) == 0);
		*i += 3;
		FUZZ_CHECK(len <= n - *i);
		*i += len;
		return;
	}
	if (n - *i >= 3 && memcmp(s + *i, "NIL", 3) == 0) {
		*i += 3;
		return;
	}
	FUZZ_CHECK(s[*i] >= '0' && s[*i] <= '9');
	while (*i < n && s[*i] >= '0' && s[*i] <= '9')
		(*i)++;
}

static void
check_whole(const struct buf *b)
{
	size_t	i = 0;

	check_value(b->data, b->len, &i, 0);
	FUZZ_CHECK(i == b->len);
	/* No IMAP string or literal holds a NUL (RFC 3501 9: CHAR8). */
	FUZZ_CHECK(memchr(b->data, '\0', b->len) == NULL);
}

static void
pick_section(const uint8_t *k, struct imap_section *s)
{
	static const char	*names[] = { "Subject", "FROM", "content-type",
	    "X" };
	unsigned		 i;

	memset(s, 0, sizeof(*s));
	s->nparts = k[0] % 5;
	for (i = 0; i < s->nparts; i++)
		s->part[i] = 1 + ((k[0] >> (3 + i)) & 1) +
		    ((k[1] >> (2 * i)) & 3) / 3;
	s->text = (enum imap_section_text)(k[1] % 6);
	if (s->text == IMAP_SEC_MIME && s->nparts == 0)
		s->text = IMAP_SEC_HEADER;
	if (s->text == IMAP_SEC_HEADER_FIELDS ||
	    s->text == IMAP_SEC_HEADER_FIELDS_NOT) {
		s->nfields = 1 + k[0] % 4;
		for (i = 0; i < s->nfields; i++) {
			s->field[i] = names[i];
			s->field_len[i] = strlen(names[i]);
		}
	}
	if (k[1] & 0x80) {
		s->partial = 1;
		s->origin = k[0] % 64;
		s->count = 1 + k[1] % 50;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_section	 s;
	struct imap_msg		*m;
	struct buf		 out, scratch;
	const char		*p, *msg;
	size_t			 n, len, i, hdr;

	if (size < 8)
		return 0;
	msg = (const char *)data + 8;
	len = size - 8;
	FUZZ_CHECK((m = imap_msg_new(msg, len, 0)) != NULL);
	FUZZ_CHECK(imap_msg_size(m) == imap_crlf_size(msg, len));
	FUZZ_CHECK(imap_msg_size(m) >= len && imap_msg_size(m) <= 2 * len);

	buf_init(&out, 0);
	buf_init(&scratch, 0);
	FUZZ_CHECK(imap_msg_envelope(m, &out) == 0);
	check_whole(&out);
	buf_reset(&out);
	FUZZ_CHECK(imap_msg_bodystructure(m, 0, &out) == 0);
	check_whole(&out);
	buf_reset(&out);
	FUZZ_CHECK(imap_msg_bodystructure(m, 1, &out) == 0);
	check_whole(&out);

	for (i = 0; i < 4; i++) {
		pick_section(data + 2 * i, &s);
		FUZZ_CHECK(imap_section_bytes(m, &s, &scratch, &p, &n) == 0);
		if (s.text == IMAP_SEC_HEADER_FIELDS ||
		    s.text == IMAP_SEC_HEADER_FIELDS_NOT)
			/* The fields kept, a CRLF each at most, the end. */
			FUZZ_CHECK(n <= 3 * imap_msg_size(m) + 2);
		else
			FUZZ_CHECK(p >= imap_msg_data(m) && n <=
			    imap_msg_size(m) - (size_t)(p - imap_msg_data(m)));
		buf_reset(&out);
		FUZZ_CHECK(imap_msg_fetch_section(m, &s, &out) == 0);
		/* "BODY[...]<o> " then one literal. */
		FUZZ_CHECK(out.len > 5 && memcmp(out.data, "BODY[", 5) == 0);
		p = memchr(out.data, '{', out.len);
		FUZZ_CHECK(p != NULL);
		hdr = (size_t)(p - out.data);
		FUZZ_CHECK(out.data[hdr - 1] == ' ');
		{
			size_t j = hdr;

			check_value(out.data, out.len, &j, 0);
			FUZZ_CHECK(j == out.len);
		}
		if (s.partial)
			FUZZ_CHECK(out.len - hdr <= s.count + 16);
		FUZZ_CHECK(memchr(out.data, '\0', out.len) == NULL);
	}
	buf_free(&out);
	buf_free(&scratch);
	imap_msg_free(m);
	return 0;
}
