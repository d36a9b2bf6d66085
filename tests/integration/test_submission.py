"""SMTP AUTH and submission (RFC 4954, 6409, 8314), driven by real
clients (smtplib, swaks, curl): AUTH only under TLS outside
plaintext_auth_networks, submission and smtps requiring a login, relay for
logins, the sender a login may use (553 5.7.1), wrong passwords paced
with POP3's, the per-account limits (451 4.7.1) and postern auth limits,
ESMTPSA and the log lines fail2ban reads."""
import base64
import poplib
import re
import smtplib
import subprocess

import pytest

from conftest import free_port, wait_until
from test_tls import client_ctx, received, tls_listeners

ALICE, BOB = "alice@example.test", "bob@example.test"
PASSWORD = "submission-pw-1"
BOB_PASSWORD = "submission-pw-2"


def make_suite(suite_factory, extra=""):
    s = suite_factory("")
    senders = s.root / "sender_logins"
    senders.write_text("# grants\nceo@example.test  alice@example.test\n"
                       "@partner.test alice@example.test\n")
    tls_listeners(s, f"sender_login_map = {senders}\n"
                  "auth_failure_delay = 0s\n" + extra)
    s.postern("setup")
    for u, pw in ((ALICE, PASSWORD), (BOB, BOB_PASSWORD)):
        s.postern("user", "add", u)
        s.postern("user", "passwd", u, "--stdin", input=pw + "\n")
    s.aliases.write_text(s.aliases.read_text() +
                         "sales@example.test: alice, bob\n"
                         "team@example.test: bob\n")
    s.postern("alias")
    s.start()
    return s


@pytest.fixture
def sub(suite_factory):
    return make_suite(suite_factory)


def submission(s, user=ALICE, password=PASSWORD):
    """A logged-in submission session on 587, under STARTTLS."""
    c = smtplib.SMTP("127.0.0.1", s.sub_port, timeout=30)
    c.ehlo("client.test")
    c.starttls(context=client_ctx())
    c.ehlo("client.test")
    c.login(user, password)
    return c


def envelope_of(s, qid):
    """The envelope's text: the rewritten ID.env, else the one queued
    appended to the message file at commit."""
    env = s.spool / "queue" / f"{qid}.env"
    if env.exists():
        return env.read_text()
    return (s.spool / "queue" / qid).read_bytes().decode("latin-1")


def test_submission_with_starttls_login_relays_and_records_the_login(sub):
    s = sub
    with submission(s) as c:
        assert c.mail(ALICE)[0] == 250
        # A login may relay: another domain's recipient is taken.
        assert c.rcpt("someone@remote.test")[0] == 250
        assert c.rcpt(BOB)[0] == 250
        code, msg = c.data(b"Subject: sub\r\n\r\nvia 587\r\n")
        assert code == 250, msg
        qid = re.search(rb"queued as (\w+)", msg).group(1).decode()
    [m] = s.wait_messages(BOB, 1)
    assert "with ESMTPSA id" in received(m)
    # Postfix's default: the login is not in the header.
    assert ALICE not in received(m)
    log = s.log_text()
    assert re.search(rf"{qid}: client=unknown\[127\.0\.0\.1\], "
                     rf"sasl_method=PLAIN, sasl_username={ALICE}", log), log
    # The envelope (version 2) keeps the login while the remote
    # recipient waits (this suite has no DNS).
    wait_until(lambda: qid in s.committed(), 10, what="the message queued")
    assert f"\nauth {ALICE}\n" in envelope_of(s, qid)


def test_smtps_with_smtp_ssl_and_authenticated_header(suite_factory):
    s = make_suite(suite_factory, "smtpd_sasl_authenticated_header = yes\n")
    with smtplib.SMTP_SSL("127.0.0.1", s.smtps_port, timeout=30,
                          context=client_ctx()) as c:
        c.ehlo("client.test")
        assert "PLAIN" in c.esmtp_features["auth"]
        c.login(ALICE, PASSWORD)
        c.sendmail(ALICE, [BOB], b"Subject: 465\r\n\r\nimplicit\r\n")
    [m] = s.wait_messages(BOB, 1)
    assert f"(Authenticated sender: {ALICE})" in received(m)
    assert "with ESMTPSA id" in received(m)


