/*
 * sched_timer: the deadline heap — execution-duration expiries, SIGKILL
 * after a grace, WAIT timeouts — as a binary min-heap of timers that know
 * their own index, so a timer is disarmed in O(log n) when its job ends or
 * its waiter is woken early. The caller holds s->lock.
 */
#include "sched/sched-int.h"

#include <stdlib.h>

void sched_timer_init(struct sched_timer *t, enum sched_timer_kind kind)
{
	t->when = 0;
	t->idx = SCHED_TIMER_IDLE;
	t->kind = kind;
}

static void heap_set(struct sched_heap *h, size_t i, struct sched_timer *t)
{
	h->v[i] = t;
	t->idx = i;
}

static void heap_up(struct sched_heap *h, size_t i)
{
	struct sched_timer *t = h->v[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (h->v[parent]->when <= t->when)
			break;
		heap_set(h, i, h->v[parent]);
		i = parent;
	}
	heap_set(h, i, t);
}

static void heap_down(struct sched_heap *h, size_t i)
{
	struct sched_timer *t = h->v[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->v[c + 1]->when < h->v[c]->when)
			c++;
		if (t->when <= h->v[c]->when)
			break;
		heap_set(h, i, h->v[c]);
		i = c;
	}
	heap_set(h, i, t);
}

bool sched_heap_arm(struct sched_heap *h, struct sched_timer *t, int64_t when)
{
	sched_heap_disarm(h, t);
	if (h->n == h->alloc) {
		h->alloc = h->alloc ? 2 * h->alloc : 16;
		h->v = xrealloc(h->v, h->alloc * sizeof(*h->v));
	}
	t->when = when;
	heap_set(h, h->n++, t);
	heap_up(h, t->idx);
	return t->idx == 0;
}

void sched_heap_disarm(struct sched_heap *h, struct sched_timer *t)
{
	size_t i = t->idx;
	struct sched_timer *last;

	if (i == SCHED_TIMER_IDLE)
		return;
	t->idx = SCHED_TIMER_IDLE;
	last = h->v[--h->n];
	if (i == h->n)
		return;
	heap_set(h, i, last);
	heap_up(h, i);
	heap_down(h, last->idx);
}

struct sched_timer *sched_heap_top(const struct sched_heap *h)
{
	return h->n ? h->v[0] : NULL;
}

void sched_heap_release(struct sched_heap *h)
{
	for (size_t i = 0; i < h->n; i++)
		h->v[i]->idx = SCHED_TIMER_IDLE;
	free(h->v);
	h->v = NULL;
	h->n = h->alloc = 0;
}
