/* libFuzzer target: one UDP datagram through the exporter's OSC dispatch (bundles, messages,
 * liblo decoding of our addresses). Nothing may crash; every command found is counted. */
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "osc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_cmd(void *d, enum osc_command cmd, const struct sockaddr *from, socklen_t fromlen)
{
	(*(uint64_t *)d)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t seen;
	/* counters persist across inputs, so the log stays rate-limited as in the daemon */
	static struct osc_dispatch d = { .fn = on_cmd, .data = &seen };
	struct sockaddr_in6 from = { .sin6_family = AF_INET6 };
	osc_dispatch_packet(&d, data, size, (const struct sockaddr *)&from, sizeof(from));
	return 0;
}
