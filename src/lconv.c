/* lconv.c — tree ↔ Lua conversion. */
#include <stdio.h>
#include <string.h>
#include <lauxlib.h>

#include "oamlua/lconv.h"

static const char ARRAY_KEY = 'a', VIEW_KEY = 'v', UNVIEW_KEY = 'u';

void oam_lconv_register(lua_State *L, int host_idx)
{
	host_idx = lua_absindex(L, host_idx);
	lua_getfield(L, host_idx, "ARRAY");
	lua_rawsetp(L, LUA_REGISTRYINDEX, &ARRAY_KEY);
	lua_getfield(L, host_idx, "view");
	lua_newtable(L);                     /* any table: get the view metatable */
	lua_call(L, 1, 1);
	lua_getmetatable(L, -1);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &VIEW_KEY);
	lua_pop(L, 1);
	lua_getfield(L, host_idx, "unview");
	lua_rawsetp(L, LUA_REGISTRYINDEX, &UNVIEW_KEY);
}

void oam_lua_new_array(lua_State *L, int narr)
{
	lua_createtable(L, narr, 0);
	lua_rawgetp(L, LUA_REGISTRYINDEX, &ARRAY_KEY);
	lua_setmetatable(L, -2);
}

void oam_lua_push_node(lua_State *L, const struct oam_node *n)
{
	luaL_checkstack(L, 4, "value too deeply nested");
	switch (n->type) {
	case OAM_NULL: lua_pushlightuserdata(L, NULL); break;
	case OAM_BOOL: lua_pushboolean(L, n->u.b); break;
	case OAM_INT: lua_pushinteger(L, (lua_Integer)n->u.i); break;
	case OAM_FLOAT: lua_pushnumber(L, n->u.f); break;
	case OAM_STR: lua_pushlstring(L, n->u.str.s, n->u.str.len); break;
	case OAM_SEQ:
		if (n->u.seq.n == 0) {
			oam_lua_new_array(L, 0);
			break;
		}
		lua_createtable(L, (int)n->u.seq.n, 0);
		for (size_t i = 0; i < n->u.seq.n; i++) {
			oam_lua_push_node(L, n->u.seq.items[i]);
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		break;
	case OAM_MAP:
		lua_createtable(L, 0, (int)n->u.map.n);
		for (size_t i = 0; i < n->u.map.n; i++) {
			lua_pushlstring(L, n->u.map.items[i].key->u.str.s, n->u.map.items[i].key->u.str.len);
			oam_lua_push_node(L, n->u.map.items[i].val);
			lua_rawset(L, -3);
		}
		break;
	}
}

void oam_lua_unview(lua_State *L, int idx)
{
	idx = lua_absindex(L, idx);
	if (lua_type(L, idx) != LUA_TTABLE || !lua_getmetatable(L, idx))
		return;
	lua_rawgetp(L, LUA_REGISTRYINDEX, &VIEW_KEY);
	int is_view = lua_rawequal(L, -1, -2);
	lua_pop(L, 2);
	if (!is_view)
		return;
	lua_rawgetp(L, LUA_REGISTRYINDEX, &UNVIEW_KEY);
	lua_pushvalue(L, idx);
	lua_call(L, 1, 1);
	lua_replace(L, idx);
}

int oam_lua_is_array(lua_State *L, int idx, size_t *len)
{
	idx = lua_absindex(L, idx);
	int marked = 0;
	if (lua_getmetatable(L, idx)) {
		lua_rawgetp(L, LUA_REGISTRYINDEX, &ARRAY_KEY);
		marked = lua_rawequal(L, -1, -2);
		lua_pop(L, 2);
	}
	size_t n = lua_rawlen(L, idx);
	*len = n;
	if (marked)
		return 1;
	if (n == 0)
		return 0;
	/* Keys must be exactly 1..n: count them. */
	size_t count = 0;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		if (++count > n) {
			lua_pop(L, 1);
			return 0;
		}
	}
	return count == n;
}

struct conv {
	lua_State *L;
	struct oam_arena *a;
	char *err;
	size_t errsize;
	char path[512];
	int depth;
};

static void path_push(struct conv *c, size_t *mark, const char *key, long idx)
{
	size_t l = strlen(c->path);
	*mark = l;
	if (key)
		snprintf(c->path + l, sizeof c->path - l, "%s%s", l ? "." : "", key);
	else
		snprintf(c->path + l, sizeof c->path - l, "[%ld]", idx);
}

