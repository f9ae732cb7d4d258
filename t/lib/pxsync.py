"""pxsync.py: shop clients on panel doubles without the provisioning job,
for t/92-traffic-sync.t and bench/traffic-sync.

seed_panel() writes an --inbounds file whose inbounds already hold the
clients (paneld makes their traffic rows at start); shop() inserts the
matching order items and provisioned_clients rows with SQL, as t/15
shows the columns.  Emails follow the shop's "px-<order item>"."""
import json
import os
import uuid


def inbounds_file(path, clients_per_inbound, protocol="vless", port0=443, extra=None,
                  expiry_ms=0, total=0):
    """An --inbounds seed: one inbound per list in clients_per_inbound, each
    holding clients with those emails (extra: more client dicts for the
    first inbound).  Returns {email: uuid}."""
    ids = {}
    out = []
    for k, emails in enumerate(clients_per_inbound):
        cl = []
        for e in emails:
            u = str(uuid.uuid4())
            ids[e] = u
            cl.append({"id": u, "flow": "", "email": e, "limitIp": 0, "totalGB": total,
                       "expiryTime": expiry_ms, "enable": True, "tgId": 0, "subId": e.replace("-", "")[:16],
                       "comment": "", "reset": 0})
        if k == 0 and extra:
            cl.extend(extra)
        out.append({"protocol": protocol, "port": port0 + k, "remark": "in%d" % k,
                    "settings": {"clients": cl, "decryption": "none", "fallbacks": []}})
    with open(path, "w") as f:
        json.dump(out, f)
    return ids


def shop_base(s):
    """A customer, a plan and an order to hang items on (ids 1)."""
    c = s.sql  # noqa: F841
    import sqlite3
    db = sqlite3.connect(s.db, timeout=30)
    x = db.execute
    x("INSERT OR IGNORE INTO customers (id, email, name, password_hash) VALUES (1, 'c1@example.com', 'C', 'x')")
    x("INSERT OR IGNORE INTO orders (id, public_id, customer_id, state, subtotal_minor, total_minor, currency, "
      "payment_method) VALUES (1, 'O-1', 1, 'paid', 100, 100, 'USD', 'wallet')")
    db.commit()
    db.close()


def shop(s, sid, clients, state="active", expires_at=None, limit=0, plan=None):
    """provisioned_clients rows for server sid: clients is a list of
    (item, uuid) or emails of the form px-<item>; each gets an order item
    on the plan of server sid's first inbound.  Returns {email: client id}."""
    import sqlite3
    db = sqlite3.connect(s.db, timeout=30)
    x = db.execute
    inb = x("SELECT id FROM server_inbounds WHERE server_id = ? ORDER BY panel_inbound_id", (sid,)).fetchall()
    inbound = {}
    for k, (iid,) in enumerate(inb):
        inbound[k] = iid
    if plan is None:
        plan = sid
        x("INSERT OR IGNORE INTO plans (id, slug, name, protocol, server_id, price_minor, duration_days) "
          "VALUES (?, ?, ?, 'vless', ?, 100, 30)", (plan, "plan%d" % plan, "Plan %d" % plan, sid))
    out = {}
    for e, u, k in clients:
        item = int(e.split("-")[1])
        x("INSERT INTO order_items (id, order_id, plan_id, unit_price_minor, currency) VALUES (?, 1, ?, 100, 'USD')",
          (item, plan))
        out[e] = x("INSERT INTO provisioned_clients (order_item_id, customer_id, server_id, inbound_id, email, "
                   "client_uuid, sub_id, state, traffic_limit_bytes, expires_at) VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (item, sid, inbound.get(k, inbound[0]), e, u, e.replace("-", "")[:16] + "s%d" % sid, state,
                    limit, expires_at)).lastrowid
    db.commit()
    db.close()
    return out


def sync_inbounds(s, sid):
    r = s.cli("server", "sync", str(sid), check=False)
    if r.returncode != 0:
        raise RuntimeError("server sync %d: %s %s" % (sid, r.stdout, r.stderr))


def here():
    return os.path.dirname(os.path.abspath(__file__))
