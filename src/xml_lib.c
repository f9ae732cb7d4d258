/*
 * xml_lib.c: loading libxml2 at run time.  See xml_lib.h for why.
 */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>

#include "util.h"
#include "xml_lib.h"

/* The soname of Debian's libxml2 (2.9 to 2.13). */
#define XML_SONAME "libxml2.so.2"

static struct xml_lib lib;
static int loaded;

const struct xml_lib *
xml_lib(char *err, size_t errsz)
{
	void	*h;

	if (loaded)
		return &lib;
	if ((h = dlopen(XML_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(err, errsz, "cannot load %s (install libxml2): %s", XML_SONAME, dlerror());
		return NULL;
	}
	if (dl_bind(h, XML_SONAME, "htmlReadMemory", &lib.html_read_memory, err, errsz) ||
	    dl_bind(h, XML_SONAME, "xmlReadMemory", &lib.read_memory, err, errsz) ||
	    dl_bind(h, XML_SONAME, "xmlDocGetRootElement", &lib.doc_get_root_element, err, errsz) ||
	    dl_bind(h, XML_SONAME, "xmlFreeDoc", &lib.free_doc, err, errsz) ||
	    dl_bind(h, XML_SONAME, "xmlGetProp", &lib.get_prop, err, errsz) ||
	    dl_bind(h, XML_SONAME, "xmlStrcmp", &lib.str_cmp, err, errsz) ||
	    dl_bind(h, XML_SONAME, "xmlSetStructuredErrorFunc", &lib.set_structured_error_func, err, errsz) ||
	    dl_bind(h, XML_SONAME, "xmlFree", &lib.free, err, errsz)) {
		dlclose(h);
		return NULL;
	}
	loaded = 1;
	return &lib;
}
