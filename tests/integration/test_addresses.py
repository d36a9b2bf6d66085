"""Addresses for hosting, end to end: catch-all and domain aliases,
plus addressing (recipient_delimiter), the shipped aliases in an added
domain, RCPT refusing an alias that leads nowhere, every bad alias line
reported, a user with an apostrophe (added, delivered to, logged in over
POP3), and "postern address" / "sendmail -bv" telling where mail goes.
Mail goes in through real clients (smtplib, poplib); every wait polls a
condition with a deadline."""
import os
import pathlib
import poplib
import smtplib
import subprocess

import pytest

from conftest import wait_until

REPO = pathlib.Path(__file__).resolve().parents[2]
MSG = b"From: s@remote.test\r\nSubject: %s\r\n\r\nbody\r\n"


def send(suite, rcpts, subject=b"hi"):
    with smtplib.SMTP("127.0.0.1", suite.port, timeout=30) as c:
        return c.sendmail("s@remote.test", rcpts, MSG % subject)


def subjects(suite, addr):
    return sorted(m.read_bytes().split(b"Subject: ", 1)[1].split(b"\n")[0]
                  for m in suite.messages(addr))


@pytest.fixture
def hosting(suite_factory):
    """example.test with users and a catch-all; alias.test a domain alias
    of it."""
    s = suite_factory("local_domains = example.test, localhost, alias.test")
    for u in ("alice@example.test", "bob@example.test", "admin@example.test",
              "bob+lists@example.test"):
        s.postern("user", "add", u)
    s.aliases.write_text(s.aliases.read_text() +
                         "sales@example.test: bob\n"
                         "@example.test: admin\n"
                         "@alias.test: @example.test\n"
                         "info@alias.test: alice\n")
    s.postern("alias")
    s.start()
    return s


def test_plus_address_goes_to_the_user_and_an_existing_one_wins(hosting):
    s = hosting
    send(s, ["alice+news@example.test"], b"plus")
    send(s, ["bob+lists@example.test"], b"own mailbox")
    send(s, ["bob+other@example.test"], b"bob's")
    s.wait_messages("alice@example.test", 1)
    s.wait_messages("bob+lists@example.test", 1)
    s.wait_messages("bob@example.test", 1)
    s.wait_queue_empty()
    assert subjects(s, "alice@example.test") == [b"plus"]
    # user+tag that exists itself is an exact match: its own mailbox.
    assert subjects(s, "bob+lists@example.test") == [b"own mailbox"]
    assert subjects(s, "bob@example.test") == [b"bob's"]
    # Plus addressing, not the catch-all, took them.
    assert s.messages("admin@example.test") == []


def test_plus_addressing_off_with_an_empty_delimiter(suite_factory):
    s = suite_factory("recipient_delimiter =")
    s.postern("user", "add", "alice@example.test")
    s.postern("alias")
    s.start()
    with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
        send(s, ["alice+news@example.test"])
    assert e.value.recipients["alice+news@example.test"][0] == 550


def test_plus_address_edges_at_rcpt(suite):
    """Odd plus addresses get a plain answer, never a crash or a wrong
    mailbox: nothing before or after the delimiter is no plus address, a
    quoted local part is not split into a user, and the longest local
    part RFC 5321 allows still reaches its user."""
    longest = "alice+" + "x" * 58 + "@example.test"     # 64 before the @
    with smtplib.SMTP("127.0.0.1", suite.port, timeout=30) as c:
        c.ehlo("client.test")
        assert c.mail("s@remote.test")[0] == 250
        for rcpt in ("+@example.test", "alice+@example.test",
                     "+alice@example.test", '"alice+x"@example.test',
                     "ghost+alice@example.test"):
            code, text = c.rcpt(rcpt)
            assert code == 550 and b"User unknown" in text, (rcpt, text)
        assert c.rcpt(longest)[0] == 250
        assert c.rcpt("alice+" + "x" * 59 + "@example.test")[0] == 501
        assert c.rcpt("alice++@example.test")[0] == 250
        c.rset()
    send(suite, [longest, "alice++@example.test"], b"edges")
    suite.wait_messages("alice@example.test", 1)
    suite.wait_queue_empty()
    # Two addresses, one mailbox: one copy.
    assert subjects(suite, "alice@example.test") == [b"edges"]


def test_catch_all_takes_only_what_would_bounce(hosting):
    s = hosting
    send(s, ["nobody@example.test", "alice@example.test",
             "sales@example.test"], b"mixed")
    s.wait_messages("admin@example.test", 1)
    s.wait_messages("alice@example.test", 1)
    s.wait_messages("bob@example.test", 1)
    s.wait_queue_empty()
    # One copy each: the exact alias and the user were not caught.
    assert len(s.messages("admin@example.test")) == 1
    assert len(s.messages("alice@example.test")) == 1


