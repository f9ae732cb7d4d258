/*
 * cmd_test.c: hidden test entry points (Fossil's test-* commands).
 *
 *   test-unit      TAP unit tests of the arena, buffers and escaping,
 *                  UTF-8, the parsers, the router, config and views
 *   test-views     load every template; exit 1 naming the first error
 *   test-render T  render template T with a model read as key=value
 *                  lines on stdin (a value "@html:" prefix marks it trusted)
 *   test-parse K   run parser K (query, cookie, multipart, json, template,
 *                  utf8) over stdin as the fuzzers do; print its verdict
 *   test-html      libxml2's verdict on an HTML document on stdin
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <libxml/HTMLparser.h>
#include <libxml/xmlerror.h>

#include "cmd.h"
#include "conf.h"
#include "http.h"
#include "parse_probe.h"
#include "route.h"
#include "view.h"

static int tap_n, tap_fail;

static void
ok(int cond, const char *what)
{
	tap_n++;
	if (!cond)
		tap_fail++;
	printf("%sok %d - %s\n", cond ? "" : "not ", tap_n, what);
}

static void
is_str(const char *got, const char *want, const char *what)
{
	int	 same = got && want && strcmp(got, want) == 0;

	ok(same, what);
	if (!same)
		printf("#   got:  \"%s\"\n#   want: \"%s\"\n", got ? got : "(null)", want ? want : "(null)");
}

static void
t_arena(void)
{
	struct arena *a = arena_new(1024);
	char	*p;
	int	 i, aligned = 1;

	for (i = 0; i < 1000; i++) {
		p = arena_alloc(a, (size_t)(i % 37) + 1);
		if (((uintptr_t)p % _Alignof(max_align_t)) != 0)
			aligned = 0;
		memset(p, 'x', (size_t)(i % 37) + 1);
	}
	ok(aligned, "arena: every allocation is aligned");
	ok(arena_used(a) > 1024, "arena: grows past its first block");
	p = arena_alloc(a, 1 << 20);
	memset(p, 0, 1 << 20);
	ok(p != NULL, "arena: a large allocation gets its own block");
	arena_reset(a);
	ok(arena_used(a) == 0, "arena: reset empties it");
	is_str(arena_printf(a, "%s-%d", "a", 7), "a-7", "arena: printf");
	arena_free(a);
}

static void
t_escape(void)
{
	struct buf b;

	buf_init(&b);
	buf_html(&b, "<a href=\"x\">'&'</a>");
	is_str(b.p, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;", "html escaping");
	buf_reset(&b);
	buf_urlenc(&b, "a b&c=d/é");
	is_str(b.p, "a%20b%26c%3Dd%2F%C3%A9", "url component encoding");
	buf_reset(&b);
	buf_json_str(&b, "q\"\\\n</script>");
	is_str(b.p, "\"q\\\"\\\\\\n\\u003c/script\\u003e\"", "json string escaping");
	buf_reset(&b);
	buf_money(&b, 123456, "USD");
	is_str(b.p, "$1234.56", "money: minor units, no floating point");
	buf_reset(&b);
	buf_money(&b, -5, "EUR");
	is_str(b.p, "-\xe2\x82\xac" "0.05", "money: negative and small");
	buf_reset(&b);
	buf_bytes(&b, 50LL * 1024 * 1024 * 1024);
	is_str(b.p, "50 GB", "bytes");
	buf_free(&b);
}

static void
t_utf8(void)
{
	ok(utf8_valid("héllo", 6, 0), "utf8: valid two-byte");
	ok(!utf8_valid("\xc0\xaf", 2, 0), "utf8: overlong refused");
	ok(!utf8_valid("\xed\xa0\x80", 3, 0), "utf8: surrogate refused");
	ok(!utf8_valid("\xf4\x90\x80\x80", 4, 0), "utf8: beyond U+10FFFF refused");
	ok(!utf8_valid("a\0b", 3, 0), "utf8: NUL refused");
	ok(!utf8_valid("a\x01", 2, 0), "utf8: control refused");
	ok(!utf8_valid("a\nb", 3, 0) && utf8_valid("a\nb", 3, 1), "utf8: newline only where allowed");
	ok(!utf8_valid("\xe2\x82", 2, 0), "utf8: truncated sequence refused");
}

static struct request *
fake_request(struct arena *a)
{
	struct request *r = arena_zalloc(a, sizeof(*r));

	r->a = a;
	return r;
}

static void
t_parsers(void)
{
	struct arena *a = arena_new(4096);
	struct request *r = fake_request(a);
	struct limits lim = { 1024, 4, 16 };
	const char *q = "a=1&b=hello+world&c=%41%42&bad%20name=x&&d";

	ok(req_parse_query(r, &r->query, q, strlen(q), &lim) == 0, "query: parses");
	is_str(req_query(r, "b"), "hello world", "query: plus is space");
	is_str(req_query(r, "c"), "AB", "query: percent escapes");
	ok(req_query(r, "bad name") == NULL, "query: odd field names dropped");
	is_str(req_query(r, "d"), "", "query: key without value");

	r = fake_request(a);
	ok(req_parse_query(r, &r->query, "a=%zz", 5, &lim) == 400, "query: bad escape is 400");
	r = fake_request(a);
	ok(req_parse_query(r, &r->query, "a=%", 3, &lim) == 400, "query: truncated escape is 400");
	r = fake_request(a);
	ok(req_parse_query(r, &r->query, "a=1&b=2&c=3&d=4&e=5", 19, &lim) == 400, "query: too many fields is 400");
	r = fake_request(a);
	ok(req_parse_query(r, &r->query, "a=12345678901234567", 19, &lim) == 413, "query: over-long field is 413");
	r = fake_request(a);
	ok(req_parse_query(r, &r->query, "a=%C0%AF", 8, &lim) == 400, "query: invalid UTF-8 is 400");
	r = fake_request(a);
	ok(req_parse_query(r, &r->query, "a=%00", 5, &lim) == 400, "query: NUL is 400");

	r = fake_request(a);
	ok(req_parse_cookies(r, "px_s=abc; other=\"q\"; bad name=1; x", &lim) == 0, "cookies: parse");
	is_str(req_cookie(r, "px_s"), "abc", "cookies: plain value");
	is_str(req_cookie(r, "other"), "q", "cookies: quoted value");

	r = fake_request(a);
	r->ctype = "multipart/form-data; boundary=XyZ";
	r->body = "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue one\r\n"
	    "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\r\n"
	    "Content-Type: text/plain\r\n\r\nfile\r\nbody\r\n--XyZ--\r\n";
	r->body_len = strlen(r->body);
	lim.max_field_len = 100;
	ok(req_parse_body(r, &lim) == 0, "multipart: parses");
	is_str(req_form(r, "a"), "value one", "multipart: text field");
	ok(r->nuploads == 1 && r->uploads[0].len == 10 && memcmp(r->uploads[0].data, "file\r\nbody", 10) == 0,
	    "multipart: file part with CRLF inside");

	r = fake_request(a);
	r->ctype = "multipart/form-data; boundary=XyZ";
	r->body = "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nnever ends";
	r->body_len = strlen(r->body);
	ok(req_parse_body(r, &lim) == 400, "multipart: unterminated part is 400");

	r = fake_request(a);
	r->ctype = "application/json";
	r->body = "{\"a\": [1, 2, {\"b\": null}]}";
	r->body_len = strlen(r->body);
	ok(req_parse_body(r, &lim) == 0 && r->json != NULL, "json: parses");
	if (r->json)
		json_object_put(r->json);
	r = fake_request(a);
	r->ctype = "application/json; charset=utf-8";
	r->body = "{\"a\": 1} trailing";
	r->body_len = strlen(r->body);
	ok(req_parse_body(r, &lim) == 400, "json: trailing garbage is 400");
	r = fake_request(a);
	r->ctype = "application/json";
	r->body = "{\"a\": 1,}";
	r->body_len = strlen(r->body);
	ok(req_parse_body(r, &lim) == 400, "json: strict mode refuses a trailing comma");
	r = fake_request(a);
	r->ctype = "application/x-www-form-urlencoded";
	r->body_len = 2000;
	r->body = arena_zalloc(a, 2001);
	ok(req_parse_body(r, &lim) == 413, "body over max_body is 413");
	arena_free(a);
}

static void
t_router(void)
{
	struct arena *a = arena_new(4096);
	struct request *r = fake_request(a);

	ok(route_match("/plans/{slug}", "/plans/de-vless-basic", r), "router: slug matches");
	is_str(req_param(r, "slug"), "de-vless-basic", "router: slug captured");
	ok(!route_match("/plans/{slug}", "/plans/Bad_Slug", NULL), "router: slug shape enforced");
	ok(!route_match("/plans/{slug}", "/plans/a/b", NULL), "router: extra segment refused");
	ok(route_match("/orders/{id:int}", "/orders/42", NULL), "router: int matches");
	ok(!route_match("/orders/{id:int}", "/orders/042", NULL), "router: leading zero refused");
	ok(!route_match("/orders/{id:int}", "/orders/4x", NULL), "router: non-digit refused");
	ok(!route_match("/", "/x", NULL) && route_match("/", "/", NULL), "router: root exact");
	ok(route_match("/reset/{token}", "/reset/abcdefghijklmnopqrstuvwxyz012345", NULL), "router: token matches");
	ok(!route_match("/reset/{token}", "/reset/short", NULL), "router: short token refused");
	{
		size_t	 i, k;
		int	 dup = 0, csrf_ok = 1;

		for (i = 0; i < nroutes; i++) {
			for (k = i + 1; k < nroutes; k++)
				if (routes[i].method == routes[k].method &&
				    strcmp(routes[i].pattern, routes[k].pattern) == 0)
					dup = 1;
			if (routes[i].method != M_GET && routes[i].who != WHO_WEBHOOK &&
			    routes[i].who != WHO_API && routes[i].csrf != CSRF_CHECK)
				csrf_ok = 0;
		}
		ok(!dup, "routes: no pattern is listed twice for a method");
		ok(csrf_ok, "routes: every cookie-authenticated unsafe route checks CSRF");
	}
	arena_free(a);
}

static void
t_conf(void)
{
	struct conf c;
	char	 err[256], path[] = "/tmp/px-conf-XXXXXX";
	FILE	*f;
	int	 fd;

	ok(conf_load(&c, NULL, err, sizeof(err)) == 0 && c.workers == 4, "conf: defaults");
	ok(conf_set(&c, "workers", "0", err, sizeof(err)) != 0, "conf: range checked");
	ok(conf_set(&c, "nope", "1", err, sizeof(err)) != 0 && strstr(err, "unknown") != NULL, "conf: unknown key refused");
	ok(conf_set(&c, "test_routes", "maybe", err, sizeof(err)) != 0, "conf: bool checked");
	conf_free(&c);
	fd = mkstemp(path);
	f = fdopen(fd, "w");
	fprintf(f, "# comment\nworkers = 3\nsite_name = \"My Shop\"\n\nmax_body = lots\n");
	fclose(f);
	ok(conf_load(&c, path, err, sizeof(err)) != 0 && strstr(err, ":5:") != NULL,
	    "conf: error names the file and line");
	conf_free(&c);
	f = fopen(path, "w");
	fprintf(f, "workers = 3 # three\nsite_name = \"My Shop\"\n");
	fclose(f);
	ok(conf_load(&c, path, err, sizeof(err)) == 0 && c.workers == 3 &&
	    strcmp(c.site_name, "My Shop") == 0, "conf: values, quotes and trailing comments");
	conf_free(&c);
	remove(path);
}

static int
render_str(const char *dir, const char *name, const char *src, struct vm *m, struct buf *out, char *err, size_t errsz)
{
	char	 path[4096];
	FILE	*f;
	struct views *v;
	int	 rc;

	snprintf(path, sizeof(path), "%s/%s.html", dir, name);
	f = fopen(path, "w");
	fputs(src, f);
	fclose(f);
	rc = views_load(&v, dir, err, errsz);
	remove(path);
	if (rc != 0)
		return -1;
	buf_reset(out);
	view_render(v, name, m, out);
	views_free(v);
	return 0;
}

static void
t_views(void)
{
	char	 dir[] = "/tmp/px-views-XXXXXX", err[512];
	struct arena *a = arena_new(4096);
	struct vm *m = vm_new(a), *it;
	struct buf out;

	buf_init(&out);
	if (mkdtemp(dir) == NULL)
		return;
	vm_set(m, "x", "<b>\"hi\"</b>");
	vm_set(m, "u", "javascript:alert(1)");
	vm_set(m, "q", "a b&c");
	vm_set_trusted_html(m, "h", "<em>ok</em>");
	it = vm_push(m, "items");
	vm_set(it, "n", "1");
	it = vm_push(m, "items");
	vm_set(it, "n", "2");

	ok(render_str(dir, "t", "<p>{{x}}</p>", m, &out, err, sizeof(err)) == 0 &&
	    strcmp(out.p, "<p>&lt;b&gt;&quot;hi&quot;&lt;/b&gt;</p>") == 0, "views: text is escaped");
	ok(render_str(dir, "t", "<a title=\"{{x}}\">", m, &out, err, sizeof(err)) == 0 &&
	    strstr(out.p, "&lt;b&gt;") != NULL, "views: attribute is escaped");
	ok(render_str(dir, "t", "<a href=\"{{u}}\">", m, &out, err, sizeof(err)) == 0 &&
	    strstr(out.p, "javascript") == NULL, "views: javascript: URL blocked");
	ok(render_str(dir, "t", "<a href=\"/plans?q={{q}}\">", m, &out, err, sizeof(err)) == 0 &&
	    strstr(out.p, "q=a%20b%26c") != NULL, "views: URL part percent-encoded");
	ok(render_str(dir, "t", "{{{h}}}{{{x}}}", m, &out, err, sizeof(err)) == 0 &&
	    strcmp(out.p, "<em>ok</em>&lt;b&gt;&quot;hi&quot;&lt;/b&gt;") == 0,
	    "views: raw only for trusted values");
	ok(render_str(dir, "t", "{{#items}}[{{n}}]{{/items}}{{^none}}-{{/none}}", m, &out, err, sizeof(err)) == 0 &&
	    strcmp(out.p, "[1][2]-") == 0, "views: lists and inverted sections");
	ok(render_str(dir, "t", "<a {{x}}>", m, &out, err, sizeof(err)) != 0, "views: placeholder inside a tag refused");
	ok(render_str(dir, "t", "<script>{{x}}</script>", m, &out, err, sizeof(err)) != 0, "views: placeholder in script refused");
	ok(render_str(dir, "t", "<a onclick=\"{{x}}\">", m, &out, err, sizeof(err)) != 0, "views: placeholder in event handler refused");
	ok(render_str(dir, "t", "{{#a}}x", m, &out, err, sizeof(err)) != 0, "views: unclosed section refused");
	ok(render_str(dir, "t", "{{>partials/none}}", m, &out, err, sizeof(err)) != 0 &&
	    strstr(err, "missing partial") != NULL, "views: missing partial refused");
	rmdir(dir);
	buf_free(&out);
	arena_free(a);
}

int
cmd_test_unit(const struct conf *c, int argc, char **argv)
{
	(void)c;
	(void)argc;
	(void)argv;
	t_arena();
	t_escape();
	t_utf8();
	t_parsers();
	t_router();
	t_conf();
	t_views();
	printf("1..%d\n", tap_n);
	return tap_fail ? 1 : 0;
}

int
cmd_test_views(const struct conf *c, int argc, char **argv)
{
	struct views *v;
	char	 err[1024];
	const char *dir = argc > 1 ? argv[1] : c->views_dir;

	if (views_load(&v, dir, err, sizeof(err)) != 0) {
		fprintf(stderr, "views: %s\n", err);
		return 1;
	}
	printf("%zu templates parsed\n", views_count(v));
	views_free(v);
	return 0;
}

int
cmd_test_render(const struct conf *c, int argc, char **argv)
{
	struct views *v;
	struct arena *a;
	struct vm *m;
	struct buf out;
	char	 err[1024], line[8192];

	if (argc < 2) {
		fprintf(stderr, "usage: 1000proxy test-render TEMPLATE < model\n");
		return 2;
	}
	if (views_load(&v, c->views_dir, err, sizeof(err)) != 0) {
		fprintf(stderr, "views: %s\n", err);
		return 1;
	}
	a = arena_new(4096);
	m = vm_new(a);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		char	*eq = strchr(line, '=');

		line[strcspn(line, "\n")] = '\0';
		if (eq == NULL)
			continue;
		*eq = '\0';
		if (strncmp(eq + 1, "@html:", 6) == 0)
			vm_set_trusted_html(m, line, eq + 7);
		else
			vm_set(m, line, eq + 1);
	}
	buf_init(&out);
	if (view_render(v, argv[1], m, &out) != 0) {
		fprintf(stderr, "no template %s\n", argv[1]);
		return 1;
	}
	fwrite(out.p ? out.p : "", 1, out.len, stdout);
	buf_free(&out);
	arena_free(a);
	views_free(v);
	return 0;
}

/* Collects libxml2's complaints; HTML5 element names (unknown to the
 * HTML 4 parser in libxml2 2.9) are not errors. */
