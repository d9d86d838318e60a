/* pack.h — trait packs: versioned, signed, sandboxed bundles of modules.
 *
 * A pack is a directory: pack.yaml (the manifest), traits/ and workloads/
 * (modules), docs/ and tests/<case>/ (fixtures). `oamlua pack build` turns it
 * into one archive file (format below) whose sha256 is the pack's digest;
 * `pack sign` signs that digest with ed25519 (OpenSSL libcrypto); `pack
 * install` unpacks it into the pack store and pins every file in the lock
 * file; the registry loads installed packs after the built-ins, refusing a
 * module whose bytes do not match the lock; render enforces each module's
 * declared capabilities (what it may emit) and limits.
 *
 * Archive format "oamlua-pack/v1" (docs/packs.md), a sorted tar-like text
 * header per file followed by the raw bytes:
 *
 *     oamlua-pack/v1\n
 *     name NAME\n
 *     version VERSION\n
 *     files N\n
 *     file SIZE SHA256HEX PATH\n  SIZE raw bytes  \n      (N times, PATH ascending)
 *     end\n
 *
 * No times, owners or modes: the same directory gives the same bytes. A
 * reader accepts only this canonical form.
 *
 * Pack store: $OAMLUA_PACKS (empty: no store), else $XDG_DATA_HOME/oamlua/packs,
 * else ~/.local/share/oamlua/packs. It holds oamlua.lock, packs/NAME/ (the
 * installed files), archives/NAME-VERSION.oampack[.sig] and trusted/KEYID.pub. */
#ifndef OAMLUA_PACK_H
#define OAMLUA_PACK_H

#include <stddef.h>
#include <lua.h>

#include "oamlua/emit.h"
#include "oamlua/err.h"
#include "oamlua/kube.h"
#include "oamlua/kubeconfig.h"
#include "oamlua/lhost.h"
#include "oamlua/registry.h"
#include "oamlua/tree.h"

#define OAM_PACK_API "oamlua/v1"
#define OAM_PACK_MAGIC "oamlua-pack/v1"
#define OAM_PACK_SIG_MAGIC "oamlua-signature/v1"
#define OAM_PACK_LOCK "oamlua.lock"
#define OAM_PACK_MANIFEST "pack.yaml"
#define OAM_PACK_EXT ".oampack"
#define OAM_PACK_NAMESPACE "oamlua-system"
#define OAM_PACK_MAX_FILE (4u << 20)            /* bytes per file in a pack */
#define OAM_PACK_MAX_TOTAL (16u << 20)          /* bytes of a whole archive */
#define OAM_PACK_MAX_FILES 4096

/* ---- semantic versions (semver.org 2.0.0) and ranges ---- */

struct oam_semver {
	long long major, minor, patch;
	char pre[96];                   /* pre-release ("" = none); build metadata is ignored */
};

/* 0, or -1 when `s` is not MAJOR.MINOR.PATCH[-PRE][+BUILD]. */
int oam_semver_parse(const char *s, struct oam_semver *v);
int oam_semver_cmp(const struct oam_semver *a, const struct oam_semver *b);
/* Ranges as npm writes them: comparators (=, >, >=, <, <=) separated by
 * spaces are all required; `||` separates alternatives; `^1.2.3`, `~1.2`,
 * `1.x`, `*`, `1.2.3 - 2.0` and partial versions work as in npm. A
 * pre-release only matches a comparator naming the same MAJOR.MINOR.PATCH
 * with a pre-release. Returns 1 (satisfied), 0 (not), -1 (bad range; message
 * in err). */
int oam_semver_satisfies(const struct oam_semver *v, const char *range, char *err, size_t errsize);

/* ---- the manifest (pack.yaml) ---- */

/* A cluster API a module needs: apiVersion plus kind or resource. */
struct oam_pack_api {
	const char *api_version;        /* "group/version", or "v1" for the core group */
	const char *kind;               /* or NULL */
	const char *resource;           /* or NULL (plural resource name) */
};

