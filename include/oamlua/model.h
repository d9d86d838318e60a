/* model.h — the OAM v1alpha1 object model, read from loaded documents.
 *
 * Building the model checks the shape of every document (kinds, required
 * fields, value types, unknown fields) and reports problems at their line.
 * Model objects point into the document trees: they are borrowed and live
 * as long as the docset. */
#ifndef OAMLUA_MODEL_H
#define OAMLUA_MODEL_H

#include "oamlua/err.h"
#include "oamlua/load.h"

struct oam_module;

struct oam_param {
	const char *name;
	const char *type;               /* string, number, integer, boolean, object, array, null */
	int required;
	const struct oam_node *def;     /* default or NULL */
	const struct oam_node *at;
};

struct oam_component {
	const char *name;
	const struct oam_node *doc, *name_at;
	const struct oam_node *spec;
	const char *wtype;
	const struct oam_node *wtype_at;
	const struct oam_node *containers;      /* OAM_SEQ or NULL */
	const struct oam_node *settings;        /* workloadSettings OAM_SEQ or NULL */
	const struct oam_node *annotations;     /* metadata.annotations or NULL */
	struct oam_param *params;
	size_t nparams;
	size_t nports;                          /* container ports, all containers */
	struct oam_module *workload;            /* resolved by the checker */
	int ok;                                 /* passed its own checks */
};

struct oam_trait_use {
	const char *name;
	const struct oam_node *at;              /* the binding map */
	const struct oam_node *props;           /* properties map, or NULL */
	struct oam_module *mod;
	int skip;                               /* not rendered: no meaning on the target */
	int ok;
};

struct oam_app;

struct oam_instance {
	struct oam_app *app;
	const struct oam_node *at;
	const char *component_name, *name;
	const struct oam_node *component_at, *name_at;
	const struct oam_node *param_values;    /* OAM_SEQ or NULL */
	struct oam_trait_use *traits;
	size_t ntraits;
	const struct oam_node **scopes;         /* applicationScopes entries (strings) */
	size_t nscopes;
	struct oam_component *comp;
	const struct oam_node **pvals;          /* resolved parameter values, in comp->params order */
	int ctx_ref;                            /* Lua registry ref of its render context, 0 = none yet */
	int ok;
	int hooks_pending;                      /* its traits' validate hooks were deferred to the render */
	size_t diag_mark;                       /* where their findings go among the checks' */
};

struct oam_scope {
	const char *name, *type;
	const struct oam_node *at, *props;
	struct oam_app *app;
};

struct oam_app {
	const char *name;
	const struct oam_node *doc, *name_at;
	const struct oam_node *variables;       /* OAM_SEQ or NULL */
	struct oam_instance *inst;
	size_t ninst;
	struct oam_scope *scopes;
	size_t nscopes;
};

struct oam_model {
	struct oam_arena *arena;                /* borrowed from the docset */
	struct oam_component **comps;
	size_t ncomps, capcomps;
	struct oam_app **apps;
	size_t napps, capapps;
	size_t ndefinitions;                    /* WorkloadType/Trait/ApplicationScope documents seen */
};

/* Builds the model from every document of the set. Shape problems go to `d`
 * (the model is still built from what was usable). */
int oam_model_build(struct oam_model *m, struct oam_docset *ds, struct oam_diags *d);
void oam_model_release(struct oam_model *m);

struct oam_component *oam_model_component(const struct oam_model *m, const char *name);

/* Names that may be used in a Kubernetes object name. */
int oam_is_dns_label(const char *s);
int oam_is_dns_subdomain(const char *s);

#endif
