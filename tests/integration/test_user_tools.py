"""postern user show | lock | unlock | rename, auth test and who, against
a running suite with real POP3 clients (poplib)."""
import os
import poplib
import smtplib

import pytest

from conftest import wait_until

PW = "correct horse battery"
ALICE = "alice@example.test"


@pytest.fixture
def usuite(suite_factory):
    """A suite where failed logins are answered at once."""
    s = suite_factory("auth_failure_delay = 0s\n")
    for u in (ALICE, "bob@example.test", "admin@example.test"):
        s.postern("user", "add", u)
    s.aliases.write_text(s.aliases.read_text() +
                         f"sales: {ALICE}, bob@example.test\n"
                         "help: alice\n")
    s.postern("alias")
    s.start()
    return s


def set_password(suite, user, pw=PW):
    suite.postern("user", "passwd", user, "--password-stdin", input=pw + "\n")


def send(suite, rcpt, subject="hi"):
    with smtplib.SMTP("127.0.0.1", suite.port, timeout=30) as c:
        c.sendmail("someone@remote.test", [rcpt],
                   f"Subject: {subject}\r\n\r\nhello\r\n".encode())


def pop3_login(suite, user, pw=PW):
    p = poplib.POP3("127.0.0.1", suite.pop3_port, timeout=30)
    p.user(user)
    p.pass_(pw)
    return p


def pop3_refused(suite, user, pw=PW):
    p = poplib.POP3("127.0.0.1", suite.pop3_port, timeout=30)
    try:
        p.user(user)
        with pytest.raises(poplib.error_proto):
            p.pass_(pw)
    finally:
        p.close()


def auth_test(suite, user, pw=PW):
    return suite.postern("auth", "test", user, "--password-stdin",
                         input=pw + "\n", check=False)


def show(suite, user):
    out = suite.postern("user", "show", user).stdout
    return {k.strip(): v.strip() for k, _, v in
            (line.partition(":") for line in out.splitlines())}


def test_user_show_counts_mail_and_records_the_last_login(usuite):
    s = usuite
    info = show(s, ALICE)
    assert info["password"].startswith("none")
    assert info["locked"] == "no"
    assert info["last login"] == "never"
    assert info["messages"].startswith("0")
    send(s, ALICE, "one")
    send(s, ALICE, "two")
    s.wait_messages(ALICE, 2)
    set_password(s, ALICE)
    p = pop3_login(s, ALICE)
    assert p.stat()[0] == 2
    p.quit()
    wait_until(lambda: show(s, ALICE)["last login"] != "never", 10,
               what="the last login to be recorded")
    info = show(s, ALICE)
    assert info["password"] == "set"
    assert info["messages"].startswith("2 (")
    assert "bytes" in info["messages"]
    assert info["last login"].endswith("(pop3 from 127.0.0.1)")
    assert (s.store / "example.test" / "alice" / "postern-last-login").is_file()
    r = s.postern("user", "show", "nobody@example.test", check=False)
    assert r.returncode != 0 and "no such user" in r.stderr


def test_show_refuses_a_planted_last_login_link(usuite):
    """The mail user owns the user directory; root must not follow a link
    planted there to another file."""
    s = usuite
    secret = s.root / "secret"
    secret.write_text("1700000000 pop3 SECRET-CONTENT\n")
    link = s.store / "example.test" / "alice" / "postern-last-login"
    os.symlink(secret, link)
    out = s.postern("user", "show", ALICE).stdout
    assert "SECRET-CONTENT" not in out
    assert "unreadable record" in out
    link.unlink()
    link.write_text("1700000000 pop3 \x1b[31mred\n")
    assert "\x1b" not in s.postern("user", "show", ALICE).stdout


def test_lock_refuses_logins_but_mail_still_arrives(usuite):
    s = usuite
    set_password(s, ALICE)
    assert auth_test(s, ALICE).returncode == 0
    r = s.postern("user", "lock", ALICE)
    assert "locked" in r.stdout
    assert show(s, ALICE)["locked"].startswith("yes")
    pop3_refused(s, ALICE)
    r = auth_test(s, ALICE)
    assert r.returncode == 1 and "auth failed" in r.stdout
    wait_until(lambda: f"auth: user=<{ALICE}> is locked" in s.log_text(), 10,
               what="authd to log the lock")
    # Still receives mail.
    send(s, ALICE, "while locked")
    s.wait_messages(ALICE, 1)
    # A new password does not lift the lock; unlock does, with that one.
    r = s.postern("user", "passwd", ALICE, "--password-stdin",
                  input="a new one\n")
    assert "stays locked" in r.stdout
    assert auth_test(s, ALICE, "a new one").returncode == 1
    s.postern("user", "unlock", ALICE)
    assert show(s, ALICE)["locked"] == "no"
    assert auth_test(s, ALICE, "a new one").returncode == 0
    pop3_login(s, ALICE, "a new one").quit()
    r = s.postern("user", "unlock", ALICE)
    assert "already unlocked" in r.stdout
    r = s.postern("user", "lock", "nobody@example.test", check=False)
    assert r.returncode != 0


