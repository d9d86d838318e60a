/* pack_cluster.c — packs in clusters: publishing them as ConfigMaps in the
 * oamlua-system namespace, listing, fetching and copying them between
 * clusters, and checking that a cluster serves the APIs a pack's modules
 * require. Uses the Kubernetes client of kube.h.
 *
 * One ConfigMap per published pack version, named oamlua-pack-NAME-VERSION:
 *   labels       app.kubernetes.io/managed-by: oamlua,
 *                app.kubernetes.io/component: trait-pack,
 *                oamlua.dev/pack: NAME, oamlua.dev/pack-version: VERSION
 *   annotations  oamlua.dev/digest: sha256:HEX, oamlua.dev/signed-by: KEYID
 *   data         name, version, digest, description, pack.yaml (to read
 *                with kubectl), signature (the signature file, if signed)
 *   binaryData   pack.oampack (the archive)
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "oamlua/kube.h"
#include "oamlua/kubeconfig.h"
#include "oamlua/model.h"
#include "oamlua/pack.h"

#define LABEL_COMPONENT "app.kubernetes.io/component"
#define LABEL_MANAGED "app.kubernetes.io/managed-by"
#define LABEL_PACK "oamlua.dev/pack"
#define LABEL_VERSION "oamlua.dev/pack-version"
#define ANN_DIGEST "oamlua.dev/digest"
#define ANN_SIGNER "oamlua.dev/signed-by"
#define ARCHIVE_KEY "pack.oampack"
#define MAX_PUSH (700u << 10)   /* ConfigMaps hold at most 1 MiB; base64 grows by a third */

/* ---- connections ---- */

int oam_pack_cluster_open(struct oam_pack_cluster *c, const char *kubeconfig, const char *context, int verbose,
			  struct oam_diags *d)
{
	struct oam_kflags kf;
	memset(c, 0, sizeof *c);
	memset(&kf, 0, sizeof kf);
	kf.kubeconfig = kubeconfig;
	kf.context = context;
	snprintf(c->name, sizeof c->name, "%s", context ? context : "(current context)");
	if (oam_kconn_load(&kf, &c->conn, d) < 0) {
		oam_kconn_release(&c->conn);
		return -1;
	}
	c->conn_ok = 1;
	if (oam_kube_open(&c->k, &c->conn, 4, verbose, d) < 0)
		return -1;
	c->kube_ok = 1;
	return 0;
}

void oam_pack_cluster_close(struct oam_pack_cluster *c)
{
	if (c->kube_ok)
		oam_kube_close(&c->k);
	if (c->conn_ok)
		oam_kconn_release(&c->conn);
	memset(c, 0, sizeof *c);
}

/* One request; on a failure the answer is reported (OAM8xx) unless the
 * status is one the caller handles (ok_status, e.g. 404). */
static struct oam_kreq *request(struct oam_pack_cluster *c, struct oam_kreq *r, long ok_status, struct oam_diags *d)
{
	if (!r) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM900", NULL, 0, 0, "out of memory");
		return NULL;
	}
	if (oam_kube_run1(&c->k, r) < 0) {
		oam_kreq_free(r);
		return NULL;
	}
	if ((r->status < 200 || r->status > 299) && r->status != ok_status) {
		oam_kube_report(&c->k, r, r->what, d);
		oam_kreq_free(r);
		return NULL;
	}
	return r;
}

/* ---- base64 with libcrypto ---- */

static char *b64_encode(const unsigned char *p, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *)out, p, (int)len);
	return out;
}

static unsigned char *b64_decode(const char *s, size_t *outlen)
{
	size_t len = strlen(s);
	if (len % 4)
		return NULL;
	unsigned char *out = malloc(len / 4 * 3 + 1);
	if (!out)
		return NULL;
	int n = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);
	if (n < 0) {
		free(out);
		return NULL;
	}
	size_t pad = len >= 2 && s[len - 1] == '=' ? (s[len - 2] == '=' ? 2 : 1) : 0;
	*outlen = (size_t)n - pad;
	return out;
}

/* ---- names ---- */

/* Label values and names cannot hold '+': build metadata becomes '_' / '-'. */
static void cm_name(const char *name, const char *version, char *buf, size_t size)
{
	snprintf(buf, size, "oamlua-pack-%s-%s", name, version);
	for (char *p = buf; *p; p++)
		*p = *p == '+' || *p == '_' ? '-' : (char)tolower((unsigned char)*p);
}

