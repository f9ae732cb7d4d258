/*
 * curl_lib.c: loading libcurl at run time.  See curl_lib.h for why.
 */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curl_lib.h"

/* The soname of Debian's libcurl4-openssl-dev (and of every libcurl 7.x/8.x). */
#define CURL_SONAME "libcurl.so.4"

static struct curl_lib lib;
static int loaded;

/* dlsym returns void *; ISO C has no conversion to function pointers,
 * POSIX guarantees this one works. */
static int
sym(void *h, const char *name, void *slot, char *err, size_t errsz)
{
	void	*p = dlsym(h, name);

	if (p == NULL) {
		snprintf(err, errsz, "%s: no symbol %s", CURL_SONAME, name);
		return -1;
	}
	memcpy(slot, &p, sizeof(p));
	return 0;
}

const struct curl_lib *
curl_lib(char *err, size_t errsz)
{
	void	*h;

	if (loaded)
		return &lib;
	/*
	 * Debian's libcurl (the OpenSSL flavour) pulls in GnuTLS through
	 * libldap and librtmp, and GnuTLS initialises itself when it is
	 * loaded: about 0.6 MB of RSS in every runner for a library no job
	 * uses (smtp and https go through OpenSSL).  Both of its users call
	 * gnutls_global_init() themselves before they need it.
	 */
	setenv("GNUTLS_NO_IMPLICIT_INIT", "1", 0);
	if ((h = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(err, errsz, "cannot load %s (install libcurl4): %s", CURL_SONAME, dlerror());
		return NULL;
	}
	if (sym(h, "curl_global_init", &lib.global_init, err, errsz) ||
	    sym(h, "curl_global_cleanup", &lib.global_cleanup, err, errsz) ||
	    sym(h, "curl_easy_init", &lib.easy_init, err, errsz) ||
	    sym(h, "curl_easy_setopt", &lib.easy_setopt, err, errsz) ||
	    sym(h, "curl_easy_perform", &lib.easy_perform, err, errsz) ||
	    sym(h, "curl_easy_getinfo", &lib.easy_getinfo, err, errsz) ||
	    sym(h, "curl_easy_cleanup", &lib.easy_cleanup, err, errsz) ||
	    sym(h, "curl_easy_strerror", &lib.easy_strerror, err, errsz) ||
	    sym(h, "curl_slist_append", &lib.slist_append, err, errsz) ||
	    sym(h, "curl_slist_free_all", &lib.slist_free_all, err, errsz)) {
		dlclose(h);
		return NULL;
	}
	if (lib.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errsz, "curl_global_init failed");
		dlclose(h);
		return NULL;
	}
	loaded = 1;
	return &lib;
}

int
curl_lib_loaded(void)
{
	return loaded;
}
