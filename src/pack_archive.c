/* pack_archive.c — the pack archive: a pack directory as one deterministic
 * file (format in pack.h and docs/packs.md), its digest, and reading it back
 * with every byte checked. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "oamlua/model.h"
#include "oamlua/file.h"
#include "oamlua/pack.h"

void oam_pack_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	static const char hexd[] = "0123456789abcdef";
	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
		memset(out, '0', 64);   /* cannot happen with a working libcrypto; never matches a real file */
		out[64] = '\0';
		return;
	}
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hexd[md[i] >> 4];
		out[2 * i + 1] = hexd[md[i] & 15];
	}
	out[64] = '\0';
}

int oam_pack_read_file(const char *path, unsigned char **data, size_t *len, size_t max)
{
	return oam_file_read(path, data, len, max, OAM_FILE_REGULAR);
}

int oam_pack_write_file(const char *path, const void *data, size_t len, int mode)
{
	char tmp[PATH_MAX];
	struct stat st;
	/* Only ever replace regular files (never a device such as /dev/null). */
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		errno = EEXIST;
		return -1;
	}
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmpXXXXXX", path) >= sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = mkstemp(tmp);
	if (fd < 0)
		return -1;
	const unsigned char *p = data;
	size_t left = len;
	while (left) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto fail;
		p += w;
		left -= (size_t)w;
	}
	if (fchmod(fd, (mode_t)mode) < 0 || fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	return 0;
fail: {
	int e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = e;
	return -1;
}
}

void oam_pack_archive_init(struct oam_pack_archive *ar)
{
	memset(ar, 0, sizeof *ar);
}

void oam_pack_archive_release(struct oam_pack_archive *ar)
{
	for (size_t i = 0; i < ar->n; i++) {
		free(ar->files[i].path);
		free(ar->files[i].data);
	}
	free(ar->files);
	free(ar->bytes);
	memset(ar, 0, sizeof *ar);
}

const struct oam_pack_file *oam_pack_archive_get(const struct oam_pack_archive *ar, const char *path)
{
	for (size_t i = 0; i < ar->n; i++)
		if (!strcmp(ar->files[i].path, path))
			return &ar->files[i];
	return NULL;
}

int oam_pack_path_ok(const char *p)
{
	if (!*p || strlen(p) > 255)
		return 0;
	for (const char *c = p; *c;) {
		if (*c == '.' || *c == '/')
			return 0;
		while (*c && *c != '/') {
			if (!isalnum((unsigned char)*c) && !strchr("._-", *c))
				return 0;
			c++;
		}
		if (*c == '/' && !*++c)
			return 0;
	}
	return 1;
}

static int add_file(struct oam_pack_archive *ar, const char *path, unsigned char *data, size_t len)
{
	if (ar->n == ar->cap) {
		size_t cap = ar->cap ? ar->cap * 2 : 32;
		struct oam_pack_file *v = realloc(ar->files, cap * sizeof *v);
		if (!v)
			return -1;
		ar->files = v;
		ar->cap = cap;
	}
	struct oam_pack_file *f = &ar->files[ar->n];
	if (!(f->path = strdup(path)))
		return -1;
	f->data = data;
	f->len = len;
	oam_pack_sha256_hex(data, len, f->sha256);
	ar->n++;
	return 0;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t l = strlen(s), k = strlen(suffix);
	return l >= k && !strcmp(s + l - k, suffix);
}

struct walk {
	struct oam_pack_archive *ar;
	struct oam_diags *d;
	const char *root;
	size_t total;
	int bad;
};

