/* The clean take file as it is written: a reader (libsndfile) sees every synced frame at any
 * moment (periodic header updates), a crash leaves a file that reopens with what it holds (a torn
 * frame cut off), finishing patches sizes and bext (pad byte for odd data, RF64 past the RIFF
 * limit), 24-bit samples are libsndfile's own conversion, and a file not made here is refused. */
#include <errno.h>
#include <fcntl.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "takefile.h"
#include "../unit/check.h"

static char dir[] = "/tmp/gr-takefile-XXXXXX";

static float sample(uint64_t i, uint32_t c)
{
	return (float)((int)((i * 7919 + c * 104729) % 2001) - 1000) / 1000.0f;
}

static void fill(float *buf, uint64_t from, uint32_t n, uint32_t ch)
{
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t c = 0; c < ch; c++)
			buf[i * ch + c] = sample(from + i, c);
}

/* frames libsndfile reads from path (-1: it cannot open it); into: the samples, if not NULL */
static long long read_back(const char *path, float *into, size_t max_frames, int *channels)
{
	SF_INFO info;
	memset(&info, 0, sizeof(info));
	SNDFILE *sf = sf_open(path, SFM_READ, &info);
	if (!sf)
		return -1;
	if (channels)
		*channels = info.channels;
	long long n = info.frames;
	if (into)
		n = sf_readf_float(sf, into, (sf_count_t)max_frames);
	sf_close(sf);
	return n;
}

