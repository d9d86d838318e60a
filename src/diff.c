/* diff.c — JSON objects as YAML, and unified diffs of two texts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oamlua/diff.h"
#include "oamlua/load.h"
#include "oamlua/tree.h"

/* ---- JSON → YAML ---- */

#define ADD(s, n) do { if (oam_buf_add(out, (s), (n)) < 0) return -1; } while (0)
#define ADDS(s) ADD((s), strlen(s))

static int spaces(struct oam_buf *out, int n)
{
	static const char sp[] = "                                                                ";
	while (n > 0) {
		int k = n > 64 ? 64 : n;
		ADD(sp, (size_t)k);
		n -= k;
	}
	return 0;
}

static int plain_ok(const char *s, size_t len)
{
	long long i;
	double f;
	int b;
	if (!len || oam_resolve_plain(s, len, &i, &f, &b) != OAM_STR)
		return 0;
	if (strchr("-?:,[]{}#&*!|>'\"%@` \t", s[0]) || s[len - 1] == ' ' || s[len - 1] == ':')
		return 0;
	for (size_t k = 0; k < len; k++) {
		unsigned char c = (unsigned char)s[k];
		if (c < 0x20 || c == 0x7f)
			return 0;
		if (c == ':' && k + 1 < len && s[k + 1] == ' ')
			return 0;
		if (c == '#' && k && s[k - 1] == ' ')
			return 0;
	}
	return 1;
}

static int quoted(struct oam_buf *out, const char *s, size_t len)
{
	char esc[8];
	ADD("\"", 1);
	for (size_t k = 0; k < len; k++) {
		unsigned char c = (unsigned char)s[k];
		switch (c) {
		case '"': ADD("\\\"", 2); break;
		case '\\': ADD("\\\\", 2); break;
		case '\n': ADD("\\n", 2); break;
		case '\t': ADD("\\t", 2); break;
		case '\r': ADD("\\r", 2); break;
		default:
			if (c < 0x20 || c == 0x7f) {
				snprintf(esc, sizeof esc, "\\x%02x", c);
				ADDS(esc);
			} else {
				ADD(&s[k], 1);
			}
		}
	}
	ADD("\"", 1);
	return 0;
}

static int text(struct oam_buf *out, const char *s, size_t len)
{
	if (plain_ok(s, len)) {
		ADD(s, len);
		return 0;
	}
	return quoted(out, s, len);
}

/* Can this string be a literal block (`|` or `|-`)? */
static int block_ok(const char *s, size_t len)
{
	int nl = 0;
	if (!len || s[0] == ' ' || s[0] == '\n')
		return 0;
	for (size_t k = 0; k < len; k++) {
		unsigned char c = (unsigned char)s[k];
		if (c == '\n')
			nl = 1;
		else if ((c < 0x20 && c != '\t') || c == 0x7f)
			return 0;
	}
	/* at most one trailing newline */
	return nl && !(len >= 2 && s[len - 1] == '\n' && s[len - 2] == '\n');
}

static int scalar(struct oam_buf *out, const json_t *v, int indent)
{
	char buf[64];
	switch (json_typeof(v)) {
	case JSON_STRING: {
		const char *s = json_string_value(v);
		size_t len = json_string_length(v);
		if (block_ok(s, len)) {
			int keep = s[len - 1] == '\n';
			ADDS(keep ? "|\n" : "|-\n");
			size_t start = 0;
			size_t end = keep ? len - 1 : len;
			while (start <= end) {
				const char *nl = memchr(s + start, '\n', end - start);
				size_t l = nl ? (size_t)(nl - (s + start)) : end - start;
				if (l) {
					if (spaces(out, indent) < 0)
						return -1;
					ADD(s + start, l);
				}
				ADD("\n", 1);
				start += l + 1;
				if (!nl)
					break;
			}
			return 1;       /* wrote its own newline */
		}
		return text(out, s, len);
	}
	case JSON_INTEGER:
		snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
		ADDS(buf);
		return 0;
	case JSON_REAL:
		oam_fmt_double(json_real_value(v), buf, sizeof buf);
		ADDS(buf);
		return 0;
	case JSON_TRUE:
		ADDS("true");
		return 0;
	case JSON_FALSE:
		ADDS("false");
		return 0;
	default:
		ADDS("null");
		return 0;
	}
}

static int key_rank(const char *k, int top)
{
	static const char *const first[] = { "apiVersion", "kind", "metadata", "spec", "status", NULL };
	if (top)
		for (int i = 0; first[i]; i++)
			if (!strcmp(k, first[i]))
				return i;
	return 100;
}

struct kv {
	const char *k;
	json_t *v;
	int rank;
};

static int cmp_kv(const void *pa, const void *pb)
{
	const struct kv *a = pa, *b = pb;
	if (a->rank != b->rank)
		return a->rank - b->rank;
	return strcmp(a->k, b->k);
}

