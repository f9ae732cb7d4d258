/*
 * page_pay.h: what the checkout and wallet pages take from page_pay.c
 * (issue 13): the gateways they offer and the top-up form.
 */
#ifndef PX_PAGE_PAY_H
#define PX_PAGE_PAY_H

#include <stdint.h>

struct db;
struct request;
struct vm;

/* gateways[] (name, label) of every enabled gateway, and has_gateways. */
void	pay_gateways_vm(struct request *, struct vm *);
/* pay_gateways_vm, and the top-up form: topup_min, topup_max (in
 * currency), topup_idem (a fresh token), csrf. */
void	pay_topup_vm(struct request *, struct vm *, const char *currency);
/* The settings payments.topup_min and payments.topup_max (minor units). */
void	pay_topup_limits(struct db *, int64_t *lo, int64_t *hi);

#endif
