/* Journal benchmarks (printed, never pass/fail; tests/bench/bench-journal.sh runs them):
 *
 *   bench-journal write DIR CHANNELS SECONDS
 *       writes SECONDS of CHANNELS-channel 48 kHz audio into a journal at DIR through
 *       ghostrec_journal_append (1024-frame cycles, a sync every 0.5 s of audio, as the exporter
 *       does), and the same bytes as a bare baseline: interleave + write() + fdatasync at the same
 *       cadence into one plain file. Prints the process CPU time of each as % of one core at real
 *       time, and their ratio. With a fifth argument "fast": no syncs, no baseline (to make a long
 *       journal for the lookup quickly).
 *   bench-journal take DIR OUT.wav SECONDS AT
 *       a REAPER-style take (24-bit mono, channel 1) of SECONDS from AT seconds into the journal,
 *       a 512-frame block dropped every 0.5 s
 *   bench-journal find DIR TAKE.wav
 *       looks the take up in the journal's content index (what ghostrec-sync --journal does
 *       first) and prints the wall time, the keys scanned and the process's peak RSS. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <sndfile.h>

#include "common/audiofile.h"
#include "common/journal.h"
#include "common/journal_find.h"

#define RATE 48000u
#define CYCLE 1024u
#define MAXCH 8u

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* music-like test audio: noise under a slow envelope, distinct per channel */
static float audio(uint64_t f, unsigned c)
{
	uint32_t h = (uint32_t)(f * 2654435761u) ^ (c * 0x9e3779b9u);
	h ^= h >> 15; h *= 0x2c1b3c6du; h ^= h >> 12; h *= 0x297a2d39u; h ^= h >> 15;
	float env = 0.02f + 0.3f * (float)(0.5 + 0.5 * sin((double)f / 24000.0 + c));
	return (float)((int32_t)h >> 8) / 8388608.0f * env;
}

