/* apply.c — dependency order, server-side apply, the ApplySet inventory,
 * prune, delete, wait, diff and status (see include/oamlua/apply.h). */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "oamlua/apply.h"
#include "oamlua/diff.h"
#include "oamlua/health.h"
#include "oamlua/model.h"

#define APPLY_CT "application/apply-patch+yaml"
#define ID_OWN "OAM813"

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	if (s <= 0)
		return;
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	nanosleep(&ts, NULL);
}

/* ---- SHA-256 (FIPS 180-4), for ApplySet IDs ---- */

static const uint32_t K256[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, hh;
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
		uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

void oam_sha256(const void *data, size_t len, unsigned char out[32])
{
	uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	const unsigned char *p = data;
	unsigned char tail[128];
	size_t full = len / 64 * 64, rest = len - full, tn;
	for (size_t i = 0; i < full; i += 64)
		sha_block(h, p + i);
	memset(tail, 0, sizeof tail);
	if (rest)
		memcpy(tail, p + full, rest);
	tail[rest] = 0x80;
	tn = rest + 9 > 64 ? 128 : 64;
	uint64_t bits = (uint64_t)len * 8;
	for (int i = 0; i < 8; i++)
		tail[tn - 1 - i] = (unsigned char)(bits >> (8 * i));
	sha_block(h, tail);
	if (tn == 128)
		sha_block(h, tail + 64);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (unsigned char)(h[i] >> 24);
		out[4 * i + 1] = (unsigned char)(h[i] >> 16);
		out[4 * i + 2] = (unsigned char)(h[i] >> 8);
		out[4 * i + 3] = (unsigned char)h[i];
	}
}

void oam_applyset_id(const char *name, const char *ns, const char *kind, const char *group, char *out, size_t size)
{
	char buf[1024];
	unsigned char dig[32];
	snprintf(buf, sizeof buf, "%s.%s.%s.%s", name, ns, kind, group);
	oam_sha256(buf, strlen(buf), dig);
	char *b = oam_base64_encode(dig, sizeof dig, 1);
	snprintf(out, size, "applyset-%s-v1", b ? b : "");
	free(b);
}

/* ---- kinds: dependency waves, and mappings for a client dry run ---- */

static const struct known {
	const char *group, *kind, *resource;
	int namespaced, wave;
} known[] = {
	{ "", "Namespace", "namespaces", 0, 0 },
	{ "apiextensions.k8s.io", "CustomResourceDefinition", "customresourcedefinitions", 0, 1 },
	{ "", "ServiceAccount", "serviceaccounts", 1, 2 },
	{ "", "Secret", "secrets", 1, 2 },
	{ "", "ConfigMap", "configmaps", 1, 2 },
	{ "", "PersistentVolumeClaim", "persistentvolumeclaims", 1, 2 },
	{ "", "PersistentVolume", "persistentvolumes", 0, 2 },
	{ "", "ResourceQuota", "resourcequotas", 1, 2 },
	{ "", "LimitRange", "limitranges", 1, 2 },
	{ "storage.k8s.io", "StorageClass", "storageclasses", 0, 2 },
	{ "scheduling.k8s.io", "PriorityClass", "priorityclasses", 0, 2 },
	{ "rbac.authorization.k8s.io", "ClusterRole", "clusterroles", 0, 2 },
	{ "rbac.authorization.k8s.io", "ClusterRoleBinding", "clusterrolebindings", 0, 2 },
	{ "rbac.authorization.k8s.io", "Role", "roles", 1, 2 },
	{ "rbac.authorization.k8s.io", "RoleBinding", "rolebindings", 1, 2 },
	{ "", "Service", "services", 1, 3 },
	{ "apps", "Deployment", "deployments", 1, 4 },
	{ "apps", "StatefulSet", "statefulsets", 1, 4 },
	{ "apps", "DaemonSet", "daemonsets", 1, 4 },
	{ "apps", "ReplicaSet", "replicasets", 1, 4 },
	{ "", "ReplicationController", "replicationcontrollers", 1, 4 },
	{ "", "Pod", "pods", 1, 4 },
	{ "batch", "Job", "jobs", 1, 4 },
	{ "batch", "CronJob", "cronjobs", 1, 4 },
	{ "networking.k8s.io", "Ingress", "ingresses", 1, 5 },
	{ "networking.k8s.io", "IngressClass", "ingressclasses", 0, 5 },
	{ "networking.k8s.io", "NetworkPolicy", "networkpolicies", 1, 5 },
	{ "autoscaling", "HorizontalPodAutoscaler", "horizontalpodautoscalers", 1, 5 },
	{ "policy", "PodDisruptionBudget", "poddisruptionbudgets", 1, 5 },
};

#define NWAVES 6

static const struct known *find_known(const char *group, const char *kind)
{
	for (size_t i = 0; i < sizeof known / sizeof *known; i++)
		if (!strcmp(known[i].group, group) && !strcmp(known[i].kind, kind))
			return &known[i];
	return NULL;
}

int oam_apply_wave(const char *group, const char *kind)
{
	const struct known *k = find_known(group, kind);
	return k ? k->wave : NWAVES - 1;
}

double oam_parse_duration(const char *s)
{
	double total = 0;
	char *end;
	if (!s || !*s)
		return -1;
	/* Plain seconds. */
	double v = strtod(s, &end);
	if (end != s && !*end && v >= 0)
		return v;
	while (*s) {
		v = strtod(s, &end);
		if (end == s || v < 0)
			return -1;
		s = end;
		if (!strncmp(s, "ms", 2)) {
			total += v / 1000;
			s += 2;
		} else if (*s == 'h') {
			total += v * 3600;
			s++;
		} else if (*s == 'm') {
			total += v * 60;
			s++;
		} else if (*s == 's') {
			total += v;
			s++;
		} else {
			return -1;
		}
	}
	return total;
}

static void split_av(const char *av, char *group, size_t gs, char *version, size_t vs)
{
	const char *slash = strchr(av, '/');
	if (slash) {
		snprintf(group, gs, "%.*s", (int)(slash - av), av);
		snprintf(version, vs, "%s", slash + 1);
	} else {
		snprintf(group, gs, "%s", "");
		snprintf(version, vs, "%s", av);
	}
}

/* ---- string sets (sorted JSON arrays of strings) ---- */

static void sset_add(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		int c = strcmp(json_string_value(v), s);
		if (!c)
			return;
		if (c > 0) {
			json_array_insert_new(arr, i, json_string(s));
			return;
		}
	}
	json_array_append_new(arr, json_string(s));
}

static char *sset_join(const json_t *a, const json_t *b, const char *skip)
{
	json_t *u = json_array();
	size_t i, n = 1;
	json_t *v;
	char *out, *p;
	json_array_foreach(a, i, v)
		sset_add(u, json_string_value(v));
	json_array_foreach(b, i, v)
		sset_add(u, json_string_value(v));
	json_array_foreach(u, i, v)
		n += strlen(json_string_value(v)) + 1;
	out = p = malloc(n);
	if (out) {
		*p = '\0';
		json_array_foreach(u, i, v) {
			const char *s = json_string_value(v);
			if (skip && !strcmp(s, skip))
				continue;
			p += sprintf(p, "%s%s", p == out ? "" : ",", s);
		}
	}
	json_decref(u);
	return out;
}

static void sset_parse(json_t *arr, const char *csv)
{
	char buf[8192], *save = NULL;
	if (!csv)
		return;
	oam_strlcpy(buf, csv, sizeof buf);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ')
			t++;
		if (*t)
			sset_add(arr, t);
	}
}

/* ---- the apply state ---- */

void oam_apply_init(struct oam_apply *a, struct oam_kube *k, const char *ns)
{
	memset(a, 0, sizeof *a);
	a->k = k;
	a->ns = ns;
}

static void members_free(struct oam_appset *s)
{
	for (size_t i = 0; i < s->nmembers; i++)
		json_decref(s->members[i].obj);
	free(s->members);
	s->members = NULL;
	s->nmembers = 0;
}

void oam_apply_release(struct oam_apply *a)
{
	for (size_t i = 0; i < a->n; i++)
		json_decref(a->objs[i].obj);
	free(a->objs);
	for (size_t i = 0; i < a->nsets; i++) {
		struct oam_appset *s = &a->sets[i];
		json_decref(s->gks_old);
		json_decref(s->nss_old);
		json_decref(s->gks_new);
		json_decref(s->nss_new);
		members_free(s);
	}
	free(a->sets);
	memset(a, 0, sizeof *a);
}

