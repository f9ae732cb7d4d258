/*
 * sql.c: the statement table.  Values reach SQL only through named
 * bind parameters (":name"); nothing here is ever built with printf.
 *
 * The catalog filter is one statement with optional parameters: a NULL
 * bind disables that filter, which keeps one prepared statement per
 * sort order instead of one per combination of filters.
 */
#include "sql.h"

#define PLAN_COLS \
	"p.slug, p.name, p.description, p.protocol, p.price_minor, p.currency, " \
	"p.duration_days, p.traffic_bytes, p.device_limit, s.country_code, " \
	"s.country, s.city, c.name, b.name, p.stock "

#define PLAN_FROM \
	"FROM plans p JOIN servers s ON s.id = p.server_id " \
	"LEFT JOIN server_categories c ON c.id = p.category_id " \
	"LEFT JOIN server_brands b ON b.id = p.brand_id "

#define PLAN_FILTER \
	"WHERE p.active = 1 AND s.state <> 'disabled' " \
	"AND (:category IS NULL OR c.slug = :category) " \
	"AND (:brand IS NULL OR b.slug = :brand) " \
	"AND (:country IS NULL OR s.country_code = :country) " \
	"AND (:protocol IS NULL OR p.protocol = :protocol) "

#define PLAN_PAGE " LIMIT :limit OFFSET :offset"

const char *const sql_text[Q__MAX] = {
	[Q_HEALTH_PING] = "SELECT count(*) FROM schema_migrations",
	[Q_JOBS_FAILED_COUNT] = "SELECT count(*) FROM jobs WHERE state = 'failed'",
	[Q_JOBS_PENDING_COUNT] = "SELECT count(*) FROM jobs WHERE state IN ('pending','running')",
	/* spool_enqueue: an existing idempotency key is not an error; the
	 * id is then read by key (RETURNING yields no row on conflict). */
	[Q_JOB_ENQUEUE] = "INSERT INTO jobs(kind, idem_key, payload) "
	    "VALUES (:kind, :idem_key, :payload) ON CONFLICT(idem_key) DO NOTHING",
	[Q_JOB_ID_BY_IDEM] = "SELECT id FROM jobs WHERE idem_key = :idem_key",
	[Q_PLANS_FEATURED] = "SELECT " PLAN_COLS PLAN_FROM
	    "WHERE p.active = 1 AND p.featured = 1 AND s.state <> 'disabled' "
	    "ORDER BY p.sort, p.price_minor LIMIT 6",
	[Q_PLANS_COUNT] = "SELECT count(*) " PLAN_FROM PLAN_FILTER,
	[Q_PLANS_PAGE_PRICE_ASC] = "SELECT " PLAN_COLS PLAN_FROM PLAN_FILTER
	    "ORDER BY p.price_minor, p.id" PLAN_PAGE,
	[Q_PLANS_PAGE_PRICE_DESC] = "SELECT " PLAN_COLS PLAN_FROM PLAN_FILTER
	    "ORDER BY p.price_minor DESC, p.id" PLAN_PAGE,
	[Q_PLANS_PAGE_TRAFFIC_DESC] = "SELECT " PLAN_COLS PLAN_FROM PLAN_FILTER
	    "ORDER BY p.traffic_bytes = 0 DESC, p.traffic_bytes DESC, p.id" PLAN_PAGE,
	[Q_PLANS_PAGE_NAME] = "SELECT " PLAN_COLS PLAN_FROM PLAN_FILTER
	    "ORDER BY p.sort, p.name, p.id" PLAN_PAGE,
	[Q_PLAN_BY_SLUG] = "SELECT " PLAN_COLS PLAN_FROM
	    "WHERE p.slug = :slug AND p.active = 1",
	[Q_CATEGORIES] = "SELECT slug, name FROM server_categories WHERE active = 1 ORDER BY sort, name",
	[Q_BRANDS] = "SELECT slug, name FROM server_brands WHERE active = 1 ORDER BY sort, name",
	[Q_LOCATIONS] = "SELECT s.country_code, s.country, s.city, count(p.id) "
	    "FROM servers s LEFT JOIN plans p ON p.server_id = s.id AND p.active = 1 "
	    "WHERE s.state <> 'disabled' GROUP BY s.id ORDER BY s.country, s.city",
	[Q_COUNTRIES] = "SELECT country_code, min(country) FROM servers "
	    "WHERE state <> 'disabled' GROUP BY country_code ORDER BY 2",
	[Q_SETTING_GET] = "SELECT value FROM settings WHERE key = :key",
	/* Moves when another connection commits; the page cache's validator. */
	[Q_DATA_VERSION] = "PRAGMA data_version",
};

const char *const sql_name[Q__MAX] = {
	[Q_HEALTH_PING] = "HEALTH_PING",
	[Q_JOBS_FAILED_COUNT] = "JOBS_FAILED_COUNT",
	[Q_JOBS_PENDING_COUNT] = "JOBS_PENDING_COUNT",
	[Q_JOB_ENQUEUE] = "JOB_ENQUEUE",
	[Q_JOB_ID_BY_IDEM] = "JOB_ID_BY_IDEM",
	[Q_PLANS_FEATURED] = "PLANS_FEATURED",
	[Q_PLANS_COUNT] = "PLANS_COUNT",
	[Q_PLANS_PAGE_PRICE_ASC] = "PLANS_PAGE_PRICE_ASC",
	[Q_PLANS_PAGE_PRICE_DESC] = "PLANS_PAGE_PRICE_DESC",
	[Q_PLANS_PAGE_TRAFFIC_DESC] = "PLANS_PAGE_TRAFFIC_DESC",
	[Q_PLANS_PAGE_NAME] = "PLANS_PAGE_NAME",
	[Q_PLAN_BY_SLUG] = "PLAN_BY_SLUG",
	[Q_CATEGORIES] = "CATEGORIES",
	[Q_BRANDS] = "BRANDS",
	[Q_LOCATIONS] = "LOCATIONS",
	[Q_COUNTRIES] = "COUNTRIES",
	[Q_SETTING_GET] = "SETTING_GET",
	[Q_DATA_VERSION] = "DATA_VERSION",
};
