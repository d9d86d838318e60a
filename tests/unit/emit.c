/* Unit tests: the YAML emitter — every tricky string survives a round trip
 * through libyaml (our loader), key order, empty collections, JSON. */
#include "tap.h"
#include "oamlua/emit.h"
#include "oamlua/lconv.h"
#include "oamlua/lhost.h"
#include "oamlua/load.h"
#include <lauxlib.h>

static int same(const struct oam_node *a, const struct oam_node *b)
{
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case OAM_NULL: return 1;
	case OAM_BOOL: return a->u.b == b->u.b;
	case OAM_INT: return a->u.i == b->u.i;
	case OAM_FLOAT: return a->u.f == b->u.f;
	case OAM_STR: return a->u.str.len == b->u.str.len && !memcmp(a->u.str.s, b->u.str.s, a->u.str.len);
	case OAM_SEQ:
		if (a->u.seq.n != b->u.seq.n)
			return 0;
		for (size_t i = 0; i < a->u.seq.n; i++)
			if (!same(a->u.seq.items[i], b->u.seq.items[i]))
				return 0;
		return 1;
	case OAM_MAP:
		if (a->u.map.n != b->u.map.n)
			return 0;
		for (size_t i = 0; i < a->u.map.n; i++) {
			const struct oam_node *bv = oam_map_get(b, a->u.map.items[i].key->u.str.s);
			if (!bv || !same(a->u.map.items[i].val, bv))
				return 0;
		}
		return 1;
	}
	return 0;
}

static const char values[] =
	"return {\n"
	"  strings = { '', ' ', 'a', 'yes', 'no', 'on', 'off', 'y', 'n', 'true', 'False', 'null', '~', 'NULL',\n"
	"    '9999', '0x1F', '0o17', '1e3', '.5', '-1', '+1', '.inf', '-.inf', '.nan', '1.2.3', '-', '--', '---',\n"
	"    '- x', '-g', '--config', ':8080', 'a: b', 'a:b', 'http://x:80/', 'a #b', 'a#b', '#c', '&a', '*a',\n"
	"    '!t', '|', '>', '%x', '@x', '`x', \"'q'\", '\"dq\"', '[a]', '{a}', 'a,b', '?', '? x', 'trailing ',\n"
	"    ' leading', 'tab\\there', 'cr\\rhere', 'nul\\0here', 'bell\\7', 'del\\127', 'back\\\\slash',\n"
	"    'line1\\nline2', 'ends\\n', 'two\\n\\n', '\\nlead', ' sp\\nx', 'x \\ny', 'a\\n  indented\\nb',\n"
	"    'unicode é ✓ 日本', 'events {}', 'daemon off;', 'key: value\\nother: 1\\n' },\n"
	"  numbers = { 0, -7, 3.5, 1e300, 9007199254740992, -0.25, 100000000000 },\n"
	"  bools = { true, false },\n"
	"  nested = { { a = { { b = { 1, 2 } } }, c = {} }, { { 'x' } } },\n"
	"  empty = { list = oam.array(), map = {} },\n"
	"  keys = { ['yes'] = 1, ['8080'] = 2, ['a b'] = 3, ['a: b'] = 4, [''] = 5, ['app.oam.dev/name'] = 6 },\n"
	"}\n";

int main(void)
{
	struct oam_lua h;
	struct oam_err err;
	struct oam_buf out = { 0 };
	char emsg[512];
	if (oam_lua_init(&h, &err) < 0) {
		printf("Bail out! %s\n", err.msg);
		return 1;
	}
	ok(oam_lua_load_module_buffer(&h, values, strlen(values), "values.lua", "values", &err) == 0, "values built (%s)", err.msg);
	int rc = oam_emit_value_yaml(h.L, -1, &out, emsg, sizeof emsg);
	ok(rc == 0, "emitted (%s)", emsg);

	struct oam_docset ds;
	struct oam_diags d;
	oam_docset_init(&ds);
	oam_diags_init(&d);
	ok(oam_load_buffer(&ds, "out.yaml", out.data, out.len, &d) == 0 && ds.ndocs == 1, "output parses with libyaml");
	if (d.n)
		diag("%s: %s", d.v[0].id, d.v[0].msg);
	struct oam_arena *a = oam_arena_new();
	struct oam_node *want = oam_lua_to_node(h.L, -1, a, emsg, sizeof emsg);
	ok(want != NULL, "values convert to a tree");
	const struct oam_node *got = ds.ndocs ? ds.docs[0].root : NULL;
	const char *groups[] = { "strings", "numbers", "bools", "nested", "empty", "keys" };
	for (int g = 0; g < 6; g++) {
		const struct oam_node *w = oam_map_get(want, groups[g]), *r = oam_map_get(got, groups[g]);
		int eq = w && r && same(w, r);
		ok(eq, "%s survive the round trip", groups[g]);
		if (!eq && w && r && w->type == OAM_SEQ && r->type == OAM_SEQ)
			for (size_t i = 0; i < w->u.seq.n && i < r->u.seq.n; i++)
				if (!same(w->u.seq.items[i], r->u.seq.items[i])) {
					char b1[64], b2[64];
					oam_node_brief(w->u.seq.items[i], b1, sizeof b1);
					oam_node_brief(r->u.seq.items[i], b2, sizeof b2);
					diag("item %zu: wrote %s, read back %s", i, b1, b2);
				}
	}
	like(out.data, "\n  list: []\n", "empty arrays are []");
	like(out.data, "\n  map: {}\n", "empty maps are {}");
	like(out.data, "- \"yes\"\n", "strings that read as booleans are quoted");
	like(out.data, "- \"9999\"\n", "strings that read as numbers are quoted");
	like(out.data, "- |-\n  line1\n  line2\n", "multi-line strings are literal blocks");
	like(out.data, "- 9007199254740992\n", "integers stay integers");

	/* A string that is not UTF-8 is refused, naming its path. */
	lua_newtable(h.L);
	lua_pushliteral(h.L, "\xff\xfe");
	lua_setfield(h.L, -2, "bad");
	struct oam_buf out2 = { 0 };
	ok(oam_emit_value_yaml(h.L, -1, &out2, emsg, sizeof emsg) < 0, "invalid UTF-8 is refused");
	like(emsg, "UTF-8 at 'bad'", "the message names the path");
	/* A function is refused too. */
	lua_pushcfunction(h.L, lua_gettop);
	lua_setfield(h.L, -2, "bad");
	ok(oam_emit_value_yaml(h.L, -1, &out2, emsg, sizeof emsg) < 0, "a function cannot be written (%s)", emsg);
	/* Key order: apiVersion, kind, metadata, spec first; name first inside. */
	const char obj[] = "return { { spec = { b = 1, a = 2, name = 'n' }, metadata = { namespace = 'x', name = 'y' }, kind = 'K', apiVersion = 'v1', data = {} } }";
	oam_lua_load_module_buffer(&h, obj, strlen(obj), "obj.lua", "obj", &err);
	struct oam_buf out3 = { 0 };
	oam_emit(h.L, -1, OAM_FMT_YAML, &out3, emsg, sizeof emsg);
	is_str(out3.data, "---\napiVersion: v1\nkind: K\nmetadata:\n  name: \"y\"\n  namespace: x\nspec:\n  name: \"n\"\n  a: 2\n  b: 1\ndata: {}\n",
	       "conventional key order");
	oam_buf_release(&out);
	oam_buf_release(&out2);
	oam_buf_release(&out3);
	oam_arena_free(a);
	oam_docset_release(&ds);
	oam_diags_release(&d);
	oam_lua_close(&h);
	return done_testing();
}
