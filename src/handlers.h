/*
 * handlers.h: every route handler, by the file that serves it.
 */
#ifndef PX_HANDLERS_H
#define PX_HANDLERS_H

struct request;

/* page_home.c */
void	page_home(struct request *);
void	page_robots(struct request *);
/* page_catalog.c */
void	page_plans(struct request *);
void	page_plan(struct request *);
/* page_health.c */
void	page_healthz(struct request *);
/* page_test.c (only with test_routes = yes) */
void	page_test_sleep(struct request *);
void	page_test_echo(struct request *);
void	page_test_crash(struct request *);

#endif
