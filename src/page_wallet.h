/*
 * page_wallet.h: the ledger's view model, shared by the customer's
 * /wallet and the staff's customer page (page_wallet.c).
 */
#ifndef PX_PAGE_WALLET_H
#define PX_PAGE_WALLET_H

#include <stdint.h>

struct request;
struct vm;

/* ?page of the request, 1 when absent or not a page number. */
int64_t	wallet_page_number(struct request *);

/*
 * Fill vm with customer's balance (balance, balance_minor, currency)
 * and one page of the ledger (ledger[], ledger_empty, ledger_shown,
 * page, prev_page, next_page, pager_base = base).  A customer without a
 * wallet shows a zero balance and no rows.  Allocates in the request
 * arena; 500 on a database error.
 */
void	wallet_ledger_vm(struct request *, struct vm *, int64_t customer, int64_t page,
	    const char *base);

#endif
