/* cmd_apply.c — `oamlua apply`, `delete`, `diff` and `status`: the render
 * pipeline of cmd_render.c, then the cluster (apply.c). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oamlua/apply.h"
#include "oamlua/cli.h"
#include "oamlua/diff.h"
#include "oamlua/kube.h"
#include "oamlua/kubeconfig.h"
#include "oamlua/pack.h"

enum {
	OPT_KUBECONFIG = 1100, OPT_CONTEXT, OPT_CLUSTER, OPT_USER, OPT_DRY_RUN, OPT_FORCE, OPT_PRUNE, OPT_WAIT,
	OPT_TIMEOUT, OPT_CONCURRENCY, OPT_IGNORE_NF, OPT_REQUEST_TIMEOUT
};

/* Which flags a command takes. */
enum { F_RENDER = 1, F_DRY = 2, F_FORCE = 4, F_PRUNE = 8, F_WAIT = 16, F_IGNORE = 32, F_APPS = 64, F_OUT = 128 };

static const char cluster_flags[] =
	"Cluster:\n"
	"      --kubeconfig FILE     kubeconfig to use (else $KUBECONFIG, merged as kubectl\n"
	"                            does, else ~/.kube/config, else the in-cluster service\n"
	"                            account)\n"
	"      --context NAME        kubeconfig context (default: current-context)\n"
	"      --cluster NAME, --user NAME\n"
	"                            override the context's cluster or user\n"
	"  -n, --namespace NS        namespace (default: the context's, else 'default')\n"
	"      --request-timeout D   give up on one request after D (default 60s)\n"
	"      --concurrency N       requests in flight at once (default 16)\n"
	"      --target kubernetes   the default; --target podman runs the podman commands\n"
	"  -v, --verbose             log each request (method, path, status; never\n"
	"                            credentials) and show source lines under findings\n"
	"  -h, --help                this text\n";

static const char render_flags[] =
	"Rendering (as 'oamlua render'):\n"
	"  -f, --filename FILE       input file, directory or - for stdin (repeatable)\n"
	"  -R, --recursive           descend into directories given with -f\n"
	"      --module-path DIR     extra module directory (repeatable)\n"
	"      --allow-undeclared-params, --lua-budget N, --lua-mem MIB\n";

static const char exit_text[] =
	"Exit status: 0 ok, 1 invalid input%s, 2 usage, 3 module error, 4 cluster error\n"
	"(also: a timeout while waiting), 5 system error.\n";

static const char apply_usage[] =
	"usage: oamlua apply -f FILE... [-n NS] [--prune] [--wait [--timeout D]] [flags]\n"
	"\n"
	"Renders the application (every check of 'oamlua validate' first) and applies\n"
	"it with server-side apply: one PATCH per object (fieldManager=oamlua), in\n"
	"dependency order (namespaces, CRDs, config and storage, services, workloads,\n"
	"the rest), concurrently within each step. Prints one line per object:\n"
	"created, configured or unchanged.\n"
	"\n"
	"Every object is labelled applyset.kubernetes.io/part-of=ID and recorded in the\n"
	"application's ApplySet parent, secret/oamlua-APP in the namespace (kubectl's\n"
	"ApplySet format). A failed run changes nothing it has not reached and prunes\n"
	"nothing; running it again converges.\n"
	"\n"
	"  -o, --output name         print only kubectl-style names (kind.group/name);\n"
	"                            with --dry-run=client also yaml or json: the bodies\n"
	"                            that would be sent\n"
	"      --dry-run MODE        none (default); server: the API server checks every\n"
	"                            object (dryRun=All) and nothing is stored; client:\n"
	"                            render and check only, send nothing\n"
	"      --force-conflicts     take over fields another field manager owns\n"
	"      --prune               after every object applied, delete the objects of\n"
	"                            this application that are no longer rendered (found\n"
	"                            by the part-of label and compared by UID)\n"
	"      --wait                then wait until every object is Current (kstatus\n"
	"                            rules); progress on a terminal\n"
	"      --timeout D           how long --wait waits (default 5m; 90s, 2m30s)\n"
	"\n";

