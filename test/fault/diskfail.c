/*
 * diskfail.c: an LD_PRELOAD library that makes the disk refuse hookd's
 * writes, for test/integration/faults.test.mjs.
 *
 * While the file named by HOOKD_FAULT exists, every write and sync of a
 * descriptor open on a file called data.mdb fails with the errno named
 * in the file's first line: "EIO" (the default) fails writes and syncs;
 * "ENOSPC" fails only writes that grow the file, as a full ext4 does:
 * overwriting allocated blocks needs no space, and space is reserved
 * when a page is written, so a sync has nothing left to allocate.
 * Other descriptors (sockets, logs) are left alone.
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The errno to fail FD's write of LEN bytes at OFF (-1: the file
 * offset) with, or 0 for none. LEN is -1 for a sync.
 */
static int
diskfail(int fd, off_t off, ssize_t len)
{
	struct stat st;
	const char *trigger = getenv("HOOKD_FAULT");
	char link[64], path[4096], what[16] = "";
	ssize_t n;
	FILE *f;
	int saved = errno;

	if (trigger == NULL || access(trigger, F_OK) != 0) {
		errno = saved;
		return 0;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	errno = saved;
	if (n < 9)
		return 0;
	path[n] = '\0';
	if (strcmp(path + n - 9, "/data.mdb") != 0)
		return 0;
	if ((f = fopen(trigger, "r")) != NULL) {
		if (fgets(what, sizeof(what), f) == NULL)
			what[0] = '\0';
		fclose(f);
	}
	if (strncmp(what, "ENOSPC", 6) != 0)
		return EIO;
	if (len < 0 || fstat(fd, &st) != 0)
		return 0;
	if (off < 0)
		off = lseek(fd, 0, SEEK_CUR);
	errno = saved;
	return off + len > st.st_size ? ENOSPC : 0;
}

/* POSIX's way to store dlsym()'s answer in a function pointer. */
#define REAL(name, type)                                                       \
	static type real_##name;                                               \
	if (real_##name == NULL)                                               \
	*(void **)(&real_##name) = dlsym(RTLD_NEXT, #name)

#define FAIL(fd, off, len, ret)                                                \
	do {                                                                   \
		int e_ = diskfail(fd, off, len);                               \
		if (e_ != 0) {                                                 \
			errno = e_;                                            \
			return ret;                                            \
		}                                                              \
	} while (0)

static ssize_t
iovlen(const struct iovec *iov, int n)
{
	ssize_t len = 0;
	int i;

	for (i = 0; i < n; i++)
		len += (ssize_t)iov[i].iov_len;
	return len;
}

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);
typedef ssize_t (*pwritev_fn)(int, const struct iovec *, int, off_t);
typedef int (*sync_fn)(int);

ssize_t
write(int fd, const void *b, size_t n)
{
	REAL(write, write_fn);
	FAIL(fd, -1, (ssize_t)n, -1);
	return real_write(fd, b, n);
}

ssize_t
pwrite(int fd, const void *b, size_t n, off_t off)
{
	REAL(pwrite, pwrite_fn);
	FAIL(fd, off, (ssize_t)n, -1);
	return real_pwrite(fd, b, n, off);
}

ssize_t
pwrite64(int fd, const void *b, size_t n, off_t off)
{
	REAL(pwrite64, pwrite_fn);
	FAIL(fd, off, (ssize_t)n, -1);
	return real_pwrite64(fd, b, n, off);
}

ssize_t
writev(int fd, const struct iovec *iov, int n)
{
	REAL(writev, writev_fn);
	FAIL(fd, -1, iovlen(iov, n), -1);
	return real_writev(fd, iov, n);
}

ssize_t
pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
	REAL(pwritev, pwritev_fn);
	FAIL(fd, off, iovlen(iov, n), -1);
	return real_pwritev(fd, iov, n, off);
}

ssize_t
pwritev64(int fd, const struct iovec *iov, int n, off_t off)
{
	REAL(pwritev64, pwritev_fn);
	FAIL(fd, off, iovlen(iov, n), -1);
	return real_pwritev64(fd, iov, n, off);
}

int
fdatasync(int fd)
{
	REAL(fdatasync, sync_fn);
	FAIL(fd, 0, -1, -1);
	return real_fdatasync(fd);
}

int
fsync(int fd)
{
	REAL(fsync, sync_fn);
	FAIL(fd, 0, -1, -1);
	return real_fsync(fd);
}
