/* render.c — the workload module, then each trait in order, per instance. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>

#include "oamlua/check.h"
#include "oamlua/lconv.h"
#include "oamlua/pack.h"

static const char *const cluster_scoped_kinds[] = {
	"Namespace", "Node", "PersistentVolume", "StorageClass", "ClusterRole", "ClusterRoleBinding",
	"CustomResourceDefinition", "PriorityClass", "IngressClass", "MutatingWebhookConfiguration",
	"ValidatingWebhookConfiguration", "APIService", "CSIDriver", "CSINode", "RuntimeClass", "VolumeAttachment",
	NULL
};

static void setstr(lua_State *L, const char *k, const char *v)
{
	if (!v)
		return;
	lua_pushstring(L, v);
	lua_setfield(L, -2, k);
}

/* The value an env entry or config file gets: fromParam beats value when the
 * parameter has a value (the checker rejected entries with neither). */
static const struct oam_node *source_value(const struct oam_instance *in, const struct oam_node *entry)
{
	const char *fp = oam_str(oam_map_get(entry, "fromParam"));
	if (fp && in->pvals)
		for (size_t k = 0; k < in->comp->nparams; k++)
			if (!strcmp(in->comp->params[k].name, fp) && in->pvals[k] && in->pvals[k]->type != OAM_NULL)
				return in->pvals[k];
	return oam_map_get(entry, "value");
}

