/*
 * admin_catalog.h: what the staff's catalogue panels (admin_plans.c,
 * admin_taxonomy.c) share (admin_catalog.c).  Everything allocates in
 * the request's arena only.
 */
#ifndef PX_ADMIN_CATALOG_H
#define PX_ADMIN_CATALOG_H

#include <stdint.h>

#include "sql.h"

struct request;
struct vm;

#define CATALOG_SLUG_MAX	64		/* a slug: valid_slug of at most this */
#define CATALOG_NAME_MAX	120		/* a name, in characters (plans.name's CHECK) */
#define CATALOG_SORT_LIMIT	1000000		/* a sort number: -limit..limit */

/* The fixed notice of ?done= (created, saved, unchanged, ...) into vm. */
void	catalog_notice(struct request *, struct vm *);
/* The shop's currency (settings shop.currency), "" while none is set. */
const char *catalog_shop_currency(struct request *);
/* v in decimal. */
const char *catalog_int(struct request *, int64_t v);
/* s quoted for an audit row, cut to 160 characters ("..." after). */
const char *catalog_quote(struct request *, const char *s);
/* Append "field: before -> after" to *d ("; " between) when they differ. */
void	catalog_diff(struct request *, const char **d, const char *field,
	    const char *before, const char *after);
/* "1 plan", "3 plans". */
const char *catalog_count(struct request *, int64_t n, const char *one, const char *many);
/* 1 when a row but id (0: any row) of q's table holds slug (q binds
 * :slug and :id). */
int	catalog_slug_taken(struct request *, enum q, const char *slug, int64_t id);
/*
 * The move handler: row {id} of a table (order: id, sort in shown
 * order; set_sort: :sort, :id) up or down as the form's direction says,
 * the list renumbered 10, 20, ...; one audit row (action, target); 303
 * to back?done=moved (or =unchanged when it is first or last already).
 * 400 for a bad direction; 404 for no such row.
 */
void	catalog_move(struct request *, enum q order, enum q set_sort, const char *action,
	    const char *target, const char *back);

#endif
