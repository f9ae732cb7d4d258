/*
 * links.c: share links exactly as 3X-UI's subscription server builds
 * them (contract ../shared/contracts/3x-ui.md section 6), per link
 * generation.  That is what client apps import, so it is the one to
 * match; the v2 panel UI's JS links differ and are not copied.
 *
 * Deliberate differences from the panel, because issue 12 asks for
 * links that every client parses the same way:
 *  - query keys with an empty value are left out (the panel writes
 *    `host=` on ws/httpupgrade and `authority=` on grpc even when
 *    empty; v2rayN and v2rayNG disagree on empty components);
 *  - trojan and vless always carry `security=` (none, tls or reality);
 *  - an IPv6 address is bracketed in every generation (the panel only
 *    brackets from v3.4.0; without brackets the port cannot be parsed);
 *  - the trojan password is percent-encoded in every generation (v2
 *    writes it raw; identical for the panel's alphanumeric default);
 *  - reality `sni`/`sid` are the first of serverNames/shortIds (the
 *    panel picks one at random on every fetch) and `spx` is the v3.5
 *    deterministic form in every generation (before v3.5 the panel's is
 *    random on every fetch, so no fixed value can match it);
 *  - the usage parts of the remark (traffic and days left) are left
 *    out, as the panel's own displays do (section 6.5): the shop shows
 *    usage itself and the link must not change as traffic flows.
 * Read from the v2 sub server's source beyond the contract: tls
 * `allowInsecure=1` (vmess: a bool) on v2 links only, since v3 moved
 * to vcn/pcs.
 * Not covered yet: externalProxy (one link per entry), v3 tls extras
 * (ech, vcn, pcs), v3 kcp and xhttp extras, v3.6 shareAddr and node
 * addresses (the caller passes the host to use).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "links.h"
#include "json_get.h"

#define MAXQ	24

struct query {
	const char	*k[MAXQ];
	const char	*v[MAXQ];
	size_t		 n;
};

enum link_gen
link_gen_of(const char *v)
{
	long	 maj, min;
	char	*end;

	/* Only v3.1.0+ says its version (contract section 0): a panel that
	 * answered without one is older, and builds v2 links.  (Inbounds
	 * come from a sync, which records the version, so "" here is never
	 * a panel the shop has not heard from.) */
	if (v == NULL || *v == '\0')
		return LINK_GEN_V2;
	if (*v == 'v' || *v == 'V')
		v++;
	maj = strtol(v, &end, 10);
	if (end == v)
		return LINK_GEN_V35;
	min = *end == '.' ? strtol(end + 1, NULL, 10) : 0;
	if (maj < 3 || (maj == 3 && min < 2))
		return LINK_GEN_V2;
	if (maj == 3 && min < 4)
		return LINK_GEN_V32;
	if (maj == 3 && min < 5)
		return LINK_GEN_V34;
	return LINK_GEN_V35;
}

static int
nonempty(const char *s)
{
	return s != NULL && *s != '\0';
}

/* Go's url.QueryEscape; space_plus 0 gives the panel's "+" -> "%20" variant. */
static void
query_escape(struct buf *b, const char *s, int space_plus)
{
	const unsigned char *u;

	for (u = (const unsigned char *)s; *u; u++) {
		if ((*u >= 'A' && *u <= 'Z') || (*u >= 'a' && *u <= 'z') ||
		    (*u >= '0' && *u <= '9') || strchr("-_.~", *u) != NULL)
			buf_putc(b, *u);
		else if (*u == ' ' && space_plus)
			buf_putc(b, '+');
		else
			buf_printf(b, "%%%02X", *u);
	}
}

/* Go's url.URL.String() fragment escaping (v2 up to v3.1). */
static void
fragment_escape_v2(struct buf *b, const char *s)
{
	const unsigned char *u;

	for (u = (const unsigned char *)s; *u; u++) {
		if ((*u >= 'A' && *u <= 'Z') || (*u >= 'a' && *u <= 'z') ||
		    (*u >= '0' && *u <= '9') || strchr("-_.~$&+,/:;=?@!()*", *u) != NULL)
			buf_putc(b, *u);
		else
			buf_printf(b, "%%%02X", *u);
	}
}