def test_submission_and_smtps_refuse_mail_without_login(sub):
    s = sub
    with smtplib.SMTP("127.0.0.1", s.sub_port, timeout=30) as c:
        c.starttls(context=client_ctx())
        c.ehlo("client.test")
        assert c.mail(ALICE) == (530, b"5.7.0 Authentication required")
    with smtplib.SMTP_SSL("127.0.0.1", s.smtps_port, timeout=30,
                          context=client_ctx()) as c:
        c.ehlo("client.test")
        assert c.mail(ALICE)[0] == 530
    assert s.messages(BOB) == []


def test_auth_needs_tls_outside_plaintext_auth_networks(suite_factory):
    # 127.0.0.1 is not a network where passwords may go in clear.
    s = make_suite(suite_factory,
                   "plaintext_auth_networks = 127.0.0.200/32\n")
    with smtplib.SMTP("127.0.0.1", s.sub_port, timeout=30) as c:
        c.ehlo("client.test")
        assert not c.has_extn("auth")
        plain = base64.b64encode(f"\0{ALICE}\0{PASSWORD}".encode()).decode()
        assert c.docmd("AUTH", f"PLAIN {plain}") == (
            530, b"5.7.0 Must issue a STARTTLS command first")
        c.starttls(context=client_ctx())
        c.ehlo("client.test")
        assert c.has_extn("auth")
        c.login(ALICE, PASSWORD)
    # The password sent in clear is in no log line.
    assert PASSWORD not in s.log_text()


def test_default_plaintext_auth_networks_allow_loopback(sub):
    s = sub
    with smtplib.SMTP("127.0.0.1", s.sub_port, timeout=30) as c:
        c.ehlo("client.test")
        assert c.has_extn("auth")
        c.login(ALICE, PASSWORD)
        c.sendmail(ALICE, [BOB], b"Subject: plain\r\n\r\nloopback\r\n")
    [m] = s.wait_messages(BOB, 1)
    assert "with ESMTPA id" in received(m)


def test_port_25_auth_is_off_by_default_and_relay_needs_a_login(
        suite_factory):
    s = make_suite(suite_factory, "mynetworks = 127.0.0.200/32\n")
    with smtplib.SMTP("127.0.0.1", s.port, timeout=30) as c:
        c.starttls(context=client_ctx())
        c.ehlo("client.test")
        assert not c.has_extn("auth")
        assert c.docmd("AUTH", "PLAIN =")[0] == 503
        c.mail("x@remote.test")
        assert c.rcpt("y@elsewhere.test") == (
            554, b"5.7.1 <y@elsewhere.test>: Relay access denied")
    s2 = make_suite(suite_factory, "mynetworks = 127.0.0.200/32\n"
                    "smtpd_auth_enable = yes\n")
    with smtplib.SMTP("127.0.0.1", s2.port, timeout=30) as c:
        c.starttls(context=client_ctx())
        c.ehlo("client.test")
        c.mail("x@remote.test")
        assert c.rcpt("y@elsewhere.test")[0] == 554
        c.rset()
        c.login(ALICE, PASSWORD)
        c.mail(ALICE)
        assert c.rcpt("y@elsewhere.test")[0] == 250


