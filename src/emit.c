/* emit.c — Lua objects → YAML (libyaml events) / JSON (jansson) / names. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <lauxlib.h>
#include <yaml.h>

#include "oamlua/emit.h"
#include "oamlua/err.h"
#include "oamlua/lconv.h"
#include "oamlua/load.h"
#include "oamlua/tree.h"

void oam_buf_release(struct oam_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int oam_buf_add(struct oam_buf *b, const void *p, size_t n)
{
	if (b->cap - b->len < n + 1) {
		size_t cap = b->cap ? b->cap : 65536;
		while (cap - b->len < n + 1)
			cap *= 2;
		char *d = realloc(b->data, cap);
		if (!d)
			return -1;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int oam_buf_write(const struct oam_buf *b, FILE *f)
{
	if (b->len && fwrite(b->data, 1, b->len, f) != b->len)
		return -1;
	return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}

int oam_parse_format(const char *s, enum oam_format *fmt)
{
	if (!strcmp(s, "yaml"))
		*fmt = OAM_FMT_YAML;
	else if (!strcmp(s, "json"))
		*fmt = OAM_FMT_JSON;
	else if (!strcmp(s, "name"))
		*fmt = OAM_FMT_NAME;
	else
		return -1;
	return 0;
}

/* ---- key order ---- */

struct key {
	const char *s;
	size_t len;
	int rank;
};

static int key_rank(const char *k, int top)
{
	static const char *const top_order[] = { "apiVersion", "kind", "metadata", "spec", NULL };
	static const char *const inner[] = { "name", "namespace", NULL };
	const char *const *order = top ? top_order : inner;
	for (int i = 0; order[i]; i++)
		if (!strcmp(k, order[i]))
			return i;
	return 100;
}

static int cmp_key(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	if (x->rank != y->rank)
		return x->rank - y->rank;
	return strcmp(x->s, y->s);
}

struct walk {
	lua_State *L;
	char *err;
	size_t errsize;
	char path[512];
	int depth;
	/* YAML */
	yaml_emitter_t *em;
	/* scratch for sorted keys, reused across maps */
	struct key *keys;
	size_t capkeys;
};

static int failf(struct walk *w, const char *what)
{
	if (!w->err[0])
		snprintf(w->err, w->errsize, "%s at '%s'", what, w->path[0] ? w->path : "(top)");
	return -1;
}

static size_t path_mark(struct walk *w, const char *key, long idx)
{
	size_t l = strlen(w->path);
	if (key)
		snprintf(w->path + l, sizeof w->path - l, "%s%s", l ? "." : "", key);
	else
		snprintf(w->path + l, sizeof w->path - l, "[%ld]", idx);
	return l;
}

/* Collects and sorts the string keys of the table at idx into w->keys.
 * Returns the count, or -1 (non-string key). Keys stay valid: the table
 * holds the strings. */
static long sorted_keys(struct walk *w, int idx, int top)
{
	lua_State *L = w->L;
	size_t n = 0;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING) {
			lua_pop(L, 1);
			return failf(w, "a map key is not a string (a list mixed with named keys?)");
		}
		if (n == w->capkeys) {
			size_t cap = w->capkeys ? w->capkeys * 2 : 32;
			struct key *k = realloc(w->keys, cap * sizeof *k);
			if (!k) {
				lua_pop(L, 1);
				return failf(w, "out of memory");
			}
			w->keys = k;
			w->capkeys = cap;
		}
		w->keys[n].s = lua_tolstring(L, -1, &w->keys[n].len);
		w->keys[n].rank = key_rank(w->keys[n].s, top);
		n++;
	}
	if (n > 1)
		qsort(w->keys, n, sizeof *w->keys, cmp_key);
	return (long)n;
}

/* ---- YAML ---- */

static int emit_event(struct walk *w, yaml_event_t *ev)
{
	if (!yaml_emitter_emit(w->em, ev))
		return failf(w, w->em->problem ? w->em->problem : "YAML emitter error");
	return 0;
}

