/*
 * qid.c - queue id generation, in queued only (one generator per host
 * keeps ids unique without locking). The counter covers many ids within
 * one microsecond; on wrap we wait for the clock to move.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "qid.h"

void
qid_new(char out[QID_LEN + 1])
{
	static uint64_t	 last_us;
	static unsigned	 counter;
	struct timespec	 ts;
	uint64_t	 us;

	for (;;) {
		clock_gettime(CLOCK_REALTIME, &ts);
		us = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
		if (us < last_us)
			us = last_us;	/* the clock stepped back */
		if (us != last_us) {
			last_us = us;
			counter = 0;
			break;
		}
		if (++counter < 0x1000)
			break;
	}
	snprintf(out, QID_LEN + 1, "%013llX%03X",
	    (unsigned long long)(us & 0xFFFFFFFFFFFFFULL), counter);
}

int
qid_valid(const char *s)
{
	size_t i;

	for (i = 0; i < QID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return s[QID_LEN] == '\0';
}
