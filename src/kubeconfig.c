/* kubeconfig.c — kubeconfig files, their merge, credentials and in-cluster
 * config, following client-go's clientcmd (see include/oamlua/kubeconfig.h). */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "oamlua/file.h"
#include "oamlua/kubeconfig.h"

extern char **environ;

#define ID "OAM801"
#define ID_EXEC "OAM803"

/* ---- base64 ---- */

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+' || c == '-') return 62;
	if (c == '/' || c == '_') return 63;
	return -1;
}

char *oam_base64_decode(const char *s, size_t len, size_t *outlen)
{
	char *out = malloc(len / 4 * 3 + 4);
	size_t n = 0;
	unsigned acc = 0;
	int bits = 0, pad = 0;
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		int v = b64val(c);
		if (v < 0 || pad) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[n] = '\0';
	if (outlen)
		*outlen = n;
	return out;
}

char *oam_base64_encode(const void *p, size_t len, int url)
{
	static const char std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char urls[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *a = url ? urls : std;
	const unsigned char *in = p;
	char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < len) v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len) v |= in[i + 2];
		*o++ = a[(v >> 18) & 63];
		*o++ = a[(v >> 12) & 63];
		if (i + 1 < len) *o++ = a[(v >> 6) & 63];
		else if (!url) *o++ = '=';
		if (i + 2 < len) *o++ = a[v & 63];
		else if (!url) *o++ = '=';
	}
	*o = '\0';
	return out;
}

/* ---- small helpers ---- */

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static char *slurp(const char *path, size_t *len)
{
	unsigned char *buf;
	size_t n;
	if (oam_file_read(path, &buf, &n, SIZE_MAX, 0) < 0)
		return NULL;
	if (len)
		*len = n;
	return (char *)buf;
}

static void wipe_free(char *p, size_t len)
{
	if (p) {
		explicit_bzero(p, len ? len : strlen(p));
		free(p);
	}
}

static char *join_path(const char *dir, const char *path)
{
	char *out;
	if (path[0] == '/' || !dir || !dir[0])
		return strdup(path);
	out = malloc(strlen(dir) + strlen(path) + 2);
	if (out)
		sprintf(out, "%s/%s", dir, path);
	return out;
}

/* A string field; NULL when absent or empty. Wrong types are findings. */
static const char *fstr(const struct oam_node *m, const char *key, struct oam_diags *d, int *bad)
{
	const struct oam_node *v = oam_map_get(m, key);
	if (!v || v->type == OAM_NULL)
		return NULL;
	if (v->type != OAM_STR) {
		oam_diag(d, OAM_SEV_ERROR, ID, v, "kubeconfig field '%s' must be a string, not %s", key,
			 oam_ntype_article(v->type));
		*bad = 1;
		return NULL;
	}
	return v->u.str.len ? v->u.str.s : NULL;
}

static int fbool(const struct oam_node *m, const char *key, struct oam_diags *d, int *bad)
{
	const struct oam_node *v = oam_map_get(m, key);
	if (!v || v->type == OAM_NULL)
		return 0;
	if (v->type != OAM_BOOL) {
		oam_diag(d, OAM_SEV_ERROR, ID, v, "kubeconfig field '%s' must be true or false", key);
		*bad = 1;
		return 0;
	}
	return v->u.b;
}

/* ---- merging ---- */

int oam_kubeconfig_init(struct oam_kubeconfig *kc)
{
	memset(kc, 0, sizeof *kc);
	if (oam_docset_init(&kc->docs) < 0)
		return -1;
	kc->docs_ok = 1;
	return 0;
}

void oam_kubeconfig_release(struct oam_kubeconfig *kc)
{
	if (kc->docs_ok)
		oam_docset_release(&kc->docs);
	free(kc->clusters.v);
	free(kc->users.v);
	free(kc->contexts.v);
	for (size_t i = 0; i < kc->ndirs; i++)
		free(kc->dirs[i]);
	free(kc->dirs);
	memset(kc, 0, sizeof *kc);
}

static const struct oam_kentry *find_entry(const struct oam_kentries *es, const char *name)
{
	for (size_t i = 0; i < es->n; i++)
		if (!strcmp(es->v[i].name, name))
			return &es->v[i];
	return NULL;
}

/* Adds the entries of one named list (`clusters`, item key `cluster`); the
 * first definition of a name wins. */
