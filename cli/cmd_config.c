/*
 * cmd_config.c - postern config: the effective configuration, as
 * Postfix's postconf shows main.cf, and safe edits of postern.conf.
 *
 * Runs as the administrator. Reads the config; with -e, replaces it.
 * An edit is written only if the whole resulting file loads and passes
 * every check that start and reload run (libcommon/confcheck): a file
 * that "postern config -e" wrote is one the suite starts with. The new
 * file is written beside the old one (same mode), fsynced and renamed
 * over it, then the directory is fsynced (fs_atomic_write), so a crash
 * leaves the old file or the new one, never half of either; comments and
 * every other line stay as they were (libcommon/confedit).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "confcheck.h"
#include "confedit.h"
#include "fsutil.h"

#define CONFIG_FILE_MAX	(1024 * 1024)	/* conf_load's limit */

static void
config_usage(struct cli *c)
{
	cli_err(c, "usage: postern config [-n | -d] [key ...]\n"
	    "       postern config -e key=value ...");
}

/* The whole file, NUL-ended; NULL after saying why. */
static char *
config_read(struct cli *c, const char *path, struct stat *st)
{
	char	*text;
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, st) == -1) {
		cli_err(c, "%s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return NULL;
	}
	if (!S_ISREG(st->st_mode) || st->st_size > CONFIG_FILE_MAX) {
		cli_err(c, "%s: not a regular file of at most 1 MiB", path);
		close(fd);
		return NULL;
	}
	if ((text = malloc((size_t)st->st_size + 1)) == NULL) {
		cli_err(c, "out of memory");
		close(fd);
		return NULL;
	}
	n = fs_pread_full(fd, text, (size_t)st->st_size, 0);
	close(fd);
	if (n != (ssize_t)st->st_size) {
		cli_err(c, "%s: read: %s", path, n == -1 ? strerror(errno) :
		    "the file changed while being read");
		free(text);
		return NULL;
	}
	text[n] = '\0';
	if (strlen(text) != (size_t)n) {
		cli_err(c, "%s: holds a NUL byte", path);
		free(text);
		return NULL;
	}
	return text;
}

/*
 * fs_atomic_write (tmp, fsync, rename, fsync the directory) with the old
 * file's mode; its owner is given back when root edits a file it does
 * not own (a postern.conf is read by master as root either way).
 */
static int
config_replace(struct cli *c, const char *path, const char *text,
    const struct stat *st)
{
	if (fs_atomic_write(path, text, strlen(text), st->st_mode & 07777) ==
	    -1) {
		cli_err(c, "cannot replace %s: %s", path, strerror(errno));
		return -1;
	}
	if (geteuid() == 0 && (st->st_uid != 0 || st->st_gid != 0) &&
	    chown(path, st->st_uid, st->st_gid) == -1)
		cli_warn(c, "chown %s: %s", path, strerror(errno));
	return 0;
}

