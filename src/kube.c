/* kube.c — the HTTP client for the Kubernetes API: libcurl multi with a pool
 * of reused handles, retries, discovery, REST mapping and Status errors. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "oamlua/curl.h"
#include "oamlua/kube.h"

enum { RQ_PENDING, RQ_ACTIVE, RQ_WAIT, RQ_DONE };

struct oam_gvcache {
	char *gv;
	int state;                      /* 1 served, 2 not served */
	json_t *list;                   /* APIResourceList */
};

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- requests ---- */

static char *vformat(const char *fmt, va_list ap)
{
	va_list aq;
	va_copy(aq, ap);
	int n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	char *p = n < 0 ? NULL : malloc((size_t)n + 1);
	if (p)
		vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

static char *format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *format(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = vformat(fmt, ap);
	va_end(ap);
	return p;
}

struct oam_kreq *oam_kreq_new(const char *method, const char *fmt, ...)
{
	struct oam_kreq *r = calloc(1, sizeof *r);
	va_list ap;
	if (!r)
		return NULL;
	oam_strlcpy(r->method, method, sizeof r->method);
	va_start(ap, fmt);
	r->path = vformat(fmt, ap);
	va_end(ap);
	if (!r->path) {
		free(r);
		return NULL;
	}
	return r;
}

int oam_kreq_body(struct oam_kreq *r, const json_t *body, const char *content_type)
{
	free(r->body);
	r->body = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!r->body)
		return -1;
	r->body_len = strlen(r->body);
	r->content_type = content_type;
	return 0;
}

static void reset_response(struct oam_kreq *r)
{
	free(r->resp);
	r->resp = NULL;
	r->resp_len = r->resp_cap = 0;
	json_decref(r->json);
	r->json = NULL;
	r->status = 0;
	r->curl_code = 0;
	r->curl_err[0] = '\0';
	r->retry_after = -1;
}

void oam_kreq_drop_response(struct oam_kreq *r)
{
	free(r->resp);
	r->resp = NULL;
	r->resp_len = r->resp_cap = 0;
	json_decref(r->json);
	r->json = NULL;
}

void oam_kreq_free(struct oam_kreq *r)
{
	if (!r)
		return;
	reset_response(r);
	/* A request never sent has no headers, and libcurl may not be loaded. */
	if (r->hdrs)
		oam_curl.slist_free_all(r->hdrs);
	free(r->path);
	free(r->body);
	free(r);
}

void oam_kreqs_free(struct oam_kreq **rs, size_t n)
{
	if (!rs)
		return;
	for (size_t i = 0; i < n; i++)
		oam_kreq_free(rs[i]);
	free(rs);
}

char *oam_kube_escape(const char *s)
{
	char *e = oam_curl.easy_escape(NULL, s, 0), *out;
	if (!e)
		return NULL;
	out = strdup(e);
	oam_curl.free(e);
	return out;
}

/* ---- client ---- */

static int kube_open(struct oam_kube *k, struct oam_kconn *conn, int concurrency, int verbose, struct oam_diags *d)
{
	memset(k, 0, sizeof *k);
	k->conn = conn;
	k->diags = d;
	k->verbose = verbose;
	k->concurrency = concurrency > 0 ? concurrency : OAM_KUBE_CONCURRENCY;
	k->timeout_ms = 60000;
	if (!strncmp(conn->server, "http://", 7) && oam_kconn_has_credentials(conn)) {
		struct oam_err *e = oam_diag_at(d, OAM_SEV_ERROR, "OAM802", NULL, 0, 0,
						"refusing to send credentials over plain http to %s", conn->server);
		oam_diag_hint(e, "use an https:// server in %s, or remove the user's credentials", conn->source);
		return -1;
	}
	if (oam_curl_load(d) < 0)
		return -1;
	/* tls-server-name: connect to the server's address, but speak TLS (SNI
	 * and certificate check) for the given name. */
	if (conn->tls_server_name && !strncmp(conn->server, "https://", 8)) {
		CURLU *u = oam_curl.url();
		char *host = NULL, *port = NULL, *url = NULL, ct[600];
		if (!u || oam_curl.url_set(u, CURLUPART_URL, conn->server, 0) ||
		    oam_curl.url_get(u, CURLUPART_HOST, &host, 0) || oam_curl.url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ||
		    oam_curl.url_set(u, CURLUPART_HOST, conn->tls_server_name, 0) || oam_curl.url_get(u, CURLUPART_URL, &url, 0)) {
			oam_diag_at(d, OAM_SEV_ERROR, "OAM801", NULL, 0, 0, "cannot use tls-server-name '%s' with server %s",
				    conn->tls_server_name, conn->server);
			oam_curl.free(host);
			oam_curl.free(port);
			oam_curl.free(url);
			oam_curl.url_cleanup(u);
			return -1;
		}
		snprintf(ct, sizeof ct, "%s:%s:%s:%s", conn->tls_server_name, port, host, port);
		k->connect_to = oam_curl.slist_append(NULL, ct);
		k->base = strdup(url);
		size_t n = strlen(k->base);
		while (n > 8 && k->base[n - 1] == '/')
			k->base[--n] = '\0';
		oam_curl.free(host);
		oam_curl.free(port);
		oam_curl.free(url);
		oam_curl.url_cleanup(u);
	} else {
		k->base = strdup(conn->server);
	}
	k->multi = oam_curl.multi_init();
	/* One TLS session cache for all handles: the connections opened when a
	 * wave starts resume the session of the first one (TLS 1.3 PSK)
	 * instead of each doing a full handshake with certificate checks. */
	k->share = oam_curl.share_init();
	if (k->share)
		oam_curl.share_setopt(k->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	k->pool = calloc((size_t)k->concurrency, sizeof *k->pool);
	k->pool_gen = calloc((size_t)k->concurrency, sizeof *k->pool_gen);
	if (!k->base || !k->multi || !k->pool || !k->pool_gen) {
		oam_diag_at(d, OAM_SEV_ERROR, "OAM900", NULL, 0, 0, "out of memory");
		return -1;
	}
	k->npool = (size_t)k->concurrency;
	oam_curl.multi_setopt(k->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)k->concurrency);
	oam_curl.multi_setopt(k->multi, CURLMOPT_MAXCONNECTS, (long)k->concurrency);
	/* Run the credential plugin now, so that a failure stops before any write. */
	if (conn->has_exec) {
		const char *tok;
		if (oam_kconn_bearer(conn, 0, &tok, d) < 0)
			return -1;
	}
	return 0;
}

