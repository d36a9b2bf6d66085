"""Mail to other domains, end to end: a Postern instance takes a message
for a user of another domain, resolverd finds that domain's exchangers in
a real DNS server (NSD, on a random loopback address, named by
dns_servers), relayd offers the message to them over SMTP (aiosmtpd on
port 25 of its own random loopback address) and queued applies the
per-recipient results: sent, deferred, or bounced with a DSN."""
import os
import pathlib
import random
import re
import shutil
import signal
import smtplib
import subprocess
import tempfile

import pytest

from conftest import wait_until

NSD = shutil.which("nsd") or "/usr/sbin/nsd"


def loopback():
    """A random 127.X.Y.Z other than 127.0.0.1, so that two test
    processes (ctest -j2) never share port 25 or 53."""
    while True:
        a = f"127.{random.randint(1, 254)}.{random.randint(0, 255)}." \
            f"{random.randint(1, 254)}"
        if a != "127.0.0.1":
            return a


class Nsd:
    """NSD serving one zone file per domain from a temporary directory."""

    def __init__(self, zones):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="postern-nsd-"))
        os.chmod(self.dir, 0o755)
        self.addr = loopback()
        self.port = 53
        conf = f"""server:
    ip-address: {self.addr}@{self.port}
    do-ip6: no
    username: ""
    chroot: ""
    zonesdir: "{self.dir}"
    pidfile: "{self.dir}/nsd.pid"
    database: ""
    xfrdfile: "{self.dir}/xfrd.state"
    zonelistfile: "{self.dir}/zone.list"
    logfile: "{self.dir}/nsd.log"
    server-count: 1
    hide-version: yes
remote-control:
    control-enable: no
"""
        for name, text in zones.items():
            (self.dir / f"{name}.zone").write_text(
                f"$TTL 1\n@ IN SOA ns.{name}. admin.{name}. 1 3600 600 "
                f"86400 1\n@ IN NS ns.{name}.\nns IN A {self.addr}\n" + text)
            conf += f"zone:\n    name: {name}\n" \
                    f"    zonefile: \"{self.dir}/{name}.zone\"\n"
        (self.dir / "nsd.conf").write_text(conf)
        self.proc = None

    @property
    def server(self):
        return f"{self.addr}:{self.port}"

    def start(self):
        if not os.path.exists(NSD):
            pytest.fail("nsd is not installed (README command 2)")
        self.proc = subprocess.Popen([NSD, "-d", "-c",
                                      str(self.dir / "nsd.conf")],
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

        def answers():
            if self.proc.poll() is not None:
                raise AssertionError("nsd exited: " + (
                    self.dir / "nsd.log").read_text(errors="replace"))
            r = subprocess.run(["dig", "+short", "+time=1", "+tries=1",
                                f"@{self.addr}", "-p", str(self.port),
                                "SOA", next(iter(self.zones()))],
                               capture_output=True, text=True)
            return r.returncode == 0 and "ns." in r.stdout
        if shutil.which("dig"):
            wait_until(answers, 20, what="nsd to answer")
        else:
            wait_until(lambda: "started" in (self.dir / "nsd.log")
                       .read_text(errors="replace")
                       if (self.dir / "nsd.log").exists() else False,
                       20, what="nsd to start")

    def zones(self):
        return [p.name[:-5] for p in self.dir.glob("*.zone")]

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Recorder:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append({
            "from": envelope.mail_from, "to": list(envelope.rcpt_tos),
            "data": envelope.original_content or envelope.content,
            "peer": session.peer, "mail_options": envelope.mail_options,
            "rcpt_options": list(envelope.rcpt_options)})
        return "250 2.0.0 Ok: queued as REMOTE1"


class Mx:
    """aiosmtpd on port 25 of a random loopback address."""

    def __init__(self, **kw):
        from aiosmtpd.controller import Controller
        self.addr = loopback()
        self.rec = Recorder()
        self.ctl = Controller(self.rec, hostname=self.addr, port=25, **kw)
        self.ctl.start()

    def stop(self):
        self.ctl.stop()


@pytest.fixture
def world(suite_factory):
    """Two exchangers, a DNS server for the test domains, and a started
    Postern instance whose resolverd asks that server."""
    made = []

    def make(extra_zones=None, mx_kw=None, start_dns=True, extra_conf=""):
        mx = Mx(**(mx_kw or {}))
        mx2 = Mx(**(mx_kw or {}))
        dead = loopback()	# nothing listens there
        made.extend([mx, mx2])
        zones = {
            "remote.test": f"@ IN MX 10 mx1\nmx1 IN A {mx.addr}\n",
            "pref.test": f"@ IN MX 10 down\n@ IN MX 20 up\n"
                         f"down IN A {dead}\nup IN A {mx2.addr}\n",
            "null.test": "@ IN MX 0 .\n",
            "loop.test": "@ IN MX 10 me\nme IN A 127.0.0.1\n"
                         f"@ IN MX 20 other\nother IN A {mx.addr}\n",
            "implicit.test": f"@ IN A {mx2.addr}\n",
        }
        zones.update(extra_zones or {})
        dns = Nsd(zones)
        made.append(dns)
        if start_dns:
            dns.start()
        bind = loopback()
        s = suite_factory(f"dns_servers = {dns.server}\n"
                          f"dns_timeout = 1s\ndns_attempts = 1\n"
                          f"smtp_bind_address = {bind}\n"
                          f"smtp_connect_timeout = 5s\n" + extra_conf)
        for u in ("alice@example.test",):
            s.postern("user", "add", u)
        s.postern("alias")
        s.start()
        return s, mx, mx2, dns, bind

    yield make
    for m in made:
        m.stop()


def send(s, to, body="Subject: hi\n\nhello there\n", sender="alice@example.test"):
    with smtplib.SMTP("127.0.0.1", s.port, timeout=30) as c:
        c.sendmail(sender, to, body)


def wait_log(s, pattern, timeout=30):
    try:
        return wait_until(lambda: re.search(pattern, s.log_text()), timeout,
                          what=pattern)
    except AssertionError:
        raise AssertionError(f"no /{pattern}/ in the log:\n"
                             + s.log_text()[-5000:])


def test_mail_to_another_domain_reaches_its_exchanger(world):
    s, mx, _, _, bind = world()
    send(s, ["bob@remote.test"], "Subject: hi\n\nline one\n.dot line\n")
    wait_until(lambda: mx.rec.messages, 30, what="the exchanger's message")
    m = mx.rec.messages[0]
    assert m["from"] == "alice@example.test"
    assert m["to"] == ["bob@remote.test"]
    assert b"\r\n..dot line\r\n" not in m["data"]  # unstuffed by aiosmtpd
    assert b".dot line" in m["data"]
    # smtp_bind_address is the source the exchanger sees.
    assert m["peer"][0] == bind
    line = wait_log(s, r"relayd\[\d+\]: \w+: to=<bob@remote\.test>, "
                       r"relay=mx1\.remote\.test\[" + re.escape(mx.addr) +
                       r"\]:25, delay=[\d.]+, delays=[\d./]+, dsn=2\.0\.0, "
                       r"status=sent \(250 2\.0\.0 Ok: queued as REMOTE1\)")
    assert line
    s.wait_queue_empty()


def test_the_second_exchanger_takes_it_when_the_first_cannot_be_reached(
        world):
    s, mx, mx2, _, _ = world()
    send(s, ["carol@pref.test"])
    wait_until(lambda: mx2.rec.messages, 30, what="the second exchanger")
    assert mx2.rec.messages[0]["to"] == ["carol@pref.test"]
    wait_log(s, r"connect to down\.pref\.test\[[\d.]+\]:25: Connection "
                r"refused")
    wait_log(s, r"to=<carol@pref\.test>, relay=up\.pref\.test\[.*"
                r"status=sent")
    assert not mx.rec.messages


def test_a_domain_without_mx_gets_mail_at_its_own_address(world):
    s, _, mx2, _, _ = world()
    send(s, ["dan@implicit.test"])
    wait_until(lambda: mx2.rec.messages, 30, what="the implicit MX")
    wait_log(s, r"to=<dan@implicit\.test>, relay=implicit\.test\[")


def bounced_to_alice(s, pattern):
    """The DSN queued sends back to alice@example.test mentions pattern."""
    msgs = s.wait_messages("alice@example.test", 1)
    text = msgs[0].read_bytes().decode(errors="replace")
    assert re.search(pattern, text), text
    return text


def test_null_mx_bounces_at_once(world):
    s, mx, mx2, _, _ = world()
    send(s, ["erin@null.test"])
    wait_log(s, r"to=<erin@null\.test>, relay=none, .*dsn=5\.1\.10, "
                r"status=bounced \(Domain null\.test does not accept mail "
                r"\(nullMX\)\)")
    bounced_to_alice(s, r"5\.1\.10")
    assert not mx.rec.messages and not mx2.rec.messages


def test_a_domain_that_does_not_exist_bounces(world):
    s, _, _, _, _ = world()
    send(s, ["frank@nosuch.remote.test"])
    wait_log(s, r"to=<frank@nosuch\.remote\.test>, relay=none, .*"
                r"dsn=5\.4\.4, status=bounced \(Host or domain name not "
                r"found\. Name service error for name=nosuch\.remote\.test "
                r"type=MX: Host not found\)")
    bounced_to_alice(s, r"5\.4\.4")


def test_mail_whose_best_exchanger_is_ourselves_loops_back(world):
    # loop.test's best MX is 127.0.0.1, the instance's smtp_listen
    # address; the worse one (mx) must not be tried either.
    s, mx, _, _, _ = world()
    send(s, ["gina@loop.test"])
    wait_log(s, r"to=<gina@loop\.test>, relay=none, .*dsn=5\.4\.6, "
                r"status=bounced \(mail for loop\.test loops back to "
                r"myself\)")
    bounced_to_alice(s, r"5\.4\.6")
    assert not mx.rec.messages


def test_silent_dns_defers_and_the_mail_goes_once_it_answers(world):
    s, mx, _, dns, _ = world(start_dns=False)
    send(s, ["hank@remote.test"])
    wait_log(s, r"to=<hank@remote\.test>, relay=none, .*dsn=4\.4\.3, "
                r"status=deferred \(Host or domain name not found\. Name "
                r"service error for name=remote\.test type=MX: Host not "
                r"found, try again\)")
    assert not mx.rec.messages
    dns.start()
    wait_until(lambda: mx.rec.messages, 60, what="delivery after DNS "
               "answers again")
    wait_log(s, r"to=<hank@remote\.test>, relay=mx1\.remote\.test.*"
                r"status=sent")


def test_one_connection_carries_the_next_message_to_the_same_domain(world):
    s, mx, _, _, _ = world(extra_conf="smtp_connection_cache_time = 10s\n")
    send(s, ["ivy@remote.test"], "Subject: one\n\none\n")
    wait_until(lambda: len(mx.rec.messages) == 1, 30, what="message one")
    wait_log(s, r"to=<ivy@remote\.test>.*status=sent")
    send(s, ["ivy@remote.test"], "Subject: two\n\ntwo\n")
    wait_until(lambda: len(mx.rec.messages) == 2, 30, what="message two")
    # The same source port: the same TCP connection.
    assert mx.rec.messages[0]["peer"] == mx.rec.messages[1]["peer"]


def test_smtputf8_mail_to_a_server_without_it_bounces(world):
    s, mx, _, _, _ = world(mx_kw={"enable_SMTPUTF8": False})
    with smtplib.SMTP("127.0.0.1", s.port, timeout=30) as c:
        c.ehlo()
        c.sendmail("alice@example.test", ["j\u00f6rg@remote.test"],
                   "Subject: u\n\nu\n".encode(), mail_options=["SMTPUTF8"])
    wait_log(s, r"dsn=5\.6\.7, status=bounced \(SMTPUTF8 is required")
    assert not mx.rec.messages


def test_a_killed_agent_mid_transfer_is_retried_and_delivered(world):
    s, mx, _, _, _ = world()
    import asyncio
    stall = {"first": True}
    orig = mx.rec.handle_DATA

    async def slow(server, session, envelope):
        if stall.pop("first", False):
            # Never answered in time: the agent dies waiting for it.
            await asyncio.sleep(20)
            return "451 4.3.0 too late"
        return await orig(server, session, envelope)
    mx.rec.handle_DATA = slow
    send(s, ["kim@remote.test"])
    # The agent now waits for the reply to "."; kill it there.
    wait_until(lambda: "first" not in stall, 30, what="the stalled DATA")
    for pid in s.pids_of("relayd"):
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: mx.rec.messages, 60, what="the retried delivery")
    assert mx.rec.messages[-1]["to"] == ["kim@remote.test"]


