"""Mail between domains (issue 9, section 6): Postern instances, each the
MX of its own domain on a loopback address of its own, find each other
(and Postfix, and exchangers that refuse) in a real DNS server (NSD) and
relay over SMTP; what cannot go bounces with an RFC 3464 DSN, what cannot
go yet waits and goes later.

These need the remote transport (deliverd's SMTP client behind queued's
per-destination scheduling) and resolverd's `dns_servers` key. Until
Postern's config knows that key, the whole module is skipped: it runs by
itself once `postern check` accepts dns_servers. Every test fails if the
mail was not delivered (or not bounced): each asserts on the Maildir that
must receive it, within a deadline.
"""
import email
import email.policy
import os
import pathlib
import re
import smtplib
import subprocess
import tempfile

import pytest

import netharness
from conftest import wait_until
from netharness import exact_message, split_trace


@pytest.fixture(scope="module", autouse=True)
def _needs_dns_servers(request):
    """Skips the module while postern.conf has no dns_servers key."""
    d = request.config.getoption("--build-dir") or \
        os.environ.get("POSTERN_BUILD")
    if not d:
        pytest.fail("pass --build-dir=BUILD (ctest does) or set "
                    "POSTERN_BUILD")
    postern = pathlib.Path(d).resolve() / "bin" / "postern"
    with tempfile.TemporaryDirectory(prefix="postern-check-") as t:
        conf = pathlib.Path(t) / "postern.conf"
        conf.write_text("dns_servers = 127.0.0.1\n")
        r = subprocess.run([str(postern), "-c", str(conf), "check"],
                           capture_output=True, text=True, timeout=60)
    if 'unknown key "dns_servers"' in r.stdout + r.stderr:
        pytest.skip("the remote transport has not landed: postern.conf "
                    "has no dns_servers key yet")


# -- helpers ---------------------------------------------------------------

def dns_address():
    return netharness.loopback_address(ports=(53,))


def with_dns(dns):
    """postern.conf lines that send resolverd to the test's NSD."""
    return f"dns_servers = {dns}\n"


def submit(host, sender, rcpts, message, mail_options=()):
    """Submits to a Postern host on its own address (the client is
    127.0.0.1, inside mynetworks: it may relay)."""
    with smtplib.SMTP(host.addr, 25, timeout=30) as s:
        s.ehlo("client.test")
        refused = s.sendmail(sender, rcpts, message,
                             mail_options=list(mail_options))
    assert refused == {}, refused


def message(sender, rcpt, subject, extra=""):
    return (f"From: {sender}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '-')}@test>\r\n"
            f"{extra}\r\n"
            f"Body of {subject}.\r\n").encode()


def dsn_parts(path):
    """(the DSN, its per-recipient fields) from a bounce in a Maildir,
    parsed with Python's email package; asserts it is one RFC 3464
    report from the null sender."""
    dsn = email.message_from_bytes(path.read_bytes(),
                                   policy=email.policy.compat32)
    assert dsn["Return-Path"] == "<>", dsn["Return-Path"]
    assert dsn.get_content_type() == "multipart/report"
    assert dsn.get_param("report-type") == "delivery-status"
    status = [p for p in dsn.walk()
              if p.get_content_type() == "message/delivery-status"]
    assert len(status) == 1, [p.get_content_type() for p in dsn.walk()]
    groups = status[0].get_payload()
    assert len(groups) >= 2, groups      # per-message, per-recipient
    return dsn, groups[1]


def no_more_than(host, addr, count):
    """The Maildir of addr holds exactly count messages (nothing more
    arrived once the queue is empty)."""
    host.wait_queue_empty()
    assert len(host.messages(addr)) == count, host.messages(addr)


# -- Postern to Postern ------------------------------------------------------

