/*
 * router.c: matching paths against the route table, the checks every
 * route gets before its handler runs (the response and the error
 * contract are response.c's).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "budget.h"
#include "log.h"
#include "response.h"
#include "route.h"
#include "pw_due.h"
#include "session.h"
#include "valid.h"

const char *const who_names[WHO__MAX] = {
	"any", "customer", "staff", "api", "webhook"
};

static int
seg_ok(const char *type, const char *s, size_t n)
{
	size_t	 i;

	if (strcmp(type, "int") == 0) {
		if (n == 0 || n > 18 || s[0] == '0')
			return 0;
		for (i = 0; i < n; i++)
			if (s[i] < '0' || s[i] > '9')
				return 0;
		return 1;
	}
	if (strcmp(type, "token") == 0) {
		if (n < 16 || n > 128)
			return 0;
		for (i = 0; i < n; i++)
			if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
			    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
				return 0;
		return 1;
	}
	/* slug */
	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

int
route_match(const char *pat, const char *path, struct request *r)
{
	while (*pat && *path) {
		if (*pat == '{') {
			const char *close = strchr(pat, '}');
			const char *colon;
			char	 name[32], type[16];
			size_t	 nn, sn = strcspn(path, "/");

			if (close == NULL)
				return 0;
			colon = memchr(pat, ':', (size_t)(close - pat));
			nn = (size_t)((colon ? colon : close) - pat - 1);
			if (nn >= sizeof(name))
				return 0;
			memcpy(name, pat + 1, nn);
			name[nn] = '\0';
			if (colon) {
				size_t tn = (size_t)(close - colon - 1);

				if (tn >= sizeof(type))
					return 0;
				memcpy(type, colon + 1, tn);
				type[tn] = '\0';
			} else
				snprintf(type, sizeof(type), "%s", strcmp(name, "token") == 0 ? "token" : "slug");
			if (!seg_ok(type, path, sn))
				return 0;
			if (r != NULL)
				kv_add(r->a, &r->params, arena_strdup(r->a, name),
				    arena_strndup(r->a, path, sn), sn);
			pat = close + 1;
			path += sn;
			continue;
		}
		if (*pat != *path)
			return 0;
		pat++;
		path++;
	}
	return *pat == '\0' && *path == '\0';
}

/* The origin this request was addressed to: scheme://host[:port]. */
static const char *
own_origin(struct request *r)
{
	return arena_printf(r->a, "%s://%s", r->https ? "https" : "http",
	    r->host ? r->host : "");
}

static int
same_origin(struct request *r, const char *url)
{
	const char *own = own_origin(r);
	const char *base = r->app->conf.base_url;
	size_t	 n = strlen(own), bn = strcspn(base + (strstr(base, "://") ? (size_t)(strstr(base, "://") - base) + 3 : 0), "/");

	if (strncasecmp(url, own, n) == 0 && (url[n] == '\0' || url[n] == '/'))
		return 1;
	if (strstr(base, "://") != NULL) {
		n = (size_t)(strstr(base, "://") - base) + 3 + bn;
		if (strncasecmp(url, base, n) == 0 && (url[n] == '\0' || url[n] == '/'))
			return 1;
	}
	return 0;
}

/*
 * The request-forgery checks that need no session: a browser that says
 * the request is cross-site is refused, and so is an Origin (or, when a
 * browser sends none, a Referer) naming another site.
 */
static void
check_origin(struct request *r)
{
	if (r->sec_fetch_site != NULL && strcmp(r->sec_fetch_site, "cross-site") == 0)
		req_fail(r, 403, "This form was sent from another site. Please go back, reload the page and try again.");
	if (r->origin != NULL && *r->origin != '\0') {
		if (strcmp(r->origin, "null") == 0 || !same_origin(r, r->origin))
			req_fail(r, 403, "This form was sent from another site. Please go back, reload the page and try again.");
	} else if (r->referer != NULL && *r->referer != '\0' && !same_origin(r, r->referer))
		req_fail(r, 403, "This form was sent from another site. Please go back, reload the page and try again.");
}

/* Which session a route's pages belong to: staff under /admin. */
static enum sess_kind
route_kind(const struct route *rt)
{
	return (rt->who == WHO_STAFF || strncmp(rt->pattern, "/admin", 6) == 0) ?
	    SESS_STAFF : SESS_CUSTOMER;
}

static void
redirect_to_login(struct request *r, const char *login)
{
	const char *next = "";

	if (r->method == M_GET && strcmp(r->path, login) != 0)
		next = arena_printf(r->a, "?next=%s", r->path);
	resp_redirect(r, 303, arena_printf(r->a, "%s%s", login, next));
}

