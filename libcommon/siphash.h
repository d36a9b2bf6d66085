/*
 * siphash.h - SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit
 * hash. With a random key, nobody who does not know it can choose inputs
 * that collide, which a plain hash (FNV, CRC) cannot promise.
 */
#ifndef POSTERN_SIPHASH_H
#define POSTERN_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_LEN	16

uint64_t siphash24(const unsigned char key[SIPHASH_KEY_LEN], const void *,
	    size_t);

#endif
