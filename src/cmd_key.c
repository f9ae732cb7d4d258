/*
 * cmd_key.c: `1000proxy key init|rotate|reseal|status`, the life of the
 * key file that seals secrets at rest (key_file).
 *
 * init makes it, once.  The package's postinst runs it as the service
 * user (runuser -u 1000proxy -- 1000proxy key init), so the key belongs
 * to the service and nobody else can read it; `migrate` and `serve`
 * make it too on their first start when it is missing.
 *
 * rotate puts a new key in its place while the service runs: the old
 * one stays beside it as KEY.old-ID (seal.c), every sealed column is
 * re-sealed under the new key in short transactions, and the workers
 * and runners pick the new key file up at their next request or job
 * (seal_key_refresh).  reseal does only the second half (after an
 * interrupted rotate).  status says which keys exist, what each still
 * protects, and so when a retired key may be deleted (1000proxy(8),
 * KEY MANAGEMENT).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cmd.h"
#include "conf.h"
#include "db.h"
#include "seal.h"
#include "sql.h"
#include "util.h"

/* Every sealed column, as Q_KEY_SEALED_ALL names it, with its
 * associated data (the row identity its writer seals it with: mfa.c,
 * admin_servers.c and xui_job.c, gateway.c). */
static const struct sealed_kind {
	const char	*kind;
	const char	*what;		/* for the summary */
	const char	*pre, *post;	/* aad: pre, the row id or name, post */
	int		 by_name;
	enum q		 q;
} kinds[] = {
	{ "customer", "customer TOTP seeds", "customer:", ":totp", 0, Q_KEY_RESEAL_CUSTOMER },
	{ "staff", "staff TOTP seeds", "staff:", ":totp", 0, Q_KEY_RESEAL_STAFF },
	{ "panel_password", "panel passwords", "server:", ":panel_password", 0,
	    Q_KEY_RESEAL_PANEL_PASSWORD },
	{ "panel_token", "panel tokens", "server:", ":panel_token", 0, Q_KEY_RESEAL_PANEL_TOKEN },
	{ "gateway_secret", "gateway secrets", "gateway_secret:", "", 1, Q_KEY_RESEAL_GATEWAY },
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

struct sealed {
	size_t		 kind;
	int64_t		 id;
	char		*name;
	unsigned char	*blob;
	size_t		 n;
	char		 kid[SEAL_KID_LEN + 1];	/* "" before the key ids */
};

struct sealed_list {
	struct sealed	*v;
	size_t		 n;
};

/* Read every sealed value (malloc'ed copies; sealed_free).  Reading
 * first and writing after keeps each write transaction short. */
static void
sealed_read(struct db *db, struct sealed_list *l)
{
	struct stmt	*st = db_q(db, Q_KEY_SEALED_ALL);
	const char	*kind;
	const void	*b;
	size_t		 k, cap = 0;

	memset(l, 0, sizeof(*l));
	while (db_step(db, st) == DB_ROW) {
		kind = db_text(db, st, 0);
		for (k = 0; k < NKINDS && strcmp(kinds[k].kind, kind) != 0; k++)
			continue;
		if (k == NKINDS)
			continue;
		if (l->n == cap) {
			cap = cap ? 2 * cap : 64;
			l->v = xrealloc(l->v, cap * sizeof(*l->v));
		}
		l->v[l->n].kind = k;
		l->v[l->n].id = db_int(st, 1);
		l->v[l->n].name = xstrdup(db_text(db, st, 2));
		b = db_blob(st, 3, &l->v[l->n].n);
		l->v[l->n].blob = xmalloc(l->v[l->n].n + 1);
		if (l->v[l->n].n > 0)
			memcpy(l->v[l->n].blob, b, l->v[l->n].n);
		if (seal_blob_key_id(l->v[l->n].blob, l->v[l->n].n, l->v[l->n].kid) != 0)
			l->v[l->n].kid[0] = '\0';
		l->n++;
	}
	db_reset(st);
}

static void
sealed_free(struct sealed_list *l)
{
	size_t	 i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].blob);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static void
sealed_aad(const struct sealed *s, char *out, size_t n)
{
	const struct sealed_kind *k = &kinds[s->kind];

	if (k->by_name)
		snprintf(out, n, "%s%s%s", k->pre, s->name, k->post);
	else
		snprintf(out, n, "%s%" PRId64 "%s", k->pre, s->id, k->post);
}

/*
 * Re-seal every value not yet under key (the current key) in
 * transactions of a few rows, so the service's writes wait
 * milliseconds at most.  Prints what it did; 0, or 1 when a value could
 * not be opened with any key in the ring.
 */