static long find_set(const struct oam_apply *a, const char *app)
{
	for (size_t i = 0; i < a->nsets; i++)
		if (!strcmp(a->sets[i].app, app))
			return (long)i;
	return -1;
}

int oam_apply_add_app(struct oam_apply *a, const char *app, struct oam_diags *d)
{
	long i = find_set(a, app);
	if (i >= 0)
		return (int)i;
	if (!oam_is_dns_subdomain(app) || strlen(app) + strlen(OAM_APPLYSET_PREFIX) > 253) {
		oam_diag_at(d, OAM_SEV_ERROR, ID_OWN, NULL, 0, 0, "application name '%s' cannot name an ApplySet parent", app);
		return -1;
	}
	struct oam_appset *v = realloc(a->sets, (a->nsets + 1) * sizeof *v);
	if (!v)
		return -1;
	a->sets = v;
	struct oam_appset *s = &v[a->nsets];
	memset(s, 0, sizeof *s);
	oam_strlcpy(s->app, app, sizeof s->app);
	oam_strlcpy(s->ns, a->ns, sizeof s->ns);
	snprintf(s->parent, sizeof s->parent, "%s%s", OAM_APPLYSET_PREFIX, app);
	oam_applyset_id(s->parent, s->ns, "Secret", "", s->id, sizeof s->id);
	s->gks_old = json_array();
	s->nss_old = json_array();
	s->gks_new = json_array();
	s->nss_new = json_array();
	if (!s->gks_old || !s->nss_old || !s->gks_new || !s->nss_new)
		return -1;
	return (int)a->nsets++;
}

static json_t *labels_of(json_t *obj, int create)
{
	json_t *md = json_object_get(obj, "metadata"), *l = json_object_get(md, "labels");
	if (!json_is_object(l) && create && json_is_object(md)) {
		l = json_object();
		json_object_set_new(md, "labels", l);
	}
	return json_is_object(l) ? l : NULL;
}

static const char *meta_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

int oam_apply_collect(struct oam_apply *a, lua_State *L, int idx, const char *default_app, struct oam_diags *d)
{
	lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
	char err[512];
	int rc = 0;
	idx = lua_absindex(L, idx);
	a->objs = calloc((size_t)n + 1, sizeof *a->objs);
	if (!a->objs)
		return -1;
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, idx, i);
		json_t *o = oam_lua_to_json(L, -1, err, sizeof err);
		lua_pop(L, 1);
		if (!o) {
			oam_diag_at(d, OAM_SEV_ERROR, "OAM604", NULL, 0, 0, "cannot convert a rendered object: %s", err);
			rc = -1;
			continue;
		}
		struct oam_aobj *x = &a->objs[a->n];
		const char *av = json_string_value(json_object_get(o, "apiVersion"));
		const char *kind = json_string_value(json_object_get(o, "kind"));
		const char *name = meta_str(o, "name"), *ns = meta_str(o, "namespace");
		json_t *labels = labels_of(o, 1);
		const char *app = json_string_value(json_object_get(labels, OAM_LABEL_APP));
		char group[128], version[64];
		if (!av || !kind || !name || !labels) {
			oam_diag_at(d, OAM_SEV_ERROR, "OAM604", NULL, 0, 0, "a rendered object has no apiVersion, kind or name");
			json_decref(o);
			rc = -1;
			continue;
		}
		x->obj = o;
		a->n++;
		oam_strlcpy(x->api_version, av, sizeof x->api_version);
		oam_strlcpy(x->kind, kind, sizeof x->kind);
		oam_strlcpy(x->name, name, sizeof x->name);
		oam_strlcpy(x->ns, ns ? ns : "", sizeof x->ns);
		split_av(av, group, sizeof group, version, sizeof version);
		x->wave = oam_apply_wave(group, kind);
		/* Until the REST mapping is known: kubectl's resource/name form from the kind. */
		{
			struct oam_kres tmp;
			memset(&tmp, 0, sizeof tmp);
			oam_strlcpy(tmp.group, group, sizeof tmp.group);
			oam_strlcpy(tmp.kind, kind, sizeof tmp.kind);
			oam_kres_display(&tmp, name, x->what, sizeof x->what);
		}
		if (!app)
			app = default_app;
		if (!app) {
			struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, "OAM604", NULL, 0, 0,
							"%s has no %s label, and the input holds several applications",
							x->what, OAM_LABEL_APP);
			oam_diag_hint(e, "a module must keep the labels the host sets on rendered objects");
			rc = -1;
			continue;
		}
		if (json_object_get(labels, OAM_LABEL_PART_OF)) {
			struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, "OAM604", NULL, 0, 0, "%s already sets the label %s",
							x->what, OAM_LABEL_PART_OF);
			oam_diag_hint(e, "oamlua sets it to mark the objects of an application; remove it from the module");
			rc = -1;
			continue;
		}
		int si = oam_apply_add_app(a, app, d);
		if (si < 0) {
			rc = -1;
			continue;
		}
		x->set = (size_t)si;
		json_object_set_new(labels, OAM_LABEL_APP, json_string(app));
		json_object_set_new(labels, OAM_LABEL_PART_OF, json_string(a->sets[si].id));
		if (!strcmp(kind, "Namespace") && !*group && !strcmp(name, a->sets[si].ns))
			a->sets[si].has_ns_object = 1;
		/* Two objects with one identity would fight: refuse. */
		for (size_t j = 0; j + 1 < a->n; j++)
			if (!strcmp(a->objs[j].name, x->name) && !strcmp(a->objs[j].kind, x->kind) &&
			    !strcmp(a->objs[j].api_version, x->api_version) && !strcmp(a->objs[j].ns, x->ns)) {
				oam_diag_at(d, OAM_SEV_ERROR, "OAM604", NULL, 0, 0, "%s is rendered twice", x->what);
				rc = -1;
				break;
			}
	}
	if (!a->n && !rc) {
		struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, "OAM201", NULL, 0, 0, "nothing to apply: the input renders no objects");
		oam_diag_hint(e, "give an ApplicationConfiguration together with its ComponentSchematics");
		rc = -1;
	}
	return rc;
}

/* ---- mapping ---- */

/* After the mapping is known: URL scope, namespace in the body, names. */
static void set_mapping(struct oam_apply *a, struct oam_aobj *x, const struct oam_kres *res)
{
	json_t *md = json_object_get(x->obj, "metadata");
	x->res = *res;
	x->mapped = 1;
	x->deferred = 0;
	if (res->namespaced) {
		if (!x->ns[0])
			oam_strlcpy(x->ns, a->ns, sizeof x->ns);
		json_object_set_new(md, "namespace", json_string(x->ns));
	} else {
		x->ns[0] = '\0';
		json_object_del(md, "namespace");
	}
	oam_kres_display(res, x->name, x->what, sizeof x->what);
}

/* Is there a CRD in the input that defines group/kind? */
static int crd_in_input(const struct oam_apply *a, const char *group, const char *kind)
{
	for (size_t i = 0; i < a->n; i++) {
		const struct oam_aobj *c = &a->objs[i];
		if (strcmp(c->kind, "CustomResourceDefinition") || strncmp(c->api_version, "apiextensions.k8s.io/", 21))
			continue;
		json_t *spec = json_object_get(c->obj, "spec");
		const char *g = json_string_value(json_object_get(spec, "group"));
		const char *k = json_string_value(json_object_get(json_object_get(spec, "names"), "kind"));
		if (g && k && !strcmp(g, group) && !strcmp(k, kind))
			return 1;
	}
	return 0;
}

