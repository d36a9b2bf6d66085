"""Test harness: runs the real Postern suite from the build tree.

Each test that asks for `suite` gets a fresh instance in its own temporary
directory (spool, maps, mail store, config), started with `master -f`, and
stopped by PID at the end. Nothing here sleeps to synchronise: every wait is
a condition polled until a deadline.

Tests between hosts (netharness.py) give a suite a loopback address of its
own, where it listens on port 25 and 110 as a domain's MX does, and start
Debian's NSD and Postfix beside it: the fixtures nsd_factory,
postfix_factory and host_factory below.
"""
import os
import pathlib
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

import netharness


def pytest_addoption(parser):
    parser.addoption("--build-dir", action="store", default=None,
                     help="CMake build directory holding libexec/ and bin/")


def wait_until(cond, timeout=20.0, interval=0.02, what="condition"):
    """Polls cond() until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def free_port():
    """A port to listen on, below the ephemeral range: a port the kernel
    hands out by bind(0) may meanwhile become the local end of one of the
    tests' own client connections, and the suite then cannot bind it."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
    for _ in range(1000):
        port = random.randrange(10000, max(low, 10001))
        if port in _ports_given:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _ports_given.add(port)
        return port
    raise AssertionError("no free port below the ephemeral range")


_ports_given = set()

# What ASan, LSan and UBSan print when they find something (or cannot look).
SANITIZER_REPORT = re.compile(
    r"ERROR: \w*Sanitizer|\w*Sanitizer has encountered a fatal error|"
    r"\w*Sanitizer CHECK failed|runtime error:")


def sanitizer_build(build_dir):
    """Whether build_dir was configured with POSTERN_SANITIZE=ON."""
    try:
        cache = (pathlib.Path(build_dir) / "CMakeCache.txt").read_text()
    except OSError:
        return False
    return re.search(r"^POSTERN_SANITIZE:BOOL=(ON|1|TRUE|YES)$", cache,
                     re.M | re.I) is not None


