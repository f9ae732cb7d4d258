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

#endif
