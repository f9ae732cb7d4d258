/*
 * admin_settings_payments.c: the payment gateways and payment policies
 * staff may change (issue 13; gateway.h; contracts/payments.md).
 *
 *   GET  /admin/settings/payments   (settings.write) the form
 *   POST /admin/settings/payments   (settings.write) save; one audit row
 *
 * What it keeps:
 *   payments.<gw>.enabled    "1" or "0" (gw_enabled)
 *   payments.<gw>.mode       "test" or "live" (gw_live)
 *   the gateway's secrets    sealed in gateway_secrets through
 *                            gw_secret_put; shown only as their hint (the
 *                            last four characters); a field left empty
 *                            keeps the stored secret
 *   payments.topup_min, payments.topup_max   a wallet top-up's limits,
 *                            minor units of the shop's currency
 *   payments.mismatch        "hold" or "wallet": what payment_apply does
 *                            with a crypto payment that arrived short or
 *                            over (payment.h)
 *   payments.refund_policy   "suspend", "deprovision" or "none": what a
 *                            refund does to the services it paid for
 *   payments.paypal.verify   "offline" (PayPal's certificate) or
 *                            "postback" (PayPal's verify API)
 *   payments.reconcile_minutes   an open payment older than this gets a
 *                            lookup from `cron payments` (cron_payments.c)
 *
 * A secret, an enabled flag or a mode changes who is paid and how: any
 * of them asks for a fresh sign-in first (ASVS V3.7.1); the typed
 * secrets are not carried through the redirect.  A secret is never
 * echoed, logged or audited: the audit row names what changed, and for
 * a secret only that it was replaced.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "db.h"
#include "gateway.h"
#include "handlers.h"
#include "http.h"
#include "money.h"
#include "response.h"
#include "session.h"
#include "setting.h"
#include "ui.h"
#include "util.h"
#include "valid.h"
#include "view.h"

#define SECRET_MAX	2048	/* gateway.c's limit */

/* The defaults the rest of the shop reads when a setting is unset. */
#define TOPUP_MIN_DEFAULT	500	/* 5.00 */
#define TOPUP_MAX_DEFAULT	50000	/* 500.00 */
#define RECONCILE_DEFAULT	"10"

/* Each gateway's secrets: the name after "<gw>." (gateway.h), the form
 * field, what the page calls it.  All of a gateway's are needed before
 * it can be enabled. */
static const struct secret {
	enum gw_id	 gw;
	const char	*name, *field, *label;
} secrets[] = {
	{ GW_STRIPE, "secret_key", "stripe_secret_key", "Secret key (sk_...)" },
	{ GW_STRIPE, "webhook_secret", "stripe_webhook_secret", "Webhook signing secret (whsec_...)" },
	{ GW_PAYPAL, "client_id", "paypal_client_id", "Client id" },
	{ GW_PAYPAL, "client_secret", "paypal_client_secret", "Client secret" },
	{ GW_PAYPAL, "webhook_id", "paypal_webhook_id", "Webhook id" },
	{ GW_NOWPAYMENTS, "api_key", "nowpayments_api_key", "API key" },
	{ GW_NOWPAYMENTS, "ipn_secret", "nowpayments_ipn_secret", "IPN secret" },
};

/* The choices of the policy settings: key, form field, default, values. */
static const struct choice {
	const char	*key, *field, *dflt;
	const char	*values[4];
	const char	*why;
} choices[] = {
	{ "payments.mismatch", "mismatch", "hold", { "hold", "wallet", NULL },
	    "A payment that arrived short or over is held for staff or credited to the wallet." },
	{ "payments.refund_policy", "refund_policy", "suspend", { "suspend", "deprovision", "none", NULL },
	    "A refund suspends the services it paid for, deprovisions them, or leaves them." },
	{ "payments.paypal.verify", "paypal_verify", "offline", { "offline", "postback", NULL },
	    "PayPal webhooks are verified offline (PayPal's certificate) or by PayPal's postback API." },
};

static const char *
secret_name(struct request *r, const struct secret *s)
{
	return arena_printf(r->a, "%s.%s", gw_name[s->gw], s->name);
}

static const char *
field_of(struct request *r, enum gw_id gw, const char *what)
{
	return arena_printf(r->a, "%s_%s", gw_name[gw], what);
}

/* A secret field's value, "" when absent or empty (keep the stored one). */
static const char *
secret_get(struct request *r, const struct secret *s)
{
	const char *v = form_get(r, s->field);

	return v != NULL ? v : "";
}

/* The stored secret's hint, or NULL when none is stored; *when its
 * updated_at. */