class Suite:
    def __init__(self, build_dir, root, extra_conf="", address=None):
        """address: a loopback address of the suite's own (see
        netharness.loopback_address), where it listens on the standard
        ports 25 and 110; by default 127.0.0.1 and free high ports."""
        self.build = pathlib.Path(build_dir)
        self.root = pathlib.Path(root)
        self.own_address = address is not None
        self.addr = address or "127.0.0.1"
        if self.own_address:
            self.port, self.pop3_port, self.imap_port = 25, 110, 143
        else:
            self.port = free_port()
            self.pop3_port = free_port()
            self.imap_port = free_port()
        self.dns_port = free_port()	# nothing listens there
        self.conf = self.root / "postern.conf"
        self.spool = self.root / "spool"
        self.maps = self.root / "maps"
        self.store = self.root / "mail"
        self.aliases = self.root / "aliases"
        self.logfile = self.root / "suite.log"
        self.pidfile = self.root / "master.pid"
        self.proc = None
        self.sanitizer = sanitizer_build(self.build)
        self.write_conf(extra_conf)
        self.aliases.write_text("postmaster: root\nroot: admin\n"
                                "MAILER-DAEMON: postmaster\n")

    # -- configuration and commands ------------------------------------
    def write_conf(self, extra=""):
        keys = {
            "myhostname": "mx.test",
            "local_domains": "example.test, localhost",
            "mynetworks": "127.0.0.0/8",
            "spool_directory": self.spool,
            "map_directory": self.maps,
            "mail_store": self.store,
            "aliases_file": self.aliases,
            "daemon_directory": self.build / "libexec",
            "pid_file": self.pidfile,
            "smtp_listen": f"{self.addr}:{self.port}",
            "pop3_listen": f"{self.addr}:{self.pop3_port}",
            "imap_listen": f"{self.addr}:{self.imap_port}",
            "local_delivery_concurrency": 4,
            "remote_delivery_concurrency": 2,
            # No test asks the host's resolver: a loopback port where
            # nothing answers, so mail for other domains waits (4.4.3)
            # unless a test names its own DNS server.
            "dns_servers": f"127.0.0.1:{self.dns_port}",
            "dns_timeout": "1s",
            "dns_attempts": 1,
            "queue_retry_min": "2s",
            "queue_retry_max": "10s",
            "restart_backoff_max": "1s",
        }
        # A test's own settings replace the harness's.
        for line in extra.splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                keys[k.strip()] = v.strip()
        self.conf.write_text("# written by the test harness\n" + "".join(
            f"{k} = {v}\n" for k, v in keys.items()))

    def postern(self, *args, check=True, input=None):
        """Runs the admin command against this instance."""
        r = subprocess.run([str(self.build / "bin" / "postern"), "-c",
                            str(self.conf), *args], capture_output=True,
                           text=True, input=input, timeout=60)
        # Also where a test expects a failure: a sanitizer report is not one.
        if SANITIZER_REPORT.search(r.stderr):
            raise AssertionError(f"sanitizer report from postern "
                                 f"{' '.join(args)}:\n{r.stderr}")
        if check and r.returncode != 0:
            raise AssertionError(f"postern {' '.join(args)} failed "
                                 f"({r.returncode}): {r.stdout}{r.stderr}")
        return r

    def sendmail(self, *args, input=b"", check=True):
        env = dict(os.environ, POSTERN_CONFIG=str(self.conf))
        r = subprocess.run([str(self.build / "bin" / "sendmail"), *args],
                           input=input, capture_output=True, env=env,
                           timeout=60)
        if SANITIZER_REPORT.search(r.stderr.decode(errors="replace")):
            raise AssertionError("sanitizer report from sendmail:\n"
                                 + r.stderr.decode(errors="replace"))
        if check and r.returncode != 0:
            raise AssertionError(f"sendmail failed ({r.returncode}): "
                                 f"{r.stderr.decode(errors='replace')}")
        return r

    def bin_for_others(self, name):
        """A copy of the build's bin/NAME that another uid can run: the
        build tree may sit where only root can reach it (a clone in
        /root, mode 0700, as on a fresh Debian machine)."""
        d = self.root / "bin"
        d.mkdir(exist_ok=True)
        os.chmod(d, 0o755)
        dst = d / name
        if not dst.exists():
            shutil.copy2(self.build / "bin" / name, dst)
            os.chmod(dst, 0o755)
        return dst

    # -- lifecycle ------------------------------------------------------
    def sanitizer_chroot_proc(self):
        """LeakSanitizer's exit check needs /proc; in a sanitizer build
        priv_drop binds it onto <chroot>/proc when that exists (see
        libcommon/priv.c). smtpd's and relayd's chroots get one: pop3d's
        must stay empty, and its processes end with _exit anyway. Every
        way of starting master calls this first."""
        if self.sanitizer:
            for chroot in ("smtpd", "relay"):
                (self.spool / chroot / "proc").mkdir(parents=True,
                                                     exist_ok=True)

    def start(self, **popen):
        """Starts master; popen (env, pass_fds, cwd) goes to Popen."""
        self.start_mark = len(self.log_text())
        self.sanitizer_chroot_proc()
        for attempt in range(3):
            self.log = open(self.logfile, "ab")
            self.proc = subprocess.Popen(
                [str(self.build / "libexec" / "master"), "-c",
                 str(self.conf), "-f"],
                stdout=self.log, stderr=subprocess.STDOUT, **popen)
            try:
                wait_until(self.smtp_ready, 20, what="SMTP listener to greet")
                break
            except AssertionError as e:
                # Another test process (ctest -j2) may have taken one of
                # our ports between free_port's look and master's bind:
                # new ports, and again. Anything else is a failure, and
                # so is a clash on an address of the suite's own, which
                # a test may already have put in DNS.
                if attempt == 2 or self.own_address or \
                        "Address already in use" not in str(e):
                    raise
                self.log.close()
                self.move_ports()
        wait_until(self.daemons_ready, 20, what="every daemon to start")

    def move_ports(self):
        """New free ports for both listeners, in the config file too."""
        old = {"smtp_listen": self.port, "pop3_listen": self.pop3_port,
               "imap_listen": self.imap_port}
        self.port, self.pop3_port = free_port(), free_port()
        self.imap_port = free_port()
        new = {"smtp_listen": self.port, "pop3_listen": self.pop3_port,
               "imap_listen": self.imap_port}
        lines = []
        for line in self.conf.read_text().splitlines(keepends=True):
            k = line.partition("=")[0].strip()
            if k in old:
                line = line.replace(f":{old[k]}", f":{new[k]}")
            lines.append(line)
        self.conf.write_text("".join(lines))

    def daemons_ready(self):
        """Whether every daemon of this start has loaded the config and
        said so: a test that rewrites postern.conf must not race a daemon
        still reading it."""
        log = self.log_text()[getattr(self, "start_mark", 0):]
        return (re.search(r"/queued\[\d+\]: started", log) and
                re.search(r"/resolverd\[\d+\]: started", log) and
                re.search(r"/authd\[\d+\]: started", log) and
                re.search(r"/keyd\[\d+\]: started", log) and
                # pop3d too (started last): a test that breaks the file
                # at once must not catch it still reading.
                (not self.conf_value("pop3_listen", "") or
                 re.search(r"/pop3d\[\d+\]: ready", log)) and
                (not self.conf_value("imap_listen", "") or
                 re.search(r"/imapd\[\d+\]: ready", log)) and
                re.search(r"/smtpd\[\d+\]: ready", log) and
                len(re.findall(r"/deliverd\[\d+\]: started", log))
                >= int(self.conf_value("local_delivery_concurrency", "4")) and
                len(re.findall(r"/relayd\[\d+\]: started", log))
                >= int(self.conf_value("remote_delivery_concurrency", "2")))

    def conf_value(self, key, default):
        for line in self.conf.read_text().splitlines():
            k, _, v = line.partition("=")
            if k.strip() == key:
                return v.strip()
        return default

    def smtp_ready(self):
        if self.proc.poll() is not None:
            raise AssertionError("master exited early:\n" + self.log_text())
        try:
            with socket.create_connection((self.addr, self.port), 1) as s:
                s.settimeout(2)
                return s.recv(512).startswith(b"220")
        except OSError:
            return False

    def pids_of(self, name):
        """PIDs of this instance's processes running the given daemon."""
        pids = []
        for d in pathlib.Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                argv = (d / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if str(self.conf).encode() in argv and \
                    os.path.basename(argv[0]).decode(errors="replace") == name:
                pids.append(int(d.name))
        return pids

    def all_pids(self):
        out = []
        for n in ("master", "smtpd", "queued", "resolverd", "authd", "keyd",
                  "deliverd", "relayd", "pop3d", "imapd"):
            out += self.pids_of(n)
        return out

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # Anything left (a session process, a wedged daemon) dies by PID.
        for pid in self.all_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc = None
        self.log.close()

    def log_text(self):
        try:
            return self.logfile.read_text(errors="replace")
        except OSError:
            return ""

    # -- mailboxes ------------------------------------------------------
    def maildir(self, addr):
        user, domain = addr.lower().rsplit("@", 1)
        return self.store / domain / user / "Maildir"

    def messages(self, addr):
        new = self.maildir(addr) / "new"
        if not new.is_dir():
            return []
        return sorted(p for p in new.iterdir() if p.is_file())

    def wait_messages(self, addr, count, timeout=30):
        """Waits until addr's Maildir/new holds at least count messages."""
        def enough():
            msgs = self.messages(addr)
            return msgs if len(msgs) >= count else None
        try:
            return wait_until(enough, timeout, what=f"{count} messages for {addr}")
        except AssertionError:
            raise AssertionError(f"{addr} has {len(self.messages(addr))} of "
                                 f"{count} messages\n--- log ---\n"
                                 + self.log_text()[-4000:])

    def queue_files(self):
        """Message and state files in queue/ (not the key, queue/.key)."""
        q = self.spool / "queue"
        return sorted(p.name for p in q.iterdir()
                      if not p.name.startswith(".")) if q.is_dir() else []

    def queue_entries(self):
        """{queue id: envelope offset} of every message file in queue/:
        the header (96 bytes: "PQ1 ", 16 hex digits, the MAC) holds the
        offset of the envelope queued appended at commit, 0 before."""
        out = {}
        for name in self.queue_files():
            if len(name) != 16 or "." in name:
                continue
            try:
                with open(self.spool / "queue" / name, "rb") as f:
                    head = f.read(96)
            except FileNotFoundError:
                continue
            assert head.startswith(b"PQ1 ") or len(head) < 4, head
            out[name] = int(head[4:20], 16) if len(head) == 96 else 0
        return out

    def committed(self):
        """Queue ids of the messages committed and still queued."""
        return sorted(q for q, off in self.queue_entries().items() if off)

    def uncommitted(self):
        """Queue files being received (or abandoned, not yet removed)."""
        return sorted(q for q, off in self.queue_entries().items()
                      if not off)

    def wait_queue_empty(self, timeout=30):
        wait_until(lambda: not self.queue_files(), timeout,
                   what="the queue to drain")


@pytest.fixture
def build_dir(request):
    d = request.config.getoption("--build-dir") or os.environ.get("POSTERN_BUILD")
    if not d:
        pytest.fail("pass --build-dir=BUILD (ctest does) or set POSTERN_BUILD")
    return pathlib.Path(d).resolve()


@pytest.fixture
def suite_factory(build_dir):
    """Makes (unstarted) suites; each is stopped and removed afterwards."""
    made = []

    def make(extra_conf="", address=None):
        root = tempfile.mkdtemp(prefix="postern-test-")
        # The daemons drop to unprivileged users and must reach it.
        os.chmod(root, 0o755)
        s = Suite(build_dir, root, extra_conf, address)
        made.append(s)
        s.postern("setup")
        return s

    yield make
    reports = []
    for s in made:
        s.stop()
        log = s.log_text()
        # Under POSTERN_SANITIZE a daemon that trips a check aborts and is
        # restarted by master: the test may pass, the log tells. Every
        # daemon's stderr is this log. A leak check that could not run
        # ("LeakSanitizer has encountered a fatal error") counts too: it
        # is a process whose leaks nobody checked.
        m = SANITIZER_REPORT.search(log)
        if m:
            reports.append(log[max(0, m.start() - 200):m.start() + 3000])
        if os.environ.get("POSTERN_KEEP_TMP") != "1" and not reports:
            shutil.rmtree(s.root, ignore_errors=True)
    if reports:
        pytest.fail("sanitizer report in the suite's log:\n" + reports[0])


@pytest.fixture
def suite(suite_factory):
    """A running suite with users alice@, bob@ and admin@example.test."""
    s = suite_factory()
    for u in ("alice@example.test", "bob@example.test", "admin@example.test"):
        s.postern("user", "add", u)
    s.postern("alias")
    s.start()
    return s


# -- several hosts: DNS, Postern hosts, Postfix (netharness.py) --------------

def _keep_tmp():
    return os.environ.get("POSTERN_KEEP_TMP") == "1"


def _need_root():
    # Ports 25 and 53, Postfix's master and mount namespaces are root's.
    if os.geteuid() != 0:
        pytest.skip("other hosts listen on ports 25 and 53: run as root")


@pytest.fixture
def nsd_factory():
    """nsd_factory({zone: records}) starts Debian's NSD on a loopback
    address of its own, port 53 (see netharness.Nsd); stopped and removed
    afterwards."""
    _need_root()
    if not os.path.exists(netharness.NSD):
        pytest.fail("nsd is not installed (apt-get install nsd)")
    made = []

    def make(zones, address=None, signed=None):
        n = netharness.Nsd(netharness.new_tmpdir("postern-nsd-"), zones,
                           address, signed)
        made.append(n)
        n.start()
        return n
    yield make
    for n in made:
        n.stop()
        if not _keep_tmp():
            shutil.rmtree(n.root, ignore_errors=True)


@pytest.fixture
def postfix_factory():
    """postfix_factory(domain, users, dns=ADDR) starts a private Postfix
    instance, the MX of domain on a loopback address of its own (see
    netharness.Postfix); stopped and removed afterwards."""
    _need_root()
    if not netharness.postfix_installed():
        pytest.fail("postfix is not installed (README command 2 installs "
                    "it)")
    made = []

    def make(domain, users=(), dns=None, address=None, extra="",
             start=True):
        p = netharness.Postfix(netharness.new_tmpdir("postern-postfix-"),
                               domain, users, dns, address, extra=extra)
        made.append(p)
        if start:
            p.start()
        return p
    yield make
    for p in made:
        p.stop()
        if not _keep_tmp():
            shutil.rmtree(p.root, ignore_errors=True)


@pytest.fixture
def host_factory(suite_factory):
    """host_factory(domain, users, extra_conf) starts a Postern suite that
    is the MX of domain: its own loopback address (suite.addr, port 25),
    myhostname mx.DOMAIN, local_domains DOMAIN, users USER@DOMAIN (and
    admin@DOMAIN, where the test aliases send postmaster's mail).
    extra_conf goes into postern.conf as it is (dns_servers = ADDR for
    the test's NSD, once resolverd has that key)."""
    _need_root()

    def make(domain, users=(), extra_conf="", start=True):
        conf = (f"myhostname = mx.{domain}\nlocal_domains = {domain}\n"
                + extra_conf)
        s = suite_factory(conf, address=netharness.loopback_address())
        s.domain = domain
        for u in dict.fromkeys(list(users) + ["admin"]):
            s.postern("user", "add", f"{u}@{domain}")
        s.postern("alias")
        if start:
            s.start()
        return s
    return make


@pytest.fixture
def refusing_mx_factory():
    """refusing_mx_factory(mode) starts an exchanger that will not take
    mail (netharness.RefusingMx: "421" greeting, or "close" at once) on
    a loopback address of its own, port 25; stopped afterwards."""
    _need_root()
    made = []

    def make(mode="421"):
        m = netharness.RefusingMx(mode)
        made.append(m)
        return m
    yield make
    for m in made:
        m.stop()
