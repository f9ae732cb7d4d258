/*
 * json_get.h: reading members of JSON that came from outside (panel
 * replies, stored inbound settings).  Every reader takes any object
 * pointer, NULL or not an object included, and answers "absent" for a
 * member of the wrong type: a hostile or malformed reply is an absent
 * value, never a crash.  Shared by the panel client, the panel jobs, the
 * share links and the subscription formats, which each carried their own.
 */
#ifndef PX_JSON_GET_H
#define PX_JSON_GET_H
#include <stdint.h>
#include <json-c/json.h>

/* A string member, or NULL. */
const char	*jstr(struct json_object *, const char *key);
/* A string member, or def. */
const char	*jstr_or(struct json_object *, const char *key, const char *def);
/* A JSON integer member, or def (a double is not an integer here). */
int64_t		 jint(struct json_object *, const char *key, int64_t def);
/* A boolean member, or def. */
int		 jbool(struct json_object *, const char *key, int def);
/* An object or array member (borrowed from o), or NULL. */
struct json_object *jobj(struct json_object *, const char *key);
struct json_object *jarr(struct json_object *, const char *key);
/* The first string of an array member, or the member itself when a
 * string (alpn, serverNames, shortIds), or NULL. */
const char	*jfirst(struct json_object *, const char *key);
/* An object member, or JSON text of one (3X-UI's classic API sends
 * settings and streamSettings as strings): a new reference the caller
 * puts, or NULL when it is neither. */
struct json_object *jsub(struct json_object *, const char *key);

#endif
