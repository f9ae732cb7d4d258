/*
 * view.h: templates from views/, parsed once per worker, and the view
 * models that fill them.
 *
 * Template syntax (views/.../NAME.html, views/emails/NAME.txt):
 *   {{name}}           a value, escaped for where it stands: element text,
 *                      a quoted attribute, the start of a URL attribute
 *                      (scheme checked) or inside a URL (percent-encoded)
 *   {{{name}}}         raw HTML, printed raw only when the code set it with
 *                      vm_set_trusted_html(); anything else is escaped
 *   {{#name}}..{{/name}}  a list (once per item) or a true value (once)
 *   {{^name}}..{{/name}}  when the value is missing, false or empty
 *   {{>partials/x}}    another template, resolved when the views load
 *   {{! comment }}
 * A placeholder inside a tag but outside a quoted attribute value, or in
 * <script>/<style>, is a parse error: those contexts have no safe escape.
 */
#ifndef PX_VIEW_H
#define PX_VIEW_H

#include <stdint.h>

#include "util.h"

struct views;
struct vm;

/* Load every template under dir.  -1 with err set on any parse error or
 * missing partial. */
int	views_load(struct views **, const char *dir, char *err, size_t errsz);
void	views_free(struct views *);
int	views_has(const struct views *, const char *name);
size_t	views_count(const struct views *);
const char *views_name(const struct views *, size_t i);

/* Compile (and, with out, render) one template from a string: fuzzing
 * and test-parse.  -1 with err set on a parse error. */
int	view_compile_string(const char *name, const char *src,
	    const struct vm *, struct buf *out, char *err, size_t errsz);

/* Render template name with model vm, appending to out.  -1 if no such template. */
int	view_render(const struct views *, const char *name, const struct vm *,
	    struct buf *out);

/* View models live in an arena. */
struct vm	*vm_new(struct arena *);
void		 vm_set(struct vm *, const char *key, const char *val);
void		 vm_setf(struct vm *, const char *key, const char *fmt, ...)
		    PX_PRINTF(3, 4);
void		 vm_set_int(struct vm *, const char *key, int64_t);
void		 vm_set_bool(struct vm *, const char *key, int);
void		 vm_set_trusted_html(struct vm *, const char *key, const char *html);
/* Append a new item to the list key (creating it) and return the item. */
struct vm	*vm_push(struct vm *, const char *key);
/* A model is a scope; lookups fall back to the parent. */
void		 vm_set_parent(struct vm *, const struct vm *);
struct arena	*vm_arena(const struct vm *);

#endif
