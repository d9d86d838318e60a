/* pack.c — trait packs: versions and ranges, the manifest (pack.yaml),
 * loading packs and pack stores into the registry, and the render-time
 * checks of what a pack's modules may emit and use. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <lauxlib.h>

#include "oamlua/load.h"
#include "oamlua/model.h"
#include "oamlua/pack.h"

/* ---- semantic versions ---- */

static int parse_num(const char **p, long long *out)
{
	const char *s = *p;
	if (!isdigit((unsigned char)*s))
		return -1;
	if (s[0] == '0' && isdigit((unsigned char)s[1]))
		return -1;   /* no leading zeros */
	long long v = 0;
	while (isdigit((unsigned char)*s)) {
		if (v > 999999999999LL)
			return -1;
		v = v * 10 + (*s++ - '0');
	}
	*out = v;
	*p = s;
	return 0;
}

/* Dot-separated identifiers of [0-9A-Za-z-]; numeric ones without leading
 * zeros when `numeric_rule`. Returns the length consumed or -1. */
static int parse_idents(const char *s, int numeric_rule)
{
	const char *p = s;
	for (;;) {
		const char *start = p;
		int all_digits = 1;
		while (isalnum((unsigned char)*p) || *p == '-') {
			if (!isdigit((unsigned char)*p))
				all_digits = 0;
			p++;
		}
		if (p == start)
			return -1;
		if (numeric_rule && all_digits && p - start > 1 && *start == '0')
			return -1;
		if (*p != '.')
			break;
		p++;
	}
	return (int)(p - s);
}

int oam_semver_parse(const char *s, struct oam_semver *v)
{
	memset(v, 0, sizeof *v);
	if (!s || parse_num(&s, &v->major) < 0 || *s++ != '.' || parse_num(&s, &v->minor) < 0 || *s++ != '.' ||
	    parse_num(&s, &v->patch) < 0)
		return -1;
	if (*s == '-') {
		int n = parse_idents(++s, 1);
		if (n < 0 || (size_t)n >= sizeof v->pre)
			return -1;
		memcpy(v->pre, s, (size_t)n);
		v->pre[n] = '\0';
		s += n;
	}
	if (*s == '+') {
		int n = parse_idents(++s, 0);
		if (n < 0)
			return -1;
		s += n;
	}
	return *s ? -1 : 0;
}

static int cmp_ident(const char *a, size_t al, const char *b, size_t bl)
{
	int an = 1, bn = 1;
	for (size_t i = 0; i < al; i++)
		an &= isdigit((unsigned char)a[i]) != 0;
	for (size_t i = 0; i < bl; i++)
		bn &= isdigit((unsigned char)b[i]) != 0;
	if (an && bn) {
		if (al != bl)
			return al < bl ? -1 : 1;
		int c = memcmp(a, b, al);
		return c < 0 ? -1 : c > 0;
	}
	if (an != bn)
		return an ? -1 : 1;   /* numeric identifiers sort first */
	int c = memcmp(a, b, al < bl ? al : bl);
	if (c)
		return c < 0 ? -1 : 1;
	return al == bl ? 0 : al < bl ? -1 : 1;
}

int oam_semver_cmp(const struct oam_semver *a, const struct oam_semver *b)
{
	if (a->major != b->major)
		return a->major < b->major ? -1 : 1;
	if (a->minor != b->minor)
		return a->minor < b->minor ? -1 : 1;
	if (a->patch != b->patch)
		return a->patch < b->patch ? -1 : 1;
	if (!a->pre[0] || !b->pre[0])
		return !a->pre[0] && !b->pre[0] ? 0 : !a->pre[0] ? 1 : -1;
	const char *x = a->pre, *y = b->pre;
	for (;;) {
		size_t xl = strcspn(x, "."), yl = strcspn(y, ".");
		int c = cmp_ident(x, xl, y, yl);
		if (c)
			return c;
		x += xl;
		y += yl;
		if (!*x || !*y)
			return !*x && !*y ? 0 : !*x ? -1 : 1;
		x++;
		y++;
	}
}

/* A primitive comparator: op applied to a version. */
enum cop { C_EQ, C_GT, C_GE, C_LT, C_LE, C_NONE };
struct comp {
	enum cop op;
	struct oam_semver v;
};

/* A partial version: up to three numbers (the rest wildcards) and a pre-release. */
struct partial {
	long long n[3];
	int have;
	char pre[96];
};

static int parse_partial(const char *s, struct partial *p, char *err, size_t errsize)
{
	memset(p, 0, sizeof *p);
	const char *orig = s;
	if (*s == 'v' || *s == 'V')
		s++;
	for (int i = 0; i < 3; i++) {
		if (*s == 'x' || *s == 'X' || *s == '*') {
			s++;
		} else if (p->have == i && isdigit((unsigned char)*s)) {
			if (parse_num(&s, &p->n[i]) < 0)
				goto bad;
			p->have = i + 1;
		} else {
			goto bad;
		}
		if (*s != '.')
			break;
		s++;
		if (!*s)
			goto bad;
	}
	if (*s == '-' && p->have == 3) {
		int n = parse_idents(++s, 1);
		if (n < 0 || (size_t)n >= sizeof p->pre)
			goto bad;
		memcpy(p->pre, s, (size_t)n);
		s += n;
	}
	if (*s == '+' && p->have == 3) {
		int n = parse_idents(++s, 0);
		if (n < 0)
			goto bad;
		s += n;
	}
	if (*s)
		goto bad;
	return 0;
bad:
	snprintf(err, errsize, "'%s' is not a version (MAJOR.MINOR.PATCH, parts may be x or *)", orig);
	return -1;
}

static void ver(struct oam_semver *v, long long a, long long b, long long c)
{
	memset(v, 0, sizeof *v);
	v->major = a;
	v->minor = b;
	v->patch = c;
}

static int add_comp(struct comp *out, int *n, int max, enum cop op, const struct oam_semver *v)
{
	if (*n >= max)
		return -1;
	out[*n].op = op;
	out[*n].v = *v;
	(*n)++;
	return 0;
}

