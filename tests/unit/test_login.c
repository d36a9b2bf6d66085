/*
 * test_login.c - the login layer's pure parts: the frames between a
 * login daemon's parent and its login processes (round trip and hostile
 * frames), and the relay a TLS session's login process becomes after
 * the login, driven here through a plaintext stand-in transport (netio
 * over a plain socket, which is what TLS replaces underneath it), and
 * the plaintext-login policy (login_policy.c) with login_ask's guard.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "login.h"
#include "login_msg.h"

/*
 * Decodes a hand-made LOGIN_MSG_AUTH whose state and input lengths say
 * what the caller likes, followed by that many bytes (capped at the
 * real limits + 1, so a lying length runs past the end).
 */
static int
raw_auth(uint32_t mech, uint32_t transport, const char *user,
    uint32_t statelen, uint32_t leftlen)
{
	static unsigned char	 fill[NETIO_INBUF + 1];
	struct login_msg_auth	 got;
	struct ipc_msg		 m;
	int			 rc;

	ipc_msg_init(&m, LOGIN_MSG_AUTH, 0);
	ipc_put_u32(&m, mech);
	ipc_put_u32(&m, transport);
	ipc_put_str(&m, user);
	ipc_put_str(&m, "pw");
	ipc_put_u32(&m, statelen);
	buf_append(&m.body, fill, statelen <= LOGIN_STATE_MAX + 1 ?
	    statelen : 0);
	ipc_put_u32(&m, leftlen);
	buf_append(&m.body, fill, leftlen <= NETIO_INBUF + 1 ? leftlen : 0);
	rc = login_dec_auth(&m, &got);
	if (rc == 0)
		login_msg_auth_clear(&got);
	else
		assert_null(got.left);
	ipc_msg_free(&m);
	return rc;
}