static int map_all(struct oam_apply *a, int only_deferred, struct oam_diags *d)
{
	const char **gvs = calloc(a->n + 1, sizeof *gvs);
	size_t ngv = 0;
	int rc = 0;
	if (!gvs)
		return -1;
	for (size_t i = 0; i < a->n; i++) {
		if (a->objs[i].mapped || (only_deferred && !a->objs[i].deferred))
			continue;
		gvs[ngv++] = a->objs[i].api_version;
	}
	if (ngv && oam_kube_discover(a->k, gvs, ngv, d) < 0) {
		free(gvs);
		return -1;
	}
	free(gvs);
	for (size_t i = 0; i < a->n; i++) {
		struct oam_aobj *x = &a->objs[i];
		struct oam_kres res;
		if (x->mapped || (only_deferred && !x->deferred))
			continue;
		int r = oam_kube_map(a->k, x->api_version, x->kind, &res, d);
		if (r < 0) {
			rc = -1;
			continue;
		}
		if (r == 0) {
			set_mapping(a, x, &res);
			continue;
		}
		char group[128], version[64];
		split_av(x->api_version, group, sizeof group, version, sizeof version);
		if (!only_deferred && crd_in_input(a, group, x->kind)) {
			x->deferred = 1;
			continue;
		}
		if (only_deferred)
			continue;
		struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, "OAM807", NULL, 0, 0,
						"%s: no matches for kind \"%s\" in version \"%s\"", x->what, x->kind, x->api_version);
		oam_diag_hint(e, "the server does not serve this kind: install its CustomResourceDefinition first, "
			      "or check the apiVersion the module emits");
		rc = -1;
	}
	return rc;
}

/* Client dry run: the built-in table, else assume a namespaced kind. */
static void map_offline(struct oam_apply *a)
{
	for (size_t i = 0; i < a->n; i++) {
		struct oam_aobj *x = &a->objs[i];
		struct oam_kres res;
		char group[128], version[64], lower[128];
		split_av(x->api_version, group, sizeof group, version, sizeof version);
		const struct known *k = find_known(group, x->kind);
		memset(&res, 0, sizeof res);
		oam_strlcpy(res.group, group, sizeof res.group);
		oam_strlcpy(res.version, version, sizeof res.version);
		oam_strlcpy(res.kind, x->kind, sizeof res.kind);
		if (k) {
			oam_strlcpy(res.resource, k->resource, sizeof res.resource);
			res.namespaced = k->namespaced;
		} else {
			size_t j;
			for (j = 0; x->kind[j] && j < sizeof lower - 2; j++)
				lower[j] = (char)tolower((unsigned char)x->kind[j]);
			lower[j] = '\0';
			snprintf(res.resource, sizeof res.resource, "%ss", lower);
			res.namespaced = 1;
		}
		set_mapping(a, x, &res);
	}
}

/* ---- the parent ---- */

static void fill_new_sets(struct oam_apply *a)
{
	for (size_t i = 0; i < a->n; i++) {
		struct oam_aobj *x = &a->objs[i];
		struct oam_appset *s = &a->sets[x->set];
		char gk[300];
		char group[128], version[64];
		split_av(x->api_version, group, sizeof group, version, sizeof version);
		if (group[0])
			snprintf(gk, sizeof gk, "%s.%s", x->kind, group);
		else
			snprintf(gk, sizeof gk, "%s", x->kind);
		sset_add(s->gks_new, gk);
		if (x->mapped && x->res.namespaced && strcmp(x->ns, s->ns))
			sset_add(s->nss_new, x->ns);
		if (x->deferred && x->ns[0] && strcmp(x->ns, s->ns))
			sset_add(s->nss_new, x->ns);
	}
}

static int parents_get(struct oam_apply *a, struct oam_diags *d)
{
	struct oam_kreq **rs = calloc(a->nsets + 1, sizeof *rs);
	int rc = 0;
	if (!rs)
		return -1;
	for (size_t i = 0; i < a->nsets; i++) {
		rs[i] = oam_kreq_new("GET", "/api/v1/namespaces/%s/secrets/%s", a->sets[i].ns, a->sets[i].parent);
		if (!rs[i]) {
			oam_kreqs_free(rs, i);
			return -1;
		}
	}
	if (oam_kube_run(a->k, rs, a->nsets) < 0) {
		oam_kreqs_free(rs, a->nsets);
		return -1;
	}
	for (size_t i = 0; i < a->nsets; i++) {
		struct oam_appset *s = &a->sets[i];
		struct oam_kreq *r = rs[i];
		char what[400];
		snprintf(what, sizeof what, "secret/%s (ApplySet parent of '%s')", s->parent, s->app);
		if (r->status == 404) {
			s->exists = 0;
			continue;
		}
		if (r->status != 200 || !json_is_object(r->json)) {
			oam_kube_report(a->k, r, what, d);
			rc = -1;
			continue;
		}
		json_t *md = json_object_get(r->json, "metadata");
		json_t *ann = json_object_get(md, "annotations");
		const char *id = json_string_value(json_object_get(json_object_get(md, "labels"), OAM_LABEL_APPLYSET_ID));
		const char *tool = json_string_value(json_object_get(ann, "applyset.kubernetes.io/tooling"));
		if (!id || strcmp(id, s->id) || !tool || strncmp(tool, "oamlua/", 7)) {
			struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, ID_OWN, NULL, 0, 0,
							"%s exists but is not an oamlua ApplySet parent (tooling '%s')", what,
							tool ? tool : "none");
			oam_diag_hint(e, "oamlua never takes over objects of another tool; rename the application or remove the Secret");
			rc = -1;
			continue;
		}
		s->exists = 1;
		sset_parse(s->gks_old, json_string_value(json_object_get(ann, "applyset.kubernetes.io/contains-group-kinds")));
		sset_parse(s->nss_old, json_string_value(json_object_get(ann, "applyset.kubernetes.io/additional-namespaces")));
	}
	oam_kreqs_free(rs, a->nsets);
	return rc;
}

static json_t *parent_body(const struct oam_appset *s, const char *gks, const char *nss)
{
	char tooling[64];
	snprintf(tooling, sizeof tooling, "oamlua/v%s", OAM_VERSION);
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}}}", "apiVersion", "v1", "kind",
			 "Secret", "metadata", "name", s->parent, "namespace", s->ns, "labels", OAM_LABEL_APPLYSET_ID, s->id,
			 OAM_LABEL_APP, s->app, "app.kubernetes.io/managed-by", "oamlua", "annotations",
			 "applyset.kubernetes.io/tooling", tooling, "applyset.kubernetes.io/contains-group-kinds", gks,
			 "applyset.kubernetes.io/additional-namespaces", nss);
}

/* Writes the parents of `sets` (NULL = all); `union_old` keeps what they
 * held before (before applying) or not (after a prune). */
static int parents_put(struct oam_apply *a, const int *which, int union_old, struct oam_diags *d)
{
	struct oam_kreq **rs = calloc(a->nsets + 1, sizeof *rs);
	size_t m = 0;
	int rc = 0;
	if (!rs)
		return -1;
	for (size_t i = 0; i < a->nsets; i++) {
		struct oam_appset *s = &a->sets[i];
		if (which && !which[i])
			continue;
		char *gks = sset_join(s->gks_new, union_old ? s->gks_old : NULL, NULL);
		char *nss = sset_join(s->nss_new, union_old ? s->nss_old : NULL, s->ns);
		json_t *body = gks && nss ? parent_body(s, gks, nss) : NULL;
		free(gks);
		free(nss);
		rs[m] = body ? oam_kreq_new("PATCH", "/api/v1/namespaces/%s/secrets/%s?fieldManager=%s&force=true", s->ns,
					    s->parent, OAM_FIELD_MANAGER) : NULL;
		if (!rs[m] || oam_kreq_body(rs[m], body, APPLY_CT) < 0) {
			json_decref(body);
			oam_kreqs_free(rs, m + 1);
			return -1;
		}
		json_decref(body);
		rs[m]->what = s->parent;
		m++;
	}
	if (oam_kube_run(a->k, rs, m) < 0) {
		oam_kreqs_free(rs, m);
		return -1;
	}
	for (size_t i = 0, j = 0; i < a->nsets; i++) {
		if (which && !which[i])
			continue;
		struct oam_kreq *r = rs[j++];
		if (r->status != 200 && r->status != 201) {
			char what[400];
			snprintf(what, sizeof what, "secret/%s (ApplySet parent of '%s')", a->sets[i].parent, a->sets[i].app);
			oam_kube_report(a->k, r, what, d);
			rc = -1;
		} else {
			a->sets[i].exists = 1;
		}
	}
	oam_kreqs_free(rs, m);
	return rc;
}

/* ---- members found by label ---- */

