/*
 * conf.c: the configuration table and its loader.
 *
 * The file is "key = value" lines; '#' starts a comment; values may be
 * double-quoted.  An unknown key, a malformed line or a value outside
 * its range stops start-up with the file, the line and the reason.
 *
 * Secret keys (P() below: smtp_password) may instead come from a
 * credentials file (credentials_file: the same syntax, secret keys
 * only, closed to others) or from systemd's LoadCredential=
 * ($CREDENTIALS_DIRECTORY/KEY, the value alone), so the configuration
 * file itself can stay readable while the secrets are not (ASVS
 * V2.10.3, V6.4.1).  Precedence: systemd's credential, then the
 * credentials file, then the configuration file.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "testpause.h"
#include "util.h"
#include "valid.h"

enum ctype { C_STR, C_INT, C_BOOL };

struct cdef {
	const char	*key;
	enum ctype	 type;
	size_t		 off;
	const char	*def;
	int64_t		 min, max;
	const char	*help;
	int		 secret;	/* never printed; may come from credentials */
};

#define S(k, d, h) { #k, C_STR, offsetof(struct conf, k), d, 0, 0, h, 0 }
#define P(k, d, h) { #k, C_STR, offsetof(struct conf, k), d, 0, 0, h, 1 }
#define I(k, d, lo, hi, h) { #k, C_INT, offsetof(struct conf, k), d, lo, hi, h, 0 }
#define B(k, d, h) { #k, C_BOOL, offsetof(struct conf, k), d, 0, 1, h, 0 }

