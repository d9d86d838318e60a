/* cli.h — what every command shares: option parsing for the common flags,
 * and the load → model → check pipeline (render runs on top of it). */
#ifndef OAMLUA_CLI_H
#define OAMLUA_CLI_H

#include "oamlua/check.h"
#include "oamlua/emit.h"
#include "oamlua/err.h"
#include "oamlua/lhost.h"
#include "oamlua/load.h"
#include "oamlua/model.h"
#include "oamlua/registry.h"

#define OAM_MAX_INPUTS 256

struct oam_opts {
	const char *files[OAM_MAX_INPUTS];
	size_t nfiles;
	const char *module_paths[OAM_MAX_INPUTS + 1];   /* NULL-terminated */
	size_t nmodule_paths;
	int recursive;
	const char *namespace;
	const char *output;             /* -o value or NULL */
	int verbose;
	int undeclared_params_warn;
	long long lua_budget;           /* 0 = default */
	long long lua_mem_mib;          /* 0 = default */
	const char *target;             /* --target: "kubernetes" (default) or "podman" */
	int skip_unsupported;           /* --skip-unsupported-traits */
	const char *publish_address;    /* --publish-address (podman): host IP for published ports */
	int quiet_start;                /* oam_session_start leaves module findings to the caller */
};

/* The state of one run; owns everything it holds. */
struct oam_session {
	struct oam_opts *opts;          /* borrowed */
	struct oam_diags diags;
	struct oam_lua lua;
	struct oam_registry reg;
	struct oam_docset docs;
	struct oam_model model;
	struct oam_run run;
	int lua_ok, reg_ok, docs_ok;
	int may_use_jobs;               /* set before oam_session_check: render on several cores */
	int jobs;                       /* then: how many (1 unless may_use_jobs) */
	int exit_after;                 /* the process exits right after this run: skip the teardown of
					 * what it only frees (render jobs' Lua states) */
};

/* Long options shared by commands; `common_opt` handles one of them and
 * returns 1 if it was one. Commands append their own. */
enum {
	OPT_MODULE_PATH = 1000, OPT_ALLOW_UNDECLARED, OPT_LUA_BUDGET, OPT_LUA_MEM, OPT_HELP, OPT_TARGET,
	OPT_SKIP_UNSUPPORTED, OPT_PUBLISH_ADDRESS
};
int oam_cli_common_opt(const char *cmd, int opt, const char *arg, struct oam_opts *o);

/* Sets up Lua and loads modules (no input files). Returns 0 or an exit code. */
int oam_session_start(struct oam_session *s, struct oam_opts *o);
/* Loads the inputs, builds the model and runs every check. Returns 0, or the
 * exit code the findings imply. */
int oam_session_check(struct oam_session *s);
/* Prints the collected findings to stderr. */
void oam_session_report(struct oam_session *s);
/* Frees the input documents and the model (after rendering). */
void oam_session_drop_inputs(struct oam_session *s);
void oam_session_end(struct oam_session *s);

/* Commands. */
int cmd_render(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_traits(int argc, char **argv);
int cmd_workloads(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_version(int argc, char **argv);

/* Writes text to stdout and checks it reached it (git's run_builtin). */
int oam_finish_stdout(void);

#endif
