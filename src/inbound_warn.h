/*
 * inbound_warn.h: whether real clients will use an inbound (issue 12,
 * "Plans and placement").  A plan bound to an inbound that v2rayN,
 * v2rayNG or a current Xray refuses sells a proxy that never works, so
 * the plan form and the plan list warn.  Pure: no database, no network;
 * the caller passes the inbound as stored (server_inbounds.protocol and
 * settings_json, which job_server_sync.c writes as {"stream":
 * streamSettings, "method": ...}) and the server's public host.
 */
#ifndef PX_INBOUND_WARN_H
#define PX_INBOUND_WARN_H

/* One bit per problem; inbound_warnings() returns their OR. */
enum inbound_warn {
	IW_PLAIN_PUBLIC = 1 << 0,	/* VLESS or Trojan without TLS/REALITY to a public host */
	IW_WS_TLS_H2 = 1 << 1,		/* ws + TLS whose ALPN offers h2 */
	IW_SS_WS = 1 << 2,		/* Shadowsocks over ws */
};
#define IW__COUNT	3

/*
 * The problems of an inbound of protocol with settings_json (NULL or
 * unparsable: read as an empty object) reached at public_host (NULL:
 * treated as public).  network and security are the inbound's columns
 * (server_inbounds.network, .security; NULL: tcp, none), read where the
 * stream settings do not say (rows made before a sync, or by hand).  0
 * when clients will use it.
 */
unsigned	 inbound_warnings(const char *protocol, const char *network, const char *security,
		    const char *settings_json, const char *public_host);
/* The sentence staff read for one bit (a static string; NULL for none). */
const char	*inbound_warn_text(unsigned bit);
/* 1 when host is a public address or name (not loopback, private,
 * link-local, or a localhost name). */
int		 inbound_host_public(const char *host);

#endif