static const struct cdef defs[] = {
	S(listen, "unix:" PX_RUNSTATEDIR "/1000proxy/fcgi.sock",
	    "FastCGI socket: unix:/path or 127.0.0.1:port (loopback only)"),
	S(socket_group, "", "group that owns the unix socket (nginx's), empty: unchanged"),
	I(socket_mode, "0660", 0, 0777, "mode of the unix socket, octal"),
	I(workers, "4", 1, 64, "number of pre-forked FastCGI workers"),
	I(max_requests, "10000", 0, 100000000, "recycle a worker after this many requests (0: never)"),
	I(request_timeout, "30", 1, 3600, "seconds from accept a request may take before its worker is replaced"),
	S(pid_file, PX_RUNSTATEDIR "/1000proxy/1000proxy.pid", "pid file of the pool master"),
	S(database, PX_LOCALSTATEDIR "/lib/1000proxy/1000proxy.db", "SQLite database file"),
	S(spool_dir, PX_LOCALSTATEDIR "/lib/1000proxy/spool", "job spool directory"),
	S(views_dir, PX_DATADIR "/views", "directory of the HTML and email templates"),
	S(sql_dir, PX_DATADIR "/sql", "directory of the numbered schema migrations"),
	S(key_file, PX_LOCALSTATEDIR "/lib/1000proxy/secret.key", "key file for secrets at rest (mode 0600; `1000proxy key init` makes it)"),
	S(base_url, "http://127.0.0.1:8080", "public URL of the shop, used in links and emails"),
	S(site_name, "1000proxy", "name of the shop shown on every page"),
	S(currency, "USD", "ISO 4217 code of the shop's currency"),
	I(max_body, "1048576", 1024, 67108864, "largest request body accepted, bytes"),
	I(max_fields, "200", 1, 10000, "most form, query, cookie or JSON fields in one request"),
	I(max_field_len, "65536", 16, 16777216, "longest single field value or JSON string, bytes"),
	I(cache_size_kb, "1536", 64, 1048576, "SQLite page cache per connection, KiB"),
	I(page_cache_kb, "512", 0, 65536, "per-worker cache of rendered anonymous pages, KiB (0: off)"),
	S(log_file, "", "request log file; empty: standard error"),
	S(smtp_url, "", "smtp://host:587/ehlo-name (STARTTLS) or smtps://host:465/ehlo-name; empty: mail is not sent"),
	S(smtp_user, "", "SMTP AUTH user name"),
	P(smtp_password, "", "SMTP AUTH password (better in credentials_file or systemd's "
	    "LoadCredential=smtp_password)"),
	S(smtp_from, "noreply@localhost.localdomain", "envelope and header From address"),
	S(smtp_ca_file, "", "CA bundle to verify the SMTP server with; empty: the system's"),
	I(smtp_timeout, "60", 1, 600, "seconds one SMTP delivery may take"),
	I(work_poll_ms, "1000", 10, 60000, "how often the work daemon rescans the spool, ms"),
	I(retry_base, "5", 1, 3600, "first retry delay of a failed job, seconds (doubles)"),
	I(retry_cap, "3600", 1, 86400, "longest retry delay, seconds"),
	I(retry_max_age, "259200", 1, 31536000, "a job failing this long (seconds, from its first due time or its last retry) goes to failed/"),
	I(work_runners, "4", 1, 32, "most runner processes of the work daemon (jobs in flight at once); "
	    "they start on demand"),
	I(work_runner_idle, "10", 1, 3600, "seconds a runner of the work daemon waits idle before it exits "
	    "(one always stays)"),
	I(work_cache_kb, "256", 64, 1048576, "SQLite page cache of each work runner's connection, KiB"),
	I(work_lease, "300", 5, 86400, "seconds a runner holds a job before another may take it over; "
	    "longer than any call's timeout"),
	I(work_mail_lanes, "1", 1, 32, "emails in flight at once"),
	I(work_gateway_lanes, "2", 1, 32, "payment gateway jobs in flight at once"),
	I(panel_timeout, "20", 1, 600, "seconds one call to a 3X-UI panel may take"),
	S(stripe_api_url, "", "Stripe's API base URL; empty: https://api.stripe.com (tests name a double)"),
	S(stripe_checkout_origin, "", "the origin Stripe Checkout pages are served from (CSP form-action); "
	    "empty: https://checkout.stripe.com"),
	S(paypal_api_url, "", "PayPal's API base URL; empty: https://api-m.paypal.com in live mode, "
	    "https://api-m.sandbox.paypal.com in test mode"),
	S(paypal_checkout_origin, "", "the origin PayPal's approval pages are served from (CSP form-action); "
	    "empty: https://www.paypal.com, or https://www.sandbox.paypal.com in test mode"),
	S(nowpayments_api_url, "", "NOWPayments' API base URL; empty: https://api.nowpayments.io, or "
	    "https://api-sandbox.nowpayments.io in test mode"),
	S(nowpayments_checkout_origin, "", "the origin NOWPayments invoice pages are served from (CSP "
	    "form-action); empty: https://nowpayments.io, or https://sandbox.nowpayments.io in test mode"),
	I(gateway_timeout, "20", 1, 120, "seconds one call to a payment gateway may take"),
	S(gateway_ca_file, "", "CA bundle to verify payment gateways with; empty: the system's"),
	S(paypal_cert_hosts, ".paypal.com", "comma-separated host suffixes PayPal webhook signing "
	    "certificates may be fetched from (https only)"),
	S(paypal_ca_file, "", "CA bundle a PayPal webhook signing certificate must chain to; empty: the system's"),
	I(traffic_sync_minutes, "5", 1, 1440, "cron traffic-sync enqueues at most one traffic sync per panel "
	    "in each slot of this many minutes; a failing sync is retried within its slot"),
	I(alert_down_minutes, "15", 1, 10080, "cron alerts mails staff once when a panel has not answered "
	    "for this many minutes"),
	I(alert_stale_minutes, "30", 1, 10080, "cron alerts mails staff once when a panel's traffic has not "
	    "been synced for this many minutes"),
	I(job_keep_days, "30", 0, 3650, "cron prune deletes finished job rows older than this many days"),
	S(run_dir, PX_RUNSTATEDIR "/1000proxy", "directory for lock files shared by every 1000proxy process"),
	S(common_passwords, PX_DATADIR "/common-passwords.txt", "the list of refused common passwords"),
	I(argon2_m_kib, "7168", 1024, 1048576, "argon2id memory per password hash, KiB"),
	I(argon2_t, "5", 1, 100, "argon2id passes per password hash"),
	I(argon2_p, "1", 1, 16, "argon2id lanes per password hash"),
	I(customer_idle, "1800", 60, 86400, "a customer session ends after this many idle seconds"),
	I(customer_absolute, "43200", 300, 7776000, "a customer session ends this many seconds after sign-in"),
	I(staff_idle, "900", 60, 86400, "a staff session ends after this many idle seconds"),
	I(staff_absolute, "28800", 300, 604800, "a staff session ends this many seconds after sign-in"),
	I(mail_client_hourly, "20", 1, 100000, "mail-sending forms (register, password reset, email change) one client address may send per hour; then 429"),
	I(mail_recipient_hourly, "5", 1, 100000, "mails those forms send to one address per hour; past it they send nothing, silently"),
	I(mail_recipient_daily, "10", 1, 100000, "mails those forms send to one address per day; past it they send nothing, silently"),
	I(sub_rate_limit, "30", 1, 100000, "requests a minute one client address may make to one subscription URL "
	    "(and unknown ones); then 429"),
	I(sub_cache_seconds, "5", 0, 3600, "seconds each worker keeps a subscription body it built (0: never)"),
	I(sub_update_hours, "12", 1, 720, "the Profile-Update-Interval a subscription suggests to client apps, hours"),
	/* Sign-in notices and API token lifetimes (authflow16, issue 16). */
	I(token_max_days, "90", 1, 3650, "an API token lives at most this many days; a longer or "
	    "open-ended one asked for is capped"),
	I(token_notice_days, "7", 1, 60, "cron tokens mails a token's owner once, this many days before "
	    "it expires"),
	/* requests16 (issue 16): request budgets and the too-fast form
	 * check (budget.c, router.c). */
	I(budget_client_minute, "120", 1, 10000000, "POST requests and API calls one client address may make "
	    "a minute; then 429 with Retry-After"),
	I(budget_account_minute, "60", 1, 10000000, "POST requests and API calls one signed-in account (its "
	    "sessions and API tokens together) may make a minute; then 429 with Retry-After"),
	I(budget_alert_trips, "10", 1, 10000000, "budgets tripped in the last hour (each client address or "
	    "account counted once a minute) from which staff pages and /healthz show an alert"),
	I(form_min_seconds, "2", 0, 60, "a sign-in, registration or password-reset form sent sooner than "
	    "this many seconds after its page was served is refused as automated (0: no check)"),
	B(require_customer_totp, "no", "require every customer to enrol TOTP"),
	/* Passkeys (issue 16, passkey16: passkey.c). */
	S(passkey_rp_id, "", "WebAuthn relying party ID passkeys are bound to: base_url's host or a "
	    "parent domain of it; empty: base_url's host.  Changing it makes every passkey unusable"),
	B(demo, "no", "a demonstration shop: /admin/mail shows message bodies, which can hold sign-in and reset links; never in production"),
	B(test_routes, "no", "enable /_test/* routes used by the test suite and make a template key missing from its view model an error; never in production"),
	/* data16 (issue 16): retention, what cron prune keeps and for how
	 * long; /terms's privacy section states the same values. */
	I(audit_ip_keep_days, "90", 0, 3650, "cron prune clears the client address of audit log rows older than this many days"),
	I(mail_log_keep_days, "365", 0, 3650, "cron prune deletes mail log rows (recipient, subject, the server's answer) older than this many days"),
	I(job_payload_keep_days, "14", 0, 3650, "cron prune empties the payload of job rows done or discarded more than this many days ago (an email keeps its recipient and template)"),
	/* data16 (issue 16): logs */
	B(log_syslog, "no", "also send every log line (the same JSON) to syslog, facility daemon, ident 1000proxy"),
	S(log_syslog_socket, "/dev/log", "the local syslog socket log_syslog writes to (journald's and rsyslog's is /dev/log)"),
	S(test_clock_file, "", "test mode only (ignored unless test_routes = yes): a file holding "
	    "seconds that every process adds to the clock; never in production"),
	S(test_pause_file, "", "test mode only (ignored unless test_routes = yes): a file naming a "
	    "pause point (testpause.h) where a process waits to be killed; never in production"),
	/* pwkeys16: secrets kept out of the configuration file. */
	S(credentials_file, "", "a file of \"key = value\" lines for the secret keys (smtp_password), "
	    "mode 0600 or 0640, never readable by others; systemd's LoadCredential=KEY wins over it; "
	    "empty: none"),
	/* backup16: `1000proxy backup` and `cron backup` (cmd_backup.c). */
	S(backup_dir, PX_LOCALSTATEDIR "/lib/1000proxy/backup", "where `1000proxy backup` without a "
	    "directory and `cron backup` write (made mode 0700); the key file is never put there "
	    "unless --with-key asks"),
	I(backup_keep, "7", 1, 3650, "`cron backup` keeps this many newest backups in backup_dir "
	    "and deletes older ones"),
};