static const char delete_usage[] =
	"usage: oamlua delete (-f FILE... | APP...) [-n NS] [--wait] [flags]\n"
	"\n"
	"Deletes an application: every object that carries its ApplySet part-of label\n"
	"(workloads first, namespaces last) and then its parent secret/oamlua-APP.\n"
	"Objects without the label are never touched. With -f the application names\n"
	"come from the rendered input.\n"
	"\n"
	"      --dry-run server      ask the API server, delete nothing\n"
	"      --ignore-not-found    an application that does not exist is not an error\n"
	"      --wait                wait until the objects are gone\n"
	"      --timeout D           how long --wait waits (default 5m)\n"
	"\n";

static const char diff_usage[] =
	"usage: oamlua diff -f FILE... [-n NS] [--prune] [flags]\n"
	"\n"
	"Shows what 'oamlua apply' would change: every object is applied with\n"
	"dryRun=All and the answer is compared with the live object, as a unified diff\n"
	"of the YAML without managedFields, resourceVersion, generation, uid and\n"
	"creationTimestamp. Secret values are masked. Exit 0 when nothing would change,\n"
	"1 when something would, more on errors (like 'kubectl diff').\n"
	"\n"
	"      --force-conflicts     compare as if applied with --force-conflicts\n"
	"      --prune               also show the objects a pruning apply would delete\n"
	"\n";

static const char status_usage[] =
	"usage: oamlua status (APP... | -f FILE...) [-n NS] [flags]\n"
	"\n"
	"Shows the health of an application's objects, one line each, grouped by\n"
	"component instance (label app.oam.dev/component) and trait\n"
	"(trait.oam.dev/type): Current, InProgress, Failed or Terminating by the kstatus\n"
	"rules, with a short reason. It reports and exits 0 whatever the health; to\n"
	"block until everything is Current use 'oamlua apply --wait'.\n"
	"\n";

struct cmdinfo {
	const char *name;
	const char *usage;
	unsigned flags;
};

static const struct cmdinfo apply_cmd = { "apply", apply_usage, F_RENDER | F_DRY | F_FORCE | F_PRUNE | F_WAIT | F_OUT };
static const struct cmdinfo delete_cmd = { "delete", delete_usage, F_RENDER | F_DRY | F_WAIT | F_IGNORE | F_APPS };
static const struct cmdinfo diff_cmd = { "diff", diff_usage, F_RENDER | F_FORCE | F_PRUNE };
static const struct cmdinfo status_cmd = { "status", status_usage, F_RENDER | F_APPS };

static const struct option long_opts[] = {
	{ "filename", required_argument, NULL, 'f' },
	{ "recursive", no_argument, NULL, 'R' },
	{ "output", required_argument, NULL, 'o' },
	{ "namespace", required_argument, NULL, 'n' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "module-path", required_argument, NULL, OPT_MODULE_PATH },
	{ "allow-undeclared-params", no_argument, NULL, OPT_ALLOW_UNDECLARED },
	{ "lua-budget", required_argument, NULL, OPT_LUA_BUDGET },
	{ "lua-mem", required_argument, NULL, OPT_LUA_MEM },
	{ "kubeconfig", required_argument, NULL, OPT_KUBECONFIG },
	{ "context", required_argument, NULL, OPT_CONTEXT },
	{ "cluster", required_argument, NULL, OPT_CLUSTER },
	{ "user", required_argument, NULL, OPT_USER },
	{ "dry-run", required_argument, NULL, OPT_DRY_RUN },
	{ "force-conflicts", no_argument, NULL, OPT_FORCE },
	{ "prune", no_argument, NULL, OPT_PRUNE },
	{ "wait", no_argument, NULL, OPT_WAIT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "concurrency", required_argument, NULL, OPT_CONCURRENCY },
	{ "ignore-not-found", no_argument, NULL, OPT_IGNORE_NF },
	{ "request-timeout", required_argument, NULL, OPT_REQUEST_TIMEOUT },
	{ "target", required_argument, NULL, OPT_TARGET },     /* main.c sends podman elsewhere */
	{ NULL, 0, NULL, 0 }
};

