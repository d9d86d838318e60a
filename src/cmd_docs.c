/* cmd_docs.c — `oamlua docs`: the Markdown reference of every loaded
 * workload type and trait, generated from the modules' tables and the
 * schemas the registry parsed. With -o DIR: DIR/README.md (the index) and
 * one page per module (DIR/workloads/NAME.md, DIR/traits/NAME.md); without:
 * one combined document on stdout. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <jansson.h>
#include <lua.h>

#include "oamlua/cli.h"
#include "oamlua/docs.h"

static const char usage_text[] =
	"usage: oamlua docs [-o DIR] [--module-path DIR]\n"
	"\n"
	"Writes a Markdown reference of every loaded workload type and trait: what\n"
	"it does, its version, where it applies, what it conflicts with, a table of\n"
	"its properties (type, required, default, description) and an example,\n"
	"all generated from the modules themselves.\n"
	"\n"
	"  -o, --output DIR      write DIR/README.md (an index) and one page per\n"
	"                        module (DIR/workloads/NAME.md, DIR/traits/NAME.md);\n"
	"                        without it, one combined document goes to stdout\n"
	"      --module-path DIR also load the modules in DIR (repeatable)\n"
	"\n"
	"The repository's docs/reference/ is made with 'oamlua docs -o docs/reference'.\n";

/* ---- schema walk (shared with anything that lists properties) ---- */

struct walk {
	int (*fn)(const struct oam_docs_prop *p, void *arg);
	void *arg;
	char path[512];
};

static int walk_object(struct walk *w, const struct oam_schema *s, size_t plen, int depth)
{
	for (size_t i = 0; i < s->nprops; i++) {
		const struct oam_schema *p = &s->props[i];
		int n = snprintf(w->path + plen, sizeof w->path - plen, "%s%s", plen ? "." : "", p->name);
		size_t len = plen + (size_t)(n > 0 ? n : 0);
		if (len >= sizeof w->path)
			len = sizeof w->path - 1;
		struct oam_docs_prop dp = { p, w->path, depth };
		int rc = w->fn(&dp, w->arg);
		if (rc)
			return rc;
		if (p->props && (rc = walk_object(w, p, len, depth + 1)))
			return rc;
		if (p->items && p->items->props) {
			size_t l2 = len;
			if (l2 + 2 < sizeof w->path) {
				memcpy(w->path + l2, "[]", 3);
				l2 += 2;
			}
			if ((rc = walk_object(w, p->items, l2, depth + 1)))
				return rc;
		}
		w->path[plen] = '\0';
	}
	return 0;
}

int oam_docs_walk_props(const struct oam_schema *s, int (*fn)(const struct oam_docs_prop *p, void *arg), void *arg)
{
	struct walk w = { fn, arg, "" };
	return walk_object(&w, s, 0, 0);
}

/* ---- small writers ---- */

/* Markdown text on one line (a table cell, a paragraph): characters that
 * would end a table cell, start emphasis or open an HTML tag ("<instance>")
 * are escaped (inside `code` only '|'), line breaks become spaces. */
static void md_text(FILE *f, const char *s)
{
	int code = 0;
	for (; s && *s; s++) {
		if (*s == '`')
			code = !code;
		if (*s == '|' || (!code && (*s == '*' || *s == '\\')))
			fprintf(f, "\\%c", *s);
		else if (!code && *s == '<')
			fputs("&lt;", f);
		else if (!code && *s == '>')
			fputs("&gt;", f);
		else if (*s == '\n' || *s == '\r')
			fputc(' ', f);
		else
			fputc(*s, f);
	}
}

/* Text inside a code span in a table cell: only '|' needs escaping. */
static void md_code(FILE *f, const char *s)
{
	fputc('`', f);
	for (; s && *s; s++) {
		if (*s == '|')
			fputs("\\|", f);
		else
			fputc(*s == '\n' ? ' ' : *s, f);
	}
	fputc('`', f);
}

static void md_list(FILE *f, const char *const *v, size_t n, const char *none)
{
	if (!n) {
		fputs(none, f);
		return;
	}
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s`%s`", i ? ", " : "", v[i]);
}

/* "## " for level 2: the caller writes the title and the blank line. */
static void heading(FILE *f, int level)
{
	fprintf(f, "%.*s ", level, "######");
}

/* A node as compact JSON (strings quoted), for defaults; the caller frees. */
static char *json_text(const struct oam_node *n)
{
	json_t *j = oam_node_to_json(n);
	char *r = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER) : NULL;
	json_decref(j);
	return r;
}

