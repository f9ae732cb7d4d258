/*
 * gw_paypal.h: PayPal (Orders v2, Payments v2, Webhooks v1) behind
 * gateway.h's struct gw_ops (issue 13; contracts/payments.md section 2).
 *
 * gw_paypal.c: the operations (work: OAuth, create, capture, lookup,
 * refund, recent; worker: verify) and the pure pieces they are made of,
 * declared here so that test-paypal (cmd_test_paypal.c) and the fuzz
 * targets reach them without a network or a database.
 * job_paypal.c: the gateway_followup step {"verify":"paypal"} in work.
 *
 * How a webhook is verified (contract 2.7):
 *  - offline, in the worker, when the certificate named by
 *    PAYPAL-CERT-URL is in paypal_certs (work fetched it, checked its
 *    chain against paypal_ca_file, its dates and the CN rule):
 *    RSA-SHA256 over "transmission_id|transmission_time|webhook_id|
 *    crc32(raw body)";
 *  - otherwise the worker cannot (no outgoing calls there): verify()
 *    returns -2 and obs[0] carries what webhook.c queues for work
 *    (below); work fetches the certificate from an allow-listed https
 *    host, checks and caches it, verifies, and applies the events;
 *  - with the setting payments.paypal.verify = "postback" (the default,
 *    as PayPal recommends) every delivery goes to work, which asks
 *    POST /v1/notifications/verify-webhook-signature with the raw body
 *    spliced in, never re-serialised.
 * A header that can never verify (no transmission id, an algorithm
 * other than SHA256withRSA, a certificate URL that is not https on an
 * allow-listed host, a body that is not a JSON object) is -1 at once:
 * 400, nothing stored.
 */
#ifndef PX_GW_PAYPAL_H
#define PX_GW_PAYPAL_H

#include <stddef.h>
#include <stdint.h>

#include "work.h"

struct arena;
struct db;
struct gw_call;
struct http_out;
struct json_object;
struct pay_observation;

/* The CN rule of the Java SDK: the signing certificate's subject CN
 * starts with this and ends with ".paypal.com". */
#define PP_CERT_CN_PREFIX	"messageverificationcerts"
#define PP_CERT_CN_SUFFIX	".paypal.com"
/* The default allow-list of certificate URL hosts (paypal_cert_hosts):
 * a leading dot matches the domain and every host under it. */
#define PP_CERT_HOSTS_DEFAULT	".paypal.com"

/*
 * What verify() leaves in obs[0] when it returns -2, for webhook.c:
 * enqueue a job of kind "gateway_followup" with idempotency key
 * obs[0].event_id ("paypal:verify:<PAYPAL-TRANSMISSION-ID>") and payload
 * obs[0].payload:
 *   {"verify":"paypal","event":{"transmission_id":..,
 *    "transmission_time":..,"transmission_sig":..,"cert_url":..,
 *    "auth_algo":..,"body":"<the raw body as a JSON string>"}}
 * (obs[0].state is -1: it says nothing about a payment yet).  A
 * gateway_events row for it, if webhook.c keeps one, uses the same
 * event_id with outcome 'unverified'; work deletes it once the events
 * inside are applied under their own WH- ids, or marks it 'rejected'.
 */
#define PP_VERIFY_KEY_PREFIX	"paypal:verify:"

/* An observation of PayPal with every field unknown (as payment.c's
 * pay_observation_init, which these readers do not need). */
void	pp_obs_init(struct pay_observation *, const char *source);

/* zlib's CRC-32 (IEEE 802.3, reflected, as Java's CRC32.getValue()). */
uint32_t pp_crc32(const void *, size_t);
/* The signed string "tid|time|webhook_id|crc32(body)", in a. */
const char *pp_expected(struct arena *a, const char *tid, const char *ttime,
	    const char *webhook_id, const char *body, size_t len);
/*
 * Whether url may be fetched as a signing certificate: https://, no
 * user info, a host (optionally :port) that is on hosts (comma or space
 * separated host suffixes: ".paypal.com" and "paypal.com" both match
 * paypal.com and any host under it, an address such as "127.0.0.1" only
 * itself; compared case-insensitively).  1 or 0 with err saying why.
 */
int	pp_cert_url_ok(const char *url, const char *hosts, char *err, size_t errsz);
/*
 * Check a signing certificate (PEM): it parses; it chains to a CA of
 * ca_file ("": the system's; NULL: the chain is not checked, only for
 * test-paypal and the real 2017 vector, whose DigiCert chain is gone),
 * the rest of the PEM taken as the untrusted intermediates; it is valid
 * at now (unix seconds, the injected clock in tests); its
 * subject CN follows the CN rule.  0 with *not_after (may be NULL) set,
 * or -1 with err.
 */
