/* The PWAR router model against hand-worked packet sequences.
 *
 * Packets are 64 frames; packet k carries stream frames 64k..64k+63 and each sample is its own
 * stream frame, so a delivered block can be read back as the list of packets REAPER got. The
 * expected takes below were worked out by hand from PWAR's router rules (pwar-router.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pwar-router.h"

#define CHUNK 64
#define MAX_TAKE 256

struct take {
	int64_t chunks[MAX_TAKE];  /* packet per take chunk; -1 = zeros */
	int n;
	int bad;
};

static void on_block(void *data, const float *samples, const int64_t *frames, uint32_t n)
{
	struct take *t = data;
	for (uint32_t i = 0; i < n; i += CHUNK) {
		int64_t c = frames[i] < 0 ? -1 : frames[i] / CHUNK;
		for (uint32_t j = i; j < i + CHUNK && j < n; j++) {
			int64_t want = c < 0 ? -1 : c * CHUNK + (int64_t)(j - i);
			float sv = c < 0 ? 0.0f : (float)want;
			if (frames[j] != want || samples[j] != sv)
				t->bad++;
		}
		if (t->n < MAX_TAKE)
			t->chunks[t->n++] = c;
	}
}

/* "100-103 108 -1": packets (ranges) and zero chunks. */
static int parse(const char *spec, int64_t *out)
{
	int n = 0;
	const char *p = spec;
	while (*p) {
		char *end;
		long a = strtol(p, &end, 10), b = a;
		if (end == p)
			break;
		p = end;
		if (*p == '-' && p[1] >= '0' && p[1] <= '9') {
			b = strtol(p + 1, &end, 10);
			p = end;
		}
		for (long k = a; k <= b; k++)
			out[n++] = k;
		while (*p == ' ')
			p++;
	}
	return n;
}

static int failures;

static void run(const char *name, enum pwar_model_mode mode, uint32_t block, const char *arrivals,
		const char *expected)
{
	static struct pwar_model m;
	struct take t;
	memset(&t, 0, sizeof(t));
	if (pwar_model_init(&m, mode, block, 1, on_block, &t) != 0) {
		printf("FAIL %s: init\n", name);
		failures++;
		return;
	}
	int64_t seqs[MAX_TAKE], want[MAX_TAKE];
	int ns = parse(arrivals, seqs), nw = parse(expected, want);
	float samples[CHUNK];
	for (int i = 0; i < ns; i++) {
		for (int j = 0; j < CHUNK; j++)
			samples[j] = (float)(seqs[i] * CHUNK + j);
		pwar_model_packet(&m, (uint64_t)seqs[i], samples, seqs[i] * CHUNK, CHUNK);
	}
	int ok = t.bad == 0 && t.n == nw && memcmp(t.chunks, want, sizeof(int64_t) * (size_t)nw) == 0;
	printf("%s %s: arrivals [%s] -> take [", ok ? "ok  " : "FAIL", name, arrivals);
	for (int i = 0; i < t.n; i++)
		printf("%s%lld", i ? " " : "", (long long)t.chunks[i]);
	printf("]");
	if (!ok) {
		printf(", expected [%s]%s", expected, t.bad ? ", samples wrong" : "");
		failures++;
	}
	printf("\n");
}

static void expect_result(const char *name, enum pwar_model_mode mode, uint32_t block, uint32_t n, int want)
{
	static struct pwar_model m;
	struct take t;
	memset(&t, 0, sizeof(t));
	pwar_model_init(&m, mode, block, 1, on_block, &t);
	static float samples[512];
	int got = 0;
	for (int i = 0; i < 8; i++)
		got = pwar_model_packet(&m, (uint64_t)(100 + i), samples, (int64_t)(100 + i) * n, n);
	int ok = got == want && (want != PWAR_MODEL_TOO_BIG || (t.n == 0 && m.refused == 8));
	printf("%s %s: %s\n", ok ? "ok  " : "FAIL", name, pwar_model_result_str(got));
	if (!ok)
		failures++;
}

int main(void)
{
	const enum pwar_model_mode M = PWAR_MODEL_MASTER, P = PWAR_MODEL_PER_PACKET;
	/* ASIO block 256 = N 4 packets of 64 */
	run("clean", M, 256, "100-111", "100-111");
	run("lost middle packet drops its block", M, 256, "100-104 106-115", "100-103 108-115");
	run("lost last packet drops its block", M, 256, "100-106 108-115", "100-103 108-115");
	run("lost first packet drops one chunk, grid re-anchors", M, 256, "100-103 105-116",
	    "100-103 105-108 109-112 113-116");
	run("reordered across blocks costs 2N-1 chunks", M, 256, "100-102 104 103 105-114",
	    "107-110 111-114");
	run("reordered within a block costs nothing", M, 256, "100 102 101 103-107", "100-107");
	run("late duplicate repeats the whole block", M, 256, "100-103 103 104-107", "100-103 100-103 104-107");
	run("duplicate inside its block is ignored", M, 256, "100 101 101 102-107", "100-107");
	run("duplicate after the next block began", M, 256, "100-105 103 106-110", "100-103 107-110");
	run("startup: the grid anchors where PWAR's does", M, 256, "0-10", "3-6 7-10");
	/* ASIO block = one packet: every packet is a block, a late one swaps */
	run("block of one packet: reorder swaps", M, 64, "100 102 101 103", "100 102 101 103");
	run("block of one packet: duplicate repeats", M, 64, "100 101 101 102", "100 101 101 102");
	/* v0.1 / PR #4: one bufferSwitch per packet */
	run("per packet: reorder swaps two blocks", P, 64, "100 102 101 103 104", "100 102 101 103 104");
	run("per packet: duplicate repeats a block", P, 64, "100 101 101 102", "100 101 101 102");
	run("per packet: loss drops a block", P, 64, "100 101 103", "100 101 103");
	run("per packet: block larger than a packet is zero-filled", P, 128, "100 101", "100 -1 101 -1");
	expect_result("quantum 256 > 128 is refused, nothing arrives", M, 512, 256, PWAR_MODEL_TOO_BIG);
	expect_result("quantum 256 > 128 is refused (per packet)", P, 512, 256, PWAR_MODEL_TOO_BIG);
	expect_result("packet larger than the block", M, 64, 128, PWAR_MODEL_CHUNK_TOO_BIG);
	expect_result("block not a multiple of the packet", M, 320, 128, PWAR_MODEL_UNMODELLED);
	expect_result("128 into 512: fourth packet completes", M, 512, 128, PWAR_MODEL_DELIVERED);
	printf("%s: %d failures\n", failures ? "FAILED" : "PASSED", failures);
	return failures ? 1 : 0;
}
