/*
 * budget.c: request budgets per client address and per account
 * (budget.h).
 *
 * Why a second counter beside the login throttle (throttle.c): that one
 * counts failed passwords, and the mail throttle counts mails; neither
 * sees a script that posts carts, coupons or token forms, or polls the
 * API, as fast as it can.  The budget counts every POST and every API
 * call, successful or not, in fixed one-minute windows of rate_counts
 * (migration 020, throttle_hit): one short write transaction of at most
 * two upserts a request, before any handler work.  A minute, because
 * throttle_hit's pruning keeps a few minutes of rows: a longer window
 * would be pruned under it.
 *
 * The account's budget is shared by its sessions and its API tokens, so
 * more tokens buy no more calls; the address's is larger, since people
 * share addresses (NAT).  Requests the address's budget refuses before
 * the account is known (a 401 on a bad token, a failed sign-in) still
 * count, so guessing costs budget too.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "budget.h"
#include "conf.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "response.h"
#include "session.h"
#include "throttle.h"

#define BUDGET_WINDOW	60

int
budget_charge(struct request *r, const struct principal *p)
{
	const struct conf *c = &r->app->conf;
	const char *ipkey = arena_printf(r->a, "budget:ip:%.64s", r->remote_addr ? r->remote_addr : "-");
	const char *acctkey = NULL, *tripped = NULL;
	int64_t	 now = now_unix(), nip, nacct = 0, limit = 0;
	char	 lp[LOG_PATH_MAX];

	if (p != NULL)
		acctkey = arena_printf(r->a, "budget:%s:%lld", p->kind == SESS_STAFF ? "staff" : "customer",
		    (long long)p->user_id);
	db_begin(r->db);
	nip = throttle_hit(r, ipkey, BUDGET_WINDOW);
	if (acctkey != NULL)
		nacct = throttle_hit(r, acctkey, BUDGET_WINDOW);
	if (nip > c->budget_client_minute) {
		limit = c->budget_client_minute;
		if (nip == limit + 1)
			tripped = ipkey;
	}
	if (acctkey != NULL && nacct > c->budget_account_minute) {
		if (limit == 0)
			limit = c->budget_account_minute;
		if (nacct == c->budget_account_minute + 1)
			tripped = acctkey;
	}
	/* One audit row per address or account and minute: the first
	 * refusal, not the flood behind it.  The path as logs show it: a
	 * token in it must not reach the audit log either. */
	if (tripped != NULL)
		req_audit(r, "budget.tripped", tripped + 7, "over %lld requests in a minute on %s %s",
		    (long long)(tripped == ipkey ? c->budget_client_minute : c->budget_account_minute),
		    r->method_name, log_path(r->path, lp, sizeof(lp)));
	db_commit(r->db);
	if (limit == 0)
		return 1;
	log_msg(r, "request budget: %s over its limit of %lld a minute", nip > c->budget_client_minute ?
	    "client address" : "account", (long long)limit);
	/* Whatever authorize() left (a redirect, a WWW-Authenticate, a
	 * refreshed cookie) gives way to the refusal. */
	r->resp_headers.n = 0;
	r->error_code = "rate_limited";
	r->error = "Too many requests in a short time. Please wait a minute and try again.";
	render_error(r, 429);
	resp_header(r, "Retry-After", arena_printf(r->a, "%lld",
	    (long long)(BUDGET_WINDOW - now % BUDGET_WINDOW)));
	return 0;
}

void
budget_note_too_fast(struct request *r)
{
	const char *ip = r->remote_addr ? r->remote_addr : "-";

	db_begin(r->db);
	if (throttle_hit(r, arena_printf(r->a, "fast:ip:%.64s", ip), BUDGET_WINDOW) == 1)
		req_audit(r, "budget.form_too_fast", arena_printf(r->a, "ip:%.64s", ip),
		    "%s %s sent sooner than form_min_seconds after its page", r->method_name, r->path);
	db_commit(r->db);
}

void
budget_health(struct db *db, int64_t alert_trips, struct budget_health *h)
{
	struct stmt *st = db_q(db, Q_BUDGET_TRIPS);

	db_bind_int(db, st, ":seconds", 3600);
	h->trips_hour = db_one_int(db, st, 0);
	h->limit = alert_trips;
	h->alert = h->trips_hour >= alert_trips;
}
