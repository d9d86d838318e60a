/* model.c — documents → OAM model, with shape checks at every level. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oamlua/cores.h"
#include "oamlua/model.h"

#define T(x) (1u << (x))
#define TSCALAR (T(OAM_BOOL) | T(OAM_INT) | T(OAM_FLOAT) | T(OAM_STR))
#define TANY (TSCALAR | T(OAM_MAP) | T(OAM_SEQ) | T(OAM_NULL))
#define TNUM (T(OAM_INT) | T(OAM_FLOAT))

struct shape;

struct field {
	const char *name;
	unsigned types;
	int required;
	const struct shape *sub;        /* maps: their shape */
	const struct shape *items;      /* lists: the shape of each (map) item */
	const char *const *oneof;       /* strings: allowed values */
	unsigned item_types;            /* lists of scalars: allowed item types (0 = no check) */
};

struct shape {
	const char *name;               /* for messages: "container" */
	const struct field *fields;
	int open;                       /* unknown keys allowed */
};

static const char *const protocols[] = { "TCP", "UDP", "SCTP", NULL };
static const char *const access_modes[] = { "RW", "RO", NULL };
static const char *const sharing[] = { "Exclusive", "Shared", NULL };
static const char *const param_types[] = { "string", "number", "integer", "boolean", "object", "array", "null", NULL };
static const char *const os_types[] = { "linux", "windows", NULL };

static const struct shape metadata_shape = { "metadata", (const struct field[]){
	{ "name", T(OAM_STR), 1, NULL, NULL, NULL, 0 },
	{ "labels", T(OAM_MAP), 0, NULL, NULL, NULL, 0 },
	{ "annotations", T(OAM_MAP), 0, NULL, NULL, NULL, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0 } }, 1 };

static const struct shape param_shape = { "parameter", (const struct field[]){
	{ "name", T(OAM_STR), 1, NULL, NULL, NULL, 0 },
	{ "description", T(OAM_STR), 0, NULL, NULL, NULL, 0 },
	{ "type", T(OAM_STR), 1, NULL, NULL, param_types, 0 },
	{ "required", T(OAM_BOOL), 0, NULL, NULL, NULL, 0 },
	{ "default", TANY, 0, NULL, NULL, NULL, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0 } }, 0 };

static const struct shape disk_shape = { "disk", (const struct field[]){
	{ "required", T(OAM_STR) | T(OAM_INT), 1, NULL, NULL, NULL, 0 },
	{ "ephemeral", T(OAM_BOOL), 0, NULL, NULL, NULL, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0 } }, 0 };

static const struct shape volume_shape = { "volume", (const struct field[]){
	{ "name", T(OAM_STR), 1, NULL, NULL, NULL, 0 },
	{ "mountPath", T(OAM_STR), 1, NULL, NULL, NULL, 0 },
	{ "accessMode", T(OAM_STR), 0, NULL, NULL, access_modes, 0 },
	{ "sharingPolicy", T(OAM_STR), 0, NULL, NULL, sharing, 0 },
	{ "disk", T(OAM_MAP), 0, &disk_shape, NULL, NULL, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0 } }, 0 };

static const struct shape cpu_shape = { "cpu", (const struct field[]){
	{ "required", TNUM | T(OAM_STR), 1, NULL, NULL, NULL, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0 } }, 0 };
static const struct shape memory_shape = { "memory", (const struct field[]){
	{ "required", T(OAM_STR) | T(OAM_INT), 1, NULL, NULL, NULL, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0 } }, 0 };
static const struct shape gpu_shape = { "gpu", (const struct field[]){
	{ "required", TNUM, 1, NULL, NULL, NULL, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0 } }, 0 };
static const struct shape extended_shape = { "extended resource", (const struct field[]){
	{ "name", T(OAM_STR), 1, NULL, NULL, NULL, 0 },
	{ "required", T(OAM_STR) | TNUM, 1, NULL, NULL, NULL, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0 } }, 0 };

static const struct shape resources_shape = { "resources", (const struct field[]){
	{ "cpu", T(OAM_MAP), 0, &cpu_shape, NULL, NULL, 0 },
	{ "memory", T(OAM_MAP), 0, &memory_shape, NULL, NULL, 0 },
	{ "gpu", T(OAM_MAP), 0, &gpu_shape, NULL, NULL, 0 },
	{ "volumes", T(OAM_SEQ), 0, NULL, &volume_shape, NULL, 0 },
	{ "extended", T(OAM_SEQ), 0, NULL, &extended_shape, NULL, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0 } }, 0 };

static const struct shape env_shape = { "env", (const struct field[]){
	{ "name", T(OAM_STR), 1, NULL, NULL, NULL, 0 },
	{ "value", TSCALAR, 0, NULL, NULL, NULL, 0 },
	{ "fromParam", T(OAM_STR), 0, NULL, NULL, NULL, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0 } }, 0 };

