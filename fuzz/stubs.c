/*
 * stubs.c: what the gateway readers (gw_stripe.c, gw_paypal.c) link
 * against beyond the parsers, for the fuzz targets alone (build.sh):
 * their webhook readers never reach the database, the network or the
 * payment state machine, so each of those aborts, and a fuzzer that
 * gets there reports it.  The one payment.c function they use for real is
 * copied; the state names come from pay_state.c.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "gateway.h"
#include "http_out.h"
#include "payment.h"
#include "setting.h"

void
pay_observation_init(struct pay_observation *o, const char *gateway, const char *source)
{
	memset(o, 0, sizeof(*o));
	o->gateway = gateway;
	o->source = source;
	o->state = -1;
	o->amount = o->refunded_total = o->refund_amount = -1;
}

#define NEVER	abort()

const char *gw_secret(struct db *d, const unsigned char k[32], const char *n) { NEVER; }
int http_out_call(struct http_out *h, struct arena *a, const char *m, const char *u,
    const char *const *hd, const char *b, size_t l, const char *ct, struct http_reply *r,
    char *e, size_t es) { NEVER; }
const char *http_out_form_escape(struct arena *a, const char *s) { NEVER; }
struct stmt *db_q(struct db *d, enum q q) { NEVER; }
void db_bind_text(struct db *d, struct stmt *s, const char *n, const char *v) { NEVER; }
void db_bind_null(struct db *d, struct stmt *s, const char *n) { NEVER; }
int db_step(struct db *d, struct stmt *s) { NEVER; }
void db_reset(struct stmt *s) { NEVER; }
const char *db_text(struct db *d, struct stmt *s, int c) { NEVER; }
int64_t db_int(struct stmt *s, int c) { NEVER; }
int64_t db_one_int(struct db *d, struct stmt *s, int64_t x) { NEVER; }
const char *setting_text(struct db *d, const char *k, const char *x) { NEVER; }
