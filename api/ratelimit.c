/* ratelimit - token buckets in a bounded, striped table (see ratelimit.h). */
#include "api/ratelimit.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* Tokens are kept in millitokens so that the arithmetic is integral and
 * exact: a rate of r tokens/s is r millitokens per millisecond. */
#define MILLI 1000u

struct entry {
	uint64_t hash;	  /* 0: free */
	uint64_t last_ms; /* when tokens was computed */
	uint64_t tokens;  /* millitokens at last_ms */
};

struct ratelimit {
	uint64_t rate;	/* tokens a second */
	uint64_t burst; /* millitokens */
	uint64_t seed;
	size_t sets;	 /* a power of two */
	struct entry *e; /* sets * RATELIMIT_WAYS */
	pthread_mutex_t lock[RATELIMIT_LOCKS];
};

struct ratelimit *ratelimit_new(unsigned rate, unsigned burst,
				unsigned capacity, uint64_t seed)
{
	struct ratelimit *rl;
	size_t sets = 1;

	if (rate == 0 || burst == 0 || capacity > RATELIMIT_CAPACITY_MAX)
		return NULL;
	if (capacity == 0)
		capacity = RATELIMIT_CAPACITY_DEFAULT;
	while (sets * RATELIMIT_WAYS < capacity)
		sets *= 2;
	rl = calloc(1, sizeof(*rl));
	if (rl == NULL)
		return NULL;
	rl->e = calloc(sets * RATELIMIT_WAYS, sizeof(*rl->e));
	if (rl->e == NULL) {
		free(rl);
		return NULL;
	}
	if (seed == 0 &&
	    getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		seed = (uint64_t)(uintptr_t)rl ^ 0x9e3779b97f4a7c15ull;
	rl->rate = rate;
	rl->burst = (uint64_t)burst * MILLI;
	rl->seed = seed;
	rl->sets = sets;
	for (int i = 0; i < RATELIMIT_LOCKS; i++)
		pthread_mutex_init(&rl->lock[i], NULL);
	return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	for (int i = 0; i < RATELIMIT_LOCKS; i++)
		pthread_mutex_destroy(&rl->lock[i]);
	free(rl->e);
	free(rl);
}

/* hash - FNV-1a over the key, started from the secret seed, then the
 * splitmix64 finaliser so that every bit of the result depends on every
 * octet. Never 0 (0 marks a free entry). */
static uint64_t hash(uint64_t seed, const unsigned char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull ^ seed;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h ? h : 1;
}

/* refill - the millitokens of @e at @now, capped at the burst. */
static uint64_t refill(const struct ratelimit *rl, const struct entry *e,
		       uint64_t now)
{
	uint64_t dt = now > e->last_ms ? now - e->last_ms : 0;
	uint64_t room = rl->burst - e->tokens;

	/* dt * rate may overflow only after ~500 years; compare first. */
	if (dt >= room / rl->rate + 1)
		return rl->burst;
	return e->tokens + dt * rl->rate;
}

unsigned ratelimit_take(struct ratelimit *rl, const void *key, size_t len,
			uint64_t now_ms)
{
	uint64_t h = hash(rl->seed, key, len);
	size_t set = (size_t)(h >> 32) & (rl->sets - 1);
	pthread_mutex_t *lock = &rl->lock[set % RATELIMIT_LOCKS];
	struct entry *e = &rl->e[set * RATELIMIT_WAYS], *slot = NULL;
	unsigned wait = 0;

	pthread_mutex_lock(lock);
	for (int i = 0; i < RATELIMIT_WAYS; i++)
		if (e[i].hash == h) {
			slot = &e[i];
			slot->tokens = refill(rl, slot, now_ms);
			break;
		}
	if (slot == NULL) {
		/* A free entry, else a full bucket, else the oldest. */
		struct entry *victim = &e[0];
		for (int i = 0; i < RATELIMIT_WAYS; i++) {
			if (e[i].hash == 0) {
				victim = &e[i];
				break;
			}
			if (refill(rl, &e[i], now_ms) == rl->burst) {
				victim = &e[i];
				break;
			}
			if (e[i].last_ms < victim->last_ms)
				victim = &e[i];
		}
		slot = victim;
		slot->hash = h;
		slot->tokens = rl->burst;
	}
	slot->last_ms = now_ms;
	if (slot->tokens >= MILLI)
		slot->tokens -= MILLI;
	else {
		/* ceil((1000 - tokens) / rate) ms, in whole seconds */
		uint64_t ms = (MILLI - slot->tokens + rl->rate - 1) / rl->rate;
		wait = (unsigned)((ms + 999) / 1000);
		if (wait == 0)
			wait = 1;
	}
	pthread_mutex_unlock(lock);
	return wait;
}
