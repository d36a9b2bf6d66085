/*
 * regress_main.c - the plain regression runner behind every fuzz target:
 * feeds each file of the directories (or files) named on the command line
 * to LLVMFuzzerTestOneInput, in name order, once.
 *
 * Built with the normal compiler (no libFuzzer needed), so the committed
 * seed corpus and every crash input found so far run as ctest tests in
 * every build. A crash or a failed FUZZ_CHECK aborts, failing the test.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

/* Targets that need set-up define it; the runner works without. */
int LLVMFuzzerInitialize(int *, char ***) __attribute__((weak));

static int
regress_file(const char *path)
{
	FILE		*fp;
	unsigned char	*data = NULL;
	size_t		 len = 0, cap = 0, n;

	if ((fp = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			unsigned char *nd;

			cap = cap ? cap * 2 : 4096;
			if ((nd = realloc(data, cap)) == NULL) {
				fprintf(stderr, "%s: out of memory\n", path);
				free(data);
				fclose(fp);
				return -1;
			}
			data = nd;
		}
		n = fread(data + len, 1, cap - len, fp);
		if (n == 0)
			break;
		len += n;
	}
	if (ferror(fp)) {
		fprintf(stderr, "%s: read error\n", path);
		free(data);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	fprintf(stderr, "running %s (%zu bytes)\n", path, len);
	/* A copy of exactly len bytes: ASan sees a read past the input. */
	LLVMFuzzerTestOneInput(len ? data : (const uint8_t *)"", len);
	free(data);
	return 0;
}

static int
name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int
skip_dot(const struct dirent *d)
{
	/* README, .gitkeep and the like are not inputs. */
	return d->d_name[0] != '.' && strcmp(d->d_name, "README") != 0;
}

int
main(int argc, char **argv)
{
	struct dirent	**ents;
	struct stat	 st;
	char		 path[4096];
	int		 i, j, n, ran = 0, rc = 0;

	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == -1) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (regress_file(argv[i]) == -1)
				rc = 1;
			ran++;
			continue;
		}
		if ((n = scandir(argv[i], &ents, skip_dot, name_cmp)) == -1) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		for (j = 0; j < n; j++) {
			snprintf(path, sizeof(path), "%s/%s", argv[i],
			    ents[j]->d_name);
			if (regress_file(path) == -1)
				rc = 1;
			ran++;
			free(ents[j]);
		}
		free(ents);
	}
	if (ran == 0) {
		fprintf(stderr, "no inputs: name a corpus directory\n");
		return 1;
	}
	fprintf(stderr, "%d inputs, no crash\n", ran);
	return rc;
}