static const struct shape config_shape = { "config file", (const struct field[]){
	{ "path", T(OAM_STR), 1, NULL, NULL, NULL, 0 },
	{ "value", TSCALAR, 0, NULL, NULL, NULL, 0 },
	{ "fromParam", T(OAM_STR), 0, NULL, NULL, NULL, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0 } }, 0 };

static const struct shape port_shape = { "port", (const struct field[]){
	{ "name", T(OAM_STR), 1, NULL, NULL, NULL, 0 },
	{ "containerPort", T(OAM_INT), 1, NULL, NULL, NULL, 0 },
	{ "protocol", T(OAM_STR), 0, NULL, NULL, protocols, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0 } }, 0 };

static const struct shape header_shape = { "HTTP header", (const struct field[]){
	{ "name", T(OAM_STR), 1, NULL, NULL, NULL, 0 },
	{ "value", T(OAM_STR), 1, NULL, NULL, NULL, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0 } }, 0 };
static const struct shape exec_shape = { "exec", (const struct field[]){
	{ "command", T(OAM_SEQ), 1, NULL, NULL, NULL, T(OAM_STR) },
	{ NULL, 0, 0, NULL, NULL, NULL, 0 } }, 0 };
static const struct shape httpget_shape = { "httpGet", (const struct field[]){
	{ "path", T(OAM_STR), 1, NULL, NULL, NULL, 0 },
	{ "port", T(OAM_INT), 1, NULL, NULL, NULL, 0 },
	{ "httpHeaders", T(OAM_SEQ), 0, NULL, &header_shape, NULL, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0 } }, 0 };
static const struct shape tcp_shape = { "tcpSocket", (const struct field[]){
	{ "port", T(OAM_INT), 1, NULL, NULL, NULL, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0 } }, 0 };
static const struct shape probe_shape = { "probe", (const struct field[]){
	{ "exec", T(OAM_MAP), 0, &exec_shape, NULL, NULL, 0 },
	{ "httpGet", T(OAM_MAP), 0, &httpget_shape, NULL, NULL, 0 },
	{ "tcpSocket", T(OAM_MAP), 0, &tcp_shape, NULL, NULL, 0 },
	{ "initialDelaySeconds", T(OAM_INT), 0, NULL, NULL, NULL, 0 },
	{ "periodSeconds", T(OAM_INT), 0, NULL, NULL, NULL, 0 },
	{ "timeoutSeconds", T(OAM_INT), 0, NULL, NULL, NULL, 0 },
	{ "successThreshold", T(OAM_INT), 0, NULL, NULL, NULL, 0 },
	{ "failureThreshold", T(OAM_INT), 0, NULL, NULL, NULL, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0 } }, 0 };

static const struct shape container_shape = { "container", (const struct field[]){
	{ "name", T(OAM_STR), 1, NULL, NULL, NULL, 0 },
	{ "image", T(OAM_STR), 1, NULL, NULL, NULL, 0 },
	{ "resources", T(OAM_MAP), 0, &resources_shape, NULL, NULL, 0 },
	{ "cmd", T(OAM_SEQ), 0, NULL, NULL, NULL, T(OAM_STR) },
	{ "args", T(OAM_SEQ), 0, NULL, NULL, NULL, T(OAM_STR) },
	{ "env", T(OAM_SEQ), 0, NULL, &env_shape, NULL, 0 },
	{ "config", T(OAM_SEQ), 0, NULL, &config_shape, NULL, 0 },
	{ "ports", T(OAM_SEQ), 0, NULL, &port_shape, NULL, 0 },
	{ "livenessProbe", T(OAM_MAP), 0, &probe_shape, NULL, NULL, 0 },
	{ "readinessProbe", T(OAM_MAP), 0, &probe_shape, NULL, NULL, 0 },
	{ "imagePullSecret", T(OAM_STR), 0, NULL, NULL, NULL, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0 } }, 0 };

static const struct shape setting_shape = { "workload setting", (const struct field[]){
	{ "name", T(OAM_STR), 1, NULL, NULL, NULL, 0 },
	{ "description", T(OAM_STR), 0, NULL, NULL, NULL, 0 },
	{ "type", T(OAM_STR), 0, NULL, NULL, param_types, 0 },
	{ "required", T(OAM_BOOL), 0, NULL, NULL, NULL, 0 },
	{ "value", TANY, 0, NULL, NULL, NULL, 0 },
	{ "fromParam", T(OAM_STR), 0, NULL, NULL, NULL, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0 } }, 0 };

