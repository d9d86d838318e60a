/* Unit tests: kubeconfig merging and resolution as kubectl does it — the
 * first file that defines a name supplies the whole entry, current-context
 * from the first file that sets it, relative paths against the defining
 * file, namespace fallbacks, -data fields, validation, in-cluster config. */
#include "tap.h"
#include "oamlua/kubeconfig.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const char file_a[] =
	"apiVersion: v1\n"
	"kind: Config\n"
	"clusters:\n"
	"- name: prod\n"
	"  cluster:\n"
	"    server: https://a.example:6443/\n"
	"- name: dev\n"
	"  cluster: {server: https://dev.example, certificate-authority-data: UEVNLUNB}\n"
	"users:\n"
	"- name: admin\n"
	"  user: {token: token-from-a}\n"
	"- name: files\n"
	"  user:\n"
	"    tokenFile: secrets/token\n"
	"- name: plugin\n"
	"  user:\n"
	"    exec:\n"
	"      apiVersion: client.authentication.k8s.io/v1beta1\n"
	"      command: ./bin/login\n"
	"      args: [get-token, --json]\n"
	"      env: [{name: MODE, value: quick}]\n"
	"- name: pathplugin\n"
	"  user:\n"
	"    exec: {apiVersion: client.authentication.k8s.io/v1, command: gke-auth, interactiveMode: Never}\n"
	"contexts:\n"
	"- name: prod\n"
	"  context: {cluster: prod, user: admin, namespace: team}\n"
	"- name: dev-files\n"
	"  context: {cluster: dev, user: files}\n"
	"- name: dev-plugin\n"
	"  context: {cluster: dev, user: plugin}\n"
	"- name: dev-path\n"
	"  context: {cluster: dev, user: pathplugin}\n";

/* Redefines prod (whole entry ignored, even the field A left empty) and
 * admin, adds its own context, and sets current-context. */
static const char file_b[] =
	"clusters:\n"
	"- name: prod\n"
	"  cluster: {server: https://b.example, insecure-skip-tls-verify: true}\n"
	"- name: staging\n"
	"  cluster: {server: https://staging.example}\n"
	"users:\n"
	"- name: admin\n"
	"  user: {token: token-from-b}\n"
	"contexts:\n"
	"- name: staging\n"
	"  context: {cluster: staging, user: admin}\n"
	"current-context: prod\n";

static const char file_c[] = "current-context: staging\n";

static const char bad[] =
	"clusters:\n"
	"- name: both\n"
	"  cluster: {server: https://x, certificate-authority-data: UEVN, insecure-skip-tls-verify: true}\n"
	"- name: noserver\n"
	"  cluster: {}\n"
	"users:\n"
	"- name: halfcert\n"
	"  user: {client-certificate-data: UEVN}\n"
	"- name: twomethods\n"
	"  user: {token: t, username: u, password: p}\n"
	"- name: badexec\n"
	"  user: {exec: {command: x, apiVersion: client.authentication.k8s.io/v1alpha1}}\n"
	"contexts:\n"
	"- name: both\n"
	"  context: {cluster: both}\n"
	"- name: noserver\n"
	"  context: {cluster: noserver}\n"
	"- name: halfcert\n"
	"  context: {cluster: noserver2, user: halfcert}\n"
	"- name: nocluster\n"
	"  context: {cluster: missing}\n"
	"- name: nouser\n"
	"  context: {cluster: both2, user: missing}\n"
	"- name: twomethods\n"
	"  context: {cluster: ok, user: twomethods}\n"
	"- name: badexec\n"
	"  context: {cluster: ok, user: badexec}\n"
	"- name: badns\n"
	"  context: {cluster: ok, namespace: [x]}\n"
	"current-context: undefined\n";

static const char bad2[] =
	"clusters:\n"
	"- name: noserver2\n"
	"  cluster: {server: https://y}\n"
	"- name: both2\n"
	"  cluster: {server: https://y}\n"
	"- name: ok\n"
	"  cluster: {server: https://ok}\n";

/* Resolves `ctx` in a fresh merge of the buffers; returns 0/-1 and the first finding's text. */
static int resolve(const char *const *bufs, size_t n, const char *ctx, const char *ns, struct oam_kconn *c,
		   char *msg, size_t size)
{
	struct oam_kubeconfig kc;
	struct oam_diags d;
	struct oam_kflags f = { 0 };
	int rc = -1;
	oam_diags_init(&d);
	oam_kubeconfig_init(&kc);
	for (size_t i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof name, "file%zu", i);
		if (oam_kubeconfig_add_buffer(&kc, name, i ? "/etc/kube" : "/home/me/.kube", bufs[i], strlen(bufs[i]), &d) < 0)
			goto out;
	}
	f.context = ctx;
	f.namespace = ns;
	rc = oam_kubeconfig_resolve(&kc, &f, c, &d);
