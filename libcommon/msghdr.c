/*
 * msghdr.c - reads the header section of a stored message, field by
 * field (see msghdr.h).
 *
 * Runs in queued (hop count at commit) and deliverd (Delivered-To loop
 * check), on message text that came from anybody: nothing here trusts
 * it. Every read is bounded by the caller's maximum, every value by
 * MSGHDR_VALUE_MAX, and a line that is not a well-formed field ends the
 * section instead of being guessed at (what Postfix's cleanup does with
 * a non-header line: the body starts there).
 */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "fsutil.h"
#include "msghdr.h"

#define MSGHDR_CHUNK	16384

void
msghdr_init(struct msghdr_iter *m, const char *p, size_t len, int whole)
{
	m->p = p;
	m->len = len;
	m->pos = 0;
	m->whole = whole;
	m->done = 0;
}

/*
 * The line at pos: its content ends at *cend (without CR LF), the next
 * line starts at *next. -1 if the line is cut by the end of a prefix.
 */
static int
msghdr_line(const struct msghdr_iter *m, size_t pos, size_t *cend,
    size_t *next)
{
	const char	*nl;
	size_t		 e;

	nl = memchr(m->p + pos, '\n', m->len - pos);
	if (nl == NULL) {
		if (!m->whole)
			return -1;
		e = *next = m->len;
	} else {
		e = (size_t)(nl - m->p);
		*next = e + 1;
	}
	if (e > pos && m->p[e - 1] == '\r')
		e--;
	*cend = e;
	return 0;
}

static void
msghdr_put(struct msghdr_field *f, const char *s, size_t n)
{
	size_t room = MSGHDR_VALUE_MAX - f->valuelen;

	if (n > room) {
		n = room;
		f->truncated = 1;
	}
	memcpy(f->value + f->valuelen, s, n);
	f->valuelen += n;
}

static int
msghdr_wsp(char c)
{
	return c == ' ' || c == '\t';
}

int
msghdr_next(struct msghdr_iter *m, struct msghdr_field *f)
{
	size_t	pos = m->pos, cend, next, i, j;

	if (m->done || pos >= m->len ||
	    msghdr_line(m, pos, &cend, &next) == -1)
		goto end;
	/* An empty line, or a continuation with no field before it. */
	if (cend == pos || msghdr_wsp(m->p[pos]))
		goto end;
	/* Printable US-ASCII but ':', then (obsolete syntax) WSP, then ':'. */
	for (i = pos; i < cend && m->p[i] > ' ' && m->p[i] < 0x7f &&
	    m->p[i] != ':'; i++)
		;
	for (j = i; j < cend && msghdr_wsp(m->p[j]); j++)
		;
	if (i == pos || j >= cend || m->p[j] != ':')
		goto end;
	f->name = m->p + pos;
	f->namelen = i - pos;
	f->valuelen = 0;
	f->truncated = 0;
	for (j++; j < cend && msghdr_wsp(m->p[j]); j++)
		;
	msghdr_put(f, m->p + j, cend - j);
	pos = next;
	/* Unfolding removes the line break only; the WSP stays. */
	while (pos < m->len && msghdr_wsp(m->p[pos])) {
		if (msghdr_line(m, pos, &cend, &next) == -1)
			goto end;
		msghdr_put(f, m->p + pos, cend - pos);
		pos = next;
	}
	/* A prefix that ends here might continue the field on its next line. */
	if (pos >= m->len && !m->whole)
		goto end;
	m->pos = pos;
	for (i = 0; i < f->valuelen && msghdr_wsp(f->value[i]); i++)
		;
	memmove(f->value, f->value + i, f->valuelen - i);
	f->valuelen -= i;
	while (f->valuelen > 0 && (msghdr_wsp(f->value[f->valuelen - 1]) ||
	    f->value[f->valuelen - 1] == '\r'))
		f->valuelen--;
	f->value[f->valuelen] = '\0';
	return 1;
end:
	m->done = 1;
	return 0;
}

int
msghdr_is(const struct msghdr_field *f, const char *name)
{
	return strlen(name) == f->namelen &&
	    strncasecmp(f->name, name, f->namelen) == 0;
}

/* Whether b holds the end of a header section (an empty line). */
static int
msghdr_has_end(const struct buf *b, size_t from)
{
	size_t i;

	if ((b->len >= 1 && b->data[0] == '\n') ||
	    (b->len >= 2 && b->data[0] == '\r' && b->data[1] == '\n'))
		return 1;
	for (i = from; i + 1 < b->len; i++) {
		if (b->data[i] != '\n')
			continue;
		if (b->data[i + 1] == '\n' || (i + 2 < b->len &&
		    b->data[i + 1] == '\r' && b->data[i + 2] == '\n'))
			return 1;
	}
	return 0;
}

int
msghdr_read(int fd, uint64_t off, uint64_t size, size_t max, struct buf *b,
    int *whole)
{
	char		chunk[MSGHDR_CHUNK];
	uint64_t	limit = size < max ? size : max;
	size_t		want, from;
	ssize_t		n;

	buf_reset(b);
	*whole = 0;
	while ((uint64_t)b->len < limit) {
		want = limit - b->len < sizeof(chunk) ?
		    (size_t)(limit - b->len) : sizeof(chunk);
		n = fs_pread_full(fd, chunk, want, (off_t)(off + b->len));
		if (n == -1)
			return -1;
		if ((size_t)n != want) {
			errno = EIO;
			return -1;
		}
		/* An empty line may straddle the chunks. */
		from = b->len >= 2 ? b->len - 2 : 0;
		if (buf_append(b, chunk, want) == -1)
			return -1;
		if (msghdr_has_end(b, from))
			break;
	}
	*whole = (uint64_t)b->len == size;
	return 0;
}
