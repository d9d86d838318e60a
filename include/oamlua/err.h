/* err.h — the single error type and the list of findings a run collects.
 *
 * Every stage reports problems as struct oam_err values carrying a stable ID,
 * a severity, a source position (file:line:col of the YAML node, or the Lua
 * module file and line) and a message. Fixed buffers: no allocation is needed
 * to report an error, even after an out-of-memory. */
#ifndef OAMLUA_ERR_H
#define OAMLUA_ERR_H

#include <stdarg.h>
#include <stddef.h>

/* Process exit codes, documented in `oamlua --help` and the README. */
enum oam_exit {
	OAM_EXIT_OK = 0,
	OAM_EXIT_INVALID = 1,   /* the input is wrong: schema, references, conflicts */
	OAM_EXIT_USAGE = 2,     /* bad flags or arguments */
	OAM_EXIT_MODULE = 3,    /* a Lua module failed: load, render, limits */
	OAM_EXIT_CLUSTER = 4,   /* the cluster or its API refused or failed */
	OAM_EXIT_SYSTEM = 5     /* I/O or internal error */
};

enum oam_sev { OAM_SEV_ERROR, OAM_SEV_WARNING, OAM_SEV_NOTE };

struct oam_node;

struct oam_err {
	enum oam_sev sev;
	char id[12];            /* stable ID, e.g. "OAM301"; see docs/errors.md */
	char file[256];         /* "" when the finding has no position */
	unsigned line, col;     /* 1-based; 0 = unknown */
	char msg[768];
	char hint[384];         /* "" = none */
};

/* A growing list of findings; owns its array. */
struct oam_diags {
	struct oam_err *v;
	size_t n, cap;
	size_t nerrors, nwarnings;
	int exit_code;          /* worst exit code implied so far */
	int warn_as_error;      /* count warnings as errors */
};

void oam_diags_init(struct oam_diags *d);
/* Adds a copy of finding `e` (from another list) to `d`. */
void oam_diag_copy(struct oam_diags *d, const struct oam_err *e);
void oam_diags_release(struct oam_diags *d);

/* Adds a finding located at node `at` (may be NULL). Returns the stored entry,
 * so that a caller can fill in a hint afterwards. Never fails: on allocation
 * failure the finding replaces the last slot. */
struct oam_err *oam_diag(struct oam_diags *d, enum oam_sev sev, const char *id,
			 const struct oam_node *at, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
struct oam_err *oam_diag_at(struct oam_diags *d, enum oam_sev sev, const char *id,
			    const char *file, unsigned line, unsigned col,
			    const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
void oam_diag_hint(struct oam_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Which exit code an error ID implies (module errors → OAM_EXIT_MODULE, …). */
int oam_err_exit_code(const char *id);

/* Printing: `oamlua: FILE:LINE:COL: error[ID]: message` (+ hint, + source
 * line with a caret when verbose). */
struct oam_srcmap;   /* file name → text, for the caret view; may be NULL */
void oam_diags_print(const struct oam_diags *d, const struct oam_srcmap *src, int verbose);
/* JSON findings (validate -o json) to stdout. */
int oam_diags_print_json(const struct oam_diags *d);

/* Messages outside findings: `oamlua: error: ...` on stderr. */
void oam_die_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
void oam_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void oam_warnf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Small string helpers used everywhere. */
size_t oam_strlcpy(char *dst, const char *src, size_t size);
/* Joins the strings (a NULL-terminated list) into buf, truncating like
 * snprintf; for the labels built for every instance ("instance 'web'"),
 * where snprintf's cost showed. Returns buf. */
char *oam_concat(char *buf, size_t size, ...) __attribute__((sentinel));
/* Closest of `names` (edit distance ≤ max(2, len/3)), or NULL. */
const char *oam_closest(const char *word, const char *const *names, size_t n);

#endif
