/*
 * cmd_test_paypal.c: `1000proxy test-paypal`, the hidden entry to the
 * pure pieces of gw_paypal.c for t/47-paypal.t: no network, no
 * database, an injected clock.
 *
 *   unit DIR
 *        TAP: CRC-32, the signed string, the real PayPal vector in DIR
 *        (body.json, cert.pem, headers.txt) verified with the clock
 *        pinned inside its validity and refused with webhook_id
 *        NotToBeFound, expired at today's date; the certificate URL
 *        rule; the event and order readers
 *   cert PEM CA_FILE NOW
 *        pp_cert_check: prints "ok NOT_AFTER" (status 0) or "bad WHY"
 *        (status 1); CA_FILE "-" skips the chain, "" is the system's
 *   verify PEM TID TTIME WEBHOOK_ID BODY_FILE SIG_B64
 *        prints "verified" (status 0) or "bad WHY" (status 1)
 *   url URL HOSTS
 *        pp_cert_url_ok: "ok" (status 0) or "bad WHY" (status 1)
 *   event BODY_FILE
 *        pp_event_read: one line per observation "TYPE EVENT_ID STATE
 *        REF REF2 AMOUNT CURRENCY REFUND_REF REFUND_AMOUNT CUSTOM
 *        APPROVED" (status 0), or "bad WHY" (status 1)
 *   call BASE ID:SECRET OP ARGS...
 *        one gw_paypal_ops operation against BASE (the double), as work
 *        makes it; prints "ok ..." (status 0) or "err permanent|retry
 *        WHY" (status 1):
 *          create PUBLIC_ID AMOUNT CURRENCY KEY   "ok REF URL"
 *          capture PAYMENT REF | lookup PAYMENT REF   "ok OBSERVATION"
 *          refund PAYMENT REF REF2|- AMOUNT CURRENCY KEY   "ok REFUND STATE"
 *          recent SINCE   "ok N" and one observation a line
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cmd.h"
#include "gateway.h"
#include "gw_paypal.h"
#include "http_out.h"
#include "payment.h"
#include "tap.h"
#include "util.h"

/* The value of header name in headers.txt's "NAME: value" lines, in a. */
static const char *
header_of(struct arena *a, const char *text, const char *name)
{
	const char	*p = text;
	size_t		 n = strlen(name), e;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1;
			p += strspn(p, " ");
			e = strcspn(p, "\r\n");
			return arena_strndup(a, p, e);
		}
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return NULL;
}

static const char *
nz(const char *s)
{
	return s != NULL ? s : "-";
}

/* One observation as a line (the event verb and the unit test). */
static const char *
obs_line(struct arena *a, const struct pay_observation *o, const char *custom, int approved)
{
	return arena_printf(a, "%s %s %d %s %s %" PRId64 " %s %s %" PRId64 " %s %d",
	    nz(o->event_type), nz(o->event_id), o->state, nz(o->ref), nz(o->ref2), o->amount,
	    nz(o->currency), nz(o->refund_ref), o->refund_amount, nz(custom), approved);
}

