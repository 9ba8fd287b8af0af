/*
 * check.h: the unit-test harness. One binary per test file; each TEST() is a
 * function registered with RUN(); CHECK() records a failure and goes on.
 * main() prints one line "unit <file>: N passed, N failed" and exits non-zero
 * on any failure. scripts/test.sh adds the counts up.
 */
#ifndef OPUS_CHECK_H
#define OPUS_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failed_in_test;
static int check_passed, check_failed;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
			check_failed_in_test = 1;                                                  \
		}                                                                                  \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *check_a_ = (a), *check_b_ = (b);                                       \
		if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {                   \
			fprintf(stderr, "%s:%d: CHECK_STR failed: %s == \"%s\", want \"%s\"\n",    \
				__FILE__, __LINE__, #a, check_a_ ? check_a_ : "(null)",            \
				check_b_ ? check_b_ : "(null)");                                   \
			check_failed_in_test = 1;                                                  \
		}                                                                                  \
	} while (0)

#define TEST(name) static void name(void)

#define RUN(name)                                                                                  \
	do {                                                                                       \
		check_failed_in_test = 0;                                                          \
		name();                                                                            \
		if (check_failed_in_test) {                                                        \
			check_failed++;                                                            \
			fprintf(stderr, "FAIL %s\n", #name);                                       \
		} else {                                                                           \
			check_passed++;                                                            \
		}                                                                                  \
	} while (0)

#define CHECK_DONE()                                                                               \
	(printf("unit %s: %d passed, %d failed\n", __FILE__, check_passed, check_failed),          \
	 check_failed ? 1 : 0)

#endif
