/*
 * test_imap_reader.c - imapd's command reader over a socketpair: lines
 * and literals of both kinds assembled into one command, the
 * continuation asked of the caller only for synchronising literals,
 * every limit refused at the announcement (before the client sends the
 * bytes), refused non-synchronising literals read and dropped, NUL,
 * bare LF, an overlong line, and EOF inside a literal. Plus netio_read.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "imap_reader.h"
#include "netio.h"

struct pair {
	struct netio		io;
	int			peer;
	struct imap_reader	rd;
	struct imap_cmd		cmd;
	int			conts;		/* continuations asked for */
	size_t			cont_n;
};

static int
cont(struct netio *io, size_t n, void *arg)
{
	struct pair *p = arg;

	p->conts++;
	p->cont_n = n;
	return netio_printf(io, "+ Ready for literal data\r\n");
}

static void
pair_open_lim(struct pair *p, const struct imap_limits *lim)
{
	int sv[2];

	memset(p, 0, sizeof(*p));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	netio_init(&p->io, sv[0], 2);
	p->peer = sv[1];
	assert_int_equal(imap_reader_init(&p->rd, &p->io, lim, cont, p), 0);
	imap_cmd_init(&p->cmd);
}

static void
pair_open(struct pair *p)
{
	struct imap_limits lim;

	imap_limits_default(&lim);
	lim.timeout = 2;
	pair_open_lim(p, &lim);
}

static void
pair_close(struct pair *p)
{
	imap_cmd_free(&p->cmd);
	imap_reader_free(&p->rd);
	close(p->io.fd);
	if (p->peer != -1)
		close(p->peer);
	netio_free(&p->io);
}

static void
say_n(struct pair *p, const void *s, size_t n)
{
	assert_int_equal(write(p->peer, s, n), (ssize_t)n);
}

static void
say(struct pair *p, const char *s)
{
	say_n(p, s, strlen(s));
}

/* What the server wrote to the client so far (without waiting). */
static size_t
heard(struct pair *p, char *out, size_t max)
{
	ssize_t n = recv(p->peer, out, max - 1, MSG_DONTWAIT);

	if (n < 0)
		n = 0;
	out[n] = '\0';
	return (size_t)n;
}

static void
test_plain_command_is_one_line(void **state)
{
	struct pair p;

	(void)state;
	pair_open(&p);
	say(&p, "a001 CAPABILITY\r\nA002 NOOP\r\n");
	assert_int_equal(imap_read_command(&p.rd, &p.cmd), IMAP_RD_OK);
	assert_string_equal(p.cmd.buf, "a001 CAPABILITY");
	assert_int_equal(p.cmd.nlit, 0);
	assert_string_equal(p.rd.tag, "a001");
	assert_int_equal(imap_read_command(&p.rd, &p.cmd), IMAP_RD_OK);
	assert_string_equal(p.cmd.buf, "A002 NOOP");
	pair_close(&p);
}

static void
test_synchronising_literal_asks_for_continuation_first(void **state)
{
	struct pair	p;
	char		out[256];
	const char	*msg = "From: a@b\r\nSubject: x\r\n\r\nhi\r\n";
	char		line[64];
	pid_t		pid;

	(void)state;
	pair_open(&p);
	snprintf(line, sizeof(line), "A5 APPEND \"Sent\" (\\Seen) {%zu}\r\n",
	    strlen(msg));
	say(&p, line);
	/* The client sends nothing more until the "+": the reader must ask. */
	if ((pid = fork()) == 0) {
		char	buf[256];
		ssize_t	n;

		n = read(p.peer, buf, sizeof(buf));
		if (n > 0 && strncmp(buf, "+ ", 2) == 0) {
			(void)!write(p.peer, msg, strlen(msg));
			(void)!write(p.peer, "\r\n", 2);
		}
		_exit(0);
	}
	assert_int_equal(imap_read_command(&p.rd, &p.cmd), IMAP_RD_OK);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_int_equal(p.conts, 1);
	assert_int_equal(p.cont_n, strlen(msg));
	assert_int_equal(p.cmd.nlit, 1);
	assert_int_equal(p.cmd.lit[0].len, strlen(msg));
	assert_memory_equal(p.cmd.buf + p.cmd.lit[0].off, msg, strlen(msg));
	/* The literal is NUL-terminated in place and the last line is empty. */
	assert_int_equal(p.cmd.buf[p.cmd.lit[0].off + strlen(msg)], '\0');
	assert_int_equal(p.cmd.len, p.cmd.lit[0].off + strlen(msg) + 1);
	assert_int_equal(heard(&p, out, sizeof(out)), 0);
	pair_close(&p);
}