static const char *
secret_hint(struct request *r, const char *name, int64_t *when)
{
	struct stmt *st = db_q(r->db, Q_GATEWAY_SECRET_HINT);
	const char *hint = NULL;

	db_bind_text(r->db, st, ":name", name);
	if (db_step(r->db, st) == DB_ROW) {
		hint = db_text(r->db, st, 0);
		if (when != NULL)
			*when = db_int(st, 1);
	}
	db_reset(st);
	return hint;
}

/* The shop's currency, USD while unset (the limits are typed in it). */
static const char *
shop_currency(struct request *r)
{
	const char *v = setting_text(r->db, "shop.currency", "");

	return money_known(v) ? v : "USD";
}

static const char *
plain(struct request *r, int64_t minor)
{
	struct buf b;
	const char *s;

	buf_init(&b);
	money_plain(&b, minor, shop_currency(r));
	s = arena_strdup(r->a, b.p != NULL ? b.p : "0");
	buf_free(&b);
	return s;
}

static void
pay_settings_page(struct request *r, int status, const char *error)
{
	struct vm *vm = page_vm(r, "Payment settings"), *g, *it;
	int	 post = r->method == M_POST && r->fields != NULL;
	const char *v;
	size_t	 i, k;
	int	 gw;
	int64_t	 when;

	vm_set(vm, "csrf", csrf_token(r, SESS_STAFF));
	vm_set(vm, "currency", shop_currency(r));
	for (gw = 0; gw < GW__MAX; gw++) {
		g = vm_push(vm, "gateways");
		vm_set(g, "name", gw_name[gw]);
		vm_set(g, "label", gw_label[gw]);
		vm_set(g, "f_enabled", field_of(r, gw, "enabled"));
		vm_set(g, "f_mode", field_of(r, gw, "mode"));
		vm_set_bool(g, "enabled", post ? form_get(r, field_of(r, gw, "enabled")) != NULL :
		    gw_enabled(r->db, gw));
		v = post ? form_get(r, field_of(r, gw, "mode")) : NULL;
		if (v == NULL)
			v = gw_live(r->db, gw) ? "live" : "test";
		vm_set_bool(g, "live", strcmp(v, "live") == 0);
		vm_set(g, "webhook_url", arena_printf(r->a, "%s/webhooks/%s", r->app->conf.base_url,
		    gw_name[gw]));
		for (i = 0; i < NELEM(secrets); i++) {
			const char *hint;

			if (secrets[i].gw != (enum gw_id)gw)
				continue;
			it = vm_push(g, "secrets");
			vm_set(it, "field", secrets[i].field);
			vm_set(it, "label", secrets[i].label);
			when = 0;
			hint = secret_hint(r, secret_name(r, &secrets[i]), &when);
			vm_set_bool(it, "set", hint != NULL);
			/* Never the secret: its last four characters at most. */
			if (hint != NULL) {
				vm_set(it, "hint", hint);
				char	 t[32];

				time_human(t, when);
				vm_set(it, "updated", arena_strdup(r->a, t));
			}
		}
	}
	vm_set(vm, "topup_min", post && form_get(r, "topup_min") ? form_get(r, "topup_min") :
	    plain(r, setting_int(r->db, "payments.topup_min", TOPUP_MIN_DEFAULT, 1, INT64_MAX / 2)));
	vm_set(vm, "topup_max", post && form_get(r, "topup_max") ? form_get(r, "topup_max") :
	    plain(r, setting_int(r->db, "payments.topup_max", TOPUP_MAX_DEFAULT, 1, INT64_MAX / 2)));
	vm_set(vm, "reconcile_minutes", post && form_get(r, "reconcile_minutes") ?
	    form_get(r, "reconcile_minutes") : setting_text(r->db, "payments.reconcile_minutes",
	    RECONCILE_DEFAULT));
	for (i = 0; i < NELEM(choices); i++) {
		v = post && form_get(r, choices[i].field) ? form_get(r, choices[i].field) :
		    setting_text(r->db, choices[i].key, choices[i].dflt);
		for (k = 0; choices[i].values[k] != NULL; k++) {
			it = vm_push(vm, choices[i].field);
			vm_set(it, "value", choices[i].values[k]);
			vm_set_bool(it, "selected", strcmp(v, choices[i].values[k]) == 0);
		}
	}
	if (error != NULL)
		vm_set(vm, "error", error);
	if (req_query(r, "done") != NULL && strcmp(req_query(r, "done"), "saved") == 0)
		vm_set(vm, "notice", "The payment settings are saved.");
	page_render(r, "pages/admin/settings_payments", vm);
	if (status)
		r->status = status;
}

/* GET /admin/settings/payments — ?done=saved.  200. */
void
admin_settings_payments(struct request *r)
{
	pay_settings_page(r, 0, NULL);
}

