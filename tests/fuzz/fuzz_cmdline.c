/*
 * fuzz_cmdline.c - fuzz target: an alias's "|command" split into an
 * argument vector (libcommon/cmdline.c), the text deliverd's command
 * runner execs without a shell.
 *
 * The input is the command, then (after the first NUL, if any) the value
 * of $SENDER: the command is the administrator's, but a variable's value
 * is the sender's choice. Whatever both hold: no crash, no read or write
 * out of bounds, a refusal always says why, an accepted command has at
 * least one word, argv ends in NULL, and every word lies in the output
 * buffer.
 */
#include <string.h>

#include "cmdline.h"
#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cmdline_var	 vars[3];
	char			*argv[CMDLINE_ARGS_MAX + 1], out[8192], err[256];
	char			*cmd, *sender;
	const char		*nul;
	int			 n, i;

	FUZZ_CHECK((cmd = malloc(size + 2)) != NULL);
	memcpy(cmd, data, size);
	cmd[size] = '\0';
	cmd[size + 1] = '\0';
	nul = memchr(cmd, '\0', size + 1);
	sender = (char *)nul + 1;
	vars[0].name = "SENDER";
	vars[0].value = sender;
	vars[1].name = "EXTENSION";
	vars[1].value = "";
	vars[2].name = "RECIPIENT";
	vars[2].value = "list@example.org";
	err[0] = '\0';
	n = cmdline_split(cmd, vars, 3, argv, CMDLINE_ARGS_MAX + 1, out,
	    sizeof(out), err, sizeof(err));
	if (n == -1)
		FUZZ_CHECK(err[0] != '\0');
	else {
		FUZZ_CHECK(n >= 1 && n <= CMDLINE_ARGS_MAX);
		FUZZ_CHECK(argv[n] == NULL);
		for (i = 0; i < n; i++) {
			FUZZ_CHECK(argv[i] >= out &&
			    argv[i] < out + sizeof(out));
			FUZZ_CHECK(argv[i] + strlen(argv[i]) <
			    out + sizeof(out));
		}
	}
	free(cmd);
	return 0;
}
