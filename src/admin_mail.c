/*
 * admin_mail.c: the staff mail log (issue 14, /admin/mail).
 *
 *   GET  /admin/mail                     (mail.read) every email job,
 *                                        newest first, 50 a page,
 *                                        filtered by state, recipient
 *                                        and template
 *   GET  /admin/mail/{id:int}            (mail.read) one message: its
 *                                        headers, its answers and, only
 *                                        when the configuration's demo is
 *                                        yes, its body as text
 *   POST /admin/mail/{id:int}/retry      (mail.manage) a failed or
 *                                        discarded message is sent again
 *   POST /admin/mail/{id:int}/discard    (mail.manage) a queued or failed
 *                                        message is never sent
 *
 * No second source of truth: a message is a jobs row of kind 'email';
 * its state is the job's (pending = queued, running = sending, done =
 * sent, failed, discarded), recipient and template come from the job's
 * payload, and subject, Message-ID, the SMTP server's reply and the sent
 * time from mail_log once it was sent.  Before that the subject shown is
 * the one mail_msg_build() renders now (the one renderer, no network):
 * support asking "what is stuck for this customer?" wants to read it,
 * and it is what the job will send.  When it cannot render (a bad
 * payload or template: the job fails for the same reason) the page
 * shows "—" and the job's error says why.
 *
 * A body can hold a sign-in, verification or reset link, so it is shown
 * only in a demonstration shop (conf demo = yes), as text in <pre>,
 * escaped; otherwise the page has neither the body nor a link to it.
 * Even then such a link shows masked: it is sealed in the payload and
 * this page renders without the key (mail_seal.c), so reading the log
 * never lets staff act as the customer.
 * Retry and discard are jobctl.c's (one guarded UPDATE and one audit
 * row, then the spool files follow): the same as /admin/jobs and
 * `1000proxy job`.  A sent message is never retried: it would go twice.
 */
#include "config.h"

#include <string.h>

#include "audit.h"
#include "conf.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "jobctl.h"
#include "mail_msg.h"
#include "response.h"
#include "session.h"
#include "ui.h"
#include "util.h"
#include "valid.h"
#include "view.h"

#define MAIL_PAGE	50
#define MAIL_MAX_PAGE	100000

/* The states staff read and the job states they are (shared14.md). */
static const struct {
	const char	*word, *job;
} states[] = {
	{ "queued", "pending" },
	{ "sending", "running" },
	{ "sent", "done" },
	{ "failed", "failed" },
	{ "discarded", "discarded" },
};

/* The staff word of job state s. */
static const char *
state_word(const char *s)
{
	size_t	 i;

	for (i = 0; i < NELEM(states); i++)
		if (strcmp(s, states[i].job) == 0)
			return states[i].word;
	return s;
}

static const char *
when(struct request *r, int64_t t)
{
	char	 b[32];

	if (t <= 0)
		return "";
	time_human(b, t);
	return arena_strdup(r->a, b);
}

/*
 * One message of Q_AMAIL_LIST / Q_AMAIL_ONE (AMAIL_COLS) into it; with
 * m not NULL, the message as rendered now (subject and body) when it
 * renders.  Returns whether it rendered.
 */
static int
mail_row(struct request *r, struct vm *it, struct stmt *st, struct mail_msg *m)
{
	const struct conf *c = &r->app->conf;
	struct mail_src src = { c, r->db, r->app->views, r->a, NULL };
	struct mail_msg tmp;
	const char *state = db_text(r->db, st, 1), *tmpl = db_text(r->db, st, 9);
	int	 sent = !db_is_null(st, 13), ok;
	char	 err[256];

	if (m == NULL)
		m = &tmp;
	memset(m, 0, sizeof(*m));
	/* Rendering needs no network; only the listing of a sent message
	 * skips it (mail_log has its subject). */
	ok = !sent || m != &tmp ? mail_msg_build(&src, db_text(r->db, st, 6), db_text(r->db, st, 7),
	    now_unix(), m, NULL, err, sizeof(err)) == 0 : 0;
	vm_set_int(it, "id", db_int(st, 0));
	vm_set(it, "state", state_word(state));
	vm_set_int(it, "attempts", db_int(st, 2));
	vm_set(it, "next_at", strcmp(state, "pending") == 0 ? when(r, db_int(st, 3)) : "");
	vm_set(it, "to", db_text(r->db, st, 8));
	vm_set(it, "template", strncmp(tmpl, "emails/", 7) == 0 ? tmpl + 7 : tmpl);
	vm_set(it, "created", when(r, db_int(st, 5)));
	vm_set_bool(it, "sent", sent);
	if (sent) {
		vm_set(it, "subject", db_text(r->db, st, 10));
		vm_set(it, "message_id", db_text(r->db, st, 11));
		vm_set(it, "answer", db_text(r->db, st, 12));
		vm_set(it, "sent_at", when(r, db_int(st, 13)));
	} else {
		vm_set(it, "subject", ok ? m->subject : "—");
		vm_set_bool(it, "rendered", ok);
		vm_set(it, "message_id", ok ? m->message_id : "");
		vm_set(it, "answer", db_text(r->db, st, 4));
		vm_set(it, "sent_at", "");
	}
	vm_set_bool(it, "can_retry", strcmp(state, "failed") == 0 || strcmp(state, "discarded") == 0);
	vm_set_bool(it, "can_discard", strcmp(state, "pending") == 0 || strcmp(state, "failed") == 0);
	return ok;
}

