/*
 * xui_client.h: the client operations on a 3X-UI panel, for both API
 * generations (contract ../shared/contracts/3x-ui.md sections 2, 3.2,
 * 4, 5), on a handle from xui.h, and the credentials the shop derives
 * for a client.
 *
 *   G2 (classic, v1.4.6 - v3.0.2): clients live in the inbound's
 *   settings JSON (a string); get = GET inbounds/get/:id + scan, with
 *   traffic from getClientTraffics/:email; add = inbounds/addClient;
 *   update and delete are addressed by id / password / email by
 *   protocol (4.2); list = inbounds/list (clientStats).
 *   G3 (current, v3.1+): clients/get/:email, clients/traffic/:email,
 *   clients/add {client, inboundIds}, clients/update/:email (a full
 *   replacement), clients/del/:email, clients/resetTraffic/:email;
 *   list = inbounds/get/:id (clientStats preloaded).
 *
 * The generation is the handle's (xui_gen(): set by xui_detect() or
 * xui_set_gen()).  Every call returns 0 (or 1, see each) on success and
 * -1 on failure with xui_error() / xui_fail() set: "refused" carries
 * the panel's msg (its trailing newline trimmed), "bad_reply" a reply of
 * the wrong shape, "unreachable" the transport.  Nothing here retries
 * or decides: the jobs do.  Strings in results live in the arena given.
 */
#ifndef PX_XUI_CLIENT_H
#define PX_XUI_CLIENT_H

#include <stddef.h>
#include <stdint.h>

struct arena;
struct xui;

/* One client as the panel holds it (section 3.2) and, when asked for or
 * listed, its traffic row (section 5). */
struct xui_client {
	const char	*email;
	const char	*id;		/* UUID (vless, vmess), "" otherwise */
	const char	*password;	/* trojan, shadowsocks; "" otherwise */
	const char	*flow;		/* vless: "" or xtls-rprx-vision */
	const char	*security;	/* vmess: auto ... */
	const char	*method;	/* shadowsocks legacy ciphers: per client; "" */
	const char	*sub_id;
	const char	*comment;
	int64_t		 limit_ip;	/* 0: unlimited */
	int64_t		 total;		/* totalGB, in bytes; 0: unlimited */
	int64_t		 expiry_ms;	/* expiryTime: ms; 0 never; < 0 delayed start */
	int64_t		 reset;		/* auto-renew period in days; 0 off */
	int		 enable;
	/* traffic (has_traffic set when the panel gave a row) */
	int		 has_traffic;
	int64_t		 up, down;
	int		 traffic_enable;
	int64_t		 traffic_total;
	int64_t		 traffic_expiry_ms;
	int64_t		 last_online;	/* ms; 0 never */
	int64_t		 inbound;	/* the panel's inbound id, when known */
	const char	*json;		/* the client object as the panel sent it */
};

/*
 * The credential a client uses on an inbound of protocol (vless vmess
 * trojan shadowsocks; method: the shadowsocks cipher, else NULL or "").
 * Fixed by the key file's key, the order item and cred_gen (HMAC-SHA256
 * under a subkey of its own), so a retried job derives the same and a
 * regenerate (cred_gen + 1) a new one:
 *   vless, vmess    a UUID (version 4 layout)
 *   trojan          32 hex digits
 *   shadowsocks     2022-blake3-aes-128-gcm: base64 of 16 bytes;
 *                   2022-blake3-aes-256-gcm / -chacha20-poly1305: of 32
 *                   (the method's key length); legacy ciphers: 32 hex
 * 0, or -1 when the protocol or 2022 method is unknown or out is small
 * (out[64] is always enough).  Does not allocate.
 */
int	client_cred(const unsigned char key[32], int64_t order_item, int64_t cred_gen,
	    const char *protocol, const char *method, char *out, size_t outsz);
/* The client's email on the panel: "px-<item>" (panel-wide unique as
 * long as one shop places on the panel).  out[32] is enough. */
void	client_email(int64_t order_item, char *out, size_t outsz);
/* The client's panel subId: 16 characters of [a-z0-9] derived from the
 * key and the item (the panel UI's shape), fixed for the client's life. */
void	client_sub_id(const unsigned char key[32], int64_t order_item, char out[17]);
/* The key length in bytes of a Shadowsocks-2022 method, 0 otherwise. */
int	client_ss2022_keylen(const char *method);

/*
 * Get the client by email on the panel's inbound (G2 reads that
 * inbound; G3 asks by email, the inbound is then informational).  With
 * traffic, its traffic row too (one more call).  1 found (*out filled,
 * strings in a), 0 not there, -1 error.
 */
int	xui_client_get(struct xui *, struct arena *a, int64_t inbound, const char *protocol,
	    const char *email, int traffic, struct xui_client *out);
/*
 * Add c to the inbound.  G2 sends c whole; G3 sends c with its subId
 * (a re-add with the same email and subId is then an idempotent success,
 * 4.3).  0, or -1 (a duplicate email is "refused" with the panel's
 * text: callers ask xui_client_get() first).
 */
int	xui_client_add(struct xui *, int64_t inbound, const char *protocol,
	    const struct xui_client *c);
/*
 * Replace the client whole (both generations replace, never patch):
 * expiry, quota, enable, limit_ip, credential, as c says.  key is the
 * credential the panel holds now (G2 addresses the client by it: id for
 * vless/vmess, password for trojan; shadowsocks and G3 by email, which
 * email names); c->email may equal email.  0 or -1.
 */
int	xui_client_update(struct xui *, int64_t inbound, const char *protocol,
	    const char *email, const char *key, const struct xui_client *c);
/*
 * Delete the client.  key as for update (G2).  0, or -1.  Note G2
 * (v2.1.2 - v3.0.2) refuses to delete an inbound's last client ("no
 * client remained in Inbound"): the caller decides what that means.
 */
int	xui_client_delete(struct xui *, int64_t inbound, const char *protocol,
	    const char *email, const char *key);
/* Zero the client's up/down (and re-enable it, as the panel does).  0 or -1. */
int	xui_client_reset_traffic(struct xui *, int64_t inbound, const char *email);
/*
 * Every client of the inbound with its traffic, in one call (G2
 * inbounds/list, filtered; G3 inbounds/get/:id): *out an array of *n in
 * a.  A client without a traffic row has has_traffic 0.  0 or -1.
 */
int	xui_client_list(struct xui *, struct arena *a, int64_t inbound,
	    struct xui_client **out, size_t *n);
/* The JSON text of c as the panel's client object for protocol (what
 * add and update send; section 3.2 field order), in a. */
const char *xui_client_json(struct arena *a, const char *protocol, const struct xui_client *c);

/*
 * The clients of one inbound object as a panel lists it (settings as an
 * object or JSON text, with clientStats), into *out (n of them, in a):
 * 0, or -1 when the inbound has no settings.clients.  Pure: the panel
 * reply reader that xui_client_list uses and the fuzz probe "xui" drives.
 */
int	xui_client_read_inbound(struct arena *, struct json_object *ib, int64_t inbound,
	    struct xui_client **out, size_t *n);

#endif
