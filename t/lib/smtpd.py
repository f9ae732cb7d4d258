#!/usr/bin/env python3
"""smtpd.py: an SMTP server for tests, Python 3.11 standard library only.

Speaks real SMTP (RFC 5321) over STARTTLS (--mode starttls) or implicit
TLS (--mode tls): EHLO/HELO, STARTTLS, AUTH PLAIN and LOGIN (offered only
under TLS; a wrong password gets 535 5.7.8), MAIL, RCPT, DATA with
dot-unstuffing, RSET, NOOP, QUIT.  Every accepted message becomes
OUTDIR/NNNN.eml (the DATA bytes) and NNNN.json (the envelope); events go
to OUTDIR/events.log, one line each, for the tests to read.

Fault injection:
  --data-reply "451 4.3.0 Try later"  reply this to the end of DATA instead
  --data-reply-count N                 ... for the first N messages only
  --auth-fail                          refuse every AUTH (535 5.7.8)
  --delay S                            wait S seconds before the final 250;
  --delay-count N                      ... for the first N messages only.
If the client has gone away when the delay ends, the message is NOT
stored: the model is a server that commits only when it can acknowledge.
  --rcpt-fail 'PATTERN=REPLY'          reply REPLY to RCPT TO:<addr> when the
                                       address matches PATTERN (fnmatch, case
                                       blind); repeatable, the first match wins
  --rcpt-fail-count N                  ... for the first N matching RCPTs only
                                       (then 250: a 4xx-then-2xx mailbox)
  --mail-reply REPLY                   reply this to MAIL FROM instead of 250
  --mail-reply-count N                 ... for the first N MAIL commands only
  --quit-delay S                       hold the 221 to QUIT for S seconds.
A REPLY (here or --data-reply) of several lines separated by "\n" goes
out in the multi-line form of RFC 5321 4.2.1: "550-first", "550 last".
Every QUIT is logged as "QUIT session N after NNNN ..." (the messages
stored in that session, or "none"), and "QUIT replied session N" once the
221 is sent: with --quit-delay a test can look at the client's state
while its QUIT waits.

The demo's sink (./quickstart demo):
  --sink                               numbering continues after the highest
                                       NNNN.eml already in --dir (a restart
                                       reuses the directory and overwrites
                                       nothing), and no NNNN.json is written:
                                       the directory is the mail to read.

The port (127.0.0.1, ephemeral) is written to --port-file and printed.
"""
import argparse
import base64
import fnmatch
import json
import os
import select
import socket
import socketserver
import ssl
import sys
import threading
import time

OPTS = None
LOCK = threading.Lock()
STATE = {"seq": 0, "data_replies": 0, "delays": 0, "rcpt_fails": 0, "sessions": 0, "mail_replies": 0}


def event(line):
    with LOCK:
        with open(os.path.join(OPTS.dir, "events.log"), "a") as f:
            f.write("%.3f %s\n" % (time.time(), line))


def peer_gone(sock):
    """True when the client closed or reset the connection (non-blocking)."""
    p = select.poll()
    p.register(sock.fileno(), select.POLLIN | select.POLLRDHUP | select.POLLHUP | select.POLLERR)
    for _, ev in p.poll(0):
        if ev & (select.POLLRDHUP | select.POLLHUP | select.POLLERR):
            return True
        if ev & select.POLLIN:
            try:
                # MSG_PEEK on the raw descriptor: b"" means end of stream.
                raw = socket.socket(fileno=os.dup(sock.fileno()))
                try:
                    if raw.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                        return True
                finally:
                    raw.close()
            except BlockingIOError:
                pass
            except OSError:
                return True
    return False


def reply_lines(text):
    """REPLY text as wire lines: several lines (split on a newline or a
    literal backslash-n) take the multi-line form, every line but the last
    "NNN-", the last "NNN " (RFC 5321 4.2.1)."""
    lines = [x for x in text.replace("\\n", "\n").split("\n") if x]
    code = lines[0][:3]
    out = []
    for i, x in enumerate(lines):
        # "NNN text" or "NNN-text" lose their code (every line gets the
        # first line's); a bare "text" is kept whole.
        rest = x[4:] if x[:3].isdigit() and x[3:4] in (" ", "-", "") else x
        out.append(code + ("-" if i < len(lines) - 1 else " ") + rest)
    return out


def rcpt_fault(addr):
    """The reply a --rcpt-fail rule gives addr, or None (counted)."""
    for rule in OPTS.rcpt_fail:
        pat, _, rep = rule.partition("=")
        if fnmatch.fnmatchcase(addr.lower(), pat.lower()):
            with LOCK:
                if OPTS.rcpt_fail_count >= 0 and STATE["rcpt_fails"] >= OPTS.rcpt_fail_count:
                    return None
                STATE["rcpt_fails"] += 1
            return rep
    return None


