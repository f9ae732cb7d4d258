#!/usr/bin/env python3
"""paneld.py: a 3X-UI panel double for the spool tests, standard library only.

Speaks real HTTP/1.1 on 127.0.0.1 (an ephemeral port, written to
--port-file) under the web base path --base (default "/"):

  GET  {base}csrf-token   v3 only (--csrf): 200 {"obj":TOKEN,"success":true}
                          and the session cookie; 404 otherwise (v2)
  POST {base}login        JSON or form; 200 {"success":bool,"msg":...,"obj":null}
                          (contracts/3x-ui.md section 1.1); with --csrf, a
                          missing or wrong X-CSRF-Token is 403 with no body

Fault injection:
  --hang S     every call waits S seconds before answering (a panel that
               hangs for the client's whole timeout)
  --delay S    a login waits S seconds before answering

Counting, for the tests: calls in flight now and at most (max_in_flight),
calls per route, and logins: a login counts only if its reply reached a
client that was still there (the model: a panel that acts only when it
can answer, as smtpd.py's delayed message).  The counts are rewritten to
--stats (JSON) after every change; one line per event goes to --events.
"""
import argparse
import base64
import json
import os
import select
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

OPTS = None
LOCK = threading.Lock()
STATS = {"in_flight": 0, "max_in_flight": 0, "calls": {}, "logins": 0, "logins_refused": 0,
         "abandoned": 0}
TOKENS = {}


def save():
    tmp = OPTS.stats + ".tmp"
    with open(tmp, "w") as f:
        json.dump(STATS, f)
    os.replace(tmp, OPTS.stats)


def event(line):
    with open(OPTS.events, "a") as f:
        f.write("%.3f %s\n" % (time.time(), line))


def peer_gone(sock):
    p = select.poll()
    p.register(sock.fileno(), select.POLLIN | select.POLLRDHUP | select.POLLHUP | select.POLLERR)
    for _, ev in p.poll(0):
        if ev & (select.POLLRDHUP | select.POLLHUP | select.POLLERR):
            return True
        if ev & select.POLLIN:
            try:
                if sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                    return True
            except BlockingIOError:
                pass
            except OSError:
                return True
    return False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def route(self):
        path = self.path.split("?")[0]
        if not path.startswith(OPTS.base):
            return None
        return path[len(OPTS.base):]

    def reply(self, code, obj=None, cookie=None):
        body = b"" if obj is None else json.dumps(obj, sort_keys=True).encode()
        self.send_response(code)
        if obj is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        if cookie:
            self.send_header("Set-Cookie", "3x-ui=%s; Path=%s; HttpOnly; SameSite=Lax" % (cookie, OPTS.base))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def enter(self, route):
        with LOCK:
            STATS["in_flight"] += 1
            STATS["max_in_flight"] = max(STATS["max_in_flight"], STATS["in_flight"])
            STATS["calls"][route] = STATS["calls"].get(route, 0) + 1
            save()
        event("enter %s" % route)

    def leave(self, route):
        with LOCK:
            STATS["in_flight"] -= 1
            save()
        event("leave %s" % route)

    def wait(self, seconds):
        """Sleep, but notice a client that went away; True if it did."""
        end = time.time() + seconds
        p = select.poll()
        p.register(self.connection.fileno(), select.POLLRDHUP | select.POLLHUP | select.POLLERR)
        while time.time() < end:
            # Wakes the moment the client closes: the in-flight count
            # drops before the client can make its next call.
            if p.poll(max(1, int((end - time.time()) * 1000))) and peer_gone(self.connection):
                return True
        return peer_gone(self.connection)

    def do_GET(self):
        route = self.route()
        self.enter(route or "?")
        try:
            if OPTS.hang and self.wait(OPTS.hang):
                return self.abandon(route)
            if route == "csrf-token" and OPTS.csrf:
                tok = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
                sess = base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()
                with LOCK:
                    TOKENS[sess] = tok
                return self.reply(200, {"obj": tok, "success": True}, cookie=sess)
            self.reply(404)
        finally:
            self.leave(route or "?")

    def abandon(self, route):
        with LOCK:
            STATS["abandoned"] += 1
            save()
        event("abandoned %s" % route)
        self.close_connection = True

    def do_POST(self):
        route = self.route()
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        self.enter(route or "?")
        try:
            if OPTS.hang and self.wait(OPTS.hang):
                return self.abandon(route)
            if route != "login":
                return self.reply(404)
            if OPTS.csrf:
                sess = None
                for part in (self.headers.get("Cookie") or "").split(";"):
                    k, _, v = part.strip().partition("=")
                    if k == "3x-ui":
                        sess = v
                with LOCK:
                    want = TOKENS.get(sess)
                if want is None or self.headers.get("X-CSRF-Token") != want:
                    return self.reply(403)
            if (self.headers.get("Content-Type") or "").startswith("application/json"):
                try:
                    form = json.loads(raw or b"{}")
                except ValueError:
                    form = None
            else:
                form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
            if not isinstance(form, dict):
                return self.reply(200, {"success": False, "msg": "The input data format is invalid.",
                                        "obj": None})
            if OPTS.delay and self.wait(OPTS.delay):
                return self.abandon(route)
            ok = form.get("username") == OPTS.user and form.get("password") == OPTS.password
            msg = ("You have successfully logged into your account." if ok else
                   "Invalid username or password or two-factor code.")
            self.reply(200, {"success": ok, "msg": msg, "obj": None})
            with LOCK:
                STATS["logins" if ok else "logins_refused"] += 1
                save()
            event("login %s" % ("ok" if ok else "refused"))
        except (BrokenPipeError, ConnectionResetError):
            self.abandon(route)
        finally:
            self.leave(route or "?")


def main():
    global OPTS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--stats", required=True)
    ap.add_argument("--events", required=True)
    ap.add_argument("--base", default="/")
    ap.add_argument("--user", default="admin")
    ap.add_argument("--password", default="admin")
    ap.add_argument("--csrf", action="store_true")
    ap.add_argument("--hang", type=float, default=0)
    ap.add_argument("--delay", type=float, default=0)
    OPTS = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    save()
    tmp = OPTS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(tmp, OPTS.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
