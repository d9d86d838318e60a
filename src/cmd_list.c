/* cmd_list.c — `oamlua traits`, `oamlua workloads`, `oamlua explain`:
 * what the loaded modules offer, generated from their tables and schemas. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "oamlua/cli.h"
#include "oamlua/pack.h"

static const struct option list_opts[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ "module-path", required_argument, NULL, OPT_MODULE_PATH },
	{ "target", required_argument, NULL, OPT_TARGET },
	{ "context", required_argument, NULL, 'C' },
	{ "kubeconfig", required_argument, NULL, 'K' },
	{ NULL, 0, NULL, 0 }
};

/* traits/workloads --context: mark what the cluster serves of what each
 * module's trait pack requires. */
static const char *list_context, *list_kubeconfig;

static void parse_list(const char *cmd, const char *usage, int argc, char **argv, struct oam_opts *o, int want_arg)
{
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:h", list_opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage, stdout);
			exit(oam_finish_stdout());
		}
		if (c == '?' || c == ':')
			oam_die_usage(cmd, c == ':' ? "option '%s' needs a value" : "unknown option '%s'", argv[optind - 1]);
		if (c == 'C' || c == 'K') {
			if (want_arg)
				oam_die_usage(cmd, "unknown option '%s'", argv[optind - 2]);
			*(c == 'C' ? &list_context : &list_kubeconfig) = optarg;
			continue;
		}
		oam_cli_common_opt(cmd, c, optarg, o);
	}
	if (o->output && strcmp(o->output, "json") && strcmp(o->output, "wide") && strcmp(o->output, "table"))
		oam_die_usage(cmd, "unknown output format '%s' (table, wide or json)", o->output);
	if (want_arg && optind != argc - 1)
		oam_die_usage(cmd, "expected exactly one name");
	if (!want_arg && optind < argc)
		oam_die_usage(cmd, "unexpected argument '%s'", argv[optind]);
}

static void join(char *buf, size_t size, const char *const *v, size_t n, const char *none)
{
	size_t l = 0;
	buf[0] = '\0';
	if (!n)
		snprintf(buf, size, "%s", none);
	for (size_t i = 0; i < n && l < size; i++)
		l += (size_t)snprintf(buf + l, size - l, "%s%s", i ? "," : "", v[i]);
}

static const char *rule_text(enum oam_rule r)
{
	return r == OAM_RULE_REQUIRED ? "required" : r == OAM_RULE_FORBIDDEN ? "forbidden" : "optional";
}

static int cmp_mod(const void *a, const void *b)
{
	return strcmp((*(struct oam_module *const *)a)->name, (*(struct oam_module *const *)b)->name);
}

static json_t *schema_json(const struct oam_schema *s);

static json_t *module_json(const struct oam_module *m)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "name", m->name, "kind",
			      m->kind == OAM_MOD_TRAIT ? "Trait" : "Workload", "version", m->version, "description",
			      m->description, "path", m->path, "origin", m->origin);
	if (!o)
		return NULL;
	if (m->type)
		json_object_set_new(o, "type", json_string(m->type));
	if (m->shadows)
		json_object_set_new(o, "shadows", json_string(m->shadows));
	if (m->kind == OAM_MOD_TRAIT) {
		json_t *a = json_array(), *c = json_array();
		for (size_t i = 0; i < m->napplies; i++)
			json_array_append_new(a, json_string(m->applies[i]));
		for (size_t i = 0; i < m->nconflicts; i++)
			json_array_append_new(c, json_string(m->conflicts[i]));
		json_object_set_new(o, "appliesToWorkloads", a);
		json_object_set_new(o, "conflictsWith", c);
	} else {
		json_object_set_new(o, "ports", json_string(rule_text(m->ports)));
		json_object_set_new(o, "containers", json_string(rule_text(m->containers)));
	}
	json_t *tg = json_array();
	for (size_t i = 0; i < m->ntargets; i++)
		json_array_append_new(tg, json_string(m->targets[i]));
	json_object_set_new(o, "targets", tg);
	json_object_set_new(o, "schema", schema_json(&m->schema));
	return o;
}

