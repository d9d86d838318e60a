/* cmd_podman.c — `apply`, `delete` and `status` for the podman target.
 *
 * Each component instance is played as one unit (its workload and its
 * ConfigMaps/claims). Its pods carry a hash of what was rendered, so an
 * unchanged instance is left alone and a changed one is replaced; --prune
 * removes this application's pods whose instance is no longer rendered.
 * Nothing without this application's label is ever touched. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <lauxlib.h>

#include "oamlua/cli.h"
#include "oamlua/curl.h"
#include "oamlua/podman.h"

#define HASH_LABEL "oamlua.dev/hash"
#define VOLUMES_LABEL "oamlua.dev/volumes"

enum { OPT_PRUNE = 2000, OPT_WAIT, OPT_TIMEOUT, OPT_DRY_RUN, OPT_SOCKET, OPT_TARGET_P };

struct pflags {
	int prune, wait, dry_run;
	double timeout;
	const char *socket;
};

static const struct option opts[] = {
	{ "filename", required_argument, NULL, 'f' },
	{ "recursive", no_argument, NULL, 'R' },
	{ "output", required_argument, NULL, 'o' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "module-path", required_argument, NULL, OPT_MODULE_PATH },
	{ "allow-undeclared-params", no_argument, NULL, OPT_ALLOW_UNDECLARED },
	{ "lua-budget", required_argument, NULL, OPT_LUA_BUDGET },
	{ "lua-mem", required_argument, NULL, OPT_LUA_MEM },
	{ "target", required_argument, NULL, OPT_TARGET_P },
	{ "skip-unsupported-traits", no_argument, NULL, OPT_SKIP_UNSUPPORTED },
	{ "publish-address", required_argument, NULL, OPT_PUBLISH_ADDRESS },
	{ "prune", no_argument, NULL, OPT_PRUNE },
	{ "wait", no_argument, NULL, OPT_WAIT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "dry-run", required_argument, NULL, OPT_DRY_RUN },
	{ "podman-socket", required_argument, NULL, OPT_SOCKET },
	{ NULL, 0, NULL, 0 }
};

static const char apply_usage[] =
	"usage: oamlua apply --target podman -f FILE... [--prune] [--wait [--timeout 2m]] [flags]\n"
	"\n"
	"Runs the application on this machine with podman: each component instance\n"
	"becomes pods (play kube), with its config files, env, args, probes and\n"
	"volumes; the ports a Service or an ingress would expose are published on the\n"
	"host. Re-applying an unchanged instance changes nothing; a changed one is\n"
	"replaced. A podman service is used if one runs, else started for the run.\n"
	"\n"
	"  -f, --filename FILE       input (repeatable; - for stdin); -R recurses\n"
	"      --prune               remove this application's pods that are no longer\n"
	"                            rendered (only after every instance applied)\n"
	"      --wait                wait until the pods run and published ports answer\n"
	"      --timeout DURATION    for --wait: 90s, 5m, 1h (default 2m)\n"
	"      --dry-run=client      print what would be played; change nothing\n"
	"      --publish-address IP  host address to publish ports on (default 127.0.0.1)\n"
	"      --skip-unsupported-traits\n"
	"                            leave out traits with no meaning on podman\n"
	"      --podman-socket PATH  use this libpod socket (never start a service)\n"
	"      --module-path DIR, --allow-undeclared-params, --lua-budget, --lua-mem\n"
	"                            as for 'oamlua render'\n"
	"  -v, --verbose             more detail on stderr\n"
	"\n"
	"Exit status: 0 ok, 1 invalid input, 2 usage, 3 module error, 4 podman error.\n";

static const char delete_usage[] =
	"usage: oamlua delete --target podman (APP... | -f FILE...) [--podman-socket PATH]\n"
	"\n"
	"Removes the pods of the named applications (or of the ApplicationConfigurations\n"
	"in the files), and the ConfigMap volumes oamlua made for them. Only pods with\n"
	"the application's app.oam.dev/name label are touched.\n";

static const char status_usage[] =
	"usage: oamlua status --target podman APP... [--podman-socket PATH]\n"
	"\n"
	"Shows the pods of each application: component, state, and the host addresses\n"
	"that serve it. Exit 0 when every pod runs (or a task finished), 1 otherwise.\n";

static double parse_duration(const char *cmd, const char *s)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || v < 0)
		oam_die_usage(cmd, "invalid duration '%s' (e.g. 90s, 5m, 1h)", s);
	if (!*end || !strcmp(end, "s"))
		return v;
	if (!strcmp(end, "m"))
		return v * 60;
	if (!strcmp(end, "h"))
		return v * 3600;
	oam_die_usage(cmd, "invalid duration '%s' (e.g. 90s, 5m, 1h)", s);
}

static int parse(const char *cmd, const char *usage, int argc, char **argv, struct oam_opts *o, struct pflags *pf)
{
	int c;
	optind = 1;
	opterr = 0;
	pf->timeout = 120;
	while ((c = getopt_long(argc, argv, ":f:Ro:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage, stdout);
			exit(oam_finish_stdout());
		case '?':
			oam_die_usage(cmd, "unknown option '%s'", argv[optind - 1]);
		case ':':
			oam_die_usage(cmd, "option '%s' needs a value", argv[optind - 1]);
		case OPT_PRUNE: pf->prune = 1; break;
		case OPT_WAIT: pf->wait = 1; break;
		case OPT_TIMEOUT: pf->timeout = parse_duration(cmd, optarg); break;
		case OPT_SOCKET: pf->socket = optarg; break;
		case OPT_TARGET_P:
			if (strcmp(optarg, "podman"))
				oam_die_usage(cmd, "this is the podman target; --target %s is handled elsewhere", optarg);
			break;
		case OPT_DRY_RUN:
			if (strcmp(optarg, "client"))
				oam_die_usage(cmd, "--dry-run=%s: the podman target has only --dry-run=client", optarg);
			pf->dry_run = 1;
			break;
		default:
			if (!oam_cli_common_opt(cmd, c, optarg, o))
				oam_die_usage(cmd, "unknown option '%s'", argv[optind - 1]);
		}
	}
	o->target = "podman";
	return optind;
}

/* ---- reading rendered objects ---- */