static void
unit_vector(struct arena *a, const char *dir)
{
	char		*body, *cert, *hdr, err[256];
	const char	*tid, *ttime, *sig, *url, *exp;
	int64_t		 na = 0;
	size_t		 blen;

	body = file_read(arena_printf(a, "%s/body.json", dir));
	cert = file_read(arena_printf(a, "%s/cert.pem", dir));
	hdr = file_read(arena_printf(a, "%s/headers.txt", dir));
	tap_ok(body != NULL && cert != NULL && hdr != NULL, "vector: the three files read");
	if (body == NULL || cert == NULL || hdr == NULL)
		goto out;
	blen = strlen(body);
	tid = header_of(a, hdr, "PAYPAL-TRANSMISSION-ID");
	ttime = header_of(a, hdr, "PAYPAL-TRANSMISSION-TIME");
	sig = header_of(a, hdr, "PAYPAL-TRANSMISSION-SIG");
	url = header_of(a, hdr, "PAYPAL-CERT-URL");
	tap_ok(blen == 1636 && pp_crc32(body, blen) == 3494065244u, "vector: CRC-32 of the 1636-byte body is 3494065244");
	exp = pp_expected(a, nz(tid), nz(ttime), "96605875FF6516633", body, blen);
	tap_ok(strcmp(exp, "071f7d20-1584-11e7-abf0-6b62a8a99ac4|2017-03-30T20:04:05Z|"
	    "96605875FF6516633|3494065244") == 0, "vector: the signed string");
	tap_ok(pp_sig_verify(cert, exp, sig, err, sizeof(err)) == 1,
	    "vector: PayPal's real signature verifies with its certificate");
	tap_ok(pp_sig_verify(cert, pp_expected(a, tid, ttime, "NotToBeFound", body, blen), sig, err,
	    sizeof(err)) == 0, "vector: with webhook_id NotToBeFound it does not (as the Java SDK's test)");
	body[100] ^= 1;
	tap_ok(pp_sig_verify(cert, pp_expected(a, tid, ttime, "96605875FF6516633", body, blen), sig, err,
	    sizeof(err)) == 0, "vector: one bit of the body changed, it does not");
	body[100] ^= 1;
	/* 2018-01-01: inside 2017-02-18..2019-04-26.  The DigiCert chain
	 * is not shipped, so the chain check is skipped (CA NULL). */
	tap_ok(pp_cert_check(cert, NULL, 1514764800, &na, err, sizeof(err)) == 0 && na == 1556280000,
	    "vector: the certificate passes the date and CN rules at an injected 2018 clock");
	tap_ok(pp_cert_check(cert, NULL, 1764979200, &na, err, sizeof(err)) == -1 &&
	    strstr(err, "not valid") != NULL, "vector: at a 2025 clock it has expired");
	tap_ok(pp_cert_check(cert, NULL, 1483228800, &na, err, sizeof(err)) == -1,
	    "vector: at a 2017-01-01 clock it is not valid yet");
	tap_ok(pp_cert_url_ok(url, ".paypal.com", err, sizeof(err)) == 1,
	    "vector: its certificate URL passes the default host rule");
out:
	free(body);
	free(cert);
	free(hdr);
}

static void
unit_url(void)
{
	static const struct { const char *url, *hosts; int want; } c[] = {
		{ "https://api.paypal.com/v1/notifications/certs/CERT-1", ".paypal.com", 1 },
		{ "https://paypal.com/c", ".paypal.com", 1 },
		{ "https://API.SANDBOX.PAYPAL.COM/c", ".paypal.com", 1 },
		{ "http://api.paypal.com/c", ".paypal.com", 0 },
		{ "https://api.paypal.com.evil.example/c", ".paypal.com", 0 },
		{ "https://evilpaypal.com/c", ".paypal.com", 0 },
		{ "https://api.paypal.com@evil.example/c", ".paypal.com", 0 },
		{ "https://evil.example/api.paypal.com/c", ".paypal.com", 0 },
		{ "https://127.0.0.1:4433/certs/x.pem", "127.0.0.1", 1 },
		{ "https://127.0.0.1:44x3/certs/x.pem", "127.0.0.1", 0 },
		{ "https://localhost:4433/certs/x.pem", "127.0.0.1", 0 },
		{ "https://localhost:4433/certs/x.pem", "127.0.0.1, localhost", 1 },
		{ "https://1.127.0.0.1/x.pem", "127.0.0.1", 0 },
		{ "https://api.paypal.com/c", "paypal.com", 1 },
		{ "https://evilpaypal.com/c", "paypal.com", 0 },
		{ "https:///x", ".paypal.com", 0 },
		{ "", ".paypal.com", 0 },
		{ "file:///etc/passwd", ".paypal.com", 0 },
	};
	char	 err[256], what[256];
	size_t	 i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		snprintf(what, sizeof(what), "url: %s on [%s] %s", c[i].url, c[i].hosts,
		    c[i].want ? "allowed" : "refused");
		tap_ok(pp_cert_url_ok(c[i].url, c[i].hosts, err, sizeof(err)) == c[i].want, what);
	}
}

