/*
 * cmd_test_stripe.c: `1000proxy test-stripe`, the hidden entry to the
 * Stripe gateway (gw_stripe.c) for t/98-stripe.t.
 *
 *   test-stripe unit
 *       TAP unit tests of the pure parts: the Stripe-Signature verifier
 *       against the official HMAC vectors (contract 1.7) and every edge
 *       case of contract 1.4, and the event and session readers (1.5).
 *   test-stripe sign SECRET T        (body on stdin)
 *       print "t=T,v1=<hex>": the C signer, for cross-checks with npm's.
 *   test-stripe verify SECRET NOW TOLERANCE HEADER   (body on stdin)
 *       print the verdict (stripe_sig_text) and exit 0 only when verified.
 *   test-stripe call BASE SECRET_KEY OP ARGS...   (test_routes only)
 *       one outgoing operation of gw_stripe_ops against BASE (the double):
 *         create PUBLIC_ID AMOUNT CURRENCY IDEM_KEY RETURN_URL CANCEL_URL [EMAIL]
 *         lookup PUBLIC_ID REF
 *         refund PUBLIC_ID REF REF2 AMOUNT IDEM_KEY REFUND_ID [REASON]
 *         recent SINCE
 *       Prints one JSON object {"rc","err","permanent",...what came back}.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cmd.h"
#include "conf.h"
#include "gateway.h"
#include "gw_stripe.h"
#include "http_out.h"
#include "payment.h"
#include "tap.h"
#include "util.h"

static int
same(const char *got, const char *want)
{
	if (got == NULL || want == NULL)
		return got == want;
	return strcmp(got, want) == 0;
}

/* An observation with every field unknown (payment.c's init, which this
 * file does not need to link). */
static void
obs_clear(struct pay_observation *o)
{
	memset(o, 0, sizeof(*o));
	o->gateway = "stripe";
	o->source = "webhook";
	o->state = -1;
	o->amount = -1;
	o->refunded_total = -1;
	o->refund_amount = -1;
}

/* The official raw HMAC vectors (stripe-node test/crypto/helpers.ts). */
static void
t_vectors(void)
{
	char	 hex[65];

	stripe_hmac_hex("test_secret", "", 0, "", 0, hex);
	tap_ok(same(hex, "f7f9bd47fb987337b5796fdc1fdb9ba221d0d5396814bfcaf9521f43fd8927fd"),
	    "hmac: official vector, empty payload");
	stripe_hmac_hex("test_secret", "", 0, "{\"obj1\":\"hello\",\"obj2\":\"world\"}", 31, hex);
	tap_ok(same(hex, "bebb1a643997f419b315ddba19e6f5411e1ce7f810ba6d3617ce72823092f363"),
	    "hmac: official vector, a JSON object");
	stripe_hmac_hex("test_secret", "", 0, "\xf0\x9f\x98\x80", 4, hex);
	tap_ok(same(hex, "837da296d05c4fe31f61d5d7ead035099d9585a5bcde87de952012a78f0b0c43"),
	    "hmac: official vector, U+1F600 as UTF-8 bytes");
	/* Split anywhere, the same MAC: the two updates are one message. */
	stripe_hmac_hex("test_secret", "{\"obj1\":\"hel", 12, "lo\",\"obj2\":\"world\"}", 19, hex);
	tap_ok(same(hex, "bebb1a643997f419b315ddba19e6f5411e1ce7f810ba6d3617ce72823092f363"),
	    "hmac: two parts make one message");
	stripe_sig_hex("whsec_test_secret", 1700000000, "{\"id\":\"evt_test_webhook\",\"object\":\"event\"}",
	    42, hex);
	tap_ok(same(hex, "d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990"),
	    "sig: the derived vector of 1.7 (whsec_ secret used as is, \"t.\" prefix)");
}

/* verify(header) over body with one secret at now, tolerance tol. */
static enum stripe_sig_rc
v(const char *header, const char *body, const char *secret, int64_t now, int64_t tol)
{
	const char *s[1] = { secret };

	return stripe_sig_verify(header, body, strlen(body), s, 1, now, tol, NULL);
}