static int merge_list(struct oam_kentries *es, const struct oam_node *root, const char *list, const char *item,
		      const char *dir, struct oam_diags *d)
{
	const struct oam_node *seq = oam_map_get(root, list);
	int rc = 0;
	if (!seq || seq->type == OAM_NULL)
		return 0;
	if (seq->type != OAM_SEQ) {
		oam_diag(d, OAM_SEV_ERROR, ID, seq, "kubeconfig '%s' must be a list of {name, %s} entries", list, item);
		return -1;
	}
	for (size_t i = 0; i < seq->u.seq.n; i++) {
		const struct oam_node *e = seq->u.seq.items[i];
		const struct oam_node *nm = oam_map_get(e, "name"), *body = oam_map_get(e, item);
		if (e->type != OAM_MAP || !nm || nm->type != OAM_STR || !nm->u.str.len) {
			oam_diag(d, OAM_SEV_ERROR, ID, e, "kubeconfig %s entry without a name", item);
			rc = -1;
			continue;
		}
		if (body && body->type != OAM_MAP && body->type != OAM_NULL) {
			oam_diag(d, OAM_SEV_ERROR, ID, body, "kubeconfig %s '%s' must be a map", item, nm->u.str.s);
			rc = -1;
			continue;
		}
		if (find_entry(es, nm->u.str.s))
			continue;       /* first file wins, whole entry */
		if (es->n == es->cap) {
			size_t cap = es->cap ? es->cap * 2 : 8;
			struct oam_kentry *v = realloc(es->v, cap * sizeof *v);
			if (!v)
				return -1;
			es->v = v;
			es->cap = cap;
		}
		es->v[es->n].name = nm->u.str.s;
		es->v[es->n].body = body && body->type == OAM_MAP ? body : NULL;
		es->v[es->n].at = e;
		es->v[es->n].dir = dir;
		es->n++;
	}
	return rc;
}

static const char *keep_dir(struct oam_kubeconfig *kc, const char *dir)
{
	char **v = realloc(kc->dirs, (kc->ndirs + 1) * sizeof *v);
	if (!v)
		return NULL;
	kc->dirs = v;
	if (!(v[kc->ndirs] = strdup(dir)))
		return NULL;
	return v[kc->ndirs++];
}

static int merge_docs(struct oam_kubeconfig *kc, size_t from, const char *dir, struct oam_diags *d)
{
	int rc = 0;
	const char *kdir = keep_dir(kc, dir);
	if (!kdir)
		return -1;
	kc->nfiles++;
	for (size_t i = from; i < kc->docs.ndocs; i++) {
		const struct oam_node *root = kc->docs.docs[i].root;
		if (!root || root->type == OAM_NULL)
			continue;
		if (root->type != OAM_MAP) {
			oam_diag(d, OAM_SEV_ERROR, ID, root, "a kubeconfig must be a map (kind: Config)");
			return -1;
		}
		if (merge_list(&kc->clusters, root, "clusters", "cluster", kdir, d) < 0)
			rc = -1;
		if (merge_list(&kc->users, root, "users", "user", kdir, d) < 0)
			rc = -1;
		if (merge_list(&kc->contexts, root, "contexts", "context", kdir, d) < 0)
			rc = -1;
		const struct oam_node *cc = oam_map_get(root, "current-context");
		if (cc && cc->type == OAM_STR && cc->u.str.len && !kc->current_context) {
			kc->current_context = cc->u.str.s;
			kc->current_at = cc;
		}
		break;          /* only the first document of a file counts */
	}
	return rc;
}

static void dir_of(const char *path, char *out, size_t size)
{
	const char *slash = strrchr(path, '/');
	if (!slash) {
		oam_strlcpy(out, "", size);
		return;
	}
	if (slash == path) {
		oam_strlcpy(out, "/", size);
		return;
	}
	snprintf(out, size, "%.*s", (int)(slash - path), path);
}

int oam_kubeconfig_add_file(struct oam_kubeconfig *kc, const char *path, int missing_ok, struct oam_diags *d)
{
	struct stat st;
	char dir[1024];
	size_t before = kc->docs.ndocs, nerr = d->nerrors;
	if (stat(path, &st) < 0) {
		if (missing_ok && errno == ENOENT)
			return 1;
		struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, ID, path, 0, 0, "cannot read kubeconfig: %s",
						strerror(errno));
		oam_diag_hint(e, "check --kubeconfig or $KUBECONFIG");
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		oam_diag_at(d, OAM_SEV_ERROR, ID, path, 0, 0, "kubeconfig is a directory");
		return -1;
	}
	if (oam_load_path(&kc->docs, path, 0, d) < 0 || d->nerrors > nerr) {
		/* Loader findings carry their own IDs (1xx); say it is a kubeconfig. */
		oam_diag_at(d, OAM_SEV_ERROR, ID, path, 0, 0, "cannot parse kubeconfig");
		return -1;
	}
	if (!kc->first_file[0])
		oam_strlcpy(kc->first_file, path, sizeof kc->first_file);
	dir_of(path, dir, sizeof dir);
	return merge_docs(kc, before, dir, d);
}

