"""Outbound TLS between servers (issue 10, sections 6 and 7): the remote
delivery agent says STARTTLS when the receiver offers it, logs what was
negotiated in Postfix's words, and keeps to the per-destination policy
(smtp_tls_security_level, smtp_tls_policy_map): "encrypt" and "verify"
defer (4.7.5) and send nothing in plaintext when they cannot be had,
"may" delivers in plaintext to a receiver without TLS.

Every host has a loopback address of its own with port 25 (netharness);
NSD names them. The receivers are Postern instances with a certificate
the test makes, or a recording exchanger without STARTTLS that keeps
every command it was sent (so "nothing in plaintext" is checked on the
wire, not inferred).
"""
import hashlib
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading

import pytest

import netharness
from conftest import wait_until
from test_relay_multihost import dns_address, message, submit, with_dns
from test_tls import make_cert


class RecordingMx:
    """An exchanger on address:25 that accepts everything and records
    each line a client sent (secure_lines: those sent under TLS).
    Without STARTTLS by default."""

    def __init__(self, address=None, broken_tls=False, tls=None,
                 inject=b""):
        """broken_tls: offers STARTTLS, says 220 to it and then sends
        bytes that are no TLS (a receiver with a broken TLS stack).
        tls: an ssl server context: offers STARTTLS and does it, sending
        inject right behind its 220, in the same write (a man in the
        middle's try at answering for the server under TLS)."""
        self.address = address or netharness.loopback_address()
        self.broken_tls = broken_tls
        self.tls = tls
        self.inject = inject
        self.lines = []
        self.secure_lines = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((self.address, 25))
        self.sock.listen(16)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with c:
                try:
                    self._session(c, secure=False)
                except (OSError, ssl.SSLError):
                    pass

    def _session(self, c, secure):
        f = c.makefile("rwb")
        if not secure:
            f.write(b"220 mx.plain.test ESMTP\r\n")
            f.flush()
        offer = not secure and (self.broken_tls or self.tls is not None)
        data = False
        for line in f:
            self.lines.append(line)
            if secure:
                self.secure_lines.append(line)
            if data:
                if line == b".\r\n":
                    data = False
                    f.write(b"250 2.0.0 Ok: queued\r\n")
                    f.flush()
                continue
            verb = line[:4].upper()
            if verb == b"EHLO":
                f.write(b"250-mx.plain.test\r\n" +
                        (b"250-STARTTLS\r\n" if offer else b"") +
                        b"250 PIPELINING\r\n")
            elif verb == b"STAR" and self.tls is None:
                f.write(b"220 2.0.0 go ahead\r\n"
                        b"this is not a TLS record\r\n")
                f.flush()
                return
            elif verb == b"STAR":
                c.sendall(b"220 2.0.0 go ahead\r\n" + self.inject)
                t = self.tls.wrap_socket(c, server_side=True)
                with t:
                    self._session(t, secure=True)
                return
            elif verb == b"DATA":
                data = True
                f.write(b"354 go ahead\r\n")
            elif verb == b"QUIT":
                f.write(b"221 bye\r\n")
                f.flush()
                return
            else:
                f.write(b"250 2.0.0 Ok\r\n")
            f.flush()

    def said(self, verb):
        return [x for x in self.lines if x.upper().startswith(verb)]

    def stop(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)


@pytest.fixture
def recording_mx():
    made = []

    def make(**kw):
        m = RecordingMx(**kw)
        made.append(m)
        return m
    yield make
    for m in made:
        m.stop()


def tls_receiver(host_factory, domain, users, dns):
    """A Postern host with a certificate for mx.DOMAIN (self-signed: the
    sender's CA file for verify)."""
    h = host_factory(domain, users, with_dns(dns), start=False)
    cert, key = make_cert(h.root, "mx", f"mx.{domain}")
    # keyd reads it as key_user, as for a key postern setup made.
    shutil.chown(key, h.conf_value("key_user", "postern-key"))
    h.write_conf(with_dns(dns) + f"myhostname = mx.{domain}\n"
                 f"local_domains = {domain}\n"
                 f"tls_cert_file = {cert}\ntls_key_file = {key}\n")
    h.start()
    h.cert = cert
    return h


