/*
 * cmdline.c - splits an alias's "|command" into an argument vector.
 *
 * Runs in deliverd's command runner (unprivileged, as default_privs),
 * just before the execve. The command is the administrator's (from the
 * aliases map), the variables partly the sender's (SENDER, the
 * recipient's extension): so a variable's value is only ever text inside
 * one word, never syntax, and the syntax this accepts is the small part
 * of sh's that means the same here as there. What sh would read
 * differently (pipes, redirections, globs, command substitution, an
 * assignment) is refused rather than passed on literally: a command that
 * "works" but does something else than its author read is worse than a
 * deferral that names the character.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cmdline.h"

struct cl_state {
	char	*out;
	size_t	 outsz;
	size_t	 len;
	char	**argv;
	size_t	 argvmax;
	size_t	 argc;
	int	 inword;
	int	 quoted;	/* the word holds quotes or literal text */
	size_t	 wstart;
	char	*err;
	size_t	 errlen;
};

static int
cl_fail(struct cl_state *st, const char *why, int c)
{
	if (c >= 0x20 && c < 0x7f)
		snprintf(st->err, st->errlen, "%s \"%c\"", why, c);
	else if (c >= 0)
		snprintf(st->err, st->errlen, "%s (byte 0x%02x)", why, c);
	else
		snprintf(st->err, st->errlen, "%s", why);
	return -1;
}

static void
cl_begin(struct cl_state *st)
{
	if (!st->inword) {
		st->inword = 1;
		st->quoted = 0;
		st->wstart = st->len;
	}
}

static int
cl_put(struct cl_state *st, char c)
{
	/* One byte stays free for the word's NUL. */
	if (st->len + 2 > st->outsz)
		return cl_fail(st, "command is too long", -1);
	st->out[st->len++] = c;
	return 0;
}

static int
cl_end(struct cl_state *st)
{
	if (!st->inword)
		return 0;
	st->inword = 0;
	/* Only unquoted empty expansions: sh drops the word, and so do we. */
	if (st->len == st->wstart && !st->quoted)
		return 0;
	if (st->argc + 2 > st->argvmax)
		return cl_fail(st, "command has too many words", -1);
	st->out[st->len++] = '\0';
	st->argv[st->argc++] = st->out + st->wstart;
	return 0;
}

static int
cl_namechar(int c, int first)
{
	return c == '_' || isalpha(c) || (!first && isdigit(c));
}

/* *pp points at '$'; expands and moves *pp past the reference. */
static int
cl_expand(struct cl_state *st, const char **pp, const struct cmdline_var *vars,
    size_t nvars)
{
	const char	*p = *pp + 1, *name, *v;
	size_t		 n, i;
	int		 brace = 0;

	if (*p == '{') {
		brace = 1;
		p++;
	}
	name = p;
	if (!cl_namechar((unsigned char)*p, 1))
		return cl_fail(st, "only $NAME and ${NAME} are expanded, "
		    "not $ followed by", (unsigned char)*p);
	while (cl_namechar((unsigned char)*p, 0))
		p++;
	n = (size_t)(p - name);
	if (brace && *p++ != '}')
		return cl_fail(st, "${ without its }", -1);
	for (i = 0; i < nvars; i++)
		if (strlen(vars[i].name) == n &&
		    memcmp(vars[i].name, name, n) == 0)
			break;
	if (i == nvars) {
		snprintf(st->err, st->errlen, "unknown variable $%.*s",
		    (int)(n > 64 ? 64 : n), name);
		return -1;
	}
	for (v = vars[i].value ? vars[i].value : ""; *v != '\0'; v++)
		if (cl_put(st, *v) == -1)
			return -1;
	*pp = p;
	return 0;
}

/* sh would take a leading NAME=value as an assignment, not a command. */
static int
cl_is_assignment(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	if (!cl_namechar((unsigned char)*p, 1))
		return 0;
	while (cl_namechar((unsigned char)*p, 0))
		p++;
	return *p == '=';
}

int
cmdline_split(const char *cmd, const struct cmdline_var *vars, size_t nvars,
    char **argv, size_t argvmax, char *out, size_t outsz, char *err,
    size_t errlen)
{
	struct cl_state	 st;
	const char	*p = cmd;
	unsigned char	 c;

	memset(&st, 0, sizeof(st));
	st.out = out;
	st.outsz = outsz;
	st.argv = argv;
	st.argvmax = argvmax;
	st.err = err;
	st.errlen = errlen;
	if (argvmax < 2 || outsz < 2)
		return cl_fail(&st, "no room for the command", -1);
	if (cl_is_assignment(cmd))
		return cl_fail(&st, "a leading variable assignment is not "
		    "supported (no shell runs the command)", -1);

	while ((c = (unsigned char)*p) != '\0') {
		if (c < 0x20 && c != '\t')
			return cl_fail(&st, "control character in the command",
			    c);
		if (c == 0x7f)
			return cl_fail(&st, "control character in the command",
			    c);
		if (c == ' ' || c == '\t') {
			if (cl_end(&st) == -1)
				return -1;
			p++;
			continue;
		}
		if (!st.inword && (c == '~' || c == '#'))
			return cl_fail(&st, "shell syntax is not supported (no "
			    "shell runs the command):", c);
		if (strchr("|&;<>()`*?[]{}", c) != NULL)
			return cl_fail(&st, "shell syntax is not supported (no "
			    "shell runs the command):", c);
		cl_begin(&st);
		if (c == '\\') {
			if (p[1] == '\0')
				return cl_fail(&st, "a backslash ends the "
				    "command", -1);
			if ((unsigned char)p[1] < 0x20 || p[1] == 0x7f)
				return cl_fail(&st, "control character in the "
				    "command", (unsigned char)p[1]);
			st.quoted = 1;
			if (cl_put(&st, p[1]) == -1)
				return -1;
			p += 2;
		} else if (c == '\'') {
			st.quoted = 1;
			for (p++; *p != '\''; p++) {
				if (*p == '\0')
					return cl_fail(&st, "unterminated "
					    "quote", '\'');
				if ((unsigned char)*p < 0x20 && *p != '\t')
					return cl_fail(&st, "control character "
					    "in the command", (unsigned char)*p);
				if (cl_put(&st, *p) == -1)
					return -1;
			}
			p++;
		} else if (c == '"') {
			st.quoted = 1;
			for (p++; *p != '"';) {
				if (*p == '\0')
					return cl_fail(&st, "unterminated "
					    "quote", '"');
				if ((unsigned char)*p < 0x20 && *p != '\t')
					return cl_fail(&st, "control character "
					    "in the command", (unsigned char)*p);
				if (*p == '`')
					return cl_fail(&st, "shell syntax is "
					    "not supported (no shell runs the "
					    "command):", '`');
				if (*p == '$') {
					if (cl_expand(&st, &p, vars, nvars) ==
					    -1)
						return -1;
					continue;
				}
				if (*p == '\\' && p[1] != '\0' &&
				    strchr("\"\\$`", p[1]) != NULL)
					p++;
				if (cl_put(&st, *p) == -1)
					return -1;
				p++;
			}
			p++;
		} else if (c == '$') {
			if (cl_expand(&st, &p, vars, nvars) == -1)
				return -1;
		} else {
			st.quoted = 1;
			if (cl_put(&st, (char)c) == -1)
				return -1;
			p++;
		}
	}
	if (cl_end(&st) == -1)
		return -1;
	if (st.argc == 0)
		return cl_fail(&st, "empty command", -1);
	argv[st.argc] = NULL;
	return (int)st.argc;
}