static void
test_nonsync_literals_need_no_continuation(void **state)
{
	struct pair	p;
	char		out[64];
	static const char in[] =
	    "A1 LOGIN {5+}\r\nalice {6+}\r\nse\x00r\xe9t\r\n";

	(void)state;
	pair_open(&p);
	say_n(&p, in, sizeof(in) - 1);
	assert_int_equal(imap_read_command(&p.rd, &p.cmd), IMAP_RD_OK);
	assert_int_equal(p.conts, 0);
	assert_int_equal(p.cmd.nlit, 2);
	assert_memory_equal(p.cmd.buf + p.cmd.lit[0].off, "alice", 5);
	/* Literal bytes are the reader's to carry, NUL and 8-bit included. */
	assert_memory_equal(p.cmd.buf + p.cmd.lit[1].off, "se\0r\xe9t", 6);
	assert_memory_equal(p.cmd.buf, "A1 LOGIN {5+}", 13);
	assert_memory_equal(p.cmd.buf + p.cmd.lit[0].off + 6, " {6+}", 5);
	assert_int_equal(heard(&p, out, sizeof(out)), 0);
	pair_close(&p);
}

static void
test_too_big_sync_literal_is_refused_before_the_bytes(void **state)
{
	struct imap_limits	lim;
	struct pair		p;
	char			out[64];

	(void)state;
	imap_limits_default(&lim);
	lim.timeout = 2;
	lim.literal_max = 100;
	pair_open_lim(&p, &lim);
	/* The client waits for "+"; nothing of the literal comes. */
	say(&p, "A5 APPEND INBOX {101}\r\nA6 NOOP\r\n");
	assert_int_equal(imap_read_command(&p.rd, &p.cmd), IMAP_RD_REJECT);
	assert_string_equal(p.rd.tag, "A5");
	assert_string_equal(p.rd.resp, "NO [TOOBIG] Literal too large");
	assert_int_equal(p.conts, 0);
	assert_int_equal(heard(&p, out, sizeof(out)), 0);
	/* The session goes on with the next command. */
	assert_int_equal(imap_read_command(&p.rd, &p.cmd), IMAP_RD_OK);
	assert_string_equal(p.cmd.buf, "A6 NOOP");
	pair_close(&p);
}

static void
test_huge_announcement_allocates_nothing(void **state)
{
	struct pair p;

	(void)state;
	pair_open(&p);
	say(&p, "A1 APPEND INBOX {4294967295}\r\n");
	assert_int_equal(imap_read_command(&p.rd, &p.cmd), IMAP_RD_REJECT);
	assert_true(p.cmd.cap < 64 * 1024);
	/* Past 32 bits it is no announcement: the parser says BAD. */
	say(&p, "A2 APPEND INBOX {4294967296}\r\n");
	assert_int_equal(imap_read_command(&p.rd, &p.cmd), IMAP_RD_OK);
	assert_int_equal(p.cmd.nlit, 0);
	pair_close(&p);
}

