/*
 * mail_msg.c: an email job's message, rendered from its payload: what
 * job_email.c hands to the SMTP server, and what /admin/mail shows
 * staff (its headers always, its body only in demo mode).  One
 * renderer, so the page shows what was sent.
 *
 * Payload: {"to": ADDR, "template": "emails/NAME", "vars": {...}}, where
 * a var is a string, a boolean, null, or a list of objects (an order's
 * lines) for a {{#list}}..{{/list}} section; a link that is a credential
 * is in "sealed" and only masked in vars (mail_seal.c).  The template
 * views/emails/NAME.txt renders to "Subject: ...", a blank line and the
 * body; this file wraps it in an RFC 5322 message (contracts/payments.md,
 * section 4).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "conf.h"
#include "db.h"
#include "mail_msg.h"
#include "mail_seal.h"
#include "setting.h"
#include "util.h"
#include "valid.h"
#include "view.h"

/* "Thu, 01 Jan 2026 00:00:00 +0000"; the C locale's day and month names. */
static void
rfc5322_date(char *out, size_t n, int64_t t)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const mons[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
	    "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t	 tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	snprintf(out, n, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
	    tm.tm_mday, mons[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Message-ID from the idempotency key: a resend carries the same one. */
static const char *
message_id(struct arena *a, const char *idem_key, const char *from)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char	 hex[2 * SHA256_DIGEST_LENGTH + 1];
	const char *dom = strchr(from, '@');

	SHA256((const unsigned char *)idem_key, strlen(idem_key), md);
	hex_encode(hex, md, 16);
	return arena_printf(a, "<%s@%s>", hex, dom ? dom + 1 : "localhost");
}

/* Append header value v: as is when short printable ASCII, else as RFC
 * 2047 B encoded-words of at most 75 characters, folded, split only
 * between UTF-8 characters. */
static void
header_value(struct buf *b, const char *v)
{
	const unsigned char *p;
	size_t	 n = strlen(v), i = 0, k;
	int	 plain = n <= 900;

	for (p = (const unsigned char *)v; *p && plain; p++)
		if (*p < 0x20 || *p >= 0x7f)
			plain = 0;
	if (plain) {
		buf_puts(b, v);
		return;
	}
	while (i < n) {
		unsigned char enc[64];

		/* 45 bytes become 60 base64 characters: 72 with the wrapper. */
		k = n - i > 45 ? 45 : n - i;
		while (i + k < n && k > 0 && ((unsigned char)v[i + k] & 0xc0) == 0x80)
			k--;
		EVP_EncodeBlock(enc, (const unsigned char *)v + i, (int)k);
		if (i > 0)
			buf_puts(b, "\r\n ");
		buf_printf(b, "=?UTF-8?B?%s?=", enc);
		i += k;
	}
}

/* Body lines with CRLF endings, none over 998 bytes (RFC 5322 2.1.1):
 * a longer line is broken between UTF-8 characters. */
static void
body_crlf(struct buf *b, const char *s)
{
	size_t	 col = 0;

	for (; *s; s++) {
		if (*s == '\r' || *s == '\n') {
			if (*s == '\r' && s[1] == '\n')
				s++;
			buf_puts(b, "\r\n");
			col = 0;
			continue;
		}
		if (col >= 990 && ((unsigned char)*s & 0xc0) != 0x80) {
			buf_puts(b, "\r\n");
			col = 0;
		}
		buf_putc(b, *s);
		col++;
	}
	if (col > 0)
		buf_puts(b, "\r\n");
}

int
mail_msg_build(const struct mail_src *s, const char *payload, const char *idem_key, int64_t date_at,
    struct mail_msg *m, struct buf *out, char *err, size_t errlen)
{
	struct json_object *o, *to, *tmpl, *vars;
	const char *name, *text, *nl, *body;
	struct vm *vm;
	struct buf r;
	char	 date[64];
	int	 rc = -1;

	if ((o = json_tokener_parse(payload)) == NULL) {
		snprintf(err, errlen, "payload is not JSON");
		return -1;
	}
	if (!json_object_object_get_ex(o, "to", &to) || !json_object_is_type(to, json_type_string) ||
	    !json_object_object_get_ex(o, "template", &tmpl) || !json_object_is_type(tmpl, json_type_string)) {
		snprintf(err, errlen, "payload needs \"to\" and \"template\" strings");
		goto out;
	}
	m->rcpt = arena_strdup(s->a, json_object_get_string(to));
	name = json_object_get_string(tmpl);
	if (!valid_email(m->rcpt)) {
		snprintf(err, errlen, "recipient address refused (CR/LF, spaces or not local@domain)");
		goto out;
	}
	if (!valid_email(s->conf->smtp_from)) {
		snprintf(err, errlen, "smtp_from \"%.200s\" is not a plain local@domain address",
		    s->conf->smtp_from);
		goto out;
	}
	if (strncmp(name, "emails/", 7) != 0 || !views_has(s->views, name)) {
		snprintf(err, errlen, "no email template \"%.200s\"", name);
		goto out;
	}
	vm = vm_new(s->a);
	vm_set(vm, "site_name", shop_name(s->db, s->a, s->conf));
	vm_set(vm, "base_url", s->conf->base_url);
	/* Strings, booleans, null (a key given without a value: empty, not
	 * missing, which strict mode below refuses) and lists of objects,
	 * which the template walks with {{#key}}..{{/key}} (view_json.c). */
	if (json_object_object_get_ex(o, "vars", &vars) && json_object_is_type(vars, json_type_object) &&
	    vm_set_json(vm, vars, err, errlen) != 0)
		goto out;
	/* A link that is a credential is sealed in the payload: only the
	 * sender (with the key) renders it live (mail_seal.c). */
	if (mail_unseal_links(s->a, o, s->key, idem_key, vm, err, errlen) != 0)
		goto out;
	buf_init(&r);
	/* In strict mode (test_routes = yes, as the pool) a key the template
	 * names and the job does not give is a misspelt or forgotten key:
	 * the job fails and nothing is sent, instead of a mail with a hole.
	 * Outside strict mode view_render() fails only for a missing
	 * template, which views_has() excluded above. */
	if (view_render(s->views, name, vm, &r) != 0) {
		snprintf(err, errlen, "rendering %.200s: %.700s", name, view_error());
		buf_free(&r);
		goto out;
	}
	text = arena_strdup(s->a, r.p ? r.p : "");
	buf_free(&r);
	if (!utf8_valid(text, strlen(text), 1)) {
		snprintf(err, errlen, "%s renders to invalid UTF-8 or control characters", name);
		goto out;
	}
	/* "Subject: ..." then an empty line, then the body. */
	nl = strchr(text, '\n');
	if (strncmp(text, "Subject: ", 9) != 0 || nl == NULL ||
	    !(nl[1] == '\n' || (nl[1] == '\r' && nl[2] == '\n'))) {
		snprintf(err, errlen, "%s must start with \"Subject: ...\" and an empty line", name);
		goto out;
	}
	m->tmpl = arena_strdup(s->a, name);
	m->subject = arena_strndup(s->a, text + 9, (size_t)(nl - text - 9));
	if (strchr(m->subject, '\r') != NULL)
		((char *)m->subject)[strcspn(m->subject, "\r")] = '\0';
	body = nl[1] == '\n' ? nl + 2 : nl + 3;
	m->body = body;
	m->message_id = message_id(s->a, idem_key, s->conf->smtp_from);

	if (out == NULL) {
		rc = 0;
		goto out;
	}
	rfc5322_date(date, sizeof(date), date_at);
	buf_printf(out, "Date: %s\r\n", date);
	buf_printf(out, "From: %s\r\n", s->conf->smtp_from);
	buf_printf(out, "To: %s\r\n", m->rcpt);
	buf_puts(out, "Subject: ");
	header_value(out, m->subject);
	buf_puts(out, "\r\n");
	buf_printf(out, "Message-ID: %s\r\n", m->message_id);
	buf_puts(out, "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n"
	    "\r\n");
	body_crlf(out, body);
	rc = 0;
out:
	json_object_put(o);
	return rc;
}