int oam_kubeconfig_add_buffer(struct oam_kubeconfig *kc, const char *name, const char *dir, const char *buf,
			      size_t len, struct oam_diags *d)
{
	size_t before = kc->docs.ndocs;
	if (oam_load_buffer(&kc->docs, name, buf, len, d) < 0)
		return -1;
	if (!kc->first_file[0])
		oam_strlcpy(kc->first_file, name, sizeof kc->first_file);
	return merge_docs(kc, before, dir ? dir : "", d);
}

int oam_kubeconfig_locate(struct oam_kubeconfig *kc, const char *flag_path, struct oam_diags *d)
{
	const char *env = getenv("KUBECONFIG");
	if (flag_path) {
		if (oam_kubeconfig_add_file(kc, flag_path, 0, d) < 0)
			return -1;
		return 1;
	}
	if (env && *env) {
		char *copy = strdup(env), *save = NULL;
		char *seen[64];
		size_t nseen = 0;
		int n = 0, rc = 0;
		if (!copy)
			return -1;
		for (char *p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
			int dup = 0;
			if (!*p)
				continue;
			for (size_t i = 0; i < nseen; i++)
				if (!strcmp(seen[i], p))
					dup = 1;
			if (dup)
				continue;
			if (nseen < 64)
				seen[nseen++] = p;
			int r = oam_kubeconfig_add_file(kc, p, 1, d);
			if (r < 0)
				rc = -1;
			else if (r == 0)
				n++;
		}
		free(copy);
		return rc < 0 ? -1 : n;
	}
	const char *home = getenv("HOME");
	if (home && *home) {
		char path[4096];
		snprintf(path, sizeof path, "%s/.kube/config", home);
		int r = oam_kubeconfig_add_file(kc, path, 1, d);
		return r < 0 ? -1 : r == 0 ? 1 : 0;
	}
	return 0;
}

/* ---- resolving a context ---- */

static int read_pem(const char *dir, const char *path, char **out, size_t *len, const char *what,
		    const struct oam_node *at, struct oam_diags *d)
{
	char *full = join_path(dir, path);
	if (!full)
		return -1;
	*out = slurp(full, len);
	if (!*out) {
		oam_diag(d, OAM_SEV_ERROR, ID, at, "cannot read %s '%s': %s", what, full, strerror(errno));
		free(full);
		return -1;
	}
	free(full);
	return 0;
}

static int decode_data(const char *b64, char **out, size_t *len, const char *key, const struct oam_node *at,
		       struct oam_diags *d)
{
	*out = oam_base64_decode(b64, strlen(b64), len);
	if (!*out) {
		oam_diag(d, OAM_SEV_ERROR, ID, at, "kubeconfig field '%s' is not valid base64", key);
		return -1;
	}
	return 0;
}

static void names_hint(struct oam_err *e, const char *what, const struct oam_kentries *es)
{
	char buf[300];
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < es->n && n < sizeof buf - 40; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%s'%s'", i ? ", " : "", es->v[i].name);
	if (es->n)
		oam_diag_hint(e, "defined %ss: %s", what, buf);
	else
		oam_diag_hint(e, "the kubeconfig defines no %ss", what);
}

