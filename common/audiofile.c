/* Audio files as float frames through libsndfile: see audiofile.h.
 *
 * Plain little-endian PCM (16/24/32-bit) and float32 data in WAV, WAVEX, RF64 and W64 are
 * read straight from the file (a small mapped window that slides along it) and decoded
 * here with libsndfile's normalisation, checked against libsndfile on open: the same
 * floats without its copies and small reads. Everything else goes through libsndfile. */
#include "audiofile.h"

#include <errno.h>
#include <fcntl.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Block cache: a few blocks of this many frames. Four blocks let a walker compare two
 * places in one file (a checkpoint and a search window) without re-reading. */
#define CACHE_BLOCK_FRAMES 16384
#define CACHE_SLOTS 4

struct cache_slot {
	int64_t block;      /* block index, -1 when empty */
	uint64_t last_use;
	float *data;        /* CACHE_BLOCK_FRAMES * channels */
};

/* Raw sample layouts read without libsndfile. */
enum { RAW_NONE = 0, RAW_S16, RAW_S24, RAW_S32, RAW_F32 };

/* Mapped windows slide along the data; at least this many bytes are mapped at once, in a
 * few windows so that reads at two or three places of a file (a walk and a search) do not
 * map and unmap every time (file-backed pages count in the resident set only while mapped). */
#define RAW_WINDOW (512u << 10)
#define RAW_WINDOWS 4

struct raw_window {
	unsigned char *map; /* [off, off + len) of the file, or NULL */
	int64_t off;
	size_t len;
	uint64_t last_use;
};

struct raw_reader {
	int kind;           /* RAW_* */
	int fd;             /* our own descriptor of the file (-1 if none) */
	int64_t data_offset;
	size_t bytes;       /* bytes per sample */
	size_t bpf;         /* bytes per frame */
	struct raw_window win[RAW_WINDOWS];
	int windows;        /* how many of them are used (RAW_WINDOWS, or 1 for forward reads) */
	uint64_t use_clock;
};

/* A writer starts the kernel's write-back every this many bytes, so the data is on its way
 * to the disk while the rest is computed, and the sync at close waits only for the tail. */
#define WRITEBACK_STEP (8 << 20)

struct ghostrec_audiofile {
	SNDFILE *sf;
	struct raw_reader raw;
	int wb_fd;          /* writer: a descriptor for sync_file_range, -1 if none */
	int64_t written, wb_from;
	int writing;
	int write_errno;    /* writer: why the first failed write failed, 0 while none did */
	int64_t position;   /* where libsndfile's read pointer is, to skip needless seeks */
	struct ghostrec_audioinfo info;
	struct cache_slot slots[CACHE_SLOTS];
	uint64_t use_clock;
	void *memfile;      /* state of an in-memory reader, freed on close */
};

static int bits_of(int format, int *is_float)
{
	*is_float = 0;
	switch (format & SF_FORMAT_SUBMASK) {
	case SF_FORMAT_PCM_S8:
	case SF_FORMAT_PCM_U8:
		return 8;
	case SF_FORMAT_PCM_16:
		return 16;
	case SF_FORMAT_PCM_24:
		return 24;
	case SF_FORMAT_PCM_32:
		return 32;
	case SF_FORMAT_FLOAT:
		*is_float = 1;
		return 32;
	case SF_FORMAT_DOUBLE:
		*is_float = 1;
		return 64;
	default:
		return 0;
	}
}

const char *ghostrec_audiofile_format_name(const struct ghostrec_audioinfo *info)
{
	if (info->is_float)
		return info->bits == 64 ? "float64" : "float32";
	switch (info->bits) {
	case 8:
		return "pcm8";
	case 16:
		return "pcm16";
	case 24:
		return "pcm24";
	default:
		return "pcm32";
	}
}

/* libsndfile opens a file whose data chunk is shorter than its header says and quietly
 * reads what is there; its log is the only place that says so. A truncated take or clean
 * file is refused: silently conforming half a recording is not what anyone asked for. */
static int looks_truncated(SNDFILE *sf)
{
	char log[16384];
	log[0] = '\0';
	sf_command(sf, SFC_GET_LOG_INFO, log, sizeof(log));
	for (const char *line = log; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		if (len >= 4 && strncmp(line, "data", 4) == 0 && memmem(line, len, "should be", 9))
			return 1;
		if (memmem(line, len, "Calculated frame count", 22) && memmem(line, len, "does not match", 14))
			return 1;
	}
	return 0;
}