/* A template filter: "verify" or "emails/verify", a template that
 * exists; the full name in the arena, or NULL. */
static const char *
template_filter(struct request *r, const char *s)
{
	const char *name;
	size_t	 i, n;

	if (strncmp(s, "emails/", 7) == 0)
		s += 7;
	n = strlen(s);
	if (n == 0 || n > 64)
		return NULL;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return NULL;
	name = arena_printf(r->a, "emails/%s", s);
	return views_has(r->app->views, name) ? name : NULL;
}

/* Both pages end alike: the ?done notice after a retry or discard (the
 * action's 303 names it), the action's refusal, the status. */
static void
render(struct request *r, struct vm *vm, const char *tmpl, int status, const char *error)
{
	const char *done = req_query(r, "done");

	if (done != NULL && strcmp(done, "retried") == 0)
		vm_set(vm, "notice", "The message is queued again: work sends it shortly.");
	if (done != NULL && strcmp(done, "discarded") == 0)
		vm_set(vm, "notice", "The message is discarded: it will not be sent.");
	if (error != NULL)
		vm_set(vm, "error", error);
	page_render(r, tmpl, vm);
	if (status)
		r->status = status;
}

/*
 * The log, with an optional error (status set after).  ?state (a staff
 * word above), ?to (part of the recipient's address, matched case-blind
 * as a substring: LIKE with its wildcards escaped), ?template, ?page;
 * ?done=retried|discarded (a fixed notice).  A bad filter is a 400 with
 * the page and its message, and no list.  Allocates in the request's
 * arena.
 */
static void
mail_page(struct request *r, int status, const char *error)
{
	struct vm *vm = page_vm(r, "Mail log"), *it;
	const char *fs = req_query(r, "state"), *to = req_query(r, "to"), *ft = req_query(r, "template");
	const char *ps = req_query(r, "page");
	const char *state = NULL, *tmpl = NULL, *bad = NULL;
	int64_t	 page = 1, n = 0;
	struct stmt *st;
	size_t	 i;

	if (fs != NULL && *fs != '\0') {
		for (i = 0; i < NELEM(states); i++)
			if (strcmp(fs, states[i].word) == 0)
				state = states[i].job;
		if (state == NULL)
			bad = "The state is one of queued, sending, sent, failed or discarded.";
	}
	if (to != NULL && *to == '\0')
		to = NULL;
	if (to != NULL && !valid_line(to, 254))
		bad = "The recipient filter is part of an address: one line, at most 254 characters.";
	if (ft != NULL && *ft != '\0' && (tmpl = template_filter(r, ft)) == NULL)
		bad = "There is no such email template (a name such as verify or reset).";
	if (ps != NULL && !valid_int(ps, 1, MAIL_MAX_PAGE, &page))
		bad = "The page is a whole number from 1.";
	if (bad != NULL && error == NULL) {
		error = bad;
		status = 400;
	}

	vm_set(vm, "csrf", csrf_token(r, SESS_STAFF));
	vm_set_bool(vm, "can_manage", has_perm(r, "mail.manage"));
	vm_set(vm, "f_state", state != NULL ? state_word(state) : "");
	vm_set(vm, "f_to", to != NULL && bad == NULL ? to : "");
	vm_set(vm, "f_template", tmpl != NULL ? tmpl + 7 : "");
	vm_set_bool(vm, "f_any_state", state == NULL);
	for (i = 0; i < NELEM(states); i++) {
		it = vm_push(vm, "states");
		vm_set(it, "name", states[i].word);
		vm_set_bool(it, "selected", state == states[i].job);
	}
	if (bad == NULL) {
		st = db_q(r->db, Q_AMAIL_LIST);
		db_bind_text(r->db, st, ":state", state);
		db_bind_text(r->db, st, ":rcpt", to != NULL ? db_like_contains(r->a, to) : NULL);
		db_bind_text(r->db, st, ":tmpl", tmpl);
		/* One more than a page: whether there is a next one. */
		db_bind_int(r->db, st, ":limit", MAIL_PAGE + 1);
		db_bind_int(r->db, st, ":offset", (page - 1) * MAIL_PAGE);
		while (db_step(r->db, st) == DB_ROW) {
			if (++n > MAIL_PAGE)
				break;
			mail_row(r, vm_push(vm, "mails"), st, NULL);
		}
		db_reset(st);
	}
	vm_set_bool(vm, "empty", n == 0 && bad == NULL);
	vm_set_bool(vm, "shown", n > 0);
	/* A refused filter lists nothing: no pager either. */
	ui_pager(vm, bad == NULL ? page : 1, n > MAIL_PAGE);
	render(r, vm, "pages/admin/mail", status, error);
}

