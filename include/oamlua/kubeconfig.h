/* kubeconfig.h — where to connect and with which credentials, decided the
 * way kubectl decides it.
 *
 * Files: --kubeconfig FILE alone (must exist), else every file of
 * $KUBECONFIG (colon-separated, duplicates and missing files skipped) merged,
 * else ~/.kube/config. Merging: the first file that defines a cluster, user
 * or context name supplies the whole entry; current-context comes from the
 * first file that sets it; relative paths resolve against the directory of
 * the file that defined the entry. With no kubeconfig at all, the in-cluster
 * service account is used ($KUBERNETES_SERVICE_HOST/PORT and the files under
 * $OAMLUA_SERVICEACCOUNT_DIR, default /var/run/secrets/kubernetes.io/serviceaccount).
 *
 * Problems are findings with ID OAM801 at the kubeconfig line; credential
 * plugin failures are OAM803. Secrets (tokens, keys) are never written into
 * messages. */
#ifndef OAMLUA_KUBECONFIG_H
#define OAMLUA_KUBECONFIG_H

#include <stddef.h>
#include <time.h>

#include "oamlua/err.h"
#include "oamlua/load.h"

#define OAM_SA_DIR_DEFAULT "/var/run/secrets/kubernetes.io/serviceaccount"

/* Command-line choices; every member may be NULL. */
struct oam_kflags {
	const char *kubeconfig;         /* --kubeconfig */
	const char *context;            /* --context */
	const char *cluster;            /* --cluster */
	const char *user;               /* --user */
	const char *namespace;          /* -n */
};

/* An exec credential plugin (client.authentication.k8s.io/v1 or v1beta1). */
struct oam_kexec {
	char **argv;                    /* NULL-terminated; argv[0] is the command */
	char **env;                     /* NULL-terminated "NAME=value" additions */
	char *api_version;
	char *install_hint;             /* or NULL */
	int provide_cluster_info;
};

/* The resolved connection; owns every string (secrets are wiped on release). */
struct oam_kconn {
	char *server;                   /* base URL, no trailing slash */
	char *namespace;                /* effective: -n, context, in-cluster, "default" */
	char *context, *cluster, *user; /* names, for messages ("" in-cluster) */
	char *source;                   /* "kubeconfig FILE" / "in-cluster config", for messages */
	char *ca;                       /* PEM bytes or NULL */
	size_t ca_len;
	char *cert, *key;               /* client certificate and key, PEM, or NULL */
	size_t cert_len, key_len;
	char *token;                    /* static bearer token or NULL */
	char *token_file;               /* re-read from time to time, or NULL */
	char *username, *password;      /* basic auth, sent only if present */
	char *tls_server_name;
	char *proxy_url;
	int insecure;
	int in_cluster;
	int has_exec;
	struct oam_kexec exec;
	/* the token file's content, re-read at most once a minute */
	char *file_token;
	time_t file_token_time;
	/* exec plugin results (cached until expiry; cert/key above when it gives them) */
	char *exec_token;
	time_t exec_expiry;             /* 0 = never */
	int exec_ran;
};

/* One named entry of the merged files. */
struct oam_kentry {
	const char *name;
	const struct oam_node *body;    /* the `cluster:` / `user:` / `context:` map (may be NULL) */
	const struct oam_node *at;      /* the list item, for positions */
	const char *dir;                /* directory of the defining file, "" = CWD */
};

struct oam_kentries {
	struct oam_kentry *v;
	size_t n, cap;
};

/* The merged kubeconfig files; owns the loaded documents. */
struct oam_kubeconfig {
	struct oam_docset docs;
	int docs_ok;
	struct oam_kentries clusters, users, contexts;
	const char *current_context;    /* from the first file that sets it, or NULL */
	const struct oam_node *current_at;
	char **dirs;                    /* owned directory strings */
	size_t ndirs;
	size_t nfiles;                  /* files loaded */
	char first_file[1024];          /* for messages */
};

int oam_kubeconfig_init(struct oam_kubeconfig *kc);
void oam_kubeconfig_release(struct oam_kubeconfig *kc);

/* Merges one file into `kc`. Returns 0 when loaded, 1 when the file does not
 * exist and `missing_ok`, -1 on an error (a finding in `d`). */
int oam_kubeconfig_add_file(struct oam_kubeconfig *kc, const char *path, int missing_ok, struct oam_diags *d);
/* Merges a buffer as if it were a file named `name` in directory `dir`. */
int oam_kubeconfig_add_buffer(struct oam_kubeconfig *kc, const char *name, const char *dir, const char *buf,
			      size_t len, struct oam_diags *d);
/* kubectl's choice of files (see the top of this header). Returns the number
 * of files loaded (0 = none found), or -1 on an error. */
int oam_kubeconfig_locate(struct oam_kubeconfig *kc, const char *flag_path, struct oam_diags *d);
/* Picks the context, cluster and user and fills `c` (reading the files the
 * entries name). Returns 0, or -1 with findings in `d`. */
int oam_kubeconfig_resolve(const struct oam_kubeconfig *kc, const struct oam_kflags *f, struct oam_kconn *c,
			   struct oam_diags *d);

/* The in-cluster service account. Returns 0 when filled, 1 when not running
 * in a cluster, -1 on an error. */
int oam_kconn_in_cluster(const struct oam_kflags *f, struct oam_kconn *c, struct oam_diags *d);

/* All of the above: files, else in-cluster. Returns 0 or -1 (findings in d). */
int oam_kconn_load(const struct oam_kflags *f, struct oam_kconn *c, struct oam_diags *d);
void oam_kconn_release(struct oam_kconn *c);

/* Does the connection carry credentials (token, file, certificate, plugin, basic)? */
int oam_kconn_has_credentials(const struct oam_kconn *c);

/* The bearer token to send now, or NULL: the static token, else the token
 * file (re-read at most once a minute), else the exec plugin's token (run on
 * first use and again after expiry or when `refresh` is set, e.g. after a
 * 401). Returns -1 on a failure (finding OAM801/OAM803 in d). The string is
 * borrowed from `c`. */
int oam_kconn_bearer(struct oam_kconn *c, int refresh, const char **token, struct oam_diags *d);
/* Runs the exec plugin now (fills exec_token, or cert and key). */
int oam_kconn_run_exec(struct oam_kconn *c, struct oam_diags *d);

/* Base64 (standard alphabet, padding, whitespace ignored). Returns a
 * malloc'd NUL-terminated buffer or NULL when the text is not base64. */
char *oam_base64_decode(const char *s, size_t len, size_t *outlen);
/* Malloc'd NUL-terminated base64; `url` selects the URL alphabet without padding. */
char *oam_base64_encode(const void *p, size_t len, int url);

#endif
