/*
 * fuzz_memio.h - a netio whose transport is a byte array: what the IMAP
 * fuzz targets read commands from (the reader, the tokenizer and the
 * commands behind them), instead of a socket. Writes are dropped.
 */
#ifndef POSTERN_FUZZ_MEMIO_H
#define POSTERN_FUZZ_MEMIO_H

#include <stddef.h>
#include <stdint.h>

#include "netio.h"

struct fuzz_mem {
	const uint8_t	*p;
	size_t		 len;
	/* Reads of 7..19 bytes: lines and literals split across fills. */
	int		 odd_chunks;
};

/* io reads m's bytes (m must outlive io's use), then EOF. */
void	fuzz_memio(struct netio *io, struct fuzz_mem *m, const void *p,
	    size_t len, int odd_chunks);

#endif
