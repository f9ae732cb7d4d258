/*
 * job_provision.c: the provision and renew jobs: a paid order item
 * becomes a client on a 3X-UI panel exactly once, and a renewal extends
 * that client exactly once (issue 12, "Jobs, exactly once").
 *
 * Payloads.  checkout.c enqueues kind provision with {"order":O,
 * "order_item":I} for a new service and {"order":O,"order_item":I,
 * "renewal_of":R} for a renewal line: both run here, a renewal as
 * renew() below.  Kind renew runs the same renewal, with that payload or
 * client_job.h's {"client":C,"op":"renew:I"} (I the renewal's order
 * item), so a renewal asked for by cron or staff is the same job.
 *
 * Why it cannot make two clients.  The client's panel email ("px-<item>"),
 * UUID or password and subId are derived from the order item
 * (xui_client.h), and every step asks the panel first: a retry, a
 * kill -9 anywhere, or an add whose reply was lost finds the client by
 * email and never adds a second.  The steps (jobs.step):
 *   place     new service: pick the inbound (the plan's inbound, or the
 *             pool's panel with free capacity and the fewest clients,
 *             skipping panels that do not answer), and in one BEGIN
 *             IMMEDIATE write the provisioned_clients row 'pending'
 *             (server, inbound, email, credential, subId, expiry, quota),
 *             set the job's server_id (its panel lane), the item
 *             'provisioning' and the order 'provisioning'.  Capacity is
 *             checked again inside that transaction, so concurrent
 *             purchases never overfill a panel or inbound.
 *   add       get by email; add only when the panel does not have it
 *   readback  get by email again and keep what the panel holds: the
 *             credential (v3.6.0 may replace an SS-2022 password: the
 *             panel's wins, never ours), flow, limitIp, enable, expiry,
 *             quota, the client object
 * and then, in the transaction that marks the job done (record), the
 * client 'active', the item 'active', and the order 'active' once no
 * item is left in progress ('failed' if one failed).
 *
 * Why a renewal cannot extend twice.  Its target expiry is computed once,
 * before any panel call, from the shop's stored expiry (and earlier
 * renewals' targets of the same client; never from the panel) and kept
 * in client_renewals (sql/017); each attempt sets that absolute target
 * on the panel (a full update, idempotent), resets the traffic when the
 * plan has a quota (a new period), re-enables a suspended client, reads
 * back and checks the expiry.  A client missing on the panel is added
 * again with its stored credential.
 *
 * Failures.  A panel that does not answer at placement is skipped (the
 * pool fails over); later it is a retry with backoff (the spool's), as
 * is a server row that cannot be used (no credentials, a bad URL: staff
 * fix it and the job goes on).  A
 * refusal (success:false: the panel's msg), no capacity anywhere in the
 * pool, or a plan whose inbound is gone is permanent: the item becomes
 * 'failed' with order_items.last_error = the panel's message, the order
 * 'failed' once no item is in progress, staff with orders.write are
 * mailed (views/emails/provision_failed.txt), and the job fails (staff
 * retry it from failed/).  A temporary failure close to retry_max_age
 * marks the item the same way, so a panel down for good is seen.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "audit.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "mailq.h"
#include "order.h"
#include "spool.h"
#include "testpause.h"
#include "util.h"
#include "work.h"
#include "xui.h"
#include "xui_client.h"
#include "xui_job.h"

static const struct actor work_actor = { "system", 0, NULL, NULL };

/* The order item and its plan. */
struct item {
	int64_t		 id, order, renewal_of, customer, plan;
	const char	*state, *order_state, *order_public, *plan_name;
	const char	*protocol, *country, *traffic_reset;
	int64_t		 server, inbound, category, days, traffic, devices;
};

/* A provisioned_clients row with its inbound. */
struct client {
	int64_t		 id, server, inbound, panel_inbound, expires, traffic, limit_ip, cred_gen;
	const char	*email, *cred, *sub_id, *state, *flow, *protocol, *method;
	const char	*network, *security;
};

/* What run() hands to record(). */
struct prov {
	struct item	 it;
	struct client	 c;
	int		 renewal;
	int64_t		 target;	/* renewal: the expiry set (unix s) */
	int		 reset;		/* renewal: the counters were reset */
	struct xui_client back;		/* read back */
	const char	*back_cred;
};

