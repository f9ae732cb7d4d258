/*
 * cmd_test_nowpay.c: the NOWPayments reader (nowpay.c) under test.
 *
 * test_unit_nowpay(): the unit tests test-unit runs (t/00-unit.t): the
 * derived vector of ../shared/test-vectors/nowpayments-ipn-derived (a
 * copy in t/vectors/) byte for byte, the legacy recipe's signature
 * refused, the canonical form's edges (escapes, numbers as JavaScript
 * prints them, nesting, refusals), the status map and the amounts.
 *
 * `1000proxy test-nowpay VERB`: the same functions from stdin, so that
 * t/48-nowpayments.t compares them with Node (t/lib/nowpay_sign.cjs)
 * over many bodies:
 *   canon              print the canonical text of the body on stdin
 *   sig SECRET         print hex HMAC-SHA512(SECRET, canonical text)
 *   verify SECRET SIG  exit 0 when SIG signs the body, 1 when not, 2
 *                      when the body is refused (the error on stderr)
 *   observe            print the observation of a payment object as
 *                      key=value lines
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "nowpay.h"
#include "payment.h"
#include "tap.h"
#include "util.h"

/* The derived vector (README.md there says how it was made). */
static const char vec_body[] =
    "{\"payment_id\":123456789,\"parent_payment_id\":987654321,\"invoice_id\":null,"
    "\"payment_status\":\"finished\",\"pay_address\":\"address\",\"payin_extra_id\":null,"
    "\"price_amount\":1,\"price_currency\":\"usd\",\"pay_amount\":15,\"actually_paid\":15,"
    "\"actually_paid_at_fiat\":0,\"pay_currency\":\"trx\",\"order_id\":null,"
    "\"order_description\":null,\"purchase_id\":\"123456789\",\"outcome_amount\":14.8106,"
    "\"outcome_currency\":\"trx\",\"payment_extra_ids\":null,\"fee\":{\"currency\":\"btc\","
    "\"depositFee\":0.09853637216235617,\"withdrawalFee\":0,\"serviceFee\":0}}";
static const char vec_canon[] =
    "{\"actually_paid\":15,\"actually_paid_at_fiat\":0,\"fee\":{\"currency\":\"btc\","
    "\"depositFee\":0.09853637216235617,\"serviceFee\":0,\"withdrawalFee\":0},"
    "\"invoice_id\":null,\"order_description\":null,\"order_id\":null,\"outcome_amount\":14.8106,"
    "\"outcome_currency\":\"trx\",\"parent_payment_id\":987654321,\"pay_address\":\"address\","
    "\"pay_amount\":15,\"pay_currency\":\"trx\",\"payin_extra_id\":null,"
    "\"payment_extra_ids\":null,\"payment_id\":123456789,\"payment_status\":\"finished\","
    "\"price_amount\":1,\"price_currency\":\"usd\",\"purchase_id\":\"123456789\"}";
static const char vec_sig[] =
    "c5e1128c8cbb43994d215bf38d48f1d399fef169842f95d831a0260356436d89"
    "6cbc0cc5442eb18fcbd6f8da6a6f9d39b63c91f9659896a0dd62163b12109790";
static const char vec_legacy_sig[] =
    "fb1c1e7914e8c20d968e2665ec2e437a23d13401e4fef8a22ad37f0c7182d6ce"
    "dc6148b544b7972a45766a1603a3138158de4e951220a4dacc302d36c0ba5a53";

/* A test's name: its input with bytes outside printable ASCII as '?'
 * (a TAP line is one line of text). */
static void
tap_name(char *out, size_t sz, const char *prefix, const char *in)
{
	size_t	 o = (size_t)snprintf(out, sz, "%s", prefix), i;

	for (i = 0; in[i] != '\0' && i < 50 && o + 1 < sz; i++)
		out[o++] = (unsigned char)in[i] >= 0x20 && (unsigned char)in[i] < 0x7f ? in[i] : '?';
	out[o] = '\0';
}

static const char *
canon_of(struct arena *a, const char *body, char *err, size_t errsz)
{
	struct np_val *v = np_parse(a, body, strlen(body), err, errsz);

	return v != NULL ? np_canonical(a, v, NULL) : NULL;
}

/* payment.c's names, here so the probe links without the data layer. */
static const char *const st_name[PAY__MAX] = {
	"created", "pending", "partially_paid", "succeeded", "failed", "expired",
	"cancelled", "partially_refunded", "refunded"
};

