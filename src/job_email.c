/*
 * job_email.c: the email job and `1000proxy mail-test`.
 *
 * Payload: {"to": ADDR, "template": "emails/NAME", "vars": {...}}, where
 * a var is a string, a boolean, null, or a list of objects (an order's
 * lines) for a {{#list}}..{{/list}} section.  The
 * template views/emails/NAME.txt renders to "Subject: ...", a blank line
 * and the body; this file wraps it in an RFC 5322 message and hands it to
 * the SMTP server with libcurl (contracts/payments.md, section 4).
 *
 * Exactly once, as far as SMTP allows: the job checks mail_log before
 * sending, and the mail_log row commits in the transaction that marks
 * the job done.  A crash between the server's 250 and that commit sends
 * the message again on restart with the same Message-ID (derived from
 * the job's idempotency key), so the copy is recognisable.
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "cmd.h"
#include "curl_lib.h"
#include "conf.h"
#include "db.h"
#include "setting.h"
#include "spool.h"
#include "util.h"
#include "valid.h"
#include "view.h"
#include "work.h"

struct mail {
	const char	*rcpt;
	const char	*subject;
	const char	*message_id;
	int		 already;	/* mail_log had it: nothing to send or record */
};

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

/*
 * Render the job's template and build the message into out.  0, or -1
 * with j->err set (a permanent failure: retrying cannot fix it; a
 * template that fails to render in strict mode is one).
 */