def log_since(host, mark):
    return host.log_text()[mark:]


def wait_log(host, pattern, timeout=30, mark=0):
    return wait_until(lambda: re.search(pattern, log_since(host, mark)),
                      timeout, what=f"{pattern!r} in the log")


def set_policy(host, extra, policy=None):
    """Rewrites host's postern.conf with extra (and a policy map) and
    reloads: the relay agents are replaced and read the new policy."""
    lines = extra
    if policy is not None:
        path = host.root / "tls_policy"
        path.write_text(policy)
        lines += f"smtp_tls_policy_map = {path}\n"
    host.write_conf(lines)
    mark = len(host.log_text())
    host.postern("reload")
    wait_log(host, r"relayd \(pid \d+\) replaced for the new "
             r"configuration", mark=mark)


def test_two_instances_relay_over_tls_and_log_it(nsd_factory,
                                                 host_factory):
    dns = dns_address()
    a = host_factory("a.test", ["alice"], with_dns(dns))
    b = tls_receiver(host_factory, "b.test", ["bob"], dns)
    nsd_factory({"a.test": netharness.zone_for_host("a.test", a.addr),
                 "b.test": netharness.zone_for_host("b.test", b.addr)},
                address=dns)
    submit(a, "alice@a.test", ["bob@b.test"],
           message("alice@a.test", "bob@b.test", "over tls"))
    [got] = b.wait_messages("bob@b.test", 1)
    data = got.read_bytes()
    # B's Received field: the message came under TLS (RFC 3848).
    first = re.search(rb"^Received: .*?(?=^\S)", data, re.M | re.S).group(0)
    assert b"with ESMTPS" in first, first
    assert b"using TLSv1.3 with cipher" in first, first
    # A's log: Postfix's line, with the version and cipher; the chain
    # is self-signed and level may does not care ("Untrusted").
    wait_log(a, r"Untrusted TLS connection established to "
             r"mx\.b\.test\[" + re.escape(b.addr) + r"\]:25: TLSv1\.3 "
             r"with cipher TLS_\w+ \(\d+/\d+ bits\)")
    wait_log(a, r"to=<bob@b\.test>, relay=mx\.b\.test\[" +
             re.escape(b.addr) + r"\]:25, .*status=sent")
    a.wait_queue_empty()


def test_encrypt_defers_and_says_nothing_in_plaintext_may_delivers(
        nsd_factory, host_factory, recording_mx):
    dns = dns_address()
    plain = recording_mx()
    a = host_factory("a.test", ["alice"], with_dns(dns) +
                     "smtp_tls_security_level = encrypt\n")
    nsd_factory({"a.test": netharness.zone_for_host("a.test", a.addr),
                 "c.test": netharness.zone_for_host("c.test",
                                                    plain.address)},
                address=dns)
    submit(a, "alice@a.test", ["carol@c.test"],
           message("alice@a.test", "carol@c.test", "must be encrypted"))
    wait_log(a, r"to=<carol@c\.test>, relay=mx\.c\.test\[" +
             re.escape(plain.address) + r"\]:25, .*dsn=4\.7\.5, "
             r"status=deferred \(TLS is required, but was not offered by host "
             r"mx\.c\.test\[" + re.escape(plain.address) + r"\]\)")
    # The exchanger was asked EHLO and heard QUIT: no envelope, no text.
    assert plain.said(b"EHLO"), plain.lines
    assert not plain.said(b"MAIL") and not plain.said(b"DATA"), plain.lines
    assert len(a.queue_entries()) == 1

    # The policy map makes c.test "may": the next retry goes in plaintext.
    set_policy(a, with_dns(dns) + "smtp_tls_security_level = encrypt\n",
               "# c.test has no TLS yet\n.example may\nc.test  may\n")
    # resolverd decides at its start whether to ask for DNSSEC: a map
    # (which may say dane) set by a reload waits for the next start.
    wait_log(a, r"reload: DNSSEC for DANE changed; it takes effect at the "
             r"next start")
    wait_until(lambda: plain.said(b"DATA"), 30, what="the plaintext DATA")
    a.wait_queue_empty()
    assert len(plain.said(b"MAIL")) == 1