static int
config_edit(struct cli *c, int argc, char **argv)
{
	struct conf		 nc;
	struct stat		 st;
	char			*text, *next, *key, *eq, err[512];
	int			 i;

	if (c->confpath == NULL) {
		cli_err(c, "no configuration file to edit (the built-in "
		    "defaults are in use): name one with -c or "
		    "POSTERN_CONFIG");
		return EX_USAGE;
	}
	if (argc < 1) {
		config_usage(c);
		return EX_USAGE;
	}
	if ((text = config_read(c, c->confpath, &st)) == NULL)
		return EX_CONFIG;
	for (i = 0; i < argc; i++) {
		if ((eq = strchr(argv[i], '=')) == NULL) {
			cli_err(c, "\"%s\": expected key=value", argv[i]);
			free(text);
			return EX_USAGE;
		}
		if ((key = strndup(argv[i], (size_t)(eq - argv[i]))) == NULL) {
			free(text);
			cli_err(c, "out of memory");
			return EX_OSERR;
		}
		/* "key = value" on the command line, as in the file. */
		while (key[0] != '\0' && strchr(" \t", key[strlen(key) - 1]))
			key[strlen(key) - 1] = '\0';
		eq++;
		while (*eq == ' ' || *eq == '\t')
			eq++;
		if (!conf_key_known(key)) {
			cli_err(c, "unknown key \"%s\"; nothing changed", key);
			free(key);
			free(text);
			return 1;
		}
		next = confedit_set(text, key, eq);
		free(key);
		if (next == NULL) {
			cli_err(c, "\"%s\": %s; nothing changed", argv[i],
			    errno == EINVAL ? "a value must be one line" :
			    strerror(errno));
			free(text);
			return 1;
		}
		free(text);
		text = next;
	}
	/* The file as it would be, judged as start and reload judge it. */
	if (conf_load_string(&nc, c->confpath, text, err, sizeof(err)) == -1) {
		cli_err(c, "error: %s", err);
		cli_err(c, "%s not changed", c->confpath);
		free(text);
		return 1;
	}
	if (cli_check_conf(c, &nc) == -1) {
		cli_err(c, "%s not changed", c->confpath);
		conf_free(&nc);
		free(text);
		return 1;
	}
	conf_free(&nc);
	if (config_replace(c, c->confpath, text, &st) == -1) {
		free(text);
		return 1;
	}
	free(text);
	for (i = 0; i < argc; i++)
		printf("postern: %s: set %s\n", c->confpath, argv[i]);
	printf("postern: \"postern reload\" applies it to a running suite\n");
	return 0;
}

static int
config_print(struct cli *c, const char *key, const struct conf *cf,
    const struct conf *defaults, int only_changed)
{
	char	*v, *d = NULL;
	int	 show;

	if ((v = conf_value(cf, key)) == NULL) {
		cli_err(c, "unknown key \"%s\"", key);
		return -1;
	}
	show = 1;
	if (only_changed) {
		if ((d = conf_value(defaults, key)) == NULL) {
			free(v);
			cli_err(c, "out of memory");
			return -1;
		}
		show = strcmp(v, d) != 0;
	}
	if (show)
		printf("%s = %s\n", key, v);
	free(v);
	free(d);
	return 0;
}

int
cli_cmd_config(struct cli *c, int argc, char **argv)
{
	struct conf	 defaults;
	const struct conf *cf = &c->conf;
	char		 err[512];
	const char	*k;
	int		 only_changed = 0, show_defaults = 0, rc = 0, i;
	size_t		 n;

	argc--;
	argv++;
	if (argc > 0 && strcmp(argv[0], "-e") == 0)
		return config_edit(c, argc - 1, argv + 1);
	for (; argc > 0 && argv[0][0] == '-'; argc--, argv++) {
		if (strcmp(argv[0], "-n") == 0)
			only_changed = 1;
		else if (strcmp(argv[0], "-d") == 0)
			show_defaults = 1;
		else if (strcmp(argv[0], "--") == 0) {
			argc--;
			argv++;
			break;
		} else {
			config_usage(c);
			return EX_USAGE;
		}
	}
	if (only_changed && show_defaults) {
		config_usage(c);
		return EX_USAGE;
	}
	if (conf_load(&defaults, NULL, err, sizeof(err)) == -1) {
		cli_err(c, "%s", err);	/* a broken built-in default */
		return EX_SOFTWARE;
	}
	if (show_defaults)
		cf = &defaults;
	if (argc == 0) {
		for (n = 0; (k = conf_key_name(n)) != NULL; n++)
			if (config_print(c, k, cf, &defaults,
			    only_changed) == -1)
				rc = 1;
	} else {
		for (i = 0; i < argc; i++)
			if (config_print(c, argv[i], cf, &defaults,
			    only_changed) == -1)
				rc = 1;
	}
	conf_free(&defaults);
	return rc;
}