/* The lower bound a partial stands for (missing parts 0). */
static void lower_of(const struct partial *p, struct oam_semver *v)
{
	ver(v, p->n[0], p->n[1], p->n[2]);
	if (p->have == 3)
		snprintf(v->pre, sizeof v->pre, "%s", p->pre);
}

/* The first version past a partial's range: 1.2 → 1.3.0, 1 → 2.0.0. */
static void next_of(const struct partial *p, struct oam_semver *v)
{
	if (p->have == 1)
		ver(v, p->n[0] + 1, 0, 0);
	else
		ver(v, p->n[0], p->n[1] + 1, 0);
}

/* One comparator ("^1.2", ">=1.0.0", "1.x") into primitives. */
static int desugar(const char *op, const struct partial *p, struct comp *out, int *n, int max)
{
	struct oam_semver lo, hi;
	lower_of(p, &lo);
	if (p->have == 0) {   /* *, x */
		if (!strcmp(op, "<") || !strcmp(op, ">")) {
			ver(&lo, 0, 0, 0);
			return add_comp(out, n, max, C_NONE, &lo);
		}
		ver(&lo, 0, 0, 0);
		return add_comp(out, n, max, C_GE, &lo);
	}
	if (p->have == 3) {
		if (!*op || !strcmp(op, "="))
			return add_comp(out, n, max, C_EQ, &lo);
		if (!strcmp(op, ">"))
			return add_comp(out, n, max, C_GT, &lo);
		if (!strcmp(op, ">="))
			return add_comp(out, n, max, C_GE, &lo);
		if (!strcmp(op, "<"))
			return add_comp(out, n, max, C_LT, &lo);
		if (!strcmp(op, "<="))
			return add_comp(out, n, max, C_LE, &lo);
		if (!strcmp(op, "~"))
			ver(&hi, p->n[0], p->n[1] + 1, 0);
		else if (p->n[0] > 0)   /* ^ */
			ver(&hi, p->n[0] + 1, 0, 0);
		else if (p->n[1] > 0)
			ver(&hi, 0, p->n[1] + 1, 0);
		else
			ver(&hi, 0, 0, p->n[2] + 1);
		return add_comp(out, n, max, C_GE, &lo) < 0 ? -1 : add_comp(out, n, max, C_LT, &hi);
	}
	/* Partial: 1 or 1.2 */
	next_of(p, &hi);
	if (!strcmp(op, ">"))
		return add_comp(out, n, max, C_GE, &hi);
	if (!strcmp(op, ">="))
		return add_comp(out, n, max, C_GE, &lo);
	if (!strcmp(op, "<"))
		return add_comp(out, n, max, C_LT, &lo);
	if (!strcmp(op, "<="))
		return add_comp(out, n, max, C_LT, &hi);
	if (!strcmp(op, "^") && p->have == 2 && p->n[0] > 0)
		ver(&hi, p->n[0] + 1, 0, 0);
	return add_comp(out, n, max, C_GE, &lo) < 0 ? -1 : add_comp(out, n, max, C_LT, &hi);
}

static int comp_ok(const struct comp *c, const struct oam_semver *v)
{
	int r = oam_semver_cmp(v, &c->v);
	switch (c->op) {
	case C_EQ: return r == 0;
	case C_GT: return r > 0;
	case C_GE: return r >= 0;
	case C_LT: return r < 0;
	case C_LE: return r <= 0;
	case C_NONE: return 0;
	}
	return 0;
}