/* Pushes t[k1][k2]...; nil when a step is missing. */
static int getpath(lua_State *L, int idx, const char *const *keys)
{
	lua_pushvalue(L, idx);
	for (; *keys; keys++) {
		if (lua_type(L, -1) != LUA_TTABLE) {
			lua_pop(L, 1);
			lua_pushnil(L);
			return LUA_TNIL;
		}
		lua_getfield(L, -1, *keys);
		lua_remove(L, -2);
	}
	return lua_type(L, -1);
}

static const char *component_of(lua_State *L, int obj, char *buf, size_t size)
{
	static const char *const k[] = { "metadata", "labels", "app.oam.dev/component", NULL };
	getpath(L, obj, k);
	const char *s = lua_tostring(L, -1);
	snprintf(buf, size, "%s", s ? s : "");
	lua_pop(L, 1);
	return buf;
}

static const char *str_at(lua_State *L, int obj, const char *const *keys, char *buf, size_t size)
{
	getpath(L, obj, keys);
	const char *s = lua_tostring(L, -1);
	snprintf(buf, size, "%s", s ? s : "");
	lua_pop(L, 1);
	return buf;
}

struct group {
	char component[256];
	char app[256];
	int list_ref;           /* Lua list of its objects */
	int workload_ref;       /* the Deployment or Pod */
	char kind[32];
	char name[256];
	char hash[32];
	char volumes[1024];     /* ConfigMap and claim names, '.'-separated */
	char *body;             /* the YAML played */
	size_t len;
	char urls[1024];        /* "http://127.0.0.1:8080 (web:http)" ... */
	int replicas;
};

