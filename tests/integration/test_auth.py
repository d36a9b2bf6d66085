"""Password checks: "postern user passwd" stores a hash in passwd.db, and
authd alone reads it and answers A_AUTH on private/auth.sock with yes or
no. pop3d asks exactly this (imapd and smtpd will); here the test asks
directly, as root, the way they do, without a client address (so no
pacing applies: test_authd.py tests that)."""
import os
import stat
import struct

from conftest import wait_until
from ipcclient import (A_AUTH, A_AUTH_FAIL, A_AUTH_OK, A_AUTH_REPLY,
                       A_AUTH_TEMPFAIL, R_CHECK, R_CHECK_REPLY, auth_body,
                       auth_reply, connect, recv, send, string)

PASSWORD = "correct horse battery"


def auth_sock(suite):
    return connect(suite.spool / "private" / "auth.sock")


def ask(suite, user, password, rid=7, sock=None):
    s = sock or auth_sock(suite)
    try:
        send(s, A_AUTH, auth_body(user, password), rid)
        reply = recv(s, timeout=20)
        assert reply is not None, "authd closed the auth socket"
        ftype, got_id, body, _ = reply
        assert ftype == A_AUTH_REPLY and got_id == rid
        return auth_reply(body)
    finally:
        if sock is None:
            s.close()


def set_password(suite, user, password):
    return suite.postern("user", "passwd", user, "--stdin",
                         input=password + "\n")


def test_right_password_is_accepted_with_the_canonical_name(suite):
    set_password(suite, "alice@example.test", PASSWORD)
    assert ask(suite, "alice@example.test", PASSWORD) == \
        (A_AUTH_OK, "alice@example.test")
    assert "auth: user=<alice@example.test> result=ok" in suite.log_text()


def test_wrong_password_unknown_user_and_no_password_fail_alike(suite):
    set_password(suite, "alice@example.test", PASSWORD)
    for user, pw in (("alice@example.test", PASSWORD + "x"),
                     ("alice@example.test", ""),
                     ("nobody@example.test", PASSWORD),
                     ("bob@example.test", ""),          # has no password
                     ("bob@example.test", PASSWORD),
                     ("alice@elsewhere.test", PASSWORD),  # not our domain
                     ("@example.test", PASSWORD),
                     ("", PASSWORD)):
        assert ask(suite, user, pw) == (A_AUTH_FAIL, ""), (user, pw)
    log = suite.log_text()
    assert "auth: user=<nobody@example.test> result=fail" in log
    assert PASSWORD not in log


def test_bare_name_means_the_default_domain(suite):
    set_password(suite, "alice@example.test", PASSWORD)
    # myhostname mx.test is not local: the first local domain is default.
    assert ask(suite, "alice", PASSWORD) == (A_AUTH_OK, "alice@example.test")
    assert ask(suite, "alice", "wrong") == (A_AUTH_FAIL, "")


def test_user_name_is_case_insensitive(suite):
    set_password(suite, "alice@example.test", PASSWORD)
    assert ask(suite, "ALICE@Example.TEST", PASSWORD) == \
        (A_AUTH_OK, "alice@example.test")
    assert ask(suite, "Alice", PASSWORD) == (A_AUTH_OK, "alice@example.test")
    # The password is not.
    assert ask(suite, "alice@example.test", PASSWORD.upper()) == \
        (A_AUTH_FAIL, "")


def test_changed_password_takes_effect_at_once(suite):
    set_password(suite, "alice@example.test", "first one")
    assert ask(suite, "alice@example.test", "first one")[0] == A_AUTH_OK
    set_password(suite, "alice@example.test", "second one")
    assert ask(suite, "alice@example.test", "first one")[0] == A_AUTH_FAIL
    assert ask(suite, "alice@example.test", "second one")[0] == A_AUTH_OK


def test_several_requests_on_one_connection(suite):
    set_password(suite, "alice@example.test", PASSWORD)
    s = auth_sock(suite)
    try:
        assert ask(suite, "alice", "no", 1, s)[0] == A_AUTH_FAIL
        assert ask(suite, "alice", PASSWORD, 2, s)[0] == A_AUTH_OK
    finally:
        s.close()


def test_auth_on_the_check_socket_is_refused(suite):
    """smtpd's socket faces the network: it must never check passwords."""
    set_password(suite, "alice@example.test", PASSWORD)
    s = connect(suite.spool / "smtpd" / "resolver.sock")
    try:
        send(s, A_AUTH, auth_body("alice@example.test", PASSWORD), 1)
        assert recv(s, timeout=10) is None
    finally:
        s.close()
    wait_until(lambda: "on the check socket" in suite.log_text(), 10,
               what="the refusal in the log")


def test_check_on_the_auth_socket_is_refused(suite):
    s = auth_sock(suite)
    try:
        send(s, R_CHECK, string("alice@example.test"), 1)
        assert recv(s, timeout=10) is None
    finally:
        s.close()
    # authd and resolverd still answer everyone else.
    set_password(suite, "alice@example.test", PASSWORD)
    assert ask(suite, "alice", PASSWORD)[0] == A_AUTH_OK
    c = connect(suite.spool / "smtpd" / "resolver.sock")
    try:
        send(c, R_CHECK, string("alice@example.test"), 2)
        assert recv(c, timeout=10)[0] == R_CHECK_REPLY
    finally:
        c.close()


def test_malformed_auth_frame_closes_the_client(suite):
    s = auth_sock(suite)
    try:
        send(s, A_AUTH, string("alice@example.test"), 1)  # no password
        assert recv(s, timeout=10) is None
    finally:
        s.close()


