/*
 * auth-int.h: what the files of the auth module share, and the hooks its
 * unit tests use. Included by the files of src/auth and tests/unit/test_auth.c only.
 */
#ifndef OPUS_AUTH_INT_H
#define OPUS_AUTH_INT_H

#include "auth/auth.h"

#include <pthread.h>

/* ---- back-off (auth_backoff.c) ---- */

/*
 * One fixed-size table of failure counts per kind of key (addresses, names):
 * memory stays bounded whatever a client sends, and a flood of names cannot
 * evict an address's entry. An open-addressing hash table with a random seed
 * (so that a client cannot aim at a bucket); a full probe run evicts its
 * stalest entry. Times are CLOCK_MONOTONIC ms, passed in (tests choose them).
 * Not locked: struct auth holds the mutex.
 */
#define AUTH_BACKOFF_SLOTS     1024
#define AUTH_BACKOFF_PROBES    8
#define AUTH_BACKOFF_KEY       64 /* an IPv6 address as text, or a name */
#define AUTH_BACKOFF_WINDOW_MS 60000

struct auth_backoff_entry {
	char key[AUTH_BACKOFF_KEY + 1]; /* "" = free */
	int64_t window_start;		/* first failure of the current minute */
	int64_t last_failure;
	int64_t until;	  /* in back-off before this time */
	int64_t penalty;  /* the current back-off, ms; 0 none yet */
	int64_t failures; /* within the window */
};

struct auth_backoff {
	uint64_t seed;
	int64_t threshold; /* failures in a minute before back-off */
	int64_t max_ms;	   /* longest back-off */
	struct auth_backoff_entry slots[AUTH_BACKOFF_SLOTS];
};

void auth_backoff_init(struct auth_backoff *b, int64_t threshold, int64_t max_s);
/* Remaining back-off of key in whole seconds rounded up, 0 when none. */
int auth_backoff_remaining(const struct auth_backoff *b, const char *key, int64_t now);
/* Counts a failure; returns the remaining back-off after it (0 when none). */
int auth_backoff_fail(struct auth_backoff *b, const char *key, int64_t now);

/* ---- the handle ---- */

struct auth {
	struct store *st;
	struct auth_config cfg;
	int64_t (*now_ms)(void); /* the back-off clock (time_mono_ms; tests inject one) */

	pthread_mutex_t backoff_lock;
	struct auth_backoff by_address;
	struct auth_backoff by_name;

	pthread_rwlock_t roles_lock;
	struct store_role *roles; /* the role cache, by name */
	size_t nroles;
};

/* For tests: the clock the back-off reads. */
void auth_set_clock(struct auth *a, int64_t (*now_ms)(void));

/* ---- roles and grants (auth_roles.c) ---- */

/* Reads every role from the store into the cache. */
int auth_roles_reload(struct auth *a) OPUS_WUR;
void auth_roles_release(struct auth *a);
/* Grants of a comma- or space-separated role list (unknown names add
 * nothing), with the per-user quota (fields < 0 unset) over the roles'. */
void auth_grants_of_roles(struct auth *a, const char *roles, const struct store_quota *own,
			  struct auth_grants *out);
/* True when every name in the list is an existing role. *why_out static. */
bool auth_roles_exist(struct auth *a, const char *roles, const char **why_out);
/* Appends the words of globs (comma- or space-separated) to dst, a
 * space-separated list of at most AUTH_GLOBS_MAX - 1 characters; a word that
 * does not fit is left out whole (logged). */
void auth_globs_append(char *dst, const char *globs);
/* The list as "a,b,c" (names deduplicated, separators normalised); malloc'd. */
char *auth_roles_normalise(const char *roles);

#endif