def test_domain_alias_delivers_into_the_other_domain(hosting):
    s = hosting
    send(s, ["alice@alias.test"], b"via domain alias")
    send(s, ["alice+x@alias.test"], b"plus via domain alias")
    send(s, ["info@alias.test"], b"own alias first")
    send(s, ["ghost@alias.test"], b"caught")
    s.wait_messages("alice@example.test", 3)
    s.wait_messages("admin@example.test", 1)
    s.wait_queue_empty()
    assert subjects(s, "alice@example.test") == [
        b"own alias first", b"plus via domain alias", b"via domain alias"]
    assert subjects(s, "admin@example.test") == [b"caught"]
    # Nothing was made for the alias domain itself.
    assert not (s.store / "alias.test").exists()


def test_shipped_aliases_deliver_postmaster_and_abuse_of_an_added_domain(
        suite_factory):
    """The shipped etc/aliases, the shipped defaults (myhostname =
    localhost), the README's demo user, and one more domain: postmaster@
    and abuse@ of the added domain reach the demo user, and check is
    quiet about them."""
    s = suite_factory("myhostname = localhost\n"
                      "local_domains = localhost, added.test")
    s.aliases.write_text((REPO / "etc" / "aliases").read_text())
    s.postern("user", "add", "demo@localhost")
    s.postern("alias")
    r = s.postern("check", check=False)
    assert "postmaster@" not in r.stderr and "abuse@" not in r.stderr, \
        r.stderr
    s.start()
    assert send(s, ["postmaster@added.test", "abuse@added.test"],
                b"to the postmaster") == {}
    s.wait_messages("demo@localhost", 1)
    s.wait_queue_empty()
    # Both lead to one mailbox: one copy.
    assert subjects(s, "demo@localhost") == [b"to the postmaster"]
    assert not (s.store / "added.test").exists()


def test_check_warns_when_postmaster_of_a_domain_bounces(suite_factory):
    s = suite_factory()
    s.aliases.write_text("postmaster: root\nroot: nobody-here\n")
    s.postern("alias")
    r = s.postern("check", check=False)
    for d in ("example.test", "localhost"):
        assert (f"warning: postmaster@{d} does not reach a mailbox: 5.1.1 "
                f"<postmaster@{d}>: alias has no deliverable target"
                in r.stderr), r.stderr
    assert "alias root leads nowhere" in r.stderr


def test_check_warns_about_aliases_of_domains_that_are_not_local(suite):
    suite.aliases.write_text(suite.aliases.read_text() +
                             "@alias.test: @example.test\n"
                             "sales@elsewhere.test: bob\n")
    suite.postern("alias")
    r = suite.postern("check", check=False)
    assert ("warning: alias @alias.test is never used: alias.test is not "
            "in local_domains") in r.stderr, r.stderr
    assert ("warning: alias sales@elsewhere.test is never used: "
            "elsewhere.test is not in local_domains") in r.stderr


def test_rcpt_refuses_an_alias_that_leads_nowhere(suite):
    suite.aliases.write_text(suite.aliases.read_text() +
                             "broken: ghost@example.test\n"
                             "loop1: loop2\nloop2: loop1\n"
                             "half: alice, ghost\n")
    suite.postern("alias")
    with smtplib.SMTP("127.0.0.1", suite.port, timeout=30) as c:
        c.ehlo("client.test")
        assert c.mail("s@remote.test")[0] == 250
        code, text = c.rcpt("broken@example.test")
        assert (code, text) == (550, b"5.1.1 <broken@example.test>: alias "
                                b"has no deliverable target")
        # The refusal does not name what is behind the alias.
        assert b"ghost" not in text
        assert c.rcpt("loop1@example.test") == (
            550, b"5.4.6 <loop1@example.test>: alias loop")
        # A plain unknown user keeps the usual wording.
        code, text = c.rcpt("ghost@example.test")
        assert code == 550 and b"User unknown in local recipient table" \
            in text
        # An alias with one deliverable target is accepted.
        assert c.rcpt("half@example.test")[0] == 250
        c.rset()
        # Every recipient refused: nothing is queued.
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            c.sendmail("s@remote.test", ["broken@example.test"], MSG % b"x")
    assert suite.queue_files() == []
    assert "NOQUEUE: reject: RCPT" in suite.log_text()
    send(suite, ["half@example.test"], b"half")
    suite.wait_messages("alice@example.test", 1)
    suite.wait_queue_empty()