def test_verify_defers_a_wrong_name_and_delivers_the_right_one(
        nsd_factory, host_factory):
    dns = dns_address()
    a = host_factory("a.test", ["alice"], with_dns(dns), start=False)
    b = tls_receiver(host_factory, "b.test", ["bob"], dns)
    conf = with_dns(dns) + f"myhostname = mx.a.test\nlocal_domains = " \
        f"a.test\nsmtp_tls_CAfile = {b.cert}\n"
    (a.root / "tls_policy").write_text("b.test verify match=mx.other.test\n")
    a.write_conf(conf + f"smtp_tls_policy_map = {a.root / 'tls_policy'}\n")
    a.start()
    nsd_factory({"a.test": netharness.zone_for_host("a.test", a.addr),
                 "b.test": netharness.zone_for_host("b.test", b.addr)},
                address=dns)
    submit(a, "alice@a.test", ["bob@b.test"],
           message("alice@a.test", "bob@b.test", "verified"))
    wait_log(a, r"to=<bob@b\.test>, relay=mx\.b\.test\[" +
             re.escape(b.addr) + r"\]:25, .*dsn=4\.7\.5, "
             r"status=deferred \(TLS with mx\.b\.test\[" + re.escape(b.addr) +
             r"\]: Server certificate not verified")
    assert b.messages("bob@b.test") == []
    assert len(a.queue_entries()) == 1

    # The certificate's own name (match= hostname: the exchanger's).
    mark = len(a.log_text())
    set_policy(a, conf, "b.test verify match=nexthop:hostname\n")
    [got] = b.wait_messages("bob@b.test", 1)
    assert b"Subject: verified" in got.read_bytes()
    wait_log(a, r"Verified TLS connection established to mx\.b\.test\[",
             mark=mark)
    a.wait_queue_empty()


def test_check_refuses_a_broken_policy_map(suite_factory, tmp_path):
    bad = tmp_path / "policy"
    bad.write_text("example.org sometimes\n")
    s = suite_factory(f"smtp_tls_policy_map = {bad}\n")
    r = s.postern("check", check=False)
    assert r.returncode != 0
    assert f'{bad}:1: unknown level "sometimes"' in r.stdout + r.stderr
    s.write_conf("smtp_tls_security_level = always\n")
    r = s.postern("check", check=False)
    assert r.returncode != 0
    assert "smtp_tls_security_level" in r.stdout + r.stderr
    s.write_conf(f"smtp_tls_CAfile = {tmp_path / 'missing.pem'}\n")
    r = s.postern("check", check=False)
    assert r.returncode != 0
    assert "smtp_tls_CAfile" in r.stdout + r.stderr
    bad.write_text("example.org verify match=mx.example.org\n"
                   ".example.org DANE\n")
    s.write_conf(f"smtp_tls_policy_map = {bad}\n"
                 "smtp_tls_security_level = Encrypt\n")
    s.postern("check")


def test_may_retries_a_failed_handshake_in_plaintext_encrypt_defers(
        nsd_factory, host_factory, recording_mx):
    dns = dns_address()
    broken = recording_mx(broken_tls=True)
    a = host_factory("a.test", ["alice"], with_dns(dns))
    nsd_factory({"a.test": netharness.zone_for_host("a.test", a.addr),
                 "c.test": netharness.zone_for_host("c.test",
                                                    broken.address)},
                address=dns)
    submit(a, "alice@a.test", ["carol@c.test"],
           message("alice@a.test", "carol@c.test", "broken tls"))
    wait_log(a, r"TLS handshake with mx\.c\.test:25 failed: .*; trying "
             r"again in plaintext")
    wait_log(a, r"to=<carol@c\.test>, relay=mx\.c\.test\[.*status=sent")
    # Two connections: STARTTLS on the first, the mail on the second.
    assert len(broken.said(b"STARTTLS")) == 1, broken.lines
    assert len(broken.said(b"EHLO")) == 2, broken.lines
    assert len(broken.said(b"DATA")) == 1, broken.lines
    a.wait_queue_empty()

    # The same receiver under encrypt: deferred, no second connection.
    lines = len(broken.lines)
    set_policy(a, with_dns(dns), "c.test encrypt\n")
    submit(a, "alice@a.test", ["carol@c.test"],
           message("alice@a.test", "carol@c.test", "broken tls 2"))
    wait_log(a, r"to=<carol@c\.test>, relay=mx\.c\.test\[" +
             re.escape(broken.address) + r"\]:25, .*dsn=4\.7\.5, "
             r"status=deferred \(Cannot start TLS: handshake failure "
             r"with mx\.c\.test\[")
    assert not [x for x in broken.lines[lines:]
                if x.upper().startswith((b"MAIL", b"DATA"))], broken.lines


