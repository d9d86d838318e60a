/* cmd_pack.c — `oamlua pack SUBCOMMAND`: writing, testing, building,
 * signing, installing and sharing trait packs (docs/packs.md). One row per
 * subcommand in subs[]; the work is in pack*.c. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>

#include "oamlua/cli.h"
#include "oamlua/pack.h"

enum {
	P_STORE = 1 << 0, P_ALLOW = 1 << 1, P_KEY = 1 << 2, P_SIG = 1 << 3, P_OUT = 1 << 4, P_DIR = 1 << 5,
	P_ACCEPT = 1 << 6, P_WITH = 1 << 7, P_FORCE = 1 << 8, P_CTX = 1 << 9, P_FROMTO = 1 << 10, P_APIS = 1 << 11,
	P_FILE = 1 << 12, P_MODPATH = 1 << 13
};

enum {
	O_STORE = 1200, O_ALLOW, O_KEY, O_SIG, O_DIR, O_ACCEPT, O_WITH, O_FORCE, O_CONTEXT, O_KUBECONFIG, O_FROM, O_TO,
	O_APIS, O_KUBEVER
};

static const struct option long_opts[] = {
	{ "store", required_argument, NULL, O_STORE },
	{ "allow-unsigned", no_argument, NULL, O_ALLOW },
	{ "key", required_argument, NULL, O_KEY },
	{ "signature", required_argument, NULL, O_SIG },
	{ "output", required_argument, NULL, 'o' },
	{ "dir", required_argument, NULL, O_DIR },
	{ "accept", no_argument, NULL, O_ACCEPT },
	{ "with", required_argument, NULL, O_WITH },
	{ "force", no_argument, NULL, O_FORCE },
	{ "context", required_argument, NULL, O_CONTEXT },
	{ "kubeconfig", required_argument, NULL, O_KUBECONFIG },
	{ "from", required_argument, NULL, O_FROM },
	{ "to", required_argument, NULL, O_TO },
	{ "api-versions", required_argument, NULL, O_APIS },
	{ "kube-version", required_argument, NULL, O_KUBEVER },
	{ "filename", required_argument, NULL, 'f' },
	{ "module-path", required_argument, NULL, OPT_MODULE_PATH },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

#define MAXV 64

struct popts {
	const struct sub *sub;
	const char *store, *out, *dir, *sig, *context, *kubeconfig, *from, *to, *kube_version;
	const char *keys[MAXV + 1];
	size_t nkeys;
	const char *with[MAXV + 1];
	size_t nwith;
	const char *apis[4 * MAXV + 1];
	size_t napis;
	int allow_unsigned, accept, force, verbose;
	struct oam_opts o;              /* -f and --module-path (pack check) */
	char **args;
	int nargs;
	char storebuf[PATH_MAX];
	char *copies[MAXV];             /* owned: --api-versions values (p->apis points into them) */
	size_t ncopies;
	struct oam_diags d;
};

struct sub {
	const char *name;
	int (*fn)(struct popts *p);
	unsigned flags;
	int min_args, max_args;
	const char *usage;
};

/* ---- shared ---- */

static int finish(struct popts *p, int rc)
{
	oam_diags_print(&p->d, NULL, p->verbose);
	if (p->d.nerrors > 1 || (p->d.nerrors && p->d.nwarnings))
		fprintf(stderr, "oamlua: %zu error%s, %zu warning%s\n", p->d.nerrors, p->d.nerrors == 1 ? "" : "s",
			p->d.nwarnings, p->d.nwarnings == 1 ? "" : "s");
	int out = oam_finish_stdout();
	if (rc == 0 && p->d.nerrors)
		rc = p->d.exit_code ? p->d.exit_code : OAM_EXIT_INVALID;
	if (rc == 0 && out)
		rc = out;
	if (rc < 0)
		rc = p->d.exit_code ? p->d.exit_code : OAM_EXIT_INVALID;
	return rc;
}

static const char *store_of(struct popts *p)
{
	if (p->store)
		return p->store;
	int r = oam_pack_store_dir(p->storebuf, sizeof p->storebuf);
	if (r > 0)
		oam_die_usage("pack", "no pack store: $OAMLUA_PACKS is set but empty; give --store DIR");
	if (r < 0)
		oam_die_usage("pack", "no pack store: set $OAMLUA_PACKS or $HOME, or give --store DIR");
	return p->storebuf;
}

/* The store when there is one (NULL when $OAMLUA_PACKS is empty or no
 * home is known): for commands that can do without. */
static const char *store_opt(struct popts *p)
{
	if (p->store)
		return p->store;
	return oam_pack_store_dir(p->storebuf, sizeof p->storebuf) == 0 ? p->storebuf : NULL;
}

static void need_context(struct popts *p)
{
	if (!p->context)
		oam_die_usage("pack", "'pack %s' needs --context NAME (a kubeconfig context)", p->sub->name);
}

/* ---- writing ---- */

