/* Decodes the sync marker in audio files with the C codec, so the Lua decoder can be
 * checked against it frame for frame:
 *   ghostrec-marker-probe FILE...
 * prints, per file, "<take_id> <channel> <frame> <take channel>" of the first marker found
 * (channel by channel, whole file, tolerance for the file's format), or "none". */
#include <stdio.h>
#include <stdlib.h>

#include "common/audiofile.h"
#include "common/marker.h"

static void probe(const char *path)
{
	char err[512];
	struct ghostrec_audiofile *af = ghostrec_audiofile_open(path, err, sizeof(err));
	if (!af) {
		printf("error %s\n", err);
		return;
	}
	const struct ghostrec_audioinfo *info = ghostrec_audiofile_info(af);
	float *buf = malloc(sizeof(float) * (size_t)info->frames * (size_t)info->channels);
	if (!buf || ghostrec_audiofile_read(af, 0, info->frames, buf) != 0) {
		printf("error read\n");
		free(buf);
		ghostrec_audiofile_close(af);
		return;
	}
	float tol = ghostrec_marker_tolerance(info->is_float ? 32 : info->bits);
	struct ghostrec_marker_match m;
	int found = 0;
	for (int k = 0; k < info->channels && !found; k++) {
		if (ghostrec_marker_find(buf + k, (size_t)info->frames, (size_t)info->channels, tol, &m)) {
			printf("%u %u %llu %d\n", m.marker.take_id, (unsigned)m.marker.channel,
			       (unsigned long long)m.frame, k);
			found = 1;
		}
	}
	if (!found)
		printf("none\n");
	free(buf);
	ghostrec_audiofile_close(af);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		probe(argv[i]);
	return 0;
}