static int
reseal(struct db *db, const unsigned char key[SEAL_KEY_LEN], const char *cur)
{
	struct sealed_list l;
	struct stmt	*st;
	unsigned char	*pt, *nb;
	char		 aad[160];
	size_t		 i, len, nl, done[NKINDS] = { 0 }, already = 0, moved = 0, bad = 0, total = 0;
	int		 in_tx = 0;

	sealed_read(db, &l);
	for (i = 0; i < l.n; i++) {
		struct sealed *s = &l.v[i];

		if (strcmp(s->kid, cur) == 0) {
			already++;
			continue;
		}
		sealed_aad(s, aad, sizeof(aad));
		pt = xmalloc(s->n + 1);
		nb = xmalloc(s->n + SEAL_OVERHEAD);
		if (unseal(pt, s->n, &len, key, s->blob, s->n, aad) != 0) {
			fprintf(stderr, "1000proxy: key: a %s (%s) opens under no key in the "
			    "keyring; left as it is\n", kinds[s->kind].kind, aad);
			bad++;
		} else if (seal(nb, s->n + SEAL_OVERHEAD, &nl, key, pt, len, aad) != 0) {
			fprintf(stderr, "1000proxy: key: cannot seal %s\n", aad);
			bad++;
		} else {
			if (!in_tx) {
				db_begin(db);
				in_tx = 1;
			}
			st = db_q(db, kinds[s->kind].q);
			db_bind_blob(db, st, ":new", nb, nl);
			db_bind_blob(db, st, ":old", s->blob, s->n);
			if (kinds[s->kind].by_name)
				db_bind_text(db, st, ":name", s->name);
			else
				db_bind_int(db, st, ":id", s->id);
			db_step(db, st);
			if (db_changes(db) == 1) {
				done[s->kind]++;
				total++;
			} else
				moved++;	/* rewritten meanwhile, by a worker with the new key */
			/* A few rows per transaction: short locks. */
			if (total % 32 == 0) {
				db_commit(db);
				in_tx = 0;
			}
		}
		OPENSSL_cleanse(pt, s->n + 1);
		free(pt);
		free(nb);
	}
	if (in_tx)
		db_commit(db);
	printf("re-sealed %zu value%s under key %s:", total, total == 1 ? "" : "s", cur);
	for (i = 0; i < NKINDS; i++)
		printf("%s %s %zu", i ? "," : "", kinds[i].what, done[i]);
	printf("\n%zu already under it, %zu rewritten meanwhile by the service, %zu not opened\n",
	    already, moved, bad);
	/* A request in flight when the key changed may have sealed under
	 * the old key: the next pass finds it. */
	if (moved > 0)
		printf("run `1000proxy key reseal` again for the values rewritten meanwhile\n");
	sealed_free(&l);
	return bad > 0;
}

/* Print the password hashes by key; returns how many are under key id
 * (NULL: under any retired key or none, i.e. not under cur). */
static int64_t
hashes(struct db *db, const char *cur, const char *id, int print)
{
	struct stmt	*st = db_q(db, Q_KEY_HASH_KEYS);
	const char	*k;
	int64_t		 n, sum = 0;

	while (db_step(db, st) == DB_ROW) {
		k = db_text(db, st, 0);
		n = db_int(st, 1);
		if (print)
			printf("password hashes %s: %" PRId64 "%s\n", *k ? k : "before the pepper", n,
			    strcmp(k, cur) == 0 ? " (current key)" : " (re-made at each one's next sign-in)");
		if (id != NULL ? strcmp(k, id) == 0 : strcmp(k, cur) != 0)
			sum += n;
	}
	db_reset(st);
	return sum;
}

static int
key_status(struct db *db, const struct conf *c)
{
	struct sealed_list l;
	char		 cur[SEAL_KID_LEN + 1], id[SEAL_KID_LEN + 1];
	size_t		 i, j, nret, cnt, none = 0;
	int64_t		 h, mails;
	struct stmt	*st;

	seal_keyring_current(cur);
	printf("key file %s: key %s (current)\n", c->key_file, cur);
	if (seal_ident_key(seal_keyring_current(NULL)) != seal_keyring_current(NULL))
		printf("identity key %s.ident: subscription links and panel client credentials; "
		    "never delete it\n", c->key_file);
	sealed_read(db, &l);
	for (i = 0; i < l.n; i++)
		none += l.v[i].kid[0] == '\0';
	for (cnt = 0, i = 0; i < l.n; i++)
		cnt += strcmp(l.v[i].kid, cur) == 0;
	printf("sealed values under the current key: %zu; from before the key ids: %zu\n", cnt, none);
	st = db_q(db, Q_KEY_MAIL_SEALED);
	mails = db_step(db, st) == DB_ROW ? db_int(st, 0) : 0;
	db_reset(st);
	if (mails > 0)
		printf("unsent mail with sealed links: %" PRId64 " (keep every key until it is sent or "
		    "discarded)\n", mails);
	nret = seal_keyring_retired(0, id);
	for (j = 0; j < nret; j++) {
		seal_keyring_retired(j, id);
		for (cnt = 0, i = 0; i < l.n; i++)
			cnt += strcmp(l.v[i].kid, id) == 0;
		h = hashes(db, cur, id, 0);
		printf("retired key %s (%s.old-%s): %zu sealed value%s, %" PRId64 " password hash%s: %s\n",
		    id, c->key_file, id, cnt, cnt == 1 ? "" : "s", h, h == 1 ? "" : "es",
		    cnt == 0 && h == 0 && none == 0 && mails == 0 ? "may be deleted" : "keep it");
	}
	hashes(db, cur, NULL, 1);
	sealed_free(&l);
	return 0;
}