/* A YAML scalar for the examples: plain when that reads back as the same
 * string, else JSON-quoted (JSON strings are YAML). */
static void yaml_string(FILE *f, const char *s)
{
	static const char *const special[] = { "true", "false", "yes", "no", "on", "off", "null", "~", "y", "n", NULL };
	int plain = *s && !strchr("-?:,[]{}#&*!|>'\"%@` ", *s) && s[strlen(s) - 1] != ' ';
	for (const char *p = s; plain && *p; p++)
		plain = !strchr("\n\t#", *p) && !(*p == ':' && (p[1] == ' ' || !p[1]));
	for (const char *const *w = special; plain && *w; w++)
		plain = strcasecmp(s, *w) != 0;
	if (plain) {
		char *end;
		strtod(s, &end);
		plain = *end != '\0';
	}
	if (plain) {
		fputs(s, f);
		return;
	}
	json_t *j = json_string(s);
	char *t = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
	fputs(t ? t : "\"\"", f);
	free(t);
	json_decref(j);
}

static void yaml_node(FILE *f, const struct oam_node *n)
{
	if (n->type == OAM_STR) {
		yaml_string(f, n->u.str.s);
		return;
	}
	char *t = json_text(n);
	fputs(t ? t : "null", f);
	free(t);
}

static void indent(FILE *f, int n)
{
	fprintf(f, "%*s", n, "");
}

/* ---- the example: required properties with placeholder values ---- */

static int shown_required(const struct oam_schema *p)
{
	return p->required && !p->def;
}

static void placeholder(FILE *f, const struct oam_schema *p)
{
	if (p->def) {
		yaml_node(f, p->def);
		return;
	}
	if (p->enumv && p->enumv->u.seq.n) {
		yaml_node(f, p->enumv->u.seq.items[0]);
		return;
	}
	switch (p->type) {
	case OAM_S_STRING: fputs("<string>", f); return;
	case OAM_S_BOOLEAN: fputs("true", f); return;
	case OAM_S_INTEGER:
	case OAM_S_NUMBER: {
		double v = 1;
		if (p->has_min && p->min > v)
			v = p->min;
		if (p->has_max && p->max < v)
			v = p->max;
		fprintf(f, "%g", v);
		return;
	}
	default: fputs("<value>", f); return;
	}
}

static void example_entries(FILE *f, const struct oam_schema *s, int ind, int dash);

static int has_required(const struct oam_schema *s)
{
	for (size_t i = 0; i < s->nprops; i++)
		if (shown_required(&s->props[i]))
			return 1;
	return 0;
}

/* The value of one property after "name:" (a scalar on the same line, a
 * block on the next ones at `ind`). */
static void example_value(FILE *f, const struct oam_schema *p, int ind)
{
	if (p->type == OAM_S_OBJECT && !p->def) {
		if (p->props && has_required(p)) {
			fputc('\n', f);
			example_entries(f, p, ind, 0);
		} else if (p->props) {
			fputs(" {}\n", f);
		} else {
			fputc('\n', f);
			indent(f, ind);
			fputs("<key>: <value>\n", f);
		}
		return;
	}
	if (p->type == OAM_S_ARRAY && !p->def) {
		fputc('\n', f);
		const struct oam_schema *it = p->items;
		if (it && it->type == OAM_S_OBJECT && it->props && has_required(it)) {
			example_entries(f, it, ind + 2, 1);
		} else {
			indent(f, ind);
			fputs("- ", f);
			if (it && it->type == OAM_S_OBJECT)
				fputs(it->props ? "{}" : "<key>: <value>", f);
			else if (it)
				placeholder(f, it);
			else
				fputs("<value>", f);
			fputc('\n', f);
		}
		return;
	}
	fputc(' ', f);
	placeholder(f, p);
	fputc('\n', f);
}

/* The required properties of an object schema as map entries at `ind`; with
 * `dash`, the first one starts a list item ("- " two columns to the left). */
static void example_entries(FILE *f, const struct oam_schema *s, int ind, int dash)
{
	int first = 1;
	for (size_t i = 0; i < s->nprops; i++) {
		const struct oam_schema *p = &s->props[i];
		if (!shown_required(p))
			continue;
		if (dash && first) {
			indent(f, ind - 2);
			fputs("- ", f);
		} else {
			indent(f, ind);
		}
		first = 0;
		fprintf(f, "%s:", p->name);
		example_value(f, p, ind + 2);
	}
}

