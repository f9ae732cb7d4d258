/*
 * view.c: the template engine and view models.  See view.h for the
 * syntax.
 *
 * Templates are compiled once per worker into flat node arrays.  The
 * compiler runs a small HTML tokenizer over the literal text so that it
 * knows, for every placeholder, whether it stands in element text, in a
 * quoted attribute, or in a URL attribute; the escaping is chosen then,
 * not remembered by the template author.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "view.h"

/* N_URLBEGIN and N_URLEND bracket the value of a URL attribute that
 * holds a placeholder or a section: the rendered value is checked whole
 * (see url_check()). */
enum nkind { N_TEXT, N_VAR, N_RAW, N_SECTION, N_INVERT, N_PARTIAL,
	N_URLBEGIN, N_URLEND };
enum ctx { X_TEXT, X_ATTR, X_URL_START, X_URL_PART, X_PLAIN };

struct node {
	enum nkind	 kind;
	enum ctx	 ctx;
	char		*s;		/* text, or the name */
	size_t		 n;
	size_t		 end;		/* sections: index of the closing node */
	int		 partial;	/* N_PARTIAL: template index */
	int		 line;		/* for errors at render time */
};

struct tmpl {
	char		*name;
	int		 html;
	struct node	*nodes;
	size_t		 nn;
	char		*src;
};

struct views {
	struct tmpl	*t;
	size_t		 n;
	int		 strict;	/* a missing key is an error */
};

/* Why the last view_render() failed. */
static char view_err[256];

/* ---- view models ---- */

enum vtype { V_STR, V_HTML, V_BOOL, V_LIST };

struct ventry {
	const char	*key;
	enum vtype	 t;
	const char	*s;
	int		 b;
	struct vm	*head, *tail;
	struct ventry	*next;
};

struct vm {
	struct arena	*a;
	const struct vm	*parent;
	struct ventry	*first;
	struct vm	*next_item;
};

struct vm *
vm_new(struct arena *a)
{
	struct vm *m = arena_zalloc(a, sizeof(*m));

	m->a = a;
	return m;
}

struct arena *
vm_arena(const struct vm *m)
{
	return m->a;
}

void
vm_set_parent(struct vm *m, const struct vm *p)
{
	m->parent = p;
}

