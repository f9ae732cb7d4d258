/*
 * sub.c: subscription bodies in four formats (sub.h).
 *
 * base64 is what 3X-UI's own subscription server serves: the share
 * links of links.c, one a line, base64 (StdEncoding).  The structured
 * formats are built from the same inputs: each client's inbound
 * (stream settings, settings) is read into one struct proxy, and each
 * writer turns that into its own shape, so the three always carry the
 * same servers.  Every scalar is written as a JSON string literal, which
 * is also a valid YAML double-quoted scalar, so no remark or path can
 * break the YAML.  Names are "remark-email" as the link's fragment, made
 * unique with " 2", " 3"... (Clash refuses duplicate proxy names).
 *
 * What a format cannot express is left out (counted in *skipped), never
 * approximated: vmess over reality does not exist; Clash has no kcp or
 * xhttp; sing-box has no kcp, xhttp or tcp http header obfuscation.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "sub.h"
#include "json_get.h"
#include "links.h"

const char *const sub_format_names[SUB__MAX] = { "base64", "clash", "singbox", "v2ray" };

struct proxy {
	char		*name;
	const char	*type;		/* vless vmess trojan shadowsocks */
	const char	*server;
	int		 port;
	const char	*id;		/* uuid or password */
	const char	*flow;
	const char	*cipher;	/* vmess scy, ss method */
	char		*ss_password;	/* ss: the client's, or server:client for 2022 */
	const char	*net;		/* tcp ws grpc httpupgrade kcp xhttp */
	const char	*path, *host, *service, *mode;
	int		 http_header;	/* tcp with the http header */
	int		 multi;		/* grpc multiMode */
	const char	*sec;		/* none tls reality */
	const char	*sni, *fp, *pbk, *sid, *spx;
	char		*alpn;		/* comma-joined, or NULL */
	int		 insecure;
	struct json_object *stream, *settings;	/* owned */
};

static int
nonempty(const char *s)
{
	return s != NULL && *s != '\0';
}

static void
proxy_free(struct proxy *p)
{
	free(p->name);
	free(p->ss_password);
	free(p->alpn);
	json_object_put(p->stream);
	json_object_put(p->settings);
	memset(p, 0, sizeof(*p));
}

/*
 * Read one client into p: 0, or -1 when its inbound is not one these
 * formats can carry (p is then freed).  The address rule is links.c's
 * (6.1): a routable listen, else the public host.
 */
