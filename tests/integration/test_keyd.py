"""keyd: the TLS private keys live in their own process.

A TLS server built the way Postern's session processes are (the test
tool tls-keyd: the certificate, a connection to keyd, keyclient's key)
completes handshakes with real clients (openssl s_client, Python's ssl)
for RSA (PSS and PKCS#1 v1.5 signatures), ECDSA P-256/P-384 and
Ed25519 keys, while its memory holds none of the private key; keyd's
memory does (so the scan can fail). keyd refuses a key file its group or
others can read; killed, it is restarted by master, the session that
held the old connection fails its handshake cleanly and the next one
works; SIGHUP rereads the keys and keeps one whose file went bad."""
import os
import pwd
import re
import signal
import subprocess
import threading
import queue
import socket
import ssl

import pytest

from conftest import wait_until
from test_authd import memory_holds

TOOL = "tls-keyd"


def make_key(root, kind):
    """A key and a self-signed certificate for mx.test in root."""
    key, cert = root / f"{kind}.key", root / f"{kind}.crt"
    algs = {"rsa": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            "p256": ["-algorithm", "EC", "-pkeyopt",
                     "ec_paramgen_curve:P-256"],
            "p384": ["-algorithm", "EC", "-pkeyopt",
                     "ec_paramgen_curve:P-384"],
            "ed25519": ["-algorithm", "ED25519"]}[kind]
    subprocess.run(["openssl", "genpkey", *algs, "-out", str(key)],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "req", "-new", "-x509", "-key", str(key),
                    "-out", str(cert), "-days", "2", "-subj", "/CN=mx.test"],
                   check=True, capture_output=True)
    return key, cert


def private_needles(key):
    """Byte strings only the private key holds: the private exponent or
    scalar as OpenSSL prints it, big-endian and as a BIGNUM keeps it in
    memory (little-endian words), and a line of the PEM text."""
    text = subprocess.run(["openssl", "pkey", "-in", str(key), "-text",
                           "-noout"], check=True, capture_output=True,
                          text=True).stdout
    m = re.search(r"(?:privateExponent|priv):\s*\n((?:\s+[0-9a-f:]+\n)+)",
                  text)
    raw = bytes.fromhex(re.sub(r"[\s:]", "", m.group(1)))
    raw = raw.lstrip(b"\0")
    pem_line = key.read_text().splitlines()[2].encode()
    return {raw[:24], raw[::-1][:24], pem_line}


class Tool:
    """tls-keyd serve: one line per client on stdout."""

    def __init__(self, suite, key, cert):
        self.p = subprocess.Popen(
            [str(suite.build / "tests" / TOOL), "serve", str(suite.spool),
             str(key), str(cert)], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.errs = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._err, daemon=True).start()
        first = self.lines.get(timeout=20)
        assert first.startswith("ready "), first
        self.port = int(first.split()[1])

    def _read(self):
        for line in self.p.stdout:
            self.lines.put(line.strip())

    def _err(self):
        for line in self.p.stderr:
            self.errs.append(line)

    def result(self):
        return self.lines.get(timeout=30)

    def stop(self):
        self.p.kill()
        self.p.wait()


@pytest.fixture
def tool_factory():
    made = []

    def make(suite, key, cert):
        t = Tool(suite, key, cert)
        made.append(t)
        return t
    yield make
    for t in made:
        t.stop()


def keyd_suite(suite_factory, kind="rsa", extra=""):
    s = suite_factory()
    key, cert = make_key(s.root, kind)
    s.write_conf(f"tls_key_file = {key}\ntls_cert_file = {cert}\n" + extra)
    s.postern("setup")		# gives the key to key_user, mode 0600
    s.start()
    return s, key, cert


def s_client(port, *opts):
    r = subprocess.run(["openssl", "s_client", "-connect",
                        f"127.0.0.1:{port}", "-servername", "mx.test",
                        *opts], input=b"", capture_output=True, timeout=30)
    return r.returncode, r.stdout.decode(errors="replace")


def py_client(port, cert, maxv=None):
    ctx = ssl.create_default_context(cafile=str(cert))
    if maxv is not None:
        ctx.maximum_version = maxv
    with socket.create_connection(("127.0.0.1", port), 10) as raw:
        with ctx.wrap_socket(raw, server_hostname="mx.test") as s:
            return s.version(), s.recv(64)


def test_handshake_signs_through_keyd_and_the_session_holds_no_key(
        suite_factory, tool_factory):
    s, key, cert = keyd_suite(suite_factory, "rsa")
    st = key.stat()
    assert st.st_mode & 0o777 == 0o600
    assert st.st_uid == pwd.getpwnam("postern-key").pw_uid
    t = tool_factory(s, key, cert)
    # TLS 1.3 (RSA-PSS), verified against the certificate.
    assert py_client(t.port, cert) == ("TLSv1.3", b"hello\n")
    assert t.result().startswith("ok TLSv1.3")
    # TLS 1.2 with PSS, and with PKCS#1 v1.5.
    for sigalgs, shown in (("rsa_pss_rsae_sha256", "RSA-PSS"),
                           ("RSA+SHA384", "RSA")):
        rc, out = s_client(t.port, "-tls1_2", "-sigalgs", sigalgs)
        assert t.result().startswith("ok TLSv1.2"), out
        assert f"Peer signature type: {shown}\n" in out, out
    # The session process never had the key; keyd has it.
    needles = private_needles(key)
    assert memory_holds(t.p.pid, needles) == set()
    [keyd] = s.pids_of("keyd")
    assert memory_holds(keyd, needles), "the scan finds nothing anywhere"
    with open(f"/proc/{keyd}/status") as f:
        uid = [l.split()[1] for l in f if l.startswith("Uid:")][0]
    assert int(uid) == pwd.getpwnam("postern-key").pw_uid
    assert re.search(r"keyd\[\d+\]: holding key .*rsa\.key \(RSA, 2048",
                     s.log_text())