static void
t_verify(void)
{
	static const char body[] = "{\"id\":\"evt_test_webhook\",\"object\":\"event\"}";
	static const char good[] = "t=1700000000,v1=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990";
	const char *sec = "whsec_test_secret";
	const int64_t T = 1700000000;
	const char *two[2];
	char	 h[512], hex[65], hex2[65];
	int64_t	 t = 0;

	tap_ok(v(good, body, sec, T, 0) == STRIPE_SIG_OK, "verify: the derived vector, tolerance 0");
	tap_ok(v(good, body, sec, T + 300, 300) == STRIPE_SIG_OK, "verify: 300 s old is within 300 s");
	tap_ok(v(good, body, sec, T + 301, 300) == STRIPE_SIG_STALE, "verify: 301 s old is stale");
	tap_ok(v(good, body, sec, T - 86400, 300) == STRIPE_SIG_OK,
	    "verify: a future timestamp is not refused (as every SDK)");
	tap_ok(v(NULL, body, sec, T, 300) == STRIPE_SIG_MALFORMED, "verify: no header is malformed");
	tap_ok(v("", body, sec, T, 300) == STRIPE_SIG_MALFORMED, "verify: an empty header is malformed");
	tap_ok(v("bad_header", body, sec, T, 300) == STRIPE_SIG_MALFORMED, "verify: \"bad_header\" is malformed");
	tap_ok(v("t=", body, sec, T, 300) == STRIPE_SIG_MALFORMED, "verify: \"t=\" is malformed");
	tap_ok(v("v1,t=1", body, sec, T, 300) == STRIPE_SIG_MALFORMED, "verify: \"v1,t=1\" is malformed");
	tap_ok(v("t=1700000000,v0=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990",
	    body, sec, T, 300) == STRIPE_SIG_MALFORMED, "verify: scheme v0 only fails (no downgrade)");
	tap_ok(v("signature=deadbeef", body, sec, T, 300) == STRIPE_SIG_MALFORMED,
	    "verify: \"signature=deadbeef\" is malformed");
	snprintf(h, sizeof(h), "%s,v1=bad_signature", good);
	tap_ok(v(h, body, sec, T, 300) == STRIPE_SIG_OK, "verify: a garbage v1 beside a valid one verifies");
	snprintf(h, sizeof(h), "t=1700000000,v1=bad_signature,%s", good + 13);
	tap_ok(v(h, body, sec, T, 300) == STRIPE_SIG_OK, "verify: a garbage v1 before a valid one verifies");
	snprintf(h, sizeof(h), "%s,v1=", good);
	tap_ok(v(h, body, sec, T, 300) == STRIPE_SIG_MALFORMED,
	    "verify: an empty v1 beside a valid one is malformed (stripe-node 23 throws)");
	snprintf(h, sizeof(h), "%s,v1", good);
	tap_ok(v(h, body, sec, T, 300) == STRIPE_SIG_MALFORMED, "verify: a bare v1 beside a valid one is malformed");
	snprintf(h, sizeof(h), "%s,t=1700000000", good);
	tap_ok(v(h, body, sec, T, 300) == STRIPE_SIG_MALFORMED, "verify: a second t is malformed");
	tap_ok(v("t=17000x0000,v1=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990",
	    body, sec, T, 300) == STRIPE_SIG_MALFORMED, "verify: a t with a non-digit is malformed");
	tap_ok(v("t=1700000000, v1=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990",
	    body, sec, T, 300) == STRIPE_SIG_MALFORMED,
	    "verify: \" v1\" is not v1 (no trimming, as the SDKs): no signature");
	tap_ok(v(good, body, "whsec_other", T, 300) == STRIPE_SIG_MISMATCH, "verify: another secret mismatches");
	tap_ok(v(good, "{\"id\":\"evt_test_webhook\",\"object\":\"event\" }", sec, T, 300) == STRIPE_SIG_MISMATCH,
	    "verify: one byte more in the body mismatches");
	tap_ok(v("t=1700000001,v1=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990",
	    body, sec, T, 300) == STRIPE_SIG_MISMATCH, "verify: another t mismatches (t is signed)");
	tap_ok(v("t=1700000000,v1=D95C6B7477FBD7E9F90B1B0EF5F9C7AC25ABCA5382460E0D988C2B2A5B71B990",
	    body, sec, T, 300) == STRIPE_SIG_MISMATCH, "verify: upper-case hex is not the signature");
	tap_ok(v("t=1700000000,v1=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b99",
	    body, sec, T, 300) == STRIPE_SIG_MISMATCH, "verify: a prefix of the signature mismatches");
	tap_ok(v("t=1700000000,v1=0000000000000000000000000000000000000000000000000000000000000000",
	    body, sec, T + 100000, 300) == STRIPE_SIG_MISMATCH,
	    "verify: the signature is checked before the time (a bad old one is a mismatch)");
	tap_ok(v(good, body, "", T, 300) == STRIPE_SIG_NO_SECRET, "verify: no secret set");
	{
		char	 big[STRIPE_SIG_HEADER_MAX + 100];

		snprintf(big, sizeof(big), "%s,v0=", good);
		memset(big + strlen(big), 'a', sizeof(big) - strlen(big) - 1);
		big[sizeof(big) - 1] = '\0';
		tap_ok(v(big, body, sec, T, 300) == STRIPE_SIG_MALFORMED, "verify: a header over 4 KB is malformed");
	}

	/* The SDK tests' clock cases: 15 s old with tolerance 10 and 20;
	 * t = 12345 with no tolerance. */
	stripe_sig_hex(sec, T - 15, body, strlen(body), hex);
	snprintf(h, sizeof(h), "t=%" PRId64 ",v1=%s", T - 15, hex);
	tap_ok(v(h, body, sec, T, 10) == STRIPE_SIG_STALE, "verify: 15 s old with tolerance 10 is too old");
	tap_ok(v(h, body, sec, T, 20) == STRIPE_SIG_OK, "verify: 15 s old with tolerance 20 verifies");
	stripe_sig_hex(sec, 12345, body, strlen(body), hex);
	snprintf(h, sizeof(h), "t=12345,v1=%s", hex);
	tap_ok(v(h, body, sec, T, 0) == STRIPE_SIG_OK, "verify: t = 12345 with no tolerance verifies");
	tap_ok(stripe_sig_verify(h, body, strlen(body), &sec, 1, T, 0, &t) == STRIPE_SIG_OK && t == 12345,
	    "verify: the timestamp is handed back");

	/* A secret being rolled: two v1 values, either secret verifies. */
	stripe_sig_hex("whsec_old", T, body, strlen(body), hex);
	stripe_sig_hex("whsec_new", T, body, strlen(body), hex2);
	snprintf(h, sizeof(h), "t=%" PRId64 ",v1=%s,v1=%s", T, hex, hex2);
	tap_ok(v(h, body, "whsec_old", T, 300) == STRIPE_SIG_OK, "verify: rolled secret, the old one verifies");
	tap_ok(v(h, body, "whsec_new", T, 300) == STRIPE_SIG_OK, "verify: rolled secret, the new one verifies");
	tap_ok(v(h, body, "whsec_third", T, 300) == STRIPE_SIG_MISMATCH, "verify: rolled secret, a third does not");
	snprintf(h, sizeof(h), "t=%" PRId64 ",v1=%s", T, hex2);
	two[0] = "whsec_old";
	two[1] = "whsec_new";
	tap_ok(stripe_sig_verify(h, body, strlen(body), two, 2, T, 300, NULL) == STRIPE_SIG_OK,
	    "verify: two secrets held, the second signed");
	two[1] = "";
	tap_ok(stripe_sig_verify(h, body, strlen(body), two, 2, T, 300, NULL) == STRIPE_SIG_MISMATCH,
	    "verify: two secrets held, an empty one is skipped");

	/* A valid signature over invalid JSON: the signature passes, the
	 * event reader refuses. */
	{
		static const char bad[] = "{\"id\":\"evt_1\",";
		struct arena *a = arena_new(4096);
		struct pay_observation o;
		char	 err[128] = "";

		stripe_sig_hex(sec, T, bad, strlen(bad), hex);
		snprintf(h, sizeof(h), "t=%" PRId64 ",v1=%s", T, hex);
		tap_ok(v(h, bad, sec, T, 300) == STRIPE_SIG_OK, "verify: a valid signature over invalid JSON passes");
		obs_clear(&o);
		tap_ok(stripe_event_read(a, bad, strlen(bad), &o, NULL, err, sizeof(err)) == -1 && *err,
		    "event: ...and the JSON parse fails");
		arena_free(a);
	}
}

