/*
 * test_ipc.c - libcommon/ipc: framing, typed fields and descriptor passing
 * on the internal sockets. The peer may be less privileged than the reader
 * (smtpd or any local user's sendmail talking to queued), so every length,
 * flag and field is treated as hostile: a frame too large is refused from
 * its header alone, a reader that runs past the end stays failed, and each
 * passed descriptor stays with the frame that claimed it.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ipc.h"

struct pair {
	int		 raw;	/* the peer end, written to by hand */
	struct ipc_conn	 c;	/* the end under test */
};

static void
pair_open(struct pair *p, size_t maxlen)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
	    0);
	p->raw = sv[0];
	ipc_conn_init(&p->c, sv[1], maxlen);
}

static void
pair_close(struct pair *p)
{
	if (p->raw != -1)
		close(p->raw);
	p->raw = -1;
	ipc_conn_close(&p->c);
}

/* One sendmsg of len bytes, with one descriptor (or none: fd -1). */
static void
raw_send(int sock, const void *data, size_t len, const int *fds, size_t nfds)
{
	struct msghdr	mh;
	struct iovec	iov;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * 16)];
	} cm;

	assert_true(nfds <= 16);
	memset(&mh, 0, sizeof(mh));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = (void *)data;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		struct cmsghdr *cmsg;

		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cmsg = CMSG_FIRSTHDR(&mh);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
	}
	assert_int_equal(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

/* A raw 16-byte header in the wire layout ipc.h describes. */
static void
raw_header(unsigned char out[IPC_HDR_LEN], uint32_t type, uint32_t len,
    uint32_t id, uint32_t flags)
{
	uint32_t h[4] = { type, len, id, flags };

	memcpy(out, h, sizeof(h));
}

/* A temporary file holding text, already unlinked; returns its fd. */
static int
temp_with(const char *text)
{
	char		 path[4096];
	const char	*base = getenv("POSTERN_TEST_TMP");
	int		 fd;

	snprintf(path, sizeof(path), "%s/ipcfd.XXXXXX",
	    base != NULL && base[0] != '\0' ? base : "/tmp");
	assert_true((fd = mkstemp(path)) != -1);
	unlink(path);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	return fd;
}

/* What a descriptor's file holds, read from its start. */
static void
assert_fd_holds(int fd, const char *want)
{
	char	got[256];
	ssize_t	n;

	assert_true(fd >= 0);
	n = pread(fd, got, sizeof(got) - 1, 0);
	assert_true(n >= 0);
	got[n] = '\0';
	assert_string_equal(got, want);
}

static int
open_fd_count(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	assert_non_null(d = opendir("/proc/self/fd"));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int
fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

static void
test_every_field_type_round_trips_over_a_socketpair(void **state)
{
	struct pair		p;
	struct ipc_conn		w;
	struct ipc_msg		m, got;
	struct ipc_reader	r;
	uint32_t		u32;
	uint64_t		u64;
	char			s[64], *dup = NULL;

	pair_open(&p, IPC_MAX_PAYLOAD);
	ipc_conn_init(&w, p.raw, IPC_MAX_PAYLOAD);
	p.raw = -1;
	ipc_msg_init(&m, 0xdeadbeef, 0x01020304);
	assert_int_equal(ipc_put_u32(&m, 0), 0);
	assert_int_equal(ipc_put_u32(&m, UINT32_MAX), 0);
	assert_int_equal(ipc_put_u64(&m, UINT64_MAX - 1), 0);
	assert_int_equal(ipc_put_str(&m, "hello, world"), 0);
	assert_int_equal(ipc_put_str(&m, ""), 0);
	assert_int_equal(ipc_put_strn(&m, "abcdef", 3), 0);
	assert_int_equal(ipc_put_str(&m, "\xff\x01 8-bit and control"), 0);
	assert_int_equal(ipc_send_wait(&w, &m, 1000), 0);
	ipc_msg_free(&m);

	assert_int_equal(ipc_recv_wait(&p.c, &got, 1000), 0);
	assert_int_equal(got.type, 0xdeadbeef);
	assert_int_equal(got.id, 0x01020304);
	assert_int_equal(got.fd, -1);
	ipc_reader_init(&r, &got);
	assert_int_equal(ipc_get_u32(&r, &u32), 0);
	assert_int_equal(u32, 0);
	assert_int_equal(ipc_get_u32(&r, &u32), 0);
	assert_int_equal(u32, UINT32_MAX);
	assert_int_equal(ipc_get_u64(&r, &u64), 0);
	assert_true(u64 == UINT64_MAX - 1);
	assert_int_equal(ipc_get_str(&r, s, sizeof(s)), 0);
	assert_string_equal(s, "hello, world");
	assert_int_equal(ipc_get_str(&r, s, sizeof(s)), 0);
	assert_string_equal(s, "");
	assert_int_equal(ipc_get_strdup(&r, &dup, 3), 0);
	assert_string_equal(dup, "abc");
	free(dup);
	assert_int_equal(ipc_get_str(&r, s, sizeof(s)), 0);
	assert_string_equal(s, "\xff\x01 8-bit and control");
	assert_int_equal(ipc_reader_end(&r), 0);
	ipc_msg_free(&got);
	ipc_conn_close(&w);
	pair_close(&p);
}

static void
test_empty_payload_round_trips(void **state)
{
	struct pair		p;
	struct ipc_conn		w;
	struct ipc_msg		m, got;
	struct ipc_reader	r;

	pair_open(&p, 0);
	ipc_conn_init(&w, p.raw, 0);
	p.raw = -1;
	ipc_msg_init(&m, 7, 8);
	assert_int_equal(ipc_send_wait(&w, &m, 1000), 0);
	ipc_msg_free(&m);
	assert_int_equal(ipc_recv_wait(&p.c, &got, 1000), 0);
	assert_int_equal(got.type, 7);
	assert_int_equal(got.body.len, 0);
	ipc_reader_init(&r, &got);
	assert_int_equal(ipc_reader_end(&r), 0);
	ipc_msg_free(&got);
	ipc_conn_close(&w);
	pair_close(&p);
}

static void
test_frames_written_one_byte_at_a_time_reassemble(void **state)
{
	struct pair		p;
	struct ipc_conn		enc;
	struct ipc_msg		m, got;
	struct ipc_reader	r;
	char			s[64];
	size_t			i, frames = 0;

	pair_open(&p, 1024);
	/* encode two frames into an unconnected conn's output buffer */
	ipc_conn_init(&enc, -1, 1024);
	ipc_msg_init(&m, 11, 1);
	assert_int_equal(ipc_put_str(&m, "first"), 0);
	assert_int_equal(ipc_conn_queue(&enc, &m), 0);
	ipc_msg_free(&m);
	ipc_msg_init(&m, 12, 2);
	assert_int_equal(ipc_put_str(&m, "second"), 0);
	assert_int_equal(ipc_conn_queue(&enc, &m), 0);
	ipc_msg_free(&m);

	for (i = 0; i < enc.out.len; i++) {
		raw_send(p.raw, enc.out.data + i, 1, NULL, 0);
		assert_int_equal(ipc_conn_read(&p.c), 0);
		int rc = ipc_conn_next(&p.c, &got);
		assert_true(rc == 0 || rc == 1);
		if (rc == 0)
			continue;
		frames++;
		/* a frame completes exactly on its last byte */
		assert_int_equal(i + 1, frames == 1 ?
		    (size_t)IPC_HDR_LEN + 4 + 5 : enc.out.len);
		assert_int_equal(got.type, frames == 1 ? 11 : 12);
		assert_int_equal(got.id, frames);
		ipc_reader_init(&r, &got);
		assert_int_equal(ipc_get_str(&r, s, sizeof(s)), 0);
		assert_string_equal(s, frames == 1 ? "first" : "second");
		assert_int_equal(ipc_reader_end(&r), 0);
		ipc_msg_free(&got);
	}
	assert_int_equal(frames, 2);
	assert_int_equal(ipc_conn_next(&p.c, &got), 0);
	ipc_conn_close(&enc);
	pair_close(&p);
}

static void
test_oversize_header_is_rejected_before_its_body_arrives(void **state)
{
	struct pair	p;
	struct ipc_msg	got;
	unsigned char	h[IPC_HDR_LEN];

	pair_open(&p, 1000);
	raw_header(h, 1, 1001, 0, 0);
	raw_send(p.raw, h, sizeof(h), NULL, 0);
	assert_int_equal(ipc_conn_read(&p.c), 0);
	/* -1 at once, not "need more": nothing of the body is awaited */
	assert_int_equal(ipc_conn_next(&p.c, &got), -1);
	errno = 0;
	assert_int_equal(ipc_recv_wait(&p.c, &got, 100), -1);
	assert_int_equal(errno, EPROTO);
	pair_close(&p);

	pair_open(&p, IPC_MAX_PAYLOAD);
	raw_header(h, 1, UINT32_MAX, 0, 0);
	raw_send(p.raw, h, sizeof(h), NULL, 0);
	errno = 0;
	assert_int_equal(ipc_recv_wait(&p.c, &got, 1000), -1);
	assert_int_equal(errno, EPROTO);
	assert_true(p.c.in.len <= IPC_HDR_LEN);
	pair_close(&p);
}

static void
test_payload_of_exactly_maxlen_is_accepted(void **state)
{
	struct pair	p;
	struct ipc_msg	got;
	unsigned char	h[IPC_HDR_LEN], body[1000];

	pair_open(&p, 1000);
	memset(body, 'b', sizeof(body));
	raw_header(h, 1, 1000, 0, 0);
	raw_send(p.raw, h, sizeof(h), NULL, 0);
	raw_send(p.raw, body, sizeof(body), NULL, 0);
	assert_int_equal(ipc_recv_wait(&p.c, &got, 1000), 0);
	assert_int_equal(got.body.len, 1000);
	ipc_msg_free(&got);
	pair_close(&p);
}

static void
test_maxlen_is_capped_at_the_protocol_limit(void **state)
{
	struct ipc_conn c;

	ipc_conn_init(&c, -1, (size_t)IPC_MAX_PAYLOAD * 4);
	assert_int_equal(c.maxlen, IPC_MAX_PAYLOAD);
	ipc_conn_close(&c);
}

static void
test_unknown_flag_bits_are_rejected(void **state)
{
	static const uint32_t flags[] = { 0x2, 0x80000000, IPC_F_FD | 0x4 };
	struct pair	p;
	struct ipc_msg	got;
	unsigned char	h[IPC_HDR_LEN];
	size_t		i;

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		pair_open(&p, 1000);
		raw_header(h, 1, 0, 0, flags[i]);
		raw_send(p.raw, h, sizeof(h), NULL, 0);
		errno = 0;
		assert_int_equal(ipc_recv_wait(&p.c, &got, 1000), -1);
		assert_int_equal(errno, EPROTO);
		pair_close(&p);
	}
}

static void
test_frame_claiming_an_fd_without_one_is_rejected(void **state)
{
	struct pair	p;
	struct ipc_msg	got;
	unsigned char	frame[IPC_HDR_LEN + 4];

	pair_open(&p, 1000);
	raw_header(frame, 1, 4, 0, IPC_F_FD);
	memset(frame + IPC_HDR_LEN, 0, 4);
	raw_send(p.raw, frame, sizeof(frame), NULL, 0);
	errno = 0;
	assert_int_equal(ipc_recv_wait(&p.c, &got, 1000), -1);
	assert_int_equal(errno, EPROTO);
	pair_close(&p);
}

static void
test_reader_past_the_end_fails_and_stays_failed(void **state)
{
	struct ipc_msg		m;
	struct ipc_reader	r;
	uint32_t		u32 = 0;
	uint64_t		u64 = 0;
	char			s[8];

	ipc_msg_init(&m, 1, 1);
	assert_int_equal(ipc_put_u32(&m, 5), 0);
	assert_int_equal(buf_append(&m.body, "xy", 2), 0);	/* 6 bytes */
	ipc_reader_init(&r, &m);
	assert_int_equal(ipc_get_u64(&r, &u64), -1);
	/* four bytes are there, but the reader has failed for good */
	assert_int_equal(ipc_get_u32(&r, &u32), -1);
	assert_int_equal(ipc_get_str(&r, s, sizeof(s)), -1);
	assert_int_equal(ipc_reader_end(&r), -1);

	ipc_reader_init(&r, &m);
	assert_int_equal(ipc_get_u32(&r, &u32), 0);
	assert_int_equal(u32, 5);
	assert_int_equal(ipc_get_u32(&r, &u32), -1);
	assert_int_equal(ipc_reader_end(&r), -1);
	ipc_msg_free(&m);
}

static void
test_string_length_past_the_end_fails(void **state)
{
	struct ipc_msg		m;
	struct ipc_reader	r;
	char			s[64], *dup = NULL;

	ipc_msg_init(&m, 1, 1);
	assert_int_equal(ipc_put_u32(&m, 10), 0);
	assert_int_equal(buf_append(&m.body, "short", 5), 0);
	ipc_reader_init(&r, &m);
	assert_int_equal(ipc_get_str(&r, s, sizeof(s)), -1);
	assert_int_equal(ipc_reader_end(&r), -1);
	ipc_reader_init(&r, &m);
	assert_int_equal(ipc_get_strdup(&r, &dup, 100), -1);
	assert_null(dup);
	ipc_msg_free(&m);

	ipc_msg_init(&m, 1, 1);
	assert_int_equal(ipc_put_u32(&m, UINT32_MAX), 0);
	ipc_reader_init(&r, &m);
	assert_int_equal(ipc_get_str(&r, s, sizeof(s)), -1);
	ipc_msg_free(&m);
}

static void
test_string_that_does_not_fit_the_callers_buffer_fails(void **state)
{
	struct ipc_msg		m;
	struct ipc_reader	r;
	char			s[6], *dup = NULL;

	ipc_msg_init(&m, 1, 1);
	assert_int_equal(ipc_put_str(&m, "123456"), 0);
	ipc_reader_init(&r, &m);
	assert_int_equal(ipc_get_str(&r, s, sizeof(s)), -1);	/* 6 + NUL */
	assert_int_equal(ipc_reader_end(&r), -1);
	ipc_reader_init(&r, &m);
	assert_int_equal(ipc_get_strdup(&r, &dup, 5), -1);
	assert_int_equal(ipc_reader_end(&r), -1);
	ipc_reader_init(&r, &m);
	assert_int_equal(ipc_get_strdup(&r, &dup, 6), 0);
	assert_string_equal(dup, "123456");
	assert_int_equal(ipc_reader_end(&r), 0);
	free(dup);
	ipc_msg_free(&m);
}

static void
test_leftover_bytes_fail_reader_end(void **state)
{
	struct ipc_msg		m;
	struct ipc_reader	r;
	uint32_t		u32;

	ipc_msg_init(&m, 1, 1);
	assert_int_equal(ipc_put_u32(&m, 1), 0);
	assert_int_equal(ipc_put_u32(&m, 2), 0);
	ipc_reader_init(&r, &m);
	assert_int_equal(ipc_get_u32(&r, &u32), 0);
	assert_int_equal(ipc_reader_end(&r), -1);
	assert_int_equal(ipc_get_u32(&r, &u32), 0);
	assert_int_equal(u32, 2);
	assert_int_equal(ipc_reader_end(&r), 0);
	ipc_msg_free(&m);

	ipc_msg_init(&m, 1, 1);
	assert_int_equal(buf_append(&m.body, "x", 1), 0);
	ipc_reader_init(&r, &m);
	assert_int_equal(ipc_reader_end(&r), -1);
	ipc_msg_free(&m);
}

static void
test_embedded_nul_is_refused_on_put(void **state)
{
	struct ipc_msg m;

	ipc_msg_init(&m, 1, 1);
	errno = 0;
	assert_int_equal(ipc_put_strn(&m, "a\0b", 3), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(m.body.len, 0);
	assert_int_equal(ipc_put_strn(&m, "\0", 1), -1);
	assert_int_equal(m.body.len, 0);
	ipc_msg_free(&m);
}

static void
test_embedded_nul_is_refused_on_get(void **state)
{
	struct ipc_msg		m;
	struct ipc_reader	r;
	char			s[16], *dup = NULL;

	ipc_msg_init(&m, 1, 1);
	assert_int_equal(ipc_put_u32(&m, 3), 0);
	assert_int_equal(buf_append(&m.body, "a\0b", 3), 0);
	ipc_reader_init(&r, &m);
	assert_int_equal(ipc_get_str(&r, s, sizeof(s)), -1);
	assert_int_equal(ipc_reader_end(&r), -1);
	ipc_reader_init(&r, &m);
	assert_int_equal(ipc_get_strdup(&r, &dup, 16), -1);
	assert_null(dup);
	assert_int_equal(ipc_reader_end(&r), -1);
	ipc_msg_free(&m);
}

static void
test_full_message_refuses_more_fields_with_e2big(void **state)
{
	struct ipc_msg	m;
	char		*big;

	ipc_msg_init(&m, 1, 1);
	assert_non_null(big = malloc(IPC_MAX_PAYLOAD));
	memset(big, 'z', IPC_MAX_PAYLOAD);
	assert_int_equal(buf_append(&m.body, big, IPC_MAX_PAYLOAD - 4), 0);
	assert_int_equal(ipc_put_u32(&m, 1), 0);
	errno = 0;
	assert_int_equal(ipc_put_u32(&m, 1), -1);
	assert_int_equal(errno, E2BIG);
	assert_int_equal(ipc_put_u64(&m, 1), -1);
	assert_int_equal(m.body.len, IPC_MAX_PAYLOAD);
	free(big);
	ipc_msg_free(&m);
}

static void
test_passed_fd_reads_the_senders_file(void **state)
{
	struct pair		p;
	struct ipc_conn		w;
	struct ipc_msg		m, got;
	struct ipc_reader	r;
	char			s[32];
	int			fd;

	pair_open(&p, 1024);
	ipc_conn_init(&w, p.raw, 1024);
	p.raw = -1;
	fd = temp_with("message body\n");
	ipc_msg_init(&m, 2, 9);
	m.fd = fd;
	assert_int_equal(ipc_put_str(&m, "Q1"), 0);
	assert_int_equal(ipc_send_wait(&w, &m, 1000), 0);
	/* the connection took the descriptor and closed it once sent */
	assert_int_equal(m.fd, -1);
	assert_int_equal(w.nwfds, 0);
	assert_false(fd_is_open(fd));
	ipc_msg_free(&m);

	assert_int_equal(ipc_recv_wait(&p.c, &got, 1000), 0);
	assert_true(got.fd >= 0);
	assert_fd_holds(got.fd, "message body\n");
	assert_true(fcntl(got.fd, F_GETFD) & FD_CLOEXEC);
	ipc_reader_init(&r, &got);
	assert_int_equal(ipc_get_str(&r, s, sizeof(s)), 0);
	assert_string_equal(s, "Q1");
	assert_int_equal(ipc_reader_end(&r), 0);
	ipc_msg_free(&got);
	ipc_conn_close(&w);
	pair_close(&p);
}

static void
test_interleaved_frames_keep_each_fd_with_its_frame(void **state)
{
	/* which frames carry a file, and what it holds */
	static const char *files[] = { NULL, "one", "two", NULL, NULL, "three",
	    "four", NULL, "five" };
	const size_t		nframes = sizeof(files) / sizeof(files[0]);
	struct pair		p;
	struct ipc_conn		w;
	struct ipc_msg		m, got;
	struct ipc_reader	r;
	uint32_t		i, v;
	int			round;

	/* once flushed in one go, once frame by frame */
	for (round = 0; round < 2; round++) {
		pair_open(&p, 1024);
		ipc_conn_init(&w, p.raw, 1024);
		p.raw = -1;
		for (i = 0; i < nframes; i++) {
			ipc_msg_init(&m, 100 + i, i);
			if (files[i] != NULL)
				m.fd = temp_with(files[i]);
			assert_int_equal(ipc_put_u32(&m, i), 0);
			if (round == 0)
				assert_int_equal(ipc_conn_queue(&w, &m), 0);
			else
				assert_int_equal(ipc_send_wait(&w, &m, 1000),
				    0);
			ipc_msg_free(&m);
		}
		if (round == 0)
			assert_int_equal(ipc_conn_flush(&w), 0);
		assert_int_equal(w.nwfds, 0);
		for (i = 0; i < nframes; i++) {
			assert_int_equal(ipc_recv_wait(&p.c, &got, 1000), 0);
			assert_int_equal(got.type, 100 + i);
			ipc_reader_init(&r, &got);
			assert_int_equal(ipc_get_u32(&r, &v), 0);
			assert_int_equal(v, i);
			assert_int_equal(ipc_reader_end(&r), 0);
			if (files[i] == NULL)
				assert_int_equal(got.fd, -1);
			else
				assert_fd_holds(got.fd, files[i]);
			ipc_msg_free(&got);
		}
		assert_int_equal(p.c.nrfds, 0);
		ipc_conn_close(&w);
		pair_close(&p);
	}
}

static void
test_large_frames_with_fds_survive_partial_writes(void **state)
{
	static const char *files[] = { NULL, "a", "b", NULL, "c" };
	const size_t	 nframes = sizeof(files) / sizeof(files[0]);
	const size_t	 big = IPC_MAX_PAYLOAD - 64;
	struct pair	 p;
	struct ipc_conn	 w;
	struct ipc_msg	 m, got;
	char		*payload;
	size_t		 i, seen = 0;
	int		 fr, nr, spins = 0;

	assert_non_null(payload = malloc(big));
	pair_open(&p, IPC_MAX_PAYLOAD);
	ipc_conn_init(&w, p.raw, IPC_MAX_PAYLOAD);
	p.raw = -1;
	for (i = 0; i < nframes; i++) {
		memset(payload, 'A' + (int)i, big);
		ipc_msg_init(&m, 1, (uint32_t)i);
		if (files[i] != NULL)
			m.fd = temp_with(files[i]);
		assert_int_equal(buf_append(&m.body, payload, big), 0);
		assert_int_equal(ipc_conn_queue(&w, &m), 0);
		ipc_msg_free(&m);
	}
	/* one thread: alternate writing what fits and reading what came */
	do {
		assert_true(++spins < 100000);
		fr = ipc_conn_flush(&w);
		assert_true(fr == 0 || fr == 1);
		assert_int_equal(ipc_conn_read(&p.c), 0);
		while ((nr = ipc_conn_next(&p.c, &got)) == 1) {
			assert_int_equal(got.id, seen);
			assert_int_equal(got.body.len, big);
			assert_int_equal(got.body.data[0], 'A' + (int)seen);
			assert_int_equal(got.body.data[big - 1],
			    'A' + (int)seen);
			if (files[seen] == NULL)
				assert_int_equal(got.fd, -1);
			else
				assert_fd_holds(got.fd, files[seen]);
			ipc_msg_free(&got);
			seen++;
		}
		assert_int_equal(nr, 0);
	} while (seen < nframes);
	assert_int_equal(fr, 0);
	free(payload);
	ipc_conn_close(&w);
	pair_close(&p);
}

static void
test_fd_sent_with_first_byte_of_a_bytewise_frame_is_kept(void **state)
{
	struct pair	p;
	struct ipc_msg	got;
	unsigned char	frame[IPC_HDR_LEN + 3];
	size_t		i;
	int		fd = temp_with("trickle");

	pair_open(&p, 64);
	raw_header(frame, 5, 3, 77, IPC_F_FD);
	memcpy(frame + IPC_HDR_LEN, "abc", 3);
	raw_send(p.raw, frame, 1, &fd, 1);
	close(fd);
	for (i = 1; i < sizeof(frame); i++) {
		assert_int_equal(ipc_conn_read(&p.c), 0);
		assert_int_equal(ipc_conn_next(&p.c, &got), 0);
		raw_send(p.raw, frame + i, 1, NULL, 0);
	}
	assert_int_equal(ipc_recv_wait(&p.c, &got, 1000), 0);
	assert_int_equal(got.id, 77);
	assert_fd_holds(got.fd, "trickle");
	ipc_msg_free(&got);
	pair_close(&p);
}

static void
test_too_many_pending_fds_fail_without_leaking_any(void **state)
{
	struct pair	p;
	int		fds[8], base, i, j, rc = 0;
	char		x = 'x';

	pair_open(&p, 64);
	base = open_fd_count();
	/* 8 messages of 8 descriptors fill the queue; the 9th overflows it */
	for (i = 0; i < 9 && rc == 0; i++) {
		for (j = 0; j < 8; j++)
			assert_true((fds[j] = open("/dev/null", O_RDONLY |
			    O_CLOEXEC)) != -1);
		raw_send(p.raw, &x, 1, fds, 8);
		for (j = 0; j < 8; j++)
			close(fds[j]);
		rc = ipc_conn_read(&p.c);
	}
	assert_int_equal(i, 9);
	assert_int_equal(rc, -1);
	assert_int_equal(errno, EPROTO);
	assert_int_equal(p.c.nrfds, IPC_MAX_PENDING_FDS);
	pair_close(&p);
	/* the socketpair's two ends are gone too */
	assert_int_equal(open_fd_count(), base - 2);
}

static void
test_too_many_fds_in_one_message_fail_without_leaking_any(void **state)
{
	struct pair	p;
	int		fds[9], base, j;
	char		x = 'x';

	pair_open(&p, 64);
	base = open_fd_count();
	for (j = 0; j < 9; j++)
		assert_true((fds[j] = open("/dev/null", O_RDONLY | O_CLOEXEC)) !=
		    -1);
	raw_send(p.raw, &x, 1, fds, 9);
	for (j = 0; j < 9; j++)
		close(fds[j]);
	errno = 0;
	assert_int_equal(ipc_conn_read(&p.c), -1);
	assert_int_equal(errno, EPROTO);
	pair_close(&p);
	assert_int_equal(open_fd_count(), base - 2);
}

static void
test_close_releases_unsent_and_unclaimed_fds(void **state)
{
	struct pair	p;
	struct ipc_conn	w;
	struct ipc_msg	m;
	int		fd, base;
	char		x = 'x';

	pair_open(&p, 64);
	base = open_fd_count();
	/* an fd that arrived without a frame to claim it */
	fd = temp_with("stray");
	raw_send(p.raw, &x, 1, &fd, 1);
	close(fd);
	assert_int_equal(ipc_conn_read(&p.c), 0);
	assert_int_equal(p.c.nrfds, 1);
	/* an fd queued for a frame that is never flushed */
	ipc_conn_init(&w, -1, 64);
	ipc_msg_init(&m, 1, 1);
	m.fd = temp_with("unsent");
	assert_int_equal(ipc_conn_queue(&w, &m), 0);
	ipc_msg_free(&m);
	assert_int_equal(open_fd_count(), base + 2);
	ipc_conn_close(&w);
	pair_close(&p);
	assert_int_equal(open_fd_count(), base - 2);
}

static void
test_recv_wait_times_out_with_etimedout(void **state)
{
	struct pair	p;
	struct ipc_msg	got;
	struct timespec	t0, t1;
	long		ms;

	pair_open(&p, 64);
	/* half a header: the frame never completes */
	raw_send(p.raw, "01234567", 8, NULL, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	errno = 0;
	assert_int_equal(ipc_recv_wait(&p.c, &got, 150), -1);
	assert_int_equal(errno, ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 140);
	assert_true(ms < 5000);
	pair_close(&p);
}

static void
test_recv_wait_reports_peer_close_as_epipe(void **state)
{
	struct pair	p;
	struct ipc_msg	got;
	unsigned char	h[IPC_HDR_LEN];

	pair_open(&p, 64);
	close(p.raw);
	p.raw = -1;
	errno = 0;
	assert_int_equal(ipc_recv_wait(&p.c, &got, 1000), -1);
	assert_int_equal(errno, EPIPE);
	pair_close(&p);

	/* closed in the middle of a frame */
	pair_open(&p, 64);
	raw_header(h, 1, 10, 0, 0);
	raw_send(p.raw, h, sizeof(h), NULL, 0);
	raw_send(p.raw, "abc", 3, NULL, 0);
	close(p.raw);
	p.raw = -1;
	errno = 0;
	assert_int_equal(ipc_recv_wait(&p.c, &got, 1000), -1);
	assert_int_equal(errno, EPIPE);
	pair_close(&p);
}

static void
test_complete_frame_is_delivered_before_peer_close(void **state)
{
	struct pair	p;
	struct ipc_msg	got;
	unsigned char	h[IPC_HDR_LEN];

	pair_open(&p, 64);
	raw_header(h, 3, 0, 4, 0);
	raw_send(p.raw, h, sizeof(h), NULL, 0);
	close(p.raw);
	p.raw = -1;
	assert_int_equal(ipc_recv_wait(&p.c, &got, 1000), 0);
	assert_int_equal(got.type, 3);
	ipc_msg_free(&got);
	errno = 0;
	assert_int_equal(ipc_recv_wait(&p.c, &got, 1000), -1);
	assert_int_equal(errno, EPIPE);
	pair_close(&p);
}

static void
test_send_wait_to_a_closed_peer_fails_with_epipe(void **state)
{
	struct pair	p;
	struct ipc_conn	w;
	struct ipc_msg	m;

	pair_open(&p, 64);
	ipc_conn_init(&w, p.raw, 64);
	p.raw = -1;
	pair_close(&p);
	ipc_msg_init(&m, 1, 1);
	assert_int_equal(ipc_put_u32(&m, 1), 0);
	errno = 0;
	assert_int_equal(ipc_send_wait(&w, &m, 1000), -1);
	assert_int_equal(errno, EPIPE);
	ipc_msg_free(&m);
	ipc_conn_close(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_field_type_round_trips_over_a_socketpair),
		cmocka_unit_test(test_empty_payload_round_trips),
		cmocka_unit_test(test_frames_written_one_byte_at_a_time_reassemble),
		cmocka_unit_test(test_oversize_header_is_rejected_before_its_body_arrives),
		cmocka_unit_test(test_payload_of_exactly_maxlen_is_accepted),
		cmocka_unit_test(test_maxlen_is_capped_at_the_protocol_limit),
		cmocka_unit_test(test_unknown_flag_bits_are_rejected),
		cmocka_unit_test(test_frame_claiming_an_fd_without_one_is_rejected),
		cmocka_unit_test(test_reader_past_the_end_fails_and_stays_failed),
		cmocka_unit_test(test_string_length_past_the_end_fails),
		cmocka_unit_test(test_string_that_does_not_fit_the_callers_buffer_fails),
		cmocka_unit_test(test_leftover_bytes_fail_reader_end),
		cmocka_unit_test(test_embedded_nul_is_refused_on_put),
		cmocka_unit_test(test_embedded_nul_is_refused_on_get),
		cmocka_unit_test(test_full_message_refuses_more_fields_with_e2big),
		cmocka_unit_test(test_passed_fd_reads_the_senders_file),
		cmocka_unit_test(test_interleaved_frames_keep_each_fd_with_its_frame),
		cmocka_unit_test(test_large_frames_with_fds_survive_partial_writes),
		cmocka_unit_test(test_fd_sent_with_first_byte_of_a_bytewise_frame_is_kept),
		cmocka_unit_test(test_too_many_pending_fds_fail_without_leaking_any),
		cmocka_unit_test(test_too_many_fds_in_one_message_fail_without_leaking_any),
		cmocka_unit_test(test_close_releases_unsent_and_unclaimed_fds),
		cmocka_unit_test(test_recv_wait_times_out_with_etimedout),
		cmocka_unit_test(test_recv_wait_reports_peer_close_as_epipe),
		cmocka_unit_test(test_complete_frame_is_delivered_before_peer_close),
		cmocka_unit_test(test_send_wait_to_a_closed_peer_fails_with_epipe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
