/*
 * sub.h: the body of a subscription URL (/sub/{token}, page_sub.c) in
 * the formats client apps import: base64 of the share links (v2rayN,
 * v2rayNG, Shadowrocket...), Clash Meta (mihomo) YAML, sing-box JSON
 * and the v2ray/Xray JSON outbounds.  Pure, as links.c is: no database,
 * no network; the caller passes the clients as link_build() takes them.
 */
#ifndef PX_SUB_H
#define PX_SUB_H

#include <stddef.h>

#include "links.h"

enum sub_format {
	SUB_BASE64 = 0,
	SUB_CLASH,
	SUB_SINGBOX,
	SUB_V2RAY,
	SUB__MAX
};
/* "base64", "clash", "singbox", "v2ray": the ?format= values. */
extern const char *const sub_format_names[SUB__MAX];

/*
 * The format asked for: ?format= when given (-1 when it names none),
 * else by User-Agent (clash, mihomo, stash -> clash; sing-box, SFA,
 * SFI, SFM -> singbox), else base64.
 */
int		 sub_format_of(const char *format, const char *user_agent);
/* The Content-Type of a format's body. */
const char	*sub_content_type(enum sub_format);
/* The file name suggested in Content-Disposition ("proxies.yaml"...). */
const char	*sub_file_name(enum sub_format);

/*
 * Append the body of format f for the n clients in to out.  A client
 * whose link (or, for the structured formats, whose transport) the
 * format cannot express is left out and counted in *skipped; the rest
 * still come out, so one odd inbound never empties a subscription.
 * base64 is of the links joined by "\n", as 3X-UI's subscription
 * server writes it.  Grows out; allocates and frees its scratch space.
 */
void	sub_write(struct buf *out, enum sub_format f, const struct link_in *in, size_t n,
	    size_t *skipped);

#endif