int
cmd_key(const struct conf *c, int argc, char **argv)
{
	unsigned char	 key[SEAL_KEY_LEN];
	char		 err[1024], old[SEAL_KID_LEN + 1], cur[SEAL_KID_LEN + 1];
	const char	*verb = argc == 2 ? argv[1] : "";
	struct arena	*a;
	struct db	*db;
	int		 rc = 0;
	int64_t		 left;

	if (strcmp(verb, "init") == 0) {
		/* Never over an existing key: what it sealed would be lost. */
		if (seal_key_init(c->key_file, err, sizeof(err)) != 0) {
			fprintf(stderr, "1000proxy: key init: %s\n", err);
			return 1;
		}
		printf("created the key file %s (mode 0600)\n", c->key_file);
		return 0;
	}
	if (strcmp(verb, "rotate") != 0 && strcmp(verb, "reseal") != 0 &&
	    strcmp(verb, "status") != 0) {
		fprintf(stderr, "usage: 1000proxy key init|rotate|reseal|status\n");
		return 2;
	}
	if (seal_key_load(c->key_file, key, 0, err, sizeof(err)) != 0) {
		fprintf(stderr, "1000proxy: key %s: %s\n", verb, err);
		return 1;
	}
	seal_keyring_current(old);
	if ((db = db_open_ready(c->database, c->cache_size_kb, err, sizeof(err))) == NULL) {
		OPENSSL_cleanse(key, sizeof(key));
		fprintf(stderr, "1000proxy: %s\n", err);
		return 1;
	}
	db_set_arena(db, a = arena_new(4096));
	if (strcmp(verb, "status") == 0) {
		rc = key_status(db, c);
		goto done;
	}
	if (strcmp(verb, "rotate") == 0) {
		if (seal_key_rotate(c->key_file, err, sizeof(err)) != 0 ||
		    seal_key_load(c->key_file, key, 0, err, sizeof(err)) != 0) {
			fprintf(stderr, "1000proxy: key rotate: %s\n", err);
			rc = 1;
			goto done;
		}
		seal_keyring_current(cur);
		printf("new key %s in %s; key %s retired as %s.old-%s\n", cur, c->key_file, old,
		    c->key_file, old);
	} else
		memcpy(cur, old, sizeof(cur));
	rc = reseal(db, key, cur);
	left = hashes(db, cur, NULL, 0);
	printf("%" PRId64 " password hash%s not under key %s: each is re-made at its owner's "
	    "next sign-in (`1000proxy key status`)\n", left, left == 1 ? "" : "es", cur);
done:
	OPENSSL_cleanse(key, sizeof(key));
	db_close(db);
	arena_free(a);
	return rc;
}

/*
 * backup16 (`restore`): does key open what db holds?  One unseal per
 * sealed column (the first value of each kind; all values of a kind
 * are sealed by the same writer under the same key file), each failing
 * column named on stderr.  Returns how many columns failed.
 */
int
key_check_sealed(struct db *db, const unsigned char *key)
{
	struct sealed_list l;
	unsigned char	 pt[4096];
	char		 aad[256];
	int		 tried[NKINDS] = { 0 }, bad = 0;
	size_t		 i, len;

	sealed_read(db, &l);
	for (i = 0; i < l.n; i++) {
		const struct sealed *s = &l.v[i];

		if (tried[s->kind])
			continue;
		tried[s->kind] = 1;
		sealed_aad(s, aad, sizeof(aad));
		if (s->n > sizeof(pt) || unseal(pt, sizeof(pt), &len, key, s->blob, s->n, aad) != 0) {
			fprintf(stderr, "1000proxy: restore: the key file does not open the %s (%s)\n",
			    kinds[s->kind].what, aad);
			bad++;
		} else
			printf("key file opens the %s\n", kinds[s->kind].what);
		OPENSSL_cleanse(pt, sizeof(pt));
	}
	sealed_free(&l);
	return bad;
}