def test_every_bad_alias_line_is_reported_and_the_old_map_kept(suite):
    good = suite.aliases.read_text() + "sales: bob\n"
    suite.aliases.write_text(good)
    suite.postern("alias")
    suite.aliases.write_text(good.replace("sales: bob", "sales: alice") +
                             "no colon\n"
                             "@bad..domain: x\n"
                             "ok@example.test: bob\n"
                             "t: a b@\n")
    r = suite.postern("alias", check=False)
    assert r.returncode == 1
    n = len(good.splitlines())
    for line, what in ((n + 1, "expected \"name: target, ...\""),
                       (n + 2, "bad alias name \"@bad..domain\""),
                       (n + 4, "bad target address \"a b@\"")):
        assert f"postern: error: {suite.aliases}:{line}: " in r.stderr, \
            r.stderr
        assert what in r.stderr
    assert "3 errors" in r.stderr and "was not changed" in r.stderr
    # The old map still answers: sales is still bob's, ok@ does not exist.
    out = suite.postern("address", "sales@example.test").stdout
    assert "mailbox bob@example.test" in out, out
    r = suite.postern("address", "ok@example.test", check=False)
    assert r.returncode == 1 and "bounced: 5.1.1" in r.stdout


def test_apostrophe_user_is_added_delivered_to_and_logs_in(suite):
    user = "o'brien@example.test"
    suite.postern("user", "add", user, "--password-stdin",
                  input="irish 42\n")
    # A shell wildcard is still refused, and the error says why.
    r = suite.postern("user", "add", "a*b@example.test", check=False)
    assert r.returncode != 0 and "shell" in r.stderr, r.stderr
    send(suite, ["O'Brien@example.test"], b"for o'brien")
    [m] = suite.wait_messages(user, 1)
    assert (suite.store / "example.test" / "o'brien" / "Maildir").is_dir()
    suite.wait_queue_empty()
    wait_until(lambda: _pop3_greets(suite), 20, what="pop3d to greet")
    p = poplib.POP3("127.0.0.1", suite.pop3_port, timeout=30)
    try:
        p.user(user)
        assert p.pass_("irish 42").startswith(b"+OK")
        assert p.stat()[0] == 1
        assert b"Subject: for o'brien" in b"\n".join(p.retr(1)[1])
    finally:
        p.quit()


def _pop3_greets(suite):
    try:
        p = poplib.POP3("127.0.0.1", suite.pop3_port, timeout=2)
    except OSError:
        return False
    p.quit()
    return True


def test_postern_address_shows_each_step_and_the_maildir(hosting):
    s = hosting
    r = s.postern("address", "Alice+News@alias.test")
    assert r.stdout.splitlines() == [
        "Alice+News@alias.test",
        "  alice+news@alias.test: plus address: alice@alias.test, "
        "detail \"news\"",
        "  alice+news@alias.test: catch-all @alias.test -> @example.test",
        "    domain alias: alice+news@example.test",
        "    alice+news@example.test: plus address: alice@example.test, "
        "detail \"news\"",
        "    alice@example.test: mailbox (detail \"news\")",
        "delivered to:",
        f"  mailbox alice@example.test: {s.store}/example.test/alice/Maildir"
        " (detail \"news\": delivered to the inbox; delivery into a folder "
        "of that name is not implemented yet)",
    ]
    r = s.postern("address", "postmaster@alias.test", "x@remote.test")
    assert "  postmaster@alias.test: alias postmaster -> root" in r.stdout
    assert "  mailbox admin@example.test: " in r.stdout
    assert "  remote x@remote.test" in r.stdout
    s.aliases.write_text(s.aliases.read_text() + "dead: ghost@localhost\n")
    s.postern("alias")
    r = s.postern("address", "dead@example.test", check=False)
    assert r.returncode == 1
    assert "ghost@localhost: unknown (no alias, user or catch-all)" \
        in r.stdout
    assert r.stdout.splitlines()[-1] == \
        "bounced: 5.1.1 <dead@example.test>: alias has no deliverable target"


def test_sendmail_bv_verifies_in_sendmail_style(hosting):
    s = hosting
    s.aliases.write_text(s.aliases.read_text() + "dead: ghost@localhost\n")
    s.postern("alias")
    r = s.sendmail("-bv", "sales@example.test", "x@remote.test", check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().splitlines() == [
        "sales@example.test... deliverable: mailer local, user "
        "bob@example.test",
        "x@remote.test... deliverable: mailer esmtp, host remote.test, "
        "user x@remote.test"]
    r = s.sendmail("-bv", "dead@example.test", check=False)
    assert r.returncode == 67   # EX_NOUSER
    assert r.stdout.decode() == ("dead@example.test... 5.1.1 "
                                 "<dead@example.test>: alias has no "
                                 "deliverable target\n")
    # Nothing was queued: -bv reads no message and submits nothing.
    assert s.queue_files() == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run as nobody")
def test_sendmail_bv_as_an_ordinary_user_is_told_why_not(suite):
    """users.db holds password hashes: an ordinary user cannot read it,
    so -bv says so (77) instead of guessing from the aliases alone."""
    env = dict(os.environ, POSTERN_CONFIG=str(suite.conf))
    r = subprocess.run([str(suite.bin_for_others("sendmail")), "-bv",
                        "alice@example.test"], capture_output=True,
                       env=env, user="nobody", timeout=60)
    assert r.returncode == 77, r
    assert b"users.db: Permission denied" in r.stderr
    assert r.stdout == b""