static int sub_init(struct popts *p)
{
	const char *name = p->args[0];
	long long i;
	double f;
	int b;
	if (!oam_is_dns_label(name) || !((name[0] >= 'a' && name[0] <= 'z')) || strlen(name) > 50 ||
	    oam_resolve_plain(name, strlen(name), &i, &f, &b) != OAM_STR)
		oam_die_usage("pack init", "'%s' is not a pack name: a DNS label starting with a letter, at most 50 "
			      "characters (the trait gets the same name)", name);
	const char *dir = p->dir ? p->dir : name;
	if (oam_pack_init(name, dir, &p->d) < 0)
		return finish(p, -1);
	printf("wrote pack %s in %s/: pack.yaml, traits/%s.lua, docs/%s.md, tests/basic, tests/bad-namespace\n", name, dir,
	       name, name);
	printf("next: oamlua pack test %s\n", dir);
	return finish(p, 0);
}

static int sub_test(struct popts *p)
{
	int r = oam_pack_test(p->args[0], p->nwith ? p->with : NULL, store_opt(p), p->accept, &p->d);
	if (r < 0)
		return finish(p, -1);
	return finish(p, r ? OAM_EXIT_INVALID : 0);
}

static int sub_build(struct popts *p)
{
	struct oam_pack_archive ar;
	char out[PATH_MAX];
	int rc = -1;
	oam_pack_archive_init(&ar);
	if (oam_pack_archive_from_dir(&ar, p->args[0], &p->d) < 0 || oam_pack_try_load(p->args[0], &p->d) < 0)
		goto done;
	if (p->out && !strcmp(p->out, "-")) {   /* the archive on stdout, the digest on stderr */
		if (fwrite(ar.bytes, 1, ar.nbytes, stdout) != ar.nbytes)
			goto done;
		fprintf(stderr, "%s  -\n", ar.digest);
		rc = 0;
		goto done;
	}
	if (p->out)
		snprintf(out, sizeof out, "%s", p->out);
	else
		snprintf(out, sizeof out, "%s-%s%s", ar.name, ar.version, OAM_PACK_EXT);
	if (oam_pack_write_file(out, ar.bytes, ar.nbytes, 0644) < 0) {
		oam_diag_at(&p->d, OAM_SEV_ERROR, "OAM901", out, 0, 0, "cannot write: %s", strerror(errno));
		goto done;
	}
	printf("%s  %s\n", ar.digest, out);
	rc = 0;
done:
	oam_pack_archive_release(&ar);
	return finish(p, rc);
}

/* ---- signing ---- */

static int sub_keygen(struct popts *p)
{
	char id[17], err[600];
	if (oam_pack_keygen(p->args[0], id, err, sizeof err) < 0) {
		oam_errorf("%s", err);
		return finish(p, OAM_EXIT_SYSTEM);
	}
	printf("key %s: %s.key (secret: keep it out of the pack and the repository), %s.pub (share it)\n", id, p->args[0],
	       p->args[0]);
	return finish(p, 0);
}

static int read_archive(struct popts *p, const char *path, struct oam_pack_archive *ar)
{
	unsigned char *buf;
	size_t len;
	if (oam_pack_read_file(path, &buf, &len, OAM_PACK_MAX_TOTAL + OAM_PACK_MAX_FILES * 400u) < 0) {
		oam_diag_at(&p->d, OAM_SEV_ERROR, "OAM901", path, 0, 0, "cannot read the pack: %s", strerror(errno));
		return -1;
	}
	int rc = oam_pack_archive_decode(ar, buf, len, path, &p->d);
	free(buf);
	return rc;
}

static int sub_sign(struct popts *p)
{
	struct oam_pack_archive ar;
	struct oam_buf sig = { 0 };
	char id[17], err[600], out[PATH_MAX];
	int rc = -1;
	if (p->nkeys != 1)
		oam_die_usage("pack sign", "give the private key with --key KEY.key (once)");
	oam_pack_archive_init(&ar);
	if (read_archive(p, p->args[0], &ar) < 0)
		goto done;
	if (oam_pack_sign(p->keys[0], ar.digest, &sig, id, err, sizeof err) < 0) {
		oam_diag_at(&p->d, OAM_SEV_ERROR, "OAM713", NULL, 0, 0, "%s", err);
		goto done;
	}
	snprintf(out, sizeof out, "%s", p->sig ? p->sig : p->args[0]);
	if (!p->sig)
		strncat(out, ".sig", sizeof out - strlen(out) - 1);
	if (oam_pack_write_file(out, sig.data, sig.len, 0644) < 0) {
		oam_diag_at(&p->d, OAM_SEV_ERROR, "OAM901", out, 0, 0, "cannot write: %s", strerror(errno));
		goto done;
	}
	printf("signed %s %s (%s) with key %s: %s\n", ar.name, ar.version, ar.digest, id, out);
	rc = 0;
done:
	oam_buf_release(&sig);
	oam_pack_archive_release(&ar);
	return finish(p, rc);
}

static int sub_verify(struct popts *p)
{
	if (!p->nargs) {
		if (p->nkeys || p->sig)
			oam_die_usage("pack verify", "--key and --signature go with an archive: pack verify FILE");
		int bad = oam_pack_verify_store(store_of(p), &p->d);
		return finish(p, bad ? -1 : 0);
	}
	struct oam_pack_src s;
	oam_pack_src_init(&s);
	int rc = -1;
	if (p->sig && access(p->sig, F_OK) < 0) {
		oam_diag_at(&p->d, OAM_SEV_ERROR, "OAM712", p->sig, 0, 0, "no signature file: %s", strerror(errno));
		goto done;
	}
	if (oam_pack_src_load(&s, p->args[0], p->sig, &p->d) < 0)
		goto done;
	if (s.from_dir) {
		oam_diag_at(&p->d, OAM_SEV_ERROR, "OAM712", p->args[0], 0, 0, "a directory has no signature: build it first");
		goto done;
	}
	if (oam_pack_src_trust(&s, p->nkeys ? NULL : store_of(p), p->nkeys ? p->keys : NULL, 0, &p->d) < 0)
		goto done;
	printf("%s: %s %s %s, good signature by key %s (%s)\n", p->args[0], s.ar.name, s.ar.version, s.ar.digest, s.signer,
	       s.keyfile);
	rc = 0;
done:
	oam_pack_src_release(&s);
	return finish(p, rc);
}

