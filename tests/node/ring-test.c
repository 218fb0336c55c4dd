/* Shm ring: layout, reads, overwrite detection, generations, resize, and two independent reader
 * processes reading while a writer writes (no torn frame may be reported valid). */
#include "common/ring.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); exit(1); } } while (0)

/* Every (frame, channel) has a distinct value, exact in float32 (< 2^24), so stale or torn data
 * is always distinguishable from the right data. */
static float pattern(uint64_t frame, uint32_t channel)
{
	uint64_t x = frame * 2654435761u + channel * 40503u + 17u;
	return (float)(x & 0xffffffu);
}

static void write_block(struct ghostrec_ring_writer *w, uint64_t first, uint32_t n, uint32_t channels)
{
	static float buf[GHOSTREC_RING_MAX_CHANNELS][4096];
	const float *src[GHOSTREC_RING_MAX_CHANNELS];
	for (uint32_t c = 0; c < channels; c++) {
		for (uint32_t i = 0; i < n; i++)
			buf[c][i] = pattern(first + i, c);
		src[c] = buf[c];
	}
	ghostrec_ring_write(w, src, n);
}

static void test_basic(const char *name)
{
	struct ghostrec_ring_writer w;
	uint32_t pos[2] = { 3, 4 };
	CHECK(ghostrec_ring_writer_create(&w, name, 48000, 2, pos, 1000, 0, 1) == 0);

	/* Mode 0600 and the documented name: the prefix plus 16 random hex digits. */
	char shm[128];
	CHECK(ghostrec_ring_shm_name(shm, sizeof(shm), name) == 0);
	CHECK(strncmp(w.shm_name, shm, strlen(shm)) == 0 && w.shm_name[strlen(shm)] == '-' &&
	      strlen(w.shm_name) == strlen(shm) + 17 && w.locator_error[0] == '\0');
	char path[256];
	snprintf(path, sizeof(path), "/dev/shm%s", w.shm_name);
	struct stat st;
	CHECK(stat(path, &st) == 0);
	CHECK((st.st_mode & 0777) == 0600);

	struct ghostrec_ring_reader *r;
	CHECK(ghostrec_ring_reader_open(&r, name) == 0);
	struct ghostrec_ring_info info;
	CHECK(ghostrec_ring_reader_info(r, &info) == 0);
	CHECK(info.rate == 48000 && info.channels == 2 && info.capacity == 1000);
	CHECK(info.generation == 1 && info.write_frame == 0 && info.positions[1] == 4);
	CHECK(info.writer_pid == getpid() && info.instance == w.hdr->instance);

	float out[2][1000];
	float *dst[2] = { out[0], out[1] };
	CHECK(ghostrec_ring_read_frames(r, 1, 0, dst, 10) == GHOSTREC_RING_NOT_YET);

	uint64_t f = 0;
	for (int i = 0; i < 7; i++) { /* 7 * 256 = 1792 frames: wraps the 1000-frame ring */
		write_block(&w, f, 256, 2);
		f += 256;
	}
	CHECK(ghostrec_ring_reader_info(r, &info) == 0);
	CHECK(info.write_frame == 1792 && info.oldest_frame == 792);
	/* A range across the wrap point, all channels. */
	CHECK(ghostrec_ring_read_frames(r, 1, 792, dst, 1000) == GHOSTREC_RING_OK);
	for (uint32_t i = 0; i < 1000; i++)
		CHECK(out[0][i] == pattern(792 + i, 0) && out[1][i] == pattern(792 + i, 1));
	CHECK(ghostrec_ring_read(r, 1, 1, 1500, out[0], 292) == GHOSTREC_RING_OK);
	for (uint32_t i = 0; i < 292; i++)
		CHECK(out[0][i] == pattern(1500 + i, 1));
	CHECK(ghostrec_ring_read(r, 1, 0, 791, out[0], 10) == GHOSTREC_RING_OVERWRITTEN);
	CHECK(ghostrec_ring_read(r, 1, 0, 1790, out[0], 3) == GHOSTREC_RING_NOT_YET);
	CHECK(ghostrec_ring_read(r, 1, 2, 1000, out[0], 3) == -EINVAL);
	CHECK(ghostrec_ring_read(r, 1, 0, 0, out[0], 1001) == -E2BIG);

	/* Markers: the table keeps the newest MAX entries. */
	for (uint32_t i = 0; i < GHOSTREC_RING_MAX_MARKERS + 5; i++)
		ghostrec_ring_add_marker(&w, 100 + i, i % 2, 1000 + i);
	struct ghostrec_ring_marker mk[GHOSTREC_RING_MAX_MARKERS];
	uint64_t total;
	size_t n = ghostrec_ring_reader_markers(r, mk, GHOSTREC_RING_MAX_MARKERS, &total);
	CHECK(total == GHOSTREC_RING_MAX_MARKERS + 5 && n == GHOSTREC_RING_MAX_MARKERS);
	CHECK(mk[0].take_id == 105 && mk[0].frame == 1005 && mk[0].channel == 1);
	CHECK(mk[n - 1].take_id == 100 + GHOSTREC_RING_MAX_MARKERS + 4);

	/* In-place new generation (rate change): old frames are never returned as the new format. */
	ghostrec_ring_new_generation(&w, 44100);
	CHECK(ghostrec_ring_read(r, 1, 0, 1500, out[0], 10) == GHOSTREC_RING_GENERATION);
	CHECK(ghostrec_ring_reader_info(r, &info) == 0);
	CHECK(info.generation == 2 && info.rate == 44100 && info.gen_start_frame == 1792);
	CHECK(ghostrec_ring_read(r, 2, 0, 1500, out[0], 10) == GHOSTREC_RING_GENERATION);
	write_block(&w, f, 100, 2);
	f += 100;
	CHECK(ghostrec_ring_read(r, 2, 0, 1792, out[0], 100) == GHOSTREC_RING_OK);
	CHECK(out[0][99] == pattern(1891, 0));

	/* Resize: a new object under the same name, invisible until published; the reader keeps
	 * the old mapping meanwhile, then remaps and continues the timeline. */
	struct ghostrec_ring_writer w2;
	CHECK(ghostrec_ring_writer_create_unpublished(&w2, name, 44100, 2, pos, 3000, f, 3) == 0);
	struct ghostrec_ring_reader *r2;
	CHECK(ghostrec_ring_reader_open(&r2, name) == -EAGAIN);
	ghostrec_ring_writer_destroy(&w, false);
	CHECK(ghostrec_ring_reader_refresh(r) == -EAGAIN);
	ghostrec_ring_writer_publish(&w2);
	CHECK(ghostrec_ring_read(r, 2, 0, 1792, out[0], 10) == GHOSTREC_RING_GENERATION);
	CHECK(ghostrec_ring_reader_refresh(r) == 1);
	CHECK(ghostrec_ring_reader_info(r, &info) == 0);
	CHECK(info.generation == 3 && info.capacity == 3000 && info.write_frame == f);
	write_block(&w2, f, 2000, 2);
	CHECK(ghostrec_ring_read(r, 3, 1, f, out[0], 1000) == GHOSTREC_RING_OK);
	CHECK(out[0][999] == pattern(f + 999, 1));
	CHECK(ghostrec_ring_reader_refresh(r) == 0);

	atomic_store(&w2.hdr->counters.cycles, 42);
	struct ghostrec_ring_counter_values cv;
	ghostrec_ring_reader_counters(r, &cv);
	CHECK(cv.cycles == 42);
	ghostrec_ring_reader_close(r);
	ghostrec_ring_writer_destroy(&w2, true);
	CHECK(ghostrec_ring_reader_open(&r, name) == -ENOENT);
	printf("basic: ok\n");
}