static const struct field admin_settings_payments_fields[] = {
	{ "stripe_enabled", FK_FLAG, 0, 0, 0 },
	{ "stripe_mode", FK_TEXT, 0, 0, 8 },
	{ "paypal_enabled", FK_FLAG, 0, 0, 0 },
	{ "paypal_mode", FK_TEXT, 0, 0, 8 },
	{ "nowpayments_enabled", FK_FLAG, 0, 0, 0 },
	{ "nowpayments_mode", FK_TEXT, 0, 0, 8 },
	{ "stripe_secret_key", FK_SECRET, 0, 0, SECRET_MAX },
	{ "stripe_webhook_secret", FK_SECRET, 0, 0, SECRET_MAX },
	{ "paypal_client_id", FK_SECRET, 0, 0, SECRET_MAX },
	{ "paypal_client_secret", FK_SECRET, 0, 0, SECRET_MAX },
	{ "paypal_webhook_id", FK_SECRET, 0, 0, SECRET_MAX },
	{ "nowpayments_api_key", FK_SECRET, 0, 0, SECRET_MAX },
	{ "nowpayments_ipn_secret", FK_SECRET, 0, 0, SECRET_MAX },
	{ "topup_min", FK_TEXT, 0, 0, 24 },
	{ "topup_max", FK_TEXT, 0, 0, 24 },
	{ "mismatch", FK_TEXT, 0, 0, 16 },
	{ "refund_policy", FK_TEXT, 0, 0, 16 },
	{ "paypal_verify", FK_TEXT, 0, 0, 16 },
	{ "reconcile_minutes", FK_INT, 0, 2, 1440 },
};
const struct form admin_settings_payments_form = { FORM(admin_settings_payments_fields) };

/* Printable ASCII without spaces: what every gateway's keys are made
 * of.  Anything else is a paste gone wrong (a newline, a quote). */
static int
secret_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

/* Write key = value when it differs from what is stored (or, while
 * unset, from dflt), noting "key old -> new" in changes; inside the
 * caller's transaction. */
static void
put(struct request *r, const char **changes, const char *key, const char *value, const char *dflt)
{
	const char *old = setting_text(r->db, key, NULL);
	struct stmt *st;

	if (strcmp(old != NULL ? old : dflt, value) == 0)
		return;
	st = db_q(r->db, Q_SETTING_PUT);
	db_bind_text(r->db, st, ":key", key);
	db_bind_text(r->db, st, ":value", value);
	db_step(r->db, st);
	*changes = arena_printf(r->a, "%s%s%s %s -> %s", *changes, **changes ? "; " : "", key,
	    old != NULL ? old : dflt, value);
}

/*
 * POST /admin/settings/payments — <gw>_enabled (checkbox), <gw>_mode
 * (test|live), the secrets (<gw>_<name>, empty: keep), topup_min and
 * topup_max (amounts in the shop's currency, 0 < min <= max),
 * mismatch, refund_policy, paypal_verify, reconcile_minutes (2..1440),
 * csrf.  An absent policy or limit field keeps its setting.  303 to
 * /admin/settings/payments?done=saved, with one audit row naming what
 * changed (a secret only as "replaced"); 303 to /admin/reauth when a
 * secret, an enabled flag or a mode would change without a fresh
 * sign-in (nothing written); 400 for a bad field or for enabling a
 * gateway whose secrets are not all set (nothing written); 500 when a
 * secret cannot be sealed.
 */
