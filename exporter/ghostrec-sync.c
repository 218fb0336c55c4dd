/* ghostrec-sync: conform a damaged take to the pristine clean recording (DESIGN 3.6).
 *
 *   ghostrec-sync --take TAKE.wav --clean CLEAN.wav -o OUT.wav
 *                 [--join cut|crossfade] [--xfade-ms X] [--report REPORT.json]
 *   ghostrec-sync --take TAKE.wav --journal DIR [--node N] [--clean-out FILE] -o OUT.wav ...
 *                 (no clean file: the take's audio is found in a capture journal by content)
 *
 * OUT has the take's length, rate, channel count and sample format; every take frame
 * with a clean counterpart is the clean sample mapped through the EDL. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/audiofile.h"
#include "common/conform.h"
#include "common/takemeta.h"
#include "sync-journal.h"

#define DEFAULT_XFADE_MS 5.0

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ghostrec-sync --take TAKE.wav --clean CLEAN.wav -o OUT.wav\n"
		"                     [--join cut|crossfade] [--xfade-ms X] [--report REPORT.json]\n"
		"       ghostrec-sync --take TAKE.wav --journal DIR [--node N] [--clean-out FILE]\n"
		"                     -o OUT.wav [--join ...] [--xfade-ms X] [--report REPORT.json]\n"
		"\n"
		"Replaces a take damaged by network glitches (dropped, silenced or inserted audio)\n"
		"with the pristine ghostrec recording, aligned piece by piece to the sample.\n"
		"\n"
		"  --take FILE       the damaged take (WAV/RF64/W64, 16/24/32-bit or float)\n"
		"  --clean FILE      the clean take written by ghostrec-exporter\n"
		"  --journal DIR     instead of --clean: find the take's audio by its content in the\n"
		"                    exporter's capture journal (a node's journal directory, or\n"
		"                    <spool>/journal, or the spool directory); no marker, no clean file\n"
		"                    and no /record needed\n"
		"  --node N          with --journal: only node N's journal\n"
		"  --clean-out FILE  with --journal: keep the clean excerpt used (float32 WAV, gaps as\n"
		"                    ghostrec-gap cue regions)\n"
		"  -o, --output FILE the fixed take: same length, rate, channels and format as TAKE\n"
		"  --join MODE       at dropped/inserted joins: cut (exact clean samples only) or\n"
		"                    crossfade (short equal-power crossfade; default)\n"
		"  --xfade-ms X      crossfade length in milliseconds (default %.0f)\n"
		"  --report FILE     write the glitch list and segments as JSON ('-' = stdout)\n"
		"  -h, --help        this text\n",
		DEFAULT_XFADE_MS);
}

/* The clean file's ghostrec facts (takemeta): its bext description, else the sidecar
 * ghostrec-<take_id>.json next to it (the name carries the take id). Gaps: those of the
 * WAV's cue regions and of the sidecar together (either may be missing; merged). */