static json_t *schema_json(const struct oam_schema *s)
{
	json_t *o = json_pack("{s:s}", "type", oam_stype_name(s->type));
	if (s->description)
		json_object_set_new(o, "description", json_string(s->description));
	if (s->required)
		json_object_set_new(o, "required", json_true());
	if (s->def)
		json_object_set_new(o, "default", oam_node_to_json(s->def));
	if (s->enumv)
		json_object_set_new(o, "enum", oam_node_to_json(s->enumv));
	if (s->has_min)
		json_object_set_new(o, "min", json_real(s->min));
	if (s->has_max)
		json_object_set_new(o, "max", json_real(s->max));
	if (s->props) {
		json_t *p = json_object();
		for (size_t i = 0; i < s->nprops; i++)
			json_object_set_new(p, s->props[i].name, schema_json(&s->props[i]));
		json_object_set_new(o, "properties", p);
	}
	if (s->items)
		json_object_set_new(o, "items", schema_json(s->items));
	return o;
}

static int list(const char *cmd, enum oam_modkind kind, int argc, char **argv)
{
	static const char tusage[] =
		"usage: oamlua traits [-o table|wide|json] [--target T] [--module-path DIR]\n"
		"                     [--context NAME] [--kubeconfig FILE]\n"
		"\n"
		"Lists the trait modules on the search path: name, version, the workload types\n"
		"each applies to, the traits it conflicts with, and where it was loaded from\n"
		"(a module loaded later shadows one with the same name: '(shadows …)').\n"
		"Search path: built-ins, then $OAMLUA_PATH, then each --module-path.\n"
		"--target podman lists only what can run on that target.\n"
		"--context NAME adds a CLUSTER column: whether that cluster serves the APIs each\n"
		"trait pack module requires ('yes', 'MISSING <apiVersion> <Kind>', '-' for\n"
		"none), found by discovery with the kubeconfig's credentials.\n";
	static const char wusage[] =
		"usage: oamlua workloads [-o table|wide|json] [--target T] [--module-path DIR]\n"
		"                        [--context NAME] [--kubeconfig FILE]\n"
		"\n"
		"Lists the workload type modules on the search path: name, version, the\n"
		"workloadType each implements, its rules for ports and containers, and where\n"
		"it was loaded from. Search path: built-ins, then $OAMLUA_PATH, then each\n"
		"--module-path. --context NAME adds whether that cluster serves the APIs each\n"
		"pack module requires.\n";
	struct oam_opts o = { 0 };
	struct oam_session s;
	int rc;
	parse_list(cmd, kind == OAM_MOD_TRAIT ? tusage : wusage, argc, argv, &o, 0);
	if ((rc = oam_session_start(&s, &o)))
		goto out;
	oam_registry_load_all(&s.reg);
	oam_session_report(&s);   /* warnings from module loading */
	struct oam_module **mods = malloc((s.reg.n + 1) * sizeof *mods);
	size_t n = 0;
	for (size_t i = 0; mods && i < s.reg.n; i++)
		if (s.reg.mods[i]->kind == kind && (!o.target || oam_module_supports(s.reg.mods[i], o.target)))
			mods[n++] = s.reg.mods[i];
	if (n)
		qsort(mods, n, sizeof *mods, cmp_mod);
	if (o.output && !strcmp(o.output, "json")) {
		json_t *a = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, module_json(mods[i]));
		json_dumpf(a, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(a);
	} else {
		int wide = o.output && !strcmp(o.output, "wide");
		/* Column widths from the content, so long lists stay aligned. */
		int wn = 4, wv = 7, wa = 10, wc = 14;
		char (*ap)[512] = calloc(n ? n : 1, sizeof *ap), (*cp)[512] = calloc(n ? n : 1, sizeof *cp);
		for (size_t i = 0; ap && cp && i < n; i++) {
			struct oam_module *m = mods[i];
			if (kind == OAM_MOD_TRAIT) {
				join(ap[i], sizeof ap[i], m->applies, m->napplies, "*");
				join(cp[i], sizeof cp[i], m->conflicts, m->nconflicts, "-");
			} else {
				snprintf(ap[i], sizeof ap[i], "%s", m->type ? m->type : m->name);
				snprintf(cp[i], sizeof cp[i], "%s", rule_text(m->ports));
			}
			wn = (int)strlen(m->name) > wn ? (int)strlen(m->name) : wn;
			wv = (int)strlen(m->version) > wv ? (int)strlen(m->version) : wv;
			wa = (int)strlen(ap[i]) > wa ? (int)strlen(ap[i]) : wa;
			wc = (int)strlen(cp[i]) > wc ? (int)strlen(cp[i]) : wc;
		}
		/* --context: whether the cluster serves what each module requires. */
		struct oam_pack_cluster cl;
		struct oam_apiset set;
		char (*sv)[256] = calloc(n ? n : 1, sizeof *sv);
		memset(&cl, 0, sizeof cl);
		memset(&set, 0, sizeof set);
		if (list_context) {
			if (!sv || oam_pack_cluster_open(&cl, list_kubeconfig, list_context, o.verbose, &s.diags) < 0) {
				oam_session_report(&s);
				oam_pack_cluster_close(&cl);
				free(sv);
				free(ap);
				free(cp);
				free(mods);
				rc = s.diags.exit_code ? s.diags.exit_code : OAM_EXIT_CLUSTER;
				goto out;
			}
			set.k = &cl.k;
			for (size_t i = 0; i < n; i++) {
				const struct oam_modcaps *c = mods[i]->caps;
				snprintf(sv[i], sizeof sv[i], "%s", c && c->nrequires ? "yes" : "-");
				for (size_t j = 0; c && j < c->nrequires; j++) {
					int r = oam_apiset_serves(&set, &c->requires[j], &s.diags);
					if (r <= 0)
						snprintf(sv[i], sizeof sv[i], "%s %s %s", r < 0 ? "?" : "MISSING",
							 c->requires[j].api_version,
							 c->requires[j].kind ? c->requires[j].kind : c->requires[j].resource);
					if (r <= 0)
						break;
				}
			}
			oam_apiset_release(&set);
			oam_pack_cluster_close(&cl);
			oam_session_report(&s);
		}
		if (list_context)
			printf("%-*s  %-*s  %-*s  %-*s  %-*s  %s\n", wn, "NAME", wv, "VERSION", wa,
			       kind == OAM_MOD_TRAIT ? "APPLIES-TO" : "TYPE", wc, kind == OAM_MOD_TRAIT ? "CONFLICTS-WITH" : "PORTS",
			       40, "CLUSTER", "SOURCE");
		else
		printf("%-*s  %-*s  %-*s  %-*s  %s\n", wn, "NAME", wv, "VERSION", wa, kind == OAM_MOD_TRAIT ? "APPLIES-TO" : "TYPE",
		       wc, kind == OAM_MOD_TRAIT ? "CONFLICTS-WITH" : "PORTS", wide ? "SOURCE / DESCRIPTION" : "SOURCE");
		for (size_t i = 0; ap && cp && i < n; i++) {
			struct oam_module *m = mods[i];
			char src[1024];
			if (m->shadows)
				snprintf(src, sizeof src, "%s (shadows %s)", m->path, m->shadows);
			else
				snprintf(src, sizeof src, "%s", m->builtin ? "builtin" : m->path);
			if (list_context)
				printf("%-*s  %-*s  %-*s  %-*s  %-*s  %s\n", wn, m->name, wv, m->version, wa, ap[i], wc, cp[i], 40,
				       sv[i], src);
			else
			printf("%-*s  %-*s  %-*s  %-*s  %s\n", wn, m->name, wv, m->version, wa, ap[i], wc, cp[i], src);
			if (wide)
				printf("    %s\n", m->description);
		}
		free(ap);
		free(cp);
		free(sv);
	}
	free(mods);
	rc = oam_finish_stdout();
out:
	oam_session_end(&s);
	return rc;
}

