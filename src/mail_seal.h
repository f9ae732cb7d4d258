/*
 * mail_seal.h: secret links in email job payloads, sealed at enqueue
 * and scrubbed once sent (mail_seal.c says why and the payload's shape).
 */
#ifndef PX_MAIL_SEAL_H
#define PX_MAIL_SEAL_H

#include <stddef.h>

struct arena;
struct json_object;
struct vm;

/* Whether s is a link (or path) to a secret-carrying route. */
int	mail_link_secret(const char *s);
/* Link s with its token cut as the logs cut it, in arena a. */
const char *mail_link_masked(struct arena *a, const char *s);
/*
 * Seal every var of payload that is a secret link into payload.sealed
 * under key (associated data "mail:IDEM:VAR") and leave the var masked.
 * 0, or -1 with err (a secret link and key NULL, or OpenSSL failed).
 * Allocates in a (NULL will do when key is NULL).
 */
int	mail_seal_links(struct arena *a, struct json_object *payload, const unsigned char *key,
	    const char *idem, char *err, size_t errlen);
/*
 * Set each sealed var of payload, opened under key, in vm (over its
 * masked value).  key NULL: nothing (the masked links stay: what staff
 * pages render).  -1 with err when a sealed var does not open or the
 * payload was scrubbed (a sent or discarded message: it cannot be sent
 * again with a live link).  Allocates in a; the plaintext is wiped
 * after vm_set copies it.
 */
int	mail_unseal_links(struct arena *a, struct json_object *payload, const unsigned char *key,
	    const char *idem, struct vm *vm, char *err, size_t errlen);

#endif
