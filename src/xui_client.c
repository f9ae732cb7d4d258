/*
 * xui_client.c: client operations on a 3X-UI panel for both API
 * generations, and the shop's derived credentials (see xui_client.h;
 * section numbers are the contract's, ../shared/contracts/3x-ui.md).
 *
 * Why G2 reads the inbound and not only getClientTraffics: the traffic
 * row has no limitIp, flow or password, and the shop stores what the
 * panel holds (read-back), so the client object comes from the inbound's
 * settings (a JSON string in G2, 3.1).  Why G3 reads clients/get and not
 * the inbound's copy: in v3.6.0 the clients table is what xray and the
 * subscription read, and it can differ from an inbound's settings copy
 * (the SS-2022 overwrite of 4.3); the shop must hand out what xray uses.
 *
 * Every reply is checked for shape: a member of the wrong type is read
 * as absent, a client without an email or a settings without a clients
 * array is "bad_reply", never a crash (the panel may be hostile).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "seal.h"
#include "util.h"
#include "xui.h"
#include "xui_client.h"
#include "json_get.h"

/* The subkey label of client credentials: never the seal key itself. */
#define CRED_LABEL	"1000proxy client cred v1"

/* ---- derived credentials ---- */

int
client_ss2022_keylen(const char *method)
{
	if (method == NULL)
		return 0;
	if (strcmp(method, "2022-blake3-aes-128-gcm") == 0)
		return 16;
	if (strcmp(method, "2022-blake3-aes-256-gcm") == 0 ||
	    strcmp(method, "2022-blake3-chacha20-poly1305") == 0)
		return 32;
	return 0;
}

/* HMAC-SHA256 of msg under the credential subkey into mac.  0 or -1. */
static int
cred_mac(const unsigned char key[32], const char *msg, unsigned char mac[32])
{
	unsigned char sub[SEAL_KEY_LEN];
	unsigned int mlen = 0;
	int	 rc = 0;

	/* Under the identity key: what a panel holds for a client
	 * survives a key rotation (seal.h, seal_ident_key). */
	if (seal_subkey(sub, seal_ident_key(key), CRED_LABEL) != 0)
		return -1;
	if (HMAC(EVP_sha256(), sub, sizeof(sub), (const unsigned char *)msg, strlen(msg),
	    mac, &mlen) == NULL || mlen != 32)
		rc = -1;
	explicit_bzero(sub, sizeof(sub));
	return rc;
}

int
client_cred(const unsigned char key[32], int64_t item, int64_t gen, const char *protocol,
    const char *method, char *out, size_t outsz)
{
	unsigned char mac[32];
	char	 msg[96];
	int	 klen;

	if (outsz < 64 || protocol == NULL)
		return -1;
	snprintf(msg, sizeof(msg), "cred:%" PRId64 ":%" PRId64, item, gen);
	if (cred_mac(key, msg, mac) != 0)
		return -1;
	if (strcmp(protocol, "vless") == 0 || strcmp(protocol, "vmess") == 0) {
		/* A version 4 layout: panels and clients check the shape. */
		mac[6] = (unsigned char)((mac[6] & 0x0f) | 0x40);
		mac[8] = (unsigned char)((mac[8] & 0x3f) | 0x80);
		snprintf(out, outsz, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		    "%02x%02x%02x%02x%02x%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
		    mac[6], mac[7], mac[8], mac[9], mac[10], mac[11], mac[12], mac[13], mac[14],
		    mac[15]);
	} else if (strcmp(protocol, "trojan") == 0)
		hex_encode(out, mac, 16);
	else if (strcmp(protocol, "shadowsocks") == 0) {
		if (method != NULL && strncmp(method, "2022-", 5) == 0) {
			/* SS-2022: a key of the method's length, base64
			 * (section 3.2): xray refuses any other length. */
			if ((klen = client_ss2022_keylen(method)) == 0) {
				explicit_bzero(mac, sizeof(mac));
				return -1;
			}
			EVP_EncodeBlock((unsigned char *)out, mac, klen);
		} else
			hex_encode(out, mac, 16);
	} else {
		explicit_bzero(mac, sizeof(mac));
		return -1;
	}
	explicit_bzero(mac, sizeof(mac));
	return 0;
}

void
client_email(int64_t item, char *out, size_t outsz)
{
	snprintf(out, outsz, "px-%" PRId64, item);
}

