/* registry.c — module discovery, loading and validation of module tables. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <lauxlib.h>

#include "oamlua/lconv.h"
#include "oamlua/pack.h"
#include "oamlua/registry.h"

static int is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *oam_builtin_dir(void)
{
	static char dir[PATH_MAX];
	char exe[PATH_MAX], probe[PATH_MAX + 32];
	const char *env = getenv("OAMLUA_BUILTIN_DIR");
	if (env && *env)
		return env;
	if (dir[0])
		return dir;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			/* A source tree: the binary sits next to workloads/ and traits/. */
			snprintf(probe, sizeof probe, "%s/traits", exe);
			if (is_dir(probe)) {
				snprintf(dir, sizeof dir, "%s", exe);
				return dir;
			}
			/* Installed: PREFIX/bin/oamlua → PREFIX/share/oamlua. */
			snprintf(probe, sizeof probe, "%s/../share/oamlua/traits", exe);
			if (is_dir(probe)) {
				snprintf(dir, sizeof dir, "%s/../share/oamlua", exe);
				return dir;
			}
		}
	}
	snprintf(dir, sizeof dir, "%s", OAM_DATADIR);
	return dir;
}

int oam_registry_init(struct oam_registry *r, struct oam_lua *lua)
{
	memset(r, 0, sizeof *r);
	r->lua = lua;
	r->arena = oam_arena_new();
	return r->arena ? 0 : -1;
}

void oam_registry_release(struct oam_registry *r)
{
	free(r->mods);
	oam_arena_free(r->arena);
	memset(r, 0, sizeof *r);
}

static const char *kind_name(enum oam_modkind k)
{
	return k == OAM_MOD_TRAIT ? "trait" : "workload";
}

static int ensure_loaded(struct oam_registry *r, struct oam_module *m);

/* By kind and name, without reading anything. */
static struct oam_module *lookup(const struct oam_registry *r, enum oam_modkind kind, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->mods[i]->kind == kind && r->mods[i]->name[0] == name[0] && !strcmp(r->mods[i]->name, name))
			return r->mods[i];
	return NULL;
}

struct oam_module *oam_registry_find(const struct oam_registry *r, enum oam_modkind kind, const char *name)
{
	struct oam_module *m = lookup(r, kind, name);
	if (m && ensure_loaded((struct oam_registry *)r, m) < 0)
		return NULL;
	return m;
}

struct oam_module *oam_registry_workload(const struct oam_registry *r, const char *wtype)
{
	struct oam_registry *rw = (struct oam_registry *)r;
	/* A short name, or a full type whose kind names a module file. */
	const char *dot = strrchr(wtype, '.');
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < r->n; i++) {
			struct oam_module *m = r->mods[i];
			if (m->kind != OAM_MOD_WORKLOAD)
				continue;
			int candidate = !strcmp(m->name, wtype) || (dot && !strcmp(m->name, dot + 1)) || pass == 1 ||
					m->loaded;
			if (!candidate || ensure_loaded(rw, m) < 0)
				continue;
			if (!strcmp(m->name, wtype) || (m->type && !strcmp(m->type, wtype)))
				return m;
		}
	return NULL;
}

int oam_module_supports(const struct oam_module *m, const char *target)
{
	for (size_t i = 0; i < m->ntargets; i++)
		if (!strcmp(m->targets[i], target))
			return 1;
	return 0;
}

size_t oam_registry_names(const struct oam_registry *r, enum oam_modkind kind, const char **out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n && n < max; i++)
		if (r->mods[i]->kind == kind)
			out[n++] = r->mods[i]->name;
	return n;
}

/* ---- reading the module table ---- */

static const char *dup_field(struct oam_registry *r, lua_State *L, int idx, const char *field)
{
	lua_getfield(L, idx, field);
	const char *s = NULL;
	if (lua_type(L, -1) == LUA_TSTRING)
		s = oam_arena_strndup(r->arena, lua_tostring(L, -1), lua_rawlen(L, -1));
	lua_pop(L, 1);
	return s;
}

