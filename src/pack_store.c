/* pack_store.c — the pack store: where it is, its lock file, installing,
 * removing and verifying packs.
 *
 * STORE/oamlua.lock            names, versions, digests, signers, dependencies
 *                              and the sha256 of every installed file
 * STORE/packs/NAME/            the installed files
 * STORE/archives/NAME-VERSION.oampack[.sig]   what was installed, as received
 * STORE/trusted/KEYID.pub      public keys whose signatures are trusted
 * STORE/.lock                  serialises writers (flock)
 */
#define _XOPEN_SOURCE 700
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oamlua/load.h"
#include "oamlua/model.h"
#include "oamlua/pack.h"

void oam_pack_exit_class(struct oam_diags *d, size_t before, int code)
{
	if (!before && d->nerrors)
		d->exit_code = code;
}

int oam_pack_store_dir(char *buf, size_t size)
{
	const char *env = getenv("OAMLUA_PACKS");
	if (env)
		return *env ? (snprintf(buf, size, "%s", env), 0) : 1;
	const char *xdg = getenv("XDG_DATA_HOME");
	if (xdg && xdg[0] == '/') {
		snprintf(buf, size, "%s/oamlua/packs", xdg);
		return 0;
	}
	const char *home = getenv("HOME");
	if (home && *home) {
		snprintf(buf, size, "%s/.local/share/oamlua/packs", home);
		return 0;
	}
	return -1;
}

/* ---- the lock file ---- */

int oam_lock_init(struct oam_lock *l)
{
	memset(l, 0, sizeof *l);
	l->arena = oam_arena_new();
	return l->arena ? 0 : -1;
}

void oam_lock_release(struct oam_lock *l)
{
	free(l->packs);
	oam_arena_free(l->arena);
	memset(l, 0, sizeof *l);
}

const struct oam_lock_pack *oam_lock_find(const struct oam_lock *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->packs[i].name, name))
			return &l->packs[i];
	return NULL;
}

static struct oam_lock_pack *lock_add(struct oam_lock *l)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct oam_lock_pack *v = realloc(l->packs, cap * sizeof *v);
		if (!v)
			return NULL;
		l->packs = v;
		l->cap = cap;
	}
	memset(&l->packs[l->n], 0, sizeof l->packs[l->n]);
	return &l->packs[l->n++];
}