int oam_kube_open(struct oam_kube *k, struct oam_kconn *conn, int concurrency, int verbose, struct oam_diags *d)
{
	if (kube_open(k, conn, concurrency, verbose, d) == 0)
		return 0;
	oam_kube_close(k);
	return -1;
}

void oam_kube_close(struct oam_kube *k)
{
	for (size_t i = 0; i < k->npool; i++)
		if (k->pool[i])
			oam_curl.easy_cleanup(k->pool[i]);
	if (k->multi)
		oam_curl.multi_cleanup(k->multi);
	if (k->share)
		oam_curl.share_cleanup(k->share);
	free(k->pool);
	free(k->pool_gen);
	free(k->base);
	/* NULL also when oam_kube_open failed before libcurl was loaded. */
	if (k->connect_to)
		oam_curl.slist_free_all(k->connect_to);
	for (size_t i = 0; i < k->ngvs; i++) {
		free(k->gvs[i].gv);
		json_decref(k->gvs[i].list);
	}
	free(k->gvs);
	json_decref(k->groups);
	memset(k, 0, sizeof *k);
}

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
	struct oam_kreq *r = ud;
	size_t n = sz * nm;
	if (r->resp_len + n + 1 > r->resp_cap) {
		size_t cap = r->resp_cap ? r->resp_cap : 4096;
		while (cap < r->resp_len + n + 1)
			cap *= 2;
		char *nb = realloc(r->resp, cap);
		if (!nb)
			return 0;
		r->resp = nb;
		r->resp_cap = cap;
	}
	memcpy(r->resp + r->resp_len, p, n);
	r->resp_len += n;
	r->resp[r->resp_len] = '\0';
	return n;
}

static void print_warning(const struct oam_kreq *r, const char *v, size_t n)
{
	/* Warning: 299 - "text" */
	const char *q = memchr(v, '"', n), *e = q ? (const char *)memchr(q + 1, '"', n - (size_t)(q + 1 - v)) : NULL;
	if (q && e)
		oam_warnf("%s%s%.*s", r->what ? r->what : "", r->what ? ": " : "", (int)(e - q - 1), q + 1);
	else
		oam_warnf("%s%s%.*s", r->what ? r->what : "", r->what ? ": " : "", (int)n, v);
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
	struct oam_kreq *r = ud;
	size_t n = sz * nm, len = n;
	while (len && (p[len - 1] == '\r' || p[len - 1] == '\n'))
		len--;
	if (len > 12 && !strncasecmp(p, "Retry-After:", 12)) {
		char buf[32];
		size_t l = len - 12 < sizeof buf - 1 ? len - 12 : sizeof buf - 1;
		memcpy(buf, p + 12, l);
		buf[l] = '\0';
		char *end;
		long v = strtol(buf, &end, 10);
		if (end != buf && v >= 0)
			r->retry_after = v;
	} else if (len > 8 && !strncasecmp(p, "Warning:", 8)) {
		size_t off = 8;
		while (off < len && p[off] == ' ')
			off++;
		print_warning(r, p + off, len - off);
	}
	return n;
}