static int string_list(struct oam_registry *r, lua_State *L, int idx, const char *field, const char ***out,
		       size_t *n, char *err, size_t errsize)
{
	size_t len;
	lua_getfield(L, idx, field);
	*out = NULL;
	*n = 0;
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		return 0;
	}
	if (lua_type(L, -1) != LUA_TTABLE) {
		snprintf(err, errsize, "'%s' must be a list of names", field);
		lua_pop(L, 1);
		return -1;
	}
	len = lua_rawlen(L, -1);
	*out = oam_arena_alloc(r->arena, (len ? len : 1) * sizeof **out);
	for (size_t i = 0; *out && i < len; i++) {
		lua_rawgeti(L, -1, (lua_Integer)i + 1);
		if (lua_type(L, -1) != LUA_TSTRING) {
			snprintf(err, errsize, "'%s' must be a list of names (entry %zu is a %s)", field, i + 1,
				 luaL_typename(L, -1));
			lua_pop(L, 2);
			return -1;
		}
		(*out)[i] = oam_arena_strndup(r->arena, lua_tostring(L, -1), lua_rawlen(L, -1));
		lua_pop(L, 1);
	}
	*n = len;
	lua_pop(L, 1);
	return 0;
}

static int rule_field(lua_State *L, int idx, const char *field, enum oam_rule *out, char *err, size_t errsize)
{
	lua_getfield(L, idx, field);
	const char *s = lua_tostring(L, -1);
	int rc = 0;
	*out = OAM_RULE_OPTIONAL;
	if (lua_isnil(L, -1))
		;
	else if (s && !strcmp(s, "required"))
		*out = OAM_RULE_REQUIRED;
	else if (s && !strcmp(s, "forbidden"))
		*out = OAM_RULE_FORBIDDEN;
	else if (!s || strcmp(s, "optional")) {
		snprintf(err, errsize, "'%s' must be \"required\", \"optional\" or \"forbidden\"", field);
		rc = -1;
	}
	lua_pop(L, 1);
	return rc;
}

