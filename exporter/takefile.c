/* Clean take WAV written as you go (see takefile.h). */
#include "takefile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common/fileio.h"

#define BUF_FRAMES 4096u
#define JUNK_OFF 12u
#define FMT_OFF 48u
#define FACT_OFF 72u
#define BEXT_OFF 84u
#define BEXT_SIZE 602u
#define DATA_HDR_OFF (BEXT_OFF + 8u + BEXT_SIZE)

_Static_assert(DATA_HDR_OFF + 8u == TAKEFILE_DATA_OFFSET, "take file layout");

static void le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static void le64(uint8_t *p, uint64_t v)
{
	le32(p, (uint32_t)v);
	le32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t bytes_per_frame(const struct takefile *f)
{
	return f->channels * (f->pcm24 ? 3u : 4u);
}

static void build_header(const struct takefile *f, uint8_t *h)
{
	uint32_t bpf = bytes_per_frame(f);
	memset(h, 0, TAKEFILE_DATA_OFFSET);
	memcpy(h, "RIFF", 4);
	le32(h + 4, TAKEFILE_DATA_OFFSET - 8);
	memcpy(h + 8, "WAVE", 4);
	memcpy(h + JUNK_OFF, "JUNK", 4);
	le32(h + JUNK_OFF + 4, 28);
	memcpy(h + FMT_OFF, "fmt ", 4);
	le32(h + FMT_OFF + 4, 16);
	le16(h + FMT_OFF + 8, f->pcm24 ? 1 : 3);
	le16(h + FMT_OFF + 10, (uint16_t)f->channels);
	le32(h + FMT_OFF + 12, f->rate);
	le32(h + FMT_OFF + 16, f->rate * bpf);
	le16(h + FMT_OFF + 20, (uint16_t)bpf);
	le16(h + FMT_OFF + 22, f->pcm24 ? 24 : 32);
	memcpy(h + FACT_OFF, "fact", 4);
	le32(h + FACT_OFF + 4, 4);
	memcpy(h + BEXT_OFF, "bext", 4);
	le32(h + BEXT_OFF + 4, BEXT_SIZE);
	le16(h + BEXT_OFF + 8 + 346, 1); /* version */
	memcpy(h + DATA_HDR_OFF, "data", 4);
}

static int setup(struct takefile *f, int fd, uint32_t rate, uint32_t channels, bool pcm24)
{
	memset(f, 0, sizeof(*f));
	f->fd = fd;
	f->rate = rate;
	f->channels = channels;
	f->pcm24 = pcm24;
	f->buf_frames = BUF_FRAMES;
	f->buf = malloc(BUF_FRAMES * (size_t)bytes_per_frame(f));
	return f->buf ? 0 : -ENOMEM;
}

int takefile_create(struct takefile *f, const char *path, uint32_t rate, uint32_t channels, bool pcm24)
{
	uint8_t h[TAKEFILE_DATA_OFFSET];
	if (channels == 0 || channels > 64 || rate == 0)
		return -EINVAL;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int e = setup(f, fd, rate, channels, pcm24);
	if (e == 0) {
		build_header(f, h);
		e = ghostrec_pwrite_all(fd, h, sizeof(h), 0);
	}
	if (e < 0) {
		takefile_close(f);
		unlink(path);
	}
	return e;
}

int takefile_reopen(struct takefile *f, const char *path, uint32_t rate, uint32_t channels, bool pcm24)
{
	uint8_t h[TAKEFILE_DATA_OFFSET], want[TAKEFILE_DATA_OFFSET];
	struct stat st;
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int e = setup(f, fd, rate, channels, pcm24);
	if (e == 0 && (fstat(fd, &st) < 0 || pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h)))
		e = -EPROTO;
	if (e == 0) {
		/* everything but the sizes must be what takefile_create wrote (or a finish that
		 * failed later: RF64 with its ds64 where the JUNK was) */
		if (memcmp(h, "RF64", 4) == 0 && memcmp(h + JUNK_OFF, "ds64", 4) == 0) {
			memcpy(h, "RIFF", 4);
			memcpy(h + JUNK_OFF, "JUNK", 4);
			memset(h + JUNK_OFF + 8, 0, 28);
		}
		build_header(f, want);
		memset(h + 4, 0, 4), memset(want + 4, 0, 4);
		memset(h + FACT_OFF + 8, 0, 4), memset(want + FACT_OFF + 8, 0, 4);
		memset(h + BEXT_OFF + 8, 0, BEXT_SIZE), memset(want + BEXT_OFF + 8, 0, BEXT_SIZE);
		memset(h + DATA_HDR_OFF + 4, 0, 4), memset(want + DATA_HDR_OFF + 4, 0, 4);
		if (memcmp(h, want, sizeof(h)) != 0)
			e = -EPROTO;
	}
	if (e == 0) {
		f->frames = ((uint64_t)st.st_size - TAKEFILE_DATA_OFFSET) / bytes_per_frame(f);
		e = takefile_truncate(f, f->frames);
	}
	if (e < 0)
		takefile_close(f);
	return e;
}

