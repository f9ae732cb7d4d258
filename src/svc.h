/*
 * svc.h: the customer's proxies as the pages (page_services.c), the API
 * (api_services.c) and the subscription URL (page_sub.c) read them: one
 * provisioned client with its inbound, panel, plan and order, its share
 * link (links.c), and the customer's subscription token.
 *
 * The token of /sub/{token} is the shop's, not the panel's subId: the
 * HMAC-SHA256, under the key file's "1000proxy subscription v1" subkey
 * (seal.h), of the customer id and subscriptions.gen, in base64url (43
 * characters).  It can be shown again at any time without being stored;
 * only its SHA-256 is stored (subscriptions.token_hash) for the lookup,
 * and bumping gen ("new subscription URL") makes the old one a 404.
 */
#ifndef PX_SVC_H
#define PX_SVC_H

#include <stdint.h>

#include "links.h"

struct request;
struct stmt;

#define SVC_TOKEN_LEN	43	/* base64url of 32 bytes, unpadded */
#define SVC_SUB_LABEL	"1000proxy subscription v1"

struct svc {
	int64_t		 id, order_item_id, expires_at, limit, up, down, synced_at, cred_gen;
	const char	*state, *plan, *order, *country, *city, *server;
	int		 online, auto_renew, regenerating;
	struct link_in	 in;	/* what link_build() needs */
};

/* Read a row of Q_SVC_LIST / Q_SVC_GET / Q_SVC_SUB (their common
 * columns, sql.c) into s; strings are copied into the request's arena. */
void		 svc_read(struct request *, struct stmt *, struct svc *);
/* The client's share link in the arena, or NULL when links.c refuses
 * the inbound (*why then says why, for the log, never for customers). */
const char	*svc_link(struct request *, const struct svc *, const char **why);
/* "2026-12-01 09:58 UTC"-style, "never" for 0, in the arena. */
const char	*svc_when(struct request *, int64_t t);
/* Bytes for people ("1.5 GiB"), in the arena. */
const char	*svc_bytes(struct request *, int64_t n);

/* The token for customer and gen into out (SVC_TOKEN_LEN + 1). 0, or -1
 * when OpenSSL fails. */
int		 svc_token_derive(const unsigned char key[32], int64_t customer, int64_t gen,
		    char out[SVC_TOKEN_LEN + 1]);
/*
 * The customer's subscription URL (base_url + "/sub/" + token), in the
 * arena.  The first call for a customer writes the subscriptions row
 * (gen 0) in its own short transaction: the URL shown is then the one
 * that works.  Call it outside any transaction.  500 on a database
 * error.
 */
const char	*svc_sub_url(struct request *, int64_t customer);

#endif
