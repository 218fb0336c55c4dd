/* Delivery targets: where finalized takes go (a folder, an SMB share). Every file lands
 * atomically (temp name + rename) and is checked (size) before it counts as delivered; a take's
 * sidecar JSON goes last, so a reader that sees the sidecar finds every WAV complete. */
#ifndef GHOSTREC_EXPORTER_DELIVER_H
#define GHOSTREC_EXPORTER_DELIVER_H

#include <stddef.h>

struct deliver_target {
	const char *name; /* "outbox", "smb": also the done-marker name in the queue dir */
	char where[1100]; /* for logs: the directory or URL */
	/* Copies local file `src` to `<target>/<name>`. Returns 0 or -1 with a reason in err. */
	int (*put)(struct deliver_target *t, const char *src, const char *name, char *err, size_t errsize);
	void (*destroy)(struct deliver_target *t);
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
int deliver_take_done(const struct deliver_target *t, const char *dir);

/* Puts finished file src at dst atomically (temp name + rename, directory synced): a hard link
 * when both are on one filesystem (nothing is copied), else a copy (copy_file_range where the
 * kernel can). Returns 0 or -1 with a reason in err. */
int deliver_place_file(const char *src, const char *dst, char *err, size_t errsize);
/* Same, the placed file with exactly `mode` (deliver_place_file: 0640). Nothing at the temp name
 * is followed through a symlink. */
int deliver_place_file_mode(const char *src, const char *dst, unsigned mode, char *err, size_t errsize);

#endif
