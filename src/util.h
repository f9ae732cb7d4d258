/*
 * util.h: allocation that cannot fail, the per-request arena, growable
 * buffers and the escaping writers.  Everything here is used by every
 * other file; nothing here knows about HTTP or SQL.
 */
#ifndef PX_UTIL_H
#define PX_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define PX_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define PX_NORETURN __attribute__((noreturn))
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* PX_ASAN: this is an AddressSanitizer build (gcc or clang). */
#if defined(__SANITIZE_ADDRESS__)
#define PX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PX_ASAN 1
#endif
#endif
#ifndef PX_ASAN
#define PX_ASAN 0
#endif

/*
 * Run LeakSanitizer's check now, in a sanitizer build (a no-op
 * otherwise): for processes that leave by _exit(), which skips the
 * check LeakSanitizer otherwise runs at exit.  A leak is reported on
 * standard error and makes the process exit non-zero.
 */
void	px_leak_check(void);

/* Allocation wrappers: they abort on OOM, so callers never check. */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);

/*
 * The arena: request-lifetime memory.  Blocks are chained; arena_reset()
 * keeps the first block and frees the rest, so a worker's steady state
 * does no malloc at all.  In an AddressSanitizer build every object is
 * followed by a poisoned redzone and a reset poisons what it kept, so a
 * read past an object or after the reset is reported as malloc's would
 * be.  Reset and free zero every byte the request used first, so a
 * typed password does not outlive its request (ASVS V8.3.6).
 */
struct arena;
struct arena	*arena_new(size_t first);
void		 arena_free(struct arena *);
void		 arena_reset(struct arena *);
/* Tests only: 1 when p[0..n) (in the kept first block) is all zero
 * after a reset. */
int		 arena_wiped(struct arena *, const void *p, size_t n);
void		*arena_alloc(struct arena *, size_t);
void		*arena_zalloc(struct arena *, size_t);
char		*arena_strdup(struct arena *, const char *);
char		*arena_strndup(struct arena *, const char *, size_t);
char		*arena_printf(struct arena *, const char *, ...) PX_PRINTF(2, 3);
char		*arena_vprintf(struct arena *, const char *, va_list);
size_t		 arena_used(const struct arena *);

/* A growable byte buffer, always NUL-terminated. */
struct buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};
void	buf_init(struct buf *);
void	buf_free(struct buf *);
void	buf_reset(struct buf *);
void	buf_add(struct buf *, const void *, size_t);
void	buf_puts(struct buf *, const char *);
void	buf_putc(struct buf *, int);
void	buf_printf(struct buf *, const char *, ...) PX_PRINTF(2, 3);
void	buf_vprintf(struct buf *, const char *, va_list);

/*
 * Escaping writers.  buf_html() is safe in element text and in quoted
 * attribute values; buf_urlenc() percent-encodes a URL component;
 * buf_json_str() writes a JSON string literal with its quotes.
 */
void	buf_html(struct buf *, const char *);
void	buf_html_n(struct buf *, const char *, size_t);
void	buf_urlenc(struct buf *, const char *);
void	buf_json_str(struct buf *, const char *);

/* UTF-8 validation: 1 if s[0..n) is valid UTF-8 without NUL or C0 controls other than tab/CR/LF. */
int	utf8_valid(const char *, size_t, int allow_newlines);

/* Time helpers. */
double	now_mono(void);		/* seconds, CLOCK_MONOTONIC */
int64_t	now_unix(void);		/* seconds since the epoch: business time */
int64_t	wall_unix(void);		/* real time: file mtimes, timer log lines */
/*
 * Test mode only: now_unix() (and SQL's unixepoch()) add the offset in
 * seconds held in file path, read on every call.  NULL or "": the plain
 * wall clock.  conf_load() calls it; clock_is_test() says if one is set.
 */
void	clock_use_file(const char *path);
int	clock_is_test(void);
void	iso8601(char out[32], int64_t t);
void	time_human(char out[32], int64_t t);	/* "2026-12-01 09:58 UTC" */

/* Randomness from OpenSSL; aborts if the CSPRNG fails. */
void	random_bytes(void *, size_t);
void	hex_encode(char *out, const unsigned char *in, size_t n);

/* Parse a decimal integer in full; 0 on success. */
int	parse_i64(const char *, int64_t *);

/* A whole file as a NUL-terminated malloc'ed string (free it), or NULL. */
char	*file_read(const char *path);

/* Money is formatted by money_format (money.h), per currency. */
/* Bytes as "1.5 GB"; 0 means "Unlimited". */
void	buf_bytes(struct buf *, int64_t bytes);

/* A symbol of a dlopen(3)ed library into slot; -1 with err set. */
int	dl_bind(void *h, const char *lib, const char *name, void *slot, char *err, size_t errsz);

#endif
