/*
 * test_siphash.c - libcommon/siphash: the paper's test vectors (key
 * 00..0f; messages 00..n-1), the block boundary, and that the key
 * matters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "siphash.h"

static void
seq(unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)i;
}

static void
test_paper_vectors(void **state)
{
	unsigned char key[SIPHASH_KEY_LEN], msg[64];

	(void)state;
	seq(key, sizeof(key));
	seq(msg, sizeof(msg));
	/* Appendix A of the paper: 15 bytes, a block and a tail. */
	assert_true(siphash24(key, msg, 15) == 0xa129ca6149be45e5ULL);
	/* The reference implementation's first vector: no input at all. */
	assert_true(siphash24(key, msg, 0) == 0x726fdb47dd0e0e31ULL);
}

static void
test_length_and_key_change_the_hash(void **state)
{
	unsigned char	key[SIPHASH_KEY_LEN], msg[64];
	uint64_t	h[17];
	size_t		i, j;

	(void)state;
	seq(key, sizeof(key));
	memset(msg, 0, sizeof(msg));
	/* Zero bytes of every length up to two blocks: the length counts. */
	for (i = 0; i <= 16; i++)
		h[i] = siphash24(key, msg, i);
	for (i = 0; i <= 16; i++)
		for (j = i + 1; j <= 16; j++)
			assert_true(h[i] != h[j]);
	key[15] ^= 1;
	assert_true(siphash24(key, msg, 8) != h[8]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paper_vectors),
		cmocka_unit_test(test_length_and_key_change_the_hash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