static void
unit_events(struct arena *a)
{
	static const struct { const char *body, *want; } c[] = {
		{ "{\"id\":\"WH-1\",\"event_type\":\"PAYMENT.CAPTURE.COMPLETED\",\"resource\":{\"id\":\"CAP1\","
		  "\"status\":\"COMPLETED\",\"amount\":{\"currency_code\":\"USD\",\"value\":\"15.00\"},"
		  "\"custom_id\":\"pub1\",\"supplementary_data\":{\"related_ids\":{\"order_id\":\"ORD1\"}}}}",
		  "PAYMENT.CAPTURE.COMPLETED WH-1 3 ORD1 CAP1 1500 USD - -1 pub1 0" },
		{ "{\"id\":\"WH-2\",\"event_type\":\"PAYMENT.CAPTURE.PENDING\",\"resource\":{\"id\":\"CAP1\","
		  "\"status\":\"PENDING\",\"amount\":{\"currency_code\":\"JPY\",\"value\":\"1500\"},"
		  "\"links\":[{\"rel\":\"up\",\"href\":\"https://api.paypal.com/v2/checkout/orders/ORD9\"}]}}",
		  "PAYMENT.CAPTURE.PENDING WH-2 1 ORD9 CAP1 1500 JPY - -1 - 0" },
		{ "{\"id\":\"WH-3\",\"event_type\":\"PAYMENT.CAPTURE.DENIED\",\"resource\":{\"id\":\"CAP1\","
		  "\"status\":\"DECLINED\"}}",
		  "PAYMENT.CAPTURE.DENIED WH-3 4 - CAP1 -1 - - -1 - 0" },
		{ "{\"id\":\"WH-3b\",\"event_type\":\"PAYMENT.CAPTURE.DECLINED\",\"resource\":{\"id\":\"CAP1\","
		  "\"status\":\"DECLINED\"}}",
		  "PAYMENT.CAPTURE.DECLINED WH-3b 4 - CAP1 -1 - - -1 - 0" },
		{ "{\"id\":\"WH-4\",\"event_type\":\"PAYMENT.CAPTURE.REFUNDED\",\"resource\":{\"id\":\"REF1\","
		  "\"status\":\"COMPLETED\",\"amount\":{\"currency_code\":\"USD\",\"value\":\"5.00\"},\"custom_id\":\"pub1\","
		  "\"links\":[{\"rel\":\"self\",\"href\":\"https://api.paypal.com/v2/payments/refunds/REF1\"},"
		  "{\"rel\":\"up\",\"href\":\"https://api.paypal.com/v2/payments/captures/CAP1\"}]}}",
		  "PAYMENT.CAPTURE.REFUNDED WH-4 7 - CAP1 -1 USD REF1 500 pub1 0" },
		{ "{\"id\":\"WH-5\",\"event_type\":\"PAYMENT.CAPTURE.REVERSED\",\"resource\":{\"id\":\"REV1\","
		  "\"amount\":{\"currency_code\":\"USD\",\"value\":\"15.00\"},"
		  "\"links\":[{\"rel\":\"up\",\"href\":\"https://api.paypal.com/v2/payments/captures/CAP1\"}]}}",
		  "PAYMENT.CAPTURE.REVERSED WH-5 8 - CAP1 -1 USD REV1 1500 - 0" },
		{ "{\"id\":\"WH-6\",\"event_type\":\"CHECKOUT.ORDER.APPROVED\",\"resource\":{\"id\":\"ORD1\","
		  "\"status\":\"APPROVED\",\"purchase_units\":[{\"custom_id\":\"pub1\"}]}}",
		  "CHECKOUT.ORDER.APPROVED WH-6 1 ORD1 - -1 - - -1 pub1 1" },
		/* Amounts that are not the currency's decimal text are unknown. */
		{ "{\"id\":\"WH-7\",\"event_type\":\"PAYMENT.CAPTURE.COMPLETED\",\"resource\":{\"id\":\"CAP1\","
		  "\"amount\":{\"currency_code\":\"USD\",\"value\":\"15.001\"}}}",
		  "PAYMENT.CAPTURE.COMPLETED WH-7 3 - CAP1 -1 - - -1 - 0" },
		{ "{\"id\":\"WH-8\",\"event_type\":\"PAYMENT.CAPTURE.COMPLETED\",\"resource\":{\"id\":\"CAP1\","
		  "\"amount\":{\"currency_code\":\"USD\",\"value\":15}}}",
		  "PAYMENT.CAPTURE.COMPLETED WH-8 3 - CAP1 -1 - - -1 - 0" },
		/* Events we do not act on: valid, no observation. */
		{ "{\"id\":\"WH-9\",\"event_type\":\"BILLING.PLAN.CREATED\",\"resource\":{}}", "0" },
		{ "{\"id\":\"WH-10\",\"event_type\":\"PAYMENT.CAPTURE.COMPLETED\",\"resource\":[]}", "0" },
		/* Not events. */
		{ "{\"event_type\":\"PAYMENT.CAPTURE.COMPLETED\"}", "-1" },
		{ "[1]", "-1" },
		{ "{\"id\":\"WH-1\",\"event_type\":\"X\"} trailing", "-1" },
		{ "{\"id\":\"WH-1\",\"event_type\":\"X\"", "-1" },
		{ "", "-1" },
	};
	struct pay_observation obs[2];
	const char	*custom, *got;
	char		 err[256], what[300];
	int		 n, appr;
	size_t		 i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		n = pp_event_read(a, c[i].body, strlen(c[i].body), obs, 2, &appr, &custom, err,
		    sizeof(err));
		got = n == 1 ? obs_line(a, &obs[0], custom, appr) : arena_printf(a, "%d", n);
		snprintf(what, sizeof(what), "event %zu: %s", i, c[i].want);
		tap_ok(strcmp(got, c[i].want) == 0, what);
		if (strcmp(got, c[i].want) != 0)
			printf("#   got: %s\n", got);
		if (n == 1)
			tap_ok(obs[0].payload != NULL && strcmp(obs[0].payload, c[i].body) == 0 &&
			    strcmp(obs[0].source, "webhook") == 0 && obs[0].payment == 0,
			    "event: the raw body is the payload, source webhook");
	}
}

