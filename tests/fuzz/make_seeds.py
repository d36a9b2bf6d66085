#!/usr/bin/env python3
"""make_seeds.py - writes the small seed corpus of every fuzz target into
tests/fuzz/corpus/<target>/ (one file per seed, named by its purpose).

The seeds are valid inputs the fuzzer mutates from; they are committed, and
this script only documents and regenerates them. Frames use the host byte
order of the ipc layer (little-endian on every machine we build on).
"""
import base64
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def u32(v):
    return struct.pack("<I", v)


def u64(v):
    return struct.pack("<Q", v)


def s(v):
    if isinstance(v, str):
        v = v.encode()
    return u32(len(v)) + v


ENV = ("version 1\nid 0123456789ABCDEF\ncreated 1700000000\n"
       "sender alice@example.org\norigin smtp\nclient 192.0.2.1\n"
       "helo mx.example.org\nbounce 0\n"
       "rcpt bob@example.net\tBob@Example.NET\tdeferred\t3\t1700003600\t0\t"
       "4.2.2 mailbox full\\x0d\\x0a\n"
       "rcpt carol@example.net\tcarol@example.net\tpending\t0\t0\t1\t\n"
       "end\n")
ENV2 = ("version 2\nid 0123456789ABCDEF\ncreated 1700000000\n"
        "sender alice@example.org\norigin smtp\nclient 192.0.2.1\n"
        "helo mx.example.org\nbounce 0\nbody 8bitmime\nsmtputf8 1\n"
        "ret hdrs\nenvid QQ\\x0a1\nauth alice\nheld 1700000001\n"
        "rcpt bob@example.net\tBob@Example.NET\tdeferred\t3\t1700003600\t0\t"
        "success,failure,delay\t1\trfc822;Bob@Example.NET\tmx.example.net\t"
        "450 4.2.2 full\t4.2.2 mailbox full\\x0d\\x0a\n"
        "rcpt carol@example.net\tcarol@example.net\tpending\t0\t0\t1\t"
        "never\t0\t\t\t\t\n"
        "end\n")


def smtp_cmd():
    put("smtp_cmd", "session",
        "EHLO client.example.org\r\nMAIL FROM:<alice@example.org> SIZE=1000 "
        "BODY=8BITMIME\r\nRCPT TO:<bob@example.net>\r\nRCPT TO:<Postmaster>\r\n"
        "DATA\r\nRSET\r\nNOOP\r\nVRFY bob@example.net\r\nQUIT\r\n")
    put("smtp_cmd", "utf8",
        "MAIL FROM:<j\u00f6rg@b\u00fccher.example> SMTPUTF8\r\n"
        "RCPT TO:<\u00e9l\u00e8ve@\u00e9cole.example>\r\n")
    put("smtp_cmd", "quoted_route_literal",
        'MAIL FROM:<"a b>c\\"d"@[192.0.2.1]>\r\n'
        "RCPT TO:<@relay.example,@two.example:user@[IPv6:2001:db8::1]>\r\n"
        "MAIL FROM:<>\r\nHELO x\r\nVRFY <postmaster>\r\n")
    put("smtp_cmd", "dsn",
        "EHLO x\r\nMAIL FROM:<a@b.example> RET=HDRS ENVID=QQ+2B1\r\n"
        "RCPT TO:<c@d.example> NOTIFY=SUCCESS,DELAY "
        "ORCPT=rfc822;C+2Bx@d.example\r\nRCPT TO:<e@d.example> "
        "NOTIFY=NEVER ORCPT=utf-8;e@d.example\r\n"
        "MAIL FROM:<a@b> RET=FULL RET=HDRS ENVID=+0A\r\n")
    put("smtp_cmd", "bad", "MAIL FROM:<a@b>junk\r\nRCPT TO:<a..b@c>\r\n"
        "MAIL FROM:<a@b> SIZE=99999999999999999999999 FOO=1\r\n"
        "mail from: <x@y.example> body=7bit\r\nRCPT TO:<a@b> X=1\r\n"
        "DA\x00TA\r\n")


