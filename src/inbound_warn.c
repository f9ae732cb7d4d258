/*
 * inbound_warn.c: inbounds real clients will not use (inbound_warn.h).
 *
 * The three cases come from the issue and the clients' own behaviour:
 *  - VLESS and Trojan carry no encryption of their own: current Xray
 *    clients refuse a VLESS or Trojan outbound without TLS or REALITY to
 *    anything but a local address, so such an inbound on a public host
 *    sells nothing that connects.
 *  - A websocket needs HTTP/1.1: when the TLS ALPN offers h2 first the
 *    server may pick h2 and the websocket upgrade fails.
 *  - 3X-UI's own share link for Shadowsocks over ws carries the
 *    transport in a form neither v2rayN nor v2rayNG imports.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "inbound_warn.h"

static const char *const warn_text[IW__COUNT] = {
	"VLESS or Trojan without TLS or REALITY on a public host: current Xray clients (v2rayN, "
	"v2rayNG) refuse it, so customers get a proxy that never connects.",
	"Websocket over TLS whose ALPN offers h2: a client may settle on HTTP/2 and the websocket "
	"handshake breaks. Set the ALPN to http/1.1 only.",
	"Shadowsocks over websocket: 3X-UI's link for it imports in neither v2rayN nor v2rayNG.",
};

const char *
inbound_warn_text(unsigned bit)
{
	int	 i;

	for (i = 0; i < IW__COUNT; i++)
		if (bit == (1u << i))
			return warn_text[i];
	return NULL;
}

static const char *
str_of(struct json_object *o, const char *key, const char *dflt)
{
	struct json_object *v;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return dflt;
	return json_object_get_string(v);
}

static struct json_object *
obj_of(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_object))
		return NULL;
	return v;
}

/* 1 when tlsSettings.alpn (an array, or G2's comma-joined text) names h2. */
static int
alpn_has_h2(struct json_object *tls)
{
	struct json_object *a, *e;
	const char *s, *p;
	size_t	 i, n;

	if (tls == NULL || !json_object_object_get_ex(tls, "alpn", &a))
		return 0;
	if (json_object_is_type(a, json_type_array)) {
		n = json_object_array_length(a);
		for (i = 0; i < n; i++) {
			e = json_object_array_get_idx(a, i);
			if (json_object_is_type(e, json_type_string) &&
			    strcmp(json_object_get_string(e), "h2") == 0)
				return 1;
		}
		return 0;
	}
	if (!json_object_is_type(a, json_type_string))
		return 0;
	for (s = json_object_get_string(a); *s != '\0'; s = *p ? p + 1 : p) {
		p = s + strcspn(s, ",");
		while (*s == ' ' && s < p)
			s++;
		if (p - s >= 2 && strncmp(s, "h2", 2) == 0 && (p - s == 2 || s[2] == ' '))
			return 1;
	}
	return 0;
}

int
inbound_host_public(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	char	 h[256];
	size_t	 n;
	uint32_t v;

	if (host == NULL || *host == '\0')
		return 1;
	n = strlen(host);
	if (n >= sizeof(h))
		return 1;
	memcpy(h, host, n + 1);
	/* [::1] as links write it */
	if (h[0] == '[' && h[n - 1] == ']') {
		memmove(h, h + 1, n - 2);
		h[n - 2] = '\0';
		n -= 2;
	}
	if (inet_pton(AF_INET, h, &a4) == 1) {
		v = ntohl(a4.s_addr);
		return !((v >> 24) == 127 || (v >> 24) == 10 || (v >> 24) == 0 ||
		    (v >> 20) == 0xac1 ||		/* 172.16/12 */
		    (v >> 16) == 0xc0a8 ||		/* 192.168/16 */
		    (v >> 16) == 0xa9fe ||		/* 169.254/16 */
		    (v >> 22) == (100u << 2 | 1));	/* 100.64/10 (CGNAT) */
	}
	if (inet_pton(AF_INET6, h, &a6) == 1)
		return !(IN6_IS_ADDR_LOOPBACK(&a6) || IN6_IS_ADDR_UNSPECIFIED(&a6) ||
		    IN6_IS_ADDR_LINKLOCAL(&a6) || (a6.s6_addr[0] & 0xfe) == 0xfc);
	if (h[n - 1] == '.')
		h[--n] = '\0';
	if (strcasecmp(h, "localhost") == 0 ||
	    (n > 10 && strcasecmp(h + n - 10, ".localhost") == 0))
		return 0;
	return 1;
}

unsigned
inbound_warnings(const char *protocol, const char *network, const char *security,
    const char *settings_json, const char *public_host)
{
	struct json_object *root = NULL, *stream;
	const char *net, *sec;
	unsigned w = 0;

	if (protocol == NULL)
		return 0;
	if (settings_json != NULL)
		root = json_tokener_parse(settings_json);
	stream = obj_of(root, "stream");
	net = str_of(stream, "network", network != NULL && *network ? network : "tcp");
	sec = str_of(stream, "security", security != NULL && *security ? security : "none");
	if ((strcmp(protocol, "vless") == 0 || strcmp(protocol, "trojan") == 0) &&
	    strcmp(sec, "tls") != 0 && strcmp(sec, "reality") != 0 &&
	    inbound_host_public(public_host))
		w |= IW_PLAIN_PUBLIC;
	if (strcmp(net, "ws") == 0 && strcmp(sec, "tls") == 0 &&
	    alpn_has_h2(obj_of(stream, "tlsSettings")))
		w |= IW_WS_TLS_H2;
	if (strcmp(protocol, "shadowsocks") == 0 && strcmp(net, "ws") == 0)
		w |= IW_SS_WS;
	if (root != NULL)
		json_object_put(root);
	return w;
}
