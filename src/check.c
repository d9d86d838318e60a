/* check.c — admission checks over the whole model, before any rendering. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>

#include "oamlua/check.h"
#include "oamlua/lconv.h"

#define MAXNAMES 256

/* ---- suggestions ---- */

static void squash(const char *in, char *out, size_t size)
{
	size_t j = 0;
	for (; *in && j + 1 < size; in++)
		if (isalnum((unsigned char)*in))
			out[j++] = (char)tolower((unsigned char)*in);
	out[j] = '\0';
}

/* Closest known name, also matching across case and punctuation
 * ("ManualScaler" → "manual-scaler"). */
static const char *suggest(const char *word, const char *const *names, size_t n)
{
	char a[128], b[128];
	squash(word, a, sizeof a);
	for (size_t i = 0; i < n; i++) {
		squash(names[i], b, sizeof b);
		if (!strcmp(a, b) || (strlen(a) > strlen(b) && !strncmp(a, b, strlen(b)) && strstr(word, ".oam.dev")))
			return names[i];
	}
	return oam_closest(word, names, n);
}

static void list_text(const char *const *names, size_t n, char *buf, size_t size)
{
	size_t l = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && l < size; i++)
		l += (size_t)snprintf(buf + l, size - l, "%s%s", i ? ", " : "", names[i]);
}

/* ---- variables ---- */

struct vars {
	const struct oam_node *seq;     /* the app's variables, or NULL */
	struct oam_arena *a;
	struct oam_diags *d;
	int errors;
};

static const struct oam_node *var_lookup(const struct vars *v, const char *name, size_t len)
{
	for (size_t i = 0; v->seq && i < v->seq->u.seq.n; i++) {
		const struct oam_node *e = v->seq->u.seq.items[i];
		const char *n = oam_str(oam_map_get(e, "name"));
		if (n && strlen(n) == len && !memcmp(n, name, len))
			return oam_map_get(e, "value");
	}
	return NULL;
}

static void unknown_var(struct vars *v, const struct oam_node *at, const char *name, size_t len)
{
	const char *names[MAXNAMES];
	size_t n = 0;
	char want[128];
	snprintf(want, sizeof want, "%.*s", (int)len, name);
	for (size_t i = 0; v->seq && i < v->seq->u.seq.n && n < MAXNAMES; i++) {
		const char *nm = oam_str(oam_map_get(v->seq->u.seq.items[i], "name"));
		if (nm)
			names[n++] = nm;
	}
	struct oam_err *e = oam_diag(v->d, OAM_SEV_ERROR, "OAM305", at, "unknown variable '%s'", want);
	const char *close = oam_closest(want, names, n);
	if (close)
		oam_diag_hint(e, "did you mean '%s'?", close);
	else if (n) {
		char list[300];
		list_text(names, n, list, sizeof list);
		oam_diag_hint(e, "variables of this configuration: %s", list);
	} else
		oam_diag_hint(e, "declare it under spec.variables of the ApplicationConfiguration");
	v->errors++;
}

#define VAR_OPEN "[fromVariable("

/* Substitutes [fromVariable(NAME)] in strings, recursively. A string that is
 * exactly one reference takes the variable's value and type; references
 * embedded in longer strings are replaced by the value's text. Returns the
 * node itself when nothing changed (copy on write). */
static const struct oam_node *subst(struct vars *v, const struct oam_node *n)
{
	if (!n)
		return NULL;
	if (n->type == OAM_STR) {
		const char *s = n->u.str.s;
		const char *p = strstr(s, VAR_OPEN);
		if (!p)
			return n;
		/* Whole string: the typed value. */
		size_t len = n->u.str.len;
		if (p == s && len > sizeof VAR_OPEN + 1 && !strcmp(s + len - 2, ")]") &&
		    !memchr(s + sizeof VAR_OPEN - 1, ')', len - sizeof VAR_OPEN - 1)) {
			const char *name = s + sizeof VAR_OPEN - 1;
			size_t nl = len - (sizeof VAR_OPEN - 1) - 2;
			const struct oam_node *val = var_lookup(v, name, nl);
			if (!val) {
				unknown_var(v, n, name, nl);
				return n;
			}
			struct oam_node *c = oam_node_new(v->a, val->type, n);
			if (!c)
				return n;
			c->u = val->u;
			return c;
		}
		/* Embedded references: textual substitution. */
		size_t cap = len + 64, out = 0;
		char *buf = malloc(cap);
		const char *q = s;
		if (!buf)
			return n;
		while ((p = strstr(q, VAR_OPEN))) {
			const char *name = p + sizeof VAR_OPEN - 1;
			const char *close = strstr(name, ")]");
			if (!close)
				break;
			const struct oam_node *val = var_lookup(v, name, (size_t)(close - name));
			const char *text = "";
			if (!val)
				unknown_var(v, n, name, (size_t)(close - name));
			else
				text = oam_node_text(v->a, val);
			size_t need = out + (size_t)(p - q) + strlen(text ? text : "") + 1;
			if (need > cap) {
				char *nb = realloc(buf, cap = need * 2);
				if (!nb) {
					free(buf);
					return n;
				}
				buf = nb;
			}
			memcpy(buf + out, q, (size_t)(p - q));
			out += (size_t)(p - q);
			memcpy(buf + out, text ? text : "", strlen(text ? text : ""));
			out += strlen(text ? text : "");
			q = close + 2;
		}
		size_t rest = strlen(q);
		if (out + rest + 1 > cap) {
			char *nb = realloc(buf, out + rest + 1);
			if (!nb) {
				free(buf);
				return n;
			}
			buf = nb;
		}
		memcpy(buf + out, q, rest);
		out += rest;
		struct oam_node *c = oam_node_str(v->a, buf, out, n);
		free(buf);
		return c ? c : n;
	}
	if (n->type == OAM_MAP) {
		struct oam_pair *items = NULL;
		for (size_t i = 0; i < n->u.map.n; i++) {
			const struct oam_node *nv = subst(v, n->u.map.items[i].val);
			if (nv == n->u.map.items[i].val)
				continue;
			if (!items) {
				items = oam_arena_alloc(v->a, n->u.map.n * sizeof *items);
				if (!items)
					return n;
				memcpy(items, n->u.map.items, n->u.map.n * sizeof *items);
			}
			items[i].val = (struct oam_node *)nv;
		}
		if (!items)
			return n;
		struct oam_node *c = oam_node_new(v->a, OAM_MAP, n);
		if (!c)
			return n;
		c->u.map.items = items;
		c->u.map.n = n->u.map.n;
		return c;
	}
	if (n->type == OAM_SEQ) {
		struct oam_node **items = NULL;
		for (size_t i = 0; i < n->u.seq.n; i++) {
			const struct oam_node *nv = subst(v, n->u.seq.items[i]);
			if (nv == n->u.seq.items[i])
				continue;
			if (!items) {
				items = oam_arena_alloc(v->a, n->u.seq.n * sizeof *items);
				if (!items)
					return n;
				memcpy(items, n->u.seq.items, n->u.seq.n * sizeof *items);
			}
			items[i] = (struct oam_node *)nv;
		}
		if (!items)
			return n;
		struct oam_node *c = oam_node_new(v->a, OAM_SEQ, n);
		if (!c)
			return n;
		c->u.seq.items = items;
		c->u.seq.n = n->u.seq.n;
		return c;
	}
	return n;
}