/* GET /admin/mail — ?state, ?to, ?template, ?page, ?done.  200; 400
 * for a bad filter. */
void
admin_mail(struct request *r)
{
	mail_page(r, 0, NULL);
}

/*
 * Message id: its headers and answers, its body only in demo mode.
 * 404 when id is no email job.  Allocates in the request's arena.
 */
static void
mail_one_page(struct request *r, int64_t id, int status, const char *error)
{
	const struct conf *c = &r->app->conf;
	struct vm *vm, *it;
	struct mail_msg m;
	struct stmt *st = db_q(r->db, Q_AMAIL_ONE);
	int	 ok;

	db_bind_int(r->db, st, ":id", id);
	if (db_step(r->db, st) != DB_ROW) {
		db_reset(st);
		req_fail(r, 404, "There is no such message.");
	}
	vm = page_vm(r, arena_printf(r->a, "Message %lld", (long long)id));
	it = vm_push(vm, "mail");
	ok = mail_row(r, it, st, &m);
	db_reset(st);
	vm_set(it, "from", c->smtp_from);
	vm_set(it, "csrf", csrf_token(r, SESS_STAFF));
	vm_set_bool(it, "can_manage", has_perm(r, "mail.manage"));
	/* The body only in a demonstration shop, and then as text: the
	 * template escapes it into <pre>. */
	if (c->demo && ok) {
		vm_set_bool(it, "demo_body", 1);
		vm_set(it, "body", m.body);
	}
	vm_set_bool(it, "demo_nobody", c->demo && !ok);
	render(r, vm, "pages/admin/mail_one", status, error);
}

/* GET /admin/mail/{id:int} — ?done.  200; 404. */
void
admin_mail_one(struct request *r)
{
	mail_one_page(r, req_param_int(r, "id"), 0, NULL);
}

/*
 * Retry or discard message {id}: one transaction (jobctl_change: the
 * guarded UPDATE and its audit row), then the files (a retried job wakes
 * the spool anew).  303 to the message; 404 for no email job; 409 (the
 * message with the reason, nothing written) for a sent message asked to
 * go again or a state that allows no such change.
 */
static void
mail_change(struct request *r, int retry)
{
	const struct principal *p = r->principal[SESS_STAFF];
	struct actor who = { "staff", p->user_id, r->remote_addr, r->id };
	int64_t	 id = req_param_int(r, "id");
	const char *kind = NULL, *state = NULL;
	struct stmt *st;
	enum jobctl_rc rc;

	db_begin(r->db);
	st = db_q(r->db, Q_AMAIL_ONE);
	db_bind_int(r->db, st, ":id", id);
	if (db_step(r->db, st) != DB_ROW) {
		db_reset(st);
		db_rollback(r->db);
		req_fail(r, 404, "There is no such message.");
	}
	state = db_text(r->db, st, 1);
	db_reset(st);
	if (retry && strcmp(state, "done") == 0) {
		db_rollback(r->db);
		mail_one_page(r, id, 409, "This message was sent already (the SMTP server accepted it): a "
		    "retry would send it a second time. Nothing was changed.");
		return;
	}
	rc = jobctl_change(r->db, id, retry, &who, "from /admin/mail", &kind, &state);
	if (rc == JOBCTL_NONE) {
		db_rollback(r->db);
		req_fail(r, 404, "There is no such message.");
	}
	if (rc != JOBCTL_OK) {
		db_rollback(r->db);
		mail_one_page(r, id, 409, arena_printf(r->a, "This message is %s: only %s messages can be "
		    "%s. Nothing was changed.", state_word(state), retry ? "failed or discarded" :
		    "queued or failed", retry ? "retried" : "discarded"));
		return;
	}
	db_commit(r->db);
	jobctl_files(&r->app->conf, id, kind, retry);
	resp_redirect(r, 303, arena_printf(r->a, "/admin/mail/%lld?done=%s", (long long)id,
	    retry ? "retried" : "discarded"));
}

/* POST /admin/mail/{id:int}/retry — csrf.  303; 404; 409. */
void
admin_mail_retry_post(struct request *r)
{
	mail_change(r, 1);
}

/* POST /admin/mail/{id:int}/discard — csrf.  303; 404; 409. */
void
admin_mail_discard_post(struct request *r)
{
	mail_change(r, 0);
}
