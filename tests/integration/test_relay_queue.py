"""queued's side of remote delivery, end to end: recipients of one domain
share one SMTP transaction and each gets its own outcome; a destination
that answers 4xx is retried and delivered once it accepts; a 5xx gives
exactly one RFC 3464 report with the remote server's words; a site that
is down is deferred as a whole instead of being tried once per message;
a kill -9 of queued in the middle of a round sends nothing twice that
was already delivered.

The exchangers are Debian's aiosmtpd on port 25 of random loopback
addresses, scripted per test; DNS is the harness's NSD."""
import asyncio
import email
import email.policy
import os
import re
import signal
import smtplib
import threading

import pytest

import netharness
from conftest import wait_until


class Script:
    """An aiosmtpd handler whose answers a test can change while it runs:
    refuse[addr] is the reply to RCPT TO:<addr> (None: accept), mail_reply
    the reply to MAIL (None: accept), data_hold an Event the end of DATA
    waits for before it answers."""

    def __init__(self):
        self.refuse = {}
        self.mail_reply = None
        self.data_hold = None
        self.transactions = []		# the recipients of each DATA
        self.mail_tries = 0
        self.in_data = 0		# transactions waiting at the end of DATA
        self.most_in_data = 0
        self.lock = threading.Lock()

    async def handle_MAIL(self, server, session, envelope, address, options):
        with self.lock:
            self.mail_tries += 1
        if self.mail_reply is not None:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        reply = self.refuse.get(address.lower())
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_hold is not None:
            with self.lock:
                self.in_data += 1
                self.most_in_data = max(self.most_in_data, self.in_data)
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, self.data_hold.wait, 60)
            with self.lock:
                self.in_data -= 1
        with self.lock:
            self.transactions.append(sorted(envelope.rcpt_tos))
        return "250 2.0.0 Ok: queued as REMOTE"


class Exchanger:
    def __init__(self):
        from aiosmtpd.controller import Controller
        self.addr = netharness.loopback_address(ports=(25,))
        self.script = Script()
        self.ctl = Controller(self.script, hostname=self.addr, port=25)
        self.ctl.start()

    def received(self, rcpt):
        """How many transactions carried rcpt."""
        with self.script.lock:
            return sum(rcpt in t for t in self.script.transactions)

    def stop(self):
        self.ctl.stop()


@pytest.fixture
def relay(nsd_factory, suite_factory):
    """relay(domains, extra_conf): an exchanger per domain (each domain's
    one MX, in the test's NSD), and a started Postern instance that sends
    to them; returns (suite, {domain: Exchanger})."""
    made = []

    def make(domains, extra_conf="", dead=()):
        mxs = {d: Exchanger() for d in domains}
        made.extend(mxs.values())
        zones = {d: netharness.zone_for_host(d, mx.addr)
                 for d, mx in mxs.items()}
        for d in dead:	# an exchanger where nothing listens
            zones[d] = netharness.zone_for_host(
                d, netharness.loopback_address(ports=(25,)))
        dns = nsd_factory(zones)
        s = suite_factory(f"dns_servers = {dns.address}:53\n"
                          f"smtp_bind_address = "
                          f"{netharness.loopback_address(ports=(25,))}\n"
                          "smtp_connect_timeout = 5s\n" + extra_conf)
        s.postern("user", "add", "alice@example.test")
        s.postern("alias")
        s.start()
        return s, mxs

    yield make
    for m in made:
        m.stop()


def send(s, to, body="Subject: hi\n\nhello there\n"):
    with smtplib.SMTP("127.0.0.1", s.port, timeout=30) as c:
        return c.sendmail("alice@example.test", to, body)


def log_count(s, pattern):
    return len(re.findall(pattern, s.log_text()))


