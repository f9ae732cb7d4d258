/*
 * log.c: JSON log lines, each written with one write(2) to a file
 * opened O_APPEND, so lines from every worker interleave whole.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "log.h"

static int log_fd = 2;

/*
 * syslog (issue 16, V1.7.2): with log_syslog on, every line also goes,
 * as the same JSON, to the local syslog socket (journald's /dev/log, or
 * rsyslog's), facility daemon, tag "1000proxy[PID]", for a collector
 * elsewhere.  syslog(3) cannot be pointed at another socket, so this
 * speaks its datagram protocol (RFC 3164's "<PRI>TIMESTAMP TAG: MSG", as
 * glibc sends it) itself, to log_syslog_socket: the tests stand a socket
 * of their own in for /dev/log.  MSG_DONTWAIT: a stalled syslog daemon
 * drops lines rather than stalling a request.  A failed send reconnects
 * at the next line (journald restarted), and the file log still has it.
 */
static int	 sl_fd = -1;
static char	 sl_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

static int
sl_connect(void)
{
	struct sockaddr_un sa;

	if (sl_fd >= 0)
		return 0;
	if ((sl_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, sl_path, sizeof(sl_path));
	if (connect(sl_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(sl_fd);
		sl_fd = -1;
		return -1;
	}
	return 0;
}

int
log_syslog_to(const char *path)
{
	if (sl_fd >= 0)
		close(sl_fd);
	sl_fd = -1;
	sl_path[0] = '\0';
	if (path == NULL || *path == '\0')
		return 0;
	if (strlen(path) >= sizeof(sl_path))
		return -1;
	memcpy(sl_path, path, strlen(path) + 1);
	/* Not connected yet is fine: the first line tries again. */
	(void)sl_connect();
	return 0;
}

/* The syslog header of a line at severity sev into hdr (n bytes);
 * its length.  Facility daemon (3). */
static int
sl_header(char *hdr, size_t n, int sev)
{
	char	 t[32];
	struct tm tm;
	time_t	 now = time(NULL);

	localtime_r(&now, &tm);
	strftime(t, sizeof(t), "%b %e %H:%M:%S", &tm);
	return snprintf(hdr, n, "<%d>%s 1000proxy[%d]: ", 3 * 8 + sev, t, (int)getpid());
}

int
log_syslog_prepare(char *out, size_t n, const char *line, size_t len)
{
	char	 hdr[64];
	int	 hl;

	if (sl_path[0] == '\0' || sl_connect() != 0)
		return -1;
	while (len > 0 && line[len - 1] == '\n')
		len--;
	hl = sl_header(hdr, sizeof(hdr), 3);
	if (hl < 0 || (size_t)hl + len > n)
		return -1;
	memcpy(out, hdr, (size_t)hl);
	memcpy(out + hl, line, len);
	return (int)((size_t)hl + len);
}

int
log_syslog_fileno(void)
{
	return sl_fd;
}

/* One line (without its newline) to syslog at severity sev. */
static void
sl_send(int sev, const char *line, size_t n)
{
	char	 hdr[64];
	struct iovec iov[2];
	struct msghdr mh;
	int	 hl, try;

	if (sl_path[0] == '\0')
		return;
	hl = sl_header(hdr, sizeof(hdr), sev);
	iov[0].iov_base = hdr;
	iov[0].iov_len = (size_t)hl;
	iov[1].iov_base = (void *)line;
	iov[1].iov_len = n;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	for (try = 0; try < 2; try++) {
		if (sl_connect() != 0)
			return;
		if (sendmsg(sl_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0 || errno == EAGAIN)
			return;
		close(sl_fd);
		sl_fd = -1;
	}
}

int
log_open(const char *path)
{
	int	 fd;

	if (path == NULL || *path == '\0') {
		log_fd = 2;
		return 0;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	if (log_fd > 2)
		close(log_fd);
	log_fd = fd;
	return 0;
}

/* The descriptor log lines go to, for writers that cannot call
 * log_msg (a signal handler writes a line prepared in advance). */
int
log_fileno(void)
{
	return log_fd;
}

static void
stamp(struct buf *b)
{
	struct timespec ts;
	struct tm tm;
	char	 t[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
	buf_printf(b, "{\"time\":\"%s.%03ldZ\"", t, ts.tv_nsec / 1000000);
}

/* severity: 6 info (request lines, daemons' notes), 3 error. */
static void
emit(struct buf *b, int sev)
{
	ssize_t	 w;

	buf_puts(b, "}\n");
	w = write(log_fd, b->p, b->len);
	(void)w;
	sl_send(sev, b->p, b->len - 1);
	buf_free(b);
}

static double
cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

/* CPU time is reported per request as the difference from its start,
 * kept in a static because getrusage is per process and a worker serves
 * one request at a time. */
static double cpu_at_start;

/*
 * The routes whose last path segment is a credential (read routes.c:
 * every {token} segment): a sign-up confirmation, a password reset, a
 * staff invitation and a subscription URL each let whoever holds the
 * link act as its owner, so a log line that kept one whole would be a
 * way in for anyone who can read the log.  etc/nginx's px_masked log
 * format cuts the same prefixes the same way.
 */
static const char *const secret_paths[] = {
	"/sub/", "/verify/", "/password/reset/", "/admin/invite/", "/admin/password/reset/",
};

size_t
log_secret_prefix(const char *path)
{
	size_t	 i, pl;

	if (path == NULL)
		return 0;
	for (i = 0; i < sizeof(secret_paths) / sizeof(secret_paths[0]); i++) {
		pl = strlen(secret_paths[i]);
		if (strncmp(path, secret_paths[i], pl) == 0 && strlen(path) > pl + 4)
			return pl;
	}
	return 0;
}

const char *
log_path(const char *path, char *out, size_t n)
{
	size_t	 pl;

	if (path == NULL)
		return "-";
	if ((pl = log_secret_prefix(path)) == 0)
		return path;
	snprintf(out, n, "%.*s%.4s...", (int)pl, path, path + pl);
	return out;
}

void
log_request(const struct request *r, size_t bytes)
{
	struct buf b;
	char	 lp[LOG_PATH_MAX];

	buf_init(&b);
	stamp(&b);
	buf_puts(&b, ",\"id\":");
	buf_json_str(&b, r->id);
	buf_puts(&b, ",\"method\":");
	buf_json_str(&b, r->method_name ? r->method_name : "-");
	buf_puts(&b, ",\"path\":");
	buf_json_str(&b, log_path(r->path, lp, sizeof(lp)));
	buf_printf(&b, ",\"status\":%d,\"bytes\":%zu,\"wall_ms\":%.3f,\"cpu_ms\":%.3f,\"user\":%lld,\"pid\":%d",
	    r->status, bytes, (now_mono() - r->t0) * 1e3, cpu_ms() - cpu_at_start,
	    (long long)r->user_id, (int)getpid());
	if (r->cache != NULL)
		buf_printf(&b, ",\"cache\":\"%s\"", r->cache);
	emit(&b, 6);
	cpu_at_start = cpu_ms();
}

/* A diagnostic line: level, then one tag (request id or daemon name). */
static void
diag(const char *level, const char *tag, const char *tagval, const char *fmt, va_list ap)
{
	struct buf b, m;

	buf_init(&b);
	buf_init(&m);
	buf_vprintf(&m, fmt, ap);
	stamp(&b);
	buf_printf(&b, ",\"level\":\"%s\",\"%s\":", level, tag);
	buf_json_str(&b, tagval);
	buf_puts(&b, ",\"msg\":");
	buf_json_str(&b, m.p ? m.p : "");
	buf_printf(&b, ",\"pid\":%d", (int)getpid());
	buf_free(&m);
	emit(&b, strcmp(level, "error") == 0 ? 3 : 6);
}

void
log_msg(const struct request *r, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	diag("error", "id", r ? r->id : "", fmt, ap);
	va_end(ap);
}

void
log_sys(const char *who, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	diag("info", "who", who, fmt, ap);
	va_end(ap);
}
