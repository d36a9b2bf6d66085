/*
 * imap_args.c - the typed readers of IMAP arguments (RFC 3501 9, RFC
 * 7162 for mod-sequences): numbers, astrings, mailboxes, LIST patterns,
 * sequence-set syntax, flags, date and date-time, and the FETCH
 * attributes with BODY[section]<partial> into struct imap_section.
 *
 * Runs in imapd's mail process (and pre-login for LOGIN's astrings),
 * never as root. The arguments come from imap_parse, i.e. from the
 * client: each reader checks its shape exactly and returns -1 for
 * anything else (the command is then BAD); none allocates.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "imap_parse.h"

int
imap_arg_is(const struct imap_arg *a, const char *atom)
{
	return a != NULL && a->type == IMAP_ARG_ATOM &&
	    a->len == strlen(atom) && strcasecmp(a->s, atom) == 0;
}

int
imap_arg_nil(const struct imap_arg *a)
{
	return imap_arg_is(a, "NIL");
}

static int
digits(const char *s, size_t len, uint64_t max, uint64_t *v)
{
	size_t i;

	if (len == 0 || len > 20)
		return -1;
	*v = 0;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (*v > (max - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		*v = *v * 10 + (uint64_t)(s[i] - '0');
	}
	return 0;
}

int
imap_arg_number(const struct imap_arg *a, uint32_t *n)
{
	uint64_t v;

	if (a == NULL || a->type != IMAP_ARG_ATOM ||
	    digits(a->s, a->len, UINT32_MAX, &v) == -1)
		return -1;
	*n = (uint32_t)v;
	return 0;
}

int
imap_arg_nznumber(const struct imap_arg *a, uint32_t *n)
{
	if (imap_arg_number(a, n) == -1 || *n == 0)
		return -1;
	return 0;
}

int
imap_arg_modseq(const struct imap_arg *a, uint64_t *v, int allow0)
{
	if (a == NULL || a->type != IMAP_ARG_ATOM ||
	    digits(a->s, a->len, INT64_MAX, v) == -1 || (*v == 0 && !allow0))
		return -1;
	return 0;
}

/* ATOM-CHAR, and with extra the other characters a shape allows. */
static int
chars_ok(const char *s, size_t len, const char *extra)
{
	size_t		i;
	unsigned char	c;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f)
			return 0;
		if (strchr("(){%*\"\\]", c) != NULL &&
		    (extra == NULL || strchr(extra, c) == NULL))
			return 0;
	}
	return 1;
}

static int
string(const struct imap_arg *a, const char **s, size_t *len)
{
	if (a == NULL || (a->type != IMAP_ARG_QUOTED &&
	    a->type != IMAP_ARG_LITERAL))
		return -1;
	*s = a->s;
	*len = a->len;
	return 0;
}

int
imap_arg_astring(const struct imap_arg *a, const char **s, size_t *len)
{
	if (a != NULL && a->type == IMAP_ARG_ATOM) {
		if (!chars_ok(a->s, a->len, "]"))
			return -1;
		*s = a->s;
		*len = a->len;
		return 0;
	}
	return string(a, s, len);
}

int
imap_arg_nstring(const struct imap_arg *a, const char **s, size_t *len)
{
	if (imap_arg_nil(a)) {
		*s = NULL;
		*len = 0;
		return 0;
	}
	return string(a, s, len);
}

int
imap_arg_mailbox(const struct imap_arg *a, const char **s, size_t *len)
{
	if (imap_arg_astring(a, s, len) == -1)
		return -1;
	if (*len == 5 && strncasecmp(*s, "INBOX", 5) == 0)
		*s = "INBOX";
	return 0;
}

int
imap_arg_list_mailbox(const struct imap_arg *a, const char **s, size_t *len)
{
	if (a != NULL && a->type == IMAP_ARG_ATOM) {
		if (!chars_ok(a->s, a->len, "%*]"))
			return -1;
		*s = a->s;
		*len = a->len;
		return 0;
	}
	return string(a, s, len);
}

