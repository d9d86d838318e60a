/* tap.h — a tiny TAP producer for C unit tests run under prove.
 * plan(n) / done_testing(), ok(), is_int(), is_str(), like(), diag(), skip(). */
#ifndef OAMLUA_TAP_H
#define OAMLUA_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed, tap_planned;

static inline void plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
}

static inline int done_testing(void)
{
	if (!tap_planned)
		printf("1..%d\n", tap_n);
	else if (tap_planned != tap_n)
		printf("# planned %d tests but ran %d\n", tap_planned, tap_n);
	fflush(stdout);
	return tap_failed || (tap_planned && tap_planned != tap_n) ? 1 : 0;
}

static inline void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void diag(const char *fmt, ...)
{
	va_list ap;
	char buf[4096];
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		printf("# %s\n", line);
}

static inline int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static inline int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	tap_n++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!cond) {
		tap_failed++;
		printf("#   Failed test at %s line %d\n", file, line);
	}
	fflush(stdout);
	return cond;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, want, ...)                                                                    \
	do {                                                                                      \
		long long g_ = (long long)(got), w_ = (long long)(want);                          \
		if (!tap_ok(g_ == w_, __FILE__, __LINE__, __VA_ARGS__))                          \
			diag("     got: %lld\nexpected: %lld", g_, w_);                              \
	} while (0)

#define is_str(got, want, ...)                                                                    \
	do {                                                                                      \
		const char *g_ = (got), *w_ = (want);                                             \
		if (!tap_ok(g_ && w_ && !strcmp(g_, w_), __FILE__, __LINE__, __VA_ARGS__))       \
			diag("     got: '%s'\nexpected: '%s'", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
	} while (0)

/* Substring match. */
#define like(got, want, ...)                                                                      \
	do {                                                                                      \
		const char *g_ = (got), *w_ = (want);                                             \
		if (!tap_ok(g_ && w_ && strstr(g_, w_) != NULL, __FILE__, __LINE__, __VA_ARGS__)) \
			diag("     got: '%s'\nexpected to contain: '%s'", g_ ? g_ : "(null)", w_);    \
	} while (0)

static inline void skip(int n, const char *why)
{
	for (int i = 0; i < n; i++)
		printf("ok %d # skip %s\n", ++tap_n, why);
}

#endif