static const struct shape component_spec_shape = { "spec", (const struct field[]){
	{ "workloadType", T(OAM_STR), 1, NULL, NULL, NULL, 0 },
	{ "osType", T(OAM_STR), 0, NULL, NULL, os_types, 0 },
	{ "arch", T(OAM_STR), 0, NULL, NULL, NULL, 0 },
	{ "parameters", T(OAM_SEQ), 0, NULL, &param_shape, NULL, 0 },
	{ "containers", T(OAM_SEQ), 0, NULL, &container_shape, NULL, 0 },
	{ "workloadSettings", T(OAM_SEQ), 0, NULL, &setting_shape, NULL, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0 } }, 0 };

static const struct shape variable_shape = { "variable", (const struct field[]){
	{ "name", T(OAM_STR), 1, NULL, NULL, NULL, 0 },
	{ "value", TSCALAR | T(OAM_MAP) | T(OAM_SEQ), 1, NULL, NULL, NULL, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0 } }, 0 };

static const struct shape scope_binding_shape = { "scope", (const struct field[]){
	{ "name", T(OAM_STR), 1, NULL, NULL, NULL, 0 },
	{ "type", T(OAM_STR), 1, NULL, NULL, NULL, 0 },
	{ "properties", T(OAM_MAP) | T(OAM_SEQ), 0, NULL, NULL, NULL, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0 } }, 0 };

static const struct shape pvalue_shape = { "parameter value", (const struct field[]){
	{ "name", T(OAM_STR), 1, NULL, NULL, NULL, 0 },
	{ "value", TSCALAR | T(OAM_MAP) | T(OAM_SEQ), 1, NULL, NULL, NULL, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0 } }, 0 };

/* Trait bindings are open here: the checker knows the trait's schema and
 * can tell a mis-indented property from a typo. */
static const struct shape trait_binding_shape = { "trait", (const struct field[]){
	{ "name", T(OAM_STR), 1, NULL, NULL, NULL, 0 },
	{ "properties", T(OAM_MAP) | T(OAM_SEQ), 0, NULL, NULL, NULL, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0 } }, 1 };

static const struct shape instance_shape = { "component", (const struct field[]){
	{ "componentName", T(OAM_STR), 1, NULL, NULL, NULL, 0 },
	{ "instanceName", T(OAM_STR), 1, NULL, NULL, NULL, 0 },
	{ "parameterValues", T(OAM_SEQ), 0, NULL, &pvalue_shape, NULL, 0 },
	{ "traits", T(OAM_SEQ), 0, NULL, &trait_binding_shape, NULL, 0 },
	{ "applicationScopes", T(OAM_SEQ), 0, NULL, NULL, NULL, T(OAM_STR) },
	{ NULL, 0, 0, NULL, NULL, NULL, 0 } }, 0 };

static const struct shape app_spec_shape = { "spec", (const struct field[]){
	{ "variables", T(OAM_SEQ), 0, NULL, &variable_shape, NULL, 0 },
	{ "scopes", T(OAM_SEQ), 0, NULL, &scope_binding_shape, NULL, 0 },
	{ "components", T(OAM_SEQ), 0, NULL, &instance_shape, NULL, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0 } }, 0 };

/* Definitions (Trait, WorkloadType, ApplicationScope) are informational in
 * v1alpha1 — the modules are the truth — but a wrong shape is still a
 * mistake worth reporting. Open: real definitions carry extra fields (Rudr's
 * WorkloadTypes have spec.version). */
static const char *const def_param_types[] = { "string", "boolean", "number", "integer", "double", "[]string", NULL };

static const struct shape def_param_shape = { "parameter", (const struct field[]){
	{ "name", T(OAM_STR), 1, NULL, NULL, NULL, 0 },
	{ "description", T(OAM_STR), 0, NULL, NULL, NULL, 0 },
	{ "type", T(OAM_STR), 1, NULL, NULL, def_param_types, 0 },
	{ "required", T(OAM_BOOL), 0, NULL, NULL, NULL, 0 },
	{ "default", TANY, 0, NULL, NULL, NULL, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0 } }, 1 };

static const struct shape names_shape = { "names", (const struct field[]){
	{ "kind", T(OAM_STR), 1, NULL, NULL, NULL, 0 },
	{ "singular", T(OAM_STR), 0, NULL, NULL, NULL, 0 },
	{ "plural", T(OAM_STR), 0, NULL, NULL, NULL, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0 } }, 1 };

static const struct shape workloadtype_spec_shape = { "WorkloadType spec", (const struct field[]){
	{ "group", T(OAM_STR), 1, NULL, NULL, NULL, 0 },
	{ "names", T(OAM_MAP), 1, &names_shape, NULL, NULL, 0 },
	{ "settings", T(OAM_SEQ), 0, NULL, &def_param_shape, NULL, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0 } }, 1 };

static const struct shape trait_spec_shape = { "Trait spec", (const struct field[]){
	{ "appliesTo", T(OAM_SEQ), 0, NULL, NULL, NULL, T(OAM_STR) },
	/* A JSON Schema, as a JSON string (the spec) or as YAML. */
	{ "properties", T(OAM_STR) | T(OAM_MAP) | T(OAM_SEQ), 0, NULL, NULL, NULL, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0 } }, 1 };

