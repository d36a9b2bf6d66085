"""Relay policy for every address form: clients in mynetworks may send
anywhere; everyone else only to local domains. Postern routes by none of
the old forms (percent hack, bang path, quoted "user@remote" local part),
but the next MTA might, so from outside mynetworks smtpd refuses them with
554 5.7.1, as Postfix does; source routes are dropped (the mailbox after
them decides); address literals are not local unless listed in
local_domains. The domain has a catch-all, which would otherwise take
user%remote@here without a word.

mynetworks is 127.0.0.1/32: the test connects from 127.0.0.2 as an
outsider, and from 127.0.0.1 as an insider."""
import smtplib

import pytest

OUTSIDE, INSIDE = "127.0.0.2", "127.0.0.1"


@pytest.fixture
def relay_suite(suite_factory):
    s = suite_factory("mynetworks = 127.0.0.1/32\n")
    for u in ("alice@example.test", "admin@example.test"):
        s.postern("user", "add", u)
    s.aliases.write_text(s.aliases.read_text() + "@example.test: admin\n")
    s.postern("alias")
    s.start()
    return s


def rcpt_codes(s, source, rcpts):
    """{rcpt: (code, text)} for each RCPT in one transaction from source."""
    out = {}
    with smtplib.SMTP("127.0.0.1", s.port, timeout=30,
                      source_address=(source, 0)) as c:
        c.ehlo("client.test")
        assert c.mail("sender@remote.test")[0] == 250
        for r in rcpts:
            out[r] = c.docmd(f"RCPT TO:<{r}>")
        c.rset()
    return out


ROUTED = [
    "alice%remote.test@example.test",       # percent hack
    "remote.test!alice@example.test",       # bang path
    '"alice@remote.test"@example.test',     # quoted local part
    '"alice%remote.test"@example.test',
    "@example.test:bob@remote.test",        # source route to a remote box
    "@a.example.test,@example.test:bob@remote.test",
    "alice@[127.0.0.1]",                    # address literals
    "alice@[IPv6:::1]",
    "bob@remote.test",
]


def test_outsiders_reach_no_remote_address_in_any_form(relay_suite):
    got = rcpt_codes(relay_suite, OUTSIDE, ROUTED + [
        "alice@example.test", "ALICE@Example.TEST"])
    for r in ROUTED:
        code, text = got[r]
        assert code == 554 and b"5.7.1" in text and \
            b"Relay access denied" in text, (r, code, text)
    assert got["alice@example.test"][0] == 250
    assert got["ALICE@Example.TEST"][0] == 250
    log = relay_suite.log_text()
    assert "reject: RCPT from" in log and "Relay access denied" in log


def test_source_route_to_a_local_mailbox_is_delivered_here(relay_suite):
    # RFC 5321 appendix C: the route is ignored; alice@example.test is
    # ours, so the mail stays here whatever the route named.
    with smtplib.SMTP("127.0.0.1", relay_suite.port, timeout=30,
                      source_address=(OUTSIDE, 0)) as c:
        c.ehlo("client.test")
        assert c.mail("sender@remote.test")[0] == 250
        assert c.docmd("RCPT TO:<@remote.test,@other.test:"
                       "alice@example.test>")[0] == 250
        assert c.data(b"Subject: routed\r\n\r\nbody\r\n")[0] == 250
    [m] = relay_suite.wait_messages("alice@example.test", 1)
    assert b"Subject: routed" in m.read_bytes()
    relay_suite.wait_queue_empty()


def test_mynetworks_may_send_anywhere(relay_suite):
    got = rcpt_codes(relay_suite, INSIDE, [
        "bob@remote.test", "alice@[127.0.0.1]",
        "alice%remote.test@example.test"])
    assert got["bob@remote.test"][0] == 250
    assert got["alice@[127.0.0.1]"][0] == 250
    # Not routed by us: a local address like any other (the catch-all).
    assert got["alice%remote.test@example.test"][0] == 250


def test_syntax_that_is_no_address_is_501_not_relayed(relay_suite):
    got = rcpt_codes(relay_suite, OUTSIDE, [
        "alice@remote.test@example.test", "alice@example.test.",
        "@remote.test:", "alice@[999.1.1.1]"])
    for r, (code, text) in got.items():
        assert code in (501, 554), (r, code, text)
        assert code != 250