#undef S
#undef P
#undef I
#undef B

static const struct cdef *
find(const char *key)
{
	size_t	 i;

	for (i = 0; i < NELEM(defs); i++)
		if (strcmp(defs[i].key, key) == 0)
			return &defs[i];
	return NULL;
}

int
conf_set(struct conf *c, const char *key, const char *val, char *err,
    size_t errsz)
{
	const struct cdef *d = find(key);
	char	*end;
	long long v;

	if (d == NULL) {
		snprintf(err, errsz, "unknown key \"%s\"", key);
		return -1;
	}
	switch (d->type) {
	case C_STR: {
		char **p = (char **)((char *)c + d->off);

		free(*p);
		*p = xstrdup(val);
		return 0;
	}
	case C_INT:
		v = strtoll(val, &end, strcmp(key, "socket_mode") == 0 ? 8 : 10);
		if (*val == '\0' || *end != '\0') {
			snprintf(err, errsz, "%s: \"%s\" is not a number", key, val);
			return -1;
		}
		if (v < d->min || v > d->max) {
			snprintf(err, errsz, "%s: %lld is outside %lld..%lld", key,
			    v, (long long)d->min, (long long)d->max);
			return -1;
		}
		*(int64_t *)((char *)c + d->off) = v;
		return 0;
	case C_BOOL:
		if (!strcmp(val, "yes") || !strcmp(val, "true") || !strcmp(val, "1") || !strcmp(val, "on"))
			*(int *)((char *)c + d->off) = 1;
		else if (!strcmp(val, "no") || !strcmp(val, "false") || !strcmp(val, "0") || !strcmp(val, "off"))
			*(int *)((char *)c + d->off) = 0;
		else {
			snprintf(err, errsz, "%s: \"%s\" is not yes or no", key, val);
			return -1;
		}
		return 0;
	}
	return -1;
}

