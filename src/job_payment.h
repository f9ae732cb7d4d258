/*
 * job_payment.h: the payment jobs of the work daemon (job_payment.c):
 * payment_create, payment_capture and gateway_followup.
 */
#ifndef PX_JOB_PAYMENT_H
#define PX_JOB_PAYMENT_H

#include "work.h"

extern const struct job_kind job_kind_payment_create;
extern const struct job_kind job_kind_payment_capture;
extern const struct job_kind job_kind_gateway_followup;

/*
 * A gateway_followup job whose payload is {"verify":"paypal",...} (a
 * PayPal webhook the worker stored unverified, webhook.c): paypal13's
 * step in gw_paypal.c verifies it and applies it.  job_payment.c calls it
 * through a weak reference: without it such a job fails for staff.
 */
enum job_rc paypal_verify_followup(struct work *, struct job *);

#endif