/* ---- components ---- */

static const struct oam_param *find_param(const struct oam_component *c, const char *name)
{
	for (size_t i = 0; i < c->nparams; i++)
		if (!strcmp(c->params[i].name, name))
			return &c->params[i];
	return NULL;
}

static int is_iana_svc_name(const char *s)
{
	size_t n = strlen(s);
	int letter = 0;
	if (n < 1 || n > 15 || s[0] == '-' || s[n - 1] == '-' || strstr(s, "--"))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] >= 'a' && s[i] <= 'z')
			letter = 1;
		else if (!(s[i] >= '0' && s[i] <= '9') && s[i] != '-')
			return 0;
	}
	return letter;
}

/* Does value node v fit an OAM parameter type? Strings are accepted for
 * numbers and booleans (the spec's parameter values are strings); the
 * converted node is returned through *out. */
static int param_type_ok(struct oam_arena *a, const char *type, const struct oam_node *v, const struct oam_node **out)
{
	*out = v;
	if (!type || v->type == OAM_NULL)
		return 1;
	if (!strcmp(type, "string"))
		return v->type == OAM_STR;
	if (!strcmp(type, "boolean")) {
		if (v->type == OAM_BOOL)
			return 1;
		if (v->type == OAM_STR && (!strcmp(v->u.str.s, "true") || !strcmp(v->u.str.s, "false"))) {
			struct oam_node *c = oam_node_new(a, OAM_BOOL, v);
			if (c)
				c->u.b = v->u.str.s[0] == 't', *out = c;
			return 1;
		}
		return 0;
	}
	if (!strcmp(type, "number") || !strcmp(type, "integer")) {
		int want_int = type[0] == 'i';
		if (v->type == OAM_INT || (!want_int && v->type == OAM_FLOAT))
			return 1;
		if (v->type == OAM_STR) {
			long long i;
			double f;
			int b;
			enum oam_ntype t = oam_resolve_plain(v->u.str.s, v->u.str.len, &i, &f, &b);
			if (t == OAM_INT || (t == OAM_FLOAT && !want_int)) {
				struct oam_node *c = oam_node_new(a, t, v);
				if (c) {
					if (t == OAM_INT)
						c->u.i = i;
					else
						c->u.f = f;
					*out = c;
				}
				return 1;
			}
		}
		return 0;
	}
	if (!strcmp(type, "object"))
		return v->type == OAM_MAP;
	if (!strcmp(type, "array"))
		return v->type == OAM_SEQ;
	if (!strcmp(type, "null"))
		return v->type == OAM_NULL;
	return 1;
}

static void type_error(struct oam_diags *d, const struct oam_node *v, const char *owner, const char *what,
		       const char *name, const char *type)
{
	char got[64];
	oam_node_brief(v, got, sizeof got);
	struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, "OAM402", v, "%s: %s '%s' must be %s %s, got %s (%s)", owner, what,
				     name, type[0] == 'i' || type[0] == 'a' || type[0] == 'o' ? "an" : "a", type, got,
				     oam_ntype_name(v->type));
	if (!strcmp(type, "string") && v->type != OAM_MAP && v->type != OAM_SEQ)
		oam_diag_hint(e, "quote it to pass a string: \"%s\"", got[0] == '"' ? "" : got);
}

static void check_value_source(struct oam_diags *d, const struct oam_component *c, const char *owner,
			       const struct oam_node *entry, const char *what, const char *name)
{
	const struct oam_node *val = oam_map_get(entry, "value"), *fp = oam_map_get(entry, "fromParam");
	if ((!val || val->type == OAM_NULL) && !oam_str(fp)) {
		struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, "OAM406", entry, "%s: %s '%s' has neither 'value' nor 'fromParam'",
					     owner, what, name);
		oam_diag_hint(e, "give it a value, or fromParam: the name of a parameter");
		return;
	}
	if (oam_str(fp) && !find_param(c, oam_str(fp))) {
		const char *names[MAXNAMES];
		size_t n = 0;
		for (size_t i = 0; i < c->nparams && n < MAXNAMES; i++)
			names[n++] = c->params[i].name;
		struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, "OAM406", fp, "%s: %s '%s' takes fromParam '%s', which is not a parameter of the component",
					     owner, what, name, oam_str(fp));
		const char *close = oam_closest(oam_str(fp), names, n);
		if (close)
			oam_diag_hint(e, "did you mean '%s'?", close);
		else
			oam_diag_hint(e, "declare it under spec.parameters");
	}
}

