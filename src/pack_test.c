/* pack_test.c — a pack's own tests, and the scaffold `pack init` writes.
 *
 * A fixture is a directory tests/CASE/ of the pack: `cmd` holds oamlua
 * arguments (render, validate, explain, traits or workloads; $CASE is the
 * case directory, $PACK the pack), next to the inputs, with the expected
 * standard output, standard error and exit status in expected.out,
 * expected.err and expected.status (absent: empty, empty, 0) — the same
 * layout as the project's own golden tests. Each case runs oamlua itself in
 * a child process, in the pack directory (so that messages name files
 * relative to it), with no pack store and no $OAMLUA_PATH, the pack and its
 * dependencies on the module search path. `cmd` is split into words here,
 * never given to a shell: module code only ever runs in the sandbox. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oamlua/load.h"
#include "oamlua/pack.h"

#define MAX_WORDS 128

static const char *const allowed_cmds[] = { "render", "validate", "explain", "traits", "workloads", NULL };

/* Splits `cmd` into words ('...' and "..." quote; $CASE and $PACK expand).
 * Returns the word count, or -1 with a message. */
static int split_words(const char *cmd, const char *casedir, char **words, char *err, size_t errsize)
{
	int n = 0;
	const char *p = cmd;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '\n' || *p == '#')
			break;
		char buf[4096];
		size_t l = 0;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n') {
			const char *add = NULL;
			char one[2] = { 0, 0 };
			if (*p == '\'' || *p == '"') {
				char q = *p++;
				const char *end = strchr(p, q);
				if (!end) {
					snprintf(err, errsize, "unbalanced quote");
					goto fail;
				}
				if (l + (size_t)(end - p) >= sizeof buf)
					goto long_word;
				memcpy(buf + l, p, (size_t)(end - p));
				l += (size_t)(end - p);
				p = end + 1;
				continue;
			}
			if (!strncmp(p, "$CASE", 5) || !strncmp(p, "${CASE}", 7)) {
				add = casedir;
				p += p[1] == '{' ? 7 : 5;
			} else if (!strncmp(p, "$PACK", 5) || !strncmp(p, "${PACK}", 7)) {
				add = ".";
				p += p[1] == '{' ? 7 : 5;
			} else if (strchr("|;&<>`$\\(){}*?", *p)) {
				snprintf(err, errsize, "'%c' is not allowed: cmd holds oamlua arguments, not shell", *p);
				goto fail;
			} else {
				one[0] = *p++;
				add = one;
			}
			if (l + strlen(add) >= sizeof buf)
				goto long_word;
			memcpy(buf + l, add, strlen(add));
			l += strlen(add);
		}
		buf[l] = '\0';
		if (n == MAX_WORDS - 8) {
			snprintf(err, errsize, "too many words");
			goto fail;
		}
		if (!(words[n++] = strdup(buf)))
			goto fail;
	}
	return n;
long_word:
	snprintf(err, errsize, "a word is too long");
fail:
	while (n > 0)
		free(words[--n]);
	return -1;
}

static int read_text(const char *path, unsigned char **data, size_t *len)
{
	if (oam_pack_read_file(path, data, len, 64u << 20) == 0)
		return 0;
	if (errno != ENOENT)
		return -1;
	*data = (unsigned char *)strdup("");
	*len = 0;
	return *data ? 0 : -1;
}

static int read_fd(int fd, unsigned char **data, size_t *len)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		return -1;
	unsigned char *buf = malloc((size_t)st.st_size + 1);
	size_t n = 0;
	if (!buf)
		return -1;
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			break;
		}
		n += (size_t)r;
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}