static int same_floats(const float *a, const float *b, size_t n)
{
	return memcmp(a, b, n * sizeof(float)) == 0;
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	char path[256];
	struct takefile f;
	float in[4000 * 2], out[4000 * 2];
	int ch = 0;

	/* float32 stereo: the header follows every sync */
	snprintf(path, sizeof(path), "%s/float.wav", dir);
	CHECK(takefile_create(&f, path, 48000, 2, false) == 0);
	CHECK_EQ_U64(read_back(path, NULL, 0, NULL), 0);
	fill(in, 0, 1000, 2);
	CHECK(takefile_append(&f, in, 2, -1, 1000) == 0);
	CHECK(takefile_sync(&f) == 0);
	CHECK_EQ_U64(read_back(path, out, 4000, &ch), 1000);
	CHECK(ch == 2 && same_floats(in, out, 2000));
	fill(in, 1000, 500, 2);
	CHECK(takefile_append(&f, in, 2, -1, 500) == 0);
	CHECK_EQ_U64(read_back(path, NULL, 0, NULL), 1000); /* not synced yet: the header says 1000 */
	CHECK(takefile_sync(&f) == 0);
	CHECK_EQ_U64(read_back(path, NULL, 0, NULL), 1500);
	CHECK(takefile_append(&f, NULL, 2, -1, 10) == 0); /* silence */
	CHECK(takefile_finish(&f, "ghostrec test", "2026-12-01T12:34:56Z", 42) == 0);
	CHECK_EQ_U64(read_back(path, out, 4000, NULL), 1510);
	fill(in, 0, 1500, 2);
	CHECK(same_floats(in, out, 3000));
	CHECK(out[3000] == 0.0f && out[3019] == 0.0f);
	SF_INFO si;
	memset(&si, 0, sizeof(si));
	SNDFILE *sf = sf_open(path, SFM_READ, &si);
	SF_BROADCAST_INFO bi;
	memset(&bi, 0, sizeof(bi));
	CHECK(sf && sf_command(sf, SFC_GET_BROADCAST_INFO, &bi, sizeof(bi)) == SF_TRUE);
	CHECK(strcmp(bi.description, "ghostrec test") == 0 && strncmp(bi.originator_reference, "ghostrec-42", 11) == 0);
	CHECK(strncmp(bi.origination_date, "2026-12-01", 10) == 0 && strncmp(bi.origination_time, "12:34:56", 8) == 0);
	if (sf)
		sf_close(sf);

	/* 24-bit mono from channel 1 of a stereo stream, odd frame count: pad byte at finish, samples
	 * exactly what libsndfile writes for the same floats */
	snprintf(path, sizeof(path), "%s/pcm24.wav", dir);
	char ref[256];
	snprintf(ref, sizeof(ref), "%s/pcm24-ref.wav", dir);
	CHECK(takefile_create(&f, path, 44100, 1, true) == 0);
	fill(in, 0, 777, 2);
	in[2 * 5 + 1] = 1.5f;  /* clipped */
	in[2 * 6 + 1] = -1.5f;
	CHECK(takefile_append(&f, in, 2, 1, 777) == 0);
	CHECK(takefile_append(&f, in, 2, 2, 1) == -EINVAL); /* no channel 2 */
	CHECK(takefile_sync(&f) == 0);
	CHECK_EQ_U64(read_back(path, NULL, 0, NULL), 777);
	CHECK(takefile_finish(&f, "", NULL, 1) == 0);
	SF_INFO ri = {.samplerate = 44100, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_24};
	SNDFILE *rs = sf_open(ref, SFM_WRITE, &ri);
	CHECK(rs != NULL);
	float mono[777];
	for (int i = 0; i < 777; i++)
		mono[i] = in[2 * i + 1];
	if (rs) {
		sf_command(rs, SFC_SET_CLIPPING, NULL, SF_TRUE);
		sf_writef_float(rs, mono, 777);
		sf_close(rs);
	}
	int a[777], b[777];
	SF_INFO ai, bi2;
	memset(&ai, 0, sizeof(ai));
	memset(&bi2, 0, sizeof(bi2));
	SNDFILE *sa = sf_open(path, SFM_READ, &ai), *sb = sf_open(ref, SFM_READ, &bi2);
	CHECK(sa && sb && ai.frames == 777 && bi2.frames == 777);
	if (sa && sb) {
		CHECK(sf_readf_int(sa, a, 777) == 777 && sf_readf_int(sb, b, 777) == 777);
		CHECK(memcmp(a, b, sizeof(a)) == 0);
	}
	if (sa)
		sf_close(sa);
	if (sb)
		sf_close(sb);

	/* a crash: closed without finish, a torn frame at the end; reopen keeps the whole frames */
	snprintf(path, sizeof(path), "%s/crash.wav", dir);
	CHECK(takefile_create(&f, path, 48000, 2, false) == 0);
	fill(in, 0, 300, 2);
	CHECK(takefile_append(&f, in, 2, -1, 300) == 0);
	CHECK(takefile_sync(&f) == 0);
	fill(in, 300, 200, 2);
	CHECK(takefile_append(&f, in, 2, -1, 200) == 0); /* on disk, never synced */
	takefile_close(&f);
	int fd = open(path, O_WRONLY | O_APPEND);
	CHECK(fd >= 0 && write(fd, "torn!", 5) == 5);
	if (fd >= 0)
		close(fd);
	CHECK_EQ_U64(read_back(path, NULL, 0, NULL), 300); /* plays as it is, up to the last sync */
	CHECK(takefile_reopen(&f, path, 48000, 2, false) == 0);
	CHECK_EQ_U64(f.frames, 500);
	fill(in, 500, 100, 2);
	CHECK(takefile_append(&f, in, 2, -1, 100) == 0);
	CHECK(takefile_finish(&f, "", NULL, 2) == 0);
	CHECK_EQ_U64(read_back(path, out, 4000, NULL), 600);
	fill(in, 0, 600, 2);
	CHECK(same_floats(in, out, 1200));
	CHECK(takefile_reopen(&f, path, 48000, 1, false) == -EPROTO); /* not the format it was made with */

	/* a file this exporter did not make */
	snprintf(path, sizeof(path), "%s/foreign.wav", dir);
	SF_INFO fi = {.samplerate = 48000, .channels = 2, .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
	SNDFILE *fs = sf_open(path, SFM_WRITE, &fi);
	if (fs) {
		sf_writef_float(fs, in, 100);
		sf_close(fs);
	}
	CHECK(takefile_reopen(&f, path, 48000, 2, false) == -EPROTO);

	/* past the RIFF limit: RF64 with a ds64 chunk, read back whole */
	uint64_t limit = takefile_riff_limit;
	takefile_riff_limit = 4000;
	snprintf(path, sizeof(path), "%s/rf64.wav", dir);
	CHECK(takefile_create(&f, path, 48000, 2, false) == 0);
	fill(in, 0, 1000, 2);
	CHECK(takefile_append(&f, in, 2, -1, 1000) == 0);
	CHECK(takefile_sync(&f) == 0);
	CHECK(takefile_finish(&f, "", NULL, 3) == 0);
	char magic[4] = {0};
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0 && read(fd, magic, 4) == 4 && memcmp(magic, "RF64", 4) == 0);
	if (fd >= 0)
		close(fd);
	CHECK_EQ_U64(read_back(path, out, 4000, NULL), 1000);
	CHECK(same_floats(in, out, 2000));
	/* a finish that failed after the RF64 patch (the sidecar did not fit): reopened, finished again */
	CHECK(takefile_reopen(&f, path, 48000, 2, false) == 0);
	CHECK_EQ_U64(f.frames, 1000);
	CHECK(takefile_finish(&f, "", NULL, 3) == 0);
	CHECK_EQ_U64(read_back(path, out, 4000, NULL), 1000);
	CHECK(same_floats(in, out, 2000));
	takefile_riff_limit = limit;

	const char *names[] = {"float.wav", "pcm24.wav", "pcm24-ref.wav", "crash.wav", "foreign.wav", "rf64.wav"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
	return check_report("test-takefile");
}
