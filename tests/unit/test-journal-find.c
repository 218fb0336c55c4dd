/* The journal's content index and the lookup of a take by its audio: keys are written as the
 * journal is written and survive a crash (a cut index file is completed from the data on open,
 * a missing one is computed by readers); a damaged 16-bit mono "take" of one channel (dropped
 * and silenced blocks, REAPER-style integer scaling) is found at the right timeline, channel and
 * offset among several timelines; audio the journal never heard is not found. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/journal.h"
#include "common/journal_content.h"
#include "common/journal_find.h"
#include "common/marker.h"
#include "check.h"

#define CH 3u
#define RATE 48000u

static uint32_t rng_state;
static float noise(void)
{
	rng_state = rng_state * 1664525u + 1013904223u;
	return (float)((int32_t)rng_state >> 8) / 8388608.0f * 0.3f;
}

/* deterministic audio of timeline `inst` at ring frame f, channel c */
static float audio(uint64_t inst, uint64_t f, unsigned c)
{
	uint32_t h = (uint32_t)(f * 2654435761u) ^ (uint32_t)(inst * 40503u) ^ (c * 0x9e3779b9u);
	h ^= h >> 15; h *= 0x2c1b3c6du; h ^= h >> 12; h *= 0x297a2d39u; h ^= h >> 15;
	float env = 0.05f + 0.2f * (float)(0.5 + 0.5 * sin((double)f / 9000.0));
	return (float)((int32_t)h >> 8) / 8388608.0f * env;
}

static void write_timeline(struct ghostrec_journal *j, uint64_t inst, uint64_t f0, uint64_t frames)
{
	static float buf[CH][4800];
	for (uint64_t f = f0; f < f0 + frames; f += 4800) {
		uint32_t n = (uint32_t)(f0 + frames - f < 4800 ? f0 + frames - f : 4800);
		for (unsigned c = 0; c < CH; c++)
			for (uint32_t i = 0; i < n; i++)
				buf[c][i] = audio(inst, f + i, c);
		const float *src[CH] = { buf[0], buf[1], buf[2] };
		CHECK(ghostrec_journal_append(j, inst, 1, RATE, CH, f, (int64_t)f * 20833, src, n) == n);
	}
}

static uint64_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* A 16-bit take of channel `chan` of timeline inst from ring frame f0: every 0.4 s a block of
 * 512 frames dropped, every 0.7 s 300 frames silenced; REAPER's x * 32767 scaling. */
static float *make_take(uint64_t inst, unsigned chan, uint64_t f0, int64_t frames)
{
	float *t = malloc(sizeof(float) * (size_t)frames);
	uint64_t f = f0;
	for (int64_t i = 0; i < frames; i++, f++) {
		if (i && i % 19200 == 0)
			f += 512;
		float x = audio(inst, f, chan);
		if (i % 33600 >= 1000 && i % 33600 < 1300)
			x = 0;
		t[i] = (float)(lrintf(x * 32767.0f) / 32767.0);
	}
	return t;
}

static int find(struct ghostrec_journal *j, const float *take, int64_t frames, struct ghostrec_jfind_result *r)
{
	int64_t starts[GHOSTREC_JFIND_MAX_PROBES];
	struct ghostrec_jfind_probe p[GHOSTREC_JFIND_MAX_PROBES];
	size_t n = ghostrec_jfind_probe_starts(frames, RATE, starts, GHOSTREC_JFIND_MAX_PROBES);
	for (size_t i = 0; i < n; i++)
		p[i] = (struct ghostrec_jfind_probe){ starts[i], take + starts[i], GHOSTREC_JFIND_PROBE_FRAMES };
	char err[256];
	/* a 16-bit take against float32: the tolerance is 16-bit's */
	return ghostrec_journal_find(j, p, n, ghostrec_marker_tolerance(16), RATE, frames, r, err, sizeof(err));
}

