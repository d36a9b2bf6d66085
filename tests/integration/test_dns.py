"""resolverd's DNS module (resolverd/dns_*.c) against a real DNS server:
NSD from Debian, started by the harness (netharness.Nsd) on a loopback
address of its own, port 53, serving zones written by the test.
tests/tools/dns_probe.c drives the module (route DOMAIN = what delivery
will ask; query NAME TYPE)."""
import os
import pathlib
import shutil
import socket
import subprocess

import pytest

import netharness

# The harness adds the SOA, the NS and ns.a.test's address.
ZONE_A = """@       IN MX  20 mx2.a.test.
@       IN MX  10 mx1.a.test.
mx1     IN A   127.0.0.11
mx2     IN A   127.0.0.12
mx2     IN AAAA ::1
eq      IN MX  10 m1.a.test.
eq      IN MX  10 m2.a.test.
eq      IN MX  10 m3.a.test.
m1      IN A   127.0.1.1
m2      IN A   127.0.1.2
m3      IN A   127.0.1.3
implicit IN A  127.0.0.20
null    IN MX  0 .
noaddr  IN MX  10 nothing.a.test.
nothing IN TXT "no address here"
halfbad IN MX  10 bad\\032name.a.test.
halfbad IN MX  20 mx1.a.test.
alias   IN CNAME mx1.a.test.
"""


def big_records():
    # 40 A records: more than 512 bytes without EDNS, so NSD sets TC
    # and the module must ask again over TCP.
    return "".join(f"big     IN A   127.0.2.{i}\n" for i in range(1, 41))


PROBE = None


@pytest.fixture(scope="module", autouse=True)
def _probe_path(request):
    global PROBE
    d = request.config.getoption("--build-dir") or os.environ["POSTERN_BUILD"]
    PROBE = pathlib.Path(d).resolve() / "tests" / "dns-probe"


@pytest.fixture(scope="module")
def nsd(_probe_path):
    """One NSD for the module (its zones never change here): the server
    as dns-probe's -s takes it, ADDR:53."""
    if not os.path.exists(netharness.NSD):
        pytest.fail("nsd is not installed (apt-get install nsd)")
    n = netharness.Nsd(netharness.new_tmpdir("postern-nsd-"),
                       {"a.test": ZONE_A + big_records()})
    try:
        n.start()
        server = f"{n.address}:53"
        # What the harness checked (the SOA) the module reads too.
        assert "status ok" in probe_raw(server, "query", "ns.a.test", "A")
        yield server
    finally:
        n.stop()
        shutil.rmtree(n.root, ignore_errors=True)


def probe_raw(*servers_and_args, opts=()):
    """servers_and_args: one server, then the command."""
    server, *args = servers_and_args
    r = subprocess.run([str(PROBE), "-s", server, *opts, *args],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def probe(server, *args, opts=()):
    out = probe_raw(server, *args, opts=opts)
    lines = out.splitlines()
    return lines


def hops(lines):
    return [tuple(l.split()[1:]) for l in lines if l.startswith("hop ")]


def test_exchangers_in_order_of_preference_with_their_addresses(nsd):
    out = probe(nsd, "route", "a.test")
    assert out[0] == "status ok - implicit 0 n 3", out
    assert hops(out) == [("mx1.a.test", "10", "127.0.0.11"),
                         ("mx2.a.test", "20", "127.0.0.12"),
                         ("mx2.a.test", "20", "::1")]


def test_equal_preferences_come_in_random_order(nsd):
    firsts = set()
    for _ in range(30):
        firsts.add(hops(probe(nsd, "route", "eq.a.test"))[0][0])
        if len(firsts) > 1:
            break
    assert len(firsts) > 1, "30 lookups always put the same exchanger first"


def test_a_domain_without_mx_is_its_own_exchanger(nsd):
    out = probe(nsd, "route", "implicit.a.test")
    assert out[0] == "status ok - implicit 1 n 1"
    assert hops(out) == [("implicit.a.test", "0", "127.0.0.20")]


def test_null_mx_fails_permanently_at_once(nsd):
    out = probe(nsd, "route", "null.a.test")
    assert out[0].startswith("status perm 5.1.10"), out
    assert "text Domain null.a.test does not accept mail (nullMX)" in out


def test_a_domain_that_does_not_exist_fails_permanently(nsd):
    out = probe(nsd, "route", "nosuch.a.test")
    assert out[0].startswith("status perm 5.4.4"), out
    assert any("name=nosuch.a.test type=MX: Host not found" in l
               for l in out), out


def test_exchangers_without_any_address_fail_permanently(nsd):
    out = probe(nsd, "route", "noaddr.a.test")
    assert out[0].startswith("status perm 5.4.4"), out
    assert "text No address for any mail exchanger of noaddr.a.test" in out


def test_an_exchanger_name_that_is_not_a_host_name_is_skipped(nsd):
    # "bad name.a.test" (a space in a label) never becomes a hop; the
    # next exchanger does.
    out = probe(nsd, "route", "halfbad.a.test")
    assert out[0] == "status ok - implicit 0 n 1", out
    assert hops(out) == [("mx1.a.test", "20", "127.0.0.11")]


def test_a_refusing_server_is_a_temporary_failure(nsd):
    # NSD refuses names outside its zones (REFUSED): try again later,
    # never a bounce.
    out = probe(nsd, "route", "example.org", opts=("-t", "300"))
    assert out[0].startswith("status temp 4.4.3"), out
    assert any("try again" in l for l in out)


def test_a_silent_server_defers_within_the_time_bound():
    # A UDP socket that never answers: two tries of 300 ms, then a
    # temporary failure, not a hang.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        server = f"127.0.0.1:{s.getsockname()[1]}"
        out = probe(server, "route", "a.test", opts=("-t", "300"))
    assert out[0].startswith("status temp 4.4.3"), out
    elapsed = int(out[-1].split()[1])
    assert 550 <= elapsed < 3000, out


def test_the_next_server_answers_when_the_first_is_silent(nsd):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        silent = f"127.0.0.1:{s.getsockname()[1]}"
        r = subprocess.run([str(PROBE), "-s", silent, "-s", nsd, "-t", "300",
                            "route", "a.test"], capture_output=True,
                           text=True, timeout=60)
    assert r.stdout.startswith("status ok - implicit 0 n 3"), r.stdout


def test_a_truncated_answer_is_asked_again_over_tcp(nsd):
    out = probe(nsd, "query", "big.a.test", "A")
    assert "status ok ttl 300" in out, out
    addrs = [l for l in out if l.startswith("addr ")]
    # 40 records came; the module keeps DNS_ADDR_MAX (32).
    assert len(addrs) == 32 and "addr 127.0.2.1" in addrs


def test_cname_inside_the_answer_is_followed(nsd):
    out = probe(nsd, "query", "alias.a.test", "A")
    assert "status ok ttl 300" in out and "addr 127.0.0.11" in out, out


def test_identical_questions_in_flight_share_one_query(nsd):
    out = probe(nsd, "query", "mx1.a.test", "A", "50")
    assert out[0] == "outstanding 1", out
    assert out.count("addr 127.0.0.11") == 50
