/*
 * privacy.h: the privacy text's figures, from the configuration
 * (privacy.c).
 */
#ifndef PX_PRIVACY_H
#define PX_PRIVACY_H

struct request;
struct vm;

/* Set pv_* keys in vm: the retention periods /terms states, as words. */
void	privacy_fill(struct request *, struct vm *);

#endif
