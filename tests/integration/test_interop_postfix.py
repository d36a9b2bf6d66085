"""Postfix from Debian as a host beside Postern: Postfix finds Postern as
the MX of a domain in a real DNS server (NSD) and relays to it; what
arrives is what was sent, byte for byte, and a refusal from Postern comes
back to the sender as Postfix's bounce. Also proves the multi-host harness
itself (netharness.py): Postfix to Postfix by MX, Postern instances on
addresses of their own, zones replaced and DNS gone silent, and no
process left behind."""
import email
import email.policy
import os
import re
import smtplib
import socket

import pytest

import netharness
from netharness import exact_message, split_trace

def dns_address():
    """The address the test's NSD will have: the hosts are told before it
    starts with the zones that name them."""
    return netharness.loopback_address(ports=(53,))


def test_postfix_relays_to_postfix_by_mx(nsd_factory, postfix_factory):
    dns = dns_address()
    p1 = postfix_factory("p1.test", ["sender"], dns=dns)
    p2 = postfix_factory("p2.test", ["bob"], dns=dns)
    nsd_factory({
        "p1.test": netharness.zone_for_host("p1.test", p1.address),
        "p2.test": netharness.zone_for_host("p2.test", p2.address),
    }, address=dns)
    wire, stored = exact_message()
    wire = wire.replace(b"alice@a.test", b"bob@p2.test")
    assert p1.send("sender@p1.test", ["bob@p2.test"], wire,
                   ["BODY=8BITMIME"]) == {}
    [msg] = p2.wait_messages("bob@p2.test", 1)
    trace, rest = split_trace(msg.read_bytes())
    assert rest == stored.replace(b"alice@a.test", b"bob@p2.test")
    # It went by MX: p2 got it from p1's address, named as p1's host.
    assert any(t.startswith(f"Received: from {p1.hostname} (".encode())
               and f"[{p1.address}])".encode() in t for t in trace), trace
    p1.wait_log(rf"to=<bob@p2\.test>, relay=mx\.p2\.test\[{re.escape(p2.address)}\]:25.*status=sent")


def test_postfix_relays_to_postern_byte_exact(nsd_factory, postfix_factory,
                                              host_factory):
    dns = dns_address()
    a = host_factory("a.test", ["alice"])
    p = postfix_factory("p.test", ["sender"], dns=dns)
    nsd_factory({
        "a.test": netharness.zone_for_host("a.test", a.addr),
        "p.test": netharness.zone_for_host("p.test", p.address),
    }, address=dns)
    wire, stored = exact_message()
    assert p.send("sender@p.test", ["alice@a.test"], wire,
                  ["BODY=8BITMIME"]) == {}
    [msg] = a.wait_messages("alice@a.test", 1)
    data = msg.read_bytes()
    trace, rest = split_trace(data)
    # From the original headers on, what arrived is what was sent.
    assert rest == stored, (rest, stored)
    assert trace[0] == b"Return-Path: <sender@p.test>"
    assert trace[1] == b"Delivered-To: alice@a.test"
    # Postern's Received names Postfix's address; below it, Postfix's.
    assert trace[2].startswith(
        f"Received: from {p.hostname} ([{p.address}])".encode()), trace
    assert b"by mx.a.test (Postern)" in trace[2]
    assert any(b"by mx.p.test (Postfix)" in t for t in trace[3:]), trace
    p.wait_log(rf"to=<alice@a\.test>, relay=mx\.a\.test\[{re.escape(a.addr)}\]:25.*status=sent")
    a.wait_queue_empty()


def test_postern_refusal_makes_postfix_bounce(nsd_factory, postfix_factory,
                                              host_factory):
    dns = dns_address()
    a = host_factory("a.test", ["alice"])
    p = postfix_factory("p.test", ["sender"], dns=dns)
    nsd_factory({
        "a.test": netharness.zone_for_host("a.test", a.addr),
        "p.test": netharness.zone_for_host("p.test", p.address),
    }, address=dns)
    msg = (b"From: sender@p.test\r\nTo: ghost@a.test\r\n"
           b"Subject: to nobody\r\nMessage-ID: <ghost-1@p.test>\r\n"
           b"Date: Wed, 02 Dec 2026 12:00:00 +0000\r\n\r\nhello\r\n")
    # Postfix accepts (it cannot know yet), then Postern refuses at RCPT.
    assert p.send("sender@p.test", ["ghost@a.test"], msg) == {}
    said = ("550 5.1.1 <ghost@a.test>: Recipient address rejected: "
            "User unknown in local recipient table")
    p.wait_log(rf"to=<ghost@a\.test>, relay=mx\.a\.test\[{re.escape(a.addr)}\]:25.*"
               rf"status=bounced \(host mx\.a\.test\[{re.escape(a.addr)}\] said: "
               + re.escape(said) + r" \(in reply to RCPT TO command\)\)")
    # The bounce: a DSN from the null sender in the sender's Maildir,
    # with Postern's reply as the diagnostic.
    [b] = p.wait_messages("sender@p.test", 1)
    dsn = email.message_from_bytes(b.read_bytes(), policy=email.policy.compat32)
    assert dsn["Return-Path"] == "<>"
    assert dsn.get_content_type() == "multipart/report"
    assert dsn.get_param("report-type") == "delivery-status"
    status = [part for part in dsn.walk()
              if part.get_content_type() == "message/delivery-status"]
    assert len(status) == 1
    per_rcpt = status[0].get_payload()[1]
    assert per_rcpt["Final-Recipient"] == "rfc822; ghost@a.test"
    assert per_rcpt["Action"] == "failed"
    assert per_rcpt["Status"] == "5.1.1"
    assert per_rcpt["Remote-MTA"] == "dns; mx.a.test"
    assert " ".join(per_rcpt["Diagnostic-Code"].split()) == \
        "smtp; " + said
    # Nothing reached Postern's store, and it kept nothing.
    assert a.messages("ghost@a.test") == []
    assert a.queue_files() == []


