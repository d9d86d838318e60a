/* load.c — YAML files → value trees with source positions (libyaml events). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "oamlua/cores.h"
#include "oamlua/file.h"
#include "oamlua/load.h"

struct srcfile {
	char *name;
	char *text;
	size_t len;
};

struct oam_srcmap {
	struct srcfile *v;
	size_t n, cap;
};

const char *oam_srcmap_line(const struct oam_srcmap *m, const char *file, unsigned line, size_t *len)
{
	if (!m || !file)
		return NULL;
	for (size_t i = 0; i < m->n; i++) {
		if (strcmp(m->v[i].name, file))
			continue;
		const char *p = m->v[i].text, *end = p + m->v[i].len;
		for (unsigned l = 1; l < line && p < end; l++) {
			p = memchr(p, '\n', (size_t)(end - p));
			if (!p)
				return NULL;
			p++;
		}
		if (p >= end)
			return NULL;
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		*len = (size_t)((nl ? nl : end) - p);
		return p;
	}
	return NULL;
}

int oam_docset_init(struct oam_docset *ds)
{
	memset(ds, 0, sizeof *ds);
	ds->arena = oam_arena_new();
	ds->src = calloc(1, sizeof *ds->src);
	if (!ds->arena || !ds->src) {
		oam_docset_release(ds);
		return -1;
	}
	return 0;
}

void oam_docset_release(struct oam_docset *ds)
{
	if (ds->src) {
		for (size_t i = 0; i < ds->src->n; i++) {
			free(ds->src->v[i].name);
			free(ds->src->v[i].text);
		}
		free(ds->src->v);
		free(ds->src);
	}
	free(ds->docs);
	oam_arena_free(ds->arena);
	memset(ds, 0, sizeof *ds);
}

/* ---- scalar resolution (YAML 1.1 as sigs.k8s.io/yaml does it) ---- */

static int in_list(const char *s, size_t len, const char *const *list)
{
	for (; *list; list++)
		if (strlen(*list) == len && !memcmp(*list, s, len))
			return 1;
	return 0;
}

static int parse_int(const char *s, size_t len, long long *out)
{
	char buf[80];
	if (len == 0 || len >= sizeof buf)
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	const char *p = buf;
	int neg = 0;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	int base = 10;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		base = 16, p += 2;
	else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O'))
		base = 8, p += 2;
	else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B'))
		base = 2, p += 2;
	else if (p[0] == '0' && p[1])
		base = 8, p += 1;
	if (!*p)
		return 0;
	for (const char *q = p; *q; q++) {
		int c = tolower((unsigned char)*q), v;
		if (isdigit(c))
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else
			return 0;
		if (v >= base)
			return 0;
	}
	errno = 0;
	unsigned long long u = strtoull(p, NULL, base);
	if (errno == ERANGE || u > (unsigned long long)9223372036854775807LL + (neg ? 1u : 0u))
		return 0;
	*out = neg ? (long long)(0 - u) : (long long)u;
	return 1;
}

