/* Clean-take metadata: sidecar JSON round trip and rejection of bad sidecars, the bext
 * description, and the cue point + label in real WAV and RF64 files written by libsndfile. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sndfile.h>

#include "common/takemeta.h"
#include "../unit/check.h"

static void fill(struct ghostrec_takemeta *m)
{
	memset(m, 0, sizeof(*m));
	m->take_id = 4294967295u;
	m->marker_frame = 96000;
	m->rate = 48000;
	m->channels = 2;
	snprintf(m->channel_map[0], sizeof(m->channel_map[0]), "FL");
	snprintf(m->channel_map[1], sizeof(m->channel_map[1]), "FR");
	m->frames = 12345678901ull;
	snprintf(m->start_utc, sizeof(m->start_utc), "2026-11-21T10:08:37.123Z");
	snprintf(m->node, sizeof(m->node), "ghost \"rec\" \\ node");
	snprintf(m->format, sizeof(m->format), "pcm24");
}

static void test_json(void)
{
	struct ghostrec_takemeta m, p;
	char buf[2048], err[256];
	fill(&m);
	int n = ghostrec_takemeta_to_json(&m, buf, sizeof(buf));
	CHECK(n > 0);
	printf("%s\n", buf);
	CHECK(ghostrec_takemeta_from_json(buf, (size_t)n, &p, err, sizeof(err)) == 0);
	CHECK(memcmp(&m, &p, sizeof(m)) == 0);
	CHECK(ghostrec_takemeta_to_json(&m, buf, 40) == -1); /* never truncated silently */

	static const char *const bad[] = {
		"", "[]", "{", "{\"take_id\":1}",
		"{\"take_id\":-1,\"marker_frame\":0,\"rate\":48000,\"channels\":2,\"frames\":1}",
		"{\"take_id\":4294967296,\"marker_frame\":0,\"rate\":48000,\"channels\":2,\"frames\":1}",
		"{\"take_id\":1,\"marker_frame\":1.5,\"rate\":48000,\"channels\":2,\"frames\":1}",
		"{\"take_id\":1,\"marker_frame\":0,\"rate\":0,\"channels\":2,\"frames\":1}",
		"{\"take_id\":1,\"marker_frame\":0,\"rate\":48000,\"channels\":65,\"frames\":1}",
		"{\"take_id\":1,\"marker_frame\":0,\"rate\":48000,\"channels\":2,\"frames\":1,\"channel_map\":[\"FL\"]}",
		"{\"take_id\":1,\"marker_frame\":0,\"rate\":48000,\"channels\":2,\"frames\":1,\"node\":5}",
		"{\"take_id\":\"1\",\"marker_frame\":0,\"rate\":48000,\"channels\":2,\"frames\":1}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK(ghostrec_takemeta_from_json(bad[i], strlen(bad[i]), &p, err, sizeof(err)) < 0);
		CHECK(err[0] != '\0');
		printf("rejected: %s -> %s\n", bad[i], err);
	}
	/* unknown keys are skipped (newer writers) */
	const char *extra = "{\"take_id\":7,\"marker_frame\":3,\"rate\":44100,\"channels\":1,\"frames\":9,"
			    "\"future\":{\"a\":[1,2]},\"format\":\"float32\"}";
	CHECK(ghostrec_takemeta_from_json(extra, strlen(extra), &p, err, sizeof(err)) == 0);
	CHECK(p.take_id == 7 && p.rate == 44100 && p.frames == 9 && !strcmp(p.format, "float32"));
}

static void test_bext(void)
{
	struct ghostrec_takemeta m, p;
	char d[256];
	fill(&m);
	ghostrec_takemeta_bext_description(&m, d, sizeof(d));
	CHECK(!strcmp(d, "ghostrec take_id=4294967295 marker_frame=96000 rate=48000 channels=2"));
	memset(&p, 0, sizeof(p));
	CHECK(ghostrec_takemeta_parse_bext_description(d, &p) == 0);
	CHECK(p.take_id == m.take_id && p.marker_frame == 96000 && p.rate == 48000 && p.channels == 2);
	CHECK(ghostrec_takemeta_parse_bext_description("recorded by REAPER", &p) < 0);
	CHECK(ghostrec_takemeta_parse_bext_description("ghostrec take_id=1 marker_frame=x", &p) < 0);
}