/* Validates the table a module returned (at the top of the stack) and fills m. */
static int read_module(struct oam_registry *r, struct oam_module *m, const char *basename, int kind_from_dir,
		       char *err, size_t errsize)
{
	static const char *const allowed[] = { "apiVersion", "kind", "name", "version", "description", "type",
					       "schema", "appliesToWorkloads", "conflictsWith", "render",
					       "validate", "ports", "containers", "overrides", "targets", NULL };
	lua_State *L = r->lua->L;
	int t = lua_gettop(L);
	if (lua_type(L, t) != LUA_TTABLE) {
		snprintf(err, errsize, "a module must return a table, not %s", luaL_typename(L, t));
		return -1;
	}
	lua_pushnil(L);
	while (lua_next(L, t)) {
		lua_pop(L, 1);
		const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
		int ok = 0;
		for (int i = 0; k && allowed[i]; i++)
			ok |= !strcmp(k, allowed[i]);
		if (!ok) {
			const char *close = k ? oam_closest(k, allowed, 15) : NULL;
			snprintf(err, errsize, "unknown field '%s' in the module table%s%s%s", k ? k : "?",
				 close ? " (did you mean '" : "", close ? close : "", close ? "'?)" : "");
			lua_pop(L, 1);
			return -1;
		}
	}
	const char *api = dup_field(r, L, t, "apiVersion");
	if (api && strcmp(api, "oamlua/v1")) {
		snprintf(err, errsize, "apiVersion '%s' is not supported (this oamlua speaks oamlua/v1)", api);
		return -1;
	}
	const char *kind = dup_field(r, L, t, "kind");
	if (kind && strcmp(kind, "Trait") && strcmp(kind, "Workload")) {
		snprintf(err, errsize, "kind must be \"Trait\" or \"Workload\", not '%s'", kind);
		return -1;
	}
	if (!kind && kind_from_dir < 0) {
		snprintf(err, errsize, "a module outside a traits/ or workloads/ directory must declare kind = \"Trait\" or \"Workload\"");
		return -1;
	}
	m->kind = kind ? (!strcmp(kind, "Trait") ? OAM_MOD_TRAIT : OAM_MOD_WORKLOAD) : (enum oam_modkind)kind_from_dir;
	if (kind && kind_from_dir >= 0 && (int)m->kind != kind_from_dir) {
		snprintf(err, errsize, "declares kind '%s' but sits in a %ss/ directory", kind,
			 kind_name((enum oam_modkind)kind_from_dir));
		return -1;
	}
	m->name = dup_field(r, L, t, "name");
	m->version = dup_field(r, L, t, "version");
	m->description = dup_field(r, L, t, "description");
	m->type = dup_field(r, L, t, "type");
	if (!m->name) {
		snprintf(err, errsize, "'name' is missing (a string equal to the file name, '%s')", basename);
		return -1;
	}
	if (strcmp(m->name, basename)) {
		snprintf(err, errsize, "module name '%s' does not match its file name '%s.lua'", m->name, basename);
		return -1;
	}
	if (!m->version) {
		snprintf(err, errsize, "'version' is missing (a semantic version string, e.g. \"1.0.0\")");
		return -1;
	}
	if (!m->description) {
		snprintf(err, errsize, "'description' is missing (one line shown by 'oamlua traits')");
		return -1;
	}
	lua_getfield(L, t, "render");
	int has_render = lua_type(L, -1) == LUA_TFUNCTION;
	lua_pop(L, 1);
	if (!has_render) {
		snprintf(err, errsize, "'render' must be a function (ctx, properties)");
		return -1;
	}
	lua_getfield(L, t, "validate");
	m->has_validate = lua_type(L, -1) == LUA_TFUNCTION;
	if (!lua_isnil(L, -1) && !m->has_validate) {
		lua_pop(L, 1);
		snprintf(err, errsize, "'validate' must be a function (ctx, properties)");
		return -1;
	}
	lua_pop(L, 1);
	if (m->kind == OAM_MOD_TRAIT) {
		if (string_list(r, L, t, "appliesToWorkloads", &m->applies, &m->napplies, err, errsize) < 0 ||
		    string_list(r, L, t, "conflictsWith", &m->conflicts, &m->nconflicts, err, errsize) < 0)
			return -1;
		if (!m->applies) {
			static const char *any[] = { "*" };
			m->applies = any;
			m->napplies = 1;
		}
	} else {
		if (rule_field(L, t, "ports", &m->ports, err, errsize) < 0 ||
		    rule_field(L, t, "containers", &m->containers, err, errsize) < 0)
			return -1;
		lua_getfield(L, t, "appliesToWorkloads");
		int bad = !lua_isnil(L, -1);
		lua_pop(L, 1);
		if (bad) {
			snprintf(err, errsize, "'appliesToWorkloads' is for traits; a workload module cannot have it");
			return -1;
		}
	}
	if (string_list(r, L, t, "targets", &m->targets, &m->ntargets, err, errsize) < 0)
		return -1;
	if (!m->targets) {
		static const char *k8s[] = { "kubernetes" };
		m->targets = k8s;
		m->ntargets = 1;
	}
	for (size_t i = 0; i < m->ntargets; i++)
		if (strcmp(m->targets[i], "kubernetes") && strcmp(m->targets[i], "podman")) {
			snprintf(err, errsize, "unknown target '%s' in 'targets' (kubernetes, podman)", m->targets[i]);
			return -1;
		}
	lua_getfield(L, t, "schema");
	char serr[300];
	int rc = oam_schema_from_lua(L, -1, r->arena, &m->schema, serr, sizeof serr);
	lua_pop(L, 1);
	if (rc < 0) {
		snprintf(err, errsize, "invalid schema: %s", serr);
		return -1;
	}
	return 0;
}

