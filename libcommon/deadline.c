/*
 * deadline.c - deadlines on CLOCK_MONOTONIC, for every blocking wait
 * (netio's client reads and writes, ipc's synchronous calls, the POP3
 * login limit) and the event loop's timers.
 */
#include <limits.h>
#include <errno.h>
#include <poll.h>
#include <time.h>

#include "deadline.h"

uint64_t
deadline_now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
deadline_in_ms(uint64_t ms)
{
	uint64_t now = deadline_now_ms();

	return ms > UINT64_MAX - now ? UINT64_MAX : now + ms;
}

int
deadline_left_ms(uint64_t deadline)
{
	uint64_t now = deadline_now_ms();

	if (deadline <= now)
		return 0;
	return deadline - now > INT_MAX ? INT_MAX : (int)(deadline - now);
}

int
deadline_poll(int fd, short events, uint64_t deadline)
{
	struct pollfd	pfd;
	int		r;

	pfd.fd = fd;
	pfd.events = events;
	for (;;) {
		r = poll(&pfd, 1, deadline_left_ms(deadline));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		return r == 0 ? -2 : 0;
	}
}
