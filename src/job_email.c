/*
 * job_email.c: the email job.
 *
 * The message is rendered from the job's payload by mail_msg.c and
 * handed to the SMTP server with libcurl (contracts/payments.md,
 * section 4).
 *
 * Sent once, as far as SMTP allows: the job checks mail_log before
 * sending, and the mail_log row (with the server's reply to the end of
 * DATA) commits in the transaction that marks the job done, while the
 * SMTP connection is still open: QUIT goes out only after that commit
 * (email_after(), called by the runner).  A crash between the server's
 * 250 and the commit sends the message again on restart with the same
 * Message-ID (derived from the job's idempotency key), so the copy is
 * recognisable; SMTP has no way to close that window, only to keep it
 * to the instant of the commit (t/57-mail-kill.t measures it).
 *
 * A 5xx reply to MAIL, RCPT or the end of DATA fails the job at its
 * first attempt (a bounced address is not retried for days); a 4xx
 * reply or a transport error retries.
 */
#include "config.h"

#include <sys/socket.h>

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "curl_lib.h"
#include "conf.h"
#include "db.h"
#include "mail_msg.h"
#include "util.h"
#include "work.h"

/*
 * One attempt's state, in the attempt's arena.  The curl handle, and
 * everything libcurl holds a pointer to (the recipient list, the message,
 * the buffers its callbacks write), live here from run() until the
 * runner calls email_after(), once the outcome is committed: libcurl
 * sends QUIT only when the handle is cleaned up.
 */
struct mail {
	struct mail_msg	 msg;
	int		 already;	/* mail_log had it: nothing to send or record */
	const struct curl_lib *cu;
	CURL		*h;
	struct curl_slist *rcpt;
	struct buf	 body;		/* the message on the wire */
	size_t		 sent;		/* bytes of body handed to libcurl */
	char		 errbuf[CURL_ERROR_SIZE];
	char		 line[256];	/* the server's last reply line */
	char		 reply[512];	/* its last whole reply (lines joined by \n) */
	int		 more;		/* the last line was "NNN-": the reply goes on */
	int		 quit;		/* QUIT is out: keep the replies before it */
	int		 waiting;	/* a command (or the end of DATA) awaits its reply */
	curl_socket_t	 fd;		/* the connection's socket, or -1 */
};

static size_t
read_cb(char *dst, size_t size, size_t nmemb, void *arg)
{
	struct mail *m = arg;
	size_t	 n = size * nmemb;

	if (n > m->body.len - m->sent)
		n = m->body.len - m->sent;
	if (n > 0)
		memcpy(dst, m->body.p + m->sent, n);
	m->sent += n;
	/* The whole body is out (libcurl, knowing its size, may not ask
	 * again): the end of DATA follows, and then its reply is due. */
	if (m->sent == m->body.len)
		m->waiting = 1;
	return n;
}

/*
 * After a timeout libcurl (7.88) keeps the connection, and says QUIT on
 * it when the handle is cleaned up, while the reply to the end of DATA
 * may still be due; then it waits for an answer.  A server that is
 * merely slow would take the message in that wait while the job is
 * retried, and it would go out twice.  So a connection with a reply
 * still due is cut instead: the server sees us gone before it can say
 * 250 (RFC 5321 6.1: a message is the server's once it has said so).
 */
static void
cut(struct mail *m)
{
	if (m->fd != CURL_SOCKET_BAD)
		shutdown(m->fd, SHUT_RDWR);
}

/*
 * Keeps the server's replies (of what we send, which includes the AUTH
 * credentials, only QUIT is looked at, and that a command is out): the
 * last line for last_error, and the last whole reply, a multi-line one
 * (RFC 5321 4.2.1: "250-..." lines, then "250 ...") joined by newlines,
 * for mail_log.reply.  libcurl hands over one line per call.  Bytes that
 * are not printable ASCII become '?'.
 */
static int
debug_cb(CURL *h, curl_infotype type, char *data, size_t n, void *arg)
{
	struct mail *m = arg;
	size_t	 k, have;

	(void)h;
	/* A refused MAIL or RCPT makes libcurl close the connection before
	 * easy_perform() returns: the 221 to its QUIT is not the answer. */
	if (type == CURLINFO_HEADER_OUT && n >= 4 && strncmp(data, "QUIT", 4) == 0) {
		m->quit = 1;
		/* A reply still due: cut instead (see cut()). */
		if (m->waiting)
			cut(m);
	}
	if (type == CURLINFO_HEADER_OUT)
		m->waiting = 1;
	if (type != CURLINFO_HEADER_IN || m->quit)
		return 0;
	while (n > 0 && (data[n - 1] == '\r' || data[n - 1] == '\n'))
		n--;
	k = n < sizeof(m->line) - 1 ? n : sizeof(m->line) - 1;
	memcpy(m->line, data, k);
	m->line[k] = '\0';
	for (; k > 0; k--)
		if (!isprint((unsigned char)m->line[k - 1]))
			m->line[k - 1] = '?';
	have = m->more ? strlen(m->reply) : 0;
	snprintf(m->reply + have, sizeof(m->reply) - have, "%s%s", have ? "\n" : "", m->line);
	m->more = strlen(m->line) > 3 && m->line[3] == '-';
	if (!m->more)
		m->waiting = 0;
	return 0;
}

/* The connection's socket, for cut(), from its opening to its close. */
static int
sockopt_cb(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	struct mail *m = arg;

	(void)purpose;
	m->fd = fd;
	return CURL_SOCKOPT_OK;
}

static int
closesocket_cb(void *arg, curl_socket_t fd)
{
	struct mail *m = arg;

	if (fd == m->fd)
		m->fd = CURL_SOCKET_BAD;
	return close(fd);
}

