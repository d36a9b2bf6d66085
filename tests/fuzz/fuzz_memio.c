/*
 * fuzz_memio.c - the byte-array transport of fuzz_memio.h, shared by the
 * IMAP fuzz targets. Runs only in fuzz and regress binaries.
 */
#include <string.h>

#include "fuzz_memio.h"

static ssize_t
mem_read(struct netio *io, void *p, size_t n)
{
	struct fuzz_mem *m = io->ctx;

	if (m->len == 0)
		return 0;
	if (m->odd_chunks && n > 7 + m->len % 13)
		n = 7 + m->len % 13;
	if (n > m->len)
		n = m->len;
	memcpy(p, m->p, n);
	m->p += n;
	m->len -= n;
	return (ssize_t)n;
}

static ssize_t
mem_write(struct netio *io, const void *p, size_t n)
{
	(void)io;
	(void)p;
	return (ssize_t)n;
}

/* Never wait on a descriptor: the bytes are all here. */
static size_t
mem_pending(struct netio *io)
{
	(void)io;
	return 1;
}

void
fuzz_memio(struct netio *io, struct fuzz_mem *m, const void *p, size_t len,
    int odd_chunks)
{
	m->p = p;
	m->len = len;
	m->odd_chunks = odd_chunks;
	netio_init(io, -1, 10);
	io->read = mem_read;
	io->write = mem_write;
	io->pending = mem_pending;
	io->ctx = m;
}