def smtp_data():
    put("smtp_data", "simple", b"\x05Subject: x\r\n\r\nhello\r\n.\r\nQUIT\r\n")
    put("smtp_data", "stuffed",
        b"\x33..leading dot\r\n.\r\n..\r\nx\r\n.\r\n")
    put("smtp_data", "smuggle",
        b"\x07a\n.\nb\r\n.\nc\n.\r\nd\r.\r\ne\r\n.\rf\r\n.\r\n")
    put("smtp_data", "empty", b"\x01.\r\n")
    put("smtp_data", "nul_long", b"\x09" + b"a\x00" + b"x" * 1200 +
        b"\r\n.\r\n")


def envelope():
    put("envelope", "two_rcpt", ENV)
    put("envelope", "bounce",
        ENV.replace("sender alice@example.org", "sender ")
        .replace("bounce 0", "bounce 1"))
    put("envelope", "v2", ENV2)


def proto():
    # Decoder numbers: enum fuzz_dec in fuzz_proto.c.
    qid = "0123456789ABCDEF"
    frames = {
        0: ("q_err", u32(1) + s("4.3.0 queue file write error")),
        1: ("q_file", s(qid)),
        2: ("q_commit", u64(1234) + s("alice@example.org") +
            s("[192.0.2.1]") + s("mx.example.org") + u32(1) + u32(0) +
            u32(2) + s("QQ+1") + u32(2) +
            s("bob@example.net") + u32(6) + s("rfc822;Bob@example.net") +
            s("carol@example.net") + u32(0) + s("")),
        3: ("q_ok", s(qid)),
        4: ("q_ctl_entry", u64(99) + s(ENV)),
        5: ("q_ctl_delete", s(qid)),
        6: ("r_check", s("bob@example.net")),
        7: ("r_check_reply", u32(1) + s("5.1.1 no such user")),
        8: ("r_expand", s("postmaster@example.org")),
        9: ("r_expansion", u32(0) + s("") + u32(2) + u32(0) +
            s("bob@example.org") + s("news") + u32(1) +
            s("x@remote.example") + s("")),
        10: ("a_auth", s("pop3") + s("192.0.2.1") + s("bob@example.org") +
             s("secret")),
        11: ("a_auth_reply", u32(0) + s("bob@example.org")),
        12: ("d_hello", u32(1)),
        13: ("d_job", s(qid) + s("alice@example.org") + s("bob@example.org")
             + s("Bob@Example.org") + u64(96) + u64(1000) +
             u64(1700000000000000) + u64(1700000000500000) + u32(0)),
        14: ("d_result", u32(0) + s("2.0.0 delivered to maildir")),
        15: ("p_login", u32(1) + u32(0) + s("bob@example.org") +
             s("secret") + u32(2) + b"a1" + u32(6) + b"STAT\r\n"),
        16: ("p_fail", u32(2)),
    }
    for n, (name, payload) in frames.items():
        put("proto", "%02d_%s" % (n, name), bytes([n, 1]) + payload)
    # An alias command for deliverd's pipe transport (R_KIND_COMMAND).
    put("proto", "13_d_job_command", bytes([13, 1]) + s(qid) +
        s("alice@example.org") + s('|/usr/bin/procmail -a "$EXTENSION"') +
        s("list+tag@example.org") + u64(96) + u64(1000) +
        u64(1700000000000000) + u64(1700000000500000) + u32(2))
    # 17: a stream of two frames: type, length, id, flags.
    f1 = s("bob@example.net")
    f2 = u32(1)
    stream = (u32(40) + u32(len(f1)) + u32(7) + u32(0) + f1 +
              u32(60) + u32(len(f2)) + u32(8) + u32(0) + f2)
    put("proto", "17_ipc_stream", bytes([17]) + stream)
    # After the stream: the administrator's queue operations.
    more = {
        18: ("q_ctl_op", u32(2) + u32(2) + s(qid) + s("FEDCBA9876543210")),
        19: ("q_ctl_done", u32(1) + u32(1) + s(qid)),
        20: ("q_ctl_flush", s("example.net")),
        21: ("d_rjob", s(qid) + s("alice@example.org") + s("example.net") +
             u64(96) + u64(1000) + u64(1700000000000000) +
             u64(1700000000500000) + u32(1) + u32(2) + s("QQ314159") +
             u32(2) + s("bob@example.net") + s("Bob@example.org") +
             s("rfc822;Bob@example.org") + u32(2) + s("carol@example.net") +
             s("carol@example.net") + s("") + u32(0)),
        22: ("d_rresult", u32(2) + u32(0) + s("2.0.0 sent") +
             s("mx.example.net") + s("") + u32(2) +
             s("host mx.example.net[192.0.2.7] said: 550 5.1.1 no") +
             s("mx.example.net") + s("550 5.1.1 no")),
        23: ("r_route", s("example.net")),
        24: ("r_route_reply", u32(0) + s("") + s("") + u32(0) + u32(2) +
             s("mx1.example.net") + u32(10) + u32(4) + bytes([192, 0, 2, 7]) +
             s("mx1.example.net") + u32(10) + u32(6) +
             bytes([0x20, 1, 0xd, 0xb8] + [0] * 11 + [7])),
    }
    for n, (name, payload) in more.items():
        put("proto", "%02d_%s" % (n, name), bytes([n, 0]) + payload)
    put("proto", "24_r_route_reply_nullmx", bytes([24, 0]) + u32(2) +
        s("5.1.10") + s("Domain example.net does not accept mail (nullMX)") +
        u32(0) + u32(0))