static const struct shape scope_spec_shape = { "ApplicationScope spec", (const struct field[]){
	{ "type", T(OAM_STR), 1, NULL, NULL, NULL, 0 },
	{ "allowComponentOverlap", T(OAM_BOOL), 0, NULL, NULL, NULL, 0 },
	{ "parameters", T(OAM_SEQ), 0, NULL, &def_param_shape, NULL, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0 } }, 1 };

/* ---- the shape walker ---- */

struct walker {
	struct oam_diags *d;
	const char *owner;   /* "ComponentSchematic 'web'" */
	int errors;
};

static const char *types_text(unsigned types, char *buf, size_t size)
{
	static const char *const names[] = { "null", "a boolean", "an integer", "a number", "a string", "a map", "a list" };
	size_t n = 0;
	int first = 1;
	buf[0] = '\0';
	if ((types & TNUM) == TNUM)
		types &= ~T(OAM_INT);
	for (int t = 1; t <= OAM_SEQ; t++)
		if (types & T(t)) {
			n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s%s", first ? "" : " or ", names[t]);
			first = 0;
		}
	return buf;
}

/* Appends up to `len` bytes of `s` at out[*n], keeping room for the NUL. */
static void put(char *out, size_t size, size_t *n, const char *s, size_t len)
{
	if (len > size - 1 - *n)
		len = size - 1 - *n;
	memcpy(out + *n, s, len);
	*n += len;
}

/* The path of every field visited is built, though only a finding prints
 * it: by hand, since snprintf here was a tenth of a validate run. Truncates
 * like snprintf. */
static void join_path(char *out, size_t size, const char *base, const char *key, long idx)
{
	size_t n = 0;
	put(out, size, &n, base, strlen(base));
	if (key) {
		if (base[0])
			put(out, size, &n, ".", 1);
		put(out, size, &n, key, strlen(key));
	} else {
		char num[24];
		size_t k = sizeof num;
		unsigned long v = idx < 0 ? 0UL - (unsigned long)idx : (unsigned long)idx;
		num[--k] = ']';
		do
			num[--k] = (char)('0' + v % 10);
		while (v /= 10);
		if (idx < 0)
			num[--k] = '-';
		num[--k] = '[';
		put(out, size, &n, num + k, sizeof num - k);
	}
	out[n] = '\0';
}

static void walk_map(struct walker *w, const struct oam_node *n, const struct shape *s, const char *path);

static void walk_field(struct walker *w, const struct field *f, const struct oam_node *v, const char *path)
{
	char tt[96], got[64];
	if (v->type == OAM_NULL)
		return;   /* absence is handled by the caller */
	if (!(f->types & T(v->type))) {
		oam_node_brief(v, got, sizeof got);
		struct oam_err *e = oam_diag(w->d, OAM_SEV_ERROR, "OAM202", v, "%s: %s must be %s, got %s", w->owner,
					     path, types_text(f->types, tt, sizeof tt),
					     v->type == OAM_MAP || v->type == OAM_SEQ ? oam_ntype_article(v->type) : got);
		if (v->type == OAM_STR && (f->types & TNUM))
			oam_diag_hint(e, "remove the quotes to write a number");
		else if (f->types == T(OAM_STR) && (v->type == OAM_INT || v->type == OAM_FLOAT || v->type == OAM_BOOL))
			oam_diag_hint(e, "quote the value to make it a string: \"%s\"", got);
		else if (v->type == OAM_MAP && (f->types & T(OAM_SEQ)))
			oam_diag_hint(e, "start each entry with '- '");
		w->errors++;
		return;
	}
	if (f->oneof && v->type == OAM_STR) {
		int ok = 0;
		for (const char *const *o = f->oneof; *o && !ok; o++)
			ok = !strcmp(*o, v->u.str.s);
		if (!ok) {
			char list[200] = "";
			size_t ll = 0;
			for (const char *const *o = f->oneof; *o; o++)
				ll += (size_t)snprintf(list + ll, ll < sizeof list ? sizeof list - ll : 0, "%s%s",
						       o == f->oneof ? "" : ", ", *o);
			oam_diag(w->d, OAM_SEV_ERROR, "OAM403", v, "%s: %s is \"%s\"; it must be one of %s", w->owner, path,
				 v->u.str.s, list);
			w->errors++;
		}
	}
	if (v->type == OAM_MAP && f->sub)
		walk_map(w, v, f->sub, path);
	if (v->type == OAM_SEQ) {
		char sub[512];
		for (size_t i = 0; i < v->u.seq.n; i++) {
			const struct oam_node *it = v->u.seq.items[i];
			join_path(sub, sizeof sub, path, NULL, (long)i);
			if (f->items) {
				if (it->type != OAM_MAP) {
					oam_node_brief(it, got, sizeof got);
					oam_diag(w->d, OAM_SEV_ERROR, "OAM202", it, "%s: %s must be a map (a %s), got %s",
						 w->owner, sub, f->items->name, got);
					w->errors++;
				} else {
					walk_map(w, it, f->items, sub);
				}
			} else if (f->item_types && !(f->item_types & T(it->type))) {
				oam_node_brief(it, got, sizeof got);
				struct oam_err *e = oam_diag(w->d, OAM_SEV_ERROR, "OAM202", it, "%s: %s must be %s, got %s",
							     w->owner, sub, types_text(f->item_types, tt, sizeof tt), got);
				if (f->item_types == T(OAM_STR))
					oam_diag_hint(e, "quote the value to make it a string");
				w->errors++;
			}
		}
	}
}

