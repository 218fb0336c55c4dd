/* Finding a take in a journal by content (see journal_find.h). */
#include "journal_find.h"

#include "marker.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SET_ERR(...) do { if (err && errsize) snprintf(err, errsize, __VA_ARGS__); } while (0)
#define W GHOSTREC_JCONTENT_WINDOW
#define B GHOSTREC_JCONTENT_BLOCK
/* a window whose samples may lie on more levels than this many combinations is not looked up */
#define MAX_COMBOS 16
#define VERIFY_FRAMES 64u
#define SCAN_BLOCKS 16384u

size_t ghostrec_jfind_probe_starts(int64_t frames, uint32_t rate, int64_t *starts, size_t max)
{
	if (max > GHOSTREC_JFIND_MAX_PROBES)
		max = GHOSTREC_JFIND_MAX_PROBES;
	if (frames < (int64_t)GHOSTREC_JFIND_PROBE_FRAMES || max == 0)
		return 0;
	int64_t room = frames - GHOSTREC_JFIND_PROBE_FRAMES;
	size_t n = (size_t)(2 * frames / (rate ? rate : 48000)) + 2;
	if (n > max)
		n = max;
	if ((int64_t)n > room + 1)
		n = (size_t)room + 1;
	for (size_t i = 0; i < n; i++)
		starts[i] = n > 1 ? (int64_t)((double)room * (double)i / (double)(n - 1)) : 0;
	return n;
}

double ghostrec_jfind_tolerance(int bits)
{
	double a = ghostrec_marker_tolerance(bits), b = ghostrec_marker_tolerance(32);
	return a > b ? a : b;
}

int ghostrec_jfind_range(const struct ghostrec_journal *j, const struct ghostrec_jfind_result *r,
			 int64_t take_frames, uint64_t *from, uint64_t *to)
{
	int64_t margin = (int64_t)(GHOSTREC_JFIND_MARGIN_S * r->rate);
	int64_t lo = r->offset_min - margin, hi = r->offset_max + take_frames + margin;
	uint64_t held_from = UINT64_MAX, held_to = 0;
	for (size_t i = 0; i < j->n_segs; i++) {
		const struct ghostrec_journal_seg *s = &j->segs[i];
		if (s->instance != r->instance || !s->frames)
			continue;
		if (s->frame0 < held_from)
			held_from = s->frame0;
		if (s->frame0 + s->frames > held_to)
			held_to = s->frame0 + s->frames;
	}
	*from = lo < 0 ? 0 : (uint64_t)lo;
	*to = hi < 0 ? 0 : (uint64_t)hi;
	if (*from < held_from)
		*from = held_from;
	if (*to > held_to)
		*to = held_to;
	return *to > *from ? 0 : -1;
}

struct entry {
	uint32_t key, probe, pos;
};

struct table {
	struct entry *e;     /* sorted by key */
	size_t n, cap;
	uint32_t *hkey;      /* open addressing: key -> first entry */
	uint32_t *hfirst;
	size_t mask;
};

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	if (x->probe != y->probe)
		return x->probe < y->probe ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int push(struct table *t, uint32_t key, uint32_t probe, uint32_t pos)
{
	if (t->n == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 4096;
		struct entry *p = realloc(t->e, nc * sizeof(*p));
		if (!p)
			return -1;
		t->e = p;
		t->cap = nc;
	}
	t->e[t->n++] = (struct entry){ key, probe, pos };
	return 0;
}

static size_t slot(const struct table *t, uint32_t key)
{
	size_t at = (size_t)(key * 2654435761u) & t->mask;
	while (t->hkey[at] && t->hkey[at] != key)
		at = (at + 1) & t->mask;
	return at;
}

