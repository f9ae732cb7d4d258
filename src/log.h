/*
 * log.h: the structured request log (one JSON line per request) and
 * diagnostic lines tagged with the request id.
 */
#ifndef PX_LOG_H
#define PX_LOG_H

#include "util.h"

struct request;

/* Send log lines to path (NULL or "": standard error).  -1 on failure. */
int	log_open(const char *path);
/* Also send every line to the syslog datagram socket at path (conf
 * log_syslog_socket, "/dev/log"); NULL or "": no more.  -1 when the path
 * is too long; a socket not there yet is tried again at each line. */
int	log_syslog_to(const char *path);
/* For a line written from a signal handler (worker.c's timeout): the
 * datagram of line at severity err, ready for send(2) to
 * log_syslog_fileno(), into out (n bytes); its length, or -1 when syslog
 * is off, not reachable, or out is too small.  The time stamp is now's. */
int	log_syslog_prepare(char *out, size_t n, const char *line, size_t len);
int	log_syslog_fileno(void);
/* The log's file descriptor (for a line written from a signal handler). */
int	log_fileno(void);
/* The one line per request: time, id, method, path, status, bytes, wall ms, cpu ms, user. */
void	log_request(const struct request *, size_t bytes);
/* path as logs may show it, into out (n bytes, LOG_PATH_MAX will do): a
 * credential in the path (the token of /sub/, /verify/, /password/reset/
 * and /admin/invite/) is cut to its first four characters and "..." in
 * out; any other path is returned as it is.  Safe anywhere: no allocation. */
#define LOG_PATH_MAX	64
const char *log_path(const char *path, char *out, size_t n);
/* The length of the secret-carrying prefix path starts with ("/verify/"
 * and the others above) when a token of more than four characters
 * follows it, else 0.  mail_seal.c seals mailed links by the same rule. */
size_t	log_secret_prefix(const char *path);
/* A diagnostic tagged with the request id (JSON line, level "error"). */
void	log_msg(const struct request *, const char *fmt, ...) PX_PRINTF(2, 3);
/* A diagnostic from a daemon (pool master, work): JSON line. */
void	log_sys(const char *who, const char *fmt, ...) PX_PRINTF(2, 3);

#endif
