/* Benchmark (prints numbers, asserts nothing): instructions per ghostrec.tap process() cycle
 * against a bare baseline that does only the unavoidable work, both counted by callgrind in
 * the same run (tests/bench/run-bench runs it).
 *
 * The node is loaded and driven in process exactly like the tests do (tests/node/tap-harness.c:
 * real buffers, io areas and a position clock, 2 channels). The baseline is what any tap has to
 * do per cycle: copy each input channel to its output and into the ring (two memcpy per channel).
 *
 * Phases (run under valgrind --tool=callgrind --toggle-collect='tap_process*'
 * --toggle-collect=baseline_cycle, so only those functions and their callees count):
 *   64 warm-up cycles (stats zeroed after them), CYCLES process() cycles -> dump "process",
 *   64 warm-up and CYCLES baseline cycles -> dump "baseline".
 * Outside valgrind the client requests do nothing and the program just runs the cycles.
 *
 * usage: process-bench PLUGIN.so libspa-support.so QUANTUM CYCLES
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <valgrind/callgrind.h>

#include "spa-env.h"
#include "tap-harness.h"

#define CH 2
#define RING_SECONDS "10"
#define RING_FRAMES 480000u

/* The bare baseline: input -> output and input -> ring, per channel. */
__attribute__((noinline)) void baseline_cycle(float *const *out, float *const *ring,
					      const float *const *in, uint32_t n, uint32_t *slot);
__attribute__((noinline)) void baseline_cycle(float *const *out, float *const *ring,
					      const float *const *in, uint32_t n, uint32_t *slot)
{
	uint32_t at = *slot + n <= RING_FRAMES ? *slot : 0;
	for (uint32_t c = 0; c < CH; c++) {
		memcpy(out[c], in[c], n * sizeof(float));
		memcpy(ring[c] + at, in[c], n * sizeof(float));
	}
	*slot = at + n;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s PLUGIN.so libspa-support.so QUANTUM CYCLES\n", argv[0]);
		return 2;
	}
	uint32_t quantum = (uint32_t)atoi(argv[3]);
	long cycles = atol(argv[4]);
	if (quantum < 16 || quantum > TAP_HARNESS_BUFFER_FRAMES || cycles < 1) {
		fprintf(stderr, "process-bench: QUANTUM must be 16-%u and CYCLES >= 1\n",
			TAP_HARNESS_BUFFER_FRAMES);
		return 2;
	}
	char rundir[] = "/tmp/process-bench-XXXXXX";
	if (!mkdtemp(rundir))
		return 1;
	setenv("XDG_RUNTIME_DIR", rundir, 1);

	struct spa_env env;
	spa_env_init(&env, argv[2]);
	char name[64];
	snprintf(name, sizeof(name), "bench-%d", (int)getpid());
	struct spa_dict_item items[] = {
		SPA_DICT_ITEM_INIT("node.name", name),
		SPA_DICT_ITEM_INIT("ghostrec.ring.seconds", RING_SECONDS),
	};
	struct spa_dict info = SPA_DICT_INIT_ARRAY(items);
	static struct tap_harness hs;
	tap_harness_init(&hs, &env, argv[1], &info, CH);

	struct tap_cycle cy = { .duration = quantum };
	for (int i = 0; i < 64; i++)
		tap_harness_cycle(&hs, &cy);
	CALLGRIND_ZERO_STATS;
	for (long i = 0; i < cycles; i++)
		tap_harness_cycle(&hs, &cy);
	CALLGRIND_DUMP_STATS_AT("process");

	float *ring[CH], *out[CH];
	const float *in[CH];
	for (uint32_t c = 0; c < CH; c++) {
		ring[c] = aligned_alloc(64, RING_FRAMES * sizeof(float));
		memset(ring[c], 0, RING_FRAMES * sizeof(float));
		out[c] = hs.out_data[c][0];
		in[c] = hs.in_data[c][0];
	}
	uint32_t slot = 0;
	for (long i = 0; i < 64; i++)
		baseline_cycle(out, ring, in, quantum, &slot);
	CALLGRIND_ZERO_STATS;
	for (long i = 0; i < cycles; i++)
		baseline_cycle(out, ring, in, quantum, &slot);
	CALLGRIND_DUMP_STATS_AT("baseline");

	printf("quantum %u: %ld process() cycles and %ld baseline cycles run\n", quantum, cycles, cycles);
	for (uint32_t c = 0; c < CH; c++)
		free(ring[c]);
	tap_harness_clear(&hs);
	spa_env_clear(&env);
	char path[300];
	snprintf(path, sizeof(path), "%s/pw-ghost-rec", rundir);
	rmdir(path);
	rmdir(rundir);
	return 0;
}