static void label_version(const char *version, char *buf, size_t size)
{
	snprintf(buf, size, "%.63s", version);
	for (char *p = buf; *p; p++)
		if (*p == '+')
			*p = '_';
}

/* ---- listing ---- */

void oam_pack_published_release(struct oam_published *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(v[i].obj);
	free(v);
}

static const char *jstr(const json_t *o, const char *a, const char *b)
{
	const json_t *x = json_object_get(o, a);
	x = b ? json_object_get(x, b) : x;
	return json_is_string(x) ? json_string_value(x) : NULL;
}

static int cmp_pub(const void *a, const void *b)
{
	const struct oam_published *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : oam_semver_cmp(&x->semver, &y->semver);
}

int oam_pack_cluster_list(struct oam_pack_cluster *c, const char *name, struct oam_published **out, size_t *n,
			  struct oam_diags *d)
{
	char sel[300];
	*out = NULL;
	*n = 0;
	snprintf(sel, sizeof sel, LABEL_COMPONENT "=trait-pack%s%s", name ? "," LABEL_PACK "=" : "", name ? name : "");
	char *esc = oam_kube_escape(sel);
	struct oam_kreq *r = esc ? oam_kreq_new("GET", "/api/v1/namespaces/%s/configmaps?labelSelector=%s",
						OAM_PACK_NAMESPACE, esc) : NULL;
	free(esc);
	if (r)
		r->what = "configmaps in namespace " OAM_PACK_NAMESPACE;
	if (!(r = request(c, r, 404, d)))
		return -1;
	json_t *items = json_object_get(r->json, "items");
	size_t cnt = r->status == 404 ? 0 : json_array_size(items);
	struct oam_published *v = calloc(cnt ? cnt : 1, sizeof *v);
	if (!v) {
		oam_kreq_free(r);
		return -1;
	}
	size_t k = 0;
	for (size_t i = 0; i < cnt; i++) {
		json_t *it = json_array_get(items, i);
		const char *nm = jstr(it, "data", "name"), *ver = jstr(it, "data", "version"), *dg = jstr(it, "data", "digest");
		const char *cmn = jstr(it, "metadata", "name");
		struct oam_published *p = &v[k];
		if (!nm || !ver || !dg || !cmn || oam_semver_parse(ver, &p->semver) < 0 || strlen(nm) >= sizeof p->name ||
		    strlen(ver) >= sizeof p->version || strlen(dg) >= sizeof p->digest) {
			oam_diag_at(d, OAM_SEV_WARNING, "OAM711", NULL, 0, 0,
				    "context '%s': configmap %s/%s is not a published pack; skipped", c->name,
				    OAM_PACK_NAMESPACE, cmn ? cmn : "?");
			continue;
		}
		snprintf(p->name, sizeof p->name, "%s", nm);
		snprintf(p->version, sizeof p->version, "%s", ver);
		snprintf(p->digest, sizeof p->digest, "%s", dg);
		snprintf(p->cm, sizeof p->cm, "%s", cmn);
		const char *sig = jstr(it, "data", "signature");
		if (sig)
			snprintf(p->signer, sizeof p->signer, "%.16s", strstr(sig, "\nkey ") ? strstr(sig, "\nkey ") + 5 : "?");
		p->obj = json_incref(it);
		k++;
	}
	oam_kreq_free(r);
	if (k)
		qsort(v, k, sizeof *v, cmp_pub);
	*out = v;
	*n = k;
	return 0;
}

/* The archive and signature of a listed pack, checked against the digest it
 * was published with. */
int oam_pack_published_src(const struct oam_pack_cluster *c, const struct oam_published *p, struct oam_pack_src *s,
			   struct oam_diags *d)
{
	const char *b64 = jstr(p->obj, "binaryData", ARCHIVE_KEY);
	const char *sig = jstr(p->obj, "data", "signature");
	const char *ann = jstr(json_object_get(p->obj, "metadata"), "annotations", ANN_DIGEST);
	char display[600], hex[65], dg[72];
	size_t len = 0;
	snprintf(display, sizeof display, "context '%s': configmap %s/%s", c->name, OAM_PACK_NAMESPACE, p->cm);
	unsigned char *bytes = b64 ? b64_decode(b64, &len) : NULL;
	if (!bytes) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM711", display, 0, 0, "pack '%s' %s: no archive in binaryData.%s", p->name,
			    p->version, ARCHIVE_KEY);
		return -1;
	}
	oam_pack_sha256_hex(bytes, len, hex);
	snprintf(dg, sizeof dg, "sha256:%s", hex);
	if (strcmp(dg, p->digest) || (ann && strcmp(ann, p->digest))) {
		struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, "OAM711", display, 0, 0,
						"pack '%s' %s: the archive is %s, but it was published as %s", p->name,
						p->version, dg, p->digest);
		oam_diag_hint(e, "someone changed the ConfigMap after it was pushed: push the pack again from a trusted copy");
		free(bytes);
		return -1;
	}
	int rc = oam_pack_src_from_bytes(s, bytes, len, sig, sig ? strlen(sig) : 0, display, d);
	free(bytes);
	if (rc == 0 && (strcmp(s->man.name, p->name) || strcmp(s->man.version, p->version))) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM711", display, 0, 0, "published as '%s' %s, but the archive holds '%s' %s",
			    p->name, p->version, s->man.name, s->man.version);
		return -1;
	}
	return rc;
}

