/*
 * http_out.c: outgoing HTTP from the work daemon (http_out.h).
 *
 * Why one easy handle per remote, kept: a gateway call is a TLS
 * handshake plus one small exchange; keeping the handle keeps the
 * connection, which halves a call's time.  Why a reply cap and
 * CURLOPT_PROTOCOLS_STR: a gateway (or whatever answers at its URL) is
 * a remote peer like any other; it may send a gigabyte or redirect to
 * file://.  Redirects are not followed at all: every API we call
 * answers in place.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "curl_lib.h"
#include "http_out.h"
#include "log.h"
#include "util.h"

struct http_out {
	const struct curl_lib *cu;
	CURL		*h;
	const char	*name;
	struct buf	 body;
	int		 too_big;
	char		 ctype[128];
};

static size_t
write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct http_out *o = arg;
	size_t	 n = size * nmemb;

	if (o->body.len + n > HTTP_OUT_REPLY_MAX) {
		o->too_big = 1;
		return 0;	/* ends the transfer: CURLE_WRITE_ERROR */
	}
	buf_add(&o->body, p, n);
	return n;
}

/* Only Content-Type is kept from the headers: a JSON API that answers
 * HTML is a proxy's error page, which the caller words differently. */
static size_t
header_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct http_out *o = arg;
	size_t	 n = size * nmemb, k, i;

	if (n > 13 && strncasecmp(p, "content-type:", 13) == 0) {
		for (k = 13; k < n && (p[k] == ' ' || p[k] == '\t'); k++)
			;
		for (i = 0; k < n && p[k] != '\r' && p[k] != '\n' && i + 1 < sizeof(o->ctype); k++)
			o->ctype[i++] = p[k];
		o->ctype[i] = '\0';
	}
	return n;
}

struct http_out *
http_out_open(struct arena *a, const char *name, long timeout, const char *ca_file, int verify,
    char *err, size_t errsz)
{
	struct http_out *o = arena_zalloc(a, sizeof(*o));

	o->name = arena_strdup(a, name);
	if ((o->cu = curl_lib(err, errsz)) == NULL)
		return NULL;
	if ((o->h = o->cu->easy_init()) == NULL) {
		snprintf(err, errsz, "curl_easy_init failed");
		return NULL;
	}
	buf_init(&o->body);
	o->cu->easy_setopt(o->h, CURLOPT_PROTOCOLS_STR, "http,https");
	o->cu->easy_setopt(o->h, CURLOPT_FOLLOWLOCATION, 0L);
	o->cu->easy_setopt(o->h, CURLOPT_CONNECTTIMEOUT, timeout < 10 ? timeout : 10L);
	o->cu->easy_setopt(o->h, CURLOPT_TIMEOUT, timeout);
	o->cu->easy_setopt(o->h, CURLOPT_NOSIGNAL, 1L);
	o->cu->easy_setopt(o->h, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
	o->cu->easy_setopt(o->h, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
	if (ca_file != NULL && *ca_file != '\0')
		o->cu->easy_setopt(o->h, CURLOPT_CAINFO, ca_file);
	o->cu->easy_setopt(o->h, CURLOPT_WRITEFUNCTION, write_cb);
	o->cu->easy_setopt(o->h, CURLOPT_WRITEDATA, o);
	o->cu->easy_setopt(o->h, CURLOPT_HEADERFUNCTION, header_cb);
	o->cu->easy_setopt(o->h, CURLOPT_HEADERDATA, o);
	return o;
}

static double
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* The URL without its query (which may carry ids worth keeping out of
 * a log line), for the log. */
static const char *
url_for_log(struct arena *a, const char *url)
{
	size_t	 n = strcspn(url, "?#");

	return arena_strndup(a, url, n);
}

int
http_out_call(struct http_out *o, struct arena *a, const char *method, const char *url,
    const char *const *headers, const char *body, size_t len, const char *content_type,
    struct http_reply *rep, char *err, size_t errsz)
{
	const struct curl_lib *cu = o->cu;
	struct curl_slist *hdr = NULL;
	struct timespec t0;
	char	 errbuf[CURL_ERROR_SIZE] = "";
	long	 code = 0;
	CURLcode rc;

	memset(rep, 0, sizeof(*rep));
	rep->body = "";
	rep->content_type = "";
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
		snprintf(err, errsz, "%s: not an http(s) URL", o->name);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	o->body.len = 0;
	o->too_big = 0;
	o->ctype[0] = '\0';
	hdr = cu->slist_append(hdr, "Accept: application/json");
	/* curl adds "Expect: 100-continue" to large POSTs; no API we call
	 * wants the extra round trip. */
	hdr = cu->slist_append(hdr, "Expect:");
	if (content_type != NULL)
		hdr = cu->slist_append(hdr, arena_printf(a, "Content-Type: %s", content_type));
	for (; headers != NULL && *headers != NULL; headers++)
		hdr = cu->slist_append(hdr, *headers);
	cu->easy_setopt(o->h, CURLOPT_URL, url);
	cu->easy_setopt(o->h, CURLOPT_HTTPHEADER, hdr);
	cu->easy_setopt(o->h, CURLOPT_ERRORBUFFER, errbuf);
	if (strcmp(method, "GET") == 0) {
		cu->easy_setopt(o->h, CURLOPT_CUSTOMREQUEST, (char *)NULL);
		cu->easy_setopt(o->h, CURLOPT_HTTPGET, 1L);
	} else {
		cu->easy_setopt(o->h, CURLOPT_POSTFIELDS, body != NULL ? body : "");
		cu->easy_setopt(o->h, CURLOPT_POSTFIELDSIZE, (long)(body != NULL ? len : 0));
		cu->easy_setopt(o->h, CURLOPT_CUSTOMREQUEST,
		    strcmp(method, "POST") == 0 ? (char *)NULL : method);
	}
	rc = cu->easy_perform(o->h);
	cu->easy_setopt(o->h, CURLOPT_HTTPHEADER, NULL);
	cu->easy_setopt(o->h, CURLOPT_ERRORBUFFER, NULL);
	cu->slist_free_all(hdr);
	if (rc != CURLE_OK) {
		snprintf(err, errsz, "%s: %s", o->name, o->too_big ?
		    "reply larger than 1 MiB" : errbuf[0] ? errbuf : cu->easy_strerror(rc));
		log_sys("http_out", "%s %s %s: %s (%.0f ms)", o->name, method, url_for_log(a, url),
		    err, ms_since(&t0));
		return -1;
	}
	cu->easy_getinfo(o->h, CURLINFO_RESPONSE_CODE, &code);
	rep->status = code;
	rep->len = o->body.len;
	rep->body = arena_strndup(a, o->body.p != NULL ? o->body.p : "", o->body.len);
	rep->content_type = arena_strdup(a, o->ctype);
	log_sys("http_out", "%s %s %s: %ld, %zu bytes (%.0f ms)", o->name, method,
	    url_for_log(a, url), code, rep->len, ms_since(&t0));
	return 0;
}

void
http_out_close(struct http_out *o)
{
	if (o == NULL || o->h == NULL)
		return;
	o->cu->easy_cleanup(o->h);
	o->h = NULL;
	buf_free(&o->body);
}

const char *
http_out_form_escape(struct arena *a, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t	 n = strlen(s), i, k = 0;
	char	*out = arena_alloc(a, n * 3 + 1);

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '*')
			out[k++] = (char)c;
		else if (c == ' ')
			out[k++] = '+';
		else {
			out[k++] = '%';
			out[k++] = hex[c >> 4];
			out[k++] = hex[c & 15];
		}
	}
	out[k] = '\0';
	return out;
}