static void push_sourced_list(struct oam_run *run, const struct oam_instance *in, const struct oam_node *seq,
			      const char *keyfield)
{
	lua_State *L = run->lua->L;
	if (!seq->u.seq.n) {
		oam_lua_new_array(L, 0);
		return;
	}
	lua_createtable(L, (int)seq->u.seq.n, 0);
	for (size_t i = 0; i < seq->u.seq.n; i++) {
		const struct oam_node *e = seq->u.seq.items[i];
		const struct oam_node *v = source_value(in, e);
		lua_createtable(L, 0, 2);
		setstr(L, keyfield, oam_str(oam_map_get(e, keyfield)));
		const char *text = v ? oam_node_text(run->scratch, v) : "";
		lua_pushstring(L, text ? text : "");
		lua_setfield(L, -2, "value");
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
}

void oam_render_push_spec(struct oam_run *run, struct oam_instance *in)
{
	lua_State *L = run->lua->L;
	const struct oam_node *spec = in->comp->spec;
	luaL_checkstack(L, 10, NULL);
	lua_createtable(L, 0, (int)spec->u.map.n);
	for (size_t i = 0; i < spec->u.map.n; i++) {
		const struct oam_pair *p = &spec->u.map.items[i];
		const char *k = p->key->u.str.s;
		if (!strcmp(k, "parameters") || !strcmp(k, "workloadSettings") || p->val->type == OAM_NULL)
			continue;
		if (strcmp(k, "containers") || p->val->type != OAM_SEQ) {
			oam_lua_push_node(L, p->val);
			lua_setfield(L, -2, k);
			continue;
		}
		const struct oam_node *cs = p->val;
		lua_createtable(L, (int)cs->u.seq.n, 0);
		for (size_t j = 0; j < cs->u.seq.n; j++) {
			const struct oam_node *c = cs->u.seq.items[j];
			lua_createtable(L, 0, (int)c->u.map.n);
			for (size_t f = 0; f < c->u.map.n; f++) {
				const struct oam_pair *cp = &c->u.map.items[f];
				const char *ck = cp->key->u.str.s;
				if (cp->val->type == OAM_NULL)
					continue;
				if (!strcmp(ck, "env") && cp->val->type == OAM_SEQ)
					push_sourced_list(run, in, cp->val, "name");
				else if (!strcmp(ck, "config") && cp->val->type == OAM_SEQ)
					push_sourced_list(run, in, cp->val, "path");
				else
					oam_lua_push_node(L, cp->val);
				lua_setfield(L, -2, ck);
			}
			lua_rawseti(L, -2, (lua_Integer)j + 1);
		}
		lua_setfield(L, -2, "containers");
	}
}

static void push_settings(struct oam_run *run, struct oam_instance *in)
{
	lua_State *L = run->lua->L;
	const struct oam_node *s = in->comp->settings;
	struct oam_node *map = oam_node_new(run->scratch, OAM_MAP, NULL);
	if (map && s && s->u.seq.n) {
		map->u.map.items = oam_arena_alloc(run->scratch, s->u.seq.n * sizeof *map->u.map.items);
		for (size_t i = 0; map->u.map.items && i < s->u.seq.n; i++) {
			const struct oam_node *e = s->u.seq.items[i];
			const struct oam_node *v = source_value(in, e);
			if (!oam_map_key(e, "name") || !v)
				continue;
			map->u.map.items[map->u.map.n].key = oam_map_get(e, "name");
			map->u.map.items[map->u.map.n].val = (struct oam_node *)v;
			map->u.map.n++;
		}
	}
	if (in->comp->workload->schema.open || !in->comp->workload->schema.nprops) {
		if (map)
			oam_lua_push_node(L, map);
		else
			lua_newtable(L);
	} else {
		oam_schema_push(L, &in->comp->workload->schema, map);
	}
}

static void push_labels(lua_State *L, const struct oam_instance *in, const char *typekey, const char *typeval)
{
	lua_createtable(L, 0, 5);
	setstr(L, "app.oam.dev/name", in->app->name);
	setstr(L, "app.oam.dev/component", in->name);
	setstr(L, typekey, typeval);
	setstr(L, "app.kubernetes.io/managed-by", "oamlua");
}

/* The tables of a trait's ctx (and a validate hook's) that are the module
 * call's own: copied from the instance's ctx when first read, so that what
 * one module does to them cannot reach another (ingress's port, pdb's
 * selector, the workload's labels), and cost nothing when unread. The
 * instance's ctx carries the metatable that does it. */
static const char *const copied_ctx[] = { "labels", "selector", "params", "annotations", "settings", "ports", NULL };
static const char COPIED_CTX_KEY = 'c';   /* registry: the set of those names */

/* Pushes the set of the copied tables' names (made once per Lua state). */
static void push_copied_set(lua_State *L)
{
	if (lua_rawgetp(L, LUA_REGISTRYINDEX, &COPIED_CTX_KEY) == LUA_TTABLE)
		return;
	lua_pop(L, 1);
	lua_createtable(L, 0, 8);
	for (const char *const *c = copied_ctx; *c; c++) {
		lua_pushboolean(L, 1);
		lua_setfield(L, -2, *c);
	}
	lua_pushvalue(L, -1);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &COPIED_CTX_KEY);
}

/* Whether the key at idx names a copied table (the set at set_idx). */
static int is_copied(lua_State *L, int set_idx, int idx)
{
	lua_pushvalue(L, idx);
	int yes = lua_rawget(L, set_idx) != LUA_TNIL;
	lua_pop(L, 1);
	return yes;
}

/* Copies the fields of the ctx at ctx_idx into the table on top, but for
 * the copied tables. */
static void copy_trait_fields(lua_State *L, int ctx_idx)
{
	push_copied_set(L);
	int set_idx = lua_gettop(L);
	lua_pushnil(L);
	while (lua_next(L, ctx_idx)) {
		if (lua_type(L, -1) == LUA_TTABLE && is_copied(L, set_idx, -2)) {
			lua_pop(L, 1);
			continue;
		}
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_rawset(L, -5);
	}
	lua_pop(L, 1);
}

/* Pushes a deep copy of the value at idx: the ctx's tables are plain data,
 * with at most the array metatable. */
static void push_copy(lua_State *L, int idx)
{
	idx = lua_absindex(L, idx);
	if (lua_type(L, idx) != LUA_TTABLE) {
		lua_pushvalue(L, idx);
		return;
	}
	luaL_checkstack(L, 6, NULL);
	lua_createtable(L, (int)lua_rawlen(L, idx), 0);
	if (lua_getmetatable(L, idx))
		lua_setmetatable(L, -2);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		push_copy(L, -1);
		lua_remove(L, -2);
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_rawset(L, -4);
	}
}

