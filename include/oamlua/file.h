/* file.h — reading a whole file into memory, the one way every module does it
 * (kubeconfig and its credentials, Lua modules, trait packs). */
#ifndef OAMLUA_FILE_H
#define OAMLUA_FILE_H

#include <stddef.h>

/* Refuse anything but a regular file (EISDIR for a directory, EINVAL for a
 * device or FIFO): packs must not read /dev/stdin or a named pipe. */
#define OAM_FILE_REGULAR 1

/* Reads `path` into a new NUL-terminated buffer (*data, *len bytes before the
 * NUL) owned by the caller. Returns 0, or -1 with errno set (EFBIG when the
 * file is larger than `max` bytes; *data is NULL then). */
int oam_file_read(const char *path, unsigned char **data, size_t *len, size_t max, int flags);
/* The same from an open descriptor (left open): standard input. */
int oam_file_read_fd(int fd, unsigned char **data, size_t *len, size_t max, int flags);

#endif