/* What a module may emit: objects of apiVersion with one of these kinds. */
struct oam_pack_emit {
	const char *api_version;
	const char *kind;               /* "*" = any kind of that apiVersion */
};

struct oam_pack_limits {
	long long instructions;         /* per call; 0 = the run's default */
	size_t memory;                  /* bytes per call; 0 = the run's default */
};

/* One module's declarations; the registry points struct oam_module.caps here. */
struct oam_modcaps {
	const char *pack, *pack_version;
	const char *kubernetes;         /* the pack's supported Kubernetes versions (a range), or NULL */
	const char *module;
	struct oam_pack_emit *emits;
	size_t nemits;
	struct oam_pack_api *requires;
	size_t nrequires;
	struct oam_pack_limits limits;  /* effective: the module's, else the pack's */
	unsigned line;                  /* of its entry in pack.yaml */
};

struct oam_pack_dep {
	const char *name, *range;
	unsigned line, col;
};

struct oam_pack_maintainer {
	const char *name, *email;
};

struct oam_pack_manifest {
	const char *file;               /* display name of pack.yaml */
	const char *name, *version, *description, *api, *kubernetes;
	struct oam_semver semver;
	struct oam_pack_maintainer *maintainers;
	size_t nmaintainers;
	struct oam_pack_dep *deps;
	size_t ndeps;
	struct oam_modcaps *modules;
	size_t nmodules;
	struct oam_pack_limits limits;
};

/* Parses pack.yaml text; every string is copied into `a`. Findings (OAM701,
 * OAM703) go to `d` at their file:line:col. Returns 0 or -1. */
int oam_pack_manifest_parse(struct oam_arena *a, const char *display, const char *buf, size_t len,
			    struct oam_pack_manifest *m, struct oam_diags *d);
/* The entry of a module, or NULL. */
const struct oam_modcaps *oam_pack_manifest_module(const struct oam_pack_manifest *m, const char *name);
/* A short text of a byte count: "32Mi", "512Ki", "1000". */
void oam_pack_fmt_bytes(size_t n, char *buf, size_t size);

/* ---- archives ---- */

struct oam_pack_file {
	char *path;                     /* owned: relative, '/'-separated */
	unsigned char *data;            /* owned */
	size_t len;
	char sha256[65];                /* hex */
};

struct oam_pack_archive {
	char name[64], version[128];
	struct oam_pack_file *files;    /* sorted by path */
	size_t n, cap;
	unsigned char *bytes;           /* owned: the encoded archive */
	size_t nbytes;
	char digest[72];                /* "sha256:HEX" of bytes */
};

void oam_pack_archive_init(struct oam_pack_archive *ar);
void oam_pack_archive_release(struct oam_pack_archive *ar);
/* Reads every file of a pack directory (names starting with '.' and
 * *.oampack, *.sig, *.key files are left out; symlinks and other special
 * files are refused, OAM702) and encodes the archive. Name and version come
 * from pack.yaml, which must parse (findings in d). */
int oam_pack_archive_from_dir(struct oam_pack_archive *ar, const char *dir, struct oam_diags *d);
/* Decodes and checks an archive (canonical form, digests of each file):
 * OAM711 when it is not one. `display` names it in messages. */
int oam_pack_archive_decode(struct oam_pack_archive *ar, const unsigned char *buf, size_t len, const char *display,
			    struct oam_diags *d);
const struct oam_pack_file *oam_pack_archive_get(const struct oam_pack_archive *ar, const char *path);

/* A path inside a pack: relative, '/'-separated components of
 * [A-Za-z0-9._-], none empty or starting with '.'. */
int oam_pack_path_ok(const char *path);
/* mkdir -p. */
int oam_pack_mkdirs(const char *path, int mode);
/* sha256 as lowercase hex (65 bytes with the NUL). */
void oam_pack_sha256_hex(const void *data, size_t len, char out[65]);
/* oam_file_read of a regular file only (never a device or FIFO); -1 with errno set. */
int oam_pack_read_file(const char *path, unsigned char **data, size_t *len, size_t max);
/* Writes a file atomically (temporary + rename); -1 with errno set. */
int oam_pack_write_file(const char *path, const void *data, size_t len, int mode);

