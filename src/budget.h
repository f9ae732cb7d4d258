/*
 * budget.h: request budgets (anti-automation, ASVS V11.1.4, V8.1.4):
 * every POST and every API call is counted per client address and per
 * signed-in account in the current minute, shared by every worker
 * (rate_counts, throttle_hit); past budget_client_minute or
 * budget_account_minute the request is refused with 429 and
 * Retry-After.  The first refusal of an address or account in a minute
 * writes an audit row "budget.tripped", and so does a form sent faster
 * than a person could ("budget.form_too_fast"); from budget_alert_trips
 * of them in the last hour, staff pages show an alert (ui.c) and
 * /healthz says so to staff (page_health.c).
 */
#ifndef PX_BUDGET_H
#define PX_BUDGET_H

#include <stdint.h>

struct db;
struct principal;
struct request;

/*
 * Count this request against the client address's budget and, when p
 * is not NULL, its account's, in one short write transaction.  Returns
 * 1 to go on, or 0 with the 429 made (whatever response was there
 * before is replaced: HTML for pages, the JSON error "rate_limited" for
 * the API, Retry-After the seconds left in the minute).
 */
int	budget_charge(struct request *, const struct principal *p);

/*
 * A form refused as too fast (router.c, form_min_seconds): the first of
 * each client address in a minute writes an audit row
 * "budget.form_too_fast", which the staff alert counts with the budget
 * trips: no person sends a form before it has loaded, so a run of them
 * is a script at work.
 */
void	budget_note_too_fast(struct request *);

struct budget_health {
	int64_t	 trips_hour;	/* budgets tripped and too-fast forms in the last hour */
	int64_t	 limit;		/* budget_alert_trips */
	int	 alert;		/* trips_hour >= limit */
};
/* Fill h with one statement (Q_BUDGET_TRIPS); db.h's error contract. */
void	budget_health(struct db *, int64_t alert_trips, struct budget_health *h);

#endif