/* One log line about job j. */
static void PX_PRINTF(2, 3)
jlog(const struct job *j, const char *fmt, ...)
{
	char	 m[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	log_sys("work", "job %" PRId64 " (%s): %s", j->id, j->kind, m);
}

/* ---- reading the rows ---- */

/* The item by id: 0, or -1 when it does not exist. */
static int
load_item(struct work *w, int64_t id, struct item *it)
{
	struct stmt *st = db_q(w->db, Q_PROV_ITEM);

	memset(it, 0, sizeof(*it));
	db_bind_int(w->db, st, ":item", id);
	if (db_step(w->db, st) != DB_ROW)
		return -1;
	it->id = db_int(st, 0);
	it->order = db_int(st, 1);
	it->state = db_text(w->db, st, 2);
	it->renewal_of = db_int(st, 3);
	it->customer = db_int(st, 4);
	it->order_state = db_text(w->db, st, 5);
	it->order_public = db_text(w->db, st, 6);
	it->plan = db_int(st, 7);
	it->plan_name = db_text(w->db, st, 8);
	it->protocol = db_text(w->db, st, 9);
	it->server = db_int(st, 10);
	it->inbound = db_int(st, 11);
	it->category = db_int(st, 12);
	it->country = db_text(w->db, st, 13);
	it->days = db_int(st, 14);
	it->traffic = db_int(st, 15);
	it->devices = db_int(st, 16);
	it->traffic_reset = db_text(w->db, st, 17);
	db_reset(st);
	return 0;
}

/* A shadowsocks inbound's cipher from server_inbounds.settings_json. */
static const char *
inbound_method(struct arena *a, const char *settings)
{
	struct json_object *o = json_tokener_parse(settings), *v;
	const char *m = "";

	if (o != NULL && json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, "method", &v) && json_object_is_type(v, json_type_string))
		m = arena_strdup(a, json_object_get_string(v));
	json_object_put(o);
	return m;
}

/* The client row (by order item when item > 0, else by id): 0 or -1. */
static int
load_client(struct work *w, struct job *j, int64_t item, int64_t id, struct client *c)
{
	struct stmt *st = db_q(w->db, item > 0 ? Q_PROV_CLIENT_BY_ITEM : Q_PROV_CLIENT_BY_ID);

	memset(c, 0, sizeof(*c));
	if (item > 0)
		db_bind_int(w->db, st, ":item", item);
	else
		db_bind_int(w->db, st, ":id", id);
	if (db_step(w->db, st) != DB_ROW)
		return -1;
	c->id = db_int(st, 0);
	c->server = db_int(st, 1);
	c->inbound = db_int(st, 2);
	c->email = db_text(w->db, st, 3);
	c->cred = db_text(w->db, st, 4);
	c->sub_id = db_text(w->db, st, 5);
	c->state = db_text(w->db, st, 6);
	c->expires = db_int(st, 7);
	c->traffic = db_int(st, 8);
	c->limit_ip = db_int(st, 9);
	c->flow = db_text(w->db, st, 10);
	c->cred_gen = db_int(st, 11);
	c->panel_inbound = db_int(st, 12);
	c->protocol = db_text(w->db, st, 13);
	c->method = inbound_method(j->a, db_text(w->db, st, 14));
	c->network = db_text(w->db, st, 15);
	c->security = db_text(w->db, st, 16);
	db_reset(st);
	return 0;
}

/* An integer member of the payload, or 0. */
static int64_t
payload_int(const char *payload, const char *k)
{
	struct json_object *o = json_tokener_parse(payload), *v;
	int64_t	 n = 0;

	if (o != NULL && json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_int))
		n = json_object_get_int64(v);
	json_object_put(o);
	return n;
}

/* client_job.h's op "renew:<item>": the item, or 0. */
static int64_t
payload_op_item(const char *payload)
{
	struct json_object *o = json_tokener_parse(payload), *v;
	int64_t	 n = 0;

	if (o != NULL && json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, "op", &v) && json_object_is_type(v, json_type_string) &&
	    strncmp(json_object_get_string(v), "renew:", 6) == 0 &&
	    parse_i64(json_object_get_string(v) + 6, &n) != 0)
		n = 0;
	json_object_put(o);
	return n;
}

/* ---- state changes ---- */

/* Inside a transaction: the order moves on from its items' states.  An
 * order already past provisioning (active, failed, refunded) stays. */
