/*
 * fuzz_lastlogin.c - fuzz target: the last-login record
 * (libcommon/lastlogin.c, lastlogin_parse), which "postern user show"
 * reads as root from a directory the mail user owns, so any byte of it
 * may be hostile. Beyond "no crash": a record that parses is exactly
 * what lastlogin_format writes for its values, and holds no byte that
 * could act on a terminal.
 */
#include <string.h>

#include "fuzz.h"
#include "lastlogin.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lastlogin	l;
	char			out[256];
	size_t			i;
	int			n;

	if (lastlogin_parse((const char *)data, size, &l) == -1)
		return 0;
	FUZZ_CHECK(l.when >= 0);
	for (i = 0; l.ip[i] != '\0'; i++)
		FUZZ_CHECK(l.ip[i] > 0x20 && l.ip[i] < 0x7f);
	for (i = 0; l.proto[i] != '\0'; i++)
		FUZZ_CHECK(l.proto[i] > 0x20 && l.proto[i] < 0x7f);
	/* One spelling per record (a leading zero is its own spelling). */
	n = lastlogin_format(&l, out, sizeof(out));
	FUZZ_CHECK(n > 0);
	if (size > 0 && data[0] != '0')
		FUZZ_CHECK((size_t)n == size && memcmp(out, data, size) == 0);
	return 0;
}
