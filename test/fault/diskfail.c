/*
 * diskfail.c: an LD_PRELOAD library that makes the disk refuse hookd's
 * writes, for test/integration/faults.test.mjs and diskfull.test.mjs.
 *
 * While the file named by HOOKD_FAULT exists, every write and sync of a
 * descriptor open on a file called data.mdb fails with the errno named
 * in the file's first line: "EIO" (the default) fails writes and syncs;
 * "ENOSPC" fails only writes that grow the file, as a full ext4 does:
 * overwriting allocated blocks needs no space, and space is reserved
 * when a page is written, so a sync has nothing left to allocate.
 * "SHORT" is a disk that fills up: one more 4 KiB block past the size
 * data.mdb had when the fault began fits, so the write that reaches it
 * is short (as ext4's pwrite64(..., 32768, ...) = 4096), and the writes
 * and fallocate()s after it fail with ENOSPC.
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

/* SHORT: where the full disk ends (0: not yet known). */
static off_t diskfail_limit;

/*
 * The errno to fail FD's write of LEN bytes at OFF (-1: the file
 * offset) with, or 0 for none; for SHORT, *FIT is how much of it fits
 * (the whole write when it is not set). LEN is -1 for a sync.
 */
static int diskfail_short(int fd, off_t off, ssize_t len, ssize_t *fit);

static int
diskfail(int fd, off_t off, ssize_t len)
{
	return diskfail_short(fd, off, len, NULL);
}

/* SHORT: a write past the end of the disk is cut short, then refused. */
static int
diskfail_fill(int fd, off_t off, ssize_t len, ssize_t *fit)
{
	struct stat st;
	int saved = errno;

	if (len < 0 || fstat(fd, &st) != 0) {
		errno = saved;
		return 0;
	}
	if (diskfail_limit == 0)
		diskfail_limit = st.st_size + 4096;
	if (off < 0)
		off = lseek(fd, 0, SEEK_CUR);
	errno = saved;
	if (off + len <= st.st_size || off + len <= diskfail_limit)
		return 0;
	if (off >= diskfail_limit || fit == NULL)
		return ENOSPC;
	*fit = (ssize_t)(diskfail_limit - off);
	return 0;
}

static int
diskfail_short(int fd, off_t off, ssize_t len, ssize_t *fit)
{
	struct stat st;
	const char *trigger = getenv("HOOKD_FAULT");
	char link[64], path[4096], what[16] = "";
	ssize_t n;
	FILE *f;
	int saved = errno;

	if (trigger == NULL || access(trigger, F_OK) != 0) {
		diskfail_limit = 0;
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
	if (strncmp(what, "SHORT", 5) == 0)
		return diskfail_fill(fd, off, len, fit);
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

/* As FAIL, and cuts LEN down to what fits on a filling disk. */
#define SHORTEN(fd, off, len, ret)                                             \
	do {                                                                   \
		ssize_t fit_ = -1;                                             \
		int e_ = diskfail_short(fd, off, (ssize_t)(len), &fit_);       \
		if (e_ != 0) {                                                 \
			errno = e_;                                            \
			return ret;                                            \
		}                                                              \
		if (fit_ >= 0)                                                 \
			len = (size_t)fit_;                                    \
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

/* IOV cut to LEN bytes into OUT (at most 1024 entries); its count. */
static int
iovcut(const struct iovec *iov, int n, size_t len, struct iovec *out)
{
	int i;

	for (i = 0; i < n && i < 1024 && len > 0; i++) {
		out[i] = iov[i];
		if (out[i].iov_len > len)
			out[i].iov_len = len;
		len -= out[i].iov_len;
	}
	return i;
}

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);
typedef ssize_t (*pwritev_fn)(int, const struct iovec *, int, off_t);
typedef int (*sync_fn)(int);
typedef int (*fallocate_fn)(int, int, off_t, off_t);

ssize_t
write(int fd, const void *b, size_t n)
{
	REAL(write, write_fn);
	SHORTEN(fd, -1, n, -1);
	return real_write(fd, b, n);
}

ssize_t
pwrite(int fd, const void *b, size_t n, off_t off)
{
	REAL(pwrite, pwrite_fn);
	SHORTEN(fd, off, n, -1);
	return real_pwrite(fd, b, n, off);
}

ssize_t
pwrite64(int fd, const void *b, size_t n, off_t off)
{
	REAL(pwrite64, pwrite_fn);
	SHORTEN(fd, off, n, -1);
	return real_pwrite64(fd, b, n, off);
}

ssize_t
writev(int fd, const struct iovec *iov, int n)
{
	struct iovec cut[1024];
	size_t len = (size_t)iovlen(iov, n);

	REAL(writev, writev_fn);
	SHORTEN(fd, -1, len, -1);
	if (len < (size_t)iovlen(iov, n))
		return real_writev(fd, cut, iovcut(iov, n, len, cut));
	return real_writev(fd, iov, n);
}

ssize_t
pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
	struct iovec cut[1024];
	size_t len = (size_t)iovlen(iov, n);

	REAL(pwritev, pwritev_fn);
	SHORTEN(fd, off, len, -1);
	if (len < (size_t)iovlen(iov, n))
		return real_pwritev(fd, cut, iovcut(iov, n, len, cut), off);
	return real_pwritev(fd, iov, n, off);
}

ssize_t
pwritev64(int fd, const struct iovec *iov, int n, off_t off)
{
	struct iovec cut[1024];
	size_t len = (size_t)iovlen(iov, n);

	REAL(pwritev64, pwritev_fn);
	SHORTEN(fd, off, len, -1);
	if (len < (size_t)iovlen(iov, n))
		return real_pwritev64(fd, cut, iovcut(iov, n, len, cut), off);
	return real_pwritev64(fd, iov, n, off);
}

/* Space asked for past the end of a full disk is refused, as written. */
int
fallocate(int fd, int mode, off_t off, off_t len)
{
	REAL(fallocate, fallocate_fn);
	FAIL(fd, off, (ssize_t)len, -1);
	return real_fallocate(fd, mode, off, len);
}

int
fallocate64(int fd, int mode, off_t off, off_t len)
{
	REAL(fallocate64, fallocate_fn);
	FAIL(fd, off, (ssize_t)len, -1);
	return real_fallocate64(fd, mode, off, len);
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
