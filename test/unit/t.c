/* t.c: the unit test runner. */
#include <stdlib.h>

#include "t.h"

int t_failed_checks;

int
t_run(const char *suite, const struct t_case *cases, size_t n)
{
	size_t i;
	int passed = 0, failed = 0, before;

	for (i = 0; i < n; i++) {
		before = t_failed_checks;
		cases[i].fn();
		if (t_failed_checks == before)
			passed++;
		else {
			failed++;
			fprintf(stderr, "FAIL %s/%s\n", suite, cases[i].name);
		}
	}
	printf("%s: %d passed, %d failed\n", suite, passed, failed);
	return failed == 0 ? 0 : 1;
}

char *
t_slurp(const char *path, size_t *len)
{
	FILE *f;
	char *buf = NULL;
	long n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0)
		goto done;
	if ((buf = malloc((size_t)n + 1)) == NULL)
		goto done;
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
		goto done;
	}
	buf[n] = '\0';
	if (len != NULL)
		*len = (size_t)n;
done:
	fclose(f);
	return buf;
}
