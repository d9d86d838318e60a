/* schema.c — property schemas: built from module tables, checked against
 * YAML values with positions, used to fill defaults. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>

#include "oamlua/lconv.h"
#include "oamlua/schema.h"

static const char *const stype_names[] = { "any", "string", "integer", "number", "boolean", "object", "array" };

const char *oam_stype_name(enum oam_stype t)
{
	return stype_names[t];
}

static int stype_parse(const char *s, enum oam_stype *t)
{
	for (int i = 0; i < 7; i++)
		if (!strcmp(s, stype_names[i])) {
			*t = (enum oam_stype)i;
			return 0;
		}
	return -1;
}

static int cmp_prop(const void *a, const void *b)
{
	return strcmp(((const struct oam_schema *)a)->name, ((const struct oam_schema *)b)->name);
}

static int spec_from_lua(lua_State *L, int idx, struct oam_arena *a, struct oam_schema *s, const char *path,
			 char *errbuf, size_t errsize);

static int props_from_lua(lua_State *L, int idx, struct oam_arena *a, struct oam_schema *s, const char *path,
			  char *errbuf, size_t errsize)
{
	size_t n = 0;
	idx = lua_absindex(L, idx);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING) {
			lua_pop(L, 1);
			snprintf(errbuf, errsize, "schema%s%s: property names must be strings", path[0] ? " of " : "", path);
			return -1;
		}
		n++;
	}
	s->type = OAM_S_OBJECT;
	s->nprops = n;
	s->props = oam_arena_alloc(a, (n ? n : 1) * sizeof *s->props);
	if (!s->props) {
		snprintf(errbuf, errsize, "out of memory");
		return -1;
	}
	size_t i = 0;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		struct oam_schema *p = &s->props[i++];
		const char *name = lua_tostring(L, -2);
		char sub[256];
		snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "", name);
		p->name = oam_arena_strndup(a, name, strlen(name));
		if (lua_type(L, -1) != LUA_TTABLE) {
			lua_pop(L, 2);
			snprintf(errbuf, errsize, "schema property '%s' must be a table like { type = \"string\" }", sub);
			return -1;
		}
		if (spec_from_lua(L, lua_gettop(L), a, p, sub, errbuf, errsize) < 0) {
			lua_pop(L, 2);
			return -1;
		}
		lua_pop(L, 1);
	}
	qsort(s->props, n, sizeof *s->props, cmp_prop);
	return 0;
}

static int type_matches(enum oam_stype t, const struct oam_node *v)
{
	switch (t) {
	case OAM_S_ANY: return 1;
	case OAM_S_STRING: return v->type == OAM_STR;
	case OAM_S_INTEGER: return v->type == OAM_INT;
	case OAM_S_NUMBER: return v->type == OAM_INT || v->type == OAM_FLOAT;
	case OAM_S_BOOLEAN: return v->type == OAM_BOOL;
	case OAM_S_OBJECT: return v->type == OAM_MAP;
	case OAM_S_ARRAY: return v->type == OAM_SEQ;
	}
	return 0;
}

static int spec_from_lua(lua_State *L, int idx, struct oam_arena *a, struct oam_schema *s, const char *path,
			 char *errbuf, size_t errsize)
{
	static const char *const allowed[] = { "type", "required", "default", "description", "enum", "min",
					       "max", "properties", "items", "additionalProperties", NULL };
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
		int ok = 0;
		for (int i = 0; k && allowed[i]; i++)
			ok |= !strcmp(k, allowed[i]);
		if (!ok) {
			const char *close = k ? oam_closest(k, allowed, 10) : NULL;
			snprintf(errbuf, errsize, "schema property '%s': unknown field '%s'%s%s%s", path,
				 k ? k : "?", close ? " (did you mean '" : "", close ? close : "", close ? "'?)" : "");
			lua_pop(L, 1);
			return -1;
		}
	}
	lua_getfield(L, idx, "type");
	if (lua_type(L, -1) != LUA_TSTRING || stype_parse(lua_tostring(L, -1), &s->type) < 0) {
		snprintf(errbuf, errsize,
			 "schema property '%s': 'type' must be one of string, integer, number, boolean, object, array, any",
			 path);
		lua_pop(L, 1);
		return -1;
	}
	lua_pop(L, 1);
	lua_getfield(L, idx, "description");
	if (lua_type(L, -1) == LUA_TSTRING)
		s->description = oam_arena_strndup(a, lua_tostring(L, -1), lua_rawlen(L, -1));
	else if (!lua_isnil(L, -1)) {
		snprintf(errbuf, errsize, "schema property '%s': 'description' must be a string", path);
		lua_pop(L, 1);
		return -1;
	}
	lua_pop(L, 1);
	lua_getfield(L, idx, "required");
	if (!lua_isnil(L, -1) && !lua_isboolean(L, -1)) {
		snprintf(errbuf, errsize, "schema property '%s': 'required' must be true or false", path);
		lua_pop(L, 1);
		return -1;
	}
	s->required = lua_toboolean(L, -1);
	lua_pop(L, 1);
	for (int m = 0; m < 2; m++) {
		lua_getfield(L, idx, m ? "max" : "min");
		if (!lua_isnil(L, -1)) {
			if (!lua_isnumber(L, -1) || lua_type(L, -1) != LUA_TNUMBER) {
				snprintf(errbuf, errsize, "schema property '%s': '%s' must be a number", path, m ? "max" : "min");
				lua_pop(L, 1);
				return -1;
			}
			if (m)
				s->has_max = 1, s->max = lua_tonumber(L, -1);
			else
				s->has_min = 1, s->min = lua_tonumber(L, -1);
		}
		lua_pop(L, 1);
	}
	if (s->has_min && s->has_max && s->min > s->max) {
		snprintf(errbuf, errsize, "schema property '%s': min is greater than max", path);
		return -1;
	}
	lua_getfield(L, idx, "enum");
	if (!lua_isnil(L, -1)) {
		size_t len;
		if (lua_type(L, -1) != LUA_TTABLE || !oam_lua_is_array(L, -1, &len) || !len) {
			snprintf(errbuf, errsize, "schema property '%s': 'enum' must be a non-empty list", path);
			lua_pop(L, 1);
			return -1;
		}
		char e[200];
		s->enumv = oam_lua_to_node(L, -1, a, e, sizeof e);
		if (!s->enumv) {
			snprintf(errbuf, errsize, "schema property '%s': enum: %s", path, e);
			lua_pop(L, 1);
			return -1;
		}
	}
	lua_pop(L, 1);
	if (s->type == OAM_S_OBJECT) {
		lua_getfield(L, idx, "properties");
		if (lua_type(L, -1) == LUA_TTABLE) {
			int rc = props_from_lua(L, -1, a, s, path, errbuf, errsize);
			lua_pop(L, 1);
			if (rc < 0)
				return -1;
		} else {
			s->open = 1;   /* a free-form map */
			lua_pop(L, 1);
		}
		lua_getfield(L, idx, "additionalProperties");
		if (lua_toboolean(L, -1))
			s->open = 1;
		lua_pop(L, 1);
	} else if (s->type == OAM_S_ARRAY) {
		lua_getfield(L, idx, "items");
		if (lua_type(L, -1) == LUA_TTABLE) {
			char sub[256];
			snprintf(sub, sizeof sub, "%s[]", path);
			s->items = oam_arena_alloc(a, sizeof *s->items);
			if (!s->items || spec_from_lua(L, lua_gettop(L), a, s->items, sub, errbuf, errsize) < 0) {
				lua_pop(L, 1);
				return -1;
			}
		}
		lua_pop(L, 1);
	}
	lua_getfield(L, idx, "default");
	if (!lua_isnil(L, -1)) {
		char e[200];
		s->def = oam_lua_to_node(L, -1, a, e, sizeof e);
		if (!s->def) {
			snprintf(errbuf, errsize, "schema property '%s': default: %s", path, e);
			lua_pop(L, 1);
			return -1;
		}
		if (!type_matches(s->type, s->def)) {
			snprintf(errbuf, errsize, "schema property '%s': the default is %s, not %s", path,
				 oam_ntype_article(s->def->type), stype_names[s->type]);
			lua_pop(L, 1);
			return -1;
		}
	}
	lua_pop(L, 1);
	return 0;
}

