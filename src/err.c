/* err.c — findings: collecting, printing (text and JSON), exit codes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "oamlua/err.h"
#include "oamlua/load.h"
#include "oamlua/tree.h"

char *oam_concat(char *buf, size_t size, ...)
{
	va_list ap;
	size_t n = 0;
	va_start(ap, size);
	for (const char *s; (s = va_arg(ap, const char *));) {
		size_t l = strlen(s);
		if (l > size - 1 - n)
			l = size - 1 - n;
		memcpy(buf + n, s, l);
		n += l;
	}
	va_end(ap);
	buf[n] = '\0';
	return buf;
}

size_t oam_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);
	if (size) {
		size_t c = n < size - 1 ? n : size - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

void oam_diags_init(struct oam_diags *d)
{
	memset(d, 0, sizeof *d);
}

void oam_diag_copy(struct oam_diags *d, const struct oam_err *e)
{
	struct oam_err *c = oam_diag_at(d, e->sev, e->id, e->file[0] ? e->file : NULL, e->line, e->col, "%s", e->msg);
	if (e->hint[0])
		oam_diag_hint(c, "%s", e->hint);
}

void oam_diags_release(struct oam_diags *d)
{
	free(d->v);
	memset(d, 0, sizeof *d);
}

static struct oam_err *diag_slot(struct oam_diags *d)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct oam_err *v = realloc(d->v, cap * sizeof *v);
		if (!v) {
			/* Keep going with what we have: overwrite the last slot. */
			if (!d->n) {
				static struct oam_err scratch;
				return &scratch;
			}
			return &d->v[d->n - 1];
		}
		d->v = v;
		d->cap = cap;
	}
	return &d->v[d->n++];
}

int oam_err_exit_code(const char *id)
{
	/* IDs OAM5xx/OAM6xx are module problems (so are a pack's module outside
	 * its capabilities or limits, OAM73x); OAM8xx and a cluster without a
	 * pack's required API (OAM75x) are cluster problems; OAM9xx system; the
	 * rest input. */
	if (!strncmp(id, "OAM5", 4) || !strncmp(id, "OAM6", 4) || !strncmp(id, "OAM73", 5))
		return OAM_EXIT_MODULE;
	if (!strncmp(id, "OAM75", 5))
		return OAM_EXIT_CLUSTER;
	if (!strncmp(id, "OAM8", 4))
		return OAM_EXIT_CLUSTER;
	if (!strncmp(id, "OAM9", 4))
		return OAM_EXIT_SYSTEM;
	return OAM_EXIT_INVALID;
}

static struct oam_err *vdiag(struct oam_diags *d, enum oam_sev sev, const char *id,
			     const char *file, unsigned line, unsigned col,
			     const char *fmt, va_list ap)
{
	struct oam_err *e = diag_slot(d);
	memset(e, 0, sizeof *e);
	e->sev = sev;
	oam_strlcpy(e->id, id, sizeof e->id);
	if (file)
		oam_strlcpy(e->file, file, sizeof e->file);
	e->line = line;
	e->col = col;
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	if (sev == OAM_SEV_ERROR || (sev == OAM_SEV_WARNING && d->warn_as_error)) {
		int code = oam_err_exit_code(id);
		d->nerrors++;
		/* The first error decides the class, except that system beats all. */
		if (!d->exit_code || code == OAM_EXIT_SYSTEM)
			d->exit_code = code;
	} else if (sev == OAM_SEV_WARNING) {
		d->nwarnings++;
	}
	return e;
}

struct oam_err *oam_diag(struct oam_diags *d, enum oam_sev sev, const char *id,
			 const struct oam_node *at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct oam_err *e = vdiag(d, sev, id, at ? at->file : NULL, at ? at->line : 0,
				  at ? at->col : 0, fmt, ap);
	va_end(ap);
	return e;
}

struct oam_err *oam_diag_at(struct oam_diags *d, enum oam_sev sev, const char *id,
			    const char *file, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct oam_err *e = vdiag(d, sev, id, file, line, col, fmt, ap);
	va_end(ap);
	return e;
}

void oam_diag_hint(struct oam_err *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->hint, sizeof e->hint, fmt, ap);
	va_end(ap);
}