def test_auth_test_uses_the_login_path(usuite):
    s = usuite
    set_password(s, ALICE)
    r = auth_test(s, ALICE)
    assert r.returncode == 0
    assert f"auth succeeded: user={ALICE}" in r.stdout
    # Any case, as a POP3 client may type it.
    assert auth_test(s, "Alice@Example.TEST").returncode == 0
    assert auth_test(s, ALICE, "wrong").returncode == 1
    assert auth_test(s, "nobody@example.test").returncode == 1
    # bob has no password: cannot log in.
    assert auth_test(s, "bob@example.test").returncode == 1
    assert PW not in s.log_text()
    # Hostile input: an overlong password, an empty one.
    assert auth_test(s, ALICE, "x" * 5000).returncode != 0
    r = auth_test(s, ALICE, "")
    assert r.returncode != 0 and "empty" in r.stderr
    r = s.postern("auth", "test", check=False)
    assert r.returncode != 0 and "usage" in r.stderr


def test_rename_moves_the_maildir_and_keeps_the_password(usuite):
    s = usuite
    set_password(s, ALICE)
    send(s, ALICE, "before")
    s.wait_messages(ALICE, 1)
    old = s.store / "example.test" / "alice"
    r = s.postern("user", "rename", ALICE, "carol@example.test")
    assert "renamed alice@example.test to carol@example.test" in r.stdout
    # The aliases that still point at the old name are listed.
    assert "aliases still pointing at alice@example.test" in r.stderr
    assert "sales:" in r.stderr and "help:" in r.stderr
    assert not old.exists()
    assert len(s.messages("carol@example.test")) == 1
    users = s.postern("user", "list").stdout.split()
    assert "carol@example.test" in users and ALICE not in users
    assert auth_test(s, "carol@example.test").returncode == 0
    assert auth_test(s, ALICE).returncode == 1
    send(s, "carol@example.test", "after")
    s.wait_messages("carol@example.test", 2)
    # Refused: an existing user, a directory in the way, an unknown user.
    r = s.postern("user", "rename", "carol@example.test", "bob@example.test",
                  check=False)
    assert r.returncode != 0 and "already exists" in r.stderr
    (s.store / "example.test" / "dave" / "Maildir").mkdir(parents=True)
    r = s.postern("user", "rename", "carol@example.test",
                  "dave@example.test", check=False)
    assert r.returncode != 0 and "exists" in r.stderr
    assert "carol@example.test" in s.postern("user", "list").stdout.split()
    assert len(s.messages("carol@example.test")) == 2
    r = s.postern("user", "rename", "ghost@example.test", "x@example.test",
                  check=False)
    assert r.returncode != 0 and "no such user" in r.stderr
    r = s.postern("user", "rename", "carol@example.test", "../x@example.test",
                  check=False)
    assert r.returncode != 0


def test_who_lists_logged_in_sessions(usuite):
    s = usuite
    set_password(s, ALICE)
    assert ALICE not in s.postern("who").stdout
    p = pop3_login(s, ALICE)
    try:
        out = s.postern("who").stdout
        [line] = [line for line in out.splitlines() if ALICE in line]
        fields = line.split()
        assert fields[1] == "pop3" and fields[2] == "127.0.0.1"
        pid = int(fields[-1])
        assert pid in s.pids_of("pop3d")
    finally:
        p.quit()
    wait_until(lambda: ALICE not in s.postern("who").stdout, 10,
               what="the session to end")


def test_one_password_flag_for_add_and_passwd(usuite):
    s = usuite
    s.postern("user", "add", "eve@example.test", "--password-stdin",
              input="first\n")
    assert auth_test(s, "eve@example.test", "first").returncode == 0
    s.postern("user", "passwd", "eve@example.test", "--password-stdin",
              input="second\n")
    assert auth_test(s, "eve@example.test", "second").returncode == 0
    # The old spelling still works, and says it is deprecated.
    r = s.postern("user", "passwd", "eve@example.test", "--stdin",
                  input="third\n")
    assert "deprecated" in r.stderr
    assert auth_test(s, "eve@example.test", "third").returncode == 0