def test_the_agents_run_as_relay_user_in_their_chroot_and_hold_no_file(
        world):
    import pwd
    import stat as st
    s, _, _, _, _ = world()
    relay = s.spool / "relay"
    u = pwd.getpwnam("postern-relay")
    # The chroot: root's, the agents' group may enter; their two sockets,
    # nobody else's (queued and resolverd's ends are master's).
    d = os.stat(relay)
    assert (d.st_uid, d.st_gid, st.S_IMODE(d.st_mode)) == (0, u.pw_gid,
                                                           0o750)
    for name in ("relay.sock", "route.sock"):
        f = os.stat(relay / name)
        assert (f.st_uid, st.S_IMODE(f.st_mode)) == (u.pw_uid, 0o600), name
    entries = sorted(p.name for p in relay.iterdir() if p.name != "proc")
    assert entries == ["relay.sock", "route.sock"], entries
    pids = s.pids_of("relayd")
    assert len(pids) == 2, pids
    for pid in pids:
        status = pathlib.Path(f"/proc/{pid}/status").read_text()
        uids = re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()
        assert set(uids) == {str(u.pw_uid)}, uids
        assert os.readlink(f"/proc/{pid}/root") == str(relay)

    # Nothing but sockets, /dev/null and stderr (the harness's log,
    # master -f): no file of the spool or the mail store. Waited for: a
    # sanitizer build's runtime opens a directory for a moment (seen once
    # in CI under load); what an agent holds stays.
    def held():
        out = []
        for pid in pids:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except FileNotFoundError:
                    continue
                if not (target.startswith(("socket:", "anon_inode:",
                                           "/dev/null")) or
                        (int(fd) <= 2 and target == str(s.logfile))):
                    out.append((pid, fd, target))
        return out
    try:
        wait_until(lambda: not held(), 10, what="the agents to hold no file")
    except AssertionError:
        assert held() == []	# (pid, fd, target) of what stayed
        raise