static struct ventry *
entry(struct vm *m, const char *key)
{
	struct ventry *e;

	for (e = m->first; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	e = arena_zalloc(m->a, sizeof(*e));
	e->key = arena_strdup(m->a, key);
	e->next = m->first;
	m->first = e;
	return e;
}

void
vm_set(struct vm *m, const char *key, const char *val)
{
	struct ventry *e = entry(m, key);

	e->t = V_STR;
	e->s = val ? arena_strdup(m->a, val) : "";
}

void
vm_setf(struct vm *m, const char *key, const char *fmt, ...)
{
	struct ventry *e = entry(m, key);
	va_list	 ap;

	va_start(ap, fmt);
	e->t = V_STR;
	e->s = arena_vprintf(m->a, fmt, ap);
	va_end(ap);
}

void
vm_set_int(struct vm *m, const char *key, int64_t v)
{
	vm_setf(m, key, "%lld", (long long)v);
}

void
vm_set_bool(struct vm *m, const char *key, int b)
{
	struct ventry *e = entry(m, key);

	e->t = V_BOOL;
	e->b = b != 0;
	e->s = b ? "1" : "";
}

void
vm_set_trusted_html(struct vm *m, const char *key, const char *html)
{
	struct ventry *e = entry(m, key);

	e->t = V_HTML;
	e->s = html ? arena_strdup(m->a, html) : "";
}

struct vm *
vm_push(struct vm *m, const char *key)
{
	struct ventry *e = entry(m, key);
	struct vm *item = vm_new(m->a);

	if (e->t != V_LIST) {
		e->t = V_LIST;
		e->head = e->tail = NULL;
	}
	item->parent = m;
	if (e->tail)
		e->tail->next_item = item;
	else
		e->head = item;
	e->tail = item;
	return item;
}

static const struct ventry *
lookup(const struct vm *m, const char *key, size_t n)
{
	const struct ventry *e;

	for (; m != NULL; m = m->parent)
		for (e = m->first; e != NULL; e = e->next)
			if (strncmp(e->key, key, n) == 0 && e->key[n] == '\0')
				return e;
	return NULL;
}

static int
truthy(const struct ventry *e)
{
	if (e == NULL)
		return 0;
	switch (e->t) {
	case V_BOOL: return e->b;
	case V_LIST: return e->head != NULL;
	default: return e->s != NULL && e->s[0] != '\0';
	}
}

/* ---- the compiler ---- */

enum hstate {
	H_TEXT, H_TAGNAME, H_TAG, H_ATTRNAME, H_AFTERNAME, H_BEFOREVAL,
	H_VAL_DQ, H_VAL_SQ, H_VAL_UQ, H_RAWTEXT, H_COMMENT
};

struct hscan {
	enum hstate	 st;
	char		 tag[16];
	size_t		 tagn;
	int		 endtag;
	char		 attr[24];
	size_t		 attrn;
	size_t		 vlen;		/* bytes of the attribute value so far */
	int		 vq;		/* value has a '?' or '=' (URL part) */
	char		 raw[16];	/* H_RAWTEXT: the element that ends it */
	unsigned	 seq;		/* tags and comments opened so far */
	unsigned	 nattr;		/* attributes begun so far */
	enum { EV_NONE, EV_URL_OPEN, EV_URL_CLOSE } ev;	/* why hscan() stopped */
	int		 udyn;		/* this URL value holds a placeholder or section */
};

static int
isalpha_c(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
isspace_c(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static int
url_attr(const char *a)
{
	static const char *const names[] = {
		"href", "src", "action", "formaction", "poster", "cite", "srcset"
	};
	size_t	 i;

	for (i = 0; i < NELEM(names); i++)
		if (strcasecmp(a, names[i]) == 0)
			return 1;
	return 0;
}

static void
tag_end(struct hscan *h)
{
	h->tag[h->tagn < sizeof(h->tag) ? h->tagn : sizeof(h->tag) - 1] = '\0';
	if (!h->endtag && (strcasecmp(h->tag, "script") == 0 ||
	    strcasecmp(h->tag, "style") == 0 || strcasecmp(h->tag, "textarea") == 0 ||
	    strcasecmp(h->tag, "title") == 0)) {
		/* textarea and title are RCDATA: text escaping is right there. */
		if (strcasecmp(h->tag, "textarea") == 0 || strcasecmp(h->tag, "title") == 0) {
			h->st = H_TEXT;
			return;
		}
		snprintf(h->raw, sizeof(h->raw), "%s", h->tag);
		h->st = H_RAWTEXT;
		return;
	}
	h->st = H_TEXT;
}

/*
 * Advance the tokenizer over literal text.  Returns the bytes consumed:
 * all of them, or fewer when it stops just after the quote that opens
 * or closes the value of a URL attribute (h->ev says which), so that the
 * compiler can bracket that value.
 */
static size_t
hscan(struct hscan *h, const char *s, size_t n)
{
	size_t	 i;

	h->ev = EV_NONE;
	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		switch (h->st) {
		case H_TEXT:
			if (c == '<' && i + 3 < n && strncmp(s + i, "<!--", 4) == 0) {
				h->st = H_COMMENT;
				h->seq++;
				i += 3;
			} else if (c == '<' && i + 1 < n && (isalpha_c((unsigned char)s[i + 1]) || s[i + 1] == '/' || s[i + 1] == '!')) {
				h->st = H_TAGNAME;
				h->seq++;
				h->tagn = 0;
				h->endtag = 0;
			}
			break;
		case H_TAGNAME:
			if (c == '/' && h->tagn == 0)
				h->endtag = 1;
			else if (isspace_c(c))
				h->st = H_TAG;
			else if (c == '>')
				tag_end(h);
			else if (h->tagn < sizeof(h->tag) - 1)
				h->tag[h->tagn++] = (char)c;
			h->tag[h->tagn] = '\0';
			break;
		case H_TAG:
		case H_AFTERNAME:
			if (c == '>')
				tag_end(h);
			else if (c == '=' && h->st == H_AFTERNAME)
				h->st = H_BEFOREVAL;
			else if (!isspace_c(c) && c != '/') {
				h->st = H_ATTRNAME;
				h->nattr++;
				h->attrn = 0;
				h->attr[h->attrn++] = (char)c;
				h->attr[h->attrn] = '\0';
			}
			break;
		case H_ATTRNAME:
			if (c == '=')
				h->st = H_BEFOREVAL;
			else if (isspace_c(c))
				h->st = H_AFTERNAME;
			else if (c == '>')
				tag_end(h);
			else if (h->attrn < sizeof(h->attr) - 1) {
				h->attr[h->attrn++] = (char)c;
				h->attr[h->attrn] = '\0';
			}
			break;
		case H_BEFOREVAL:
			h->vlen = 0;
			h->vq = 0;
			if (c == '"' || c == '\'') {
				h->st = c == '"' ? H_VAL_DQ : H_VAL_SQ;
				if (url_attr(h->attr)) {
					h->ev = EV_URL_OPEN;
					h->udyn = 0;
					return i + 1;
				}
			} else if (!isspace_c(c))
				h->st = H_VAL_UQ;
			break;
		case H_VAL_DQ:
		case H_VAL_SQ:
			if ((h->st == H_VAL_DQ && c == '"') || (h->st == H_VAL_SQ && c == '\'')) {
				h->st = H_TAG;
				if (url_attr(h->attr)) {
					h->ev = EV_URL_CLOSE;
					return i + 1;
				}
			} else {
				h->vlen++;
				if (c == '?' || c == '=' || c == '&' || c == '#')
					h->vq = 1;
			}
			break;
		case H_VAL_UQ:
			if (isspace_c(c))
				h->st = H_TAG;
			else if (c == '>')
				tag_end(h);
			break;
		case H_RAWTEXT:
			if (c == '<' && i + 1 < n && s[i + 1] == '/' &&
			    strncasecmp(s + i + 2, h->raw, strlen(h->raw)) == 0) {
				h->st = H_TAGNAME;
				h->seq++;
				h->tagn = 0;
				h->endtag = 0;
			}
			break;
		case H_COMMENT:
			if (c == '-' && i + 2 < n && strncmp(s + i, "-->", 3) == 0) {
				h->st = H_TEXT;
				i += 2;
			}
			break;
		}
	}
	return n;
}

struct cstate {
	struct node	*nodes;
	size_t		 nn, cap;
	char		*err;
	size_t		 errsz;
	const char	*file;
};

static struct node *
add_node(struct cstate *c, enum nkind k, const char *s, size_t n)
{
	struct node *nd;

	if (c->nn == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 32;
		c->nodes = xrealloc(c->nodes, c->cap * sizeof(*c->nodes));
	}
	nd = &c->nodes[c->nn++];
	memset(nd, 0, sizeof(*nd));
	nd->kind = k;
	nd->s = (char *)s;
	nd->n = n;
	nd->partial = -1;
	return nd;
}

static int
line_of(const char *src, const char *p)
{
	int	 line = 1;

	for (; src < p; src++)
		if (*src == '\n')
			line++;
	return line;
}

static int
name_ok(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!(isalpha_c((unsigned char)s[i]) || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_' || s[i] == '/' || s[i] == '-' || s[i] == '.'))
			return 0;
	return 1;
}

/* Literal text: a node, with the tokenizer run over it (HTML only) and
 * the value of every URL attribute bracketed by N_URLBEGIN/N_URLEND. */
static void
add_text(struct cstate *c, struct hscan *h, int html, const char *p, size_t n)
{
	while (n > 0) {
		size_t	 k = html ? hscan(h, p, n) : n;

		add_node(c, N_TEXT, p, k);
		if (html && h->ev == EV_URL_OPEN)
			add_node(c, N_URLBEGIN, p + k, 0);
		else if (html && h->ev == EV_URL_CLOSE && h->udyn)
			add_node(c, N_URLEND, p + k, 0);
		p += k;
		n -= k;
	}
}

/*
 * In a tag, a section boundary must stand between two attributes, so
 * that no branch glues text onto an attribute name or a value onto an
 * attribute the compiler did not see (`{{#c}}href{{/c}}{{^c}}title{{/c}}`
 * would compile the value that follows for title and render it for
 * href).  s is the template source right after the boundary: it must
 * go on with '>', "/>" or whitespace not followed by '=', or with
 * another section tag (which is checked in its turn); template
 * comments are skipped.
 */
static int
between_attrs(const char *s)
{
	int	 ws = 0;

	for (;;) {
		if (strncmp(s, "{{!", 3) == 0) {
			const char *e = strstr(s, "}}");

			if (e == NULL)
				return 0;
			s = e + 2;
		} else if (isspace_c((unsigned char)*s)) {
			ws = 1;
			s++;
		} else
			break;
	}
	if (s[0] == '{' && s[1] == '{' && (s[2] == '#' || s[2] == '^' || s[2] == '/'))
		return 1;
	if (*s == '>' || (s[0] == '/' && s[1] == '>'))
		return 1;
	return ws && *s != '=' && *s != '\0';
}

/*
 * Where a section boundary stands, as far as escaping is concerned.  A
 * section's body may render zero, one or many times, so the state where
 * it opens, where its body starts, and where it closes must be one and
 * the same: element text (any), between the attributes of one tag, the
 * value of one attribute, or inside one script, style or comment.  -1
 * when no boundary may stand here (a tag name, before an attribute
 * value, an unquoted value).  next: the source right after the boundary.
 */
struct bsig {
	int		 cls;
	unsigned	 seq, nattr;
};

static int
boundary(const struct hscan *h, const char *next, struct bsig *b)
{
	memset(b, 0, sizeof(*b));
	switch (h->st) {
	case H_TEXT:
		b->cls = H_TEXT;
		return 0;
	case H_TAG:
	case H_ATTRNAME:
	case H_AFTERNAME:
		if (!between_attrs(next))
			return -1;
		b->cls = H_TAG;
		b->seq = h->seq;
		return 0;
	case H_VAL_DQ:
	case H_VAL_SQ:
		b->nattr = h->nattr;
		/* FALLTHROUGH */
	case H_RAWTEXT:
	case H_COMMENT:
		b->cls = (int)h->st;
		b->seq = h->seq;
		return 0;
	default:
		return -1;
	}
}

static const char *
state_name(const struct hscan *h)
{
	switch (h->st) {
	case H_TEXT: return "element text";
	case H_VAL_DQ:
	case H_VAL_SQ: return "an attribute value";
	case H_VAL_UQ: return "an unquoted attribute value";
	case H_RAWTEXT: return "a script or style element";
	case H_COMMENT: return "a comment";
	default: return "a tag";
	}
}

static int
compile(struct tmpl *t, char *err, size_t errsz)
{
	struct cstate c = { 0 };
	struct hscan h = { 0 };
	struct bsig open[32], here;
	size_t	 stack[32], depth = 0;
	const char *p = t->src, *q;

	memset(&here, 0, sizeof(here));
	h.st = H_TEXT;
	while ((q = strstr(p, "{{")) != NULL) {
		const char *b, *e, *close;
		int	 triple = q[2] == '{';
		char	 sig;
		struct node *nd;

		if (q > p)
			add_text(&c, &h, t->html, p, (size_t)(q - p));
		b = q + (triple ? 3 : 2);
		close = strstr(b, triple ? "}}}" : "}}");
		if (close == NULL) {
			snprintf(err, errsz, "%s:%d: unclosed {{", t->name, line_of(t->src, q));
			goto bad;
		}
		p = close + (triple ? 3 : 2);
		sig = triple ? 0 : *b;
		if (sig == '#' || sig == '^' || sig == '/' || sig == '>' || sig == '!')
			b++;
		while (*b == ' ')
			b++;
		e = close;
		while (e > b && e[-1] == ' ')
			e--;
		if (sig == '!')
			continue;
		if (!name_ok(b, (size_t)(e - b))) {
			snprintf(err, errsz, "%s:%d: bad name in {{...}}", t->name, line_of(t->src, q));
			goto bad;
		}
		if (t->html && (sig == '#' || sig == '^' || sig == '/')) {
			if (boundary(&h, p, &here) != 0) {
				snprintf(err, errsz, "%s:%d: {{%c%.*s}} stands in %s, where a section may not open or close",
				    t->name, line_of(t->src, q), sig, (int)(e - b), b, state_name(&h));
				goto bad;
			}
			if (h.st == H_VAL_DQ || h.st == H_VAL_SQ)
				h.udyn = 1;
		}
		switch (sig) {
		case '#':
		case '^':
			if (depth == NELEM(stack)) {
				snprintf(err, errsz, "%s:%d: sections nested too deep", t->name, line_of(t->src, q));
				goto bad;
			}
			add_node(&c, sig == '#' ? N_SECTION : N_INVERT, (char *)b, (size_t)(e - b));
			open[depth] = here;
			stack[depth++] = c.nn - 1;
			break;
		case '/':
			if (depth == 0 || c.nodes[stack[depth - 1]].n != (size_t)(e - b) ||
			    strncmp(c.nodes[stack[depth - 1]].s, b, (size_t)(e - b)) != 0) {
				snprintf(err, errsz, "%s:%d: {{/%.*s}} does not close the open section",
				    t->name, line_of(t->src, q), (int)(e - b), b);
				goto bad;
			}
			if (t->html && memcmp(&open[depth - 1], &here, sizeof(here)) != 0) {
				snprintf(err, errsz, "%s:%d: {{/%.*s}} closes in %s, not where the section opened",
				    t->name, line_of(t->src, q), (int)(e - b), b, state_name(&h));
				goto bad;
			}
			c.nodes[stack[--depth]].end = c.nn;
			break;
		case '>':
			/* A partial is compiled on its own from element text:
			 * anywhere else it would run in a state it never saw. */
			if (t->html && h.st != H_TEXT) {
				snprintf(err, errsz, "%s:%d: partial {{>%.*s}} stands in %s: partials go in element text only",
				    t->name, line_of(t->src, q), (int)(e - b), b, state_name(&h));
				goto bad;
			}
			nd = add_node(&c, N_PARTIAL, (char *)b, (size_t)(e - b));
			nd->line = line_of(t->src, q);
			break;
		default:
			if (triple && t->html && h.st != H_TEXT) {
				snprintf(err, errsz, "%s:%d: raw {{{...}}} outside element text",
				    t->name, line_of(t->src, q));
				goto bad;
			}
			nd = add_node(&c, triple ? N_RAW : N_VAR, (char *)b, (size_t)(e - b));
			nd->line = line_of(t->src, q);
			if (!t->html)
				nd->ctx = X_PLAIN;
			else switch (h.st) {
			case H_TEXT:
				nd->ctx = X_TEXT;
				break;
			case H_VAL_DQ:
			case H_VAL_SQ:
				if (strncasecmp(h.attr, "on", 2) == 0 || strcasecmp(h.attr, "style") == 0) {
					snprintf(err, errsz, "%s:%d: placeholder in a %s attribute",
					    t->name, line_of(t->src, q), h.attr);
					goto bad;
				}
				if (url_attr(h.attr)) {
					nd->ctx = (h.vlen == 0) ? X_URL_START :
					    (h.vq ? X_URL_PART : X_ATTR);
					h.udyn = 1;
				} else
					nd->ctx = X_ATTR;
				h.vlen++;	/* later text is no longer at the start */
				break;
			default:
				snprintf(err, errsz, "%s:%d: placeholder {{%.*s}} is not in text or a quoted attribute value",
				    t->name, line_of(t->src, q), (int)(e - b), b);
				goto bad;
			}
		}
	}
	if (*p)
		add_text(&c, &h, t->html, p, strlen(p));
	if (depth != 0) {
		snprintf(err, errsz, "%s: section {{#%.*s}} is never closed", t->name,
		    (int)c.nodes[stack[depth - 1]].n, c.nodes[stack[depth - 1]].s);
		goto bad;
	}
	/* Every template ends where it began, in element text: a partial or
	 * a page's content (printed raw into the layout) that ended in a tag
	 * would put what follows it in a state the compiler never saw. */
	if (t->html && h.st != H_TEXT) {
		snprintf(err, errsz, "%s:%d: the template ends inside %s", t->name,
		    line_of(t->src, p + strlen(p)), state_name(&h));
		goto bad;
	}
	t->nodes = c.nodes;
	t->nn = c.nn;
	return 0;
bad:
	free(c.nodes);
	return -1;
}

static int
find_tmpl(const struct views *v, const char *name, size_t n)
{
	size_t	 i;

	for (i = 0; i < v->n; i++)
		if (strncmp(v->t[i].name, name, n) == 0 && v->t[i].name[n] == '\0')
			return (int)i;
	return -1;
}

static int
load_dir(struct views *v, const char *root, const char *rel, char *err, size_t errsz)
{
	char	 path[4096];
	DIR	*d;
	struct dirent *de;
	int	 rc = 0;

	snprintf(path, sizeof(path), "%s%s%s", root, *rel ? "/" : "", rel);
	if ((d = opendir(path)) == NULL) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		char	 sub[4096], full[8192];
		struct stat st;
		const char *dot;
		size_t	 len;

		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", de->d_name);
		snprintf(full, sizeof(full), "%s/%s", root, sub);
		if (stat(full, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			rc = load_dir(v, root, sub, err, errsz);
			continue;
		}
		dot = strrchr(de->d_name, '.');
		if (dot == NULL || (strcmp(dot, ".html") != 0 && strcmp(dot, ".txt") != 0))
			continue;
		{
			FILE	*f = fopen(full, "r");
			struct tmpl *t;
			size_t	 n;

			if (f == NULL) {
				snprintf(err, errsz, "%s: %s", full, strerror(errno));
				rc = -1;
				break;
			}
			v->t = xrealloc(v->t, (v->n + 1) * sizeof(*v->t));
			t = &v->t[v->n];
			memset(t, 0, sizeof(*t));
			t->src = xmalloc((size_t)st.st_size + 1);
			n = fread(t->src, 1, (size_t)st.st_size, f);
			t->src[n] = '\0';
			fclose(f);
			len = strlen(sub) - strlen(dot);
			t->name = xmalloc(len + 1);
			memcpy(t->name, sub, len);
			t->name[len] = '\0';
			t->html = strcmp(dot, ".html") == 0;
			v->n++;
			if (compile(t, err, errsz) != 0)
				rc = -1;
		}
	}
	closedir(d);
	return rc;
}

/*
 * Depth-first search for a partial that includes itself, directly or
 * through others: such a template could only render to the depth limit,
 * so it is refused when the views load.  mark: 0 unseen, 1 on the current
 * path, 2 done.  Returns the template index that closes a cycle, or -1.
 */
static int
find_cycle(const struct views *v, size_t i, unsigned char *mark)
{
	size_t	 k;
	int	 c;

	mark[i] = 1;
	for (k = 0; k < v->t[i].nn; k++) {
		const struct node *nd = &v->t[i].nodes[k];

		if (nd->kind != N_PARTIAL)
			continue;
		if (mark[nd->partial] == 1)
			return nd->partial;
		if (mark[nd->partial] == 0 && (c = find_cycle(v, (size_t)nd->partial, mark)) >= 0)
			return c;
	}
	mark[i] = 2;
	return -1;
}

int
views_load(struct views **out, const char *dir, char *err, size_t errsz)
{
	struct views *v = xcalloc(1, sizeof(*v));
	size_t	 i, k;

	*out = NULL;
	if (load_dir(v, dir, "", err, errsz) != 0) {
		views_free(v);
		return -1;
	}
	for (i = 0; i < v->n; i++)
		for (k = 0; k < v->t[i].nn; k++) {
			struct node *nd = &v->t[i].nodes[k];

			if (nd->kind != N_PARTIAL)
				continue;
			nd->partial = find_tmpl(v, nd->s, nd->n);
			if (nd->partial < 0) {
				snprintf(err, errsz, "%s: names missing partial \"%.*s\"",
				    v->t[i].name, (int)nd->n, nd->s);
				views_free(v);
				return -1;
			}
			/* Escaped for HTML or printed as plain text: a partial
			 * must be of the same kind as the template that names it. */
			if (v->t[nd->partial].html != v->t[i].html) {
				snprintf(err, errsz, "%s:%d: partial \"%.*s\" is %s, the template is %s",
				    v->t[i].name, nd->line, (int)nd->n, nd->s,
				    v->t[nd->partial].html ? "HTML" : "plain text",
				    v->t[i].html ? "HTML" : "plain text");
				views_free(v);
				return -1;
			}
		}
	{
		unsigned char *mark = xcalloc(v->n ? v->n : 1, 1);
		int	 c = -1;

		for (i = 0; i < v->n && c < 0; i++)
			if (mark[i] == 0)
				c = find_cycle(v, i, mark);
		free(mark);
		if (c >= 0) {
			snprintf(err, errsz, "%s: includes itself through its partials", v->t[c].name);
			views_free(v);
			return -1;
		}
	}
	*out = v;
	return 0;
}

void
views_free(struct views *v)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; i < v->n; i++) {
		free(v->t[i].name);
		free(v->t[i].src);
		free(v->t[i].nodes);
	}
	free(v->t);
	free(v);
}

int
views_has(const struct views *v, const char *name)
{
	return find_tmpl(v, name, strlen(name)) >= 0;
}

size_t
views_count(const struct views *v)
{
	return v->n;
}

const char *
views_name(const struct views *v, size_t i)
{
	return i < v->n ? v->t[i].name : NULL;
}

void
views_set_strict(struct views *v, int on)
{
	v->strict = on != 0;
}

const char *
view_error(void)
{
	return view_err;
}

/* ---- rendering ---- */

/*
 * A URL whose scheme (what comes before the first ':', if that comes
 * before any '/', '?' or '#') is one we allow.  html: s is HTML as
 * rendered, where an entity ("&#58;", "&colon;") could hide a colon from
 * this scan but not from the browser; only the entities our own escaping
 * writes, none of which is a colon, are let through.
 */
static int
url_ok(const char *s, size_t n, int html)
{
	static const char *const ents[] = { "&amp;", "&lt;", "&gt;", "&quot;", "&#39;" };
	size_t	 k, j;

	for (k = 0; k < n && s[k] != ':' && s[k] != '/' && s[k] != '?' && s[k] != '#'; k++) {
		if (s[k] != '&' || !html)
			continue;
		for (j = 0; j < NELEM(ents); j++)
			if (n - k >= strlen(ents[j]) && strncmp(s + k, ents[j], strlen(ents[j])) == 0)
				break;
		if (j == NELEM(ents))
			return 0;
		k += strlen(ents[j]) - 1;
	}
	if (k >= n || s[k] != ':')
		return 1;
	return (k == 4 && strncasecmp(s, "http", 4) == 0) ||
	    (k == 5 && strncasecmp(s, "https", 5) == 0) ||
	    (k == 6 && strncasecmp(s, "mailto", 6) == 0) ||
	    (n >= 22 && strncmp(s, "data:image/png;base64,", 22) == 0) ||
	    (n >= 26 && strncmp(s, "data:image/svg+xml;base64,", 26) == 0);
}

/* Write a URL that starts an attribute: only safe schemes pass. */
static void
put_url_start(struct buf *out, const char *s)
{
	if (!url_ok(s, strlen(s), 0)) {
		buf_puts(out, "#blocked-url");
		return;
	}
	buf_html(out, s);
}

static void
put_value(struct buf *out, const struct ventry *e, enum ctx ctx, int raw)
{
	const char *s;

	if (e == NULL || e->t == V_LIST)
		return;
	s = e->s ? e->s : "";
	if (raw && e->t == V_HTML) {
		buf_puts(out, s);
		return;
	}
	switch (ctx) {
	case X_PLAIN:
		buf_puts(out, s);
		break;
	case X_URL_START:
		put_url_start(out, s);
		break;
	case X_URL_PART:
		buf_urlenc(out, s);
		break;
	default:
		buf_html(out, s);
	}
}

struct rctx {
	const struct views *v;
	struct buf	*out;
	int		 strict;
	int		 failed;
};

static void
render(struct rctx *x, const struct tmpl *t, size_t from, size_t to,
    const struct vm *m, int depth)
{
	struct buf *out = x->out;
	size_t	 i, ustart = 0;

	if (depth > 16)
		return;
	for (i = from; i < to; i++) {
		const struct node *nd = &t->nodes[i];
		const struct ventry *e;

		switch (nd->kind) {
		case N_TEXT:
			buf_add(out, nd->s, nd->n);
			break;
		case N_VAR:
		case N_RAW:
			e = lookup(m, nd->s, nd->n);
			/* A name the model does not have is a misspelt key,
			 * or one the handler forgot: fatal where the test
			 * suite runs, empty for a customer. */
			if (e == NULL && x->strict && !x->failed) {
				x->failed = 1;
				snprintf(view_err, sizeof(view_err),
				    "%s:%d: {{%.*s}} is not in the view model",
				    t->name, nd->line, (int)nd->n, nd->s);
			}
			put_value(out, e, nd->ctx, nd->kind == N_RAW);
			break;
		case N_SECTION:
			e = lookup(m, nd->s, nd->n);
			if (e != NULL && e->t == V_LIST) {
				const struct vm *it;

				for (it = e->head; it; it = it->next_item)
					render(x, t, i + 1, nd->end, it, depth + 1);
			} else if (truthy(e))
				render(x, t, i + 1, nd->end, m, depth + 1);
			i = nd->end - 1;
			break;
		case N_INVERT:
			if (!truthy(lookup(m, nd->s, nd->n)))
				render(x, t, i + 1, nd->end, m, depth + 1);
			i = nd->end - 1;
			break;
		case N_PARTIAL:
			if (nd->partial >= 0)
				render(x, &x->v->t[nd->partial], 0,
				    x->v->t[nd->partial].nn, m, depth + 1);
			break;
		case N_URLBEGIN:
			ustart = out->len;
			break;
		case N_URLEND:
			/*
			 * The value of a URL attribute that holds a
			 * placeholder or a section is checked whole, as the
			 * browser will read it: in href="{{a}}{{b}}" with a
			 * empty, b is where the scheme starts, and no check
			 * of one placeholder at a time can see that.  This is
			 * simpler than refusing such templates, and it also
			 * covers literal text that a value completes
			 * (href="java{{x}}").  The closing quote is in the
			 * node before this one.
			 */
			if (out->len > ustart && !url_ok(out->p + ustart, out->len - ustart - 1, 1)) {
				out->len = ustart;
				buf_puts(out, "#blocked-url");
				buf_add(out, &t->nodes[i - 1].s[t->nodes[i - 1].n - 1], 1);
			}
			break;
		}
	}
}

int
view_render(const struct views *v, const char *name, const struct vm *m,
    struct buf *out)
{
	int	 i = find_tmpl(v, name, strlen(name));
	struct rctx x = { v, out, v->strict, 0 };

	if (i < 0) {
		snprintf(view_err, sizeof(view_err), "no template %s", name);
		return -1;
	}
	render(&x, &v->t[i], 0, v->t[i].nn, m, 0);
	return x.failed ? -1 : 0;
}

/*
 * Compile one template from a string, as views_load() would compile a
 * file called name (".txt" at the end: plain text, else HTML), and when
 * out is not NULL render it with m.  Partials are not resolved and
 * render as nothing.  For the fuzzers and test-parse; allocates nothing
 * that outlives the call.  -1 with err set on a parse error.
 */
int
view_compile_string(const char *name, const char *src, const struct vm *m,
    struct buf *out, char *err, size_t errsz)
{
	struct views v;
	struct tmpl t;
	size_t	 len = strlen(name);
	int	 rc;

	memset(&t, 0, sizeof(t));
	t.name = (char *)name;
	t.src = (char *)src;
	t.html = !(len >= 4 && strcmp(name + len - 4, ".txt") == 0);
	if (errsz > 0)
		err[0] = '\0';
	if ((rc = compile(&t, err, errsz)) == 0 && out != NULL && m != NULL) {
		struct rctx x = { &v, out, 0, 0 };

		v.t = &t;
		v.n = 1;
		v.strict = 0;
		render(&x, &t, 0, t.nn, m, 0);
	}
	free(t.nodes);
	return rc;
}
