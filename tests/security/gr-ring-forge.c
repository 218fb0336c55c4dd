/* What another local user can build: a complete, valid-looking ghostrec ring (header, a marker
 * table entry, samples of a constant value) under any shm name it chooses, with any mode.
 *   gr-ring-forge NODE SHM_NAME MODE    e.g. gr-ring-forge ghostrec /pw-ghost-rec-1000-ghostrec 0644
 * The object is left behind (as a squatter would leave it). Prints its name. */
#include "common/ring.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 4 || argv[2][0] != '/' || strchr(argv[2] + 1, '/')) {
		fprintf(stderr, "usage: gr-ring-forge NODE /SHM_NAME MODE\n");
		return 2;
	}
	unsigned mode = (unsigned)strtoul(argv[3], NULL, 8);
	struct ghostrec_ring_writer w;
	int res = ghostrec_ring_writer_create(&w, argv[1], 48000, 2, NULL, 48000, 0, 1);
	if (res < 0) {
		fprintf(stderr, "gr-ring-forge: %s\n", strerror(-res));
		return 1;
	}
	static float forged[4800];
	for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++)
		forged[i] = 0.5f;
	const float *src[2] = { forged, forged };
	for (int i = 0; i < 10; i++)
		ghostrec_ring_write(&w, src, 4800);
	ghostrec_ring_add_marker(&w, 4242, 0, 100);
	/* move the object to the chosen name (a rename inside /dev/shm, as the owner may) */
	char from[256], to[256];
	snprintf(from, sizeof(from), "/dev/shm%s", w.shm_name);
	snprintf(to, sizeof(to), "/dev/shm%s", argv[2]);
	if (rename(from, to) < 0 || chmod(to, mode) < 0) {
		fprintf(stderr, "gr-ring-forge: %s: %s\n", to, strerror(errno));
		return 1;
	}
	munmap(w.map, w.size);
	close(w.fd);
	printf("%s\n", argv[2]);
	return 0;
}
