/*
 * fuzz_conf.c - fuzz target: the postern.conf parser (libcommon/conf.c),
 * through both ways in: conf_load_string on the text, and conf_load on
 * the same bytes in a memory file (which adds the file reading and its
 * NUL-byte check).
 *
 * postern.conf is root's file, but the parser runs in every daemon and
 * in sendmail (any user may point -C at a file of their own), so it must
 * not crash or leak on anything. Beyond that: both ways agree, a
 * configuration that loads dumps (conf_dump) to text that loads back to
 * the same dump, and "postern config -e" (confedit_set) on a text that
 * loads gives a text that loads, with the new value.
 */
#include <sys/mman.h>

#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "confedit.h"
#include "fuzz.h"

/* conf_dump into a malloced string. */
static char *
dump(const struct conf *c, size_t *len)
{
	char	*s = NULL;
	FILE	*fp;

	FUZZ_CHECK((fp = open_memstream(&s, len)) != NULL);
	conf_dump(c, fp);
	FUZZ_CHECK(fclose(fp) == 0);
	return s;
}

static int	memfd = -1;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	memfd = memfd_create("fuzz_conf", MFD_CLOEXEC);
	FUZZ_CHECK(memfd != -1);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf	 c, c2;
	char		*text, *d1, *d2, err[512], err2[512], path[64];
	size_t		 l1, l2;
	int		 rs, rf;

	FUZZ_CHECK((text = malloc(size + 1)) != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	err[0] = '\0';
	rs = conf_load_string(&c, "fuzz.conf", text, err, sizeof(err));
	if (rs == -1)
		FUZZ_CHECK(err[0] != '\0');
	else {
		char *edited;

		FUZZ_CHECK((edited = confedit_set(text, "myhostname",
		    "edited.example")) != NULL);
		if (conf_load_string(&c2, "edited", edited, err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "edit does not load: %s\n%s", err,
			    edited);
			FUZZ_CHECK(!"an edited file loads");
		}
		FUZZ_CHECK(strcmp(c2.myhostname, "edited.example") == 0);
		conf_free(&c2);
		free(edited);
	}
	free(text);

	/* The same bytes as a file; a NUL anywhere is refused there. */
	FUZZ_CHECK(ftruncate(memfd, 0) == 0);
	FUZZ_CHECK(pwrite(memfd, data, size, 0) == (ssize_t)size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	err2[0] = '\0';
	rf = conf_load(&c2, path, err2, sizeof(err2));
	if (memchr(data, '\0', size) != NULL)
		FUZZ_CHECK(rf == -1);
	else
		FUZZ_CHECK(rf == rs);
	if (rf == -1)
		FUZZ_CHECK(err2[0] != '\0');
	else
		conf_free(&c2);
	if (rs == -1)
		return 0;

	(void)conf_default_domain(&c);
	(void)conf_is_local_domain(&c, "example.org");
	d1 = dump(&c, &l1);
	conf_free(&c);
	err[0] = '\0';
	if (conf_load_string(&c2, "dump", d1, err, sizeof(err)) == -1) {
		fprintf(stderr, "dump does not load back: %s\n%s", err, d1);
		FUZZ_CHECK(!"the dump loads back");
	}
	d2 = dump(&c2, &l2);
	conf_free(&c2);
	FUZZ_CHECK(l1 == l2 && memcmp(d1, d2, l1) == 0);
	free(d1);
	free(d2);
	return 0;
}
