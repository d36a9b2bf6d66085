/*
 * qid.h - queue ids: 16 upper-case hex digits, sortable by time.
 */
#ifndef POSTERN_QID_H
#define POSTERN_QID_H

#define QID_LEN 16

/* Microseconds since the epoch (13 digits) and a 3-digit counter. */
void	qid_new(char out[QID_LEN + 1]);
int	qid_valid(const char *);

#endif