static int resolve_exec(const struct oam_node *ex, const char *dir, struct oam_kconn *c, struct oam_diags *d)
{
	int bad = 0;
	const char *cmd = fstr(ex, "command", d, &bad), *av = fstr(ex, "apiVersion", d, &bad);
	const char *hint = fstr(ex, "installHint", d, &bad);
	const struct oam_node *args = oam_map_get(ex, "args"), *env = oam_map_get(ex, "env");
	size_t nargs = args && args->type == OAM_SEQ ? args->u.seq.n : 0;
	size_t nenv = env && env->type == OAM_SEQ ? env->u.seq.n : 0;
	if (bad)
		return -1;
	if (!cmd) {
		oam_diag(d, OAM_SEV_ERROR, ID, ex, "exec credential plugin without a command");
		return -1;
	}
	if (!av || (strcmp(av, "client.authentication.k8s.io/v1") && strcmp(av, "client.authentication.k8s.io/v1beta1"))) {
		struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, ID, ex, "exec credential plugin apiVersion '%s' is not supported",
					     av ? av : "");
		oam_diag_hint(e, "use client.authentication.k8s.io/v1 or client.authentication.k8s.io/v1beta1");
		return -1;
	}
	c->has_exec = 1;
	c->exec.argv = calloc(nargs + 2, sizeof *c->exec.argv);
	c->exec.env = calloc(nenv + 1, sizeof *c->exec.env);
	if (!c->exec.argv || !c->exec.env)
		return -1;
	/* kubectl resolves the command against the file's directory only if it holds a slash. */
	c->exec.argv[0] = strchr(cmd, '/') ? join_path(dir, cmd) : strdup(cmd);
	for (size_t i = 0; i < nargs; i++) {
		const struct oam_node *a = args->u.seq.items[i];
		if (a->type != OAM_STR) {
			oam_diag(d, OAM_SEV_ERROR, ID, a, "exec args must be strings");
			return -1;
		}
		c->exec.argv[i + 1] = strdup(a->u.str.s);
	}
	for (size_t i = 0; i < nenv; i++) {
		const struct oam_node *e = env->u.seq.items[i];
		const char *n = fstr(e, "name", d, &bad), *v = fstr(e, "value", d, &bad);
		if (bad)
			return -1;
		if (!n) {
			oam_diag(d, OAM_SEV_ERROR, ID, e, "exec env entry without a name");
			return -1;
		}
		c->exec.env[i] = malloc(strlen(n) + (v ? strlen(v) : 0) + 2);
		if (!c->exec.env[i])
			return -1;
		sprintf(c->exec.env[i], "%s=%s", n, v ? v : "");
	}
	c->exec.api_version = strdup(av);
	c->exec.install_hint = xstrdup(hint);
	c->exec.provide_cluster_info = fbool(ex, "provideClusterInfo", d, &bad);
	return bad ? -1 : 0;
}

static int resolve_cluster(const struct oam_kentry *ce, struct oam_kconn *c, struct oam_diags *d)
{
	int bad = 0;
	const struct oam_node *b = ce->body;
	const char *server = fstr(b, "server", d, &bad);
	const char *ca = fstr(b, "certificate-authority", d, &bad);
	const char *cad = fstr(b, "certificate-authority-data", d, &bad);
	const char *tsn = fstr(b, "tls-server-name", d, &bad);
	const char *proxy = fstr(b, "proxy-url", d, &bad);
	int insecure = fbool(b, "insecure-skip-tls-verify", d, &bad);
	if (bad)
		return -1;
	if (!server) {
		struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, ID, ce->at, "cluster '%s' has no server", ce->name);
		oam_diag_hint(e, "set clusters[].cluster.server to the API server URL (https://host:port)");
		return -1;
	}
	if (strncmp(server, "https://", 8) && strncmp(server, "http://", 7)) {
		oam_diag(d, OAM_SEV_ERROR, ID, oam_map_get(b, "server"),
			 "cluster '%s': server '%s' is not an http:// or https:// URL", ce->name, server);
		return -1;
	}
	if (insecure && (ca || cad)) {
		struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, ID, ce->at,
					     "cluster '%s': a certificate-authority together with insecure-skip-tls-verify is not allowed",
					     ce->name);
		oam_diag_hint(e, "remove one of them (kubectl refuses this combination too)");
		return -1;
	}
	c->server = strdup(server);
	if (c->server) {
		size_t n = strlen(c->server);
		while (n > 8 && c->server[n - 1] == '/')
			c->server[--n] = '\0';
	}
	if (cad) {
		if (decode_data(cad, &c->ca, &c->ca_len, "certificate-authority-data", b, d) < 0)
			return -1;
	} else if (ca) {
		if (read_pem(ce->dir, ca, &c->ca, &c->ca_len, "certificate-authority", oam_map_get(b, "certificate-authority"), d) < 0)
			return -1;
	}
	c->insecure = insecure;
	c->tls_server_name = xstrdup(tsn);
	c->proxy_url = xstrdup(proxy);
	return 0;
}