def pop3_cmd():
    plain = base64.b64encode(b"\0bob@example.org\0secret").decode()
    put("pop3_cmd", "login_user",
        "CAPA\r\nUSER bob@example.org\r\nPASS secret word\r\nSTAT\r\n"
        "LIST\r\nLIST 1\r\nUIDL 2\r\nRETR 1\r\nTOP 1 10\r\nDELE 1\r\n"
        "RSET\r\nNOOP\r\nQUIT\r\n")
    put("pop3_cmd", "auth_plain",
        "AUTH\r\nAUTH PLAIN %s\r\nauth plain\r\n%s\r\nAUTH PLAIN\r\n*\r\n"
        "AUTH PLAIN =\r\n" % (plain, base64.b64encode(
            b"bob@example.org\0bob@example.org\0pw").decode()))
    put("pop3_cmd", "bad", "TOP 1\r\nLIST  1\r\nRETR 0\r\nRETR 4294967296\r\n"
        "DELE 0001\r\nAUTH PLAIN AB=C\r\nAUTH PLAIN QUJD\r\nX\x00Y\r\n\r\n")


def pop3_stuff():
    put("pop3_stuff", "lf_message",
        b"\x09Subject: hi\n\nline one\n.dot line\n.\nlast line")
    put("pop3_stuff", "crlf_message",
        b"\x0eSubject: hi\r\nTo: x\r\n\r\nbody\r\n..two\r\n\r\n")
    put("pop3_stuff", "bare_cr", b"\x02a\rb\r\r\n.\r.\n\r")


def mailhdr():
    put("mailhdr", "plain",
        b"\x01From: Alice <alice@example.org>\nTo: bob, \"Carol, C\" "
        b"<carol@example.net> (comment)\nCc: team: d@example.net, "
        b"e@example.net;\nBcc: secret@example.net\nSubject: folded\n "
        b"continued\n\nbody\n.\nmore\n")
    put("mailhdr", "resent_crlf",
        b"\x06From sender Mon Jan  1 00:00:00 2024\r\nResent-To: "
        b"<@relay.example:x@example.org>\r\nResent-Cc: [weird]@host\r\n"
        b"Message-ID: <1@x>\r\nDate: now\r\n\r\nbody\r\n")
    put("mailhdr", "no_blank", b"\x02X-A: 1\nnot a header line\nbody")
    put("mailhdr", "comments",
        b"\x01To: ((nested) comment) a@b.example, \"q\\\"uote\"@c.example,"
        b" <d@e.example> trailing words\n")


