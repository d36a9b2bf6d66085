/*
 * test_netio.c - the protocol daemons' line reader and output buffer,
 * over a socketpair: limits that count the CRLF, bare LF, overlong lines
 * dropped whole, deadlines, preloaded input, pipelined lines, and the
 * switch of transport (STARTTLS) that drops what was pipelined behind it.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "netio.h"

#define LMAX 16		/* a small limit: 14 characters + CRLF */

struct pair {
	struct netio	io;
	int		peer;
};

static void
pair_open(struct pair *p)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	netio_init(&p->io, sv[0], 2);
	p->peer = sv[1];
}

static void
pair_close(struct pair *p)
{
	close(p->io.fd);
	close(p->peer);
	netio_free(&p->io);
}

static void
say(struct pair *p, const char *s)
{
	assert_int_equal(write(p->peer, s, strlen(s)), (ssize_t)strlen(s));
}

static void
test_line_at_the_limit_is_read_and_one_over_is_refused(void **state)
{
	struct pair	p;
	char		line[LMAX];
	size_t		len;

	pair_open(&p);
	say(&p, "0123456789abcd\r\n");		/* 14 + CRLF = 16 */
	say(&p, "0123456789abcde\r\n");		/* 17 */
	say(&p, "next\r\n");
	assert_int_equal(netio_getline(&p.io, line, LMAX, &len, 2), NETIO_OK);
	assert_int_equal(len, 14);
	assert_string_equal(line, "0123456789abcd");
	assert_int_equal(netio_getline(&p.io, line, LMAX, &len, 2),
	    NETIO_TOOLONG);
	/* The overlong line was dropped whole: the next one is intact. */
	assert_int_equal(netio_getline(&p.io, line, LMAX, &len, 2), NETIO_OK);
	assert_string_equal(line, "next");
	pair_close(&p);
}

static void
test_bare_lf_ends_a_line_and_a_lone_cr_stays(void **state)
{
	struct pair	p;
	char		line[LMAX];
	size_t		len;

	pair_open(&p);
	say(&p, "a\nb\rc\r\n");
	assert_int_equal(netio_getline(&p.io, line, LMAX, &len, 2), NETIO_OK);
	assert_string_equal(line, "a");
	assert_int_equal(netio_getline(&p.io, line, LMAX, &len, 2), NETIO_OK);
	assert_int_equal(len, 3);
	assert_memory_equal(line, "b\rc", 3);
	pair_close(&p);
}

static void
test_very_long_line_is_one_error(void **state)
{
	struct pair	p;
	char		line[LMAX], big[100000];
	size_t		len;
	pid_t		pid;

	pair_open(&p);
	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 1] = '\n';
	if ((pid = fork()) == 0) {
		/* The writer blocks on a full socket buffer: a child feeds it. */
		assert_int_equal(write(p.peer, big, sizeof(big)),
		    (ssize_t)sizeof(big));
		assert_int_equal(write(p.peer, "ok\n", 3), 3);
		_exit(0);
	}
	assert_int_equal(netio_getline(&p.io, line, LMAX, &len, 5),
	    NETIO_TOOLONG);
	assert_int_equal(netio_getline(&p.io, line, LMAX, &len, 5), NETIO_OK);
	assert_string_equal(line, "ok");
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	pair_close(&p);
}

static void
test_silence_times_out_and_eof_is_eof(void **state)
{
	struct pair	p;
	char		line[LMAX];
	size_t		len;

	pair_open(&p);
	say(&p, "partial");
	assert_int_equal(netio_getline(&p.io, line, LMAX, &len, 1),
	    NETIO_TIMEOUT);
	close(p.peer);
	p.peer = -1;
	assert_int_equal(netio_getline(&p.io, line, LMAX, &len, 1), NETIO_EOF);
	close(p.io.fd);
	netio_free(&p.io);
}

static void
test_preloaded_and_pipelined_input_come_first_in_order(void **state)
{
	struct pair	p;
	char		line[LMAX];
	size_t		len;

	pair_open(&p);
	/* Nothing to hand over is the common case (no pipelining). */
	assert_int_equal(netio_preload(&p.io, NULL, 0), 0);
	assert_int_equal(netio_preload(&p.io, "one\r\ntwo\r\n", 10), 0);
	say(&p, "three\r\n");
	assert_int_equal(netio_buffered(&p.io), 10);
	assert_int_equal(netio_getline(&p.io, line, LMAX, &len, 2), NETIO_OK);
	assert_string_equal(line, "one");
	assert_int_equal(netio_getline(&p.io, line, LMAX, &len, 2), NETIO_OK);
	assert_string_equal(line, "two");
	assert_int_equal(netio_getline(&p.io, line, LMAX, &len, 2), NETIO_OK);
	assert_string_equal(line, "three");
	pair_close(&p);
}