/* Empty values are dropped: see the comment at the top. */
static void
qadd(struct query *q, const char *k, const char *v)
{
	if (!nonempty(v) || q->n == MAXQ)
		return;
	q->k[q->n] = k;
	q->v[q->n] = v;
	q->n++;
}

/* url.Values.Encode(): keys sorted, values QueryEscape'd. */
static void
query_write(struct buf *b, struct query *q)
{
	size_t	 i, j;
	const char *t;

	for (i = 1; i < q->n; i++)
		for (j = i; j > 0 && strcmp(q->k[j - 1], q->k[j]) > 0; j--) {
			t = q->k[j]; q->k[j] = q->k[j - 1]; q->k[j - 1] = t;
			t = q->v[j]; q->v[j] = q->v[j - 1]; q->v[j - 1] = t;
		}
	for (i = 0; i < q->n; i++) {
		buf_putc(b, i == 0 ? '?' : '&');
		buf_puts(b, q->k[i]);
		buf_putc(b, '=');
		query_escape(b, q->v[i], 1);
	}
}

/* The address for links (6.1): a routable listen, else the public host. */
static const char *
link_addr(const struct link_in *in)
{
	const char *l = in->listen;

	if (nonempty(l) && strcmp(l, "0.0.0.0") != 0 && strcmp(l, "::") != 0 &&
	    strcmp(l, "::0") != 0)
		return l;
	return in->host;
}

/*
 * A host name, IPv4 or (bracketed or bare) IPv6 address: anything else
 * (a "/", "@", "?", "#", space...) would change what the link means.
 */
static int
addr_ok(const char *a)
{
	const unsigned char *u;

	if (a == NULL)
		return 0;
	for (u = (const unsigned char *)a; *u; u++)
		if (!((*u >= 'A' && *u <= 'Z') || (*u >= 'a' && *u <= 'z') ||
		    (*u >= '0' && *u <= '9') || strchr(".-_:[]", *u) != NULL))
			return 0;
	return *a != '\0';
}

static void
put_hostport(struct buf *b, const char *addr, int port)
{
	if (strchr(addr, ':') != NULL && addr[0] != '[')
		buf_printf(b, "[%s]:%d", addr, port);
	else
		buf_printf(b, "%s:%d", addr, port);
}

/* The remark (6.5) without usage parts: "inbound-email", empty parts skipped. */
static void
put_fragment(struct buf *b, const struct link_in *in)
{
	struct buf r;

	buf_init(&r);
	if (nonempty(in->remark))
		buf_puts(&r, in->remark);
	if (nonempty(in->email)) {
		if (r.len > 0)
			buf_putc(&r, '-');
		buf_puts(&r, in->email);
	}
	if (r.len > 0) {
		buf_putc(b, '#');
		if (in->gen == LINK_GEN_V2)
			fragment_escape_v2(b, r.p);
		else
			query_escape(b, r.p, 0);
	}
	buf_free(&r);
}

/* The host of a transport: its `host` field, else headers.Host. */
static const char *
transport_host(struct json_object *t)
{
	const char *h = jstr(t, "host");

	return nonempty(h) ? h : jfirst(jobj(t, "headers"), "Host");
}

/* The tls alpn list comma-joined into b (caller-owned). */
static void
alpn_join(struct buf *b, struct json_object *tls)
{
	struct json_object *a = jarr(tls, "alpn"), *e;
	size_t	 i;

	for (i = 0; a != NULL && i < json_object_array_length(a); i++) {
		e = json_object_array_get_idx(a, i);
		if (!json_object_is_type(e, json_type_string))
			continue;
		if (b->len > 0)
			buf_putc(b, ',');
		buf_puts(b, json_object_get_string(e));
	}
}

