/*
 * fuzz_mime.c - fuzz target: the streaming MIME parser (libcommon/mime.c,
 * mime_field.c), its header-field reader and its RFC 2047 / RFC 2231
 * decoders (mime_word.c).
 *
 * The message is anybody's. The first input byte picks the limits (the
 * defaults, or small ones so that every limit is hit) and seeds the
 * chunking; the rest is the message, fed whole once and once in pieces
 * of pseudo-random sizes. Beyond "no crash": both trees are the same;
 * every offset lies in the input, in order, inside its parent; depth and
 * part count stay within the limits; what the decoders return is
 * well-formed UTF-8 and within MIME_DECODE_MAX.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "mime.h"
#include "utf8.h"

static void
dump(struct buf *b, const struct mime_part *x)
{
	const struct mime_part	*c;
	size_t			 i;

	buf_printf(b, "%u %zu %zu %zu %zu %x %s/%s", x->depth, x->hdr_off,
	    x->body_off, x->end_off, x->lines, x->flags, x->type, x->subtype);
	for (i = 0; i < x->params.n; i++)
		buf_printf(b, " %s=%s", x->params.v[i].name,
		    x->params.v[i].value);
	buf_printf(b, " %s %s %s (", x->encoding ? x->encoding : "-",
	    x->disposition ? x->disposition : "-",
	    x->description ? x->description : "-");
	for (c = x->children; c != NULL; c = c->next)
		dump(b, c);
	buf_puts(b, ")");
}

static void
check_utf8(const char *s, size_t n)
{
	struct buf	out;

	buf_init(&out, 0);
	FUZZ_CHECK(mime_decode_words(s, n, &out) == 0);
	FUZZ_CHECK(out.len <= MIME_DECODE_MAX);
	FUZZ_CHECK(utf8_valid(out.data != NULL ? out.data : "", out.len));
	FUZZ_CHECK(out.len == 0 || memchr(out.data, '\0', out.len) == NULL);
	buf_free(&out);
}

static void
check_params(const struct mime_params *ps)
{
	struct buf	out;
	size_t		i, n;

	FUZZ_CHECK(ps->n <= MIME_PARAMS_MAX);
	for (i = 0; i < ps->n; i++) {
		n = strlen(ps->v[i].name);
		FUZZ_CHECK(n > 0 && n <= MIME_PARAM_NAME_MAX + 1);
		FUZZ_CHECK(strlen(ps->v[i].value) <= MIME_PARAM_VALUE_MAX);
		if (ps->v[i].name[n - 1] != '*')
			continue;
		buf_init(&out, 0);
		if (mime_param_decode(ps->v[i].value, &out) == 0)
			FUZZ_CHECK(utf8_valid(out.data != NULL ? out.data :
			    "", out.len));
		buf_free(&out);
	}
}

/* The tree's invariants; the number of parts in it. */
static size_t
check_part(const struct mime_part *x, size_t len, unsigned depth_max)
{
	const struct mime_part	*c;
	size_t			 n = 1, kids = 0, prev = x->body_off;

	FUZZ_CHECK(x->hdr_off <= x->body_off && x->body_off <= x->end_off);
	FUZZ_CHECK(x->end_off <= len);
	FUZZ_CHECK(x->lines <= x->end_off - x->body_off);
	FUZZ_CHECK(x->depth <= depth_max);
	FUZZ_CHECK(x->type != NULL && x->subtype != NULL);
	FUZZ_CHECK(x->type[0] != '\0' && x->subtype[0] != '\0');
	check_params(&x->params);
	check_params(&x->disp_params);
	if (x->description != NULL)
		check_utf8(x->description, strlen(x->description));
	for (c = x->children; c != NULL; c = c->next) {
		FUZZ_CHECK(c->parent == x && c->depth == x->depth + 1);
		FUZZ_CHECK(c->hdr_off >= prev && c->end_off <= x->end_off);
		prev = c->end_off;
		n += check_part(c, len, depth_max);
		kids++;
	}
	FUZZ_CHECK(kids == x->nchildren);
	return n;
}

static struct mime_parser *
run(const uint8_t *data, size_t size, const struct mime_limits *lim,
    uint32_t seed)
{
	struct mime_parser	*p;
	size_t			 i, n;

	FUZZ_CHECK((p = mime_parser_new(lim)) != NULL);
	for (i = 0; i < size; i += n) {
		if (seed == 0)
			n = size - i;
		else {
			/* xorshift: the same input, the same pieces. */
			seed ^= seed << 13;
			seed ^= seed >> 17;
			seed ^= seed << 5;
			n = 1 + seed % (seed & 0x100 ? 3 : 97);
			if (n > size - i)
				n = size - i;
		}
		FUZZ_CHECK(mime_feed(p, data + i, n) == 0);
	}
	FUZZ_CHECK(mime_end(p) == 0);
	return p;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_limits	 small = { 3, 12, 100, 600, 2000 };
	const struct mime_limits *lim = NULL;
	struct mime_parser	*p1, *p2;
	struct mime_part	*r;
	struct mime_field	 f;
	struct buf		 a, b;
	size_t			 pos = 0, prev = 0;
	unsigned		 depth_max = MIME_DEPTH_MAX;
	size_t			 parts_max = MIME_PARTS_MAX;

	if (size == 0)
		return 0;
	if (data[0] & 1) {
		lim = &small;
		depth_max = small.depth;
		parts_max = small.parts;
	}
	p1 = run(data + 1, size - 1, lim, 0);
	p2 = run(data + 1, size - 1, lim, 0x9E3779B9u ^ data[0]);
	r = mime_root(p1);
	FUZZ_CHECK(mime_nparts(p1) <= parts_max);
	FUZZ_CHECK(check_part(r, size - 1, depth_max) == mime_nparts(p1));
	FUZZ_CHECK(r->hdr_off == 0 && r->end_off == size - 1);

	buf_init(&a, 0);
	buf_init(&b, 0);
	dump(&a, r);
	dump(&b, mime_root(p2));
	FUZZ_CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	FUZZ_CHECK(mime_hits(p1) == mime_hits(p2));

	/* The header reader over the message's header section. */
	while (mime_header_next((const char *)data + 1, r->body_off, &pos,
	    &f) == 1) {
		FUZZ_CHECK(f.off >= prev && f.len > 0);
		FUZZ_CHECK(f.off + f.len <= r->body_off);
		FUZZ_CHECK(f.name_len > 0 && f.value_off <= f.off + f.len);
		prev = f.off + f.len;
	}
	if (mime_header_get((const char *)data + 1, r->body_off, "subject",
	    0, &a) == 0) {
		FUZZ_CHECK(a.len <= MIME_FIELD_MAX);
		check_utf8(a.data, a.len);
	}
	/* And the decoder on raw bytes. */
	check_utf8((const char *)data + 1, size - 1 < 4096 ? size - 1 : 4096);
	buf_free(&a);
	buf_free(&b);
	mime_parser_free(p1);
	mime_parser_free(p2);
	return 0;
}