def test_unreadable_password_map_is_a_temporary_failure(suite_factory):
    # A map authd never managed to open (a rebuilt one it cannot read
    # leaves the old one answering): the client must try again later, not
    # tell the user the password is wrong.
    s = suite_factory()
    s.postern("user", "add", "alice@example.test", "--password-stdin",
              input=PASSWORD + "\n")
    (s.maps / "passwd.db").write_bytes(b"not a berkeley db file" * 100)
    s.start()
    assert ask(s, "alice", PASSWORD) == (A_AUTH_TEMPFAIL, "")
    assert "auth: user=<alice> result=tempfail" in s.log_text()


def test_maps_are_not_world_readable_and_only_authd_reads_hashes(suite):
    set_password(suite, "alice@example.test", PASSWORD)
    st = (suite.maps / "users.db").stat()
    assert st.st_mode & stat.S_IRWXO == 0
    pst = (suite.maps / "passwd.db").stat()
    assert stat.S_IMODE(pst.st_mode) == 0o600
    if os.geteuid() == 0:
        import grp
        import pwd
        resolver = pwd.getpwnam("postern-resolver")
        assert stat.S_IMODE(st.st_mode) == 0o640
        assert st.st_uid == 0 and st.st_gid == resolver.pw_gid
        assert grp.getgrgid(st.st_gid)
        assert pst.st_uid == pwd.getpwnam("postern-auth").pw_uid
    # The hash is in passwd.db, not in the map resolverd reads.
    assert b"$y$" in (suite.maps / "passwd.db").read_bytes() or \
        b"$6$" in (suite.maps / "passwd.db").read_bytes()
    assert b"$y$" not in (suite.maps / "users.db").read_bytes()
    assert b"$6$" not in (suite.maps / "users.db").read_bytes()
    # user del rebuilds them the same way.
    suite.postern("user", "del", "bob@example.test")
    assert (suite.maps / "users.db").stat().st_mode & stat.S_IRWXO == 0
    assert stat.S_IMODE((suite.maps / "passwd.db").stat().st_mode) == 0o600


def test_user_list_shows_no_hash(suite):
    set_password(suite, "alice@example.test", PASSWORD)
    out = suite.postern("user", "list").stdout
    assert out.split() == ["admin@example.test", "alice@example.test",
                           "bob@example.test"]
    assert "$" not in out


def test_passwd_refuses_empty_password_and_unknown_user(suite):
    r = suite.postern("user", "passwd", "alice@example.test", "--stdin",
                      input="\n", check=False)
    assert r.returncode != 0 and "empty" in r.stderr
    r = suite.postern("user", "passwd", "nobody@example.test", "--stdin",
                      input="pw\n", check=False)
    assert r.returncode != 0 and "no such user" in r.stderr
    # Nothing came into existence.
    assert "nobody@example.test" not in suite.postern("user", "list").stdout


def test_user_add_with_password_from_stdin(suite):
    suite.postern("user", "add", "carol@example.test", "--password-stdin",
                  input="carol's pw\n")
    assert ask(suite, "carol", "carol's pw") == \
        (A_AUTH_OK, "carol@example.test")
    # Only the newline is stripped: spaces belong to the password.
    suite.postern("user", "passwd", "carol@example.test", "--stdin",
                  input=" spaced \n")
    assert ask(suite, "carol", " spaced ")[0] == A_AUTH_OK
    assert ask(suite, "carol", "spaced")[0] == A_AUTH_FAIL


def test_address_checks_are_answered_while_passwords_are_hashed(suite):
    """A password hash takes tens of milliseconds; it runs in authd, so
    smtpd's and queued's lookups in resolverd do not wait behind it."""
    set_password(suite, "alice@example.test", PASSWORD)
    s = auth_sock(suite)
    c = connect(suite.spool / "smtpd" / "resolver.sock")
    try:
        for rid in range(1, 6):
            send(s, A_AUTH, auth_body("alice@example.test", f"guess {rid}"),
                 rid)
        send(c, R_CHECK, string("alice@example.test"), 9)
        assert recv(c, timeout=10)[:2] == (R_CHECK_REPLY, 9)
        # Five hashes, one after another, take far longer than that.
        s.setblocking(False)
        try:
            early = s.recv(65536)
        except BlockingIOError:
            early = b""
        assert len(early) < 5 * (16 + 8), "every hash finished first"
        s.setblocking(True)
        got = []
        pending = early
        while len(got) < 5:
            while len(pending) < 16:
                pending += s.recv(65536)
            ftype, length, rid, _ = struct.unpack("=IIII", pending[:16])
            while len(pending) < 16 + length:
                pending += s.recv(65536)
            assert ftype == A_AUTH_REPLY
            assert auth_reply(pending[16:16 + length]) == (A_AUTH_FAIL, "")
            got.append(rid)
            pending = pending[16 + length:]
        # Several workers: answers come as the hashes end.
        assert sorted(got) == [1, 2, 3, 4, 5]
    finally:
        s.close()
        c.close()


def test_a_client_gone_during_its_hash_costs_nothing(suite):
    set_password(suite, "alice@example.test", PASSWORD)
    pid = suite.pids_of("authd")
    for _ in range(5):
        s = auth_sock(suite)
        send(s, A_AUTH, auth_body("alice@example.test", PASSWORD), 1)
        s.close()
    gone = "auth: user=<alice@example.test> client gone, "
    wait_until(lambda: suite.log_text().count(gone) == 5, 20,
               what="the five requests to be done with")
    # The first hash runs while the others' clients leave: those are
    # skipped, so a crowd that hangs up does not delay the next login.
    assert suite.log_text().count(gone + "not checked") >= 1
    assert "result=ok" not in suite.log_text()
    assert ask(suite, "alice", PASSWORD)[0] == A_AUTH_OK
    assert suite.pids_of("authd") == pid