struct args {
	struct oam_opts o;
	struct oam_kflags kf;
	struct oam_apply_opts ao;
	int concurrency;
	double request_timeout;
	const char *apps[64];
	size_t napps;
};

static void help(const struct cmdinfo *c)
{
	fputs(c->usage, stdout);
	fputs(cluster_flags, stdout);
	fputs("\n", stdout);
	fputs(render_flags, stdout);
	fputs("\n", stdout);
	printf(exit_text, c == &diff_cmd ? " / changes (diff)" : "");
	exit(oam_finish_stdout());
}

static void parse(const struct cmdinfo *c, int argc, char **argv, struct args *a)
{
	int ch;
	const char *cmd = c->name;
	memset(a, 0, sizeof *a);
	a->ao.timeout = 300;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":f:Ro:n:vh", long_opts, NULL)) != -1) {
		const char *flag = argv[optind - 1];
		switch (ch) {
		case 'h':
			help(c);
			break;
		case '?':
			oam_die_usage(cmd, "unknown option '%s'", flag);
		case ':':
			oam_die_usage(cmd, "option '%s' needs a value", flag);
		case OPT_KUBECONFIG:
			a->kf.kubeconfig = optarg;
			break;
		case OPT_CONTEXT:
			a->kf.context = optarg;
			break;
		case OPT_CLUSTER:
			a->kf.cluster = optarg;
			break;
		case OPT_USER:
			a->kf.user = optarg;
			break;
		case OPT_DRY_RUN:
			if (!(c->flags & F_DRY))
				oam_die_usage(cmd, "unknown option '--dry-run'");
			if (!strcmp(optarg, "none"))
				a->ao.dry_run = OAM_DRY_NONE;
			else if (!strcmp(optarg, "server"))
				a->ao.dry_run = OAM_DRY_SERVER;
			else if (!strcmp(optarg, "client") && c == &apply_cmd)
				a->ao.dry_run = OAM_DRY_CLIENT;
			else
				oam_die_usage(cmd, "--dry-run must be %s, got '%s'",
					      c == &apply_cmd ? "none, client or server" : "none or server", optarg);
			break;
		case OPT_FORCE:
			if (!(c->flags & F_FORCE))
				oam_die_usage(cmd, "unknown option '--force-conflicts'");
			a->ao.force_conflicts = 1;
			break;
		case OPT_PRUNE:
			if (!(c->flags & F_PRUNE))
				oam_die_usage(cmd, "unknown option '--prune'");
			a->ao.prune = 1;
			break;
		case OPT_WAIT:
			if (!(c->flags & F_WAIT))
				oam_die_usage(cmd, "unknown option '--wait'");
			a->ao.wait = 1;
			break;
		case OPT_TIMEOUT:
			if (!(c->flags & F_WAIT))
				oam_die_usage(cmd, "unknown option '--timeout'");
			if ((a->ao.timeout = oam_parse_duration(optarg)) < 0)
				oam_die_usage(cmd, "--timeout needs a duration such as 90s, 5m or 1h, got '%s'", optarg);
			break;
		case OPT_REQUEST_TIMEOUT:
			if ((a->request_timeout = oam_parse_duration(optarg)) < 0)
				oam_die_usage(cmd, "--request-timeout needs a duration such as 30s, got '%s'", optarg);
			break;
		case OPT_CONCURRENCY: {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 256)
				oam_die_usage(cmd, "--concurrency needs a number from 1 to 256, got '%s'", optarg);
			a->concurrency = (int)v;
			break;
		}
		case OPT_IGNORE_NF:
			if (!(c->flags & F_IGNORE))
				oam_die_usage(cmd, "unknown option '--ignore-not-found'");
			a->ao.ignore_not_found = 1;
			break;
		default:
			if (!oam_cli_common_opt(cmd, ch, optarg, &a->o))
				oam_die_usage(cmd, "unknown option '%s'", flag);
		}
	}
	for (; optind < argc; optind++) {
		if (!(c->flags & F_APPS))
			oam_die_usage(cmd, "unexpected argument '%s' (input files go after -f)", argv[optind]);
		if (a->napps == sizeof a->apps / sizeof *a->apps)
			oam_die_usage(cmd, "too many applications");
		a->apps[a->napps++] = argv[optind];
	}
	if (a->napps && a->o.nfiles)
		oam_die_usage(cmd, "give either application names or -f, not both");
	if (!a->napps && !a->o.nfiles)
		oam_die_usage(cmd, (c->flags & F_APPS) ? "no application: give APP or -f FILE" :
			      "no input: give one or more -f FILE (or -f - for stdin)");
	if (a->o.output) {
		if (!strcmp(a->o.output, "name") && (c->flags & F_OUT))
			a->ao.output_name = 1;
		else if ((!strcmp(a->o.output, "yaml") || !strcmp(a->o.output, "json")) && c == &apply_cmd &&
			 a->ao.dry_run == OAM_DRY_CLIENT)
			a->ao.output = a->o.output;
		else
			oam_die_usage(cmd, "unknown output format '%s'%s", a->o.output,
				      c == &apply_cmd ? " (name; yaml or json with --dry-run=client)" : "");
		a->o.output = NULL;
	}
	if (a->ao.prune && a->ao.dry_run == OAM_DRY_CLIENT)
		oam_die_usage(cmd, "--prune needs the cluster; it cannot be combined with --dry-run=client");
	a->kf.namespace = a->o.namespace;
	a->ao.verbose = a->o.verbose;
}