static void walk_map(struct walker *w, const struct oam_node *n, const struct shape *s, const char *path)
{
	char sub[512];
	for (size_t i = 0; i < n->u.map.n; i++) {
		const struct oam_pair *p = &n->u.map.items[i];
		const struct field *f = NULL;
		for (const struct field *x = s->fields; x->name; x++)
			if (!strcmp(x->name, p->key->u.str.s)) {
				f = x;
				break;
			}
		if (!f || p->val->type == OAM_MAP || p->val->type == OAM_SEQ || !(f->types & T(p->val->type)) || f->oneof)
			join_path(sub, sizeof sub, path, p->key->u.str.s, 0);
		if (!f) {
			if (s->open)
				continue;
			const char *names[32];
			size_t nn = 0;
			for (const struct field *x = s->fields; x->name && nn < 32; x++)
				names[nn++] = x->name;
			const char *close = oam_closest(p->key->u.str.s, names, nn);
			struct oam_err *e = oam_diag(w->d, OAM_SEV_ERROR, "OAM204", p->key, "%s: unknown field '%s' in %s",
						     w->owner, sub, s->name);
			if (close)
				oam_diag_hint(e, "did you mean '%s'?", close);
			else {
				char list[300] = "";
				size_t ll = 0;
				for (size_t j = 0; j < nn; j++)
					ll += (size_t)snprintf(list + ll, ll < sizeof list ? sizeof list - ll : 0, "%s%s",
							       j ? ", " : "", names[j]);
				oam_diag_hint(e, "a %s has: %s", s->name, list);
			}
			w->errors++;
			continue;
		}
		walk_field(w, f, p->val, sub);
	}
	for (const struct field *x = s->fields; x->name; x++) {
		if (!x->required)
			continue;
		const struct oam_node *v = oam_map_get(n, x->name);
		if (v && v->type != OAM_NULL)
			continue;
		join_path(sub, sizeof sub, path, x->name, 0);
		oam_diag(w->d, OAM_SEV_ERROR, "OAM203", v ? v : n, "%s: missing required field '%s'%s%s", w->owner, sub,
			 path[0] || strcmp(s->name, "spec") ? " in " : "", path[0] ? s->name : "");
		w->errors++;
	}
}

/* ---- model building ---- */

int oam_is_dns_label(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 63)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && !(c == '-' && i > 0 && i < n - 1))
			return 0;
	}
	return 1;
}

int oam_is_dns_subdomain(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 253)
		return 0;
	const char *p = s;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		char part[254];
		if (l == 0 || l > 63)
			return 0;
		memcpy(part, p, l);
		part[l] = '\0';
		if (!oam_is_dns_label(part))
			return 0;
		p += l;
		if (*p == '.')
			p++;
	}
	return 1;
}

static int grow(void **v, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 16;
	while (nc < need)
		nc *= 2;
	void *p = realloc(*v, nc * elem);
	if (!p)
		return -1;
	*v = p;
	*cap = nc;
	return 0;
}

static const struct oam_node *seq_or_null(const struct oam_node *n)
{
	return n && n->type == OAM_SEQ ? n : NULL;
}

