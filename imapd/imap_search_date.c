/*
 * imap_search_date.c - the Date header (RFC 5322 3.3, with the obsolete
 * forms of 4.3: two-digit years, named zones) read for SENTBEFORE,
 * SENTON and SENTSINCE, which compare its day in its own zone.
 *
 * Runs in imapd's mail process, as the mail user; the header is
 * anybody's text, read within its length, never past it. Liberal as
 * Dovecot's message_date_parse is: comments skipped, the weekday and the
 * seconds optional, an unknown zone read as +0000.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "imap_search_int.h"

struct dscan {
	const char	*s;
	size_t		 n, i;
};

/* Skips white space and (nested) comments. */
static void
skip_cfws(struct dscan *d)
{
	int depth = 0;

	while (d->i < d->n) {
		char c = d->s[d->i];

		if (c == '(')
			depth++;
		else if (c == ')' && depth > 0)
			depth--;
		else if (c == '\\' && depth > 0 && d->i + 1 < d->n)
			d->i++;
		else if (depth == 0 && c != ' ' && c != '\t' && c != '\r' &&
		    c != '\n')
			return;
		d->i++;
	}
}

/* Up to max digits (at least one): their count, value in *v. */
static size_t
digits(struct dscan *d, size_t max, int *v)
{
	size_t k = 0;

	*v = 0;
	while (k < max && d->i < d->n && isdigit((unsigned char)d->s[d->i])) {
		*v = *v * 10 + (d->s[d->i] - '0');
		d->i++;
		k++;
	}
	return k;
}

static size_t
word(struct dscan *d, char *out, size_t outsz)
{
	size_t k = 0;

	while (d->i < d->n && isalpha((unsigned char)d->s[d->i])) {
		if (k + 1 < outsz)
			out[k] = d->s[d->i];
		k++;
		d->i++;
	}
	out[k < outsz ? k : outsz - 1] = '\0';
	return k;
}

static int
zone_name(const char *z, int *min)
{
	static const struct {
		const char	*name;
		int		 min;
	} zones[] = {
		{ "UT", 0 }, { "GMT", 0 }, { "UTC", 0 }, { "Z", 0 },
		{ "EST", -300 }, { "EDT", -240 }, { "CST", -360 },
		{ "CDT", -300 }, { "MST", -420 }, { "MDT", -360 },
		{ "PST", -480 }, { "PDT", -420 },
	};
	size_t i;

	for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
		if (strcasecmp(z, zones[i].name) == 0) {
			*min = zones[i].min;
			return 0;
		}
	*min = 0;	/* military and unknown zones: RFC 5322 4.3 */
	return 0;
}

int
imap_search_rfc5322_date(const char *s, size_t n, time_t *t)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	struct dscan	 d = { s, n, 0 };
	struct tm	 tm;
	char		 w[8];
	const char	*mp;
	size_t		 k;
	int		 day, year, hh, mm, ss = 0, zone = 0, zh;
	time_t		 v;

	if (s == NULL)
		return -1;
	skip_cfws(&d);
	/* [ day-of-week "," ] */
	if (d.i < d.n && isalpha((unsigned char)s[d.i])) {
		word(&d, w, sizeof(w));
		skip_cfws(&d);
		if (d.i < d.n && s[d.i] == ',')
			d.i++;
		skip_cfws(&d);
	}
	if (digits(&d, 2, &day) == 0 || day < 1 || day > 31)
		return -1;
	skip_cfws(&d);
	if (word(&d, w, sizeof(w)) < 3)
		return -1;
	w[3] = '\0';
	for (k = 0; k < 3; k++)
		w[k] = (char)tolower((unsigned char)w[k]);
	if ((mp = strstr(months, w)) == NULL || (mp - months) % 3 != 0)
		return -1;
	skip_cfws(&d);
	if ((k = digits(&d, 4, &year)) < 2)
		return -1;
	if (k == 2)
		year += year < 50 ? 2000 : 1900;	/* RFC 5322 4.3 */
	else if (k == 3)
		year += 1900;
	skip_cfws(&d);
	if (digits(&d, 2, &hh) == 0 || d.i >= d.n || s[d.i] != ':')
		return -1;
	d.i++;
	if (digits(&d, 2, &mm) == 0)
		return -1;
	if (d.i < d.n && s[d.i] == ':') {
		d.i++;
		if (digits(&d, 2, &ss) == 0)
			return -1;
	}
	if (hh > 23 || mm > 59 || ss > 60)
		return -1;
	skip_cfws(&d);
	if (d.i < d.n && (s[d.i] == '+' || s[d.i] == '-')) {
		int neg = s[d.i] == '-';

		d.i++;
		if (digits(&d, 4, &zh) != 4 || zh % 100 > 59)
			return -1;
		zone = (zh / 100) * 60 + zh % 100;
		if (neg)
			zone = -zone;
	} else if (d.i < d.n && isalpha((unsigned char)s[d.i])) {
		word(&d, w, sizeof(w));
		zone_name(w, &zone);
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = (int)((mp - months) / 3);
	tm.tm_mday = day;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	if ((v = timegm(&tm)) == (time_t)-1)
		return -1;
	/* The wall clock of the header's zone: v as written, not moved to
	 * UTC (the instant would be v - zone minutes). */
	(void)zone;
	*t = v;
	return 0;
}