/* What a person reads for each reason token_load() gives. */
static const char *
token_why_text(const char *why)
{
	if (strcmp(why, "missing_token") == 0)
		return "An API token is required: send Authorization: Bearer <token>.";
	if (strcmp(why, "expired_token") == 0)
		return "This API token has expired.";
	if (strcmp(why, "revoked_token") == 0)
		return "This API token has been revoked.";
	if (strcmp(why, "account_disabled") == 0)
		return "The account that owns this API token is disabled.";
	return "This API token is not valid.";
}

/*
 * An API route's perm is "SCOPE" or "SCOPE:PERMISSION": the scope the
 * token must carry and, optionally, the staff permission its owner must
 * hold (such a route is closed to customer tokens).  A route without one
 * is closed to everybody (t_router checks that none is missing).
 * Returns 1 to go on, or 0 with the 403 made.
 */
static int
api_scope_ok(struct request *r, const struct route *rt, const struct principal *p)
{
	const char *colon;
	char	 scope[32];
	size_t	 n;

	if (rt->perm == NULL)
		goto refuse;
	colon = strchr(rt->perm, ':');
	n = colon ? (size_t)(colon - rt->perm) : strlen(rt->perm);
	if (n == 0 || n >= sizeof(scope))
		goto refuse;
	memcpy(scope, rt->perm, n);
	scope[n] = '\0';
	if (!token_has_scope(p, scope)) {
		resp_header(r, "WWW-Authenticate", arena_printf(r->a,
		    "Bearer realm=\"1000proxy\", error=\"insufficient_scope\", scope=\"%s\"", scope));
		r->error_code = "insufficient_scope";
		r->error = arena_printf(r->a, "This call needs a token with the \"%s\" scope.", scope);
		render_error(r, 403);
		return 0;
	}
	if (colon != NULL && (p->kind != SESS_STAFF || !has_perm(r, colon + 1))) {
		r->error_code = "forbidden";
		r->error = "This token's owner lacks the permission for this call.";
		render_error(r, 403);
		return 0;
	}
	return 1;
refuse:
	r->error_code = "forbidden";
	r->error = "This call is not open to API tokens.";
	render_error(r, 403);
	return 0;
}

/*
 * Who may call the route: load the principal it needs and enforce the
 * sign-in, second-factor and permission rules.  Returns 1 to go on, or
 * 0 when the response (redirect, 401, 403) is already made.
 */
static int
authorize(struct request *r, const struct route *rt)
{
	enum sess_kind k = route_kind(rt);
	struct principal *p;
	const char *why;

	switch (rt->who) {
	case WHO_WEBHOOK:
		/* Authenticated by signature only: cookies mean nothing here. */
		r->cookies.n = 0;
		return 1;
	case WHO_API:
		/* Bearer only: a cookie is ambient authority and means nothing here. */
		r->cookies.n = 0;
		if ((p = token_load(r, &why)) == NULL) {
			resp_header(r, "WWW-Authenticate", strcmp(why, "missing_token") == 0 ?
			    "Bearer realm=\"1000proxy\"" :
			    "Bearer realm=\"1000proxy\", error=\"invalid_token\"");
			r->error_code = why;
			r->error = token_why_text(why);
			render_error(r, 401);
			return 0;
		}
		return api_scope_ok(r, rt, p);
	case WHO_ANY:
		session_load(r, k);
		return 1;
	case WHO_CUSTOMER:
		if ((p = session_load(r, SESS_CUSTOMER)) == NULL) {
			redirect_to_login(r, "/login");
			return 0;
		}
		if (!p->mfa_ok && !(rt->flags & F_PARTIAL)) {
			resp_redirect(r, 303, "/login/2fa");
			return 0;
		}
		if (p->mfa_ok && !(rt->flags & (F_PARTIAL | F_PWDUE)) &&
		    pw_due_redirect(r, SESS_CUSTOMER, p->user_id))
			return 0;
		return 1;
	case WHO_STAFF:
		if ((p = session_load(r, SESS_STAFF)) == NULL) {
			redirect_to_login(r, "/admin/login");
			return 0;
		}
		if (!(rt->flags & F_PARTIAL)) {
			/* Nothing under /admin opens before TOTP is enrolled
			 * and this session has passed it. */
			if (!p->totp_enrolled) {
				resp_redirect(r, 303, "/admin/2fa/setup");
				return 0;
			}
			if (!p->mfa_ok) {
				resp_redirect(r, 303, "/admin/login/2fa");
				return 0;
			}
			/* A common password found at sign-in: changed first. */
			if (!(rt->flags & F_PWDUE) && pw_due_redirect(r, SESS_STAFF, p->user_id))
				return 0;
		}
		if (rt->perm != NULL && !has_perm(r, rt->perm)) {
			r->error = "Your role does not include this page. Ask a super admin if you need it.";
			render_error(r, 403);
			return 0;
		}
		return 1;
	default:
		render_error(r, 403);
		return 0;
	}
}

