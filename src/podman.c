/* podman.c — libpod REST over a unix socket with libcurl; starting and
 * stopping a private `podman system service`. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "oamlua/curl.h"
#include "oamlua/podman.h"

#define API "http://d/v4.0.0/libpod"

static size_t collect(char *ptr, size_t size, size_t n, void *data)
{
	struct oam_buf *b = data;
	if (b && oam_buf_add(b, ptr, size * n) < 0)
		return 0;
	return size * n;
}

long oam_podman_request(struct oam_podman *p, const char *method, const char *path, const char *content_type,
			const char *body, size_t len, struct oam_buf *resp)
{
	char url[4096], hdr[128];
	struct curl_slist *h = NULL;
	long status = -1;
	CURL *c = p->curl;
	if (!c && !(c = p->curl = oam_curl.easy_init()))
		return -1;
	oam_curl.easy_reset(c);
	snprintf(url, sizeof url, API "%s", path);
	oam_curl.easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, p->sock);
	oam_curl.easy_setopt(c, CURLOPT_URL, url);
	oam_curl.easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	oam_curl.easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	oam_curl.easy_setopt(c, CURLOPT_WRITEDATA, resp);
	oam_curl.easy_setopt(c, CURLOPT_TIMEOUT, 300L);
	oam_curl.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (body) {
		oam_curl.easy_setopt(c, CURLOPT_POSTFIELDS, body);
		oam_curl.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	/* libcurl would send a form type, which play/kube does not read. */
	snprintf(hdr, sizeof hdr, "Content-Type: %s", content_type ? content_type : "application/json");
	h = oam_curl.slist_append(h, hdr);
	oam_curl.easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (p->verbose > 1)
		fprintf(stderr, "oamlua: podman: %s %s\n", method, path);
	if (oam_curl.easy_perform(c) == CURLE_OK)
		oam_curl.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	oam_curl.slist_free_all(h);
	return status;
}

void oam_podman_error_text(const struct oam_buf *resp, char *buf, size_t size)
{
	json_error_t je;
	json_t *j = resp && resp->len ? json_loadb(resp->data, resp->len, 0, &je) : NULL;
	const char *m = j ? json_string_value(json_object_get(j, "message")) : NULL;
	if (m)
		snprintf(buf, size, "%s", m);
	else if (resp && resp->len)
		snprintf(buf, size, "%.*s", (int)(resp->len < 300 ? resp->len : 300), resp->data);
	else
		snprintf(buf, size, "no answer");
	json_decref(j);
}

static int ping(struct oam_podman *p)
{
	struct oam_buf b = { 0 };
	struct stat st;
	if (stat(p->sock, &st) < 0 || !S_ISSOCK(st.st_mode))
		return 0;
	long s = oam_podman_request(p, "GET", "/_ping", NULL, NULL, 0, &b);
	int ok = s == 200 && b.len >= 2 && !memcmp(b.data, "OK", 2);
	oam_buf_release(&b);
	return ok;
}

static int try_socket(struct oam_podman *p, const char *path)
{
	if (!path || !*path)
		return 0;
	if (!strncmp(path, "unix://", 7))
		path += 7;
	snprintf(p->sock, sizeof p->sock, "%s", path);
	return ping(p);
}

static int start_service(struct oam_podman *p, struct oam_diags *d)
{
	char tmpl[] = "/tmp/oamlua-podman.XXXXXX", log[PATH_MAX + 16], arg[PATH_MAX + 16];
	if (!mkdtemp(tmpl)) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM851", NULL, 0, 0, "podman: cannot make a directory for the service: %s",
			    strerror(errno));
		return -1;
	}
	snprintf(p->dir, sizeof p->dir, "%s", tmpl);
	snprintf(p->sock, sizeof p->sock, "%s/podman.sock", p->dir);
	snprintf(log, sizeof log, "%s/service.log", p->dir);
	snprintf(arg, sizeof arg, "unix://%s", p->sock);
	pid_t pid = fork();
	if (pid < 0) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM851", NULL, 0, 0, "podman: cannot start the service: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600), null = open("/dev/null", O_RDONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (null >= 0)
			dup2(null, 0);
		setsid();   /* not killed by the terminal's ^C along with us */
		execlp("podman", "podman", "system", "service", "--time=0", arg, (char *)NULL);
		_exit(127);
	}
	p->service_pid = pid;
	for (int i = 0; i < 300; i++) {
		int st;
		if (ping(p))
			return 0;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			p->service_pid = 0;
			struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, "OAM851", NULL, 0, 0, "podman: %s",
							WIFEXITED(st) && WEXITSTATUS(st) == 127
								? "the podman command is not installed"
								: "the podman service exited at once");
			oam_diag_hint(e, WIFEXITED(st) && WEXITSTATUS(st) == 127 ? "apt-get install -y podman runc"
										  : "see 'podman system service' errors; is podman configured for this machine?");
			return -1;
		}
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
	}
	oam_diag_at(d, OAM_SEV_ERROR, "OAM851", NULL, 0, 0, "podman: the service did not answer in 15 s");
	return -1;
}

int oam_podman_connect(struct oam_podman *p, const char *sock, int no_start, struct oam_diags *d)
{
	static const char *const defaults[] = { "/run/podman/podman.sock", NULL };
	if (oam_curl_load(d) < 0)
		return -1;
	if (sock) {
		if (try_socket(p, sock))
			return 0;
		struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, "OAM851", NULL, 0, 0,
						"podman: no service answers on %s", sock);
		oam_diag_hint(e, "start one with 'podman system service --time=0 unix://%s', or leave out --podman-socket", sock);
		return -1;
	}
	if (try_socket(p, getenv("OAMLUA_PODMAN_SOCKET")) || try_socket(p, getenv("CONTAINER_HOST")))
		return 0;
	for (const char *const *s = defaults; *s; s++)
		if (try_socket(p, *s))
			return 0;
	if (no_start) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM851", NULL, 0, 0, "podman: no podman service is running");
		return -1;
	}
	if (p->verbose)
		fprintf(stderr, "oamlua: starting a private podman service\n");
	return start_service(p, d);
}

void oam_podman_close(struct oam_podman *p)
{
	if (p->curl)
		oam_curl.easy_cleanup(p->curl);
	p->curl = NULL;
	if (p->service_pid > 0) {
		kill(p->service_pid, SIGTERM);
		for (int i = 0; i < 100; i++) {
			if (waitpid(p->service_pid, NULL, WNOHANG) == p->service_pid) {
				p->service_pid = 0;
				break;
			}
			struct timespec ts = { 0, 50 * 1000000L };
			nanosleep(&ts, NULL);
		}
		if (p->service_pid > 0) {
			kill(p->service_pid, SIGKILL);
			waitpid(p->service_pid, NULL, 0);
		}
		p->service_pid = 0;
	}
	if (p->dir[0]) {
		char path[PATH_MAX + 32];
		snprintf(path, sizeof path, "%s/service.log", p->dir);
		unlink(path);
		snprintf(path, sizeof path, "%s/podman.sock", p->dir);
		unlink(path);
		rmdir(p->dir);
		p->dir[0] = '\0';
	}
}
