/* kube.h — talking to a Kubernetes API server: requests over libcurl's multi
 * interface (concurrent, connections reused), retries, discovery and REST
 * mapping, and Status bodies turned into findings.
 *
 * Retries: 429 and 5xx (except a 500 without a reason, which the server uses
 * for errors that a retry cannot fix), and connections dropped mid-request,
 * up to OAM_KUBE_TRIES tries with exponential backoff and jitter, waiting at
 * least the server's Retry-After. A 401 when an exec plugin supplies the
 * credentials re-runs the plugin once. Credentials go only to https://
 * servers; nothing that carries them is ever printed, even with -v. */
#ifndef OAMLUA_KUBE_H
#define OAMLUA_KUBE_H

#include <stddef.h>
#include <jansson.h>

#include "oamlua/err.h"
#include "oamlua/kubeconfig.h"

#define OAM_KUBE_TRIES 5
#define OAM_KUBE_CONCURRENCY 16

/* One REST mapping: where objects of a kind live. */
struct oam_kres {
	char group[128], version[64], resource[128], kind[128];
	int namespaced;
};

/* One request and, after oam_kube_run, its response. */
struct oam_kreq {
	char method[8];
	char *path;                     /* owned: path and query, "/apis/apps/v1/..." */
	char *body;                     /* owned, or NULL */
	size_t body_len;
	const char *content_type;       /* static string, or NULL */
	const char *what;               /* borrowed: "deployment.apps/web", for messages */
	/* response */
	long status;                    /* HTTP status; 0 = no response (see curl_err) */
	char *resp;                     /* owned, NUL-terminated */
	size_t resp_len;
	json_t *json;                   /* owned: the body when it is JSON, else NULL */
	int curl_code;
	char curl_err[256];
	int tries;
	/* private */
	size_t resp_cap;
	void *hdrs;
	double not_before;
	long retry_after;
	int refreshed, state;
};

struct oam_gvcache;

struct oam_kube {
	struct oam_kconn *conn;         /* borrowed */
	struct oam_diags *diags;        /* borrowed: credential failures go here */
	void *multi;                    /* CURLM */
	void *share;                    /* CURLSH: TLS sessions, shared by the handles */
	void **pool;                    /* CURL handles, one per concurrent request */
	int *pool_gen;
	size_t npool;
	int concurrency;
	int verbose;
	long timeout_ms;                /* per request (0 = none) */
	char *base;                     /* URL prefix (tls-server-name applied) */
	void *connect_to;               /* curl_slist */
	int tls_gen;
	long requests;                  /* HTTP requests made, retries included */
	/* discovery */
	struct oam_gvcache *gvs;
	size_t ngvs, capgvs;
	json_t *groups;                 /* GET /apis, when fetched */
};

/* Prepares a client for `conn` (borrowed; must outlive the client). Refuses
 * credentials over plain http (OAM802); loads libcurl (OAM902 when it cannot).
 * Returns 0 or -1 (finding in d). */
int oam_kube_open(struct oam_kube *k, struct oam_kconn *conn, int concurrency, int verbose, struct oam_diags *d);
void oam_kube_close(struct oam_kube *k);

/* A request for `method` and a printf-formatted path (already escaped). */
struct oam_kreq *oam_kreq_new(const char *method, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets the body to the compact JSON of `body` (not stolen). */
int oam_kreq_body(struct oam_kreq *r, const json_t *body, const char *content_type);
void oam_kreq_free(struct oam_kreq *r);
/* Frees an array of requests and the array. */
void oam_kreqs_free(struct oam_kreq **rs, size_t n);

/* Runs the requests, at most k->concurrency at a time, with retries. Returns
 * 0 when every request got a final answer (inspect r->status), -1 when
 * credentials could not be obtained (finding in k->diags). */
int oam_kube_run(struct oam_kube *k, struct oam_kreq **rs, size_t n);
/* The same, calling each(rs[i], i, ctx) as soon as rs[i] has its final
 * answer, from inside the loop while other requests are still in flight:
 * work done there overlaps the server's. each may keep what it needs and
 * free the body with oam_kreq_drop_response. */
int oam_kube_run_each(struct oam_kube *k, struct oam_kreq **rs, size_t n,
		      void (*each)(struct oam_kreq *r, size_t i, void *ctx), void *ctx);
/* One request. */
int oam_kube_run1(struct oam_kube *k, struct oam_kreq *r);
/* Frees the response body and its JSON; the status stays. */
void oam_kreq_drop_response(struct oam_kreq *r);

/* Turns a failed response into findings naming `what` (the object): the
 * Status message, the fields of a 422, the managers of a 409 conflict. */
void oam_kube_report(const struct oam_kube *k, const struct oam_kreq *r, const char *what, struct oam_diags *d);
/* The Status reason and message of a response (borrowed, "" if none). */
const char *oam_kube_reason(const struct oam_kreq *r);
const char *oam_kube_message(const struct oam_kreq *r);

/* ---- discovery and REST mapping (cached for the run) ---- */

/* Fetches the resource lists of these group-versions ("v1", "apps/v1") that
 * are not cached yet, concurrently. A 404 marks a group-version as not
 * served. Returns 0 or -1 (findings in d). */
int oam_kube_discover(struct oam_kube *k, const char *const *gvs, size_t n, struct oam_diags *d);
/* Maps apiVersion + kind. Returns 0, 1 when the server does not serve the
 * kind, -1 on a request failure (findings in d). */
int oam_kube_map(struct oam_kube *k, const char *api_version, const char *kind, struct oam_kres *out,
		 struct oam_diags *d);
/* Maps group + kind with the group's preferred version (core group: v1). */
int oam_kube_map_gk(struct oam_kube *k, const char *group, const char *kind, struct oam_kres *out,
		    struct oam_diags *d);
/* Forgets what discovery found (after creating CRDs). */
void oam_kube_forget(struct oam_kube *k);

/* "/apis/apps/v1/namespaces/NS/deployments[/NAME]" (ns ignored for
 * cluster-scoped resources; name may be NULL). Malloc'd. */
char *oam_kres_path(const struct oam_kres *res, const char *ns, const char *name);
/* "deployment.apps/web" (kubectl's resource/name form) into buf. */
void oam_kres_display(const struct oam_kres *res, const char *name, char *buf, size_t size);
/* "Deployment.apps" / "ConfigMap" (the ApplySet group-kind form). */
void oam_kres_gk(const struct oam_kres *res, char *buf, size_t size);

/* Lists objects of `res` in `ns` (NULL: all namespaces or cluster-scoped)
 * matching `selector`, following continue tokens. Items get apiVersion and
 * kind filled in. */
struct oam_klist {
	const struct oam_kres *res;     /* borrowed */
	const char *ns;                 /* borrowed or NULL */
	const char *selector;           /* borrowed label selector or NULL */
	json_t *items;                  /* out: owned array */
	int not_found;                  /* out: the resource or namespace is gone */
};
int oam_kube_list(struct oam_kube *k, struct oam_klist *ls, size_t n, struct oam_diags *d);

/* URL-escapes s (malloc'd). Uses libcurl: only after oam_kube_open. */
char *oam_kube_escape(const char *s);

#endif