/* __index of a trait's ctx (upvalue: the instance's ctx). */
static int l_render_ctx_index(lua_State *L)
{
	push_copied_set(L);
	if (!is_copied(L, lua_gettop(L), 2))
		return 0;
	lua_pushvalue(L, 2);
	lua_rawget(L, lua_upvalueindex(1));
	push_copy(L, -1);
	lua_pushvalue(L, 2);
	lua_pushvalue(L, -2);
	lua_rawset(L, 1);
	return 1;
}

static int l_render_ctx_next(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 2);
	if (lua_next(L, 1))
		return 2;
	lua_pushnil(L);
	return 1;
}

/* __pairs of a trait's ctx: every field, the copied tables included. */
static int l_render_ctx_pairs(lua_State *L)
{
	for (const char *const *c = copied_ctx; *c; c++) {
		lua_getfield(L, 1, *c);   /* copies it when not there yet */
		lua_pop(L, 1);
	}
	lua_pushcfunction(L, l_render_ctx_next);
	lua_pushvalue(L, 1);
	lua_pushnil(L);
	return 3;
}

/* Pushes the metatable of the traits' ctx made from the ctx at ctx_idx. */
static void push_trait_ctx_meta(lua_State *L, int ctx_idx)
{
	lua_createtable(L, 0, 3);
	lua_pushvalue(L, ctx_idx);
	lua_pushcclosure(L, l_render_ctx_index, 1);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, l_render_ctx_pairs);
	lua_setfield(L, -2, "__pairs");
	lua_pushliteral(L, "oamlua ctx");
	lua_setfield(L, -2, "__metatable");
}

static void build_ctx(struct oam_run *run, struct oam_instance *in);

/* The context is built once per instance (the checks' validate hooks and
 * the render share it) and kept in the registry until the instance is
 * rendered. An instance is only ever checked and rendered in one Lua state:
 * the main one, or with deferred hooks the state of the job rendering it. */