static int html_errors;

static void
html_err(void *ctx, const xmlError *e)
{
	(void)ctx;
	if (e->code == XML_HTML_UNKNOWN_TAG)
		return;
	html_errors++;
	fprintf(stderr, "html: line %d: %s", e->line, e->message ? e->message : "?\n");
}

/*
 * test-html: read an HTML document on stdin; exit 0 when libxml2 parses it
 * without an error (unclosed or misnested elements, bad attributes,
 * encoding errors), 1 otherwise with the errors on stderr.
 */
int
cmd_test_html(const struct conf *c, int argc, char **argv)
{
	struct buf b;
	char	 chunk[8192];
	size_t	 n;
	htmlDocPtr doc;

	(void)c;
	(void)argc;
	(void)argv;
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		buf_add(&b, chunk, n);
	html_errors = 0;
	xmlSetStructuredErrorFunc(NULL, (xmlStructuredErrorFunc)html_err);
	doc = htmlReadMemory(b.p ? b.p : "", (int)b.len, "stdin", "UTF-8",
	    HTML_PARSE_NONET | HTML_PARSE_NOBLANKS);
	if (doc == NULL)
		html_errors++;
	else
		xmlFreeDoc(doc);
	buf_free(&b);
	return html_errors ? 1 : 0;
}

/*
 * test-parse KIND: feed stdin to one parser through probe_run(), the
 * code the fuzzers in fuzz/ run.  Prints "KIND: verdict"; exit 0 when
 * the parser accepted or refused the input cleanly (an invariant
 * violation aborts), 2 on a usage error.
 */
int
cmd_test_parse(const struct conf *c, int argc, char **argv)
{
	struct buf b;
	char	 chunk[8192];
	size_t	 n;
	int	 p, rc;

	(void)c;
	if (argc < 2 || (p = probe_find(argv[1])) < 0) {
		fprintf(stderr, "usage: 1000proxy test-parse query|cookie|multipart|json|template|utf8 < input\n");
		return 2;
	}
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		buf_add(&b, chunk, n);
	rc = probe_run((enum probe)p, (const uint8_t *)(b.p ? b.p : ""), b.len);
	printf("%s: %s (%d)\n", argv[1], rc == 0 ? "accepted" : "refused", rc);
	buf_free(&b);
	return 0;
}
