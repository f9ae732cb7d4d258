/*
 * page_sub.c: the subscription URL, GET /sub/{token} (anyone holding the
 * URL: it is the credential, like a password-reset link).
 *
 * The body is every active client of the token's customer across all
 * panels (suspended, expired, deleted and pending ones left out), in the
 * format ?format= names (base64, clash, singbox, v2ray) or, without it,
 * the one the User-Agent suggests (sub.c), with the headers client apps
 * read: Subscription-Userinfo (upload, download, total, expire),
 * Profile-Update-Interval (sub_update_hours), Profile-Title (the shop's
 * name, "base64:" form) and Content-Disposition.
 *
 * Order of work, each step for a reason:
 *  1. The token is looked up by its SHA-256 (svc.h) and the request is
 *     counted (throttle_hit) per token and client address, or, for a
 *     token nobody holds, per client address, in one short write
 *     transaction: both floods and guessing meet sub_rate_limit a
 *     minute (429 with Retry-After).  An unknown token is a plain 404
 *     with a body that says nothing.
 *  2. Then the per-worker cache (sub_cache_seconds): keyed by the token's
 *     hash, its generation and the format, so a "new subscription URL"
 *     stops the old token at step 1 whatever is cached, and the cache
 *     only spares the joins and the link building of a client app that
 *     polls.  This is a second deliberate per-worker survivor besides
 *     cache.c: bounded (SUB_CACHE entries, SUB_CACHE_MAX bytes each),
 *     holding nothing but what this route would build again.
 *  3. Otherwise the clients are read and the body built (sub.c).
 *
 * The token never reaches the request log: log.c masks /sub/ paths.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "db.h"
#include "handlers.h"
#include "http.h"
#include "log.h"
#include "response.h"
#include "session.h"
#include "setting.h"
#include "sub.h"
#include "svc.h"
#include "throttle.h"
#include "util.h"

#define SUB_CACHE	8
#define SUB_CACHE_MAX	(64 * 1024)	/* 8 x 64 KiB at most: the worker stays in its 8 MB */
#define SUB_WINDOW	60

struct sub_entry {
	unsigned char	 hash[32];
	int		 format;
	int64_t		 gen;
	double		 until;		/* now_mono() deadline; 0: free */
	char		*body;
	size_t		 len;
	char		*userinfo, *title;
};

/* Per worker, see step 2 above. */
static struct sub_entry sub_cache[SUB_CACHE];

static void
entry_clear(struct sub_entry *e)
{
	free(e->body);
	free(e->userinfo);
	free(e->title);
	memset(e, 0, sizeof(*e));
}

static struct sub_entry *
cache_find(const unsigned char h[32], int format, int64_t gen)
{
	double	 now = now_mono();
	size_t	 i;

	for (i = 0; i < SUB_CACHE; i++) {
		struct sub_entry *e = &sub_cache[i];

		if (e->until == 0)
			continue;
		if (e->until <= now) {
			entry_clear(e);
			continue;
		}
		if (e->format == format && e->gen == gen && memcmp(e->hash, h, 32) == 0)
			return e;
	}
	return NULL;
}

static void
cache_put(int64_t seconds, const unsigned char h[32], int format, int64_t gen,
    const struct buf *body, const char *userinfo, const char *title)
{
	struct sub_entry *e = &sub_cache[0];
	size_t	 i;

	if (seconds <= 0 || body->len > SUB_CACHE_MAX)
		return;
	/* A free slot, else the one closest to its end. */
	for (i = 0; i < SUB_CACHE; i++) {
		if (sub_cache[i].until == 0) {
			e = &sub_cache[i];
			break;
		}
		if (sub_cache[i].until < e->until)
			e = &sub_cache[i];
	}
	entry_clear(e);
	memcpy(e->hash, h, 32);
	e->format = format;
	e->gen = gen;
	e->body = xmalloc(body->len + 1);
	memcpy(e->body, body->p ? body->p : "", body->len);
	e->body[body->len] = '\0';
	e->len = body->len;
	e->userinfo = xstrdup(userinfo);
	e->title = xstrdup(title);
	e->until = now_mono() + (double)seconds;
}

/* A bare answer: no shop page, nothing that tells a prober anything. */
static void
plain(struct request *r, int status, const char *text)
{
	r->status = status;
	r->resp_ctype = "text/plain; charset=utf-8";
	resp_header(r, "Cache-Control", "no-store");
	buf_reset(r->out);
	buf_puts(r->out, text);
}

