/*
 * mail_seal.c: no live link in clear in an email job's payload (ASVS
 * V8.1.2).
 *
 * A verification, reset, change-of-address or staff invitation mail
 * carries a link whose last segment is a credential (the paths
 * log.c's log_secret_prefix() names).  The jobs table is read by staff
 * pages, copied by backups and kept for days, so the payload never
 * holds that link as it is.  At enqueue the link is sealed (seal.c,
 * under the key file's key, with "mail:IDEMPOTENCY-KEY:VAR" as the
 * associated data, so a sealed link copied into another job does not
 * open) into the payload's "sealed" object, and the var itself keeps
 * only the masked form ("https://shop/verify/AbCd...").  The work daemon,
 * which holds the key, opens it when it renders the message; /admin/mail
 * renders without the key and so shows the masked link.  Once the
 * message is sent or discarded, mail_scrub's statement removes the
 * sealed copy: the payload then holds nothing that opens an account,
 * even for whoever has the key file too.
 *
 *   payload = {"to", "template", "vars": {..., "link": MASKED},
 *              "sealed": {"link": HEX(seal(LINK))}}       (queued)
 *           = {"to", "template", "vars": {..., "link": MASKED},
 *              "scrubbed": true}                          (sent, discarded)
 */
#include "config.h"

#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "log.h"
#include "mail_seal.h"
#include "seal.h"
#include "util.h"
#include "view.h"

/* The path of link s (what follows the host of "scheme://host"), or s. */
static const char *
link_path(const char *s)
{
	const char *p = strstr(s, "://");

	if (p == NULL)
		return s;
	p = strchr(p + 3, '/');
	return p != NULL ? p : "";
}

int
mail_link_secret(const char *s)
{
	return s != NULL && log_secret_prefix(link_path(s)) > 0;
}

const char *
mail_link_masked(struct arena *a, const char *s)
{
	const char *path = link_path(s);
	char	 lp[LOG_PATH_MAX];

	return arena_printf(a, "%.*s%s", (int)(path - s), s, log_path(path, lp, sizeof(lp)));
}

static const char *
aad_of(struct arena *a, const char *idem, const char *name)
{
	return arena_printf(a, "mail:%s:%s", idem, name);
}

int
mail_seal_links(struct arena *a, struct json_object *payload, const unsigned char *key,
    const char *idem, char *err, size_t errlen)
{
	struct json_object *vars, *sealed = NULL;
	struct json_object_iterator it, end;
	const char *name, *v;
	unsigned char *blob;
	char	*hex;
	size_t	 n, len;

	if (!json_object_object_get_ex(payload, "vars", &vars) || !json_object_is_type(vars, json_type_object))
		return 0;
	it = json_object_iter_begin(vars);
	end = json_object_iter_end(vars);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		name = json_object_iter_peek_name(&it);
		if (!json_object_is_type(json_object_iter_peek_value(&it), json_type_string))
			continue;
		v = json_object_get_string(json_object_iter_peek_value(&it));
		if (!mail_link_secret(v))
			continue;
		if (key == NULL) {
			snprintf(err, errlen, "var %s holds a secret link and no key seals it", name);
			return -1;
		}
		len = strlen(v);
		blob = arena_alloc(a, SEAL_LEN(len));
		if (seal(blob, SEAL_LEN(len), &n, key, v, len, aad_of(a, idem, name)) != 0) {
			snprintf(err, errlen, "sealing var %s failed", name);
			return -1;
		}
		hex = arena_alloc(a, 2 * n + 1);
		hex_encode(hex, blob, n);
		if (sealed == NULL) {
			sealed = json_object_new_object();
			json_object_object_add(payload, "sealed", sealed);
		}
		json_object_object_add(sealed, name, json_object_new_string(hex));
		/* Replacing the value keeps the iterator valid (same key). */
		json_object_object_add(vars, name, json_object_new_string(mail_link_masked(a, v)));
	}
	return 0;
}

static int
unhex(unsigned char *out, const char *s, size_t n)
{
	size_t	 i;
	int	 hi, lo;

	for (i = 0; i < n; i++) {
		hi = s[2 * i];
		lo = s[2 * i + 1];
		hi = hi >= '0' && hi <= '9' ? hi - '0' : hi >= 'a' && hi <= 'f' ? hi - 'a' + 10 : -1;
		lo = lo >= '0' && lo <= '9' ? lo - '0' : lo >= 'a' && lo <= 'f' ? lo - 'a' + 10 : -1;
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int
mail_unseal_links(struct arena *a, struct json_object *payload, const unsigned char *key,
    const char *idem, struct vm *vm, char *err, size_t errlen)
{
	struct json_object *sealed, *scrubbed;
	struct json_object_iterator it, end;
	const char *name, *hex;
	unsigned char *blob, *pt;
	size_t	 hl, n, len;

	if (key == NULL)
		return 0;
	if (json_object_object_get_ex(payload, "scrubbed", &scrubbed) && json_object_get_boolean(scrubbed)) {
		snprintf(err, errlen, "the message's link was scrubbed when it was sent or discarded; "
		    "it cannot be sent again (a new link must be asked for)");
		return -1;
	}
	if (!json_object_object_get_ex(payload, "sealed", &sealed))
		return 0;
	if (!json_object_is_type(sealed, json_type_object)) {
		snprintf(err, errlen, "payload's \"sealed\" is not an object");
		return -1;
	}
	it = json_object_iter_begin(sealed);
	end = json_object_iter_end(sealed);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		name = json_object_iter_peek_name(&it);
		hex = json_object_get_string(json_object_iter_peek_value(&it));
		hl = hex != NULL ? strlen(hex) : 0;
		if (hl % 2 != 0 || hl / 2 <= SEAL_OVERHEAD) {
			snprintf(err, errlen, "sealed var %s is malformed", name);
			return -1;
		}
		n = hl / 2;
		blob = arena_alloc(a, n);
		pt = arena_alloc(a, n + 1);
		if (unhex(blob, hex, n) != 0 ||
		    unseal(pt, n, &len, key, blob, n, aad_of(a, idem, name)) != 0) {
			snprintf(err, errlen, "sealed var %s does not open (another key, or another job's)", name);
			return -1;
		}
		pt[len] = '\0';
		vm_set(vm, name, (const char *)pt);
		/* vm_set copies into the arena; the plaintext goes now. */
		OPENSSL_cleanse(pt, len);
	}
	return 0;
}