static int sub_trust(struct popts *p)
{
	char id[17], err[600], dir[PATH_MAX], path[PATH_MAX + 40];
	unsigned char *buf = NULL;
	size_t len;
	const char *store = store_of(p);
	if (oam_pack_pubkey_id(p->args[0], id, err, sizeof err) < 0) {
		oam_diag_at(&p->d, OAM_SEV_ERROR, "OAM713", NULL, 0, 0, "%s", err);
		return finish(p, -1);
	}
	snprintf(dir, sizeof dir, "%s/trusted", store);
	snprintf(path, sizeof path, "%s/%s.pub", dir, id);
	if (oam_pack_read_file(p->args[0], &buf, &len, 65536) < 0 || oam_pack_mkdirs(dir, 0755) < 0 ||
	    oam_pack_write_file(path, buf, len, 0644) < 0) {
		oam_diag_at(&p->d, OAM_SEV_ERROR, "OAM901", path, 0, 0, "cannot store the key: %s", strerror(errno));
		free(buf);
		return finish(p, -1);
	}
	free(buf);
	printf("trusting key %s (%s): packs it signs install without --allow-unsigned\n", id, p->args[0]);
	return finish(p, 0);
}

/* ---- installing ---- */

static int install_srcs(struct popts *p, struct oam_pack_src *srcs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		oam_pack_print_caps(stdout, &srcs[i]);
		if (!srcs[i].signer[0])
			printf("  installing without a trusted signature (--allow-unsigned)\n");
	}
	return oam_pack_install(store_of(p), srcs, n, &p->d);
}

static int sub_install(struct popts *p)
{
	struct oam_pack_src *srcs = calloc((size_t)p->nargs, sizeof *srcs);
	int rc = -1, bad = 0;
	const char *store = store_of(p);
	if (!srcs)
		return finish(p, OAM_EXIT_SYSTEM);
	if (p->sig && p->nargs > 1)
		oam_die_usage("pack install", "--signature goes with one pack");
	for (int i = 0; i < p->nargs; i++) {
		oam_pack_src_init(&srcs[i]);
		if (oam_pack_src_load(&srcs[i], p->args[i], p->sig, &p->d) < 0 ||
		    oam_pack_src_trust(&srcs[i], store, NULL, p->allow_unsigned, &p->d) < 0)
			bad = 1;
	}
	if (!bad)
		rc = install_srcs(p, srcs, (size_t)p->nargs);
	for (int i = 0; i < p->nargs; i++)
		oam_pack_src_release(&srcs[i]);
	free(srcs);
	return finish(p, rc);
}

static void modules_text(const struct oam_lock_pack *lp, char *buf, size_t size)
{
	size_t l = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < lp->nfiles && l < size; i++) {
		const char *f = lp->files[i].path;
		int t = !strncmp(f, "traits/", 7), w = !strncmp(f, "workloads/", 10);
		const char *base = t ? f + 7 : w ? f + 10 : NULL;
		size_t bl = base ? strlen(base) : 0;
		if (!base || strchr(base, '/') || bl < 5 || strcmp(base + bl - 4, ".lua") || base[0] == '_')
			continue;
		l += (size_t)snprintf(buf + l, size - l, "%s%s/%.*s", l ? "," : "", t ? "trait" : "workload", (int)(bl - 4),
				      base);
	}
	if (!l)
		snprintf(buf, size, "-");
}

static int list_local(struct popts *p)
{
	struct oam_lock l;
	const char *store = store_of(p);
	int json = p->out && !strcmp(p->out, "json");
	if (oam_lock_init(&l) < 0)
		return finish(p, OAM_EXIT_SYSTEM);
	if (oam_lock_read(&l, store, &p->d) < 0) {
		oam_lock_release(&l);
		return finish(p, -1);
	}
	json_t *arr = json ? json_array() : NULL;
	if (!json && !l.n)
		printf("no packs installed in %s\n", store);
	else if (!json)
		printf("%-20s %-12s %-20s %-17s %s\n", "NAME", "VERSION", "DIGEST", "SIGNED BY", "MODULES");
	for (size_t i = 0; i < l.n; i++) {
		const struct oam_lock_pack *lp = &l.packs[i];
		char mods[2000], dg[32];
		modules_text(lp, mods, sizeof mods);
		snprintf(dg, sizeof dg, "%.19s", lp->digest);
		if (!json) {
			printf("%-20s %-12s %-20s %-17s %s\n", lp->name, lp->version, dg, lp->signer[0] ? lp->signer : "(unsigned)",
			       mods);
			continue;
		}
		json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "name", lp->name, "version", lp->version, "digest", lp->digest,
				      "signer", lp->signer);
		json_t *deps = json_array(), *files = json_object();
		for (size_t j = 0; j < lp->ndeps; j++)
			json_array_append_new(deps, json_pack("{s:s, s:s}", "name", lp->deps[j].name, "version",
							      lp->deps[j].range));
		for (size_t j = 0; j < lp->nfiles; j++)
			json_object_set_new(files, lp->files[j].path, json_string(lp->files[j].sha256));
		json_object_set_new(o, "dependencies", deps);
		json_object_set_new(o, "files", files);
		json_array_append_new(arr, o);
	}
	if (json) {
		char *s = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (s)
			puts(s);
		free(s);
		json_decref(arr);
	}
	oam_lock_release(&l);
	return finish(p, 0);
}

