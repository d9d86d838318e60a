/* tree.c — arena allocation and small accessors for the value tree. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "oamlua/tree.h"

/* Bump allocator: big blocks, freed together. Trees are read-mostly and die
 * with their document set, so per-node free() would only cost time. */
struct block {
	struct block *next;
	size_t used, size;
	max_align_t data[];
};

struct oam_arena {
	struct block *head;
};

struct oam_arena *oam_arena_new(void)
{
	return calloc(1, sizeof(struct oam_arena));
}

void oam_arena_free(struct oam_arena *a)
{
	if (!a)
		return;
	for (struct block *b = a->head, *next; b; b = next) {
		next = b->next;
		free(b);
	}
	free(a);
}

/* 8-byte alignment is all tree data needs (pointers, long long, double);
 * max_align_t's 16 would waste a third of a small node. */
#define ARENA_ALIGN 8

void *oam_arena_alloc(struct oam_arena *a, size_t size)
{
	size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	struct block *b = a->head;
	if (!b || b->size - b->used < size) {
		/* Large blocks are mmap'd by malloc, so freeing a docset gives the
		 * memory back to the system before the output is written. */
		size_t bs = size > (1u << 20) ? size : (1u << 20);
		b = malloc(sizeof *b + bs);
		if (!b)
			return NULL;
		b->used = 0;
		b->size = bs;
		b->next = a->head;
		a->head = b;
	}
	void *p = (char *)b->data + b->used;
	b->used += size;
	memset(p, 0, size);
	return p;
}

void oam_arena_adopt(struct oam_arena *a, struct oam_arena *from)
{
	struct block *tail = from->head;
	if (tail) {
		while (tail->next)
			tail = tail->next;
		/* Behind a's current block, so a keeps filling that one. */
		if (a->head) {
			tail->next = a->head->next;
			a->head->next = from->head;
		} else {
			a->head = from->head;
		}
	}
	free(from);
}

char *oam_arena_strndup(struct oam_arena *a, const char *s, size_t len)
{
	char *p = oam_arena_alloc(a, len + 1);
	if (p) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

char *oam_arena_printf(struct oam_arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *p = oam_arena_alloc(a, (size_t)n + 1);
	if (!p)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

struct oam_node *oam_node_new(struct oam_arena *a, enum oam_ntype t, const struct oam_node *at)
{
	struct oam_node *n = oam_arena_alloc(a, sizeof *n);
	if (!n)
		return NULL;
	n->type = t;
	if (at) {
		n->file = at->file;
		n->line = at->line;
		n->col = at->col;
	}
	return n;
}

struct oam_node *oam_node_str(struct oam_arena *a, const char *s, size_t len, const struct oam_node *at)
{
	struct oam_node *n = oam_node_new(a, OAM_STR, at);
	if (!n)
		return NULL;
	n->u.str.s = oam_arena_strndup(a, s, len);
	n->u.str.len = len;
	return n->u.str.s ? n : NULL;
}

static struct oam_pair *map_find(const struct oam_node *map, const char *key)
{
	if (!map || map->type != OAM_MAP)
		return NULL;
	for (size_t i = 0; i < map->u.map.n; i++)
		if (!strcmp(map->u.map.items[i].key->u.str.s, key))
			return &map->u.map.items[i];
	return NULL;
}

struct oam_node *oam_map_get(const struct oam_node *map, const char *key)
{
	struct oam_pair *p = map_find(map, key);
	return p ? p->val : NULL;
}

struct oam_node *oam_map_key(const struct oam_node *map, const char *key)
{
	struct oam_pair *p = map_find(map, key);
	return p ? p->key : NULL;
}

const char *oam_str(const struct oam_node *n)
{
	return n && n->type == OAM_STR ? n->u.str.s : NULL;
}

const char *oam_ntype_name(enum oam_ntype t)
{
	static const char *const names[] = { "null", "boolean", "integer", "number", "string", "map", "list" };
	return names[t];
}

const char *oam_ntype_article(enum oam_ntype t)
{
	static const char *const names[] = { "null", "a boolean", "an integer", "a number", "a string",
					     "a map", "a list" };
	return names[t];
}

void oam_fmt_double(double v, char *buf, size_t size)
{
	if (isnan(v)) {
		snprintf(buf, size, ".nan");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, size, v > 0 ? ".inf" : "-.inf");
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, size, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	/* Keep floats recognisable as floats: 3.0 stays "3.0", not "3". */
	if (!strpbrk(buf, ".eEn")) {
		size_t l = strlen(buf);
		if (l + 2 < size)
			memcpy(buf + l, ".0", 3);
	}
}

void oam_node_brief(const struct oam_node *n, char *buf, size_t size)
{
	if (!n) {
		snprintf(buf, size, "nothing");
		return;
	}
	switch (n->type) {
	case OAM_NULL: snprintf(buf, size, "null"); break;
	case OAM_BOOL: snprintf(buf, size, n->u.b ? "true" : "false"); break;
	case OAM_INT: snprintf(buf, size, "%lld", n->u.i); break;
	case OAM_FLOAT: oam_fmt_double(n->u.f, buf, size); break;
	case OAM_STR:
		if (n->u.str.len > 40)
			snprintf(buf, size, "\"%.37s...\"", n->u.str.s);
		else
			snprintf(buf, size, "\"%s\"", n->u.str.s);
		break;
	case OAM_MAP: snprintf(buf, size, "a map"); break;
	case OAM_SEQ: snprintf(buf, size, "a list"); break;
	}
}

json_t *oam_node_to_json(const struct oam_node *n)
{
	switch (n->type) {
	case OAM_NULL: return json_null();
	case OAM_BOOL: return json_boolean(n->u.b);
	case OAM_INT: return json_integer(n->u.i);
	case OAM_FLOAT: return json_real(n->u.f);
	case OAM_STR: return json_stringn(n->u.str.s, n->u.str.len);
	case OAM_SEQ: {
		json_t *a = json_array();
		for (size_t i = 0; a && i < n->u.seq.n; i++)
			json_array_append_new(a, oam_node_to_json(n->u.seq.items[i]));
		return a;
	}
	case OAM_MAP: {
		json_t *o = json_object();
		for (size_t i = 0; o && i < n->u.map.n; i++)
			json_object_set_new(o, n->u.map.items[i].key->u.str.s, oam_node_to_json(n->u.map.items[i].val));
		return o;
	}
	}
	return NULL;
}

char *oam_node_text(struct oam_arena *a, const struct oam_node *n)
{
	char buf[64];
	switch (n->type) {
	case OAM_NULL: return oam_arena_strndup(a, "", 0);
	case OAM_BOOL: return oam_arena_strndup(a, n->u.b ? "true" : "false", n->u.b ? 4 : 5);
	case OAM_INT: return oam_arena_printf(a, "%lld", n->u.i);
	case OAM_FLOAT: oam_fmt_double(n->u.f, buf, sizeof buf); return oam_arena_strndup(a, buf, strlen(buf));
	case OAM_STR: return (char *)n->u.str.s;
	case OAM_MAP:
	case OAM_SEQ: {
		json_t *j = oam_node_to_json(n);
		char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
		char *r = s ? oam_arena_strndup(a, s, strlen(s)) : NULL;
		free(s);
		json_decref(j);
		return r;
	}
	}
	return NULL;
}