/* ---- signatures (ed25519) ---- */

struct oam_pack_sig {
	char keyid[17];                 /* first 16 hex digits of sha256(raw public key) */
	char digest[72];                /* "sha256:HEX" it signs */
	unsigned char sig[64];
};

/* Writes BASE.key (PKCS#8 PEM, mode 0600) and BASE.pub; never overwrites.
 * Fills the key ID. Returns 0 or -1 (message in err). */
int oam_pack_keygen(const char *base, char keyid[17], char *err, size_t errsize);
/* Signs a digest with a private key file; out receives the signature file text. */
int oam_pack_sign(const char *keyfile, const char *digest, struct oam_buf *out, char keyid[17], char *err,
		  size_t errsize);
/* Parses a signature file. */
int oam_pack_sig_parse(const char *text, size_t len, struct oam_pack_sig *s, char *err, size_t errsize);
/* The key ID of a public key file; 0 or -1. */
int oam_pack_pubkey_id(const char *pubfile, char keyid[17], char *err, size_t errsize);
/* 1 when `s` is a valid signature of `digest` by the public key in pubfile,
 * 0 when not, -1 when the key cannot be used (message in err). */
int oam_pack_sig_check(const struct oam_pack_sig *s, const char *digest, const char *pubfile, char *err,
		       size_t errsize);
/* Checks a signature against the keys in `keys` (public key files, NULL-
 * terminated) or, when keys is NULL, the store's trusted keys. Returns 1 and
 * the key file used, 0 when no key verifies it, -1 on an error. */
int oam_pack_sig_verify(const struct oam_pack_sig *s, const char *digest, const char *const *keys,
			const char *store, char *keyfile, size_t keyfile_size, char *err, size_t errsize);

/* ---- the store and its lock ---- */

struct oam_lock_file {
	const char *path, *sha256;
};

struct oam_lock_pack {
	const char *name, *version, *digest, *signer;   /* signer: key ID or "" (unsigned) */
	struct oam_pack_dep *deps;
	size_t ndeps;
	struct oam_lock_file *files;    /* sorted by path */
	size_t nfiles;
};

struct oam_lock {
	struct oam_arena *arena;        /* owns every string */
	struct oam_lock_pack *packs;    /* sorted by name */
	size_t n, cap;
};

/* The store directory: 0 and the path, 1 when $OAMLUA_PACKS is set but
 * empty (no store), -1 when no home directory is known. */
int oam_pack_store_dir(char *buf, size_t size);
int oam_lock_init(struct oam_lock *l);
void oam_lock_release(struct oam_lock *l);
/* Reads STORE/oamlua.lock; a missing lock is an empty store (0). OAM722 when
 * it cannot be read or parsed. */
int oam_lock_read(struct oam_lock *l, const char *store, struct oam_diags *d);
int oam_lock_write(const struct oam_lock *l, const char *store, char *err, size_t errsize);
const struct oam_lock_pack *oam_lock_find(const struct oam_lock *l, const char *name);

/* ---- installing and removing (pack_store.c) ---- */

/* One pack on its way into the store: an archive, its manifest, and its
 * signature if it has one. */
struct oam_pack_src {
	struct oam_pack_archive ar;
	struct oam_arena *arena;        /* owns man's strings */
	struct oam_pack_manifest man;
	char *sig;                      /* owned signature file text, or NULL */
	size_t siglen;
	char signer[17];                /* after oam_pack_src_trust: the trusted key's ID, or "" */
	char keyfile[1024];             /* the key file that verified it */
	int from_dir;                   /* built from a directory (never signed) */
	char display[1024];             /* where it came from, for messages */
};