static void form_again(struct request *, const struct route *, int, const char *);

/*
 * Request forgery: Sec-Fetch-Site and Origin/Referer, then the form's
 * token.  A bad token is a 403 that shows the form again with what the
 * person typed (but no password), so nothing they wrote is lost: the
 * GET route of the same path, after authorize() passed for it too.
 * Returns 1 to go on, 0 when the response is made.
 */
static int
forgery_check(struct request *r, const struct route *rt)
{
	enum sess_kind k = route_kind(rt);
	char	 lp[LOG_PATH_MAX];

	check_origin(r);
	if (csrf_check(r, k))
		return 1;
	log_msg(r, "csrf token missing or wrong on %s %s", r->method_name,
	    log_path(r->path, lp, sizeof(lp)));
	form_again(r, rt, 403, "This form had expired, so nothing was changed. Please check it and send it again.");
	return 0;
}

/*
 * Show a refused form again with status and message why: the GET route
 * of the same path, with what the person typed (but no password), after
 * authorize() passed for it too; or, when there is none or it may not
 * be shown, an error page with the message.
 */
static void
form_again(struct request *r, const struct route *rt, int status, const char *why)
{
	size_t	 i;
	int	 shown;

	r->form_error = why;
	for (i = 0; i < nroutes; i++)
		if (routes[i].method == M_GET && strcmp(routes[i].pattern, rt->pattern) == 0 &&
		    routes[i].who == rt->who) {
			r->redisplay = 1;
			/* The page shown is the GET route's, so its own rules
			 * (permission, second factor) decide whether this
			 * caller may see it; the POST's rules do not. */
			shown = authorize(r, &routes[i]);
			if (shown)
				routes[i].handler(r);
			if (!shown || kv_get(&r->resp_headers, "Location") != NULL) {
				/* The form's page would send the person
				 * elsewhere, or may not be shown to them:
				 * say why instead, and show nothing else. */
				r->resp_headers.n = 0;
				r->error = r->form_error;
				render_error(r, status);
				return;
			}
			r->status = status;
			return;
		}
	r->error = r->form_error;
	render_error(r, status);
}

/*
 * Too fast to be a person (ASVS V11.1.2): an F_HUMAN form (sign-in,
 * registration, forgotten password) sent less than form_min_seconds
 * after its page was served.  The time is the one the form's CSRF token
 * carries, signed (csrf_issued_at, session.c); a token without one
 * (sent by a script that built its own) counts as too fast.  Returns 1
 * to go on, 0 with the form shown again (429, Retry-After) asking to
 * send it again: nothing typed is lost but the password.
 */
static int
human_pace(struct request *r, const struct route *rt)
{
	int64_t	 min = r->app->conf.form_min_seconds, issued, age;
	char	 lp[LOG_PATH_MAX];

	if (!(rt->flags & F_HUMAN) || min <= 0)
		return 1;
	issued = csrf_issued_at(r);
	age = now_unix() - issued;
	if (issued > 0 && age >= min)
		return 1;
	log_msg(r, "form sent too fast on %s %s (%s)", r->method_name, log_path(r->path, lp, sizeof(lp)),
	    issued > 0 ? arena_printf(r->a, "%lld s after its page", (long long)age) : "no issue time");
	budget_note_too_fast(r);
	form_again(r, rt, 429, "That was quicker than a person types, so nothing was sent. "
	    "Please check the form and send it again.");
	resp_header(r, "Retry-After", arena_printf(r->a, "%lld",
	    (long long)(issued > 0 && age >= 0 && age < min ? min - age : min)));
	return 0;
}

/* The requests a budget counts (budget.h): every POST (every method
 * but GET and HEAD) and every API call. */
static int
budgeted(const struct request *r, const struct route *rt)
{
	return rt->who == WHO_API || (r->method != M_GET && r->method != M_HEAD);
}

/* The account a request's budget is charged to, once authorize() ran:
 * the token's owner for the API, else the route's session, if any. */
static const struct principal *
budget_principal(const struct request *r, const struct route *rt)
{
	if (rt->who == WHO_API)
		return r->api;
	if (rt->who == WHO_WEBHOOK)
		return NULL;
	return r->principal[route_kind(rt)];
}

/* Is the content type ct t, ignoring parameters and case? */
static int
ctype_is(const char *ct, const char *t)
{
	size_t	 n = strlen(t);

	if (ct == NULL)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return strncasecmp(ct, t, n) == 0 && (ct[n] == '\0' || ct[n] == ';' ||
	    ct[n] == ' ' || ct[n] == '\t');
}