/* Optional top-level properties with a default, as comments. */
static void example_defaults(FILE *f, const struct oam_schema *s, int ind, const char *what)
{
	int any = 0;
	for (size_t i = 0; i < s->nprops; i++) {
		const struct oam_schema *p = &s->props[i];
		if (!p->def)
			continue;
		if (!any) {
			indent(f, ind);
			fprintf(f, "# %s, shown with their defaults:\n", what);
		}
		any = 1;
		indent(f, ind);
		fprintf(f, "# %s: ", p->name);
		yaml_node(f, p->def);
		fputc('\n', f);
	}
}

static void example_trait(FILE *f, const struct oam_module *m)
{
	fprintf(f, "```yaml\n      traits:\n        - name: %s\n", m->name);
	int req = has_required(&m->schema), defs = 0;
	for (size_t i = 0; i < m->schema.nprops; i++)
		defs |= m->schema.props[i].def != NULL;
	if (req || defs)
		fputs("          properties:\n", f);
	if (req)
		example_entries(f, &m->schema, 12, 0);
	example_defaults(f, &m->schema, 12, req ? "optional" : "all optional");
	fputs("```\n", f);
}

static void example_workload(FILE *f, const struct oam_module *m)
{
	fprintf(f, "```yaml\napiVersion: core.oam.dev/v1alpha1\nkind: ComponentSchematic\nmetadata:\n  name: example\n"
		   "spec:\n  workloadType: %s\n", m->type ? m->type : m->name);
	if (m->containers == OAM_RULE_REQUIRED) {
		fputs("  containers:\n    - name: main\n      image: registry.example.com/app:1.0.0\n", f);
		if (m->ports == OAM_RULE_REQUIRED)
			fputs("      ports:\n        - name: http\n          containerPort: 8080\n", f);
	}
	int req = has_required(&m->schema);
	if (req) {
		fputs("  workloadSettings:\n", f);
		for (size_t i = 0; i < m->schema.nprops; i++) {
			const struct oam_schema *p = &m->schema.props[i];
			if (!shown_required(p))
				continue;
			fprintf(f, "    - name: %s\n      value:", p->name);
			example_value(f, p, 8);
		}
	}
	example_defaults(f, &m->schema, 2, req ? "optional settings" : "settings");
	fputs("```\n", f);
}

/* ---- one module ---- */

static int prop_row(const struct oam_docs_prop *dp, void *arg)
{
	FILE *f = arg;
	const struct oam_schema *p = dp->s;
	char tt[512];
	oam_schema_typetext(p, tt, sizeof tt);
	fputs("| ", f);
	md_code(f, dp->path);
	fputs(" | ", f);
	md_text(f, tt);
	fprintf(f, " | %s | ", shown_required(p) ? "yes" : "");
	if (p->def) {
		char *t = json_text(p->def);
		md_code(f, t ? t : "?");
		free(t);
	}
	fputs(" | ", f);
	md_text(f, p->description);
	fputs(" |\n", f);
	return 0;
}

static const char *rule_name(enum oam_rule r)
{
	return r == OAM_RULE_REQUIRED ? "required" : r == OAM_RULE_FORBIDDEN ? "forbidden" : "optional";
}

/* A trait's `overrides` (read from its module table, as render.c does):
 * the fields it may set over other traits' values. */
static void md_overrides(FILE *f, lua_State *L, const struct oam_module *m)
{
	lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref);
	lua_pushliteral(L, "overrides");
	lua_rawget(L, -2);
	if (lua_type(L, -1) == LUA_TBOOLEAN && lua_toboolean(L, -1)) {
		fputs("any field", f);
	} else if (lua_type(L, -1) == LUA_TTABLE && lua_rawlen(L, -1) > 0) {
		for (lua_Integer i = 1, n = (lua_Integer)lua_rawlen(L, -1); i <= n; i++) {
			lua_rawgeti(L, -1, i);
			const char *p = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
			fprintf(f, "%s`%s`", i > 1 ? ", " : "", p);
			lua_pop(L, 1);
		}
	} else {
		fputs("none", f);
	}
	lua_pop(L, 2);
}

