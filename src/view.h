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
 * Also refused when the views load: a partial anywhere but element text;
 * a section that opens and closes in different states (element text,
 * between two attributes of one tag, one attribute's value, one script,
 * style or comment), or that stands in a tag without whitespace around
 * it; a partial of the other kind (HTML vs plain text); an HTML template
 * that ends inside a tag, value, comment or script.  The value of a URL
 * attribute with a placeholder or a section in it is checked whole when
 * it renders: an unsafe scheme becomes "#blocked-url".
 */
#ifndef PX_VIEW_H
#define PX_VIEW_H

#include <stdint.h>

#include "util.h"

struct json_object;
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

/* Render template name with model vm, appending to out.  -1 with
 * view_error() set if there is no such template or, in strict mode, when
 * a placeholder names a key the model does not have (out then holds the
 * page with that value empty, as it renders outside strict mode). */
int	view_render(const struct views *, const char *name, const struct vm *,
	    struct buf *out);
/* Strict mode (test_routes = yes and the test commands): a misspelt or
 * forgotten key is an error, not an empty string. */
void	views_set_strict(struct views *, int);
/* Why the last view_render() failed (this process). */
const char *view_error(void);

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
/* Every key of the JSON object o into m (view_json.c): strings, numbers
 * (as their text), booleans, null (empty), arrays as lists and objects
 * as one-item lists.  -1 with err set when o is not an object or nests
 * deeper than 8. */
int		 vm_set_json(struct vm *, struct json_object *o, char *err, size_t errsz);
/* A model is a scope; lookups fall back to the parent. */
void		 vm_set_parent(struct vm *, const struct vm *);
struct arena	*vm_arena(const struct vm *);

#endif
