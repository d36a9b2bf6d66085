/*
 * proctitle.c - a forked session's command line, written over the
 * template's (proctitle.h says why and where the room comes from).
 */
#include <string.h>

#include "proctitle.h"

static char	*title_start;
static size_t	 title_room;

void
proctitle_init(int argc, char *argv[])
{
	char	*end;
	int	 i;

	if (argc < 1 || argv[0] == NULL)
		return;
	/* Contiguous as the kernel laid them out; stop at any gap. */
	end = argv[0] + strlen(argv[0]) + 1;
	for (i = 1; i < argc && argv[i] == end; i++)
		end += strlen(argv[i]) + 1;
	title_start = argv[0];
	title_room = (size_t)(end - argv[0]);
}

int
proctitle_set(const char *const *args, size_t n)
{
	size_t	i, len, need = 0;
	char	*p;

	for (i = 0; i < n; i++)
		need += strlen(args[i]) + 1;
	if (title_start == NULL || need > title_room)
		return -1;
	p = title_start;
	for (i = 0; i < n; i++) {
		len = strlen(args[i]) + 1;
		memcpy(p, args[i], len);
		p += len;
	}
	memset(p, '\0', title_room - need);
	return 0;
}