static void read_clean_meta(const char *clean_path, struct ghostrec_clean_meta *meta,
			    struct ghostrec_takemeta *gaps)
{
	struct ghostrec_takemeta tm, sc;
	uint64_t cue;
	char err[256];
	memset(meta, 0, sizeof(*meta));
	memset(gaps, 0, sizeof(*gaps));
	int ok = ghostrec_takemeta_read_wav(clean_path, &tm, &cue, err, sizeof(err)) == 0;
	const char *base = strrchr(clean_path, '/');
	base = base ? base + 1 : clean_path;
	unsigned long id;
	char sidecar[4096];
	int have_sc = 0;
	if (sscanf(base, "ghostrec-%lu", &id) == 1 && id <= UINT32_MAX) {
		snprintf(sidecar, sizeof(sidecar), "%.*sghostrec-%lu.json", (int)(base - clean_path),
			 clean_path, id);
		have_sc = ghostrec_takemeta_read_sidecar(sidecar, &sc, err, sizeof(err)) == 0;
	}
	for (size_t i = 0; i < tm.n_gaps; i++)
		ghostrec_takemeta_add_gap(gaps, tm.gaps[i].frame, tm.gaps[i].frames, tm.gaps[i].cause);
	if (have_sc) {
		for (size_t i = 0; i < sc.n_gaps; i++)
			ghostrec_takemeta_add_gap(gaps, sc.gaps[i].frame, sc.gaps[i].frames, sc.gaps[i].cause);
		if (!ok) {
			ghostrec_takemeta_clear(&tm);
			tm = sc;
			memset(&sc, 0, sizeof(sc));
			ok = 1;
		}
	}
	if (ok && tm.marker_frame <= INT64_MAX) {
		meta->valid = 1;
		meta->take_id = tm.take_id;
		meta->marker_frame = (int64_t)tm.marker_frame;
	}
	meta->gaps = gaps->gaps;
	meta->n_gaps = gaps->n_gaps;
	ghostrec_takemeta_clear(&tm);
	if (have_sc)
		ghostrec_takemeta_clear(&sc);
}

/* The inputs are read through mapped windows: a file that another program truncates or
 * rewrites while it is read raises SIGBUS at the next access. That ends the run with one clear
 * line, and the files this run created (the half-written OUT, a temporary journal excerpt, a
 * new report) are removed, as after any other failure. */
static const char *volatile sigbus_unlink[3];

static void on_sigbus(int sig)
{
	(void)sig;
	static const char msg[] = "ghostrec-sync: an input file got shorter while it was read (another "
				  "program truncated or rewrote it); nothing was written\n";
	for (int i = 0; i < 3; i++)
		if (sigbus_unlink[i])
			unlink(sigbus_unlink[i]);
	ssize_t w = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)w;
	_exit(1);
}

/* OUT rendered beside the engine: a thread with readers of its own of the take and the clean
 * file, fed the segments as the walk settles them (ghostrec_conform_render_feed), so most of
 * the writing is done by the time the walk ends. */
struct render_job {
	struct ghostrec_audiofile *out;
	int join;
	int64_t xfade_frames;
	struct ghostrec_conform_feed *feed;
	struct ghostrec_audiofile *take, *clean;
	pthread_t thread;
	int rc;
	char err[512];
};

static void *render_job_main(void *arg)
{
	struct render_job *j = arg;
	j->rc = ghostrec_conform_render_feed(j->feed, j->take, j->clean, j->out, j->join, j->xfade_frames, NULL,
					     j->err, sizeof(j->err));
	return NULL;
}

/* Starts the thread; 0 when it cannot (then OUT is rendered after the engine). */
static int render_job_start(struct render_job *j, const char *take_path, const char *clean_path)
{
	char err[512];
	j->feed = ghostrec_conform_feed_new();
	j->take = j->feed ? ghostrec_audiofile_open(take_path, err, sizeof(err)) : NULL;
	j->clean = j->take ? ghostrec_audiofile_open(clean_path, err, sizeof(err)) : NULL;
	if (j->clean) {
		ghostrec_audiofile_set_forward(j->take);
		ghostrec_audiofile_set_forward(j->clean);
	}
	if (j->clean && pthread_create(&j->thread, NULL, render_job_main, j) == 0)
		return 1;
	ghostrec_audiofile_close(j->clean);
	ghostrec_audiofile_close(j->take);
	ghostrec_conform_feed_free(j->feed);
	j->feed = NULL;
	return 0;
}

/* Ends the feed (the engine returned, engine_ok = it succeeded) and waits for the thread.
 * Returns the render's result (0, or -1 with j->err). */
static int render_job_finish(struct render_job *j, int engine_ok)
{
	ghostrec_conform_feed_end(j->feed, engine_ok);
	pthread_join(j->thread, NULL);
	ghostrec_audiofile_close(j->clean);
	ghostrec_audiofile_close(j->take);
	ghostrec_conform_feed_free(j->feed);
	j->feed = NULL;
	return j->rc;
}

