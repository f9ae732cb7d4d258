/*
 * util.c: allocation wrappers, the arena, buffers, escaping, UTF-8,
 * time and randomness.  See util.h.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "util.h"

#if PX_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/lsan_interface.h>
/*
 * Bytes of poison after every arena object: an overread of up to this
 * much lands in poison, not in the next object.  Objects are aligned to
 * max_align_t, so the real gap is this or a little more.
 */
#define ARENA_REDZONE	32
#else
#define ASAN_POISON_MEMORY_REGION(p, n)		((void)(p), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(p, n)	((void)(p), (void)(n))
#define ARENA_REDZONE	0
#endif

void
px_leak_check(void)
{
#if PX_ASAN
	__lsan_do_leak_check();
#endif
}

static void PX_NORETURN
oom(size_t n)
{
	fprintf(stderr, "1000proxy: out of memory (%zu bytes)\n", n);
	abort();
}

void *
xmalloc(size_t n)
{
	void	*p = malloc(n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

void *
xcalloc(size_t n, size_t sz)
{
	void	*p = calloc(n ? n : 1, sz ? sz : 1);

	if (p == NULL)
		oom(n * sz);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void	*q = realloc(p, n ? n : 1);

	if (q == NULL)
		oom(n);
	return q;
}

char *
xstrdup(const char *s)
{
	size_t	 n = strlen(s) + 1;
	char	*p = xmalloc(n);

	memcpy(p, s, n);
	return p;
}

/* ---- arena ---- */

struct block {
	struct block	*next;
	size_t		 size;
	size_t		 used;
	max_align_t	 data[];
};

struct arena {
	struct block	*head;	/* current block, newest first */
	struct block	*first;	/* kept across resets */
	size_t		 total;
};

/* A block with size bytes of room, all of it poisoned until handed out. */
static struct block *
block_new(size_t size)
{
	struct block	*b = xmalloc(sizeof(*b) + size);

	b->next = NULL;
	b->size = size;
	b->used = 0;
	ASAN_POISON_MEMORY_REGION(b->data, size);
	return b;
}

/*
 * Zero the part of b that was handed out.  Why every byte and not only
 * the password fields: the body, its decoded form values, the JSON
 * strings and the copies handlers make all live here, and tracking
 * which of them held a password is the kind of bookkeeping that misses
 * one (ASVS V8.3.6).  The cost is one memset of what the request used
 * (a few KiB for a form post).  explicit_bzero, because the next thing
 * done with the memory is free() or nothing, which a compiler may see
 * as making a plain memset dead.
 */
static void
block_wipe(struct block *b)
{
	ASAN_UNPOISON_MEMORY_REGION(b->data, b->used);
	explicit_bzero(b->data, b->used);
}

/* Give a block back to malloc (which must see it unpoisoned), wiped. */
static void
block_free(struct block *b)
{
	block_wipe(b);
	ASAN_UNPOISON_MEMORY_REGION(b->data, b->size);
	free(b);
}

struct arena *
arena_new(size_t first)
{
	struct arena	*a = xcalloc(1, sizeof(*a));

	a->first = a->head = block_new(first < 1024 ? 1024 : first);
	return a;
}

void
arena_reset(struct arena *a)
{
	struct block	*b, *next;

	for (b = a->head; b != a->first; b = next) {
		next = b->next;
		block_free(b);
	}
	a->head = a->first;
	block_wipe(a->first);
	a->first->used = 0;
	a->first->next = NULL;
	a->total = 0;
	/* Anything still pointing into the last request is now a bug. */
	ASAN_POISON_MEMORY_REGION(a->first->data, a->first->size);
}

int
arena_wiped(struct arena *a, const void *p, size_t n)
{
	const unsigned char *u = p;
	size_t	 i;
	int	 zero = 1;

	/* Only the kept first block can be looked at after a reset. */
	if (u < (const unsigned char *)a->first->data ||
	    u + n > (const unsigned char *)a->first->data + a->first->size)
		return 0;
	ASAN_UNPOISON_MEMORY_REGION(p, n);
	for (i = 0; i < n; i++)
		if (u[i] != 0)
			zero = 0;
	ASAN_POISON_MEMORY_REGION(p, n);
	return zero;
}

void
arena_free(struct arena *a)
{
	if (a == NULL)
		return;
	arena_reset(a);
	block_free(a->first);
	free(a);
}

void *
arena_alloc(struct arena *a, size_t n)
{
	struct block	*b = a->head;
	size_t		 align = _Alignof(max_align_t);
	size_t		 off = (b->used + align - 1) & ~(align - 1);
	char		*p;

	if (n > SIZE_MAX / 2)
		oom(n);
	if (off + n + ARENA_REDZONE > b->size) {
		size_t sz = b->size * 2;

		if (sz < n + ARENA_REDZONE)
			sz = n + ARENA_REDZONE;
		b = block_new(sz);
		b->next = a->head;
		a->head = b;
		off = 0;
	}
	p = (char *)b->data + off;
	/* The redzone after p[n] stays poisoned (block_new, reset). */
	b->used = off + n + ARENA_REDZONE;
	ASAN_UNPOISON_MEMORY_REGION(p, n);
	a->total += n;
	return p;
}

void *
arena_zalloc(struct arena *a, size_t n)
{
	void	*p = arena_alloc(a, n);

	memset(p, 0, n);
	return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char	*p = arena_alloc(a, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *
arena_vprintf(struct arena *a, const char *fmt, va_list ap)
{
	va_list	 aq;
	int	 n;
	char	*p;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		n = 0;
	p = arena_alloc(a, (size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *
arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list	 ap;
	char	*p;

	va_start(ap, fmt);
	p = arena_vprintf(a, fmt, ap);
	va_end(ap);
	return p;
}

size_t
arena_used(const struct arena *a)
{
	return a->total;
}

/* ---- buffers ---- */

void
buf_init(struct buf *b)
{
	b->p = NULL;
	b->len = b->cap = 0;
}

void
buf_free(struct buf *b)
{
	free(b->p);
	buf_init(b);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

static void
buf_grow(struct buf *b, size_t need)
{
	size_t	 cap;

	if (b->len + need + 1 <= b->cap)
		return;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + need + 1)
		cap *= 2;
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
	buf_grow(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
buf_puts(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_putc(struct buf *b, int c)
{
	char	 ch = (char)c;

	buf_add(b, &ch, 1);
}

void
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list	 aq;
	int	 n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n <= 0)
		return;
	buf_grow(b, (size_t)n);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void
buf_html_n(struct buf *b, const char *s, size_t n)
{
	size_t	 i, start = 0;
	const char *rep;

	for (i = 0; i < n; i++) {
		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: continue;
		}
		buf_add(b, s + start, i - start);
		buf_puts(b, rep);
		start = i + 1;
	}
	buf_add(b, s + start, n - start);
}

void
buf_html(struct buf *b, const char *s)
{
	if (s != NULL)
		buf_html_n(b, s, strlen(s));
}

void
buf_urlenc(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *u;

	if (s == NULL)
		return;
	for (u = (const unsigned char *)s; *u; u++) {
		if ((*u >= 'A' && *u <= 'Z') || (*u >= 'a' && *u <= 'z') ||
		    (*u >= '0' && *u <= '9') || *u == '-' || *u == '_' ||
		    *u == '.' || *u == '~')
			buf_putc(b, *u);
		else {
			buf_putc(b, '%');
			buf_putc(b, hex[*u >> 4]);
			buf_putc(b, hex[*u & 15]);
		}
	}
}

void
buf_json_str(struct buf *b, const char *s)
{
	const unsigned char *u;

	buf_putc(b, '"');
	for (u = (const unsigned char *)(s ? s : ""); *u; u++) {
		switch (*u) {
		case '"': buf_puts(b, "\\\""); break;
		case '\\': buf_puts(b, "\\\\"); break;
		case '\n': buf_puts(b, "\\n"); break;
		case '\r': buf_puts(b, "\\r"); break;
		case '\t': buf_puts(b, "\\t"); break;
		case '<': buf_puts(b, "\\u003c"); break;	/* safe inside HTML */
		case '>': buf_puts(b, "\\u003e"); break;
		case '&': buf_puts(b, "\\u0026"); break;
		default:
			if (*u < 0x20)
				buf_printf(b, "\\u%04x", *u);
			else
				buf_putc(b, *u);
		}
	}
	buf_putc(b, '"');
}

/* ---- UTF-8 ---- */

int
utf8_valid(const char *s, size_t n, int allow_newlines)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t	 i = 0, k, len;
	uint32_t cp;

	while (i < n) {
		unsigned c = u[i];

		if (c < 0x80) {
			if (c == 0 || c == 0x7f)
				return 0;
			if (c < 0x20 && c != '\t' &&
			    !(allow_newlines && (c == '\r' || c == '\n')))
				return 0;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; }
		else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; }
		else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; }
		else
			return 0;
		if (i + len > n)
			return 0;
		for (k = 1; k < len; k++) {
			if ((u[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (u[i + k] & 0x3f);
		}
		/* Overlongs, surrogates, beyond U+10FFFF. */
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return 0;
		i += len;
	}
	return 1;
}

/* ---- time, randomness, numbers ---- */

double
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The test clock.  Business time (TOTP steps, session and throttle
 * windows, token and link expiry, job backoff, SQL's unixepoch() through
 * db_open()) comes from now_unix() alone.  In test mode conf_load()
 * names a file holding an offset in seconds, and every process (the
 * pool's workers, `work`, `cron`, the CLI) adds it to the wall clock:
 * the suite moves time forward by rewriting one file instead of
 * sleeping.  The file is read on every call, so a running process sees
 * a move at once; that costs an open and a read, which only tests pay.
 * Without a file (production) now_unix() is a plain time().  Set once
 * per configuration load, before any worker is forked, so a
 * process-wide variable is the honest shape: it is what time() is.
 */
static char	*clock_file;

#define CLOCK_MAX_OFFSET	((int64_t)100 * 366 * 86400)

void
clock_use_file(const char *path)
{
	free(clock_file);
	clock_file = path != NULL && *path != '\0' ? xstrdup(path) : NULL;
}

int
clock_is_test(void)
{
	return clock_file != NULL;
}

/*
 * The offset in the clock file: a decimal number of seconds, optionally
 * followed by a newline.  No file yet means no offset.  A file that does
 * not parse is a broken harness: say so on stderr (the tests scan it)
 * and use no offset rather than a guess.
 */
static int64_t
clock_offset(void)
{
	char	 b[32];
	ssize_t	 n;
	int64_t	 off = 0;
	int	 fd;

	if ((fd = open(clock_file, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			fprintf(stderr, "1000proxy: test clock %s: %s\n", clock_file, strerror(errno));
		return 0;
	}
	n = read(fd, b, sizeof(b) - 1);
	close(fd);
	if (n < 0)
		n = 0;
	b[n] = '\0';
	while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == ' '))
		b[--n] = '\0';
	/* A century either way is plenty, and keeps t + off far from overflow. */
	if (parse_i64(b, &off) != 0 || off > CLOCK_MAX_OFFSET || off < -CLOCK_MAX_OFFSET) {
		fprintf(stderr, "1000proxy: test clock %s: \"%s\" is not a number of seconds "
		    "within a century\n", clock_file, b);
		return 0;
	}
	return off;
}

int64_t
now_unix(void)
{
	int64_t	 t = (int64_t)time(NULL);

	return clock_file != NULL ? t + clock_offset() : t;
}

/*
 * The real clock, never shifted by the test clock: for comparisons with
 * what the kernel stamps (file mtimes in the spool) and for the request
 * timer's log line.  Business time (sessions, throttles, TOTP, jobs)
 * uses now_unix().
 */
int64_t
wall_unix(void)
{
	return (int64_t)time(NULL);
}

/* Unix time t broken down in UTC (the formats stay literal for -Wformat). */
static struct tm
utc(int64_t t)
{
	time_t	 tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	return tm;
}

void
iso8601(char out[32], int64_t t)
{
	struct tm tm = utc(t);

	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
time_human(char out[32], int64_t t)
{
	struct tm tm = utc(t);

	strftime(out, 32, "%Y-%m-%d %H:%M UTC", &tm);
}

void
random_bytes(void *p, size_t n)
{
	if (RAND_bytes(p, (int)n) != 1) {
		fprintf(stderr, "1000proxy: RAND_bytes failed\n");
		abort();
	}
}

void
hex_encode(char *out, const unsigned char *in, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t	 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int
parse_i64(const char *s, int64_t *out)
{
	char	*end;
	long long v;

	if (s == NULL || *s == '\0' || (*s != '-' && (*s < '0' || *s > '9')))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

void
buf_bytes(struct buf *b, int64_t n)
{
	static const char *unit[] = { "B", "KB", "MB", "GB", "TB" };
	int64_t	 whole = n, frac = 0;
	size_t	 u = 0;

	if (n <= 0) {
		buf_puts(b, "Unlimited");
		return;
	}
	while (whole >= 1024 && u + 1 < NELEM(unit)) {
		frac = (whole % 1024) * 10 / 1024;
		whole /= 1024;
		u++;
	}
	if (frac)
		buf_printf(b, "%" PRId64 ".%" PRId64 " %s", whole, frac, unit[u]);
	else
		buf_printf(b, "%" PRId64 " %s", whole, unit[u]);
}

char *
file_read(const char *path)
{
	FILE	*f = fopen(path, "r");
	struct buf b;
	char	 chunk[8192];
	size_t	 n;

	if (f == NULL)
		return NULL;
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	if (b.p == NULL)
		buf_puts(&b, "");
	return b.p;
}

/*
 * One symbol of a library loaded with dlopen, into a function pointer
 * (or, for a variable, a data pointer) at slot.  dlsym returns void *;
 * ISO C has no conversion to function pointers, POSIX guarantees this
 * copy works.  -1 with err naming lib and symbol.
 */
int
dl_bind(void *h, const char *lib, const char *name, void *slot, char *err, size_t errsz)
{
	void	*p = dlsym(h, name);

	if (p == NULL) {
		snprintf(err, errsz, "%s: no symbol %s", lib, name);
		return -1;
	}
	memcpy(slot, &p, sizeof(p));
	return 0;
}