static void
unit_orders(struct arena *a)
{
	static const struct { const char *body, *want, *approve; } c[] = {
		{ "{\"id\":\"ORD1\",\"status\":\"PAYER_ACTION_REQUIRED\",\"links\":[{\"rel\":\"self\",\"href\":\"s\"},"
		  "{\"rel\":\"payer-action\",\"href\":\"https://pp.example/checkoutnow?token=ORD1\"}]}",
		  "order.PAYER_ACTION_REQUIRED poll:ORD1:pending:-1 1 ORD1 - -1 - - -1 - 0",
		  "https://pp.example/checkoutnow?token=ORD1" },
		{ "{\"id\":\"ORD1\",\"status\":\"CREATED\",\"links\":[{\"rel\":\"approve\",\"href\":\"https://a/x\"}]}",
		  "order.CREATED poll:ORD1:pending:-1 1 ORD1 - -1 - - -1 - 0", "https://a/x" },
		{ "{\"id\":\"ORD1\",\"status\":\"COMPLETED\",\"purchase_units\":[{\"payments\":{\"captures\":[{\"id\":\"CAP1\","
		  "\"status\":\"COMPLETED\",\"amount\":{\"currency_code\":\"EUR\",\"value\":\"9.90\"}}]}}]}",
		  "order.COMPLETED poll:CAP1:succeeded:990 3 ORD1 CAP1 990 EUR - -1 - 0", NULL },
		{ "{\"id\":\"ORD1\",\"status\":\"COMPLETED\",\"purchase_units\":[{\"payments\":{\"captures\":[{\"id\":\"CAP1\","
		  "\"status\":\"PENDING\",\"amount\":{\"currency_code\":\"EUR\",\"value\":\"9.90\"}}]}}]}",
		  "order.COMPLETED poll:CAP1:pending:990 1 ORD1 CAP1 990 EUR - -1 - 0", NULL },
		{ "{\"id\":\"ORD1\",\"status\":\"VOIDED\"}", "order.VOIDED poll:ORD1:cancelled:-1 6 ORD1 - -1 - - -1 - 0", NULL },
		{ "{\"status\":\"CREATED\"}", "-1", NULL },
	};
	struct pay_observation obs;
	struct json_object *o;
	const char	*appr, *st, *got;
	char		 what[300];
	size_t		 i;
	int		 rc;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		pp_obs_init(&obs, "reconcile");
		o = json_tokener_parse(c[i].body);
		rc = pp_order_read(a, o, &obs, &appr, &st);
		json_object_put(o);
		got = rc == 0 ? obs_line(a, &obs, NULL, 0) : "-1";
		snprintf(what, sizeof(what), "order %zu: %s", i, c[i].want);
		tap_ok(strcmp(got, c[i].want) == 0 && (c[i].approve == NULL ? appr == NULL :
		    appr != NULL && strcmp(appr, c[i].approve) == 0), what);
		if (strcmp(got, c[i].want) != 0)
			printf("#   got: %s\n", got);
	}
}

