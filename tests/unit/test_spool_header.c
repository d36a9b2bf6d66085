/*
 * test_spool_header.c - queued's queue file header: a fixed 96 bytes that
 * parse back to what was formatted, refuse anything else, and a MAC that
 * changes with the key, the queue id, the offset and every envelope byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "queued.h"

static void
test_header_round_trips_and_is_96_bytes(void **state)
{
	char		hdr[QFILE_HDR_LEN + 1];
	unsigned char	mac[QFILE_MAC_LEN], back[QFILE_MAC_LEN];
	uint64_t	off;
	size_t		i;

	for (i = 0; i < sizeof(mac); i++)
		mac[i] = (unsigned char)(i * 7 + 1);
	qfile_header_format(hdr, 4242, mac);
	hdr[QFILE_HDR_LEN] = '\0';
	assert_int_equal(strlen(hdr), QFILE_HDR_LEN);
	assert_memory_equal(hdr, "PQ1 0000000000001092 01080f16", 29);
	assert_int_equal(hdr[QFILE_HDR_LEN - 1], '\n');
	assert_int_equal(qfile_header_parse(hdr, QFILE_HDR_LEN, &off, back), 0);
	assert_int_equal(off, 4242);
	assert_memory_equal(back, mac, sizeof(mac));

	/* Before the commit: offset 0, MAC all zero. */
	qfile_header_format(hdr, 0, NULL);
	assert_int_equal(qfile_header_parse(hdr, QFILE_HDR_LEN, &off, back), 0);
	assert_int_equal(off, 0);
	for (i = 0; i < sizeof(back); i++)
		assert_int_equal(back[i], 0);
}

static void
test_header_parse_refuses_anything_else(void **state)
{
	char		good[QFILE_HDR_LEN], bad[QFILE_HDR_LEN];
	unsigned char	mac[QFILE_MAC_LEN];
	uint64_t	off;
	size_t		i;

	qfile_header_format(good, 4242, NULL);
	assert_int_equal(qfile_header_parse(good, QFILE_HDR_LEN - 1, &off,
	    mac), -1);
	/* Any byte changed to something it cannot be. */
	for (i = 0; i < QFILE_HDR_LEN; i++) {
		memcpy(bad, good, sizeof(bad));
		bad[i] = 'X';
		if (qfile_header_parse(bad, sizeof(bad), &off, mac) != -1)
			fail_msg("byte %zu changed, still parsed", i);
	}
	/* Upper-case hex is not ours either. */
	memcpy(bad, good, sizeof(bad));
	bad[21] = 'A';
	assert_int_equal(qfile_header_parse(bad, sizeof(bad), &off, mac), -1);
	/* An offset inside the header cannot be an envelope's. */
	qfile_header_format(bad, QFILE_HDR_LEN - 1, NULL);
	assert_int_equal(qfile_header_parse(bad, sizeof(bad), &off, mac), -1);
}

static void
test_mac_depends_on_key_id_offset_and_every_byte(void **state)
{
	unsigned char	key[QFILE_KEY_LEN], a[QFILE_MAC_LEN], b[QFILE_MAC_LEN];
	char		env[] = "version 1\nid 0123456789ABCDEF\nend\n";
	const char	*qid = "0123456789ABCDEF";
	size_t		i;

	memset(key, 0x5a, sizeof(key));
	assert_int_equal(qfile_mac(key, qid, 500, env, strlen(env), a), 0);
	assert_int_equal(qfile_mac(key, qid, 500, env, strlen(env), b), 0);
	assert_memory_equal(a, b, sizeof(a));
	assert_int_equal(qfile_mac(key, "0123456789ABCDEE", 500, env,
	    strlen(env), b), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(qfile_mac(key, qid, 501, env, strlen(env), b), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	for (i = 0; i < strlen(env); i++) {
		env[i] ^= 1;
		assert_int_equal(qfile_mac(key, qid, 500, env, strlen(env), b),
		    0);
		env[i] ^= 1;
		if (memcmp(a, b, sizeof(a)) == 0)
			fail_msg("byte %zu flipped, same MAC", i);
	}
	key[31] ^= 1;
	assert_int_equal(qfile_mac(key, qid, 500, env, strlen(env), b), 0);
	assert_memory_not_equal(a, b, sizeof(a));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_round_trips_and_is_96_bytes),
		cmocka_unit_test(test_header_parse_refuses_anything_else),
		cmocka_unit_test(test_mac_depends_on_key_id_offset_and_every_byte),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