static int parse_float(const char *s, size_t len, double *out)
{
	static const char *const inf[] = { ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL };
	static const char *const ninf[] = { "-.inf", "-.Inf", "-.INF", NULL };
	static const char *const nan_[] = { ".nan", ".NaN", ".NAN", NULL };
	if (in_list(s, len, inf)) { *out = INFINITY; return 1; }
	if (in_list(s, len, ninf)) { *out = -INFINITY; return 1; }
	if (in_list(s, len, nan_)) { *out = NAN; return 1; }
	/* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
	size_t i = 0;
	if (i < len && (s[i] == '+' || s[i] == '-'))
		i++;
	size_t digits = 0;
	if (i < len && s[i] == '.') {
		i++;
		while (i < len && isdigit((unsigned char)s[i]))
			i++, digits++;
		if (!digits)
			return 0;
	} else {
		while (i < len && isdigit((unsigned char)s[i]))
			i++, digits++;
		if (!digits)
			return 0;
		if (i < len && s[i] == '.') {
			i++;
			while (i < len && isdigit((unsigned char)s[i]))
				i++;
		}
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		size_t ed = 0;
		while (i < len && isdigit((unsigned char)s[i]))
			i++, ed++;
		if (!ed)
			return 0;
	}
	if (i != len)
		return 0;
	char buf[128];
	if (len >= sizeof buf)
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	*out = strtod(buf, NULL);
	return 1;
}

enum oam_ntype oam_resolve_plain(const char *s, size_t len, long long *i, double *f, int *b)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
	static const char *const trues[] = { "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE",
					     "on", "On", "ON", NULL };
	static const char *const falses[] = { "n", "N", "no", "No", "NO", "false", "False", "FALSE",
					      "off", "Off", "OFF", NULL };
	/* Fast path: text that starts like no null, boolean or number. */
	unsigned char c0 = len ? (unsigned char)s[0] : 0;
	if (len && !isdigit(c0) && !strchr("-+.~yYnNtTfFoO", c0))
		return OAM_STR;
	if (len > 5 && !(isdigit(c0) || c0 == '-' || c0 == '+' || c0 == '.'))
		return OAM_STR;
	if (in_list(s, len, nulls))
		return OAM_NULL;
	if (in_list(s, len, trues)) { *b = 1; return OAM_BOOL; }
	if (in_list(s, len, falses)) { *b = 0; return OAM_BOOL; }
	if (parse_int(s, len, i))
		return OAM_INT;
	if (parse_float(s, len, f))
		return OAM_FLOAT;
	return OAM_STR;
}

/* ---- the builder ---- */

struct frame {
	struct oam_node *node;
	void *items;            /* malloc'd growing array: pairs or node pointers */
	size_t n, cap;
	struct oam_node *key;   /* maps: key waiting for its value */
	char *anchor;           /* anchor to bind once the collection is complete */
};

struct anchor {
	char *name;
	struct oam_node *node;
};

struct builder {
	struct oam_docset *ds;
	struct oam_diags *d;
	const char *file;
	struct frame *stack;
	size_t depth, cap;
	struct anchor *anchors;
	size_t nanchors, capanchors;
	struct oam_node *root;
	unsigned line_base;     /* lines before this text in its file (a slice) */
	int failed;
};

static void set_pos(struct builder *b, struct oam_node *n, const yaml_mark_t *m)
{
	n->file = b->file;
	n->line = b->line_base + (unsigned)m->line + 1;
	n->col = (unsigned)m->column + 1;
}

static int grow(void **items, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 8;
	while (nc < need)
		nc *= 2;
	void *p = realloc(*items, nc * elem);
	if (!p)
		return -1;
	*items = p;
	*cap = nc;
	return 0;
}

static void oom(struct builder *b)
{
	if (!b->failed)
		oam_diag_at(b->d, OAM_SEV_ERROR, "OAM900", b->file, 0, 0, "out of memory while loading");
	b->failed = 1;
}

static void bind_anchor(struct builder *b, const char *name, struct oam_node *n)
{
	if (grow((void **)&b->anchors, &b->capanchors, b->nanchors + 1, sizeof *b->anchors) < 0) {
		oom(b);
		return;
	}
	b->anchors[b->nanchors].name = strdup(name);
	b->anchors[b->nanchors].node = n;
	b->nanchors++;
}

static void clear_anchors(struct builder *b)
{
	for (size_t i = 0; i < b->nanchors; i++)
		free(b->anchors[i].name);
	b->nanchors = 0;
}

static struct oam_node *find_anchor(struct builder *b, const char *name)
{
	for (size_t i = b->nanchors; i-- > 0;)   /* the latest definition wins */
		if (!strcmp(b->anchors[i].name, name))
			return b->anchors[i].node;
	return NULL;
}

