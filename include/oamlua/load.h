/* load.h — reading YAML input (files, directories, stdin) into trees.
 *
 * libyaml's event parser feeds a builder that types scalars the way
 * Kubernetes does (YAML 1.1 core resolution as in sigs.k8s.io/yaml: `9999` is
 * an integer, `"9999"` a string, `0.5` a float, `true`/`yes`/`on` booleans),
 * resolves anchors and aliases, and rejects duplicate keys. */
#ifndef OAMLUA_LOAD_H
#define OAMLUA_LOAD_H

#include "oamlua/err.h"
#include "oamlua/tree.h"

struct oam_doc {
	struct oam_node *root;  /* NULL for an empty document */
	const char *file;       /* display name */
	unsigned index;         /* 0-based position in its file */
};

/* A set of loaded documents; owns the arena, the documents and the source
 * texts (kept for the caret view of errors). */
struct oam_docset {
	struct oam_arena *arena;
	struct oam_doc *docs;
	size_t ndocs, capdocs;
	struct oam_srcmap *src;
};

int oam_docset_init(struct oam_docset *ds);
void oam_docset_release(struct oam_docset *ds);

/* Loads PATH: a file, a directory (its *.yaml, *.yml and *.json files in
 * sorted order, recursively when `recursive`), or "-" for stdin. Problems go
 * to `d`; returns -1 when the input could not be read or parsed. */
int oam_load_path(struct oam_docset *ds, const char *path, int recursive, struct oam_diags *d);
/* Loads a buffer (copied) under a display name. */
int oam_load_buffer(struct oam_docset *ds, const char *name, const char *buf, size_t len,
		    struct oam_diags *d);

/* Scalar resolution used by the loader and, in reverse, by the emitter to
 * decide when a string must be quoted: returns the type a plain scalar with
 * this text would have, filling *i or *f for numbers and *b for booleans. */
enum oam_ntype oam_resolve_plain(const char *s, size_t len, long long *i, double *f, int *b);

/* Source lookup for the caret view. */
const char *oam_srcmap_line(const struct oam_srcmap *m, const char *file, unsigned line, size_t *len);

#endif