static void check_probe(struct oam_diags *d, const char *owner, const struct oam_node *probe, const char *path)
{
	int handlers = 0;
	if (!probe || probe->type != OAM_MAP)
		return;
	handlers += oam_map_get(probe, "exec") != NULL;
	handlers += oam_map_get(probe, "httpGet") != NULL;
	handlers += oam_map_get(probe, "tcpSocket") != NULL;
	if (handlers != 1) {
		struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, "OAM414", probe, "%s: %s must have exactly one of exec, httpGet, tcpSocket (it has %d)",
					     owner, path, handlers);
		oam_diag_hint(e, "the OAM spec makes the probe handlers mutually exclusive");
	}
}

static void check_container(struct oam_diags *d, const struct oam_component *c, const char *owner,
			    const struct oam_node *ct, size_t idx)
{
	const char *cname = oam_str(oam_map_get(ct, "name"));
	char what[160], path[96];
	if (!cname)
		return;
	if (!oam_is_dns_label(cname)) {
		struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, "OAM206", oam_map_get(ct, "name"),
					     "%s: container name '%s' is not a valid DNS-1123 label", owner, cname);
		oam_diag_hint(e, "use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit");
	}
	const struct oam_node *env = oam_map_get(ct, "env");
	for (size_t i = 0; env && env->type == OAM_SEQ && i < env->u.seq.n; i++) {
		const struct oam_node *e = env->u.seq.items[i];
		const char *en = oam_str(oam_map_get(e, "name"));
		if (!en)
			continue;
		snprintf(what, sizeof what, "container '%s': env", cname);
		check_value_source(d, c, owner, e, what, en);
		for (size_t j = 0; j < i; j++)
			if (oam_str(oam_map_get(env->u.seq.items[j], "name")) &&
			    !strcmp(oam_str(oam_map_get(env->u.seq.items[j], "name")), en)) {
				oam_diag(d, OAM_SEV_ERROR, "OAM207", oam_map_get(e, "name"),
					 "%s: container '%s' sets env '%s' twice (first at line %u)", owner, cname, en,
					 env->u.seq.items[j]->line);
				break;
			}
	}
	const struct oam_node *cfg = oam_map_get(ct, "config");
	for (size_t i = 0; cfg && cfg->type == OAM_SEQ && i < cfg->u.seq.n; i++) {
		const struct oam_node *e = cfg->u.seq.items[i];
		const char *p = oam_str(oam_map_get(e, "path"));
		if (!p)
			continue;
		snprintf(what, sizeof what, "container '%s': config file", cname);
		check_value_source(d, c, owner, e, what, p);
		for (size_t j = 0; j < i; j++)
			if (oam_str(oam_map_get(cfg->u.seq.items[j], "path")) &&
			    !strcmp(oam_str(oam_map_get(cfg->u.seq.items[j], "path")), p)) {
				oam_diag(d, OAM_SEV_ERROR, "OAM207", oam_map_get(e, "path"),
					 "%s: container '%s' declares config file '%s' twice", owner, cname, p);
				break;
			}
	}
	const struct oam_node *ports = oam_map_get(ct, "ports");
	for (size_t i = 0; ports && ports->type == OAM_SEQ && i < ports->u.seq.n; i++) {
		const struct oam_node *p = ports->u.seq.items[i];
		const char *pn = oam_str(oam_map_get(p, "name"));
		const struct oam_node *cp = oam_map_get(p, "containerPort");
		if (pn && !is_iana_svc_name(pn)) {
			struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, "OAM206", oam_map_get(p, "name"),
						     "%s: port name '%s' is not valid", owner, pn);
			oam_diag_hint(e, "use at most 15 lowercase letters, digits and '-', with at least one letter");
		}
		if (cp && cp->type == OAM_INT && (cp->u.i < 1 || cp->u.i > 65535))
			oam_diag(d, OAM_SEV_ERROR, "OAM403", cp, "%s: containerPort %lld is out of range 1..65535", owner, cp->u.i);
		for (size_t j = 0; j < i; j++) {
			const struct oam_node *q = ports->u.seq.items[j];
			const struct oam_node *qp = oam_map_get(q, "containerPort");
			if (cp && qp && cp->type == OAM_INT && qp->type == OAM_INT && cp->u.i == qp->u.i) {
				oam_diag(d, OAM_SEV_ERROR, "OAM207", cp, "%s: container '%s' declares port %lld twice", owner,
					 cname, cp->u.i);
				break;
			}
		}
	}
	snprintf(path, sizeof path, "containers[%zu].livenessProbe", idx);
	check_probe(d, owner, oam_map_get(ct, "livenessProbe"), path);
	snprintf(path, sizeof path, "containers[%zu].readinessProbe", idx);
	check_probe(d, owner, oam_map_get(ct, "readinessProbe"), path);
}

static void unknown_workload(struct oam_run *run, struct oam_component *c, struct oam_diags *d, const char *owner)
{
	const char *names[MAXNAMES];
	size_t n = oam_registry_names(run->reg, OAM_MOD_WORKLOAD, names, MAXNAMES);
	struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, "OAM301", c->wtype_at, "%s: unknown workload type '%s'", owner,
				     c->wtype);
	/* "core.oam.dev/v1.SingletonServer": right kind, wrong group or version. */
	const char *dot = strrchr(c->wtype, '.');
	struct oam_module *m = dot ? oam_registry_workload(run->reg, dot + 1) : NULL;
	const char *close = suggest(c->wtype, names, n);
	char list[400];
	list_text(names, n, list, sizeof list);
	if (m && m->type)
		oam_diag_hint(e, "did you mean '%s'?", m->type);
	else if (close)
		oam_diag_hint(e, "did you mean '%s'?", close);
	else
		oam_diag_hint(e, "known workload types: %s; a new type is a workload module (see 'oamlua workloads')", list);
}