static void
settle_order(struct work *w, const struct item *it, const char *note)
{
	struct stmt *st;
	int64_t	 open, failed;
	int	 s = order_state(w->db, it->order);

	/* A failed order comes back only through staff retrying its items:
	 * it becomes active once none is left open or failed. */
	if (s != ORDER_PAID && s != ORDER_PROVISIONING && s != ORDER_FAILED)
		return;
	st = db_q(w->db, Q_PROV_ORDER_ITEMS_LEFT);
	db_bind_int(w->db, st, ":order", it->order);
	if (db_step(w->db, st) != DB_ROW)
		db_fail(w->db, "order %" PRId64 " has no items", it->order);
	open = db_int(st, 0);
	failed = db_int(st, 1);
	db_reset(st);
	if (s == ORDER_FAILED && (open > 0 || failed > 0))
		return;
	if (open > 0) {
		if (s == ORDER_PAID)
			order_transition(w->db, it->order, ORDER_PROVISIONING, &work_actor, NULL);
		return;
	}
	order_transition(w->db, it->order, failed > 0 ? ORDER_FAILED : ORDER_ACTIVE, &work_actor,
	    failed > 0 ? note : NULL);
}

static void
item_state(struct work *w, int64_t item, const char *state, const char *err)
{
	struct stmt *st = db_q(w->db, Q_PROV_ITEM_STATE);

	db_bind_int(w->db, st, ":item", item);
	db_bind_text(w->db, st, ":state", state);
	db_bind_text(w->db, st, ":err", err);
	db_step(w->db, st);
}

/* Put the job in the panel's lane (the claim statement counts it). */
static void
job_server(struct work *w, struct job *j, int64_t server)
{
	struct stmt *st = db_q(w->db, Q_PROV_JOB_SERVER);

	db_bind_int(w->db, st, ":id", j->id);
	db_bind_text(w->db, st, ":runner", w->runner);
	db_bind_int(w->db, st, ":server", server);
	db_step(w->db, st);
	j->server_id = server;
}

/*
 * A permanent failure, in a transaction of its own: the item 'failed'
 * with the panel's message, the order 'failed' when nothing is left in
 * progress, staff mailed once per failure (the key names the item and
 * the job's age_from, which a staff retry resets).  j->err is set.
 */
static void
fail_item(struct work *w, struct job *j, const struct item *it, const char *msg)
{
	struct json_object *v;
	struct stmt *st;
	int64_t	 ids[32];
	size_t	 n = 0, i;

	snprintf(j->err, sizeof(j->err), "%s", msg);
	db_begin(w->db);
	item_state(w, it->id, "failed", msg);
	/* The client row (if any) gives its slot back: nothing is on the
	 * panel (a refusal), or staff retry finds it by email. */
	st = db_q(w->db, Q_PROV_CLIENT_RELEASE);
	db_bind_int(w->db, st, ":item", it->id);
	db_bind_int(w->db, st, ":now", now_unix());
	db_step(w->db, st);
	settle_order(w, it, arena_printf(j->a, "provisioning failed: %.400s", msg));
	st = db_q(w->db, Q_PROV_STAFF_MAIL);
	while (db_step(w->db, st) == DB_ROW && n < NELEM(ids)) {
		int64_t	 sid = db_int(st, 0);
		const char *to = db_text(w->db, st, 1);

		v = json_object_new_object();
		json_object_object_add(v, "order", json_object_new_string(it->order_public));
		json_object_object_add(v, "item", json_object_new_string(
		    arena_printf(j->a, "%" PRId64, it->id)));
		json_object_object_add(v, "plan", json_object_new_string(it->plan_name));
		json_object_object_add(v, "error", json_object_new_string(msg));
		ids[n++] = mailq_add_db(w->db, to, "emails/provision_failed", v,
		    arena_printf(j->a, "provision-failed:%" PRId64 ":%" PRId64 ":%" PRId64, it->id,
		    j->age_from, sid));
	}
	db_reset(st);
	db_commit(w->db);
	for (i = 0; i < n; i++)
		spool_wake(w->conf, ids[i], "email");
	jlog(j, "order item %" PRId64 " failed: %s", it->id, msg);
}

/* A temporary failure: retried, unless the spool is about to give up
 * (retry_max_age), when staff must hear of it as of a permanent one. */
static enum job_rc
retry(struct work *w, struct job *j, const struct item *it, const char *msg)
{
	if (now_unix() + w->conf->retry_cap - j->age_from > w->conf->retry_max_age) {
		fail_item(w, j, it, msg);
		return JOB_FAIL;
	}
	snprintf(j->err, sizeof(j->err), "%s", msg);
	return JOB_RETRY;
}

/* ---- the panel ---- */

