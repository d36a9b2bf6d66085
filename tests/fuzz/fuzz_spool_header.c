/*
 * fuzz_spool_header.c - fuzz target: the queue file header
 * (libcommon/qfile.c, qfile_header_parse) and what the start-up scan does
 * with a file whose header parses: the MAC over the embedded envelope,
 * and the envelope itself.
 *
 * A queue file's header is written by queued, but smtpd holds a writable
 * descriptor of the file while the message is received, so after a
 * compromise of smtpd any byte of it may be hostile. The input is the
 * whole file. Beyond "no crash": a header that parses is the one
 * qfile_header_format writes for its values (one spelling per header),
 * and its offset is 0 or past the header. A fuzzer cannot forge the MAC,
 * so the embedded envelope is parsed as the scan would parse it if the
 * MAC matched (the reader's own target, fuzz_envelope, goes deeper).
 */
#include <string.h>

#include "envelope.h"
#include "fuzz.h"
#include "queued.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char key[QFILE_KEY_LEN] = { 1, 2, 3 };
	struct envelope	 e;
	unsigned char	 mac[QFILE_MAC_LEN], want[QFILE_MAC_LEN];
	char		 hdr[QFILE_HDR_LEN], err[256], *text;
	uint64_t	 envoff;
	size_t		 n;

	if (qfile_header_parse((const char *)data, size, &envoff, mac) == -1)
		return 0;
	FUZZ_CHECK(size >= QFILE_HDR_LEN);
	FUZZ_CHECK(envoff == 0 || envoff >= QFILE_HDR_LEN);
	qfile_header_format(hdr, envoff, mac);
	FUZZ_CHECK(memcmp(hdr, data, QFILE_HDR_LEN) == 0);

	/* spool_load: 0 or an offset at or past the end is removed. */
	if (envoff == 0 || envoff >= size)
		return 0;
	n = size - (size_t)envoff;
	if (n > ENV_MAX_SIZE)
		return 0;
	/* spool_read_embedded: exactly the bytes to the end, NUL after. */
	FUZZ_CHECK((text = malloc(n + 1)) != NULL);
	memcpy(text, data + envoff, n);
	text[n] = '\0';
	FUZZ_CHECK(qfile_mac(key, "0123456789ABCDEF", envoff, text, n,
	    want) == 0);
	if (env_parse(text, n, &e, err, sizeof(err)) == 0)
		env_free(&e);
	free(text);
	return 0;
}
