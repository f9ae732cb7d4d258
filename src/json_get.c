/*
 * json_get.c: members of untrusted JSON (json_get.h).
 */
#include "config.h"

#include "json_get.h"

/* The member k of o when o is an object that has it and it is of type t. */
static struct json_object *
member(struct json_object *o, const char *k, enum json_type t)
{
	struct json_object *v;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, t))
		return NULL;
	return v;
}

const char *
jstr(struct json_object *o, const char *k)
{
	return jstr_or(o, k, NULL);
}

const char *
jstr_or(struct json_object *o, const char *k, const char *def)
{
	struct json_object *v = member(o, k, json_type_string);

	return v != NULL ? json_object_get_string(v) : def;
}

int64_t
jint(struct json_object *o, const char *k, int64_t def)
{
	struct json_object *v = member(o, k, json_type_int);

	return v != NULL ? json_object_get_int64(v) : def;
}

int
jbool(struct json_object *o, const char *k, int def)
{
	struct json_object *v = member(o, k, json_type_boolean);

	return v != NULL ? json_object_get_boolean(v) : def;
}

struct json_object *
jobj(struct json_object *o, const char *k)
{
	return member(o, k, json_type_object);
}

struct json_object *
jarr(struct json_object *o, const char *k)
{
	return member(o, k, json_type_array);
}

const char *
jfirst(struct json_object *o, const char *k)
{
	struct json_object *a = jarr(o, k), *e;

	if (a == NULL)
		return jstr(o, k);
	if (json_object_array_length(a) == 0)
		return NULL;
	e = json_object_array_get_idx(a, 0);
	return json_object_is_type(e, json_type_string) ? json_object_get_string(e) : NULL;
}

struct json_object *
jsub(struct json_object *o, const char *k)
{
	struct json_object *v, *p;

	if ((v = member(o, k, json_type_object)) != NULL)
		return json_object_get(v);
	if ((v = member(o, k, json_type_string)) != NULL &&
	    (p = json_tokener_parse(json_object_get_string(v))) != NULL) {
		if (json_object_is_type(p, json_type_object))
			return p;
		json_object_put(p);
	}
	return NULL;
}
