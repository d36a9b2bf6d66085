/*
 * imap_body_tool.c - prints what imapd's imap_body makes of one message
 * file, in the shape of a FETCH response's data items, for
 * test_dovecot_imap_body.py to compare with what Dovecot serves for the
 * same file. Test code, not installed.
 *
 *   imap-body-tool FILE [SECTION ...]
 *
 * prints "RFC822.SIZE n ENVELOPE (...) BODY (...) BODYSTRUCTURE (...)"
 * then one " BODY[...]<o> {n}\r\n..." per SECTION, written as in a FETCH
 * command: "1.2.HEADER.FIELDS (A B)<0.10>", "TEXT", "" (the whole).
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "imap_body.h"

#define FILE_MAX	(64 * 1024 * 1024)

static void
usage(void)
{
	fprintf(stderr, "usage: imap-body-tool FILE [SECTION ...]\n");
	exit(2);
}

static char *
slurp(const char *path, size_t *len)
{
	char	*b;
	size_t	 n = 0;
	ssize_t	 r;
	int	 fd;

	if ((fd = open(path, O_RDONLY)) == -1 ||
	    (b = malloc(FILE_MAX)) == NULL) {
		perror(path);
		exit(1);
	}
	while ((r = read(fd, b + n, FILE_MAX - n)) > 0)
		n += (size_t)r;
	if (r == -1) {
		perror(path);
		exit(1);
	}
	close(fd);
	*len = n;
	return b;
}

static int
take(const char **p, const char *word)
{
	size_t	n = strlen(word);

	if (strncasecmp(*p, word, n) != 0)
		return 0;
	*p += n;
	return 1;
}

/* A section as a FETCH command writes it (trusted: the test's own). */
static void
parse_section(const char *p, struct imap_section *s)
{
	memset(s, 0, sizeof(*s));
	while (isdigit((unsigned char)*p)) {
		if (s->nparts == IMAP_SECTION_DEPTH)
			usage();
		s->part[s->nparts++] = (uint32_t)strtoul(p, (char **)&p, 10);
		if (*p == '.')
			p++;
	}
	if (take(&p, "HEADER.FIELDS.NOT"))
		s->text = IMAP_SEC_HEADER_FIELDS_NOT;
	else if (take(&p, "HEADER.FIELDS"))
		s->text = IMAP_SEC_HEADER_FIELDS;
	else if (take(&p, "HEADER"))
		s->text = IMAP_SEC_HEADER;
	else if (take(&p, "TEXT"))
		s->text = IMAP_SEC_TEXT;
	else if (take(&p, "MIME"))
		s->text = IMAP_SEC_MIME;
	if (s->text == IMAP_SEC_HEADER_FIELDS ||
	    s->text == IMAP_SEC_HEADER_FIELDS_NOT) {
		if (!take(&p, " ("))
			usage();
		while (*p != ')' && *p != '\0') {
			if (s->nfields == IMAP_SECTION_FIELDS)
				usage();
			s->field[s->nfields] = p;
			while (*p != ' ' && *p != ')' && *p != '\0')
				p++;
			s->field_len[s->nfields] =
			    (size_t)(p - s->field[s->nfields]);
			s->nfields++;
			if (*p == ' ')
				p++;
		}
		if (*p++ != ')')
			usage();
	}
	if (*p == '<') {
		s->partial = 1;
		s->origin = (uint32_t)strtoul(p + 1, (char **)&p, 10);
		if (*p++ != '.')
			usage();
		s->count = (uint32_t)strtoul(p, (char **)&p, 10);
		if (*p++ != '>' || s->count == 0)
			usage();
	}
	if (*p != '\0')
		usage();
}

/*
 * FETCH's header-only ENVELOPE (the file's first bytes) must answer as
 * the whole message's parse does: from the whole file, and from the
 * first IMAP_HEADER_READ-sized part of it when it is longer.
 */
static int
prefix_envelope_agrees(struct imap_msg *m, const char *data, size_t len)
{
	struct buf	 full, part, scratch;
	size_t		 cut[2] = { len, len > 16384 ? 16384 : len };
	int		 i, rc, ok = 1;

	buf_init(&full, 0);
	buf_init(&part, 0);
	buf_init(&scratch, 0);
	if (imap_msg_envelope(m, &full) == -1)
		ok = 0;
	for (i = 0; ok && i < 2; i++) {
		buf_reset(&part);
		rc = imap_envelope_of_prefix(data, cut[i], &scratch, &part);
		if (rc == -1 || (rc == 1 && (part.len != full.len ||
		    memcmp(part.data, full.data, full.len) != 0))) {
			fprintf(stderr, "ENVELOPE of the first %zu bytes "
			    "differs\n", cut[i]);
			ok = 0;
		}
	}
	buf_free(&full);
	buf_free(&part);
	buf_free(&scratch);
	return ok;
}

int
main(int argc, char **argv)
{
	struct imap_section	 s;
	struct imap_msg		*m;
	struct buf		 out;
	char			*data;
	size_t			 len;
	int			 i;

	if (argc < 2)
		usage();
	data = slurp(argv[1], &len);
	if ((m = imap_msg_new(data, len, 0)) == NULL) {
		perror("imap_msg_new");
		return 1;
	}
	buf_init(&out, 0);
	if (buf_printf(&out, "RFC822.SIZE %zu ENVELOPE ",
	    imap_msg_size(m)) == -1 || imap_msg_envelope(m, &out) == -1 ||
	    buf_puts(&out, " BODY ") == -1 ||
	    imap_msg_bodystructure(m, 0, &out) == -1 ||
	    buf_puts(&out, " BODYSTRUCTURE ") == -1 ||
	    imap_msg_bodystructure(m, 1, &out) == -1)
		return 1;
	if (!prefix_envelope_agrees(m, data, len))
		return 1;
	for (i = 2; i < argc; i++) {
		parse_section(argv[i], &s);
		if (buf_puts(&out, " ") == -1 ||
		    imap_msg_fetch_section(m, &s, &out) == -1)
			return 1;
	}
	if (fwrite(out.data, 1, out.len, stdout) != out.len ||
	    fflush(stdout) != 0)
		return 1;
	buf_free(&out);
	imap_msg_free(m);
	free(data);
	return 0;
}
