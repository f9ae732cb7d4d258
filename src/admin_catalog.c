/*
 * admin_catalog.c: what the staff's catalogue panels share
 * (admin_catalog.h): plans (admin_plans.c) and server categories and
 * brands (admin_taxonomy.c).  Every route of theirs needs plans.write,
 * reading included: the lists show what is not on sale yet, and no
 * other permission of migration 002 fits.
 *
 * Rules of the panels:
 *  - Every field goes through the shared validators (valid.h) and
 *    money_parse; a refused value answers 400 with the form as it was
 *    typed, and nothing is written.  A slug another row holds is a 409,
 *    found inside the write transaction (so two staff members racing
 *    for one slug get one 409, never a 500 from the UNIQUE index).
 *  - Each change is one BEGIN IMMEDIATE transaction holding the write
 *    and one audit row with the changed fields before and after; an
 *    edit that changes nothing writes nothing.  008's triggers move
 *    catalog_version inside that same transaction, so every worker's
 *    page cache (cache.c) renders afresh on its next request.
 *  - "Move up/down" renumbers the rows 10, 20, 30... in their shown
 *    order (sort, name, id) with the two neighbours swapped: equal sort
 *    numbers would otherwise make a swap do nothing.
 */
#include "config.h"

#include <string.h>

#include "admin_catalog.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "response.h"
#include "session.h"
#include "setting.h"
#include "valid.h"
#include "view.h"

#define AUDIT_TEXT_MAX	160	/* characters of a text kept in an audit row (audit cuts at 2 KB) */

static const struct {
	const char	*code;
	const char	*text;
} notices[] = {
	{ "created", "Created. The public pages show it at once." },
	{ "saved", "Saved. The public pages show the change at once." },
	{ "unchanged", "Nothing was changed." },
	{ "activated", "Activated: it is shown in the shop again." },
	{ "deactivated", "Deactivated: it is no longer shown; orders keep it." },
	{ "moved", "Moved." },
	{ "deleted", "Deleted." },
};

void
catalog_notice(struct request *r, struct vm *vm)
{
	const char *done = req_query(r, "done");
	size_t	 i;

	for (i = 0; done != NULL && i < NELEM(notices); i++)
		if (strcmp(done, notices[i].code) == 0)
			vm_set(vm, "notice", notices[i].text);
}

const char *
catalog_shop_currency(struct request *r)
{
	return setting_text(r->db, "shop.currency", "");
}

const char *
catalog_int(struct request *r, int64_t v)
{
	return arena_printf(r->a, "%lld", (long long)v);
}

/* ---- the audit row: changed fields, before and after ---- */

/* A text for the audit row: quoted, cut to AUDIT_TEXT_MAX characters
 * (never inside a UTF-8 sequence). */
const char *
catalog_quote(struct request *r, const char *s)
{
	size_t	 i = 0, chars = 0;

	while (s[i] != '\0' && chars < AUDIT_TEXT_MAX) {
		i++;
		while ((s[i] & 0xc0) == 0x80)
			i++;
		chars++;
	}
	return arena_printf(r->a, "\"%.*s%s\"", (int)i, s, s[i] ? "..." : "");
}

/* Append "field: before -> after" to *d when the two differ. */
void
catalog_diff(struct request *r, const char **d, const char *field, const char *before,
    const char *after)
{
	if (strcmp(before, after) == 0)
		return;
	*d = arena_printf(r->a, "%s%s%s: %s -> %s", *d, **d ? "; " : "", field, before, after);
}

/* ---- moving a row up or down ---- */

/*
 * Renumber the rows of order (id, sort; in shown order) to 10, 20, ...
 * with row id and its neighbour above (up) or below swapped, through
 * set_sort, inside the caller's transaction.  *before and *after: the
 * row's sort number.  1 when moved, 0 when it is first (up) or last
 * (down) already, -1 when there is no such row.
 */