/* ---- publishing ---- */

static int ensure_namespace(struct oam_pack_cluster *c, struct oam_diags *d)
{
	struct oam_kreq *r = oam_kreq_new("GET", "/api/v1/namespaces/%s", OAM_PACK_NAMESPACE);
	if (r)
		r->what = "namespace/" OAM_PACK_NAMESPACE;
	if (!(r = request(c, r, 404, d)))
		return -1;
	long st = r->status;
	oam_kreq_free(r);
	if (st != 404)
		return 0;
	json_t *ns = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name",
			       OAM_PACK_NAMESPACE, "labels", LABEL_MANAGED, "oamlua");
	r = oam_kreq_new("POST", "/api/v1/namespaces");
	if (!ns || !r || oam_kreq_body(r, ns, "application/json") < 0) {
		json_decref(ns);
		oam_kreq_free(r);
		return -1;
	}
	json_decref(ns);
	r->what = "namespace/" OAM_PACK_NAMESPACE;
	if (!(r = request(c, r, 409, d)))
		return -1;
	oam_kreq_free(r);
	return 0;
}

/* Writes the ConfigMap of a pack (server-side apply). `obj` is the body. */
static int apply_cm(struct oam_pack_cluster *c, const char *name, json_t *obj, struct oam_diags *d)
{
	struct oam_kreq *r = oam_kreq_new("PATCH", "/api/v1/namespaces/%s/configmaps/%s?fieldManager=oamlua&force=true",
					  OAM_PACK_NAMESPACE, name);
	if (!r || oam_kreq_body(r, obj, "application/apply-patch+yaml") < 0) {
		oam_kreq_free(r);
		oam_diag_at(d, OAM_SEV_ERROR, "OAM900", NULL, 0, 0, "out of memory");
		return -1;
	}
	char what[300];
	snprintf(what, sizeof what, "configmap/%s", name);
	r->what = what;
	if (!(r = request(c, r, 0, d)))
		return -1;
	oam_kreq_free(r);
	return 0;
}

static json_t *cm_body(const struct oam_pack_src *s, const char *name)
{
	char lv[64];
	const struct oam_pack_file *mf = oam_pack_archive_get(&s->ar, OAM_PACK_MANIFEST);
	struct oam_pack_sig sig;
	char err[200];
	const char *signer = "";
	if (s->sig && oam_pack_sig_parse(s->sig, s->siglen, &sig, err, sizeof err) == 0)
		signer = sig.keyid;
	label_version(s->man.version, lv, sizeof lv);
	char *b64 = b64_encode(s->ar.bytes, s->ar.nbytes);
	if (!b64)
		return NULL;
	json_t *o = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s}}, "
			      "s:{s:s, s:s, s:s, s:s, s:s%}, s:{s:s}}",
			      "apiVersion", "v1", "kind", "ConfigMap",
			      "metadata", "name", name, "namespace", OAM_PACK_NAMESPACE,
			      "labels", LABEL_MANAGED, "oamlua", LABEL_COMPONENT, "trait-pack", LABEL_PACK, s->man.name,
			      LABEL_VERSION, lv,
			      "annotations", ANN_DIGEST, s->ar.digest, ANN_SIGNER, signer,
			      "data", "name", s->man.name, "version", s->man.version, "digest", s->ar.digest, "description",
			      s->man.description, "pack.yaml", (const char *)mf->data, mf->len,
			      "binaryData", ARCHIVE_KEY, b64);
	free(b64);
	if (o && s->sig) {
		json_t *data = json_object_get(o, "data");
		json_object_set_new(data, "signature", json_stringn(s->sig, s->siglen));
	}
	return o;
}