static struct oam_node *conv(struct conv *c, int idx);

static struct oam_node *fail(struct conv *c, const char *what)
{
	snprintf(c->err, c->errsize, "%s at '%s'", what, c->path[0] ? c->path : "(top)");
	return NULL;
}

static struct oam_node *conv_table(struct conv *c, int idx)
{
	lua_State *L = c->L;
	size_t len, mark;
	struct oam_node *n;
	if (++c->depth > 100)
		return fail(c, "value nested more than 100 levels deep (does a table contain itself?)");
	if (oam_lua_is_array(L, idx, &len)) {
		n = oam_node_new(c->a, OAM_SEQ, NULL);
		if (!n || !(n->u.seq.items = oam_arena_alloc(c->a, (len ? len : 1) * sizeof *n->u.seq.items)))
			return fail(c, "out of memory");
		n->u.seq.n = len;
		for (size_t i = 0; i < len; i++) {
			lua_rawgeti(L, idx, (lua_Integer)i + 1);
			path_push(c, &mark, NULL, (long)i);
			struct oam_node *v = conv(c, lua_gettop(L));
			c->path[mark] = '\0';
			lua_pop(L, 1);
			if (!v)
				return NULL;
			n->u.seq.items[i] = v;
		}
		c->depth--;
		return n;
	}
	size_t count = 0;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		count++;
	}
	n = oam_node_new(c->a, OAM_MAP, NULL);
	if (!n || !(n->u.map.items = oam_arena_alloc(c->a, (count ? count : 1) * sizeof *n->u.map.items)))
		return fail(c, "out of memory");
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		if (lua_type(L, -2) != LUA_TSTRING) {
			lua_pop(L, 2);
			return fail(c, lua_type(L, -2) == LUA_TNUMBER ? "a map mixes list entries and named keys"
								    : "a map key is not a string");
		}
		size_t kl;
		const char *k = lua_tolstring(L, -2, &kl);
		struct oam_node *kn = oam_node_str(c->a, k, kl, NULL);
		path_push(c, &mark, k, 0);
		struct oam_node *v = kn ? conv(c, lua_gettop(L)) : NULL;
		c->path[mark] = '\0';
		lua_pop(L, 1);
		if (!v) {
			lua_pop(L, 1);
			return kn ? NULL : fail(c, "out of memory");
		}
		n->u.map.items[n->u.map.n].key = kn;
		n->u.map.items[n->u.map.n].val = v;
		n->u.map.n++;
	}
	c->depth--;
	return n;
}

static struct oam_node *conv(struct conv *c, int idx)
{
	lua_State *L = c->L;
	struct oam_node *n;
	luaL_checkstack(L, 6, "value too deeply nested");
	switch (lua_type(L, idx)) {
	case LUA_TNIL:
	case LUA_TLIGHTUSERDATA:
		if (lua_type(L, idx) == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx))
			return fail(c, "a userdata value cannot be converted");
		return oam_node_new(c->a, OAM_NULL, NULL);
	case LUA_TBOOLEAN:
		if ((n = oam_node_new(c->a, OAM_BOOL, NULL)))
			n->u.b = lua_toboolean(L, idx);
		return n;
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx)) {
			if ((n = oam_node_new(c->a, OAM_INT, NULL)))
				n->u.i = lua_tointeger(L, idx);
		} else if ((n = oam_node_new(c->a, OAM_FLOAT, NULL))) {
			n->u.f = lua_tonumber(L, idx);
		}
		return n;
	case LUA_TSTRING: {
		size_t l;
		const char *s = lua_tolstring(L, idx, &l);
		return oam_node_str(c->a, s, l, NULL);
	}
	case LUA_TTABLE: {
		lua_pushvalue(L, idx);
		oam_lua_unview(L, -1);
		n = conv_table(c, lua_gettop(L));
		lua_pop(L, 1);
		return n;
	}
	default: {
		char msg[64];
		snprintf(msg, sizeof msg, "a %s value cannot be converted", luaL_typename(L, idx));
		return fail(c, msg);
	}
	}
}

struct oam_node *oam_lua_to_node(lua_State *L, int idx, struct oam_arena *a, char *errbuf, size_t errsize)
{
	struct conv c = { .L = L, .a = a, .err = errbuf, .errsize = errsize };
	errbuf[0] = '\0';
	return conv(&c, lua_absindex(L, idx));
}
