/*
 * svc.c: the customer's proxies, shared by the pages, the API and the
 * subscription URL (svc.h).
 */
#include "config.h"

#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "db.h"
#include "http.h"
#include "response.h"
#include "seal.h"
#include "session.h"
#include "svc.h"
#include "util.h"

static const char *
dup(struct request *r, struct stmt *st, int col)
{
	return arena_strdup(r->a, db_text(r->db, st, col));
}

/*
 * Columns (sql.c, Q_SVC_LIST, Q_SVC_GET, Q_SVC_SUB): 0 id, 1 order item,
 * 2 state, 3 expires_at, 4 limit, 5 up, 6 down, 7 online, 8 synced,
 * 9 auto_renew, 10 cred_gen, 11 email, 12 uuid, 13 flow, 14 sub_id,
 * 15 panel_json, 16 protocol, 17 port, 18 remark, 19 inbound settings,
 * 20 public host, 21 panel version, 22 country, 23 city, 24 plan,
 * 25 order public id, 26 regenerating, 27 server name.
 */
void
svc_read(struct request *r, struct stmt *st, struct svc *s)
{
	struct json_object *set, *stream, *pj, *v;
	const char *settings;

	memset(s, 0, sizeof(*s));
	s->id = db_int(st, 0);
	s->order_item_id = db_int(st, 1);
	s->state = dup(r, st, 2);
	s->expires_at = db_is_null(st, 3) ? 0 : db_int(st, 3);
	s->limit = db_int(st, 4);
	s->up = db_int(st, 5);
	s->down = db_int(st, 6);
	s->online = db_int(st, 7) != 0;
	s->synced_at = db_is_null(st, 8) ? 0 : db_int(st, 8);
	s->auto_renew = db_int(st, 9) != 0;
	s->cred_gen = db_int(st, 10);
	s->country = dup(r, st, 22);
	s->city = dup(r, st, 23);
	s->plan = dup(r, st, 24);
	s->order = dup(r, st, 25);
	s->regenerating = db_int(st, 26) != 0;
	s->server = dup(r, st, 27);

	s->in.gen = link_gen_of(db_text(r->db, st, 21));
	s->in.host = dup(r, st, 20);
	s->in.protocol = dup(r, st, 16);
	s->in.port = (int)db_int(st, 17);
	s->in.listen = "";
	s->in.remark = dup(r, st, 18);
	s->in.id = dup(r, st, 12);
	s->in.email = dup(r, st, 11);
	s->in.flow = dup(r, st, 13);
	s->in.sub_id = dup(r, st, 14);
	s->in.security = "";
	/*
	 * server_inbounds.settings_json is {"stream": streamSettings, and
	 * what the links need of settings} (job_server_sync.c): the stream
	 * goes to link_build as such, the rest as the settings.
	 */
	settings = db_text(r->db, st, 19);
	s->in.stream_json = "{}";
	s->in.settings_json = arena_strdup(r->a, settings);
	if ((set = json_tokener_parse(settings)) != NULL) {
		if (json_object_is_type(set, json_type_object) &&
		    json_object_object_get_ex(set, "stream", &stream) &&
		    json_object_is_type(stream, json_type_object))
			s->in.stream_json = arena_strdup(r->a,
			    json_object_to_json_string_ext(stream, JSON_C_TO_STRING_PLAIN));
		json_object_put(set);
	}
	/* vmess: the client's own security (scy) as the panel holds it. */
	if ((pj = json_tokener_parse(db_text(r->db, st, 15))) != NULL) {
		if (json_object_is_type(pj, json_type_object) &&
		    json_object_object_get_ex(pj, "security", &v) &&
		    json_object_is_type(v, json_type_string))
			s->in.security = arena_strdup(r->a, json_object_get_string(v));
		json_object_put(pj);
	}
}

const char *
svc_link(struct request *r, const struct svc *s, const char **why)
{
	struct buf	 b;
	const char	*out = NULL;

	buf_init(&b);
	if (link_build(&b, &s->in, why) == 0)
		out = arena_strdup(r->a, b.p);
	buf_free(&b);
	return out;
}

const char *
svc_when(struct request *r, int64_t t)
{
	char	 s[32];

	if (t <= 0)
		return "never";
	time_human(s, t);
	return arena_strdup(r->a, s);
}

const char *
svc_bytes(struct request *r, int64_t n)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double	 v = (double)n;
	int	 u = 0;

	if (n < 1024)
		return arena_printf(r->a, "%lld B", (long long)n);
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	return arena_printf(r->a, "%.1f %s", v, unit[u]);
}

int
svc_token_derive(const unsigned char key[32], int64_t customer, int64_t gen,
    char out[SVC_TOKEN_LEN + 1])
{
	static const char b64url[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char	 sub[SEAL_KEY_LEN], mac[32];
	unsigned int	 n = 0;
	char		 msg[64];
	size_t		 i, o = 0;
	unsigned	 acc = 0, bits = 0;

	/* Under the identity key: a subscription link survives a key
	 * rotation (seal.h, seal_ident_key). */
	if (seal_subkey(sub, seal_ident_key(key), SVC_SUB_LABEL) != 0)
		return -1;
	snprintf(msg, sizeof(msg), "sub:%lld:%lld", (long long)customer, (long long)gen);
	if (HMAC(EVP_sha256(), sub, sizeof(sub), (const unsigned char *)msg, strlen(msg), mac, &n) == NULL) {
		OPENSSL_cleanse(sub, sizeof(sub));
		return -1;
	}
	OPENSSL_cleanse(sub, sizeof(sub));
	for (i = 0; i < sizeof(mac); i++) {
		acc = (acc << 8 | mac[i]) & 0xffff;
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = b64url[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		out[o++] = b64url[(acc << (6 - bits)) & 63];
	out[o] = '\0';
	return 0;
}

const char *
svc_sub_url(struct request *r, int64_t cust)
{
	struct stmt	*st;
	int64_t		 gen = -1;
	unsigned char	 h[32];
	char		 tok[SVC_TOKEN_LEN + 1];
	const char	*base;
	size_t		 n;

	st = db_q(r->db, Q_SVC_SUB_GEN);
	db_bind_int(r->db, st, ":customer", cust);
	if (db_step(r->db, st) == DB_ROW)
		gen = db_int(st, 0);
	db_reset(st);
	if (gen < 0) {
		/* gen 0's token is the same whoever writes the row first. */
		gen = 0;
		if (svc_token_derive(r->app->key, cust, gen, tok) != 0)
			req_fail(r, 500, "The subscription token could not be made.");
		token_hash(tok, h);
		db_begin(r->db);
		st = db_q(r->db, Q_SVC_SUB_CREATE);
		db_bind_int(r->db, st, ":customer", cust);
		db_bind_blob(r->db, st, ":hash", h, sizeof(h));
		db_step(r->db, st);
		db_reset(st);
		db_commit(r->db);
		st = db_q(r->db, Q_SVC_SUB_GEN);
		db_bind_int(r->db, st, ":customer", cust);
		gen = db_one_int(r->db, st, 0);
	}
	if (svc_token_derive(r->app->key, cust, gen, tok) != 0)
		req_fail(r, 500, "The subscription token could not be made.");
	base = r->app->conf.base_url;
	n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	return arena_printf(r->a, "%.*s/sub/%s", (int)n, base, tok);
}
