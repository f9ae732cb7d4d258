/*
 * cache.c: a per-worker cache of rendered anonymous pages.
 *
 * Why: a catalog page costs a dozen SQLite statements and a template
 * render, while the same bytes from memory cost a fraction of that
 * (DESIGN.md, performance notes).  Public pages change only when the
 * catalog does, so each worker keeps what it rendered until then.
 *
 * This is the one deliberate exception to "nothing from one request
 * survives into the next", so it is fenced in by these rules:
 *
 *  1. Only GET and HEAD, and only anonymous requests: none of the cookies
 *     in bypass_cookies[] below and no Authorization header.  Those
 *     requests are neither answered from the cache nor stored into it,
 *     because their pages carry per-person content (a signed-in name, a
 *     sign-out token; a cart's contents).  The rule for a new cookie: if
 *     its presence changes what a cacheable page shows, add its name to
 *     bypass_cookies[] (one line), as the cart cookie is.  Other cookies (the pre-session CSRF nonce, px_pre; the
 *     referral cookie, px_ref, referral.c) do not change an anonymous
 *     page, and cacheable handlers never set one.
 *  2. Only handlers that call cache_allow(), only routes open to anyone
 *     (WHO_ANY), only status 200, and never a response that sets a
 *     cookie.  Error pages are never cached (they show the request id).
 *  3. The whole cache is dropped when the catalog version moves: a
 *     one-row table that triggers bump on every write to the tables the
 *     cached pages read (plans, servers, categories, brands, settings;
 *     sql/008_catalog_version.sql lists them and says why).  Any other
 *     commit (a session touch, a sign-in, a job update), from this
 *     connection or another, leaves the cache alone.  The version is
 *     read before the handler runs and again before a page is stored: a
 *     page rendered while the catalog changed is not kept, and the next
 *     request misses.  A handler of a cacheable page that starts reading
 *     another table must add that table's triggers in a migration.
 *  4. Bounded: at most CACHE_ENTRIES entries and max_bytes in all, one
 *     entry at most a quarter of that; the least recently used entry
 *     makes room.
 *     Nor a page that carries a form with a CSRF token (csrf_token()
 *     marks the request): the token is one person's, even an anonymous
 *     visitor's pre-session one, whatever the handler asked for.
 *  5. Only the body, its type, the status and the handler's headers are
 *     kept.  The request id, the security headers and the log line are
 *     made per response by the worker.
 *
 * The key is the decoded path and the raw query string, so "?a=1&b=2"
 * and "?b=2&a=1" are two entries; a visitor can only churn the LRU with
 * odd queries, never grow the cache.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cache.h"
#include "db.h"
#include "http.h"
#include "response.h"
#include "route.h"

#define CACHE_ENTRIES	64
#define CACHE_HEADERS	8	/* handler headers kept with an entry */

struct centry {
	uint64_t	 hash;		/* of key; 0: free slot */
	char		*key;
	char		*ctype;
	char		*hk[CACHE_HEADERS];
	char		*hv[CACHE_HEADERS];
	size_t		 nh;
	char		*body;
	size_t		 len;
	size_t		 cost;		/* bytes charged against max_bytes */
	uint64_t	 used;		/* LRU clock */
};

struct cache {
	struct centry	 e[CACHE_ENTRIES];
	size_t		 max_bytes;
	size_t		 bytes;
	uint64_t	 clock;
	/* The catalog version the entries were rendered at; -1: none. */
	int64_t		 version;
	/* The current request: a key to store under, when it may be stored. */
	int		 pending;
	struct buf	 key;
	uint64_t	 hash;
};

struct cache *
cache_new(size_t max_bytes)
{
	struct cache *c = xcalloc(1, sizeof(*c));

	c->max_bytes = max_bytes;
	c->version = -1;
	buf_init(&c->key);
	return c;
}

static void
entry_free(struct cache *c, struct centry *e)
{
	size_t	 i;

	if (e->hash == 0)
		return;
	free(e->key);
	free(e->ctype);
	for (i = 0; i < e->nh; i++) {
		free(e->hk[i]);
		free(e->hv[i]);
	}
	free(e->body);
	c->bytes -= e->cost;
	memset(e, 0, sizeof(*e));
}

static void
cache_clear(struct cache *c)
{
	size_t	 i;

	for (i = 0; i < CACHE_ENTRIES; i++)
		entry_free(c, &c->e[i]);
}

void
cache_free(struct cache *c)
{
	if (c == NULL)
		return;
	cache_clear(c);
	buf_free(&c->key);
	free(c);
}

void
cache_allow(struct request *r)
{
	r->cacheable = 1;
}

/* FNV-1a, never 0 (0 marks a free slot). */
static uint64_t
hash(const char *s, size_t n)
{
	uint64_t h = 14695981039346656037ULL;
	size_t	 i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h ? h : 1;
}

/*
 * Rule 1: the cookies whose presence makes a request bypass the cache,
 * each in both spellings (the __Host- one over TLS, the bare one over
 * plain HTTP in development).
 */
static const char *const bypass_cookies[] = {
	"px_c", "__Host-px_c",		/* customer session */
	"px_s", "__Host-px_s",		/* staff session */
	"px_cart", "__Host-px_cart",	/* a cart (page_cart.c): the header shows its count */
};

