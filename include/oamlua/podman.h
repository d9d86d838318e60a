/* podman.h — the podman target: a libpod REST client over a unix socket.
 *
 * oamlua uses a running podman service when it finds one ($OAMLUA_PODMAN_SOCKET,
 * $CONTAINER_HOST=unix://…, /run/podman/podman.sock), else starts
 * `podman system service` on a private socket and stops it when done (the
 * pods keep running). Workloads are played with POST /libpod/play/kube;
 * everything oamlua creates carries the app.oam.dev labels, and only pods
 * with this application's label are ever touched. */
#ifndef OAMLUA_PODMAN_H
#define OAMLUA_PODMAN_H

#include <limits.h>
#include <sys/types.h>

#include "oamlua/emit.h"
#include "oamlua/err.h"

struct oam_podman {
	char sock[PATH_MAX];
	char dir[PATH_MAX];     /* private directory of a service we started, or "" */
	pid_t service_pid;      /* > 0 when we started the service */
	void *curl;             /* CURL *, reused */
	int verbose;
};

/* Loads libcurl, then finds a service (or starts one unless `no_start`);
 * `sock` forces a socket. Returns 0, or -1 with an OAM902 or OAM851 finding.
 * The other functions here need a connected `p`. */
int oam_podman_connect(struct oam_podman *p, const char *sock, int no_start, struct oam_diags *d);
/* Stops a service we started; the pods it ran keep running. */
void oam_podman_close(struct oam_podman *p);

/* One request: METHOD PATH (under /v4.0.0/libpod), optional body. The
 * response body goes to `resp` (may be NULL). Returns the HTTP status, or
 * -1 when the service could not be reached. */
long oam_podman_request(struct oam_podman *p, const char *method, const char *path, const char *content_type,
			const char *body, size_t len, struct oam_buf *resp);

/* The message of a libpod error body ({"cause","message","response"}),
 * copied into buf. */
void oam_podman_error_text(const struct oam_buf *resp, char *buf, size_t size);

/* Commands (see cmd_podman.c): `--target podman` of apply, delete, status. */
int cmd_podman_apply(int argc, char **argv);
int cmd_podman_delete(int argc, char **argv);
int cmd_podman_status(int argc, char **argv);

#endif
