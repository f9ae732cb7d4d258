/*
 * sql.h: names of every SQL statement the workers run.  The text is in
 * sql.c, in one table, so the data layer keeps its SQL in one place and
 * each statement is prepared once per connection (db_prepare_all), in
 * every process: workers, the work daemon, cron and the command line.
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
	Q_SESSION_CUSTOMER,
	Q_SESSION_STAFF,
	Q_SESSION_TOUCH,
	Q_SESSION_DELETE,
	Q_SESSION_INSERT,
	Q_SESSION_DELETE_CUSTOMER_ALL,
	Q_SESSION_DELETE_STAFF_ALL,
	Q_SESSION_REAUTH,
	Q_STAFF_PERMS,
	Q_AUDIT_INSERT,
	Q_TOKEN_BY_HASH,
	Q_TOKEN_TOUCH,
	Q_API_TOKEN_LIST,
	Q_API_TOKEN_COUNT_LIVE,
	Q_API_TOKEN_INSERT,
	Q_API_TOKEN_GET,
	Q_API_TOKEN_REVOKE,
	Q_API_TOKEN_INFO,
	Q_TOKEN_OWNER_PHC_CUSTOMER,
	Q_TOKEN_OWNER_PHC_STAFF,
	Q_THROTTLE_GET,
	Q_THROTTLE_PUT,
	Q_THROTTLE_CLEAR,
	Q_THROTTLE_UNDO,
	Q_MAIL_THROTTLE_PRUNE,
	Q_MAIL_THROTTLE_HOUR,
	Q_MAIL_THROTTLE_COUNT,
	Q_EMAIL_TOKEN_INSERT,
	Q_EMAIL_TOKEN_FIND,
	Q_EMAIL_TOKEN_USE,
	Q_CUSTOMER_INSERT,
	Q_WALLET_CREATE,
	Q_CUSTOMER_BY_EMAIL,
	Q_CUSTOMER_VERIFY,
	Q_CUSTOMER_SET_EMAIL,
	Q_CUSTOMER_SET_PASSWORD,
	/* page_account.c, page_totp.c: the customer's own account. */
	Q_ACCT_CUSTOMER,
	Q_ACCT_SET_NAME,
	Q_ACCT_TOKENS_SPEND,
	Q_ACCT_TOKENS_SPEND_ALL,
	Q_ACCT_SESSIONS,
	Q_ACCT_SESSION_REVOKE,
	Q_ACCT_DELETE,
	Q_ACCT_API_TOKENS_REVOKE,
	Q_ACCT_TOTP_GET,
	Q_ACCT_TOTP_SET_PENDING,
	Q_ACCT_TOTP_USE_STEP,
	Q_ACCT_TOTP_ENABLE,
	Q_ACCT_TOTP_DISABLE,
	Q_ACCT_RC_DELETE,
	Q_ACCT_RC_INSERT,
	Q_ACCT_RC_UNUSED,
	Q_ACCT_RC_USE,
	Q_ACCT_RC_LEFT,
	/* the staff panels (page_admin*.c) */
	Q_STAFF_BY_EMAIL,
	Q_STAFF_GET,
	Q_STAFF_SET_PASSWORD,
	Q_STAFF_TOTP_GET,
	Q_STAFF_TOTP_PENDING,
	Q_STAFF_TOTP_ENABLE,
	Q_STAFF_TOTP_STEP,
	Q_STAFF_TOTP_RESET,
	Q_STAFF_RC_DELETE,
	Q_STAFF_RC_INSERT,
	Q_STAFF_RC_UNUSED,
	Q_STAFF_RC_USE,
	Q_STAFF_LIST,
	Q_ROLES,
	Q_ROLE_BY_NAME,
	Q_ROLE_EXCEEDS,
	Q_STAFF_INVITE,
	Q_STAFF_INVITE_TOKEN,
	Q_STAFF_INVITE_FIND,
	Q_STAFF_ACTIVATE,
	Q_STAFF_DISABLE,
	Q_STAFF_ENABLE,
	Q_STAFF_SET_ROLE,
	Q_STAFF_SUPER_ACTIVE,
	Q_ADMIN_COUNTS,
	Q_AUDIT_PAGE,
	Q_THROTTLE_LIST,
	Q_THROTTLE_EXISTS,
	/* the work daemon, spool recovery, mail, cron and the command line */
	Q_JOB_STATE,
	Q_JOBS_RESET_RUNNING,
	Q_JOBS_LIVE,
	Q_MAIL_LOG_HAS,
	Q_MAIL_LOG_INSERT,
	Q_PRUNE_SESSIONS,
	Q_PRUNE_EMAIL_TOKENS,
	Q_PRUNE_THROTTLE,
	Q_PLANS_TOTAL,
	Q_CHECK_WALLETS,
	Q_STAFF_CREATE,
	Q_STAFF_LIST_ALL,
	Q_TEST_CONSTRAINT,
	Q_CATALOG_VERSION,
	/* the work daemon, its handlers and `job` (work.c, mail.c,
	 * job_server_test.c, cmd_spool.c, cron.c) */
	Q_JOB_CLAIM,
	Q_JOB_CLAIMABLE,
	Q_JOB_SET_STEP,
	Q_JOB_STEP,
	Q_JOB_DONE,
	Q_JOB_RETRY_LATER,
	Q_JOB_FAIL,
	Q_JOB_RELEASE_RUNNER,
	Q_JOB_LIST,
	Q_JOB_GET,
	Q_JOB_RETRY,
	Q_JOB_DISCARD,
	Q_JOB_PRUNE,
	Q_SERVER_PANEL,
	Q_SERVER_SET_HEALTH,
	Q_SERVER_SET_PASSWORD,
	Q__MAX
};

extern const char *const sql_text[Q__MAX];
extern const char *const sql_name[Q__MAX];

/* The migration runner's statements (db_migrate), kept out of the table
 * above because they run before the schema it needs exists. */
extern const char sql_mig_table[];
extern const char sql_mig_version[];
extern const char sql_mig_record[];
extern const char sql_mig_rebuild_on[];
extern const char sql_mig_rebuild_off[];
extern const char sql_mig_fk_enabled[];
extern const char sql_mig_legacy_enabled[];
extern const char sql_mig_fk_check[];
extern const char sql_mig_fk_columns[];

#endif