static void
obs_init(struct pay_observation *o)
{
	memset(o, 0, sizeof(*o));
	o->gateway = "nowpayments";
	o->source = "webhook";
	o->state = -1;
	o->amount = o->refunded_total = o->refund_amount = -1;
}

void
test_unit_nowpay(void)
{
	struct arena *a = arena_new(8192);
	struct pay_observation o;
	const char *oid, *c;
	char	 err[256], hex[129], upper[129];
	size_t	 i, len;
	struct np_val *v;
	static const struct { const char *in, *want; } cases[] = {
		/* strings: what JSON.stringify writes back */
		{ "{\"b\":\"a\\/b\",\"a\":\"\\u00e9\\u20ac\"}", "{\"a\":\"\xc3\xa9\xe2\x82\xac\",\"b\":\"a/b\"}" },
		{ "[\"\\u0001\\u001F\\b\\f\\n\\r\\t\\\"\\\\\x7f\"]", "[\"\\u0001\\u001f\\b\\f\\n\\r\\t\\\"\\\\\x7f\"]" },
		{ "[\"\\ud83d\\ude00\"]", "[\"\xf0\x9f\x98\x80\"]" },
		/* numbers: as JavaScript prints the double */
		{ "[1.0,1e2,-0,0.0,1E+2,-1.50]", "[1,100,0,0,100,-1.5]" },
		{ "[1e21,1e20,1e-7,0.000001,123456789012345678901]",
		  "[1e+21,100000000000000000000,1e-7,0.000001,123456789012345680000]" },
		{ "[1.5e300,2.5e-300,1e400,0.1,0.30000000000000004]",
		  "[1.5e+300,2.5e-300,null,0.1,0.30000000000000004]" },
		/* keys sorted by byte order at every depth, arrays kept */
		{ " { \"z\" : [ {\"b\":1,\"a\":2} , 3 ] , \"A\" : {} , \"aa\":true,\"a\":false } ",
		  "{\"A\":{},\"a\":false,\"aa\":true,\"z\":[{\"a\":2,\"b\":1},3]}" },
		{ "{\"\xc3\xa9\":1,\"z\":2,\"~\":3}", "{\"z\":2,\"~\":3,\"\xc3\xa9\":1}" },
		/* as JavaScript: U+1F600 (a surrogate pair) before U+FF01;
		 * array-index keys first, numerically; "01" is not one */
		{ "{\"\xef\xbc\x81\":1,\"\xf0\x9f\x98\x80\":2}", "{\"\xf0\x9f\x98\x80\":2,\"\xef\xbc\x81\":1}" },
		{ "{\"b\":1,\"10\":2,\"9\":3,\"01\":4,\"4294967295\":5,\"a\":6}",
		  "{\"9\":3,\"10\":2,\"01\":4,\"4294967295\":5,\"a\":6,\"b\":1}" },
	};
	static const char *const refused[] = {
		"{\"a\":1,\"a\":2}", "[\"\\ud800\"]", "[\"\\udc00\"]", "[\"a\\u0000\"]", "[1,]",
		"{\"a\":1} x", "[01]", "[1.]", "[.5]", "[\"\xc0\xaf\"]", "[\"a\nb\"]", "", "nul",
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", "{\"a\" 1}",
		"[\"\\x\"]", "[\"\\u12\"]", "[-]", "[1e]", "{1:2}",
	};

	/* The vector, byte for byte. */
	c = canon_of(a, vec_body, err, sizeof(err));
	tap_is_str(c, vec_canon, "nowpay: the vector's canonical text, byte for byte");
	np_sig_hex("test_ipn_secret", vec_canon, strlen(vec_canon), hex);
	tap_is_str(hex, vec_sig, "nowpay: the vector's HMAC-SHA512");
	tap_ok(c != NULL && np_sig_ok("test_ipn_secret", c, strlen(c), vec_sig), "nowpay: the vector verifies");
	for (i = 0; i < 128; i++)
		upper[i] = (char)(vec_sig[i] >= 'a' ? vec_sig[i] - 32 : vec_sig[i]);
	upper[128] = '\0';
	tap_ok(c != NULL && np_sig_ok("test_ipn_secret", c, strlen(c), upper), "nowpay: upper-case hex verifies too");
	tap_ok(c != NULL && !np_sig_ok("test_ipn_secret", c, strlen(c), vec_legacy_sig),
	    "nowpay: the legacy recipe's signature (nested objects as {}) is refused");
	tap_ok(c != NULL && !np_sig_ok("other_secret", c, strlen(c), vec_sig), "nowpay: another secret does not verify");
	tap_ok(c != NULL && !np_sig_ok("test_ipn_secret", c, strlen(c), "c5e1") &&
	    !np_sig_ok("test_ipn_secret", c, strlen(c), "") && !np_sig_ok("", c, strlen(c), vec_sig),
	    "nowpay: a short signature, an empty one and an empty secret never verify");
	{
		char	*t = arena_strdup(a, vec_body), *p = strstr(t, "\"actually_paid\":15");
		const char *tc;

		p[strlen("\"actually_paid\":1")] = '6';
		tc = canon_of(a, t, err, sizeof(err));
		tap_ok(tc != NULL && !np_sig_ok("test_ipn_secret", tc, strlen(tc), vec_sig),
		    "nowpay: a tampered amount does not verify");
	}

	for (i = 0; i < NELEM(cases); i++) {
		char	 what[160];

		tap_name(what, sizeof(what), "nowpay: canonical of ", cases[i].in);
		c = canon_of(a, cases[i].in, err, sizeof(err));
		tap_is_str(c, cases[i].want, what);
	}
	{
		struct buf b;

		buf_init(&b);
		buf_putc(&b, '[');
		for (i = 0; i < 500; i++)
			buf_putc(&b, '1');
		buf_puts(&b, "e-480]");
		c = canon_of(a, b.p, err, sizeof(err));
		tap_is_str(c, "[11111111111111110000]", "nowpay: a number of 500 digits is read whole, exponent and all");
		buf_free(&b);
	}
	for (i = 0; i < NELEM(refused); i++) {
		char	 what[160];

		tap_name(what, sizeof(what), "nowpay: refused: ", refused[i]);
		tap_ok(np_parse(a, refused[i], strlen(refused[i]), err, sizeof(err)) == NULL && err[0] != '\0', what);
	}

	/* The status map. */
	tap_ok(np_state("waiting") == PAY_PENDING && np_state("confirming") == PAY_PENDING &&
	    np_state("confirmed") == PAY_PENDING && np_state("sending") == PAY_PENDING,
	    "nowpay: waiting, confirming, confirmed, sending are pending");
	tap_ok(np_state("partially_paid") == PAY_PARTIALLY_PAID && np_state("finished") == PAY_SUCCEEDED &&
	    np_state("failed") == PAY_FAILED && np_state("expired") == PAY_EXPIRED &&
	    np_state("refunded") == PAY_REFUNDED, "nowpay: partially_paid, finished, failed, expired, refunded");
	tap_ok(np_state("Finished") == -1 && np_state("") == -1 && np_state(NULL) == -1,
	    "nowpay: other words say nothing about the state");

	/* Amounts, in integers, rounded down. */
	{
		int64_t	 m = -7;

		tap_ok(np_received(1500, "15", "15") == 1500 && np_received(1500, "7.5", "15") == 750,
		    "nowpay: received: all, half");
		tap_ok(np_received(1000, "0.00033333", "0.001") == 333 && np_received(100, "1", "3") == 33,
		    "nowpay: received: rounded down");
		tap_ok(np_received(1000, "0.0012", "0.001") == 1200, "nowpay: received: over-payment");
		tap_ok(np_received(1000, "0", "0.001") == 0 && np_received(1000, "1", "0") == -1 &&
		    np_received(1000, "x", "1") == -1 && np_received(1000, "-1", "1") == -1,
		    "nowpay: received: nothing; no pay_amount; not a number");
		tap_ok(np_received(999999999999999, "1.23456789012345678", "1.23456789012345678") == 999999999999999,
		    "nowpay: received: eighteen decimals, the largest price");
		tap_ok(np_received(1000, "1e-30", "1") == 0 && np_received(1000, "1", "1e-30") == -1,
		    "nowpay: received: far below a minor unit is 0, far above MONEY_MAX is -1");
		tap_ok(np_minor("15.499", 2, &m) == 0 && m == 1549, "nowpay: 15.499 USD is 1549 cents (down)");
		tap_ok(np_minor("1e2", 2, &m) == 0 && m == 10000 && np_minor("7", 0, &m) == 0 && m == 7,
		    "nowpay: 1e2 USD, 7 JPY");
		tap_ok(np_minor("-1", 2, &m) != 0 && np_minor("1x", 2, &m) != 0 && np_minor("", 2, &m) != 0 &&
		    np_minor("1e30", 2, &m) != 0, "nowpay: a minor amount that is not one is refused");
	}

	/* The vector as an observation. */
	v = np_parse(a, vec_body, strlen(vec_body), err, sizeof(err));
	obs_init(&o);
	tap_ok(v != NULL && np_observe(a, v, &o, &oid, err, sizeof(err)) == 0, "nowpay: the vector reads");
	tap_is_str(o.event_id, "123456789:finished:15", "nowpay: event id payment_id:status:actually_paid");
	tap_ok(o.state == PAY_SUCCEEDED && o.amount == 100 && o.currency != NULL &&
	    strcmp(o.currency, "USD") == 0 && o.ref == NULL && oid == NULL &&
	    o.ref2 != NULL && strcmp(o.ref2, "123456789") == 0,
	    "nowpay: finished, 1.00 USD in full, no invoice, payment 123456789");
	{
		static const char part[] = "{\"payment_id\":\"55\",\"invoice_id\":\"4522625843\","
		    "\"payment_status\":\"partially_paid\",\"price_amount\":\"12.5\",\"price_currency\":\"eur\","
		    "\"pay_amount\":0.0004,\"actually_paid\":0.0001,\"order_id\":\"ab12\"}";

		v = np_parse(a, part, strlen(part), err, sizeof(err));
		obs_init(&o);
		tap_ok(v != NULL && np_observe(a, v, &o, &oid, err, sizeof(err)) == 0 &&
		    o.state == PAY_PARTIALLY_PAID && o.amount == 312 && strcmp(o.currency, "EUR") == 0 &&
		    strcmp(o.ref, "4522625843") == 0 && strcmp(o.event_id, "55:partially_paid:0.0001") == 0 &&
		    oid != NULL && strcmp(oid, "ab12") == 0 && o.payment_public == oid,
		    "nowpay: a quarter of 12.50 EUR arrived: 3.12, invoice and order_id read");
	}
	{
		static const char nop[] = "{\"payment_status\":\"finished\"}";

		v = np_parse(a, nop, strlen(nop), err, sizeof(err));
		obs_init(&o);
		tap_ok(v != NULL && np_observe(a, v, &o, &oid, err, sizeof(err)) == -1,
		    "nowpay: a payment object without payment_id is refused");
	}
	(void)len;
	arena_free(a);
}

static char *
read_stdin(size_t *n)
{
	struct buf b;
	char	 chunk[4096];
	size_t	 r;

	buf_init(&b);
	while ((r = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		buf_add(&b, chunk, r);
	*n = b.len;
	if (b.p == NULL)
		buf_add(&b, "", 0);
	return b.p;
}

int
cmd_test_nowpay(const struct conf *cf, int argc, char **argv)
{
	struct arena *a = arena_new(65536);
	struct np_val *v;
	const char *c, *oid;
	char	 err[256], hex[129], *body;
	size_t	 n, clen;
	int	 rc = 0;

	(void)cf;
	if (argc < 2) {
		fprintf(stderr, "usage: 1000proxy test-nowpay canon|sig SECRET|verify SECRET SIG|observe\n");
		arena_free(a);
		return 2;
	}
	body = read_stdin(&n);
	v = np_parse(a, body, n, err, sizeof(err));
	if (v == NULL) {
		fprintf(stderr, "refused: %s\n", err);
		rc = 2;
		goto out;
	}
	c = np_canonical(a, v, &clen);
	if (strcmp(argv[1], "canon") == 0)
		fwrite(c, 1, clen, stdout);
	else if (strcmp(argv[1], "sig") == 0 && argc > 2) {
		np_sig_hex(argv[2], c, clen, hex);
		printf("%s\n", hex);
	} else if (strcmp(argv[1], "verify") == 0 && argc > 3)
		rc = np_sig_ok(argv[2], c, clen, argv[3]) ? 0 : 1;
	else if (strcmp(argv[1], "observe") == 0) {
		struct pay_observation o;

		obs_init(&o);
		if (np_observe(a, v, &o, &oid, err, sizeof(err)) != 0) {
			fprintf(stderr, "refused: %s\n", err);
			rc = 2;
			goto out;
		}
		printf("event_id=%s\nevent_type=%s\nref=%s\nref2=%s\nstate=%s\namount=%" PRId64
		    "\ncurrency=%s\norder_id=%s\nrefunded_total=%" PRId64 "\n",
		    o.event_id, o.event_type, o.ref ? o.ref : "", o.ref2 ? o.ref2 : "",
		    o.state >= 0 ? st_name[o.state] : "", o.amount,
		    o.currency ? o.currency : "", oid ? oid : "", o.refunded_total);
	} else {
		fprintf(stderr, "test-nowpay: unknown verb %s\n", argv[1]);
		rc = 2;
	}
out:
	free(body);
	arena_free(a);
	return rc;
}
