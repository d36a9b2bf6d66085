/*
 * deadline.h - absolute deadlines in milliseconds of CLOCK_MONOTONIC,
 * the one clock every wait in the suite measures against (a wall-clock
 * step never shortens or stretches a timeout).
 */
#ifndef POSTERN_DEADLINE_H
#define POSTERN_DEADLINE_H

#include <stdint.h>

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t	deadline_now_ms(void);
/* The deadline ms milliseconds from now. */
uint64_t	deadline_in_ms(uint64_t ms);
/*
 * Milliseconds left until deadline, for poll(2): 0 once it passed, and
 * never more than INT_MAX.
 */
int		deadline_left_ms(uint64_t deadline);
/*
 * Waits until fd has one of events (poll's) or the deadline passes;
 * EINTR is waited through. 0 ready, -1 error (errno), -2 deadline passed.
 */
int		deadline_poll(int fd, short events, uint64_t deadline);

#endif