static int list_cluster(struct popts *p)
{
	struct oam_pack_cluster c;
	struct oam_published *v = NULL;
	size_t n = 0;
	int rc = -1;
	if (oam_pack_cluster_open(&c, p->kubeconfig, p->context, p->verbose, &p->d) == 0 &&
	    oam_pack_cluster_list(&c, NULL, &v, &n, &p->d) == 0) {
		if (!n)
			printf("no packs published on context '%s' (namespace %s)\n", c.name, OAM_PACK_NAMESPACE);
		else
			printf("%-20s %-12s %-20s %s\n", "NAME", "VERSION", "DIGEST", "SIGNED BY");
		for (size_t i = 0; i < n; i++)
			printf("%-20s %-12s %.19s  %s\n", v[i].name, v[i].version, v[i].digest,
			       v[i].signer[0] ? v[i].signer : "(unsigned)");
		rc = 0;
	}
	oam_pack_published_release(v, n);
	oam_pack_cluster_close(&c);
	return finish(p, rc);
}

static int sub_list(struct popts *p)
{
	if (p->out && strcmp(p->out, "json") && strcmp(p->out, "table"))
		oam_die_usage("pack list", "unknown output format '%s' (table or json)", p->out);
	if (p->context) {
		if (p->out && !strcmp(p->out, "json"))
			oam_die_usage("pack list", "-o json lists the local store only");
		return list_cluster(p);
	}
	return list_local(p);
}

static int sub_remove(struct popts *p)
{
	return finish(p, oam_pack_remove(store_of(p), p->args[0], p->force, &p->d));
}

/* ---- clusters ---- */

/* NAME[@VERSION] from the store, or an archive file. */
static int local_src(struct popts *p, const char *arg, struct oam_pack_src *s)
{
	struct stat st;
	char name[128], path[PATH_MAX];
	if (stat(arg, &st) == 0 && S_ISREG(st.st_mode))
		return oam_pack_src_load(s, arg, p->sig, &p->d);
	const char *at = strchr(arg, '@');
	snprintf(name, sizeof name, "%.*s", at ? (int)(at - arg) : (int)strlen(arg), arg);
	struct oam_lock l;
	const char *store = store_of(p);
	if (oam_lock_init(&l) < 0 || oam_lock_read(&l, store, &p->d) < 0) {
		oam_lock_release(&l);
		return -1;
	}
	const struct oam_lock_pack *lp = oam_lock_find(&l, name);
	if (!lp || (at && strcmp(at + 1, lp->version))) {
		struct oam_err *e = oam_diag_at(&p->d, OAM_SEV_ERROR, "OAM704", NULL, 0, 0, "pack '%s'%s%s is not installed%s%s",
						name, at ? " " : "", at ? at + 1 : "", lp ? " (installed: " : "",
						lp ? lp->version : "");
		if (lp)
			snprintf(e->msg + strlen(e->msg), sizeof e->msg - strlen(e->msg), ")");
		oam_diag_hint(e, "push an installed pack by name, or an archive file by its path");
		oam_lock_release(&l);
		return -1;
	}
	snprintf(path, sizeof path, "%s/archives/%s-%s%s", store, lp->name, lp->version, OAM_PACK_EXT);
	oam_lock_release(&l);
	return oam_pack_src_load(s, path, NULL, &p->d);
}

static int sub_push(struct popts *p)
{
	struct oam_pack_src s;
	struct oam_pack_cluster c;
	int rc = -1;
	need_context(p);
	memset(&c, 0, sizeof c);
	oam_pack_src_init(&s);
	/* Never publish a signature that does not match: that is a changed archive. */
	if (local_src(p, p->args[0], &s) == 0 && oam_pack_src_trust(&s, store_opt(p), NULL, 1, &p->d) == 0 &&
	    oam_pack_cluster_open(&c, p->kubeconfig, p->context, p->verbose, &p->d) == 0)
		rc = oam_pack_cluster_push(&c, &s, p->force, &p->d);
	oam_pack_cluster_close(&c);
	oam_pack_src_release(&s);
	return finish(p, rc > 0 ? OAM_EXIT_CLUSTER : rc);
}

/* The newest published version of `name` in `range`, or NULL. */
static const struct oam_published *pick(const struct oam_published *v, size_t n, const char *name, const char *range)
{
	const struct oam_published *best = NULL;
	char err[200];
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, name) && oam_semver_satisfies(&v[i].semver, range, err, sizeof err) == 1 &&
		    (!best || oam_semver_cmp(&v[i].semver, &best->semver) > 0))
			best = &v[i];
	return best;
}

