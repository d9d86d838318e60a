/* cmd_render.c — `oamlua render` and `oamlua validate`: the same checks on
 * the same code path; render then runs the modules and emits. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "oamlua/cli.h"
#include "oamlua/jobs.h"

/* OAMLUA_TIMING=1 prints how long each stage took, to stderr. */
static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char render_usage[] =
	"usage: oamlua render -f FILE... [-o yaml|json|name] [-n NAMESPACE] [flags]\n"
	"\n"
	"Renders OAM v1alpha1 ComponentSchematics and ApplicationConfigurations into\n"
	"Kubernetes manifests, offline. Every check of 'oamlua validate' runs first;\n"
	"on any error nothing is written to standard output.\n"
	"\n"
	"  -f, --filename FILE       input file, directory (*.yaml, *.yml, *.json) or - for\n"
	"                            stdin; repeatable\n"
	"  -R, --recursive           descend into directories given with -f\n"
	"  -o, --output FORMAT       yaml (a --- stream, default), json (a v1 List), name\n"
	"  -n, --namespace NS        set metadata.namespace on namespaced objects\n"
	"      --target T            kubernetes (default) or podman: what the modules render\n"
	"                            for; a trait with no meaning there is an error\n"
	"      --skip-unsupported-traits\n"
	"                            leave out, with a warning, traits the target cannot run\n"
	"      --publish-address IP  podman: the host address ports are published on\n"
	"                            (default 127.0.0.1)\n"
	"      --module-path DIR     load workload and trait modules from DIR (repeatable;\n"
	"                            shadows built-ins and $OAMLUA_PATH)\n"
	"      --allow-undeclared-params\n"
	"                            a parameterValues entry the component does not\n"
	"                            declare is a warning instead of an error\n"
	"      --lua-budget N        instructions one module call may run (default 50000000)\n"
	"      --lua-mem MIB         memory one module call may allocate (default 256)\n"
	"      --show-owners         mark each field a trait set with a '# module' comment,\n"
	"                            and list the traits that change pod templates\n"
	"  -v, --verbose             show the source line under each finding\n"
	"  -h, --help                this text\n"
	"\n"
	"Environment: OAMLUA_PATH=DIR[:DIR...] adds module directories; OAMLUA_JOBS=N\n"
	"caps the cores used (default: all, one job per 200 instances).\n"
	"Exit status: 0 ok, 1 invalid input, 2 usage, 3 module error, 5 system error.\n";

static const char validate_usage[] =
	"usage: oamlua validate -f FILE... [-o text|json] [flags]\n"
	"\n"
	"Runs every admission check: shapes, references, appliesToWorkloads,\n"
	"conflictsWith, parameters, properties and each trait's own rules, then renders\n"
	"(writing nothing) to find what only rendering shows: a module failing, two\n"
	"traits writing one field differently. Prints all findings; exit 0 when there\n"
	"is no error.\n"
	"\n"
	"  -f, --filename FILE       input file, directory or - (repeatable)\n"
	"  -R, --recursive           descend into directories\n"
	"  -o, --output FORMAT       text (default, on stderr) or json (on stdout)\n"
	"      --target T            check for kubernetes (default) or podman\n"
	"      --skip-unsupported-traits\n"
	"                            traits the target cannot run are warnings\n"
	"      --module-path DIR     extra module directory (repeatable)\n"
	"      --allow-undeclared-params\n"
	"                            undeclared parameterValues are warnings\n"
	"      --lua-budget N, --lua-mem MIB\n"
	"                            limits for module calls (validate hooks)\n"
	"  -v, --verbose             show the source line under each finding\n"
	"  -h, --help                this text\n"
	"\n"
	"Exit status: 0 valid, 1 invalid input, 2 usage, 3 module error, 5 system error.\n";

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
	{ "show-owners", no_argument, NULL, 'W' },
	{ "target", required_argument, NULL, OPT_TARGET },
	{ "skip-unsupported-traits", no_argument, NULL, OPT_SKIP_UNSUPPORTED },
	{ "publish-address", required_argument, NULL, OPT_PUBLISH_ADDRESS },
	{ NULL, 0, NULL, 0 }
};

