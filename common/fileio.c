/* Writing a whole buffer (see fileio.h). */
#include "fileio.h"

#include <errno.h>
#include <unistd.h>

int ghostrec_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -ENOSPC; /* a regular file that takes nothing more is full */
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int ghostrec_pwrite_all(int fd, const void *buf, size_t n, off_t off)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t w = pwrite(fd, p, n, off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -ENOSPC;
		p += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}