/* The connection, or an exit code. With a client dry run a missing
 * kubeconfig only costs the namespace (then -n or 'default'). */
static int connect(struct args *a, struct oam_kconn *conn, struct oam_diags *d, int offline)
{
	if (oam_kconn_load(&a->kf, conn, d) == 0)
		return 0;
	if (offline) {
		oam_kconn_release(conn);
		oam_diags_release(d);
		oam_diags_init(d);
		conn->namespace = strdup(a->o.namespace ? a->o.namespace : "default");
		return conn->namespace ? 0 : OAM_EXIT_SYSTEM;
	}
	oam_diags_print(d, NULL, a->o.verbose);
	return d->exit_code ? d->exit_code : OAM_EXIT_CLUSTER;
}

/* Renders the input; the Lua list of objects is left on the stack. Sets
 * *reported when the findings were printed already. */
static int render(struct oam_session *s, struct args *a, int *reported)
{
	int rc;
	if ((rc = oam_session_start(s, &a->o))) {
		*reported = 1;  /* oam_session_start prints its own findings */
		return rc;
	}
	if ((rc = oam_session_check(s)))
		return rc;
	if (oam_render(&s->run, &s->diags) < 0)
		return s->diags.exit_code ? s->diags.exit_code : OAM_EXIT_MODULE;
	return 0;
}

