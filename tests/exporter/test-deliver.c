/* Delivery against a real smbd on a loopback port and a real folder: atomic files on the share,
 * the retry queue while smbd is down (the take stays queued, nothing is removed), delivery once
 * smbd is back, the queue surviving a worker restart, refusal of unsafe credentials, a queue of
 * 270 takes delivered whole (no cap), same-filesystem delivery by hard link, and a file sent
 * ahead in parts, completed with only what is missing (or whole when the part is not right).
 * argv[1] = tests/exporter/smbd.sh */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
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

/* size bytes of a pattern (seeded) at path; returns the file's stat. */
static struct stat write_pattern(const char *path, size_t size, unsigned seed)
{
	struct stat st;
	uint8_t *b = malloc(size);
	CHECK(b != NULL);
	for (size_t i = 0; i < size; i++)
		b[i] = (uint8_t)((i * 2654435761u + seed) >> 13);
	FILE *f = fopen(path, "wb");
	CHECK(f && fwrite(b, 1, size, f) == size);
	fclose(f);
	free(b);
	CHECK(stat(path, &st) == 0);
	return st;
}

static void overwrite(const char *path, uint64_t at, const void *data, size_t n)
{
	int fd = open(path, O_WRONLY);
	CHECK(fd >= 0 && pwrite(fd, data, n, (off_t)at) == (ssize_t)n);
	close(fd);
}

/* Sending ahead (put_part) and its completion by deliver_take_dir_sent against the real share:
 * only the rest and the head go when the copy there is what was sent; the whole file when it
 * is not (shortened on the share, gone, another local file). */
