/*
 * view_json.c: a view model from a JSON object (view.h, vm_set_json):
 * how the email job (job_email.c) turns a job's "vars" into the model
 * its template renders with, lists included, so that a mail iterates
 * an order's lines with the same {{#name}}..{{/name}} as a web page.
 *
 * The mapping is the view model's own: a string is a value, true and
 * false are booleans, null is a key given without a value (empty, not
 * missing, so strict mode does not refuse it), a number is its JSON
 * text, an array is a list (an object item is a scope of its own keys;
 * any other item is the value of the key "." inside it), and an object
 * is a list of one item: a section over it renders once with its keys in
 * scope.  Escaping is not decided here: the template's kind does it
 * (HTML escaped, plain text as it is), as for every other model.
 */
#include "config.h"

#include <stdio.h>

#include <json-c/json.h>

#include "view.h"

/* Deeper than any payload we make: a bound, not a feature. */
#define VM_JSON_DEPTH	8

static int	set_value(struct vm *, const char *key, struct json_object *, int depth,
		    char *err, size_t errsz);
static int	set_object(struct vm *, struct json_object *, int depth, char *err, size_t errsz);

/* Fill item (a scope pushed onto a list) from one element of an array. */
static int
set_item(struct vm *item, struct json_object *v, int depth, char *err, size_t errsz)
{
	if (json_object_is_type(v, json_type_object))
		return set_object(item, v, depth + 1, err, errsz);
	return set_value(item, ".", v, depth + 1, err, errsz);
}

static int
set_value(struct vm *m, const char *key, struct json_object *v, int depth, char *err, size_t errsz)
{
	size_t	 i, n;

	if (depth > VM_JSON_DEPTH) {
		snprintf(err, errsz, "\"%.100s\" is nested deeper than %d", key, VM_JSON_DEPTH);
		return -1;
	}
	switch (json_object_get_type(v)) {
	case json_type_null:
		vm_set(m, key, "");
		return 0;
	case json_type_boolean:
		vm_set_bool(m, key, json_object_get_boolean(v));
		return 0;
	case json_type_array:
		/* An empty array is an empty list: false in {{#key}}, true
		 * in {{^key}}, and not a missing key. */
		n = json_object_array_length(v);
		if (n == 0) {
			vm_set_bool(m, key, 0);
			return 0;
		}
		for (i = 0; i < n; i++)
			if (set_item(vm_push(m, key), json_object_array_get_idx(v, i), depth, err, errsz) != 0)
				return -1;
		return 0;
	case json_type_object:
		return set_object(vm_push(m, key), v, depth + 1, err, errsz);
	default:
		/* Strings as they are; numbers as their JSON text. */
		vm_set(m, key, json_object_get_string(v));
		return 0;
	}
}

static int
set_object(struct vm *m, struct json_object *o, int depth, char *err, size_t errsz)
{
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		snprintf(err, errsz, "the variables are not a JSON object");
		return -1;
	}
	json_object_object_foreach(o, k, v) {
		if (set_value(m, k, v, depth, err, errsz) != 0)
			return -1;
	}
	return 0;
}

int
vm_set_json(struct vm *m, struct json_object *o, char *err, size_t errsz)
{
	return set_object(m, o, 0, err, errsz);
}