static int
build_message(struct work *w, struct job *j, struct mail *m, struct buf *out)
{
	struct json_object *o, *to, *tmpl, *vars;
	const char *name, *text, *nl, *body;
	struct vm *vm;
	struct buf r;
	char	 date[64];
	int	 rc = -1;

	if ((o = json_tokener_parse(j->payload)) == NULL) {
		snprintf(j->err, sizeof(j->err), "payload is not JSON");
		return -1;
	}
	if (!json_object_object_get_ex(o, "to", &to) || !json_object_is_type(to, json_type_string) ||
	    !json_object_object_get_ex(o, "template", &tmpl) || !json_object_is_type(tmpl, json_type_string)) {
		snprintf(j->err, sizeof(j->err), "payload needs \"to\" and \"template\" strings");
		goto out;
	}
	m->rcpt = arena_strdup(j->a, json_object_get_string(to));
	name = json_object_get_string(tmpl);
	if (!valid_email(m->rcpt)) {
		snprintf(j->err, sizeof(j->err), "recipient address refused (CR/LF, spaces or not local@domain)");
		goto out;
	}
	if (!valid_email(w->conf->smtp_from)) {
		snprintf(j->err, sizeof(j->err), "smtp_from \"%.200s\" is not a plain local@domain address",
		    w->conf->smtp_from);
		goto out;
	}
	if (strncmp(name, "emails/", 7) != 0 || !views_has(w->views, name)) {
		snprintf(j->err, sizeof(j->err), "no email template \"%.200s\"", name);
		goto out;
	}
	vm = vm_new(j->a);
	vm_set(vm, "site_name", shop_name(w->db, j->a, w->conf));
	vm_set(vm, "base_url", w->conf->base_url);
	/* Strings, booleans, null (a key given without a value: empty, not
	 * missing, which strict mode below refuses) and lists of objects,
	 * which the template walks with {{#key}}..{{/key}} (view_json.c). */
	if (json_object_object_get_ex(o, "vars", &vars) && json_object_is_type(vars, json_type_object) &&
	    vm_set_json(vm, vars, j->err, sizeof(j->err)) != 0)
		goto out;
	buf_init(&r);
	/* In strict mode (test_routes = yes, as the pool) a key the template
	 * names and the job does not give is a misspelt or forgotten key:
	 * the job fails and nothing is sent, instead of a mail with a hole.
	 * Outside strict mode view_render() fails only for a missing
	 * template, which views_has() excluded above. */
	if (view_render(w->views, name, vm, &r) != 0) {
		snprintf(j->err, sizeof(j->err), "rendering %.200s: %.700s", name, view_error());
		buf_free(&r);
		goto out;
	}
	text = arena_strdup(j->a, r.p ? r.p : "");
	buf_free(&r);
	if (!utf8_valid(text, strlen(text), 1)) {
		snprintf(j->err, sizeof(j->err), "%s renders to invalid UTF-8 or control characters", name);
		goto out;
	}
	/* "Subject: ..." then an empty line, then the body. */
	nl = strchr(text, '\n');
	if (strncmp(text, "Subject: ", 9) != 0 || nl == NULL ||
	    !(nl[1] == '\n' || (nl[1] == '\r' && nl[2] == '\n'))) {
		snprintf(j->err, sizeof(j->err), "%s must start with \"Subject: ...\" and an empty line", name);
		goto out;
	}
	m->subject = arena_strndup(j->a, text + 9, (size_t)(nl - text - 9));
	if (strchr(m->subject, '\r') != NULL)
		((char *)m->subject)[strcspn(m->subject, "\r")] = '\0';
	body = nl[1] == '\n' ? nl + 2 : nl + 3;
	m->message_id = message_id(j->a, j->idem_key, w->conf->smtp_from);

	rfc5322_date(date, sizeof(date), now_unix());
	buf_printf(out, "Date: %s\r\n", date);
	buf_printf(out, "From: %s\r\n", w->conf->smtp_from);
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

struct upload_ctx {
	const char	*p;
	size_t		 left;
};

static size_t
read_cb(char *dst, size_t size, size_t nmemb, void *arg)
{
	struct upload_ctx *u = arg;
	size_t	 n = size * nmemb;

	if (n > u->left)
		n = u->left;
	memcpy(dst, u->p, n);
	u->p += n;
	u->left -= n;
	return n;
}

/* Keeps the server's last reply line for last_error (only replies:
 * what we send includes the AUTH credentials). */
static int
debug_cb(CURL *h, curl_infotype type, char *data, size_t n, void *arg)
{
	char	*last = arg;
	size_t	 k;

	(void)h;
	if (type != CURLINFO_HEADER_IN)
		return 0;
	while (n > 0 && (data[n - 1] == '\r' || data[n - 1] == '\n'))
		n--;
	k = n < 255 ? n : 255;
	memcpy(last, data, k);
	last[k] = '\0';
	for (; k > 0; k--)
		if (!isprint((unsigned char)last[k - 1]))
			last[k - 1] = '?';
	return 0;
}

/* Hand the message to the SMTP server. */
static enum job_rc
smtp_send(struct work *w, struct job *j, struct mail *m, const struct buf *msg)
{
	const struct conf *c = w->conf;
	struct curl_slist *rcpt = NULL;
	struct upload_ctx u = { msg->p, msg->len };
	char	 errbuf[CURL_ERROR_SIZE] = "", last[256] = "", *from, *to;
	long	 code = 0;
	CURLcode rc;
	CURL	*h;
	const struct curl_lib *cu;

	if (*c->smtp_url == '\0') {
		/* Not configured yet: keep the mail until it is (or it ages out). */
		snprintf(j->err, sizeof(j->err), "smtp_url is not set");
		return JOB_RETRY;
	}
	if (strncmp(c->smtp_url, "smtp://", 7) != 0 && strncmp(c->smtp_url, "smtps://", 8) != 0) {
		snprintf(j->err, sizeof(j->err), "smtp_url must start with smtp:// or smtps://");
		return JOB_FAIL;
	}
	if ((cu = curl_lib(j->err, sizeof(j->err))) == NULL)
		return JOB_RETRY;
	if ((h = cu->easy_init()) == NULL) {
		snprintf(j->err, sizeof(j->err), "curl_easy_init failed");
		return JOB_RETRY;
	}
	from = arena_printf(j->a, "<%s>", c->smtp_from);
	to = arena_printf(j->a, "<%s>", m->rcpt);
	rcpt = cu->slist_append(NULL, to);
	cu->easy_setopt(h, CURLOPT_URL, c->smtp_url);
	cu->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	/* smtp:// must upgrade with STARTTLS or fail; never CURLUSESSL_TRY. */
	cu->easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (*c->smtp_user != '\0') {
		cu->easy_setopt(h, CURLOPT_USERNAME, c->smtp_user);
		cu->easy_setopt(h, CURLOPT_PASSWORD, c->smtp_password);
	}
	if (*c->smtp_ca_file != '\0')
		cu->easy_setopt(h, CURLOPT_CAINFO, c->smtp_ca_file);
	cu->easy_setopt(h, CURLOPT_MAIL_FROM, from);
	cu->easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
	cu->easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
	cu->easy_setopt(h, CURLOPT_READDATA, &u);
	cu->easy_setopt(h, CURLOPT_UPLOAD, 1L);
	cu->easy_setopt(h, CURLOPT_INFILESIZE, (long)msg->len);
	cu->easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->smtp_timeout < 10 ? (long)c->smtp_timeout : 10L);
	cu->easy_setopt(h, CURLOPT_TIMEOUT, (long)c->smtp_timeout);
	cu->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	cu->easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	cu->easy_setopt(h, CURLOPT_DEBUGFUNCTION, debug_cb);
	cu->easy_setopt(h, CURLOPT_DEBUGDATA, last);
	cu->easy_setopt(h, CURLOPT_VERBOSE, 1L);
	rc = cu->easy_perform(h);
	cu->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	cu->slist_free_all(rcpt);
	cu->easy_cleanup(h);
	if (rc == CURLE_OK)
		return JOB_DONE;
	snprintf(j->err, sizeof(j->err), "SMTP %ld: %s (curl %d: %s)", code,
	    last[0] ? last : "no reply", (int)rc, errbuf[0] ? errbuf : cu->easy_strerror(rc));
	if (rc == CURLE_LOGIN_DENIED) {
		char	 why[1100];

		snprintf(why, sizeof(why), "SMTP login denied: check smtp_user and smtp_password; %s", j->err);
		snprintf(j->err, sizeof(j->err), "%.1000s", why);
		return JOB_FAIL;
	}
	/* 5xx is the server's final word; 4xx and transport errors pass. */
	if (code >= 500 && code <= 599)
		return JOB_FAIL;
	return JOB_RETRY;
}