static void member_key(const char *group, const char *kind, const char *ns, const char *name, char *out, size_t size)
{
	snprintf(out, size, "%s/%s/%s/%s", group, kind, ns, name);
}

static int cmp_member(const void *pa, const void *pb)
{
	return strcmp(((const struct oam_member *)pa)->key, ((const struct oam_member *)pb)->key);
}

static struct oam_member *find_member(struct oam_appset *s, const char *group, const char *kind, const char *ns,
				      const char *name)
{
	struct oam_member key;
	if (!s->nmembers)
		return NULL;
	member_key(group, kind, ns, name, key.key, sizeof key.key);
	return bsearch(&key, s->members, s->nmembers, sizeof *s->members, cmp_member);
}

/* One LIST to make: a resource in a namespace (or cluster-wide), for a set. */
struct lspec {
	struct oam_kres res;
	size_t owner;
	int cluster;
	char ns[254];
	char sel[300];
};

static int lspec_push(struct lspec **v, size_t *n, size_t *cap, const struct oam_kres *res, size_t owner,
		      const char *ns, const char *id)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		struct lspec *nv = realloc(*v, c * sizeof *nv);
		if (!nv)
			return -1;
		*v = nv;
		*cap = c;
	}
	struct lspec *x = &(*v)[(*n)++];
	memset(x, 0, sizeof *x);
	x->res = *res;
	x->owner = owner;
	x->cluster = !ns;
	oam_strlcpy(x->ns, ns ? ns : "", sizeof x->ns);
	snprintf(x->sel, sizeof x->sel, "%s=%s", OAM_LABEL_PART_OF, id);
	return 0;
}

/* Where a group-kind lives. A kind this run applies was mapped by the
 * discovery of its group-version already: reuse that, and ask the server's
 * group list (GET /apis, one more round trip before the first write) only
 * for kinds that the parent recorded and this run no longer renders. */
static int map_member_gk(struct oam_apply *a, const char *group, const char *kind, struct oam_kres *out,
			 struct oam_diags *d)
{
	for (size_t i = 0; i < a->n; i++) {
		const struct oam_aobj *x = &a->objs[i];
		if (x->mapped && !strcmp(x->res.group, group) && !strcmp(x->res.kind, kind)) {
			*out = x->res;
			return 0;
		}
	}
	return oam_kube_map_gk(a->k, group, kind, out, d);
}

/* Lists the members of every set by their part-of label: group-kinds old ∪
 * new, in the parent's namespace and the old and new extra namespaces. */
static int members_list(struct oam_apply *a, struct oam_diags *d)
{
	struct lspec *sp = NULL;
	struct oam_klist *ls = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	for (size_t si = 0; si < a->nsets && !rc; si++) {
		struct oam_appset *s = &a->sets[si];
		json_t *gks = json_array(), *nss = json_array();
		size_t i, j;
		json_t *v, *w;
		members_free(s);
		json_array_foreach(s->gks_old, i, v)
			sset_add(gks, json_string_value(v));
		json_array_foreach(s->gks_new, i, v)
			sset_add(gks, json_string_value(v));
		sset_add(nss, s->ns);
		json_array_foreach(s->nss_old, i, v)
			sset_add(nss, json_string_value(v));
		json_array_foreach(s->nss_new, i, v)
			sset_add(nss, json_string_value(v));
		json_array_foreach(gks, i, v) {
			const char *gk = json_string_value(v), *dot = strchr(gk, '.');
			char kind[128], group[128];
			struct oam_kres r;
			snprintf(kind, sizeof kind, "%.*s", dot ? (int)(dot - gk) : (int)strlen(gk), gk);
			snprintf(group, sizeof group, "%s", dot ? dot + 1 : "");
			int mr = map_member_gk(a, group, kind, &r, d);
			if (mr < 0) {
				rc = -1;
				break;
			}
			if (mr == 1)
				continue;       /* the kind is gone (CRD deleted): nothing to find */
			if (!r.namespaced) {
				if (lspec_push(&sp, &n, &cap, &r, si, NULL, s->id) < 0)
					rc = -1;
				continue;
			}
			json_array_foreach(nss, j, w)
				if (lspec_push(&sp, &n, &cap, &r, si, json_string_value(w), s->id) < 0)
					rc = -1;
		}
		json_decref(gks);
		json_decref(nss);
	}
	if (rc < 0 || !n)
		goto out;
	if (!(ls = calloc(n, sizeof *ls))) {
		rc = -1;
		goto out;
	}
	for (size_t j = 0; j < n; j++) {
		ls[j].res = &sp[j].res;
		ls[j].ns = sp[j].cluster ? NULL : sp[j].ns;
		ls[j].selector = sp[j].sel;
	}
	if (oam_kube_list(a->k, ls, n, d) < 0)
		rc = -1;
	for (size_t j = 0; j < n; j++) {
		struct oam_appset *s = &a->sets[sp[j].owner];
		size_t i;
		json_t *it;
		json_array_foreach(ls[j].items, i, it) {
			json_t *labels = labels_of(it, 0);
			const char *po = json_string_value(json_object_get(labels, OAM_LABEL_PART_OF));
			const char *name = meta_str(it, "name"), *ns = meta_str(it, "namespace");
			if (!po || strcmp(po, s->id) || !name)      /* the server's selector, checked again */
				continue;
			struct oam_member *mv = realloc(s->members, (s->nmembers + 1) * sizeof *mv);
			if (!mv) {
				rc = -1;
				break;
			}
			s->members = mv;
			struct oam_member *m = &mv[s->nmembers++];
			memset(m, 0, sizeof *m);
			m->res = sp[j].res;
			m->obj = json_incref(it);
			oam_strlcpy(m->name, name, sizeof m->name);
			oam_strlcpy(m->ns, ns ? ns : "", sizeof m->ns);
			oam_strlcpy(m->uid, meta_str(it, "uid") ? meta_str(it, "uid") : "", sizeof m->uid);
			oam_strlcpy(m->rv, meta_str(it, "resourceVersion") ? meta_str(it, "resourceVersion") : "", sizeof m->rv);
			oam_kres_display(&m->res, name, m->what, sizeof m->what);
			member_key(m->res.group, m->res.kind, m->ns, m->name, m->key, sizeof m->key);
		}
	}
	for (size_t si = 0; si < a->nsets; si++)
		if (a->sets[si].nmembers)
			qsort(a->sets[si].members, a->sets[si].nmembers, sizeof *a->sets[si].members, cmp_member);
out:
	if (ls)
		for (size_t j = 0; j < n; j++)
			json_decref(ls[j].items);
	free(ls);
	free(sp);
	return rc;
}

/* The namespaces of this run's objects other than the parent's. */
static void reset_new_namespaces(struct oam_apply *a)
{
	for (size_t i = 0; i < a->nsets; i++)
		json_array_clear(a->sets[i].nss_new);
	for (size_t i = 0; i < a->n; i++) {
		struct oam_aobj *x = &a->objs[i];
		struct oam_appset *s = &a->sets[x->set];
		if (x->ns[0] && strcmp(x->ns, s->ns))
			sset_add(s->nss_new, x->ns);
	}
}

/* ---- applying ---- */

static const char *dry_suffix(const struct oam_apply_opts *o)
{
	return o->dry_run == OAM_DRY_SERVER ? " (server dry run)" : o->dry_run == OAM_DRY_CLIENT ? " (dry run)" : "";
}

static json_t *strip_server_fields(const json_t *obj)
{
	json_t *c = json_deep_copy(obj), *md = json_object_get(c, "metadata");
	static const char *const drop[] = { "managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", NULL };
	for (int i = 0; drop[i]; i++)
		json_object_del(md, drop[i]);
	return c;
}

static int same_object(const json_t *a, const json_t *b)
{
	json_t *x = strip_server_fields(a), *y = strip_server_fields(b);
	int eq = json_equal(x, y);
	json_decref(x);
	json_decref(y);
	return eq;
}

static struct oam_kreq *apply_req(const struct oam_aobj *x, const struct oam_apply_opts *o)
{
	char *path = oam_kres_path(&x->res, x->ns, x->name);
	struct oam_kreq *r = NULL;
	if (!path)
		return NULL;
	r = oam_kreq_new("PATCH", "%s?fieldManager=%s&force=%s%s", path, OAM_FIELD_MANAGER,
			 o->force_conflicts ? "true" : "false", o->dry_run == OAM_DRY_SERVER ? "&dryRun=All" : "");
	free(path);
	if (r && oam_kreq_body(r, x->obj, APPLY_CT) < 0) {
		oam_kreq_free(r);
		return NULL;
	}
	if (r)
		r->what = x->what;
	return r;
}

