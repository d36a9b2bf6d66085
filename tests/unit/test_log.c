/*
 * test_log.c - libcommon/log: one line per event with the process's own
 * pid (remembered, so it must be right again in a forked child), and
 * control characters from peers escaped.
 */
#include <sys/wait.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

/* Runs fn with stderr sent to a temp file; returns what it wrote. */
static char *
capture(void (*fn)(void))
{
	char	 path[] = "/tmp/postern-test-log-XXXXXX";
	char	*text;
	long	 len;
	int	 fd, saved;
	FILE	*f;

	fd = mkstemp(path);
	assert_true(fd != -1);
	unlink(path);
	saved = dup(STDERR_FILENO);
	assert_true(saved != -1);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	fn();
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	f = fdopen(fd, "r");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)len + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	return text;
}

static void
parent_then_child(void)
{
	pid_t	pid;
	int	status;

	log_info("from the parent");
	if ((pid = fork()) == 0) {
		log_info("from the child");
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	log_info("from the parent again, child %ld", (long)pid);
}

static void
test_each_process_logs_its_own_pid_across_fork(void **state)
{
	char	*text, want[128], *child;
	long	 cpid;

	log_init("test", LOG_DEST_STDERR);
	text = capture(parent_then_child);
	snprintf(want, sizeof(want), "postern/test[%ld]: from the parent\n",
	    (long)getpid());
	assert_non_null(strstr(text, want));
	child = strstr(text, "child ");
	assert_non_null(child);
	cpid = strtol(child + 6, NULL, 10);
	assert_true(cpid > 0 && cpid != (long)getpid());
	snprintf(want, sizeof(want), "postern/test[%ld]: from the child\n",
	    cpid);
	assert_non_null(strstr(text, want));
	snprintf(want, sizeof(want), "postern/test[%ld]: from the parent "
	    "again", (long)getpid());
	assert_non_null(strstr(text, want));
	free(text);
}

static void
peer_text(void)
{
	log_warnx("client said \"%s\"", "a\r\nfake: line\x1b");
}

static void
test_control_characters_are_escaped_in_one_line(void **state)
{
	char *text;

	log_init("test", LOG_DEST_STDERR);
	text = capture(peer_text);
	assert_non_null(strstr(text, "warning: client said "
	    "\"a\\x0d\\x0afake: line\\x1b\"\n"));
	assert_int_equal(strchr(text, '\n') - text + 1, (long)strlen(text));
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_process_logs_its_own_pid_across_fork),
		cmocka_unit_test(test_control_characters_are_escaped_in_one_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
