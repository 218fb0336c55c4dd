/* The per-user runtime directory of pw-ghost-rec and the small files published in it.
 *
 * The directory is ghostrec_ctl_dir(): "$XDG_RUNTIME_DIR/pw-ghost-rec", or
 * "/tmp/pw-ghost-rec-<uid>" without XDG_RUNTIME_DIR. It holds the node's and the exporter's
 * control sockets and the ring locators ("<node>.ring": the name of the node's current shm
 * object). Another local user must not be able to squat, redirect or read any of it, so:
 *   - it is a real directory (never followed through a symlink), owned by us, mode 0700;
 *     an existing one with group/other bits is tightened with fchmod on the opened directory;
 *     one owned by someone else, a symlink or a non-directory is refused with a clear error;
 *   - files are written atomically (temp name with O_EXCL|O_NOFOLLOW, mode 0600, rename) and
 *     read with O_NOFOLLOW, refused unless they are regular files owned by us and not writable
 *     by group/other.
 * Errors: negative errno, and a one-line reason naming the path in err. */
#ifndef GHOSTREC_RUNDIR_H
#define GHOSTREC_RUNDIR_H

#include <stddef.h>

/* Creates (or secures) the directory; dir gets its path. */
int ghostrec_rundir_ensure(char *dir, size_t dir_size, char *err, size_t err_size);

/* Readers: the directory exists, is ours and is 0700 (nothing is created or changed).
 * -ENOENT if it does not exist. */
int ghostrec_rundir_check(char *dir, size_t dir_size, char *err, size_t err_size);

/* Atomically replaces <dir>/<name> with text (mode 0600). */
int ghostrec_rundir_write(const char *dir, const char *name, const char *text, char *err,
			  size_t err_size);

/* Reads <dir>/<name> (at most size - 1 bytes, NUL-terminated, one trailing newline removed). */
int ghostrec_rundir_read(const char *dir, const char *name, char *buf, size_t size, char *err,
			 size_t err_size);

/* Removes <dir>/<name> if its content (as ghostrec_rundir_read returns it) equals expect. */
void ghostrec_rundir_remove_if(const char *dir, const char *name, const char *expect);

#endif