int oam_pack_cluster_push(struct oam_pack_cluster *c, const struct oam_pack_src *s, int force, struct oam_diags *d)
{
	char name[300];
	cm_name(s->man.name, s->man.version, name, sizeof name);
	if (s->ar.nbytes > MAX_PUSH) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM702", s->display, 0, 0,
			    "pack '%s' %s is %zu bytes; a ConfigMap holds packs of at most %u KiB", s->man.name,
			    s->man.version, s->ar.nbytes, MAX_PUSH >> 10);
		return -1;
	}
	struct oam_kreq *r = oam_kreq_new("GET", "/api/v1/namespaces/%s/configmaps/%s", OAM_PACK_NAMESPACE, name);
	if (r)
		r->what = "configmap in " OAM_PACK_NAMESPACE;
	if (!(r = request(c, r, 404, d)))
		return -1;
	if (r->status != 404) {
		/* Copied: the strings live in the response, freed just below. */
		char dg[160] = "";
		const char *d0 = jstr(r->json, "data", "digest");
		if (d0)
			snprintf(dg, sizeof dg, "%s", d0);
		int same = d0 && !strcmp(dg, s->ar.digest);
		int same_sig = !s->sig || (jstr(r->json, "data", "signature") &&
					   !strcmp(jstr(r->json, "data", "signature"), s->sig));
		oam_kreq_free(r);
		if (same && same_sig) {
			printf("%s %s is on context '%s' already (%s)\n", s->man.name, s->man.version, c->name, s->ar.digest);
			return 0;
		}
		if (!same && !force) {
			oam_errorf("pack '%s' %s is published on context '%s' with another digest (%s); a published version "
				   "does not change: publish a new version, or pass --force", s->man.name, s->man.version,
				   c->name, dg[0] ? dg : "none");
			return 1;
		}
	} else {
		oam_kreq_free(r);
	}
	if (ensure_namespace(c, d) < 0)
		return -1;
	json_t *body = cm_body(s, name);
	if (!body) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM900", NULL, 0, 0, "out of memory");
		return -1;
	}
	int rc = apply_cm(c, name, body, d);
	json_decref(body);
	if (rc == 0)
		printf("pushed %s %s (%s, %s) to context '%s': configmap %s/%s\n", s->man.name, s->man.version, s->ar.digest,
		       s->sig ? "signed" : "unsigned", c->name, OAM_PACK_NAMESPACE, name);
	return rc;
}

/* Copies a listed pack to another cluster as it is (after checking it). */
int oam_pack_cluster_copy(struct oam_pack_cluster *from, const struct oam_published *p, struct oam_pack_cluster *to,
			  struct oam_diags *d)
{
	struct oam_pack_src s;
	oam_pack_src_init(&s);
	int rc = -1;
	if (oam_pack_published_src(from, p, &s, d) == 0)
		rc = oam_pack_cluster_push(to, &s, 0, d);
	oam_pack_src_release(&s);
	return rc;
}

/* ---- which APIs a cluster serves ---- */

struct gvcache {
	char gv[300];
	json_t *resources;              /* NULL: not served */
};

void oam_apiset_release(struct oam_apiset *s)
{
	struct gvcache *c = s->cache;
	for (size_t i = 0; i < s->ncache; i++)
		json_decref(c[i].resources);
	free(c);
	s->cache = NULL;
	s->ncache = 0;
}

static int offline_serves(const struct oam_apiset *s, const struct oam_pack_api *api)
{
	const char *name = api->kind ? api->kind : api->resource;
	size_t gl = strlen(api->api_version);
	for (size_t i = 0; i < s->noffline; i++) {
		const char *e = s->offline[i];
		if (!strcmp(e, api->api_version))
			return 1;
		if (!strncmp(e, api->api_version, gl) && e[gl] == '/' && !strcmp(e + gl + 1, name))
			return 1;
	}
	return 0;
}