static char *
trim(char *s)
{
	char	*e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/*
 * Read "key = value" lines from f (named path) into c.  secrets_only:
 * the credentials file, where any other key is an error.  When a secret
 * key gets a value, *secret_seen names it.  0, or -1 with err set.
 */
static int
conf_parse(struct conf *c, FILE *f, const char *path, int secrets_only,
    const char **secret_seen, char *err, size_t errsz)
{
	char	 line[4096], why[512];
	int	 lineno = 0;
	const struct cdef *d;

	while (fgets(line, sizeof(line), f) != NULL) {
		char	*k, *v, *eq;
		size_t	 n;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errsz, "%s:%d: line too long", path, lineno);
			return -1;
		}
		k = trim(line);
		if (*k == '\0' || *k == '#')
			continue;
		if ((eq = strchr(k, '=')) == NULL) {
			snprintf(err, errsz, "%s:%d: expected \"key = value\"", path, lineno);
			return -1;
		}
		*eq = '\0';
		k = trim(k);
		v = trim(eq + 1);
		n = strlen(v);
		if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
			v[n - 1] = '\0';
			v++;
		} else if ((eq = strstr(v, " #")) != NULL) {
			*eq = '\0';
			v = trim(v);
		}
		d = find(k);
		if (secrets_only && (d == NULL || !d->secret)) {
			snprintf(err, errsz, "%s:%d: \"%s\" is not a secret key; a credentials file "
			    "holds only secret keys (smtp_password)", path, lineno, k);
			explicit_bzero(line, sizeof(line));
			return -1;
		}
		if (conf_set(c, k, v, why, sizeof(why)) != 0) {
			snprintf(err, errsz, "%s:%d: %s", path, lineno, why);
			return -1;
		}
		if (d != NULL && d->secret && *v != '\0' && secret_seen != NULL)
			*secret_seen = d->key;
	}
	explicit_bzero(line, sizeof(line));
	/* fopen() opens a directory; reading it fails (EISDIR). */
	if (ferror(f)) {
		snprintf(err, errsz, "%s: cannot read the configuration: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
conf_read(struct conf *c, const char *path, char *err, size_t errsz)
{
	FILE	*f;
	char	 why[512];
	size_t	 i;
	int	 rc;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < NELEM(defs); i++)
		if (conf_set(c, defs[i].key, defs[i].def, why, sizeof(why)) != 0) {
			snprintf(err, errsz, "built-in default: %s", why);
			goto fail;
		}
	if (path == NULL)
		return 0;
	/* A file that is there but cannot be read is an error, never
	 * the defaults: the operator meant something by it. */
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errsz, "%s: cannot read the configuration: %s", path, strerror(errno));
		goto fail;
	}
	rc = conf_parse(c, f, path, 0, &c->secret_in_conf, err, errsz);
	fclose(f);
	if (rc == 0)
		return 0;
