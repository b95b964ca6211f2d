/* SPDX-License-Identifier: MIT */
/*
 * tap.h - a minimal Test Anything Protocol emitter for the C unit tests.
 *
 * plan(n) or done_testing() at the end; ok(), is_int(), is_str(), skip(),
 * diag().  Everything is static inline so each test is one file.  Output
 * goes to stdout, diagnostics to stdout prefixed "# " as TAP wants.
 */
#ifndef HAWK_TESTS_TAP_H
#define HAWK_TESTS_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static inline void
plan(int n)
{
	printf("1..%d\n", n);
	fflush(stdout);
}

__attribute__((format(printf, 1, 2))) static inline void
diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

__attribute__((format(printf, 2, 3))) static inline int
ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	if (!cond)
		tap_failed++;
	return cond;
}

#define is_int(got, want, ...) \
	is_int_((int64_t)(got), (int64_t)(want), #got, __VA_ARGS__)
__attribute__((format(printf, 4, 5))) static inline int
is_int_(int64_t got, int64_t want, const char *expr, const char *fmt, ...)
{
	va_list ap;
	int cond = got == want;

	printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	if (!cond) {
		tap_failed++;
		printf("#   %s: got %" PRId64 ", expected %" PRId64 "\n",
		       expr, got, want);
	}
	fflush(stdout);
	return cond;
}

__attribute__((format(printf, 3, 4))) static inline int
is_str(const char *got, const char *want, const char *fmt, ...)
{
	va_list ap;
	int cond = got && want && strcmp(got, want) == 0;

	printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	if (!cond) {
		tap_failed++;
		printf("#   got:      \"%s\"\n#   expected: \"%s\"\n",
		       got ? got : "(null)", want ? want : "(null)");
	}
	fflush(stdout);
	return cond;
}

/* Report one skipped test point with its reason. */
static inline void
skip(const char *reason)
{
	printf("ok %d # SKIP %s\n", ++tap_n, reason);
	fflush(stdout);
}

/* Print the plan after the tests; returns the exit status for main. */
static inline int
done_testing(void)
{
	printf("1..%d\n", tap_n);
	fflush(stdout);
	return tap_failed ? 1 : 0;
}

#endif /* HAWK_TESTS_TAP_H */