/* The panel's session for server (xui_job_start), its generation known:
 * 0 with *x, or the job_rc to return (j->err set). */
static int
session(struct work *w, struct job *j, int64_t server, struct xui **x, const char **why)
{
	const char *kind, *gen;
	char	 version[64];
	int64_t	 keep = j->server_id;
	int	 rc;

	j->server_id = server;
	rc = xui_job_start(w, j, x, &kind, why);
	if (rc != -1) {
		j->server_id = keep;
		if (rc == JOB_DONE) {
			/* The row cannot be used (no credentials, a bad URL):
			 * staff fix it on /admin/servers and the retry goes on,
			 * so the customer's item waits rather than fails. */
			*why = arena_printf(j->a, "server %" PRId64 ": %s", server, *why);
			snprintf(j->err, sizeof(j->err), "%s", *why);
			return JOB_RETRY;
		}
		*why = arena_strdup(j->a, j->err);
		return rc;
	}
	if (!xui_job_generation_known(w, j)) {
		struct stmt *st;

		if (xui_detect(*x, version, sizeof(version), &gen, NULL, 0) != 0) {
			j->server_id = keep;
			*why = arena_strdup(j->a, xui_error(*x));
			snprintf(j->err, sizeof(j->err), "%s", *why);
			return JOB_RETRY;
		}
		db_begin(w->db);
		st = db_q(w->db, Q_PROV_SERVER_GEN);
		db_bind_int(w->db, st, ":id", server);
		db_bind_text(w->db, st, ":gen", gen);
		db_bind_text(w->db, st, ":version", version);
		db_step(w->db, st);
		db_commit(w->db);
	}
	j->server_id = keep;
	return 0;
}

/* The client's own panel cannot be opened: rc from session(). */
static enum job_rc
session_failed(struct work *w, struct job *j, struct prov *p, int rc, const char *why)
{
	if (rc == JOB_RETRY)
		return retry(w, j, &p->it, why);
	fail_item(w, j, &p->it, why);
	return JOB_FAIL;
}

/* The credential the panel holds for protocol. */
static const char *
cred_of(const char *protocol, const struct xui_client *c)
{
	return strcmp(protocol, "vless") == 0 || strcmp(protocol, "vmess") == 0 ? c->id : c->password;
}

/* The client as the shop sends it. */
static void
client_out(const struct prov *p, int64_t expires, int64_t traffic, struct xui_client *o)
{
	const struct client *c = &p->c;
	int	 uuid = strcmp(c->protocol, "vless") == 0 || strcmp(c->protocol, "vmess") == 0;

	memset(o, 0, sizeof(*o));
	o->email = c->email;
	o->id = uuid ? c->cred : "";
	o->password = uuid ? "" : c->cred;
	o->flow = c->flow;
	o->security = "auto";
	o->method = c->method;
	o->sub_id = c->sub_id;
	o->comment = "";
	o->limit_ip = c->limit_ip;
	o->total = traffic;
	o->expiry_ms = expires * 1000;
	o->enable = 1;
}

/* The failure of a panel call as a job outcome: refused is permanent. */
static enum job_rc
panel_failed(struct work *w, struct job *j, struct prov *p, struct xui *x, const char *what)
{
	const char *msg = arena_printf(j->a, "%s: %s", what, xui_error(x));

	if (strcmp(xui_fail(x), "refused") == 0) {
		fail_item(w, j, &p->it, xui_error(x));
		return JOB_FAIL;
	}
	return retry(w, j, &p->it, msg);
}

/* Read the client back into p->back: JOB_DONE, or the outcome. */
static int
read_back(struct work *w, struct job *j, struct prov *p, struct xui *x)
{
	int	 rc;

	if (job_step(w, j, "readback") != 0)
		return JOB_RETRY;
	rc = xui_client_get(x, j->a, p->c.panel_inbound, p->c.protocol, p->c.email, 0, &p->back);
	if (rc < 0)
		return panel_failed(w, j, p, x, "read back");
	if (rc == 0)
		return retry(w, j, &p->it, arena_printf(j->a, "read back: %s is not on the panel "
		    "after it was added", p->c.email));
	p->back_cred = cred_of(p->c.protocol, &p->back);
	if (p->back_cred == NULL || *p->back_cred == '\0')
		return retry(w, j, &p->it, "read back: the panel's client has no credential");
	if (strcmp(p->back_cred, p->c.cred) != 0)
		jlog(j, "client %s: the panel holds another credential than the one sent "
		    "(kept the panel's)", p->c.email);
	test_pause(p->renewal ? "renew:readback" : "provision:readback");
	return JOB_DONE;
}