static void check_settings(struct oam_run *run, struct oam_component *c, struct oam_diags *d, const char *owner)
{
	const struct oam_module *m = c->workload;
	const struct oam_node *s = c->settings;
	for (size_t i = 0; s && i < s->u.seq.n; i++) {
		const struct oam_node *e = s->u.seq.items[i];
		const char *n = oam_str(oam_map_get(e, "name"));
		if (!n)
			continue;
		check_value_source(d, c, owner, e, "workload setting", n);
		if (!m->schema.open && !oam_schema_prop(&m->schema, n)) {
			const char *names[64];
			size_t nn = 0;
			for (size_t j = 0; j < m->schema.nprops && nn < 64; j++)
				names[nn++] = m->schema.props[j].name;
			struct oam_err *x = oam_diag(d, OAM_SEV_ERROR, "OAM404", oam_map_get(e, "name"),
						     "%s: workload type '%s' has no setting '%s'", owner, m->name, n);
			const char *close = oam_closest(n, names, nn);
			char list[300];
			list_text(names, nn, list, sizeof list);
			if (close)
				oam_diag_hint(x, "did you mean '%s'?", close);
			else
				oam_diag_hint(x, nn ? "its settings: %s" : "it takes no workload settings%s", list);
		}
	}
	/* Required settings without a default. */
	for (size_t j = 0; j < m->schema.nprops; j++) {
		const struct oam_schema *p = &m->schema.props[j];
		int found = 0;
		for (size_t i = 0; s && i < s->u.seq.n && !found; i++)
			found = oam_str(oam_map_get(s->u.seq.items[i], "name")) &&
				!strcmp(oam_str(oam_map_get(s->u.seq.items[i], "name")), p->name);
		if (p->required && !p->def && !found)
			oam_diag(d, OAM_SEV_ERROR, "OAM401", c->spec, "%s: workload type '%s' needs the workload setting '%s'",
				 owner, m->name, p->name);
	}
	(void)run;
}

static void check_component(struct oam_run *run, struct oam_component *c, struct oam_diags *d)
{
	char owner[300];
	size_t before = d->nerrors;
	snprintf(owner, sizeof owner, "ComponentSchematic '%s'", c->name);
	if (!oam_is_dns_subdomain(c->name)) {
		struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, "OAM206", c->name_at, "%s: name is not a valid DNS-1123 subdomain",
					     owner);
		oam_diag_hint(e, "use lowercase letters, digits, '-' and '.'");
	}
	if (!c->wtype) {
		c->ok = 0;
		return;
	}
	c->workload = oam_registry_workload(run->reg, c->wtype);
	if (!c->workload) {
		unknown_workload(run, c, d, owner);
		c->ok = 0;
		return;
	}
	const struct oam_module *m = c->workload;
	size_t ncont = c->containers ? c->containers->u.seq.n : 0;
	if (run->target && !oam_module_supports(m, run->target)) {
		struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, "OAM306", c->wtype_at,
					     "%s: workload type '%s' cannot run on target '%s'", owner, m->name, run->target);
		oam_diag_hint(e, "its module declares targets it renders for; 'oamlua workloads' lists them");
	}
	if (m->containers == OAM_RULE_REQUIRED && !ncont) {
		struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, "OAM412", c->containers ? c->containers : c->spec,
					     "%s: workload type '%s' needs at least one container", owner, m->name);
		oam_diag_hint(e, "add spec.containers with a name and an image");
	}
	if (m->ports == OAM_RULE_REQUIRED && ncont && !c->nports) {
		struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, "OAM411", c->wtype_at,
					     "%s: workload type '%s' serves traffic but no container declares a port", owner, m->name);
		oam_diag_hint(e, "add ports to a container, or use a Worker type for a component that serves nothing");
	}
	if (m->ports == OAM_RULE_FORBIDDEN && c->nports) {
		for (size_t i = 0; i < ncont; i++) {
			const struct oam_node *ct = c->containers->u.seq.items[i];
			const struct oam_node *ports = oam_map_get(ct, "ports");
			if (ports && ports->type == OAM_SEQ && ports->u.seq.n) {
				struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, "OAM411", ports,
							     "%s: container '%s' declares ports, but workload type '%s' serves no traffic",
							     owner, oam_str(oam_map_get(ct, "name")) ? oam_str(oam_map_get(ct, "name")) : "?",
							     m->name);
				oam_diag_hint(e, "remove the ports, or use a Server type");
				break;
			}
		}
	}
	/* Names unique: containers, and port names across the component's Service. */
	for (size_t i = 0; i < ncont; i++) {
		const struct oam_node *ct = c->containers->u.seq.items[i];
		const char *cn = oam_str(oam_map_get(ct, "name"));
		for (size_t j = 0; cn && j < i; j++) {
			const char *o = oam_str(oam_map_get(c->containers->u.seq.items[j], "name"));
			if (o && !strcmp(o, cn)) {
				oam_diag(d, OAM_SEV_ERROR, "OAM207", oam_map_get(ct, "name"),
					 "%s: two containers are named '%s' (first at line %u)", owner, cn,
					 c->containers->u.seq.items[j]->line);
				break;
			}
		}
		check_container(d, c, owner, ct, i);
	}
	/* Parameters. */
	for (size_t i = 0; i < c->nparams; i++) {
		const struct oam_param *p = &c->params[i];
		for (size_t j = 0; j < i; j++)
			if (!strcmp(c->params[j].name, p->name)) {
				oam_diag(d, OAM_SEV_ERROR, "OAM207", p->at, "%s: parameter '%s' is declared twice", owner, p->name);
				break;
			}
		const struct oam_node *conv;
		if (p->def && p->type && !param_type_ok(run->model->arena, p->type, p->def, &conv))
			type_error(d, p->def, owner, "the default of parameter", p->name, p->type);
	}
	check_settings(run, c, d, owner);
	/* A component whose document already had shape errors stays not ok: its
	 * instances' trait hooks would only report the same mistake again. */
	c->ok = c->ok && d->nerrors == before;
}

/* ---- applications ---- */

static int is_label_value(const char *s)
{
	size_t n = strlen(s);
	if (n > 63)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		int alnum = isalnum((unsigned char)ch);
		if (!alnum && !((ch == '-' || ch == '_' || ch == '.') && i > 0 && i < n - 1))
			return 0;
	}
	return 1;
}

static const char *const scope_types[] = {
	"core.oam.dev/v1alpha1.HealthScope", "core.oam.dev/v1alpha1.NetworkScope", "core.oam.dev/v1alpha1.Health",
	"core.oam.dev/v1alpha1.Network", "HealthScope", "NetworkScope", NULL
};

