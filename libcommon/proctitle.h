/*
 * proctitle.h - what /proc/PID/cmdline shows of a process forked from a
 * template (libcommon/forkserver.h) rather than exec'd: the command line
 * it would have had if exec'd, so that ps, "postern who" and anything
 * else reading the kernel's process table see one shape either way.
 *
 * The kernel shows the bytes between the first argument's start and the
 * last one's end, NULs and all, while the last byte is a NUL; that room
 * is the exec's argv strings, so a template is exec'd with a spare
 * argument long enough for its sessions' titles.
 */
#ifndef POSTERN_PROCTITLE_H
#define POSTERN_PROCTITLE_H

#include <stddef.h>

/* Records the room: first thing in main, before argv is reordered. */
void	proctitle_init(int argc, char *argv[]);
/*
 * args[0..n-1] as the command line, NUL-separated as exec's are, the
 * rest of the room NULs (argv's strings are gone then: copy first what
 * is still needed). 0, or -1 when they do not fit (nothing changed).
 */
int	proctitle_set(const char *const *args, size_t n);

#endif
