"""TLS in smtpd, driven by real clients: STARTTLS on the SMTP and
submission ports (RFC 3207), implicit TLS on the smtps port (RFC 8314),
the versions refused, what a client pipelines behind STARTTLS, SNI,
certificates replaced under a running suite, resumption across session
processes, and the Received header and log lines that say what was
negotiated."""
import os
import re
import signal
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

from conftest import free_port, wait_until
from test_keyd import private_needles
from test_pop3 import memory_count
from test_smtp_hostile import smtpd_templates
from test_smtp_hostile import sessions_running

RCPT = "alice@example.test"
PASSWORD = "tls-test-password"


def make_cert(root, name, cn, sans=()):
    """A self-signed EC certificate and key for cn (and sans) in root."""
    cert, key = root / f"{name}.crt", root / f"{name}.key"
    alt = ",".join(f"DNS:{n}" for n in (cn, *sans))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "2",
                    "-subj", f"/CN={cn}", "-addext",
                    f"subjectAltName={alt}"],
                   check=True, capture_output=True)
    key.chmod(0o600)
    return cert, key


def client_ctx(**kw):
    """A client context that takes our self-signed certificates."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    for k, v in kw.items():
        setattr(ctx, k, v)
    return ctx


def tls_listeners(s, extra=""):
    """Configures s for TLS with smtps and submission listeners on free
    ports (s.smtps_port, s.sub_port), the certificate postern setup
    makes; extra: more configuration."""
    s.smtps_port, s.sub_port = free_port(), free_port()
    tls = s.root / "tls"
    s.write_conf(f"tls_cert_file = {tls}/cert.pem\n"
                 f"tls_key_file = {tls}/key.pem\n"
                 f"smtps_listen = 127.0.0.1:{s.smtps_port}\n"
                 f"submission_listen = 127.0.0.1:{s.sub_port}\n" + extra)


@pytest.fixture
def tsuite(suite_factory):
    """A running suite with TLS on 25-style, submission and smtps ports;
    its certificate made by postern setup."""
    s = suite_factory("")
    tls_listeners(s)
    r = s.postern("setup")
    assert "made a self-signed certificate" in r.stdout
    s.postern("user", "add", RCPT)
    s.postern("user", "passwd", RCPT, "--stdin", input=PASSWORD + "\n")
    s.start()
    return s


def received(msg):
    """The first Received field of a delivered message, unfolded."""
    msg = msg.read_bytes()
    m = re.search(rb"^Received: .*?(?=^\S)", msg, re.M | re.S)
    return re.sub(rb"\s+", b" ", m.group(0)).decode()


def test_setup_made_a_key_only_its_owner_reads(tsuite):
    key = tsuite.root / "tls" / "key.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    out = subprocess.run(["openssl", "x509", "-noout", "-subject", "-ext",
                          "subjectAltName", "-in",
                          str(tsuite.root / "tls" / "cert.pem")],
                         check=True, capture_output=True, text=True).stdout
    assert "CN = mx.test" in out and "DNS:example.test" in out
    # Run again, setup leaves both alone.
    before = key.read_bytes()
    assert "made a self-signed" not in tsuite.postern("setup").stdout
    assert key.read_bytes() == before


def test_starttls_with_smtplib_delivers_and_says_esmtps(tsuite):
    s = tsuite
    with smtplib.SMTP("127.0.0.1", s.port, timeout=30) as c:
        c.ehlo("client.test")
        assert c.has_extn("starttls")
        code, _ = c.starttls(context=client_ctx())
        assert code == 220
        c.ehlo("tls.client.test")
        # Offered once: under TLS it is gone, and asking again is 503.
        assert not c.has_extn("starttls")
        assert c.docmd("STARTTLS")[0] == 503
        c.sendmail("a@remote.test", [RCPT], "Subject: tls\r\n\r\nhi\r\n")
    [msg] = s.wait_messages(RCPT, 1)
    r = received(msg)
    # The HELO name said under TLS, not the one before it.
    assert r.startswith("Received: from tls.client.test ([127.0.0.1]) "
                        "(using TLSv1.3 with cipher TLS_AES_"), r
    assert "(No client certificate requested) by mx.test (Postern) " \
        "with ESMTPS id" in r, r
    wait_until(lambda: re.search(
        r"smtpd\[\d+\]: Anonymous TLS connection established from "
        r"unknown\[127\.0\.0\.1\]: TLSv1\.3 with cipher TLS_\w+ "
        r"\(\d+/\d+ bits\)", s.log_text()), 10, what="the TLS log line")


def test_starttls_forgets_the_helo_and_the_transaction(suite_factory):
    s = suite_factory("smtpd_helo_required = yes\n")
    tls = s.root / "tls"
    s.write_conf(f"smtpd_helo_required = yes\n"
                 f"tls_cert_file = {tls}/cert.pem\n"
                 f"tls_key_file = {tls}/key.pem\n")
    s.postern("setup")
    s.start()
    with smtplib.SMTP("127.0.0.1", s.port, timeout=30) as c:
        c.ehlo("client.test")
        assert c.docmd("MAIL FROM:<a@remote.test>")[0] == 250
        # Not inside a transaction.
        assert c.docmd("STARTTLS")[0] == 503
        assert c.docmd("RSET")[0] == 250
        assert c.docmd("STARTTLS", "now")[0] == 501
        code, _ = c.starttls(context=client_ctx())
        assert code == 220
        # The EHLO before TLS counts for nothing now (RFC 3207 4.2).
        assert c.docmd("MAIL FROM:<a@remote.test>")[0] == 503


def test_smtps_and_submission_with_smtplib(tsuite):
    s = tsuite
    with smtplib.SMTP_SSL("127.0.0.1", s.smtps_port, timeout=30,
                          context=client_ctx()) as c:
        c.ehlo("client.test")
        assert not c.has_extn("starttls")
        assert c.docmd("STARTTLS")[0] == 503
        c.login(RCPT, PASSWORD)
        c.sendmail(RCPT, [RCPT], "Subject: smtps\r\n\r\n465\r\n")
    with smtplib.SMTP("127.0.0.1", s.sub_port, timeout=30) as c:
        c.ehlo("client.test")
        c.starttls(context=client_ctx())
        c.ehlo("client.test")
        c.login(RCPT, PASSWORD)
        c.sendmail(RCPT, [RCPT], "Subject: sub\r\n\r\n587\r\n")
    msgs = s.wait_messages(RCPT, 2)
    assert all("with ESMTPSA id" in received(m) for m in msgs)


def test_swaks_starttls_and_tls_on_connect(tsuite):
    s = tsuite
    for args in (["--tls", "--port", str(s.port)],
                 ["--tls-on-connect", "--port", str(s.smtps_port),
                 "--auth", "PLAIN", "--auth-user", RCPT,
                 "--auth-password", PASSWORD]):
        r = subprocess.run(["swaks", "--server", "127.0.0.1", *args,
                            "--to", RCPT, "--from", RCPT,
                            "--helo", "swaks.test", "--timeout", "30"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "TLS started" in r.stdout, r.stdout
    s.wait_messages(RCPT, 2)


def test_curl_ssl_reqd_smtp_and_smtps(tsuite, tmp_path):
    s = tsuite
    mail = tmp_path / "mail.txt"
    mail.write_text("Subject: curl\r\n\r\nsent by curl\r\n")
    for url in (f"smtp://127.0.0.1:{s.port}", f"smtps://127.0.0.1:"
                f"{s.smtps_port}"):
        r = subprocess.run(["curl", "-sS", "--ssl-reqd", "-k", url,
                            "--user", f"{RCPT}:{PASSWORD}",
                            "--mail-from", RCPT, "--mail-rcpt",
                            RCPT, "-T", str(mail), "--max-time", "30"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
    s.wait_messages(RCPT, 2)


def s_client(port, *args, data=b"QUIT\r\n"):
    return subprocess.run(["openssl", "s_client", "-connect",
                           f"127.0.0.1:{port}", "-ign_eof", *args],
                          input=data, capture_output=True, timeout=60)


def test_openssl_s_client_starttls_and_implicit(tsuite):
    s = tsuite
    for r in (s_client(s.port, "-starttls", "smtp"),
              s_client(s.smtps_port)):
        out = r.stdout.decode()
        assert "subject=CN = mx.test" in out, out
        assert re.search(r"New, TLSv1\.3, Cipher is TLS_", out), out
        assert "221 2.0.0 Bye" in out, out


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("version", ["TLSv1", "TLSv1_1"])
def test_tls_before_1_2_is_refused(tsuite, version):
    s = tsuite
    # A client that would take the old version (its own security level
    # lowered): the refusal is the server's.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.minimum_version = getattr(ssl.TLSVersion, version)
    ctx.maximum_version = getattr(ssl.TLSVersion, version)
    mark = len(s.log_text())
    with socket.create_connection(("127.0.0.1", s.smtps_port), 10) as raw:
        with pytest.raises((ssl.SSLError, ConnectionResetError)):
            with ctx.wrap_socket(raw) as t:
                t.recv(100)
    wait_until(lambda: re.search(r"SSL_accept error from unknown\[127\.0\.0"
                                 r"\.1\]: handshake failed: .*unsupported "
                                 r"protocol", s.log_text()[mark:]), 10,
               what="the refusal in the log")
    # And the same client that asks for 1.2 gets it.
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection(("127.0.0.1", s.smtps_port), 10) as raw:
        with ctx.wrap_socket(raw) as t:
            assert t.version() == "TLSv1.2"
            assert t.recv(100).startswith(b"220 ")


def read_reply(f):
    """One whole (multi-line) reply from a file-like socket."""
    lines = []
    while True:
        line = f.readline()
        assert line, "connection closed"
        lines.append(line)
        if line[3:4] != b"-":
            return b"".join(lines)


def plain_reply(sock):
    """One reply read a byte at a time: nothing after it is consumed, so
    the socket can go on into a TLS handshake."""
    data = b""
    while True:
        c = sock.recv(1)
        assert c, "connection closed"
        data += c
        if data.endswith(b"\r\n"):
            last = data[:-2].rsplit(b"\r\n", 1)[-1]
            if last[3:4] != b"-":
                return data


def test_pipelined_command_after_starttls_is_never_answered(tsuite):
    s = tsuite
    mark = len(s.log_text())
    raw = socket.create_connection(("127.0.0.1", s.port), 10)
    assert plain_reply(raw).startswith(b"220 ")
    raw.sendall(b"EHLO client.test\r\n")
    assert b"STARTTLS" in plain_reply(raw)
    # One write: the RSET rides in the same segment as STARTTLS.
    raw.sendall(b"STARTTLS\r\nRSET\r\n")
    assert plain_reply(raw) == b"220 2.0.0 Ready to start TLS\r\n"
    # Had the server answered RSET in plaintext, those bytes would come
    # before its handshake and the handshake would fail.
    t = client_ctx().wrap_socket(raw)
    tf = t.makefile("rb")
    # Under TLS the first answer is HELP's, not a 250 for the RSET.
    t.sendall(b"HELP\r\n")
    assert read_reply(tf).startswith(b"214 ")
    t.sendall(b"QUIT\r\n")
    assert read_reply(tf).startswith(b"221 ")
    t.close()
    wait_until(lambda: re.search(r"improper command pipelining after "
                                 r"STARTTLS from unknown\[127\.0\.0\.1\]: "
                                 r"6 byte\(s\) discarded",
                                 s.log_text()[mark:]), 10,
               what="the discard in the log")


def test_tls_session_ends_its_process(tsuite):
    s = tsuite
    with smtplib.SMTP("127.0.0.1", s.port, timeout=30) as c:
        c.starttls(context=client_ctx())
        c.ehlo("client.test")
    wait_until(lambda: sessions_running(s) == 0, 10, what="the session")
    tls_pid = re.findall(r"smtpd\[(\d+)\]: Anonymous TLS", s.log_text())[-1]
    with smtplib.SMTP("127.0.0.1", s.port, timeout=30) as c:
        c.ehlo("client.test")
    pids = re.findall(r"smtpd\[(\d+)\]: connect from", s.log_text())
    assert pids[-1] != tls_pid
    wait_until(lambda: not os.path.exists(f"/proc/{tls_pid}"), 10,
               what="the TLS session's process to exit")


def starttls_raw(port, ctx, server_hostname=None, session=None):
    raw = socket.create_connection(("127.0.0.1", port), 10)
    plain_reply(raw)
    raw.sendall(b"EHLO client.test\r\n")
    plain_reply(raw)
    raw.sendall(b"STARTTLS\r\n")
    assert plain_reply(raw).startswith(b"220 ")
    t = ctx.wrap_socket(raw, server_hostname=server_hostname,
                        session=session)
    tf = t.makefile("rb")
    t.sendall(b"EHLO client.test\r\n")
    read_reply(tf)
    return t, tf


def test_a_ticket_resumes_in_another_session_process(tsuite):
    s = tsuite
    for version in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
        ctx = client_ctx(maximum_version=version)
        t, tf = starttls_raw(s.port, ctx)
        assert not t.session_reused
        # The ticket comes after the handshake: the EHLO reply read it.
        session = t.session
        t.sendall(b"QUIT\r\n")
        read_reply(tf)
        t.close()
        t, tf = starttls_raw(s.port, ctx, session=session)
        assert t.session_reused, version
        t.sendall(b"QUIT\r\n")
        read_reply(tf)
        t.close()
    log = s.log_text()
    pids = re.findall(r"smtpd\[(\d+)\]: Anonymous TLS connection "
                      r"established .*\(resumed\)", log)
    assert len(pids) == 2


def test_sni_picks_the_certificate_of_the_name(suite_factory):
    s = suite_factory("")
    d = s.root / "certs"
    d.mkdir()
    main = make_cert(d, "main", "mx.test")
    other = make_cert(d, "other", "other.test")
    wild = make_cert(d, "wild", "*.wild.test")
    sni = s.root / "sni"
    sni.write_text("# name certificate key\n"
                   f"other.test {other[0]} {other[1]}\n"
                   f"*.wild.test {wild[0]} {wild[1]}\n")
    s.write_conf(f"tls_cert_file = {main[0]}\ntls_key_file = {main[1]}\n"
                 f"tls_sni_map = {sni}\n")
    s.start()
    for name, cn in (("other.test", "other.test"), ("OTHER.test",
                     "other.test"), ("a.wild.test", "*.wild.test"),
                     ("a.b.wild.test", "mx.test"),
                     ("unknown.test", "mx.test"), (None, "mx.test")):
        args = ["-starttls", "smtp"] + (["-servername", name] if name
                                        else ["-noservername"])
        out = s_client(s.port, *args).stdout.decode()
        assert f"subject=CN = {cn}\n" in out, (name, out)


def test_reload_serves_a_new_certificate_and_open_sessions_finish(tsuite):
    s = tsuite
    old = s_client(s.port, "-starttls", "smtp").stdout.decode()
    assert "subject=CN = mx.test" in old
    # A session open across the reload.
    c = smtplib.SMTP("127.0.0.1", s.port, timeout=30)
    c.starttls(context=client_ctx())
    c.ehlo("client.test")
    new = make_cert(s.root, "new", "new.test")
    (s.root / "tls" / "cert.pem").write_bytes(new[0].read_bytes())
    (s.root / "tls" / "key.pem").write_bytes(new[1].read_bytes())
    mark = len(s.log_text())
    r = s.postern("reload")
    assert r.returncode == 0, r
    wait_until(lambda: "subject=CN = new.test" in s_client(
        s.port, "-starttls", "smtp").stdout.decode(), 20,
        what="a handshake with the new certificate")
    assert "replaced for the new configuration" in s.log_text()[mark:]
    c.sendmail("a@remote.test", [RCPT], "Subject: across\r\n\r\nreload\r\n")
    c.quit()
    s.wait_messages(RCPT, 1)


def test_starttls_without_a_loadable_certificate_is_454(tsuite):
    s = tsuite
    (s.root / "tls" / "cert.pem").unlink()
    # The session template loaded the certificate at its start, as a
    # Postfix smtpd keeps what it loaded: the next template cannot.
    old = smtpd_templates(s)
    assert old
    for pid in old:
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not set(old) & set(smtpd_templates(s)), 10,
               what="the old template to go")
    # From an address of its own: the process that served the harness's
    # probe from 127.0.0.1 loaded the certificate before, and may serve
    # that address again.
    with smtplib.SMTP("127.0.0.1", s.port, timeout=30,
                      source_address=("127.0.0.2", 0)) as c:
        c.ehlo("client.test")
        # Still offered (a certificate is configured), then refused.
        assert c.has_extn("starttls")
        code, text = c.docmd("STARTTLS")
        assert (code, text) == (454, b"4.7.0 TLS not available due to "
                                     b"local problem")
        # The session goes on in plaintext.
        c.sendmail("a@remote.test", [RCPT], "Subject: plain\r\n\r\nx\r\n")
    s.wait_messages(RCPT, 1)
    # Implicit TLS cannot fall back: the client is dropped unanswered.
    with socket.create_connection(("127.0.0.1", s.smtps_port), 10) as raw:
        raw.settimeout(10)
        assert raw.recv(100) == b""
    assert re.search(r"TLS is not available: .*cert\.pem", s.log_text())


def test_check_refuses_smtps_without_a_certificate(suite_factory):
    s = suite_factory(f"smtps_listen = 127.0.0.1:{free_port()}\n")
    r = s.postern("check", check=False)
    assert r.returncode != 0
    assert "smtps_listen: implicit TLS needs a certificate" in \
        r.stdout + r.stderr


def test_check_refuses_a_key_of_another_certificate(suite_factory, tmp_path):
    a = make_cert(tmp_path, "a", "a.test")
    b = make_cert(tmp_path, "b", "b.test")
    s = suite_factory(f"tls_cert_file = {a[0]}\ntls_key_file = {b[1]}\n")
    r = s.postern("check", check=False)
    assert r.returncode != 0
    assert f"{b[1]} does not belong to {a[0]}" in r.stdout + r.stderr


def test_hostile_bytes_on_the_smtps_port_end_only_that_session(suite_factory):
    s = suite_factory("")
    s.smtps_port = free_port()
    tls = s.root / "tls"
    s.write_conf(f"tls_cert_file = {tls}/cert.pem\n"
                 f"tls_key_file = {tls}/key.pem\n"
                 f"smtps_listen = 127.0.0.1:{s.smtps_port}\n"
                 "smtpd_timeout = 2s\n")
    s.postern("setup")
    s.start()
    mark = len(s.log_text())
    # Plaintext SMTP, and a record header that promises 16 KiB of garbage.
    for junk in (b"EHLO client.test\r\n",
                 b"\x16\x03\x01\x40\x00" + bytes(range(256)) * 4):
        with socket.create_connection(("127.0.0.1", s.smtps_port), 10) as c:
            c.sendall(junk)
            c.shutdown(socket.SHUT_WR)
            c.settimeout(10)
            # Nothing readable comes back as SMTP: an alert at most (or
            # a reset: the server closed with our bytes unread).
            try:
                data = c.recv(4096)
            except ConnectionResetError:
                data = b""
            assert not data.startswith(b"220") and not data.startswith(b"5")
    # Silence: the handshake has the session's deadline, then it ends.
    with socket.create_connection(("127.0.0.1", s.smtps_port), 10) as c:
        c.settimeout(20)
        assert c.recv(100) == b""
    wait_until(lambda: len(re.findall(r"SSL_accept error from unknown\["
                                      r"127\.0\.0\.1\]: ",
                                      s.log_text()[mark:])) == 3, 20,
               what="three failed handshakes in the log")
    assert re.search(r"SSL_accept error from unknown\[127\.0\.0\.1\]: "
                     r"timeout", s.log_text()[mark:])
    # The listener serves the next client as if nothing happened.
    with smtplib.SMTP_SSL("127.0.0.1", s.smtps_port, timeout=30,
                          context=client_ctx()) as c:
        assert c.noop()[0] == 250


def test_a_tls_session_process_holds_no_private_key(tsuite):
    """The key is keyd's: smtpd's session signs through it (keyclient)."""
    s = tsuite
    needles = private_needles(s.root / "tls" / "key.pem")
    with smtplib.SMTP("127.0.0.1", s.port, timeout=30) as c:
        c.starttls(context=client_ctx())
        c.ehlo("client.test")
        pid = int(re.findall(r"smtpd\[(\d+)\]: Anonymous TLS connection",
                             s.log_text())[-1])
        # The session is open, its handshake signed: scan it now.
        assert all(memory_count(pid, n) == 0 for n in needles)
        [keyd] = s.pids_of("keyd")
        assert any(memory_count(keyd, n) > 0 for n in needles), \
            "the scan finds the key nowhere"


def greeting_gaps(port, tries=8):
    """Seconds from the end of a full handshake (no ticket offered) to
    the greeting, on an implicit-TLS port, for each try."""
    gaps = []
    for _ in range(tries):
        with socket.create_connection(("127.0.0.1", port), 10) as raw:
            with client_ctx().wrap_socket(raw) as t:
                t0 = time.monotonic()
                data = b""
                while not data.endswith(b"\r\n"):
                    chunk = t.recv(512)
                    assert chunk, data
                    data += chunk
                gaps.append(time.monotonic() - t0)
                t.sendall(b"QUIT\r\n")
    return gaps


def test_implicit_tls_greeting_does_not_wait_for_a_delayed_ack(tsuite):
    # After a full handshake the server writes its session ticket, then
    # the greeting. With Nagle on, the greeting waited for the client's
    # ACK of the ticket, which Linux delays by 40 ms: every try took
    # over 40 ms (tests/bench/tls found it). The fastest of several tries
    # shows it, whatever the machine's load does to the others.
    gaps = greeting_gaps(tsuite.smtps_port)
    assert min(gaps) < 0.030, gaps