static int is_hex(const char *s, size_t n)
{
	return s && strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

static const char *lstr(struct oam_lock *l, const struct oam_node *map, const char *key, struct oam_diags *d, int *bad)
{
	const struct oam_node *n = oam_map_get(map, key);
	if (!n || n->type != OAM_STR) {
		oam_diag(d, OAM_SEV_ERROR, "OAM722", n ? n : map, "lock: '%s' must be a string", key);
		*bad = 1;
		return NULL;
	}
	return oam_arena_strndup(l->arena, n->u.str.s, n->u.str.len);
}

static int cmp_lockfile(const void *a, const void *b)
{
	return strcmp(((const struct oam_lock_file *)a)->path, ((const struct oam_lock_file *)b)->path);
}

static int cmp_lockpack(const void *a, const void *b)
{
	return strcmp(((const struct oam_lock_pack *)a)->name, ((const struct oam_lock_pack *)b)->name);
}

int oam_lock_read(struct oam_lock *l, const char *store, struct oam_diags *d)
{
	char path[PATH_MAX];
	struct oam_docset ds;
	int bad = 0;
	struct stat st;
	snprintf(path, sizeof path, "%s/%s", store, OAM_PACK_LOCK);
	if (stat(path, &st) < 0 && errno == ENOENT)
		return 0;
	if (oam_docset_init(&ds) < 0)
		return -1;
	size_t before = d->nerrors;
	if (oam_load_path(&ds, path, 0, d) < 0) {
		/* Unreadable or not YAML: say it is the lock that is broken. */
		for (size_t i = 0; i < d->n; i++)
			if (d->v[i].sev == OAM_SEV_ERROR && i >= d->n - (d->nerrors - before))
				oam_strlcpy(d->v[i].id, "OAM722", sizeof d->v[i].id);
		oam_docset_release(&ds);
		return -1;
	}
	const struct oam_node *root = ds.ndocs == 1 ? ds.docs[0].root : NULL;
	const struct oam_node *ver = root ? oam_map_get(root, "lockVersion") : NULL;
	const struct oam_node *packs = root ? oam_map_get(root, "packs") : NULL;
	if (!root || root->type != OAM_MAP || !ver || ver->type != OAM_INT || ver->u.i != 1 ||
	    (packs && packs->type != OAM_SEQ && packs->type != OAM_NULL)) {
		struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, "OAM722", path, root ? root->line : 0, 0,
						"not an oamlua lock file (lockVersion: 1 and a list of packs)");
		oam_diag_hint(e, "the lock is written by 'oamlua pack install'; restore it from a backup or reinstall the packs");
		oam_docset_release(&ds);
		return -1;
	}
	for (size_t i = 0; packs && packs->type == OAM_SEQ && i < packs->u.seq.n; i++) {
		const struct oam_node *pn = packs->u.seq.items[i];
		if (pn->type != OAM_MAP) {
			oam_diag(d, OAM_SEV_ERROR, "OAM722", pn, "lock: each pack is a map");
			bad = 1;
			continue;
		}
		struct oam_lock_pack *p = lock_add(l);
		if (!p) {
			bad = 1;
			break;
		}
		struct oam_semver sv;
		p->name = lstr(l, pn, "name", d, &bad);
		p->version = lstr(l, pn, "version", d, &bad);
		p->digest = lstr(l, pn, "digest", d, &bad);
		p->signer = lstr(l, pn, "signer", d, &bad);
		if (bad) {
			l->n--;
			continue;
		}
		if (!oam_is_dns_label(p->name) || oam_semver_parse(p->version, &sv) < 0 ||
		    strncmp(p->digest, "sha256:", 7) || !is_hex(p->digest + 7, 64) ||
		    (p->signer[0] && !is_hex(p->signer, 16)) || oam_lock_find(l, p->name) != p) {
			oam_diag(d, OAM_SEV_ERROR, "OAM722", pn, "lock: pack entry '%s' is malformed or repeated", p->name);
			bad = 1;
			l->n--;
			continue;
		}
		const struct oam_node *deps = oam_map_get(pn, "dependencies");
		if (deps && deps->type == OAM_SEQ && deps->u.seq.n) {
			p->deps = oam_arena_alloc(l->arena, deps->u.seq.n * sizeof *p->deps);
			for (size_t j = 0; p->deps && j < deps->u.seq.n; j++) {
				const struct oam_node *dn = deps->u.seq.items[j];
				if (dn->type != OAM_MAP) {
					bad = 1;
					continue;
				}
				p->deps[p->ndeps].name = lstr(l, dn, "name", d, &bad);
				p->deps[p->ndeps++].range = lstr(l, dn, "version", d, &bad);
			}
		}
		const struct oam_node *files = oam_map_get(pn, "files");
		if (!files || files->type != OAM_MAP) {
			oam_diag(d, OAM_SEV_ERROR, "OAM722", pn, "lock: pack '%s' has no files map", p->name);
			bad = 1;
			continue;
		}
		p->files = oam_arena_alloc(l->arena, (files->u.map.n ? files->u.map.n : 1) * sizeof *p->files);
		for (size_t j = 0; p->files && j < files->u.map.n; j++) {
			const struct oam_pair *fp = &files->u.map.items[j];
			const char *hex = oam_str(fp->val);
			if (!is_hex(hex, 64) || !oam_pack_path_ok(fp->key->u.str.s)) {
				oam_diag(d, OAM_SEV_ERROR, "OAM722", fp->key, "lock: file '%s' of pack '%s' is malformed",
					 fp->key->u.str.s, p->name);
				bad = 1;
				continue;
			}
			p->files[p->nfiles].path = oam_arena_strndup(l->arena, fp->key->u.str.s, fp->key->u.str.len);
			p->files[p->nfiles++].sha256 = oam_arena_strndup(l->arena, hex, 64);
		}
		if (p->nfiles)
			qsort(p->files, p->nfiles, sizeof *p->files, cmp_lockfile);
	}
	oam_docset_release(&ds);
	if (l->n)
		qsort(l->packs, l->n, sizeof *l->packs, cmp_lockpack);
	if (bad) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM722", path, 0, 0, "the pack store's lock file is damaged; nothing in it is loaded");
		return -1;
	}
	return 0;
}