static int y_scalar(struct walk *w, const char *s, size_t len, int is_string)
{
	yaml_event_t ev;
	yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;
	if (is_string) {
		long long i;
		double f;
		int b;
		if (len == 0 || oam_resolve_plain(s, len, &i, &f, &b) != OAM_STR)
			style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
		else if (memchr(s, '\n', len))
			style = YAML_LITERAL_SCALAR_STYLE;
	}
	yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)len, 1, 1, style);
	return emit_event(w, &ev);
}

static int y_value(struct walk *w, int idx, int top);

static int y_table(struct walk *w, int idx, int top)
{
	lua_State *L = w->L;
	yaml_event_t ev;
	size_t len;
	if (++w->depth > 100)
		return failf(w, "value nested more than 100 levels deep (does a table contain itself?)");
	if (oam_lua_is_array(L, idx, &len)) {
		yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_ANY_SEQUENCE_STYLE);
		if (emit_event(w, &ev) < 0)
			return -1;
		for (size_t i = 0; i < len; i++) {
			lua_rawgeti(L, idx, (lua_Integer)i + 1);
			size_t m = path_mark(w, NULL, (long)i);
			int rc = y_value(w, lua_gettop(L), 0);
			w->path[m] = '\0';
			lua_pop(L, 1);
			if (rc < 0)
				return -1;
		}
		yaml_sequence_end_event_initialize(&ev);
		w->depth--;
		return emit_event(w, &ev);
	}
	long n = sorted_keys(w, idx, top);
	if (n < 0)
		return -1;
	yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_ANY_MAPPING_STYLE);
	if (emit_event(w, &ev) < 0)
		return -1;
	/* The scratch array is reused by nested maps: copy this level's keys. */
	struct key small[16], *keys = n <= 16 ? small : malloc((size_t)n * sizeof *keys);
	if (!keys)
		return failf(w, "out of memory");
	memcpy(keys, w->keys, (size_t)n * sizeof *keys);
	int rc = 0;
	for (long i = 0; i < n && rc == 0; i++) {
		if (y_scalar(w, keys[i].s, keys[i].len, 1) < 0) {
			rc = -1;
			break;
		}
		lua_pushlstring(L, keys[i].s, keys[i].len);
		lua_rawget(L, idx);
		size_t m = path_mark(w, keys[i].s, 0);
		rc = y_value(w, lua_gettop(L), 0);
		w->path[m] = '\0';
		lua_pop(L, 1);
	}
	if (keys != small)
		free(keys);
	if (rc < 0)
		return -1;
	yaml_mapping_end_event_initialize(&ev);
	w->depth--;
	return emit_event(w, &ev);
}

static int y_value(struct walk *w, int idx, int top)
{
	lua_State *L = w->L;
	char buf[64];
	luaL_checkstack(L, 8, "output nested too deeply");
	switch (lua_type(L, idx)) {
	case LUA_TSTRING: {
		size_t len;
		const char *s = lua_tolstring(L, idx, &len);
		return y_scalar(w, s, len, 1);
	}
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			snprintf(buf, sizeof buf, "%lld", (long long)lua_tointeger(L, idx));
		else
			oam_fmt_double(lua_tonumber(L, idx), buf, sizeof buf);
		return y_scalar(w, buf, strlen(buf), 0);
	case LUA_TBOOLEAN:
		return lua_toboolean(L, idx) ? y_scalar(w, "true", 4, 0) : y_scalar(w, "false", 5, 0);
	case LUA_TNIL:
		return y_scalar(w, "null", 4, 0);
	case LUA_TLIGHTUSERDATA:
		if (!lua_touserdata(L, idx))
			return y_scalar(w, "null", 4, 0);
		return failf(w, "a userdata value cannot be written");
	case LUA_TTABLE: {
		lua_pushvalue(L, idx);
		oam_lua_unview(L, -1);
		int rc = y_table(w, lua_gettop(L), top);
		lua_pop(L, 1);
		return rc;
	}
	default:
		snprintf(buf, sizeof buf, "a %s value cannot be written", luaL_typename(L, idx));
		return failf(w, buf);
	}
}

static int y_write(void *data, unsigned char *buffer, size_t size)
{
	return oam_buf_add(data, buffer, size) == 0;
}