def wait_log(s, pattern, count=1, timeout=30):
    try:
        wait_until(lambda: log_count(s, pattern) >= count, timeout,
                   what=f"{count} x /{pattern}/")
    except AssertionError:
        raise AssertionError(f"no {count} x /{pattern}/ in the log:\n"
                             + s.log_text()[-6000:])


def reports(s):
    """alice's Maildir messages, parsed."""
    out = []
    for p in s.messages("alice@example.test"):
        out.append(email.message_from_bytes(p.read_bytes(),
                                            policy=email.policy.default))
    return out


def status_groups(report):
    """The per-recipient field groups of a multipart/report's
    message/delivery-status part, as dicts."""
    assert report.get_content_type() == "multipart/report", report
    assert report.get_param("report-type") == "delivery-status"
    parts = list(report.iter_parts())
    ds = [p for p in parts if p.get_content_type() ==
          "message/delivery-status"]
    assert len(ds) == 1, [p.get_content_type() for p in parts]
    groups = []
    for g in ds[0].get_payload()[1:]:
        groups.append({k.lower(): str(v) for k, v in g.items()})
    return groups


def test_one_transaction_per_domain_and_each_recipient_its_own_outcome(
        relay):
    s, mxs = relay(["far.test"])
    mx = mxs["far.test"]
    mx.script.refuse["nobody@far.test"] = \
        "550 5.1.1 <nobody@far.test>: Recipient address rejected"
    mx.script.refuse["later@far.test"] = "450 4.2.1 try again later"
    send(s, ["one@far.test", "two@far.test", "nobody@far.test",
             "later@far.test"])
    # The accepted recipients went in one transaction.
    wait_until(lambda: mx.script.transactions, 30, what="a transaction")
    assert mx.script.transactions[0] == ["one@far.test", "two@far.test"]
    # The refused one is reported once, with the server's own words.
    wait_until(lambda: reports(s), 30, what="the report")
    (groups,) = [status_groups(r) for r in reports(s)]
    assert len(groups) == 1, groups
    g = groups[0]
    assert g["final-recipient"] == "rfc822; nobody@far.test"
    assert g["action"] == "failed"
    assert g["status"] == "5.1.1"
    assert g["remote-mta"] == "dns; mx.far.test"
    assert g["diagnostic-code"].startswith("smtp; 550 5.1.1 "), g
    # The deferred one goes on its own once the server takes it.
    wait_log(s, r"to=<later@far\.test>, .*status=deferred")
    del mx.script.refuse["later@far.test"]
    wait_until(lambda: mx.received("later@far.test") == 1, 40,
               what="the deferred recipient's delivery")
    s.wait_queue_empty()
    assert mx.received("one@far.test") == 1
    assert mx.received("two@far.test") == 1
    assert len(reports(s)) == 1, "one report, and only one"


def test_destination_recipient_limit_splits_a_domain_into_transactions(
        relay):
    s, mxs = relay(["far.test"], "destination_recipient_limit = 2\n")
    mx = mxs["far.test"]
    rcpts = [f"r{i}@far.test" for i in range(5)]
    send(s, rcpts)
    s.wait_queue_empty()
    sizes = sorted(len(t) for t in mx.script.transactions)
    assert sizes == [1, 2, 2], mx.script.transactions
    for r in rcpts:
        assert mx.received(r) == 1, r


def test_a_destination_that_answers_4xx_is_retried_until_it_accepts(relay):
    s, mxs = relay(["busy.test"])
    mx = mxs["busy.test"]
    mx.script.mail_reply = "451 4.3.2 system busy, come back later"
    send(s, ["bob@busy.test"])
    wait_log(s, r"to=<bob@busy\.test>, .*status=deferred .*451 4\.3\.2",
             count=2, timeout=40)
    assert mx.script.transactions == []
    mx.script.mail_reply = None
    s.wait_queue_empty(timeout=40)
    assert mx.script.transactions == [["bob@busy.test"]]
    assert reports(s) == []