static void print_result(const struct oam_aobj *x, const struct oam_apply_opts *o)
{
	static const char *const words[] = { "", "created", "configured", "unchanged", "", "" };
	if (x->result != OAM_A_CREATED && x->result != OAM_A_CONFIGURED && x->result != OAM_A_UNCHANGED)
		return;
	if (o->output_name)
		printf("%s\n", x->what);
	else
		printf("%s %s%s\n", x->what, words[x->result], dry_suffix(o));
}

/* A wave in flight: what its answers need. */
struct wave {
	struct oam_apply *a;
	const struct oam_apply_opts *o;
	const size_t *idx;              /* request j applies a->objs[idx[j]] */
};

/* One answer of a wave, as soon as it arrives: a success is settled and its
 * response freed while the other requests are still in flight (the server
 * is the bottleneck, so the client's work hides behind it). A failure stays
 * for apply_wave to report in input order. */
static void wave_answer(struct oam_kreq *r, size_t j, void *ctx)
{
	const struct wave *w = ctx;
	struct oam_aobj *x = &w->a->objs[w->idx[j]];
	if ((r->status != 200 && r->status != 201) || !json_is_object(r->json))
		return;
	const char *uid = meta_str(r->json, "uid"), *rv = meta_str(r->json, "resourceVersion");
	oam_strlcpy(x->uid, uid ? uid : "", sizeof x->uid);
	struct oam_member *before = find_member(&w->a->sets[x->set], x->res.group, x->res.kind, x->ns, x->name);
	if (r->status == 201)
		x->result = OAM_A_CREATED;
	else if (w->o->dry_run == OAM_DRY_SERVER)
		x->result = before && same_object(before->obj, r->json) ? OAM_A_UNCHANGED : OAM_A_CONFIGURED;
	else
		x->result = before && rv && !strcmp(before->rv, rv) ? OAM_A_UNCHANGED : OAM_A_CONFIGURED;
	oam_kreq_drop_response(r);
}

/* Applies the objects of one wave concurrently. Returns the number of failures. */
static size_t apply_wave(struct oam_apply *a, int wave, const struct oam_apply_opts *o, struct oam_diags *d)
{
	struct oam_kreq **rs = calloc(a->n + 1, sizeof *rs);
	size_t *idx = calloc(a->n + 1, sizeof *idx), m = 0, failed = 0;
	if (!rs || !idx) {
		free(rs);
		free(idx);
		return 1;
	}
	for (size_t i = 0; i < a->n; i++) {
		struct oam_aobj *x = &a->objs[i];
		if (x->wave != wave || x->result != OAM_A_PENDING)
			continue;
		if (!x->mapped) {
			if (o->dry_run == OAM_DRY_SERVER && x->deferred) {
				oam_warnf("%s: not checked: its CustomResourceDefinition is not installed yet", x->what);
				x->result = OAM_A_SKIPPED;
			} else {
				struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, "OAM807", NULL, 0, 0,
								"%s: no matches for kind \"%s\" in version \"%s\"", x->what,
								x->kind, x->api_version);
				oam_diag_hint(e, "the CustomResourceDefinition in the application did not become served in time");
				x->result = OAM_A_FAILED;
				failed++;
			}
			continue;
		}
		if (!(rs[m] = apply_req(x, o))) {
			failed++;
			x->result = OAM_A_FAILED;
			continue;
		}
		idx[m++] = i;
	}
	struct wave w = { a, o, idx };
	int run = m ? oam_kube_run_each(a->k, rs, m, wave_answer, &w) : 0;
	for (size_t j = 0; j < m; j++) {
		struct oam_aobj *x = &a->objs[idx[j]];
		struct oam_kreq *r = rs[j];
		if (x->result != OAM_A_PENDING)
			continue;       /* settled by wave_answer */
		if (run < 0) {
			/* No credentials for the rest: not applied. */
		} else if (r->status == 200 || r->status == 201) {
			oam_diag_at(d, OAM_SEV_ERROR, "OAM812", NULL, 0, 0, "%s: the API server answered without an object",
				    x->what);
		} else {
			oam_kube_report(a->k, r, x->what, d);
		}
		x->result = OAM_A_FAILED;
		failed++;
	}
	/* Report in input order. */
	for (size_t i = 0; i < a->n; i++)
		if (a->objs[i].wave == wave)
			print_result(&a->objs[i], o);
	fflush(stdout);
	oam_kreqs_free(rs, m);
	free(idx);
	return failed;
}

/* After the CRD wave: wait until the new kinds are served, then map them. */
static int map_deferred(struct oam_apply *a, struct oam_diags *d)
{
	double deadline = mono() + 20;
	for (;;) {
		size_t left = 0;
		oam_kube_forget(a->k);
		if (map_all(a, 1, d) < 0)
			return -1;
		for (size_t i = 0; i < a->n; i++)
			left += a->objs[i].deferred;
		if (!left || mono() > deadline)
			return 0;
		sleep_s(0.5);
	}
}

/* ---- deleting (prune and delete) ---- */

struct victim {
	const struct oam_member *m;
	int wave;
};

static int cmp_victim(const void *pa, const void *pb)
{
	const struct victim *a = pa, *b = pb;
	if (a->wave != b->wave)
		return b->wave - a->wave;       /* dependents first */
	return strcmp(a->m->key, b->m->key);
}

static struct oam_kreq *delete_req(const struct oam_member *m, int dry)
{
	char *path = oam_kres_path(&m->res, m->ns, m->name);
	struct oam_kreq *r = path ? oam_kreq_new("DELETE", "%s", path) : NULL;
	json_t *body = json_pack("{s:s, s:s, s:s, s:{s:s}}", "kind", "DeleteOptions", "apiVersion", "v1", "propagationPolicy",
				 "Background", "preconditions", "uid", m->uid);
	free(path);
	if (dry && body)
		json_object_set_new(body, "dryRun", json_pack("[s]", "All"));
	if (!r || !body || oam_kreq_body(r, body, "application/json") < 0) {
		oam_kreq_free(r);
		r = NULL;
	}
	json_decref(body);
	if (r)
		r->what = m->what;
	return r;
}

/* Deletes victims wave by wave (dependents first). `style` 0 = prune lines
 * ("configmap/x pruned"), 1 = delete lines ("configmap \"x\" deleted"). */
static int delete_victims(struct oam_apply *a, struct victim *v, size_t n, int style, const struct oam_apply_opts *o,
			  struct oam_diags *d)
{
	int rc = 0;
	int dry = o->dry_run == OAM_DRY_SERVER;
	qsort(v, n, sizeof *v, cmp_victim);
	for (size_t start = 0; start < n;) {
		size_t end = start;
		while (end < n && v[end].wave == v[start].wave)
			end++;
		size_t m = end - start;
		struct oam_kreq **rs = calloc(m, sizeof *rs);
		if (!rs)
			return -1;
		for (size_t j = 0; j < m; j++)
			if (!(rs[j] = delete_req(v[start + j].m, dry))) {
				oam_kreqs_free(rs, j);
				return -1;
			}
		if (oam_kube_run(a->k, rs, m) < 0) {
			oam_kreqs_free(rs, m);
			return -1;
		}
		for (size_t j = 0; j < m; j++) {
			const struct oam_member *mm = v[start + j].m;
			struct oam_kreq *r = rs[j];
			if (r->status == 200 || r->status == 202 || r->status == 404) {
				/* 404: someone else deleted it first, which is what we wanted. */
				if (style == 0) {
					printf("%s pruned%s\n", mm->what, dry_suffix(o));
				} else {
					char kind[300];
					const char *slash = strchr(mm->what, '/');
					snprintf(kind, sizeof kind, "%.*s", (int)(slash - mm->what), mm->what);
					printf("%s \"%s\" deleted%s\n", kind, mm->name, dry_suffix(o));
				}
			} else if (r->status == 409 && strstr(oam_kube_message(r), "Precondition failed")) {
				oam_warnf("%s: not deleted: it was replaced by another object with the same name", mm->what);
			} else {
				oam_kube_report(a->k, r, mm->what, d);
				rc = -1;
			}
		}
		fflush(stdout);
		oam_kreqs_free(rs, m);
		start = end;
	}
	return rc;
}