def conf():
    with open(os.path.join(HERE, "..", "..", "etc", "postern.conf"),
              "rb") as f:
        put("conf", "shipped", f.read())
    put("conf", "settings",
        "myhostname = mx.example.org\nlocal_domains = example.org,\n"
        "  example.net localhost\nmynetworks = 127.0.0.0/8 [::1]/128\n"
        "message_size_limit = 50M\nsmtpd_timeout = 5m\nsmtpd_vrfy = yes\n"
        "smtpd_banner = $myhostname ESMTP\nspool_directory = /var/spool/x\n"
        "smtpd_recipient_limit = 100\nqueue_retry_min = 1m\n"
        "queue_retry_max = 1h\n# comment\n\n")
    put("conf", "bad", "local_domains =\nfoo = 1\n  cont\nsmtpd_vrfy = maybe\n")


def aliases():
    with open(os.path.join(HERE, "..", "..", "etc", "aliases"), "rb") as f:
        put("aliases", "shipped", f.read())
    put("aliases", "hosting",
        "@example.org: u-catch\n@alias.example: @example.org\n"
        "sales@example.org: bob, u1@example.org\n  \"|/bin/cmd a, b\"\n"
        "loop: loop2\nloop2: loop\nself: self, u3\n"
        "remote: x@remote.example\n# comment\n\n")
    put("aliases", "bad", "no colon\n@bad..d: x\nt: a b@\n  more\n"
        "u: @example.org\nempty:\n")


def spool_header():
    env = ENV.encode()
    msg = b"Subject: x\n\nbody\n"
    off = 96 + len(msg)
    hdr = ("PQ1 %016x %s%10s\n" % (off, "ab" * 32, "")).encode()
    assert len(hdr) == 96
    put("spool_header", "committed", hdr + msg + env)
    hdr0 = ("PQ1 %016x %s%10s\n" % (0, "00" * 32, "")).encode()
    put("spool_header", "receiving", hdr0 + msg)


def dns_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def dns_rr(name, rtype, ttl, rdata):
    return dns_name(name) + struct.pack(">HHIH", rtype, 1, ttl,
                                        len(rdata)) + rdata


def dns_answer(qtype, qid, rcode, answers, authority=(), tc=False):
    """fuzz_dns_answer's input: the type selector (0 A, 1 AAAA, 2 MX),
    the id (big-endian, as on the wire), then the packet answering
    example.test."""
    sel = {1: 0, 28: 1, 15: 2}[qtype]
    flags = 0x8180 | rcode | (0x0200 if tc else 0)
    pkt = struct.pack(">HHHHHH", qid, flags, 1, len(answers),
                      len(authority), 0)
    pkt += dns_name("example.test") + struct.pack(">HH", qtype, 1)
    for rr in list(answers) + list(authority):
        pkt += rr
    return bytes([sel]) + struct.pack(">H", qid) + pkt


def dns_answer_seeds():
    soa = dns_rr("example.test", 6, 300,
                 dns_name("ns.example.test") + dns_name("admin.example.test")
                 + struct.pack(">IIIII", 1, 3600, 600, 86400, 60))
    mx = [dns_rr("example.test", 15, 300, struct.pack(">H", 10) +
                 dns_name("mx1.example.test")),
          dns_rr("example.test", 15, 300, struct.pack(">H", 20) +
                 dns_name("mx2.example.test"))]
    put("dns_answer", "mx", dns_answer(15, 0x1234, 0, mx))
    put("dns_answer", "null_mx", dns_answer(15, 7, 0, [
        dns_rr("example.test", 15, 300, struct.pack(">H", 0) + b"\0")]))
    put("dns_answer", "a", dns_answer(1, 9, 0, [
        dns_rr("example.test", 1, 60, bytes([127, 0, 0, 1]))]))
    put("dns_answer", "aaaa", dns_answer(28, 9, 0, [
        dns_rr("example.test", 28, 60, bytes(15) + b"\1")]))
    put("dns_answer", "cname", dns_answer(1, 3, 0, [
        dns_rr("example.test", 5, 60, dns_name("target.example.test")),
        dns_rr("target.example.test", 1, 60, bytes([10, 0, 0, 1]))]))
    put("dns_answer", "nxdomain", dns_answer(15, 5, 3, [], [soa]))
    put("dns_answer", "nodata", dns_answer(15, 5, 0, [], [soa]))
    put("dns_answer", "truncated", dns_answer(1, 5, 0, [], tc=True))


