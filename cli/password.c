/*
 * password.c - reading a new password for "postern user add -p" and
 * "postern user passwd": twice from the terminal with echo off, or one
 * line from standard input for scripts; and reading one to check, once,
 * for "postern auth test".
 *
 * Runs in the postern command as the administrator. The password is a
 * secret even from the rest of this process: it is read a byte at a time
 * (no stdio buffer keeps a copy) into the caller's buffer, which the
 * caller wipes. Whatever happens -- an error, EOF, SIGINT -- the
 * terminal gets its echo back before we return or die.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "passwd.h"

/* Signals that end us at the prompt: caught, the tty restored, re-raised. */
static const int pw_sigs[] = { SIGINT, SIGTERM, SIGQUIT, SIGHUP };
#define PW_NSIGS	(sizeof(pw_sigs) / sizeof(pw_sigs[0]))

static volatile sig_atomic_t pw_signo;

static void
pw_catch(int sig)
{
	pw_signo = sig;
}

/*
 * Reads one line (without its newline) into out, a byte at a time. 1
 * with the length in *len, 0 at EOF before any byte, -1 on error (errno:
 * EINTR for a signal, E2BIG for a line that does not fit, EINVAL for a
 * NUL byte). The rest of an overlong line is read and thrown away, so it
 * does not reach the shell after we exit.
 */
static int
pw_read_line(int fd, char *out, size_t outsz, size_t *len)
{
	size_t	n = 0;
	int	toolong = 0, nul = 0, any = 0;
	ssize_t	r;
	char	ch;

	for (;;) {
		if ((r = read(fd, &ch, 1)) == -1)
			return -1;	/* EINTR too: a signal ends the prompt */
		if (r == 0 || ch == '\n')
			break;
		any = 1;
		if (ch == '\0')
			nul = 1;
		if (n + 1 < outsz)
			out[n++] = ch;
		else
			toolong = 1;
	}
	ch = 0;
	out[n] = '\0';
	*len = n;
	if (r == 0 && !any)
		return 0;
	if (toolong || nul) {
		explicit_bzero(out, outsz);
		errno = toolong ? E2BIG : EINVAL;
		return -1;
	}
	return 1;
}

static int
pw_check(struct cli *c, const char *pw, size_t len, int rc)
{
	if (rc == -1 && errno == E2BIG) {
		cli_err(c, "the password is longer than %d bytes",
		    PASSWD_LEN_MAX);
		return -1;
	}
	if (rc == -1 && errno == EINVAL) {
		cli_err(c, "the password contains a NUL byte");
		return -1;
	}
	if (rc == -1) {
		cli_err(c, "cannot read the password: %s", strerror(errno));
		return -1;
	}
	if (rc == 0 || len == 0) {
		cli_err(c, "refusing an empty password");
		return -1;
	}
	return 0;
}

/* Prompts on the tty with echo off; 1 line, 0 EOF, -1 error (errno). */
static int
pw_prompt(int tty, const char *prompt, char *out, size_t outsz, size_t *len)
{
	struct termios		 saved, quiet;
	struct sigaction	 sa, old[PW_NSIGS];
	size_t			 i;
	int			 rc, err;

	if (tcgetattr(tty, &saved) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = pw_catch;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: the signal must interrupt the read. */
	pw_signo = 0;
	for (i = 0; i < PW_NSIGS; i++)
		(void)sigaction(pw_sigs[i], &sa, &old[i]);
	quiet = saved;
	quiet.c_lflag &= ~(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	(void)!write(tty, prompt, strlen(prompt));
	/* TCSAFLUSH: nothing typed ahead of the prompt becomes the password. */
	if (tcsetattr(tty, TCSAFLUSH, &quiet) == -1) {
		rc = -1;
		err = errno;
	} else {
		rc = pw_signo != 0 ? (errno = EINTR, -1) :
		    pw_read_line(tty, out, outsz, len);
		err = errno;
		(void)tcsetattr(tty, TCSAFLUSH, &saved);
		(void)!write(tty, "\n", 1);
	}
	for (i = 0; i < PW_NSIGS; i++)
		(void)sigaction(pw_sigs[i], &old[i], NULL);
	if (pw_signo != 0) {
		/* The terminal is itself again: now die of the signal. */
		explicit_bzero(out, outsz);
		(void)raise(pw_signo);
	}
	errno = err;
	return rc;
}

/*
 * The first (or only) password: one line of standard input, or asked
 * on the terminal with prompt. 0, with *tty still open for a second
 * question (-1: it came from standard input); -1, said and closed.
 */
static int
pw_read_first(struct cli *c, int from_stdin, const char *prompt, char *out,
    size_t outsz, size_t *len, int *tty)
{
	int rc;

	out[0] = '\0';
	*len = 0;
	*tty = -1;
	if (from_stdin) {
		rc = pw_read_line(STDIN_FILENO, out, outsz, len);
		return pw_check(c, out, *len, rc);
	}
	if ((*tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1) {
		cli_err(c, "cannot open the terminal to ask for the password "
		    "(%s); use --password-stdin to read it from standard "
		    "input", strerror(errno));
		return -1;
	}
	rc = pw_prompt(*tty, prompt, out, outsz, len);
	if (pw_check(c, out, *len, rc) == -1) {
		close(*tty);
		*tty = -1;
		return -1;
	}
	return 0;
}

int
cli_password_read(struct cli *c, int from_stdin, char *out, size_t outsz)
{
	char	again[PASSWD_LEN_MAX + 1];
	size_t	len, len2 = 0;
	int	tty, rc, same;

	rc = pw_read_first(c, from_stdin, "New password: ", out, outsz, &len,
	    &tty);
	if (rc == -1 || tty == -1)
		return rc;
	rc = pw_prompt(tty, "Retype new password: ", again, sizeof(again),
	    &len2);
	close(tty);
	if (rc != 1) {
		explicit_bzero(again, sizeof(again));
		explicit_bzero(out, outsz);
		return pw_check(c, again, len2, rc);
	}
	same = len == len2 && memcmp(out, again, len) == 0;
	explicit_bzero(again, sizeof(again));
	if (!same) {
		explicit_bzero(out, outsz);
		cli_err(c, "the passwords do not match");
		return -1;
	}
	return 0;
}

int
cli_password_ask(struct cli *c, int from_stdin, char *out, size_t outsz)
{
	size_t	len;
	int	tty, rc;

	rc = pw_read_first(c, from_stdin, "Password: ", out, outsz, &len,
	    &tty);
	if (tty != -1)
		close(tty);
	return rc;
}