void oam_render_push_ctx(struct oam_run *run, struct oam_instance *in)
{
	lua_State *L = run->lua->L;
	if (in->ctx_ref > 0) {
		lua_rawgeti(L, LUA_REGISTRYINDEX, in->ctx_ref);
		return;
	}
	build_ctx(run, in);
	lua_pushvalue(L, -1);
	in->ctx_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

static void build_ctx(struct oam_run *run, struct oam_instance *in)
{
	lua_State *L = run->lua->L;
	const struct oam_component *c = in->comp;
	luaL_checkstack(L, 12, NULL);
	lua_createtable(L, 0, 20);
	setstr(L, "appName", in->app->name);
	setstr(L, "name", in->name);
	setstr(L, "componentName", c->name);
	setstr(L, "namespace", run->namespace);
	setstr(L, "workloadType", c->workload->name);
	setstr(L, "workloadTypeFull", c->workload->type ? c->workload->type : c->workload->name);
	setstr(L, "target", run->target ? run->target : "kubernetes");
	setstr(L, "publishAddress", run->publish_address);
	setstr(L, "oamluaVersion", OAM_VERSION);
	push_labels(L, in, "workload.oam.dev/type", c->workload->name);
	for (size_t i = 0; i < in->nscopes; i++) {
		char key[96];
		snprintf(key, sizeof key, "scope.oam.dev/%s", oam_str(in->scopes[i]));
		setstr(L, key, "true");
	}
	lua_setfield(L, -2, "labels");
	lua_createtable(L, 0, 2);
	setstr(L, "app.oam.dev/name", in->app->name);
	setstr(L, "app.oam.dev/component", in->name);
	lua_setfield(L, -2, "selector");
	lua_createtable(L, 0, (int)c->nparams);
	for (size_t k = 0; k < c->nparams; k++)
		if (in->pvals && in->pvals[k]) {
			oam_lua_push_node(L, in->pvals[k]);
			lua_setfield(L, -2, c->params[k].name);
		}
	lua_setfield(L, -2, "params");
	if (c->annotations)
		oam_lua_push_node(L, c->annotations);
	else
		lua_newtable(L);
	lua_setfield(L, -2, "annotations");
	push_settings(run, in);
	lua_setfield(L, -2, "settings");
	/* Every container port, for traits that route traffic (ingress). */
	lua_newtable(L);
	lua_Integer np = 0;
	for (size_t i = 0; c->containers && i < c->containers->u.seq.n; i++) {
		const struct oam_node *ct = c->containers->u.seq.items[i];
		const struct oam_node *ports = oam_map_get(ct, "ports");
		for (size_t j = 0; ports && ports->type == OAM_SEQ && j < ports->u.seq.n; j++) {
			const struct oam_node *p = ports->u.seq.items[j];
			lua_createtable(L, 0, 4);
			setstr(L, "name", oam_str(oam_map_get(p, "name")));
			const struct oam_node *cp = oam_map_get(p, "containerPort");
			if (cp && cp->type == OAM_INT) {
				lua_pushinteger(L, (lua_Integer)cp->u.i);
				lua_setfield(L, -2, "containerPort");
			}
			const char *proto = oam_str(oam_map_get(p, "protocol"));
			setstr(L, "protocol", proto ? proto : "TCP");
			setstr(L, "container", oam_str(oam_map_get(ct, "name")));
			lua_rawseti(L, -2, ++np);
		}
	}
	lua_setfield(L, -2, "ports");
	oam_render_push_spec(run, in);
	lua_setfield(L, -2, "spec");
	/* Traits' ctx get their metatable from here (it changes nothing for
	 * the ctx itself, which has all its tables). */
	push_trait_ctx_meta(L, lua_gettop(L));
	lua_setmetatable(L, -2);
}

void oam_render_push_trait_ctx(struct oam_run *run, int ctx_idx)
{
	lua_State *L = run->lua->L;
	ctx_idx = lua_absindex(L, ctx_idx);
	luaL_checkstack(L, 8, NULL);
	lua_createtable(L, 0, 16);   /* its fields, the copied tables left out */
	copy_trait_fields(L, ctx_idx);
	oam_lua_push_hostfn(run->lua, "view");
	lua_getfield(L, ctx_idx, "spec");
	lua_call(L, 1, 1);
	lua_setfield(L, -2, "spec");
	lua_getmetatable(L, ctx_idx);
	lua_setmetatable(L, -2);
}

/* Calls host.split_result(result, is_workload), which normalises what a
 * module's render() returned. On success leaves: outputs list, patch,
 * primary (3 values) in place of the result. */
static int split(struct oam_run *run, int is_workload, const struct oam_module *m, const char *what,
		 struct oam_diags *d)
{
	lua_State *L = run->lua->L;
	struct oam_err err;
	oam_lua_push_hostfn(run->lua, "split_result");
	lua_insert(L, -2);
	lua_pushboolean(L, is_workload);
	if (oam_lua_pcall_host(run->lua, 2, 4, &err) < 0) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM604", m->path, 0, 0, "module '%s' %s: %s", m->name, what, err.msg);
		return -1;
	}
	if (!lua_isnil(L, -4)) {
		struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, "OAM604", m->path, 0, 0, "module '%s' %s: %s", m->name, what,
						lua_tostring(L, -4));
		oam_diag_hint(e, "render() returns { output = obj, outputs = { ... } } (see docs/writing-traits.md)");
		lua_pop(L, 4);
		return -1;
	}
	lua_remove(L, -4);
	return 0;
}

/* Checks one object at `idx` and stamps the provenance labels (table at
 * labels_idx) and the namespace on it. Returns NULL or what is wrong. */
