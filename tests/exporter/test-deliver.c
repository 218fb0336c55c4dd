/* Delivery against a real smbd on a loopback port and a real folder: atomic files on the share,
 * the retry queue while smbd is down (the take stays queued, nothing is removed), delivery once
 * smbd is back, the queue surviving a worker restart, refusal of unsafe credentials, a queue of
 * 270 takes delivered whole (no cap) and same-filesystem delivery by hard link.
 * argv[1] = tests/exporter/smbd.sh */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/takemeta.h"
#include "deliver.h"
#include "finalize.h"
#include "log.h"
#include "spool.h"
#include "worker.h"
#include "../unit/check.h"

static const char *smbd_sh;
static char base[64];

static int smbd(const char *cmd)
{
	char line[1024];
	snprintf(line, sizeof(line), "%s %s %s/smb >/dev/null", smbd_sh, cmd, base);
	return system(line);
}

static int read_file(const char *path, char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	*data = malloc(*len + 1);
	size_t n = fread(*data, 1, *len, f);
	fclose(f);
	return n == *len ? 0 : -1;
}

static int same_file(const char *a, const char *b)
{
	char *da, *db;
	size_t la, lb;
	if (read_file(a, &da, &la) < 0)
		return 0;
	if (read_file(b, &db, &lb) < 0) {
		free(da);
		return 0;
	}
	int same = la == lb && memcmp(da, db, la) == 0;
	free(da);
	free(db);
	return same;
}

/* Makes a finished take in the delivery queue, as the recorder leaves it (files finished in a
 * build folder, then the folder renamed into the queue). */
static struct take make_take_n(const struct exporter_config *cfg, uint32_t id, bool split, uint32_t frames)
{
	struct take t;
	char raw[4200], tmp[4200], dst[4200], err[512];
	take_begin(&t, id, "ghostrec", TAKE_FORMAT_FLOAT32, split, 48000, 2, 1, 0.1, 0.1);
	snprintf(t.channel_map[0], 8, "FL");
	snprintf(t.channel_map[1], 8, "FR");
	take_marked(&t, 48000, 0);
	take_stop(&t, 96000);
	snprintf(raw, sizeof(raw), "%s/take-%u.raw", cfg->spool_dir, id);
	struct spool_writer w;
	CHECK(spool_writer_open(&w, raw, 2) == 0);
	static float l[9600], r[9600];
	for (int i = 0; i < 9600; i++) {
		l[i] = (float)i / 9600.0f;
		r[i] = -(float)(id % 7) / 8.0f;
	}
	const float *src[2] = { l, r };
	for (uint32_t done = 0; done < frames; done += 9600)
		CHECK(spool_writer_append(&w, src, frames - done < 9600 ? frames - done : 9600) == 0);
	spool_writer_close(&w);
	t.spooled = frames;
	snprintf(tmp, sizeof(tmp), "%s/queue/.build-%u", cfg->spool_dir, id);
	spool_queue_path(dst, sizeof(dst), cfg->spool_dir, id);
	CHECK(mkdir(tmp, 0700) == 0);
	uint64_t got = 0;
	CHECK(finalize_take(&t, raw, tmp, &got, err, sizeof(err)) == 0 && got == frames);
	CHECK(rename(tmp, dst) == 0);
	unlink(raw);
	return t;
}

static struct take make_take(const struct exporter_config *cfg, uint32_t id)
{
	return make_take_n(cfg, id, true, 62400);
}