/* Checks what libsndfile opened and wraps it; closes sf on failure. */
static struct ghostrec_audiofile *wrap_reader(SNDFILE *sf, const SF_INFO *sfi, const char *path,
					      char *err, size_t errsize)
{
	int is_float;
	int bits = bits_of(sfi->format, &is_float);
	if (bits == 0 || sfi->channels <= 0 || sfi->samplerate <= 0 || sfi->frames < 0) {
		snprintf(err, errsize, "%s: unsupported sample format (need 8/16/24/32-bit PCM or float)",
			 path);
		sf_close(sf);
		return NULL;
	}
	if (looks_truncated(sf)) {
		snprintf(err, errsize, "%s: truncated file: the header promises more audio than the file holds",
			 path);
		sf_close(sf);
		return NULL;
	}
	struct ghostrec_audiofile *af = calloc(1, sizeof(*af));
	if (!af) {
		snprintf(err, errsize, "%s: out of memory", path);
		sf_close(sf);
		return NULL;
	}
	af->sf = sf;
	af->raw.fd = -1;
	af->wb_fd = -1;
	af->info.frames = sfi->frames;
	af->info.rate = sfi->samplerate;
	af->info.channels = sfi->channels;
	af->info.bits = bits;
	af->info.is_float = is_float;
	af->info.format = sfi->format;
	for (int i = 0; i < CACHE_SLOTS; i++)
		af->slots[i].block = -1;
	/* Normalised float is libsndfile's default; say it so a changed default cannot bite. */
	sf_command(sf, SFC_SET_NORM_FLOAT, NULL, SF_TRUE);
	return af;
}

/* ---- raw reads ---- */

static void raw_unmap(struct raw_reader *r)
{
	for (int i = 0; i < RAW_WINDOWS; i++) {
		if (r->win[i].map)
			munmap(r->win[i].map, r->win[i].len);
		r->win[i].map = NULL;
		r->win[i].len = 0;
	}
}

/* The bytes of frames [start, start + n) (inside the file), through the mapped windows
 * (valid until the next call); NULL if they cannot be mapped (the caller reads them through
 * libsndfile instead). */
static const unsigned char *raw_span(struct raw_reader *r, int64_t start, int64_t n)
{
	int64_t off = r->data_offset + start * (int64_t)r->bpf;
	int64_t len = n * (int64_t)r->bpf;
	struct raw_window *w = &r->win[0];
	for (int i = 0; i < r->windows; i++) {
		struct raw_window *x = &r->win[i];
		if (x->map && off >= x->off && off + len <= x->off + (int64_t)x->len) {
			x->last_use = ++r->use_clock;
			return x->map + (off - x->off);
		}
		if (x->last_use < w->last_use)
			w = x;
	}
	if (w->map)
		munmap(w->map, w->len);
	w->map = NULL;
	int64_t page = (int64_t)sysconf(_SC_PAGESIZE);
	if (page <= 0)
		page = 4096;
	int64_t moff = off - off % page;
	int64_t mlen = off + len - moff;
	if (mlen < (int64_t)RAW_WINDOW)
		mlen = RAW_WINDOW;
	void *m = mmap(NULL, (size_t)mlen, PROT_READ, MAP_PRIVATE | MAP_POPULATE, r->fd, (off_t)moff);
	if (m == MAP_FAILED)
		return NULL;
	w->map = m;
	w->off = moff;
	w->len = (size_t)mlen;
	w->last_use = ++r->use_clock;
	return w->map + (off - moff);
}