/* Strings the lock writes in double quotes: nothing that needs escaping. */
static int quotable(const char *s)
{
	for (; *s; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
			return 0;
	return 1;
}

int oam_lock_write(const struct oam_lock *l, const char *store, char *err, size_t errsize)
{
	struct oam_buf b = { 0 };
	char path[PATH_MAX], line[1200];
	int ok = 1;
	struct oam_lock_pack **v = malloc((l->n ? l->n : 1) * sizeof *v);
	if (!v) {
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < l->n; i++)
		v[i] = &l->packs[i];
	/* Sorted by name: the same packs give the same lock. */
	for (size_t i = 1; i < l->n; i++)
		for (size_t j = i; j > 0 && strcmp(v[j - 1]->name, v[j]->name) > 0; j--) {
			struct oam_lock_pack *t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	static const char head[] = "# oamlua.lock: the installed trait packs, each file pinned by its sha256.\n"
				   "# Written by 'oamlua pack install' and 'oamlua pack remove'; do not edit.\n"
				   "lockVersion: 1\n";
	ok &= oam_buf_add(&b, head, sizeof head - 1) == 0;
	ok &= oam_buf_add(&b, l->n ? "packs:\n" : "packs: []\n", l->n ? 7 : 10) == 0;
	for (size_t i = 0; ok && i < l->n; i++) {
		const struct oam_lock_pack *p = v[i];
		if (!quotable(p->version) || !quotable(p->signer)) {
			ok = 0;
			break;
		}
		snprintf(line, sizeof line, "  - name: %s\n    version: \"%s\"\n    digest: \"%s\"\n    signer: \"%s\"\n", p->name,
			 p->version, p->digest, p->signer);
		ok &= oam_buf_add(&b, line, strlen(line)) == 0;
		ok &= oam_buf_add(&b, p->ndeps ? "    dependencies:\n" : "    dependencies: []\n", p->ndeps ? 18 : 21) == 0;
		for (size_t j = 0; j < p->ndeps; j++) {
			if (!quotable(p->deps[j].range)) {
				ok = 0;
				break;
			}
			snprintf(line, sizeof line, "      - name: %s\n        version: \"%s\"\n", p->deps[j].name, p->deps[j].range);
			ok &= oam_buf_add(&b, line, strlen(line)) == 0;
		}
		ok &= oam_buf_add(&b, "    files:\n", 11) == 0;
		for (size_t j = 0; j < p->nfiles; j++) {
			snprintf(line, sizeof line, "      \"%s\": \"%s\"\n", p->files[j].path, p->files[j].sha256);
			ok &= oam_buf_add(&b, line, strlen(line)) == 0;
		}
	}
	free(v);
	snprintf(path, sizeof path, "%s/%s", store, OAM_PACK_LOCK);
	if (!ok) {
		snprintf(err, errsize, "cannot write the lock: a value cannot be written (or out of memory)");
		oam_buf_release(&b);
		return -1;
	}
	if (oam_pack_write_file(path, b.data, b.len, 0644) < 0) {
		snprintf(err, errsize, "cannot write %s: %s", path, strerror(errno));
		oam_buf_release(&b);
		return -1;
	}
	oam_buf_release(&b);
	return 0;
}

/* ---- helpers ---- */

int oam_pack_mkdirs(const char *path, int mode)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(buf, (mode_t)mode) < 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	return mkdir(buf, (mode_t)mode) < 0 && errno != EEXIST ? -1 : 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static int rm_rf(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Takes the store's writer lock (released when the process exits or fd closes). */
static int store_lock(const char *store, struct oam_diags *d)
{
	char path[PATH_MAX];
	if (oam_pack_mkdirs(store, 0755) < 0) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM901", store, 0, 0, "cannot create the pack store: %s", strerror(errno));
		return -1;
	}
	snprintf(path, sizeof path, "%s/.lock", store);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM901", path, 0, 0, "cannot lock the pack store: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* ---- sources ---- */

void oam_pack_src_init(struct oam_pack_src *s)
{
	memset(s, 0, sizeof *s);
	oam_pack_archive_init(&s->ar);
}

void oam_pack_src_release(struct oam_pack_src *s)
{
	oam_pack_archive_release(&s->ar);
	oam_arena_free(s->arena);
	free(s->sig);
	memset(s, 0, sizeof *s);
}

static int parse_man(struct oam_pack_src *s, struct oam_diags *d)
{
	const struct oam_pack_file *mf = oam_pack_archive_get(&s->ar, OAM_PACK_MANIFEST);
	char where[1100];
	if (!(s->arena = oam_arena_new()))
		return -1;
	snprintf(where, sizeof where, "%s%s%s", s->display, s->from_dir ? "/" : ":", OAM_PACK_MANIFEST);
	return mf ? oam_pack_manifest_parse(s->arena, where, (const char *)mf->data, mf->len, &s->man, d) : -1;
}

int oam_pack_src_from_bytes(struct oam_pack_src *s, const unsigned char *buf, size_t len, const char *sig,
			    size_t siglen, const char *display, struct oam_diags *d)
{
	snprintf(s->display, sizeof s->display, "%s", display);
	if (oam_pack_archive_decode(&s->ar, buf, len, display, d) < 0)
		return -1;
	if (sig) {
		if (!(s->sig = malloc(siglen + 1)))
			return -1;
		memcpy(s->sig, sig, siglen);
		s->sig[siglen] = '\0';
		s->siglen = siglen;
	}
	return parse_man(s, d);
}

int oam_pack_src_load(struct oam_pack_src *s, const char *path, const char *sigpath, struct oam_diags *d)
{
	struct stat st;
	char sp[PATH_MAX];
	snprintf(s->display, sizeof s->display, "%s", path);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		s->from_dir = 1;
		if (oam_pack_archive_from_dir(&s->ar, path, d) < 0)
			return -1;
		return parse_man(s, d);
	}
	unsigned char *buf;
	size_t len;
	if (oam_pack_read_file(path, &buf, &len, OAM_PACK_MAX_TOTAL + OAM_PACK_MAX_FILES * 400u) < 0) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM901", path, 0, 0, "cannot read the pack: %s", strerror(errno));
		return -1;
	}
	int rc = oam_pack_archive_decode(&s->ar, buf, len, path, d);
	free(buf);
	if (rc < 0)
		return -1;
	if (!sigpath) {
		snprintf(sp, sizeof sp, "%s.sig", path);
		if (access(sp, F_OK) == 0)
			sigpath = sp;
	}
	if (sigpath) {
		unsigned char *sb;
		size_t sl;
		if (oam_pack_read_file(sigpath, &sb, &sl, 4096) < 0) {
			oam_diag_at(d, OAM_SEV_ERROR, "OAM901", sigpath, 0, 0, "cannot read the signature: %s", strerror(errno));
			return -1;
		}
		s->sig = (char *)sb;
		s->siglen = sl;
	}
	return parse_man(s, d);
}

int oam_pack_src_trust(struct oam_pack_src *s, const char *store, const char *const *keys, int allow_unsigned,
		       struct oam_diags *d)
{
	char err[500];
	struct oam_pack_sig sig;
	s->signer[0] = '\0';
	if (!s->sig) {
		if (allow_unsigned)
			return 0;
		struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, "OAM712", s->display, 0, 0,
						"pack '%s' %s is not signed%s", s->ar.name, s->ar.version,
						s->from_dir ? " (a directory never is)" : "");
		oam_diag_hint(e, "install packs signed by a trusted key ('oamlua pack sign', 'oamlua pack trust'), or "
			      "pass --allow-unsigned if you trust this one anyway");
		return -1;
	}
	if (oam_pack_sig_parse(s->sig, s->siglen, &sig, err, sizeof err) < 0) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM712", s->display, 0, 0, "pack '%s' %s: signature: %s", s->ar.name,
			    s->ar.version, err);
		return -1;
	}
	int r = oam_pack_sig_verify(&sig, s->ar.digest, keys, store, s->keyfile, sizeof s->keyfile, err, sizeof err);
	if (r > 0) {
		memcpy(s->signer, sig.keyid, 17);
		return 0;
	}
	/* A signature that does not match is a changed archive or a forgery:
	 * refused even with --allow-unsigned. An unknown signer is like no
	 * signature. */
	int untrusted = r == 0 && strstr(err, "which is not") != NULL;
	if (untrusted && allow_unsigned)
		return 0;
	struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, "OAM712", s->display, 0, 0, "pack '%s' %s: %s", s->ar.name,
					s->ar.version, err);
	if (untrusted)
		oam_diag_hint(e, "trust the signer's public key with 'oamlua pack trust KEY.pub', or pass --allow-unsigned");
	else
		oam_diag_hint(e, "the archive or its signature was changed after signing: get both again from their source");
	return -1;
}

