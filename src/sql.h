/*
 * sql.h: names of every SQL statement the workers run.  The text is in
 * sql.c, in one table, so the data layer keeps its SQL in one place and
 * each statement is prepared once per worker (db_prepare_all).
 */
#ifndef PX_SQL_H
#define PX_SQL_H

enum q {
	Q_HEALTH_PING,
	Q_JOBS_FAILED_COUNT,
	Q_JOBS_PENDING_COUNT,
	Q_JOB_ENQUEUE,
	Q_JOB_ID_BY_IDEM,
	Q_PLANS_FEATURED,
	Q_PLANS_COUNT,
	Q_PLANS_PAGE_PRICE_ASC,
	Q_PLANS_PAGE_PRICE_DESC,
	Q_PLANS_PAGE_TRAFFIC_DESC,
	Q_PLANS_PAGE_NAME,
	Q_PLAN_BY_SLUG,
	Q_CATEGORIES,
	Q_BRANDS,
	Q_LOCATIONS,
	Q_COUNTRIES,
	Q_SETTING_GET,
	Q_DATA_VERSION,
	Q__MAX
};

extern const char *const sql_text[Q__MAX];
extern const char *const sql_name[Q__MAX];

#endif
