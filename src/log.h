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
/* The log's file descriptor (for a line written from a signal handler). */
int	log_fileno(void);
/* The one line per request: time, id, method, path, status, bytes, wall ms, cpu ms, user. */
void	log_request(const struct request *, size_t bytes);
/* path as logs may show it, into out (n bytes): a capability in the path
 * (the subscription token of /sub/{token}) is cut to its first four
 * characters and "..." in out; any other path is returned as it is.
 * Safe anywhere: no allocation. */
const char *log_path(const char *path, char *out, size_t n);
/* A diagnostic tagged with the request id (JSON line, level "error"). */
void	log_msg(const struct request *, const char *fmt, ...) PX_PRINTF(2, 3);
/* A diagnostic from a daemon (pool master, work): JSON line. */
void	log_sys(const char *who, const char *fmt, ...) PX_PRINTF(2, 3);

#endif