/* A WAV/RF64 written the exporter's way: libsndfile bext, then the cue appended. */
static void write_file(const char *path, int major, int subtype, int frames, uint64_t marker)
{
	SF_INFO info = { .samplerate = 48000, .channels = 1, .format = major | subtype };
	SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
	CHECK(sf != NULL);
	struct ghostrec_takemeta m;
	fill(&m);
	m.marker_frame = marker;
	SF_BROADCAST_INFO bi;
	memset(&bi, 0, sizeof(bi));
	ghostrec_takemeta_bext_description(&m, bi.description, sizeof(bi.description));
	CHECK(sf_command(sf, SFC_SET_BROADCAST_INFO, &bi, sizeof(bi)) == SF_TRUE);
	float *buf = calloc((size_t)frames, sizeof(float));
	for (int i = 0; i < frames; i++)
		buf[i] = (float)(i - frames / 2) / (float)frames;
	CHECK(sf_writef_float(sf, buf, frames) == frames);
	sf_close(sf);
	free(buf);
	CHECK(ghostrec_takemeta_append_cue(path, marker) == 0);
}

static void test_cue(int major, int subtype, int frames)
{
	char path[] = "/tmp/ghostrec-takemeta-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	write_file(path, major, subtype, frames, 777);

	struct ghostrec_takemeta p;
	uint64_t cue = 0;
	char err[256];
	CHECK(ghostrec_takemeta_read_wav(path, &p, &cue, err, sizeof(err)) == 0);
	CHECK_EQ_U64(cue, 777);
	CHECK_EQ_U64(p.marker_frame, 777);
	CHECK_EQ_U64(p.take_id, 4294967295u);

	/* libsndfile still reads the file with every sample, and the container size is right */
	SF_INFO info = { 0 };
	SNDFILE *sf = sf_open(path, SFM_READ, &info);
	CHECK(sf != NULL);
	CHECK_EQ_U64(info.frames, frames);
	float f[1];
	sf_seek(sf, frames - 1, SEEK_SET);
	CHECK(sf_readf_float(sf, f, 1) == 1);
	if (subtype == SF_FORMAT_FLOAT)
		CHECK(f[0] == (float)(frames - 1 - frames / 2) / (float)frames);
	sf_close(sf);
	FILE *fp = fopen(path, "rb");
	unsigned char h[28];
	CHECK(fread(h, 1, 28, fp) == 28);
	fseek(fp, 0, SEEK_END);
	long size = ftell(fp);
	fclose(fp);
	CHECK(size % 2 == 0);
	if (major == SF_FORMAT_WAV) {
		CHECK(!memcmp(h, "RIFF", 4));
		CHECK_EQ_U64(h[4] | h[5] << 8 | h[6] << 16 | (uint32_t)h[7] << 24, size - 8);
	} else {
		CHECK(!memcmp(h, "RF64", 4));
		CHECK_EQ_U64(h[20] | h[21] << 8 | h[22] << 16 | (uint32_t)h[23] << 24, size - 8);
	}
	unlink(path);
}

