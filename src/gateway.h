/*
 * gateway.h: the three payment gateways behind one table of operations
 * (issue 13; contracts/payments.md).  gateway.c holds what they share:
 * the settings (enabled, mode), the base URLs from the configuration
 * (so tests point them at doubles), the sealed secrets; gw_stripe.c,
 * gw_paypal.c and gw_nowpayments.c each fill one struct gw_ops.
 *
 * Outgoing calls (create, lookup, capture, refund) run only in the work
 * daemon, over http_out.h.  Webhook verification (verify) runs in the
 * web worker, which never loads libcurl: it has the raw body, the
 * headers, the secrets from the database and OpenSSL.
 */
#ifndef PX_GATEWAY_H
#define PX_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

struct arena;
struct conf;
struct db;
struct http_out;
struct pay_observation;

enum gw_id { GW_STRIPE, GW_PAYPAL, GW_NOWPAYMENTS, GW__MAX };
extern const char *const gw_name[GW__MAX];		/* "stripe", "paypal", "nowpayments" */
extern const char *const gw_label[GW__MAX];		/* "Card (Stripe)", "PayPal", "Crypto (NOWPayments)" */
/* The gateway named s, or -1. */
int	gw_parse(const char *s);

/* Settings (admin at /admin/settings/payments): payments.<gw>.enabled
 * ("1"), payments.<gw>.mode ("test" or "live"). */
int	gw_enabled(struct db *, enum gw_id);
int	gw_live(struct db *, enum gw_id);
/* The API base (no trailing slash): the configuration's <gw>_api_url
 * when set, else the gateway's own for the mode. */
const char *gw_api_base(struct db *, const struct conf *, enum gw_id);
/* The origin customers are sent to (CSP form-action): the
 * configuration's <gw>_checkout_origin when set, else the gateway's own
 * for the mode. */
const char *gw_checkout_origin(struct db *, const struct conf *, enum gw_id);

/*
 * Secrets, sealed in gateway_secrets with "gateway_secret:<name>" as
 * associated data.  Names: stripe.secret_key, stripe.webhook_secret,
 * paypal.client_id, paypal.client_secret, paypal.webhook_id,
 * nowpayments.api_key, nowpayments.ipn_secret.
 * gw_secret: the value in the db's arena, or NULL when not set (or when
 * it does not open: logged, never printed).  gw_secret_put: inside the
 * caller's transaction; value "" deletes; hint keeps the last four
 * characters for the masked display.  0, or -1 when sealing fails.
 */
const char *gw_secret(struct db *, const unsigned char key[32], const char *name);
int	gw_secret_put(struct db *, const unsigned char key[32], const char *name,
	    const char *value, int64_t staff);

/* What an outgoing operation works on. */
struct gw_payment {
	int64_t		 id;
	const char	*public_id;
	const char	*purpose;	/* "order" or "topup" */
	int64_t		 order;		/* 0 for a top-up */
	const char	*order_public;	/* NULL for a top-up */
	const char	*description;	/* "Order ABC..." / "Wallet top-up" */
	const char	*email;		/* the customer's */
	int64_t		 amount;
	const char	*currency;
	const char	*ref, *ref2;	/* NULL until known */
	const char	*idem_key;	/* payments.idempotency_key */
	const char	*return_url;	/* base_url/pay/return/<gw>/<public_id> */
	const char	*cancel_url;	/* base_url/pay/<public_id>?cancelled=1 */
	const char	*notify_url;	/* base_url/webhooks/<gw> (NOWPayments' ipn_callback_url) */
};

/* A call's context: the handle, the secrets, the arena. */
struct gw_call {
	struct http_out	*http;
	struct arena	*a;
	const char	*base;		/* gw_api_base */
	const char	*secret;	/* stripe.secret_key / paypal client_id:client_secret / nowpayments.api_key */
	int		 live;
	char		 err[512];	/* why, on -1 */
	int		 permanent;	/* with -1: retrying will not help (4xx that is not 409/429) */
};

struct gw_created {
	const char	*ref;		/* session id / PayPal order id / invoice id */
	const char	*ref2;		/* may be NULL */
	const char	*url;		/* where the customer pays */
};

struct gw_refund_req {
	int64_t		 refund;	/* refunds.id */
	int64_t		 amount;
	const char	*currency;
	const char	*idem_key;	/* refunds.idempotency_key */
	const char	*reason;
};

struct gw_refund_done {
	const char	*ref;		/* the gateway's refund id */
	int		 state;		/* 0 pending, 1 succeeded, -1 failed */
};

/* A webhook delivery as the worker has it. */
struct gw_hook {
	const char	*body;		/* raw bytes, exactly as received */
	size_t		 len;
	const char	*(*header)(void *ctx, const char *name);	/* NULL when absent */
	void		*ctx;
	int64_t		 now;		/* clock_now() */
};

struct gw_ops {
	enum gw_id	 id;
	/* work: make the hosted checkout (idempotency key sent); 0 or -1 */
	int	(*create)(struct gw_call *, const struct gw_payment *, struct gw_created *);
	/* work: the gateway's view of the payment now, as an observation
	 * (source "reconcile" or "return" set by the caller); 0 or -1 */
	int	(*lookup)(struct gw_call *, const struct gw_payment *, struct pay_observation *);
	/* work: PayPal only (NULL elsewhere): capture an approved order */
	int	(*capture)(struct gw_call *, const struct gw_payment *, struct pay_observation *);
	/* work: refund (NULL for NOWPayments: manual) */
	int	(*refund)(struct gw_call *, const struct gw_payment *, const struct gw_refund_req *,
		    struct gw_refund_done *);
	/* work, for cron payments' report of gateway payments the shop
	 * does not know: the gateway's recent payments (created since
	 * since, unix seconds) as up to nobs observations (ref and state
	 * at least); how many, or -1.  NULL when the gateway cannot list. */
	int	(*recent)(struct gw_call *, int64_t since, struct pay_observation *obs, int nobs);
	/*
	 * worker: verify a delivery and read it into up to nobs
	 * observations (source "webhook").  Returns how many (0: a valid
	 * delivery about nothing we act on), -1 for a bad signature or a
	 * malformed body (answer 400, store nothing), or -2 when it cannot
	 * be verified here yet (PayPal without its certificate: the caller
	 * queues it for work).  Strings in a.
	 */
	int	(*verify)(struct db *, const struct conf *, const unsigned char key[32],
		    struct arena *a, const struct gw_hook *, struct pay_observation *obs,
		    int nobs, char *err, size_t errsz);
};
extern const struct gw_ops gw_stripe_ops, gw_paypal_ops, gw_nowpayments_ops;
/* The ops of a gateway. */
const struct gw_ops *gw_ops(enum gw_id);

#endif