/* One alternative (comparators separated by spaces, or A - B). */
static int set_satisfies(const struct oam_semver *v, char *set, char *err, size_t errsize)
{
	struct comp c[64];
	int n = 0;
	char *tok[64];
	int nt = 0;
	for (char *save = NULL, *t = strtok_r(set, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (nt == 64) {
			snprintf(err, errsize, "too many comparators");
			return -1;
		}
		tok[nt++] = t;
	}
	if (!nt) {
		struct partial any = { { 0, 0, 0 }, 0, "" };
		desugar("", &any, c, &n, 64);
	}
	for (int i = 0; i < nt; i++) {
		struct partial p, q;
		if (i + 2 < nt && !strcmp(tok[i + 1], "-")) {   /* hyphen range */
			if (parse_partial(tok[i], &p, err, errsize) < 0 || parse_partial(tok[i + 2], &q, err, errsize) < 0)
				return -1;
			struct oam_semver lo, hi;
			lower_of(&p, &lo);
			if (add_comp(c, &n, 64, C_GE, &lo) < 0)
				goto many;
			if (q.have == 3) {
				lower_of(&q, &hi);
				if (add_comp(c, &n, 64, C_LE, &hi) < 0)
					goto many;
			} else if (q.have) {
				next_of(&q, &hi);
				if (add_comp(c, &n, 64, C_LT, &hi) < 0)
					goto many;
			}
			i += 2;
			continue;
		}
		char op[3] = "";
		const char *s = tok[i];
		size_t ol = strspn(s, "<>=^~");
		if (ol > 2 || (ol == 2 && strcmp((char[]){ s[0], s[1], 0 }, ">=") && strcmp((char[]){ s[0], s[1], 0 }, "<="))) {
			snprintf(err, errsize, "unknown operator in '%s' (=, >, >=, <, <=, ^, ~)", s);
			return -1;
		}
		memcpy(op, s, ol);
		op[ol] = '\0';
		s += ol;
		if (!*s) {   /* ">= 1.2.3": the operator stands alone */
			if (i + 1 >= nt) {
				snprintf(err, errsize, "operator '%s' without a version", op);
				return -1;
			}
			s = tok[++i];
		}
		if (parse_partial(s, &p, err, errsize) < 0)
			return -1;
		if (desugar(op, &p, c, &n, 64) < 0)
			goto many;
	}
	int ok = 1, pre_ok = !v->pre[0];
	for (int i = 0; i < n; i++) {
		ok &= comp_ok(&c[i], v);
		if (c[i].v.pre[0] && c[i].v.major == v->major && c[i].v.minor == v->minor && c[i].v.patch == v->patch)
			pre_ok = 1;
	}
	return ok && pre_ok;
many:
	snprintf(err, errsize, "too many comparators");
	return -1;
}

int oam_semver_satisfies(const struct oam_semver *v, const char *range, char *err, size_t errsize)
{
	char buf[512];
	if (strlen(range) >= sizeof buf) {
		snprintf(err, errsize, "range too long");
		return -1;
	}
	snprintf(buf, sizeof buf, "%s", range);
	int any = 0;
	char *p = buf;
	for (;;) {
		char *bar = strstr(p, "||");
		if (bar)
			*bar = '\0';
		int r = set_satisfies(v, p, err, errsize);
		if (r < 0)
			return -1;
		any |= r;
		if (!bar)
			break;
		p = bar + 2;
	}
	return any;
}

/* ---- the manifest ---- */

static const char *const top_keys[] = { "name", "version", "description", "maintainers", "oamlua", "kubernetes",
					"dependencies", "limits", "modules", NULL };
static const char *const module_keys[] = { "emits", "requires", "limits", NULL };
static const char *const emit_keys[] = { "apiVersion", "kinds", NULL };
static const char *const require_keys[] = { "apiVersion", "kind", "resource", NULL };
static const char *const limit_keys[] = { "instructions", "memory", NULL };
static const char *const dep_keys[] = { "name", "version", NULL };
static const char *const maint_keys[] = { "name", "email", NULL };

struct mparse {
	struct oam_arena *a;
	struct oam_diags *d;
	const char *file;
	int bad;
};

static struct oam_err *mbad(struct mparse *p, const struct oam_node *at, const char *id, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static struct oam_err *mbad(struct mparse *p, const struct oam_node *at, const char *id, const char *fmt, ...)
{
	char msg[700];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	p->bad = 1;
	if (at)
		return oam_diag(p->d, OAM_SEV_ERROR, id, at, "%s", msg);
	return oam_diag_at(p->d, OAM_SEV_ERROR, id, p->file, 0, 0, "%s", msg);
}

static size_t count_keys(const char *const *keys)
{
	size_t n = 0;
	while (keys[n])
		n++;
	return n;
}

/* Unknown keys of a map are errors, with a suggestion. */
static void known_keys(struct mparse *p, const struct oam_node *map, const char *const *keys, const char *where)
{
	for (size_t i = 0; i < map->u.map.n; i++) {
		const char *k = map->u.map.items[i].key->u.str.s;
		int ok = 0;
		for (size_t j = 0; keys[j]; j++)
			ok |= !strcmp(k, keys[j]);
		if (ok)
			continue;
		const char *close = oam_closest(k, keys, count_keys(keys));
		struct oam_err *e = mbad(p, map->u.map.items[i].key, "OAM701", "unknown field '%s' in %s", k, where);
		if (close)
			oam_diag_hint(e, "did you mean '%s'?", close);
	}
}

static const struct oam_node *want(struct mparse *p, const struct oam_node *map, const char *key,
				   enum oam_ntype type, int required, const char *where)
{
	const struct oam_node *n = oam_map_get(map, key);
	if (!n || n->type == OAM_NULL) {
		if (required)
			mbad(p, map, "OAM701", "%s: '%s' is missing", where, key);
		return NULL;
	}
	if (n->type != type) {
		mbad(p, n, "OAM701", "%s: '%s' must be %s, not %s", where, key, oam_ntype_article(type),
		     oam_ntype_article((enum oam_ntype)n->type));
		return NULL;
	}
	return n;
}

static const char *dup(struct mparse *p, const struct oam_node *n)
{
	return n ? oam_arena_strndup(p->a, n->u.str.s, n->u.str.len) : NULL;
}

static int api_version_ok(const char *s)
{
	/* "v1", or "group/version": a DNS subdomain, then a version label. */
	const char *slash = strchr(s, '/');
	const char *v = slash ? slash + 1 : s;
	if (slash) {
		char group[256];
		size_t gl = (size_t)(slash - s);
		if (!gl || gl >= sizeof group)
			return 0;
		memcpy(group, s, gl);
		group[gl] = '\0';
		if (!oam_is_dns_subdomain(group) || strchr(v, '/'))
			return 0;
	}
	return oam_is_dns_label(v) && v[0] == 'v';
}

static int kind_ok(const char *s)
{
	if (!isupper((unsigned char)s[0]))
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s))
			return 0;
	return 1;
}

/* Bytes: a whole number, or with a Ki/Mi/Gi suffix. */
static int parse_bytes(const struct oam_node *n, size_t *out)
{
	if (n->type == OAM_INT) {
		if (n->u.i <= 0)
			return -1;
		*out = (size_t)n->u.i;
		return 0;
	}
	if (n->type != OAM_STR)
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(n->u.str.s, &end, 10);
	if (errno || end == n->u.str.s || !v)
		return -1;
	int shift = !*end ? 0 : !strcmp(end, "Ki") ? 10 : !strcmp(end, "Mi") ? 20 : !strcmp(end, "Gi") ? 30 : -1;
	if (shift < 0 || v > (1ULL << 40) >> shift)
		return -1;
	*out = (size_t)(v << shift);
	return 0;
}

void oam_pack_fmt_bytes(size_t n, char *buf, size_t size)
{
	if (n && !(n & ((1u << 30) - 1)))
		snprintf(buf, size, "%zuGi", n >> 30);
	else if (n && !(n & ((1u << 20) - 1)))
		snprintf(buf, size, "%zuMi", n >> 20);
	else if (n && !(n & ((1u << 10) - 1)))
		snprintf(buf, size, "%zuKi", n >> 10);
	else
		snprintf(buf, size, "%zu", n);
}

