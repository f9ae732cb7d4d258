/*
 * admin_order_items.c: an order's failed items on the staff's order page
 * (issue 12, "failed items").  An item whose provisioning failed for
 * good shows the panel's message (order_items.last_error, else its job's
 * last error) and two ways out:
 *
 *   POST /admin/orders/{public_id}/items/{id:int}/retry   (orders.write)
 *        the item's failed provision job runs again (jobctl.c, the same
 *        retry as /admin/jobs and `1000proxy job retry`); the item is
 *        'provisioning' again
 *   POST /admin/orders/{public_id}/items/{id:int}/refund  (orders.write
 *        and wallet.adjust, after re-authentication) the item back to the
 *        wallet in one click (refund.c, refund_item_to_wallet: the ledger
 *        key makes the money move once)
 *
 * Each is one transaction with its audit row; an item of another order
 * than the one in the path is a 404.
 */
#include "config.h"

#include <string.h>

#include "admin.h"
#include "audit.h"
#include "conf.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "jobctl.h"
#include "money.h"
#include "order.h"
#include "refund.h"
#include "response.h"
#include "session.h"
#include "ui.h"
#include "util.h"
#include "view.h"

/* The failed items of order_id into vm ("failed_items", "has_failed"). */
/* Whether an order in state (order_state_parse) still takes a retry
 * or a refund of its items: one the state machine lets go to refunded
 * (paid, provisioning, active, failed), not one refunded or final. */
static int
order_open(int state)
{
	return state >= 0 && order_can_transition((enum order_state)state, ORDER_REFUNDED);
}

void
admin_order_failed_items_vm(struct request *r, struct vm *vm, int64_t order_id)
{
	struct stmt *st = db_q(r->db, Q_AOI_FAILED);
	struct vm *it;
	const char *msg;
	int64_t	 n = 0;
	int	 open = order_open(order_state(r->db, order_id));
	int	 can_retry = open && has_perm(r, "orders.write");
	int	 can_refund = can_retry && has_perm(r, "wallet.adjust");

	db_bind_int(r->db, st, ":order", order_id);
	while (db_step(r->db, st) == DB_ROW) {
		it = vm_push(vm, "failed_items");
		vm_set_int(it, "item", db_int(st, 0));
		vm_set(it, "plan", db_text(r->db, st, 1));
		msg = db_text(r->db, st, 2);
		if (*msg == '\0')
			msg = db_text(r->db, st, 7);
		vm_set(it, "message", *msg ? msg : "(no message recorded)");
		vm_set(it, "price", money_str(r->a, db_int(st, 3), db_text(r->db, st, 4)));
		vm_set_int(it, "job", db_int(st, 5));
		vm_set(it, "job_state", db_int(st, 5) > 0 ? db_text(r->db, st, 6) : "none");
		vm_set_int(it, "attempts", db_int(st, 8));
		vm_set_bool(it, "can_retry", can_retry && db_int(st, 5) > 0 &&
		    (strcmp(db_text(r->db, st, 6), "failed") == 0 || strcmp(db_text(r->db, st, 6), "discarded") == 0));
		vm_set_bool(it, "can_refund", can_refund);
		n++;
	}
	db_reset(st);
	vm_set_bool(vm, "has_failed", n > 0);
}

/* The item {id} of order {public_id}, inside the open transaction: the
 * item id and *order_state (order_state_parse), or req_fail 404 (rolled
 * back) when it is not that order's. */
static int64_t
item_of_order(struct request *r, int *order_state)
{
	struct stmt *st = db_q(r->db, Q_AOI_ITEM);
	int64_t	 id = req_param_int(r, "id");

	db_bind_int(r->db, st, ":id", id);
	db_bind_text(r->db, st, ":public_id", req_param(r, "public_id"));
	if (db_step(r->db, st) != DB_ROW) {
		db_reset(st);
		db_rollback(r->db);
		req_fail(r, 404, "There is no such item on this order.");
	}
	*order_state = order_state_parse(db_text(r->db, st, 1));
	db_reset(st);
	return id;
}

static void
back(struct request *r, const char *done)
{
	resp_redirect(r, 303, arena_printf(r->a, "/admin/orders/%s?done=%s", req_param(r, "public_id"), done));
}

/*
 * POST /admin/orders/{public_id}/items/{id:int}/retry — csrf.  The
 * item's provision job (key "provision:item:ID") pending again, the item
 * 'provisioning', one audit row "order_item.retry" besides jobctl's
 * "job.retry"; 303 to the order.  404: no such item on the order; 409:
 * the item is not failed, or its job is not failed or discarded
 * (nothing written).
 */
