/* check.h — admission: every rule checked before anything is rendered.
 *
 * References (workload types, traits, components, scopes, variables),
 * appliesToWorkloads and conflictsWith (symmetric), duplicate traits,
 * parameters and properties against their schemas, workload constraints
 * (ports, containers), names, and each trait's own validate() hook. The
 * same code runs for `validate`, `render` and `apply`. */
#ifndef OAMLUA_CHECK_H
#define OAMLUA_CHECK_H

#include "oamlua/err.h"
#include "oamlua/lhost.h"
#include "oamlua/model.h"
#include "oamlua/registry.h"

struct oam_run {
	struct oam_lua *lua;            /* borrowed */
	struct oam_registry *reg;       /* borrowed */
	struct oam_model *model;        /* borrowed */
	const char *namespace;          /* -n, or NULL */
	int undeclared_params_warn;     /* OAM405 as a warning instead of an error */
	struct oam_arena *scratch;      /* small allocations while rendering */
	int worker;                     /* a render worker: own Lua state and registry */
	int track;                      /* record who writes which field (write conflicts) */
	const char *target;             /* "kubernetes" or "podman" */
	int skip_unsupported;           /* traits without the target are skipped, with a warning */
	const char *publish_address;    /* podman: the host address ports are published on */
	int defer_hooks;                /* trait validate hooks run in the render jobs */
	int hooks_failed;               /* a deferred hook found a problem while rendering */
};

/* Runs all checks; returns the number of errors found. With
 * run->defer_hooks the traits' validate hooks are left to the render jobs
 * (each instance on the core that renders it), unless the other checks
 * already failed: then they run here, so the findings are always the same. */
size_t oam_check(struct oam_run *run, struct oam_diags *d);
/* Runs one instance's deferred hooks; returns the number of findings. */
size_t oam_check_hooks(struct oam_run *run, struct oam_instance *in, struct oam_diags *d);
/* Runs every instance's deferred hooks in run->lua and puts each finding
 * where an undeferred check would have reported it. */
void oam_check_deferred(struct oam_run *run, struct oam_diags *d);

/* Renders every instance that passed the checks; on success pushes one Lua
 * list of all objects and returns 0. On failure pushes nothing, returns -1. */
int oam_render(struct oam_run *run, struct oam_diags *d);

/* Renders the given instances (checked, in order) into one pushed list. */
int oam_render_instances(struct oam_run *run, struct oam_instance *const *inst, size_t n, struct oam_diags *d);
/* The instances that passed the checks, in output order; caller frees. */
size_t oam_render_list(struct oam_model *m, struct oam_instance ***out);

/* Shared by check and render: pushes the ctx table for an instance. */
void oam_render_push_ctx(struct oam_run *run, struct oam_instance *in);
/* Pushes a trait's (or a validate hook's) ctx made from the instance's ctx
 * at ctx_idx: spec is a read-only view, and labels, selector, params,
 * annotations, settings and ports are the call's own copies (made when
 * first read), so that what one module does to them cannot reach another. */
void oam_render_push_trait_ctx(struct oam_run *run, int ctx_idx);
/* Pushes an instance's component spec with parameters resolved. */
void oam_render_push_spec(struct oam_run *run, struct oam_instance *in);

#endif
