/* Writing a whole buffer: the one place where short writes are retried, so a full disk reads as
 * "No space left on device" (the errno of the write that could not continue), never as a made-up
 * "Input/output error". */
#ifndef GHOSTREC_FILEIO_H
#define GHOSTREC_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/* Writes all n bytes (retrying short writes and EINTR). Returns 0 or a negative errno. */
int ghostrec_write_all(int fd, const void *buf, size_t n);

/* The same at file offset off (pwrite: the file position is not moved). */
int ghostrec_pwrite_all(int fd, const void *buf, size_t n, off_t off);

/* mkdir -p with mode for every directory it creates. Returns 0 or a negative errno. */
int ghostrec_mkdir_p(const char *path, mode_t mode);

#endif
