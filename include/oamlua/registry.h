/* registry.h — finding, loading and validating workload and trait modules.
 *
 * Search path, later entries shadowing earlier ones: the built-in modules
 * (next to the binary in a source tree, else PREFIX/share/oamlua), then each
 * directory of $OAMLUA_PATH (colon-separated), then each --module-path. A
 * directory may hold `workloads/` and `traits/` subdirectories, or module
 * files directly (which then must declare `kind`). Installed trait packs
 * (pack.h) load after the built-ins; a directory holding pack.yaml or
 * oamlua.lock is loaded as a pack or a pack store. */
#ifndef OAMLUA_REGISTRY_H
#define OAMLUA_REGISTRY_H

#include "oamlua/err.h"
#include "oamlua/lhost.h"
#include "oamlua/schema.h"

enum oam_modkind { OAM_MOD_WORKLOAD, OAM_MOD_TRAIT };
enum oam_rule { OAM_RULE_OPTIONAL, OAM_RULE_REQUIRED, OAM_RULE_FORBIDDEN };

struct oam_modcaps;

struct oam_module {
	enum oam_modkind kind;
	const char *name, *version, *description;
	const char *type;               /* workloads: full workloadType (group/version.Kind) */
	const char *path;               /* where it was loaded from (display form) */
	const char *origin;             /* "builtin", "pack", "OAMLUA_PATH", "--module-path" */
	int builtin;
	const char **applies;           /* traits: workload names, "*" = any */
	size_t napplies;
	const char **conflicts;
	size_t nconflicts;
	enum oam_rule ports;            /* workloads: container ports */
	enum oam_rule containers;       /* workloads: containers */
	const char **targets;           /* where it can render: "kubernetes", "podman" */
	size_t ntargets;
	struct oam_schema schema;       /* trait properties / workload settings */
	int has_validate;
	int ref;                        /* Lua registry reference to the module table */
	const char *shadows;            /* path of the module this one replaced, or NULL */
	const char *file;               /* built-ins: the file, read when first needed */
	int loaded;                     /* the table has been read (always, but for built-ins) */
	int failed;                     /* reading it failed (reported once) */
	const char *pack;               /* the trait pack it came from, or NULL */
	const struct oam_modcaps *caps; /* its pack's declarations (pack.h), or NULL */
};

struct oam_registry {
	struct oam_lua *lua;            /* borrowed */
	struct oam_arena *arena;        /* owns modules, names, schemas */
	struct oam_module **mods;
	size_t n, cap;
	char builtin_dir[4096];
	struct oam_diags *lazy_d;       /* where problems of modules read late go */
};

int oam_registry_init(struct oam_registry *r, struct oam_lua *lua);
void oam_registry_release(struct oam_registry *r);

/* Loads built-ins, $OAMLUA_PATH, then `extra` directories (NULL-terminated,
 * may be NULL). Findings go to `d`; returns -1 if any module failed. */
int oam_registry_load(struct oam_registry *r, const char *const *extra, struct oam_diags *d);

/* Loads one module from its text (what loading a directory does for each
 * file) and adds it. `display` names it in messages, `basename` is the name
 * it must have, `kind` an enum oam_modkind or -1 (the module says). Returns
 * the module, or NULL after findings in d. */
struct oam_module *oam_registry_load_buffer(struct oam_registry *r, const char *buf, size_t len,
					    const char *display, const char *basename, const char *origin,
					    int kind, struct oam_diags *d);

/* Lookups read a built-in module's file the first time it is needed (a
 * render reads only the modules it uses); NULL when absent or unreadable. */
struct oam_module *oam_registry_find(const struct oam_registry *r, enum oam_modkind kind, const char *name);
/* A workloadType as written: "core.oam.dev/v1alpha1.Server" or "Server". */
struct oam_module *oam_registry_workload(const struct oam_registry *r, const char *wtype);
/* Reads every module not read yet (listings, docs). Returns -1 if any failed. */
int oam_registry_load_all(struct oam_registry *r);

/* Whether a module renders for a target. */
int oam_module_supports(const struct oam_module *m, const char *target);
/* Names of all modules of a kind (for suggestions); returns the count. */
size_t oam_registry_names(const struct oam_registry *r, enum oam_modkind kind, const char **out, size_t max);

/* The module file names (*.lua, not starting with '.' or '_') of a
 * directory, sorted; caller frees each and the array. */
size_t oam_module_files(const char *dir, char ***out);

/* The directory holding the built-in workloads/ and traits/. */
const char *oam_builtin_dir(void);

#endif
