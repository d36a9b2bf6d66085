/*
 * confedit.h - changing one key of a postern.conf text, keeping every
 * other line (comments, order, continuation lines of other keys) as it
 * was: what "postern config -e" writes.
 */
#ifndef POSTERN_CONFEDIT_H
#define POSTERN_CONFEDIT_H

/*
 * A new text (the caller frees it) in which key is set to value: the
 * line that sets key, with its continuation lines, becomes "key =
 * value" where it stood; without one, that line is appended (after a
 * newline if the text lacked a final one). Comment and blank lines are
 * kept, even between a key line and its continuations. NULL with errno
 * EINVAL for a value with a line break or a NUL-less key that is not a
 * key name, ENOMEM.
 */
char	*confedit_set(const char *text, const char *key, const char *value);

#endif
