/*
 * fuzz_mailbox_name.c - fuzz target: modified UTF-7 and mailbox names
 * (libcommon/mailbox_name.c), which come from IMAP clients and from
 * directory entries of the user's Maildir. Beyond "no crash": whatever
 * decodes is well-formed UTF-8 that encodes back to the very input (one
 * spelling per name); whatever UTF-8 encodes decodes back to itself; a
 * name that passes becomes one directory name inside the Maildir that
 * maps back to the same name.
 */
#include <string.h>

#include "fuzz.h"
#include "mailbox_name.h"
#include "utf8.h"

#define BIG	(4 * 1024 + 16)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char	in[BIG], utf8[4 * BIG], again[8 * BIG];
	static char	dir[BIG], name[BIG];
	size_t		len;

	if (size >= BIG)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';

	if (mutf7_decode(in, size, utf8, sizeof(utf8)) == 0) {
		len = strlen(utf8);
		FUZZ_CHECK(utf8_valid(utf8, len));
		FUZZ_CHECK(mutf7_encode(utf8, len, again, sizeof(again)) == 0);
		FUZZ_CHECK(strlen(again) == size &&
		    memcmp(again, in, size) == 0);
	}
	if (mutf7_encode(in, size, again, sizeof(again)) == 0 &&
	    (len = strlen(again)) <= MUTF7_MAX) {
		FUZZ_CHECK(mutf7_decode(again, len, utf8, sizeof(utf8)) == 0);
		FUZZ_CHECK(strlen(utf8) == size &&
		    memcmp(utf8, in, size) == 0);
	}
	if (memchr(data, '\0', size) == NULL && mailbox_name_ok(in)) {
		FUZZ_CHECK(size > 0 && size <= MAILBOX_NAME_MAX);
		FUZZ_CHECK(mailbox_name_to_dir(in, dir, sizeof(dir)) == 0);
		FUZZ_CHECK(dir[0] == '.' && strchr(dir, '/') == NULL);
		FUZZ_CHECK(strcmp(dir, "..") != 0 && strlen(dir) <= 255);
		FUZZ_CHECK(mailbox_dir_to_name(dir, name, sizeof(name)) == 0);
		if (strcmp(dir, ".") != 0 && strncmp(dir, ".INBOX", 6) != 0)
			FUZZ_CHECK(strcmp(name, in) == 0);
	} else if (memchr(data, '\0', size) == NULL)
		FUZZ_CHECK(mailbox_name_to_dir(in, dir, sizeof(dir)) == -1);
	return 0;
}