static int
proxy_read(struct proxy *p, const struct link_in *in)
{
	struct json_object *tr = NULL, *tls = NULL, *s, *a, *e, *req;
	const char *l = in->listen, *key = NULL, *t;
	struct buf b;
	size_t	 i;

	memset(p, 0, sizeof(*p));
	if (in->protocol == NULL || !nonempty(in->id) || in->port <= 0 || in->port > 65535 ||
	    in->stream_json == NULL || in->settings_json == NULL)
		return -1;
	p->stream = json_tokener_parse(in->stream_json);
	p->settings = json_tokener_parse(in->settings_json);
	if (p->stream == NULL || p->settings == NULL ||
	    !json_object_is_type(p->stream, json_type_object) ||
	    !json_object_is_type(p->settings, json_type_object))
		goto bad;
	p->type = in->protocol;
	if (strcmp(p->type, "vless") != 0 && strcmp(p->type, "vmess") != 0 &&
	    strcmp(p->type, "trojan") != 0 && strcmp(p->type, "shadowsocks") != 0)
		goto bad;
	p->server = nonempty(l) && strcmp(l, "0.0.0.0") != 0 && strcmp(l, "::") != 0 &&
	    strcmp(l, "::0") != 0 ? l : in->host;
	if (!nonempty(p->server) || strpbrk(p->server, "/?#@ \"'\\") != NULL)
		goto bad;
	p->port = in->port;
	p->id = in->id;
	p->flow = in->flow;
	buf_init(&b);
	if (nonempty(in->remark))
		buf_puts(&b, in->remark);
	if (nonempty(in->email))
		buf_printf(&b, "%s%s", b.len > 0 ? "-" : "", in->email);
	if (b.len == 0)
		buf_printf(&b, "%s-%d", p->server, p->port);
	p->name = xstrdup(b.p);
	buf_free(&b);

	p->net = jstr(p->stream, "network");
	if (!nonempty(p->net))
		p->net = "tcp";
	if ((key = link_net_settings_key(p->net)) == NULL)
		goto bad;
	tr = jobj(p->stream, key);
	if (strcmp(p->net, "tcp") == 0) {
		t = jstr(jobj(tr, "header"), "type");
		if (t != NULL && strcmp(t, "http") == 0) {
			p->http_header = 1;
			req = jobj(jobj(tr, "header"), "request");
			p->path = jfirst(req, "path");
			p->host = jfirst(jobj(req, "headers"), "Host");
		}
	} else if (strcmp(p->net, "grpc") == 0) {
		p->service = jstr(tr, "serviceName");
		p->multi = json_object_get_boolean(json_object_object_get(tr, "multiMode"));
	} else if (strcmp(p->net, "kcp") != 0) {
		p->path = jstr(tr, "path");
		p->host = jstr(tr, "host");
		if (!nonempty(p->host))
			p->host = jfirst(jobj(tr, "headers"), "Host");
		p->mode = jstr(tr, "mode");
	}

	p->sec = jstr(p->stream, "security");
	if (!nonempty(p->sec))
		p->sec = "none";
	if (strcmp(p->sec, "tls") == 0) {
		tls = jobj(p->stream, "tlsSettings");
		s = jobj(tls, "settings");
		p->sni = jstr(tls, "serverName");
		p->fp = jstr(s, "fingerprint");
		p->insecure = json_object_get_boolean(json_object_object_get(s, "allowInsecure"));
	} else if (strcmp(p->sec, "reality") == 0) {
		tls = jobj(p->stream, "realitySettings");
		s = jobj(tls, "settings");
		p->sni = jfirst(tls, "serverNames");
		p->sid = jfirst(tls, "shortIds");
		p->pbk = jstr(s, "publicKey");
		p->fp = jstr(s, "fingerprint");
		p->spx = jstr(s, "spiderX");
		if (!nonempty(p->pbk) || strcmp(p->type, "vmess") == 0)
			goto bad;
	} else if (strcmp(p->sec, "none") != 0)
		goto bad;
	if (tls != NULL && json_object_object_get_ex(tls, "alpn", &a) &&
	    json_object_is_type(a, json_type_array)) {
		buf_init(&b);
		for (i = 0; i < json_object_array_length(a); i++) {
			e = json_object_array_get_idx(a, i);
			if (!json_object_is_type(e, json_type_string) ||
			    *json_object_get_string(e) == '\0')
				continue;
			buf_printf(&b, "%s%s", b.len > 0 ? "," : "", json_object_get_string(e));
		}
		if (b.len > 0)
			p->alpn = xstrdup(b.p);
		buf_free(&b);
	}

	if (strcmp(p->type, "vmess") == 0) {
		p->cipher = nonempty(in->security) && strcmp(in->security, "none") != 0 &&
		    strcmp(in->security, "zero") != 0 ? in->security : "auto";
	} else if (strcmp(p->type, "shadowsocks") == 0) {
		p->cipher = jstr(p->settings, "method");
		if (!nonempty(p->cipher))
			goto bad;
		buf_init(&b);
		if (strncmp(p->cipher, "2022-", 5) == 0) {
			if (!nonempty(jstr(p->settings, "password"))) {
				buf_free(&b);
				goto bad;
			}
			buf_printf(&b, "%s:%s", jstr(p->settings, "password"), p->id);
		} else
			buf_puts(&b, p->id);
		p->ss_password = xstrdup(b.p);
		buf_free(&b);
	}
	return 0;
bad:
	proxy_free(p);
	return -1;
}