def test_mail_from_a_reaches_b_and_the_reply_comes_back(nsd_factory,
                                                        host_factory):
    dns = dns_address()
    a = host_factory("a.test", ["alice"], with_dns(dns))
    b = host_factory("b.test", ["bob"], with_dns(dns))
    nsd_factory({"a.test": netharness.zone_for_host("a.test", a.addr),
                 "b.test": netharness.zone_for_host("b.test", b.addr)},
                address=dns)
    wire, stored = exact_message()
    wire = wire.replace(b"alice@a.test", b"bob@b.test") \
        .replace(b"sender@p.test", b"alice@a.test")
    submit(a, "alice@a.test", ["bob@b.test"], wire, ["BODY=8BITMIME"])
    [got] = b.wait_messages("bob@b.test", 1)
    trace, rest = split_trace(got.read_bytes())
    assert rest == stored.replace(b"alice@a.test", b"bob@b.test") \
        .replace(b"sender@p.test", b"alice@a.test")
    assert trace[0] == b"Return-Path: <alice@a.test>"
    assert trace[1] == b"Delivered-To: bob@b.test"
    # B's Received: from A's host; A's own Received below it.
    assert b"by mx.b.test (Postern)" in trace[2], trace
    assert any(b"by mx.a.test (Postern)" in t for t in trace[3:]), trace
    a.wait_queue_empty()

    # Bob answers; the reply finds A by its MX.
    submit(b, "bob@b.test", ["alice@a.test"],
           message("bob@b.test", "alice@a.test", "Re: interop",
                   "In-Reply-To: <interop-1@p.test>\r\n"))
    [reply] = a.wait_messages("alice@a.test", 1)
    data = reply.read_bytes()
    assert data.startswith(b"Return-Path: <bob@b.test>\n")
    assert b"Subject: Re: interop\n" in data
    assert b"by mx.a.test (Postern)" in data
    no_more_than(b, "bob@b.test", 1)
    no_more_than(a, "alice@a.test", 1)


# -- Postern to Postfix ------------------------------------------------------

def test_postern_relays_to_postfix_byte_exact(nsd_factory, host_factory,
                                              postfix_factory):
    dns = dns_address()
    a = host_factory("a.test", ["alice"], with_dns(dns))
    p = postfix_factory("p.test", ["sender"], dns=dns)
    nsd_factory({"a.test": netharness.zone_for_host("a.test", a.addr),
                 "p.test": netharness.zone_for_host("p.test", p.address)},
                address=dns)
    wire, stored = exact_message()
    # Here Alice writes to Postfix's user (sender@p.test).
    swap = [(b"To: Alice <alice@a.test>", b"To: P <sender@p.test>"),
            (b"From: Sender <sender@p.test>", b"From: Alice <alice@a.test>")]
    for old, new in swap:
        wire, stored = wire.replace(old, new), stored.replace(old, new)
    submit(a, "alice@a.test", ["sender@p.test"], wire, ["BODY=8BITMIME"])
    [got] = p.wait_messages("sender@p.test", 1)
    trace, rest = split_trace(got.read_bytes())
    assert rest == stored, (rest, stored)
    assert b"Return-Path: <alice@a.test>" in trace
    assert any(b"by mx.p.test (Postfix)" in t for t in trace), trace
    assert any(b"by mx.a.test (Postern)" in t for t in trace), trace
    p.wait_log(r"from=<alice@a\.test>, size=\d+, nrcpt=1")
    a.wait_queue_empty()


# -- MX handling ---------------------------------------------------------------

@pytest.mark.parametrize("first", ["421", "close", "nothing-listens"])
def test_the_next_exchanger_takes_what_the_first_refuses(
        nsd_factory, host_factory, refusing_mx_factory, first):
    dns = dns_address()
    a = host_factory("a.test", ["alice"], with_dns(dns))
    b = host_factory("b.test", ["bob"], with_dns(dns))
    if first == "nothing-listens":
        bad, bad_addr = None, netharness.loopback_address()
    else:
        bad = refusing_mx_factory(first)
        bad_addr = bad.address
    nsd_factory({
        "a.test": netharness.zone_for_host("a.test", a.addr),
        # The refusing one is preferred (10): it must be tried first.
        "b.test": netharness.zone_mx("b.test", [(20, "mx2", b.addr),
                                                (10, "mx1", bad_addr)]),
    }, address=dns)
    submit(a, "alice@a.test", ["bob@b.test"],
           message("alice@a.test", "bob@b.test", f"fallback {first}"))
    [got] = b.wait_messages("bob@b.test", 1)
    assert f"Subject: fallback {first}".encode() in got.read_bytes()
    if bad is not None:
        assert bad.connections >= 1, "the preferred exchanger was skipped"
    no_more_than(b, "bob@b.test", 1)
    # Nothing bounced back to Alice.
    assert a.messages("alice@a.test") == []