static const struct oam_scope *find_scope(struct oam_model *m, const char *name)
{
	for (size_t i = 0; i < m->napps; i++)
		for (size_t j = 0; j < m->apps[i]->nscopes; j++)
			if (!strcmp(m->apps[i]->scopes[j].name, name))
				return &m->apps[i]->scopes[j];
	return NULL;
}

static void check_params(struct oam_run *run, struct oam_instance *in, struct vars *vars, struct oam_diags *d,
			 const char *owner)
{
	struct oam_component *c = in->comp;
	in->pvals = oam_arena_alloc(run->model->arena, (c->nparams + 1) * sizeof *in->pvals);
	/* Parameters given a value of the wrong type: already reported, so not
	 * "missing" too (one mistake, one finding). */
	unsigned char *rejected = oam_arena_alloc(run->model->arena, c->nparams + 1);
	if (!in->pvals || !rejected)
		return;
	const struct oam_node *pv = in->param_values;
	for (size_t i = 0; pv && i < pv->u.seq.n; i++) {
		const struct oam_node *e = pv->u.seq.items[i];
		const char *name = oam_str(oam_map_get(e, "name"));
		const struct oam_node *val = oam_map_get(e, "value");
		if (!name || !val)
			continue;
		for (size_t j = 0; j < i; j++) {
			const char *o = oam_str(oam_map_get(pv->u.seq.items[j], "name"));
			if (o && !strcmp(o, name)) {
				oam_diag(d, OAM_SEV_ERROR, "OAM207", oam_map_get(e, "name"),
					 "%s: parameter '%s' is given twice (first at line %u)", owner, name, pv->u.seq.items[j]->line);
				break;
			}
		}
		size_t k;
		for (k = 0; k < c->nparams; k++)
			if (!strcmp(c->params[k].name, name))
				break;
		if (k == c->nparams) {
			const char *names[MAXNAMES];
			size_t n = 0;
			char list[400];
			for (size_t j = 0; j < c->nparams && n < MAXNAMES; j++)
				names[n++] = c->params[j].name;
			list_text(names, n, list, sizeof list);
			struct oam_err *x = oam_diag(d, run->undeclared_params_warn ? OAM_SEV_WARNING : OAM_SEV_ERROR, "OAM405",
						     oam_map_get(e, "name"),
						     "%s: component '%s' has no parameter '%s'", owner, c->name, name);
			const char *close = oam_closest(name, names, n);
			if (close)
				oam_diag_hint(x, "did you mean '%s'? (declared: %s)", close, list);
			else if (n)
				oam_diag_hint(x, "declared parameters: %s%s", list,
					      run->undeclared_params_warn ? "" : "; --allow-undeclared-params makes this a warning");
			else
				oam_diag_hint(x, "the component declares no parameters%s",
					      run->undeclared_params_warn ? "" : "; --allow-undeclared-params makes this a warning");
			continue;
		}
		const struct oam_node *sv = subst(vars, val), *conv;
		if (!param_type_ok(run->model->arena, c->params[k].type, sv, &conv)) {
			type_error(d, sv, owner, "parameter", name, c->params[k].type);
			rejected[k] = 1;
			continue;
		}
		in->pvals[k] = conv;
	}
	for (size_t k = 0; k < c->nparams; k++) {
		if (!in->pvals[k])
			in->pvals[k] = c->params[k].def;
		if (!in->pvals[k] && c->params[k].required && !rejected[k]) {
			struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, "OAM401", in->at,
						     "%s: missing required parameter '%s' of component '%s'", owner,
						     c->params[k].name, c->name);
			oam_diag_hint(e, "add { name: %s, value: ... } under parameterValues", c->params[k].name);
		}
	}
	/* env and config files that read a parameter with no value at all. */
	for (size_t i = 0; c->containers && i < c->containers->u.seq.n; i++) {
		const struct oam_node *ct = c->containers->u.seq.items[i];
		static const char *const lists[] = { "env", "config" };
		for (int l = 0; l < 2; l++) {
			const struct oam_node *seq = oam_map_get(ct, lists[l]);
			for (size_t j = 0; seq && seq->type == OAM_SEQ && j < seq->u.seq.n; j++) {
				const struct oam_node *e = seq->u.seq.items[j];
				const char *fp = oam_str(oam_map_get(e, "fromParam"));
				const struct oam_node *val = oam_map_get(e, "value");
				if (!fp || (val && val->type != OAM_NULL))
					continue;
				for (size_t k = 0; k < c->nparams; k++)
					if (!strcmp(c->params[k].name, fp) && !rejected[k] &&
					    (!in->pvals[k] || in->pvals[k]->type == OAM_NULL)) {
						struct oam_err *x = oam_diag(d, OAM_SEV_ERROR, "OAM406", in->at,
									     "%s: %s '%s' of component '%s' takes its value from parameter '%s', which has no value",
									     owner, l ? "config file" : "env",
									     oam_str(oam_map_get(e, l ? "path" : "name")), c->name, fp);
						oam_diag_hint(x, "set '%s' under parameterValues, or give the parameter a default", fp);
					}
			}
		}
	}
}

static int applies_to(const struct oam_module *t, const struct oam_module *w)
{
	for (size_t i = 0; i < t->napplies; i++)
		if (!strcmp(t->applies[i], "*") || !strcmp(t->applies[i], w->name) ||
		    (w->type && !strcmp(t->applies[i], w->type)))
			return 1;
	return 0;
}

static int declares_conflict(const struct oam_module *a, const struct oam_module *b)
{
	for (size_t i = 0; i < a->nconflicts; i++)
		if (!strcmp(a->conflicts[i], "*") || !strcmp(a->conflicts[i], b->name))
			return 1;
	return 0;
}