static const char *sev_name(enum oam_sev s)
{
	return s == OAM_SEV_ERROR ? "error" : s == OAM_SEV_WARNING ? "warning" : "note";
}

static void print_caret(const struct oam_srcmap *src, const struct oam_err *e)
{
	size_t len;
	const char *line = oam_srcmap_line(src, e->file, e->line, &len);
	if (!line)
		return;
	fprintf(stderr, "  %5u | %.*s\n        | ", e->line, (int)len, line);
	for (unsigned i = 1; i < e->col && i <= len; i++)
		fputc(line[i - 1] == '\t' ? '\t' : ' ', stderr);
	fputs("^\n", stderr);
}

void oam_diags_print(const struct oam_diags *d, const struct oam_srcmap *src, int verbose)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct oam_err *e = &d->v[i];
		fputs("oamlua: ", stderr);
		if (e->file[0]) {
			fputs(e->file, stderr);
			if (e->line) {
				fprintf(stderr, ":%u", e->line);
				if (e->col)
					fprintf(stderr, ":%u", e->col);
			}
			fputs(": ", stderr);
		}
		fprintf(stderr, "%s[%s]: %s\n", sev_name(e->sev), e->id, e->msg);
		if (verbose && src && e->line)
			print_caret(src, e);
		if (e->hint[0])
			fprintf(stderr, "  hint: %s\n", e->hint);
	}
}

int oam_diags_print_json(const struct oam_diags *d)
{
	json_t *arr = json_array(), *root = NULL;
	int rc = -1;
	if (!arr)
		return -1;
	for (size_t i = 0; i < d->n; i++) {
		const struct oam_err *e = &d->v[i];
		json_t *o = json_pack("{s:s, s:s, s:s}", "severity", sev_name(e->sev), "id", e->id,
				      "message", e->msg);
		if (!o)
			goto out;
		if (e->file[0])
			json_object_set_new(o, "file", json_string(e->file));
		if (e->line)
			json_object_set_new(o, "line", json_integer(e->line));
		if (e->col)
			json_object_set_new(o, "column", json_integer(e->col));
		if (e->hint[0])
			json_object_set_new(o, "hint", json_string(e->hint));
		json_array_append_new(arr, o);
	}
	root = json_pack("{s:O, s:I, s:I}", "findings", arr, "errors", (json_int_t)d->nerrors,
			 "warnings", (json_int_t)d->nwarnings);
	if (!root)
		goto out;
	if (json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 && fputc('\n', stdout) != EOF)
		rc = 0;
out:
	json_decref(root);
	json_decref(arr);
	return rc;
}

void oam_die_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fputs("oamlua: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr, "\n  hint: see 'oamlua %s --help'\n", cmd);
	else
		fputs("\n  hint: see 'oamlua --help'\n", stderr);
	exit(OAM_EXIT_USAGE);
}

void oam_errorf(const char *fmt, ...)
{
	va_list ap;
	fputs("oamlua: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void oam_warnf(const char *fmt, ...)
{
	va_list ap;
	fputs("oamlua: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Optimal string alignment distance: a swap of two neighbours costs 1
 * ("wbe" is one step from "web"). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t m[65][65];
	if (la > 64 || lb > 64)
		return (size_t)-1;
	for (size_t i = 0; i <= la; i++)
		m[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		m[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = m[i - 1][j - 1] + cost;
			if (m[i - 1][j] + 1 < best)
				best = m[i - 1][j] + 1;
			if (m[i][j - 1] + 1 < best)
				best = m[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && m[i - 2][j - 2] + 1 < best)
				best = m[i - 2][j - 2] + 1;
			m[i][j] = best;
		}
	return m[la][lb];
}

const char *oam_closest(const char *word, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t bestd = (size_t)-1, wl = strlen(word);
	size_t limit = wl / 3 > 2 ? wl / 3 : 2;
	for (size_t i = 0; i < n; i++) {
		size_t dist = edit_distance(word, names[i]);
		/* A name that ends with the word (kustomize namePrefix) counts as close. */
		size_t nl = strlen(names[i]);
		if (nl > wl && !strcmp(names[i] + nl - wl, word) && names[i][nl - wl - 1] == '-')
			dist = 1;
		if (dist < bestd) {
			bestd = dist;
			best = names[i];
		}
	}
	return bestd <= limit ? best : NULL;
}