static int yaml_docs(struct walk *w, int idx, int single, struct oam_buf *out)
{
	lua_State *L = w->L;
	yaml_emitter_t em;
	yaml_event_t ev;
	int rc = -1;
	if (!yaml_emitter_initialize(&em))
		return failf(w, "out of memory");
	w->em = &em;
	yaml_emitter_set_output(&em, y_write, out);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, 1 << 20);
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	if (emit_event(w, &ev) < 0)
		goto out;
	lua_Integer n = single ? 1 : (lua_Integer)lua_rawlen(L, idx);
	for (lua_Integer i = 1; i <= n; i++) {
		if (single)
			lua_pushvalue(L, idx);
		else
			lua_rawgeti(L, idx, i);
		yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 0);
		int erc = emit_event(w, &ev);
		if (erc == 0)
			erc = y_value(w, lua_gettop(L), 1);
		if (erc < 0 && !single) {
			/* Name the object in the message. */
			char tmp[768];
			const char *kind = NULL, *name = NULL;
			if (lua_type(L, -1) == LUA_TTABLE) {
				lua_getfield(L, -1, "kind");
				kind = lua_tostring(L, -1);
				lua_getfield(L, -2, "metadata");
				if (lua_type(L, -1) == LUA_TTABLE) {
					lua_getfield(L, -1, "name");
					name = lua_tostring(L, -1);
					lua_pop(L, 1);
				}
				lua_pop(L, 2);
			}
			snprintf(tmp, sizeof tmp, "%s '%s': %s", kind ? kind : "object", name ? name : "?", w->err);
			oam_strlcpy(w->err, tmp, w->errsize);
		}
		lua_pop(L, 1);
		if (erc < 0)
			goto out;
		yaml_document_end_event_initialize(&ev, 1);
		if (emit_event(w, &ev) < 0)
			goto out;
	}
	yaml_stream_end_event_initialize(&ev);
	if (emit_event(w, &ev) < 0 || !yaml_emitter_flush(&em))
		goto out;
	rc = 0;
out:
	yaml_emitter_delete(&em);
	return rc;
}

/* ---- JSON ---- */

static json_t *j_value(struct walk *w, int idx, int top);

static json_t *j_table(struct walk *w, int idx, int top)
{
	lua_State *L = w->L;
	size_t len;
	if (++w->depth > 100) {
		failf(w, "value nested more than 100 levels deep (does a table contain itself?)");
		return NULL;
	}
	if (oam_lua_is_array(L, idx, &len)) {
		json_t *a = json_array();
		for (size_t i = 0; a && i < len; i++) {
			lua_rawgeti(L, idx, (lua_Integer)i + 1);
			size_t m = path_mark(w, NULL, (long)i);
			json_t *v = j_value(w, lua_gettop(L), 0);
			w->path[m] = '\0';
			lua_pop(L, 1);
			if (!v) {
				json_decref(a);
				return NULL;
			}
			json_array_append_new(a, v);
		}
		w->depth--;
		return a;
	}
	long n = sorted_keys(w, idx, top);
	if (n < 0)
		return NULL;
	struct key *keys = malloc(((size_t)n + 1) * sizeof *keys);
	json_t *o = json_object();
	if (!keys || !o) {
		free(keys);
		json_decref(o);
		failf(w, "out of memory");
		return NULL;
	}
	memcpy(keys, w->keys, (size_t)n * sizeof *keys);
	for (long i = 0; i < n; i++) {
		lua_pushlstring(L, keys[i].s, keys[i].len);
		lua_rawget(L, idx);
		size_t m = path_mark(w, keys[i].s, 0);
		json_t *v = j_value(w, lua_gettop(L), 0);
		w->path[m] = '\0';
		lua_pop(L, 1);
		if (!v) {
			free(keys);
			json_decref(o);
			return NULL;
		}
		json_object_setn_new_nocheck(o, keys[i].s, keys[i].len, v);
	}
	free(keys);
	w->depth--;
	return o;
}