def logd_line():
    put("logd_line", "record",
        "<6>postern/smtpd: connect from unknown[192.0.2.1]")
    put("logd_line", "forged", "<6>postern/smtpd[1]: a\nfake line\x7f")
    put("logd_line", "no-tag", "no record at all")


def smtp_reply():
    put("smtp_reply", "ehlo", "250-mx.example Hello\n250-PIPELINING\n"
        "250-SIZE 10240000\n250-8BITMIME\n250 SMTPUTF8\n")
    put("smtp_reply", "reject", "550 5.1.1 <a@b>: no such user\n")
    put("smtp_reply", "text", "Subject: x\n\n.\n..\nline\r.\rmore\n")


def cmdline():
    put("cmdline", "procmail", b'/usr/bin/procmail -a "$EXTENSION"')
    put("cmdline", "mailman",
        b"/usr/lib/mailman/mail/mailman post 'my list' ${RECIPIENT}")
    put("cmdline", "sender", b"/bin/x -f $SENDER\0-rf ;$(id)`x` \"*\"")
    put("cmdline", "refused", b"/bin/x a\\ b | y > z $1")


def tls_sni():
    put("tls_sni", "hosting", "# name cert key\nmail.example.org "
        "/etc/ssl/a.pem /etc/ssl/a.key\n*.example.net\t/c/w.pem /k/w.key"
        "\r\n\nlast.test /c/l /k/l")
    put("tls_sni", "bad", "a.test /c.pem\nA.TEST /d /e\n*x.test /a /b\n")


def tls_policy():
    put("tls_policy", "policy", "# domain level [match=...]\nexample.org "
        "verify match=hostname:nexthop:mx.example.org\n.example.org "
        "encrypt\r\n\nplain.test none\ndane.test dane\nmay.test may")
    put("tls_policy", "bad", "a.test sometimes\nA.TEST may\n.x..test "
        "verify match=a::b\nb.test may match=x\n")


def mime():
    # The first byte: bit 0 picks the small limits.
    mixed = ("From: a@example.org\r\nSubject: =?utf-8?Q?caf=C3=A9?= "
             "=?ISO-8859-1?B?SuRyZw==?=\r\nContent-Type: multipart/mixed;"
             "\r\n\tboundary=\"=_o\"\r\n\r\npreamble\r\n--=_o\r\n"
             "Content-Type: multipart/alternative; boundary=a\r\n\r\n"
             "--a\r\n\r\nplain\r\n--a\r\nContent-Type: text/html; "
             "charset=\"utf-8\"\r\n\r\n<p>x</p>\r\n--a--\r\n--=_o\r\n"
             "Content-Type: application/pdf; name*0*=utf-8''%E2%82%AC;"
             "\r\n name*1=\"a b.pdf\"\r\nContent-Transfer-Encoding: base64"
             "\r\nContent-Disposition: attachment; filename=r.pdf\r\n"
             "Content-Description: =?windows-1252?q?=80?=\r\n\r\n"
             "JVBERi0xLjQK\r\n--=_o\r\nContent-Type: message/rfc822\r\n"
             "\r\nSubject: inner\r\nContent-Type: multipart/digest; "
             "boundary=d\r\n\r\n--d\r\n\r\nSubject: d1\r\n\r\nx\r\n"
             "--d--\r\n--=_o--\r\nepilogue\r\n")
    put("mime", "mixed", "\x00" + mixed)
    put("mime", "mixed_small", "\x01" + mixed)
    put("mime", "bare_lf", "\x02" + mixed.replace("\r\n", "\n"))
    put("mime", "broken", "\x03Content-Type: multipart/mixed; boundary=b\n"
        "\n--b\nContent-Type: multipart/mixed; boundary=c\n\n--c\n"
        "Content-Type: text\0/plain\n\n\xff\xfe\n--b\n--c--\n--bb\n--b")
    put("mime", "nested", "\x01" + "Content-Type: message/rfc822\r\n\r\n"
        * 8 + "body")


