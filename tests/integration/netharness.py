"""Multi-host test network: hosts on their own loopback addresses, a real
DNS server that names them, and Postfix as a host nobody here wrote.

Every host of a test gets its own address 127.X.Y.Z (Linux answers for all
of 127/8 on lo), so each listens on the standard ports, 25 for SMTP and 53
for DNS, as a mail exchanger out in the world does. That matters for
Postfix: its SMTP client connects to port 25 of an exchanger and asks the
name servers of /etc/resolv.conf on port 53, with no knob for either.

- Nsd: Debian's nsd on ADDR:53 (UDP and TCP), serving the zones a test
  gives; zones can be replaced while it runs (SIGHUP, then the harness
  waits until the new serial answers), and it can be made silent (stopped,
  with a socket on its address that reads and never answers) to test
  what a mail server does when DNS does not answer.
- Postfix: a private instance of Debian's postfix (`master -c DIR`), its
  queue, data, mailboxes and log in a temporary directory, listening on
  ADDR:25 and sending from ADDR, delivering its domain into Maildirs
  through virtual(8) (no system users). glibc's resolver reads only
  /etc/resolv.conf, so the instance runs in a mount namespace of its own
  (unshare -m) where a resolv.conf naming the test's NSD is bind-mounted
  over /etc/resolv.conf; the mount is private to that namespace and the
  host's file is never touched.
- ZoneKeys and Unbound: a zone signed with ldns-signzone (a KSK and a
  ZSK from ldns-keygen) that NSD serves, and Debian's unbound on ADDR:53
  as the validating resolver in front of NSD (stub zones, no root
  hints used, the zone's DS as its only trust anchor): what a mail
  server's local resolver is for DANE.
- RefusingMx: an exchanger on ADDR:25 that greets with 421 or closes at
  once, for the fallback to the next exchanger.
- exact_message: a message that a careless relay would change (8-bit,
  a 998-byte line, dots at line starts), and split_trace to compare what
  arrived, below the trace headers, with what was sent.

NSD and Postfix are started as root (ports below 1024; Postfix's master must be root)
and stopped by PID, and a stop leaves no process behind: NSD's workers are
found by their config path, Postfix's daemons by the session its master
leads. Nothing sleeps to synchronise: every wait polls a condition with a
deadline.
"""
import grp
import os
import pathlib
import pwd
import random
import re
import shutil
import signal
import smtplib
import socket
import struct
import subprocess
import tempfile
import threading
import time

NSD = shutil.which("nsd") or "/usr/sbin/nsd"
UNBOUND = shutil.which("unbound") or "/usr/sbin/unbound"
LDNS_KEYGEN = shutil.which("ldns-keygen") or "/usr/bin/ldns-keygen"
LDNS_SIGNZONE = shutil.which("ldns-signzone") or "/usr/bin/ldns-signzone"
POSTFIX_DAEMONS = "/usr/lib/postfix/sbin"

_addresses_given = set()


def _deadline_wait(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for "
                                 f"{what}")
        time.sleep(0.01)


def _free_on(addr, ports):
    """Whether nothing listens on addr at these ports (TCP and UDP)."""
    for port in ports:
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            with socket.socket(socket.AF_INET, kind) as s:
                try:
                    s.bind((addr, port))
                except OSError:
                    return False
    return True


def loopback_address(ports=(25, 53, 110)):
    """A loopback address 127.X.Y.Z of this test's own. X is never 0, so
    no address of 127.0.0.0/16 (where the other tests and the system's
    own services listen) is ever handed out; the address is checked free
    on the given ports, and never handed out twice by one test process.
    Another test process (ctest -j2) picks from 16 million others."""
    for _ in range(1000):
        addr = "127.%d.%d.%d" % (random.randrange(1, 255),
                                 random.randrange(0, 256),
                                 random.randrange(1, 255))
        if addr in _addresses_given or not _free_on(addr, ports):
            continue
        _addresses_given.add(addr)
        return addr
    raise AssertionError(f"no loopback address free on ports {ports}: does "
                         f"a server hold them on the wildcard address "
                         f"(0.0.0.0)?")


def _stat(pid):
    """(state, session id) of a process, None once it is gone."""
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text() \
            .rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[3])


def alive(pid):
    """Whether pid runs: a zombie has ended (whoever inherited it, init
    here, may take a second to reap it) and counts as gone."""
    st = _stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def _pids_matching(pred):
    out = []
    for d in pathlib.Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            if pred(d) and alive(int(d.name)):
                out.append(int(d.name))
        except OSError:
            continue
    return out