static void
test_auth_frame_round_trip_and_hostile_frames(void **state)
{
	struct login_msg_auth	a, got;
	struct ipc_msg		m;
	unsigned char		left[] = "STAT\r\n\0LIST\r\n";
	unsigned char		tag[] = "a1";
	unsigned char		big[LOGIN_STATE_MAX + 1];
	uint32_t		why;

	memset(&a, 0, sizeof(a));
	a.mech = LOGIN_MECH_SASL_PLAIN;
	a.transport = LOGIN_TRANSPORT_TLS;
	strlcpy(a.user, "alice@example.test", sizeof(a.user));
	strlcpy(a.pass, "pw", sizeof(a.pass));
	a.state = tag;
	a.statelen = 2;
	a.left = left;
	a.leftlen = sizeof(left) - 1;
	ipc_msg_init(&m, LOGIN_MSG_AUTH, 0);
	assert_int_equal(login_enc_auth(&m, &a), 0);
	assert_int_equal(login_dec_auth(&m, &got), 0);
	assert_int_equal(got.mech, LOGIN_MECH_SASL_PLAIN);
	assert_int_equal(got.transport, LOGIN_TRANSPORT_TLS);
	assert_string_equal(got.user, "alice@example.test");
	assert_string_equal(got.pass, "pw");
	assert_int_equal(got.statelen, 2);
	assert_memory_equal(got.state, "a1", 2);
	assert_int_equal(got.leftlen, sizeof(left) - 1);
	assert_memory_equal(got.left, left, sizeof(left) - 1);
	login_msg_auth_clear(&got);
	assert_null(got.left);

	/* A byte more or less is a malformed frame. */
	assert_int_equal(ipc_put_u32(&m, 0), 0);
	assert_int_equal(login_dec_auth(&m, &got), -1);
	m.body.len -= 5;
	assert_int_equal(login_dec_auth(&m, &got), -1);
	ipc_msg_free(&m);

	/* State over its limit is refused by both ends. */
	memset(big, 'x', sizeof(big));
	a.state = big;
	a.statelen = sizeof(big);
	ipc_msg_init(&m, LOGIN_MSG_AUTH, 0);
	assert_int_equal(login_enc_auth(&m, &a), -1);
	ipc_msg_free(&m);
	assert_int_equal(raw_auth(LOGIN_MECH_PLAINTEXT, LOGIN_TRANSPORT_PLAIN,
	    "a@b", LOGIN_STATE_MAX + 1, 0), -1);
	/* A client-input length past the end or past the ceiling. */
	assert_int_equal(raw_auth(LOGIN_MECH_PLAINTEXT, LOGIN_TRANSPORT_PLAIN,
	    "a@b", 0, 0x7fffffff), -1);
	assert_int_equal(raw_auth(LOGIN_MECH_PLAINTEXT, LOGIN_TRANSPORT_PLAIN,
	    "a@b", 0, NETIO_INBUF + 1), -1);
	/* No such mechanism, no such transport, no user. */
	assert_int_equal(raw_auth(9, LOGIN_TRANSPORT_PLAIN, "a@b", 0, 0), -1);
	assert_int_equal(raw_auth(LOGIN_MECH_PLAINTEXT, 7, "a@b", 0, 0), -1);
	assert_int_equal(raw_auth(LOGIN_MECH_PLAINTEXT, LOGIN_TRANSPORT_PLAIN,
	    "", 0, 0), -1);
	/* And the same frame shape with sane values decodes. */
	assert_int_equal(raw_auth(LOGIN_MECH_PLAINTEXT, LOGIN_TRANSPORT_PLAIN,
	    "a@b", LOGIN_STATE_MAX, NETIO_INBUF), 0);

	ipc_msg_init(&m, LOGIN_MSG_FAIL, 0);
	assert_int_equal(login_enc_fail(&m, LOGIN_FAIL_LIMIT), 0);
	assert_int_equal(login_dec_fail(&m, &why), 0);
	assert_int_equal(why, LOGIN_FAIL_LIMIT);
	ipc_msg_free(&m);
	/* TOOLONG never crosses: the login process decides it alone. */
	ipc_msg_init(&m, LOGIN_MSG_FAIL, 0);
	ipc_put_u32(&m, LOGIN_FAIL_TOOLONG);
	assert_int_equal(login_dec_fail(&m, &why), -1);
	ipc_msg_free(&m);
	ipc_msg_init(&m, LOGIN_MSG_FAIL, 0);
	ipc_put_u32(&m, 77);
	assert_int_equal(login_dec_fail(&m, &why), -1);
	ipc_msg_free(&m);
}

/*
 * A relay in a child: its client is one end of client[], its inner end
 * one end of inner[]; the test holds the other ends. pre is what netio
 * already held (it went with the login, so must not be relayed).
 */
static pid_t
start_relay(int client[2], int inner[2], const char *pre)
{
	pid_t pid;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, client), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, inner), 0);
	if ((pid = fork()) == 0) {
		static struct netio io;

		alarm(60);	/* a wedged relay fails the test, not CI */
		close(client[0]);
		close(inner[0]);
		netio_init(&io, client[1], 30);
		if (pre != NULL && netio_preload(&io, pre, strlen(pre)) == -1)
			_exit(3);
		_exit(login_proxy_relay(&io, inner[1], 30) == 0 ? 0 : 2);
	}
	assert_true(pid > 0);
	close(client[1]);
	close(inner[1]);
	return pid;
}