static inline int32_t to_pcm24(float x)
{
	/* libsndfile's float -> 24-bit conversion with clipping on (pcm.c, f2let_clip_array) */
	float v = x * (float)0x80000000u;
	if (v >= 1.0 * 0x7FFFFFFF)
		return 0x7FFFFF;
	if (v <= -8.0 * 0x10000000)
		return -0x800000;
	return (int32_t)lrintf(v) >> 8;
}

int takefile_append(struct takefile *f, const float *in, uint32_t in_channels, int channel, uint32_t n)
{
	uint32_t bpf = bytes_per_frame(f), done = 0;
	if (channel < 0 ? in_channels != f->channels : (f->channels != 1 || (uint32_t)channel >= in_channels))
		return -EINVAL;
	while (done < n) {
		uint32_t k = n - done > f->buf_frames ? (uint32_t)f->buf_frames : n - done;
		uint8_t *p = f->buf;
		const void *src = f->buf;
		if (in && channel < 0 && !f->pcm24) {
			/* float32, every channel: the frames are the file's bytes already */
			k = n - done;
			src = in + (size_t)done * in_channels;
		} else for (uint32_t i = 0; i < k; i++) {
			const float *fr = in ? in + (size_t)(done + i) * in_channels : NULL;
			for (uint32_t c = 0; c < f->channels; c++) {
				float x = fr ? fr[channel < 0 ? c : (uint32_t)channel] : 0.0f;
				if (f->pcm24) {
					int32_t v = to_pcm24(x);
					p[0] = (uint8_t)v;
					p[1] = (uint8_t)(v >> 8);
					p[2] = (uint8_t)(v >> 16);
					p += 3;
				} else {
					memcpy(p, &x, 4);
					p += 4;
				}
			}
		}
		off_t off = (off_t)(TAKEFILE_DATA_OFFSET + (f->frames + done) * bpf);
		int e = ghostrec_pwrite_all(f->fd, src, (size_t)k * bpf, off);
		if (e < 0) {
			takefile_truncate(f, f->frames);
			return e;
		}
		done += k;
	}
	f->frames += n;
	f->unsynced += n;
	return 0;
}

int takefile_truncate(struct takefile *f, uint64_t frames)
{
	if (ftruncate(f->fd, (off_t)(TAKEFILE_DATA_OFFSET + frames * bytes_per_frame(f))) < 0)
		return -errno;
	f->frames = frames;
	return 0;
}

/* RIFF, fact and data sizes of a plain WAV holding f->frames (data: its byte count; pad: the
 * pad byte after an odd-sized data chunk is there). */
