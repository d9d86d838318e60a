/* Unit tests: YAML loading, scalar typing, positions, anchors, errors. */
#include "tap.h"
#include "oamlua/load.h"

static struct oam_docset ds;
static struct oam_diags d;

static const struct oam_node *load(const char *text)
{
	oam_docset_release(&ds);
	oam_diags_release(&d);
	oam_docset_init(&ds);
	oam_diags_init(&d);
	if (oam_load_buffer(&ds, "t.yaml", text, strlen(text), &d) < 0 || !ds.ndocs)
		return NULL;
	return ds.docs[ds.ndocs - 1].root;
}

static enum oam_ntype type_of(const char *text)
{
	char buf[256];
	snprintf(buf, sizeof buf, "v: %s\n", text);
	const struct oam_node *r = load(buf);
	const struct oam_node *v = r ? oam_map_get(r, "v") : NULL;
	return v ? v->type : (enum oam_ntype)-1;
}

int main(void)
{
	oam_docset_init(&ds);
	oam_diags_init(&d);

	/* Scalars typed as Kubernetes reads them. */
	is_int(type_of("9999"), OAM_INT, "9999 is an integer");
	is_int(type_of("\"9999\""), OAM_STR, "\"9999\" stays a string");
	is_int(type_of("'9999'"), OAM_STR, "'9999' stays a string");
	is_int(type_of("0.5"), OAM_FLOAT, "0.5 is a float");
	is_int(type_of("1e3"), OAM_FLOAT, "1e3 is a float");
	is_int(type_of("true"), OAM_BOOL, "true is a boolean");
	is_int(type_of("yes"), OAM_BOOL, "yes is a boolean (YAML 1.1, as Kubernetes)");
	is_int(type_of("on"), OAM_BOOL, "on is a boolean (YAML 1.1, as Kubernetes)");
	is_int(type_of("~"), OAM_NULL, "~ is null");
	is_int(type_of(""), OAM_NULL, "empty is null");
	is_int(type_of("0x1F"), OAM_INT, "0x1F is an integer");
	is_int(type_of("hello"), OAM_STR, "hello is a string");
	is_int(type_of("1.2.3"), OAM_STR, "1.2.3 is a string");
	is_int(type_of("!!str 42"), OAM_STR, "!!str 42 is a string");
	is_int(type_of("[1, 2]"), OAM_SEQ, "flow sequence");

	const struct oam_node *r = load("a: 42\nb: -7\nc: 0x10\n");
	is_int(oam_map_get(r, "a")->u.i, 42, "integer value");
	is_int(oam_map_get(r, "b")->u.i, -7, "negative integer");
	is_int(oam_map_get(r, "c")->u.i, 16, "hex integer");

	/* Positions. */
	r = load("# comment\nspec:\n  containers:\n    - name: web\n      image: nginx\n");
	const struct oam_node *c = oam_map_get(oam_map_get(r, "spec"), "containers");
	ok(c && c->type == OAM_SEQ && c->u.seq.n == 1, "nested list");
	const struct oam_node *img = oam_map_get(c->u.seq.items[0], "image");
	is_int(img->line, 5, "line of image");
	is_int(img->col, 14, "column of image");
	is_str(img->file, "t.yaml", "file of image");

	/* Multi-document. */
	r = load("a: 1\n---\nb: 2\n---\n");
	is_int(ds.ndocs, 3, "three documents (one empty)");
	ok(ds.docs[2].root == NULL, "trailing empty document has no root");

	/* Anchors, aliases and merge keys. */
	r = load("base: &b\n  x: 1\n  y: 2\nref: *b\nmerged:\n  <<: *b\n  y: 3\n");
	ok(oam_map_get(r, "ref") == oam_map_get(r, "base"), "alias shares the anchored node");
	const struct oam_node *m = oam_map_get(r, "merged");
	is_int(oam_map_get(m, "x")->u.i, 1, "merge key fills x");
	is_int(oam_map_get(m, "y")->u.i, 3, "own key wins over merged");
	is_int(m->u.map.n, 2, "merged map has 2 keys");

	/* Errors. */
	ok(load("a: 1\na: 2\n") == NULL && d.nerrors == 1, "duplicate key is an error");
	is_str(d.v[0].id, "OAM102", "duplicate key ID");
	is_int(d.v[0].line, 2, "duplicate key reported at the second one");
	ok(load("a: [1, 2\n") == NULL && d.nerrors == 1, "syntax error");
	is_str(d.v[0].id, "OAM101", "syntax error ID");
	ok(load("a: *nope\n") == NULL, "unknown alias is an error");
	is_str(d.v[0].id, "OAM104", "unknown alias ID");
	ok(load("? [a, b]\n: 1\n") == NULL, "non-scalar key is an error");
	is_str(d.v[0].id, "OAM103", "non-scalar key ID");
	ok(load("a:\n\t- b\n") == NULL && d.nerrors, "tab indentation is an error");
	like(d.v[0].hint, "tabs", "tab hint");

	/* Large maps use the sorted duplicate check. */
	char big[4096];
	size_t l = 0;
	for (int i = 0; i < 40; i++)
		l += (size_t)snprintf(big + l, sizeof big - l, "k%d: %d\n", i, i);
	snprintf(big + l, sizeof big - l, "k7: again\n");
	ok(load(big) == NULL && d.nerrors == 1 && d.v[0].line == 41, "duplicate found in a 41-key map at its line");

	oam_docset_release(&ds);
	oam_diags_release(&d);
	return done_testing();
}
