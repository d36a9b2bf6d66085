/*
 * fuzz_mailhdr.c - fuzz target: the sendmail injector's reading of a
 * message and its header parser (cli/sm_msg.c, cli/mailhdr.c): input
 * cleanup (CRLF, "From " line, the "." line), header splitting, address
 * list extraction for -t, and the header sendmail queues.
 *
 * The message comes from any local program, so it is untrusted. The
 * first input byte picks sendmail's options (-i, -t); the rest is the
 * message on standard input, fed in two pieces. Beyond "no crash": every
 * field lies inside the header section, the section written back is the
 * fields' raw bytes, and every address the list parser returns fits
 * ADDR_MAX.
 */
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "mailhdr.h"
#include "sendmail.h"

static void
check_list(const char *value)
{
	struct mailhdr_addrs	 a = { 0, NULL };
	struct mailaddr		 ma;
	char			 err[128], full[ADDR_MAX + 1];
	size_t			 i;

	err[0] = '\0';
	if (mailhdr_addrlist(value, &a, err, sizeof(err)) == -1) {
		FUZZ_CHECK(err[0] != '\0');
		mailhdr_addrs_free(&a);
		return;
	}
	for (i = 0; i < a.n; i++) {
		FUZZ_CHECK(a.v[i][0] != '\0');
		FUZZ_CHECK(strlen(a.v[i]) <= ADDR_MAX);
		/* What sendmail does with each (sendmail.c, sm_add_list). */
		if (sm_addr_complete(a.v[i], "example.org", full,
		    sizeof(full)) == 0)
			(void)addr_parse(full, &ma, 0);
	}
	mailhdr_addrs_free(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sm_input		 in;
	struct mailhdr		 h;
	struct mailhdr_addrs	 rcpt = { 0, NULL };
	struct sm_stamp		 st;
	struct buf		 out;
	const char		*msg;
	char			 err[256];
	size_t			 i, half, len;
	int			 rc;

	if (size == 0)
		return 0;
	sm_input_init(&in, 1024 * 1024, data[0] & 1);
	data++;
	size--;
	half = size / 2;
	rc = sm_input_feed(&in, (const char *)data, half);
	if (rc == 0)
		rc = sm_input_feed(&in, (const char *)data + half,
		    size - half);
	if (rc == 0)
		rc = sm_input_finish(&in);
	if (rc == -1) {
		sm_input_free(&in);
		return 0;
	}
	msg = in.msg.data != NULL ? in.msg.data : "";
	len = in.msg.len;
	/* Stored lines end in LF alone, and no "." line is among them. */
	FUZZ_CHECK(len == 0 || msg[len - 1] == '\n');

	err[0] = '\0';
	if (mailhdr_parse(msg, len, &h, err, sizeof(err)) == -1) {
		FUZZ_CHECK(err[0] != '\0');
		FUZZ_CHECK(h.n == 0 && h.f == NULL);
		sm_input_free(&in);
		return 0;
	}
	FUZZ_CHECK(h.body_off <= len);
	for (i = 0; i < h.n; i++) {
		const struct mailhdr_field *f = &h.f[i];

		FUZZ_CHECK(f->len > 0 && f->off + f->len <= h.body_off);
		FUZZ_CHECK(i == 0 || f->off == h.f[i - 1].off +
		    h.f[i - 1].len);
		FUZZ_CHECK(f->name[0] != '\0' &&
		    strlen(f->name) <= MAILHDR_NAME_MAX);
		FUZZ_CHECK(strncmp(msg + f->off, f->name,
		    strlen(f->name)) == 0);
		FUZZ_CHECK(strchr(f->value, '\n') == NULL);
		check_list(f->value);
	}
	if (h.n > 0)
		FUZZ_CHECK(h.f[0].off == 0);

	err[0] = '\0';
	if (sm_header_recipients(&h, &rcpt, err, sizeof(err)) == -1)
		FUZZ_CHECK(err[0] != '\0');
	for (i = 0; i < rcpt.n; i++)
		FUZZ_CHECK(strlen(rcpt.v[i]) <= ADDR_MAX);
	mailhdr_addrs_free(&rcpt);

	/* Without deletions, the section written back is the raw fields. */
	buf_init(&out, 0);
	FUZZ_CHECK(mailhdr_write(&h, msg, &out) == 0);
	if (h.n > 0)
		FUZZ_CHECK(out.len == h.f[h.n - 1].off + h.f[h.n - 1].len &&
		    memcmp(out.data, msg, out.len) == 0);
	buf_reset(&out);

	memset(&st, 0, sizeof(st));
	st.myhostname = "mx.example.org";
	st.qid = "0123456789ABCDEF";
	st.now = 1700000000;	/* a fixed time: runs must repeat */
	st.sender = (data[-1] & 2) ? "" : "user@example.org";
	st.fullname = (data[-1] & 4) ? "A \"Quoted\" \\ Name" : NULL;
	FUZZ_CHECK(sm_header_build(&h, msg, &st, &out) == 0);
	FUZZ_CHECK(out.len > 0 && out.data[out.len - 1] == '\n');
	FUZZ_CHECK(mailhdr_find(&h, "Bcc") == NULL &&
	    mailhdr_find(&h, "Resent-Bcc") == NULL);
	buf_free(&out);
	mailhdr_free(&h);
	sm_input_free(&in);
	return 0;
}