static void versions_of(const struct oam_published *v, size_t n, const char *name, char *buf, size_t size)
{
	size_t l = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && l < size; i++)
		if (!strcmp(v[i].name, name))
			l += (size_t)snprintf(buf + l, size - l, "%s%s", l ? ", " : "", v[i].version);
	if (!l)
		snprintf(buf, size, "none");
}

static int sub_pull(struct popts *p)
{
	struct oam_pack_cluster c;
	struct oam_published *v = NULL;
	size_t n = 0, nsel = 0;
	struct oam_pack_src srcs[MAXV];
	struct oam_lock l;
	const char *store = store_of(p);
	char name[128], range[256], err[300], have[600];
	int rc = -1;
	need_context(p);
	memset(&c, 0, sizeof c);
	const char *at = strchr(p->args[0], '@');
	snprintf(name, sizeof name, "%.*s", at ? (int)(at - p->args[0]) : (int)strlen(p->args[0]), p->args[0]);
	snprintf(range, sizeof range, "%s", at ? at + 1 : "*");
	struct oam_semver probe = { 1, 0, 0, "" };
	if (!oam_is_dns_label(name) || oam_semver_satisfies(&probe, range, err, sizeof err) < 0)
		oam_die_usage("pack pull", "'%s' is not NAME or NAME@RANGE%s%s", p->args[0], err[0] ? ": " : "", err);
	if (oam_lock_init(&l) < 0 || oam_lock_read(&l, store, &p->d) < 0)
		goto done;
	if (oam_pack_cluster_open(&c, p->kubeconfig, p->context, p->verbose, &p->d) < 0 ||
	    oam_pack_cluster_list(&c, NULL, &v, &n, &p->d) < 0)
		goto done;
	/* The pack, then whatever it needs that the store lacks, from the same cluster. */
	const struct oam_published *want = pick(v, n, name, range);
	if (!want) {
		versions_of(v, n, name, have, sizeof have);
		struct oam_err *e = oam_diag_at(&p->d, OAM_SEV_ERROR, "OAM704", NULL, 0, 0,
						"no version of pack '%s' in range %s on context '%s' (published: %s)", name, range,
						c.name, have);
		oam_diag_hint(e, "'oamlua pack list --context %s' shows what the cluster offers", c.name);
		goto done;
	}
	const struct oam_published *queue[MAXV];
	size_t nq = 0;
	queue[nq++] = want;
	for (size_t qi = 0; qi < nq; qi++) {
		struct oam_pack_src *s = &srcs[nsel];
		oam_pack_src_init(s);
		nsel++;
		if (oam_pack_published_src(&c, queue[qi], s, &p->d) < 0 ||
		    oam_pack_src_trust(s, store, NULL, p->allow_unsigned, &p->d) < 0)
			goto done;
		for (size_t j = 0; j < s->man.ndeps; j++) {
			const struct oam_pack_dep *dep = &s->man.deps[j];
			const struct oam_lock_pack *lp = oam_lock_find(&l, dep->name);
			struct oam_semver sv;
			int queued = 0;
			for (size_t k = 0; k < nq; k++)
				queued |= !strcmp(queue[k]->name, dep->name);
			if (queued)
				continue;   /* oam_pack_install checks its range */
			if (lp && oam_semver_parse(lp->version, &sv) == 0 &&
			    oam_semver_satisfies(&sv, dep->range, err, sizeof err) == 1)
				continue;
			const struct oam_published *dp = pick(v, n, dep->name, dep->range);
			if (!dp) {
				versions_of(v, n, dep->name, have, sizeof have);
				struct oam_err *e = oam_diag_at(&p->d, OAM_SEV_ERROR, "OAM704", s->man.file, dep->line, dep->col,
								"pack '%s' %s needs '%s' %s: not installed, and context '%s' "
								"has no version in range (published: %s)",
								s->man.name, s->man.version, dep->name, dep->range, c.name, have);
				oam_diag_hint(e, "push a version of '%s' in range to the cluster, or install one locally",
					      dep->name);
				goto done;
			}
			if (nq == MAXV)
				goto done;
			queue[nq++] = dp;
		}
	}
	rc = install_srcs(p, srcs, nsel);
done:
	for (size_t i = 0; i < nsel; i++)
		oam_pack_src_release(&srcs[i]);
	oam_pack_published_release(v, n);
	oam_pack_cluster_close(&c);
	oam_lock_release(&l);
	return finish(p, rc);
}

