/*
 * map_load.c - test tool: builds a map (libcommon/map) from "key TAB
 * value" lines on standard input, as an older Postern would have left
 * it, so that tests can hand today's code a map in an old layout (a
 * users.db that still holds password hashes). Not installed.
 *
 * Usage: map-load PATH < lines
 */
#include <stdio.h>
#include <string.h>

#include "map.h"

int
main(int argc, char *argv[])
{
	struct map_builder	*b;
	char			 line[8192], *tab;
	size_t			 len;

	if (argc != 2) {
		fprintf(stderr, "usage: map-load PATH < lines\n");
		return 64;
	}
	if ((b = map_build_begin_mode(argv[1], 0640, (uid_t)-1,
	    (gid_t)-1)) == NULL) {
		perror(argv[1]);
		return 1;
	}
	while (fgets(line, sizeof(line), stdin) != NULL) {
		len = strlen(line);
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if ((tab = strchr(line, '\t')) == NULL)
			continue;
		*tab = '\0';
		if (map_build_put(b, line, tab + 1) == -1) {
			perror("put");
			map_build_abort(b);
			return 1;
		}
	}
	if (map_build_commit(b) == -1) {
		perror("commit");
		return 1;
	}
	return 0;
}