/* Make p's name unique among the first n of ps. */
static void
name_unique(struct proxy *ps, size_t n, struct proxy *p)
{
	struct buf b;
	size_t	 i;
	int	 k = 1, clash;

	do {
		buf_init(&b);
		if (k == 1)
			buf_puts(&b, p->name);
		else
			buf_printf(&b, "%s %d", p->name, k);
		for (clash = 0, i = 0; i < n && !clash; i++)
			clash = strcmp(ps[i].name, b.p) == 0;
		if (!clash && k > 1) {
			free(p->name);
			p->name = xstrdup(b.p);
		}
		buf_free(&b);
		k++;
	} while (clash);
}

/* ---- Clash Meta (mihomo) YAML ---- */

#define Q(b, s)	buf_json_str((b), (s))

static int
clash_ok(const struct proxy *p)
{
	return strcmp(p->net, "kcp") != 0 && strcmp(p->net, "xhttp") != 0;
}

static void
clash_alpn(struct buf *b, const char *alpn, const char *indent)
{
	char	*copy, *tok, *save = NULL;

	if (alpn == NULL)
		return;
	buf_printf(b, "%salpn:\n", indent);
	copy = xstrdup(alpn);
	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		buf_printf(b, "%s  - ", indent);
		Q(b, tok);
		buf_putc(b, '\n');
	}
	free(copy);
}

static void
clash_proxy(struct buf *b, const struct proxy *p)
{
	const char *in = "    ";
	int	 tls = strcmp(p->sec, "none") != 0;

	buf_puts(b, "  - name: ");
	Q(b, p->name);
	buf_printf(b, "\n%stype: %s\n%sserver: ", in,
	    strcmp(p->type, "shadowsocks") == 0 ? "ss" : p->type, in);
	Q(b, p->server);
	buf_printf(b, "\n%sport: %d\n%sudp: true\n", in, p->port, in);
	if (strcmp(p->type, "vless") == 0 || strcmp(p->type, "vmess") == 0) {
		buf_printf(b, "%suuid: ", in);
		Q(b, p->id);
		buf_putc(b, '\n');
	}
	if (strcmp(p->type, "vmess") == 0) {
		buf_printf(b, "%salterId: 0\n%scipher: ", in, in);
		Q(b, p->cipher);
		buf_putc(b, '\n');
	} else if (strcmp(p->type, "trojan") == 0) {
		buf_printf(b, "%spassword: ", in);
		Q(b, p->id);
		buf_putc(b, '\n');
	} else if (strcmp(p->type, "shadowsocks") == 0) {
		buf_printf(b, "%scipher: ", in);
		Q(b, p->cipher);
		buf_printf(b, "\n%spassword: ", in);
		Q(b, p->ss_password);
		buf_putc(b, '\n');
	}
	if (nonempty(p->flow) && strcmp(p->type, "vless") == 0 && strcmp(p->net, "tcp") == 0 && tls) {
		buf_printf(b, "%sflow: ", in);
		Q(b, p->flow);
		buf_putc(b, '\n');
	}
	if (strcmp(p->type, "shadowsocks") != 0 || strcmp(p->net, "tcp") != 0 || p->http_header)
		buf_printf(b, "%snetwork: %s\n", in, p->http_header ? "http" :
		    strcmp(p->net, "httpupgrade") == 0 ? "ws" : p->net);
	if (tls) {
		if (strcmp(p->type, "trojan") != 0)
			buf_printf(b, "%stls: true\n", in);
		if (nonempty(p->sni)) {
			buf_printf(b, "%s%s: ", in, strcmp(p->type, "vless") == 0 ||
			    strcmp(p->type, "vmess") == 0 ? "servername" : "sni");
			Q(b, p->sni);
			buf_putc(b, '\n');
		}
		if (nonempty(p->fp)) {
			buf_printf(b, "%sclient-fingerprint: ", in);
			Q(b, p->fp);
			buf_putc(b, '\n');
		}
		if (p->insecure)
			buf_printf(b, "%sskip-cert-verify: true\n", in);
		clash_alpn(b, p->alpn, in);
	}
	if (strcmp(p->sec, "reality") == 0) {
		buf_printf(b, "%sreality-opts:\n%s  public-key: ", in, in);
		Q(b, p->pbk);
		buf_putc(b, '\n');
		if (nonempty(p->sid)) {
			buf_printf(b, "%s  short-id: ", in);
			Q(b, p->sid);
			buf_putc(b, '\n');
		}
	}
	if (strcmp(p->net, "ws") == 0 || strcmp(p->net, "httpupgrade") == 0) {
		buf_printf(b, "%sws-opts:\n%s  path: ", in, in);
		Q(b, nonempty(p->path) ? p->path : "/");
		buf_putc(b, '\n');
		if (nonempty(p->host)) {
			buf_printf(b, "%s  headers:\n%s    Host: ", in, in);
			Q(b, p->host);
			buf_putc(b, '\n');
		}
		if (strcmp(p->net, "httpupgrade") == 0)
			buf_printf(b, "%s  v2ray-http-upgrade: true\n", in);
	} else if (strcmp(p->net, "grpc") == 0) {
		buf_printf(b, "%sgrpc-opts:\n%s  grpc-service-name: ", in, in);
		Q(b, p->service ? p->service : "");
		buf_putc(b, '\n');
	} else if (p->http_header) {
		buf_printf(b, "%shttp-opts:\n%s  method: \"GET\"\n%s  path:\n%s    - ", in, in, in, in);
		Q(b, nonempty(p->path) ? p->path : "/");
		buf_putc(b, '\n');
		if (nonempty(p->host)) {
			buf_printf(b, "%s  headers:\n%s    Host:\n%s      - ", in, in, in);
			Q(b, p->host);
			buf_putc(b, '\n');
		}
	}
}