static int cmd_write(const char *dir, unsigned ch, double seconds, int fast)
{
	char err[512], path[4200];
	struct ghostrec_journal_limits lim = { 0 };
	struct ghostrec_journal j;
	if (ch < 1 || ch > MAXCH || ghostrec_journal_open(&j, dir, true, &lim, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench-journal: %s\n", ch < 1 || ch > MAXCH ? "1..8 channels" : err);
		return 1;
	}
	static float planar[MAXCH][CYCLE], inter[CYCLE * MAXCH];
	const float *src[MAXCH];
	for (unsigned c = 0; c < MAXCH; c++)
		src[c] = planar[c];
	uint64_t total = (uint64_t)(seconds * RATE), sync_every = RATE / 2;
	double gen = 0, t0, jcpu = 0;
	/* journal */
	for (uint64_t f = 0; f < total; f += CYCLE) {
		double g0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
		for (unsigned c = 0; c < ch; c++)
			for (unsigned i = 0; i < CYCLE; i++)
				planar[c][i] = audio(f + i, c);
		t0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
		gen += t0 - g0;
		if (ghostrec_journal_append(&j, 0x1234, 1, RATE, ch, f, (int64_t)f * 20833, src, CYCLE) != CYCLE) {
			fprintf(stderr, "bench-journal: append failed\n");
			return 1;
		}
		if (!fast && (f / CYCLE) % (sync_every / CYCLE) == 0)
			ghostrec_journal_sync(&j);
		jcpu += clock_s(CLOCK_PROCESS_CPUTIME_ID) - t0;
	}
	ghostrec_journal_close(&j);
	if (fast)
		return 0;
	/* baseline: the same bytes, one plain file */
	snprintf(path, sizeof(path), "%s/baseline.raw", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	double bcpu = 0;
	for (uint64_t f = 0; fd >= 0 && f < total; f += CYCLE) {
		for (unsigned c = 0; c < ch; c++)
			for (unsigned i = 0; i < CYCLE; i++)
				planar[c][i] = audio(f + i, c);
		t0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
		for (unsigned c = 0; c < ch; c++)
			for (unsigned i = 0; i < CYCLE; i++)
				inter[i * ch + c] = planar[c][i];
		if (write(fd, inter, (size_t)CYCLE * ch * sizeof(float)) < 0)
			break;
		if ((f / CYCLE) % (sync_every / CYCLE) == 0)
			fdatasync(fd);
		bcpu += clock_s(CLOCK_PROCESS_CPUTIME_ID) - t0;
	}
	if (fd >= 0)
		close(fd);
	unlink(path);
	printf("journal write: %u ch, %.0f s of audio: %.3f s CPU = %.3f %% of one core at real time "
	       "(bare interleave + write + fdatasync: %.3f s = %.3f %%; %.2fx)\n",
	       ch, seconds, jcpu, 100.0 * jcpu / seconds, bcpu, 100.0 * bcpu / seconds, bcpu > 0 ? jcpu / bcpu : 0);
	return 0;
}

static int cmd_take(const char *dir, const char *out, double seconds, double at)
{
	char err[512];
	struct ghostrec_journal j;
	if (ghostrec_journal_open(&j, dir, false, NULL, err, sizeof(err)) < 0 || !j.n_segs) {
		fprintf(stderr, "bench-journal: %s\n", j.n_segs ? err : "empty journal");
		return 1;
	}
	SF_INFO si = { .samplerate = RATE, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_24 };
	SNDFILE *sf = sf_open(out, SFM_WRITE, &si);
	if (!sf) {
		fprintf(stderr, "bench-journal: %s: %s\n", out, sf_strerror(NULL));
		return 1;
	}
	uint64_t f = j.segs[0].frame0 + (uint64_t)(at * RATE), frames = (uint64_t)(seconds * RATE);
	float buf[CYCLE * MAXCH], mono[CYCLE];
	for (uint64_t done = 0; done < frames;) {
		if (done && done % (RATE / 2) == 0)
			f += 512; /* a dropped block */
		uint64_t n;
		const struct ghostrec_journal_seg *seg;
		if (ghostrec_journal_locate(&j, j.segs[0].instance, f, &n, &seg, NULL) != GHOSTREC_JOURNAL_DATA) {
			fprintf(stderr, "bench-journal: frame %llu not held\n", (unsigned long long)f);
			return 1;
		}
		uint64_t k = RATE / 2 - done % (RATE / 2);
		if (k > n) k = n;
		if (k > CYCLE) k = CYCLE;
		if (k > frames - done) k = frames - done;
		ghostrec_journal_read(&j, seg, f, (uint32_t)k, buf);
		for (uint64_t i = 0; i < k; i++)
			mono[i] = buf[i * seg->channels + (seg->channels > 1 ? 1 : 0)];
		sf_writef_float(sf, mono, (sf_count_t)k);
		f += k;
		done += k;
	}
	sf_close(sf);
	ghostrec_journal_close(&j);
	return 0;
}

static int cmd_find(const char *dir, const char *take_path)
{
	char err[512];
	struct ghostrec_audiofile *take = ghostrec_audiofile_open(take_path, err, sizeof(err));
	if (!take) {
		fprintf(stderr, "bench-journal: %s\n", err);
		return 1;
	}
	const struct ghostrec_audioinfo *ti = ghostrec_audiofile_info(take);
	double t0 = clock_s(CLOCK_MONOTONIC);
	int64_t starts[GHOSTREC_JFIND_MAX_PROBES];
	size_t n = ghostrec_jfind_probe_starts(ti->frames, (uint32_t)ti->rate, starts, GHOSTREC_JFIND_MAX_PROBES);
	static float x[GHOSTREC_JFIND_MAX_PROBES][GHOSTREC_JFIND_PROBE_FRAMES];
	float *fr = malloc(sizeof(float) * GHOSTREC_JFIND_PROBE_FRAMES * (size_t)ti->channels);
	struct ghostrec_jfind_probe p[GHOSTREC_JFIND_MAX_PROBES];
	for (size_t i = 0; i < n; i++) {
		ghostrec_audiofile_read(take, starts[i], GHOSTREC_JFIND_PROBE_FRAMES, fr);
		for (unsigned k = 0; k < GHOSTREC_JFIND_PROBE_FRAMES; k++)
			x[i][k] = fr[(size_t)k * (size_t)ti->channels];
		p[i] = (struct ghostrec_jfind_probe){ starts[i], x[i], GHOSTREC_JFIND_PROBE_FRAMES };
	}
	free(fr);
	struct ghostrec_journal j;
	if (ghostrec_journal_open(&j, dir, false, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench-journal: %s\n", err);
		return 1;
	}
	struct ghostrec_jfind_result r;
	int f = ghostrec_journal_find(&j, p, n, ghostrec_jfind_tolerance(ti->is_float ? 32 : ti->bits), (uint32_t)ti->rate,
				      ti->frames, &r, err, sizeof(err));
	double t = clock_s(CLOCK_MONOTONIC) - t0;
	double held = 0;
	for (size_t i = 0; i < j.n_segs; i++)
		held += (double)j.segs[i].frames / j.segs[i].rate;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("content lookup of a %.1f s take in a %.1f h journal (%.0f MB audio, %.1f MB index): %s in %.3f s, "
	       "%llu keys scanned, %zu/%zu probes agree, %llu hits verified, peak RSS %.1f MB\n",
	       (double)ti->frames / ti->rate, held / 3600, (double)j.bytes / 1e6, (double)j.fp_bytes / 1e6,
	       f == 1 ? "found" : "NOT FOUND", t, (unsigned long long)r.keys_scanned, r.probes_found, r.probes,
	       (unsigned long long)r.hits_verified, (double)ru.ru_maxrss / 1024.0);
	ghostrec_journal_close(&j);
	ghostrec_audiofile_close(take);
	return f == 1 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if ((argc == 5 || (argc == 6 && !strcmp(argv[5], "fast"))) && !strcmp(argv[1], "write"))
		return cmd_write(argv[2], (unsigned)atoi(argv[3]), atof(argv[4]), argc == 6);
	if (argc == 6 && !strcmp(argv[1], "take"))
		return cmd_take(argv[2], argv[3], atof(argv[4]), atof(argv[5]));
	if (argc == 4 && !strcmp(argv[1], "find"))
		return cmd_find(argv[2], argv[3]);
	fprintf(stderr, "usage: bench-journal write DIR CHANNELS SECONDS | take DIR OUT.wav SECONDS AT | find DIR TAKE.wav\n");
	return 2;
}