static const char *module_kind(const struct oam_pack_archive *ar, const char *module)
{
	char p[300];
	snprintf(p, sizeof p, "workloads/%s.lua", module);
	return oam_pack_archive_get(ar, p) ? "workload" : "trait";
}

static void print_limits(FILE *f, const char *indent, const struct oam_pack_limits *l)
{
	char mem[32];
	if (!l->instructions && !l->memory)
		return;
	oam_pack_fmt_bytes(l->memory, mem, sizeof mem);
	fprintf(f, "%slimits: ", indent);
	if (l->instructions)
		fprintf(f, "%lld instructions%s", l->instructions, l->memory ? ", " : "");
	if (l->memory)
		fprintf(f, "%s memory", mem);
	fputs(" per call\n", f);
}

void oam_pack_print_caps(FILE *f, const struct oam_pack_src *s)
{
	const struct oam_pack_manifest *m = &s->man;
	fprintf(f, "pack %s %s  %s\n", m->name, m->version, s->ar.digest);
	if (s->signer[0])
		fprintf(f, "  signed by key %s (trusted: %s)\n", s->signer, s->keyfile);
	else
		fprintf(f, "  not signed by a trusted key\n");
	fprintf(f, "  %s\n", m->description);
	fprintf(f, "  needs module API %s, Kubernetes %s\n", m->api, m->kubernetes ? m->kubernetes : "(any version)");
	for (size_t i = 0; i < m->ndeps; i++)
		fprintf(f, "  depends on %s %s\n", m->deps[i].name, m->deps[i].range);
	print_limits(f, "  ", &m->limits);
	for (size_t i = 0; i < m->nmodules; i++) {
		const struct oam_modcaps *c = &m->modules[i];
		fprintf(f, "  %s %s\n", module_kind(&s->ar, c->module), c->module);
		if (!c->nemits)
			fprintf(f, "    emits nothing (may only patch the workload)\n");
		for (size_t j = 0; j < c->nemits; j++)
			fprintf(f, "    may emit %s %s\n", c->emits[j].api_version, c->emits[j].kind);
		for (size_t j = 0; j < c->nrequires; j++)
			fprintf(f, "    requires on the cluster %s %s\n", c->requires[j].api_version,
				c->requires[j].kind ? c->requires[j].kind : c->requires[j].resource);
		if (c->limits.instructions != m->limits.instructions || c->limits.memory != m->limits.memory)
			print_limits(f, "    ", &c->limits);
	}
}

