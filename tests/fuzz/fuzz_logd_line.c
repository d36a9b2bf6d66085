/*
 * fuzz_logd_line.c - fuzz target: the log process's record parser
 * (logd/logd_line.c, logd_format).
 *
 * The log socket is public, as /dev/log is: any local user may send any
 * bytes as a record. Beyond "no crash": whatever the record, the output
 * is exactly one line (one LF, at its end; no other byte below 0x20 and
 * no 0x7f), it fits the buffer, the returned length is its length, and
 * the pid written is the one given (the kernel's), never one the record
 * names.
 */
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "logd.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char		 out[LOGD_LINE_MAX];
	struct timespec		 ts = { 1796205528, 123456000 };
	const char		*pid;
	size_t			 n, i;

	if (size > LOG_RECORD_MAX)
		size = LOG_RECORD_MAX;
	n = logd_format(out, sizeof(out), (const char *)data, size, 31337, &ts,
	    "mx", "postern");
	FUZZ_CHECK(n > 0 && n < sizeof(out) && out[n] == '\0');
	FUZZ_CHECK(strlen(out) == n);
	FUZZ_CHECK(out[n - 1] == '\n');
	for (i = 0; i + 1 < n; i++)
		FUZZ_CHECK((unsigned char)out[i] >= 0x20 && out[i] != 0x7f);
	/* The tag's pid, right after the first "[" past the host. */
	pid = strstr(out, " mx ");
	FUZZ_CHECK(pid != NULL && (pid = strchr(pid + 4, '[')) != NULL);
	FUZZ_CHECK(strncmp(pid, "[31337]: ", 9) == 0);
	return 0;
}