static int resolve_user(const struct oam_kentry *ue, struct oam_kconn *c, struct oam_diags *d)
{
	int bad = 0;
	const struct oam_node *b = ue->body;
	if (!b)
		return 0;
	const char *token = fstr(b, "token", d, &bad), *tf = fstr(b, "tokenFile", d, &bad);
	const char *cert = fstr(b, "client-certificate", d, &bad), *certd = fstr(b, "client-certificate-data", d, &bad);
	const char *key = fstr(b, "client-key", d, &bad), *keyd = fstr(b, "client-key-data", d, &bad);
	const char *user = fstr(b, "username", d, &bad), *pass = fstr(b, "password", d, &bad);
	const struct oam_node *ex = oam_map_get(b, "exec"), *ap = oam_map_get(b, "auth-provider");
	if (bad)
		return -1;
	if ((token || tf) && (user || pass)) {
		struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, ID, ue->at,
					     "user '%s': more than one authentication method found (token and basic auth)", ue->name);
		oam_diag_hint(e, "only one is allowed");
		return -1;
	}
	if (ex && ex->type == OAM_MAP && ap && ap->type == OAM_MAP) {
		oam_diag(d, OAM_SEV_ERROR, ID, ue->at, "user '%s': exec and auth-provider are mutually exclusive", ue->name);
		return -1;
	}
	if ((cert || certd) != (key || keyd)) {
		struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, ID, ue->at, "user '%s': a client certificate needs a client key%s",
					     ue->name, (cert || certd) ? "" : " and the other way round");
		oam_diag_hint(e, "set both client-certificate(-data) and client-key(-data)");
		return -1;
	}
	if (token)
		c->token = strdup(token);
	else if (tf)
		c->token_file = join_path(ue->dir, tf);
	if (certd) {
		if (decode_data(certd, &c->cert, &c->cert_len, "client-certificate-data", b, d) < 0)
			return -1;
	} else if (cert && read_pem(ue->dir, cert, &c->cert, &c->cert_len, "client-certificate",
				    oam_map_get(b, "client-certificate"), d) < 0) {
		return -1;
	}
	if (keyd) {
		if (decode_data(keyd, &c->key, &c->key_len, "client-key-data", b, d) < 0)
			return -1;
	} else if (key && read_pem(ue->dir, key, &c->key, &c->key_len, "client-key", oam_map_get(b, "client-key"), d) < 0) {
		return -1;
	}
	c->username = xstrdup(user);
	c->password = xstrdup(pass);
	if (ap && ap->type == OAM_MAP) {
		const char *name = fstr(ap, "name", d, &bad);
		const struct oam_node *cfg = oam_map_get(ap, "config");
		const char *idt = cfg ? fstr(cfg, "id-token", d, &bad) : NULL;
		if (name && !strcmp(name, "oidc") && idt) {
			if (!c->token)
				c->token = strdup(idt);
		} else {
			struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, ID, ap, "user '%s': auth-provider '%s' is not supported",
						     ue->name, name ? name : "");
			oam_diag_hint(e, "use an exec credential plugin (gcp and azure providers were removed from kubectl too)");
			return -1;
		}
	}
	/* An explicit token or certificate means the plugin is not run (client-go). */
	if (ex && ex->type == OAM_MAP && !c->token && !c->token_file && !c->cert && !c->username)
		return resolve_exec(ex, ue->dir, c, d);
	return 0;
}

int oam_kubeconfig_resolve(const struct oam_kubeconfig *kc, const struct oam_kflags *f, struct oam_kconn *c,
			   struct oam_diags *d)
{
	const char *ctxname = f->context ? f->context : kc->current_context;
	const struct oam_kentry *ce = NULL, *cl, *ue = NULL;
	const char *clname, *uname = NULL, *ns = NULL;
	char src[1100];
	int bad = 0;
	memset(c, 0, sizeof *c);
	if (!ctxname) {
		struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, ID, kc->first_file[0] ? kc->first_file : NULL, 0, 0,
						"no current-context is set in the kubeconfig");
		oam_diag_hint(e, "pass --context NAME or run 'kubectl config use-context NAME'");
		return -1;
	}
	ce = find_entry(&kc->contexts, ctxname);
	if (!ce) {
		struct oam_err *e = f->context
			? oam_diag_at(d, OAM_SEV_ERROR, ID, kc->first_file, 0, 0, "context '%s' not found in the kubeconfig", ctxname)
			: oam_diag(d, OAM_SEV_ERROR, ID, kc->current_at, "current-context '%s' is not defined", ctxname);
		names_hint(e, "context", &kc->contexts);
		return -1;
	}
	clname = f->cluster ? f->cluster : ce->body ? fstr(ce->body, "cluster", d, &bad) : NULL;
	if (f->user)
		uname = f->user;
	else if (ce->body)
		uname = fstr(ce->body, "user", d, &bad);
	if (ce->body)
		ns = fstr(ce->body, "namespace", d, &bad);
	if (bad)
		return -1;
	if (!clname) {
		oam_diag(d, OAM_SEV_ERROR, ID, ce->at, "context '%s' names no cluster", ctxname);
		return -1;
	}
	cl = find_entry(&kc->clusters, clname);
	if (!cl) {
		struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, ID, ce->at, "context '%s' names cluster '%s', which is not defined",
					     ctxname, clname);
		names_hint(e, "cluster", &kc->clusters);
		return -1;
	}
	if (uname) {
		ue = find_entry(&kc->users, uname);
		if (!ue) {
			struct oam_err *e = oam_diag(d, OAM_SEV_ERROR, ID, ce->at,
						     "context '%s' names user '%s', which is not defined", ctxname, uname);
			names_hint(e, "user", &kc->users);
			return -1;
		}
	}
	c->context = strdup(ctxname);
	c->cluster = strdup(clname);
	c->user = strdup(uname ? uname : "");
	snprintf(src, sizeof src, "context '%s' of %s", ctxname, kc->nfiles > 1 ? "the merged kubeconfig" : kc->first_file);
	c->source = strdup(src);
	if (resolve_cluster(cl, c, d) < 0)
		return -1;
	if (ue && resolve_user(ue, c, d) < 0)
		return -1;
	c->namespace = strdup(f->namespace ? f->namespace : ns ? ns : "default");
	if (!c->context || !c->cluster || !c->user || !c->source || !c->server || !c->namespace) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM900", NULL, 0, 0, "out of memory");
		return -1;
	}
	return 0;
}

