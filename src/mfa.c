/*
 * mfa.c: the second factor for customers and staff alike (see mfa.h).
 * What differs between the two kinds is data: the statements (each kind
 * keeps its own table's SQL unchanged) and the associated data prefix
 * the secret is sealed under.
 */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>

#include "db.h"
#include "http.h"
#include "mfa.h"
#include "notice.h"
#include "qr.h"
#include "response.h"
#include "seal.h"
#include "session.h"
#include "totp.h"
#include "util.h"

static const struct mfa_kind {
	const char	*aad;		/* "<aad>:<id>:totp" */
	enum q		 q_get;		/* sealed, enabled, last step */
	enum q		 q_pending;	/* :sealed, :id */
	enum q		 q_step;	/* :step, :id */
	enum q		 q_remove;	/* :id: secret and enrolment gone */
	enum q		 q_rc_delete;	/* owner */
	enum q		 q_rc_insert;	/* owner, :hash, :salt */
	enum q		 q_rc_unused;	/* owner: id, hash, salt */
	enum q		 q_rc_use;	/* :id (and owner when use_owner) */
	const char	*owner;		/* recovery_codes' owner parameter */
	int		 use_owner;
} kinds[SESS__MAX] = {
	[SESS_CUSTOMER] = { "customer", Q_ACCT_TOTP_GET, Q_ACCT_TOTP_SET_PENDING,
	    Q_ACCT_TOTP_USE_STEP, Q_ACCT_TOTP_DISABLE, Q_ACCT_RC_DELETE, Q_ACCT_RC_INSERT, Q_ACCT_RC_UNUSED,
	    Q_ACCT_RC_USE, ":cid", 0 },
	[SESS_STAFF] = { "staff", Q_STAFF_TOTP_GET, Q_STAFF_TOTP_PENDING,
	    Q_STAFF_TOTP_STEP, Q_STAFF_TOTP_RESET, Q_STAFF_RC_DELETE, Q_STAFF_RC_INSERT, Q_STAFF_RC_UNUSED,
	    Q_STAFF_RC_USE, ":sid", 1 },
};

static const char *
totp_aad(struct request *r, enum sess_kind k, int64_t id)
{
	return arena_printf(r->a, "%s:%lld:totp", kinds[k].aad, (long long)id);
}

int
mfa_secret_load(struct request *r, enum sess_kind k, int64_t id,
    unsigned char key[TOTP_SECRET_LEN], int64_t *last, int *enabled)
{
	struct stmt *st = db_q(r->db, kinds[k].q_get);
	const void *sealed;
	size_t	 n, klen = 0;
	int	 ok = 0;

	db_bind_int(r->db, st, ":id", id);
	if (db_step(r->db, st) == DB_ROW && !db_is_null(st, 0)) {
		/* Only a seal of one secret's length (SEAL_LEN now; older
		 * blobs had no key id and are 4 bytes shorter) can open to
		 * one: unseal() refuses a longer one for want of room. */
		sealed = db_blob(st, 0, &n);
		if (n <= SEAL_LEN(TOTP_SECRET_LEN) &&
		    unseal(key, TOTP_SECRET_LEN, &klen, r->app->key, sealed, n,
		    totp_aad(r, k, id)) == 0 && klen == TOTP_SECRET_LEN)
			ok = 1;
		if (enabled != NULL)
			*enabled = (int)db_int(st, 1);
		if (last != NULL)
			*last = db_int(st, 2);
	}
	db_reset(st);
	return ok;
}

void
mfa_secret_new(struct request *r, enum sess_kind k, int64_t id,
    unsigned char key[TOTP_SECRET_LEN])
{
	unsigned char blob[SEAL_LEN(TOTP_SECRET_LEN)];
	size_t	 n;
	struct stmt *st;

	totp_secret_new(key);
	if (seal(blob, sizeof(blob), &n, r->app->key, key, TOTP_SECRET_LEN,
	    totp_aad(r, k, id)) != 0)
		req_fail(r, 500, "sealing a TOTP secret failed");
	st = db_q(r->db, kinds[k].q_pending);
	db_bind_blob(r->db, st, ":sealed", blob, n);
	db_bind_int(r->db, st, ":id", id);
	db_step(r->db, st);
}