static void check_binding_keys(struct oam_trait_use *tu, struct oam_diags *d, const char *owner)
{
	const struct oam_node *b = tu->at;
	int misindented = 0;
	for (size_t i = 0; i < b->u.map.n; i++) {
		const struct oam_node *k = b->u.map.items[i].key;
		const char *key = k->u.str.s;
		if (!strcmp(key, "name") || !strcmp(key, "properties"))
			continue;
		if (!strcmp(key, "parameterValues")) {
			struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, "OAM204", k,
						     "%s: trait '%s' takes 'properties', not 'parameterValues'", owner, tu->name);
			oam_diag_hint(e, "rename 'parameterValues:' to 'properties:' (OAM v1alpha1 moved trait settings there)");
			continue;
		}
		int is_prop = 0;
		if (tu->mod)
			for (size_t j = 0; j < tu->mod->schema.nprops; j++)
				is_prop |= !strcmp(tu->mod->schema.props[j].name, key);
		if (is_prop) {
			if (!misindented++) {
				struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, "OAM204", k,
							     "%s: trait '%s': '%s' is a property but is not under 'properties'",
							     owner, tu->name, key);
				const struct oam_node *p = oam_map_get(b, "properties");
				if (p && p->type == OAM_NULL)
					oam_diag_hint(e, "indent '%s' and the lines after it under 'properties:' (line %u)", key, p->line);
				else
					oam_diag_hint(e, "move '%s' under 'properties:'", key);
			}
			continue;
		}
		static const char *const fields[] = { "name", "properties" };
		const char *close = oam_closest(key, fields, 2);
		struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, "OAM204", k, "%s: unknown field '%s' in trait '%s'", owner, key,
					     tu->name);
		oam_diag_hint(e, close ? "did you mean '%s'?" : "a trait binding has 'name' and 'properties'%s", close ? close : "");
	}
}

/* The node at a property path such as "constraints[1].minDomains" (the
 * deepest one that exists, so a finding lands as close as possible). */
static const struct oam_node *node_at_path(const struct oam_node *n, const char *path)
{
	char key[256];
	const struct oam_node *best = NULL;
	while (n && *path) {
		size_t l = strcspn(path, ".[");
		if (l) {
			snprintf(key, sizeof key, "%.*s", (int)l, path);
			n = oam_map_get(n, key);
			path += l;
		} else if (*path == '[') {
			char *end;
			long i = strtol(path + 1, &end, 10);
			n = *end == ']' && n->type == OAM_SEQ && i >= 0 && (size_t)i < n->u.seq.n ? n->u.seq.items[i] : NULL;
			path = *end == ']' ? end + 1 : end;
		}
		if (n)
			best = n;
		if (*path == '.')
			path++;
	}
	return best;
}

/* Calls the trait's validate(ctx, props) hook; each problem it returns is
 * reported at the named property (or at the binding). */
static void run_validate(struct oam_run *run, struct oam_instance *in, struct oam_trait_use *tu, struct oam_diags *d,
			 const char *owner)
{
	lua_State *L = run->lua->L;
	struct oam_err err;
	char what[300];
	int top = lua_gettop(L);
	/* A render job has its own registry: the same module, loaded again. */
	const struct oam_module *m = run->worker ? oam_registry_find(run->reg, tu->mod->kind, tu->mod->name) : tu->mod;
	if (!m) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM900", NULL, 0, 0, "trait module '%s' missing in a render job", tu->mod->name);
		return;
	}
	lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref);
	lua_getfield(L, -1, "validate");
	lua_remove(L, -2);
	/* The hook's own context, so that what it does to it stays its own. */
	oam_render_push_ctx(run, in);
	oam_render_push_trait_ctx(run, -1);
	lua_remove(L, -2);
	lua_pushstring(L, tu->name);
	lua_setfield(L, -2, "traitName");
	oam_schema_push(L, &tu->mod->schema, tu->props);
	oam_concat(what, sizeof what, "validating instance '", in->name, "'", (char *)NULL);
	memset(&err, 0, sizeof err);
	if (oam_lua_call(run->lua, tu->mod->name, what, 2, 1, &err) < 0) {
		oam_diag_at(d, OAM_SEV_ERROR, err.id, err.file, err.line, 0, "%s", err.msg);
		lua_settop(L, top);
		return;
	}
	if (lua_type(L, -1) == LUA_TTABLE) {
		lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
		for (lua_Integer i = 1; i <= n; i++) {
			lua_rawgeti(L, -1, i);
			const char *msg = NULL, *prop = NULL;
			if (lua_type(L, -1) == LUA_TSTRING) {
				msg = lua_tostring(L, -1);
			} else if (lua_type(L, -1) == LUA_TTABLE) {
				lua_getfield(L, -1, "message");
				lua_getfield(L, -2, "property");
				msg = lua_tostring(L, -2);
				prop = lua_tostring(L, -1);
			}
			const struct oam_node *at = prop ? node_at_path(tu->props, prop) : NULL;
			oam_diag(d, OAM_SEV_ERROR, "OAM413", at ? at : tu->at, "%s: trait '%s': %s", owner, tu->name,
				 msg ? msg : "(validate returned a problem without a message)");
			lua_settop(L, top + 1);
		}
	} else if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TBOOLEAN) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM604", tu->mod->path, 0, 0,
			    "trait '%s': validate() must return nil or a list of problems, not a %s", tu->name,
			    luaL_typename(L, -1));
	}
	lua_settop(L, top);
}

