/* The clean excerpt of a journal for a take (see sync-journal.h). */
#include "sync-journal.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/journal.h"
#include "common/journal_find.h"

#define SET_ERR(...) do { if (err && errsize) snprintf(err, errsize, __VA_ARGS__); } while (0)
#define MAX_JOURNALS 64
#define COPY_FRAMES 16384u

static int is_journal(const char *dir)
{
	char p[4200];
	struct stat st;
	snprintf(p, sizeof(p), "%s/index", dir);
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The journal directories under dir (dir itself, dir/NODE, dir/journal/NODE). */
static int list_journals(const char *dir, const char *node, char (*out)[4096], int max)
{
	int n = 0;
	if (is_journal(dir)) {
		const char *base = strrchr(dir, '/');
		base = base ? base + 1 : dir;
		if (!node || !strcmp(base, node))
			snprintf(out[n++], 4096, "%s", dir);
		return n;
	}
	for (int pass = 0; pass < 2 && n < max; pass++) {
		char parent[4096];
		snprintf(parent, sizeof(parent), pass ? "%s/journal" : "%s", dir);
		DIR *d = opendir(parent);
		if (!d)
			continue;
		struct dirent *e;
		while ((e = readdir(d)) != NULL && n < max) {
			if (e->d_name[0] == '.' || (node && strcmp(e->d_name, node)))
				continue;
			char p[4096];
			if (snprintf(p, sizeof(p), "%s/%s", parent, e->d_name) >= (int)sizeof(p))
				continue;
			if (is_journal(p))
				snprintf(out[n++], 4096, "%s", p);
		}
		closedir(d);
	}
	return n;
}

/* Probes from the take's first channel. Returns how many (buf holds their samples). */
static size_t take_probes(struct ghostrec_audiofile *take, struct ghostrec_jfind_probe *p, float *buf,
			  float *frame_buf)
{
	const struct ghostrec_audioinfo *ti = ghostrec_audiofile_info(take);
	int64_t starts[GHOSTREC_JFIND_MAX_PROBES];
	size_t n = ghostrec_jfind_probe_starts(ti->frames, (uint32_t)ti->rate, starts, GHOSTREC_JFIND_MAX_PROBES);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (ghostrec_audiofile_read(take, starts[i], GHOSTREC_JFIND_PROBE_FRAMES, frame_buf) != 0)
			continue;
		float *x = buf + k * GHOSTREC_JFIND_PROBE_FRAMES;
		for (uint32_t f = 0; f < GHOSTREC_JFIND_PROBE_FRAMES; f++)
			x[f] = frame_buf[(size_t)f * (size_t)ti->channels];
		p[k++] = (struct ghostrec_jfind_probe){ starts[i], x, GHOSTREC_JFIND_PROBE_FRAMES };
	}
	return n ? k : 0;
}

/* Writes [from, to) of instance `inst` as a float32 file; what is not held becomes gaps. */
static int write_excerpt(struct ghostrec_journal *j, uint64_t inst, uint32_t rate, uint32_t channels, uint64_t from,
			 uint64_t to, const char *path, struct ghostrec_takemeta *gaps, char *err, size_t errsize)
{
	struct ghostrec_audioinfo like = { .rate = (int)rate, .channels = (int)channels, .bits = 32, .is_float = 1 };
	uint64_t bytes = (to - from) * channels * 4u;
	like.format = (bytes > 0x7fffff00ull ? SF_FORMAT_RF64 : SF_FORMAT_WAV) | SF_FORMAT_FLOAT;
	struct ghostrec_audiofile *out = ghostrec_audiofile_create_like(path, &like, (int)channels, err, errsize);
	if (!out)
		return -1;
	float *buf = calloc((size_t)COPY_FRAMES * channels, sizeof(float));
	int rc = buf ? 0 : -1;
	if (!buf)
		SET_ERR("out of memory");
	for (uint64_t pos = from; rc == 0 && pos < to;) {
		uint64_t n;
		const struct ghostrec_journal_seg *seg;
		char cause[GHOSTREC_JOURNAL_CAUSE_MAX] = "other";
		enum ghostrec_journal_where w = ghostrec_journal_locate(j, inst, pos, &n, &seg, cause);
		if (w == GHOSTREC_JOURNAL_NOT_YET || w == GHOSTREC_JOURNAL_UNKNOWN || n > to - pos)
			n = to - pos;
		if (n > COPY_FRAMES)
			n = COPY_FRAMES;
		if (w == GHOSTREC_JOURNAL_DATA && seg->channels == channels) {
			int e = ghostrec_journal_read(j, seg, pos, (uint32_t)n, buf);
			if (e < 0) {
				SET_ERR("%s: %s", j->dir, strerror(-e));
				rc = -1;
				break;
			}
		} else {
			memset(buf, 0, (size_t)n * channels * sizeof(float));
			if (ghostrec_takemeta_add_gap(gaps, pos - from, n, w == GHOSTREC_JOURNAL_HOLE ? cause : "other") < 0) {
				SET_ERR("out of memory");
				rc = -1;
				break;
			}
		}
		if (ghostrec_audiofile_write(out, buf, (int64_t)n) != 0) {
			SET_ERR("%s: write failed", path);
			rc = -1;
		}
		pos += n;
	}
	free(buf);
	if (ghostrec_audiofile_close(out) != 0 && rc == 0) {
		SET_ERR("%s: write failed", path);
		rc = -1;
	}
	return rc;
}