/* A checkout.session event of type type with the session's status,
 * payment_status and payment_intent (a JSON value). */
static const char *
session_event(struct arena *a, const char *type, const char *status, const char *paid,
    const char *pi)
{
	return arena_printf(a, "{\"id\":\"evt_1Q\",\"object\":\"event\",\"api_version\":\"%s\","
	    "\"created\":1700000000,\"livemode\":false,\"pending_webhooks\":1,"
	    "\"request\":{\"id\":null,\"idempotency_key\":null},\"type\":\"%s\","
	    "\"data\":{\"object\":{\"id\":\"cs_test_a1\",\"object\":\"checkout.session\","
	    "\"amount_subtotal\":1500,\"amount_total\":1500,\"currency\":\"usd\","
	    "\"client_reference_id\":\"0a1b2c3d4e5f60718293\",\"customer_email\":\"b@example.com\","
	    "\"metadata\":{\"payment\":\"0a1b2c3d4e5f60718293\",\"purpose\":\"order\"},"
	    "\"mode\":\"payment\",\"payment_intent\":%s,\"payment_status\":\"%s\","
	    "\"status\":\"%s\",\"url\":null,\"livemode\":false}}}",
	    STRIPE_API_VERSION, type, pi, paid, status);
}

static void
t_events(void)
{
	struct arena *a = arena_new(16384);
	struct pay_observation o;
	const char *pub, *b;
	char	 err[128];
	int	 rc;

	b = session_event(a, "checkout.session.completed", "complete", "paid", "\"pi_3Q\"");
	obs_clear(&o);
	rc = stripe_event_read(a, b, strlen(b), &o, &pub, err, sizeof(err));
	tap_ok(rc == 1 && same(o.event_id, "evt_1Q") && same(o.event_type, "checkout.session.completed") &&
	    same(o.ref, "cs_test_a1") && same(o.ref2, "pi_3Q") && o.state == PAY_SUCCEEDED &&
	    o.amount == 1500 && same(o.currency, "USD") && same(pub, "0a1b2c3d4e5f60718293") &&
	    same(o.payload, b) && same(o.gateway, "stripe") && o.refunded_total == -1,
	    "event: completed and paid is succeeded, with amount, currency, refs and our id");
	b = session_event(a, "checkout.session.completed", "complete", "unpaid", "null");
	obs_clear(&o);
	rc = stripe_event_read(a, b, strlen(b), &o, &pub, err, sizeof(err));
	tap_ok(rc == 1 && o.state == PAY_PENDING && o.ref2 == NULL,
	    "event: completed but unpaid (a delayed method) is pending; a null PaymentIntent is unknown");
	b = session_event(a, "checkout.session.async_payment_succeeded", "complete", "paid",
	    "{\"id\":\"pi_3R\",\"object\":\"payment_intent\"}");
	obs_clear(&o);
	rc = stripe_event_read(a, b, strlen(b), &o, &pub, err, sizeof(err));
	tap_ok(rc == 1 && o.state == PAY_SUCCEEDED && same(o.ref2, "pi_3R"),
	    "event: async_payment_succeeded is succeeded; an expanded PaymentIntent gives its id");
	b = session_event(a, "checkout.session.async_payment_failed", "complete", "unpaid", "\"pi_3Q\"");
	obs_clear(&o);
	rc = stripe_event_read(a, b, strlen(b), &o, &pub, err, sizeof(err));
	tap_ok(rc == 1 && o.state == PAY_FAILED, "event: async_payment_failed is failed");
	b = session_event(a, "checkout.session.expired", "expired", "unpaid", "null");
	obs_clear(&o);
	rc = stripe_event_read(a, b, strlen(b), &o, &pub, err, sizeof(err));
	tap_ok(rc == 1 && o.state == PAY_EXPIRED && o.amount == 1500, "event: expired is expired");

	b = "{\"id\":\"evt_2\",\"object\":\"event\",\"type\":\"charge.refunded\",\"data\":{\"object\":"
	    "{\"id\":\"ch_1\",\"object\":\"charge\",\"amount\":1500,\"amount_captured\":1500,"
	    "\"amount_refunded\":500,\"currency\":\"usd\",\"metadata\":{\"payment\":\"p1\"},"
	    "\"payment_intent\":\"pi_3Q\",\"refunded\":false,\"refunds\":{\"object\":\"list\",\"data\":["
	    "{\"id\":\"re_2\",\"object\":\"refund\",\"amount\":300,\"status\":\"succeeded\"},"
	    "{\"id\":\"re_1\",\"object\":\"refund\",\"amount\":200,\"status\":\"succeeded\"}]}}}}";
	obs_clear(&o);
	rc = stripe_event_read(a, b, strlen(b), &o, &pub, err, sizeof(err));
	tap_ok(rc == 1 && o.state == PAY_PARTIALLY_REFUNDED && o.refunded_total == 500 &&
	    same(o.refund_ref, "re_2") && o.refund_amount == 300 && same(o.ref2, "pi_3Q") &&
	    o.ref == NULL && o.amount == -1 && same(o.currency, "USD") && same(pub, "p1"),
	    "event: charge.refunded in part: the total and the newest refund of the list");
	b = "{\"id\":\"evt_3\",\"object\":\"event\",\"type\":\"charge.refunded\",\"data\":{\"object\":"
	    "{\"id\":\"ch_1\",\"object\":\"charge\",\"amount\":1500,\"amount_refunded\":1500,"
	    "\"currency\":\"usd\",\"payment_intent\":\"pi_3Q\",\"refunded\":true}}}";
	obs_clear(&o);
	rc = stripe_event_read(a, b, strlen(b), &o, &pub, err, sizeof(err));
	tap_ok(rc == 1 && o.state == PAY_REFUNDED && o.refunded_total == 1500 && o.refund_ref == NULL &&
	    o.refund_amount == -1 && pub == NULL,
	    "event: charge.refunded in full without its list: refunded, the total only");

	b = "{\"id\":\"evt_4\",\"object\":\"event\",\"type\":\"payment_intent.succeeded\","
	    "\"data\":{\"object\":{\"id\":\"pi_1\",\"object\":\"payment_intent\"}}}";
	obs_clear(&o);
	tap_ok(stripe_event_read(a, b, strlen(b), &o, &pub, err, sizeof(err)) == 0 && o.event_id == NULL,
	    "event: another type is valid and about nothing (0)");
	b = "{\"id\":\"evt_5\",\"object\":\"event\",\"type\":\"checkout.session.completed\",\"data\":{}}";
	tap_ok(stripe_event_read(a, b, strlen(b), &o, &pub, err, sizeof(err)) == -1,
	    "event: a session event without its session is malformed");
	b = "{\"id\":\"evt_6\",\"object\":\"event\",\"type\":\"charge.refunded\",\"data\":{\"object\":"
	    "{\"id\":\"cs_1\",\"object\":\"checkout.session\"}}}";
	tap_ok(stripe_event_read(a, b, strlen(b), &o, &pub, err, sizeof(err)) == -1,
	    "event: charge.refunded carrying no charge is malformed");
	b = "{\"id\":\"evt_7\",\"object\":\"customer\",\"type\":\"checkout.session.completed\"}";
	tap_ok(stripe_event_read(a, b, strlen(b), &o, &pub, err, sizeof(err)) == -1,
	    "event: an object that is not an event is malformed");
	b = "[1,2]";
	tap_ok(stripe_event_read(a, b, strlen(b), &o, &pub, err, sizeof(err)) == -1, "event: an array is malformed");
	b = "{\"id\":\"evt_8\",\"object\":\"event\",\"type\":\"x\"} trailing";
	tap_ok(stripe_event_read(a, b, strlen(b), &o, &pub, err, sizeof(err)) == -1,
	    "event: bytes after the JSON are malformed");
	b = "{\"id\":\"evt_9\",\"object\":\"event\",\"type\":\"x\",\"n\":\"\xff\"}";
	tap_ok(stripe_event_read(a, b, strlen(b), &o, &pub, err, sizeof(err)) == -1,
	    "event: a body that is not UTF-8 is malformed");
	{
		char	 deep[200];
		int	 i;

		for (i = 0; i < 60; i++)
			deep[i] = '[';
		for (; i < 120; i++)
			deep[i] = ']';
		deep[i] = '\0';
		tap_ok(stripe_event_read(a, deep, strlen(deep), &o, &pub, err, sizeof(err)) == -1,
		    "event: JSON nested 60 deep is refused");
	}

	/* The session reader on its own (lookup and recent use it). */
	{
		struct json_object *s = json_tokener_parse("{\"id\":\"cs_x\",\"object\":\"checkout.session\","
		    "\"status\":\"open\",\"payment_status\":\"unpaid\",\"amount_total\":990,\"currency\":\"eur\"}");

		obs_clear(&o);
		tap_ok(stripe_session_read(a, s, &o, &pub) == 0 && o.state == PAY_PENDING && o.amount == 990 &&
		    same(o.currency, "EUR") && pub == NULL, "session: open is pending; no id of ours");
		json_object_put(s);
		s = json_tokener_parse("{\"id\":\"cs_y\",\"object\":\"checkout.session\",\"status\":\"complete\","
		    "\"payment_status\":\"no_payment_required\",\"currency\":\"US1\",\"client_reference_id\":\"\","
		    "\"metadata\":{\"payment\":\"ab\"}}");
		obs_clear(&o);
		tap_ok(stripe_session_read(a, s, &o, &pub) == 0 && o.state == PAY_SUCCEEDED && o.amount == -1 &&
		    o.currency == NULL && same(pub, "ab"),
		    "session: no payment required is succeeded; a bad currency is unknown; metadata.payment");
		json_object_put(s);
		s = json_tokener_parse("{\"id\":\"pi_1\",\"object\":\"payment_intent\"}");
		tap_ok(stripe_session_read(a, s, &o, &pub) == -1, "session: a PaymentIntent is not a session");
		json_object_put(s);
		tap_ok(stripe_session_read(a, NULL, &o, &pub) == -1, "session: nothing is not a session");
	}
	arena_free(a);
}