#define READER_MAX_SECONDS 30.0

static double elapsed(const struct timespec *from, const struct timespec *to)
{
	return (double)(to->tv_sec - from->tv_sec) + (double)(to->tv_nsec - from->tv_nsec) * 1e-9;
}

/* Reader process: reads random ranges, many of them right at the oldest edge where the writer is
 * overwriting, and checks every range reported OK. Exit status = number of torn reads. */
static int reader_process(const char *name, unsigned seed, double seconds)
{
	struct ghostrec_ring_reader *r;
	if (ghostrec_ring_reader_open(&r, name) != 0)
		return 100;
	static float out[GHOSTREC_RING_MAX_CHANNELS][512];
	float *dst[GHOSTREC_RING_MAX_CHANNELS];
	for (int c = 0; c < (int)GHOSTREC_RING_MAX_CHANNELS; c++)
		dst[c] = out[c];
	uint64_t ok = 0, overwritten = 0, not_yet = 0, torn = 0;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	srand(seed);
	do {
		struct ghostrec_ring_info info;
		if (ghostrec_ring_reader_info(r, &info) != 0)
			return 101;
		uint32_t n = 1 + (uint32_t)(rand() % 512);
		uint64_t frame;
		int mode = rand() % 3;
		if (mode == 0) /* at the edge being overwritten */
			frame = info.oldest_frame + (uint64_t)(rand() % 64);
		else if (mode == 1) /* just behind the writer */
			frame = info.write_frame > n ? info.write_frame - n : 0;
		else
			frame = info.oldest_frame + (uint64_t)rand() % (info.capacity + 1);
		int res = ghostrec_ring_read_frames(r, info.generation, frame, dst, n);
		if (res == GHOSTREC_RING_OK) {
			ok++;
			for (uint32_t c = 0; c < info.channels; c++)
				for (uint32_t i = 0; i < n; i++)
					if (out[c][i] != pattern(frame + i, c)) {
						torn++;
						c = info.channels;
						break;
					}
		} else if (res == GHOSTREC_RING_OVERWRITTEN) {
			overwritten++;
		} else if (res == GHOSTREC_RING_NOT_YET) {
			not_yet++;
		} else {
			return 102;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		/* Run at least `seconds`, and on a loaded machine (or under sanitizers) on until both
		 * outcomes were seen often enough to mean something, up to a cap. */
	} while (elapsed(&t0, &t) < seconds ||
		 ((ok < 1000 || overwritten < 10) && elapsed(&t0, &t) < READER_MAX_SECONDS));
	printf("reader %u: ok=%lu overwritten=%lu not_yet=%lu torn=%lu\n", seed, (unsigned long)ok,
	       (unsigned long)overwritten, (unsigned long)not_yet, (unsigned long)torn);
	fflush(stdout);
	ghostrec_ring_reader_close(r);
	/* The test is only meaningful if both outcomes really happened. */
	if (ok < 1000 || overwritten < 10)
		return 103;
	return torn ? 1 : 0;
}

static void test_concurrent(const char *name)
{
	const double seconds = 2.0;
	const uint32_t channels = 3;
	struct ghostrec_ring_writer w;
	/* A small ring so readers are overtaken constantly. */
	CHECK(ghostrec_ring_writer_create(&w, name, 48000, channels, NULL, 1024, 0, 1) == 0);
	write_block(&w, 0, 1024, channels);
	uint64_t f = 1024;

	pid_t pids[2];
	for (int i = 0; i < 2; i++) {
		pids[i] = fork();
		CHECK(pids[i] >= 0);
		if (pids[i] == 0)
			_exit(reader_process(name, (unsigned)(i + 1), seconds));
	}
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint64_t blocks = 0;
	int status[2], running = 2;
	/* Keep writing until both readers are done: they decide how long they need. */
	do {
		uint32_t n = 1 + (uint32_t)(blocks * 37 % 300);
		write_block(&w, f, n, channels);
		f += n;
		blocks++;
		if (blocks % 256 == 0)
			for (int i = 0; i < 2; i++)
				if (pids[i] > 0 && waitpid(pids[i], &status[i], WNOHANG) == pids[i]) {
					pids[i] = 0;
					running--;
				}
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (running > 0 && elapsed(&t0, &t) < READER_MAX_SECONDS + 5.0);
	int failed = 0;
	for (int i = 0; i < 2; i++) {
		if (pids[i] > 0)
			CHECK(waitpid(pids[i], &status[i], 0) == pids[i]);
		if (!WIFEXITED(status[i]) || WEXITSTATUS(status[i]) != 0) {
			fprintf(stderr, "reader %d failed: status %d\n", i + 1,
				WIFEXITED(status[i]) ? WEXITSTATUS(status[i]) : -1);
			failed = 1;
		}
	}
	printf("concurrent: writer wrote %lu frames in %lu blocks\n", (unsigned long)f,
	       (unsigned long)blocks);
	ghostrec_ring_writer_destroy(&w, true);
	CHECK(!failed);
}

int main(void)
{
	char name[64];
	snprintf(name, sizeof(name), "ringtest-%d", (int)getpid());
	char shm[128];
	CHECK(ghostrec_ring_shm_name(shm, 10, "x") == -ENAMETOOLONG);
	CHECK(ghostrec_ring_shm_name(shm, sizeof(shm), "my node/1") == 0);
	CHECK(strstr(shm, "-my_node_1") != NULL);
	CHECK(ghostrec_ring_shm_name(shm, sizeof(shm), "") == -EINVAL);
	test_basic(name);
	test_concurrent(name);
	return 0;
}