/* ---- placement ---- */

/*
 * Place a new client: 0 with p->c loaded and *x the panel's session,
 * or the job outcome.  found: the panel already has the email (1/0).
 */
static int
place(struct work *w, struct job *j, struct prov *p, struct xui **x, int *found)
{
	const struct item *it = &p->it;
	struct stmt *st;
	struct cand { int64_t inbound, server, panel_inbound; } *cand;
	const char *lasterr = NULL, *why;
	char	 email[32], sub[17], cred[64];
	size_t	 n = 0, cap = 8, i;
	int	 rc, unreachable = 0;

	client_email(it->id, email, sizeof(email));
	client_sub_id(w->key, it->id, sub);
	cand = arena_alloc(j->a, cap * sizeof(*cand));
	st = db_q(w->db, Q_PROV_CANDIDATES);
	db_bind_text(w->db, st, ":protocol", it->protocol);
	db_bind_int(w->db, st, ":inbound", it->inbound);
	db_bind_int(w->db, st, ":server", it->server);
	db_bind_int(w->db, st, ":category", it->category);
	db_bind_text(w->db, st, ":country", it->country);
	while (db_step(w->db, st) == DB_ROW) {
		if (n == cap) {
			struct cand *more = arena_alloc(j->a, 2 * cap * sizeof(*cand));

			memcpy(more, cand, n * sizeof(*cand));
			cand = more;
			cap *= 2;
		}
		cand[n].inbound = db_int(st, 0);
		cand[n].server = db_int(st, 1);
		cand[n].panel_inbound = db_int(st, 2);
		n++;
	}
	for (i = 0; i < n; i++) {
		struct xui_client got;
		const char *method, *network, *security, *flow;
		int64_t	 expires;

		/* Ask the panel first: one that does not answer is skipped
		 * (failover within the pool), and a client it already has
		 * (a shop restored from a backup) is adopted, not doubled. */
		if ((rc = session(w, j, cand[i].server, x, &why)) != 0) {
			if (rc == JOB_RETRY)
				unreachable = 1;
			lasterr = why;
			continue;
		}
		rc = xui_client_get(*x, j->a, cand[i].panel_inbound, it->protocol, email, 0, &got);
		if (rc < 0) {
			unreachable |= strcmp(xui_fail(*x), "refused") != 0;
			lasterr = arena_strdup(j->a, xui_error(*x));
			jlog(j, "placement: server %" PRId64 " skipped: %s", cand[i].server, lasterr);
			continue;
		}
		st = db_q(w->db, Q_PROV_INBOUND_ROW);
		db_bind_int(w->db, st, ":id", cand[i].inbound);
		if (db_step(w->db, st) != DB_ROW)
			continue;
		method = inbound_method(j->a, db_text(w->db, st, 0));
		network = db_text(w->db, st, 1);
		security = db_text(w->db, st, 2);
		db_reset(st);
		if (client_cred(w->key, it->id, 0, it->protocol, method, cred, sizeof(cred)) != 0) {
			lasterr = arena_printf(j->a, "inbound %" PRId64 ": no credential for %s %s",
			    cand[i].inbound, it->protocol, method);
			continue;
		}
		/* Vision needs the raw TCP stream: only on tcp with REALITY. */
		flow = strcmp(it->protocol, "vless") == 0 && strcmp(network, "tcp") == 0 &&
		    strcmp(security, "reality") == 0 ? "xtls-rprx-vision" : "";
		expires = now_unix() + it->days * 86400;
		db_begin(w->db);
		st = db_q(w->db, Q_PROV_CAPACITY_OK);
		db_bind_int(w->db, st, ":inbound", cand[i].inbound);
		if (db_one_int(w->db, st, 0) != 1) {
			/* Filled since the candidates were read. */
			db_rollback(w->db);
			continue;
		}
		st = db_q(w->db, Q_PROV_CLIENT_INSERT);
		db_bind_int(w->db, st, ":item", it->id);
		db_bind_int(w->db, st, ":customer", it->customer);
		db_bind_int(w->db, st, ":server", cand[i].server);
		db_bind_int(w->db, st, ":inbound", cand[i].inbound);
		db_bind_text(w->db, st, ":email", email);
		db_bind_text(w->db, st, ":cred", cred);
		db_bind_text(w->db, st, ":sub", sub);
		db_bind_int(w->db, st, ":traffic", it->traffic);
		db_bind_int(w->db, st, ":expires", expires);
		db_bind_int(w->db, st, ":limit_ip", it->devices);
		db_bind_text(w->db, st, ":flow", flow);
		db_bind_int(w->db, st, ":now", now_unix());
		if (db_step_try(w->db, st) == DB_CONSTRAINT) {
			/* The email is taken on that panel (another shop's
			 * row, or staff's): try the next. */
			db_rollback(w->db);
			lasterr = arena_printf(j->a, "%s is taken on server %" PRId64, email,
			    cand[i].server);
			continue;
		}
		db_reset(st);
		job_server(w, j, cand[i].server);
		item_state(w, it->id, "provisioning", "");
		settle_order(w, it, NULL);
		db_commit(w->db);
		explicit_bzero(cred, sizeof(cred));
		test_pause("provision:placed");
		if (load_client(w, j, it->id, 0, &p->c) != 0)
			db_fail(w->db, "client of item %" PRId64 " vanished", it->id);
		*found = rc;
		if (rc == 1)
			p->back = got;
		return 0;
	}
	explicit_bzero(cred, sizeof(cred));
	if (unreachable)
		return retry(w, j, it, arena_printf(j->a, "placement: no panel of the pool answered (%s)",
		    lasterr != NULL ? lasterr : "?"));
	/* Nothing to place on: waiting for maintenance, or none at all. */
	st = db_q(w->db, Q_PROV_MAINTENANCE);
	db_bind_text(w->db, st, ":protocol", it->protocol);
	db_bind_int(w->db, st, ":inbound", it->inbound);
	db_bind_int(w->db, st, ":server", it->server);
	db_bind_int(w->db, st, ":category", it->category);
	db_bind_text(w->db, st, ":country", it->country);
	if (db_one_int(w->db, st, 0) > 0)
		return retry(w, j, it, "placement: the pool's panels are in maintenance");
	fail_item(w, j, it, lasterr != NULL ? arena_printf(j->a, "no panel of the plan's pool with "
	    "free capacity could take the client; the last one: %s", lasterr) :
	    "no panel of the plan's pool has free capacity for this protocol");
	return JOB_FAIL;
}

