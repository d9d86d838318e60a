/* cli.c — shared flags and the load → model → check pipeline. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oamlua/cli.h"
#include "oamlua/jobs.h"

static long long parse_num(const char *cmd, const char *flag, const char *arg)
{
	char *end;
	errno = 0;
	long long v = strtoll(arg, &end, 10);
	if (errno || *end || v <= 0)
		oam_die_usage(cmd, "%s needs a positive whole number, got '%s'", flag, arg);
	return v;
}

int oam_cli_common_opt(const char *cmd, int opt, const char *arg, struct oam_opts *o)
{
	switch (opt) {
	case 'f':
		if (o->nfiles == OAM_MAX_INPUTS)
			oam_die_usage(cmd, "too many -f options (at most %d)", OAM_MAX_INPUTS);
		o->files[o->nfiles++] = arg;
		return 1;
	case 'R':
		o->recursive = 1;
		return 1;
	case 'n':
		if (!oam_is_dns_label(arg))
			oam_die_usage(cmd, "namespace '%s' is not a valid DNS-1123 label", arg);
		o->namespace = arg;
		return 1;
	case 'o':
		o->output = arg;
		return 1;
	case 'v':
		o->verbose++;
		return 1;
	case OPT_MODULE_PATH:
		if (o->nmodule_paths == OAM_MAX_INPUTS)
			oam_die_usage(cmd, "too many --module-path options");
		o->module_paths[o->nmodule_paths++] = arg;
		o->module_paths[o->nmodule_paths] = NULL;
		return 1;
	case OPT_ALLOW_UNDECLARED:
		o->undeclared_params_warn = 1;
		return 1;
	case OPT_LUA_BUDGET:
		o->lua_budget = parse_num(cmd, "--lua-budget", arg);
		return 1;
	case OPT_LUA_MEM:
		o->lua_mem_mib = parse_num(cmd, "--lua-mem", arg);
		return 1;
	case OPT_TARGET:
		if (strcmp(arg, "kubernetes") && strcmp(arg, "podman"))
			oam_die_usage(cmd, "unknown target '%s' (kubernetes or podman)", arg);
		o->target = arg;
		return 1;
	case OPT_SKIP_UNSUPPORTED:
		o->skip_unsupported = 1;
		return 1;
	case OPT_PUBLISH_ADDRESS:
		o->publish_address = arg;
		return 1;
	}
	return 0;
}

int oam_session_start(struct oam_session *s, struct oam_opts *o)
{
	struct oam_err err;
	memset(s, 0, sizeof *s);
	s->opts = o;
	oam_diags_init(&s->diags);
	if (oam_lua_init(&s->lua, &err) < 0) {
		oam_errorf("%s", err.msg);
		return OAM_EXIT_SYSTEM;
	}
	s->lua_ok = 1;
	if (o->lua_budget)
		s->lua.insn_budget = o->lua_budget;
	if (o->lua_mem_mib)
		s->lua.mem_call_limit = (size_t)o->lua_mem_mib << 20;
	if (oam_registry_init(&s->reg, &s->lua) < 0) {
		oam_errorf("out of memory");
		return OAM_EXIT_SYSTEM;
	}
	s->reg_ok = 1;
	oam_registry_load(&s->reg, o->module_paths, &s->diags);
	if (s->diags.nerrors) {
		if (!o->quiet_start)
			oam_session_report(s);
		return s->diags.exit_code ? s->diags.exit_code : OAM_EXIT_MODULE;
	}
	return 0;
}

int oam_session_check(struct oam_session *s)
{
	struct oam_opts *o = s->opts;
	if (oam_docset_init(&s->docs) < 0) {
		oam_errorf("out of memory");
		return OAM_EXIT_SYSTEM;
	}
	s->docs_ok = 1;
	for (size_t i = 0; i < o->nfiles; i++)
		oam_load_path(&s->docs, o->files[i], o->recursive, &s->diags);
	if (s->diags.nerrors)
		return s->diags.exit_code;
	if (!s->docs.ndocs) {
		oam_diag_at(&s->diags, OAM_SEV_ERROR, "OAM201", o->nfiles == 1 ? o->files[0] : NULL, 0, 0,
			    "no documents in the input");
		return s->diags.exit_code;
	}
	oam_model_build(&s->model, &s->docs, &s->diags);
	s->run.lua = &s->lua;
	s->run.reg = &s->reg;
	s->run.model = &s->model;
	s->run.scratch = s->docs.arena;
	s->run.track = getenv("OAMLUA_NO_TRACK") == NULL;   /* for measuring its cost */
	s->run.namespace = o->namespace;
	s->run.target = o->target ? o->target : "kubernetes";
	s->run.skip_unsupported = o->skip_unsupported;
	s->run.publish_address = o->publish_address ? o->publish_address : "127.0.0.1";
	s->run.undeclared_params_warn = o->undeclared_params_warn;
	s->jobs = 1;
	if (s->may_use_jobs) {
		size_t ninst = 0;
		for (size_t i = 0; i < s->model.napps; i++)
			ninst += s->model.apps[i]->ninst;
		s->jobs = oam_jobs_count(ninst);
	}
	/* Each job checks its own instances' trait hooks, in its own Lua state. */
	s->run.defer_hooks = s->jobs > 1;
	oam_check(&s->run, &s->diags);
	return s->diags.nerrors ? s->diags.exit_code : 0;
}

void oam_session_report(struct oam_session *s)
{
	oam_diags_print(&s->diags, s->docs_ok ? s->docs.src : NULL, s->opts ? s->opts->verbose : 0);
	if (s->diags.nerrors > 1 || (s->diags.nerrors && s->diags.nwarnings))
		fprintf(stderr, "oamlua: %zu error%s, %zu warning%s\n", s->diags.nerrors, s->diags.nerrors == 1 ? "" : "s",
			s->diags.nwarnings, s->diags.nwarnings == 1 ? "" : "s");
}

void oam_session_drop_inputs(struct oam_session *s)
{
	oam_model_release(&s->model);
	if (s->docs_ok)
		oam_docset_release(&s->docs);
	s->docs_ok = 0;
}

void oam_session_end(struct oam_session *s)
{
	oam_model_release(&s->model);
	if (s->docs_ok)
		oam_docset_release(&s->docs);
	if (s->reg_ok)
		oam_registry_release(&s->reg);
	if (s->lua_ok)
		oam_lua_close(&s->lua);
	oam_diags_release(&s->diags);
}

int oam_finish_stdout(void)
{
	if (fflush(stdout) || ferror(stdout)) {
		oam_errorf("write error on standard output: %s", strerror(errno));
		return OAM_EXIT_SYSTEM;
	}
	return 0;
}
