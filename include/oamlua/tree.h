/* tree.h — the neutral value tree: what YAML loads into and what the model
 * reads. Every node keeps the file, line and column it came from.
 *
 * All nodes and strings of a tree live in an oam_arena and are freed at once
 * with it; pointers into a tree are always borrowed. */
#ifndef OAMLUA_TREE_H
#define OAMLUA_TREE_H

#include <stddef.h>

enum oam_ntype { OAM_NULL, OAM_BOOL, OAM_INT, OAM_FLOAT, OAM_STR, OAM_MAP, OAM_SEQ };

struct oam_pair;

struct oam_node {
	unsigned char type;     /* enum oam_ntype */
	unsigned col : 24;      /* 1-based */
	unsigned line;          /* 1-based */
	const char *file;       /* borrowed from the arena */
	union {
		int b;
		long long i;
		double f;
		struct { const char *s; size_t len; } str;
		struct { struct oam_pair *items; size_t n; } map;
		struct { struct oam_node **items; size_t n; } seq;
	} u;
};

struct oam_pair {
	struct oam_node *key;   /* always OAM_STR (keys are stringified) */
	struct oam_node *val;
};

struct oam_arena;

struct oam_arena *oam_arena_new(void);
void oam_arena_free(struct oam_arena *a);
void *oam_arena_alloc(struct oam_arena *a, size_t size);   /* zeroed; NULL on OOM */
char *oam_arena_strndup(struct oam_arena *a, const char *s, size_t len);
/* Moves every block of `from` into `a` and frees `from` (its data lives on). */
void oam_arena_adopt(struct oam_arena *a, struct oam_arena *from);
char *oam_arena_printf(struct oam_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Node constructors (return NULL on OOM). `at` supplies the position. */
struct oam_node *oam_node_new(struct oam_arena *a, enum oam_ntype t, const struct oam_node *at);
struct oam_node *oam_node_str(struct oam_arena *a, const char *s, size_t len, const struct oam_node *at);

/* Lookup in a map by key; NULL if absent or if `map` is not a map. */
struct oam_node *oam_map_get(const struct oam_node *map, const char *key);
/* The key node of an entry (for positions of unknown keys). */
struct oam_node *oam_map_key(const struct oam_node *map, const char *key);
/* String value or NULL (only for OAM_STR). */
const char *oam_str(const struct oam_node *n);
const char *oam_ntype_name(enum oam_ntype t);
/* "a string", "an integer", ... for messages. */
const char *oam_ntype_article(enum oam_ntype t);

/* Short text of a scalar for messages ("true", "42", "\"x\"", "a map"). */
void oam_node_brief(const struct oam_node *n, char *buf, size_t size);
/* Scalar as text (for env values): strings verbatim, numbers formatted,
 * maps/sequences as compact JSON. Allocated in the arena. */
char *oam_node_text(struct oam_arena *a, const struct oam_node *n);

/* The value as jansson JSON (caller owns the result; NULL on OOM). */
struct json_t;
struct json_t *oam_node_to_json(const struct oam_node *n);

/* Formats a double the way the emitters do (shortest round-trip). */
void oam_fmt_double(double v, char *buf, size_t size);

#endif