static const char *finish_one(struct oam_run *run, int idx, int labels_idx, int cluster_idx, char *buf, size_t size)
{
	lua_State *L = run->lua->L;
	if (lua_type(L, idx) != LUA_TTABLE) {
		snprintf(buf, size, "an object must be a table, got a %s", luaL_typename(L, idx));
		return buf;
	}
	oam_lua_unview(L, idx);
	if (lua_getfield(L, idx, "apiVersion") != LUA_TSTRING || !lua_rawlen(L, -1)) {
		lua_pop(L, 1);
		return "an object has no apiVersion";
	}
	lua_pop(L, 1);
	if (lua_getfield(L, idx, "kind") != LUA_TSTRING || !lua_rawlen(L, -1)) {
		lua_getfield(L, idx, "apiVersion");
		snprintf(buf, size, "an object of apiVersion '%s' has no kind", lua_tostring(L, -1));
		lua_pop(L, 2);
		return buf;
	}
	const char *kind = lua_tostring(L, -1);   /* stays on the stack below */
	if (lua_getfield(L, idx, "metadata") != LUA_TTABLE) {
		snprintf(buf, size, "%s has no metadata.name", kind);
		lua_pop(L, 2);
		return buf;
	}
	int md = lua_gettop(L);
	if (lua_getfield(L, md, "name") != LUA_TSTRING || !lua_rawlen(L, -1)) {
		snprintf(buf, size, "%s has no metadata.name", kind);
		lua_pop(L, 3);
		return buf;
	}
	lua_pop(L, 1);
	int t = lua_getfield(L, md, "labels");
	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		lua_createtable(L, 0, 5);
		lua_pushvalue(L, -1);
		lua_setfield(L, md, "labels");
	} else if (t != LUA_TTABLE) {
		lua_getfield(L, md, "name");
		snprintf(buf, size, "%s '%s': metadata.labels must be a map", kind, lua_tostring(L, -1));
		lua_pop(L, 4);
		return buf;
	}
	lua_pushnil(L);
	while (lua_next(L, labels_idx)) {
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_rawset(L, -4);
	}
	lua_pop(L, 1);   /* labels */
	if (run->namespace && lua_getfield(L, md, "namespace") == LUA_TNIL) {
		lua_getfield(L, cluster_idx, kind);
		int cluster = lua_toboolean(L, -1);
		lua_pop(L, 1);
		if (!cluster) {
			lua_pushstring(L, run->namespace);
			lua_setfield(L, md, "namespace");
		}
	}
	if (run->namespace)
		lua_pop(L, 1);
	lua_pop(L, 2);   /* metadata, kind */
	return NULL;
}

/* Stamps labels and namespace on every object of the list below the label
 * table at the top of the stack (popping both), and appends the objects to
 * the output list at out_idx. */
static int finish(struct oam_run *run, int out_idx, int cluster_idx, const struct oam_module *m, const char *what,
		  struct oam_diags *d)
{
	lua_State *L = run->lua->L;
	int labels_idx = lua_gettop(L), list_idx = labels_idx - 1;
	lua_Integer n = (lua_Integer)lua_rawlen(L, list_idx), base = (lua_Integer)lua_rawlen(L, out_idx);
	char buf[300];
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, list_idx, i);
		const char *e = finish_one(run, lua_gettop(L), labels_idx, cluster_idx, buf, sizeof buf);
		if (e) {
			struct oam_err *x = oam_diag_at(d, OAM_SEV_ERROR, "OAM604", m->path, 0, 0, "module '%s' %s: object %lld: %s",
							m->name, what, (long long)i, e);
			oam_diag_hint(x, "objects are tables with apiVersion, kind and metadata.name");
			lua_settop(L, list_idx - 1);
			return -1;
		}
		/* A module from a trait pack emits only what its pack declares. */
		if (m->caps && oam_pack_check_emit(L, lua_gettop(L), m, what, d) < 0) {
			lua_settop(L, list_idx - 1);
			return -1;
		}
		lua_rawseti(L, out_idx, base + i);
	}
	lua_settop(L, list_idx - 1);
	return 0;
}