def test_a_cached_tls_session_carries_the_next_message(nsd_factory,
                                                       host_factory):
    dns = dns_address()
    a = host_factory("a.test", ["alice"], with_dns(dns) +
                     "smtp_connection_cache_time = 10s\n")
    b = tls_receiver(host_factory, "b.test", ["bob"], dns)
    nsd_factory({"a.test": netharness.zone_for_host("a.test", a.addr),
                 "b.test": netharness.zone_for_host("b.test", b.addr)},
                address=dns)
    for n in (1, 2):
        submit(a, "alice@a.test", ["bob@b.test"],
               message("alice@a.test", "bob@b.test", f"cached {n}"))
        b.wait_messages("bob@b.test", n)
    for got in b.messages("bob@b.test"):
        assert b"with ESMTPS" in got.read_bytes()
    # One TLS session at B carried both; A logs TLS for each delivery.
    assert len(re.findall(r"TLS connection established from",
                          b.log_text())) == 1, b.log_text()
    assert len(re.findall(r"TLS connection established to mx\.b\.test",
                          a.log_text())) == 2


def test_what_a_server_sends_behind_its_220_to_starttls_is_discarded(
        nsd_factory, host_factory, recording_mx, tmp_path):
    cert, key = make_cert(tmp_path, "mx", "mx.c.test")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    # Were these taken as the server's words under TLS, the EHLO reply
    # would be "injected" and every later reply one step late: DATA
    # would get a 250, and no message text would go.
    mx = recording_mx(tls=ctx, inject=b"250-PIPELINING\r\n"
                      b"250 2.0.0 injected\r\n")
    dns = dns_address()
    a = host_factory("a.test", ["alice"], with_dns(dns) +
                     "smtp_tls_security_level = encrypt\n")
    nsd_factory({"a.test": netharness.zone_for_host("a.test", a.addr),
                 "c.test": netharness.zone_for_host("c.test", mx.address)},
                address=dns)
    submit(a, "alice@a.test", ["carol@c.test"],
           message("alice@a.test", "carol@c.test", "no injection"))
    wait_log(a, r"to=<carol@c\.test>, relay=mx\.c\.test\[.*status=sent "
             r"\(250 2\.0\.0 Ok: queued\)")
    assert "injected" not in a.log_text()
    wait_log(a, r"Untrusted TLS connection established to mx\.c\.test")
    # The envelope and the text went under TLS, once.
    assert [x[:4] for x in mx.secure_lines if x[:4] in
            (b"EHLO", b"MAIL", b"RCPT", b"DATA")] == \
        [b"EHLO", b"MAIL", b"RCPT", b"DATA"], mx.secure_lines
    assert b"Subject: no injection\r\n" in mx.secure_lines
    assert not [x for x in mx.lines if x not in mx.secure_lines and
                x[:4] in (b"MAIL", b"RCPT", b"DATA")]


# -- DANE (RFC 7672) -----------------------------------------------------------