/* ---- installing ---- */

/* The packs as they would be after the install: installed ones not being
 * replaced, then the new ones. */
struct state {
	const char *name, *version;
	const struct oam_pack_dep *deps;
	size_t ndeps;
	const struct oam_pack_src *src;   /* NULL: already installed */
	const struct oam_lock_pack *lp;   /* NULL: new */
};

static size_t build_state(const struct oam_lock *l, struct oam_pack_src *srcs, size_t n, struct state *st)
{
	size_t k = 0;
	for (size_t i = 0; i < l->n; i++) {
		int replaced = 0;
		for (size_t j = 0; j < n; j++)
			replaced |= !strcmp(srcs[j].man.name, l->packs[i].name);
		if (replaced)
			continue;
		st[k++] = (struct state){ l->packs[i].name, l->packs[i].version, l->packs[i].deps, l->packs[i].ndeps, NULL,
					  &l->packs[i] };
	}
	for (size_t j = 0; j < n; j++)
		st[k++] = (struct state){ srcs[j].man.name, srcs[j].man.version, srcs[j].man.deps, srcs[j].man.ndeps,
					  &srcs[j], oam_lock_find(l, srcs[j].man.name) };
	return k;
}

static int resolve(struct state *st, size_t n, struct oam_diags *d)
{
	int rc = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < st[i].ndeps; j++) {
			const struct oam_pack_dep *dep = &st[i].deps[j];
			const struct state *have = NULL;
			char err[200];
			struct oam_semver v;
			for (size_t k = 0; k < n; k++)
				if (!strcmp(st[k].name, dep->name))
					have = &st[k];
			if (have && oam_semver_parse(have->version, &v) == 0 &&
			    oam_semver_satisfies(&v, dep->range, err, sizeof err) == 1)
				continue;
			rc = -1;
			struct oam_err *e;
			if (st[i].src) {
				e = oam_diag_at(d, OAM_SEV_ERROR, "OAM704", st[i].src->man.file, dep->line, dep->col,
						"pack '%s' %s needs '%s' %s, but %s", st[i].name, st[i].version, dep->name, dep->range,
						!have ? "it is not installed" : "");
				if (have)
					snprintf(e->msg + strlen(e->msg), sizeof e->msg - strlen(e->msg), "%s %s %s",
						 have->src ? "this install brings" : "the store has", have->name, have->version);
			} else {
				e = oam_diag_at(d, OAM_SEV_ERROR, "OAM704", NULL, 0, 0,
						"installed pack '%s' %s needs '%s' %s, which this install would %s", st[i].name,
						st[i].version, dep->name, dep->range, have ? "replace with " : "remove");
				if (have)
					snprintf(e->msg + strlen(e->msg), sizeof e->msg - strlen(e->msg), "%s", have->version);
			}
			oam_diag_hint(e, "install a version of '%s' in range %s first, or together (oamlua pack install A B)",
				      dep->name, dep->range);
		}
	return rc;
}

/* Module names (per kind) must be unique across the installed packs. */
static int module_clash(struct state *st, size_t n, struct oam_diags *d)
{
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		if (!st[i].src)
			continue;
		const struct oam_pack_archive *ar = &st[i].src->ar;
		for (size_t f = 0; f < ar->n; f++) {
			const char *p = ar->files[f].path;
			if ((strncmp(p, "traits/", 7) && strncmp(p, "workloads/", 10)) || strchr(strchr(p, '/') + 1, '/') ||
			    strlen(p) < 5 || strcmp(p + strlen(p) - 4, ".lua"))
				continue;
			for (size_t k = 0; k < n; k++) {
				if (k == i)
					continue;
				int has = 0;
				if (st[k].src)
					has = oam_pack_archive_get(&st[k].src->ar, p) != NULL;
				else
					for (size_t x = 0; x < st[k].lp->nfiles; x++)
						has |= !strcmp(st[k].lp->files[x].path, p);
				if (has && (k > i || !st[k].src)) {
					struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, "OAM705", st[i].src->display, 0, 0,
									"packs '%s' and '%s' both provide %s", st[i].name,
									st[k].name, p);
					oam_diag_hint(e, "a module name belongs to one pack: remove '%s' first, or rename the module",
						      st[k].name);
					rc = -1;
				}
			}
		}
	}
	return rc;
}