static void show_progress(void *data, int64_t done, int64_t total)
{
	static const char *last_what;
	static int last_percent = -1;
	const char *what = data;
	int percent = total > 0 ? (int)(100 * done / total) : 0;
	/* Only when the line changes: a terminal, not a log, is listening. */
	if (what == last_what && percent == last_percent)
		return;
	last_what = what;
	last_percent = percent;
	fprintf(stderr, "\r%s: %3d%%", what, percent);
}

/* Closes a report that was not (completely) written; one we created is removed again. */
static void close_report(FILE *f, const char *path, bool created, bool ok)
{
	if (!f || f == stdout)
		return;
	fclose(f);
	if (!ok && created)
		unlink(path);
}

int main(int argc, char **argv)
{
	const char *take_path = NULL, *clean_path = NULL, *out_path = NULL, *report_path = NULL;
	const char *journal_dir = NULL, *node = NULL, *clean_out = NULL;
	char excerpt[4200] = "", where[4600] = "";
	int join = GHOSTREC_JOIN_CROSSFADE;
	double xfade_ms = DEFAULT_XFADE_MS;
	static const struct option opts[] = {
		{"take", required_argument, NULL, 't'},
		{"clean", required_argument, NULL, 'c'},
		{"journal", required_argument, NULL, 'J'},
		{"node", required_argument, NULL, 'N'},
		{"clean-out", required_argument, NULL, 'C'},
		{"output", required_argument, NULL, 'o'},
		{"join", required_argument, NULL, 'j'},
		{"xfade-ms", required_argument, NULL, 'x'},
		{"report", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 't':
			take_path = optarg;
			break;
		case 'c':
			clean_path = optarg;
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'J':
			journal_dir = optarg;
			break;
		case 'N':
			node = optarg;
			break;
		case 'C':
			clean_out = optarg;
			break;
		case 'r':
			report_path = optarg;
			break;
		case 'j':
			if (strcmp(optarg, "cut") == 0) {
				join = GHOSTREC_JOIN_CUT;
			} else if (strcmp(optarg, "crossfade") == 0) {
				join = GHOSTREC_JOIN_CROSSFADE;
			} else {
				fprintf(stderr, "ghostrec-sync: --join must be cut or crossfade, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'x': {
			char *end;
			xfade_ms = strtod(optarg, &end);
			if (*end || !(xfade_ms >= 0.0 && xfade_ms <= 1000.0)) {
				fprintf(stderr, "ghostrec-sync: --xfade-ms must be a number from 0 to 1000\n");
				return 2;
			}
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "ghostrec-sync: see --help\n");
			return 2;
		}
	}
	if (optind < argc || !take_path || !(clean_path || journal_dir) || !out_path) {
		fprintf(stderr, "ghostrec-sync: need --take, --clean (or --journal) and -o (see --help)\n");
		return 2;
	}
	if (clean_path && journal_dir) {
		fprintf(stderr, "ghostrec-sync: --clean and --journal exclude each other\n");
		return 2;
	}
	if (!journal_dir && (node || clean_out)) {
		fprintf(stderr, "ghostrec-sync: --node and --clean-out go with --journal\n");
		return 2;
	}

	struct sigaction bus = {.sa_handler = on_sigbus};
	sigemptyset(&bus.sa_mask);
	sigaction(SIGBUS, &bus, NULL);

	/* The report's place is checked (opened) before anything is written: a report that cannot
	 * be written must not leave an OUT behind that looks like a complete run. */
	FILE *report = NULL;
	bool report_created = false;
	if (report_path && strcmp(report_path, "-") != 0) {
		report_created = access(report_path, F_OK) != 0;
		int rfd = open(report_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (rfd < 0 || !(report = fdopen(rfd, "w"))) {
			fprintf(stderr, "ghostrec-sync: --report %s: %s (nothing written)\n", report_path,
				strerror(errno));
			if (rfd >= 0)
				close(rfd);
			return 1;
		}
		if (report_created)
			sigbus_unlink[0] = report_path;
	} else if (report_path) {
		report = stdout;
	}

	char err[512];
	struct ghostrec_audiofile *take = ghostrec_audiofile_open(take_path, err, sizeof(err));
	if (!take) {
		fprintf(stderr, "ghostrec-sync: %s\n", err);
		close_report(report, report_path, report_created, false);
		return 1;
	}
	struct ghostrec_clean_meta meta;
	struct ghostrec_takemeta gaps;
	if (journal_dir) {
		/* the clean audio: the take's range of the journal, found by content */
		memset(&gaps, 0, sizeof(gaps));
		if (clean_out) {
			snprintf(excerpt, sizeof(excerpt), "%s", clean_out);
		} else {
			const char *tmp = getenv("TMPDIR");
			snprintf(excerpt, sizeof(excerpt), "%s/ghostrec-sync-XXXXXX.wav", tmp && *tmp ? tmp : "/tmp");
			int tfd = mkstemps(excerpt, 4);
			if (tfd < 0) {
				fprintf(stderr, "ghostrec-sync: %s: %s\n", excerpt, strerror(errno));
				ghostrec_audiofile_close(take);
				close_report(report, report_path, report_created, false);
				return 1;
			}
			close(tfd);
			sigbus_unlink[1] = excerpt;
		}
		if (sync_journal_excerpt(take, journal_dir, node, excerpt, &gaps, where, sizeof(where), err,
					 sizeof(err)) != 0 ||
		    (clean_out && gaps.n_gaps && ghostrec_takemeta_append_cues(excerpt, &gaps) != 0 &&
		     snprintf(err, sizeof(err), "%s: cannot write its gap regions", excerpt) > 0)) {
			fprintf(stderr, "ghostrec-sync: %s\n", err);
			if (!clean_out)
				unlink(excerpt);
			ghostrec_takemeta_clear(&gaps);
			ghostrec_audiofile_close(take);
			close_report(report, report_path, report_created, false);
			return 1;
		}
		clean_path = excerpt;
		memset(&meta, 0, sizeof(meta));
		meta.gaps = gaps.gaps;
		meta.n_gaps = gaps.n_gaps;
	}
	struct ghostrec_audiofile *clean = ghostrec_audiofile_open(clean_path, err, sizeof(err));
	if (!clean) {
		fprintf(stderr, "ghostrec-sync: %s\n", err);
		if (journal_dir && !clean_out)
			unlink(excerpt);
		ghostrec_takemeta_clear(&gaps);
		ghostrec_audiofile_close(take);
		close_report(report, report_path, report_created, false);
		return 1;
	}
	if (!journal_dir)
		read_clean_meta(clean_path, &meta, &gaps);
	struct ghostrec_conform_options copt;
	memset(&copt, 0, sizeof(copt));
	if (isatty(STDERR_FILENO)) {
		copt.progress = show_progress;
		copt.progress_data = (void *)"aligning";
	}

	int status = 1;
	struct ghostrec_conform_result res;
	memset(&res, 0, sizeof(res));
	/* OUT is written next to its place under a temporary name, renamed when complete, and
	 * rendered while the engine walks the take (render_job), from readers of its own. */
	size_t plen = strlen(out_path) + 16;
	char *part = malloc(plen);
	if (!part) {
		fprintf(stderr, "ghostrec-sync: out of memory\n");
		goto done;
	}
	snprintf(part, plen, "%s.part", out_path);
	const struct ghostrec_audioinfo *ti = ghostrec_audiofile_info(take);
	struct ghostrec_audiofile *out = ghostrec_audiofile_create_like(part, ti, ti->channels, err, sizeof(err));
	if (!out) {
		fprintf(stderr, "ghostrec-sync: %s\n", err);
		goto done;
	}
	sigbus_unlink[2] = part;
	struct render_job job = {
		.out = out,
		.join = join,
		.xfade_frames = (int64_t)(xfade_ms * ti->rate / 1000.0 + 0.5),
	};
	int beside = render_job_start(&job, take_path, clean_path);
	copt.feed = beside ? job.feed : NULL;
	int run_rc = ghostrec_conform_run(take, clean, &meta, &copt, &res, err, sizeof(err));
	int rc;
	if (beside) {
		rc = render_job_finish(&job, run_rc == 0);
	} else if (run_rc == 0) {
		if (copt.progress)
			copt.progress_data = (void *)"writing";
		rc = ghostrec_conform_render(&res, take, clean, out, join, job.xfade_frames, &copt, job.err,
					     sizeof(job.err));
	} else {
		rc = -1;
	}
	if (copt.progress)
		fprintf(stderr, "\r              \r");
	int close_rc = ghostrec_audiofile_close(out);
	int close_errno = errno;
	out = NULL;
	if (run_rc != 0 || rc != 0 || close_rc != 0 || rename(part, out_path) != 0) {
		if (run_rc != 0)
			fprintf(stderr, "ghostrec-sync: %s\n", err);   /* the engine's reason comes first */
		else if (close_rc != 0)   /* (a render that failed writing says it here, with why) */
			fprintf(stderr, "ghostrec-sync: %s: cannot write it: %s; nothing was written\n", out_path,
				strerror(close_errno));
		else if (rc != 0)
			fprintf(stderr, "ghostrec-sync: %s\n", job.err);
		else
			fprintf(stderr, "ghostrec-sync: %s: cannot rename into place\n", out_path);
		unlink(part);
		goto done_res;
	}
	sigbus_unlink[2] = NULL;

	if (report) {
		errno = 0;
		if ((report != stdout && ftruncate(fileno(report), 0) != 0) ||
		    ghostrec_conform_report_write(&res, report) != 0 || fflush(report) != 0 ||
		    (report != stdout && fsync(fileno(report)) != 0)) {
			fprintf(stderr, "ghostrec-sync: --report %s: cannot write the report: %s\n",
				report_path, errno ? strerror(errno) : "write error");
			goto done_res;
		}
		FILE *f = report;
		report = NULL;
		if (f != stdout && fclose(f) != 0) {
			fprintf(stderr, "ghostrec-sync: --report %s: %s\n", report_path, strerror(errno));
			goto done_res;
		}
	}

	size_t counts[GHOSTREC_GLITCH_KINDS] = {0};
	for (size_t i = 0; i < res.n_glitches; i++)
		counts[res.glitches[i].kind]++;
	fprintf(report_path && strcmp(report_path, "-") == 0 ? stderr : stdout,
		"ghostrec-sync: %s aligned by %s, %zu glitches (%zu dropped, %zu inserted, %zu replaced, %zu repeated, %zu reordered, %zu gaps), %zu segments\n",
		take_path, res.alignment == GHOSTREC_ALIGN_MARKER ? "marker" : "content",
		res.n_glitches, counts[GHOSTREC_GLITCH_DROPPED], counts[GHOSTREC_GLITCH_INSERTED],
		counts[GHOSTREC_GLITCH_REPLACED], counts[GHOSTREC_GLITCH_REPEATED],
		counts[GHOSTREC_GLITCH_REORDERED], counts[GHOSTREC_GLITCH_GAP], res.n_segments);
	if (where[0])
		fprintf(report_path && strcmp(report_path, "-") == 0 ? stderr : stdout, "ghostrec-sync: %s\n", where);
	status = 0;

done_res:
	ghostrec_conform_result_clear(&res);
done:
	ghostrec_takemeta_clear(&gaps);
	close_report(report, report_path, report_created, status == 0);
	sigbus_unlink[2] = NULL;
	free(part);
	ghostrec_audiofile_close(clean);
	ghostrec_audiofile_close(take);
	if (journal_dir && !clean_out)
		unlink(excerpt);
	return status;
}