int cmd_traits(int argc, char **argv)
{
	return list("traits", OAM_MOD_TRAIT, argc, argv);
}

int cmd_workloads(int argc, char **argv)
{
	return list("workloads", OAM_MOD_WORKLOAD, argc, argv);
}

static void explain_props(const struct oam_schema *s, const char *prefix, int depth)
{
	for (size_t i = 0; i < s->nprops; i++) {
		const struct oam_schema *p = &s->props[i];
		char tt[256], def[128] = "";
		oam_schema_typetext(p, tt, sizeof tt);
		if (p->def) {
			char b[100];
			oam_node_brief(p->def, b, sizeof b);
			snprintf(def, sizeof def, "  default: %s", b);
		}
		printf("  %*s%s%s%s  <%s>%s%s\n", depth * 2, "", prefix, p->name, p->required && !p->def ? " (required)" : "",
		       tt, def, "");
		if (p->description)
			printf("  %*s    %s\n", depth * 2, "", p->description);
		if (p->props) {
			char sub[256];
			snprintf(sub, sizeof sub, "%s%s.", prefix, p->name);
			explain_props(p, sub, depth + 1);
		}
		if (p->items && p->items->props) {
			char sub[256];
			snprintf(sub, sizeof sub, "%s%s[].", prefix, p->name);
			explain_props(p->items, sub, depth + 1);
		}
	}
}