static void parse_limits(struct mparse *p, const struct oam_node *n, struct oam_pack_limits *l, const char *where)
{
	char w[200];
	known_keys(p, n, limit_keys, where);
	snprintf(w, sizeof w, "%s", where);
	const struct oam_node *i = oam_map_get(n, "instructions");
	if (i && (i->type != OAM_INT || i->u.i < 1000))
		mbad(p, i, "OAM701", "%s: 'instructions' must be a whole number of at least 1000", w);
	else if (i)
		l->instructions = i->u.i;
	const struct oam_node *m = oam_map_get(n, "memory");
	if (m && (parse_bytes(m, &l->memory) < 0 || l->memory < (64u << 10)))
		mbad(p, m, "OAM701", "%s: 'memory' must be a size of at least 64Ki, such as 16Mi or 512Ki", w);
}

static void parse_module(struct mparse *p, const char *name, const struct oam_node *body, struct oam_modcaps *c)
{
	char where[200];
	snprintf(where, sizeof where, "module '%s'", name);
	if (body->type == OAM_NULL)
		return;
	if (body->type != OAM_MAP) {
		mbad(p, body, "OAM701", "%s must be a map (emits, requires, limits)", where);
		return;
	}
	known_keys(p, body, module_keys, where);
	const struct oam_node *em = want(p, body, "emits", OAM_SEQ, 0, where);
	if (em) {
		size_t total = 0;
		for (size_t i = 0; i < em->u.seq.n; i++) {
			const struct oam_node *k = oam_map_get(em->u.seq.items[i], "kinds");
			total += k && k->type == OAM_SEQ ? k->u.seq.n : 0;
		}
		c->emits = oam_arena_alloc(p->a, (total ? total : 1) * sizeof *c->emits);
		for (size_t i = 0; c->emits && i < em->u.seq.n; i++) {
			const struct oam_node *e = em->u.seq.items[i];
			if (e->type != OAM_MAP) {
				mbad(p, e, "OAM701", "%s: each emits entry is a map with apiVersion and kinds", where);
				continue;
			}
			known_keys(p, e, emit_keys, where);
			const struct oam_node *av = want(p, e, "apiVersion", OAM_STR, 1, where);
			const struct oam_node *ks = want(p, e, "kinds", OAM_SEQ, 1, where);
			if (av && !api_version_ok(av->u.str.s))
				mbad(p, av, "OAM701", "%s: '%s' is not an apiVersion (group/version, or v1)", where, av->u.str.s);
			for (size_t j = 0; av && ks && j < ks->u.seq.n; j++) {
				const struct oam_node *k = ks->u.seq.items[j];
				const char *s = oam_str(k);
				if (!s || (strcmp(s, "*") && !kind_ok(s))) {
					mbad(p, k, "OAM701", "%s: a kind is a CamelCase name (or \"*\" for any)", where);
					continue;
				}
				c->emits[c->nemits].api_version = dup(p, av);
				c->emits[c->nemits++].kind = dup(p, k);
			}
		}
	}
	const struct oam_node *rq = want(p, body, "requires", OAM_SEQ, 0, where);
	if (rq) {
		c->requires = oam_arena_alloc(p->a, (rq->u.seq.n ? rq->u.seq.n : 1) * sizeof *c->requires);
		for (size_t i = 0; c->requires && i < rq->u.seq.n; i++) {
			const struct oam_node *e = rq->u.seq.items[i];
			if (e->type != OAM_MAP) {
				mbad(p, e, "OAM701", "%s: each requires entry is a map with apiVersion and kind or resource", where);
				continue;
			}
			known_keys(p, e, require_keys, where);
			const struct oam_node *av = want(p, e, "apiVersion", OAM_STR, 1, where);
			const struct oam_node *k = want(p, e, "kind", OAM_STR, 0, where);
			const struct oam_node *r = want(p, e, "resource", OAM_STR, 0, where);
			if (av && !api_version_ok(av->u.str.s)) {
				mbad(p, av, "OAM701", "%s: '%s' is not an apiVersion (group/version, or v1)", where, av->u.str.s);
				continue;
			}
			if (!k == !r) {
				mbad(p, e, "OAM701", "%s: a requires entry names either a kind or a resource", where);
				continue;
			}
			if (k && !kind_ok(k->u.str.s)) {
				mbad(p, k, "OAM701", "%s: '%s' is not a kind (a CamelCase name)", where, k->u.str.s);
				continue;
			}
			if (r && !oam_is_dns_label(r->u.str.s)) {
				mbad(p, r, "OAM701", "%s: '%s' is not a resource (a lowercase plural such as deployments)", where,
				     r->u.str.s);
				continue;
			}
			if (!av)
				continue;
			c->requires[c->nrequires].api_version = dup(p, av);
			c->requires[c->nrequires].kind = dup(p, k);
			c->requires[c->nrequires++].resource = dup(p, r);
		}
	}
	const struct oam_node *lim = want(p, body, "limits", OAM_MAP, 0, where);
	if (lim)
		parse_limits(p, lim, &c->limits, where);
}