class Session(socketserver.BaseRequestHandler):
    def setup(self):
        with LOCK:
            STATE["sessions"] += 1
            self.session = STATE["sessions"]
        self.stored = []
        self.sock = self.request
        self.buf = b""
        self.tls = False
        self.authed = None
        self.reset()

    def reset(self):
        self.mail_from = None
        self.rcpts = []

    # -- I/O --
    def send(self, line):
        self.sock.sendall(line.encode() + b"\r\n")

    def mail_fault(self):
        """Whether --mail-reply answers this MAIL (counted)."""
        with LOCK:
            if not OPTS.mail_reply or (0 <= OPTS.mail_reply_count <= STATE["mail_replies"]):
                return False
            STATE["mail_replies"] += 1
            return True

    def send_reply(self, text):
        self.sock.sendall(b"".join(x.encode() + b"\r\n" for x in reply_lines(text)))

    def readline(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
            if len(self.buf) > 10 * 1024 * 1024:
                return None
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def start_tls(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(OPTS.cert, OPTS.key)
        self.sock = ctx.wrap_socket(self.sock, server_side=True)
        self.tls = True

    # -- the conversation --
    def handle(self):
        try:
            if OPTS.mode == "tls":
                self.start_tls()
            self.send("220 px-test-smtpd ESMTP ready")
            self.loop()
        except (OSError, ssl.SSLError) as e:
            event("ERROR %s" % e)

    def ehlo_lines(self):
        ext = ["SIZE 10485760", "8BITMIME"]
        if OPTS.mode == "starttls" and not self.tls:
            ext.append("STARTTLS")
        if self.tls:
            ext.append("AUTH PLAIN LOGIN")
        return ext

    def loop(self):
        while True:
            raw = self.readline()
            if raw is None:
                return
            line = raw.decode("utf-8", "replace")
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            event("C: %s" % (verb + (" ***" if verb == "AUTH" else (" " + arg if arg else ""))))
            if verb == "EHLO":
                self.reset()
                ext = self.ehlo_lines()
                self.send("250-px-test-smtpd greets %s" % arg)
                for i, e in enumerate(ext):
                    self.send(("250 " if i == len(ext) - 1 else "250-") + e)
            elif verb == "HELO":
                self.reset()
                self.send("250 px-test-smtpd")
            elif verb == "STARTTLS":
                if OPTS.mode != "starttls" or self.tls:
                    self.send("503 5.5.1 TLS already active")
                    continue
                if self.buf:
                    self.send("501 5.5.2 pipelined data after STARTTLS")
                    return
                self.send("220 2.0.0 Ready to start TLS")
                self.start_tls()
                self.authed = None
                self.reset()
                event("TLS")
            elif verb == "AUTH":
                self.auth(arg)
            elif verb == "MAIL":
                if not self.tls:
                    self.send("530 5.7.0 Must issue a STARTTLS command first")
                elif OPTS.user and not self.authed:
                    self.send("530 5.7.0 Authentication required")
                elif not arg.upper().startswith("FROM:<"):
                    self.send("501 5.5.4 Syntax: MAIL FROM:<address>")
                elif self.mail_fault():
                    self.reset()
                    event("MAIL refused: %s" % " / ".join(reply_lines(OPTS.mail_reply)))
                    self.send_reply(OPTS.mail_reply)
                else:
                    self.reset()
                    self.mail_from = arg[5:].split(">")[0] + ">"
                    self.send("250 2.1.0 Ok")
            elif verb == "RCPT":
                if self.mail_from is None:
                    self.send("503 5.5.1 MAIL first")
                elif not arg.upper().startswith("TO:<"):
                    self.send("501 5.5.4 Syntax: RCPT TO:<address>")
                else:
                    addr = arg[3:].split(">")[0] + ">"
                    fault = rcpt_fault(addr[1:-1])
                    if fault:
                        event("RCPT refused %s: %s" % (addr, " / ".join(reply_lines(fault))))
                        self.send_reply(fault)
                        continue
                    self.rcpts.append(addr)
                    self.send("250 2.1.5 Ok")
            elif verb == "DATA":
                if not self.rcpts:
                    self.send("503 5.5.1 RCPT first")
                    continue
                self.send("354 End data with <CR><LF>.<CR><LF>")
                if not self.data():
                    return
            elif verb == "RSET":
                self.reset()
                self.send("250 2.0.0 Ok")
            elif verb == "NOOP":
                self.send("250 2.0.0 Ok")
            elif verb == "QUIT":
                event("QUIT session %d after %s" % (self.session, " ".join(self.stored) or "none"))
                if OPTS.quit_delay:
                    time.sleep(OPTS.quit_delay)
                self.send("221 2.0.0 Bye")
                event("QUIT replied session %d" % self.session)
                return
            else:
                self.send("502 5.5.2 Command not recognised")

    def auth(self, arg):
        if not self.tls:
            self.send("538 5.7.11 Encryption required for requested authentication mechanism")
            return
        if self.authed:
            self.send("503 5.5.1 Already authenticated")
            return
        mech, _, initial = arg.partition(" ")
        mech = mech.upper()
        try:
            if mech == "PLAIN":
                if not initial:
                    self.send("334 ")
                    initial = (self.readline() or b"").decode()
                parts = base64.b64decode(initial, validate=True).split(b"\0")
                if len(parts) != 3:
                    raise ValueError("bad PLAIN")
                user, pw = parts[1].decode(), parts[2].decode()
            elif mech == "LOGIN":
                if initial:
                    user = base64.b64decode(initial, validate=True).decode()
                else:
                    self.send("334 VXNlcm5hbWU6")
                    user = base64.b64decode(self.readline() or b"", validate=True).decode()
                self.send("334 UGFzc3dvcmQ6")
                pw = base64.b64decode(self.readline() or b"", validate=True).decode()
            else:
                self.send("504 5.5.4 Unrecognized authentication type")
                return
        except (ValueError, UnicodeDecodeError):
            self.send("501 5.5.2 Cannot decode response")
            return
        if not OPTS.auth_fail and user == OPTS.user and pw == OPTS.password:
            self.authed = user
            event("AUTH ok %s %s" % (mech, user))
            self.send("235 2.7.0 Authentication successful")
        else:
            event("AUTH failed %s %s" % (mech, user))
            self.send("535 5.7.8 Authentication credentials invalid")

    def data(self):
        lines = []
        while True:
            line = self.readline()
            if line is None:
                event("DROPPED during DATA")
                return False
            if line == b".":
                break
            if line.startswith(b"."):
                line = line[1:]          # dot-unstuffing (RFC 5321 4.5.2)
            lines.append(line)
        msg = b"\r\n".join(lines) + b"\r\n"
        with LOCK:
            reply_now = None
            if OPTS.data_reply and (OPTS.data_reply_count < 0 or STATE["data_replies"] < OPTS.data_reply_count):
                STATE["data_replies"] += 1
                reply_now = OPTS.data_reply
            delay = 0
            if OPTS.delay and (OPTS.delay_count < 0 or STATE["delays"] < OPTS.delay_count):
                STATE["delays"] += 1
                delay = OPTS.delay
        if reply_now:
            event("DATA refused: %s" % " / ".join(reply_lines(reply_now)))
            self.send_reply(reply_now)
            self.reset()
            return True
        if delay:
            event("DATA delaying %.1fs" % delay)
            time.sleep(delay)
            if peer_gone(self.sock):
                event("DROPPED client gone before 250: not delivered")
                return False
        with LOCK:
            STATE["seq"] += 1
            n = STATE["seq"]
        base = os.path.join(OPTS.dir, "%04d" % n)
        if not OPTS.sink:
            with open(base + ".json.tmp", "w") as f:
                json.dump({"from": self.mail_from, "rcpt": self.rcpts, "tls": self.tls,
                           "auth": self.authed}, f)
            os.rename(base + ".json.tmp", base + ".json")
        with open(base + ".eml.tmp", "wb") as f:
            f.write(msg)
        os.rename(base + ".eml.tmp", base + ".eml")
        self.stored.append("%04d" % n)
        event("DELIVERED %04d" % n)
        self.send("250 2.0.0 Ok: queued as %04d" % n)
        self.reset()
        return True


def sink_last(d):
    """--sink: the highest NNNN of the NNNN.eml files in d (0 if none)."""
    last = 0
    for name in os.listdir(d):
        stem, dot, ext = name.partition(".")
        if ext == "eml" and stem.isdigit():
            last = max(last, int(stem))
    return last


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global OPTS
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port-file")
    ap.add_argument("--mode", choices=["starttls", "tls"], default="starttls")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--user", default="")
    ap.add_argument("--password", default="")
    ap.add_argument("--auth-fail", action="store_true")
    ap.add_argument("--data-reply", default="")
    ap.add_argument("--data-reply-count", type=int, default=-1)
    ap.add_argument("--delay", type=float, default=0)
    ap.add_argument("--delay-count", type=int, default=-1)
    ap.add_argument("--rcpt-fail", action="append", default=[])
    ap.add_argument("--rcpt-fail-count", type=int, default=-1)
    ap.add_argument("--mail-reply", default="")
    ap.add_argument("--mail-reply-count", type=int, default=-1)
    ap.add_argument("--quit-delay", type=float, default=0)
    ap.add_argument("--sink", action="store_true")
    OPTS = ap.parse_args()
    os.makedirs(OPTS.dir, exist_ok=True)
    if OPTS.sink:
        STATE["seq"] = sink_last(OPTS.dir)
    srv = Server(("127.0.0.1", 0), Session)
    port = srv.server_address[1]
    if OPTS.port_file:
        with open(OPTS.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.rename(OPTS.port_file + ".tmp", OPTS.port_file)
    print("PORT %d" % port, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
