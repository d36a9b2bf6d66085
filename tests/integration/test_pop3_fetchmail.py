"""fetchmail (Debian's 6.4) retrieves mail from pop3d over TLS: implicit
TLS on pop3s_listen (--ssl) and STLS on the POP3 port (--sslproto
tls1.2+ without --ssl makes fetchmail require it), with the server's
certificate verified (sslcertck) against the self-signed one postern
setup made, delivering into an MDA that writes a file. The message
must arrive byte for byte (fetchmail hands an MDA LF line ends, and
undoes the dot-stuffing), and be gone from the server afterwards, or
stay with --keep.

fetchmail runs with a private HOME holding its .fetchmailrc (mode 0600,
the only place it takes a password from), in the foreground (-d0,
--nodetach), with a server timeout, and under a subprocess timeout so
it can never hang the suite. fetchmail is a test dependency (README,
command 2): without it these tests fail rather than skip."""
import os
import pathlib
import re
import subprocess

import pytest

from conftest import free_port
from test_pop3 import ALICE, MESSAGE, PASSWORD, all_files, deliver, ready

@pytest.fixture
def fsuite(suite_factory):
    """A suite with a certificate, STLS on the POP3 port and pop3s, where
    127.0.0.1 may not log in without TLS; one message for alice."""
    s = suite_factory("")
    s.pop3s_port = free_port()
    tls = s.root / "tls"
    s.write_conf(f"tls_cert_file = {tls}/cert.pem\n"
                 f"tls_key_file = {tls}/key.pem\n"
                 f"pop3s_listen = 127.0.0.1:{s.pop3s_port}\n"
                 "plaintext_auth_networks = 127.0.0.200/32\n")
    assert "made a self-signed certificate" in s.postern("setup").stdout
    s.postern("user", "add", ALICE)
    s.start()
    ready(s)
    deliver(s, ALICE, [MESSAGE])
    return s


def fetchmail(suite, port, options, extra_args=()):
    """Runs fetchmail once for alice against port with the rc file's
    poll options; returns (the CompletedProcess, the MDA's file)."""
    home = pathlib.Path(suite.root) / "fetchmail-home"
    home.mkdir(mode=0o700, exist_ok=True)
    out = home / "delivered.eml"
    if out.exists():
        out.unlink()
    cert = suite.root / "tls" / "cert.pem"
    rc = home / ".fetchmailrc"
    # "localhost" is the certificate's name (postern setup puts the
    # local domains in its subjectAltName); the suite listens on
    # 127.0.0.1 only.
    rc.write_text(
        "set no syslog\n"
        f"poll localhost protocol POP3 port {port} timeout 20\n"
        f'  user "{ALICE}" there with password "{PASSWORD}"\n'
        f'  sslcertck sslcertfile "{cert}" {options}\n'
        f'  mda "cat > {out}"\n')
    os.chmod(rc, 0o600)
    # Only what fetchmail needs: no USER/LOGNAME (as root it would run
    # the MDA as that user), its own HOME for .fetchids and its lock.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home),
           "FETCHMAILHOME": str(home)}
    r = subprocess.run(["fetchmail", "-f", str(rc), "-d0", "--nodetach",
                        "-v", *extra_args], env=env, capture_output=True,
                       timeout=120)
    return r, out


def stored(suite):
    """alice's one message as the Maildir holds it (LF line ends)."""
    [path] = all_files(suite, ALICE)
    return path.read_bytes()


def as_delivered(data):
    """The message as the MDA got it, less the Received: field fetchmail
    adds (with its continuation lines): what pop3d sent, unstuffed."""
    ours = re.compile(rb"^Received: from localhost \[127\.0\.0\.1\]\n"
                      rb"(?:[ \t][^\n]*\n)*", re.M)
    found = [m for m in ours.finditer(data) if b"fetchmail" in m.group(0)]
    assert len(found) == 1, data
    return data[:found[0].start()] + data[found[0].end():]


def test_fetchmail_ssl_on_pop3s_retrieves_and_deletes(fsuite):
    s = fsuite
    want = stored(s)
    assert want.endswith(MESSAGE.replace(b"\r\n", b"\n"))
    r, out = fetchmail(s, s.pop3s_port, "ssl sslproto tls1.2+")
    log = (r.stdout + r.stderr).decode(errors="replace")
    assert r.returncode == 0, log
    assert as_delivered(out.read_bytes()) == want, log
    # Implicit TLS from the first byte, verified.
    assert not re.search(r"STLS", log), log
    assert not all_files(s, ALICE), "the message stayed on the server"


def test_fetchmail_stls_with_keep(fsuite):
    s = fsuite
    want = stored(s)
    r, out = fetchmail(s, s.pop3_port, "sslproto tls1.2+ keep")
    log = (r.stdout + r.stderr).decode(errors="replace")
    assert r.returncode == 0, log
    # In the clear pop3d offered no login (127.0.0.1 is outside
    # plaintext_auth_networks here): fetchmail logged in after STLS.
    assert re.search(r"POP3> STLS\n.*upgrade to TLS succeeded", log,
                     re.S), log
    assert as_delivered(out.read_bytes()) == want, log
    assert stored(s) == want, "keep deleted the message"
    # The server's log agrees: the login came under TLS.
    assert re.search(r"pop3d\[\d+\]: Anonymous TLS connection established "
                     r"from \[127\.0\.0\.1\]", s.log_text())


def test_fetchmail_refuses_a_certificate_it_cannot_verify(fsuite):
    """sslcertck against a CA file that did not sign the server's
    certificate: fetchmail stops before it sends the password, and the
    message stays."""
    s = fsuite
    other = s.root / "other-ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", str(s.root / "other-key.pem"),
                    "-out", str(other), "-subj", "/CN=localhost", "-days",
                    "1"], check=True, capture_output=True, timeout=60)
    r, out = fetchmail(s, s.pop3s_port, "ssl sslproto tls1.2+",
                       extra_args=("--sslcertfile", str(other)))
    log = (r.stdout + r.stderr).decode(errors="replace")
    assert r.returncode != 0, log
    assert "Server certificate verification error" in log, log
    assert not out.exists()
    assert len(all_files(s, ALICE)) == 1
    assert "PASS" not in log