static int prune(struct oam_apply *a, const struct oam_apply_opts *o, struct oam_diags *d)
{
	struct victim *v = NULL;
	size_t n = 0;
	int rc;
	for (size_t si = 0; si < a->nsets; si++) {
		struct oam_appset *s = &a->sets[si];
		for (size_t i = 0; i < s->nmembers; i++) {
			struct oam_member *m = &s->members[i];
			int keep = 0;
			/* Keep what this run applied: same UID, as kubectl compares. */
			for (size_t j = 0; j < a->n && !keep; j++)
				if (a->objs[j].set == si && a->objs[j].uid[0] && !strcmp(a->objs[j].uid, m->uid))
					keep = 1;
			/* Dry run: objects that would be created have no UID; match by identity. */
			for (size_t j = 0; j < a->n && !keep && o->dry_run == OAM_DRY_SERVER; j++) {
				const struct oam_aobj *x = &a->objs[j];
				if (x->set == si && !strcmp(x->res.group, m->res.group) && !strcmp(x->res.kind, m->res.kind) &&
				    !strcmp(x->ns, m->ns) && !strcmp(x->name, m->name))
					keep = 1;
			}
			if (keep || json_object_get(json_object_get(m->obj, "metadata"), "deletionTimestamp"))
				continue;
			struct victim *nv = realloc(v, (n + 1) * sizeof *nv);
			if (!nv) {
				free(v);
				return -1;
			}
			v = nv;
			v[n].m = m;
			v[n].wave = oam_apply_wave(m->res.group, m->res.kind);
			n++;
		}
	}
	rc = n ? delete_victims(a, v, n, 0, o, d) : 0;
	free(v);
	return rc;
}

/* ---- waiting ---- */

static int wait_ready(struct oam_apply *a, const struct oam_apply_opts *o, struct oam_diags *d)
{
	double t0 = mono(), deadline = t0 + o->timeout;
	int tty = isatty(2), rc = -1;
	struct oam_hentry *ent = calloc(a->n + 1, sizeof *ent);
	if (!ent)
		return -1;
	for (;;) {
		size_t current = 0, failed = 0;
		const char *first_wait = NULL;
		if (members_list(a, d) < 0)
			goto out;
		for (size_t i = 0; i < a->n; i++) {
			struct oam_aobj *x = &a->objs[i];
			struct oam_member *m = find_member(&a->sets[x->set], x->res.group, x->res.kind, x->ns, x->name);
			if (m) {
				oam_hentry_fill(&ent[i], m->obj, x->what);
			} else {
				memset(&ent[i], 0, sizeof ent[i]);
				oam_strlcpy(ent[i].what, x->what, sizeof ent[i].what);
				ent[i].status = OAM_H_NOTFOUND;
				snprintf(ent[i].msg, sizeof ent[i].msg, "not found");
			}
			if (ent[i].status == OAM_H_CURRENT)
				current++;
			else if (ent[i].status == OAM_H_FAILED)
				failed++;
			else if (!first_wait)
				first_wait = ent[i].what;
		}
		if (tty) {
			size_t k;
			for (k = 0; k < a->n && ent[k].status == OAM_H_CURRENT; k++)
				;
			fprintf(stderr, "\r\033[Kwaiting: %zu/%zu current (%.0fs)%s%s%s%s", current, a->n, mono() - t0,
				k < a->n ? "; " : "", k < a->n ? ent[k].what : "", k < a->n ? ": " : "",
				k < a->n ? ent[k].msg : "");
			fflush(stderr);
		}
		if (failed || current == a->n || mono() >= deadline) {
			if (tty)
				fputs("\r\033[K", stderr);
			if (current == a->n) {
				fprintf(stderr, "oamlua: %zu object%s ready after %.1fs\n", a->n, a->n == 1 ? "" : "s", mono() - t0);
				rc = 0;
				goto out;
			}
			for (size_t i = 0; i < a->n; i++) {
				if (ent[i].status == OAM_H_CURRENT)
					continue;
				struct oam_err *e = ent[i].status == OAM_H_FAILED
					? oam_diag_at(d, OAM_SEV_ERROR, "OAM814", NULL, 0, 0, "%s failed: %s", ent[i].what, ent[i].msg)
					: oam_diag_at(d, OAM_SEV_ERROR, "OAM814", NULL, 0, 0, "%s is not ready after %gs: %s: %s",
						      ent[i].what, o->timeout, oam_health_name(ent[i].status), ent[i].msg);
				oam_diag_hint(e, failed ? "see 'oamlua status %s'" : "wait longer with --timeout, or see 'oamlua status %s'",
					      a->sets[a->objs[i].set].app);
			}
			goto out;
		}
		double left = deadline - mono();
		sleep_s(left < 1.0 ? left : 1.0);
	}
out:
	free(ent);
	return rc;
}

/* ---- apply ---- */

