/* apply.h — putting rendered objects into a cluster and taking them out
 * again: dependency order, server-side apply, the ApplySet inventory,
 * pruning, deletion, waiting for health, and the commands built on them.
 *
 * Ownership follows kubectl's ApplySet (KEP-3659): every application has a
 * parent Secret `oamlua-APP` in its namespace labelled
 * applyset.kubernetes.io/id=ID (ID = "applyset-" + base64url(sha256(
 * "NAME.NAMESPACE.Secret.")) + "-v1") and annotated with the tooling
 * (oamlua/vX), the group-kinds and the extra namespaces of its members;
 * every member carries applyset.kubernetes.io/part-of=ID and
 * app.oam.dev/name=APP. Only objects found by that label, with a UID that
 * this run did not apply, are ever pruned or deleted.
 *
 * Order: before any member is written the parent records the union of the
 * old and new group-kinds, so an interrupted run leaves nothing that a
 * re-run cannot find; prune runs only after every apply succeeded, and only
 * then does the parent forget the group-kinds that are gone. */
#ifndef OAMLUA_APPLY_H
#define OAMLUA_APPLY_H

#include <stddef.h>
#include <jansson.h>
#include <lua.h>

#include "oamlua/emit.h"
#include "oamlua/err.h"
#include "oamlua/kube.h"

#define OAM_APPLYSET_PREFIX "oamlua-"
#define OAM_LABEL_PART_OF "applyset.kubernetes.io/part-of"
#define OAM_LABEL_APPLYSET_ID "applyset.kubernetes.io/id"
#define OAM_LABEL_APP "app.oam.dev/name"
#define OAM_FIELD_MANAGER "oamlua"

enum oam_dryrun { OAM_DRY_NONE, OAM_DRY_CLIENT, OAM_DRY_SERVER };

struct oam_apply_opts {
	enum oam_dryrun dry_run;
	int force_conflicts;
	int prune;
	int wait;
	double timeout;                 /* seconds, for waiting */
	int output_name;                /* -o name */
	const char *output;             /* client dry run: "yaml" or "json" prints the bodies */
	int ignore_not_found;           /* delete */
	int verbose;
};

enum oam_aresult { OAM_A_PENDING, OAM_A_CREATED, OAM_A_CONFIGURED, OAM_A_UNCHANGED, OAM_A_FAILED, OAM_A_SKIPPED };

/* One rendered object. */
struct oam_aobj {
	json_t *obj;                    /* owned: the body to send (labels, namespace added) */
	struct oam_kres res;
	int mapped;                     /* res is known */
	int deferred;                   /* a custom resource whose CRD is in this application */
	int wave;
	size_t set;                     /* index of its application */
	char name[254], ns[254];        /* ns "" = cluster-scoped (once mapped) */
	char what[300];                 /* deployment.apps/web */
	char api_version[256], kind[128];
	enum oam_aresult result;
	char uid[64];
};

/* A live object found by the part-of label. */
struct oam_member {
	struct oam_kres res;
	json_t *obj;                    /* owned */
	char what[300], ns[254], name[254], uid[64], rv[64];
	char key[700];                  /* group/kind/ns/name, for lookups */
};

/* One application: its ApplySet parent and what it held before this run. */
struct oam_appset {
	char app[254], ns[254], parent[270], id[128];
	int exists;                     /* the parent was found */
	int has_ns_object;              /* the application creates its own namespace */
	json_t *gks_old, *nss_old;      /* arrays of strings, from the parent */
	json_t *gks_new, *nss_new;      /* from this run's objects */
	struct oam_member *members;     /* sorted by key */
	size_t nmembers;
};

struct oam_apply {
	struct oam_kube *k;             /* borrowed; NULL for a client dry run */
	const char *ns;                 /* the effective namespace (borrowed) */
	struct oam_aobj *objs;
	size_t n;
	struct oam_appset *sets;
	size_t nsets;
};

void oam_apply_init(struct oam_apply *a, struct oam_kube *k, const char *ns);
void oam_apply_release(struct oam_apply *a);

/* Takes the rendered objects of the Lua list at idx. Objects are grouped by
 * their app.oam.dev/name label (`default_app` when they have none; NULL = an
 * error). Returns 0 or -1 (findings in d). */
int oam_apply_collect(struct oam_apply *a, lua_State *L, int idx, const char *default_app, struct oam_diags *d);
/* Adds an application by name, without objects (delete/status APP). */
int oam_apply_add_app(struct oam_apply *a, const char *app, struct oam_diags *d);

/* `apply`: everything, printing one line per object. Returns an exit code. */
int oam_apply_run(struct oam_apply *a, const struct oam_apply_opts *o, struct oam_diags *d);
/* `diff`: a unified diff of live and would-be objects into out. Returns 0
 * (no change), 1 (changes) or an exit code > 1 (findings in d). */
int oam_apply_diff(struct oam_apply *a, const struct oam_apply_opts *o, struct oam_buf *out, struct oam_diags *d);
/* `delete`: the applications' members and parents. Returns an exit code. */
int oam_apply_delete(struct oam_apply *a, const struct oam_apply_opts *o, struct oam_diags *d);
/* `status`: the health table of the applications. Returns an exit code. */
int oam_apply_status(struct oam_apply *a, const struct oam_apply_opts *o, struct oam_diags *d);

/* The ApplySet ID of a parent object. */
void oam_applyset_id(const char *name, const char *ns, const char *kind, const char *group, char *out, size_t size);
void oam_sha256(const void *data, size_t len, unsigned char out[32]);
/* Dependency wave of a kind (0 namespaces, 1 CRDs, 2 config/RBAC/storage,
 * 3 services, 4 workloads, 5 everything else). */
int oam_apply_wave(const char *group, const char *kind);
/* Parses a duration: "90", "90s", "5m", "1h30m", "500ms". -1 when invalid. */
double oam_parse_duration(const char *s);

/* Commands (src/cmd_apply.c). */
int cmd_apply(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_status(int argc, char **argv);

#endif
