/*
 * job_email.c: the email job.
 *
 * The message is rendered from the job's payload by mail_msg.c and
 * handed to the SMTP server with libcurl (contracts/payments.md,
 * section 4).
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


#include "curl_lib.h"
#include "conf.h"
#include "db.h"
#include "mail_msg.h"
#include "util.h"
#include "work.h"

struct mail {
	struct mail_msg	 msg;
	int		 already;	/* mail_log had it: nothing to send or record */
};

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
	to = arena_printf(j->a, "<%s>", m->msg.rcpt);
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
	struct mail_src ms = { w->conf, w->db, w->views, j->a };
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
	if (mail_msg_build(&ms, j->payload, j->idem_key, now_unix(), &m->msg, &msg, j->err,
	    sizeof(j->err)) != 0)
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
	db_bind_text(w->db, st, ":rcpt", m->msg.rcpt);
	db_bind_text(w->db, st, ":subject", m->msg.subject);
	db_bind_text(w->db, st, ":msgid", m->msg.message_id);
	db_step(w->db, st);
	return 0;
}

const struct job_kind job_kind_email = {
	"email", "send", email_run, email_record
};
