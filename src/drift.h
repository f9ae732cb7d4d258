/*
 * drift.h: how a panel's client set differs from the shop's (issue 12,
 * `cron drift`).  The traffic_sync job with {"drift":true} lists the
 * panel once (job_traffic_sync.c) and hands the clients it found to
 * drift_compare(); the report goes into the job's result, which
 * `1000proxy cron drift` prints for the operator (cron_sync.c).
 *
 * Three kinds:
 *   unknown  a client on the panel the shop does not know, or one the
 *            shop deleted (then "client" names the shop's row);
 *   missing  a shop client that should be on the panel (active,
 *            suspended, expired) and is not;
 *   differ   both have it, and expiry, quota or enable differ (the
 *            shop's enable is state = 'active').
 * Pending clients (a provision in flight) are left out.
 */
#ifndef PX_DRIFT_H
#define PX_DRIFT_H

#include <stddef.h>
#include <stdint.h>

struct arena;
struct db;
struct json_object;

/* A client as the panel's settings.clients hold it. */
struct drift_panel {
	int		 present;	/* found in some inbound's settings */
	int64_t		 inbound;	/* the panel's inbound id */
	int		 enable;
	int64_t		 expiry_ms;	/* 0 never, < 0 delayed start */
	int64_t		 total;		/* bytes, 0 unlimited */
	int64_t		 limit_ip;
};

enum drift_kind { DRIFT_UNKNOWN, DRIFT_MISSING, DRIFT_DIFFER };

/* One difference; shop_* and panel_* are set for DRIFT_DIFFER. */
struct drift_item {
	enum drift_kind	 kind;
	int64_t		 client;	/* provisioned_clients.id; 0 for an unknown email */
	const char	*email;
	const char	*state;		/* the shop's state ("" when unknown) */
	int64_t		 inbound;	/* the panel's inbound id (unknown, differ) */
	int		 d_enable, d_expiry, d_total;	/* which fields differ */
	int		 shop_enable, panel_enable;
	int64_t		 shop_expiry, panel_expiry;	/* seconds; 0 never */
	int64_t		 shop_total, panel_total;
	/* set by a fix: "" not tried, "fixed", or the panel's error */
	const char	*fix;
};

struct drift_report {
	struct drift_item *it;
	size_t		 n;
	int64_t		 shop;		/* the shop's clients compared */
};

/*
 * Compare the panel's clients (emails[i] with pc[i], sorted by email
 * with strcmp) with the shop's clients of server.  Reads the database
 * (outside any transaction is fine); items in a.
 */
void	drift_compare(struct db *, struct arena *a, int64_t server, const char *const *emails,
	    const struct drift_panel *pc, size_t n, struct drift_report *out);
/*
 * Repair from the shop's side over x (a signed-in panel handle of the
 * job that compared): a differing client gets the shop's expiry, quota
 * and enable (the panel's client read back first, then replaced whole
 * with those three changed: xui_client_update); a missing one is added
 * with the shop's stored credential, subId, flow, limit, expiry and
 * quota (and disabled after, unless active: a G3 add always enables);
 * one the shop deleted is deleted.  A client the shop never made is
 * left alone: the reseller may keep clients of their own on the panel.
 * Each item's fix says "fixed", "left alone: ..." or the panel's error.
 * Reads the database outside any transaction; panel calls only.
 */
struct xui;
void	drift_fix(struct db *, struct xui *, struct arena *, struct drift_report *);
/* One audit row per repair tried, in the caller's transaction. */
void	drift_audit(struct db *, struct arena *, int64_t server, const struct drift_report *);
/* The report as {"shop":N,"unknown":[...],"missing":[...],"differ":[...]}. */
struct json_object *drift_json(const struct drift_report *);

#endif