static int extract(const struct oam_pack_archive *ar, const char *dir, struct oam_diags *d)
{
	char path[PATH_MAX];
	if (rm_rf(dir) < 0 || oam_pack_mkdirs(dir, 0755) < 0) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM901", dir, 0, 0, "cannot create: %s", strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < ar->n; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, ar->files[i].path);
		char *slash = strrchr(path, '/');
		*slash = '\0';
		int r = oam_pack_mkdirs(path, 0755);
		*slash = '/';
		if (r < 0 || oam_pack_write_file(path, ar->files[i].data, ar->files[i].len, 0644) < 0) {
			oam_diag_at(d, OAM_SEV_ERROR, "OAM901", path, 0, 0, "cannot write: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Loads the extracted pack's modules in a sandbox of their own: a pack that
 * would not load is not installed (it would stop every later render). */
int oam_pack_try_load(const char *dir, struct oam_diags *d)
{
	struct oam_lua lua;
	struct oam_registry reg;
	struct oam_err err;
	int rc = -1;
	if (oam_lua_init(&lua, &err) < 0) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM900", NULL, 0, 0, "%s", err.msg);
		return -1;
	}
	if (oam_registry_init(&reg, &lua) == 0) {
		size_t before = d->nerrors;
		rc = oam_pack_registry_load(&reg, dir, "pack install", d) < 0 || d->nerrors > before ? -1 : 0;
		oam_registry_release(&reg);
	}
	oam_lua_close(&lua);
	return rc;
}

static int copy_lock_pack(struct oam_lock *l, struct oam_lock_pack *dst, const struct oam_pack_src *s)
{
	struct oam_arena *a = l->arena;
	dst->name = oam_arena_strndup(a, s->man.name, strlen(s->man.name));
	dst->version = oam_arena_strndup(a, s->man.version, strlen(s->man.version));
	dst->digest = oam_arena_strndup(a, s->ar.digest, strlen(s->ar.digest));
	dst->signer = oam_arena_strndup(a, s->signer, strlen(s->signer));
	dst->ndeps = s->man.ndeps;
	dst->deps = oam_arena_alloc(a, (dst->ndeps ? dst->ndeps : 1) * sizeof *dst->deps);
	dst->nfiles = s->ar.n;
	dst->files = oam_arena_alloc(a, (dst->nfiles ? dst->nfiles : 1) * sizeof *dst->files);
	if (!dst->deps || !dst->files)
		return -1;
	for (size_t i = 0; i < dst->ndeps; i++) {
		dst->deps[i].name = oam_arena_strndup(a, s->man.deps[i].name, strlen(s->man.deps[i].name));
		dst->deps[i].range = oam_arena_strndup(a, s->man.deps[i].range, strlen(s->man.deps[i].range));
	}
	for (size_t i = 0; i < dst->nfiles; i++) {
		dst->files[i].path = oam_arena_strndup(a, s->ar.files[i].path, strlen(s->ar.files[i].path));
		dst->files[i].sha256 = oam_arena_strndup(a, s->ar.files[i].sha256, 64);
	}
	return 0;
}

int oam_pack_install(const char *store, struct oam_pack_src *srcs, size_t n, struct oam_diags *d)
{
	struct oam_lock l;
	char dir[PATH_MAX], tmp[PATH_MAX], old[PATH_MAX], path[PATH_MAX], err[400];
	int rc = -1, fd = -1;
	struct state *st = NULL;
	if (oam_lock_init(&l) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (!strcmp(srcs[i].man.name, srcs[j].man.name)) {
				oam_diag_at(d, OAM_SEV_ERROR, "OAM704", srcs[j].display, 0, 0,
					    "pack '%s' is given twice (%s and %s)", srcs[i].man.name, srcs[i].man.version,
					    srcs[j].man.version);
				goto out;
			}
	/* Checked once before taking the store's lock, so that an install that
	 * cannot work writes nothing at all, and again under the lock. */
	for (int pass = 0; pass < 2; pass++) {
		if (pass && (fd = store_lock(store, d)) < 0)
			goto out;
		oam_lock_release(&l);
		free(st);
		st = NULL;
		if (oam_lock_init(&l) < 0 || oam_lock_read(&l, store, d) < 0)
			goto out;
		if (!(st = calloc(l.n + n + 1, sizeof *st)))
			goto out;
		size_t ns = build_state(&l, srcs, n, st);
		int bad = resolve(st, ns, d) < 0;
		bad |= module_clash(st, ns, d) < 0;
		if (bad)
			goto out;
	}
	/* Stage every pack and load it in the sandbox before touching anything. */
	for (size_t i = 0; i < n; i++) {
		snprintf(tmp, sizeof tmp, "%s/packs/.new-%s", store, srcs[i].man.name);
		if (extract(&srcs[i].ar, tmp, d) < 0 || oam_pack_try_load(tmp, d) < 0) {
			rm_rf(tmp);
			for (size_t j = 0; j < i; j++) {
				snprintf(tmp, sizeof tmp, "%s/packs/.new-%s", store, srcs[j].man.name);
				rm_rf(tmp);
			}
			goto out;
		}
	}
	snprintf(path, sizeof path, "%s/archives", store);
	if (oam_pack_mkdirs(path, 0755) < 0) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM901", path, 0, 0, "cannot create: %s", strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct oam_pack_src *s = &srcs[i];
		const struct oam_lock_pack *prev = oam_lock_find(&l, s->man.name);
		snprintf(dir, sizeof dir, "%s/packs/%s", store, s->man.name);
		snprintf(tmp, sizeof tmp, "%s/packs/.new-%s", store, s->man.name);
		snprintf(old, sizeof old, "%s/packs/.old-%s", store, s->man.name);
		/* The archive as received, and its signature. */
		snprintf(path, sizeof path, "%s/archives/%s-%s%s", store, s->man.name, s->man.version, OAM_PACK_EXT);
		if (oam_pack_write_file(path, s->ar.bytes, s->ar.nbytes, 0644) < 0) {
			oam_diag_at(d, OAM_SEV_ERROR, "OAM901", path, 0, 0, "cannot write: %s", strerror(errno));
			goto out;
		}
		strcat(path, ".sig");
		if (s->sig && oam_pack_write_file(path, s->sig, s->siglen, 0644) < 0) {
			oam_diag_at(d, OAM_SEV_ERROR, "OAM901", path, 0, 0, "cannot write: %s", strerror(errno));
			goto out;
		}
		if (!s->sig)
			unlink(path);
		rm_rf(old);
		if ((rename(dir, old) < 0 && errno != ENOENT) || rename(tmp, dir) < 0) {
			oam_diag_at(d, OAM_SEV_ERROR, "OAM901", dir, 0, 0, "cannot install: %s", strerror(errno));
			goto out;
		}
		rm_rf(old);
		/* The lock entry: replace or add. */
		struct oam_lock_pack *lp = NULL;
		for (size_t j = 0; j < l.n; j++)
			if (!strcmp(l.packs[j].name, s->man.name))
				lp = &l.packs[j];
		if (prev && strcmp(prev->version, s->man.version)) {
			snprintf(path, sizeof path, "%s/archives/%s-%s%s", store, prev->name, prev->version, OAM_PACK_EXT);
			unlink(path);
			strcat(path, ".sig");
			unlink(path);
		}
		if (prev && strcmp(prev->version, s->man.version))
			printf("replacing %s %s with %s\n", prev->name, prev->version, s->man.version);
		if (!lp && !(lp = lock_add(&l)))
			goto out;
		if (copy_lock_pack(&l, lp, s) < 0)
			goto out;
		printf("installed %s %s (%s)%s\n", s->man.name, s->man.version, s->ar.digest,
		       s->signer[0] ? "" : " unsigned");
	}
	if (oam_lock_write(&l, store, err, sizeof err) < 0) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM901", store, 0, 0, "%s", err);
		goto out;
	}
	rc = 0;
out:
	free(st);
	if (fd >= 0)
		close(fd);
	oam_lock_release(&l);
	return rc;
}

int oam_pack_remove(const char *store, const char *name, int force, struct oam_diags *d)
{
	struct oam_lock l;
	char path[PATH_MAX], err[400];
	int rc = -1, fd = -1;
	if (oam_lock_init(&l) < 0)
		return -1;
	if ((fd = store_lock(store, d)) < 0 || oam_lock_read(&l, store, d) < 0)
		goto out;
	const struct oam_lock_pack *p = oam_lock_find(&l, name);
	if (!p) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM704", NULL, 0, 0, "pack '%s' is not installed", name);
		goto out;
	}
	int needed = 0;
	for (size_t i = 0; i < l.n; i++)
		for (size_t j = 0; j < l.packs[i].ndeps; j++)
			if (!strcmp(l.packs[i].deps[j].name, name)) {
				struct oam_err *e = oam_diag_at(d, force ? OAM_SEV_WARNING : OAM_SEV_ERROR, "OAM704", NULL, 0, 0,
								"pack '%s' %s needs '%s' %s", l.packs[i].name, l.packs[i].version,
								name, l.packs[i].deps[j].range);
				if (!force)
					oam_diag_hint(e, "remove '%s' first, or pass --force", l.packs[i].name);
				needed = 1;
			}
	if (needed && !force)
		goto out;
	snprintf(path, sizeof path, "%s/archives/%s-%s%s", store, p->name, p->version, OAM_PACK_EXT);
	unlink(path);
	strcat(path, ".sig");
	unlink(path);
	snprintf(path, sizeof path, "%s/packs/%s", store, p->name);
	if (rm_rf(path) < 0) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM901", path, 0, 0, "cannot remove: %s", strerror(errno));
		goto out;
	}
	printf("removed %s %s\n", p->name, p->version);
	size_t k = (size_t)(p - l.packs);
	memmove(&l.packs[k], &l.packs[k + 1], (l.n - k - 1) * sizeof *l.packs);
	l.n--;
	if (oam_lock_write(&l, store, err, sizeof err) < 0) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM901", store, 0, 0, "%s", err);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	oam_lock_release(&l);
	return rc;
}