/* ---- in-cluster ---- */

int oam_kconn_in_cluster(const struct oam_kflags *f, struct oam_kconn *c, struct oam_diags *d)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
	const char *dir = getenv("OAMLUA_SERVICEACCOUNT_DIR");
	char path[4096], server[512];
	struct stat st;
	if (!dir || !*dir)
		dir = OAM_SA_DIR_DEFAULT;
	if (!host || !*host || !port || !*port)
		return 1;
	snprintf(path, sizeof path, "%s/token", dir);
	if (stat(path, &st) < 0)
		return 1;
	memset(c, 0, sizeof *c);
	if (strchr(host, ':'))
		snprintf(server, sizeof server, "https://[%s]:%s", host, port);
	else
		snprintf(server, sizeof server, "https://%s:%s", host, port);
	c->in_cluster = 1;
	c->server = strdup(server);
	c->token_file = strdup(path);
	c->context = strdup("");
	c->cluster = strdup("");
	c->user = strdup("");
	c->source = strdup("the in-cluster service account");
	snprintf(path, sizeof path, "%s/ca.crt", dir);
	c->ca = slurp(path, &c->ca_len);
	if (!c->ca) {
		oam_diag_at(d, OAM_SEV_ERROR, ID, path, 0, 0, "cannot read the in-cluster CA: %s", strerror(errno));
		return -1;
	}
	if (f->namespace) {
		c->namespace = strdup(f->namespace);
	} else if (getenv("POD_NAMESPACE") && *getenv("POD_NAMESPACE")) {
		c->namespace = strdup(getenv("POD_NAMESPACE"));
	} else {
		snprintf(path, sizeof path, "%s/namespace", dir);
		char *ns = slurp(path, NULL);
		if (ns) {
			ns[strcspn(ns, " \r\n\t")] = '\0';
			if (!*ns) {
				free(ns);
				ns = NULL;
			}
		}
		c->namespace = ns ? ns : strdup("default");
	}
	if (!c->server || !c->token_file || !c->namespace || !c->context || !c->cluster || !c->user || !c->source)
		return -1;
	return 0;
}

int oam_kconn_load(const struct oam_kflags *f, struct oam_kconn *c, struct oam_diags *d)
{
	struct oam_kubeconfig kc;
	int rc = -1, n;
	memset(c, 0, sizeof *c);
	if (oam_kubeconfig_init(&kc) < 0)
		return -1;
	n = oam_kubeconfig_locate(&kc, f->kubeconfig, d);
	if (n < 0)
		goto out;
	if (n == 0) {
		int r = oam_kconn_in_cluster(f, c, d);
		if (r == 1) {
			struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, ID, NULL, 0, 0,
							"no kubeconfig found and not running inside a cluster");
			oam_diag_hint(e, "pass --kubeconfig FILE, set $KUBECONFIG, or create ~/.kube/config");
		}
		rc = r == 0 ? 0 : -1;
		goto out;
	}
	rc = oam_kubeconfig_resolve(&kc, f, c, d);
out:
	oam_kubeconfig_release(&kc);
	return rc;
}

static void free_vec(char **v)
{
	if (!v)
		return;
	for (size_t i = 0; v[i]; i++)
		free(v[i]);
	free(v);
}