static int show_owners;

static void parse(const char *cmd, const char *usage, int argc, char **argv, struct oam_opts *o)
{
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:Ro:n:vh", long_opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage, stdout);
			exit(oam_finish_stdout());
		}
		if (c == '?')
			oam_die_usage(cmd, "unknown option '%s'", argv[optind - 1]);
		if (c == ':')
			oam_die_usage(cmd, "option '%s' needs a value", argv[optind - 1]);
		if (c == 'W' && !strcmp(cmd, "render")) {
			show_owners = 1;
			continue;
		}
		if (!oam_cli_common_opt(cmd, c, optarg, o))
			oam_die_usage(cmd, "unknown option '%s'", argv[optind - 1]);
	}
	if (optind < argc)
		oam_die_usage(cmd, "unexpected argument '%s' (input files go after -f)", argv[optind]);
	if (!o->nfiles)
		oam_die_usage(cmd, "no input: give one or more -f FILE (or -f - for stdin)");
}

/* --show-owners: which traits change a pod template (applying them restarts
 * the pods), per instance. */
static int disruptive_report(struct oam_session *s, struct oam_buf *out)
{
	lua_State *L = s->lua.L;
	int any = 0;
	for (size_t i = 0; i < s->reg.n; i++) {
		const struct oam_module *m = s->reg.mods[i];
		if (m->kind != OAM_MOD_TRAIT)
			continue;
		oam_lua_push_hostfn(&s->lua, "disruptive");
		lua_pushstring(L, m->name);
		lua_call(L, 1, 1);
		int yes = lua_toboolean(L, -1);
		lua_pop(L, 1);
		if (!yes)
			continue;
		char line[400];
		int n = snprintf(line, sizeof line, "%s# trait '%s' changes pod templates: applying it restarts pods\n",
				 any ? "" : "---\n", m->name);
		any = 1;
		if (oam_buf_add(out, line, (size_t)n) < 0)
			return -1;
	}
	return 0;
}

int cmd_render(int argc, char **argv)
{
	struct oam_opts o = { 0 };
	struct oam_session s;
	struct oam_buf out = { 0 };
	enum oam_format fmt = OAM_FMT_YAML;
	char err[1024];
	int rc;
	int timing = getenv("OAMLUA_TIMING") != NULL;
	double t0 = now(), t1, t2, t3, t4;
	parse("render", render_usage, argc, argv, &o);
	if (o.output && oam_parse_format(o.output, &fmt) < 0)
		oam_die_usage("render", "unknown output format '%s' (yaml, json or name)", o.output);
	if ((rc = oam_session_start(&s, &o)))
		goto out;
	s.may_use_jobs = fmt != OAM_FMT_JSON && !show_owners;
#ifndef OAM_ASAN
	s.exit_after = !timing && !getenv("OAMLUA_CLEAN_EXIT");   /* see the exit below */
#endif
	t1 = now();
	if ((rc = oam_session_check(&s))) {
		oam_session_report(&s);
		goto out;
	}
	t2 = now();
	double tr;
	int jobs = s.jobs;
	if (show_owners && fmt != OAM_FMT_YAML)
		oam_die_usage("render", "--show-owners writes YAML; drop -o %s", o.output);
	if (fmt != OAM_FMT_JSON && !show_owners) {
		/* Render and emit in slices, on several cores for large inputs
		 * (same bytes), chunk by chunk. */
		int r = oam_render_jobs(&s, fmt, jobs, &out);
		tr = t3 = now();
		oam_session_report(&s);
		if (r < 0) {
			rc = s.diags.exit_code ? s.diags.exit_code : OAM_EXIT_MODULE;
			goto out;
		}
	} else {
		if (oam_render(&s.run, &s.diags) < 0) {
			oam_session_report(&s);
			rc = s.diags.exit_code ? s.diags.exit_code : OAM_EXIT_MODULE;
			goto out;
		}
		tr = now();
		/* The input trees are no longer needed: give their memory back
		 * before the output is built (warnings are printed first, with
		 * their source lines). */
		oam_session_report(&s);
		s.diags.n = 0;
		oam_session_drop_inputs(&s);
		int erc;
		if (show_owners) {
			oam_lua_push_hostfn(&s.lua, "owners");
			erc = oam_emit_owners(s.lua.L, -2, -1, &out, err, sizeof err);
			lua_pop(s.lua.L, 1);
			if (erc == 0)
				erc = disruptive_report(&s, &out);
		} else {
			erc = oam_emit(s.lua.L, -1, fmt, &out, err, sizeof err);
		}
		if (erc < 0) {
			oam_diag_at(&s.diags, OAM_SEV_ERROR, "OAM604", NULL, 0, 0, "cannot write the output: %s", err);
			oam_session_report(&s);
			rc = OAM_EXIT_MODULE;
			goto out;
		}
		lua_pop(s.lua.L, 1);
		t3 = now();
	}
	if (oam_buf_write(&out, stdout) < 0)
		rc = oam_finish_stdout() ? OAM_EXIT_SYSTEM : 0;
	else
		rc = oam_finish_stdout();
	t4 = now();
#ifndef OAM_ASAN
	/* Freeing a large render costs a tenth of the run; the system takes
	 * the memory back anyway. OAMLUA_CLEAN_EXIT=1 frees it (leak checks). */
	if (rc == 0 && !timing && !getenv("OAMLUA_CLEAN_EXIT")) {
		fflush(stderr);
		exit(rc);
	}
#endif
	if (timing)
		fprintf(stderr, "oamlua: timing: modules %.3fs, load+check %.3fs, render %.3fs, emit %.3fs, write %.3fs, "
			"Lua heap peak %zu MiB, %d job%s\n", t1 - t0, t2 - t1, tr - t2, t3 - tr, t4 - t3,
			s.lua.mem_peak >> 20, jobs, jobs == 1 ? "" : "s");
out:
	oam_buf_release(&out);
	oam_session_end(&s);
	return rc;
}