static const char *
b64(struct request *r, const char *s)
{
	size_t	 n = strlen(s);
	unsigned char *out = arena_alloc(r->a, 4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock(out, (const unsigned char *)s, (int)n);
	return (const char *)out;
}

static void
sub_send(struct request *r, int format, const char *body, size_t len, const char *userinfo,
    const char *title)
{
	r->status = 200;
	r->resp_ctype = sub_content_type(format);
	resp_header(r, "Subscription-Userinfo", userinfo);
	resp_header(r, "Profile-Update-Interval",
	    arena_printf(r->a, "%lld", (long long)r->app->conf.sub_update_hours));
	resp_header(r, "Profile-Title", title);
	resp_header(r, "Content-Disposition",
	    arena_printf(r->a, "attachment; filename=\"%s\"", sub_file_name(format)));
	resp_header(r, "Cache-Control", "no-store");
	buf_reset(r->out);
	buf_add(r->out, body, len);
}

/*
 * GET /sub/{token} — ?format=base64|clash|singbox|v2ray.  200 with the
 * body and headers above; 400 (plain) for an unknown format; 404
 * (plain, empty of hints) for a token nobody holds; 429 (plain, with
 * Retry-After) past sub_rate_limit.
 */
void
page_sub(struct request *r)
{
	const char	*tok = req_param(r, "token"), *fmt = req_query(r, "format"), *userinfo, *title;
	const char	*ip = r->remote_addr ? r->remote_addr : "-";
	int64_t		 cust = 0, gen = 0, hits, now = now_unix(), limit = r->app->conf.sub_rate_limit;
	unsigned char	 h[32];
	char		 hex[17];
	struct stmt	*st;
	struct sub_entry *e;
	struct svc	*cs;
	struct link_in	*in;
	struct buf	 body;
	size_t		 n = 0, cap = 16, skipped, i;
	int		 format, found;

	token_hash(tok, h);
	db_begin(r->db);
	st = db_q(r->db, Q_SVC_SUB_LOOKUP);
	db_bind_blob(r->db, st, ":hash", h, sizeof(h));
	if ((found = db_step(r->db, st) == DB_ROW)) {
		cust = db_int(st, 0);
		gen = db_int(st, 1);
	}
	db_reset(st);
	hex_encode(hex, h, 8);
	hits = throttle_hit(r, found ? arena_printf(r->a, "sub:%s:%.64s", hex, ip) :
	    arena_printf(r->a, "sub?:%.64s", ip), SUB_WINDOW);
	if (found && hits <= limit) {
		st = db_q(r->db, Q_SVC_SUB_USED);
		db_bind_int(r->db, st, ":customer", cust);
		db_bind_int(r->db, st, ":now", now);
		db_step(r->db, st);
		db_reset(st);
	}
	db_commit(r->db);
	if (hits > limit) {
		plain(r, 429, "Too many requests.\n");
		resp_header(r, "Retry-After", arena_printf(r->a, "%lld",
		    (long long)(SUB_WINDOW - now % SUB_WINDOW)));
		return;
	}
	if (!found) {
		plain(r, 404, "Not found.\n");
		return;
	}
	if ((format = sub_format_of(fmt, r->user_agent)) < 0) {
		plain(r, 400, "format must be base64, clash, singbox or v2ray.\n");
		return;
	}
	if ((e = cache_find(h, format, gen)) != NULL) {
		r->cache = "hit";
		sub_send(r, format, e->body, e->len, e->userinfo, e->title);
		return;
	}

	cs = arena_zalloc(r->a, sizeof(*cs) * cap);
	in = arena_zalloc(r->a, sizeof(*in) * cap);
	st = db_q(r->db, Q_SVC_SUB);
	db_bind_int(r->db, st, ":customer", cust);
	db_bind_int(r->db, st, ":now", now);
	while (db_step(r->db, st) == DB_ROW) {
		if (n == cap) {
			struct svc *c2 = arena_zalloc(r->a, sizeof(*cs) * cap * 2);
			struct link_in *i2 = arena_zalloc(r->a, sizeof(*in) * cap * 2);

			memcpy(c2, cs, sizeof(*cs) * cap);
			memcpy(i2, in, sizeof(*in) * cap);
			cs = c2;
			in = i2;
			cap *= 2;
		}
		svc_read(r, st, &cs[n]);
		in[n] = cs[n].in;
		n++;
	}
	db_reset(st);
	st = db_q(r->db, Q_SVC_SUB_TOTALS);
	db_bind_int(r->db, st, ":customer", cust);
	db_bind_int(r->db, st, ":now", now);
	if (db_step(r->db, st) != DB_ROW)
		db_fail(r->db, "subscription totals of customer %lld", (long long)cust);
	userinfo = arena_printf(r->a, "upload=%lld; download=%lld; total=%lld; expire=%lld",
	    (long long)db_int(st, 0), (long long)db_int(st, 1), (long long)db_int(st, 2),
	    (long long)db_int(st, 3));
	db_reset(st);
	title = arena_printf(r->a, "base64:%s", b64(r, shop_name(r->db, r->a, &r->app->conf)));

	buf_init(&body);
	sub_write(&body, format, in, n, &skipped);
	for (i = 0; skipped > 0 && i < n; i++) {
		const char *why = NULL;

		if (svc_link(r, &cs[i], &why) == NULL)
			log_msg(r, "subscription: client %lld left out: %s", (long long)cs[i].id,
			    why ? why : "?");
	}
	cache_put(r->app->conf.sub_cache_seconds, h, format, gen, &body, userinfo, title);
	if (r->app->conf.sub_cache_seconds > 0)
		r->cache = "miss";
	sub_send(r, format, body.p ? body.p : "", body.len, userinfo, title);
	buf_free(&body);
}