@pytest.fixture
def dane_net(nsd_factory, host_factory):
    """A sender (a.test, level dane) behind a validating unbound, and a
    receiver mx.dane.test whose zone is signed; the test gives the TLSA
    record: dane_net(tlsa_for) -> (a, b, nsd, unbound), where tlsa_for
    maps the receiver's certificate to the record's data."""
    made = []
    if not os.path.exists(netharness.UNBOUND) or \
            not os.path.exists(netharness.LDNS_SIGNZONE):
        pytest.fail("unbound and ldnsutils are not installed (README "
                    "command 2 installs them)")

    def make(tlsa_for, signed=True):
        nsd_addr, resolver = dns_address(), dns_address()
        keys = netharness.ZoneKeys(netharness.new_tmpdir("postern-keys-"),
                                   "dane.test")
        made.append(keys.root)
        b = tls_receiver(host_factory, "dane.test", ["bob"], resolver)
        a = host_factory("a.test", ["alice"], with_dns(resolver) +
                         "smtp_tls_security_level = dane\n")
        nsd = nsd_factory({
            "a.test": netharness.zone_for_host("a.test", a.addr),
            "dane.test": netharness.zone_for_host("dane.test", b.addr) +
            f"_25._tcp.mx IN TLSA 3 1 1 {tlsa_for(b.cert)}\n",
        }, address=nsd_addr, signed={"dane.test": keys} if signed else None)
        u = netharness.Unbound(netharness.new_tmpdir("postern-unbound-"),
                               nsd, [keys.ds] if signed else [],
                               address=resolver)
        made.append(u)
        u.start()
        return a, b, nsd, u
    yield make
    keep = os.environ.get("POSTERN_KEEP_TMP") == "1"
    for m in made:
        if isinstance(m, netharness.Unbound):
            m.stop()
            m = m.root
        if not keep:
            shutil.rmtree(m, ignore_errors=True)


def spki_sha256(cert):
    """TLSA 3 1 1's data: SHA-256 of the certificate's public key."""
    pub = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout",
                          "-pubkey"], check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"],
                         input=pub, check=True, capture_output=True).stdout
    return hashlib.sha256(der).hexdigest()


def test_dane_a_matching_tlsa_3_1_1_delivers_verified(dane_net):
    a, b, _, _ = dane_net(spki_sha256)
    # resolverd believes its loopback resolver's AD bit.
    wait_log(a, r"DNS servers: .*DNSSEC: their AD bit is trusted")
    submit(a, "alice@a.test", ["bob@dane.test"],
           message("alice@a.test", "bob@dane.test", "dane match"))
    [got] = b.wait_messages("bob@dane.test", 1)
    assert b"Subject: dane match" in got.read_bytes()
    wait_log(a, r"Verified TLS connection established to mx\.dane\.test\[" +
             re.escape(b.addr) + r"\]:25: TLSv1\.3 with cipher")
    a.wait_queue_empty()


def test_dane_a_mismatching_tlsa_defers_and_sends_nothing(dane_net):
    a, b, _, _ = dane_net(lambda cert: "ab" * 32)
    submit(a, "alice@a.test", ["bob@dane.test"],
           message("alice@a.test", "bob@dane.test", "dane mismatch"))
    wait_log(a, r"to=<bob@dane\.test>, relay=mx\.dane\.test\[" +
             re.escape(b.addr) + r"\]:25, .*dsn=4\.7\.5, "
             r"status=deferred \(TLS with mx\.dane\.test\[" +
             re.escape(b.addr) + r"\]: Server certificate not verified")
    # Retried (queue_retry_min 2s), deferred again: never in plaintext.
    wait_until(lambda: len(re.findall(r"to=<bob@dane\.test>.*dsn=4\.7\.5",
                                      a.log_text())) >= 2, 30,
               what="a second deferral")
    assert len(a.queue_entries()) == 1
    assert b.messages("bob@dane.test") == []
    # The receiver's queue never saw it: no DATA reached it.
    assert "dane-mismatch@test" not in b.log_text()


def test_dane_without_dnssec_is_may_and_ignores_the_tlsa(dane_net):
    # The same wrong record, in a zone nobody signed: not authenticated
    # data, so no DANE (RFC 7672 2.2): delivered as level may would.
    a, b, _, _ = dane_net(lambda cert: "ab" * 32, signed=False)
    submit(a, "alice@a.test", ["bob@dane.test"],
           message("alice@a.test", "bob@dane.test", "dane insecure"))
    [got] = b.wait_messages("bob@dane.test", 1)
    assert b"with ESMTPS" in got.read_bytes()
    wait_log(a, r"Untrusted TLS connection established to mx\.dane\.test")
    a.wait_queue_empty()
