/*
 * t.h: the unit tests' checks. Each test file defines a table of cases
 * (name, function) and calls t_run(); a case fails when any T_CHECK in it
 * fails. t_run prints one line per failing check and a closing
 * "N passed, N failed" line counting cases, and returns the exit status.
 */
#ifndef T_H
#define T_H

#include <stdio.h>
#include <string.h>

struct t_case {
	const char *name;
	void (*fn)(void);
};

extern int t_failed_checks;

#define T_CHECK(c)                                                             \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
			    __LINE__, #c);                                     \
			t_failed_checks++;                                     \
		}                                                              \
	} while (0)

#define T_STREQ(a, b) T_CHECK((a) != NULL && strcmp((a), (b)) == 0)

int t_run(const char *suite, const struct t_case *, size_t n);

/* Reads a whole file into a NUL-terminated buffer; caller frees. */
char *t_slurp(const char *path, size_t *len);

#endif
