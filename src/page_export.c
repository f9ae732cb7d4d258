/*
 * page_export.c: the customer's own data as JSON (issue 16, ASVS V8.3.2).
 *
 *   GET  /account/export   what the export holds, and the form
 *   POST /account/export   password (and code when TOTP is on), csrf:
 *                          the download
 *
 * Why a POST that asks for the password again, not a plain GET: the file
 * gathers everything the shop holds about the customer (addresses,
 * orders, payments, where and when they signed in), so it is treated as
 * a credential change is.  A session left open on a shared computer, or
 * stolen, must not be enough to take it all away in one click, and a
 * POST with the CSRF token cannot be started by another site (a GET
 * could be, as a download the attacker cannot read, but one the
 * customer did not ask for).  acct_reauth() throttles and audits the
 * password check like sign-in.
 *
 * What is in it is decided by the statements (sql.c, Q_MYDATA_*), which
 * name every column they take: profile, orders with items, invoices
 * with lines, payments, the wallet and its ledger, proxies with daily
 * usage, the subscription URL's age (not the URL), sessions, API tokens'
 * and passkeys' metadata, referrals (without the other customers' identities) and the
 * audit rows about the customer or by them.  Never a password hash, a
 * token or its prefix, a sealed value, a proxy credential, or another
 * customer's identity.  Each statement is bound to the customer of the
 * session only, so no input can name another account.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "account.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "response.h"
#include "session.h"
#include "ui.h"
#include "valid.h"
#include "view.h"

static const struct field page_export_fields[] = {
	{ "password", FK_SECRET, FIELD_REQUIRED, 0, 1024 },
	{ "code", FK_SECRET, 0, 0, 1024 },
};
const struct form page_export_form = { FORM(page_export_fields) };

static void
show(struct request *r, const struct acct *a, const char *error)
{
	struct vm *vm = acct_vm(r, a, "Export your data", "export");

	if (error != NULL)
		vm_set(vm, "error", error);
	page_render(r, "pages/account_export", vm);
}

/* GET /account/export — no inputs.  200 with the form. */
void
page_account_export(struct request *r)
{
	struct acct *a = acct_load(r, 1);

	if (a == NULL)
		return;
	show(r, a, NULL);
}

/* The sections, in the file's order: key and statement. */
static const struct {
	const char	*key;
	enum q		 q;
	const char	*none;		/* when the statement gives no row */
} sections[] = {
	{ "profile", Q_MYDATA_PROFILE, "null" },
	{ "orders", Q_MYDATA_ORDERS, "[]" },
	{ "invoices", Q_MYDATA_INVOICES, "[]" },
	{ "payments", Q_MYDATA_PAYMENTS, "[]" },
	{ "wallet", Q_MYDATA_WALLET, "null" },
	{ "services", Q_MYDATA_SERVICES, "[]" },
	{ "subscription", Q_MYDATA_SUBSCRIPTION, "null" },
	{ "sessions", Q_MYDATA_SESSIONS, "[]" },
	{ "api_tokens", Q_MYDATA_TOKENS, "[]" },
	{ "passkeys", Q_MYDATA_PASSKEYS, "[]" },
	{ "referrals", Q_MYDATA_REFERRALS, "null" },
	{ "audit", Q_MYDATA_AUDIT, "[]" },
};

/*
 * POST /account/export — password, code (when TOTP is on), csrf.  200
 * with the JSON file (Content-Disposition: attachment, no-store), one
 * audit row customer.exported; 403/429 with the form as acct_reauth.
 */
void
page_account_export_post(struct request *r)
{
	struct acct *a = acct_load(r, 1);
	const char *why, *v;
	struct stmt *st;
	size_t	 i;
	char	 when[32];

	if (a == NULL)
		return;
	if ((why = acct_reauth(r, a, 0)) != NULL) {
		show(r, a, why);
		return;
	}
	resp_json(r, 200);
	buf_reset(r->out);
	iso8601(when, now_unix());
	buf_printf(r->out, "{\"format\":\"1000proxy account export 1\",\"exported_at\":\"%s\","
	    "\"times\":\"seconds since 1970-01-01 UTC\",\"money\":\"minor units of the currency\"", when);
	/* One transaction: every section from the same moment, and the
	 * audit row with them. */
	db_begin(r->db);
	for (i = 0; i < NELEM(sections); i++) {
		st = db_q(r->db, sections[i].q);
		db_bind_int(r->db, st, ":cid", a->id);
		v = db_step(r->db, st) == DB_ROW && !db_is_null(st, 0) ? db_text(r->db, st, 0) : sections[i].none;
		/* The text is SQLite's json_object()/json_group_array(): JSON
		 * already, so it goes in as it is. */
		buf_printf(r->out, ",\"%s\":%s", sections[i].key, v);
		db_reset(st);
	}
	req_audit(r, "customer.exported", arena_printf(r->a, "customer:%lld", (long long)a->id), "%s",
	    "own data downloaded as JSON");
	db_commit(r->db);
	buf_puts(r->out, "}\n");
	/* A download, never shown inline; no-store is the default. */
	resp_header(r, "Content-Disposition", "attachment; filename=\"account-export.json\"");
}