static void *handle_new(struct oam_kube *k)
{
	CURL *h = oam_curl.easy_init();
	if (!h)
		return NULL;
	char ua[64];
	snprintf(ua, sizeof ua, "oamlua/%s (linux) curl", OAM_VERSION);
	oam_curl.easy_setopt(h, CURLOPT_USERAGENT, ua);
	oam_curl.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	oam_curl.easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	oam_curl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 15000L);
	oam_curl.easy_setopt(h, CURLOPT_TIMEOUT_MS, k->timeout_ms);
	oam_curl.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	oam_curl.easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	oam_curl.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	oam_curl.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	if (k->connect_to)
		oam_curl.easy_setopt(h, CURLOPT_CONNECT_TO, (struct curl_slist *)k->connect_to);
	if (k->share)
		oam_curl.easy_setopt(h, CURLOPT_SHARE, (CURLSH *)k->share);
	if (k->conn->proxy_url)
		oam_curl.easy_setopt(h, CURLOPT_PROXY, k->conn->proxy_url);
	return h;
}

/* TLS settings; re-applied when the exec plugin hands out a new certificate. */
static void handle_tls(struct oam_kube *k, CURL *h)
{
	struct oam_kconn *c = k->conn;
	if (c->insecure) {
		oam_curl.easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		oam_curl.easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (c->ca) {
		struct curl_blob b = { c->ca, c->ca_len, CURL_BLOB_COPY };
		oam_curl.easy_setopt(h, CURLOPT_CAINFO, NULL);
		oam_curl.easy_setopt(h, CURLOPT_CAPATH, NULL);
		oam_curl.easy_setopt(h, CURLOPT_CAINFO_BLOB, &b);
	}
	if (c->cert && c->key) {
		struct curl_blob cb = { c->cert, c->cert_len, CURL_BLOB_COPY };
		struct curl_blob kb = { c->key, c->key_len, CURL_BLOB_COPY };
		oam_curl.easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
		oam_curl.easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cb);
		oam_curl.easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
		oam_curl.easy_setopt(h, CURLOPT_SSLKEY_BLOB, &kb);
	}
	if (c->username || c->password) {
		oam_curl.easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		oam_curl.easy_setopt(h, CURLOPT_USERNAME, c->username ? c->username : "");
		oam_curl.easy_setopt(h, CURLOPT_PASSWORD, c->password ? c->password : "");
	}
}

static int start(struct oam_kube *k, size_t slot, struct oam_kreq *r, int refresh)
{
	CURL *h = k->pool[slot];
	const char *token = NULL;
	char url[8192];
	if (!h) {
		if (!(h = k->pool[slot] = handle_new(k)))
			return -1;
		k->pool_gen[slot] = -1;
	}
	if (oam_kconn_bearer(k->conn, refresh, &token, k->diags) < 0)
		return -2;
	if (refresh)
		k->tls_gen++;
	if (k->pool_gen[slot] != k->tls_gen) {
		handle_tls(k, h);
		k->pool_gen[slot] = k->tls_gen;
	}
	reset_response(r);
	oam_curl.slist_free_all(r->hdrs);
	struct curl_slist *hd = oam_curl.slist_append(NULL, "Accept: application/json");
	hd = oam_curl.slist_append(hd, "Expect:");
	if (r->content_type) {
		char ct[128];
		snprintf(ct, sizeof ct, "Content-Type: %s", r->content_type);
		hd = oam_curl.slist_append(hd, ct);
	}
	if (token && *token) {
		size_t n = strlen(token) + 32;
		char *auth = malloc(n);
		if (!auth)
			return -1;
		snprintf(auth, n, "Authorization: Bearer %s", token);
		hd = oam_curl.slist_append(hd, auth);
		explicit_bzero(auth, n);
		free(auth);
	}
	r->hdrs = hd;
	snprintf(url, sizeof url, "%s%s", k->base, r->path);
	oam_curl.easy_setopt(h, CURLOPT_URL, url);
	oam_curl.easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	oam_curl.easy_setopt(h, CURLOPT_WRITEDATA, r);
	oam_curl.easy_setopt(h, CURLOPT_HEADERDATA, r);
	oam_curl.easy_setopt(h, CURLOPT_PRIVATE, r);
	oam_curl.easy_setopt(h, CURLOPT_ERRORBUFFER, r->curl_err);
	if (!strcmp(r->method, "GET")) {
		oam_curl.easy_setopt(h, CURLOPT_HTTPGET, 1L);
		oam_curl.easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
	} else if (r->body) {
		oam_curl.easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
		oam_curl.easy_setopt(h, CURLOPT_POSTFIELDS, r->body);
		oam_curl.easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
	} else {
		oam_curl.easy_setopt(h, CURLOPT_HTTPGET, 1L);
		oam_curl.easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
	}
	r->tries++;
	r->state = RQ_ACTIVE;
	k->requests++;
	oam_curl.multi_add_handle(k->multi, h);
	return 0;
}

static int retryable_transport(int code)
{
	switch (code) {
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	}
	return 0;
}

const char *oam_kube_reason(const struct oam_kreq *r)
{
	const char *s = json_string_value(json_object_get(r->json, "reason"));
	return s ? s : "";
}

const char *oam_kube_message(const struct oam_kreq *r)
{
	const char *s = json_string_value(json_object_get(r->json, "message"));
	return s ? s : "";
}

