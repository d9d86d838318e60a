/* docs.h — `oamlua docs`: a Markdown reference of the loaded workload types
 * and traits, generated from the modules' tables and the schemas the
 * registry parsed (the same source as `oamlua explain`).
 *
 * Output is deterministic: modules sorted by name, properties in schema
 * order (sorted), nothing that depends on the machine or the time. */
#ifndef OAMLUA_DOCS_H
#define OAMLUA_DOCS_H

#include <stdio.h>
#include <lua.h>

#include "oamlua/registry.h"
#include "oamlua/schema.h"

/* One property of a schema, as the walk below reports it. */
struct oam_docs_prop {
	const struct oam_schema *s;     /* borrowed from the registry */
	const char *path;               /* "env[].fromSecret.key"; valid during the callback only */
	int depth;                      /* 0 for top-level properties */
};

/* Calls `fn` for every property of the object schema `s`, depth first, in
 * schema order: nested object properties as "a.b", properties of list items
 * as "a[].b". Stops and returns the first non-zero value `fn` returns. */
int oam_docs_walk_props(const struct oam_schema *s, int (*fn)(const struct oam_docs_prop *p, void *arg), void *arg);

/* Writes the Markdown page of one module to `f`. `L` is the Lua state the
 * registry loaded the module into (for fields kept only in the module
 * table, like `overrides`), or NULL to leave those out. `level` is the
 * heading level of its title (1 for a page of its own, 2 inside a combined
 * document). Returns 0, or -1 on a write error. */
int oam_docs_write_module(FILE *f, const struct oam_module *m, lua_State *L, int level);

/* `oamlua docs [-o DIR] [--module-path DIR]`. */
int cmd_docs(int argc, char **argv);

#endif