static int add_module(struct oam_registry *r, struct oam_module *m)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->mods[i]->kind == m->kind && !strcmp(r->mods[i]->name, m->name)) {
			m->shadows = r->mods[i]->path;
			luaL_unref(r->lua->L, LUA_REGISTRYINDEX, r->mods[i]->ref);
			r->mods[i] = m;
			return 0;
		}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 32;
		struct oam_module **v = realloc(r->mods, cap * sizeof *v);
		if (!v)
			return -1;
		r->mods = v;
		r->cap = cap;
	}
	r->mods[r->n++] = m;
	return 0;
}

/* After a module's chunk ran (rc 0: its table is on the stack): checks the
 * table and adds the module. */
static struct oam_module *adopt(struct oam_registry *r, int rc, const struct oam_err *e, const char *display,
				const char *basename, const char *origin, int builtin, int kind_from_dir, int top,
				struct oam_diags *d)
{
	lua_State *L = r->lua->L;
	if (rc < 0) {
		struct oam_err *x = oam_diag_at(d, OAM_SEV_ERROR, e->id, e->file, e->line, 0, "%s", e->msg);
		if (e->hint[0])
			oam_diag_hint(x, "%s", e->hint);
		lua_settop(L, top);
		return NULL;
	}
	struct oam_module *m = oam_arena_alloc(r->arena, sizeof *m);
	char err[600];
	if (!m) {
		lua_settop(L, top);
		return NULL;
	}
	m->path = oam_arena_strndup(r->arena, display, strlen(display));
	m->origin = origin;
	m->builtin = builtin;
	if (read_module(r, m, basename, kind_from_dir, err, sizeof err) < 0) {
		struct oam_err *x = oam_diag_at(d, OAM_SEV_ERROR, "OAM503", display, 0, 0, "module '%s': %s", basename, err);
		oam_diag_hint(x, "see docs/writing-traits.md for the module contract");
		lua_settop(L, top);
		return NULL;
	}
	m->ref = luaL_ref(L, LUA_REGISTRYINDEX);
	m->loaded = 1;
	lua_settop(L, top);
	return add_module(r, m) < 0 ? NULL : m;
}

struct oam_module *oam_registry_load_buffer(struct oam_registry *r, const char *buf, size_t len,
					    const char *display, const char *basename, const char *origin,
					    int kind, struct oam_diags *d)
{
	struct oam_err e;
	memset(&e, 0, sizeof e);
	int top = lua_gettop(r->lua->L);
	int rc = oam_lua_load_module_buffer(r->lua, buf, len, display, basename, &e);
	return adopt(r, rc, &e, display, basename, origin, 0, kind, top, d);
}

static int load_one(struct oam_registry *r, const char *path, const char *origin, int builtin, int kind_from_dir,
		    struct oam_diags *d)
{
	/* Built-ins are named relative to their directory, so that messages and
	 * listings do not depend on where oamlua is installed. */
	char display[4200];
	size_t bl = strlen(r->builtin_dir);
	if (builtin && !strncmp(path, r->builtin_dir, bl) && path[bl] == '/')
		snprintf(display, sizeof display, "builtin:%s", path + bl + 1);
	else
		snprintf(display, sizeof display, "%s", path);
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	char basename[256];
	snprintf(basename, sizeof basename, "%.*s", (int)(strlen(base) - 4), base);
	struct oam_err e;
	memset(&e, 0, sizeof e);
	int top = lua_gettop(r->lua->L);
	int rc = oam_lua_load_module(r->lua, path, display, basename, &e);
	return adopt(r, rc, &e, display, basename, origin, builtin, kind_from_dir, top, d) ? 0 : -1;
}

