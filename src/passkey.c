/*
 * passkey.c: the WebAuthn ceremonies (see passkey.h).
 *
 * The byte-level parsers (CBOR, authenticator data, COSE keys, the
 * signature check) are passkey_parse.c.
 *
 * What is verified, in the order of the specification (sections 7.1
 * and 7.2): the response's JSON shape and id == rawId; clientDataJSON's
 * type, challenge (taken once from passkey_challenges: it must exist
 * for this purpose, kind and session or pre-session, and not be
 * expired), origin (exactly the origin of base_url) and crossOrigin
 * (must be false); then authenticator data: rpIdHash == SHA-256(RP ID),
 * UP set, UV set where required; for a registration fmt "none" with
 * an empty attStmt, the credential id as the response named it, unique,
 * and a COSE key of an accepted algorithm whose point is on its curve;
 * for an assertion the credential known (and the account's, for a
 * second factor), userHandle the owner's, the signature over authData
 * || SHA-256(clientDataJSON), and a sign counter that grows unless both
 * sides are zero.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "db.h"
#include "http.h"
#include "json_get.h"
#include "passkey.h"
#include "response.h"
#include "seal.h"
#include "session.h"
#include "util.h"

#define PK_HANDLE_LEN	16	/* bytes of a user handle */
#define PK_USER_LABEL	"1000proxy passkey user v1"

static const char *const purpose_names[PK__MAX] = { "register", "signin", "2fa" };
static const char *const kind_names[SESS__MAX] = { "customer", "staff" };

/* ---- base64url ---- */

static const char b64u_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *
pk_b64u(struct request *r, const void *p, size_t n)
{
	const unsigned char *s = p;
	char	*out = arena_alloc(r->a, n / 3 * 4 + 5), *o = out;
	size_t	 i;
	uint32_t v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		*o++ = b64u_chars[v >> 18];
		*o++ = b64u_chars[v >> 12 & 63];
		*o++ = b64u_chars[v >> 6 & 63];
		*o++ = b64u_chars[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)s[i] << 16;
		*o++ = b64u_chars[v >> 18];
		*o++ = b64u_chars[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
		*o++ = b64u_chars[v >> 18];
		*o++ = b64u_chars[v >> 12 & 63];
		*o++ = b64u_chars[v >> 6 & 63];
	}
	*o = '\0';
	return out;
}

unsigned char *
pk_b64u_decode(struct request *r, const char *s, size_t *n)
{
	size_t	 len, i, o = 0;
	unsigned char *out;
	uint32_t v = 0;
	const char *c;
	int	 bits = 0;

	if (s == NULL || (len = strlen(s)) % 4 == 1 || len > PK_JSON_MAX)
		return NULL;
	out = arena_alloc(r->a, len * 3 / 4 + 1);
	for (i = 0; i < len; i++) {
		if (s[i] == '\0' || (c = strchr(b64u_chars, s[i])) == NULL)
			return NULL;
		v = v << 6 | (uint32_t)(c - b64u_chars);
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(v >> bits);
			v &= (1u << bits) - 1;
		}
	}
	/* The unused low bits must be zero: one text for one value. */
	if (v != 0)
		return NULL;
	*n = o;
	return out;
}

/* ---- the request side ---- */

/* The origin of base_url ("scheme://host[:port]") and the RP ID (conf
 * passkey_rp_id, or base_url's host without its port), arena. */
