#!/usr/bin/env python3
"""v2client.py: a v2ray 4.34 client config from one share link.

    python3 t/lib/v2client.py [--socks PORT] [--ca CERT | --insecure] LINK > client.json
    v2ray -config client.json &
    curl --socks5 127.0.0.1:PORT http://127.0.0.1:8080/healthz

LINK is a vless://, vmess://, trojan:// or ss:// link as 3X-UI's
subscription server writes it (contract section 6, every link
generation) and as the shop copies it (src/links.c).  The config has
one local SOCKS5 inbound (127.0.0.1, --socks, default 10808, no auth)
and one outbound to the link's server.  TLS: the link's sni, else its
host, is the name checked; --ca trusts one certificate (the demo's
self-signed one, .demo/tls/cert.pem), --insecure or the link's own
allowInsecure skips the check.  Only what v2ray 4.34 can dial is
accepted (tcp or ws; tls or none; no REALITY, no XTLS/vision flow, no
Shadowsocks 2022): anything else exits 2 naming it, rather than writing
a config that fails later.

Standard library only: the repository's link parser for humans and
tests (the shop itself only writes links), kept beside the other test
helpers so the README's check needs nothing but python3 and v2ray.
"""
import argparse
import base64
import json
import sys
from urllib.parse import parse_qs, unquote, urlsplit

CIPHERS = ("aes-128-gcm", "aes-256-gcm", "chacha20-poly1305", "chacha20-ietf-poly1305")


class LinkError(Exception):
    pass


def b64(s):
    """Standard or URL-safe base64, padded or not (the generations differ)."""
    s = s.strip().replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(s + "=" * (-len(s) % 4), validate=True).decode("utf-8")
    except ValueError as e:
        raise LinkError("bad base64: %s" % e)


def hostport(u):
    if not u.hostname or not u.port:
        raise LinkError("the link has no host:port")
    return u.hostname, u.port


def stream(net, sec, q, host, opts):
    """streamSettings for the outbound from the link's transport keys."""
    net = net or "tcp"
    sec = sec or "none"
    out = {"network": net, "security": sec}
    if net == "ws":
        ws = {"path": q.get("path") or "/"}
        if q.get("host"):
            ws["headers"] = {"Host": q["host"]}
        out["wsSettings"] = ws
    elif net == "tcp":
        if q.get("headerType", "none") not in ("", "none"):
            raise LinkError("tcp header %s is not supported here" % q["headerType"])
    else:
        raise LinkError("network %s is not supported here (tcp or ws)" % net)
    if sec == "tls":
        tls = {"serverName": q.get("sni") or q.get("host") or host,
               "allowInsecure": opts.insecure or q.get("allowInsecure") in ("1", "true", True)}
        if q.get("alpn"):
            tls["alpn"] = q["alpn"].split(",")
        if opts.ca:
            tls["certificates"] = [{"usage": "verify", "certificateFile": opts.ca}]
        out["tlsSettings"] = tls
    elif sec != "none":
        raise LinkError("security %s is not supported by v2ray 4.34" % sec)
    return out


def query(u):
    return {k: v[0] for k, v in parse_qs(u.query, keep_blank_values=True).items()}


def outbound(link, opts):
    scheme = link.split("://", 1)[0].lower()
    if scheme == "vmess":
        try:
            v = json.loads(b64(link[len("vmess://"):]))
        except ValueError as e:
            raise LinkError("vmess: %s" % e)
        host, port = v.get("add", ""), int(v.get("port") or 0)
        if not host or not port:
            raise LinkError("vmess: no add or port")
        q = {k: v[k] for k in ("path", "host", "sni", "alpn") if v.get(k)}
        if v.get("allowInsecure") in (True, "1", "true", 1):
            q["allowInsecure"] = "1"
        if v.get("type") not in (None, "", "none") and v.get("net", "tcp") == "tcp":
            q["headerType"] = v["type"]
        scy = v.get("scy") or "auto"
        return {"protocol": "vmess",
                "settings": {"vnext": [{"address": host, "port": port, "users": [
                    {"id": v.get("id", ""), "alterId": 0, "security": scy}]}]},
                "streamSettings": stream(v.get("net"), v.get("tls"), q, host, opts)}
    u = urlsplit(link)
    q = query(u)
    if scheme == "vless":
        host, port = hostport(u)
        if q.get("flow"):
            raise LinkError("vless flow %s is not supported by v2ray 4.34" % q["flow"])
        return {"protocol": "vless",
                "settings": {"vnext": [{"address": host, "port": port, "users": [
                    {"id": unquote(u.username or ""), "encryption": q.get("encryption") or "none"}]}]},
                "streamSettings": stream(q.get("type"), q.get("security"), q, host, opts)}
    if scheme == "trojan":
        host, port = hostport(u)
        if q.get("flow"):
            raise LinkError("trojan flow %s is not supported by v2ray 4.34" % q["flow"])
        return {"protocol": "trojan",
                "settings": {"servers": [{"address": host, "port": port, "password": unquote(u.username or "")}]},
                "streamSettings": stream(q.get("type"), q.get("security") or "tls", q, host, opts)}
    if scheme == "ss":
        host, port = hostport(u)
        user = u.username or ""
        # SIP022 (v3.4+ for 2022 ciphers) is percent-encoded plain text;
        # every other generation base64 of method:password.
        plain = unquote(user) if ":" in unquote(user) and "%" in user else b64(unquote(user))
        method, _, password = plain.partition(":")
        if method not in CIPHERS:
            raise LinkError("shadowsocks cipher %s is not supported by v2ray 4.34" % method)
        if q.get("plugin"):
            raise LinkError("shadowsocks plugin %s is not supported here" % q["plugin"])
        return {"protocol": "shadowsocks",
                "settings": {"servers": [{"address": host, "port": port, "method": method,
                                          "password": password}]},
                "streamSettings": stream(q.get("type"), q.get("security"), q, host, opts)}
    raise LinkError("not a vless, vmess, trojan or ss link")


def main():
    ap = argparse.ArgumentParser(description="a v2ray 4.34 client config from a share link")
    ap.add_argument("link")
    ap.add_argument("--socks", type=int, default=10808, help="the local SOCKS5 port (10808)")
    ap.add_argument("--listen", default="127.0.0.1")
    ap.add_argument("--ca", default="", help="trust this certificate for the server's TLS")
    ap.add_argument("--insecure", action="store_true", help="skip the TLS certificate check")
    opts = ap.parse_args()
    try:
        out = outbound(opts.link.strip(), opts)
    except LinkError as e:
        print("v2client: %s" % e, file=sys.stderr)
        return 2
    out["tag"] = "proxy"
    conf = {"log": {"loglevel": "warning"},
            "inbounds": [{"listen": opts.listen, "port": opts.socks, "protocol": "socks",
                          "settings": {"auth": "noauth", "udp": False}}],
            "outbounds": [out]}
    json.dump(conf, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
