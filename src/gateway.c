/*
 * gateway.c: what the three payment gateways share (gateway.h): their
 * names, their settings, their base URLs and their sealed secrets.
 *
 * Why the base URLs come from the configuration and not the settings
 * table: a URL there decides where the shop sends its API keys.  Staff
 * choose test or live mode on a page; which host "live" means is the
 * operator's, in a file only root edits (and the tests', which point it
 * at doubles on loopback).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "db.h"
#include "gateway.h"
#include "log.h"
#include "seal.h"
#include "setting.h"
#include "util.h"

#define SECRET_MAX	2048

const char *const gw_name[GW__MAX] = {
	[GW_STRIPE] = "stripe",
	[GW_PAYPAL] = "paypal",
	[GW_NOWPAYMENTS] = "nowpayments",
};

const char *const gw_label[GW__MAX] = {
	[GW_STRIPE] = "Card (Stripe)",
	[GW_PAYPAL] = "PayPal",
	[GW_NOWPAYMENTS] = "Crypto (NOWPayments)",
};

int
gw_parse(const char *s)
{
	int	 i;

	for (i = 0; s != NULL && i < GW__MAX; i++)
		if (strcmp(s, gw_name[i]) == 0)
			return i;
	return -1;
}

int
gw_enabled(struct db *db, enum gw_id id)
{
	char	 key[64];

	snprintf(key, sizeof(key), "payments.%s.enabled", gw_name[id]);
	return strcmp(setting_text(db, key, "0"), "1") == 0;
}

int
gw_live(struct db *db, enum gw_id id)
{
	char	 key[64];

	snprintf(key, sizeof(key), "payments.%s.mode", gw_name[id]);
	return strcmp(setting_text(db, key, "test"), "live") == 0;
}

/* s without its trailing slashes, in a. */
static const char *
trim_slash(struct arena *a, const char *s)
{
	size_t	 n = strlen(s);

	while (n > 0 && s[n - 1] == '/')
		n--;
	return arena_strndup(a, s, n);
}

/* Each gateway's own hosts, by mode: the API, and where customers pay. */
static const struct {
	const char	*api[2], *checkout[2];	/* [0] test, [1] live */
} own[GW__MAX] = {
	[GW_STRIPE] = {
		{ "https://api.stripe.com", "https://api.stripe.com" },
		{ "https://checkout.stripe.com", "https://checkout.stripe.com" } },
	[GW_PAYPAL] = {
		{ "https://api-m.sandbox.paypal.com", "https://api-m.paypal.com" },
		{ "https://www.sandbox.paypal.com", "https://www.paypal.com" } },
	[GW_NOWPAYMENTS] = {
		{ "https://api-sandbox.nowpayments.io", "https://api.nowpayments.io" },
		{ "https://sandbox.nowpayments.io", "https://nowpayments.io" } },
};

/* The configured URL when set (trimmed), else the gateway's own. */
static const char *
url_of(struct db *db, const char *set, const char *const mine[2], enum gw_id id)
{
	if (set != NULL && *set != '\0')
		return trim_slash(db_arena(db), set);
	return mine[gw_live(db, id)];
}

const char *
gw_api_base(struct db *db, const struct conf *c, enum gw_id id)
{
	return url_of(db, id == GW_STRIPE ? c->stripe_api_url : id == GW_PAYPAL ?
	    c->paypal_api_url : c->nowpayments_api_url, own[id].api, id);
}

const char *
gw_checkout_origin(struct db *db, const struct conf *c, enum gw_id id)
{
	return url_of(db, id == GW_STRIPE ? c->stripe_checkout_origin : id == GW_PAYPAL ?
	    c->paypal_checkout_origin : c->nowpayments_checkout_origin, own[id].checkout, id);
}

/* The associated data that binds a sealed secret to its name. */
static void
secret_aad(char *out, size_t n, const char *name)
{
	snprintf(out, n, "gateway_secret:%s", name);
}

const char *
gw_secret(struct db *db, const unsigned char key[32], const char *name)
{
	struct stmt *st = db_q(db, Q_GWSECRET_GET);
	unsigned char pt[SECRET_MAX];
	const void *blob;
	const char *out = NULL;
	char	 aad[128];
	size_t	 n, len;

	db_bind_text(db, st, ":name", name);
	if (db_step(db, st) == DB_ROW) {
		blob = db_blob(st, 0, &n);
		secret_aad(aad, sizeof(aad), name);
		if (unseal(pt, sizeof(pt), &len, key, blob, n, aad) == 0)
			out = arena_strndup(db_arena(db), (const char *)pt, len);
		else
			log_sys("gateway", "the secret %s does not open with this key file", name);
		explicit_bzero(pt, sizeof(pt));
	}
	db_reset(st);
	return out;
}

int
gw_secret_put(struct db *db, const unsigned char key[32], const char *name, const char *value,
    int64_t staff)
{
	unsigned char blob[SEAL_LEN(SECRET_MAX)];
	struct stmt *st;
	char	 aad[128], hint[8];
	size_t	 n = strlen(value), bn;

	if (n == 0) {
		st = db_q(db, Q_GWSECRET_DEL);
		db_bind_text(db, st, ":name", name);
		db_step(db, st);
		return 0;
	}
	if (n > SECRET_MAX)
		return -1;
	secret_aad(aad, sizeof(aad), name);
	if (seal(blob, sizeof(blob), &bn, key, value, n, aad) != 0)
		return -1;
	/* The last four characters, and only when there are at least 16:
	 * a short secret would be given away by a quarter of it. */
	if (n >= 16)
		snprintf(hint, sizeof(hint), "%s", value + n - 4);
	else
		hint[0] = '\0';
	st = db_q(db, Q_GWSECRET_PUT);
	db_bind_text(db, st, ":name", name);
	db_bind_blob(db, st, ":sealed", blob, bn);
	db_bind_text(db, st, ":hint", hint);
	db_bind_int(db, st, ":staff", staff);
	db_step(db, st);
	return 0;
}

/* The operation tables: gw_stripe.c, gw_paypal.c, gw_nowpayments.c. */
const struct gw_ops *
gw_ops(enum gw_id id)
{
	switch (id) {
	case GW_STRIPE:
		return &gw_stripe_ops;
	case GW_PAYPAL:
		return &gw_paypal_ops;
	default:
		return &gw_nowpayments_ops;
	}
}