int oam_schema_from_lua(lua_State *L, int idx, struct oam_arena *a, struct oam_schema *out, char *errbuf,
			size_t errsize)
{
	memset(out, 0, sizeof *out);
	errbuf[0] = '\0';
	if (lua_isnil(L, idx)) {
		out->type = OAM_S_OBJECT;   /* no schema: no properties accepted */
		out->props = NULL;
		return 0;
	}
	if (lua_type(L, idx) != LUA_TTABLE) {
		snprintf(errbuf, errsize, "'schema' must be a table of property name → { type = ... }");
		return -1;
	}
	return props_from_lua(L, idx, a, out, "", errbuf, errsize);
}

void oam_schema_typetext(const struct oam_schema *s, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s", stype_names[s->type]);
	if (s->type == OAM_S_ARRAY && s->items)
		n += snprintf(buf + n, size - (size_t)n, " of %s", stype_names[s->items->type]);
	if ((s->has_min || s->has_max) && (size_t)n < size) {
		char lo[32] = "", hi[32] = "";
		if (s->has_min)
			snprintf(lo, sizeof lo, "%g", s->min);
		if (s->has_max)
			snprintf(hi, sizeof hi, "%g", s->max);
		n += snprintf(buf + n, size - (size_t)n, " (%s..%s)", lo, hi);
	}
	if (s->enumv && (size_t)n < size) {
		n += snprintf(buf + n, size - (size_t)n, ", one of");
		for (size_t i = 0; i < s->enumv->u.seq.n && (size_t)n < size; i++) {
			char b[64];
			oam_node_brief(s->enumv->u.seq.items[i], b, sizeof b);
			n += snprintf(buf + n, size - (size_t)n, "%s %s", i ? "," : "", b);
		}
	}
}

