/*
 * job_gateway_recent.h: the recent-payments report of `cron payments`
 * as a step of the gateway_followup job (job_gateway_recent.c).
 */
#ifndef PX_JOB_GATEWAY_RECENT_H
#define PX_JOB_GATEWAY_RECENT_H

#include "work.h"

/* 1 when a gateway_followup payload is a report ({"recent": ...}). */
int		 gateway_recent_wants(const char *payload);
/* The job's run() for such a payload (work.h): the gateway's list, then
 * one transaction recording the payments the shop does not know. */
enum job_rc	 gateway_recent_run(struct work *, struct job *);

#endif
