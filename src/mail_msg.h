/*
 * mail_msg.h: an email job's message from its payload (mail_msg.c).
 */
#ifndef PX_MAIL_MSG_H
#define PX_MAIL_MSG_H

#include <stddef.h>
#include <stdint.h>

struct arena;
struct buf;
struct conf;
struct db;
struct views;

/* Where a message renders: the shop's name comes from the database,
 * strings go to the arena. */
struct mail_src {
	const struct conf *conf;
	struct db	*db;
	struct views	*views;
	struct arena	*a;
	/* The key file's key, to open sealed links (mail_seal.c), or NULL:
	 * they render masked (staff pages). */
	const unsigned char *key;
};

/* The parts staff see; strings in the arena. */
struct mail_msg {
	const char	*rcpt;
	const char	*tmpl;		/* "emails/NAME" */
	const char	*subject;
	const char	*message_id;	/* from the idempotency key: a resend carries the same */
	const char	*body;		/* as rendered (LF line ends) */
};

/*
 * Render payload into m and, when out is not NULL, the whole RFC 5322
 * message (dated date_at) into out.  0, or -1 with err set: a permanent
 * failure, which retrying cannot fix (bad payload, refused address, a
 * missing template, a key the template names and the job does not give
 * in strict mode).
 */
int	mail_msg_build(const struct mail_src *, const char *payload, const char *idem_key,
	    int64_t date_at, struct mail_msg *m, struct buf *out, char *err, size_t errlen);

#endif