/* The call verb: argv[2] BASE, argv[3] ID:SECRET, argv[4] OP. */
static int
call(struct arena *a, int argc, char **argv)
{
	struct pay_observation obs[8];
	struct gw_payment p;
	struct gw_created cr;
	struct gw_refund_req rq;
	struct gw_refund_done rd;
	struct gw_call	 c;
	const char	*op = argv[4];
	char		 err[512];
	int64_t		 v;
	int		 rc = -1, n, i;

	memset(&c, 0, sizeof(c));
	memset(&p, 0, sizeof(p));
	c.a = a;
	c.base = argv[2];
	c.secret = argv[3];
	if ((c.http = http_out_open(a, "paypal", 10, NULL, 1, err, sizeof(err))) == NULL) {
		printf("err retry %s\n", err);
		return 1;
	}
	pp_obs_init(&obs[0], "reconcile");
	if (strcmp(op, "create") == 0 && argc == 9 && parse_i64(argv[6], &v) == 0) {
		p.public_id = argv[5];
		p.amount = v;
		p.currency = argv[7];
		p.idem_key = argv[8];
		p.description = "Order test";
		p.return_url = arena_printf(a, "https://shop.example/pay/return/paypal/%s", argv[5]);
		p.cancel_url = arena_printf(a, "https://shop.example/pay/%s?cancelled=1", argv[5]);
		if ((rc = gw_paypal_ops.create(&c, &p, &cr)) == 0)
			printf("ok %s %s\n", cr.ref, cr.url);
	} else if ((strcmp(op, "capture") == 0 || strcmp(op, "lookup") == 0) && argc == 7 &&
	    parse_i64(argv[5], &p.id) == 0) {
		p.ref = argv[6];
		rc = (*op == 'c' ? gw_paypal_ops.capture : gw_paypal_ops.lookup)(&c, &p, &obs[0]);
		if (rc == 0)
			printf("ok %s\n", obs_line(a, &obs[0], NULL, 0));
	} else if (strcmp(op, "refund") == 0 && argc == 11 && parse_i64(argv[5], &p.id) == 0 &&
	    parse_i64(argv[8], &v) == 0) {
		p.ref = argv[6];
		p.ref2 = strcmp(argv[7], "-") == 0 ? NULL : argv[7];
		memset(&rq, 0, sizeof(rq));
		rq.amount = v;
		rq.currency = argv[9];
		rq.idem_key = argv[10];
		rq.reason = "test refund";
		if ((rc = gw_paypal_ops.refund(&c, &p, &rq, &rd)) == 0)
			printf("ok %s %d\n", rd.ref, rd.state);
	} else if (strcmp(op, "recent") == 0 && argc == 6 && parse_i64(argv[5], &v) == 0) {
		if ((n = gw_paypal_ops.recent(&c, v, obs, 8)) >= 0) {
			printf("ok %d\n", n);
			for (i = 0; i < n; i++)
				printf("%s\n", obs_line(a, &obs[i], NULL, 0));
			rc = 0;
		}
	} else {
		fprintf(stderr, "test-paypal call: bad arguments for %s\n", op);
		http_out_close(c.http);
		return 2;
	}
	if (rc != 0)
		printf("err %s %s\n", c.permanent ? "permanent" : "retry", c.err);
	http_out_close(c.http);
	pp_token_forget();
	return rc == 0 ? 0 : 1;
}

