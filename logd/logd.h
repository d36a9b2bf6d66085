/*
 * logd.h - the log process's private interfaces: turning one record
 * into one line of maillog_file (logd_line.c).
 */
#ifndef POSTERN_LOGD_H
#define POSTERN_LOGD_H

#include <sys/types.h>

#include <stddef.h>
#include <time.h>

#include "log.h"

/* A timestamp, a host, a tag with its pid, ": ", the text, "\n". */
#define LOGD_LINE_MAX	(LOG_TIME_MAX + 256 + LOG_TAG_MAX + 24 + \
			    4 * LOG_RECORD_MAX + 2)

/*
 * Formats the record dg[0..len) ("<P>TAG: TEXT", as log.c sends it)
 * sent by process pid at time ts into out:
 *   "2026-12-02T09:43:08.123456+00:00 HOST TAG[PID]: TEXT\n"
 * The pid is the kernel's (SCM_CREDENTIALS), never the sender's word.
 * A record that is not in that shape is kept, escaped, under the tag
 * "<fallback_name>/unknown". Every byte below 0x20 or 0x7f in the text is
 * escaped as \xNN: a line is one line whatever a sender wrote. Returns
 * the line's length.
 */
size_t	logd_format(char *out, size_t outsz, const char *dg, size_t len,
	    pid_t pid, const struct timespec *ts, const char *host,
	    const char *fallback_name);

#endif