out:
	snprintf(msg, size, "%s", d.n ? d.v[0].msg : "");
	oam_kubeconfig_release(&kc);
	oam_diags_release(&d);
	return rc;
}

int main(void)
{
	struct oam_kconn c;
	char msg[800];
	const char *ab[] = { file_a, file_b }, *abc[] = { file_a, file_b, file_c }, *ca[] = { file_c, file_a, file_b };
	const char *bb[] = { bad, bad2 };

	/* base64 */
	{
		size_t n;
		char *s = oam_base64_decode("aGVs\nbG8h", 9, &n);
		is_str(s, "hello!", "base64 decode ignores line breaks");
		is_int(n, 6, "base64 decoded length");
		free(s);
		ok(oam_base64_decode("a$b=", 4, NULL) == NULL, "base64 rejects other characters");
		s = oam_base64_encode("\xfb\xff", 2, 0);
		is_str(s, "+/8=", "base64 encode, standard alphabet with padding");
		free(s);
		s = oam_base64_encode("\xfb\xff", 2, 1);
		is_str(s, "-_8", "base64url without padding");
		free(s);
	}

	/* current-context from B (A has none); prod and admin from A, whole. */
	ok(resolve(ab, 2, NULL, NULL, &c, msg, sizeof msg) == 0, "two files resolve: %s", msg);
	is_str(c.context, "prod", "current-context comes from the first file that sets it");
	is_str(c.server, "https://a.example:6443", "the first file's cluster wins (trailing slash dropped)");
	is_int(c.insecure, 0, "the whole entry wins: B's insecure-skip-tls-verify is not merged in");
	is_str(c.token, "token-from-a", "the first file's user wins");
	is_str(c.namespace, "team", "namespace from the context");
	ok(oam_kconn_has_credentials(&c), "a token counts as credentials");
	oam_kconn_release(&c);

	ok(resolve(abc, 3, NULL, NULL, &c, msg, sizeof msg) == 0 && !strcmp(c.context, "prod"),
	   "a later current-context does not override an earlier one");
	oam_kconn_release(&c);
	ok(resolve(ca, 3, NULL, NULL, &c, msg, sizeof msg) == 0 && !strcmp(c.context, "staging") &&
	   !strcmp(c.server, "https://staging.example") && !strcmp(c.token, "token-from-a"),
	   "the first file's current-context, contexts from later files");
	is_str(c.namespace, "default", "no namespace in the context: default");
	oam_kconn_release(&c);

	ok(resolve(ab, 2, "staging", "other", &c, msg, sizeof msg) == 0, "--context picks another context");
	is_str(c.server, "https://staging.example", "--context: its cluster");
	is_str(c.namespace, "other", "-n wins over the context's namespace");
	oam_kconn_release(&c);

	/* Relative paths and -data. */
	ok(resolve(ab, 2, "dev-files", NULL, &c, msg, sizeof msg) == 0, "tokenFile context: %s", msg);
	is_str(c.token_file, "/home/me/.kube/secrets/token", "tokenFile resolves against the defining file's directory");
	ok(c.ca && c.ca_len == 6 && !memcmp(c.ca, "PEM-CA", 6), "certificate-authority-data is decoded");
	oam_kconn_release(&c);
	ok(resolve(ab, 2, "dev-plugin", NULL, &c, msg, sizeof msg) == 0 && c.has_exec, "exec plugin: %s", msg);
	is_str(c.exec.argv[0], "/home/me/.kube/./bin/login", "exec command with a slash resolves against the file");
	is_str(c.exec.argv[2], "--json", "exec args");
	is_str(c.exec.env[0], "MODE=quick", "exec env");
	is_str(c.exec.api_version, "client.authentication.k8s.io/v1beta1", "exec apiVersion");
	oam_kconn_release(&c);
	ok(resolve(ab, 2, "dev-path", NULL, &c, msg, sizeof msg) == 0 && !strcmp(c.exec.argv[0], "gke-auth"),
	   "exec command without a slash is looked up in PATH");
	oam_kconn_release(&c);

	/* Validation. */
	ok(resolve(bb, 2, NULL, NULL, &c, msg, sizeof msg) < 0 && strstr(msg, "current-context 'undefined' is not defined"),
	   "undefined current-context: %s", msg);
	oam_kconn_release(&c);
	ok(resolve(bb, 2, "both", NULL, &c, msg, sizeof msg) < 0 && strstr(msg, "insecure-skip-tls-verify is not allowed"),
	   "CA together with insecure-skip-tls-verify: %s", msg);
	oam_kconn_release(&c);
	ok(resolve(bb, 2, "noserver", NULL, &c, msg, sizeof msg) < 0 && strstr(msg, "has no server"), "no server: %s", msg);
	oam_kconn_release(&c);
	ok(resolve(bb, 2, "halfcert", NULL, &c, msg, sizeof msg) < 0 && strstr(msg, "needs a client key"),
	   "certificate without key: %s", msg);
	oam_kconn_release(&c);
	ok(resolve(bb, 2, "nocluster", NULL, &c, msg, sizeof msg) < 0 && strstr(msg, "cluster 'missing', which is not defined"),
	   "undefined cluster: %s", msg);
	oam_kconn_release(&c);
	ok(resolve(bb, 2, "nouser", NULL, &c, msg, sizeof msg) < 0 && strstr(msg, "user 'missing', which is not defined"),
	   "undefined user: %s", msg);
	oam_kconn_release(&c);
	ok(resolve(bb, 2, "twomethods", NULL, &c, msg, sizeof msg) < 0 && strstr(msg, "more than one authentication method"),
	   "token and basic auth: %s", msg);
	oam_kconn_release(&c);
	ok(resolve(bb, 2, "badexec", NULL, &c, msg, sizeof msg) < 0 && strstr(msg, "v1alpha1' is not supported"),
	   "exec apiVersion v1alpha1: %s", msg);
	oam_kconn_release(&c);
	ok(resolve(bb, 2, "badns", NULL, &c, msg, sizeof msg) < 0 && strstr(msg, "'namespace' must be a string"),
	   "namespace of the wrong type: %s", msg);
	oam_kconn_release(&c);
	ok(resolve(bb, 2, "nope", NULL, &c, msg, sizeof msg) < 0 && strstr(msg, "context 'nope' not found"),
	   "--context that does not exist: %s", msg);
	oam_kconn_release(&c);

	/* In-cluster: env + the service account directory. */
	{
		char dir[] = "/tmp/oamlua-sa.XXXXXX", path[256];
		struct oam_diags d;
		struct oam_kflags f = { 0 };
		FILE *fp;
		oam_diags_init(&d);
		ok(mkdtemp(dir) != NULL, "temp dir");
		snprintf(path, sizeof path, "%s/token", dir);
		fp = fopen(path, "w");
		fputs("sa-token\n", fp);
		fclose(fp);
		snprintf(path, sizeof path, "%s/ca.crt", dir);
		fp = fopen(path, "w");
		fputs("CA", fp);
		fclose(fp);
		snprintf(path, sizeof path, "%s/namespace", dir);
		fp = fopen(path, "w");
		fputs("apps\n", fp);
		fclose(fp);
		unsetenv("KUBERNETES_SERVICE_HOST");
		setenv("OAMLUA_SERVICEACCOUNT_DIR", dir, 1);
		is_int(oam_kconn_in_cluster(&f, &c, &d), 1, "not in a cluster without KUBERNETES_SERVICE_HOST");
		setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
		setenv("KUBERNETES_SERVICE_PORT", "443", 1);
		unsetenv("POD_NAMESPACE");
		is_int(oam_kconn_in_cluster(&f, &c, &d), 0, "in a cluster with host, port and token");
		is_str(c.server, "https://[fd00::1]:443", "in-cluster server (IPv6 bracketed)");
		is_str(c.namespace, "apps", "in-cluster namespace from the file");
		ok(c.ca && !strcmp(c.ca, "CA"), "in-cluster CA");
		const char *tok = NULL;
		ok(oam_kconn_bearer(&c, 0, &tok, &d) == 0 && tok && !strcmp(tok, "sa-token"), "in-cluster token from the file");
		oam_kconn_release(&c);
		setenv("POD_NAMESPACE", "from-env", 1);
		ok(oam_kconn_in_cluster(&f, &c, &d) == 0 && !strcmp(c.namespace, "from-env"), "POD_NAMESPACE wins over the file");
		oam_kconn_release(&c);
		f.namespace = "flag";
		ok(oam_kconn_in_cluster(&f, &c, &d) == 0 && !strcmp(c.namespace, "flag"), "-n wins over both");
		oam_kconn_release(&c);
		snprintf(path, sizeof path, "rm -rf %s", dir);
		ok(system(path) == 0, "clean up");
		oam_diags_release(&d);
	}
	return done_testing();
}