def test_a_domain_without_mx_gets_mail_at_its_address(nsd_factory,
                                                      host_factory):
    dns = dns_address()
    a = host_factory("a.test", ["alice"], with_dns(dns))
    b = host_factory("b.test", ["bob"], with_dns(dns))
    nsd_factory({"a.test": netharness.zone_for_host("a.test", a.addr),
                 "b.test": f"@ IN A {b.addr}\n"}, address=dns)
    submit(a, "alice@a.test", ["bob@b.test"],
           message("alice@a.test", "bob@b.test", "implicit mx"))
    [got] = b.wait_messages("bob@b.test", 1)
    assert b"Subject: implicit mx" in got.read_bytes()
    no_more_than(b, "bob@b.test", 1)


def test_null_mx_bounces_at_once_with_5_1_10(nsd_factory, host_factory):
    dns = dns_address()
    a = host_factory("a.test", ["alice"], with_dns(dns))
    nsd_factory({"a.test": netharness.zone_for_host("a.test", a.addr),
                 "null.test": "@ IN MX 0 .\n"}, address=dns)
    submit(a, "alice@a.test", ["bob@null.test"],
           message("alice@a.test", "bob@null.test", "to a null mx"))
    # At once: well before the first retry would come (queue_retry_min
    # is 2 s in the harness; a deferral then a bounce takes longer and
    # leaves a "deferred" line).
    [b] = a.wait_messages("alice@a.test", 1, timeout=15)
    dsn, rcpt = dsn_parts(b)
    assert rcpt["Final-Recipient"].lower() == "rfc822; bob@null.test"
    assert rcpt["Action"] == "failed"
    assert rcpt["Status"] == "5.1.10"
    assert b"Subject: to a null mx" in b.read_bytes()
    assert not re.search(r"to=<bob@null\.test>.*status=deferred",
                         a.log_text())
    no_more_than(a, "alice@a.test", 1)


def test_a_domain_that_does_not_exist_bounces(nsd_factory, host_factory):
    dns = dns_address()
    a = host_factory("a.test", ["alice"], with_dns(dns))
    # nowhere.b.test: NXDOMAIN from the server authoritative for b.test
    # (a name outside every zone would be REFUSED: a temporary failure).
    nsd_factory({"a.test": netharness.zone_for_host("a.test", a.addr),
                 "b.test": "@ IN A 127.0.0.9\n"}, address=dns)
    submit(a, "alice@a.test", ["bob@nowhere.b.test"],
           message("alice@a.test", "bob@nowhere.b.test", "to nowhere"))
    [b] = a.wait_messages("alice@a.test", 1, timeout=15)
    dsn, rcpt = dsn_parts(b)
    assert rcpt["Final-Recipient"].lower() == "rfc822; bob@nowhere.b.test"
    assert rcpt["Action"] == "failed"
    assert rcpt["Status"] == "5.4.4"
    no_more_than(a, "alice@a.test", 1)


def test_silent_dns_defers_and_the_mail_goes_once_it_answers(
        nsd_factory, host_factory):
    dns = dns_address()
    a = host_factory("a.test", ["alice"], with_dns(dns))
    b = host_factory("b.test", ["bob"], with_dns(dns))
    n = nsd_factory({"a.test": netharness.zone_for_host("a.test", a.addr),
                     "b.test": netharness.zone_for_host("b.test", b.addr)},
                    address=dns)
    n.silence()
    submit(a, "alice@a.test", ["bob@b.test"],
           message("alice@a.test", "bob@b.test", "while dns is silent"))
    # Deferred, not bounced: the queue keeps it, nothing arrived.
    wait_until(lambda: re.search(r"to=<bob@b\.test>.*status=deferred",
                                 a.log_text()), 30,
               what="a deferral while DNS is silent")
    assert a.committed(), "the message left the queue"
    assert b.messages("bob@b.test") == []
    assert a.messages("alice@a.test") == []
    n.start()
    # The next retry (queue_retry_max 10 s in the harness) delivers it.
    [got] = b.wait_messages("bob@b.test", 1, timeout=40)
    assert b"Subject: while dns is silent" in got.read_bytes()
    no_more_than(a, "alice@a.test", 0)
    no_more_than(b, "bob@b.test", 1)