static void
clash_write(struct buf *out, struct proxy *ps, size_t n)
{
	size_t	 i;

	buf_puts(out, "mixed-port: 7890\nallow-lan: false\nmode: rule\nlog-level: info\nproxies:\n");
	for (i = 0; i < n; i++)
		clash_proxy(out, &ps[i]);
	if (n == 0)
		buf_puts(out, "  []\n");
	buf_puts(out, "proxy-groups:\n  - name: \"Proxy\"\n    type: select\n    proxies:\n");
	for (i = 0; i < n; i++) {
		buf_puts(out, "      - ");
		Q(out, ps[i].name);
		buf_putc(out, '\n');
	}
	buf_puts(out, "      - \"DIRECT\"\nrules:\n  - \"MATCH,Proxy\"\n");
}

/* ---- sing-box JSON ---- */

static int
singbox_ok(const struct proxy *p)
{
	return strcmp(p->net, "kcp") != 0 && strcmp(p->net, "xhttp") != 0 && !p->http_header;
}

static struct json_object *
j_alpn(const char *alpn)
{
	struct json_object *a = json_object_new_array();
	char	*copy = xstrdup(alpn), *tok, *save = NULL;

	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
		json_object_array_add(a, json_object_new_string(tok));
	free(copy);
	return a;
}