static void build_component(struct oam_model *m, const struct oam_node *doc, const char *name,
			    const struct oam_node *name_at, const struct oam_node *spec, struct walker *w)
{
	struct oam_component *c = oam_arena_alloc(m->arena, sizeof *c);
	if (!c || grow((void **)&m->comps, &m->capcomps, m->ncomps + 1, sizeof *m->comps) < 0)
		return;
	c->name = name;
	c->doc = doc;
	c->name_at = name_at;
	c->spec = spec;
	c->ok = w->errors == 0;
	c->annotations = oam_map_get(oam_map_get(doc, "metadata"), "annotations");
	if (c->annotations && c->annotations->type != OAM_MAP)
		c->annotations = NULL;
	c->wtype_at = oam_map_get(spec, "workloadType");
	c->wtype = oam_str(c->wtype_at);
	c->containers = seq_or_null(oam_map_get(spec, "containers"));
	c->settings = seq_or_null(oam_map_get(spec, "workloadSettings"));
	const struct oam_node *params = seq_or_null(oam_map_get(spec, "parameters"));
	if (params) {
		c->params = oam_arena_alloc(m->arena, (params->u.seq.n + 1) * sizeof *c->params);
		for (size_t i = 0; c->params && i < params->u.seq.n; i++) {
			const struct oam_node *p = params->u.seq.items[i];
			const char *pn = oam_str(oam_map_get(p, "name"));
			if (!pn)
				continue;
			struct oam_param *dst = &c->params[c->nparams++];
			dst->name = pn;
			dst->type = oam_str(oam_map_get(p, "type"));
			const struct oam_node *req = oam_map_get(p, "required");
			dst->required = req && req->type == OAM_BOOL && req->u.b;
			dst->def = oam_map_get(p, "default");
			if (dst->def && dst->def->type == OAM_NULL && (!dst->type || strcmp(dst->type, "null")))
				dst->def = NULL;
			dst->at = p;
		}
	}
	for (size_t i = 0; c->containers && i < c->containers->u.seq.n; i++) {
		const struct oam_node *ports = seq_or_null(oam_map_get(c->containers->u.seq.items[i], "ports"));
		c->nports += ports ? ports->u.seq.n : 0;
	}
	m->comps[m->ncomps++] = c;
}

static void build_app(struct oam_model *m, const struct oam_node *doc, const char *name, const struct oam_node *name_at,
		      const struct oam_node *spec)
{
	struct oam_app *a = oam_arena_alloc(m->arena, sizeof *a);
	if (!a || grow((void **)&m->apps, &m->capapps, m->napps + 1, sizeof *m->apps) < 0)
		return;
	a->name = name;
	a->doc = doc;
	a->name_at = name_at;
	a->variables = seq_or_null(oam_map_get(spec, "variables"));
	const struct oam_node *scopes = seq_or_null(oam_map_get(spec, "scopes"));
	if (scopes) {
		a->scopes = oam_arena_alloc(m->arena, (scopes->u.seq.n + 1) * sizeof *a->scopes);
		for (size_t i = 0; a->scopes && i < scopes->u.seq.n; i++) {
			const struct oam_node *s = scopes->u.seq.items[i];
			if (s->type != OAM_MAP || !oam_str(oam_map_get(s, "name")))
				continue;
			struct oam_scope *dst = &a->scopes[a->nscopes++];
			dst->name = oam_str(oam_map_get(s, "name"));
			dst->type = oam_str(oam_map_get(s, "type"));
			dst->at = s;
			dst->props = oam_map_get(s, "properties");
			dst->app = a;
		}
	}
	const struct oam_node *comps = seq_or_null(oam_map_get(spec, "components"));
	if (comps) {
		a->inst = oam_arena_alloc(m->arena, (comps->u.seq.n + 1) * sizeof *a->inst);
		for (size_t i = 0; a->inst && i < comps->u.seq.n; i++) {
			const struct oam_node *c = comps->u.seq.items[i];
			const char *cn = oam_str(oam_map_get(c, "componentName"));
			const char *in = oam_str(oam_map_get(c, "instanceName"));
			if (c->type != OAM_MAP || !cn || !in)
				continue;
			struct oam_instance *dst = &a->inst[a->ninst++];
			dst->app = a;
			dst->at = c;
			dst->component_name = cn;
			dst->component_at = oam_map_get(c, "componentName");
			dst->name = in;
			dst->name_at = oam_map_get(c, "instanceName");
			dst->param_values = seq_or_null(oam_map_get(c, "parameterValues"));
			const struct oam_node *traits = seq_or_null(oam_map_get(c, "traits"));
			if (traits) {
				dst->traits = oam_arena_alloc(m->arena, (traits->u.seq.n + 1) * sizeof *dst->traits);
				for (size_t j = 0; dst->traits && j < traits->u.seq.n; j++) {
					const struct oam_node *t = traits->u.seq.items[j];
					if (t->type != OAM_MAP || !oam_str(oam_map_get(t, "name")))
						continue;
					struct oam_trait_use *tu = &dst->traits[dst->ntraits++];
					tu->name = oam_str(oam_map_get(t, "name"));
					tu->at = t;
					tu->props = oam_map_get(t, "properties");
				}
			}
			const struct oam_node *sc = seq_or_null(oam_map_get(c, "applicationScopes"));
			if (sc) {
				dst->scopes = oam_arena_alloc(m->arena, (sc->u.seq.n + 1) * sizeof *dst->scopes);
				for (size_t j = 0; dst->scopes && j < sc->u.seq.n; j++)
					if (sc->u.seq.items[j]->type == OAM_STR)
						dst->scopes[dst->nscopes++] = sc->u.seq.items[j];
			}
		}
	}
	m->apps[m->napps++] = a;
}