/* Adds a finished node to the collection on top of the stack, or makes it the root. */
static void attach(struct builder *b, struct oam_node *n)
{
	if (!b->depth) {
		b->root = n;
		return;
	}
	struct frame *f = &b->stack[b->depth - 1];
	if (f->node->type == OAM_SEQ) {
		if (grow(&f->items, &f->cap, f->n + 1, sizeof(struct oam_node *)) < 0)
			return oom(b);
		((struct oam_node **)f->items)[f->n++] = n;
		return;
	}
	if (!f->key) {
		if (n->type == OAM_MAP || n->type == OAM_SEQ) {
			oam_diag(b->d, OAM_SEV_ERROR, "OAM103", n, "a mapping key must be a scalar, not %s",
				 oam_ntype_article(n->type));
			b->failed = 1;
			/* Use a placeholder key so the structure stays consistent. */
			n = oam_node_str(b->ds->arena, "?", 1, n);
			if (!n)
				return oom(b);
		} else if (n->type != OAM_STR) {
			char buf[64];
			oam_node_brief(n, buf, sizeof buf);
			struct oam_node *k = oam_node_str(b->ds->arena, buf, strlen(buf), n);
			if (!k)
				return oom(b);
			if (n->type == OAM_NULL)
				k->u.str.s = "", k->u.str.len = 0;
			n = k;
		}
		f->key = n;
		return;
	}
	if (grow(&f->items, &f->cap, f->n + 1, sizeof(struct oam_pair)) < 0)
		return oom(b);
	((struct oam_pair *)f->items)[f->n].key = f->key;
	((struct oam_pair *)f->items)[f->n].val = n;
	f->n++;
	f->key = NULL;
}

static int cmp_pair_key(const void *a, const void *b)
{
	const struct oam_pair *x = *(const struct oam_pair *const *)a, *y = *(const struct oam_pair *const *)b;
	int c = strcmp(x->key->u.str.s, y->key->u.str.s);
	if (c)
		return c;
	return x->key->line != y->key->line ? (x->key->line < y->key->line ? -1 : 1)
					    : (x->key->col < y->key->col ? -1 : x->key->col > y->key->col);
}

static void dup_error(struct builder *b, const struct oam_pair *first, const struct oam_pair *again)
{
	struct oam_err *e = oam_diag(b->d, OAM_SEV_ERROR, "OAM102", again->key,
				     "duplicate key '%s' (first defined at line %u)",
				     again->key->u.str.s, first->key->line);
	oam_diag_hint(e, "Kubernetes rejects duplicate keys; remove one of them");
	b->failed = 1;
}

static void check_duplicates(struct builder *b, struct oam_pair *items, size_t n)
{
	if (n < 2)
		return;
	if (n <= 16) {
		for (size_t i = 1; i < n; i++)
			for (size_t j = 0; j < i; j++)
				if (!strcmp(items[i].key->u.str.s, items[j].key->u.str.s)) {
					dup_error(b, &items[j], &items[i]);
					break;
				}
		return;
	}
	struct oam_pair **s = malloc(n * sizeof *s);
	if (!s)
		return oom(b);
	for (size_t i = 0; i < n; i++)
		s[i] = &items[i];
	qsort(s, n, sizeof *s, cmp_pair_key);
	for (size_t i = 1; i < n; i++)
		if (!strcmp(s[i]->key->u.str.s, s[i - 1]->key->u.str.s))
			dup_error(b, s[i - 1], s[i]);
	free(s);
}

/* YAML 1.1 merge keys (`<<: *base`), which Kubernetes' YAML reader honours:
 * entries of the merged maps fill in keys the map does not set itself. */
static size_t apply_merge_keys(struct builder *b, struct oam_pair *items, size_t n, struct oam_pair **out)
{
	size_t nmerge = 0, extra = 0;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(items[i].key->u.str.s, "<<")) {
			nmerge++;
			const struct oam_node *v = items[i].val;
			if (v->type == OAM_MAP)
				extra += v->u.map.n;
			else if (v->type == OAM_SEQ)
				for (size_t j = 0; j < v->u.seq.n; j++)
					if (v->u.seq.items[j]->type == OAM_MAP)
						extra += v->u.seq.items[j]->u.map.n;
		}
	*out = NULL;
	if (!nmerge)
		return n;
	struct oam_pair *r = oam_arena_alloc(b->ds->arena, (n + extra) * sizeof *r);
	if (!r) {
		oom(b);
		return n;
	}
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(items[i].key->u.str.s, "<<"))
			r[m++] = items[i];
	size_t own = m;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(items[i].key->u.str.s, "<<"))
			continue;
		const struct oam_node *v = items[i].val;
		size_t cnt = v->type == OAM_SEQ ? v->u.seq.n : 1;
		for (size_t j = 0; j < cnt; j++) {
			const struct oam_node *src = v->type == OAM_SEQ ? v->u.seq.items[j] : v;
			if (src->type != OAM_MAP) {
				oam_diag(b->d, OAM_SEV_ERROR, "OAM103", src,
					 "a merge key '<<' needs a map or a list of maps, not %s",
					 oam_ntype_article(src->type));
				b->failed = 1;
				continue;
			}
			for (size_t k = 0; k < src->u.map.n; k++) {
				size_t q;
				for (q = 0; q < m; q++)
					if (!strcmp(r[q].key->u.str.s, src->u.map.items[k].key->u.str.s))
						break;
				if (q == m)
					r[m++] = src->u.map.items[k];
			}
		}
	}
	(void)own;
	*out = r;
	return m;
}