def uidlist():
    # As Dovecot 2.3 writes them (tests/unit/data/dovecot), and the rest
    # of the format: extensions, unknown header fields, old whole names.
    put("uidlist", "dovecot", "3 V1796255446 N5 G1a88a112d6ae106b9e09000083"
        "ecc375\n2 :1796255446.M512140P2487.vm,S=30,W=34\n4 :1796255447.M6"
        "03662P2609.vm,S=20,W=23\n")
    put("uidlist", "extensions", "3 N10 X7 V42 Zz\n3 W1394 S1355 :1275660"
        "208.M109046P27315.host,S=1355,W=1394\n7 :a.host:2,S\n9 :a.host\n")
    put("uidlist", "keywords", "0 $Forwarded\n1 Junk\n2 NonJunk\n25 z\n")
    put("uidlist", "truncated", "3 V1 N2\n1 :a")


def mailbox_name():
    put("mailbox_name", "rfc3501", "~peter/mail/&U,BTFw-/&ZeVnLIqe-")
    put("mailbox_name", "folder", "INBOX.Entw&APw-rfe.a&-b")
    put("mailbox_name", "astral", "&2D3eAA-x")
    put("mailbox_name", "utf8", "Entw\u00fcrfe \U0001F600".encode())
    put("mailbox_name", "hostile", "../&AC8-..&AOk-&AOk-")


# The first byte picks the literal mode: 0 LITERAL+, 1 LITERAL-, 2 none.
TB_FETCH = ("A003 UID FETCH 1:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS "
            "(From To Cc Bcc Subject Date Message-ID Priority X-Priority "
            "References Newsgroups In-Reply-To Content-Type Reply-To)])\r\n")
APPEND_MSG = "From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n"


def imap_cmd():
    put("imap_cmd", "thunderbird",
        "\x00A001 CAPABILITY\r\nA002 LOGIN alice \"p\\\"w\"\r\n"
        "A003 SELECT INBOX\r\n" + TB_FETCH +
        "A004 UID STORE 3:5,9 +FLAGS.SILENT (\\Deleted \\Seen $Junk)\r\n"
        "A005 LIST \"\" \"*\" RETURN (SPECIAL-USE)\r\nA006 LOGOUT\r\n")
    put("imap_cmd", "append_literals",
        "\x00A5 APPEND \"Sent\" (\\Seen) \"17-Jul-1996 02:44:25 -0700\" "
        "{%d}\r\n%s\r\nA6 LOGIN {5+}\r\nalice {4+}\r\npw\xe9\r\n"
        % (len(APPEND_MSG), APPEND_MSG))
    put("imap_cmd", "fetch_sections",
        "\x01a1 FETCH 1:3,5 (BODY[] BODY.PEEK[1.2.MIME] body[TEXT]<0.2048> "
        "BODY[2.HEADER.FIELDS.NOT (\"Received\" X-Spam)] RFC822.HEADER "
        "BODYSTRUCTURE ENVELOPE INTERNALDATE MODSEQ)\r\na2 FETCH 1 ALL\r\n"
        "a3 SEARCH CHARSET UTF-8 SUBJECT \"caf\xc3\xa9\" SINCE 1-Feb-1994 "
        "NOT DELETED\r\na4 LSUB \"\" INBOX.%%\r\n".replace("%%", "%"))
    put("imap_cmd", "hostile",
        "\x02A1 APPEND INBOX {4294967295}\r\nA2 X ((((((((((((((((("
        "x)))))))))))))))))\r\nA3 LOGIN {5000+}\r\n" + "x" * 5000 +
        "\r\nA4 SELECT IN\x00BOX\r\nA5 X {3}\r\na\x00b\r\n"
        "\xff\xfe garbage\nA6 NOOP\rX\r\nA7 APPEND x {10}\r\nabc")


def imap_seqset():
    put("imap_seqset", "rfc3501", b"\x00\x0f2,4:7,9,12:*")
    put("imap_seqset", "brief", b"\x00\x0a1:5,7,*:3,9:*")
    put("imap_seqset", "uids", b"\xff\xff1:*,4294967295,100:50")
    put("imap_seqset", "empty_star", b"\x00\x00*:3")
    put("imap_seqset", "bad", b"\x00\x011,,2:")


