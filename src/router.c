/*
 * router.c: matching paths against the route table, the checks every
 * route gets before its handler runs (the response and the error
 * contract are response.c's).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "response.h"
#include "route.h"
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
	size_t	 i;
	int	 shown;
	char	 lp[LOG_PATH_MAX];

	check_origin(r);
	if (csrf_check(r, k))
		return 1;
	log_msg(r, "csrf token missing or wrong on %s %s", r->method_name,
	    log_path(r->path, lp, sizeof(lp)));
	r->form_error = "This form had expired, so nothing was changed. Please check it and send it again.";
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
				render_error(r, 403);
				return 0;
			}
			r->status = 403;
			return 0;
		}
	r->error = r->form_error;
	render_error(r, 403);
	return 0;
}

/* The body of dispatch(), run under its setjmp. */
static void
dispatch_inner(struct request *r)
{
	const struct route *found = NULL;
	size_t	 i;
	int	 path_matched = 0;
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
	if (!authorize(r, found))
		return;
	if (found->csrf == CSRF_CHECK && r->method != M_GET && r->method != M_HEAD &&
	    !forgery_check(r, found))
		return;
	/* An undeclared or missing field: 400 before the handler writes
	 * anything.  A value its kind refuses is the handler's to answer
	 * with its form and message (form_valid). */
	if (found->form != NULL)
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
