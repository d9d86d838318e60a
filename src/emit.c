/* emit.c — Lua objects → YAML (libyaml events) / JSON (jansson) / names. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <lauxlib.h>

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

struct step {
	const char *key;        /* map key, or NULL for a list index */
	long idx;
};

struct walk {
	lua_State *L;
	char *err;
	size_t errsize;
	char path[512];         /* formatted only when an error is reported */
	struct step steps[128];
	int nsteps;
	int depth;
	struct oam_buf *out;    /* YAML output */
	int owners_idx;         /* --show-owners: Lua table path -> module of the current object, or 0 */
	const char *emitter;    /* --show-owners: module that emitted the current object */
	struct style_slot *styles;   /* per call: see string_style */
	/* scratch for sorted keys, reused across maps */
	struct key *keys;
	size_t capkeys;
};

static void format_path(struct walk *w, int upto)
{
	size_t l = 0;
	w->path[0] = '\0';
	for (int i = 0; i < upto && i < 128 && l < sizeof w->path; i++)
		l += (size_t)(w->steps[i].key ? snprintf(w->path + l, sizeof w->path - l, "%s%s", l ? "." : "",
							  w->steps[i].key)
					      : snprintf(w->path + l, sizeof w->path - l, "[%ld]", w->steps[i].idx));
}

static int failf(struct walk *w, const char *what)
{
	format_path(w, w->nsteps);
	if (!w->err[0])
		snprintf(w->err, w->errsize, "%s at '%s'", what, w->path[0] ? w->path : "(top)");
	return -1;
}

/* Remembers where the walk is, for messages; cheap on the hot path. */
static size_t path_mark(struct walk *w, const char *key, long idx)
{
	if (w->nsteps < 128) {
		w->steps[w->nsteps].key = key;
		w->steps[w->nsteps].idx = idx;
	}
	return (size_t)w->nsteps++;
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
	/* Most maps have a handful of keys: insertion sort beats qsort's calls. */
	if (n > 16) {
		qsort(w->keys, n, sizeof *w->keys, cmp_key);
	} else {
		for (size_t i = 1; i < n; i++) {
			struct key k = w->keys[i];
			size_t j = i;
			while (j > 0 && cmp_key(&w->keys[j - 1], &k) > 0) {
				w->keys[j] = w->keys[j - 1];
				j--;
			}
			w->keys[j] = k;
		}
	}
	return (long)n;
}

/* ---- YAML ----
 *
 * Written directly rather than through libyaml's emitter, which spends most
 * of its time analysing each scalar: the structure here is always block
 * style (kubectl's layout: sequences under a key are not indented), and a
 * string is written plain only when it is plainly safe, else double-quoted
 * with JSON-style escapes, or as a literal block when it spans lines. The
 * tests read every output back with libyaml. */

static int out_add(struct walk *w, const char *p, size_t n)
{
	if (oam_buf_add(w->out, p, n) < 0)
		return failf(w, "out of memory");
	return 0;
}

static int out_indent(struct walk *w, int n)
{
	static const char spaces[] = "                                                                ";
	while (n > 0) {
		int k = n < 64 ? n : 64;
		if (out_add(w, spaces, (size_t)k) < 0)
			return -1;
		n -= k;
	}
	return 0;
}

/* Valid UTF-8? (Lua strings are bytes; YAML output must be text.) */
static int utf8_ok(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
		if (!n || i + n > len)
			return 0;
		for (size_t j = 1; j < n; j++)
			if ((s[i + j] & 0xC0) != 0x80)
				return 0;
		i += n;
	}
	return 1;
}

enum sstyle { S_PLAIN, S_QUOTED, S_LITERAL };

static enum sstyle string_style_scan(const char *s, size_t len, int allow_literal)
{
	long long iv;
	double fv;
	int bv, high = 0;
	if (len == 0)
		return S_QUOTED;
	if (memchr(s, '\n', len)) {
		/* A literal block keeps the text as is. Its first line may not
		 * start with a space or be empty (the block's indentation is read
		 * from it); trailing spaces and other control characters are kept
		 * only by a quoted string. */
		if (!allow_literal || s[0] == ' ' || s[0] == '\n')
			return S_QUOTED;
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)s[i];
			if ((c < 0x20 && c != '\n') || c == 0x7f || (c == '\n' && s[i - 1] == ' '))
				return S_QUOTED;
			high |= c >= 0x80;
		}
		return high && !utf8_ok((const unsigned char *)s, len) ? S_QUOTED : S_LITERAL;
	}
	unsigned char c0 = (unsigned char)s[0];
	if (strchr("?:,[]{}#&*!|>'\"%@`~ \t", c0) || c0 < 0x20)
		return S_QUOTED;
	if (c0 == '-' && (len == 1 || s[1] == ' ' || (len >= 3 && s[1] == '-' && s[2] == '-')))
		return S_QUOTED;
	if (s[len - 1] == ' ' || s[len - 1] == ':')
		return S_QUOTED;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return S_QUOTED;
		if (c >= 0x80)
			high = 1;
		else if ((c == ':' && i + 1 < len && s[i + 1] == ' ') || (c == '#' && s[i - 1] == ' '))
			return S_QUOTED;
	}
	if (high && !utf8_ok((const unsigned char *)s, len))
		return S_QUOTED;
	if (oam_resolve_plain(s, len, &iv, &fv, &bv) != OAM_STR)
		return S_QUOTED;
	return S_PLAIN;
}