fail:
	/* Nothing survives a failed load: the caller need not conf_free(). */
	conf_free(c);
	return -1;
}

/*
 * The secrets from outside the configuration file: the credentials
 * file (refused when others may read it, or when it is not a regular
 * file), then systemd's credentials directory, which wins.  0, or -1
 * with err set.
 */
static int
conf_credentials(struct conf *c, char *err, size_t errsz)
{
	const char	*dir = getenv("CREDENTIALS_DIRECTORY");
	char		 path[4096], val[4096], why[512];
	struct stat	 st;
	FILE		*f;
	size_t		 i, n;
	int		 fd, rc;

	memset(&st, 0, sizeof(st));
	if (*c->credentials_file != '\0') {
		fd = open(c->credentials_file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			snprintf(err, errsz, "credentials_file %s: %s", c->credentials_file,
			    strerror(errno));
			return -1;
		}
		if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 007) != 0) {
			snprintf(err, errsz, "credentials_file %s must be a regular file closed to "
			    "others (mode %04o; chmod 600, or 640 for the service's group)",
			    c->credentials_file, (unsigned)(st.st_mode & 07777));
			close(fd);
			return -1;
		}
		if ((f = fdopen(fd, "r")) == NULL) {
			close(fd);
			snprintf(err, errsz, "credentials_file %s: %s", c->credentials_file,
			    strerror(errno));
			return -1;
		}
		rc = conf_parse(c, f, c->credentials_file, 1, NULL, err, errsz);
		fclose(f);
		if (rc != 0)
			return -1;
	}
	if (dir == NULL || *dir == '\0')
		return 0;
	for (i = 0; i < NELEM(defs); i++) {
		if (!defs[i].secret ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, defs[i].key) >= sizeof(path) ||
		    (f = fopen(path, "r")) == NULL)
			continue;
		n = fread(val, 1, sizeof(val) - 1, f);
		rc = ferror(f) || !feof(f);
		fclose(f);
		if (rc) {
			snprintf(err, errsz, "credential %s: cannot read it, or longer than %zu bytes",
			    path, sizeof(val) - 1);
			return -1;
		}
		val[n] = '\0';
		/* The value alone; a file written by echo ends in a newline. */
		while (n > 0 && (val[n - 1] == '\n' || val[n - 1] == '\r'))
			val[--n] = '\0';
		rc = conf_set(c, defs[i].key, val, why, sizeof(why));
		explicit_bzero(val, sizeof(val));
		if (rc != 0) {
			snprintf(err, errsz, "credential %s: %s", path, why);
			return -1;
		}
	}
	return 0;
}

