/*
 * setting.h: the shop's settings (the settings table), read the one way
 * every unit of work reads them: a request, a job, cron, a command.
 * Staff change them at /admin/settings (admin_settings.c); the keys and
 * their meaning are listed there.  Strings come back in the db's arena.
 */
#ifndef PX_SETTING_H
#define PX_SETTING_H

#include <stdint.h>

struct arena;
struct conf;
struct db;

/* The value of key, or dflt when it is not set. */
const char	*setting_text(struct db *, const char *key, const char *dflt);
/* The value of key as an integer in min..max; dflt when it is not set or
 * not such an integer (a bad stored value never stops the shop). */
int64_t		 setting_int(struct db *, const char *key, int64_t dflt, int64_t min,
		    int64_t max);
/* The shop's name: the setting shop.name, or the configuration's
 * site_name while staff have not set one. */
const char	*shop_name(struct db *, struct arena *, const struct conf *);

#endif