/* Lua interns short strings, and output repeats the same label keys and
 * values thousands of times: remember the style per string address. Only
 * valid while the strings are alive, i.e. within one oam_emit call. */
struct style_slot {
	const char *s;
	size_t len;
	int style;
};

static enum sstyle string_style(struct walk *w, const char *s, size_t len, int allow_literal)
{
	if (len > 40 || !w->styles)
		return string_style_scan(s, len, allow_literal);
	struct style_slot *slot = &w->styles[((uintptr_t)s >> 4) & 4095];
	int want = allow_literal ? 1 : 0;
	if (slot->s == s && slot->len == len && (slot->style >> 2) == want)
		return (enum sstyle)(slot->style & 3);
	enum sstyle st = string_style_scan(s, len, allow_literal);
	slot->s = s;
	slot->len = len;
	slot->style = (want << 2) | (int)st;
	return st;
}

static int out_quoted(struct walk *w, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	if (!utf8_ok((const unsigned char *)s, len))
		return failf(w, "a string is not valid UTF-8");
	if (out_add(w, "\"", 1) < 0)
		return -1;
	size_t start = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		char buf[5];
		if (c == '"')
			esc = "\\\"";
		else if (c == '\\')
			esc = "\\\\";
		else if (c == '\n')
			esc = "\\n";
		else if (c == '\t')
			esc = "\\t";
		else if (c == '\r')
			esc = "\\r";
		else if (c < 0x20 || c == 0x7f) {
			buf[0] = '\\', buf[1] = 'x', buf[2] = hex[c >> 4], buf[3] = hex[c & 15], buf[4] = '\0';
			esc = buf;
		}
		if (!esc)
			continue;
		if (out_add(w, s + start, i - start) < 0 || out_add(w, esc, strlen(esc)) < 0)
			return -1;
		start = i + 1;
	}
	if (out_add(w, s + start, len - start) < 0 || out_add(w, "\"", 1) < 0)
		return -1;
	return 0;
}

/* A scalar string after "key: " or "- "; `indent` is the indentation of the
 * lines of a literal block. */
static int out_string(struct walk *w, const char *s, size_t len, int indent, int allow_literal)
{
	switch (string_style(w, s, len, allow_literal)) {
	case S_PLAIN:
		return out_add(w, s, len);
	case S_QUOTED:
		return out_quoted(w, s, len);
	case S_LITERAL: {
		size_t trailing = 0;
		while (trailing < len && s[len - 1 - trailing] == '\n')
			trailing++;
		if (out_add(w, trailing == 0 ? "|-\n" : trailing == 1 ? "|\n" : "|+\n", trailing > 1 || trailing == 0 ? 3 : 2) < 0)
			return -1;
		const char *p = s, *end = s + len - (trailing ? 1 : 0);
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t l = (size_t)((nl ? nl : end) - p);
			if (l && out_indent(w, indent) < 0)
				return -1;
			if (out_add(w, p, l) < 0 || (nl && out_add(w, "\n", 1) < 0))
				return -1;
			if (!nl)
				break;
			p = nl + 1;
		}
		return 0;   /* the caller adds the final newline */
	}
	}
	return -1;
}

static int y_node(struct walk *w, int idx, int indent, int top, int inline_first);

/* --show-owners: after a scalar, name the module that wrote it when that is
 * not the module that emitted the object (the nearest recorded path wins). */
static int owner_comment(struct walk *w)
{
	lua_State *L = w->L;
	if (!w->owners_idx)
		return 0;
	for (int upto = w->nsteps; upto > 0; upto--) {
		format_path(w, upto);
		lua_getfield(L, w->owners_idx, w->path);
		const char *m = lua_tostring(L, -1);
		if (m) {
			int rc = 0;
			if (!w->emitter || strcmp(m, w->emitter)) {
				rc = out_add(w, "  # ", 4);
				if (rc == 0)
					rc = out_add(w, m, strlen(m));
			}
			lua_pop(L, 1);
			return rc;
		}
		lua_pop(L, 1);
	}
	return 0;
}

