/*
 * ui.h: the shared chrome of every page: the root view model (site name,
 * navigation, the signed-in person) and rendering a page into the layout.
 */
#ifndef PX_UI_H
#define PX_UI_H

#include <stdint.h>

#include "session.h"

struct request;
struct vm;

/* A root model with the chrome's values; allocates in the request arena. */
struct vm	*page_vm(struct request *, const char *title);
/* Render views/<tmpl> into the layout as the response body (text/html).
 * 500 (req_fail) if the template is missing. */
void		 page_render(struct request *, const char *tmpl, struct vm *);
/* A list's pager: "page", and "prev_page" / "next_page" when there is a
 * page before (page > 1) or after (more). */
void		 ui_pager(struct vm *, int64_t page, int more);
/* A browser's User-Agent as pages and notices show it: the first
 * UI_UA_SHOWN bytes (whole UTF-8 characters), "(unknown)" when empty. */
#define UI_UA_SHOWN	120
const char	*ui_ua(struct request *, const char *ua);
/* The live sessions of a customer's or staff member's account into
 * "sessions" (id, created, seen, ip, ua, and current for the one whose
 * id is current), newest first; returns how many others were listed. */
int64_t		 ui_sessions(struct request *, struct vm *, enum sess_kind, int64_t uid, int64_t current);
/* The HTML error page for status with msg (app->error_page). */
void		 ui_error_page(struct request *, int status, const char *msg);

#endif