static int retryable_status(const struct oam_kreq *r)
{
	if (r->status == 429 || r->status == 502 || r->status == 503 || r->status == 504)
		return 1;
	/* A 500 with an empty reason is a definite failure (e.g. the SSA schema
	 * error); other 500s and any 5xx with Retry-After may pass on a retry. */
	if (r->status >= 500 && r->status <= 599)
		return r->retry_after >= 0 || *oam_kube_reason(r);
	return 0;
}

/* Decides what happens to a finished request: 1 = done, 0 = retry scheduled. */
static int finish(struct oam_kube *k, struct oam_kreq *r, CURL *h, int code, double t0)
{
	long st = 0;
	oam_curl.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
	r->curl_code = code;
	r->status = code == CURLE_OK ? st : 0;
	/* curl's own text for a refused connection carries timings: keep the stable one. */
	if (code != CURLE_OK && (!r->curl_err[0] || code == CURLE_COULDNT_CONNECT))
		oam_strlcpy(r->curl_err, oam_curl.easy_strerror(code), sizeof r->curl_err);
	if (r->resp && r->resp_len) {
		char *ct = NULL;
		oam_curl.easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
		if (ct && strstr(ct, "json"))
			r->json = json_loadb(r->resp, r->resp_len, 0, NULL);
	}
	if (k->verbose)
		fprintf(stderr, "oamlua: %s %s -> %ld%s%s (%.0f ms)\n", r->method, r->path, r->status,
			code ? " " : "", code ? r->curl_err : "", (mono() - t0) * 1000);
	int retry = 0;
	double delay = 0;
	if (r->status == 401 && k->conn->has_exec && !r->refreshed) {
		r->refreshed = 1;
		retry = 2;      /* immediately, with fresh credentials */
	} else if (r->tries < OAM_KUBE_TRIES && ((code != CURLE_OK && retryable_transport(code)) ||
						 (code == CURLE_OK && retryable_status(r)))) {
		retry = 1;
		delay = 0.2 * (double)(1 << (r->tries - 1));
		delay *= 0.8 + 0.4 * ((double)rand() / RAND_MAX);
		if (delay > 10)
			delay = 10;
		if (r->retry_after >= 0) {
			double ra = r->retry_after > 30 ? 30 : (double)r->retry_after;
			if (ra > delay)
				delay = ra;
		}
	}
	if (!retry) {
		r->state = RQ_DONE;
		return 1;
	}
	if (k->verbose)
		fprintf(stderr, "oamlua: retrying %s %s in %.1fs (try %d of %d)\n", r->method, r->path, delay,
			r->tries + 1, OAM_KUBE_TRIES);
	r->state = RQ_WAIT;
	r->not_before = mono() + delay;
	if (retry == 2)
		r->not_before = 0;
	return 0;
}

int oam_kube_run_each(struct oam_kube *k, struct oam_kreq **rs, size_t n,
		      void (*each)(struct oam_kreq *r, size_t i, void *ctx), void *ctx)
{
	size_t done = 0, next = 0, nslots = k->npool;
	struct oam_kreq **slot_req = calloc(nslots, sizeof *slot_req);
	size_t *slot_i = calloc(nslots, sizeof *slot_i);
	double *slot_t0 = calloc(nslots, sizeof *slot_t0);
	int rc = 0;
	if (!slot_req || !slot_i || !slot_t0) {
		free(slot_req);
		free(slot_i);
		free(slot_t0);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		rs[i]->state = RQ_PENDING;
		rs[i]->tries = 0;
		rs[i]->refreshed = 0;
	}
	while (done < n) {
		double now = mono(), wake = now + 1.0;
		/* Fill free slots: due retries first, then new requests. */
		for (size_t s = 0; s < nslots; s++) {
			if (slot_req[s])
				continue;
			struct oam_kreq *pick = NULL;
			size_t pi = 0;
			for (size_t i = 0; i < next; i++)
				if (rs[i]->state == RQ_WAIT && rs[i]->not_before <= now) {
					pick = rs[pi = i];
					break;
				}
			if (!pick) {
				while (next < n && rs[next]->state != RQ_PENDING)
					next++;
				if (next < n)
					pick = rs[pi = next++];
			}
			if (!pick)
				break;
			int refresh = pick->refreshed && pick->tries == 1 && pick->status == 401;
			int sr = start(k, s, pick, refresh);
			if (sr < 0) {
				rc = -1;
				if (sr == -1)
					oam_diag_at(k->diags, OAM_SEV_ERROR, "OAM900", NULL, 0, 0, "out of memory");
				goto out;
			}
			slot_req[s] = pick;
			slot_i[s] = pi;
			slot_t0[s] = now;
		}
		for (size_t i = 0; i < next; i++)
			if (rs[i]->state == RQ_WAIT && rs[i]->not_before < wake)
				wake = rs[i]->not_before;
		int running = 0;
		oam_curl.multi_perform(k->multi, &running);
		CURLMsg *m;
		int left;
		while ((m = oam_curl.multi_info_read(k->multi, &left))) {
			if (m->msg != CURLMSG_DONE)
				continue;
			CURL *h = m->easy_handle;
			int code = m->data.result;
			size_t s;
			for (s = 0; s < nslots && k->pool[s] != h; s++)
				;
			oam_curl.multi_remove_handle(k->multi, h);
			if (s == nslots)
				continue;
			struct oam_kreq *r = slot_req[s];
			slot_req[s] = NULL;
			if (finish(k, r, h, code, slot_t0[s])) {
				done++;
				if (each)
					each(r, slot_i[s], ctx);
			}
		}
		if (done >= n)
			break;
		/* A slot is free and a request could start: go round at once. */
		int active = 0, startable = 0;
		for (size_t s = 0; s < nslots; s++)
			active += slot_req[s] != NULL;
		now = mono();
		for (size_t i = next; i < n && !startable; i++)
			startable = rs[i]->state == RQ_PENDING;
		for (size_t i = 0; i < next && !startable; i++)
			startable = rs[i]->state == RQ_WAIT && rs[i]->not_before <= now;
		if (startable && (size_t)active < nslots)
			continue;
		/* Else sleep until a transfer makes progress or a retry is due. */
		double t = wake - now;
		int ms = (int)(t * 1000);
		if (ms < 0)
			ms = 0;
		if (ms > 1000)
			ms = 1000;
		oam_curl.multi_poll(k->multi, NULL, 0, ms, NULL);
	}
out:
	for (size_t s = 0; s < nslots; s++)
		if (slot_req[s])
			oam_curl.multi_remove_handle(k->multi, k->pool[s]);
	free(slot_req);
	free(slot_i);
	free(slot_t0);
	return rc;
}