/* Writes a scalar or an empty collection on the current line (no newline);
 * returns 1 if the value is a non-empty collection (nothing written). */
static int y_inline(struct walk *w, int idx, int indent, int *is_coll)
{
	lua_State *L = w->L;
	char buf[64];
	*is_coll = 0;
	switch (lua_type(L, idx)) {
	case LUA_TSTRING: {
		size_t len;
		const char *s = lua_tolstring(L, idx, &len);
		return out_string(w, s, len, indent, 1);
	}
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			snprintf(buf, sizeof buf, "%lld", (long long)lua_tointeger(L, idx));
		else
			oam_fmt_double(lua_tonumber(L, idx), buf, sizeof buf);
		return out_add(w, buf, strlen(buf));
	case LUA_TBOOLEAN:
		return lua_toboolean(L, idx) ? out_add(w, "true", 4) : out_add(w, "false", 5);
	case LUA_TNIL:
		return out_add(w, "null", 4);
	case LUA_TLIGHTUSERDATA:
		if (!lua_touserdata(L, idx))
			return out_add(w, "null", 4);
		return failf(w, "a userdata value cannot be written");
	case LUA_TTABLE: {
		size_t len;
		if (oam_lua_is_array(L, idx, &len)) {
			if (!len)
				return out_add(w, "[]", 2);
		} else {
			lua_pushnil(L);
			if (!lua_next(L, idx))
				return out_add(w, "{}", 2);
			lua_pop(L, 2);
		}
		*is_coll = 1;
		return 0;
	}
	default:
		snprintf(buf, sizeof buf, "a %s value cannot be written", luaL_typename(L, idx));
		return failf(w, buf);
	}
}

static int y_map(struct walk *w, int idx, int indent, int top, int inline_first)
{
	lua_State *L = w->L;
	long n = sorted_keys(w, idx, top);
	if (n < 0)
		return -1;
	struct key small[16], *keys = n <= 16 ? small : malloc((size_t)n * sizeof *keys);
	if (!keys)
		return failf(w, "out of memory");
	memcpy(keys, w->keys, (size_t)n * sizeof *keys);
	int rc = 0;
	for (long i = 0; i < n && rc == 0; i++) {
		if ((i || !inline_first) && out_indent(w, indent) < 0) {
			rc = -1;
			break;
		}
		if (string_style(w, keys[i].s, keys[i].len, 0) == S_PLAIN)
			rc = out_add(w, keys[i].s, keys[i].len);
		else
			rc = out_quoted(w, keys[i].s, keys[i].len);
		if (rc < 0 || out_add(w, ":", 1) < 0) {
			rc = -1;
			break;
		}
		lua_pushlstring(L, keys[i].s, keys[i].len);
		lua_rawget(L, idx);
		oam_lua_unview(L, -1);
		size_t m = path_mark(w, keys[i].s, 0);
		int coll;
		size_t mark = w->out->len;
		if (out_add(w, " ", 1) < 0 || y_inline(w, lua_gettop(L), indent + 2, &coll) < 0) {
			rc = -1;
		} else if (!coll) {
			rc = owner_comment(w);
			if (rc == 0)
				rc = out_add(w, "\n", 1);
		} else {
			size_t len;
			w->out->len = mark;   /* drop the space: the value starts on the next line */
			int arr = oam_lua_is_array(L, -1, &len);
			rc = out_add(w, "\n", 1);
			if (rc == 0)
				rc = y_node(w, lua_gettop(L), arr ? indent : indent + 2, 0, 0);
		}
		w->nsteps = (int)m;
		lua_pop(L, 1);
	}
	if (keys != small)
		free(keys);
	return rc;
}

