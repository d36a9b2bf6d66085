/*
 * siphash.c - SipHash-2-4, written from the paper ("SipHash: a fast
 * short-input PRF", section 2): two compression rounds per 8-byte
 * block, four finalisation rounds, words read little-endian whatever
 * the host's order. Pure computation; any process.
 */
#include "siphash.h"

#define ROTL(x, b)	(uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

struct sipstate {
	uint64_t v0, v1, v2, v3;
};

static void
sipround(struct sipstate *s)
{
	s->v0 += s->v1;
	s->v1 = ROTL(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = ROTL(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = ROTL(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = ROTL(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = ROTL(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = ROTL(s->v2, 32);
}

static uint64_t
le64(const unsigned char *p, size_t n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | p[n];
	return v;
}

static void
compress(struct sipstate *s, uint64_t m)
{
	s->v3 ^= m;
	sipround(s);
	sipround(s);
	s->v0 ^= m;
}

uint64_t
siphash24(const unsigned char key[SIPHASH_KEY_LEN], const void *data,
    size_t len)
{
	const unsigned char	*p = data;
	uint64_t		 k0 = le64(key, 8), k1 = le64(key + 8, 8);
	struct sipstate		 s;
	size_t			 i;

	s.v0 = k0 ^ 0x736f6d6570736575ULL;
	s.v1 = k1 ^ 0x646f72616e646f6dULL;
	s.v2 = k0 ^ 0x6c7967656e657261ULL;
	s.v3 = k1 ^ 0x7465646279746573ULL;
	for (i = 0; i + 8 <= len; i += 8)
		compress(&s, le64(p + i, 8));
	/* The last block: what is left, and the length's low byte on top. */
	compress(&s, (uint64_t)(len & 0xff) << 56 | le64(p + i, len - i));
	s.v2 ^= 0xff;
	for (i = 0; i < 4; i++)
		sipround(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}
