/* The capture journal on a real directory: frames come back exactly; holes read as gaps with
 * their recorded cause; a write the file system refuses half-way (RLIMIT_FSIZE stands in for a
 * full disk) keeps whole frames only and the retry continues at the right frame, so nothing is
 * written twice or out of order; reopening after a torn write recovers whole frames; rotation
 * keeps the journal under its cap, never removes a pinned range, and index and data agree after
 * it; wall-clock lookup finds the frame. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/journal.h"
#include "check.h"

#define CH 2u
#define RATE 48000u
#define INST 0xabcdef0123ull

static float sample(uint64_t frame, unsigned c)
{
	return (float)((frame * 7 + c * 3) % 100003) / 131072.0f - 0.25f;
}

static int64_t append(struct ghostrec_journal *j, uint64_t inst, uint64_t frame, uint32_t n)
{
	static float l[20000], r[20000];
	for (uint32_t i = 0; i < n; i++) {
		l[i] = sample(frame + i, 0);
		r[i] = sample(frame + i, 1);
	}
	const float *src[CH] = { l, r };
	return ghostrec_journal_append(j, inst, 1, RATE, CH, frame, 1000000000LL + (int64_t)(frame * 1e9 / RATE), src, n);
}

/* Every frame of [from, to) reads back exactly. */
static void expect_data(struct ghostrec_journal *j, uint64_t inst, uint64_t from, uint64_t to)
{
	static float buf[20000 * CH];
	uint64_t pos = from, bad = 0;
	while (pos < to) {
		uint64_t n;
		const struct ghostrec_journal_seg *seg;
		enum ghostrec_journal_where w = ghostrec_journal_locate(j, inst, pos, &n, &seg, NULL);
		if (w != GHOSTREC_JOURNAL_DATA) {
			fprintf(stderr, "frame %llu: not held (%d)\n", (unsigned long long)pos, (int)w);
			check_failures++;
			return;
		}
		if (n > to - pos)
			n = to - pos;
		if (n > 20000)
			n = 20000;
		CHECK(ghostrec_journal_read(j, seg, pos, (uint32_t)n, buf) == 0);
		for (uint64_t i = 0; i < n; i++)
			for (unsigned c = 0; c < CH; c++)
				bad += buf[i * CH + c] != sample(pos + i, c);
		pos += n;
	}
	CHECK_EQ_U64(bad, 0);
}

