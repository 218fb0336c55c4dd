/* The journal's content index (see journal_content.h). */
#include "journal_content.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"

#define B GHOSTREC_JCONTENT_BLOCK
#define W GHOSTREC_JCONTENT_WINDOW
#define VERSION 1u
/* blocks computed from the data at once */
#define COMPUTE_BLOCKS 64u

int ghostrec_jcontent_level(double x)
{
	double a = fabs(x);
	if (a > 1.0)
		a = 1.0;
	int l = (int)floor(GHOSTREC_JCONTENT_LEVELS * log2(1.0 + 4096.0 * a) / 12.0);
	return x < 0 ? -l : l;
}

uint32_t ghostrec_jcontent_key_of_levels(const int8_t levels[W])
{
	uint32_t h = 2166136261u;
	int loud = 0;
	for (unsigned i = 0; i < W; i++) {
		if (levels[i] >= GHOSTREC_JCONTENT_MIN_LEVEL || levels[i] <= -GHOSTREC_JCONTENT_MIN_LEVEL)
			loud = 1;
		h = (h ^ (uint8_t)levels[i]) * 16777619u;
	}
	if (!loud)
		return 0;
	return h ? h : 1;
}

uint32_t ghostrec_jcontent_key(const float *x, size_t stride)
{
	int8_t l[W];
	for (unsigned i = 0; i < W; i++)
		l[i] = (int8_t)ghostrec_jcontent_level(x[i * stride]);
	return ghostrec_jcontent_key_of_levels(l);
}

uint64_t ghostrec_jcontent_first(uint64_t frame0)
{
	return (frame0 + B - 1) / B * B;
}

uint64_t ghostrec_jcontent_count(uint64_t frame0, uint64_t frames)
{
	uint64_t first = ghostrec_jcontent_first(frame0), end = frame0 + frames;
	return end >= first + W ? (end - W - first) / B + 1 : 0;
}

uint64_t ghostrec_jcontent_file_bytes(const struct ghostrec_journal_seg *s)
{
	return GHOSTREC_JCONTENT_HEADER + ghostrec_jcontent_count(s->frame0, s->frames) * s->channels * 4u;
}

void ghostrec_jcontent_path(char *buf, size_t size, const char *dir, uint32_t seq)
{
	snprintf(buf, size, "%s/seg-%08" PRIu32 ".fp", dir, seq);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void header(uint8_t h[GHOSTREC_JCONTENT_HEADER], uint32_t channels)
{
	memcpy(h, "GRFP", 4);
	h[4] = VERSION; h[5] = 0;
	h[6] = W; h[7] = 0;
	put32(h + 8, B);
	put32(h + 12, channels);
}

static int header_ok(int fd, uint32_t channels)
{
	uint8_t want[GHOSTREC_JCONTENT_HEADER], got[GHOSTREC_JCONTENT_HEADER];
	header(want, channels);
	return pread(fd, got, sizeof(got), 0) == (ssize_t)sizeof(got) && !memcmp(want, got, sizeof(got));
}

/* Keys are stored little-endian; on a little-endian host the array is the file. */
static void to_le(uint32_t *k, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t b[4];
		put32(b, k[i]);
		memcpy(&k[i], b, 4);
	}
}

static void from_le(uint32_t *k, size_t n)
{
	for (size_t i = 0; i < n; i++)
		k[i] = get32((const uint8_t *)&k[i]);
}

