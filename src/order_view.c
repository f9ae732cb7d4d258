/*
 * order_view.c: one order as both order pages show it (order_view.h):
 * its totals, its items, the timeline of order_events and its invoice.
 * The customer's page and the staff's differ in who may open them and
 * in what they add (the customer's "paid" notice, the staff's customer
 * link and cancel button), not in what an order is; one function keeps
 * the two from drifting apart.
 */
#include "config.h"

#include "db.h"
#include "http.h"
#include "money.h"
#include "order_view.h"
#include "util.h"
#include "view.h"

/* The time t twice: for people (to the minute, UTC) and for <time datetime>. */
static void
set_when(struct vm *vm, const char *key, const char *iso_key, int64_t t)
{
	char	 s[32];

	time_human(s, t);
	vm_set(vm, key, s);
	iso8601(s, t);
	vm_set(vm, iso_key, s);
}

int64_t
order_view_vm(struct request *r, struct vm *vm, struct stmt *head)
{
	struct stmt *st, *sv;
	struct vm *it;
	const char *cur, *method;
	int64_t	 id, n = 0;

	id = db_int(head, 0);
	cur = db_text(r->db, head, 7);
	vm_set(vm, "public_id", db_text(r->db, head, 1));
	vm_set(vm, "state", db_text(r->db, head, 2));
	vm_set(vm, "subtotal", money_str(r->a, db_int(head, 3), cur));
	vm_set(vm, "discount", money_str(r->a, db_int(head, 4), cur));
	vm_set_bool(vm, "has_discount", db_int(head, 4) != 0);
	vm_set(vm, "tax", money_str(r->a, db_int(head, 5), cur));
	vm_set_bool(vm, "has_tax", db_int(head, 5) != 0);
	vm_set(vm, "total", money_str(r->a, db_int(head, 6), cur));
	method = db_text(r->db, head, 8);
	vm_set(vm, "method", *method ? method : "none yet");
	set_when(vm, "created", "created_iso", db_int(head, 9));
	db_reset(head);

	/* With each item its renewal facts (page_orders.c's Renew button;
	 * the staff's page names the order a renewal renews). */
	st = db_q(r->db, Q_ORDER_ITEMS_RENEW);
	db_bind_int(r->db, st, ":order", id);
	while (db_step(r->db, st) == DB_ROW) {
		it = vm_push(vm, "items");
		vm_set_int(it, "id", db_int(st, 0));
		vm_set_int(it, "n", ++n);
		vm_set(it, "name", db_text(r->db, st, 1));
		vm_set(it, "slug", db_text(r->db, st, 2));
		vm_set(it, "price", money_str(r->a, db_int(st, 3), db_text(r->db, st, 4)));
		vm_set(it, "state", db_text(r->db, st, 5));
		vm_set_bool(it, "renewable", db_int(st, 6) == 1);
		vm_set_bool(it, "is_renewal", db_int(st, 8) > 0);
		vm_set(it, "renewal_order", db_text(r->db, st, 7));
		vm_set_int(it, "renewal_n", db_int(st, 8));
		/* The item's proxy, for the customer's link to /services/{id}. */
		sv = db_q(r->db, Q_SVC_OF_ITEM);
		db_bind_int(r->db, sv, ":item", db_int(st, 0));
		if (db_step(r->db, sv) == DB_ROW)
			vm_set_int(it, "service", db_int(sv, 0));
		db_reset(sv);
	}
	db_reset(st);

	st = db_q(r->db, Q_ORDER_EVENTS);
	db_bind_int(r->db, st, ":order", id);
	while (db_step(r->db, st) == DB_ROW) {
		it = vm_push(vm, "events");
		vm_set(it, "kind", db_text(r->db, st, 0));
		set_when(it, "at", "at_iso", db_int(st, 1));
		vm_set(it, "actor", db_text(r->db, st, 2));
		vm_set(it, "note", db_text(r->db, st, 4));
	}
	db_reset(st);

	st = db_q(r->db, Q_INVOICE_OF_ORDER);
	db_bind_int(r->db, st, ":order", id);
	vm_set(vm, "invoice", db_step(r->db, st) == DB_ROW ? db_text(r->db, st, 1) : "");
	db_reset(st);
	return id;
}
