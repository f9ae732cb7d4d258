/*
 * pool.h: the pre-forked FastCGI pool (pool.c) and the worker loop
 * (worker.c), and the scoreboard they share.
 */
#ifndef PX_POOL_H
#define PX_POOL_H

#include <stdint.h>
#include <sys/types.h>

#include "http.h"

/* One per worker, in memory shared with the master (MAP_SHARED). */
struct slot {
	volatile pid_t	  pid;
	volatile int	  busy;
	volatile int	  gen;
	volatile double	  started;	/* CLOCK_MONOTONIC of the accept */
	volatile uint64_t served;
	char		  id[17];	/* "" until the request's parameters are in */
	char		  path[96];
};

/* `1000proxy serve`: the pool master.  Returns the exit status. */
int	pool_serve(const char *conf_path, int foreground);

/* Worker side (worker.c). */
int	app_init(struct app *, const struct conf *, char *err, size_t errsz);
/* The same, with the key file's treatment: APP_KEY_CREATE (app_init:
 * made when missing), APP_KEY_LOAD (must exist), APP_KEY_NONE (not
 * read; `check` reports on it itself, and never creates it). */
enum { APP_KEY_CREATE, APP_KEY_LOAD, APP_KEY_NONE };
int	app_init_key(struct app *, const struct conf *, int key_mode, char *err, size_t errsz);
void	app_fini(struct app *);
/* Serve FastCGI requests on fd until told to stop or max_requests. */
int	worker_run(struct app *, int listen_fd, struct slot *);
/* Serve one CGI request from the environment and standard input. */
int	worker_cgi(struct app *);

#endif
