/*
 * test_log.c - libcommon/log: one line per event with the process's own
 * pid (remembered, so it must be right again in a forked child), control
 * characters from peers escaped, the tag "<syslog_name>/<process>", the
 * delivery line in Postfix's shape, a log socket that never blocks, and
 * logd's turning of one record into one line of the log file.
 */
#include <sys/socket.h>
#include <sys/un.h>
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
#include "logd.h"
#include "qid.h"

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

static void
test_foreground_lines_carry_a_timestamp_host_and_the_configured_tag(
    void **state)
{
	char *text;

	log_init("test", LOG_DEST_STDERR);
	log_configure("mta-out", NULL);
	text = capture(peer_text);
	/* "2026-12-02T09:43:08.123456+00:00 host mta-out/test[pid]: ..." */
	assert_true(strlen(text) > 33);
	assert_true(text[4] == '-' && text[10] == 'T' && text[19] == '.' &&
	    (text[26] == '+' || text[26] == '-'));
	assert_non_null(strstr(text, " mta-out/test["));
	assert_non_null(strstr(text, "]: warning: client said"));
	free(text);
	log_configure("postern", NULL);
}

static void
as_pickup(void)
{
	log_info_as("pickup", "%s: uid=33 from=<www-data>", "ABC");
	log_info("after");
}

static void
test_info_as_logs_under_another_name_once(void **state)
{
	char *text;

	log_init("queued", LOG_DEST_STDERR);
	log_configure("postern", NULL);
	text = capture(as_pickup);
	assert_non_null(strstr(text, " postern/pickup["));
	assert_non_null(strstr(text, "]: ABC: uid=33 from=<www-data>\n"));
	/* The process's own name again for the next line. */
	assert_non_null(strstr(text, " postern/queued["));
	free(text);
}

static void
test_delays_have_two_significant_digits_as_postfix_prints_them(void **state)
{
	static const struct {
		int64_t		 us;
		const char	*want;
	} cases[] = {
		{ -5, "0" }, { 0, "0" }, { 4999, "0" }, { 5000, "0.01" },
		{ 73000, "0.07" }, { 100000, "0.1" }, { 134000, "0.13" },
		{ 994999, "0.99" }, { 995000, "1" }, { 1240000, "1.2" },
		{ 9949999, "9.9" }, { 9950000, "10" }, { 3445400000LL, "3445" },
	};
	char	buf[32];
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		log_format_delay(buf, sizeof(buf), cases[i].us);
		assert_string_equal(buf, cases[i].want);
	}
}

static void
test_a_delivery_line_has_postfix_fields_in_postfix_order(void **state)
{
	struct log_delivery	d;
	char			line[1024];

	memset(&d, 0, sizeof(d));
	d.qid = "661A3B07156F4000";
	d.to = "bob@example.test";
	d.orig_to = "fwd@example.test";
	d.relay = "local";
	d.status = "sent";
	d.text = "2.0.0 delivered to maildir";
	d.arrival_us = 1000000000000000LL;
	d.active_us = d.arrival_us + 70000;
	d.handoff_us = d.active_us + 10000;
	d.done_us = d.handoff_us + 50000;
	assert_int_equal(log_format_delivery(line, sizeof(line), &d), 0);
	assert_string_equal(line, "661A3B07156F4000: to=<bob@example.test>, "
	    "orig_to=<fwd@example.test>, relay=local, delay=0.13, "
	    "delays=0.07/0.01/0/0.05, dsn=2.0.0, status=sent (delivered to "
	    "maildir)");

	/* No orig_to when only the case differs; a remote connection. */
	d.orig_to = "BOB@example.test";
	d.relay = "mx.example.net[192.0.2.1]:25";
	d.conn_us = d.handoff_us + 20000;
	d.status = "deferred";
	d.text = "4.4.1 connect to mx.example.net: timed out";
	assert_int_equal(log_format_delivery(line, sizeof(line), &d), 0);
	assert_string_equal(line, "661A3B07156F4000: to=<bob@example.test>, "
	    "relay=mx.example.net[192.0.2.1]:25, delay=0.13, "
	    "delays=0.07/0.01/0.02/0.03, dsn=4.4.1, status=deferred "
	    "(connect to mx.example.net: timed out)");
}

static void
test_a_line_without_agent_or_code_counts_to_now_and_defaults_the_dsn(
    void **state)
{
	struct log_delivery	d;
	char			line[1024];

	memset(&d, 0, sizeof(d));
	d.qid = "661A3B07156F4000";
	d.to = "far@remote.test";
	d.relay = "none";
	d.status = "bounced";
	d.text = "no such domain";
	d.arrival_us = 1000000000000000LL;
	d.active_us = d.arrival_us + 2000000;
	d.done_us = d.active_us + 30000;
	assert_int_equal(log_format_delivery(line, sizeof(line), &d), 0);
	assert_string_equal(line, "661A3B07156F4000: to=<far@remote.test>, "
	    "relay=none, delay=2, delays=2/0.03/0/0, dsn=5.0.0, "
	    "status=bounced (no such domain)");
	/* Something that merely looks like a code is reason text. */
	d.text = "5.1 not a code";
	d.status = "deferred";
	assert_int_equal(log_format_delivery(line, sizeof(line), &d), 0);
	assert_non_null(strstr(line, "dsn=4.0.0, status=deferred (5.1 not a "
	    "code)"));
	/* A clock stepped back gives zeros, never negative delays. */
	d.done_us = d.arrival_us - 1000;
	d.active_us = 0;
	assert_int_equal(log_format_delivery(line, sizeof(line), &d), 0);
	assert_non_null(strstr(line, "delay=0, delays=0/0/0/0,"));
}