int oam_pack_manifest_parse(struct oam_arena *a, const char *display, const char *buf, size_t len,
			    struct oam_pack_manifest *m, struct oam_diags *d)
{
	struct oam_docset ds;
	struct mparse p = { a, d, display, 0 };
	char err[300];
	memset(m, 0, sizeof *m);
	m->file = oam_arena_strndup(a, display, strlen(display));
	if (oam_docset_init(&ds) < 0) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM900", display, 0, 0, "out of memory");
		return -1;
	}
	if (oam_load_buffer(&ds, display, buf, len, d) < 0) {
		oam_docset_release(&ds);
		return -1;
	}
	const struct oam_node *root = ds.ndocs ? ds.docs[0].root : NULL;
	if (ds.ndocs != 1 || !root || root->type != OAM_MAP) {
		mbad(&p, root, "OAM701", "pack.yaml must hold one map (name, version, description, maintainers, oamlua, modules, ...)");
		oam_docset_release(&ds);
		return -1;
	}
	known_keys(&p, root, top_keys, "pack.yaml");
	const struct oam_node *n = want(&p, root, "name", OAM_STR, 1, "pack.yaml");
	if (n && (!oam_is_dns_label(n->u.str.s) || !isalpha((unsigned char)n->u.str.s[0]) || n->u.str.len > 50))
		mbad(&p, n, "OAM701", "pack name '%s' must be a DNS label starting with a letter, at most 50 characters",
		     n->u.str.s);
	else
		m->name = dup(&p, n);
	n = want(&p, root, "version", OAM_STR, 1, "pack.yaml");
	if (n && oam_semver_parse(n->u.str.s, &m->semver) < 0) {
		struct oam_err *e = mbad(&p, n, "OAM703", "version '%s' is not a semantic version", n->u.str.s);
		oam_diag_hint(e, "MAJOR.MINOR.PATCH, e.g. 1.0.0 or 2.1.0-rc.1 (semver.org)");
	} else if (n && n->u.str.len >= sizeof ((struct oam_pack_archive *)0)->version) {
		mbad(&p, n, "OAM703", "version '%s' is too long", n->u.str.s);
	} else {
		m->version = dup(&p, n);
	}
	m->description = dup(&p, want(&p, root, "description", OAM_STR, 1, "pack.yaml"));
	n = want(&p, root, "oamlua", OAM_STR, 1, "pack.yaml");
	if (n && strcmp(n->u.str.s, OAM_PACK_API)) {
		struct oam_err *e = mbad(&p, n, "OAM701", "the pack needs module API '%s'; this oamlua speaks %s",
					 n->u.str.s, OAM_PACK_API);
		oam_diag_hint(e, "install an oamlua that supports it, or a version of the pack made for %s", OAM_PACK_API);
	}
	m->api = dup(&p, n);
	n = want(&p, root, "kubernetes", OAM_STR, 0, "pack.yaml");
	if (n) {
		struct oam_semver probe;
		ver(&probe, 1, 0, 0);
		if (oam_semver_satisfies(&probe, n->u.str.s, err, sizeof err) < 0)
			mbad(&p, n, "OAM703", "kubernetes: '%s' is not a version range: %s", n->u.str.s, err);
		else
			m->kubernetes = dup(&p, n);
	}
	n = want(&p, root, "maintainers", OAM_SEQ, 1, "pack.yaml");
	if (n && !n->u.seq.n)
		mbad(&p, n, "OAM701", "pack.yaml: 'maintainers' needs at least one entry (name, email)");
	if (n) {
		m->maintainers = oam_arena_alloc(a, (n->u.seq.n ? n->u.seq.n : 1) * sizeof *m->maintainers);
		for (size_t i = 0; m->maintainers && i < n->u.seq.n; i++) {
			const struct oam_node *e = n->u.seq.items[i];
			if (e->type != OAM_MAP) {
				mbad(&p, e, "OAM701", "pack.yaml: a maintainer is a map with name and email");
				continue;
			}
			known_keys(&p, e, maint_keys, "a maintainer");
			m->maintainers[m->nmaintainers].name = dup(&p, want(&p, e, "name", OAM_STR, 1, "a maintainer"));
			m->maintainers[m->nmaintainers++].email = dup(&p, want(&p, e, "email", OAM_STR, 0, "a maintainer"));
		}
	}
	n = want(&p, root, "dependencies", OAM_SEQ, 0, "pack.yaml");
	if (n) {
		m->deps = oam_arena_alloc(a, (n->u.seq.n ? n->u.seq.n : 1) * sizeof *m->deps);
		for (size_t i = 0; m->deps && i < n->u.seq.n; i++) {
			const struct oam_node *e = n->u.seq.items[i];
			if (e->type != OAM_MAP) {
				mbad(&p, e, "OAM701", "pack.yaml: a dependency is a map with name and version (a range)");
				continue;
			}
			known_keys(&p, e, dep_keys, "a dependency");
			const struct oam_node *dn = want(&p, e, "name", OAM_STR, 1, "a dependency");
			const struct oam_node *dv = want(&p, e, "version", OAM_STR, 1, "a dependency");
			if (!dn || !dv)
				continue;
			struct oam_semver probe;
			ver(&probe, 1, 0, 0);
			if (oam_semver_satisfies(&probe, dv->u.str.s, err, sizeof err) < 0) {
				struct oam_err *x = mbad(&p, dv, "OAM703", "dependency '%s': '%s' is not a version range: %s",
							 dn->u.str.s, dv->u.str.s, err);
				oam_diag_hint(x, "ranges as npm writes them: ^1.2.0, ~1.2, >=1.0.0 <2.0.0, 1.x");
				continue;
			}
			if (m->name && !strcmp(dn->u.str.s, m->name)) {
				mbad(&p, dn, "OAM701", "the pack cannot depend on itself");
				continue;
			}
			int twice = 0;
			for (size_t j = 0; j < m->ndeps; j++)
				twice |= !strcmp(m->deps[j].name, dn->u.str.s);
			if (twice) {
				mbad(&p, dn, "OAM701", "dependency '%s' is listed twice", dn->u.str.s);
				continue;
			}
			m->deps[m->ndeps].name = dup(&p, dn);
			m->deps[m->ndeps].range = dup(&p, dv);
			m->deps[m->ndeps].line = dn->line;
			m->deps[m->ndeps++].col = dn->col;
		}
	}
	n = want(&p, root, "limits", OAM_MAP, 0, "pack.yaml");
	if (n)
		parse_limits(&p, n, &m->limits, "limits");
	n = want(&p, root, "modules", OAM_MAP, 1, "pack.yaml");
	if (n) {
		m->modules = oam_arena_alloc(a, (n->u.map.n ? n->u.map.n : 1) * sizeof *m->modules);
		for (size_t i = 0; m->modules && i < n->u.map.n; i++) {
			const struct oam_pair *e = &n->u.map.items[i];
			const char *mn = e->key->u.str.s;
			if (!oam_is_dns_subdomain(mn) && !kind_ok(mn)) {
				mbad(&p, e->key, "OAM701", "'%s' is not a module name (the file name without .lua)", mn);
				continue;
			}
			struct oam_modcaps *c = &m->modules[m->nmodules++];
			c->module = oam_arena_strndup(a, mn, strlen(mn));
			c->line = e->key->line;
			parse_module(&p, mn, e->val, c);
		}
	}
	/* The pack's limits are every module's default. */
	for (size_t i = 0; i < m->nmodules; i++) {
		struct oam_modcaps *c = &m->modules[i];
		c->pack = m->name;
		c->pack_version = m->version;
		c->kubernetes = m->kubernetes;
		if (!c->limits.instructions)
			c->limits.instructions = m->limits.instructions;
		if (!c->limits.memory)
			c->limits.memory = m->limits.memory;
	}
	oam_docset_release(&ds);
	return p.bad ? -1 : 0;
}