static int client_dry_run(struct oam_apply *a, const struct oam_apply_opts *o, struct oam_diags *d)
{
	struct oam_buf out = { 0 };
	json_t *list = NULL;
	int rc = 0;
	map_offline(a);
	reset_new_namespaces(a);
	fill_new_sets(a);
	if (o->output && (!strcmp(o->output, "yaml") || !strcmp(o->output, "json"))) {
		int json = !strcmp(o->output, "json");
		list = json_array();
		for (size_t si = 0; si < a->nsets; si++) {
			char *gks = sset_join(a->sets[si].gks_new, NULL, NULL), *nss = sset_join(a->sets[si].nss_new, NULL, a->sets[si].ns);
			if (gks && nss)
				json_array_append_new(list, parent_body(&a->sets[si], gks, nss));
			free(gks);
			free(nss);
		}
		for (int w = 0; w < NWAVES; w++)
			for (size_t i = 0; i < a->n; i++)
				if (a->objs[i].wave == w)
					json_array_append(list, a->objs[i].obj);
		if (json) {
			json_t *l = json_pack("{s:s, s:s, s:O}", "apiVersion", "v1", "kind", "List", "items", list);
			char *s = json_dumps(l, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			if (s)
				printf("%s\n", s);
			free(s);
			json_decref(l);
		} else {
			size_t i;
			json_t *x;
			json_array_foreach(list, i, x) {
				if (oam_buf_add(&out, "---\n", 4) < 0 || oam_json_yaml(x, &out) < 0)
					rc = -1;
			}
			if (oam_buf_write(&out, stdout) < 0)
				rc = -1;
		}
		json_decref(list);
		oam_buf_release(&out);
		(void)d;
		return rc ? OAM_EXIT_SYSTEM : 0;
	}
	for (int w = 0; w < NWAVES; w++)
		for (size_t i = 0; i < a->n; i++)
			if (a->objs[i].wave == w) {
				if (o->output_name)
					printf("%s\n", a->objs[i].what);
				else
					printf("%s applied (dry run)\n", a->objs[i].what);
			}
	return 0;
}

int oam_apply_run(struct oam_apply *a, const struct oam_apply_opts *o, struct oam_diags *d)
{
	size_t failed = 0;
	int parents_written = 0;
	int *defer_parent = NULL;
	if (o->dry_run == OAM_DRY_CLIENT)
		return client_dry_run(a, o, d);
	/* 1. Where every object goes. */
	if (map_all(a, 0, d) < 0)
		return d->exit_code ? d->exit_code : OAM_EXIT_CLUSTER;
	reset_new_namespaces(a);
	fill_new_sets(a);
	/* 2. The parents and what they recorded; 3. the members they recorded. */
	if (parents_get(a, d) < 0 || members_list(a, d) < 0)
		return d->exit_code ? d->exit_code : OAM_EXIT_CLUSTER;
	reset_new_namespaces(a);
	fill_new_sets(a);
	/* 4. Record old ∪ new group-kinds before touching any member. A parent
	 * in a namespace the application itself creates is written after it. */
	defer_parent = calloc(a->nsets + 1, sizeof *defer_parent);
	if (!defer_parent)
		return OAM_EXIT_SYSTEM;
	if (o->dry_run == OAM_DRY_NONE) {
		int *now = calloc(a->nsets + 1, sizeof *now), any = 0;
		if (!now) {
			free(defer_parent);
			return OAM_EXIT_SYSTEM;
		}
		for (size_t i = 0; i < a->nsets; i++) {
			defer_parent[i] = a->sets[i].has_ns_object;
			now[i] = !defer_parent[i];
			any |= now[i];
		}
		int r = any ? parents_put(a, now, 1, d) : 0;
		free(now);
		if (r < 0) {
			free(defer_parent);
			return d->exit_code ? d->exit_code : OAM_EXIT_CLUSTER;
		}
		parents_written = 1;
	}
	/* 5. The members, wave by wave. */
	for (int w = 0; w < NWAVES && !failed; w++) {
		failed += apply_wave(a, w, o, d);
		if (w == 0 && !failed && o->dry_run == OAM_DRY_NONE) {
			int any = 0;
			for (size_t i = 0; i < a->nsets; i++)
				any |= defer_parent[i];
			if (any && parents_put(a, defer_parent, 1, d) < 0)
				failed++;
		}
		if (w == 1 && !failed) {
			int any = 0;
			for (size_t i = 0; i < a->n; i++)
				any |= a->objs[i].deferred;
			if (any && o->dry_run == OAM_DRY_NONE && map_deferred(a, d) < 0)
				failed++;
		}
	}
	free(defer_parent);
	if (failed) {
		size_t skipped = 0;
		for (size_t i = 0; i < a->n; i++)
			skipped += a->objs[i].result == OAM_A_PENDING;
		if (skipped)
			oam_warnf("%zu object%s not applied because an earlier step failed%s", skipped, skipped == 1 ? "" : "s",
				  o->prune ? "; nothing was pruned" : "");
		else if (o->prune)
			oam_warnf("nothing was pruned because an apply failed");
		return d->exit_code ? d->exit_code : OAM_EXIT_CLUSTER;
	}
	/* 6. Prune, then let the parents forget the group-kinds that are gone. */
	if (o->prune) {
		if (prune(a, o, d) < 0)
			return d->exit_code ? d->exit_code : OAM_EXIT_CLUSTER;
		if (parents_written && parents_put(a, NULL, 0, d) < 0)
			return d->exit_code ? d->exit_code : OAM_EXIT_CLUSTER;
	}
	/* 7. Health. */
	if (o->wait && o->dry_run == OAM_DRY_NONE && wait_ready(a, o, d) < 0)
		return d->exit_code ? d->exit_code : OAM_EXIT_CLUSTER;
	return 0;
}

/* ---- diff ---- */

static void mask_secret(json_t *live, json_t *merged)
{
	/* Like kubectl: never show Secret values; mark which ones change. */
	json_t *ld = json_object_get(live, "data"), *md = json_object_get(merged, "data");
	const char *k;
	json_t *v;
	json_object_foreach(ld, k, v) {
		json_t *o = json_object_get(md, k);
		int same = o && json_equal(o, v);
		json_object_set_new(ld, k, json_string(same ? "***" : "*** (before)"));
	}
	json_object_foreach(md, k, v) {
		json_t *o = json_object_get(ld, k);
		int same = o && !strcmp(json_string_value(o), "***");
		json_object_set_new(md, k, json_string(same ? "***" : "*** (after)"));
	}
	json_object_del(live, "stringData");
	json_object_del(merged, "stringData");
}

static int diff_one(const char *file, const json_t *live, const json_t *merged, int secret, struct oam_buf *out)
{
	struct oam_buf ya = { 0 }, yb = { 0 };
	json_t *l = live ? strip_server_fields(live) : NULL, *m = merged ? strip_server_fields(merged) : NULL;
	char la[600], lb[600];
	int rc = -1;
	if (secret && l && m)
		mask_secret(l, m);
	else if (secret) {
		json_t *x = l ? l : m;
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(x, "data"), k, v)
			json_object_set_new(json_object_get(x, "data"), k, json_string("***"));
	}
	if ((l && oam_json_yaml(l, &ya) < 0) || (m && oam_json_yaml(m, &yb) < 0) || oam_buf_add(&ya, "", 1) < 0 ||
	    oam_buf_add(&yb, "", 1) < 0)
		goto out;
	snprintf(la, sizeof la, "live/%s", file);
	snprintf(lb, sizeof lb, "merged/%s", file);
	rc = oam_diff_unified(ya.data, yb.data, la, lb, out);
out:
	json_decref(l);
	json_decref(m);
	oam_buf_release(&ya);
	oam_buf_release(&yb);
	return rc;
}

static void diff_file(const struct oam_kres *res, const char *ns, const char *name, char *out, size_t size)
{
	/* kubectl's file names: apps.v1.Deployment.default.web */
	if (res->group[0])
		snprintf(out, size, "%s.%s.%s.%s%s%s", res->group, res->version, res->kind, ns, *ns ? "." : "", name);
	else
		snprintf(out, size, "%s.%s.%s%s%s", res->version, res->kind, ns, *ns ? "." : "", name);
}

int oam_apply_diff(struct oam_apply *a, const struct oam_apply_opts *o, struct oam_buf *out, struct oam_diags *d)
{
	struct oam_apply_opts dry = *o;
	struct oam_kreq **rs = NULL;
	size_t m = 0;
	int changed = 0, rc = 0;
	dry.dry_run = OAM_DRY_SERVER;
	if (map_all(a, 0, d) < 0)
		return d->exit_code ? d->exit_code : OAM_EXIT_CLUSTER;
	reset_new_namespaces(a);
	fill_new_sets(a);
	if (parents_get(a, d) < 0 || members_list(a, d) < 0)
		return d->exit_code ? d->exit_code : OAM_EXIT_CLUSTER;
	reset_new_namespaces(a);
	rs = calloc(2 * a->n + 1, sizeof *rs);
	if (!rs)
		return OAM_EXIT_SYSTEM;
	/* A GET (the live object, owned or not) and a dry-run apply per object. */
	for (size_t i = 0; i < a->n; i++) {
		struct oam_aobj *x = &a->objs[i];
		if (!x->mapped)
			continue;
		char *path = oam_kres_path(&x->res, x->ns, x->name);
		rs[m] = path ? oam_kreq_new("GET", "%s", path) : NULL;
		free(path);
		if (!rs[m] || !(rs[m + 1] = apply_req(x, &dry))) {
			rc = OAM_EXIT_SYSTEM;
			m += rs[m] ? 1 : 0;
			goto out;
		}
		rs[m]->what = x->what;
		m += 2;
	}
	if (oam_kube_run(a->k, rs, m) < 0) {
		rc = OAM_EXIT_CLUSTER;
		goto out;
	}
	for (size_t i = 0, j = 0; i < a->n; i++) {
		struct oam_aobj *x = &a->objs[i];
		char file[800];
		const json_t *live = NULL, *merged = NULL;
		if (!x->mapped) {
			/* A custom resource of a CRD in this application: it would be created as is. */
			struct oam_kres res;
			char group[128], version[64];
			memset(&res, 0, sizeof res);
			split_av(x->api_version, group, sizeof group, version, sizeof version);
			oam_strlcpy(res.group, group, sizeof res.group);
			oam_strlcpy(res.version, version, sizeof res.version);
			oam_strlcpy(res.kind, x->kind, sizeof res.kind);
			diff_file(&res, x->ns, x->name, file, sizeof file);
			int r = diff_one(file, NULL, x->obj, 0, out);
			if (r < 0)
				rc = OAM_EXIT_SYSTEM;
			changed |= r > 0;
			continue;
		}
		struct oam_kreq *g = rs[j], *p = rs[j + 1];
		j += 2;
		if (g->status == 200)
			live = g->json;
		else if (g->status != 404) {
			oam_kube_report(a->k, g, x->what, d);
			rc = OAM_EXIT_CLUSTER;
			continue;
		}
		if (p->status == 200 || p->status == 201) {
			merged = p->json;
		} else {
			oam_kube_report(a->k, p, x->what, d);
			rc = OAM_EXIT_CLUSTER;
			continue;
		}
		diff_file(&x->res, x->ns, x->name, file, sizeof file);
		int r = diff_one(file, live, merged, !x->res.group[0] && !strcmp(x->res.kind, "Secret"), out);
		if (r < 0)
			rc = OAM_EXIT_SYSTEM;
		changed |= r > 0;
	}
	/* With --prune: what would be removed. */
	if (o->prune && !rc) {
		for (size_t si = 0; si < a->nsets; si++) {
			struct oam_appset *s = &a->sets[si];
			for (size_t i = 0; i < s->nmembers; i++) {
				struct oam_member *mm = &s->members[i];
				int keep = 0;
				for (size_t k = 0; k < a->n && !keep; k++) {
					const struct oam_aobj *x = &a->objs[k];
					keep = x->set == si && !strcmp(x->res.group, mm->res.group) && !strcmp(x->res.kind, mm->res.kind) &&
					       !strcmp(x->ns, mm->ns) && !strcmp(x->name, mm->name);
				}
				if (keep)
					continue;
				char file[800];
				diff_file(&mm->res, mm->ns, mm->name, file, sizeof file);
				int r = diff_one(file, mm->obj, NULL, !mm->res.group[0] && !strcmp(mm->res.kind, "Secret"), out);
				if (r < 0)
					rc = OAM_EXIT_SYSTEM;
				changed |= r > 0;
			}
		}
	}
out:
	oam_kreqs_free(rs, m);
	if (rc)
		return rc;
	return changed ? 1 : 0;
}