void oam_pack_src_init(struct oam_pack_src *s);
void oam_pack_src_release(struct oam_pack_src *s);
/* A pack directory (built in memory) or an archive file with its signature
 * (sigpath, else FILE.sig when it exists). 0 or -1 (findings in d). */
int oam_pack_src_load(struct oam_pack_src *s, const char *path, const char *sigpath, struct oam_diags *d);
/* An archive received as bytes (sig may be NULL). */
int oam_pack_src_from_bytes(struct oam_pack_src *s, const unsigned char *buf, size_t len, const char *sig,
			    size_t siglen, const char *display, struct oam_diags *d);
/* Checks the signature against `keys` (NULL: the store's trusted keys).
 * A bad signature is always refused; a missing or untrusted one unless
 * allow_unsigned. OAM712. */
int oam_pack_src_trust(struct oam_pack_src *s, const char *store, const char *const *keys, int allow_unsigned,
		       struct oam_diags *d);
/* Prints what a pack asks for: modules, what they emit and require, limits. */
void oam_pack_print_caps(FILE *f, const struct oam_pack_src *s);
/* Installs packs (checked with oam_pack_src_trust first) into the store:
 * dependencies resolved against the store and each other (OAM704), module
 * names unique across packs (OAM705), each pack's modules loaded in the
 * sandbox before anything is replaced, then files, archives and the lock
 * written. Returns 0 or -1. */
int oam_pack_install(const char *store, struct oam_pack_src *srcs, size_t n, struct oam_diags *d);
/* Loads a pack directory's modules in a fresh sandbox (what the registry
 * will do), so that a pack that would not load is neither built nor
 * installed. 0 or -1 (findings in d). */
int oam_pack_try_load(const char *dir, struct oam_diags *d);
/* Removes an installed pack (refused while others depend on it, unless force). */
int oam_pack_remove(const char *store, const char *name, int force, struct oam_diags *d);
/* Checks every installed file against the lock, and every stored archive
 * against its digest and signature; prints one line per pack. Returns the
 * number of packs with problems (findings in d), -1 on an error. */
int oam_pack_verify_store(const char *store, struct oam_diags *d);
/* Sets the exit class of the findings added since `before` errors were
 * counted (the first error decides, as everywhere). */
void oam_pack_exit_class(struct oam_diags *d, size_t before, int code);

/* ---- the registry side: packs on the module search path ---- */

/* Loads `dir` when it is a pack (holds pack.yaml: not locked) or a store
 * (holds oamlua.lock: every file checked against the lock, OAM721). Returns
 * 1 when it was one of these (0 when not: the caller loads it as a plain
 * module directory), -1 after findings. */
int oam_pack_registry_load(struct oam_registry *r, const char *dir, const char *origin, struct oam_diags *d);
/* Loads the installed packs of the default store (if any). */
int oam_pack_registry_load_store(struct oam_registry *r, struct oam_diags *d);

/* ---- the render side: capabilities and limits ---- */

/* oam_lua_call with the limits of the module's pack applied (the smaller of
 * the pack's and the run's). Exceeding the pack's own limit is OAM732 naming
 * the pack, the module and what it was rendering. */
int oam_module_call(struct oam_lua *h, const struct oam_module *m, const char *what, int nargs, int nres,
		    struct oam_err *err);
/* Checks a finished object (apiVersion, kind and metadata.name are valid) at
 * idx against what m's pack lets it emit: 0, or -1 with OAM731 in d. */
int oam_pack_check_emit(lua_State *L, int idx, const struct oam_module *m, const char *what, struct oam_diags *d);
/* Pushes the apiVersion/kind of each object of the list at idx, so that a
 * pack trait cannot turn an object into another kind by patching it. */
void oam_pack_push_kinds(lua_State *L, int list_idx);
int oam_pack_check_kinds(lua_State *L, int list_idx, int snap_idx, const struct oam_module *m, const char *what,
			 struct oam_diags *d);

