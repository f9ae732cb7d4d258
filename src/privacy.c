/*
 * privacy.c: the privacy section of /terms (issue 16, ASVS V8.3.3), made
 * from the configuration that decides it, so the text cannot drift from
 * what `cron prune` and the session code do: how long a session lasts,
 * when an audit row loses its client address, how long the mail log and
 * a sent message's contents stay (conf.c's data16 block).
 */
#include "config.h"

#include <inttypes.h>

#include "conf.h"
#include "handlers.h"
#include "http.h"
#include "privacy.h"
#include "util.h"
#include "view.h"

/* "90 days", "1 day", or "a day at most" for 0 (pruned at the next
 * nightly run), in the arena. */
static const char *
days(struct request *r, int64_t d)
{
	if (d <= 0)
		return "a day at most";
	return arena_printf(r->a, "%" PRId64 " day%s", d, d == 1 ? "" : "s");
}

/* Seconds as the largest whole unit that fits: "30 minutes", "12 hours",
 * "7 days". */
static const char *
span(struct request *r, int64_t s)
{
	if (s % 86400 == 0)
		return days(r, s / 86400);
	if (s % 3600 == 0)
		return arena_printf(r->a, "%" PRId64 " hour%s", s / 3600, s == 3600 ? "" : "s");
	if (s % 60 == 0)
		return arena_printf(r->a, "%" PRId64 " minute%s", s / 60, s == 60 ? "" : "s");
	return arena_printf(r->a, "%" PRId64 " seconds", s);
}

void
privacy_fill(struct request *r, struct vm *vm)
{
	const struct conf *c = &r->app->conf;

	vm_set(vm, "pv_session_idle", span(r, c->customer_idle));
	vm_set(vm, "pv_session_absolute", span(r, c->customer_absolute));
	vm_set(vm, "pv_audit_ip", days(r, c->audit_ip_keep_days));
	vm_set(vm, "pv_mail_log", days(r, c->mail_log_keep_days));
	vm_set(vm, "pv_job_payload", days(r, c->job_payload_keep_days));
}