static void push_frame(struct builder *b, struct oam_node *n, const char *anchor)
{
	if (grow((void **)&b->stack, &b->cap, b->depth + 1, sizeof *b->stack) < 0)
		return oom(b);
	struct frame *f = &b->stack[b->depth++];
	memset(f, 0, sizeof *f);
	f->node = n;
	f->anchor = anchor ? strdup(anchor) : NULL;
}

static void pop_frame(struct builder *b)
{
	struct frame *f = &b->stack[--b->depth];
	struct oam_node *n = f->node;
	if (n->type == OAM_SEQ) {
		n->u.seq.n = f->n;
		n->u.seq.items = oam_arena_alloc(b->ds->arena, (f->n ? f->n : 1) * sizeof(struct oam_node *));
		if (!n->u.seq.items)
			oom(b);
		else if (f->n)
			memcpy(n->u.seq.items, f->items, f->n * sizeof(struct oam_node *));
	} else {
		check_duplicates(b, f->items, f->n);
		struct oam_pair *merged;
		size_t cnt = apply_merge_keys(b, f->items, f->n, &merged);
		if (merged) {
			n->u.map.items = merged;
		} else {
			n->u.map.items = oam_arena_alloc(b->ds->arena, (f->n ? f->n : 1) * sizeof(struct oam_pair));
			if (!n->u.map.items)
				oom(b);
			else if (f->n)
				memcpy(n->u.map.items, f->items, f->n * sizeof(struct oam_pair));
		}
		n->u.map.n = n->u.map.items ? cnt : 0;
	}
	free(f->items);
	if (f->anchor) {
		bind_anchor(b, f->anchor, n);
		free(f->anchor);
	}
	attach(b, n);
}

static struct oam_node *scalar(struct builder *b, const yaml_event_t *ev, int is_key)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;
	struct oam_node *n = oam_node_new(b->ds->arena, OAM_STR, NULL);
	if (!n)
		return NULL;
	set_pos(b, n, &ev->start_mark);
	/* Keys keep their text: `y:` and `on:` are the keys "y" and "on". */
	int resolve = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !is_key;
	if (tag && !is_key) {
		if (!strcmp(tag, YAML_STR_TAG) || !strcmp(tag, "!"))
			resolve = 0;
		else if (!strncmp(tag, "tag:yaml.org,2002:", 18))
			resolve = 1;
	}
	if (resolve) {
		long long iv;
		double fv;
		int bv;
		switch (oam_resolve_plain(s, len, &iv, &fv, &bv)) {
		case OAM_NULL: n->type = OAM_NULL; return n;
		case OAM_BOOL: n->type = OAM_BOOL; n->u.b = bv; return n;
		case OAM_INT: n->type = OAM_INT; n->u.i = iv; return n;
		case OAM_FLOAT: n->type = OAM_FLOAT; n->u.f = fv; return n;
		default: break;
		}
	}
	n->u.str.s = oam_arena_strndup(b->ds->arena, s, len);
	n->u.str.len = len;
	return n->u.str.s ? n : NULL;
}

static int add_doc(struct oam_docset *ds, struct oam_node *root, const char *file, unsigned idx)
{
	if (grow((void **)&ds->docs, &ds->capdocs, ds->ndocs + 1, sizeof *ds->docs) < 0)
		return -1;
	ds->docs[ds->ndocs].root = root;
	ds->docs[ds->ndocs].file = file;
	ds->docs[ds->ndocs].index = idx;
	ds->ndocs++;
	return 0;
}

