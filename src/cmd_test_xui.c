/*
 * cmd_test_xui.c: `1000proxy test-xui`, the hidden entry to the panel
 * client's client operations (xui_client.c) for t/89-provision.t, so
 * each wire call is tested against the panel double in both generations
 * without a job around it.
 *
 *   test-xui URL USER PASSWORD GEN OP ARGS...
 *     GEN: g2, g3, or detect (xui_detect() picks)
 *     get INBOUND PROTO EMAIL [traffic]
 *     add INBOUND PROTO CLIENT_JSON
 *     update INBOUND PROTO EMAIL KEY CLIENT_JSON
 *     delete INBOUND PROTO EMAIL KEY
 *     reset INBOUND EMAIL
 *     list INBOUND
 *     cred ITEM GEN PROTO [METHOD]   (no panel: URL etc. are ignored;
 *                                     the key is 32 bytes of 0x2a)
 *
 * Prints one JSON object: {"rc":N,"fail":"..","err":"..","logins":N,
 * "gen":"..", "client":{...} or "clients":[...]}.  Exit status 0 when
 * rc >= 0, 1 otherwise.  Refused unless test_routes is on.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cmd.h"
#include "conf.h"
#include "util.h"
#include "xui.h"
#include "xui_client.h"

static struct json_object *
client_obj(const struct xui_client *c)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "email", json_object_new_string(c->email ? c->email : ""));
	json_object_object_add(o, "id", json_object_new_string(c->id ? c->id : ""));
	json_object_object_add(o, "password", json_object_new_string(c->password ? c->password : ""));
	json_object_object_add(o, "flow", json_object_new_string(c->flow ? c->flow : ""));
	json_object_object_add(o, "subId", json_object_new_string(c->sub_id ? c->sub_id : ""));
	json_object_object_add(o, "limitIp", json_object_new_int64(c->limit_ip));
	json_object_object_add(o, "totalGB", json_object_new_int64(c->total));
	json_object_object_add(o, "expiryTime", json_object_new_int64(c->expiry_ms));
	json_object_object_add(o, "enable", json_object_new_boolean(c->enable));
	json_object_object_add(o, "inbound", json_object_new_int64(c->inbound));
	json_object_object_add(o, "has_traffic", json_object_new_boolean(c->has_traffic));
	json_object_object_add(o, "up", json_object_new_int64(c->up));
	json_object_object_add(o, "down", json_object_new_int64(c->down));
	json_object_object_add(o, "traffic_enable", json_object_new_boolean(c->traffic_enable));
	return o;
}

/* A client from the JSON the test gives (the panel's field names). */
static int
client_in(struct arena *a, const char *text, struct xui_client *c)
{
	struct json_object *o = json_tokener_parse(text), *v;

	memset(c, 0, sizeof(*c));
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -1;
	}
#define S(k, f) c->f = arena_strdup(a, json_object_object_get_ex(o, k, &v) ? \
	json_object_get_string(v) : "")
#define I(k, f) c->f = json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : 0
	S("email", email);
	S("id", id);
	S("password", password);
	S("flow", flow);
	S("security", security);
	S("method", method);
	S("subId", sub_id);
	S("comment", comment);
	I("limitIp", limit_ip);
	I("totalGB", total);
	I("expiryTime", expiry_ms);
	I("reset", reset);
#undef S
#undef I
	c->enable = !json_object_object_get_ex(o, "enable", &v) || json_object_get_boolean(v);
	json_object_put(o);
	return 0;
}

/* PX_TEST_XUI_CA: a PEM file's text (the panel's CA), or NULL. */
static const char *
ca_pem(struct arena *a, const char *path)
{
	struct buf b;
	char	 chunk[4096];
	const char *s;
	size_t	 n;
	FILE	*f;

	if (path == NULL || (f = fopen(path, "r")) == NULL)
		return NULL;
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	s = arena_strndup(a, b.p != NULL ? b.p : "", b.len);
	buf_free(&b);
	return s;
}