static int
relay_status(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

/* Reads until n bytes came or EOF; returns how many. */
static size_t
read_n(int fd, char *p, size_t n)
{
	size_t	got = 0;
	ssize_t	r;

	while (got < n && (r = read(fd, p + got, n - got)) > 0)
		got += (size_t)r;
	return got;
}

static void
test_relay_moves_bytes_both_ways_and_not_the_handed_over_input(void **state)
{
	int	client[2], inner[2];
	char	b[64];
	pid_t	pid;

	pid = start_relay(client, inner, "LIST\r\n");
	assert_int_equal(write(client[0], "STAT\r\n", 6), 6);
	assert_int_equal(read_n(inner[0], b, 6), 6);
	/* Not "LIST": the post-login process got it with the login. */
	assert_memory_equal(b, "STAT\r\n", 6);
	assert_int_equal(write(inner[0], "+OK 2 320\r\n", 11), 11);
	assert_int_equal(read_n(client[0], b, 11), 11);
	assert_memory_equal(b, "+OK 2 320\r\n", 11);

	/* The client leaves: what it sent arrives, then the end. */
	assert_int_equal(write(client[0], "QUIT\r\n", 6), 6);
	assert_int_equal(shutdown(client[0], SHUT_WR), 0);
	assert_int_equal(read_n(inner[0], b, sizeof(b)), 6);
	assert_memory_equal(b, "QUIT\r\n", 6);
	/* The post-login process still says goodbye, then ends. */
	assert_int_equal(write(inner[0], "+OK bye\r\n", 9), 9);
	close(inner[0]);
	assert_int_equal(read_n(client[0], b, sizeof(b)), 9);
	assert_memory_equal(b, "+OK bye\r\n", 9);
	close(client[0]);
	assert_int_equal(relay_status(pid), 0);
}

/*
 * A client that keeps sending while the post-login process writes a
 * long response, neither reading until it has written all: a relay that
 * blocked on one direction would wedge both.
 */
static void
test_relay_does_not_wedge_when_both_sides_write_at_once(void **state)
{
	enum { TOTAL = 4 << 20 };
	static char	out[65536], in[65536];
	size_t		sent[2] = { 0, 0 }, got[2] = { 0, 0 };
	struct pollfd	p[2];
	int		client[2], inner[2], i;
	ssize_t		n;
	pid_t		pid;

	memset(out, 'x', sizeof(out));
	pid = start_relay(client, inner, NULL);
	p[0].fd = client[0];
	p[1].fd = inner[0];
	fcntl(client[0], F_SETFL, O_NONBLOCK);
	fcntl(inner[0], F_SETFL, O_NONBLOCK);
	while (got[0] < TOTAL || got[1] < TOTAL) {
		for (i = 0; i < 2; i++)
			p[i].events = POLLIN | (sent[i] < TOTAL ? POLLOUT : 0);
		assert_true(poll(p, 2, 20000) > 0);
		for (i = 0; i < 2; i++) {
			if ((p[i].revents & POLLOUT) && sent[i] < TOTAL) {
				size_t k = TOTAL - sent[i] < sizeof(out) ?
				    TOTAL - sent[i] : sizeof(out);

				if ((n = write(p[i].fd, out, k)) > 0)
					sent[i] += (size_t)n;
			}
			if (p[i].revents & POLLIN) {
				n = read(p[i].fd, in, sizeof(in));
				assert_true(n > 0 || errno == EAGAIN);
				if (n > 0)
					got[i] += (size_t)n;
			}
		}
	}
	assert_int_equal(got[0], TOTAL);
	assert_int_equal(got[1], TOTAL);
	close(inner[0]);
	/* The post-login process ended: so does the relay. */
	assert_int_equal(relay_status(pid), 0);
	close(client[0]);
}

static struct sockaddr_storage
sa_of(const char *ip)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*in6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, ip, &in->sin_addr) == 1)
		in->sin_family = AF_INET;
	else {
		assert_int_equal(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
		in6->sin6_family = AF_INET6;
	}
	return ss;
}

static int
plain_net(const struct conf *c, const char *ip)
{
	struct sockaddr_storage ss = sa_of(ip);

	return login_plaintext_net(c, (struct sockaddr *)&ss);
}