/* ---- checking ---- */

const struct oam_schema *oam_schema_prop(const struct oam_schema *s, const char *name)
{
	size_t lo = 0, hi = s->nprops;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(name, s->props[mid].name);
		if (!c)
			return &s->props[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static int scalar_equal(const struct oam_node *a, const struct oam_node *b)
{
	if (a->type == OAM_INT && b->type == OAM_FLOAT)
		return (double)a->u.i == b->u.f;
	if (a->type == OAM_FLOAT && b->type == OAM_INT)
		return a->u.f == (double)b->u.i;
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case OAM_NULL: return 1;
	case OAM_BOOL: return a->u.b == b->u.b;
	case OAM_INT: return a->u.i == b->u.i;
	case OAM_FLOAT: return a->u.f == b->u.f;
	case OAM_STR: return !strcmp(a->u.str.s, b->u.str.s);
	default: return 0;
	}
}

static int check_value(const struct oam_check_ctx *c, const struct oam_schema *s, const struct oam_node *v,
		       const char *path);

static int check_object(const struct oam_check_ctx *c, const struct oam_schema *s, const struct oam_node *v,
			const struct oam_node *at, const char *prefix)
{
	int errs = 0;
	char path[512];
	/* A misspelt key already reported with "did you mean X?": X is not
	 * reported missing as well (one mistake, one finding). */
	const char *meant[16];
	size_t nmeant = 0;
	if (v && v->type == OAM_MAP) {
		for (size_t i = 0; i < v->u.map.n; i++) {
			const struct oam_pair *p = &v->u.map.items[i];
			const char *k = p->key->u.str.s;
			int skip = 0;
			for (const char *const *ig = c->ignore; !prefix[0] && ig && *ig; ig++)
				skip |= !strcmp(*ig, k);
			if (skip)
				continue;
			snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "." : "", k);
			const struct oam_schema *ps = oam_schema_prop(s, k);
			if (!ps) {
				if (s->open)
					continue;
				const char *names[64];
				size_t nn = 0;
				char list[300] = "";
				size_t ll = 0;
				for (size_t j = 0; j < s->nprops && nn < 64; j++) {
					names[nn++] = s->props[j].name;
					ll += (size_t)snprintf(list + ll, ll < sizeof list ? sizeof list - ll : 0, "%s%s",
							       j ? ", " : "", s->props[j].name);
				}
				const char *close = oam_closest(k, names, nn);
				struct oam_err *e = oam_diag(c->d, OAM_SEV_ERROR, "OAM404", p->key,
							     "%s: unknown property '%s'", c->what, path);
				if (close) {
					oam_diag_hint(e, "did you mean '%s'?", close);
					if (nmeant < sizeof meant / sizeof *meant)
						meant[nmeant++] = close;
				} else if (nn)
					oam_diag_hint(e, "known properties%s%s: %s", prefix[0] ? " of " : "", prefix, list);
				else
					oam_diag_hint(e, "it takes no properties%s%s", prefix[0] ? " under " : "", prefix);
				errs++;
				continue;
			}
			if (p->val->type == OAM_NULL)
				continue;   /* treated as not given */
			errs += check_value(c, ps, p->val, path);
		}
	}
	for (size_t j = 0; j < s->nprops; j++) {
		const struct oam_schema *ps = &s->props[j];
		if (!ps->required || ps->def || c->misplaced)
			continue;
		const struct oam_node *pv = v && v->type == OAM_MAP ? oam_map_get(v, ps->name) : NULL;
		if (pv && pv->type != OAM_NULL)
			continue;
		int was_meant = 0;
		for (size_t k = 0; k < nmeant; k++)
			was_meant |= !strcmp(meant[k], ps->name);
		if (was_meant)
			continue;
		snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "." : "", ps->name);
		char tt[128];
		oam_schema_typetext(ps, tt, sizeof tt);
		struct oam_err *e = oam_diag(c->d, OAM_SEV_ERROR, "OAM401", pv ? pv : at,
					     "%s: missing required property '%s' (%s)", c->what, path, tt);
		if (ps->description)
			oam_diag_hint(e, "%s: %s", ps->name, ps->description);
		errs++;
	}
	return errs;
}