static int value(struct oam_buf *out, const json_t *v, int indent, int top);

/* A map's entries, each on its own line at `indent`; the first line's
 * indentation has already been written when `first_done`. */
static int map(struct oam_buf *out, const json_t *v, int indent, int top, int first_done)
{
	size_t n = json_object_size(v), i = 0;
	struct kv *kvs = malloc((n ? n : 1) * sizeof *kvs);
	const char *k;
	json_t *x;
	int rc = -1;
	if (!kvs)
		return -1;
	json_object_foreach((json_t *)v, k, x) {
		kvs[i].k = k;
		kvs[i].v = x;
		kvs[i].rank = key_rank(k, top);
		i++;
	}
	qsort(kvs, n, sizeof *kvs, cmp_kv);
	for (i = 0; i < n; i++) {
		if ((i || !first_done) && spaces(out, indent) < 0)
			goto out;
		if (text(out, kvs[i].k, strlen(kvs[i].k)) < 0 || oam_buf_add(out, ":", 1) < 0)
			goto out;
		x = kvs[i].v;
		if (json_is_object(x) && json_object_size(x)) {
			if (oam_buf_add(out, "\n", 1) < 0 || map(out, x, indent + 2, 0, 0) < 0)
				goto out;
		} else if (json_is_array(x) && json_array_size(x)) {
			if (oam_buf_add(out, "\n", 1) < 0 || value(out, x, indent, 0) < 0)
				goto out;
		} else {
			if (oam_buf_add(out, " ", 1) < 0 || value(out, x, indent + 2, 0) < 0)
				goto out;
		}
	}
	rc = 0;
out:
	free(kvs);
	return rc;
}

static int value(struct oam_buf *out, const json_t *v, int indent, int top)
{
	if (json_is_object(v)) {
		if (!json_object_size(v)) {
			ADDS("{}\n");
			return 0;
		}
		return map(out, v, indent, top, 0);
	}
	if (json_is_array(v)) {
		size_t i;
		json_t *x;
		if (!json_array_size(v)) {
			ADDS("[]\n");
			return 0;
		}
		json_array_foreach(v, i, x) {
			if (spaces(out, indent) < 0)
				return -1;
			ADDS("- ");
			if (json_is_object(x) && json_object_size(x)) {
				if (map(out, x, indent + 2, 0, 1) < 0)
					return -1;
			} else if (json_is_array(x) && json_array_size(x)) {
				ADDS("\n");
				if (value(out, x, indent + 2, 0) < 0)
					return -1;
			} else if (value(out, x, indent + 2, 0) < 0) {
				return -1;
			}
		}
		return 0;
	}
	int r = scalar(out, v, indent);
	if (r < 0)
		return -1;
	if (r == 0)
		ADD("\n", 1);
	return 0;
}

int oam_json_yaml(const json_t *v, struct oam_buf *out)
{
	return value(out, v, 0, 1);
}

/* ---- unified diff ---- */

struct lines {
	const char **p;
	size_t *len;
	size_t n;
};

static int split(const char *s, struct lines *l)
{
	size_t cap = 64;
	l->n = 0;
	l->p = malloc(cap * sizeof *l->p);
	l->len = malloc(cap * sizeof *l->len);
	if (!l->p || !l->len)
		return -1;
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		if (l->n == cap) {
			cap *= 2;
			const char **np = realloc(l->p, cap * sizeof *np);
			if (!np)
				return -1;
			l->p = np;
			size_t *nlen = realloc(l->len, cap * sizeof *nlen);
			if (!nlen)
				return -1;
			l->len = nlen;
		}
		l->p[l->n] = s;
		l->len[l->n++] = len;
		s += len + (nl ? 1 : 0);
	}
	return 0;
}

static int same(const struct lines *a, size_t i, const struct lines *b, size_t j)
{
	return a->len[i] == b->len[j] && !memcmp(a->p[i], b->p[j], a->len[i]);
}

enum { E_KEEP, E_DEL, E_ADD };

struct edit {
	int op;
	size_t ai, bi;          /* line indexes (0-based) */
};

/* The edit script: LCS by dynamic programming over the part between the
 * common prefix and suffix; a very large middle becomes delete-all/add-all. */