static void report(struct oam_diags *d, const struct oam_err *err, const struct oam_module *m)
{
	size_t before = d->nerrors;
	struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, err->id, err->file[0] ? err->file : m->path, err->line, 0, "%s",
					err->msg);
	if (!strcmp(err->id, "OAM732"))   /* a pack's own limit: a module error, as OAM602/OAM603 */
		oam_pack_exit_class(d, before, OAM_EXIT_MODULE);
	if (!strcmp(err->id, "OAM602"))
		oam_diag_hint(e, "an endless loop? raise the limit with --lua-budget if the module really needs more");
	else if (!strcmp(err->id, "OAM603"))
		oam_diag_hint(e, "raise the limit with --lua-mem if the module really needs more");
	else if (err->hint[0])
		oam_diag_hint(e, "%s", err->hint);
}

/* Write tracking: who writes now (NULL: nobody tracked), and who emitted
 * the objects of a list. */
static void track_writer(struct oam_run *run, const struct oam_module *m, const char *name)
{
	lua_State *L = run->lua->L;
	oam_lua_push_hostfn(run->lua, "track_writer");
	if (m) {
		lua_pushstring(L, name);
		lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref);
		lua_getfield(L, -1, "overrides");
		lua_remove(L, -2);
	} else {
		lua_pushnil(L);
		lua_pushnil(L);
	}
	lua_call(L, 2, 0);
}

static void track_emitted(struct oam_run *run, int list_idx, const char *name, int is_workload)
{
	lua_State *L = run->lua->L;
	for (lua_Integer i = 1, n = (lua_Integer)lua_rawlen(L, list_idx); i <= n; i++) {
		oam_lua_push_hostfn(run->lua, "track_emitted");
		lua_rawgeti(L, list_idx, i);
		lua_pushstring(L, name);
		lua_pushboolean(L, is_workload);
		lua_call(L, 3, 0);
	}
}

/* A worker renders with its own registry: the same modules, loaded again
 * into its own Lua state. */
static const struct oam_module *module_for(struct oam_run *run, const struct oam_module *m)
{
	if (!run->worker)
		return m;
	return oam_registry_find(run->reg, m->kind, m->name);
}