int	pp_cert_check(const char *pem, const char *ca_file, int64_t now, int64_t *not_after,
	    char *err, size_t errsz);
/* RSA PKCS#1 v1.5 SHA-256 of msg against the public key of the
 * certificate pem, sig in base64.  1 verified, 0 not (err says why). */
int	pp_sig_verify(const char *pem, const char *msg, const char *sig_b64, char *err,
	    size_t errsz);

/*
 * Read a webhook event (the raw body) into up to nobs observations
 * (source "webhook", strings in a; payment left 0: see pp_find below):
 * PAYMENT.CAPTURE.COMPLETED/PENDING/DENIED/DECLINED/REFUNDED/REVERSED.
 * Returns how many (0: an event we do not act on), or -1 for a body
 * that is not a JSON event.  *approved (may be NULL) is set to 1 for
 * CHECKOUT.ORDER.APPROVED, which is read as one observation of the
 * order (state pending) and wants a capture: only work can do that.
 * *custom (may be NULL) is the custom_id the resource echoes (our
 * payment's public id), for pp_find.
 */
int	pp_event_read(struct arena *a, const char *body, size_t len, struct pay_observation *obs,
	    int nobs, int *approved, const char **custom, char *err, size_t errsz);
/*
 * Read an Orders v2 order object (create, capture and lookup replies):
 * ref = its id, ref2 = its first capture's id, the state of the capture
 * when there is one, else of the order (APPROVED and the rest: pending;
 * VOIDED: cancelled), the captured amount, an event_id
 * "poll:<order>:<state>:<amount>".  *approve (may be NULL) is the href
 * of the link "approve" or "payer-action", or NULL.  *order_status (may
 * be NULL) is the order's status.  0, or -1 when o is not an order.
 */
int	pp_order_read(struct arena *a, struct json_object *o, struct pay_observation *obs,
	    const char **approve, const char **order_status);
/* Read a Payments v2 capture object (contract 2.4) into obs. 0 or -1. */
int	pp_capture_read(struct arena *a, struct json_object *c, struct pay_observation *obs);
/* PayPal's "15.00" in currency as minor units, or -1. */
int64_t	pp_amount(struct json_object *amount, const char **currency);

/* The setting payments.paypal.verify: "postback" (the default) or
 * "offline". */
const char *pp_setting_verify(struct db *);
/* The payload of the deferred delivery's job (above), in a. */
const char *pp_job_payload(struct arena *a, const char *tid, const char *ttime, const char *sig,
	    const char *url, const char *algo, const char *body, size_t len);
/*
 * The key of a deferred delivery's job and of its gateway_events row:
 * PP_VERIFY_KEY_PREFIX, the transmission id, and 16 hex digits of
 * SHA-256 over the signature and the body.  Why not the transmission id
 * alone: anyone may post a delivery naming a real transmission id; keyed
 * by the id only, a forged one sent first would take the key, and the
 * real delivery would be merged into its (failing) job and lost.
 */
const char *pp_verify_key(struct arena *a, const char *tid, const char *sig, const char *body,
	    size_t len);
/* Forget this process's cached OAuth token. */
void	pp_token_forget(void);

/* The payments row a verified observation is about (by our public id
 * echoed as custom_id, the order id, or the capture id), or 0: sets
 * obs->payment. */
void	pp_find(struct db *, struct pay_observation *obs, const char *custom_id);

/*
 * work: the PayPal calls behind the gateway_followup step.
 * pp_postback: POST /v1/notifications/verify-webhook-signature with the
 * raw body spliced in; 1 SUCCESS, 0 FAILURE, -1 with c->err (retry
 * unless c->permanent).
 * pp_cert_fetch: GET a signing certificate (the caller checked the URL
 * with pp_cert_url_ok) over h; 0 with *pem in a, or -1 with err and
 * *permanent (not a certificate, a 4xx) or not (transport, 5xx).
 */
int	pp_postback(struct gw_call *c, const char *tid, const char *ttime, const char *sig,
	    const char *url, const char *algo, const char *webhook_id, const char *body, size_t len);
int	pp_cert_fetch(struct http_out *h, struct arena *a, const char *url, const char **pem,
	    int *permanent, char *err, size_t errsz);

/*
 * work: the gateway_followup step {"verify":"paypal"} (job_paypal.c),
 * which job_payment.c's gateway_followup hands such a job to: verify
 * (postback, or the certificate fetched, checked and cached), then
 * apply the events through payment_apply, capturing an approved order
 * first; a delivery that does not verify is recorded 'rejected' and
 * changes nothing.  Returns enum job_rc.
 */
enum job_rc paypal_verify_followup(struct work *, struct job *);

#endif