# The first byte is the subscriptions file's length / 4 (that many times
# 4 bytes follow), then the commands.
def imap_folder():
    def cmds(*c):
        return "".join("t%d %s\r\n" % (i, x) for i, x in enumerate(c))
    put("imap_folder", "tree", "\x00" + cmds(
        'CREATE x', 'CREATE x.y.z', 'LIST "" *', 'RENAME a x.q',
        'RENAME x w', 'DELETE a.b', 'DELETE w.y.z', 'LSUB "" %',
        'SUBSCRIBE Sent', 'UNSUBSCRIBE Sent',
        'LIST (SUBSCRIBED RECURSIVEMATCH) "" % RETURN (CHILDREN SPECIAL-USE)',
        'LIST "" ("a" "Sent" "*") RETURN (SUBSCRIBED)', 'RENAME INBOX Old',
        'NAMESPACE', 'LIST "" ""', 'CREATE foo.'))
    subs = b"V\t2\n\na\tb\n../x\nSent\n\xff\x00\n"
    subs += b"\n" * ((-len(subs)) % 4)
    put("imap_folder", "subscriptions", bytes([len(subs) // 4]) + subs +
        cmds('LSUB "" *', 'LSUB "" %', 'SUBSCRIBE a.b', 'UNSUBSCRIBE a.b',
             'LIST (SUBSCRIBED) "" *').encode())
    put("imap_folder", "hostile", ("\x00" + cmds(
        'CREATE "../x"', 'CREATE "a/b"', 'CREATE {5+}\r\n../..',
        'RENAME a.b "../../etc"', 'RENAME a.b &AC8-x', 'DELETE ".."',
        'CREATE "caf\xc3\xa9"', 'LIST "../" *',
        'CREATE ' + 'a.' * 126 + 'a', 'LIST "" *',
        'RENAME a ' + 'b' * 250, 'CREATE x&AC4-y')).encode("latin1"))


def imap_search():
    msg = open(os.path.join(os.path.dirname(os.path.abspath(__file__)),
               "..", "unit", "data", "imap_search", "s02_base64_utf8.eml"),
               "rb").read()
    put("imap_search", "flags", b"\x00SEEN UNFLAGGED OR DRAFT "
        b"(KEYWORD work NOT RECENT) 1:3,* UID 2:*\x00")
    put("imap_search", "text", b"\x02CHARSET UTF-8 OR SUBJECT \"priv\" "
        b"BODY \"\xd0\xb2\xd1\x81\xd1\x82\" TEXT data.bin HEADER To nikos "
        b"SENTON 15-Dec-2026\x00" + msg)
    put("imap_search", "return_modseq", b"\x01RETURN (MIN MAX COUNT ALL) "
        b"MODSEQ \"/flags/\\\\Seen\" all 3 LARGER 10 SINCE 1-Dec-2026 "
        b"OLDER 100\x00Date: 1 Jan 99 10:00 EST\n\nbody\n")
    put("imap_search", "literal", b"\x00BODY {5}\r\nb\xc3\xa9dy NOT NEW\x00"
        b"Content-Transfer-Encoding: quoted-printable\n\nb=C3=A9dy=\n")
    put("imap_search", "hostile", b"\x00" + b"NOT " * 80 + b"OR " * 70 +
        b"ALL " * 71 + b"\x00" + b"Content-Type: multipart/mixed; "
        b"boundary=b\n\n" + b"--b\nContent-Type: multipart/mixed; "
        b"boundary=b\n\n" * 30)


def main():
    for f in (smtp_cmd, smtp_data, envelope, proto, pop3_cmd, pop3_stuff,
              mailhdr, conf, spool_header, dns_answer_seeds,
              logd_line, aliases, smtp_reply, cmdline, tls_sni,
              tls_policy, mime, uidlist, mailbox_name, imap_cmd,
              imap_seqset, imap_folder, imap_search):
        f()
    return 0


if __name__ == "__main__":
    sys.exit(main())