/* v3.5 spx: "/" + hex(sha256(spiderX + "|" + (subId or email)))[:15]. */
static void
spx_make(char out[17], const char *spider, const char *key)
{
	struct buf	 s;
	unsigned char	 md[32];
	char		 hex[65];
	unsigned int	 n = 0;

	buf_init(&s);
	buf_printf(&s, "%s|%s", spider ? spider : "", key ? key : "");
	EVP_Digest(s.p, s.len, md, &n, EVP_sha256(), NULL);
	buf_free(&s);
	hex_encode(hex, md, sizeof(md));
	out[0] = '/';
	memcpy(out + 1, hex, 15);
	out[16] = '\0';
}

struct parsed {
	struct json_object *stream, *settings;
	const char	*net, *sec;
	struct json_object *tr;		/* <net>Settings */
	struct json_object *tls;	/* tlsSettings or realitySettings */
};

const char *
link_net_settings_key(const char *net)
{
	static const struct { const char *net, *key; } tk[] = {
		{ "tcp", "tcpSettings" }, { "kcp", "kcpSettings" }, { "ws", "wsSettings" },
		{ "grpc", "grpcSettings" }, { "httpupgrade", "httpupgradeSettings" },
		{ "xhttp", "xhttpSettings" },
	};
	size_t	 i;

	for (i = 0; i < sizeof(tk) / sizeof(tk[0]); i++)
		if (strcmp(net, tk[i].net) == 0)
			return tk[i].key;
	return NULL;
}

static int
parse_inputs(const struct link_in *in, struct parsed *p, const char **err)
{
	const char *key;

	memset(p, 0, sizeof(*p));
	if (in->stream_json == NULL || in->settings_json == NULL ||
	    (p->stream = json_tokener_parse(in->stream_json)) == NULL ||
	    (p->settings = json_tokener_parse(in->settings_json)) == NULL ||
	    !json_object_is_type(p->stream, json_type_object) ||
	    !json_object_is_type(p->settings, json_type_object)) {
		*err = "the inbound's settings or stream settings are not a JSON object";
		return -1;
	}
	p->net = jstr(p->stream, "network");
	if (!nonempty(p->net))
		p->net = "tcp";
	if ((key = link_net_settings_key(p->net)) == NULL) {
		*err = "unsupported transport";
		return -1;
	}
	p->tr = jobj(p->stream, key);
	p->sec = jstr(p->stream, "security");
	if (!nonempty(p->sec))
		p->sec = "none";
	if (strcmp(p->sec, "tls") == 0)
		p->tls = jobj(p->stream, "tlsSettings");
	else if (strcmp(p->sec, "reality") == 0)
		p->tls = jobj(p->stream, "realitySettings");
	else if (strcmp(p->sec, "none") != 0) {
		*err = "unsupported security";
		return -1;
	}
	return 0;
}

static int
tcp_http(const struct parsed *p)
{
	const char *t = jstr(jobj(p->tr, "header"), "type");

	return strcmp(p->net, "tcp") == 0 && t != NULL && strcmp(t, "http") == 0;
}

/* The transport's query keys (6.2), shared by vless, trojan and shadowsocks. */
static void
transport_query(struct query *q, const struct parsed *p)
{
	struct json_object *req;

	qadd(q, "type", p->net);
	if (strcmp(p->net, "tcp") == 0 && tcp_http(p)) {
		req = jobj(jobj(p->tr, "header"), "request");
		qadd(q, "headerType", "http");
		qadd(q, "path", jfirst(req, "path"));
		qadd(q, "host", jfirst(jobj(req, "headers"), "Host"));
	} else if (strcmp(p->net, "kcp") == 0) {
		qadd(q, "headerType", jstr(jobj(p->tr, "header"), "type"));
		qadd(q, "seed", jstr(p->tr, "seed"));
	} else if (strcmp(p->net, "ws") == 0 || strcmp(p->net, "httpupgrade") == 0) {
		qadd(q, "path", jstr(p->tr, "path"));
		qadd(q, "host", transport_host(p->tr));
	} else if (strcmp(p->net, "grpc") == 0) {
		qadd(q, "serviceName", jstr(p->tr, "serviceName"));
		qadd(q, "authority", jstr(p->tr, "authority"));
		if (json_object_get_boolean(json_object_object_get(p->tr, "multiMode")))
			qadd(q, "mode", "multi");
	} else if (strcmp(p->net, "xhttp") == 0) {
		qadd(q, "path", jstr(p->tr, "path"));
		qadd(q, "host", transport_host(p->tr));
		qadd(q, "mode", jstr(p->tr, "mode"));
	}
}