int
imap_arg_seqset(const struct imap_arg *a, const char **s, size_t *len)
{
	size_t		i;
	int		num = 0, colon = 0;
	uint64_t	v = 0;
	char		c;

	if (a == NULL || a->type != IMAP_ARG_ATOM || a->len == 0)
		return -1;
	/* (nz-number / "*") [":" (nz-number / "*")] *("," ...) */
	for (i = 0; i <= a->len; i++) {
		c = i < a->len ? a->s[i] : ',';
		if (c >= '1' && c <= '9' && num == 0) {
			num = 1;
			v = (uint64_t)(c - '0');
		} else if (c >= '0' && c <= '9' && num == 1) {
			if ((v = v * 10 + (uint64_t)(c - '0')) > UINT32_MAX)
				return -1;
		}
		else if (c == '*' && num == 0)
			num = 2;
		else if (c == ':' && num != 0 && !colon) {
			colon = 1;
			num = 0;
		} else if (c == ',' && num != 0) {
			colon = 0;
			num = 0;
		} else
			return -1;
	}
	*s = a->s;
	*len = a->len;
	return 0;
}

static const struct {
	const char	*name;
	unsigned	 flag;
} sysflags[] = {
	{ "\\Seen", IMAP_FLAG_SEEN },
	{ "\\Answered", IMAP_FLAG_ANSWERED },
	{ "\\Flagged", IMAP_FLAG_FLAGGED },
	{ "\\Deleted", IMAP_FLAG_DELETED },
	{ "\\Draft", IMAP_FLAG_DRAFT },
};

int
imap_flags_parse(const struct imap_arg *a, size_t n, struct imap_flags *f)
{
	size_t	i, k;

	f->sys = 0;
	f->nkw = 0;
	for (i = 0; i < n; i++, a = a->next) {
		if (a == NULL || a->type != IMAP_ARG_ATOM)
			return -1;
		if (a->s[0] == '\\') {
			/* \Recent and \* are the server's to say. */
			for (k = 0; k < sizeof(sysflags) / sizeof(sysflags[0]);
			    k++)
				if (strcasecmp(a->s, sysflags[k].name) == 0)
					break;
			if (k == sizeof(sysflags) / sizeof(sysflags[0]))
				return -1;
			f->sys |= sysflags[k].flag;
			continue;
		}
		if (!chars_ok(a->s, a->len, NULL))
			return -1;
		for (k = 0; k < f->nkw; k++)
			if (strcasecmp(f->kw[k], a->s) == 0)
				break;
		if (k < f->nkw)
			continue;	/* keywords are case-insensitive */
		if (f->nkw == IMAP_KEYWORDS_MAX)
			return -1;
		f->kw[f->nkw++] = a->s;
	}
	return 0;
}

int
imap_flaglist_parse(const struct imap_arg *a, struct imap_flags *f)
{
	if (a == NULL || a->type != IMAP_ARG_LIST)
		return -1;
	return imap_flags_parse(a->list, a->n, f);
}

