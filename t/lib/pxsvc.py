"""Customers' proxies in a test database without the provisioning job
(t/93-services.t, t/80-idor.t, t/54-browser-services.t): an inbound as
server_sync stores it (settings_json = {"stream": streamSettings, plus
what links need of settings}), and a paid order item with its
provisioned client, in the columns sql/001 and sql/016 give them."""
import json
import random
import uuid

B32 = "abcdefghijklmnopqrstuvwxyz234567"

# streamSettings of the inbounds the tests use, as 3X-UI stores them.
VLESS_REALITY = {"network": "tcp", "security": "reality",
                 "realitySettings": {"serverNames": ["www.example.com"], "shortIds": ["6ba85179e30d4fc2"],
                                     "settings": {"publicKey": "PBK_abc", "fingerprint": "chrome",
                                                  "spiderX": "/"}},
                 "tcpSettings": {"header": {"type": "none"}}}
VMESS_WS_TLS = {"network": "ws", "security": "tls",
                "tlsSettings": {"serverName": "cdn.example.net", "alpn": ["http/1.1"],
                                "settings": {"fingerprint": "chrome"}},
                "wsSettings": {"path": "/ws?ed=2048", "headers": {"Host": "cdn.example.net"}}}
TROJAN_GRPC_TLS = {"network": "grpc", "security": "tls",
                   "tlsSettings": {"serverName": "tr.example.net", "alpn": ["h2"], "settings": {}},
                   "grpcSettings": {"serviceName": "grpc-svc", "multiMode": False}}
SS_TCP = {"network": "tcp", "security": "none", "tcpSettings": {"header": {"type": "none"}}}
VLESS_KCP = {"network": "kcp", "security": "none", "kcpSettings": {"header": {"type": "none"}, "seed": "s"}}


def public_id():
    return "o" + "".join(random.choice(B32) for _ in range(20))


def set_server(sql, server, host="de1.example.net", version="v3.5.0"):
    sql("UPDATE servers SET public_host = ?, panel_version = ? WHERE id = ?", (host, version, server))


def inbound(sql, server, protocol, port, stream, remark="DE-1", **settings):
    s = {"stream": stream}
    s.update(settings)
    pid = sql("SELECT coalesce(max(panel_inbound_id), 0) + 1 FROM server_inbounds WHERE server_id = ?",
              (server,))[0][0]
    return sql("INSERT INTO server_inbounds (server_id, panel_inbound_id, remark, protocol, port, network, "
               "security, settings_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
               (server, pid, remark, protocol, port, stream.get("network", "tcp"), stream.get("security", "none"),
                json.dumps(s)))[0][0]


def client(sql, customer, inbound_id, plan=1, state="active", cred=None, email=None, expires_in=30 * 86400,
           up=0, down=0, limit=0, online=0, synced=True, flow="", panel_json="", auto_renew=0):
    """A paid order of one item and its client; returns (client id, order public id, item id)."""
    pub = public_id()
    server = sql("SELECT server_id FROM server_inbounds WHERE id = ?", (inbound_id,))[0][0]
    oid = sql("INSERT INTO orders (public_id, customer_id, state, subtotal_minor, total_minor, currency, "
              "payment_method, paid_at) VALUES (?, ?, 'active', 500, 500, 'USD', 'wallet', unixepoch()) "
              "RETURNING id", (pub, customer))[0][0]
    item = sql("INSERT INTO order_items (order_id, plan_id, unit_price_minor, currency, state) "
               "VALUES (?, ?, 500, 'USD', ?) RETURNING id",
               (oid, plan, "active" if state != "pending" else "provisioning"))[0][0]
    cred = cred or str(uuid.uuid4())
    email = email or "px-%d" % item
    cid = sql("INSERT INTO provisioned_clients (order_item_id, customer_id, server_id, inbound_id, email, "
              "client_uuid, sub_id, state, traffic_limit_bytes, up_bytes, down_bytes, expires_at, online, "
              "last_synced_at, flow, panel_json, auto_renew) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
              "unixepoch() + ?, ?, CASE WHEN ? THEN unixepoch() END, ?, ?, ?) RETURNING id",
              (item, customer, server, inbound_id, email, cred, "sub%d" % item, state, limit, up, down,
               expires_in, online, 1 if synced else 0, flow, panel_json, auto_renew))[0][0]
    return cid, pub, item


def pending_item(sql, customer, plan=1, state="provisioning"):
    """A paid order item with no working client yet (being set up, or failed)."""
    pub = public_id()
    oid = sql("INSERT INTO orders (public_id, customer_id, state, subtotal_minor, total_minor, currency, "
              "payment_method, paid_at) VALUES (?, ?, 'paid', 500, 500, 'USD', 'wallet', unixepoch()) "
              "RETURNING id", (pub, customer))[0][0]
    item = sql("INSERT INTO order_items (order_id, plan_id, unit_price_minor, currency, state, last_error) "
               "VALUES (?, ?, 500, 'USD', ?, 'panel said: inbound 7 not found') RETURNING id",
               (oid, plan, state))[0][0]
    return pub, item