int oam_docs_write_module(FILE *f, const struct oam_module *m, lua_State *L, int level)
{
	int trait = m->kind == OAM_MOD_TRAIT;
	heading(f, level);
	fprintf(f, "%s `%s`\n\n", trait ? "Trait" : "Workload type", m->name);
	md_text(f, m->description);
	fputs("\n\n| | |\n|---|---|\n", f);
	fprintf(f, "| Version | %s |\n", m->version);
	if (trait) {
		fputs("| Applies to | ", f);
		md_list(f, m->applies, m->napplies, "any workload type");
		fputs(" |\n| Conflicts with | ", f);
		md_list(f, m->conflicts, m->nconflicts, "none");
		fputs(" |\n", f);
		if (L) {
			fputs("| Overrides other traits' values | ", f);
			md_overrides(f, L, m);
			fputs(" |\n", f);
		}
	} else {
		fprintf(f, "| Type | `%s` |\n| Container ports | %s |\n| Containers | %s |\n", m->type ? m->type : m->name,
			rule_name(m->ports), rule_name(m->containers));
	}
	fputs("| Targets | ", f);
	md_list(f, m->targets, m->ntargets, "kubernetes");
	fputs(" |\n", f);
	fprintf(f, "| Validation rules | %s |\n", m->has_validate ? "yes (`validate`)" : "schema only");
	fprintf(f, "| Source | `%s` |\n\n", m->path);

	heading(f, level + 1);
	fprintf(f, "%s\n\n", trait ? "Properties" : "Workload settings");
	if (!m->schema.nprops) {
		fprintf(f, "None: %s.\n\n", trait ? "the trait takes no properties" : "the workload type takes no settings");
	} else {
		fputs("| Name | Type | Required | Default | Description |\n|---|---|---|---|---|\n", f);
		oam_docs_walk_props(&m->schema, prop_row, f);
		fputc('\n', f);
	}
	heading(f, level + 1);
	fputs("Example\n\n", f);
	if (trait) {
		fputs("In an ApplicationConfiguration's component:\n\n", f);
		example_trait(f, m);
	} else {
		example_workload(f, m);
	}
	return ferror(f) ? -1 : 0;
}

/* ---- the index ---- */

static int cmp_mod(const void *a, const void *b)
{
	const struct oam_module *x = *(struct oam_module *const *)a, *y = *(struct oam_module *const *)b;
	if (x->kind != y->kind)
		return x->kind == OAM_MOD_WORKLOAD ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Link to a module: its page, or its section of the combined document
 * (GitHub's anchors: lowercase, spaces to '-', punctuation dropped). */
static void link(FILE *f, const struct oam_module *m, int combined)
{
	int trait = m->kind == OAM_MOD_TRAIT;
	fprintf(f, "[%s](", m->name);
	if (!combined) {
		fprintf(f, "%s/%s.md)", trait ? "traits" : "workloads", m->name);
		return;
	}
	fputs(trait ? "#trait-" : "#workload-type-", f);
	for (const char *p = m->name; *p; p++)
		if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_')
			fputc(*p, f);
		else if (*p >= 'A' && *p <= 'Z')
			fputc(*p - 'A' + 'a', f);
	fputc(')', f);
}

static void write_index(FILE *f, struct oam_module *const *mods, size_t n, int combined)
{
	fputs("# oamlua module reference\n\n"
	      "Every workload type and trait oamlua loads, generated by `oamlua docs` from the modules'\n"
	      "own tables and schemas (the same source as `oamlua explain`). Do not edit: change the module\n"
	      "and run `./oamlua docs -o docs/reference` (`tests/docs-reference.t` checks it is current).\n"
	      "How modules work and how to write one: `docs/writing-traits.md`.\n\n", f);
	fputs("## Workload types\n\n| Name | Type | Container ports | Description |\n|---|---|---|---|\n", f);
	for (size_t i = 0; i < n; i++) {
		if (mods[i]->kind != OAM_MOD_WORKLOAD)
			continue;
		fputs("| ", f);
		link(f, mods[i], combined);
		fprintf(f, " | `%s` | %s | ", mods[i]->type ? mods[i]->type : mods[i]->name, rule_name(mods[i]->ports));
		md_text(f, mods[i]->description);
		fputs(" |\n", f);
	}
	fputs("\n## Traits\n\n"
	      "A trait applies only to the workload types listed, and may not be bound together with a trait it\n"
	      "conflicts with (either side declaring it is enough); both are checked before rendering.\n"
	      "Traits render in the order an instance lists them.\n\n"
	      "| Name | Applies to | Conflicts with | Description |\n|---|---|---|---|\n", f);
	for (size_t i = 0; i < n; i++) {
		const struct oam_module *m = mods[i];
		if (m->kind != OAM_MOD_TRAIT)
			continue;
		fputs("| ", f);
		link(f, m, combined);
		fputs(" | ", f);
		md_list(f, m->applies, m->napplies, "any");
		fputs(" | ", f);
		md_list(f, m->conflicts, m->nconflicts, "—");
		fputs(" | ", f);
		md_text(f, m->description);
		fputs(" |\n", f);
	}
	fputc('\n', f);
}

/* ---- files ---- */

/* mkdir -p; 0 or -1 with errno. */
static int make_dirs(const char *path)
{
	char buf[4096];
	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || !*p) {
			char c = *p;
			*p = '\0';
			if (mkdir(buf, 0777) < 0 && errno != EEXIST)
				return -1;
			struct stat st;
			if (stat(buf, &st) < 0)
				return -1;
			if (!S_ISDIR(st.st_mode)) {
				errno = ENOTDIR;
				return -1;
			}
			*p = c;
			if (!c)
				return 0;
		}
	}
}

