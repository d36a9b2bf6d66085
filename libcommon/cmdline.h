/*
 * cmdline.h - an alias's "|command" as an argument vector, without a
 * shell.
 */
#ifndef POSTERN_CMDLINE_H
#define POSTERN_CMDLINE_H

#include <stddef.h>

#define CMDLINE_ARGS_MAX	64	/* words, the command's name included */

struct cmdline_var {
	const char	*name;		/* "SENDER", "EXTENSION", ... */
	const char	*value;
};

/*
 * Splits cmd (the text after "|") into words the way sh would for the
 * forms below, and refuses everything else, so that no command means
 * one thing to the administrator who wrote it and another here:
 *   - blanks (space, tab) separate words;
 *   - 'text' is literal; "text" is literal except that \" \\ \$ \`
 *     stand for the second character and $NAME expands;
 *   - outside quotes a backslash takes the next character literally;
 *   - $NAME and ${NAME} expand to the variable of that name in vars
 *     (an unknown name is refused), as one piece of the word they are
 *     in: an expanded value is never split or globbed, whatever it
 *     holds; an unquoted expansion that is empty, alone in its word,
 *     drops the word (as sh does), a quoted one ("$EXTENSION") is an
 *     empty argument;
 *   - refused, unquoted: | & ; < > ( ) ` * ? [ ] { } and a leading ~
 *     or #; anywhere: a control character, and any other use of $
 *     ($1, $$, $(...)); a leading NAME=value (an assignment).
 * The words go into out (each NUL-terminated) and argv (at most argvmax
 * - 1 of them, then NULL). Returns the word count (at least 1), or -1
 * with a reason in err.
 */
int	cmdline_split(const char *cmd, const struct cmdline_var *vars,
	    size_t nvars, char **argv, size_t argvmax, char *out, size_t outsz,
	    char *err, size_t errlen);

#endif