/* Keys of blocks [from, from + n) computed from the segment's data. Returns blocks done or -errno. */
static int64_t compute(struct ghostrec_journal *j, const struct ghostrec_journal_seg *s, uint64_t from, uint64_t n,
		       uint32_t *keys)
{
	uint64_t count = ghostrec_jcontent_count(s->frame0, s->frames), first = ghostrec_jcontent_first(s->frame0);
	if (from >= count)
		return 0;
	if (n > count - from)
		n = count - from;
	float *buf = malloc(((size_t)(COMPUTE_BLOCKS - 1) * B + W) * s->channels * sizeof(float));
	if (!buf)
		return -ENOMEM;
	uint64_t done = 0;
	while (done < n) {
		uint64_t nb = n - done > COMPUTE_BLOCKS ? COMPUTE_BLOCKS : n - done;
		uint64_t f = first + (from + done) * B;
		uint32_t frames = (uint32_t)((nb - 1) * B + W);
		int e = ghostrec_journal_read(j, s, f, frames, buf);
		if (e < 0) {
			free(buf);
			return e;
		}
		for (uint64_t b = 0; b < nb; b++)
			for (uint32_t c = 0; c < s->channels; c++)
				keys[(done + b) * s->channels + c] =
					ghostrec_jcontent_key(buf + (size_t)b * B * s->channels + c, s->channels);
		done += nb;
	}
	free(buf);
	return (int64_t)done;
}

int ghostrec_jcontent_begin(struct ghostrec_journal *j, const struct ghostrec_journal_seg *s)
{
	char path[4200];
	uint8_t h[GHOSTREC_JCONTENT_HEADER];
	ghostrec_jcontent_end(j);
	j->fp_fill = 0;
	j->fp_broken = false;
	ghostrec_jcontent_path(path, sizeof(path), j->dir, s->seq);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		j->fp_broken = true;
		return -errno;
	}
	header(h, s->channels);
	int e = ghostrec_write_all(fd, h, sizeof(h));
	if (e < 0) {
		close(fd);
		unlink(path);
		j->fp_broken = true;
		return e;
	}
	j->fp_fd = fd;
	j->fp_size = sizeof(h);
	j->fp_bytes += sizeof(h);
	return 0;
}

void ghostrec_jcontent_feed(struct ghostrec_journal *j, const float *frames, uint32_t channels, uint64_t frame,
			    uint32_t n)
{
	if (j->fp_fd < 0 || j->fp_broken)
		return;
	uint32_t keys[(GHOSTREC_JOURNAL_SCRATCH_FRAMES / B + 2) * GHOSTREC_JOURNAL_MAX_CHANNELS];
	size_t nk = 0, max_k = sizeof(keys) / sizeof(keys[0]);
	uint32_t i = 0;
	while (i < n) {
		if (j->fp_fill == 0) {
			uint64_t g = frame + i, next = (g + B - 1) / B * B;
			if (next - g >= n - i)
				break;
			i += (uint32_t)(next - g);
		}
		uint32_t take = W - j->fp_fill < n - i ? W - j->fp_fill : n - i;
		memcpy(j->fp_win + (size_t)j->fp_fill * channels, frames + (size_t)i * channels,
		       (size_t)take * channels * sizeof(float));
		j->fp_fill += take;
		i += take;
		if (j->fp_fill == W) {
			j->fp_fill = 0;
			if (nk + channels > max_k)
				break; /* cannot happen with chunks of at most SCRATCH_FRAMES */
			for (uint32_t c = 0; c < channels; c++)
				keys[nk++] = ghostrec_jcontent_key(j->fp_win + c, channels);
		}
	}
	if (!nk)
		return;
	to_le(keys, nk);
	int e = ghostrec_write_all(j->fp_fd, keys, nk * sizeof(uint32_t));
	if (e < 0) {
		/* the index is derived data: stop here, a reader computes the rest from the segment and
		 * the writer completes the file when it opens the journal again */
		(void)!ftruncate(j->fp_fd, (off_t)j->fp_size);
		j->fp_broken = true;
		return;
	}
	j->fp_size += nk * sizeof(uint32_t);
	j->fp_bytes += nk * sizeof(uint32_t);
	j->fp_unsynced = true;
}

int ghostrec_jcontent_sync(struct ghostrec_journal *j)
{
	if (j->fp_fd < 0 || !j->fp_unsynced)
		return 0;
	j->fp_unsynced = false;
	return fdatasync(j->fp_fd) < 0 ? -errno : 0;
}