static const char *const months[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static int
num(const char *s, size_t n, int *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

/* "d-Mon-yyyy" or "dd-Mon-yyyy" at s; its length, or 0. */
static size_t
date_text(const char *s, size_t len, struct tm *tm)
{
	static const int mdays[12] = {
		31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	size_t	d, m;
	int	day, year;

	for (d = 0; d < len && d < 3 && s[d] >= '0' && s[d] <= '9'; d++)
		;
	if (d == 0 || d > 2 || len < d + 9 || s[d] != '-' ||
	    s[d + 4] != '-' || num(s, d, &day) == -1 ||
	    num(s + d + 5, 4, &year) == -1)
		return 0;
	for (m = 0; m < 12; m++)
		if (strncasecmp(s + d + 1, months[m], 3) == 0)
			break;
	if (m == 12 || day < 1 || day > mdays[m] || year < 1900)
		return 0;
	if (m == 1 && day == 29 &&
	    (year % 4 != 0 || (year % 100 == 0 && year % 400 != 0)))
		return 0;
	memset(tm, 0, sizeof(*tm));
	tm->tm_mday = day;
	tm->tm_mon = (int)m;
	tm->tm_year = year - 1900;
	return d + 9;
}

int
imap_arg_date(const struct imap_arg *a, time_t *t)
{
	struct tm	tm;
	size_t		n;

	if (a == NULL || (a->type != IMAP_ARG_ATOM &&
	    a->type != IMAP_ARG_QUOTED))
		return -1;
	if ((n = date_text(a->s, a->len, &tm)) == 0 || n != a->len)
		return -1;
	if ((*t = timegm(&tm)) == (time_t)-1)
		return -1;
	return 0;
}

int
imap_datetime_parse(const char *s, size_t len, time_t *t, int *zone)
{
	struct tm	tm;
	size_t		n;
	int		hh, mm, ss, zh, zm;

	/* date-day-fixed is (SP DIGIT) / 2DIGIT; a bare 1-digit day too. */
	if (len > 0 && s[0] == ' ') {
		s++;
		len--;
	}
	if ((n = date_text(s, len, &tm)) == 0 || len - n != 15)
		return -1;
	s += n;
	if (s[0] != ' ' || s[3] != ':' || s[6] != ':' || s[9] != ' ' ||
	    (s[10] != '+' && s[10] != '-') || num(s + 1, 2, &hh) == -1 ||
	    num(s + 4, 2, &mm) == -1 || num(s + 7, 2, &ss) == -1 ||
	    num(s + 11, 2, &zh) == -1 || num(s + 13, 2, &zm) == -1)
		return -1;
	if (hh > 23 || mm > 59 || ss > 60 || zh > 23 || zm > 59)
		return -1;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	*zone = (zh * 60 + zm) * (s[10] == '-' ? -1 : 1);
	if ((*t = timegm(&tm)) == (time_t)-1)
		return -1;
	*t -= (time_t)*zone * 60;
	return 0;
}

int
imap_arg_datetime(const struct imap_arg *a, time_t *t, int *zone)
{
	if (a == NULL || a->type != IMAP_ARG_QUOTED)
		return -1;
	return imap_datetime_parse(a->s, a->len, t, zone);
}

/* s[0..len) starts with word, case-insensitively: its length, or 0. */
static size_t
word(const char *s, size_t len, const char *w)
{
	size_t n = strlen(w);

	return len >= n && strncasecmp(s, w, n) == 0 ? n : 0;
}

static int
nz32(const char *s, size_t len, uint32_t *v)
{
	uint64_t x;

	if (len == 0 || s[0] == '0' || digits(s, len, UINT32_MAX, &x) == -1)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

/* A header field name: printable, no ':' (RFC 5322 ftext). */
static int
field_ok(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 ||
		    (unsigned char)s[i] >= 0x7f || s[i] == ':')
			return 0;
	return len > 0;
}

/*
 * header-list: "(" header-fld-name *(SP header-fld-name) ")", each an
 * astring; a quoted one with escapes would need a copy and is refused,
 * a literal cannot be inside the atom at all.
 */
static int
header_list(const char *s, size_t len, struct imap_section *sec)
{
	size_t	i = 1, start, flen;

	if (len < 3 || s[0] != '(' || s[len - 1] != ')')
		return -1;
	len--;
	for (;;) {
		if (i >= len)
			return -1;
		if (s[i] == '"') {
			start = ++i;
			while (i < len && s[i] != '"' && s[i] != '\\')
				i++;
			if (i >= len || s[i] != '"')
				return -1;
			flen = i++ - start;
		} else {
			start = i;
			while (i < len && s[i] != ' ')
				i++;
			flen = i - start;
			if (!chars_ok(s + start, flen, "]"))
				return -1;
		}
		if (!field_ok(s + start, flen) ||
		    sec->nfields == IMAP_SECTION_FIELDS)
			return -1;
		sec->field[sec->nfields] = s + start;
		sec->field_len[sec->nfields] = flen;
		sec->nfields++;
		if (i == len)
			return 0;
		if (s[i] != ' ')
			return -1;
		i++;
	}
}

int
imap_section_parse(const char *s, size_t len, struct imap_section *sec)
{
	const char	*close, *dot;
	size_t		 i = 1, end, n;
	int		 peek = sec->peek;

	memset(sec, 0, sizeof(*sec));
	sec->peek = peek;
	if (len < 2 || s[0] != '[' || (close = memchr(s, ']', len)) == NULL)
		return -1;
	end = (size_t)(close - s);
	/* section-part: nz-number *("." nz-number) */
	while (i < end && s[i] >= '0' && s[i] <= '9') {
		for (n = i; n < end && s[n] >= '0' && s[n] <= '9'; n++)
			;
		if (sec->nparts == IMAP_SECTION_DEPTH ||
		    nz32(s + i, n - i, &sec->part[sec->nparts]) == -1)
			return -1;
		sec->nparts++;
		i = n;
		if (i == end)
			break;
		if (s[i] != '.')
			return -1;
		i++;
		if (i == end)
			return -1;
	}
	if (i < end) {
		if ((n = word(s + i, end - i, "HEADER.FIELDS.NOT")) != 0)
			sec->text = IMAP_SEC_HEADER_FIELDS_NOT;
		else if ((n = word(s + i, end - i, "HEADER.FIELDS")) != 0)
			sec->text = IMAP_SEC_HEADER_FIELDS;
		else if ((n = word(s + i, end - i, "HEADER")) != 0)
			sec->text = IMAP_SEC_HEADER;
		else if ((n = word(s + i, end - i, "TEXT")) != 0)
			sec->text = IMAP_SEC_TEXT;
		else if ((n = word(s + i, end - i, "MIME")) != 0 &&
		    sec->nparts > 0)
			sec->text = IMAP_SEC_MIME;
		else
			return -1;
		i += n;
		if (sec->text == IMAP_SEC_HEADER_FIELDS ||
		    sec->text == IMAP_SEC_HEADER_FIELDS_NOT) {
			if (i == end || s[i] != ' ' ||
			    header_list(s + i + 1, end - i - 1, sec) == -1)
				return -1;
		} else if (i != end)
			return -1;
	}
	/* partial: "<" number "." nz-number ">" */
	i = end + 1;
	if (i == len)
		return 0;
	if (s[i] != '<' || s[len - 1] != '>' ||
	    (dot = memchr(s + i, '.', len - i)) == NULL)
		return -1;
	n = (size_t)(dot - s);
	{
		uint64_t o;

		if (digits(s + i + 1, n - i - 1, UINT32_MAX, &o) == -1 ||
		    nz32(dot + 1, len - 1 - n - 1, &sec->count) == -1)
			return -1;
		sec->origin = (uint32_t)o;
	}
	sec->partial = 1;
	return 0;
}

static const struct {
	const char		*name;
	enum imap_fetch_item	 item;
} simple_atts[] = {
	{ "UID", IMAP_FETCH_UID },
	{ "FLAGS", IMAP_FETCH_FLAGS },
	{ "INTERNALDATE", IMAP_FETCH_INTERNALDATE },
	{ "RFC822.SIZE", IMAP_FETCH_RFC822_SIZE },
	{ "ENVELOPE", IMAP_FETCH_ENVELOPE },
	{ "BODY", IMAP_FETCH_BODY },
	{ "BODYSTRUCTURE", IMAP_FETCH_BODYSTRUCTURE },
	{ "RFC822", IMAP_FETCH_RFC822 },
	{ "RFC822.HEADER", IMAP_FETCH_RFC822_HEADER },
	{ "RFC822.TEXT", IMAP_FETCH_RFC822_TEXT },
	{ "MODSEQ", IMAP_FETCH_MODSEQ },
};

int
imap_fetch_att_parse(const struct imap_arg *a, struct imap_fetch_att *att)
{
	size_t	k, n;

	if (a == NULL || a->type != IMAP_ARG_ATOM)
		return -1;
	for (k = 0; k < sizeof(simple_atts) / sizeof(simple_atts[0]); k++)
		if (imap_arg_is(a, simple_atts[k].name)) {
			att->item = simple_atts[k].item;
			return 0;
		}
	att->item = IMAP_FETCH_SECTION;
	att->sec.peek = 0;
	if ((n = word(a->s, a->len, "BODY.PEEK[")) != 0)
		att->sec.peek = 1;
	else if ((n = word(a->s, a->len, "BODY[")) == 0)
		return -1;
	n--;
	return imap_section_parse(a->s + n, a->len - n, &att->sec);
}

int
imap_fetch_parse(const struct imap_arg *a, struct imap_fetch_att *att,
    size_t max, size_t *n)
{
	static const enum imap_fetch_item macro[] = {
		IMAP_FETCH_FLAGS, IMAP_FETCH_INTERNALDATE,
		IMAP_FETCH_RFC822_SIZE, IMAP_FETCH_ENVELOPE, IMAP_FETCH_BODY,
	};
	const struct imap_arg	*e;
	size_t			 k, m = 0;

	*n = 0;
	if (a == NULL)
		return -1;
	if (imap_arg_is(a, "FAST"))
		m = 3;
	else if (imap_arg_is(a, "ALL"))
		m = 4;
	else if (imap_arg_is(a, "FULL"))
		m = 5;
	if (m > 0) {
		if (m > max)
			return -1;
		for (k = 0; k < m; k++)
			att[k].item = macro[k];
		*n = m;
		return 0;
	}
	if (a->type != IMAP_ARG_LIST) {
		if (max == 0 || imap_fetch_att_parse(a, &att[0]) == -1)
			return -1;
		*n = 1;
		return 0;
	}
	if (a->n == 0)
		return -1;
	for (e = a->list; e != NULL; e = e->next) {
		if (*n == max || imap_fetch_att_parse(e, &att[*n]) == -1)
			return -1;
		(*n)++;
	}
	return 0;
}