int main(void)
{
	char dir[64], err[512], cmd[128];
	snprintf(dir, sizeof(dir), "/tmp/ghostrec-journal-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	struct ghostrec_journal_limits lim = { .seg_seconds = 1 };
	struct ghostrec_journal j;
	CHECK(ghostrec_journal_open(&j, dir, true, &lim, err, sizeof(err)) == 0);

	/* 1. continuous frames, segments of 1 s, a hole with a cause */
	uint64_t f = 1000;
	for (int i = 0; i < 12; i++, f += 12000)
		CHECK(append(&j, INST, f, 12000) == 12000);
	CHECK(j.n_segs == 3); /* 144000 frames in 48000-frame segments */
	CHECK(ghostrec_journal_add_gap(&j, INST, f, 5000, "ring-overrun") == 0);
	f += 5000;
	CHECK(append(&j, INST, f, 3000) == 3000);
	f += 3000;
	CHECK(ghostrec_journal_sync(&j) == 0);
	expect_data(&j, INST, 1000, 145000);
	expect_data(&j, INST, 150000, f);
	uint64_t n, end;
	char cause[GHOSTREC_JOURNAL_CAUSE_MAX];
	CHECK(ghostrec_journal_locate(&j, INST, 145000, &n, NULL, cause) == GHOSTREC_JOURNAL_HOLE && n == 5000 &&
	      !strcmp(cause, "ring-overrun"));
	CHECK(ghostrec_journal_locate(&j, INST, 500, &n, NULL, NULL) == GHOSTREC_JOURNAL_GONE && n == 500);
	CHECK(ghostrec_journal_locate(&j, INST, f, &n, NULL, NULL) == GHOSTREC_JOURNAL_NOT_YET);
	CHECK(ghostrec_journal_locate(&j, 77, 0, &n, NULL, NULL) == GHOSTREC_JOURNAL_UNKNOWN);
	CHECK(ghostrec_journal_end(&j, INST, &end) && end == f);

	/* 2. the disk refuses part of a write: whole frames only, the retry goes on from there */
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit old, small;
	getrlimit(RLIMIT_FSIZE, &old);
	struct stat st;
	char seg[4200];
	snprintf(seg, sizeof(seg), "%s/seg-%08u.raw", dir, j.segs[j.n_segs - 1].seq);
	CHECK(stat(seg, &st) == 0);
	small = old;
	small.rlim_cur = (rlim_t)st.st_size + 1001; /* room for 125 frames and one byte */
	CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0);
	int64_t w = append(&j, INST, f, 10000);
	printf("a write with room for 125 frames and a byte: %lld frames kept\n", (long long)w);
	CHECK(w == 125);
	f += (uint64_t)w;
	w = append(&j, INST, f, 100);
	CHECK(w == -EFBIG); /* nothing more fits: an error, no frame counted */
	CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
	CHECK(append(&j, INST, f, 9875) == 9875);
	f += 9875;
	CHECK(stat(seg, &st) == 0 && (uint64_t)st.st_size % (CH * sizeof(float)) == 0);
	expect_data(&j, INST, 150000, f);
	ghostrec_journal_close(&j);

	/* 3. a torn frame at the end (power cut mid-write): cut off on open, the rest is intact */
	FILE *tf = fopen(seg, "ab");
	CHECK(tf && fwrite("abc", 1, 3, tf) == 3);
	fclose(tf);
	snprintf(cmd, sizeof(cmd), "printf 'seg 9 ab' >> %s/index", dir); /* a torn index line */
	CHECK(system(cmd) == 0);
	CHECK(ghostrec_journal_open(&j, dir, true, &lim, err, sizeof(err)) == 0);
	CHECK(ghostrec_journal_end(&j, INST, &end) && end == f);
	expect_data(&j, INST, 1000, 145000);
	expect_data(&j, INST, 150000, f);
	CHECK(ghostrec_journal_locate(&j, INST, 146000, &n, NULL, cause) == GHOSTREC_JOURNAL_HOLE &&
	      !strcmp(cause, "ring-overrun"));
	/* a new timeline (the node restarted) starts its own segments */
	CHECK(append(&j, INST + 1, 0, 4800) == 4800);
	expect_data(&j, INST + 1, 0, 4800);
	expect_data(&j, INST, 150000, f);

	/* 4. rotation by size: never over the cap, a pinned range stays, index and data agree */
	uint64_t seg_bytes = (uint64_t)RATE * CH * sizeof(float);
	j.lim.max_bytes = 2 * seg_bytes;
	int removed = ghostrec_journal_rotate(&j, INST, 10000); /* the first segment holds a take's frames */
	CHECK(removed == 0);
	removed = ghostrec_journal_rotate(&j, 0, UINT64_MAX);
	printf("rotation: %d segments removed, %llu bytes held (cap %llu)\n", removed,
	       (unsigned long long)j.bytes, (unsigned long long)j.lim.max_bytes);
	CHECK(removed > 0 && j.bytes <= 2 * seg_bytes);
	uint64_t first = j.segs[0].frame0;
	CHECK(ghostrec_journal_locate(&j, INST, 1000, &n, NULL, NULL) == GHOSTREC_JOURNAL_GONE ||
	      j.segs[0].instance != INST);
	ghostrec_journal_close(&j);
	CHECK(ghostrec_journal_open(&j, dir, false, NULL, err, sizeof(err)) == 0);
	uint64_t bytes = 0;
	for (size_t i = 0; i < j.n_segs; i++) {
		snprintf(seg, sizeof(seg), "%s/seg-%08u.raw", dir, j.segs[i].seq);
		CHECK(stat(seg, &st) == 0 && (uint64_t)st.st_size == j.segs[i].frames * CH * sizeof(float));
		bytes += (uint64_t)st.st_size;
	}
	CHECK(bytes == j.bytes && bytes <= 2 * seg_bytes);
	CHECK(j.segs[0].frame0 == first);
	expect_data(&j, INST + 1, 0, 4800);

	/* 5. wall clock -> frame */
	uint64_t inst, fr;
	CHECK(ghostrec_journal_frame_at(&j, 1000000000LL + (int64_t)(4000 * 1e9 / RATE), &inst, &fr));
	CHECK(inst == INST + 1 || inst == INST);
	ghostrec_journal_close(&j);

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	return check_report("test-journal");
}
