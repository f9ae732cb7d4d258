/*
 * xml_lib.h: libxml2, loaded on first use with dlopen(3).
 *
 * Why: only the hidden test commands (test-html, the QR check of
 * test-unit) parse XML, yet linking libxml2 maps it with ICU and
 * libstdc++ into every process of the program: about 1.7 MB of resident
 * memory in the pool master and in the work master, against the demo's
 * 64 MB budget (DESIGN.md "Memory budget").  So nothing links it; the
 * test commands load it here.  The headers still come from libxml2-dev
 * (configure checks them), so the types below are libxml2's own.
 */
#ifndef PX_XML_LIB_H
#define PX_XML_LIB_H

#include <stddef.h>

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>

struct xml_lib {
	htmlDocPtr	 (*html_read_memory)(const char *, int, const char *, const char *, int);
	xmlDocPtr	 (*read_memory)(const char *, int, const char *, const char *, int);
	xmlNodePtr	 (*doc_get_root_element)(const xmlDoc *);
	void		 (*free_doc)(xmlDocPtr);
	xmlChar		*(*get_prop)(const xmlNode *, const xmlChar *);
	int		 (*str_cmp)(const xmlChar *, const xmlChar *);
	void		 (*set_structured_error_func)(void *, xmlStructuredErrorFunc);
	xmlFreeFunc	*free;		/* libxml2's xmlFree is a variable */
};

/* The library, loaded once per process; NULL with err set when it
 * cannot be loaded (libxml2 is not installed). */
const struct xml_lib *xml_lib(char *err, size_t errsz);

#endif
