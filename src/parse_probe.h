/*
 * parse_probe.h: one entry point per parser, fed raw bytes, shared by the
 * libFuzzer targets in fuzz/ and the hidden `1000proxy test-parse KIND`
 * command, so that t/07-fuzz-regress.t replays the corpus and the
 * crashers through exactly the code the fuzzers ran.
 */
#ifndef PX_PARSE_PROBE_H
#define PX_PARSE_PROBE_H

#include <stddef.h>
#include <stdint.h>

enum probe {
	PROBE_QUERY,		/* req_parse_query on the bytes */
	PROBE_COOKIE,		/* req_parse_cookies on the bytes up to a NUL */
	PROBE_MULTIPART,	/* first line: Content-Type parameters; rest: body */
	PROBE_JSON,		/* req_parse_body as application/json */
	PROBE_TEMPLATE,		/* view_compile_string, then a render */
	PROBE_UTF8,		/* utf8_valid against a reference decoder */
	PROBE_XUI,		/* a panel reply: envelope, then the inbound list's clients */
	PROBE_NOWPAY,		/* a NOWPayments IPN: read, canonical form, observation */
	PROBE_STRIPE,		/* first line: Stripe-Signature; rest: the event body */
	PROBE_PAYPAL,		/* first line: "tid|time|cert_url|sig"; rest: the event body */
	PROBE_PASSKEY,		/* byte 0 even: an attestationObject; odd: authenticator data */
	PROBE__MAX
};
extern const char *const probe_names[PROBE__MAX];

/* The probe called name, or -1. */
int	probe_find(const char *name);

/*
 * Run probe p over data.  Returns the parser's verdict (0, or the HTTP
 * status / -1 it gave); never keeps memory.  Calls abort() when an
 * invariant of the parser's output does not hold, so that a fuzzer
 * reports it as a crash.
 */
int	probe_run(enum probe p, const uint8_t *data, size_t n);

#endif