const struct oam_modcaps *oam_pack_manifest_module(const struct oam_pack_manifest *m, const char *name)
{
	for (size_t i = 0; i < m->nmodules; i++)
		if (!strcmp(m->modules[i].module, name))
			return &m->modules[i];
	return NULL;
}

/* ---- loading packs into the registry ---- */

static int is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static const struct oam_lock_file *lock_file(const struct oam_lock_pack *lp, const char *path)
{
	for (size_t i = 0; i < lp->nfiles; i++)
		if (!strcmp(lp->files[i].path, path))
			return &lp->files[i];
	return NULL;
}

/* Checks bytes read from an installed file against the lock. */
static int check_locked(const struct oam_lock_pack *lp, const char *rel, const void *buf, size_t len,
			struct oam_diags *d)
{
	char hex[65], display[600];
	snprintf(display, sizeof display, "pack:%s/%s", lp->name, rel);
	const struct oam_lock_file *f = lock_file(lp, rel);
	if (!f) {
		struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, "OAM721", display, 0, 0,
						"pack '%s' %s: file '%s' is not in the lock; refusing to load it", lp->name,
						lp->version, rel);
		oam_diag_hint(e, "files are only added by 'oamlua pack install'; remove it, or reinstall the pack");
		return -1;
	}
	oam_pack_sha256_hex(buf, len, hex);
	if (strcmp(hex, f->sha256)) {
		struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, "OAM721", display, 0, 0,
						"pack '%s' %s: file '%s' does not match the lock (sha256 %.12s…, locked %.12s…); "
						"refusing to load it", lp->name, lp->version, rel, hex, f->sha256);
		oam_diag_hint(e, "the installed file was changed: reinstall the pack ('oamlua pack install'), "
			      "'oamlua pack verify' checks the whole store");
		return -1;
	}
	return 0;
}

/* Loads one pack directory; `lp` is its lock entry (NULL: a pack being
 * developed, not locked). */
static int load_pack(struct oam_registry *r, const char *dir, const char *origin, const struct oam_lock_pack *lp,
		     struct oam_diags *d)
{
	char path[PATH_MAX + 300], display[PATH_MAX + 300], rel[600];
	unsigned char *buf = NULL;
	size_t len = 0;
	int rc = 0;
	struct oam_pack_manifest *man = oam_arena_alloc(r->arena, sizeof *man);
	if (!man)
		return -1;
	snprintf(path, sizeof path, "%s/%s", dir, OAM_PACK_MANIFEST);
	if (lp)
		snprintf(display, sizeof display, "pack:%s/%s", lp->name, OAM_PACK_MANIFEST);
	else
		snprintf(display, sizeof display, "%s", path);
	if (oam_pack_read_file(path, &buf, &len, OAM_PACK_MAX_FILE) < 0) {
		oam_diag_at(d, OAM_SEV_ERROR, lp ? "OAM721" : "OAM901", display, 0, 0, "cannot read %s: %s",
			    lp ? "an installed pack's manifest" : "the pack manifest", strerror(errno));
		return -1;
	}
	if (lp && check_locked(lp, OAM_PACK_MANIFEST, buf, len, d) < 0) {
		free(buf);
		return -1;
	}
	rc = oam_pack_manifest_parse(r->arena, display, (const char *)buf, len, man, d);
	free(buf);
	if (rc < 0)
		return -1;
	if (lp && (strcmp(lp->name, man->name) || strcmp(lp->version, man->version))) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM721", display, 0, 0,
			    "pack '%s' %s is locked, but its manifest says '%s' %s; refusing to load it", lp->name,
			    lp->version, man->name, man->version);
		return -1;
	}
	/* A locked file that is gone is as wrong as a changed one. */
	for (size_t i = 0; lp && i < lp->nfiles; i++) {
		const char *f = lp->files[i].path;
		if (strncmp(f, "traits/", 7) && strncmp(f, "workloads/", 10))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, f);
		if (!is_file(path)) {
			snprintf(display, sizeof display, "pack:%s/%s", lp->name, f);
			oam_diag_at(d, OAM_SEV_ERROR, "OAM721", display, 0, 0,
				    "pack '%s' %s: locked file '%s' is missing; refusing to load the pack", lp->name,
				    lp->version, f);
			rc = -1;
		}
	}
	if (rc < 0)
		return -1;
	static const char *const subs[] = { "workloads", "traits" };
	for (int k = 0; k < 2; k++) {
		char sub[PATH_MAX + 64], **names;
		snprintf(sub, sizeof sub, "%s/%s", dir, subs[k]);
		size_t n = oam_module_files(sub, &names);
		for (size_t i = 0; i < n; i++) {
			char base[256];
			snprintf(rel, sizeof rel, "%s/%s", subs[k], names[i]);
			snprintf(path, sizeof path, "%s/%s", sub, names[i]);
			snprintf(base, sizeof base, "%.*s", (int)(strlen(names[i]) - 4), names[i]);
			if (lp)
				snprintf(display, sizeof display, "pack:%s/%s", lp->name, rel);
			else
				snprintf(display, sizeof display, "%s", path);
			free(names[i]);
			if (oam_pack_read_file(path, &buf, &len, OAM_PACK_MAX_FILE) < 0) {
				oam_diag_at(d, OAM_SEV_ERROR, "OAM901", display, 0, 0, "cannot read module: %s", strerror(errno));
				rc = -1;
				continue;
			}
			/* Checked and loaded from the same bytes: no window to swap the file. */
			if (lp && check_locked(lp, rel, buf, len, d) < 0) {
				free(buf);
				rc = -1;
				continue;
			}
			const struct oam_modcaps *caps = oam_pack_manifest_module(man, base);
			if (!caps) {
				struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, "OAM702", display, 0, 0,
								"pack '%s': module '%s' is not declared in pack.yaml", man->name,
								base);
				oam_diag_hint(e, "add it under modules: with what it emits and requires");
				free(buf);
				rc = -1;
				continue;
			}
			/* The module's top level runs under its pack's limits too. */
			struct oam_lua *h = r->lua;
			long long budget = h->insn_budget;
			size_t mem = h->mem_call_limit;
			if (caps->limits.instructions && caps->limits.instructions < budget)
				h->insn_budget = caps->limits.instructions;
			if (caps->limits.memory && caps->limits.memory < mem)
				h->mem_call_limit = caps->limits.memory;
			struct oam_module *m = oam_registry_load_buffer(r, (const char *)buf, len, display, base, origin, k, d);
			h->insn_budget = budget;
			h->mem_call_limit = mem;
			free(buf);
			if (!m) {
				rc = -1;
				continue;
			}
			m->pack = man->name;
			m->caps = caps;
		}
		free(names);
	}
	/* Declared modules must exist. */
	for (size_t i = 0; i < man->nmodules; i++) {
		int found = 0;
		for (int k = 0; k < 2 && !found; k++) {
			snprintf(path, sizeof path, "%s/%s/%s.lua", dir, subs[k], man->modules[i].module);
			found = is_file(path);
		}
		if (!found) {
			oam_diag_at(d, OAM_SEV_ERROR, "OAM702", man->file, man->modules[i].line, 0,
				    "pack '%s': module '%s' is declared, but there is no traits/%s.lua or workloads/%s.lua",
				    man->name, man->modules[i].module, man->modules[i].module, man->modules[i].module);
			rc = -1;
		}
	}
	return rc;
}