/* ---- the jobs ---- */

static enum job_rc
provision(struct work *w, struct job *j, struct prov *p)
{
	struct xui_client out;
	struct xui *x = NULL;
	const char *why;
	int	 rc, found = -1;

	if (load_client(w, j, p->it.id, 0, &p->c) != 0) {
		if ((rc = place(w, j, p, &x, &found)) != 0)
			return (enum job_rc)rc;
	} else {
		/* Placed by an earlier attempt: its panel only (it may hold
		 * the client already), never another. */
		if (p->c.server != j->server_id) {
			db_begin(w->db);
			job_server(w, j, p->c.server);
			db_commit(w->db);
		}
		if ((rc = session(w, j, p->c.server, &x, &why)) != 0)
			return session_failed(w, j, p, rc, why);
	}
	if (job_step(w, j, "add") != 0)
		return JOB_RETRY;
	if (found < 0) {
		found = xui_client_get(x, j->a, p->c.panel_inbound, p->c.protocol, p->c.email, 0,
		    &p->back);
		if (found < 0)
			return panel_failed(w, j, p, x, "get client");
	}
	test_pause("provision:checked");
	if (!found) {
		client_out(p, p->c.expires, p->c.traffic, &out);
		if (xui_client_add(x, p->c.panel_inbound, p->c.protocol, &out) != 0) {
			/* A lost reply may hide an add that happened: ask. */
			if (strcmp(xui_fail(x), "refused") != 0 &&
			    xui_client_get(x, j->a, p->c.panel_inbound, p->c.protocol, p->c.email, 0,
			    &p->back) == 1)
				jlog(j, "add of %s: the reply was lost, the client is there",
				    p->c.email);
			else
				return panel_failed(w, j, p, x, "add client");
		}
		test_pause("provision:added");
	}
	return (enum job_rc)read_back(w, j, p, x);
}

/* The client a renewal extends: the one its item (or, for a renewal of
 * a renewal, the first item of the chain) made.  0 or -1. */
static int
renewed_client(struct work *w, struct job *j, int64_t of, struct client *c)
{
	struct stmt *st;
	int	 depth;

	for (depth = 0; of > 0 && depth < 64; depth++) {
		if (load_client(w, j, of, 0, c) == 0)
			return 0;
		st = db_q(w->db, Q_PROV_RENEWAL_OF);
		db_bind_int(w->db, st, ":item", of);
		of = db_one_int(w->db, st, 0);
	}
	return -1;
}

