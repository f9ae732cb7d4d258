/*
 * curl_lib.h: libcurl, loaded on first use with dlopen(3).
 *
 * Why: Debian's libcurl pulls in some thirty libraries (GnuTLS and
 * p11-kit through LDAP and RTMP, Kerberos, SASL ...) whose constructors
 * run in every process that links it, costing each FastCGI worker about
 * 3 MB of resident memory it never uses: only the work daemon talks to
 * SMTP servers, panels and gateways.  So nothing links libcurl; the
 * processes that need it load it here.  The headers still come from
 * libcurl4-openssl-dev (configure checks them).
 */
#ifndef PX_CURL_LIB_H
#define PX_CURL_LIB_H

#include <stddef.h>

#include <curl/curl.h>

struct curl_lib {
	CURLcode	 (*global_init)(long);
	void		 (*global_cleanup)(void);
	CURL		*(*easy_init)(void);
	CURLcode	 (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode	 (*easy_perform)(CURL *);
	CURLcode	 (*easy_getinfo)(CURL *, CURLINFO, ...);
	void		 (*easy_cleanup)(CURL *);
	const char	*(*easy_strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void		 (*slist_free_all)(struct curl_slist *);
};

/* The library, loaded and initialised once per process (not thread-safe:
 * call it from the main thread first).  NULL with err set when libcurl
 * cannot be loaded. */
const struct curl_lib *curl_lib(char *err, size_t errsz);
/* Whether this process has loaded it (work.c recycles such a runner
 * when it idles: see "Runners on demand" there). */
int	curl_lib_loaded(void);

#endif
