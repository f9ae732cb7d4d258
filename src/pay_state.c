/*
 * pay_state.c: the names of the payment states, as the schema spells
 * them (sql/021_payments.sql).  A file of its own so that payment.c and
 * refund.c, which payment.c calls, share one list without a circle
 * between files (t/08-layout.t).
 */
#include "config.h"

#include <string.h>

#include "payment.h"

const char *const pay_state_name[PAY__MAX] = {
	[PAY_CREATED] = "created",
	[PAY_PENDING] = "pending",
	[PAY_PARTIALLY_PAID] = "partially_paid",
	[PAY_SUCCEEDED] = "succeeded",
	[PAY_FAILED] = "failed",
	[PAY_EXPIRED] = "expired",
	[PAY_CANCELLED] = "cancelled",
	[PAY_PARTIALLY_REFUNDED] = "partially_refunded",
	[PAY_REFUNDED] = "refunded",
};

int
pay_state_parse(const char *s)
{
	int	 i;

	for (i = 0; s != NULL && i < PAY__MAX; i++)
		if (strcmp(s, pay_state_name[i]) == 0)
			return i;
	return -1;
}