static enum job_rc
renew(struct work *w, struct job *j, struct prov *p)
{
	struct xui_client out;
	struct stmt *st;
	struct xui *x;
	const char *why;
	int64_t	 target, traffic;
	int	 rc, reset;

	p->renewal = 1;
	if (renewed_client(w, j, p->it.renewal_of, &p->c) != 0) {
		fail_item(w, j, &p->it, "the service this renews was never provisioned");
		return JOB_FAIL;
	}
	/* The target, once: from the shop's expiry and earlier renewals
	 * of this client, never from the panel (sql/017). */
	st = db_q(w->db, Q_PROV_RENEWAL_GET);
	db_bind_int(w->db, st, ":item", p->it.id);
	if (db_step(w->db, st) != DB_ROW) {
		db_reset(st);
		db_begin(w->db);
		st = db_q(w->db, Q_PROV_RENEWAL_BASE);
		db_bind_int(w->db, st, ":client", p->c.id);
		db_bind_int(w->db, st, ":now", now_unix());
		target = db_one_int(w->db, st, 0) + p->it.days * 86400;
		st = db_q(w->db, Q_PROV_RENEWAL_INSERT);
		db_bind_int(w->db, st, ":item", p->it.id);
		db_bind_int(w->db, st, ":client", p->c.id);
		db_bind_int(w->db, st, ":target", target);
		db_bind_int(w->db, st, ":traffic", p->it.traffic);
		db_step(w->db, st);
		job_server(w, j, p->c.server);
		item_state(w, p->it.id, "provisioning", "");
		settle_order(w, &p->it, NULL);
		db_commit(w->db);
		test_pause("renew:target");
	} else
		db_reset(st);
	/* Every renewal recorded so far counts: a later renewal's job may
	 * run first, and an earlier one must never shorten it. */
	st = db_q(w->db, Q_PROV_RENEWAL_MAX);
	db_bind_int(w->db, st, ":client", p->c.id);
	p->target = target = db_one_int(w->db, st, 0);
	st = db_q(w->db, Q_PROV_RENEWAL_GET);
	db_bind_int(w->db, st, ":item", p->it.id);
	if (db_step(w->db, st) != DB_ROW)
		db_fail(w->db, "renewal of item %" PRId64 " vanished", p->it.id);
	traffic = db_int(st, 3);
	reset = db_is_null(st, 2);
	db_reset(st);
	if ((rc = session(w, j, p->c.server, &x, &why)) != 0)
		return session_failed(w, j, p, rc, why);
	if (job_step(w, j, "update") != 0)
		return JOB_RETRY;
	rc = xui_client_get(x, j->a, p->c.panel_inbound, p->c.protocol, p->c.email, 0, &p->back);
	if (rc < 0)
		return panel_failed(w, j, p, x, "get client");
	client_out(p, target, traffic, &out);
	if (rc == 0) {
		/* Deleted on the panel (grace passed, or by hand): the
		 * renewal brings it back with its stored credential. */
		if (xui_client_add(x, p->c.panel_inbound, p->c.protocol, &out) != 0 &&
		    (strcmp(xui_fail(x), "refused") == 0 || xui_client_get(x, j->a,
		    p->c.panel_inbound, p->c.protocol, p->c.email, 0, &p->back) != 1))
			return panel_failed(w, j, p, x, "add client");
	} else {
		/* Keep what the panel holds of the credential (it may be
		 * the panel's own, 4.3) and of what staff set; set the
		 * target, the quota and enable. */
		out.id = p->back.id;
		out.password = p->back.password;
		out.flow = p->back.flow;
		out.security = *p->back.security ? p->back.security : "auto";
		out.method = p->back.method;
		out.sub_id = *p->back.sub_id ? p->back.sub_id : p->c.sub_id;
		out.limit_ip = p->back.limit_ip;
		out.comment = p->back.comment;
		out.reset = p->back.reset;
		if (p->back.expiry_ms != out.expiry_ms || p->back.total != out.total || !p->back.enable) {
			if (xui_client_update(x, p->c.panel_inbound, p->c.protocol, p->c.email,
			    cred_of(p->c.protocol, &p->back), &out) != 0 &&
			    strcmp(xui_fail(x), "refused") == 0)
				return panel_failed(w, j, p, x, "update client");
			/* A lost reply: the read back below tells. */
		}
	}
	test_pause("renew:updated");
	if (reset && traffic > 0) {
		if (job_step(w, j, "reset") != 0)
			return JOB_RETRY;
		/* A new period: the counters start again (the traffic sync
		 * sees a counter below its baseline as a reset). */
		if (xui_client_reset_traffic(x, p->c.panel_inbound, p->c.email) != 0)
			return panel_failed(w, j, p, x, "reset traffic");
		p->reset = 1;
		test_pause("renew:reset");
	}
	if ((rc = read_back(w, j, p, x)) != JOB_DONE)
		return (enum job_rc)rc;
	if (p->back.expiry_ms != target * 1000 || !p->back.enable)
		return retry(w, j, &p->it, arena_printf(j->a, "read back: the panel's expiry is %"
		    PRId64 " ms, not the target %" PRId64 " s", p->back.expiry_ms, target));
	return JOB_DONE;
}