static void check_traits(struct oam_run *run, struct oam_instance *in, struct vars *vars, struct oam_diags *d,
			 const char *owner)
{
	const char *names[MAXNAMES];
	size_t n = oam_registry_names(run->reg, OAM_MOD_TRAIT, names, MAXNAMES);
	for (size_t i = 0; i < in->ntraits; i++) {
		struct oam_trait_use *tu = &in->traits[i];
		size_t before = d->nerrors;
		tu->mod = oam_registry_find(run->reg, OAM_MOD_TRAIT, tu->name);
		check_binding_keys(tu, d, owner);
		if (!tu->mod) {
			struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, "OAM302", oam_map_get(tu->at, "name"), "%s: unknown trait '%s'",
						     owner, tu->name);
			const char *close = suggest(tu->name, names, n);
			char list[400];
			list_text(names, n, list, sizeof list);
			if (close)
				oam_diag_hint(e, "did you mean '%s'?", close);
			else
				oam_diag_hint(e, "known traits: %s", list);
			continue;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(in->traits[j].name, tu->name)) {
				struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, "OAM313", oam_map_get(tu->at, "name"),
							     "%s: trait '%s' is bound twice (first at line %u)", owner, tu->name,
							     in->traits[j].at->line);
				oam_diag_hint(e, "a component instance may have only one configuration of each trait; merge the two");
				break;
			}
		if (run->target && !oam_module_supports(tu->mod, run->target)) {
			struct oam_err *e = oam_diag(d, run->skip_unsupported ? OAM_SEV_WARNING : OAM_SEV_ERROR, "OAM315",
						     oam_map_get(tu->at, "name"), "%s: trait '%s' has no meaning on target '%s'%s",
						     owner, tu->name, run->target, run->skip_unsupported ? ": skipped" : "");
			if (!run->skip_unsupported)
				oam_diag_hint(e, "remove it for this target, or pass --skip-unsupported-traits to render without it");
			tu->skip = 1;
		}
		if (in->comp && in->comp->workload && !applies_to(tu->mod, in->comp->workload)) {
			char list[300];
			list_text(tu->mod->applies, tu->mod->napplies, list, sizeof list);
			struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, "OAM311", oam_map_get(tu->at, "name"),
						     "%s: trait '%s' does not apply to workload type '%s' of component '%s'", owner,
						     tu->name, in->comp->workload->name, in->comp->name);
			oam_diag_hint(e, "'%s' applies to: %s", tu->name, list);
		}
		for (size_t j = 0; j < i; j++) {
			struct oam_trait_use *o = &in->traits[j];
			if (!o->mod || !strcmp(o->name, tu->name))
				continue;
			int ab = declares_conflict(tu->mod, o->mod), ba = declares_conflict(o->mod, tu->mod);
			if (ab || ba) {
				struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, "OAM312", oam_map_get(tu->at, "name"),
							     "%s: trait '%s' conflicts with trait '%s' (line %u)", owner, tu->name,
							     o->name, o->at->line);
				oam_diag_hint(e, "'%s' declares conflictsWith '%s'; keep only one of them",
					      ab ? tu->name : o->name, ab ? o->name : tu->name);
			}
		}
		char what[300];
		oam_concat(what, sizeof what, owner, ": trait '", tu->name, "'", (char *)NULL);
		static const char *const none[] = { NULL };
		struct oam_check_ctx cc = { .d = d, .what = what, .ignore = none,
					    .misplaced = oam_map_get(tu->at, "parameterValues") && !oam_map_get(tu->at, "properties") };
		tu->props = subst(vars, tu->props);
		oam_schema_check(&cc, &tu->mod->schema, tu->props, tu->at);
		tu->ok = d->nerrors == before;
	}
}

static void run_hooks(struct oam_run *run, struct oam_instance *in, struct oam_diags *d, const char *owner)
{
	for (size_t i = 0; i < in->ntraits; i++)
		if (in->traits[i].ok && !in->traits[i].skip && in->traits[i].mod->has_validate)
			run_validate(run, in, &in->traits[i], d, owner);
}

static void check_instance(struct oam_run *run, struct oam_app *a, struct oam_instance *in, struct oam_diags *d)
{
	char owner[300];
	size_t before = d->nerrors;
	struct vars vars = { .seq = a->variables, .a = run->model->arena, .d = d };
	oam_concat(owner, sizeof owner, "instance '", in->name, "'", (char *)NULL);
	if (!oam_is_dns_label(in->name)) {
		struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, "OAM206", in->name_at,
					     "%s: instanceName is not a valid DNS-1123 label", owner);
		oam_diag_hint(e, "it names the Kubernetes objects: use at most 63 lowercase letters, digits and '-'");
	}
	in->comp = oam_model_component(run->model, in->component_name);
	if (!in->comp) {
		const char *names[MAXNAMES];
		size_t n = 0;
		for (size_t i = 0; i < run->model->ncomps && n < MAXNAMES; i++)
			names[n++] = run->model->comps[i]->name;
		struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, "OAM303", in->component_at, "%s: unknown component '%s'", owner,
					     in->component_name);
		const char *close = oam_closest(in->component_name, names, n);
		if (close && strlen(close) > strlen(in->component_name) &&
		    !strcmp(close + strlen(close) - strlen(in->component_name), in->component_name))
			oam_diag_hint(e, "did you mean '%s'? (a name prefix such as kustomize's namePrefix renames the ComponentSchematic but not componentName)",
				      close);
		else if (close)
			oam_diag_hint(e, "did you mean '%s'?", close);
		else if (n)
			oam_diag_hint(e, "pass the file that defines ComponentSchematic '%s' with -f", in->component_name);
		else
			oam_diag_hint(e, "no ComponentSchematic was given: pass the file that defines it with -f");
	} else if (in->comp->workload) {
		check_params(run, in, &vars, d, owner);
	}
	check_traits(run, in, &vars, d, owner);
	for (size_t i = 0; i < in->nscopes; i++) {
		const char *sn = oam_str(in->scopes[i]);
		if (!find_scope(run->model, sn)) {
			struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, "OAM304", in->scopes[i], "%s: unknown application scope '%s'",
						     owner, sn);
			oam_diag_hint(e, "scopes are declared under spec.scopes of an ApplicationConfiguration; pass that file with -f");
		}
	}
	in->ok = d->nerrors == before && in->comp && in->comp->ok;
	/* Traits' own rules need a sane instance to look at. */
	in->hooks_pending = 0;
	if (in->ok && run->defer_hooks) {
		for (size_t i = 0; i < in->ntraits; i++)
			in->hooks_pending |= in->traits[i].ok && !in->traits[i].skip && in->traits[i].mod->has_validate;
		in->diag_mark = d->n;
		return;
	}
	if (in->ok)
		run_hooks(run, in, d, owner);
	in->ok = d->nerrors == before && in->comp && in->comp->ok;
}

size_t oam_check_hooks(struct oam_run *run, struct oam_instance *in, struct oam_diags *d)
{
	char owner[300];
	size_t before = d->n;
	oam_concat(owner, sizeof owner, "instance '", in->name, "'", (char *)NULL);
	run_hooks(run, in, d, owner);
	return d->n - before;
}