int oam_kube_run(struct oam_kube *k, struct oam_kreq **rs, size_t n)
{
	return oam_kube_run_each(k, rs, n, NULL, NULL);
}

int oam_kube_run1(struct oam_kube *k, struct oam_kreq *r)
{
	return oam_kube_run(k, &r, 1);
}

/* ---- errors ---- */

/* The message of a response: the Status message, else the first line of the body. */
static void body_message(const struct oam_kreq *r, char *buf, size_t size)
{
	const char *m = oam_kube_message(r);
	if (*m) {
		oam_strlcpy(buf, m, size);
		return;
	}
	if (r->resp && r->resp_len) {
		size_t n = strcspn(r->resp, "\r\n");
		if (n > 200)
			n = 200;
		snprintf(buf, size, "%.*s", (int)n, r->resp);
		return;
	}
	snprintf(buf, size, "HTTP %ld", r->status);
}

static const char *status_text(long st)
{
	switch (st) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 413: return "Request Entity Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	}
	return "";
}

static void report_conflict(const struct oam_kreq *r, const char *what, struct oam_diags *d)
{
	json_t *causes = json_object_get(json_object_get(r->json, "details"), "causes");
	char buf[700];
	size_t n = 0, i;
	json_t *c;
	const char *last = NULL;
	buf[0] = '\0';
	json_array_foreach(causes, i, c) {
		const char *reason = json_string_value(json_object_get(c, "reason"));
		const char *msg = json_string_value(json_object_get(c, "message"));
		const char *field = json_string_value(json_object_get(c, "field"));
		if (!reason || strcmp(reason, "FieldManagerConflict") || !msg || !field || n >= sizeof buf - 1)
			continue;
		if (!last || strcmp(last, msg))
			n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s: %s", last ? "; " : "", msg, field);
		else
			n += (size_t)snprintf(buf + n, sizeof buf - n, ", %s", field);
		last = msg;
	}
	struct oam_err *e;
	if (last) {
		e = oam_diag_at(d, OAM_SEV_ERROR, "OAM809", NULL, 0, 0, "%s: %s", what, buf);
		oam_diag_hint(e, "another field manager owns these fields with different values; rerun with "
			      "--force-conflicts to take them over, or stop setting them in the application");
	} else {
		char m[600];
		body_message(r, m, sizeof m);
		e = oam_diag_at(d, OAM_SEV_ERROR, "OAM809", NULL, 0, 0, "%s: %s", what, m);
		oam_diag_hint(e, "the object changed while oamlua worked on it; run the command again");
	}
}

static void report_invalid(const struct oam_kreq *r, const char *what, struct oam_diags *d)
{
	json_t *causes = json_object_get(json_object_get(r->json, "details"), "causes");
	size_t i, n = 0;
	json_t *c;
	json_array_foreach(causes, i, c) {
		const char *msg = json_string_value(json_object_get(c, "message"));
		const char *field = json_string_value(json_object_get(c, "field"));
		if (!msg)
			continue;
		oam_diag_at(d, OAM_SEV_ERROR, "OAM810", NULL, 0, 0, "%s is invalid: %s%s%s", what,
			    field && *field ? field : "", field && *field ? ": " : "", msg);
		n++;
	}
	if (!n) {
		char m[600];
		body_message(r, m, sizeof m);
		oam_diag_at(d, OAM_SEV_ERROR, "OAM810", NULL, 0, 0, "%s is invalid: %s", what, m);
	}
}