static int
move_row(struct request *r, enum q order, enum q set_sort, int64_t id, int up,
    int64_t *before, int64_t *after)
{
	struct stmt *st = db_q(r->db, order);
	int64_t	*ids = NULL, *sorts = NULL, t;
	size_t	 n = 0, cap = 0, i, at = (size_t)-1, j;

	while (db_step(r->db, st) == DB_ROW) {
		if (n == cap) {
			int64_t	*ni, *ns;

			cap = cap ? cap * 2 : 64;
			ni = arena_alloc(r->a, cap * sizeof(*ni));
			ns = arena_alloc(r->a, cap * sizeof(*ns));
			if (n > 0) {
				memcpy(ni, ids, n * sizeof(*ni));
				memcpy(ns, sorts, n * sizeof(*ns));
			}
			ids = ni;
			sorts = ns;
		}
		ids[n] = db_int(st, 0);
		sorts[n] = db_int(st, 1);
		if (ids[n] == id)
			at = n;
		n++;
	}
	db_reset(st);
	if (at == (size_t)-1)
		return -1;
	*before = *after = sorts[at];
	if ((up && at == 0) || (!up && at + 1 == n))
		return 0;
	j = up ? at - 1 : at + 1;
	t = ids[at];
	ids[at] = ids[j];
	ids[j] = t;
	t = sorts[at];
	sorts[at] = sorts[j];
	sorts[j] = t;
	for (i = 0; i < n; i++) {
		int64_t	 want = (int64_t)(i + 1) * 10;

		if (ids[i] == id)
			*after = want;
		if (sorts[i] == want)
			continue;
		st = db_q(r->db, set_sort);
		db_bind_int(r->db, st, ":sort", want);
		db_bind_int(r->db, st, ":id", ids[i]);
		db_step(r->db, st);
	}
	return 1;
}

static const struct field admin_catalog_move_fields[] = {
	{ "direction", FK_SLUG, FIELD_REQUIRED, 0, 4 },
};
const struct form admin_catalog_move_form = { FORM(admin_catalog_move_fields) };

/* The direction field: 1 up, 0 down, -1 neither. */
static int
direction(struct request *r)
{
	const char *d = form_get(r, "direction");

	if (strcmp(d, "up") == 0)
		return 1;
	if (strcmp(d, "down") == 0)
		return 0;
	return -1;
}

/*
 * Move row id of a table up or down (see move_row), with the audit row
 * action on target; then 303 to back.  400 for a bad direction; 404.
 */
void
catalog_move(struct request *r, enum q order, enum q set_sort, const char *action,
    const char *target, const char *back)
{
	int64_t	 id = req_param_int(r, "id"), before, after;
	int	 up = direction(r), rc;

	if (up < 0)
		req_fail(r, 400, "Move up or down.");
	db_begin(r->db);
	rc = move_row(r, order, set_sort, id, up, &before, &after);
	if (rc < 0) {
		db_rollback(r->db);
		req_fail(r, 404, "There is no such row.");
	}
	if (rc == 0) {
		/* First or last already: nothing to write. */
		db_rollback(r->db);
		resp_redirect(r, 303, arena_printf(r->a, "%s?done=unchanged", back));
		return;
	}
	req_audit(r, action, target, "moved %s: sort: %lld -> %lld (the list renumbered 10, 20, ...)",
	    up ? "up" : "down", (long long)before, (long long)after);
	db_commit(r->db);
	resp_redirect(r, 303, arena_printf(r->a, "%s?done=moved", back));
}

const char *
catalog_count(struct request *r, int64_t n, const char *one, const char *many)
{
	return arena_printf(r->a, "%lld %s", (long long)n, n == 1 ? one : many);
}

/* A slug held by a row but id (0: any) in the table of q: 1, else 0. */
int
catalog_slug_taken(struct request *r, enum q q, const char *slug, int64_t id)
{
	struct stmt *st = db_q(r->db, q);

	db_bind_text(r->db, st, ":slug", slug);
	if (id > 0)
		db_bind_int(r->db, st, ":id", id);
	else
		db_bind_null(r->db, st, ":id");
	return db_one_int(r->db, st, 0) > 0;
}