static void
test_too_big_nonsync_literal_is_dropped_and_refused(void **state)
{
	struct imap_limits	lim;
	struct pair		p;

	(void)state;
	imap_limits_default(&lim);
	lim.timeout = 2;
	lim.literal_max = 10;
	pair_open_lim(&p, &lim);
	/* Its bytes come anyway, and a second literal after it. */
	say(&p, "A1 APPEND INBOX {20+}\r\nA2 DELETE INBOX\r\nxxxx {3+}\r\n"
	    "abc\r\nA3 NOOP\r\n");
	assert_int_equal(imap_read_command(&p.rd, &p.cmd), IMAP_RD_REJECT);
	assert_string_equal(p.rd.tag, "A1");
	assert_string_equal(p.rd.resp, "BAD [TOOBIG] Literal too large");
	/* The literal's "A2 DELETE INBOX" was never taken as a command. */
	assert_int_equal(imap_read_command(&p.rd, &p.cmd), IMAP_RD_OK);
	assert_string_equal(p.cmd.buf, "A3 NOOP");
	pair_close(&p);
}

static void
test_nonsync_past_discard_limit_closes(void **state)
{
	struct imap_limits	lim;
	struct pair		p;

	(void)state;
	imap_limits_default(&lim);
	lim.timeout = 2;
	lim.literal_max = 10;
	lim.discard_max = 100;
	pair_open_lim(&p, &lim);
	say(&p, "A1 APPEND INBOX {1000000+}\r\n");
	assert_int_equal(imap_read_command(&p.rd, &p.cmd), IMAP_RD_CLOSE);
	assert_string_equal(p.rd.resp, "[TOOBIG] Literal too large");
	pair_close(&p);
}

static void
test_literal_minus_takes_4096_nonsync_and_refuses_more(void **state)
{
	struct imap_limits	lim;
	struct pair		p;
	char			*big;

	(void)state;
	imap_limits_default(&lim);
	lim.timeout = 2;
	lim.nonsync_max = IMAP_LITERAL_MINUS_MAX;
	pair_open_lim(&p, &lim);
	big = malloc(4097);
	memset(big, 'x', 4097);
	say(&p, "A1 APPEND INBOX {4096+}\r\n");
	say_n(&p, big, 4096);
	say(&p, "\r\n");
	assert_int_equal(imap_read_command(&p.rd, &p.cmd), IMAP_RD_OK);
	assert_int_equal(p.cmd.lit[0].len, 4096);
	say(&p, "A2 APPEND INBOX {4097+}\r\n");
	say_n(&p, big, 4097);
	say(&p, "\r\nA3 NOOP\r\n");
	assert_int_equal(imap_read_command(&p.rd, &p.cmd), IMAP_RD_REJECT);
	assert_string_equal(p.rd.tag, "A2");
	assert_non_null(strstr(p.rd.resp, "BAD [TOOBIG]"));
	assert_int_equal(imap_read_command(&p.rd, &p.cmd), IMAP_RD_OK);
	assert_string_equal(p.cmd.buf, "A3 NOOP");
	/* Synchronising ones stay as big as literal_max allows. */
	say(&p, "A4 APPEND INBOX {4097}\r\n");
	say_n(&p, big, 4097);
	say(&p, "\r\n");
	assert_int_equal(imap_read_command(&p.rd, &p.cmd), IMAP_RD_OK);
	assert_int_equal(p.conts, 1);
	free(big);
	pair_close(&p);
}