void oam_kube_report(const struct oam_kube *k, const struct oam_kreq *r, const char *what, struct oam_diags *d)
{
	const struct oam_kconn *c = k->conn;
	char m[600];
	struct oam_err *e;
	if (!what)
		what = r->what ? r->what : r->path;
	if (r->status == 0) {
		const char *tries = r->tries > 1 ? " (after retries)" : "";
		e = oam_diag_at(d, OAM_SEV_ERROR, "OAM804", NULL, 0, 0, "%s: cannot reach the API server at %s: %s%s", what,
				c->server, r->curl_err, tries);
		if (r->curl_code == CURLE_PEER_FAILED_VERIFICATION || r->curl_code == CURLE_SSL_CACERT_BADFILE)
			oam_diag_hint(e, "the server's certificate was not accepted: check certificate-authority(-data) and "
				      "tls-server-name of cluster '%s' (%s)", c->cluster, c->source);
		else if (r->curl_code == CURLE_SSL_CERTPROBLEM)
			oam_diag_hint(e, "the client certificate or key of user '%s' cannot be used", c->user);
		else if (r->curl_code == CURLE_COULDNT_CONNECT || r->curl_code == CURLE_COULDNT_RESOLVE_HOST)
			oam_diag_hint(e, "is the cluster running? the server comes from %s", c->source);
		else if (retryable_transport(r->curl_code))
			oam_diag_hint(e, "the connection failed %d times; run the command again once the server is healthy",
				      r->tries);
		return;
	}
	body_message(r, m, sizeof m);
	switch (r->status) {
	case 401:
		e = oam_diag_at(d, OAM_SEV_ERROR, "OAM805", NULL, 0, 0,
				"%s: the API server rejected the credentials (401 Unauthorized)", what);
		if (oam_kconn_has_credentials(c))
			oam_diag_hint(e, "check the token, token file, client certificate or credential plugin of user '%s' (%s)",
				      c->user, c->source);
		else
			oam_diag_hint(e, "user '%s' of %s has no credentials", c->user, c->source);
		return;
	case 403:
		e = oam_diag_at(d, OAM_SEV_ERROR, "OAM806", NULL, 0, 0, "%s: forbidden: %s", what, m);
		oam_diag_hint(e, "ask the cluster administrator for the permission (RBAC) named above");
		return;
	case 404: {
		json_t *det = json_object_get(r->json, "details");
		const char *dk = json_string_value(json_object_get(det, "kind"));
		const char *dn = json_string_value(json_object_get(det, "name"));
		if (dk && dn && !strcmp(dk, "namespaces")) {
			e = oam_diag_at(d, OAM_SEV_ERROR, "OAM808", NULL, 0, 0, "%s: namespace '%s' does not exist", what, dn);
			oam_diag_hint(e, "create it first, add a Namespace object to the application, or choose another "
				      "namespace with -n");
		} else {
			oam_diag_at(d, OAM_SEV_ERROR, "OAM808", NULL, 0, 0, "%s: not found: %s", what, m);
		}
		return;
	}
	case 409:
		report_conflict(r, what, d);
		return;
	case 422:
		report_invalid(r, what, d);
		return;
	}
	if (r->status == 429 || r->status >= 500) {
		e = oam_diag_at(d, OAM_SEV_ERROR, "OAM811", NULL, 0, 0, "%s: the API server failed (%ld %s)%s: %s", what,
				r->status, status_text(r->status), r->tries > 1 ? " on every try" : "", m);
		if (r->tries > 1)
			oam_diag_hint(e, "tried %d times; run the command again later (it converges)", r->tries);
		return;
	}
	oam_diag_at(d, OAM_SEV_ERROR, "OAM812", NULL, 0, 0, "%s: the API server refused the request (%ld %s): %s", what,
		    r->status, status_text(r->status), m);
}

/* ---- discovery ---- */

static struct oam_gvcache *gv_find(struct oam_kube *k, const char *gv)
{
	for (size_t i = 0; i < k->ngvs; i++)
		if (!strcmp(k->gvs[i].gv, gv))
			return &k->gvs[i];
	return NULL;
}

static struct oam_gvcache *gv_add(struct oam_kube *k, const char *gv)
{
	if (k->ngvs == k->capgvs) {
		size_t cap = k->capgvs ? k->capgvs * 2 : 16;
		struct oam_gvcache *v = realloc(k->gvs, cap * sizeof *v);
		if (!v)
			return NULL;
		k->gvs = v;
		k->capgvs = cap;
	}
	struct oam_gvcache *g = &k->gvs[k->ngvs];
	memset(g, 0, sizeof *g);
	if (!(g->gv = strdup(gv)))
		return NULL;
	k->ngvs++;
	return g;
}