static int check_value(const struct oam_check_ctx *c, const struct oam_schema *s, const struct oam_node *v,
		       const char *path)
{
	char got[64], tt[160];
	if (!type_matches(s->type, v)) {
		oam_node_brief(v, got, sizeof got);
		oam_schema_typetext(s, tt, sizeof tt);
		struct oam_err *e = oam_diag(c->d, OAM_SEV_ERROR, "OAM402", v, "%s: property '%s' must be %s%s, got %s%s%s%s",
					     c->what, path, s->type == OAM_S_INTEGER || s->type == OAM_S_ARRAY
						     || s->type == OAM_S_OBJECT ? "an " : "a ",
					     tt, got, v->type == OAM_STR ? " (" : "",
					     v->type == OAM_STR ? oam_ntype_name(v->type) : "", v->type == OAM_STR ? ")" : "");
		if (v->type == OAM_STR && (s->type == OAM_S_INTEGER || s->type == OAM_S_NUMBER))
			oam_diag_hint(e, "remove the quotes to write a number");
		else if (s->type == OAM_S_STRING && v->type != OAM_MAP && v->type != OAM_SEQ)
			oam_diag_hint(e, "quote the value to write a string: \"%s\"", got);
		else if (s->type == OAM_S_INTEGER && v->type == OAM_FLOAT)
			oam_diag_hint(e, "use a whole number");
		return 1;
	}
	int errs = 0;
	if (s->enumv) {
		int found = 0;
		for (size_t i = 0; i < s->enumv->u.seq.n && !found; i++)
			found = scalar_equal(v, s->enumv->u.seq.items[i]);
		if (!found) {
			oam_node_brief(v, got, sizeof got);
			oam_schema_typetext(s, tt, sizeof tt);
			oam_diag(c->d, OAM_SEV_ERROR, "OAM403", v, "%s: property '%s' is %s; it must be %s", c->what, path,
				 got, strchr(tt, ',') ? strchr(tt, ',') + 2 : tt);
			errs++;
		}
	}
	if (s->has_min || s->has_max) {
		double x = 0;
		const char *unit = "";
		if (v->type == OAM_INT)
			x = (double)v->u.i;
		else if (v->type == OAM_FLOAT)
			x = v->u.f;
		else if (v->type == OAM_STR)
			x = (double)v->u.str.len, unit = " characters";
		else if (v->type == OAM_SEQ)
			x = (double)v->u.seq.n, unit = " entries";
		if ((s->has_min && x < s->min) || (s->has_max && x > s->max) || isnan(x)) {
			oam_node_brief(v, got, sizeof got);
			if (s->has_min && s->has_max)
				oam_diag(c->d, OAM_SEV_ERROR, "OAM403", v, "%s: property '%s' is %s; it must be between %g and %g%s",
					 c->what, path, got, s->min, s->max, unit);
			else if (s->has_min)
				oam_diag(c->d, OAM_SEV_ERROR, "OAM403", v, "%s: property '%s' is %s; it must be at least %g%s",
					 c->what, path, got, s->min, unit);
			else
				oam_diag(c->d, OAM_SEV_ERROR, "OAM403", v, "%s: property '%s' is %s; it must be at most %g%s",
					 c->what, path, got, s->max, unit);
			errs++;
		}
	}
	if (s->type == OAM_S_OBJECT && s->props)
		errs += check_object(c, s, v, v, path);
	if (s->type == OAM_S_ARRAY && s->items) {
		char sub[512];
		for (size_t i = 0; i < v->u.seq.n; i++) {
			snprintf(sub, sizeof sub, "%s[%zu]", path, i);
			errs += check_value(c, s->items, v->u.seq.items[i], sub);
		}
	}
	return errs;
}