static unsigned long long fnv64(const char *s, size_t n)
{
	unsigned long long h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

/* Pushes the labels table of the pod template of the workload at idx
 * (Deployment: spec.template.metadata.labels; Pod: metadata.labels). */
static void push_pod_labels(lua_State *L, int obj, const char *kind)
{
	static const char *const dk[] = { "spec", "template", "metadata", "labels", NULL };
	static const char *const pk[] = { "metadata", "labels", NULL };
	getpath(L, obj, strcmp(kind, "Pod") ? dk : pk);
}

static int emit_list(lua_State *L, int list, struct oam_buf *out, char *err, size_t errsize)
{
	return oam_emit(L, list, OAM_FMT_YAML, out, err, errsize);
}

/* Groups the rendered list (at the top) per instance and prepares each
 * group's body. Returns the number of groups, -1 on error. */
static int make_groups(lua_State *L, struct group **out, struct oam_diags *d)
{
	int list = lua_gettop(L), ng = 0, cap = 0;
	struct group *g = NULL;
	char comp[256], err[600];
	for (lua_Integer i = 1, n = (lua_Integer)lua_rawlen(L, list); i <= n; i++) {
		lua_rawgeti(L, list, i);
		int obj = lua_gettop(L);
		component_of(L, obj, comp, sizeof comp);
		int k;
		for (k = 0; k < ng; k++)
			if (!strcmp(g[k].component, comp))
				break;
		if (k == ng) {
			if (ng == cap) {
				cap = cap ? cap * 2 : 8;
				struct group *ng2 = realloc(g, (size_t)cap * sizeof *g);
				if (!ng2) {
					free(g);
					return -1;
				}
				g = ng2;
			}
			memset(&g[ng], 0, sizeof *g);
			snprintf(g[ng].component, sizeof g[ng].component, "%s", comp);
			static const char *const ak[] = { "metadata", "labels", "app.oam.dev/name", NULL };
			str_at(L, obj, ak, g[ng].app, sizeof g[ng].app);
			lua_newtable(L);
			g[ng].list_ref = luaL_ref(L, LUA_REGISTRYINDEX);
			g[ng].workload_ref = LUA_NOREF;
			ng++;
		}
		static const char *const kk[] = { "kind", NULL }, *const nk[] = { "metadata", "name", NULL };
		char kind[64], name[256];
		str_at(L, obj, kk, kind, sizeof kind);
		str_at(L, obj, nk, name, sizeof name);
		if ((!strcmp(kind, "Deployment") || !strcmp(kind, "Pod")) && g[k].workload_ref == LUA_NOREF) {
			lua_pushvalue(L, obj);
			g[k].workload_ref = luaL_ref(L, LUA_REGISTRYINDEX);
			snprintf(g[k].kind, sizeof g[k].kind, "%s", kind);
			snprintf(g[k].name, sizeof g[k].name, "%s", name);
		} else if (!strcmp(kind, "ConfigMap") || !strcmp(kind, "PersistentVolumeClaim")) {
			size_t l = strlen(g[k].volumes);
			snprintf(g[k].volumes + l, sizeof g[k].volumes - l, "%s%s", l ? "." : "", name);
		}
		lua_rawgeti(L, LUA_REGISTRYINDEX, g[k].list_ref);
		lua_pushvalue(L, obj);
		lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
		lua_pop(L, 2);
	}
	for (int k = 0; k < ng; k++) {
		struct oam_buf b = { 0 };
		if (g[k].workload_ref == LUA_NOREF) {
			oam_diag_at(d, OAM_SEV_ERROR, "OAM852", NULL, 0, 0,
				    "podman: instance '%s' rendered no Deployment or Pod, which is all podman can run",
				    g[k].component);
			continue;
		}
		lua_rawgeti(L, LUA_REGISTRYINDEX, g[k].list_ref);
		if (emit_list(L, lua_gettop(L), &b, err, sizeof err) < 0) {
			oam_diag_at(d, OAM_SEV_ERROR, "OAM604", NULL, 0, 0, "cannot write instance '%s': %s", g[k].component, err);
			lua_pop(L, 1);
			continue;
		}
		snprintf(g[k].hash, sizeof g[k].hash, "%016llx", fnv64(b.data, b.len));
		oam_buf_release(&b);
		/* The pods carry the hash and the volumes to clean up with them. */
		lua_rawgeti(L, LUA_REGISTRYINDEX, g[k].workload_ref);
		push_pod_labels(L, lua_gettop(L), g[k].kind);
		if (lua_type(L, -1) == LUA_TTABLE) {
			lua_pushstring(L, g[k].hash);
			lua_setfield(L, -2, HASH_LABEL);
			if (g[k].volumes[0]) {
				lua_pushstring(L, g[k].volumes);
				lua_setfield(L, -2, VOLUMES_LABEL);
			}
		}
		lua_pop(L, 1);
		/* Published ports, for the report. */
		static const char *const ck[] = { "spec", "template", "spec", "containers", NULL };
		static const char *const pck[] = { "spec", "containers", NULL };
		getpath(L, lua_gettop(L), strcmp(g[k].kind, "Pod") ? ck : pck);
		for (lua_Integer c = 1, nc = lua_type(L, -1) == LUA_TTABLE ? (lua_Integer)lua_rawlen(L, -1) : 0; c <= nc; c++) {
			lua_rawgeti(L, -1, c);
			lua_getfield(L, -1, "ports");
			for (lua_Integer p = 1, np = lua_type(L, -1) == LUA_TTABLE ? (lua_Integer)lua_rawlen(L, -1) : 0; p <= np; p++) {
				lua_rawgeti(L, -1, p);
				lua_getfield(L, -1, "hostPort");
				lua_getfield(L, -2, "hostIP");
				lua_getfield(L, -3, "name");
				if (lua_isinteger(L, -3)) {
					size_t l = strlen(g[k].urls);
					snprintf(g[k].urls + l, sizeof g[k].urls - l, "%shttp://%s:%lld (%s)", l ? ", " : "",
						 lua_tostring(L, -2) ? lua_tostring(L, -2) : "0.0.0.0",
						 (long long)lua_tointeger(L, -3), lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
				}
				lua_pop(L, 4);
			}
			lua_pop(L, 2);
		}
		lua_pop(L, 1);
		static const char *const rk[] = { "spec", "replicas", NULL };
		getpath(L, lua_gettop(L), rk);
		g[k].replicas = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : 1;
		lua_pop(L, 2);
		lua_rawgeti(L, LUA_REGISTRYINDEX, g[k].list_ref);
		if (emit_list(L, lua_gettop(L), &b, err, sizeof err) == 0) {
			g[k].body = b.data;
			g[k].len = b.len;
		} else {
			oam_buf_release(&b);
		}
		lua_pop(L, 1);
	}
	*out = g;
	return ng;
}

/* ---- pods ---- */

static char *escape(const char *s)
{
	return oam_curl.easy_escape(NULL, s, 0);
}

/* The pods with label KEY=VALUE, as a jansson array (caller frees). */
static json_t *list_pods(struct oam_podman *p, const char *label, struct oam_diags *d)
{
	char filter[600], path[1200];
	struct oam_buf b = { 0 };
	json_error_t je;
	snprintf(filter, sizeof filter, "{\"label\":[\"%s\"]}", label);
	char *e = escape(filter);
	snprintf(path, sizeof path, "/pods/json?filters=%s", e ? e : "");
	oam_curl.free(e);
	long s = oam_podman_request(p, "GET", path, NULL, NULL, 0, &b);
	json_t *j = s == 200 ? json_loadb(b.data, b.len, 0, &je) : NULL;
	if (!j || !json_is_array(j)) {
		char msg[400];
		oam_podman_error_text(&b, msg, sizeof msg);
		oam_diag_at(d, OAM_SEV_ERROR, "OAM852", NULL, 0, 0, "podman: listing pods failed (%ld): %s", s, msg);
		json_decref(j);
		j = NULL;
	}
	oam_buf_release(&b);
	return j;
}

static const char *pod_label(json_t *pod, const char *key)
{
	return json_string_value(json_object_get(json_object_get(pod, "Labels"), key));
}

/* Kill first, then remove: removing a running pod waits for its stop
 * timeout and races podman's cleanup (tests/podman/NOTES.md). */
static int remove_pod(struct oam_podman *p, const char *name, struct oam_diags *d)
{
	char path[600], msg[400];
	struct oam_buf b = { 0 };
	char *e = escape(name);
	snprintf(path, sizeof path, "/pods/%s/kill?signal=SIGKILL", e ? e : name);
	oam_podman_request(p, "POST", path, NULL, "", 0, NULL);
	for (int i = 0; i < 100; i++) {
		struct oam_buf s = { 0 };
		json_error_t je;
		snprintf(path, sizeof path, "/pods/%s/json", e ? e : name);
		long st = oam_podman_request(p, "GET", path, NULL, NULL, 0, &s);
		json_t *j = st == 200 ? json_loadb(s.data, s.len, 0, &je) : NULL;
		const char *state = j ? json_string_value(json_object_get(j, "State")) : NULL;
		int done = !state || strcmp(state, "Running");
		json_decref(j);
		oam_buf_release(&s);
		if (done)
			break;
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
	}
	snprintf(path, sizeof path, "/pods/%s?force=true&timeout=0", e ? e : name);
	long st = oam_podman_request(p, "DELETE", path, NULL, NULL, 0, &b);
	oam_curl.free(e);
	if (st != 200 && st != 404) {
		oam_podman_error_text(&b, msg, sizeof msg);
		oam_diag_at(d, OAM_SEV_ERROR, "OAM852", NULL, 0, 0, "podman: removing pod '%s' failed (%ld): %s", name, st, msg);
		oam_buf_release(&b);
		return -1;
	}
	oam_buf_release(&b);
	return 0;
}

static void remove_volumes(struct oam_podman *p, const char *list)
{
	char copy[1024], path[600], *save = NULL;
	snprintf(copy, sizeof copy, "%s", list ? list : "");
	for (char *v = strtok_r(copy, ".", &save); v; v = strtok_r(NULL, ".", &save)) {
		snprintf(path, sizeof path, "/volumes/%s?force=true", v);
		oam_podman_request(p, "DELETE", path, NULL, NULL, 0, NULL);
	}
}

static int port_answers(const char *ip, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	if (inet_pton(AF_INET, strcmp(ip, "0.0.0.0") ? ip : "127.0.0.1", &a.sin_addr) != 1)
		return 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return 0;
	int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	close(fd);
	return ok;
}

/* Every pod of the app is running (or a task exited 0) and every published
 * port accepts connections. Writes a one-line summary into `why`. */
static int app_ready(struct oam_podman *p, const char *app, struct group *g, int ng, char *why, size_t size,
		     struct oam_diags *d)
{
	char label[400];
	snprintf(label, sizeof label, "app.oam.dev/name=%s", app);
	json_t *pods = list_pods(p, label, d);
	if (!pods)
		return -1;
	int ready = 1;
	why[0] = '\0';
	for (int k = 0; k < ng; k++) {
		if (strcmp(g[k].app, app))
			continue;
		int running = 0;
		size_t i;
		json_t *pod;
		json_array_foreach(pods, i, pod) {
			const char *c = pod_label(pod, "app.oam.dev/component");
			const char *st = json_string_value(json_object_get(pod, "Status"));
			if (c && !strcmp(c, g[k].component) && st && (!strcmp(st, "Running") ||
								      (!strcmp(g[k].kind, "Pod") && !strcmp(st, "Exited"))))
				running++;
		}
		if (running < g[k].replicas) {
			ready = 0;
			snprintf(why, size, "%s: %d of %d pods running", g[k].component, running, g[k].replicas);
			continue;
		}
		/* Published ports answer. */
		char urls[1024], *save = NULL;
		snprintf(urls, sizeof urls, "%s", g[k].urls);
		for (char *u = strtok_r(urls, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
			char ip[64];
			int port;
			if (sscanf(u, " http://%63[^:]:%d", ip, &port) == 2 && !port_answers(ip, port)) {
				ready = 0;
				snprintf(why, size, "%s: %s:%d does not answer yet", g[k].component, ip, port);
			}
		}
	}
	json_decref(pods);
	return ready;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- apply ---- */

int cmd_podman_apply(int argc, char **argv)
{
	struct oam_opts o = { 0 };
	struct pflags pf = { 0 };
	struct oam_session s;
	struct oam_podman p = { 0 };
	struct group *g = NULL;
	int ng = 0, rc, connected = 0;
	int first = parse("apply", apply_usage, argc, argv, &o, &pf);
	if (first < argc)
		oam_die_usage("apply", "unexpected argument '%s' (input files go after -f)", argv[first]);
	if (!o.nfiles)
		oam_die_usage("apply", "no input: give one or more -f FILE (or -f - for stdin)");
	p.verbose = o.verbose;
	if ((rc = oam_session_start(&s, &o)))
		goto out;
	if ((rc = oam_session_check(&s))) {
		oam_session_report(&s);
		goto out;
	}
	if (oam_render(&s.run, &s.diags) < 0) {
		oam_session_report(&s);
		rc = s.diags.exit_code ? s.diags.exit_code : OAM_EXIT_MODULE;
		goto out;
	}
	ng = make_groups(s.lua.L, &g, &s.diags);
	lua_pop(s.lua.L, 1);
	oam_session_report(&s);
	if (ng < 0 || s.diags.nerrors) {
		rc = s.diags.exit_code ? s.diags.exit_code : OAM_EXIT_SYSTEM;
		goto out;
	}
	s.diags.n = 0;
	if (pf.dry_run) {
		for (int k = 0; k < ng; k++)
			fwrite(g[k].body, 1, g[k].len, stdout);
		rc = oam_finish_stdout();
		goto out;
	}
	if (oam_podman_connect(&p, pf.socket, 0, &s.diags) < 0) {
		oam_session_report(&s);
		rc = s.diags.exit_code ? s.diags.exit_code : OAM_EXIT_CLUSTER;
		goto out;
	}
	connected = 1;
	/* What runs already, per application. */
	int failed = 0;
	for (int k = 0; k < ng && !failed; k++) {
		char label[400];
		snprintf(label, sizeof label, "app.oam.dev/component=%s", g[k].component);
		json_t *pods = list_pods(&p, label, &s.diags);
		if (!pods) {
			failed = 1;
			break;
		}
		size_t i, same = 0, other = 0;
		json_t *pod;
		json_array_foreach(pods, i, pod) {
			const char *a = pod_label(pod, "app.oam.dev/name"), *h = pod_label(pod, HASH_LABEL);
			if (!a || strcmp(a, g[k].app))
				continue;
			if (h && !strcmp(h, g[k].hash))
				same++;
			else
				other++;
		}
		const char *verb = "created";
		if (same && !other && same >= (size_t)g[k].replicas) {
			verb = "unchanged";
		} else {
			if (same || other) {
				verb = "replaced";
				json_array_foreach(pods, i, pod) {
					const char *a = pod_label(pod, "app.oam.dev/name");
					if (a && !strcmp(a, g[k].app) &&
					    remove_pod(&p, json_string_value(json_object_get(pod, "Name")), &s.diags) < 0)
						failed = 1;
				}
			}
			struct oam_buf b = { 0 };
			long st = failed ? 0 : oam_podman_request(&p, "POST", "/play/kube", "application/yaml", g[k].body, g[k].len, &b);
			if (!failed && st != 200) {
				char msg[600];
				oam_podman_error_text(&b, msg, sizeof msg);
				struct oam_err *e = oam_diag_at(&s.diags, OAM_SEV_ERROR, "OAM852", NULL, 0, 0,
								"podman refused instance '%s' of application '%s' (%ld): %s",
								g[k].component, g[k].app, st, msg);
				if (strstr(msg, "image") || strstr(msg, "pull"))
					oam_diag_hint(e, "podman runs local images here: build or load the image first");
				else if (strstr(msg, "address already in use") || strstr(msg, "port"))
					oam_diag_hint(e, "a published host port is taken: choose another with the ingress trait's hostPort");
				failed = 1;
				/* A failed play may leave a created pod behind: remove it so a
				 * re-run starts clean. */
				json_t *left = list_pods(&p, label, &s.diags);
				json_array_foreach(left, i, pod) {
					const char *a = pod_label(pod, "app.oam.dev/name");
					if (a && !strcmp(a, g[k].app))
						remove_pod(&p, json_string_value(json_object_get(pod, "Name")), &s.diags);
				}
				json_decref(left);
			}
			oam_buf_release(&b);
		}
		json_decref(pods);
		if (!failed) {
			printf("%s/%s %s", !strcmp(g[k].kind, "Pod") ? "pod" : "deployment", g[k].component, verb);
			if (g[k].urls[0])
				printf(" -> %s", g[k].urls);
			putchar('\n');
		}
	}
	/* Prune only after everything applied. */
	if (!failed && pf.prune) {
		char apps[64][256];
		int napps = 0;
		for (int k = 0; k < ng; k++) {
			int seen = 0;
			for (int a = 0; a < napps; a++)
				seen |= !strcmp(apps[a], g[k].app);
			if (!seen && napps < 64)
				snprintf(apps[napps++], sizeof apps[0], "%s", g[k].app);
		}
		for (int a = 0; a < napps && !failed; a++) {
			char label[400];
			snprintf(label, sizeof label, "app.oam.dev/name=%s", apps[a]);
			json_t *pods = list_pods(&p, label, &s.diags);
			size_t i;
			json_t *pod;
			json_array_foreach(pods, i, pod) {
				const char *c = pod_label(pod, "app.oam.dev/component");
				int rendered = 0;
				for (int k = 0; k < ng; k++)
					rendered |= c && !strcmp(c, g[k].component) && !strcmp(g[k].app, apps[a]);
				if (rendered)
					continue;
				const char *name = json_string_value(json_object_get(pod, "Name"));
				if (remove_pod(&p, name, &s.diags) < 0) {
					failed = 1;
					continue;
				}
				remove_volumes(&p, pod_label(pod, VOLUMES_LABEL));
				printf("pod/%s pruned\n", name);
			}
			json_decref(pods);
		}
	}
	if (!failed && pf.wait) {
		double end = now() + pf.timeout;
		int tty = isatty(2);
		char why[600] = "";
		for (int a = 0; a < ng && !failed; a++) {
			int r;
			while ((r = app_ready(&p, g[a].app, g, ng, why, sizeof why, &s.diags)) == 0 && now() < end) {
				if (tty)
					fprintf(stderr, "\r\033[Koamlua: waiting: %s", why);
				struct timespec ts = { 0, 200 * 1000000L };
				nanosleep(&ts, NULL);
			}
			if (tty)
				fputs("\r\033[K", stderr);
			if (r != 1) {
				if (r == 0) {
					struct oam_err *e = oam_diag_at(&s.diags, OAM_SEV_ERROR, "OAM853", NULL, 0, 0,
									"podman: application '%s' not ready after %gs: %s", g[a].app,
									pf.timeout, why);
					oam_diag_hint(e, "'oamlua status --target podman %s' shows the pods; 'podman logs' their output",
						      g[a].app);
				}
				failed = 1;
			}
		}
		if (!failed)
			fprintf(stderr, "oamlua: ready\n");
	}
	if (!failed && ng) {
		fprintf(stderr, "oamlua: stop it with: oamlua delete --target podman %s\n", g[0].app);
	}
	oam_session_report(&s);
	rc = failed ? (s.diags.exit_code ? s.diags.exit_code : OAM_EXIT_CLUSTER) : oam_finish_stdout();
out:
	for (int k = 0; k < ng; k++)
		free(g[k].body);
	free(g);
	if (connected || p.service_pid)
		oam_podman_close(&p);
	oam_session_end(&s);
	return rc;
}

/* ---- delete and status ---- */

/* The application names: arguments, or the ApplicationConfigurations in -f. */
static int app_names(struct oam_session *s, struct oam_opts *o, int argc, char **argv, int first, const char ***names,
		     int *n)
{
	*n = 0;
	*names = calloc((size_t)(argc + 256), sizeof **names);
	if (!*names)
		return -1;
	for (int i = first; i < argc; i++)
		(*names)[(*n)++] = argv[i];
	if (o->nfiles) {
		int rc = oam_session_check(s);
		if (s->diags.nerrors)
			return rc ? rc : OAM_EXIT_INVALID;
		for (size_t i = 0; i < s->model.napps && *n < argc + 255; i++)
			(*names)[(*n)++] = s->model.apps[i]->name;
	}
	return 0;
}

/* What delete and status share: flags, the application names, a service. */
static int begin(const char *cmd, const char *usage, int argc, char **argv, struct oam_opts *o, struct pflags *pf,
		 struct oam_session *s, struct oam_podman *p, const char ***names, int *n)
{
	int rc, first = parse(cmd, usage, argc, argv, o, pf);
	p->verbose = o->verbose;
	if (first == argc && !o->nfiles)
		oam_die_usage(cmd, "name the applications, or give -f FILE");
	if ((rc = oam_session_start(s, o)))
		return rc;
	if ((rc = app_names(s, o, argc, argv, first, names, n))) {
		oam_session_report(s);
		return rc;
	}
	if (oam_podman_connect(p, pf->socket, 0, &s->diags) < 0) {
		oam_session_report(s);
		return s->diags.exit_code ? s->diags.exit_code : OAM_EXIT_CLUSTER;
	}
	return 0;
}

int cmd_podman_delete(int argc, char **argv)
{
	struct oam_opts o = { 0 };
	struct pflags pf = { 0 };
	struct oam_session s;
	struct oam_podman p = { 0 };
	const char **names = NULL;
	int n = 0, rc;
	rc = begin("delete", delete_usage, argc, argv, &o, &pf, &s, &p, &names, &n);
	if (rc)
		goto out;
	for (int a = 0; a < n; a++) {
		char label[400];
		int count = 0;
		snprintf(label, sizeof label, "app.oam.dev/name=%s", names[a]);
		json_t *pods = list_pods(&p, label, &s.diags);
		size_t i;
		json_t *pod;
		json_array_foreach(pods, i, pod) {
			const char *name = json_string_value(json_object_get(pod, "Name"));
			if (remove_pod(&p, name, &s.diags) == 0) {
				remove_volumes(&p, pod_label(pod, VOLUMES_LABEL));
				printf("pod/%s deleted\n", name);
				count++;
			}
		}
		json_decref(pods);
		if (!count && !s.diags.nerrors)
			fprintf(stderr, "oamlua: application '%s' has no pods\n", names[a]);
	}
	oam_session_report(&s);
	rc = s.diags.nerrors ? OAM_EXIT_CLUSTER : oam_finish_stdout();
out:
	free(names);
	oam_podman_close(&p);
	oam_session_end(&s);
	return rc;
}

int cmd_podman_status(int argc, char **argv)
{
	struct oam_opts o = { 0 };
	struct pflags pf = { 0 };
	struct oam_session s;
	struct oam_podman p = { 0 };
	const char **names = NULL;
	int n = 0, rc, all_ok = 1;
	rc = begin("status", status_usage, argc, argv, &o, &pf, &s, &p, &names, &n);
	if (rc)
		goto out;
	printf("%-12s %-24s %-28s %-10s %s\n", "APPLICATION", "COMPONENT", "POD", "STATUS", "PUBLISHED");
	for (int a = 0; a < n; a++) {
		char label[400];
		snprintf(label, sizeof label, "app.oam.dev/name=%s", names[a]);
		json_t *pods = list_pods(&p, label, &s.diags);
		size_t i;
		json_t *pod;
		if (pods && !json_array_size(pods)) {
			printf("%-12s %-24s %-28s %-10s %s\n", names[a], "-", "-", "NotFound", "-");
			all_ok = 0;
		}
		json_array_foreach(pods, i, pod) {
			const char *name = json_string_value(json_object_get(pod, "Name"));
			const char *st = json_string_value(json_object_get(pod, "Status"));
			const char *comp = pod_label(pod, "app.oam.dev/component");
			char ports[400] = "", path[600];
			struct oam_buf b = { 0 };
			json_error_t je;
			snprintf(path, sizeof path, "/pods/%s/json", name);
			if (oam_podman_request(&p, "GET", path, NULL, NULL, 0, &b) == 200) {
				json_t *j = json_loadb(b.data, b.len, 0, &je);
				json_t *pb = json_object_get(json_object_get(j, "InfraConfig"), "PortBindings");
				const char *key;
				json_t *v;
				json_object_foreach(pb, key, v) {
					size_t k;
					json_t *bnd;
					json_array_foreach(v, k, bnd) {
						size_t l = strlen(ports);
						snprintf(ports + l, sizeof ports - l, "%s%s:%s->%s", l ? "," : "",
							 json_string_value(json_object_get(bnd, "HostIp")),
							 json_string_value(json_object_get(bnd, "HostPort")), key);
					}
				}
				json_decref(j);
			}
			oam_buf_release(&b);
			if (!st || strcmp(st, "Running"))
				all_ok = all_ok && st && !strcmp(st, "Exited");
			printf("%-12s %-24s %-28s %-10s %s\n", names[a], comp ? comp : "?", name, st ? st : "?",
			       ports[0] ? ports : "-");
		}
		json_decref(pods);
	}
	oam_session_report(&s);
	rc = s.diags.nerrors ? OAM_EXIT_CLUSTER : oam_finish_stdout();
	if (!rc && !all_ok)
		rc = 1;
out:
	free(names);
	oam_podman_close(&p);
	oam_session_end(&s);
	return rc;
}