int oam_kube_discover(struct oam_kube *k, const char *const *gvs, size_t n, struct oam_diags *d)
{
	struct oam_kreq **rs = calloc(n ? n : 1, sizeof *rs);
	const char **names = calloc(n ? n : 1, sizeof *names);
	size_t m = 0;
	int rc = 0;
	if (!rs || !names) {
		free(rs);
		free(names);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct oam_gvcache *g = gv_find(k, gvs[i]);
		int dup = 0;
		if (g && g->state)
			continue;
		for (size_t j = 0; j < m; j++)
			if (!strcmp(names[j], gvs[i]))
				dup = 1;
		if (dup)
			continue;
		rs[m] = strchr(gvs[i], '/') ? oam_kreq_new("GET", "/apis/%s", gvs[i]) : oam_kreq_new("GET", "/api/%s", gvs[i]);
		if (!rs[m]) {
			rc = -1;
			goto out;
		}
		rs[m]->what = "discovery";
		names[m++] = gvs[i];
	}
	if (!m)
		goto out;
	if (oam_kube_run(k, rs, m) < 0) {
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < m; i++) {
		struct oam_kreq *r = rs[i];
		struct oam_gvcache *g = gv_find(k, names[i]);
		if (!g && !(g = gv_add(k, names[i]))) {
			rc = -1;
			continue;
		}
		if (r->status == 200 && json_is_array(json_object_get(r->json, "resources"))) {
			g->state = 1;
			json_decref(g->list);
			g->list = json_incref(r->json);
		} else if (r->status == 404) {
			g->state = 2;
		} else {
			char what[200];
			snprintf(what, sizeof what, "discovery of %s", names[i]);
			oam_kube_report(k, r, what, d);
			rc = -1;
		}
	}
out:
	oam_kreqs_free(rs, m);
	free(names);
	return rc;
}

void oam_kube_forget(struct oam_kube *k)
{
	for (size_t i = 0; i < k->ngvs; i++) {
		free(k->gvs[i].gv);
		json_decref(k->gvs[i].list);
	}
	k->ngvs = 0;
	json_decref(k->groups);
	k->groups = NULL;
}

int oam_kube_map(struct oam_kube *k, const char *api_version, const char *kind, struct oam_kres *out,
		 struct oam_diags *d)
{
	struct oam_gvcache *g = gv_find(k, api_version);
	json_t *res, *best = NULL;
	size_t i;
	if (!g || !g->state) {
		if (oam_kube_discover(k, &api_version, 1, d) < 0)
			return -1;
		g = gv_find(k, api_version);
	}
	if (!g || g->state != 1)
		return 1;
	json_array_foreach(json_object_get(g->list, "resources"), i, res) {
		const char *name = json_string_value(json_object_get(res, "name"));
		const char *rk = json_string_value(json_object_get(res, "kind"));
		if (!name || !rk || strchr(name, '/'))
			continue;
		if (!strcmp(rk, kind)) {
			best = res;
			break;
		}
		if (!best && !strcasecmp(rk, kind))
			best = res;
	}
	if (!best)
		return 1;
	memset(out, 0, sizeof *out);
	const char *slash = strchr(api_version, '/');
	if (slash) {
		snprintf(out->group, sizeof out->group, "%.*s", (int)(slash - api_version), api_version);
		oam_strlcpy(out->version, slash + 1, sizeof out->version);
	} else {
		oam_strlcpy(out->version, api_version, sizeof out->version);
	}
	oam_strlcpy(out->resource, json_string_value(json_object_get(best, "name")), sizeof out->resource);
	oam_strlcpy(out->kind, json_string_value(json_object_get(best, "kind")), sizeof out->kind);
	out->namespaced = json_is_true(json_object_get(best, "namespaced"));
	return 0;
}

int oam_kube_map_gk(struct oam_kube *k, const char *group, const char *kind, struct oam_kres *out,
		    struct oam_diags *d)
{
	if (!*group)
		return oam_kube_map(k, "v1", kind, out, d);
	if (!k->groups) {
		struct oam_kreq *r = oam_kreq_new("GET", "/apis");
		if (!r)
			return -1;
		r->what = "discovery";
		if (oam_kube_run1(k, r) < 0 || r->status != 200 || !r->json) {
			if (r->status != 200)
				oam_kube_report(k, r, "discovery (/apis)", d);
			oam_kreq_free(r);
			return -1;
		}
		k->groups = json_incref(r->json);
		oam_kreq_free(r);
	}
	size_t i;
	json_t *g;
	json_array_foreach(json_object_get(k->groups, "groups"), i, g) {
		const char *name = json_string_value(json_object_get(g, "name"));
		if (!name || strcmp(name, group))
			continue;
		const char *pv = json_string_value(json_object_get(json_object_get(g, "preferredVersion"), "groupVersion"));
		if (!pv) {
			json_t *v0 = json_array_get(json_object_get(g, "versions"), 0);
			pv = json_string_value(json_object_get(v0, "groupVersion"));
		}
		if (!pv)
			return 1;
		int rc = oam_kube_map(k, pv, kind, out, d);
		if (rc != 1)
			return rc;
		/* Not in the preferred version: try the others. */
		size_t j;
		json_t *v;
		json_array_foreach(json_object_get(g, "versions"), j, v) {
			const char *gvs = json_string_value(json_object_get(v, "groupVersion"));
			if (gvs && strcmp(gvs, pv) && (rc = oam_kube_map(k, gvs, kind, out, d)) != 1)
				return rc;
		}
		return 1;
	}
	return 1;
}

