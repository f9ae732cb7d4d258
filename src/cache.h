/*
 * cache.h: the per-worker cache of rendered anonymous pages (cache.c).
 *
 * A handler opts in with cache_allow(); the worker asks cache_lookup()
 * before dispatching and offers the finished response to cache_store()
 * after it.  Only the body, its type, status and the handler's own
 * headers are kept: the request id, security headers and the log line
 * are made fresh for every response.
 */
#ifndef PX_CACHE_H
#define PX_CACHE_H

#include <stddef.h>

struct cache;
struct request;

/* A cache of at most max_bytes (entries, keys and bodies together);
 * max_bytes 0 gives a cache that never stores.  Allocates; never NULL. */
struct cache	*cache_new(size_t max_bytes);
void		 cache_free(struct cache *);

/*
 * Called by a handler: this response is the same for every anonymous
 * visitor and depends on nothing but the path, the query and the
 * database.  Whether it is stored is still decided by cache_store().
 */
void	 cache_allow(struct request *);

/*
 * Before dispatch.  Returns 1 when r has been answered from the cache
 * (status, type, handler headers and body filled in), 0 to dispatch.
 * Never fails the request: a database error only empties the cache.
 */
int	 cache_lookup(struct request *);
/* After dispatch and the end-of-request rollback: keep r's response if
 * it may be kept. */
void	 cache_store(struct request *);

#endif