static void
test_command_length_and_literal_count_are_capped(void **state)
{
	struct imap_limits	lim;
	struct pair		p;

	(void)state;
	imap_limits_default(&lim);
	lim.timeout = 2;
	lim.command_max = 64;
	lim.literals_max = 2;
	pair_open_lim(&p, &lim);
	say(&p, "A1 X {1+}\r\na {1+}\r\nb {1}\r\nA3 NOOP\r\n");
	assert_int_equal(imap_read_command(&p.rd, &p.cmd), IMAP_RD_REJECT);
	assert_string_equal(p.rd.resp, "BAD Too many literals");
	assert_int_equal(p.conts, 0);
	assert_int_equal(imap_read_command(&p.rd, &p.cmd), IMAP_RD_OK);
	assert_string_equal(p.cmd.buf, "A3 NOOP");
	/* 55 fits in literal_max, not in what is left of the 64 bytes. */
	say(&p, "A2 X {55}\r\n");
	assert_int_equal(imap_read_command(&p.rd, &p.cmd), IMAP_RD_REJECT);
	assert_string_equal(p.rd.resp, "NO [TOOBIG] Literal too large");
	say(&p, "A2 X {54}\r\n0123456789012345678901234567890123456789"
	    "01234567890123\r\n");
	assert_int_equal(imap_read_command(&p.rd, &p.cmd), IMAP_RD_OK);
	assert_int_equal(p.cmd.lit[0].len, 54);
	pair_close(&p);
}

static void
test_nul_in_line_is_bad_and_session_goes_on(void **state)
{
	struct pair p;

	(void)state;
	pair_open(&p);
	say_n(&p, "A1 SELECT IN\0BOX\r\nA2 NOOP\r\n", 27);
	assert_int_equal(imap_read_command(&p.rd, &p.cmd), IMAP_RD_REJECT);
	assert_string_equal(p.rd.tag, "A1");
	assert_string_equal(p.rd.resp, "BAD NUL in command line");
	assert_int_equal(imap_read_command(&p.rd, &p.cmd), IMAP_RD_OK);
	assert_string_equal(p.cmd.buf, "A2 NOOP");
	pair_close(&p);
}

static void
test_bare_lf_ends_a_line(void **state)
{
	struct pair p;

	(void)state;
	pair_open(&p);
	say(&p, "A1 LOGIN {3}\nbob \"pw\"\nA2 NOOP\n");
	assert_int_equal(imap_read_command(&p.rd, &p.cmd), IMAP_RD_OK);
	assert_int_equal(p.cmd.nlit, 1);
	assert_memory_equal(p.cmd.buf + p.cmd.lit[0].off, "bob", 3);
	assert_string_equal(p.cmd.buf + p.cmd.lit[0].off + 4, " \"pw\"");
	assert_int_equal(imap_read_command(&p.rd, &p.cmd), IMAP_RD_OK);
	assert_string_equal(p.cmd.buf, "A2 NOOP");
	pair_close(&p);
}

static void
test_overlong_line_closes(void **state)
{
	struct imap_limits	lim;
	struct pair		p;
	char			line[200];

	(void)state;
	imap_limits_default(&lim);
	lim.timeout = 2;
	lim.line_max = 100;
	pair_open_lim(&p, &lim);
	memset(line, 'a', sizeof(line));
	memcpy(line, "A1 ", 3);
	say_n(&p, line, sizeof(line));
	say(&p, " {5+}\r\nhello\r\n");
	assert_int_equal(imap_read_command(&p.rd, &p.cmd), IMAP_RD_CLOSE);
	assert_string_equal(p.rd.resp, "Command line too long");
	pair_close(&p);
}

static void
test_eof_inside_literal_is_eof(void **state)
{
	struct pair p;

	(void)state;
	pair_open(&p);
	say(&p, "A1 APPEND INBOX {100+}\r\nonly a little");
	close(p.peer);
	p.peer = -1;
	assert_int_equal(imap_read_command(&p.rd, &p.cmd), IMAP_RD_EOF);
	pair_close(&p);
}

static void
test_silent_client_times_out_inside_literal(void **state)
{
	struct imap_limits	lim;
	struct pair		p;

	(void)state;
	imap_limits_default(&lim);
	lim.timeout = 1;
	pair_open_lim(&p, &lim);
	say(&p, "A1 APPEND INBOX {10+}\r\nabc");
	assert_int_equal(imap_read_command(&p.rd, &p.cmd), IMAP_RD_TIMEOUT);
	pair_close(&p);
}