/* Shows where two texts first differ, as TAP comments. */
static void show_diff(const char *what, const char *want, const char *got)
{
	unsigned line = 1;
	const char *w = want, *g = got;
	while (*w && *w == *g) {
		if (*w == '\n') {
			line++;
			want = w + 1;
			got = g + 1;
		}
		w++;
		g++;
	}
	int wl = (int)strcspn(want, "\n"), gl = (int)strcspn(got, "\n");
	printf("#   %s differs at line %u:\n", what, line);
	printf("#     expected: %.*s%s\n", wl, want, *want ? "" : "(end)");
	printf("#          got: %.*s%s\n", gl, got, *got ? "" : "(end)");
}

static int self_exe(char *buf, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", buf, size - 1);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* Runs one case; fills out, err and the status. */
static int run_case(const char *packdir, char *const *argv, unsigned char **out, size_t *outlen, unsigned char **errb,
		    size_t *errlen, int *status)
{
	char self[PATH_MAX], tmpl1[PATH_MAX], tmpl2[PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	int fo = -1, fe = -1, rc = -1;
	if (self_exe(self, sizeof self) < 0)
		return -1;
	snprintf(tmpl1, sizeof tmpl1, "%s/oamlua-pack-test.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	snprintf(tmpl2, sizeof tmpl2, "%s", tmpl1);
	if ((fo = mkstemp(tmpl1)) < 0 || (fe = mkstemp(tmpl2)) < 0)
		goto out;
	unlink(tmpl1);
	unlink(tmpl2);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		goto out;
	if (pid == 0) {
		if (chdir(packdir) < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
			_exit(127);
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, 0);
		setenv("OAMLUA_PACKS", "", 1);   /* no store: only the pack and its dependencies */
		unsetenv("OAMLUA_PATH");
		setenv("LC_ALL", "C", 1);
		execv(self, argv);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			goto out;
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if (read_fd(fo, out, outlen) < 0)
		goto out;
	if (read_fd(fe, errb, errlen) < 0) {
		free(*out);
		goto out;
	}
	rc = 0;
out:
	if (fo >= 0)
		close(fo);
	if (fe >= 0)
		close(fe);
	return rc;
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The directory of a dependency: from --with pack directories, else the store. */
static int find_dep(const struct oam_pack_dep *dep, const char *const *with, const char *store, char *dir, size_t size,
		    char *found, size_t fsize, struct oam_diags *d)
{
	struct oam_semver v;
	char err[200];
	found[0] = '\0';
	for (size_t i = 0; with && with[i]; i++) {
		char p[PATH_MAX];
		unsigned char *buf;
		size_t len;
		struct oam_pack_manifest m;
		snprintf(p, sizeof p, "%s/%s", with[i], OAM_PACK_MANIFEST);
		if (oam_pack_read_file(p, &buf, &len, OAM_PACK_MAX_FILE) < 0)
			continue;
		struct oam_arena *a = oam_arena_new();
		int ok = a && oam_pack_manifest_parse(a, p, (const char *)buf, len, &m, d) == 0 && !strcmp(m.name, dep->name);
		if (ok) {
			snprintf(found, fsize, "%s", m.version);
			ok = oam_semver_satisfies(&m.semver, dep->range, err, sizeof err) == 1;
		}
		oam_arena_free(a);
		free(buf);
		if (ok) {
			snprintf(dir, size, "%s", with[i]);
			return 0;
		}
	}
	if (store) {
		struct oam_lock l;
		if (oam_lock_init(&l) == 0 && oam_lock_read(&l, store, d) == 0) {
			const struct oam_lock_pack *lp = oam_lock_find(&l, dep->name);
			if (lp && !found[0])
				snprintf(found, fsize, "%s", lp->version);
			if (lp && oam_semver_parse(lp->version, &v) == 0 &&
			    oam_semver_satisfies(&v, dep->range, err, sizeof err) == 1) {
				snprintf(dir, size, "%s/packs/%s", store, lp->name);
				oam_lock_release(&l);
				return 0;
			}
		}
		oam_lock_release(&l);
	}
	return -1;
}

int oam_pack_test(const char *dir, const char *const *with, const char *store, int accept, struct oam_diags *d)
{
	struct oam_pack_archive ar;
	struct oam_arena *a = NULL;
	struct oam_pack_manifest m;
	char *mpaths[64];
	size_t nm = 0;
	int failed = 0, rc = -1;
	char **cases = NULL;
	size_t ncases = 0, cap = 0;
	char absdir[PATH_MAX];
	oam_pack_archive_init(&ar);
	/* The same checks as `pack build`: manifest, layout, files. */
	if (oam_pack_archive_from_dir(&ar, dir, d) < 0)
		goto out;
	const struct oam_pack_file *mf = oam_pack_archive_get(&ar, OAM_PACK_MANIFEST);
	char where[PATH_MAX + 20];
	snprintf(where, sizeof where, "%s/%s", dir, OAM_PACK_MANIFEST);
	if (!(a = oam_arena_new()) || oam_pack_manifest_parse(a, where, (const char *)mf->data, mf->len, &m, d) < 0)
		goto out;
	if (!realpath(dir, absdir)) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM901", dir, 0, 0, "%s", strerror(errno));
		goto out;
	}
	/* Dependencies go on the search path before the pack. */
	int missing = 0;
	for (size_t i = 0; i < m.ndeps; i++) {
		char ddir[PATH_MAX], found[128], abs[PATH_MAX];
		if (find_dep(&m.deps[i], with, store, ddir, sizeof ddir, found, sizeof found, d) < 0) {
			struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, "OAM704", where, m.deps[i].line, m.deps[i].col,
							"pack '%s' needs '%s' %s to run its tests, but %s%s", m.name, m.deps[i].name,
							m.deps[i].range, found[0] ? "there is only version " : "it was not found",
							found);
			oam_diag_hint(e, "give its directory with --with DIR, or install it in the pack store");
			missing = 1;
			continue;
		}
		if (nm < 60 && realpath(ddir, abs))
			mpaths[nm++] = strdup(abs);
	}
	if (missing)
		goto out;
	char tdir[PATH_MAX + 16];
	snprintf(tdir, sizeof tdir, "%s/tests", dir);
	DIR *dh = opendir(tdir);
	struct dirent *de;
	while (dh && (de = readdir(dh))) {
		struct stat st;
		char p[PATH_MAX * 2];
		snprintf(p, sizeof p, "%s/%s", tdir, de->d_name);
		if (de->d_name[0] == '.' || stat(p, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (ncases == cap) {
			cap = cap ? cap * 2 : 16;
			char **v = realloc(cases, cap * sizeof *v);
			if (!v)
				break;
			cases = v;
		}
		cases[ncases++] = strdup(de->d_name);
	}
	if (dh)
		closedir(dh);
	if (ncases)
		qsort(cases, ncases, sizeof *cases, cmp_strp);
	printf("# pack %s %s: %zu fixture%s\n", m.name, m.version, ncases, ncases == 1 ? "" : "s");
	printf("1..%zu\n", ncases);
	for (size_t i = 0; i < ncases; i++) {
		char cdir[PATH_MAX * 2], p[PATH_MAX * 2], rel[600], msg[300];
		unsigned char *cmd = NULL, *out = NULL, *err = NULL, *want_out = NULL, *want_err = NULL, *want_st = NULL;
		size_t l1, l2, l3, l4, l5, l6;
		char *words[MAX_WORDS];
		int nw, status = 0, want_status = 0;
		snprintf(rel, sizeof rel, "tests/%s", cases[i]);
		snprintf(cdir, sizeof cdir, "%s/%s", absdir, rel);
		snprintf(p, sizeof p, "%s/cmd", cdir);
		if (oam_pack_read_file(p, &cmd, &l1, 65536) < 0) {
			printf("not ok %zu - %s\n#   no cmd file (the oamlua arguments of the case)\n", i + 1, cases[i]);
			failed++;
			continue;
		}
		nw = split_words((const char *)cmd, rel, words + 1, msg, sizeof msg);
		free(cmd);
		if (nw <= 0) {
			printf("not ok %zu - %s\n#   cmd: %s\n", i + 1, cases[i], nw < 0 ? msg : "empty");
			failed++;
			continue;
		}
		int known = 0;
		for (int k = 0; allowed_cmds[k]; k++)
			known |= !strcmp(words[1], allowed_cmds[k]);
		if (!known) {
			printf("not ok %zu - %s\n#   cmd: '%s' cannot be tested here (render, validate, explain, traits, workloads)\n",
			       i + 1, cases[i], words[1]);
			for (int k = 1; k <= nw; k++)
				free(words[k]);
			failed++;
			continue;
		}
		/* oamlua SUBCOMMAND --module-path DEP... --module-path . ARGS... */
		char *argv[MAX_WORDS + 70];
		size_t ac = 0;
		argv[ac++] = "oamlua";
		argv[ac++] = words[1];
		for (size_t k = 0; k < nm; k++) {
			argv[ac++] = "--module-path";
			argv[ac++] = mpaths[k];
		}
		argv[ac++] = "--module-path";
		argv[ac++] = ".";
		for (int k = 2; k <= nw; k++)
			argv[ac++] = words[k];
		argv[ac] = NULL;
		int ran = run_case(absdir, argv, &out, &l2, &err, &l3, &status);
		for (int k = 1; k <= nw; k++)
			free(words[k]);
		if (ran < 0) {
			printf("not ok %zu - %s\n#   cannot run oamlua: %s\n", i + 1, cases[i], strerror(errno));
			failed++;
			continue;
		}
		snprintf(p, sizeof p, "%s/expected.out", cdir);
		int r1 = read_text(p, &want_out, &l4);
		snprintf(p, sizeof p, "%s/expected.err", cdir);
		int r2 = read_text(p, &want_err, &l5);
		snprintf(p, sizeof p, "%s/expected.status", cdir);
		int r3 = read_text(p, &want_st, &l6);
		if (r3 == 0 && l6)
			want_status = atoi((const char *)want_st);
		int same_out = r1 == 0 && l2 == l4 && !memcmp(out, want_out, l2);
		int same_err = r2 == 0 && l3 == l5 && !memcmp(err, want_err, l3);
		int pass = same_out && same_err && status == want_status;
		if (!pass && accept) {
			static const char *const names[] = { "expected.out", "expected.err" };
			unsigned char *data[] = { out, err };
			size_t lens[] = { l2, l3 };
			for (int k = 0; k < 2; k++) {
				snprintf(p, sizeof p, "%s/%s", cdir, names[k]);
				if (lens[k])
					oam_pack_write_file(p, data[k], lens[k], 0644);
				else
					unlink(p);
			}
			snprintf(p, sizeof p, "%s/expected.status", cdir);
			if (status) {
				char s[16];
				snprintf(s, sizeof s, "%d\n", status);
				oam_pack_write_file(p, s, strlen(s), 0644);
			} else {
				unlink(p);
			}
			printf("not ok %zu - %s # rewritten: review the expected files\n", i + 1, cases[i]);
			failed++;
		} else if (pass) {
			printf("ok %zu - %s\n", i + 1, cases[i]);
		} else {
			printf("not ok %zu - %s\n", i + 1, cases[i]);
			if (!same_out)
				show_diff("stdout", (const char *)want_out, (const char *)out);
			if (!same_err)
				show_diff("stderr", (const char *)want_err, (const char *)err);
			if (status != want_status)
				printf("#   exit status %d, expected %d\n", status, want_status);
			failed++;
		}
		free(out);
		free(err);
		free(want_out);
		free(want_err);
		free(want_st);
	}
	printf("# %zu passed, %d failed\n", ncases - (size_t)failed, failed);
	rc = failed;
out:
	for (size_t i = 0; i < ncases; i++)
		free(cases[i]);
	free(cases);
	for (size_t i = 0; i < nm; i++)
		free(mpaths[i]);
	oam_arena_free(a);
	oam_pack_archive_release(&ar);
	return rc;
}

/* ---- the scaffold ---- */

static const char scaffold_manifest[] =
	"# The trait pack @NAME@: see docs/packs.md of oamlua for every field.\n"
	"name: @NAME@\n"
	"version: 0.1.0\n"
	"description: Lets only chosen clients reach a component (NetworkPolicy)\n"
	"maintainers:\n"
	"  - name: Platform team\n"
	"    email: platform@example.com\n"
	"oamlua: oamlua/v1                # the module API the modules are written for\n"
	"kubernetes: \">=1.25.0\"           # Kubernetes versions the pack supports\n"
	"dependencies: []                 # e.g. - { name: base, version: \"^1.0.0\" }\n"
	"limits:                          # per call of any module of the pack\n"
	"  instructions: 1000000\n"
	"  memory: 16Mi\n"
	"modules:\n"
	"  @NAME@:\n"
	"    emits:                       # what it may put into the output\n"
	"      - apiVersion: networking.k8s.io/v1\n"
	"        kinds: [NetworkPolicy]\n"
	"    requires:                    # what the cluster must serve\n"
	"      - apiVersion: networking.k8s.io/v1\n"
	"        kind: NetworkPolicy\n";

static const char scaffold_trait[] =
	"-- @NAME@: lets only pods of the component's own namespace, or of one\n"
	"-- chosen namespace, reach the component's container ports, with a\n"
	"-- networking.k8s.io/v1 NetworkPolicy. Written by 'oamlua pack init':\n"
	"-- make it yours (docs/writing-traits.md is the module contract).\n"
	"return {\n"
	"\tapiVersion = \"oamlua/v1\",\n"
	"\tkind = \"Trait\",\n"
	"\tname = \"@NAME@\",\n"
	"\tversion = \"0.1.0\",\n"
	"\tdescription = \"Lets only pods of one namespace reach the component (NetworkPolicy)\",\n"
	"\tappliesToWorkloads = { \"Server\", \"SingletonServer\" },\n"
	"\tconflictsWith = {},\n"
	"\tschema = {\n"
	"\t\tfromNamespace = { type = \"string\",\n"
	"\t\t\tdescription = \"Namespace whose pods may connect (default: the component's own)\" },\n"
	"\t},\n"
	"\n"
	"\tvalidate = function(ctx, props)\n"
	"\t\tif props.fromNamespace and not oam.is_dns_label(props.fromNamespace) then\n"
	"\t\t\treturn { { property = \"fromNamespace\",\n"
	"\t\t\t\tmessage = \"fromNamespace must be a namespace name, got '\" .. props.fromNamespace .. \"'\" } }\n"
	"\t\tend\n"
	"\tend,\n"
	"\n"
	"\trender = function(ctx, props)\n"
	"\t\tlocal ports = oam.array()\n"
	"\t\tfor _, p in ipairs(ctx.ports) do\n"
	"\t\t\tports[#ports + 1] = { port = p.containerPort, protocol = p.protocol }\n"
	"\t\tend\n"
	"\t\tlocal from = { podSelector = {} }\n"
	"\t\tif props.fromNamespace then\n"
	"\t\t\tfrom = { namespaceSelector = { matchLabels = {\n"
	"\t\t\t\t[\"kubernetes.io/metadata.name\"] = props.fromNamespace } } }\n"
	"\t\tend\n"
	"\t\treturn { outputs = { {\n"
	"\t\t\tapiVersion = \"networking.k8s.io/v1\",\n"
	"\t\t\tkind = \"NetworkPolicy\",\n"
	"\t\t\tmetadata = { name = oam.name(ctx.name, \"@NAME@\") },\n"
	"\t\t\tspec = {\n"
	"\t\t\t\tpodSelector = oam.selector(ctx),\n"
	"\t\t\t\tpolicyTypes = { \"Ingress\" },\n"
	"\t\t\t\tingress = { { from = { from }, ports = ports } },\n"
	"\t\t\t},\n"
	"\t\t} } }\n"
	"\tend,\n"
	"}\n";

static const char scaffold_doc[] =
	"# @NAME@\n"
	"\n"
	"Lets only pods of the component's own namespace — or of the namespace named by\n"
	"`fromNamespace` — reach the component's container ports. Emits a\n"
	"`networking.k8s.io/v1` NetworkPolicy named `INSTANCE-@NAME@`; the cluster's network\n"
	"plugin must enforce NetworkPolicies.\n"
	"\n"
	"| property | type | default | meaning |\n"
	"|---|---|---|---|\n"
	"| `fromNamespace` | string | the component's namespace | namespace whose pods may connect |\n"
	"\n"
	"Applies to `Server` and `SingletonServer`.\n"
	"\n"
	"```yaml\n"
	"      traits:\n"
	"        - name: @NAME@\n"
	"          properties:\n"
	"            fromNamespace: monitoring\n"
	"```\n";

static const char scaffold_app[] =
	"apiVersion: core.oam.dev/v1alpha1\n"
	"kind: ComponentSchematic\n"
	"metadata:\n"
	"  name: web\n"
	"spec:\n"
	"  workloadType: Server\n"
	"  containers:\n"
	"    - name: web\n"
	"      image: nginx:1.27\n"
	"      ports:\n"
	"        - name: http\n"
	"          containerPort: 8080\n"
	"---\n"
	"apiVersion: core.oam.dev/v1alpha1\n"
	"kind: ApplicationConfiguration\n"
	"metadata:\n"
	"  name: demo\n"
	"spec:\n"
	"  components:\n"
	"    - componentName: web\n"
	"      instanceName: web\n"
	"      traits:\n"
	"        - name: @NAME@\n"
	"          properties:\n"
	"            fromNamespace: @VALUE@\n";

static const char scaffold_expected[] =
	"---\n"
	"apiVersion: apps/v1\n"
	"kind: Deployment\n"
	"metadata:\n"
	"  name: web\n"
	"  labels:\n"
	"    app.kubernetes.io/managed-by: oamlua\n"
	"    app.oam.dev/component: web\n"
	"    app.oam.dev/name: demo\n"
	"    workload.oam.dev/type: Server\n"
	"spec:\n"
	"  selector:\n"
	"    matchLabels:\n"
	"      app.oam.dev/component: web\n"
	"      app.oam.dev/name: demo\n"
	"  template:\n"
	"    metadata:\n"
	"      labels:\n"
	"        app.oam.dev/component: web\n"
	"        app.oam.dev/name: demo\n"
	"        workload.oam.dev/type: Server\n"
	"    spec:\n"
	"      containers:\n"
	"      - name: web\n"
	"        image: nginx:1.27\n"
	"        ports:\n"
	"        - name: http\n"
	"          containerPort: 8080\n"
	"          protocol: TCP\n"
	"---\n"
	"apiVersion: v1\n"
	"kind: Service\n"
	"metadata:\n"
	"  name: web\n"
	"  labels:\n"
	"    app.kubernetes.io/managed-by: oamlua\n"
	"    app.oam.dev/component: web\n"
	"    app.oam.dev/name: demo\n"
	"    workload.oam.dev/type: Server\n"
	"spec:\n"
	"  ports:\n"
	"  - name: http\n"
	"    port: 8080\n"
	"    protocol: TCP\n"
	"    targetPort: 8080\n"
	"  selector:\n"
	"    app.oam.dev/component: web\n"
	"    app.oam.dev/name: demo\n"
	"---\n"
	"apiVersion: networking.k8s.io/v1\n"
	"kind: NetworkPolicy\n"
	"metadata:\n"
	"  name: web-@NAME@\n"
	"  labels:\n"
	"    app.kubernetes.io/managed-by: oamlua\n"
	"    app.oam.dev/component: web\n"
	"    app.oam.dev/name: demo\n"
	"    trait.oam.dev/type: @NAME@\n"
	"spec:\n"
	"  ingress:\n"
	"  - from:\n"
	"    - namespaceSelector:\n"
	"        matchLabels:\n"
	"          kubernetes.io/metadata.name: monitoring\n"
	"    ports:\n"
	"    - port: 8080\n"
	"      protocol: TCP\n"
	"  podSelector:\n"
	"    matchLabels:\n"
	"      app.oam.dev/component: web\n"
	"      app.oam.dev/name: demo\n"
	"  policyTypes:\n"
	"  - Ingress\n";

static const char scaffold_bad_err[] =
	"oamlua: tests/bad-namespace/app.yaml:25:28: error[OAM413]: instance 'web': trait '@NAME@': fromNamespace must "
	"be a namespace name, got 'Not_A_Namespace'\n";

/* Replaces @NAME@ and @VALUE@. */
static char *fill(const char *tmpl, const char *name, const char *value)
{
	struct oam_buf b = { 0 };
	for (const char *p = tmpl; *p;) {
		const char *at = strchr(p, '@');
		if (!at) {
			oam_buf_add(&b, p, strlen(p));
			break;
		}
		oam_buf_add(&b, p, (size_t)(at - p));
		if (!strncmp(at, "@NAME@", 6)) {
			oam_buf_add(&b, name, strlen(name));
			p = at + 6;
		} else if (!strncmp(at, "@VALUE@", 7)) {
			oam_buf_add(&b, value, strlen(value));
			p = at + 7;
		} else {
			oam_buf_add(&b, "@", 1);
			p = at + 1;
		}
	}
	if (oam_buf_add(&b, "", 1) < 0) {
		oam_buf_release(&b);
		return NULL;
	}
	return b.data;
}

int oam_pack_init(const char *name, const char *dir, struct oam_diags *d)
{
	struct {
		const char *path, *tmpl, *value;
	} files[] = {
		{ "pack.yaml", scaffold_manifest, "" },
		{ "traits/@NAME@.lua", scaffold_trait, "" },
		{ "docs/@NAME@.md", scaffold_doc, "" },
		{ "tests/basic/cmd", "render -f $CASE/app.yaml\n", "" },
		{ "tests/basic/app.yaml", scaffold_app, "monitoring" },
		{ "tests/basic/expected.out", scaffold_expected, "" },
		{ "tests/bad-namespace/cmd", "validate -f $CASE/app.yaml\n", "" },
		{ "tests/bad-namespace/app.yaml", scaffold_app, "Not_A_Namespace" },
		{ "tests/bad-namespace/expected.err", scaffold_bad_err, "" },
		{ "tests/bad-namespace/expected.status", "1\n", "" },
	};
	char path[PATH_MAX];
	struct stat st;
	if (stat(dir, &st) == 0)
		oam_die_usage("pack init", "'%s' exists already; pack init writes a new directory (--dir DIR)", dir);
	if (mkdir(dir, 0755) < 0) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM901", dir, 0, 0, "cannot create: %s", strerror(errno));
		return -1;
	}
	static const char *const subs[] = { "traits", "docs", "tests", "tests/basic", "tests/bad-namespace" };
	for (size_t i = 0; i < sizeof subs / sizeof *subs; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, subs[i]);
		if (mkdir(path, 0755) < 0) {
			oam_diag_at(d, OAM_SEV_ERROR, "OAM901", path, 0, 0, "cannot create: %s", strerror(errno));
			return -1;
		}
	}
	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		char *rel = fill(files[i].path, name, files[i].value);
		char *text = fill(files[i].tmpl, name, files[i].value);
		int ok = rel && text;
		if (ok) {
			snprintf(path, sizeof path, "%s/%s", dir, rel);
			ok = oam_pack_write_file(path, text, strlen(text), 0644) == 0;
		}
		free(rel);
		free(text);
		if (!ok) {
			oam_diag_at(d, OAM_SEV_ERROR, "OAM901", path, 0, 0, "cannot write: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}