static int write_sizes(struct takefile *f, uint64_t data, bool pad)
{
	uint8_t sz[4];
	le32(sz, (uint32_t)(TAKEFILE_DATA_OFFSET - 8 + data + (pad ? data & 1 : 0)));
	int e = ghostrec_pwrite_all(f->fd, sz, 4, 4);
	le32(sz, (uint32_t)f->frames);
	if (e == 0)
		e = ghostrec_pwrite_all(f->fd, sz, 4, FACT_OFF + 8);
	le32(sz, (uint32_t)data);
	if (e == 0)
		e = ghostrec_pwrite_all(f->fd, sz, 4, DATA_HDR_OFF + 4);
	return e;
}

int takefile_sync_begin(struct takefile *f)
{
	if (f->fd < 0 || !f->unsynced)
		return 0;
	f->unsynced = 0;
	/* the header follows the data at every sync: after a crash or power loss the file plays
	 * as it is, up to the last sync, without any recovery (the odd pad byte comes at finish) */
	uint64_t data = f->frames * bytes_per_frame(f);
	if (data <= takefile_riff_limit) {
		int e = write_sizes(f, data, false);
		if (e < 0)
			return e;
	}
	return 1;
}

int takefile_sync(struct takefile *f)
{
	int e = takefile_sync_begin(f);
	if (e <= 0)
		return e;
	return fdatasync(f->fd) < 0 ? -errno : 0;
}

/* RIFF sizes are 32-bit: keep room for the metadata chunks added after the data. */
uint64_t takefile_riff_limit = 0xFFFFFFFFull - (1u << 20);

int takefile_finish(struct takefile *f, const char *description, const char *start_utc, uint32_t take_id)
{
	uint8_t b[BEXT_SIZE], sz[8];
	uint64_t data = f->frames * bytes_per_frame(f);
	int e = 0;
	memset(b, 0, sizeof(b));
	snprintf((char *)b, 256, "%s", description);
	memcpy(b + 256, "pw-ghost-rec", 12);
	char ref[32];
	snprintf(ref, sizeof(ref), "ghostrec-%" PRIu32, take_id);
	memcpy(b + 288, ref, strlen(ref));
	if (start_utc && strlen(start_utc) >= 19) {
		memcpy(b + 320, start_utc, 10);      /* origination date */
		memcpy(b + 330, start_utc + 11, 8);  /* origination time */
	}
	le16(b + 346, 1);
	e = ghostrec_pwrite_all(f->fd, b, sizeof(b), BEXT_OFF + 8);
	if (data & 1) {
		uint8_t pad = 0; /* a chunk of odd size is padded; the pad is not data */
		if (e == 0)
			e = ghostrec_pwrite_all(f->fd, &pad, 1, (off_t)(TAKEFILE_DATA_OFFSET + data));
	}
	uint64_t riff = TAKEFILE_DATA_OFFSET - 8 + data + (data & 1);
	if (e == 0 && data > takefile_riff_limit) {
		le32(sz, f->frames > UINT32_MAX ? UINT32_MAX : (uint32_t)f->frames);
		e = ghostrec_pwrite_all(f->fd, sz, 4, FACT_OFF + 8);
		uint8_t ds[36];
		memcpy(ds, "ds64", 4);
		le32(ds + 4, 28);
		le64(ds + 8, riff);
		le64(ds + 16, data);
		le64(ds + 24, f->frames);
		le32(ds + 32, 0);
		if (e == 0)
			e = ghostrec_pwrite_all(f->fd, ds, sizeof(ds), JUNK_OFF);
		le32(sz, UINT32_MAX);
		if (e == 0)
			e = ghostrec_pwrite_all(f->fd, "RF64", 4, 0);
		if (e == 0)
			e = ghostrec_pwrite_all(f->fd, sz, 4, 4);
		if (e == 0)
			e = ghostrec_pwrite_all(f->fd, sz, 4, DATA_HDR_OFF + 4);
	} else if (e == 0) {
		e = write_sizes(f, data, true);
	}
	takefile_close(f);
	return e;
}

void takefile_close(struct takefile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	free(f->buf);
	f->buf = NULL;
	f->fd = -1;
}