@pytest.mark.parametrize("first", ["421", "close"])
def test_postfix_passes_a_refusing_exchanger_for_postern(
        nsd_factory, postfix_factory, host_factory, refusing_mx_factory,
        first):
    # The harness's refusing exchanger, as Postern's own fallback tests
    # use it, proved against a client nobody here wrote.
    dns = dns_address()
    a = host_factory("a.test", ["alice"])
    bad = refusing_mx_factory(first)
    p = postfix_factory("p.test", ["sender"], dns=dns)
    nsd_factory({
        "a.test": netharness.zone_mx("a.test", [(10, "mx1", bad.address),
                                                (20, "mx2", a.addr)]),
        "p.test": netharness.zone_for_host("p.test", p.address),
    }, address=dns)
    assert p.send("sender@p.test", ["alice@a.test"],
                  b"Subject: fallback\r\n\r\nhi\r\n") == {}
    [msg] = a.wait_messages("alice@a.test", 1)
    assert b"Subject: fallback" in msg.read_bytes()
    assert bad.connections >= 1
    p.wait_log(rf"to=<alice@a\.test>, relay=mx2\.a\.test\[{re.escape(a.addr)}\]:25.*status=sent")


# -- the harness itself ---------------------------------------------------

def test_postern_hosts_listen_on_addresses_of_their_own(host_factory):
    a = host_factory("a.test", ["alice"])
    b = host_factory("b.test", ["bob"])
    assert a.addr != b.addr and a.port == b.port == 25
    for host, user, other in ((a, "alice@a.test", "bob@b.test"),
                              (b, "bob@b.test", "alice@a.test")):
        with smtplib.SMTP(host.addr, 25, timeout=30) as s:
            code, banner = s.ehlo("client.test")
            assert code == 250
            assert banner.startswith(f"mx.{host.domain}".encode()), banner
            assert s.sendmail("x@client.test", [user],
                              b"Subject: own address\r\n\r\nhi\r\n") == {}
        host.wait_messages(user, 1)
        assert host.messages(other) == []
        with socket.create_connection((host.addr, 110), 10) as s:
            s.settimeout(10)
            assert s.recv(512).startswith(b"+OK")


def test_nsd_serves_replaced_zones_and_goes_silent_and_back(nsd_factory):
    n = nsd_factory({"z.test": "@ IN A 127.1.2.3\n"})
    first = n.serial
    assert netharness.dns_soa_serial(n.address, "z.test") == first
    n.set_zone("z.test", "@ IN A 127.1.2.4\n")   # same names: a reload
    assert netharness.dns_soa_serial(n.address, "z.test") == first + 1
    n.set_zone("y.test", "")                     # a new name: a restart
    assert netharness.dns_soa_serial(n.address, "y.test") == n.serial
    n.silence()
    assert netharness.dns_soa_serial(n.address, "z.test", 0.3) is None
    n.start()
    assert netharness.dns_soa_serial(n.address, "z.test") == n.serial


def test_postfix_sees_the_tests_resolv_conf_and_leaves_nothing(
        postfix_factory, nsd_factory):
    host_resolv = open("/etc/resolv.conf", "rb").read()
    n = nsd_factory({"p.test": ""})
    p = postfix_factory("p.test", ["u"], dns=n.address)
    pids = p.processes()
    assert p.proc.pid in pids and len(pids) >= 3, pids
    ns = os.readlink(f"/proc/{p.proc.pid}/ns/mnt")
    assert ns != os.readlink("/proc/self/ns/mnt")
    inside = open(f"/proc/{p.proc.pid}/root/etc/resolv.conf").read()
    assert f"nameserver {n.address}\n" in inside
    assert open("/etc/resolv.conf", "rb").read() == host_resolv
    p.stop()
    assert not any(netharness.alive(pid) for pid in pids)
    nsd_pid = n.proc.pid
    n.stop()
    assert not netharness.alive(nsd_pid)
    assert open("/etc/resolv.conf", "rb").read() == host_resolv
