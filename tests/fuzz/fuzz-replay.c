/* Runs libFuzzer targets' inputs (corpus files given on the command line, plus generated junk)
 * through the target in a normal build, so every build exercises the parsers' bad-input paths. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "cannot open %s\n", path);
		exit(1);
	}
	static uint8_t buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	/* Every prefix too: truncated messages are the most common junk. */
	for (size_t i = 0; i < n; i++)
		LLVMFuzzerTestOneInput(buf, i);
	return n;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		run_file(argv[i]);
	/* Deterministic junk: random bytes, and random mutations of a valid JSON object. */
	static const char seed[] = "{\"ghostrec\":1,\"req\":\"set\",\"marker_channels\":[0,1],"
				   "\"marker_amplitude\":0.25,\"node\":\"a\\\"b\",\"x\":{\"y\":[1]}}";
	/* JSON-ish bytes, so the junk reaches deep into the parsers. */
	static const char alphabet[] = "{}[]\":,0123456789 truefalsnu\\.-e\x80\xff";
	uint8_t buf[8192];
	uint32_t s = 12345;
	for (int iter = 0; iter < 200000; iter++) {
		size_t n;
		if (iter % 2) {
			n = sizeof(seed) - 1;
			memcpy(buf, seed, n);
			for (int k = 0; k < 1 + iter % 4; k++) {
				s = s * 1664525u + 1013904223u;
				buf[(s >> 8) % n] = (uint8_t)(s >> 24);
			}
			n = (s >> 4) % (n + 1);
		} else {
			s = s * 1664525u + 1013904223u;
			n = (s >> 8) % sizeof(buf);
			for (size_t k = 0; k < n; k++) {
				s = s * 1664525u + 1013904223u;
				buf[k] = (uint8_t)alphabet[(s >> 16) % (sizeof(alphabet) - 1)];
			}
		}
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("replayed %d inputs and 200000 generated ones\n", argc - 1);
	return 0;
}