int cmd_explain(int argc, char **argv)
{
	static const char usage[] =
		"usage: oamlua explain NAME [-o json] [--module-path DIR]\n"
		"\n"
		"Describes a trait or workload type: what it does, where it applies, what it\n"
		"conflicts with, and each property (or workload setting) with its type,\n"
		"whether it is required, its default and its description, generated from the\n"
		"module's schema.\n";
	struct oam_opts o = { 0 };
	struct oam_session s;
	int rc;
	parse_list("explain", usage, argc, argv, &o, 1);
	const char *name = argv[optind];
	if ((rc = oam_session_start(&s, &o)))
		goto out;
	struct oam_module *m = oam_registry_find(&s.reg, OAM_MOD_TRAIT, name);
	if (!m)
		m = oam_registry_workload(&s.reg, name);
	if (!m) {
		const char *names[256];
		size_t n = oam_registry_names(&s.reg, OAM_MOD_TRAIT, names, 128);
		n += oam_registry_names(&s.reg, OAM_MOD_WORKLOAD, names + n, 128);
		const char *close = oam_closest(name, names, n);
		oam_errorf("no trait or workload type named '%s'", name);
		if (close)
			fprintf(stderr, "  hint: did you mean '%s'?\n", close);
		else
			fprintf(stderr, "  hint: 'oamlua traits' and 'oamlua workloads' list what is available\n");
		rc = OAM_EXIT_INVALID;
		goto out;
	}
	if (o.output && !strcmp(o.output, "json")) {
		json_t *j = module_json(m);
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(j);
		rc = oam_finish_stdout();
		goto out;
	}
	printf("%s: %s %s (%s)\n", m->kind == OAM_MOD_TRAIT ? "TRAIT" : "WORKLOAD TYPE", m->name, m->version,
	       m->builtin ? "builtin" : m->path);
	printf("\n  %s\n\n", m->description);
	if (m->kind == OAM_MOD_TRAIT) {
		char a[512], c[512];
		join(a, sizeof a, m->applies, m->napplies, "*");
		join(c, sizeof c, m->conflicts, m->nconflicts, "(none)");
		char tg[128];
		join(tg, sizeof tg, m->targets, m->ntargets, "kubernetes");
		printf("APPLIES TO:     %s\nCONFLICTS WITH: %s\nTARGETS:        %s\n\nPROPERTIES:\n", a, c, tg);
	} else {
		printf("TYPE:       %s\nPORTS:      %s\nCONTAINERS: %s\n\nWORKLOAD SETTINGS:\n", m->type ? m->type : m->name,
		       rule_text(m->ports), rule_text(m->containers));
	}
	if (!m->schema.nprops)
		printf("  (none)\n");
	explain_props(&m->schema, "", 0);
	rc = oam_finish_stdout();
out:
	oam_session_end(&s);
	return rc;
}