# relayd's own line for a connection it tried.
TRY = r"relayd\[\d+\]: \w+: connect to mx\.down\.test\[[\d.]+\]:25: " \
      r"Connection refused"


def test_a_site_that_is_down_is_deferred_as_a_whole(relay):
    s, _ = relay([], dead=["down.test"])
    n = 12
    with smtplib.SMTP("127.0.0.1", s.port, timeout=30) as c:
        for i in range(n):
            c.sendmail("alice@example.test", [f"u{i}@down.test"],
                       f"Subject: {i}\n\nbody\n")
    wait_log(s, r"to=<u\d+@down\.test>, .*status=deferred", count=n)
    tries = log_count(s, TRY)
    suspended = log_count(s, r"dsn=4\.4\.1, status=deferred \(delivery "
                             r"temporarily suspended: connect to ")
    # Two agents may each find the site down before it is marked dead;
    # every other message is deferred without a connection.
    assert 1 <= tries <= 4, tries
    assert suspended >= n - tries, (suspended, tries)
    # A flush of the domain revives it: it is tried again at once.
    s.postern("queue", "flush", "down.test")
    wait_until(lambda: log_count(s, TRY) > tries, 30,
               what="a new try after the flush")


def queued_pid(s):
    pids = s.pids_of("queued")
    assert len(pids) == 1, pids
    return pids[0]


def test_kill_9_of_queued_mid_round_sends_nothing_delivered_again(relay):
    s, mxs = relay(["fast.test", "slow.test"])
    fast, slow = mxs["fast.test"], mxs["slow.test"]
    slow.script.data_hold = threading.Event()
    send(s, ["bob@fast.test", "carol@slow.test"])
    wait_until(lambda: fast.received("bob@fast.test") == 1, 30,
               what="the fast domain's delivery")
    # Its success is made durable while the slow one is still in flight:
    # the envelope's rewrite marks bob done before the round ends.
    queue = s.spool / "queue"

    def bob_done_on_disk():
        for p in queue.glob("*.env"):
            if re.search(rb"bob@fast\.test.*\bdone\b|\bdone\b.*bob@fast",
                         p.read_bytes()):
                return True
        return False
    wait_until(bob_done_on_disk, 20, what="bob's delivery in ID.env")
    old = queued_pid(s)
    os.kill(old, signal.SIGKILL)
    wait_until(lambda: s.pids_of("queued") and
               s.pids_of("queued") != [old], 30, what="queued's restart")
    slow.script.data_hold.set()
    wait_until(lambda: slow.received("carol@slow.test") >= 1, 60,
               what="the slow domain's delivery")
    s.wait_queue_empty(timeout=60)
    # The restarted queued did not send bob's copy again; carol's may
    # come twice (her transaction was in flight when queued died).
    assert fast.received("bob@fast.test") == 1


def test_queue_active_limit_bounds_the_rounds_in_flight(relay):
    # Four agents could carry four messages at once; the active set
    # allows two rounds, so two wait for a round to end.
    s, mxs = relay(["slow.test"], "remote_delivery_concurrency = 4\n"
                   "queue_active_limit = 2\n")
    mx = mxs["slow.test"]
    mx.script.data_hold = threading.Event()
    n = 6
    with smtplib.SMTP("127.0.0.1", s.port, timeout=30) as c:
        for i in range(n):
            # Accepted while the active set is full.
            c.sendmail("alice@example.test", [f"u{i}@slow.test"],
                       f"Subject: {i}\n\nbody\n")
    wait_until(lambda: mx.script.in_data == 2, 30,
               what="two transactions held at the end of DATA")
    assert len(s.committed()) == n
    mx.script.data_hold.set()
    s.wait_queue_empty(timeout=60)
    assert sorted(t[0] for t in mx.script.transactions) == \
        sorted(f"u{i}@slow.test" for i in range(n))
    assert mx.script.most_in_data == 2, mx.script.most_in_data