static int exists(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int exists(const char *fmt, ...)
{
	char p[4400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	return access(p, F_OK) == 0;
}

static int wait_for(struct worker *w, uint64_t delivered, double timeout)
{
	struct worker_counters c;
	for (double t = 0; t < timeout; t += 0.05) {
		worker_counters(w, &c);
		if (c.delivered >= delivered)
			return 1;
		usleep(50000);
	}
	return 0;
}

static void status(struct worker *w, char *buf, size_t size)
{
	struct jsonw jw;
	jw_init(&jw, buf, size);
	jw_obj(&jw);
	worker_status_json(w, &jw);
	jw_obj_end(&jw);
	CHECK(jw_finish(&jw) > 0);
}

int main(int argc, char **argv)
{
	struct exporter_config cfg;
	char err[1024], url[256], cred[128], share[128], outbox[128], buf[16384];
	if (argc < 2) {
		fprintf(stderr, "usage: test-deliver smbd.sh\n");
		return 2;
	}
	smbd_sh = argv[1];
	snprintf(base, sizeof(base), "/tmp/ghostrec-deliver-XXXXXX");
	CHECK(mkdtemp(base) != NULL);
	if (smbd("start") != 0) {
		fprintf(stderr, "cannot start smbd\n");
		return 1;
	}
	char portbuf[16] = "";
	snprintf(buf, sizeof(buf), "%s/smb/port", base);
	FILE *pf = fopen(buf, "r");
	CHECK(pf && fgets(portbuf, sizeof(portbuf), pf));
	fclose(pf);
	portbuf[strcspn(portbuf, "\n")] = '\0';
	snprintf(url, sizeof(url), "smb://127.0.0.1:%s/takes/clean/in", portbuf);
	snprintf(cred, sizeof(cred), "%s/smb/cred", base);
	snprintf(share, sizeof(share), "%s/smb/share/clean/in", base);
	snprintf(outbox, sizeof(outbox), "%s/outbox", base);
	mkdir(outbox, 0755);

	exporter_config_defaults(&cfg);
	snprintf(cfg.spool_dir, sizeof(cfg.spool_dir), "%s/spool", base);
	cfg.retry_max = 0.5;
	CHECK(spool_init(cfg.spool_dir, err, sizeof(err)) == 0);

	/* unsafe credentials are refused with a clear reason */
	chmod(cred, 0644);
	CHECK(deliver_smb_new(url, cred, err, sizeof(err)) == NULL);
	printf("0644 credentials: %s\n", err);
	CHECK(strstr(err, "0644") && strstr(err, "chmod 600"));
	chmod(cred, 0600);
	CHECK(deliver_smb_new("smb://nohost", cred, err, sizeof(err)) == NULL);

	struct deliver_target *targets[2];
	targets[0] = deliver_outbox_new(outbox, 0600, err, sizeof(err));
	targets[1] = deliver_smb_new(url, cred, err, sizeof(err));
	CHECK(targets[0] && targets[1]);
	struct worker *w = worker_start(&cfg, targets, 2);

	/* 1. a take delivered to both targets; the spool is cleaned after */
	struct take t1 = make_take(&cfg, 501);
	worker_submit(w, &t1);
	CHECK(wait_for(w, 1, 15));
	const char *names[] = { "ghostrec-501.wav", "ghostrec-501-ch0.wav", "ghostrec-501-ch1.wav", "ghostrec-501.json" };
	for (int i = 0; i < 4; i++) {
		char a[4400], b[4400];
		snprintf(a, sizeof(a), "%s/%s", share, names[i]);
		snprintf(b, sizeof(b), "%s/%s", outbox, names[i]);
		CHECK(same_file(a, b));
		CHECK(exists("%s", a));
	}
	for (int i = 0; i < 40 && exists("%s/queue/501", cfg.spool_dir); i++)
		usleep(50000); /* removal follows the confirmation */
	CHECK(!exists("%s/queue/501", cfg.spool_dir));
	CHECK(!exists("%s/take-501.raw", cfg.spool_dir) && !exists("%s/take-501.state", cfg.spool_dir));
	CHECK(!exists("%s/.ghostrec-501.wav.part", share) && !exists("%s/.ghostrec-501.wav.part", outbox));
	struct ghostrec_takemeta m;
	uint64_t cue;
	snprintf(buf, sizeof(buf), "%s/ghostrec-501.wav", share);
	CHECK(ghostrec_takemeta_read_wav(buf, &m, &cue, err, sizeof(err)) == 0 && cue == 4800 && m.take_id == 501);
	ghostrec_takemeta_clear(&m);

	/* 2. smbd down: the take stays queued (outbox done, smb retrying), nothing removed */
	smbd("stop");
	struct take t2 = make_take(&cfg, 502);
	worker_submit(w, &t2);
	struct worker_counters c;
	for (int i = 0; i < 100; i++) {
		worker_counters(w, &c);
		if (c.delivery_failures >= 2)
			break;
		usleep(50000);
	}
	CHECK(c.delivery_failures >= 2); /* retried with backoff */
	CHECK_EQ_U64(c.delivered, 1);
	CHECK(exists("%s/queue/502/ghostrec-502.wav", cfg.spool_dir));
	CHECK(exists("%s/queue/502/.done-outbox", cfg.spool_dir));
	CHECK(!exists("%s/queue/502/.done-smb", cfg.spool_dir));
	CHECK(exists("%s/ghostrec-502.json", outbox));
	CHECK(!exists("%s/ghostrec-502.wav", share));
	status(w, buf, sizeof(buf));
	printf("while smbd is down: %s\n", buf);
	CHECK(strstr(buf, "\"take_id\":502") && strstr(buf, "\"delivered_to\":[\"outbox\"]"));

	/* 3. the queue survives a restart of the worker (i.e. of the exporter) */
	worker_stop(w);
	targets[0] = deliver_outbox_new(outbox, 0600, err, sizeof(err));
	targets[1] = deliver_smb_new(url, cred, err, sizeof(err));
	w = worker_start(&cfg, targets, 2);
	usleep(300000);
	CHECK(exists("%s/queue/502/ghostrec-502.wav", cfg.spool_dir));

	/* 4. smbd back: delivered, then and only then the queue entry goes */
	CHECK(smbd("restart") == 0);
	CHECK(wait_for(w, 1, 15));
	char a[4400], b[4400];
	snprintf(a, sizeof(a), "%s/ghostrec-502.wav", share);
	snprintf(b, sizeof(b), "%s/ghostrec-502.wav", outbox);
	CHECK(same_file(a, b));
	CHECK(exists("%s/ghostrec-502.json", share));
	for (int i = 0; i < 40 && exists("%s/queue/502", cfg.spool_dir); i++)
		usleep(50000);
	CHECK(!exists("%s/queue/502", cfg.spool_dir));
	status(w, buf, sizeof(buf));
	printf("after smbd is back: %s\n", buf);
	CHECK(strstr(buf, "\"queue\":[]"));

	worker_stop(w);

	/* 5. the delivery queue has no cap: 270 takes queued at once (an outbox only) all arrive,
	 * also those found in the queue folder at start */
	char outbox2[200];
	snprintf(outbox2, sizeof(outbox2), "%s/outbox2", base);
	mkdir(outbox2, 0700);
	struct deliver_target *t_out = deliver_outbox_new(outbox2, 0600, err, sizeof(err));
	CHECK(t_out != NULL);
	for (uint32_t id = 1000; id < 1020; id++)
		make_take_n(&cfg, id, false, 100); /* left from an "earlier run" */
	w = worker_start(&cfg, &t_out, 1);
	for (uint32_t id = 1020; id < 1270; id++) {
		struct take tk = make_take_n(&cfg, id, false, 100);
		worker_submit(w, &tk);
	}
	CHECK(wait_for(w, 270, 60));
	for (uint32_t id = 1000; id < 1270; id++)
		CHECK(exists("%s/ghostrec-%u.wav", outbox2, id) && exists("%s/ghostrec-%u.json", outbox2, id));
	worker_counters(w, &c);
	printf("270 takes queued at once: %" PRIu64 " delivered\n", c.delivered);
	CHECK_EQ_U64(c.delivered, 270);
	/* same filesystem: the outbox file is the queue file's inode (a hard link), not a copy */
	{
		struct take tk = make_take_n(&cfg, 2000, false, 100);
		char q[4400];
		struct stat sq, so;
		snprintf(q, sizeof(q), "%s/queue/2000/ghostrec-2000.wav", cfg.spool_dir);
		CHECK(stat(q, &sq) == 0);
		char dst[4400];
		snprintf(dst, sizeof(dst), "%s/linked.wav", outbox2);
		CHECK(deliver_place_file(q, dst, err, sizeof(err)) == 0);
		CHECK(stat(dst, &so) == 0 && so.st_ino == sq.st_ino);
		(void)tk;
	}

	worker_stop(w);
	smbd("stop");
	snprintf(buf, sizeof(buf), "rm -rf '%s'", base);
	CHECK(system(buf) == 0);
	return check_report("test-deliver");
}