/* All keys a window of take samples may have (each sample within tol of the journal's). */
static int add_window(struct table *t, const float *x, double tol, uint32_t probe, uint32_t pos)
{
	int lo[W], hi[W], combos = 1;
	for (unsigned i = 0; i < W; i++) {
		lo[i] = ghostrec_jcontent_level((double)x[i] - tol);
		hi[i] = ghostrec_jcontent_level((double)x[i] + tol);
		combos *= hi[i] - lo[i] + 1;
		if (combos > MAX_COMBOS)
			return 0;
	}
	int8_t l[W];
	for (unsigned i = 0; i < W; i++)
		l[i] = (int8_t)lo[i];
	for (;;) {
		uint32_t k = ghostrec_jcontent_key_of_levels(l);
		if (k && push(t, k, probe, pos) < 0)
			return -1;
		unsigned i = 0;
		while (i < W && l[i] == hi[i]) {
			l[i] = (int8_t)lo[i];
			i++;
		}
		if (i == W)
			break;
		l[i]++;
	}
	return 0;
}

static int build(struct table *t, const struct ghostrec_jfind_probe *p, size_t n, double tol)
{
	for (size_t i = 0; i < n; i++)
		for (uint32_t pos = 0; pos + W <= p[i].n; pos++)
			if (add_window(t, p[i].x + pos, tol, (uint32_t)i, pos) < 0)
				return -1;
	if (!t->n)
		return 0;
	qsort(t->e, t->n, sizeof(*t->e), cmp_entry);
	size_t hn = 16;
	while (hn < t->n * 2)
		hn <<= 1;
	t->hkey = calloc(hn, sizeof(uint32_t));
	t->hfirst = calloc(hn, sizeof(uint32_t));
	if (!t->hkey || !t->hfirst)
		return -1;
	t->mask = hn - 1;
	for (size_t i = 0; i < t->n; i++) {
		if (i && t->e[i].key == t->e[i - 1].key)
			continue;
		size_t at = slot(t, t->e[i].key);
		t->hkey[at] = t->e[i].key;
		t->hfirst[at] = (uint32_t)i;
	}
	return 0;
}

struct hit {
	uint64_t instance;
	uint32_t channel, probe;
	int64_t d;
};

struct hits {
	struct hit *h;
	size_t n, cap;
};

static int cmp_hit(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	if (x->instance != y->instance)
		return x->instance < y->instance ? -1 : 1;
	if (x->channel != y->channel)
		return x->channel < y->channel ? -1 : 1;
	if (x->d != y->d)
		return x->d < y->d ? -1 : 1;
	return x->probe < y->probe ? -1 : x->probe > y->probe;
}

/* Do the journal's samples from ring frame f (channel c of s) equal the probe's from pos? */
static int verify(struct ghostrec_journal *j, const struct ghostrec_journal_seg *s, uint64_t f, uint32_t c,
		  const struct ghostrec_jfind_probe *p, uint32_t pos, double tol, float *buf)
{
	uint64_t v = p->n - pos < VERIFY_FRAMES ? p->n - pos : VERIFY_FRAMES;
	if (f + v > s->frame0 + s->frames)
		v = s->frame0 + s->frames - f;
	if (v < W)
		return 0;
	if (ghostrec_journal_read(j, s, f, (uint32_t)v, buf) < 0)
		return -1;
	for (uint64_t i = 0; i < v; i++)
		if (!(fabs((double)buf[i * s->channels + c] - (double)p->x[pos + i]) <= tol))
			return 0;
	return 1;
}