/* tls/reality keys (6.2); spx and alpn live in caller-owned storage. */
static void
security_query(struct query *q, const struct parsed *p, const struct link_in *in,
    struct buf *alpn, char spx[17])
{
	struct json_object *s = jobj(p->tls, "settings");

	qadd(q, "security", p->sec);
	if (strcmp(p->sec, "tls") == 0) {
		alpn_join(alpn, p->tls);
		qadd(q, "alpn", alpn->p);
		qadd(q, "sni", jstr(p->tls, "serverName"));
		qadd(q, "fp", jstr(s, "fingerprint"));
		/* The v2 sub server passes it on; v3 replaced it (contract: vcn, pcs). */
		if (in->gen == LINK_GEN_V2 &&
		    json_object_get_boolean(json_object_object_get(s, "allowInsecure")))
			qadd(q, "allowInsecure", "1");
	} else if (strcmp(p->sec, "reality") == 0) {
		qadd(q, "pbk", jstr(s, "publicKey"));
		qadd(q, "fp", jstr(s, "fingerprint"));
		qadd(q, "sni", jfirst(p->tls, "serverNames"));
		qadd(q, "sid", jfirst(p->tls, "shortIds"));
		qadd(q, "pqv", jstr(s, "mldsa65Verify"));
		spx_make(spx, jstr(s, "spiderX"), nonempty(in->sub_id) ? in->sub_id : in->email);
		qadd(q, "spx", spx);
	}
}

static int
vless_trojan(struct buf *b, const struct link_in *in, const struct parsed *p, int vless)
{
	struct query	 q = { .n = 0 };
	struct buf	 alpn;
	char		 spx[17];
	const char	*enc = jstr(p->settings, "encryption");
	int		 tcp = strcmp(p->net, "tcp") == 0, flow;

	buf_init(&alpn);
	transport_query(&q, p);
	if (vless)
		qadd(&q, "encryption", enc);
	security_query(&q, p, in, &alpn, spx);
	if (vless)
		flow = (tcp && strcmp(p->sec, "none") != 0) ||
		    (in->gen >= LINK_GEN_V34 && strcmp(p->net, "xhttp") == 0 &&
		     nonempty(enc) && strcmp(enc, "none") != 0);
	else
		flow = tcp && strcmp(p->sec, "reality") == 0;
	if (flow)
		qadd(&q, "flow", in->flow);
	buf_puts(b, vless ? "vless://" : "trojan://");
	if (vless)
		buf_puts(b, in->id);
	else
		query_escape(b, in->id, 0);
	buf_putc(b, '@');
	put_hostport(b, link_addr(in), in->port);
	query_write(b, &q);
	put_fragment(b, in);
	buf_free(&alpn);
	return 0;
}

/* Standard base64 of s[0..n), padded; url: RawURLEncoding (no padding). */
static void
base64_std(struct buf *b, const char *s, size_t n, int url)
{
	unsigned char	*enc = xmalloc(4 * ((n + 2) / 3) + 1);
	int		 m, i;

	m = EVP_EncodeBlock(enc, (const unsigned char *)s, (int)n);
	if (url) {
		while (m > 0 && enc[m - 1] == '=')
			m--;
		for (i = 0; i < m; i++)
			enc[i] = enc[i] == '+' ? '-' : enc[i] == '/' ? '_' : enc[i];
	}
	buf_add(b, enc, (size_t)m);
	free(enc);
}

