/*
 * admin_settings.c: the shop's settings that staff may change.
 *
 *   GET  /admin/settings     (settings.write) the form
 *   POST /admin/settings     (settings.write) save; one audit row per change
 *
 * The keys (the settings table, one row each; setting.c reads them):
 *   shop.name        the name on every page and mail (setting.h's
 *                    shop_name), the configuration's site_name if empty
 *   seller.name, seller.address, seller.tax_id   copied into every invoice
 *                                                at issue (invoice.c)
 *   tax.rate_bp      the tax rate in basis points (2000 = 20 %), 0..10000
 *   tax.inclusive    "1" when prices hold the tax, "0" when it is added
 *   shop.currency    the shop's ISO 4217 currency: set once, then fixed
 *                    (wallets and orders are in it; changing it would
 *                    change what every stored amount means)
 *   referral.percent_bp  a referred customer's paid order earns the
 *                    referrer this share of its total, in basis points
 *                    (0..10000; 0, the default: no commission)
 *   referral.hold_days   days a commission stays pending (the refund
 *                    window) before cron credits it (0..365, default 14)
 *   orders.expire_minutes  minutes an unpaid order waits before cron
 *                    cancels it (5..10080, default 60)
 *   clients.expire_grace_days, clients.remind_days, clients.renew_days
 *                    the provisioned clients' lifecycle (cron_life.h;
 *                    the table life[] below)
 *   mail.alert_failures  more email jobs than this failing within an hour
 *                    show the mail banner on every staff page and
 *                    "alert": true in /healthz's mail line (0..100000,
 *                    default 5; mail_health.h)
 * A change to the seller's details reaches only invoices issued after it.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "mail_health.h"
#include "db.h"
#include "setting.h"
#include "handlers.h"
#include "http.h"
#include "money.h"
#include "response.h"
#include "session.h"
#include "ui.h"
#include "valid.h"
#include "view.h"

/* The lifecycle's whole-day settings (cron_life.h): form field, key,
 * range, default, and what a refusal says. */
static const struct {
	const char	*field, *key;
	int64_t		 min, max;
	const char	*dflt, *why;
} life[] = {
	{ "expire_grace_days", "clients.expire_grace_days", 0, 365, "3",
	    "The grace period before an expired client is deleted is a whole number of days from 0 to 365." },
	{ "remind_days", "clients.remind_days", 1, 60, "3",
	    "The expiry reminder goes a whole number of days from 1 to 60 ahead." },
	{ "renew_days", "clients.renew_days", 0, 60, "1",
	    "Auto-renew runs a whole number of days from 0 to 60 before expiry." },
};

/* basis points as the percentage typed in the form: 2000 "20", 750 "7.5". */
static const char *
bp_text(struct request *r, const char *bp)
{
	int64_t	 v;

	if (!valid_int(bp, 0, 10000, &v))
		return "0";
	return money_rate_str(r->a, v);
}

static void
settings_page(struct request *r, int status, const char *error)
{
	struct vm *vm = page_vm(r, "Settings");
	const char *cur = setting_text(r->db, "shop.currency", "");
	int	 post = r->method == M_POST && r->fields != NULL;
	size_t	 i;

	vm_set(vm, "csrf", csrf_token(r, SESS_STAFF));
	vm_set(vm, "shop_name", post && form_get(r, "shop_name") ? form_get(r, "shop_name") :
	    setting_text(r->db, "shop.name", ""));
	vm_set(vm, "site_name_conf", r->app->conf.site_name);
	vm_set(vm, "seller_name", post ? form_get(r, "seller_name") : setting_text(r->db, "seller.name", ""));
	vm_set(vm, "seller_address", post ? form_get(r, "seller_address") :
	    setting_text(r->db, "seller.address", ""));
	vm_set(vm, "seller_tax_id", post ? form_get(r, "seller_tax_id") :
	    setting_text(r->db, "seller.tax_id", ""));
	vm_set(vm, "tax_rate", post ? form_get(r, "tax_rate") :
	    bp_text(r, setting_text(r->db, "tax.rate_bp", "0")));
	vm_set_bool(vm, "inclusive", post ? form_get(r, "tax_inclusive") != NULL :
	    strcmp(setting_text(r->db, "tax.inclusive", "0"), "1") == 0);
	vm_set(vm, "referral_percent", post ? form_get(r, "referral_percent") :
	    bp_text(r, setting_text(r->db, "referral.percent_bp", "0")));
	vm_set(vm, "referral_hold_days", post ? form_get(r, "referral_hold_days") :
	    setting_text(r->db, "referral.hold_days", "14"));
	vm_set(vm, "order_expire_minutes", post ? form_get(r, "order_expire_minutes") :
	    setting_text(r->db, "orders.expire_minutes", "60"));
	for (i = 0; i < NELEM(life); i++)
		vm_set(vm, life[i].field, post ? form_get(r, life[i].field) :
		    setting_text(r->db, life[i].key, life[i].dflt));
	vm_set(vm, "mail_alert_failures", post ? form_get(r, "mail_alert_failures") :
	    setting_text(r->db, "mail.alert_failures", "5"));
	vm_set(vm, "currency", *cur ? cur : "");
	vm_set_bool(vm, "currency_set", *cur != '\0');
	vm_set(vm, "f_currency", post && form_get(r, "currency") ? form_get(r, "currency") : "");
	if (error != NULL)
		vm_set(vm, "error", error);
	if (req_query(r, "done") != NULL && strcmp(req_query(r, "done"), "saved") == 0)
		vm_set(vm, "notice", "The settings are saved. Invoices issued from now on carry them.");
	page_render(r, "pages/admin/settings", vm);
	if (status)
		r->status = status;
}

