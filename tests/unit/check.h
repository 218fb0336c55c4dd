/* Minimal assertion helpers for C tests: print where and why, count failures. */
#ifndef GHOSTREC_TEST_CHECK_H
#define GHOSTREC_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>

static int check_failures;

#define CHECK(cond)                                                                       \
	do {                                                                              \
		if (!(cond)) {                                                            \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			check_failures++;                                                 \
		}                                                                         \
	} while (0)

/* CHECK with a printf-style account of what was found */
#define CHECK_MSG(cond, ...)                                                              \
	do {                                                                              \
		if (!(cond)) {                                                            \
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                     \
			fprintf(stderr, "\n");                                            \
			check_failures++;                                                 \
		}                                                                         \
	} while (0)

#define CHECK_EQ_U64(a, b)                                                                \
	do {                                                                              \
		unsigned long long check_a_ = (unsigned long long)(a);                    \
		unsigned long long check_b_ = (unsigned long long)(b);                    \
		if (check_a_ != check_b_) {                                               \
			fprintf(stderr, "%s:%d: %s == %s failed: %llu != %llu\n", __FILE__, \
				__LINE__, #a, #b, check_a_, check_b_);                    \
			check_failures++;                                                 \
		}                                                                         \
	} while (0)

static inline int check_report(const char *name)
{
	if (check_failures) {
		fprintf(stderr, "%s: %d check(s) failed\n", name, check_failures);
		return EXIT_FAILURE;
	}
	printf("%s: all checks passed\n", name);
	return EXIT_SUCCESS;
}

#endif