static int sub_sync(struct popts *p)
{
	struct oam_pack_cluster a, b;
	struct oam_published *va = NULL, *vb = NULL;
	size_t na = 0, nb = 0, copied = 0, there = 0, conflicts = 0;
	int rc = -1;
	if (!p->from || !p->to)
		oam_die_usage("pack sync", "give both --from CONTEXT and --to CONTEXT");
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	if (oam_pack_cluster_open(&a, p->kubeconfig, p->from, p->verbose, &p->d) < 0 ||
	    oam_pack_cluster_open(&b, p->kubeconfig, p->to, p->verbose, &p->d) < 0 ||
	    oam_pack_cluster_list(&a, NULL, &va, &na, &p->d) < 0 || oam_pack_cluster_list(&b, NULL, &vb, &nb, &p->d) < 0)
		goto done;
	rc = 0;
	for (size_t i = 0; i < na; i++) {
		const struct oam_published *on_b = NULL;
		for (size_t j = 0; j < nb; j++)
			if (!strcmp(vb[j].name, va[i].name) && !strcmp(vb[j].version, va[i].version))
				on_b = &vb[j];
		if (on_b && !strcmp(on_b->digest, va[i].digest)) {
			there++;
			continue;
		}
		if (on_b) {
			oam_errorf("pack '%s' %s differs between '%s' (%s) and '%s' (%s): not overwritten", va[i].name,
				   va[i].version, a.name, va[i].digest, b.name, on_b->digest);
			conflicts++;
			continue;
		}
		if (oam_pack_cluster_copy(&a, &va[i], &b, &p->d) != 0) {
			rc = -1;
			continue;
		}
		copied++;
	}
	printf("sync '%s' -> '%s': %zu copied, %zu there already%s", a.name, b.name, copied, there,
	       conflicts ? "" : "\n");
	if (conflicts)
		printf(", %zu in conflict\n", conflicts);
	if (rc == 0 && conflicts)
		rc = OAM_EXIT_CLUSTER;
done:
	oam_pack_published_release(va, na);
	oam_pack_published_release(vb, nb);
	oam_pack_cluster_close(&a);
	oam_pack_cluster_close(&b);
	return finish(p, rc);
}

/* Warns (OAM752) about packs whose Kubernetes range excludes the cluster's. */
static void check_kube_version(struct oam_diags *d, const struct oam_registry *r, const char *kv)
{
	struct oam_semver v;
	char err[200];
	if (oam_semver_parse(kv, &v) < 0) {
		oam_diag_at(d, OAM_SEV_WARNING, "OAM752", NULL, 0, 0, "cannot read the Kubernetes version '%s'", kv);
		return;
	}
	const char *seen[256];
	size_t ns = 0;
	for (size_t i = 0; i < r->n; i++) {
		const struct oam_module *m = r->mods[i];
		if (!m->caps || !m->pack)
			continue;
		int dup = 0;
		for (size_t j = 0; j < ns; j++)
			dup |= !strcmp(seen[j], m->pack);
		if (dup || ns == 256)
			continue;
		seen[ns++] = m->pack;
		const char *range = m->caps->kubernetes;
		if (range && oam_semver_satisfies(&v, range, err, sizeof err) == 0) {
			struct oam_err *e = oam_diag_at(d, OAM_SEV_WARNING, "OAM752", m->path, 0, 0,
							"pack '%s' %s supports Kubernetes %s; the cluster runs %s", m->pack,
							m->caps->pack_version, range, kv);
			oam_diag_hint(e, "check the pack's documentation, or use a version of the pack made for Kubernetes %s", kv);
		}
	}
}

static int sub_check(struct popts *p)
{
	struct oam_session s;
	struct oam_pack_cluster c;
	struct oam_apiset set;
	char kv[64] = "";
	int rc;
	memset(&c, 0, sizeof c);
	memset(&set, 0, sizeof set);
	if (!p->context && !p->napis)
		oam_die_usage("pack check", "give --context NAME (ask the cluster) or --api-versions LIST (offline)");
	if (p->context && p->napis)
		oam_die_usage("pack check", "--context and --api-versions exclude each other");
	if ((rc = oam_session_start(&s, &p->o))) {
		oam_session_end(&s);
		return finish(p, rc);
	}
	if (p->context) {
		if (oam_pack_cluster_open(&c, p->kubeconfig, p->context, p->verbose, &s.diags) < 0) {
			rc = s.diags.exit_code ? s.diags.exit_code : OAM_EXIT_CLUSTER;
			goto done;
		}
		set.k = &c.k;
		if (!p->kube_version && oam_pack_cluster_version(&c, kv, sizeof kv, &s.diags) < 0) {
			rc = s.diags.exit_code ? s.diags.exit_code : OAM_EXIT_CLUSTER;
			goto done;
		}
	} else {
		set.offline = p->apis;
		set.noffline = p->napis;
	}
	if (p->kube_version)
		snprintf(kv, sizeof kv, "%s", p->kube_version);
	const char *where = p->context ? p->context : "--api-versions";
	if (!p->o.nfiles) {
		/* Every module from a pack: what it requires, and whether it is
		 * served. (Built-in modules emit core APIs only.) */
		size_t shown = 0;
		for (size_t i = 0; i < s.reg.n; i++) {
			const struct oam_module *m = s.reg.mods[i];
			const char *kind = m->kind == OAM_MOD_TRAIT ? "trait" : "workload";
			if (!m->caps)
				continue;
			if (!shown++)
				printf("%-24s %-9s %-16s %-8s %s\n", "MODULE", "KIND", "PACK", "SERVED", "REQUIRES");
			if (!m->caps->nrequires) {
				printf("%-24s %-9s %-16s %-8s %s\n", m->name, kind, m->pack, "yes", "(nothing)");
				continue;
			}
			for (size_t j = 0; j < m->caps->nrequires; j++) {
				const struct oam_pack_api *a = &m->caps->requires[j];
				int r = oam_apiset_serves(&set, a, &s.diags);
				if (r < 0) {
					rc = s.diags.exit_code ? s.diags.exit_code : OAM_EXIT_CLUSTER;
					goto done;
				}
				printf("%-24s %-9s %-16s %-8s %s %s\n", j ? "" : m->name, j ? "" : kind, j ? "" : m->pack,
				       r ? "yes" : "MISSING", a->api_version, a->kind ? a->kind : a->resource);
			}
		}
		if (!shown)
			printf("no modules from trait packs are loaded\n");
		if (kv[0])
			check_kube_version(&s.diags, &s.reg, kv);
		rc = 0;
		goto done;
	}
	if ((rc = oam_session_check(&s))) {
		oam_session_report(&s);
		oam_session_end(&s);
		oam_apiset_release(&set);
		oam_pack_cluster_close(&c);
		return finish(p, rc);
	}
	if (kv[0])
		check_kube_version(&s.diags, &s.reg, kv);
	int r = oam_pack_check_cluster(&set, &s.reg, &s.model, &s.diags);
	if (r < 0)
		rc = s.diags.exit_code ? s.diags.exit_code : OAM_EXIT_CLUSTER;
	else if (r > 0)
		rc = OAM_EXIT_CLUSTER;
	else
		printf("every API the application's modules require is served (%s)\n", where);
done:
	oam_session_report(&s);
	oam_session_end(&s);
	oam_apiset_release(&set);
	oam_pack_cluster_close(&c);
	return finish(p, rc);
}