static json_t *j_value(struct walk *w, int idx, int top)
{
	lua_State *L = w->L;
	luaL_checkstack(L, 8, "output nested too deeply");
	switch (lua_type(L, idx)) {
	case LUA_TSTRING: {
		size_t len;
		const char *s = lua_tolstring(L, idx, &len);
		json_t *j = json_stringn(s, len);
		if (!j)
			failf(w, "a string is not valid UTF-8");
		return j;
	}
	case LUA_TNUMBER:
		return lua_isinteger(L, idx) ? json_integer(lua_tointeger(L, idx)) : json_real(lua_tonumber(L, idx));
	case LUA_TBOOLEAN:
		return json_boolean(lua_toboolean(L, idx));
	case LUA_TNIL:
		return json_null();
	case LUA_TLIGHTUSERDATA:
		if (!lua_touserdata(L, idx))
			return json_null();
		failf(w, "a userdata value cannot be written");
		return NULL;
	case LUA_TTABLE: {
		lua_pushvalue(L, idx);
		oam_lua_unview(L, -1);
		json_t *j = j_table(w, lua_gettop(L), top);
		lua_pop(L, 1);
		return j;
	}
	default: {
		char buf[64];
		snprintf(buf, sizeof buf, "a %s value cannot be written", luaL_typename(L, idx));
		failf(w, buf);
		return NULL;
	}
	}
}

static int j_dump(const char *buffer, size_t size, void *data)
{
	return oam_buf_add(data, buffer, size);
}

static int json_list(struct walk *w, int idx, struct oam_buf *out)
{
	lua_State *L = w->L;
	json_t *items = json_array();
	lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
	for (lua_Integer i = 1; items && i <= n; i++) {
		lua_rawgeti(L, idx, i);
		json_t *o = j_value(w, lua_gettop(L), 1);
		lua_pop(L, 1);
		if (!o) {
			json_decref(items);
			return -1;
		}
		json_array_append_new(items, o);
	}
	json_t *list = items ? json_pack("{s:s, s:s, s:{s:s}, s:o}", "apiVersion", "v1", "kind", "List",
					 "metadata", "resourceVersion", "", "items", items) : NULL;
	if (!list)
		return failf(w, "out of memory");
	int rc = json_dump_callback(list, j_dump, out, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
	json_decref(list);
	if (rc < 0 || oam_buf_add(out, "\n", 1) < 0)
		return failf(w, "out of memory");
	return 0;
}

/* ---- names: kind.group/name ---- */

static int names(struct walk *w, int idx, struct oam_buf *out)
{
	lua_State *L = w->L;
	lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, idx, i);
		lua_getfield(L, -1, "apiVersion");
		lua_getfield(L, -2, "kind");
		lua_getfield(L, -3, "metadata");
		lua_getfield(L, -1, "name");
		const char *av = lua_tostring(L, -4), *kind = lua_tostring(L, -3), *name = lua_tostring(L, -1);
		char line[600], lk[128];
		size_t j = 0;
		for (; kind && kind[j] && j < sizeof lk - 1; j++)
			lk[j] = (char)tolower((unsigned char)kind[j]);
		lk[j] = '\0';
		const char *slash = av ? strchr(av, '/') : NULL;
		int len;
		if (slash)
			len = snprintf(line, sizeof line, "%s.%.*s/%s\n", lk, (int)(slash - av), av, name ? name : "");
		else
			len = snprintf(line, sizeof line, "%s/%s\n", lk, name ? name : "");
		lua_pop(L, 5);
		if (oam_buf_add(out, line, (size_t)len) < 0)
			return failf(w, "out of memory");
	}
	return 0;
}

int oam_emit(lua_State *L, int idx, enum oam_format fmt, struct oam_buf *out, char *errbuf, size_t errsize)
{
	struct walk w = { .L = L, .err = errbuf, .errsize = errsize };
	int rc;
	errbuf[0] = '\0';
	idx = lua_absindex(L, idx);
	if (fmt == OAM_FMT_JSON)
		rc = json_list(&w, idx, out);
	else if (fmt == OAM_FMT_NAME)
		rc = names(&w, idx, out);
	else
		rc = yaml_docs(&w, idx, 0, out);
	free(w.keys);
	return rc;
}

int oam_emit_value_yaml(lua_State *L, int idx, struct oam_buf *out, char *errbuf, size_t errsize)
{
	struct walk w = { .L = L, .err = errbuf, .errsize = errsize };
	errbuf[0] = '\0';
	int rc = yaml_docs(&w, lua_absindex(L, idx), 1, out);
	free(w.keys);
	return rc;
}