/* Writes one file with `fn`; reports failures. 0 or an exit code. */
static int write_file(const char *path, lua_State *L, const struct oam_module *m, struct oam_module *const *mods,
		      size_t n)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		oam_errorf("cannot write '%s': %s", path, strerror(errno));
		return OAM_EXIT_SYSTEM;
	}
	if (m)
		oam_docs_write_module(f, m, L, 1);
	else
		write_index(f, mods, n, 0);
	int bad = ferror(f);
	if (fclose(f) != 0 || bad) {
		oam_errorf("cannot write '%s': %s", path, strerror(errno ? errno : EIO));
		return OAM_EXIT_SYSTEM;
	}
	return 0;
}

static int write_tree(const char *dir, lua_State *L, struct oam_module *const *mods, size_t n)
{
	char path[4096];
	const char *const subs[] = { "workloads", "traits" };
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, subs[i]);
		if (make_dirs(path) < 0) {
			oam_errorf("cannot create directory '%s': %s", path, strerror(errno));
			return OAM_EXIT_SYSTEM;
		}
	}
	int rc;
	snprintf(path, sizeof path, "%s/README.md", dir);
	if ((rc = write_file(path, L, NULL, mods, n)))
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (snprintf(path, sizeof path, "%s/%s/%s.md", dir, mods[i]->kind == OAM_MOD_TRAIT ? "traits" : "workloads",
			     mods[i]->name) >= (int)sizeof path) {
			oam_errorf("path too long for module '%s'", mods[i]->name);
			return OAM_EXIT_SYSTEM;
		}
		if ((rc = write_file(path, L, mods[i], mods, n)))
			return rc;
	}
	return 0;
}

/* ---- the command ---- */

static const struct option docs_opts[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ "module-path", required_argument, NULL, OPT_MODULE_PATH },
	{ NULL, 0, NULL, 0 }
};

int cmd_docs(int argc, char **argv)
{
	struct oam_opts o = { 0 };
	struct oam_session s;
	const char *dir = NULL;
	struct oam_module **mods = NULL;
	int c, rc;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:h", docs_opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage_text, stdout);
			return oam_finish_stdout();
		}
		if (c == '?' || c == ':')
			oam_die_usage("docs", c == ':' ? "option '%s' needs a value" : "unknown option '%s'", argv[optind - 1]);
		if (c == 'o')
			dir = optarg;
		else
			oam_cli_common_opt("docs", c, optarg, &o);
	}
	if (optind < argc)
		oam_die_usage("docs", "unexpected argument '%s'", argv[optind]);
	if (dir && !*dir)
		oam_die_usage("docs", "-o needs a directory");
	if ((rc = oam_session_start(&s, &o)))
		goto out;
	oam_registry_load_all(&s.reg);
	oam_session_report(&s);   /* warnings from module loading */
	mods = malloc((s.reg.n + 1) * sizeof *mods);
	if (!mods) {
		oam_errorf("out of memory");
		rc = OAM_EXIT_SYSTEM;
		goto out;
	}
	memcpy(mods, s.reg.mods, s.reg.n * sizeof *mods);
	if (s.reg.n)
		qsort(mods, s.reg.n, sizeof *mods, cmp_mod);
	if (dir) {
		rc = write_tree(dir, s.lua.L, mods, s.reg.n);
		goto out;
	}
	write_index(stdout, mods, s.reg.n, 1);
	for (size_t i = 0; i < s.reg.n; i++) {
		fputs("---\n\n", stdout);
		oam_docs_write_module(stdout, mods[i], s.lua.L, 2);
	}
	rc = oam_finish_stdout();
out:
	free(mods);
	oam_session_end(&s);
	return rc;
}