static enum job_rc
email_run(struct work *w, struct job *j)
{
	struct mail *m = arena_zalloc(j->a, sizeof(*m));
	struct stmt *st;
	struct buf msg;
	enum job_rc rc;
	int	 sent = 0;

	j->ctx = m;
	/* Sent by an earlier run that died before finishing? */
	st = db_q(w->db, Q_MAIL_LOG_HAS);
	db_bind_int(w->db, st, ":job", j->id);
	sent = db_one_int(w->db, st, 0) == 1;
	if (sent) {
		m->already = 1;
		return JOB_DONE;
	}
	buf_init(&msg);
	if (build_message(w, j, m, &msg) != 0)
		rc = JOB_FAIL;
	else
		rc = smtp_send(w, j, m, &msg);
	buf_free(&msg);
	return rc;
}

static int
email_record(struct work *w, struct job *j)
{
	struct mail *m = j->ctx;
	struct stmt *st;

	if (m->already)
		return 0;
	/* A database error ends the attempt (db.h): the job is retried. */
	st = db_q(w->db, Q_MAIL_LOG_INSERT);
	db_bind_int(w->db, st, ":job", j->id);
	db_bind_text(w->db, st, ":rcpt", m->rcpt);
	db_bind_text(w->db, st, ":subject", m->subject);
	db_bind_text(w->db, st, ":msgid", m->message_id);
	db_step(w->db, st);
	return 0;
}

const struct job_kind job_kind_email = {
	"email", "send", email_run, email_record
};