int oam_schema_check(const struct oam_check_ctx *c, const struct oam_schema *s, const struct oam_node *val,
		     const struct oam_node *at)
{
	if (val && val->type != OAM_MAP && val->type != OAM_NULL) {
		struct oam_err *e = oam_diag(c->d, OAM_SEV_ERROR, "OAM202", val, "%s: properties must be a map, got %s",
					     c->what, oam_ntype_article(val->type));
		if (val->type == OAM_SEQ)
			oam_diag_hint(e, "write 'name: value' pairs, not a list of {name, value}");
		return 1;
	}
	return check_object(c, s, val, at, "");
}

/* ---- pushing with defaults ---- */

void oam_schema_push(lua_State *L, const struct oam_schema *s, const struct oam_node *val)
{
	luaL_checkstack(L, 6, "schema nested too deeply");
	if (!val || val->type == OAM_NULL) {
		if (s->def) {
			oam_lua_push_node(L, s->def);
			return;
		}
		if (s->type == OAM_S_OBJECT && s->props && s->nprops) {
			val = NULL;   /* build an object of defaults */
		} else {
			lua_pushnil(L);
			return;
		}
	}
	if (s->type == OAM_S_OBJECT && s->props) {
		/* Which properties were given (and pushed as non-nil): the rest get
		 * their defaults. Known here, so no lookup per property. */
		unsigned char given[64] = { 0 };
		lua_createtable(L, 0, (int)s->nprops);
		if (val && val->type == OAM_MAP)
			for (size_t i = 0; i < val->u.map.n; i++) {
				const struct oam_pair *p = &val->u.map.items[i];
				const struct oam_schema *ps = oam_schema_prop(s, p->key->u.str.s);
				if (!ps && !s->open)
					continue;
				lua_pushlstring(L, p->key->u.str.s, p->key->u.str.len);
				if (ps)
					oam_schema_push(L, ps, p->val);
				else
					oam_lua_push_node(L, p->val);
				size_t j = ps ? (size_t)(ps - s->props) : sizeof given;
				if (j < sizeof given && !lua_isnil(L, -1))
					given[j] = 1;
				lua_rawset(L, -3);
			}
		for (size_t j = 0; j < s->nprops; j++) {
			const struct oam_schema *ps = &s->props[j];
			if (j < sizeof given) {
				if (given[j])
					continue;
			} else {
				lua_getfield(L, -1, ps->name);
				int present = !lua_isnil(L, -1);
				lua_pop(L, 1);
				if (present)
					continue;
			}
			oam_schema_push(L, ps, NULL);
			if (lua_isnil(L, -1))
				lua_pop(L, 1);
			else
				lua_setfield(L, -2, ps->name);
		}
		return;
	}
	if (s->type == OAM_S_ARRAY && s->items && val->type == OAM_SEQ) {
		if (!val->u.seq.n) {
			oam_lua_new_array(L, 0);
			return;
		}
		lua_createtable(L, (int)val->u.seq.n, 0);
		for (size_t i = 0; i < val->u.seq.n; i++) {
			oam_schema_push(L, s->items, val->u.seq.items[i]);
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		return;
	}
	oam_lua_push_node(L, val);
}
