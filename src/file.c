/* file.c — see include/oamlua/file.h. */
#include "oamlua/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(unsigned char *buf, int e)
{
	free(buf);
	errno = e;
	return -1;
}

int oam_file_read_fd(int fd, unsigned char **data, size_t *len, size_t max, int flags)
{
	struct stat st;
	unsigned char *buf = NULL;
	size_t n = 0, cap = 0;
	*data = NULL;
	*len = 0;
	if (fstat(fd, &st) < 0)
		return fail(NULL, errno);
	if ((flags & OAM_FILE_REGULAR) && !S_ISREG(st.st_mode))
		return fail(NULL, S_ISDIR(st.st_mode) ? EISDIR : EINVAL);
	for (;;) {
		if (cap - n < 4096) {
			/* A regular file's size is known: one read, one allocation. */
			size_t ncap = cap ? cap * 2 : (S_ISREG(st.st_mode) ? (size_t)st.st_size : 0) + 4097;
			unsigned char *nb = realloc(buf, ncap);
			if (!nb)
				return fail(buf, ENOMEM);
			buf = nb;
			cap = ncap;
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return fail(buf, errno);
		if (!r)
			break;
		n += (size_t)r;
		if (n > max)
			return fail(buf, EFBIG);
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}

int oam_file_read(const char *path, unsigned char **data, size_t *len, size_t max, int flags)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	*data = NULL;
	*len = 0;
	if (fd < 0)
		return -1;
	int rc = oam_file_read_fd(fd, data, len, max, flags);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}