/* GET /admin/settings — ?done=saved.  200. */
void
admin_settings(struct request *r)
{
	settings_page(r, 0, NULL);
}

static const struct field admin_settings_fields[] = {
	{ "shop_name", FK_TEXT, 0, 0, 80 },
	{ "seller_name", FK_TEXT, FIELD_REQUIRED, 0, 200 },
	{ "seller_address", FK_TEXT, FIELD_REQUIRED, 0, 300 },
	{ "seller_tax_id", FK_TEXT, FIELD_REQUIRED, 0, 64 },
	{ "tax_rate", FK_TEXT, FIELD_REQUIRED, 0, 16 },
	{ "tax_inclusive", FK_FLAG, 0, 0, 0 },
	{ "currency", FK_TEXT, 0, 0, 3 },
	/* Not required, so that a form of before these fields saves the
	 * others: an absent one leaves its setting alone. */
	{ "referral_percent", FK_TEXT, 0, 0, 16 },
	{ "referral_hold_days", FK_INT, 0, 0, 365 },
	{ "order_expire_minutes", FK_INT, 0, 5, 10080 },
	{ "expire_grace_days", FK_INT, 0, 0, 365 },
	{ "remind_days", FK_INT, 0, 1, 60 },
	{ "renew_days", FK_INT, 0, 0, 60 },
	{ "mail_alert_failures", FK_INT, 0, 0, MAIL_ALERT_MAX },
};
const struct form admin_settings_form = { FORM(admin_settings_fields) };

/* Write key = value when it differs from what is stored, with an audit
 * row naming both; inside the caller's transaction. */
static void
put(struct request *r, const char *key, const char *value)
{
	const char *old = setting_text(r->db, key, NULL);
	struct stmt *st;

	if (old != NULL && strcmp(old, value) == 0)
		return;
	st = db_q(r->db, Q_SETTING_PUT);
	db_bind_text(r->db, st, ":key", key);
	db_bind_text(r->db, st, ":value", value);
	db_step(r->db, st);
	req_audit(r, "settings.changed", arena_printf(r->a, "setting:%s", key), "\"%s\" -> \"%s\"",
	    old != NULL ? old : "(unset)", value);
}

/*
 * POST /admin/settings — shop_name (empty: the configuration's
 * site_name; absent: kept), seller_name, seller_address, seller_tax_id
 * (one line each), tax_rate (a percentage with at most two decimals,
 * 0..100), tax_inclusive (a checkbox), currency (a known ISO 4217 code,
 * only while none is set), referral_percent (as tax_rate),
 * referral_hold_days (0..365), order_expire_minutes (5..10080),
 * expire_grace_days (0..365), remind_days (1..60), renew_days (0..60),
 * mail_alert_failures (0..100000), csrf; the last seven may be absent
 * (their settings are then kept).  Each changed key is written and
 * audited with its old and new value, all in one transaction.  303 to
 * /admin/settings?done=saved; 400 for a bad field (nothing written); 409
 * for a currency when one is set already.
 */