def test_a_bad_route_request_closes_that_client_only(world):
    import ipcclient
    s, _, _, _, _ = world()
    R_ROUTE, R_ROUTE_REPLY = 46, 47
    path = s.spool / "relay" / "route.sock"
    bad = ipcclient.connect(path)
    # Not a host name: an SMTP command smuggled into the domain.
    ipcclient.send(bad, R_ROUTE, ipcclient.string("x.test\r\nRCPT"), 1)
    assert ipcclient.recv(bad) is None
    bad.close()
    # A route request on the check socket is refused the same way.
    chk = ipcclient.connect(s.spool / "smtpd" / "resolver.sock")
    ipcclient.send(chk, R_ROUTE, ipcclient.string("remote.test"), 1)
    assert ipcclient.recv(chk) is None
    chk.close()
    good = ipcclient.connect(path)
    ipcclient.send(good, R_ROUTE, ipcclient.string("remote.test"), 7)
    ftype, rid, body, _ = ipcclient.recv(good)
    assert (ftype, rid) == (R_ROUTE_REPLY, 7)
    assert body[:4] == b"\0\0\0\0"      # ST_OK
    assert b"mx1.remote.test" in body
    good.close()
    wait_log(s, rf"malformed or unexpected frame \(type {R_ROUTE}\) on the "
                r"route socket")