static int y_seq(struct walk *w, int idx, size_t len, int indent, int inline_first)
{
	lua_State *L = w->L;
	for (size_t i = 0; i < len; i++) {
		if ((i || !inline_first) && out_indent(w, indent) < 0)
			return -1;
		if (out_add(w, "- ", 2) < 0)
			return -1;
		lua_rawgeti(L, idx, (lua_Integer)i + 1);
		oam_lua_unview(L, -1);
		size_t m = path_mark(w, NULL, (long)i);
		int coll, rc = y_inline(w, lua_gettop(L), indent + 2, &coll);
		if (rc == 0 && !coll)
			rc = owner_comment(w);
		if (rc == 0)
			rc = coll ? y_node(w, lua_gettop(L), indent + 2, 0, 1) : out_add(w, "\n", 1);
		w->nsteps = (int)m;
		lua_pop(L, 1);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* A non-empty collection starting at `indent` (or right after "- " when
 * inline_first). */
static int y_node(struct walk *w, int idx, int indent, int top, int inline_first)
{
	size_t len;
	int rc;
	luaL_checkstack(w->L, 8, "output nested too deeply");
	if (++w->depth > 100)
		return failf(w, "value nested more than 100 levels deep (does a table contain itself?)");
	if (oam_lua_is_array(w->L, idx, &len))
		rc = y_seq(w, idx, len, indent, inline_first);
	else
		rc = y_map(w, idx, indent, top, inline_first);
	w->depth--;
	return rc;
}

static int yaml_docs(struct walk *w, int idx, int single, struct oam_buf *out, int owners_fn)
{
	lua_State *L = w->L;
	w->out = out;
	lua_Integer n = single ? 1 : (lua_Integer)lua_rawlen(L, idx);
	for (lua_Integer i = 1; i <= n; i++) {
		if (single)
			lua_pushvalue(L, idx);
		else
			lua_rawgeti(L, idx, i);
		oam_lua_unview(L, -1);
		int obj = lua_gettop(L);
		int coll, erc = out_add(w, "---\n", 4);
		w->owners_idx = 0;
		if (owners_fn && erc == 0) {
			/* host.owners(obj) -> { path = module }, emitter */
			lua_pushvalue(L, owners_fn);
			lua_pushvalue(L, obj);
			lua_call(L, 1, 2);
			w->emitter = lua_tostring(L, -1);
			w->owners_idx = lua_gettop(L) - 1;
			char line[300];
			snprintf(line, sizeof line, "# emitted by %s; fields set by other modules are marked\n",
				 w->emitter ? w->emitter : "?");
			erc = out_add(w, line, strlen(line));
		}
		if (erc == 0) {
			size_t mark = out->len;
			erc = y_inline(w, obj, 0, &coll);
			if (erc == 0 && coll)
				erc = y_node(w, obj, 0, 1, 0);
			else if (erc == 0 && out->len > mark)
				erc = out_add(w, "\n", 1);
		}
		if (erc < 0 && !single) {
			/* Name the object in the message. */
			char tmp[768];
			const char *kind = NULL, *name = NULL;
			if (lua_type(L, obj) == LUA_TTABLE) {
				lua_getfield(L, obj, "kind");
				kind = lua_tostring(L, -1);
				lua_getfield(L, obj, "metadata");
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
		lua_settop(L, obj - 1);
		if (erc < 0)
			return -1;
	}
	return 0;
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
			w->nsteps = (int)m;
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
		w->nsteps = (int)m;
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
	w.styles = calloc(4096, sizeof *w.styles);   /* NULL: no cache, still correct */
	int rc;
	errbuf[0] = '\0';
	idx = lua_absindex(L, idx);
	if (fmt == OAM_FMT_JSON)
		rc = json_list(&w, idx, out);
	else if (fmt == OAM_FMT_NAME)
		rc = names(&w, idx, out);
	else
		rc = yaml_docs(&w, idx, 0, out, 0);
	free(w.keys);
	free(w.styles);
	return rc;
}

int oam_emit_owners(lua_State *L, int idx, int owners_fn, struct oam_buf *out, char *errbuf, size_t errsize)
{
	struct walk w = { .L = L, .err = errbuf, .errsize = errsize };
	errbuf[0] = '\0';
	int rc = yaml_docs(&w, lua_absindex(L, idx), 0, out, lua_absindex(L, owners_fn));
	free(w.keys);
	return rc;
}

json_t *oam_lua_to_json(lua_State *L, int idx, char *errbuf, size_t errsize)
{
	struct walk w = { .L = L, .err = errbuf, .errsize = errsize };
	errbuf[0] = '\0';
	json_t *j = j_value(&w, lua_absindex(L, idx), 1);
	free(w.keys);
	return j;
}

int oam_emit_value_yaml(lua_State *L, int idx, struct oam_buf *out, char *errbuf, size_t errsize)
{
	struct walk w = { .L = L, .err = errbuf, .errsize = errsize };
	w.styles = calloc(4096, sizeof *w.styles);   /* NULL: no cache, still correct */
	errbuf[0] = '\0';
	int rc = yaml_docs(&w, lua_absindex(L, idx), 1, out, 0);
	free(w.keys);
	free(w.styles);
	return rc;
}