/*
 * Hand the message to the SMTP server.  On JOB_DONE the server has
 * answered the end of DATA with 2xx and the connection is still open:
 * the runner commits the mail_log row first, and only then does
 * email_after() close it (QUIT, the server's 221, the TLS close).  So a
 * crash after the 250 resends the message only if it lands in the
 * instant before the commit, not during the whole goodbye.
 */
static enum job_rc
smtp_send(struct work *w, struct job *j, struct mail *m)
{
	const struct conf *c = w->conf;
	char	*from, *to;
	long	 code = 0;
	CURLcode rc;
	const struct curl_lib *cu;
	CURL	*h;

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
	m->cu = cu;
	m->h = h;
	from = arena_printf(j->a, "<%s>", c->smtp_from);
	to = arena_printf(j->a, "<%s>", m->msg.rcpt);
	m->rcpt = cu->slist_append(NULL, to);
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
	cu->easy_setopt(h, CURLOPT_MAIL_RCPT, m->rcpt);
	cu->easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
	cu->easy_setopt(h, CURLOPT_READDATA, m);
	cu->easy_setopt(h, CURLOPT_UPLOAD, 1L);
	cu->easy_setopt(h, CURLOPT_INFILESIZE, (long)m->body.len);
	cu->easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->smtp_timeout < 10 ? (long)c->smtp_timeout : 10L);
	cu->easy_setopt(h, CURLOPT_TIMEOUT, (long)c->smtp_timeout);
	/* Bounds the wait for the 221 in email_after() too (the transfer's
	 * timeout no longer applies once it is over). */
	cu->easy_setopt(h, CURLOPT_SERVER_RESPONSE_TIMEOUT, (long)c->smtp_timeout);
	cu->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	cu->easy_setopt(h, CURLOPT_ERRORBUFFER, m->errbuf);
	cu->easy_setopt(h, CURLOPT_DEBUGFUNCTION, debug_cb);
	cu->easy_setopt(h, CURLOPT_DEBUGDATA, m);
	m->fd = CURL_SOCKET_BAD;
	cu->easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, sockopt_cb);
	cu->easy_setopt(h, CURLOPT_SOCKOPTDATA, m);
	cu->easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, closesocket_cb);
	cu->easy_setopt(h, CURLOPT_CLOSESOCKETDATA, m);
	cu->easy_setopt(h, CURLOPT_VERBOSE, 1L);
	rc = cu->easy_perform(h);
	cu->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (rc == CURLE_OK)
		return JOB_DONE;
	snprintf(j->err, sizeof(j->err), "SMTP %ld: %s (curl %d: %s)", code,
	    m->line[0] ? m->line : "no reply", (int)rc, m->errbuf[0] ? m->errbuf : cu->easy_strerror(rc));
	if (rc == CURLE_LOGIN_DENIED) {
		char	 why[1100];

		snprintf(why, sizeof(why), "SMTP login denied: check smtp_user and smtp_password; %s", j->err);
		snprintf(j->err, sizeof(j->err), "%.1000s", why);
		return JOB_FAIL;
	}
	/*
	 * 5xx is the server's final word, 4xx and transport errors pass.
	 * The code is the last reply's, whatever the command: libcurl
	 * (7.88) stops at a refused MAIL, RCPT (CURLE_SEND_ERROR, "RCPT
	 * failed: 550") or end of DATA (CURLE_WEIRD_SERVER_REPLY) with
	 * CURLINFO_RESPONSE_CODE set to that reply's code; a connection
	 * that never got a reply has code 0.  t/57-mail-kill.t checks it.
	 */
	if (code >= 500 && code <= 599)
		return JOB_FAIL;
	return JOB_RETRY;
}

/*
 * After the attempt's outcome has committed (or the attempt was given
 * up, a database error included: work.c calls it on every way out): the
 * goodbye to the SMTP server, and what the attempt held.  The handle
 * never outlives the attempt, so no runner keeps a connection between
 * jobs.  No database calls here.
 */
static void
email_after(struct work *w, struct job *j)
{
	struct mail *m = j->ctx;

	(void)w;
	if (m->h != NULL) {
		if (m->waiting)
			cut(m);
		m->cu->easy_cleanup(m->h);
		m->h = NULL;
	}
	if (m->rcpt != NULL) {
		m->cu->slist_free_all(m->rcpt);
		m->rcpt = NULL;
	}
	buf_free(&m->body);
}

static enum job_rc
email_run(struct work *w, struct job *j)
{
	struct mail *m = arena_zalloc(j->a, sizeof(*m));
	struct mail_src ms = { w->conf, w->db, w->views, j->a, w->key };
	struct stmt *st;

	/* From here on the runner calls email_after() whatever happens. */
	j->ctx = m;
	j->after = email_after;
	/* Sent by an earlier run that died before finishing? */
	st = db_q(w->db, Q_MAIL_LOG_HAS);
	db_bind_int(w->db, st, ":job", j->id);
	if (db_one_int(w->db, st, 0) == 1) {
		m->already = 1;
		return JOB_DONE;
	}
	if (mail_msg_build(&ms, j->payload, j->idem_key, now_unix(), &m->msg, &m->body, j->err,
	    sizeof(j->err)) != 0)
		return JOB_FAIL;
	return smtp_send(w, j, m);
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
	db_bind_text(w->db, st, ":reply", m->reply);
	db_step(w->db, st);
	/* Sent: the payload's sealed link goes in the same transaction
	 * (mail_seal.c); what stays renders masked. */
	st = db_q(w->db, Q_MAIL_SCRUB);
	db_bind_int(w->db, st, ":id", j->id);
	db_step(w->db, st);
	return 0;
}

const struct job_kind job_kind_email = {
	"email", "send", email_run, email_record
};
