/*
 * cli.h - the postern command and the helpers it shares with sendmail.
 */
#ifndef POSTERN_CLI_H
#define POSTERN_CLI_H

#include <sys/types.h>
#include <stddef.h>
#include <sysexits.h>

#include "conf.h"

#ifndef POSTERN_SYSCONFDIR
#define POSTERN_SYSCONFDIR "/etc/postern"
#endif
#define POSTERN_SYSCONFDIR_TEXT	POSTERN_SYSCONFDIR "/postern.conf"
#ifndef POSTERN_SBINDIR
#define POSTERN_SBINDIR "/usr/local/sbin"
#endif

struct cli {
	const char	*prog;		/* "postern", for messages */
	const char	*confpath;	/* NULL: built-in defaults */
	struct conf	 conf;
};

/*
 * Which config file to use: explicit (-c / -C) if given, else
 * $POSTERN_CONFIG, else the installed postern.conf if it exists, else
 * NULL for the built-in defaults.
 */
const char *cli_config_path(const char *explicit);
/*
 * Connects to dir/name without putting the whole path in sun_path
 * (108 bytes): chdir into dir, connect to the relative name, chdir back.
 * -1 with errno on failure.
 */
int	cli_connect(const char *dir, const char *name);
/*
 * The path of the program name installed beside this one (postern and
 * sendmail share a directory, sbindir or the build tree's bin/): the
 * directory of /proc/self/exe, else POSTERN_SBINDIR. 0, or -1 when it
 * does not fit.
 */
int	cli_sibling_path(const char *name, char *out, size_t outsz);
/* Reads a pid file; 0 and *pid, or -1 (errno ENOENT: none, EINVAL: junk). */
int	cli_read_pid(const char *path, pid_t *pid);

/* The postern commands; each returns the process exit status. */
int	cli_cmd_check(struct cli *, int argc, char **argv);
int	cli_cmd_start(struct cli *, int argc, char **argv);
int	cli_cmd_stop(struct cli *, int argc, char **argv);
int	cli_cmd_reload(struct cli *, int argc, char **argv);
int	cli_cmd_log(struct cli *, int argc, char **argv);
int	cli_cmd_status(struct cli *, int argc, char **argv);
int	cli_cmd_queue(struct cli *, int argc, char **argv);
int	cli_cmd_user(struct cli *, int argc, char **argv);
int	cli_cmd_alias(struct cli *, int argc, char **argv);
int	cli_cmd_setup(struct cli *, int argc, char **argv);
int	cli_cmd_demo(struct cli *, int argc, char **argv);
/* postern setup --sendmail-link [--force] [--root DIR] (setup_link.c). */
int	cli_setup_sendmail_link(struct cli *, int argc, char **argv);

/* The shipped postern.conf and aliases (setup_files.c, generated). */
extern const unsigned char *const cli_default_conf;
extern const size_t cli_default_conf_len;
extern const unsigned char *const cli_default_aliases;
extern const size_t cli_default_aliases_len;

/* Runs aliases_compile and reports the result; the exit status. */
int	cli_build_aliases(struct cli *);
/*
 * Reads a new password into out (room for PASSWD_LEN_MAX + 1): one line
 * from standard input, or asked twice on the terminal with echo off.
 * Refuses an empty or overlong one. 0, or -1 after telling the user why.
 * The caller wipes out (explicit_bzero) when done with it.
 */
int	cli_password_read(struct cli *, int from_stdin, char *out,
	    size_t outsz);
/* Prints to stderr as "postern: ..." */
void	cli_err(struct cli *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	cli_warn(struct cli *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