/* ---- verifying the store ---- */

struct extra_walk {
	const struct oam_lock_pack *p;
	size_t prefix;
	struct oam_diags *d;
	int bad;
};

static struct extra_walk *xw;

static int extra_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag != FTW_F && flag != FTW_SL)
		return 0;
	const char *rel = path + xw->prefix;
	for (size_t i = 0; i < xw->p->nfiles; i++)
		if (!strcmp(xw->p->files[i].path, rel))
			return 0;
	char display[PATH_MAX];
	snprintf(display, sizeof display, "pack:%s/%s", xw->p->name, rel);
	oam_diag_at(xw->d, OAM_SEV_ERROR, "OAM721", display, 0, 0, "pack '%s' %s: %s '%s' is not in the lock", xw->p->name,
		    xw->p->version, S_ISLNK(st->st_mode) ? "symbolic link" : "file", rel);
	xw->bad = 1;
	return 0;
}

int oam_pack_verify_store(const char *store, struct oam_diags *d)
{
	struct oam_lock l;
	char path[PATH_MAX], display[PATH_MAX], err[400];
	int nbad = 0;
	if (oam_lock_init(&l) < 0)
		return -1;
	if (oam_lock_read(&l, store, d) < 0) {
		oam_lock_release(&l);
		return -1;
	}
	if (!l.n)
		printf("no packs installed in %s\n", store);
	for (size_t i = 0; i < l.n; i++) {
		const struct oam_lock_pack *p = &l.packs[i];
		size_t before = d->nerrors;
		for (size_t j = 0; j < p->nfiles; j++) {
			unsigned char *buf;
			size_t len;
			char hex[65];
			snprintf(path, sizeof path, "%s/packs/%s/%s", store, p->name, p->files[j].path);
			snprintf(display, sizeof display, "pack:%s/%s", p->name, p->files[j].path);
			if (oam_pack_read_file(path, &buf, &len, OAM_PACK_MAX_FILE) < 0) {
				oam_diag_at(d, OAM_SEV_ERROR, "OAM721", display, 0, 0, "pack '%s' %s: locked file '%s' is %s",
					    p->name, p->version, p->files[j].path, errno == ENOENT ? "missing" : strerror(errno));
				continue;
			}
			oam_pack_sha256_hex(buf, len, hex);
			free(buf);
			if (strcmp(hex, p->files[j].sha256))
				oam_diag_at(d, OAM_SEV_ERROR, "OAM721", display, 0, 0,
					    "pack '%s' %s: file '%s' does not match the lock (sha256 %.12s…, locked %.12s…)",
					    p->name, p->version, p->files[j].path, hex, p->files[j].sha256);
		}
		snprintf(path, sizeof path, "%s/packs/%s/", store, p->name);
		struct extra_walk w = { p, strlen(path), d, 0 };
		xw = &w;
		path[strlen(path) - 1] = '\0';
		nftw(path, extra_one, 16, FTW_PHYS);
		xw = NULL;
		/* The stored archive: its digest, and its signature if it was signed. */
		struct oam_pack_src s;
		oam_pack_src_init(&s);
		snprintf(path, sizeof path, "%s/archives/%s-%s%s", store, p->name, p->version, OAM_PACK_EXT);
		if (oam_pack_src_load(&s, path, NULL, d) == 0) {
			if (strcmp(s.ar.digest, p->digest))
				oam_diag_at(d, OAM_SEV_ERROR, "OAM721", path, 0, 0, "pack '%s' %s: the stored archive is %s, locked %s",
					    p->name, p->version, s.ar.digest, p->digest);
			else
				for (size_t j = 0; j < s.ar.n; j++) {
					const struct oam_lock_file *lf = NULL;
					for (size_t k = 0; k < p->nfiles; k++)
						if (!strcmp(p->files[k].path, s.ar.files[j].path))
							lf = &p->files[k];
					if (!lf || strcmp(lf->sha256, s.ar.files[j].sha256)) {
						oam_diag_at(d, OAM_SEV_ERROR, "OAM721", path, 0, 0,
							    "pack '%s' %s: the lock does not match the archive at '%s'", p->name,
							    p->version, s.ar.files[j].path);
						break;
					}
				}
			if (p->signer[0]) {
				struct oam_pack_sig sig;
				char kf[PATH_MAX];
				if (!s.sig || oam_pack_sig_parse(s.sig, s.siglen, &sig, err, sizeof err) < 0)
					oam_diag_at(d, OAM_SEV_ERROR, "OAM712", path, 0, 0, "pack '%s' %s: its signature is missing or damaged",
						    p->name, p->version);
				else if (oam_pack_sig_verify(&sig, p->digest, NULL, store, kf, sizeof kf, err, sizeof err) != 1 ||
					 strcmp(sig.keyid, p->signer))
					oam_diag_at(d, OAM_SEV_ERROR, "OAM712", path, 0, 0, "pack '%s' %s: %s", p->name, p->version,
						    err[0] ? err : "signed by another key than the lock says");
			}
		}
		oam_pack_src_release(&s);
		if (d->nerrors > before) {
			nbad++;
			printf("%s %s: FAILED\n", p->name, p->version);
		} else {
			printf("%s %s: ok (%zu files, %s)\n", p->name, p->version, p->nfiles,
			       p->signer[0] ? "signed" : "unsigned");
		}
	}
	oam_lock_release(&l);
	return nbad;
}