void
admin_settings_payments_post(struct request *r)
{
	const char *mode[GW__MAX], *v, *cur = shop_currency(r);
	int	 enable[GW__MAX], sensitive = 0, gw;
	int64_t	 tmin = 0, tmax = 0, staff = r->principal[SESS_STAFF]->user_id;
	const char *changes = "";
	size_t	 i, k;

	/* The kinds first (lengths, the minutes' range): form_check noted
	 * them, the handler answers. */
	for (i = 0; i < NELEM(admin_settings_payments_fields); i++)
		if (form_get(r, admin_settings_payments_fields[i].name) != NULL &&
		    !form_valid(r, admin_settings_payments_fields[i].name)) {
			pay_settings_page(r, 400, arena_printf(r->a, "The field %s is not valid: secrets "
			    "are at most %d characters, the lookup delay a whole number of minutes from "
			    "2 to 1440.", admin_settings_payments_fields[i].name, SECRET_MAX));
			return;
		}

	for (gw = 0; gw < GW__MAX; gw++) {
		enable[gw] = form_get(r, field_of(r, gw, "enabled")) != NULL;
		mode[gw] = form_get(r, field_of(r, gw, "mode"));
		if (mode[gw] == NULL)
			mode[gw] = gw_live(r->db, gw) ? "live" : "test";
		if (strcmp(mode[gw], "test") != 0 && strcmp(mode[gw], "live") != 0) {
			pay_settings_page(r, 400, "A gateway's mode is test or live.");
			return;
		}
		if (enable[gw] != (gw_enabled(r->db, gw) != 0) ||
		    (strcmp(mode[gw], "live") == 0) != (gw_live(r->db, gw) != 0))
			sensitive = 1;
	}
	for (i = 0; i < NELEM(secrets); i++) {
		v = secret_get(r, &secrets[i]);
		if (*v == '\0')
			continue;
		if (!secret_ok(v)) {
			pay_settings_page(r, 400, arena_printf(r->a, "The %s %s is one line of printable "
			    "characters without spaces: paste it again.", gw_label[secrets[i].gw],
			    secrets[i].label));
			return;
		}
		sensitive = 1;
	}
	v = form_get(r, "topup_min");
	if (v != NULL && !valid_money(v, cur, INT64_MAX / 2, &tmin)) {
		pay_settings_page(r, 400, "The smallest top-up is an amount such as 5 or 5.00.");
		return;
	}
	v = form_get(r, "topup_max");
	if (v != NULL && !valid_money(v, cur, INT64_MAX / 2, &tmax)) {
		pay_settings_page(r, 400, "The largest top-up is an amount such as 500 or 500.00.");
		return;
	}
	if (form_get(r, "topup_min") == NULL)
		tmin = setting_int(r->db, "payments.topup_min", TOPUP_MIN_DEFAULT, 1, INT64_MAX / 2);
	if (form_get(r, "topup_max") == NULL)
		tmax = setting_int(r->db, "payments.topup_max", TOPUP_MAX_DEFAULT, 1, INT64_MAX / 2);
	if (tmin <= 0 || tmax < tmin) {
		pay_settings_page(r, 400, "The smallest top-up is more than zero and not more than the "
		    "largest.");
		return;
	}
	for (i = 0; i < NELEM(choices); i++) {
		v = form_get(r, choices[i].field);
		if (v == NULL)
			continue;
		for (k = 0; choices[i].values[k] != NULL && strcmp(v, choices[i].values[k]) != 0; k++)
			;
		if (choices[i].values[k] == NULL) {
			pay_settings_page(r, 400, choices[i].why);
			return;
		}
	}
	if (sensitive && !admin_reauth_ok(r, "/admin/settings/payments"))
		return;

	db_begin(r->db);
	/* Enabling needs every secret of the gateway, stored or typed now. */
	for (gw = 0; gw < GW__MAX; gw++) {
		if (!enable[gw])
			continue;
		for (i = 0; i < NELEM(secrets); i++)
			if (secrets[i].gw == (enum gw_id)gw && *secret_get(r, &secrets[i]) == '\0' &&
			    secret_hint(r, secret_name(r, &secrets[i]), NULL) == NULL) {
				db_rollback(r->db);
				pay_settings_page(r, 400, arena_printf(r->a, "%s cannot be enabled without its "
				    "%s: type it, then save again. Nothing was saved.", gw_label[gw],
				    secrets[i].label));
				return;
			}
	}
	for (gw = 0; gw < GW__MAX; gw++) {
		put(r, &changes, arena_printf(r->a, "payments.%s.enabled", gw_name[gw]), enable[gw] ? "1" : "0",
		    "0");
		put(r, &changes, arena_printf(r->a, "payments.%s.mode", gw_name[gw]), mode[gw], "test");
	}
	for (i = 0; i < NELEM(secrets); i++) {
		v = secret_get(r, &secrets[i]);
		if (*v == '\0')
			continue;
		if (gw_secret_put(r->db, r->app->key, secret_name(r, &secrets[i]), v, staff) != 0)
			req_fail(r, 500, "sealing %s failed", secret_name(r, &secrets[i]));
		/* The name only: the value and its hint stay out of the log. */
		changes = arena_printf(r->a, "%s%s%s replaced", changes, *changes ? "; " : "",
		    secret_name(r, &secrets[i]));
	}
	put(r, &changes, "payments.topup_min", arena_printf(r->a, "%lld", (long long)tmin),
	    arena_printf(r->a, "%d", TOPUP_MIN_DEFAULT));
	put(r, &changes, "payments.topup_max", arena_printf(r->a, "%lld", (long long)tmax),
	    arena_printf(r->a, "%d", TOPUP_MAX_DEFAULT));
	for (i = 0; i < NELEM(choices); i++)
		if ((v = form_get(r, choices[i].field)) != NULL)
			put(r, &changes, choices[i].key, v, choices[i].dflt);
	if ((v = form_get(r, "reconcile_minutes")) != NULL && *v != '\0')
		put(r, &changes, "payments.reconcile_minutes", v, RECONCILE_DEFAULT);
	if (*changes)
		req_audit(r, "settings.payments", "settings:payments", "%s", changes);
	db_commit(r->db);
	resp_redirect(r, 303, "/admin/settings/payments?done=saved");
}
