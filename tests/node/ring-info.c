/* Prints a ghostrec node's ring: format, positions, counters, markers, and optionally the last
 * N frames of channel 0. Debug aid for tests and users: ring-info NODE [N] */
#include "common/ring.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s NODE [FRAMES]\n", argv[0]);
		return 2;
	}
	struct ghostrec_ring_reader *r;
	struct ghostrec_ring_info info;
	char err[1024];
	int res = ghostrec_ring_reader_open_err(&r, argv[1], err, sizeof(err));
	if (res < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if ((res = ghostrec_ring_reader_info(r, &info)) < 0) {
		fprintf(stderr, "%s: %s\n", argv[1], ghostrec_ring_result_str(res));
		return 1;
	}
	struct ghostrec_ring_counter_values v;
	ghostrec_ring_reader_counters(r, &v);
	printf("%s: rate=%u channels=%u capacity=%lu generation=%lu write_frame=%lu oldest=%lu\n",
	       info.shm_name, info.rate, info.channels, (unsigned long)info.capacity,
	       (unsigned long)info.generation, (unsigned long)info.write_frame,
	       (unsigned long)info.oldest_frame);
	printf("cycles=%lu xruns=%lu overruns=%lu max_process_ns=%lu format_changes=%lu markers=%lu "
	       "quantum=%lu\n", (unsigned long)v.cycles, (unsigned long)v.xruns,
	       (unsigned long)v.overruns, (unsigned long)v.max_process_ns,
	       (unsigned long)v.format_changes, (unsigned long)v.markers, (unsigned long)v.last_quantum);
	struct ghostrec_ring_marker mk[GHOSTREC_RING_MAX_MARKERS];
	uint64_t total;
	size_t n = ghostrec_ring_reader_markers(r, mk, GHOSTREC_RING_MAX_MARKERS, &total);
	for (size_t i = 0; i < n; i++)
		printf("marker take_id=%u channel=%u frame=%lu\n", mk[i].take_id, mk[i].channel,
		       (unsigned long)mk[i].frame);
	if (argc > 2 && info.write_frame > 0) {
		uint32_t want = (uint32_t)strtoul(argv[2], NULL, 10);
		if (want > info.write_frame - info.oldest_frame)
			want = (uint32_t)(info.write_frame - info.oldest_frame);
		float *buf = calloc(want ? want : 1, sizeof(float));
		res = ghostrec_ring_read(r, info.generation, 0, info.write_frame - want, buf, want);
		printf("last %u frames of channel 0: %s\n", want, ghostrec_ring_result_str(res));
		for (uint32_t i = 0; res == GHOSTREC_RING_OK && i < want; i++)
			printf("%.9g\n", (double)buf[i]);
		free(buf);
	}
	ghostrec_ring_reader_close(r);
	return 0;
}