int ghostrec_journal_find(struct ghostrec_journal *j, const struct ghostrec_jfind_probe *probes, size_t n,
			  double tol, uint32_t rate, int64_t take_frames, struct ghostrec_jfind_result *res,
			  char *err, size_t errsize)
{
	memset(res, 0, sizeof(*res));
	res->probes = n;
	struct table t = { 0 };
	struct hits hs = { 0 };
	uint32_t *keys = NULL;
	float *buf = NULL;
	uint32_t *cnt = NULL;
	int rc = -1;
	if (build(&t, probes, n, tol) < 0) {
		SET_ERR("out of memory");
		goto out;
	}
	rc = 0;
	if (!t.n)
		goto out;
	keys = malloc(SCAN_BLOCKS * GHOSTREC_JOURNAL_MAX_CHANNELS * sizeof(uint32_t));
	buf = malloc(VERIFY_FRAMES * GHOSTREC_JOURNAL_MAX_CHANNELS * sizeof(float));
	if (!keys || !buf) {
		SET_ERR("out of memory");
		rc = -1;
		goto out;
	}
	for (size_t si = 0; si < j->n_segs; si++) {
		/* (a copy: reading keys of a segment may read its data, which never changes segs) */
		const struct ghostrec_journal_seg s = j->segs[si];
		if (s.rate != rate || !s.frames)
			continue;
		uint64_t count = ghostrec_jcontent_count(s.frame0, s.frames), first = ghostrec_jcontent_first(s.frame0);
		for (uint64_t from = 0; from < count;) {
			int64_t got = ghostrec_jcontent_read(j, &s, from, SCAN_BLOCKS, keys);
			if (got <= 0) {
				if (got < 0) {
					SET_ERR("%s: segment %u: %s", j->dir, s.seq, strerror((int)-got));
					rc = -1;
					goto out;
				}
				break;
			}
			for (int64_t b = 0; b < got; b++)
				for (uint32_t c = 0; c < s.channels; c++) {
					uint32_t k = keys[(size_t)b * s.channels + c];
					if (!k)
						continue;
					res->keys_scanned++;
					size_t at = slot(&t, k);
					if (!t.hkey[at])
						continue;
					uint64_t f = first + (from + (uint64_t)b) * B;
					for (size_t e = t.hfirst[at]; e < t.n && t.e[e].key == k; e++) {
						const struct ghostrec_jfind_probe *p = &probes[t.e[e].probe];
						res->hits++;
						int v = verify(j, &s, f, c, p, t.e[e].pos, tol, buf);
						if (v < 0) {
							SET_ERR("%s: segment %u: cannot read", j->dir, s.seq);
							rc = -1;
							goto out;
						}
						if (!v)
							continue;
						res->hits_verified++;
						if (hs.n == hs.cap) {
							size_t nc = hs.cap ? hs.cap * 2 : 256;
							struct hit *q = realloc(hs.h, nc * sizeof(*q));
							if (!q) {
								SET_ERR("out of memory");
								rc = -1;
								goto out;
							}
							hs.h = q;
							hs.cap = nc;
						}
						hs.h[hs.n++] = (struct hit){ s.instance, c, t.e[e].probe,
							(int64_t)f - (p->take_frame + (int64_t)t.e[e].pos) };
					}
				}
			from += (uint64_t)got;
		}
	}
	if (!hs.n)
		goto out;
	/* the densest cluster: one timeline, one channel, offsets within `spread` of each other,
	 * the most distinct probes (then the latest) */
	qsort(hs.h, hs.n, sizeof(*hs.h), cmp_hit);
	int64_t spread = 2 * (int64_t)rate + take_frames / 4;
	cnt = calloc(n, sizeof(uint32_t));
	if (!cnt) {
		SET_ERR("out of memory");
		rc = -1;
		goto out;
	}
	size_t best_a = 0, best_b = 0, best = 0, distinct = 0, a = 0;
	for (size_t b = 0; b < hs.n; b++) {
		if (b && (hs.h[b].instance != hs.h[b - 1].instance || hs.h[b].channel != hs.h[b - 1].channel)) {
			while (a < b)
				if (--cnt[hs.h[a++].probe] == 0)
					distinct--;
		}
		if (cnt[hs.h[b].probe]++ == 0)
			distinct++;
		while (hs.h[b].d - hs.h[a].d > spread)
			if (--cnt[hs.h[a++].probe] == 0)
				distinct--;
		if (distinct >= best) {
			best = distinct;
			best_a = a;
			best_b = b;
		}
	}
	const struct hit *h0 = &hs.h[best_a];
	res->instance = h0->instance;
	res->channel = h0->channel;
	res->offset_min = h0->d;
	res->offset_max = hs.h[best_b].d;
	res->probes_found = best;
	res->rate = rate;
	for (size_t i = 0; i < j->n_segs; i++)
		if (j->segs[i].instance == h0->instance)
			res->channels = j->segs[i].channels;
	rc = 1;
out:
	free(t.e);
	free(t.hkey);
	free(t.hfirst);
	free(hs.h);
	free(keys);
	free(buf);
	free(cnt);
	return rc;
}