void oam_kconn_release(struct oam_kconn *c)
{
	free(c->server);
	free(c->namespace);
	free(c->context);
	free(c->cluster);
	free(c->user);
	free(c->source);
	free(c->ca);
	free(c->cert);
	wipe_free(c->key, c->key_len);
	wipe_free(c->token, 0);
	free(c->token_file);
	free(c->username);
	wipe_free(c->password, 0);
	free(c->tls_server_name);
	free(c->proxy_url);
	free_vec(c->exec.argv);
	if (c->exec.env) {
		for (size_t i = 0; c->exec.env[i]; i++)
			wipe_free(c->exec.env[i], 0);
		free(c->exec.env);
	}
	free(c->exec.api_version);
	free(c->exec.install_hint);
	wipe_free(c->exec_token, 0);
	wipe_free(c->file_token, 0);
	memset(c, 0, sizeof *c);
}

int oam_kconn_has_credentials(const struct oam_kconn *c)
{
	return c->token || c->token_file || c->cert || c->key || c->has_exec || c->username || c->password;
}

/* ---- tokens and exec plugins ---- */

int oam_kconn_bearer(struct oam_kconn *c, int refresh, const char **token, struct oam_diags *d)
{
	*token = NULL;
	if (c->token) {
		*token = c->token;
		return 0;
	}
	if (c->token_file) {
		time_t now = time(NULL);
		if (!c->file_token || refresh || now - c->file_token_time >= 60) {
			char *t = slurp(c->token_file, NULL);
			if (!t) {
				oam_diag_at(d, OAM_SEV_ERROR, ID, c->token_file, 0, 0, "cannot read the token file: %s",
					    strerror(errno));
				return -1;
			}
			t[strcspn(t, "\r\n")] = '\0';
			wipe_free(c->file_token, 0);
			c->file_token = t;
			c->file_token_time = now;
		}
		*token = c->file_token;
		return 0;
	}
	if (c->has_exec) {
		if (refresh || !c->exec_ran || (c->exec_expiry && time(NULL) >= c->exec_expiry - 10)) {
			if (oam_kconn_run_exec(c, d) < 0)
				return -1;
		}
		*token = c->exec_token;
	}
	return 0;
}

static json_t *exec_info(const struct oam_kconn *c)
{
	json_t *spec = json_pack("{s:b}", "interactive", 0);
	if (c->exec.provide_cluster_info) {
		json_t *cl = json_pack("{s:s, s:n}", "server", c->server, "config");
		if (c->ca) {
			char *b = oam_base64_encode(c->ca, c->ca_len, 0);
			if (b)
				json_object_set_new(cl, "certificate-authority-data", json_string(b));
			free(b);
		}
		if (c->tls_server_name)
			json_object_set_new(cl, "tls-server-name", json_string(c->tls_server_name));
		if (c->insecure)
			json_object_set_new(cl, "insecure-skip-tls-verify", json_true());
		if (c->proxy_url)
			json_object_set_new(cl, "proxy-url", json_string(c->proxy_url));
		json_object_set_new(spec, "cluster", cl);
	}
	return json_pack("{s:s, s:s, s:o}", "kind", "ExecCredential", "apiVersion", c->exec.api_version, "spec", spec);
}

static int env_overridden(const char *entry, char *const *extra)
{
	size_t n = strcspn(entry, "=");
	if (!strncmp(entry, "KUBERNETES_EXEC_INFO=", 21))
		return 1;
	for (size_t i = 0; extra && extra[i]; i++)
		if (!strncmp(extra[i], entry, n) && extra[i][n] == '=')
			return 1;
	return 0;
}

static time_t parse_time(const char *s)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
		   &tm.tm_sec) != 6)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