static void walk_dir(struct walk *w, const char *rel)
{
	char dir[PATH_MAX], path[PATH_MAX], sub[PATH_MAX];
	snprintf(dir, sizeof dir, "%s%s%s", w->root, *rel ? "/" : "", rel);
	DIR *dh = opendir(dir);
	struct dirent *de;
	if (!dh) {
		oam_diag_at(w->d, OAM_SEV_ERROR, "OAM901", dir, 0, 0, "cannot read directory: %s", strerror(errno));
		w->bad = 1;
		return;
	}
	while ((de = readdir(dh))) {
		struct stat st;
		const char *nm = de->d_name;
		if (nm[0] == '.' || ends_with(nm, OAM_PACK_EXT) || ends_with(nm, ".sig") || ends_with(nm, ".key"))
			continue;   /* hidden files, built archives, signatures, private keys */
		snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", nm);
		snprintf(path, sizeof path, "%s/%s", w->root, sub);
		if (lstat(path, &st) < 0) {
			oam_diag_at(w->d, OAM_SEV_ERROR, "OAM901", path, 0, 0, "cannot read: %s", strerror(errno));
			w->bad = 1;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			walk_dir(w, sub);
			continue;
		}
		if (!S_ISREG(st.st_mode)) {
			struct oam_err *e = oam_diag_at(w->d, OAM_SEV_ERROR, "OAM702", path, 0, 0, "%s '%s' cannot go into a pack",
							S_ISLNK(st.st_mode) ? "symbolic link" : "special file", sub);
			oam_diag_hint(e, "a pack holds regular files only: copy the file instead of linking it");
			w->bad = 1;
			continue;
		}
		if (!oam_pack_path_ok(sub)) {
			struct oam_err *e = oam_diag_at(w->d, OAM_SEV_ERROR, "OAM702", path, 0, 0,
							"file name '%s' cannot go into a pack", sub);
			oam_diag_hint(e, "names use letters, digits, '.', '_' and '-' only (at most 255 characters)");
			w->bad = 1;
			continue;
		}
		if (w->ar->n >= OAM_PACK_MAX_FILES) {
			oam_diag_at(w->d, OAM_SEV_ERROR, "OAM702", w->root, 0, 0, "a pack holds at most %d files",
				    OAM_PACK_MAX_FILES);
			w->bad = 1;
			break;
		}
		unsigned char *data;
		size_t len;
		if (oam_pack_read_file(path, &data, &len, OAM_PACK_MAX_FILE) < 0) {
			if (errno == EFBIG)
				oam_diag_at(w->d, OAM_SEV_ERROR, "OAM702", path, 0, 0, "file is larger than %u MiB",
					    OAM_PACK_MAX_FILE >> 20);
			else
				oam_diag_at(w->d, OAM_SEV_ERROR, "OAM901", path, 0, 0, "cannot read: %s", strerror(errno));
			w->bad = 1;
			continue;
		}
		w->total += len;
		if (add_file(w->ar, sub, data, len) < 0) {
			free(data);
			w->bad = 1;
		}
	}
	closedir(dh);
}

static int cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct oam_pack_file *)a)->path, ((const struct oam_pack_file *)b)->path);
}

static int encode(struct oam_pack_archive *ar)
{
	struct oam_buf b = { 0 };
	char line[512];
	int ok = 1;
	snprintf(line, sizeof line, "%s\nname %s\nversion %s\nfiles %zu\n", OAM_PACK_MAGIC, ar->name, ar->version, ar->n);
	ok &= oam_buf_add(&b, line, strlen(line)) == 0;
	for (size_t i = 0; ok && i < ar->n; i++) {
		const struct oam_pack_file *f = &ar->files[i];
		snprintf(line, sizeof line, "file %zu %s %s\n", f->len, f->sha256, f->path);
		ok &= oam_buf_add(&b, line, strlen(line)) == 0;
		ok &= oam_buf_add(&b, f->data, f->len) == 0;
		ok &= oam_buf_add(&b, "\n", 1) == 0;
	}
	ok &= oam_buf_add(&b, "end\n", 4) == 0;
	if (!ok) {
		oam_buf_release(&b);
		return -1;
	}
	free(ar->bytes);
	ar->bytes = (unsigned char *)b.data;
	ar->nbytes = b.len;
	char hex[65];
	oam_pack_sha256_hex(ar->bytes, ar->nbytes, hex);
	snprintf(ar->digest, sizeof ar->digest, "sha256:%s", hex);
	return 0;
}

/* Module files (traits/X.lua, workloads/X.lua) and the manifest's modules
 * must match one to one. */
static int check_layout(const struct oam_pack_archive *ar, const struct oam_pack_manifest *m, const char *where,
			struct oam_diags *d)
{
	int rc = 0;
	for (size_t i = 0; i < ar->n; i++) {
		const char *p = ar->files[i].path, *base = NULL;
		if (!strncmp(p, "traits/", 7))
			base = p + 7;
		else if (!strncmp(p, "workloads/", 10))
			base = p + 10;
		if (!base || strchr(base, '/') || !ends_with(base, ".lua") || base[0] == '_')
			continue;
		char name[256];
		snprintf(name, sizeof name, "%.*s", (int)(strlen(base) - 4), base);
		if (!oam_pack_manifest_module(m, name)) {
			struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, "OAM702", where, 0, 0,
							"pack '%s': module '%s' (%s) is not declared in pack.yaml", m->name, name, p);
			oam_diag_hint(e, "add it under modules: with what it emits and requires");
			rc = -1;
		}
	}
	for (size_t i = 0; i < m->nmodules; i++) {
		char t[300], w[300];
		snprintf(t, sizeof t, "traits/%s.lua", m->modules[i].module);
		snprintf(w, sizeof w, "workloads/%s.lua", m->modules[i].module);
		if (!oam_pack_archive_get(ar, t) && !oam_pack_archive_get(ar, w)) {
			oam_diag_at(d, OAM_SEV_ERROR, "OAM702", m->file, m->modules[i].line, 0,
				    "pack '%s': module '%s' is declared, but there is no %s or %s", m->name, m->modules[i].module,
				    t, w);
			rc = -1;
		}
	}
	return rc;
}