int cmd_validate(int argc, char **argv)
{
	struct oam_opts o = { 0 };
	struct oam_session s;
	int rc, json = 0;
	parse("validate", validate_usage, argc, argv, &o);
	if (o.output && !strcmp(o.output, "json"))
		json = 1;
	else if (o.output && strcmp(o.output, "text"))
		oam_die_usage("validate", "unknown output format '%s' (text or json)", o.output);
	o.quiet_start = 1;   /* module findings are reported below, once, as text or JSON */
	rc = oam_session_start(&s, &o);
	s.may_use_jobs = 1;
	if (!rc)
		rc = oam_session_check(&s);
	/* Counted now: rendering on several cores frees the inputs. */
	size_t ncomps = s.model.ncomps, napps = s.model.napps, ninst = 0;
	for (size_t i = 0; i < s.model.napps; i++)
		ninst += s.model.apps[i]->ninst;
	if (!rc) {
		/* What only rendering finds (a trait's render() failing, two traits
		 * writing one field differently) is a finding too: render, and keep
		 * nothing but the findings. */
		struct oam_buf names = { 0 };
		if (s.jobs > 1 ? oam_render_jobs(&s, OAM_FMT_NAME, s.jobs, &names) < 0 : oam_render(&s.run, &s.diags) < 0)
			rc = s.diags.exit_code ? s.diags.exit_code : OAM_EXIT_MODULE;
		else if (s.jobs == 1)
			lua_pop(s.lua.L, 1);
		oam_buf_release(&names);
	}
	if (json) {
		if (oam_diags_print_json(&s.diags) < 0)
			rc = OAM_EXIT_SYSTEM;
		else if (oam_finish_stdout())
			rc = OAM_EXIT_SYSTEM;
	} else if (s.diags.n) {
		oam_session_report(&s);
	}
	if (!rc && !json)
		fprintf(stderr, "oamlua: valid: %zu component%s, %zu application%s, %zu instance%s\n", ncomps,
			ncomps == 1 ? "" : "s", napps, napps == 1 ? "" : "s", ninst, ninst == 1 ? "" : "s");
	oam_session_end(&s);
	return rc;
}