static void
site(struct request *r, const char **origin, const char **rp_id)
{
	const char *u = r->app->conf.base_url, *h = strstr(u, "://"), *e, *colon;
	char	*lc, *p;

	h = h != NULL ? h + 3 : u;
	e = h + strcspn(h, "/?#");
	*origin = arena_strndup(r->a, u, (size_t)(e - u));
	if (r->app->conf.passkey_rp_id != NULL && *r->app->conf.passkey_rp_id != '\0') {
		*rp_id = r->app->conf.passkey_rp_id;
		return;
	}
	colon = memchr(h, ':', (size_t)(e - h));
	lc = arena_strndup(r->a, h, (size_t)((colon != NULL ? colon : e) - h));
	/* Browsers hash the RP ID in lower case. */
	for (p = lc; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	*rp_id = lc;
}

/* The opaque user handle of an account: HMAC of "<kind>:<id>" under
 * its own subkey, so it names nobody outside this shop. */
static void
user_handle(struct request *r, enum sess_kind k, int64_t id, unsigned char out[PK_HANDLE_LEN])
{
	unsigned char sub[SEAL_KEY_LEN], mac[32];
	unsigned int n = 0;
	char	 msg[48];

	if (seal_subkey(sub, r->app->key, PK_USER_LABEL) != 0)
		req_fail(r, 500, "passkey user handle key");
	snprintf(msg, sizeof(msg), "%s:%lld", kind_names[k], (long long)id);
	HMAC(EVP_sha256(), sub, sizeof(sub), (const unsigned char *)msg, strlen(msg), mac, &n);
	memcpy(out, mac, PK_HANDLE_LEN);
	OPENSSL_cleanse(sub, sizeof(sub));
}

/* What a challenge is bound to: SHA-256 of the kind and the CSRF token
 * of the request's session or pre-session (the dispatcher checked it
 * against the cookie), so a challenge works only where it was asked. */
static void
bind_hash(struct request *r, enum sess_kind k, unsigned char out[32])
{
	const char *b = arena_printf(r->a, "%s:%s", kind_names[k], csrf_base(r, k));

	SHA256((const unsigned char *)b, strlen(b), out);
}

void
pk_bind_owner(struct request *r, struct stmt *st, enum sess_kind k, int64_t uid)
{
	if (k == SESS_CUSTOMER) {
		db_bind_int(r->db, st, ":cid", uid);
		db_bind_null(r->db, st, ":sid");
	} else {
		db_bind_null(r->db, st, ":cid");
		db_bind_int(r->db, st, ":sid", uid);
	}
}

/* The account's credential ids as [{"type":"public-key","id":...}]. */
static struct json_object *
cred_list(struct request *r, enum sess_kind k, int64_t uid)
{
	struct json_object *a = json_object_new_array(), *o;
	struct stmt *st = db_q(r->db, Q_PASSKEY_IDS);
	const void *id;
	size_t	 n;

	pk_bind_owner(r, st, k, uid);
	while (db_step(r->db, st) == DB_ROW) {
		id = db_blob(st, 0, &n);
		o = json_object_new_object();
		json_object_object_add(o, "type", json_object_new_string("public-key"));
		json_object_object_add(o, "id", json_object_new_string(pk_b64u(r, id, n)));
		json_object_array_add(a, o);
	}
	return a;
}

const char *
pk_options(struct request *r, enum sess_kind k, enum pk_purpose purpose, int64_t uid)
{
	const struct principal *p = r->principal[k];
	unsigned char ch[PK_CHALLENGE_LEN], h[32], b[32], handle[PK_HANDLE_LEN];
	struct json_object *top, *pk, *o, *a;
	const char *origin, *rp_id, *text;
	struct stmt *st;
	int64_t	 now = now_unix();
	static const int algs[] = { PK_ALG_EDDSA, PK_ALG_ES256 };
	size_t	 i;

	site(r, &origin, &rp_id);
	random_bytes(ch, sizeof(ch));
	SHA256(ch, sizeof(ch), h);
	bind_hash(r, k, b);
	db_begin(r->db);
	/* One live challenge per binding and purpose; expired ones go. */
	st = db_q(r->db, Q_PASSKEY_CHAL_PRUNE);
	db_bind_int(r->db, st, ":now", now);
	db_bind_blob(r->db, st, ":bind", b, sizeof(b));
	db_bind_text(r->db, st, ":purpose", purpose_names[purpose]);
	if (db_step(r->db, st) != DB_DONE)
		req_fail(r, 500, "passkey challenge prune failed");
	st = db_q(r->db, Q_PASSKEY_CHAL_INSERT);
	db_bind_blob(r->db, st, ":hash", h, sizeof(h));
	db_bind_text(r->db, st, ":purpose", purpose_names[purpose]);
	db_bind_text(r->db, st, ":kind", kind_names[k]);
	db_bind_blob(r->db, st, ":bind", b, sizeof(b));
	db_bind_int(r->db, st, ":expires", now + PK_TTL);
	if (db_step(r->db, st) != DB_DONE)
		req_fail(r, 500, "passkey challenge insert failed");
	db_commit(r->db);

	top = json_object_new_object();
	pk = json_object_new_object();
	json_object_object_add(top, "publicKey", pk);
	json_object_object_add(pk, "challenge", json_object_new_string(pk_b64u(r, ch, sizeof(ch))));
	json_object_object_add(pk, "timeout", json_object_new_int(PK_TTL * 1000));
	if (purpose == PK_REGISTER) {
		o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_string(rp_id));
		json_object_object_add(o, "name", json_object_new_string(r->app->conf.site_name));
		json_object_object_add(pk, "rp", o);
		user_handle(r, k, uid, handle);
		o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_string(pk_b64u(r, handle, sizeof(handle))));
		json_object_object_add(o, "name", json_object_new_string(p->email));
		json_object_object_add(o, "displayName", json_object_new_string(
		    p->name != NULL && *p->name ? p->name : p->email));
		json_object_object_add(pk, "user", o);
		a = json_object_new_array();
		for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
			o = json_object_new_object();
			json_object_object_add(o, "type", json_object_new_string("public-key"));
			json_object_object_add(o, "alg", json_object_new_int(algs[i]));
			json_object_array_add(a, o);
		}
		json_object_object_add(pk, "pubKeyCredParams", a);
		json_object_object_add(pk, "excludeCredentials", cred_list(r, k, uid));
		o = json_object_new_object();
		/* Discoverable, so it can sign in without a password. */
		json_object_object_add(o, "residentKey", json_object_new_string("required"));
		json_object_object_add(o, "requireResidentKey", json_object_new_boolean(1));
		json_object_object_add(o, "userVerification", json_object_new_string("preferred"));
		json_object_object_add(pk, "authenticatorSelection", o);
		json_object_object_add(pk, "attestation", json_object_new_string("none"));
	} else {
		json_object_object_add(pk, "rpId", json_object_new_string(rp_id));
		json_object_object_add(pk, "userVerification", json_object_new_string(
		    purpose == PK_SIGNIN ? "required" : "preferred"));
		if (purpose == PK_2FA)
			json_object_object_add(pk, "allowCredentials", cred_list(r, k, uid));
	}
	text = arena_strdup(r->a, json_object_to_json_string_ext(top,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(top);
	OPENSSL_cleanse(ch, sizeof(ch));
	return text;
}

/* The browser's response, decoded. */
struct pk_resp {
	unsigned char	*id, *cdj, *att, *ad, *sig, *uh;
	size_t		 idlen, cdjlen, attlen, adlen, siglen, uhlen;
};

/* A JSON text of at most PK_JSON_MAX bytes, nested at most depth deep,
 * with nothing after it; NULL when it is not. */
static struct json_object *
json_strict(const char *s, size_t n, int depth)
{
	struct json_tokener *tok;
	struct json_object *o;

	if (n > PK_JSON_MAX || memchr(s, '\0', n) != NULL ||
	    (tok = json_tokener_new_ex(depth)) == NULL)
		return NULL;
	o = json_tokener_parse_ex(tok, s, (int)n);
	if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != n || !json_object_is_type(o, json_type_object))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/* A base64url member of o, decoded; NULL when absent or not base64url. */
static unsigned char *
b64_member(struct request *r, struct json_object *o, const char *key, size_t *n)
{
	*n = 0;
	return pk_b64u_decode(r, jstr(o, key), n);
}

/* Parse the PublicKeyCredential JSON: id == rawId, type "public-key",
 * and the response's members for a registration (attestationObject)
 * or an assertion (authenticatorData, signature, userHandle). */
static const char *
resp_parse(struct request *r, const char *json, int registration, struct pk_resp *out)
{
	struct json_object *o, *resp;
	unsigned char *raw;
	size_t	 rawlen;
	const char *why = NULL;

	memset(out, 0, sizeof(*out));
	if (json == NULL || (o = json_strict(json, strlen(json), 4)) == NULL)
		return "The passkey response is not a JSON object (or is too large).";
	resp = jobj(o, "response");
	if (jstr(o, "type") == NULL || strcmp(jstr(o, "type"), "public-key") != 0 || resp == NULL)
		why = "The passkey response is not a public-key credential.";
	else if ((out->id = b64_member(r, o, "id", &out->idlen)) == NULL ||
	    (raw = b64_member(r, o, "rawId", &rawlen)) == NULL || rawlen != out->idlen ||
	    memcmp(raw, out->id, rawlen) != 0 || out->idlen < PK_CRED_MIN || out->idlen > PK_CRED_MAX)
		why = "The passkey response's id is malformed.";
	else if ((out->cdj = b64_member(r, resp, "clientDataJSON", &out->cdjlen)) == NULL)
		why = "The passkey response's clientDataJSON is malformed.";
	else if (registration &&
	    (out->att = b64_member(r, resp, "attestationObject", &out->attlen)) == NULL)
		why = "The passkey response's attestationObject is malformed.";
	else if (!registration &&
	    ((out->ad = b64_member(r, resp, "authenticatorData", &out->adlen)) == NULL ||
	    (out->sig = b64_member(r, resp, "signature", &out->siglen)) == NULL))
		why = "The passkey response's authenticatorData or signature is malformed.";
	else if (!registration && jstr(resp, "userHandle") != NULL && *jstr(resp, "userHandle") &&
	    (out->uh = b64_member(r, resp, "userHandle", &out->uhlen)) == NULL)
		why = "The passkey response's userHandle is malformed.";
	json_object_put(o);
	return why;
}

/* Take the challenge ch once: it must be stored for this purpose, kind
 * and binding, and not expired.  1 when it was. */
static int
challenge_take(struct request *r, enum sess_kind k, enum pk_purpose purpose,
    const unsigned char *ch, size_t n)
{
	unsigned char h[32], b[32];
	struct stmt *st;
	int	 ok;

	if (n != PK_CHALLENGE_LEN)
		return 0;
	SHA256(ch, n, h);
	bind_hash(r, k, b);
	db_begin(r->db);
	st = db_q(r->db, Q_PASSKEY_CHAL_TAKE);
	db_bind_blob(r->db, st, ":hash", h, sizeof(h));
	db_bind_text(r->db, st, ":purpose", purpose_names[purpose]);
	db_bind_text(r->db, st, ":kind", kind_names[k]);
	db_bind_blob(r->db, st, ":bind", b, sizeof(b));
	db_bind_int(r->db, st, ":now", now_unix());
	if (db_step(r->db, st) != DB_DONE)
		req_fail(r, 500, "passkey challenge take failed");
	ok = db_changes(r->db) == 1;
	db_commit(r->db);
	return ok;
}

/* clientDataJSON (section 5.8.1): type, challenge (taken), origin,
 * crossOrigin. */
static const char *
client_data(struct request *r, enum sess_kind k, enum pk_purpose purpose, const struct pk_resp *pr)
{
	struct json_object *c, *x;
	const char *origin, *rp_id, *why = NULL, *type;
	unsigned char *ch;
	size_t	 chlen = 0;

	site(r, &origin, &rp_id);
	if ((c = json_strict((const char *)pr->cdj, pr->cdjlen, 4)) == NULL)
		return "The passkey's client data is not a JSON object.";
	type = purpose == PK_REGISTER ? "webauthn.create" : "webauthn.get";
	if (jstr(c, "type") == NULL || strcmp(jstr(c, "type"), type) != 0)
		why = "The passkey's client data is of the wrong type.";
	else if (jstr(c, "origin") == NULL || strcmp(jstr(c, "origin"), origin) != 0)
		why = "The passkey response came from another origin.";
	else if (json_object_object_get_ex(c, "crossOrigin", &x) &&
	    (!json_object_is_type(x, json_type_boolean) || json_object_get_boolean(x)))
		why = "A passkey response from a cross-origin frame is refused.";
	else if ((ch = pk_b64u_decode(r, jstr(c, "challenge"), &chlen)) == NULL ||
	    !challenge_take(r, k, purpose, ch, chlen))
		why = "The passkey challenge is unknown, expired or already used. Please try again.";
	json_object_put(c);
	return why;
}

/* The authenticator data's RP ID hash, UP and (when need_uv) UV. */
static const char *
rp_flags(struct request *r, const struct pk_authdata *ad, int need_uv)
{
	const char *origin, *rp_id;
	unsigned char h[32];

	site(r, &origin, &rp_id);
	SHA256((const unsigned char *)rp_id, strlen(rp_id), h);
	if (CRYPTO_memcmp(h, ad->rp_id_hash, 32) != 0)
		return "The passkey is for another site (RP ID).";
	if (!(ad->flags & PK_FLAG_UP))
		return "The passkey did not confirm user presence.";
	if (need_uv && !(ad->flags & PK_FLAG_UV))
		return "Signing in with a passkey needs user verification (its PIN or biometrics).";
	return NULL;
}

static void
refused(struct request *r, enum sess_kind k, const char *action, int64_t uid, const char *why)
{
	r->status = 400;
	db_begin(r->db);
	req_audit(r, action, uid ? arena_printf(r->a, "%s:%lld", kind_names[k], (long long)uid) :
	    kind_names[k], "%s", why);
	db_commit(r->db);
}

const char *
pk_register(struct request *r, enum sess_kind k, int64_t uid, const char *json, const char *name)
{
	struct pk_resp pr;
	struct pk_authdata ad;
	const unsigned char *adp;
	size_t	 adlen;
	const char *why;
	struct stmt *st;
	int	 alg = 0, rc;

	if ((why = resp_parse(r, json, 1, &pr)) == NULL &&
	    (why = client_data(r, k, PK_REGISTER, &pr)) == NULL &&
	    (why = pk_attestation(pr.att, pr.attlen, &adp, &adlen)) == NULL &&
	    (why = pk_authdata(adp, adlen, 1, &ad)) == NULL &&
	    (why = rp_flags(r, &ad, 0)) == NULL) {
		if (ad.cred_len != pr.idlen || memcmp(ad.cred_id, pr.id, pr.idlen) != 0)
			why = "The passkey's credential id does not match the response's.";
		else
			why = pk_cose_check(ad.cose, ad.cose_len, &alg);
	}
	if (why != NULL) {
		refused(r, k, "passkey.refused", uid, why);
		return why;
	}
	db_begin(r->db);
	st = db_q(r->db, Q_PASSKEY_COUNT);
	pk_bind_owner(r, st, k, uid);
	if (db_one_int(r->db, st, 0) >= PK_PER_USER) {
		db_rollback(r->db);
		r->status = 409;
		return "You have as many passkeys as an account may hold. Delete one first.";
	}
	st = db_q(r->db, Q_PASSKEY_INSERT);
	pk_bind_owner(r, st, k, uid);
	db_bind_blob(r->db, st, ":cred", ad.cred_id, ad.cred_len);
	db_bind_blob(r->db, st, ":key", ad.cose, ad.cose_len);
	db_bind_int(r->db, st, ":alg", alg);
	db_bind_int(r->db, st, ":count", ad.count);
	db_bind_text(r->db, st, ":name", name);
	if ((rc = db_step_try(r->db, st)) == DB_CONSTRAINT) {
		db_rollback(r->db);
		refused(r, k, "passkey.refused", uid, "credential already registered");
		r->status = 409;
		return "That passkey is already registered.";
	}
	if (rc != DB_DONE)
		req_fail(r, 500, "passkey insert failed");
	req_audit(r, "passkey.added", arena_printf(r->a, "passkey:%lld", (long long)db_last_id(r->db)),
	    "owner=%s:%lld alg=%s", kind_names[k], (long long)uid, alg == PK_ALG_ES256 ? "ES256" : "EdDSA");
	db_commit(r->db);
	return NULL;
}

const char *
pk_assert(struct request *r, enum sess_kind k, enum pk_purpose purpose, int64_t uid,
    const char *json, int64_t *who)
{
	struct pk_resp pr;
	struct pk_authdata ad;
	unsigned char handle[PK_HANDLE_LEN], *msg, *key = NULL;
	const void *kp;
	const char *why;
	struct stmt *st;
	int64_t	 pid = 0, owner = 0, stored = 0;
	size_t	 keylen = 0;
	int	 alg = 0, mine = 0;

	*who = 0;
	if ((why = resp_parse(r, json, 0, &pr)) != NULL ||
	    (why = client_data(r, k, purpose, &pr)) != NULL)
		goto refuse;
	st = db_q(r->db, Q_PASSKEY_BY_CRED);
	db_bind_blob(r->db, st, ":cred", pr.id, pr.idlen);
	if (db_step(r->db, st) == DB_ROW) {
		pid = db_int(st, 0);
		mine = !db_is_null(st, k == SESS_CUSTOMER ? 1 : 2);
		owner = db_int(st, k == SESS_CUSTOMER ? 1 : 2);
		kp = db_blob(st, 3, &keylen);
		key = arena_alloc(r->a, keylen + 1);
		memcpy(key, kp, keylen);
		alg = (int)db_int(st, 4);
		stored = db_int(st, 5);
	}
	db_reset(st);
	/* Another account's passkey reads as an unknown one. */
	if (!mine || (purpose == PK_2FA && owner != uid)) {
		why = "That passkey is not registered to this account.";
		goto refuse;
	}
	user_handle(r, k, owner, handle);
	if ((purpose == PK_SIGNIN && pr.uh == NULL) || (pr.uh != NULL &&
	    (pr.uhlen != PK_HANDLE_LEN || CRYPTO_memcmp(pr.uh, handle, PK_HANDLE_LEN) != 0))) {
		why = "The passkey's user handle does not match its account.";
		goto refuse;
	}
	if ((why = pk_authdata(pr.ad, pr.adlen, 0, &ad)) != NULL ||
	    (why = rp_flags(r, &ad, purpose == PK_SIGNIN)) != NULL)
		goto refuse;
	msg = arena_alloc(r->a, pr.adlen + 32);
	memcpy(msg, pr.ad, pr.adlen);
	SHA256(pr.cdj, pr.cdjlen, msg + pr.adlen);
	if (!pk_sig_ok(key, keylen, alg, msg, pr.adlen + 32, pr.sig, pr.siglen)) {
		why = "The passkey's signature is wrong.";
		goto refuse;
	}
	if ((ad.count != 0 || stored != 0) && (int64_t)ad.count <= stored) {
		why = "The passkey's signature counter did not grow: a replayed response or a cloned passkey.";
		goto refuse;
	}
	db_begin(r->db);
	if (purpose == PK_SIGNIN) {
		/* As with a password: only an active account signs in. */
		st = db_q(r->db, k == SESS_CUSTOMER ? Q_TOKEN_OWNER_PHC_CUSTOMER : Q_TOKEN_OWNER_PHC_STAFF);
		db_bind_int(r->db, st, ":id", owner);
		if (db_step(r->db, st) != DB_ROW) {
			db_rollback(r->db);
			why = "That account cannot sign in.";
			goto refuse;
		}
		db_reset(st);
	}
	/* Conditional on the counter seen, so two workers racing with one
	 * response cannot both win. */
	st = db_q(r->db, Q_PASSKEY_USE);
	db_bind_int(r->db, st, ":id", pid);
	db_bind_int(r->db, st, ":count", ad.count);
	db_bind_int(r->db, st, ":now", now_unix());
	if (db_step(r->db, st) != DB_DONE)
		req_fail(r, 500, "passkey use update failed");
	if (db_changes(r->db) != 1) {
		db_rollback(r->db);
		why = "The passkey's signature counter did not grow: a replayed response or a cloned passkey.";
		goto refuse;
	}
	db_commit(r->db);
	*who = owner;
	return NULL;
refuse:
	refused(r, k, "passkey.refused", owner ? owner : uid, why);
	return why;
}

int64_t
pk_remove_all(struct request *r, enum sess_kind k, int64_t id)
{
	struct stmt *st = db_q(r->db, Q_PASSKEY_DELETE_ALL);

	pk_bind_owner(r, st, k, id);
	if (db_step(r->db, st) != DB_DONE)
		req_fail(r, 500, "passkey delete-all failed");
	return db_changes(r->db);
}