void oam_check_deferred(struct oam_run *run, struct oam_diags *d)
{
	struct oam_diags out;
	size_t at = 0;
	oam_diags_init(&out);
	out.warn_as_error = d->warn_as_error;
	for (size_t i = 0; i < run->model->napps; i++)
		for (size_t j = 0; j < run->model->apps[i]->ninst; j++) {
			struct oam_instance *in = &run->model->apps[i]->inst[j];
			if (!in->hooks_pending)
				continue;
			for (; at < in->diag_mark && at < d->n; at++)
				oam_diag_copy(&out, &d->v[at]);
			in->ctx_ref = 0;   /* a render job's, in its own Lua state */
			size_t before = out.nerrors;
			oam_check_hooks(run, in, &out);
			in->hooks_pending = 0;
			in->ok = in->ok && out.nerrors == before;
		}
	for (; at < d->n; at++)
		oam_diag_copy(&out, &d->v[at]);
	oam_diags_release(d);
	*d = out;
}

static void check_app(struct oam_run *run, struct oam_app *a, struct oam_diags *d)
{
	char owner[300];
	snprintf(owner, sizeof owner, "ApplicationConfiguration '%s'", a->name);
	if (!is_label_value(a->name))
		oam_diag(d, OAM_SEV_ERROR, "OAM206", a->name_at, "%s: name must be a valid label value (63 characters or fewer)",
			 owner);
	for (size_t i = 0; a->variables && i < a->variables->u.seq.n; i++) {
		const char *n = oam_str(oam_map_get(a->variables->u.seq.items[i], "name"));
		for (size_t j = 0; n && j < i; j++) {
			const char *o = oam_str(oam_map_get(a->variables->u.seq.items[j], "name"));
			if (o && !strcmp(o, n)) {
				oam_diag(d, OAM_SEV_ERROR, "OAM207", oam_map_get(a->variables->u.seq.items[i], "name"),
					 "%s: variable '%s' is declared twice", owner, n);
				break;
			}
		}
		if (n && strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != strlen(n))
			oam_diag(d, OAM_SEV_ERROR, "OAM206", oam_map_get(a->variables->u.seq.items[i], "name"),
				 "%s: variable name '%s' may only use letters, digits, '_', '-' and '.'", owner, n);
	}
	for (size_t i = 0; i < a->nscopes; i++) {
		struct oam_scope *s = &a->scopes[i];
		int known = 0;
		for (const char *const *t = scope_types; *t && s->type; t++)
			known |= !strcmp(*t, s->type);
		if (!known) {
			struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, "OAM304", oam_map_get(s->at, "type"),
						     "%s: unknown scope type '%s'", owner, s->type ? s->type : "?");
			oam_diag_hint(e, "core scope types: core.oam.dev/v1alpha1.HealthScope, core.oam.dev/v1alpha1.NetworkScope");
		}
		const struct oam_scope *first = find_scope(run->model, s->name);
		if (first && first != s)
			oam_diag(d, OAM_SEV_ERROR, "OAM207", oam_map_get(s->at, "name"), "%s: scope '%s' is declared twice (first at %s:%u)",
				 owner, s->name, first->at->file, first->at->line);
	}
	for (size_t i = 0; i < a->ninst; i++)
		check_instance(run, a, &a->inst[i], d);
}

static int cmp_inst(const void *a, const void *b)
{
	const struct oam_instance *x = *(struct oam_instance *const *)a, *y = *(struct oam_instance *const *)b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	c = strcmp(x->name_at->file, y->name_at->file);
	if (c)
		return c;
	return x->name_at->line < y->name_at->line ? -1 : x->name_at->line > y->name_at->line;
}

size_t oam_check(struct oam_run *run, struct oam_diags *d)
{
	size_t before = d->nerrors;
	struct oam_model *m = run->model;
	for (size_t i = 0; i < m->ncomps; i++) {
		if (i && !strcmp(m->comps[i]->name, m->comps[i - 1]->name)) {
			oam_diag(d, OAM_SEV_ERROR, "OAM205", m->comps[i]->name_at,
				 "ComponentSchematic '%s' is defined twice (first at %s:%u)", m->comps[i]->name,
				 m->comps[i - 1]->name_at->file, m->comps[i - 1]->name_at->line);
			continue;
		}
		check_component(run, m->comps[i], d);
	}
	for (size_t i = 0; i < m->napps; i++) {
		for (size_t j = 0; j < i; j++)
			if (!strcmp(m->apps[i]->name, m->apps[j]->name)) {
				oam_diag(d, OAM_SEV_ERROR, "OAM205", m->apps[i]->name_at,
					 "ApplicationConfiguration '%s' is defined twice (first at %s:%u)", m->apps[i]->name,
					 m->apps[j]->name_at->file, m->apps[j]->name_at->line);
				break;
			}
		check_app(run, m->apps[i], d);
	}
	/* Instance names become object names: unique across all configurations. */
	size_t total = 0;
	for (size_t i = 0; i < m->napps; i++)
		total += m->apps[i]->ninst;
	struct oam_instance **all = malloc((total + 1) * sizeof *all);
	if (all) {
		size_t k = 0;
		for (size_t i = 0; i < m->napps; i++)
			for (size_t j = 0; j < m->apps[i]->ninst; j++)
				all[k++] = &m->apps[i]->inst[j];
		qsort(all, total, sizeof *all, cmp_inst);
		for (size_t i = 1; i < total; i++)
			if (!strcmp(all[i]->name, all[i - 1]->name)) {
				oam_diag(d, OAM_SEV_ERROR, "OAM207", all[i]->name_at, "instanceName '%s' is used twice (first at %s:%u)",
					 all[i]->name, all[i - 1]->name_at->file, all[i - 1]->name_at->line);
				all[i]->ok = 0;
			}
		free(all);
	}
	if (run->defer_hooks && d->nerrors) {
		/* Nothing will be rendered: report the hooks' findings with the rest. */
		oam_check_deferred(run, d);
		run->defer_hooks = 0;
	}
	return d->nerrors - before;
}