/*
 * Load the defaults, then path.  On failure nothing stays allocated in c
 * (a refused SIGHUP reload must not leak the half-read configuration).
 * On success the process's clock is set from test_routes and
 * test_clock_file (clock_use_file()).
 */
/*
 * passkey16: 1 when rp_id is empty (base_url's host is used) or is the
 * host of url or a parent domain of it (a whole label; the host's case
 * aside, the RP ID in lower case, as browsers hash it), as browsers
 * require of a WebAuthn RP ID; a wrong one would make every
 * passkey ceremony fail in the browser, so it stops the start instead.
 */
static int
rp_id_ok(const char *url, const char *rp_id)
{
	const char *h = strstr(url, "://");
	size_t	 hl, rl = strlen(rp_id);

	if (rl == 0)
		return 1;
	if (h == NULL || strcspn(rp_id, ":/?#[]@ ABCDEFGHIJKLMNOPQRSTUVWXYZ") != rl)
		return 0;
	h += 3;
	hl = strcspn(h, ":/?#");
	return hl >= rl && strncasecmp(h + hl - rl, rp_id, rl) == 0 &&
	    (hl == rl || h[hl - rl - 1] == '.');
}

int
conf_load(struct conf *c, const char *path, char *err, size_t errsz)
{
	if (conf_read(c, path, err, errsz) != 0) {
		conf_free(c);
		return -1;
	}
	if (conf_credentials(c, err, errsz) != 0) {
		conf_free(c);
		return -1;
	}
	/* base_url goes into every mail link and the CSRF origin check:
	 * a typo there must stop the start, not send broken links. */
	if (!valid_url(c->base_url)) {
		snprintf(err, errsz, "%s: base_url \"%s\" is not an http or https URL with a host "
		    "(and no user, fragment or space)", path ? path : "built-in", c->base_url);
		conf_free(c);
		return -1;
	}
	if (!rp_id_ok(c->base_url, c->passkey_rp_id)) {
		snprintf(err, errsz, "%s: passkey_rp_id \"%s\" is neither base_url's host nor a parent "
		    "domain of it", path ? path : "built-in", c->passkey_rp_id);
		conf_free(c);
		return -1;
	}
	c->path = path;
	/* The clock follows the configuration loaded last, and a test
	 * clock only ever runs with the test routes (util.c). */
	clock_use_file(c->test_routes ? c->test_clock_file : NULL);
	test_pause_use_file(c->test_routes ? c->test_pause_file : NULL);
	return 0;
}

void
conf_free(struct conf *c)
{
	size_t	 i;

	for (i = 0; i < NELEM(defs); i++)
		if (defs[i].type == C_STR) {
			char **p = (char **)((char *)c + defs[i].off);

			free(*p);
			*p = NULL;
		}
}

void
conf_print(const struct conf *c, int with_help)
{
	size_t	 i;

	for (i = 0; i < NELEM(defs); i++) {
		const struct cdef *d = &defs[i];
		const char *p = (const char *)c + d->off;

		if (with_help)
			printf("# %s (default: %s)\n", d->help, *d->def ? d->def : "empty");
		switch (d->type) {
		case C_STR:
			/* Never print secrets. */
			if (d->secret && **(char *const *)p)
				printf("%s = (set)\n", d->key);
			else
				printf("%s = \"%s\"\n", d->key, *(char *const *)p);
			break;
		case C_INT:
			if (strcmp(d->key, "socket_mode") == 0)
				printf("%s = 0%llo\n", d->key, (unsigned long long)*(const int64_t *)p);
			else
				printf("%s = %lld\n", d->key, (long long)*(const int64_t *)p);
			break;
		case C_BOOL:
			printf("%s = %s\n", d->key, *(const int *)p ? "yes" : "no");
			break;
		}
		if (with_help)
			printf("\n");
	}
}