int oam_kconn_run_exec(struct oam_kconn *c, struct oam_diags *d)
{
	const char *cmd = c->exec.argv[0];
	int pfd[2] = { -1, -1 }, status = 0, rc = -1;
	pid_t pid;
	posix_spawn_file_actions_t fa;
	char **envp = NULL, *info_s = NULL, *out = NULL;
	size_t nenv = 0, nextra = 0, n = 0, cap = 0;
	json_t *info = NULL, *res = NULL;
	json_error_t jerr;
	int fa_ok = 0;
	struct oam_err *e;

	while (environ[nenv])
		nenv++;
	while (c->exec.env[nextra])
		nextra++;
	envp = calloc(nenv + nextra + 2, sizeof *envp);
	info = exec_info(c);
	info_s = info ? json_dumps(info, JSON_COMPACT) : NULL;
	if (!envp || !info_s)
		goto out;
	{
		size_t k = 0;
		for (size_t i = 0; i < nenv; i++)
			if (!env_overridden(environ[i], c->exec.env))
				envp[k++] = environ[i];
		for (size_t i = 0; i < nextra; i++)
			envp[k++] = c->exec.env[i];
		char *ei = malloc(strlen(info_s) + 32);
		if (!ei)
			goto out;
		sprintf(ei, "KUBERNETES_EXEC_INFO=%s", info_s);
		envp[k++] = ei;
		envp[k] = NULL;
	}
	if (pipe(pfd) < 0 || posix_spawn_file_actions_init(&fa) != 0)
		goto out;
	fa_ok = 1;
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_addclose(&fa, pfd[0]);
	posix_spawn_file_actions_addclose(&fa, pfd[1]);
	int serr = posix_spawnp(&pid, cmd, &fa, NULL, c->exec.argv, envp);
	close(pfd[1]);
	pfd[1] = -1;
	if (serr) {
		e = oam_diag_at(d, OAM_SEV_ERROR, ID_EXEC, NULL, 0, 0, "cannot run the credential plugin '%s': %s", cmd,
				strerror(serr));
		if (c->exec.install_hint)
			oam_diag_hint(e, "%s", c->exec.install_hint);
		goto out;
	}
	for (;;) {
		if (cap - n < 4096) {
			char *nb = realloc(out, cap ? cap * 2 : 8192);
			if (!nb)
				break;
			out = nb;
			cap = cap ? cap * 2 : 8192;
		}
		ssize_t r = read(pfd[0], out + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		e = oam_diag_at(d, OAM_SEV_ERROR, ID_EXEC, NULL, 0, 0, "the credential plugin '%s' failed (%s %d)", cmd,
				WIFEXITED(status) ? "exit status" : "signal",
				WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		if (c->exec.install_hint)
			oam_diag_hint(e, "%s", c->exec.install_hint);
		goto out;
	}
	res = out ? json_loadb(out, n, 0, &jerr) : NULL;
	if (!json_is_object(res)) {
		/* Never quote the output: it may hold a credential. */
		oam_diag_at(d, OAM_SEV_ERROR, ID_EXEC, NULL, 0, 0,
			    "the credential plugin '%s' did not print an ExecCredential (JSON)", cmd);
		goto out;
	}
	const char *av = json_string_value(json_object_get(res, "apiVersion"));
	if (!av || strcmp(av, c->exec.api_version)) {
		oam_diag_at(d, OAM_SEV_ERROR, ID_EXEC, NULL, 0, 0,
			    "the credential plugin '%s' answered with apiVersion '%s', expected '%s'", cmd, av ? av : "",
			    c->exec.api_version);
		goto out;
	}
	json_t *st = json_object_get(res, "status");
	if (!json_is_object(st)) {
		oam_diag_at(d, OAM_SEV_ERROR, ID_EXEC, NULL, 0, 0, "the credential plugin '%s' printed no status", cmd);
		goto out;
	}
	const char *tok = json_string_value(json_object_get(st, "token"));
	const char *cd = json_string_value(json_object_get(st, "clientCertificateData"));
	const char *kd = json_string_value(json_object_get(st, "clientKeyData"));
	const char *exp = json_string_value(json_object_get(st, "expirationTimestamp"));
	if ((cd && *cd) != (kd && *kd)) {
		oam_diag_at(d, OAM_SEV_ERROR, ID_EXEC, NULL, 0, 0,
			    "the credential plugin '%s' gave only one of clientCertificateData and clientKeyData", cmd);
		goto out;
	}
	if (!(tok && *tok) && !(cd && *cd)) {
		oam_diag_at(d, OAM_SEV_ERROR, ID_EXEC, NULL, 0, 0,
			    "the credential plugin '%s' gave neither a token nor a client certificate", cmd);
		goto out;
	}
	wipe_free(c->exec_token, 0);
	c->exec_token = tok && *tok ? strdup(tok) : NULL;
	if (cd && *cd) {
		free(c->cert);
		wipe_free(c->key, c->key_len);
		c->cert = strdup(cd);
		c->cert_len = strlen(cd);
		c->key = strdup(kd);
		c->key_len = strlen(kd);
	}
	c->exec_expiry = exp ? parse_time(exp) : 0;
	c->exec_ran = 1;
	rc = 0;
out:
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	if (envp) {
		for (size_t i = 0; envp[i]; i++)
			if (!strncmp(envp[i], "KUBERNETES_EXEC_INFO=", 21))
				free(envp[i]);
		free(envp);
	}
	free(info_s);
	json_decref(info);
	json_decref(res);
	if (out) {
		explicit_bzero(out, cap);
		free(out);
	}
	return rc;
}