/* Parses the archive's pack.yaml and checks name, version and layout. */
static int check_manifest(struct oam_pack_archive *ar, const char *display, int from_dir, struct oam_diags *d)
{
	const struct oam_pack_file *mf = oam_pack_archive_get(ar, OAM_PACK_MANIFEST);
	char where[PATH_MAX + 40];
	if (!mf) {
		struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, from_dir ? "OAM702" : "OAM711", display, 0, 0, "no %s in the pack",
						OAM_PACK_MANIFEST);
		oam_diag_hint(e, "a pack directory has pack.yaml at its top ('oamlua pack init NAME' writes one)");
		return -1;
	}
	if (from_dir)
		snprintf(where, sizeof where, "%s/%s", display, OAM_PACK_MANIFEST);
	else
		snprintf(where, sizeof where, "%s:%s", display, OAM_PACK_MANIFEST);
	struct oam_arena *a = oam_arena_new();
	struct oam_pack_manifest m;
	int rc = -1;
	if (!a)
		return -1;
	if (oam_pack_manifest_parse(a, where, (const char *)mf->data, mf->len, &m, d) < 0)
		goto out;
	if (check_layout(ar, &m, where, d) < 0)
		goto out;
	if (from_dir) {
		snprintf(ar->name, sizeof ar->name, "%s", m.name);
		snprintf(ar->version, sizeof ar->version, "%s", m.version);
	} else if (strcmp(ar->name, m.name) || strcmp(ar->version, m.version)) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM711", display, 0, 0,
			    "archive header says '%s' %s, but its pack.yaml says '%s' %s", ar->name, ar->version, m.name,
			    m.version);
		goto out;
	}
	rc = 0;
out:
	oam_arena_free(a);
	return rc;
}

int oam_pack_archive_from_dir(struct oam_pack_archive *ar, const char *dir, struct oam_diags *d)
{
	struct walk w = { ar, d, dir, 0, 0 };
	struct stat st;
	int serr = stat(dir, &st) < 0 ? errno : !S_ISDIR(st.st_mode) ? ENOTDIR : 0;
	if (serr) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM901", dir, 0, 0, "cannot read the pack directory: %s", strerror(serr));
		return -1;
	}
	walk_dir(&w, "");
	if (w.bad)
		return -1;
	if (w.total > OAM_PACK_MAX_TOTAL) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM702", dir, 0, 0, "the pack's files add up to more than %u MiB",
			    OAM_PACK_MAX_TOTAL >> 20);
		return -1;
	}
	if (ar->n)
		qsort(ar->files, ar->n, sizeof *ar->files, cmp_file);
	if (check_manifest(ar, dir, 1, d) < 0)
		return -1;
	if (encode(ar) < 0) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM900", NULL, 0, 0, "out of memory");
		return -1;
	}
	return 0;
}

/* ---- reading ---- */

struct rd {
	const unsigned char *p, *end;
};

/* The next line without its '\n' (NUL-terminated copy in buf). */
static int next_line(struct rd *r, char *buf, size_t size)
{
	const unsigned char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
	if (!nl || (size_t)(nl - r->p) >= size)
		return -1;
	memcpy(buf, r->p, (size_t)(nl - r->p));
	buf[nl - r->p] = '\0';
	if (memchr(buf, '\0', (size_t)(nl - r->p)))
		return -1;
	r->p = nl + 1;
	return 0;
}

static int parse_size(const char *s, size_t *out, const char **rest)
{
	if (!isdigit((unsigned char)*s) || (s[0] == '0' && isdigit((unsigned char)s[1])))
		return -1;
	size_t v = 0;
	while (isdigit((unsigned char)*s)) {
		if (v > OAM_PACK_MAX_TOTAL)
			return -1;
		v = v * 10 + (size_t)(*s++ - '0');
	}
	*out = v;
	*rest = s;
	return 0;
}