/* Rule 1: may this request be answered from, or stored into, the cache? */
static int
anonymous_get(const struct request *r)
{
	size_t	 i;

	if (r->method != M_GET && r->method != M_HEAD)
		return 0;
	if (r->authorization != NULL)
		return 0;
	for (i = 0; i < NELEM(bypass_cookies); i++)
		if (req_cookie(r, bypass_cookies[i]) != NULL)
			return 0;
	return 1;
}

/* Rule 3: the catalog version, or -1 on an error (then nothing is
 * cached).  The statement runs in its own read transaction, so it sees
 * every commit, this connection's and others'.  db_peek_int, not
 * db_one_int: cache_lookup runs before the dispatcher's error path is
 * set up and cache_store after the request's fail handler is gone, so
 * a database error here must not end the worker. */
static int64_t
catalog_version(struct request *r)
{
	return db_peek_int(r->db, Q_CATALOG_VERSION, -1);
}

int
cache_lookup(struct request *r)
{
	struct cache *c = r->app->cache;
	struct centry *e;
	int64_t	 v;
	size_t	 i, j;

	c->pending = 0;
	if (c->max_bytes == 0 || r->path == NULL)
		return 0;
	if (!anonymous_get(r)) {
		if (r->method == M_GET || r->method == M_HEAD)
			r->cache = "bypass";
		return 0;
	}
	v = catalog_version(r);
	if (v < 0 || v != c->version) {
		cache_clear(c);
		c->version = v;
		/* No validator, no caching: render, store nothing. */
		if (v < 0)
			return 0;
	}
	buf_reset(&c->key);
	buf_puts(&c->key, r->path);
	if (r->raw_query != NULL && *r->raw_query != '\0') {
		buf_putc(&c->key, '?');
		buf_puts(&c->key, r->raw_query);
	}
	c->hash = hash(c->key.p, c->key.len);
	c->pending = 1;
	r->cache = "miss";

	for (i = 0; i < CACHE_ENTRIES; i++) {
		e = &c->e[i];
		if (e->hash != c->hash || strcmp(e->key, c->key.p) != 0)
			continue;
		e->used = ++c->clock;
		c->pending = 0;
		r->cache = "hit";
		r->status = 200;
		r->resp_ctype = e->ctype ? arena_strdup(r->a, e->ctype) : NULL;
		for (j = 0; j < e->nh; j++)
			kv_add(r->a, &r->resp_headers, arena_strdup(r->a, e->hk[j]),
			    arena_strdup(r->a, e->hv[j]), strlen(e->hv[j]));
		buf_reset(r->out);
		buf_add(r->out, e->body, e->len);
		return 1;
	}
	return 0;
}

/* Rule 2: may this finished response be kept? */
static int
storable(const struct request *r)
{
	size_t	 i;

	if (!r->cacheable || r->has_csrf || r->status != 200 || r->route == NULL ||
	    r->route->who != WHO_ANY || r->resp_headers.n > CACHE_HEADERS)
		return 0;
	for (i = 0; i < r->resp_headers.n; i++)
		if (strcasecmp(r->resp_headers.v[i].key, "Set-Cookie") == 0)
			return 0;
	return 1;
}

void
cache_store(struct request *r)
{
	struct cache *c = r->app->cache;
	struct centry *e, *victim;
	size_t	 cost, i;

	if (!c->pending)
		return;
	c->pending = 0;
	if (!storable(r))
		return;
	/* The catalog changed while the page was rendered (here or in
	 * another process): the page may mix both; keep nothing. */
	if (catalog_version(r) != c->version)
		return;
	cost = sizeof(*e) + c->key.len + 1 + r->out->len +
	    (r->resp_ctype ? strlen(r->resp_ctype) + 1 : 0);
	for (i = 0; i < r->resp_headers.n; i++)
		cost += strlen(r->resp_headers.v[i].key) + strlen(r->resp_headers.v[i].val) + 2;
	if (cost > c->max_bytes / 4)
		return;
	/* Rule 4: evict the least recently used until there is room and a slot. */
	for (;;) {
		victim = NULL;
		for (i = 0; i < CACHE_ENTRIES; i++) {
			e = &c->e[i];
			if (e->hash == 0) {
				if (c->bytes + cost <= c->max_bytes)
					goto found;
				continue;
			}
			if (victim == NULL || e->used < victim->used)
				victim = e;
		}
		if (victim == NULL)
			return;		/* cannot happen: cost <= max_bytes / 4 */
		entry_free(c, victim);
	}
found:
	e->hash = c->hash;
	e->key = xstrdup(c->key.p);
	e->ctype = r->resp_ctype ? xstrdup(r->resp_ctype) : NULL;
	e->nh = r->resp_headers.n;
	for (i = 0; i < e->nh; i++) {
		e->hk[i] = xstrdup(r->resp_headers.v[i].key);
		e->hv[i] = xstrdup(r->resp_headers.v[i].val);
	}
	e->body = xmalloc(r->out->len + 1);
	memcpy(e->body, r->out->p ? r->out->p : "", r->out->len);
	e->body[r->out->len] = '\0';
	e->len = r->out->len;
	e->cost = cost;
	e->used = ++c->clock;
	c->bytes += cost;
}