/* ---- delete ---- */

int oam_apply_delete(struct oam_apply *a, const struct oam_apply_opts *o, struct oam_diags *d)
{
	struct victim *v = NULL;
	size_t n = 0;
	int rc = 0, *gone = NULL;
	if (a->n && map_all(a, 0, d) < 0) {
		/* Kinds that are no longer served have nothing left to delete. */
		for (size_t i = 0; i < d->n; i++)
			if (!strcmp(d->v[i].id, "OAM807"))
				d->v[i].sev = OAM_SEV_NOTE;
		d->nerrors = 0;
		for (size_t i = 0; i < d->n; i++)
			d->nerrors += d->v[i].sev == OAM_SEV_ERROR;
		if (d->nerrors)
			return d->exit_code ? d->exit_code : OAM_EXIT_CLUSTER;
		d->exit_code = 0;
	}
	reset_new_namespaces(a);
	fill_new_sets(a);
	if (parents_get(a, d) < 0)
		return d->exit_code ? d->exit_code : OAM_EXIT_CLUSTER;
	for (size_t i = 0; i < a->nsets; i++) {
		if (a->sets[i].exists || o->ignore_not_found || a->n)
			continue;
		struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, "OAM815", NULL, 0, 0,
						"application '%s' not found in namespace '%s'", a->sets[i].app, a->sets[i].ns);
		oam_diag_hint(e, "there is no ApplySet parent secret/%s; check -n and --context (or use --ignore-not-found)",
			      a->sets[i].parent);
	}
	if (d->nerrors)
		return d->exit_code;
	if (members_list(a, d) < 0)
		return d->exit_code ? d->exit_code : OAM_EXIT_CLUSTER;
	gone = calloc(a->nsets + 1, sizeof *gone);
	if (!gone)
		return OAM_EXIT_SYSTEM;
	for (size_t si = 0; si < a->nsets; si++) {
		struct oam_appset *s = &a->sets[si];
		if (!s->exists && !s->nmembers) {
			if (!o->ignore_not_found) {
				struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, "OAM815", NULL, 0, 0,
								"application '%s' not found in namespace '%s'", s->app, s->ns);
				oam_diag_hint(e, "nothing carries its label; check -n and --context (or use --ignore-not-found)");
			}
			continue;
		}
		for (size_t i = 0; i < s->nmembers; i++) {
			struct victim *nv = realloc(v, (n + 1) * sizeof *nv);
			if (!nv) {
				rc = -1;
				goto out;
			}
			v = nv;
			v[n].m = &s->members[i];
			v[n].wave = oam_apply_wave(s->members[i].res.group, s->members[i].res.kind);
			n++;
		}
		gone[si] = 1;
	}
	if (d->nerrors)
		goto out;
	/* Members except namespaces, then the parents, then namespaces. */
	{
		size_t nn = 0;
		for (size_t i = 0; i < n; i++)
			if (v[i].wave != 0) {
				struct victim t = v[nn];
				v[nn++] = v[i];
				v[i] = t;
			}
		if (nn && delete_victims(a, v, nn, 1, o, d) < 0)
			rc = -1;
		if (rc == 0) {
			struct oam_member *pm = calloc(a->nsets + 1, sizeof *pm);
			struct victim *pv = calloc(a->nsets + 1, sizeof *pv);
			size_t np = 0;
			if (!pm || !pv) {
				free(pm);
				free(pv);
				rc = -1;
				goto out;
			}
			for (size_t si = 0; si < a->nsets; si++) {
				struct oam_appset *s = &a->sets[si];
				if (!gone[si] || !s->exists)
					continue;
				struct oam_member *p = &pm[np];
				oam_strlcpy(p->res.version, "v1", sizeof p->res.version);
				oam_strlcpy(p->res.resource, "secrets", sizeof p->res.resource);
				oam_strlcpy(p->res.kind, "Secret", sizeof p->res.kind);
				p->res.namespaced = 1;
				oam_strlcpy(p->name, s->parent, sizeof p->name);
				oam_strlcpy(p->ns, s->ns, sizeof p->ns);
				oam_kres_display(&p->res, p->name, p->what, sizeof p->what);
				/* no UID precondition needed: the id label was checked */
				pv[np].m = p;
				pv[np].wave = 0;
				np++;
			}
			if (np && delete_victims(a, pv, np, 1, o, d) < 0)
				rc = -1;
			free(pm);
			free(pv);
		}
		if (rc == 0 && n > nn && delete_victims(a, v + nn, n - nn, 1, o, d) < 0)
			rc = -1;
	}
	/* --wait: until the label finds nothing any more. */
	if (rc == 0 && o->wait && o->dry_run == OAM_DRY_NONE) {
		double deadline = mono() + o->timeout;
		for (;;) {
			size_t left = 0;
			if (members_list(a, d) < 0) {
				rc = -1;
				break;
			}
			for (size_t si = 0; si < a->nsets; si++)
				left += a->sets[si].nmembers;
			if (!left)
				break;
			if (mono() >= deadline) {
				oam_diag_at(d, OAM_SEV_ERROR, "OAM814", NULL, 0, 0, "%zu object%s still exist after the timeout", left,
					    left == 1 ? "" : "s");
				rc = -1;
				break;
			}
			sleep_s(0.5);
		}
	}
out:
	free(v);
	free(gone);
	if (rc < 0 || d->nerrors)
		return d->exit_code ? d->exit_code : OAM_EXIT_CLUSTER;
	return 0;
}

/* ---- status ---- */

int oam_apply_status(struct oam_apply *a, const struct oam_apply_opts *o, struct oam_diags *d)
{
	(void)o;
	if (parents_get(a, d) < 0)
		return d->exit_code ? d->exit_code : OAM_EXIT_CLUSTER;
	for (size_t i = 0; i < a->nsets; i++)
		if (!a->sets[i].exists) {
			struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, "OAM815", NULL, 0, 0,
							"application '%s' not found in namespace '%s'", a->sets[i].app,
							a->sets[i].ns);
			oam_diag_hint(e, "there is no ApplySet parent secret/%s; check -n and --context", a->sets[i].parent);
		}
	if (d->nerrors)
		return d->exit_code;
	if (members_list(a, d) < 0)
		return d->exit_code ? d->exit_code : OAM_EXIT_CLUSTER;
	for (size_t si = 0; si < a->nsets; si++) {
		struct oam_appset *s = &a->sets[si];
		struct oam_hentry *e = calloc(s->nmembers + 1, sizeof *e);
		size_t current = 0;
		if (!e)
			return OAM_EXIT_SYSTEM;
		for (size_t i = 0; i < s->nmembers; i++) {
			oam_hentry_fill(&e[i], s->members[i].obj, s->members[i].what);
			current += e[i].status == OAM_H_CURRENT;
		}
		printf("%sapplication %s in namespace %s: %zu/%zu object%s current\n", si ? "\n" : "", s->app, s->ns, current,
		       s->nmembers, s->nmembers == 1 ? "" : "s");
		if (s->nmembers)
			oam_health_print(e, s->nmembers, stdout);
		free(e);
	}
	return 0;
}