/* The whole of stdin, NUL-terminated; *n its length. */
static char *
read_stdin(size_t *n)
{
	struct buf b;
	char	 chunk[4096];
	size_t	 got;

	buf_init(&b);
	while ((got = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		buf_add(&b, chunk, got);
	*n = b.len;
	if (b.p == NULL)
		buf_add(&b, "", 0);
	return b.p;
}

/* test-stripe call BASE KEY OP ARGS... (see the top of this file). */
static int
call_op(const struct conf *cf, int argc, char **argv)
{
	struct json_object *r = json_object_new_object(), *arr;
	struct arena *a = arena_new(16384);
	struct gw_call c;
	struct gw_payment p;
	const char *op = argv[4];
	int	 rc = -1, i;

	memset(&c, 0, sizeof(c));
	memset(&p, 0, sizeof(p));
	c.a = a;
	c.base = argv[2];
	c.secret = argv[3];
	c.http = http_out_open(a, "stripe", cf->gateway_timeout, cf->gateway_ca_file, 1, c.err,
	    sizeof(c.err));
	p.public_id = argc > 5 ? argv[5] : "";
	p.purpose = "order";
	p.description = "Order TEST";
	if (c.http == NULL)
		;
	else if (strcmp(op, "create") == 0 && argc >= 11) {
		struct gw_created cr = { NULL, NULL, NULL };

		p.amount = strtoll(argv[6], NULL, 10);
		p.currency = argv[7];
		p.idem_key = argv[8];
		p.return_url = argv[9];
		p.cancel_url = argv[10];
		p.email = argc > 11 ? argv[11] : NULL;
		p.order_public = "ORDTEST";
		if ((rc = gw_stripe_ops.create(&c, &p, &cr)) == 0) {
			json_object_object_add(r, "ref", json_object_new_string(cr.ref));
			json_object_object_add(r, "ref2", cr.ref2 ? json_object_new_string(cr.ref2) : NULL);
			json_object_object_add(r, "url", json_object_new_string(cr.url));
		}
	} else if (strcmp(op, "lookup") == 0 && argc >= 7) {
		struct pay_observation o;

		p.ref = argv[6];
		memset(&o, 0, sizeof(o));
		o.source = "return";
		if ((rc = gw_stripe_ops.lookup(&c, &p, &o)) == 0) {
			json_object_object_add(r, "state", json_object_new_string(o.state >= 0 ?
			    pay_state_name[o.state] : "unknown"));
			json_object_object_add(r, "amount", json_object_new_int64(o.amount));
			json_object_object_add(r, "currency", o.currency ? json_object_new_string(o.currency) : NULL);
			json_object_object_add(r, "ref2", o.ref2 ? json_object_new_string(o.ref2) : NULL);
			json_object_object_add(r, "event_id", json_object_new_string(o.event_id));
			json_object_object_add(r, "source", json_object_new_string(o.source));
		}
	} else if (strcmp(op, "refund") == 0 && argc >= 11) {
		struct gw_refund_req rq;
		struct gw_refund_done done = { NULL, 0 };

		p.ref = *argv[6] ? argv[6] : NULL;
		p.ref2 = *argv[7] ? argv[7] : NULL;
		memset(&rq, 0, sizeof(rq));
		rq.amount = strtoll(argv[8], NULL, 10);
		rq.currency = "USD";
		rq.idem_key = argv[9];
		rq.refund = strtoll(argv[10], NULL, 10);
		rq.reason = argc > 11 ? argv[11] : NULL;
		if ((rc = gw_stripe_ops.refund(&c, &p, &rq, &done)) == 0) {
			json_object_object_add(r, "ref", json_object_new_string(done.ref));
			json_object_object_add(r, "state", json_object_new_int(done.state));
		}
	} else if (strcmp(op, "recent") == 0 && argc >= 6) {
		struct pay_observation obs[250];

		rc = gw_stripe_ops.recent(&c, strtoll(argv[5], NULL, 10), obs, 250);
		arr = json_object_new_array();
		for (i = 0; i < rc; i++) {
			struct json_object *e = json_object_new_object();

			json_object_object_add(e, "ref", json_object_new_string(obs[i].ref));
			json_object_object_add(e, "state", json_object_new_string(obs[i].state >= 0 ?
			    pay_state_name[obs[i].state] : "unknown"));
			json_object_object_add(e, "amount", json_object_new_int64(obs[i].amount));
			json_object_object_add(e, "payment_public", obs[i].payment_public ?
			    json_object_new_string(obs[i].payment_public) : NULL);
			json_object_array_add(arr, e);
		}
		json_object_object_add(r, "sessions", arr);
		if (rc > 0)
			rc = 0;
	} else {
		snprintf(c.err, sizeof(c.err), "unknown operation or missing arguments");
	}
	json_object_object_add(r, "rc", json_object_new_int(rc));
	json_object_object_add(r, "err", json_object_new_string(rc == 0 ? "" : c.err));
	json_object_object_add(r, "permanent", json_object_new_boolean(c.permanent));
	printf("%s\n", json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN));
	if (c.http != NULL)
		http_out_close(c.http);
	json_object_put(r);
	arena_free(a);
	return rc == 0 ? 0 : 1;
}

int
cmd_test_stripe(const struct conf *cf, int argc, char **argv)
{
	char	 hex[65], *body;
	size_t	 n;
	int	 rc;

	if (argc >= 5 && strcmp(argv[1], "call") == 0) {
		if (!cf->test_routes) {
			fprintf(stderr, "1000proxy: test-stripe call needs test_routes = yes\n");
			return 2;
		}
		return call_op(cf, argc, argv);
	}
	if (argc >= 2 && strcmp(argv[1], "unit") == 0) {
		t_vectors();
		t_verify();
		t_events();
		return tap_plan();
	}
	if (argc == 4 && strcmp(argv[1], "sign") == 0) {
		body = read_stdin(&n);
		stripe_sig_hex(argv[2], strtoll(argv[3], NULL, 10), body, n, hex);
		printf("t=%s,v1=%s\n", argv[3], hex);
		free(body);
		return 0;
	}
	if (argc == 6 && strcmp(argv[1], "verify") == 0) {
		const char *s[1] = { argv[2] };

		body = read_stdin(&n);
		rc = stripe_sig_verify(argv[5], body, n, s, 1, strtoll(argv[3], NULL, 10),
		    strtoll(argv[4], NULL, 10), NULL);
		printf("%s\n", stripe_sig_text[rc]);
		free(body);
		return rc == STRIPE_SIG_OK ? 0 : 1;
	}
	fprintf(stderr, "usage: 1000proxy test-stripe unit | sign SECRET T | "
	    "verify SECRET NOW TOLERANCE HEADER | call BASE KEY OP ARGS...\n");
	return 2;
}
