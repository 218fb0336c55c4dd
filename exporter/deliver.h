/* Delivery targets: where finalized takes go (a folder, an SMB share). Every file lands
 * atomically (temp name + rename) and is checked (size) before it counts as delivered; a take's
 * sidecar JSON goes last, so a reader that sees the sidecar finds every WAV complete. */
#ifndef GHOSTREC_EXPORTER_DELIVER_H
#define GHOSTREC_EXPORTER_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct deliver_target {
	const char *name; /* "outbox", "smb": also the done-marker name in the queue dir */
	char where[1100]; /* for logs: the directory or URL */
	/* Copies local file `src` to `<target>/<name>`. Returns 0 or -1 with a reason in err. */
	int (*put)(struct deliver_target *t, const char *src, const char *name, char *err, size_t errsize);
	/* Optional (NULL: files only go whole, at delivery). Sending ahead: writes bytes [from, to)
	 * of the open local file src_fd into the target's temporary copy of `name` (fresh: a new,
	 * empty copy first; else the copy must already hold at least `from` bytes). Returns 0, -1
	 * with a reason (try again later), or -2 when the copy there is missing or shorter than
	 * `from` (start again with a fresh one). */
	int (*put_part)(struct deliver_target *t, int src_fd, const char *name, uint64_t from, uint64_t to,
			bool fresh, char *err, size_t errsize);
	/* With put_part: gives the temporary copy of `name` its name, and checks it holds `size`
	 * bytes. Returns 0 or -1 with a reason. */
	int (*land)(struct deliver_target *t, const char *name, uint64_t size, char *err, size_t errsize);
	/* With put_part: removes the temporary copy of `name` (its take was dropped). */
	void (*drop_part)(struct deliver_target *t, const char *name);
	void (*destroy)(struct deliver_target *t);
};

/* What a target holds already of a take's files, sent ahead (put_part) while the take was
 * recorded: per file, the first `bytes` bytes of the local file (device, inode) as they were
 * then, of which the first `head` may have changed since (the WAV header: the data before it
 * never changes once written). */
#define DELIVER_SENT_MAX 16
struct deliver_sent {
	unsigned n;
	uint64_t head;
	struct deliver_sent_file {
		char name[64];
		dev_t dev;
		ino_t ino;
		uint64_t bytes;
	} f[DELIVER_SENT_MAX];
};

/* Folder delivery. Creates dir if missing (0700, or 0750 with file_mode 0640; an existing one
 * is left as it is); files get exactly file_mode (0600 or 0640). NULL with a reason if dir is
 * not a usable directory. */
struct deliver_target *deliver_outbox_new(const char *dir, unsigned file_mode, char *err, size_t errsize);
/* NULL with a reason if libsmbclient is unavailable or the credentials file is unsafe. */
struct deliver_target *deliver_smb_new(const char *url, const char *credentials, char *err, size_t errsize);

/* Delivers every file of queue directory `dir` to t (WAVs first, the sidecar last) unless
 * `<dir>/.done-<t->name>` says it already happened; writes that marker on success.
 * Returns 0 or -1 with a reason in err. */
int deliver_take_dir(struct deliver_target *t, const char *dir, char *err, size_t errsize);
/* The same, for files of which `sent` (may be NULL) says t holds a part already: only what is
 * missing or changed goes (the rest, then the head), or, when that fails, the whole file. */
int deliver_take_dir_sent(struct deliver_target *t, const char *dir, const struct deliver_sent *sent,
			  char *err, size_t errsize);
int deliver_take_done(const struct deliver_target *t, const char *dir);

/* Puts finished file src at dst atomically (temp name + rename, directory synced): a hard link
 * when both are on one filesystem (nothing is copied), else a copy (copy_file_range where the
 * kernel can). Returns 0 or -1 with a reason in err. */
int deliver_place_file(const char *src, const char *dst, char *err, size_t errsize);
/* Same, the placed file with exactly `mode` (deliver_place_file: 0640). Nothing at the temp name
 * is followed through a symlink. */
int deliver_place_file_mode(const char *src, const char *dst, unsigned mode, char *err, size_t errsize);

#endif
