/*
 * test_cmdline.c - an alias's "|command" into an argument vector: the sh
 * forms it accepts mean what sh means, variables stay inside their word,
 * and every piece of shell syntax it cannot honour is refused. Also the
 * pipe transport's pure parts: the output line of a DSN and the user a
 * command runs as, and the frame that hands the runner its job.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmdline.h"
#include "conf.h"
#include "deliverd.h"
#include "ipc.h"
#include "priv.h"

static const struct cmdline_var vars[] = {
	{ "SENDER", "-rf evil;rm -rf /" },
	{ "EXTENSION", "tag" },
	{ "EMPTY", "" },
	{ "RECIPIENT", "list+tag@example.org" },
};
#define NVARS (sizeof(vars) / sizeof(vars[0]))

/* The words joined by "|" (no word below holds one), or "ERR: reason". */
static const char *
split(const char *cmd)
{
	static char	 got[4096];
	char		*argv[CMDLINE_ARGS_MAX + 1], out[8192], err[256];
	int		 n, i;

	n = cmdline_split(cmd, vars, NVARS, argv, CMDLINE_ARGS_MAX + 1, out,
	    sizeof(out), err, sizeof(err));
	if (n == -1) {
		snprintf(got, sizeof(got), "ERR: %s", err);
		return got;
	}
	assert_null(argv[n]);
	got[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i > 0)
			strlcat(got, "|", sizeof(got));
		strlcat(got, argv[i], sizeof(got));
	}
	return got;
}

static void
test_words_quotes_and_escapes_as_sh_reads_them(void **state)
{
	assert_string_equal(split("/usr/bin/procmail"), "/usr/bin/procmail");
	assert_string_equal(split("  /bin/x\ta   b  "), "/bin/x|a|b");
	assert_string_equal(split("/bin/x 'a b' \"c d\" e\\ f"),
	    "/bin/x|a b|c d|e f");
	assert_string_equal(split("/bin/x 'it''s' \"say \\\"hi\\\" \\n\""),
	    "/bin/x|its|say \"hi\" \\n");
	/* Quoted, shell syntax is just text. */
	assert_string_equal(split("/bin/x '|;&<>*?' \"(a)\""),
	    "/bin/x||;&<>*?|(a)");
	assert_string_equal(split("/bin/x '' \"\""), "/bin/x||");
	/* A name alone is looked up in the fixed PATH by the runner. */
	assert_string_equal(split("procmail -m"), "procmail|-m");
}

static void
test_variables_expand_inside_one_word_never_as_syntax(void **state)
{
	assert_string_equal(split("/usr/bin/procmail -a \"$EXTENSION\""),
	    "/usr/bin/procmail|-a|tag");
	assert_string_equal(split("/bin/x ${EXTENSION}-x $RECIPIENT"),
	    "/bin/x|tag-x|list+tag@example.org");
	/* A hostile value is one argument, spaces and ';' included. */
	assert_string_equal(split("/bin/x -f $SENDER"),
	    "/bin/x|-f|-rf evil;rm -rf /");
	/* Empty: unquoted alone it drops the word (as sh), quoted it stays. */
	assert_string_equal(split("/bin/x -a $EMPTY z"), "/bin/x|-a|z");
	assert_string_equal(split("/bin/x -a \"$EMPTY\" z"), "/bin/x|-a||z");
	/* Single quotes do not expand. */
	assert_string_equal(split("/bin/x '$EXTENSION'"), "/bin/x|$EXTENSION");
	assert_string_equal(split("/bin/x \\$EXTENSION"), "/bin/x|$EXTENSION");
}

static void
test_shell_syntax_it_cannot_honour_is_refused(void **state)
{
	const char *bad[] = {
		"/bin/x | /bin/y", "/bin/x; /bin/y", "/bin/x && y", "/bin/x &",
		"/bin/x > /tmp/f", "/bin/x < /etc/passwd", "/bin/x `id`",
		"/bin/x \"`id`\"", "/bin/x $(id)", "/bin/x *", "/bin/x a?",
		"/bin/x [ab]", "/bin/x {a,b}", "(/bin/x)", "~/bin/x",
		"/bin/x #comment", "/bin/x $1", "/bin/x $$", "/bin/x $UNKNOWN",
		"/bin/x ${EXTENSION", "/bin/x 'open", "/bin/x \"open",
		"/bin/x\\", "/bin/x a\nb", "/bin/x \"a\rb\"", "FOO=1 /bin/x",
		"", "   ", "$EMPTY",
		NULL };
	size_t i;

	for (i = 0; bad[i] != NULL; i++) {
		const char *got = split(bad[i]);

		if (strncmp(got, "ERR: ", 5) != 0)
			fail_msg("\"%s\" was accepted as %s", bad[i], got);
	}
	assert_string_equal(split("/bin/x | y"), "ERR: shell syntax is not "
	    "supported (no shell runs the command): \"|\"");
	assert_string_equal(split("/bin/x $NOPE"),
	    "ERR: unknown variable $NOPE");
}