char *oam_kres_path(const struct oam_kres *res, const char *ns, const char *name)
{
	char prefix[300], nsseg[400] = "", namesg[400] = "";
	if (res->group[0])
		snprintf(prefix, sizeof prefix, "/apis/%s/%s", res->group, res->version);
	else
		snprintf(prefix, sizeof prefix, "/api/%s", res->version);
	if (res->namespaced && ns && *ns)
		snprintf(nsseg, sizeof nsseg, "/namespaces/%s", ns);
	if (name)
		snprintf(namesg, sizeof namesg, "/%s", name);
	return format("%s%s/%s%s", prefix, nsseg, res->resource, namesg);
}

void oam_kres_display(const struct oam_kres *res, const char *name, char *buf, size_t size)
{
	char kind[128];
	size_t i;
	for (i = 0; res->kind[i] && i < sizeof kind - 1; i++)
		kind[i] = (char)tolower((unsigned char)res->kind[i]);
	kind[i] = '\0';
	if (res->group[0])
		snprintf(buf, size, "%s.%s/%s", kind, res->group, name);
	else
		snprintf(buf, size, "%s/%s", kind, name);
}

void oam_kres_gk(const struct oam_kres *res, char *buf, size_t size)
{
	if (res->group[0])
		snprintf(buf, size, "%s.%s", res->kind, res->group);
	else
		snprintf(buf, size, "%s", res->kind);
}

/* ---- lists ---- */

int oam_kube_list(struct oam_kube *k, struct oam_klist *ls, size_t n, struct oam_diags *d)
{
	char **cont = calloc(n ? n : 1, sizeof *cont);
	int *active = calloc(n ? n : 1, sizeof *active);
	struct oam_kreq **rs = calloc(n ? n : 1, sizeof *rs);
	size_t *idx = calloc(n ? n : 1, sizeof *idx);
	int rc = 0;
	if (!cont || !active || !rs || !idx) {
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		ls[i].items = json_array();
		ls[i].not_found = 0;
		active[i] = 1;
	}
	for (;;) {
		size_t m = 0;
		for (size_t i = 0; i < n; i++) {
			if (!active[i])
				continue;
			char *base = oam_kres_path(ls[i].res, ls[i].ns, NULL), *sel = NULL;
			if (!base) {
				rc = -1;
				goto out;
			}
			if (ls[i].selector)
				sel = oam_kube_escape(ls[i].selector);
			rs[m] = oam_kreq_new("GET", "%s?limit=500%s%s%s%s", base, sel ? "&labelSelector=" : "", sel ? sel : "",
					     cont[i] ? "&continue=" : "", cont[i] ? cont[i] : "");
			free(base);
			free(sel);
			if (!rs[m]) {
				rc = -1;
				goto out;
			}
			rs[m]->what = "list";
			idx[m++] = i;
		}
		if (!m)
			break;
		if (oam_kube_run(k, rs, m) < 0) {
			for (size_t j = 0; j < m; j++)
				oam_kreq_free(rs[j]);
			rc = -1;
			goto out;
		}
		for (size_t j = 0; j < m; j++) {
			size_t i = idx[j];
			struct oam_kreq *r = rs[j];
			free(cont[i]);
			cont[i] = NULL;
			active[i] = 0;
			if (r->status == 404) {
				ls[i].not_found = 1;
			} else if (r->status != 200 || !json_is_object(r->json)) {
				char what[300];
				char disp[260];
				oam_kres_gk(ls[i].res, disp, sizeof disp);
				snprintf(what, sizeof what, "list %s%s%s", disp, ls[i].ns ? " in namespace " : "",
					 ls[i].ns ? ls[i].ns : "");
				oam_kube_report(k, r, what, d);
				rc = -1;
			} else {
				size_t x;
				json_t *it;
				char av[256];
				if (ls[i].res->group[0])
					snprintf(av, sizeof av, "%s/%s", ls[i].res->group, ls[i].res->version);
				else
					snprintf(av, sizeof av, "%s", ls[i].res->version);
				json_array_foreach(json_object_get(r->json, "items"), x, it) {
					if (!json_object_get(it, "apiVersion"))
						json_object_set_new(it, "apiVersion", json_string(av));
					if (!json_object_get(it, "kind"))
						json_object_set_new(it, "kind", json_string(ls[i].res->kind));
					json_array_append(ls[i].items, it);
				}
				const char *c = json_string_value(json_object_get(json_object_get(r->json, "metadata"), "continue"));
				if (c && *c) {
					cont[i] = oam_kube_escape(c);
					active[i] = 1;
				}
			}
			oam_kreq_free(r);
			rs[j] = NULL;
		}
	}
out:
	if (cont)
		for (size_t i = 0; i < n; i++)
			free(cont[i]);
	free(cont);
	free(active);
	free(rs);
	free(idx);
	return rc;
}