@pytest.mark.parametrize("kind", ["p256", "p384", "ed25519"])
def test_ecdsa_and_ed25519_keys_sign_through_keyd(suite_factory,
                                                   tool_factory, kind):
    s, key, cert = keyd_suite(suite_factory, kind)
    t = tool_factory(s, key, cert)
    assert py_client(t.port, cert) == ("TLSv1.3", b"hello\n")
    assert t.result().startswith("ok TLSv1.3")
    if kind != "ed25519":
        assert py_client(t.port, cert, ssl.TLSVersion.TLSv1_2)[0] == \
            "TLSv1.2"
        assert t.result().startswith("ok TLSv1.2")
    assert memory_holds(t.p.pid, private_needles(key)) == set()


def test_a_key_others_can_read_is_refused(suite_factory, tool_factory):
    s, key, cert = keyd_suite(suite_factory, "p256")
    s.stop()
    os.chmod(key, 0o640)
    s.start()
    wait_until(lambda: re.search(
        r"keyd\[\d+\]: error: key file .*p256\.key: mode 0640 lets its "
        r"group or others at it: refused", s.log_text()),
        what="keyd to refuse the key")
    assert re.search(r"keyd\[\d+\]: started as postern-key, 0 keys",
                     s.log_text())
    t = tool_factory(s, key, cert)
    rc, out = s_client(t.port)
    assert rc != 0
    assert t.result().startswith("fail")
    wait_until(lambda: "no such key" in s.log_text(), what="the refusal")


def test_key_owned_by_another_user_is_refused(suite_factory):
    s, key, cert = keyd_suite(suite_factory, "p256")
    s.stop()
    os.chown(key, pwd.getpwnam("postern-auth").pw_uid, 0)
    s.start()
    wait_until(lambda: re.search(
        r"keyd\[\d+\]: error: key file .*p256\.key: (owned by uid \d+, "
        r"neither root nor key_user|cannot read it)", s.log_text()),
        what="keyd to refuse the key")


def test_keyd_killed_fails_the_handshake_cleanly_then_recovers(
        suite_factory, tool_factory):
    s, key, cert = keyd_suite(suite_factory, "p256")
    t = tool_factory(s, key, cert)
    assert py_client(t.port, cert)[1] == b"hello\n"
    assert t.result().startswith("ok")
    [old] = s.pids_of("keyd")
    os.kill(old, signal.SIGKILL)
    # The session's connection to keyd died with it: no signature, a
    # handshake failure, and a line that says why.
    with pytest.raises((ssl.SSLError, ConnectionError)):
        py_client(t.port, cert)
    assert t.result().startswith("fail")
    wait_until(lambda: any("the connection to keyd is broken" in e
                           for e in t.errs), what="the tool's log line")
    wait_until(lambda: s.pids_of("keyd") and s.pids_of("keyd") != [old],
               what="master to restart keyd")
    # The next session connects to the new keyd.
    assert py_client(t.port, cert)[1] == b"hello\n"
    assert t.result().startswith("ok")


def test_reload_rereads_keys_and_keeps_one_that_went_bad(suite_factory,
                                                         tool_factory):
    s, key, cert = keyd_suite(suite_factory, "p256")
    [keyd] = s.pids_of("keyd")
    os.chmod(key, 0o644)
    s.postern("reload")
    wait_until(lambda: "keeping the key read before" in s.log_text(),
               what="keyd to keep the old key")
    assert s.pids_of("keyd") == [keyd]
    t = tool_factory(s, key, cert)
    assert py_client(t.port, cert)[1] == b"hello\n"
    # A new key under the same name: the next session signs with it.
    key2, cert2 = make_key(s.root, "rsa")
    os.replace(key2, key)
    os.replace(cert2, cert)
    s.postern("setup")
    s.postern("reload")
    wait_until(lambda: re.search(r"keyd\[\d+\]: holding key .*p256\.key "
                                 r"\(RSA", s.log_text()),
               what="keyd to take the new key")
    t2 = tool_factory(s, key, cert)
    assert py_client(t2.port, cert)[1] == b"hello\n"


def test_malformed_frames_close_the_client_and_keyd_lives(suite_factory):
    s, key, cert = keyd_suite(suite_factory, "p256")
    [keyd] = s.pids_of("keyd")
    path = str(s.spool / "private" / "key.sock")
    # A header that promises more than a request may hold, then junk.
    for junk in (b"\x50\0\0\0" + b"\xff\xff\x00\x00" + b"\0" * 8,
                 b"\x50\0\0\0\x04\0\0\0\x01\0\0\0\0\0\0\0\x09\0\0\0",
                 os.urandom(64)):
        c = socket.socket(socket.AF_UNIX)
        c.connect(path)
        c.sendall(junk)
        c.settimeout(10)
        assert c.recv(64) == b""	# closed, no answer
        c.close()
    wait_until(lambda: "closing the client" in s.log_text(),
               what="the log line")
    assert s.pids_of("keyd") == [keyd]


def test_signatures_per_second_through_keyd(suite_factory):
    """The figure for the report: keyd against in-process signing."""
    out = []
    for kind in ("rsa", "p256"):
        s, key, cert = keyd_suite(suite_factory, kind)
        r = subprocess.run([str(s.build / "tests" / TOOL), "bench",
                            str(s.spool), str(key), str(cert), str(key),
                            "2000"], capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, r.stderr
        out.append(f"{kind}: " + " ".join(r.stdout.split()))
        s.stop()
    print("\n".join(out))