/* ---- fixtures and scaffolds (pack_test.c) ---- */

/* Runs a pack's fixtures (tests/CASE/: cmd, inputs, expected.out, .err,
 * .status) with this oamlua in child processes, the pack and its
 * dependencies (from `with` pack directories, else the store) on the module
 * search path. TAP on stdout. Returns the number of failed cases, or -1
 * before running any (findings in d). `accept` rewrites the expected files. */
int oam_pack_test(const char *dir, const char *const *with, const char *store, int accept, struct oam_diags *d);
/* Writes a new pack directory for a trait NAME that passes its own tests. */
int oam_pack_init(const char *name, const char *dir, struct oam_diags *d);

/* ---- clusters (pack_cluster.c) ---- */

struct oam_model;

/* A connection to one cluster (a kubeconfig context). */
struct oam_pack_cluster {
	char name[128];                 /* the context, for messages */
	struct oam_kconn conn;
	struct oam_kube k;
	int conn_ok, kube_ok;
};

/* A pack published in a cluster. */
struct oam_published {
	char name[64], version[128], digest[72], signer[17];
	char cm[254];                   /* the ConfigMap's name */
	struct oam_semver semver;
	json_t *obj;                    /* owned: the ConfigMap */
};

int oam_pack_cluster_open(struct oam_pack_cluster *c, const char *kubeconfig, const char *context, int verbose,
			  struct oam_diags *d);
void oam_pack_cluster_close(struct oam_pack_cluster *c);
/* The packs published in the cluster (one name, or all when NULL), sorted
 * by name and version. The caller frees with oam_pack_published_release. */
int oam_pack_cluster_list(struct oam_pack_cluster *c, const char *name, struct oam_published **out, size_t *n,
			  struct oam_diags *d);
void oam_pack_published_release(struct oam_published *v, size_t n);
/* The archive and signature of a published pack, checked against the digest
 * it was published with (OAM711). */
int oam_pack_published_src(const struct oam_pack_cluster *c, const struct oam_published *p, struct oam_pack_src *s,
			   struct oam_diags *d);
/* Publishes a pack (server-side apply of its ConfigMap). A version already
 * published with another digest is refused (returns 1) unless force. */
int oam_pack_cluster_push(struct oam_pack_cluster *c, const struct oam_pack_src *s, int force, struct oam_diags *d);
/* Copies a published pack from one cluster to another, after checking it. */
int oam_pack_cluster_copy(struct oam_pack_cluster *from, const struct oam_published *p, struct oam_pack_cluster *to,
			  struct oam_diags *d);
/* The cluster's Kubernetes version, MAJOR.MINOR.PATCH. */
int oam_pack_cluster_version(struct oam_pack_cluster *c, char *buf, size_t size, struct oam_diags *d);

/* ---- cluster APIs a module requires ---- */

/* The served-API oracle: a cluster (discovery) or a list given offline
 * (--api-versions: "group/version" or "group/version/Kind|resource"). */
struct oam_apiset {
	struct oam_kube *k;             /* borrowed, or NULL */
	const char *const *offline;     /* NULL-terminated, or NULL */
	size_t noffline;
	void *cache;                    /* private: fetched group-versions */
	size_t ncache;
};
/* 1 served, 0 not served, -1 on a request failure (findings in d). */
int oam_apiset_serves(struct oam_apiset *s, const struct oam_pack_api *api, struct oam_diags *d);
void oam_apiset_release(struct oam_apiset *s);
/* Refuses (OAM751, one per missing API) every module bound in the model
 * whose pack says it requires an API the cluster does not serve. Returns 0
 * when everything is served, 1 when something is missing, -1 on a request
 * failure. Meant to run before anything is sent (oamlua apply). */
int oam_pack_check_cluster(struct oam_apiset *s, const struct oam_registry *r, const struct oam_model *m,
			   struct oam_diags *d);

/* ---- the command (src/cmd_pack.c) ---- */
int cmd_pack(int argc, char **argv);

#endif