static const char *const oam_kinds[] = { "ComponentSchematic", "ApplicationConfiguration", "Trait", "WorkloadType",
					 "ApplicationScope", NULL };

static void build_doc(struct oam_model *m, const struct oam_doc *doc, struct oam_diags *d)
{
	const struct oam_node *root = doc->root;
	char owner[300];
	if (!root)
		return;   /* empty document (e.g. a trailing ---) */
	if (root->type != OAM_MAP) {
		struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, "OAM201", root, "expected an OAM document (a map with apiVersion and kind), got %s",
					     oam_ntype_article(root->type));
		if (root->type == OAM_STR)
			oam_diag_hint(e, "is this file YAML at all? (check for a missing ':')");
		return;
	}
	const struct oam_node *av = oam_map_get(root, "apiVersion"), *kn = oam_map_get(root, "kind");
	const char *api = oam_str(av), *kind = oam_str(kn);
	if (!api || !kind) {
		oam_diag(d, OAM_SEV_ERROR, "OAM201", root, "document %u has no %s", doc->index + 1,
			 !api ? "apiVersion" : "kind");
		return;
	}
	if (strcmp(api, "core.oam.dev/v1alpha1")) {
		struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, "OAM201", av, "'%s/%s' is not an OAM v1alpha1 document",
					     api, kind);
		if (!strncmp(api, "core.oam.dev/", 13))
			oam_diag_hint(e, "oamlua reads apiVersion core.oam.dev/v1alpha1");
		else
			oam_diag_hint(e, "only ComponentSchematic and ApplicationConfiguration (core.oam.dev/v1alpha1) are read; apply other objects with kubectl");
		return;
	}
	int known = 0;
	for (const char *const *k = oam_kinds; *k; k++)
		known |= !strcmp(*k, kind);
	if (!known) {
		const char *close = oam_closest(kind, oam_kinds, 5);
		struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, "OAM201", kn, "unknown OAM kind '%s'", kind);
		if (close)
			oam_diag_hint(e, "did you mean '%s'?", close);
		else
			oam_diag_hint(e, "OAM v1alpha1 kinds: ComponentSchematic, ApplicationConfiguration, Trait, WorkloadType, ApplicationScope");
		return;
	}
	const struct oam_node *md = oam_map_get(root, "metadata");
	const struct oam_node *name_at = oam_map_get(md, "name");
	const char *name = oam_str(name_at);
	snprintf(owner, sizeof owner, "%s '%s'", kind, name ? name : "?");
	struct walker w = { .d = d, .owner = owner };
	for (size_t i = 0; i < root->u.map.n; i++) {
		const char *k = root->u.map.items[i].key->u.str.s;
		if (strcmp(k, "apiVersion") && strcmp(k, "kind") && strcmp(k, "metadata") && strcmp(k, "spec") &&
		    strcmp(k, "status")) {
			static const char *const top[] = { "apiVersion", "kind", "metadata", "spec", NULL };
			const char *close = oam_closest(k, top, 4);
			struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, "OAM204", root->u.map.items[i].key,
						     "%s: unknown top-level field '%s'", owner, k);
			oam_diag_hint(e, close ? "did you mean '%s'?" : "an OAM document has apiVersion, kind, metadata and spec%s",
				      close ? close : "");
			w.errors++;
		}
	}
	if (!md || md->type != OAM_MAP) {
		oam_diag(d, OAM_SEV_ERROR, md ? "OAM202" : "OAM203", md ? md : root, "%s: %s", owner,
			 md ? "metadata must be a map" : "missing required field 'metadata'");
		return;
	}
	walk_map(&w, md, &metadata_shape, "metadata");
	const struct oam_node *spec = oam_map_get(root, "spec");
	if (!name)
		return;
	int definition = !strcmp(kind, "Trait") || !strcmp(kind, "WorkloadType") || !strcmp(kind, "ApplicationScope");
	if (definition)
		m->ndefinitions++;
	if (definition && !spec)
		return;
	if (!spec || spec->type != OAM_MAP) {
		oam_diag(d, OAM_SEV_ERROR, spec ? "OAM202" : "OAM203", spec ? spec : root, "%s: %s", owner,
			 spec ? "spec must be a map" : "missing required field 'spec'");
		return;
	}
	if (definition) {
		walk_map(&w, spec, !strcmp(kind, "Trait") ? &trait_spec_shape
				   : !strcmp(kind, "WorkloadType") ? &workloadtype_spec_shape : &scope_spec_shape, "spec");
	} else if (!strcmp(kind, "ComponentSchematic")) {
		walk_map(&w, spec, &component_spec_shape, "spec");
		build_component(m, root, name, name_at, spec, &w);
	} else {
		walk_map(&w, spec, &app_spec_shape, "spec");
		build_app(m, root, name, name_at, spec);
	}
}