/* A built-in module is known by its file name and directory (its kind)
 * until something needs it. */
static int add_stub(struct oam_registry *r, const char *path, const char *origin, int kind)
{
	struct oam_module *m = oam_arena_alloc(r->arena, sizeof *m);
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t bl = strlen(r->builtin_dir);
	if (!m)
		return -1;
	m->kind = (enum oam_modkind)kind;
	m->name = oam_arena_strndup(r->arena, base, strlen(base) - 4);
	m->file = oam_arena_strndup(r->arena, path, strlen(path));
	m->path = !strncmp(path, r->builtin_dir, bl) && path[bl] == '/'
			  ? oam_arena_printf(r->arena, "builtin:%s", path + bl + 1)
			  : m->file;
	m->origin = origin;
	m->builtin = 1;
	m->ref = LUA_NOREF;
	if (!m->name || !m->file || !m->path)
		return -1;
	return add_module(r, m);
}

static int ensure_loaded(struct oam_registry *r, struct oam_module *m)
{
	lua_State *L = r->lua->L;
	struct oam_err e;
	char err[600];
	if (m->loaded)
		return 0;
	if (m->failed)
		return -1;
	int top = lua_gettop(L);
	memset(&e, 0, sizeof e);
	m->failed = 1;
	if (oam_lua_load_module(r->lua, m->file, m->path, m->name, &e) < 0) {
		if (r->lazy_d) {
			struct oam_err *x = oam_diag_at(r->lazy_d, OAM_SEV_ERROR, e.id, e.file, e.line, 0, "%s", e.msg);
			if (e.hint[0])
				oam_diag_hint(x, "%s", e.hint);
		}
		lua_settop(L, top);
		return -1;
	}
	enum oam_modkind kind = m->kind;
	if (read_module(r, m, m->name, (int)kind, err, sizeof err) < 0) {
		if (r->lazy_d) {
			struct oam_err *x = oam_diag_at(r->lazy_d, OAM_SEV_ERROR, "OAM503", m->path, 0, 0, "module '%s': %s",
							m->name, err);
			oam_diag_hint(x, "see docs/writing-traits.md for the module contract");
		}
		lua_settop(L, top);
		return -1;
	}
	m->ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_settop(L, top);
	m->failed = 0;
	m->loaded = 1;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t oam_module_files(const char *dir, char ***out)
{
	DIR *dh = opendir(dir);
	char **v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	*out = NULL;
	if (!dh)
		return 0;
	while ((de = readdir(dh))) {
		size_t l = strlen(de->d_name);
		if (de->d_name[0] == '.' || de->d_name[0] == '_' || l < 5 || strcmp(de->d_name + l - 4, ".lua"))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			char **nv = realloc(v, cap * sizeof *nv);
			if (!nv)
				break;
			v = nv;
		}
		if (!(v[n] = strdup(de->d_name)))
			break;
		n++;
	}
	closedir(dh);
	if (n)
		qsort(v, n, sizeof *v, cmp_str);
	*out = v;
	return n;
}