/* Gaps: add/merge, sidecar round trip, rejection of bad lists, unknown causes kept. */
static void test_gaps_json(void)
{
	struct ghostrec_takemeta m, p;
	char err[256];
	fill(&m);
	CHECK(ghostrec_takemeta_add_gap(&m, 5000, 100, GHOSTREC_GAP_RING_OVERRUN) == 0);
	CHECK(ghostrec_takemeta_add_gap(&m, 1000, 10, GHOSTREC_GAP_EXPORTER_DOWN) == 0);
	CHECK(ghostrec_takemeta_add_gap(&m, 8000000000ull, 7, "a-cause-from-a-newer-writer-that-is-long") == 0);
	CHECK(ghostrec_takemeta_add_gap(&m, 1, 0, NULL) == -EINVAL);
	CHECK(ghostrec_takemeta_add_gap(&m, UINT64_MAX, 2, NULL) == -EINVAL);
	CHECK_EQ_U64(m.n_gaps, 3);
	CHECK_EQ_U64(m.gaps[0].frame, 1000);
	CHECK(!strcmp(m.gaps[0].cause, "exporter-down"));
	CHECK_EQ_U64(m.gaps[2].frame, 8000000000ull);
	CHECK(strlen(m.gaps[2].cause) == sizeof(m.gaps[2].cause) - 1);
	/* touching / overlapping gaps merge into one */
	CHECK(ghostrec_takemeta_add_gap(&m, 5100, 50, GHOSTREC_GAP_DISK_FULL) == 0);
	CHECK(ghostrec_takemeta_add_gap(&m, 990, 4100, GHOSTREC_GAP_NODE_GONE) == 0);
	CHECK_EQ_U64(m.n_gaps, 2);
	CHECK_EQ_U64(m.gaps[0].frame, 990);
	CHECK_EQ_U64(m.gaps[0].frames, 5150 - 990);
	CHECK(!strcmp(m.gaps[0].cause, "node-gone"));

	size_t size = ghostrec_takemeta_json_size(&m);
	char *buf = malloc(size);
	int n = ghostrec_takemeta_to_json(&m, buf, size);
	CHECK(n > 0);
	printf("%s\n", buf);
	CHECK(strstr(buf, "\"gaps\":[{\"frame\":990,\"frames\":4160,\"cause\":\"node-gone\"}") != NULL);
	CHECK(ghostrec_takemeta_from_json(buf, (size_t)n, &p, err, sizeof(err)) == 0);
	CHECK_EQ_U64(p.n_gaps, 2);
	CHECK(!memcmp(p.gaps, m.gaps, 2 * sizeof(*m.gaps)));
	ghostrec_takemeta_clear(&p);
	CHECK(p.gaps == NULL && p.n_gaps == 0);
	free(buf);

	/* a sidecar file with many gaps (larger than any fixed buffer) */
	char path[] = "/tmp/ghostrec-takemeta-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	for (uint64_t i = 0; i < 2000; i++)
		CHECK(ghostrec_takemeta_add_gap(&m, 100000 + i * 10, 5, GHOSTREC_GAP_DISK_FULL) == 0);
	CHECK(ghostrec_takemeta_write_sidecar(path, &m) == 0);
	CHECK(ghostrec_takemeta_read_sidecar(path, &p, err, sizeof(err)) == 0);
	CHECK_EQ_U64(p.n_gaps, 2002);
	CHECK_EQ_U64(p.gaps[1000].frame, 100000 + 999 * 10);
	ghostrec_takemeta_clear(&p);
	ghostrec_takemeta_clear(&m);
	unlink(path);

	static const char *const head = "{\"take_id\":1,\"marker_frame\":0,\"rate\":48000,\"channels\":1,\"frames\":9,";
	static const char *const bad[] = {
		"\"gaps\":5}", "\"gaps\":[{\"frame\":1}]}", "\"gaps\":[{\"frame\":1,\"frames\":0}]}",
		"\"gaps\":[{\"frame\":-1,\"frames\":2}]}", "\"gaps\":[{\"frame\":10,\"frames\":5},{\"frame\":12,\"frames\":5}]}",
		"\"gaps\":[{\"frame\":10,\"frames\":5},{\"frame\":2,\"frames\":5}]}",
		"\"gaps\":[{\"frame\":1,\"frames\":2,\"cause\":3}]}",
		"\"gaps\":[{\"frame\":18446744073709551615,\"frames\":2}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char j[512];
		snprintf(j, sizeof(j), "%s%s", head, bad[i]);
		err[0] = '\0';
		CHECK(ghostrec_takemeta_from_json(j, strlen(j), &p, err, sizeof(err)) < 0);
		CHECK(err[0] != '\0' && p.gaps == NULL);
		printf("rejected: %s -> %s\n", bad[i], err);
	}
	static const char *const good[] = {
		"\"gaps\":[]}", "\"gaps\":[{\"frame\":3,\"frames\":4,\"cause\":\"solar-flare\",\"later\":[1]}]}",
	};
	for (size_t i = 0; i < 2; i++) {
		char j[512];
		snprintf(j, sizeof(j), "%s%s", head, good[i]);
		CHECK(ghostrec_takemeta_from_json(j, strlen(j), &p, err, sizeof(err)) == 0);
		CHECK_EQ_U64(p.n_gaps, i);
		if (i == 1)
			CHECK(!strcmp(p.gaps[0].cause, "solar-flare") && p.gaps[0].frame == 3 && p.gaps[0].frames == 4);
		ghostrec_takemeta_clear(&p);
	}
}

