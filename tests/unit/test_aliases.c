/*
 * test_aliases.c - libcommon/aliases (the aliases file compiled into a
 * map, and the stored value split back into targets) and resolverd's
 * alias expansion, driven through in-memory lookups.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "aliases.h"
#include "fsutil.h"
#include "map.h"
#include "resolverd.h"

static char src[512], db[512];

static int
setup_paths(void **state)
{
	static int	 n;
	const char	*base = getenv("POSTERN_TEST_TMP");

	if (base == NULL)
		base = "/tmp";
	snprintf(src, sizeof(src), "%s/test_aliases.%ld.%d", base,
	    (long)getpid(), n);
	snprintf(db, sizeof(db), "%s/test_aliases.%ld.%d.db", base,
	    (long)getpid(), n);
	n++;
	return 0;
}

static int
teardown_paths(void **state)
{
	unlink(src);
	unlink(db);
	return 0;
}

static void
write_src(const char *text)
{
	assert_int_equal(fs_atomic_write(src, text, strlen(text), 0644), 0);
}

/* What the compiler reported: every error, one a line; the warnings. */
static char	reported[8192], warned[8192];
static int	nerrors, nwarnings;

struct first_err {
	char	*err;
	size_t	 errlen;
};

static void
report(int error, const char *msg, void *arg)
{
	struct first_err *fe = arg;

	if (error) {
		if (nerrors++ == 0 && fe != NULL)
			strlcpy(fe->err, msg, fe->errlen);
		strlcat(reported, msg, sizeof(reported));
		strlcat(reported, "\n", sizeof(reported));
	} else {
		nwarnings++;
		strlcat(warned, msg, sizeof(warned));
		strlcat(warned, "\n", sizeof(warned));
	}
}

/* Compiles text; returns the count, err holds the first error on -1. */
static int
compile(const char *text, int allow_commands, char *err, size_t errlen)
{
	struct first_err fe = { err, errlen };

	write_src(text);
	err[0] = '\0';
	reported[0] = warned[0] = '\0';
	nerrors = nwarnings = 0;
	return aliases_compile(src, db, allow_commands, report, &fe);
}

static void
assert_value(const char *key, const char *want)
{
	struct map	*m;
	char		 val[MAP_VALUE_MAX];
	int		 r;

	m = map_open(db);
	assert_non_null(m);
	r = map_get(m, key, val, sizeof(val));
	map_close(m);
	if (want == NULL) {
		if (r != 0)
			fail_msg("%s: expected no entry, got \"%s\"", key, val);
		return;
	}
	if (r != 1)
		fail_msg("%s: no entry (r=%d)", key, r);
	assert_string_equal(val, want);
}