static void
test_output_waits_for_flush_and_arrives_whole(void **state)
{
	struct pair	p;
	char		got[64];
	ssize_t		n;

	pair_open(&p);
	assert_int_equal(netio_printf(&p.io, "+OK %d\r\n", 42), 0);
	assert_int_equal(netio_write(&p.io, "abc", 3), 0);
	assert_int_equal(recv(p.peer, got, sizeof(got), MSG_DONTWAIT), -1);
	assert_int_equal(netio_flush(&p.io), 0);
	n = read(p.peer, got, sizeof(got));
	assert_int_equal(n, 11);
	assert_memory_equal(got, "+OK 42\r\nabc", 11);
	pair_close(&p);
}

/*
 * A stand-in for TLS: every byte on the wire is XORed with 0x20, so a
 * line read through it proves it went through the transport.
 */
static int xor_reads;

static ssize_t
xor_read(struct netio *io, void *p, size_t n)
{
	ssize_t		 r = recv(io->fd, p, n, MSG_DONTWAIT);
	unsigned char	*b = p;
	ssize_t		 i;

	xor_reads++;
	for (i = 0; i < r; i++)
		b[i] ^= 0x20;
	return r;
}

static ssize_t
xor_write(struct netio *io, const void *p, size_t n)
{
	unsigned char	 b[4096];
	size_t		 i;

	(void)io;
	if (n > sizeof(b))
		n = sizeof(b);
	for (i = 0; i < n; i++)
		b[i] = ((const unsigned char *)p)[i] ^ 0x20;
	return send(io->fd, b, n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void
xor_say(struct pair *p, const char *s)
{
	char	b[256];
	size_t	i, n = strlen(s);

	for (i = 0; i < n; i++)
		b[i] = (char)(s[i] ^ 0x20);
	assert_int_equal(write(p->peer, b, n), (ssize_t)n);
}

static void
test_starttls_drops_pipelined_plaintext_and_switches(void **state)
{
	struct pair	p;
	char		line[LMAX], got[64];
	size_t		len;
	ssize_t		n;

	(void)state;
	pair_open(&p);
	/* The command and an injected one, in one segment. */
	say(&p, "STARTTLS\r\nRSET\r\n");
	assert_int_equal(netio_getline(&p.io, line, LMAX, &len, 2), NETIO_OK);
	assert_string_equal(line, "STARTTLS");
	assert_int_equal(netio_buffered(&p.io), 6);
	assert_int_equal(netio_printf(&p.io, "220 go\r\n"), 0);
	/* The go-ahead leaves in plaintext; the RSET is gone. */
	assert_int_equal(netio_starttls(&p.io, xor_read, xor_write, NULL,
	    NULL), 6);
	assert_int_equal(p.io.secure, 1);
	assert_int_equal(netio_buffered(&p.io), 0);
	n = read(p.peer, got, sizeof(got));
	assert_int_equal(n, 8);
	assert_memory_equal(got, "220 go\r\n", 8);
	/* What comes now is read through the transport, and only that. */
	xor_reads = 0;
	xor_say(&p, "NOOP\r\n");
	assert_int_equal(netio_getline(&p.io, line, LMAX, &len, 2), NETIO_OK);
	assert_string_equal(line, "NOOP");
	assert_true(xor_reads > 0);
	assert_int_equal(netio_printf(&p.io, "250 ok\r\n"), 0);
	assert_int_equal(netio_flush(&p.io), 0);
	n = read(p.peer, got, sizeof(got));
	assert_int_equal(n, 8);
	assert_memory_equal(got, "\x12\x15\x10\x00\x4f\x4b\x2d\x2a", 8);
	/* The dropped bytes were wiped, not just skipped. */
	assert_null(memmem(p.io.in, sizeof(p.io.in), "RSET", 4));
	netio_plain(&p.io);
	assert_int_equal(p.io.secure, 0);
	pair_close(&p);
}

static void
test_starttls_on_a_broken_connection_fails(void **state)
{
	struct pair	p;

	(void)state;
	pair_open(&p);
	close(p.peer);
	p.peer = -1;
	assert_int_equal(netio_printf(&p.io, "220 go\r\n"), 0);
	assert_int_equal(netio_starttls(&p.io, xor_read, xor_write, NULL,
	    NULL), -1);
	/* Still plain: nothing may go on as if TLS had started. */
	assert_int_equal(p.io.secure, 0);
	close(p.io.fd);
	netio_free(&p.io);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_at_the_limit_is_read_and_one_over_is_refused),
		cmocka_unit_test(test_bare_lf_ends_a_line_and_a_lone_cr_stays),
		cmocka_unit_test(test_very_long_line_is_one_error),
		cmocka_unit_test(test_silence_times_out_and_eof_is_eof),
		cmocka_unit_test(test_preloaded_and_pipelined_input_come_first_in_order),
		cmocka_unit_test(test_output_waits_for_flush_and_arrives_whole),
		cmocka_unit_test(test_starttls_drops_pipelined_plaintext_and_switches),
		cmocka_unit_test(test_starttls_on_a_broken_connection_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
