/*
 * qid.h - queue ids: 16 upper-case hex digits, sortable by time.
 */
#ifndef POSTERN_QID_H
#define POSTERN_QID_H

#include <stdint.h>

#define QID_LEN 16

/* The generator's state: the last id's logical time and counter. */
struct qid_gen {
	uint64_t	last_us;
	unsigned	counter;
};

/*
 * The next id after g's last, at wall-clock time now_us (microseconds
 * since the epoch): 13 digits of logical time and a 3-digit counter.
 * Never waits: a clock that stepped back or a full counter moves the
 * logical time ahead instead. Pure, for tests with a stepped clock.
 */
void	qid_next(struct qid_gen *g, uint64_t now_us, char out[QID_LEN + 1]);
/* qid_next on the process's one generator and the real clock. */
void	qid_new(char out[QID_LEN + 1]);
int	qid_valid(const char *);
/*
 * The logical time in an id (microseconds since the epoch): when its
 * queue file was made, the message's arrival as the delivery log lines
 * count it (Postfix's delay=). 0 for an invalid id.
 */
uint64_t qid_time_us(const char *);

#endif