def _kill_and_wait(pids, timeout=10):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _deadline_wait(lambda: not any(alive(p) for p in pids), timeout,
                   "killed processes to go")


# -- DNS: a minimal client, enough to know that NSD answers ------------------

def _qname(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def _skip_name(pkt, i):
    while True:
        n = pkt[i]
        if n == 0:
            return i + 1
        if n & 0xC0 == 0xC0:
            return i + 2
        i += 1 + n


def dns_soa_serial(server, zone, timeout=0.5, recursive=False):
    """The SOA serial server (ADDR) gives for zone over UDP port 53, or
    None when it does not answer it (no answer, an error, no SOA).
    recursive: ask with RD (a resolver, not an authority)."""
    qid = random.randrange(65536)
    query = struct.pack("!HHHHHH", qid, 0x0100 if recursive else 0, 1, 0,
                        0, 0) + _qname(zone) + \
        struct.pack("!HH", 6, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            # Connected, so that a port nobody listens on fails at once
            # (ICMP port unreachable) rather than after the timeout.
            s.connect((server, 53))
            s.send(query)
            pkt = s.recv(4096)
        except OSError:
            return None
    try:
        rid, flags, qd, an = struct.unpack("!HHHH", pkt[:8])
        if rid != qid or flags & 0xF or an < 1:
            return None
        i = 12
        for _ in range(qd):
            i = _skip_name(pkt, i) + 4
        i = _skip_name(pkt, i)
        rtype, _, _, rdlen = struct.unpack("!HHIH", pkt[i:i + 10])
        if rtype != 6:
            return None
        i += 10
        i = _skip_name(pkt, _skip_name(pkt, i))
        return struct.unpack("!I", pkt[i:i + 4])[0]
    except (struct.error, IndexError):
        return None


class Nsd:
    """Debian's NSD on ADDR:53 serving zones {name: records}. records are
    zone-file lines relative to the zone ($ORIGIN is the zone); the SOA
    and NS records are the harness's, with a serial that grows on every
    change so a reload can be waited for."""

    def __init__(self, root, zones, address=None, signed=None):
        self.root = pathlib.Path(root)
        self.address = address or loopback_address(ports=(53,))
        self.zones = dict(zones)
        # {zone: ZoneKeys}: those zones are served signed.
        self.signed = dict(signed or {})
        self.serial = 0
        self.proc = None
        self.conffile = self.root / "nsd.conf"
        self.logfile = self.root / "nsd.log"
        self._mtime = 0.0
        self._silence = []

    def _write_zones(self):
        self.serial += 1
        # NSD rereads a zone file on SIGHUP when its mtime changed: two
        # writes in one clock tick must still look changed.
        self._mtime = max(time.time(), self._mtime + 1.0)
        for name, records in self.zones.items():
            path = self.root / f"{name}.zone"
            path.write_text(
                f"$ORIGIN {name}.\n$TTL 300\n"
                f"@ IN SOA ns.{name}. admin.{name}. {self.serial} "
                f"3600 600 86400 60\n"
                f"@ IN NS ns.{name}.\n"
                f"ns IN A {self.address}\n" + records)
            if name in self.signed:
                path = self.signed[name].sign(path)
            os.utime(path, (self._mtime, self._mtime))

    def _write_conf(self):
        d = self.root
        text = f"""server:
    ip-address: {self.address}@53
    do-ip6: no
    username: ""
    chroot: ""
    zonesdir: "{d}"
    pidfile: "{d}/nsd.pid"
    database: ""
    xfrdfile: "{d}/xfrd.state"
    zonelistfile: "{d}/zone.list"
    logfile: "{self.logfile}"
    server-count: 1
    hide-version: yes
    verbosity: 1
remote-control:
    control-enable: no
"""
        for name in self.zones:
            suffix = ".signed" if name in self.signed else ""
            text += f"zone:\n    name: {name}\n" \
                    f"    zonefile: \"{d}/{name}.zone{suffix}\"\n"
        self.conffile.write_text(text)

    def start(self):
        self._unsilence()
        self._write_zones()
        self._write_conf()
        self.proc = subprocess.Popen([NSD, "-d", "-c", str(self.conffile)],
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self._wait_serial()

    def _servers(self):
        """The processes that answer queries: the main process's
        grandchildren (its child is the one that forks them)."""
        conf = str(self.conffile).encode()

        def server(d):
            if conf not in (d / "cmdline").read_bytes().split(b"\0"):
                return False
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            return int(d.name) != self.proc.pid and ppid != self.proc.pid
        return set(_pids_matching(server))

    def _wait_serial(self, timeout=20, old_servers=()):
        """Until every zone answers the new serial, and the servers of
        before a reload are gone: until one exits, it may still take a
        query and answer it from the old zones."""
        def answers():
            if self.proc.poll() is not None:
                raise AssertionError("nsd exited: " + self.log_text())
            return not (set(old_servers) & self._servers()) and \
                all(dns_soa_serial(self.address, z) == self.serial
                    for z in self.zones)
        _deadline_wait(answers, timeout, f"nsd on {self.address} to serve "
                       f"serial {self.serial} of {sorted(self.zones)}")

    def set_zones(self, zones):
        """Replaces the zones: the same names reload in place (SIGHUP),
        a different set of names restarts NSD on the same address. Returns
        once every zone answers with the new serial."""
        zones = dict(zones)
        if set(zones) != set(self.zones) or self.proc is None:
            self.stop()
            self.zones = zones
            self.start()
            return
        self.zones = zones
        self._write_zones()
        old = self._servers()
        self.proc.send_signal(signal.SIGHUP)
        self._wait_serial(old_servers=old)

    def set_zone(self, name, records):
        zones = dict(self.zones)
        zones[name] = records
        self.set_zones(zones)

    def silence(self):
        """Stops NSD and puts sockets on its address that take queries and
        never answer (UDP and TCP): a name server that went dark. start()
        (or set_zones) brings NSD back."""
        self.stop()
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((self.address, 53))
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        t.bind((self.address, 53))
        t.listen(16)
        self._silence = [u, t]
        assert dns_soa_serial(self.address, next(iter(self.zones)),
                              timeout=0.2) is None

    def _unsilence(self):
        for s in self._silence:
            s.close()
        self._silence = []

    def stop(self):
        self._unsilence()
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        # NSD's server and xfrd children, had any outlived the parent.
        conf = str(self.conffile).encode()
        left = _pids_matching(
            lambda d: conf in (d / "cmdline").read_bytes().split(b"\0"))
        _kill_and_wait(left)

    def restart(self):
        self.stop()
        self.start()

    def log_text(self):
        try:
            return self.logfile.read_text(errors="replace")
        except OSError:
            return ""


class ZoneKeys:
    """A KSK and a ZSK for zone (ldns-keygen, ECDSA P-256) in root; sign()
    signs a zone file with them (ldns-signzone, which adds the DNSKEY
    records); ds is the KSK's DS record, a validator's trust anchor."""

    def __init__(self, root, zone):
        self.root = pathlib.Path(root)
        self.zone = zone
        self.ksk = self._keygen("-k")
        self.zsk = self._keygen()
        self.ds = (self.root / f"{self.ksk}.ds").read_text()

    def _keygen(self, *flags):
        r = subprocess.run([LDNS_KEYGEN, "-a", "ECDSAP256SHA256", *flags,
                            self.zone], cwd=self.root, check=True,
                           capture_output=True, text=True)
        return r.stdout.strip()

    def sign(self, path):
        subprocess.run([LDNS_SIGNZONE, "-o", self.zone, str(path),
                        self.ksk, self.zsk], cwd=self.root, check=True,
                       capture_output=True)
        return pathlib.Path(f"{path}.signed")


class Unbound:
    """Debian's unbound on ADDR:53, validating, in front of an Nsd: one
    stub zone per zone NSD serves, the trust anchors given (DS records
    text), nothing asked beyond them. Started in the foreground, our
    child, stopped by PID."""

    def __init__(self, root, nsd, anchors, address=None):
        self.root = pathlib.Path(root)
        self.nsd = nsd
        self.anchors = anchors
        self.address = address or loopback_address(ports=(53,))
        self.conffile = self.root / "unbound.conf"
        self.logfile = self.root / "unbound.log"
        self.proc = None

    def _write_conf(self):
        d = self.root
        (d / "anchors").write_text("".join(self.anchors))
        text = f"""server:
    interface: {self.address}
    port: 53
    do-ip6: no
    username: ""
    chroot: ""
    directory: "{d}"
    pidfile: "{d}/unbound.pid"
    logfile: "{self.logfile}"
    use-syslog: no
    verbosity: 1
    val-log-level: 2
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    module-config: "validator iterator"
{f'    trust-anchor-file: "{d}/anchors"' if self.anchors else ""}
    num-threads: 1
    # RFC 6761's special-use names are unbound's own (NXDOMAIN) unless
    # told otherwise: the tests' domains are under test.
    local-zone: "test." nodefault
remote-control:
    control-enable: no
"""
        for name in self.nsd.zones:
            text += f"stub-zone:\n    name: {name}\n" \
                    f"    stub-addr: {self.nsd.address}@53\n"
        self.conffile.write_text(text)

    def start(self):
        self._write_conf()
        self.proc = subprocess.Popen([UNBOUND, "-d", "-c",
                                      str(self.conffile)],
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

        def answers():
            if self.proc.poll() is not None:
                raise AssertionError("unbound exited: " + self.log_text())
            return all(dns_soa_serial(self.address, z, recursive=True) ==
                       self.nsd.serial for z in self.nsd.zones)
        _deadline_wait(answers, 20, f"unbound on {self.address} to answer "
                       f"for {sorted(self.nsd.zones)}")

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log_text(self):
        try:
            return self.logfile.read_text(errors="replace")
        except OSError:
            return ""


def zone_for_host(domain, address, mx="mx", preference=10):
    """Records making address the one exchanger of domain:
    `domain MX preference mx.domain`, `mx.domain A address`."""
    return f"@ IN MX {preference} {mx}.{domain}.\n{mx} IN A {address}\n"


def zone_mx(domain, exchangers):
    """Records for several exchangers of domain: [(preference, name,
    address)], name relative to the zone."""
    return "".join(f"@ IN MX {pref} {name}.{domain}.\n{name} IN A {addr}\n"
                   for pref, name, addr in exchangers)


class RefusingMx:
    """An exchanger that will not take mail, on address:25: mode "421"
    greets with 421 and closes, "close" closes at once without a word.
    connections counts who came (a sender that tried it)."""

    def __init__(self, mode="421", address=None):
        self.mode = mode
        self.address = address or loopback_address()
        self.connections = 0
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
                self.connections += 1
                if self.mode == "421":
                    try:
                        c.sendall(b"421 4.3.2 mx.refusing.test busy, "
                                  b"try another\r\n")
                    except OSError:
                        pass

    def stop(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)


# -- what travels between hosts -----------------------------------------

# What Postfix relays unchanged, and what a careless relay breaks: 8-bit
# text (UTF-8 and a Latin-1 byte that is no UTF-8), a line of 998 bytes
# (RFC 5322's limit and Postfix's smtp_line_length_limit: longer ones it
# would fold), dot-stuffing ("." and ".." at line starts, a lone "."),
# blank lines, trailing blanks, tabs, and CRLF line ends in the SMTP
# submission that arrive as LF in the Maildir.
LONG = ("0123456789" * 100)[:998]
BODY_LINES = [
    "Gr\u00fc\u00dfe aus K\u00f6ln: 8-bit UTF-8 text.",
    ".A line that starts with a dot.",
    "..Two dots.",
    ".",
    "...",
    "",
    "Tabs\tand  trailing spaces.  ",
    LONG,
    "",
    "Last line.",
]
HEADERS = [
    "From: Sender <sender@p.test>",
    "To: Alice <alice@a.test>",
    "Subject: interop byte-exact",
    "Date: Wed, 02 Dec 2026 12:00:00 +0000",
    "Message-ID: <interop-1@p.test>",
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 8bit",
]


def exact_message():
    """The message as a client submits it (CRLF), and as a Maildir must
    hold it (LF), below the trace headers the servers add on the way."""
    text = "\r\n".join(HEADERS) + "\r\n\r\n" + "\r\n".join(BODY_LINES) + \
        "\r\n"
    wire = text.encode("utf-8").replace(b"K\xc3\xb6ln",
                                        b"K\xc3\xb6ln \xe9t\xe9")
    return wire, wire.replace(b"\r\n", b"\n")


TRACE = (b"Return-Path:", b"Delivered-To:", b"Received:", b"X-Original-To:")


def split_trace(data):
    """(trace header lines, the rest): the trace headers Postfix and
    Postern prepend, each with its continuation lines."""
    lines = data.split(b"\n")
    i, trace = 0, []
    while i < len(lines) and lines[i].startswith(TRACE):
        trace.append(lines[i])
        i += 1
        while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            trace[-1] += b"\n" + lines[i]
            i += 1
    return trace, b"\n".join(lines[i:])


# -- Postfix ---------------------------------------------------------------

POSTFIX_MASTER_CF = """\
# written by the test harness: no chroot (the queue directory is a temp
# dir), the listener on this instance's own address only.
{address}:25 inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

POSTFIX_MAIN_CF = """\
# written by the test harness
compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = {hostname}
mydomain = {domain}
myorigin = {domain}
# Its domain is a virtual mailbox domain: Maildirs under mail/, owned by
# one uid, no system users and no local(8).
mydestination =
virtual_mailbox_domains = {domain}
virtual_mailbox_base = {root}/mail
virtual_mailbox_maps = texthash:{root}/conf/vmailbox
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
virtual_mailbox_limit = 0
alias_maps =
alias_database =
# The smtpd listener is master.cf's ADDR:25 line; inet_interfaces only
# names what Postfix counts as itself (MX loop detection), and Postfix
# insists that it be an interface's address: 127.0.0.1 is, 127.X.Y.Z not.
inet_interfaces = loopback-only
inet_protocols = ipv4
smtp_bind_address = {address}
mynetworks = 127.0.0.0/8
# The message is the test's: no header rewriting, so what arrives can be
# compared byte for byte with what was sent.
local_header_rewrite_clients =
smtpd_banner = $myhostname ESMTP Postfix
smtp_tls_security_level = none
smtpd_tls_security_level = none
biff = no
in_flow_delay = 0
smtpd_error_sleep_time = 0
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
smtp_connect_timeout = 5s
delay_warning_time = 0
maillog_file = {root}/maillog
maillog_file_prefixes = {root}
{extra}
"""

# Queue directories as postfix-files makes them ("postfix check" does,
# and takes seconds: the harness makes them itself).
_POSTFIX_QUEUE_DIRS = {
    "active": (0o700, None), "bounce": (0o700, None),
    "corrupt": (0o700, None), "defer": (0o700, None),
    "deferred": (0o700, None), "flush": (0o700, None),
    "hold": (0o700, None), "incoming": (0o700, None),
    "private": (0o700, None), "saved": (0o700, None),
    "trace": (0o700, None),
    "maildrop": (0o730, "postdrop"), "public": (0o710, "postdrop"),
}


class Postfix:
    """A private Postfix instance: the MX of domain on address:25, users'
    mail in mail/DOMAIN/USER/Maildir, its log in maillog, asking the
    name server dns (an address) through its own /etc/resolv.conf."""

    def __init__(self, root, domain, users=(), dns=None, address=None,
                 hostname=None, extra=""):
        self.root = pathlib.Path(root)
        self.domain = domain
        self.address = address or loopback_address()
        self.hostname = hostname or f"mx.{domain}"
        self.dns = dns
        self.proc = None
        self.conf = self.root / "conf"
        self.maillog = self.root / "maillog"
        self.store = self.root / "mail"
        self.users = list(users)
        self._write(extra)

    def _write(self, extra):
        for d in ("conf", "queue", "data", "mail"):
            (self.root / d).mkdir(exist_ok=True)
        os.chmod(self.root, 0o755)
        pf = pwd.getpwnam("postfix")
        postdrop = grp.getgrnam("postdrop").gr_gid
        for name, (mode, group) in _POSTFIX_QUEUE_DIRS.items():
            p = self.root / "queue" / name
            p.mkdir(exist_ok=True)
            os.chown(p, pf.pw_uid, postdrop if group else 0)
            os.chmod(p, mode)
        (self.root / "queue" / "pid").mkdir(exist_ok=True)
        os.chmod(self.root / "queue", 0o755)
        os.chown(self.root / "data", pf.pw_uid, pf.pw_gid)
        os.chmod(self.root / "data", 0o700)
        # virtual(8) delivers as this uid: nobody owns the mail store.
        nobody = pwd.getpwnam("nobody")
        self.uid, self.gid = nobody.pw_uid, nobody.pw_gid
        os.chown(self.store, self.uid, self.gid)
        (self.conf / "master.cf").write_text(
            POSTFIX_MASTER_CF.format(address=self.address))
        (self.conf / "main.cf").write_text(POSTFIX_MAIN_CF.format(
            root=self.root, hostname=self.hostname, domain=self.domain,
            address=self.address, uid=self.uid, gid=self.gid, extra=extra))
        self.write_users()
        resolv = "options timeout:1 attempts:2\n"
        if self.dns:
            resolv = f"nameserver {self.dns}\n" + resolv
        (self.root / "resolv.conf").write_text(resolv)

    def write_users(self):
        (self.conf / "vmailbox").write_text("".join(
            f"{u}@{self.domain} {self.domain}/{u}/Maildir/\n"
            for u in self.users))
        # Postfix rereads a file modified in the last second or so until
        # it "cools down" (dict_load_file: 300 ms naps, seconds in all):
        # files the harness wrote are done, so they are dated back.
        old = time.time() - 60
        for f in self.conf.iterdir():
            os.utime(f, (old, old))

    def start(self, timeout=20):
        # A mount namespace of its own (unshare -m makes every mount in it
        # private), where /etc/resolv.conf is the test's; unshare and sh
        # exec, so the PID is master's own.
        script = (f"mount --bind {self.root}/resolv.conf /etc/resolv.conf "
                  f"&& exec {POSTFIX_DAEMONS}/master -c {self.conf}")
        self.start_mark = len(self.log_text())
        self.out = open(self.root / "master.out", "ab")
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             script], stdout=self.out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(
                    "postfix master exited:\n"
                    + (self.root / "master.out").read_text(errors="replace")
                    + self.log_text())
            try:
                with socket.create_connection((self.address, 25), 1) as s:
                    s.settimeout(2)
                    return s.recv(512).startswith(b"220")
            except OSError:
                return False
        _deadline_wait(ready, timeout, f"postfix on {self.address}:25")
        # What the instance sees as /etc/resolv.conf is the test's (and
        # the host's is unchanged: this process still sees its own).
        seen = pathlib.Path(f"/proc/{self.proc.pid}/root/etc/resolv.conf")
        assert seen.read_bytes() == \
            (self.root / "resolv.conf").read_bytes(), \
            "postfix does not see the test's resolv.conf"

    def processes(self):
        """PIDs of the instance's processes: the session master leads."""
        if self.proc is None:
            return []
        sid = self.proc.pid
        return _pids_matching(lambda d: (_stat(d.name) or ("", 0))[1] == sid)

    def stop(self):
        if self.proc is None:
            return
        pids = self.processes()
        if self.proc.poll() is None:
            # master passes SIGTERM on to its daemons, then exits.
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        left = [p for p in pids if alive(p)]
        sid = self.proc.pid
        self.proc = None
        left += [p for p in _pids_matching(
            lambda d: (_stat(d.name) or ("", 0))[1] == sid)
            if p not in left]
        _kill_and_wait(left)
        self.out.close()

    # -- mail in and out -------------------------------------------------
    def send(self, sender, rcpts, message, mail_options=()):
        """Submits over SMTP to the instance; returns the refused dict."""
        with smtplib.SMTP(self.address, 25, timeout=30) as s:
            s.ehlo("client.test")
            return s.sendmail(sender, rcpts, message,
                              mail_options=list(mail_options))

    def maildir(self, addr):
        user, domain = addr.lower().rsplit("@", 1)
        return self.store / domain / user / "Maildir"

    def messages(self, addr):
        new = self.maildir(addr) / "new"
        if not new.is_dir():
            return []
        return sorted(p for p in new.iterdir() if p.is_file())

    def wait_messages(self, addr, count, timeout=30):
        def enough():
            msgs = self.messages(addr)
            return msgs if len(msgs) >= count else None
        try:
            return _deadline_wait(enough, timeout,
                                  f"{count} messages for {addr}")
        except AssertionError:
            raise AssertionError(
                f"{addr} has {len(self.messages(addr))} of {count} "
                f"messages at postfix {self.address}\n--- maillog ---\n"
                + self.log_text()[-4000:])

    def wait_log(self, pattern, timeout=30):
        """Waits until the maillog (since start) matches the regex."""
        rx = re.compile(pattern)

        def found():
            return rx.search(self.log_text()[self.start_mark:])
        try:
            return _deadline_wait(found, timeout, f"maillog: {pattern}")
        except AssertionError:
            raise AssertionError(f"no {pattern!r} in postfix's maillog:\n"
                                 + self.log_text()[-4000:])

    def log_text(self):
        try:
            return self.maillog.read_text(errors="replace")
        except OSError:
            return ""


def postfix_installed():
    return os.path.exists(f"{POSTFIX_DAEMONS}/master")


def new_tmpdir(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)
    return d
