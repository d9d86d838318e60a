/* schema.h — typed property schemas: the single source for checking trait
 * properties, workload settings and component parameters, for filling in
 * defaults, and for `oamlua explain` and generated docs.
 *
 * A schema is declared in Lua by a module (`schema = { replicaCount = {
 * type = "integer", required = true, min = 0 } }`) and converted once, at
 * load time, into these C structures, owned by the registry's arena. */
#ifndef OAMLUA_SCHEMA_H
#define OAMLUA_SCHEMA_H

#include <lua.h>
#include "oamlua/err.h"
#include "oamlua/tree.h"

enum oam_stype { OAM_S_ANY, OAM_S_STRING, OAM_S_INTEGER, OAM_S_NUMBER, OAM_S_BOOLEAN, OAM_S_OBJECT,
		 OAM_S_ARRAY };

struct oam_schema {
	const char *name;               /* property name; NULL for the root and list items */
	enum oam_stype type;
	const char *description;
	int required;
	const struct oam_node *def;     /* default value or NULL */
	const struct oam_node *enumv;   /* OAM_SEQ of allowed values, or NULL */
	int has_min, has_max;
	double min, max;                /* numbers: value; strings and lists: length */
	struct oam_schema *props;       /* objects: declared properties, sorted */
	size_t nprops;
	int open;                       /* objects: undeclared properties allowed */
	struct oam_schema *items;       /* arrays: item schema (NULL = any) */
};

const char *oam_stype_name(enum oam_stype t);

/* Converts the Lua schema table at `idx` (a map of property name → spec)
 * into an object schema allocated in `a`. On a malformed schema returns -1
 * with a message naming the property in errbuf. */
int oam_schema_from_lua(lua_State *L, int idx, struct oam_arena *a, struct oam_schema *out,
			char *errbuf, size_t errsize);

/* Context for messages: what is being checked ("trait 'ingress'"). */
struct oam_check_ctx {
	struct oam_diags *d;
	const char *what;
	const char *const *ignore;      /* property names to skip, NULL-terminated, or NULL */
	int misplaced;                  /* the properties were given elsewhere (reported): none is "missing" */
};

/* Checks a properties map (NULL = none given) against an object schema; `at`
 * locates the owner for "missing property" findings. Returns the number of
 * errors found. */
int oam_schema_check(const struct oam_check_ctx *c, const struct oam_schema *s, const struct oam_node *val,
		     const struct oam_node *at);

/* Pushes `val` (may be NULL) as a Lua value with defaults filled in for
 * missing properties. Assumes it has been checked. */
void oam_schema_push(lua_State *L, const struct oam_schema *s, const struct oam_node *val);

/* The declared property `name` of an object schema, or NULL. */
const struct oam_schema *oam_schema_prop(const struct oam_schema *s, const char *name);

/* One-line type description for messages and docs: "integer (0..100)". */
void oam_schema_typetext(const struct oam_schema *s, char *buf, size_t size);

#endif