def test_swaks_and_curl_submit_with_auth(sub, tmp_path):
    s = sub
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port",
                        str(s.sub_port), "--tls", "--auth", "LOGIN",
                        "--auth-user", ALICE, "--auth-password", PASSWORD,
                        "--from", ALICE, "--to", BOB, "--helo", "swaks.test",
                        "--timeout", "30"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "235 2.7.0 Authentication successful" in r.stdout
    mail = tmp_path / "m.txt"
    mail.write_text("Subject: curl\r\n\r\nsubmitted by curl\r\n")
    r = subprocess.run(["curl", "-sS", "--ssl-reqd", "-k",
                        f"smtp://127.0.0.1:{s.sub_port}",
                        "--user", f"{ALICE}:{PASSWORD}",
                        "--mail-from", ALICE, "--mail-rcpt", BOB,
                        "-T", str(mail), "--max-time", "30"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    s.wait_messages(BOB, 2)


def test_a_wrong_password_is_535_logged_for_fail2ban_and_paced_with_pop3(
        suite_factory):
    s = make_suite(suite_factory, "auth_failure_limit = 3\n"
                   f"pop3_listen = 127.0.0.1:{free_port()}\n")
    for _ in range(3):
        with submission_tls(s) as c:
            # One attempt each (login() would try PLAIN, then LOGIN).
            c.user, c.password = ALICE, "wrong-password"
            with pytest.raises(smtplib.SMTPAuthenticationError) as e:
                c.auth("PLAIN", c.auth_plain)
            assert e.value.smtp_code == 535
            assert e.value.smtp_error.startswith(b"5.7.8 ")
    log = s.log_text()
    # fail2ban's postfix-sasl filter: "[HOST]: SASL PLAIN authentication
    # failed:"; the password never appears.
    assert len(re.findall(r"warning: unknown\[127\.0\.0\.1\]: SASL "
                          r"PLAIN authentication failed: "
                          r"authentication failure, sasl_username="
                          + re.escape(ALICE), log)) == 3, log
    assert "wrong-password" not in log
    # The address is blocked now: the right password gets a 454 ...
    with submission_tls(s) as c:
        c.user, c.password = ALICE, PASSWORD
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            c.auth("PLAIN", c.auth_plain)
        assert e.value.smtp_code == 454
    # ... and so does a POP3 login from it: one pacing for both.
    p = poplib.POP3("127.0.0.1", int(s.conf_value("pop3_listen",
                                                  "").rsplit(":", 1)[1]),
                    timeout=30)
    p.user(ALICE)
    with pytest.raises(poplib.error_proto):
        p.pass_(PASSWORD)
    p.close()
    assert re.search(r"auth: user=<alice@example\.test> result=refused.*"
                     r"proto=smtp, client=\[127\.0\.0\.1\]", s.log_text())


def submission_tls(s):
    c = smtplib.SMTP("127.0.0.1", s.sub_port, timeout=30)
    c.starttls(context=client_ctx())
    c.ehlo("client.test")
    return c


def test_the_sender_must_be_the_logins(sub):
    s = sub
    with submission(s) as c:
        for sender in (ALICE, "alice+tag@example.test", "ALICE@Example.Test",
                       "sales@example.test", "ceo@example.test",
                       "anyone@partner.test", ""):
            assert c.mail(sender)[0] == 250, sender
            c.rset()
        for sender in (BOB, "team@example.test", "ceo@remote.test",
                       "postmaster@example.test"):
            assert c.mail(sender) == (553, (
                f"5.7.1 <{sender}>: Sender address rejected: not owned by "
                f"user {ALICE}").encode()), sender
    assert re.search(r"NOQUEUE: reject: MAIL from unknown\[127\.0\.0\.1\]: "
                     r"553 5\.7\.1 <bob@example\.test>: .*sasl_username="
                     r"alice@example\.test", s.log_text())
    with submission(s, BOB, BOB_PASSWORD) as c:
        assert c.mail("team@example.test")[0] == 250


def test_auth_exchange_errors(sub):
    s = sub
    with submission_tls(s) as c:
        assert c.docmd("AUTH", "CRAM-MD5")[0] == 504
        assert c.docmd("AUTH", "PLAIN !!notbase64")[0] == 501
        assert c.docmd("AUTH", "LOGIN")[0] == 334
        assert c.docmd("*") == (501, b"5.7.0 Authentication aborted")
        assert c.docmd("AUTH", "LOGIN")[0] == 334
        assert c.docmd(base64.b64encode(ALICE.encode()).decode())[0] == 334
        assert c.docmd(base64.b64encode(PASSWORD.encode()).decode()) == (
            235, b"2.7.0 Authentication successful")
        assert c.docmd("AUTH", "PLAIN =")[0] == 503
        # An authzid other than the login: refused (no proxy logins).
        assert c.mail(ALICE)[0] == 250
    with submission_tls(s) as c:
        other = base64.b64encode(f"{BOB}\0{ALICE}\0{PASSWORD}".encode())
        assert c.docmd("AUTH", "PLAIN " + other.decode())[0] == 535


def test_per_account_limits_defer_only_that_account(suite_factory):
    s = make_suite(suite_factory, "auth_recipients_per_hour = 3\n"
                   "auth_messages_per_day = 2\n")
    with submission(s) as c:
        c.mail(ALICE)
        for i in range(3):
            assert c.rcpt(f"r{i}@remote.test")[0] == 250
        code, msg = c.rcpt("r3@remote.test")
        assert code == 451 and msg.startswith(b"4.7.1 "), msg
        assert c.data(b"Subject: one\r\n\r\n1\r\n")[0] == 250
        c.mail(ALICE)
        code, msg = c.rcpt(BOB)
        assert code == 451, msg
    # Bob is not slowed by Alice's count.
    with submission(s, BOB, BOB_PASSWORD) as c:
        c.sendmail(BOB, [ALICE, "x@remote.test"], b"Subject: b\r\n\r\nb\r\n")
    assert re.search(r"limit: user=<alice@example\.test> reached "
                     r"auth_recipients_per_hour \(3 of 3\)", s.log_text())
    r = s.postern("auth", "limits")
    assert re.search(r"alice@example\.test\s+1/2 \(50%\)\s+3/3 \(100%\)",
                     r.stdout), r.stdout
    # Nearest its limit first.
    assert r.stdout.splitlines()[1].startswith(ALICE), r.stdout


def test_message_limit_refuses_mail(suite_factory):
    s = make_suite(suite_factory, "auth_messages_per_day = 2\n")
    with submission(s) as c:
        for i in range(2):
            c.sendmail(ALICE, [BOB], f"Subject: {i}\r\n\r\n{i}\r\n")
        code, msg = c.mail(ALICE)
        assert code == 451 and msg.startswith(b"4.7.1 <alice@example.test>:"
                                              b" Sender address rejected: "
                                              b"this account sent 2"), msg
    with submission(s, BOB, BOB_PASSWORD) as c:
        assert c.mail(BOB)[0] == 250
    s.wait_messages(BOB, 2)


def test_a_session_that_authenticated_is_not_reused(suite_factory):
    """Port 25 keeps a session process for the next client from the same
    address (smtpd_max_idle), except one that held a password: it ends."""
    s = make_suite(suite_factory, "smtpd_auth_enable = yes\n"
                   "smtpd_max_idle = 60s\n")

    def counts():
        log = s.log_text()
        return (len(re.findall(r"smtpd\[\d+\]: connect from", log)),
                log.count("disconnect from"))

    def settled():
        c, d = counts()
        return c == d

    def session(login):
        # Every earlier session (the harness's readiness probe too) has
        # logged its end, so the next "disconnect" line is this one's.
        wait_until(settled, 10, what="earlier sessions to end")
        n = counts()[1]
        with smtplib.SMTP("127.0.0.1", s.port, timeout=30) as c:
            c.ehlo("client.test")
            if login:
                c.login(ALICE, PASSWORD)
            c.noop()
        wait_until(lambda: settled() and counts()[1] == n + 1, 10,
                   what="the session's end logged")
        return int(re.findall(r"smtpd\[(\d+)\]: disconnect from",
                              s.log_text())[-1])

    def alive(pid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().split(")")[-1].split()[0] != "Z"
        except FileNotFoundError:
            return False

    plain = session(False)
    # It waits, idle, for the next connection (60 s).
    assert alive(plain)
    # The next one may be handed to it; once it took a password, it ends.
    secret = session(True)
    wait_until(lambda: not alive(secret), 10,
               what="the process that took a password to end")
    assert session(False) != secret
