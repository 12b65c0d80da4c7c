/*
 * mark.c: the command of scripts/bench-commands, for every runner alike:
 * appends "1\n" to FILE and exits 0 at once, so the runs that really
 * happened can be counted afterwards (the file's size / 2).
 *
 * usage: mark FILE
 */
#include <fcntl.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	int fd;

	if (argc < 2 ||
	    (fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT, 0644)) == -1)
		return 1;
	/* One append of two bytes: runs at once never interleave. */
	return write(fd, "1\n", 2) == 2 ? 0 : 1;
}