/*
 * The body types a route takes (V13.1.5, V13.2.5): the API and the
 * payment webhooks (every gateway sends its events as JSON, see
 * contracts/payments.md) read application/json only; a route with
 * declared form fields reads application/x-www-form-urlencoded, and
 * multipart/form-data too where it takes uploads (F_UPLOAD); a route
 * that reads its body itself (form NULL: the test echo) whatever
 * request.c parses.  A body of any other type, or of no stated type,
 * is a 415 before anything else looks at it.  An empty body has no
 * type to check.
 */
static int
body_type_ok(const struct request *r, const struct route *rt)
{
	const char *ct = r->ctype;

	if (r->body_len == 0)
		return 1;
	if (rt->who == WHO_API || rt->who == WHO_WEBHOOK)
		return ctype_is(ct, "application/json");
	if (rt->form != NULL)
		return ctype_is(ct, "application/x-www-form-urlencoded") ||
		    ((rt->flags & F_UPLOAD) && ctype_is(ct, "multipart/form-data"));
	return ctype_is(ct, "application/x-www-form-urlencoded") ||
	    ctype_is(ct, "multipart/form-data") || ctype_is(ct, "application/json");
}

/* What the 415 says: the types the route takes. */
static const char *
body_types_text(const struct route *rt)
{
	if (rt->who == WHO_API || rt->who == WHO_WEBHOOK)
		return "application/json";
	if (rt->form != NULL)
		return (rt->flags & F_UPLOAD) ?
		    "application/x-www-form-urlencoded, multipart/form-data" :
		    "application/x-www-form-urlencoded";
	return "application/x-www-form-urlencoded, multipart/form-data, application/json";
}

/* The body of dispatch(), run under its setjmp. */
static void
dispatch_inner(struct request *r)
{
	const struct route *found = NULL;
	size_t	 i;
	int	 path_matched = 0, authorized;
	enum method want;
	char	 allow[128];

	want = r->method == M_HEAD ? M_GET : r->method;
	allow[0] = '\0';
	for (i = 0; i < nroutes; i++) {
		if (!route_match(routes[i].pattern, r->path, NULL))
			continue;
		path_matched = 1;
		if (strstr(allow, method_names[routes[i].method]) == NULL) {
			if (allow[0])
				strncat(allow, ", ", sizeof(allow) - strlen(allow) - 1);
			strncat(allow, method_names[routes[i].method], sizeof(allow) - strlen(allow) - 1);
			if (routes[i].method == M_GET)
				strncat(allow, ", HEAD", sizeof(allow) - strlen(allow) - 1);
		}
		if (routes[i].method == want && found == NULL)
			found = &routes[i];
	}
	if (found == NULL) {
		if (path_matched) {
			r->error = arena_printf(r->a, "This address does not accept %s.", r->method_name);
			render_error(r, 405);
			resp_header(r, "Allow", arena_strdup(r->a, allow));
			return;
		}
		req_fail(r, 404, "There is no page at this address.");
	}
	r->params.n = 0;
	route_match(found->pattern, r->path, r);
	r->route = found;
	if (!body_type_ok(r, found)) {
		r->error_code = "unsupported_media_type";
		r->error = arena_printf(r->a, "This address takes a body of type %s, not %.80s.",
		    body_types_text(found), r->ctype != NULL && *r->ctype != '\0' ?
		    r->ctype : "an unstated type");
		render_error(r, 415);
		/* RFC 9110 15.5.16: say which types would do. */
		resp_header(r, "Accept-Post", body_types_text(found));
		return;
	}
	/* The budget counts a request authorize() refuses too (a bad
	 * token, a sign-in redirect), so its 429 replaces that answer. */
	authorized = authorize(r, found);
	if (budgeted(r, found) && !budget_charge(r, budget_principal(r, found)))
		return;
	if (!authorized)
		return;
	if (found->csrf == CSRF_CHECK && r->method != M_GET && r->method != M_HEAD &&
	    !forgery_check(r, found))
		return;
	if (r->method == M_POST && !human_pace(r, found))
		return;
	/* An undeclared or missing field: 400 before the handler writes
	 * anything.  A value its kind refuses is the handler's to answer
	 * with its form and message (form_valid). */
	if (found->who == WHO_API) {
		/* A JSON body against the route's declared shape
		 * (valid.h, json_check); a call that declares none takes
		 * no body. */
		if (found->form != NULL)
			json_check(r, found->form);
		else if (r->body_len > 0) {
			r->error_code = "unexpected_body";
			req_fail(r, 400, "This call takes no request body.");
		}
	} else if (found->form != NULL)
		(void)form_check(r, found->form->fields, found->form->n);
	found->handler(r);
}

void
dispatch(struct request *r)
{
	jmp_buf	 jb;

	r->fail = &jb;
	if (setjmp(jb) == 0)
		dispatch_inner(r);
	r->fail = NULL;
}
