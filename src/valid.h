/*
 * valid.h: every input validator of the program, and the declared field
 * lists of form handlers (valid.c).
 *
 * Validators answer 1 (valid) or 0 and never allocate.  The pages, the
 * email job and the command line use the same ones, so an address the
 * register form takes is one the mail job will send to and `user add`
 * will store.
 *
 * Form handlers declare their fields in the manner of kcgi's struct
 * kvalid: a table of name, kind, flags and limits beside the handler,
 * named in the route table.  The dispatcher runs form_check() before
 * the handler: a field the table does not name, or a required one that
 * is absent, ends the request with 400 and a message that names it,
 * before anything is written.  The handler reads its values with
 * form_get(), which refuses (500) a name the table does not declare,
 * and answers a value its kind refuses (form_valid()) with its own form
 * and message.
 */
#ifndef PX_VALID_H
#define PX_VALID_H

#include <stddef.h>
#include <stdint.h>

struct json_object;
struct request;

/* The longest email address (RFC 5321: 254 in a path) and local part. */
#define VALID_EMAIL_MAX		254
#define VALID_EMAIL_LOCAL_MAX	64

/*
 * A plain ASCII address local@domain: a local part of printable ASCII
 * without space or the characters that end or split an address in a
 * header ( ( ) < > [ ] , ; : \ " ), at most 64 bytes; a domain of at
 * least two dot-separated labels of letters, digits and '-' (not at a
 * label's ends), at most 63 bytes each.  Internationalised addresses
 * are refused (no SMTPUTF8): an IDN domain is accepted in its punycode
 * form (xn--...).  Never a CR, LF or NUL: it goes into mail headers.
 */
int	valid_email(const char *);

/* [a-z0-9-], 1 to max bytes, not starting or ending with '-' (URLs). */
int	valid_slug(const char *, size_t max);

/*
 * A one-line text a person typed (a display name, a token's label):
 * valid UTF-8 of at most max characters (not bytes) without any control
 * character: no C0 (tab and line breaks included), DEL, C1, U+2028 or
 * U+2029, and none of the bidirectional controls (U+061C, U+200E,
 * U+200F, U+202A-U+202E, U+2066-U+2069) that reorder what is shown
 * around them.  Empty is valid (the caller says when it is required).
 */
int	valid_line(const char *, size_t max);
/* valid_line() that also takes line breaks (LF, CR) and tabs: a
 * multi-line description typed into a textarea. */
int	valid_text(const char *, size_t max);
/* A person's display name: valid_line() of at most 100 characters. */
int	valid_name(const char *);

/* A coupon code as the coupons table takes it: 3 to 32 of A-Z, a-z,
 * 0-9, '_' and '-' (codes compare case-blind). */
int	valid_coupon_code(const char *);

/* A decimal integer in [min, max] (optional '-', no spaces, no '+', no
 * leading zeros), into *out when out is not NULL. */
int	valid_int(const char *, int64_t min, int64_t max, int64_t *out);

/* A date "YYYY-MM-DD" (UTC, from 1970) into the unix time of its first
 * second, *out; 0, or -1 for anything else (the audit log's and the
 * orders' date filters). */
int	valid_date(const char *, int64_t *out);

/*
 * A money amount typed in major units ("12", "12.5", "12.50") for
 * currency (three capital letters; JPY, KRW and a few others have no
 * minor unit), at most max minor units, into *minor.  Never floating
 * point; no sign: refunds and debits say their direction elsewhere.
 */
int	valid_money(const char *, const char *currency, int64_t max, int64_t *minor);

/*
 * An absolute http:// or https:// URL with a host (a name, an IPv4
 * address or a bracketed IPv6 one) and optional port and path, without
 * user credentials, fragment, spaces or control characters, at most
 * 2000 bytes: a panel's address or base_url.
 */
int	valid_url(const char *);
int	valid_panel_url(const char *);

/*
 * A public host for share links: an IPv4 or IPv6 address (bare) or a DNS
 * name of two labels or more, at most 253 bytes.
 */
int	valid_host(const char *);

/* ---- declared form fields ---- */

enum field_kind {
	FK_TEXT,	/* one line (valid_line) of at most max characters */
	FK_NAME,	/* a display name (valid_name) */
	FK_EMAIL,	/* valid_email */
	FK_SECRET,	/* a password or code: any UTF-8, at most max bytes */
	FK_INT,		/* valid_int in [min, max] */
	FK_SLUG,	/* valid_slug of at most max bytes */
	FK_URL,		/* valid_url */
	FK_FLAG,	/* a checkbox: present or absent */
	FK_PARA,	/* lines of text (valid_text) of at most max characters */
};

#define FIELD_REQUIRED	0x01	/* must be in the body (it may be empty) */

struct field {
	const char	*name;
	enum field_kind	 kind;
	unsigned	 flags;
	int64_t		 min, max;	/* FK_INT: the range; text kinds: max (0: 1000) */
};

#define FORM(fields)	(fields), (sizeof(fields) / sizeof((fields)[0]))

/* A POST route's declared fields (route.h: the route table names it and
 * the dispatcher runs form_check() before the handler). */
struct form {
	const struct field *fields;
	size_t		 n;
};
/* A form of no field but its CSRF token (sign-out, revoke buttons). */
extern const struct form form_none;

/*
 * Check r's form against the declared fields ("csrf" is always allowed:
 * the dispatcher checked it).  An undeclared or a missing required
 * field: 400 (req_fail) naming it.  Otherwise returns the name of the
 * first present field whose value its kind refuses, or NULL: the
 * handler answers that with its own form and message.
 */
const char *form_check(struct request *, const struct field *, size_t);
/* A declared field's value, NULL when absent; 500 for a name that the
 * handler's table does not declare. */
const char *form_get(struct request *, const char *name);

/*
 * JSON bodies (ASVS V13.2.2): an API route that reads a body names its
 * shape in the route table's form slot, the same struct form of fields,
 * and the dispatcher runs json_check() before the handler.  The body
 * must be one object whose every key is a declared field, of the JSON
 * type its kind takes (FK_INT an integer in [min, max], FK_FLAG true or
 * false, every other kind a string the kind's validator takes, within
 * max), with every required field present.  Anything else ends the
 * request with 400, error code "invalid_body" and a message naming the
 * field (req_fail).  An API route without a shape takes no body at all
 * (router.c).
 */
void	json_check(struct request *, const struct form *shape);
/* A declared JSON field's value (json-c, owned by r->json), NULL when
 * absent; 500 for a name the shape does not declare. */
struct json_object *json_field(struct request *, const char *name);
/* 1 when a declared field's value passes its kind's validator. */
int	form_valid(struct request *, const char *name);

#endif
