/* See conform_feed.h and ghostrec_conform_feed in conform.h. */
#include "conform_feed.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct ghostrec_conform_feed {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int clean_channel;
	struct ghostrec_conform_segment *segments;
	size_t n_segments, cap_segments;
	struct ghostrec_conform_glitch *gaps;
	size_t n_gaps, cap_gaps;
	int ended;
	int failed;   /* the engine failed, or the feed ran out of memory */
};

struct ghostrec_conform_feed *ghostrec_conform_feed_new(void)
{
	struct ghostrec_conform_feed *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	if (pthread_mutex_init(&f->lock, NULL) != 0) {
		free(f);
		return NULL;
	}
	if (pthread_cond_init(&f->cond, NULL) != 0) {
		pthread_mutex_destroy(&f->lock);
		free(f);
		return NULL;
	}
	return f;
}

void ghostrec_conform_feed_free(struct ghostrec_conform_feed *f)
{
	if (!f)
		return;
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	free(f->segments);
	free(f->gaps);
	free(f);
}

/* Appends one element of `size` bytes to *arr (n, cap); 0 or -1 (out of memory). */
static int append(void **arr, size_t *n, size_t *cap, const void *item, size_t size)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		void *p = realloc(*arr, c * size);
		if (!p)
			return -1;
		*arr = p;
		*cap = c;
	}
	memcpy((char *)*arr + *n * size, item, size);
	(*n)++;
	return 0;
}

void ghostrec_conform_feed_start(struct ghostrec_conform_feed *f, int clean_channel)
{
	pthread_mutex_lock(&f->lock);
	f->clean_channel = clean_channel;
	pthread_mutex_unlock(&f->lock);
}

/* append() under the lock; a new segment wakes the renderer (a gap only matters with the
 * segment after it, which comes later). */
static void publish(struct ghostrec_conform_feed *f, void **arr, size_t *n, size_t *cap, const void *item,
		    size_t size, int wake)
{
	pthread_mutex_lock(&f->lock);
	if (append(arr, n, cap, item, size) != 0)
		f->failed = 1;
	if (wake || f->failed)
		pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

void ghostrec_conform_feed_segment(struct ghostrec_conform_feed *f, const struct ghostrec_conform_segment *s)
{
	publish(f, (void **)&f->segments, &f->n_segments, &f->cap_segments, s, sizeof(*s), 1);
}

void ghostrec_conform_feed_gap(struct ghostrec_conform_feed *f, const struct ghostrec_conform_glitch *g)
{
	publish(f, (void **)&f->gaps, &f->n_gaps, &f->cap_gaps, g, sizeof(*g), 0);
}

void ghostrec_conform_feed_end(struct ghostrec_conform_feed *f, int ok)
{
	pthread_mutex_lock(&f->lock);
	f->ended = 1;
	if (!ok)
		f->failed = 1;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

/* Copies elements [*have, n) of src into the view's array. */
static int copy_new(void **arr, size_t *have, size_t *cap, const void *src, size_t n, size_t size)
{
	if (n > *cap) {
		void *p = realloc(*arr, n * size);
		if (!p)
			return -1;
		*arr = p;
		*cap = n;
	}
	if (n > *have)
		memcpy((char *)*arr + *have * size, (const char *)src + *have * size, (n - *have) * size);
	*have = n;
	return 0;
}

int ghostrec_conform_feed_pull(struct ghostrec_conform_feed *f, struct ghostrec_conform_result *view,
			       size_t min_segments, int64_t frame)
{
	pthread_mutex_lock(&f->lock);
	while (!f->ended && !f->failed && f->n_segments <= min_segments &&
	       (f->n_segments == 0 || f->segments[f->n_segments - 1].take_end <= frame))
		pthread_cond_wait(&f->cond, &f->lock);
	int rc = f->failed ? -1 : 0;
	if (rc == 0) {
		view->clean_channel = f->clean_channel;
		if (copy_new((void **)&view->segments, &view->n_segments, &view->cap_segments, f->segments,
			     f->n_segments, sizeof(*f->segments)) != 0 ||
		    copy_new((void **)&view->glitches, &view->n_glitches, &view->cap_glitches, f->gaps, f->n_gaps,
			     sizeof(*f->gaps)) != 0)
			rc = -1;
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}