static enum job_rc
prov_run(struct work *w, struct job *j)
{
	struct prov *p = arena_zalloc(j->a, sizeof(*p));
	int64_t	 item;

	j->ctx = p;
	item = payload_int(j->payload, "order_item");
	if (item <= 0)
		item = payload_op_item(j->payload);
	if (item <= 0 || load_item(w, item, &p->it) != 0) {
		snprintf(j->err, sizeof(j->err), "%s job: no such order item in %.200s", j->kind,
		    j->payload);
		return JOB_FAIL;
	}
	if (strcmp(p->it.state, "active") == 0 || strcmp(p->it.state, "cancelled") == 0) {
		/* Done before (a duplicate job) or cancelled: nothing to do,
		 * and record() must not touch it. */
		p->it.id = 0;
		return JOB_DONE;
	}
	if (strcmp(p->it.order_state, "refunded") == 0 || strcmp(p->it.order_state, "cancelled") == 0) {
		snprintf(j->err, sizeof(j->err), "order %s is %s: not provisioned",
		    p->it.order_public, p->it.order_state);
		return JOB_FAIL;
	}
	if (p->it.renewal_of > 0)
		return renew(w, j, p);
	if (strcmp(j->kind, "renew") == 0) {
		snprintf(j->err, sizeof(j->err), "renew job: order item %" PRId64 " renews nothing",
		    p->it.id);
		return JOB_FAIL;
	}
	return provision(w, j, p);
}

/* With 'done': what the panel holds, and the item and order move on. */
static int
prov_record(struct work *w, struct job *j)
{
	struct prov *p = j->ctx;
	struct xui_client *b = &p->back;
	struct stmt *st;
	int64_t	 expires = b->expiry_ms > 0 ? b->expiry_ms / 1000 : 0;

	if (p->it.id == 0)
		return 0;
	st = db_q(w->db, p->renewal ? Q_PROV_CLIENT_RENEWED : Q_PROV_CLIENT_ACTIVE);
	db_bind_int(w->db, st, ":id", p->c.id);
	db_bind_text(w->db, st, ":cred", p->back_cred);
	db_bind_text(w->db, st, ":flow", b->flow);
	db_bind_int(w->db, st, ":limit_ip", b->limit_ip);
	db_bind_int(w->db, st, ":enable", b->enable);
	db_bind_text(w->db, st, ":json", b->json != NULL ? b->json : "");
	if (expires > 0)
		db_bind_int(w->db, st, ":expires", expires);
	else
		db_bind_null(w->db, st, ":expires");
	db_bind_int(w->db, st, ":total", b->total);
	db_bind_int(w->db, st, ":now", now_unix());
	if (p->renewal)
		db_bind_int(w->db, st, ":reset", p->reset);
	db_step(w->db, st);
	if (p->renewal) {
		st = db_q(w->db, Q_PROV_RENEWAL_APPLIED);
		db_bind_int(w->db, st, ":item", p->it.id);
		db_bind_int(w->db, st, ":now", now_unix());
		db_step(w->db, st);
	}
	item_state(w, p->it.id, "active", "");
	settle_order(w, &p->it, NULL);
	j->result = arena_printf(j->a, "{\"client\":%" PRId64 ",\"email\":\"%s\",\"expires_at\":%"
	    PRId64 "}", p->c.id, p->c.email, expires);
	return 0;
}

const struct job_kind job_kind_provision = {
	"provision", "place", prov_run, prov_record
};

const struct job_kind job_kind_renew = {
	"renew", "target", prov_run, prov_record
};