/* Loads the *.lua files of one directory, in sorted order. */
static int load_files(struct oam_registry *r, const char *dir, const char *origin, int builtin, int kind,
		      struct oam_diags *d)
{
	char **names, path[PATH_MAX];
	size_t n = oam_module_files(dir, &names);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		if (builtin && kind >= 0) {
			if (add_stub(r, path, origin, kind) < 0)
				rc = -1;
		} else if (load_one(r, path, origin, builtin, kind, d) < 0) {
			rc = -1;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

static int load_dir(struct oam_registry *r, const char *dir, const char *origin, int builtin, struct oam_diags *d)
{
	char sub[PATH_MAX];
	int rc = 0, typed = 0;
	/* A trait pack (pack.yaml) or a pack store (oamlua.lock): see pack.h. */
	if (!builtin) {
		int p = oam_pack_registry_load(r, dir, origin, d);
		if (p)
			return p < 0 ? -1 : 0;
	}
	snprintf(sub, sizeof sub, "%s/workloads", dir);
	if (is_dir(sub)) {
		typed = 1;
		rc |= load_files(r, sub, origin, builtin, OAM_MOD_WORKLOAD, d);
	}
	snprintf(sub, sizeof sub, "%s/traits", dir);
	if (is_dir(sub)) {
		typed = 1;
		rc |= load_files(r, sub, origin, builtin, OAM_MOD_TRAIT, d);
	}
	if (!typed) {
		if (!is_dir(dir)) {
			struct oam_err *e = oam_diag_at(d, OAM_SEV_WARNING, "OAM504", dir, 0, 0,
							"module directory does not exist (from %s)", origin);
			(void)e;
			return 0;
		}
		rc |= load_files(r, dir, origin, builtin, -1, d);
	}
	return rc;
}

/* appliesToWorkloads and conflictsWith must name modules that exist: an
 * error in a built-in, a warning in a module from elsewhere (it may target
 * modules its users load alongside it). */
static int workload_known(struct oam_registry *r, const char *name)
{
	if (lookup(r, OAM_MOD_WORKLOAD, name))
		return 1;
	const char *dot = strrchr(name, '.');
	return dot && lookup(r, OAM_MOD_WORKLOAD, dot + 1) && oam_registry_workload(r, name);
}

static void cross_check(struct oam_registry *r, struct oam_diags *d, int builtins)
{
	for (size_t i = 0; i < r->n; i++) {
		struct oam_module *m = r->mods[i];
		if (m->kind != OAM_MOD_TRAIT || !m->loaded || m->builtin != builtins)
			continue;
		enum oam_sev sev = m->builtin ? OAM_SEV_ERROR : OAM_SEV_WARNING;
		for (size_t j = 0; j < m->napplies; j++)
			if (strcmp(m->applies[j], "*") && !workload_known(r, m->applies[j]))
				oam_diag_at(d, sev, "OAM504", m->path, 0, 0,
					    "trait '%s': appliesToWorkloads names unknown workload type '%s'", m->name,
					    m->applies[j]);
		for (size_t j = 0; j < m->nconflicts; j++)
			if (!lookup(r, OAM_MOD_TRAIT, m->conflicts[j]))
				oam_diag_at(d, sev, "OAM504", m->path, 0, 0,
					    "trait '%s': conflictsWith names unknown trait '%s'", m->name, m->conflicts[j]);
	}
}

int oam_registry_load_all(struct oam_registry *r)
{
	int rc = 0;
	for (size_t i = 0; i < r->n; i++)
		if (ensure_loaded(r, r->mods[i]) < 0)
			rc = -1;
	/* The built-ins, read only now, get the check the others got at load. */
	if (r->lazy_d)
		cross_check(r, r->lazy_d, 1);
	return rc;
}

int oam_registry_load(struct oam_registry *r, const char *const *extra, struct oam_diags *d)
{
	int rc = 0;
	r->lazy_d = d;
	const char *builtin = oam_builtin_dir();
	oam_strlcpy(r->builtin_dir, builtin, sizeof r->builtin_dir);
	rc |= load_dir(r, builtin, "builtin", 1, d);
	rc |= oam_pack_registry_load_store(r, d);   /* installed trait packs */
	const char *env = getenv("OAMLUA_PATH");
	if (env && *env) {
		char *copy = strdup(env), *save = NULL;
		for (char *p = copy ? strtok_r(copy, ":", &save) : NULL; p; p = strtok_r(NULL, ":", &save))
			rc |= load_dir(r, p, "OAMLUA_PATH", 0, d);
		free(copy);
	}
	for (; extra && *extra; extra++)
		rc |= load_dir(r, *extra, "--module-path", 0, d);
	cross_check(r, d, 0);
	return rc ? -1 : 0;
}