static void parser_error(struct builder *b, yaml_parser_t *p)
{
	const yaml_mark_t *m = p->problem ? &p->problem_mark : &p->mark;
	unsigned line = b->line_base + (unsigned)m->line + 1;
	struct oam_err *e;
	if (p->context)
		e = oam_diag_at(b->d, OAM_SEV_ERROR, "OAM101", b->file, line, (unsigned)m->column + 1,
				"invalid YAML: %s (%s that starts at line %zu)", p->problem, p->context,
				(size_t)b->line_base + (size_t)p->context_mark.line + 1);
	else
		e = oam_diag_at(b->d, OAM_SEV_ERROR, "OAM101", b->file, line, (unsigned)m->column + 1,
				"invalid YAML: %s", p->problem ? p->problem : "unknown parser error");
	size_t ll;
	const char *lt = oam_srcmap_line(b->ds->src, b->file, line, &ll);
	if ((p->problem && strstr(p->problem, "tab")) || (lt && ll > (size_t)m->column && lt[m->column] == '\t'))
		oam_diag_hint(e, "YAML does not allow tabs for indentation; use spaces");
	else if (p->problem && strstr(p->problem, "mapping values are not allowed"))
		oam_diag_hint(e, "check the indentation, or quote a value that contains ': '");
}

static int parse_slice(struct oam_docset *ds, const char *file, const char *text, size_t len, unsigned line_base,
		       struct oam_diags *d)
{
	yaml_parser_t p;
	yaml_event_t ev;
	struct builder b = { .ds = ds, .d = d, .file = file, .line_base = line_base };
	unsigned docidx = 0;
	int done = 0;