int
mfa_totp_accept(struct request *r, enum sess_kind k, int64_t id, const char *code,
    int pending)
{
	unsigned char key[TOTP_SECRET_LEN];
	int64_t	 last = 0, step = 0;
	struct stmt *st;
	int	 enabled = 0, ok;

	if (!mfa_secret_load(r, k, id, key, &last, &enabled))
		return 0;
	if (enabled != !pending) {
		OPENSSL_cleanse(key, sizeof(key));
		return 0;
	}
	ok = totp_verify(key, sizeof(key), code, now_unix(), last, &step);
	/* A right code of a step already spent is a replay, perhaps by
	 * someone who watched it typed: the owner is told (V2.8.5).  Not
	 * during enrolment, where no code was ever spent. */
	if (!ok && !pending && totp_verify(key, sizeof(key), code, now_unix(), -1, &step)) {
		OPENSSL_cleanse(key, sizeof(key));
		notice_totp_reused(r, k, id, step);
		return 0;
	}
	OPENSSL_cleanse(key, sizeof(key));
	if (!ok)
		return 0;
	/* Another worker may have taken this step a moment ago. */
	st = db_q(r->db, kinds[k].q_step);
	db_bind_int(r->db, st, ":id", id);
	db_bind_int(r->db, st, ":step", step);
	db_step(r->db, st);
	if (db_changes(r->db) == 1)
		return 1;
	notice_totp_reused(r, k, id, step);
	return 0;
}

int
mfa_recovery_accept(struct request *r, enum sess_kind k, int64_t id, const char *code)
{
	const struct mfa_kind *mk = &kinds[k];
	char	 norm[RC_NORM_LEN];
	unsigned char h[RC_HASH_LEN];
	struct stmt *st;
	int64_t	 hit = 0;

	if (code == NULL || recovery_code_normalise(norm, code) != 0)
		return 0;
	/* Every unused code is hashed, found or not: the same work either way. */
	st = db_q(r->db, mk->q_rc_unused);
	db_bind_int(r->db, st, mk->owner, id);
	while (db_step(r->db, st) == DB_ROW) {
		const void *ch, *salt;
		size_t	 chn, saltn;

		ch = db_blob(st, 1, &chn);
		salt = db_blob(st, 2, &saltn);
		if (chn != RC_HASH_LEN || saltn != RC_SALT_LEN)
			continue;
		if (recovery_code_hash(h, norm, salt) == 0 &&
		    CRYPTO_memcmp(h, ch, RC_HASH_LEN) == 0 && hit == 0)
			hit = db_int(st, 0);
	}
	db_reset(st);
	OPENSSL_cleanse(norm, sizeof(norm));
	OPENSSL_cleanse(h, sizeof(h));
	if (hit == 0)
		return 0;
	st = db_q(r->db, mk->q_rc_use);
	db_bind_int(r->db, st, ":id", hit);
	if (mk->use_owner)
		db_bind_int(r->db, st, mk->owner, id);
	db_step(r->db, st);
	return db_changes(r->db) == 1;
}

void
mfa_codes_replace(struct request *r, enum sess_kind k, int64_t id,
    char codes[RC_COUNT][RC_LEN])
{
	const struct mfa_kind *mk = &kinds[k];
	unsigned char salt[RC_SALT_LEN], h[RC_HASH_LEN];
	struct stmt *st;
	int	 i;

	st = db_q(r->db, mk->q_rc_delete);
	db_bind_int(r->db, st, mk->owner, id);
	db_step(r->db, st);
	recovery_codes_generate(codes);
	for (i = 0; i < RC_COUNT; i++) {
		random_bytes(salt, sizeof(salt));
		if (recovery_code_hash(h, codes[i], salt) != 0)
			req_fail(r, 500, "recovery code hash failed");
		st = db_q(r->db, mk->q_rc_insert);
		db_bind_int(r->db, st, mk->owner, id);
		db_bind_blob(r->db, st, ":hash", h, sizeof(h));
		db_bind_blob(r->db, st, ":salt", salt, sizeof(salt));
		if (db_step(r->db, st) != DB_DONE)
			req_fail(r, 500, "recovery code insert failed");
	}
}

void
mfa_remove(struct request *r, enum sess_kind k, int64_t id)
{
	const struct mfa_kind *mk = &kinds[k];
	struct stmt *st;

	st = db_q(r->db, mk->q_remove);
	db_bind_int(r->db, st, ":id", id);
	db_step(r->db, st);
	st = db_q(r->db, mk->q_rc_delete);
	db_bind_int(r->db, st, mk->owner, id);
	db_step(r->db, st);
}

void
mfa_uri_qr(struct request *r, const char *account, const unsigned char key[TOTP_SECRET_LEN],
    const char **uri, const char **qr)
{
	struct buf u, q;

	buf_init(&u);
	buf_init(&q);
	totp_uri(&u, r->app->conf.site_name, account, key, TOTP_SECRET_LEN);
	if (qr_svg_data_uri(&q, u.p) != 0) {
		OPENSSL_cleanse(u.p, u.len);
		buf_free(&u);
		buf_free(&q);
		req_fail(r, 500, "the otpauth URI does not fit in a QR code");
	}
	*uri = arena_strdup(r->a, u.p);
	*qr = arena_strdup(r->a, q.p);
	OPENSSL_cleanse(u.p, u.len);
	buf_free(&u);
	buf_free(&q);
}
