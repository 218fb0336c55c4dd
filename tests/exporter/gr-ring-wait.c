/* Test helper: the node's ring positions, and waiting for the graph to get somewhere (an event,
 * not a sleep: the test goes on when the ring's write position has passed a frame).
 *   gr-ring-wait NODE                 prints "WRITE_FRAME OLDEST_FRAME"
 *   gr-ring-wait NODE FRAME [TIMEOUT] waits until the write position reaches FRAME (default
 *                                     timeout 30 s), then prints the same; exit 1 on timeout */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common/ring.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: gr-ring-wait NODE [FRAME [TIMEOUT]]\n");
		return 2;
	}
	uint64_t until = argc > 2 ? strtoull(argv[2], NULL, 10) : 0;
	double deadline = now() + (argc > 3 ? atof(argv[3]) : 30.0);
	struct ghostrec_ring_reader *r;
	struct ghostrec_ring_info info;
	char err[1024];
	if (ghostrec_ring_reader_open_err(&r, argv[1], err, sizeof(err)) < 0) {
		fprintf(stderr, "gr-ring-wait: %s\n", err);
		return 1;
	}
	for (;;) {
		if (ghostrec_ring_reader_info(r, &info) < 0) {
			fprintf(stderr, "gr-ring-wait: %s: no ring info\n", argv[1]);
			return 1;
		}
		if (info.write_frame >= until)
			break;
		if (now() > deadline) {
			fprintf(stderr, "gr-ring-wait: %s: write frame %" PRIu64 " < %" PRIu64 " at the timeout\n", argv[1],
				info.write_frame, until);
			return 1;
		}
		struct timespec ts = { 0, 2000000 };
		nanosleep(&ts, NULL);
	}
	printf("%" PRIu64 " %" PRIu64 "\n", info.write_frame, info.oldest_frame);
	ghostrec_ring_reader_close(r);
	return 0;
}