int oam_apiset_serves(struct oam_apiset *s, const struct oam_pack_api *api, struct oam_diags *d)
{
	if (!s->k)
		return offline_serves(s, api);
	struct gvcache *c = s->cache;
	struct gvcache *hit = NULL;
	for (size_t i = 0; i < s->ncache; i++)
		if (!strcmp(c[i].gv, api->api_version))
			hit = &c[i];
	if (!hit) {
		struct gvcache *nc = realloc(c, (s->ncache + 1) * sizeof *nc);
		if (!nc)
			return -1;
		s->cache = c = nc;
		hit = &c[s->ncache];
		memset(hit, 0, sizeof *hit);
		snprintf(hit->gv, sizeof hit->gv, "%s", api->api_version);
		int core = !strchr(api->api_version, '/');
		struct oam_kreq *r = oam_kreq_new("GET", "%s/%s", core ? "/api" : "/apis", api->api_version);
		if (!r)
			return -1;
		r->what = hit->gv;
		if (oam_kube_run1(s->k, r) < 0) {
			oam_kreq_free(r);
			return -1;
		}
		if (r->status == 200)
			hit->resources = json_incref(json_object_get(r->json, "resources"));
		else if (r->status != 404) {
			oam_kube_report(s->k, r, hit->gv, d);
			oam_kreq_free(r);
			return -1;
		}
		oam_kreq_free(r);
		s->ncache++;
	}
	for (size_t i = 0; i < json_array_size(hit->resources); i++) {
		const json_t *res = json_array_get(hit->resources, i);
		const char *nm = jstr(res, "name", NULL), *kind = jstr(res, "kind", NULL);
		if (!nm || strchr(nm, '/'))
			continue;   /* subresources */
		if ((api->kind && kind && !strcmp(kind, api->kind)) || (api->resource && !strcmp(nm, api->resource)))
			return 1;
	}
	return 0;
}

static void api_text(const struct oam_pack_api *a, char *buf, size_t size)
{
	snprintf(buf, size, "%s %s", a->api_version, a->kind ? a->kind : a->resource);
}

/* Findings for one module bound at `at`; returns 1 if something is missing. */
static int check_module(struct oam_apiset *s, const struct oam_module *m, const char *what, const struct oam_node *at,
			const char *where, struct oam_diags *d)
{
	int missing = 0;
	for (size_t i = 0; m->caps && i < m->caps->nrequires; i++) {
		const struct oam_pack_api *a = &m->caps->requires[i];
		int r = oam_apiset_serves(s, a, d);
		if (r < 0)
			return -1;
		if (r)
			continue;
		char t[400];
		api_text(a, t, sizeof t);
		size_t before = d->nerrors;
		struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, "OAM751", at,
					     "%s: %s '%s' (pack '%s' %s) requires %s, which %s does not serve", what,
					     m->kind == OAM_MOD_TRAIT ? "trait" : "workload type", m->name, m->caps->pack,
					     m->caps->pack_version, t, where);
		oam_diag_hint(e, "install what provides it on the cluster first (its CustomResourceDefinition or operator); "
			      "nothing was sent");
		oam_pack_exit_class(d, before, OAM_EXIT_CLUSTER);
		missing = 1;
	}
	return missing;
}

int oam_pack_check_cluster(struct oam_apiset *s, const struct oam_registry *r, const struct oam_model *m,
			   struct oam_diags *d)
{
	int missing = 0;
	char where[200];
	(void)r;
	if (s->k)
		snprintf(where, sizeof where, "context '%s'", s->k->conn->context && *s->k->conn->context ?
			 s->k->conn->context : "(in-cluster)");
	else
		snprintf(where, sizeof where, "the --api-versions list");
	for (size_t i = 0; i < m->napps; i++)
		for (size_t j = 0; j < m->apps[i]->ninst; j++) {
			const struct oam_instance *in = &m->apps[i]->inst[j];
			char what[300];
			snprintf(what, sizeof what, "instance '%s'", in->name);
			if (in->comp && in->comp->workload) {
				int x = check_module(s, in->comp->workload, what, in->comp->wtype_at, where, d);
				if (x < 0)
					return -1;
				missing |= x;
			}
			for (size_t t = 0; t < in->ntraits; t++) {
				const struct oam_trait_use *tu = &in->traits[t];
				if (!tu->mod || tu->skip)
					continue;
				int x = check_module(s, tu->mod, what, tu->at, where, d);
				if (x < 0)
					return -1;
				missing |= x;
			}
		}
	return missing;
}

/* The cluster's Kubernetes version ("1.32.0"), from /version. */
int oam_pack_cluster_version(struct oam_pack_cluster *c, char *buf, size_t size, struct oam_diags *d)
{
	struct oam_kreq *r = oam_kreq_new("GET", "/version");
	if (r)
		r->what = "/version";
	if (!(r = request(c, r, 0, d)))
		return -1;
	const char *gv = jstr(r->json, "gitVersion", NULL);
	int rc = -1;
	if (gv) {
		if (*gv == 'v')
			gv++;
		snprintf(buf, size, "%.*s", (int)strcspn(gv, "-+"), gv);
		rc = 0;
	}
	oam_kreq_free(r);
	return rc;
}