/* n samples of layout `kind` -> floats, exactly as libsndfile normalises them. */
static void raw_decode(int kind, const unsigned char *p, size_t n, float *out)
{
	switch (kind) {
	case RAW_S16:
		for (size_t i = 0; i < n; i++)
			out[i] = ghostrec_pcm_sample(GHOSTREC_LAYOUT_S16, p, i);
		break;
	case RAW_S24: {
		size_t i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		/* four bytes at a time (the fourth is the next sample's, shifted out) */
		for (; i + 1 < n; i++) {
			uint32_t w;
			memcpy(&w, p + 3 * i, 4);
			out[i] = (float)(int32_t)(w << 8) * (1.0f / 2147483648.0f);
		}
#endif
		for (; i < n; i++)
			out[i] = ghostrec_pcm_sample(GHOSTREC_LAYOUT_S24, p, i);
		break;
	}
	case RAW_S32:
		for (size_t i = 0; i < n; i++) {
			const unsigned char *q = p + 4 * i;
			int32_t v = (int32_t)((uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 |
					      (uint32_t)q[3] << 24);
			out[i] = (float)v * (1.0f / 2147483648.0f);
		}
		break;
	default:
		memcpy(out, p, n * sizeof(float));
		break;
	}
}

/* A container whose sample data is one contiguous little-endian run (WAV, WAVEX, RF64, W64). */
static int plain_container(int format)
{
	int container = format & SF_FORMAT_TYPEMASK;
	int endian = format & SF_FORMAT_ENDMASK;
	return (container == SF_FORMAT_WAV || container == SF_FORMAT_WAVEX || container == SF_FORMAT_RF64 ||
		container == SF_FORMAT_W64) &&
	       (endian == SF_ENDIAN_FILE || endian == SF_ENDIAN_LITTLE);
}

/* Sets up raw reads of an opened file when its data is a plain little-endian layout this
 * file decodes, at the offset where libsndfile found it, and when a few probes decode to
 * what libsndfile reads there; otherwise leaves them off. */
static void raw_setup(struct ghostrec_audiofile *af, int fd)
{
	struct raw_reader *r = &af->raw;
	const struct ghostrec_audioinfo *in = &af->info;
	if (!plain_container(in->format) || in->frames <= 0 || in->channels > 1024)
		return;
	switch (in->format & SF_FORMAT_SUBMASK) {
	case SF_FORMAT_PCM_16:
		r->kind = RAW_S16, r->bytes = 2;
		break;
	case SF_FORMAT_PCM_24:
		r->kind = RAW_S24, r->bytes = 3;
		break;
	case SF_FORMAT_PCM_32:
		r->kind = RAW_S32, r->bytes = 4;
		break;
	case SF_FORMAT_FLOAT:
		r->kind = RAW_F32, r->bytes = 4;
		break;
	default:
		return;
	}
	r->fd = fd;
	r->windows = RAW_WINDOWS;
	r->bpf = r->bytes * (size_t)in->channels;
	struct stat st;
	if (sf_seek(af->sf, 0, SEEK_SET) != 0 || (r->data_offset = lseek(fd, 0, SEEK_CUR)) < 0 ||
	    fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (int64_t)st.st_size < r->data_offset ||
	    ((int64_t)st.st_size - r->data_offset) / (int64_t)r->bpf < in->frames) {
		r->kind = RAW_NONE;
		return;
	}
	/* Probes at the start, inside and at the end: bit for bit what libsndfile reads. */
	enum { PROBE = 256 };
	size_t ch = (size_t)in->channels;
	float *a = malloc(sizeof(float) * PROBE * ch), *b = malloc(sizeof(float) * PROBE * ch);
	int ok = a && b;
	int64_t n = in->frames < PROBE ? in->frames : PROBE;
	int64_t at[4] = {0, in->frames / 3, 2 * (in->frames / 3), in->frames - n};
	for (int i = 0; i < 4 && ok; i++) {
		if (at[i] + n > in->frames)
			at[i] = in->frames - n;
		const unsigned char *p = raw_span(r, at[i], n);
		ok = p && sf_seek(af->sf, at[i], SEEK_SET) == at[i] && sf_readf_float(af->sf, a, n) == n;
		if (ok) {
			raw_decode(r->kind, p, (size_t)n * ch, b);
			ok = memcmp(a, b, sizeof(float) * (size_t)n * ch) == 0;
		}
	}
	free(a);
	free(b);
	af->position = -1;
	if (!ok) {
		raw_unmap(r);
		r->kind = RAW_NONE;
	}
}

struct ghostrec_audiofile *ghostrec_audiofile_open(const char *path, char *err, size_t errsize)
{
	SF_INFO sfi;
	memset(&sfi, 0, sizeof(sfi));
	/* Our own descriptor, shared with libsndfile, for the raw reads. */
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	SNDFILE *sf = fd >= 0 ? sf_open_fd(fd, SFM_READ, &sfi, SF_FALSE) : NULL;
	if (!sf && fd >= 0) {
		/* libsndfile's own open says why, in its words */
		close(fd);
		fd = -1;
		memset(&sfi, 0, sizeof(sfi));
	}
	if (!sf)
		sf = sf_open(path, SFM_READ, &sfi);
	if (!sf) {
		snprintf(err, errsize, "%s: cannot read audio file: %s", path, sf_strerror(NULL));
		return NULL;
	}
	struct ghostrec_audiofile *af = wrap_reader(sf, &sfi, path, err, errsize);
	if (!af) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	af->raw.fd = fd;
	if (fd >= 0)
		raw_setup(af, fd);
	return af;
}

/* libsndfile virtual I/O over a memory image. */
struct memfile {
	const unsigned char *data;
	sf_count_t size;
	sf_count_t pos;
};

static sf_count_t mem_get_filelen(void *user)
{
	return ((struct memfile *)user)->size;
}

static sf_count_t mem_seek(sf_count_t offset, int whence, void *user)
{
	struct memfile *m = user;
	sf_count_t to = whence == SEEK_SET ? offset : whence == SEEK_CUR ? m->pos + offset : m->size + offset;
	if (to < 0 || to > m->size)
		return -1;
	m->pos = to;
	return to;
}

static sf_count_t mem_read(void *ptr, sf_count_t count, void *user)
{
	struct memfile *m = user;
	if (count > m->size - m->pos)
		count = m->size - m->pos;
	if (count <= 0)
		return 0;
	memcpy(ptr, m->data + m->pos, (size_t)count);
	m->pos += count;
	return count;
}

static sf_count_t mem_write(const void *ptr, sf_count_t count, void *user)
{
	(void)ptr;
	(void)count;
	(void)user;
	return 0;
}

static sf_count_t mem_tell(void *user)
{
	return ((struct memfile *)user)->pos;
}

struct ghostrec_audiofile *ghostrec_audiofile_open_memory(const void *data, size_t size,
							  const char *name, char *err,
							  size_t errsize)
{
	static SF_VIRTUAL_IO vio = {mem_get_filelen, mem_seek, mem_read, mem_write, mem_tell};
	struct memfile *m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errsize, "%s: out of memory", name);
		return NULL;
	}
	m->data = data;
	m->size = (sf_count_t)size;
	SF_INFO sfi;
	memset(&sfi, 0, sizeof(sfi));
	SNDFILE *sf = sf_open_virtual(&vio, SFM_READ, &sfi, m);
	if (!sf) {
		snprintf(err, errsize, "%s: cannot read audio file: %s", name, sf_strerror(NULL));
		free(m);
		return NULL;
	}
	struct ghostrec_audiofile *af = wrap_reader(sf, &sfi, name, err, errsize);
	if (!af) {
		free(m);
		return NULL;
	}
	af->memfile = m;
	return af;
}