void
admin_settings_post(struct request *r)
{
	const char *cur = form_get(r, "currency"), *set, *ref;
	int64_t	 bp, ref_bp = 0, hold = 0, expire = 0, alert = 0, days[NELEM(life)];
	size_t	 i;
	static const char *const text[] = { "seller_name", "seller_address", "seller_tax_id" };

	if (form_get(r, "shop_name") != NULL && !form_valid(r, "shop_name")) {
		settings_page(r, 400, "The shop's name is one line without control characters, at "
		    "most 80 characters.");
		return;
	}

	for (i = 0; i < NELEM(text); i++)
		if (!form_valid(r, text[i])) {
			settings_page(r, 400, "The seller's name, address and tax id are one line each, "
			    "without control characters (at most 200, 300 and 64 characters).");
			return;
		}
	/* A percentage with at most two decimals is basis points read as
	 * an amount of a two-decimal currency: "7.5" is 750. */
	if (!valid_money(form_get(r, "tax_rate"), "USD", 10000, &bp)) {
		settings_page(r, 400, "The tax rate is a percentage from 0 to 100 with at most two "
		    "decimals, such as 20 or 7.5.");
		return;
	}
	ref = form_get(r, "referral_percent");
	if (ref != NULL && !valid_money(ref, "USD", 10000, &ref_bp)) {
		settings_page(r, 400, "The referral commission is a percentage from 0 to 100 with at most "
		    "two decimals, such as 10 or 2.5 (0: none).");
		return;
	}
	if (form_get(r, "referral_hold_days") != NULL &&
	    !valid_int(form_get(r, "referral_hold_days"), 0, 365, &hold)) {
		settings_page(r, 400, "The referral hold is a whole number of days from 0 to 365.");
		return;
	}
	if (form_get(r, "order_expire_minutes") != NULL &&
	    !valid_int(form_get(r, "order_expire_minutes"), 5, 10080, &expire)) {
		settings_page(r, 400, "Unpaid orders expire after a whole number of minutes from 5 to "
		    "10080 (a week).");
		return;
	}
	for (i = 0; i < NELEM(life); i++)
		if (form_get(r, life[i].field) != NULL &&
		    !valid_int(form_get(r, life[i].field), life[i].min, life[i].max, &days[i])) {
			settings_page(r, 400, life[i].why);
			return;
		}
	if (form_get(r, "mail_alert_failures") != NULL &&
	    !valid_int(form_get(r, "mail_alert_failures"), 0, MAIL_ALERT_MAX, &alert)) {
		settings_page(r, 400, "The mail alert is a whole number of failed messages in an hour "
		    "from 0 to 100000.");
		return;
	}
	if (cur != NULL && *cur != '\0' && !money_known(cur)) {
		settings_page(r, 400, "The currency must be an ISO 4217 code such as USD or EUR.");
		return;
	}
	db_begin(r->db);
	set = setting_text(r->db, "shop.currency", "");
	if (cur != NULL && *cur != '\0') {
		if (*set != '\0' && strcmp(set, cur) != 0) {
			db_rollback(r->db);
			settings_page(r, 409, "The shop's currency is set already and cannot change: "
			    "every wallet and order is kept in it.");
			return;
		}
		put(r, "shop.currency", cur);
	}
	if (form_get(r, "shop_name") != NULL)
		put(r, "shop.name", form_get(r, "shop_name"));
	put(r, "seller.name", form_get(r, "seller_name"));
	put(r, "seller.address", form_get(r, "seller_address"));
	put(r, "seller.tax_id", form_get(r, "seller_tax_id"));
	put(r, "tax.rate_bp", arena_printf(r->a, "%lld", (long long)bp));
	put(r, "tax.inclusive", form_get(r, "tax_inclusive") != NULL ? "1" : "0");
	if (ref != NULL)
		put(r, "referral.percent_bp", arena_printf(r->a, "%lld", (long long)ref_bp));
	if (form_get(r, "referral_hold_days") != NULL)
		put(r, "referral.hold_days", arena_printf(r->a, "%lld", (long long)hold));
	if (form_get(r, "order_expire_minutes") != NULL)
		put(r, "orders.expire_minutes", arena_printf(r->a, "%lld", (long long)expire));
	for (i = 0; i < NELEM(life); i++)
		if (form_get(r, life[i].field) != NULL)
			put(r, life[i].key, arena_printf(r->a, "%lld", (long long)days[i]));
	if (form_get(r, "mail_alert_failures") != NULL)
		put(r, "mail.alert_failures", arena_printf(r->a, "%lld", (long long)alert));
	db_commit(r->db);
	resp_redirect(r, 303, "/admin/settings?done=saved");
}