static struct json_object *
singbox_outbound(const struct proxy *p)
{
	struct json_object *o = json_object_new_object(), *t, *u, *h;

	json_object_object_add(o, "type", json_object_new_string(p->type));
	json_object_object_add(o, "tag", json_object_new_string(p->name));
	json_object_object_add(o, "server", json_object_new_string(p->server));
	json_object_object_add(o, "server_port", json_object_new_int(p->port));
	if (strcmp(p->type, "vless") == 0 || strcmp(p->type, "vmess") == 0)
		json_object_object_add(o, "uuid", json_object_new_string(p->id));
	if (strcmp(p->type, "vless") == 0 && nonempty(p->flow) && strcmp(p->net, "tcp") == 0 &&
	    strcmp(p->sec, "none") != 0)
		json_object_object_add(o, "flow", json_object_new_string(p->flow));
	if (strcmp(p->type, "vmess") == 0) {
		json_object_object_add(o, "security", json_object_new_string(p->cipher));
		json_object_object_add(o, "alter_id", json_object_new_int(0));
	} else if (strcmp(p->type, "trojan") == 0)
		json_object_object_add(o, "password", json_object_new_string(p->id));
	else if (strcmp(p->type, "shadowsocks") == 0) {
		json_object_object_add(o, "method", json_object_new_string(p->cipher));
		json_object_object_add(o, "password", json_object_new_string(p->ss_password));
	}
	if (strcmp(p->sec, "none") != 0) {
		t = json_object_new_object();
		json_object_object_add(t, "enabled", json_object_new_boolean(1));
		if (nonempty(p->sni))
			json_object_object_add(t, "server_name", json_object_new_string(p->sni));
		if (p->insecure)
			json_object_object_add(t, "insecure", json_object_new_boolean(1));
		if (p->alpn != NULL)
			json_object_object_add(t, "alpn", j_alpn(p->alpn));
		if (nonempty(p->fp) || strcmp(p->sec, "reality") == 0) {
			u = json_object_new_object();
			json_object_object_add(u, "enabled", json_object_new_boolean(1));
			json_object_object_add(u, "fingerprint",
			    json_object_new_string(nonempty(p->fp) ? p->fp : "chrome"));
			json_object_object_add(t, "utls", u);
		}
		if (strcmp(p->sec, "reality") == 0) {
			u = json_object_new_object();
			json_object_object_add(u, "enabled", json_object_new_boolean(1));
			json_object_object_add(u, "public_key", json_object_new_string(p->pbk));
			json_object_object_add(u, "short_id", json_object_new_string(p->sid ? p->sid : ""));
			json_object_object_add(t, "reality", u);
		}
		json_object_object_add(o, "tls", t);
	}
	if (strcmp(p->net, "tcp") != 0) {
		t = json_object_new_object();
		json_object_object_add(t, "type", json_object_new_string(p->net));
		if (strcmp(p->net, "grpc") == 0)
			json_object_object_add(t, "service_name", json_object_new_string(p->service ? p->service : ""));
		else {
			json_object_object_add(t, "path", json_object_new_string(nonempty(p->path) ? p->path : "/"));
			if (nonempty(p->host) && strcmp(p->net, "ws") == 0) {
				h = json_object_new_object();
				json_object_object_add(h, "Host", json_object_new_string(p->host));
				json_object_object_add(t, "headers", h);
			} else if (nonempty(p->host))
				json_object_object_add(t, "host", json_object_new_string(p->host));
		}
		json_object_object_add(o, "transport", t);
	}
	return o;
}