static int load_store(struct oam_registry *r, const char *store, const char *origin, struct oam_diags *d)
{
	struct oam_lock l;
	char dir[PATH_MAX + 300];
	int rc = 0;
	if (oam_lock_init(&l) < 0)
		return -1;
	if (oam_lock_read(&l, store, d) < 0) {
		oam_lock_release(&l);
		return -1;
	}
	for (size_t i = 0; i < l.n; i++) {
		const struct oam_lock_pack *lp = &l.packs[i];
		/* Keep the lock entry alive with the registry: copy it. */
		struct oam_lock_pack *cp = oam_arena_alloc(r->arena, sizeof *cp);
		struct oam_lock_file *files = oam_arena_alloc(r->arena, (lp->nfiles ? lp->nfiles : 1) * sizeof *files);
		if (!cp || !files) {
			rc = -1;
			break;
		}
		*cp = *lp;
		cp->name = oam_arena_strndup(r->arena, lp->name, strlen(lp->name));
		cp->version = oam_arena_strndup(r->arena, lp->version, strlen(lp->version));
		for (size_t j = 0; j < lp->nfiles; j++) {
			files[j].path = oam_arena_strndup(r->arena, lp->files[j].path, strlen(lp->files[j].path));
			files[j].sha256 = oam_arena_strndup(r->arena, lp->files[j].sha256, strlen(lp->files[j].sha256));
		}
		cp->files = files;
		cp->deps = NULL;
		cp->ndeps = 0;
		/* Dependencies must still be there, in a version in range. */
		for (size_t j = 0; j < lp->ndeps; j++) {
			const struct oam_lock_pack *dep = oam_lock_find(&l, lp->deps[j].name);
			struct oam_semver v;
			char err[200];
			if (!dep || oam_semver_parse(dep->version, &v) < 0 ||
			    oam_semver_satisfies(&v, lp->deps[j].range, err, sizeof err) != 1) {
				char display[300];
				snprintf(display, sizeof display, "pack:%s/%s", lp->name, OAM_PACK_MANIFEST);
				struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, "OAM704", display, 0, 0,
								"pack '%s' %s needs '%s' %s, but %s%s%s is installed", lp->name,
								lp->version, lp->deps[j].name, lp->deps[j].range,
								dep ? lp->deps[j].name : "it", dep ? " " : " not",
								dep ? dep->version : "");
				oam_diag_hint(e, "install a version of '%s' in that range ('oamlua pack install')", lp->deps[j].name);
				rc = -1;
			}
		}
		snprintf(dir, sizeof dir, "%s/packs/%s", store, lp->name);
		if (load_pack(r, dir, origin, cp, d) < 0)
			rc = -1;
	}
	oam_lock_release(&l);
	return rc;
}

/* A pack that cannot be loaded is a module error (exit 3), as a module that
 * cannot be loaded is. */
int oam_pack_registry_load(struct oam_registry *r, const char *dir, const char *origin, struct oam_diags *d)
{
	char p[PATH_MAX + 32];
	size_t before = d->nerrors;
	int rc = 0;
	snprintf(p, sizeof p, "%s/%s", dir, OAM_PACK_LOCK);
	if (is_file(p)) {
		rc = load_store(r, dir, origin, d) < 0 ? -1 : 1;
	} else {
		snprintf(p, sizeof p, "%s/%s", dir, OAM_PACK_MANIFEST);
		if (is_file(p))
			rc = load_pack(r, dir, origin, NULL, d) < 0 ? -1 : 1;
	}
	oam_pack_exit_class(d, before, OAM_EXIT_MODULE);
	return rc;
}

int oam_pack_registry_load_store(struct oam_registry *r, struct oam_diags *d)
{
	char store[PATH_MAX], p[PATH_MAX + 32];
	if (oam_pack_store_dir(store, sizeof store))
		return 0;
	snprintf(p, sizeof p, "%s/%s", store, OAM_PACK_LOCK);
	if (!is_file(p))
		return 0;
	size_t before = d->nerrors;
	int rc = load_store(r, store, "pack", d);
	oam_pack_exit_class(d, before, OAM_EXIT_MODULE);
	return rc;
}

/* ---- render time ---- */