static int render_instance(struct oam_run *run, struct oam_instance *in, int out_idx, int cluster_idx,
			   struct oam_diags *d)
{
	lua_State *L = run->lua->L;
	const struct oam_module *w = module_for(run, in->comp->workload);
	if (!w) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM900", NULL, 0, 0, "workload module '%s' missing in a render worker",
			    in->comp->workload->name);
		return -1;
	}
	struct oam_err err;
	char what[400];
	int top = lua_gettop(L);
	memset(&err, 0, sizeof err);
	snprintf(what, sizeof what, "rendering instance '%s' of application '%s'", in->name, in->app->name);

	oam_render_push_ctx(run, in);
	int ctx_idx = lua_gettop(L);
	luaL_unref(L, LUA_REGISTRYINDEX, in->ctx_ref);
	in->ctx_ref = -1;
	lua_rawgeti(L, LUA_REGISTRYINDEX, w->ref);
	lua_getfield(L, -1, "render");
	lua_remove(L, -2);
	lua_pushvalue(L, ctx_idx);
	lua_getfield(L, ctx_idx, "spec");
	if (oam_module_call(run->lua, w, what, 2, 1, &err) < 0) {
		report(d, &err, w);
		goto fail;
	}
	if (split(run, 1, w, what, d) < 0)
		goto fail;
	/* stack: ctx outputs patch primary */
	if (lua_isnil(L, -1)) {
		struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, "OAM604", w->path, 0, 0,
						"workload module '%s' returned no workload object while %s", w->name, what);
		oam_diag_hint(e, "render() must return { output = <the workload object>, outputs = { ... } }");
		goto fail;
	}
	int primary_idx = lua_gettop(L), outs_idx = primary_idx - 2;
	/* The workload's objects: primary first, then its outputs. */
	lua_createtable(L, (int)lua_rawlen(L, outs_idx) + 1, 0);
	int wl_idx = lua_gettop(L);
	lua_pushvalue(L, primary_idx);
	lua_rawseti(L, wl_idx, 1);
	for (lua_Integer i = 1, n = (lua_Integer)lua_rawlen(L, outs_idx); i <= n; i++) {
		lua_rawgeti(L, outs_idx, i);
		lua_rawseti(L, wl_idx, i + 1);
	}
	if (run->track)
		track_emitted(run, wl_idx, w->name, 1);
	lua_pushvalue(L, wl_idx);
	lua_getfield(L, ctx_idx, "labels");
	if (finish(run, out_idx, cluster_idx, w, what, d) < 0)
		goto fail;

	/* The read-only views traits get, made once for the instance. */
	oam_lua_push_hostfn(run->lua, "view");
	lua_pushvalue(L, primary_idx);
	lua_call(L, 1, 1);
	int vout_idx = lua_gettop(L);
	oam_lua_push_hostfn(run->lua, "view");
	lua_pushvalue(L, wl_idx);
	lua_call(L, 1, 1);
	int vouts_idx = lua_gettop(L);
	oam_lua_push_hostfn(run->lua, "view");
	lua_getfield(L, ctx_idx, "spec");
	lua_call(L, 1, 1);
	int vspec_idx = lua_gettop(L);
	lua_getmetatable(L, ctx_idx);
	int tmeta_idx = lua_gettop(L);

	/* Traits, in the order listed. */
	for (size_t t = 0; t < in->ntraits; t++) {
		struct oam_trait_use *tu = &in->traits[t];
		if (tu->skip)
			continue;
		const struct oam_module *m = module_for(run, tu->mod);
		if (!m) {
			oam_diag_at(d, OAM_SEV_ERROR, "OAM900", NULL, 0, 0, "trait module '%s' missing in a render worker",
				    tu->mod->name);
			goto fail;
		}
		char twhat[480];
		snprintf(twhat, sizeof twhat, "rendering trait '%s' of instance '%s'", tu->name, in->name);
		lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref);
		lua_getfield(L, -1, "render");
		lua_remove(L, -2);
		/* ctx for the trait: its own (see oam_render_push_trait_ctx), with
		 * the views added. */
		lua_createtable(L, 0, 16);   /* its fields, the copied tables left out */
		copy_trait_fields(L, ctx_idx);
		lua_pushvalue(L, tmeta_idx);
		lua_setmetatable(L, -2);
		lua_pushvalue(L, vout_idx);
		lua_setfield(L, -2, "output");
		lua_pushvalue(L, vouts_idx);
		lua_setfield(L, -2, "outputs");
		lua_pushvalue(L, vspec_idx);
		lua_setfield(L, -2, "spec");
		lua_pushstring(L, tu->name);
		lua_setfield(L, -2, "traitName");
		push_labels(L, in, "trait.oam.dev/type", tu->name);
		lua_setfield(L, -2, "labels");
		oam_schema_push(L, &m->schema, tu->props);
		if (run->track)
			track_writer(run, m, tu->name);
		/* A pack's trait may not turn others' objects into other kinds. */
		int kinds_idx = 0;
		if (m->caps) {
			oam_pack_push_kinds(L, wl_idx);
			lua_insert(L, -4);   /* below render, ctx, props */
			kinds_idx = lua_gettop(L) - 3;
		}
		if (oam_module_call(run->lua, m, twhat, 2, 1, &err) < 0) {
			report(d, &err, m);
			if (run->track)
				track_writer(run, NULL, NULL);
			goto fail;
		}
		if (split(run, 0, m, twhat, d) < 0)
			goto fail;
		/* stack: ... outputs patch primary(nil) */
		lua_pop(L, 1);
		if (!lua_isnil(L, -1)) {
			oam_lua_push_hostfn(run->lua, "merge");
			lua_pushvalue(L, primary_idx);
			lua_pushvalue(L, -3);
			if (oam_lua_pcall_host(run->lua, 2, 0, &err) < 0) {
				if (err.id[0] && strcmp(err.id, "OAM601"))
					report(d, &err, m);
				else
					oam_diag_at(d, OAM_SEV_ERROR, "OAM604", m->path, 0, 0, "trait '%s': invalid patch: %s",
						    tu->name, err.msg);
				if (run->track)
					track_writer(run, NULL, NULL);
				goto fail;
			}
		}
		lua_pop(L, 1);
		if (kinds_idx) {
			if (oam_pack_check_kinds(L, wl_idx, kinds_idx, m, twhat, d) < 0)
				goto fail;
			lua_remove(L, kinds_idx);
		}
		if (run->track) {
			track_writer(run, NULL, NULL);
			track_emitted(run, lua_gettop(L), tu->name, 0);
		}
		/* Trait outputs join the list later traits see, and the output. */
		for (lua_Integer i = 1, n = (lua_Integer)lua_rawlen(L, -1); i <= n; i++) {
			lua_rawgeti(L, -1, i);
			lua_rawseti(L, wl_idx, (lua_Integer)lua_rawlen(L, wl_idx) + 1);
		}
		push_labels(L, in, "trait.oam.dev/type", tu->name);
		if (finish(run, out_idx, cluster_idx, m, twhat, d) < 0)
			goto fail;
	}
	lua_settop(L, top);
	return 0;
