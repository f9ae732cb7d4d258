/*
 * conf.h: the configuration, described by one table (conf.c) that
 * validates, prints and documents itself.
 */
#ifndef PX_CONF_H
#define PX_CONF_H

#include <stddef.h>
#include <stdint.h>

/* The configuration file read when neither -c nor $PX_CONF names one;
 * when it does not exist, the defaults hold. */
#define PX_CONF_DEFAULT	PX_SYSCONFDIR "/1000proxy.conf"

struct conf {
	/* The file loaded (not owned: argv, the environment or a
	 * constant); NULL when there was none and the defaults hold. */
	const char	*path;
	char	*listen;		/* "unix:/path" or "127.0.0.1:9000" */
	char	*socket_group;
	int64_t	 socket_mode;
	int64_t	 workers;
	int64_t	 max_requests;
	int64_t	 request_timeout;
	char	*pid_file;
	char	*database;
	char	*spool_dir;
	char	*views_dir;
	char	*sql_dir;
	char	*key_file;
	char	*base_url;
	char	*site_name;
	char	*currency;
	int64_t	 max_body;
	int64_t	 max_fields;
	int64_t	 max_field_len;
	int64_t	 cache_size_kb;
	int64_t	 page_cache_kb;
	char	*log_file;
	char	*smtp_url;
	char	*smtp_user;
	char	*smtp_password;
	char	*smtp_from;
	char	*smtp_ca_file;
	int64_t	 smtp_timeout;
	int64_t	 work_poll_ms;
	int64_t	 retry_base;
	int64_t	 retry_cap;
	int64_t	 retry_max_age;
	int64_t	 work_runners;
	int64_t	 work_runner_idle;
	int64_t	 work_cache_kb;
	int64_t	 work_lease;
	int64_t	 work_mail_lanes;
	int64_t	 work_gateway_lanes;
	int64_t	 panel_timeout;
	char	*stripe_api_url;	/* payment gateways (gateway.h): "" = the gateway's own */
	char	*stripe_checkout_origin;
	char	*paypal_api_url;
	char	*paypal_checkout_origin;
	char	*nowpayments_api_url;
	char	*nowpayments_checkout_origin;
	int64_t	 gateway_timeout;
	char	*gateway_ca_file;
	char	*paypal_cert_hosts;
	char	*paypal_ca_file;
	int64_t	 traffic_sync_minutes;
	int64_t	 alert_down_minutes;
	int64_t	 alert_stale_minutes;
	int64_t	 job_keep_days;
	/* data16 (issue 16): retention and syslog */
	int64_t	 audit_ip_keep_days;
	int64_t	 mail_log_keep_days;
	int64_t	 job_payload_keep_days;
	int	 log_syslog;
	char	*log_syslog_socket;
	char	*run_dir;
	char	*common_passwords;
	int64_t	 argon2_m_kib;
	int64_t	 argon2_t;
	int64_t	 argon2_p;
	int64_t	 customer_idle;
	int64_t	 customer_absolute;
	int64_t	 staff_idle;
	int64_t	 staff_absolute;
	int64_t	 mail_client_hourly;
	int64_t	 mail_recipient_hourly;
	int64_t	 mail_recipient_daily;
	int64_t	 sub_rate_limit;
	int64_t	 sub_cache_seconds;
	int64_t	 sub_update_hours;
	int64_t	 token_max_days;	/* authflow16 */
	int64_t	 token_notice_days;
	int64_t	 budget_client_minute;	/* requests16: budget.c */
	int64_t	 budget_account_minute;
	int64_t	 budget_alert_trips;
	int64_t	 form_min_seconds;	/* router.c, the too-fast form check */
	int	 require_customer_totp;
	char	*passkey_rp_id;	/* passkey16: empty means base_url's host */
	int	 demo;		/* /admin/mail shows bodies (./quickstart demo) */
	int	 test_routes;
	char	*test_clock_file;	/* only with test_routes */
	char	*test_pause_file;	/* only with test_routes (testpause.h) */
	/* pwkeys16 */
	char	*credentials_file;	/* secret keys from a file of their own */
	/* backup16 (cmd_backup.c) */
	char	*backup_dir;
	int64_t	 backup_keep;
	/* Not a key: the first secret key the configuration file itself
	 * set (NULL: none), for `check` to warn when others may read it. */
	const char *secret_in_conf;
};

/* Fill c with defaults, then read path (NULL: defaults only).  On error
 * writes "file:line: reason" into err and returns -1. */
int	conf_load(struct conf *c, const char *path, char *err, size_t errsz);
void	conf_free(struct conf *c);
/* Print every key with its value (or default) and help text. */
void	conf_print(const struct conf *c, int with_help);
/* Set one key from a string (used by the loader and by tests). */
int	conf_set(struct conf *c, const char *key, const char *val,
	    char *err, size_t errsz);

#endif