/* vmess (6.3): base64 of Go's MarshalIndent with sorted keys. */
static int
vmess(struct buf *b, const struct link_in *in, const struct parsed *p)
{
	/* Kept in Go's (byte) key order; NULL value: key absent. */
	const char	*add, *alpn = NULL, *authority = NULL, *fp = NULL, *host = NULL,
			*mode = NULL, *path = NULL, *sni = NULL, *type = "none", *t,
			*scy = in->security;
	struct json_object *req, *s = NULL, *insecure = NULL;
	struct buf	 j, a, r;

	buf_init(&a);
	buf_init(&j);
	buf_init(&r);
	add = link_addr(in);	/* bare, even IPv6: the port is a separate key */
	if (scy == NULL)
		scy = "";
	if (in->gen >= LINK_GEN_V35 && (*scy == '\0' || strcmp(scy, "none") == 0 ||
	    strcmp(scy, "zero") == 0))
		scy = "auto";
	/*
	 * As the Go code: a key that applies to the transport is written
	 * even when empty (JSON has no empty-component problem), so
	 * "" here means present and NULL absent.
	 */
#define OR_EMPTY(x) ((x) != NULL ? (x) : "")
	if (strcmp(p->net, "tcp") == 0) {
		if ((t = jstr(jobj(p->tr, "header"), "type")) != NULL)
			type = t;
		if (tcp_http(p)) {
			req = jobj(jobj(p->tr, "header"), "request");
			path = OR_EMPTY(jfirst(req, "path"));
			host = OR_EMPTY(jfirst(jobj(req, "headers"), "Host"));
		}
	} else if (strcmp(p->net, "kcp") == 0) {
		type = OR_EMPTY(jstr(jobj(p->tr, "header"), "type"));
		path = OR_EMPTY(jstr(p->tr, "seed"));
	} else if (strcmp(p->net, "ws") == 0 || strcmp(p->net, "httpupgrade") == 0) {
		path = OR_EMPTY(jstr(p->tr, "path"));
		host = OR_EMPTY(transport_host(p->tr));
	} else if (strcmp(p->net, "grpc") == 0) {
		path = OR_EMPTY(jstr(p->tr, "serviceName"));
		authority = OR_EMPTY(jstr(p->tr, "authority"));
		if (json_object_get_boolean(json_object_object_get(p->tr, "multiMode")))
			type = "multi";
	} else if (strcmp(p->net, "xhttp") == 0) {
		path = OR_EMPTY(jstr(p->tr, "path"));
		host = OR_EMPTY(transport_host(p->tr));
		mode = OR_EMPTY(jstr(p->tr, "mode"));
	}
#undef OR_EMPTY
	if (strcmp(p->sec, "tls") == 0) {
		s = jobj(p->tls, "settings");
		alpn_join(&a, p->tls);
		alpn = a.len > 0 ? a.p : NULL;
		sni = jstr(p->tls, "serverName");
		fp = jstr(s, "fingerprint");
		/* v2: a bool whenever the key is there (true or false). */
		if (in->gen != LINK_GEN_V2 || s == NULL ||
		    !json_object_object_get_ex(s, "allowInsecure", &insecure) ||
		    !json_object_is_type(insecure, json_type_boolean))
			insecure = NULL;
	} else if (strcmp(p->sec, "reality") == 0) {
		buf_free(&a);
		buf_free(&j);
		buf_free(&r);
		return -1;	/* xray has no vmess over reality */
	}
	if (nonempty(in->remark))
		buf_puts(&r, in->remark);
	if (nonempty(in->email))
		buf_printf(&r, "%s%s", r.len > 0 ? "-" : "", in->email);

#define JS(k, v) do { if ((v) != NULL) { buf_puts(&j, ",\n  \"" k "\": "); buf_json_str(&j, (v)); } } while (0)
	buf_puts(&j, "{\n  \"add\": ");
	buf_json_str(&j, add);
	if (insecure != NULL)
		buf_printf(&j, ",\n  \"allowInsecure\": %s",
		    json_object_get_boolean(insecure) ? "true" : "false");
	JS("alpn", alpn);
	JS("authority", authority);
	JS("fp", fp);
	JS("host", host);
	buf_puts(&j, ",\n  \"id\": ");
	buf_json_str(&j, in->id);
	JS("mode", mode);
	buf_puts(&j, ",\n  \"net\": ");
	buf_json_str(&j, p->net);
	JS("path", path);
	buf_printf(&j, ",\n  \"port\": %d,\n  \"ps\": ", in->port);
	buf_json_str(&j, r.p ? r.p : "");
	buf_puts(&j, ",\n  \"scy\": ");
	buf_json_str(&j, scy);
	JS("sni", sni);
	buf_puts(&j, ",\n  \"tls\": ");
	buf_json_str(&j, p->sec);
	buf_puts(&j, ",\n  \"type\": ");
	buf_json_str(&j, type);
	buf_puts(&j, ",\n  \"v\": \"2\"\n}");
#undef JS
	buf_puts(b, "vmess://");
	base64_std(b, j.p, j.len, 0);
	buf_free(&a);
	buf_free(&j);
	buf_free(&r);
	return 0;
}