static void
test_8bit_garbage_is_carried_for_the_parser(void **state)
{
	struct pair p;

	(void)state;
	pair_open(&p);
	say(&p, "\xff\xfe garbage \x80\x81\r\n");
	assert_int_equal(imap_read_command(&p.rd, &p.cmd), IMAP_RD_OK);
	/* No valid tag: a BAD goes out untagged. */
	assert_string_equal(p.rd.tag, "*");
	pair_close(&p);
}

static void
test_literal_announcement_forms(void **state)
{
	uint32_t	n;
	int		ns;

	(void)state;
	assert_int_equal(imap_literal_announced("A {0}", 5, &n, &ns), 1);
	assert_int_equal(n, 0);
	assert_int_equal(ns, 0);
	assert_int_equal(imap_literal_announced("{12+}", 5, &n, &ns), 1);
	assert_int_equal(n, 12);
	assert_int_equal(ns, 1);
	assert_int_equal(imap_literal_announced("{}", 2, &n, &ns), 0);
	assert_int_equal(imap_literal_announced("{+}", 3, &n, &ns), 0);
	assert_int_equal(imap_literal_announced("{1a}", 4, &n, &ns), 0);
	assert_int_equal(imap_literal_announced("{-1}", 4, &n, &ns), 0);
	assert_int_equal(imap_literal_announced("{1}x", 4, &n, &ns), 0);
	assert_int_equal(imap_literal_announced("{00000000001}", 13, &n,
	    &ns), 0);
	assert_int_equal(imap_literal_announced("12}", 3, &n, &ns), 0);
}

static void
test_netio_read_takes_exactly_n_across_fills(void **state)
{
	struct pair	p;
	char		buf[8], line[32];
	size_t		len;
	pid_t		pid;

	(void)state;
	pair_open(&p);
	say(&p, "0123");
	if ((pid = fork()) == 0) {
		(void)!write(p.peer, "4567rest\r\n", 10);
		_exit(0);
	}
	assert_int_equal(netio_read(&p.io, buf, 8, 2), NETIO_OK);
	assert_memory_equal(buf, "01234567", 8);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_int_equal(netio_getline(&p.io, line, sizeof(line), &len, 2),
	    NETIO_OK);
	assert_string_equal(line, "rest");
	say(&p, "abcdefXY\r\n");
	assert_int_equal(netio_read(&p.io, NULL, 6, 2), NETIO_OK);
	assert_int_equal(netio_getline(&p.io, line, sizeof(line), &len, 2),
	    NETIO_OK);
	assert_string_equal(line, "XY");
	pair_close(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_command_is_one_line),
		cmocka_unit_test(
		    test_synchronising_literal_asks_for_continuation_first),
		cmocka_unit_test(test_nonsync_literals_need_no_continuation),
		cmocka_unit_test(
		    test_too_big_sync_literal_is_refused_before_the_bytes),
		cmocka_unit_test(test_huge_announcement_allocates_nothing),
		cmocka_unit_test(
		    test_too_big_nonsync_literal_is_dropped_and_refused),
		cmocka_unit_test(test_nonsync_past_discard_limit_closes),
		cmocka_unit_test(
		    test_literal_minus_takes_4096_nonsync_and_refuses_more),
		cmocka_unit_test(test_command_length_and_literal_count_are_capped),
		cmocka_unit_test(test_nul_in_line_is_bad_and_session_goes_on),
		cmocka_unit_test(test_bare_lf_ends_a_line),
		cmocka_unit_test(test_overlong_line_closes),
		cmocka_unit_test(test_eof_inside_literal_is_eof),
		cmocka_unit_test(test_silent_client_times_out_inside_literal),
		cmocka_unit_test(test_8bit_garbage_is_carried_for_the_parser),
		cmocka_unit_test(test_literal_announcement_forms),
		cmocka_unit_test(test_netio_read_takes_exactly_n_across_fills),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