void ghostrec_jcontent_end(struct ghostrec_journal *j)
{
	if (j->fp_fd >= 0) {
		ghostrec_jcontent_sync(j);
		close(j->fp_fd);
	}
	j->fp_fd = -1;
	j->fp_unsynced = false;
	j->fp_fill = 0;
}

void ghostrec_jcontent_repair(struct ghostrec_journal *j, const struct ghostrec_journal_seg *s)
{
	char path[4200];
	struct stat st;
	ghostrec_jcontent_path(path, sizeof(path), j->dir, s->seq);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return; /* a segment written before the index existed: readers compute its keys */
	uint64_t row = (uint64_t)s->channels * 4u, want = ghostrec_jcontent_count(s->frame0, s->frames);
	if (fstat(fd, &st) < 0 || !header_ok(fd, s->channels)) {
		uint8_t h[GHOSTREC_JCONTENT_HEADER];
		header(h, s->channels);
		if (ftruncate(fd, 0) < 0 || pwrite(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
			close(fd);
			unlink(path);
			return;
		}
		st.st_size = sizeof(h);
	}
	uint64_t have = ((uint64_t)st.st_size - GHOSTREC_JCONTENT_HEADER) / row;
	if (have > want)
		have = want;
	if ((uint64_t)st.st_size != GHOSTREC_JCONTENT_HEADER + have * row)
		(void)!ftruncate(fd, (off_t)(GHOSTREC_JCONTENT_HEADER + have * row));
	if (have < want) {
		uint32_t *keys = malloc(COMPUTE_BLOCKS * row);
		while (keys && have < want) {
			uint64_t nb = want - have > COMPUTE_BLOCKS ? COMPUTE_BLOCKS : want - have;
			int64_t got = compute(j, s, have, nb, keys);
			if (got <= 0)
				break;
			to_le(keys, (size_t)got * s->channels);
			if (pwrite(fd, keys, (size_t)got * row, (off_t)(GHOSTREC_JCONTENT_HEADER + have * row)) !=
			    (ssize_t)((size_t)got * row))
				break;
			have += (uint64_t)got;
		}
		free(keys);
		if (have < want)
			(void)!ftruncate(fd, (off_t)(GHOSTREC_JCONTENT_HEADER + have * row));
		fdatasync(fd);
	}
	j->fp_bytes += GHOSTREC_JCONTENT_HEADER + have * row;
	close(fd);
}

int64_t ghostrec_jcontent_read(struct ghostrec_journal *j, const struct ghostrec_journal_seg *s, uint64_t from,
			       uint64_t n, uint32_t *keys)
{
	uint64_t count = ghostrec_jcontent_count(s->frame0, s->frames), row = (uint64_t)s->channels * 4u;
	if (from >= count)
		return 0;
	if (n > count - from)
		n = count - from;
	if (j->fp_rd_fd < 0 || j->fp_rd_seq != s->seq) {
		char path[4200];
		if (j->fp_rd_fd >= 0)
			close(j->fp_rd_fd);
		ghostrec_jcontent_path(path, sizeof(path), j->dir, s->seq);
		j->fp_rd_fd = open(path, O_RDONLY | O_CLOEXEC);
		j->fp_rd_seq = s->seq;
		if (j->fp_rd_fd >= 0 && !header_ok(j->fp_rd_fd, s->channels)) {
			close(j->fp_rd_fd);
			j->fp_rd_fd = -1;
		}
	}
	uint64_t got = 0;
	if (j->fp_rd_fd >= 0) {
		ssize_t r = pread(j->fp_rd_fd, keys, (size_t)(n * row), (off_t)(GHOSTREC_JCONTENT_HEADER + from * row));
		if (r > 0) {
			got = (uint64_t)r / row;
			from_le(keys, (size_t)(got * s->channels));
		}
	}
	if (got < n) {
		/* the file lacks these (being written, cut short by a crash, or from before the index) */
		int64_t c = compute(j, s, from + got, n - got, keys + got * s->channels);
		if (c < 0)
			return got ? (int64_t)got : c;
		got += (uint64_t)c;
	}
	return (int64_t)got;
}