/* shadowsocks (6.4). */
static int
shadowsocks(struct buf *b, const struct link_in *in, const struct parsed *p)
{
	struct query	 q = { .n = 0 };
	struct buf	 u, alpn, plugin;
	const char	*method = jstr(p->settings, "method"), *spw = jstr(p->settings, "password");
	char		 spx[17];
	int		 ss2022;

	if (!nonempty(method))
		return -1;
	ss2022 = strncmp(method, "2022-", 5) == 0;
	if (ss2022 && !nonempty(spw))
		return -1;
	buf_init(&u);
	buf_init(&alpn);
	buf_init(&plugin);
	buf_puts(b, "ss://");
	if (ss2022 && in->gen >= LINK_GEN_V34) {
		query_escape(b, method, 0);
		buf_putc(b, ':');
		query_escape(b, spw, 0);
		buf_putc(b, ':');
		query_escape(b, in->id, 0);
	} else {
		if (ss2022)
			buf_printf(&u, "%s:%s:%s", method, spw, in->id);
		else
			buf_printf(&u, "%s:%s", method, in->id);
		base64_std(b, u.p, u.len, in->gen >= LINK_GEN_V32);
	}
	buf_putc(b, '@');
	put_hostport(b, link_addr(in), in->port);
	if (in->gen >= LINK_GEN_V34 && tcp_http(p)) {
		/* SIP002 plugin instead of headerType/path/host. */
		const char *h = jfirst(jobj(jobj(jobj(p->tr, "header"), "request"), "headers"), "Host");

		buf_puts(&plugin, "obfs-local;obfs=http");
		if (nonempty(h))
			buf_printf(&plugin, ";obfs-host=%s", h);
		qadd(&q, "type", p->net);
		qadd(&q, "plugin", plugin.p);
	} else
		transport_query(&q, p);
	if (strcmp(p->sec, "tls") == 0)
		security_query(&q, p, in, &alpn, spx);
	query_write(b, &q);
	put_fragment(b, in);
	buf_free(&u);
	buf_free(&alpn);
	buf_free(&plugin);
	return 0;
}

int
link_build(struct buf *out, const struct link_in *in, const char **err)
{
	struct parsed	 p;
	struct buf	 b;
	int		 rc = -1;

	*err = NULL;
	if (in->protocol == NULL || !addr_ok(link_addr(in)) || in->port <= 0 ||
	    in->port > 65535 || !nonempty(in->id)) {
		*err = "the inbound has no protocol, address or port, or the client no id";
		return -1;
	}
	if (parse_inputs(in, &p, err) != 0)
		goto done;
	buf_init(&b);
	if (strcmp(in->protocol, "vless") == 0)
		rc = vless_trojan(&b, in, &p, 1);
	else if (strcmp(in->protocol, "trojan") == 0)
		rc = vless_trojan(&b, in, &p, 0);
	else if (strcmp(in->protocol, "vmess") == 0)
		rc = vmess(&b, in, &p);
	else if (strcmp(in->protocol, "shadowsocks") == 0)
		rc = shadowsocks(&b, in, &p);
	else
		*err = "unsupported protocol";
	if (rc == 0)
		buf_add(out, b.p, b.len);
	else if (*err == NULL)
		*err = "the inbound's settings lack what this protocol needs";
	buf_free(&b);
done:
	json_object_put(p.stream);
	json_object_put(p.settings);
	return rc;
}