static void
singbox_write(struct buf *out, struct proxy *ps, size_t n)
{
	struct json_object *root = json_object_new_object(), *obs = json_object_new_array(), *sel, *names;
	size_t	 i;

	names = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(names, json_object_new_string(ps[i].name));
	json_object_array_add(names, json_object_new_string("direct"));
	sel = json_object_new_object();
	json_object_object_add(sel, "type", json_object_new_string("selector"));
	json_object_object_add(sel, "tag", json_object_new_string("proxy"));
	json_object_object_add(sel, "outbounds", names);
	json_object_array_add(obs, sel);
	for (i = 0; i < n; i++)
		json_object_array_add(obs, singbox_outbound(&ps[i]));
	sel = json_object_new_object();
	json_object_object_add(sel, "type", json_object_new_string("direct"));
	json_object_object_add(sel, "tag", json_object_new_string("direct"));
	json_object_array_add(obs, sel);
	json_object_object_add(root, "outbounds", obs);
	buf_puts(out, json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
	buf_putc(out, '\n');
	json_object_put(root);
}

/* ---- v2ray / Xray JSON outbounds ---- */

static struct json_object *
v2ray_stream(const struct proxy *p)
{
	struct json_object *s = json_object_new_object(), *t, *h, *v;
	const char *key = NULL;

	json_object_object_add(s, "network", json_object_new_string(p->net));
	json_object_object_add(s, "security", json_object_new_string(p->sec));
	if (strcmp(p->sec, "tls") == 0) {
		t = json_object_new_object();
		if (nonempty(p->sni))
			json_object_object_add(t, "serverName", json_object_new_string(p->sni));
		if (p->alpn != NULL)
			json_object_object_add(t, "alpn", j_alpn(p->alpn));
		if (nonempty(p->fp))
			json_object_object_add(t, "fingerprint", json_object_new_string(p->fp));
		if (p->insecure)
			json_object_object_add(t, "allowInsecure", json_object_new_boolean(1));
		json_object_object_add(s, "tlsSettings", t);
	} else if (strcmp(p->sec, "reality") == 0) {
		t = json_object_new_object();
		json_object_object_add(t, "serverName", json_object_new_string(p->sni ? p->sni : ""));
		json_object_object_add(t, "publicKey", json_object_new_string(p->pbk));
		json_object_object_add(t, "shortId", json_object_new_string(p->sid ? p->sid : ""));
		json_object_object_add(t, "fingerprint", json_object_new_string(nonempty(p->fp) ? p->fp : "chrome"));
		if (nonempty(p->spx))
			json_object_object_add(t, "spiderX", json_object_new_string(p->spx));
		json_object_object_add(s, "realitySettings", t);
	}
	/* The transport's settings as the inbound holds them: client and
	 * server read the same keys for every transport here. */
	if ((key = link_net_settings_key(p->net)) == NULL)
		key = "xhttpSettings";	/* cannot happen: the parse refused it */
	if (strcmp(p->net, "ws") == 0 || strcmp(p->net, "httpupgrade") == 0) {
		t = json_object_new_object();
		json_object_object_add(t, "path", json_object_new_string(nonempty(p->path) ? p->path : "/"));
		if (nonempty(p->host) && strcmp(p->net, "ws") == 0) {
			h = json_object_new_object();
			json_object_object_add(h, "Host", json_object_new_string(p->host));
			json_object_object_add(t, "headers", h);
		} else if (nonempty(p->host))
			json_object_object_add(t, "host", json_object_new_string(p->host));
		json_object_object_add(s, key, t);
	} else if (strcmp(p->net, "grpc") == 0) {
		t = json_object_new_object();
		json_object_object_add(t, "serviceName", json_object_new_string(p->service ? p->service : ""));
		if (p->multi)
			json_object_object_add(t, "multiMode", json_object_new_boolean(1));
		json_object_object_add(s, key, t);
	} else if (json_object_object_get_ex(p->stream, key, &v) &&
	    json_object_is_type(v, json_type_object))
		json_object_object_add(s, key, json_object_get(v));
	return s;
}

static struct json_object *
v2ray_outbound(const struct proxy *p)
{
	struct json_object *o = json_object_new_object(), *set = json_object_new_object(), *a, *srv, *u, *us;

	json_object_object_add(o, "tag", json_object_new_string(p->name));
	json_object_object_add(o, "protocol", json_object_new_string(p->type));
	srv = json_object_new_object();
	json_object_object_add(srv, "address", json_object_new_string(p->server));
	json_object_object_add(srv, "port", json_object_new_int(p->port));
	a = json_object_new_array();
	if (strcmp(p->type, "vless") == 0 || strcmp(p->type, "vmess") == 0) {
		u = json_object_new_object();
		json_object_object_add(u, "id", json_object_new_string(p->id));
		if (strcmp(p->type, "vless") == 0) {
			json_object_object_add(u, "encryption", json_object_new_string("none"));
			if (nonempty(p->flow) && strcmp(p->net, "tcp") == 0 && strcmp(p->sec, "none") != 0)
				json_object_object_add(u, "flow", json_object_new_string(p->flow));
		} else {
			json_object_object_add(u, "alterId", json_object_new_int(0));
			json_object_object_add(u, "security", json_object_new_string(p->cipher));
		}
		us = json_object_new_array();
		json_object_array_add(us, u);
		json_object_object_add(srv, "users", us);
		json_object_array_add(a, srv);
		json_object_object_add(set, "vnext", a);
	} else {
		if (strcmp(p->type, "trojan") == 0)
			json_object_object_add(srv, "password", json_object_new_string(p->id));
		else {
			json_object_object_add(srv, "method", json_object_new_string(p->cipher));
			json_object_object_add(srv, "password", json_object_new_string(p->ss_password));
		}
		json_object_array_add(a, srv);
		json_object_object_add(set, "servers", a);
	}
	json_object_object_add(o, "settings", set);
	json_object_object_add(o, "streamSettings", v2ray_stream(p));
	return o;
}

static void
v2ray_write(struct buf *out, struct proxy *ps, size_t n)
{
	struct json_object *root = json_object_new_object(), *obs = json_object_new_array(), *d;
	size_t	 i;

	for (i = 0; i < n; i++)
		json_object_array_add(obs, v2ray_outbound(&ps[i]));
	d = json_object_new_object();
	json_object_object_add(d, "tag", json_object_new_string("direct"));
	json_object_object_add(d, "protocol", json_object_new_string("freedom"));
	json_object_array_add(obs, d);
	json_object_object_add(root, "outbounds", obs);
	buf_puts(out, json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
	buf_putc(out, '\n');
	json_object_put(root);
}

/* ---- the entry points ---- */

int
sub_format_of(const char *format, const char *ua)
{
	int	 i;

	if (format != NULL) {
		for (i = 0; i < SUB__MAX; i++)
			if (strcmp(format, sub_format_names[i]) == 0)
				return i;
		return -1;
	}
	if (ua == NULL)
		return SUB_BASE64;
	if (strcasestr(ua, "clash") != NULL || strcasestr(ua, "mihomo") != NULL ||
	    strcasestr(ua, "stash") != NULL)
		return SUB_CLASH;
	/* SFA, SFI, SFM, SFT: the sing-box apps for Android, iOS, macOS, tvOS. */
	if (strcasestr(ua, "sing-box") != NULL || strncmp(ua, "SFA", 3) == 0 ||
	    strncmp(ua, "SFI", 3) == 0 || strncmp(ua, "SFM", 3) == 0 || strncmp(ua, "SFT", 3) == 0)
		return SUB_SINGBOX;
	return SUB_BASE64;
}

const char *
sub_content_type(enum sub_format f)
{
	switch (f) {
	case SUB_CLASH:
		return "text/yaml; charset=utf-8";
	case SUB_SINGBOX:
	case SUB_V2RAY:
		return "application/json";
	default:
		return "text/plain; charset=utf-8";
	}
}

const char *
sub_file_name(enum sub_format f)
{
	switch (f) {
	case SUB_CLASH:
		return "proxies.yaml";
	case SUB_SINGBOX:
		return "proxies-singbox.json";
	case SUB_V2RAY:
		return "proxies-v2ray.json";
	default:
		return "proxies.txt";
	}
}

void
sub_write(struct buf *out, enum sub_format f, const struct link_in *in, size_t n, size_t *skipped)
{
	struct proxy	*ps;
	struct buf	 links;
	const char	*err;
	unsigned char	*enc;
	size_t		 i, m = 0;
	int		 k;

	*skipped = 0;
	if (f == SUB_BASE64) {
		buf_init(&links);
		for (i = 0; i < n; i++) {
			size_t	 before = links.len;

			if (links.len > 0)
				buf_putc(&links, '\n');
			if (link_build(&links, &in[i], &err) != 0) {
				links.len = before;
				if (links.p != NULL)
					links.p[before] = '\0';
				(*skipped)++;
			}
		}
		enc = xmalloc(4 * ((links.len + 2) / 3) + 1);
		k = EVP_EncodeBlock(enc, (const unsigned char *)(links.p ? links.p : ""), (int)links.len);
		buf_add(out, enc, (size_t)k);
		free(enc);
		buf_free(&links);
		return;
	}
	ps = xcalloc(n ? n : 1, sizeof(*ps));
	for (i = 0; i < n; i++) {
		if (proxy_read(&ps[m], &in[i]) != 0) {
			(*skipped)++;
			continue;
		}
		if ((f == SUB_CLASH && !clash_ok(&ps[m])) || (f == SUB_SINGBOX && !singbox_ok(&ps[m]))) {
			proxy_free(&ps[m]);
			(*skipped)++;
			continue;
		}
		name_unique(ps, m, &ps[m]);
		m++;
	}
	if (f == SUB_CLASH)
		clash_write(out, ps, m);
	else if (f == SUB_SINGBOX)
		singbox_write(out, ps, m);
	else
		v2ray_write(out, ps, m);
	for (i = 0; i < m; i++)
		proxy_free(&ps[i]);
	free(ps);
}
