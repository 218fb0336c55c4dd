/* Audio files as float frames: WAV / WAVEX / RF64 / W64 (anything libsndfile reads) in
 * 16-bit, 24-bit, 32-bit int or 32-bit float, read with libsndfile's normalisation
 * (16-bit and 24-bit samples come out exactly k / 2^(bits-1)).
 *
 * Readers get random access to single frames through a small block cache, so a caller
 * can walk two hour-long files side by side without holding either in memory. Writers
 * create a file with another file's container and sample format (how ghostrec-sync makes
 * its OUT file in the take's format). */
#ifndef GHOSTREC_AUDIOFILE_H
#define GHOSTREC_AUDIOFILE_H

#include <stddef.h>
#include <stdint.h>

struct ghostrec_audioinfo {
	int64_t frames;
	int rate;
	int channels;
	int bits;      /* 8, 16, 24, 32 (int or float), 64 (double) */
	int is_float;  /* 1 for 32-bit float and 64-bit double samples */
	int format;    /* libsndfile SF_FORMAT_* (container | subtype) */
};

struct ghostrec_audiofile;

/* Opens a file for reading. On failure returns NULL and writes a one-line reason to err. */
struct ghostrec_audiofile *ghostrec_audiofile_open(const char *path, char *err, size_t errsize);

/* Opens an in-memory file image (data must outlive the handle); name is used in errors. */
struct ghostrec_audiofile *ghostrec_audiofile_open_memory(const void *data, size_t size,
							  const char *name, char *err,
							  size_t errsize);

/* Creates a file for writing with `like`'s container and sample format, `like`'s rate and
 * `channels` channels. Values outside [-1, 1] are clipped, never wrapped. */
struct ghostrec_audiofile *ghostrec_audiofile_create_like(const char *path,
							  const struct ghostrec_audioinfo *like,
							  int channels, char *err, size_t errsize);

/* Closes; for writers returns 0 if everything reached the file (synced to the disk), else -1
 * with errno saying why (ENOSPC: disk full). NULL is fine. */
int ghostrec_audiofile_close(struct ghostrec_audiofile *af);

const struct ghostrec_audioinfo *ghostrec_audiofile_info(const struct ghostrec_audiofile *af);

/* Human-readable sample format: "pcm16", "pcm24", "pcm32", "float32", ... */
const char *ghostrec_audiofile_format_name(const struct ghostrec_audioinfo *info);

/* Reads frames [start, start + n) interleaved into out (n * channels floats). Frames
 * outside the file read as 0. Returns 0, or -1 on a read error (truncated file). */
int ghostrec_audiofile_read(struct ghostrec_audiofile *af, int64_t start, int64_t n, float *out);

/* Pointer to frame `frame` (channels floats) through the block cache; valid until the
 * next call on af. NULL if frame is outside the file or unreadable. */
const float *ghostrec_audiofile_frame(struct ghostrec_audiofile *af, int64_t frame);

/* Appends n interleaved frames to a writer. Returns 0 or -1. */
int ghostrec_audiofile_write(struct ghostrec_audiofile *af, const float *frames, int64_t n);

/* Appends n interleaved frames of integer PCM, left-justified in 32 bits (a 24-bit sample
 * k is k << 8, a 16-bit one k << 16): written exactly, no scaling. Returns 0 or -1. */
int ghostrec_audiofile_write_int(struct ghostrec_audiofile *af, const int32_t *frames, int64_t n);

/* Sample bytes as the file stores them, for 16- and 24-bit PCM in WAV, WAVEX, RF64 and
 * W64 (little-endian, bits / 8 bytes a sample, interleaved): 1 when af (a reader or a
 * writer) can be read or written that way, else 0 (use the float / int calls). */
int ghostrec_audiofile_has_pcm(const struct ghostrec_audiofile *af);

/* Copies the bytes of frames [start, start + n) into out (n * channels * bits / 8 bytes);
 * frames outside the file read as 0. Returns 0, or -1 (no such access, read error). */
int ghostrec_audiofile_read_pcm(struct ghostrec_audiofile *af, int64_t start, int64_t n, void *out);

/* Appends n frames of such bytes to a writer, exactly as given (in large writes). Returns 0
 * or -1. */
int ghostrec_audiofile_write_pcm(struct ghostrec_audiofile *af, const void *bytes, int64_t n);

/* How a reader's samples are stored, when they can be handed out mapped as they are
 * (plain little-endian data, checked against libsndfile at open): the value is the bytes
 * per sample. */
enum ghostrec_sample_layout {
	GHOSTREC_LAYOUT_OTHER = 0,   /* none of these: use the float calls */
	GHOSTREC_LAYOUT_S16 = 2,
	GHOSTREC_LAYOUT_S24 = 3,
	GHOSTREC_LAYOUT_F32 = 4,
};
int ghostrec_audiofile_layout(const struct ghostrec_audiofile *af);

/* Sample j of GHOSTREC_LAYOUT_S16 or _S24 bytes at p as the float reads give it: exactly
 * k / 2^(bits-1). */
static inline float ghostrec_pcm_sample(int layout, const unsigned char *p, size_t j)
{
	if (layout == GHOSTREC_LAYOUT_S24) {
		const unsigned char *q = p + 3 * j;
		int32_t v = (int32_t)((uint32_t)q[0] << 8 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 24);
		return (float)v * (1.0f / 2147483648.0f);
	}
	const unsigned char *q = p + 2 * j;
	return (float)(int16_t)((uint16_t)q[0] | (uint16_t)q[1] << 8) * (1.0f / 32768.0f);
}

/* Frames [start, start + n), all inside the file, as the file stores them (interleaved,
 * ghostrec_audiofile_layout), mapped: valid until the next read call on af. NULL when any
 * frame is outside the file or af has no such access. */
const void *ghostrec_audiofile_mapped(struct ghostrec_audiofile *af, int64_t start, int64_t n);

/* Says that af's reads will go forward through the file (a renderer's, not a search's): one
 * mapped window is then kept instead of a few, a smaller resident set. */
void ghostrec_audiofile_set_forward(struct ghostrec_audiofile *af);

/* The libsndfile handle, for metadata readers (bext, cue). */
void *ghostrec_audiofile_sndfile(struct ghostrec_audiofile *af);

#endif
