/*
 * catalog.h: turning plan rows into view models, shared by the home
 * page, the catalog and the plan page.
 */
#ifndef PX_CATALOG_H
#define PX_CATALOG_H

struct request;
struct stmt;
struct vm;

/* Fill m from a row whose columns are PLAN_COLS (sql.c). */
void	plan_fill(struct request *, struct vm *, struct stmt *);
/* Human name of a protocol ("vless" -> "VLESS"). */
const char *protocol_label(const char *);

#endif