int sync_journal_excerpt(struct ghostrec_audiofile *take, const char *dir, const char *node, const char *out_wav,
			 struct ghostrec_takemeta *gaps, char *where, size_t wsize, char *err, size_t errsize)
{
	static char dirs[MAX_JOURNALS][4096];
	int nd = list_journals(dir, node, dirs, MAX_JOURNALS);
	if (nd == 0) {
		SET_ERR("--journal %s: no capture journal there%s%s", dir, node ? " for node " : "", node ? node : "");
		return -1;
	}
	const struct ghostrec_audioinfo *ti = ghostrec_audiofile_info(take);
	double tol = ghostrec_jfind_tolerance(ti->is_float ? 32 : ti->bits);
	struct ghostrec_jfind_probe probes[GHOSTREC_JFIND_MAX_PROBES];
	float *pbuf = malloc(sizeof(float) * GHOSTREC_JFIND_MAX_PROBES * GHOSTREC_JFIND_PROBE_FRAMES);
	float *fbuf = malloc(sizeof(float) * GHOSTREC_JFIND_PROBE_FRAMES * (size_t)ti->channels);
	if (!pbuf || !fbuf) {
		free(pbuf);
		free(fbuf);
		SET_ERR("out of memory");
		return -1;
	}
	size_t np = take_probes(take, probes, pbuf, fbuf);
	free(fbuf);
	if (np == 0) {
		free(pbuf);
		SET_ERR("the take is too short to be looked up (%" PRId64 " frames)", ti->frames);
		return -1;
	}
	int best = -1;
	struct ghostrec_jfind_result br = { 0 };
	for (int i = 0; i < nd; i++) {
		struct ghostrec_journal j;
		struct ghostrec_jfind_result r;
		if (ghostrec_journal_open(&j, dirs[i], false, NULL, err, errsize) < 0) {
			free(pbuf);
			return -1;
		}
		int f = ghostrec_journal_find(&j, probes, np, tol, (uint32_t)ti->rate, ti->frames, &r, err, errsize);
		ghostrec_journal_close(&j);
		if (f < 0) {
			free(pbuf);
			return -1;
		}
		if (f == 1 && (best < 0 || r.probes_found > br.probes_found)) {
			best = i;
			br = r;
		}
	}
	free(pbuf);
	if (best < 0) {
		SET_ERR("no alignment found: the take's audio is not in the journal%s %s", nd > 1 ? "s under" : "", dir);
		return -1;
	}
	struct ghostrec_journal j;
	if (ghostrec_journal_open(&j, dirs[best], false, NULL, err, errsize) < 0)
		return -1;
	uint64_t from, to;
	int found = ghostrec_jfind_range(&j, &br, ti->frames, &from, &to) == 0;
	int rc = -1;
	if (!found) {
		SET_ERR("the journal no longer holds the take's range");
	} else {
		rc = write_excerpt(&j, br.instance, br.rate, br.channels, from, to, out_wav, gaps, err, errsize);
		snprintf(where, wsize,
			 "found in journal %s: timeline %016" PRIx64 " channel %u, frames %" PRIu64 "..%" PRIu64
			 " (%zu of %zu probes agree, %" PRIu64 " keys scanned, %" PRIu64 " hits verified)",
			 dirs[best], br.instance, br.channel, from, to, br.probes_found, br.probes, br.keys_scanned,
			 br.hits_verified);
	}
	ghostrec_journal_close(&j);
	return rc;
}
