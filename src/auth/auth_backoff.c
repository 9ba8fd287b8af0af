/* auth_backoff: failure counts per address or name, in bounded memory. See auth-int.h. */
#include "auth/auth-int.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

void auth_backoff_init(struct auth_backoff *b, int64_t threshold, int64_t max_s)
{
	memset(b, 0, sizeof(*b));
	if (getrandom(&b->seed, sizeof(b->seed), 0) != (ssize_t)sizeof(b->seed))
		b->seed = (uint64_t)time_mono_ms() * 0x9E3779B97F4A7C15ULL;
	b->threshold = threshold > 0 ? threshold : 1;
	b->max_ms = (max_s > 0 ? max_s : 1) * 1000;
}

static size_t backoff_bucket(const struct auth_backoff *b, const char *key)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ b->seed; /* FNV-1a, seeded */
	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 29; /* FNV's low bits mix poorly */
	return (size_t)(h % AUTH_BACKOFF_SLOTS);
}

static struct auth_backoff_entry *backoff_find(const struct auth_backoff *b, const char *key)
{
	size_t i = backoff_bucket(b, key);
	for (int n = 0; n < AUTH_BACKOFF_PROBES; n++, i = (i + 1) % AUTH_BACKOFF_SLOTS) {
		const struct auth_backoff_entry *e = &b->slots[i];
		if (e->key[0] && strncmp(e->key, key, AUTH_BACKOFF_KEY) == 0)
			return (struct auth_backoff_entry *)e;
	}
	return NULL;
}

/* A free slot of key's run, else its stalest entry (evicted). */
static struct auth_backoff_entry *backoff_claim(struct auth_backoff *b, const char *key)
{
	struct auth_backoff_entry *victim = NULL;
	size_t i = backoff_bucket(b, key);
	for (int n = 0; n < AUTH_BACKOFF_PROBES; n++, i = (i + 1) % AUTH_BACKOFF_SLOTS) {
		struct auth_backoff_entry *e = &b->slots[i];
		if (!e->key[0]) {
			victim = e;
			break;
		}
		if (!victim || e->last_failure < victim->last_failure)
			victim = e;
	}
	memset(victim, 0, sizeof(*victim));
	snprintf(victim->key, sizeof(victim->key), "%s", key);
	return victim;
}

static int remaining_s(const struct auth_backoff_entry *e, int64_t now)
{
	if (!e || e->until <= now)
		return 0;
	return (int)((e->until - now + 999) / 1000);
}

int auth_backoff_remaining(const struct auth_backoff *b, const char *key, int64_t now)
{
	return key && *key ? remaining_s(backoff_find(b, key), now) : 0;
}

/* A back-off ends once no failure came for a minute (or the longest back-off)
 * after it: the next failures count from zero again. */
static bool backoff_ended(const struct auth_backoff *b, const struct auth_backoff_entry *e,
			  int64_t now)
{
	int64_t quiet = b->max_ms > AUTH_BACKOFF_WINDOW_MS ? b->max_ms : AUTH_BACKOFF_WINDOW_MS;
	return now >= e->until && now - e->last_failure >= quiet;
}

int auth_backoff_fail(struct auth_backoff *b, const char *key, int64_t now)
{
	struct auth_backoff_entry *e;

	if (!key || !*key)
		return 0;
	e = backoff_find(b, key);
	if (!e)
		e = backoff_claim(b, key);
	else if (backoff_ended(b, e, now))
		e->penalty = e->failures = 0;
	if (e->failures == 0 || now - e->window_start >= AUTH_BACKOFF_WINDOW_MS) {
		e->window_start = now;
		e->failures = 0;
	}
	e->failures++;
	e->last_failure = now;
	/* Once in back-off, every further failure doubles it. */
	if (e->penalty > 0 || e->failures >= b->threshold) {
		e->penalty = e->penalty > 0 ? e->penalty * 2 : 1000;
		if (e->penalty > b->max_ms)
			e->penalty = b->max_ms;
		e->until = now + e->penalty;
	}
	return remaining_s(e, now);
}