static int run(const struct cmdinfo *c, int argc, char **argv)
{
	struct args a;
	struct oam_kconn conn;
	struct oam_diags kd;
	struct oam_session s;
	struct oam_kube k;
	struct oam_apply ap;
	struct oam_buf out = { 0 };
	int rc, session = 0, kube = 0, offline, reported = 0;
	memset(&k, 0, sizeof k);
	memset(&s, 0, sizeof s);
	parse(c, argc, argv, &a);
	offline = c == &apply_cmd && a.ao.dry_run == OAM_DRY_CLIENT;
	oam_diags_init(&kd);
	memset(&conn, 0, sizeof conn);
	if ((rc = connect(&a, &conn, &kd, offline))) {
		oam_diags_release(&kd);
		oam_kconn_release(&conn);
		return rc;
	}
	/* Render into the effective namespace, as if given with -n. */
	a.o.namespace = conn.namespace;
	oam_apply_init(&ap, NULL, conn.namespace);
	if (a.o.nfiles) {
		session = 1;
		if ((rc = render(&s, &a, &reported)))
			goto out;
		const char *default_app = s.model.napps == 1 ? s.model.apps[0]->name : NULL;
		if (oam_apply_collect(&ap, s.lua.L, -1, default_app, &s.diags) < 0) {
			rc = s.diags.exit_code ? s.diags.exit_code : OAM_EXIT_INVALID;
			goto out;
		}
		lua_pop(s.lua.L, 1);
	} else {
		oam_diags_init(&s.diags);
		for (size_t i = 0; i < a.napps; i++)
			if (oam_apply_add_app(&ap, a.apps[i], &s.diags) < 0) {
				rc = s.diags.exit_code ? s.diags.exit_code : OAM_EXIT_USAGE;
				goto out;
			}
	}
	if (!offline) {
		if (oam_kube_open(&k, &conn, a.concurrency, a.o.verbose, &s.diags) < 0) {
			rc = s.diags.exit_code ? s.diags.exit_code : OAM_EXIT_CLUSTER;
			goto out;
		}
		kube = 1;
		if (a.request_timeout > 0)
			k.timeout_ms = (long)(a.request_timeout * 1000);
		ap.k = &k;
		/* Trait packs: refuse, before anything is sent, a module whose pack
		 * requires an API this cluster does not serve (OAM751). */
		if (c == &apply_cmd && session) {
			struct oam_apiset set = { .k = &k };
			int missing = oam_pack_check_cluster(&set, &s.reg, &s.model, &s.diags);
			oam_apiset_release(&set);
			if (missing) {
				rc = OAM_EXIT_CLUSTER;
				goto out;
			}
		}
	}
	if (c == &apply_cmd) {
		rc = oam_apply_run(&ap, &a.ao, &s.diags);
	} else if (c == &delete_cmd) {
		rc = oam_apply_delete(&ap, &a.ao, &s.diags);
	} else if (c == &status_cmd) {
		rc = oam_apply_status(&ap, &a.ao, &s.diags);
	} else {
		rc = oam_apply_diff(&ap, &a.ao, &out, &s.diags);
		if (oam_buf_write(&out, stdout) < 0)
			rc = OAM_EXIT_SYSTEM;
	}
	if (a.o.verbose && kube)
		fprintf(stderr, "oamlua: %ld HTTP request%s\n", k.requests, k.requests == 1 ? "" : "s");
out:
	if (session && !reported)
		oam_session_report(&s);
	else
		oam_diags_print(&s.diags, NULL, a.o.verbose);
	if (oam_finish_stdout() && (rc == 0 || rc == 1))
		rc = OAM_EXIT_SYSTEM;
	oam_buf_release(&out);
	oam_apply_release(&ap);
	if (kube)
		oam_kube_close(&k);
	if (session)
		oam_session_end(&s);
	else
		oam_diags_release(&s.diags);
	oam_kconn_release(&conn);
	oam_diags_release(&kd);
	return rc;
}

int cmd_apply(int argc, char **argv)
{
	return run(&apply_cmd, argc, argv);
}

int cmd_delete(int argc, char **argv)
{
	return run(&delete_cmd, argc, argv);
}

int cmd_diff(int argc, char **argv)
{
	return run(&diff_cmd, argc, argv);
}

int cmd_status(int argc, char **argv)
{
	return run(&status_cmd, argc, argv);
}
