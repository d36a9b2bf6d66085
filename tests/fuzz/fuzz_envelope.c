/*
 * fuzz_envelope.c - fuzz target: the queue envelope reader
 * (libcommon/envelope.c, env_parse).
 *
 * Envelopes come back from disk (queue/ID.env, the copy embedded in each
 * queue file) and, through Q_CTL_ENTRY, to the CLI; values in them are
 * chosen by remote senders and servers. Beyond "no crash", an envelope
 * that parses must write out and parse back to the same record, and its
 * written form must be a fixed point: what env_write emits is what
 * env_parse reads.
 */
#include <string.h>

#include "envelope.h"
#include "fuzz.h"

static int
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static void
env_check_same(const struct envelope *a, const struct envelope *b)
{
	size_t i;

	FUZZ_CHECK(strcmp(a->id, b->id) == 0);
	FUZZ_CHECK(a->created == b->created);
	FUZZ_CHECK(str_eq(a->sender, b->sender));
	FUZZ_CHECK(str_eq(a->origin, b->origin));
	FUZZ_CHECK(str_eq(a->client, b->client));
	FUZZ_CHECK(str_eq(a->helo, b->helo));
	FUZZ_CHECK(a->is_bounce == b->is_bounce);
	FUZZ_CHECK(a->body == b->body && a->smtputf8 == b->smtputf8 &&
	    a->ret == b->ret);
	FUZZ_CHECK(str_eq(a->envid, b->envid));
	FUZZ_CHECK(str_eq(a->auth, b->auth));
	FUZZ_CHECK(a->held == b->held && a->requeued == b->requeued);
	FUZZ_CHECK(a->nrcpt == b->nrcpt);
	for (i = 0; i < a->nrcpt; i++) {
		FUZZ_CHECK(str_eq(a->rcpt[i].addr, b->rcpt[i].addr));
		FUZZ_CHECK(str_eq(a->rcpt[i].orcpt, b->rcpt[i].orcpt));
		FUZZ_CHECK(a->rcpt[i].state == b->rcpt[i].state);
		FUZZ_CHECK(a->rcpt[i].tries == b->rcpt[i].tries);
		FUZZ_CHECK(a->rcpt[i].next_try == b->rcpt[i].next_try);
		FUZZ_CHECK(a->rcpt[i].final == b->rcpt[i].final);
		FUZZ_CHECK(str_eq(a->rcpt[i].reason, b->rcpt[i].reason));
		FUZZ_CHECK(a->rcpt[i].notify == b->rcpt[i].notify);
		FUZZ_CHECK(a->rcpt[i].dsn_sent == b->rcpt[i].dsn_sent);
		FUZZ_CHECK(str_eq(a->rcpt[i].dsn_orcpt, b->rcpt[i].dsn_orcpt));
		FUZZ_CHECK(str_eq(a->rcpt[i].mta, b->rcpt[i].mta));
		FUZZ_CHECK(str_eq(a->rcpt[i].diag, b->rcpt[i].diag));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope	 e, e2;
	struct buf	 w, w2;
	char		 err[256];
	size_t		 i;

	err[0] = '\0';
	if (env_parse((const char *)data, size, &e, err, sizeof(err)) == -1) {
		/* A refusal says why, and leaves nothing allocated. */
		FUZZ_CHECK(err[0] != '\0');
		FUZZ_CHECK(e.nrcpt == 0 && e.rcpt == NULL && e.sender == NULL);
		return 0;
	}
	FUZZ_CHECK(e.sender != NULL && e.origin != NULL && e.client != NULL &&
	    e.helo != NULL);
	for (i = 0; i < e.nrcpt; i++)
		FUZZ_CHECK(strcmp(env_state_name(e.rcpt[i].state), "?") != 0);
	(void)env_all_final(&e);

	buf_init(&w, 0);
	FUZZ_CHECK(env_write(&e, &w) == 0);
	/* Escaping keeps every control byte out of the values. */
	for (i = 0; i < w.len; i++)
		FUZZ_CHECK((unsigned char)w.data[i] >= 0x20 ||
		    w.data[i] == '\n' || w.data[i] == '\t');
	FUZZ_CHECK(env_parse(w.data, w.len, &e2, err, sizeof(err)) == 0);
	env_check_same(&e, &e2);
	buf_init(&w2, 0);
	FUZZ_CHECK(env_write(&e2, &w2) == 0);
	FUZZ_CHECK(w.len == w2.len && memcmp(w.data, w2.data, w.len) == 0);

	/* Dropping recipients one by one keeps the record writable. */
	while (e2.nrcpt > 0) {
		env_del_rcpt(&e2, e2.nrcpt / 2);
		buf_reset(&w2);
		FUZZ_CHECK(env_write(&e2, &w2) == 0);
	}
	buf_free(&w);
	buf_free(&w2);
	env_free(&e);
	env_free(&e2);
	return 0;
}
