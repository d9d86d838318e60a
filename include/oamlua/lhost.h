/* lhost.h — the Lua state, the sandbox and the one door into Lua.
 *
 * One lua_State per process. Modules are loaded as text (never bytecode)
 * into environments of their own over copies of a safe base library (no io,
 * os, debug, package, load, dofile, loadfile, string.dump). Every call into
 * module code goes through oam_lua_call(), which arms an instruction budget
 * and a memory cap for the duration of the call and turns any failure into
 * a struct oam_err naming the module, its file and line. */
#ifndef OAMLUA_LHOST_H
#define OAMLUA_LHOST_H

#include <lua.h>
#include "oamlua/err.h"

struct pool;

struct oam_lua {
	lua_State *L;
	struct pool *pool;              /* small-block allocator (NULL: plain malloc) */
	/* memory accounting (allocator) */
	size_t mem_used, mem_peak;
	size_t mem_call_limit;          /* bytes a single module call may grow the heap by */
	size_t mem_call_base;
	int in_call;                    /* limits armed */
	int mem_hit;
	/* instruction budget (count hook) */
	long long insn_budget;          /* per call */
	long long insn_used;
	int insn_hit;
	/* debugging: fail allocation number N (OAMLUA_FAIL_ALLOC), 0 = off */
	long long fail_alloc_at, nalloc;
	/* where the last module error happened */
	char err_file[256];
	int err_line;
	char err_id[12];                /* from a structured error, e.g. OAM605 */
	char err_hint[384];
	char traceback[2048];
};

/* Defaults, overridable with --lua-budget / --lua-mem. */
#define OAM_LUA_DEFAULT_BUDGET 50000000LL       /* instructions per call */
#define OAM_LUA_DEFAULT_MEM    (256u << 20)      /* bytes per call */

int oam_lua_init(struct oam_lua *h, struct oam_err *err);
void oam_lua_close(struct oam_lua *h);

/* Loads a module file (text only) into a fresh sandbox environment and runs
 * its body; on success pushes the value it returned. `display` is the name
 * used in messages (e.g. "traits/ingress.lua"). */
int oam_lua_load_module(struct oam_lua *h, const char *path, const char *display, const char *modname,
			struct oam_err *err);
/* Same, from a buffer (tests). */
int oam_lua_load_module_buffer(struct oam_lua *h, const char *buf, size_t len, const char *display,
			       const char *modname, struct oam_err *err);

/* Calls the function below its `nargs` arguments on the stack with the limits
 * armed. On success leaves `nres` results; on failure pops everything, fills
 * `err` (ID OAM601 runtime error, OAM602 budget, OAM603 memory) and returns -1.
 * `what` describes the call for messages, e.g. "trait 'ingress' rendering
 * instance 'web'". This and oam_lua_pcall_host are the only callers of
 * lua_pcall in the program. */
int oam_lua_call(struct oam_lua *h, const char *module, const char *what, int nargs, int nres,
		 struct oam_err *err);
/* Protected call of trusted host code (no limits). */
int oam_lua_pcall_host(struct oam_lua *h, int nargs, int nres, struct oam_err *err);

/* Pushes the host library table (lua/sandbox.lua's result) — trusted code only. */
void oam_lua_push_host(struct oam_lua *h);
/* Pushes host.fn_name (a function of the host library). */
void oam_lua_push_hostfn(struct oam_lua *h, const char *fn_name);

#endif