void
admin_order_item_retry_post(struct request *r)
{
	const struct principal *p = r->principal[SESS_STAFF];
	struct actor who = { "staff", p->user_id, r->remote_addr, r->id };
	const char *kind = NULL, *state = NULL;
	struct stmt *st;
	int64_t	 item, job = 0;
	enum jobctl_rc rc;
	int	 ostate;

	db_begin(r->db);
	item = item_of_order(r, &ostate);
	/* A refunded order's jobs were discarded with its money: running
	 * them again would give a proxy for nothing. */
	if (!order_open(ostate)) {
		db_rollback(r->db);
		admin_message(r, 409, "Not retried", arena_printf(r->a, "The order is %s: its items are "
		    "no longer provisioned. Nothing was changed.", ostate >= 0 ? order_state_name[ostate] :
		    "gone"), arena_printf(r->a, "/admin/orders/%s", req_param(r, "public_id")),
		    "Back to the order");
		return;
	}
	st = db_q(r->db, Q_AOI_JOB);
	db_bind_int(r->db, st, ":id", item);
	if (db_step(r->db, st) == DB_ROW)
		job = db_int(st, 0);
	db_reset(st);
	st = db_q(r->db, Q_AOI_REQUEUE);
	db_bind_int(r->db, st, ":id", item);
	db_step(r->db, st);
	if (job == 0 || db_changes(r->db) != 1) {
		db_rollback(r->db);
		admin_message(r, 409, "Not retried", "Only a failed item with a provision job can be "
		    "retried. Nothing was changed.", arena_printf(r->a, "/admin/orders/%s",
		    req_param(r, "public_id")), "Back to the order");
		return;
	}
	rc = jobctl_change(r->db, job, 1, &who, arena_printf(r->a, "order item %lld", (long long)item),
	    &kind, &state);
	if (rc != JOBCTL_OK) {
		db_rollback(r->db);
		admin_message(r, 409, "Not retried", arena_printf(r->a, "The item's provision job is %s: "
		    "only a failed or discarded job runs again. Nothing was changed.",
		    rc == JOBCTL_STATE ? state : "gone"), arena_printf(r->a, "/admin/orders/%s",
		    req_param(r, "public_id")), "Back to the order");
		return;
	}
	req_audit(r, "order_item.retry", arena_printf(r->a, "order_item:%lld", (long long)item),
	    "provisioning of item %lld of order %s asked again (job %lld)", (long long)item,
	    req_param(r, "public_id"), (long long)job);
	db_commit(r->db);
	jobctl_files(&r->app->conf, job, kind, 1);
	back(r, "item-retried");
}

/*
 * POST /admin/orders/{public_id}/items/{id:int}/refund — csrf.  Needs
 * wallet.adjust (403) and a recent re-authentication (else 303 to
 * /admin/reauth, nothing written).  One transaction through
 * refund_item_to_wallet(); 303 to the order (also when the item was
 * refunded before: nothing moves twice).  404: no such item on the
 * order; 409: not failed, not paid from the wallet, or past the
 * wallet's limit (nothing written).
 */
void
admin_order_item_refund_post(struct request *r)
{
	const struct principal *p = r->principal[SESS_STAFF];
	struct actor who = { "staff", p->user_id, r->remote_addr, r->id };
	const char *pub = req_param(r, "public_id");
	struct refund_result res;
	enum refund_rc rc;
	int64_t	 item;
	int	 ostate;

	if (!has_perm(r, "wallet.adjust"))
		req_fail(r, 403, "Refunding to the wallet moves money: it needs the wallet.adjust permission.");
	if (!admin_reauth_ok(r, arena_printf(r->a, "/admin/orders/%s", pub)))
		return;
	db_begin(r->db);
	item = item_of_order(r, &ostate);
	rc = refund_item_to_wallet(r->db, item, "provisioning failed", p->user_id, &who, &res);
	if (rc == REFUND_REPLAY) {
		db_rollback(r->db);
		back(r, "item-refunded");
		return;
	}
	if (rc != REFUND_OK) {
		db_rollback(r->db);
		admin_message(r, 409, "Not refunded", rc == REFUND_STATE ?
		    arena_printf(r->a, "The item is %s: only a failed item is refunded here. Nothing was "
		    "changed.", res.state != NULL ? res.state : "gone") : refund_rc_text[rc],
		    arena_printf(r->a, "/admin/orders/%s", pub), "Back to the order");
		return;
	}
	db_commit(r->db);
	back(r, "item-refunded");
}