/* ---- the table ---- */

static const char usage_all[] =
	"usage: oamlua pack SUBCOMMAND [flags]\n"
	"\n"
	"Trait packs: versioned, signed, sandboxed bundles of workload types and\n"
	"traits, installed into a pack store and shared through clusters\n"
	"(docs/packs.md).\n"
	"\n"
	"Writing a pack:\n"
	"  init NAME [--dir DIR]        a new pack (one trait) that passes its own tests\n"
	"  test DIR [--with DIR]... [--accept]\n"
	"                               run the pack's fixtures (TAP; exit 1 on a failure)\n"
	"  build DIR [-o FILE]          one deterministic archive; prints its sha256 digest\n"
	"Signing:\n"
	"  keygen BASE                  a new ed25519 key: BASE.key (secret) and BASE.pub\n"
	"  sign FILE --key BASE.key     sign an archive: FILE.sig\n"
	"  verify FILE [--key PUB]... [--signature SIG]\n"
	"                               check an archive and its signature (default: the\n"
	"                               store's trusted keys)\n"
	"  verify                       check every installed file against the lock\n"
	"  trust KEY.pub                trust a public key's signatures\n"
	"Installing:\n"
	"  install FILE|DIR... [--allow-unsigned] [--signature SIG]\n"
	"  list [-o table|json]\n"
	"  remove NAME [--force]\n"
	"Clusters (--kubeconfig FILE, else $KUBECONFIG or ~/.kube/config):\n"
	"  push NAME[@VERSION]|FILE --context A [--force]\n"
	"  list --context A\n"
	"  pull NAME[@RANGE] --context A [--allow-unsigned]\n"
	"  sync --from A --to B\n"
	"  check (--context A | --api-versions LIST) [--kube-version V] [-f APP]...\n"
	"                               which APIs the modules require and whether they\n"
	"                               are served; with -f, refuse (exit 4) an application\n"
	"                               whose modules need an API that is missing\n"
	"\n"
	"The pack store is --store DIR, else $OAMLUA_PACKS, else\n"
	"$XDG_DATA_HOME/oamlua/packs, else ~/.local/share/oamlua/packs. Installed packs\n"
	"load after the built-in modules and before $OAMLUA_PATH; a module whose file\n"
	"does not match the lock is refused.\n"
	"\n"
	"Exit status: 0 ok, 1 invalid pack, signature, lock or failed test, 2 usage,\n"
	"3 module error, 4 cluster error (or a required API missing), 5 system error.\n";

static const struct sub subs[] = {
	{ "init", sub_init, P_DIR, 1, 1, "init NAME [--dir DIR]" },
	{ "test", sub_test, P_WITH | P_ACCEPT | P_STORE, 1, 1, "test DIR [--with DIR]... [--accept] [--store DIR]" },
	{ "build", sub_build, P_OUT, 1, 1, "build DIR [-o FILE]" },
	{ "keygen", sub_keygen, 0, 1, 1, "keygen BASE" },
	{ "sign", sub_sign, P_KEY | P_SIG, 1, 1, "sign FILE --key KEY.key [--signature OUT]" },
	{ "verify", sub_verify, P_KEY | P_SIG | P_STORE, 0, 1, "verify [FILE [--key PUB]... [--signature SIG]] [--store DIR]" },
	{ "trust", sub_trust, P_STORE, 1, 1, "trust KEY.pub [--store DIR]" },
	{ "install", sub_install, P_STORE | P_ALLOW | P_SIG, 1, MAXV, "install FILE|DIR... [--allow-unsigned] [--store DIR]" },
	{ "list", sub_list, P_STORE | P_OUT | P_CTX, 0, 0, "list [-o table|json] [--store DIR] | list --context A" },
	{ "remove", sub_remove, P_STORE | P_FORCE, 1, 1, "remove NAME [--force] [--store DIR]" },
	{ "push", sub_push, P_STORE | P_CTX | P_FORCE | P_SIG, 1, 1, "push NAME[@VERSION]|FILE --context A [--force]" },
	{ "pull", sub_pull, P_STORE | P_CTX | P_ALLOW, 1, 1, "pull NAME[@RANGE] --context A [--allow-unsigned]" },
	{ "sync", sub_sync, P_FROMTO, 0, 0, "sync --from A --to B [--kubeconfig FILE]" },
	{ "check", sub_check, P_CTX | P_APIS | P_FILE | P_MODPATH, 0, 0,
	  "check (--context A | --api-versions LIST) [--kube-version V] [-f APP]... [--module-path DIR]" },
	{ NULL, NULL, 0, 0, 0, NULL }
};