static void
test_limits_on_words_and_bytes(void **state)
{
	char	 cmd[4096], *argv[4], out[16], err[128];
	size_t	 i;

	cmd[0] = '\0';
	strlcat(cmd, "/bin/x", sizeof(cmd));
	for (i = 0; i < CMDLINE_ARGS_MAX; i++)
		strlcat(cmd, " a", sizeof(cmd));
	assert_string_equal(split(cmd), "ERR: command has too many words");
	assert_int_equal(cmdline_split("/bin/x a b c", vars, NVARS, argv, 4,
	    out, sizeof(out), err, sizeof(err)), -1);
	assert_int_equal(cmdline_split("/bin/x a b", vars, NVARS, argv, 4,
	    out, sizeof(out), err, sizeof(err)), 3);
	assert_int_equal(cmdline_split("/bin/0123456789abcdef", vars, NVARS,
	    argv, 4, out, sizeof(out), err, sizeof(err)), -1);
	assert_string_equal(err, "command is too long");
}

static void
test_output_becomes_one_printable_line(void **state)
{
	char out[16];

	pipe_output_text("no such list\n\tmylist\r\n", 23, out, sizeof(out));
	assert_string_equal(out, "no such list my");
	pipe_output_text("\x1b[31m\xff\x00x", 8, out, sizeof(out));
	assert_string_equal(out, "[31m x");
	pipe_output_text("", 0, out, sizeof(out));
	assert_string_equal(out, "");
}

static void
test_commands_never_run_as_root_or_mail_user(void **state)
{
	struct priv_user	u;
	char			home[256], err[256];

	if (geteuid() != 0)
		skip();
	assert_int_equal(pipe_user("root", "nobody", &u, home, sizeof(home),
	    err, sizeof(err)), -1);
	assert_string_equal(err, "default_privs root: is root");
	assert_int_equal(pipe_user("nobody", "nobody", &u, home, sizeof(home),
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is mail_user"));
	assert_int_equal(pipe_user("no-such-user-here", "daemon", &u, home,
	    sizeof(home), err, sizeof(err)), -1);
	assert_string_equal(err, "default_privs no-such-user-here: no such "
	    "user");
	assert_int_equal(pipe_user("nobody", "daemon", &u, home, sizeof(home),
	    err, sizeof(err)), 0);
	assert_int_not_equal(u.uid, 0);
	assert_string_equal(u.name, "nobody");
}

static void
test_runner_job_frame_carries_the_whole_job_and_its_settings(void **state)
{
	struct d_job		j, back;
	struct ipc_msg		m;
	struct pipe_params	par, got;
	struct conf		c;

	memset(&c, 0, sizeof(c));
	c.command_time_limit = 1000;
	strlcpy(c.recipient_delimiter, "+-+", sizeof(c.recipient_delimiter));
	assert_int_equal(pipe_params_init(&par, &c), 0);
	assert_string_equal(par.delim, "+-");
	assert_int_equal(par.limit, 1000);

	memset(&j, 0, sizeof(j));
	strlcpy(j.qid, "0123456789ABCDEF", sizeof(j.qid));
	strlcpy(j.sender, "a@example.org", sizeof(j.sender));
	strlcpy(j.rcpt, "|/usr/bin/procmail", sizeof(j.rcpt));
	strlcpy(j.orcpt, "list@example.org", sizeof(j.orcpt));
	j.offset = 96;
	j.size = 1000;
	j.arrival_us = 1700000000000000ULL;
	j.active_us = 1700000000500000ULL;
	j.kind = R_KIND_COMMAND;
	ipc_msg_init(&m, 1, 1);
	assert_int_equal(pipe_enc_job(&m, &j, dup(0), &par), 0);
	memset(&back, 0, sizeof(back));
	assert_int_equal(pipe_dec_job(&m, &back, &got), 0);
	assert_int_equal(got.limit, 1000);
	assert_string_equal(got.delim, "+-");
	assert_memory_equal(&back, &j, sizeof(j));
	ipc_msg_free(&m);

	/* A mailbox job is never a runner's. */
	j.kind = R_KIND_MAILBOX;
	strlcpy(j.rcpt, "bob@example.org", sizeof(j.rcpt));
	ipc_msg_init(&m, 1, 1);
	assert_int_equal(pipe_enc_job(&m, &j, dup(0), &par), 0);
	assert_int_equal(pipe_dec_job(&m, &back, &got), -1);
	ipc_msg_free(&m);
	/* Nor a frame too short for the trailer, nor a limit of 0. */
	ipc_msg_init(&m, 1, 1);
	assert_int_equal(pipe_dec_job(&m, &back, &got), -1);
	ipc_msg_free(&m);
	j.kind = R_KIND_COMMAND;
	strlcpy(j.rcpt, "|/bin/x", sizeof(j.rcpt));
	par.limit = 0;
	ipc_msg_init(&m, 1, 1);
	assert_int_equal(pipe_enc_job(&m, &j, dup(0), &par), 0);
	assert_int_equal(pipe_dec_job(&m, &back, &got), -1);
	ipc_msg_free(&m);
	/* A delimiter conf.c would have refused. */
	strlcpy(c.recipient_delimiter, "+/", sizeof(c.recipient_delimiter));
	assert_int_equal(pipe_params_init(&par, &c), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_words_quotes_and_escapes_as_sh_reads_them),
		cmocka_unit_test(test_variables_expand_inside_one_word_never_as_syntax),
		cmocka_unit_test(test_shell_syntax_it_cannot_honour_is_refused),
		cmocka_unit_test(test_limits_on_words_and_bytes),
		cmocka_unit_test(test_output_becomes_one_printable_line),
		cmocka_unit_test(test_commands_never_run_as_root_or_mail_user),
		cmocka_unit_test(test_runner_job_frame_carries_the_whole_job_and_its_settings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