static struct edit *script(const struct lines *a, const struct lines *b, size_t *nout)
{
	size_t pre = 0, suf = 0, n = 0;
	while (pre < a->n && pre < b->n && same(a, pre, b, pre))
		pre++;
	while (suf < a->n - pre && suf < b->n - pre && same(a, a->n - 1 - suf, b, b->n - 1 - suf))
		suf++;
	size_t na = a->n - pre - suf, nb = b->n - pre - suf;
	struct edit *e = malloc((a->n + b->n + 1) * sizeof *e);
	uint32_t *L = NULL;
	if (!e)
		return NULL;
	for (size_t k = 0; k < pre; k++)
		e[n++] = (struct edit){ E_KEEP, k, k };
	if (na && nb && (na + 1) * (nb + 1) <= 8u << 20)
		L = calloc((na + 1) * (nb + 1), sizeof *L);
	if (L) {
		size_t w = nb + 1;
		for (size_t i = na; i-- > 0;)
			for (size_t j = nb; j-- > 0;)
				L[i * w + j] = same(a, pre + i, b, pre + j) ? L[(i + 1) * w + j + 1] + 1
					: L[(i + 1) * w + j] >= L[i * w + j + 1] ? L[(i + 1) * w + j] : L[i * w + j + 1];
		size_t i = 0, j = 0;
		while (i < na || j < nb) {
			if (i < na && j < nb && same(a, pre + i, b, pre + j)) {
				e[n++] = (struct edit){ E_KEEP, pre + i, pre + j };
				i++, j++;
			} else if (j >= nb || (i < na && L[(i + 1) * w + j] >= L[i * w + j + 1])) {
				e[n++] = (struct edit){ E_DEL, pre + i, pre + j };
				i++;
			} else {
				e[n++] = (struct edit){ E_ADD, pre + i, pre + j };
				j++;
			}
		}
		free(L);
	} else {
		for (size_t i = 0; i < na; i++)
			e[n++] = (struct edit){ E_DEL, pre + i, pre };
		for (size_t j = 0; j < nb; j++)
			e[n++] = (struct edit){ E_ADD, pre + na, pre + j };
	}
	for (size_t k = 0; k < suf; k++)
		e[n++] = (struct edit){ E_KEEP, a->n - suf + k, b->n - suf + k };
	*nout = n;
	return e;
}

static int range(struct oam_buf *out, size_t start, size_t count)
{
	char buf[64];
	if (count == 1)
		snprintf(buf, sizeof buf, "%zu", start + 1);
	else
		snprintf(buf, sizeof buf, "%zu,%zu", count ? start + 1 : start, count);
	ADDS(buf);
	return 0;
}

int oam_diff_unified(const char *a, const char *b, const char *label_a, const char *label_b, struct oam_buf *out)
{
	struct lines la = { 0 }, lb = { 0 };
	struct edit *e = NULL;
	size_t n = 0;
	int rc = -1;
	const size_t ctx = 3;
	if (!strcmp(a, b))
		return 0;
	if (split(a, &la) < 0 || split(b, &lb) < 0 || !(e = script(&la, &lb, &n)))
		goto out;
	if (oam_buf_add(out, "--- ", 4) < 0 || oam_buf_add(out, label_a, strlen(label_a)) < 0 ||
	    oam_buf_add(out, "\n+++ ", 5) < 0 || oam_buf_add(out, label_b, strlen(label_b)) < 0 ||
	    oam_buf_add(out, "\n", 1) < 0)
		goto out;
	for (size_t k = 0; k < n;) {
		while (k < n && e[k].op == E_KEEP)
			k++;
		if (k == n)
			break;
		/* A hunk: from ctx lines before this change to ctx lines after the
		 * last change that is at most 2*ctx lines further on. */
		size_t s = k >= ctx ? k - ctx : 0, end = k, keep = 0;
		for (size_t m = k; m < n; m++) {
			if (e[m].op == E_KEEP) {
				if (++keep > 2 * ctx)
					break;
			} else {
				keep = 0;
				end = m;
			}
		}
		size_t stop = end + ctx + 1 < n ? end + ctx + 1 : n;
		size_t as = e[s].ai, bs = e[s].bi, ac = 0, bc = 0;
		for (size_t m = s; m < stop; m++) {
			if (e[m].op != E_ADD)
				ac++;
			if (e[m].op != E_DEL)
				bc++;
		}
		if (oam_buf_add(out, "@@ -", 4) < 0 || range(out, as, ac) < 0 || oam_buf_add(out, " +", 2) < 0 ||
		    range(out, bs, bc) < 0 || oam_buf_add(out, " @@\n", 4) < 0)
			goto out;
		for (size_t m = s; m < stop; m++) {
			const char *p = e[m].op == E_ADD ? lb.p[e[m].bi] : la.p[e[m].ai];
			size_t len = e[m].op == E_ADD ? lb.len[e[m].bi] : la.len[e[m].ai];
			const char *mark = e[m].op == E_KEEP ? " " : e[m].op == E_DEL ? "-" : "+";
			if (oam_buf_add(out, mark, 1) < 0 || oam_buf_add(out, p, len) < 0 || oam_buf_add(out, "\n", 1) < 0)
				goto out;
		}
		k = stop;
	}
	rc = 1;
out:
	free(la.p);
	free(la.len);
	free(lb.p);
	free(lb.len);
	free(e);
	return rc;
}