fail:
	lua_settop(L, top);
	return -1;
}

int oam_render_instances(struct oam_run *run, struct oam_instance *const *inst, size_t n, struct oam_diags *d)
{
	lua_State *L = run->lua->L;
	int rc = 0;
	/* Rendering allocates many short-lived tables (contexts, views) next to
	 * the output, which lives to the end: the generational collector suits
	 * that shape. */
	lua_gc(L, LUA_GCGEN, 0, 0);
	lua_createtable(L, (int)(n * 3 < 1u << 30 ? n * 3 : 0), 0);   /* the output list */
	int out_idx = lua_gettop(L);
	lua_newtable(L);                          /* cluster-scoped kinds */
	for (const char *const *k = cluster_scoped_kinds; *k; k++) {
		lua_pushboolean(L, 1);
		lua_setfield(L, -2, *k);
	}
	int cluster_idx = lua_gettop(L);
	for (size_t i = 0; i < n; i++) {
		/* A deferred hook's finding fails the whole run: the main thread
		 * runs every hook again to report them in order (oam_check_deferred). */
		if (inst[i]->hooks_pending && oam_check_hooks(run, inst[i], d)) {
			run->hooks_failed = 1;
			rc = -1;
			break;
		}
		if (render_instance(run, inst[i], out_idx, cluster_idx, d) < 0)
			rc = -1;
	}
	lua_pop(L, 1);
	if (rc < 0) {
		lua_pop(L, 1);
		return -1;
	}
	return 0;
}

size_t oam_render_list(struct oam_model *m, struct oam_instance ***out)
{
	size_t n = 0, k = 0;
	for (size_t i = 0; i < m->napps; i++)
		n += m->apps[i]->ninst;
	*out = malloc((n + 1) * sizeof **out);
	if (!*out)
		return 0;
	for (size_t i = 0; i < m->napps; i++)
		for (size_t j = 0; j < m->apps[i]->ninst; j++)
			if (m->apps[i]->inst[j].ok)
				(*out)[k++] = &m->apps[i]->inst[j];
	return k;
}

int oam_render(struct oam_run *run, struct oam_diags *d)
{
	struct oam_instance **v;
	size_t n = oam_render_list(run->model, &v);
	if (!v) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM900", NULL, 0, 0, "out of memory");
		return -1;
	}
	int rc = oam_render_instances(run, v, n, d);
	free(v);
	return rc;
}