int
cmd_test_xui(const struct conf *cf, int argc, char **argv)
{
	struct json_object *r = json_object_new_object(), *arr;
	struct arena *a = arena_new(16384);
	struct xui_client c, *list;
	struct xui *x = NULL;
	const char *op, *gen;
	char	 err[1024] = "", ver[64], cred[64];
	size_t	 i, n;
	int	 rc = -1;

	if (!cf->test_routes) {
		fprintf(stderr, "1000proxy: test-xui needs test_routes = yes\n");
		return 2;
	}
	if (argc >= 5 && strcmp(argv[1], "cred") == 0) {
		unsigned char key[32];

		memset(key, 0x2a, sizeof(key));
		rc = client_cred(key, strtoll(argv[2], NULL, 10), strtoll(argv[3], NULL, 10),
		    argv[4], argc > 5 ? argv[5] : NULL, cred, sizeof(cred));
		printf("%s\n", rc == 0 ? cred : "-");
		arena_free(a);
		json_object_put(r);
		return rc == 0 ? 0 : 1;
	}
	if (argc < 6) {
		fprintf(stderr, "usage: 1000proxy test-xui URL USER PASSWORD GEN OP ARGS...\n");
		arena_free(a);
		json_object_put(r);
		return 2;
	}
	if ((x = xui_open(a, cf, "test", argv[1], argv[2], argv[3], NULL,
	    getenv("PX_TEST_XUI_NOVERIFY") == NULL, getenv("PX_TEST_XUI_PIN"),
	    ca_pem(a, getenv("PX_TEST_XUI_CA")), err, sizeof(err))) == NULL) {
		fprintf(stderr, "1000proxy: test-xui: %s\n", err);
		arena_free(a);
		json_object_put(r);
		return 1;
	}
	op = argv[5];
	if (strcmp(argv[4], "detect") == 0) {
		if (xui_detect(x, ver, sizeof(ver), &gen, NULL, 0) != 0)
			goto out;
	} else
		xui_set_gen(x, argv[4]);
	if (strcmp(op, "get") == 0 && argc >= 9) {
		rc = xui_client_get(x, a, strtoll(argv[6], NULL, 10), argv[7], argv[8],
		    argc > 9 && strcmp(argv[9], "traffic") == 0, &c);
		if (rc == 1)
			json_object_object_add(r, "client", client_obj(&c));
	} else if (strcmp(op, "add") == 0 && argc >= 9) {
		if (client_in(a, argv[8], &c) == 0)
			rc = xui_client_add(x, strtoll(argv[6], NULL, 10), argv[7], &c);
	} else if (strcmp(op, "update") == 0 && argc >= 11) {
		if (client_in(a, argv[10], &c) == 0)
			rc = xui_client_update(x, strtoll(argv[6], NULL, 10), argv[7], argv[8], argv[9], &c);
	} else if (strcmp(op, "delete") == 0 && argc >= 10) {
		rc = xui_client_delete(x, strtoll(argv[6], NULL, 10), argv[7], argv[8], argv[9]);
	} else if (strcmp(op, "reset") == 0 && argc >= 8) {
		rc = xui_client_reset_traffic(x, strtoll(argv[6], NULL, 10), argv[7]);
	} else if (strcmp(op, "list") == 0 && argc >= 7) {
		rc = xui_client_list(x, a, strtoll(argv[6], NULL, 10), &list, &n);
		if (rc == 0) {
			arr = json_object_new_array();
			for (i = 0; i < n; i++)
				json_object_array_add(arr, client_obj(&list[i]));
			json_object_object_add(r, "clients", arr);
		}
	} else {
		fprintf(stderr, "1000proxy: test-xui: bad operation or arguments\n");
		xui_close(x);
		arena_free(a);
		json_object_put(r);
		return 2;
	}
out:
	json_object_object_add(r, "rc", json_object_new_int(rc));
	json_object_object_add(r, "fail", json_object_new_string(rc < 0 ? xui_fail(x) : ""));
	json_object_object_add(r, "err", json_object_new_string(rc < 0 ? xui_error(x) : ""));
	json_object_object_add(r, "logins", json_object_new_int(xui_logins(x)));
	json_object_object_add(r, "gen", json_object_new_string(xui_gen(x)));
	printf("%s\n", json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN));
	json_object_put(r);
	xui_close(x);
	arena_free(a);
	return rc >= 0 ? 0 : 1;
}