int oam_pack_archive_decode(struct oam_pack_archive *ar, const unsigned char *buf, size_t len, const char *display,
			    struct oam_diags *d)
{
	struct rd r = { buf, buf + len };
	char line[512], why[300] = "";
	size_t nfiles = 0;
	struct oam_semver v;
	if (len > OAM_PACK_MAX_TOTAL + (OAM_PACK_MAX_FILES * 400u)) {
		snprintf(why, sizeof why, "larger than any pack can be");
		goto bad;
	}
	if (next_line(&r, line, sizeof line) < 0 || strcmp(line, OAM_PACK_MAGIC)) {
		snprintf(why, sizeof why, "it does not start with '%s'", OAM_PACK_MAGIC);
		goto bad;
	}
	if (next_line(&r, line, sizeof line) < 0 || strncmp(line, "name ", 5) || !oam_is_dns_label(line + 5) ||
	    strlen(line + 5) >= sizeof ar->name) {
		snprintf(why, sizeof why, "bad 'name' line");
		goto bad;
	}
	snprintf(ar->name, sizeof ar->name, "%s", line + 5);
	if (next_line(&r, line, sizeof line) < 0 || strncmp(line, "version ", 8) || oam_semver_parse(line + 8, &v) < 0 ||
	    strlen(line + 8) >= sizeof ar->version) {
		snprintf(why, sizeof why, "bad 'version' line");
		goto bad;
	}
	snprintf(ar->version, sizeof ar->version, "%s", line + 8);
	const char *rest;
	if (next_line(&r, line, sizeof line) < 0 || strncmp(line, "files ", 6) || parse_size(line + 6, &nfiles, &rest) < 0 ||
	    *rest || nfiles > OAM_PACK_MAX_FILES) {
		snprintf(why, sizeof why, "bad 'files' line");
		goto bad;
	}
	for (size_t i = 0; i < nfiles; i++) {
		size_t size;
		if (next_line(&r, line, sizeof line) < 0 || strncmp(line, "file ", 5) ||
		    parse_size(line + 5, &size, &rest) < 0 || *rest != ' ' || size > OAM_PACK_MAX_FILE) {
			snprintf(why, sizeof why, "bad header of file %zu", i + 1);
			goto bad;
		}
		const char *hex = rest + 1;
		if (strspn(hex, "0123456789abcdef") != 64 || hex[64] != ' ' || !oam_pack_path_ok(hex + 65)) {
			snprintf(why, sizeof why, "bad header of file %zu", i + 1);
			goto bad;
		}
		const char *path = hex + 65;
		if (ar->n && strcmp(ar->files[ar->n - 1].path, path) >= 0) {
			snprintf(why, sizeof why, "file '%s' is out of order or repeated", path);
			goto bad;
		}
		if ((size_t)(r.end - r.p) < size + 1 || r.p[size] != '\n') {
			snprintf(why, sizeof why, "file '%s' is truncated", path);
			goto bad;
		}
		unsigned char *data = malloc(size + 1);
		if (!data) {
			oam_diag_at(d, OAM_SEV_ERROR, "OAM900", NULL, 0, 0, "out of memory");
			return -1;
		}
		memcpy(data, r.p, size);
		data[size] = '\0';
		r.p += size + 1;
		if (add_file(ar, path, data, size) < 0) {
			free(data);
			oam_diag_at(d, OAM_SEV_ERROR, "OAM900", NULL, 0, 0, "out of memory");
			return -1;
		}
		if (strncmp(ar->files[ar->n - 1].sha256, hex, 64)) {
			snprintf(why, sizeof why, "file '%s' does not match its sha256 (the archive was changed)", path);
			goto bad;
		}
	}
	if (next_line(&r, line, sizeof line) < 0 || strcmp(line, "end") || r.p != r.end) {
		snprintf(why, sizeof why, "%s", r.p == r.end ? "it is truncated" : "extra bytes after the last file");
		goto bad;
	}
	if (check_manifest(ar, display, 0, d) < 0)
		return -1;
	/* Canonical: what we read is exactly what we would write. */
	if (encode(ar) < 0 || ar->nbytes != len || memcmp(ar->bytes, buf, len)) {
		snprintf(why, sizeof why, "it is not in canonical form");
		goto bad;
	}
	return 0;
bad: {
	struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, "OAM711", display, 0, 0, "not a valid pack archive: %s", why);
	oam_diag_hint(e, "archives come from 'oamlua pack build'; get a fresh copy (it may have been changed or cut short)");
	return -1;
}
}