/* The error names the file and the line. */
static void
assert_error_at(const char *err, int line, const char *what)
{
	char prefix[1100];

	snprintf(prefix, sizeof(prefix), "%s:%d: ", src, line);
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		fail_msg("error \"%s\" does not start with \"%s\"", err,
		    prefix);
	if (strstr(err, what) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", err, what);
}

static void
test_comments_blank_lines_and_continuations(void **state)
{
	char err[512];

	assert_int_equal(compile(
	    "# system aliases\n"
	    "\n"
	    "postmaster: root\n"
	    "root:\talice,\n"
	    "   bob,\n"
	    "# a comment inside a continued entry\n"
	    "\tcarol@elsewhere.test\n"
	    "   \n"
	    "sales@example.test : dave , erin\n", 0, err, sizeof(err)), 3);
	assert_value("postmaster", "root");
	assert_value("root", "alice, bob, carol@elsewhere.test");
	assert_value("sales@example.test", "dave, erin");
	assert_value("#", NULL);
}

static void
test_names_and_targets_are_case_folded(void **state)
{
	char err[512];

	assert_int_equal(compile("PostMaster: Root\n"
	    "Sales@Example.TEST: Bob@Remote.TEST, Carol\n", 0, err,
	    sizeof(err)), 2);
	assert_value("postmaster", "root");
	/* The remote local part is the remote side's: only its domain folds. */
	assert_value("sales@example.test", "Bob@remote.test, carol");
	assert_value("PostMaster", NULL);
}

static void
test_bad_lines_are_reported_with_their_line(void **state)
{
	char err[512];

	assert_int_equal(compile("a: b\n\nno colon here\n", 0, err,
	    sizeof(err)), -1);
	assert_error_at(err, 3, "name: target");

	assert_int_equal(compile("a: b,\n  c,\n\n  continued\n", 0, err,
	    sizeof(err)), 1);	/* blank lines do not end an entry */
	assert_value("a", "b, c, continued");

	assert_int_equal(compile("   leading: b\n", 0, err, sizeof(err)), -1);
	assert_error_at(err, 1, "continuation");

	assert_int_equal(compile("x: y\nbad name: z\n", 0, err, sizeof(err)),
	    -1);
	assert_error_at(err, 2, "bad alias name");

	assert_int_equal(compile("x: y\n\nempty:\n", 0, err, sizeof(err)), -1);
	assert_error_at(err, 3, "no targets");

	assert_int_equal(compile("x: y\nz: a b@\n", 0, err, sizeof(err)), -1);
	assert_error_at(err, 2, "bad target");

	/* An entry's line is where it starts, not where it fails. */
	assert_int_equal(compile("x: y,\n  ok,\n  @bad\n", 0, err,
	    sizeof(err)), -1);
	assert_error_at(err, 1, "bad target");
}

static void
test_every_bad_line_is_reported_and_the_old_map_stays(void **state)
{
	char err[512];

	assert_int_equal(compile("good: alice\n", 0, err, sizeof(err)), 1);
	assert_int_equal(compile(
	    "good: bob\n"
	    "no colon here\n"
	    "bad name: x\n"
	    "fine: carol\n"
	    "empty:\n"
	    "t: a b@\n"
	    "  continued\n"
	    "u: @example.test\n", 0, err, sizeof(err)), -1);
	assert_int_equal(nerrors, 5);
	assert_error_at(err, 2, "name: target");
	/* Each with its own line, in file order. */
	{
		char want[4096];

		snprintf(want, sizeof(want),
		    "%s:2: expected \"name: target, ...\"\n"
		    "%s:3: bad alias name \"bad name\" (a local part, "
		    "user@domain, or @domain)\n"
		    "%s:5: alias empty has no targets\n"
		    "%s:6: alias t: bad target address \"a b@ continued\"\n"
		    "%s:8: alias u: bad target \"@example.test\": a domain "
		    "target belongs only to a domain alias (@alias.example: "
		    "@example.net)\n", src, src, src, src, src);
		assert_string_equal(reported, want);
	}
	/* Nothing was built: the map is the one from before. */
	assert_value("good", "alice");
	assert_value("fine", NULL);
}

static void
test_catch_all_and_domain_alias_names(void **state)
{
	char err[512];

	assert_int_equal(compile(
	    "@Example.NET: someone@example.net\n"
	    "@alias.example: @Example.NET\n", 0, err, sizeof(err)), 2);
	assert_value("@example.net", "someone@example.net");
	assert_value("@alias.example", "@example.net");
	assert_int_equal(compile("@bad..domain: x\n@ok.test: @-bad\n", 0,
	    err, sizeof(err)), -1);
	assert_int_equal(nerrors, 2);
	assert_error_at(err, 1, "bad alias name");
	assert_non_null(strstr(reported, "bad target address \"@-bad\""));
}

static void
test_refused_forms_are_skipped(void **state)
{
	char err[512];

	assert_int_equal(compile(
	    "a: /var/mail/a, alice\n"
	    "b: :include:/etc/list, bob\n"
	    "c: |/usr/bin/vacation c, carol\n"
	    "d: /dev/null\n", 0, err, sizeof(err)), 3);
	assert_value("a", "alice");
	assert_value("b", "bob");
	assert_value("c", "carol");
	/* Nothing left of d: it is left out rather than stored empty. */
	assert_value("d", NULL);
}

static void
test_commands_are_admitted_only_when_allowed(void **state)
{
	char err[512];

	assert_int_equal(compile(
	    "c: \"|/usr/bin/filter -a, -b\", carol\n"
	    "f: /tmp/file, |/bin/true\n", 1, err, sizeof(err)), 2);
	/* The comma inside the command survives a round trip. */
	assert_value("c", "\"|/usr/bin/filter -a, -b\", carol");
	assert_value("f", "|/bin/true");
}

static void
test_duplicate_names_keep_the_first(void **state)
{
	char err[512];

	assert_int_equal(compile("a: first\nb: x\nA: second\n", 0, err,
	    sizeof(err)), 2);
	assert_value("a", "first");
}

static void
test_backslash_target_is_the_plain_name(void **state)
{
	char err[512];

	assert_int_equal(compile("alice: \\alice, archive\n", 0, err,
	    sizeof(err)), 1);
	assert_value("alice", "alice, archive");
}

static void
test_missing_source_is_an_error(void **state)
{
	char err[512];

	struct first_err fe = { err, sizeof(err) };

	nerrors = 0;
	assert_int_equal(aliases_compile("/nonexistent/aliases", db, 0, report,
	    &fe), -1);
	assert_non_null(strstr(err, "/nonexistent/aliases"));
	assert_int_equal(access(db, F_OK), -1);
}

static void
test_too_long_target_list_is_refused(void **state)
{
	char	*text, err[512];
	size_t	 i, o = 0;

	text = malloc(20000);
	assert_non_null(text);
	o = (size_t)snprintf(text, 20000, "big:");
	for (i = 0; i < 600; i++)
		o += (size_t)snprintf(text + o, 20000 - o, " user%zu,", i);
	text[o++] = '\n';
	text[o] = '\0';
	assert_int_equal(compile(text, 0, err, sizeof(err)), -1);
	assert_error_at(err, 1, "longer than");
	free(text);
}

static int
collect(const char *t, void *arg)
{
	char *out = arg;

	if (out[0] != '\0')
		strlcat(out, "|", 512);
	strlcat(out, t, 512);
	return 0;
}

static int
stop_at_b(const char *t, void *arg)
{
	return strcmp(t, "b") == 0 ? -1 : 0;
}

static void
test_split_trims_and_honours_quotes(void **state)
{
	char out[512] = "";

	assert_int_equal(aliases_split(" a , b,,\t\"|cmd x, y\" ,c@d.test ",
	    collect, out), 4);
	assert_string_equal(out, "a|b||cmd x, y|c@d.test");
	assert_int_equal(aliases_split("a, b, c", stop_at_b, NULL), -1);
	assert_int_equal(aliases_split("", collect, out), 0);
}

/* --- alias expansion over in-memory maps --- */

struct fake {
	const char	**aliases;	/* key, value, ..., NULL */
	const char	**users;	/* NULL-terminated */
	int		  fail;		/* every lookup errors */
	int		  lookups;
};

static int
fake_alias(const char *key, char *val, size_t valsz, void *arg)
{
	struct fake	*f = arg;
	size_t		 i;

	f->lookups++;
	if (f->fail)
		return -1;
	for (i = 0; f->aliases != NULL && f->aliases[i] != NULL; i += 2)
		if (strcmp(f->aliases[i], key) == 0) {
			strlcpy(val, f->aliases[i + 1], valsz);
			return 1;
		}
	return 0;
}

static int
fake_user(const char *addr, void *arg)
{
	struct fake	*f = arg;
	size_t		 i;

	if (f->fail)
		return -1;
	for (i = 0; f->users != NULL && f->users[i] != NULL; i++)
		if (strcmp(f->users[i], addr) == 0)
			return 1;
	return 0;
}

static int
fake_is_local(const char *domain, void *arg)
{
	return strcmp(domain, "example.test") == 0 ||
	    strcmp(domain, "other.test") == 0 ||
	    strcmp(domain, "alias.test") == 0 ||
	    strcmp(domain, "loop.test") == 0 ||
	    strcmp(domain, "loop2.test") == 0;
}

static void
expand(struct fake *f, const char *addr, struct r_expansion *x)
{
	struct expand_ops ops;

	memset(&ops, 0, sizeof(ops));
	ops.alias = fake_alias;
	ops.user = fake_user;
	ops.is_local = fake_is_local;
	ops.arg = f;
	ops.default_domain = "example.test";
	ops.delimiter = "+";
	expand_address(&ops, addr, x);
}

/* Targets as "M:addr R:addr C:|cmd ..." in result order. */
static void
assert_targets(const struct r_expansion *x, const char *want)
{
	char	got[4096] = "";
	size_t	i;

	if (x->status != ST_OK)
		fail_msg("status %u (%s), want ST_OK", x->status, x->text);
	for (i = 0; i < x->n; i++) {
		if (i > 0)
			strlcat(got, " ", sizeof(got));
		strlcat(got, x->t[i].kind == R_KIND_MAILBOX ? "M:" :
		    x->t[i].kind == R_KIND_COMMAND ? "C:" : "R:", sizeof(got));
		strlcat(got, x->t[i].addr, sizeof(got));
	}
	assert_string_equal(got, want);
}

static void
assert_fails(const struct r_expansion *x, uint32_t status, const char *text)
{
	if (x->status != status)
		fail_msg("status %u (%s), want %u", x->status, x->text, status);
	assert_string_equal(x->text, text);
	assert_int_equal(x->n, 0);
}

static void
test_expand_user_and_remote(void **state)
{
	const char *users[] = { "alice@example.test", NULL };
	struct fake f = { NULL, users, 0, 0 };
	struct r_expansion x;

	expand(&f, "Alice@Example.TEST", &x);
	assert_targets(&x, "M:alice@example.test");
	proto_r_expansion_free(&x);
	expand(&f, "Bob@Remote.TEST", &x);
	assert_targets(&x, "R:Bob@remote.test");
	proto_r_expansion_free(&x);
	expand(&f, "nobody@example.test", &x);
	assert_fails(&x, ST_PERM, "5.1.1 <nobody@example.test>: user unknown");
	expand(&f, "not an address", &x);
	assert_int_equal(x.status, ST_PERM);
}

static void
test_expand_full_key_wins_and_bare_targets_are_the_default_domain(
    void **state)
{
	const char *aliases[] = {
		"sales@example.test", "bob",
		"sales", "carol",
		"info", "dave, eve@remote.test",
		NULL };
	const char *users[] = { "bob@example.test", "carol@example.test",
	    "dave@example.test", "carol@other.test", NULL };
	struct fake f = { aliases, users, 0, 0 };
	struct r_expansion x;

	expand(&f, "sales@example.test", &x);
	assert_targets(&x, "M:bob@example.test");
	proto_r_expansion_free(&x);
	/*
	 * A bare target is a user of the default domain, whatever domain
	 * the mail was for: one "root: admin" serves every domain.
	 */
	expand(&f, "sales@other.test", &x);
	assert_targets(&x, "M:carol@example.test");
	proto_r_expansion_free(&x);
	expand(&f, "info@other.test", &x);
	assert_targets(&x, "M:dave@example.test R:eve@remote.test");
	proto_r_expansion_free(&x);
}

static void
test_expand_self_reference_is_the_mailbox(void **state)
{
	const char *aliases[] = { "alice", "alice, archive",
	    "carol@other.test", "carol@other.test, archive", NULL };
	const char *users[] = { "alice@example.test", "archive@example.test",
	    "carol@other.test", NULL };
	struct fake f = { aliases, users, 0, 0 };
	struct r_expansion x;

	expand(&f, "alice@example.test", &x);
	assert_targets(&x, "M:alice@example.test M:archive@example.test");
	proto_r_expansion_free(&x);
	/* The bare alias applies in other.test too: its alice is ours. */
	expand(&f, "alice@other.test", &x);
	assert_targets(&x, "M:alice@example.test M:archive@example.test");
	proto_r_expansion_free(&x);
	/* A self reference in another domain is written in full. */
	expand(&f, "carol@other.test", &x);
	assert_targets(&x, "M:carol@other.test M:archive@example.test");
	proto_r_expansion_free(&x);
}

static void
test_expand_loop_alone_fails_and_beside_others_is_dropped(void **state)
{
	const char *aliases[] = {
		"a", "b",
		"b", "c",
		"c", "a",
		"d", "e, bob@remote.test",
		"e", "d",
		NULL };
	struct fake f = { aliases, NULL, 0, 0 };
	struct r_expansion x;

	expand(&f, "a@example.test", &x);
	assert_fails(&x, ST_PERM, "5.4.6 <a@example.test>: alias loop");
	expand(&f, "d@example.test", &x);
	assert_targets(&x, "R:bob@remote.test");
	proto_r_expansion_free(&x);
}

static void
test_expand_duplicates_are_delivered_once(void **state)
{
	const char *aliases[] = {
		"all", "team1, team2, bob, Bob",
		"team1", "bob, carol",
		"team2", "carol, bob@example.test, x@remote.test",
		"team3", "x@remote.test",
		NULL };
	const char *users[] = { "bob@example.test", "carol@example.test",
	    NULL };
	struct fake f = { aliases, users, 0, 0 };
	struct r_expansion x;

	expand(&f, "all@example.test", &x);
	assert_targets(&x, "M:bob@example.test M:carol@example.test "
	    "R:x@remote.test");
	proto_r_expansion_free(&x);
}

static void
test_expand_depth_is_limited(void **state)
{
	/* l0 -> l1 -> ... -> l11 -> deep, a user. */
	const char	*aliases[64];
	char		 names[24][16];
	const char	*users[] = { "deep@example.test", NULL };
	struct fake	 f = { aliases, users, 0, 0 };
	struct r_expansion x;
	int		 i, n = 0;

	for (i = 0; i <= EXPAND_DEPTH_MAX + 1; i++) {
		snprintf(names[2 * i], sizeof(names[0]), "l%d", i);
		if (i == EXPAND_DEPTH_MAX + 1)
			snprintf(names[2 * i + 1], sizeof(names[0]), "deep");
		else
			snprintf(names[2 * i + 1], sizeof(names[0]), "l%d",
			    i + 1);
		aliases[n++] = names[2 * i];
		aliases[n++] = names[2 * i + 1];
	}
	aliases[n] = NULL;
	/* From l1: eleven aliases in a row, one too many. */
	expand(&f, "l1@example.test", &x);
	assert_fails(&x, ST_PERM, "5.4.6 <l1@example.test>: aliases nested "
	    "too deep");
	/* From l2: exactly EXPAND_DEPTH_MAX aliases, then the mailbox. */
	expand(&f, "l2@example.test", &x);
	assert_targets(&x, "M:deep@example.test");
	proto_r_expansion_free(&x);
}

static void
test_expand_postmaster_rules(void **state)
{
	const char *aliases[] = { "postmaster", "root", "root", "admin@ops.test",
	    NULL };
	struct fake f = { aliases, NULL, 0, 0 };
	struct fake none = { NULL, NULL, 0, 0 };
	struct r_expansion x;

	expand(&f, "PostMaster@example.test", &x);
	assert_targets(&x, "R:admin@ops.test");
	proto_r_expansion_free(&x);
	/* A bare postmaster (RCPT TO:<Postmaster>) is the default domain's. */
	expand(&f, "Postmaster", &x);
	assert_targets(&x, "R:admin@ops.test");
	proto_r_expansion_free(&x);
	expand(&none, "postmaster@example.test", &x);
	assert_fails(&x, ST_PERM, "5.1.1 postmaster has no mailbox: add an "
	    "alias");
}

static void
test_expand_map_error_is_temporary(void **state)
{
	struct fake f = { NULL, NULL, 1, 0 };
	struct r_expansion x;

	expand(&f, "alice@example.test", &x);
	assert_fails(&x, ST_TEMP, "4.3.0 lookup failure");
	/* A remote address needs no map. */
	expand(&f, "alice@remote.test", &x);
	assert_targets(&x, "R:alice@remote.test");
	proto_r_expansion_free(&x);
}

static void
test_expand_too_many_targets(void **state)
{
	static char	 big[MAP_VALUE_MAX];
	char		 sub[8][MAP_VALUE_MAX];
	const char	*aliases[32];
	struct fake	 f = { aliases, NULL, 0, 0 };
	struct r_expansion x;
	size_t		 o = 0;
	int		 i, j, n = 0;

	/* 8 sub-lists of 150 remote addresses: 1200 targets. */
	for (i = 0; i < 8; i++) {
		size_t so = 0;

		for (j = 0; j < 150; j++)
			so += (size_t)snprintf(sub[i] + so, sizeof(sub[i]) - so,
			    "%sr%d.%d@x.test", j ? "," : "", i, j);
		o += (size_t)snprintf(big + o, sizeof(big) - o, "%slist%d",
		    i ? "," : "", i);
	}
	aliases[n++] = "all";
	aliases[n++] = big;
	for (i = 0; i < 8; i++) {
		static char names[8][8];

		snprintf(names[i], sizeof(names[i]), "list%d", i);
		aliases[n++] = names[i];
		aliases[n++] = sub[i];
	}
	aliases[n] = NULL;
	expand(&f, "all@example.test", &x);
	assert_fails(&x, ST_PERM, "5.3.0 <all@example.test>: alias expands "
	    "to too many recipients");
	/* One list alone is fine. */
	expand(&f, "list3@example.test", &x);
	assert_int_equal(x.status, ST_OK);
	assert_int_equal(x.n, 150);
	proto_r_expansion_free(&x);
}

static void
test_expand_commands_and_unknown_targets(void **state)
{
	static char longcmd[ADDR_MAX + 8];
	const char *aliases[] = {
		"prog", "|/usr/bin/thing, bob",
		"twice", "prog, |/usr/bin/thing",
		"long", longcmd,
		"longbob", NULL,
		"half", "bob, ghost",
		"ghosts", "ghost, phantom",
		NULL };
	const char *users[] = { "bob@example.test", NULL };
	static char longbob[ADDR_MAX + 16];
	struct fake f = { aliases, users, 0, 0 };
	struct expand_ops ops;
	struct r_expansion x;

	longcmd[0] = '|';
	memset(longcmd + 1, 'x', ADDR_MAX);
	longcmd[ADDR_MAX + 1] = '\0';
	snprintf(longbob, sizeof(longbob), "%s, bob", longcmd);
	aliases[7] = longbob;

	/* Without allow_alias_commands a stored command is ignored. */
	expand(&f, "prog@example.test", &x);
	assert_targets(&x, "M:bob@example.test");
	proto_r_expansion_free(&x);

	memset(&ops, 0, sizeof(ops));
	ops.alias = fake_alias;
	ops.user = fake_user;
	ops.is_local = fake_is_local;
	ops.arg = &f;
	ops.allow_commands = 1;
	expand_address(&ops, "prog@example.test", &x);
	assert_targets(&x, "C:|/usr/bin/thing M:bob@example.test");
	proto_r_expansion_free(&x);
	/* Reached twice through aliases: run once. */
	expand_address(&ops, "twice@example.test", &x);
	assert_targets(&x, "C:|/usr/bin/thing M:bob@example.test");
	proto_r_expansion_free(&x);
	/* Longer than a job can carry: refused, never cut. */
	expand_address(&ops, "long@example.test", &x);
	assert_fails(&x, ST_PERM, "5.3.5 <long@example.test>: alias command "
	    "is longer than the delivery agent takes");
	expand_address(&ops, "longbob@example.test", &x);
	assert_targets(&x, "M:bob@example.test");
	proto_r_expansion_free(&x);

	/* An unknown target beside a good one is dropped (and logged). */
	expand(&f, "half@example.test", &x);
	assert_targets(&x, "M:bob@example.test");
	proto_r_expansion_free(&x);
	/* The sender learns that the alias is dead, not what is behind it. */
	expand(&f, "ghosts@example.test", &x);
	assert_fails(&x, ST_PERM, "5.1.1 <ghosts@example.test>: alias has no "
	    "deliverable target");
}

static void
test_expand_plus_address_reaches_the_base_user(void **state)
{
	const char *aliases[] = { "list", "bob", "sales@example.test",
	    "carol", NULL };
	const char *users[] = { "alice@example.test", "bob@example.test",
	    "carol@example.test", "alice+own@example.test", NULL };
	struct fake f = { aliases, users, 0, 0 };
	struct r_expansion x;

	expand(&f, "Alice+News@example.test", &x);
	assert_targets(&x, "M:alice@example.test");
	/* The detail stays with the mailbox, for folder delivery later. */
	assert_string_equal(x.t[0].detail, "news");
	proto_r_expansion_free(&x);
	/* An exact match wins: the user alice+own exists itself. */
	expand(&f, "alice+own@example.test", &x);
	assert_targets(&x, "M:alice+own@example.test");
	assert_string_equal(x.t[0].detail, "");
	proto_r_expansion_free(&x);
	/* The base may be an alias, bare or full; the detail is dropped. */
	expand(&f, "list+x@other.test", &x);
	assert_targets(&x, "M:bob@example.test");
	assert_string_equal(x.t[0].detail, "");
	proto_r_expansion_free(&x);
	expand(&f, "sales+y@example.test", &x);
	assert_targets(&x, "M:carol@example.test");
	proto_r_expansion_free(&x);
	/* Nothing before or after the delimiter: no split. */
	expand(&f, "alice+@example.test", &x);
	assert_fails(&x, ST_PERM, "5.1.1 <alice+@example.test>: user unknown");
	expand(&f, "+alice@example.test", &x);
	assert_fails(&x, ST_PERM, "5.1.1 <+alice@example.test>: user unknown");
	/* An unknown base is as unknown as the address. */
	expand(&f, "ghost+x@example.test", &x);
	assert_fails(&x, ST_PERM, "5.1.1 <ghost+x@example.test>: user "
	    "unknown");
}

static void
test_expand_delimiter_setting(void **state)
{
	const char *users[] = { "alice@example.test", NULL };
	struct fake f = { NULL, users, 0, 0 };
	struct expand_ops ops;
	struct r_expansion x;

	memset(&ops, 0, sizeof(ops));
	ops.alias = fake_alias;
	ops.user = fake_user;
	ops.is_local = fake_is_local;
	ops.arg = &f;
	ops.default_domain = "example.test";
	/* Empty: plus addressing is off. */
	ops.delimiter = "";
	expand_address(&ops, "alice+x@example.test", &x);
	assert_int_equal(x.status, ST_PERM);
	/* Several characters: any of them splits, at the first one. */
	ops.delimiter = "-+";
	expand_address(&ops, "alice-x+y@example.test", &x);
	assert_targets(&x, "M:alice@example.test");
	assert_string_equal(x.t[0].detail, "x+y");
	proto_r_expansion_free(&x);
}

static void
test_expand_catch_all_and_domain_alias_precedence(void **state)
{
	const char *aliases[] = {
		"@example.test", "catch",
		"sales@example.test", "bob",
		"postmaster", "bob",
		"@alias.test", "@example.test",
		"info@alias.test", "carol",
		"@loop.test", "@loop2.test",
		"@loop2.test", "@loop.test",
		NULL };
	const char *users[] = { "bob@example.test", "carol@example.test",
	    "catch@example.test", "alice@example.test", NULL };
	struct fake f = { aliases, users, 0, 0 };
	struct r_expansion x;

	/* Exact alias, user, plus address: all before the catch-all. */
	expand(&f, "sales@example.test", &x);
	assert_targets(&x, "M:bob@example.test");
	proto_r_expansion_free(&x);
	expand(&f, "alice@example.test", &x);
	assert_targets(&x, "M:alice@example.test");
	proto_r_expansion_free(&x);
	expand(&f, "alice+tag@example.test", &x);
	assert_targets(&x, "M:alice@example.test");
	proto_r_expansion_free(&x);
	/* Only what would bounce goes to the catch-all. */
	expand(&f, "anything@example.test", &x);
	assert_targets(&x, "M:catch@example.test");
	proto_r_expansion_free(&x);
	/* A domain alias keeps the local part (whole) in the new domain ... */
	expand(&f, "alice@alias.test", &x);
	assert_targets(&x, "M:alice@example.test");
	proto_r_expansion_free(&x);
	expand(&f, "alice+t@alias.test", &x);
	assert_targets(&x, "M:alice@example.test");
	assert_string_equal(x.t[0].detail, "t");
	proto_r_expansion_free(&x);
	/* ... where the catch-all takes the unknown ... */
	expand(&f, "nobody@alias.test", &x);
	assert_targets(&x, "M:catch@example.test");
	proto_r_expansion_free(&x);
	/* ... after the alias domain's own exact and bare aliases. */
	expand(&f, "info@alias.test", &x);
	assert_targets(&x, "M:carol@example.test");
	proto_r_expansion_free(&x);
	expand(&f, "postmaster@alias.test", &x);
	assert_targets(&x, "M:bob@example.test");
	proto_r_expansion_free(&x);
	/* Two domains aliased onto each other loop, and fail. */
	expand(&f, "a@loop.test", &x);
	assert_fails(&x, ST_PERM, "5.4.6 <a@loop.test>: alias loop");
}

/* The trace of an expansion, one line per step, indented by depth. */
static void
trace(int depth, const char *line, void *arg)
{
	char *out = arg;
	int i;

	for (i = 0; i < depth; i++)
		strlcat(out, "  ", 4096);
	strlcat(out, line, 4096);
	strlcat(out, "\n", 4096);
}

static void
test_expand_trace_tells_each_step(void **state)
{
	const char *aliases[] = { "@alias.test", "@example.test",
	    "team@example.test", "alice, ghost, x@remote.test", NULL };
	const char *users[] = { "alice@example.test", NULL };
	struct fake f = { aliases, users, 0, 0 };
	struct expand_ops ops;
	struct r_expansion x;
	char out[4096] = "";

	memset(&ops, 0, sizeof(ops));
	ops.alias = fake_alias;
	ops.user = fake_user;
	ops.is_local = fake_is_local;
	ops.arg = &f;
	ops.default_domain = "example.test";
	ops.delimiter = "+";
	ops.trace = trace;
	ops.trace_arg = out;
	expand_address(&ops, "Team+x@alias.test", &x);
	assert_targets(&x, "M:alice@example.test R:x@remote.test");
	proto_r_expansion_free(&x);
	assert_string_equal(out,
	    "team+x@alias.test: plus address: team@alias.test, detail \"x\"\n"
	    "team+x@alias.test: catch-all @alias.test -> @example.test\n"
	    "  domain alias: team+x@example.test\n"
	    "  team+x@example.test: plus address: team@example.test, "
	    "detail \"x\"\n"
	    "  team@example.test: alias team@example.test -> alice, ghost, "
	    "x@remote.test\n"
	    "    alice@example.test: mailbox\n"
	    "    ghost@example.test: unknown (no alias, user or catch-all)\n"
	    "    x@remote.test: remote\n"
	    "team+x@alias.test: alias target ghost@example.test is unknown; "
	    "dropped\n");
}

static void
test_compiled_map_feeds_expansion(void **state)
{
	char		 err[512], val[MAP_VALUE_MAX];
	struct map	*m;
	int		 n = 0;

	assert_int_equal(compile("lists: \"|/bin/x, y\", a, b@c.test\n", 1,
	    err, sizeof(err)), 1);
	m = map_open(db);
	assert_non_null(m);
	assert_int_equal(map_get(m, "lists", val, sizeof(val)), 1);
	map_close(m);
	n = aliases_split(val, collect, (char[512]){ 0 });
	assert_int_equal(n, 3);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup_paths, teardown_paths)
	const struct CMUnitTest tests[] = {
		T(test_comments_blank_lines_and_continuations),
		T(test_names_and_targets_are_case_folded),
		T(test_bad_lines_are_reported_with_their_line),
		T(test_every_bad_line_is_reported_and_the_old_map_stays),
		T(test_catch_all_and_domain_alias_names),
		T(test_refused_forms_are_skipped),
		T(test_commands_are_admitted_only_when_allowed),
		T(test_duplicate_names_keep_the_first),
		T(test_backslash_target_is_the_plain_name),
		T(test_missing_source_is_an_error),
		T(test_too_long_target_list_is_refused),
		T(test_compiled_map_feeds_expansion),
		cmocka_unit_test(test_split_trims_and_honours_quotes),
		cmocka_unit_test(test_expand_user_and_remote),
		cmocka_unit_test(
		    test_expand_full_key_wins_and_bare_targets_are_the_default_domain),
		cmocka_unit_test(test_expand_self_reference_is_the_mailbox),
		cmocka_unit_test(
		    test_expand_loop_alone_fails_and_beside_others_is_dropped),
		cmocka_unit_test(test_expand_duplicates_are_delivered_once),
		cmocka_unit_test(test_expand_depth_is_limited),
		cmocka_unit_test(test_expand_postmaster_rules),
		cmocka_unit_test(test_expand_map_error_is_temporary),
		cmocka_unit_test(test_expand_too_many_targets),
		cmocka_unit_test(test_expand_commands_and_unknown_targets),
		cmocka_unit_test(test_expand_plus_address_reaches_the_base_user),
		cmocka_unit_test(test_expand_delimiter_setting),
		cmocka_unit_test(
		    test_expand_catch_all_and_domain_alias_precedence),
		cmocka_unit_test(test_expand_trace_tells_each_step),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