static void
test_plaintext_policy_networks_and_tls(void **state)
{
	struct conf		c;
	struct login_sess	s;
	char			err[512];

	(void)state;
	/* The default: loopback, both families, mapped IPv4 too. */
	assert_int_equal(conf_load_string(&c, "t.conf", "", err,
	    sizeof(err)), 0);
	assert_true(plain_net(&c, "127.0.0.1"));
	assert_true(plain_net(&c, "127.255.0.9"));
	assert_true(plain_net(&c, "::1"));
	assert_true(plain_net(&c, "::ffff:127.0.0.1"));
	assert_false(plain_net(&c, "192.0.2.1"));
	assert_false(plain_net(&c, "2001:db8::1"));
	conf_free(&c);
	assert_int_equal(conf_load_string(&c, "t.conf",
	    "plaintext_auth_networks = 127.0.0.200/32, 2001:db8::/32\n", err,
	    sizeof(err)), 0);
	assert_false(plain_net(&c, "127.0.0.1"));
	assert_true(plain_net(&c, "127.0.0.200"));
	assert_true(plain_net(&c, "::ffff:127.0.0.200"));
	assert_true(plain_net(&c, "2001:db8:ffff::1"));
	assert_false(plain_net(&c, "::1"));
	conf_free(&c);
	/* Empty: nowhere. */
	assert_int_equal(conf_load_string(&c, "t.conf",
	    "plaintext_auth_networks =\n", err, sizeof(err)), 0);
	assert_false(plain_net(&c, "127.0.0.1"));
	assert_false(plain_net(&c, "::1"));
	conf_free(&c);
	/* A bad network is refused at load, not matched as nothing. */
	assert_int_equal(conf_load_string(&c, "t.conf",
	    "plaintext_auth_networks = 127.0.0.1/33\n", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "plaintext_auth_networks"));

	/* TLS this process negotiated, or the parent's verdict. */
	memset(&s, 0, sizeof(s));
	s.ip = "192.0.2.1";
	s.transport = LOGIN_TRANSPORT_PLAIN;
	assert_false(login_plaintext_ok(&s));
	assert_int_equal(login_plaintext_check(&s, "USER"), -1);
	s.transport = LOGIN_TRANSPORT_TLS;
	assert_true(login_plaintext_ok(&s));
	assert_int_equal(login_plaintext_check(&s, "USER"), 0);
	s.transport = LOGIN_TRANSPORT_PLAIN;
	s.plain_net = 1;
	assert_true(login_plaintext_ok(&s));
	assert_int_equal(login_plaintext_check(&s, "USER"), 0);
}

/*
 * A protocol that forgot the policy: login_ask refuses by itself, wipes
 * the password and sends the parent nothing.
 */
static void
test_login_ask_refuses_a_plaintext_password_unasked(void **state)
{
	static struct login_sess	s;
	struct pollfd			pfd;
	int				client[2], parent[2];
	char				pass[] = "hunter2-secret";
	size_t				i;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, client), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, parent), 0);
	memset(&s, 0, sizeof(s));
	s.ip = "192.0.2.1";
	s.transport = LOGIN_TRANSPORT_PLAIN;
	netio_init(&s.io, client[1], 30);
	ipc_conn_init(&s.parent, parent[1], 4096);
	assert_int_equal(login_ask(&s, LOGIN_MECH_PLAINTEXT,
	    "alice@example.test", pass, NULL, 0), LOGIN_FAIL_PLAINTEXT);
	for (i = 0; i < sizeof(pass) - 1; i++)
		assert_int_equal(pass[i], '\0');
	pfd.fd = parent[0];
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 0), 0);
	netio_free(&s.io);
	ipc_conn_close(&s.parent);
	close(client[0]);
	close(parent[0]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth_frame_round_trip_and_hostile_frames),
		cmocka_unit_test(
		    test_relay_moves_bytes_both_ways_and_not_the_handed_over_input),
		cmocka_unit_test(
		    test_relay_does_not_wedge_when_both_sides_write_at_once),
		cmocka_unit_test(test_plaintext_policy_networks_and_tls),
		cmocka_unit_test(
		    test_login_ask_refuses_a_plaintext_password_unasked),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