	if (!yaml_parser_initialize(&p))
		return -1;
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	while (!done && !b.failed) {
		if (!yaml_parser_parse(&p, &ev)) {
			parser_error(&b, &p);
			b.failed = 1;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			b.root = NULL;
			clear_anchors(&b);
			break;
		case YAML_DOCUMENT_END_EVENT:
			if (b.root && b.root->type == OAM_NULL)
				b.root = NULL;   /* an empty document */
			if (add_doc(ds, b.root, file, docidx++) < 0)
				oom(&b);
			break;
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT: {
			int map = ev.type == YAML_MAPPING_START_EVENT;
			struct oam_node *n = oam_node_new(ds->arena, map ? OAM_MAP : OAM_SEQ, NULL);
			if (!n) {
				oom(&b);
				break;
			}
			set_pos(&b, n, &ev.start_mark);
			push_frame(&b, n, (const char *)(map ? ev.data.mapping_start.anchor
							 : ev.data.sequence_start.anchor));
			break;
		}
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			pop_frame(&b);
			break;
		case YAML_SCALAR_EVENT: {
			int is_key = b.depth && b.stack[b.depth - 1].node->type == OAM_MAP && !b.stack[b.depth - 1].key;
			struct oam_node *n = scalar(&b, &ev, is_key);
			if (!n) {
				oom(&b);
				break;
			}
			if (ev.data.scalar.anchor)
				bind_anchor(&b, (const char *)ev.data.scalar.anchor, n);
			attach(&b, n);
			break;
		}
		case YAML_ALIAS_EVENT: {
			struct oam_node *n = find_anchor(&b, (const char *)ev.data.alias.anchor);
			if (!n) {
				oam_diag_at(d, OAM_SEV_ERROR, "OAM104", file, line_base + (unsigned)ev.start_mark.line + 1,
					    (unsigned)ev.start_mark.column + 1, "unknown alias '*%s'",
					    ev.data.alias.anchor);
				b.failed = 1;
				break;
			}
			attach(&b, n);
			break;
		}
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	while (b.depth) {
		struct frame *f = &b.stack[--b.depth];
		free(f->items);
		free(f->anchor);
	}
	free(b.stack);
	clear_anchors(&b);
	free(b.anchors);
	yaml_parser_delete(&p);
	return b.failed ? -1 : 0;
}

/* ---- large inputs: slices parsed on several cores ---- */

/* A line that is exactly "---" (or "--- " and more) at column 0 always
 * starts a new document: YAML forbids it inside any scalar or collection, so
 * the text before and after it parse the same on their own. Anchors never
 * cross documents. */
#define SLICE_MIN (256u << 10)
#define SLICES_MAX 8

struct slice {
	struct oam_docset ds;   /* private arena and document list */
	struct oam_diags d;
	const char *file, *text;
	size_t len;
	unsigned line_base;
	int rc;
	pthread_t tid;
};

static void *slice_run(void *arg)
{
	struct slice *sl = arg;
	sl->rc = parse_slice(&sl->ds, sl->file, sl->text, sl->len, sl->line_base, &sl->d);
	return NULL;
}

/* The start of the first document-start line at or after `from`, or `len`. */
static size_t next_doc_start(const char *text, size_t len, size_t from)
{
	for (size_t i = from; i + 3 <= len;) {
		const char *nl = memchr(text + i, '\n', len - i);
		if (!nl)
			break;
		i = (size_t)(nl - text) + 1;
		if (i + 3 <= len && !memcmp(text + i, "---", 3) &&
		    (i + 3 == len || text[i + 3] == '\n' || text[i + 3] == ' ' || text[i + 3] == '\t' || text[i + 3] == '\r'))
			return i;
	}
	return len;
}

static unsigned count_lines(const char *p, const char *end)
{
	unsigned n = 0;
	while ((p = memchr(p, '\n', (size_t)(end - p)))) {
		n++;
		p++;
	}
	return n;
}

/* Splits at document starts and parses the slices in parallel; the result
 * is the serial parse's, byte for byte. Any finding in any slice (or a
 * failure to start a thread) makes it give up and return 1: the caller then
 * parses the whole text serially, so errors are reported exactly as before. */
static int parse_parallel(struct oam_docset *ds, const char *file, const char *text, size_t len, int n)
{
	struct slice sl[SLICES_MAX];
	int k = 0, started[SLICES_MAX] = { 0 }, rc = 1;
	size_t at = 0;
	unsigned line = 0;
	memset(sl, 0, sizeof sl);
	for (int i = 0; i < n && at < len; i++) {
		size_t end = i == n - 1 ? len : next_doc_start(text, len, at + (len - at) / (size_t)(n - i));
		if (oam_docset_init(&sl[k].ds) < 0)
			goto out;
		free(sl[k].ds.src);
		sl[k].ds.src = ds->src;   /* read-only here: only hints look at it */
		oam_diags_init(&sl[k].d);
		sl[k].file = file;
		sl[k].text = text + at;
		sl[k].len = end - at;
		sl[k].line_base = line;
		line += count_lines(text + at, text + end);
		at = end;
		k++;
	}
	if (k < 2)
		goto out;
	for (int i = 1; i < k; i++)
		if (!(started[i] = pthread_create(&sl[i].tid, NULL, slice_run, &sl[i]) == 0))
			break;
	slice_run(&sl[0]);
	int ok = sl[0].rc == 0 && !sl[0].d.n;
	for (int i = 1; i < k; i++) {
		if (started[i])
			pthread_join(sl[i].tid, NULL);
		ok = ok && started[i] && sl[i].rc == 0 && !sl[i].d.n;
	}
	if (!ok)
		goto out;
	unsigned base = 0;
	for (int i = 0; i < k; i++) {
		for (size_t j = 0; j < sl[i].ds.ndocs; j++)
			if (add_doc(ds, sl[i].ds.docs[j].root, file, base++) < 0)
				goto out;
	}
	for (int i = 0; i < k; i++) {
		oam_arena_adopt(ds->arena, sl[i].ds.arena);
		sl[i].ds.arena = NULL;
	}
	rc = 0;
out:
	for (int i = 0; i < k; i++) {
		sl[i].ds.src = NULL;
		oam_docset_release(&sl[i].ds);
		oam_diags_release(&sl[i].d);
	}
	return rc;
}

static int parse_text(struct oam_docset *ds, const char *file, const char *text, size_t len,
		      struct oam_diags *d)
{
	int n = oam_cores_for(len, SLICE_MIN, SLICES_MAX);
	if (n > 1) {
		size_t before = ds->ndocs;
		if (parse_parallel(ds, file, text, len, n) == 0)
			return 0;
		ds->ndocs = before;   /* drop what a failed attempt added */
	}
	size_t nd = d->n;
	int rc = parse_slice(ds, file, text, len, 0, d);
	const char *tpl = d->n > nd ? strstr(text, "{{") : NULL;
	if (tpl && !d->v[nd].hint[0])
		oam_diag_hint(&d->v[nd], "this looks like a template ('{{' at line %u): render it first, e.g. "
			      "helm template CHART | oamlua render -f -", 1 + count_lines(text, tpl));
	return rc;
}

static int add_source(struct oam_docset *ds, const char *name, char *text, size_t len, const char **stored)
{
	struct oam_srcmap *m = ds->src;
	if (grow((void **)&m->v, &m->cap, m->n + 1, sizeof *m->v) < 0)
		return -1;
	/* The display name lives in the arena so nodes can point at it for ever. */
	char *aname = oam_arena_strndup(ds->arena, name, strlen(name));
	char *mname = strdup(name);
	if (!aname || !mname) {
		free(mname);
		return -1;
	}
	m->v[m->n].name = mname;
	m->v[m->n].text = text;
	m->v[m->n].len = len;
	m->n++;
	*stored = aname;
	return 0;
}

int oam_load_buffer(struct oam_docset *ds, const char *name, const char *buf, size_t len, struct oam_diags *d)
{
	char *copy = malloc(len + 1);
	const char *stored;
	if (!copy)
		return -1;
	memcpy(copy, buf, len);
	copy[len] = '\0';
	if (add_source(ds, name, copy, len, &stored) < 0) {
		free(copy);
		return -1;
	}
	return parse_text(ds, stored, copy, len, d);
}

static int load_file(struct oam_docset *ds, const char *path, struct oam_diags *d)
{
	int is_stdin = !strcmp(path, "-");
	const char *name = is_stdin ? "<stdin>" : path;
	unsigned char *text;
	size_t len = 0;
	const char *stored;
	/* A regular file is read in one allocation of its size. */
	if ((is_stdin ? oam_file_read_fd(0, &text, &len, SIZE_MAX, 0) : oam_file_read(path, &text, &len, SIZE_MAX, 0)) < 0) {
		if (errno == ENOENT && !is_stdin) {
			struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, "OAM901", path, 0, 0, "cannot open: %s",
							strerror(errno));
			oam_diag_hint(e, "check the path given to -f");
		} else {
			oam_diag_at(d, OAM_SEV_ERROR, "OAM901", name, 0, 0, "cannot read: %s", strerror(errno));
		}
		return -1;
	}
	if (add_source(ds, name, (char *)text, len, &stored) < 0) {
		free(text);
		return -1;
	}
	return parse_text(ds, stored, (char *)text, len, d);
}

static int has_yaml_ext(const char *name)
{
	const char *dot = strrchr(name, '.');
	return dot && (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml") || !strcmp(dot, ".json"));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_dir(struct oam_docset *ds, const char *path, int recursive, struct oam_diags *d)
{
	DIR *dir = opendir(path);
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	struct dirent *de;
	if (!dir) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM901", path, 0, 0, "cannot open directory: %s", strerror(errno));
		return -1;
	}
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		if (grow((void **)&names, &cap, n + 1, sizeof *names) < 0) {
			rc = -1;
			break;
		}
		names[n] = malloc(strlen(path) + strlen(de->d_name) + 2);
		if (!names[n]) {
			rc = -1;
			break;
		}
		sprintf(names[n], "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/", de->d_name);
		n++;
	}
	closedir(dir);
	if (n)
		qsort(names, n, sizeof *names, cmp_str);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (stat(names[i], &st) == 0) {
			if (S_ISDIR(st.st_mode)) {
				if (recursive && load_dir(ds, names[i], 1, d) < 0)
					rc = -1;
			} else if (has_yaml_ext(names[i])) {
				if (load_file(ds, names[i], d) < 0)
					rc = -1;
			}
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int oam_load_path(struct oam_docset *ds, const char *path, int recursive, struct oam_diags *d)
{
	struct stat st;
	if (strcmp(path, "-") && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return load_dir(ds, path, recursive, d);
	return load_file(ds, path, d);
}