static void
test_the_arrival_is_the_queue_ids_time(void **state)
{
	struct qid_gen	g = { 0, 0 };
	char		id[QID_LEN + 1];

	qid_next(&g, 1796205528123456ULL, id);
	assert_true(qid_time_us(id) == 1796205528123456ULL);
	assert_true(qid_time_us("not a queue id") == 0);
}

static int
listener_at(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	assert_true(fd != -1);
	unlink(path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(fd, 8), 0);
	return fd;
}

static void
test_a_full_log_socket_never_blocks_and_the_loss_is_counted(void **state)
{
	char	 path[] = "/tmp/postern-test-logsock-XXXXXX", sock[128];
	char	 rec[LOG_RECORD_MAX + 1], *found = NULL;
	int	 lfd, fd, i, got = 0, small = 4096;
	ssize_t	 n;

	assert_non_null(mkdtemp(path));
	snprintf(sock, sizeof(sock), "%s/log.sock", path);
	lfd = listener_at(sock);
	log_init("test", LOG_DEST_SYSLOG);
	log_configure("postern", sock);
	assert_true(log_fd() != -1);
	assert_int_equal(setsockopt(log_fd(), SOL_SOCKET, SO_SNDBUF, &small,
	    sizeof(small)), 0);
	/* Nobody reads yet: far more lines than the socket holds. */
	for (i = 0; i < 2000; i++)
		log_info("line %d", i);
	fd = accept(lfd, NULL, NULL);
	assert_true(fd != -1);
	while ((n = recv(fd, rec, sizeof(rec) - 1, MSG_DONTWAIT)) > 0)
		got++;
	assert_true(got > 0 && got < 2000);
	log_info("after");
	while ((n = recv(fd, rec, sizeof(rec) - 1, MSG_DONTWAIT)) > 0) {
		rec[n] = '\0';
		if (strstr(rec, "log lines lost") != NULL)
			found = strdup(rec);
	}
	assert_non_null(found);
	/* A warning, from this process, with the exact count. */
	snprintf(rec, sizeof(rec), "<4>postern/test: warning: %d log lines "
	    "lost", 2000 - got);
	assert_true(strncmp(found, rec, strlen(rec)) == 0);
	free(found);
	log_configure("postern", NULL);
	close(fd);
	close(lfd);
	unlink(sock);
	rmdir(path);
	log_init("test", LOG_DEST_STDERR);
}

static void
test_logd_writes_one_syslog_shaped_line_per_record(void **state)
{
	struct timespec	ts = { 1796205528, 123456000 };
	char		out[LOGD_LINE_MAX];
	const char	*rec = "<6>postern/smtpd: connect from unknown[192.0.2.1]";
	size_t		n;

	setenv("TZ", "UTC", 1);
	tzset();
	n = logd_format(out, sizeof(out), rec, strlen(rec), 4242, &ts, "mx",
	    "postern");
	assert_string_equal(out, "2026-12-02T09:58:48.123456+00:00 mx "
	    "postern/smtpd[4242]: connect from unknown[192.0.2.1]\n");
	assert_int_equal(n, strlen(out));
}

static void
test_logd_keeps_a_malformed_record_escaped_under_unknown(void **state)
{
	struct timespec	ts = { 1796205528, 0 };
	char		out[LOGD_LINE_MAX];
	/* A forged newline must not start a line of its own. */
	const char	rec[] = "postern/smtpd: x\n2026-12-02T00:00:00 mx "
	    "postern/smtpd[1]: fake";
	const char	bad_tag[] = "<6>postern/smtpd ok[1]: text";

	setenv("TZ", "UTC", 1);
	tzset();
	logd_format(out, sizeof(out), rec, sizeof(rec) - 1, 77, &ts, "mx",
	    "postern");
	assert_non_null(strstr(out, " mx postern/unknown[77]: postern/smtpd: "
	    "x\\x0a2026"));
	assert_int_equal(strchr(out, '\n') - out + 1, (long)strlen(out));
	logd_format(out, sizeof(out), bad_tag, sizeof(bad_tag) - 1, 77, &ts,
	    "mx", "postern");
	assert_non_null(strstr(out, "postern/unknown[77]: <6>postern/smtpd "));
	/* Whatever the record's length, the line ends and fits. */
	{
		char big[LOG_RECORD_MAX];

		memset(big, '\x01', sizeof(big));
		memcpy(big, "<6>postern/x: ", 14);
		logd_format(out, sizeof(out), big, sizeof(big), 1, &ts, "mx",
		    "postern");
		assert_int_equal(out[strlen(out) - 1], '\n');
		assert_true(strlen(out) < sizeof(out));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_foreground_lines_carry_a_timestamp_host_and_the_configured_tag),
		cmocka_unit_test(test_info_as_logs_under_another_name_once),
		cmocka_unit_test(test_delays_have_two_significant_digits_as_postfix_prints_them),
		cmocka_unit_test(test_a_delivery_line_has_postfix_fields_in_postfix_order),
		cmocka_unit_test(test_a_line_without_agent_or_code_counts_to_now_and_defaults_the_dsn),
		cmocka_unit_test(test_the_arrival_is_the_queue_ids_time),
		cmocka_unit_test(test_a_full_log_socket_never_blocks_and_the_loss_is_counted),
		cmocka_unit_test(test_logd_writes_one_syslog_shaped_line_per_record),
		cmocka_unit_test(test_logd_keeps_a_malformed_record_escaped_under_unknown),
		cmocka_unit_test(test_each_process_logs_its_own_pid_across_fork),
		cmocka_unit_test(test_control_characters_are_escaped_in_one_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