int oam_module_call(struct oam_lua *h, const struct oam_module *m, const char *what, int nargs, int nres,
		    struct oam_err *err)
{
	const struct oam_modcaps *c = m->caps;
	if (!c)
		return oam_lua_call(h, m->name, what, nargs, nres, err);
	long long budget = h->insn_budget;
	size_t mem = h->mem_call_limit;
	int own_insn = c->limits.instructions && c->limits.instructions < budget;
	int own_mem = c->limits.memory && c->limits.memory < mem;
	if (own_insn)
		h->insn_budget = c->limits.instructions;
	if (own_mem)
		h->mem_call_limit = c->limits.memory;
	int rc = oam_lua_call(h, m->name, what, nargs, nres, err);
	h->insn_budget = budget;
	h->mem_call_limit = mem;
	if (rc < 0 && ((own_insn && !strcmp(err->id, "OAM602")) || (own_mem && !strcmp(err->id, "OAM603")))) {
		int insn = !strcmp(err->id, "OAM602");
		char lim[64];
		if (insn)
			snprintf(lim, sizeof lim, "%lld instructions", c->limits.instructions);
		else
			oam_pack_fmt_bytes(c->limits.memory, lim, sizeof lim);
		oam_strlcpy(err->id, "OAM732", sizeof err->id);
		snprintf(err->msg, sizeof err->msg, "pack '%s' module '%s' exceeded the %s its pack declares (%s) %s",
			 c->pack, m->name, insn ? "instruction budget" : "memory limit", lim, what);
		snprintf(err->hint, sizeof err->hint,
			 "the pack's author raises limits.%s in pack.yaml (a new version of the pack) if the module really needs more",
			 insn ? "instructions" : "memory");
	}
	return rc;
}

static int may_emit(const struct oam_modcaps *c, const char *av, const char *kind)
{
	for (size_t i = 0; i < c->nemits; i++)
		if (!strcmp(c->emits[i].api_version, av) && (!strcmp(c->emits[i].kind, "*") || !strcmp(c->emits[i].kind, kind)))
			return 1;
	return 0;
}

static void emits_text(const struct oam_modcaps *c, char *buf, size_t size)
{
	size_t l = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < c->nemits && l < size; i++)
		l += (size_t)snprintf(buf + l, size - l, "%s%s %s", i ? ", " : "", c->emits[i].api_version, c->emits[i].kind);
	if (!c->nemits)
		snprintf(buf, size, "nothing");
}

static void mark_module_error(struct oam_diags *d, size_t before)
{
	if (!before)
		d->exit_code = OAM_EXIT_MODULE;
}

int oam_pack_check_emit(lua_State *L, int idx, const struct oam_module *m, const char *what, struct oam_diags *d)
{
	const struct oam_modcaps *c = m->caps;
	if (!c)
		return 0;
	lua_getfield(L, idx, "apiVersion");
	lua_getfield(L, idx, "kind");
	const char *av = lua_tostring(L, -2), *kind = lua_tostring(L, -1);
	if (av && kind && may_emit(c, av, kind)) {
		lua_pop(L, 2);
		return 0;
	}
	lua_getfield(L, idx, "metadata");
	lua_getfield(L, -1, "name");
	char allowed[400];
	emits_text(c, allowed, sizeof allowed);
	size_t before = d->nerrors;
	struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, "OAM731", m->path, 0, 0,
					"pack '%s' module '%s' emitted %s '%s' (%s) %s, outside the capabilities its pack declares",
					c->pack, m->name, kind ? kind : "?", lua_tostring(L, -1) ? lua_tostring(L, -1) : "?",
					av ? av : "?", what);
	oam_diag_hint(e, "it may emit: %s; the pack's author declares more under modules.%s.emits in pack.yaml",
		      allowed, m->name);
	mark_module_error(d, before);
	lua_pop(L, 4);
	return -1;
}

void oam_pack_push_kinds(lua_State *L, int list_idx)
{
	lua_Integer n = (lua_Integer)lua_rawlen(L, list_idx);
	luaL_checkstack(L, 6, NULL);
	lua_createtable(L, (int)n, 0);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, list_idx, i);
		lua_getfield(L, -1, "apiVersion");
		lua_getfield(L, -2, "kind");
		lua_pushfstring(L, "%s %s", lua_tostring(L, -2) ? lua_tostring(L, -2) : "",
				lua_tostring(L, -1) ? lua_tostring(L, -1) : "");
		lua_rawseti(L, -5, i);
		lua_pop(L, 3);
	}
}

int oam_pack_check_kinds(lua_State *L, int list_idx, int snap_idx, const struct oam_module *m, const char *what,
			 struct oam_diags *d)
{
	lua_Integer n = (lua_Integer)lua_rawlen(L, snap_idx);
	luaL_checkstack(L, 8, NULL);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, list_idx, i);
		int obj = lua_gettop(L);
		lua_getfield(L, obj, "apiVersion");
		lua_getfield(L, obj, "kind");
		lua_pushfstring(L, "%s %s", lua_tostring(L, obj + 1) ? lua_tostring(L, obj + 1) : "",
				lua_tostring(L, obj + 2) ? lua_tostring(L, obj + 2) : "");
		int now = lua_gettop(L);
		lua_rawgeti(L, snap_idx, i);
		if (!lua_rawequal(L, now, now + 1)) {
			const char *name = NULL;
			if (lua_getfield(L, obj, "metadata") == LUA_TTABLE) {
				lua_getfield(L, -1, "name");
				name = lua_tostring(L, -1);
			}
			size_t before = d->nerrors;
			struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, "OAM731", m->path, 0, 0,
							"pack '%s' module '%s' changed %s '%s' into %s %s, outside the capabilities its pack declares",
							m->caps->pack, m->name, lua_tostring(L, now + 1), name ? name : "?",
							lua_tostring(L, now), what);
			oam_diag_hint(e, "a pack's module may patch other objects but never change their apiVersion or kind");
			mark_module_error(d, before);
			lua_settop(L, obj - 1);
			return -1;
		}
		lua_settop(L, obj - 1);
	}
	return 0;
}