/* Gaps in the WAV itself: cue + ltxt region + labl "ghostrec-gap:CAUSE", WAV and RF64. */
static void test_gaps_wav(int major, int subtype)
{
	char path[] = "/tmp/ghostrec-takemeta-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	SF_INFO info = { .samplerate = 48000, .channels = 2, .format = major | subtype };
	SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
	CHECK(sf != NULL);
	struct ghostrec_takemeta m, p;
	fill(&m);
	m.marker_frame = 480;
	SF_BROADCAST_INFO bi;
	memset(&bi, 0, sizeof(bi));
	ghostrec_takemeta_bext_description(&m, bi.description, sizeof(bi.description));
	CHECK(sf_command(sf, SFC_SET_BROADCAST_INFO, &bi, sizeof(bi)) == SF_TRUE);
	float buf[2 * 3001] = {0};
	CHECK(sf_writef_float(sf, buf, 3001) == 3001);
	sf_close(sf);
	CHECK(ghostrec_takemeta_add_gap(&m, 1000, 333, GHOSTREC_GAP_EXPORTER_DOWN) == 0);
	CHECK(ghostrec_takemeta_add_gap(&m, 2000, 1001, "new-cause") == 0);
	CHECK(ghostrec_takemeta_add_gap(&m, 5000000000ull, 9, GHOSTREC_GAP_DISK_FULL) == 0); /* past 32 bits */
	CHECK(ghostrec_takemeta_append_cues(path, &m) == 0);
	uint64_t cue;
	char err[256];
	CHECK(ghostrec_takemeta_read_wav(path, &p, &cue, err, sizeof(err)) == 0);
	CHECK_EQ_U64(cue, 480);
	CHECK_EQ_U64(p.n_gaps, 2);
	CHECK(p.gaps[0].frame == 1000 && p.gaps[0].frames == 333 && !strcmp(p.gaps[0].cause, "exporter-down"));
	CHECK(p.gaps[1].frame == 2000 && p.gaps[1].frames == 1001 && !strcmp(p.gaps[1].cause, "new-cause"));
	ghostrec_takemeta_clear(&p);
	ghostrec_takemeta_clear(&m);
	sf = sf_open(path, SFM_READ, &info);
	CHECK(sf != NULL);
	CHECK_EQ_U64(info.frames, 3001);
	sf_close(sf);
	unlink(path);
}

static void test_errors(void)
{
	struct ghostrec_takemeta p;
	uint64_t cue;
	char err[256];
	CHECK(ghostrec_takemeta_read_wav("/nonexistent/x.wav", &p, &cue, err, sizeof(err)) < 0);
	CHECK(ghostrec_takemeta_append_cue("/nonexistent/x.wav", 1) == -ENOENT);
	CHECK(ghostrec_takemeta_append_cue("/etc/hostname", 1) == -EINVAL);
	CHECK(ghostrec_takemeta_read_wav("/etc/hostname", &p, &cue, err, sizeof(err)) < 0);
	printf("not a wav: %s\n", err);
}

static void test_names(void)
{
	char b[64];
	ghostrec_take_wav_name(b, sizeof(b), 42, -1);
	CHECK(!strcmp(b, "ghostrec-42.wav"));
	ghostrec_take_wav_name(b, sizeof(b), 42, 3);
	CHECK(!strcmp(b, "ghostrec-42-ch3.wav"));
	ghostrec_take_sidecar_name(b, sizeof(b), 42);
	CHECK(!strcmp(b, "ghostrec-42.json"));
}

int main(void)
{
	test_json();
	test_bext();
	test_cue(SF_FORMAT_WAV, SF_FORMAT_FLOAT, 1001);
	test_cue(SF_FORMAT_WAV, SF_FORMAT_PCM_24, 1001); /* odd data size: pad byte before the cue */
	test_cue(SF_FORMAT_RF64, SF_FORMAT_FLOAT, 500);
	test_gaps_json();
	test_gaps_wav(SF_FORMAT_WAV, SF_FORMAT_PCM_24);
	test_gaps_wav(SF_FORMAT_RF64, SF_FORMAT_FLOAT);
	test_errors();
	test_names();
	return check_report("test-takemeta");
}