void
client_sub_id(const unsigned char key[32], int64_t item, char out[17])
{
	static const char al[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char mac[32];
	char	 msg[64];
	int	 i;

	snprintf(msg, sizeof(msg), "sub:%" PRId64, item);
	if (cred_mac(key, msg, mac) != 0)
		random_bytes(mac, sizeof(mac));	/* OpenSSL failed: still unique */
	for (i = 0; i < 16; i++)
		out[i] = al[mac[i] % 36];
	out[16] = '\0';
}

/* ---- reading replies ---- */

/* The panel's msg for the job's error: the trailing newline that
 * fmt.Sprintln leaves inside "(...\n)" (2.0) is dropped. */
static void
refused(struct xui *x, const char *what, const char *msg)
{
	char	 m[900];
	size_t	 i, k = 0;

	for (i = 0; msg[i] != '\0' && k + 1 < sizeof(m); i++)
		if (msg[i] != '\n' && msg[i] != '\r')
			m[k++] = msg[i];
	m[k] = '\0';
	xui_set_error(x, "refused", "%s", k > 0 ? m : what);
}

/* A client object (a G2 settings client, or a G3 ClientRecord where the
 * UUID is "uuid" and "id" is the row) into c; 0, or -1 without email. */
static int
read_client(struct arena *a, struct json_object *o, int record, struct xui_client *c)
{
	const char *email = jstr_or(o, "email", NULL);

	memset(c, 0, sizeof(*c));
	if (email == NULL || *email == '\0')
		return -1;
	c->email = arena_strdup(a, email);
	c->id = arena_strdup(a, record ? jstr_or(o, "uuid", "") : jstr_or(o, "id", ""));
	c->password = arena_strdup(a, jstr_or(o, "password", ""));
	c->flow = arena_strdup(a, jstr_or(o, "flow", ""));
	c->security = arena_strdup(a, jstr_or(o, "security", ""));
	c->method = arena_strdup(a, jstr_or(o, "method", ""));
	c->sub_id = arena_strdup(a, jstr_or(o, "subId", ""));
	c->comment = arena_strdup(a, jstr_or(o, "comment", ""));
	c->limit_ip = jint(o, "limitIp", 0);
	c->total = jint(o, "totalGB", 0);
	c->expiry_ms = jint(o, "expiryTime", 0);
	c->reset = jint(o, "reset", 0);
	c->enable = jbool(o, "enable", 1);
	c->json = arena_strdup(a, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	return 0;
}

/* A ClientTraffic row (section 5) into c. */
static void
read_traffic(struct json_object *t, struct xui_client *c)
{
	if (t == NULL || !json_object_is_type(t, json_type_object))
		return;
	c->has_traffic = 1;
	c->up = jint(t, "up", 0);
	c->down = jint(t, "down", 0);
	if (c->up < 0)
		c->up = 0;
	if (c->down < 0)
		c->down = 0;
	c->traffic_enable = jbool(t, "enable", 1);
	c->traffic_total = jint(t, "total", 0);
	c->traffic_expiry_ms = jint(t, "expiryTime", 0);
	c->last_online = jint(t, "lastOnline", 0);
}

/* The path segment s percent-encoded, in a. */
static const char *
seg(struct arena *a, const char *s)
{
	struct buf b;
	const char *r;

	buf_init(&b);
	buf_urlenc(&b, s);
	r = arena_strdup(a, b.p != NULL ? b.p : "");
	buf_free(&b);
	return r;
}

static int
g3(const struct xui *x)
{
	return strcmp(xui_gen(x), "g3") == 0;
}

/* One call whose success is all that matters: 0, or -1 (refused with
 * the panel's msg, or the transport's error). */
static int
act(struct xui *x, const char *path, const char *body, const char *what)
{
	struct xui_env env;
	int	 rc = 0;

	if (xui_call(x, "POST", path, body, &env) != 0)
		return -1;
	if (!env.success) {
		refused(x, what, env.msg);
		rc = -1;
	}
	xui_env_free(&env);
	return rc;
}

/* ---- the operations ---- */

/* G2: the client by email in the inbound's settings.  1, 0, -1. */
static int
g2_get(struct xui *x, struct arena *a, int64_t inbound, const char *email, struct xui_client *out)
{
	struct json_object *set, *cl, *o;
	struct xui_env env;
	size_t	 i, n;
	int	 rc = 0;

	if (xui_call(x, "GET", arena_printf(a, "panel/api/inbounds/get/%" PRId64, inbound), NULL,
	    &env) != 0)
		return -1;
	if (!env.success) {
		refused(x, "inbounds/get refused", env.msg);
		xui_env_free(&env);
		return -1;
	}
	set = jsub(env.obj, "settings");
	if (set == NULL || !json_object_object_get_ex(set, "clients", &cl) ||
	    !(json_object_is_type(cl, json_type_array) || json_object_is_type(cl, json_type_null))) {
		xui_set_error(x, "bad_reply", "inbounds/get/%" PRId64 ": no settings.clients", inbound);
		rc = -1;
		goto out;
	}
	n = json_object_is_type(cl, json_type_array) ? json_object_array_length(cl) : 0;
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(cl, i);
		if (strcasecmp(jstr_or(o, "email", ""), email) != 0)
			continue;
		if (read_client(a, o, 0, out) != 0) {
			xui_set_error(x, "bad_reply", "inbounds/get: a client of the wrong shape");
			rc = -1;
		} else {
			out->inbound = inbound;
			rc = 1;
		}
		break;
	}
out:
	json_object_put(set);
	xui_env_free(&env);
	return rc;
}

/* G3: clients/get/:email.  1, 0, -1. */
static int
g3_get(struct xui *x, struct arena *a, int64_t inbound, const char *email, struct xui_client *out)
{
	struct json_object *rec, *ids;
	struct xui_env env;
	size_t	 i, n;
	int	 rc = 1;

	if (xui_call(x, "GET", arena_printf(a, "panel/api/clients/get/%s", seg(a, email)), NULL,
	    &env) != 0)
		return -1;
	if (!env.success) {
		/* Unknown email: "Obtain (record not found)" (2.2). */
		if (strstr(env.msg, "record not found") != NULL)
			rc = 0;
		else {
			refused(x, "clients/get refused", env.msg);
			rc = -1;
		}
		xui_env_free(&env);
		return rc;
	}
	if (env.obj == NULL || !json_object_object_get_ex(env.obj, "client", &rec) ||
	    !json_object_is_type(rec, json_type_object) || read_client(a, rec, 1, out) != 0) {
		xui_set_error(x, "bad_reply", "clients/get: obj.client is not a client");
		xui_env_free(&env);
		return -1;
	}
	if (json_object_object_get_ex(env.obj, "inboundIds", &ids) &&
	    json_object_is_type(ids, json_type_array)) {
		n = json_object_array_length(ids);
		for (i = 0; i < n; i++) {
			int64_t	 id = json_object_get_int64(json_object_array_get_idx(ids, i));

			if (i == 0 || id == inbound)
				out->inbound = id;
		}
	}
	xui_env_free(&env);
	return rc;
}

/* The traffic row by email into c (G2 getClientTraffics, G3
 * clients/traffic).  0 (a missing row leaves has_traffic 0), or -1. */
static int
get_traffic(struct xui *x, struct arena *a, const char *email, struct xui_client *c)
{
	struct xui_env env;

	if (xui_call(x, "GET", g3(x) ?
	    arena_printf(a, "panel/api/clients/traffic/%s", seg(a, email)) :
	    arena_printf(a, "panel/api/inbounds/getClientTraffics/%s", seg(a, email)), NULL,
	    &env) != 0)
		return -1;
	if (!env.success) {
		refused(x, "traffic refused", env.msg);
		xui_env_free(&env);
		return -1;
	}
	read_traffic(env.obj, c);
	xui_env_free(&env);
	return 0;
}

int
xui_client_get(struct xui *x, struct arena *a, int64_t inbound, const char *protocol,
    const char *email, int traffic, struct xui_client *out)
{
	int	 rc;

	(void)protocol;
	memset(out, 0, sizeof(*out));
	rc = g3(x) ? g3_get(x, a, inbound, email, out) : g2_get(x, a, inbound, email, out);
	if (rc == 1 && traffic && get_traffic(x, a, email, out) != 0)
		return -1;
	return rc;
}

const char *
xui_client_json(struct arena *a, const char *protocol, const struct xui_client *c)
{
	struct json_object *o = json_object_new_object();
	const char *s;

	/* The v2 UI's toJson order (3.2): credential first. */
	if (strcmp(protocol, "vless") == 0) {
		json_object_object_add(o, "id", json_object_new_string(c->id ? c->id : ""));
		json_object_object_add(o, "flow", json_object_new_string(c->flow ? c->flow : ""));
	} else if (strcmp(protocol, "vmess") == 0) {
		json_object_object_add(o, "id", json_object_new_string(c->id ? c->id : ""));
		json_object_object_add(o, "security", json_object_new_string(
		    c->security && *c->security ? c->security : "auto"));
	} else {
		if (strcmp(protocol, "shadowsocks") == 0 && c->method && *c->method &&
		    strncmp(c->method, "2022-", 5) != 0)
			json_object_object_add(o, "method", json_object_new_string(c->method));
		json_object_object_add(o, "password",
		    json_object_new_string(c->password ? c->password : ""));
	}
	json_object_object_add(o, "email", json_object_new_string(c->email ? c->email : ""));
	json_object_object_add(o, "limitIp", json_object_new_int64(c->limit_ip));
	json_object_object_add(o, "totalGB", json_object_new_int64(c->total));
	json_object_object_add(o, "expiryTime", json_object_new_int64(c->expiry_ms));
	json_object_object_add(o, "enable", json_object_new_boolean(c->enable));
	/* tgId a number: v3 refuses a string (3.2). */
	json_object_object_add(o, "tgId", json_object_new_int64(0));
	json_object_object_add(o, "subId", json_object_new_string(c->sub_id ? c->sub_id : ""));
	json_object_object_add(o, "comment", json_object_new_string(c->comment ? c->comment : ""));
	json_object_object_add(o, "reset", json_object_new_int64(c->reset));
	s = arena_strdup(a, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

/* G2's addClient / updateClient body: {"id": inbound, "settings":
 * "{\"clients\":[c]}"} (4.1: settings is a string). */
static const char *
g2_body(struct arena *a, int64_t inbound, const char *client)
{
	struct json_object *o = json_object_new_object();
	const char *s;

	json_object_object_add(o, "id", json_object_new_int64(inbound));
	json_object_object_add(o, "settings", json_object_new_string(
	    arena_printf(a, "{\"clients\":[%s]}", client)));
	s = arena_strdup(a, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

int
xui_client_add(struct xui *x, int64_t inbound, const char *protocol, const struct xui_client *c)
{
	struct arena *a = arena_new(4096);
	const char *cj = xui_client_json(a, protocol, c);
	int	 rc;

	if (g3(x))
		rc = act(x, "panel/api/clients/add", arena_printf(a, "{\"client\":%s,"
		    "\"inboundIds\":[%" PRId64 "]}", cj, inbound), "clients/add refused");
	else
		rc = act(x, "panel/api/inbounds/addClient", g2_body(a, inbound, cj),
		    "addClient refused");
	arena_free(a);
	return rc;
}

/* G2's :clientId (4.2): id for vless/vmess, password for trojan, email
 * for shadowsocks. */
static const char *
g2_key(const char *protocol, const char *email, const char *key)
{
	return strcmp(protocol, "shadowsocks") == 0 ? email : key;
}

int
xui_client_update(struct xui *x, int64_t inbound, const char *protocol, const char *email,
    const char *key, const struct xui_client *c)
{
	struct arena *a = arena_new(4096);
	const char *cj = xui_client_json(a, protocol, c);
	int	 rc;

	if (g3(x))
		rc = act(x, arena_printf(a, "panel/api/clients/update/%s", seg(a, email)), cj,
		    "clients/update refused");
	else
		rc = act(x, arena_printf(a, "panel/api/inbounds/updateClient/%s",
		    seg(a, g2_key(protocol, email, key))), g2_body(a, inbound, cj),
		    "updateClient refused");
	arena_free(a);
	return rc;
}

int
xui_client_delete(struct xui *x, int64_t inbound, const char *protocol, const char *email,
    const char *key)
{
	struct arena *a = arena_new(1024);
	int	 rc;

	if (g3(x))
		rc = act(x, arena_printf(a, "panel/api/clients/del/%s", seg(a, email)), NULL,
		    "clients/del refused");
	else
		rc = act(x, arena_printf(a, "panel/api/inbounds/%" PRId64 "/delClient/%s", inbound,
		    seg(a, g2_key(protocol, email, key))), NULL, "delClient refused");
	arena_free(a);
	return rc;
}

int
xui_client_reset_traffic(struct xui *x, int64_t inbound, const char *email)
{
	struct arena *a = arena_new(1024);
	int	 rc;

	if (g3(x))
		rc = act(x, arena_printf(a, "panel/api/clients/resetTraffic/%s", seg(a, email)), NULL,
		    "clients/resetTraffic refused");
	else
		rc = act(x, arena_printf(a, "panel/api/inbounds/%" PRId64 "/resetClientTraffic/%s",
		    inbound, seg(a, email)), NULL, "resetClientTraffic refused");
	arena_free(a);
	return rc;
}

/* The clients of one inbound object with their clientStats. */
int
xui_client_read_inbound(struct arena *a, struct json_object *ib, int64_t inbound,
    struct xui_client **out, size_t *n)
{
	struct json_object *set, *cl, *st = NULL, *o, *t;
	size_t	 i, k, m, ns;

	*out = NULL;
	*n = 0;
	set = jsub(ib, "settings");
	if (set == NULL || !json_object_object_get_ex(set, "clients", &cl) ||
	    !(json_object_is_type(cl, json_type_array) || json_object_is_type(cl, json_type_null))) {
		json_object_put(set);
		return -1;
	}
	m = json_object_is_type(cl, json_type_array) ? json_object_array_length(cl) : 0;
	if (json_object_object_get_ex(ib, "clientStats", &st) &&
	    !json_object_is_type(st, json_type_array))
		st = NULL;
	ns = st != NULL ? json_object_array_length(st) : 0;
	*out = arena_zalloc(a, (m ? m : 1) * sizeof(**out));
	*n = 0;
	for (i = 0; i < m; i++) {
		struct xui_client *c = &(*out)[*n];

		o = json_object_array_get_idx(cl, i);
		if (read_client(a, o, 0, c) != 0)
			continue;	/* an email-less client (G2 allows one): no traffic row */
		c->inbound = inbound;
		for (k = 0; k < ns; k++) {
			t = json_object_array_get_idx(st, k);
			if (strcasecmp(jstr_or(t, "email", ""), c->email) == 0) {
				read_traffic(t, c);
				break;
			}
		}
		(*n)++;
	}
	json_object_put(set);
	return 0;
}

static int
list_inbound(struct xui *x, struct arena *a, struct json_object *ib, int64_t inbound,
    struct xui_client **out, size_t *n)
{
	if (xui_client_read_inbound(a, ib, inbound, out, n) == 0)
		return 0;
	xui_set_error(x, "bad_reply", "inbound %" PRId64 ": no settings.clients", inbound);
	return -1;
}

int
xui_client_list(struct xui *x, struct arena *a, int64_t inbound, struct xui_client **out,
    size_t *n)
{
	struct json_object *ib = NULL;
	struct xui_env env;
	size_t	 i, m;
	int	 rc;

	*out = NULL;
	*n = 0;
	/* G2's get/:id leaves clientStats null (2.1); its list has them. */
	if (xui_call(x, "GET", g3(x) ?
	    arena_printf(a, "panel/api/inbounds/get/%" PRId64, inbound) :
	    "panel/api/inbounds/list", NULL, &env) != 0)
		return -1;
	if (!env.success) {
		refused(x, "inbounds refused", env.msg);
		xui_env_free(&env);
		return -1;
	}
	if (g3(x))
		ib = env.obj;
	else if (env.obj != NULL && json_object_is_type(env.obj, json_type_array)) {
		m = json_object_array_length(env.obj);
		for (i = 0; i < m; i++)
			if (jint(json_object_array_get_idx(env.obj, i), "id", -1) == inbound)
				ib = json_object_array_get_idx(env.obj, i);
		if (ib == NULL) {
			xui_set_error(x, "refused", "inbound %" PRId64 " is not on the panel", inbound);
			xui_env_free(&env);
			return -1;
		}
	}
	if (ib == NULL || !json_object_is_type(ib, json_type_object)) {
		xui_set_error(x, "bad_reply", "inbounds: obj is not an inbound");
		xui_env_free(&env);
		return -1;
	}
	rc = list_inbound(x, a, ib, inbound, out, n);
	xui_env_free(&env);
	return rc;
}