static void allow(const struct sub *s, unsigned flag, const char *opt)
{
	if (!(s->flags & flag))
		oam_die_usage("pack", "'pack %s' takes no %s", s->name, opt);
}

static void add(const char **v, size_t *n, size_t max, const char *x, const char *opt)
{
	if (*n == max)
		oam_die_usage("pack", "too many %s options", opt);
	v[(*n)++] = x;
	v[*n] = NULL;
}

int cmd_pack(int argc, char **argv)
{
	struct popts p;
	int ch;
	memset(&p, 0, sizeof p);
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(usage_all, argc < 2 ? stderr : stdout);
		return argc < 2 ? OAM_EXIT_USAGE : oam_finish_stdout();
	}
	for (const struct sub *s = subs; s->name; s++)
		if (!strcmp(s->name, argv[1]))
			p.sub = s;
	if (!p.sub) {
		const char *names[32];
		size_t n = 0;
		for (const struct sub *s = subs; s->name; s++)
			names[n++] = s->name;
		const char *close = oam_closest(argv[1], names, n);
		if (close)
			oam_die_usage("pack", "unknown subcommand '%s' (did you mean '%s'?)", argv[1], close);
		oam_die_usage("pack", "unknown subcommand '%s'", argv[1]);
	}
	const struct sub *s = p.sub;
	argc--;
	argv++;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":o:f:vh", long_opts, NULL)) != -1) {
		const char *flag = argv[optind - 1];
		switch (ch) {
		case 'h':
			printf("usage: oamlua pack %s\n\n", s->usage);
			fputs(usage_all, stdout);
			return oam_finish_stdout();
		case '?':
			oam_die_usage("pack", "unknown option '%s'", flag);
		case ':':
			oam_die_usage("pack", "option '%s' needs a value", flag);
		case 'v':
			p.verbose++;
			p.o.verbose++;
			break;
		case 'o':
			allow(s, P_OUT, "-o");
			p.out = optarg;
			break;
		case 'f':
			allow(s, P_FILE, "-f");
			oam_cli_common_opt("pack check", ch, optarg, &p.o);
			break;
		case OPT_MODULE_PATH:
			allow(s, P_MODPATH, "--module-path");
			oam_cli_common_opt("pack check", ch, optarg, &p.o);
			break;
		case O_STORE:
			allow(s, P_STORE, "--store");
			p.store = optarg;
			break;
		case O_ALLOW:
			allow(s, P_ALLOW, "--allow-unsigned");
			p.allow_unsigned = 1;
			break;
		case O_KEY:
			allow(s, P_KEY, "--key");
			add(p.keys, &p.nkeys, MAXV, optarg, "--key");
			break;
		case O_SIG:
			allow(s, P_SIG, "--signature");
			p.sig = optarg;
			break;
		case O_DIR:
			allow(s, P_DIR, "--dir");
			p.dir = optarg;
			break;
		case O_ACCEPT:
			allow(s, P_ACCEPT, "--accept");
			p.accept = 1;
			break;
		case O_WITH:
			allow(s, P_WITH, "--with");
			add(p.with, &p.nwith, MAXV, optarg, "--with");
			break;
		case O_FORCE:
			allow(s, P_FORCE, "--force");
			p.force = 1;
			break;
		case O_CONTEXT:
			allow(s, P_CTX, "--context");
			p.context = optarg;
			break;
		case O_KUBECONFIG:
			allow(s, P_CTX | P_FROMTO, "--kubeconfig");
			p.kubeconfig = optarg;
			break;
		case O_FROM:
			allow(s, P_FROMTO, "--from");
			p.from = optarg;
			break;
		case O_TO:
			allow(s, P_FROMTO, "--to");
			p.to = optarg;
			break;
		case O_APIS: {
			allow(s, P_APIS, "--api-versions");
			if (p.ncopies == MAXV)
				oam_die_usage("pack", "too many --api-versions options");
			char *copy = p.copies[p.ncopies++] = strdup(optarg), *save = NULL;
			for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save))
				add(p.apis, &p.napis, 4 * MAXV, t, "--api-versions");
			break;
		}
		case O_KUBEVER:
			allow(s, P_APIS | P_CTX, "--kube-version");
			p.kube_version = optarg;
			break;
		}
	}
	p.args = argv + optind;
	p.nargs = argc - optind;
	if (p.nargs < s->min_args || p.nargs > s->max_args) {
		if (p.nargs > s->max_args)
			oam_die_usage("pack", "unexpected argument '%s' (usage: oamlua pack %s)", p.args[s->max_args], s->usage);
		oam_die_usage("pack", "missing argument (usage: oamlua pack %s)", s->usage);
	}
	oam_diags_init(&p.d);
	int rc = s->fn(&p);
	oam_diags_release(&p.d);
	for (size_t i = 0; i < p.ncopies; i++)
		free(p.copies[i]);
	return rc;
}