struct ghostrec_audiofile *ghostrec_audiofile_create_like(const char *path,
							  const struct ghostrec_audioinfo *like,
							  int channels, char *err, size_t errsize)
{
	SF_INFO sfi;
	memset(&sfi, 0, sizeof(sfi));
	sfi.samplerate = like->rate;
	sfi.channels = channels;
	sfi.format = like->format;
	SNDFILE *sf = sf_open(path, SFM_WRITE, &sfi);
	if (!sf) {
		snprintf(err, errsize, "%s: cannot create audio file: %s", path, sf_strerror(NULL));
		return NULL;
	}
	struct ghostrec_audiofile *af = calloc(1, sizeof(*af));
	if (!af) {
		snprintf(err, errsize, "%s: out of memory", path);
		sf_close(sf);
		return NULL;
	}
	af->sf = sf;
	af->raw.fd = -1;
	af->writing = 1;
	af->wb_fd = open(path, O_WRONLY | O_CLOEXEC);
	af->info = *like;
	af->info.channels = channels;
	af->info.frames = 0;
	for (int i = 0; i < CACHE_SLOTS; i++)
		af->slots[i].block = -1;
	sf_command(sf, SFC_SET_NORM_FLOAT, NULL, SF_TRUE);
	sf_command(sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
	return af;
}

/* Keeps the first write failure's reason (libsndfile leaves the failed write's errno). */
static void write_failure(struct ghostrec_audiofile *af)
{
	if (!af->write_errno)
		af->write_errno = errno ? errno : EIO;
}

int ghostrec_audiofile_close(struct ghostrec_audiofile *af)
{
	if (!af)
		return 0;
	int rc = af->write_errno ? -1 : 0;
	if (af->writing)
		sf_write_sync(af->sf);
	if (sf_close(af->sf) != 0) {
		write_failure(af);
		rc = -1;
	}
	/* A full disk may only show when the kernel writes the data back: libsndfile's sync does
	 * not say, this one does (the descriptor was opened before any data was written). */
	if (af->writing && af->wb_fd >= 0 && fsync(af->wb_fd) != 0) {
		write_failure(af);
		rc = -1;
	}
	int why = af->write_errno ? af->write_errno : EIO;
	raw_unmap(&af->raw);
	if (af->raw.fd >= 0)
		close(af->raw.fd);
	if (af->wb_fd >= 0)
		close(af->wb_fd);
	for (int i = 0; i < CACHE_SLOTS; i++)
		free(af->slots[i].data);
	free(af->memfile);
	free(af);
	if (rc != 0)
		errno = why;
	return rc;
}

const struct ghostrec_audioinfo *ghostrec_audiofile_info(const struct ghostrec_audiofile *af)
{
	return &af->info;
}

void *ghostrec_audiofile_sndfile(struct ghostrec_audiofile *af)
{
	return af->sf;
}

int ghostrec_audiofile_read(struct ghostrec_audiofile *af, int64_t start, int64_t n, float *out)
{
	int ch = af->info.channels;
	int rc = 0;
	if (af->writing)
		return -1;
	/* Frames before the file start read as silence. */
	while (n > 0 && start < 0) {
		for (int c = 0; c < ch; c++)
			*out++ = 0.0f;
		start++;
		n--;
	}
	int64_t in_file = 0;
	if (start < af->info.frames)
		in_file = n < af->info.frames - start ? n : af->info.frames - start;
	if (in_file > 0 && af->raw.kind) {
		const unsigned char *p = raw_span(&af->raw, start, in_file);
		if (p) {
			raw_decode(af->raw.kind, p, (size_t)(in_file * ch), out);
			for (int64_t i = in_file * ch; i < n * ch; i++)
				out[i] = 0.0f;
			return 0;
		}
	}
	if (in_file > 0) {
		if (af->position != start) {
			if (sf_seek(af->sf, start, SEEK_SET) != start) {
				af->position = -1;
				in_file = 0;
				rc = -1;
			}
		}
		if (in_file > 0) {
			sf_count_t got = sf_readf_float(af->sf, out, in_file);
			if (got < 0)
				got = 0;
			af->position = start + got;
			if (got < in_file) {
				/* Truncated file: the header promised more than is there. */
				rc = -1;
				in_file = got;
			}
		}
	}
	for (int64_t i = in_file * ch; i < n * ch; i++)
		out[i] = 0.0f;
	return rc;
}

const float *ghostrec_audiofile_frame(struct ghostrec_audiofile *af, int64_t frame)
{
	if (frame < 0 || frame >= af->info.frames || af->writing)
		return NULL;
	int64_t block = frame / CACHE_BLOCK_FRAMES;
	size_t ch = (size_t)af->info.channels;
	struct cache_slot *slot = NULL;
	for (int i = 0; i < CACHE_SLOTS; i++) {
		if (af->slots[i].block == block) {
			slot = &af->slots[i];
			break;
		}
	}
	if (!slot) {
		/* Reuse the least recently used slot. */
		slot = &af->slots[0];
		for (int i = 1; i < CACHE_SLOTS; i++)
			if (af->slots[i].last_use < slot->last_use)
				slot = &af->slots[i];
		if (!slot->data) {
			slot->data = malloc(sizeof(float) * ch * CACHE_BLOCK_FRAMES);
			if (!slot->data)
				return NULL;
		}
		slot->block = block;
		ghostrec_audiofile_read(af, block * CACHE_BLOCK_FRAMES, CACHE_BLOCK_FRAMES, slot->data);
	}
	slot->last_use = ++af->use_clock;
	return slot->data + (size_t)(frame - block * CACHE_BLOCK_FRAMES) * ch;
}

/* After a write of `bytes`: starts the write-back of what came since the last start. */
static void written(struct ghostrec_audiofile *af, int64_t bytes)
{
	af->written += bytes;
	if (af->wb_fd >= 0 && af->written - af->wb_from >= WRITEBACK_STEP) {
		sync_file_range(af->wb_fd, (off_t)af->wb_from, 0, SYNC_FILE_RANGE_WRITE);
		af->wb_from = af->written;
	}
}

int ghostrec_audiofile_write(struct ghostrec_audiofile *af, const float *frames, int64_t n)
{
	if (!af->writing)
		return -1;
	sf_count_t put = sf_writef_float(af->sf, frames, n);
	if (put != n) {
		write_failure(af);
		return -1;
	}
	af->info.frames += n;
	written(af, n * af->info.channels * (af->info.bits / 8));
	return 0;
}

int ghostrec_audiofile_write_int(struct ghostrec_audiofile *af, const int32_t *frames, int64_t n)
{
	if (!af->writing)
		return -1;
	sf_count_t put = sf_writef_int(af->sf, frames, n); /* ints are never scaled */
	if (put != n) {
		write_failure(af);
		return -1;
	}
	af->info.frames += n;
	written(af, n * af->info.channels * (af->info.bits / 8));
	return 0;
}

/* Plain little-endian 16/24-bit PCM in a container whose data is one contiguous run. */
static int pcm_layout(const struct ghostrec_audioinfo *in)
{
	int sub = in->format & SF_FORMAT_SUBMASK;
	return plain_container(in->format) && (sub == SF_FORMAT_PCM_16 || sub == SF_FORMAT_PCM_24);
}

int ghostrec_audiofile_has_pcm(const struct ghostrec_audiofile *af)
{
	if (!pcm_layout(&af->info))
		return 0;
	return af->writing || af->raw.kind == RAW_S16 || af->raw.kind == RAW_S24;
}

int ghostrec_audiofile_read_pcm(struct ghostrec_audiofile *af, int64_t start, int64_t n, void *out)
{
	if (af->writing || (af->raw.kind != RAW_S16 && af->raw.kind != RAW_S24) || n < 0)
		return -1;
	unsigned char *o = out;
	size_t bpf = af->raw.bpf;
	if (start < 0) {
		int64_t before = n < -start ? n : -start;
		memset(o, 0, (size_t)before * bpf);
		o += (size_t)before * bpf;
		start += before;
		n -= before;
	}
	int64_t in_file = start < af->info.frames ? (n < af->info.frames - start ? n : af->info.frames - start) : 0;
	if (in_file > 0) {
		const unsigned char *p = raw_span(&af->raw, start, in_file);
		if (!p)
			return -1;
		memcpy(o, p, (size_t)in_file * bpf);
	}
	if (n > in_file) /* (in_file >= 0: n >= 0 here) */
		memset(o + (size_t)in_file * bpf, 0, (size_t)(n - in_file) * bpf);
	return 0;
}

void ghostrec_audiofile_set_forward(struct ghostrec_audiofile *af)
{
	raw_unmap(&af->raw);
	if (af->raw.windows > 1)
		af->raw.windows = 1;
}

int ghostrec_audiofile_layout(const struct ghostrec_audiofile *af)
{
	if (af->writing)
		return GHOSTREC_LAYOUT_OTHER;
	switch (af->raw.kind) {
	case RAW_S16:
		return GHOSTREC_LAYOUT_S16;
	case RAW_S24:
		return GHOSTREC_LAYOUT_S24;
	case RAW_F32:
		return GHOSTREC_LAYOUT_F32;
	default:
		return GHOSTREC_LAYOUT_OTHER;
	}
}

const void *ghostrec_audiofile_mapped(struct ghostrec_audiofile *af, int64_t start, int64_t n)
{
	if (ghostrec_audiofile_layout(af) == GHOSTREC_LAYOUT_OTHER || start < 0 || n <= 0 ||
	    n > af->info.frames - start)
		return NULL;
	return raw_span(&af->raw, start, n);
}

int ghostrec_audiofile_write_pcm(struct ghostrec_audiofile *af, const void *bytes, int64_t n)
{
	if (!af->writing || !pcm_layout(&af->info))
		return -1;
	sf_count_t len = (sf_count_t)n * af->info.channels * (af->info.bits / 8);
	if (sf_write_raw(af->sf, bytes, len) != len) {
		write_failure(af);
		return -1;
	}
	af->info.frames += n;
	written(af, len);
	return 0;
}