static void check_send_ahead(struct deliver_target *smb, const char *share)
{
	char dir[200], wav[300], side[300], got[300], part[300], err[512];
	const uint64_t head = 702, first = 1 << 20, sent = 2u << 20, total = 3u << 20;
	struct deliver_sent ds;
	for (int c = 0; c < 5; c++) {
		snprintf(dir, sizeof(dir), "%s/ahead%d", base, c);
		mkdir(dir, 0700);
		snprintf(wav, sizeof(wav), "%s/ahead%d.wav", dir, c);
		snprintf(side, sizeof(side), "%s/ahead%d.json", dir, c);
		snprintf(got, sizeof(got), "%s/ahead%d.wav", share, c);
		snprintf(part, sizeof(part), "%s/.ahead%d.wav.part", share, c);
		char name[64];
		snprintf(name, sizeof(name), "ahead%d.wav", c);
		/* while "recording": the first 2 MiB, in two parts */
		struct stat st = write_pattern(wav, sent, (unsigned)c);
		int fd = open(wav, O_RDONLY);
		CHECK(fd >= 0);
		CHECK(smb->put_part(smb, fd, name, 0, first, true, err, sizeof(err)) == 0);
		CHECK_MSG(smb->put_part(smb, fd, name, first, sent, false, err, sizeof(err)) == 0, "%s", err);
		close(fd);
		CHECK(same_file(part, wav));
		CHECK(!exists("%s", got));
		/* the take ends: the file grows, its header changes */
		write_pattern(side, 100, 9);
		fd = open(wav, O_WRONLY | O_APPEND);
		CHECK(fd >= 0);
		uint8_t tail[1 << 16];
		memset(tail, 0x5a, sizeof(tail));
		for (uint64_t n = sent; n < total; n += sizeof(tail))
			CHECK(write(fd, tail, sizeof(tail)) == (ssize_t)sizeof(tail));
		close(fd);
		uint8_t hdr[702];
		memset(hdr, 0xa5, sizeof(hdr));
		overwrite(wav, 0, hdr, sizeof(hdr));
		memset(&ds, 0, sizeof(ds));
		ds.n = 1;
		ds.head = head;
		snprintf(ds.f[0].name, sizeof(ds.f[0].name), "%s", name);
		ds.f[0].dev = st.st_dev;
		ds.f[0].ino = st.st_ino;
		ds.f[0].bytes = sent;
		/* a byte sent ahead changed locally afterwards (cannot happen to a take file): it
		 * tells whether the sent part was sent again */
		overwrite(wav, 5000, "X", 1);
		const char *what = "the rest and the head";
		if (c == 1) {
			what = "whole: the copy on the share was shortened";
			CHECK(truncate(part, (off_t)first) == 0);
		} else if (c == 2) {
			what = "whole: the copy on the share is gone";
			CHECK(unlink(part) == 0);
		} else if (c == 3) {
			what = "whole: another local file";
			ds.f[0].ino++;
		} else if (c == 4) {
			what = "whole: the local file is shorter than what was sent";
			CHECK(truncate(wav, (off_t)first) == 0);
		}
		CHECK(deliver_take_dir_sent(smb, dir, &ds, err, sizeof(err)) == 0);
		char *a, *b;
		size_t la, lb;
		CHECK(read_file(got, &a, &la) == 0 && read_file(wav, &b, &lb) == 0);
		CHECK_EQ_U64(la, lb);
		int differs_at_5000 = la == lb && a[5000] != b[5000];
		a[5000] = b[5000];
		CHECK(la == lb && memcmp(a, b, la) == 0); /* everything else: the local file's bytes */
		CHECK(differs_at_5000 == (c == 0));
		free(a);
		free(b);
		CHECK(!exists("%s", part));
		printf("sent ahead %llu of %llu bytes, completed %s: %s\n", (unsigned long long)sent,
		       (unsigned long long)lb, what, differs_at_5000 ? "the part stayed as sent" : "all sent again");
	}
	/* a part that is not there cannot be continued: -2 (start again) */
	int fd = open(wav, O_RDONLY);
	CHECK(fd >= 0);
	CHECK(smb->put_part(smb, fd, "never-sent.wav", first, sent, false, err, sizeof(err)) == -2);
	printf("continuing a part that is not on the share: %s\n", err);
	close(fd);
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

static uint64_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* The worker sending a take ahead while the test thread "records" it (24-bit, split channels),
 * as the recorder does: files grow, are synced, their synced frames are handed over; the
 * take is finished and submitted; the share ends up with exactly the local files. A dropped
 * take's copies go. */
static void check_worker_send_ahead(const struct exporter_config *cfg, const char *url, const char *cred,
				    const char *share)
{
	char err[512], dir[4200], dst[4200];
	struct deliver_target *smb = deliver_smb_new(url, cred, err, sizeof(err));
	CHECK(smb != NULL);
	struct worker *w = worker_start(cfg, &smb, 1);
	CHECK(w != NULL);
	const char *names[] = { "ghostrec-700.wav", "ghostrec-700-ch0.wav", "ghostrec-700-ch1.wav" };
	for (uint32_t id = 700; id <= 701; id++) {
		struct take t;
		struct take_output o;
		take_begin(&t, id, "ghostrec", TAKE_FORMAT_PCM24, true, 48000, 2, 1, 0.1, 0.1);
		snprintf(t.channel_map[0], 8, "FL");
		snprintf(t.channel_map[1], 8, "FR");
		take_marked(&t, 4800, 0);
		snprintf(dir, sizeof(dir), "%s/queue/.build-%u", cfg->spool_dir, id);
		CHECK(mkdir(dir, 0700) == 0);
		CHECK(take_output_open(&o, &t, dir, false, err, sizeof(err)) == 0);
		static float buf[2 * 4800];
		for (int block = 0; block < 40; block++) {
			for (int i = 0; i < 4800; i++) {
				buf[2 * i] = (float)sin((block * 4800 + i) * 0.01) * 0.5f;
				buf[2 * i + 1] = (float)((block * 4800 + i) % 977) / 977.0f - 0.5f;
			}
			CHECK(take_output_append(&o, buf, 2, 4800) == 0);
			t.spooled += 4800;
			CHECK(take_output_sync(&o) == 0);
			worker_send_ahead(w, &t, dir, t.spooled);
		}
		char part[4400];
		snprintf(part, sizeof(part), "%s/.ghostrec-%u-ch1.wav.part", share, id);
		uint64_t want = 702 + t.spooled * 3;
		for (int i = 0; i < 300 && file_size(part) < want; i++)
			usleep(50000);
		CHECK_EQ_U64(file_size(part), want); /* everything synced is there before the end */
		if (id == 701) {
			worker_send_ahead_drop(w, id);
			snprintf(part, sizeof(part), "%s/.ghostrec-%u.wav.part", share, id);
			for (int i = 0; i < 300 && exists("%s", part); i++)
				usleep(50000);
			CHECK(!exists("%s", part));
			CHECK(!exists("%s/.ghostrec-%u-ch0.wav.part", share, id));
			printf("dropped take %u: its copies on the share are gone\n", id);
			take_output_close(&o);
			continue;
		}
		take_stop(&t, 4800 + t.spooled);
		CHECK(take_output_finish(&o, &t, err, sizeof(err)) == 0);
		spool_queue_path(dst, sizeof(dst), cfg->spool_dir, id);
		CHECK(rename(dir, dst) == 0);
		char *local[3];
		size_t local_len[3];
		for (int k = 0; k < 3; k++) {
			char p[4400];
			snprintf(p, sizeof(p), "%s/%s", dst, names[k]);
			CHECK(read_file(p, &local[k], &local_len[k]) == 0);
		}
		worker_submit(w, &t);
		CHECK(wait_for(w, 1, 15));
		for (int k = 0; k < 3; k++) {
			char p[4400], *got;
			size_t len;
			snprintf(p, sizeof(p), "%s/%s", share, names[k]);
			CHECK(read_file(p, &got, &len) == 0);
			CHECK(len == local_len[k] && memcmp(got, local[k], len) == 0);
			free(got);
			free(local[k]);
		}
		CHECK(exists("%s/ghostrec-700.json", share));
		CHECK(!exists("%s/.ghostrec-700.wav.part", share));
		printf("take 700 sent ahead by the worker while written (%llu synced frames), finished, delivered: "
		       "the share's files are the local ones\n", (unsigned long long)t.spooled);
	}
	worker_stop(w);
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

	check_send_ahead(targets[1], share);
	check_worker_send_ahead(&cfg, url, cred, share);

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