int main(void)
{
	char dir[64], err[512], path[4200], cmd[200];
	snprintf(dir, sizeof(dir), "/tmp/ghostrec-jfind-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	struct ghostrec_journal_limits lim = { .seg_seconds = 20 };
	struct ghostrec_journal j;
	CHECK(ghostrec_journal_open(&j, dir, true, &lim, err, sizeof(err)) == 0);

	/* 1. keys are written with the data: the .fp of a segment equals what readers compute */
	write_timeline(&j, 0x11, 1000, 40 * RATE);  /* two full segments + */
	write_timeline(&j, 0x22, 777, 30 * RATE);   /* the node restarted */
	CHECK(ghostrec_journal_sync(&j) == 0);
	CHECK(j.n_segs == 4);
	uint64_t fp_total = 0;
	for (size_t i = 0; i < j.n_segs; i++) {
		ghostrec_jcontent_path(path, sizeof(path), dir, j.segs[i].seq);
		CHECK_EQ_U64(file_size(path), ghostrec_jcontent_file_bytes(&j.segs[i]));
		fp_total += file_size(path);
	}
	CHECK_EQ_U64(j.fp_bytes, fp_total);
	CHECK_EQ_U64(ghostrec_journal_bytes(&j), j.bytes + fp_total);
	/* the index costs a fraction of a percent of the audio */
	printf("content index: %llu bytes for %llu bytes of audio (%.3f%%)\n", (unsigned long long)fp_total,
	       (unsigned long long)j.bytes, 100.0 * (double)fp_total / (double)j.bytes);
	CHECK(fp_total * 100 < j.bytes);
	const struct ghostrec_journal_seg s1 = j.segs[1];
	uint64_t count = ghostrec_jcontent_count(s1.frame0, s1.frames);
	uint32_t *ka = malloc(count * CH * 4), *kb = malloc(count * CH * 4);
	CHECK(ghostrec_jcontent_read(&j, &s1, 0, count, ka) == (int64_t)count);
	size_t nonzero = 0;
	for (uint64_t i = 0; i < count * CH; i++)
		nonzero += ka[i] != 0;
	CHECK(nonzero > count * CH * 9 / 10);
	ghostrec_journal_close(&j);

	/* 2. a crash cut the index short (and left a torn key): completed from the data on open */
	ghostrec_jcontent_path(path, sizeof(path), dir, s1.seq);
	CHECK(truncate(path, (off_t)(GHOSTREC_JCONTENT_HEADER + 1000 * CH * 4 + 2)) == 0);
	/* ... and another segment lost its index entirely: readers compute its keys */
	char gone[4200];
	ghostrec_jcontent_path(gone, sizeof(gone), dir, 3);
	CHECK(unlink(gone) == 0);
	CHECK(ghostrec_journal_open(&j, dir, true, &lim, err, sizeof(err)) == 0);
	CHECK_EQ_U64(file_size(path), ghostrec_jcontent_file_bytes(&s1));
	CHECK(ghostrec_jcontent_read(&j, &j.segs[1], 0, count, kb) == (int64_t)count);
	CHECK(memcmp(ka, kb, count * CH * 4) == 0);
	free(ka);
	free(kb);

	/* 3. a damaged 16-bit take of channel 2 of the first timeline, 10 s from ring frame 600000 */
	int64_t frames = 10 * RATE;
	float *take = make_take(0x11, 2, 600000, frames);
	struct ghostrec_jfind_result r;
	CHECK(find(&j, take, frames, &r) == 1);
	printf("found: timeline %llx channel %u offsets %lld..%lld, %zu/%zu probes, %llu keys, %llu hits, %llu verified\n",
	       (unsigned long long)r.instance, r.channel, (long long)r.offset_min, (long long)r.offset_max,
	       r.probes_found, r.probes, (unsigned long long)r.keys_scanned, (unsigned long long)r.hits,
	       (unsigned long long)r.hits_verified);
	CHECK_EQ_U64(r.instance, 0x11);
	CHECK_EQ_U64(r.channel, 2);
	CHECK(r.offset_min >= 600000 && r.offset_min <= 600000 + 512);
	CHECK(r.offset_max == 600000 + 24 * 512 || r.offset_max == 600000 + 25 * 512);
	CHECK(r.probes_found * 4 >= r.probes * 3);
	free(take);

	/* 4. the second timeline, channel 0, across its segment boundary (found though its index
	 * file is gone) */
	take = make_take(0x22, 0, 777 + 18 * RATE, frames);
	CHECK(find(&j, take, frames, &r) == 1);
	CHECK_EQ_U64(r.instance, 0x22);
	CHECK_EQ_U64(r.channel, 0);
	CHECK(r.offset_min >= 777 + 18 * RATE && r.offset_min <= 777 + 18 * RATE + 512);
	free(take);

	/* 5. audio the journal never heard */
	rng_state = 5;
	take = malloc(sizeof(float) * (size_t)frames);
	for (int64_t i = 0; i < frames; i++)
		take[i] = noise();
	CHECK(find(&j, take, frames, &r) == 0);
	free(take);

	/* 6. rotation removes a segment's index with it, and counts it against the cap */
	uint64_t before = ghostrec_journal_bytes(&j);
	j.lim.max_bytes = before - 1;
	CHECK(ghostrec_journal_rotate(&j, 0, UINT64_MAX) == 1);
	ghostrec_jcontent_path(path, sizeof(path), dir, 1);
	CHECK(access(path, F_OK) != 0);
	CHECK(ghostrec_journal_bytes(&j) <= j.lim.max_bytes);
	ghostrec_journal_close(&j);

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	return check_report("test-journal-find");
}