static int cmp_comp(const void *a, const void *b)
{
	const struct oam_component *x = *(struct oam_component *const *)a, *y = *(struct oam_component *const *)b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	/* Same name: keep document order, so a duplicate is reported at the later one. */
	c = strcmp(x->name_at->file, y->name_at->file);
	if (c)
		return c;
	return x->name_at->line < y->name_at->line ? -1 : x->name_at->line > y->name_at->line;
}

/* ---- large inputs: documents built on several cores ---- */

/* Each part builds the model of a contiguous range of documents into a
 * model, arena and list of findings of its own; joined in document order,
 * they are the serial build's. */
#define PART_MIN_DOCS 500
#define PARTS_MAX 8

struct part {
	struct oam_model m;
	struct oam_diags d;
	const struct oam_docset *ds;
	size_t from, to;
	pthread_t tid;
	int started;
};

static void *part_run(void *arg)
{
	struct part *p = arg;
	for (size_t i = p->from; i < p->to; i++)
		build_doc(&p->m, &p->ds->docs[i], &p->d);
	return NULL;
}

/* Appends n pointers to a growing array; -1 on OOM. */
static int append(void ***v, size_t *len, size_t *cap, void *const *items, size_t n)
{
	if (!n)
		return 0;   /* a part without components (or apps) has no array */
	if (grow((void **)v, cap, *len + n, sizeof **v) < 0)
		return -1;
	memcpy(*v + *len, items, n * sizeof **v);
	*len += n;
	return 0;
}

static int build_parallel(struct oam_model *m, struct oam_docset *ds, struct oam_diags *d, int n)
{
	struct part p[PARTS_MAX];
	int rc = 0;
	memset(p, 0, sizeof p);
	for (int k = 0; k < n; k++) {
		p[k].ds = ds;
		p[k].from = ds->ndocs * (size_t)k / (size_t)n;
		p[k].to = ds->ndocs * (size_t)(k + 1) / (size_t)n;
		oam_diags_init(&p[k].d);
		p[k].d.warn_as_error = d->warn_as_error;
		if (!(p[k].m.arena = oam_arena_new()))
			rc = -1;
	}
	for (int k = 1; rc == 0 && k < n; k++)
		p[k].started = pthread_create(&p[k].tid, NULL, part_run, &p[k]) == 0;
	if (rc == 0)
		part_run(&p[0]);
	for (int k = 1; k < n; k++) {
		if (p[k].started)
			pthread_join(p[k].tid, NULL);
		else if (rc == 0)
			part_run(&p[k]);   /* no thread to be had: build that part here */
	}
	for (int k = 0; k < n; k++) {
		if (rc == 0 && (append((void ***)&m->comps, &m->ncomps, &m->capcomps, (void *const *)p[k].m.comps,
				       p[k].m.ncomps) < 0 ||
				append((void ***)&m->apps, &m->napps, &m->capapps, (void *const *)p[k].m.apps, p[k].m.napps) < 0))
			rc = -1;
		m->ndefinitions += p[k].m.ndefinitions;
		for (size_t i = 0; rc == 0 && i < p[k].d.n; i++)
			oam_diag_copy(d, &p[k].d.v[i]);
		if (p[k].m.arena)
			oam_arena_adopt(ds->arena, p[k].m.arena);   /* the model points into it */
		free(p[k].m.comps);
		free(p[k].m.apps);
		oam_diags_release(&p[k].d);
	}
	if (rc < 0)
		oam_diag_at(d, OAM_SEV_ERROR, "OAM900", NULL, 0, 0, "out of memory");
	return rc;
}

int oam_model_build(struct oam_model *m, struct oam_docset *ds, struct oam_diags *d)
{
	memset(m, 0, sizeof *m);
	m->arena = ds->arena;
	size_t before = d->nerrors;
	int n = oam_cores_for(ds->ndocs, PART_MIN_DOCS, PARTS_MAX);
	if (n > 1)
		build_parallel(m, ds, d, n);
	else
		for (size_t i = 0; i < ds->ndocs; i++)
			build_doc(m, &ds->docs[i], d);
	if (m->ncomps > 1)
		qsort(m->comps, m->ncomps, sizeof *m->comps, cmp_comp);
	return d->nerrors > before ? -1 : 0;
}

void oam_model_release(struct oam_model *m)
{
	free(m->comps);
	free(m->apps);
	memset(m, 0, sizeof *m);
}

struct oam_component *oam_model_component(const struct oam_model *m, const char *name)
{
	size_t lo = 0, hi = m->ncomps;
	while (lo < hi) {   /* first of equal names: the one defined first */
		size_t mid = (lo + hi) / 2;
		if (strcmp(m->comps[mid]->name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->ncomps && !strcmp(m->comps[lo]->name, name) ? m->comps[lo] : NULL;
}