int
cmd_test_paypal(const struct conf *conf, int argc, char **argv)
{
	struct arena	*a = arena_new(16384);
	struct pay_observation obs[2];
	const char	*verb = argc > 1 ? argv[1] : "", *custom;
	char		 err[512], *pem, *body;
	int64_t		 now, na;
	int		 rc = 2, n, appr;

	(void)conf;
	if (strcmp(verb, "unit") == 0 && argc == 3) {
		printf("# CRC-32 check value\n");
		tap_ok(pp_crc32("123456789", 9) == 0xCBF43926u && pp_crc32("", 0) == 0,
		    "crc32: the standard check value of \"123456789\" and of nothing");
		unit_vector(a, argv[2]);
		unit_url();
		unit_events(a);
		unit_orders(a);
		rc = tap_plan();
	} else if (strcmp(verb, "cert") == 0 && argc == 5) {
		pem = file_read(argv[2]);
		if (parse_i64(argv[4], &now) != 0) {
			fprintf(stderr, "bad NOW\n");
		} else if (pp_cert_check(pem, strcmp(argv[3], "-") == 0 ? NULL : argv[3], now, &na, err,
		    sizeof(err)) == 0) {
			printf("ok %" PRId64 "\n", na);
			rc = 0;
		} else {
			printf("bad %s\n", err);
			rc = 1;
		}
		free(pem);
	} else if (strcmp(verb, "verify") == 0 && argc == 8) {
		pem = file_read(argv[2]);
		body = file_read(argv[6]);
		if (pem == NULL || body == NULL)
			fprintf(stderr, "cannot read %s or %s\n", argv[2], argv[6]);
		else if (pp_sig_verify(pem, pp_expected(a, argv[3], argv[4], argv[5], body, strlen(body)),
		    argv[7], err, sizeof(err)) == 1) {
			printf("verified\n");
			rc = 0;
		} else {
			printf("bad %s\n", err);
			rc = 1;
		}
		free(pem);
		free(body);
	} else if (strcmp(verb, "url") == 0 && argc == 4) {
		rc = pp_cert_url_ok(argv[2], argv[3], err, sizeof(err)) ? 0 : 1;
		printf(rc == 0 ? "ok\n" : "bad %s\n", err);
	} else if (strcmp(verb, "event") == 0 && argc == 3) {
		if ((body = file_read(argv[2])) == NULL) {
			fprintf(stderr, "cannot read %s\n", argv[2]);
		} else if ((n = pp_event_read(a, body, strlen(body), obs, 2, &appr, &custom, err,
		    sizeof(err))) < 0) {
			printf("bad %s\n", err);
			rc = 1;
		} else {
			if (n == 1)
				printf("%s\n", obs_line(a, &obs[0], custom, appr));
			rc = 0;
		}
		free(body);
	} else if (strcmp(verb, "call") == 0 && argc >= 5) {
		rc = call(a, argc, argv);
	} else {
		fprintf(stderr, "usage: test-paypal unit DIR | cert PEM CA NOW | verify PEM TID TTIME "
		    "WEBHOOK_ID BODY SIG | url URL HOSTS | event BODY | call BASE ID:SECRET OP ...\n");
	}
	arena_free(a);
	return rc;
}
