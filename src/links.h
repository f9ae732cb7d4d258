/*
 * links.h: the share link of one client on one 3X-UI inbound, built
 * as the panel's subscription server builds it (contract
 * ../shared/contracts/3x-ui.md section 6).  Pure: no database, no
 * network; the caller passes the inbound and client as stored.
 */
#ifndef PX_LINKS_H
#define PX_LINKS_H

#include "util.h"

/*
 * The share-link format changed inside v3 (contract section 0), so the
 * generation here is finer than the API generation g2/g3.
 */
enum link_gen {
	LINK_GEN_V2 = 0,	/* v2.x - v3.1.x */
	LINK_GEN_V32,		/* v3.2.x - v3.3.x: QueryEscape fragment, SS base64url */
	LINK_GEN_V34,		/* v3.4.x: SIP022 for SS-2022, flow on xhttp */
	LINK_GEN_V35		/* v3.5.0+: vmess scy normalised */
};

/* The link generation of a panel version text ("v3.4.1", "2.8.11"); "" (a
 * panel below v3.1, which does not say) -> v2; unreadable -> newest. */
enum link_gen	link_gen_of(const char *panel_version);

struct link_in {
	enum link_gen	 gen;
	const char	*host;		/* the server's public host for links */
	/* the inbound, as stored */
	const char	*protocol;	/* vless vmess trojan shadowsocks */
	int		 port;
	const char	*listen;
	const char	*remark;
	const char	*stream_json;	/* streamSettings */
	const char	*settings_json;	/* settings */
	/* the client */
	const char	*id;		/* UUID (vless, vmess) or password (trojan, shadowsocks) */
	const char	*email;
	const char	*flow;		/* vless */
	const char	*security;	/* vmess scy */
	const char	*sub_id;	/* for the reality spx; email when empty */
};

/*
 * Append the link to out and return 0, or return -1 with *err set to a
 * static reason and out untouched (never half a link).
 */
int	link_build(struct buf *out, const struct link_in *in, const char **err);

/* The streamSettings key that holds a transport's settings ("ws" ->
 * "wsSettings"), or NULL for a transport the shop does not sell; links
 * and subscriptions (sub.c) read the same one. */
const char *link_net_settings_key(const char *net);

#endif
