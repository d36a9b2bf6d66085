/*
 * logd_line.c - one record from a Postern process into one line of the
 * mail log file, in the shape syslog daemons write (an RFC 3339
 * timestamp, the host, "tag[pid]: text"), which pflogsumm and the other
 * Postfix log readers parse.
 *
 * Runs in logd (the log process, unprivileged). Trusts nothing in the
 * record: the log socket is public (any local user may log, as with
 * /dev/log), so the pid comes from the kernel, the tag must look like a
 * tag, and control bytes are escaped.
 */
#include <stdio.h>
#include <string.h>

#include "logd.h"

static int
logd_tag_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
	    c == '/';
}

/* Length of "<P>TAG" at dg whose TAG is followed by ": ", or 0. */
static size_t
logd_header(const char *dg, size_t len, size_t *tag_off)
{
	size_t i = 1;

	if (len < 4 || dg[0] != '<')
		return 0;
	while (i < len && i < 5 && dg[i] >= '0' && dg[i] <= '9')
		i++;
	if (i == 1 || i >= len || dg[i] != '>')
		return 0;
	*tag_off = ++i;
	while (i < len && i - *tag_off < LOG_TAG_MAX && logd_tag_char(dg[i]))
		i++;
	if (i == *tag_off || i + 1 >= len || dg[i] != ':' || dg[i + 1] != ' ')
		return 0;
	return i;
}

size_t
logd_format(char *out, size_t outsz, const char *dg, size_t len, pid_t pid,
    const struct timespec *ts, const char *host, const char *fallback_name)
{
	char		 when[LOG_TIME_MAX];
	const char	*text = dg;
	size_t		 end, tag_off = 0, o, i;
	int		 n;

	if (outsz < 2)
		return 0;
	log_format_time(when, sizeof(when), ts);
	if ((end = logd_header(dg, len, &tag_off)) > 0) {
		n = snprintf(out, outsz, "%s %s %.*s[%ld]: ", when, host,
		    (int)(end - tag_off), dg + tag_off, (long)pid);
		text = dg + end + 2;
		len -= end + 2;
	} else
		n = snprintf(out, outsz, "%s %s %s/unknown[%ld]: ", when,
		    host, fallback_name, (long)pid);
	if (n < 0)
		return 0;
	o = (size_t)n < outsz - 2 ? (size_t)n : outsz - 2;
	for (i = 0; i < len && o + 5 < outsz; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(out + o, outsz - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o++] = '\n';
	out[o] = '\0';
	return o;
}
